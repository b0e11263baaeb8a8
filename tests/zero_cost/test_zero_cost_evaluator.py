"""The zero-cost evaluator: the Evaluator contract, the env on a proxy, and its argument checks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import nb201_env  # noqa: F401  (registers the envs)
from nb201_env.evaluators import Evaluator
from nb201_env.zero_cost.cache import ScoreCache
from nb201_env.zero_cost.evaluator import ZeroCostConfig, ZeroCostEvaluator
from nb201_env.zero_cost.table import write_table

from zero_cost_helpers import synthetic_minibatch


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("zc")
    cache = ScoreCache(folder / "c.sqlite", {"seed": 0})
    cache.put([(a, "naswot", float(a % 97), 0.5 + a % 3, 1.0) for a in range(15625)])
    cache.put([(123, "naswot", float("nan"), 0.2, 0.2)])
    with cache:
        return str(write_table(cache, folder / "zc.store"))


def test_the_table_evaluator_keeps_the_evaluator_contract(table) -> None:
    ev = ZeroCostEvaluator(ZeroCostConfig(proxy="naswot", store=table))
    assert isinstance(ev, Evaluator) and ev.deterministic
    rng = np.random.default_rng(0)
    assert ev.evaluate(100, rng) == (float(100 % 97), 0.5 + 100 % 3)
    assert ev.evaluate(123, rng).accuracy == -np.inf  # undefined ranks last
    scores, costs = ev.evaluate_many(np.array([100, 101, 123]), rng)
    assert scores.tolist() == [3.0, 4.0, -np.inf] and costs.tolist() == [1.5, 2.5, 0.2]
    assert ev.test_accuracy(6111) == pytest.approx(94.37, abs=0.01)  # from the default (NB201) benchmark
    info = ev.describe()
    assert "naswot" in info["signal"] and info["evaluator"] == "zero-cost"


def test_the_env_searches_on_a_proxy_and_pays_its_seconds(table) -> None:
    ev = ZeroCostEvaluator(ZeroCostConfig(proxy="naswot", store=table))
    env = gym.make("NASBench201-v0", evaluator=ev, protocol="nb201")
    env.reset(seed=0)
    for op in (3, 3, 3, 1, 3, 2):
        *_, info = env.step(op)
    assert info["arch"] == 6111
    assert info["valid_accuracy"] == float(6111 % 97) and info["clock"] == pytest.approx(0.5 + 6111 % 3)


def test_the_live_evaluator_computes_the_score_it_is_asked_for() -> None:
    pytest.importorskip("torch")
    from nb201_env.zero_cost.scorer import score

    batch = synthetic_minibatch()
    ev = ZeroCostEvaluator(ZeroCostConfig(proxy="snip", source="live", root="unused"), minibatch=batch)
    assert not ev.deterministic
    got = ev.evaluate(6111, np.random.default_rng(0))
    expected = score(6111, batch, 0, ("snip",)).scores["snip"]
    assert got.accuracy == pytest.approx(expected, rel=1e-5) and got.cost > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"proxy": "nwot"}, "unknown zero-cost proxy 'nwot'.*synflow"),
        ({"source": "disk"}, "unknown zero-cost source 'disk'.*'table', 'live'"),
        ({"source": "live"}, "give root=<dataset folder>"),
        ({"dataset": "mnist"}, "valid datasets are"),
        ({"seed": -2}, "seed must be"),
    ],
)
def test_bad_evaluator_arguments_are_refused_by_name(kwargs, message) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        ZeroCostConfig(**kwargs)
