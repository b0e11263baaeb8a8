"""Dataset readers and splits: official layouts written as fixtures, the real JPEG subset, every error path."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from nb201_env.training import data
from nb201_env.training.data import DatasetError, load_cifar_python, load_imagenet16
from nb201_env.training.recipe import Recipe
from nb201_env.training.splits import load_splits, prepare, read_split_file, resize, seeded_halves


def _write_pickle(path: Path, record: dict, bytes_keys: bool = False) -> None:
    if bytes_keys:  # how a Python 2 pickle of str keys can come back
        record = {k.encode(): v for k, v in record.items()}
    path.write_bytes(pickle.dumps(record, protocol=2))


def _rows(n: int, side: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 3 * side * side), dtype=np.uint8)


def write_cifar(root: Path, name: str = "cifar10", per_file: int = 20, classes: int = 10) -> Path:
    """Write CIFAR in the official python layout (fewer images, same format)."""
    folder = root / data.CIFAR_DIRS[name]
    folder.mkdir(parents=True)
    train, test = data.CIFAR_FILES[name]
    key = "labels" if name == "cifar10" else "fine_labels"
    for i, file in enumerate(train + test):
        labels = [j % classes for j in range(per_file)]
        _write_pickle(folder / file, {"batch_label": "x", key: labels, "data": _rows(per_file, 32, i)}, i == 0)
    return folder


def write_imagenet16(root: Path, per_file: int = 30) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i, file in enumerate(data.IMAGENET16_FILES[0] + data.IMAGENET16_FILES[1]):
        labels = [1 + (j * 37) % 1000 for j in range(per_file)]  # 1-based, over all 1000 classes
        _write_pickle(root / file, {"data": _rows(per_file, 16, i), "labels": labels, "mean": np.zeros(768)})


def test_cifar10_python_layout_is_read_with_the_official_pixel_order(tmp_path):
    folder = write_cifar(tmp_path)
    train, test = load_cifar_python("cifar10", tmp_path)
    assert train.images.shape == (100, 3, 32, 32) and test.images.shape == (20, 3, 32, 32)
    raw = pickle.loads((folder / "data_batch_2").read_bytes())
    # a row is the R plane, then G, then B, each 32x32 row-major
    assert train.images[20, 1, 3, 5] == raw["data"][0, 1024 + 3 * 32 + 5]
    assert train.labels.dtype == np.int64 and set(train.labels) == set(range(10))


def test_cifar100_uses_fine_labels(tmp_path):
    write_cifar(tmp_path, "cifar100", per_file=200, classes=100)
    train, test = load_cifar_python("cifar100", tmp_path)
    assert len(train) == 200 and len(test) == 200 and train.labels.max() == 99


def test_imagenet16_keeps_labels_1_to_120_and_makes_them_0_based(tmp_path):
    write_imagenet16(tmp_path)
    train, val = load_imagenet16(tmp_path)
    assert train.images.shape[1:] == (3, 16, 16)
    assert train.labels.min() >= 0 and train.labels.max() <= 119 and len(train) < 300
    expected = sum(1 for j in range(30) if 1 + (j * 37) % 1000 <= 120)
    assert len(val) == expected


def test_a_pickle_asking_for_other_globals_is_refused_without_running_it(tmp_path):
    folder = write_cifar(tmp_path)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": Evil(), "labels": []}, protocol=2))
    with pytest.raises(DatasetError, match=r"data_batch_3 is not a readable dataset pickle: .*(posix|os)\.system"):
        load_cifar_python("cifar10", tmp_path)
    assert not marker.exists()


def test_missing_cifar_files_say_what_was_expected_where(tmp_path):
    with pytest.raises(DatasetError, match=r"cifar10 python files not found: expected .*cifar-10-batches-py/"):
        load_cifar_python("cifar10", tmp_path)
    folder = write_cifar(tmp_path)
    (folder / "test_batch").unlink()
    with pytest.raises(DatasetError, match=r"missing \['test_batch'\].*cifar-10-python.tar.gz"):
        load_cifar_python("cifar10", tmp_path)


def test_malformed_pickles_name_the_file_and_the_expected_content(tmp_path):
    folder = write_cifar(tmp_path)
    _write_pickle(folder / "data_batch_1", {"data": np.zeros((4, 100), np.uint8), "labels": [0] * 4})
    with pytest.raises(DatasetError, match=r"data_batch_1: 'data' should be uint8 of shape \(N, 3072\), got uint8"):
        load_cifar_python("cifar10", tmp_path)
    _write_pickle(folder / "data_batch_1", {"pixels": np.zeros((4, 3072), np.uint8)})
    with pytest.raises(DatasetError, match=r"should hold keys 'data' and 'labels', found \['pixels'\]"):
        load_cifar_python("cifar10", tmp_path)
    (folder / "data_batch_1").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="data_batch_1 is not a readable dataset pickle"):
        load_cifar_python("cifar10", tmp_path)


def test_missing_imagenet16_files_are_named(tmp_path):
    with pytest.raises(DatasetError, match=r"ImageNet16 files not found: expected .*train_data_batch_1.*val_data"):
        load_imagenet16(tmp_path)


def test_real_jpeg_image_folder_decodes_in_sorted_class_order(cifar_jpg):
    from nb201_env.training.dataset import load_image_folder

    train, test, classes = load_image_folder(cifar_jpg)
    assert classes[:3] == ["airplane", "automobile", "bird"] and len(classes) == 10
    assert train.images.shape == (600, 3, 32, 32) and train.images.dtype == np.uint8
    assert len(test) == 200 and np.bincount(test.labels).tolist() == [20] * 10
    assert 60 < train.images.mean() < 200  # real photos, not blank


def test_decoded_folders_are_cached_and_reused(cifar_jpg, tmp_path, monkeypatch):
    from nb201_env.training.dataset import load_image_folder

    first = load_image_folder(cifar_jpg, cache_dir=tmp_path)
    from nb201_env.training import images

    monkeypatch.setattr(images, "decode_image", lambda data, name: pytest.fail(f"decoded {name} again"))
    second = load_image_folder(cifar_jpg, cache_dir=tmp_path)
    assert np.array_equal(first[0].images, second[0].images) and first[2] == second[2]


def test_png_folders_and_folder_errors(tmp_path):
    from PIL import Image

    from nb201_env.training.dataset import load_image_folder

    for split in ("train", "test"):
        for name in ("a", "b"):
            (tmp_path / split / name).mkdir(parents=True)
            Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / split / name / "0.png")
    train, test, classes = load_image_folder(tmp_path)
    assert classes == ["a", "b"] and train.images[0, :, 0, 0].tolist() == [10, 20, 30]
    Image.new("RGB", (9, 9)).save(tmp_path / "train" / "a" / "1.png")
    with pytest.raises(DatasetError, match=r"images must all have one size, found \[\(8, 8, 3\), \(9, 9, 3\)\]"):
        load_image_folder(tmp_path)
    (tmp_path / "test" / "c").mkdir()
    with pytest.raises(DatasetError, match=r"test has class folders \['a', 'b', 'c'\], but .*train has \['a', 'b'\]"):
        load_image_folder(tmp_path)
    with pytest.raises(DatasetError, match=r"no image folder at .*: expected .*/train/<class>/\*\.jpg\|png"):
        load_image_folder(tmp_path / "train")


def test_cifar10_valid_is_two_stratified_seeded_halves_of_the_training_set(cifar_jpg):
    splits = load_splits("cifar10-valid", cifar_jpg)
    assert len(splits.train) == len(splits.valid) == 300 and len(splits.test) == 200
    assert np.bincount(splits.train.labels).tolist() == [30] * 10
    assert "seeded class-stratified halves (seed 0)" in splits.split_source and splits.test_split == "ori-test"
    again = load_splits("cifar10-valid", cifar_jpg)
    assert np.array_equal(again.train.images, splits.train.images)
    other = load_splits("cifar10-valid", cifar_jpg, split_seed=1)
    assert not np.array_equal(other.train.images, splits.train.images)
    full = load_splits("cifar10", cifar_jpg)
    assert full.valid is None and len(full.train) == 600


def _write_split(folder: Path, train_idx, valid_idx) -> Path:
    split = {"train": ["int", [str(i) for i in train_idx]], "valid": ["int", [str(i) for i in valid_idx]]}
    (folder / "cifar-split.txt").write_text(json.dumps(split))
    return folder / "cifar-split.txt"


def test_official_split_files_are_used_with_the_official_layout(tmp_path):
    write_cifar(tmp_path / "data")
    path = _write_split(tmp_path, np.arange(0, 100, 2), np.arange(1, 100, 2))
    splits = load_splits("cifar10-valid", tmp_path / "data", split_dir=tmp_path)
    assert splits.split_source.endswith(f"official split file {path}")
    assert splits.split_id.startswith("official:") and len(splits.data_id) == 20
    full = load_splits("cifar10", tmp_path / "data")
    assert np.array_equal(splits.valid.images, full.train.images[1::2]) and full.split_id == "none"
    (tmp_path / "data" / "cifar-split.txt").write_bytes(path.read_bytes())  # found beside the data by default
    assert load_splits("cifar10-valid", tmp_path / "data").split_id == splits.split_id
    _write_split(tmp_path, np.arange(1, 100, 2), np.arange(0, 100, 2))  # another file: another split identity
    assert load_splits("cifar10-valid", tmp_path / "data", split_dir=tmp_path).split_id != splits.split_id


def test_an_official_split_file_is_refused_for_an_image_folder(cifar_jpg, tmp_path):
    # the JPEG copy is numbered per class: the official indices would pick other images than NB201's
    _write_split(tmp_path, np.arange(0, 600, 2), np.arange(1, 600, 2))
    with pytest.raises(DatasetError, match=r"indexes the official image order of cifar10-valid, but image folder"):
        load_splits("cifar10-valid", cifar_jpg, split_dir=tmp_path)


def test_bad_split_files_are_refused(tmp_path):
    write_cifar(tmp_path / "data")
    path = tmp_path / "cifar-split.txt"
    path.write_text(json.dumps({"train": [0, 1], "valid": [1, 2]}))
    with pytest.raises(DatasetError, match="'train' and 'valid' index lists overlap"):
        load_splits("cifar10-valid", tmp_path / "data", split_dir=tmp_path)
    path.write_text(json.dumps({"train": [0], "valid": [5000]}))
    with pytest.raises(DatasetError, match="indexes 100 images out of range"):
        load_splits("cifar10-valid", tmp_path / "data", split_dir=tmp_path)
    path.write_text("{not json")
    with pytest.raises(DatasetError, match=r"is not an NB201 split file with keys \['train', 'valid'\]"):
        read_split_file(path, ("train", "valid"))


def test_cifar100_and_imagenet16_validate_and_test_on_halves_of_the_test_set(tmp_path):
    write_cifar(tmp_path / "c100", "cifar100", per_file=200, classes=100)
    splits = load_splits("cifar100", tmp_path / "c100")
    assert len(splits.valid) == len(splits.test) == 100 and splits.test_split == "x-test"
    write_imagenet16(tmp_path / "in16")
    splits = load_splits("ImageNet16-120", tmp_path / "in16")
    assert splits.num_classes == 120 and splits.train.images.shape[-1] == 16


def test_load_splits_errors_name_the_choices_and_the_expected_layout(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'cifar11'; valid datasets are: 'cifar10-valid', 'cifar10'"):
        load_splits("cifar11", tmp_path)
    with pytest.raises(DatasetError, match="dataset root .*nowhere does not exist: expected an image folder"):
        load_splits("cifar10", tmp_path / "nowhere")
    with pytest.raises(
        DatasetError,
        match=r"no cifar100 data under .*: expected an image folder .*torchvision's python layout .*cifar-100-python",
    ):
        load_splits("cifar100", tmp_path)
    from PIL import Image

    for split in ("train", "test"):
        (tmp_path / split / "a").mkdir(parents=True)
        Image.new("RGB", (32, 32)).save(tmp_path / split / "a" / "x.jpg")
    with pytest.raises(DatasetError, match="has 1 class folders but cifar10 has 10 classes"):
        load_splits("cifar10", tmp_path)
    for split in ("train", "test"):
        for name in "bcdefghij":
            (tmp_path / split / name).mkdir()
            Image.new("RGB", (32, 32)).save(tmp_path / split / name / "x.jpg")
    (tmp_path / "test" / "a" / "y.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match=r"cannot decode image .*test/a/y.jpg"):
        load_splits("cifar10", tmp_path)


def test_box_downsampling_and_prepare(cifar_jpg):
    image = np.arange(3 * 4 * 4, dtype=np.uint8).reshape(1, 3, 4, 4)
    assert resize(image, 2)[0, 0].tolist() == [[2, 4], [10, 12]]  # means of 2x2 blocks, rounded half to even
    assert resize(np.zeros((2, 3, 32, 32), np.uint8), 12).shape == (2, 3, 12, 12)
    splits = load_splits("cifar10-valid", cifar_jpg)
    small = prepare(splits, Recipe.proxy(train_subset=100, valid_subset=50, test_subset=20))
    assert small.train.images.shape == (100, 3, 16, 16) and len(small.valid) == 50 and len(small.test) == 20
    assert np.array_equal(prepare(splits, Recipe.proxy(train_subset=100)).train.labels, small.train.labels)
    with pytest.raises(ValueError, match="recipe resolution 64 exceeds the native 32px of cifar10-valid"):
        prepare(splits, Recipe(resolution=64))
    recipe = Recipe.proxy(train_subset=100, valid_subset=50, test_subset=20)
    assert prepare(small, recipe) is small  # idempotent for its own recipe
    with pytest.raises(ValueError, match=r"splits are already prepared for \(16, 100, 50, 20, 0\); prepare the loaded"):
        prepare(small, Recipe.proxy())


def test_seeded_halves_are_disjoint_and_cover_everything():
    labels = np.repeat(np.arange(5), 7)
    a, b = seeded_halves(labels, 3)
    assert np.intersect1d(a, b).size == 0 and len(a) + len(b) == 35
    assert np.array_equal(seeded_halves(labels, 3)[0], a)


def test_download_checks_the_checksum_and_extracts_the_python_layout(tmp_path, monkeypatch):
    import hashlib
    import io
    import tarfile
    import urllib.request

    source = tmp_path / "src"
    write_cifar(source)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    tarball = buffer.getvalue()
    fetched = []

    def fake_urlretrieve(url, filename):  # no network in tests: serve the tarball written above
        fetched.append(url)
        Path(filename).write_bytes(tarball)

    monkeypatch.setattr(urllib.request, "urlretrieve", fake_urlretrieve)
    with pytest.raises(DatasetError, match=r"cifar-10-python.tar.gz has the wrong checksum \(expected md5 c58f"):
        load_splits("cifar10", tmp_path / "dl", download=True)
    url = data.CIFAR_URLS["cifar10"][0]
    monkeypatch.setitem(data.CIFAR_URLS, "cifar10", (url, hashlib.md5(tarball).hexdigest()))
    (tmp_path / "dl" / "cifar-10-python.tar.gz").unlink()
    splits = load_splits("cifar10", tmp_path / "dl", download=True)
    assert len(splits.train) == 100 and fetched == [url, url]
