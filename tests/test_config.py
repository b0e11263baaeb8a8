"""EnvConfig: fields stated once, presets, the signal's fields, and what an injected evaluator refuses."""

import dataclasses

import numpy as np
import pytest

from nb201_env.config import ENV_FIELDS, RUN_FIELDS, SIGNAL_FIELDS, EnvConfig
from nb201_env.envs.sequential import NASBench201Env
from nb201_env.evaluators import TabularConfig
from nb201_env.training.env import ENV_ARGS


def test_the_field_lists_come_from_the_dataclasses():
    assert tuple(f.name for f in dataclasses.fields(TabularConfig)) == SIGNAL_FIELDS
    assert set(RUN_FIELDS) == {f.name for f in dataclasses.fields(EnvConfig)} - {"signal"}
    assert ENV_FIELDS == RUN_FIELDS + SIGNAL_FIELDS and not set(RUN_FIELDS) & set(SIGNAL_FIELDS)
    # the training env takes the run's fields but not the tabular signal's nor the store
    assert set(ENV_ARGS) == (set(RUN_FIELDS) - {"store"}) | {"render_mode", "reward"}


def test_a_protocol_presets_budget_rule_and_dataset_and_explicit_fields_win():
    config = EnvConfig.from_kwargs(protocol="nats-cifar100", budget=500.0)
    assert (config.dataset, config.budget, config.budget_rule) == ("cifar100", 500.0, "nats")
    assert EnvConfig(protocol="nats-ImageNet16-120").signal == TabularConfig(dataset="ImageNet16-120")
    assert EnvConfig().dataset == "cifar10" and EnvConfig().budget_rule == "nats" and EnvConfig().budget is None
    signal = EnvConfig.from_kwargs(schedule=200, epoch=199, seed_policy="fixed", seed=777).signal
    assert signal == TabularConfig("cifar10", 200, 199, "fixed", 777)


def test_contradictions_and_unknown_names_are_refused_by_name():
    with pytest.raises(ValueError, match="protocol 'nats-cifar100' searches cifar100, but the signal's dataset is"):
        EnvConfig(protocol="nats-cifar100", signal=TabularConfig(dataset="cifar10"))
    with pytest.raises(TypeError, match="keyword argument 'budjet'; valid keyword arguments are: 'protocol',"):
        EnvConfig.from_kwargs(budjet=10)
    with pytest.raises(TypeError, match="signal must be a TabularConfig"):
        EnvConfig(signal={"dataset": "cifar10"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fidelities must be distinct epochs within 0..11"):
        EnvConfig.from_kwargs(schedule=12, fidelities=(3, 3))
    assert EnvConfig.from_kwargs(fidelities=np.arange(3)).fidelities == (0, 1, 2)


def test_with_an_evaluator_the_signals_fields_and_store_are_refused_not_ignored():
    with pytest.raises(ValueError, match="with evaluator= the evaluator decides the signal; drop epoch, schedule"):
        EnvConfig.from_kwargs(with_evaluator=True, schedule=200, epoch=3, budget=10.0)
    with pytest.raises(ValueError, match="drop store"):
        EnvConfig.from_kwargs(with_evaluator=True, store="nb201-public")
    assert EnvConfig.from_kwargs(with_evaluator=True, protocol="nb201").budget == 12_000


def test_envs_refuse_the_same_through_their_keywords(public_bench):
    class Fixed:
        def evaluate(self, index, rng):
            return 50.0, 10.0

        def evaluate_many(self, indices, rng):
            return np.full(len(indices), 50.0), np.full(len(indices), 10.0)

        def test_accuracy(self, index):
            return 50.0

        def describe(self):
            return {"evaluator": "fixed"}

    with pytest.raises(ValueError, match="drop seed_policy"):
        NASBench201Env(evaluator=Fixed(), seed_policy="mean")
    with pytest.raises(ValueError, match="pass either benchmark= or store=, not both"):
        NASBench201Env(benchmark=public_bench, store="nb201-public")
    with pytest.raises(ValueError, match="pass either config= or keyword arguments"):
        NASBench201Env(config=EnvConfig(), budget=10.0)
    env = NASBench201Env(evaluator=Fixed(), budget=25.0)
    env.reset(seed=0)
    for op in (3, 3, 3, 1, 3, 2):
        *_, info = env.step(op)
    assert info["benchmark"] == "fixed" and info["valid_accuracy"] == 50.0 and env.unwrapped.clock.elapsed == 10.0
