"""The accounting of search runs: the budget rule (one run and many alike), repeats, the incumbent, ``info``."""

import math

import numpy as np
import pytest

from nb201_env.clock import settle
from nb201_env.evaluators import Evaluation
from nb201_env.protocols import PROTOCOLS, get_protocol
from nb201_env.rewards import AccuracyReward, CostPenaltyReward
from nb201_env.search_runs import INFO_KEYS, SearchRuns


class FixedEvaluator:
    """Accuracy = index / 1000 %, cost = 10 s; counts calls so tests can see what was trained."""

    def __init__(self, cost=10.0, deterministic=True):
        self.calls = 0
        self.cost = cost
        self.deterministic = deterministic

    def evaluate(self, index, rng):
        self.calls += 1
        return Evaluation(index / 1000, self.cost)

    def evaluate_many(self, indices, rng):
        self.calls += len(indices)
        return indices / 1000, np.full(len(indices), self.cost)

    def test_accuracy(self, index):
        return 50.0

    def describe(self):
        return {"evaluator": "fixed", "epoch": 11}


def runs(n=1, **kwargs):
    return SearchRuns(n, FixedEvaluator(kwargs.pop("cost", 10.0)), AccuracyReward(), keep_trajectories=n == 1, **kwargs)


def charge_all(r, costs):
    counted = []
    for i, cost in enumerate(costs):
        r.evaluator.cost = cost
        counted.append(r.evaluate_one(0, 100 + i, np.random.default_rng(0))[1]["evaluated"])
    return counted


def test_nb201_rule_stops_before_exceeding():
    r = runs(budget=25.0, rule="nb201")
    assert charge_all(r, [10, 10, 10, 1]) == [True, True, False, False]  # 30 > 25: not performed; then spent
    clock = r.clock()
    assert clock.elapsed == 20 and clock.exhausted and clock.remaining == 5


def test_nats_rule_lets_the_last_evaluation_overrun():
    r = runs(budget=25.0, rule="nats")
    assert charge_all(r, [10, 10, 10, 10]) == [True, True, True, False]
    assert r.clock().elapsed == 30 and r.clock().exhausted and r.clock().remaining == 0


def test_exact_budget_and_no_budget():
    r = runs(budget=20.0, rule="nb201")
    assert charge_all(r, [20]) == [True] and not r.clock().exhausted  # exactly at the budget is allowed
    free = runs()
    assert charge_all(free, [1e9]) == [True] and free.clock().remaining == math.inf and not free.clock().exhausted
    free.reset()
    assert free.clock().elapsed == 0 and free.trajectory().archs == []


@pytest.mark.parametrize("rule", ["nb201", "nats"])
def test_the_rule_means_the_same_on_one_run_and_on_arrays(rule):
    rng = np.random.default_rng(0)
    costs = rng.uniform(1, 30, size=(20, 7))
    elapsed, exhausted = np.zeros(7), np.zeros(7, dtype=bool)
    one = [(0.0, False) for _ in range(7)]
    for row in costs:
        counted, elapsed, exhausted = settle(100.0, rule, elapsed, exhausted, elapsed, row)
        for j in range(7):
            c, e, x = settle(100.0, rule, one[j][0], one[j][1], one[j][0], float(row[j]))
            one[j] = (e, x)
            assert (c, e, x) == (counted[j], elapsed[j], exhausted[j])
            assert type(c) is bool and type(x) is bool  # scalars stay Python scalars on the one-run path


def test_asynchronous_workers_settle_evaluations_by_their_start_time():
    # nats: an evaluation started before the budget counts in full, even after another one ended the run
    counted, elapsed, exhausted = settle(100.0, "nats", 90.0, False, 80.0, 30.0)
    assert counted and elapsed == 110.0 and exhausted
    counted, elapsed, exhausted = settle(100.0, "nats", elapsed, exhausted, 95.0, 20.0)
    assert counted and elapsed == 115.0
    # nb201: only evaluations that finish within the budget count; the first that does not ends the run
    counted, elapsed, exhausted = settle(100.0, "nb201", 90.0, False, 80.0, 30.0)
    assert not counted and elapsed == 90.0 and exhausted


