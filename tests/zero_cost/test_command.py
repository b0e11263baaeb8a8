"""``nb201 build-zero-cost`` end to end on a small image folder, and ``nb201 info`` of the table it writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nb201_env.cli import main

pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    """A CIFAR-10-shaped image folder: 10 classes, 26 training and 2 test PNGs each (random pixels)."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for split, count in (("train", 26), ("test", 2)):
        for label in range(10):
            folder = root / split / f"class{label}"
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    return root


def test_a_partial_build_is_refused_as_a_table_unless_asked_and_resumes(image_folder, tmp_path, capsys) -> None:
    args = ["build-zero-cost", "--data", str(image_folder), "--cache", str(tmp_path / "c.sqlite"), "--limit", "1"]
    out = tmp_path / "zc.store"
    assert main([*args, "--out", str(out)]) == 1
    assert "not writing" in capsys.readouterr().out and not out.exists()
    assert main([*args, "--out", str(out), "--partial"]) == 0  # one more cell, then a table with NaN elsewhere
    assert f"wrote {out}" in capsys.readouterr().out
    from nb201_env.benchmark import Benchmark

    naswot = Benchmark.open(out).zero_cost("naswot")
    assert np.count_nonzero(~np.isnan(naswot)) == 2  # the first run's cell was kept, one more was scored
    assert main(["info", "--store", str(out)]) == 0
    info = capsys.readouterr().out
    for proxy in ("synflow", "naswot", "jacob_cov", "snip", "grad_norm", "grasp", "fisher", "params", "flops"):
        assert f"  {proxy} " in info
    assert "per score group" in info and "single-thread CPU seconds" in info and "an unfinished build" in info
    from nb201_env.zero_cost.minibatch import minibatch_from_files

    account = Benchmark.open(out).store.manifest.extra["zero_cost"]["build"]["minibatch"]
    rebuilt = minibatch_from_files(image_folder, account)  # from the files the manifest names, checked by digest
    assert rebuilt.sha256 == account["sha256"] and len(account["files"]) == len(rebuilt)


def test_only_some_proxies_are_scored_with_only(image_folder, tmp_path, capsys) -> None:
    cache = tmp_path / "c.sqlite"
    args = ["build-zero-cost", "--data", str(image_folder), "--cache", str(cache), "--limit", "2"]
    assert main([*args, "--only", "synflow"]) == 0
    assert "2 scores cached" in capsys.readouterr().out  # synflow of two group representatives, nothing else
    assert main([*args, "--only", "nwot"]) == 2
    assert "unknown proxy 'nwot' in only; valid proxies are: 'synflow'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"), [(["--workers", "0"], "workers must be"), (["--dataset", "mnist"], "invalid choice")]
)
def test_bad_build_arguments_get_one_clear_line(image_folder, tmp_path, capsys, extra, message) -> None:
    args = ["build-zero-cost", "--data", str(image_folder), "--cache", str(tmp_path / "c.sqlite"), *extra]
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse refuses choices itself
        code = int(exit_.code or 0)
    assert code == 2 and message in capsys.readouterr().err
