"""The harness runs weight-sharing agents for real: records named ``<protocol>@<scale>`` on wall seconds, with the
derived cell of every epoch looked up afterwards, resumable, and a report with their drift toward skip cells."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from benchmarks.harness import registry
from benchmarks.harness.report import write_report
from benchmarks.harness.summary import anytime_curves, drift_rows, markdown_table, summarize
from benchmarks.harness.supernet_runs import SupernetSetup
from benchmarks.harness.sweep import sweep
from benchmarks.harness.tasks import protocol_variants
from nb201_env.space import NUM_ARCHS, SKIP, Arch

from shared_data import REPO

SHARING = ["rsps", "darts_v1", "darts_v2", "gdas", "setn", "enas"]


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CIFAR-10-shaped image folder of random 32 px PNGs: 20 training and 1 test image per class."""
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("cifar-like")
    for split, count in (("train", 20), ("test", 1)):
        for label in range(10):
            folder = root / split / f"class{label}"
            folder.mkdir(parents=True)
            for i in range(count):
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return root


def test_registry_knows_which_agents_train_a_supernet() -> None:
    flagged = sorted(name for name, spec in registry.AGENTS.items() if spec.weight_sharing)
    assert flagged == sorted(SHARING)
    for name in flagged:  # the flag agrees with the module's own, without importing the others
        assert registry.get_agent(name).load().WEIGHT_SHARING is True


def test_weight_sharing_sweep_records_each_epochs_derived_cell_in_wall_seconds(
    image_folder, public_store, public_bench, tmp_path
) -> None:
    out = tmp_path / "ws.jsonl"
    setup = SupernetSetup("tiny", str(image_folder), str(tmp_path / "decoded"), "cpu", 1)
    protocols = protocol_variants(["nb201"], None)
    records = sweep(
        ["darts_v1", "rsps", "random"], protocols, 1, out, str(public_store), 1, progress=False, supernet=setup
    )
    by_agent = {r["agent"]: r for r in records}
    assert by_agent["random"]["protocol"] == "nb201"  # multi-trial agents are untouched
    for name in ("darts_v1", "rsps"):
        r = by_agent[name]
        assert r["protocol"] == "nb201@tiny" and r["clock_kind"] == "wall" and r["incumbent"] == "last"
        traj = r["trajectory"]
        assert (
            traj["epoch"] == [1, 2]
            and traj["time"] == sorted(traj["time"])
            and r["clock"] == pytest.approx(traj["time"][-1], abs=1e-3)
        )
        assert all(0 <= a < NUM_ARCHS for a in traj["arch"]) and r["best_arch"] == traj["arch"][-1]
        for arch, share, test in zip(traj["arch"], traj["skip_share"], traj["test"]["cifar10"]):
            assert share == pytest.approx(Arch(arch).ops.count(SKIP) / 6, abs=1e-4)
            assert test == pytest.approx(public_bench.test_accuracy(arch, "cifar10"), abs=1e-4)
        assert r["test"]["cifar100"] == pytest.approx(public_bench.test_accuracy(r["best_arch"], "cifar100"))
        assert r["settings"]["scale"] == "tiny" and r["settings"]["data"]["train_images"] == 100
        assert r["seconds_per_epoch"] > 0
    again = sweep(["darts_v1", "rsps"], protocols, 1, out, str(public_store), 1, progress=False, supernet=setup)
    assert len(again) == 3  # resumed: nothing redone

    grid = np.array([0.0, by_agent["rsps"]["trajectory"]["time"][0], 1e9])
    curve = anytime_curves([by_agent["rsps"]], public_bench, grid, "cifar10")[0]
    expected = [public_bench.test_accuracy(a, "cifar10") for a in by_agent["rsps"]["trajectory"]["arch"]]
    assert np.isnan(curve[0]) and curve[1] == pytest.approx(expected[0]) and curve[2] == pytest.approx(expected[-1])

    rows = summarize(records)
    table = markdown_table(rows)
    assert "| nb201@tiny | darts_v1 | 1 |" in table and "(paper 54.30 ± 0.00)" in table
    drift = drift_rows(records)
    assert [d["agent"] for d in drift] == ["darts_v1", "rsps"] and drift[0]["final_cells"] == [
        by_agent["darts_v1"]["best_arch"]
    ]
    folder = tmp_path / "report"
    write_report(records, folder, str(public_store))
    assert (folder / "drift.md").read_text().count("nb201@tiny") == 2
    assert (folder / "skip_share_nb201_tiny.png").stat().st_size > 0
    assert (folder / "anytime_nb201_tiny.png").stat().st_size > 0 and (folder / "anytime_nb201.png").is_file()


def test_an_epoch_override_names_its_runs_apart() -> None:
    from benchmarks.harness.supernet_runs import protocol_name

    assert protocol_name("nb201", SupernetSetup("proxy")) == "nb201@proxy"
    longer = SupernetSetup("proxy", epochs=50)
    assert protocol_name("nb201", longer) == "nb201@proxy-e50"
    assert longer.size.epochs_for(50) == longer.size.epochs_for(250) == 50 and longer.size.channels == 8
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        SupernetSetup("proxy", epochs=0)


def test_bad_scale_device_and_missing_data_are_named(public_store, tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown scale 'huge'; valid scales are full, proxy, tiny"):
        SupernetSetup("huge")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        SupernetSetup("tiny", device="tpu")
    missing = tmp_path / "nowhere"
    setup = SupernetSetup("tiny", str(missing))
    with pytest.raises(FileNotFoundError, match=f"CIFAR-10 folder {missing} does not exist"):
        sweep(
            ["gdas"], protocol_variants(["nb201"], None), 1, tmp_path / "x.jsonl", str(public_store), 1, supernet=setup
        )
    assert not (tmp_path / "x.jsonl").exists()  # nothing written


def test_the_cli_rejects_a_bad_scale_in_one_line(tmp_path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.harness.run",
            "--agents",
            "gdas",
            "--scale",
            "huge",
            "--out",
            str(tmp_path / "o"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "invalid choice: 'huge'" in run.stderr


@pytest.mark.slow
def test_the_issue_command_runs_every_weight_sharing_agent_at_tiny_scale(tmp_path) -> None:
    """``python -m benchmarks.harness.run --agents rsps ... enas --scale tiny --runs 1 --protocols nb201`` on the
    shared CIFAR-10 (the tarball in ../shared, extracted and decoded once under the temp dir)."""
    from shared_data import shared_root

    if not (shared_root() / "datasets" / "cifar10-jpg.tar.gz").is_file():
        pytest.skip("the shared CIFAR-10 JPEG tarball is absent (set NB201_SHARED)")
    out, report = tmp_path / "ws.jsonl", tmp_path / "report"
    command = [sys.executable, "-m", "benchmarks.harness.run", "--agents", *SHARING, "--scale", "tiny", "--runs", "1"]
    command += ["--protocols", "nb201", "--workers", "2", "--out", str(out), "--report", str(report)]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-2000:]
    from benchmarks.harness.results import read_results

    records = read_results(out)
    assert sorted(r["agent"] for r in records) == sorted(SHARING)
    assert all(0 <= a < NUM_ARCHS for r in records for a in r["trajectory"]["arch"])
    assert (report / "table.md").is_file() and (report / "drift.md").is_file()
