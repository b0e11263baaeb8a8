"""A sweep: every (agent, protocol, run) not yet in the results file, run in parallel, each appended when done.

A worker process that dies (killed, out of memory) loses only the runs it held: they are redone in a fresh
pool, and named if they keep failing. :func:`check_outputs` checks the results file and report folder before
any run starts.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.harness.registry import get_agent
from benchmarks.harness.results import ResultsWriter, iter_pending, read_results
from benchmarks.harness.supernet_runs import SupernetSetup, protocol_name
from benchmarks.harness.tasks import Task, init_worker, run_task
from nb201_env.benchmark import Benchmark
from nb201_env.objectives import check_objectives
from nb201_env.protocols import SearchProtocol
from nb201_env.store.destination import absolute, check_writable_folder
from nb201_env.store.errors import StoreError

log = logging.getLogger("benchmarks.harness")


RETRIES = 2
"""Fresh pools tried for the runs of a worker that died, before they are reported as lost."""


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
) -> list[dict[str, Any]]:
    """Run every (agent, protocol, run) not yet in ``out``; return all records of the file.

    With ``objectives``, multi-objective agents search them, and each protocol is renamed
    ``<protocol>+<cost>+...`` so that sweeps over different objectives never mix in one file. With
    ``cluster_workers``, every run is an asynchronous simulation of that many workers
    (:mod:`benchmarks.harness.simulation`), the protocol named ``<protocol>/<k>w``. Weight-sharing agents run
    real searches as ``supernet`` says (default :class:`SupernetSetup`: proxy scale, the shared CIFAR-10), each
    protocol named ``<protocol>@<scale>``.
    """
    for name in agents:
        spec = get_agent(name)
        if cluster_workers:
            spec.cluster_searcher()  # fail before any worker starts, naming the agents that can
    goals = tuple(objectives) if objectives else None
    if goals:
        bench = Benchmark.open(store)
        for p in protocols:
            check_objectives(bench, p.dataset, goals)  # fail before any worker starts, naming the valid ones
        costs = "+".join(o for o in goals if o != "valid_accuracy")
        protocols = [replace(p, name=f"{p.name}+{costs}") for p in protocols]
    simulated: dict[str, int | None] = {p.name: None for p in protocols}
    if cluster_workers:
        for k in cluster_workers:
            if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                raise ValueError(f"cluster workers must be ints >= 1, got {k!r}")
        simulated = {f"{p.name}/{k}w": k for p in protocols for k in cluster_workers}
        protocols = [replace(p, name=f"{p.name}/{k}w") for p in protocols for k in cluster_workers]
    sharing = [a for a in agents if get_agent(a).weight_sharing]
    setup = (supernet or SupernetSetup()) if sharing else None
    by_name = {p.name: p for p in protocols}
    renamed = {}  # the weight-sharing runs of each protocol: <protocol>@<scale>
    if setup is not None:
        renamed = {p.name: replace(p, name=protocol_name(p.name, setup)) for p in protocols}
        by_name.update({q.name: q for q in renamed.values()})
    wanted = [
        (a, renamed[p.name].name if a in sharing else p.name, r) for p in protocols for a in agents for r in range(runs)
    ]
    pending = [
        Task(a, by_name[p], r, seed0 + r, goals, simulated.get(p), setup if a in sharing else None)
        for a, p, r in iter_pending(wanted, read_results(out))
    ]
    if setup is not None and any(t.supernet is not None for t in pending):
        setup = setup.resolved()  # extract the data once, here, before any worker starts
        pending = [replace(t, supernet=setup) if t.supernet is not None else t for t in pending]
    workers = workers or os.cpu_count() or 1
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
    return read_results(out)


def _run_chunk(tasks: list[Task]) -> list[dict[str, Any]]:
    return [run_task(task) for task in tasks]


def _run_pool(tasks: list[Task], store: str, workers: int, writer: ResultsWriter, bar: Any) -> list[Task]:
    """Run ``tasks`` in one pool, writing each finished chunk; return the tasks lost with dead workers."""
    chunk = max(1, min(25, len(tasks) // (workers * 8)))
    chunks = [tasks[i : i + chunk] for i in range(0, len(tasks), chunk)]
    lost: list[Task] = []
    context = mp.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker, initargs=(store,)) as pool:
        futures = {pool.submit(_run_chunk, c): c for c in chunks}
        for future in as_completed(futures):
            try:
                records = future.result()
            except BrokenProcessPool:  # a worker died: every chunk not finished is lost with the pool
                lost.extend(futures[future])
                continue
            for record in records:
                writer.write(record)
                bar.update()
    return lost


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
