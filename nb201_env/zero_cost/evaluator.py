"""``ZeroCostEvaluator``: search on a zero-cost proxy behind the :class:`~nb201_env.evaluators.Evaluator` interface.

The signal is the proxy's score (higher is better), the cost the measured seconds of computing it, so a search
on a proxy runs under the same simulated clock and budgets as a search on recorded accuracies. Scores come from
the bundled table ``nb201-zero-cost`` (``source="table"``: no torch, microseconds per query, the recorded
single-thread CPU seconds as the cost) or are computed now (``source="live"``: the ``[train]`` extra and a
dataset folder; the cost is the measured wall seconds). Undefined scores (NaN in the table) are returned as
``-inf``, so they rank last. Test accuracy, for reports only, comes from a tabular benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from nb201_env.benchmark import Benchmark, Evaluation
from nb201_env.names import SEARCH_DATASETS, check_choice
from nb201_env.space import all_ops
from nb201_env.store.errors import MissingValueError
from nb201_env.validate import check_int
from nb201_env.zero_cost.spec import PROXIES

if TYPE_CHECKING:
    from nb201_env.zero_cost.minibatch import Minibatch

ZeroCostSource = Literal["table", "live"]
SOURCES: tuple[str, ...] = ("table", "live")


@dataclass(frozen=True)
class ZeroCostConfig:
    """Which proxy, from where.

    Args:
        proxy: one of :data:`~nb201_env.zero_cost.spec.PROXIES`.
        dataset: the search dataset (the bundled table holds ``cifar10``).
        source: ``"table"`` reads ``store``; ``"live"`` computes on a minibatch of ``root``.
        store: the zero-cost benchmark (name or path) of the table source.
        root: the dataset folder of the live source (any layout the training extra reads).
        seed: initialisation seed of the live source (each architecture from ``(seed, index)``).
        minibatch_seed: seed drawing the live source's minibatch.
        device: torch device of the live source.
        data_cache_dir: where the live source keeps decoded images.
    """

    proxy: str = "naswot"
    dataset: str = "cifar10"
    source: str = "table"
    store: str = "nb201-zero-cost"
    root: str | None = None
    seed: int = 0
    minibatch_seed: int = 0
    device: str = "cpu"
    data_cache_dir: str | None = None

    def __post_init__(self) -> None:
        check_choice("zero-cost proxy", self.proxy, PROXIES)
        check_choice("dataset", self.dataset, SEARCH_DATASETS)
        check_choice("zero-cost source", self.source, SOURCES)
        check_int("seed", self.seed, low=0)
        check_int("minibatch_seed", self.minibatch_seed, low=0)
        if self.source == "live" and self.root is None:
            raise ValueError("source='live' computes scores on real images: give root=<dataset folder>")


class ZeroCostEvaluator:
    """Evaluate an architecture by a zero-cost proxy's score, charging the seconds computing it takes.

    Args:
        config: which proxy, from where.
        test_benchmark: the tabular benchmark that answers :meth:`test_accuracy` for reports (default: the
            default benchmark, NB201's own figures).
        minibatch: the live source's minibatch (default: drawn from ``config.root`` on first use).
    """

    def __init__(
        self,
        config: ZeroCostConfig | None = None,
        test_benchmark: Benchmark | None = None,
        minibatch: Minibatch | None = None,
    ) -> None:
        self.config = c = config or ZeroCostConfig()
        self._test = test_benchmark
        self._minibatch = minibatch
        self.deterministic = c.source == "table"
        if c.source == "table":
            table = Benchmark.open(c.store)
            self.benchmark_name = table.name
            scores = np.array(table.zero_cost(c.proxy, c.dataset), dtype=np.float64)
            scores[np.isnan(scores)] = -np.inf
            self._scores, self._costs = scores, np.asarray(table.zero_cost_seconds(c.proxy, c.dataset))
            self._score_list, self._cost_list = scores.tolist(), self._costs.tolist()
        else:
            self.benchmark_name = f"live:{c.root}"

    def minibatch(self) -> Minibatch:
        """Return the live source's minibatch (loading the dataset on first use)."""
        if self._minibatch is None:
            from nb201_env.training.splits import load_splits
            from nb201_env.zero_cost.minibatch import draw_minibatch

            c = self.config
            train = "cifar10-valid" if c.dataset == "cifar10" else c.dataset
            assert c.root is not None
            splits = load_splits(train, c.root, cache_dir=c.data_cache_dir)
            self._minibatch = draw_minibatch(splits, c.minibatch_seed)
        return self._minibatch

    def evaluate(self, index: int, rng: np.random.Generator) -> Evaluation:
        """Return the proxy's score of one architecture and the seconds it cost (rng unused: scores are fixed)."""
        if self.config.source == "table":
            cost = self._cost_list[index]
            if cost != cost:
                self._missing(np.array([index]))
            return Evaluation(self._score_list[index], cost)
        from nb201_env.zero_cost.scorer import score

        c = self.config
        result = score(int(index), self.minibatch(), c.seed, (c.proxy,), c.device)
        value = result.scores[c.proxy]
        return Evaluation(value if value == value else -np.inf, result.wall_seconds[c.proxy])

    def evaluate_many(self, indices: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return the scores and costs of many architectures."""
        idx = np.asarray(indices, dtype=np.int64).ravel()
        if self.config.source == "table":
            costs = self._costs[idx]
            if np.isnan(costs).any():
                self._missing(idx[np.isnan(costs)])
            return self._scores[idx], costs
        pairs = [self.evaluate(int(i), rng) for i in idx]
        return np.array([p.accuracy for p in pairs]), np.array([p.cost for p in pairs])

    def scored(self) -> np.ndarray:
        """Return the architectures the table has a score for (all of them once its build is finished)."""
        if self.config.source == "live":
            return np.arange(len(all_ops()))
        return np.flatnonzero(~np.isnan(self._costs))

    def _missing(self, indices: np.ndarray) -> None:
        have = int(np.count_nonzero(~np.isnan(self._costs)))
        raise MissingValueError(
            f"{self.benchmark_name!r} has no {self.config.proxy} score for arch {int(indices[0])} (it covers {have:,} "
            "of 15,625 cells: an unfinished build); finish it with `nb201 build-zero-cost` or use source='live'"
        )

    def test_accuracy(self, index: int) -> float:
        """Return the paper's test accuracy of the architecture (reports only; never a search signal)."""
        if self._test is None:
            self._test = Benchmark.open()
        return self._test.test_accuracy(index, self.config.dataset)

    def describe(self) -> dict[str, Any]:
        """Describe the signal and its cost for ``info`` and reports."""
        c = self.config
        return {
            "evaluator": "zero-cost",
            "benchmark": self.benchmark_name,
            "dataset": c.dataset,
            "signal": f"zero-cost proxy {c.proxy} (higher is better; undefined scores are -inf)",
            "source": c.source,
            "seed": c.seed,
            "cost": "recorded single-thread CPU seconds of computing the score"
            if c.source == "table"
            else "measured wall seconds of computing the score",
            "cost_is_estimate": False,
        }
