import json

import numpy as np
import pytest

from benchmarks.harness import registry
from benchmarks.harness.report import write_report
from benchmarks.harness.results import ResultsWriter, read_results
from benchmarks.harness.summary import anytime_curves, markdown_table, summarize
from benchmarks.harness.sweep import sweep
from benchmarks.harness.tasks import protocol_variants
from nb201_env.benchmark import Benchmark


@pytest.fixture
def fake_agent(monkeypatch):
    monkeypatch.setitem(registry.AGENTS, "fake", registry.AgentSpec("fake_agent"))
    return "fake"


def test_sweep_records_runs_and_adds_test_accuracy_afterwards(fake_agent, public_store, public_bench, tmp_path):
    out = tmp_path / "r.jsonl"
    protocols = protocol_variants(["nb201"], [2000.0])
    records = sweep([fake_agent], protocols, 3, out, str(public_store), workers=1, progress=False)
    assert [r["run"] for r in records] == [0, 1, 2] and records[0]["protocol"] == "nb201@2000"
    r = records[1]
    assert 0 < r["clock"] <= 2000 and r["evaluations"] > 3
    traj = r["trajectory"]
    assert traj["time"] == sorted(traj["time"]) and len(traj["arch"]) == r["evaluations"]
    best = traj["arch"][int(np.argmax(traj["valid"]))]
    assert r["best_arch"] == best
    assert r["test"]["cifar10"] == pytest.approx(public_bench.test_accuracy(best, "cifar10"))
    assert r["test"]["ImageNet16-120"] == pytest.approx(public_bench.test_accuracy(best, "ImageNet16-120"))


def test_interrupted_sweep_resumes_without_loss(fake_agent, public_store, tmp_path):
    out = tmp_path / "r.jsonl"
    protocols = protocol_variants(["nb201"], [1500.0])
    sweep([fake_agent], protocols, 2, out, str(public_store), workers=1, progress=False)
    first = out.read_text()
    with open(out, "a") as fh:  # a run torn mid-write by a crash
        fh.write('{"agent": "fake", "protocol": "nb201@1500", "run": 2, "tru')
    assert len(read_results(out)) == 2
    records = sweep([fake_agent], protocols, 4, out, str(public_store), workers=1, progress=False)
    assert sorted(r["run"] for r in records) == [0, 1, 2, 3]
    assert out.read_text().startswith(first)  # nothing already written was lost or rewritten
    again = sweep([fake_agent], protocols, 4, out, str(public_store), workers=1, progress=False)
    assert len(again) == 4


def test_parallel_sweep_equals_serial(fake_agent, public_store, tmp_path):
    protocols = protocol_variants(["nb201"], [1000.0])
    serial = sweep([fake_agent], protocols, 4, tmp_path / "a.jsonl", str(public_store), workers=1, progress=False)
    parallel = sweep([fake_agent], protocols, 4, tmp_path / "b.jsonl", str(public_store), workers=2, progress=False)
    strip = lambda rs: sorted((r["run"], r["best_arch"], r["trajectory"]["arch"]) for r in rs)  # noqa: E731
    assert strip(serial) == strip(parallel)


def test_unknown_agent_and_protocol_are_named(public_store, tmp_path):
    with pytest.raises(ValueError, match="unknown agent 'genetic'; known agents are: 'random'"):
        sweep(["genetic"], protocol_variants(["nb201"], None), 1, tmp_path / "x.jsonl", str(public_store))
    with pytest.raises(ValueError, match="unknown protocol 'darts'"):
        protocol_variants(["darts"], None)


def _record(agent, run, c10, valid=90.0):
    return {
        "agent": agent,
        "protocol": "nb201",
        "dataset": "cifar10",
        "budget": 12000.0,
        "rule": "nb201",
        "run": run,
        "seed": run,
        "benchmark": "b",
        "best_valid": valid,
        "evaluations": 3,
        "clock": 90.0,
        "test": {"cifar10": c10, "cifar100": None, "ImageNet16-120": 40.0},
        "trajectory": {"time": [10.0, 50.0, 90.0], "arch": [0, 6111, 1], "valid": [60.0, 85.0, 84.0]},
    }


