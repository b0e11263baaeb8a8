"""Training jobs and the backends that run them: the vocabulary shared by the evaluator, the trainers and the pools.

Importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from nb201_env.training.recipe import Recipe
    from nb201_env.training.runtime import Runtime
    from nb201_env.training.splits import Splits


class Job(NamedTuple):
    """One training run to do."""

    representative: int
    """The architecture trained: the representative of its isomorphism class."""
    seed: int
    """The training seed (initialisation, data order, augmentation)."""
    test: bool | str = False
    """Also score the test split: after the last epoch (``True``) or after every epoch (``"all"``)."""


ResultCallback = Callable[[Job, dict[str, Any]], None]
"""Called with each job and its result dict as soon as it is finished (the evaluator writes it to the cache)."""


def job_batches(jobs: list[Job], size: int) -> list[list[Job]]:
    """Split jobs into batches of at most ``size`` trained together (one test flag per batch, order kept)."""
    by_flag: dict[bool | str, list[Job]] = {}
    for job in jobs:
        by_flag.setdefault(job.test, []).append(job)
    return [group[i : i + size] for group in by_flag.values() for i in range(0, len(group), size)]


class Backend(Protocol):
    """Runs many training jobs elsewhere (worker processes, a Ray cluster), reporting each as it finishes."""

    def runtime_for(self, runtime: Runtime) -> Runtime:
        """Return the runtime its workers train with (their device and threads), which decides the cache key."""
        ...

    def run(
        self,
        jobs: list[Job],
        splits: Splits,
        recipe: Recipe,
        runtime: Runtime,
        on_result: ResultCallback | None = None,
    ) -> list[dict[str, Any]]:
        """Train every job with ``runtime`` (as :meth:`runtime_for` returned it), call ``on_result`` as each
        finishes, and return the result dicts in job order."""
        ...
