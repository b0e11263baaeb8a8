"""Move around the search space: uniform sampling, single-edge mutation and neighbourhoods.

All functions take and return official indices (ints or int arrays) so that search agents stay in the
canonical encoding; randomness comes only from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import bisect
from functools import cache

import numpy as np

from nb201_env.space import NUM_ARCHS, NUM_EDGES, NUM_OPS, Arch, all_ops, ops_to_index


def sample_indices(rng: np.random.Generator, size: int | None = None) -> int | np.ndarray:
    """Draw architecture indices uniformly at random (one int, or an array of ``size``)."""
    if size is None:
        return int(rng.integers(NUM_ARCHS))
    return rng.integers(NUM_ARCHS, size=size)


def sample_arch(rng: np.random.Generator) -> Arch:
    """Draw one architecture uniformly at random."""
    return Arch(int(rng.integers(NUM_ARCHS)))


@cache
def neighbour_table() -> np.ndarray:
    """Return the read-only ``(15625, 24)`` table of single-edge neighbours (edge-major, ops ascending)."""
    ops = all_ops().astype(np.int64)
    rows = []
    for edge in range(NUM_EDGES):
        for shift in range(1, NUM_OPS):
            changed = ops.copy()
            changed[:, edge] = (changed[:, edge] + shift) % NUM_OPS
            rows.append(ops_to_index(changed))
    table = np.stack(rows, axis=1)
    # sort each row's 4 alternatives per edge by the new op id, so the layout is easy to describe
    table = table.reshape(NUM_ARCHS, NUM_EDGES, NUM_OPS - 1)
    new_ops = all_ops()[table, np.arange(NUM_EDGES)[None, :, None]]
    table = np.take_along_axis(table, np.argsort(new_ops, axis=2, kind="stable"), axis=2)
    table = table.reshape(NUM_ARCHS, NUM_EDGES * (NUM_OPS - 1))
    table.flags.writeable = False
    return table


def neighbours(index: int) -> np.ndarray:
    """Return the 24 architectures that differ from ``index`` in exactly one edge."""
    Arch(index)  # validates the index with a clear error
    return neighbour_table()[index]


# The official NB201 mutation picks a node (1, 2 or 3) uniformly, then one of its incoming edges uniformly:
# edge (1<-0) is chosen with probability 1/3, each edge into node 2 with 1/6, each edge into node 3 with 1/9.
_NB201_EDGE_CDF = np.cumsum([1 / 3, 1 / 6, 1 / 6, 1 / 9, 1 / 9, 1 / 9])
MUTATION_SCHEMES = ("uniform", "nb201")


def mutate(index: int | np.ndarray, rng: np.random.Generator, scheme: str = "uniform") -> int | np.ndarray:
    """Change one edge to a different op chosen uniformly.

    ``scheme="uniform"`` picks the edge uniformly; ``"nb201"`` picks it as the official NB201 REA code does
    (a uniform node, then a uniform incoming edge of that node).
    """
    if isinstance(index, (int, np.integer)):
        return _mutate_one(int(index), rng, scheme)
    idx = np.asarray(index)
    if np.any((idx < 0) | (idx >= NUM_ARCHS)):
        raise ValueError(f"arch index out of range: valid indices are 0..{NUM_ARCHS - 1}, got {index!r}")
    if scheme == "uniform":
        choice = rng.integers(NUM_EDGES * (NUM_OPS - 1), size=idx.shape)
    elif scheme == "nb201":
        edge = np.searchsorted(_NB201_EDGE_CDF, rng.random(idx.shape) * _NB201_EDGE_CDF[-1], side="right")
        choice = np.minimum(edge, NUM_EDGES - 1) * (NUM_OPS - 1) + rng.integers(NUM_OPS - 1, size=idx.shape)
    else:
        raise ValueError(f"unknown mutation scheme {scheme!r}; valid schemes are: {MUTATION_SCHEMES}")
    out = neighbour_table()[idx, choice]
    return int(out) if out.ndim == 0 else out


@cache
def _neighbour_lists() -> list[list[int]]:
    return neighbour_table().tolist()


_NB201_EDGE_CDF_LIST = _NB201_EDGE_CDF.tolist()


def _mutate_one(index: int, rng: np.random.Generator, scheme: str) -> int:
    """Mutate one architecture with scalar Python arithmetic (the hot path of evolution agents)."""
    if not 0 <= index < NUM_ARCHS:
        raise ValueError(f"arch index out of range: valid indices are 0..{NUM_ARCHS - 1}, got {index!r}")
    if scheme == "uniform":
        choice = int(rng.random() * NUM_EDGES * (NUM_OPS - 1))
    elif scheme == "nb201":
        edge = min(bisect.bisect_right(_NB201_EDGE_CDF_LIST, rng.random() * _NB201_EDGE_CDF_LIST[-1]), NUM_EDGES - 1)
        choice = edge * (NUM_OPS - 1) + int(rng.random() * (NUM_OPS - 1))
    else:
        raise ValueError(f"unknown mutation scheme {scheme!r}; valid schemes are: {MUTATION_SCHEMES}")
    return _neighbour_lists()[index][choice]
