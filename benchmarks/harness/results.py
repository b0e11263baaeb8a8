"""The results file: one JSON line per finished run, appended and flushed as soon as the run ends.

A sweep that is interrupted (even mid-line) loses nothing already written: reading skips a torn last
line, and the harness skips every (agent, protocol, run) already present.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def run_key(record: dict[str, Any]) -> tuple[str, str, int]:
    """Return the identity of a run: (agent, protocol, run number)."""
    return record["agent"], record["protocol"], int(record["run"])


def read_results(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Return every complete record of a results file (none if it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.endswith("\n"):
                log.warning("%s:%d: ignoring a torn last line (the sweep was interrupted while writing)", path, number)
                break
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                log.warning("%s:%d: ignoring an unreadable line", path, number)
    return records


class ResultsWriter:
    """Append records to a results file, each line flushed to disk before the next run is reported."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held open for the whole sweep

    def _repair(self) -> None:
        """Cut a torn last line left by an interrupted write, so that new lines start cleanly."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as fh:
                fh.truncate(keep)

    def write(self, record: dict[str, Any]) -> None:
        """Append one record durably."""
        self._fh.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_pending(wanted: list[tuple[str, str, int]], done: list[dict[str, Any]]) -> Iterator[tuple[str, str, int]]:
    """Yield the runs of ``wanted`` that are not in ``done``."""
    finished = {run_key(r) for r in done}
    return (w for w in wanted if w not in finished)
