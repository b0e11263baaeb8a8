"""Pareto fronts and hypervolume (maximization) against brute force and hand-computed volumes."""

from __future__ import annotations

import numpy as np
import pytest

from nb201_env.pareto import ParetoFront, hypervolume, pareto_mask


def _brute_front(p: np.ndarray) -> np.ndarray:
    return np.array([not any(np.all(q >= x) and np.any(q > x) for q in p) for x in p])


@pytest.mark.parametrize("m", [2, 3])
def test_mask_and_incremental_front_equal_brute_force(m):
    p = np.random.default_rng(m).integers(0, 12, size=(150, m)).astype(float)  # many ties and copies
    mask = pareto_mask(p)
    brute = _brute_front(p)
    assert mask.sum() == len({tuple(x) for x in p[brute]})  # one of each equal point
    assert {tuple(x) for x in p[mask]} == {tuple(x) for x in p[brute]}
    front = ParetoFront(m)
    for i, x in enumerate(p):
        front.add(x, i)
    assert sorted(front.archs.tolist()) == np.flatnonzero(mask).tolist()  # the first copy of each point stays


def test_front_rejects_weakly_dominated_points_and_drops_the_points_a_new_one_dominates():
    front = ParetoFront(2)
    assert front.add(np.array([0.9, -10.0]), 1) and front.add(np.array([0.8, -5.0]), 2)
    assert not front.add(np.array([0.9, -10.0]), 3)  # equal to a held point
    assert not front.add(np.array([0.85, -10.0]), 4)
    assert front.add(np.array([0.95, -5.0]), 5)  # dominates both
    assert front.archs.tolist() == [5] and len(front) == 1
    front.clear()
    assert len(front) == 0 and front.points.shape == (0, 2)


def test_hypervolume_of_rectangles_by_hand():
    ref = np.array([0.0, -10.0])
    assert hypervolume(np.array([[1.0, -5.0]]), ref) == pytest.approx(5.0)
    # union of [0,1]x[-10,-5] and [0,0.5]x[-10,-2]: 5 + 0.5 * 3
    assert hypervolume(np.array([[1.0, -5.0], [0.5, -2.0], [0.4, -6.0]]), ref) == pytest.approx(6.5)
    assert hypervolume(np.array([[1.0, -11.0]]), ref) == 0.0  # not better than the reference in every objective
    cube = hypervolume(np.array([[1.0, 1.0, 1.0], [2.0, 0.5, 0.5]]), np.zeros(3))
    assert cube == pytest.approx(1.0 + 1.0 * 0.5 * 0.5)


def test_hypervolume_agrees_with_monte_carlo_in_three_objectives():
    rng = np.random.default_rng(0)
    p = rng.random((60, 3))
    samples = rng.random((200_000, 3))
    covered = np.zeros(len(samples), dtype=bool)
    for x in p:
        covered |= np.all(samples <= x, axis=1)
    assert hypervolume(p, np.zeros(3)) == pytest.approx(covered.mean(), abs=0.005)
