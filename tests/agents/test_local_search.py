"""Local search: climbs by single-edge moves, never re-proposes a cell, and ends at local optima."""

from __future__ import annotations

import numpy as np
import pytest

from agents import local_search
from agents.common import run_search
from nb201_env.neighbours import neighbours


def _validation(bench, arch: int) -> float:
    return bench.validation(arch, "cifar10", schedule=12).accuracy


def _is_local_optimum(bench, arch: int) -> bool:
    acc = _validation(bench, arch)
    return all(_validation(bench, n) <= acc for n in neighbours(arch).tolist())


@pytest.mark.parametrize("strategy", ["best", "first"])
def test_returns_a_local_optimum_given_enough_budget(strategy, make_env, public_bench):
    searcher = local_search.LocalSearch(local_search.Args(strategy=strategy), seed=4)
    result = run_search(make_env(budget=40_000.0), searcher, seed=4)
    assert len(searcher.local_optima) >= 2 and result.settings["local_optima"] == len(searcher.local_optima)
    assert all(_is_local_optimum(public_bench, arch) for arch in searcher.local_optima)
    assert result.best_arch in searcher.local_optima and _is_local_optimum(public_bench, result.best_arch)


def test_moves_are_single_edge_changes_and_no_cell_is_proposed_twice(make_env):
    searcher = local_search.LocalSearch(local_search.Args(), seed=5)
    result = run_search(make_env(budget=20_000.0), searcher, seed=5)
    assert len(set(result.archs.tolist())) == result.evaluations
    # best improvement: after the start, the first 24 evaluations are exactly the start's neighbourhood
    start = int(result.archs[0])
    assert sorted(result.archs[1:25].tolist()) == sorted(neighbours(start).tolist())


def test_first_improvement_moves_at_the_first_better_neighbour(make_env, public_bench):
    searcher = local_search.LocalSearch(local_search.Args(strategy="first"), seed=6)
    result = run_search(make_env(budget=5_000.0), searcher, seed=6)
    start, start_acc = int(result.archs[0]), result.valid_accuracy[0]
    scan = result.archs[1:].tolist()
    better = next(i for i, arch in enumerate(scan) if _validation(public_bench, arch) > start_acc)
    assert set(scan[: better + 1]) <= set(neighbours(start).tolist())
    assert np.all(result.valid_accuracy[1 : better + 1] <= start_acc)
    assert scan[better + 1] in neighbours(scan[better]).tolist()  # now climbing from it
