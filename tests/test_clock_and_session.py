import math

import numpy as np
import pytest

from nb201_env.clock import SimulatedClock
from nb201_env.evaluators import Evaluation
from nb201_env.protocols import PROTOCOLS, get_protocol
from nb201_env.rewards import AccuracyReward, CostPenaltyReward
from nb201_env.session import SearchSession


class FixedEvaluator:
    """Accuracy = index / 1000 %, cost = 10 s; counts calls so tests can see what was trained."""

    deterministic = True

    def __init__(self, cost=10.0):
        self.calls = 0
        self.cost = cost

    def evaluate(self, index, rng):
        self.calls += 1
        return Evaluation(index / 1000, self.cost)

    def evaluate_many(self, indices, rng):
        return indices / 1000, np.full(len(indices), self.cost)

    def test_accuracy(self, index):
        return 50.0

    def describe(self):
        return {"evaluator": "fixed"}


def test_nb201_rule_stops_before_exceeding():
    clock = SimulatedClock(25.0, "nb201")
    assert clock.charge(10) and clock.charge(10)
    assert not clock.charge(10)  # would reach 30 > 25: not performed
    assert clock.elapsed == 20 and clock.exhausted and clock.remaining == 5
    assert not clock.charge(1)  # nothing more once spent


def test_nats_rule_lets_the_last_evaluation_overrun():
    clock = SimulatedClock(25.0, "nats")
    assert clock.charge(10) and clock.charge(10) and clock.charge(10)
    assert clock.elapsed == 30 and clock.exhausted and clock.remaining == 0
    assert not clock.charge(10)


def test_exact_budget_and_no_budget():
    clock = SimulatedClock(20.0, "nb201")
    assert clock.charge(20) and not clock.exhausted  # exactly at the budget is allowed
    free = SimulatedClock()
    assert free.charge(1e9) and free.remaining == math.inf and not free.exhausted
    free.reset()
    assert free.elapsed == 0


@pytest.mark.parametrize(("kwargs", "needle"), [({"rule": "paper"}, "budget rule"), ({"budget": -1}, "positive")])
def test_bad_clock_arguments(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        SimulatedClock(**{"budget": 10.0, **kwargs})


def test_protocol_presets_match_the_papers():
    assert (PROTOCOLS["nb201"].dataset, PROTOCOLS["nb201"].budget, PROTOCOLS["nb201"].rule) == (
        "cifar10",
        12000,
        "nb201",
    )
    assert [PROTOCOLS[f"nats-{d}"].budget for d in ("cifar10", "cifar100", "ImageNet16-120")] == [20000, 40000, 120000]
    with pytest.raises(ValueError, match="unknown protocol 'darts'.*'nb201'"):
        get_protocol("darts")


def test_session_repeats_are_free_and_return_the_first_result():
    ev = FixedEvaluator()
    s = SearchSession(ev, SimulatedClock(100.0), AccuracyReward())
    rng = np.random.default_rng(0)
    r1, i1 = s.evaluate(500, rng)
    r2, i2 = s.evaluate(500, rng)
    assert ev.calls == 1 and i2["repeat"] and i2["cost"] == 0 and s.clock.elapsed == 10
    assert r1 == r2 == pytest.approx(0.005)
    charged = SearchSession(FixedEvaluator(), SimulatedClock(100.0), AccuracyReward(), charge_repeats=True)
    charged.evaluate(500, rng)
    _, info = charged.evaluate(500, rng)
    assert info["repeat"] and info["cost"] == 10 and charged.clock.elapsed == 20


def test_session_tracks_incumbent_and_trajectory():
    s = SearchSession(FixedEvaluator(), SimulatedClock(35.0, "nb201"), AccuracyReward(), report_test=True)
    rng = np.random.default_rng(0)
    for index in (300, 900, 100):
        _, info = s.evaluate(index, rng)
    assert info["best_arch"] == 900 and info["best_valid_accuracy"] == 0.9 and info["test_accuracy"] == 50.0
    reward, info = s.evaluate(5000, rng)  # 40 s > 35 s: not performed under the nb201 rule
    assert reward == 0 and not info["evaluated"] and info["budget_exhausted"] and info["valid_accuracy"] is None
    traj = s.trajectory.as_arrays()
    assert traj["arch"].tolist() == [300, 900, 100] and traj["time"].tolist() == [10, 20, 30]
    s.reset()
    assert s.clock.elapsed == 0 and s.best_index == -1 and s.trajectory.archs == []


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
