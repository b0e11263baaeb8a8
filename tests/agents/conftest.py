"""Fixtures of the agent tests: the repo root on ``sys.path`` (for ``agents``), env makers, a curve store."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import nb201_env  # noqa: F401  (registers the envs)

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `agents` is a top-level folder of the repo, not an installed package
    sys.path.insert(0, str(REPO))


@pytest.fixture
def make_env(public_bench) -> Callable[..., gym.Env]:
    """Make an env on the real public figures (NB201 protocol unless overridden)."""

    def make(env_id: str = "NASBench201-OneShot-v0", **kwargs: Any) -> gym.Env:
        kwargs.setdefault("protocol", "nb201")
        return gym.make(env_id, benchmark=public_bench, **kwargs)

    return make


@pytest.fixture
def no_test_accuracy(monkeypatch):
    """Make any read of a test accuracy during the test fail loudly."""
    from nb201_env.benchmark import Benchmark
    from nb201_env.evaluators import TabularEvaluator

    def forbidden(*args: Any, **kwargs: Any) -> float:
        raise AssertionError("test accuracy was read during search")

    monkeypatch.setattr(Benchmark, "test_accuracy", forbidden)
    monkeypatch.setattr(TabularEvaluator, "test_accuracy", forbidden)


@pytest.fixture(scope="session")
def curve_bench(tmp_path_factory):
    """A synthetic store whose 12-epoch validation curve holds all epochs 0..11.

    Accuracy rises with the epoch and ranks cells the same way at every epoch, plus a small per-epoch
    jitter; each epoch of training costs 10 s and a validation pass 1 s, so judging after epoch ``e``
    costs ``10 * (e + 1) + 1`` s.
    """
    from nb201_env.benchmark import Benchmark
    from nb201_env.store import RecordKey, SeedAxis, Source, StoreWriter

    rng = np.random.default_rng(7)
    quality = rng.random(15625)
    epochs = np.arange(12)
    path = tmp_path_factory.mktemp("curve") / "curve.store"
    with StoreWriter(path, "curve", "") as w:
        w.add_source("s", Source("synthetic"))
        acc = w.add_record(RecordKey("cifar10-valid", "x-valid", "accuracy", 12), SeedAxis("one"), epochs, "s")
        acc[:, 0, :] = 10 + 80 * quality[:, None] * (epochs + 1) / 12 + rng.normal(0, 0.5, (15625, 12))
        w.add_record(RecordKey("cifar10-valid", "train", "time", 12), SeedAxis("constant"), None, "s")[:] = 10.0
        w.add_record(RecordKey("cifar10-valid", "x-valid", "time", 12), SeedAxis("constant"), None, "s")[:] = 1.0
        return Benchmark.open(w.commit())
