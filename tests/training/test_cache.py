"""The run cache cannot lie: runs are served only under the key they were trained with; bad files are named."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the [train] extra (pip install nb201-env[train])")

from nb201_env.training import trainer
from nb201_env.training.cache import CacheError, ResultCache
from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
from nb201_env.training.runtime import Runtime

CPU = Runtime(device="cpu", threads=1)


def _evaluator(root, recipe, cache, **kwargs):
    kwargs.setdefault("runtime", CPU)
    return TrainingEvaluator(TrainingConfig(dataset="cifar10", root=root, recipe=recipe, cache=cache, **kwargs))


def _count_training(monkeypatch):
    trained, real = [], trainer.train
    monkeypatch.setattr(trainer, "train", lambda index, *a, **k: trained.append(index) or real(index, *a, **k))
    return trained


def test_a_run_is_never_served_for_another_split_or_other_data(cifar_jpg, tiny_recipe, tmp_path, monkeypatch):
    cache = tmp_path / "runs.sqlite"
    with _evaluator(cifar_jpg, tiny_recipe, cache) as evaluator:
        first = evaluator.evaluate(7, np.random.default_rng(0))
    trained = _count_training(monkeypatch)
    with _evaluator(cifar_jpg, tiny_recipe, cache) as evaluator:
        assert evaluator.evaluate(7, np.random.default_rng(0)) == first and trained == []  # the same setup: served
    with _evaluator(cifar_jpg, tiny_recipe, cache, split_seed=1) as evaluator:
        evaluator.evaluate(7, np.random.default_rng(0))
    assert trained == [7]  # another split: trained, not served
    permuted = tmp_path / "permuted"  # another folder whose labels are permuted
    shutil.copytree(cifar_jpg, permuted)
    for split in ("train", "test"):
        (permuted / split / "cat").rename(permuted / split / "tmp")
        (permuted / split / "dog").rename(permuted / split / "cat")
        (permuted / split / "tmp").rename(permuted / split / "dog")
    with _evaluator(permuted, tiny_recipe, cache) as evaluator:
        evaluator.evaluate(7, np.random.default_rng(0))
    assert trained == [7, 7]
    with ResultCache(cache) as runs:
        assert runs.count() == 3 and len(runs.run_keys()) == 3


def test_threads_and_scored_epochs_are_part_of_the_key_and_nothing_reads_back_nan(
    cifar_jpg, tiny_recipe, tmp_path, monkeypatch
):
    cache = tmp_path / "runs.sqlite"
    last = Runtime(device="cpu", threads=1, eval_epochs="last")
    with _evaluator(cifar_jpg, tiny_recipe, cache, runtime=last) as evaluator:
        evaluator.evaluate(9, np.random.default_rng(0))
    trained = _count_training(monkeypatch)
    with _evaluator(cifar_jpg, tiny_recipe, cache) as evaluator:  # every epoch scored: the last-only run cannot serve
        accuracy, _ = evaluator.evaluate_at(9, 0, np.random.default_rng(0))
        assert np.isfinite(accuracy) and trained == [9]
    with _evaluator(cifar_jpg, tiny_recipe, cache, runtime=last) as evaluator:
        evaluator.evaluate(9, np.random.default_rng(0))  # a run scored after every epoch serves the last epoch
    assert trained == [9]
    with _evaluator(cifar_jpg, tiny_recipe, cache, runtime=replace(CPU, threads=2)) as evaluator:
        evaluator.evaluate(9, np.random.default_rng(0))
        assert evaluator.key().setup()["numerics"]["threads"] == 2
    assert trained == [9, 9]


def test_a_grouped_runtime_keys_a_lone_run_like_its_batches(cifar_jpg, tiny_recipe, tmp_path):
    runtime = Runtime(device="cpu", threads=1, archs_per_step=2, stacking="grouped")
    with _evaluator(cifar_jpg, tiny_recipe, tmp_path / "runs.sqlite", runtime=runtime) as evaluator:
        evaluator.evaluate(3, np.random.default_rng(0))  # a lone job keeps the grouped kernels
        evaluator.evaluate_many(np.array([5, 6]), np.random.default_rng(0))
        assert (
            evaluator.cache.count(evaluator.key()) == 3 and evaluator.key().setup()["numerics"]["kernels"] == "grouped"
        )
        assert {evaluator.cached(a, 777)["info"]["stacking"] for a in (3, 5, 6)} == {"grouped"}


def test_a_run_trained_under_another_key_or_without_accuracy_is_not_stored(cifar_jpg, tiny_recipe, tmp_path):
    with _evaluator(cifar_jpg, tiny_recipe, tmp_path / "runs.sqlite") as evaluator:
        key = evaluator.key()
        run = trainer.train(3, evaluator.splits(), tiny_recipe, 777, replace(CPU, threads=2)).to_dict()
        with pytest.raises(ValueError, match=r"trained under another key .*numerics"):
            evaluator.cache.put(run, key, tiny_recipe)
        run = trainer.train(3, evaluator.splits(), tiny_recipe, 777, CPU).to_dict()
        run["valid_accuracy"][-1] = float("nan")
        with pytest.raises(ValueError, match=r"has no final validation accuracy \(nan\)"):
            evaluator.cache.put(run, key, tiny_recipe)
        assert evaluator.cache.count() == 0


def test_foreign_and_damaged_files_get_a_cache_error_naming_them(tmp_path):
    foreign = tmp_path / "theirs.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE runs (x INTEGER)")
        db.execute("INSERT INTO runs VALUES (1)")
    before = foreign.read_bytes()
    with pytest.raises(CacheError, match=r"theirs.sqlite is not a training cache of nb201_env: .*tables \['runs'\]"):
        ResultCache(foreign)
    assert foreign.read_bytes() == before  # nothing written to it
    noise = tmp_path / "notes.sqlite"
    noise.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match="notes.sqlite is not a usable training cache"):
        ResultCache(noise)


def test_a_damaged_row_is_a_cache_error_naming_the_file_and_the_run(cifar_jpg, tiny_recipe, tmp_path):
    cache = tmp_path / "runs.sqlite"
    with _evaluator(cifar_jpg, tiny_recipe, cache) as evaluator:
        evaluator.evaluate(11, np.random.default_rng(0))
        key = evaluator.key()
    with sqlite3.connect(cache) as db:
        db.execute("UPDATE runs SET result = '{\"valid_accuracy\": [1, 2'")
    with (
        ResultCache(cache) as runs,
        pytest.raises(CacheError, match=r"runs.sqlite: the stored run of arch 11 seed 777"),
    ):
        runs.get(11, key, 777)


SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE recipes (recipe_hash TEXT PRIMARY KEY, recipe TEXT NOT NULL);
CREATE TABLE runs (representative INTEGER NOT NULL, dataset TEXT NOT NULL, recipe_hash TEXT NOT NULL,
    seed INTEGER NOT NULL, accuracy REAL NOT NULL, cost REAL NOT NULL, test_accuracy REAL, result TEXT NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (representative, dataset, recipe_hash, seed)) WITHOUT ROWID;
INSERT INTO meta VALUES ('schema_version', '1');
"""


