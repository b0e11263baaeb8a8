"""Convert the official NATS-Bench topology (tss) files into a store.

Accepted sources: the ``NATS-tss-v1_0-3ffb9-simple/`` directory (``{index:06d}.pickle.pbz2`` or
``{index}.pickle.pbz2`` per arch, plus ``meta.pickle.pbz2``), its ``.tar`` (members are streamed, never
extracted), and the non-fast single file ``NATS-tss-v1_0-3ffb9.pickle.pbz2``. Per-arch files go through the
C restricted unpickler with decompression in a helper thread; the single file through the streaming parser.
A directory or tar holding only some archs converts those and leaves NaN elsewhere; the manifest's ``extra``
says which archs are present as ``[start, stop)`` ranges (compact both for the full set and for samples, and
readable without loading any array).
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import tarfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb201_env.importers.errors import CorruptSourceError, SourceFormatError, UnsafePickleError
from nb201_env.importers.official import (
    NATS_SOURCE,
    TIME_AXES,
    OfficialRecords,
    add_arch_container,
    check_header,
    check_meta_archs,
)
from nb201_env.importers.pickle_stream import Arch2InfosStream
from nb201_env.importers.readahead import ReadAhead, bz2_chunks, bz2_decompress
from nb201_env.importers.safe_unpickle import safe_loads
from nb201_env.space import NUM_ARCHS
from nb201_env.store.destination import check_destination
from nb201_env.store.writer import StoreWriter
from nb201_env.validate import check_choice, check_path

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
HPS = {"12": 12, "200": 200}
META_FILE = "meta.pickle.pbz2"
SOURCE_ID = "nats-tss"
_ARCH_FILE = re.compile(r"^(\d+)\.pickle\.pbz2$")
_LOOKAHEAD = 4  # per-arch files decompressed ahead of the parser: bounded memory, both cores busy
MAX_FILE_BYTES = 16 << 20
"""Largest per-arch or meta file accepted, compressed and decompressed (the official ones: 85 KB / 1.4 MB)."""
MAX_SINGLE_FILE_BYTES = 16 << 30
"""Largest decompressed size of the single-file layout (every official arch entry takes about 330 KB: ~5 GB)."""


def load_member(name: str, blob: bytes) -> Any:
    """Decompress and restricted-unpickle one ``.pickle.pbz2`` file's bytes; errors name the file."""
    return _unpickle(name, _decompress(name, blob))


def _decompress(name: str, blob: bytes) -> bytes:
    try:
        return bz2_decompress(blob, MAX_FILE_BYTES, name)
    except (OSError, ValueError, EOFError) as exc:
        raise CorruptSourceError(f"{name}: not a complete bz2 file ({exc}); the file is truncated or damaged") from None


def _unpickle(name: str, raw: bytes) -> Any:
    try:
        return safe_loads(raw)
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{name}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise CorruptSourceError(f"{name}: truncated or malformed pickle ({type(exc).__name__}: {exc})") from None


def _classify(names: list[str], where: str) -> tuple[dict[int, str], str | None]:
    """Split member names into ``{index: name}`` and the meta file; reject duplicates and bad indices."""
    archs: dict[int, str] = {}
    meta = None
    for name in names:
        base = name.rsplit("/", 1)[-1]
        if base == META_FILE:
            meta = name
            continue
        match = _ARCH_FILE.match(base)
        if match is None:
            log.warning("%s: ignoring %s (not an arch or meta file of the NATS -simple layout)", where, name)
            continue
        index = int(match.group(1))
        if index >= NUM_ARCHS:
            raise SourceFormatError(f"{where}: {name} names arch {index}; valid indices are 0..{NUM_ARCHS - 1}")
        if index in archs:
            raise SourceFormatError(f"{where}: arch {index} appears twice ({archs[index]} and {name})")
        archs[index] = name
    return archs, meta


def _members(source: Path) -> tuple[dict[int, str], str | None, Callable[[str], bytes], Callable[[], None]]:
    """Return ``(arch files, meta file, read(name) -> bytes, close)`` for a directory or a tar."""
    if source.is_dir():
        archs, meta = _classify(sorted(p.name for p in source.iterdir() if p.is_file()), str(source))

        def read_file(name: str) -> bytes:
            _check_size(name, (source / name).stat().st_size)
            return (source / name).read_bytes()

        return archs, meta, read_file, lambda: None
    try:
        tar = tarfile.open(source, "r:*")  # noqa: SIM115 - closed by the returned close()
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise CorruptSourceError(f"{source}: cannot read the tar archive ({exc})") from None

    def read(name: str) -> bytes:
        _check_size(name, members[name].size)
        try:
            return tar.extractfile(members[name]).read()  # type: ignore[union-attr]
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise CorruptSourceError(f"{source}: cannot read member {name} ({exc})") from None

    archs, meta = _classify(sorted(members), str(source))
    return archs, meta, read, tar.close


