"""Read the official NB201 dataset files into uint8 arrays: CIFAR python pickles and ImageNet16.

- CIFAR-10/100 in the official python layout (the one torchvision downloads):
  ``cifar-10-batches-py/data_batch_1..5, test_batch`` and ``cifar-100-python/train, test``;
- ImageNet16-120 in the official downsampled format: ``train_data_batch_1..10`` and ``val_data``, each a
  pickle with ``data`` (uint8, N x 3072) and 1-based ``labels``; only labels 1..120 are kept, as officially.

Each is read into an :class:`ImageSet` (``uint8 (N, 3, H, W)`` + labels), in the official order. The pickles
are read with a restricted unpickler that only resolves the numpy globals an array needs, so a tampered file
cannot run code. Image folders are decoded by :mod:`~nb201_env.training.images`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tarfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

log = logging.getLogger(__name__)

CIFAR_DIRS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
CIFAR_FILES = {
    "cifar10": ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"]),
    "cifar100": (["train"], ["test"]),
}
CIFAR_URLS = {
    "cifar10": ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),
    "cifar100": ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85"),
}
IMAGENET16_FILES = ([f"train_data_batch_{i}" for i in range(1, 11)], ["val_data"])


class DatasetError(FileNotFoundError):
    """A dataset is missing or malformed; the message says what was expected where."""


@dataclass(frozen=True)
class ImageSet:
    """Images as ``uint8 (N, 3, H, W)`` with ``int64 (N,)`` labels in ``0..num_classes-1``."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[1] != 3 or self.images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 (N, 3, H, W), got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"labels must have shape ({len(self.images)},), got {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices: np.ndarray) -> ImageSet:
        """Return the images at these positions."""
        return ImageSet(self.images[indices], self.labels[indices])


def _numpy_reconstruct() -> Any:
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return _reconstruct


# What a pickled ndarray needs (numpy 1.x and 2.x spellings); nothing here can run arbitrary code.
_ARRAY_GLOBALS: dict[tuple[str, str], Callable[[], Any]] = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
}

try:  # reuse the project's allowlist unpickler (numpy scalars, _codecs.encode) when it is installed
    from nb201_env.importers.safe_unpickle import RestrictedUnpickler as _BaseUnpickler
except ImportError:  # pragma: no cover - the importers package is absent
    _BaseUnpickler = pickle.Unpickler  # type: ignore[assignment,misc]


class _ArrayUnpickler(_BaseUnpickler):
    """Resolve only the globals of a pickled dict of numpy arrays and lists."""

    def find_class(self, module: str, name: str) -> Any:
        factory = _ARRAY_GLOBALS.get((module, name))
        if factory is not None:
            return factory()
        if _BaseUnpickler is not pickle.Unpickler:
            return super().find_class(module, name)  # raises UnsafePickleError for anything else
        if (module, name) == ("_codecs", "encode"):
            import codecs

            return codecs.encode
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}: a dataset file only holds arrays")


def load_pickle(path: Path) -> dict[str, Any]:
    """Load one dataset pickle (a dict of arrays/lists) with the restricted unpickler."""
    try:
        with open(path, "rb") as handle:
            data = _ArrayUnpickler(handle, encoding="latin1").load()
    except FileNotFoundError:
        raise
    except Exception as error:
        raise DatasetError(f"{path} is not a readable dataset pickle: {error}") from error
    if not isinstance(data, dict):
        raise DatasetError(f"{path} should hold a dict with 'data' and labels, got {type(data).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in data.items()}


def _rows_to_images(path: Path, data: Any, side: int) -> np.ndarray:
    array = np.asarray(data)
    if array.dtype != np.uint8 or array.ndim != 2 or array.shape[1] != 3 * side * side:
        raise DatasetError(
            f"{path}: 'data' should be uint8 of shape (N, {3 * side * side}), got {array.dtype} {array.shape}"
        )
    return array.reshape(-1, 3, side, side)


def _read_batches(folder: Path, names: list[str], label_key: str, side: int) -> ImageSet:
    images, labels = [], []
    for name in names:
        path = folder / name
        record = load_pickle(path)
        if "data" not in record or label_key not in record:
            raise DatasetError(f"{path} should hold keys 'data' and {label_key!r}, found {sorted(record)}")
        images.append(_rows_to_images(path, record["data"], side))
        labels.append(np.asarray(record[label_key], dtype=np.int64))
        if len(labels[-1]) != len(images[-1]):
            raise DatasetError(f"{path}: {len(images[-1])} images but {len(labels[-1])} labels")
    return ImageSet(np.concatenate(images), np.concatenate(labels))


def _missing(folder: Path, names: list[str]) -> list[str]:
    return [n for n in names if not (folder / n).is_file()]


def find_cifar_python(name: str, root: Path) -> Path | None:
    """Return the folder of the official python CIFAR files under ``root`` (or ``root`` itself), if any."""
    for folder in (root / CIFAR_DIRS[name], root):
        train, test = CIFAR_FILES[name]
        if not _missing(folder, train + test):
            return folder
    return None


def load_cifar_python(name: str, root: str | os.PathLike[str]) -> tuple[ImageSet, ImageSet]:
    """Read CIFAR-10 or CIFAR-100 (``name`` = ``cifar10``/``cifar100``) in the python layout: (train, test)."""
    root = Path(root)
    folder = find_cifar_python(name, root)
    train, test = CIFAR_FILES[name]
    if folder is None:
        expected = root / CIFAR_DIRS[name]
        raise DatasetError(
            f"{name} python files not found: expected {expected}/{{{','.join(train + test)}}} "
            f"(missing {_missing(expected, train + test)}); download {CIFAR_URLS[name][0]} and extract it in {root}"
        )
    label_key = "labels" if name == "cifar10" else "fine_labels"
    return _read_batches(folder, train, label_key, 32), _read_batches(folder, test, label_key, 32)


def load_imagenet16(root: str | os.PathLike[str], num_classes: int = 120) -> tuple[ImageSet, ImageSet]:
    """Read ImageNet16 in the official downsampled format and keep classes ``1..num_classes``: (train, val)."""
    root = Path(root)
    train, test = IMAGENET16_FILES
    candidates = [root, root / "ImageNet16"]
    folder = next((f for f in candidates if not _missing(f, train + test)), None)
    if folder is None:
        raise DatasetError(
            f"ImageNet16 files not found: expected {root}/{{{','.join(train + test)}}} (or under {root}/ImageNet16); "
            f"missing {_missing(root, train + test)}"
        )
    sets = []
    for names in (train, test):
        full = _read_batches(folder, names, "labels", 16)
        keep = (full.labels >= 1) & (full.labels <= num_classes)  # official labels are 1-based
        sets.append(ImageSet(full.images[keep], full.labels[keep] - 1))
    return sets[0], sets[1]


def download_cifar(name: str, root: str | os.PathLike[str]) -> Path:
    """Download and extract the official python CIFAR tarball into ``root`` (needs a network); return its folder."""
    url, md5 = CIFAR_URLS[name]
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    archive = root / url.rsplit("/", 1)[1]
    if not archive.is_file():
        log.info("downloading %s to %s", url, archive)
        urllib.request.urlretrieve(url, archive)  # a fixed https URL
    with open(archive, "rb") as handle:
        if _md5(handle) != md5:
            raise DatasetError(f"{archive} has the wrong checksum (expected md5 {md5}); delete it and retry")
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(root, filter="data")  # the "data" filter refuses absolute paths and links out of root
    return root / CIFAR_DIRS[name]


def _md5(handle: BinaryIO) -> str:
    digest = hashlib.md5()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()
