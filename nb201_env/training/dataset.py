"""Load one image set (CIFAR-10, CIFAR-100, ImageNet16-120) from any supported ``root``, decoding it once.

:func:`load_image_set` finds what ``root`` holds (:mod:`~nb201_env.training.sources`), returns the cached
decode when there is one (:mod:`~nb201_env.training.datacache`), and otherwise reads the official pickles
or decodes the images (:mod:`~nb201_env.training.images`), hashes the result into its content id and
caches it for every later process.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from nb201_env.names import NUM_CLASSES
from nb201_env.training.data import DatasetError, ImageSet, download_cifar, load_cifar_python, load_imagenet16
from nb201_env.training.datacache import DecodedCache, RawData, content_id
from nb201_env.training.images import count_images, decode_folder, decode_tarball
from nb201_env.training.progress import ProgressBar
from nb201_env.training.sources import DataSource, find_source

log = logging.getLogger(__name__)


def locate(base: str, root: str | os.PathLike[str], download: bool = False) -> DataSource:
    """Return the image set at ``root``, downloading CIFAR's python tarball into it first if asked and absent."""
    try:
        return find_source(base, root)
    except DatasetError:
        if not download or base == "ImageNet16-120":
            raise
    download_cifar(base, root)
    return find_source(base, root)


def _decode(source: DataSource, progress: bool, cached_in: str | None) -> tuple[ImageSet, ImageSet, tuple[str, ...]]:
    if source.kind == "cifar-python":
        log.info("reading %s", source.describe())
        train, test = load_cifar_python(source.base, source.path)
        return train, test, ()
    if source.kind == "imagenet16":
        log.info("reading %s", source.describe())
        train, test = load_imagenet16(source.path, 120)
        return train, test, ()
    total = count_images(source.path)
    once = f"once, cached in {cached_in}" if cached_in else "(data_cache is off)"
    log.info("decoding %s images of %s %s", total or "the", source.describe(), once)
    desc = f"decoding {source.path.name}" + (" (first use; cached after)" if cached_in else "")
    with ProgressBar(desc, "img", progress) as bar:
        update = lambda n: bar.advance(n, total)  # noqa: E731
        decode = decode_tarball if source.kind == "image-tarball" else decode_folder
        train, test, classes = decode(source.path, update)
    return train, test, tuple(classes)


def load_image_set(source: DataSource, cache: DecodedCache | None = None, progress: bool = False) -> RawData:
    """Return the decoded image set of ``source``: from ``cache`` when it holds it, else decoded and cached.

    Args:
        source: what :func:`locate` found.
        cache: the decoded-image cache (``None``: decode every time, cache nothing).
        progress: show a progress bar while decoding images.
    """
    if cache is not None:
        raw = cache.load(source)
        if raw is not None:
            log.info("loaded the decoded images of %s from %s", source.describe(), cache.folder)
            return raw
    train, test, classes = _decode(source, progress, str(cache.folder) if cache is not None else None)
    if classes and source.base in NUM_CLASSES and len(classes) != NUM_CLASSES[source.base]:
        expected = NUM_CLASSES[source.base]
        raise DatasetError(f"{source.path} has {len(classes)} class folders but {source.base} has {expected} classes")
    raw = RawData(train, test, classes, content_id(train, test), source)
    if cache is not None:
        cache.save(raw)
    return raw


def load_image_folder(
    root: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
) -> tuple[ImageSet, ImageSet, list[str]]:
    """Decode any image folder ``root/{train,test}/<class>/*`` (or its tarball): (train, test, class names).

    Cached in ``cache_dir`` when one is given; any number of classes.
    """
    path = Path(os.path.expanduser(os.fspath(root)))
    if path.is_file():
        source = DataSource("image-folder", "image-tarball", path)
    elif (path / "train").is_dir() and (path / "test").is_dir():
        source = DataSource("image-folder", "image-folder", path)
    else:
        raise DatasetError(
            f"no image folder at {path}: expected {path}/train/<class>/*.jpg|png and {path}/test/<class>/*.jpg|png"
        )
    raw = load_image_set(source, DecodedCache(cache_dir) if cache_dir is not None else None)
    return raw.train, raw.test, list(raw.classes)
