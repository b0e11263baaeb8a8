"""Fast reads of one record: resolve an epoch and a seed policy, then index the record's in-memory array.

A :class:`RecordView` is built once per record and cached by the benchmark, so a single query costs a
couple of dictionary lookups and one array read.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from nb201_env.space import NUM_ARCHS
from nb201_env.store.errors import MissingValueError
from nb201_env.store.schema import RecordInfo
from nb201_env.validate import check_epoch

MEAN = "mean"
SeedChoice = int | str | np.random.Generator
"""Which recorded seed one read takes: ``"mean"``, the mean over the seeds that have a value; an int, that seed;
a Generator, one seed drawn uniformly from those that have a value (the official ``is_random=True``). An
evaluator's :data:`~nb201_env.evaluators.SeedPolicy` decides which of these each evaluation passes."""


class RecordView:
    """Read values of one record by architecture index, epoch and seed policy."""

    def __init__(self, info: RecordInfo, array: np.ndarray) -> None:
        self.info = info
        self.array = array
        schedule = info.key.schedule
        self.epochs: tuple[int, ...] = tuple(range(schedule)) if info.epochs is None else info.epochs
        self._epoch_pos = (
            {e: 0 for e in self.epochs} if info.epochs is None else {e: p for p, e in enumerate(self.epochs)}
        )
        self._last = self._epoch_pos.get(schedule - 1)
        self._seed_pos = {s: p for p, s in enumerate(info.seeds.seeds)} if info.seeds.kind == "seeds" else {}
        self._single = array.shape[1] == 1  # one value per (arch, epoch): every seed policy reads it
        self._means: dict[int, np.ndarray] = {}
        self._draw_tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def name(self) -> str:
        return self.info.key.name

    def epoch_position(self, epoch: int | None) -> int:
        """Return the array position of ``epoch`` (``None`` = last epoch of the schedule)."""
        if epoch is not None and type(epoch) is not int:
            epoch = check_epoch(epoch, self.info.key.schedule)  # numpy ints pass; True, 11.0 and '11' do not
        pos = self._last if epoch is None else self._epoch_pos.get(epoch)
        if pos is None:
            held = _describe_epochs(self.epochs)
            wanted = f"the last epoch ({self.info.key.schedule - 1})" if epoch is None else f"epoch {epoch!r}"
            raise ValueError(f"{self.name} has no {wanted}; it holds epochs {held} (0-based)")
        return pos

    def value(self, index: int, epoch: int | None = None, seed: SeedChoice = MEAN) -> float:
        """Return one value; raise :class:`MissingValueError` if the source has none."""
        e = self._last if epoch is None else self._epoch_pos.get(epoch) if type(epoch) is int else None
        if e is None:
            e = self.epoch_position(epoch)  # checks the type; raises with the epochs held
        if self._single:
            if not (seed is MEAN or seed == MEAN or isinstance(seed, np.random.Generator)):
                self.check_seed(seed)
            v = float(self.array[index, 0, e])
        elif seed is MEAN or (isinstance(seed, str) and seed == MEAN):
            v = float(self.mean_at(e)[index])
        elif isinstance(seed, np.random.Generator):
            counts, order = self.draw_tables(e)
            n = int(counts[index])
            v = float(self.array[index, order[index, int(seed.integers(n))], e]) if n else math.nan
        else:
            v = float(self.array[index, self.check_seed(seed), e])
        if v != v:
            raise MissingValueError(self._missing_message(index, epoch, seed))
        return v

    def values(self, indices: np.ndarray, epoch: int | None = None, seed: SeedChoice = MEAN) -> np.ndarray:
        """Return values for many architectures at once (NaN where the source has none)."""
        e = self.epoch_position(epoch)
        if self._single:
            if not (isinstance(seed, np.random.Generator) or seed == MEAN):
                self.check_seed(seed)
            return self.mean_at(e)[indices]  # with one value per architecture the mean is that value
        if isinstance(seed, np.random.Generator):
            counts, order = self.draw_tables(e)
            idx = np.asarray(indices)
            n = counts[idx]
            pick = (seed.random(idx.shape) * n).astype(np.intp)
            out = self.array[idx, order[idx, np.minimum(pick, order.shape[1] - 1)], e]
            return np.where(n > 0, out, np.nan)
        if isinstance(seed, str) and seed == MEAN:
            return self.mean_at(e)[indices]
        return self.array[indices, self.check_seed(seed), e]

    def check_seed(self, seed: object) -> int:
        """Return the array position of a named seed, or raise naming the seeds this record holds."""
        if isinstance(seed, str):
            if seed == MEAN:
                return 0
            raise ValueError(f"unknown seed policy {seed!r}; use 'mean', a seed number or a numpy Generator")
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            pos = self._seed_pos.get(int(seed))
            if pos is not None:
                return pos
            kind = self.info.seeds.kind
            if kind == "seeds":
                raise ValueError(f"{self.name} has no seed {seed}; its seeds are {list(self.info.seeds.seeds)}")
            raise ValueError(
                f"{self.name} holds no per-seed values (seed axis {kind!r}); use seed='mean' or a Generator"
            )
        raise TypeError(f"seed must be 'mean', a seed number or a numpy Generator, got {seed!r}")

    def mean_at(self, e: int) -> np.ndarray:
        """Return the per-arch mean over available seeds at epoch position ``e`` (cached)."""
        mean = self._means.get(e)
        if mean is None:
            column = self.array[:, :, e]
            counts = np.sum(~np.isnan(column), axis=1)
            sums = np.nansum(column, axis=1)
            mean = np.full(NUM_ARCHS, np.nan)
            np.divide(sums, counts, out=mean, where=counts > 0)
            self._means[e] = mean
        return mean

    def draw_tables(self, e: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (number of seeds with a value, seed positions with values first) per arch at ``e``."""
        tables = self._draw_tables.get(e)
        if tables is None:
            present = ~np.isnan(self.array[:, :, e])
            counts = present.sum(axis=1).astype(np.intp)
            order = np.argsort(~present, axis=1, kind="stable").astype(np.intp)
            tables = self._draw_tables[e] = (counts, order)
        return tables

    @cached_property
    def coverage(self) -> int:
        """Return how many architectures have at least one value in this record."""
        return int(np.sum(np.any(~np.isnan(self.array), axis=(1, 2))))

    def _missing_message(self, index: int, epoch: int | None, seed: object) -> str:
        at = "the last epoch" if epoch is None else f"epoch {epoch}"
        return (
            f"no value of {self.name} for arch {index} at {at} (seed policy {seed!r}); this record has values "
            f"for {self.coverage} of {NUM_ARCHS} architectures (source: {self.info.source!r})"
        )


def _describe_epochs(epochs: tuple[int, ...]) -> str:
    if len(epochs) > 4 and epochs == tuple(range(epochs[0], epochs[-1] + 1)):
        return f"{epochs[0]}..{epochs[-1]}"
    return str(list(epochs))
