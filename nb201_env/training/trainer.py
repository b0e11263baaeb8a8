"""Train one NB201 network fast: the whole dataset as tensors, batched augmentation, no per-sample work.

Each epoch shuffles once, augments chunks of the uint8 training tensor with a few batched ops
(:mod:`nb201_env.training.augment`), then slices batches out of them and normalizes each (one fused op, on
data still in cache). The random numbers are drawn on the CPU, so a seed gives one data stream on every
device. Both clocks are read around every epoch's passes (:mod:`~nb201_env.training.timing`). The optimizer is
the official SGD (fused kernel where the build has one), the learning rate follows the official per-epoch
cosine, and statistics stay on the device until the epoch ends. Evaluation runs under ``inference_mode``
in big batches. :class:`~nb201_env.training.runtime.Runtime` holds the execution choices.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from nb201_env import complexity
from nb201_env.training._torch import torch
from nb201_env.training.augment import Normalizer, augment
from nb201_env.training.machine import cpu_model
from nb201_env.training.network import NB201Network, count_parameters
from nb201_env.training.recipe import Recipe
from nb201_env.training.result import EpochCallback, EpochReport, TrainResult, report_epoch
from nb201_env.training.runtime import Runtime
from nb201_env.training.splits import Splits
from nb201_env.training.timing import Stopwatch, cpu_clock

log = logging.getLogger(__name__)
F = torch.nn.functional
CHUNK_IMAGES = 8192  # augment this many images at once: big enough to amortize op overhead, small in memory


@contextlib.contextmanager
def run_context(seed: int, runtime: Runtime, device: torch.device) -> Iterator[None]:
    """Seed torch's global RNG (model init) without leaking the change, and apply thread/determinism settings."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    devices = [device.index or 0] if device.type == "cuda" else []
    benchmark = torch.backends.cudnn.benchmark
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        torch.set_num_threads(runtime.torch_threads)
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


def run_info(device: torch.device, autocast: torch.dtype | None, runtime: Runtime, splits: Splits) -> dict[str, Any]:
    """Return the execution facts recorded with a run (``cpu_seconds`` is added by the caller)."""
    return {
        "device": str(device),
        "precision": str(autocast).replace("torch.", "") if autocast else "float32",
        "threads": runtime.torch_threads,
        "torch": torch.__version__,
        "channels_last": runtime.channels_last,
        "deterministic": runtime.deterministic,
        "compile": runtime.compile,
        "train_images": len(splits.train),
        "valid_images": len(splits.valid) if splits.valid is not None else 0,
        "resolution": splits.train.images.shape[-1],
        "split_source": splits.split_source,
        "data_id": splits.data_id,
        "split_id": splits.split_id,
        "eval_epochs": runtime.eval_epochs,
        "processor": cpu_model() if device.type == "cpu" else torch.cuda.get_device_name(device),
        "cpu_clock": "thread" if runtime.torch_threads == 1 else "process",
    }


