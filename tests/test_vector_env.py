import gymnasium as gym
import numpy as np
import pytest

import nb201_env  # noqa: F401
from nb201_env.env import NASBench201Env
from nb201_env.oneshot import NASBench201OneShotEnv
from nb201_env.space import all_ops
from nb201_env.vector_env import NASBench201OneShotVectorEnv, NASBench201VectorEnv


def test_make_vec_uses_the_native_implementation(public_bench):
    env = gym.make_vec("NASBench201-OneShot-v0", num_envs=3, benchmark=public_bench)
    assert isinstance(env.unwrapped, NASBench201OneShotVectorEnv)
    env = gym.make_vec("NASBench201-v0", num_envs=3, benchmark=public_bench)
    assert isinstance(env.unwrapped, NASBench201VectorEnv)


@pytest.mark.parametrize("rule", ["nb201", "nats"])
def test_oneshot_vector_matches_independent_single_envs(public_bench, rule):
    n, steps = 5, 40
    rng = np.random.default_rng(0)
    archs = rng.integers(15625, size=(steps, n)) % 40  # few distinct archs: many repeats
    vec = NASBench201OneShotVectorEnv(n, benchmark=public_bench, budget=2000.0, budget_rule=rule)
    singles = [NASBench201OneShotEnv(benchmark=public_bench, budget=2000.0, budget_rule=rule) for _ in range(n)]
    vec.reset(seed=0)
    for s in singles:
        s.reset(seed=0)
    for t in range(steps):
        ops = all_ops()[archs[t]].astype(np.int64)
        obs, rew, term, trunc, info = vec.step(ops)
        for i, env in enumerate(singles):
            o, r, te, tr, inf = env.step(ops[i])
            assert np.allclose(obs[i], o) and rew[i] == pytest.approx(r) and (term[i], trunc[i]) == (te, tr)
            assert info["clock"][i] == pytest.approx(inf["clock"]) and info["best_arch"][i] == inf["best_arch"]
            assert info["repeat"][i] == inf["repeat"]
    assert info["budget_exhausted"].all() and info["_arch"].all()


def test_sequential_vector_matches_single_env(public_bench):
    n = 4
    vec = NASBench201VectorEnv(n, benchmark=public_bench, budget=1500.0, budget_rule="nb201")
    singles = [NASBench201Env(benchmark=public_bench, budget=1500.0, budget_rule="nb201") for _ in range(n)]
    obs, _ = vec.reset(seed=0)
    for s in singles:
        s.reset(seed=0)
    rng = np.random.default_rng(1)
    for t in range(6 * 25):
        actions = rng.integers(5, size=n)
        masks = vec.action_masks()
        assert masks.shape == (n, 5)
        obs, rew, term, trunc, info = vec.step(actions)
        for i, env in enumerate(singles):
            assert np.array_equal(masks[i], env.action_masks())
            o, r, te, tr, inf = env.step(int(actions[i]))
            if te or tr or t % 6 == 5:
                assert np.array_equal(info["final_obs"][i], o) and info["arch"][i] == inf["arch"]
                o, _ = env.reset()
            assert np.array_equal(obs[i], o) and rew[i] == pytest.approx(r) and (term[i], trunc[i]) == (te, tr)


def test_bad_vector_actions_are_refused(public_bench):
    vec = NASBench201OneShotVectorEnv(2, benchmark=public_bench)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(2, 6\)"):
        vec.step(np.zeros((3, 6), dtype=np.int64))
    with pytest.raises(ValueError, match="op ids 0..4"):
        vec.step(np.full((2, 6), 7))
    with pytest.raises(ValueError, match="positive int"):
        NASBench201OneShotVectorEnv(0, benchmark=public_bench)
    with pytest.raises(ValueError, match="single one-shot env only"):
        NASBench201OneShotVectorEnv(2, benchmark=public_bench, fidelities=(11,))
