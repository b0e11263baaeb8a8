"""The hot paths, each timed against a baseline measured in the same run (CPU time, best of alternating rounds,
so that other jobs on the machine count little):

* search: random search through ``NASBench201-OneShot-v0`` (``gym.make``, the harness's path) against a bare
  numpy loop doing the same draws, lookups and clock (CPU per evaluation; goal: at most 2x);
* validation_many: ``Benchmark.validation_many`` on 64 archs against one numpy fancy index of 64 (goal: 3x);
* vector_memory: what the native vector env's accounting holds after its first step and after 100 steps,
  against the dense (runs x 15,625) tables it used to allocate (bytes, traced);
* harness_memory: peak RSS of ``python -m benchmarks.harness.run`` without ``--report``, against the same
  sweep reading its results file back at the end (as it did before);
* convert: ``nb201 convert shared`` against reading each CSV once and writing the same arrays (goal: 1.5x).

    python -m benchmarks.perf.perf_hot_paths [search validation_many vector_memory harness_memory convert]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import best_cpu, public_store, shared_root, table

Row = tuple[str, str, str, str, str]


class FloorEnv:
    """The one-shot env's interface and nothing else: each step builds the 14-key ``info`` and an observation."""

    @staticmethod
    def make() -> object:
        import gymnasium as gym

        class Floor(gym.Env):
            def __init__(self, cost: list[float], budget: float) -> None:
                self.action_space = gym.spaces.MultiDiscrete([5] * 6)
                self.observation_space = gym.spaces.Box(0.0, 1.0, (2,), np.float32)
                self.cost, self.budget = cost, budget
                self.clock = self  # run_search reads env.unwrapped.clock.budget

            def reset(self, *, seed=None, options=None):
                super().reset(seed=seed)
                self.t, self.n, self.seen = 0.0, 0, set()
                return np.zeros(2, np.float32), {}

            def step(self, action):
                arch = int(action[0])  # no decoding, no lookup: the same clock from the same table
                charge = 0.0 if arch in self.seen else self.cost[arch]
                counted = self.t + charge <= self.budget
                self.t, self.n = self.t + charge * counted, self.n + counted
                self.seen.add(arch)
                info = {"benchmark": "floor", "arch": arch, "epoch": 11, "evaluated": counted, "repeat": False,
                        "valid_accuracy": 80.0, "cost": charge, "clock": self.t, "remaining": self.budget - self.t,
                        "budget_exhausted": not counted, "evaluations": self.n, "best_arch": arch,
                        "best_valid_accuracy": 80.0, "best_cost": 1.0}  # fmt: skip
                return np.array((self.t / self.budget, 0.8), np.float32), 0.8, counted, not counted, info

        return Floor


