"""Map official ``ArchResults`` state dicts (one per arch and hp) into store records and stats.

The official schema is declared up front (:data:`OFFICIAL_LAYOUT`, from ``docs/official-formats.md``) and
every value found in a file is checked against it: an unexpected dataset, seed, eval name or epoch raises
:class:`SourceFormatError` naming the arch, the key, what was found and what is expected. Values the schema
allows but a file lacks (NB201 archs trained with only some hp-200 seeds, say) stay NaN and are counted.

What is stored: accuracy / loss / time per (dataset, split, schedule) for ``train`` and every eval name;
``params_mb``, ``flops_m`` and ``latency_s`` (mean of the ``latency`` list) per dataset. Top-5 training
accuracy (``train_acc5es``, hp 12 only) is not stored. Times are the official per-epoch "pseudo-times",
constant over epochs and seeds: by default they are stored once per arch and checked to be constant
(relative tolerance 1e-6); ``time_axes="full"`` keeps every seed and epoch instead.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Final

import numpy as np

from nb201_env.importers.errors import SourceFormatError
from nb201_env.importers.official_schema import (
    NATS_SOURCE,
    NB201_SOURCE,
    OFFICIAL_LAYOUT,
    TIME_AXES,
    RunLayout,
    check_header,
    check_meta_archs,
    index_ranges,
)
from nb201_env.names import DATASETS, SPLITS_OF
from nb201_env.space import NUM_ARCHS, arch_str
from nb201_env.store.schema import RecordKey, SeedAxis, StatKey
from nb201_env.store.writer import StoreWriter
from nb201_env.validate import check_choice

__all__ = [
    "NATS_SOURCE",
    "NB201_SOURCE",
    "OFFICIAL_LAYOUT",
    "TIME_AXES",
    "OfficialRecords",
    "RunLayout",
    "add_arch_container",
    "check_header",
    "check_meta_archs",
    "index_ranges",
]

TIME_RTOL: Final = 1e-6
STAT_RTOL: Final = 1e-6

_METRIC_FIELDS: Final = (("accuracy", "train_acc1es", "eval_acc1es"), ("loss", "train_losses", "eval_losses"))


class OfficialRecords:
    """Create the official records and stats in a :class:`StoreWriter` and fill them arch by arch."""

    def __init__(self, writer: StoreWriter, source_id: str, *, time_axes: str = "constant") -> None:
        check_choice("time_axes", time_axes, TIME_AXES)
        self.time_axes = time_axes
        self._records: dict[tuple[int, str, str, str], np.ndarray] = {}
        for (schedule, dataset), layout in OFFICIAL_LAYOUT.items():
            seeds = SeedAxis("seeds", layout.seeds)
            for split in SPLITS_OF[dataset]:
                for metric in ("accuracy", "loss"):
                    key = RecordKey(dataset, split, metric, schedule)
                    array = writer.add_record(key, seeds, layout.epochs[split], source_id)
                    self._records[(schedule, dataset, split, metric)] = _plain(array)
                key = RecordKey(dataset, split, "time", schedule)
                if time_axes == "constant":
                    array = writer.add_record(key, SeedAxis("constant"), None, source_id)
                else:
                    array = writer.add_record(key, seeds, range(schedule), source_id)
                self._records[(schedule, dataset, split, "time")] = _plain(array)
        units = {"params_mb": "MB", "flops_m": "M", "latency_s": "s"}
        self._stats = {
            (stat, d): _plain(writer.add_stat(StatKey(stat, d), source_id, unit))
            for stat, unit in units.items()
            for d in DATASETS
        }
        self._seen = np.zeros((2, NUM_ARCHS), dtype=bool)
        self.runs: Counter[tuple[int, str, int]] = Counter()
        self.missing: Counter[str] = Counter()
        self._plans: dict[tuple[Any, ...], list[tuple[str, np.ndarray, np.ndarray]]] = {}

    def add(self, index: int, hp: str, schedule: int, state: Any) -> None:
        """Store one arch's ``ArchResults`` state dict of one hp (``schedule`` 12 or 200)."""
        where = f"arch {index} hp {hp!r}"
        if not isinstance(state, dict):
            raise SourceFormatError(f"{where}: expected an ArchResults state dict, got {type(state).__name__}")
        if state.get("arch_index") != index:
            raise SourceFormatError(f"{where}: arch_index is {state.get('arch_index')!r}, expected {index}")
        if state.get("arch_str") != arch_str(index):
            raise SourceFormatError(
                f"{where}: arch_str is {state.get('arch_str')!r}, the official string of index "
                f"{index} is {arch_str(index)!r}"
            )
        row = (12, 200).index(schedule)
        if self._seen[row, index]:
            raise SourceFormatError(f"{where}: this arch and hp appear twice in the source")
        self._seen[row, index] = True
        results = state.get("all_results")
        if not isinstance(results, dict):
            raise SourceFormatError(f"{where}: all_results must be a dict, got {type(results).__name__}")
        for run_key, run in results.items():
            if not (isinstance(run_key, tuple) and len(run_key) == 2):
                raise SourceFormatError(f"{where}: all_results key {run_key!r} is not a (dataset, seed) pair")
            dataset, seed = run_key
            layout = OFFICIAL_LAYOUT.get((schedule, dataset))
            if layout is None:
                raise SourceFormatError(
                    f"{where}: unexpected dataset {dataset!r} in all_results; the official schema has {list(DATASETS)}"
                )
            if seed not in layout.seeds:
                raise SourceFormatError(
                    f"{where}: unexpected seed {seed!r} for {dataset}; the official schema "
                    f"has seeds {list(layout.seeds)} at hp {hp!r}"
                )
            self._add_run(index, f"{where} run ({dataset!r}, {seed})", schedule, dataset, layout, seed, run)
            self.runs[(schedule, dataset, seed)] += 1

    def _add_run(
        self, index: int, where: str, schedule: int, dataset: str, layout: RunLayout, seed: int, run: Any
    ) -> None:
        if not isinstance(run, dict):
            raise SourceFormatError(f"{where}: expected a ResultsCount dict, got {type(run).__name__}")
        for field, expected in (("name", dataset), ("epochs", schedule)):
            if run.get(field) != expected:
                raise SourceFormatError(f"{where}: {field} is {run.get(field)!r}, expected {expected!r}")
        slot = layout.seeds.index(seed)
        names = run.get("eval_names", [])
        bad = [n for n in names if n not in SPLITS_OF[dataset] or n == "train"]
        if bad:
            raise SourceFormatError(
                f"{where}: unexpected eval name {bad[0]!r}; {dataset} has {list(SPLITS_OF[dataset][1:])}"
            )
        for metric, train_field, eval_field in _METRIC_FIELDS:
            plan = self._plan(where, train_field, run.get(train_field), dataset, {"train": layout.epochs["train"]})
            self._write(index, slot, schedule, dataset, metric, plan, run[train_field], layout.epochs)
            evals = {s: e for s, e in layout.epochs.items() if s != "train"}
            plan = self._plan(where, eval_field, run.get(eval_field), dataset, evals)
            self._write(index, slot, schedule, dataset, metric, plan, run[eval_field], layout.epochs)
        every = tuple(range(schedule))
        time_epochs = {s: every for s in SPLITS_OF[dataset]}
        for field, splits in (("train_times", ["train"]), ("eval_times", SPLITS_OF[dataset][1:])):
            plan = self._plan(where, field, run.get(field), dataset, {s: every for s in splits})
            self._write_times(index, where, slot, schedule, dataset, plan, run[field], time_epochs)
        self._add_stats(index, where, dataset, run)

    def _plan(
        self, where: str, field: str, values: Any, dataset: str, epochs: dict[str, tuple[int, ...]]
    ) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Return ``[(split, positions in the dict, epoch slots)]``, validating every key once per key layout."""
        if not isinstance(values, dict):
            raise SourceFormatError(f"{where}: {field} must be a dict of per-epoch values, got {type(values).__name__}")
        keys = tuple(values)
        cache_key = (dataset, field, tuple(epochs.items()), keys)
        plan = self._plans.get(cache_key)
        if plan is not None:
            return plan
        found: dict[str, tuple[list[int], list[int]]] = {s: ([], []) for s in epochs}
        for position, key in enumerate(keys):
            if "train" in epochs:
                split, epoch = "train", key
            else:
                name, sep, number = key.rpartition("@") if isinstance(key, str) else ("", "", "")
                split, epoch = name, int(number) if sep and number.isdigit() else None
                if split not in epochs:
                    raise SourceFormatError(
                        f"{where}: unexpected key {key!r} in {field}; expected "
                        f"'<name>@<epoch>' with name in {list(epochs)}"
                    )
            allowed = epochs[split]
            if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch not in allowed:
                raise SourceFormatError(
                    f"{where}: unexpected epoch in {field} key {key!r}; the official schema has "
                    f"{split} epochs {_span(allowed)}"
                )
            if epoch in found[split][1]:
                raise SourceFormatError(f"{where}: {field} has epoch {epoch} of {split} twice (key {key!r})")
            found[split][0].append(position)
            found[split][1].append(epoch)
        plan = [(s, np.asarray(p, dtype=np.intp), np.asarray(e, dtype=np.intp)) for s, (p, e) in found.items()]
        if len(self._plans) > 512:  # a handful of layouts in real files; keep the cache bounded regardless
            self._plans.clear()
        self._plans[cache_key] = plan
        return plan

    def _values(self, where: str, values: dict[Any, Any]) -> np.ndarray:
        try:
            return np.fromiter(values.values(), dtype=np.float64, count=len(values))
        except (TypeError, ValueError):
            bad = next((v for v in values.values() if not isinstance(v, (int, float))), None)
            raise SourceFormatError(f"{where}: non-numeric value {bad!r}") from None

    def _write(
        self,
        index: int,
        slot: int,
        schedule: int,
        dataset: str,
        metric: str,
        plan: list[tuple[str, np.ndarray, np.ndarray]],
        values: dict[Any, Any],
        epochs: dict[str, tuple[int, ...]],
    ) -> None:
        array = self._values(f"arch {index} {dataset}/{metric}", values)
        for split, positions, found in plan:
            record = self._records[(schedule, dataset, split, metric)]
            wanted = epochs[split]
            slots = found if len(wanted) == schedule else np.searchsorted(wanted, found)
            record[index, slot, slots] = array[positions]
            if len(found) < len(wanted):
                self.missing[RecordKey(dataset, split, metric, schedule).name] += len(wanted) - len(found)

    def _write_times(
        self,
        index: int,
        where: str,
        slot: int,
        schedule: int,
        dataset: str,
        plan: list[tuple[str, np.ndarray, np.ndarray]],
        values: dict[Any, Any],
        epochs: dict[str, tuple[int, ...]],
    ) -> None:
        array = self._values(where, values)
        for split, positions, found in plan:
            record = self._records[(schedule, dataset, split, "time")]
            name = RecordKey(dataset, split, "time", schedule).name
            if len(found) < len(epochs[split]):
                self.missing[name] += len(epochs[split]) - len(found)
            if not len(found):
                continue
            times = array[positions]
            if self.time_axes == "full":
                record[index, slot, found] = times
                continue
            lo, hi = float(times.min()), float(times.max())
            if not _close(lo, hi, TIME_RTOL):
                raise SourceFormatError(
                    f"{where}: {name} is not constant across epochs (from {lo!r} to {hi!r}); the official files hold "
                    "constant pseudo-times. Convert with time_axes='full' (CLI: --time-axes full) to keep every value."
                )
            stored = float(record[index, 0, 0])
            if math.isnan(stored):
                record[index, 0, 0] = times[0]
            elif not _close(stored, float(times[0]), TIME_RTOL):
                raise SourceFormatError(
                    f"{where}: {name} is {float(times[0])!r} but another seed of this arch has {stored!r}; the "
                    "official pseudo-times are the same for every seed. Convert with time_axes='full' "
                    "(CLI: --time-axes full) to keep every value."
                )

    def _add_stats(self, index: int, where: str, dataset: str, run: dict[str, Any]) -> None:
        latency = run.get("latency")
        if not isinstance(latency, (list, tuple)):
            raise SourceFormatError(f"{where}: latency must be a list of seconds, got {latency!r}")
        for stat, field, value in (
            ("params_mb", "params", run.get("params")),
            ("flops_m", "flop", run.get("flop")),
            ("latency_s", "latency", float(np.mean(latency)) if latency else None),
        ):
            if value is None:
                self.missing[f"{stat}/{dataset}"] += 1
                continue
            if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool):
                raise SourceFormatError(f"{where}: {field} must be a number, got {value!r}")
            array = self._stats[(stat, dataset)]
            stored = float(array[index])
            if math.isnan(stored):
                array[index] = float(value)
            elif not _close(stored, float(value), STAT_RTOL):
                raise SourceFormatError(
                    f"{where}: {field} is {float(value)!r} but another run of this arch on "
                    f"{dataset} has {stored!r}; the official files give one value per arch "
                    "and dataset"
                )

    def summary(self) -> dict[str, Any]:
        """Return what was imported, for the manifest's ``extra``: archs present, runs, missing values."""
        present = self._seen.any(axis=0)
        runs: dict[str, dict[str, dict[str, int]]] = {}
        for (schedule, dataset, seed), count in sorted(self.runs.items()):
            runs.setdefault(str(schedule), {}).setdefault(dataset, {})[str(seed)] = count
        return {
            "archs_present": {"count": int(present.sum()), "ranges": index_ranges(present)},
            "archs_present_by_schedule": {"12": int(self._seen[0].sum()), "200": int(self._seen[1].sum())},
            "runs": runs,
            "missing_values": dict(sorted(self.missing.items())),
            "time_axes": self.time_axes,
        }


