"""One search run of the harness, and the record it leaves: the same for every agent and every way of running.

A :class:`Task` names the agent, the protocol, the run and its seed. :func:`run_task` performs it in a worker
process (which holds the open benchmark and one environment per agent and protocol) either through the
environment or, with ``workers``, as an asynchronous multi-worker simulation
(:mod:`benchmarks.harness.simulation`), or, for weight-sharing agents, as a real supernet search
(:mod:`benchmarks.harness.supernet_runs`), and returns the same JSONL record: the trajectory the agent saw, and
only afterwards the test accuracy of the architecture it reports.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np

import nb201_env  # noqa: F401  (registers the envs)
from agents.common import SearchResult
from benchmarks.harness.registry import env_id, get_agent
from benchmarks.harness.simulation import simulate
from benchmarks.harness.supernet_runs import SupernetSetup, run_supernet, supernet_fields
from nb201_env.benchmark import Benchmark
from nb201_env.config import EnvConfig
from nb201_env.envs.base import make_search_runs
from nb201_env.evaluators import TabularConfig
from nb201_env.names import SEARCH_DATASETS
from nb201_env.parent_watch import exit_with_parent
from nb201_env.protocols import PROTOCOLS, SearchProtocol, get_protocol


@dataclass(frozen=True)
class Task:
    """One search run to perform."""

    agent: str
    protocol: SearchProtocol
    run: int
    seed: int
    objectives: tuple[str, ...] | None = None  # for multi-objective agents
    workers: int | None = None  # simulate this many asynchronous workers (benchmarks.harness.simulation)
    supernet: SupernetSetup | None = None  # data and scale of weight-sharing agents (benchmarks.harness.supernet_runs)


def add_protocols_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--protocols`` (the search protocols to run, ``nb201`` by default) to a command line."""
    parser.add_argument(
        "--protocols",
        nargs="+",
        default=["nb201"],
        choices=list(PROTOCOLS),
        metavar="PROTOCOL",
        help=f"search protocols: {', '.join(PROTOCOLS)}",
    )


def protocol_variants(names: list[str], budgets: list[float] | None) -> list[SearchProtocol]:
    """Return the presets named, each once per budget override (named ``preset@budget``); repeats count once."""
    names = list(dict.fromkeys(names))
    budgets = list(dict.fromkeys(float(b) for b in budgets)) if budgets else budgets
    out = []
    for name in names:
        preset = get_protocol(name)
        if not budgets:
            out.append(preset)
        for budget in budgets or []:
            out.append(replace(preset, name=f"{name}@{budget:g}", budget=float(budget)))
    return out


_BENCH: Benchmark | None = None
_ENVS: dict[tuple[str, str], gym.Env] = {}


def init_worker(store: str, in_pool: bool = True) -> None:
    """Open the benchmark once per worker process (and make the worker exit with its parent)."""
    global _BENCH
    if in_pool:
        exit_with_parent()  # a sweep killed with SIGKILL must not leave its workers waiting forever
    _BENCH = Benchmark.open(store)
    _ENVS.clear()


def _bench() -> Benchmark:
    if _BENCH is None:
        raise RuntimeError("init_worker(store) must run before run_task")
    return _BENCH


def _env_for(
    module: Any, protocol: SearchProtocol, objectives: tuple[str, ...] | None = None, args: Any = None
) -> gym.Env:
    factory = getattr(module, "make_evaluator", None)  # agents that search on another signal (zero-cost proxies)
    key = (module.__name__, protocol.name, repr(args) if factory is not None else None)
    env = _ENVS.get(key)
    if env is None:
        bench = _bench()
        kwargs: dict[str, Any] = {"budget": protocol.budget, "budget_rule": protocol.rule}
        if factory is not None:
            kwargs["evaluator"] = factory(bench, protocol.dataset, args, schedule=protocol.schedule)
        else:
            kwargs.update(benchmark=bench, dataset=protocol.dataset, schedule=protocol.schedule)
        if getattr(module, "USES_FIDELITIES", False):  # multi-fidelity agents choose among the stored epochs
            kwargs["fidelities"] = bench.fidelities(protocol.dataset, protocol.schedule)
        if getattr(module, "MULTI_OBJECTIVE", False) and objectives:
            kwargs["objectives"] = objectives
        env = _ENVS[key] = gym.make(env_id(module), **kwargs)
    return env


