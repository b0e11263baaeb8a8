"""Store speed: open time, single and batched queries and memory, against baselines measured in the same
run: a naive dict-of-dicts built from the CSV tables, and (when ``nats_bench`` is installed) the official
NATS-Bench API in fast mode on official-layout files.

    python -m benchmarks.perf.perf_store [--official-archs 100]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import median_ns, public_store, shared_root, table

COLD_OPEN = """
import json, resource, sys, time
t0 = time.perf_counter()
from nb201_env.benchmark import Benchmark
t1 = time.perf_counter()
bench = Benchmark.open(sys.argv[1])
t2 = time.perf_counter()
bench.validation(123)
t3 = time.perf_counter()
import numpy as np
every = np.arange(15625)
for d in ("cifar10", "cifar100", "ImageNet16-120"):
    bench.validation_many(every, d)
    bench.test_accuracy_many(every, d)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1, "first_query_s": t3 - t2, "rss_mb": rss}))
"""

OFFICIAL = """
import json, sys, time
def rss(): return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
from nats_bench import create
t0 = time.perf_counter()
api = create(sys.argv[1], "tss", fast_mode=True, verbose=False)
t1 = time.perf_counter()
rss0 = rss()
indices = json.loads(sys.argv[2])
first = []
for i in indices:
    s = time.perf_counter(); api.simulate_train_eval(i, "cifar10", hp="12"); first.append(time.perf_counter() - s)
warm = []
for _ in range(3):
    for i in indices:
        s = time.perf_counter(); api.simulate_train_eval(i, "cifar10", hp="12"); warm.append(time.perf_counter() - s)
