"""Open a store: read its manifest, check file sizes at once and checksums before any value is used."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np

from nb201_env.names import check_choice
from nb201_env.store.codec import CorruptStoreError, MissingRecordError, StoreError, manifest_from_json
from nb201_env.store.schema import MANIFEST, ArrayFile, Manifest, RecordInfo, RecordKey, StatInfo, StatKey
from nb201_env.store.writer import file_sha256

Verify = Literal["lazy", "full", "size"]
VERIFY_MODES = ("lazy", "full", "size")


class Store:
    """A read-only, memory-mapped store.

    Args:
        path: the store directory (the one holding ``manifest.json``).
        verify: ``"lazy"`` (default) checks every file's size on open and its SHA-256 the first time the
            file is read; ``"full"`` checksums everything on open; ``"size"`` checks sizes only (for trusted,
            read-only media).
    """

    def __init__(self, path: str | os.PathLike[str], verify: Verify = "lazy") -> None:
        check_choice("verify mode", verify, VERIFY_MODES)
        self.path = Path(path)
        manifest_path = self.path / MANIFEST
        if not manifest_path.is_file():
            raise StoreError(
                f"no store at {self.path}: {MANIFEST} is missing. Build one with `nb201 convert` "
                "(see `nb201 convert --help`)"
            )
        self.manifest: Manifest = manifest_from_json(manifest_path.read_text(), str(manifest_path))
        self._verify = verify
        self._checked: set[str] = set()
        self._arrays: dict[str, np.ndarray] = {}
        for entry in self._files():
            self._check_size(entry)
        if verify == "full":
            self.verify()

    @classmethod
    def open(cls, path: str | os.PathLike[str], verify: Verify = "lazy") -> Store:
        """Open the store at ``path``."""
        return cls(path, verify)

    def _files(self) -> list[ArrayFile]:
        entries = [r.array for r in self.manifest.records.values()]
        entries += [r.estimate_mask for r in self.manifest.records.values() if r.estimate_mask is not None]
        entries += [s.array for s in self.manifest.stats.values()]
        return list({e.file: e for e in entries}.values())

    def _check_size(self, entry: ArrayFile) -> None:
        path = self.path / entry.file
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise CorruptStoreError(f"store {self.path} is missing {entry.file}; rebuild or re-download it") from None
        if size != entry.nbytes:
            raise CorruptStoreError(
                f"{path} is {size} bytes but the manifest says {entry.nbytes}: the file is truncated or altered"
            )

    def _check_hash(self, entry: ArrayFile) -> None:
        if entry.file in self._checked:
            return
        digest = file_sha256(self.path / entry.file)
        if digest != entry.sha256:
            raise CorruptStoreError(
                f"{self.path / entry.file} fails its checksum (sha256 {digest[:12]}... != {entry.sha256[:12]}...): "
                "the store is damaged; rebuild or re-download it"
            )
        self._checked.add(entry.file)

    def verify(self) -> None:
        """Checksum every file now; raise :class:`CorruptStoreError` on the first mismatch."""
        for entry in self._files():
            self._check_size(entry)
            self._check_hash(entry)

    def _load(self, entry: ArrayFile) -> np.ndarray:
        array = self._arrays.get(entry.file)
        if array is not None:
            return array
        if self._verify != "size":
            self._check_hash(entry)
        try:
            mapped = np.load(self.path / entry.file, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise CorruptStoreError(f"{self.path / entry.file} is not a valid .npy file: {exc}") from None
        if tuple(mapped.shape) != entry.shape or mapped.dtype.str != entry.dtype:
            raise CorruptStoreError(
                f"{self.path / entry.file} holds {mapped.dtype.str}{mapped.shape}, "
                f"the manifest says {entry.dtype}{entry.shape}"
            )
        array = np.asarray(mapped)  # a plain ndarray over the mapping: fast scalar indexing
        self._arrays[entry.file] = array
        return array

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def records(self) -> dict[RecordKey, RecordInfo]:
        return self.manifest.records

    @property
    def stats(self) -> dict[StatKey, StatInfo]:
        return self.manifest.stats

    def record_info(self, key: RecordKey) -> RecordInfo:
        """Return the manifest entry of a record, or raise ``KeyError`` listing the records held."""
        info = self.manifest.records.get(key)
        if info is None:
            same = [k for k in sorted(self.manifest.records) if k.dataset == key.dataset]
            held = ", ".join(f"{k.split}/{k.metric}@{k.schedule}" for k in same) or "nothing"
            raise MissingRecordError(
                f"store {self.name!r} has no record {key.name}; for {key.dataset} it holds: {held}"
            )
        return info

    def record(self, key: RecordKey) -> np.ndarray:
        """Return the read-only ``(15625, seeds, epochs)`` float64 array of a record."""
        return self._load(self.record_info(key).array)

    def estimate_mask(self, key: RecordKey) -> np.ndarray | None:
        """Return the per-arch mask of estimated values of a record (``None`` when all or none are)."""
        info = self.record_info(key)
        return None if info.estimate_mask is None else self._load(info.estimate_mask)

    def stat(self, key: StatKey) -> np.ndarray:
        """Return the read-only per-architecture float64 array of a stat."""
        info = self.manifest.stats.get(key)
        if info is None:
            held = ", ".join(k.name for k in sorted(self.manifest.stats) if k.stat == key.stat) or "none"
            raise MissingRecordError(f"store {self.name!r} has no stat {key.name}; of {key.stat} it holds: {held}")
        return self._load(info.array)

    def size_bytes(self) -> int:
        """Return the total size of the store's array files."""
        return sum(e.nbytes for e in self._files())
