"""What the hardening costs: the hot paths timed with this checkout and with an older one, in the same run.

    python -m benchmarks.perf.perf_hardening --against OLD_CHECKOUT [--rounds 3]

OLD_CHECKOUT is a tree holding an earlier ``nb201_env`` (e.g. ``git archive <rev> | tar -x -C /tmp/old``).
Each round times, in a fresh process per checkout (alternating, best of the rounds): opening the public
store (each checkout converts ``shared/nb201`` with its own writer), ``Benchmark.validation``, steps/s of
``NASBench201-v0`` with Python-int and numpy-int actions, reading one real NATS per-arch file (decompress +
restricted unpickle), and streaming 50 synthetic arch entries of an NB201 ``.pth`` main object. Printed as
new / old ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import shared_root, table
from nb201_env.importers import pickle_splice
from nb201_env.testing import official_files as fixtures

TIMING = r"""
import bz2, json, sys, time
import numpy as np
import gymnasium as gym
import nb201_env
from nb201_env.benchmark import Benchmark
from nb201_env.store import Store
from nb201_env.importers.safe_unpickle import safe_loads

store, sample, stream = sys.argv[1], sys.argv[2], sys.argv[3]
from nb201_env.importers.pickle_stream import Arch2InfosStream
import io
def best(fn, n, repeat=5):
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(n)
        out.append((time.perf_counter() - t) / n)
    return min(out)

def opens(n):
    for _ in range(n):
        Store(store)
bench = Benchmark.open(store)
bench.validation(6111)
def validations(n):
    v = bench.validation
    for i in range(n):
        v(i % 15625)
env = gym.make("NASBench201-v0", benchmark=bench)
def steps(actions):
    def run(n):
        env.reset(seed=0)
        step = env.step
        for i in range(n):
            _, _, term, trunc, _ = step(actions[i % 6])
            if term or trunc:
                env.reset()
    return run
blob = open(sample, "rb").read()
def loads(n):
    for _ in range(n):
        safe_loads(bz2.decompress(blob))
streamed = open(stream, "rb").read()
def parses(n):
    for _ in range(n):
        for _ in Arch2InfosStream(io.BytesIO(streamed)):
            pass
print(json.dumps({
    "store open (ms)": best(opens, 20) * 1e3,
    "validation() (us)": best(validations, 20000) * 1e6,
    "env step, int actions (us)": best(steps([3, 3, 3, 1, 3, 2]), 30000) * 1e6,
    "env step, numpy int actions (us)": best(steps([np.int64(o) for o in (3, 3, 3, 1, 3, 2)]), 30000) * 1e6,
    "NATS per-arch file read (ms)": best(loads, 10) * 1e3,
    "streamed .pth main object, per arch (ms)": best(parses, 1, 3) * 1e3 / 50,
}))
"""


def _run(root: Path, code: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", type=Path, required=True, help="a tree holding an earlier nb201_env")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[2]
    sample = shared_root() / "nb201" / "nats-tss-sample" / "NATS-tss-v1_0-3ffb9-simple" / "000011.pickle.pbz2"
    convert = "import sys; from nb201_env.importers.shared_figures import build_shared_store as b; "
    convert += "b(sys.argv[1], sys.argv[2])"
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"new": here, "old": args.against.resolve()}
        stores = {}
        for label, root in trees.items():
            stores[label] = str(Path(tmp) / f"{label}.store")
            _run(root, convert, str(shared_root() / "nb201"), stores[label])
        stream = Path(tmp) / "main.pickle"
        with open(stream, "wb") as fh:  # 50 synthetic NB201 arch entries, as in the .pth main object
            header = {"meta_archs": fixtures._meta()["meta_archs"], "total_archs": 15625}
            entries = ((i, fixtures.nb201_arch(i, 7)) for i in range(50))
            pickle_splice.write_arch_pickle(fh, header, entries, {}, protocol=2)
        results: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for label, root in trees.items():
                figures = json.loads(_run(root, TIMING, stores[label], str(sample), str(stream)))
                for key, value in figures.items():
                    results.setdefault(key, {})[label] = min(value, results.get(key, {}).get(label, float("inf")))
    rows = [(k, f"{v['old']:.3g}", f"{v['new']:.3g}", f"{v['new'] / v['old']:.2f}") for k, v in results.items()]
    print(table(rows, ("measure (best of rounds)", "old", "new", "new / old")))


if __name__ == "__main__":
    main()
