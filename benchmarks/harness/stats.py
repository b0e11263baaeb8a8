"""Statistics of a sweep: bootstrap confidence intervals, pairwise tests with Holm's correction, average ranks.

Every resampling draws from a passed ``numpy.random.Generator``, so a report is reproducible. The tests
come from scipy (the ``[stats]`` extra): Mann-Whitney U between two agents' final scores (two-sided,
independent samples), Friedman over runs that every agent completed (run ``r`` of every agent uses the same
seed), and the Nemenyi critical difference of average ranks (Demsar, JMLR 2006).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

LEVEL = 0.95


def _scipy_stats():
    try:
        from scipy import stats
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("reports with tests need scipy: pip install 'nb201-env[stats]'") from exc
    return stats


def bootstrap_mean_ci(
    values: np.ndarray, rng: np.random.Generator, n_boot: int = 2000, level: float = LEVEL
) -> tuple[float, float]:
    """Return the percentile bootstrap interval of the mean of ``values`` (NaN, NaN for fewer than 2 values)."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 2:
        return math.nan, math.nan
    means = x[rng.integers(len(x), size=(n_boot, len(x)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap_band(
    curves: np.ndarray, rng: np.random.Generator, n_boot: int = 1000, level: float = LEVEL
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (mean, lower, upper) over runs of ``(runs, points)`` curves; NaN (no value yet) is left out.

    The band is the percentile bootstrap interval of the mean at every point, resampling whole runs (as
    multinomial counts, so all resamples are one matrix product).
    """
    curves = np.asarray(curves, dtype=np.float64)
    runs = curves.shape[0]
    present = (~np.isnan(curves)).astype(np.float64)
    filled = np.where(present > 0, curves, 0.0)
    counts = rng.multinomial(runs, np.full(runs, 1.0 / runs), size=n_boot).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / present.sum(axis=0)
        boots = (counts @ filled) / (counts @ present)
    tail = (1 - level) / 2 * 100
    if runs < 2:
        return mean, mean.copy(), mean.copy()
    with np.errstate(invalid="ignore"):
        lo, hi = _nan_percentiles(boots, tail)
    return mean, lo, hi


def _nan_percentiles(boots: np.ndarray, tail: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the lower and upper percentiles per column, NaN for columns with no value in any resample."""
    empty = np.isnan(boots).all(axis=0)
    lo = np.full(boots.shape[1], np.nan)
    hi = lo.copy()
    if (~empty).any():
        lo[~empty], hi[~empty] = np.nanpercentile(boots[:, ~empty], [tail, 100 - tail], axis=0)
    return lo, hi


def holm(pvalues: list[float]) -> list[float]:
    """Return Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out.tolist()


@dataclass(frozen=True)
class PairTest:
    """Mann-Whitney U test of two agents' final scores."""

    first: str
    second: str
    mean_difference: float
    """Mean of ``first`` minus mean of ``second``."""
    a12: float
    """Vargha-Delaney effect size: probability that a run of ``first`` scores above one of ``second``."""
    p_value: float
    p_holm: float
    """Holm-adjusted over all pairs of the comparison."""


def pairwise_tests(samples: dict[str, np.ndarray]) -> list[PairTest]:
    """Return two-sided Mann-Whitney U tests of every pair of agents, Holm-corrected over the pairs."""
    stats = _scipy_stats()
    pairs = [(a, b) for a, b in combinations(sorted(samples), 2) if len(samples[a]) and len(samples[b])]
    raw = []
    for a, b in pairs:
        x, y = np.asarray(samples[a], float), np.asarray(samples[b], float)
        if np.ptp(np.r_[x, y]) == 0:
            raw.append((0.5 * len(x) * len(y), 1.0))  # all values equal: scipy would warn; nothing to test
        else:
            result = stats.mannwhitneyu(x, y, alternative="two-sided")
            raw.append((float(result.statistic), float(result.pvalue)))
    adjusted = holm([p for _, p in raw])
    return [
        PairTest(a, b, float(np.mean(samples[a]) - np.mean(samples[b])), u / (len(samples[a]) * len(samples[b])), p, q)
        for (a, b), (u, p), q in zip(pairs, raw, adjusted)
    ]


@dataclass(frozen=True)
class RankSummary:
    """Average ranks of agents over the runs that all of them completed (rank 1 = best score of a run)."""

    ranks: dict[str, float]
    runs: int
    friedman_p: float
    """Friedman test that all agents rank alike (NaN with fewer than 3 agents or 2 runs)."""
    critical_difference: float
    """Nemenyi critical difference at 0.05: average ranks further apart than this differ significantly."""


def average_ranks(scores: dict[str, dict[int, float]]) -> RankSummary:
    """Rank agents within each common run (higher score = better rank, ties share the mean rank), then average."""
    stats = _scipy_stats()
    agents = sorted(scores)
    common = sorted(set.intersection(*(set(scores[a]) for a in agents))) if agents else []
    common = [r for r in common if all(scores[a][r] is not None for a in agents)]
    if not common:
        return RankSummary({a: math.nan for a in agents}, 0, math.nan, math.nan)
    table = np.array([[scores[a][r] for a in agents] for r in common], dtype=np.float64)
    ranks = stats.rankdata(-table, axis=1)  # average ranks for ties
    k, n = len(agents), len(common)
    friedman = math.nan
    if k >= 3 and n >= 2 and np.ptp(table, axis=1).any():
        friedman = float(stats.friedmanchisquare(*table.T).pvalue)
    cd = math.nan
    if k >= 2:
        q = float(stats.studentized_range.ppf(1 - 0.05, k, np.inf)) / math.sqrt(2)
        cd = q * math.sqrt(k * (k + 1) / (6 * n))
    return RankSummary(dict(zip(agents, ranks.mean(axis=0).tolist())), n, friedman, cd)
