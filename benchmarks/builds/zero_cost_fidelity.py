"""Print each zero-cost proxy's rank fidelity to NB201's 200-epoch CIFAR-10 test accuracy, and its cost.

Reads zero-cost score caches (``nb201 build-zero-cost --cache``, or sample builds of
:class:`nb201_env.zero_cost.build.BuildConfig`) and prints, as a markdown table on stdout, for every proxy:
how many architectures it was scored on, |Spearman| and Kendall tau against NB201's 200-epoch CIFAR-10 test
accuracy (mean of the seeds, from the default benchmark ``nb201-public``), the published figure beside it, the
Spearman between the scores of two seeds on the same architectures (``--seed-pair``), and the median CPU seconds
of one score, and the Spearman with the NASWOT authors' published first-version scores (``--published-v1``,
the CSV in ``../shared/nb201``), an outside check of our ``naswot_v1`` and ``jacob_cov``. A full build's group
proxies are spread to every member of their score group first, so that its figures are over architectures, as
the published ones are.

    python -m benchmarks.builds.zero_cost_fidelity --cache zc.sqlite
    python -m benchmarks.builds.zero_cost_fidelity --cache sample_seed0.sqlite --seed-pair sample_seed1.sqlite \
        --published-v1 ../shared/nb201/naswot_score_v1_cifar10.csv
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

import numpy as np

from benchmarks.common import read_column, spearman
from nb201_env.benchmark import Benchmark
from nb201_env.space import NUM_ARCHS
from nb201_env.zero_cost.build import CLASS_PROXIES, group_representatives, score_groups
from nb201_env.zero_cost.spec import KNOWN_PROXIES

# Abdelfattah et al., ICLR 2021, Table 1 (NAS-Bench-201, CIFAR-10, all 15,625 architectures): Spearman rho vs
# the 200-epoch test accuracy. naswot_v1 is the score Abdelfattah et al. evaluate as jacob_cov; the ICML 2021 naswot
# has no Spearman over all cells in its paper, so none is shown.
PUBLISHED = {
    "synflow": 0.737,
    "jacob_cov": 0.731,
    "snip": 0.596,
    "grad_norm": 0.594,
    "grasp": 0.514,
    "fisher": 0.36,
    "naswot_v1": 0.731,
}


def read_cache(path: Path) -> dict[str, dict[int, tuple[float, float, float]]]:
    """Return ``{proxy: {arch: (score, cpu_s, wall_s)}}`` of the one build whose scores a cache file holds."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        builds = [row[0] for row in db.execute("SELECT DISTINCT build FROM scores")]
        if len(builds) != 1:
            raise SystemExit(f"{path}: holds scores of {len(builds)} builds; this script reads files of one build")
        rows = db.execute("SELECT arch, proxy, score, cpu_s, wall_s FROM scores WHERE build = ?", builds)
        out: dict[str, dict[int, tuple[float, float, float]]] = {}
        for arch, proxy, score, cpu, wall in rows:
            out.setdefault(proxy, {})[int(arch)] = (np.nan if score is None else float(score), float(cpu), float(wall))
    return out


def spread(scores: dict[int, tuple[float, float, float]], proxy: str) -> dict[int, tuple[float, float, float]]:
    """Give every member of a scored group representative's group its score (group proxies of a full build)."""
    reps, groups = group_representatives(), score_groups()
    if proxy not in CLASS_PROXIES or not set(scores) <= set(reps.tolist()):  # a sample build scores its cells
        return scores
    return {a: scores[int(reps[groups[a]])] for a in range(NUM_ARCHS) if int(reps[groups[a]]) in scores}


def kendall(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import kendalltau  # the [stats] extra; tau-b, O(n log n)

    return float(kendalltau(a, b).statistic)


def read_published_v1(path: Path) -> np.ndarray:
    """Return the NASWOT authors' first-version score of every architecture (NaN where they published none)."""
    return read_column(path, "naswot_score_v1")


def fidelity_rows(
    cache: dict[str, dict[int, tuple[float, float, float]]],
    pair: dict[str, dict[int, tuple[float, float, float]]] | None,
    accuracy: np.ndarray,
    published_v1: np.ndarray | None = None,
) -> list[str]:
    """Return the markdown rows of the table, one per proxy in the cache."""
    rows = []
    for proxy in [p for p in KNOWN_PROXIES if p in cache]:
        scores = spread(cache[proxy], proxy)
        archs = np.array(sorted(scores))
        s = np.array([scores[a][0] for a in archs])
        cost = np.median([v[1] for v in cache[proxy].values()])
        ok = np.isfinite(s)  # undefined scores: left out here, and ranked last (as the evaluator ranks them) below
        rho = abs(spearman(s[ok], accuracy[archs[ok]]))
        last = np.where(ok, s, np.min(s[ok], initial=0.0) - 1.0)
        rho_last = abs(spearman(last, accuracy[archs]))
        tau = kendall(s[ok], accuracy[archs[ok]])
        seeds = ""
        if pair is not None and proxy in pair:
            common = [a for a in archs if a in pair[proxy]]
            x = np.array([scores[a][0] for a in common])
            y = np.array([pair[proxy][a][0] for a in common])
            both = np.isfinite(x) & np.isfinite(y)
            seeds = f"{spearman(x[both], y[both]):.3f} (n={both.sum()})"
        published = f"{PUBLISHED[proxy]:.3f}" if proxy in PUBLISHED else ""
        v1 = ""
        if published_v1 is not None:
            both = ok & np.isfinite(published_v1[archs])
            v1 = f"{spearman(s[both], published_v1[archs][both]):.3f}"
        rows.append(
            f"| {proxy} | {ok.sum()} | {len(s) - ok.sum()} | {rho:.3f} | {rho_last:.3f} | {tau:+.3f} | {published} | "
            f"{seeds} | {cost:.3f} | {v1} |"
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="a zero-cost score cache (SQLite)")
    parser.add_argument("--seed-pair", type=Path, help="a cache of the same architectures scored with another seed")
    parser.add_argument("--store", default="nb201-public", help="the benchmark with 200-epoch test accuracies")
    parser.add_argument("--published-v1", type=Path, help="naswot_score_v1_cifar10.csv of ../shared/nb201")
    args = parser.parse_args(argv)
    accuracy = Benchmark.open(args.store).test_accuracy_many(np.arange(NUM_ARCHS), "cifar10", schedule=200)
    pair = read_cache(args.seed_pair) if args.seed_pair else None
    v1 = read_published_v1(args.published_v1) if args.published_v1 else None
    print(
        "| proxy | scored | undefined | abs Spearman | abs Spearman, undefined last | Kendall tau | published Spearman "
        "| seed-to-seed Spearman "
        "| median CPU s | Spearman vs NASWOT v1 published |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(fidelity_rows(read_cache(args.cache), pair, accuracy, v1)))
    if v1 is not None:
        ok = np.isfinite(v1)
        rho = abs(spearman(v1[ok], accuracy[ok]))
        print(f"\nNASWOT's published v1 scores themselves: |Spearman| {rho:.3f} over {ok.sum()} architectures")


if __name__ == "__main__":
    main()
