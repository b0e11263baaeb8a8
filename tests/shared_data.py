"""Where the shared data lives, for tests: ``$NB201_SHARED`` or ``../shared`` beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_root() -> Path:
    """Return the shared data folder: ``$NB201_SHARED`` or ``../shared`` beside the repo."""
    return Path(os.environ.get("NB201_SHARED", REPO.parent / "shared"))