def _simulate_cluster(task: Task, module: Any, args: Any, searcher_name: str) -> SearchResult:
    p = task.protocol
    config = EnvConfig(budget=p.budget, budget_rule=p.rule, signal=TabularConfig(p.dataset, p.schedule))
    runs = make_search_runs(1, config, benchmark=_bench())
    searcher = getattr(module, searcher_name)(args, task.seed)
    return simulate(searcher, runs, task.workers or 1, np.random.default_rng(task.seed))


def run_task(task: Task) -> dict[str, Any]:
    """Perform one search run and return its results record (test accuracy added after the search)."""
    spec = get_agent(task.agent)
    module = spec.load()
    args = spec.make_args(module)
    start = time.perf_counter()
    if getattr(module, "WEIGHT_SHARING", False):
        if task.supernet is None:
            raise ValueError(f"agent {task.agent} trains a supernet: its task needs a SupernetSetup (data, scale)")
        result = run_supernet(module, args, task.seed, task.supernet)
        out = record(task, result, time.perf_counter() - start)
        extra = supernet_fields(result, task.supernet, _bench(), task.protocol.test_schedule)
        out["trajectory"].update(extra.pop("trajectory"))
        return {**out, **extra}
    if task.workers is None:
        env = _env_for(module, task.protocol, task.objectives, args)
        result = spec.search_function(module)(env, args, task.seed)
        if not isinstance(result, SearchResult):
            raise TypeError(
                f"agent {task.agent} returned {type(result).__name__}, not agents.common.SearchResult "
                "(agents.common.run_search and Recorder build one)"
            )
        objectives = env.unwrapped.objectives
    else:
        result = _simulate_cluster(task, module, args, spec.cluster_searcher())
        objectives = None
    return record(task, result, time.perf_counter() - start, objectives, getattr(module, "SIGNAL", "accuracy"))


def _test_accuracies(arch: int, schedule: int | None) -> tuple[dict[str, float | None], dict[str, str]]:
    """Return the test accuracy of ``arch`` on each dataset and the split each was read from."""
    out: dict[str, float | None] = {}
    splits: dict[str, str] = {}
    for dataset in SEARCH_DATASETS:
        try:
            out[dataset] = _bench().test_accuracy(arch, dataset, schedule=schedule)
            splits[dataset] = _bench().test_split(dataset, schedule=schedule)
        except LookupError:
            out[dataset] = None
    return out, splits


def record(
    task: Task, result: SearchResult, wall: float, objectives: Any = None, signal: str = "accuracy"
) -> dict[str, Any]:
    """Return the JSONL record of a finished search run.

    With ``signal="score"`` (zero-cost agents) ``best_valid`` and ``trajectory.valid`` hold proxy scores, marked so
    by ``"signal": "score"``; undefined scores (-inf, ranked last) are written null, as the file is strict JSON.
    """
    p, bench = task.protocol, _bench()
    test, splits = _test_accuracies(int(result.best_arch), p.test_schedule) if result.best_arch >= 0 else ({}, {})
    valid = np.round(result.valid_accuracy, 4).tolist()
    best_valid = float(result.valid_accuracy[result.archs == result.best_arch].max()) if result.evaluations else None
    if signal == "score":
        valid = [v if math.isfinite(v) else None for v in valid]
        best_valid = best_valid if best_valid is not None and math.isfinite(best_valid) else None
    return {
        **({"signal": "score"} if signal == "score" else {}),
        **({"objectives": list(objectives)} if objectives else {}),
        **({"workers": task.workers} if task.workers is not None else {}),
        "agent": task.agent,
        "protocol": p.name,
        "dataset": p.dataset,
        "budget": p.budget,
        "rule": p.rule,
        "run": task.run,
        "seed": task.seed,
        "benchmark": bench.name,
        "benchmark_kind": bench.store.manifest.extra.get("kind", "recorded"),
        "best_arch": int(result.best_arch),
        "best_valid": best_valid,
        "evaluations": result.evaluations,
        "clock": float(result.times[-1]) if result.evaluations else 0.0,
        "test": test,
        "test_split": splits,  # ori-test or x-test: the paper reports x-test for CIFAR-100 and ImageNet16-120
        "trajectory": {
            "time": np.round(result.times, 3).tolist(),
            "arch": result.archs.tolist(),
            "valid": valid,
            "epoch": result.epochs.tolist(),  # the fidelity of each evaluation (multi-fidelity agents vary it)
        },
        "settings": result.settings,
        "wall_seconds": round(wall, 4),
    }
