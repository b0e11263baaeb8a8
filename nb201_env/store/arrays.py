"""Read one array file of a store into memory, checking the very bytes that are kept.

A store is read, never memory-mapped: a mapped file that another process truncates kills the reader with
SIGBUS on its next query, and one rewritten in place changes the answers of a live process after its
checksum was checked. Reading each file once, in one pass that hashes the bytes as they arrive, closes both:
a short or changed file is refused before any of its values is used, and what is kept cannot change.
Queries index the resulting plain ndarray, as fast as the mapping they replace.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path
from typing import Final

import numpy as np

from nb201_env.store.errors import CorruptStoreError
from nb201_env.store.schema import ArrayFile

_CHUNK: Final = 1 << 22
_MAX_HEADER: Final = (1 << 16) + 16
"""Longest ``.npy`` preamble read (ours are 128 bytes; a version 1.0 preamble is at most 65,535 + 10)."""


def read_array(root: Path, entry: ArrayFile, *, checksum: bool = True) -> np.ndarray:
    """Return the read-only array of ``entry``, read into memory; raise :class:`CorruptStoreError` if it is not
    the manifest's (size, checksum unless ``checksum=False``, ``.npy`` header, shape and dtype)."""
    path = root / entry.file
    data = _read_exactly(path, entry.nbytes, entry.sha256 if checksum else None)
    array = _parse(path, entry, data)
    array.flags.writeable = False
    return array


def _read_exactly(path: Path, nbytes: int, sha256: str | None) -> bytearray:
    """Read the whole regular file ``path`` (never through a link), which must hold ``nbytes`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise CorruptStoreError(f"store {path.parent} is missing {path.name}; rebuild or re-download it") from None
    except OSError as exc:
        raise CorruptStoreError(f"cannot read {path}: {exc.strerror or exc} (a link, or not a readable file)") from None
    with open(fd, "rb", buffering=0, closefd=True) as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CorruptStoreError(f"{path} is not a regular file; a store holds its own arrays")
        data = bytearray(nbytes)
        view = memoryview(data)
        digest = hashlib.sha256()
        done = 0
        while done < nbytes:
            got = fh.readinto(view[done : done + _CHUNK])
            if not got:
                raise CorruptStoreError(
                    f"{path} ended after {done} of the manifest's {nbytes} bytes: the file was truncated (while "
                    "this process had the store open, or before); rebuild or re-download the store"
                )
            digest.update(view[done : done + got])
            done += got
        if fh.read(1):
            raise CorruptStoreError(f"{path} is longer than the manifest's {nbytes} bytes: the file was altered")
    if sha256 is not None and digest.hexdigest() != sha256:
        raise CorruptStoreError(
            f"{path} fails its checksum (sha256 {digest.hexdigest()[:12]}... != {sha256[:12]}...): the file was "
            "altered (while this process had the store open, or before); rebuild or re-download the store"
        )
    return data


def _parse(path: Path, entry: ArrayFile, data: bytearray) -> np.ndarray:
    """Return the array that the ``.npy`` bytes ``data`` hold, after checking its header against ``entry``."""
    head = io.BytesIO(bytes(data[:_MAX_HEADER]))
    try:
        version = np.lib.format.read_magic(head)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(head)
    except ValueError as exc:
        raise CorruptStoreError(f"{path} is not a valid .npy file: {exc}") from None
    shape = tuple(shape)
    if shape != entry.shape or dtype.str != entry.dtype or fortran:
        order = ", Fortran order" if fortran else ""
        raise CorruptStoreError(
            f"{path} holds {dtype.str}{shape}{order}, the manifest says {entry.dtype}{entry.shape}: the array does "
            "not match its record"
        )
    offset = head.tell()
    count = 1
    for n in shape:
        count *= n
    if offset + count * dtype.itemsize != len(data):
        raise CorruptStoreError(
            f"{path} has {len(data) - offset} bytes of data after its header, not the {count * dtype.itemsize} "
            "its shape needs"
        )
    return np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)
