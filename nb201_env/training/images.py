"""Decode an image folder (or a tarball of one) into ``uint8 (N, 3, H, W)`` arrays, using every free core.

Classes are numbered in sorted folder order, as torchvision's ``ImageFolder`` does, and images are taken in
sorted file-name order within each class, whether they come from a folder or a tarball: both give the same
arrays. Baseline JPEGs with three components (all of CIFAR-10's JPEG copy) are decoded straight from their
bytes by Pillow's JPEG decoder, skipping ``Image.open``'s Python marker parsing; the header is read by a
few lines here. Every other image (PNG, grey or CMYK JPEG) goes through ``Image.open(...).convert("RGB")``.
Decoding runs in threads over contiguous chunks (Pillow's decoders release the GIL) and writes into one
preallocated array.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from nb201_env.training.data import DatasetError, ImageSet
from nb201_env.training.sources import tar_member_parts
from nb201_env.training.tarball import TarError, load_archive, regular_files

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SPLITS = ("train", "test")
Progress = Callable[[int], None]
"""Called with the number of images just decoded."""

# start-of-frame markers of the JPEG processes Pillow's decoder reads (not DHT 0xC4, JPG 0xC8, DAC 0xCC)
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_header(data: bytes) -> tuple[int, int, int] | None:
    """Return (height, width, components) from a JPEG's start-of-frame marker, or None if it is not a JPEG."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in _SOF:
            if pos + 10 > len(data):
                return None
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return height, width, data[pos + 9]
        if marker == 0xDA:  # start of scan before any frame header: malformed
            return None
        pos += 2 + length
    return None


def decode_image(data: bytes, name: str) -> np.ndarray:
    """Decode one image file's bytes into ``uint8 (H, W, 3)``."""
    from PIL import Image  # Pillow is part of the [train] extra

    header = jpeg_header(data)
    try:
        if header is not None and header[2] == 3:
            height, width, _ = header
            # the decoder and arguments Image.open would use for a 3-component JPEG, without its Python parsing
            image = Image.frombytes("RGB", (width, height), data, "jpeg", "RGB", "")
            return np.asarray(image)
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError, SyntaxError) as error:  # Pillow's UnidentifiedImageError is an OSError
        raise DatasetError(f"cannot decode image {name}: {error}") from error


def _read(blob: bytes | Path) -> bytes:
    return blob.read_bytes() if isinstance(blob, Path) else blob


def decode_all(
    blobs: Sequence[bytes | Path], names: Sequence[str], workers: int | None = None, progress: Progress | None = None
) -> np.ndarray:
    """Decode images (their bytes or their paths) into ``uint8 (N, 3, H, W)``; they must all have one size."""
    if not blobs:
        raise DatasetError("no images to decode")
    first = decode_image(_read(blobs[0]), names[0])
    out = np.empty((len(blobs), *first.shape), dtype=np.uint8)
    out[0] = first

    def decode_range(start: int, stop: int) -> None:
        for i in range(start, stop):
            array = decode_image(_read(blobs[i]), names[i])
            if array.shape != first.shape:
                shapes = sorted({first.shape, array.shape})
                raise DatasetError(f"images must all have one size, found {shapes} (e.g. {names[0]} and {names[i]})")
            out[i] = array
        if progress is not None:
            progress(stop - start)

    workers = max(1, workers or free_cores())
    bounds = np.linspace(1, len(blobs), min(len(blobs) - 1, 8 * workers) + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:  # contiguous chunks: a few futures, not one per image
        for future in [pool.submit(decode_range, int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]:
            future.result()
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def free_cores() -> int:
    """Return the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def list_folder(root: Path) -> tuple[list[str], dict[str, list[tuple[Path, int]]]]:
    """Return (classes, split -> [(image path, label)]) of an image folder, in the documented order."""
    classes = sorted(p.name for p in (root / "train").iterdir() if p.is_dir())
    listing: dict[str, list[tuple[Path, int]]] = {}
    for split in SPLITS:
        found = sorted(p.name for p in (root / split).iterdir() if p.is_dir())
        if found != classes:
            raise DatasetError(f"{root}/{split} has class folders {found}, but {root}/train has {classes}")
        listing[split] = [
            (root / split / name / file, label)
            for label, name in enumerate(classes)
            for file in sorted(os.listdir(root / split / name))
            if _is_image(file)
        ]
        if not listing[split]:
            raise DatasetError(f"{root}/{split} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return classes, listing


def read_tarball(path: Path) -> tuple[list[str], dict[str, list[tuple[str, int, bytes]]]]:
    """Return (classes, split -> [(member name, label, bytes)]) of an image folder's tarball, in folder order."""
    members: dict[str, dict[str, list[tuple[str, str, bytes]]]] = {split: {} for split in SPLITS}
    try:
        for name, data in regular_files(load_archive(path)):
            parts = tar_member_parts(name)
            if parts is not None and _is_image(parts[2]):  # READMEs and the like are skipped; links never followed
                members[parts[0]].setdefault(parts[1], []).append((parts[2], name, data))
    except (TarError, OSError) as error:
        raise DatasetError(f"cannot read the tarball {path}: {error}") from error
    classes = sorted(members["train"])
    if not classes:
        raise DatasetError(f"{path} holds no images under train/<class>/ (expected train/ and test/ class folders)")
    if sorted(members["test"]) != classes:
        raise DatasetError(f"{path}: test/ has class folders {sorted(members['test'])}, but train/ has {classes}")
    listing = {
        split: [(name, label, data) for label, c in enumerate(classes) for _, name, data in sorted(members[split][c])]
        for split in SPLITS
    }
    return classes, listing


def decode_folder(root: Path, progress: Progress | None = None) -> tuple[ImageSet, ImageSet, list[str]]:
    """Decode an image folder: (train, test, class names)."""
    classes, listing = list_folder(root)
    sets = []
    for split in SPLITS:
        paths = [path for path, _ in listing[split]]
        images = decode_all(paths, [str(p) for p in paths], progress=progress)
        sets.append(ImageSet(images, np.asarray([label for _, label in listing[split]], dtype=np.int64)))
    return sets[0], sets[1], classes


def decode_tarball(path: Path, progress: Progress | None = None) -> tuple[ImageSet, ImageSet, list[str]]:
    """Decode an image folder's tarball in place (nothing is extracted): (train, test, class names)."""
    classes, listing = read_tarball(path)
    sets = []
    for split in SPLITS:
        names = [f"{path}:{name}" for name, _, _ in listing[split]]
        images = decode_all([data for _, _, data in listing[split]], names, progress=progress)
        sets.append(ImageSet(images, np.asarray([label for _, label, _ in listing[split]], dtype=np.int64)))
    return sets[0], sets[1], classes


def count_images(root: Path) -> int | None:
    """Return how many images an image folder holds (None for a tarball: unknown until read)."""
    if root.is_file():
        return None
    folders = [d for split in SPLITS for d in (root / split).iterdir() if d.is_dir()]
    return sum(sum(1 for f in os.listdir(d) if _is_image(f)) for d in folders)
