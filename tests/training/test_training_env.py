"""``NASBench201-Train-v0``'s arguments: the run's fields go to the environment, the signal's are refused."""

import gymnasium as gym
import pytest

import nb201_env  # noqa: F401
from nb201_env.training.env import ENV_ARGS, make_training_env


@pytest.mark.parametrize("name", ["schedule", "epoch", "seed_policy", "store", "budjet"])
def test_arguments_it_does_not_take_are_named_with_the_valid_ones(name, tmp_path):
    with pytest.raises(ValueError, match=f"unknown argument '{name}'; valid ones are root, recipe") as error:
        make_training_env(tmp_path, **{name: 1})
    assert all(arg in str(error.value) for arg in ENV_ARGS)


def test_a_protocol_must_search_the_dataset_it_trains_on(tmp_path):
    with pytest.raises(ValueError, match="protocol 'nats-cifar100' searches cifar100, but dataset='cifar10'"):
        gym.make("NASBench201-Train-v0", root=str(tmp_path), protocol="nats-cifar100")
