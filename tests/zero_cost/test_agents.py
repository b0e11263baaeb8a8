"""The training-free agents: NASWOT's search and proxy-screened evolution, each screening paid on the clock."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import nb201_env  # noqa: F401  (registers the envs)
from agents import naswot, rea_zero_cost
from nb201_env.benchmark import Benchmark
from nb201_env.evaluators import TabularConfig, TabularEvaluator
from nb201_env.store.errors import MissingValueError
from nb201_env.zero_cost.cache import ScoreCache
from nb201_env.zero_cost.evaluator import ZeroCostConfig, ZeroCostEvaluator
from nb201_env.zero_cost.screening import ScreenedEvaluator
from nb201_env.zero_cost.table import write_table

# every cell has a known score and cost: score = (index * 7919) mod 15625 (a permutation), cost 0.25 s
SCORE = (np.arange(15625) * 7919) % 15625


def _table(folder, archs) -> str:
    cache = ScoreCache(folder / "c.sqlite", {"seed": 0})
    with cache:
        for proxy in ("naswot", "synflow"):
            cache.put([(int(a), proxy, float(SCORE[a]), 0.25, 0.3) for a in archs])
        return str(write_table(cache, folder / "zc.store"))


@pytest.fixture(scope="module")
def full_table(tmp_path_factory) -> str:
    return _table(tmp_path_factory.mktemp("zc-full"), range(15625))


@pytest.fixture(scope="module")
def partial_table(tmp_path_factory) -> tuple[str, np.ndarray]:
    archs = np.sort(np.random.default_rng(3).choice(15625, size=500, replace=False))
    return _table(tmp_path_factory.mktemp("zc-part"), archs), archs


def _naswot_env(store: str, bench: Benchmark) -> gym.Env:
    args = naswot.Args(store=store)
    return gym.make(naswot.ENV_ID, evaluator=naswot.make_evaluator(bench, "cifar10", args), budget=1e9)


def test_naswot_reports_the_best_scoring_of_its_n_cells_and_pays_each_score(full_table) -> None:
    bench = Benchmark.open()
    env = _naswot_env(full_table, bench)
    result = naswot.search(env, naswot.Args(n_samples=40, store=full_table), seed=5)
    drawn = np.unique(result.archs)
    assert len(result.archs) == 40
    assert result.best_arch == drawn[np.argmax(SCORE[drawn])]  # the highest score wins, nothing else
    assert result.times[-1] == pytest.approx(0.25 * len(drawn))  # a cell drawn twice is scored (and paid) once
    again = naswot.search(_naswot_env(full_table, bench), naswot.Args(n_samples=40, store=full_table), seed=5)
    assert again.archs.tolist() == result.archs.tolist()  # the seed fixes the draws


def test_naswot_on_an_unfinished_table_fails_by_name_or_draws_from_the_scored_cells(partial_table) -> None:
    store, archs = partial_table
    bench = Benchmark.open()
    with pytest.raises(MissingValueError, match="unfinished build"):
        naswot.search(_naswot_env(store, bench), naswot.Args(n_samples=200, store=store), seed=0)
    args = naswot.Args(n_samples=200, store=store, cells="scored")
    result = naswot.search(_naswot_env(store, bench), args, seed=0)
    assert set(result.archs.tolist()) <= set(archs.tolist()) and result.settings["pool"] == 500


def test_naswot_refuses_bad_arguments_by_name() -> None:
    with pytest.raises(ValueError, match="cells.*'space', 'scored'"):
        naswot.Args(cells="some")
    with pytest.raises(ValueError, match="n_samples"):
        naswot.Args(n_samples=0)
    with pytest.raises(ValueError, match="unknown zero-cost proxy 'nwot'"):
        naswot.Args(proxy="nwot")


def test_screening_is_charged_with_the_next_training_and_only_once(full_table) -> None:
    bench = Benchmark.open()
    trainer = TabularEvaluator(bench, TabularConfig(dataset="cifar10"))
    screened = ScreenedEvaluator(trainer, ZeroCostEvaluator(ZeroCostConfig(proxy="synflow", store=full_table)))
    rng = np.random.default_rng(0)
    scores = screened.screen(np.array([1, 2, 3, 4]), rng)
    assert scores.tolist() == Benchmark.open(full_table).zero_cost("synflow", "cifar10")[[1, 2, 3, 4]].tolist()
    plain = trainer.evaluate(6111, rng)
    charged = screened.evaluate(6111, rng)
    assert charged.accuracy == plain.accuracy and charged.cost == pytest.approx(plain.cost + 4 * 0.25)
    assert screened.evaluate(6111, rng).cost == pytest.approx(plain.cost)  # paid once
    screened.screen(np.array([5]), rng)
    screened.clear()  # a new run pays nothing of the last one's screening
    assert screened.evaluate(6111, rng).cost == pytest.approx(plain.cost)


def test_screened_evolution_trains_the_best_scoring_child_and_pays_the_warm_up(full_table) -> None:
    bench = Benchmark.open()
    args = rea_zero_cost.Args(proxy="synflow", store=full_table, warmup_pool=30, candidates=5)
    env = gym.make(
        rea_zero_cost.ENV_ID, evaluator=rea_zero_cost.make_evaluator(bench, "cifar10", args), protocol="nb201"
    )
    result = rea_zero_cost.search(env, args, seed=1)
    synflow = Benchmark.open(full_table).zero_cost("synflow", "cifar10")  # one score per score group
    pool = np.random.default_rng(1).integers(15625, size=30)  # the searcher's first draw
    warm = pool[np.argsort(-synflow[pool], kind="stable")][:10]
    assert result.archs[:10].tolist() == warm.tolist()  # the 10 best-scoring of the pool start the population
    plain_cost = bench.validation(int(warm[0]), "cifar10").cost
    assert result.times[0] == pytest.approx(plain_cost + 30 * 0.25)  # the warm-up is paid with the first training
    with pytest.raises(TypeError, match="make_evaluator"):
        rea_zero_cost.search(gym.make(rea_zero_cost.ENV_ID, protocol="nb201"), args, seed=0)


def test_the_harness_records_naswot_scores_as_scores_and_undefined_ones_as_null(tmp_path) -> None:
    import json

    from benchmarks.harness.sweep import sweep
    from benchmarks.harness.tasks import protocol_variants
    from benchmarks.harness.validity import record_problems

    out = tmp_path / "nw.jsonl"
    records = sweep(["naswot_10"], protocol_variants(["nb201"], None), 2, out, "nb201-public", 1, progress=False)
    assert len(records) == 2
    for r in records:
        assert r["signal"] == "score" and r["settings"]["cells"] == "scored" and r["evaluations"] == 10
        table = Benchmark.open("nb201-zero-cost").zero_cost("naswot", "cifar10")
        assert r["best_valid"] == pytest.approx(np.nanmax(table[r["trajectory"]["arch"]]), abs=1e-3)
    scored = dict(records[0], trajectory={**records[0]["trajectory"]})
    scored["trajectory"]["valid"] = [None, *scored["trajectory"]["valid"][1:]]  # an undefined score: null
    assert record_problems(json.loads(json.dumps(scored))) == []
    as_accuracy = {k: v for k, v in records[0].items() if k != "signal"}  # a score is no accuracy
    assert any("outside" in p for p in record_problems(as_accuracy))
