"""Probe the public API and the CLIs with bad arguments, as a careless user would; count the bad cases (goal: 0).

    python -m benchmarks.probes.probe_arguments [--verbose]

A case is *good* when the call raises a ``ValueError``, ``TypeError``, ``LookupError`` or ``StoreError``
(for a CLI: exit status 2 and one error line, no traceback; for a step before ``reset()``, Gymnasium's
``ResetNeeded``) whose message contains every expected piece: the argument's name, the bad value and the
valid choices. It is *bad* when the call is accepted, raises anything else, or says less. A few cases are
valid calls that must succeed (numpy-integer seeds). Runs on the bundled store, so it needs no data.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import nb201_env  # noqa: F401  (registers the envs)
from nb201_env.benchmark import Benchmark
from nb201_env.locate import bundled_store_path
from nb201_env.space import Arch, index_of
from nb201_env.store import StoreError

ERRORS = (ValueError, TypeError, LookupError, StoreError)
SEQ = "NASBench201-v0"
ONE = "NASBench201-OneShot-v0"

PROBED = "nb201-proxy-cifar10"  # the bundled store with several epochs (schedule 3): epoch arguments matter


@dataclass(frozen=True)
class Case:
    """One bad call and the pieces its error message must contain (or, with ``accept``, a valid call that must
    succeed: a numpy-integer seed, say)."""

    area: str
    name: str
    call: Callable[[], Any]
    needles: tuple[str, ...]
    errors: tuple[type[BaseException], ...] = ERRORS
    accept: bool = False


def _env(env_id: str = SEQ, **kwargs: Any) -> Callable[[], Any]:
    return lambda: gym.make(env_id, store=str(bundled_store_path(PROBED)), **kwargs)


def _stepped(env_id: str, action: Any, **kwargs: Any) -> Callable[[], Any]:
    def call() -> Any:
        env = gym.make(env_id, store=str(bundled_store_path(PROBED)), disable_env_checker=True, **kwargs).unwrapped
        env.reset(seed=0)
        return env.step(action)

    return call


def _reset(env_id: str, **reset: Any) -> Callable[[], Any]:
    def call() -> Any:
        env = gym.make(env_id, store=str(bundled_store_path(PROBED)), disable_env_checker=True).unwrapped
        return env.reset(**reset)

    return call


def _vec(env_id: str, num_envs: Any = 2, action: Any = None, **reset: Any) -> Callable[[], Any]:
    def call() -> Any:
        env = gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", store=str(bundled_store_path(PROBED))
        )
        env.reset(**(reset or {"seed": 0}))
        return env.step(action) if action is not None else None

    return call


def _unreset(make: Callable[[], Any], action: Any) -> Callable[[], Any]:
    return lambda: make().step(action)


def _vec_made(env_id: str, **kwargs: Any) -> Callable[[], Any]:
    store = str(bundled_store_path(PROBED))
    return lambda: gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", store=store, **kwargs)


def _bench(method: str, *args: Any, **kwargs: Any) -> Callable[[], Any]:
    return lambda: getattr(Benchmark.open(bundled_store_path(PROBED)), method)(*args, **kwargs)


def _cli(*argv: str) -> Callable[[], Any]:
    def call() -> Any:
        from nb201_env.cli import main

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                status = main(list(argv))
            except SystemExit as exc:  # argparse
                status = exc.code
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        if status != 2 or not lines or "Traceback" in err.getvalue():
            return f"exit status {status}, stderr {err.getvalue()[-300:]!r}"
        raise ValueError(lines[-1])

    return call


def _harness(*argv: str) -> Callable[[], Any]:
    def call() -> Any:
        from benchmarks.harness.run import main

        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                main(list(argv))
            except SystemExit as exc:
                if exc.code == 2:
                    raise ValueError(err.getvalue().strip().splitlines()[-1]) from None
        return "accepted"

    return call


def cases(tmp: Path) -> list[Case]:
    """Return every bad-argument case."""
    garbage = tmp / "garbage.store"
    garbage.mkdir()
    (garbage / "manifest.json").write_bytes(bytes(range(256)) * 4)
    nested = tmp / "nested.store"
    nested.mkdir()
    (nested / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    ops = (3, 3, 3, 1, 3, 2)
    out: list[Case] = []
    add = lambda area, name, call, *needles: out.append(Case(area, name, call, needles))  # noqa: E731

    # environment configuration, through gym.make
    add("env", "budget='100'", _env(budget="100"), "budget", "'100'", "positive finite number")
    add("env", "budget=True", _env(budget=True), "budget", "True", "positive finite number")
    add("env", "budget=-5", _env(budget=-5), "budget", "-5")
    add("env", "budget=nan", _env(budget=math.nan), "budget", "nan")
    add("env", "budget=inf", _env(budget=math.inf), "budget", "inf")
    add("env", "epoch='11'", _env(epoch="11"), "epoch", "'11'", "int")
    add("env", "epoch=11.0", _env(epoch=11.0), "epoch", "11.0", "int")
    add("env", "epoch=True", _env(epoch=True), "epoch", "True", "int")
    add("env", "epoch=-1", _env(epoch=-1), "epoch", "-1")
    add("env", "epoch=12 with schedule 12", _env(epoch=12, schedule=12), "epoch", "12", "0..11")
    add("env", "schedule='12'", _env(schedule="12"), "schedule", "'12'", "12 and 200")
    add("env", "schedule=12.0", _env(schedule=12.0), "schedule", "12.0")
    add("env", "schedule=True", _env(schedule=True), "schedule", "True")
    add("env", "store=123", _env_store(123), "store", "123", "path")
    add("env", "store=b'x'", _env_store(b"x"), "store", "b'x'", "path")
    add("env", "charge_repeats='no'", _env(charge_repeats="no"), "charge_repeats", "'no'", "True or False")
    add("env", "charge_repeats=1", _env(charge_repeats=1), "charge_repeats", "1", "True or False")
    add("env", "report_test='no'", _env(report_test="no"), "report_test", "'no'", "True or False")
    add("env", "action_mask='yes'", _env(action_mask="yes"), "action_mask", "'yes'", "True or False")
    add("env", "dataset='cifar'", _env(dataset="cifar"), "dataset", "'cifar'", "'cifar100'")
    add("env", "dataset=10", _env(dataset=10), "dataset", "10", "'cifar10'")
    add("env", "protocol='foo'", _env(protocol="foo"), "protocol", "'foo'", "'nb201'")
    add("env", "seed_policy='rand'", _env(seed_policy="rand"), "seed policy", "'rand'", "'random'")
    add("env", "seed='777' (fixed)", _env(seed_policy="fixed", seed="777"), "seed", "'777'", "int")
    add("env", "seed=True (fixed)", _env(seed_policy="fixed", seed=True), "seed", "True", "int")
    add("env", "budget_rule='x'", _env(budget_rule="x"), "budget rule", "'x'", "'nb201'")
    add("env", "fidelities=(3.9,)", _env(ONE, fidelities=(3.9,)), "fidelities", "3.9", "int")
    add("env", "fidelities='3'", _env(ONE, fidelities="3"), "fidelities", "'3'")
    add("env", "unknown argument budgt", _env(budgt=5), "budgt", "'budget'")
    add("env", "render_mode='video'", _env(render_mode="video"), "render_mode", "'video'", "ansi")
    huge = "1" + "0" * 60  # the start of 10**400 as the error shows it
    add("env", "budget=10**400", _env(budget=10**400), "budget", huge, "positive finite number")
    add("env", "budget=-10**400", _env(budget=-(10**400)), "budget", "-" + huge, "positive finite number")
    add("vector", "budget=10**400", _vec_made(SEQ, budget=10**400), "budget", huge, "positive finite number")
    add("vector", "one-shot budget=-10**400", _vec_made(ONE, budget=-(10**400)), "budget", "-" + huge)
    reset_needed = (gym.error.ResetNeeded,)
    unwrapped = lambda env_id: lambda: gym.make(env_id, store=str(bundled_store_path(PROBED))).unwrapped  # noqa: E731
    for area, label, make, action in (
        ("env", "step before reset", unwrapped(SEQ), 3),
        ("env", "one-shot step before reset", unwrapped(ONE), [3, 3, 3, 1, 3, 2]),
        ("vector", "step before reset", _vec_made(SEQ), np.array([3, 3])),
        ("vector", "one-shot step before reset", _vec_made(ONE), np.full((2, 6), 3)),
    ):
        out.append(Case(area, label, _unreset(make, action), ("reset()",), reset_needed))
    for area, label, call in (
        ("env", "reset(seed=np.int64(3))", _reset(SEQ, seed=np.int64(3))),
        ("env", "one-shot reset(seed=np.uint8(3))", _reset(ONE, seed=np.uint8(3))),
        ("vector", "reset(seed=np.int64(3))", _vec(SEQ, seed=np.int64(3))),
        ("vector", "one-shot reset(seed=np.int32(3))", _vec(ONE, seed=np.int32(3))),
    ):
        out.append(Case(area, label, call, (), accept=True))
    # environment calls
    for action, shown in (
        (True, "True"),
        (2.0, "2.0"),
        ("2", "'2'"),
        (np.array([2, 3]), "array([2, 3])"),
        (5, "5"),
        (-1, "-1"),
        (None, "None"),
        (np.float64(2), "2.0"),
    ):
        add("env", f"step({shown})", _stepped(SEQ, action), "action", shown, "0..4")
    add("env", "reset(seed=True)", _reset(SEQ, seed=True), "seed", "True", "int")
    add("env", "reset(seed=-1)", _reset(SEQ, seed=-1), "seed", "-1")
    add("env", "reset(seed=1.5)", _reset(SEQ, seed=1.5), "seed", "1.5")
    add(
        "env",
        "reset(new_search='no')",
        _reset(SEQ, options={"new_search": "no"}),
        "new_search",
        "'no'",
        "True or False",
    )
    add(
        "env",
        "reset(options={'new_serach': True})",
        _reset(SEQ, options={"new_serach": True}),
        "'new_serach'",
        "new_search",
    )
    add("env", "reset(options='x')", _reset(SEQ, options="x"), "options", "'x'", "dict")
    add("env", "one-shot step((3.9, ...))", _stepped(ONE, [3.9, 3, 3, 1, 3, 2]), "action", "3.9", "0..4")
    add("env", "one-shot step(bools)", _stepped(ONE, [True] * 6), "action", "True", "0..4")
    add("env", "one-shot step(3 ops)", _stepped(ONE, (1, 2, 3)), "action", "(1, 2, 3)", "6 op ids")
    add("env", "one-shot step('abc')", _stepped(ONE, "abc"), "action", "'abc'", "0..4")
    # vector environments
    add("vector", "num_envs=True", _vec(SEQ, num_envs=True), "num_envs", "True", "positive int")
    add("vector", "num_envs=0", _vec(SEQ, num_envs=0), "num_envs", "0", "positive int")
    add("vector", "num_envs=2.0", _vec(ONE, num_envs=2.0), "num_envs", "2.0", "positive int")
    add("vector", "step(float actions)", _vec(SEQ, action=np.array([2.0, 3.0])), "actions", "float64", "0..4")
    add("vector", "step(bool actions)", _vec(SEQ, action=np.array([True, False])), "actions", "bool", "0..4")
    add(
        "vector",
        "one-shot step(wrong shape)",
        _vec(ONE, action=np.zeros((3, 6), dtype=int)),
        "actions",
        "(3, 6)",
        "(2, 6)",
    )
    add("vector", "reset(seed=True)", _vec(SEQ, seed=True), "seed", "True", "int")
    # Benchmark
    add("bench", "Benchmark.open(123)", lambda: Benchmark.open(123), "store path", "123", "path")
    add(
        "bench",
        "Benchmark.open(verify='sometimes')",
        lambda: Benchmark.open(bundled_store_path(PROBED), verify="sometimes"),
        "verify mode",
        "'sometimes'",
        "'lazy'",
    )
    add("bench", "validation((3.9, 3, 3, 1, 3, 2))", _bench("validation", (3.9, 3, 3, 1, 3, 2)), "ops", "3.9", "0..4")
    add("bench", "validation(6111, 'foo')", _bench("validation", 6111, "foo"), "dataset", "'foo'", "'cifar100'")
    add("bench", "validation(schedule='3')", _bench("validation", 6111, schedule="3"), "schedule", "'3'")
    add("bench", "validation(schedule=3.0)", _bench("validation", 6111, schedule=3.0), "schedule", "3.0")
    add("bench", "validation(schedule=True)", _bench("validation", 6111, schedule=True), "schedule", "True")
    add("bench", "validation(epoch=True)", _bench("validation", 6111, epoch=True), "epoch", "True", "int")
    add("bench", "validation(epoch=1.0)", _bench("validation", 6111, epoch=1.0), "epoch", "1.0", "int")
    add("bench", "validation(epoch='1')", _bench("validation", 6111, epoch="1"), "epoch", "'1'", "int")
    add("bench", "validation(seed=True)", _bench("validation", 6111, seed=True), "seed", "True", "Generator")
    add("bench", "validation(seed=777.0)", _bench("validation", 6111, seed=777.0), "seed", "777.0", "Generator")
    add("bench", "validation(seed='avg')", _bench("validation", 6111, seed="avg"), "seed policy", "'avg'", "'mean'")
    q = {"dataset": "cifar10-valid", "split": "x-valid", "schedule": 3}
    add("bench", "query(epoch=True)", _bench("query", 6111, **q, epoch=True), "epoch", "True", "int")
    add("bench", "query(schedule=3.0)", _bench("query", 6111, **{**q, "schedule": 3.0}), "schedule", "3.0")
    add("bench", "query(True)", _bench("query", True, **q), "True", "0..15624")
    add("bench", "query(6111.0)", _bench("query", 6111.0, **q), "6111.0", "index")
    add("bench", "query(15625)", _bench("query", 15625, **q), "15625", "0..15624")
    add("bench", "query('|bad|')", _bench("query", "|bad|", **q), "'|bad|'", "arch string")
    add("bench", "query(dataset='x')", _bench("query", 6111, **{**q, "dataset": "x"}), "dataset", "'x'", "'cifar10'")
    add("bench", "query_many(floats)", _bench("query_many", np.array([1.5]), **q), "dtype float64", "integer")
    add("bench", "query_many(bools)", _bench("query_many", np.array([True]), **q), "dtype bool", "integer")
    add("bench", "stat(6111, 'params')", _bench("stat", 6111, "params", "cifar10"), "stat", "'params'", "'params_mb'")
    add("bench", "test_accuracy(schedule=3.0)", _bench("test_accuracy", 6111, schedule=3.0), "schedule", "3.0")
    add("bench", "cost(epoch=1.0)", _bench("cost", 6111, epoch=1.0), "epoch", "1.0", "int")
    add("bench", "cost_table(epoch=True)", _bench("cost_table", epoch=True), "epoch", "True", "int")
    # the search space
    add("space", "Arch.from_ops([3.9, ...])", lambda: Arch.from_ops([3.9, 3, 3, 1, 3, 2]), "ops", "3.9", "0..4")
    add("space", "Arch.from_ops([True] * 6)", lambda: Arch.from_ops([True] * 6), "ops", "True", "0..4")
    add("space", "Arch.from_ops('333132')", lambda: Arch.from_ops("333132"), "ops", "'333132'")
    add("space", "Arch.from_ops(float array)", lambda: Arch.from_ops(np.array(ops, dtype=float)), "ops", "float64")
    add("space", "Arch(True)", lambda: Arch(True), "arch index", "True", "0..15624")
    add("space", "Arch(6111.0)", lambda: Arch(6111.0), "arch index", "6111.0", "0..15624")
    add("space", "Arch.from_str(123)", lambda: Arch.from_str(123), "123", "arch string")
    add("space", "index_of(6111.0)", lambda: index_of(6111.0), "6111.0", "index")
    # the nb201 command
    add("cli", "query 6111 --dataset foo", _cli("query", "6111", "--dataset", "foo"), "dataset", "'foo'", "'cifar100'")
    add("cli", "query 99999", _cli("query", "99999"), "99999", "0..15624")
    add("cli", "query abc", _cli("query", "abc"), "'abc'", "arch string")
    add("cli", "info --store missing", _cli("info", "--store", str(tmp / "missing")), "missing", "nb201 convert")
    add(
        "cli",
        "convert nb201 /dev/null",
        _cli("convert", "nb201", "/dev/null", "-o", str(tmp / "x")),
        "/dev/null",
        "not a regular file",
    )
    add(
        "cli",
        "convert shared missing",
        _cli("convert", "shared", str(tmp / "nope"), "-o", str(tmp / "x")),
        "nope",
        "does not exist",
    )
    add("cli", "convert csv x", _cli("convert", "csv", "x"), "'csv'", "'shared'")
    add("cli", "info --store garbage manifest", _cli("info", "--store", str(garbage)), "garbage.store", "not UTF-8")
    add("cli", "verify --store nested manifest", _cli("verify", "--store", str(nested)), "nested.store", "too deeply")
    add(
        "cli",
        "query --store garbage manifest",
        _cli("query", "6111", "--store", str(garbage)),
        "garbage.store",
        "not UTF-8",
    )
    table = ("build-table", "--data", str(tmp), "--out", str(tmp / "t.store"), "--cache", str(tmp / "c.sqlite"))
    add("cli", "build-table --workers 0", _cli(*table, "--workers", "0"), "workers", "0", ">= 1")
    add("cli", "build-table --time-scale -1", _cli(*table, "--time-scale", "-1"), "time_scale", "-1")
    add("cli", "build-table --time-scale inf", _cli(*table, "--time-scale", "inf"), "time_scale", "inf")
    add("cli", "build-table --limit 0", _cli(*table, "--limit", "0"), "limit", "0")
    add(
        "cli",
        "build-table --retrain-contended 0.5",
        _cli(*table, "--retrain-contended", "0.5"),
        "retrain_contended",
        "0.5",
        ">= 1",
    )
    add("cli", "build-table --epochs 0", _cli(*table, "--epochs", "0"), "epochs", "0")
    add("cli", "build-table --dataset foo", _cli(*table, "--dataset", "foo"), "dataset", "'foo'", "'cifar100'")
    add("cli", "harness --runs 0", _harness("--runs", "0"), "--runs", "0", ">= 1")
    add("cli", "harness --workers -1", _harness("--workers", "-1"), "--workers", "-1", ">= 0")
    add("cli", "harness --budgets -5", _harness("--budgets", "-5"), "--budgets", "-5", "positive")
    add("cli", "harness --budgets nan", _harness("--budgets", "nan"), "--budgets", "nan", "positive")
    add("cli", "harness --agents genetic", _harness("--agents", "genetic"), "'genetic'", "'random'")
    small = ("--agents", "random", "--runs", "1", "--budgets", "100", "--out", str(tmp / "h.jsonl"))
    add("cli", "harness --runs 10**9", _harness(*small, "--runs", "1000000000"), "--runs", "1000000000", "100000")
    many = str(4 * len(os.sched_getaffinity(0)) + 1)  # more than 4 per usable core (the harness's bound)
    add("cli", f"harness --workers {many} (1 run)", _harness(*small, "--workers", many), "--workers", many, "<=")
    return out


def _env_store(store: Any) -> Callable[[], Any]:
    return lambda: gym.make(SEQ, store=store)


def judge(case: Case) -> str:
    """Return ``""`` when the case is handled well, else what is wrong."""
    try:
        result = case.call()
    except case.errors as exc:
        message = str(exc)
        if case.accept:
            return f"refused a valid call: {type(exc).__name__}: {message[:300]}"
        missing = [n for n in case.needles if n not in message]
        return f"the message lacks {missing}: {message[:300]}" if missing else ""
    except Exception as exc:  # anything else is a bad case too
        return f"raised {type(exc).__name__}: {str(exc)[:300]}"
    return "" if case.accept else f"accepted (returned {str(result)[:80]})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)  # the bundled-store notice would repeat for every case
    with tempfile.TemporaryDirectory(prefix="nb201-args-") as tmp:
        all_cases = cases(Path(tmp))
        bad = 0
        by_area: dict[str, list[int]] = {}
        for case in all_cases:
            why = judge(case)
            counts = by_area.setdefault(case.area, [0, 0])
            counts[0] += 1
            if why:
                bad += 1
                counts[1] += 1
            if why or args.verbose:
                print(f"  {'BAD' if why else 'ok ':<4} {case.area:<7} {case.name}: {why or 'clear error'}")
    for area, (tried, wrong) in by_area.items():
        print(f"{area}: {tried} cases, {wrong} bad")
    print(f"total: {len(all_cases)} bad-argument cases, {bad} bad")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
