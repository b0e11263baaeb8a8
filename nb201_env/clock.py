"""The simulated clock of a search run: its time budget and the overshoot rule, written once.

Every evaluated architecture charges its cost (recorded training time, or measured time for real
training) to the clock of its run, never inside a benchmark query. Two rules decide what happens to the
evaluation that would cross the budget:

* ``"nb201"`` (NAS-Bench-201 baselines): it is not performed; the clock stops short of the budget.
* ``"nats"`` (NATS-Bench baselines): an evaluation may start while time remains and counts in full,
  so the last one may overrun the budget.

:func:`settle` is that rule. It takes Python scalars (one run) or numpy arrays (many runs) alike, so the
single environments, the vector environments and the multi-worker simulation cannot drift apart.
"""

from __future__ import annotations

import math
from typing import Any, Literal, Protocol

import numpy as np

from nb201_env.validate import check_choice, check_real

BudgetRule = Literal["nb201", "nats"]
BUDGET_RULES: tuple[str, ...] = ("nb201", "nats")


def check_budget(budget: object) -> float:
    """Return the budget in seconds (``inf`` for ``None``: unlimited), or raise naming the bad value."""
    seconds = check_real("budget (simulated seconds)", budget, positive=True, allow_none=True)
    return math.inf if seconds is None else seconds


def check_rule(rule: object) -> str:
    """Return ``rule`` if it is a budget rule, else raise naming the valid ones."""
    return check_choice("budget rule", rule, BUDGET_RULES)


def settle(budget: float, rule: str, elapsed: Any, exhausted: Any, start: Any, cost: Any) -> tuple[Any, Any, Any]:
    """Apply the budget rule to evaluations that started at ``start`` and take ``cost`` seconds.

    ``elapsed``/``exhausted`` are the clock state before; returns ``(counted, elapsed, exhausted)`` after.
    A sequential search starts each evaluation at its clock (``start = elapsed``); asynchronous workers
    start them earlier and settle them in the order they finish. The operators below mean the same on
    bools and floats as on numpy arrays: ``x ^ True`` is "not x", multiplying by a bool keeps or zeroes.
    """
    finish = start + cost
    if rule == "nb201":
        counted = (exhausted ^ True) & (finish <= budget)
        exhausted = exhausted | (counted ^ True)  # the first evaluation that does not fit ends the run
    else:
        counted = start < budget  # started with time left: it completes and counts
        exhausted = exhausted | (finish >= budget)
    return counted, elapsed + (finish - elapsed) * counted, exhausted


class ClockState(Protocol):
    """The clock state of ``n`` search runs (what :class:`~nb201_env.search_runs.SearchRuns` keeps)."""

    budget: float
    rule: str
    elapsed: np.ndarray
    exhausted: np.ndarray


class SimulatedClock:
    """The clock of one of ``n`` search runs (a :class:`~nb201_env.search_runs.SearchRuns`): budget, rule, time spent.

    A read-only view: the run's evaluations move it.
    """

    def __init__(self, runs: ClockState, row: int = 0) -> None:
        self._runs, self._row = runs, row

    @property
    def budget(self) -> float | None:
        """Seconds available to the search (``None`` = unlimited)."""
        return None if self._runs.budget == math.inf else self._runs.budget

    @property
    def rule(self) -> str:
        """The overshoot rule, ``"nb201"`` or ``"nats"``."""
        return self._runs.rule

    @property
    def elapsed(self) -> float:
        """Simulated seconds spent so far."""
        return float(self._runs.elapsed[self._row])

    @property
    def exhausted(self) -> bool:
        """Whether the budget is spent (no further evaluation counts)."""
        return bool(self._runs.exhausted[self._row])

    @property
    def remaining(self) -> float:
        """Seconds left (``inf`` without a budget, 0 when spent)."""
        return max(0.0, self._runs.budget - self.elapsed)

    def __repr__(self) -> str:
        return f"SimulatedClock(elapsed={self.elapsed:.1f}, budget={self.budget}, rule={self.rule!r})"
