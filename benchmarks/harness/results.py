"""The results file: one JSON line per finished run, appended and flushed as soon as the run ends.

A sweep that is interrupted (even mid-line) loses nothing already written: reading skips a torn last
line, and the harness skips every (agent, protocol, run) already present. No line is trusted: one that is
not UTF-8 JSON, not a run the harness could have written, not a run of the sweep at hand, or a repeat of an
earlier line (:mod:`benchmarks.harness.validity`) is reported by file and line and left out, so its run is
done again and no report counts it. One sweep at a time writes a file (:func:`results_lock`). The helpers at
the end group records and name them in tables and files.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from benchmarks.harness.validity import INCOMPLETE, SweepSpec, record_problems, run_key

log = logging.getLogger(__name__)

SHOWN: Final = 20
"""Lines reported one by one per file read; the rest are counted."""


class ResultsBusy(RuntimeError):
    """Another sweep is writing the results file."""


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")  # JSON has no NaN or Infinity; Python's json would accept them


class _Reporter:
    """Log the lines of one file that do not count, the first :data:`SHOWN` by file:line, then a count."""

    def __init__(self, path: Path, warn: bool) -> None:
        self.path, self.warn, self.count = path, warn, 0

    def __call__(self, number: int, why: str) -> None:
        self.count += 1
        if self.warn and self.count <= SHOWN:
            log.warning("%s:%d: %s", self.path, number, why)

    def close(self) -> None:
        if self.warn and self.count > SHOWN:
            more = self.count - SHOWN
            log.warning("%s: %d more lines left out (the first %d are shown above)", self.path, more, SHOWN)


def read_results(
    path: str | os.PathLike[str], sweep: SweepSpec | None = None, *, warn: bool = True
) -> list[dict[str, Any]]:
    """Return the records of a results file that count, in file order, each run once (none if it does not exist).

    Every valid record counts (a file may gather several sweeps), except, with ``sweep``, a record of one of
    that sweep's runs that differs from it (another seed, budget, rule, dataset or benchmark): it is reported,
    and the run done again. ``warn=False`` reads without logging (a second reading of a file already reported).
    """
    path = Path(path)
    if not path.exists():
        return []
    report = _Reporter(path, warn)
    kept: dict[tuple[str, str, int], tuple[int, dict[str, Any]]] = {}
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                log.warning("%s:%d: ignoring a torn last line (the sweep was interrupted while writing)", path, number)
                break
            try:
                record = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
            except UnicodeDecodeError as exc:
                report(number, f"ignoring a line that is not UTF-8 text (byte {exc.start}); its run is done again")
                continue
            except (ValueError, RecursionError) as exc:
                report(number, f"ignoring an unreadable line ({str(exc)[:80]}); its run is done again")
                continue
            problems = record_problems(record)
            if problems:
                kind = "an incomplete" if problems[0].startswith(INCOMPLETE) else "an invalid"
                report(number, f"ignoring {kind} record ({'; '.join(problems)}); its run is done again")
                continue
            why = sweep.mismatch(record) if sweep is not None and sweep.asks_for(record) else ""
            if why:
                report(number, f"ignoring a record that is {why}; its run is done again")
                continue
            key = run_key(record)
            if key in kept:
                report(number, f"ignoring a repeat of {key[0]}/{key[1]}/run {key[2]} (line {kept[key][0]} counts)")
                continue
            kept[key] = (number, record)
    report.close()
    return [record for _, record in kept.values()]


@contextmanager
def results_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the results file ``path`` for one sweep; raise :class:`ResultsBusy` naming the process holding it.

    Two sweeps appending to one file would each run every pending run (so every run twice). The lock is an
    ``flock`` on a hidden ``.NAME.lock`` file beside it, released when the sweep ends or its process dies.
    """
    path = Path(path)
    lock = path.with_name(f".{path.name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise ResultsBusy(
                f"{path} is being written by another sweep (process {holder}): wait for it to end, or write to "
                "another --out"
            ) from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else the previous holder removed it between our open and our lock: take the new one
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


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
