"""Plots of a sweep: anytime curves with bootstrap 95% bands, and average-rank (critical difference) diagrams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness.results import LABELS, by_protocol, slug
from benchmarks.harness.stats import bootstrap_band
from benchmarks.harness.summary import anytime_curves, rank_summary
from nb201_env.benchmark import Benchmark


def pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'nb201-env[plot]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, folder: Path, stem: str) -> list[Path]:
    files = []
    for suffix in ("png", "svg"):
        path = folder / f"{stem}.{suffix}"
        fig.savefig(path)
        files.append(path)
    return files


def plot_anytime(
    records: list[dict[str, Any]], bench: Benchmark, folder: Path, rng: np.random.Generator | None = None
) -> list[Path]:
    """Write one anytime plot (PNG and SVG) per protocol: mean test accuracy of the incumbent, bootstrap 95% band."""
    plt = pyplot()
    rng = rng if rng is not None else np.random.default_rng(0)
    files = []
    for protocol, agents in sorted(by_protocol(records).items()):
        runs = [r for agent_runs in agents.values() for r in agent_runs]
        wall = runs[0].get("clock_kind") == "wall"  # weight-sharing runs: measured seconds, no budget
        budget = max(r["clock"] for r in runs) if wall else runs[0]["budget"]
        dataset = runs[0]["dataset"]
        grid = np.linspace(0, budget, 400)
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
        bands = {
            agent: bootstrap_band(anytime_curves(agent_runs, bench, grid, dataset), rng)
            for agent, agent_runs in sorted(agents.items())
        }
        same = coinciding({agent: band[0] for agent, band in bands.items()})
        for i, (agent, (mean, lo, hi)) in enumerate(bands.items()):
            label = f"{agent} (n={len(agents[agent])})"
            style: dict[str, Any] = {}
            if agent in same:  # drawn dashed over the curve it coincides with, so that both stay visible
                label = f"{label[:-1]}; coincides with {same[agent]})"
                style = {"linestyle": (2 * i % 8, (4, 4)), "linewidth": 2.2}
            line = ax.plot(grid, mean, label=label, **style)[0]
            ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
        finals = [r["test"].get(dataset) for r in runs if r["test"].get(dataset) is not None]
        if wall:  # a derived cell can be worse mid-search than at the end: show every epoch's
            finals += [v for r in runs for v in r["trajectory"].get("test", {}).get(dataset, []) if v is not None]
        if finals:
            ax.set_ylim(max(min(finals) - 2, 0), min(max(finals) + 0.3, 100))
        ax.set_xlabel("wall seconds of search" if wall else "simulated training time (s)")
        ax.set_ylabel(f"{LABELS[dataset]} test accuracy of {'derived cell' if wall else 'incumbent'} (%)")
        ax.set_title(f"{protocol}: mean and bootstrap 95% CI over runs ({runs[0]['benchmark']})", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        files += save_figure(fig, folder, f"anytime_{slug(protocol)}")
        plt.close(fig)
    return files


def coinciding(means: dict[str, np.ndarray], tolerance: float = 0.02) -> dict[str, str]:
    """Return each curve that lies on an earlier one (within ``tolerance`` percentage points everywhere, NaN
    alike) -> the first such earlier curve: on a plot one would hide the other."""
    out: dict[str, str] = {}
    names = list(means)
    for i, name in enumerate(names):
        for earlier in names[:i]:
            a, b = means[name], means[earlier]
            if np.array_equal(np.isnan(a), np.isnan(b)) and np.nanmax(np.abs(a - b), initial=0.0) <= tolerance:
                out[name] = out.get(earlier, earlier)
                break
    return out


def plot_skip_share(records: list[dict[str, Any]], folder: Path) -> list[Path]:
    """Write one plot per protocol of weight-sharing runs: the share of ``skip_connect`` edges in each method's
    derived cell per epoch, mean over runs and every run faintly (DARTS's collapse drives it to 1)."""
    plt = pyplot()
    files = []
    for protocol, agents in sorted(by_protocol(records).items()):
        sharing = {a: runs for a, runs in agents.items() if runs[0].get("clock_kind") == "wall"}
        if not sharing:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
        for agent, runs in sorted(sharing.items()):
            shares = [np.asarray(r["trajectory"]["skip_share"], dtype=float) for r in runs]
            epochs = min(len(x) for x in shares)
            x = np.arange(1, epochs + 1)
            line = ax.plot(x, np.mean([s[:epochs] for s in shares], axis=0), label=f"{agent} (n={len(runs)})")[0]
            for share in shares:
                ax.plot(x, share[:epochs], color=line.get_color(), alpha=0.25, linewidth=0.8)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("search epoch")
        ax.set_ylabel("share of skip_connect edges in the derived cell")
        ax.set_title(f"{protocol}: drift of the derived cells (mean over runs; faint: each run)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
        fig.tight_layout()
        files += save_figure(fig, folder, f"skip_share_{slug(protocol)}")
        plt.close(fig)
    return files


def plot_ranks(records: list[dict[str, Any]], folder: Path) -> list[Path]:
    """Write a critical-difference diagram per protocol with at least two agents: average ranks (1 = best), the
    Nemenyi critical difference, and bars joining agents whose ranks are not significantly different."""
    plt = pyplot()
    files = []
    for protocol, agents in sorted(by_protocol(records).items()):
        if len(agents) < 2:
            continue
        summary = rank_summary(agents)
        if summary.runs == 0:
            continue
        order = sorted(summary.ranks, key=summary.ranks.__getitem__)
        ranks = [summary.ranks[a] for a in order]
        k, cd = len(order), summary.critical_difference
        fig, ax = plt.subplots(figsize=(7, 1.2 + 0.28 * k), dpi=120)
        ax.set_xlim(1, k)
        ax.set_ylim(-k - 1, 1.6)
        ax.axhline(0, color="black", linewidth=1)
        for i, (agent, rank) in enumerate(zip(order, ranks)):
            y = -(i + 1)
            ax.plot([rank, rank], [0, y], color="0.4", linewidth=0.8)
            ax.plot([rank], [0], "o", color="black", markersize=3)
            ax.text(k + 0.05 if i >= k / 2 else 0.95, y, f"{agent} ({rank:.2f})", va="center",
                    ha="left" if i >= k / 2 else "right", fontsize=8)  # fmt: skip
            ax.plot([rank, k if i >= k / 2 else 1], [y, y], color="0.4", linewidth=0.8)
        ax.plot([1, 1 + cd], [1.1, 1.1], color="red", linewidth=2)
        ax.text(1 + cd / 2, 1.25, f"CD = {cd:.2f}", ha="center", fontsize=8, color="red")
        # not significantly different: maximal runs of agents within one CD of each other
        start_of_last, offset = -1, 0
        for i in range(k):
            j = max(m for m in range(i, k) if ranks[m] - ranks[i] < cd)
            if j > i and j > start_of_last:
                offset += 1
                ax.plot([ranks[i] - 0.03, ranks[j] + 0.03], [0.25 + 0.18 * (offset % 4)] * 2, linewidth=3, color="C0")
                start_of_last = j
        ax.set_xticks(range(1, k + 1))
        ax.xaxis.set_ticks_position("top")
        ax.set_yticks([])
        for spine in ("left", "right", "bottom"):
            ax.spines[spine].set_visible(False)
        ax.set_title(f"{protocol}: average rank over {summary.runs} runs (1 = best)", fontsize=9, pad=18)
        fig.tight_layout()
        files += save_figure(fig, folder, f"ranks_{slug(protocol)}")
        plt.close(fig)
    return files
