"""Build the zero-cost table: every proxy's score and cost for all 15,625 cells, resumable from its cache.

The network proxies (``synflow``, ``jacob_cov``, ``snip``, ``grad_norm``, ``grasp``, ``fisher``) are computed once
per *score group*, on its smallest member, and shared by the group: a group is an isomorphism class (cells that
compute the same expression, :mod:`nb201_env.isomorphism`) split by the number of live ``nor_conv_1x1``,
``nor_conv_3x3`` and ``avg_pool_3x3`` edges, because the official classes also merge cells where one convolution
feeds two paths with cells where two convolutions do, which have different weights to score (8,001 groups). Inside
a group only the random initialisation differs. ``naswot`` is computed for every architecture, because its
reference counts the ReLUs of edges that cannot reach the output (the official network runs them). ``params`` and
``flops`` are analytic. A *sample* build instead scores every proxy on each of ``sample`` architectures drawn at
random (e.g. with a second seed, to measure seed-to-seed agreement).

Every score goes through :class:`~nb201_env.zero_cost.cache.ScoreCache` as it is computed, so rerunning the
same command resumes where an interruption stopped it; the work is done in a seeded random order, so a partial
build is a uniform sample of the space.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nb201_env.isomorphism import class_ids
from nb201_env.names import check_choice
from nb201_env.space import AVG_POOL, CONV1X1, CONV3X3, EDGES, NUM_ARCHS, all_ops
from nb201_env.validate import check_int
from nb201_env.zero_cost.cache import ScoreCache
from nb201_env.zero_cost.minibatch import Minibatch
from nb201_env.zero_cost.spec import CODE_VERSION, EXTRA_PROXIES, SPECS, TRAINING_FREE

log = logging.getLogger(__name__)

CLASS_PROXIES: tuple[str, ...] = ("synflow", "jacob_cov", "snip", "grad_norm", "grasp", "fisher")
"""Proxies computed once per score group (on its smallest member) in a full build."""
PARAMETRIC = (CONV1X1, CONV3X3, AVG_POOL)
ARCH_PROXIES: tuple[str, ...] = ("naswot",)
"""Proxies computed for every architecture in a full build."""
BUILD_DATASETS: tuple[str, ...] = ("cifar10-valid", "cifar100", "ImageNet16-120")


@dataclass(frozen=True)
class BuildConfig:
    """What to score, on which data, and where the checkpoint lives.

    Args:
        root: the dataset folder (any layout :func:`nb201_env.training.splits.load_splits` reads).
        cache: the SQLite checkpoint (rerun with the same arguments to resume).
        dataset: ``cifar10-valid`` (the minibatch comes from its 25k training half), ``cifar100`` or
            ``ImageNet16-120`` (their training sets).
        seed: the initialisation seed (each architecture's network is initialised from ``(seed, index)``).
        minibatch_seed: the seed that draws the minibatch from the training images.
        workers: processes, one thread each.
        sample: score every proxy on this many random architectures instead of the full table.
        sample_seed: the seed that draws the sample.
        split_dir: folder of the official NB201 split files (default: ``root``).
        data_cache_dir: where decoded image folders are kept.
        limit: stop after this many architectures' jobs (for trials).
        channels, cells_per_stage: the network's width C and cells per stage N (NB201: 16 and 5; smaller for tests).
        extra: proxies of :data:`~nb201_env.zero_cost.spec.EXTRA_PROXIES` a sample build also scores.
        only: score only these proxies now (the rest of the plan stays for a later run; the cache is shared), e.g.
            the group proxies first, so that a partial build has a uniform sample of each.
    """

    root: str
    cache: str
    dataset: str = "cifar10-valid"
    seed: int = 0
    minibatch_seed: int = 0
    workers: int = 1
    sample: int | None = None
    sample_seed: int = 1
    split_dir: str | None = None
    data_cache_dir: str | None = None
    limit: int | None = None
    channels: int = 16
    cells_per_stage: int = 5
    extra: tuple[str, ...] = ()
    only: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, BUILD_DATASETS)
        check_int("seed", self.seed, low=0)
        check_int("minibatch_seed", self.minibatch_seed, low=0)
        check_int("workers", self.workers, low=1, high=max(64, os.cpu_count() or 1))
        check_int("sample", self.sample, low=1, high=NUM_ARCHS, allow_none=True)
        check_int("sample_seed", self.sample_seed, low=0)
        check_int("limit", self.limit, low=1, allow_none=True)
        check_int("channels", self.channels, low=1)
        check_int("cells_per_stage", self.cells_per_stage, low=1)
        for name in self.extra:
            check_choice("extra proxy", name, EXTRA_PROXIES)
        for name in self.only or ():
            check_choice("proxy", name, TRAINING_FREE + tuple(self.extra), "in only")
        if self.only == ():
            raise ValueError("only=() scores nothing: name proxies, or None for every proxy")
        if self.extra and self.sample is None:
            raise ValueError(f"extra proxies {list(self.extra)} are scored by sample builds only: give sample=<count>")


def load_minibatch(config: BuildConfig) -> Minibatch:
    """Load the dataset's splits and draw the build's minibatch from its training images."""
    from nb201_env.training.splits import load_splits
    from nb201_env.zero_cost.minibatch import draw_minibatch

    splits = load_splits(config.dataset, config.root, config.split_dir, cache_dir=config.data_cache_dir)
    size = max(SPECS[name].batch_size for name in TRAINING_FREE + tuple(config.extra))
    return draw_minibatch(splits, config.minibatch_seed, size)


def describe_build(config: BuildConfig, batch: Minibatch) -> dict[str, Any]:
    """Return what the build key covers: code version, seed, data (its digest), batch sizes and network shape.

    The shape is named only when it is not NB201's (C=16, N=5), so that the keys of NB201-sized builds stay put.
    """
    description = {
        "code_version": CODE_VERSION,
        "seed": config.seed,
        "minibatch": batch.describe(),
        "batch_sizes": {name: SPECS[name].batch_size for name in TRAINING_FREE + tuple(config.extra)},
        "precision": "float32 (synflow float64)",
    }
    if (config.channels, config.cells_per_stage) != (16, 5):
        description["network"] = {"channels": config.channels, "cells_per_stage": config.cells_per_stage}
    return description


def plan(config: BuildConfig) -> list[tuple[int, tuple[str, ...]]]:
    """Return the jobs ``(arch, proxies)`` of a build in its seeded random order.

    A full build scores naswot on every cell, then the group proxies on every group's smallest member; each pass
    goes through the cells in one seeded random order, so a partial build is a uniform sample of the space.
    """
    if config.sample is not None:
        archs = np.random.default_rng(config.sample_seed).choice(NUM_ARCHS, size=config.sample, replace=False)
        return [(int(a), TRAINING_FREE + tuple(config.extra)) for a in archs]
    order = np.random.default_rng(config.seed).permutation(NUM_ARCHS)
    reps = order[np.isin(order, group_representatives())]
    # naswot for every cell first (the cheap per-cell pass the NASWOT search needs), then the group proxies
    return [(int(a), ARCH_PROXIES) for a in order] + [(int(a), CLASS_PROXIES) for a in reps]


@functools.cache
def score_groups() -> np.ndarray:
    """Return each architecture's score group id (see the module docstring), numbered by smallest member."""
    from nb201_env.training.network import _live_nodes  # the same liveness the network prunes by

    ops = all_ops()
    ids = class_ids()
    keys = []
    for index in range(NUM_ARCHS):
        live = _live_nodes(tuple(ops[index]))
        live_ops = [ops[index, e] for e, (to, _) in enumerate(EDGES) if live[to]]
        keys.append((int(ids[index]), *(live_ops.count(op) for op in PARAMETRIC)))
    first: dict[tuple[int, ...], int] = {}
    for key in keys:
        first.setdefault(key, len(first))
    groups = np.array([first[key] for key in keys], dtype=np.int64)
    groups.flags.writeable = False
    return groups


def group_representatives() -> np.ndarray:
    """Return the smallest member of each score group, indexed by group id."""
    groups = score_groups()
    reps = np.full(groups.max() + 1, NUM_ARCHS, dtype=np.int64)
    np.minimum.at(reps, groups, np.arange(NUM_ARCHS))
    return reps


_WORKER: dict[str, Any] = {}


def _init_worker(batch: Minibatch, config: BuildConfig) -> None:
    from nb201_env.training._torch import torch

    torch.set_num_threads(1)
    _WORKER.update(batch=batch, config=config)


def _run_job(job: tuple[int, tuple[str, ...]]) -> list[tuple[int, str, float, float, float]]:
    from nb201_env.zero_cost.scorer import score

    index, names = job
    c: BuildConfig = _WORKER["config"]
    result = score(index, _WORKER["batch"], c.seed, names, channels=c.channels, cells_per_stage=c.cells_per_stage)
    return [(index, n, result.scores[n], result.cpu_seconds[n], result.wall_seconds[n]) for n in names]


def run_build(
    config: BuildConfig, batch: Minibatch | None = None, progress: Callable[[int, int], None] | None = None
) -> ScoreCache:
    """Score every job not yet in the cache and return the cache (open; close it when done).

    ``progress(done, total)`` is called after every finished job.
    """
    batch = batch if batch is not None else load_minibatch(config)
    cache = ScoreCache(config.cache, describe_build(config, batch))
    done = cache.done()
    jobs = plan(config)
    if config.only is not None:
        jobs = [(a, tuple(n for n in names if n in config.only)) for a, names in jobs]
        jobs = [job for job in jobs if job[1]]
    todo = [(a, tuple(n for n in names if (a, n) not in done)) for a, names in jobs]
    todo = [job for job in todo if job[1]]
    total, finished = len(jobs), len(jobs) - len(todo)
    if config.limit is not None:
        todo = todo[: config.limit]
    log.info("zero-cost build %s: %d of %d jobs cached, %d to do now", cache.key, finished, total, len(todo))
    for rows in _results(todo, batch, config):
        cache.put(rows)
        finished += 1
        if progress is not None:
            progress(finished, total)
    return cache


def _results(
    jobs: list[tuple[int, tuple[str, ...]]], batch: Minibatch, config: BuildConfig
) -> Iterator[list[tuple[int, str, float, float, float]]]:
    if config.workers == 1 or len(jobs) <= 1:
        _init_worker(batch, config)
        yield from map(_run_job, jobs)
        return
    method = "fork" if platform.system() == "Linux" else "spawn"  # fork: no re-import of torch per worker
    with multiprocessing.get_context(method).Pool(config.workers, _init_worker, (batch, config)) as pool:
        yield from pool.imap_unordered(_run_job, jobs, chunksize=1)


def cache_path(path: str | os.PathLike[str]) -> Path:
    """Return the cache path as given, creating its folder."""
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    return out
