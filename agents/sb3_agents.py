"""Deep-RL baselines from stable-baselines3: PPO, A2C, DQN and MaskablePPO on ``NASBench201-v0``.

What it is
    A standard RL agent builds cells edge by edge (``Discrete(5)`` per step, six steps per cell, the
    reward, validation accuracy / 100, on the sixth) and learns online while the simulated clock runs;
    one ``model.learn`` is one search run, stopped by :class:`nb201_env.callbacks.StopOnBudget` as soon as
    the environment reports the budget spent. Every evaluated cell is recorded from the environment's
    ``info`` (a thin wrapper feeds :class:`agents.common.Recorder`), and the reported architecture is the
    best evaluated cell by validation accuracy.

    * ``ppo``, ``a2c``, ``dqn``: stable-baselines3 with ``MlpPolicy`` (the observation, six edge ops and the
      position, is one-hot encoded by SB3).
    * ``maskable_ppo``: sb3-contrib's MaskablePPO, using ``env.action_masks()`` so that it never builds a
      cell whose output is disconnected from its input (such cells score chance accuracy).

Reference settings
    There is no published NB201 run of these agents; the settings are SB3's defaults scaled down to a
    search of about 100 cells (12,000 s / ~113 s per cell, ~640 env steps): rollouts of 10 cells for PPO
    (``n_steps=60``, minibatches of 30, 4 epochs), one cell for A2C (``n_steps=6``), and for DQN learning
    after 10 cells, a target update every 10 cells and epsilon decaying over 50 cells; ``gamma=1`` since
    the only reward comes at the end of a 6-step episode; small ``(64, 64)`` networks on the CPU.

Deviations
    Cells built again are answered from the first result at no cost under the default
    ``charge_repeats=False``; a policy that has converged onto known cells would train forever without
    moving the clock, so after ``stall_patience`` consecutive free repeats the run ends early
    (``settings["stopped_early"]``).

    SB3 seeds Python's, NumPy's and torch's *global* generators from ``seed``; :func:`search` saves and
    restores all three (and torch's thread count, set to 1 for these tiny networks), so a caller's global
    random state is untouched. Needs the ``rl`` extra: ``pip install nb201-env[rl]``.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

import gymnasium as gym
import numpy as np

from agents.common import Recorder, SearchResult
from nb201_env.validate import check_int

ENV_ID = "NASBench201-v0"
Algo = Literal["ppo", "a2c", "dqn", "maskable_ppo"]
ALGOS: tuple[str, ...] = get_args(Algo)


@dataclass(frozen=True)
class Args:
    """Settings of the SB3 agents (one dataclass for all four; fields an algorithm does not use are ignored)."""

    algo: Algo = "ppo"
    """Which agent: ``"ppo"``, ``"a2c"``, ``"dqn"`` or ``"maskable_ppo"``."""
    learning_rate: float | None = None
    """Optimizer learning rate (``None``: SB3's default for the algorithm: 3e-4 PPO, 7e-4 A2C, 1e-4 DQN)."""
    gamma: float = 1.0
    """Discount; 1 because the only reward arrives at the end of the six-step episode."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the policy/value (or Q) network."""
    n_steps: int | None = None
    """Env steps per rollout for PPO/A2C (``None``: 60 for PPO, i.e. 10 cells; 6 for A2C, one cell)."""
    batch_size: int = 30
    """Minibatch size (PPO and DQN)."""
    n_epochs: int = 4
    """PPO epochs over each rollout."""
    ent_coef: float = 0.0
    """Entropy bonus (PPO/A2C)."""
    dqn_learning_starts: int = 60
    """DQN: env steps (6 per cell) collected before learning starts."""
    dqn_target_update_interval: int = 60
    """DQN: env steps between target-network updates."""
    dqn_exploration_steps: int = 300
    """DQN: env steps over which epsilon decays from 1 to 0.05."""
    total_timesteps: int = 10_000_000
    """Upper bound on env steps; the budget ends training long before it."""
    stall_patience: int | None = 1000
    """End the run after this many consecutive free repeats (see Deviations); ``None`` never ends it early."""

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"unknown algo {self.algo!r}; valid choices are: {', '.join(ALGOS)}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive or None, got {self.learning_rate!r}")
        if not 0 < self.gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma!r}")
        if not self.net_arch or any(not isinstance(n, int) or n < 1 for n in self.net_arch):
            raise ValueError(f"net_arch must be a non-empty tuple of positive ints, got {self.net_arch!r}")
        if self.n_steps is not None and (not isinstance(self.n_steps, int) or self.n_steps < 1):
            raise ValueError(f"n_steps must be None or an int >= 1, got {self.n_steps!r}")
        if self.ent_coef < 0:
            raise ValueError(f"ent_coef must be >= 0, got {self.ent_coef!r}")
        for name in (
            "batch_size",
            "n_epochs",
            "dqn_learning_starts",
            "dqn_target_update_interval",
            "dqn_exploration_steps",
            "total_timesteps",
        ):
            check_int(name, getattr(self, name), low=1)
        if self.stall_patience is not None and (not isinstance(self.stall_patience, int) or self.stall_patience < 1):
            raise ValueError(f"stall_patience must be None or an int >= 1, got {self.stall_patience!r}")


