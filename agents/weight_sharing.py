"""What the weight-sharing searchers share: scales, the supernet's training settings, and the epoch loop.

A weight-sharing searcher trains one :class:`~nb201_env.training.supernet.Supernet` on the training half of
``cifar10-valid``, updates its architecture parameters (or controller) on the validation half, and after every
epoch *derives* one cell by its own rule. :func:`run_search` drives it and records, per epoch, the measured
wall seconds since the search began, the derived cell (official index) and the method's own validation signal
for it: the same :class:`~agents.common.SearchResult` as the multi-trial agents, on a wall clock instead of a
simulated one. The harness then looks every derived cell up in the benchmark, after the search.

Scales change only the network, the images and the number of epochs, never a method's own settings
(learning rates, batch sizes, candidates scored, controller steps):

========  =============================================  ===============================================
scale     network and images                             epochs
========  =============================================  ===============================================
full      32 px, C=16, N=5, 25k + 25k images (NB201)     the method's reference epochs (DARTS 50, else 250)
proxy     8 px, C=8, N=1, 5k + 5k images                 the reference epochs / 5 (DARTS 10, else 50)
tiny      8 px, C=4, N=1, 100 + 100 images (tests)       2
========  =============================================  ===============================================
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from agents.common import SearchResult
from nb201_env.space import NUM_EDGES, NUM_OPS, Arch
from nb201_env.validate import check_bool, check_int, check_real

log = logging.getLogger(__name__)
A = TypeVar("A", bound="SupernetArgs")


@dataclass(frozen=True)
class Scale:
    """How big a weight-sharing search is: network, images and epochs (a method's own settings stay).

    Args:
        name: ``"full"``, ``"proxy"`` or ``"tiny"``.
        resolution: image side after box downsampling (``None``: native 32 px).
        channels: stem width C.
        cells_per_stage: cells N per stage.
        train_subset: images of the training half used (``None``: all 25k).
        valid_subset: images of the validation half used (``None``: all 25k).
        epochs: epochs of every method (``None``: its reference epochs divided by ``epoch_divisor``).
        epoch_divisor: divides the reference epochs when ``epochs`` is ``None`` (rounded up).
    """

    name: str
    resolution: int | None
    channels: int
    cells_per_stage: int
    train_subset: int | None
    valid_subset: int | None
    epochs: int | None = None
    epoch_divisor: int = 1

    def epochs_for(self, reference: int) -> int:
        """Return the epochs a method whose reference runs ``reference`` epochs gets at this scale."""
        return self.epochs if self.epochs is not None else max(1, math.ceil(reference / self.epoch_divisor))

    def apply(self, args: A) -> A:
        """Return ``args`` with this scale's network size and epochs."""
        return replace(
            args, channels=self.channels, cells_per_stage=self.cells_per_stage, epochs=self.epochs_for(args.epochs)
        )

    def recipe(self) -> Any:
        """Return the :class:`~nb201_env.training.recipe.Recipe` whose data knobs select this scale's images."""
        from nb201_env.training.recipe import Recipe

        # the test split is never read by a search (derived cells are looked up): keep it tiny
        return Recipe(
            resolution=self.resolution, train_subset=self.train_subset, valid_subset=self.valid_subset, test_subset=10
        )


SCALES: dict[str, Scale] = {
    "full": Scale("full", None, 16, 5, None, None),
    "proxy": Scale("proxy", 8, 8, 1, 5000, 5000, epoch_divisor=5),
    "tiny": Scale("tiny", 8, 4, 1, 100, 100, epochs=2),
}


def get_scale(name: str) -> Scale:
    """Return a scale by name, or raise naming the scales."""
    if name not in SCALES:
        raise ValueError(f"unknown scale {name!r}; valid scales are {', '.join(SCALES)}")
    return SCALES[name]


@dataclass(frozen=True)
class SupernetArgs:
    """How the supernet's weights are trained (defaults: ``configs/nas-benchmark/algos/{DARTS,GDAS,SETN,RANDOM}
    .config`` of AutoDL-Projects, which agree on all but the epochs) and how big it is (NB201's C=16, N=5)."""

    epochs: int = 250
    """Search epochs (the reference configs: DARTS 50, GDAS, SETN, RANDOM and ENAS 250)."""
    batch_size: int = 64
    """Training images per weight step (and validation images per architecture step)."""
    lr: float = 0.025
    """Initial learning rate of the weights' cosine schedule (set once per epoch, as the reference does)."""
    eta_min: float = 0.001
    """Final learning rate of the cosine."""
    cosine_epochs: int | None = None
    """Period T of the cosine ``eta_min + (lr - eta_min) (1 + cos(pi e / T)) / 2`` (``None``: ``epochs``)."""
    momentum: float = 0.9
    """SGD momentum (Nesterov)."""
    weight_decay: float = 5e-4
    """SGD weight decay of the weights."""
    grad_clip: float | None = 5.0
    """Clip the weights' gradient to this L2 norm before each weight step (``None``: no clipping)."""
    channels: int = 16
    """Stem width C of the supernet."""
    cells_per_stage: int = 5
    """Cells N per stage of the supernet."""
    affine: bool = False
    """Affine parameters in the cell ops' BN (the reference: none)."""
    track_running_stats: bool = True
    """Running statistics in the cell ops' BN (the reference's ``BN`` argument; 1 in its documented commands)."""

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "channels"):
            check_int(name, getattr(self, name), low=1)
        check_int("cells_per_stage", self.cells_per_stage, low=0)
        check_int("cosine_epochs", self.cosine_epochs, low=1, allow_none=True)
        check_real("lr", self.lr, positive=True)
        for name in ("eta_min", "momentum", "weight_decay"):
            if check_real(name, getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.eta_min > self.lr:
            raise ValueError(f"eta_min ({self.eta_min}) must not exceed lr ({self.lr})")
        if self.momentum >= 1:
            raise ValueError(f"momentum must be below 1, got {self.momentum!r}")
        check_real("grad_clip", self.grad_clip, positive=True, allow_none=True)
        check_bool("affine", self.affine)
        check_bool("track_running_stats", self.track_running_stats)

    def lr_at(self, epoch: int) -> float:
        """Return the weights' learning rate during ``epoch`` (0-based)."""
        period = self.cosine_epochs or self.epochs
        return self.eta_min + (self.lr - self.eta_min) * (1 + math.cos(math.pi * epoch / period)) / 2


@dataclass(frozen=True)
class ArchAdamArgs(SupernetArgs):
    """Architecture parameters ``alpha`` (6 x 5) trained by Adam, as DARTS, GDAS and SETN do in NB201 (their
    scripts pass ``--arch_learning_rate 0.0003 --arch_weight_decay 0.001``; the code uses betas (0.5, 0.999))."""

    arch_learning_rate: float = 3e-4
    """Adam learning rate of ``alpha``."""
    arch_weight_decay: float = 1e-3
    """Adam's (L2) weight decay of ``alpha``."""
    arch_beta1: float = 0.5
    """Adam's first-moment decay for ``alpha``."""
    arch_beta2: float = 0.999
    """Adam's second-moment decay for ``alpha``."""
    arch_init_std: float = 1e-3
    """``alpha`` starts as ``arch_init_std * randn(6, 5)``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_real("arch_learning_rate", self.arch_learning_rate, positive=True)
        for name in ("arch_weight_decay", "arch_init_std"):
            if check_real(name, getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("arch_beta1", "arch_beta2"):
            if not 0 <= check_real(name, getattr(self, name)) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")


def args_dict(args: SupernetArgs) -> dict[str, Any]:
    """Return the arguments as a plain dict (for the record)."""
    return {f.name: getattr(args, f.name) for f in fields(args)}


class SupernetSearcher(Protocol):
    """A weight-sharing method: trains its supernet one epoch at a time and derives one cell after each."""

    name: str
    settings: dict[str, Any]

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """Train weights and architecture for one epoch; return its statistics (``train_loss``, ...)."""
        ...

    def derive(self) -> tuple[int, float]:
        """Return the cell this method reports now (official index) and its validation accuracy as the method
        measures it (%; ``nan`` where the method measures none)."""
        ...


def run_search(searcher: SupernetSearcher, epochs: int) -> SearchResult:
    """Run ``epochs`` epochs, deriving a cell after each; record wall seconds, cells and signals per epoch."""
    times, archs, valid, cpu, stats = [], [], [], [], []
    start, cpu_start = time.perf_counter(), time.process_time()
    for epoch in range(epochs):
        epoch_stats = searcher.train_epoch(epoch)
        arch, accuracy = searcher.derive()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        archs.append(arch)
        valid.append(accuracy)
        stats.append(epoch_stats)
        log.info(
            "%s epoch %d/%d: %.1f s, derived %s (%.2f%%), %s",
            searcher.name, epoch + 1, epochs, times[-1], Arch(arch).to_str(), accuracy,
            ", ".join(f"{k}={v:.3f}" for k, v in epoch_stats.items()),
        )  # fmt: skip
    wall = np.diff(np.r_[0.0, times])
    settings = {
        **searcher.settings,
        "clock": "wall seconds since the search began, measured at the end of each epoch (derivation included)",
        "seconds_per_epoch": float(wall.mean()) if len(wall) else math.nan,
        "cpu_seconds": cpu[-1] if cpu else 0.0,
        "per_epoch": {
            "seconds": np.round(wall, 4).tolist(),
            "cpu_seconds": np.round(np.diff(np.r_[0.0, cpu]), 4).tolist(),
            **{k: [float(s[k]) for s in stats] for k in (stats[0] if stats else {})},
        },
    }
    return SearchResult(
        searcher.name,
        np.asarray(times, dtype=np.float64),
        np.asarray(archs, dtype=np.int64),
        np.asarray(valid, dtype=np.float64),
        np.arange(1, epochs + 1, dtype=np.int64),
        int(archs[-1]) if archs else -1,
        settings,
    )


def uniform_ops(rng: np.random.Generator) -> tuple[int, ...]:
    """Draw one op per edge uniformly (``random.choice`` over the five ops in the reference)."""
    return tuple(int(o) for o in rng.integers(NUM_OPS, size=NUM_EDGES))


def load_search_data(
    root: str | Path,
    scale: Scale,
    seed: int,
    cache_dir: str | Path | None = None,
    device: str = "cpu",
    channels_last: bool = True,
) -> Any:
    """Load ``cifar10-valid`` from ``root``, cut to the scale's images, as :class:`SearchData` on ``device``."""
    from nb201_env.training.search_data import SearchData
    from nb201_env.training.splits import load_splits, prepare

    splits = prepare(load_splits("cifar10-valid", root, cache_dir=cache_dir), scale.recipe())
    return SearchData(splits, device, seed, channels_last)


def describe(args: SupernetArgs, reference: str, data: Any) -> dict[str, Any]:
    """Return the settings recorded with a run: the arguments, the reference and the data."""
    return {**args_dict(args), "reference": reference, "data": data.describe()}
