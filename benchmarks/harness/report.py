"""Reports of a sweep: the summary tables (``table.md``, ``table.csv``, ``tests.md``), the anytime and rank
plots, for multi-objective runs the hypervolume report (``mo_table.md`` and its plots), and for weight-sharing
runs the drift of their derived cells (``drift.md``, ``skip_share_*.png``), in one folder.

    python -m benchmarks.harness.report results/nb201.jsonl --out results/report [--store PATH]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from benchmarks.harness.mo_report import write_mo_report
from benchmarks.harness.plots import plot_anytime, plot_ranks, plot_skip_share
from benchmarks.harness.results import read_results
from benchmarks.harness.summary import markdown_drift, markdown_table, markdown_tests, summarize, write_csv
from nb201_env.benchmark import Benchmark
from nb201_env.helptext import HelpFormatter, plain, prog
from nb201_env.locate import find_store

log = logging.getLogger("benchmarks.harness")


def write_report(records: list[dict[str, Any]], folder: Path, store: str) -> str:
    """Write the tables and plots of ``records`` into ``folder`` (see above); return the Markdown tables to print."""
    if not records:
        raise ValueError("no finished runs to report")
    folder.mkdir(parents=True, exist_ok=True)
    rows = summarize(records)
    table = markdown_table(rows)
    tests = markdown_tests(records)
    (folder / "table.md").write_text(table + "\n")
    (folder / "tests.md").write_text(tests + "\n")
    write_csv(rows, folder / "table.csv")
    plot_anytime(records, Benchmark.open(store), folder)
    plot_ranks(records, folder)
    drift = markdown_drift(records)
    if drift:  # weight-sharing runs: how their derived cells drift, and seconds per epoch
        (folder / "drift.md").write_text(drift + "\n")
        plot_skip_share(records, folder)
        tests += "\n\n" + drift
    if any(r.get("objectives") for r in records):
        write_mo_report(records, folder, store)
    log.info("report written to %s", folder)
    return f"{table}\n\n{tests}" if tests else table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=prog("benchmarks.harness.report"), description=plain(__doc__), formatter_class=HelpFormatter
    )
    parser.add_argument("results", type=Path, help="a results .jsonl file of benchmarks.harness.run")
    parser.add_argument("--out", type=Path, default=Path("results/report"), help="folder of the tables and plots")
    parser.add_argument("--store", help="benchmark store (default: $NB201_DATA, the cache dir, then the bundled one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(write_report(read_results(args.results), args.out, str(find_store(args.store))))


if __name__ == "__main__":
    main()