def device_sync(device: torch.device) -> Callable[[], None]:
    """Return a function that waits for the device's queued work (a timer read after it measures it all)."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


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


def _train_epoch(
    step_model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    data: tuple[torch.Tensor, torch.Tensor],
    recipe: Recipe,
    normalize: Normalizer,
    generator: torch.Generator,
    autocast: torch.dtype | None,
) -> tuple[float, float]:
    """Train one epoch over shuffled, augmented chunks; return (mean loss, accuracy %)."""
    train_x, train_y = data
    device = train_x.device
    n, bs = len(train_x), recipe.batch_size
    chunk = max(bs, CHUNK_IMAGES // bs * bs)  # whole batches per chunk, so batches never straddle chunks
    padding = recipe.padding_for(train_x.shape[-1])
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    order = torch.randperm(n, generator=generator).to(device)  # drawn on the CPU: one data order on every device
    for c0 in range(0, n, chunk):
        rows = order[c0 : c0 + chunk]
        xs = augment(train_x[rows], padding, recipe.flip, generator)  # uint8: a quarter of the float chunk
        ys = train_y[rows]
        for b0 in range(0, len(rows), bs):
            x, y = normalize(xs[b0 : b0 + bs]), ys[b0 : b0 + bs]  # elementwise: the same values, still in cache
            with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
                logits = step_model(x)
                loss = F.cross_entropy(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            loss_sum += loss.detach() * len(y)
            correct += (logits.detach().argmax(1) == y).sum()
    return loss_sum.item() / n, 100.0 * correct.item() / n  # .item() waits for the device


def train(
    index: int,
    splits: Splits,
    recipe: Recipe,
    seed: int,
    runtime: Runtime | None = None,
    test: bool | str = False,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Train architecture ``index`` on prepared splits (see :func:`~nb201_env.training.splits.prepare`).

    The validation split (``x-valid``) is scored after every epoch (or the last one, per ``runtime``); the
    test split only when ``test`` is true, after the last epoch, or after every epoch with ``test="all"``
    (learning curves for tables; never used as a search signal), in the same run. ``on_epoch`` is called
    after each epoch (progress bars); one INFO log line per epoch is written either way.
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
        generator = torch.Generator().manual_seed(seed)  # on the CPU, whatever the device: the same data stream
        normalize = Normalizer(splits.mean, splits.std, device, runtime.channels_last)
        train_data = to_device(splits.train.images, device), to_device(splits.train.labels, device)
        valid_x, valid_y = to_device(splits.valid.images, device), to_device(splits.valid.labels, device)
        if test:
            test_x, test_y = to_device(splits.test.images, device), to_device(splits.test.labels, device)
        watch = Stopwatch(cpu_clock(runtime.torch_threads), device_sync(device))
        curves: dict[str, list[float]] = {k: [] for k in ("tl", "ta", "vl", "va", "ts", "tc", "es", "ec")}
        tests: dict[str, list[float]] = {k: [] for k in ("acc", "loss", "s", "c")}
        for epoch in range(recipe.epochs):
            for group in optimizer.param_groups:
                group["lr"] = recipe.lr_at(epoch)
            model.train()
            start = watch.start()
            train_loss, train_acc = _train_epoch(
                step_model, optimizer, scaler, train_data, recipe, normalize, generator, autocast
            )
            trained = watch.since(start)
            start = watch.start()
            valid_acc = valid_loss = math.nan
            if runtime.eval_epochs == "all" or epoch == recipe.epochs - 1:
                batch = runtime.eval_batch_size
                valid_acc, valid_loss = evaluate(step_model, valid_x, valid_y, normalize, batch, autocast)
            scored = watch.since(start)
            values = (train_loss, train_acc, valid_loss, valid_acc, trained.wall, trained.cpu, scored.wall, scored.cpu)
            for key, value in zip(curves, values):
                curves[key].append(value)
            if test == "all" or (test and epoch == recipe.epochs - 1):
                start = watch.start()
                acc, loss = evaluate(step_model, test_x, test_y, normalize, runtime.eval_batch_size, autocast)
                lap = watch.since(start)
                for key, value in zip(tests, (acc, loss, lap.wall, lap.cpu)):
                    tests[key].append(value)
            report = EpochReport(index, seed, epoch, recipe.epochs, train_loss, train_acc, valid_acc,
                                 trained.wall + scored.wall, trained.cpu + scored.cpu)  # fmt: skip
            report_epoch(report, on_epoch)
    flops = int(complexity.flop_count(index, splits.num_classes, resolution, recipe.channels, recipe.cells_per_stage))
    info = run_info(device, autocast, runtime, splits)
    info["cpu_seconds"] = sum(curves["tc"]) + sum(curves["ec"]) + sum(tests["c"])
    every = test == "all"
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
        test_accuracy=tests["acc"][-1] if test else None,
        test_loss=tests["loss"][-1] if test else None,
        test_seconds=tests["s"][-1] if test else None,
        test_accuracy_curve=tests["acc"] if every else None,
        test_loss_curve=tests["loss"] if every else None,
        test_seconds_curve=tests["s"] if every else None,
        info=info,
        train_cpu_seconds=curves["tc"],
        eval_cpu_seconds=curves["ec"],
        test_cpu_seconds=tests["c"][-1] if test else None,
        test_cpu_seconds_curve=tests["c"] if every else None,
    )
