"""Training throughput in architectures x images per second: the plain loop, our trainer, and K at a time.

For each recipe (the proxy recipe of ``perf_training``: 16 px, C=8, N=1, batch 128; and NB201's: 32 px,
C=16, N=5, batch 256) the same sampled class representatives are trained for a few steps by: the plain
PyTorch loop of ``perf_training`` (a per-sample ``Dataset`` and a ``DataLoader``), our one-at-a-time trainer,
and the batched trainer at K = 1, 4, 16, 64 with both stackings. A K larger than the sample trains the
sample several times (same architectures, so the same mix of costs). Every call is timed from outside
(model build, training, a 100-image validation pass): wall seconds, and CPU seconds of this process,
which other processes on a shared machine disturb much less. Methods alternate within each round; the
best round is kept. Everything runs in this process with ``--threads`` torch threads; ``--workers 2``
adds rows that use both cores: the plain loop with two torch threads, and two single-threaded worker
processes (wall time only, measured once: it needs two free cores).

    python -m benchmarks.perf.perf_batched [--recipes proxy,nb201] [--archs 16] [--ks 1,4,16,64] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from benchmarks.common import table
from benchmarks.perf.perf_training import baseline_epochs, load_prepared
from nb201_env.isomorphism import representatives
from nb201_env.space import Arch
from nb201_env.training.recipe import Recipe
from nb201_env.training.splits import Splits

RECIPES = {
    "proxy": lambda images: Recipe.proxy(crop_padding=2, epochs=1, train_subset=images, valid_subset=100),
    "nb201": lambda images: Recipe(epochs=1, train_subset=images, valid_subset=100),
}
IMAGES = {"proxy": 1280, "nb201": 256}  # 10 steps and 1 step per architecture


def activation_bytes(index: int, recipe: Recipe, splits: Splits) -> int:
    """Return the bytes autograd saves in one training forward pass of one network (grouped stacking needs K x)."""
    import torch

    from nb201_env.training.network import NB201Network

    model = NB201Network(index, 10, recipe.channels, recipe.cells_per_stage)
    size = splits.train.images.shape[-1]
    x = torch.zeros(recipe.batch_size, 3, size, size)
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x).sum()
    return total


def available_bytes() -> int:
    """Return MemAvailable from /proc/meminfo (or 8 GB where unknown)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 << 30


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Return (wall, CPU) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def methods(jobs_for: Callable[[int], list[int]], splits: Splits, recipe: Recipe, args: argparse.Namespace) -> dict:
    """Return label -> (number of jobs, callable training them), for one recipe."""
    from nb201_env.training.batched_trainer import train_many
    from nb201_env.training.runtime import Runtime
    from nb201_env.training.trainer import train

    alone = Runtime(device="cpu", threads=args.threads, eval_epochs="last")
    out: dict[str, tuple[int, Callable[[], object]]] = {}
    base = jobs_for(1)
    out["plain loop"] = (len(base), lambda: [baseline_epochs(a, splits, recipe, 0, 1) for a in base])
    out["our trainer, one at a time"] = (len(base), lambda: [train(a, splits, recipe, 0, alone) for a in base])
    budget = available_bytes() // 2
    heaviest = activation_bytes(Arch.from_ops((3,) * 6).index, recipe, splits)  # all-conv3x3: most activations
    for k in args.ks:
        jobs = jobs_for(k)
        for stacking in ("per-arch", "grouped"):
            label = f"batched K={k}, {stacking}"
            if stacking == "grouped" and k * heaviest > budget:
                out[label] = (0, lambda need=k * heaviest: f"skipped: needs ~{need / 2**30:.0f} GB of activations")
                continue
            runtime = Runtime(device="cpu", threads=args.threads, eval_epochs="last", stacking=stacking)

            def run(jobs: list[int] = jobs, k: int = k, runtime: Runtime = runtime) -> None:
                for i in range(0, len(jobs), k):
                    train_many(jobs[i : i + k], splits, recipe, [0] * len(jobs[i : i + k]), runtime)

            out[label] = (len(jobs), run)
    return out


