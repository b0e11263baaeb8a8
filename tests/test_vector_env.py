"""The native vector envs: the same runs, rewards and ``info`` as independent single envs, and Gymnasium's
``SAME_STEP`` autoreset convention (``final_obs`` / ``final_info``) exactly as its own ``SyncVectorEnv`` gives it."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import nb201_env  # noqa: F401
from nb201_env.envs.oneshot import NASBench201OneShotEnv
from nb201_env.envs.sequential import NASBench201Env
from nb201_env.envs.vector import NASBench201OneShotVectorEnv, NASBench201VectorEnv
from nb201_env.search_runs import INFO_KEYS
from nb201_env.space import all_ops


def test_make_vec_uses_the_native_implementation(public_bench):
    env = gym.make_vec("NASBench201-OneShot-v0", num_envs=3, benchmark=public_bench)
    assert isinstance(env.unwrapped, NASBench201OneShotVectorEnv)
    env = gym.make_vec("NASBench201-v0", num_envs=3, benchmark=public_bench)
    assert isinstance(env.unwrapped, NASBench201VectorEnv)


def _same(vector_value, single_value) -> bool:
    """Equal, where a single env's ``None`` (not evaluated) is a vector env's NaN."""
    if single_value is None or (isinstance(single_value, float) and np.isnan(single_value)):
        return bool(np.isnan(vector_value))
    return vector_value == single_value or vector_value == pytest.approx(single_value)


@pytest.mark.parametrize("rule", ["nb201", "nats"])
def test_oneshot_vector_matches_independent_single_envs(public_bench, rule):
    n, steps = 5, 40
    rng = np.random.default_rng(0)
    archs = rng.integers(15625, size=(steps, n)) % 40  # few distinct archs: many repeats
    kwargs = {"benchmark": public_bench, "budget": 2000.0, "budget_rule": rule, "report_test": True}
    vec = NASBench201OneShotVectorEnv(n, **kwargs)
    singles = [NASBench201OneShotEnv(**kwargs) for _ in range(n)]
    vec.reset(seed=0)
    for s in singles:
        s.reset(seed=0)
    for t in range(steps):
        ops = all_ops()[archs[t]].astype(np.int64)
        obs, rew, term, trunc, info = vec.step(ops)
        final = info["final_info"]
        assert set(final) == {*INFO_KEYS, "test_accuracy"} | {f"_{k}" for k in (*INFO_KEYS, "test_accuracy")}
        for i, env in enumerate(singles):
            o, r, te, tr, inf = env.step(ops[i])
            assert np.allclose(obs[i], o) and rew[i] == pytest.approx(r) and (term[i], trunc[i]) == (te, tr)
            for key in INFO_KEYS:
                assert _same(final[key][i], inf[key]), (t, i, key)
            assert np.array_equal(info["final_obs"][i], o)
    assert final["budget_exhausted"].all() and final["_arch"].all()


def test_sequential_vector_matches_single_env(public_bench):
    n = 4
    vec = NASBench201VectorEnv(n, benchmark=public_bench, budget=1500.0, budget_rule="nb201", action_mask=True)
    singles = [NASBench201Env(benchmark=public_bench, budget=1500.0, budget_rule="nb201", action_mask=True)
               for _ in range(n)]  # fmt: skip
    obs, info = vec.reset(seed=0)
    for i, s in enumerate(singles):
        o, single_info = s.reset(seed=0)
        assert np.array_equal(info["action_mask"][i], single_info["action_mask"])
    rng = np.random.default_rng(1)
    for t in range(6 * 25):
        actions = rng.integers(5, size=n)
        masks = vec.action_masks()
        assert masks.shape == (n, 5)
        obs, rew, term, trunc, info = vec.step(actions)
        for i, env in enumerate(singles):
            assert np.array_equal(masks[i], env.action_masks())
            o, r, te, tr, inf = env.step(int(actions[i]))
            assert rew[i] == pytest.approx(r) and (term[i], trunc[i]) == (te, tr)
            if t % 6 == 5:  # every episode ends: its info goes under final_info, the reset's on top
                assert np.array_equal(info["final_obs"][i], o)
                for key in INFO_KEYS:
                    assert _same(info["final_info"][key][i], inf[key]), (t, i, key)
                o, reset_info = env.reset()
                assert np.array_equal(info["action_mask"][i], reset_info["action_mask"])
            else:
                assert "final_info" not in info
                assert np.array_equal(info["action_mask"][i], inf["action_mask"])
            assert np.array_equal(obs[i], o)


@pytest.mark.parametrize("env_id", ["NASBench201-v0", "NASBench201-OneShot-v0"])
def test_autoreset_info_has_the_layout_of_gymnasiums_sync_vector_env(public_bench, env_id):
    """Code written for Gymnasium's SAME_STEP vector envs reads ours the same way."""
    n, kwargs = 3, {"benchmark": public_bench, "budget": 1000.0, "budget_rule": "nb201"}
    ours = gym.make_vec(env_id, num_envs=n, **kwargs)
    sync = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP}, **kwargs)  # fmt: skip
    assert ours.metadata["autoreset_mode"] == sync.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    ours.reset(seed=0)
    sync.reset(seed=0)
    ours.action_space.seed(0)
    rng = np.random.default_rng(2)
    for _ in range(30):
        actions = ours.action_space.sample() if env_id.endswith("OneShot-v0") else rng.integers(5, size=n)
        a = ours.step(actions)
        b = sync.step(actions)
        assert np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1])
        assert np.array_equal(a[2], b[2]) and np.array_equal(a[3], b[3])
        assert set(a[4]) == set(b[4]), (sorted(a[4]), sorted(b[4]))
        if "final_info" in b[4]:
            assert set(a[4]["final_info"]) == set(b[4]["final_info"])
            for key in INFO_KEYS:
                for x, y in zip(a[4]["final_info"][key], b[4]["final_info"][key]):
                    assert _same(x, y), key
            for x, y in zip(a[4]["final_obs"], b[4]["final_obs"]):
                assert np.array_equal(x, y)


def test_bad_vector_actions_are_refused(public_bench):
    vec = NASBench201OneShotVectorEnv(2, benchmark=public_bench)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(2, 6\)"):
        vec.step(np.zeros((3, 6), dtype=np.int64))
    with pytest.raises(ValueError, match="op ids in 0..4"):
        vec.step(np.full((2, 6), 7))
    with pytest.raises(ValueError, match="positive int"):
        NASBench201OneShotVectorEnv(0, benchmark=public_bench)
    with pytest.raises(ValueError, match="single one-shot env only"):
        NASBench201OneShotVectorEnv(2, benchmark=public_bench, fidelities=(11,))
