"""Check the CUDA training path and time it, in one command (under 5 minutes on one modern GPU).

1. Forward agreement: each architecture's freshly initialised network (the same weights on both devices)
   gives the same logits on one batch on the GPU as on the CPU: fp32 (TF32 off) within 1e-3 of the largest
   logit, AMP (+ channels-last) within 0.15 (bf16 keeps 8 bits of mantissa; CPU bf16 autocast gave 0.009-0.075).
2. Training agreement: one epoch of the NB201 recipe (the first epoch of its 12-epoch cosine) from the same
   seed on the CPU (fp32) and on the GPU, in fp32 and with AMP + channels-last. The data order, crops and
   flips come from a CPU generator on every device, so only float rounding differs; the validation accuracy
   must agree within 4 points (fp32) and 6 points (AMP) per architecture. For scale, the same check prints the
   CPU's own rounding noise (1 vs 2 threads).
3. Throughput on the GPU, full epochs of ``cifar10-valid``'s 25,000 training images: our trainer vs the tuned
   plain PyTorch loop of :mod:`benchmarks.perf.plain_loop` (both AMP + channels-last), then K architectures
   per step (grouped stacking), then ``torch.compile`` vs eager.

Exits 1 if an agreement check fails. On a machine without a GPU, ``--device cpu --quick`` runs every step on
a small subset and a small network (16 px, C=8, N=1) with the CPU standing in for the GPU (a test of this
script, not of CUDA).

    python -m benchmarks.perf.gpu_check                      # on a CUDA machine
    python -m benchmarks.perf.gpu_check --device cpu --quick # the code path, anywhere
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np

from benchmarks.common import table
from benchmarks.perf.cifar import tarball

ARCHS = (6111, 1462, 4111)  # the best NB201 cell, a mixed one, one of pooling and skips
FP32_LOGITS, AMP_LOGITS = 1e-3, 0.15  # bf16 autocast on a CPU gave 0.009-0.075
FP32_POINTS, AMP_POINTS = 4.0, 6.0


def _recipe(images: int | None, valid: int | None, quick: bool) -> Any:
    """Return the first epoch of NB201's 12-epoch schedule on a subset (a small network with ``quick``)."""
    from nb201_env.training.recipe import Recipe

    small = {"channels": 8, "cells_per_stage": 1, "resolution": 16} if quick else {}
    return Recipe(epochs=1, cosine_epochs=12, train_subset=images, valid_subset=valid, test_subset=256, **small)


def _logits(index: int, splits: Any, device: str, amp: bool, channels_last: bool) -> np.ndarray:
    import torch

    from nb201_env.training.batches import minibatch
    from nb201_env.training.network import NB201Network

    torch.manual_seed(0)
    net = NB201Network(index, splits.num_classes, 16, 5)  # built on the CPU: the same weights everywhere
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(device, memory_format=fmt).train()
    x, _ = minibatch(splits, 256, seed=1, split="valid", device=device, channels_last=channels_last)
    dtype = torch.bfloat16 if device == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
    with torch.no_grad(), torch.autocast(torch.device(device).type, dtype=dtype, enabled=amp):
        return net(x).float().cpu().numpy()


def forward_agreement(splits: Any, archs: list[int], device: str) -> list[dict[str, Any]]:
    """Compare logits of freshly initialised networks on the device and on the CPU."""
    rows = []
    for index in archs:
        reference = _logits(index, splits, "cpu", False, False)
        scale = float(np.abs(reference).max())
        for label, amp, tolerance in (("fp32", False, FP32_LOGITS), ("amp+channels-last", True, AMP_LOGITS)):
            error = float(np.abs(_logits(index, splits, device, amp, amp) - reference).max()) / scale
            ok = error <= tolerance
            rows.append({"check": "logits", "arch": index, "mode": label, "error": error, "limit": tolerance, "ok": ok})
    return rows


def training_agreement(splits: Any, recipe: Any, archs: list[int], device: str, threads: int) -> list[dict[str, Any]]:
    """Train one epoch from the same seed on the CPU and on the device; compare validation accuracies."""
    from nb201_env.training.runtime import Runtime
    from nb201_env.training.trainer import train

    cpu = Runtime(device="cpu", threads=threads, precision="float32", eval_epochs="last")
    amp = "auto" if device.startswith("cuda") else "bfloat16"  # AMP on CUDA; CPU autocast stands in for it
    modes = (
        ("fp32", Runtime(device=device, threads=threads, precision="float32", channels_last=False), FP32_POINTS),
        (
            "amp+channels-last",
            Runtime(device=device, threads=threads, precision=amp, channels_last=True),
            AMP_POINTS,
        ),
    )
    rows = []

    def row(index: int, mode: str, reference: float, got: float, limit: float | None) -> dict[str, Any]:
        delta = abs(got - reference)
        ok = limit is None or delta <= limit
        return {"check": "1-epoch accuracy", "arch": index, "mode": mode, "cpu": reference, "device": got,
                "delta": delta, "limit": limit, "ok": ok}  # fmt: skip

    for index in archs:
        reference = train(index, splits, recipe, 0, cpu).valid_accuracy[-1]
        if index == archs[0]:  # for scale: the CPU's own rounding noise
            noise = train(index, splits, recipe, 0, replace(cpu, threads=threads + 1)).valid_accuracy[-1]
            rows.append(row(index, f"cpu {threads} vs {threads + 1} threads (rounding noise)", reference, noise, None))
        for label, runtime, limit in modes:
            got = train(index, splits, recipe, 0, replace(runtime, eval_epochs="last")).valid_accuracy[-1]
            rows.append(row(index, label, reference, got, limit))
    return rows


