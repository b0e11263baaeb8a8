"""Train one NB201 network fast: the whole dataset as tensors, batched augmentation, no per-sample work.

Each epoch shuffles once, augments and normalizes chunks of the uint8 training tensor with a few batched
ops (:mod:`nb201_env.training.augment`), then slices batches out of the result as views. The optimizer is
the official SGD (fused kernel where the build has one), the learning rate follows the official per-epoch
cosine, and statistics stay on the device until the epoch ends. Evaluation runs under ``inference_mode``
in big batches. :class:`~nb201_env.training.runtime.Runtime` holds the execution choices.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nb201_env import complexity
from nb201_env.training._torch import torch
from nb201_env.training.augment import Normalizer, augment
from nb201_env.training.network import NB201Network, count_parameters
from nb201_env.training.recipe import Recipe
from nb201_env.training.runtime import Runtime
from nb201_env.training.splits import Splits

log = logging.getLogger(__name__)
F = torch.nn.functional
CHUNK_IMAGES = 8192  # augment this many images at once: big enough to amortize op overhead, small in memory


@dataclass
class TrainResult:
    """Everything measured while training one architecture (curves are per epoch, NaN where not scored)."""

    index: int
    dataset: str
    seed: int
    recipe_hash: str
    train_loss: list[float]
    train_accuracy: list[float]
    valid_loss: list[float]
    valid_accuracy: list[float]
    train_seconds: list[float]
    eval_seconds: list[float]
    params: int
    flops: int
    test_accuracy: float | None = None
    test_loss: float | None = None
    test_seconds: float | None = None
    test_accuracy_curve: list[float] | None = None
    test_loss_curve: list[float] | None = None
    test_seconds_curve: list[float] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        """Validation accuracy (%) after the last epoch: the search signal."""
        return self.valid_accuracy[-1]

    @property
    def cost(self) -> float:
        """Measured seconds of training plus the final validation pass (what a search pays)."""
        return float(sum(self.train_seconds) + self.eval_seconds[-1])

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable dict."""
        return asdict(self)


@contextlib.contextmanager
def run_context(seed: int, runtime: Runtime, device: torch.device) -> Iterator[None]:
    """Seed torch's global RNG (model init) without leaking the change, and apply thread/determinism settings."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    devices = [device.index or 0] if device.type == "cuda" else []
    benchmark = torch.backends.cudnn.benchmark
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if runtime.threads is not None:
            torch.set_num_threads(runtime.threads)
        if runtime.deterministic:
            torch.use_deterministic_algorithms(True)
        elif device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels once
        try:
            yield
        finally:
            torch.set_num_threads(threads)
            torch.use_deterministic_algorithms(deterministic)
            torch.backends.cudnn.benchmark = benchmark


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """Return a numpy array as a tensor on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def evaluate(
    model: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    normalize: Normalizer,
    batch_size: int,
    autocast: torch.dtype | None,
) -> tuple[float, float]:
    """Return (accuracy %, mean loss) of the model on uint8 images, in eval mode and without autograd."""
    model.eval()
    loss_sum = torch.zeros((), device=images.device)
    correct = torch.zeros((), dtype=torch.int64, device=images.device)
    with torch.inference_mode(), torch.autocast(images.device.type, dtype=autocast, enabled=autocast is not None):
        for start in range(0, len(images), batch_size):
            logits = model(normalize(images[start : start + batch_size])).float()
            target = labels[start : start + batch_size]
            loss_sum += F.cross_entropy(logits, target, reduction="sum")
            correct += (logits.argmax(1) == target).sum()
    n = max(len(images), 1)
    return 100.0 * correct.item() / n, loss_sum.item() / n


