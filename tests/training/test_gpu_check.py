"""The GPU check's code path, with the CPU standing in (on a CUDA machine it runs as ``--device cuda``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch", reason="needs the [train] extra (pip install nb201-env[train])")

from shared_data import REPO
from training_helpers import shared_dataset


@pytest.mark.slow
@pytest.mark.shared
def test_the_gpu_check_runs_every_step_on_the_cpu(tmp_path):
    if not shared_dataset().is_file():
        pytest.skip(f"CIFAR-10 JPEG tarball not found at {shared_dataset()} (set NB201_SHARED to the shared/ folder)")
    out = tmp_path / "rows.json"
    args = [sys.executable, "-m", "benchmarks.perf.gpu_check", "--device", "cpu", "--quick", "--json", str(out)]
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=3000, env=dict(os.environ))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = json.loads(out.read_text())
    assert {r["check"] for r in rows} == {"logits", "1-epoch accuracy", "throughput"}
    assert all(r["ok"] for r in rows if r["check"] != "throughput")
    modes = {r["mode"] for r in rows if r["check"] == "throughput"}
    assert {"tuned plain PyTorch loop", "nb201_env trainer", "K=2 per step, grouped"} <= modes
