"""Report statistics: bootstrap intervals, Holm's correction, Mann-Whitney pairs, average ranks, critical difference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.harness import stats

pytest.importorskip("scipy")


def test_bootstrap_interval_of_the_mean_has_the_normal_width_and_is_reproducible():
    values = np.random.default_rng(1).normal(50.0, 2.0, 400)
    lo, hi = stats.bootstrap_mean_ci(values, np.random.default_rng(5))
    assert lo < values.mean() < hi
    assert hi - lo == pytest.approx(2 * 1.96 * values.std(ddof=1) / math.sqrt(400), rel=0.15)
    assert (lo, hi) == stats.bootstrap_mean_ci(values, np.random.default_rng(5))
    assert all(math.isnan(x) for x in stats.bootstrap_mean_ci(np.array([3.0]), np.random.default_rng(0)))


def test_bootstrap_band_leaves_out_runs_without_a_value_yet():
    rng = np.random.default_rng(2)
    curves = rng.normal(0.0, 1.0, (300, 4))
    curves[:, 0] = np.nan  # no run has a value yet
    curves[:150, 1] = np.nan  # half of the runs have one
    mean, lo, hi = stats.bootstrap_band(curves, np.random.default_rng(3))
    assert np.isnan(mean[0]) and np.isnan(lo[0]) and np.isnan(hi[0])
    assert mean[1] == pytest.approx(curves[150:, 1].mean())
    width = hi - lo
    assert width[1] == pytest.approx(2 * 1.96 / math.sqrt(150), rel=0.2)
    assert width[2] == pytest.approx(2 * 1.96 / math.sqrt(300), rel=0.2)
    assert np.all(lo[1:] < mean[1:]) and np.all(mean[1:] < hi[1:])


def test_holm_adjustment_by_hand():
    # sorted: 0.01 x 4 = 0.04; 0.03 x 3 = 0.09; 0.04 x 2 = 0.08 -> kept monotone at 0.09; 0.5 x 1
    assert stats.holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert stats.holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_pairwise_tests_find_a_real_difference_and_not_a_null_one():
    rng = np.random.default_rng(4)
    samples = {"better": rng.normal(1.0, 1.0, 200), "same_a": rng.normal(0, 1, 200), "same_b": rng.normal(0, 1, 200)}
    tests = {(t.first, t.second): t for t in stats.pairwise_tests(samples)}
    assert set(tests) == {("better", "same_a"), ("better", "same_b"), ("same_a", "same_b")}
    assert tests[("better", "same_a")].p_holm < 1e-6 and tests[("better", "same_a")].a12 > 0.7
    assert tests[("same_a", "same_b")].p_holm > 0.05
    t = tests[("better", "same_b")]
    assert t.p_holm >= t.p_value and t.mean_difference == pytest.approx(
        samples["better"].mean() - samples["same_b"].mean()
    )
    # identical constant samples: nothing to test, p = 1 and no warning
    same = stats.pairwise_tests({"a": np.full(5, 93.0), "b": np.full(7, 93.0)})[0]
    assert same.p_value == 1.0 and same.a12 == 0.5


def test_average_ranks_use_common_runs_and_share_ties():
    scores = {
        "a": {0: 90.0, 1: 91.0, 2: 92.0},
        "b": {0: 91.0, 1: 91.0, 2: 90.0},
        "c": {0: 80.0, 1: 80.0, 2: 80.0, 3: 99.0},  # run 3 is not common to all agents
    }
    summary = stats.average_ranks(scores)
    assert summary.runs == 3
    # run 0: b 1, a 2, c 3; run 1: a and b tie at 1.5, c 3; run 2: a 1, b 2, c 3
    assert summary.ranks == pytest.approx({"a": (2 + 1.5 + 1) / 3, "b": (1 + 1.5 + 2) / 3, "c": 3.0})


@pytest.mark.parametrize(("k", "q"), [(2, 1.960), (3, 2.343), (5, 2.728), (10, 3.164)])
def test_critical_difference_matches_demsars_table(k, q):
    scores = {f"agent{i}": {r: float((r * 7 + i * 3) % 11) for r in range(40)} for i in range(k)}
    summary = stats.average_ranks(scores)
    assert summary.critical_difference == pytest.approx(q * math.sqrt(k * (k + 1) / (6 * 40)), abs=2e-3)
