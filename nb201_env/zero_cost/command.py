"""The ``nb201 build-zero-cost`` subcommand and the zero-cost lines of ``nb201 info``."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from nb201_env.zero_cost.spec import PROXIES, SPECS


def add_parser(
    sub: Any, progress: Callable[[str], tuple[Any, Any]], command: Callable[..., argparse.ArgumentParser]
) -> None:
    """Register ``build-zero-cost`` on the ``nb201`` subparsers.

    ``progress(desc)`` makes a progress bar; ``command(sub, name, summary, details)`` adds a subcommand the way
    every ``nb201`` subcommand is added (plain help, defaults shown).
    """
    p = command(
        sub,
        "build-zero-cost",
        "score every cell with the zero-cost proxies and write a store (resumable: rerun to continue)",
        "Computes synflow, naswot, jacob_cov, snip, grad_norm, grasp and fisher for all 15,625 cells from one "
        "minibatch of the dataset (naswot per cell, the network proxies once per score group), checkpointing every "
        "score in --cache; rerun the same command to resume. With --sample N it scores every proxy on N random "
        "cells instead (e.g. with another --seed, to measure seed-to-seed agreement).",
    )
    p.add_argument("--data", required=True, help="dataset folder: train/<class>/*.jpg + test/, or CIFAR python")
    p.add_argument("--cache", required=True, help="SQLite checkpoint of the scores (created; rerun to resume)")
    p.add_argument("--out", help="store directory to write when the build is complete (or with --partial)")
    p.add_argument("--dataset", default="cifar10-valid", choices=["cifar10-valid", "cifar100", "ImageNet16-120"])
    p.add_argument("--seed", type=int, default=0, help="initialisation seed")
    p.add_argument("--minibatch-seed", type=int, default=0, help="seed drawing the minibatch")
    p.add_argument("--workers", type=int, default=1, help="processes, one thread each")
    p.add_argument("--sample", type=int, help="score every proxy on this many random cells instead")
    p.add_argument("--sample-seed", type=int, default=1, help="seed drawing the sample")
    p.add_argument("--extra", nargs="*", default=[], help="also score these proxies in a sample build: naswot_v1")
    p.add_argument("--limit", type=int, help="do at most this many cells now (a trial)")
    p.add_argument("--only", nargs="+", help="score only these proxies now, e.g. the group proxies first")
    p.add_argument("--data-cache", help="folder keeping the decoded images")
    p.add_argument("--name", default="nb201-zero-cost", help="benchmark name in the manifest")
    p.add_argument("--partial", action="store_true", help="write --out even if scores are missing (NaN)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing store at --out")
    p.set_defaults(func=lambda args: _run(args, progress))


def _run(args: argparse.Namespace, progress: Callable[[str], tuple[Any, Any]]) -> int:
    from nb201_env.zero_cost.build import BuildConfig, plan, run_build
    from nb201_env.zero_cost.table import write_table

    config = BuildConfig(
        root=args.data,
        cache=args.cache,
        dataset=args.dataset,
        seed=args.seed,
        minibatch_seed=args.minibatch_seed,
        workers=args.workers,
        sample=args.sample,
        sample_seed=args.sample_seed,
        data_cache_dir=args.data_cache,
        limit=args.limit,
        extra=tuple(args.extra),
        only=tuple(args.only) if args.only else None,
    )
    update, close = progress("build-zero-cost")
    start = time.perf_counter()
    try:
        cache = run_build(config, progress=update)
    finally:
        close()
    with cache:
        done = cache.done()
        missing = sum(1 for arch, names in plan(config) for n in names if (arch, n) not in done)
        print(
            f"build {cache.key}: {len(done):,} scores cached, {missing:,} missing ({time.perf_counter() - start:.0f} s)"
        )
        if args.out is None or args.sample is not None:
            return 0
        if missing and not args.partial:
            print(f"not writing {args.out}: {missing:,} scores are missing (rerun to resume, or pass --partial)")
            return 1
        search = "cifar10" if args.dataset == "cifar10-valid" else args.dataset
        account = _rebuild_account(config)
        path = write_table(cache, args.out, name=args.name, dataset=search, overwrite=args.overwrite, minibatch=account)
    print(f"wrote {path}")
    return 0


def _rebuild_account(config: Any) -> dict[str, Any] | None:
    """Return the files that rebuild the minibatch, for the manifest (image folders only; else ``None``)."""
    from pathlib import Path

    from nb201_env.zero_cost.build import load_minibatch
    from nb201_env.zero_cost.minibatch import rebuild_account

    if not (Path(config.root) / "train").is_dir() or config.dataset != "cifar10-valid":
        return None
    return rebuild_account(config.root, load_minibatch(config))


def info_lines(extra: dict[str, Any]) -> list[str]:
    """Return the ``nb201 info`` lines of a zero-cost store's method (empty for other stores)."""
    method = extra.get("zero_cost")
    if not isinstance(method, dict):
        return []
    build = method.get("build", {})
    lines = [
        f"\nzero-cost proxies on {method.get('dataset')} (build {method.get('build_key')}, seed {build.get('seed')}, "
        f"minibatch {json.dumps(build.get('minibatch', {}).get('images'))} images, "
        f"seed {build.get('minibatch', {}).get('seed')}):"
    ]
    for name, entry in method.get("proxies", {}).items():
        reference = SPECS[name].reference if name in PROXIES else entry.get("reference", "")
        lines.append(
            f"  {name:<10} batch {entry.get('batch_size', '?'):<4} {entry.get('computed', ''):<52} "
            f"{entry.get('coverage', 0):>6,} archs  {reference}"
        )
    if method.get("complete") is False:
        lines.append("  an unfinished build: cells not yet scored are NaN (rerun nb201 build-zero-cost to finish it)")
    lines.append(f"  cost: {method.get('cost', '')}")
    lines.append(f"  undefined: {method.get('undefined', '')}")
    return lines