def test_summary_statistics_and_table():
    rows = summarize([_record("rea", 0, 93.0), _record("rea", 1, 94.0), _record("random", 0, 92.0)])
    rea = next(r for r in rows if r["agent"] == "rea")
    assert (
        rea["runs"] == 2
        and rea["cifar10_mean"] == 93.5
        and rea["cifar10_std"] == pytest.approx(np.std([93, 94], ddof=1))
    )
    assert np.isnan(rea["cifar100_mean"])
    table = markdown_table(rows)
    assert "93.50 ± 0.71 [93.00, 94.00] (paper 93.92 ± 0.30)" in table and "n/a" in table
    assert rea["rank"] == 1.0 and rea["rank_runs"] == 1  # only run 0 is common to both agents: 93 beats 92
    assert "| nb201 | random | 1 | 2.00 | 92.00 (paper 93.70 ± 0.36) |" in table


def test_anytime_curve_follows_the_incumbent_by_validation(public_bench):
    grid = np.array([0.0, 10.0, 49.0, 50.0, 95.0])
    curve = anytime_curves([_record("rea", 0, 93.0)], public_bench, grid, "cifar10")[0]
    t0, t6111 = public_bench.test_accuracy(0, "cifar10"), public_bench.test_accuracy(6111, "cifar10")
    assert np.isnan(curve[0]) and curve[1] == t0 and curve[2] == t0
    assert curve[3] == t6111 and curve[4] == t6111  # arch 1 (valid 84) never displaces 6111 (85)


def test_report_writes_table_csv_and_plots(public_store, tmp_path):
    records = [_record("rea", 0, 93.0), _record("rea", 1, 94.0)]
    table = write_report(records, tmp_path / "rep", str(public_store))
    assert (tmp_path / "rep" / "table.md").read_text().strip() == table
    assert (tmp_path / "rep" / "table.csv").read_text().startswith("protocol,agent,runs")
    assert (tmp_path / "rep" / "anytime_nb201.png").stat().st_size > 1000
    assert (tmp_path / "rep" / "anytime_nb201.svg").exists()


def test_report_tests_agents_pairwise_and_draws_their_ranks(public_store, tmp_path):
    records = [_record("rea", r, 93.0 + 0.01 * r) for r in range(30)]
    records += [_record("random", r, 92.0 + 0.01 * r) for r in range(30)]
    records += [_record("local", r, 92.0 + 0.01 * r) for r in range(30)]
    write_report(records, tmp_path / "rep", str(public_store))
    tests = (tmp_path / "rep" / "tests.md").read_text()
    assert "over 30 common runs" in tests
    assert "| local | random | +0.000 | 0.50 | 1 | 1 | no |" in tests
    assert "| random | rea | -1.000 | 0.00 |" in tests and "B better" in tests
    assert (tmp_path / "rep" / "ranks_nb201.png").stat().st_size > 1000


def test_results_writer_repairs_a_torn_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"a": 1}) + "\n" + '{"a": ')
    with ResultsWriter(path) as w:
        w.write({"a": 2})
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"a": 1}, {"a": 2}]


def test_a_proxy_table_is_never_compared_with_the_paper():
    proxy = [{**_record("rea", r, 93.0 + r), "benchmark_kind": "proxy-table"} for r in range(2)]
    assert "paper" not in markdown_table(summarize(proxy))


