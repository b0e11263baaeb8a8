"""The one minibatch the zero-cost proxies read: drawn once from the training images, the same for every cell."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nb201_env.zero_cost.spec import MINIBATCH_SIZE

if TYPE_CHECKING:
    import torch

    from nb201_env.training.splits import Splits


@dataclass(frozen=True)
class Minibatch:
    """Training images (``uint8 (N, 3, H, W)``), labels, and how they were drawn.

    Attributes:
        dataset: the NB201 dataset the images come from (``cifar10-valid`` draws from its 25k training half).
        positions: the images' positions in that training set.
        mean, std: the official normalization (0..1 units).
        source: where the images came from (the splits' description).
    """

    dataset: str
    images: np.ndarray
    labels: np.ndarray
    positions: np.ndarray
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    num_classes: int
    seed: int
    source: str

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != np.uint8 or len(self.images) != len(self.labels):
            raise ValueError(f"images must be uint8 (N, 3, H, W) with one label each, got {self.images.shape}")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def sha256(self) -> str:
        """Return a digest of the pixels and labels (names the data in caches and manifests)."""
        digest = hashlib.sha256(np.ascontiguousarray(self.images).tobytes())
        digest.update(np.ascontiguousarray(self.labels, dtype=np.int64).tobytes())
        return digest.hexdigest()

    def tensor(self, device: str | torch.device = "cpu") -> torch.Tensor:
        """Return the normalized float32 images on ``device`` (no augmentation, as NASWOT's reference)."""
        from nb201_env.training._torch import torch

        x = torch.from_numpy(np.ascontiguousarray(self.images)).to(device).float().div_(255.0)
        mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std

    def describe(self) -> dict[str, Any]:
        """Return the manifest's account of the data."""
        return {
            "dataset": self.dataset,
            "images": len(self),
            "resolution": int(self.images.shape[-1]),
            "seed": self.seed,
            "sha256": self.sha256,
            "source": self.source,
            "augmentation": "none",
        }


def draw_minibatch(splits: Splits, seed: int, size: int = MINIBATCH_SIZE) -> Minibatch:
    """Draw ``size`` distinct training images of ``splits`` with ``numpy.random.default_rng(seed)``.

    Beyond :data:`~nb201_env.zero_cost.spec.MINIBATCH_SIZE` images, the first ones are those a draw of that size
    gives and the rest are drawn from the remaining images, so every proxy sees the same first images.
    """
    train = splits.train
    if not 0 < size <= len(train):
        raise ValueError(f"minibatch size must be in 1..{len(train)}, got {size!r}")
    first = min(size, MINIBATCH_SIZE)
    positions = np.sort(np.random.default_rng(seed).choice(len(train), size=first, replace=False))
    positions = positions[np.random.default_rng(seed).permutation(first)]  # no class ordering inside the batch
    if size > first:
        rest = np.setdiff1d(np.arange(len(train)), positions)
        more = np.random.default_rng([seed, size]).choice(rest, size=size - first, replace=False)
        positions = np.concatenate([positions, more])
    return Minibatch(
        dataset=splits.dataset,
        images=train.images[positions],
        labels=train.labels[positions].astype(np.int64),
        positions=positions,
        mean=splits.mean,
        std=splits.std,
        num_classes=splits.num_classes,
        seed=seed,
        source=splits.split_source,
    )


def rebuild_account(root: str | os.PathLike[str], batch: Minibatch, split_seed: int = 0) -> dict[str, Any]:
    """Return what :func:`minibatch_from_files` needs to rebuild ``batch`` from an image folder ``root``."""
    classes = sorted(p.name for p in (Path(root) / "train").iterdir() if p.is_dir())
    return {
        "files": image_folder_files(root, batch, split_seed),
        "classes": classes,
        "mean": list(batch.mean),
        "std": list(batch.std),
        "positions": [int(p) for p in batch.positions],
    }


def image_folder_files(root: str | os.PathLike[str], batch: Minibatch, split_seed: int = 0) -> list[str]:
    """Return the ``train/<class>/<file>`` path of each image of a minibatch drawn from an image folder.

    The folder's training images are numbered as the image-folder reader numbers them (class folders in sorted
    order, files sorted within each) and, for ``cifar10-valid``, split in halves by
    :func:`~nb201_env.training.splits.seeded_halves` with ``split_seed``. The paths let anyone rebuild the
    minibatch from the folder (or its tarball) alone; they are checked against the batch's pixels.
    """
    from PIL import Image

    from nb201_env.training.splits import seeded_halves

    train = Path(root) / "train"
    classes = sorted(p.name for p in train.iterdir() if p.is_dir())
    files = [
        (f"train/{name}/{path.name}", label)
        for label, name in enumerate(classes)
        for path in sorted((train / name).iterdir())
        if path.suffix.lower() in (".jpg", ".jpeg", ".png")
    ]
    order = np.arange(len(files))
    if batch.dataset == "cifar10-valid":
        order = seeded_halves(np.asarray([label for _, label in files]), split_seed)[0]
    names = [files[int(order[p])][0] for p in batch.positions]
    for name, pixels, label in zip(names, batch.images, batch.labels):
        with Image.open(Path(root) / name) as image:
            decoded = np.asarray(image.convert("RGB")).transpose(2, 0, 1)
        if not np.array_equal(decoded, pixels):
            raise ValueError(f"{name} does not hold the minibatch's image: was the batch drawn from {root}?")
        if classes[int(label)] != name.split("/")[1]:
            raise ValueError(f"{name} is not of the batch's class {classes[int(label)]!r}")
    return names


def minibatch_from_files(source: str | os.PathLike[str], account: dict[str, Any]) -> Minibatch:
    """Rebuild a table's minibatch from its image folder or that folder's ``.tar.gz``, reading only its files.

    ``account`` is the table manifest's ``extra.zero_cost.build.minibatch`` (with ``files``, ``classes``,
    ``mean``, ``std``); the rebuilt pixels are checked against its SHA-256.
    """
    import io
    import tarfile

    from PIL import Image

    names, classes = list(account["files"]), list(account["classes"])
    raw: dict[str, bytes] = {}
    path = Path(source)
    if path.is_dir():
        raw = {name: (path / name).read_bytes() for name in names}
    else:
        wanted = set(names)
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                parts = member.name.lstrip("./").split("/")
                key = "/".join(parts[parts.index("train") :]) if "train" in parts else ""
                if member.isfile() and key in wanted:
                    handle = tar.extractfile(member)
                    assert handle is not None
                    raw[key] = handle.read()
    missing = [n for n in names if n not in raw]
    if missing:
        raise ValueError(f"{source} lacks {len(missing)} of the minibatch's files, e.g. {missing[0]}")
    images = []
    for name in names:
        with Image.open(io.BytesIO(raw[name])) as image:
            images.append(np.asarray(image.convert("RGB")).transpose(2, 0, 1))
    labels = np.asarray([classes.index(name.split("/")[1]) for name in names], dtype=np.int64)
    batch = Minibatch(
        dataset=account["dataset"],
        images=np.ascontiguousarray(np.stack(images)),
        labels=labels,
        positions=np.asarray(account.get("positions", range(len(names))), dtype=np.int64),
        mean=tuple(account["mean"]),  # type: ignore[arg-type]
        std=tuple(account["std"]),  # type: ignore[arg-type]
        num_classes=len(classes),
        seed=int(account["seed"]),
        source=f"{source} (files named in the table's manifest)",
    )
    if batch.sha256 != account["sha256"]:
        raise ValueError(f"the images read from {source} differ from the table's minibatch (SHA-256 mismatch)")
    return batch
