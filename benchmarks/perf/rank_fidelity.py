"""Rank fidelity of a training recipe: train a handful of real architectures on a CIFAR-10 subset on this
CPU and correlate their validation accuracy with NB201's 200-epoch CIFAR-10 test accuracy.

The architectures are isomorphism-class representatives whose NB201 accuracies are evenly spread (in value,
``--spread value``) or in rank (``--spread quantile``) over the range above ``--floor`` percent. Runs go
through the persistent cache, so a rerun with the same recipe only reprints. For reference the script also
prints the Spearman correlation of NB201's own 12-epoch validation accuracy for the same architectures.

    python -m benchmarks.perf.rank_fidelity [--archs 10] [--workers 2] [--epochs 4] [--train-subset 5000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import read_column, shared_root, spearman, table
from benchmarks.perf.perf_training import load_prepared
from nb201_env.isomorphism import representative_of, representatives
from nb201_env.training.recipe import Recipe


def pick_architectures(accuracy: np.ndarray, count: int, floor: float, spread: str) -> list[int]:
    """Return class representatives whose accuracies are spread over [floor, max]."""
    if spread == "random":  # uniform over all 15,625 archs (as a whole-space Spearman weighs them), deduplicated
        drawn = np.random.default_rng(0).integers(15625, size=4 * count)
        return list(dict.fromkeys(int(representative_of(int(i))) for i in drawn))[:count]
    reps = representatives()
    reps = reps[accuracy[reps] >= floor]
    order = reps[np.argsort(accuracy[reps])]
    if spread == "quantile":
        return [int(order[round(q)]) for q in np.linspace(0, len(order) - 1, count)]
    chosen: list[int] = []
    for target in np.linspace(accuracy[order[0]], accuracy[order[-1]], count):
        candidates = [int(i) for i in order if int(i) not in chosen]
        chosen.append(min(candidates, key=lambda i: abs(accuracy[i] - target)))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", help="CIFAR-10 image folder (default: the shared tarball, extracted to /tmp)")
    parser.add_argument("--archs", type=int, default=10)
    parser.add_argument("--spread", choices=("value", "quantile", "random"), default="value")
    parser.add_argument("--floor", type=float, default=30.0, help="skip archs below this NB201 accuracy (%%)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train-subset", type=int, default=5000)
    parser.add_argument("--valid-subset", type=int, default=2000)
    parser.add_argument("--test-subset", type=int, default=None, help="also score this many test images")
    parser.add_argument("--eval-epochs", choices=("last", "all"), default="last")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cells", type=int, default=1)
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--crop-padding", type=int, default=0)
    parser.add_argument("--precision", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--workers", type=int, default=2, help="worker processes (1 thread each)")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "nb201_env_rank_fidelity.sqlite"))
    args = parser.parse_args()

    from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
    from nb201_env.training.parallel import ProcessPoolBackend
    from nb201_env.training.trainer import Runtime

    folder = shared_root() / "nb201"
    test200 = read_column(folder / "nb201_hp200_final_test_accuracy_mean.csv", "cifar10/ori-test")
    valid12 = read_column(folder / "nb201_hp12_final_accuracy.csv", "cifar10-valid/x-valid")
    archs = pick_architectures(test200, args.archs, args.floor, args.spread)
    recipe = Recipe.proxy(
        epochs=args.epochs,
        train_subset=args.train_subset,
        valid_subset=args.valid_subset,
        batch_size=args.batch,
        channels=args.channels,
        cells_per_stage=args.cells,
        resolution=args.resolution,
        crop_padding=args.crop_padding,
        test_subset=args.test_subset,
    )
    runtime = Runtime(device="cpu", threads=1, precision=args.precision, eval_epochs=args.eval_epochs)
    config = TrainingConfig(recipe=recipe, runtime=runtime, seed=args.seed, cache=args.cache)
    splits = load_prepared(args.root, recipe)
    start = time.perf_counter()
    backend = ProcessPoolBackend(workers=args.workers, threads_per_worker=1) if args.workers > 1 else None
    with TrainingEvaluator(config, splits=splits, backend=backend) as evaluator:
        test = ("all" if args.eval_epochs == "all" else True) if args.test_subset else False
        runs = evaluator.run(archs, [args.seed] * len(archs), test=test)
    if backend is not None:
        backend.close()
    wall = time.perf_counter() - start
    proxy = np.array([r["valid_accuracy"][-1] for r in runs])
    seconds = np.array(
        [sum(r["train_seconds"]) + sum(r["eval_seconds"]) + sum(r.get("test_seconds_curve") or [0.0]) for r in runs]
    )
    rows = [
        (str(a), f"{test200[a]:.2f}", f"{valid12[a]:.2f}", f"{p:.2f}", f"{s:.1f}")
        for a, p, s in sorted(zip(archs, proxy, seconds), key=lambda t: test200[t[0]])
    ]
    print(table(rows, ("arch", "NB201 200-ep test", "NB201 12-ep valid", "proxy valid", "train+eval s")))
    print(f"recipe {recipe.stable_hash()}: {recipe.to_dict()}")
    print(f"runtime: {args.workers} process(es) x 1 thread, {args.precision}; wall {wall:.1f}s this run")
    print(f"seconds per arch (recorded, one process): mean {seconds.mean():.2f}, median {np.median(seconds):.2f}")
    print(f"Spearman(proxy valid, NB201 200-epoch test)        = {spearman(proxy, test200[archs]):.3f}")
    if args.test_subset:
        proxy_test = np.array([r["test_accuracy"] for r in runs])
        print(f"Spearman(proxy test, NB201 200-epoch test)         = {spearman(proxy_test, test200[archs]):.3f}")
    print(f"Spearman(NB201 12-epoch valid, NB201 200-epoch test) = {spearman(valid12[archs], test200[archs]):.3f}")


if __name__ == "__main__":
    main()