def make_optimizer(model: torch.nn.Module, recipe: Recipe, device: torch.device) -> torch.optim.Optimizer:
    """Return the recipe's SGD over all of the model's parameters (fused where the device supports it)."""
    kwargs = dict(momentum=recipe.momentum, weight_decay=recipe.weight_decay, nesterov=recipe.nesterov)
    try:  # the fused kernel updates all parameters in one call: much less per-step overhead for small nets
        return torch.optim.SGD(model.parameters(), lr=recipe.lr, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # pragma: no cover - builds without a fused SGD for the device
        return torch.optim.SGD(model.parameters(), lr=recipe.lr, foreach=device.type == "cuda", **kwargs)


def run_info(
    device: torch.device, autocast: torch.dtype | None, threads: int, runtime: Runtime, splits: Splits
) -> dict[str, Any]:
    """Return the execution facts recorded with a run (``cpu_seconds`` is added by the caller)."""
    return {
        "device": str(device),
        "precision": str(autocast).replace("torch.", "") if autocast else "float32",
        "threads": threads,
        "torch": torch.__version__,
        "channels_last": runtime.channels_last,
        "deterministic": runtime.deterministic,
        "compile": runtime.compile,
        "train_images": len(splits.train),
        "valid_images": len(splits.valid) if splits.valid is not None else 0,
        "resolution": splits.train.images.shape[-1],
        "split_source": splits.split_source,
    }


def check_run(splits: Splits, recipe: Recipe, test: bool | str) -> None:
    """Raise ``ValueError`` unless the splits can train this recipe (validation split, prepared for it)."""
    if test not in (False, True, "all"):
        raise ValueError(f"test must be False, True or 'all', got {test!r}")
    if splits.valid is None:
        raise ValueError(f"dataset {splits.dataset!r} has no validation split; train on 'cifar10-valid' for a signal")
    if splits.prepared_for != recipe.data_key():  # else results would be cached under a recipe they did not use
        raise ValueError(
            f"splits were prepared for (resolution, train/valid/test subsets, subset seed) = {splits.prepared_for}, "
            f"but the recipe asks for {recipe.data_key()}: call prepare(splits, recipe) first"
        )


def train(
    index: int,
    splits: Splits,
    recipe: Recipe,
    seed: int,
    runtime: Runtime | None = None,
    test: bool | str = False,
) -> TrainResult:
    """Train architecture ``index`` on prepared splits (see :func:`~nb201_env.training.splits.prepare`).

    The validation split (``x-valid``) is scored after every epoch (or the last one, per ``runtime``); the
    test split only when ``test`` is true, after the last epoch, or after every epoch with ``test="all"``
    (learning curves for tables; never used as a search signal).
    """
    check_run(splits, recipe, test)
    runtime = runtime or Runtime()
    device = runtime.resolve_device()
    autocast = runtime.autocast_dtype(device)
    resolution = splits.train.images.shape[-1]
    with run_context(seed, runtime, device):
        model = NB201Network(index, splits.num_classes, recipe.channels, recipe.cells_per_stage).to(device)
        params = count_parameters(model)
        if runtime.channels_last:
            model = model.to(memory_format=torch.channels_last)
        step_model = torch.compile(model) if runtime.compile else model
        optimizer = make_optimizer(model, recipe, device)
        scaler = torch.amp.GradScaler(device.type, enabled=autocast == torch.float16)
        generator = torch.Generator(device=device).manual_seed(seed)
        normalize = Normalizer(splits.mean, splits.std, device, runtime.channels_last)
        train_x, train_y = to_device(splits.train.images, device), to_device(splits.train.labels, device)
        valid_x, valid_y = to_device(splits.valid.images, device), to_device(splits.valid.labels, device)
        padding = recipe.padding_for(resolution)
        n, bs = len(train_x), recipe.batch_size
        chunk = max(bs, CHUNK_IMAGES // bs * bs)  # whole batches per chunk, so batches never straddle chunks
        curves: dict[str, list[float]] = {k: [] for k in ("tl", "ta", "vl", "va", "ts", "es")}
        test_curves: dict[str, list[float]] = {"acc": [], "loss": [], "s": []}
        if test == "all":
            test_x, test_y = to_device(splits.test.images, device), to_device(splits.test.labels, device)
        cpu_start = time.process_time()
        for epoch in range(recipe.epochs):
            for group in optimizer.param_groups:
                group["lr"] = recipe.lr_at(epoch)
            model.train()
            start = time.perf_counter()
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), dtype=torch.int64, device=device)
            order = torch.randperm(n, generator=generator, device=device)
            for c0 in range(0, n, chunk):
                rows = order[c0 : c0 + chunk]
                xs = normalize(augment(train_x[rows], padding, recipe.flip, generator))
                ys = train_y[rows]
                for b0 in range(0, len(rows), bs):
                    x, y = xs[b0 : b0 + bs], ys[b0 : b0 + bs]
                    with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
                        logits = step_model(x)
                        loss = F.cross_entropy(logits.float(), y)
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                    loss_sum += loss.detach() * len(y)
                    correct += (logits.detach().argmax(1) == y).sum()
            train_loss, train_acc = loss_sum.item() / n, 100.0 * correct.item() / n
            train_seconds = time.perf_counter() - start  # .item() above waited for the device
            if not math.isfinite(train_loss):
                log.warning("arch %d seed %d: training loss is %s at epoch %d", index, seed, train_loss, epoch)
            start = time.perf_counter()
            if runtime.eval_epochs == "all" or epoch == recipe.epochs - 1:
                valid_acc, valid_loss = evaluate(
                    step_model, valid_x, valid_y, normalize, runtime.eval_batch_size, autocast
                )
            else:
                valid_acc = valid_loss = math.nan
            for key, value in zip(
                curves, (train_loss, train_acc, valid_loss, valid_acc, train_seconds, time.perf_counter() - start)
            ):
                curves[key].append(value)
            if test == "all":
                start = time.perf_counter()
                acc, loss = evaluate(step_model, test_x, test_y, normalize, runtime.eval_batch_size, autocast)
                for key, value in zip(test_curves, (acc, loss, time.perf_counter() - start)):
                    test_curves[key].append(value)
        cpu_seconds = time.process_time() - cpu_start  # CPU time of this process (all its threads)
        test_acc = test_loss = test_seconds = None
        if test == "all":
            test_acc, test_loss, test_seconds = (test_curves[k][-1] for k in ("acc", "loss", "s"))
        elif test:
            start = time.perf_counter()
            test_x, test_y = to_device(splits.test.images, device), to_device(splits.test.labels, device)
            test_acc, test_loss = evaluate(step_model, test_x, test_y, normalize, runtime.eval_batch_size, autocast)
            test_seconds = time.perf_counter() - start
        threads = torch.get_num_threads()
    flops = int(complexity.flop_count(index, splits.num_classes, resolution, recipe.channels, recipe.cells_per_stage))
    info = run_info(device, autocast, threads, runtime, splits)
    info["cpu_seconds"] = cpu_seconds
    return TrainResult(
        index=index,
        dataset=splits.dataset,
        seed=seed,
        recipe_hash=recipe.stable_hash(),
        train_loss=curves["tl"],
        train_accuracy=curves["ta"],
        valid_loss=curves["vl"],
        valid_accuracy=curves["va"],
        train_seconds=curves["ts"],
        eval_seconds=curves["es"],
        params=params,
        flops=flops,
        test_accuracy=test_acc,
        test_loss=test_loss,
        test_seconds=test_seconds,
        test_accuracy_curve=test_curves["acc"] if test == "all" else None,
        test_loss_curve=test_curves["loss"] if test == "all" else None,
        test_seconds_curve=test_curves["s"] if test == "all" else None,
        info=info,
    )
