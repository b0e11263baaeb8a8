"""Parallel training: the process pool, the Ray backend (local instance) and their failure reporting."""

from __future__ import annotations

import sys
from concurrent.futures import Future
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the [train] extra (pip install nb201-env[train])")

from nb201_env.isomorphism import representative_of
from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
from nb201_env.training.jobs import Job
from nb201_env.training.parallel import JobsFailed, ProcessPoolBackend, collect
from nb201_env.training.trainer import Runtime, train

RUNTIME = Runtime(device="cpu", threads=1, deterministic=True)
ARCHS = [int(representative_of(i)) for i in (10, 20, 30, 40)]


def _sequential(tiny_splits, tiny_recipe, archs):
    return {a: train(a, tiny_splits, tiny_recipe, 777, RUNTIME).to_dict() for a in archs}


def test_process_pool_trains_in_workers_and_fills_the_cache(tmp_path, tiny_splits, tiny_recipe):
    config = TrainingConfig(recipe=tiny_recipe, cache=tmp_path / "c.sqlite", runtime=RUNTIME)
    with (
        ProcessPoolBackend(workers=2, threads_per_worker=1) as pool,
        TrainingEvaluator(config, splits=tiny_splits, backend=pool) as evaluator,
    ):
        accuracy, cost = evaluator.evaluate_many(np.array(ARCHS + ARCHS[:1]), np.random.default_rng(0))
        assert evaluator.cache.count() == len(ARCHS)
        rows = [evaluator.cached(a, 777) for a in ARCHS]
    assert accuracy[0] == accuracy[-1] and np.all(cost > 0)
    assert {r["info"]["threads"] for r in rows} == {1}
    expected = _sequential(tiny_splits, tiny_recipe, ARCHS[:2])
    for row in rows[:2]:  # a worker process computes the same bits as this one
        assert row["train_loss"] == expected[row["index"]]["train_loss"]
        assert row["valid_accuracy"] == expected[row["index"]]["valid_accuracy"]


def test_process_pool_trains_batches_like_training_alone(tmp_path, tiny_splits, tiny_recipe):
    runtime = replace(RUNTIME, archs_per_step=2, stacking="per-arch")
    config = TrainingConfig(recipe=tiny_recipe, cache=tmp_path / "c.sqlite", runtime=runtime)
    with (
        ProcessPoolBackend(workers=2, threads_per_worker=1) as pool,
        TrainingEvaluator(config, splits=tiny_splits, backend=pool) as evaluator,
    ):
        runs = evaluator.run(ARCHS[:3], [777] * 3)
        assert evaluator.cache.count() == 3
    expected = _sequential(tiny_splits, tiny_recipe, ARCHS[:3])
    assert [r["info"].get("archs_per_step", 1) for r in runs] == [2, 2, 1]
    for run in runs:
        assert run["train_loss"] == expected[run["index"]]["train_loss"]
        assert run["valid_accuracy"] == expected[run["index"]]["valid_accuracy"]


def test_failed_jobs_are_reported_after_the_others_are_handed_over():
    ok, bad = Future(), Future()
    ok.set_result([{"index": 1}, {"index": 2}])
    bad.set_exception(ValueError("boom"))
    seen = []
    batches = {ok: [Job(1, 0), Job(2, 0)], bad: [Job(7, 0), Job(8, 0)]}
    with pytest.raises(JobsFailed, match=r"2 of 4 training jobs failed: arch 7 seed 0: ValueError\('boom'\); arch 8"):
        collect(batches, lambda job, result: seen.append(job))
    assert seen == [(1, 0, False), (2, 0, False)]


def test_pool_arguments_are_checked():
    with pytest.raises(ValueError, match="workers must be an int >= 1 or None, got 0"):
        ProcessPoolBackend(workers=0)
    with pytest.raises(ValueError, match="workers=3 but 2 devices given: one worker per device"):
        ProcessPoolBackend(workers=3, devices=["cuda:0", "cuda:1"])


def test_ray_backend_without_ray_says_how_to_install_it(monkeypatch):
    from nb201_env.training.ray_backend import RayBackend

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install nb201-env\[ray\]"):
        RayBackend()


@pytest.mark.slow
def test_ray_backend_on_a_local_instance(tmp_path, tiny_splits, tiny_recipe):
    ray = pytest.importorskip("ray", reason="needs the [ray] extra (pip install nb201-env[ray])")
    from nb201_env.training.ray_backend import RayBackend

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        runtime = replace(RUNTIME, archs_per_step=2, stacking="per-arch")  # tasks of two, then one
        config = TrainingConfig(recipe=tiny_recipe, cache=tmp_path / "c.sqlite", runtime=runtime)
        backend = RayBackend(num_cpus=1)
        with TrainingEvaluator(config, splits=tiny_splits, backend=backend) as evaluator:
            accuracy, _ = evaluator.evaluate_many(np.array(ARCHS[:3]), np.random.default_rng(0))
            assert evaluator.cache.count() == 3
            rows = [evaluator.cached(a, 777) for a in ARCHS[:3]]
    finally:
        ray.shutdown()
    expected = _sequential(tiny_splits, tiny_recipe, ARCHS[:3])
    assert [r["train_loss"] for r in rows] == [expected[a]["train_loss"] for a in ARCHS[:3]]
    assert [r["info"].get("archs_per_step", 1) for r in rows] == [2, 2, 1]
    assert accuracy.tolist() == [r["valid_accuracy"][-1] for r in rows]
