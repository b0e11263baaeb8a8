"""``NASBench201-Train-v0``: its arguments, its data checked when made, and Gymnasium's generic env conventions."""

from __future__ import annotations

import copy
import logging
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.registration import EnvSpec

import nb201_env
from nb201_env.training.data import DatasetError
from nb201_env.training.env import ENV_ARGS, make_training_env
from nb201_env.training.recipe import Recipe

CELL = (3, 3, 3, 1, 3, 2)  # arch 6111


@pytest.mark.parametrize("name", ["schedule", "epoch", "seed_policy", "store", "budjet"])
def test_arguments_it_does_not_take_are_named_with_the_valid_ones(name, tmp_path):
    with pytest.raises(ValueError, match=f"unknown argument '{name}'; valid ones are root, recipe") as error:
        make_training_env(tmp_path, **{name: 1})
    assert all(arg in str(error.value) for arg in ENV_ARGS)


def test_a_protocol_must_search_the_dataset_it_trains_on(tmp_path):
    with pytest.raises(ValueError, match="protocol 'nats-cifar100' searches cifar100, but dataset='cifar10'"):
        gym.make("NASBench201-Train-v0", root=str(tmp_path), protocol="nats-cifar100")


def test_a_missing_or_wrong_root_is_refused_by_make_naming_what_was_expected(tmp_path):
    with pytest.raises(DatasetError, match=r"dataset root .*nowhere does not exist: expected an image folder .*train/"):
        gym.make("NASBench201-Train-v0", root=str(tmp_path / "nowhere"), recipe="proxy")
    with pytest.raises(ValueError, match="TrainingConfig.root is not set"):
        gym.make("NASBench201-Train-v0", recipe="proxy")
    (tmp_path / "notes.txt").write_text("not data")
    with pytest.raises(DatasetError, match=r"notes.txt is a file but not a tarball"):
        gym.make("NASBench201-Train-v0", root=str(tmp_path / "notes.txt"))


def _make(root, tiny_recipe, tmp_path, **kwargs):
    kwargs = {"recipe": tiny_recipe, "runtime": {"device": "cpu"}, "budget": 1e6, "progress": False, **kwargs}
    return gym.make("NASBench201-Train-v0", root=str(root), **kwargs)


def _episode(env, cell=CELL):
    env.reset(seed=0)
    for op in cell:
        _, reward, terminated, _, info = env.step(op)
    assert terminated
    return reward, info


def test_the_tarball_is_read_in_place_and_both_layouts_give_the_same_run(cifar_jpg, cifar_tgz, tiny_recipe, tmp_path):
    cache = str(tmp_path / "runs.sqlite")
    reward, info = _episode(_make(cifar_tgz, tiny_recipe, tmp_path, cache=cache))
    assert info["arch"] == 6111 and 0 < info["valid_accuracy"] <= 100
    folder = _make(cifar_jpg, tiny_recipe, tmp_path, cache=cache)
    assert _episode(folder) == (reward, info)  # the same content: the folder's env reads the tarball's run
    assert folder.unwrapped.runs.evaluator.cache.count() == 1


def test_render_modes_reach_gym_make_including_the_list_modes(cifar_jpg, tiny_recipe, tmp_path):
    env = _make(cifar_jpg, tiny_recipe, tmp_path, render_mode="rgb_array_list")
    env.reset(seed=0)
    env.step(3)
    frames = env.render()
    assert isinstance(frames, list) and frames and frames[-1].ndim == 3
    assert _make(cifar_jpg, tiny_recipe, tmp_path, render_mode="ansi").unwrapped.render_mode == "ansi"


def test_it_pickles_and_deep_copies_with_its_runs(cifar_jpg, tiny_recipe, tmp_path, monkeypatch):
    for cache in (None, str(tmp_path / "runs.sqlite")):
        env = _make(cifar_jpg, tiny_recipe, tmp_path, cache=cache)
        first = _episode(env)
        import nb201_env.training.trainer as trainer

        with monkeypatch.context() as patch:
            patch.setattr(trainer, "train", lambda *a, **k: pytest.fail("a copy trained a run it already had"))
            for clone in (pickle.loads(pickle.dumps(env)), copy.deepcopy(env)):
                assert _episode(clone) == first


