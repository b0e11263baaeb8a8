"""A sweep: every (agent, protocol, run) not yet in the results file, run in parallel, each appended when done.

A worker process that dies (killed, out of memory) loses only the runs it held: they are redone in a fresh
pool, and named if they keep failing. :func:`check_outputs` checks the results file and report folder before
any run starts.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.harness.registry import get_agent
from benchmarks.harness.results import ResultsWriter, iter_pending, read_results, results_lock
from benchmarks.harness.supernet_runs import SupernetSetup, protocol_name
from benchmarks.harness.tasks import Task, init_worker, run_task
from benchmarks.harness.validity import MAX_RUNS, SweepSpec
from nb201_env.benchmark import Benchmark
from nb201_env.objectives import check_objectives
from nb201_env.protocols import SearchProtocol
from nb201_env.store.destination import absolute, check_writable_folder
from nb201_env.store.errors import StoreError
from nb201_env.validate import check_int

log = logging.getLogger("benchmarks.harness")


RETRIES = 2
"""Fresh pools tried for the runs of a worker that died, before they are reported as lost."""

IN_FLIGHT = 4
"""Chunks of runs submitted per worker at a time: enough to keep the workers busy, few enough to hold."""

WORKERS_PER_CORE = 4
"""Most worker processes per usable core: each search is CPU-bound, so more only compete for the cores."""

MAX_SIMULATED_WORKERS = 4096
"""Most asynchronous workers one cluster simulation may simulate."""


def usable_cores() -> int:
    """Return the cores this process may run on (its CPU affinity where the OS tells, else the core count)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def max_workers() -> int:
    """Return the most worker processes a sweep may start: :data:`WORKERS_PER_CORE` per usable core."""
    return WORKERS_PER_CORE * usable_cores()


class RunsLost(RuntimeError):
    """Runs were lost with their worker processes even after retries; finished runs are kept in the file."""


def sweep(
    agents: list[str],
    protocols: list[SearchProtocol],
    runs: int,
    out: Path,
    store: str,
    workers: int = 0,
    seed0: int = 0,
    progress: bool = True,
    objectives: list[str] | None = None,
    cluster_workers: list[int] | None = None,
    supernet: SupernetSetup | None = None,
    read_back: bool = True,
) -> list[dict[str, Any]]:
    """Run every (agent, protocol, run) not yet in ``out``; return every valid record of the file, each run once
    (none unless ``read_back``: reading the file back costs memory that grows with the runs).

    Agents, protocols and budgets given twice count once. Lines of ``out`` that are not valid runs of this
    sweep are reported by file and line and their runs done again (:func:`~benchmarks.harness.results.
    read_results`); a second sweep into the same ``out`` meanwhile is refused (:func:`~benchmarks.harness.
    results.results_lock`). ``runs`` is at most :data:`~benchmarks.harness.validity.MAX_RUNS`, ``workers``
    (0: one per usable core) at most :func:`max_workers`, and never more than the runs to do.

    With ``objectives``, multi-objective agents search them, and each protocol is renamed
    ``<protocol>+<cost>+...`` so that sweeps over different objectives never mix in one file. With
    ``cluster_workers``, every run is an asynchronous simulation of that many workers
    (:mod:`benchmarks.harness.simulation`), the protocol named ``<protocol>/<k>w``. Weight-sharing agents run
    real searches as ``supernet`` says (default :class:`SupernetSetup`: proxy scale, the shared CIFAR-10), each
    protocol named ``<protocol>@<scale>``.
    """
    runs = check_int("runs", runs, low=1, high=MAX_RUNS)
    workers = check_int("workers", workers, low=0, high=max_workers())
    seed0 = check_int("seed0", seed0, low=0)
    agents = list(dict.fromkeys(agents))  # a name given twice is one agent: its runs are done once
    protocols = list({p.name: p for p in protocols}.values())
    for name in agents:
        agent = get_agent(name)
        if cluster_workers:
            agent.cluster_searcher()  # fail before any worker starts, naming the agents that can
    bench = Benchmark.open(store)
    goals = tuple(objectives) if objectives else None
    if goals:
        for p in protocols:
            check_objectives(bench, p.dataset, goals)  # fail before any worker starts, naming the valid ones
        costs = "+".join(o for o in goals if o != "valid_accuracy")
        protocols = [replace(p, name=f"{p.name}+{costs}") for p in protocols]
    simulated: dict[str, int | None] = {p.name: None for p in protocols}
    if cluster_workers:
        cluster_workers = list(dict.fromkeys(cluster_workers))
        for k in cluster_workers:
            check_int("cluster workers", k, low=1, high=MAX_SIMULATED_WORKERS)
        simulated = {f"{p.name}/{k}w": k for p in protocols for k in cluster_workers}
        protocols = [replace(p, name=f"{p.name}/{k}w") for p in protocols for k in cluster_workers]
    sharing = frozenset(a for a in agents if get_agent(a).weight_sharing)
    setup = (supernet or SupernetSetup()) if sharing else None
    by_name = {p.name: p for p in protocols}
    renamed: dict[str, str] = {}  # the weight-sharing runs of each protocol: <protocol>@<scale>
    if setup is not None:
        for p in protocols:
            q = replace(p, name=protocol_name(p.name, setup))
            renamed[p.name] = q.name
            by_name[q.name] = q
            simulated[q.name] = None
    spec = SweepSpec(tuple(agents), by_name, runs, seed0, bench.name, simulated, sharing, renamed)
    out.parent.mkdir(parents=True, exist_ok=True)
    with results_lock(out):
        return _sweep(spec, out, store, workers, goals, progress, read_back, setup)


