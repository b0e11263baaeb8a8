"""The README's real-training example runs as written, in a fresh home, on a small subset of the JPEG copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("torch", reason="needs the [train] extra (pip install nb201-env[train])")

from shared_data import REPO


def _example(page: str, after: str) -> str:
    text = (REPO / page).read_text()
    return text.split(after, 1)[1].split("```python", 1)[1].split("```", 1)[0]


def test_the_training_example_runs_as_written_and_a_second_process_reuses_everything(cifar_tgz, tmp_path):
    block = _example("README.md", "- `NASBench201-Train-v0`")
    assert _example("docs/training.md", "# Real training") == block  # the manual shows the same example
    assert 'recipe="proxy"' in block and "threads=" in block
    repo, home = tmp_path / "repo", tmp_path / "home"  # the example's ../shared/datasets/ holds the subset tarball
    (tmp_path / "shared" / "datasets").mkdir(parents=True)
    shutil.copy(cifar_tgz, tmp_path / "shared" / "datasets" / "cifar10-jpg.tar.gz")
    repo.mkdir()
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    env["HOME"] = str(home)  # an empty home: the decoded images go to ~/.cache/nb201_env/datasets

    def run() -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-c", block], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    first = run()
    valid, cost = (float(v) for v in first.stdout.split())
    assert 0 < valid <= 100 and cost > 0
    assert "decoding cifar10-jpg.tar.gz" in first.stderr and "training arch 6111" in first.stderr  # progress shown
    assert (home / ".cache" / "nb201_env" / "datasets" / "index").is_dir() and (repo / "runs.sqlite").is_file()
    second = run()
    assert second.stdout == first.stdout  # the same run, read back
    assert "decoding" not in second.stderr and "training arch" not in second.stderr  # nothing decoded or trained