def _schema_1_cache(path, runs, recipe):
    """Write a cache as nb201_env 0.1 did: no data identity, the split only described in words."""
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_1)
        db.execute("INSERT INTO recipes VALUES (?, ?)", (recipe.stable_hash(), json.dumps(recipe.to_dict())))
        for run in runs:
            values = (run["index"], run["dataset"], run["recipe_hash"], run["seed"], run["valid_accuracy"][-1], 1.0)
            db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 0)", (*values, json.dumps(run)))


def _old_run(splits, recipe, index, split_source):
    run = trainer.train(index, splits, recipe, 777, CPU).to_dict()
    for name in ("data_id", "split_id", "eval_epochs", "cpu_clock"):
        del run["info"][name]
    for name in ("train_cpu_seconds", "eval_cpu_seconds", "test_cpu_seconds", "test_cpu_seconds_curve"):
        del run[name]
    run["info"]["split_source"] = split_source
    return run


def test_a_schema_1_cache_is_refused_until_migrated_against_its_data(
    cifar_jpg, tiny_recipe, tmp_path, monkeypatch, capsys
):
    from nb201_env.training.migrate import migrate_cache

    cache = tmp_path / "old.sqlite"
    with _evaluator(cifar_jpg, tiny_recipe, tmp_path / "scratch.sqlite") as evaluator:
        splits = evaluator.splits()
    seeded = "image folder; seeded class-stratified halves (seed 0); official cifar-split.txt not found"
    other = "image folder; seeded class-stratified halves (seed 5); official cifar-split.txt not found"
    _schema_1_cache(
        cache, [_old_run(splits, tiny_recipe, 5, seeded), _old_run(splits, tiny_recipe, 6, other)], tiny_recipe
    )
    with pytest.raises(
        CacheError, match=r"old.sqlite is a training cache of schema 1.*nb201 migrate-cache .*old.sqlite"
    ):
        ResultCache(cache)
    report = migrate_cache(cache, cifar_jpg)
    assert (report.migrated, report.left) == (1, 1) and "its split (seeded:5) is not the given data's" in str(report)
    trained = _count_training(monkeypatch)
    with _evaluator(cifar_jpg, tiny_recipe, cache) as evaluator:
        accuracy, cost = evaluator.evaluate(5, np.random.default_rng(0))  # served: CPU seconds split by wall time
        assert trained == [] and np.isfinite(accuracy) and cost > 0
        evaluator.evaluate(6, np.random.default_rng(0))  # left in legacy_runs: trained again, never served
        assert trained == [6]
    from nb201_env.cli import main

    assert main(["migrate-cache", str(cache), "--data", str(cifar_jpg), "--split-seed", "5"]) == 0  # its data moves it
    assert "1 runs moved to the current cache key" in capsys.readouterr().out
    with sqlite3.connect(cache) as db:
        assert "legacy_runs" not in {name for (name,) in db.execute("SELECT name FROM sqlite_master")}


def test_the_committed_build_cache_names_the_migration(tmp_path):
    import lzma

    from shared_data import REPO

    packed = REPO / "benchmarks" / "builds" / "rebuild.sqlite.xz"
    cache = tmp_path / "rebuild.sqlite"
    cache.write_bytes(lzma.decompress(packed.read_bytes()))
    with pytest.raises(CacheError, match="schema 1.*nb201 migrate-cache"):
        ResultCache(cache)
