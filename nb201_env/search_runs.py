"""The accounting of search runs: clock, budget, repeats, the incumbent and the ``info`` of each evaluation.

A search run evaluates architectures one after another on a simulated clock. :class:`SearchRuns` keeps
``n`` independent runs side by side in numpy arrays, and every rule is written once:

* :meth:`SearchRuns.evaluate` advances all ``n`` runs by one evaluation each with array operations (the
  vector environments);
* :meth:`SearchRuns.evaluate_one` advances one run (the single environments are ``n = 1``); the
  asynchronous multi-worker simulation splits it into :meth:`lookup_one` when a worker starts and
  :meth:`settle_one` when it finishes.

Both paths go through :meth:`SearchRuns._account`, which indexes the per-run arrays with either one row
(Python scalars) or all rows (arrays), and through :func:`nb201_env.clock.settle` for the budget rule.
The rules: an architecture already trained in a run is a *repeat*: it returns its first result and costs
nothing unless ``charge_repeats``; the incumbent is the best *validation* accuracy of a full-fidelity
evaluation; ``info`` holds exactly :data:`INFO_KEYS` (plus ``test_accuracy`` when asked for). What each run
has evaluated is kept in sets that grow with the evaluations (:mod:`nb201_env.evaluated`), and a run that
re-proposes evaluated cells :data:`FREE_REPEATS` times in a row, its clock standing still, is warned about once.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nb201_env.clock import SimulatedClock, check_budget, check_rule, settle
from nb201_env.evaluated import EvaluatedDict, EvaluatedTable, evaluated_set
from nb201_env.evaluators import Evaluator
from nb201_env.rewards import Reward, VectorReward
from nb201_env.space import NUM_ARCHS

INFO_KEYS: tuple[str, ...] = (
    "benchmark",
    "arch",
    "epoch",
    "evaluated",
    "repeat",
    "valid_accuracy",
    "cost",
    "clock",
    "remaining",
    "budget_exhausted",
    "evaluations",
    "best_arch",
    "best_valid_accuracy",
    "best_cost",
)
"""The keys of every evaluation's ``info``, in the single and the vector environments alike."""

OPTIONAL_INFO_KEYS: tuple[str, ...] = ("test_accuracy", "action_mask")
"""Keys added only on request: ``report_test=True`` and ``action_mask=True``."""

FREE_REPEATS = 1000
"""Free repeats in a row (already evaluated cells, no simulated time) after which a run is warned about, once."""

log = logging.getLogger(__name__)


@dataclass
class Trajectory:
    """Every counted evaluation of one search run, in order (parallel lists)."""

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


def _pick(condition: Any, yes: Any, no: Any) -> Any:
    """``yes`` where ``condition`` holds, else ``no``: one run (scalars) or many (arrays)."""
    if isinstance(condition, np.ndarray):
        return np.where(condition, yes, no)
    return yes if condition else no