def _sweep(
    spec: SweepSpec,
    out: Path,
    store: str,
    workers: int,
    goals: tuple[str, ...] | None,
    progress: bool,
    read_back: bool,
    setup: SupernetSetup | None,
) -> list[dict[str, Any]]:
    wanted = spec.wanted()
    pending = [
        Task(a, spec.protocols[p], r, spec.seed0 + r, goals, spec.workers[p], setup if a in spec.sharing else None)
        for a, p, r in iter_pending(wanted, read_results(out, spec))
    ]
    if setup is not None and any(t.supernet is not None for t in pending):
        setup = setup.resolved()  # extract the data once, here, before any worker starts
        pending = [replace(t, supernet=setup) if t.supernet is not None else t for t in pending]
    workers = min(workers or usable_cores(), len(pending))  # more processes than runs would only idle
    if pending:
        log.info(
            "%d runs to do (%d already in %s) on %d workers", len(pending), len(wanted) - len(pending), out, workers
        )
        from tqdm import tqdm

        bar = tqdm(total=len(pending), desc="search runs", unit="run", disable=not progress)
        with ResultsWriter(out) as writer:
            if workers == 1:
                init_worker(store, in_pool=False)
                for task in pending:
                    writer.write(run_task(task))
                    bar.update()
            else:
                lost = pending
                for attempt in range(RETRIES + 1):
                    lost = _run_pool(lost, store, workers, writer, bar)
                    if not lost:
                        break
                    log.warning(
                        "a worker process died: %d runs were lost with it%s",
                        len(lost),
                        "; redoing them in a fresh pool" if attempt < RETRIES else "",
                    )
                if lost:
                    names = ", ".join(f"{t.agent}/{t.protocol.name}/run {t.run}" for t in lost[:10])
                    raise RunsLost(
                        f"{len(lost)} runs were lost because their worker processes died {RETRIES + 1} times "
                        f"({names}{', ...' if len(lost) > 10 else ''}); the finished runs are in {out}, and "
                        "rerunning the command retries the lost ones"
                    )
        bar.close()
    return read_results(out, spec, warn=False) if read_back else []  # its lines were reported above


def _run_chunk(tasks: list[Task]) -> list[dict[str, Any]]:
    return [run_task(task) for task in tasks]


def _run_pool(tasks: list[Task], store: str, workers: int, writer: ResultsWriter, bar: Any) -> list[Task]:
    """Run ``tasks`` in one pool, writing each finished chunk; return the tasks lost with dead workers."""
    chunk = max(1, min(25, len(tasks) // (workers * 8)))
    chunks = [tasks[i : i + chunk] for i in range(0, len(tasks), chunk)]
    lost: list[Task] = []
    context = mp.get_context("fork")
    waiting = iter(chunks)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker, initargs=(store,)) as pool:
        # a few chunks in flight, not all: finished records wait in memory only until they are written
        futures = {pool.submit(_run_chunk, c): c for c in itertools.islice(waiting, IN_FLIGHT * workers)}
        while futures:
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in done:
                chunk = futures.pop(future)
                try:
                    records = future.result()
                except BrokenProcessPool:  # a worker died: every chunk not finished is lost with the pool
                    lost.extend(chunk)
                    continue
                for record in records:
                    writer.write(record)
                    bar.update()
                following = None if lost else next(waiting, None)  # a broken pool takes no more
                if following is not None:
                    try:
                        futures[pool.submit(_run_chunk, following)] = following
                    except BrokenProcessPool:  # it broke before its failed futures were seen
                        lost.extend(following)
    return lost + [task for chunk in waiting for task in chunk]  # never submitted: lost with the pool too


def check_outputs(out: Path, report: Path | None) -> None:
    """Raise :class:`StoreError` unless the results file and the report folder can be written (before any run)."""
    out = absolute(out)
    if out.exists() and not (out.is_file() and os.access(out, os.W_OK)):
        raise StoreError(f"cannot append results to {out}: it is not a writable file")
    check_writable_folder(out.parent)
    if report is not None:
        report = absolute(report)
        if report.exists() and not (report.is_dir() and os.access(report, os.W_OK | os.X_OK)):
            raise StoreError(f"cannot write the report into {report}: it is not a writable folder")
        check_writable_folder(report)
