"""One minibatch as the trainer feeds it: for zero-cost proxies, weight-sharing supernets and quick checks.

splits = load_splits("cifar10-valid", "../shared/datasets/cifar10-jpg.tar.gz")
images, labels = minibatch(splits, 64, seed=0)   # float (64, 3, 32, 32) normalized, int64 (64,)
"""

from __future__ import annotations

import numpy as np

from nb201_env.training._torch import torch
from nb201_env.training.augment import Normalizer, augment
from nb201_env.training.splits import Splits

SPLIT_NAMES = ("train", "valid", "test")


def minibatch(
    splits: Splits,
    size: int = 256,
    seed: int = 0,
    split: str = "train",
    augmented: bool = False,
    padding: int | None = None,
    device: str | torch.device = "cpu",
    channels_last: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``size`` images of one split, normalized as in training, with their labels.

    The images are drawn without replacement by a permutation seeded with ``seed``, so a seed names one batch.
    ``augmented`` applies the training augmentation (random crop with ``padding``, default ``resolution // 8``,
    and flips) drawn from the same seed.
    """
    if split not in SPLIT_NAMES:
        raise ValueError(f"unknown split {split!r}; valid splits are {list(SPLIT_NAMES)}")
    images = getattr(splits, split)
    if images is None:
        raise ValueError(f"dataset {splits.dataset!r} has no {split} split")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= len(images):
        raise ValueError(f"size must be an int in 1..{len(images)} (the {split} split's images), got {size!r}")
    rows = np.random.default_rng(seed).permutation(len(images))[:size]  # in random order, as a shuffled epoch
    x = torch.from_numpy(np.ascontiguousarray(images.images[rows])).to(device)
    if augmented:
        generator = torch.Generator().manual_seed(seed)
        x = augment(x, x.shape[-1] // 8 if padding is None else padding, True, generator)
    normalized = Normalizer(splits.mean, splits.std, x.device, channels_last)(x)
    return normalized, torch.from_numpy(images.labels[rows]).to(device)
