"""Find out what a dataset ``root`` holds, cheaply, and say what was expected when it holds nothing usable.

A ``root`` is one of:

- an image folder ``root/{train,test}/<class>/*.jpg|png`` (e.g. the JPEG copy of CIFAR-10), or a ``.tar.gz``
  / ``.tgz`` / ``.tar`` of one (read in place, never extracted);
- CIFAR-10/100 in torchvision's python layout: ``root/cifar-10-batches-py/{data_batch_1..5,test_batch}``,
  ``root/cifar-100-python/{train,test}`` (or ``root`` being that folder itself);
- ImageNet16-120 in the official downsampled format: ``root/{train_data_batch_1..10,val_data}`` (or under
  ``root/ImageNet16``).

:func:`find_source` only lists a few folders (or reads a tarball's first headers): it runs when an
evaluator or environment is built, so a wrong ``root`` fails there, not at the first training. Its
:meth:`DataSource.fingerprint` (paths, sizes and modification times, never file contents) names the source
in the decoded-data cache index.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nb201_env.names import NUM_CLASSES
from nb201_env.training.data import CIFAR_DIRS, CIFAR_FILES, CIFAR_URLS, IMAGENET16_FILES, DatasetError

SourceKind = Literal["image-folder", "image-tarball", "cifar-python", "imagenet16"]
TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar")
BASES = ("cifar10", "cifar100", "ImageNet16-120")
"""The three image sets behind the NB201 datasets (``cifar10-valid`` is a split of ``cifar10``)."""


@dataclass(frozen=True)
class DataSource:
    """Where one image set is and in which layout."""

    base: str
    """``cifar10``, ``cifar100`` or ``ImageNet16-120``."""
    kind: SourceKind
    path: Path
    """The image folder, the tarball, or the folder holding the official files."""
    files: tuple[str, ...] = ()
    """The official files' names (python layouts), in reading order."""

    @property
    def official_order(self) -> bool:
        """Whether the images come in the official order (the one NB201's split files index)."""
        return self.kind in ("cifar-python", "imagenet16")

    def describe(self) -> str:
        """Say what this is in a few words (recorded with every run)."""
        what = {
            "image-folder": "image folder",
            "image-tarball": "image folder tarball",
            "cifar-python": "python pickles",
            "imagenet16": "ImageNet16 pickles",
        }
        return f"{what[self.kind]} {self.path}"

    def fingerprint(self) -> str:
        """Return a cheap name for this source's current state: its paths, sizes and modification times.

        For an image folder it covers the ``train``/``test`` folders and their class folders (adding, removing
        or renaming an image changes it; rewriting an image in place does not: clear the data cache then).
        """
        digest = hashlib.sha256(f"{self.base}\0{self.kind}\0{self.path.resolve()}".encode())
        if self.kind == "image-folder":
            paths = [self.path / split for split in ("train", "test")]
            paths += [p for split in paths for p in sorted(split.iterdir()) if p.is_dir()]
        elif self.kind == "image-tarball":
            paths = [self.path]
        else:
            paths = [self.path / name for name in self.files]
        for path in paths:
            stat = path.stat()
            digest.update(f"\0{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
        return digest.hexdigest()[:24]


def is_tarball(path: Path) -> bool:
    """Return whether ``path`` is named like a tarball this package reads."""
    return path.name.lower().endswith(TARBALL_SUFFIXES)


def tar_member_parts(name: str) -> tuple[str, str, str] | None:
    """Return ``(split, class, file)`` of a tarball member ``[./][top/]{train,test}/<class>/<file>``, else None."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if len(parts) == 4 and parts[1] in ("train", "test"):  # a tarball of the folder itself: top/train/...
        parts = parts[1:]
    if len(parts) != 3 or parts[0] not in ("train", "test"):
        return None
    return parts[0], parts[1], parts[2]


def _peek_tarball(path: Path, base: str) -> None:
    """Check that a tarball opens and that one of its first members is an image under train/ or test/."""
    expected = f"{path} should be a tarball of an image folder: members train/<class>/*.jpg|png and test/<class>/..."
    try:
        with tarfile.open(path, "r:*") as tar:
            for count, member in enumerate(tar):
                if member.isfile() and tar_member_parts(member.name) is not None:
                    return
                if count > 200:  # an image folder's tarball shows an image among its first members
                    break
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DatasetError(f"{path} is not a readable tarball ({error}); {expected}") from error
    hint = ""
    if base != "ImageNet16-120":
        hint = f" (for {base}'s python tarball {CIFAR_URLS[base][0].rsplit('/', 1)[1]}, extract it and pass the folder)"
    raise DatasetError(f"{expected}; none found among its first members{hint}")


def _missing(folder: Path, names: list[str]) -> list[str]:
    return [n for n in names if not (folder / n).is_file()]


def _python_source(base: str, root: Path) -> DataSource | None:
    if base == "ImageNet16-120":
        train, test = IMAGENET16_FILES
        folders = [root, root / "ImageNet16"]
        kind: SourceKind = "imagenet16"
    else:
        train, test = CIFAR_FILES[base]
        folders = [root / CIFAR_DIRS[base], root]
        kind = "cifar-python"
    for folder in folders:
        if folder.is_dir() and not _missing(folder, train + test):
            return DataSource(base, kind, folder, tuple(train + test))
    return None


def _check_classes(root: Path, base: str) -> None:
    classes = {split: sorted(p.name for p in (root / split).iterdir() if p.is_dir()) for split in ("train", "test")}
    if not classes["train"]:
        raise DatasetError(f"{root}/train has no class folders: expected {root}/train/<class>/*.jpg|png")
    if classes["test"] != classes["train"]:
        raise DatasetError(f"{root}/test has class folders {classes['test']}, but {root}/train has {classes['train']}")
    if len(classes["train"]) != NUM_CLASSES[base]:
        raise DatasetError(
            f"{root} has {len(classes['train'])} class folders but {base} has {NUM_CLASSES[base]} classes"
        )


def expected_layouts(base: str, root: Path) -> str:
    """Say which layouts ``root`` may hold for this image set."""
    folder = f"an image folder {root}/train/<class>/*.jpg|png and {root}/test/<class>/*.jpg|png (or a .tar.gz of it)"
    if base == "ImageNet16-120":
        return f"{folder}, or ImageNet16's official files {root}/train_data_batch_1..10 and {root}/val_data"
    train, test = CIFAR_FILES[base]
    return f"{folder}, or torchvision's python layout {root}/{CIFAR_DIRS[base]}/{{{','.join(train + test)}}}"


def find_source(base: str, root: str | os.PathLike[str]) -> DataSource:
    """Return the image set ``base`` found at ``root``, or raise :class:`DatasetError` naming what was expected."""
    if base not in BASES:
        raise ValueError(f"unknown image set {base!r}; valid ones are {list(BASES)}")
    root = Path(os.path.expanduser(os.fspath(root)))
    if root.is_file():
        if not is_tarball(root):
            raise DatasetError(
                f"{root} is a file but not a tarball ({', '.join(TARBALL_SUFFIXES)}); expected "
                + (expected_layouts(base, root))
            )
        _peek_tarball(root, base)
        return DataSource(base, "image-tarball", root)
    if not root.is_dir():
        raise DatasetError(f"dataset root {root} does not exist: expected {expected_layouts(base, root)}")
    found = _python_source(base, root)
    if found is not None:
        return found
    if (root / "train").is_dir() and (root / "test").is_dir():
        _check_classes(root, base)
        return DataSource(base, "image-folder", root)
    raise DatasetError(f"no {base} data under {root}: expected {expected_layouts(base, root)}")
