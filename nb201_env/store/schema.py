"""What a store holds: record and stat keys, their axes, sources, and the manifest that lists them.

A store is a directory with ``manifest.json`` and one ``.npy`` file per array. A *record* is a metric of
training runs, keyed by ``(dataset, split, metric, schedule)``, held as a float64 array of shape
``(15625, seeds, epochs)`` with NaN wherever the source has no value. A *stat* is one float64 number per
architecture (params, FLOPs, latency) keyed by ``(stat, scope)`` where the scope is a dataset or a device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from nb201_env.names import DATASETS, METRICS, SPLITS_OF, check_schedule
from nb201_env.validate import check_choice

FORMAT_NAME: Final = "nb201_env.store"
FORMAT_VERSION: Final = 2
"""2: the manifest carries a seal over its own content (format 1, unsealed, is read only to re-seal it)."""
MANIFEST: Final = "manifest.json"

SeedKind = Literal["seeds", "mean", "one", "constant"]
SEED_KINDS: Final[tuple[str, ...]] = ("seeds", "mean", "one", "constant")
"""``seeds``: one slot per named seed; ``mean``: the source gives only the mean over ``seeds``; ``one``: a
single run whose seed the source does not name; ``constant``: identical for every seed (the official
pseudo-times)."""

STATS: Final[tuple[str, ...]] = ("params_mb", "flops_m", "latency_s", "latency_ms")
"""Per-architecture numbers: params (millions), FLOPs (millions), official latency per image batch in
seconds (scope = dataset), device latency in milliseconds (scope = device name)."""

UNITS: Final[dict[str, str]] = {"accuracy": "%", "loss": "nat", "time": "s"}


@dataclass(frozen=True, order=True)
class RecordKey:
    """Identify a record: which training run (dataset, schedule) and which split and metric."""

    dataset: str
    split: str
    metric: str
    schedule: int

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, DATASETS)
        check_choice("split", self.split, SPLITS_OF[self.dataset], f"for {self.dataset}")
        check_choice("metric", self.metric, METRICS)
        check_schedule(self.schedule)

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.split}/{self.metric}@{self.schedule}"


@dataclass(frozen=True, order=True)
class StatKey:
    """Identify a per-architecture stat: its name and the dataset or device it applies to."""

    stat: str
    scope: str

    def __post_init__(self) -> None:
        check_choice("stat", self.stat, STATS)
        if self.stat in ("params_mb", "flops_m", "latency_s"):
            check_choice("dataset", self.scope, DATASETS, f"for {self.stat}")
        elif not self.scope or "/" in self.scope:
            raise ValueError(f"device name for latency_ms must be a non-empty name without '/', got {self.scope!r}")

    @property
    def name(self) -> str:
        return f"{self.stat}/{self.scope}"


@dataclass(frozen=True)
class SeedAxis:
    """The seed axis of a record (see :data:`SEED_KINDS`)."""

    kind: str
    seeds: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        check_choice("seed axis kind", self.kind, SEED_KINDS)
        if self.kind == "seeds" and (not self.seeds or len(set(self.seeds)) != len(self.seeds)):
            raise ValueError(f"a 'seeds' axis needs distinct seed labels, got {self.seeds!r}")

    @property
    def size(self) -> int:
        return len(self.seeds) if self.kind == "seeds" else 1


@dataclass(frozen=True)
class Source:
    """Where figures came from; ``estimate`` marks values that are modelled, not recorded.

    ``license`` is the licence as the source states it (empty when it states none).
    """

    title: str
    url: str = ""
    citation: str = ""
    notes: str = ""
    estimate: bool = False
    license: str = ""


@dataclass(frozen=True)
class ArrayFile:
    """One ``.npy`` file of the store, with the checksum and size verified on load."""

    file: str
    sha256: str
    nbytes: int
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class RecordInfo:
    """A record entry of the manifest.

    ``epochs`` lists the 0-based epochs held along the last axis, or is ``None`` when the value is the
    same for every epoch of the schedule (stored once). ``estimate_mask`` names a boolean per-arch array
    marking estimated values when only some of them are estimates.
    """

    key: RecordKey
    seeds: SeedAxis
    epochs: tuple[int, ...] | None
    source: str
    array: ArrayFile
    estimate_mask: ArrayFile | None = None

    @property
    def unit(self) -> str:
        return UNITS[self.key.metric]


@dataclass(frozen=True)
class StatInfo:
    """A stat entry of the manifest."""

    key: StatKey
    source: str
    unit: str
    array: ArrayFile


@dataclass(frozen=True)
class Manifest:
    """Everything ``manifest.json`` says about a store."""

    name: str
    description: str
    created_utc: str
    created_by: str
    num_archs: int
    arch_order_sha256: str
    sources: dict[str, Source]
    records: dict[RecordKey, RecordInfo]
    stats: dict[StatKey, StatInfo]
    extra: dict[str, Any] = field(default_factory=dict)
