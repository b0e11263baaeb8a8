"""Train many architectures at once in a pool of worker processes: one per GPU, or several CPU workers.

Each worker receives the prepared data once (at start-up), sets its own thread count and device, and
trains the batches of jobs sent to it (``Runtime.archs_per_step`` architectures in one model step); the
parent collects results as batches finish and hands each to a callback (the evaluator writes it to the
cache right away, one transaction per architecture, so killing everything loses only the runs in flight). On a
small CPU, one single-threaded worker per core beats one multi-threaded process for small networks: the
per-op work is too small to split across threads.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from typing import Any

from nb201_env.training.jobs import Job, ResultCallback, job_batches
from nb201_env.training.recipe import Recipe
from nb201_env.training.runtime import Runtime
from nb201_env.training.splits import Splits

log = logging.getLogger(__name__)

_worker: dict[str, Any] = {}  # the data, recipe and runtime of this worker process


def _init_worker(splits: Splits, recipe: Recipe, runtime: Runtime, devices: Any, log_level: int | None = None) -> None:
    from nb201_env.parent_watch import exit_with_parent

    exit_with_parent()  # a parent killed by SIGKILL must not leave trained-data-holding workers behind
    if log_level is not None:  # a spawned process starts without the parent's logging: its epoch lines go to stderr
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
        logging.getLogger("nb201_env").setLevel(log_level)
    device = devices.get() if devices is not None else runtime.device  # one GPU per worker
    _worker.update(splits=splits, recipe=recipe, runtime=replace(runtime, device=device))


def _train_batch(batch: list[Job]) -> list[dict[str, Any]]:
    from nb201_env.training.batched_trainer import train_jobs

    return train_jobs(batch, _worker["splits"], _worker["recipe"], _worker["runtime"])


class JobsFailed(RuntimeError):
    """Some jobs raised; the others finished (and were handed to the callback)."""


class Gatherer:
    """Keep each finished job's result and name each failed one, so that one failure never loses the others."""

    def __init__(self, total: int, on_result: ResultCallback | None, what: str = "training jobs") -> None:
        self.total, self.on_result, self.what = total, on_result, what
        self.results: dict[Job, dict[str, Any]] = {}
        self.failures: list[str] = []

    def add(self, job: Job, fetch: Callable[[], dict[str, Any]]) -> None:
        """Fetch one finished job's result and hand it to ``on_result`` (a job that raised is noted)."""
        try:
            result = self.results[job] = fetch()
        except Exception as error:  # keep going: the finished runs are still worth caching
            self.failures.append(f"arch {job.representative} seed {job.seed}: {error!r}")
            return
        if self.on_result is not None:
            self.on_result(job, result)
        log.info("finished arch %d seed %d (%d/%d %s)", job.representative, job.seed, len(self.results), self.total,
                 self.what)  # fmt: skip

    def add_batch(self, batch: list[Job], fetch: Callable[[], list[dict[str, Any]]]) -> None:
        """Fetch the results of a batch trained together and add each (if the batch raised, each of its jobs failed)."""
        try:
            results = fetch()
        except Exception as error:
            self.failures.extend(f"arch {job.representative} seed {job.seed}: {error!r}" for job in batch)
            return
        for job, result in zip(batch, results):
            self.add(job, lambda result=result: result)

    def done(self) -> dict[Job, dict[str, Any]]:
        """Return every result, or raise :class:`JobsFailed` naming the failed jobs."""
        if self.failures:
            raise JobsFailed(
                f"{len(self.failures)} of {self.total} {self.what} failed: " + "; ".join(self.failures[:5])
            )
        return self.results


def collect(
    futures: dict[Future[list[dict[str, Any]]], list[Job]], on_result: ResultCallback | None
) -> dict[Job, dict[str, Any]]:
    """Wait for batches, handing each result to ``on_result`` as soon as its batch is done; raise on failures."""
    gather = Gatherer(sum(len(b) for b in futures.values()), on_result)
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            gather.add_batch(futures[future], future.result)
    return gather.done()


class ProcessPoolBackend:
    """Train jobs in worker processes (``spawn``ed, so safe with threads and CUDA).

    Args:
        workers: number of processes (default: one per visible GPU when training on CUDA, else one per core).
        threads_per_worker: torch threads in each worker (default: the runtime's, one unless set: several
            workers with several threads each would oversubscribe the cores).
        devices: device of each worker, e.g. ``["cuda:0", "cuda:1"]`` (default: the runtime's device for all).
    """

    def __init__(
        self, workers: int | None = None, threads_per_worker: int | None = None, devices: list[str] | None = None
    ) -> None:
        if devices is not None and workers is not None and workers != len(devices):
            raise ValueError(f"workers={workers} but {len(devices)} devices given: one worker per device")
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be an int >= 1 or None, got {workers!r}")
        importlib.import_module("nb201_env.training._torch")  # the workers train here: fail now, with the hint
        self.devices = devices
        self.workers = workers or (len(devices) if devices else None)
        self.threads_per_worker = threads_per_worker
        self._pool: ProcessPoolExecutor | None = None
        self._bound: tuple[int, Recipe, Runtime] | None = None

    def _start(self, splits: Splits, recipe: Recipe, runtime: Runtime) -> ProcessPoolExecutor:
        bound = (id(splits), recipe, runtime)
        if self._pool is not None and self._bound == bound:
            return self._pool
        self.close()
        workers = self.workers or _default_workers(runtime)
        devices = self.devices or _default_devices(runtime, workers)
        context = multiprocessing.get_context("spawn")
        queue = None
        if devices:
            queue = context.Manager().Queue()
            for device in devices:
                queue.put(device)
        log.info("starting %d training workers with %d thread(s) each", workers, runtime.torch_threads)
        self._pool = ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(splits, recipe, runtime, queue, logging.getLogger("nb201_env").getEffectiveLevel()),
        )
        self._bound = bound
        return self._pool

    def runtime_for(self, runtime: Runtime) -> Runtime:
        """Return the runtime the workers train with: ``threads_per_worker`` threads (one unless set)."""
        if self.threads_per_worker is not None:
            return replace(runtime, threads=self.threads_per_worker)
        return runtime

    def run(
        self,
        jobs: list[Job],
        splits: Splits,
        recipe: Recipe,
        runtime: Runtime,
        on_result: ResultCallback | None = None,
    ) -> list[dict[str, Any]]:
        """Train every job in the pool, calling ``on_result`` as each finishes; return results in job order."""
        pool = self._start(splits, recipe, self.runtime_for(runtime))
        futures = {pool.submit(_train_batch, b): b for b in job_batches(jobs, runtime.archs_per_step)}
        results = collect(futures, on_result)
        return [results[job] for job in jobs]

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_pool": None, "_bound": None}  # a copy starts its own workers when used

    def __enter__(self) -> ProcessPoolBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _default_workers(runtime: Runtime) -> int:
    from nb201_env.training._torch import torch

    if runtime.device != "cpu" and torch.cuda.is_available():
        return torch.cuda.device_count()
    return os.cpu_count() or 1


def _default_devices(runtime: Runtime, workers: int) -> list[str] | None:
    """Spread workers over the visible GPUs (``None`` on CPU: every worker uses the runtime's device)."""
    from nb201_env.training._torch import torch

    if runtime.device in ("auto", "cuda") and torch.cuda.is_available():
        return [f"cuda:{i % torch.cuda.device_count()}" for i in range(workers)]
    return None
