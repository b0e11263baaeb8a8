"""Command line: sweeps of searches on N simulated asynchronous workers under one wall-clock budget.

Each run is :func:`benchmarks.harness.simulation.simulate` (the environments' own accounting and budget
rules; see there). Runs go through the harness's sweep: the same resumable JSONL records (protocol named
``<protocol>/<k>w``, plus ``workers``) and the same report.

    python -m benchmarks.harness.cluster --agents random rea reinforce --workers 1 4 16 --runs 100 \\
        --out results/cluster.jsonl --report results/cluster [--protocols nb201 nats-cifar10] [--store NAME]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from benchmarks.harness.registry import AGENTS
from benchmarks.harness.report import write_report
from benchmarks.harness.results import ResultsBusy
from benchmarks.harness.sweep import RunsLost, check_outputs, sweep
from benchmarks.harness.tasks import add_protocols_argument, protocol_variants
from nb201_env.helptext import HelpFormatter, plain, prog
from nb201_env.locate import find_store
from nb201_env.store.errors import StoreError

log = logging.getLogger("benchmarks.harness")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=prog("benchmarks.harness.cluster"), description=plain(__doc__), formatter_class=HelpFormatter
    )
    able = [name for name, spec in AGENTS.items() if spec.searcher]
    parser.add_argument("--agents", nargs="+", default=able, choices=able, help="agents with an ask/tell searcher")
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 4, 16], help="simulated workers")
    add_protocols_argument(parser)
    parser.add_argument("--runs", type=int, default=100, help="search runs per agent, protocol and worker count")
    parser.add_argument("--processes", type=int, default=0, help="processes running the simulations (0: one per core)")
    parser.add_argument("--store", help="benchmark name or store (default: $NB201_DATA, the cache, nb201-public)")
    parser.add_argument("--out", type=Path, default=Path("results/cluster.jsonl"), help="results file (JSON lines)")
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
                        store, args.processes, cluster_workers=args.workers,
                        read_back=args.report is not None)  # fmt: skip
        log.info("results in %s (%.1f s)", args.out, time.perf_counter() - start)
        if args.report:
            print(write_report(records, args.report.expanduser(), store))
    except (OSError, ValueError, LookupError, RunsLost, ResultsBusy, StoreError) as exc:
        log.error("error: %s", exc)
        sys.exit(2)


if __name__ == "__main__":
    main()
