"""Read (and decompress) a file in a background thread so that decompression overlaps with parsing.

Decompression is bounded: a few kilobytes of bz2 can expand to gigabytes, so every caller says how much the
official layout can hold and more is refused with :class:`~nb201_env.importers.errors.UnsafePickleError`.
"""

from __future__ import annotations

import bz2
import os
import queue
import threading
from collections.abc import Iterator
from typing import IO, Any

from nb201_env.importers.errors import UnsafePickleError

_DONE = object()


def _too_large(limit: int, name: str) -> UnsafePickleError:
    return UnsafePickleError(
        f"{name}: refusing to decompress more than {limit:,} bytes: the official file of this kind is smaller, so "
        "this is not one (or it is a decompression bomb)"
    )


def bz2_decompress(blob: bytes, limit: int, name: str = "bz2 data") -> bytes:
    """Return the decompressed bytes of a (possibly multi-stream) bz2 blob, refusing more than ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        decompressor = bz2.BZ2Decompressor()
        out = decompressor.decompress(blob, limit - size + 1)
        size += len(out)
        parts.append(out)
        if size > limit:
            raise _too_large(limit, name)
        if not decompressor.eof:
            if decompressor.needs_input:
                raise EOFError("Compressed data ended before the end-of-stream marker was reached")
            raise _too_large(limit, name)  # output pending beyond the limit
        blob = decompressor.unused_data
        if not blob:
            return b"".join(parts)


def _file_chunks(fileobj: IO[bytes], chunk_size: int) -> Iterator[bytes]:
    while chunk := fileobj.read(chunk_size):
        yield chunk


def bz2_chunks(path: str | os.PathLike[str], chunk_size: int = 1 << 20, limit: int | None = None) -> Iterator[bytes]:
    """Yield the decompressed bytes of a (possibly multi-stream) ``.bz2`` file in chunks of at most ``chunk_size``.

    One large ``decompress`` call per block keeps the GIL released for long stretches; ``bz2.BZ2File`` feeds
    8 KB at a time, and each of its calls then waits for the GIL behind the parsing thread. More than
    ``limit`` decompressed bytes in total are refused.
    """
    total = 0
    with open(path, "rb") as fh:
        decompressor = bz2.BZ2Decompressor()
        pending = b""
        while True:
            if decompressor.eof:
                pending = decompressor.unused_data + pending
                if not pending and not (pending := fh.read(chunk_size)):
                    return
                decompressor = bz2.BZ2Decompressor()
            if decompressor.needs_input and not pending:
                pending = fh.read(chunk_size)
                if not pending:
                    raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            out = decompressor.decompress(pending, chunk_size)
            pending = b""
            total += len(out)
            if limit is not None and total > limit:
                raise _too_large(limit, os.path.basename(path))
            if out:
                yield out


class ReadAhead:
    """Serve the chunks of a file object (or any chunk iterator) from a bounded queue filled by a thread.

    ``bz2`` releases the GIL while decompressing, so on two cores the decompression of the next chunks runs
    while Python parses the current one. ``read(n)`` returns the next chunk (any size) or ``b""`` at the end;
    an error in the reader thread is raised by the ``read`` that reaches it.
    """

    def __init__(self, source: IO[bytes] | Iterator[bytes], chunk_size: int = 1 << 20, depth: int = 8) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(depth)
        self._stop = threading.Event()
        self._ended = False
        chunks = _file_chunks(source, chunk_size) if hasattr(source, "read") else source  # type: ignore[arg-type]
        self._thread = threading.Thread(target=self._run, args=(chunks,), daemon=True)
        self._thread.start()

    def _run(self, chunks: Iterator[bytes]) -> None:
        try:
            for chunk in chunks:
                if self._stop.is_set():
                    return
                self._put(chunk)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)
            return
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # a generator: closes the file it reads
        self._put(_DONE)

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, n: int = -1) -> bytes:
        """Return the next chunk, or ``b""`` once the file is exhausted."""
        if self._ended:
            return b""
        item = self._queue.get()
        if item is _DONE:
            self._ended = True
            return b""
        if isinstance(item, BaseException):
            self._ended = True
            raise item
        return item

    def close(self) -> None:
        """Stop the reader thread and wait for it."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
