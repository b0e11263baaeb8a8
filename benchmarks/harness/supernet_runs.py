"""One weight-sharing search run of the harness: the data loaded once per worker, the search, its record fields.

Weight-sharing agents (``WEIGHT_SHARING = True``: RSPS, DARTS-V1/V2, GDAS, SETN, ENAS) do not go through the
environment: they really train a supernet on ``cifar10-valid`` at a :data:`~agents.weight_sharing.SCALES`
scale, and their clock is the wall clock. Their runs are named ``<protocol>@<scale>`` (``nb201@proxy``), so
that runs at different scales never mix in one results file, and their records carry, besides the common
fields, ``clock_kind = "wall"``, ``incumbent = "last"`` (a method reports its last derived cell, not the best
by validation), the scale, and per epoch the derived cell's ``skip_connect`` share and its test accuracy on
the three datasets, all looked up in the benchmark after the search.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agents.common import SearchResult
from agents.weight_sharing import Scale, get_scale, load_search_data
from benchmarks.common import cifar_root
from nb201_env.benchmark import Benchmark
from nb201_env.names import SEARCH_DATASETS
from nb201_env.space import NUM_EDGES, SKIP, all_ops
from nb201_env.training.runtime import Runtime
from nb201_env.validate import check_int

log = logging.getLogger("benchmarks.harness")


@dataclass(frozen=True)
class SupernetSetup:
    """Where and how big the weight-sharing searches of a sweep run.

    Args:
        scale: ``"full"`` (NB201's settings, for a GPU), ``"proxy"`` (minutes on a CPU) or ``"tiny"`` (tests).
        data: CIFAR-10 folder (``train/<class>/*.jpg`` and ``test/``, or the python layout); ``None``: the
            shared JPEG tarball (``$NB201_SHARED/datasets/cifar10-jpg.tar.gz``), extracted once.
        data_cache: where decoded images are kept (``None``: beside the extracted tarball, under the temp dir).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:<i>"``.
        threads: torch threads per worker process (1: the fastest for these small networks on a CPU).
        epochs: every method's epochs, overriding the scale's (``None``: the scale's; the runs are then named
            ``<protocol>@<scale>-e<epochs>``).
    """

    scale: str = "proxy"
    data: str | None = None
    data_cache: str | None = None
    device: str = "auto"
    threads: int | None = 1
    epochs: int | None = None

    def __post_init__(self) -> None:
        get_scale(self.scale)  # raises naming the scales
        Runtime(device=self.device, threads=self.threads)  # raises naming the devices
        check_int("epochs", self.epochs, low=1, allow_none=True)

    @property
    def size(self) -> Scale:
        """The scale, with the epochs overridden if asked."""
        scale = get_scale(self.scale)
        return scale if self.epochs is None else replace(scale, epochs=self.epochs)

    def resolved(self) -> SupernetSetup:
        """Return the setup with the data folder and cache made concrete: the tarball extracted and the images
        decoded into the cache if needed, here, once (worker processes decoding at the same time would race on
        the cache's files)."""
        from nb201_env.training.splits import load_splits

        folder, cache = cifar_root(self.data)
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"CIFAR-10 folder {folder} does not exist (--data)")
        setup = replace(self, data=str(folder), data_cache=self.data_cache or str(cache))
        load_splits("cifar10-valid", folder, cache_dir=setup.data_cache)
        return setup


def protocol_name(protocol: str, setup: SupernetSetup) -> str:
    """Return the name of a weight-sharing run of ``protocol`` at the setup's scale (``nb201@proxy``, or
    ``nb201@proxy-e50`` with the epochs overridden)."""
    return f"{protocol}@{setup.scale}" + (f"-e{setup.epochs}" if setup.epochs is not None else "")


_DATA: dict[SupernetSetup, Any] = {}


def run_supernet(module: Any, args: Any, seed: int, setup: SupernetSetup) -> SearchResult:
    """Run one weight-sharing search of ``module`` at the setup's scale (the data is loaded once per process)."""
    scale = setup.size
    runtime = Runtime(device=setup.device, threads=setup.threads)
    data = _DATA.get(setup)
    if data is None:
        if setup.data is None:
            raise ValueError("resolve the setup (SupernetSetup.resolved) before running searches")
        device = str(runtime.resolve_device())
        data = _DATA[setup] = load_search_data(setup.data, scale, 0, setup.data_cache, device, runtime.channels_last)
        log.info("weight-sharing data: %s", data.describe())
    result = module.search(data, scale.apply(args), seed, runtime)
    result.settings["scale"] = setup.scale
    if setup.epochs is not None:
        result.settings["epochs_override"] = setup.epochs
    return result


def supernet_fields(
    result: SearchResult, setup: SupernetSetup, bench: Benchmark, schedule: int | None
) -> dict[str, Any]:
    """Return the record fields of a weight-sharing run: they replace the common ones, except ``trajectory``,
    which extends the common trajectory (per epoch: ``skip_share`` and ``test`` per dataset)."""
    archs = result.archs
    skip = (all_ops()[archs] == SKIP).sum(axis=1) / NUM_EDGES if len(archs) else archs
    tests: dict[str, list[float | None]] = {}
    for dataset in SEARCH_DATASETS:
        try:
            tests[dataset] = [round(float(a), 4) for a in bench.test_accuracy_many(archs, dataset, schedule=schedule)]
        except LookupError:
            tests[dataset] = [None] * len(archs)
    return {
        "budget": None,
        "rule": None,
        "clock_kind": "wall",
        "incumbent": "last",
        "scale": setup.scale,
        "seconds_per_epoch": result.settings.get("seconds_per_epoch"),
        "trajectory": {"skip_share": [round(float(s), 4) for s in skip], "test": tests},
    }
