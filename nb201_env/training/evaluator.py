"""``TrainingEvaluator``: the :class:`~nb201_env.evaluators.Evaluator` interface backed by real training.

``evaluate(index, rng)`` trains the representative of the architecture's isomorphism class (isomorphic
cells compute the same function) with the configured recipe and a seed drawn from ``rng`` (or a fixed
seed), and returns its final validation accuracy with the measured seconds as the cost. Runs are cached
persistently; a cached run returns its recorded accuracy and recorded cost, so a search sees the same
numbers and pays the same simulated time whether or not the run was already done.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from nb201_env.evaluators import Evaluation
from nb201_env.isomorphism import representative_of
from nb201_env.names import DATASETS, SEARCH_DATASETS, VALIDATION_OF, check_choice
from nb201_env.training.cache import ResultCache
from nb201_env.training.recipe import Recipe
from nb201_env.training.runtime import Runtime

if TYPE_CHECKING:
    from nb201_env.training.splits import Splits

log = logging.getLogger(__name__)
TRAINING_SEED_POLICIES = ("fixed", "random")
"""The seed policies (:data:`nb201_env.evaluators.SEED_POLICIES`) a training run supports: a mean trains every seed."""
Job = tuple[int, int, bool]
"""``(representative, seed, with_test)``: one training run to do."""


def job_batches(jobs: list[Job], size: int) -> list[list[Job]]:
    """Split jobs into batches of at most ``size`` trained together (one test flag per batch, order kept)."""
    by_flag: dict[bool | str, list[Job]] = {}
    for job in jobs:
        by_flag.setdefault(job[2], []).append(job)
    return [group[i : i + size] for group in by_flag.values() for i in range(0, len(group), size)]


class Backend(Protocol):
    """Runs many training jobs elsewhere (worker processes, a Ray cluster), reporting each as it finishes."""

    def run(
        self,
        jobs: list[Job],
        splits: Splits,
        recipe: Recipe,
        runtime: Runtime,
        on_result: Callable[[Job, dict[str, Any]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Train every job, call ``on_result`` as each finishes, and return the result dicts in job order."""
        ...


@dataclass(frozen=True)
class TrainingConfig:
    """What the training evaluator trains, on which data, and where it caches.

    Args:
        dataset: ``cifar10`` (the signal is ``cifar10-valid``/``x-valid``, as NB201 searches), ``cifar10-valid``,
            ``cifar100`` or ``ImageNet16-120`` (their ``x-valid``).
        root: the dataset folder (any layout of :mod:`nb201_env.training.data`).
        recipe: the training recipe (default: NB201's 12-epoch search schedule).
        seed_policy: ``"fixed"`` always trains with ``seed``; ``"random"`` draws one of ``seeds`` from the rng.
        seed: the seed of the fixed policy.
        seeds: the seed pool of the random policy (a finite pool, so repeated queries hit the cache).
        test_seed: the seed of runs made for :meth:`TrainingEvaluator.test_accuracy` (default: ``seed``).
        record_test: also score the test split at the end of every run (costs one more pass).
        cache: SQLite cache file (``None`` = in memory, lost at exit).
        runtime: execution choices (device, threads, precision, ...).
        split_dir: folder of the official NB201 split files (default: ``root``).
        split_seed: seed of the replacement split when the official files are absent.
        data_cache_dir: where decoded image folders are kept as ``.npy`` (``None`` = decode each time).
        download: download the official CIFAR tarball into ``root`` if no CIFAR data is there.
    """

    dataset: str = "cifar10"
    root: str | os.PathLike[str] | None = None
    recipe: Recipe = field(default_factory=lambda: Recipe.nb201(12))
    seed_policy: str = "fixed"
    seed: int = 777
    seeds: tuple[int, ...] = (777, 888, 999)
    test_seed: int | None = None
    record_test: bool = False
    cache: str | os.PathLike[str] | None = None
    runtime: Runtime = field(default_factory=Runtime)
    split_dir: str | os.PathLike[str] | None = None
    split_seed: int = 0
    data_cache_dir: str | os.PathLike[str] | None = None
    download: bool = False

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, DATASETS)
        check_choice("seed policy", self.seed_policy, TRAINING_SEED_POLICIES)
        if not isinstance(self.recipe, Recipe):
            raise TypeError(f"recipe must be a Recipe, got {type(self.recipe).__name__}")
        if not self.seeds or not all(isinstance(s, int) and s >= 0 for s in self.seeds):
            raise ValueError(f"seeds must be a non-empty tuple of ints >= 0, got {self.seeds!r}")

    @property
    def train_dataset(self) -> str:
        """The dataset whose training/validation split is trained and scored."""
        return VALIDATION_OF[self.dataset][0] if self.dataset in SEARCH_DATASETS else self.dataset


