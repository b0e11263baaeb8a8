"""The asynchronous multi-worker simulation: the environments' accounting, the protocol's budget rule, and the
harness's records and report."""

import gymnasium as gym
import numpy as np
import pytest

import nb201_env  # noqa: F401
from benchmarks.harness.cluster import main
from benchmarks.harness.registry import get_agent
from benchmarks.harness.results import read_results
from benchmarks.harness.simulation import simulate
from benchmarks.harness.sweep import sweep
from benchmarks.harness.tasks import protocol_variants
from nb201_env.config import EnvConfig
from nb201_env.envs.base import make_search_runs


def _runs(bench, protocol="nb201", **kwargs):
    return make_search_runs(1, EnvConfig.from_kwargs(protocol=protocol, seed_policy="mean", **kwargs), bench)


def _searcher(agent, seed):
    spec = get_agent(agent)
    module = spec.load()
    return getattr(module, spec.cluster_searcher())(module.Args(), seed)


@pytest.mark.parametrize("agent", ["random", "rea", "reinforce"])
def test_one_worker_equals_the_sequential_environment(public_bench, agent):
    module = get_agent(agent).load()
    env = gym.make(module.ENV_ID, benchmark=public_bench, protocol="nb201", seed_policy="mean")
    sequential = module.search(env, module.Args(), 3)
    simulated = simulate(_searcher(agent, 3), _runs(public_bench), 1, np.random.default_rng(3))
    assert simulated.archs.tolist() == sequential.archs.tolist()
    assert np.allclose(simulated.times, sequential.times) and simulated.best_arch == sequential.best_arch


def test_more_workers_evaluate_more_within_the_same_wall_clock(public_bench):
    one = simulate(_searcher("random", 0), _runs(public_bench, budget=6000.0), 1, np.random.default_rng(0))
    eight = simulate(_searcher("random", 0), _runs(public_bench, budget=6000.0), 8, np.random.default_rng(0))
    assert eight.evaluations > 6 * one.evaluations
    assert eight.times.max() <= 6000 and np.all(np.diff(eight.times) >= 0)
    with pytest.raises(ValueError, match="workers must be an int >= 1"):
        simulate(_searcher("random", 0), _runs(public_bench), 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="no ask/tell searcher for the cluster simulation; use one of random, rea"):
        get_agent("ppo").cluster_searcher()


def test_the_nats_rule_lets_evaluations_started_in_time_overrun(public_bench):
    """Under nats-cifar10 what started before the budget counts in full; under nb201 nothing ends after it."""
    nats = simulate(_searcher("random", 1), _runs(public_bench, "nats-cifar10"), 16, np.random.default_rng(1))
    assert nats.times.max() > 20_000  # in-flight evaluations started before the budget finish after it
    nb201 = simulate(_searcher("random", 1), _runs(public_bench, "nats-cifar10", budget_rule="nb201"), 16,
                     np.random.default_rng(1))  # fmt: skip
    assert nb201.times.max() <= 20_000 and nats.evaluations > nb201.evaluations


def test_cluster_runs_are_harness_records_and_resume(public_store, tmp_path):
    out = tmp_path / "cluster.jsonl"
    protocols = protocol_variants(["nats-cifar10"], None)
    records = sweep(["random"], protocols, 2, out, str(public_store), workers=1, progress=False, cluster_workers=[1, 4])
    assert {r["protocol"] for r in records} == {"nats-cifar10/1w", "nats-cifar10/4w"}
    four = [r for r in records if r["workers"] == 4]
    assert all(r["test"]["cifar10"] is not None and r["evaluations"] > 0 for r in records)
    assert max(r["clock"] for r in four) > 20_000  # the NATS rule: the report's clock shows the overrun
    again = sweep(["random"], protocols, 3, out, str(public_store), workers=1, progress=False, cluster_workers=[1, 4])
    assert len(again) == 6 and len(read_results(out)) == 6  # only the missing runs were added
    with pytest.raises(ValueError, match="no ask/tell searcher"):
        sweep(["hyperband"], protocols, 1, out, str(public_store), workers=1, progress=False, cluster_workers=[2])


def test_the_command_writes_the_same_report_as_run(public_store, tmp_path):
    out, report = tmp_path / "c.jsonl", tmp_path / "report"
    main(["--agents", "random", "rea", "--workers", "1", "4", "--runs", "3", "--store", str(public_store),
          "--out", str(out), "--report", str(report), "--processes", "1"])  # fmt: skip
    table = (report / "table.md").read_text()
    assert "nb201/4w" in table and "nb201/1w" in table and "rea" in table
    with pytest.raises(SystemExit):
        main(["--agents", "ppo", "--out", str(out)])  # argparse names the agents that can