def test_multi_objective_sweep_names_its_objectives_and_reports_hypervolume(public_store, tmp_path):
    out = tmp_path / "mo.jsonl"
    goals = ["valid_accuracy", "latency_ms/pixel3"]
    protocols = protocol_variants(["nb201"], [3000.0])
    records = sweep(["mo_random"], protocols, 3, out, str(public_store), workers=1, progress=False, objectives=goals)
    assert {r["protocol"] for r in records} == {"nb201@3000+latency_ms/pixel3"}
    assert all(r["objectives"] == goals and r["evaluations"] > 10 for r in records)
    # another objective is another protocol: the same file resumes neither into the other
    more = sweep(["mo_random"], protocols, 3, out, str(public_store), workers=1, progress=False,
                 objectives=["valid_accuracy", "params_mb"])  # fmt: skip
    assert len(more) == 6
    write_report(more, tmp_path / "rep", str(public_store))
    table = (tmp_path / "rep" / "mo_table.md").read_text()
    assert "### nb201@3000+latency_ms/pixel3: valid_accuracy vs latency_ms/pixel3" in table
    assert "| mo_random | 3 |" in table
    for name in ("hypervolume_nb201_3000_latency_ms-pixel3.png", "front_nb201_3000_params_mb.png"):
        assert (tmp_path / "rep" / name).stat().st_size > 1000


def test_unknown_objective_fails_before_any_run_naming_the_stores_objectives(public_store, tmp_path):
    out = tmp_path / "mo.jsonl"
    with pytest.raises(ValueError, match=r"unknown objective 'latency_ms/iphone'.*valid choices are: valid_accuracy"):
        sweep(["mo_random"], protocol_variants(["nb201"], None), 1, out, str(public_store), workers=1,
              objectives=["valid_accuracy", "latency_ms/iphone"])  # fmt: skip
    assert not out.exists()


def test_hypervolume_curve_rises_with_the_front_and_equals_one_on_the_true_front(public_bench):
    from benchmarks.harness.mo_report import Space, hypervolume_curve, run_front

    space = Space.of(public_bench, "cifar10", ["valid_accuracy", "params_mb"])
    true = space.true_front.tolist()
    assert space.ratio(space.true_front) == pytest.approx(1.0)
    record = {"trajectory": {"time": [10.0 * (i + 1) for i in range(len(true))], "arch": true,
                             "epoch": [11] * len(true)}}  # fmt: skip
    curve = hypervolume_curve(record, space, np.array([0.0, 10.0, 10.0 * len(true)]))
    assert curve[0] == 0.0 and 0 < curve[1] < 1
    # the run's front is on validation accuracy: the true test front need not be all of it
    found = run_front(record, space)
    assert curve[2] == pytest.approx(space.ratio(found)) and curve[2] <= 1.0 + 1e-12


def test_a_killed_worker_loses_nothing_its_runs_are_redone(monkeypatch, public_store, tmp_path, caplog):
    marker = tmp_path / "killed-once"
    monkeypatch.setitem(registry.AGENTS, "fake", registry.AgentSpec("fake_agent", {"kill_once": str(marker)}))
    out = tmp_path / "r.jsonl"
    records = sweep(
        ["fake"], protocol_variants(["nb201"], [1000.0]), 6, out, str(public_store), workers=2, progress=False
    )
    assert marker.exists(), "no worker was killed: the test did not exercise the broken pool"
    assert sorted(r["run"] for r in records) == list(range(6))
    assert "a worker process died" in caplog.text and "redoing them in a fresh pool" in caplog.text


def test_runs_that_keep_killing_their_worker_are_named_and_the_others_kept(monkeypatch, public_store, tmp_path):
    from benchmarks.harness.sweep import RunsLost

    monkeypatch.setitem(registry.AGENTS, "fake", registry.AgentSpec("fake_agent", {"kill_seed": 3}))
    out = tmp_path / "r.jsonl"
    with pytest.raises(RunsLost, match=r"fake/nb201@1000/run 3") as error:
        sweep(["fake"], protocol_variants(["nb201"], [1000.0]), 5, out, str(public_store), workers=2, progress=False)
    assert "rerunning the command retries the lost ones" in str(error.value)
    kept = sorted(r["run"] for r in read_results(out))
    assert 3 not in kept and len(kept) >= 1  # whatever finished before the pool broke stays in the file


