"""Native vector environments: ``n`` search runs stepped together with numpy, no Python loop per env.

They account through the same :class:`~nb201_env.search_runs.SearchRuns` as the single environments (its
array path), so the rules and the ``info`` keys are the same by construction, and they lay ``info`` out
exactly as Gymnasium's ``SyncVectorEnv`` of the single environments does (:mod:`nb201_env.envs.vector_info`).
Gymnasium's three autoreset modes: ``NEXT_STEP`` (the default, Gymnasium's own: the step after the one that
ended the episodes resets them and ignores its actions), ``SAME_STEP`` (the step that ends the episodes
returns the next ones' first observations, the finished ones in ``info["final_obs"]`` and their info in
``info["final_info"]``) and ``DISABLED`` (the caller resets, ``reset(options={"reset_mask": mask})``; what
TorchRL prefers). The runs step in lockstep, so every episode ends on the same step and a ``reset_mask``
selects every run.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from nb201_env.benchmark import Benchmark
from nb201_env.config import EnvConfig
from nb201_env.envs.base import (
    RENDER_MODES,
    begin_episode,
    check_render_mode,
    check_started,
    describe,
    draw,
    make_config,
    make_search_runs,
    render_metrics,
)
from nb201_env.envs.vector_info import ended_info, evaluation_info, everyone
from nb201_env.evaluators import Evaluator
from nb201_env.masks import mask_after
from nb201_env.rewards import Reward
from nb201_env.space import NUM_EDGES, NUM_OPS, check_op_array, ops_to_index, prefix_codes
from nb201_env.validate import ArgumentTypeError, check_choice, check_int, shown

__all__ = ["AUTORESET_MODES", "NASBench201OneShotVectorEnv", "NASBench201VectorEnv"]

AUTORESET_MODES: tuple[AutoresetMode, ...] = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED)
"""The autoreset modes of the native vector envs: all of Gymnasium's."""

VECTOR_PARAMETERS: tuple[str, ...] = ("render_mode", "autoreset_mode", "config", "benchmark", "evaluator", "reward")

UNSET = NUM_OPS  # observation value of an edge whose op is not chosen yet


def check_autoreset_mode(mode: object) -> AutoresetMode:
    """Return ``mode`` (an :class:`AutoresetMode` or its value, e.g. ``"SameStep"``) or raise naming the valid ones."""
    if isinstance(mode, AutoresetMode):
        return mode
    by_value = {m.value: m for m in AUTORESET_MODES}
    return by_value[check_choice("autoreset_mode", mode, tuple(by_value))]


def check_reset_mask(mask: object, n: int) -> None:
    """Accept ``options["reset_mask"]`` as Gymnasium's vector envs do; the runs step in lockstep, so it selects all."""
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (n,):
        raise ArgumentTypeError(f"options['reset_mask'] must be a bool numpy array of shape ({n},), got {shown(mask)}")
    if not mask.all():
        raise ValueError(
            f"options['reset_mask'] must select every run (all True), got {mask.tolist()}: the runs of a native "
            "vector env step in lockstep and end their episodes on the same step"
        )


