"""Native vector environments: ``n`` search runs stepped together with numpy, no Python loop per env."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from nb201_env.batched_session import BatchedSession
from nb201_env.benchmark import Benchmark
from nb201_env.config import EnvConfig, build_session
from nb201_env.evaluators import Evaluator
from nb201_env.masks import mask_after
from nb201_env.rewards import Reward
from nb201_env.space import NUM_EDGES, NUM_OPS, _index_tables
from nb201_env.validate import check_int, check_reset

_POWERS = NUM_OPS ** np.arange(NUM_EDGES - 1, -1, -1)


def _with_masks(info: dict[str, Any], n: int) -> dict[str, Any]:
    """Add Gymnasium's ``_key`` masks (every sub-env reports every key)."""
    everyone = np.ones(n, dtype=bool)
    return {**info, **{f"_{k}": everyone for k in list(info)}}


class _SearchVectorEnv(VectorEnv):
    metadata: ClassVar[dict[str, Any]] = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        *,
        config: EnvConfig | None = None,
        benchmark: Benchmark | None = None,
        evaluator: Evaluator | None = None,
        reward: Reward | None = None,
        **kwargs: Any,
    ) -> None:
        num_envs = check_int("num_envs", num_envs, low=1)
        if config is not None and kwargs:
            raise ValueError(f"pass either config= or keyword arguments, not both (got {sorted(kwargs)})")
        self.config = config if config is not None else EnvConfig.from_kwargs(**kwargs)
        if self.config.fidelities is not None:
            raise ValueError("fidelities are supported by the single one-shot env only, not by the vector envs")
        single = build_session(self.config, benchmark, evaluator, reward)  # validates and builds the parts once
        self.batch = BatchedSession(num_envs, self.config, single.evaluator, single.reward)
        self.num_envs = num_envs
        self._index_of_code = _index_tables()[1]

    def describe(self) -> dict[str, Any]:
        """Describe the evaluator's signal and cost and the budget."""
        return {
            **self.batch.evaluator.describe(),
            "budget": self.config.budget,
            "budget_rule": self.config.budget_rule,
        }

    def _start(self, seed: int | None, options: dict[str, Any] | None) -> None:
        new_search = check_reset(seed, options)
        if seed is not None:
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(seed)
        if new_search:
            self.batch.reset()


class NASBench201OneShotVectorEnv(_SearchVectorEnv):
    """``num_envs`` one-step search runs: each step evaluates one whole cell per run.

    Spaces, rewards and rules are those of :class:`~nb201_env.oneshot.NASBench201OneShotEnv`, batched;
    ``info`` holds one array per key (with Gymnasium's ``_key`` masks). Every step ends every episode, so
    with ``SAME_STEP`` autoreset ``final_obs`` equals the returned observation.
    """

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        super().__init__(num_envs, **kwargs)
        self.single_action_space = gym.spaces.MultiDiscrete([NUM_OPS] * NUM_EDGES)
        self.single_observation_space = gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)

    def _observation(self) -> np.ndarray:
        b = self.batch
        obs = np.empty((self.num_envs, 2), dtype=np.float32)
        obs[:, 0] = np.minimum(b.elapsed / b.budget, 1.0) if np.isfinite(b.budget) else 0.0
        obs[:, 1] = np.where(b.best_index >= 0, np.maximum(b.best_accuracy, 0.0) * 0.01, 0.0)
        return obs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Reset the episodes (and start new search runs when seeded or asked)."""
        self._start(seed, options)
        return self._observation(), {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Evaluate one cell per run, given as ``(num_envs, 6)`` op ids."""
        ops = np.asarray(actions)
        if (
            ops.shape != (self.num_envs, NUM_EDGES)
            or ops.dtype.kind not in "iu"
            or ops.min() < 0
            or ops.max() >= NUM_OPS
        ):
            raise ValueError(
                f"actions must be an int array of shape ({self.num_envs}, {NUM_EDGES}) with op ids 0..{NUM_OPS - 1}, "
                f"got {ops.dtype} {ops.shape}"
            )
        indices = self._index_of_code[ops @ _POWERS]
        rewards, counted, info = self.batch.evaluate(indices, self.np_random)
        obs = self._observation()
        info = _with_masks(info, self.num_envs)
        info["final_obs"], info["_final_obs"] = obs, info["_arch"]
        return obs, rewards, counted, self.batch.exhausted.copy(), info


class NASBench201VectorEnv(_SearchVectorEnv):
    """``num_envs`` copies of ``NASBench201-v0`` stepped in lockstep: one edge per step in every run.

    Episodes have a fixed length of six steps in every run (also after the budget is spent), so all runs
    stay aligned and the sixth step evaluates one cell per run with array operations. Observations,
    rewards, rules and ``info`` are those of :class:`~nb201_env.env.NASBench201Env`, batched; the sixth
    step returns the next episode's first observation and puts the complete cells in ``final_obs``
    (``SAME_STEP`` autoreset). ``action_masks()`` returns a ``(num_envs, 5)`` mask.
    """

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        super().__init__(num_envs, **kwargs)
        self.single_action_space = gym.spaces.Discrete(NUM_OPS)
        self.single_observation_space = gym.spaces.MultiDiscrete([NUM_OPS + 1] * NUM_EDGES + [NUM_EDGES + 1])
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self._obs = np.zeros((num_envs, NUM_EDGES + 1), dtype=np.int64)
        self._codes = np.zeros(num_envs, dtype=np.int64)
        self._position = 0

    def _clear(self) -> None:
        self._obs[:, :NUM_EDGES] = NUM_OPS
        self._obs[:, NUM_EDGES] = 0
        self._codes[:] = 0
        self._position = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start new episodes in every run (and new search runs when seeded or asked)."""
        self._start(seed, options)
        self._clear()
        return self._obs.copy(), {}

    def action_masks(self) -> np.ndarray:
        """Return the ``(num_envs, 5)`` ops that can still give a connected cell."""
        if self._position >= NUM_EDGES:
            return np.ones((self.num_envs, NUM_OPS), dtype=bool)
        return mask_after(self._codes, self._position)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Choose the op of the current edge in every run; evaluate after the sixth."""
        ops = np.asarray(actions)
        if ops.shape != (self.num_envs,) or ops.dtype.kind not in "iu" or ops.min() < 0 or ops.max() >= NUM_OPS:
            raise ValueError(
                f"actions must be an int array of shape ({self.num_envs},) with op ids 0..{NUM_OPS - 1}, "
                f"got {ops.dtype} {ops.shape}"
            )
        p = self._position
        self._obs[:, p] = ops
        self._obs[:, NUM_EDGES] = p + 1
        self._codes = self._codes * NUM_OPS + ops
        self._position = p + 1
        n = self.num_envs
        if self._position < NUM_EDGES:
            zeros = np.zeros(n, dtype=bool)
            return self._obs.copy(), np.zeros(n), zeros, zeros.copy(), {}
        indices = self._index_of_code[self._codes]
        was_exhausted = self.batch.exhausted.copy()
        rewards, counted, info = self.batch.evaluate(indices, self.np_random)
        truncated = self.batch.exhausted | was_exhausted
        final = self._obs.copy()
        self._clear()
        info = _with_masks(info, n)
        info["final_obs"], info["_final_obs"] = final, info["_arch"]
        return self._obs.copy(), rewards, counted, truncated, info