class TrainingEvaluator:
    """Evaluate architectures by training them (see the module docstring); satisfies ``Evaluator``.

    Args:
        config: what to train and where to cache.
        splits: already-prepared splits (skips loading ``config.root``; used by workers and tests).
        backend: runs batches of jobs in parallel for :meth:`evaluate_many` (``None`` = in this process).
    """

    def __init__(self, config: TrainingConfig, splits: Splits | None = None, backend: Backend | None = None) -> None:
        self.config = config
        self.cache = ResultCache(config.cache if config.cache is not None else ":memory:")
        self.backend = backend
        self._splits = splits

    def close(self) -> None:
        """Close the cache."""
        self.cache.close()

    def __enter__(self) -> TrainingEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def splits(self) -> Splits:
        """Return the prepared data (loading and preparing it on first use)."""
        if self._splits is None:
            from nb201_env.training.splits import load_splits, prepare

            c = self.config
            if c.root is None:
                raise ValueError(
                    "TrainingConfig.root is not set: pass the folder holding the dataset "
                    f"({c.train_dataset!r}), e.g. TrainingConfig(root='~/data/cifar10-jpg')"
                )
            raw = load_splits(c.train_dataset, c.root, c.split_dir, c.split_seed, c.data_cache_dir, c.download)
            self._splits = prepare(raw, c.recipe)
        return self._splits

    def draw_seed(self, rng: np.random.Generator) -> int:
        """Return the training seed of one evaluation (drawn from ``rng`` under the random policy)."""
        c = self.config
        return c.seed if c.seed_policy == "fixed" else int(c.seeds[int(rng.integers(len(c.seeds)))])

    def run(
        self, indices: list[int], seeds: list[int], test: bool | str = False, retrain: Collection[int] = ()
    ) -> list[dict[str, Any]]:
        """Return the run of each (architecture, seed), training and caching the missing ones.

        Representatives in ``retrain`` are trained again even when cached; each new run replaces the cached
        one only once it is finished, so an interruption loses nothing.
        """
        c = self.config
        wanted = [(representative_of(int(i)), int(s)) for i, s in zip(indices, seeds)]
        redo = {int(r) for r in retrain}
        found: dict[tuple[int, int], dict[str, Any]] = {}
        for rep, seed in dict.fromkeys(wanted):
            if rep in redo:
                continue
            row = self.cache.get(rep, c.train_dataset, c.recipe, seed)
            wanted_key = "test_accuracy_curve" if test == "all" else "test_accuracy"
            if row is not None and (not test or row.get(wanted_key) is not None):
                found[(rep, seed)] = row
        jobs = [(rep, seed, test or c.record_test) for rep, seed in dict.fromkeys(wanted) if (rep, seed) not in found]

        def store(job: Job, result: dict[str, Any]) -> None:
            self.cache.put(result, c.recipe)  # at once, in one transaction: a crash loses only runs in flight
            found[(job[0], job[1])] = result

        if self.backend is not None and len(jobs) > 1:
            self.backend.run(jobs, self.splits(), c.recipe, c.runtime, store)
        elif jobs:
            from nb201_env.training.batched_trainer import train_jobs

            for batch in job_batches(jobs, c.runtime.archs_per_step):
                log.info("training archs %s on %s", [job[0] for job in batch], c.train_dataset)
                for job, result in zip(batch, train_jobs(batch, self.splits(), c.recipe, c.runtime)):
                    store(job, result)  # one transaction per architecture, as soon as its batch is done
        return [found[key] for key in wanted]

    def evaluate(self, index: int, rng: np.random.Generator) -> Evaluation:
        """Return the final validation accuracy (%) and measured cost (s) of one architecture."""
        (result,) = self.run([index], [self.draw_seed(rng)])
        return _evaluation(result)

    def evaluate_many(self, indices: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return validation accuracies and costs of many architectures (the backend trains them in parallel)."""
        indices = np.asarray(indices, dtype=np.int64).ravel()
        seeds = [self.draw_seed(rng) for _ in indices]
        results = self.run(indices.tolist(), seeds)
        accuracy = np.array([_evaluation(r).accuracy for r in results], dtype=np.float64)
        cost = np.array([_evaluation(r).cost for r in results], dtype=np.float64)
        return accuracy, cost

    def fidelities(self) -> tuple[int, ...]:
        """Return the 0-based epochs whose validation accuracy is recorded (all, or the last only)."""
        epochs = self.config.recipe.epochs
        return tuple(range(epochs)) if self.config.runtime.eval_epochs == "all" else (epochs - 1,)

    def evaluate_at(self, index: int, epoch: int, rng: np.random.Generator) -> Evaluation:
        """Return the validation accuracy after ``epoch`` and the measured cost of training that far.

        As in NB201's curves, the run follows the full schedule (its cosine ends at the last epoch); it is
        trained once and cached, and a read at ``epoch`` is charged the seconds of epochs ``0..epoch`` plus
        that epoch's validation pass.
        """
        valid = self.fidelities()
        if epoch not in valid:
            raise ValueError(
                f"epoch {epoch!r} has no recorded validation accuracy; valid epochs are {valid[0]}..{valid[-1]}"
                + ("" if len(valid) > 1 else " (set Runtime(eval_epochs='all') for every epoch)")
            )
        (result,) = self.run([index], [self.draw_seed(rng)])
        cost = float(sum(result["train_seconds"][: epoch + 1]) + result["eval_seconds"][epoch])
        return Evaluation(float(result["valid_accuracy"][epoch]), cost)

    def test_accuracy(self, index: int) -> float:
        """Return the test accuracy (%) of the run with ``test_seed``, training it if needed (reports only).

        A cached run without a test score is trained again with test scoring and replaced; with
        ``Runtime(deterministic=True)`` on the same machine the replacement has the same validation numbers.
        """
        c = self.config
        seed = c.test_seed if c.test_seed is not None else c.seed
        (result,) = self.run([index], [seed], test=True)
        return float(result["test_accuracy"])

    def describe(self) -> dict[str, Any]:
        """Describe the signal, recipe, seeds, cost and cache for ``info`` and reports."""
        c = self.config
        return {
            "evaluator": "training",
            "dataset": c.dataset,
            "signal": f"{c.train_dataset}/x-valid/accuracy",
            "test": f"{c.train_dataset}/{'ori-test' if c.train_dataset.startswith('cifar10') else 'x-test'}/accuracy",
            "schedule": c.recipe.epochs,
            "epoch": c.recipe.epochs - 1,
            "seed_policy": c.seed_policy,
            "seeds": [c.seed] if c.seed_policy == "fixed" else list(c.seeds),
            "recipe": c.recipe.to_dict(),
            "recipe_hash": c.recipe.stable_hash(),
            "runtime": asdict(c.runtime),
            "cost": "measured seconds of training + the final validation pass (recorded ones for cached runs)",
            "cost_is_estimate": False,
            "cache": str(c.cache) if c.cache is not None else None,
            "split": self._splits.split_source if self._splits is not None else "data not loaded yet",
            "cached_runs": self.cache.count(c.train_dataset, c.recipe),
        }


def _evaluation(result: dict[str, Any]) -> Evaluation:
    cost = float(sum(result["train_seconds"]) + result["eval_seconds"][-1])
    return Evaluation(float(result["valid_accuracy"][-1]), cost)
