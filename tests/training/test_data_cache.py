"""The decoded-image cache: one decode per dataset and machine, keyed by content, cheap to read, safe to share."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from nb201_env.training.splits import load_splits


def _no_decoding(monkeypatch):
    from nb201_env.training import images

    monkeypatch.setattr(images, "decode_image", lambda data, name: pytest.fail(f"decoded {name} again"))


def test_the_first_load_decodes_and_caches_and_later_ones_only_read(cifar_jpg, tmp_path, monkeypatch):
    first = load_splits("cifar10-valid", cifar_jpg, cache_dir=tmp_path)
    entries = [p for p in tmp_path.iterdir() if p.name != "index"]
    assert len(entries) == 1 and entries[0].name == first.data_id
    _no_decoding(monkeypatch)
    again = load_splits("cifar10-valid", cifar_jpg, cache_dir=tmp_path)
    assert np.array_equal(again.train.images, first.train.images) and again.data_id == first.data_id


def test_the_default_cache_is_under_the_users_cache_folder(cifar_jpg, private_cache_home, monkeypatch):
    from nb201_env.training.datacache import default_data_cache

    load_splits("cifar10", cifar_jpg)
    assert default_data_cache() == private_cache_home / "nb201_env" / "datasets"
    assert (default_data_cache() / "index").is_dir()
    _no_decoding(monkeypatch)
    load_splits("cifar10", cifar_jpg)


def test_a_folder_and_its_tarball_share_one_entry(cifar_jpg, cifar_tgz, tmp_path):
    a = load_splits("cifar10", cifar_jpg, cache_dir=tmp_path)
    b = load_splits("cifar10", cifar_tgz, cache_dir=tmp_path)
    assert a.data_id == b.data_id and len([p for p in tmp_path.iterdir() if p.name != "index"]) == 1
    assert len(list((tmp_path / "index").iterdir())) == 2


def test_a_cached_load_never_reads_or_stats_every_image(cifar_jpg, tmp_path, monkeypatch):
    load_splits("cifar10", cifar_jpg, cache_dir=tmp_path)
    calls = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda *a, **k: calls.append(a[0]) or real_stat(*a, **k))
    load_splits("cifar10", cifar_jpg, cache_dir=tmp_path)
    assert len(calls) < 100, f"{len(calls)} stat calls for {sum(1 for _ in cifar_jpg.glob('*/*/*.jpg'))} images"


def test_other_content_gets_other_data_ids(cifar_jpg, tmp_path, monkeypatch):
    base = load_splits("cifar10-valid", cifar_jpg, cache_dir=tmp_path / "c")
    permuted = tmp_path / "permuted"  # the same images, the class folders' names swapped
    shutil.copytree(cifar_jpg, permuted)
    for split in ("train", "test"):
        os.rename(permuted / split / "cat", permuted / split / "tmp")
        os.rename(permuted / split / "dog", permuted / split / "cat")
        os.rename(permuted / split / "tmp", permuted / split / "dog")
    other = load_splits("cifar10-valid", permuted, cache_dir=tmp_path / "c")
    assert other.data_id != base.data_id
    (permuted / "train" / "cat" / sorted(os.listdir(permuted / "train" / "cat"))[0]).unlink()
    fewer = load_splits("cifar10-valid", permuted, cache_dir=tmp_path / "c")  # a changed folder is decoded again
    assert fewer.data_id not in (base.data_id, other.data_id) and len(fewer.train) + len(fewer.valid) == 599


def test_a_damaged_entry_is_decoded_again_and_replaced(cifar_jpg, tmp_path, caplog):

    first = load_splits("cifar10", cifar_jpg, cache_dir=tmp_path)
    (tmp_path / first.data_id / "train_images.npy").write_bytes(b"garbage")
    again = load_splits("cifar10", cifar_jpg, cache_dir=tmp_path)
    assert np.array_equal(again.train.images, first.train.images) and "damaged" in caplog.text
    assert np.load(tmp_path / first.data_id / "train_images.npy").shape == first.train.images.shape


def test_an_unwritable_cache_is_skipped_with_a_warning(cifar_jpg, tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    splits = load_splits("cifar10", cifar_jpg, cache_dir=blocked / "cache")
    assert len(splits.train) == 600 and "could not cache the decoded images" in caplog.text
    assert blocked.read_text().startswith("a file")  # nothing of the user's was touched


def test_data_cache_off_decodes_every_time(cifar_jpg, tmp_path, monkeypatch):
    from nb201_env.training.datacache import DecodedCache

    load_splits("cifar10", cifar_jpg, cache_dir=tmp_path, data_cache=False)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
    assert DecodedCache(tmp_path).folder == tmp_path
