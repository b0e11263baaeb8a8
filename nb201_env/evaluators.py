"""Evaluators turn an architecture into a search signal and a cost; the environment calls one.

An evaluator is any object with the :class:`Evaluator` interface: the tabular one below reads the store,
the training one (``nb201_env.training``) really trains the network. Both report validation accuracy in
percent and the cost in seconds (simulated from records, or measured). Test accuracy is only ever returned
by :meth:`Evaluator.test_accuracy`, which search code must not call.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from nb201_env.benchmark import Benchmark, Evaluation
from nb201_env.names import SEARCH_DATASETS, check_schedule
from nb201_env.space import NUM_ARCHS
from nb201_env.store.view import MEAN
from nb201_env.validate import check_choice, check_epoch, check_int

_evaluation = tuple.__new__  # builds an Evaluation without the named tuple's Python-level __new__ (hot path)

SeedPolicy = Literal["random", "mean", "fixed"]
SEED_POLICIES: tuple[str, ...] = ("random", "mean", "fixed")
"""How a tabular evaluation picks among the recorded seeds: one drawn per evaluation, their mean, or one named."""

__all__ = [
    "SEED_POLICIES",
    "Evaluation",
    "Evaluator",
    "MultiFidelityEvaluator",
    "SeedPolicy",
    "TabularConfig",
    "TabularEvaluator",
]


@runtime_checkable
class Evaluator(Protocol):
    """Evaluate architectures by official index; randomness only from the passed generator."""

    def evaluate(self, index: int, rng: np.random.Generator) -> Evaluation:
        """Return validation accuracy and cost of one architecture."""
        ...

    def evaluate_many(self, indices: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return validation accuracies and costs of many architectures."""
        ...

    def test_accuracy(self, index: int) -> float:
        """Return the final test accuracy for reports; never part of a search signal."""
        ...

    def describe(self) -> Mapping[str, Any]:
        """Return what the signal is (dataset, split, schedule, epoch, seeds, source) for ``info``/reports."""
        ...


@runtime_checkable
class MultiFidelityEvaluator(Evaluator, Protocol):
    """An evaluator that can also stop training early: the signal after ``epoch`` and its cost."""

    def fidelities(self) -> tuple[int, ...]:
        """Return the 0-based epochs at which a signal can be read."""
        ...

    def evaluate_at(self, index: int, epoch: int, rng: np.random.Generator) -> Evaluation:
        """Return validation accuracy after ``epoch`` and the cost of training that far."""
        ...


@dataclass(frozen=True)
class TabularConfig:
    """What the tabular evaluator reads.

    Args:
        dataset: search dataset; the signal is ``cifar10-valid``/``x-valid`` for ``cifar10`` and ``x-valid``
            of the dataset itself otherwise.
        schedule: 12 (the NB201 search protocol) or 200 epochs; ``None``: 12 when the store holds it, else
            the store's own (a proxy table's schedule).
        epoch: 0-based epoch whose accuracy is the signal (``None`` = last epoch): the fidelity.
        seed_policy: ``"random"`` draws one recorded seed per evaluation from the passed generator,
            ``"mean"`` averages the seeds, ``"fixed"`` always uses ``seed``.
        seed: the seed for ``"fixed"``.
        test_schedule: schedule of the test accuracy used in reports (``None``: 200, the paper's final figure,
            when held, else the store's longest).
    """

    dataset: str = "cifar10"
    schedule: int | None = None
    epoch: int | None = None
    seed_policy: SeedPolicy = "random"
    seed: int | None = None
    test_schedule: int | None = None

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, SEARCH_DATASETS)
        if self.schedule is not None:
            check_schedule(self.schedule)
        if self.test_schedule is not None:
            check_schedule(self.test_schedule, "for test accuracy")
        check_choice("seed policy", self.seed_policy, SEED_POLICIES)
        check_epoch(self.epoch, self.schedule)
        check_int("seed", self.seed, allow_none=True)
        if (self.seed_policy == "fixed") != (self.seed is not None):
            raise ValueError("give seed=<int> exactly when seed_policy='fixed'")


