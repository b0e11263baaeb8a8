"""Fixtures of the training tests: a small real CIFAR-10 subset (JPEG) and tiny prepared splits."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from training_helpers import shared_dataset

REPO = Path(__file__).resolve().parents[2]
PER_CLASS = {"train": 60, "test": 20}


@pytest.fixture(scope="session", autouse=True)
def private_cache_home(tmp_path_factory: pytest.TempPathFactory):
    """Keep the decoded-image cache (``$XDG_CACHE_HOME/nb201_env/datasets``) out of the user's home."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield Path(os.environ["XDG_CACHE_HOME"])
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(scope="session")
def cifar_jpg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real image-folder subset of CIFAR-10 (60 train / 20 test JPEGs per class); skip without ../shared."""
    archive = shared_dataset()
    if not archive.is_file():
        pytest.skip(f"CIFAR-10 JPEG tarball not found at {archive} (set NB201_SHARED to the shared/ folder)")
    out = tmp_path_factory.mktemp("cifar10-jpg")
    counts: dict[tuple[str, str], int] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = Path(member.name).parts[-3:]  # (split, class, file), with or without a leading "./"
            if not member.isfile() or len(parts) != 3 or parts[0] not in PER_CLASS:
                continue
            key = (parts[0], parts[1])
            if counts.get(key, 0) >= PER_CLASS[parts[0]]:
                continue
            counts[key] = counts.get(key, 0) + 1
            target = out.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
    return out


@pytest.fixture(scope="session")
def cifar_tgz(cifar_jpg: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same subset as a ``.tar.gz`` of the folder (members ``./train/<class>/...``, like the shared copy)."""
    path = tmp_path_factory.mktemp("cifar10-tgz") / "cifar10-jpg.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(cifar_jpg, arcname=".")
    return path


@pytest.fixture(scope="session")
def tiny_recipe():
    """A recipe that trains in well under a second: 16 px, C=4, N=1, 2 epochs."""
    from nb201_env.training.recipe import Recipe

    return Recipe(epochs=2, batch_size=64, channels=4, cells_per_stage=1, resolution=16, crop_padding=2)


@pytest.fixture(scope="session")
def tiny_splits(cifar_jpg: Path, tiny_recipe):
    """``cifar10-valid`` splits of the real subset (300 train / 300 valid / 200 test), prepared for the recipe."""
    from nb201_env.training.splits import load_splits, prepare

    return prepare(load_splits("cifar10-valid", cifar_jpg), tiny_recipe)
