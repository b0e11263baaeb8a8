"""`nb201 build-table`: classes trained once, shared with their members, resumable, written as a store."""

from __future__ import annotations

import numpy as np
import pytest

from training_helpers import only_key

pytest.importorskip("torch", reason="needs the [train] extra (pip install nb201-env[train])")

from nb201_env import complexity
from nb201_env.benchmark import Benchmark
from nb201_env.isomorphism import class_ids, members_of
from nb201_env.store import StoreError
from nb201_env.training.cache import ResultCache
from nb201_env.training.contention import wall_to_cpu
from nb201_env.training.table import TableConfig, build_order, build_table


def _config(cifar_jpg, tiny_recipe, tmp_path, **kw):
    return TableConfig(
        cifar_jpg, tmp_path / "t.store", tmp_path / "runs.sqlite", recipe=tiny_recipe, workers=1, limit=3, **kw
    )


def test_build_shares_each_class_run_with_its_members(cifar_jpg, tiny_recipe, tmp_path):
    config = _config(cifar_jpg, tiny_recipe, tmp_path, time_scale=10.0)
    seen = []
    path = build_table(config, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    bench = Benchmark.open(path)
    reps = build_order(3)
    epochs = tiny_recipe.epochs
    assert bench.search_schedule("cifar10") == epochs
    with ResultCache(tmp_path / "runs.sqlite") as cache:
        for rep in reps:
            run = cache.get(int(rep), only_key(cache), 777)
            members = members_of(int(rep))
            for m in members[:5]:
                for e in range(epochs):
                    assert bench.query(int(m), dataset="cifar10-valid", split="x-valid", schedule=epochs, epoch=e) == (
                        pytest.approx(run["valid_accuracy"][e])
                    )
                    assert bench.query(int(m), dataset="cifar10-valid", split="ori-test", schedule=epochs, epoch=e) == (
                        pytest.approx(run["test_accuracy_curve"][e])
                    )
            cost = bench.cost(int(rep), "cifar10")  # every epoch's training plus the last validation pass
            assert cost == pytest.approx(10.0 * (sum(run["train_seconds"]) + run["eval_seconds"][-1]))
    untrained = np.flatnonzero(~np.isin(class_ids(), class_ids()[reps]))
    assert np.isnan(bench.query_many(untrained[:50], dataset="cifar10-valid", split="x-valid", schedule=epochs)).all()
    params = bench.stats_many(np.arange(15625), "params_mb", "cifar10-valid")
    assert params[77] == complexity.param_count(77, 10, tiny_recipe.channels, tiny_recipe.cells_per_stage) / 1e6
    extra = bench.store.manifest.extra
    assert extra["recipe_hash"] == tiny_recipe.stable_hash() and extra["time_scale"] == 10.0
    assert extra["data"] == cifar_jpg.name  # the folder's name unless data_name says otherwise
    assert extra["classes_trained"] == 3 and bench.test_accuracy(int(reps[0]), "cifar10") == pytest.approx(
        bench.query(int(reps[0]), dataset="cifar10-valid", split="ori-test", schedule=epochs)
    )


def test_rerunning_the_same_command_resumes_from_the_cache_without_training(
    cifar_jpg, tiny_recipe, tmp_path, monkeypatch
):
    build_table(_config(cifar_jpg, tiny_recipe, tmp_path))
    import nb201_env.training.trainer as trainer

    def refuse(*args, **kwargs):
        raise AssertionError("a cached class was trained again")

    monkeypatch.setattr(trainer, "train", refuse)
    path = build_table(_config(cifar_jpg, tiny_recipe, tmp_path))  # the same command again: no --overwrite needed
    assert Benchmark.open(path).store.manifest.extra["classes_trained"] == 3
    other = TableConfig(cifar_jpg, tmp_path / "t.store", tmp_path / "other.sqlite", recipe=tiny_recipe, limit=1)
    with pytest.raises(StoreError, match="already exists; pass overwrite=True"):  # another build's table is kept
        build_table(other)


def _wall(run):
    return sum(run["train_seconds"]) + sum(run["eval_seconds"]) + sum(run.get("test_seconds_curve") or ())


def _feed_wall_to_cpu(cache_path, recipe, ratios):
    """Feed timings: rewrite cached runs as if their wall time had been ``ratio`` x their CPU time (1 = a free core)."""
    with ResultCache(cache_path) as cache:
        key = only_key(cache)
        for rep, ratio in ratios.items():
            run = cache.get(rep, key, 777)
            run["info"]["cpu_seconds"] = _wall(run) / ratio
            cache.put(run, key, recipe)


def _train_timed_as(monkeypatch, ratio):
    """Make every new run report wall time ``ratio`` x its CPU time, whatever the machine's load; return the trained."""
    import nb201_env.training.trainer as trainer

    trained, real_train = [], trainer.train

    def timed(index, *args, **kwargs):
        trained.append(index)
        result = real_train(index, *args, **kwargs)
        result.info["cpu_seconds"] = _wall(result.to_dict()) / ratio
        return result

    monkeypatch.setattr(trainer, "train", timed)
    return trained


def test_contended_runs_are_trained_again_and_only_they(cifar_jpg, tiny_recipe, tmp_path, monkeypatch):
    build_table(_config(cifar_jpg, tiny_recipe, tmp_path))
    reps = [int(r) for r in build_order(3)]
    _feed_wall_to_cpu(tmp_path / "runs.sqlite", tiny_recipe, {reps[0]: 1.0, reps[1]: 3.0, reps[2]: 1.05})
    trained = _train_timed_as(monkeypatch, 1.2)
    path = build_table(_config(cifar_jpg, tiny_recipe, tmp_path, retrain_contended=1.5))
    assert trained == [reps[1]]
    with ResultCache(tmp_path / "runs.sqlite") as cache:
        assert wall_to_cpu(cache.get(reps[1], only_key(cache), 777)) == pytest.approx(1.2)  # replaced
    ratios = Benchmark.open(path).store.manifest.extra["wall_to_cpu"]
    assert ratios == {"median": pytest.approx(1.05), "max": pytest.approx(1.2)}
    trained.clear()
    build_table(_config(cifar_jpg, tiny_recipe, tmp_path))  # without the option: all kept
    assert trained == []


def test_a_retrain_as_contended_as_before_keeps_the_cached_run(cifar_jpg, tiny_recipe, tmp_path, monkeypatch):
    # on a loaded machine every retrained run is contended again: it must not replace a less contended one
    build_table(_config(cifar_jpg, tiny_recipe, tmp_path))
    reps = [int(r) for r in build_order(3)]
    _feed_wall_to_cpu(tmp_path / "runs.sqlite", tiny_recipe, dict.fromkeys(reps, 2.0))
    trained = _train_timed_as(monkeypatch, 2.5)
    build_table(_config(cifar_jpg, tiny_recipe, tmp_path, retrain_contended=1.1))
    assert sorted(trained) == sorted(reps)
    with ResultCache(tmp_path / "runs.sqlite") as cache:
        assert [wall_to_cpu(cache.get(r, only_key(cache), 777)) for r in reps] == pytest.approx([2.0] * 3)
    _train_timed_as(monkeypatch, 1.0)  # a quieter machine later: now they are replaced
    build_table(_config(cifar_jpg, tiny_recipe, tmp_path, retrain_contended=1.1))
    with ResultCache(tmp_path / "runs.sqlite") as cache:
        assert [wall_to_cpu(cache.get(r, only_key(cache), 777)) for r in reps] == pytest.approx([1.0] * 3)


def test_an_interrupted_retrain_keeps_the_cached_run(cifar_jpg, tiny_recipe, tmp_path, monkeypatch):
    build_table(_config(cifar_jpg, tiny_recipe, tmp_path))
    rep = int(build_order(3)[0])
    _feed_wall_to_cpu(tmp_path / "runs.sqlite", tiny_recipe, {rep: 3.0})
    import nb201_env.training.trainer as trainer

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_table(_config(cifar_jpg, tiny_recipe, tmp_path, retrain_contended=1.5))
    with ResultCache(tmp_path / "runs.sqlite") as cache:
        assert wall_to_cpu(cache.get(rep, only_key(cache), 777)) == pytest.approx(3.0)
        assert cache.count() == 3


def test_the_env_runs_on_a_built_table(cifar_jpg, tiny_recipe, tmp_path):
    import gymnasium as gym

    import nb201_env  # noqa: F401

    path = build_table(_config(cifar_jpg, tiny_recipe, tmp_path))
    rep = int(build_order(3)[0])
    env = gym.make("NASBench201-OneShot-v0", store=str(path), budget=1e6)
    env.reset(seed=0)
    from nb201_env.space import all_ops

    _, reward, terminated, _, info = env.step(all_ops()[rep].astype(np.int64))
    assert terminated and info["arch"] == rep and reward == pytest.approx(info["valid_accuracy"] / 100)
    assert env.unwrapped.describe()["benchmark"] == "nb201-proxy" and env.unwrapped.describe()["schedule"] == 2


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"dataset": "mnist"}, "unknown table dataset 'mnist'"),
        ({"workers": 0}, "workers"),
        ({"time_scale": 0}, "time_scale"),
        ({"limit": 0}, "limit"),
        ({"retrain_contended": 0.5}, "retrain_contended must be >= 1 .* got 0.5"),
        ({"retrain_contended": "1.1"}, "retrain_contended"),
    ],
)
def test_bad_table_configs_are_refused(tmp_path, kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        TableConfig(tmp_path, tmp_path / "o", tmp_path / "c", **kwargs)


def test_cli_builds_a_table_with_recipe_overrides(cifar_jpg, tmp_path, capsys):
    from nb201_env.cli import main

    argv = ["build-table", "--data", str(cifar_jpg), "--out", str(tmp_path / "cli.store")]
    argv += ["--cache", str(tmp_path / "cli.sqlite"), "--limit", "2", "--workers", "1", "--epochs", "1"]
    argv += ["--channels", "4", "--resolution", "8", "--train-subset", "256", "--data-name", "my images"]
    argv += ["--retrain-contended", "1.2"]
    assert main(argv) == 0
    bench = Benchmark.open(tmp_path / "cli.store")
    extra = bench.store.manifest.extra
    assert extra["data"] == "my images" and extra["classes_trained"] == 2
    assert extra["recipe"]["epochs"] == 1 and extra["recipe"]["channels"] == 4 and extra["recipe"]["resolution"] == 8
    assert extra["recipe"]["cells_per_stage"] == 1  # not overridden: the proxy recipe's value
    assert bench.search_schedule("cifar10") == 1 and "my images" in bench.store.manifest.description
    assert "cli.store" in capsys.readouterr().out