class TabularEvaluator:
    """Look the signal up in a benchmark store and charge the recorded training time as the cost.

    A thin binding of a :class:`TabularConfig` to :meth:`Benchmark.validation`: the benchmark keeps the
    (cached) tables, so there is one cache and one definition of the signal and its cost.
    """

    def __init__(self, bench: Benchmark, config: TabularConfig | None = None) -> None:
        self.bench = bench
        config = config or TabularConfig()
        if config.schedule is None:  # resolve against what the store holds
            config = dataclasses.replace(config, schedule=bench.search_schedule(config.dataset))
        self.config = c = config
        # resolve the records now, so that a missing one fails at construction with a clear error
        self._acc, self._train, _ = bench.signal_views(c.dataset, c.schedule)
        self._acc.epoch_position(c.epoch)
        if c.seed_policy == "fixed":
            self._acc.check_seed(c.seed)
        bench.cost_table(c.dataset, schedule=c.schedule, epoch=c.epoch)
        self._e = c.schedule - 1 if c.epoch is None else c.epoch
        # with one recorded value per architecture every policy reads the same number: repeats need no memo
        self.deterministic = c.seed_policy != "random" or self._acc.array.shape[1] == 1
        self._drawn = c.seed_policy == "random"
        self._fixed_seed: Any = MEAN if c.seed_policy == "mean" else c.seed
        self._validation = functools.partial(bench.validation, dataset=c.dataset, schedule=c.schedule, epoch=c.epoch)
        # one number per architecture: plain lists answer a query fastest (NaN, missing, goes the checked way)
        self._accuracies: list[float] | None = None
        self._costs: list[float] = []
        if self.deterministic:
            every = np.arange(NUM_ARCHS)
            seed = MEAN if self._drawn else self._fixed_seed  # a drawn seed of one recorded seed is that seed
            self._accuracies = self._acc.values(every, c.epoch, seed).tolist()
            self._costs = bench.cost_table(c.dataset, schedule=c.schedule, epoch=c.epoch).tolist()

    def _seed(self, rng: np.random.Generator) -> Any:
        return rng if self._drawn else self._fixed_seed

    def evaluate(self, index: int, rng: np.random.Generator) -> Evaluation:
        """Return the recorded validation accuracy and the simulated cost of one architecture."""
        if self._accuracies is not None and type(index) is int and 0 <= index < NUM_ARCHS:
            accuracy, cost = self._accuracies[index], self._costs[index]
            if accuracy == accuracy and cost == cost:
                return _evaluation(Evaluation, (accuracy, cost))
        return self._validation(index, seed=rng if self._drawn else self._fixed_seed)

    def evaluate_many(self, indices: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return recorded validation accuracies and simulated costs of many architectures (NaN if missing)."""
        c = self.config
        return self.bench.validation_many(indices, c.dataset, schedule=c.schedule, epoch=c.epoch, seed=self._seed(rng))

    def fidelities(self) -> tuple[int, ...]:
        """Return the epochs whose validation accuracy the store holds (times are per epoch or constant)."""
        return self.bench.fidelities(self.config.dataset, self.config.schedule)

    def evaluate_at(self, index: int, epoch: int, rng: np.random.Generator) -> Evaluation:
        """Return validation accuracy after ``epoch`` and the simulated cost of training that far."""
        c = self.config
        return self.bench.validation(index, c.dataset, schedule=c.schedule, epoch=epoch, seed=self._seed(rng))

    def test_accuracy(self, index: int) -> float:
        """Return the paper's test figure for this dataset (for reports only)."""
        return self.bench.test_accuracy(index, self.config.dataset, schedule=self.config.test_schedule)

    def describe(self) -> dict[str, Any]:
        """Describe the signal for ``info`` and reports, including the seed axis the store really has."""
        c = self.config
        info = self._acc.info
        estimates = self.bench.store.manifest.sources[self._train.info.source].estimate
        return {
            "evaluator": "tabular",
            "benchmark": self.bench.name,
            "dataset": c.dataset,
            "signal": f"{info.key.dataset}/{info.key.split}/accuracy",
            "schedule": c.schedule,
            "epoch": self._e,
            "seed_policy": c.seed_policy,
            "seed_axis": info.seeds.kind,
            "seeds": list(info.seeds.seeds),
            "cost": f"train time of epochs 0..{self._e} + one {info.key.split} pass",
            "cost_is_estimate": bool(estimates),
        }