class RecordEvaluations(gym.Wrapper):
    """Feed every step's ``info`` to a :class:`Recorder` and count consecutive free repeats."""

    def __init__(self, env: gym.Env, recorder: Recorder) -> None:
        super().__init__(env)
        self.recorder = recorder
        self.free_repeats = 0  # cells in a row answered from the cache at no cost

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Step the env and record the evaluation it reports, if any."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.recorder.add(info):
            self.free_repeats = self.free_repeats + 1 if info["repeat"] and not info["cost"] else 0
        return obs, reward, terminated, truncated, info


def _import_sb3() -> tuple[Any, Any, Any]:
    """Import torch, stable-baselines3 and sb3-contrib, or raise naming the extra to install."""
    try:
        import sb3_contrib
        import stable_baselines3
        import torch
    except ImportError as exc:
        raise ImportError(
            "agents.sb3_agents needs torch, stable-baselines3 and sb3-contrib: pip install nb201-env[rl]"
        ) from exc
    return torch, stable_baselines3, sb3_contrib


@contextlib.contextmanager
def _isolated_global_rngs(torch: Any) -> Iterator[None]:
    """Restore Python's, NumPy's and torch's global RNG states and torch's thread count on exit."""
    py_state, np_state, threads = random.getstate(), np.random.get_state(), torch.get_num_threads()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.set_num_threads(1)  # tiny networks: threads cost more than they give, and keep runs reproducible
            yield
    finally:
        torch.set_num_threads(threads)
        random.setstate(py_state)
        np.random.set_state(np_state)


def _stop_on_stall(wrapper: RecordEvaluations, patience: int | None) -> Any:
    """Return an SB3 callback that ends training after ``patience`` consecutive free repeats."""
    from stable_baselines3.common.callbacks import BaseCallback

    class StopOnStall(BaseCallback):
        def _on_step(self) -> bool:
            return patience is None or wrapper.free_repeats < patience

    return StopOnStall()


def make_model(args: Args, env: gym.Env, seed: int) -> Any:
    """Build the SB3 model of ``args.algo`` on ``env`` (CPU, ``MlpPolicy``)."""
    torch, sb3, contrib = _import_sb3()
    common: dict[str, Any] = {
        "policy": "MlpPolicy",
        "env": env,
        "gamma": args.gamma,
        "seed": seed,
        "device": "cpu",
        "verbose": 0,
        "policy_kwargs": {"net_arch": list(args.net_arch)},
    }
    if args.learning_rate is not None:
        common["learning_rate"] = args.learning_rate
    if args.algo in ("ppo", "maskable_ppo"):
        cls = sb3.PPO if args.algo == "ppo" else contrib.MaskablePPO
        n_steps = args.n_steps or 60
        return cls(
            n_steps=n_steps,
            batch_size=min(args.batch_size, n_steps),
            n_epochs=args.n_epochs,
            ent_coef=args.ent_coef,
            **common,
        )
    if args.algo == "a2c":
        return sb3.A2C(n_steps=args.n_steps or 6, ent_coef=args.ent_coef, **common)
    return sb3.DQN(
        buffer_size=100_000,
        learning_starts=args.dqn_learning_starts,
        batch_size=args.batch_size,
        train_freq=6,  # one gradient step per built cell
        target_update_interval=args.dqn_target_update_interval,
        exploration_fraction=min(1.0, args.dqn_exploration_steps / args.total_timesteps),
        **common,
    )


def search(env: gym.Env, args: Args, seed: int) -> SearchResult:
    """Train ``args.algo`` on ``env`` (a new search run seeded by ``seed``) until the budget is spent."""
    torch, sb3, _ = _import_sb3()
    from nb201_env.callbacks import StopOnBudget

    if getattr(env.unwrapped.clock, "budget", None) is None:
        raise ValueError("the SB3 agents need a time budget: make the env with budget=... or protocol=...")
    recorder = Recorder()
    wrapped = RecordEvaluations(env, recorder)
    callbacks = [StopOnBudget(), _stop_on_stall(wrapped, args.stall_patience)]
    with _isolated_global_rngs(torch):
        model = make_model(args, wrapped, seed)  # seeds the env: its first reset starts a new search run
        model.learn(total_timesteps=args.total_timesteps, callback=callbacks)
    settings = {
        **asdict(args),
        "net_arch": list(args.net_arch),
        "stable_baselines3": sb3.__version__,
        "env_steps": int(model.num_timesteps),
        "budget_spent": bool(env.unwrapped.clock.exhausted),
    }
    if args.stall_patience is not None and wrapped.free_repeats >= args.stall_patience:
        settings["stopped_early"] = f"{wrapped.free_repeats} free repeats in a row at clock {recorder.times[-1]:.1f} s"
    return recorder.result(args.algo, settings=settings)
