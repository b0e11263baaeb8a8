"""The multi-objective envs: vector rewards under the MO-Gymnasium API, the run's Pareto front, clear errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import nb201_env
from nb201_env import locate
from nb201_env.benchmark import Benchmark
from nb201_env.config import EnvConfig
from nb201_env.envs.base import make_search_runs
from nb201_env.envs.sequential import NASBench201Env
from nb201_env.objectives import ObjectivesReward, available_objectives
from nb201_env.pareto import pareto_mask
from nb201_env.rewards import CostPenaltyReward
from nb201_env.space import all_ops

mo_gym = pytest.importorskip("mo_gymnasium")
PIXEL3 = ("valid_accuracy", "latency_ms/pixel3")


@pytest.fixture(scope="module")
def proxy_bench():
    return Benchmark.open(locate.bundled_store_path("nb201-proxy-cifar10"))


def _random_run(env, seed: int, steps: int):
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    infos, rewards = [], []
    for _ in range(steps):
        _, reward, _, truncated, info = env.step(all_ops()[rng.integers(15625)].astype(np.int64))
        infos.append(info)
        rewards.append(reward)
        if truncated:
            break
    return rewards, infos


def test_linear_reward_wrapper_scalarizes_the_vector_of_store_figures(public_bench):
    env = mo_gym.make("NASBench201-MO-v0", benchmark=public_bench, protocol="nb201", objectives=PIXEL3)
    assert env.unwrapped.reward_space.shape == (2,)
    weights = np.array([1.0, 0.02], dtype=np.float32)
    wrapped = mo_gym.wrappers.LinearReward(env, weight=weights)
    wrapped.reset(seed=0)
    for op in [3, 3, 3, 1, 3, 2][:-1]:
        _, reward, *_ = wrapped.step(op)
        assert reward == 0.0
    _, reward, terminated, _, info = wrapped.step(2)
    arch = info["arch"]
    expected = np.array(
        [public_bench.validation(arch, "cifar10").accuracy / 100, -public_bench.stat(arch, "latency_ms", "pixel3")]
    )
    assert terminated and np.allclose(info["vector_reward"], expected, rtol=1e-6)
    assert reward == pytest.approx(float(expected @ weights), rel=1e-5)
    assert env.unwrapped.reward_space.contains(info["vector_reward"])
    assert info["objectives"]["latency_ms/pixel3"] == public_bench.stat(arch, "latency_ms", "pixel3")


def test_episode_statistics_wrapper_sums_vector_rewards(public_bench):
    env = mo_gym.make("NASBench201-MO-v0", benchmark=public_bench, protocol="nb201", objectives=PIXEL3)
    env = mo_gym.wrappers.MORecordEpisodeStatistics(env)
    env.reset(seed=1)
    for op in [1, 2, 3, 4, 0, 3]:
        _, reward, terminated, _, info = env.step(op)
    assert terminated and np.allclose(info["episode"]["r"], reward)


def test_same_run_and_clock_as_the_single_objective_env_and_a_front_of_the_run(public_bench):
    kwargs = {"benchmark": public_bench, "protocol": "nb201", "budget": 6000.0}
    mo_env = gym.make("NASBench201-MO-OneShot-v0", objectives=(*PIXEL3, "params_mb"), **kwargs)
    so_env = gym.make("NASBench201-OneShot-v0", **kwargs)
    mo_rewards, mo_infos = _random_run(mo_env, 5, 500)
    so_rewards, so_infos = _random_run(so_env, 5, 500)
    assert [i["clock"] for i in mo_infos] == [i["clock"] for i in so_infos]
    assert mo_infos[-1]["budget_exhausted"] and mo_infos[-1]["best_arch"] == so_infos[-1]["best_arch"]
    assert [r[0] for r in mo_rewards] == pytest.approx(so_rewards)  # accuracy entry = the scalar reward
    assert not mo_rewards[-1].any()  # the evaluation that would cross the budget is not performed
    space = mo_env.unwrapped.reward_space
    assert all(space.contains(r) for r in mo_rewards)
    # the front is the non-dominated set of everything evaluated in the run
    evaluated = [(i["arch"], r) for i, r in zip(mo_infos, mo_rewards) if i["evaluated"]]
    archs = np.array([a for a, _ in evaluated])
    points = np.array([r for _, r in evaluated], dtype=np.float64)
    front = set(archs[pareto_mask(points)].tolist())
    front_archs, front_points = mo_env.get_wrapper_attr("pareto_front")()
    assert set(front_archs.tolist()) == front and len(front) > 2 and mo_infos[-1]["pareto_size"] == len(front)
    assert front_points.shape == (len(front), 3) and front_points.dtype == np.float32
    # a new search run starts an empty front; a plain reset keeps the run
    mo_env.reset()
    _, _, _, _, info = mo_env.step(all_ops()[0].astype(np.int64))
    assert info["pareto_size"] >= len(front)
    mo_env.reset(seed=9)
    _, _, _, _, info = mo_env.step(all_ops()[77].astype(np.int64))
    assert info["pareto_size"] == 1 and mo_env.unwrapped.pareto_front()[0].tolist() == [info["arch"]]


def test_only_full_fidelity_evaluations_enter_the_front(proxy_bench):
    env = gym.make("NASBench201-MO-OneShot-v0", benchmark=proxy_bench, budget=10**6, fidelities=(0, 2))
    env.reset(seed=0)
    cell = all_ops()[6111].astype(np.int64)
    _, reward, _, _, info = env.step(np.r_[cell, 0])
    assert info["epoch"] == 0 and reward[0] > 0 and info["pareto_size"] == 0
    _, reward, _, _, info = env.step(np.r_[cell, 1])
    assert info["epoch"] == 2 and env.unwrapped.pareto_front()[0].tolist() == [6111] and info["pareto_size"] == 1


def test_objectives_are_named_by_the_store_and_bad_ones_list_the_valid_choices(proxy_bench, public_bench):
    assert available_objectives(proxy_bench, "cifar10") == ("valid_accuracy", "flops_m", "params_mb")
    public = available_objectives(public_bench, "cifar10")
    assert len([n for n in public if n.startswith("latency_ms/")]) == 27 and "params_mb" in public
    with pytest.raises(ValueError, match=r"unknown objective 'latency_ms/pixel3' .*valid choices are: "
                       r"valid_accuracy, flops_m, params_mb"):  # fmt: skip
        gym.make("NASBench201-MO-v0", benchmark=proxy_bench, objectives=PIXEL3)
    for bad in [("params_mb",), ("valid_accuracy",), ("valid_accuracy", "params_mb", "params_mb")]:
        with pytest.raises(ValueError, match="must name 'valid_accuracy' and at least one cost"):
            gym.make("NASBench201-MO-v0", benchmark=proxy_bench, objectives=bad)
    with pytest.raises(ValueError, match=r"rewards a vector of objectives.*reward=object\(\.\.\.\) is not a Vector"):
        gym.make("NASBench201-MO-v0", benchmark=proxy_bench, reward=object())
    env = gym.make("NASBench201-MO-v0", benchmark=proxy_bench)
    assert env.unwrapped.describe()["objectives"] == ["valid_accuracy", "params_mb"]
    assert env.unwrapped.describe()["objective_units"] == ["%", "MB"]


def _energy(scale: float = 1.0) -> np.ndarray:
    return scale * (1.0 + np.arange(15625) % 7)  # a cost of our own, not in any store


def test_an_injected_vector_reward_brings_its_own_costs_and_units(proxy_bench):
    reward = ObjectivesReward(("valid_accuracy", "energy_mj"), {"energy_mj": _energy()}, units=("%", "mJ"))
    env = gym.make("NASBench201-MO-OneShot-v0", benchmark=proxy_bench, reward=reward)
    env.reset(seed=0)
    _, vector, terminated, _, info = env.step(all_ops()[6111].astype(np.int64))
    assert terminated and np.allclose(vector, [info["valid_accuracy"] / 100, -(1.0 + 6111 % 7)])
    assert info["objectives"] == {"valid_accuracy": info["valid_accuracy"], "energy_mj": 1.0 + 6111 % 7}
    assert env.unwrapped.reward_space is reward.reward_space and env.unwrapped.objectives == reward.objectives
    assert env.unwrapped.describe()["objective_units"] == ["%", "mJ"]
    assert env.unwrapped.pareto_front()[0].tolist() == [6111]


def test_any_search_env_rewards_the_objectives_it_is_given(public_bench):
    """objectives= on NASBench201-v0 builds the same vector reward as the multi-objective env's."""
    kwargs = {"benchmark": public_bench, "protocol": "nb201", "objectives": PIXEL3}
    plain, mo = NASBench201Env(**kwargs), gym.make("NASBench201-MO-v0", **kwargs).unwrapped
    rewards = []
    for env in (plain, mo):
        env.reset(seed=3)
        steps = [env.step(op) for op in [3, 3, 3, 1, 3, 2]]
        assert all(np.array_equal(r, np.zeros(2, np.float32)) for _, r, *_ in steps[:-1])
        rewards.append(steps[-1][1])
    assert np.array_equal(*rewards) and plain.reward_space == mo.reward_space
    assert not hasattr(NASBench201Env(benchmark=public_bench), "reward_space")  # a scalar reward has none


