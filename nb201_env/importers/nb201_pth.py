"""Convert the official NAS-Bench-201 ``.pth`` (v1_0 / v1_1) into a store, without torch.

The official files were written by ``torch.save`` in its legacy (non-zip) format: five consecutive protocol-2
pickles -- magic number, protocol version 1001, a ``sys_info`` dict, the main object and the list of tensor
storage keys (empty: the file holds no tensors). The first three and the last are tiny and go through the C
restricted unpickler; the ~5 GB main object through the streaming parser, so memory stays bounded. Its
``arch2infos`` maps each index to ``{'less': hp 12, 'full': hp 200}``.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from nb201_env.importers.errors import CorruptSourceError, SourceFormatError
from nb201_env.importers.official import (
    NB201_SOURCE,
    TIME_AXES,
    OfficialRecords,
    add_arch_container,
    check_header,
)
from nb201_env.importers.pickle_stream import Arch2InfosStream
from nb201_env.importers.safe_unpickle import UnsafePickleError, safe_load, safe_loads
from nb201_env.space import NUM_ARCHS
from nb201_env.store.destination import check_destination
from nb201_env.store.writer import StoreWriter
from nb201_env.validate import check_choice, check_path

log = logging.getLogger(__name__)

HPS = {"less": 12, "full": 200}
SOURCE_ID = "nb201"
TORCH_MAGIC = 0x1950A86A20F9469CFC6C
TORCH_PROTOCOL = 1001
_ZIP_MAGIC = b"PK\x03\x04"


def _load_small(fh: IO[bytes], what: str, where: str) -> Any:
    try:
        return safe_load(fh)
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{where} ({what}): {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise CorruptSourceError(
            f"{where}: cannot read the {what} ({type(exc).__name__}: {exc}); the file is "
            "truncated or not a legacy torch file"
        ) from None


def _check_preamble(fh: IO[bytes], where: str) -> None:
    head = fh.read(4)
    fh.seek(0)
    if head == _ZIP_MAGIC:
        raise SourceFormatError(
            f"{where} is a zip-format torch file (torch >= 1.6 `torch.save`); the official NB201 files "
            "(NAS-Bench-201-v1_0-e61699.pth, NAS-Bench-201-v1_1-096897.pth) use the legacy format. Use the "
            "official download, not a re-saved copy."
        )
    if head[:2] != b"\x80\x02":
        raise SourceFormatError(
            f"{where} does not start with a protocol-2 pickle (got {head!r}); it is not a "
            "legacy torch.save file such as NAS-Bench-201-v1_1-096897.pth"
        )
    magic = _load_small(fh, "magic number", where)
    if magic != TORCH_MAGIC:
        raise SourceFormatError(f"{where}: torch magic number is {magic!r}, expected {TORCH_MAGIC:#x}")
    version = _load_small(fh, "protocol version", where)
    if version != TORCH_PROTOCOL:
        raise SourceFormatError(f"{where}: torch protocol version is {version!r}, expected {TORCH_PROTOCOL}")
    sys_info = _load_small(fh, "sys_info", where)
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise SourceFormatError(f"{where}: sys_info is {sys_info!r}; expected a dict with little_endian=True")


def _check_storage_keys(stream: Arch2InfosStream, fh: IO[bytes], where: str) -> None:
    tail = stream.leftover + fh.read(1 << 16)
    try:
        keys = safe_loads(tail)
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{where} (storage keys): {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise CorruptSourceError(
            f"{where}: cannot read the storage keys after the main object ({exc}); the file is truncated"
        ) from None
    if keys != []:
        raise SourceFormatError(
            f"{where}: the file holds tensor storages ({keys!r:.80}); the official NB201 files hold none"
        )


def convert_nb201_pth(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    time_axes: str = "constant",
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Convert ``NAS-Bench-201-v1_0-e61699.pth`` or ``-v1_1-096897.pth`` into a store at ``out``; return its path."""
    src = Path(check_path("source", source)).expanduser()
    check_choice("time_axes", time_axes, TIME_AXES)
    if not src.exists():
        raise FileNotFoundError(f"NB201 file {src} does not exist")
    if not src.is_file():
        raise SourceFormatError(
            f"{src} is not a regular file (a folder, device or pipe); give the path of "
            "NAS-Bench-201-v1_0-e61699.pth or NAS-Bench-201-v1_1-096897.pth"
        )
    check_destination(out, overwrite=overwrite, protect=(src,))  # before reading any of the 4.7 GB
    where = src.name
    with open(src, "rb") as fh:
        _check_preamble(fh, where)
        description = f"NAS-Bench-201 results converted from {where}"
        with StoreWriter(out, "nb201", description, overwrite=overwrite, protect=(src,)) as writer:
            writer.add_source(SOURCE_ID, NB201_SOURCE)
            records = OfficialRecords(writer, SOURCE_ID, time_axes=time_axes)
            stream = Arch2InfosStream(fh, name=f"{where} (main object)")
            done = 0
            for index, value in stream:
                if done == 0:
                    check_header(stream.header, where)
                add_arch_container(records, index, value, HPS, where)
                done += 1
                if progress is not None:
                    progress(done, NUM_ARCHS)
            if done == 0:
                raise SourceFormatError(f"{where}: the main object has no arch2infos entries")
            _check_storage_keys(stream, fh, where)
            writer.extra.update(records.summary())
            writer.extra["source_format"] = "NB201 legacy torch .pth"
            writer.extra["source_name"] = where
            path = writer.commit()
    log.info("converted %s into %s", src, path)
    return path
