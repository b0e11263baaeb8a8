"""What ``nb201 build-table`` builds: the dataset, recipe, workers and outputs of a table (validated)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from nb201_env.names import check_choice
from nb201_env.training.recipe import Recipe
from nb201_env.training.runtime import Runtime, Stacking
from nb201_env.validate import check_real

TABLE_DATASETS = {"cifar10-valid": "ori-test", "cifar100": "x-test", "ImageNet16-120": "x-test"}
"""Datasets a table can be built for, with the split their test figures are stored under."""

PROXY_RECIPE = Recipe.named("proxy-table")
"""The recipe of the bundled table: 8x8 images, C=16, one cell per stage, 5,000 training images, 3 epochs
(measured: about 2.0 s per class with two single-threaded workers on a 2-core CPU, 3.6 h for all 6,466)."""


@dataclass(frozen=True)
class TableConfig:
    """What to build and where.

    Args:
        root: the dataset folder (CIFAR python, ImageNet16 or any ``train/<class>/*.jpg`` image folder).
        out: the store directory to write.
        cache: the SQLite result cache (resumable; keep it to extend or rebuild the table).
        dataset: ``cifar10-valid`` (also for your own image folders), ``cifar100`` or ``ImageNet16-120``.
        recipe: the training recipe (default :data:`PROXY_RECIPE`).
        seed: the training seed of every run.
        workers: training processes (one thread each).
        name: the benchmark name shown in ``info`` and reports.
        time_scale: factor applied to measured seconds before they are stored (1 = seconds as measured: wall time of a
            single-threaded worker; ``wall_to_cpu`` in the manifest says how free its core was).
        limit: train only this many classes (for trials); the others stay missing (NaN).
        data_cache_dir: where decoded image folders are kept as ``.npy``.
        data_name: how the metadata names the dataset (default: the folder's name).
        overwrite: replace an existing store at ``out``.
        archs_per_step: architectures each worker trains together in one model step (see ``Runtime``).
        stacking: how those are computed: ``"auto"``, ``"grouped"`` or ``"per-arch"`` (see ``Runtime``).
        retrain_contended: train again every cached run whose wall time exceeds its CPU time by more than this
            factor (e.g. 1.1): other jobs shared its core, so its recorded times, which become the simulated
            costs, are inflated. A new run replaces the cached one only if its core was freer. ``None`` keeps every
            cached run.
        progress: show each run's epochs as a progress bar (with one worker; workers log them at INFO).
    """

    root: str | os.PathLike[str]
    out: str | os.PathLike[str]
    cache: str | os.PathLike[str]
    dataset: str = "cifar10-valid"
    recipe: Recipe = field(default=PROXY_RECIPE)
    seed: int = 777
    workers: int = 2
    name: str = "nb201-proxy"
    time_scale: float = 1.0
    limit: int | None = None
    data_cache_dir: str | os.PathLike[str] | None = None
    data_name: str | None = None
    overwrite: bool = False
    archs_per_step: int = 1
    stacking: Stacking = "auto"
    retrain_contended: float | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        check_choice("table dataset", self.dataset, tuple(TABLE_DATASETS))
        self.runtime()  # validates archs_per_step and stacking
        if not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be an int >= 1, got {self.workers!r}")
        check_real("time_scale", self.time_scale, positive=True)
        if self.limit is not None and not (isinstance(self.limit, int) and self.limit >= 1):
            raise ValueError(f"limit must be a positive int or None, got {self.limit!r}")
        if self.retrain_contended is not None:
            check_real("retrain_contended", self.retrain_contended, positive=True)
            if self.retrain_contended < 1.0:
                raise ValueError(
                    f"retrain_contended must be >= 1 (a wall/CPU time ratio) or None, got {self.retrain_contended!r}"
                )

    def runtime(self) -> Runtime:
        """Return the execution choices of every training run of the build (one thread per worker)."""
        return Runtime(threads=1, eval_epochs="all", archs_per_step=self.archs_per_step, stacking=self.stacking)