def search(rounds: int) -> list[Row]:
    import gymnasium as gym

    import nb201_env  # noqa: F401  (registers the envs)
    from agents import random_search
    from agents.common import run_search
    from nb201_env.benchmark import Benchmark
    from nb201_env.protocols import get_protocol

    bench = Benchmark.open(public_store())
    env = gym.make(random_search.ENV_ID, benchmark=bench, protocol="nb201")
    budget = get_protocol("nb201").budget
    accuracy = bench.validation_many(np.arange(15625))[0].tolist()
    cost = bench.cost_table("cifar10").tolist()
    seeds = range(200)

    def bare() -> int:  # the same draws, lookups, clock (repeats free) and incumbent, nothing else
        count = 0
        for seed in seeds:
            rng, clock, best, incumbent, seen = np.random.default_rng(seed), 0.0, -1.0, -1, set()
            while True:
                arch = int(rng.integers(15625))
                charge = 0.0 if arch in seen else cost[arch]
                if clock + charge > budget:
                    break
                seen.add(arch)
                clock += charge
                count += 1
                if accuracy[arch] > best:
                    best, incumbent = accuracy[arch], arch
            assert incumbent >= 0
        return count

    def ours() -> int:
        return sum(random_search.search(env, random_search.Args(), seed).evaluations for seed in seeds)

    class Cells:  # what RandomSearch asks for, as the floor env reads it: the index in the first entry
        def __getitem__(self, index: int) -> np.ndarray:
            return np.array([index, 0, 0, 0, 0, 0])

    floor_env = gym.wrappers.OrderEnforcing(gym.wrappers.PassiveEnvChecker(FloorEnv.make()(cost, budget)))

    def floor() -> int:  # the API's own cost: the same loop, agent, wrappers and info, no accounting
        count = 0
        for seed in seeds:
            searcher = random_search.RandomSearch(random_search.Args(), seed)
            searcher.ops = Cells()
            count += run_search(floor_env, searcher, seed).evaluations
        return count

    evaluations = bare()
    assert ours() == evaluations  # the same searches: same cells, same clock
    base, mine = best_cpu(bare, rounds), best_cpu(ours, rounds)
    floor_count = floor()
    least = best_cpu(floor, rounds)
    per = lambda s, n=evaluations: f"{s / n * 1e6:.2f} us"  # noqa: E731
    least_per = least / floor_count
    return [
        ("random search via the one-shot env, per evaluation", per(base), per(mine), f"{mine / base:.2f}", "2"),
        ("  the API alone (env that only builds info), per evaluation", per(base), per(least, floor_count),
         f"{least_per / (base / evaluations):.2f}", ""),
        ("  ours against the API alone", per(least, floor_count), per(mine),
         f"{mine / evaluations / least_per:.2f}", ""),
    ]  # fmt: skip


def validation_many(rounds: int) -> Row:
    from nb201_env.benchmark import Benchmark

    bench = Benchmark.open(public_store())
    idx = np.random.default_rng(0).integers(15625, size=64)
    column = bench.cost_table("cifar10")
    bench.validation_many(idx)
    n = 20_000

    def base() -> None:
        for _ in range(n):
            column[idx]

    def mine() -> None:
        for _ in range(n):
            bench.validation_many(idx)

    b, m = best_cpu(base, rounds), best_cpu(mine, rounds)
    return ("validation_many, 64 archs", f"{b / n * 1e9:.0f} ns", f"{m / n * 1e9:.0f} ns", f"{m / b:.2f}", "3")