def _check_size(name: str, size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise UnsafePickleError(
            f"{name}: refusing a {size:,}-byte file; official per-arch and meta files are under "
            f"{MAX_FILE_BYTES:,} bytes"
        )


@dataclass
class _Files:
    """The arch files of a directory or tar, checked against the layout before any store is created."""

    archs: dict[int, str]
    read: Callable[[str], bytes]
    close: Callable[[], None]


def _open_files(source: Path) -> _Files:
    archs, meta, read, close = _members(source)
    try:
        if meta is None:
            raise SourceFormatError(f"{source}: {META_FILE} is missing; the NATS -simple layout always has it")
        meta_obj = load_member(meta, read(meta))
        if not isinstance(meta_obj, dict):
            raise SourceFormatError(f"{meta}: expected a dict, got {type(meta_obj).__name__}")
        check_meta_archs(meta_obj.get("meta_archs"), meta)
        if not archs:
            raise SourceFormatError(f"{source}: no arch files ('<index>.pickle.pbz2') found")
    except BaseException:
        close()
        raise
    return _Files(archs, read, close)


def _convert_files(records: OfficialRecords, files: _Files, progress: Progress | None) -> None:
    total = len(files.archs)
    for done, (index, name, obj) in enumerate(_loaded(files.archs, files.read), start=1):
        add_arch_container(records, index, obj, HPS, name)
        if progress is not None:
            progress(done, total)


def _loaded(archs: dict[int, str], read: Callable[[str], bytes]) -> Iterator[tuple[int, str, Any]]:
    """Yield ``(index, name, object)`` in index order, reading and decompressing ahead in one thread."""

    def fetch(name: str) -> bytes:
        return _decompress(name, read(name))  # bz2 releases the GIL: this overlaps with unpickling

    with ThreadPoolExecutor(1, thread_name_prefix="nats-read") as pool:
        pending: deque[tuple[int, str, Future[bytes]]] = deque()
        for index, name in sorted(archs.items()):
            pending.append((index, name, pool.submit(fetch, name)))
            if len(pending) > _LOOKAHEAD:
                yield _ready(*pending.popleft())
        while pending:
            yield _ready(*pending.popleft())


def _ready(index: int, name: str, future: Future[bytes]) -> tuple[int, str, Any]:
    return index, name, _unpickle(name, future.result())


def _convert_single(records: OfficialRecords, source: Path, progress: Progress | None) -> None:
    where = source.name
    try:
        with ReadAhead(bz2_chunks(source, limit=MAX_SINGLE_FILE_BYTES)) as reader:
            stream = Arch2InfosStream(reader, name=where)
            done = 0
            for index, value in stream:
                if done == 0:
                    check_header(stream.header, where)
                add_arch_container(records, index, value, HPS, where)
                done += 1
                if progress is not None:
                    progress(done, NUM_ARCHS)
    except (OSError, EOFError) as exc:
        raise CorruptSourceError(
            f"{where}: not a complete bz2 file ({exc}); the file is truncated or damaged"
        ) from None
    if done == 0:
        raise SourceFormatError(f"{where}: no arch2infos entries found; is this NATS-tss-v1_0-3ffb9.pickle.pbz2?")


def _kind(source: Path) -> str:
    if source.is_dir():
        return "directory"
    if not source.exists():
        raise FileNotFoundError(f"NATS source {source} does not exist")
    if not source.is_file():
        raise SourceFormatError(
            f"{source} is not a regular file or folder (a device or pipe); give the NATS-tss-v1_0-3ffb9-simple "
            "folder, its .tar, or NATS-tss-v1_0-3ffb9.pickle.pbz2"
        )
    with open(source, "rb") as fh:
        head = fh.read(3)
    if head == b"BZh" and source.name.endswith(".pickle.pbz2"):
        return "single file"
    if tarfile.is_tarfile(source):
        return "tar"
    raise SourceFormatError(
        f"{source} is neither a NATS -simple directory, its .tar, nor a NATS-tss-v1_0-3ffb9.pickle.pbz2 file"
    )


def convert_nats(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    time_axes: str = "constant",
    progress: Progress | None = None,
) -> Path:
    """Convert a NATS-Bench tss source (directory, tar or single file) into a store at ``out``; return its path."""
    src = Path(check_path("source", source)).expanduser()
    check_choice("time_axes", time_axes, TIME_AXES)
    kind = _kind(src)
    check_destination(out, overwrite=overwrite, protect=(src,))
    files = None if kind == "single file" else _open_files(src)  # layout errors surface before any writing
    try:
        description = f"NATS-Bench topology (tss) results converted from {src.name}"
        with StoreWriter(out, "nats-tss", description, overwrite=overwrite, protect=(src,)) as writer:
            writer.add_source(SOURCE_ID, NATS_SOURCE)
            records = OfficialRecords(writer, SOURCE_ID, time_axes=time_axes)
            if files is None:
                _convert_single(records, src, progress)
            else:
                _convert_files(records, files, progress)
            writer.extra.update(records.summary())
            writer.extra["source_format"] = f"NATS-tss {kind}"
            writer.extra["source_name"] = src.name
            path = writer.commit()
    finally:
        if files is not None:
            files.close()
    log.info("converted %s (%s) into %s", src, kind, path)
    return path
