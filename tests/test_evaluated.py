"""The sets of evaluated (run, arch) pairs: both kinds answer alike, the table grows with what is evaluated, and
the accounting built on them warns once about a run stuck on free repeats."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from nb201_env.envs.vector import NASBench201OneShotVectorEnv
from nb201_env.evaluated import EvaluatedDict, EvaluatedTable
from nb201_env.rewards import AccuracyReward
from nb201_env.search_runs import FREE_REPEATS, SearchRuns
from nb201_env.space import NUM_ARCHS, all_ops


@pytest.mark.parametrize("values", [True, False])
def test_the_table_answers_as_the_dict_through_growth_and_forgetting(values):
    rng = np.random.default_rng(0)
    table, plain = EvaluatedTable(capacity=16, values=values), EvaluatedDict()
    runs = 40
    for step in range(60):  # one key per run and step: distinct within a batch, as the vector envs ask
        keys = np.arange(runs) * NUM_ARCHS + rng.integers(50, size=runs)  # few archs: many repeats
        accuracy = rng.random(runs)
        found, first = table.find_or_add(keys, accuracy)
        expected_found, expected_first = plain.find_or_add(keys, accuracy)
        assert np.array_equal(found, expected_found), step
        if values:
            assert np.array_equal(first, expected_first)
        else:
            assert first is None
        assert len(table) == len(plain)
        if step == 30:
            rows = np.zeros(runs, dtype=bool)
            rows[::3] = True
            table.forget(rows)
            plain.forget(rows)
    assert 0 < len(table) <= runs * 50 and found.any() and not found.all()
    for key in (0, 7 * NUM_ARCHS + 3, 39 * NUM_ARCHS + 49, 5 * NUM_ARCHS + 60):
        held = plain.get(key)
        got = table.get(key)
        assert (got is None) == (held is None), key
        if held is not None:
            assert got == held if values else np.isnan(got)
    table.forget()
    assert len(table) == 0 and table.get(7 * NUM_ARCHS + 3) is None and table.nbytes <= 64 * 8 * 2


def test_the_table_grows_with_what_is_evaluated_not_with_the_space():
    table = EvaluatedTable(capacity=4 * 1000, values=False)
    start = table.nbytes
    assert start < 1000 * NUM_ARCHS / 100  # a dense table would hold 15,625 bytes per run from the start
    for step in range(20):
        table.find_or_add(np.arange(1000) * NUM_ARCHS + step, np.zeros(1000))
    assert len(table) == 20_000 and start < table.nbytes <= 8 * 20_000 * 8  # keys: at most 8 slots per pair


def test_vector_env_accounting_grows_with_the_evaluations(public_bench):
    env = NASBench201OneShotVectorEnv(512, benchmark=public_bench, budget=None)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    held = []
    for _ in range(3):
        env.step(rng.integers(5, size=(512, 6)))
        held.append(env.unwrapped.runs.memory_bytes())
    assert held[0] < 512 * NUM_ARCHS / 10 and held[0] <= held[-1]


class _Table:
    """A deterministic evaluator: every cell 50 % and 1 s."""

    deterministic = True

    def evaluate(self, index, rng):
        return 50.0, 1.0

    def evaluate_many(self, indices, rng):
        return np.full(len(indices), 50.0), np.ones(len(indices))

    def test_accuracy(self, index):
        return 0.0

    def describe(self):
        return {"evaluator": "table", "epoch": 0}


def test_a_run_stuck_on_free_repeats_is_warned_about_once(caplog):
    runs = SearchRuns(1, _Table(), AccuracyReward(), budget=100.0)
    rng = np.random.default_rng(0)
    with caplog.at_level(logging.WARNING, logger="nb201_env.search_runs"):
        for _ in range(FREE_REPEATS - 1):
            runs.evaluate_one(0, 7, rng)  # the first is paid, the rest are free
        assert caplog.records == []
        for _ in range(3 * FREE_REPEATS):
            runs.evaluate_one(0, 7, rng)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "re-proposed cells it had already evaluated 1000 times in a row" in messages[0]
    assert "charge_repeats=True" in messages[0] and runs.clock().elapsed == 1.0


def test_paid_evaluations_and_charged_repeats_reset_or_avoid_the_streak(caplog):
    rng = np.random.default_rng(0)
    with caplog.at_level(logging.WARNING, logger="nb201_env.search_runs"):
        runs = SearchRuns(1, _Table(), AccuracyReward())
        for i in range(3 * FREE_REPEATS):
            runs.evaluate_one(0, i % 2 if i % 500 else 100 + i, rng)  # a new cell every 500 proposals
        charged = SearchRuns(1, _Table(), AccuracyReward(), charge_repeats=True)  # repeats cost: the clock moves
        for _ in range(2 * FREE_REPEATS):
            charged.evaluate_one(0, 7, rng)
    assert caplog.records == []


def test_the_vector_path_warns_once_too(public_bench, caplog):
    env = NASBench201OneShotVectorEnv(3, benchmark=public_bench, budget=None, autoreset_mode="SameStep")
    env.reset(seed=0)
    cell = np.tile(all_ops()[6111].astype(np.int64), (3, 1))
    with caplog.at_level(logging.WARNING, logger="nb201_env.search_runs"):
        for _ in range(FREE_REPEATS + 5):
            env.step(cell)
    assert len([r for r in caplog.records if "re-proposed" in r.getMessage()]) == 1
