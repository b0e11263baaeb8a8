"""A stable-baselines3 callback that stops training when the search budget is spent.

Needs the ``rl`` extra (``pip install nb201-env[rl]``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

try:
    from stable_baselines3.common.callbacks import BaseCallback
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("nb201_env.callbacks needs stable-baselines3: pip install nb201-env[rl]") from exc

log = logging.getLogger(__name__)


class StopOnBudget(BaseCallback):
    """Stop ``model.learn`` as soon as any (``"any"``) or every (``"all"``) env reports its budget spent.

    It also records the incumbent of the run that ended, so that ``callback.best_arch`` and
    ``callback.best_valid_accuracy`` name what the agent found.
    """

    def __init__(self, when: str = "any", verbose: int = 0) -> None:
        super().__init__(verbose)
        if when not in ("any", "all"):
            raise ValueError(f"unknown when={when!r}; valid choices are 'any' and 'all'")
        self.when = when
        self.best_arch: int = -1
        self.best_valid_accuracy: float = float("-inf")
        self.clock: float = 0.0

    def _on_step(self) -> bool:
        infos: list[dict[str, Any]] = self.locals.get("infos", [])
        spent = [bool(info.get("budget_exhausted", False)) for info in infos]
        for info in infos:
            if "best_arch" in info and info["best_valid_accuracy"] > self.best_valid_accuracy:
                self.best_arch = int(info["best_arch"])
                self.best_valid_accuracy = float(info["best_valid_accuracy"])
            if "clock" in info:
                self.clock = max(self.clock, float(info["clock"]))
        done = bool(np.any(spent)) if self.when == "any" else bool(spent) and all(spent)
        if done:
            log.info("budget spent at simulated %.0f s; best arch %d", self.clock, self.best_arch)
        return not done
