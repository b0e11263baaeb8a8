"""The proxy benchmark bundled with the package (trained by our own pipeline): present, complete, intact, by name."""

from __future__ import annotations

import numpy as np
import pytest

import nb201_env.locate as locate
from nb201_env.benchmark import Benchmark
from nb201_env.isomorphism import class_ids
from nb201_env.store.schema import MANIFEST

PROXY = locate.bundled_store_path("nb201-proxy-cifar10")


@pytest.fixture(scope="module")
def bundled() -> Benchmark:
    return Benchmark.open(PROXY)


def test_the_bundled_store_ships_intact_and_complete(bundled):
    assert (PROXY / MANIFEST).is_file(), f"the bundled benchmark is missing from the package at {PROXY}"
    bundled.store.verify()  # every checksum
    assert bundled.store.size_bytes() < 8e6  # "a few MB at most"
    extra = bundled.store.manifest.extra
    assert extra["kind"] == "proxy-table" and extra["classes_trained"] == 6466
    # its costs (the simulated clock) were timed on free cores: no run was slowed by other jobs
    assert extra["wall_to_cpu"]["max"] <= 1.1
    epochs = bundled.search_schedule("cifar10")
    every = np.arange(15625)
    for epoch in range(epochs):  # a learning curve for every architecture, not only the final epoch
        valid = bundled.query_many(every, dataset="cifar10-valid", split="x-valid", schedule=epochs, epoch=epoch)
        assert not np.isnan(valid).any() and ((valid >= 0) & (valid <= 100)).all()
    test = bundled.test_accuracy_many(every, "cifar10")
    cost = bundled.cost_table("cifar10")
    assert not np.isnan(test).any() and (cost > 0).all()
    # isomorphic architectures share the run of their class representative
    ids = class_ids()
    for c in (0, 3, 4000):
        members = np.flatnonzero(ids == c)
        assert len(members) > 1 and len(set(test[members].tolist())) == 1


def test_disconnected_cells_score_chance(bundled):
    from nb201_env.space import Arch

    dead = Arch.from_ops([0, 0, 0, 0, 0, 0]).index  # output unreachable: the network predicts a constant
    assert bundled.test_accuracy(dead, "cifar10") < 15.0
    assert bundled.test_accuracy(bundled_best(bundled), "cifar10") > 30.0


def bundled_best(bench: Benchmark) -> int:
    return int(np.argmax(bench.validation_many(np.arange(15625), "cifar10")[0]))


def test_the_proxy_is_opened_by_name():
    assert locate.find_store("nb201-proxy-cifar10") == PROXY
    assert Benchmark.open("nb201-proxy-cifar10").name == "nb201-proxy-cifar10"


def test_gym_make_by_name_runs_on_the_proxy():
    import gymnasium as gym

    import nb201_env  # noqa: F401

    env = gym.make("NASBench201-v0", store="nb201-proxy-cifar10")
    env.reset(seed=0)
    for op in [3, 3, 3, 1, 3, 2]:
        _, reward, terminated, truncated, info = env.step(op)
    assert terminated and not truncated and info["benchmark"] == "nb201-proxy-cifar10"
    bench = Benchmark.open(PROXY)
    assert reward == pytest.approx(bench.validation(info["arch"], "cifar10").accuracy / 100)
    assert env.unwrapped.describe()["benchmark"] == "nb201-proxy-cifar10"


def test_harness_on_the_bundled_store_names_it_and_does_not_compare_to_the_paper(tmp_path):
    from benchmarks.harness.report import write_report
    from benchmarks.harness.summary import markdown_table, summarize
    from benchmarks.harness.sweep import sweep
    from benchmarks.harness.tasks import protocol_variants

    records = sweep(
        ["rea", "hyperband"], protocol_variants(["nb201"], [3000.0]), 2, tmp_path / "r.jsonl", str(PROXY),
        workers=1, progress=False,
    )  # fmt: skip
    assert {r["benchmark"] for r in records} == {"nb201-proxy-cifar10"}
    assert {r["benchmark_kind"] for r in records} == {"proxy-table"}
    hyperband = [r for r in records if r["agent"] == "hyperband"]
    # Hyperband judges cells at the store's cheaper epochs first: several fidelities appear in its trajectory
    assert all(len(set(r["trajectory"]["epoch"])) > 1 for r in hyperband)
    # only CIFAR-10 exists in the proxy table; the other columns are missing, not borrowed from NB201
    assert all(r["test"]["cifar100"] is None and r["test"]["cifar10"] is not None for r in records)
    table = markdown_table(summarize(records))
    assert "nb201-proxy-cifar10" in table and "paper" not in table.lower()
    write_report(records, tmp_path / "report", str(PROXY))  # the anytime plot uses the proxy's test figures
    assert (tmp_path / "report" / "anytime_nb201_3000.png").stat().st_size > 0
