"""Command line: run search agents under simulated budgets, many runs each, in parallel, appending every finished run.

    python -m benchmarks.harness.run --agents random rea reinforce --protocols nb201 --runs 500 \\
        --out results/nb201.jsonl [--store PATH] [--workers 2] [--budgets 6000 12000]
    python -m benchmarks.harness.run --agents mo_random nsga2 --objectives valid_accuracy latency_ms/pixel3 ...
    python -m benchmarks.harness.run --agents rsps darts_v1 darts_v2 gdas setn enas --scale proxy --runs 3 \
        --out results/ws.jsonl [--data CIFAR10_FOLDER] [--data-cache DIR] [--device auto] [--threads 1]

Each run is one search (a fresh search run of the env seeded with ``seed0 + run``, the same seeds for
every agent); the agent reports its best architecture by validation accuracy, and only then does the
harness look up that architecture's 200-epoch test accuracy on the three datasets. Rerunning the same
command skips finished runs, so an interrupted sweep resumes where it stopped. Multi-objective agents
(``MULTI_OBJECTIVE = True``) search with ``--objectives``, which are named in the protocol
(``nb201+latency_ms/pixel3``) and in each record. Weight-sharing agents (RSPS, DARTS-V1/V2, GDAS, SETN, ENAS)
really train a supernet on ``cifar10-valid`` at ``--scale`` (``full``: NB201's settings, for a GPU; ``proxy``:
minutes per run on a CPU; ``tiny``: tests) on wall-clock time, look each epoch's derived cell up in the
benchmark, and are named ``<protocol>@<scale>`` (see :mod:`benchmarks.harness.supernet_runs`). Your own agent
runs by its path, ``--agents my_agents:search``. With ``--report`` the tables go to stdout; logs and the
progress bar go to stderr.
A worker process that dies loses only the runs it held (see :mod:`benchmarks.harness.sweep`). The output
file and report folder are checked before any run starts.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from pathlib import Path

from agents.weight_sharing import SCALES
from benchmarks.harness.registry import AGENTS, get_agent
from benchmarks.harness.report import write_report
from benchmarks.harness.results import ResultsBusy
from benchmarks.harness.supernet_runs import SupernetSetup
from benchmarks.harness.sweep import WORKERS_PER_CORE, RunsLost, check_outputs, max_workers, sweep
from benchmarks.harness.tasks import add_protocols_argument, protocol_variants
from benchmarks.harness.validity import MAX_RUNS
from nb201_env.helptext import HelpFormatter, plain, prog
from nb201_env.locate import find_store
from nb201_env.store.errors import StoreError

log = logging.getLogger("benchmarks.harness")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=prog("benchmarks.harness.run"), description=plain(__doc__), formatter_class=HelpFormatter
    )
    parser.add_argument(
        "--agents",
        nargs="+",
        default=["random", "rea", "reinforce"],
        metavar="AGENT",
        help=f"agents to run: {', '.join(AGENTS)}; or your own function search(env, args, seed) as module:function",
    )
    add_protocols_argument(parser)
    parser.add_argument("--budgets", nargs="*", type=float, help="override the presets' budgets (seconds)")
    parser.add_argument("--runs", type=int, default=500, help="search runs per agent and protocol")
    parser.add_argument("--seed0", type=int, default=0, help="run r uses seed seed0 + r")
    parser.add_argument("--workers", type=int, default=0, help="processes (0: one per core)")
    parser.add_argument("--store", help="benchmark store (default: $NB201_DATA, the cache dir, then the bundled one)")
    parser.add_argument("--out", type=Path, default=Path("results/search.jsonl"), help="results file (JSON lines)")
    parser.add_argument("--report", type=Path, help="also write the table and plots into this folder")
    parser.add_argument(
        "--objectives",
        nargs="+",
        help="objectives of the multi-objective agents, e.g. valid_accuracy latency_ms/pixel3 (see nb201 info)",
    )
    ws = parser.add_argument_group("weight-sharing agents (rsps, darts_v1, darts_v2, gdas, setn, enas)")
    ws.add_argument("--scale", default="proxy", choices=list(SCALES), help="network, images and epochs")
    ws.add_argument("--data", help="CIFAR-10 folder (default: the shared JPEG tarball, extracted once)")
    ws.add_argument("--data-cache", help="keep decoded images here (default: beside the extracted tarball)")
    ws.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:<i>")
    ws.add_argument("--threads", type=int, default=1, help="torch threads per worker process")
    ws.add_argument("--epochs", type=int, help="override the scale's epochs (runs named <protocol>@<scale>-e<N>)")
    args = parser.parse_args(argv)
    for name, value, low in (("--runs", args.runs, 1), ("--workers", args.workers, 0), ("--seed0", args.seed0, 0)):
        if value < low:
            parser.error(f"{name} must be an int >= {low}, got {value}")
    for name, value, high, why in (
        ("--runs", args.runs, MAX_RUNS, "runs per agent and protocol"),
        ("--workers", args.workers, max_workers(), f"{WORKERS_PER_CORE} processes per usable core"),
    ):
        if value > high:
            parser.error(f"{name} must be an int <= {high} ({why}), got {value}")
    try:
        supernet = SupernetSetup(args.scale, args.data, args.data_cache, args.device, args.threads, args.epochs)
    except ValueError as exc:
        parser.error(str(exc))
    for budget in args.budgets or []:
        if not (budget > 0 and math.isfinite(budget)):
            parser.error(f"--budgets must be positive finite seconds, got {budget}")
    for agent in args.agents:  # an unknown name, or a module:function that does not import: before anything else
        try:
            get_agent(agent)
        except ValueError as exc:
            parser.error(f"--agents: {exc}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # logs and the progress bar: stderr
    logging.getLogger("nb201_env").setLevel(logging.WARNING)  # per-run library messages would drown the bar
    try:
        check_outputs(args.out.expanduser(), args.report.expanduser() if args.report else None)
        store = str(find_store(args.store))
        start = time.perf_counter()
        records = sweep(
            args.agents,
            protocol_variants(args.protocols, args.budgets),
            args.runs,
            args.out.expanduser(),
            store,
            args.workers,
            args.seed0,
            objectives=args.objectives,
            supernet=supernet,
            read_back=args.report is not None,  # the whole file is read again only for a report
        )
        log.info("results in %s (%.1f s)", args.out, time.perf_counter() - start)
        if args.report:
            print(write_report(records, args.report.expanduser(), store))  # the results: stdout
    except (OSError, ValueError, LookupError, RunsLost, ResultsBusy, StoreError) as exc:  # one clear line
        log.error("error: %s", exc)
        sys.exit(2)


if __name__ == "__main__":
    main()
