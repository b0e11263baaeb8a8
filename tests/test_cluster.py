import gymnasium as gym
import numpy as np
import pytest

import nb201_env  # noqa: F401
from benchmarks.harness.cluster import simulate
from nb201_env.evaluators import TabularConfig, TabularEvaluator


@pytest.mark.parametrize("agent", ["random", "rea", "reinforce"])
def test_one_worker_equals_the_sequential_environment(public_bench, agent):
    import importlib

    modules = {"random": "agents.random_search", "rea": "agents.regularized_evolution", "reinforce": "agents.reinforce"}
    module = importlib.import_module(modules[agent])
    env = gym.make(module.ENV_ID, benchmark=public_bench, protocol="nb201", seed_policy="mean")
    sequential = module.search(env, module.Args(), 3)
    evaluator = TabularEvaluator(public_bench, TabularConfig(seed_policy="mean"))
    simulated = simulate(agent, evaluator, 12_000, 1, 3)
    assert simulated.archs.tolist() == sequential.archs.tolist()
    assert np.allclose(simulated.times, sequential.times) and simulated.best_arch == sequential.best_arch


def test_more_workers_evaluate_more_within_the_same_wall_clock(public_bench):
    evaluator = TabularEvaluator(public_bench, TabularConfig(seed_policy="mean"))
    one = simulate("random", evaluator, 6000, 1, 0)
    eight = simulate("random", evaluator, 6000, 8, 0)
    assert eight.evaluations > 6 * one.evaluations
    assert eight.times.max() <= 6000 and np.all(np.diff(eight.times) >= 0)
    with pytest.raises(ValueError, match="workers must be an int >= 1"):
        simulate("random", evaluator, 6000, 0, 0)
    with pytest.raises(ValueError, match="unknown agent 'ppo'"):
        simulate("ppo", evaluator, 6000, 2, 0)
