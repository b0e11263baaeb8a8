"""Train K architectures together, one model step for all: the recipe of :func:`~.trainer.train`, K at a time.

Each architecture keeps what it has when trained alone: its seed initialises its network (each is built
under its own seed, then stacked, :mod:`nb201_env.training.batched_network`) and drives its data order
and augmentation (architectures with the same seed share one data stream: the batches are augmented
once). The loss of a step is the sum of the per-architecture mean losses, so each network's gradient is
that of its own loss, and one SGD step over all parameters updates each network as its own optimizer
would. With ``Runtime(deterministic=True)`` the per-arch stacking reproduces single training bit for bit
on one machine; the grouped stacking differs only by float rounding (other convolution kernels).

Seconds: with per-arch stacking each network's forward and backward passes are timed, and the shared work
(augmentation, optimizer step) is split evenly; grouped kernels cannot be timed per network, so the
step's seconds are split in proportion to the networks' FLOPs. ``info["seconds"]`` says which. With fp16
autocast (CUDA without bf16) one overflow skips the step for all K networks (the loss scaler is shared).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from nb201_env import complexity
from nb201_env.training import trainer
from nb201_env.training._torch import torch
from nb201_env.training.augment import Normalizer, augment
from nb201_env.training.batched_network import GroupedNetwork, PerArchNetworks
from nb201_env.training.evaluator import Job
from nb201_env.training.network import NB201Network, count_parameters
from nb201_env.training.recipe import Recipe
from nb201_env.training.runtime import Runtime
from nb201_env.training.splits import Splits
from nb201_env.training.trainer import (
    CHUNK_IMAGES,
    TrainResult,
    check_run,
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


def _sync(device: torch.device) -> None:
    if device.type == "cuda":  # a timer read after queued kernels would measure nothing
        torch.cuda.synchronize(device)


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
    model: PerArchNetworks, xs: list[Tensor], target: Tensor, opt: dict, seconds: list[float]
) -> tuple[Tensor, Tensor]:
    opt["optimizer"].zero_grad(set_to_none=True)
    logits, losses = [], []
    for i, (net, s) in enumerate(zip(model.nets, model.stream_of)):
        start = time.perf_counter()
        with torch.autocast(opt["device"].type, dtype=opt["autocast"], enabled=opt["autocast"] is not None):
            out = net(xs[s])
            loss = F.cross_entropy(out.float(), target[i])
        opt["scaler"].scale(loss).backward()
        _sync(opt["device"])
        seconds[i] += time.perf_counter() - start
        logits.append(out.detach())
        losses.append(loss.detach())
    opt["scaler"].step(opt["optimizer"])  # one fused update of every network's parameters
    opt["scaler"].update()
    return torch.stack(logits), torch.stack(losses)


def _score(
    model: GroupedNetwork | PerArchNetworks, images: Tensor, labels: Tensor, opt: dict
) -> tuple[list[float], list[float], list[float]]:
    """Return per-network (accuracy %, mean loss, seconds) on uint8 images, in eval mode."""
    normalize, autocast, batch = opt["normalize"], opt["autocast"], opt["eval_batch_size"]
    if isinstance(model, PerArchNetworks):
        accuracy, loss, seconds = [], [], []
        for net in model.nets:
            start = time.perf_counter()
            a, lo = evaluate(net, images, labels, normalize, batch, autocast)  # reads .item(): synchronised
            accuracy.append(a), loss.append(lo), seconds.append(time.perf_counter() - start)
        return accuracy, loss, seconds
    start = time.perf_counter()
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
    wall = time.perf_counter() - start
    return accuracy, losses, [wall * f / sum(opt["flops"]) for f in opt["flops"]]


def train_many(
    indices: Sequence[int],
    splits: Splits,
    recipe: Recipe,
    seeds: Sequence[int],
    runtime: Runtime | None = None,
    test: bool | str = False,
) -> list[TrainResult]:
    """Train architectures ``indices`` (with ``seeds``) together; return one result per architecture, in order.

    ``test`` is as in :func:`~nb201_env.training.trainer.train`; ``runtime.stacking`` picks the layout.
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
    with run_context(seeds[0], runtime, device):
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
        opt["optimizer"] = make_optimizer(model, recipe, device)
        opt["scaler"] = torch.amp.GradScaler(device.type, enabled=opt["autocast"] == torch.float16)
        opt["normalize"] = Normalizer(splits.mean, splits.std, device, runtime.channels_last)
        opt["eval_batch_size"] = runtime.eval_batch_size
        generators = [torch.Generator(device=device).manual_seed(s) for s in streams]
        train_x, train_y = to_device(splits.train.images, device), to_device(splits.train.labels, device)
        valid_x, valid_y = to_device(splits.valid.images, device), to_device(splits.valid.labels, device)
        test_x = test_y = None
        if test:
            test_x, test_y = to_device(splits.test.images, device), to_device(splits.test.labels, device)
        padding, n, bs = recipe.padding_for(resolution), len(train_x), recipe.batch_size
        chunk = max(bs, CHUNK_IMAGES // bs * bs)  # as train() does, so each stream draws the same random numbers
        keys = ("tl", "ta", "vl", "va", "ts", "es", "acc", "loss", "s")
        curves: dict[str, list[list[float]]] = {key: [[] for _ in range(k)] for key in keys}
        cpu_start = time.process_time()
        for epoch in range(recipe.epochs):
            for group in opt["optimizer"].param_groups:
                group["lr"] = recipe.lr_at(epoch)
            model.train()
            start = time.perf_counter()
            step_seconds = [0.0] * k
            loss_sum = torch.zeros(k, device=device)
            correct = torch.zeros(k, dtype=torch.int64, device=device)
            orders = [torch.randperm(n, generator=g, device=device) for g in generators]
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
                        logits, losses = _per_arch_step(model, xs, target, opt, step_seconds)
                    loss_sum += losses * target.shape[1]
                    correct += (logits.argmax(-1) == target).sum(1)
            train_loss, train_correct = loss_sum.tolist(), correct.tolist()
            wall = time.perf_counter() - start
            if stacking == "grouped":
                train_seconds = [wall * f / sum(flops) for f in flops]
            else:
                shared = max(wall - sum(step_seconds), 0.0) / k
                train_seconds = [s + shared for s in step_seconds]
            if runtime.eval_epochs == "all" or epoch == recipe.epochs - 1:
                valid_acc, valid_loss, eval_seconds = _score(model, valid_x, valid_y, opt)
            else:
                valid_acc = valid_loss = [math.nan] * k
                eval_seconds = [0.0] * k
            for i in range(k):
                if not math.isfinite(train_loss[i] / n):
                    log.warning(
                        "arch %d seed %d: training loss is %s at epoch %d",
                        indices[i],
                        seeds[i],
                        train_loss[i] / n,
                        epoch,
                    )
                values = (train_loss[i] / n, 100.0 * train_correct[i] / n, valid_loss[i], valid_acc[i])
                for key, value in zip(
                    ("tl", "ta", "vl", "va", "ts", "es"), (*values, train_seconds[i], eval_seconds[i])
                ):
                    curves[key][i].append(value)
            if test == "all" or (test and epoch == recipe.epochs - 1):
                for key, values in zip(("acc", "loss", "s"), _score(model, test_x, test_y, opt)):
                    for i in range(k):
                        curves[key][i].append(values[i])
        cpu_seconds = time.process_time() - cpu_start
        threads = torch.get_num_threads()
    spent = [sum(curves["ts"][i]) + sum(curves["es"][i]) + sum(curves["s"][i]) for i in range(k)]
    results = []
    for i, index in enumerate(indices):
        info = run_info(device, opt["autocast"], threads, runtime, splits)
        info.update(cpu_seconds=cpu_seconds * spent[i] / max(sum(spent), 1e-12), archs_per_step=k, stacking=stacking)
        info["seconds"] = SECONDS[stacking]
        tested = bool(curves["acc"][i])
        results.append(
            TrainResult(
                index=index,
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
                flops=flops[i],
                test_accuracy=curves["acc"][i][-1] if tested else None,
                test_loss=curves["loss"][i][-1] if tested else None,
                test_seconds=curves["s"][i][-1] if tested else None,
                test_accuracy_curve=curves["acc"][i] if test == "all" else None,
                test_loss_curve=curves["loss"][i] if test == "all" else None,
                test_seconds_curve=curves["s"][i] if test == "all" else None,
                info=info,
            )
        )
    return results


def train_jobs(jobs: Sequence[Job], splits: Splits, recipe: Recipe, runtime: Runtime) -> list[dict[str, Any]]:
    """Train jobs together (alone when there is one) and return their result dicts in job order."""
    flags = {job[2] for job in jobs}
    if len(flags) != 1:
        raise ValueError(f"jobs trained together must share one test flag, got {sorted(map(str, flags))}")
    if len(jobs) == 1:
        rep, seed, test = jobs[0]
        return [trainer.train(rep, splits, recipe, seed, runtime, test=test).to_dict()]
    results = train_many([j[0] for j in jobs], splits, recipe, [j[1] for j in jobs], runtime, test=jobs[0][2])
    return [r.to_dict() for r in results]
