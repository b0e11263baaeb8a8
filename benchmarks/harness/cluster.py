"""Simulate N asynchronous parallel workers (a cluster of GPUs) searching under one wall-clock budget.

Event-driven: every free worker asks the searcher for a cell and trains it for the cell's recorded cost;
results reach the searcher in the order they finish, so several proposals may be in flight. The budget
is wall-clock time: an evaluation that would finish after it does not count (the NB201 rule). A cell that
already finished is answered from its result at no cost, as in the environment's default.

    python -m benchmarks.harness.cluster --agents random rea reinforce --workers 1 4 16 --runs 100
"""

from __future__ import annotations

import argparse
import heapq
import importlib
from typing import Any

import numpy as np

from agents.common import Recorder, SearchResult
from benchmarks.common import table
from nb201_env.benchmark import Benchmark
from nb201_env.evaluators import TabularConfig, TabularEvaluator
from nb201_env.locate import find_store
from nb201_env.protocols import PROTOCOLS, get_protocol
from nb201_env.space import ops_to_index

SEARCHERS = {
    "random": ("agents.random_search", "RandomSearch"),
    "rea": ("agents.regularized_evolution", "RegularizedEvolution"),
    "reinforce": ("agents.reinforce", "Reinforce"),
}
"""Ask/tell searchers that tolerate several proposals in flight."""


def make_searcher(agent: str, seed: int) -> Any:
    """Return the ask/tell searcher of ``agent`` with its default arguments."""
    if agent not in SEARCHERS:
        raise ValueError(
            f"unknown agent {agent!r} for the cluster simulation; valid agents are: {', '.join(SEARCHERS)}"
        )
    module_name, class_name = SEARCHERS[agent]
    module = importlib.import_module(module_name)
    return getattr(module, class_name)(module.Args(), seed)


def simulate(
    agent: str, evaluator: TabularEvaluator, budget: float, workers: int, seed: int, max_free: int = 10_000
) -> SearchResult:
    """Run one search with ``workers`` parallel workers until the wall-clock ``budget``; return its record."""
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    searcher = make_searcher(agent, seed)
    rng = np.random.default_rng(seed)
    finished: dict[int, float] = {}
    running: list[tuple[float, int, np.ndarray, int, float, float]] = []
    order = 0

    def launch(now: float) -> None:
        nonlocal order
        action = np.asarray(searcher.ask())
        index = int(ops_to_index(action[:6]))
        if index in finished:
            accuracy, cost = finished[index], 0.0
        else:
            accuracy, cost = evaluator.evaluate(index, rng)
        heapq.heappush(running, (now + cost, order, action, index, accuracy, cost))
        order += 1

    for _ in range(workers):
        launch(0.0)
    recorder, free_in_a_row = Recorder(), 0
    while running and not getattr(searcher, "done", False):
        now, _, action, index, accuracy, cost = heapq.heappop(running)
        if now > budget:
            break  # everything still running finishes later still
        repeat = index in finished
        free_in_a_row = free_in_a_row + 1 if repeat else 0
        if free_in_a_row > max_free:
            break  # the searcher only proposes cells it has seen: the clock would never move again
        finished.setdefault(index, accuracy)
        info = {
            "evaluated": True,
            "clock": now,
            "arch": index,
            "valid_accuracy": accuracy,
            "epoch": -1,
            "repeat": repeat,
            "cost": cost,
        }
        recorder.add(info)
        searcher.tell(action, info)
        launch(now)
    return recorder.result(agent, settings={"workers": workers, "budget": budget})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", nargs="+", default=list(SEARCHERS), choices=list(SEARCHERS))
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 4, 16])
    parser.add_argument("--protocol", default="nb201", choices=list(PROTOCOLS))
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--store", help="benchmark store (default: $NB201_DATA, the cache dir, then the bundled one)")
    args = parser.parse_args()
    protocol = get_protocol(args.protocol)
    bench = Benchmark.open(find_store(args.store))
    evaluator = TabularEvaluator(bench, TabularConfig(dataset=protocol.dataset))
    rows = []
    for agent in args.agents:
        for workers in args.workers:
            results = [simulate(agent, evaluator, protocol.budget, workers, seed) for seed in range(args.runs)]
            tests = np.array([evaluator.test_accuracy(r.best_arch) for r in results])
            evaluations = np.mean([r.evaluations for r in results])
            rows.append((agent, str(workers), f"{tests.mean():.2f} ± {tests.std(ddof=1):.2f}", f"{evaluations:.0f}"))
    print(f"{args.protocol}: {protocol.budget:.0f} s of wall-clock time on {bench.name}, {args.runs} runs each")
    print(table(rows, ("agent", "workers", f"{protocol.dataset} test accuracy", "evaluations")))


if __name__ == "__main__":
    main()
