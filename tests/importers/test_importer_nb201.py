"""convert_nb201_pth on legacy torch.save fixtures: values, seed subsets, and refused files."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from importer_helpers import assert_absent, check_arch

from nb201_env.importers import CorruptSourceError, SourceFormatError, UnsafePickleError
from nb201_env.importers.nb201_pth import HPS, convert_nb201_pth
from nb201_env.store import RecordKey, Store
from nb201_env.testing import official_files as fixtures

INDICES = [0, 1, 2, 3, 4, 5, 6, 284, 7000, 15624]


@pytest.mark.parametrize("version", ["v1_0", "v1_1"])
def test_every_fixture_value_is_stored(tmp_path: Path, version: str) -> None:
    indices = INDICES if version == "v1_1" else INDICES[:3]
    path = tmp_path / fixtures.NB201_FILE_NAMES[version]
    root = fixtures.write_nb201_pth(path, indices, np.random.default_rng(11), version)
    done: list[int] = []
    store = Store(convert_nb201_pth(path, tmp_path / "store", progress=lambda d, t: done.append(d)))
    assert done == list(range(1, len(indices) + 1))
    for index in indices:
        expected = fixtures.nb201_arch(index, root)
        assert check_arch(store, index, expected, HPS) > 5_000
    assert_absent(store, set(indices))
    runs = store.manifest.extra["runs"]["200"]["cifar10"]
    assert sum(runs.values()) == sum(
        len(fixtures.nb201_arch(i, root)["full"]["dataset_seed"]["cifar10"]) for i in indices
    )
    assert store.manifest.sources["nb201"].citation.startswith("Xuanyi Dong and Yi Yang")
    assert store.manifest.extra["source_format"] == "NB201 legacy torch .pth"


def test_refuses_zip_and_foreign_files(tmp_path: Path) -> None:
    path = tmp_path / "new.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({}))
    with pytest.raises(SourceFormatError, match="new.pth is a zip-format torch file"):
        convert_nb201_pth(path, tmp_path / "out")
    path.write_bytes(pickle.dumps(5, 4))
    with pytest.raises(SourceFormatError, match=r"does not start with a protocol-2 pickle \(got b'\\x80\\x04"):
        convert_nb201_pth(path, tmp_path / "out")
    path.write_bytes(pickle.dumps(123, 2))
    with pytest.raises(SourceFormatError, match="torch magic number is 123"):
        convert_nb201_pth(path, tmp_path / "out")
    path.write_bytes(pickle.dumps(fixtures.TORCH_MAGIC, 2) + pickle.dumps(1000, 2))
    with pytest.raises(SourceFormatError, match="torch protocol version is 1000, expected 1001"):
        convert_nb201_pth(path, tmp_path / "out")
    path.write_bytes(
        pickle.dumps(fixtures.TORCH_MAGIC, 2) + pickle.dumps(1001, 2) + pickle.dumps({"little_endian": 0}, 2)
    )
    with pytest.raises(
        SourceFormatError, match=r"sys_info is \{'little_endian': 0\}; expected a dict with little_endian"
    ):
        convert_nb201_pth(path, tmp_path / "out")
    path.write_bytes(pickle.dumps(fixtures.TORCH_MAGIC, 2)[:-4])
    with pytest.raises(CorruptSourceError, match="cannot read the magic number"):
        convert_nb201_pth(path, tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        convert_nb201_pth(tmp_path / "missing.pth", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _pth(tmp_path: Path, indices: list[int]) -> Path:
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    fixtures.write_nb201_pth(path, indices, np.random.default_rng(0))
    return path


def test_truncated_file_keeps_existing_store(tmp_path: Path) -> None:
    path = _pth(tmp_path, [1, 2])
    out = convert_nb201_pth(path, tmp_path / "store")
    before = Store(out).record(RecordKey("cifar10", "train", "accuracy", 200))[1].copy()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        CorruptSourceError,
        match=r"NAS-Bench-201-v1_1-096897\.pth \(main object\): the pickle is "
        "truncated",
    ):
        convert_nb201_pth(path, out, overwrite=True)
    path.write_bytes(data[:-3])
    with pytest.raises(CorruptSourceError, match="cannot read the storage keys"):
        convert_nb201_pth(path, out, overwrite=True)
    after = Store(out, verify="full").record(RecordKey("cifar10", "train", "accuracy", 200))[1]
    np.testing.assert_array_equal(before, after)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["NAS-Bench-201-v1_1-096897.pth", "store"]


def test_tensor_storages_and_unsafe_globals(tmp_path: Path) -> None:
    path = _pth(tmp_path, [1])
    data = path.read_bytes()
    tail = pickle.dumps([], 2)
    assert data.endswith(tail)
    path.write_bytes(data[: -len(tail)] + pickle.dumps(["0"], 2))
    with pytest.raises(SourceFormatError, match=r"holds tensor storages \(\['0'\]\)"):
        convert_nb201_pth(path, tmp_path / "out")
    buf = io.BytesIO()
    for obj in (fixtures.TORCH_MAGIC, 1001):
        buf.write(pickle.dumps(obj, 2))
    buf.write(pickle.dumps({"little_endian": True, "x": np.random.default_rng(0)}, 2))
    path.write_bytes(buf.getvalue())
    with pytest.raises(UnsafePickleError, match=r"\(sys_info\): refusing to load global"):
        convert_nb201_pth(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