class _SearchVectorEnv(VectorEnv):
    metadata: ClassVar[dict[str, Any]] = {
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": list(RENDER_MODES),
        "render_fps": 4,
    }

    def __init__(
        self,
        num_envs: int = 1,
        *,
        render_mode: str | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        config: EnvConfig | None = None,
        benchmark: Benchmark | None = None,
        evaluator: Evaluator | None = None,
        reward: Reward | None = None,
        **kwargs: Any,
    ) -> None:
        self.num_envs = check_int("num_envs", num_envs, low=1)
        self.render_mode = check_render_mode(render_mode)
        self.autoreset_mode = check_autoreset_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.config = make_config(config, evaluator, kwargs, f"{type(self).__name__}.__init__", VECTOR_PARAMETERS)
        if self.config.fidelities is not None:
            raise ValueError("fidelities are supported by the single one-shot env only, not by the vector envs")
        self.runs = make_search_runs(self.num_envs, self.config, benchmark, evaluator, reward)
        self._started = False  # step() before reset() raises ResetNeeded
        self._autoreset = False  # NEXT_STEP: the episodes ended on the last step restart on this one
        self._needs_reset = False  # DISABLED: the episodes ended; the caller must reset before stepping
        self._last_valid = np.full(self.num_envs, np.nan)  # what render() shows: the last evaluation's accuracy

    def describe(self) -> dict[str, Any]:
        """Describe the evaluator's signal and cost and the budget."""
        return describe(self.runs)

    def _start(self, seed: int | None, options: dict[str, Any] | None) -> None:
        if isinstance(options, dict) and "reset_mask" in options:
            options = dict(options)
            check_reset_mask(options.pop("reset_mask"), self.num_envs)
        seed, _ = begin_episode(self.runs, seed, options)
        if seed is not None:
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(seed)
        self._started = True
        self._autoreset = self._needs_reset = False

    def _restart(self) -> tuple[np.ndarray, dict[str, Any]]:
        """Start the next episode of every run; return its first observations and the reset's info."""
        raise NotImplementedError

    def _cells(self) -> np.ndarray:
        """Return the ``(num_envs, 6)`` op ids each run's rendering shows (:data:`UNSET` = not chosen)."""
        raise NotImplementedError

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start new episodes in every run (and new search runs when seeded or asked)."""
        self._start(seed, options)
        return self._restart()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every run (``NEXT_STEP``: after episodes ended, this step starts the next ones; ``actions`` unused)."""
        check_started(self._started)
        if self._autoreset:
            self._autoreset = False
            obs, info = self._restart()
            done = np.zeros(self.num_envs, dtype=bool)
            return obs, np.zeros(self.num_envs), done, done.copy(), info
        if self._needs_reset:
            raise gym.error.ResetNeeded(
                "the episodes ended and autoreset_mode is DISABLED: call reset() (or reset(options={'reset_mask': "
                "mask})) before step()"
            )
        return self._step(actions)

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        raise NotImplementedError

    def _evaluate(self, archs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Evaluate one cell per run; return (rewards, terminated, truncated, the evaluations' batched info)."""
        was_exhausted = self.runs.exhausted.copy()
        rewards, info = self.runs.evaluate(archs, self.np_random)
        truncated = self.runs.exhausted | was_exhausted
        self._last_valid = info["valid_accuracy"]
        return rewards, info["evaluated"], truncated, evaluation_info(info, self.num_envs)

    def _end(
        self, final_obs: np.ndarray, rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, info: dict
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Return the step that ended every episode, as ``SyncVectorEnv`` returns it in this autoreset mode."""
        if self.autoreset_mode != AutoresetMode.SAME_STEP:
            self._autoreset = self.autoreset_mode == AutoresetMode.NEXT_STEP
            self._needs_reset = self.autoreset_mode == AutoresetMode.DISABLED
            return final_obs, rewards, terminated, truncated, info
        obs, reset_info = self._restart()
        return obs, rewards, terminated, truncated, ended_info(final_obs, info, reset_info)

    def render(self) -> tuple[str | np.ndarray, ...] | None:
        """Draw every run's cell with its latest metrics: one frame per run, as ``SyncVectorEnv.render``."""
        if self.render_mode is None:
            return draw(None, [], {})  # warns, as the single envs do
        cells = self._cells()
        return tuple(
            draw(
                self.render_mode,
                [None if op == UNSET else int(op) for op in cells[row]],
                render_metrics(self.runs, row, float(self._last_valid[row])),
            )
            for row in range(self.num_envs)
        )


class NASBench201OneShotVectorEnv(_SearchVectorEnv):
    """``num_envs`` one-step search runs: each step evaluates one whole cell per run.

    Spaces, rewards and rules are those of :class:`~nb201_env.envs.oneshot.NASBench201OneShotEnv`, batched.
    Every evaluation ends every episode. ``NEXT_STEP`` (default): the evaluating step returns the
    evaluations in ``info`` (one array per key of :data:`~nb201_env.search_runs.INFO_KEYS`, with ``_key``
    masks) and the next step starts the next episodes, ignoring its actions. ``SAME_STEP``
    (``autoreset_mode=AutoresetMode.SAME_STEP``): every step evaluates, the evaluations go under
    ``info["final_info"]`` and ``info["final_obs"]`` equals the returned observation (a one-shot reset does
    not change it).
    """

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        super().__init__(num_envs, **kwargs)
        self.single_action_space = gym.spaces.MultiDiscrete([NUM_OPS] * NUM_EDGES)
        self.single_observation_space = gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._last_ops = np.full((self.num_envs, NUM_EDGES), UNSET, dtype=np.int64)

    def _observation(self) -> np.ndarray:
        runs = self.runs
        obs = np.empty((self.num_envs, 2), dtype=np.float32)
        obs[:, 0] = np.minimum(runs.elapsed / runs.budget, 1.0)  # 0 without a budget (inf)
        obs[:, 1] = np.where(runs.best_arch >= 0, np.maximum(runs.best_accuracy, 0.0) * 0.01, 0.0)
        return obs

    def _restart(self) -> tuple[np.ndarray, dict[str, Any]]:
        self._last_valid = np.full(self.num_envs, np.nan)
        return self._observation(), {}

    def _cells(self) -> np.ndarray:
        return self._last_ops

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Evaluate one cell per run, given as ``(num_envs, 6)`` op ids."""
        ops = check_op_array(actions, (self.num_envs, NUM_EDGES))
        rewards, terminated, truncated, info = self._evaluate(ops_to_index(ops))
        self._last_ops = ops.astype(np.int64)
        return self._end(self._observation(), rewards, terminated, truncated, info)


class NASBench201VectorEnv(_SearchVectorEnv):
    """``num_envs`` copies of ``NASBench201-v0`` stepped in lockstep: one edge per step in every run.

    Episodes have a fixed length of six steps in every run (also after the budget is spent), so all runs
    stay aligned and the sixth step evaluates one cell per run with array operations. Observations,
    rewards, rules and ``info`` are those of :class:`~nb201_env.envs.sequential.NASBench201Env`, batched.
    The sixth step ends every episode. ``NEXT_STEP`` (default): it returns the complete cells and the
    evaluations in ``info``; the seventh step starts the next episodes (ignoring its actions). ``SAME_STEP``:
    the sixth step returns the next episodes' first observations, the complete cells in ``info["final_obs"]``
    and the evaluations in ``info["final_info"]``. With ``action_mask=True`` the top-level
    ``info["action_mask"]`` is the mask of the next edge; ``action_masks()`` returns a ``(num_envs, 5)`` mask.
    """

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        super().__init__(num_envs, **kwargs)
        self.single_action_space = gym.spaces.Discrete(NUM_OPS)
        self.single_observation_space = gym.spaces.MultiDiscrete([NUM_OPS + 1] * NUM_EDGES + [NUM_EDGES + 1])
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._obs = np.zeros((self.num_envs, NUM_EDGES + 1), dtype=np.int64)
        self._position = 0

    def _mask_info(self) -> dict[str, Any]:
        if not self.config.action_mask:
            return {}
        return {"action_mask": self.action_masks(), "_action_mask": everyone(self.num_envs)}

    def _restart(self) -> tuple[np.ndarray, dict[str, Any]]:
        self._obs[:, :NUM_EDGES] = UNSET
        self._obs[:, NUM_EDGES] = 0
        self._position = 0
        self._last_valid = np.full(self.num_envs, np.nan)
        return self._obs.copy(), self._mask_info()

    def _cells(self) -> np.ndarray:
        return self._obs[:, :NUM_EDGES]

    def action_masks(self) -> np.ndarray:
        """Return the ``(num_envs, 5)`` ops that can still give a connected cell."""
        if self._position >= NUM_EDGES:
            return np.ones((self.num_envs, NUM_OPS), dtype=bool)
        return mask_after(prefix_codes(self._obs[:, : self._position]), self._position)

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Choose the op of the current edge in every run; evaluate after the sixth."""
        ops = check_op_array(actions, (self.num_envs,))
        p = self._position
        self._obs[:, p] = ops
        self._obs[:, NUM_EDGES] = p + 1
        self._position = p + 1
        n = self.num_envs
        if self._position < NUM_EDGES:
            done = np.zeros(n, dtype=bool)
            return self._obs.copy(), np.zeros(n), done, done.copy(), self._mask_info()
        final = self._obs.copy()
        rewards, terminated, truncated, info = self._evaluate(ops_to_index(final[:, :NUM_EDGES]))
        info.update(self._mask_info())  # the complete cell's mask: every op (as the single env's last step)
        return self._end(final, rewards, terminated, truncated, info)
