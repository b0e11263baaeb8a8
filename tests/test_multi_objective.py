"""The multi-objective envs: vector rewards under the MO-Gymnasium API, the run's Pareto front, clear errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import nb201_env  # noqa: F401  (registers the envs)
from nb201_env import locate
from nb201_env.benchmark import Benchmark
from nb201_env.envs.multi_objective import available_objectives
from nb201_env.pareto import pareto_mask
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
    assert set(mo_infos[-1]["pareto_archs"].tolist()) == front and len(front) > 2
    assert mo_infos[-1]["pareto_front"].shape == (len(front), 3)
    # a new search run starts an empty front; a plain reset keeps the run
    mo_env.reset()
    _, _, _, _, info = mo_env.step(all_ops()[0].astype(np.int64))
    assert len(info["pareto_archs"]) >= len(front)
    mo_env.reset(seed=9)
    _, _, _, _, info = mo_env.step(all_ops()[77].astype(np.int64))
    assert info["pareto_archs"].tolist() == [info["arch"]]


def test_only_full_fidelity_evaluations_enter_the_front(proxy_bench):
    env = gym.make("NASBench201-MO-OneShot-v0", benchmark=proxy_bench, budget=10**6, fidelities=(0, 2))
    env.reset(seed=0)
    cell = all_ops()[6111].astype(np.int64)
    _, reward, _, _, info = env.step(np.r_[cell, 0])
    assert info["epoch"] == 0 and reward[0] > 0 and len(info["pareto_archs"]) == 0
    _, reward, _, _, info = env.step(np.r_[cell, 1])
    assert info["epoch"] == 2 and info["pareto_archs"].tolist() == [6111]


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
    with pytest.raises(ValueError, match="not reward="):
        gym.make("NASBench201-MO-v0", benchmark=proxy_bench, reward=object())
    env = gym.make("NASBench201-MO-v0", benchmark=proxy_bench)
    assert env.unwrapped.describe()["objectives"] == ["valid_accuracy", "params_mb"]
    assert env.unwrapped.describe()["objective_units"] == ["%", "MB"]
