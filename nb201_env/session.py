"""One search run: evaluate architectures, charge the clock, remember results and the incumbent.

The single-architecture environments delegate here, so the accounting rules live in one place:
repeats of an architecture already trained return the first result and cost nothing unless
``charge_repeats``; the incumbent is the best *validation* accuracy seen; the trajectory records, for
every counted evaluation, the simulated time after it, the architecture and its validation accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nb201_env.clock import SimulatedClock
from nb201_env.evaluators import Evaluator
from nb201_env.rewards import Reward


@dataclass
class Trajectory:
    """Every counted evaluation of a search run, in order (parallel lists)."""

    times: list[float] = field(default_factory=list)
    archs: list[int] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Return the trajectory as numpy arrays (``time``, ``arch``, ``valid_accuracy``, ``epoch``)."""
        return {
            "time": np.asarray(self.times, dtype=np.float64),
            "arch": np.asarray(self.archs, dtype=np.int64),
            "valid_accuracy": np.asarray(self.accuracies, dtype=np.float64),
            "epoch": np.asarray(self.epochs, dtype=np.int64),
        }


class SearchSession:
    """Account for the evaluations of one search run."""

    def __init__(
        self,
        evaluator: Evaluator,
        clock: SimulatedClock,
        reward: Reward,
        *,
        charge_repeats: bool = False,
        report_test: bool = False,
    ) -> None:
        self.evaluator = evaluator
        self.clock = clock
        self.reward = reward
        self.charge_repeats = charge_repeats
        self.report_test = report_test
        describe = evaluator.describe()
        self.full_epoch: int = int(describe.get("epoch", -1))
        # Named in every info so that results from the bundled proxy table are never mistaken for NB201's.
        self.benchmark = str(describe.get("benchmark") or describe.get("evaluator", "unknown"))
        self.reset()

    def reset(self) -> None:
        """Start a new search run: time zero, nothing trained yet."""
        self.clock.reset()
        self._seen: dict[object, tuple[float, float]] = {}
        self.trajectory = Trajectory()
        self.best_index = -1
        self.best_accuracy = -np.inf
        self.best_cost = np.nan

    def evaluate(self, index: int, rng: np.random.Generator, epoch: int | None = None) -> tuple[float, dict[str, Any]]:
        """Evaluate one finished architecture (at ``epoch``, default the configured one); return (reward, info).

        Only evaluations at the configured epoch (full fidelity) can become the incumbent.
        """
        clock = self.clock
        key: object = index if epoch is None or epoch == self.full_epoch else (index, epoch)
        known = self._seen.get(key)
        repeat = known is not None
        if known is None or self.charge_repeats:
            if key == index:
                accuracy, cost = self.evaluator.evaluate(index, rng)
            else:
                accuracy, cost = self.evaluator.evaluate_at(index, epoch, rng)  # type: ignore[attr-defined]
        else:
            accuracy, cost = known[0], 0.0
        counted = clock.charge(cost)
        if counted:
            if known is None:
                self._seen[key] = (accuracy, cost)
            self.trajectory.times.append(clock.elapsed)
            self.trajectory.archs.append(index)
            self.trajectory.accuracies.append(accuracy)
            self.trajectory.epochs.append(self.full_epoch if key == index else epoch)  # type: ignore[arg-type]
            if key == index and accuracy > self.best_accuracy:
                self.best_index, self.best_accuracy, self.best_cost = index, accuracy, cost
            reward = self.reward(accuracy, index)
        else:
            reward = 0.0
        info = {
            "benchmark": self.benchmark,
            "arch": index,
            "epoch": self.full_epoch if key == index else epoch,
            "evaluated": counted,
            "repeat": repeat,
            "valid_accuracy": accuracy if counted else None,
            "cost": cost if counted else 0.0,
            "clock": clock.elapsed,
            "remaining": clock.remaining,
            "budget_exhausted": clock.exhausted,
            "evaluations": len(self.trajectory.archs),
            "best_arch": self.best_index,
            "best_valid_accuracy": self.best_accuracy,
            "best_cost": self.best_cost,
        }
        if self.report_test and counted:
            info["test_accuracy"] = self.evaluator.test_accuracy(index)
        return float(reward), info

    def exhausted_info(self) -> dict[str, Any]:
        """Return the info of an episode that ended because the budget was already spent."""
        return {
            "benchmark": self.benchmark,
            "epoch": None,
            "evaluated": False,
            "repeat": False,
            "valid_accuracy": None,
            "cost": 0.0,
            "budget_exhausted": True,
            "clock": self.clock.elapsed,
            "remaining": 0.0,
            "evaluations": len(self.trajectory.archs),
            "best_arch": self.best_index,
            "best_valid_accuracy": self.best_accuracy,
            "best_cost": self.best_cost,
        }
