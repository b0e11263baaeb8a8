"""Create a ``.npy`` file with its disk space reserved, so that filling it through a memory map cannot crash.

Writing through a memory map into a file whose blocks are not allocated yet asks the file system for space
on each first touch of a page; on a full disk the kernel can only answer with SIGBUS, which kills the
writer and leaves its scratch folder behind. Reserving every block first (``posix_fallocate``) turns a full
disk into an ``OSError`` before anything is mapped, which the writer reports and cleans up after.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Final

import numpy as np

from nb201_env.store.errors import StoreError

_UNSUPPORTED: Final = {errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS}
_ZEROS: Final = bytes(1 << 20)


def reserve_npy(path: Path, dtype: np.dtype, shape: tuple[int, ...]) -> None:
    """Create ``path``: a version 1.0 ``.npy`` header for ``dtype`` and ``shape`` and all its data blocks, zeroed."""
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(shape)}
    count = 1
    for n in shape:
        count *= n
    with open(path, "xb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        fh.flush()
        size = fh.tell() + count * dtype.itemsize
        try:
            _reserve(fh.fileno(), size)
        except OSError as exc:
            raise StoreError(
                f"cannot reserve {size / 1e6:.1f} MB for {path.name} in {path.parent}: {exc.strerror or exc}; free "
                "some space or write the store elsewhere (nothing was written at the destination)"
            ) from None


def _reserve(fd: int, size: int) -> None:
    """Allocate the blocks of ``[0, size)``; write zeros where the file system cannot allocate without writing."""
    allocate = getattr(os, "posix_fallocate", None)
    if allocate is not None:
        try:
            allocate(fd, 0, size)
            return
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
    os.lseek(fd, 0, os.SEEK_END)
    done = os.lseek(fd, 0, os.SEEK_CUR)
    while done < size:
        done += os.write(fd, _ZEROS[: min(len(_ZEROS), size - done)])
