"""The stable-baselines3 agents: stop on the budget, record what the env evaluated, reproducible, masked."""

from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("sb3_contrib")

from agents import sb3_agents
from nb201_env.masks import connected_by_index


@pytest.mark.parametrize("algo", sb3_agents.ALGOS)
def test_trains_until_the_budget_is_spent_and_reports_the_best_cell(algo, make_env, no_test_accuracy):
    env = make_env(sb3_agents.ENV_ID, budget=1500.0)
    np.random.seed(3)
    random.seed(3)
    result = sb3_agents.search(env, sb3_agents.Args(algo=algo), seed=0)
    assert np.random.random() == np.random.RandomState(3).random() and random.random() == random.Random(3).random()
    traj = env.unwrapped.runs.trajectory().as_arrays()
    assert np.array_equal(result.archs, traj["arch"]) and np.array_equal(result.times, traj["time"])
    assert np.array_equal(result.valid_accuracy, traj["valid_accuracy"])
    assert env.unwrapped.clock.exhausted and result.times[-1] <= 1500.0 and result.settings["budget_spent"]
    assert np.all(np.diff(result.times) >= 0) and result.evaluations >= 5
    assert result.best_arch == result.archs[np.argmax(result.valid_accuracy)]
    assert result.agent == algo and result.settings["env_steps"] >= 6 * result.evaluations


@pytest.mark.parametrize("algo", ["ppo", "maskable_ppo"])
def test_same_seed_same_run_different_seed_different_run(algo, make_env):
    env = make_env(sb3_agents.ENV_ID, budget=1000.0)
    first, other, again = (sb3_agents.search(env, sb3_agents.Args(algo=algo), seed) for seed in (0, 1, 0))
    assert np.array_equal(first.archs, again.archs) and np.array_equal(first.times, again.times)
    assert not np.array_equal(first.archs, other.archs)


def test_maskable_ppo_only_builds_connected_cells(make_env):
    env = make_env(sb3_agents.ENV_ID, budget=3000.0)
    result = sb3_agents.search(env, sb3_agents.Args(algo="maskable_ppo"), seed=2)
    assert connected_by_index()[result.archs].all()


def test_bad_args_name_the_valid_values():
    with pytest.raises(ValueError, match="valid choices are: ppo, a2c, dqn, maskable_ppo"):
        sb3_agents.Args(algo="sac")
    with pytest.raises(ValueError, match="gamma must be in"):
        sb3_agents.Args(gamma=0.0)
    with pytest.raises(ValueError, match="net_arch must be a non-empty tuple"):
        sb3_agents.Args(net_arch=())
    with pytest.raises(ValueError, match="stall_patience must be None or an int >= 1"):
        sb3_agents.Args(stall_patience=0)


def test_needs_a_budget(public_bench):
    import gymnasium as gym

    env = gym.make(sb3_agents.ENV_ID, benchmark=public_bench)
    with pytest.raises(ValueError, match="need a time budget"):
        sb3_agents.search(env, sb3_agents.Args(), seed=0)
