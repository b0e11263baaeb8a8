"""The simulated wall clock of a search run, with a time budget and an explicit overshoot rule.

Every evaluated architecture charges its cost (recorded training time, or measured time for real
training) here, never inside a benchmark query. Two rules decide what happens to the evaluation that
would cross the budget:

* ``"nb201"`` (NAS-Bench-201 baselines): it is not performed; the clock stops short of the budget.
* ``"nats"`` (NATS-Bench baselines): an evaluation may start while time remains and counts in full,
  so the last one may overrun the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from nb201_env.names import check_choice
from nb201_env.validate import check_real

BudgetRule = Literal["nb201", "nats"]
BUDGET_RULES = ("nb201", "nats")


@dataclass
class SimulatedClock:
    """Simulated seconds spent so far, against an optional budget.

    Args:
        budget: seconds available to the search (``None`` = unlimited).
        rule: how the evaluation that crosses the budget counts (see the module docstring).
    """

    budget: float | None = None
    rule: str = "nats"
    elapsed: float = field(default=0.0, init=False)
    exhausted: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        check_choice("budget rule", self.rule, BUDGET_RULES)
        check_real("budget (simulated seconds)", self.budget, positive=True, allow_none=True)

    def charge(self, cost: float) -> bool:
        """Charge one evaluation; return whether it counts (was performed within the budget)."""
        if self.exhausted:
            return False
        budget = self.budget
        if budget is None:
            self.elapsed += cost
            return True
        if self.rule == "nb201":
            if self.elapsed + cost > budget:
                self.exhausted = True
                return False
            self.elapsed += cost
            return True
        self.elapsed += cost  # nats: started with time left, so it completes
        if self.elapsed >= budget:
            self.exhausted = True
        return True

    @property
    def remaining(self) -> float:
        """Return the seconds left (``inf`` without a budget, 0 when spent)."""
        return math.inf if self.budget is None else max(0.0, self.budget - self.elapsed)

    def reset(self) -> None:
        """Start a new search run at time zero."""
        self.elapsed = 0.0
        self.exhausted = False
