"""Train K architectures together, one model step for all: the recipe of :func:`~.trainer.train`, K at a time.

Each architecture keeps what it has when trained alone: its seed initialises its network (each is built
under its own seed, then stacked, :mod:`nb201_env.training.batched_network`) and drives its data order
and augmentation (architectures with the same seed share one data stream: the batches are augmented
once). The loss of a step is the sum of the per-architecture mean losses, so each network's gradient is
that of its own loss, and one SGD step over all parameters updates each network as its own optimizer
would. With ``Runtime(deterministic=True)`` the per-arch stacking reproduces single training bit for bit
on one machine; the grouped stacking differs only by float rounding (other convolution kernels).

Seconds (wall and CPU, :mod:`~nb201_env.training.timing`): with per-arch stacking each network's forward and
backward passes are timed, and the shared work (augmentation, optimizer step) is split evenly; grouped kernels
cannot be timed per network, so the step's seconds are split in proportion to the networks' FLOPs.
``info["seconds"]`` says which. With fp16
autocast (CUDA without bf16) one overflow skips the step for all K networks (the loss scaler is shared).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from nb201_env import complexity
from nb201_env.training import trainer
from nb201_env.training._torch import torch
from nb201_env.training.augment import Normalizer, augment
from nb201_env.training.batched_network import GroupedNetwork, PerArchNetworks
from nb201_env.training.jobs import Job
from nb201_env.training.network import NB201Network, count_parameters
from nb201_env.training.recipe import Recipe
from nb201_env.training.result import EpochCallback, EpochReport, TrainResult, report_epoch
from nb201_env.training.runtime import Runtime
from nb201_env.training.splits import Splits
from nb201_env.training.timing import Lap, Stopwatch, cpu_clock
from nb201_env.training.trainer import (
    CHUNK_IMAGES,
    check_run,
    device_sync,
    evaluate,
    make_optimizer,
    run_context,
    run_info,
    to_device,
)

log = logging.getLogger(__name__)
F = torch.nn.functional
Tensor = torch.Tensor
SECONDS = {
    "per-arch": "measured per architecture (forward, backward and evaluation); shared work split evenly",
    "grouped": "the stacked steps' measured seconds split in proportion to each architecture's FLOPs",
}


def _grouped_step(model: GroupedNetwork, xs: list[Tensor], target: Tensor, opt: dict) -> tuple[Tensor, Tensor]:
    with torch.autocast(opt["device"].type, dtype=opt["autocast"], enabled=opt["autocast"] is not None):
        logits = model(xs)  # (K, B, classes)
        losses = F.cross_entropy(logits.float().flatten(0, 1), target.flatten(), reduction="none")
        losses = losses.view(target.shape).mean(1)
    opt["optimizer"].zero_grad(set_to_none=True)
    opt["scaler"].scale(losses.sum()).backward()  # no shared parameter: each gets its own loss's gradient
    opt["scaler"].step(opt["optimizer"])
    opt["scaler"].update()
    return logits.detach(), losses.detach()


def _per_arch_step(
    model: PerArchNetworks, xs: list[Tensor], target: Tensor, opt: dict, laps: list[Lap]
) -> tuple[Tensor, Tensor]:
    opt["optimizer"].zero_grad(set_to_none=True)
    watch: Stopwatch = opt["watch"]
    logits, losses = [], []
    for i, (net, s) in enumerate(zip(model.nets, model.stream_of)):
        start = watch.start()
        with torch.autocast(opt["device"].type, dtype=opt["autocast"], enabled=opt["autocast"] is not None):
            out = net(xs[s])
            loss = F.cross_entropy(out.float(), target[i])
        opt["scaler"].scale(loss).backward()
        lap = watch.since(start)
        laps[i].wall += lap.wall
        laps[i].cpu += lap.cpu
        logits.append(out.detach())
        losses.append(loss.detach())
    opt["scaler"].step(opt["optimizer"])  # one fused update of every network's parameters
    opt["scaler"].update()
    return torch.stack(logits), torch.stack(losses)


def _by_flops(lap: Lap, flops: list[int]) -> list[Lap]:
    """Split one lap over the networks in proportion to their FLOPs."""
    return [Lap(lap.wall * f / sum(flops), lap.cpu * f / sum(flops)) for f in flops]


def _score(
    model: GroupedNetwork | PerArchNetworks, images: Tensor, labels: Tensor, opt: dict
) -> tuple[list[float], list[float], list[Lap]]:
    """Return per-network (accuracy %, mean loss, seconds) on uint8 images, in eval mode."""
    normalize, autocast, batch, watch = opt["normalize"], opt["autocast"], opt["eval_batch_size"], opt["watch"]
    if isinstance(model, PerArchNetworks):
        accuracy, loss, laps = [], [], []
        for net in model.nets:
            start = watch.start()
            a, lo = evaluate(net, images, labels, normalize, batch, autocast)  # reads .item(): synchronised
            accuracy.append(a), loss.append(lo), laps.append(watch.since(start))
        return accuracy, loss, laps
    start = watch.start()
    model.eval()
    k = model.k
    batch = max(1, batch // k)  # K networks at once: keep the activations of one solo evaluation batch
    loss_sum = torch.zeros(k, device=images.device)
    correct = torch.zeros(k, dtype=torch.int64, device=images.device)
    with torch.inference_mode(), torch.autocast(images.device.type, dtype=autocast, enabled=autocast is not None):
        for b0 in range(0, len(images), batch):
            logits = model([normalize(images[b0 : b0 + batch])]).float()
            target = labels[b0 : b0 + batch].expand(k, -1)
            loss_sum += F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none").view(k, -1).sum(1)
            correct += (logits.argmax(-1) == target).sum(1)
    total = max(len(images), 1)
    accuracy = (100.0 * correct.double() / total).tolist()
    losses = (loss_sum.double() / total).tolist()
    return accuracy, losses, _by_flops(watch.since(start), opt["flops"])


def _build(indices: list[int], seeds: list[int], splits: Splits, recipe: Recipe, runtime: Runtime, stream_of: list[int],
           stacking: str, opt: dict) -> tuple[GroupedNetwork | PerArchNetworks, list[int]]:  # fmt: skip
    """Build the K networks, each under its own seed, stacked in the chosen layout; return it and their params."""
    device = opt["device"]
    nets = []
    for index, seed in zip(indices, seeds):
        torch.manual_seed(seed)  # the initialisation this architecture gets when trained alone
        nets.append(NB201Network(index, splits.num_classes, recipe.channels, recipe.cells_per_stage).to(device))
    params = [count_parameters(n) for n in nets]
    if runtime.channels_last:
        nets = [n.to(memory_format=torch.channels_last) for n in nets]
    model = (GroupedNetwork if stacking == "grouped" else PerArchNetworks)(nets, stream_of).to(device)
    if runtime.channels_last:
        model = model.to(memory_format=torch.channels_last)
    for part in [model] if stacking == "grouped" else list(model.nets):
        if runtime.compile:
            part.compile()
    return model, params


def train_many(
    indices: Sequence[int],
    splits: Splits,
    recipe: Recipe,
    seeds: Sequence[int],
    runtime: Runtime | None = None,
    test: bool | str = False,
    on_epoch: EpochCallback | None = None,
) -> list[TrainResult]:
    """Train architectures ``indices`` (with ``seeds``) together; return one result per architecture, in order.

    ``test`` and ``on_epoch`` are as in :func:`~nb201_env.training.trainer.train`; ``runtime.stacking`` picks
    the layout.
    """
    indices, seeds = [int(i) for i in indices], [int(s) for s in seeds]
    if not indices or len(seeds) != len(indices):
        raise ValueError(f"need one seed per architecture, got {len(indices)} architectures and {len(seeds)} seeds")
    check_run(splits, recipe, test)
    runtime = runtime or Runtime()
    device = runtime.resolve_device()
    stacking = runtime.stacking_on(device)
    streams = list(dict.fromkeys(seeds))  # one data stream per distinct seed
    stream_of = [streams.index(s) for s in seeds]
    k, resolution = len(indices), splits.train.images.shape[-1]
    shape = (splits.num_classes, resolution, recipe.channels, recipe.cells_per_stage)
    flops = [int(complexity.flop_count(i, *shape)) for i in indices]
    opt: dict = {"device": device, "autocast": runtime.autocast_dtype(device), "flops": flops}
    opt["watch"] = Stopwatch(cpu_clock(runtime.torch_threads), device_sync(device))
    with run_context(seeds[0], runtime, device):
        model, params = _build(indices, seeds, splits, recipe, runtime, stream_of, stacking, opt)
        opt["optimizer"] = make_optimizer(model, recipe, device)
        opt["scaler"] = torch.amp.GradScaler(device.type, enabled=opt["autocast"] == torch.float16)
        opt["normalize"] = Normalizer(splits.mean, splits.std, device, runtime.channels_last)
        opt["eval_batch_size"] = runtime.eval_batch_size
        generators = [torch.Generator().manual_seed(s) for s in streams]  # on the CPU, as train()'s
        train_x, train_y = to_device(splits.train.images, device), to_device(splits.train.labels, device)
        valid_x, valid_y = to_device(splits.valid.images, device), to_device(splits.valid.labels, device)
        test_x = test_y = None
        if test:
            test_x, test_y = to_device(splits.test.images, device), to_device(splits.test.labels, device)
        padding, n, bs = recipe.padding_for(resolution), len(train_x), recipe.batch_size
        chunk = max(bs, CHUNK_IMAGES // bs * bs)  # as train() does, so each stream draws the same random numbers
        keys = ("tl", "ta", "vl", "va", "ts", "tc", "es", "ec", "acc", "loss", "s", "c")
        curves: dict[str, list[list[float]]] = {key: [[] for _ in range(k)] for key in keys}
        for epoch in range(recipe.epochs):
            for group in opt["optimizer"].param_groups:
                group["lr"] = recipe.lr_at(epoch)
            model.train()
            start = opt["watch"].start()
            step_laps = [Lap() for _ in range(k)]
            loss_sum = torch.zeros(k, device=device)
            correct = torch.zeros(k, dtype=torch.int64, device=device)
            orders = [torch.randperm(n, generator=g).to(device) for g in generators]
            for c0 in range(0, n, chunk):
                rows = [order[c0 : c0 + chunk] for order in orders]
                images = [augment(train_x[r], padding, recipe.flip, g) for r, g in zip(rows, generators)]
                labels = [train_y[r] for r in rows]
                for b0 in range(0, len(rows[0]), bs):
                    xs = [opt["normalize"](im[b0 : b0 + bs]) for im in images]  # elementwise: as train()'s chunks
                    target = torch.stack([labels[s][b0 : b0 + bs] for s in stream_of])  # (K, B)
                    if isinstance(model, GroupedNetwork):
                        logits, losses = _grouped_step(model, xs, target, opt)
                    else:
                        logits, losses = _per_arch_step(model, xs, target, opt, step_laps)
                    loss_sum += losses * target.shape[1]
                    correct += (logits.argmax(-1) == target).sum(1)
            train_loss, train_correct = loss_sum.tolist(), correct.tolist()
            epoch_lap = opt["watch"].since(start)
            if stacking == "grouped":
                trained = _by_flops(epoch_lap, flops)
            else:  # each network's own passes, plus an even share of the rest
                shared_wall = max(epoch_lap.wall - sum(lap.wall for lap in step_laps), 0.0) / k
                shared_cpu = max(epoch_lap.cpu - sum(lap.cpu for lap in step_laps), 0.0) / k
                trained = [Lap(lap.wall + shared_wall, lap.cpu + shared_cpu) for lap in step_laps]
            if runtime.eval_epochs == "all" or epoch == recipe.epochs - 1:
                valid_acc, valid_loss, scored = _score(model, valid_x, valid_y, opt)
            else:
                valid_acc = valid_loss = [math.nan] * k
                scored = [Lap() for _ in range(k)]
            if test == "all" or (test and epoch == recipe.epochs - 1):
                accuracy, loss, laps = _score(model, test_x, test_y, opt)
                for i in range(k):
                    for key, value in zip(("acc", "loss", "s", "c"), (accuracy[i], loss[i], laps[i].wall, laps[i].cpu)):
                        curves[key][i].append(value)
            for i in range(k):
                values = (train_loss[i] / n, 100.0 * train_correct[i] / n, valid_loss[i], valid_acc[i])
                laps = (trained[i].wall, trained[i].cpu, scored[i].wall, scored[i].cpu)
                for key, value in zip(("tl", "ta", "vl", "va", "ts", "tc", "es", "ec"), (*values, *laps)):
                    curves[key][i].append(value)
                report = EpochReport(indices[i], seeds[i], epoch, recipe.epochs, values[0], values[1], values[3],
                                     trained[i].wall + scored[i].wall, trained[i].cpu + scored[i].cpu)  # fmt: skip
                report_epoch(report, on_epoch)
    return [_result(i, indices, seeds, splits, recipe, runtime, device, opt, curves, params, stacking, test)
            for i in range(k)]  # fmt: skip


def _result(i: int, indices: list[int], seeds: list[int], splits: Splits, recipe: Recipe, runtime: Runtime,
            device: torch.device, opt: dict, curves: dict[str, list[list[float]]], params: list[int], stacking: str,
            test: bool | str) -> TrainResult:  # fmt: skip
    """Return architecture ``i``'s result from the stacked run's curves."""
    info = run_info(device, opt["autocast"], runtime, splits)
    cpu = sum(curves["tc"][i]) + sum(curves["ec"][i]) + sum(curves["c"][i])
    info.update(cpu_seconds=cpu, archs_per_step=len(indices), stacking=stacking, seconds=SECONDS[stacking])
    tested, every = bool(curves["acc"][i]), test == "all"
    return TrainResult(
        index=indices[i],
        dataset=splits.dataset,
        seed=seeds[i],
        recipe_hash=recipe.stable_hash(),
        train_loss=curves["tl"][i],
        train_accuracy=curves["ta"][i],
        valid_loss=curves["vl"][i],
        valid_accuracy=curves["va"][i],
        train_seconds=curves["ts"][i],
        eval_seconds=curves["es"][i],
        params=params[i],
        flops=opt["flops"][i],
        test_accuracy=curves["acc"][i][-1] if tested else None,
        test_loss=curves["loss"][i][-1] if tested else None,
        test_seconds=curves["s"][i][-1] if tested else None,
        test_accuracy_curve=curves["acc"][i] if every else None,
        test_loss_curve=curves["loss"][i] if every else None,
        test_seconds_curve=curves["s"][i] if every else None,
        info=info,
        train_cpu_seconds=curves["tc"][i],
        eval_cpu_seconds=curves["ec"][i],
        test_cpu_seconds=curves["c"][i][-1] if tested else None,
        test_cpu_seconds_curve=curves["c"][i] if every else None,
    )


def train_jobs(
    jobs: Sequence[Job], splits: Splits, recipe: Recipe, runtime: Runtime, on_epoch: EpochCallback | None = None
) -> list[dict[str, Any]]:
    """Train jobs together (alone when there is one) and return their result dicts in job order."""
    flags = {job.test for job in jobs}
    if len(flags) != 1:
        raise ValueError(f"jobs trained together must share one test flag, got {sorted(map(str, flags))}")
    grouped = runtime.archs_per_step > 1 and runtime.stacking_on(runtime.resolve_device()) == "grouped"
    if len(jobs) == 1 and not grouped:  # a grouped runtime keeps its kernels (and its cache key) for a lone job too
        rep, seed, test = jobs[0]
        return [trainer.train(rep, splits, recipe, seed, runtime, test=test, on_epoch=on_epoch).to_dict()]
    indices, seeds = [job.representative for job in jobs], [job.seed for job in jobs]
    results = train_many(indices, splits, recipe, seeds, runtime, test=jobs[0].test, on_epoch=on_epoch)
    return [r.to_dict() for r in results]
