"""The training recipe: NB201's hyperparameters by default, plus the knobs of cheaper proxies.

The defaults are the official ones (``configs/nas-benchmark/hyper-opts/{12E,200E}.config``): SGD with Nesterov
momentum 0.9, learning rate 0.1 decayed by a cosine to 0 over the schedule (set once per epoch, as the
official scheduler does), weight decay 5e-4, batch 256, cross-entropy; random crop with zero padding (4 px
at 32 px, 2 px at ImageNet16's 16 px) and horizontal flips; per-channel normalization. A recipe holds no
execution details (device, threads, precision): those live in :class:`~nb201_env.training.trainer.Runtime`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

HASH_VERSION = "nb201-recipe/1"


def _check_int(name: str, value: object, low: int, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        kind = f"an int >= {low}" + (" or None" if optional else "")
        raise ValueError(f"recipe {name} must be {kind}, got {value!r}")


def _check_float(name: str, value: object, low: float, high: float = math.inf, low_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or value > high or (low_open and value == low):  # type: ignore[operator]
        bracket = "(" if low_open else "["
        raise ValueError(f"recipe {name} must be a number in {bracket}{low}, {high}], got {value!r}")


@dataclass(frozen=True)
class Recipe:
    """How to train one architecture (validated at construction; hashable and stable-hashed for caches).

    Args:
        epochs: training epochs (NB201: 12 for the search signal, 200 for the final figures).
        batch_size: training batch size.
        lr: initial learning rate of the cosine schedule.
        momentum: SGD momentum.
        nesterov: Nesterov momentum.
        weight_decay: L2 weight decay applied by SGD to every parameter (as officially, BN included).
        eta_min: final learning rate of the cosine.
        cosine_epochs: length T of the cosine (``None`` = ``epochs``); epoch ``e`` uses
            ``eta_min + (lr - eta_min) * (1 + cos(pi * e / T)) / 2``.
        channels: stem width C (16 in NB201).
        cells_per_stage: cells per stage N (5 in NB201).
        resolution: image side after box downsampling (``None`` = native: 32 for CIFAR, 16 for ImageNet16).
        train_subset: train on this many images (a seeded subset; ``None`` = all).
        valid_subset: score on this many validation images (``None`` = all).
        test_subset: test on this many test images (``None`` = all).
        subset_seed: seed choosing the subsets (the same subsets for every architecture).
        crop_padding: zero padding of the random crop (``None`` = resolution // 8, the official 4 px at 32 px;
            0 disables cropping).
        flip: random horizontal flips.
    """

    epochs: int = 200
    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    eta_min: float = 0.0
    cosine_epochs: int | None = None
    channels: int = 16
    cells_per_stage: int = 5
    resolution: int | None = None
    train_subset: int | None = None
    valid_subset: int | None = None
    test_subset: int | None = None
    subset_seed: int = 0
    crop_padding: int | None = None
    flip: bool = True

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 1)
        _check_int("batch_size", self.batch_size, 1)
        _check_float("lr", self.lr, 0.0, low_open=True)
        _check_float("momentum", self.momentum, 0.0, 1.0)
        _check_float("weight_decay", self.weight_decay, 0.0)
        _check_float("eta_min", self.eta_min, 0.0, self.lr)
        for name in ("lr", "momentum", "weight_decay", "eta_min"):  # 1 and 1.0 must hash alike
            object.__setattr__(self, name, float(getattr(self, name)))
        _check_int("cosine_epochs", self.cosine_epochs, 1, optional=True)
        _check_int("channels", self.channels, 1)
        _check_int("cells_per_stage", self.cells_per_stage, 0)
        _check_int("resolution", self.resolution, 4, optional=True)  # two stride-2 reductions need >= 4 px
        for name in ("train_subset", "valid_subset", "test_subset"):
            _check_int(name, getattr(self, name), 1, optional=True)
        _check_int("subset_seed", self.subset_seed, 0)
        _check_int("crop_padding", self.crop_padding, 0, optional=True)
        for name in ("nesterov", "flip"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"recipe {name} must be True or False, got {getattr(self, name)!r}")
        if self.nesterov and self.momentum == 0:
            raise ValueError("recipe nesterov=True needs momentum > 0 (got momentum=0)")

    @classmethod
    def nb201(cls, epochs: int = 200, **overrides: Any) -> Recipe:
        """Return the official recipe with a 12- or 200-epoch schedule (other overrides allowed)."""
        if epochs not in (12, 200):
            raise ValueError(f"NB201 trained for 12 or 200 epochs, got {epochs!r}; use Recipe(epochs=...) for others")
        return cls(epochs=epochs, **overrides)

    @classmethod
    def proxy(cls, **overrides: Any) -> Recipe:
        """Return the cheap CPU proxy of shared/docs/proxy-notes.md: 16 px, C=8, N=1, 5k images, 4 epochs."""
        base = dict(
            epochs=4,
            batch_size=128,
            channels=8,
            cells_per_stage=1,
            resolution=16,
            train_subset=5000,
            valid_subset=2000,
            crop_padding=0,  # the notes' loop used flips only
        )
        return cls(**{**base, **overrides})

    @classmethod
    def named(cls, name: str) -> Recipe:
        """Return a recipe by name: ``"nb201-12"``, ``"nb201-200"`` (the official schedules), ``"proxy"``
        (:meth:`proxy`) or ``"proxy-table"`` (the bundled ``nb201-proxy-cifar10`` table's: 8 px, C=16, 3 epochs)."""
        makers = {
            "nb201-12": lambda: cls.nb201(12),
            "nb201-200": lambda: cls.nb201(200),
            "proxy": cls.proxy,
            "proxy-table": lambda: cls.proxy(epochs=3, channels=16, resolution=8, valid_subset=3000, test_subset=2000),
        }
        if name not in makers:
            raise ValueError(f"unknown recipe {name!r}; valid names are {', '.join(repr(n) for n in makers)}")
        return makers[name]()

    @classmethod
    def coerce(cls, value: Recipe | str | Mapping[str, Any]) -> Recipe:
        """Return a recipe given as itself, by name (:meth:`named`) or as a dict (:meth:`to_dict`'s, as a
        Gymnasium spec's JSON round trip gives back)."""
        if isinstance(value, Recipe):
            return value
        if isinstance(value, str):
            return cls.named(value)
        if isinstance(value, Mapping):
            return cls.from_dict(dict(value))
        raise TypeError(f"recipe must be a Recipe, a recipe name or a dict of its fields, got {type(value).__name__}")

    def replace(self, **changes: Any) -> Recipe:
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def lr_at(self, epoch: int) -> float:
        """Return the learning rate used during ``epoch`` (0-based)."""
        period = self.cosine_epochs or self.epochs
        return self.eta_min + (self.lr - self.eta_min) * (1 + math.cos(math.pi * epoch / period)) / 2

    def padding_for(self, resolution: int) -> int:
        """Return the crop padding in pixels at this resolution."""
        return resolution // 8 if self.crop_padding is None else self.crop_padding

    def data_key(self) -> tuple[int | None, ...]:
        """Return the fields that decide the prepared data (resolution and subsets)."""
        return (self.resolution, self.train_subset, self.valid_subset, self.test_subset, self.subset_seed)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (JSON-serializable)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Recipe:
        """Build from :meth:`to_dict` output; unknown keys are an error naming the valid ones."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown recipe fields {unknown}; valid fields are {sorted(names)}")
        return cls(**values)

    def stable_hash(self) -> str:
        """Return a 16-hex-digit hash of every field, equal across processes, machines and Python versions."""
        text = json.dumps({"version": HASH_VERSION, **self.to_dict()}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]
