import json

import numpy as np
import pytest

from nb201_env.store import (
    CorruptStoreError,
    MissingRecordError,
    RecordKey,
    SeedAxis,
    Source,
    StatKey,
    Store,
    StoreError,
    StoreWriter,
)
from nb201_env.store.schema import MANIFEST

KEY = RecordKey("cifar10-valid", "x-valid", "accuracy", 12)


def _write(path, values=None, overwrite=False):
    with StoreWriter(path, "tiny", "a test store", overwrite=overwrite) as w:
        w.add_source("src", Source("made in a test"))
        arr = w.add_record(KEY, SeedAxis("seeds", (111, 777)), [5, 11], "src")
        if values is not None:
            arr[:] = values
        stat = w.add_stat(StatKey("params_mb", "cifar10"), "src", "MB")
        stat[:] = np.arange(15625) / 1e6
        w.add_record(RecordKey("cifar10-valid", "train", "time", 12), SeedAxis("constant"), None, "src")[:] = 2.0
        return w.commit()


def test_round_trip_values_axes_and_missing(tmp_path):
    values = np.random.default_rng(0).uniform(10, 90, size=(15625, 2, 2))
    values[3, 1, :] = np.nan  # seed 777 missing for arch 3
    path = _write(tmp_path / "s.store", values)
    store = Store.open(path)
    info = store.record_info(KEY)
    assert info.seeds == SeedAxis("seeds", (111, 777)) and info.epochs == (5, 11)
    got = store.record(KEY)
    assert got.dtype == np.float64 and np.array_equal(got, values, equal_nan=True)
    assert np.isnan(got[3, 1, 0]) and not np.isnan(got[3, 0, 0])
    assert not got.flags.writeable
    assert store.stat(StatKey("params_mb", "cifar10"))[10] == 10 / 1e6


def test_identical_arrays_are_stored_once(tmp_path):
    with StoreWriter(tmp_path / "d.store", "dedup", "") as w:
        w.add_source("s", Source("t"))
        for schedule in (12, 200):
            w.add_record(RecordKey("cifar10", "train", "time", schedule), SeedAxis("constant"), None, "s")[:] = 3.0
        path = w.commit()
    files = list(path.glob("*.npy"))
    assert len(files) == 1
    store = Store.open(path)
    assert store.record(RecordKey("cifar10", "train", "time", 200))[7, 0, 0] == 3.0


def test_truncated_file_is_detected_on_open(tmp_path):
    path = _write(tmp_path / "s.store")
    victim = max(path.glob("*.npy"), key=lambda p: p.stat().st_size)
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptStoreError, match="truncated"):
        Store.open(path)


def test_altered_bytes_fail_the_checksum_before_any_value_is_read(tmp_path):
    path = _write(tmp_path / "s.store", np.full((15625, 2, 2), 50.0))
    manifest = json.loads((path / MANIFEST).read_text())
    entry = next(r for r in manifest["records"] if r["metric"] == "accuracy")
    victim = path / entry["array"]["file"]
    data = bytearray(victim.read_bytes())
    data[-5] ^= 0xFF  # same size, different value
    victim.write_bytes(bytes(data))
    store = Store.open(path)  # sizes still match: lazy mode defers the checksum
    with pytest.raises(CorruptStoreError, match="checksum"):
        store.record(KEY)
    with pytest.raises(CorruptStoreError, match="checksum"):
        Store.open(path, verify="full")


def test_missing_file_and_bad_manifest(tmp_path):
    path = _write(tmp_path / "s.store")
    next(path.glob("*.npy")).unlink()
    with pytest.raises(CorruptStoreError, match="missing"):
        Store.open(path)
    (path / MANIFEST).write_text("{not json")
    with pytest.raises(CorruptStoreError, match="not valid JSON"):
        Store.open(path)
    (path / MANIFEST).write_text(json.dumps({"format": "nb201_env.store", "format_version": 99}))
    with pytest.raises(StoreError, match="version 99"):
        Store.open(path)
    with pytest.raises(StoreError, match="manifest.json is missing"):
        Store.open(tmp_path / "nowhere")


