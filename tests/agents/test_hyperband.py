"""Hyperband: random search with one fidelity, successive halving over several on a synthetic curve store."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from agents import hyperband


def test_rung_ladder_follows_powers_of_eta_within_the_offered_epochs():
    assert hyperband.rung_ladder(tuple(range(12)), 3) == [0, 3, 11]  # resources 1, 4, 12 epochs
    assert hyperband.rung_ladder((3, 11), 3) == [3, 11]
    assert hyperband.rung_ladder((5, 11), 3) == [11]  # 6 epochs is more than 12 / 3
    assert hyperband.rung_ladder(tuple(range(200)), 3) == [1, 6, 21, 65, 199]
    assert hyperband.rung_ladder((11,), 3) == [11]


@pytest.mark.parametrize("fidelities", [None, (11,)])
def test_one_fidelity_degrades_to_random_search_and_says_so(fidelities, make_env, no_test_accuracy):
    kwargs = {} if fidelities is None else {"fidelities": fidelities}
    env = make_env(hyperband.ENV_ID, budget=4000.0, **kwargs)
    result = hyperband.search(env, hyperband.Args(), seed=0)
    assert "random search" in result.settings["degraded"] and result.settings["rungs"] == [11]
    assert set(result.epochs.tolist()) == {11} and env.unwrapped.clock.exhausted
    assert result.best_arch == result.archs[np.argmax(result.valid_accuracy)]
    # one random cell per bracket (the last bracket's cell would have crossed the budget)
    assert result.settings["brackets"] == result.evaluations + 1


def test_several_fidelities_run_successive_halving(curve_bench):
    env = gym.make(hyperband.ENV_ID, benchmark=curve_bench, budget=2000.0, budget_rule="nb201", fidelities=range(12))
    result = hyperband.search(env, hyperband.Args(), seed=0)
    assert result.settings["rungs"] == [0, 3, 11] and result.settings["s_max"] == 2
    assert "degraded" not in result.settings and env.unwrapped.clock.exhausted
    epochs = result.epochs.tolist()
    # brackets s = 2, 1, 0: 9 cells at epoch 0 -> best 3 at epoch 3 -> best 1 at epoch 11; 5 at 3 -> 1 at 11; 3 at 11
    expected = [0] * 9 + [3] * 3 + [11] + [3] * 5 + [11] + [11] * 3
    assert epochs[: len(expected)] == expected
    archs, valid = result.archs.tolist(), result.valid_accuracy
    top3 = [archs[i] for i in np.argsort(-valid[:9], kind="stable")[:3]]
    assert archs[9:12] == top3 and archs[12] == archs[9 + int(np.argmax(valid[9:12]))]
    assert len(set(archs[:9])) == 9  # a bracket samples distinct cells
    # each evaluation costs 10 s per epoch trained plus a 1 s validation pass
    costs = np.diff(np.concatenate([[0.0], result.times]))
    assert np.allclose(costs, 10 * (result.epochs + 1) + 1)
    # the reported cell is the best at the top rung, not at a cheaper one
    top = result.epochs == 11
    assert result.best_arch == result.archs[top][np.argmax(result.valid_accuracy[top])]


def test_two_stored_epochs_give_two_rungs(curve_bench):
    env = gym.make(hyperband.ENV_ID, benchmark=curve_bench, budget=1000.0, budget_rule="nb201", fidelities=(3, 11))
    result = hyperband.search(env, hyperband.Args(), seed=1)
    assert result.settings["rungs"] == [3, 11] and set(result.epochs.tolist()) == {3, 11}
    assert result.epochs.tolist()[:6] == [3, 3, 3, 11, 11, 11]  # s = 1: 3 cells, then the best; s = 0: 2 cells


def test_min_epoch_above_every_offered_epoch_names_them(make_env):
    env = make_env(hyperband.ENV_ID, budget=1000.0, fidelities=(11,))
    with pytest.raises(ValueError, match=r"offered epochs: \[11\]"):
        hyperband.search(env, hyperband.Args(min_epoch=20), seed=0)