def test_a_scalar_reward_or_two_rewards_are_refused_with_the_reason(proxy_bench):
    scalar = r"reward=CostPenaltyReward\(\.\.\.\) is not a VectorReward .*belongs to NASBench201-v0"
    with pytest.raises(ValueError, match=scalar):
        gym.make("NASBench201-MO-v0", benchmark=proxy_bench, reward=CostPenaltyReward.params(0.1))
    reward = ObjectivesReward(("valid_accuracy", "energy_mj"), {"energy_mj": _energy()})
    with pytest.raises(ValueError, match="pass either objectives= .* or reward=, not both"):
        gym.make("NASBench201-MO-v0", benchmark=proxy_bench, reward=reward, objectives=("valid_accuracy", "flops_m"))


class _NoStoreEvaluator:
    """An evaluator without a benchmark store (as real training is): accuracy = index % 100, cost 1 s."""

    deterministic = True

    def evaluate(self, index, rng):
        return float(index % 100), 1.0

    def evaluate_many(self, indices, rng):
        return (indices % 100).astype(float), np.ones(len(indices))

    def test_accuracy(self, index):
        return 0.0

    def describe(self):
        return {"evaluator": "no-store", "epoch": 0}


def test_objectives_need_a_store_but_an_injected_reward_does_not():
    with pytest.raises(
        TypeError, match=r"objectives= reads its costs from a benchmark store.*reward=.*ObjectivesReward"
    ):
        gym.make("NASBench201-MO-OneShot-v0", evaluator=_NoStoreEvaluator(), budget=10.0)
    reward = ObjectivesReward(("energy_mj", "valid_accuracy"), {"energy_mj": _energy(2.0)})
    env = gym.make("NASBench201-MO-OneShot-v0", evaluator=_NoStoreEvaluator(), budget=10.0, reward=reward)
    env.reset(seed=0)
    _, vector, *_ = env.step(all_ops()[250].astype(np.int64))
    assert np.allclose(vector, [-2.0 * (1 + 250 % 7), 0.5]) and env.unwrapped.describe()["objective_units"] == ["", "%"]


