"""Every supported ``root``: image folders and their tarballs (read in place), fast JPEG decoding, the tar reader."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
from PIL import Image

from nb201_env.training.data import DatasetError
from nb201_env.training.splits import load_splits


def test_find_source_names_each_layout(cifar_jpg, cifar_tgz, tmp_path):
    from nb201_env.training.sources import find_source

    assert find_source("cifar10", cifar_jpg).kind == "image-folder"
    assert find_source("cifar10", cifar_tgz).kind == "image-tarball"
    from test_data import write_cifar, write_imagenet16

    write_cifar(tmp_path / "py")
    assert find_source("cifar10", tmp_path / "py").kind == "cifar-python"
    assert find_source("cifar10", tmp_path / "py" / "cifar-10-batches-py").official_order
    write_imagenet16(tmp_path / "in16")
    assert find_source("ImageNet16-120", tmp_path / "in16").kind == "imagenet16"
    with pytest.raises(ValueError, match=r"unknown image set 'mnist'; valid ones are \['cifar10', 'cifar100'"):
        find_source("mnist", cifar_jpg)


def test_a_tarball_decodes_to_the_folders_arrays(cifar_jpg, cifar_tgz):
    folder = load_splits("cifar10-valid", cifar_jpg, data_cache=False)
    packed = load_splits("cifar10-valid", cifar_tgz, data_cache=False)
    assert np.array_equal(folder.train.images, packed.train.images)
    assert np.array_equal(folder.test.labels, packed.test.labels)
    assert folder.data_id == packed.data_id and "image folder tarball" in packed.split_source


def test_bad_tarballs_are_refused_naming_the_file(tmp_path, cifar_jpg):
    from nb201_env.training.sources import find_source

    bad = tmp_path / "data.tar.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DatasetError, match="data.tar.gz is not a readable tarball"):
        find_source("cifar10", bad)
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as tar:
        tar.add(cifar_jpg / "train" / "cat", arcname="cat")  # no train/ and test/ folders
    with pytest.raises(DatasetError, match="other.tar should be a tarball of an image folder: members train/<class>"):
        find_source("cifar10", other)


def _jpeg(color, mode="RGB", size=(32, 32)):
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_fast_jpeg_decoding_equals_pillows_open_and_falls_back_for_the_rest(cifar_jpg):
    from nb201_env.training import images

    paths = sorted(cifar_jpg.glob("train/*/*.jpg"))[:50]
    expected = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths]).transpose(0, 3, 1, 2)
    assert np.array_equal(images.decode_all(paths, [str(p) for p in paths], workers=2), expected)
    grey, png = _jpeg(100, "L"), io.BytesIO()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(png, "PNG")
    assert images.jpeg_header(grey)[2] == 1 and images.jpeg_header(png.getvalue()) is None
    decoded = images.decode_all([grey, png.getvalue()], ["grey.jpg", "x.png"], workers=1)
    assert decoded[0, :, 0, 0].tolist() == [100, 100, 100] and decoded[1, :, 0, 0].tolist() == [1, 2, 3]
    with pytest.raises(DatasetError, match="cannot decode image broken.jpg"):
        images.decode_all([_jpeg(5)[:40]], ["broken.jpg"])


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_the_tar_reader_agrees_with_tarfile(fmt):
    from nb201_env.training import tarball

    members = [("d/" * 60 + "x.jpg", b"hello"), ("train/c/\u00e9t\u00e9.jpg", b"x" * 700), ("empty", b"")]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("train/c/link.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)  # links are never followed
    assert list(tarball.regular_files(buffer.getvalue())) == members


def test_the_tar_reader_refuses_damaged_archives():
    from nb201_env.training import tarball

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("train/a/x.jpg")
        info.size = 2000
        tar.addfile(info, io.BytesIO(b"y" * 2000))
    data = bytearray(buffer.getvalue())
    with pytest.raises(tarball.TarError, match="truncated archive"):
        list(tarball.regular_files(bytes(data[:1200])))
    data[10] ^= 0xFF  # a flipped byte in the first header
    with pytest.raises(tarball.TarError, match="bad header checksum at byte 0"):
        list(tarball.regular_files(bytes(data)))


def test_any_image_folder_loads_with_its_own_classes(tmp_path):
    from nb201_env.training.dataset import load_image_folder

    for split in ("train", "test"):
        for name, color in (("a", (10, 20, 30)), ("b", (200, 0, 0))):
            (tmp_path / split / name).mkdir(parents=True)
            Image.new("RGB", (8, 8), color).save(tmp_path / split / name / "0.png")
    train, test, classes = load_image_folder(tmp_path)
    assert (
        classes == ["a", "b"] and train.labels.tolist() == [0, 1] and train.images[0, :, 0, 0].tolist() == [10, 20, 30]
    )
    with tarfile.open(tmp_path / "folder.tgz", "w:gz") as tar:
        tar.add(tmp_path / "train", arcname="top/train")  # a tarball with a top folder works too
        tar.add(tmp_path / "test", arcname="top/test")
    packed = load_image_folder(tmp_path / "folder.tgz")
    assert np.array_equal(packed[0].images, train.images) and packed[2] == classes
