"""The native vector envs: the same runs, rewards and ``info`` as independent single envs, and every autoreset
mode of Gymnasium, laid out exactly as its own ``SyncVectorEnv`` of the single envs gives it."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode

import nb201_env  # noqa: F401
from nb201_env.envs.oneshot import NASBench201OneShotEnv
from nb201_env.envs.sequential import NASBench201Env
from nb201_env.envs.vector import NASBench201OneShotVectorEnv, NASBench201VectorEnv
from nb201_env.search_runs import INFO_KEYS
from nb201_env.space import Arch, all_ops


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
    vec = NASBench201OneShotVectorEnv(n, autoreset_mode=AutoresetMode.SAME_STEP, **kwargs)
    singles = [NASBench201OneShotEnv(**kwargs) for _ in range(n)]
    vec.reset(seed=0)
    for s in singles:
        s.reset(seed=0)
    for t in range(steps):
        ops = all_ops()[archs[t]].astype(np.int64)
        obs, rew, term, trunc, info = vec.step(ops)
        final = info["final_info"]
        keys = (*INFO_KEYS, "test_accuracy") if final["evaluated"].any() else INFO_KEYS  # only where counted
        assert set(final) == {*keys} | {f"_{k}" for k in keys}
        for i, env in enumerate(singles):
            o, r, te, tr, inf = env.step(ops[i])
            assert np.allclose(obs[i], o) and rew[i] == pytest.approx(r) and (term[i], trunc[i]) == (te, tr)
            for key in INFO_KEYS:
                assert _same(final[key][i], inf[key]), (t, i, key)
            assert np.array_equal(info["final_obs"][i], o)
    assert final["budget_exhausted"].all() and final["_arch"].all()


def test_sequential_vector_matches_single_env(public_bench):
    n = 4
    vec = NASBench201VectorEnv(n, benchmark=public_bench, budget=1500.0, budget_rule="nb201", action_mask=True,
                               autoreset_mode=AutoresetMode.SAME_STEP)  # fmt: skip
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


MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]


def identical(a, b) -> bool:
    """``data_equivalence(a, b, exact=True)`` where NaN equals NaN: same types, keys, shapes, dtypes and values."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype == object:
            return all(identical(x, y) for x, y in zip(a, b))
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    return bool(a == b) or (a != a and b != b)


def _actions(env_id: str, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(5, size=(n, 6)) if env_id.endswith("OneShot-v0") else rng.integers(5, size=n)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("env_id", ["NASBench201-v0", "NASBench201-OneShot-v0"])
def test_every_step_equals_gymnasiums_sync_vector_env_in_every_autoreset_mode(public_bench, env_id, mode):
    """Observations, rewards, flags and ``info`` (dtypes, masks, ``final_obs`` as an object array) are exactly
    those of ``SyncVectorEnv`` over the single envs, so code written for Gymnasium's vector envs reads ours."""
    n = 3
    kwargs = {"benchmark": public_bench, "budget": 1000.0, "budget_rule": "nb201", "report_test": True}
    if env_id == "NASBench201-v0":
        kwargs["action_mask"] = True
    ours = gym.make_vec(env_id, num_envs=n, autoreset_mode=mode, **kwargs)
    sync = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode},
                        **kwargs)  # fmt: skip
    assert ours.metadata["autoreset_mode"] == sync.metadata["autoreset_mode"] == mode
    assert identical(ours.reset(seed=0), sync.reset(seed=0))
    rng = np.random.default_rng(2)
    ended = 0
    for _ in range(60):
        actions = _actions(env_id, n, rng)
        a, b = ours.step(actions), sync.step(actions)
        assert identical(a, b), (a, b)
        assert data_equivalence(a[4], a[4]) in (True, False)  # Gymnasium's checker reads it (NaN is unequal there)
        if a[2].any() or a[3].any():
            ended += 1
            if mode == AutoresetMode.DISABLED:
                mask = a[2] | a[3]
                assert identical(ours.reset(options={"reset_mask": mask}), sync.reset(options={"reset_mask": mask}))
    assert ended >= 8


