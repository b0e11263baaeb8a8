"""Summaries of a sweep: final test accuracy per agent and dataset (mean +/- std, bootstrap 95% CI of the mean,
average rank), pairwise Mann-Whitney U tests with Holm's correction, as Markdown and CSV; anytime curves.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness.results import LABELS, by_protocol
from benchmarks.harness.stats import RankSummary, average_ranks, bootstrap_mean_ci, pairwise_tests
from nb201_env.benchmark import Benchmark
from nb201_env.names import SEARCH_DATASETS
from nb201_env.protocols import PROTOCOLS

# NB201 paper (Dong & Yang, ICLR 2020), Table 5: test accuracy (%) of the architecture found by each
# baseline searching CIFAR-10 validation for 12,000 s, mean +/- std over 500 runs: shown beside a row only when
# the row ran that protocol (paper_protocol) on recorded NB201 figures.
PUBLISHED_NB201: dict[str, dict[str, tuple[float, float]]] = {
    "rea": {"cifar10": (93.92, 0.30), "cifar100": (71.84, 0.99), "ImageNet16-120": (45.54, 1.03)},
    "random": {"cifar10": (93.70, 0.36), "cifar100": (71.04, 1.07), "ImageNet16-120": (44.57, 1.25)},
    "reinforce": {"cifar10": (93.85, 0.37), "cifar100": (71.71, 1.09), "ImageNet16-120": (45.24, 1.18)},
    "bohb": {"cifar10": (93.61, 0.52)},
    # the weight-sharing rows of the same table (CIFAR-10 test; the ICLR 2020 version of the paper): DARTS and
    # ENAS end in the same all-skip cell in every run, hence their zero spread
    "rsps": {"cifar10": (87.66, 1.69)},
    "darts_v1": {"cifar10": (54.30, 0.00)},
    "darts_v2": {"cifar10": (54.30, 0.00)},
    "gdas": {"cifar10": (93.51, 0.13)},
    "setn": {"cifar10": (86.19, 4.63)},
    "enas": {"cifar10": (54.30, 0.00)},
}
PAPER_SPLITS: dict[str, str] = {"cifar10": "ori-test", "cifar100": "x-test", "ImageNet16-120": "x-test"}
"""The test splits of the paper's Table 5 (CIFAR-10 trained on all 50k images, tested on its test set)."""


PAPER_NOTE = (
    " (paper ...): the NB201 paper's Table 5 (for naswot_N: NASWOT's Table 2), shown beside runs of its protocol "
    "only (CIFAR-10 validation, 12,000 s, nb201 rule, recorded figures; weight-sharing rows: one supernet search on "
    "cifar10-valid, at NB201's full scale in the paper, at the row's scale here)."
)


def paper_protocol(record: dict[str, Any]) -> bool:
    """Return whether a record ran the NB201 paper's protocol: the ``nb201`` preset's dataset, budget and rule,
    one sequential search (no objectives, no simulated workers), on recorded figures (not a proxy table)."""
    paper = PROTOCOLS["nb201"]
    base = record["protocol"].split("@")[0]
    wall = record.get("clock_kind") == "wall"  # a weight-sharing search: the paper's rows ran one, on a GPU
    return (
        base == paper.name
        and (record["dataset"], record["budget"], record["rule"])
        == ((paper.dataset, None, None) if wall else (paper.dataset, paper.budget, paper.rule))
        and not record.get("objectives")
        and record.get("workers") is None
        and record.get("benchmark_kind", "recorded") == "recorded"
    )


# NASWOT (Mellor et al., ICML 2021), Table 2: CIFAR-10 test accuracy (200 epochs) of the cell with the best score
# among N random cells, mean +/- std over 500 runs; no time budget (the search trains nothing).
PUBLISHED_NASWOT: dict[str, dict[str, tuple[float, float]]] = {
    "naswot_10": {"cifar10": (92.44, 1.13)},
    "naswot_100": {"cifar10": (92.81, 0.99)},
    "naswot_1000": {"cifar10": (92.96, 0.81)},
}
PUBLISHED: dict[str, dict[str, tuple[float, float]]] = {**PUBLISHED_NB201, **PUBLISHED_NASWOT}


def _finals(runs: list[dict[str, Any]], dataset: str) -> np.ndarray:
    return np.array([r["test"][dataset] for r in runs if r["test"].get(dataset) is not None], dtype=float)


def rank_summary(agents: dict[str, list[dict[str, Any]]]) -> RankSummary:
    """Average ranks of the agents of one protocol by test accuracy on the searched dataset, over common runs."""
    return average_ranks(
        {agent: {int(r["run"]): r["test"].get(r["dataset"]) for r in runs} for agent, runs in agents.items()}
    )


