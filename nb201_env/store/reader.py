"""Open a store: read its sealed manifest, check file sizes at once and checksums before any value is used.

Arrays are read into memory when first used (:mod:`~nb201_env.store.arrays`), so a store file that is
truncated or rewritten while a process has the store open can neither crash it nor change its answers.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Literal

import numpy as np

from nb201_env.store.arrays import read_array
from nb201_env.store.checks import file_sha256
from nb201_env.store.codec import manifest_from_json, read_manifest_text
from nb201_env.store.destination import absolute, missing_store_note
from nb201_env.store.errors import CorruptStoreError, MissingRecordError, StoreError
from nb201_env.store.schema import MANIFEST, ArrayFile, Manifest, RecordInfo, RecordKey, StatInfo, StatKey
from nb201_env.validate import check_choice, check_path

Verify = Literal["lazy", "full", "size"]
VERIFY_MODES = ("lazy", "full", "size")
DEFAULT_VERIFY: Verify = "lazy"
VERIFY_CATCHES = {
    "lazy": "checks the manifest's seal, keys, file names and every file's size on open, and each array's .npy "
    "header and SHA-256 the first time the array is read (over the very bytes then kept in memory), so a flipped "
    "byte inside an array is caught before any of its values is used",
    "full": "checks everything 'lazy' does, with every file's header and SHA-256 also checked on open",
    "size": "checks the manifest's seal, keys, file names and sizes on open and each header when read, but no "
    "checksums: a flipped byte inside an array goes unnoticed (for trusted, read-only media)",
}
"""What each verify mode catches (shown by ``nb201 info``)."""


def array_files(manifest: Manifest) -> list[ArrayFile]:
    """Return every file entry of a manifest once (identical arrays share one file)."""
    entries = [r.array for r in manifest.records.values()]
    entries += [r.estimate_mask for r in manifest.records.values() if r.estimate_mask is not None]
    entries += [s.array for s in manifest.stats.values()]
    return list({e.file: e for e in entries}.values())


def check_file_size(root: Path, entry: ArrayFile) -> None:
    """Raise unless the entry's file is a regular file inside ``root`` (not a link) of the manifest's size."""
    path = root / entry.file
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise CorruptStoreError(f"store {root} is missing {entry.file}; rebuild or re-download it") from None
    if not stat.S_ISREG(info.st_mode):
        raise CorruptStoreError(f"{path} is not a regular file (a link or a folder); a store holds its own arrays")
    if info.st_size != entry.nbytes:
        raise CorruptStoreError(
            f"{path} is {info.st_size} bytes but the manifest says {entry.nbytes}: the file is truncated or altered"
        )


def check_file_hash(root: Path, entry: ArrayFile) -> None:
    """Raise unless the entry's file has the manifest's SHA-256."""
    digest = file_sha256(root / entry.file)
    if digest != entry.sha256:
        raise CorruptStoreError(
            f"{root / entry.file} fails its checksum (sha256 {digest[:12]}... != {entry.sha256[:12]}...): "
            "the store is damaged; rebuild or re-download it"
        )


def check_file_header(root: Path, entry: ArrayFile) -> None:
    """Raise unless the entry's ``.npy`` header declares the manifest's shape and dtype."""
    path = root / entry.file
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(fh)
    except ValueError as exc:
        raise CorruptStoreError(f"{path} is not a valid .npy file: {exc}") from None
    _check_layout(path, entry, tuple(shape), dtype)


def _check_layout(path: Path, entry: ArrayFile, shape: tuple[int, ...], dtype: np.dtype) -> None:
    if shape != entry.shape or dtype.str != entry.dtype:
        raise CorruptStoreError(
            f"{path} holds {dtype.str}{shape}, the manifest says {entry.dtype}{entry.shape}: the array does not "
            "match its record"
        )


class Store:
    """A read-only store whose arrays are read into memory, checked, the first time each is used.

    Once read, an array is kept: a store file truncated or rewritten later (by another process, or a new
    conversion into the same path) changes nothing this instance answers; open the store again to read the
    new files. Memory grows by the size of each array used (an NB201 record at 12 epochs is 4.5 MB, at 200
    epochs and 3 seeds 75 MB), not by the size of the store.

    Args:
        path: the store directory (the one holding ``manifest.json``).
        verify: ``"lazy"`` (default) checks the manifest's seal and every file's size on open, and each file's
            header and SHA-256 when it is read; ``"full"`` also checksums everything on open; ``"size"``
            skips checksums (for trusted, read-only media). See :data:`VERIFY_CATCHES`.
    """

    def __init__(self, path: str | os.PathLike[str], verify: Verify = DEFAULT_VERIFY) -> None:
        check_path("store path", path)
        self.verify_mode: Verify = check_choice("verify mode", verify, VERIFY_MODES)  # type: ignore[assignment]
        self.path = Path(path).expanduser()
        manifest_path = self.path / MANIFEST
        if not manifest_path.is_file():
            raise StoreError(
                f"no store at {self.path}: {MANIFEST} is missing{missing_store_note(absolute(self.path))}. Build one "
                "with `nb201 convert` (see `nb201 convert --help`)"
            )
        self.manifest: Manifest = manifest_from_json(read_manifest_text(manifest_path), str(manifest_path))
        self._arrays: dict[str, np.ndarray] = {}
        for entry in self._files():
            check_file_size(self.path, entry)
        if verify == "full":
            self.verify()

    @classmethod
    def open(cls, path: str | os.PathLike[str], verify: Verify = "lazy") -> Store:
        """Open the store at ``path``."""
        return cls(path, verify)

    def _files(self) -> list[ArrayFile]:
        return array_files(self.manifest)

    def verify(self) -> None:
        """Check every file's size, header and SHA-256 now; raise :class:`CorruptStoreError` on the first mismatch."""
        for entry in self._files():
            check_file_size(self.path, entry)
            check_file_header(self.path, entry)
            check_file_hash(self.path, entry)

    def _load(self, entry: ArrayFile) -> np.ndarray:
        array = self._arrays.get(entry.file)
        if array is None:
            array = self._arrays[entry.file] = read_array(self.path, entry, checksum=self.verify_mode != "size")
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
