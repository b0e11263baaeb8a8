"""Many independent search runs at once, with numpy: the accounting of :mod:`nb201_env.session`, batched.

Each of ``n`` runs has its own clock, its own set of trained architectures and its own incumbent; one call
evaluates one architecture per run with a handful of array operations, however large ``n`` is.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nb201_env.config import EnvConfig
from nb201_env.evaluators import Evaluator
from nb201_env.rewards import Reward
from nb201_env.space import NUM_ARCHS
from nb201_env.validate import check_int


class BatchedSession:
    """Account for one evaluation per run in ``n`` independent search runs."""

    def __init__(self, n: int, config: EnvConfig, evaluator: Evaluator, reward: Reward) -> None:
        n = check_int("num_envs", n, low=1)
        self.n, self.config, self.evaluator, self.reward = n, config, evaluator, reward
        self.budget = math.inf if config.budget is None else float(config.budget)
        self.nb201_rule = config.budget_rule == "nb201"
        # repeats must return the first result: tables make that free, random seed draws need a memo
        self._memo_needed = not getattr(evaluator, "deterministic", False)
        self._rows = np.arange(n)
        self.elapsed = np.zeros(n)
        self.exhausted = np.zeros(n, dtype=bool)
        self.best_index = np.full(n, -1, dtype=np.int64)
        self.best_accuracy = np.full(n, -np.inf)
        self.best_cost = np.full(n, np.nan)
        self.evaluations = np.zeros(n, dtype=np.int64)
        self._seen = np.zeros((n, NUM_ARCHS), dtype=bool) if not config.charge_repeats else None
        self._memo = (
            np.zeros((n, NUM_ARCHS), dtype=np.float32) if self._seen is not None and self._memo_needed else None
        )

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Start new search runs (all, or where ``mask`` is true)."""
        sel = slice(None) if mask is None else np.asarray(mask, dtype=bool)
        self.elapsed[sel] = 0.0
        self.exhausted[sel] = False
        self.best_index[sel] = -1
        self.best_accuracy[sel] = -np.inf
        self.best_cost[sel] = np.nan
        self.evaluations[sel] = 0
        if self._seen is not None:
            self._seen[sel] = False

    def evaluate(self, indices: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Evaluate one architecture per run; return (rewards, counted, info arrays)."""
        rows = self._rows
        accuracy, cost = self.evaluator.evaluate_many(indices, rng)
        accuracy = np.asarray(accuracy, dtype=np.float64)
        cost = np.asarray(cost, dtype=np.float64)
        if np.isnan(accuracy).any() or np.isnan(cost).any():
            bad = int(indices[np.isnan(accuracy) | np.isnan(cost)][0])
            self.evaluator.evaluate(bad, rng)  # raises MissingValueError with the details
        if self._seen is not None:
            repeat = self._seen[rows, indices]
            cost = np.where(repeat, 0.0, cost)
            if self._memo is not None:
                accuracy = np.where(repeat, self._memo[rows, indices], accuracy)
        else:
            repeat = np.zeros(self.n, dtype=bool)
        live = ~self.exhausted
        if self.nb201_rule:
            counted = live & (self.elapsed + cost <= self.budget)
            self.exhausted |= live & ~counted
            self.elapsed += np.where(counted, cost, 0.0)
        else:
            counted = live
            self.elapsed += np.where(counted, cost, 0.0)
            self.exhausted |= self.elapsed >= self.budget
        if self._seen is not None:
            fresh = counted & ~repeat
            self._seen[rows[fresh], indices[fresh]] = True
            if self._memo is not None:
                self._memo[rows[fresh], indices[fresh]] = accuracy[fresh]
        self.evaluations += counted
        better = counted & (accuracy > self.best_accuracy)
        self.best_index = np.where(better, indices, self.best_index)
        self.best_accuracy = np.where(better, accuracy, self.best_accuracy)
        self.best_cost = np.where(better, cost, self.best_cost)
        rewards = np.where(counted, self.reward.many(accuracy, indices), 0.0)
        info = {
            "arch": indices,
            "evaluated": counted,
            "repeat": repeat & live,
            "valid_accuracy": np.where(counted, accuracy, np.nan),
            "cost": np.where(counted, cost, 0.0),
            "clock": self.elapsed.copy(),
            "budget_exhausted": self.exhausted.copy(),
            "evaluations": self.evaluations.copy(),
            "best_arch": self.best_index,
            "best_valid_accuracy": self.best_accuracy,
            "best_cost": self.best_cost,
        }
        if self.config.report_test:
            info["test_accuracy"] = np.array([self.evaluator.test_accuracy(int(i)) for i in indices])
        return rewards, counted, info