def summarize(records: list[dict[str, Any]], rng: np.random.Generator | None = None) -> list[dict[str, Any]]:
    """Return one row per (protocol, agent): runs, average rank, test accuracy per dataset, effort.

    Per dataset: mean, std and the bootstrap 95% CI of the mean (resampled with ``rng``; default seed 0, so
    a report is reproducible). The rank is the agent's average rank by test accuracy on the searched dataset
    over the runs that every agent of the protocol completed (``rank_runs``).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    rows = []
    for protocol, agents in sorted(by_protocol(records).items()):
        ranks = rank_summary(agents) if len(agents) > 1 else None
        for agent, runs in sorted(agents.items()):
            row: dict[str, Any] = {
                "protocol": protocol,
                "agent": agent,
                "runs": len(runs),
                "rank": ranks.ranks[agent] if ranks else math.nan,
                "rank_runs": ranks.runs if ranks else 0,
                "benchmark": ", ".join(sorted({r["benchmark"] for r in runs})),
                "kind": runs[0].get("benchmark_kind", "recorded"),
                "budget": runs[0]["budget"],
                "paper_protocol": all(paper_protocol(r) for r in runs),  # else the paper's figures do not apply
                # an agent that fell back to another (BOHB with one fidelity is TPE) is not the paper's agent
                "degraded": next(
                    (str(r["settings"]["degraded"]) for r in runs if r.get("settings", {}).get("degraded")), ""
                ),
            }
            for dataset in SEARCH_DATASETS:
                values = _finals(runs, dataset)
                row[f"{dataset}_mean"] = float(values.mean()) if len(values) else math.nan
                row[f"{dataset}_std"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
                row[f"{dataset}_ci_low"], row[f"{dataset}_ci_high"] = bootstrap_mean_ci(values, rng)
                splits = sorted({r["test_split"][dataset] for r in runs if dataset in r.get("test_split", {})})
                row[f"{dataset}_split"] = "/".join(splits)  # the split the test figures were read from
            row["valid_mean"] = float(np.mean([r["best_valid"] for r in runs if r["best_valid"] is not None]))
            row["evaluations_mean"] = float(np.mean([r["evaluations"] for r in runs]))
            row["clock_mean"] = float(np.mean([r["clock"] for r in runs]))
            rows.append(row)
    return rows


def _pm(row: dict[str, Any], dataset: str) -> str:
    mean, std = row[f"{dataset}_mean"], row[f"{dataset}_std"]
    if math.isnan(mean):
        return "n/a"
    text = f"{mean:.2f} ± {std:.2f}" if not math.isnan(std) else f"{mean:.2f}"
    low, high = row[f"{dataset}_ci_low"], row[f"{dataset}_ci_high"]
    return text if math.isnan(low) else f"{text} [{low:.2f}, {high:.2f}]"


def _split_label(rows: list[dict[str, Any]], dataset: str) -> str:
    splits = {row.get(f"{dataset}_split", "") for row in rows} - {""}
    return splits.pop() if len(splits) == 1 else ""


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Format the summary as a Markdown table (the paper's figures beside rows that ran the paper's protocol).

    A column header names the test split its figures were read from; a paper figure on another split says
    its own, and an agent that degraded into another (``settings["degraded"]``) gets no paper figure.
    """
    labels = {d: _split_label(rows, d) for d in SEARCH_DATASETS}
    header = [
        "protocol",
        "agent",
        "runs",
        "avg rank",
        *(f"{LABELS[d]} test" + (f" ({labels[d]})" if labels[d] else "") for d in SEARCH_DATASETS),
        "evaluations",
        "benchmark",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    notes: dict[str, str] = {}
    for row in rows:
        cells = []
        for d in SEARCH_DATASETS:
            comparable = row["paper_protocol"] and not row["degraded"]
            paper = PUBLISHED.get(row["agent"], {}).get(d) if comparable else None
            ours = row.get(f"{d}_split") or labels[d]
            other = f"{PAPER_SPLITS[d]} " if ours and ours != PAPER_SPLITS[d] else ""
            if paper and other:
                notes["split"] = (
                    "The paper's figures are x-test for CIFAR-100 and ImageNet16-120; where a column reads "
                    "ori-test (the store holds no x-test of every architecture) the two are not like for like."
                )
            cells.append(_pm(row, d) + (f" (paper {other}{paper[0]:.2f} ± {paper[1]:.2f})" if paper else ""))
        agent = row["agent"]
        if row["degraded"]:
            agent += " (degraded)"
            notes[row["agent"]] = (
                f"{row['agent']} (degraded): {row['degraded']}; not the paper's {row['agent']}, so no paper figure."
            )
        rank = "" if math.isnan(row["rank"]) else f"{row['rank']:.2f}"
        fields = [row["protocol"], agent, str(row["runs"]), rank, *cells]
        lines.append("| " + " | ".join([*fields, f"{row['evaluations_mean']:.0f}", row["benchmark"]]) + " |")
    lines.append("")
    lines.append(
        "mean ± std [bootstrap 95% CI of the mean]; avg rank: mean rank by test accuracy on the searched dataset "
        "(1 = best) over the runs every agent of the protocol completed."
        + (
            PAPER_NOTE
            if any(r["paper_protocol"] and not r["degraded"] and r["agent"] in PUBLISHED for r in rows)
            else ""
        )
    )
    lines += list(notes.values())
    return "\n".join(lines)


def markdown_tests(records: list[dict[str, Any]], alpha: float = 0.05) -> str:
    """Format, per protocol, the Friedman test, the critical difference and pairwise Mann-Whitney U tests."""
    out = []
    for protocol, agents in sorted(by_protocol(records).items()):
        if len(agents) < 2:
            continue
        dataset = next(iter(agents.values()))[0]["dataset"]
        ranks = rank_summary(agents)
        friedman = "n/a" if math.isnan(ranks.friedman_p) else f"{ranks.friedman_p:.2g}"
        out += [
            f"### {protocol}: {LABELS[dataset]} test accuracy",
            "",
            f"Friedman p = {friedman} over {ranks.runs} common runs; Nemenyi critical difference of average "
            f"ranks {ranks.critical_difference:.2f} (alpha 0.05).",
            "",
            "| agent A | agent B | mean A - B | A12 | p | p (Holm) | significant |",
            "|---|---|---|---|---|---|---|",
        ]
        for t in pairwise_tests({agent: _finals(runs, dataset) for agent, runs in agents.items()}):
            verdict = ("A better" if t.mean_difference > 0 else "B better") if t.p_holm < alpha else "no"
            out.append(
                f"| {t.first} | {t.second} | {t.mean_difference:+.3f} | {t.a12:.2f} | {t.p_value:.2g} "
                f"| {t.p_holm:.2g} | {verdict} |"
            )
        out.append("")
    if out:
        out.append(
            "Two-sided Mann-Whitney U on final test accuracy, Holm-corrected over the pairs of each protocol; "
            "A12 = probability that a run of A beats a run of B."
        )
    return "\n".join(out)


def drift_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one row per (protocol, agent) of weight-sharing runs: epochs, wall and CPU seconds per epoch (the
    search process's CPU time: on a shared machine the wall clock also counts other processes), the mean share
    of ``skip_connect`` in the derived cells at five points of the search, and the final cells."""
    rows = []
    for protocol, agents in sorted(by_protocol(records).items()):
        for agent, runs in sorted(agents.items()):
            if runs[0].get("clock_kind") != "wall":
                continue
            shares = [np.asarray(r["trajectory"]["skip_share"], dtype=float) for r in runs]
            epochs = min(len(x) for x in shares)
            points = sorted({0, epochs // 4, epochs // 2, (3 * epochs) // 4, epochs - 1}) if epochs else []
            rows.append(
                {
                    "protocol": protocol,
                    "agent": agent,
                    "runs": len(runs),
                    "epochs": epochs,
                    "seconds_per_epoch": float(np.mean([r.get("seconds_per_epoch") or math.nan for r in runs])),
                    "cpu_seconds_per_epoch": float(
                        np.mean([np.mean(r["settings"]["per_epoch"]["cpu_seconds"]) for r in runs])
                    ),
                    "skip_share": {p + 1: float(np.mean([x[p] for x in shares])) for p in points},
                    "final_cells": [int(r["best_arch"]) for r in runs],
                }
            )
    return rows


def markdown_drift(records: list[dict[str, Any]]) -> str:
    """Format :func:`drift_rows` as Markdown: how the derived cells drift toward skip connections, per method."""
    lines = []
    for row in drift_rows(records):
        shares = ", ".join(f"{e}: {v:.2f}" for e, v in row["skip_share"].items())
        cells = ", ".join(str(c) for c in row["final_cells"])
        lines.append(
            f"| {row['protocol']} | {row['agent']} | {row['runs']} | {row['epochs']} | "
            f"{row['seconds_per_epoch']:.1f} | {row['cpu_seconds_per_epoch']:.1f} | {shares} | {cells} |"
        )
    if not lines:
        return ""
    header = (
        "| protocol | agent | runs | epochs | wall s / epoch | CPU s / epoch "
        "| skip_connect share (epoch: mean over runs) | final cells |"
    )
    return "\n".join([header, "|---|---|---|---|---|---|---|---|", *lines])


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """Write the summary rows as CSV."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def anytime_curves(
    records: list[dict[str, Any]], bench: Benchmark, grid: np.ndarray, dataset: str, schedule: int | None = None
) -> np.ndarray:
    """Return ``(runs, len(grid))``: test accuracy of each run's incumbent over time: the best by validation
    so far, or, for a record with ``incumbent = "last"`` (weight-sharing searches), the last derived cell.

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
        if r.get("incumbent") == "last":
            best_pos = np.arange(len(archs))
        else:
            running = np.maximum.accumulate(valid)
            improved = np.r_[True, running[1:] > running[:-1]]  # the first evaluation reaching a new best
            best_pos = np.maximum.accumulate(np.where(improved, np.arange(len(valid)), 0))
        incumbent_test = bench.test_accuracy_many(archs[best_pos], dataset, schedule=schedule)
        k = np.searchsorted(np.asarray(traj["time"]), grid, side="right") - 1
        out[i] = np.where(k >= 0, incumbent_test[np.maximum(k, 0)], np.nan)
    return out
