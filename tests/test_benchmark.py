import math

import numpy as np
import pytest

from nb201_env.benchmark import Benchmark
from nb201_env.store import MissingRecordError, MissingValueError, RecordKey, SeedAxis, Source, StoreWriter

ACC = RecordKey("cifar100", "x-valid", "accuracy", 200)


@pytest.fixture
def seeded(tmp_path):
    """A store with three seeds, a missing seed, a missing arch, and per-epoch times."""
    rng = np.random.default_rng(0)
    acc = rng.uniform(20, 70, size=(15625, 3, 2))
    acc[1, 2, :] = np.nan  # arch 1 lacks seed 999
    acc[2] = np.nan  # arch 2 has no value at all
    with StoreWriter(tmp_path / "s.store", "seeded", "") as w:
        w.add_source("s", Source("t"))
        w.add_record(ACC, SeedAxis("seeds", (777, 888, 999)), [11, 199], "s")[:] = acc
        w.add_record(RecordKey("cifar100", "x-test", "accuracy", 200), SeedAxis("seeds", (777, 888, 999)), [199], "s")[
            :
        ] = 99.0
        train = w.add_record(RecordKey("cifar100", "train", "time", 200), SeedAxis("constant"), range(200), "s")
        train[:] = np.arange(200)[None, None, :] * 0.5 + 1.0
        w.add_record(RecordKey("cifar100", "x-valid", "time", 200), SeedAxis("constant"), None, "s")[:] = 0.25
        return Benchmark.open(w.commit()), acc


def test_seed_policies(seeded):
    bench, acc = seeded
    q = dict(dataset="cifar100", split="x-valid", schedule=200)
    assert bench.query(0, **q) == pytest.approx(acc[0, :, 1].mean())
    assert bench.query(0, **q, seed=888) == acc[0, 1, 1]
    assert bench.query(1, **q) == pytest.approx(acc[1, :2, 1].mean())  # mean over the seeds it has
    draws = {bench.query(1, **q, seed=np.random.default_rng(s)) for s in range(60)}
    assert draws == {acc[1, 0, 1], acc[1, 1, 1]}  # never the missing seed
    a = [bench.query(0, **q, seed=np.random.default_rng(5)) for _ in range(3)]
    assert len(set(a)) == 1  # same generator state, same seed


def test_missing_values_raise_single_and_nan_batched(seeded):
    bench, _ = seeded
    q = dict(dataset="cifar100", split="x-valid", schedule=200)
    with pytest.raises(MissingValueError, match="arch 2.*15624 of 15625"):
        bench.query(2, **q)
    with pytest.raises(MissingValueError):
        bench.query(1, **q, seed=999)
    many = bench.query_many(np.array([0, 1, 2]), **q)
    assert not math.isnan(many[0]) and not math.isnan(many[1]) and math.isnan(many[2])
    drawn = bench.query_many(np.array([1, 2] * 50), **q, seed=np.random.default_rng(0))
    assert np.all(np.isnan(drawn[1::2])) and not np.any(np.isnan(drawn[::2]))


def test_batched_equals_single(seeded):
    bench, _ = seeded
    idx = np.array([0, 5, 9000, 15624])
    q = dict(dataset="cifar100", split="x-valid", schedule=200, epoch=11)
    single = [bench.query(int(i), **q, seed=777) for i in idx]
    assert bench.query_many(idx, **q, seed=777).tolist() == single


def test_cost_sums_per_epoch_train_times_plus_one_validation_pass(seeded):
    bench, acc = seeded
    result = bench.validation(0, "cifar100", schedule=200, epoch=11, seed=777)
    assert result.accuracy == acc[0, 0, 0]
    assert result.cost == pytest.approx(sum(1.0 + 0.5 * k for k in range(12)) + 0.25)
    accs, costs = bench.validation_many(np.array([0, 3]), "cifar100", schedule=200, epoch=11)
    assert costs[0] == pytest.approx(result.cost)
    assert accs[0] == pytest.approx(acc[0, :, 0].mean())


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        (dict(dataset="cifar1000", split="x-valid", schedule=200), "unknown dataset 'cifar1000'"),
        (dict(dataset="cifar100", split="valid", schedule=200), "unknown split 'valid' for cifar100"),
        (dict(dataset="cifar100", split="x-valid", schedule=200, metric="acc"), "unknown metric 'acc'"),
        (dict(dataset="cifar100", split="x-valid", schedule="200"), "unknown schedule '200'"),
        (
            dict(dataset="cifar100", split="x-valid", schedule=200, epoch=50),
            r"no epoch 50; it holds epochs \[11, 199\]",
        ),
        (
            dict(dataset="cifar100", split="x-valid", schedule=200, seed=111),
            r"no seed 111; its seeds are \[777, 888, 999\]",
        ),
        (dict(dataset="cifar100", split="x-valid", schedule=200, seed="avg"), "unknown seed policy 'avg'"),
    ],
)
def test_bad_arguments_name_the_valid_choices(seeded, kwargs, needle):
    bench, _ = seeded
    with pytest.raises(ValueError, match=needle):
        bench.query(0, **kwargs)


