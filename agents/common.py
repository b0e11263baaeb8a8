"""What every search agent shares: the ask/tell interface, the loop that runs it, and its result record.

An agent proposes a whole cell (an action of ``NASBench201-OneShot-v0``) with ``ask`` and learns from the
validation accuracy with ``tell``; :func:`run_search` drives it through the environment until the budget
is spent. The result records, for every counted evaluation, the simulated time, architecture, validation
accuracy and epoch, all read from the environment's ``info`` (public API only). Test accuracy is added
later by the harness, never during search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np


@dataclass
class SearchResult:
    """The trajectory of one search run and the architecture the agent reports."""

    agent: str
    times: np.ndarray
    archs: np.ndarray
    valid_accuracy: np.ndarray
    epochs: np.ndarray
    best_arch: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def evaluations(self) -> int:
        return len(self.archs)


class Recorder:
    """Collect counted evaluations from environment ``info`` dicts."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.archs: list[int] = []
        self.valid: list[float] = []
        self.epochs: list[int] = []

    def add(self, info: dict[str, Any]) -> bool:
        """Record the evaluation reported by ``info`` if it counted; return whether it did."""
        if not info.get("evaluated"):
            return False
        self.times.append(info["clock"])
        self.archs.append(info["arch"])
        self.valid.append(info["valid_accuracy"])
        self.epochs.append(info.get("epoch", -1))
        return True

    def result(self, agent: str, best_arch: int | None = None, settings: dict[str, Any] | None = None) -> SearchResult:
        """Return the record; the reported arch defaults to the best validation accuracy seen."""
        valid = np.asarray(self.valid, dtype=np.float64)
        if best_arch is None:
            best_arch = int(self.archs[int(np.argmax(valid))]) if len(valid) else -1
        return SearchResult(
            agent,
            np.asarray(self.times, dtype=np.float64),
            np.asarray(self.archs, dtype=np.int64),
            valid,
            np.asarray(self.epochs, dtype=np.int64),
            best_arch,
            dict(settings or {}),
        )


class Searcher(Protocol):
    """An ask/tell search strategy over whole cells.

    Optional members read by :func:`run_search`: ``best_arch()`` (the arch to report; default the best
    validation accuracy seen), ``settings`` (a dict copied into the result) and ``done`` (True ends the run
    before the budget is spent, e.g. a converged policy that only proposes cells already evaluated, which
    cost no simulated time under ``charge_repeats=False`` and so would never spend the budget).
    """

    name: str

    def ask(self) -> np.ndarray:
        """Return the next action: six op ids (plus a fidelity index when the env has fidelities)."""
        ...

    def tell(self, action: np.ndarray, info: dict[str, Any]) -> None:
        """Learn from the evaluation of ``action`` (``info["valid_accuracy"]``, ``info["arch"]``...)."""
        ...


def run_search(env: gym.Env, searcher: Searcher, seed: int, max_steps: int = 10_000_000) -> SearchResult:
    """Run ``searcher`` through a one-shot env (a new search run seeded by ``seed``) until the budget is spent."""
    if getattr(env.unwrapped.clock, "budget", None) is None:
        raise ValueError("run_search needs a time budget: make the env with budget=... or protocol=...")
    env.reset(seed=seed)
    recorder = Recorder()
    step = env.step
    for _ in range(max_steps):
        action = searcher.ask()
        _, _, _, truncated, info = step(action)
        if recorder.add(info):
            searcher.tell(action, info)
        if truncated or getattr(searcher, "done", False):
            break
    best = getattr(searcher, "best_arch", None)
    settings = dict(getattr(searcher, "settings", {}))
    return recorder.result(searcher.name, best() if callable(best) else None, settings)
