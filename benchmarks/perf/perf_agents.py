"""Per-run cost of the search agents under the NB201 protocol, as CPU seconds and as a ratio to random search.

    python -m benchmarks.perf.perf_agents [--runs 20] [--store PATH]

Each agent runs ``--runs`` searches (seeds 0..runs-1, 12,000 simulated seconds, about 100 evaluations)
through the one-shot env on the public-figures store, in this process; CPU time (``time.process_time``)
is used so that other jobs on the machine do not inflate it. The projection is the time of 500 runs on two
worker processes (the harness default) on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import nb201_env  # noqa: F401  (registers the envs)
from benchmarks.common import public_store, table
from benchmarks.harness.registry import get_agent
from nb201_env.benchmark import Benchmark

AGENTS = ["random", "rea", "tpe", "tpe_univariate", "bohb", "mo_random", "nsga2"]


def time_agent(name: str, bench: Benchmark, runs: int) -> tuple[float, float]:
    """Return (CPU seconds per run, evaluations per run) of ``runs`` NB201-protocol searches."""
    spec = get_agent(name)
    module = spec.load()
    kwargs = {"benchmark": bench, "protocol": "nb201"}
    if getattr(module, "USES_FIDELITIES", False):
        kwargs["fidelities"] = bench.fidelities("cifar10")
    if getattr(module, "MULTI_OBJECTIVE", False):
        kwargs["objectives"] = ("valid_accuracy", "latency_ms/pixel3")
    env = gym.make(module.ENV_ID, **kwargs)
    module.search(env, module.Args(**spec.args), 10_000)  # warm up: imports, tables
    start = time.process_time()
    evaluations = [module.search(env, module.Args(**spec.args), seed).evaluations for seed in range(runs)]
    return (time.process_time() - start) / runs, float(np.mean(evaluations))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--store", help="benchmark store (default: built from ../shared/nb201)")
    parser.add_argument("--agents", nargs="+", default=AGENTS)
    args = parser.parse_args(argv)
    bench = Benchmark.open(args.store or public_store())
    timings = {name: time_agent(name, bench, args.runs) for name in args.agents}
    base = timings.get("random", next(iter(timings.values())))[0]
    rows = [
        (name, f"{cpu * 1000:.1f} ms", f"{cpu / base:.0f}x", f"{evals:.0f}", f"{cpu * 500 / 2:.0f} s")
        for name, (cpu, evals) in timings.items()
    ]
    print(table(rows, ("agent", "CPU per run", "vs random", "evaluations", "500 runs on 2 cores")))


if __name__ == "__main__":
    main()
