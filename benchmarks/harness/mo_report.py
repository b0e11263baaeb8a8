"""Reports of multi-objective sweeps: hypervolume of the found front against simulated time, Pareto-front plots.

What a run found at time ``t`` is the Pareto front, by **validation** accuracy and the costs, of its
full-fidelity evaluations up to ``t`` (what the env's ``info["pareto_archs"]`` holds). It is scored like
the single-objective reports score the incumbent: by the store's **test** accuracy (and the same costs).
The true front is the Pareto front of all 15,625 architectures on test accuracy and the costs. Each cost
is scaled to [0, 1] between its worst and best value over the space, test accuracy between the *median*
of the space and the best (architectures below the median count for nothing: else the disconnected cells,
at chance accuracy and near-zero cost, would fill most of the volume and every search would score about
0.99). The reference point is the worst of every scaled objective, and the reported figure is the
*hypervolume ratio*: the hypervolume of the found front over that of the true front (1 = the true front).

``python -m benchmarks.harness.report results/mo.jsonl --out results/mo-report`` writes it with the
single-objective tables (so does ``--report`` of a sweep).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness.plots import pyplot, save_figure
from benchmarks.harness.results import LABELS, by_protocol, slug
from benchmarks.harness.stats import average_ranks, bootstrap_band, bootstrap_mean_ci, pairwise_tests
from nb201_env.benchmark import Benchmark
from nb201_env.objectives import ACCURACY
from nb201_env.pareto import ParetoFront, hypervolume, pareto_mask
from nb201_env.space import NUM_ARCHS

log = logging.getLogger("benchmarks.harness")


@dataclass
class Space:
    """Every architecture's objectives for one (store, dataset, objectives): validation and test, scaled."""

    objectives: list[str]
    valid: np.ndarray  # (archs, m), maximized, validation accuracy / 100 and negated costs
    test: np.ndarray  # (archs, m), scaled to [0, 1] by the worst and best over the space, test accuracy
    true_front: np.ndarray  # arch indices of the true front on test accuracy
    true_hv: float

    @classmethod
    def of(cls, bench: Benchmark, dataset: str, objectives: list[str]) -> Space:
        every = np.arange(NUM_ARCHS)
        valid_acc, _ = bench.validation_many(every, dataset)
        test_acc = bench.test_accuracy_many(every, dataset)
        costs = {n: bench.model_cost_table(n, dataset) for n in objectives if n != ACCURACY}
        valid = np.column_stack([valid_acc / 100 if n == ACCURACY else -costs[n] for n in objectives])
        raw = np.column_stack([test_acc if n == ACCURACY else -costs[n] for n in objectives])
        low, high = np.nanmin(raw, axis=0), np.nanmax(raw, axis=0)
        low[objectives.index(ACCURACY)] = np.nanmedian(test_acc)
        test = (raw - low) / np.where(high > low, high - low, 1.0)
        known = ~np.isnan(test).any(axis=1)
        known &= test[:, objectives.index(ACCURACY)] > 0  # above the median accuracy
        front = np.flatnonzero(known)[pareto_mask(test[known])]
        return cls(objectives, valid, test, front, hypervolume(test[front], np.zeros(len(objectives))))

    def ratio(self, archs: np.ndarray) -> float:
        """Return the hypervolume of these architectures on test figures over that of the true front."""
        points = self.test[archs]
        points = points[~np.isnan(points).any(axis=1)]
        return hypervolume(points, np.zeros(len(self.objectives))) / self.true_hv


def run_front(record: dict[str, Any], space: Space, until: float = math.inf) -> np.ndarray:
    """Return the architectures of a run's validation front over its full-fidelity evaluations up to ``until``."""
    traj = record["trajectory"]
    archs = np.asarray(traj["arch"], dtype=np.int64)
    epochs = np.asarray(traj["epoch"], dtype=np.int64)
    use = (np.asarray(traj["time"]) <= until) & (epochs == epochs.max()) if len(archs) else np.zeros(0, bool)
    chosen = archs[use]
    return np.unique(chosen[pareto_mask(space.valid[chosen])]) if len(chosen) else chosen


def hypervolume_curve(record: dict[str, Any], space: Space, grid: np.ndarray) -> np.ndarray:
    """Return the hypervolume ratio of the run's found front at each time of ``grid`` (0 before any evaluation)."""
    traj = record["trajectory"]
    epochs = np.asarray(traj["epoch"], dtype=np.int64)
    front = ParetoFront(len(space.objectives))
    times, values = [0.0], [0.0]
    for t, arch, epoch in zip(traj["time"], traj["arch"], epochs.tolist()):
        if epoch == epochs.max() and front.add(space.valid[arch], arch):
            times.append(t)
            values.append(space.ratio(front.archs))
    k = np.searchsorted(np.asarray(times), grid, side="right") - 1
    return np.asarray(values)[k]


