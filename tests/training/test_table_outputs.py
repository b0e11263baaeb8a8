"""`nb201 build-table` checks where the table goes before training, and takes relative and ``~`` paths."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="needs the [train] extra (pip install nb201-env[train])")

from nb201_env.benchmark import Benchmark
from nb201_env.cli import main
from nb201_env.training import table


def _argv(cifar_jpg: Path, out: str, cache: str) -> list[str]:
    argv = ["build-table", "--data", str(cifar_jpg), "--out", out, "--cache", cache, "--limit", "1", "--workers", "1"]
    return [*argv, "--epochs", "1", "--channels", "4", "--resolution", "8", "--train-subset", "128"]


@pytest.mark.parametrize("spelling", ["rel.store", "~/home.store"])
def test_build_table_writes_to_relative_and_home_paths(cifar_jpg, tmp_path, monkeypatch, spelling) -> None:
    (tmp_path / "cwd").mkdir()
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert main(_argv(cifar_jpg, spelling, "runs.sqlite")) == 0
    expected = tmp_path / "home" / "home.store" if spelling.startswith("~") else tmp_path / "cwd" / spelling
    assert Benchmark.open(expected).store.manifest.extra["classes_trained"] == 1


def test_a_bad_output_is_refused_before_any_training(cifar_jpg, tmp_path, monkeypatch, capsys) -> None:
    def no_training(*args, **kwargs):
        raise AssertionError("training started although the output cannot be written")

    monkeypatch.setattr(table, "train_classes", no_training)
    (tmp_path / "thesis.txt").write_text("mine")
    for out, extra, needle in (
        (tmp_path / "thesis.txt", ["--overwrite"], "it is not a directory"),
        (tmp_path / "thesis.txt", [], "already exists"),
        (tmp_path / "thesis.txt" / "t.store", [], "is a file, not a folder"),
        (cifar_jpg.parent, ["--overwrite"], "or a folder above it"),
    ):
        assert main([*_argv(cifar_jpg, str(out), str(tmp_path / "runs.sqlite")), *extra]) == 2
        assert needle in capsys.readouterr().err
    assert (tmp_path / "thesis.txt").read_text() == "mine"


def test_training_pool_workers_are_armed(monkeypatch) -> None:
    from nb201_env import parent_watch
    from nb201_env.training import parallel
    from nb201_env.training.runtime import Runtime

    calls = []
    monkeypatch.setattr(parent_watch, "exit_with_parent", lambda: calls.append("armed"))
    parallel._init_worker(None, None, Runtime(device="cpu"), None)
    assert calls == ["armed"]
