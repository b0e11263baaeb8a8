"""Read (and decompress) a file in a background thread so that decompression overlaps with parsing."""

from __future__ import annotations

import bz2
import os
import queue
import threading
from collections.abc import Iterator
from typing import IO, Any

_DONE = object()


def _file_chunks(fileobj: IO[bytes], chunk_size: int) -> Iterator[bytes]:
    while chunk := fileobj.read(chunk_size):
        yield chunk


def bz2_chunks(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """Yield the decompressed bytes of a (possibly multi-stream) ``.bz2`` file in chunks of at most ``chunk_size``.

    One large ``decompress`` call per block keeps the GIL released for long stretches; ``bz2.BZ2File`` feeds
    8 KB at a time, and each of its calls then waits for the GIL behind the parsing thread.
    """
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
