"""Helpers of the training tests (a module of its own: several test folders have a conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def shared_dataset() -> Path:
    """Return the shared CIFAR-10 JPEG tarball under ``$NB201_SHARED`` or ``../shared``."""
    root = Path(os.environ.get("NB201_SHARED", REPO.parent / "shared"))
    return root / "datasets" / "cifar10-jpg.tar.gz"


def only_key(cache):
    """Return the one key a cache holds runs under (tests that build a cache through a table or a pool)."""
    keys = cache.run_keys()
    assert len(keys) == 1, f"expected runs under one key, found {keys}"
    return keys[0][0]
