"""Read a file object in a background thread so that decompression overlaps with parsing."""

from __future__ import annotations

import queue
import threading
from typing import IO, Any

_DONE = object()


class ReadAhead:
    """Wrap ``fileobj`` and serve its bytes chunk by chunk from a bounded queue filled by a thread.

    ``bz2`` releases the GIL while decompressing, so on two cores the decompression of the next chunks runs
    while Python parses the current one. ``read(n)`` returns the next chunk (any size) or ``b""`` at the end;
    an error in the reader thread is raised by the ``read`` that reaches it.
    """

    def __init__(self, fileobj: IO[bytes], chunk_size: int = 1 << 20, depth: int = 8) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(depth)
        self._stop = threading.Event()
        self._ended = False
        self._thread = threading.Thread(target=self._run, args=(fileobj, chunk_size), daemon=True)
        self._thread.start()

    def _run(self, fileobj: IO[bytes], chunk_size: int) -> None:
        try:
            while not self._stop.is_set():
                chunk = fileobj.read(chunk_size)
                if not chunk:
                    break
                self._put(chunk)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)
            return
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
