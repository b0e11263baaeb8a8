"""What the store policy costs: arrays read into memory (checked) against memory-mapped, in the same run.

    python -m benchmarks.perf.perf_store_policy [--rounds 7] [--big]

The baseline is the previous policy, emulated in this process: each array memory-mapped after the same
checksum (a plain ndarray over the mapping, exactly what queries indexed before). Both serve the same
store; rounds alternate between them, and each figure is the median over rounds of CPU time per call
(``time.process_time``: other work on the machine disturbs it far less than wall time). Printed as ratios
read / mapped: the query hot path (``Benchmark.validation``, ``query``, ``validation_many``), and the first
use of a record (open + first validation: the one-time read and hash), on the bundled ``nb201-public`` and,
with ``--big``, on a synthetic store of official size records (15,625 x 3 seeds x 200 epochs, 75 MB each),
with the peak resident memory of a fresh process that queries it under each policy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import public_store, table
from nb201_env.benchmark import Benchmark
from nb201_env.store import Store
from nb201_env.store.reader import check_file_hash
from nb201_env.store.schema import ArrayFile


class MappedStore(Store):
    """The previous policy: an array memory-mapped after its checksum, kept as a plain ndarray over the map."""

    def _load(self, entry: ArrayFile) -> np.ndarray:
        array = self._arrays.get(entry.file)
        if array is None:
            if self.verify_mode != "size":
                check_file_hash(self.path, entry)
            mapped = np.load(self.path / entry.file, mmap_mode="r", allow_pickle=False)
            array = self._arrays[entry.file] = np.asarray(mapped)
        return array


POLICIES: dict[str, type[Store]] = {"mapped": MappedStore, "read": Store}


def cpu_per_call(fn: Callable[[int], object], n: int) -> float:
    """Return CPU seconds per call of ``fn(i)`` for ``i`` in ``0..n-1``."""
    start = time.process_time()
    for i in range(n):
        fn(i)
    return (time.process_time() - start) / n


def hot_path(store: Path, policy: type[Store]) -> dict[str, float]:
    """Return CPU seconds per query of the hot paths, on a benchmark already warm."""
    bench = Benchmark(policy(store))
    bench.validation(0)
    every = np.arange(15625)
    bench.validation_many(every)
    archs = np.random.default_rng(0).integers(15625, size=50_000).tolist()
    q = {"dataset": "cifar10-valid", "split": "x-valid", "schedule": 12}
    return {
        "validation()": cpu_per_call(lambda i: bench.validation(archs[i]), len(archs)),
        "query()": cpu_per_call(lambda i: bench.query(archs[i], **q), len(archs)),
        "validation_many(15,625) per arch": cpu_per_call(lambda i: bench.validation_many(every), 200) / 15625,
    }


def first_use(store: Path, policy: type[Store]) -> float:
    """Return CPU seconds of opening the store and answering the first validation (reads and hashes arrays)."""
    start = time.process_time()
    Benchmark(policy(store)).validation(6111)
    return time.process_time() - start


def big_store(folder: Path) -> Path:
    """Write a store with two official-size records (75 MB each): a 200-epoch signal and its training time."""
    from nb201_env.store import RecordKey, SeedAxis, Source, StoreWriter

    rng = np.random.default_rng(0)
    with StoreWriter(folder / "big.store", "big", "official-size records") as w:
        w.add_source("s", Source("synthetic"))
        seeds = SeedAxis("seeds", (777, 888, 999))
        acc = w.add_record(RecordKey("cifar10-valid", "x-valid", "accuracy", 200), seeds, range(200), "s")
        time_ = w.add_record(RecordKey("cifar10-valid", "train", "time", 200), seeds, range(200), "s")
        for start in range(0, 15625, 1000):  # in slices: bounded memory
            acc[start : start + 1000] = rng.uniform(10, 95, (min(1000, 15625 - start), 3, 200))
            time_[start : start + 1000] = rng.uniform(5, 50, (min(1000, 15625 - start), 3, 200))
        w.add_record(RecordKey("cifar10-valid", "x-valid", "time", 200), SeedAxis("constant"), None, "s")[:] = 3.0
        return w.commit()


PEAK = """
import json, resource, sys, numpy as np
from benchmarks.perf.perf_store_policy import POLICIES
from nb201_env.benchmark import Benchmark
bench = Benchmark(POLICIES[sys.argv[2]](sys.argv[1]))
bench.validation_many(np.arange(15625), schedule=200)
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def peak_rss(store: Path, policy: str) -> float:
    """Return the peak resident MB of a fresh process that queries every arch of ``store`` under ``policy``."""
    out = subprocess.run([sys.executable, "-c", PEAK, str(store), policy], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def median_of_rounds(rounds: int, measure: Callable[[type[Store]], dict[str, float]]) -> dict[str, dict[str, float]]:
    """Alternate the policies ``rounds`` times; return the median of each figure per policy."""
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in POLICIES}
    for r in range(rounds):
        order = list(POLICIES) if r % 2 == 0 else list(reversed(POLICIES))
        for name in order:
            for key, value in measure(POLICIES[name]).items():
                samples[name].setdefault(key, []).append(value)
    return {name: {k: statistics.median(v) for k, v in figures.items()} for name, figures in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--big", action="store_true", help="also time a store of official-size records (150 MB)")
    args = parser.parse_args()
    store = public_store()
    rows = []
    hot = median_of_rounds(args.rounds, lambda policy: hot_path(store, policy))
    for key in hot["read"]:
        read, mapped = hot["read"][key], hot["mapped"][key]
        rows.append((f"{key}, nb201-public", f"{read * 1e9:.0f} ns", f"{mapped * 1e9:.0f} ns", f"{read / mapped:.2f}"))
    first = median_of_rounds(args.rounds, lambda policy: {"first": first_use(store, policy)})
    read, mapped = first["read"]["first"], first["mapped"]["first"]
    rows.append(
        (
            "open + first validation, nb201-public",
            f"{read * 1e3:.1f} ms",
            f"{mapped * 1e3:.1f} ms",
            f"{read / mapped:.2f}",
        )
    )
    if args.big:
        with tempfile.TemporaryDirectory() as tmp:
            big = big_store(Path(tmp))
            first = median_of_rounds(3, lambda policy: {"first": first_use(big, policy)})
            read, mapped = first["read"]["first"], first["mapped"]["first"]
            rows.append(
                (
                    "open + first validation, 2 x 75 MB records",
                    f"{read * 1e3:.0f} ms",
                    f"{mapped * 1e3:.0f} ms",
                    f"{read / mapped:.2f}",
                )
            )
            read, mapped = peak_rss(big, "read"), peak_rss(big, "mapped")
            rows.append(
                ("peak RSS, every arch at 200 epochs", f"{read:.0f} MB", f"{mapped:.0f} MB", f"{read / mapped:.2f}")
            )
    print(table(rows, ("measure (CPU time, median of rounds)", "read (this policy)", "mapped (before)", "ratio")))


if __name__ == "__main__":
    main()
