"""The edges of the single and native vector envs: step before reset, numpy-integer seeds, budgets beyond a float."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import nb201_env  # noqa: F401  (registers the envs)
from nb201_env.envs.oneshot import NASBench201OneShotEnv
from nb201_env.envs.sequential import NASBench201Env
from nb201_env.envs.vector import NASBench201OneShotVectorEnv, NASBench201VectorEnv

CELL = np.array([3, 3, 3, 1, 3, 2])

ENVS: dict[str, tuple[Callable[..., Any], Any]] = {
    "single": (lambda **kw: NASBench201Env(**kw), 3),
    "single one-shot": (lambda **kw: NASBench201OneShotEnv(**kw), CELL),
    "vector": (lambda **kw: NASBench201VectorEnv(2, **kw), np.array([3, 3])),
    "vector one-shot": (lambda **kw: NASBench201OneShotVectorEnv(2, **kw), np.stack([CELL, CELL])),
}


@pytest.mark.parametrize("kind", list(ENVS))
def test_step_before_reset_raises_reset_needed(public_bench, kind: str) -> None:
    make, action = ENVS[kind]
    env = make(benchmark=public_bench)
    with pytest.raises(gym.error.ResetNeeded, match=r"call reset\(\) before step\(\)"):
        env.step(action)
    env.reset(seed=0)
    env.step(action)  # after reset the same step is fine


def test_the_sequential_env_never_shows_unchosen_edges_as_none(public_bench) -> None:
    env = NASBench201Env(benchmark=public_bench)
    with pytest.raises(gym.error.ResetNeeded):
        env.step(3)
    obs, _ = env.reset(seed=0)
    assert obs.tolist() == [5, 5, 5, 5, 5, 5, 0]
    obs, *_ = env.step(3)
    assert obs.tolist() == [3, 5, 5, 5, 5, 5, 1]


@pytest.mark.parametrize("kind", list(ENVS))
@pytest.mark.parametrize("seed", [np.int64(3), np.uint8(3), np.int32(3)])
def test_a_numpy_integer_seed_seeds_as_the_same_python_int(public_bench, kind: str, seed: np.integer) -> None:
    make, action = ENVS[kind]
    runs = []
    for s in (3, seed):
        env = make(benchmark=public_bench, seed_policy="random", charge_repeats=True)
        env.reset(seed=s)
        steps = [env.step(action) for _ in range(6)]
        runs.append([np.asarray(reward).tolist() for _, reward, *_ in steps])
        assert env.np_random_seed == 3 and type(env.np_random_seed) is int
    assert runs[0] == runs[1]


def test_gym_make_and_make_vec_take_numpy_seeds(public_bench) -> None:
    obs, _ = gym.make("NASBench201-v0", benchmark=public_bench).reset(seed=np.int64(3))
    assert obs.tolist() == [5, 5, 5, 5, 5, 5, 0]
    vec = gym.make_vec("NASBench201-v0", num_envs=2, vectorization_mode="vector_entry_point", benchmark=public_bench)
    obs, _ = vec.reset(seed=np.int64(3))
    assert obs.shape == (2, 7)


@pytest.mark.parametrize("budget", [10**400, -(10**400)])
@pytest.mark.parametrize("kind", ["single", "vector", "gym.make", "make_vec"])
def test_a_budget_beyond_a_float_is_named(public_bench, budget: int, kind: str) -> None:
    makers = {
        "single": lambda: NASBench201Env(benchmark=public_bench, budget=budget),
        "vector": lambda: NASBench201VectorEnv(2, benchmark=public_bench, budget=budget),
        "gym.make": lambda: gym.make("NASBench201-OneShot-v0", benchmark=public_bench, budget=budget),
        "make_vec": lambda: gym.make_vec(
            "NASBench201-OneShot-v0", num_envs=2, vectorization_mode="vector_entry_point", budget=budget
        ),
    }
    with pytest.raises(ValueError, match=r"budget \(simulated seconds\) must be a positive finite number") as error:
        makers[kind]()
    assert "beyond the range of a float" in str(error.value) and str(budget)[:20] in str(error.value)
