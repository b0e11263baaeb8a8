"""Fixtures of the importer tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from importer_helpers import sample_dir


@pytest.fixture(scope="session")
def real_sample() -> Path:
    """The real 3-arch NATS-Bench sample; skip when ../shared is absent."""
    folder = sample_dir()
    if not (folder / "meta.pickle.pbz2").is_file():
        pytest.skip(f"real NATS-Bench sample not found at {folder} (set NB201_SHARED to the shared/ folder)")
    return folder
