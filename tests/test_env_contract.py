"""The contract every registered environment keeps, written once (in the manner of dm_env's reusable tests).

Parametrised over every id ``nb201_env`` registers: Gymnasium's (and stable-baselines3's) checkers, seeded
replay, ``info`` keys equal to :data:`nb201_env.INFO_KEYS` (and to the documented lists), the reward being the
reward object applied to the validation accuracy, and the vector form's ``final_info`` carrying the same keys.
"""

from __future__ import annotations

import doctest
import re
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import nb201_env
from nb201_env.envs import sequential
from nb201_env.rewards import CostPenaltyReward
from nb201_env.search_runs import INFO_KEYS, OPTIONAL_INFO_KEYS

ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("NASBench201"))
TRAINING = "NASBench201-Train-v0"
README = Path(__file__).resolve().parents[1] / "README.md"


def _make(env_id: str, bench, **kwargs):
    if env_id == TRAINING:
        pytest.skip("real training needs torch and data; its env is tested in tests/training/test_evaluator.py")
    return gym.make(env_id, benchmark=bench, **kwargs)


def _is_multi_objective(env_id: str) -> bool:
    return "-MO-" in env_id


def _evaluations(env, seed: int, episodes: int) -> list[tuple]:
    """Run ``episodes`` random episodes; return every step's (obs, reward, terminated, truncated, info)."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    steps = []
    for _ in range(episodes):
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            steps.append((obs, reward, terminated, truncated, info))
            done = terminated or truncated or "evaluated" in info
        env.reset()
    return steps


def test_the_registered_ids_are_the_documented_ones():
    assert (
        sorted(["NASBench201-v0", "NASBench201-OneShot-v0", "NASBench201-MO-v0", "NASBench201-MO-OneShot-v0", TRAINING])
        == ENV_IDS
    )


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_passes_the_gymnasium_and_sb3_checkers(public_bench, env_id):
    env = _make(env_id, public_bench, budget=5000.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=True)
    messages = [str(w.message) for w in caught]
    if _is_multi_objective(env_id):  # MO-Gymnasium's vector reward is what Gymnasium's checker expects a float for
        messages = [m for m in messages if "reward" not in m.lower()]
    assert messages == [], messages
    if not _is_multi_objective(env_id):
        from stable_baselines3.common.env_checker import check_env as sb3_check_env

        sb3_check_env(_make(env_id, public_bench, budget=5000.0).unwrapped)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_same_seed_replays_the_same_run(public_bench, env_id):
    runs = [_evaluations(_make(env_id, public_bench, budget=3000.0), seed=7, episodes=30) for _ in range(2)]
    assert len(runs[0]) == len(runs[1])
    for (o1, r1, te1, tr1, i1), (o2, r2, te2, tr2, i2) in zip(*runs):
        assert np.array_equal(o1, o2) and np.array_equal(r1, r2) and (te1, tr1) == (te2, tr2)
        assert {k: str(v) for k, v in i1.items()} == {k: str(v) for k, v in i2.items()}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_evaluation_reports_exactly_the_info_keys(public_bench, env_id):
    env = _make(env_id, public_bench, budget=3000.0)
    extra = {"objectives", "pareto_size"} if _is_multi_objective(env_id) else set()
    finals = [info for *_, info in _evaluations(env, seed=1, episodes=40) if "evaluated" in info]
    assert finals and finals[-1]["budget_exhausted"]  # the budget was spent: both kinds of final step were seen
    for info in finals:
        assert set(info) - extra - {"objectives"} == set(INFO_KEYS), sorted(set(info) ^ set(INFO_KEYS))
    asked = _make(env_id, public_bench, budget=3000.0, report_test=True)
    first = next(info for *_, info in _evaluations(asked, seed=1, episodes=5) if info.get("evaluated"))
    assert set(first) - extra == {*INFO_KEYS, "test_accuracy"}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_reward_is_the_reward_object_applied_to_the_validation_accuracy(public_bench, env_id):
    if _is_multi_objective(env_id):
        env = _make(env_id, public_bench, budget=3000.0)
        reward_of = lambda info: np.float32(info["valid_accuracy"] / 100)  # noqa: E731  (the vector's first entry)
        pick = lambda reward: reward[0]  # noqa: E731
    else:
        penalty = CostPenaltyReward.params(0.3)
        env = _make(env_id, public_bench, budget=3000.0, reward=penalty)
        reward_of = lambda info: penalty(info["valid_accuracy"], info["arch"])  # noqa: E731
        pick = lambda reward: reward  # noqa: E731
    for _, reward, _, _, info in _evaluations(env, seed=2, episodes=30):
        if info.get("evaluated"):
            assert pick(reward) == pytest.approx(reward_of(info))
        elif "evaluated" in info:
            assert np.all(np.asarray(reward) == 0)  # nothing evaluated, nothing rewarded


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
@pytest.mark.parametrize("env_id", [i for i in ENV_IDS if gym.spec(i).vector_entry_point])
def test_the_vector_form_reports_the_same_keys(public_bench, env_id, mode):
    env = gym.make_vec(env_id, num_envs=3, benchmark=public_bench, budget=2000.0, autoreset_mode=mode)
    env.reset(seed=0)
    for _ in range(12):
        *_, terminated, truncated, info = env.step(env.action_space.sample())
        if (terminated | truncated).all():
            break
    final = info["final_info"] if mode == "SameStep" else info  # NEXT_STEP: the ending step's own info
    assert {k for k in final if not k.startswith("_")} == set(INFO_KEYS)
    assert all(final[f"_{k}"].all() for k in INFO_KEYS)


def _documented_keys(text: str) -> set[str]:
    return set(re.findall(r"`+([a-z_]+)`+", text))


def test_the_env_card_and_the_docstring_list_exactly_the_info_keys():
    docstring = sequential.NASBench201Env.__doc__ or ""
    section = docstring.split("## Info")[1].split("##")[0]
    assert _documented_keys(section) == {*INFO_KEYS, *OPTIONAL_INFO_KEYS}
    card = next(line for line in README.read_text().splitlines() if line.startswith("| Info (last step) | `"))
    assert _documented_keys(card) == {*INFO_KEYS, *OPTIONAL_INFO_KEYS}


def test_the_docstring_examples_run(monkeypatch, tmp_path):
    """The Examples block of ``NASBench201-v0`` runs as written on a fresh install (the bundled benchmark)."""
    monkeypatch.delenv("NB201_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    result = doctest.testmod(sequential, verbose=False)
    assert result.attempted >= 5 and result.failed == 0


def test_a_first_script_needs_only_import_nb201_env():
    names = {"Benchmark", "Arch", "EnvConfig", "PROTOCOLS", "Evaluator", "TabularEvaluator", "AccuracyReward",
             "CostPenaltyReward", "Reward", "MissingValueError", "NASBench201Env", "NASBench201OneShotEnv",
             "NASBench201VectorEnv", "NASBench201OneShotVectorEnv", "INFO_KEYS", "ObjectivesReward",
             "VectorReward", "NASBench201MOEnv"}  # fmt: skip
    assert names <= set(nb201_env.__all__) and names <= set(dir(nb201_env))
    for name in names:
        assert getattr(nb201_env, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'Benchmrk'"):
        nb201_env.Benchmrk  # noqa: B018
