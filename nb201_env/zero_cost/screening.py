"""``ScreenedEvaluator``: train by lookup, and pre-screen candidates by a zero-cost proxy on the same clock.

A proxy-guided search scores many candidate cells with a zero-cost proxy and trains only the promising ones. The
screening is real work: :meth:`ScreenedEvaluator.screen` returns the proxy scores of candidates and adds the
seconds they cost to a pending charge, which the next :meth:`~ScreenedEvaluator.evaluate` (a training run, by
lookup) pays together with its own cost. The clock therefore ends where it would if the screening had been
charged on its own, and the budget rule applies to the sum (a training whose screening and training together
would cross the budget is not performed under the ``nb201`` rule). Screening never reads test accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nb201_env.benchmark import Evaluation
from nb201_env.evaluators import Evaluator
from nb201_env.zero_cost.evaluator import ZeroCostEvaluator


class ScreenedEvaluator:
    """An evaluator (the training signal) with a zero-cost screener whose cost is charged to the next evaluation.

    Args:
        trainer: the evaluator of the training signal (e.g. :class:`~nb201_env.evaluators.TabularEvaluator`).
        screener: the zero-cost proxy used to screen candidates.
    """

    def __init__(self, trainer: Evaluator, screener: ZeroCostEvaluator) -> None:
        self.trainer = trainer
        self.screener = screener
        self.pending = 0.0
        self.screened = 0
        self.deterministic = getattr(trainer, "deterministic", False)

    def clear(self) -> None:
        """Forget the pending charge and the count (a new search run)."""
        self.pending, self.screened = 0.0, 0

    def screen(self, indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return the proxy scores of ``indices`` (higher is better) and add their cost to the pending charge."""
        scores, costs = self.screener.evaluate_many(np.asarray(indices, dtype=np.int64), rng)
        self.pending += float(np.sum(costs))
        self.screened += len(scores)
        return scores

    def evaluate(self, index: int, rng: np.random.Generator) -> Evaluation:
        """Return the training signal of ``index``, its cost including the screening done since the last one."""
        accuracy, cost = self.trainer.evaluate(index, rng)
        charged, self.pending = cost + self.pending, 0.0
        return Evaluation(accuracy, charged)

    def evaluate_many(self, indices: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return the training signals of many cells; the pending screening cost goes to the first."""
        accuracy, cost = self.trainer.evaluate_many(indices, rng)
        cost = np.array(cost, dtype=np.float64)
        if len(cost):
            cost[0] += self.pending
            self.pending = 0.0
        return accuracy, cost

    def test_accuracy(self, index: int) -> float:
        """Return the trainer's test accuracy (reports only)."""
        return self.trainer.test_accuracy(index)

    def describe(self) -> Mapping[str, Any]:
        """Describe the training signal and the screening proxy."""
        screen = self.screener.describe()
        return {
            **self.trainer.describe(),
            "screening": screen["signal"],
            "screening_cost": screen["cost"] + ", charged with the next training",
        }
