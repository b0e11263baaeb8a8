"""Train jobs as Ray tasks, on a local machine or a cluster (optional extra: ``pip install nb201-env[ray]``).

The prepared data is put in Ray's object store once and shared by every task; each task trains one batch
of ``Runtime.archs_per_step`` architectures (usually one) with ``num_cpus`` torch threads (and ``num_gpus``
GPUs) and returns their results, which the driver hands to the callback (the evaluator's cache write) as
soon as the task finishes. Nodes need this package and
torch installed; they do not need the dataset or the cache file.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from nb201_env.training.jobs import Job, ResultCallback, job_batches
from nb201_env.training.parallel import Gatherer
from nb201_env.training.recipe import Recipe
from nb201_env.training.runtime import Runtime
from nb201_env.training.splits import Splits

log = logging.getLogger(__name__)
INSTALL_HINT = "pip install nb201-env[ray]"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise ImportError(
            f"RayBackend needs Ray, which is not importable here ({error}); install it with: {INSTALL_HINT}"
        ) from error
    return ray


def _train_task(splits: Splits, recipe: Recipe, runtime: Runtime, batch: list[Job]) -> list[dict[str, Any]]:
    from nb201_env.training.batched_trainer import train_jobs

    return train_jobs(batch, splits, recipe, runtime)


class RayBackend:
    """Run training jobs as Ray tasks.

    Args:
        address: cluster address for ``ray.init`` (``None``: connect to the running instance or start a local one).
        num_cpus: CPUs (and torch threads) per task.
        num_gpus: GPUs per task (e.g. 1, or 0.5 to pack two small trainings on one GPU).
        init_kwargs: extra ``ray.init`` arguments used when this backend starts Ray itself.
    """

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int = 1,
        num_gpus: float = 0,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(num_cpus, int) or num_cpus < 1:
            raise ValueError(f"num_cpus must be an int >= 1, got {num_cpus!r}")
        if num_gpus < 0:
            raise ValueError(f"num_gpus must be >= 0, got {num_gpus!r}")
        self.ray = _import_ray()
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.init_kwargs = init_kwargs or {}
        self._data: tuple[int, Any] | None = None

    def _ensure_ray(self) -> None:
        if not self.ray.is_initialized():
            self.ray.init(address=self.address, **self.init_kwargs)

    def runtime_for(self, runtime: Runtime) -> Runtime:
        """Return the runtime the tasks train with: ``num_cpus`` threads, on a GPU when ``num_gpus`` > 0."""
        return replace(runtime, threads=self.num_cpus, device="cuda" if self.num_gpus > 0 else "cpu")

    def run(
        self,
        jobs: list[Job],
        splits: Splits,
        recipe: Recipe,
        runtime: Runtime,
        on_result: ResultCallback | None = None,
    ) -> list[dict[str, Any]]:
        """Train every job as a Ray task, calling ``on_result`` as each finishes; return results in job order."""
        ray = self.ray
        self._ensure_ray()
        if self._data is None or self._data[0] != id(splits):
            self._data = (id(splits), ray.put(splits))  # one copy in the object store for all tasks
        task_runtime = self.runtime_for(runtime)
        task = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus)(_train_task)
        batches = job_batches(jobs, runtime.archs_per_step)
        refs = {task.remote(self._data[1], recipe, task_runtime, batch): batch for batch in batches}
        gather = Gatherer(len(jobs), on_result, "Ray training jobs")
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            gather.add_batch(refs[done[0]], lambda ref=done[0]: ray.get(ref))
        results = gather.done()
        return [results[job] for job in jobs]

    def close(self) -> None:
        """Drop the data reference (Ray itself is left running for the caller to shut down)."""
        self._data = None
