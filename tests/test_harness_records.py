"""The harness's records: one sweep per results file, each run once, no line trusted, the paper's figures only
beside the paper's protocol, and bounds on --runs and --workers."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.harness import sweep as sweep_module
from benchmarks.harness.results import read_results
from benchmarks.harness.run import main
from benchmarks.harness.summary import markdown_table, summarize
from benchmarks.harness.sweep import max_workers, sweep
from benchmarks.harness.tasks import protocol_variants
from benchmarks.harness.validity import MAX_RUNS, record_problems

REPO = Path(__file__).resolve().parents[1]


def _harness(public_store: Path, out: Path, *argv: str) -> int:
    """Run the harness command in this process; return its exit status."""
    base = ["--store", str(public_store), "--out", str(out), "--workers", "1"]
    defaults = {"--agents": ["random"], "--runs": ["3"], "--budgets": ["3000"]}
    for flag, value in defaults.items():
        if flag not in argv:
            base += [flag, *value]
    try:
        main([*base, *argv])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()]


# 4. one sweep per results file ---------------------------------------------------------------------------------


def test_a_second_sweep_into_the_same_out_is_refused_naming_the_first(public_store, tmp_path, caplog) -> None:
    out = tmp_path / "r.jsonl"
    fd = os.open(tmp_path / ".r.jsonl.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a sweep running in another process holds it
    os.write(fd, b"4242\n")
    try:
        assert _harness(public_store, out) == 2
        assert "is being written by another sweep (process 4242)" in caplog.text and not out.exists()
    finally:
        os.close(fd)
    assert _harness(public_store, out) == 0 and len(_lines(out)) == 3
    assert not (tmp_path / ".r.jsonl.lock").exists()  # released and removed when the sweep ends


def test_two_sweeps_started_together_write_each_run_once(public_store, tmp_path) -> None:
    out = tmp_path / "r.jsonl"
    argv = [
        sys.executable,
        "-m",
        "benchmarks.harness.run",
        "--agents",
        "random",
        "--runs",
        "40",
        "--budgets",
        "3000",
        "--workers",
        "1",
        "--store",
        str(public_store),
        "--out",
        str(out),
    ]
    procs = [subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    codes = sorted(p.wait(timeout=600) for p in procs)
    assert codes in ([0, 0], [0, 2]), [p.stderr.read()[-500:] for p in procs]
    runs = [r["run"] for r in _lines(out)]
    assert sorted(runs) == list(range(40))


# 5. a name given twice counts once ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "repeat",
    [("--agents", "random", "random"), ("--protocols", "nb201", "nb201"), ("--budgets", "3000", "3000", "3000.0")],
)
def test_a_repeated_agent_protocol_or_budget_runs_once(public_store, tmp_path, repeat) -> None:
    out = tmp_path / "r.jsonl"
    assert _harness(public_store, out, *repeat) == 0
    assert sorted(r["run"] for r in _lines(out)) == [0, 1, 2]


# 6. no line is trusted -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_lines(public_store, tmp_path_factory) -> list[str]:
    """The three valid lines of ``random --runs 3 --budgets 3000`` on the bundled store."""
    out = tmp_path_factory.mktemp("good") / "r.jsonl"
    sweep(["random"], protocol_variants(["nb201"], [3000.0]), 3, out, str(public_store), workers=1, progress=False)
    return out.read_text().splitlines()


def _edit(line: str, **changes) -> str:
    record = json.loads(line)
    for key, value in changes.items():
        if "." in key:
            outer, inner = key.split(".")
            record[outer][inner] = value
        else:
            record[key] = value
    return json.dumps(record)


def _absent_arch(line: str) -> int:
    return min(set(range(15625)) - set(json.loads(line)["trajectory"]["arch"]))


def _valid_140(line: str) -> str:
    traj = json.loads(line)["trajectory"]
    return _edit(line, trajectory={**traj, "valid": [140.0] * len(traj["valid"])})


BAD_RUN_0 = {
    "the issue's record": lambda g: _edit(
        g, best_arch=99999, evaluations=-3, trajectory={"time": [], "arch": [], "valid": []}, **{"test.cifar10": 1000.0}
    ),
    "best_valid NaN": lambda g: _edit(g, best_valid=0.5).replace('"best_valid": 0.5', '"best_valid": NaN'),
    "clock Infinity": lambda g: _edit(g, clock=0.5).replace('"clock": 0.5', '"clock": Infinity'),
    "test accuracy as a string": lambda g: _edit(g, **{"test.cifar10": "93.5"}),
    "test accuracy 100.5": lambda g: _edit(g, **{"test.cifar100": 100.5}),
    "a non-UTF-8 byte": lambda g: g.replace('"random"', '"rand\udcffom"', 1),
    "another seed": lambda g: _edit(g, seed=7),
    "another benchmark": lambda g: _edit(g, benchmark="nb201-proxy-cifar10"),
    "another budget": lambda g: _edit(g, budget=12000.0),
    "best_arch not in the trajectory": lambda g: _edit(g, best_arch=_absent_arch(g)),
    "a valid accuracy of 140": _valid_140,
}
"""Bad versions of run 0's line (a str; surrogate escapes stand for raw bytes)."""