def test_unknown_arch_and_absent_record(seeded):
    bench, _ = seeded
    with pytest.raises(ValueError, match="0..15624"):
        bench.query(15625, dataset="cifar100", split="x-valid", schedule=200)
    with pytest.raises(ValueError, match="0..15624"):
        bench.query_many(np.array([3, 20000]), dataset="cifar100", split="x-valid", schedule=200)
    with pytest.raises(MissingRecordError, match="for cifar100 it holds"):
        bench.query(0, dataset="cifar100", split="x-valid", schedule=12)
    assert (
        bench.query("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", dataset="cifar100", split="x-test", schedule=200)
        == 99.0
    )


def test_validation_never_reads_test_splits(public_bench):
    """The search signal for every dataset is an x-valid record, never ori-test or x-test."""
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        acc_view, _, eval_view = public_bench.signal_views(dataset, 12)
        assert acc_view.info.key.split == "x-valid" and eval_view.info.key.split == "x-valid"
    # where no validation record exists the query fails; it does not fall back to test data
    with pytest.raises(MissingRecordError):
        public_bench.validation(0, "cifar10", schedule=200)


def test_shared_costs_equal_the_official_formula(shared_nb201, shared_bench):
    import csv

    with open(shared_nb201 / "nats_tss_recorded_runs_arch0-999.csv") as fh:
        runs = [r for r in csv.DictReader(fh) if r["dataset"] == "cifar100" and r["hp"] == "12"]
    for row in runs[:50]:
        i = int(row["arch_index"])
        train = float(row["train_all_time_s"])  # official train-all-time after 12 epochs
        valid_pass = float(row["test_all_time_s"]) / 12  # x-valid pass = x-test pass (5k images each)
        assert shared_bench.cost(i, "cifar100", schedule=12) == pytest.approx(train + valid_pass, rel=1e-9)


def test_shared_best_test_accuracy_is_the_published_optimum(shared_bench):
    best = shared_bench.test_accuracy_many(np.arange(15625), "cifar10")
    assert int(np.nanargmax(best)) == 6111
    assert shared_bench.test_accuracy(6111, "cifar10") == pytest.approx(94.373, abs=1e-3)


def test_reported_test_figures_cover_every_architecture(public_bench):
    """A split held for only some archs (x-test@200 of archs 0..999) must not be chosen for reports."""
    every = np.arange(15625)
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        assert not np.isnan(public_bench.test_accuracy_many(every, dataset)).any(), dataset
    assert public_bench._test_record("cifar100", None) == ("cifar100", "ori-test", 200)
    assert public_bench._test_record("cifar100", 12) == ("cifar100", "x-test", 12)


def test_validation_many_answers_as_validation_on_every_path(public_bench):
    """The first call for a signal takes the checked path and remembers it; later calls gather once."""
    archs = np.array([0, 6111, 15624, 6111])
    for _ in range(2):
        accuracy, cost = public_bench.validation_many(archs, "cifar100")
        expected = [public_bench.validation(int(a), "cifar100") for a in archs]
        assert accuracy.tolist() == [e.accuracy for e in expected] and cost.tolist() == [e.cost for e in expected]
    assert public_bench.validation_many(archs.reshape(2, 2))[0].shape == (2, 2)
    assert (
        public_bench.validation_many(archs.astype(np.uint16))[0].tolist()
        == public_bench.validation_many(archs)[0].tolist()
    )
    for bad in ([1, -1], [15625], [-15626], [[1, 2], [3, -2]]):
        with pytest.raises(ValueError, match=r"arch index -?\d+ is out of range: valid indices are 0..15624"):
            public_bench.validation_many(np.array(bad))
    with pytest.raises(TypeError, match="integer index array"):
        public_bench.validation_many(np.array([1.0]))


def test_the_tabular_evaluators_fast_path_equals_the_checked_one(public_bench):
    from nb201_env.evaluators import Evaluation, TabularConfig, TabularEvaluator
    from nb201_env.store import MissingValueError

    evaluator = TabularEvaluator(public_bench, TabularConfig("cifar10", seed_policy="mean"))
    rng = np.random.default_rng(0)
    for arch in (0, 6111, 15624):
        got = evaluator.evaluate(arch, rng)
        assert type(got) is Evaluation and got == public_bench.validation(arch, "cifar10")
    for bad in (-1, 15625, True):
        with pytest.raises((ValueError, TypeError)):
            evaluator.evaluate(bad, rng)  # never a silent wrap-around of a list index
    evaluator._accuracies[6111] = float("nan")  # what a missing value looks like: the checked path decides
    assert evaluator.evaluate(6111, rng) == public_bench.validation(6111, "cifar10")
    assert issubclass(MissingValueError, LookupError)  # the checked path raises it for a value really missing