class SearchRuns:
    """Account for the evaluations of ``n`` independent search runs.

    Args:
        n: number of runs.
        evaluator: what an evaluation returns (validation accuracy in %, cost in seconds).
        reward: maps a counted evaluation's validation accuracy to the agent's reward (a number, or a vector
            for a :class:`~nb201_env.rewards.VectorReward`; what is not counted is rewarded with zeros).
        budget: simulated seconds per run (``None`` = unlimited).
        rule: ``"nb201"`` or ``"nats"`` (see :mod:`nb201_env.clock`).
        charge_repeats: re-evaluate and charge architectures already trained in the run.
        report_test: add ``test_accuracy`` to the ``info`` of counted evaluations (reports only).
        keep_trajectories: record every counted evaluation of each run (:meth:`trajectory`).
    """

    def __init__(
        self,
        n: int,
        evaluator: Evaluator,
        reward: Reward | VectorReward,
        *,
        budget: float | None = None,
        rule: str = "nats",
        charge_repeats: bool = False,
        report_test: bool = False,
        keep_trajectories: bool = False,
    ) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"the number of runs (num_envs) must be a positive int, got {n!r}")
        self.n, self.evaluator, self.reward = int(n), evaluator, reward
        self._reward_shape = reward.reward_space.shape if isinstance(reward, VectorReward) else None
        self.budget, self.rule = check_budget(budget), check_rule(rule)
        self.charge_repeats, self.report_test = charge_repeats, report_test
        describe = evaluator.describe()
        self.full_epoch: int = int(describe.get("epoch", -1))
        # named in every info so that results from a proxy table are never mistaken for NB201's
        self.benchmark = str(describe.get("benchmark") or describe.get("evaluator", "unknown"))
        # a repeat returns its first result: tables give it again, seed draws and training need it remembered
        self._remember = not getattr(evaluator, "deterministic", False)
        self._keep = keep_trajectories
        self._rows = np.arange(self.n)
        self._offsets = self._rows * NUM_ARCHS  # a (run, arch) pair is the key run * 15625 + arch
        self.elapsed = np.zeros(self.n)
        self.exhausted = np.zeros(self.n, dtype=bool)
        self.evaluations = np.zeros(self.n, dtype=np.int64)
        self.best_arch = np.full(self.n, -1, dtype=np.int64)
        self.best_accuracy = np.full(self.n, -np.inf)
        self.best_cost = np.full(self.n, np.nan)
        self._evaluated: dict[int, EvaluatedDict | EvaluatedTable] = {}  # per epoch: (run, arch) -> first accuracy
        self._trajectories = [Trajectory() for _ in range(self.n)] if keep_trajectories else []
        self._free_in_a_row = [0] * self.n  # one evaluation at a time (lists: scalar speed)
        self._free_in_a_row_many = np.zeros(self.n, dtype=np.int64)  # all runs at once
        self._warned = False

    def clock(self, row: int = 0) -> SimulatedClock:
        """Return a read-only view of one run's clock."""
        return SimulatedClock(self, row)

    def no_reward(self) -> float | np.ndarray:
        """Return the reward of a step that counted no evaluation: 0, or a vector of zeros."""
        return 0.0 if self._reward_shape is None else np.zeros(self._reward_shape, dtype=np.float32)

    def trajectory(self, row: int = 0) -> Trajectory:
        """Return the counted evaluations of one run (needs ``keep_trajectories=True``)."""
        if not self._keep:
            raise RuntimeError("trajectories are not kept: create SearchRuns(..., keep_trajectories=True)")
        return self._trajectories[row]

    def memory_bytes(self) -> int:
        """Return the bytes held to remember what each run has evaluated (for the benchmarks)."""
        return sum(s.nbytes for s in self._evaluated.values())

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Start new search runs (all, or where ``mask`` is true): time zero, nothing trained."""
        sel = slice(None) if mask is None else np.asarray(mask, dtype=bool)
        self.elapsed[sel] = 0.0
        self.exhausted[sel] = False
        self.evaluations[sel] = 0
        self.best_arch[sel] = -1
        self.best_accuracy[sel] = -np.inf
        self.best_cost[sel] = np.nan
        for evaluated in self._evaluated.values():
            evaluated.forget(None if mask is None else np.asarray(mask, dtype=bool))
        for row in self._rows[sel].tolist():
            self._free_in_a_row[row] = 0
        self._free_in_a_row_many[sel] = 0
        if self._keep:
            for row in self._rows[sel]:
                self._trajectories[row] = Trajectory()

    def _set(self, epoch: int) -> EvaluatedDict | EvaluatedTable:
        evaluated = self._evaluated.get(epoch)
        if evaluated is None:
            evaluated = self._evaluated[epoch] = evaluated_set(self.n, values=self._remember)
        return evaluated

    def _free_repeats(self, row: int, streak: int) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "search run %d re-proposed cells it had already evaluated %d times in a row: a repeat is answered "
                "from its first result at no simulated cost (charge_repeats=False), so the clock stands still and "
                "the run may never spend its budget. Stop the search (a searcher's done), propose unseen cells, "
                "or pass charge_repeats=True. (Said once.)",
                row,
                streak,
            )

    # -- one run -----------------------------------------------------------------------------------------

    def lookup_one(
        self, row: int, arch: int, rng: np.random.Generator, epoch: int | None = None
    ) -> tuple[float, float, bool]:
        """Return (validation accuracy, cost, repeat) of an evaluation about to start in run ``row``."""
        e = self.full_epoch if epoch is None else epoch
        evaluated = self._evaluated.get(e)
        first = (evaluated if evaluated is not None else self._set(e)).get(row * NUM_ARCHS + arch)
        free = first is not None and not self.charge_repeats
        if free and first == first:  # NaN: a set that keeps no values; the table gives the first result again
            return first, 0.0, True
        if e == self.full_epoch:
            accuracy, cost = self.evaluator.evaluate(arch, rng)
        else:
            accuracy, cost = self.evaluator.evaluate_at(arch, e, rng)  # type: ignore[attr-defined]
        return float(accuracy), 0.0 if free else float(cost), first is not None

    def settle_one(
        self,
        row: int,
        arch: int,
        accuracy: float,
        cost: float,
        repeat: bool,
        *,
        epoch: int | None = None,
        start: float | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Charge a looked-up evaluation that started at ``start`` (default: the run's clock); return (reward, info)."""
        e = self.full_epoch if epoch is None else epoch
        info = self._account(row, arch, e, accuracy, cost, repeat, self.elapsed.item(row) if start is None else start)
        counted = info["evaluated"]
        if repeat and not self.charge_repeats:
            streak = self._free_in_a_row[row] = self._free_in_a_row[row] + 1
            if streak >= FREE_REPEATS:
                self._free_repeats(row, streak)
        else:
            self._free_in_a_row[row] = 0
        if counted:
            if self._keep:
                t = self._trajectories[row]
                t.times.append(info["clock"])
                t.archs.append(arch)
                t.accuracies.append(accuracy)
                t.epochs.append(e)
            if self.report_test:
                info["test_accuracy"] = self.evaluator.test_accuracy(arch)
            reward = self.reward(accuracy, arch)
            return (float(reward) if self._reward_shape is None else reward), info
        return self.no_reward(), info

    def evaluate_one(
        self, row: int, arch: int, rng: np.random.Generator, epoch: int | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Evaluate ``arch`` in run ``row`` at ``epoch`` (default: full fidelity); return (reward, info).

        Once the run's budget is spent nothing is evaluated (no training happens) and nothing counts.
        """
        if self.exhausted[row]:
            return self.settle_one(row, arch, math.nan, 0.0, False, epoch=epoch)
        accuracy, cost, repeat = self.lookup_one(row, arch, rng, epoch)
        return self.settle_one(row, arch, accuracy, cost, repeat, epoch=epoch)

    # -- all runs ----------------------------------------------------------------------------------------

    def evaluate(self, archs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        """Evaluate one architecture per run at full fidelity; return (rewards, info arrays)."""
        e = self.full_epoch
        accuracy, cost = self.evaluator.evaluate_many(archs, rng)
        accuracy = np.asarray(accuracy, dtype=np.float64)
        cost = np.asarray(cost, dtype=np.float64)
        live = ~self.exhausted
        if np.isnan(accuracy.sum() + cost.sum()):  # one reduction finds a missing value; then name it
            missing = live & (np.isnan(accuracy) | np.isnan(cost))
            if missing.any():
                self.evaluator.evaluate(int(archs[missing][0]), rng)  # raises MissingValueError with the details
        # what no run had evaluated is remembered now: a run that does not count it is spent, and forgets at reset
        found, first = self._set(e).find_or_add(self._offsets + archs, accuracy)
        repeat = found & live
        if not self.charge_repeats:
            cost = cost * (repeat ^ True)
            if first is not None:
                accuracy = np.where(repeat, first, accuracy)
            streak = self._free_in_a_row_many = np.where(repeat, self._free_in_a_row_many + 1, 0)
            if not self._warned and streak.max() >= FREE_REPEATS:
                row = int(streak.argmax())
                self._free_repeats(row, int(streak[row]))
        info = self._account(slice(None), archs, e, accuracy, cost, repeat, self.elapsed.copy())
        counted = info["evaluated"]
        if self.report_test:
            info["test_accuracy"] = np.array(
                [self.evaluator.test_accuracy(int(a)) if c else math.nan for a, c in zip(archs, counted)]
            )
        rewards = self.reward.many(accuracy, archs)
        return np.where(counted if rewards.ndim == 1 else counted[:, None], rewards, 0.0), info

    # -- the rules, once -----------------------------------------------------------------------------------

    def _account(
        self, rows: Any, arch: Any, epoch: int, accuracy: Any, cost: Any, repeat: Any, start: Any
    ) -> dict[str, Any]:
        """Charge the clock, count and update the incumbent (and remember a first result); return the ``info``.

        ``rows`` is one run (an int: the state is read as Python scalars, fast for one evaluation) or every
        run (``slice(None)``: arrays); the rules (:func:`settle`, :func:`_improves`) are the same either way.
        """
        one = isinstance(rows, int)
        if one:  # Python scalars: a numpy scalar costs several times more per operation
            elapsed, exhausted, evaluations = (
                self.elapsed.item(rows),
                self.exhausted.item(rows),
                self.evaluations.item(rows),
            )
            best_arch, best_accuracy, best_cost = (
                self.best_arch.item(rows),
                self.best_accuracy.item(rows),
                self.best_cost.item(rows),
            )
        else:
            elapsed, exhausted, evaluations = self.elapsed[rows], self.exhausted[rows], self.evaluations[rows]
            best_arch, best_accuracy, best_cost = self.best_arch[rows], self.best_accuracy[rows], self.best_cost[rows]
        counted, elapsed, exhausted = settle(self.budget, self.rule, elapsed, exhausted, start, cost)
        better = _improves(counted, epoch == self.full_epoch, accuracy, best_accuracy)
        if not one or better:
            best_arch = _pick(better, arch, best_arch)
            best_accuracy = _pick(better, accuracy, best_accuracy)
            best_cost = _pick(better, cost, best_cost)
            self.best_arch[rows], self.best_accuracy[rows], self.best_cost[rows] = best_arch, best_accuracy, best_cost
        evaluations = evaluations + counted
        self.elapsed[rows], self.exhausted[rows], self.evaluations[rows] = elapsed, exhausted, evaluations
        if one:
            valid = accuracy if counted else math.nan
            remaining = self.budget - elapsed if elapsed < self.budget else 0.0
            if counted and not repeat:  # the first result of an architecture in its run is kept (all runs: evaluate)
                evaluated = self._evaluated.get(epoch)
                (evaluated if evaluated is not None else self._set(epoch)).add(rows * NUM_ARCHS + arch, accuracy)
        else:
            valid = np.where(counted, accuracy, math.nan)
            remaining = np.where(elapsed < self.budget, self.budget - elapsed, 0.0)
        return {
            "benchmark": self.benchmark,
            "arch": arch,
            "epoch": epoch,
            "evaluated": counted,
            "repeat": repeat,
            "valid_accuracy": valid,
            "cost": cost * counted,
            "clock": elapsed,
            "remaining": remaining,
            "budget_exhausted": exhausted,
            "evaluations": evaluations,
            "best_arch": best_arch,
            "best_valid_accuracy": best_accuracy,
            "best_cost": best_cost,
        }


def _improves(counted: Any, full_fidelity: bool, accuracy: Any, best_accuracy: Any) -> Any:
    """The incumbent rule: a counted full-fidelity evaluation with a strictly better validation accuracy."""
    return counted & full_fidelity & (accuracy > best_accuracy)
