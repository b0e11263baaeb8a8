"""Shared test fixtures: the bundled real-figures store (contracts), and ``../shared`` with a store built once
from its CSV tables (exact figures)."""

from __future__ import annotations

import bz2
import pickle
from pathlib import Path

import pytest

from shared_data import shared_root


@pytest.fixture(scope="session")
def shared_nb201() -> Path:
    """The folder of real NB201 CSV tables; skip when it is absent."""
    folder = shared_root() / "nb201"
    if not (folder / "nb201_hp12_final_accuracy.csv").is_file():
        pytest.skip(f"real NB201 figures not found at {folder} (set NB201_SHARED to the shared/ folder)")
    return folder


@pytest.fixture(scope="session")
def official_meta_archs() -> list[str]:
    """The official ``meta_archs`` list from the real NATS-Bench sample (read with the safe unpickler)."""
    path = shared_root() / "nb201" / "nats-tss-sample" / "NATS-tss-v1_0-3ffb9-simple" / "meta.pickle.pbz2"
    if not path.is_file():
        pytest.skip(f"official meta.pickle.pbz2 not found at {path} (set NB201_SHARED)")

    class MetaOnly(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> object:  # the meta file needs no globals
            raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    import io

    return MetaOnly(io.BytesIO(bz2.decompress(path.read_bytes()))).load()["meta_archs"]


@pytest.fixture(scope="session")
def shared_store(shared_nb201: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store converted from the real figures in ``shared/nb201`` (built once per session)."""
    from nb201_env.importers.shared_figures import build_shared_store

    return build_shared_store(shared_nb201, tmp_path_factory.mktemp("stores") / "public.store")


@pytest.fixture(scope="session")
def shared_bench(shared_store: Path):
    from nb201_env.benchmark import Benchmark

    return Benchmark.open(shared_store)


@pytest.fixture(scope="session")
def public_store() -> Path:
    """The bundled ``nb201-public`` store: NB201's real figures, shipped with the package (no ../shared needed)."""
    from nb201_env.locate import bundled_store_path

    return bundled_store_path("nb201-public")


@pytest.fixture(scope="session")
def public_bench(public_store: Path):
    from nb201_env.benchmark import Benchmark

    return Benchmark.open(public_store)
