"""The NB201 splits of each dataset, the proxy subsets and resolutions, and the normalization statistics.

``cifar10-valid`` trains on 25k of the CIFAR-10 training images and validates (``x-valid``) on the other 25k;
``cifar10`` trains on all 50k. For CIFAR-100 and ImageNet16-120, ``x-valid`` and ``x-test`` are two halves of
the test set. NB201 fixes these halves with its split files (``cifar-split.txt``,
``cifar100-test-split.txt``, ``imagenet-16-120-test-split.txt``); they are read when found, and otherwise
a deterministic class-stratified seeded split of the same sizes is used instead (logged, and recorded in
:attr:`Splits.split_source`): a deviation from the official pixels-to-split assignment, not from the sizes.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from nb201_env.names import DATASETS, NUM_CLASSES, RESOLUTION, check_choice
from nb201_env.training.data import (
    DatasetError,
    ImageSet,
    download_cifar,
    find_cifar_python,
    load_cifar_python,
    load_image_folder,
    load_imagenet16,
)
from nb201_env.training.recipe import Recipe

log = logging.getLogger(__name__)

MEAN_STD = {
    "cifar10": ((125.3, 123.0, 113.9), (63.0, 62.1, 66.7)),
    "cifar100": ((129.3, 124.1, 112.4), (68.2, 65.4, 70.4)),
    "ImageNet16-120": ((122.68, 116.66, 104.01), (63.22, 61.26, 65.09)),
}
"""The official per-channel normalization, in 0..255 units (the official code divides these by 255)."""

SPLIT_FILES = {
    "cifar10-valid": ("cifar-split.txt", "train", "valid"),
    "cifar100": ("cifar100-test-split.txt", "xvalid", "xtest"),
    "ImageNet16-120": ("imagenet-16-120-test-split.txt", "xvalid", "xtest"),
}
"""Official split file per dataset and its two keys (indices into the train set / the test set)."""


@dataclass(frozen=True)
class Splits:
    """One NB201 dataset: the training images, the ``x-valid`` signal (if any) and the reported test split."""

    dataset: str
    train: ImageSet
    valid: ImageSet | None
    test: ImageSet
    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    split_source: str
    test_split: str
    prepared_for: tuple[int | None, ...] | None = None
    """The :meth:`Recipe.data_key` these splits were prepared for (``None``: raw, not prepared)."""


def read_split_file(path: str | os.PathLike[str], keys: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Read an official NB201 split file (``{"key": ["int", ["0", ...]], ...}``) into two index arrays."""
    try:
        content = json.loads(Path(path).read_text())
        parts = []
        for key in keys:
            value = content[key]
            values = value[1] if isinstance(value, list) and len(value) == 2 and isinstance(value[1], list) else value
            parts.append(np.asarray([int(v) for v in values], dtype=np.int64))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DatasetError(f"{path} is not an NB201 split file with keys {list(keys)}: {error!r}") from error
    if np.intersect1d(parts[0], parts[1]).size:
        raise DatasetError(f"{path}: the {keys[0]!r} and {keys[1]!r} index lists overlap")
    return parts[0], parts[1]