def test_incomplete_lines_are_skipped_and_reported(fake_agent, public_store, tmp_path, caplog):
    out = tmp_path / "r.jsonl"
    protocols = protocol_variants(["nb201"], [1000.0])
    sweep([fake_agent], protocols, 2, out, str(public_store), workers=1, progress=False)
    with open(out, "a") as fh:
        fh.write('{"agent": "random"}\n')
        fh.write('{"agent": "fake", "protocol": "nb201@1000", "run": "2"}\n')
        fh.write("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[" * 100 + "\n")
    assert len(read_results(out)) == 2
    assert "r.jsonl:3: ignoring an incomplete record (missing or invalid: protocol, run" in caplog.text
    assert "r.jsonl:4: ignoring an incomplete record" in caplog.text and "r.jsonl:5: ignoring" in caplog.text
    records = sweep([fake_agent], protocols, 3, out, str(public_store), workers=1, progress=False)
    assert sorted(r["run"] for r in records) == [0, 1, 2]


def test_outputs_are_checked_before_any_run(public_store, tmp_path, capsys, caplog):
    from benchmarks.harness.run import main

    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    for args, needle in (
        (["--out", str(blocker / "r.jsonl")], "is a file, not a folder"),
        (["--out", str(tmp_path / "r.jsonl"), "--report", str(blocker)], "is not a writable folder"),
        (["--out", str(tmp_path)], "is not a writable file"),
    ):
        caplog.clear()
        with pytest.raises(SystemExit) as code:
            main(["--agents", "random", "--runs", "1", "--store", str(public_store), *args])
        assert code.value.code == 2 and needle in caplog.text
    assert blocker.read_text() == "mine" and not (tmp_path / "r.jsonl").exists()
    with pytest.raises(SystemExit):
        main(["--runs", "0"])
    assert "--runs must be an int >= 1" in capsys.readouterr().err


def test_your_own_agent_runs_by_module_and_function_and_the_table_goes_to_stdout(public_store, tmp_path, capsys):
    """``--agents fake_agent:search`` (a module on the path, no registry edit) runs through the same path as the
    built-in agents; the tables are the command's results (stdout), logs and progress go to stderr."""
    from benchmarks.harness.run import main

    out, report = tmp_path / "r.jsonl", tmp_path / "rep"
    main(["--agents", "fake_agent:search", "random", "--budgets", "1000", "--runs", "2", "--workers", "1",
          "--store", str(public_store), "--out", str(out), "--report", str(report)])  # fmt: skip
    captured = capsys.readouterr()
    assert "| nb201@1000 | fake_agent:search | 2 |" in captured.out and "| nb201@1000 | random | 2 |" in captured.out
    assert (
        captured.out.strip()
        == (report / "table.md").read_text().strip() + "\n\n" + (report / "tests.md").read_text().strip()
    )
    assert (
        "report written to" not in captured.out and "| nb201@1000" not in captured.err and "search runs" in captured.err
    )
    assert {r["agent"] for r in read_results(out)} == {"fake_agent:search", "random"}


def test_a_bad_module_function_agent_is_named_before_any_run(public_store, tmp_path, capsys):
    from benchmarks.harness.run import main

    for agent, needle in (
        ("no_such_module:search", "cannot import 'no_such_module'"),
        ("fake_agent:no_such_function", "module 'fake_agent' has no function 'no_such_function'"),
        ("genetic", "unknown agent 'genetic'; known agents are: 'random'"),
        ("fake_agent:1x", "give your own agent as module:function"),
    ):
        with pytest.raises(SystemExit) as code:
            main(["--agents", agent, "--store", str(public_store), "--out", str(tmp_path / "r.jsonl")])
        assert code.value.code == 2 and needle in capsys.readouterr().err, agent
    assert not (tmp_path / "r.jsonl").exists()


