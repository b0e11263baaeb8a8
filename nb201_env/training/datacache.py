"""The decoded-image cache: each image set decoded once per machine, then loaded with ``np.load``.

Entries are named by the decoded data's content (:func:`content_id`: SHA-256 of the arrays), so a folder
and its tarball, or two copies of one dataset, share one entry, and the content id doubles as the data's
identity in the training cache key. A small index maps a source's :meth:`DataSource.fingerprint` (paths,
sizes, modification times: no file is read) to its entry, so a cached load costs a few ``stat`` calls, a
small JSON file and ``np.load`` of the arrays. Entries and index files are written under temporary names
and renamed into place, so processes may share the cache (the env, ``build-table``, worker pools) and a
killed writer leaves no half-written entry. A cache that cannot be written (read-only home, full disk) is
logged and skipped: decoding still works.

Layout under the cache folder (default ``$XDG_CACHE_HOME/nb201_env/datasets``)::

    <content id>/{train,test}_{images,labels}.npy, meta.json
    index/<fingerprint>.json      {"content_id": ..., "source": ...}
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nb201_env.locate import cache_dir
from nb201_env.training.data import ImageSet
from nb201_env.training.sources import DataSource

log = logging.getLogger(__name__)
FORMAT = "nb201-decoded/1"
_PARTS = ("train_images", "train_labels", "test_images", "test_labels")


def default_data_cache() -> Path:
    """Return the default decoded-image cache folder: ``$XDG_CACHE_HOME/nb201_env/datasets``."""
    return cache_dir() / "datasets"


def content_id(train: ImageSet, test: ImageSet) -> str:
    """Return the identity of an image set's content: SHA-256 of its arrays, shapes and dtypes (20 hex digits)."""
    digest = hashlib.sha256(FORMAT.encode())
    for array in (train.images, train.labels, test.images, test.labels):
        array = np.ascontiguousarray(array)
        digest.update(f"\0{array.dtype.str}{array.shape}\0".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()[:20]


@dataclass(frozen=True)
class RawData:
    """One decoded image set: ``train`` and ``test`` as stored in the source, in source order."""

    train: ImageSet
    test: ImageSet
    classes: tuple[str, ...]
    content_id: str
    source: DataSource


class DecodedCache:
    """Read and write decoded image sets under ``folder`` (default :func:`default_data_cache`)."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(os.path.expanduser(os.fspath(folder))) if folder is not None else default_data_cache()

    def _index(self, source: DataSource) -> Path:
        return self.folder / "index" / f"{source.fingerprint()}.json"

    def load(self, source: DataSource) -> RawData | None:
        """Return the cached decode of ``source`` in its current state, or None."""
        try:
            index = json.loads(self._index(source).read_text())
            entry = self.folder / str(index["content_id"])
            meta = json.loads((entry / "meta.json").read_text())
            arrays = {part: np.load(entry / f"{part}.npy", allow_pickle=False) for part in _PARTS}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            return self._discard(source, f"damaged ({error})")
        shapes = {part: list(array.shape) for part, array in arrays.items()}
        if meta.get("format") != FORMAT or meta.get("shapes") != shapes:
            return self._discard(source, "damaged (its arrays do not match its meta.json)")
        train = ImageSet(arrays["train_images"], arrays["train_labels"])
        test = ImageSet(arrays["test_images"], arrays["test_labels"])
        return RawData(train, test, tuple(meta["classes"]), str(index["content_id"]), source)

    def _discard(self, source: DataSource, why: str) -> None:
        """Drop a source's damaged entry, so that it is decoded again and stored afresh."""
        log.warning("the decoded-image cache entry of %s is %s: decoding again", source.describe(), why)
        try:
            entry = json.loads(self._index(source).read_text()).get("content_id")
            if isinstance(entry, str) and entry and "/" not in entry and entry not in (".", ".."):
                shutil.rmtree(self.folder / entry, ignore_errors=True)
            self._index(source).unlink(missing_ok=True)
        except (OSError, ValueError, AttributeError):
            pass
        return None

    def save(self, raw: RawData) -> None:
        """Store a decoded image set and point its source's fingerprint at it (logged and skipped on failure)."""
        entry = self.folder / raw.content_id
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not (entry / "meta.json").is_file():
                scratch = Path(tempfile.mkdtemp(prefix=".partial-", dir=self.folder))
                try:
                    arrays = dict(zip(_PARTS, (raw.train.images, raw.train.labels, raw.test.images, raw.test.labels)))
                    for part, array in arrays.items():
                        np.save(scratch / f"{part}.npy", array, allow_pickle=False)
                    meta = {
                        "format": FORMAT,
                        "content_id": raw.content_id,
                        "classes": list(raw.classes),
                        "shapes": {part: list(array.shape) for part, array in arrays.items()},
                        "decoded_from": raw.source.describe(),
                    }
                    (scratch / "meta.json").write_text(json.dumps(meta, indent=1))
                    if entry.exists() and not (entry / "meta.json").is_file():
                        shutil.rmtree(entry)  # the remains of a damaged entry
                    try:
                        os.rename(scratch, entry)  # atomic; fails if another process stored it meanwhile
                    except OSError:
                        if not (entry / "meta.json").is_file():
                            raise
                finally:
                    shutil.rmtree(scratch, ignore_errors=True)
            index = self._index(raw.source)
            index.parent.mkdir(exist_ok=True)
            scratch_index = index.with_name(f".{index.name}.{os.getpid()}")
            scratch_index.write_text(json.dumps({"content_id": raw.content_id, "source": raw.source.describe()}))
            os.replace(scratch_index, index)
        except OSError as error:
            log.warning("could not cache the decoded images in %s (%s); they will be decoded again", self.folder, error)
