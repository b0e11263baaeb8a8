"""TrainingEvaluator and its persistent cache: the Evaluator protocol, cache keys, and a SIGKILLed real run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from training_helpers import only_key

pytest.importorskip("torch", reason="needs the [train] extra (pip install nb201-env[train])")

from nb201_env.evaluators import Evaluation, Evaluator, MultiFidelityEvaluator
from nb201_env.isomorphism import members_of, representative_of
from nb201_env.training import trainer
from nb201_env.training.cache import CacheError, ResultCache
from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
from nb201_env.training.trainer import Runtime

CPU = Runtime(device="cpu", threads=1)


def _config(tmp_path, recipe, **kwargs) -> TrainingConfig:
    kwargs.setdefault("runtime", CPU)
    return TrainingConfig(dataset="cifar10", recipe=recipe, cache=tmp_path / "runs.sqlite", **kwargs)


def _no_training(monkeypatch):
    monkeypatch.setattr(trainer, "train", lambda *a, **k: pytest.fail("trained although the run was cached"))


def test_evaluator_protocol_caching_and_isomorphic_hits(tmp_path, tiny_splits, tiny_recipe, monkeypatch):
    evaluator = TrainingEvaluator(_config(tmp_path, tiny_recipe), splits=tiny_splits)
    assert isinstance(evaluator, Evaluator)
    index = int(next(m for m in range(15625) if len(members_of(m)) > 1 and representative_of(m) != m))
    first = evaluator.evaluate(index, np.random.default_rng(0))
    assert isinstance(first, Evaluation) and 0 <= first.accuracy <= 100 and first.cost > 0
    evaluator.close()
    _no_training(monkeypatch)
    with TrainingEvaluator(_config(tmp_path, tiny_recipe), splits=tiny_splits) as again:  # a new process would see it
        assert again.evaluate(index, np.random.default_rng(1)) == first  # recorded accuracy and recorded cost
        assert again.evaluate(representative_of(index), np.random.default_rng(2)) == first  # same class, same run
        assert again.describe()["cached_runs"] == 1


def test_random_seed_policy_draws_from_the_pool_with_the_passed_rng(tmp_path, tiny_splits, tiny_recipe):
    config = _config(tmp_path, tiny_recipe, seed_policy="random", seeds=(11, 22))
    with TrainingEvaluator(config, splits=tiny_splits) as evaluator:
        seeds = [evaluator.draw_seed(np.random.default_rng(7)) for _ in range(3)]
        assert len(set(seeds)) == 1 and seeds[0] in (11, 22)
        acc, cost = evaluator.evaluate_many(np.array([1, 1, 2]), np.random.default_rng(3))
        assert acc.shape == cost.shape == (3,)
        assert set(evaluator.cache.seeds(1, evaluator.key())) <= {11, 22}


def test_test_accuracy_only_on_request_and_describe(tmp_path, tiny_splits, tiny_recipe):
    with TrainingEvaluator(_config(tmp_path, tiny_recipe), splits=tiny_splits) as evaluator:
        evaluator.evaluate(5, np.random.default_rng(0))
        row = evaluator.cached(5, 777)
        assert row["test_accuracy"] is None  # not computed during the search
        test = evaluator.test_accuracy(5)
        assert 0 <= test <= 100
        assert evaluator.cached(5, 777)["test_accuracy"] == test
        info = evaluator.describe()
    assert info["signal"] == "cifar10-valid/x-valid/accuracy" and info["test"] == "cifar10-valid/ori-test/accuracy"
    assert info["recipe_hash"] == tiny_recipe.stable_hash() and info["seeds"] == [777]
    assert info["cost_is_estimate"] is False and "seeded" in info["split"]


def test_multi_fidelity_reads_the_cached_curve(tmp_path, tiny_splits, tiny_recipe):
    with TrainingEvaluator(_config(tmp_path, tiny_recipe), splits=tiny_splits) as evaluator:
        assert isinstance(evaluator, MultiFidelityEvaluator) and evaluator.fidelities() == (0, 1)
        early = evaluator.evaluate_at(7, 0, np.random.default_rng(0))
        final = evaluator.evaluate(7, np.random.default_rng(0))
        row = evaluator.cached(7, 777)
        assert early == (row["valid_accuracy"][0], row["train_cpu_seconds"][0] + row["eval_cpu_seconds"][0])
        assert final.accuracy == evaluator.evaluate_at(7, 1, np.random.default_rng(0)).accuracy
        assert early.cost < final.cost and evaluator.cache.count() == 1
        with pytest.raises(ValueError, match="epoch 2 has no recorded validation accuracy; valid epochs are 0..1"):
            evaluator.evaluate_at(7, 2, np.random.default_rng(0))
    last_only = _config(tmp_path, tiny_recipe, runtime=Runtime(device="cpu", threads=1, eval_epochs="last"))
    with TrainingEvaluator(last_only, splits=tiny_splits) as evaluator:
        assert evaluator.fidelities() == (1,)
        with pytest.raises(ValueError, match=r"valid epochs are 1..1 \(set Runtime\(eval_epochs='all'\)"):
            evaluator.evaluate_at(7, 0, np.random.default_rng(0))


def test_config_errors_name_the_bad_value_and_the_choices(tmp_path, tiny_recipe):
    with pytest.raises(ValueError, match="unknown seed policy 'mean'; valid seed policies are: 'fixed', 'random'"):
        TrainingConfig(seed_policy="mean")
    with pytest.raises(ValueError, match="unknown dataset 'mnist'; valid datasets are"):
        TrainingConfig(dataset="mnist")
    with pytest.raises(ValueError, match=r"seeds must be a non-empty tuple of ints >= 0, got \(\)"):
        TrainingConfig(seeds=())
    with pytest.raises(ValueError, match="TrainingConfig.root is not set: pass the dataset"):
        TrainingEvaluator(TrainingConfig(recipe=tiny_recipe, runtime=CPU))  # refused when built, not when used


def test_cache_refuses_foreign_files_and_other_schema_versions(tmp_path):
    bad = tmp_path / "notes.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match="is not a usable training cache"):
        ResultCache(bad)
    path = tmp_path / "old.sqlite"
    ResultCache(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    with pytest.raises(CacheError, match="has cache schema '0'; this version reads '2'"):
        ResultCache(path)


WORKER = """
import json
import sys
import numpy as np
from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
from nb201_env.training.recipe import Recipe
from nb201_env.training.trainer import Runtime

