import gymnasium as gym
import numpy as np
import pytest

import nb201_env  # noqa: F401  (registers the envs)
from nb201_env.config import EnvConfig
from nb201_env.envs.oneshot import NASBench201OneShotEnv
from nb201_env.envs.sequential import NASBench201Env
from nb201_env.masks import connected, connected_by_index
from nb201_env.space import Arch

BEST = [3, 3, 3, 1, 3, 2]  # arch 6111, the best 200-epoch CIFAR-10 architecture


def _episode(env, ops):
    env.reset()
    for op in ops:
        out = env.step(op)
    return out


def test_make_by_id_and_by_module_path(public_bench):
    for env_id in ("NASBench201-v0", "nb201_env:NASBench201-v0"):
        env = gym.make(env_id, benchmark=public_bench)
        assert isinstance(env.unwrapped, NASBench201Env)
    assert isinstance(gym.make("NASBench201-OneShot-v0", benchmark=public_bench).unwrapped, NASBench201OneShotEnv)


def test_episode_builds_the_cell_in_official_edge_order(public_bench):
    env = gym.make("NASBench201-v0", benchmark=public_bench)
    obs, info = env.reset(seed=0)
    assert obs.tolist() == [5, 5, 5, 5, 5, 5, 0] and info == {}
    for k, op in enumerate(BEST[:-1]):
        obs, reward, terminated, truncated, info = env.step(op)
        assert obs[k] == op and obs[6] == k + 1 and reward == 0.0 and not terminated and not truncated
    obs, reward, terminated, truncated, info = env.step(BEST[-1])
    assert info["arch"] == Arch.from_ops(BEST).index == 6111
    expected = public_bench.validation(6111, "cifar10", schedule=12).accuracy
    assert info["valid_accuracy"] == expected and reward == pytest.approx(expected / 100)
    assert type(reward) is float and type(terminated) is bool and type(truncated) is bool
    assert terminated and not truncated and "test_accuracy" not in info
    assert info["benchmark"] == public_bench.name  # which figures these are, in every result
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_reward_never_uses_test_accuracy(public_bench):
    env = NASBench201Env(benchmark=public_bench, report_test=True)
    *_, info = _episode(env, BEST)
    assert info["test_accuracy"] == public_bench.test_accuracy(6111, "cifar10")
    assert info["valid_accuracy"] != info["test_accuracy"]
    assert env.describe()["signal"] == "cifar10-valid/x-valid/accuracy"


@pytest.mark.parametrize("rule", ["nb201", "nats"])
def test_budget_rules_end_the_search(public_bench, rule):
    cost = public_bench.cost(6111, "cifar10", schedule=12)
    env = NASBench201Env(benchmark=public_bench, budget=2.5 * cost, budget_rule=rule, charge_repeats=True)
    env.reset(seed=1)
    results = [_episode(env, BEST) for _ in range(4)]
    flags = [(r[2], r[3]) for r in results]
    if rule == "nb201":  # the third would end at 3x cost > 2.5x: not performed
        assert flags == [(True, False), (True, False), (False, True), (False, True)]
        assert env.clock.elapsed == pytest.approx(2 * cost)
    else:  # the third starts with time left and overruns
        assert flags == [(True, False), (True, False), (True, True), (False, True)]
        assert env.clock.elapsed == pytest.approx(3 * cost)
    last = results[-1]
    assert last[1] == 0.0 and last[4]["budget_exhausted"] and not last[4]["evaluated"]
    env.reset(options={"new_search": True})
    assert env.clock.elapsed == 0 and not env.clock.exhausted


def test_protocol_preset_and_explicit_override(public_bench):
    env = NASBench201Env(benchmark=public_bench, protocol="nb201")
    assert (env.clock.budget, env.clock.rule) == (12000, "nb201")
    env = NASBench201Env(benchmark=public_bench, protocol="nb201", budget=500.0)
    assert env.clock.budget == 500.0


def test_same_seed_same_trajectory(public_bench):
    def run(seed):
        env = gym.make("NASBench201-v0", benchmark=public_bench, budget=3000.0)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        log = []
        for _ in range(60):
            obs, r, te, tr, info = env.step(env.action_space.sample())
            log.append((obs.tolist(), r, te, tr))
            if te or tr:
                env.reset()
        return log

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_masks_forbid_exactly_the_disconnected_completions(public_bench):
    env = NASBench201Env(benchmark=public_bench, action_mask=True)
    _, info = env.reset(seed=0)
    assert info["action_mask"].all()
    for op in (0, 0, 0):  # nodes 1 and 2 unreachable: edge 3<-0 must not be none
        _, _, _, _, info = env.step(op)
    assert info["action_mask"].tolist() == [False, True, True, True, True]
    # brute force: a choice is allowed iff some completion is connected
    rng = np.random.default_rng(0)
    for _ in range(200):
        ops = rng.integers(5, size=6)
        p = int(rng.integers(6))
        env.reset()
        for op in ops[:p]:
            env.step(int(op))
        mask = env.action_masks()
        for a in range(5):
            prefix = [*ops[:p], a]
            completions = np.array([prefix + list(rest) for rest in np.ndindex(*(5,) * (5 - p))])
            assert mask[a] == bool(connected(completions).any())


def test_disconnected_cells_score_chance(public_bench):
    acc = public_bench.query_many(np.arange(15625), dataset="cifar10", split="ori-test", schedule=200)
    dead = ~connected_by_index()
    assert dead.sum() > 0 and np.all(acc[dead] < 11) and np.median(acc[~dead]) > 80


