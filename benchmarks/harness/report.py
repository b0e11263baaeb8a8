"""Reports of a sweep: mean +/- std of final test accuracy per agent and dataset (Markdown and CSV) and
anytime plots (test accuracy of the incumbent vs simulated time, with the spread across runs).

    python -m benchmarks.harness.report results/nb201.jsonl --out results/report [--store PATH]
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness.results import read_results
from nb201_env.benchmark import Benchmark
from nb201_env.locate import find_store
from nb201_env.names import SEARCH_DATASETS

log = logging.getLogger("benchmarks.harness")

# NB201 paper (Dong & Yang, ICLR 2020), Table 5: test accuracy (%) of the architecture found by each
# baseline searching CIFAR-10 validation for 12,000 s, mean +/- std over 500 runs.
PUBLISHED_NB201: dict[str, dict[str, tuple[float, float]]] = {
    "rea": {"cifar10": (93.92, 0.30), "cifar100": (71.84, 0.99), "ImageNet16-120": (45.54, 1.03)},
    "random": {"cifar10": (93.70, 0.36), "cifar100": (71.04, 1.07), "ImageNet16-120": (44.57, 1.25)},
    "reinforce": {"cifar10": (93.85, 0.37), "cifar100": (71.71, 1.09), "ImageNet16-120": (45.24, 1.18)},
}
LABELS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "ImageNet16-120": "ImageNet16-120"}


def summarize(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one row per (protocol, agent): runs, mean/std test accuracy per dataset, effort."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[(r["protocol"], r["agent"])].append(r)
    rows = []
    for (protocol, agent), runs in sorted(groups.items()):
        row: dict[str, Any] = {
            "protocol": protocol,
            "agent": agent,
            "runs": len(runs),
            "benchmark": runs[0]["benchmark"],
            "kind": runs[0].get("benchmark_kind", "recorded"),  # a proxy table is not comparable to the paper
        }
        for dataset in SEARCH_DATASETS:
            values = np.array([r["test"].get(dataset) for r in runs if r["test"].get(dataset) is not None], dtype=float)
            row[f"{dataset}_mean"] = float(values.mean()) if len(values) else math.nan
            row[f"{dataset}_std"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
        row["valid_mean"] = float(np.mean([r["best_valid"] for r in runs if r["best_valid"] is not None]))
        row["evaluations_mean"] = float(np.mean([r["evaluations"] for r in runs]))
        row["clock_mean"] = float(np.mean([r["clock"] for r in runs]))
        rows.append(row)
    return rows


def _pm(mean: float, std: float) -> str:
    return "n/a" if math.isnan(mean) else f"{mean:.2f} ± {std:.2f}"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Format the summary as a Markdown table (with the paper's figures beside the NB201 protocol)."""
    header = ["protocol", "agent", "runs", *(f"{LABELS[d]} test" for d in SEARCH_DATASETS), "evaluations", "benchmark"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = []
        for d in SEARCH_DATASETS:
            text = _pm(row[f"{d}_mean"], row[f"{d}_std"])
            comparable = row["protocol"].split("@")[0] == "nb201" and row["kind"] == "recorded"
            paper = PUBLISHED_NB201.get(row["agent"], {}).get(d) if comparable else None
            cells.append(text + (f" (paper {paper[0]:.2f} ± {paper[1]:.2f})" if paper else ""))
        lines.append(
            "| "
            + " | ".join(
                [
                    row["protocol"],
                    row["agent"],
                    str(row["runs"]),
                    *cells,
                    f"{row['evaluations_mean']:.0f}",
                    row["benchmark"],
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """Write the summary rows as CSV."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def anytime_curves(
    records: list[dict[str, Any]], bench: Benchmark, grid: np.ndarray, dataset: str, schedule: int | None = None
) -> np.ndarray:
    """Return ``(runs, len(grid))``: test accuracy of each run's incumbent (best validation so far) over time.

    ``schedule=None`` takes the store's reported test figure (200 epochs for NB201, the proxy's own schedule
    for a proxy table), the same figure the harness records as each run's final test accuracy.
    """
    out = np.full((len(records), len(grid)), np.nan)
    for i, r in enumerate(records):
        traj = r["trajectory"]
        if not traj["arch"]:
            continue
        valid = np.asarray(traj["valid"], dtype=float)
        archs = np.asarray(traj["arch"], dtype=np.int64)
        running = np.maximum.accumulate(valid)
        improved = np.r_[True, running[1:] > running[:-1]]  # the first evaluation reaching a new best
        best_pos = np.maximum.accumulate(np.where(improved, np.arange(len(valid)), 0))
        incumbent_test = bench.test_accuracy_many(archs[best_pos], dataset, schedule=schedule)
        k = np.searchsorted(np.asarray(traj["time"]), grid, side="right") - 1
        out[i] = np.where(k >= 0, incumbent_test[np.maximum(k, 0)], np.nan)
    return out


def plot_anytime(records: list[dict[str, Any]], bench: Benchmark, folder: Path) -> list[Path]:
    """Write one anytime plot (PNG and SVG) per protocol; return the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    by_protocol: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_protocol[r["protocol"]].append(r)
    for protocol, runs in sorted(by_protocol.items()):
        budget, dataset = runs[0]["budget"], runs[0]["dataset"]
        grid = np.linspace(0, budget, 400)
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
        by_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in runs:
            by_agent[r["agent"]].append(r)
        for agent, agent_runs in sorted(by_agent.items()):
            curves = anytime_curves(agent_runs, bench, grid, dataset)
            with warnings.catch_warnings():  # grid points before a run's first evaluation are all-NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(curves, axis=0)
                lo, hi = np.nanpercentile(curves, 25, axis=0), np.nanpercentile(curves, 75, axis=0)
            line = ax.plot(grid, mean, label=f"{agent} (n={len(agent_runs)})")[0]
            ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
        finals = [r["test"].get(dataset) for r in runs if r["test"].get(dataset) is not None]
        ax.set_ylim(max(min(finals) - 2, 0) if finals else None, None)
        ax.set_xlabel("simulated training time (s)")
        ax.set_ylabel(f"{LABELS[dataset]} test accuracy of incumbent (%)")
        ax.set_title(f"{protocol}: mean and 25-75% band over runs ({runs[0]['benchmark']})", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        for suffix in ("png", "svg"):
            path = folder / f"anytime_{protocol.replace('@', '_')}.{suffix}"
            fig.savefig(path)
            files.append(path)
        plt.close(fig)
    return files


def write_report(records: list[dict[str, Any]], folder: Path, store: str) -> str:
    """Write table.md, table.csv and the anytime plots into ``folder``; return the Markdown table."""
    if not records:
        raise ValueError("no finished runs to report")
    folder.mkdir(parents=True, exist_ok=True)
    rows = summarize(records)
    table = markdown_table(rows)
    (folder / "table.md").write_text(table + "\n")
    write_csv(rows, folder / "table.csv")
    plot_anytime(records, Benchmark.open(store), folder)
    log.info("report written to %s\n%s", folder, table)
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="a results .jsonl file of benchmarks.harness.run")
    parser.add_argument("--out", type=Path, default=Path("results/report"))
    parser.add_argument("--store", help="benchmark store (default: $NB201_DATA, the cache dir, then the bundled one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(write_report(read_results(args.results), args.out, str(find_store(args.store))))


if __name__ == "__main__":
    main()
