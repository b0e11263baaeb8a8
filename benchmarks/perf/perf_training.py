"""Training speed on this machine, all measured in one run.

``throughput``: images/s of our trainer vs a straightforward PyTorch loop (a ``Dataset`` converting and
augmenting one uint8 sample at a time, a ``DataLoader``, the default SGD, NCHW float32) for the same network,
recipe, data and thread count; runs alternate so that load from other processes hits both alike.

``proxy``: seconds per architecture of the cheap proxy of shared/docs/proxy-notes.md (16 px, C=8, N=1,
5,000 train / 2,000 validation images, 4 epochs, batch 128) end to end (model build, training, final
validation), for several execution choices: threads per process, worker processes, float32 vs bf16.

    python -m benchmarks.perf.perf_training throughput [--recipe proxy|nb201] [--threads 1]
    python -m benchmarks.perf.perf_training proxy [--archs 6]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from benchmarks.common import cifar_root, table
from nb201_env.isomorphism import representatives
from nb201_env.training.recipe import Recipe
from nb201_env.training.splits import Splits, load_splits, prepare


def load_prepared(root: str | None, recipe: Recipe) -> Splits:
    """Load CIFAR-10 (``cifar10-valid`` split) and prepare it for the recipe."""
    folder, cache = cifar_root(root)
    return prepare(load_splits("cifar10-valid", folder, cache_dir=cache), recipe)


def baseline_epochs(index: int, splits: Splits, recipe: Recipe, seed: int, epochs: int) -> float:
    """Train with a straightforward per-sample loop; return the training seconds."""
    import torch
    import torch.nn.functional as F

    from nb201_env.training.network import NB201Network

    class PerSample(torch.utils.data.Dataset):
        def __init__(self, images: np.ndarray, labels: np.ndarray, padding: int) -> None:
            self.images, self.labels, self.padding = images, labels, padding
            self.mean = torch.tensor(splits.mean).view(3, 1, 1)
            self.std = torch.tensor(splits.std).view(3, 1, 1)

        def __len__(self) -> int:
            return len(self.labels)

        def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
            x = torch.from_numpy(self.images[i]).float().div(255)
            if torch.rand(()) < 0.5:
                x = x.flip(2)
            if self.padding:  # RandomCrop pads with black before ToTensor/Normalize
                p, (h, w) = self.padding, x.shape[1:]
                dy, dx = torch.randint(0, 2 * p + 1, (2,)).tolist()
                x = F.pad(x, (p, p, p, p))[:, dy : dy + h, dx : dx + w]
            return (x - self.mean) / self.std, int(self.labels[i])

    torch.manual_seed(seed)
    model = NB201Network(index, splits.num_classes, recipe.channels, recipe.cells_per_stage)
    data = PerSample(splits.train.images, splits.train.labels, recipe.padding_for(splits.train.images.shape[-1]))
    loader = torch.utils.data.DataLoader(data, batch_size=recipe.batch_size, shuffle=True)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay, nesterov=True
    )
    start = time.perf_counter()
    for epoch in range(epochs):
        for group in optimizer.param_groups:
            group["lr"] = recipe.lr_at(epoch)
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def throughput(args: argparse.Namespace) -> None:
    """Compare training images/s of our trainer and the straightforward loop."""
    import torch

    from nb201_env.training.trainer import Runtime, train

    torch.set_num_threads(args.threads)
    if args.recipe == "proxy":
        recipe = Recipe.proxy(crop_padding=2, epochs=args.epochs, train_subset=args.images, valid_subset=500)
    else:  # the official network and recipe on a subset (a full 25k-image epoch takes minutes here)
        recipe = Recipe(epochs=args.epochs, train_subset=args.images, valid_subset=500)
    splits = load_prepared(args.root, recipe)
    n = len(splits.train) * args.epochs
    runtime = Runtime(device="cpu", threads=args.threads, eval_epochs="last")
    ours, base = [], []
    for _ in range(args.rounds):
        result = train(args.arch, splits, recipe, seed=0, runtime=runtime)
        ours.append(n / sum(result.train_seconds))
        base.append(n / baseline_epochs(args.arch, splits, recipe, 0, args.epochs))
    rows = [
        ("our trainer", f"{max(ours):.0f}", ", ".join(f"{r:.0f}" for r in ours)),
        ("straightforward loop", f"{max(base):.0f}", ", ".join(f"{r:.0f}" for r in base)),
    ]
    size = splits.train.images.shape[-1]
    print(
        f"arch {args.arch}, recipe {args.recipe} ({size} px, C={recipe.channels}, N={recipe.cells_per_stage}, "
        f"batch {recipe.batch_size}, crop pad {recipe.padding_for(size)}+flip), "
        f"{len(splits.train)} images x {args.epochs} epochs, {args.threads} thread(s), "
        f"load avg {os.getloadavg()[0]:.1f}"
    )
    print(table(rows, ("training loop", "best images/s", "every round")))
    print(f"ratio (best/best): {max(ours) / max(base):.2f}x")


def _proxy_run(
    splits: Splits, recipe: Recipe, archs: list[int], workers: int, threads: int, precision: str
) -> tuple[float, float, float]:
    """Return (wall s / arch, training CPU s / arch, mean accuracy) of one execution choice (start-up excluded)."""
    from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
    from nb201_env.training.parallel import ProcessPoolBackend
    from nb201_env.training.trainer import Runtime

    runtime = Runtime(device="cpu", threads=threads, precision=precision, eval_epochs="last")
    config = TrainingConfig(recipe=recipe, runtime=runtime)
    pool = ProcessPoolBackend(workers=workers, threads_per_worker=threads) if workers > 1 else None
    with TrainingEvaluator(config, splits=splits, backend=pool) as evaluator:
        evaluator.run(archs[: max(workers, 2)], [1] * max(workers, 2))  # start workers, warm up kernels
        start = time.perf_counter()
        runs = evaluator.run(archs, [0] * len(archs))
        wall = (time.perf_counter() - start) / len(archs)
    if pool is not None:
        pool.close()
    cpu = float(np.mean([r["info"]["cpu_seconds"] for r in runs]))
    return wall, cpu, float(np.mean([r["valid_accuracy"][-1] for r in runs]))


CHOICES = {
    "1x1": ({}, 1, 1, "float32"),
    "1x2": ({}, 1, 2, "float32"),
    "1x1-bf16": ({}, 1, 1, "bfloat16"),
    "2x1": ({}, 2, 1, "float32"),
    "2x1-bf16": ({}, 2, 1, "bfloat16"),
    "2x1-batch256": ({"batch_size": 256}, 2, 1, "float32"),
}
"""label -> (recipe changes, processes, threads per process, precision)."""


def proxy(args: argparse.Namespace) -> None:
    """Measure seconds per architecture of the proxy-notes recipe under several execution choices."""
    archs = np.random.default_rng(args.seed).choice(representatives(), args.archs, replace=False).tolist()
    rows = []
    for label in args.choices.split(","):
        changes, workers, threads, precision = CHOICES[label]
        recipe = Recipe.proxy(**changes)
        splits = load_prepared(args.root, recipe)
        load = os.getloadavg()[0]
        wall, cpu, accuracy = _proxy_run(splits, recipe, archs, workers, threads, precision)
        rows.append((label, str(workers), str(threads), precision, str(recipe.batch_size)))
        rows[-1] += (f"{wall:.2f}", f"{cpu:.2f}", f"{accuracy:.1f}", f"{load:.1f}")
        print(rows[-1], flush=True)
    print(f"proxy recipe (Recipe.proxy()) on {len(archs)} random class representatives {archs}")
    header = ("choice", "processes", "threads", "precision", "batch", "wall s/arch", "train CPU s/arch")
    print(table(rows, (*header, "mean valid %", "load avg before")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("throughput", "proxy"))
    parser.add_argument("--root", help="CIFAR-10 image folder (default: the shared tarball, extracted to /tmp)")
    parser.add_argument("--recipe", choices=("proxy", "nb201"), default="proxy")
    parser.add_argument("--arch", type=int, default=6111, help="architecture index for throughput")
    parser.add_argument("--images", type=int, default=5000, help="training images for throughput")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per throughput round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each loop")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--archs", type=int, default=6, help="architectures per proxy measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--choices", default=",".join(CHOICES), help=f"proxy execution choices: {list(CHOICES)}")
    args = parser.parse_args()
    throughput(args) if args.what == "throughput" else proxy(args)


if __name__ == "__main__":
    main()