def _table_figures(report: Path) -> list[float]:
    """Every test-accuracy figure (mean, std, CI bounds) the table shows."""
    rows = [line for line in (report / "table.md").read_text().splitlines() if line.startswith("| nb201")]
    cells = [cell for row in rows for cell in row.split("|")[5:8]]
    return [float(x) for cell in cells for x in re.findall(r"-?\d+\.\d+", cell)]


@pytest.mark.parametrize("bad", list(BAD_RUN_0))
def test_a_record_that_is_not_a_valid_run_is_named_and_its_run_redone(
    public_store, tmp_path, caplog, good_lines, bad
) -> None:
    out = tmp_path / "r.jsonl"
    line = BAD_RUN_0[bad](good_lines[0])
    out.write_bytes(line.encode("utf-8", "surrogateescape") + b"\n" + "\n".join(good_lines[1:]).encode() + b"\n")
    assert _harness(public_store, out, "--report", str(tmp_path / "rep")) == 0
    assert f"{out}:1: ignoring" in caplog.text and "its run is done again" in caplog.text
    kept = read_results(out)
    assert sorted(r["run"] for r in kept) == [0, 1, 2] and all(record_problems(r) == [] for r in kept)
    assert len(out.read_bytes().splitlines()) == 4  # the bad line is kept as it was, its run appended
    table = (tmp_path / "rep" / "table.md").read_text()
    assert "| nb201@3000 | random | 3 |" in table
    assert all(0.0 <= x <= 100.0 for x in _table_figures(tmp_path / "rep"))


def test_runs_outside_the_range_and_repeats_are_named_and_not_counted(
    public_store, tmp_path, caplog, good_lines
) -> None:
    out = tmp_path / "r.jsonl"
    extra = [_edit(good_lines[0], run=-1), _edit(good_lines[0], run=10**30), good_lines[1]]
    out.write_text("\n".join([*good_lines, *extra]) + "\n")
    assert _harness(public_store, out, "--report", str(tmp_path / "rep")) == 0
    assert f"{out}:4: ignoring an invalid record (run -1 is outside 0..{MAX_RUNS - 1})" in caplog.text
    assert f"{out}:5: ignoring an invalid record (run {10**30}" in caplog.text
    assert f"{out}:6: ignoring a repeat of random/nb201@3000/run 1 (line 2 counts)" in caplog.text
    assert "| nb201@3000 | random | 3 |" in (tmp_path / "rep" / "table.md").read_text()
    assert len(out.read_text().splitlines()) == 6  # nothing needed redoing


