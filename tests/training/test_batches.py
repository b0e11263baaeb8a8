"""One minibatch as the trainer sees it (for zero-cost proxies and supernets): seeded, normalized, checked."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the [train] extra (pip install nb201-env[train])")

from nb201_env.training.batches import minibatch  # noqa: E402
from nb201_env.training.splits import load_splits  # noqa: E402


def test_a_seed_names_one_normalized_batch_of_a_split(cifar_jpg):
    splits = load_splits("cifar10-valid", cifar_jpg)
    images, labels = minibatch(splits, 64, seed=3)
    again, same = minibatch(splits, 64, seed=3)
    assert images.shape == (64, 3, 32, 32) and images.dtype == torch.float32 and labels.dtype == torch.int64
    assert torch.equal(images, again) and torch.equal(labels, same)
    assert not torch.equal(minibatch(splits, 64, seed=4)[0], images)
    assert abs(float(images.mean())) < 0.5 and 0.5 < float(images.std()) < 1.5  # standardized per channel
    row = np.random.default_rng(3).permutation(len(splits.train))[0]  # the batch's first image, normalized by hand
    mean, std = np.array(splits.mean).reshape(3, 1, 1), np.array(splits.std).reshape(3, 1, 1)
    expected = (splits.train.images[row] / 255 - mean) / std
    assert np.allclose(images[0].numpy(), expected, atol=1e-5) and int(labels[0]) == splits.train.labels[row]
    valid, _ = minibatch(splits, 10, seed=0, split="valid", augmented=True)
    assert valid.shape == (10, 3, 32, 32)


def test_bad_minibatch_requests_name_the_choices(cifar_jpg):
    splits = load_splits("cifar10", cifar_jpg)
    with pytest.raises(ValueError, match=r"unknown split 'val'; valid splits are \['train', 'valid', 'test'\]"):
        minibatch(splits, 8, split="val")
    with pytest.raises(ValueError, match="dataset 'cifar10' has no valid split"):
        minibatch(splits, 8, split="valid")
    with pytest.raises(ValueError, match=r"size must be an int in 1..600 \(the train split's images\), got 601"):
        minibatch(splits, 601)
