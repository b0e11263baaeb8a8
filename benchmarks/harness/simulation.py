"""N asynchronous parallel workers (a cluster of GPUs) searching under one wall-clock budget, simulated.

Event-driven, on the same accounting as the environments (:class:`~nb201_env.search_runs.SearchRuns`): each
free worker asks the searcher for a cell and looks it up when it starts (``lookup_one``: a cell already
finished in this run is answered from its result at no cost); the evaluation is settled when it finishes
(``settle_one`` with its start time), and results reach the searcher in the order they finish, so several
proposals may be in flight. The protocol's budget rule applies as everywhere: under ``"nb201"`` an evaluation
that would finish after the budget does not count; under ``"nats"`` one started before the budget counts in
full, so the run may overrun.
"""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np

from agents.common import Recorder, SearchResult
from nb201_env.search_runs import SearchRuns
from nb201_env.space import check_ops, index_of_ops


def simulate(
    searcher: Any, runs: SearchRuns, workers: int, rng: np.random.Generator, max_free: int = 10_000
) -> SearchResult:
    """Run one search with ``workers`` asynchronous workers on the run of ``runs`` (n = 1); return its record."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    runs.reset()
    running: list[tuple[float, int, float, Any, int, float, float, bool]] = []
    order = 0

    def launch(now: float) -> None:
        nonlocal order
        action = np.asarray(searcher.ask())
        arch = index_of_ops(check_ops(action[:6], "the searcher's cell"))
        accuracy, cost, repeat = runs.lookup_one(0, arch, rng)
        heapq.heappush(running, (now + cost, order, now, action, arch, accuracy, cost, repeat))
        order += 1

    for _ in range(workers):
        launch(0.0)
    recorder, free_in_a_row = Recorder(), 0
    while running and not getattr(searcher, "done", False):
        finish, _, start, action, arch, accuracy, cost, repeat = heapq.heappop(running)
        _, info = runs.settle_one(0, arch, accuracy, cost, repeat, start=start)
        if recorder.add(info):
            searcher.tell(action, info)
        free_in_a_row = free_in_a_row + 1 if repeat else 0
        if free_in_a_row > max_free:
            break  # the searcher only proposes cells it has seen: the clock would never move again
        if not runs.exhausted[0]:
            launch(finish)
        elif runs.rule == "nb201":
            break  # every evaluation still running finishes later still: none of them can count
    settings = {"workers": workers, "budget": runs.clock().budget, **dict(getattr(searcher, "settings", {}))}
    return recorder.result(searcher.name, settings=settings)