def _traced(fn: Callable[[], object]) -> int:
    """Return the bytes ``fn`` leaves allocated (what it returns keeps alive)."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = fn()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return after - before


def vector_memory(num_envs: int = 4096, steps: int = 100) -> list[Row]:
    import gymnasium as gym

    import nb201_env  # noqa: F401
    from nb201_env.benchmark import Benchmark
    from nb201_env.space import NUM_ARCHS

    bench = Benchmark.open(public_store())
    env = gym.make_vec("NASBench201-OneShot-v0", num_envs=num_envs, benchmark=bench, autoreset_mode="SameStep")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    runs = env.unwrapped.runs
    held = []
    for step in range(steps):
        env.step(rng.integers(5, size=(num_envs, 6)))
        if step in (0, steps - 1):
            held.append(runs.memory_bytes())

    def dense(seeds: bool) -> Callable[[], tuple[np.ndarray, ...]]:
        def allocate() -> tuple[np.ndarray, ...]:  # what the accounting allocated before: 1 byte (+ 8) per arch
            seen = np.zeros((num_envs, NUM_ARCHS), dtype=bool)
            seen[:, ::97] = True  # touch the pages, as writes do
            if not seeds:
                return (seen,)
            first = np.zeros((num_envs, NUM_ARCHS))
            first[:, ::97] = 1.0
            return seen, first

        return allocate

    rows = []
    for seeds, what in ((False, "a seed-mean signal"), (True, "recorded seeds drawn")):
        base = _traced(dense(seeds))
        for label, ours in zip(("1 step", f"{steps} steps"), held):
            measure = f"vector env accounting, {num_envs} runs, {what}, after {label}"
            rows.append(
                (measure, f"{base / 2**20:.1f} MiB (dense)", f"{ours / 2**20:.2f} MiB", f"{ours / base:.4f}", "")
            )
    return rows


HARNESS = """
import json, sys
from pathlib import Path
from benchmarks.harness import sweep as s
from benchmarks.harness.tasks import protocol_variants
out, runs, read_back = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
s.sweep(["random"], protocol_variants(["nb201"], None), runs, out, sys.argv[4], workers=2, progress=False,
        read_back=read_back)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through fork and exec
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"peak_mb": int(hwm.split()[1]) / 1024}))
"""


def harness_memory(runs: int) -> list[Row]:
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n, read_back in ((runs, False), (runs, True), (runs // 100, False)):
            out = Path(tmp) / f"r{n}-{int(read_back)}.jsonl"
            done = subprocess.run([sys.executable, "-c", HARNESS, str(out), str(n), str(int(read_back)),
                                   str(public_store())], check=True, capture_output=True, text=True)  # fmt: skip
            peaks[n, read_back] = json.loads(done.stdout.strip().splitlines()[-1])["peak_mb"]
            if n == runs:
                size = out.stat().st_size / 2**20
    mine, back, few = peaks[runs, False], peaks[runs, True], peaks[runs // 100, False]
    measure = f"harness peak RSS, {runs} runs, no --report ({size:.0f} MiB of results)"
    return [
        (measure, f"{back:.0f} MiB (reads the file back)", f"{mine:.0f} MiB", f"{mine / back:.2f}", ""),
        (measure, f"{few:.0f} MiB ({runs // 100} runs)", f"{mine:.0f} MiB", f"{mine / few:.2f}", "1"),
    ]


def _read_csv_once(folder: Path, out: Path) -> None:
    """The baseline converter: each CSV it reads parsed once into float columns, then written as .npy files."""
    from nb201_env.importers import shared_figures as f

    out.mkdir()
    for path in [folder / name for name in (f.HP12, f.HP200, f.RUNS, f.TIMES, f.LATENCY)]:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        header, body = rows[0], rows[1:]
        for j in range(len(header)):
            column = np.empty(len(body))
            for i, row in enumerate(body):
                text = row[j]
                try:
                    column[i] = float(text) if text else np.nan
                except ValueError:
                    column[i] = np.nan
            np.save(out / f"{path.stem}-{j}.npy", column)


def convert(rounds: int) -> Row:
    from nb201_env.importers.shared_figures import build_shared_store

    folder = shared_root() / "nb201"
    if not folder.is_dir():
        return ("convert shared", "skipped: no ../shared/nb201", "", "", "1.5")
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10**6))
        base = best_cpu(lambda: _read_csv_once(folder, Path(tmp) / f"b{next(counter)}"), rounds)
        mine = best_cpu(lambda: build_shared_store(folder, Path(tmp) / f"s{next(counter)}.store"), rounds)
    return ("nb201 convert shared", f"{base:.2f} s (each CSV read once)", f"{mine:.2f} s", f"{mine / base:.2f}", "1.5")


def main(argv: list[str] | None = None) -> None:
    names = ["search", "validation_many", "vector_memory", "harness_memory", "convert"]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", metavar="PATH", help=f"some of {', '.join(names)} (default: all)")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds; the least CPU time counts")
    parser.add_argument("--harness-runs", type=int, default=10_000)
    args = parser.parse_args(argv)
    for name in args.paths:
        if name not in names:
            parser.error(f"unknown hot path {name!r}; choose from {', '.join(names)}")
    rows: list[Row] = []
    for name in args.paths or names:
        if name == "search":
            rows += search(args.rounds)
        elif name == "validation_many":
            rows.append(validation_many(args.rounds))
        elif name == "vector_memory":
            rows += vector_memory()
        elif name == "harness_memory":
            rows += harness_memory(args.harness_runs)
        else:
            rows.append(convert(max(1, args.rounds // 2)))
        print(f"{name} done", file=sys.stderr, flush=True)
    print()
    print(table(rows, ("hot path", "baseline", "nb201_env", "ratio", "goal")))


if __name__ == "__main__":
    main()