def test_a_reward_of_objectives_checks_its_tables_and_reads_many_as_one(public_bench):
    reward = ObjectivesReward.from_benchmark(public_bench, "cifar10", (*PIXEL3, "params_mb"))
    archs = np.array([0, 6111, 15624])
    accuracy = np.array([10.0, 84.384, 91.5])
    assert np.array_equal(reward.many(accuracy, archs), np.stack([reward(a, i) for a, i in zip(accuracy, archs)]))
    assert reward.units == ("%", "ms", "MB")
    for costs, needle in (
        ({}, "must hold a table for each cost objective"),
        ({"energy_mj": np.ones(3)}, r"one number per architecture \(15625,\), no NaN"),
        ({"energy_mj": np.full(15625, np.nan)}, "no NaN"),
    ):
        with pytest.raises(ValueError, match=needle):
            ObjectivesReward(("valid_accuracy", "energy_mj"), costs)
    with pytest.raises(ValueError, match="give one unit per objective"):
        ObjectivesReward(("valid_accuracy", "energy_mj"), {"energy_mj": _energy()}, units=("%",))


def test_vector_runs_reward_vectors_and_zeros_where_nothing_counted(public_bench):
    reward = ObjectivesReward.from_benchmark(public_bench, "cifar10", PIXEL3)
    config = EnvConfig.from_kwargs(protocol="nb201", budget=400.0, seed_policy="mean")
    runs = make_search_runs(3, config, public_bench, reward=reward)
    rng = np.random.default_rng(0)
    archs = np.array([6111, 0, 42])
    first, info = runs.evaluate(archs, rng)
    assert first.shape == (3, 2) and info["evaluated"].all()
    assert np.array_equal(first, reward.many(info["valid_accuracy"], archs))
    for k in range(1, 6):  # the 400 s run out: what is not counted is rewarded with zeros
        rewards, info = runs.evaluate(archs + 100 * k, rng)
    assert not info["evaluated"].any() and not rewards.any() and rewards.shape == (3, 2)