recipe = Recipe.from_dict(json.loads(sys.argv[3]))
config = TrainingConfig(dataset="cifar10", root=sys.argv[1], recipe=recipe, cache=sys.argv[2],
                        runtime=Runtime(device="cpu", threads=1, archs_per_step=int(sys.argv[4])))
with TrainingEvaluator(config) as evaluator:
    evaluator.evaluate_many(np.array({archs}), np.random.default_rng(0))
print("done")
"""


@pytest.mark.parametrize("archs_per_step", [1, 2])
def test_sigkill_mid_run_keeps_finished_runs_and_the_rerun_completes(tmp_path, cifar_jpg, tiny_recipe, archs_per_step):
    archs = [int(representative_of(i)) for i in (1, 2, 3, 4, 5, 6, 7, 8)]
    cache = tmp_path / "runs.sqlite"
    script = WORKER.format(archs=archs)
    recipe = json.dumps(tiny_recipe.to_dict())
    args = [sys.executable, "-c", script, str(cifar_jpg), str(cache), recipe, str(archs_per_step)]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if cache.exists():
            with sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5) as db:
                try:
                    stored = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
                except sqlite3.OperationalError:  # the table is being created
                    stored = 0
            if stored >= 2:
                break
        time.sleep(0.02)
    assert proc.poll() is None, f"worker ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)  # mid-way through the next training run
    proc.wait()
    with ResultCache(cache) as reopened:
        assert reopened.integrity_check() == "ok"
        key = only_key(reopened)
        kept = {rep: reopened.get(rep, key, 777) for rep in archs}
    finished = {rep: row for rep, row in kept.items() if row is not None}
    assert 2 <= len(finished) < len(archs)
    rerun = subprocess.run(args, capture_output=True, timeout=300)
    assert rerun.returncode == 0 and b"done" in rerun.stdout, rerun.stderr.decode()[-2000:]
    with ResultCache(cache) as final:
        assert final.count(key) == len(archs)
        for rep, row in finished.items():
            assert final.get(rep, key, 777) == row  # not retrained


def test_registered_training_env_charges_measured_seconds(cifar_jpg, tiny_recipe, tmp_path):
    import gymnasium as gym

    import nb201_env  # noqa: F401
    from nb201_env.training.runtime import Runtime

    env = gym.make(
        "NASBench201-Train-v0",
        root=str(cifar_jpg),
        recipe=tiny_recipe,
        cache=str(tmp_path / "c.sqlite"),
        runtime=Runtime(threads=1),
        budget=1e6,
    )
    env.reset(seed=0)
    for op in (3, 3, 3, 1, 3, 2):
        _, reward, terminated, _, info = env.step(op)
    assert terminated and info["arch"] == 6111 and 0 < info["valid_accuracy"] <= 100
    assert info["cost"] > 0 and env.unwrapped.clock.elapsed == info["cost"]
    assert reward == info["valid_accuracy"] / 100 and env.unwrapped.describe()["evaluator"] == "training"
    with pytest.raises(ValueError, match="unknown argument 'budjet'"):
        gym.make("NASBench201-Train-v0", root=str(cifar_jpg), budjet=3)
