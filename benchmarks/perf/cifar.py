"""Where the timing scripts find CIFAR-10: the shared JPEG tarball, and a folder extracted from it once."""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

from benchmarks.common import shared_root


def tarball() -> Path:
    """Return the shared CIFAR-10 JPEG tarball (``$NB201_SHARED/datasets/cifar10-jpg.tar.gz``)."""
    path = shared_root() / "datasets" / "cifar10-jpg.tar.gz"
    if not path.is_file():
        raise SystemExit(f"CIFAR-10 JPEG tarball not found at {path}: set NB201_SHARED to the shared/ folder")
    return path


def folder() -> Path:
    """Return the tarball extracted under the temp dir (extracted on first use)."""
    out = Path(tempfile.gettempdir()) / "nb201_env_cifar10_jpg"
    if not (out / ".complete").is_file():
        with tarfile.open(tarball(), "r:gz") as tar:
            tar.extractall(out, filter="data")
        (out / ".complete").touch()
    return out