def test_reward_dim_and_a_wrapper_that_reads_it(public_bench):
    """MO-Gymnasium's wrappers and env tests read ``env.unwrapped.reward_dim``."""
    env = mo_gym.make("NASBench201-MO-v0", benchmark=public_bench, protocol="nb201", objectives=(*PIXEL3, "flops_m"))
    assert env.unwrapped.reward_dim == 3 == env.unwrapped.reward_space.shape[0]
    skipping = mo_gym.wrappers.MOMaxAndSkipObservation(env, skip=3)
    skipping.reset(seed=0)
    _, first, *_ = skipping.step(3)  # three edges per call: no cell is finished yet
    _, second, terminated, _, info = skipping.step(1)
    assert first.shape == second.shape == (3,) and not first.any() and terminated
    reward = ObjectivesReward.from_benchmark(public_bench, "cifar10", (*PIXEL3, "flops_m"))
    expected = reward(info["valid_accuracy"], info["arch"])
    assert info["arch"] == nb201_env.Arch.from_ops([3, 3, 3, 1, 1, 1]).index and np.array_equal(second, expected)
    with pytest.raises(RuntimeError, match="pareto_front\\(\\) needs a vector reward"):
        NASBench201Env(benchmark=public_bench).pareto_front()


def test_mo_gymnasiums_vector_env_steps_through_whole_runs(public_bench):
    """``info`` keeps one shape for the whole run (the front's size is a number, the front a method), so
    ``MOSyncVectorEnv``, MO-Gymnasium's documented way to vectorise, stacks it. (Its ``MOAsyncVectorEnv`` 1.3.2
    does not start under Gymnasium 1.4, whatever the env.)"""
    cls = mo_gym.wrappers.vector.MOSyncVectorEnv
    make = lambda: mo_gym.make("NASBench201-MO-OneShot-v0", benchmark=public_bench, budget=3000.0)  # noqa: E731
    envs = cls([make for _ in range(2)])
    envs.reset(seed=0)
    envs.action_space.seed(0)
    sizes = []
    for _ in range(80):  # several resets and a front that grows and shrinks
        _, rewards, terminated, truncated, info = envs.step(envs.action_space.sample())
        assert rewards.shape == (2, 2)
        if "pareto_size" in info:
            sizes.append(info["pareto_size"][info["_pareto_size"]].max())
        if "objectives" in info:  # present where an evaluation counted
            assert info["objectives"]["valid_accuracy"].shape == (2,)
    assert max(sizes) >= 3
    archs, points = envs.call("pareto_front")[0]
    assert len(archs) == len(points) >= 1
    envs.close()
