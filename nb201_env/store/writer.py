"""Write a store: memory-mapped arrays filled in place, checksummed and moved into place on commit.

Importers stream their source into the arrays this writer hands out, so memory stays bounded by what the
OS keeps of the mapped files. Each file's disk space is reserved before it is mapped, so a full disk is an
``OSError`` (``No space left on device``) when the array is added, never a SIGBUS while it is filled.
Nothing appears at the destination until :meth:`StoreWriter.commit` succeeds; an existing store there is
only replaced when asked, only if it is a store we wrote (see :mod:`~nb201_env.store.destination`), and
only after the new one is complete; a swap that is interrupted is undone (see :func:`~nb201_env.store.
destination.swap_into_place`).
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nb201_env.space import NUM_ARCHS
from nb201_env.store.checks import file_sha256
from nb201_env.store.codec import ARCH_ORDER_SHA256, manifest_to_json
from nb201_env.store.destination import check_destination, clean_stale_scratch, foreign_entry, swap_into_place
from nb201_env.store.errors import StoreError
from nb201_env.store.reserve import reserve_npy
from nb201_env.store.schema import (
    MANIFEST,
    ArrayFile,
    Manifest,
    RecordInfo,
    RecordKey,
    SeedAxis,
    Source,
    StatInfo,
    StatKey,
)

log = logging.getLogger(__name__)


class StoreWriter:
    """Build a new store at ``path``; use as a context manager so a failure leaves nothing behind.

    ``path`` may be relative, absolute or start with ``~``. ``protect`` names the sources being converted:
    the store may neither be one of them nor a folder above one.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        name: str,
        description: str,
        *,
        overwrite: bool = False,
        extra: dict[str, Any] | None = None,
        protect: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        self.path = check_destination(path, overwrite=overwrite, protect=protect)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_scratch(self.path.parent, self.path.name)
        self._scratch = self.path.parent / f".{self.path.name}.partial-{os.getpid()}"
        if self._scratch.exists():
            shutil.rmtree(self._scratch)
        self._scratch.mkdir()
        self.name, self.description, self.overwrite = name, description, overwrite
        self.extra = dict(extra or {})
        self._sources: dict[str, Source] = {}
        self._records: dict[RecordKey, tuple[SeedAxis, tuple[int, ...] | None, str, Path]] = {}
        self._stats: dict[StatKey, tuple[str, str, Path]] = {}
        self._masks: dict[RecordKey, Path] = {}
        self._arrays: dict[Path, np.memmap] = {}
        self._done = False

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None or not self._done:
            self.abort()

    def add_source(self, source_id: str, source: Source) -> None:
        """Register where a group of figures came from."""
        self._sources[source_id] = source

    def _new_array(self, stem: str, shape: tuple[int, ...], dtype: str, fill: float | bool) -> tuple[Path, np.memmap]:
        # keyed by the path made here: np.memmap.filename is absolute, and this one is too only by convention
        path = self._scratch / f"{stem}-{len(self._arrays)}.npy"
        reserve_npy(path, np.dtype(dtype), shape)
        array = np.lib.format.open_memmap(path, mode="r+")
        array[...] = fill
        self._arrays[path] = array
        return path, array

    def add_record(self, key: RecordKey, seeds: SeedAxis, epochs: Sequence[int] | None, source: str) -> np.memmap:
        """Create the float64 ``(15625, seeds, epochs)`` array of a record, filled with NaN, and return it."""
        if key in self._records:
            raise StoreError(f"record {key.name} was already added")
        if epochs is not None:
            epochs = tuple(int(e) for e in epochs)
            if not epochs or list(epochs) != sorted(set(epochs)) or epochs[0] < 0 or epochs[-1] >= key.schedule:
                raise ValueError(
                    f"epochs of {key.name} must be distinct, ascending and within 0..{key.schedule - 1}, got {epochs}"
                )
        shape = (NUM_ARCHS, seeds.size, 1 if epochs is None else len(epochs))
        path, array = self._new_array("record", shape, "float64", np.nan)
        self._records[key] = (seeds, epochs, source, path)
        return array

    def add_stat(self, key: StatKey, source: str, unit: str) -> np.memmap:
        """Create the float64 per-architecture array of a stat, filled with NaN, and return it."""
        if key in self._stats:
            raise StoreError(f"stat {key.name} was already added")
        path, array = self._new_array("stat", (NUM_ARCHS,), "float64", np.nan)
        self._stats[key] = (source, unit, path)
        return array

    def set_estimate_mask(self, key: RecordKey, mask: np.ndarray) -> None:
        """Mark which architectures' values of a record are estimates rather than recorded figures."""
        if key not in self._records:
            raise StoreError(f"no record {key.name} to mark; add it first")
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (NUM_ARCHS,):
            raise ValueError(f"estimate mask must have shape ({NUM_ARCHS},), got {mask.shape}")
        path, array = self._new_array("mask", (NUM_ARCHS,), "bool", False)
        array[:] = mask
        self._masks[key] = path

    def _finalize(self, path: Path, by_hash: dict[str, ArrayFile]) -> ArrayFile:
        array = self._arrays[path]
        array.flush()
        shape, dtype = tuple(array.shape), array.dtype.str
        del array
        digest = file_sha256(path)
        if digest in by_hash:  # identical content already stored: keep one file
            path.unlink()
            return by_hash[digest]
        final = path.with_name(f"{digest[:20]}.npy")
        path.rename(final)
        entry = ArrayFile(final.name, digest, final.stat().st_size, shape, dtype)
        by_hash[digest] = entry
        return entry

    def commit(self) -> Path:
        """Checksum every array, write the manifest and move the store into place; return its path."""
        used = {info[2] for info in self._records.values()} | {info[0] for info in self._stats.values()}
        missing = used - set(self._sources)
        if missing:
            raise StoreError(f"sources {sorted(missing)} are used but were never added with add_source()")
        by_hash: dict[str, ArrayFile] = {}
        records = {}
        for key, (seeds, epochs, source, path) in self._records.items():
            mask = self._finalize(self._masks[key], by_hash) if key in self._masks else None
            records[key] = RecordInfo(key, seeds, epochs, source, self._finalize(path, by_hash), mask)
        stats = {
            key: StatInfo(key, source, unit, self._finalize(path, by_hash))
            for key, (source, unit, path) in self._stats.items()
        }
        self._arrays.clear()
        from nb201_env import __version__

        manifest = Manifest(
            name=self.name,
            description=self.description,
            created_utc=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            created_by=f"nb201_env {__version__}",
            num_archs=NUM_ARCHS,
            arch_order_sha256=ARCH_ORDER_SHA256,
            sources=dict(self._sources),
            records=records,
            stats=stats,
            extra=self.extra,
        )
        (self._scratch / MANIFEST).write_text(manifest_to_json(manifest))
        self._move_into_place()
        self._done = True
        log.info("wrote store %s (%d records, %d stats)", self.path, len(records), len(stats))
        return self.path

    def _move_into_place(self) -> None:
        if not (self.path.exists() or self.path.is_symlink()):
            self._scratch.rename(self.path)
            return
        why = foreign_entry(self.path) if self.overwrite else "overwrite was not asked for"
        if why is not None:
            self._done = True  # keep the finished store where it is
            raise StoreError(
                f"{self.path} appeared while writing and cannot be replaced ({why}); the new store is kept at "
                f"{self._scratch}"
            )
        swap_into_place(self._scratch, self.path)

    def abort(self) -> None:
        """Discard everything written so far; the destination is untouched."""
        self._arrays.clear()
        if self._scratch.exists():
            shutil.rmtree(self._scratch, ignore_errors=True)
