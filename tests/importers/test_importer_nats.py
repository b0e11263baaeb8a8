"""convert_nats on fixtures in all three official layouts and on the real 3-arch sample."""

from __future__ import annotations

import bz2
import io
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from importer_helpers import SAMPLE_INDICES, assert_absent, check_arch

from nb201_env import complexity
from nb201_env.importers import CorruptSourceError, SourceFormatError, UnsafePickleError
from nb201_env.importers.nats import HPS, convert_nats, load_member
from nb201_env.importers.official import OFFICIAL_LAYOUT
from nb201_env.importers.safe_unpickle import safe_loads
from nb201_env.store import RecordKey, StatKey, Store, StoreError
from nb201_env.testing import official_files as fixtures

DIR_INDICES = [0, 1, 2, 11, 284, 999, 4000, 15624]
TAR_INDICES = [3, 17, 15000]
SINGLE_INDICES = [5, 6, 7, 123, 9999]


class Malicious:
    """Pickles as a call of os.system: what a tampered file would do."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, ("echo pwned",))


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Store, int, list[int]]]:
    """Convert one fixture per layout (each conversion costs seconds: the store arrays are large)."""
    base = tmp_path_factory.mktemp("nats")
    folder = base / fixtures.NATS_DIR_NAME
    root_dir = fixtures.write_nats_dir(folder, DIR_INDICES, np.random.default_rng(1))
    (folder / "000011.pickle.pbz2").rename(folder / "11.pickle.pbz2")  # the API also reads '{index:d}'
    root_tar = fixtures.write_nats_tar(base / "simple.tar", TAR_INDICES, np.random.default_rng(2))
    root_single = fixtures.write_nats_single_file(
        base / fixtures.NATS_FILE_NAME, SINGLE_INDICES, np.random.default_rng(3)
    )
    seen: list[tuple[int, int]] = []
    out = {
        "dir": (
            Store(convert_nats(folder, base / "s-dir", progress=lambda d, t: seen.append((d, t)))),
            root_dir,
            DIR_INDICES,
        ),
        "tar": (Store(convert_nats(base / "simple.tar", base / "s-tar")), root_tar, TAR_INDICES),
        "single": (Store(convert_nats(base / fixtures.NATS_FILE_NAME, base / "s-single")), root_single, SINGLE_INDICES),
    }
    assert seen == [(i, len(DIR_INDICES)) for i in range(1, len(DIR_INDICES) + 1)]
    return out


@pytest.mark.parametrize("layout", ["dir", "tar", "single"])
def test_every_fixture_value_is_stored(converted: dict, layout: str) -> None:
    store, root, indices = converted[layout]
    checked = sum(check_arch(store, i, fixtures.nats_arch(i, root), HPS) for i in indices)
    assert checked > 10_000 * len(indices)
    assert_absent(store, set(indices))
    extra = store.manifest.extra
    assert extra["archs_present"]["count"] == len(indices)
    assert [i for a, b in extra["archs_present"]["ranges"] for i in range(a, b)] == sorted(indices)
    assert extra["missing_values"] == {}
    assert store.manifest.sources["nats-tss"].citation.startswith("Xuanyi Dong")


def test_store_declares_the_official_schema(converted: dict) -> None:
    store = converted["dir"][0]
    expected = {
        ("cifar10-valid", "train", 200): range(200),
        ("cifar10-valid", "x-valid", 200): range(200),
        ("cifar10-valid", "ori-test", 200): [199],
        ("cifar10", "ori-test", 200): range(200),
        ("cifar100", "x-valid", 200): [199],
        ("cifar100", "x-test", 200): [199],
        ("ImageNet16-120", "ori-test", 200): range(200),
        ("ImageNet16-120", "x-test", 200): [199],
        ("cifar100", "x-test", 12): range(12),
        ("cifar10-valid", "ori-test", 12): range(12),
    }
    for (dataset, split, schedule), epochs in expected.items():
        info = store.record_info(RecordKey(dataset, split, "accuracy", schedule))
        assert info.epochs == tuple(epochs)
        assert info.seeds.seeds == OFFICIAL_LAYOUT[(schedule, dataset)].seeds
        time = store.record_info(RecordKey(dataset, split, "time", schedule))
        assert (time.seeds.kind, time.epochs) == ("constant", None)
    assert store.record_info(RecordKey("cifar10-valid", "train", "loss", 12)).seeds.seeds == (111, 777)
    assert store.record_info(RecordKey("cifar100", "train", "loss", 200)).seeds.seeds == (777, 888, 999)
    assert len(store.stats) == 12


def test_real_sample_matches_the_source(real_sample: Path, tmp_path: Path) -> None:
    store = Store(convert_nats(real_sample, tmp_path / "real"))
    for index in SAMPLE_INDICES:
        source = safe_loads(bz2.decompress((real_sample / f"{index:06d}.pickle.pbz2").read_bytes()))
        assert check_arch(store, index, source, HPS) > 15_000
        for dataset in ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"):
            assert store.stat(StatKey("params_mb", dataset))[index] == complexity.params_mb(index, dataset)
            assert store.stat(StatKey("flops_m", dataset))[index] == complexity.flops_m(index, dataset)
        run = source["200"]["all_results"][("cifar100", 888)]
        acc = store.record(RecordKey("cifar100", "ori-test", "accuracy", 200))
        for epoch in (0, 57, 199):
            assert acc[index, 1, epoch] == pytest.approx(run["eval_acc1es"][f"ori-test@{epoch}"], rel=1e-6)
        x_test = store.record(RecordKey("cifar100", "x-test", "accuracy", 200))
        assert x_test[index, 1, 0] == pytest.approx(run["eval_acc1es"]["x-test@199"], rel=1e-6)
        train_time = store.record(RecordKey("ImageNet16-120", "train", "time", 12))[index, 0, 0]
        assert train_time == pytest.approx(source["12"]["all_results"][("ImageNet16-120", 111)]["train_times"][5])
    assert store.manifest.extra["archs_present"]["ranges"] == [[0, 1], [11, 12], [284, 285]]
    assert_absent(store, set(SAMPLE_INDICES))


def _copy_sample(real_sample: Path, dest: Path) -> Path:
    shutil.copytree(real_sample, dest)
    for path in dest.iterdir():
        path.chmod(0o644)
    return dest


def test_refused_global_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "simple"
    fixtures.write_nats_dir(folder, [0], np.random.default_rng(0))
    (folder / "000001.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps({"12": Malicious()}, 4)))
    with pytest.raises(UnsafePickleError, match=r"000001\.pickle\.pbz2.*refusing to load global posix\.system"):
        convert_nats(folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["simple"]  # no scratch directory left behind


def test_corrupt_member_keeps_existing_store(tmp_path: Path) -> None:
    folder = tmp_path / "simple"
    fixtures.write_nats_dir(folder, [0, 1], np.random.default_rng(0))
    out = convert_nats(folder, tmp_path / "out")
    manifest = (out / "manifest.json").read_text()
    blob = (folder / "000001.pickle.pbz2").read_bytes()
    (folder / "000001.pickle.pbz2").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CorruptSourceError, match=r"000001\.pickle\.pbz2: not a complete bz2 file"):
        convert_nats(folder, out, overwrite=True)
    assert (out / "manifest.json").read_text() == manifest
    Store(out, verify="full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "simple"]
    with pytest.raises(StoreError, match="already exists"):
        convert_nats(folder, out)


def test_corrupt_member_bytes() -> None:
    with pytest.raises(CorruptSourceError, match=r"a\.pickle\.pbz2: not a complete bz2 file \(Compressed data ended"):
        load_member("a.pickle.pbz2", bz2.compress(b"x" * 1000)[:-10])
    with pytest.raises(CorruptSourceError, match=r"b\.pickle\.pbz2: not a complete bz2 file \(Invalid data stream"):
        load_member("b.pickle.pbz2", b"BZh9 this is not bzip2")
    with pytest.raises(CorruptSourceError, match=r"c\.pickle\.pbz2: truncated or malformed pickle"):
        load_member("c.pickle.pbz2", bz2.compress(pickle.dumps({"12": {"a": 1.0}}, 4)[:-5]))
    with pytest.raises(UnsafePickleError, match=r"d\.pickle\.pbz2: refusing to load global posix\.system"):
        load_member("d.pickle.pbz2", bz2.compress(pickle.dumps(Malicious(), 4)))


def test_layout_errors_name_the_bad_value(tmp_path: Path) -> None:
    folder = tmp_path / "simple"
    fixtures.write_nats_dir(folder, [4], np.random.default_rng(0))
    shutil.copy(folder / "000004.pickle.pbz2", folder / "4.pickle.pbz2")
    with pytest.raises(SourceFormatError, match=r"arch 4 appears twice \(000004\.pickle\.pbz2 and 4\.pickle\.pbz2\)"):
        convert_nats(folder, tmp_path / "out")
    (folder / "4.pickle.pbz2").rename(folder / "15625.pickle.pbz2")
    with pytest.raises(SourceFormatError, match="15625.pickle.pbz2 names arch 15625"):
        convert_nats(folder, tmp_path / "out")
    (folder / "15625.pickle.pbz2").rename(folder / "000009.pickle.pbz2")  # holds arch 4's record
    with pytest.raises(SourceFormatError, match="arch 9 hp '12': arch_index is 4, expected 9"):
        convert_nats(folder, tmp_path / "out")
    (folder / "000009.pickle.pbz2").unlink()
    (folder / "meta.pickle.pbz2").unlink()
    with pytest.raises(SourceFormatError, match=r"meta\.pickle\.pbz2 is missing"):
        convert_nats(folder, tmp_path / "out")
    meta = {"meta_archs": [fixtures.arch_str(i) for i in range(15625)], "total_archs": 15625}
    meta["meta_archs"][7] = fixtures.arch_str(8)
    (folder / "meta.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps(meta, 4)))
    with pytest.raises(SourceFormatError, match=r"meta_archs\[7\] is '\|"):
        convert_nats(folder, tmp_path / "out")
    with pytest.raises(ValueError, match="unknown time_axes 'sometimes'"):
        convert_nats(folder, tmp_path / "out", time_axes="sometimes")
    (tmp_path / "junk.bin").write_bytes(b"not a benchmark file")
    with pytest.raises(SourceFormatError, match="junk.bin is neither"):
        convert_nats(tmp_path / "junk.bin", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        convert_nats(tmp_path / "nowhere", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unexpected_hp_in_tar(tmp_path: Path) -> None:
    record = fixtures.nats_arch(2, 5)
    record["90"] = record.pop("200")
    with tarfile.open(tmp_path / "x.tar", "w") as tar:
        for name, obj in (
            ("meta.pickle.pbz2", {"meta_archs": [fixtures.arch_str(i) for i in range(15625)]}),
            ("000002.pickle.pbz2", record),
        ):
            blob = bz2.compress(pickle.dumps(obj, 4))
            info = tarfile.TarInfo(f"{fixtures.NATS_DIR_NAME}/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    with pytest.raises(SourceFormatError, match=r"arch 2 has unexpected hp '90'; expected \['12', '200'\]"):
        convert_nats(tmp_path / "x.tar", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_corrupt_single_file(tmp_path: Path) -> None:
    path = tmp_path / fixtures.NATS_FILE_NAME
    fixtures.write_nats_single_file(path, [1, 2], np.random.default_rng(0))
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) - 2000])
    with pytest.raises(CorruptSourceError, match="NATS-tss-v1_0-3ffb9.pickle.pbz2: not a complete bz2 file"):
        convert_nats(path, tmp_path / "out")
    path.write_bytes(bz2.compress(bz2.decompress(blob)[:-5000]))
    with pytest.raises(CorruptSourceError, match="truncated"):
        convert_nats(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_full_time_axes(tmp_path: Path) -> None:
    folder = tmp_path / "simple"
    root = fixtures.write_nats_dir(folder, [8], np.random.default_rng(4))
    store = Store(convert_nats(folder, tmp_path / "out", time_axes="full"))
    info = store.record_info(RecordKey("cifar100", "x-test", "time", 200))
    assert info.seeds.seeds == (777, 888, 999) and info.epochs == tuple(range(200))
    assert check_arch(store, 8, fixtures.nats_arch(8, root), HPS) > 10_000
    assert store.manifest.extra["time_axes"] == "full"


def test_meta_and_member_checks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "simple"
    folder.mkdir()
    (folder / "meta.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps(["not", "a", "dict"], 4)))
    with pytest.raises(SourceFormatError, match=r"meta\.pickle\.pbz2: expected a dict, got list"):
        convert_nats(folder, tmp_path / "out")
    meta = {"meta_archs": [fixtures.arch_str(i) for i in range(15625)], "total_archs": 15625}
    (folder / "meta.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps(meta, 4)))
    (folder / "notes.txt").write_text("hello")
    with caplog.at_level("WARNING"), pytest.raises(SourceFormatError, match=r"no arch files \('<index>\.pickle"):
        convert_nats(folder, tmp_path / "out")
    assert "ignoring notes.txt" in caplog.text
    assert not (tmp_path / "out").exists()


def test_single_file_without_archs(tmp_path: Path) -> None:
    path = tmp_path / fixtures.NATS_FILE_NAME
    meta = {"meta_archs": [fixtures.arch_str(i) for i in range(15625)], "total_archs": 15625, "arch2infos": None}
    path.write_bytes(bz2.compress(pickle.dumps(meta, 4)))
    with pytest.raises(SourceFormatError, match="no arch2infos entries found"):
        convert_nats(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