def test_the_default_autoreset_mode_is_gymnasiums_and_vector_wrappers_work(public_bench):
    """``NEXT_STEP`` by default, as Gymnasium's own vector envs: its observation wrappers require it."""
    env = gym.wrappers.vector.FlattenObservation(gym.make_vec("NASBench201-v0", num_envs=2, benchmark=public_bench))
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2, 6 * 6 + 7)
    for _ in range(7):  # six edges, then the step that starts the next episodes
        obs, *_ = env.step(np.array([3, 1]))
    assert obs.shape == (2, 43) and obs[:, :6].argmax(axis=1).tolist() == [5, 5]  # every edge unset again
    scaled = gym.wrappers.vector.TransformReward(
        gym.make_vec("NASBench201-OneShot-v0", num_envs=2, benchmark=public_bench), lambda r: 100 * r
    )
    scaled.reset(seed=0)
    _, reward, terminated, *_ = scaled.step(np.full((2, 6), 3))
    assert terminated.all() and reward == pytest.approx([100 * public_bench.validation(Arch.from_ops([3] * 6).index)
                                                        .accuracy / 100] * 2)  # fmt: skip


@pytest.mark.parametrize("render_mode", ["ansi", "rgb_array"])
@pytest.mark.parametrize("env_id", ["NASBench201-v0", "NASBench201-OneShot-v0"])
def test_render_mode_gives_one_frame_per_run_as_sync_vector_env(public_bench, env_id, render_mode):
    if render_mode == "rgb_array":
        pytest.importorskip("PIL")
    n, kwargs = 2, {"benchmark": public_bench, "budget": 600.0, "render_mode": render_mode}
    ours = gym.make_vec(env_id, num_envs=n, **kwargs)
    sync = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync", **kwargs)
    assert ours.render_mode == render_mode
    ours.reset(seed=0)
    sync.reset(seed=0)
    rng = np.random.default_rng(0)
    for t in range(16):
        actions = _actions(env_id, n, rng)
        ours.step(actions)
        sync.step(actions)
        frames, expected = ours.render(), sync.render()
        assert len(frames) == n and identical(frames, expected), t
    with pytest.raises(ValueError, match=r"unknown render_mode 'human'; valid modes are: \['ansi', 'rgb_array'\]"):
        gym.make_vec(env_id, num_envs=n, benchmark=public_bench, render_mode="human")


def test_disabled_autoreset_needs_a_reset_and_masks_select_every_run(public_bench):
    env = NASBench201OneShotVectorEnv(2, benchmark=public_bench, autoreset_mode="Disabled")
    env.reset(seed=0)
    env.step(np.zeros((2, 6), dtype=np.int64))
    with pytest.raises(gym.error.ResetNeeded, match="autoreset_mode is DISABLED: call reset"):
        env.step(np.zeros((2, 6), dtype=np.int64))
    with pytest.raises(ValueError, match=r"must select every run \(all True\), got \[True, False\]"):
        env.reset(options={"reset_mask": np.array([True, False])})
    with pytest.raises(TypeError, match=r"reset_mask'\] must be a bool numpy array of shape \(2,\)"):
        env.reset(options={"reset_mask": [True, True]})
    env.reset(options={"reset_mask": np.ones(2, dtype=bool)})
    env.step(np.zeros((2, 6), dtype=np.int64))
    with pytest.raises(ValueError, match="unknown autoreset_mode 'same'; valid autoreset_modes are: 'NextStep'"):
        NASBench201OneShotVectorEnv(2, benchmark=public_bench, autoreset_mode="same")


def test_bad_vector_actions_are_refused(public_bench):
    vec = NASBench201OneShotVectorEnv(2, benchmark=public_bench)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(2, 6\)"):
        vec.step(np.zeros((3, 6), dtype=np.int64))
    with pytest.raises(ValueError, match="op ids in 0..4"):
        vec.step(np.full((2, 6), 7))
    with pytest.raises(ValueError, match="positive int"):
        NASBench201OneShotVectorEnv(0, benchmark=public_bench)
    with pytest.raises(TypeError, match=r"NASBench201OneShotVectorEnv.__init__\(\) got an unexpected keyword argument "
                       "'frameskip'; valid keyword arguments are: 'render_mode', 'autoreset_mode'"):  # fmt: skip
        gym.make_vec("NASBench201-OneShot-v0", num_envs=2, benchmark=public_bench, frameskip=4)
    with pytest.raises(ValueError, match="single one-shot env only"):
        NASBench201OneShotVectorEnv(2, benchmark=public_bench, fidelities=(11,))