def parallel_rows(jobs: list[int], splits: Splits, recipe: Recipe, ks: list[int]) -> list[tuple[str, int, float]]:
    """Return (label, jobs, wall s) of the plain loop on two threads and of two single-threaded workers."""
    import torch

    from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
    from nb201_env.training.parallel import ProcessPoolBackend
    from nb201_env.training.runtime import Runtime

    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # torch's default on this 2-core machine
    try:
        wall, _ = timed(lambda: [baseline_epochs(a, splits, recipe, 0, 1) for a in jobs])
    finally:
        torch.set_num_threads(threads)
    rows = [("plain loop, 2 threads", len(jobs), wall)]
    for k in [1, *ks]:
        runtime = Runtime(device="cpu", threads=1, eval_epochs="last", archs_per_step=k, stacking="per-arch")
        with ProcessPoolBackend(workers=2, threads_per_worker=1) as pool:
            config = TrainingConfig(recipe=recipe, runtime=runtime)
            with TrainingEvaluator(config, splits=splits, backend=pool) as evaluator:
                evaluator.run(jobs[:2], [1, 1])  # start the workers
                wall, _ = timed(lambda: evaluator.run(jobs, [2] * len(jobs)))
        label = "our trainer, 2 workers" if k == 1 else f"batched K={k}, per-arch, 2 workers"
        rows.append((label, len(jobs), wall))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", help="CIFAR-10 image folder (default: the shared tarball, extracted to /tmp)")
    parser.add_argument("--recipes", default="proxy,nb201")
    parser.add_argument("--archs", type=int, default=16, help="sampled class representatives")
    parser.add_argument("--ks", default="1,4,16,64")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, choices=(1, 2), help="2: also run two worker processes")
    args = parser.parse_args()
    args.ks = [int(k) for k in args.ks.split(",")]
    import torch

    torch.set_num_threads(args.threads)
    sample = np.random.default_rng(0).choice(representatives(), args.archs, replace=False).tolist()

    def jobs_for(k: int) -> list[int]:
        return (sample * -(-k // len(sample)))[: max(k, len(sample))]

    for name in args.recipes.split(","):
        recipe = RECIPES[name](IMAGES[name])
        splits = load_prepared(args.root, recipe)
        todo = methods(jobs_for, splits, recipe, args)
        best: dict[str, tuple[float, float]] = {}
        notes: dict[str, str] = {}
        baseline_epochs(sample[0], splits, recipe, 0, 1)  # warm up kernels and caches
        for _ in range(args.rounds):
            for label, (count, fn) in todo.items():
                if count == 0:
                    notes[label] = str(fn())
                    continue
                wall, cpu = timed(fn)
                rate = (count * IMAGES[name] / wall, count * IMAGES[name] / cpu)
                old = best.get(label, (0.0, 0.0))
                best[label] = (max(old[0], rate[0]), max(old[1], rate[1]))
                print(f"{name} {label}: {rate[0]:.0f} (wall) {rate[1]:.0f} (CPU) arch x images/s", flush=True)
        plain = best["plain loop"]
        rows = [
            (label, f"{w:.0f}", f"{w / plain[0]:.2f}x", f"{c:.0f}", f"{c / plain[1]:.2f}x")
            for label, (w, c) in best.items()
        ]
        rows += [(label, note, "", "", "") for label, note in notes.items()]
        if args.workers == 2:
            for label, count, wall in parallel_rows(
                jobs_for(max(args.ks)), splits, recipe, [k for k in args.ks if k > 1]
            ):
                rate = count * IMAGES[name] / wall
                rows.append((label, f"{rate:.0f}", f"{rate / plain[0]:.2f}x", "", ""))
        size = splits.train.images.shape[-1]
        print(
            f"\n{name} recipe: {size} px, C={recipe.channels}, N={recipe.cells_per_stage}, batch {recipe.batch_size}, "
            f"{IMAGES[name]} images x 1 epoch per architecture, {len(sample)} sampled classes, {args.threads} "
            f"thread(s), best of {args.rounds} rounds, load avg {os.getloadavg()[0]:.1f}"
        )
        header = ("training", "arch x img/s (wall)", "vs plain", "arch x img/s (CPU)", "vs plain (CPU)")
        print(table(rows, header), flush=True)


if __name__ == "__main__":
    main()
