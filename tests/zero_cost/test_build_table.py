"""The zero-cost build: its plan, its resumable cache, the table it writes and the benchmark API that reads it."""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pytest

from nb201_env.benchmark import Benchmark, MissingValueError
from nb201_env.isomorphism import class_ids
from nb201_env.space import NUM_ARCHS
from nb201_env.zero_cost.build import (
    ARCH_PROXIES,
    CLASS_PROXIES,
    BuildConfig,
    describe_build,
    group_representatives,
    plan,
    run_build,
    score_groups,
)
from nb201_env.zero_cost.cache import ScoreCache, ZeroCostCacheError
from nb201_env.zero_cost.spec import PROXIES, TRAINING_FREE
from nb201_env.zero_cost.table import write_table

from zero_cost_helpers import SMALL, synthetic_minibatch


def config(tmp_path, **kw) -> BuildConfig:
    return BuildConfig(root=str(tmp_path / "data"), cache=str(tmp_path / "zc.sqlite"), **{**SMALL, **kw})


def test_score_groups_split_classes_only_where_the_live_ops_differ() -> None:
    groups, classes = score_groups(), class_ids()
    assert groups.max() + 1 == 8001
    # a group never spans two classes, and every class is one or more whole groups
    first_class = np.full(groups.max() + 1, -1)
    first_class[groups] = classes
    assert np.array_equal(first_class[groups], classes)
    order = np.argsort(groups, kind="stable")  # members of each group, smallest index first
    starts = np.searchsorted(groups[order], np.arange(groups.max() + 1))
    assert np.array_equal(group_representatives(), order[starts])


def test_the_full_plan_scores_naswot_everywhere_and_the_network_proxies_once_per_group(tmp_path) -> None:
    jobs = plan(config(tmp_path))
    per_cell = [a for a, names in jobs if names == ARCH_PROXIES]
    per_group = [a for a, names in jobs if names == CLASS_PROXIES]
    assert len(jobs) == NUM_ARCHS + len(group_representatives())
    assert sorted(per_cell) == list(range(NUM_ARCHS)) and sorted(per_group) == sorted(group_representatives())
    assert jobs[: len(per_cell)] == [(a, ARCH_PROXIES) for a in per_cell]  # naswot everywhere comes first
    assert per_cell[:5] != list(range(5))  # a seeded random order: any prefix is a uniform sample
    assert plan(config(tmp_path)) == jobs


def test_a_sample_plan_scores_every_proxy_on_distinct_random_cells(tmp_path) -> None:
    jobs = plan(config(tmp_path, sample=50, sample_seed=3))
    assert len({a for a, _ in jobs}) == 50 and all(names == TRAINING_FREE for _, names in jobs)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("dataset", "cifar10", "valid datasets are"),
        ("workers", 0, "workers must be"),
        ("sample", NUM_ARCHS + 1, "sample must be"),
        ("seed", -1, "seed must be"),
        ("limit", 0, "limit must be"),
        ("only", ("naswot_v1",), "unknown proxy 'naswot_v1' in only"),
        ("only", (), "scores nothing"),
    ],
)
def test_bad_build_arguments_are_refused_by_name(tmp_path, field, value, message) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        config(tmp_path, **{field: value})


def test_a_build_of_some_proxies_leaves_the_rest_of_the_plan_for_later(tmp_path) -> None:
    pytest.importorskip("torch")
    batch = synthetic_minibatch()
    only = ("synflow", "grad_norm")
    with run_build(config(tmp_path, limit=2, only=only), batch) as first:
        done = first.done()
        key = first.key
    reps = set(group_representatives().tolist())
    assert {p for _, p in done} == set(only) and len(done) == 4 and {a for a, _ in done} <= reps
    with run_build(config(tmp_path, limit=1), batch) as rest:  # the same build: its plan starts with naswot
        assert rest.key == key and done < rest.done() and ("naswot" in {p for _, p in rest.done()})


def test_the_build_resumes_from_its_cache_and_keys_builds_apart(tmp_path) -> None:
    pytest.importorskip("torch")
    batch = synthetic_minibatch()
    calls: list[int] = []
    first = run_build(config(tmp_path, limit=2), batch, lambda done, total: calls.append(done))
    with first:
        assert len(calls) == 2 and len({a for a, _ in first.done()}) == 2
        rows = first.read()
    again: list[int] = []
    with run_build(config(tmp_path, limit=2), batch, lambda done, total: again.append(done)) as second:
        assert len({a for a, _ in second.done()}) == 4  # two new cells: the cached two were not recomputed
        assert second.read()["naswot"].items() >= rows["naswot"].items()
    # another seed is another build: it sees none of the first build's scores
    with ScoreCache(tmp_path / "zc.sqlite", describe_build(config(tmp_path, seed=1), batch)) as other:
        assert other.done() == set()


