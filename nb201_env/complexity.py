"""Analytic parameter count and FLOPs of the NB201 network, equal to the official figures.

The official numbers come from a forward hook that counts multiply-accumulates of every ``Conv2d`` and
``Linear`` (pooling and batch norm are not counted) and from summing all parameter sizes (batch-norm
running statistics are buffers, not parameters). Every cell edge is built and run even when it cannot reach
the output, so an op counts wherever it sits. Both figures are reported in millions ("MB" and "M").
"""

from __future__ import annotations

import numpy as np

from nb201_env.names import DATASETS, NUM_CLASSES, RESOLUTION
from nb201_env.space import CONV1X1, CONV3X3, all_ops
from nb201_env.validate import check_choice


def _conv_edge_counts(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ops = all_ops()[indices]
    return (ops == CONV1X1).sum(axis=-1).astype(np.int64), (ops == CONV3X3).sum(axis=-1).astype(np.int64)


def _conv_out(size: int) -> int:
    return (size + 2 - 3) // 2 + 1  # 3x3 conv, stride 2, padding 1


def param_count(
    indices: int | np.ndarray, num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5
) -> np.ndarray:
    """Return the exact number of parameters of the network for each architecture index."""
    n1, n3 = _conv_edge_counts(np.asarray(indices))
    total = 27 * channels + 2 * channels  # stem conv (no bias) + batch norm
    per_cell_1x1 = np.zeros_like(n1)
    per_cell_3x3 = np.zeros_like(n3)
    c = channels
    for stage in range(3):
        per_cell_1x1 = per_cell_1x1 + cells_per_stage * (c * c + 2 * c)
        per_cell_3x3 = per_cell_3x3 + cells_per_stage * (9 * c * c + 2 * c)
        if stage < 2:  # residual reduction block c -> 2c
            out = 2 * c
            total += 9 * c * out + 2 * out + 9 * out * out + 2 * out + c * out
            c = out
    total += 2 * c + c * num_classes + num_classes  # final BN, classifier with bias
    return total + n1 * per_cell_1x1 + n3 * per_cell_3x3


def flop_count(
    indices: int | np.ndarray,
    num_classes: int = 10,
    resolution: int = 32,
    channels: int = 16,
    cells_per_stage: int = 5,
) -> np.ndarray:
    """Return the multiply-accumulates of one forward pass for each architecture index."""
    n1, n3 = _conv_edge_counts(np.asarray(indices))
    size = resolution
    total = 27 * channels * size * size
    per_1x1 = np.zeros_like(n1)
    per_3x3 = np.zeros_like(n3)
    c = channels
    for stage in range(3):
        area = size * size
        per_1x1 = per_1x1 + cells_per_stage * c * c * area
        per_3x3 = per_3x3 + cells_per_stage * 9 * c * c * area
        if stage < 2:
            out, small = 2 * c, _conv_out(size)
            pooled = size // 2  # AvgPool2d(2, 2) on the shortcut
            total += 9 * c * out * small * small + 9 * out * out * small * small + c * out * pooled * pooled
            c, size = out, small
    total += c * num_classes + num_classes
    return total + n1 * per_1x1 + n3 * per_3x3


def params_mb(indices: int | np.ndarray, dataset: str = "cifar10") -> np.ndarray | float:
    """Return the official parameter count in millions ("MB") of the NB201 network on ``dataset``."""
    check_choice("dataset", dataset, DATASETS)
    out = param_count(indices, NUM_CLASSES[dataset]) / 1e6
    return float(out) if np.ndim(out) == 0 else out


def flops_m(indices: int | np.ndarray, dataset: str = "cifar10") -> np.ndarray | float:
    """Return the official FLOPs in millions of the NB201 network on ``dataset``."""
    check_choice("dataset", dataset, DATASETS)
    out = flop_count(indices, NUM_CLASSES[dataset], RESOLUTION[dataset]) / 1e6
    return float(out) if np.ndim(out) == 0 else out
