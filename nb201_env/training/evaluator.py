"""``TrainingEvaluator``: the :class:`~nb201_env.evaluators.Evaluator` interface backed by real training.

``evaluate(index, rng)`` trains the representative of the architecture's isomorphism class (isomorphic
cells compute the same function) with the configured recipe and a seed drawn from ``rng`` (or a fixed
seed), and returns its final validation accuracy with the measured seconds as the cost (CPU seconds on a
CPU, wall seconds on a GPU by default: :mod:`~nb201_env.training.timing`). Runs are cached persistently
under a key that covers the data, split, recipe, scored epochs and numerics settings
(:mod:`~nb201_env.training.runkey`); a cached run returns its recorded accuracy and recorded cost, so a
search sees the same numbers and pays the same simulated time whether or not the run was already done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from nb201_env.evaluators import Evaluation
from nb201_env.isomorphism import representative_of
from nb201_env.training.cache import ResultCache
from nb201_env.training.config import TRAINING_SEED_POLICIES, TrainingConfig
from nb201_env.training.jobs import Backend, Job, job_batches
from nb201_env.training.runkey import RunKey
from nb201_env.training.sources import DataSource
from nb201_env.training.timing import charged_clock, run_cost

if TYPE_CHECKING:
    from nb201_env.training.splits import Splits

log = logging.getLogger(__name__)
__all__ = ["TRAINING_SEED_POLICIES", "TrainingConfig", "TrainingEvaluator"]


class TrainingEvaluator:
    """Evaluate architectures by training them (see the module docstring); satisfies ``Evaluator``.

    The dataset ``root`` is checked here (it must hold one of the supported layouts); it is loaded (decoded
    once per machine, then read from the data cache) on the first evaluation.

    Args:
        config: what to train and where to cache.
        splits: already-prepared splits (skips ``config.root``; used by workers and tests).
        backend: runs batches of jobs in parallel for :meth:`evaluate_many` (``None`` = in this process).
    """

    def __init__(self, config: TrainingConfig, splits: Splits | None = None, backend: Backend | None = None) -> None:
        self.config = config
        self.source: DataSource | None = None
        if splits is None:
            if config.root is None:
                raise ValueError(
                    "TrainingConfig.root is not set: pass the dataset of "
                    f"{config.train_dataset!r}, e.g. root='../shared/datasets/cifar10-jpg.tar.gz' (an image folder, "
                    "its .tar.gz, torchvision's CIFAR python layout or ImageNet16's files)"
                )
            from nb201_env.training.dataset import locate

            base = "cifar10" if config.train_dataset == "cifar10-valid" else config.train_dataset
            self.source = locate(base, config.root, config.download)  # fails now, naming what was expected
        self.cache = ResultCache(config.cache if config.cache is not None else ":memory:")
        self.backend = backend
        self.runtime = backend.runtime_for(config.runtime) if backend is not None else config.runtime
        self._splits = splits
        self._key: RunKey | None = None

    def close(self) -> None:
        """Close the cache."""
        self.cache.close()

    def __enter__(self) -> TrainingEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self.source is not None:  # reloaded from the data cache on first use, not copied
            state["_splits"] = None
        return state

    def splits(self) -> Splits:
        """Return the prepared data (loading and preparing it on first use)."""
        if self._splits is None:
            from nb201_env.training.splits import load_splits, prepare

            c = self.config
            raw = load_splits(
                c.train_dataset, c.root, c.split_dir, c.split_seed, c.data_cache_dir, c.download,  # type: ignore[arg-type]
                data_cache=c.data_cache, progress=c.progress,
            )  # fmt: skip
            self._splits = prepare(raw, c.recipe)
        return self._splits

    def key(self) -> RunKey:
        """Return the cache key of this evaluator's runs (loads the data on first use: its content is in the key)."""
        if self._key is None:
            self._key = RunKey.of(self.splits(), self.config.recipe, self.runtime)
        return self._key

    def cached(self, index: int, seed: int) -> dict[str, Any] | None:
        """Return the cached run of an architecture's class with ``seed`` under this evaluator's key, or None."""
        return self.cache.get(index, self.key(), seed)

    def draw_seed(self, rng: np.random.Generator) -> int:
        """Return the training seed of one evaluation (drawn from ``rng`` under the random policy)."""
        c = self.config
        return c.seed if c.seed_policy == "fixed" else int(c.seeds[int(rng.integers(len(c.seeds)))])

    def run(
        self,
        indices: list[int],
        seeds: list[int],
        test: bool | str = False,
        retrain: Collection[int] = (),
        prefer: Callable[[dict[str, Any], dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Return the run of each (architecture, seed), training and caching the missing ones.

        Representatives in ``retrain`` are trained again even when cached; each new run replaces the cached
        one once it is finished (so an interruption loses nothing), unless ``prefer(cached, new)`` says no.
        """
        c, key = self.config, self.key()
        wanted = [(representative_of(int(i)), int(s)) for i, s in zip(indices, seeds)]
        redo = {int(r) for r in retrain}
        found: dict[tuple[int, int], dict[str, Any]] = {}
        old: dict[tuple[int, int], dict[str, Any]] = {}
        for rep, seed in dict.fromkeys(wanted):
            row = self.cache.get(rep, key, seed)
            wanted_key = "test_accuracy_curve" if test == "all" else "test_accuracy"
            if row is not None and (not test or row.get(wanted_key) is not None):
                (old if rep in redo else found)[(rep, seed)] = row
        flag = test or c.record_test
        jobs = [Job(rep, seed, flag) for rep, seed in dict.fromkeys(wanted) if (rep, seed) not in found]

        def store(job: Job, result: dict[str, Any]) -> None:
            previous = old.get((job.representative, job.seed))
            if previous is not None and prefer is not None and not prefer(previous, result):
                found[(job.representative, job.seed)] = previous
                return
            self.cache.put(result, key, c.recipe)  # at once, in one transaction: a crash loses only runs in flight
            found[(job.representative, job.seed)] = result

        if self.backend is not None and len(jobs) > 1:
            self.backend.run(jobs, self.splits(), c.recipe, self.runtime, store)
        elif jobs:
            self._train_here(jobs, store)
        return [found[k] for k in wanted]

    def _train_here(self, jobs: list[Job], store: Callable[[Job, dict[str, Any]], None]) -> None:
        """Train jobs in this process, batch by batch, showing each run's epochs when asked."""
        from nb201_env.training.batched_trainer import train_jobs
        from nb201_env.training.progress import ProgressBar

        c = self.config
        splits = self.splits()
        for batch in job_batches(jobs, self.runtime.archs_per_step):
            archs = ", ".join(str(job.representative) for job in batch)
            log.info("training arch %s on %s (%d epochs)", archs, c.train_dataset, c.recipe.epochs)
            desc = f"training arch {archs} on {c.train_dataset}"
            with ProgressBar(desc, "epoch", c.progress) as bar:
                epochs = c.recipe.epochs * len(batch)
                done: list[int] = []

                def on_epoch(report: Any, bar: ProgressBar = bar, epochs: int = epochs, done: list = done) -> None:
                    done.append(1)
                    bar.show(len(done), epochs, valid=f"{report.valid_accuracy:.1f}%")

                bar.show(0, epochs)  # open it now: its clock starts with the training
                for job, result in zip(batch, train_jobs(batch, splits, c.recipe, self.runtime, on_epoch)):
                    store(job, result)  # one transaction per architecture, as soon as its batch is done

    @property
    def clock(self) -> str:
        """The clock whose seconds the search is charged: ``"cpu"`` or ``"wall"``."""
        return charged_clock(self.config.seconds, self.runtime.device_type())

    def _evaluation(self, result: dict[str, Any], epoch: int = -1) -> Evaluation:
        return Evaluation(float(result["valid_accuracy"][epoch]), run_cost(result, self.clock, epoch))  # type: ignore[arg-type]

    def evaluate(self, index: int, rng: np.random.Generator) -> Evaluation:
        """Return the final validation accuracy (%) and measured cost (s) of one architecture."""
        (result,) = self.run([index], [self.draw_seed(rng)])
        return self._evaluation(result)

    def evaluate_many(self, indices: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return validation accuracies and costs of many architectures (the backend trains them in parallel)."""
        indices = np.asarray(indices, dtype=np.int64).ravel()
        seeds = [self.draw_seed(rng) for _ in indices]
        evaluations = [self._evaluation(r) for r in self.run(indices.tolist(), seeds)]
        accuracy = np.array([e.accuracy for e in evaluations], dtype=np.float64)
        cost = np.array([e.cost for e in evaluations], dtype=np.float64)
        return accuracy, cost

    def fidelities(self) -> tuple[int, ...]:
        """Return the 0-based epochs whose validation accuracy is recorded (all, or the last only)."""
        epochs = self.config.recipe.epochs
        return tuple(range(epochs)) if self.runtime.eval_epochs == "all" else (epochs - 1,)

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
        return self._evaluation(result, epoch)

    def test_accuracy(self, index: int) -> float:
        """Return the test accuracy (%) of the run with ``test_seed``, training it if needed (reports only).

        With ``record_test=True`` (the env's ``report_test=True``) every run scores its test split, so this
        reads it. Otherwise a cached run without a test score is trained again with test scoring and replaced
        (logged: a second run); with ``Runtime(deterministic=True)`` on the same machine its validation numbers
        are the same.
        """
        c = self.config
        seed = c.test_seed if c.test_seed is not None else c.seed
        if not c.record_test:
            cached = self.cached(index, seed)
            if cached is not None and cached.get("test_accuracy") is None:
                log.warning(
                    "arch %d: training it again to score its test split (set record_test=True, or the env's "
                    "report_test=True, to score it in the first run)",
                    representative_of(index),
                )
        (result,) = self.run([index], [seed], test=True)
        return float(result["test_accuracy"])

    def describe(self) -> dict[str, Any]:
        """Describe the signal, recipe, seeds, cost and cache for ``info`` and reports."""
        c = self.config
        loaded = self._splits is not None
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
            "runtime": asdict(self.runtime),
            "cost": f"measured {self.clock} seconds of training + the final validation pass (recorded ones for "
            "cached runs; every run records both wall and CPU seconds)",
            "seconds": self.clock,
            "cost_is_estimate": False,
            "cache": str(c.cache) if c.cache is not None else None,
            "data": self.source.describe() if self.source is not None else "splits given",
            "split": self._splits.split_source if loaded else "data not loaded yet",  # type: ignore[union-attr]
            "cache_key": self.key().setup() if loaded else "data not loaded yet",
            "cached_runs": self.cache.count(self.key()) if loaded else None,
        }
