"""What each search run has evaluated, with the first accuracy of each: memory grows with the evaluations.

A run answers a repeated architecture from its first result (:mod:`nb201_env.search_runs`), so it must
remember the (run, architecture) pairs it evaluated. A dense ``(runs, 15625)`` table costs 15,625 bytes per
run before the first step (and 8 bytes more per pair for the accuracies); these sets hold only what was
evaluated. Keys are ``run * 15625 + arch``.

* :class:`EvaluatedDict` (one run: the single envs, the multi-worker simulation) is a Python dict: one lookup
  per evaluation at dict speed;
* :class:`EvaluatedTable` (many runs: the vector envs) is an open-addressing hash table in numpy arrays
  (linear probing), looked up and filled for all runs at once with array operations; it grows fourfold when
  half full.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from nb201_env.space import NUM_ARCHS

__all__ = ["EvaluatedDict", "EvaluatedTable", "evaluated_set"]

_EMPTY = -1
_GOLDEN = np.int64(-0x61C8864680B583EB)  # 0x9E3779B97F4A7C15 as int64: Fibonacci hashing spreads consecutive keys


class EvaluatedDict:
    """The evaluated (run, arch) pairs of a few runs in a dict: key -> first accuracy."""

    def __init__(self) -> None:
        self._first: dict[int, float] = {}

    def get(self, key: int) -> float | None:
        """Return the first accuracy of ``key``, or ``None`` if it was not evaluated."""
        return self._first.get(key)

    def add(self, key: int, accuracy: float) -> None:
        """Remember the first accuracy of a key not evaluated before."""
        self._first[key] = accuracy

    def find_or_add(self, keys: np.ndarray, accuracies: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Return (evaluated before, first accuracies) of distinct keys; remember ``accuracies`` of the new ones."""
        first = self._first
        found, values = [], []
        for key, accuracy in zip(keys.tolist(), accuracies.tolist()):
            held = first.get(key)
            if held is None:
                first[key] = held = accuracy
            found.append(held is not accuracy)
            values.append(held)
        return np.array(found, dtype=bool), np.array(values, dtype=np.float64)

    def forget(self, rows: np.ndarray | None = None) -> None:
        """Forget everything, or the keys of the runs where ``rows`` (a bool mask) is true."""
        if rows is None:
            self._first.clear()
        else:
            self._first = {k: v for k, v in self._first.items() if not rows[k // NUM_ARCHS]}

    def __len__(self) -> int:
        return len(self._first)

    @property
    def nbytes(self) -> int:
        """Bytes held: the dict and its int keys and float values."""
        return sys.getsizeof(self._first) + len(self._first) * (28 + 24)


class EvaluatedTable:
    """The evaluated (run, arch) pairs of many runs in a numpy hash table: key -> first accuracy.

    With ``values=False`` only the keys are kept (a table lookup gives a repeat's first result again).
    """

    def __init__(self, capacity: int = 1024, values: bool = True) -> None:
        self._initial = max(16, 1 << (int(capacity) - 1).bit_length())
        self._with_values = values
        self._allocate(self._initial)

    def _allocate(self, capacity: int) -> None:
        self._keys = np.full(capacity, _EMPTY, dtype=np.int64)
        self._values = np.empty(capacity if self._with_values else 0, dtype=np.float64)
        self._count = 0
        self._shift = np.uint64(64 - (capacity.bit_length() - 1))
        self._mask = capacity - 1

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        product = keys * _GOLDEN  # wraps around, as the hash wants
        return (product.view(np.uint64) >> self._shift).view(np.int64)

    def find_or_add(self, keys: np.ndarray, accuracies: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Return (evaluated before, first accuracies or ``None`` without values) of distinct keys; remember
        ``accuracies`` of the new ones. One probe sequence per key does both."""
        keys = np.asarray(keys, dtype=np.int64)
        if (self._count + len(keys)) * 2 > len(self._keys):
            self._grow(self._count + len(keys))
        found = np.zeros(len(keys), dtype=bool)
        first = np.array(accuracies, dtype=np.float64) if self._with_values else None
        self._probe(keys, first, found)
        self._count += len(keys) - int(found.sum())
        return found, first

    def _probe(self, keys: np.ndarray, first: np.ndarray | None, found: np.ndarray | None) -> None:
        """Find each key or put it in the first empty slot of its probe sequence (with ``first``'s value)."""
        table, values = self._keys, self._values
        slot = self._slots(keys)
        todo = np.arange(len(keys))
        while len(todo):
            held = table[slot]
            hit = held == keys
            if found is not None and hit.any():
                found[todo[hit]] = True
                if first is not None:
                    first[todo[hit]] = values[slot[hit]]
            empty = held == _EMPTY
            table[slot[empty]] = keys[empty]  # several keys may claim one slot: exactly one write stays
            placed = hit | (empty & (table[slot] == keys))
            if first is not None:
                won = placed & ~hit
                values[slot[won]] = first[todo[won]]
            more = ~placed  # a slot of another key: probe the next one
            todo, keys, slot = todo[more], keys[more], (slot[more] + 1) & self._mask

    def _live(self) -> tuple[np.ndarray, np.ndarray | None]:
        live = self._keys != _EMPTY
        return self._keys[live], self._values[live] if self._with_values else None

    def _grow(self, needed: int) -> None:
        keys, values = self._live()
        capacity = len(self._keys)
        while needed * 2 > capacity:
            capacity *= 4  # re-inserting costs as much as inserting: grow in few, large steps
        self._allocate(capacity)
        self._insert(keys, values)

    def _insert(self, keys: np.ndarray, values: np.ndarray | None) -> None:
        self._probe(keys, values, None)
        self._count += len(keys)

    def get(self, key: int) -> float | None:
        """Return the first accuracy of ``key`` (NaN without values), or ``None`` if it was not evaluated."""
        keys = np.array([key], dtype=np.int64)
        slot = int(self._slots(keys)[0])
        while True:
            held = int(self._keys[slot])
            if held == key:
                return float(self._values[slot]) if self._with_values else math.nan
            if held == _EMPTY:
                return None
            slot = (slot + 1) & self._mask

    def add(self, key: int, accuracy: float) -> None:
        """Remember the first accuracy of a key not evaluated before."""
        self.find_or_add(np.array([key]), np.array([accuracy]))

    def forget(self, rows: np.ndarray | None = None) -> None:
        """Forget everything, or the keys of the runs where ``rows`` (a bool mask) is true."""
        keys, values = self._live()
        kept = np.zeros(len(keys), dtype=bool) if rows is None else ~np.asarray(rows, dtype=bool)[keys // NUM_ARCHS]
        self._allocate(len(self._keys) if kept.any() else self._initial)
        self._insert(keys[kept], None if values is None else values[kept])

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Bytes held: the keys (and values) arrays."""
        return self._keys.nbytes + self._values.nbytes


def evaluated_set(runs: int, values: bool = True) -> EvaluatedDict | EvaluatedTable:
    """Return the set that suits ``runs`` runs: a dict for one (scalar lookups), a numpy table for more
    (keys only unless ``values``: a table lookup of a seed mean gives the first result again)."""
    return EvaluatedDict() if runs == 1 else EvaluatedTable(capacity=4 * runs, values=values)