def test_it_is_registered_nondeterministic_and_its_spec_survives_json(cifar_jpg, tiny_recipe, tmp_path):
    assert gym.spec("NASBench201-Train-v0").nondeterministic is True
    for recipe in (tiny_recipe, tiny_recipe.to_dict()):
        env = _make(cifar_jpg, tiny_recipe, tmp_path, recipe=recipe, cache=str(tmp_path / "runs.sqlite"))
        again = gym.make(EnvSpec.from_json(env.spec.to_json()))
        assert again.unwrapped.runs.evaluator.config.recipe == tiny_recipe
        assert again.unwrapped.runs.evaluator.config.runtime == env.unwrapped.runs.evaluator.config.runtime
        assert _episode(again) == _episode(env)


def test_recipes_are_named_in_kwargs(cifar_jpg, tmp_path):
    env = gym.make("NASBench201-Train-v0", root=str(cifar_jpg), recipe="proxy", progress=False)
    assert env.unwrapped.runs.evaluator.config.recipe == Recipe.proxy()
    assert gym.make("NASBench201-Train-v0", root=str(cifar_jpg)).unwrapped.runs.evaluator.config.recipe == (
        Recipe.nb201(12)
    )
    with pytest.raises(ValueError, match="unknown recipe 'tiny'; valid names are 'nb201-12', 'nb201-200', 'proxy'"):
        gym.make("NASBench201-Train-v0", root=str(cifar_jpg), recipe="tiny")


def test_report_test_scores_the_test_split_in_the_one_training_run(cifar_jpg, tiny_recipe, tmp_path, monkeypatch):
    import nb201_env.training.trainer as trainer

    calls, real_train = [], trainer.train
    monkeypatch.setattr(trainer, "train", lambda index, *a, **kw: calls.append(index) or real_train(index, *a, **kw))
    reward, info = _episode(_make(cifar_jpg, tiny_recipe, tmp_path, report_test=True))
    assert calls == [6111] and 0 <= info["test_accuracy"] <= 100


def test_training_shows_progress_and_logs_each_epoch(cifar_jpg, tiny_recipe, tmp_path, capsys, caplog):
    env = _make(cifar_jpg, tiny_recipe, tmp_path, progress=True)
    with caplog.at_level(logging.INFO, logger="nb201_env"):
        _episode(env)
    bar = capsys.readouterr().err
    assert "training arch 6111 on cifar10-valid" in bar and f"{tiny_recipe.epochs}/{tiny_recipe.epochs}" in bar
    epochs = [r.getMessage() for r in caplog.records if "epoch" in r.getMessage() and "valid acc" in r.getMessage()]
    assert [m.split(" epoch ")[1].split(":")[0] for m in epochs] == [f"{e}/{tiny_recipe.epochs}" for e in (1, 2)]


def test_gymnasiums_env_checker_passes(cifar_jpg, tiny_recipe, tmp_path):
    from gymnasium.utils.env_checker import check_env

    env = _make(cifar_jpg, tiny_recipe, tmp_path)
    check_env(env.unwrapped, skip_render_check=True)
    assert np.isfinite(env.unwrapped.clock.elapsed)


def test_the_training_names_come_from_the_package():
    from nb201_env.training.evaluator import TrainingConfig
    from nb201_env.training.runtime import Runtime

    assert nb201_env.Runtime is Runtime and nb201_env.TrainingConfig is TrainingConfig and nb201_env.Recipe is Recipe
    assert "Runtime" in dir(nb201_env)


def test_the_env_takes_the_data_options(cifar_jpg, tiny_recipe, tmp_path):
    env = _make(cifar_jpg, tiny_recipe, tmp_path, data_cache_dir=str(tmp_path / "decoded"), split_seed=3)
    _episode(env)
    assert (tmp_path / "decoded" / "index").is_dir()
    assert env.unwrapped.describe()["split"].endswith(
        "seeded class-stratified halves (seed 3); official cifar-split.txt not used"
    )
