"""The results file: one JSON line per finished run, appended and flushed as soon as the run ends.

A sweep that is interrupted (even mid-line) loses nothing already written: reading skips a torn last
line, and the harness skips every (agent, protocol, run) already present. Lines that are not a complete
record (unreadable JSON, or missing one of :data:`FIELDS`) are skipped and reported the same way, so their
runs are simply done again. The helpers at the end group records and name them in tables and files.
"""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

log = logging.getLogger(__name__)

_NUMBER: Final = (int, float)
FIELDS: Final[dict[str, tuple[type, ...]]] = {
    "agent": (str,),
    "protocol": (str,),
    "run": (int,),
    "seed": (int,),
    "best_arch": (int,),
    "best_valid": (*_NUMBER, type(None)),
    "evaluations": (int,),
    "clock": _NUMBER,
    "test": (dict,),
    "trajectory": (dict,),
}
"""Fields every record has, with their JSON types: the harness resumes and reports from these."""


def invalid_fields(record: Any) -> list[str]:
    """Return the fields of :data:`FIELDS` that ``record`` lacks or holds with the wrong type."""
    if not isinstance(record, dict):
        return list(FIELDS)
    return [
        k
        for k, kinds in FIELDS.items()
        if k not in record or not isinstance(record[k], kinds) or (isinstance(record[k], bool) and bool not in kinds)
    ]


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
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                log.warning("%s:%d: ignoring an unreadable line", path, number)
                continue
            bad = invalid_fields(record)
            if bad:
                log.warning(
                    "%s:%d: ignoring an incomplete record (missing or invalid: %s)", path, number, ", ".join(bad)
                )
                continue
            records.append(record)
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


LABELS: Final[dict[str, str]] = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "ImageNet16-120": "ImageNet16-120"}
"""Display names of the search datasets in tables and plots."""


def slug(protocol: str) -> str:
    """Return a file-name-safe protocol name (``nb201@3000+latency_ms/pixel3`` -> ``nb201_3000_latency_ms-pixel3``)."""
    return protocol.replace("@", "_").replace("+", "_").replace("/", "-")


def by_protocol(records: list[dict[str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Return the records grouped by protocol, then by agent (in file order within each group)."""
    groups: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        groups[r["protocol"]][r["agent"]].append(r)
    return groups
