"""Helpers for importer tests: the real sample's location, a cheap in-memory writer, and value checks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nb201_env.importers.official import OFFICIAL_LAYOUT
from nb201_env.names import SPLITS_OF
from nb201_env.space import NUM_ARCHS
from nb201_env.store import RecordKey, StatKey, Store

REPO = Path(__file__).resolve().parents[2]
SAMPLE_INDICES = (0, 11, 284)


def sample_dir() -> Path:
    """Return the real NATS sample folder under ``$NB201_SHARED`` or ``../shared``."""
    root = Path(os.environ.get("NB201_SHARED", REPO.parent / "shared"))
    return root / "nb201" / "nats-tss-sample" / "NATS-tss-v1_0-3ffb9-simple"


class SparseArray:
    """Stand-in for a ``(15625, ...)`` memmap that only allocates the rows that are written."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.rows: dict[int, np.ndarray] = {}

    def _row(self, index: int) -> np.ndarray:
        if index not in self.rows:
            self.rows[index] = np.full(self.shape[1:], np.nan)
        return self.rows[index]

    def __getitem__(self, key: Any) -> Any:
        key = key if isinstance(key, tuple) else (key,)
        return self._row(int(key[0]))[key[1:]]

    def __setitem__(self, key: Any, value: Any) -> None:
        key = key if isinstance(key, tuple) else (key,)
        self._row(int(key[0]))[key[1:]] = value


class SparseWriter:
    """The part of StoreWriter that OfficialRecords uses, kept in memory: error-path tests stay fast."""

    def __init__(self) -> None:
        self.records: dict[RecordKey, tuple[Any, Any, SparseArray]] = {}
        self.stats: dict[StatKey, SparseArray] = {}

    def add_record(self, key: RecordKey, seeds: Any, epochs: Any, source: str) -> SparseArray:
        epochs = None if epochs is None else tuple(epochs)
        array = SparseArray((NUM_ARCHS, seeds.size, 1 if epochs is None else len(epochs)))
        self.records[key] = (seeds, epochs, array)
        return array

    def add_stat(self, key: StatKey, source: str, unit: str) -> SparseArray:
        self.stats[key] = SparseArray((NUM_ARCHS,))
        return self.stats[key]


class _Lookup:
    """Cache of record arrays and their seed / epoch positions, so that checking values stays cheap."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: dict[RecordKey, tuple[np.ndarray, dict[int, int], dict[int, int] | None]] = {}

    def get(self, key: RecordKey, index: int, seed: int, epoch: int) -> float:
        entry = self.cache.get(key)
        if entry is None:
            info = self.store.record_info(key)
            seeds = {s: i for i, s in enumerate(info.seeds.seeds)} if info.seeds.kind == "seeds" else {}
            epochs = None if info.epochs is None else {e: i for i, e in enumerate(info.epochs)}
            entry = self.cache[key] = (self.store.record(key), seeds, epochs)
        array, seeds, epochs = entry
        if epochs is None:  # constant pseudo-time: one value per arch
            return float(array[index, 0, 0])
        return float(array[index, seeds[seed], epochs[epoch]])


def check_arch(store: Store, index: int, container: dict[str, Any], hps: dict[str, int]) -> int:
    """Assert that every value of one arch's official container is in the store; return how many were checked."""
    lookup = _Lookup(store)
    checked = 0
    for hp, state in container.items():
        schedule = hps[hp]
        for (dataset, seed), run in state["all_results"].items():
            for metric, train_field, eval_field in (
                ("accuracy", "train_acc1es", "eval_acc1es"),
                ("loss", "train_losses", "eval_losses"),
                ("time", "train_times", "eval_times"),
            ):
                pairs = [("train", e, v) for e, v in run[train_field].items()]
                pairs += [(*_split_key(k), v) for k, v in run[eval_field].items()]
                for split, epoch, value in pairs:
                    key = RecordKey(dataset, split, metric, schedule)
                    got = lookup.get(key, index, seed, epoch)
                    assert _close(got, value), (index, key.name, seed, epoch, got, value)
                    checked += 1
            for stat, value in (
                ("params_mb", run["params"]),
                ("flops_m", run["flop"]),
                ("latency_s", float(np.mean(run["latency"]))),
            ):
                got = store.stat(StatKey(stat, dataset))[index]
                assert got == pytest.approx(value, rel=1e-12), (index, stat, dataset)
                checked += 1
        for dataset in SPLITS_OF:  # seeds the file lacks stay NaN
            layout = OFFICIAL_LAYOUT[(schedule, dataset)]
            present = {s for d, s in state["all_results"] if d == dataset}
            for slot, seed in enumerate(layout.seeds):
                if seed not in present:
                    assert np.isnan(store.record(RecordKey(dataset, "train", "accuracy", schedule))[index, slot]).all()
    return checked


def _close(got: float, want: float) -> bool:
    return abs(got - want) <= 1e-6 * abs(want)  # exact for float64 stores, within rounding for float32


def _split_key(key: str) -> tuple[str, int]:
    name, _, epoch = key.rpartition("@")
    return name, int(epoch)


def assert_absent(store: Store, present: set[int]) -> None:
    """Assert that archs outside ``present`` are NaN in every record and stat (spot check of 20 archs)."""
    absent = [i for i in np.linspace(0, NUM_ARCHS - 1, 40).astype(int) if i not in present][:20]
    for key in store.records:
        assert np.isnan(store.record(key)[absent]).all(), key.name
    for key in store.stats:
        assert np.isnan(store.stat(key)[absent]).all(), key.name
