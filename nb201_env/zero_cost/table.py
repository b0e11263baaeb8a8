"""Write a finished zero-cost build as a store: each proxy's score and cost for all 15,625 cells, in index order."""

from __future__ import annotations

import logging
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

from nb201_env import complexity
from nb201_env.space import NUM_ARCHS
from nb201_env.store.schema import Source, StatKey
from nb201_env.store.writer import StoreWriter
from nb201_env.zero_cost.build import ARCH_PROXIES, CLASS_PROXIES, group_representatives, score_groups
from nb201_env.zero_cost.cache import ScoreCache
from nb201_env.zero_cost.spec import PROXIES, SPECS

log = logging.getLogger(__name__)

COST_NOTE = (
    "single-thread CPU seconds (time.thread_time, torch.set_num_threads(1)) of the steps the proxy needs on its own: "
    "building and initialising the network and its passes over the minibatch (nb201_env.zero_cost.spec.PASSES); "
    "data loading is not included; params and flops are analytic and cost 0"
)
UNDEFINED_NOTE = (
    "jacob_cov is NaN where every input Jacobian is constant (no path from the input through a cell), so its "
    "correlation matrix is undefined; naswot is -inf where the activation kernel is singular"
)


def table_arrays(cache: ScoreCache, dataset: str = "cifar10") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return ``{proxy: (scores, cpu seconds)}`` of a full build, each a float64 array in official index order.

    Group proxies are read from each score group's smallest member and shared by the group; per-architecture proxies
    are read as they are. Missing scores (an unfinished build) are NaN in both arrays.
    """
    cached = cache.read()
    ids, reps = score_groups(), group_representatives()
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in CLASS_PROXIES + ARCH_PROXIES:
        values = cached.get(name, {})
        by_index = np.full((2, NUM_ARCHS), np.nan)
        for arch, (score, cpu, _wall) in values.items():
            by_index[:, arch] = score, cpu
        if name in CLASS_PROXIES:
            by_index = by_index[:, reps[ids]]
        out[name] = (by_index[0], by_index[1])
    every = np.arange(NUM_ARCHS)
    base = "cifar10" if dataset in ("cifar10", "cifar10-valid") else dataset
    out["params"] = (np.asarray(complexity.params_mb(every, base), dtype=np.float64), np.zeros(NUM_ARCHS))
    out["flops"] = (np.asarray(complexity.flops_m(every, base), dtype=np.float64), np.zeros(NUM_ARCHS))
    return {name: out[name] for name in PROXIES}


def write_table(
    cache: ScoreCache,
    out: str | os.PathLike[str],
    *,
    name: str = "nb201-zero-cost",
    dataset: str = "cifar10",
    overwrite: bool = False,
    build_seconds: float | None = None,
    minibatch: dict[str, Any] | None = None,
) -> Path:
    """Write the store of a full build (see :func:`table_arrays`) with the method in its manifest.

    ``minibatch`` adds to the build's account of its data what rebuilds it (``files``, ``classes``, ``mean``,
    ``std``, ``positions``: see :func:`~nb201_env.zero_cost.minibatch.minibatch_from_files`).
    """
    arrays = table_arrays(cache, dataset)
    build = dict(cache.description)
    build["minibatch"] = {**build.get("minibatch", {}), **(minibatch or {})}
    coverage = {proxy: int(np.count_nonzero(~np.isnan(cost))) for proxy, (_, cost) in arrays.items()}
    complete = all(count == NUM_ARCHS for count in coverage.values())
    extra: dict[str, Any] = {
        "zero_cost": {
            "dataset": dataset,
            "complete": complete,
            "build_key": cache.key,
            "build": build,
            "proxies": {
                proxy: {
                    "batch_size": SPECS[proxy].batch_size,
                    "reference": SPECS[proxy].reference,
                    "computed": "per score group (its smallest member's score shared)"
                    if proxy in CLASS_PROXIES
                    else "per architecture"
                    if proxy in ARCH_PROXIES
                    else "analytic",
                    "higher_is_better": True,
                    "coverage": coverage[proxy],
                }
                for proxy in PROXIES
            },
            "cost": COST_NOTE,
            "undefined": UNDEFINED_NOTE,
            "build_seconds": build_seconds,
            "torch": _torch_version(),
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        }
    }
    scope = f"all {NUM_ARCHS:,} NB201 cells" if complete else "NB201 cells (an unfinished build: NaN where not scored)"
    description = (
        f"Zero-cost proxy scores of {scope} on {dataset}, computed by nb201_env at initialisation from one "
        "minibatch (build key in the manifest)"
    )
    extra["summary"] = (  # the line of `nb201 list`
        f"Zero-cost proxy scores on {dataset}"
        + (
            ""
            if complete
            else f", an unfinished build: naswot {coverage['naswot']:,} of {NUM_ARCHS:,} cells, the network "
            f"proxies {coverage['synflow']:,}"
        )
    )
    with StoreWriter(out, name, description, overwrite=overwrite, extra=extra) as writer:
        writer.add_source(
            "zero-cost",
            Source(
                title="nb201_env zero-cost build",
                citation=(
                    "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021; Mellor et al., Neural "
                    "Architecture Search without Training, ICML 2021; data: Krizhevsky, Learning Multiple Layers of "
                    "Features from Tiny Images, 2009"
                ),
                notes="computed by this package's own code (nb201_env.zero_cost); see extra.zero_cost",
                license="MIT (these scores); CIFAR-10 images: see their source",
            ),
        )
        writer.add_source(
            "analytic", Source(title="analytic params/FLOPs of the official network (nb201_env.complexity)")
        )
        for proxy, (scores, cost) in arrays.items():
            source = "analytic" if proxy in ("params", "flops") else "zero-cost"
            unit = {"params": "M", "flops": "M"}.get(proxy, "score")
            writer.add_stat(StatKey("zero_cost", f"{proxy}@{dataset}"), source, unit)[:] = scores
            writer.add_stat(StatKey("zero_cost_s", f"{proxy}@{dataset}"), source, "s")[:] = cost
        path = writer.commit()
    log.info("wrote zero-cost table %s (coverage %s)", path, coverage)
    return path


def _torch_version() -> str:
    try:
        from nb201_env.training._torch import torch
    except ImportError:  # pragma: no cover - a table is written from a cache, which needs no torch
        return "unknown"
    return str(torch.__version__)