def test_a_foreign_or_damaged_cache_is_named_in_the_error(tmp_path) -> None:
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE scores (id INTEGER, payload TEXT)")
    with pytest.raises(ZeroCostCacheError, match="other.sqlite.*'scores' has columns"):
        ScoreCache(foreign, {"seed": 0})
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ZeroCostCacheError, match="junk.sqlite is not a usable zero-cost score cache"):
        ScoreCache(junk, {"seed": 0})


def fake_cache(tmp_path, archs=None) -> ScoreCache:
    """A cache holding made-up scores: group proxies on some representatives, naswot on some archs."""
    cache = ScoreCache(tmp_path / "fake.sqlite", {"seed": 0, "minibatch": {"images": 128}})
    reps = group_representatives()[:100] if archs is None else archs
    rows = [(int(a), p, float(a) + i, 0.5 + i, 1.0) for a in reps for i, p in enumerate(CLASS_PROXIES)]
    rows += [(int(a), "naswot", 1000.0 + a, 0.25, 0.3) for a in range(200)]
    rows.append((int(reps[0]), "jacob_cov", float("nan"), 0.1, 0.1))  # an undefined score
    cache.put(rows)
    return cache


def test_the_table_shares_group_scores_and_leaves_missing_ones_nan(tmp_path) -> None:
    with fake_cache(tmp_path) as cache:
        path = write_table(cache, tmp_path / "zc.store", build_seconds=12.0)
    bench = Benchmark.open(path)
    assert bench.zero_cost_proxies("cifar10") == tuple(sorted(PROXIES))
    groups, reps = score_groups(), group_representatives()
    synflow = bench.zero_cost("synflow", "cifar10")
    assert synflow.dtype == np.float64 and synflow.shape == (NUM_ARCHS,) and not synflow.flags.writeable
    members = np.flatnonzero(groups == groups[reps[5]])
    assert np.all(synflow[members] == float(reps[5]))  # every member reads its group's score
    assert math.isnan(bench.zero_cost("jacob_cov")[reps[0]])  # undefined stays NaN
    assert np.isnan(synflow[groups >= 100]).all()  # never computed: NaN, not 0
    naswot = bench.zero_cost("naswot")
    assert naswot[7] == 1007.0 and math.isnan(naswot[300])
    assert bench.zero_cost_seconds("grasp")[reps[5]] == pytest.approx(0.5 + CLASS_PROXIES.index("grasp"))
    assert bench.zero_cost("params")[6111] == pytest.approx(1.073466)  # analytic, every architecture
    extra = bench.store.manifest.extra["zero_cost"]
    assert extra["proxies"]["naswot"]["coverage"] == 200 and extra["build_seconds"] == 12.0


def test_asking_for_a_proxy_or_a_table_that_is_not_there_names_what_is(tmp_path, public_store) -> None:
    with fake_cache(tmp_path) as cache:
        bench = Benchmark.open(write_table(cache, tmp_path / "zc.store"))
    with pytest.raises(ValueError, match="unknown proxy name 'synflw'.*'fisher', 'flops'"):
        bench.zero_cost("synflw")
    with pytest.raises(ValueError, match="valid search datasets are"):
        bench.zero_cost("synflow", "cifar10-valid")
    with pytest.raises(MissingValueError, match="holds no zero-cost scores for cifar100"):
        bench.zero_cost("synflow", "cifar100")
    with pytest.raises(MissingValueError, match="'nb201-public' holds no zero-cost scores"):
        Benchmark.open(public_store).zero_cost("synflow")


def test_the_build_key_covers_the_images_not_the_folder_they_were_read_from() -> None:
    from nb201_env.zero_cost.cache import build_key

    described = {"seed": 0, "minibatch": {"sha256": "ab" * 32, "source": "image folder /data/a", "images": 128}}
    moved = {**described, "minibatch": {**described["minibatch"], "source": "image folder /elsewhere/b"}}
    other_images = {**described, "minibatch": {**described["minibatch"], "sha256": "cd" * 32}}
    assert build_key(described) == build_key(moved)
    assert build_key(described) != build_key(other_images)
    assert build_key(described) != build_key({**described, "seed": 1})