def test_unknown_keys_name_what_is_held(tmp_path):
    store = Store.open(_write(tmp_path / "s.store"))
    with pytest.raises(MissingRecordError, match=r"x-valid/accuracy@12"):
        store.record(RecordKey("cifar10-valid", "x-valid", "loss", 12))
    with pytest.raises(MissingRecordError, match="params_mb/cifar10"):
        store.stat(StatKey("params_mb", "cifar100"))
    with pytest.raises(ValueError, match="unknown split 'x-test' for cifar10-valid"):
        RecordKey("cifar10-valid", "x-test", "accuracy", 12)
    with pytest.raises(ValueError, match="unknown schedule 0; a schedule is a number of epochs"):
        RecordKey("cifar10", "train", "accuracy", 0)
    with pytest.raises(ValueError, match="unknown schedule '12'"):
        RecordKey("cifar10", "train", "accuracy", "12")
    assert RecordKey("cifar10", "train", "accuracy", 3).schedule == 3  # proxy tables hold their own schedules
    with pytest.raises(ValueError, match="'one'"):
        SeedAxis("two")
    with pytest.raises(ValueError, match="verify mode"):
        Store.open(tmp_path / "s.store", verify="sometimes")


def test_existing_store_is_kept_unless_overwrite(tmp_path):
    path = _write(tmp_path / "s.store", np.full((15625, 2, 2), 1.0))
    with pytest.raises(StoreError, match="already exists"):
        _write(path, np.full((15625, 2, 2), 2.0))
    assert Store.open(path).record(KEY)[0, 0, 0] == 1.0
    _write(path, np.full((15625, 2, 2), 2.0), overwrite=True)
    assert Store.open(path).record(KEY)[0, 0, 0] == 2.0


def test_a_failing_conversion_leaves_the_old_store_and_no_scratch(tmp_path):
    path = _write(tmp_path / "s.store", np.full((15625, 2, 2), 1.0))
    with pytest.raises(RuntimeError), StoreWriter(path, "x", "", overwrite=True) as w:
        w.add_source("s", Source("t"))
        w.add_record(KEY, SeedAxis("one"), None, "s")[:] = 5.0
        raise RuntimeError("source file broke mid-way")
    assert Store.open(path, verify="full").record(KEY)[0, 0, 0] == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["s.store"]


def test_writer_refuses_inconsistent_input(tmp_path):
    with StoreWriter(tmp_path / "w.store", "w", "") as w:
        with pytest.raises(ValueError, match="within 0..11"):
            w.add_record(KEY, SeedAxis("one"), [3, 12], "s")
        with pytest.raises(ValueError, match="ascending"):
            w.add_record(KEY, SeedAxis("one"), [5, 3], "s")
        w.add_record(KEY, SeedAxis("one"), [11], "s")
        with pytest.raises(StoreError, match="already added"):
            w.add_record(KEY, SeedAxis("one"), [11], "s")
        with pytest.raises(StoreError, match="never added"):
            w.commit()


def test_arch_order_constant_matches_the_official_strings(official_meta_archs):
    import hashlib

    from nb201_env.store.codec import ARCH_ORDER_SHA256, arch_order_sha256

    assert arch_order_sha256() == ARCH_ORDER_SHA256
    assert hashlib.sha256("\n".join(official_meta_archs).encode()).hexdigest() == ARCH_ORDER_SHA256


def _reseal(path):
    """Recompute the seal after an edit: what a tool writing a different (but sealed) manifest would produce."""
    from nb201_env.store.checks import sealed_text

    (path / MANIFEST).write_text(sealed_text(json.loads((path / MANIFEST).read_text())))


def test_store_from_another_index_order_is_refused(tmp_path):
    path = _write(tmp_path / "s.store")
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["arch_order_sha256"] = "0" * 64
    (path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="has been edited"):
        Store.open(path)
    _reseal(path)
    with pytest.raises(StoreError, match="not the official NB201 index order"):
        Store.open(path)
