"""Shared helpers of the benchmark scripts: locating ../shared and the public-figures store, timing, ranks."""

from __future__ import annotations

import csv
import os
import resource
import statistics
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def shared_root() -> Path:
    """Return the shared data folder: ``$NB201_SHARED`` or ``../shared`` beside the repo."""
    return Path(os.environ.get("NB201_SHARED", REPO.parent / "shared"))


def cifar_root(root: str | None) -> tuple[Path, Path]:
    """Return (image folder, decode cache) of CIFAR-10: ``root``, or the shared JPEG tarball extracted once under
    the temp dir (the decoded images are cached beside it, so later loads skip the 60k JPEGs)."""
    cache = Path(tempfile.gettempdir()) / "nb201_env_decoded"
    if root is not None:
        return Path(root), cache
    folder = Path(tempfile.gettempdir()) / "nb201_env_cifar10_jpg"
    if not (folder / ".complete").is_file():
        archive = shared_root() / "datasets" / "cifar10-jpg.tar.gz"
        if not archive.is_file():
            raise FileNotFoundError(
                f"CIFAR-10 JPEG tarball not found at {archive}: pass the dataset folder (--root / --data) or set "
                "NB201_SHARED to the shared/ folder"
            )
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(folder, filter="data")
        (folder / ".complete").touch()
    return folder, cache


def public_store() -> Path:
    """Return the bundled ``nb201-public`` store (NB201's public figures; equal to ``nb201 convert shared``)."""
    from nb201_env.locate import bundled_store_path

    return bundled_store_path("nb201-public")


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_rate(fn: Callable[[], int], repeats: int = 5) -> float:
    """Run ``fn`` (which returns how many items it processed) several times; return the best items/s."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - start))
    return max(rates)


def best_cpu(fn: Callable[[], object], repeat: int) -> float:
    """Return the least CPU seconds of ``repeat`` calls of ``fn``: steadier than wall time on a shared machine."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def median_ns(fn: Callable[[], object], number: int = 20000, repeats: int = 7) -> float:
    """Return the median over ``repeats`` of the mean ns per call of ``fn`` over ``number`` calls."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter_ns() - start) / number)
    return statistics.median(samples)


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """Format rows as a Markdown table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def read_column(path: Path, column: str) -> np.ndarray:
    """Return one CSV column as a float array indexed by ``arch_index`` (NaN where a row or its cell is empty)."""
    values = np.full(15625, np.nan)
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row[column]:
                values[int(row["arch_index"])] = float(row[column])
    return values


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Return Spearman's rank correlation (average ranks for ties)."""

    def ranks(x: np.ndarray) -> np.ndarray:
        order = np.argsort(x, kind="mergesort")
        r = np.empty(len(x))
        r[order] = np.arange(len(x), dtype=float)
        _, tie, counts = np.unique(x, return_inverse=True, return_counts=True)
        return (np.bincount(tie, weights=r) / counts)[tie]  # ties share their mean rank

    ra, rb = ranks(np.asarray(a)), ranks(np.asarray(b))
    return float(np.corrcoef(ra, rb)[0, 1])