def test_bad_arguments_name_valid_choices(public_bench):
    env = NASBench201Env(benchmark=public_bench)
    env.reset(seed=0)
    for bad in (5, -1, 2.5, "x"):
        with pytest.raises((ValueError, TypeError), match="op ids 0..4|invalid action"):
            env.step(bad)
    with pytest.raises(TypeError, match=r"NASBench201Env.__init__\(\) got an unexpected keyword argument 'budjet'"):
        NASBench201Env(benchmark=public_bench, budjet=10)
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        NASBench201Env(benchmark=public_bench, dataset="mnist")
    with pytest.raises(ValueError, match="unknown render_mode 'human'"):
        NASBench201Env(benchmark=public_bench, render_mode="human")
    with pytest.raises(ValueError, match="seed_policy='fixed'"):
        EnvConfig.from_kwargs(seed=3)
    with pytest.raises(TypeError, match="Evaluator"):
        NASBench201Env(evaluator=object())
    one = NASBench201OneShotEnv(benchmark=public_bench)
    one.reset(seed=0)
    with pytest.raises(ValueError, match="6 op ids"):
        one.step(np.array([0, 1, 2]))


def test_oneshot_matches_sequential(public_bench):
    seq = NASBench201Env(benchmark=public_bench, budget=1000.0)
    one = NASBench201OneShotEnv(benchmark=public_bench, budget=1000.0)
    seq.reset(seed=0)
    obs, _ = one.reset(seed=0)
    assert obs.tolist() == [0.0, 0.0]
    _, r1, t1, u1, i1 = _episode(seq, BEST)
    obs, r2, t2, u2, i2 = one.step(np.array(BEST))
    assert (r1, t1, u1) == (r2, t2, u2) and i1 == i2
    assert obs[0] == pytest.approx(i2["clock"] / 1000) and obs[1] == pytest.approx(i2["valid_accuracy"] / 100)


def _curve_bench(tmp_path):
    """A store whose validation curve holds epochs 3 and 11, with constant per-epoch times."""
    from nb201_env.benchmark import Benchmark
    from nb201_env.store import RecordKey, SeedAxis, Source, StoreWriter

    with StoreWriter(tmp_path / "curve.store", "curve", "") as w:
        w.add_source("s", Source("t"))
        acc = w.add_record(RecordKey("cifar10-valid", "x-valid", "accuracy", 12), SeedAxis("one"), [3, 11], "s")
        acc[:, 0, 0], acc[:, 0, 1] = 40.0, 80.0
        w.add_record(RecordKey("cifar10-valid", "train", "time", 12), SeedAxis("constant"), None, "s")[:] = 10.0
        w.add_record(RecordKey("cifar10-valid", "x-valid", "time", 12), SeedAxis("constant"), None, "s")[:] = 1.0
        return Benchmark.open(w.commit())


def test_fidelity_action_charges_partial_training(tmp_path):
    bench = _curve_bench(tmp_path)
    env = NASBench201OneShotEnv(benchmark=bench, fidelities=(3, 11))
    assert env.action_space.nvec.tolist() == [5] * 6 + [2]
    env.reset(seed=0)
    _, reward, _, _, low = env.step(np.array([3] * 6 + [0]))
    assert low["epoch"] == 3 and low["valid_accuracy"] == 40.0 and low["cost"] == 4 * 10.0 + 1.0
    assert low["best_arch"] == -1  # low-fidelity results never become the incumbent
    _, _, _, _, high = env.step(np.array([3] * 6 + [1]))
    assert high["epoch"] == 11 and high["cost"] == 12 * 10.0 + 1.0 and not high["repeat"]
    assert high["best_arch"] == high["arch"] and env.clock.elapsed == 41.0 + 121.0
    with pytest.raises(ValueError, match=r"fidelity index in 0..1 \(epochs \[3, 11\]\)"):
        env.step(np.array([3] * 6 + [2]))
    with pytest.raises(ValueError, match=r"not available.*epochs \[3, 11\]"):
        NASBench201OneShotEnv(benchmark=bench, fidelities=(5, 11))
    with pytest.raises(ValueError, match="within 0..11"):
        NASBench201OneShotEnv(benchmark=bench, schedule=12, fidelities=(12,))
    with pytest.raises(ValueError, match="not available"):
        NASBench201OneShotEnv(benchmark=bench, fidelities=(12,))


@pytest.mark.parametrize("env_id", ["NASBench201-v0", "NASBench201-OneShot-v0"])
def test_passes_gymnasium_and_sb3_checkers_without_warnings(public_bench, env_id):
    import warnings

    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any checker warning fails the test
        for mode in (None, "ansi", "rgb_array"):
            env = gym.make(env_id, benchmark=public_bench, budget=5000.0, render_mode=mode)
            check_env(env.unwrapped, skip_render_check=mode is None)
            sb3_check_env(gym.make(env_id, benchmark=public_bench, budget=5000.0).unwrapped)


def test_render_modes_show_the_cell(public_bench):
    env = NASBench201Env(benchmark=public_bench, render_mode="ansi")
    env.reset(seed=0)
    env.step(3)
    text = env.render()
    assert "nor_conv_3x3" in text and "?" in text
    for op in BEST[1:]:
        env.step(op)
    text = env.render()
    assert Arch(6111).to_str() in text and "84.38" in text
    picture = NASBench201Env(benchmark=public_bench, render_mode="rgb_array")
    picture.reset(seed=0)
    frame = picture.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
