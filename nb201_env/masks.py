"""Action masks: which op choices still allow a cell whose output is connected to its input.

A cell whose output node cannot be reached from the input through non-``none`` edges outputs zeros,
so every such architecture scores chance accuracy. Masks computed here forbid exactly the choices after
which no completion of the cell can be connected.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from nb201_env.space import NONE, NUM_ARCHS, NUM_EDGES, NUM_OPS, all_ops, lexicographic_tables


def connected(ops: np.ndarray) -> np.ndarray:
    """Return whether the output is reachable from the input, for op ids of shape ``(..., 6)``."""
    live = ops != NONE
    node1 = live[..., 0]
    node2 = live[..., 1] | (node1 & live[..., 2])
    return live[..., 3] | (node1 & live[..., 4]) | (node2 & live[..., 5])


@cache
def connected_by_index() -> np.ndarray:
    """Return the read-only per-architecture connectivity, in official index order."""
    out = connected(all_ops())
    out.flags.writeable = False
    return out


@cache
def prefix_tables() -> tuple[np.ndarray, ...]:
    """Return, for k = 0..6, whether some completion of each k-op prefix (lexicographic code) connects."""
    code_of_index = lexicographic_tables()[0]
    by_code = np.empty(NUM_ARCHS, dtype=bool)
    by_code[code_of_index] = connected_by_index()
    grid = by_code.reshape((NUM_OPS,) * NUM_EDGES)
    tables = []
    for k in range(NUM_EDGES + 1):
        reduced = grid.any(axis=tuple(range(k, NUM_EDGES))) if k < NUM_EDGES else grid
        tables.append(np.ascontiguousarray(reduced).reshape(-1))
    return tuple(tables)


def mask_after(prefix_code: int | np.ndarray, position: int) -> np.ndarray:
    """Return the ``(..., 5)`` mask of allowed ops for edge ``position`` given the prefix code so far."""
    table = prefix_tables()[position + 1]
    codes = np.asarray(prefix_code)[..., None] * NUM_OPS + np.arange(NUM_OPS)
    return table[codes]
