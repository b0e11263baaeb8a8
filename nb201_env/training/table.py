"""Build an NB201-style tabular benchmark with our own trainer.

One representative per isomorphism class (6,466 of them) is trained with a recipe on a dataset; every run
goes through the persistent result cache, so a build can be stopped and resumed at any time and loses at
most the runs in flight. The finished table is written as a store in which every architecture shares its
class's learning curves (validation and test accuracy and loss after every epoch, measured training and
evaluation seconds per epoch), with the params and FLOPs of the network actually trained and the exact
recipe in the manifest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from nb201_env import complexity
from nb201_env.isomorphism import class_ids, representatives
from nb201_env.names import NUM_CLASSES
from nb201_env.space import NUM_ARCHS
from nb201_env.store.destination import absolute, check_destination, foreign_entry
from nb201_env.store.schema import MANIFEST, RecordKey, SeedAxis, Source, StatKey
from nb201_env.store.writer import StoreWriter
from nb201_env.training.contention import less_contended, ratio_summary, wall_to_cpu
from nb201_env.training.machine import machine
from nb201_env.training.table_config import PROXY_RECIPE, TABLE_DATASETS, TableConfig

log = logging.getLogger(__name__)
__all__ = [
    "PROXY_RECIPE",
    "TABLE_DATASETS",
    "TableConfig",
    "build_order",
    "build_table",
    "train_classes",
    "write_table",
]


def build_order(limit: int | None = None) -> np.ndarray:
    """Return the class representatives in build order: a fixed shuffle, so any prefix is a fair sample."""
    reps = representatives()
    order = reps[np.random.default_rng(201).permutation(len(reps))]
    return order if limit is None else order[:limit]


def train_classes(
    config: TableConfig, progress: Callable[[int, int], None] | None = None, chunk: int = 64
) -> tuple[list[dict[str, Any]], int]:
    """Train every class representative not yet in the cache; return (all runs in build order, classes)."""
    chunk = max(chunk, 2 * config.workers * config.archs_per_step)  # whole batches for every worker
    from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
    from nb201_env.training.parallel import ProcessPoolBackend

    training = TrainingConfig(
        dataset=config.dataset,
        root=config.root,
        recipe=config.recipe,
        seed=config.seed,
        cache=config.cache,
        runtime=config.runtime(),
        data_cache_dir=config.data_cache_dir,
        seconds="wall",  # a table stores the wall seconds of a single-threaded worker (see wall_to_cpu)
        progress=config.progress,
    )
    order = build_order(config.limit).tolist()
    backend = ProcessPoolBackend(workers=config.workers, threads_per_worker=1) if config.workers > 1 else None
    try:
        with TrainingEvaluator(training, backend=backend) as evaluator:
            rows = {i: evaluator.cached(i, config.seed) for i in order}
            cached = {i for i, row in rows.items() if row is not None}
            contended = set()
            if config.retrain_contended is not None:
                limit = config.retrain_contended
                contended = {i for i in cached if (wall_to_cpu(rows[i]) or 0.0) > limit}
                log.info(
                    "%d cached classes ran on a shared core (wall/CPU > %g): training them again", len(contended), limit
                )
            todo = [i for i in order if i not in cached or i in contended]
            done = len(order) - len(todo)
            log.info("%d of %d classes already in %s; training %d", done, len(order), config.cache, len(todo))
            if progress:
                progress(done, len(order))
            kept: list[int] = []
            for start in range(0, len(todo), chunk):
                batch = todo[start : start + chunk]
                evaluator.run(
                    batch,
                    [config.seed] * len(batch),
                    test="all",
                    retrain=contended.intersection(batch),
                    prefer=lambda old, new: less_contended(old, new, kept),
                )
                done += len(batch)
                if progress:
                    progress(done, len(order))
            if kept:
                log.warning(
                    "%d of %d retrained classes ran as contended as before (other jobs still share the cores): "
                    "kept the less contended run of each; rerun on a quieter machine to replace them",
                    len(kept), len(contended),
                )  # fmt: skip
            runs = evaluator.run(order, [config.seed] * len(order), test="all")
            return runs, evaluator.splits().num_classes
    finally:
        if backend is not None:
            backend.close()


def _per_class(runs: list[dict[str, Any]], key: str, epochs: int) -> np.ndarray:
    """Return ``(num_classes, epochs)`` of one curve, NaN for classes without a run."""
    reps = representatives()
    class_of_rep = {int(r): c for c, r in enumerate(reps)}
    out = np.full((len(reps), epochs), np.nan)
    for run in runs:
        values = run.get(key)
        if values is not None:
            out[class_of_rep[int(run["index"])]] = values
    return out


def write_table(config: TableConfig, runs: list[dict[str, Any]], num_classes: int | None = None) -> Path:
    """Write the runs as a store: every architecture gets its class's curves; return the store path."""
    recipe, epochs = config.recipe, config.recipe.epochs
    ids = class_ids()
    test_split = TABLE_DATASETS[config.dataset]
    dataset = config.dataset
    seeds = SeedAxis("seeds", (config.seed,))
    data_name = config.data_name or Path(config.root).name
    description = (
        f"A tabular NB201 benchmark trained by nb201_env on {data_name} ({dataset} roles: train / "
        f"x-valid / {test_split}): one representative per isomorphism class, shared with its class. Recipe: "
        f"{recipe.to_dict()}. Times are measured seconds of a single-threaded worker x {config.time_scale:g}."
    )
    trained = sum(1 for r in runs if r.get("valid_accuracy"))
    extra = {
        "kind": "proxy-table",
        "recipe": recipe.to_dict(),
        "recipe_hash": recipe.stable_hash(),
        "seed": config.seed,
        "time_scale": config.time_scale,
        "time_unit": "seconds" if config.time_scale == 1 else f"measured seconds x {config.time_scale:g}",
        "classes_trained": trained,
        "raw_cost_seconds_median": float(np.median([sum(r["train_seconds"]) + r["eval_seconds"][-1] for r in runs]))
        if runs
        else None,
        "wall_to_cpu": ratio_summary(runs),
        "machine": machine(),
        "runtime": (runs[0].get("info") or {}) if runs else {},
        "data": data_name,
        "num_classes": num_classes,
        "build": build_id(config),
    }
    with StoreWriter(
        config.out, config.name, description, overwrite=config.overwrite, extra=extra, protect=_sources(config)
    ) as writer:
        writer.add_source(
            "proxy-training",
            Source(
                "Trained by nb201_env's own pipeline (nb201 build-table)",
                "",
                "nb201_env; NB201 network and search space: Dong & Yang, ICLR 2020",
                f"Recipe {recipe.stable_hash()}: {recipe.to_dict()}. One seed ({config.seed}); isomorphic "
                "architectures share the run of their class representative. A cheap proxy of NB201 training, "
                "not NB201's figures.",
            ),
        )
        curves = [
            ("train", "accuracy", "train_accuracy", 1.0),
            ("train", "loss", "train_loss", 1.0),
            ("x-valid", "accuracy", "valid_accuracy", 1.0),
            ("x-valid", "loss", "valid_loss", 1.0),
            (test_split, "accuracy", "test_accuracy_curve", 1.0),
            (test_split, "loss", "test_loss_curve", 1.0),
            ("train", "time", "train_seconds", config.time_scale),
            ("x-valid", "time", "eval_seconds", config.time_scale),
            (test_split, "time", "test_seconds_curve", config.time_scale),
        ]
        for split, metric, key, scale in curves:
            per_class = _per_class(runs, key, epochs) * scale
            array = writer.add_record(RecordKey(dataset, split, metric, epochs), seeds, range(epochs), "proxy-training")
            array[:, 0, :] = per_class[ids]
        every = np.arange(NUM_ARCHS)
        classes = num_classes or NUM_CLASSES[dataset]
        res = recipe.resolution or (16 if dataset == "ImageNet16-120" else 32)
        writer.add_source("proxy-analytic", Source("Params and FLOPs of the proxy network, computed exactly"))
        params = complexity.param_count(every, classes, recipe.channels, recipe.cells_per_stage) / 1e6
        flops = complexity.flop_count(every, classes, res, recipe.channels, recipe.cells_per_stage) / 1e6
        writer.add_stat(StatKey("params_mb", dataset), "proxy-analytic", "MB")[:] = params
        writer.add_stat(StatKey("flops_m", dataset), "proxy-analytic", "MFLOPs")[:] = flops
        return writer.commit()