rss1 = rss()
first.sort(); warm.sort()
print(json.dumps({"open_s": t1 - t0, "first_query_s": first[len(first) // 2], "warm_query_s": warm[len(warm) // 2],
                  "rss_per_arch_mb": (rss1 - rss0) / len(indices)}))
"""


def run_json(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter and return the JSON it prints."""
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def naive_tables() -> tuple[float, dict[str, dict[str, float]]]:
    """Return (load seconds, dict arch_str -> column -> value) read with the csv module."""
    start = time.perf_counter()
    data: dict[str, dict[str, float]] = {}
    with open(shared_root() / "nb201" / "nb201_hp12_final_accuracy.csv") as fh:
        for row in csv.DictReader(fh):
            data[row["arch_str"]] = {k: float(v) for k, v in row.items() if k not in ("arch_index", "arch_str")}
    return time.perf_counter() - start, data


def official_baseline(n: int, workdir: Path) -> tuple[dict, float] | None:
    """Measure the official NATS-Bench API on ``n`` synthetic archs in the official layout, if installed.

    Returns its figures and, like for like, the median ns of our ``validation()`` on the same files converted
    into our store, drawing one recorded seed per query from a generator as ``simulate_train_eval`` does.
    """
    try:
        import nats_bench  # noqa: F401
    except ImportError:
        return None
    from nb201_env.benchmark import Benchmark
    from nb201_env.importers.nats import convert_nats
    from nb201_env.testing.official_files import write_nats_dir

    folder = workdir / "NATS-tss-v1_0-3ffb9-simple"
    indices = list(range(n))
    write_nats_dir(folder, indices, np.random.default_rng(0), workers=2)
    official = run_json(OFFICIAL, str(folder), json.dumps(indices))
    ours = Benchmark.open(convert_nats(folder, workdir / "same-files.store"))
    rng = np.random.default_rng(0)
    it = iter(indices * 2000)
    random_seed_ns = median_ns(lambda: ours.validation(next(it), "cifar10", schedule=12, seed=rng), number=10000)
    return official, random_seed_ns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official-archs", type=int, default=100, help="archs for the official API baseline")
    args = parser.parse_args()
    store = public_store()
    cold = min((run_json(COLD_OPEN, str(store)) for _ in range(3)), key=lambda r: r["open_s"])

    from nb201_env.benchmark import Benchmark

    bench = Benchmark.open(store)
    rng = np.random.default_rng(0)
    idx = rng.integers(15625, size=1_000_000)
    ids = idx[:20000].tolist()
    it = iter(ids * 1000)
    query_ns = median_ns(lambda: bench.query(next(it), dataset="cifar10-valid", split="x-valid", schedule=12))
    valid_ns = median_ns(lambda: bench.validation(next(it)))
    start = time.perf_counter()
    bench.query_many(idx, dataset="cifar10-valid", split="x-valid", schedule=12)
    batch_ns = (time.perf_counter() - start) / len(idx) * 1e9
    start = time.perf_counter()
    bench.validation_many(idx)
    batch_valid_ns = (time.perf_counter() - start) / len(idx) * 1e9

    naive_load, naive = naive_tables()
    from nb201_env.space import Arch

    strs = [Arch(int(i)).to_str() for i in ids[:2000]]
    its = iter(strs * 10000)
    naive_ns = median_ns(lambda: naive[next(its)]["cifar10-valid/x-valid"])
    start = time.perf_counter()
    [naive[s]["cifar10-valid/x-valid"] for s in strs * 500]
    naive_batch_ns = (time.perf_counter() - start) / (len(strs) * 500) * 1e9

    rows = [
        (
            "open (fresh process)",
            f"{cold['open_s'] * 1e3:.1f} ms",
            f"naive CSV load {naive_load * 1e3:.0f} ms",
            f"{naive_load / cold['open_s']:.0f}x faster",
        ),
        ("import nb201_env.benchmark", f"{cold['import_s'] * 1e3:.0f} ms", "", ""),
        (
            "single query (median)",
            f"{query_ns / 1e3:.2f} us",
            f"naive dict {naive_ns / 1e3:.2f} us",
            f"{naive_ns / query_ns:.2f}x",
        ),
        ("single validation+cost (median)", f"{valid_ns / 1e3:.2f} us", "", ""),
        (
            "batched query per arch",
            f"{batch_ns:.1f} ns",
            f"naive dict loop {naive_batch_ns:.0f} ns",
            f"{naive_batch_ns / batch_ns:.0f}x faster",
        ),
        ("batched validation+cost per arch", f"{batch_valid_ns:.1f} ns", "", ""),
        ("peak RSS after touching every arch", f"{cold['rss_mb']:.0f} MB", "", ""),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        measured = official_baseline(args.official_archs, Path(tmp))
    if measured is not None:
        official, random_seed_ns = measured
        rows += [
            ("official NATS API: create(fast_mode)", "", f"{official['open_s'] * 1e3:.0f} ms", ""),
            (
                "official: first simulate_train_eval",
                f"{cold['first_query_s'] * 1e3:.2f} ms (ours, cold)",
                f"{official['first_query_s'] * 1e3:.2f} ms",
                f"{official['first_query_s'] / cold['first_query_s']:.0f}x",
            ),
            (
                "official: warm simulate_train_eval (one random seed)",
                f"{random_seed_ns / 1e3:.2f} us (ours, one random seed, same files)",
                f"{official['warm_query_s'] * 1e6:.0f} us",
                f"{official['warm_query_s'] * 1e9 / random_seed_ns:.0f}x faster (like for like)",
            ),
            (
                "official: warm simulate_train_eval vs our default",
                f"{valid_ns / 1e3:.2f} us (ours, seed mean)",
                f"{official['warm_query_s'] * 1e6:.0f} us",
                f"{official['warm_query_s'] * 1e9 / valid_ns:.0f}x faster",
            ),
            ("official: RSS per touched arch", "0 (arrays read once)", f"{official['rss_per_arch_mb']:.2f} MB", ""),
        ]
    print(f"store: {store} ({bench.store.size_bytes() / 1e6:.1f} MB)")
    print(table(rows, ("measure", "nb201_env", "baseline", "ratio")))


if __name__ == "__main__":
    main()
