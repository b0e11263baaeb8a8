"""``NASBench201-OneShot-v0``: pick all six ops in one action (the NB201 REINFORCE setting)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from nb201_env.envs.base import SearchEnv, check_started
from nb201_env.space import NUM_EDGES, NUM_OPS, cell_ops, index_of_op_list

__all__ = ["NASBench201OneShotEnv"]


class NASBench201OneShotEnv(SearchEnv):
    """Search the NAS-Bench-201 cell space by choosing a whole cell per step.

    ## Description
    Each episode is a single step: the action is a complete architecture, which is evaluated by the
    injected evaluator and charged to the simulated clock, exactly as the last step of ``NASBench201-v0``
    (same config, rules and ``info``; see :class:`~nb201_env.envs.sequential.NASBench201Env`). One env instance is one
    search run.

    ## Action Space
    ``MultiDiscrete([5, 5, 5, 5, 5, 5])``: the op ids of the six edges in official order. With
    ``fidelities=(e_0, ..., e_k)`` a seventh entry picks the epoch ``e_i`` after which the cell is judged
    (cost: training that far); only evaluations at the configured ``epoch`` can become the incumbent.

    ## Observation Space
    ``Box(0, 1, (2,), float32)``: the fraction of the budget spent (0 without a budget) and the best
    validation accuracy so far / 100 (0 before the first evaluation).

    ## Rewards
    The reward object's value of the validation accuracy (default accuracy / 100).

    ## Starting State
    As ``NASBench201-v0``: seeding or ``options={"new_search": True}`` starts a new search run.

    ## Episode End
    Always after one step: terminated when evaluated, truncated when the budget is spent (see the
    ``"nb201"``/``"nats"`` rules of :class:`~nb201_env.clock.SimulatedClock`).

    ## Arguments
    As :class:`~nb201_env.envs.sequential.NASBench201Env` (``action_mask`` is not used: the action is a whole
    cell), plus ``fidelities``.

    ## Vectorized
    ``gymnasium.make_vec("NASBench201-OneShot-v0", num_envs=n)`` returns the native
    :class:`~nb201_env.envs.vector.NASBench201OneShotVectorEnv` (without ``fidelities``).

    ## Version History
    * v0: initial version.
    """

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(render_mode, **kwargs)
        fidelities = self.config.fidelities
        extra = [] if fidelities is None else [len(fidelities)]
        self.action_space = gym.spaces.MultiDiscrete([NUM_OPS] * NUM_EDGES + extra)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self._last_ops: list[int | None] = [None] * NUM_EDGES

    def _observation(self, clock: float, best_arch: int, best_accuracy: float) -> np.ndarray:
        spent = min(1.0, clock / self.runs.budget)  # 0 without a budget (inf)
        best = min(1.0, max(0.0, best_accuracy) * 0.01) if best_arch >= 0 else 0.0
        return np.array((spent, best), dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start the next episode (and a new search run when seeded or asked)."""
        self._start(seed, options)
        runs = self.runs
        return self._observation(runs.elapsed.item(0), runs.best_arch.item(0), runs.best_accuracy.item(0)), {}

    def step(self, action: Any) -> tuple[np.ndarray, Any, bool, bool, dict[str, Any]]:
        """Evaluate the cell given by the six op ids (and the fidelity index, with ``fidelities``)."""
        check_started(self._started)
        fidelities = self.config.fidelities
        epoch = None
        if fidelities is not None:
            action = np.asarray(action)
            if (
                action.shape != (NUM_EDGES + 1,)
                or action.dtype.kind not in "iu"
                or not 0 <= action[-1] < len(fidelities)
            ):
                raise ValueError(
                    f"invalid action {action!r}; expected {NUM_EDGES} op ids in 0..{NUM_OPS - 1} and a fidelity "
                    f"index in 0..{len(fidelities) - 1} (epochs {list(fidelities)})"
                )
            epoch, action = fidelities[int(action[-1])], action[:NUM_EDGES]
        ops = cell_ops(action)
        reward, terminated, truncated, info = self._finish(index_of_op_list(ops), epoch)
        self._last_ops = ops  # type: ignore[assignment]
        obs = self._observation(info["clock"], info["best_arch"], info["best_valid_accuracy"])
        return obs, reward, terminated, truncated, info

    def render(self) -> str | np.ndarray | None:
        """Draw the last evaluated cell with the latest metrics."""
        return self._draw(self._last_ops)