def test_without_a_report_the_results_file_is_not_read_back(fake_agent, public_store, tmp_path, monkeypatch):
    from benchmarks.harness import sweep as sweep_module

    reads = []
    real = sweep_module.read_results
    monkeypatch.setattr(sweep_module, "read_results", lambda path, *a, **k: reads.append(path) or real(path, *a, **k))
    out = tmp_path / "r.jsonl"
    assert sweep([fake_agent], protocol_variants(["nb201"], [800.0]), 2, out, str(public_store), workers=1,
                 progress=False, read_back=False) == []  # fmt: skip
    assert reads == [out] and len(read_results(out)) == 2  # once, before the runs, to resume


def test_a_degraded_agent_gets_no_paper_figure_and_splits_are_named():
    degraded = [{**_record("bohb", r, 93.0 + r), "settings": {"degraded": "one fidelity (epoch 11): i.e. TPE"}}
                for r in range(2)]  # fmt: skip
    ori = {"cifar10": "ori-test", "cifar100": "ori-test", "ImageNet16-120": "ori-test"}
    rea = [{**_record("rea", r, 93.0 + r), "test_split": ori} for r in range(2)]
    table = markdown_table(summarize(degraded + rea))
    assert "| bohb (degraded) |" in table and "paper 93.61" not in table
    assert "bohb (degraded): one fidelity (epoch 11): i.e. TPE; not the paper's bohb" in table
    assert "| CIFAR-10 test (ori-test) | CIFAR-100 test (ori-test) | ImageNet16-120 test (ori-test) |" in table
    assert "(paper 93.92 ± 0.30)" in table  # CIFAR-10: the paper's split too
    assert "(paper x-test 45.54 ± 1.03)" in table and "not like for like" in table


def test_coinciding_anytime_curves_are_drawn_apart_and_said_so(public_store, tmp_path):
    import matplotlib

    from benchmarks.harness.plots import coinciding, plot_anytime

    curve = np.array([np.nan, 90.0, 93.0])
    assert coinciding({"a": curve, "b": curve + 0.01, "c": curve + 1.0, "d": curve}) == {"b": "a", "d": "a"}
    assert coinciding({"a": curve, "b": np.array([90.0, 90.0, 93.0])}) == {}  # one has a value where the other has none
    records = [_record("random", r, 93.0) for r in range(3)] + [_record("reinforce", r, 93.0) for r in range(3)]
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # keep the legend as text in the SVG
        plot_anytime(records, Benchmark.open(public_store), tmp_path)
    svg = (tmp_path / "anytime_nb201.svg").read_text()
    assert "reinforce (n=3; coincides with random)" in svg and "random (n=3)" in svg


def test_a_pool_holds_only_a_few_chunks_in_flight(fake_agent, public_store, tmp_path, monkeypatch):
    """Records wait in memory only until written: the sweep submits a few chunks per worker, not all of them."""
    from concurrent.futures import ThreadPoolExecutor

    from benchmarks.harness import sweep as sweep_module
    from benchmarks.harness.tasks import init_worker

    outstanding, most = [0], [0]

    class Counting(ThreadPoolExecutor):  # threads instead of processes; counts what is submitted and not done
        def __init__(self, workers, mp_context=None, initializer=None, initargs=()):
            super().__init__(workers)

        def submit(self, fn, *args):
            outstanding[0] += 1
            most[0] = max(most[0], outstanding[0])
            future = super().submit(fn, *args)
            future.add_done_callback(lambda _: outstanding.__setitem__(0, outstanding[0] - 1))
            return future

    init_worker(str(public_store), in_pool=False)
    monkeypatch.setattr(sweep_module, "ProcessPoolExecutor", Counting)
    records = sweep([fake_agent], protocol_variants(["nb201"], [600.0]), 200, tmp_path / "r.jsonl",
                    str(public_store), workers=2, progress=False)  # fmt: skip
    assert len(records) == 200 and 2 <= most[0] <= sweep_module.IN_FLIGHT * 2 < 200 // 12
