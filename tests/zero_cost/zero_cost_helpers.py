"""Helpers of the zero-cost tests: a synthetic minibatch and a small network shape (C=4, N=1) for speed."""

from __future__ import annotations

import numpy as np

from nb201_env.zero_cost.minibatch import Minibatch

SMALL = {"channels": 4, "cells_per_stage": 1}


def synthetic_minibatch(seed: int = 0) -> Minibatch:
    """Return 128 random 32x32 images with labels (the proxies' arithmetic does not care what they show)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(128, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, size=128)
    return Minibatch(
        "cifar10-valid", images, labels, np.arange(128), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), 10, seed, "t"
    )