def seeded_halves(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split positions into two class-stratified halves, deterministically from ``seed``."""
    rng = np.random.default_rng(seed)
    first, second = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        first.append(members[: len(members) // 2])
        second.append(members[len(members) // 2 :])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))


def _halves(dataset: str, labels: np.ndarray, split_dir: Path | None, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    name, key_a, key_b = SPLIT_FILES[dataset]
    path = split_dir / name if split_dir is not None else None
    if path is not None and path.is_file():
        a, b = read_split_file(path, (key_a, key_b))
        if max(a.max(initial=-1), b.max(initial=-1)) >= len(labels) or min(a.min(initial=0), b.min(initial=0)) < 0:
            raise DatasetError(f"{path} indexes {len(labels)} images out of range; is it the file for {dataset}?")
        return a, b, f"official split file {path}"
    log.info("no %s found for %s: using a seeded class-stratified split (seed %d)", name, dataset, seed)
    a, b = seeded_halves(labels, seed)
    return a, b, f"seeded class-stratified halves (seed {seed}); official {name} not found"


def _load_raw(base: str, root: Path, cache_dir: Path | None, download: bool) -> tuple[ImageSet, ImageSet, str]:
    """Return (train, test, format) of ``cifar10``/``cifar100``/``ImageNet16-120`` from whatever layout is there."""
    is_folder = (root / "train").is_dir() and (root / "test").is_dir()
    if download and base != "ImageNet16-120" and not is_folder and find_cifar_python(base, root) is None:
        download_cifar(base, root)
    if base == "ImageNet16-120":
        if (root / "train").is_dir() and (root / "test").is_dir():
            train, test, classes = load_image_folder(root, cache_dir)
            fmt = "image folder"
        else:
            return *load_imagenet16(root, 120), "ImageNet16 pickles"
    elif find_cifar_python(base, root) is not None:
        return *load_cifar_python(base, root), "python pickles"
    elif (root / "train").is_dir() and (root / "test").is_dir():
        train, test, classes = load_image_folder(root, cache_dir)
        fmt = "image folder"
    else:
        expected = (
            "train_data_batch_1..10 and val_data"
            if base == "ImageNet16-120"
            else f"the python layout ({root}/{'cifar-10-batches-py' if base == 'cifar10' else 'cifar-100-python'}/...)"
        )
        raise DatasetError(
            f"no {base} data under {root}: expected {expected} or an image folder {root}/train/<class>/*.jpg|png "
            f"and {root}/test/<class>/*.jpg|png"
        )
    if len(classes) != NUM_CLASSES[base]:
        raise DatasetError(f"{root} has {len(classes)} class folders but {base} has {NUM_CLASSES[base]} classes")
    return train, test, fmt


def load_splits(
    dataset: str,
    root: str | os.PathLike[str],
    split_dir: str | os.PathLike[str] | None = None,
    split_seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> Splits:
    """Load one NB201 dataset (``cifar10-valid``, ``cifar10``, ``cifar100``, ``ImageNet16-120``) with its splits.

    Args:
        dataset: the official dataset name.
        root: folder holding the data in one of the layouts of :mod:`nb201_env.training.data`.
        split_dir: folder with the official split files (default: ``root``); a seeded split is used without them.
        split_seed: seed of the replacement split.
        cache_dir: where decoded image folders are cached as ``.npy`` (``None``: decode every time).
        download: fetch the official CIFAR python tarball into ``root`` when no CIFAR data is there.
    """
    check_choice("dataset", dataset, DATASETS)
    root = Path(root)
    if not root.is_dir() and not download:
        raise DatasetError(f"dataset folder {root} does not exist (dataset {dataset!r})")
    base = "cifar10" if dataset == "cifar10-valid" else dataset
    train, test, fmt = _load_raw(base, root, Path(cache_dir) if cache_dir is not None else None, download)
    folder = Path(split_dir) if split_dir is not None else root
    mean, std = (tuple(v / 255 for v in values) for values in MEAN_STD[base])
    if dataset == "cifar10":
        valid, source, test_split = None, f"{fmt}; all training images", "ori-test"
    elif dataset == "cifar10-valid":
        a, b, source = _halves(dataset, train.labels, folder, split_seed)
        train, valid, test_split = train.take(a), train.take(b), "ori-test"
    else:
        a, b, source = _halves(dataset, test.labels, folder, split_seed)
        valid, test, test_split = test.take(a), test.take(b), "x-test"
    return Splits(dataset, train, valid, test, NUM_CLASSES[base], mean, std, f"{fmt}; {source}", test_split)  # type: ignore[arg-type]


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Downsample ``uint8 (N, 3, H, W)`` images to ``size x size`` by box (area) averaging."""
    height = images.shape[2]
    if size == height:
        return images
    if height % size == 0:  # an exact box filter without any interpolation library
        f = height // size
        boxes = images.reshape(len(images), 3, size, f, size, f).astype(np.float32).mean(axis=(3, 5))
        return np.clip(np.rint(boxes), 0, 255).astype(np.uint8)
    from nb201_env.training._torch import torch

    out = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(images).float(), size)
    return out.round().clamp(0, 255).to(torch.uint8).numpy()


def _subset(image_set: ImageSet, size: int | None, seed: int) -> ImageSet:
    if size is None or size >= len(image_set):
        return image_set
    return image_set.take(np.sort(np.random.default_rng(seed).permutation(len(image_set))[:size]))


def prepare(splits: Splits, recipe: Recipe) -> Splits:
    """Apply the recipe's proxy knobs: train/valid subsets (seeded by ``recipe.subset_seed``) and resolution."""
    if splits.prepared_for is not None:
        if splits.prepared_for == recipe.data_key():
            return splits
        raise ValueError(f"splits are already prepared for {splits.prepared_for}; prepare the loaded splits instead")
    native = RESOLUTION[splits.dataset]
    size = recipe.resolution or native
    if size > native:
        raise ValueError(f"recipe resolution {size} exceeds the native {native}px of {splits.dataset}")
    train = _subset(splits.train, recipe.train_subset, recipe.subset_seed)
    valid = _subset(splits.valid, recipe.valid_subset, recipe.subset_seed + 1) if splits.valid is not None else None
    test = _subset(splits.test, recipe.test_subset, recipe.subset_seed + 2)
    train, valid, test = (
        None if s is None else ImageSet(resize(s.images, size), s.labels) for s in (train, valid, test)
    )
    return replace(splits, train=train, valid=valid, test=test, prepared_for=recipe.data_key())
