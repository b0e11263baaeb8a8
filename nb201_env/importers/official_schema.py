"""The official NB201 / NATS-Bench topology schema: which seeds and epochs exist, sources, order checks.

Declared from ``docs/official-formats.md`` (checked against the real NATS sample): hp '12' has seeds
111 and 777 for ``cifar10-valid`` and 111 elsewhere, every split at every epoch; hp '200' has seeds
777/888/999 (NB201 archs may have only some), with validation / test accuracy at every epoch only where the
official collector recorded it (``x-valid`` of cifar10-valid, ``ori-test`` of the other datasets) and at
the last epoch elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from nb201_env.importers.errors import SourceFormatError
from nb201_env.names import DATASETS, SPLITS_OF
from nb201_env.space import NUM_ARCHS, arch_str
from nb201_env.store.schema import Source

TIME_AXES: Final = ("constant", "full")

NB201_SOURCE: Final = Source(
    title="NAS-Bench-201 (official benchmark file)",
    url="https://github.com/D-X-Y/NAS-Bench-201",
    citation="Xuanyi Dong and Yi Yang. NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture "
    "Search. ICLR 2020.",
    notes="Converted from NAS-Bench-201-v1_x .pth ('less' = 12-epoch hp, 'full' = 200-epoch hp). Times are the "
    "official per-epoch pseudo-times. hp-200 runs exist for 1 to 3 of the seeds 777/888/999 per arch; absent "
    "seeds are NaN. Top-5 train accuracy is not stored.",
)
NATS_SOURCE: Final = Source(
    title="NATS-Bench topology search space (tss), v1.0-3ffb9",
    url="https://github.com/D-X-Y/NATS-Bench",
    citation="Xuanyi Dong, Lu Liu, Katarzyna Musial and Bogdan Gabrys. NATS-Bench: Benchmarking NAS Algorithms "
    "for Architecture Topology and Size. IEEE TPAMI 2021.",
    notes="Converted from the NATS-tss-v1_0-3ffb9 files (hp '12' and '200'). Times are the official per-epoch "
    "pseudo-times. Architectures absent from the source are NaN. Top-5 train accuracy is not stored.",
)


@dataclass(frozen=True)
class RunLayout:
    """Seeds of one (schedule, dataset) and the epochs holding accuracy/loss per split."""

    seeds: tuple[int, ...]
    epochs: dict[str, tuple[int, ...]]


def _layout(schedule: int, dataset: str) -> RunLayout:
    every = tuple(range(schedule))
    if schedule == 12:
        seeds = (111, 777) if dataset == "cifar10-valid" else (111,)
        return RunLayout(seeds, {split: every for split in SPLITS_OF[dataset]})
    last = (schedule - 1,)
    if dataset == "cifar10-valid":
        epochs = {"train": every, "x-valid": every, "ori-test": last}
    elif dataset == "cifar10":
        epochs = {"train": every, "ori-test": every}
    else:
        epochs = {"train": every, "ori-test": every, "x-valid": last, "x-test": last}
    return RunLayout((777, 888, 999), epochs)


OFFICIAL_LAYOUT: Final[dict[tuple[int, str], RunLayout]] = {(s, d): _layout(s, d) for s in (12, 200) for d in DATASETS}
"""The official schema: ``(schedule, dataset)`` -> seeds and per-split accuracy/loss epochs."""


def check_meta_archs(meta_archs: Any, where: str) -> None:
    """Raise unless ``meta_archs`` is the official list of arch strings in index order."""
    if not isinstance(meta_archs, list) or len(meta_archs) != NUM_ARCHS:
        size = len(meta_archs) if hasattr(meta_archs, "__len__") else "?"
        raise SourceFormatError(
            f"{where}: meta_archs must be a list of {NUM_ARCHS} arch strings, got "
            f"{type(meta_archs).__name__} of length {size}"
        )
    for i, text in enumerate(meta_archs):
        if text != arch_str(i):
            raise SourceFormatError(
                f"{where}: meta_archs[{i}] is {text!r}, the official index order has "
                f"{arch_str(i)!r}: this is not the official NB201 / NATS-tss ordering"
            )


def index_ranges(mask: np.ndarray) -> list[list[int]]:
    """Return the runs of True in ``mask`` as half-open ``[start, stop)`` pairs."""
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [[int(a), int(b)] for a, b in zip(edges[::2], edges[1::2])]


def check_header(header: dict[str, Any], where: str) -> None:
    """Check ``total_archs`` and ``meta_archs`` of a single-file source's top-level dict."""
    if header.get("total_archs") != NUM_ARCHS:
        raise SourceFormatError(f"{where}: total_archs is {header.get('total_archs')!r}, expected {NUM_ARCHS}")
    check_meta_archs(header.get("meta_archs"), where)
