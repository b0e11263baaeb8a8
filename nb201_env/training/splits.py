"""The NB201 splits of each dataset, the proxy subsets and resolutions, and the normalization statistics.

``cifar10-valid`` trains on 25k of the CIFAR-10 training images and validates (``x-valid``) on the other 25k;
``cifar10`` trains on all 50k. For CIFAR-100 and ImageNet16-120, ``x-valid`` and ``x-test`` are two halves of
the test set. NB201 fixes these halves with its split files (``cifar-split.txt``,
``cifar100-test-split.txt``, ``imagenet-16-120-test-split.txt``), whose indices count images in the official
order: they are used with the official files (torchvision's python layout, ImageNet16's pickles) when found
in ``split_dir`` (default: ``root``). Otherwise, and always for an image folder (its order is another), a
deterministic class-stratified seeded split of the same sizes is used (logged, and recorded in
:attr:`Splits.split_source` and :attr:`Splits.split_id`): a deviation from the official pixels-to-split
assignment, not from the sizes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from nb201_env.names import DATASETS, NUM_CLASSES, RESOLUTION, check_choice
from nb201_env.training.data import DatasetError, ImageSet
from nb201_env.training.datacache import DecodedCache
from nb201_env.training.dataset import load_image_set, locate
from nb201_env.training.recipe import Recipe
from nb201_env.training.sources import DataSource

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
    data_id: str = ""
    """The content id of the decoded image set (:func:`~nb201_env.training.datacache.content_id`)."""
    split_id: str = ""
    """Which split: ``official:<hash of the split file>``, ``seeded:<seed>`` or ``none`` (``cifar10``)."""


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


def _official_split(dataset: str, source: DataSource, root: Path, split_dir: Path | None) -> Path | None:
    """Return the official split file to use, or None (seeded split); refuse one that cannot apply."""
    name = SPLIT_FILES[dataset][0]
    # default: beside the official files, in root or in the folder holding them
    folders = [split_dir] if split_dir is not None else [root, source.path] if source.official_order else []
    path = next((f / name for f in folders if (f / name).is_file()), None)
    if path is None:
        if split_dir is not None:
            log.warning("no %s in %s: %s uses a seeded class-stratified split", name, split_dir, dataset)
        return None
    if not source.official_order:  # the split file's indices would pick other images
        raise DatasetError(
            f"{path} indexes the official image order of {dataset}, but {source.describe()} is in another order "
            f"(sorted class folders and file names): use the official python files with it, or leave split_dir "
            f"unset for a seeded split"
        )
    return path


def _halves(dataset: str, labels: np.ndarray, path: Path | None, seed: int) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Return the two halves, how they were made, and their identity (file hash or seed)."""
    name, key_a, key_b = SPLIT_FILES[dataset]
    if path is not None:
        a, b = read_split_file(path, (key_a, key_b))
        if max(a.max(initial=-1), b.max(initial=-1)) >= len(labels) or min(a.min(initial=0), b.min(initial=0)) < 0:
            raise DatasetError(f"{path} indexes {len(labels)} images out of range; is it the file for {dataset}?")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        return a, b, f"official split file {path}", f"official:{digest}"
    log.info("no official %s for %s: using a seeded class-stratified split (seed %d)", name, dataset, seed)
    a, b = seeded_halves(labels, seed)
    return a, b, f"seeded class-stratified halves (seed {seed}); official {name} not used", f"seeded:{seed}"


def load_splits(
    dataset: str,
    root: str | os.PathLike[str],
    split_dir: str | os.PathLike[str] | None = None,
    split_seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
    *,
    data_cache: bool = True,
    progress: bool = False,
) -> Splits:
    """Load one NB201 dataset (``cifar10-valid``, ``cifar10``, ``cifar100``, ``ImageNet16-120``) with its splits.

    Args:
        dataset: the official dataset name.
        root: what :mod:`~nb201_env.training.sources` reads: an image folder, its ``.tar.gz``, torchvision's
            CIFAR python layout, or ImageNet16's official files.
        split_dir: folder with the official split files (default: ``root`` for the official layouts); they apply
            only to the official image order, so an image folder always gets the seeded split.
        split_seed: seed of the replacement split.
        cache_dir: the decoded-image cache folder (default ``$XDG_CACHE_HOME/nb201_env/datasets``).
        download: fetch the official CIFAR python tarball into ``root`` when no CIFAR data is there.
        data_cache: keep decoded images in ``cache_dir`` and load them from there (``False``: decode every time).
        progress: show a progress bar while decoding.
    """
    check_choice("dataset", dataset, DATASETS)
    base = "cifar10" if dataset == "cifar10-valid" else dataset
    source = locate(base, root, download)
    raw = load_image_set(source, DecodedCache(cache_dir) if data_cache else None, progress)
    train, test = raw.train, raw.test
    mean, std = (tuple(v / 255 for v in values) for values in MEAN_STD[base])
    fmt = source.describe()
    if dataset == "cifar10":
        valid, how, split_id, test_split = None, "all training images", "none", "ori-test"
    else:
        path = _official_split(dataset, source, Path(root), Path(split_dir) if split_dir is not None else None)
        labels = train.labels if dataset == "cifar10-valid" else test.labels
        a, b, how, split_id = _halves(dataset, labels, path, split_seed)
        if dataset == "cifar10-valid":
            train, valid, test_split = train.take(a), train.take(b), "ori-test"
        else:
            valid, test, test_split = test.take(a), test.take(b), "x-test"
    return Splits(
        dataset, train, valid, test, NUM_CLASSES[base], mean, std, f"{fmt}; {how}", test_split,  # type: ignore[arg-type]
        data_id=raw.content_id, split_id=split_id,
    )  # fmt: skip


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
