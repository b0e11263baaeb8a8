"""Query recorded NB201 results: one architecture cheaply, many at once with numpy.

Cost semantics (the official ``simulate_train_eval``, made explicit): searching on ``dataset`` sees the
**validation** accuracy (``cifar10-valid`` / ``x-valid`` for CIFAR-10, ``x-valid`` of the dataset itself
for CIFAR-100 and ImageNet16-120) after ``epoch`` of the ``schedule``, and pays the training time of epochs
``0..epoch`` plus one pass over the validation split. Test accuracy is never part of a validation result;
ask for it with :meth:`Benchmark.test_accuracy` when reporting.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from nb201_env.locate import find_store
from nb201_env.names import DATASETS, METRICS, SEARCH_DATASETS, SPLITS_OF, TEST_OF, VALIDATION_OF, check_schedule
from nb201_env.space import NUM_ARCHS, index_of
from nb201_env.store.errors import MissingValueError
from nb201_env.store.reader import Store, Verify
from nb201_env.store.schema import RecordKey, StatKey
from nb201_env.store.view import MEAN, RecordView, SeedChoice
from nb201_env.validate import check_choice, check_epoch, check_path

__all__ = ["Benchmark", "Evaluation"]


class Evaluation(NamedTuple):
    """What one (simulated or real) training run tells the search: validation accuracy (%) and its cost (s)."""

    accuracy: float
    cost: float


class Benchmark:
    """Recorded NB201 results from a store, with documented signal and cost semantics.

    Args:
        store: an open :class:`~nb201_env.store.Store`.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._views: dict[tuple[str, str, str, int], RecordView] = {}
        self._signal_views: dict[tuple[str, int], tuple[RecordView, RecordView, RecordView]] = {}
        self._cost_tables: dict[tuple[str, int, int], np.ndarray] = {}
        self._cost_lists: dict[tuple[str, int, int], list[float]] = {}
        self._test_records: dict[tuple[str, int | None], tuple[str, str, int]] = {}
        self._search_schedules: dict[str, int] = {}  # scanning the records per query cost ~5 us
        # (dataset, schedule, epoch) -> (2, 15625) seed-mean validation accuracy and cost: one gather serves both
        self._signal_pairs: dict[tuple[str, int | None, int | None], np.ndarray] = {}

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, verify: Verify = "lazy") -> Benchmark:
        """Open the store at ``path``, else ``$NB201_DATA``, else the default cache directory."""
        check_path("store path", path, allow_none=True)
        return cls(Store.open(find_store(path), verify=verify))

    @property
    def name(self) -> str:
        return self.store.name

    def __repr__(self) -> str:
        return f"Benchmark({self.name!r}, {len(self.store.records)} records, path={str(self.store.path)!r})"

    def view(self, dataset: str, split: str, metric: str, schedule: int) -> RecordView:
        """Return the cached fast reader of one record, with clear errors for unknown names."""
        key = (dataset, split, metric, schedule)
        view = self._views.get(key)
        if view is None:
            check_choice("dataset", dataset, DATASETS)
            check_choice("split", split, SPLITS_OF[dataset], f"for {dataset}")
            check_choice("metric", metric, METRICS)
            check_schedule(schedule)
            record = RecordKey(dataset, split, metric, schedule)
            info = self.store.record_info(record)
            view = self._views[key] = RecordView(info, self.store.record(record))
        return view

    def query(
        self,
        arch: int | str | object,
        *,
        dataset: str,
        split: str,
        schedule: int,
        metric: str = "accuracy",
        epoch: int | None = None,
        seed: SeedChoice = MEAN,
    ) -> float:
        """Return one recorded value (accuracy in %, loss, or seconds per epoch / per pass).

        ``epoch`` is 0-based as in the official files (``None`` = last epoch of the schedule); ``seed`` is
        ``"mean"``, a seed number, or a ``numpy.random.Generator`` to draw one seed.
        """
        key = (dataset, split, metric, schedule if type(schedule) is int else check_schedule(schedule))
        view = self._views.get(key) or self.view(*key)
        index = arch if type(arch) is int and 0 <= arch < NUM_ARCHS else index_of(arch)  # type: ignore[arg-type]
        return view.value(index, epoch, seed)

    def query_many(
        self,
        archs: np.ndarray,
        *,
        dataset: str,
        split: str,
        schedule: int,
        metric: str = "accuracy",
        epoch: int | None = None,
        seed: SeedChoice = MEAN,
    ) -> np.ndarray:
        """Return values for an array of architecture indices (NaN where the source has none)."""
        return self.view(dataset, split, metric, schedule).values(_indices(archs), epoch, seed)

    def stat(self, arch: int | str | object, stat: str, scope: str) -> float:
        """Return a per-architecture stat, e.g. ``stat(i, "params_mb", "cifar10")`` or ``("latency_ms", "pixel3")``."""
        value = float(self.store.stat(StatKey(stat, scope))[index_of(arch)])  # type: ignore[arg-type]
        if value != value:
            raise MissingValueError(f"no {stat}/{scope} value for arch {index_of(arch)}")  # type: ignore[arg-type]
        return value

    def stats_many(self, archs: np.ndarray, stat: str, scope: str) -> np.ndarray:
        """Return a per-architecture stat for an array of indices."""
        return self.store.stat(StatKey(stat, scope))[_indices(archs)]

    def model_costs(self, dataset: str = "cifar10") -> tuple[str, ...]:
        """Return the costs of running a searched network that the store holds, to trade accuracy against.

        ``params_mb``, ``flops_m`` and ``latency_s`` of the network searched on ``dataset`` (the validation
        split's dataset, e.g. ``cifar10-valid``, where held) and ``latency_ms/<device>`` per device. Not to be
        confused with the search cost of training it (:meth:`cost_table`).
        """
        scope = self._model_scope(dataset)
        stats = sorted(self.store.stats, key=lambda k: (k.stat, k.scope))
        return tuple(f"latency_ms/{k.scope}" if k.stat == "latency_ms" else k.stat for k in stats
                     if k.stat == "latency_ms" or k.scope == scope)  # fmt: skip

    def model_cost_table(self, name: str, dataset: str = "cifar10") -> np.ndarray:
        """Return one of :meth:`model_costs` for all 15,625 architectures, in its natural unit (lower is better)."""
        check_choice("model cost", name, self.model_costs(dataset), f"of store {self.name!r} searching {dataset}")
        stat, _, device = name.partition("/")
        table = np.asarray(self.store.stat(StatKey(stat, device or self._model_scope(dataset))), dtype=np.float64)
        missing = int(np.isnan(table).sum())
        if missing:
            raise MissingValueError(f"{name} of store {self.name!r} has no value for {missing} architectures")
        return table

    def _model_scope(self, dataset: str) -> str:
        check_choice("search dataset", dataset, tuple(VALIDATION_OF))
        source = VALIDATION_OF[dataset][0]
        return source if any(key.scope == source for key in self.store.stats) else dataset

    def signal_views(self, dataset: str, schedule: int) -> tuple[RecordView, RecordView, RecordView]:
        """Return the record views of a search on ``dataset``: validation accuracy, training time, validation time."""
        views = self._signal_views.get((dataset, schedule))
        if views is None:
            check_choice("search dataset", dataset, tuple(VALIDATION_OF))
            source, split = VALIDATION_OF[dataset]
            views = self._signal_views[(dataset, schedule)] = (
                self.view(source, split, "accuracy", schedule),
                self.view(source, "train", "time", schedule),
                self.view(source, split, "time", schedule),
            )
        return views

    def validation(
        self,
        arch: int | str | object,
        dataset: str = "cifar10",
        *,
        schedule: int | None = None,
        epoch: int | None = None,
        seed: SeedChoice = MEAN,
    ) -> Evaluation:
        """Return the search signal of one simulated run: validation accuracy and its cost in seconds.

        ``schedule=None`` is 12 (the NB201 search protocol) when the store holds it, else the store's own.
        """
        if schedule is None:
            schedule = self.search_schedule(dataset)
        elif type(schedule) is not int:
            schedule = check_schedule(schedule)  # numpy ints pass; 12.0 and True do not
        acc = (self._signal_views.get((dataset, schedule)) or self.signal_views(dataset, schedule))[0]
        index = arch if type(arch) is int and 0 <= arch < NUM_ARCHS else index_of(arch)  # type: ignore[arg-type]
        accuracy = acc.value(index, epoch, seed)
        key = (dataset, schedule, schedule - 1 if epoch is None else epoch)
        costs = self._cost_lists.get(key)
        if costs is None:
            self.cost_table(dataset, schedule=schedule, epoch=epoch)
            costs = self._cost_lists[key]
        cost = costs[index]
        if cost != cost:
            raise MissingValueError(f"no recorded training time for arch {index} ({dataset}, schedule {schedule})")
        return Evaluation(accuracy, cost)

    def validation_many(
        self,
        archs: np.ndarray,
        dataset: str = "cifar10",
        *,
        schedule: int | None = None,
        epoch: int | None = None,
        seed: SeedChoice = MEAN,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (validation accuracy, cost in seconds) arrays for many architectures."""
        pair = self._signal_pairs.get((dataset, schedule, epoch)) if seed is MEAN else None
        if pair is not None and type(archs) is np.ndarray and archs.dtype.kind in "iu" and archs.size:
            # the fast path of a checked (dataset, schedule, epoch): one gather; take() refuses indices past the
            # end, and the smallest index shows a negative one, which indexing would wrap around
            low = archs.item(archs.argmin())
            try:
                if low < 0:
                    raise IndexError
                both = pair.take(archs, axis=1)
            except IndexError:
                _indices(archs)  # raises, naming the bad index
                raise
            return both[0], both[1]
        key = (dataset, schedule, epoch)
        schedule = self.search_schedule(dataset) if schedule is None else check_schedule(schedule)
        idx = _indices(archs)
        accuracy = self.signal_views(dataset, schedule)[0].values(idx, epoch, seed)
        costs = self.cost_table(dataset, schedule=schedule, epoch=epoch)
        if seed is MEAN and (key[1] is None or type(key[1]) is int) and (epoch is None or type(epoch) is int):
            every = np.arange(NUM_ARCHS)
            self._signal_pairs[key] = np.stack([self.signal_views(dataset, schedule)[0].values(every, epoch), costs])
        return accuracy, costs[idx]

    def cost_table(
        self, dataset: str = "cifar10", *, schedule: int | None = None, epoch: int | None = None
    ) -> np.ndarray:
        """Return the simulated cost of every architecture (NaN where times are missing); cached, read-only."""
        schedule = self.search_schedule(dataset) if schedule is None else check_schedule(schedule)
        e = schedule - 1 if epoch is None else check_epoch(epoch, schedule)
        key = (dataset, schedule, e)
        table = self._cost_tables.get(key)
        if table is None:
            _, train, evaluation = self.signal_views(dataset, schedule)
            every = np.arange(NUM_ARCHS)
            table = _cumulative(train, every, e) + evaluation.values(every, e, MEAN)
            table.flags.writeable = False
            self._cost_tables[key], self._cost_lists[key] = table, table.tolist()
        return table

    def cost(
        self,
        arch: int | str | object,
        dataset: str = "cifar10",
        *,
        schedule: int | None = None,
        epoch: int | None = None,
    ) -> float:
        """Return the simulated seconds of training to ``epoch`` plus one validation pass."""
        cost = float(self.cost_table(dataset, schedule=schedule, epoch=epoch)[index_of(arch)])  # type: ignore[arg-type]
        if cost != cost:
            raise MissingValueError(
                f"no recorded training time for arch {index_of(arch)} ({dataset}, schedule {schedule})"
            )  # type: ignore[arg-type]
        return cost

    def fidelities(self, dataset: str = "cifar10", schedule: int | None = None) -> tuple[int, ...]:
        """Return the 0-based epochs whose validation accuracy the store holds for a search on ``dataset``."""
        schedule = self.search_schedule(dataset) if schedule is None else check_schedule(schedule)
        return self.signal_views(dataset, schedule)[0].epochs

    def search_schedule(self, dataset: str = "cifar10") -> int:
        """Return the schedule of the search signal: 12 when the store has it, else the store's only one."""
        known = self._search_schedules.get(dataset)
        if known is not None:
            return known
        check_choice("search dataset", dataset, tuple(VALIDATION_OF))
        source, split = VALIDATION_OF[dataset]
        held = sorted(
            k.schedule for k in self.store.records if (k.dataset, k.split, k.metric) == (source, split, "accuracy")
        )
        schedule = 12 if 12 in held or not held else max(held)
        self._search_schedules[dataset] = schedule
        return schedule

    def _test_record(self, dataset: str, schedule: int | None) -> tuple[str, str, int]:
        """Pick the record of the reported test figure: the paper's split when it covers every architecture.

        A split held for only some architectures (e.g. x-test of a partial source) is passed over for one
        that covers them all, so that every run of a report is scored on the same split.
        """
        if schedule is not None and type(schedule) is not int:
            schedule = check_schedule(schedule, "for test accuracy")
        found = self._test_records.get((dataset, schedule))
        if found is None:
            found = self._test_records[(dataset, schedule)] = self._find_test_record(dataset, schedule)
        return found

    def _find_test_record(self, dataset: str, schedule: int | None) -> tuple[str, str, int]:
        check_choice("dataset", dataset, tuple(TEST_OF))
        preferred = TEST_OF[dataset]
        candidates = [preferred, (preferred[0], "ori-test")]
        if dataset in ("cifar10", "cifar10-valid"):  # a proxy table trains once, on the cifar10-valid split
            candidates.append(("cifar10-valid", "ori-test"))
        held = []
        for source, split in dict.fromkeys(candidates):
            schedules = sorted(
                k.schedule for k in self.store.records if (k.dataset, k.split, k.metric) == (source, split, "accuracy")
            )
            if schedule is not None:
                schedules = [s for s in schedules if s == schedule]
            elif schedules:
                schedules = [200 if 200 in schedules else max(schedules)]
            held += [(source, split, s) for s in schedules]
        if not held:
            return (*preferred, 200 if schedule is None else schedule)  # absent: query() names what is held
        coverage = [self.view(src, split, "accuracy", s).coverage for src, split, s in held]
        full = [h for h, c in zip(held, coverage) if c == NUM_ARCHS]
        return full[0] if full else held[int(np.argmax(coverage))]

    def test_accuracy(
        self,
        arch: int | str | object,
        dataset: str = "cifar10",
        *,
        schedule: int | None = None,
        seed: SeedChoice = MEAN,
    ) -> float:
        """Return the test accuracy the NB201 paper reports (for reports only, never for search).

        CIFAR-10 uses the network trained on all 50k images (``cifar10``/``ori-test``); CIFAR-100 and
        ImageNet16-120 use ``x-test``, falling back to ``ori-test`` when the store has no ``x-test`` for every
        architecture (so all runs of a report are scored alike). A proxy table, trained once on the
        ``cifar10-valid`` split, answers with its ``ori-test`` figure.
        ``schedule=None`` is 200 when held, else the longest schedule the store holds.
        """
        source, split, schedule = self._test_record(dataset, schedule)
        return self.query(arch, dataset=source, split=split, metric="accuracy", schedule=schedule, seed=seed)

    def test_split(self, dataset: str = "cifar10", *, schedule: int | None = None) -> str:
        """Return the split :meth:`test_accuracy` reads for ``dataset``: ``ori-test`` or ``x-test`` (for reports)."""
        return self._test_record(dataset, schedule)[1]

    def test_accuracy_many(
        self, archs: np.ndarray, dataset: str = "cifar10", *, schedule: int | None = None
    ) -> np.ndarray:
        """Return :meth:`test_accuracy` for many architectures (seed mean)."""
        source, split, schedule = self._test_record(dataset, schedule)
        return self.query_many(archs, dataset=source, split=split, metric="accuracy", schedule=schedule)

    def zero_cost_proxies(self, dataset: str = "cifar10") -> tuple[str, ...]:
        """Return the zero-cost proxies whose scores the store holds for ``dataset`` (``nb201-zero-cost``)."""
        check_choice("search dataset", dataset, SEARCH_DATASETS)
        held = (k.scope.partition("@") for k in self.store.stats if k.stat == "zero_cost")
        return tuple(sorted(proxy for proxy, _, scope in held if scope == dataset))

    def zero_cost(self, name: str, dataset: str = "cifar10") -> np.ndarray:
        """Return a zero-cost proxy's score of all 15,625 architectures (float64, official index order, read-only).

        NaN only where the score is undefined (see the store's manifest, ``extra.zero_cost.undefined``) or, in an
        unfinished build (``extra.zero_cost.complete`` false), not yet computed.
        """
        return self._zero_cost("zero_cost", name, dataset)

    def zero_cost_seconds(self, name: str, dataset: str = "cifar10") -> np.ndarray:
        """Return the measured seconds computing each architecture's ``name`` score took (its search cost)."""
        return self._zero_cost("zero_cost_s", name, dataset)

    def _zero_cost(self, stat: str, name: str, dataset: str) -> np.ndarray:
        held = self.zero_cost_proxies(dataset)
        if not held:
            raise MissingValueError(
                f"benchmark {self.name!r} holds no zero-cost scores for {dataset}; open 'nb201-zero-cost' (bundled)"
            )
        check_choice("proxy name", name, held, f"in {self.name!r} for {dataset}")
        return self.store.stat(StatKey(stat, f"{name}@{dataset}"))


def _indices(archs: np.ndarray) -> np.ndarray:
    idx = np.asarray(archs)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"architectures must be given as an integer index array, got dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= NUM_ARCHS):
        bad = idx[(idx < 0) | (idx >= NUM_ARCHS)][0]
        raise ValueError(f"arch index {bad} is out of range: valid indices are 0..{NUM_ARCHS - 1}")
    return idx


def _cumulative(train: RecordView, idx: np.ndarray, e: int) -> np.ndarray:
    if train.info.epochs is None:
        return (e + 1) * train.values(idx, None, MEAN).astype(np.float64)
    upto = [train.epoch_position(k) for k in range(e + 1)]  # every epoch 0..e must be recorded
    return sum(train.mean_at(p)[idx] for p in upto)
