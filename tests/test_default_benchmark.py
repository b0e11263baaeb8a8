"""The default benchmark: ``nb201-public`` ships with the package, serves NB201's own figures offline, and is
chosen only when nothing else is configured (path or name, then ``$NB201_DATA``, then the cache directory)."""

from __future__ import annotations

import csv
import logging
import shutil

import gymnasium as gym
import numpy as np
import pytest

import nb201_env  # noqa: F401  (registers the envs)
import nb201_env.locate as locate
from nb201_env.benchmark import Benchmark
from nb201_env.store import Store, StoreError
from nb201_env.store.schema import MANIFEST, RecordKey

PUBLIC = locate.bundled_store_path("nb201-public")


@pytest.fixture
def nothing_configured(monkeypatch, tmp_path):
    """No path, no ``$NB201_DATA``, an empty cache and home directory, the one-time log line not yet given."""
    monkeypatch.delenv(locate.ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(locate, "_announced", False)


def test_nothing_configured_gives_nb201_public_and_says_so_in_one_short_line_once(nothing_configured, caplog):
    with caplog.at_level(logging.WARNING, logger="nb201_env.locate"):
        assert locate.find_store() == PUBLIC
        assert Benchmark.open().name == "nb201-public"
        gym.make("NASBench201-v0")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1, lines
    line = lines[0]
    assert "\n" not in line and len(line) < 160, line
    assert "'nb201-public'" in line and "`nb201 info`" in line and "nb201 download nats-tss-simple" in line


def test_gym_make_serves_nb201_figures_offline(nothing_configured):
    env = gym.make("NASBench201-v0", protocol="nb201")
    env.reset(seed=0)
    for op in [3, 3, 3, 1, 3, 2]:
        _, reward, terminated, truncated, info = env.step(op)
    assert terminated and not truncated and info["arch"] == 6111 and info["benchmark"] == "nb201-public"
    bench = Benchmark.open(PUBLIC)
    assert reward == bench.validation(6111, "cifar10").accuracy / 100
    assert env.unwrapped.describe()["benchmark"] == "nb201-public"


def test_the_reward_is_nb201s_recorded_12_epoch_validation_accuracy(nothing_configured, shared_nb201):
    with open(shared_nb201 / "nb201_hp12_final_accuracy.csv") as fh:
        row = next(r for r in csv.DictReader(fh) if r["arch_index"] == "6111")
    env = gym.make("NASBench201-OneShot-v0")
    env.reset(seed=0)
    _, reward, *_, info = env.step(np.array([3, 3, 3, 1, 3, 2]))
    assert info["valid_accuracy"] == float(row["cifar10-valid/x-valid"]) and reward == info["valid_accuracy"] / 100


def test_resolution_order_path_then_env_then_cache_then_bundled(nothing_configured, monkeypatch, tmp_path, caplog):
    def store_at(path):
        shutil.copytree(PUBLIC, path)
        return path

    cache = store_at(tmp_path / "empty-cache" / "nb201_env" / "nb201.store")
    mine = store_at(tmp_path / "mine.store")
    explicit = store_at(tmp_path / "explicit.store")
    with caplog.at_level(logging.WARNING, logger="nb201_env.locate"):
        assert locate.find_store() == cache
        monkeypatch.setenv(locate.ENV_VAR, str(mine))
        assert locate.find_store() == mine
        assert locate.find_store(explicit) == explicit
        assert locate.find_store("nb201-proxy-cifar10") == locate.bundled_store_path("nb201-proxy-cifar10")
        monkeypatch.setenv(locate.ENV_VAR, "nb201-proxy-cifar10")  # $NB201_DATA may name a benchmark too
        assert locate.find_store() == locate.bundled_store_path("nb201-proxy-cifar10")
    assert not caplog.records  # nothing announced: the bundled default was never chosen


def test_a_missing_path_or_env_value_is_an_error_not_a_fallback(nothing_configured, monkeypatch, tmp_path):
    gone = tmp_path / "nowhere.store"
    with pytest.raises(StoreError, match="nowhere.store.*neither a known benchmark.*nb201-public"):
        locate.find_store(gone)
    monkeypatch.setenv(locate.ENV_VAR, str(gone))
    with pytest.raises(StoreError, match=r"\$NB201_DATA .*nowhere.store"):
        locate.find_store()
    with pytest.raises(StoreError, match=r"\$NB201_DATA"):
        gym.make("NASBench201-v0")
    monkeypatch.setenv(locate.ENV_VAR, str(tmp_path))  # exists, but is no store
    with pytest.raises(StoreError, match="is not a store"):
        Benchmark.open()


def test_unknown_names_and_wrong_types_name_the_valid_choices():
    with pytest.raises(StoreError, match="known benchmarks: nb201-public, nb201-proxy-cifar10"):
        Benchmark.open("nb201-full")
    with pytest.raises(TypeError, match="store must be a benchmark name or a path, got int 123"):
        locate.find_store(123)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="no bundled benchmark named 'x'; bundled benchmarks are: nb201-public"):
        locate.bundled_store_path("x")


def test_a_name_wins_over_a_same_named_folder_but_a_dotted_path_does_not(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(locate.bundled_store_path("nb201-proxy-cifar10"), tmp_path / "nb201-public")
    assert locate.find_store("nb201-public") == PUBLIC
    assert Store.open(locate.find_store("./nb201-public")).name == "nb201-proxy-cifar10"


def test_the_bundled_store_ships_intact_with_its_provenance(public_bench):
    assert (PUBLIC / MANIFEST).is_file(), f"the bundled benchmark is missing from the package at {PUBLIC}"
    public_bench.store.verify()  # every checksum
    manifest = public_bench.store.manifest
    assert manifest.name == "nb201-public" and manifest.extra["kind"] == "recorded"
    assert {s.license for s in manifest.sources.values()} >= {"MIT (Copyright (c) 2021 BayesWatch)", "MIT"}
    times = public_bench.store.estimate_mask(RecordKey("cifar10-valid", "train", "time", 12))
    assert times is not None and not times[:1000].any() and times[1000:].all()  # fitted beyond arch 999
    every = np.arange(15625)
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        accuracy, cost = public_bench.validation_many(every, dataset)
        assert not np.isnan(accuracy).any() and (cost > 0).all()
        assert not np.isnan(public_bench.test_accuracy_many(every, dataset)).any()


def test_the_bundled_store_equals_a_fresh_conversion_bit_for_bit(public_bench, shared_store):
    fresh = Store.open(shared_store)
    bundled = public_bench.store
    assert sorted(bundled.records) == sorted(fresh.records) and sorted(bundled.stats) == sorted(fresh.stats)
    for key in fresh.records:
        assert bundled.records[key] == fresh.records[key], key  # seeds, epochs, source, file checksum
        a, b = bundled.record(key), fresh.record(key)
        assert a.dtype == b.dtype == np.float64 and a.tobytes() == b.tobytes(), key
        mask_a, mask_b = bundled.estimate_mask(key), fresh.estimate_mask(key)
        assert (mask_a is None) == (mask_b is None) and (mask_a is None or mask_a.tobytes() == mask_b.tobytes())
    for key in fresh.stats:
        assert bundled.stat(key).tobytes() == fresh.stat(key).tobytes(), key
    assert bundled.manifest.sources == fresh.manifest.sources and bundled.manifest.extra == fresh.manifest.extra
