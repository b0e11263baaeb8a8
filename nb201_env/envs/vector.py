"""Native vector environments: ``n`` search runs stepped together with numpy, no Python loop per env.

They account through the same :class:`~nb201_env.search_runs.SearchRuns` as the single environments (its
array path), so the rules and the ``info`` keys are the same by construction. Autoreset is ``SAME_STEP``
with Gymnasium's convention: when episodes end, the step returns the next episodes' first observations,
the finished ones' observations in ``info["final_obs"]`` and their info in ``info["final_info"]`` (with
``_final_obs`` / ``_final_info`` masks), and the reset's info at the top level.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from nb201_env.benchmark import Benchmark
from nb201_env.config import EnvConfig
from nb201_env.envs.base import begin_episode, check_started, describe, make_config, make_search_runs
from nb201_env.evaluators import Evaluator
from nb201_env.masks import mask_after
from nb201_env.rewards import Reward
from nb201_env.space import NUM_EDGES, NUM_OPS, check_op_array, ops_to_index, prefix_codes
from nb201_env.validate import check_int

__all__ = ["NASBench201OneShotVectorEnv", "NASBench201VectorEnv"]


def batched_info(info: dict[str, Any], n: int) -> dict[str, Any]:
    """Return ``info`` with one array per key (scalars broadcast) and Gymnasium's ``_key`` masks."""
    everyone = np.ones(n, dtype=bool)
    out: dict[str, Any] = {}
    for key, value in info.items():
        out[key] = value if isinstance(value, np.ndarray) and value.shape[:1] == (n,) else np.full(n, value)
        out[f"_{key}"] = everyone
    return out


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
        self.num_envs = check_int("num_envs", num_envs, low=1)
        self.config = make_config(config, evaluator, kwargs)
        if self.config.fidelities is not None:
            raise ValueError("fidelities are supported by the single one-shot env only, not by the vector envs")
        self.runs = make_search_runs(self.num_envs, self.config, benchmark, evaluator, reward)
        self._started = False  # step() before reset() raises ResetNeeded

    def describe(self) -> dict[str, Any]:
        """Describe the evaluator's signal and cost and the budget."""
        return describe(self.runs)

    def _start(self, seed: int | None, options: dict[str, Any] | None) -> None:
        seed, _ = begin_episode(self.runs, seed, options)
        if seed is not None:
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(seed)
        self._started = True

    def _evaluate(self, archs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Evaluate one cell per run; return (rewards, terminated, truncated, the evaluations' batched info)."""
        was_exhausted = self.runs.exhausted.copy()
        rewards, info = self.runs.evaluate(archs, self.np_random)
        truncated = self.runs.exhausted | was_exhausted
        return rewards, info["evaluated"], truncated, batched_info(info, self.num_envs)

    def _ended(self, final_obs: np.ndarray, final_info: dict[str, Any], reset_info: dict[str, Any]) -> dict[str, Any]:
        """Return the info of a step that ended every episode (Gymnasium's ``SAME_STEP`` convention)."""
        everyone = np.ones(self.num_envs, dtype=bool)
        return {**reset_info, "final_obs": final_obs, "_final_obs": everyone, "final_info": final_info,
                "_final_info": everyone}  # fmt: skip


class NASBench201OneShotVectorEnv(_SearchVectorEnv):
    """``num_envs`` one-step search runs: each step evaluates one whole cell per run.

    Spaces, rewards and rules are those of :class:`~nb201_env.envs.oneshot.NASBench201OneShotEnv`, batched.
    Every step ends every episode: ``info["final_info"]`` holds the evaluations (one array per key of
    :data:`~nb201_env.search_runs.INFO_KEYS`, with ``_key`` masks) and ``info["final_obs"]`` equals the
    returned observation (a one-shot reset does not change it).
    """

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        super().__init__(num_envs, **kwargs)
        self.single_action_space = gym.spaces.MultiDiscrete([NUM_OPS] * NUM_EDGES)
        self.single_observation_space = gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)

    def _observation(self) -> np.ndarray:
        runs = self.runs
        obs = np.empty((self.num_envs, 2), dtype=np.float32)
        obs[:, 0] = np.minimum(runs.elapsed / runs.budget, 1.0)  # 0 without a budget (inf)
        obs[:, 1] = np.where(runs.best_arch >= 0, np.maximum(runs.best_accuracy, 0.0) * 0.01, 0.0)
        return obs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Reset the episodes (and start new search runs when seeded or asked)."""
        self._start(seed, options)
        return self._observation(), {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Evaluate one cell per run, given as ``(num_envs, 6)`` op ids."""
        check_started(self._started)
        ops = check_op_array(actions, (self.num_envs, NUM_EDGES))
        rewards, terminated, truncated, final_info = self._evaluate(ops_to_index(ops))
        obs = self._observation()
        return obs, rewards, terminated, truncated, self._ended(obs.copy(), final_info, {})


class NASBench201VectorEnv(_SearchVectorEnv):
    """``num_envs`` copies of ``NASBench201-v0`` stepped in lockstep: one edge per step in every run.

    Episodes have a fixed length of six steps in every run (also after the budget is spent), so all runs
    stay aligned and the sixth step evaluates one cell per run with array operations. Observations,
    rewards, rules and ``info`` are those of :class:`~nb201_env.envs.sequential.NASBench201Env`, batched.
    The sixth step ends every episode: it returns the next episodes' first observations, the complete cells
    in ``info["final_obs"]`` and their evaluations in ``info["final_info"]``; with ``action_mask=True`` the
    top-level ``info["action_mask"]`` is the mask of the next edge. ``action_masks()`` returns a
    ``(num_envs, 5)`` mask.
    """

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        super().__init__(num_envs, **kwargs)
        self.single_action_space = gym.spaces.Discrete(NUM_OPS)
        self.single_observation_space = gym.spaces.MultiDiscrete([NUM_OPS + 1] * NUM_EDGES + [NUM_EDGES + 1])
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._obs = np.zeros((self.num_envs, NUM_EDGES + 1), dtype=np.int64)
        self._position = 0

    def _clear(self) -> None:
        self._obs[:, :NUM_EDGES] = NUM_OPS
        self._obs[:, NUM_EDGES] = 0
        self._position = 0

    def _mask_info(self) -> dict[str, Any]:
        if not self.config.action_mask:
            return {}
        return {"action_mask": self.action_masks(), "_action_mask": np.ones(self.num_envs, dtype=bool)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start new episodes in every run (and new search runs when seeded or asked)."""
        self._start(seed, options)
        self._clear()
        return self._obs.copy(), self._mask_info()

    def action_masks(self) -> np.ndarray:
        """Return the ``(num_envs, 5)`` ops that can still give a connected cell."""
        if self._position >= NUM_EDGES:
            return np.ones((self.num_envs, NUM_OPS), dtype=bool)
        return mask_after(prefix_codes(self._obs[:, : self._position]), self._position)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Choose the op of the current edge in every run; evaluate after the sixth."""
        check_started(self._started)
        ops = check_op_array(actions, (self.num_envs,))
        p = self._position
        self._obs[:, p] = ops
        self._obs[:, NUM_EDGES] = p + 1
        self._position = p + 1
        n = self.num_envs
        if self._position < NUM_EDGES:
            zeros = np.zeros(n, dtype=bool)
            return self._obs.copy(), np.zeros(n), zeros, zeros.copy(), self._mask_info()
        final = self._obs.copy()
        archs = ops_to_index(final[:, :NUM_EDGES])
        self._clear()
        rewards, terminated, truncated, final_info = self._evaluate(archs)
        return self._obs.copy(), rewards, terminated, truncated, self._ended(final, final_info, self._mask_info())
