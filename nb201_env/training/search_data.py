"""The data of a weight-sharing search: the two halves of ``cifar10-valid`` on the device, batched as NB201 did.

The reference searchers (``get_nas_search_loaders`` in D-X-Y/AutoDL-Projects) read three loaders, all over
the 25k/25k halves of the CIFAR-10 training set:

* the *search* loader: one shuffled pass over the training half per epoch, each training image paired with a
  validation image drawn uniformly at random (with replacement), both with the training augmentation
  (random crop with zero padding and horizontal flip) -> :meth:`SearchData.search_batches`;
* the *train* loader: the training half alone, augmented (ENAS's shared weights) -> :meth:`SearchData.train_batches`;
* the *valid* loader: shuffled passes over the validation half, not augmented, started afresh each time a
  searcher scores its candidates (RSPS, SETN), or augmented (ENAS's controller, which the reference trains on
  the validation half with the training transform) -> :meth:`SearchData.valid_batches`.

Images stay uint8 on the device and are augmented and normalized per batch with the trainer's batched ops
(:mod:`nb201_env.training.augment`); every random draw comes from one seeded ``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nb201_env.training._torch import torch
from nb201_env.training.augment import Normalizer, augment
from nb201_env.training.splits import Splits
from nb201_env.training.trainer import to_device

Tensor = torch.Tensor
Batch = tuple[Tensor, Tensor]


class SearchData:
    """``cifar10-valid`` (or any splits with a validation half) on one device, served in search batches.

    Args:
        splits: the dataset, usually :func:`~nb201_env.training.splits.prepare`-d to a scale's subsets and
            resolution; it must have a validation split (``cifar10-valid``: the training set's second half).
        device: where the images live and the batches are made.
        seed: seed of the generator behind every shuffle, pairing and augmentation.
        channels_last: hand out NHWC batches (faster convolutions on CPU and tensor-core GPUs).
    """

    def __init__(
        self, splits: Splits, device: torch.device | str = "cpu", seed: int = 0, channels_last: bool = True
    ) -> None:
        if splits.valid is None:
            raise ValueError(
                f"dataset {splits.dataset!r} has no validation split to update architectures on; "
                "search on 'cifar10-valid' (its training half trains the weights, its validation half the cells)"
            )
        if len(splits.train) == 0 or len(splits.valid) == 0:
            raise ValueError(f"empty split: {len(splits.train)} training and {len(splits.valid)} validation images")
        self.device = torch.device(device)
        self.dataset = splits.dataset
        self.num_classes = splits.num_classes
        self.train_x, self.train_y = (to_device(a, self.device) for a in (splits.train.images, splits.train.labels))
        self.valid_x, self.valid_y = (to_device(a, self.device) for a in (splits.valid.images, splits.valid.labels))
        self.resolution = int(splits.train.images.shape[-1])
        self.padding = self.resolution // 8  # the official 4 px at 32 px
        self.normalize = Normalizer(splits.mean, splits.std, self.device, channels_last)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.split_source = splits.split_source

    def reseed(self, seed: int) -> None:
        """Restart the random stream (shuffles, pairings, augmentation) from ``seed``: a search seeded alike
        then sees the same batches."""
        self.generator.manual_seed(seed)

    def describe(self) -> dict[str, Any]:
        """Return what the search ran on (recorded with every result)."""
        return {
            "dataset": self.dataset,
            "train_images": len(self.train_y),
            "valid_images": len(self.valid_y),
            "resolution": self.resolution,
            "crop_padding": self.padding,
            "split_source": self.split_source,
            "device": str(self.device),
        }

    def _batch(self, images: Tensor, labels: Tensor, rows: Tensor, augmented: bool) -> Batch:
        x = images[rows]
        if augmented:
            x = augment(x, self.padding, True, self.generator)
        return self.normalize(x), labels[rows]

    def train_batches(self, batch_size: int) -> Iterator[Batch]:
        """Yield one epoch of augmented training batches in a fresh random order (the last one may be short)."""
        order = torch.randperm(len(self.train_y), generator=self.generator, device=self.device)
        for start in range(0, len(order), batch_size):
            yield self._batch(self.train_x, self.train_y, order[start : start + batch_size], True)

    def search_batches(self, batch_size: int) -> Iterator[tuple[Tensor, Tensor, Tensor, Tensor]]:
        """Yield one epoch of ``(x, y, x_valid, y_valid)``: training batches, each paired with as many
        augmented validation images drawn uniformly with replacement (the reference's ``SearchDataset``)."""
        for x, y in self.train_batches(batch_size):
            rows = torch.randint(len(self.valid_y), (len(y),), generator=self.generator, device=self.device)
            yield (x, y, *self._batch(self.valid_x, self.valid_y, rows, True))

    def valid_batches(self, batch_size: int, augmented: bool = False) -> Iterator[Batch]:
        """Yield validation batches without end: shuffled passes over the validation half, one after another."""
        while True:
            order = torch.randperm(len(self.valid_y), generator=self.generator, device=self.device)
            for start in range(0, len(order), batch_size):
                yield self._batch(self.valid_x, self.valid_y, order[start : start + batch_size], augmented)
