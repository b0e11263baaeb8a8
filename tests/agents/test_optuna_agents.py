"""The Optuna agents: the cell as six categoricals, TPE beating random search, BOHB's rungs and pruning."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from agents import optuna_bohb, optuna_space, optuna_tpe, random_search
from nb201_env.space import OPS, all_ops

pytest.importorskip("optuna")


def test_trial_parameters_round_trip_every_cell_in_official_order():
    ops = all_ops()
    for cell in ops[[0, 1, 6111, 15624]]:
        params = optuna_space.params_of(cell)
        assert list(params) == ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
        assert np.array_equal(optuna_space.ops_of(params), cell)
    assert optuna_space.params_of(np.array([3, 3, 3, 1, 3, 2]))["3<-2"] == "nor_conv_1x1"
    optuna = optuna_space.import_optuna()
    space = optuna_space.cell_distributions(optuna)
    assert all(d.choices == OPS for d in space.values())


def test_tpe_finds_better_cells_than_random_search(make_env):
    """Mean best validation accuracy over 10 runs of the NB201 protocol (12,000 s; deterministic seeds)."""
    env = make_env()
    tpe = np.mean([optuna_tpe.search(env, optuna_tpe.Args(), s).valid_accuracy.max() for s in range(10)])
    rand = np.mean([random_search.search(env, random_search.Args(), s).valid_accuracy.max() for s in range(10)])
    assert tpe > rand + 0.2, (tpe, rand)


def test_tpe_answers_repeats_from_memory_and_stops_when_converged(make_env):
    env = make_env(budget=10**9)  # the budget would outlast the run: convergence must end it
    searcher = optuna_tpe.OptunaTPE(optuna_tpe.Args(n_startup_trials=1, max_repeats=5), seed=0)
    from agents.common import run_search

    result = run_search(env, searcher, seed=0, max_steps=3000)
    assert searcher.done and "already evaluated" in result.settings["stopped"]
    # every cell but the last (the converged repeat) was new to the run
    assert len(set(result.archs[:-1].tolist())) == result.evaluations - 1
    assert len(searcher.study.trials) > result.evaluations  # repeats were told to the study, not evaluated


def test_bohb_starts_trials_at_their_bracket_and_prunes_on_a_multi_fidelity_store(curve_bench):
    env = gym.make(optuna_bohb.ENV_ID, benchmark=curve_bench, budget=5000.0, budget_rule="nb201", fidelities=range(12))
    result = optuna_bohb.search(env, optuna_bohb.Args(), seed=0)
    s = result.settings
    assert s["rungs"] == [0, 3, 11] and "degraded" not in s and env.unwrapped.clock.exhausted
    assert s["pruned"] > 0 and s["completed"] > 0
    assert set(result.epochs.tolist()) == {0, 3, 11}
    # only the epochs trained are charged: 10 s per epoch plus a 1 s validation pass
    costs = np.diff(np.concatenate([[0.0], result.times]))
    repeat = costs == 0
    assert np.allclose(costs[~repeat], 10 * (result.epochs[~repeat] + 1) + 1)
    # a cell judged at a higher rung passed the lower rungs of its bracket first, unless its bracket starts there
    first_rung = {}
    for arch, epoch in zip(result.archs.tolist(), result.epochs.tolist()):
        first_rung.setdefault(arch, epoch)
    assert set(first_rung.values()) == {0, 3, 11}  # the three Hyperband brackets each start some trials
    top = result.epochs == 11
    assert result.best_arch == result.archs[top][np.argmax(result.valid_accuracy[top])]
    # the pruner's work is visible: fewer full-fidelity evaluations than trials
    assert top.sum() < s["trials"]


def test_bohb_with_one_fidelity_is_tpe_and_says_so(make_env):
    env = make_env(optuna_bohb.ENV_ID, budget=3000.0, fidelities=(11,))
    result = optuna_bohb.search(env, optuna_bohb.Args(), seed=2)
    assert "i.e. TPE" in result.settings["degraded"] and result.settings["pruned"] == 0
    assert set(result.epochs.tolist()) == {11}