def _seconds(fn: Any, device: str) -> float:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def throughput(splits: Any, recipe: Any, device: str, ks: list[int], compile_check: bool) -> list[dict[str, Any]]:
    """Images (x architectures) per second on the device: ours, the plain loop, K per step, torch.compile."""
    from benchmarks.perf.plain_loop import plain_epochs
    from nb201_env.isomorphism import representatives
    from nb201_env.training.batched_trainer import train_many
    from nb201_env.training.runtime import Runtime
    from nb201_env.training.trainer import train

    n, index = len(splits.train), ARCHS[0]
    amp = device.startswith("cuda")  # both loops in AMP on CUDA, in fp32 on a CPU standing in
    ours = Runtime(device=device, precision="auto" if amp else "float32", channels_last=True, eval_epochs="last")
    import torch

    torch.set_num_threads(ours.torch_threads)  # the plain loop runs with the threads ours uses
    train(index, splits, recipe, 1, ours)  # warm-up: cuDNN autotuning, allocator
    plain_epochs(index, splits, recipe, 1, device, amp, True)
    rows = []
    for _ in range(2):  # alternate, keep the best
        for label, fn in (
            ("tuned plain PyTorch loop", lambda: plain_epochs(index, splits, recipe, 1, device, amp, True)),
            ("nb201_env trainer", lambda: train(index, splits, recipe, 0, ours)),
        ):
            rows.append({"check": "throughput", "mode": label, "archs": 1, "seconds": _seconds(fn, device)})
    archs = [int(a) for a in np.random.default_rng(0).choice(representatives(), max(ks), replace=False)]
    for k in ks:
        batched = replace(ours, archs_per_step=k, stacking="grouped")
        seconds = _seconds(lambda k=k, batched=batched: train_many(archs[:k], splits, recipe, [0] * k, batched), device)
        rows.append({"check": "throughput", "mode": f"K={k} per step, grouped", "archs": k, "seconds": seconds})
    if compile_check:
        two = replace(recipe, epochs=2)
        for label, flag in (("eager", False), ("torch.compile", True)):
            result = train(index, splits, two, 0, replace(ours, compile=flag))
            mode = f"{label}, epoch 2 (epoch 1: {result.train_seconds[0]:.1f} s)"
            rows.append({"check": "throughput", "mode": mode, "archs": 1, "seconds": result.train_seconds[1]})
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["mode"] not in best or row["seconds"] < best[row["mode"]]["seconds"]:
            best[row["mode"]] = row
    plain = best["tuned plain PyTorch loop"]["seconds"]
    for row in best.values():
        row["images_per_s"] = n * row["archs"] / row["seconds"]
        row["vs_plain"] = plain / row["seconds"] * row["archs"]
    return list(best.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:<i>, or cpu (a test of this script)")
    parser.add_argument("--quick", action="store_true", help="a small subset and fewer checks (for CPU runs)")
    parser.add_argument("--json", help="also write every row as JSON to this file")
    args = parser.parse_args()

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here: run with --device cpu --quick to test the script's code path")
    torch.backends.cuda.matmul.allow_tf32 = False  # the fp32 check compares true fp32 on both devices
    torch.backends.cudnn.allow_tf32 = False
    from nb201_env.training.splits import load_splits, prepare

    started = time.perf_counter()
    threads = 1 if args.quick else min(16, os.cpu_count() or 1)
    name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "CPU (standing in)"
    print(f"device {name}, torch {torch.__version__}, CPU reference with {threads} thread(s)", flush=True)
    raw = load_splits("cifar10-valid", tarball(), progress=True)
    archs = list(ARCHS[:2])
    check_recipe = _recipe(512 if args.quick else 2560, 256 if args.quick else 1000, args.quick)
    check = prepare(raw, check_recipe)
    rows = forward_agreement(check, list(ARCHS), args.device)
    rows += training_agreement(check, check_recipe, archs, args.device, threads)
    agree = list(rows)
    print(table([_agreement_row(r) for r in agree], ("check", "arch", "mode", "value", "limit", "")), flush=True)
    timing_recipe = _recipe(1024 if args.quick else None, 256 if args.quick else 2000, args.quick)
    timing = prepare(raw, timing_recipe)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True  # speed: the defaults again
    timed = throughput(timing, timing_recipe, args.device, [2] if args.quick else [4, 16], not args.quick)
    rows += timed
    header = ("training (AMP + channels-last)", "images x archs / s", "vs plain")
    print(f"\n{len(timing.train)} training images per epoch")
    print(table([(r["mode"], f"{r['images_per_s']:.0f}", f"{r['vs_plain']:.2f}x") for r in timed], header))
    print(f"{time.perf_counter() - started:.0f} s in all")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1, default=float)
    sys.exit(0 if all(r["ok"] for r in agree) else 1)


def _agreement_row(row: dict[str, Any]) -> tuple[str, ...]:
    if row["check"] == "logits":
        value = f"max |diff| / max |logit| = {row['error']:.2e}"
    else:
        value = f"cpu {row['cpu']:.2f} vs {row['device']:.2f} (|diff| {row['delta']:.2f})"
    limit = "" if row["limit"] is None else f"{row['limit']:g}"
    return row["check"], str(row["arch"]), row["mode"], value, limit, "ok" if row["ok"] else "FAIL"


if __name__ == "__main__":
    main()