@pytest.mark.parametrize(("kwargs", "needle"), [({"rule": "paper"}, "budget rule"), ({"budget": -1}, "positive")])
def test_bad_run_arguments(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        runs(**kwargs)
    with pytest.raises(ValueError, match="positive int"):
        runs(n=0)


def test_protocol_presets_match_the_papers():
    assert (PROTOCOLS["nb201"].dataset, PROTOCOLS["nb201"].budget, PROTOCOLS["nb201"].rule) == (
        "cifar10",
        12000,
        "nb201",
    )
    assert [PROTOCOLS[f"nats-{d}"].budget for d in ("cifar10", "cifar100", "ImageNet16-120")] == [20000, 40000, 120000]
    with pytest.raises(ValueError, match="unknown protocol 'darts'.*'nb201'"):
        get_protocol("darts")


@pytest.mark.parametrize("deterministic", [True, False])
def test_repeats_are_free_and_return_the_first_result(deterministic):
    r = SearchRuns(1, FixedEvaluator(deterministic=deterministic), AccuracyReward(), budget=100.0)
    rng = np.random.default_rng(0)
    r1, i1 = r.evaluate_one(0, 500, rng)
    r2, i2 = r.evaluate_one(0, 500, rng)
    assert i2["repeat"] and i2["cost"] == 0 and r.clock().elapsed == 10 and r1 == r2 == pytest.approx(0.005)
    assert r.evaluator.calls == 1  # the first result is remembered: a repeat needs no evaluation
    charged = SearchRuns(1, FixedEvaluator(), AccuracyReward(), budget=100.0, charge_repeats=True)
    charged.evaluate_one(0, 500, rng)
    _, info = charged.evaluate_one(0, 500, rng)
    assert info["repeat"] and info["cost"] == 10 and charged.clock().elapsed == 20


def test_incumbent_trajectory_and_info_of_one_run():
    r = runs(budget=35.0, rule="nb201", report_test=True)
    rng = np.random.default_rng(0)
    for index in (300, 900, 100):
        _, info = r.evaluate_one(0, index, rng)
    assert info["best_arch"] == 900 and info["best_valid_accuracy"] == 0.9 and info["test_accuracy"] == 50.0
    assert set(info) == {*INFO_KEYS, "test_accuracy"} and info["epoch"] == 11 and info["benchmark"] == "fixed"
    reward, info = r.evaluate_one(0, 5000, rng)  # 40 s > 35 s: not performed under the nb201 rule
    assert reward == 0 and not info["evaluated"] and info["budget_exhausted"] and np.isnan(info["valid_accuracy"])
    assert set(info) == set(INFO_KEYS) and type(info["evaluated"]) is bool and type(info["best_arch"]) is int
    traj = r.trajectory().as_arrays()
    assert traj["arch"].tolist() == [300, 900, 100] and traj["time"].tolist() == [10, 20, 30]
    r.reset()
    assert r.clock().elapsed == 0 and r.best_arch[0] == -1 and r.trajectory().archs == []


def test_once_spent_nothing_is_evaluated_any_more():
    r = runs(budget=15.0, rule="nb201")
    rng = np.random.default_rng(0)
    r.evaluate_one(0, 1, rng)
    r.evaluate_one(0, 2, rng)  # does not fit: the run is spent
    calls = r.evaluator.calls
    _, info = r.evaluate_one(0, 3, rng)
    assert r.evaluator.calls == calls and not info["evaluated"] and info["arch"] == 3  # no training after the end


@pytest.mark.parametrize("rule", ["nb201", "nats"])
def test_many_runs_at_once_equal_one_run_at_a_time(rule):
    n, steps = 6, 30
    rng = np.random.default_rng(1)
    archs = rng.integers(0, 20, size=(steps, n))  # few distinct archs: many repeats
    costs = rng.uniform(1, 20, size=(steps, n))
    many = SearchRuns(n, FixedEvaluator(), AccuracyReward(), budget=150.0, rule=rule)
    singles = [SearchRuns(1, FixedEvaluator(), AccuracyReward(), budget=150.0, rule=rule) for _ in range(n)]
    for t in range(steps):
        many.evaluator.evaluate_many = lambda idx, _, c=costs[t]: (idx / 1000, c)
        rewards, info = many.evaluate(archs[t], rng)
        assert set(info) == set(INFO_KEYS)
        for j, one in enumerate(singles):
            one.evaluator.cost = float(costs[t, j])
            reward, single = one.evaluate_one(0, int(archs[t, j]), rng)
            assert rewards[j] == reward
            for key in INFO_KEYS:
                a, b = info[key], single[key]
                a = a[j] if isinstance(a, np.ndarray) else a
                assert a == b or (a != a and b != b), (t, j, key, a, b)  # NaN: not evaluated


def test_cost_penalty_reward():
    r = CostPenaltyReward.params(0.5)
    idx = np.array([0, 6111])
    many = r.many(np.array([90.0, 90.0]), idx)
    assert many[0] == pytest.approx(r(90.0, 0)) and many[0] > many[1]
    with pytest.raises(ValueError, match="one number per architecture"):
        CostPenaltyReward.from_table(np.ones(3), 1.0, "x")
    with pytest.raises(ValueError, match="positive target"):
        CostPenaltyReward.flops(-0.07, form="mnas")
    mnas = CostPenaltyReward.flops(-0.07, form="mnas", target=100.0)
    assert mnas(90.0, 0) > 0.9 * 0.9
