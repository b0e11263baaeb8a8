"""Pareto fronts and hypervolume, all objectives maximized (negate costs first, as the MO env's rewards do)."""

from __future__ import annotations

import numpy as np


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Return which rows are not dominated (maximization); of equal rows only the first is kept."""
    p = np.asarray(points, dtype=np.float64)
    keep = np.ones(len(p), dtype=bool)
    for i in range(len(p)):
        if not keep[i]:
            continue
        others = p[keep]
        dominated = np.all(others >= p[i], axis=1) & np.any(others > p[i], axis=1)
        if dominated.any():
            keep[i] = False
            continue
        # drop later copies of this point and every point it dominates
        beaten = np.all(p[i] >= p, axis=1) & (np.any(p[i] > p, axis=1) | (np.arange(len(p)) > i))
        beaten[i] = False
        keep &= ~beaten
    return keep


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """Return the volume dominated by ``points`` and bounded below by ``reference`` (maximization)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, len(reference))
    p = p[np.all(p > reference, axis=1)] - np.asarray(reference, dtype=np.float64)
    if not len(p):
        return 0.0
    return _volume(p[pareto_mask(p)])


def _volume(p: np.ndarray) -> float:
    """Hypervolume of non-negative points against the origin, by slicing along the last objective."""
    m = p.shape[1]
    if m == 1:
        return float(p.max())
    if m == 2:
        order = np.argsort(-p[:, 0], kind="stable")
        x, y = p[order, 0], p[order, 1]
        gains = np.maximum(0.0, y - np.concatenate([[0.0], np.maximum.accumulate(y)[:-1]]))
        return float(np.sum(x * gains))
    order = np.argsort(-p[:, -1], kind="stable")
    p = p[order]
    heights = np.diff(np.concatenate([p[:, -1], [0.0]])) * -1
    return float(sum(_volume(p[: i + 1, :-1]) * h for i, h in enumerate(heights) if h > 0))


class ParetoFront:
    """The non-dominated points seen so far (maximization), with the architecture of each."""

    def __init__(self, objectives: int) -> None:
        self.objectives = objectives
        self.clear()

    def clear(self) -> None:
        """Forget every point (a new search run)."""
        self.points = np.empty((0, self.objectives), dtype=np.float64)
        self.archs = np.empty(0, dtype=np.int64)

    def add(self, point: np.ndarray, arch: int) -> bool:
        """Add a point unless a point already held is at least as good in every objective; return whether it was."""
        point = np.asarray(point, dtype=np.float64)
        if len(self.points) and np.all(self.points >= point, axis=1).any():
            return False
        kept = ~np.all(point >= self.points, axis=1)  # drop the points it dominates
        self.points = np.vstack([self.points[kept], point])
        self.archs = np.append(self.archs[kept], arch)
        return True

    def __len__(self) -> int:
        return len(self.archs)
