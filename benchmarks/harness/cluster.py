"""Simulate N asynchronous parallel workers (a cluster of GPUs) searching under one wall-clock budget.

Event-driven, on the same accounting as the environments (:class:`~nb201_env.search_runs.SearchRuns`): each
free worker asks the searcher for a cell and looks it up when it starts (``lookup_one``: a cell already
finished in this run is answered from its result at no cost); the evaluation is settled when it finishes
(``settle_one`` with its start time), and results reach the searcher in the order they finish, so several
proposals may be in flight. The protocol's budget rule applies as everywhere: under ``"nb201"`` an evaluation
that would finish after the budget does not count; under ``"nats"`` one started before the budget counts in
full, so the run may overrun. Runs go through the harness (``run.sweep``): the same resumable JSONL records
(protocol named ``<protocol>/<k>w``, plus ``workers``) and the same report.

    python -m benchmarks.harness.cluster --agents random rea reinforce --workers 1 4 16 --runs 100 \\
        --out results/cluster.jsonl --report results/cluster [--protocols nb201 nats-cifar10] [--store NAME]
"""

from __future__ import annotations

import argparse
import heapq
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from agents.common import Recorder, SearchResult
from benchmarks.harness.registry import AGENTS
from benchmarks.harness.run import RunsLost, check_outputs, protocol_variants, sweep
from nb201_env.locate import find_store
from nb201_env.protocols import PROTOCOLS
from nb201_env.search_runs import SearchRuns
from nb201_env.space import check_ops, index_of_ops
from nb201_env.store.codec import StoreError

log = logging.getLogger("benchmarks.harness")


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    able = [name for name, spec in AGENTS.items() if spec.searcher]
    parser.add_argument("--agents", nargs="+", default=able, choices=able)
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 4, 16], help="simulated workers")
    parser.add_argument("--protocols", nargs="+", default=["nb201"], choices=list(PROTOCOLS))
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--processes", type=int, default=0, help="processes running the simulations (default: cores)")
    parser.add_argument("--store", help="benchmark name or store (default: $NB201_DATA, the cache, nb201-public)")
    parser.add_argument("--out", type=Path, default=Path("results/cluster.jsonl"))
    parser.add_argument("--report", type=Path, help="also write the table and plots into this folder")
    args = parser.parse_args(argv)
    if args.runs < 1 or any(k < 1 for k in args.workers):
        parser.error("--runs and --workers must be ints >= 1")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("nb201_env").setLevel(logging.WARNING)
    try:
        check_outputs(args.out.expanduser(), args.report.expanduser() if args.report else None)
        store = str(find_store(args.store))
        start = time.perf_counter()
        records = sweep(args.agents, protocol_variants(args.protocols, None), args.runs, args.out.expanduser(),
                        store, args.processes, cluster_workers=args.workers)  # fmt: skip
        log.info("%d records in %s (%.1f s)", len(records), args.out, time.perf_counter() - start)
        if args.report:
            from benchmarks.harness.report import write_report

            write_report(records, args.report.expanduser(), store)
    except (OSError, ValueError, LookupError, RunsLost, StoreError) as exc:
        log.error("error: %s", exc)
        sys.exit(2)


if __name__ == "__main__":
    main()
