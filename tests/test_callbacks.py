"""StopOnBudget stops stable-baselines3's learn loop when the search budget is spent and keeps the incumbent."""

import gymnasium as gym
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO

import nb201_env  # noqa: F401
from nb201_env.callbacks import StopOnBudget


@pytest.mark.parametrize("when", ["any", "all"])
def test_learning_stops_at_the_budget_with_the_runs_incumbent(public_bench, when):
    env = gym.make("NASBench201-v0", benchmark=public_bench, budget=2000.0, budget_rule="nb201")
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
    callback = StopOnBudget(when)
    model.learn(total_timesteps=100_000, callback=callback)
    clock = env.unwrapped.clock
    assert clock.exhausted and model.num_timesteps < 100_000  # stopped by the callback, not by the step limit
    runs = env.unwrapped.runs
    assert callback.best_arch == int(runs.best_arch[0]) and callback.best_valid_accuracy == runs.best_accuracy[0]
    assert 0 < callback.clock <= 2000.0


def test_a_bad_when_names_the_choices():
    with pytest.raises(ValueError, match="unknown when='some'; valid choices are 'any' and 'all'"):
        StopOnBudget("some")
