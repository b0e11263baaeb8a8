"""Our trainer on CPU against a tuned plain PyTorch loop, and ``torch.compile`` against eager, in one run.

``loop``: images per second of :func:`nb201_env.training.trainer.train` (one epoch, validation on the last
epoch only) vs :func:`benchmarks.perf.plain_loop.plain_epochs` (the same network, recipe, data, threads,
channels-last and fused SGD), rounds alternating; both clocks.

``compile``: the same training with ``Runtime(compile=True)`` vs eager: its first epoch (which compiles)
and its later epochs separately, rounds alternating.

    python -m benchmarks.perf.training loop [--recipe nb201|proxy] [--images 5120] [--rounds 3]
    python -m benchmarks.perf.training compile [--recipe proxy] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import table
from benchmarks.perf.cifar import tarball


def load(recipe_name: str, images: int, epochs: int) -> tuple[Any, Any]:
    """Return (recipe, prepared cifar10-valid splits) for a timing run."""
    from nb201_env.training.recipe import Recipe
    from nb201_env.training.splits import load_splits, prepare

    if recipe_name == "proxy":
        recipe = Recipe.proxy(epochs=epochs, train_subset=images, valid_subset=500, test_subset=500)
    else:  # the official network and recipe on a subset (a full 25k-image epoch takes minutes on a small CPU)
        recipe = Recipe(epochs=epochs, cosine_epochs=12, train_subset=images, valid_subset=500, test_subset=500)
    return recipe, prepare(load_splits("cifar10-valid", tarball()), recipe)


def clocked(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Return (result, wall s, CPU s) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def loop(args: argparse.Namespace) -> None:
    import torch

    from benchmarks.perf.plain_loop import plain_epochs
    from nb201_env.training.runtime import Runtime
    from nb201_env.training.trainer import train

    torch.set_num_threads(args.threads)
    recipe, splits = load(args.recipe, args.images, args.epochs)
    runtime = Runtime(device="cpu", threads=args.threads, eval_epochs="last")
    rates: dict[str, list[tuple[float, float]]] = {"tuned plain PyTorch loop": [], "nb201_env trainer": []}
    n = len(splits.train) * args.epochs
    for _ in range(args.rounds):
        result = train(args.arch, splits, recipe, 0, runtime)
        rates["nb201_env trainer"].append((n / sum(result.train_seconds), n / sum(result.train_cpu_seconds)))
        _, wall, cpu = clocked(lambda: plain_epochs(args.arch, splits, recipe, args.epochs, "cpu", False, True))
        rates["tuned plain PyTorch loop"].append((n / wall, n / cpu))
    base = [max(r[i] for r in rates["tuned plain PyTorch loop"]) for i in (0, 1)]
    rows = []
    for name, values in rates.items():
        wall, cpu = max(v[0] for v in values), max(v[1] for v in values)
        rows.append((name, f"{wall:.0f}", f"{wall / base[0]:.2f}x", f"{cpu:.0f}", f"{cpu / base[1]:.2f}x"))
    size = splits.train.images.shape[-1]
    print(f"arch {args.arch}, recipe {args.recipe} ({size} px, C={recipe.channels}, N={recipe.cells_per_stage}, "
          f"batch {recipe.batch_size}), {len(splits.train)} images x {args.epochs} epoch(s), {args.threads} thread(s), "
          f"best of {args.rounds} alternating rounds, load avg {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(table(rows, ("training", "images/s (wall)", "vs plain", "images per CPU s", "vs plain")))


def compiled(args: argparse.Namespace) -> None:
    from nb201_env.training.runtime import Runtime
    from nb201_env.training.trainer import train

    recipe, splits = load(args.recipe, args.images, args.epochs)
    later = len(splits.train) * (args.epochs - 1)  # epoch 1 compiles; the later ones show the steady state
    best: dict[str, dict[str, float]] = {"eager": {}, "torch.compile": {}}
    for _ in range(args.rounds):
        for label, flag in (("eager", False), ("torch.compile", True)):
            runtime = Runtime(device="cpu", threads=args.threads, eval_epochs="last", compile=flag)
            result = train(args.arch, splits, recipe, 0, runtime)
            seen = {
                "first": result.train_seconds[0],
                "wall": later / sum(result.train_seconds[1:]),
                "cpu": later / sum(result.train_cpu_seconds[1:]),
                "valid": result.valid_accuracy[-1],
            }
            old = best[label]
            best[label] = {k: (max if k in ("wall", "cpu") else min)(old.get(k, v), v) for k, v in seen.items()}
    eager = best["eager"]
    rows = [
        (label, f"{b['first']:.1f}", f"{b['wall']:.0f}", f"{b['wall'] / eager['wall']:.2f}x", f"{b['cpu']:.0f}",
         f"{b['cpu'] / eager['cpu']:.2f}x", f"{b['valid']:.2f}")
        for label, b in best.items()
    ]  # fmt: skip
    load_avg = os.getloadavg()[0]
    print(f"arch {args.arch}, recipe {args.recipe}, {len(splits.train)} images, epochs 2..{args.epochs} timed "
          f"(epoch 1 compiles), {args.threads} thread(s), best of {args.rounds}, load avg {load_avg:.1f}")  # fmt: skip
    header = ("model", "first epoch s", "images/s (wall)", "vs eager", "images per CPU s", "vs eager", "valid %")
    print(table(rows, header))
    ratio = best["torch.compile"]["cpu"] / eager["cpu"]
    verdict = "adopt behind Runtime(compile=True)" if ratio >= 1.3 else "below the 1.3x bar"
    print(f"torch.compile / eager (images per CPU second, later epochs): {ratio:.2f}x: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("loop", "compile"))
    parser.add_argument("--recipe", choices=("proxy", "nb201"), default="nb201")
    parser.add_argument("--arch", type=int, default=6111)
    parser.add_argument("--images", type=int, default=5120, help="training images (a seeded subset)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.what == "compile":
        args.epochs = max(args.epochs, 2)
    loop(args) if args.what == "loop" else compiled(args)


if __name__ == "__main__":
    main()