def _sources(config: TableConfig) -> list[str | os.PathLike[str]]:
    """Return what the table is built from: the store must neither be nor contain any of it."""
    return [p for p in (config.root, config.cache, config.data_cache_dir) if p is not None]


def build_id(config: TableConfig) -> dict[str, Any]:
    """Return what identifies a build's output: its cache (a hash of its path), dataset, recipe and seed."""
    return {
        "cache": hashlib.sha256(str(absolute(config.cache).resolve()).encode()).hexdigest()[:16],
        "dataset": config.dataset,
        "recipe_hash": config.recipe.stable_hash(),
        "seed": config.seed,
    }


def written_by_this_build(config: TableConfig) -> bool:
    """Return whether ``config.out`` holds a table that this same build (cache, dataset, recipe, seed) wrote before."""
    out = absolute(config.out)
    if foreign_entry(out) is not None:
        return False
    try:
        extra = json.loads((out / MANIFEST).read_text()).get("extra", {})
    except (OSError, ValueError):
        return False
    return isinstance(extra, dict) and extra.get("kind") == "proxy-table" and extra.get("build") == build_id(config)


def build_table(config: TableConfig, progress: Callable[[int, int], None] | None = None) -> Path:
    """Check where the table goes, train what the cache lacks, then write the table; return the store path.

    Rerunning the same build resumes it: the cache is the checkpoint, and a table the same build wrote before
    (same cache, dataset, recipe and seed) is replaced without ``overwrite``.
    """
    if not config.overwrite and written_by_this_build(config):
        log.info("%s was written by this build before: it is replaced by the resumed build", config.out)
        config = replace(config, overwrite=True)
    check_destination(config.out, overwrite=config.overwrite, protect=_sources(config))  # before hours of training
    runs, num_classes = train_classes(config, progress)
    return write_table(config, runs, num_classes)