def test_many_bad_lines_are_counted_after_the_first_twenty(tmp_path, caplog, good_lines) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text("\n".join([good_lines[0]] * 31) + "\n")
    assert len(read_results(out)) == 1
    assert f"{out}:21: ignoring a repeat" in caplog.text and f"{out}:22:" not in caplog.text
    assert f"{out}: 10 more lines left out" in caplog.text


# 7. the paper's figures only beside the paper's protocol -------------------------------------------------------


def _summary_record(run: int, **changes) -> dict:
    record = {
        "agent": "rea",
        "protocol": "nb201",
        "dataset": "cifar10",
        "budget": 12000.0,
        "rule": "nb201",
        "run": run,
        "seed": run,
        "benchmark": "nb201-public",
        "best_arch": 6111,
        "best_valid": 84.0,
        "evaluations": 1,
        "clock": 90.0,
        "test": {"cifar10": 93.0 + run, "cifar100": 70.0, "ImageNet16-120": 45.0},
        "trajectory": {"time": [90.0], "arch": [6111], "valid": [84.0]},
    }
    return {**record, **changes}


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({}, True),
        ({"protocol": "nb201@12000"}, True),
        ({"protocol": "nb201@3000", "budget": 3000.0, "clock": 90.0}, False),
        ({"protocol": "nb201@3000", "budget": 3000.0, "objectives": ["valid_accuracy", "params_mb"]}, False),
        ({"protocol": "nb201/4w", "workers": 4}, False),
        ({"benchmark_kind": "proxy-table"}, False),
    ],
)
def test_the_papers_figures_are_shown_only_for_the_papers_protocol(changes: dict, shown: bool) -> None:
    records = [_summary_record(r, **changes) for r in range(2)]
    table = markdown_table(summarize(records))
    assert ("(paper 93.92 ± 0.30)" in table) is shown and ("paper" in table) is shown


def test_a_3000_second_sweep_prints_no_paper_figure(public_store, tmp_path) -> None:
    out = tmp_path / "r.jsonl"
    assert _harness(public_store, out, "--agents", "random", "rea", "--report", str(tmp_path / "rep")) == 0
    assert "paper" not in (tmp_path / "rep" / "table.md").read_text()


# 8. bounds on --runs and --workers -----------------------------------------------------------------------------


def test_runs_beyond_the_bound_are_a_clear_error(public_store, tmp_path, capsys) -> None:
    assert _harness(public_store, tmp_path / "r.jsonl", "--runs", "1000000000") == 2
    assert (
        f"--runs must be an int <= {MAX_RUNS} (runs per agent and protocol), got 1000000000" in capsys.readouterr().err
    )
    with pytest.raises(ValueError, match=f"runs must be an int in 1..{MAX_RUNS}, got 1000000000"):
        sweep(["random"], protocol_variants(["nb201"], None), 10**9, tmp_path / "x.jsonl", str(public_store))
    assert not (tmp_path / "r.jsonl").exists() and not (tmp_path / "x.jsonl").exists()


def test_workers_beyond_the_bound_are_a_clear_error(public_store, tmp_path, capsys) -> None:
    too_many = str(max_workers() + 1)
    assert _harness(public_store, tmp_path / "r.jsonl", "--workers", too_many) == 2
    assert f"--workers must be an int <= {max_workers()} (4 processes per usable core), got {too_many}" in (
        capsys.readouterr().err
    )


def test_a_sweep_starts_no_more_processes_than_runs(public_store, tmp_path, monkeypatch) -> None:
    started: list[int] = []
    real = sweep_module.ProcessPoolExecutor

    def pool(workers: int, **kwargs):
        started.append(workers)
        return real(workers, **kwargs)

    monkeypatch.setattr(sweep_module, "ProcessPoolExecutor", pool)
    monkeypatch.setattr(sweep_module, "usable_cores", lambda: 12)  # 48 workers allowed, as on a big machine
    protocols = protocol_variants(["nb201"], [1000.0])
    sweep(["random"], protocols, 2, tmp_path / "r.jsonl", str(public_store), workers=48, progress=False)
    assert started == [2]
