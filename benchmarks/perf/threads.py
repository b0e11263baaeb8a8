"""How many torch threads a single training env should use: 1 vs 2 (or more) threads, rounds alternating.

Trains one architecture for one epoch with the NB201 network and recipe on a subset, and with the proxy
recipe, at each thread count; prints the best wall and CPU seconds of each. The evidence behind
``Runtime(threads=None)`` meaning one thread.

    python -m benchmarks.perf.threads [--threads 1,2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import time

from benchmarks.common import table
from benchmarks.perf.cifar import tarball


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2", help="thread counts to compare")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--arch", type=int, default=6111)
    args = parser.parse_args()

    from nb201_env.training.recipe import Recipe
    from nb201_env.training.runtime import Runtime
    from nb201_env.training.splits import load_splits, prepare
    from nb201_env.training.trainer import train

    counts = [int(t) for t in args.threads.split(",")]
    raw = load_splits("cifar10-valid", tarball())
    recipes = {
        "NB201 (32 px, C=16, N=5), 2,048 images": Recipe(epochs=1, cosine_epochs=12, train_subset=2048,
                                                         valid_subset=512, test_subset=256),
        "proxy (16 px, C=8, N=1), 4,096 images": Recipe.proxy(epochs=1, train_subset=4096, valid_subset=512),
    }  # fmt: skip
    rows = []
    for name, recipe in recipes.items():
        splits = prepare(raw, recipe)
        best: dict[int, tuple[float, float]] = {}
        for _ in range(args.rounds):
            for threads in counts:
                wall, cpu = time.perf_counter(), time.process_time()
                train(args.arch, splits, recipe, 0, Runtime(device="cpu", threads=threads, eval_epochs="last"))
                lap = (time.perf_counter() - wall, time.process_time() - cpu)
                best[threads] = min(best.get(threads, lap), lap)
        one = best[counts[0]]
        for threads in counts:
            wall, cpu = best[threads]
            rows.append(
                (name, str(threads), f"{wall:.2f}", f"{wall / one[0]:.2f}x", f"{cpu:.2f}", f"{cpu / one[1]:.2f}x")
            )
    print(f"arch {args.arch}, one epoch, best of {args.rounds} alternating rounds; {os.cpu_count()} cores, "
          f"load avg {os.getloadavg()[0]:.1f} (other jobs share the cores)")  # fmt: skip
    print(table(rows, ("recipe", "threads", "wall s", f"vs {counts[0]} thread", "CPU s", f"vs {counts[0]} thread")))


if __name__ == "__main__":
    main()