def summarize_mo(records: list[dict[str, Any]], bench: Benchmark, rng: np.random.Generator | None = None) -> str:
    """Return the Markdown table of final hypervolume ratios per (protocol, agent), with ranks and tests."""
    rng = rng if rng is not None else np.random.default_rng(0)
    lines = []
    for protocol, agents in sorted(by_protocol(records).items()):
        first = next(iter(agents.values()))[0]
        space = Space.of(bench, first["dataset"], first["objectives"])
        finals = {a: {int(r["run"]): space.ratio(run_front(r, space)) for r in runs} for a, runs in agents.items()}
        ranks = average_ranks(finals) if len(agents) > 1 else None
        lines += [
            f"### {protocol}: {' vs '.join(space.objectives)} ({first['benchmark']})",
            "",
            f"True front: {len(space.true_front)} architectures (test accuracy on {LABELS[first['dataset']]}).",
            "",
            "| agent | runs | avg rank | hypervolume ratio | front size | evaluations |",
            "|---|---|---|---|---|---|",
        ]
        for agent, runs in sorted(agents.items()):
            values = np.array(list(finals[agent].values()))
            lo, hi = bootstrap_mean_ci(values, rng)
            std = values.std(ddof=1) if len(values) > 1 else math.nan
            cell = f"{values.mean():.3f} ± {std:.3f} [{lo:.3f}, {hi:.3f}]"
            size = np.mean([len(run_front(r, space)) for r in runs])
            rank = f"{ranks.ranks[agent]:.2f}" if ranks else ""
            evaluations = np.mean([r["evaluations"] for r in runs])
            lines.append(f"| {agent} | {len(runs)} | {rank} | {cell} | {size:.1f} | {evaluations:.0f} |")
        if len(agents) > 1:
            lines += ["", "| agent A | agent B | mean A - B | A12 | p (Holm) |", "|---|---|---|---|---|"]
            for t in pairwise_tests({a: np.array(list(v.values())) for a, v in finals.items()}):
                lines.append(f"| {t.first} | {t.second} | {t.mean_difference:+.4f} | {t.a12:.2f} | {t.p_holm:.2g} |")
        lines.append("")
    return "\n".join(lines)


def plot_mo(records: list[dict[str, Any]], bench: Benchmark, folder: Path, rng: np.random.Generator | None = None):
    """Write, per protocol, the hypervolume-ratio-vs-time plot (bootstrap 95% bands) and the Pareto-front plot."""
    plt = pyplot()
    rng = rng if rng is not None else np.random.default_rng(0)
    files = []
    for protocol, agents in sorted(by_protocol(records).items()):
        first = next(iter(agents.values()))[0]
        space = Space.of(bench, first["dataset"], first["objectives"])
        name = slug(protocol)
        grid = np.linspace(0, first["budget"], 300)
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
        for agent, runs in sorted(agents.items()):
            curves = np.array([hypervolume_curve(r, space, grid) for r in runs])
            mean, lo, hi = bootstrap_band(curves, rng)
            line = ax.plot(grid, mean, label=f"{agent} (n={len(runs)})")[0]
            ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_xlabel("simulated training time (s)")
        ax.set_ylabel("hypervolume of found front / true front")
        ax.set_title(f"{protocol}: {' vs '.join(space.objectives)} ({first['benchmark']})", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        files += save_figure(fig, folder, f"hypervolume_{name}")
        plt.close(fig)
        if len(space.objectives) == 2:
            files += _plot_fronts(plt, agents, space, bench, first, folder, name)
    return files


def _plot_fronts(plt: Any, agents: dict, space: Space, bench: Benchmark, first: dict, folder: Path, name: str):
    """Scatter the true front and, per agent, the found front of its median run, on test accuracy and the cost."""
    cost = next(n for n in space.objectives if n != ACCURACY)
    table = bench.model_cost_table(cost, first["dataset"])
    test = bench.test_accuracy_many(np.arange(NUM_ARCHS), first["dataset"])
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    ax.scatter(table, test, s=2, color="0.85", label="all architectures", rasterized=True)
    true = space.true_front[np.argsort(table[space.true_front])]
    label = "true front (test, above the median)"
    ax.step(table[true], test[true], where="post", color="black", linewidth=1, label=label)
    for agent, runs in sorted(agents.items()):
        ratios = [space.ratio(run_front(r, space)) for r in runs]
        median = runs[int(np.argsort(ratios)[len(ratios) // 2])]
        found = run_front(median, space)
        ax.scatter(table[found], test[found], s=14, label=f"{agent}: found front, median run")
    ax.set_xlabel(cost)
    ax.set_ylabel(f"{LABELS[first['dataset']]} test accuracy (%)")
    ax.set_ylim(np.nanmedian(test) - 2, np.nanmax(test) + 0.3)  # the region the hypervolume counts
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    files = save_figure(fig, folder, f"front_{name}")
    plt.close(fig)
    return files


def write_mo_report(records: list[dict[str, Any]], folder: Path, store: str) -> str:
    """Write mo_table.md and the hypervolume and front plots of the multi-objective records into ``folder``."""
    records = [r for r in records if r.get("objectives")]
    if not records:
        raise ValueError("no multi-objective runs to report (records without 'objectives')")
    folder.mkdir(parents=True, exist_ok=True)
    bench = Benchmark.open(store)
    table = summarize_mo(records, bench)
    (folder / "mo_table.md").write_text(table + "\n")
    plot_mo(records, bench, folder)
    log.info("multi-objective report written to %s\n%s", folder, table)
    return table