def _plain(array: Any) -> Any:
    """View a memmap as a plain ndarray over the same mapping: indexing a memmap subclass costs ~3x more."""
    return array.view(np.ndarray) if isinstance(array, np.memmap) else array


def _close(a: float, b: float, rtol: float) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b))


def _span(epochs: tuple[int, ...]) -> str:
    if len(epochs) > 2 and epochs == tuple(range(epochs[0], epochs[-1] + 1)):
        return f"{epochs[0]}..{epochs[-1]}"
    return str(list(epochs))


def add_arch_container(records: OfficialRecords, index: Any, value: Any, hps: dict[str, int], where: str) -> None:
    """Store one arch's per-hp container (NATS ``{'12', '200'}`` or NB201 ``{'less', 'full'}``)."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < NUM_ARCHS:
        raise SourceFormatError(f"{where}: arch index {index!r} is not an int in 0..{NUM_ARCHS - 1}")
    if not isinstance(value, dict):
        raise SourceFormatError(f"{where}: arch {index} holds {type(value).__name__}, expected a dict keyed by hp")
    try:
        for hp, state in value.items():
            if hp not in hps:
                raise SourceFormatError(f"{where}: arch {index} has unexpected hp {hp!r}; expected {sorted(hps)}")
            records.add(index, hp, hps[hp], state)
    except RecursionError:  # describing a deeply nested value in an error message: the file is not official
        raise SourceFormatError(
            f"{where}: arch {index} holds values nested too deeply for the official schema"
        ) from None
