"""Regularized evolution guided by a zero-cost proxy: warm-up and move proposal, every screening paid for.

What it is
    The NB201 ``REA`` baseline (``agents/regularized_evolution.py``) with the two uses of a zero-cost proxy that
    Abdelfattah et al. evaluate in "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021, Section 5):

    * *warm-up*: score ``warmup_pool`` random cells with the proxy and fill the initial population with the
      ``population_size`` best-scoring ones (instead of random cells);
    * *move proposal*: at each step mutate the tournament winner ``candidates`` times, score the children with the
      proxy and train only the best-scoring one.

    Training is the usual signal (recorded 12-epoch validation accuracy and training time); the proxy scores come
    from the bundled table ``nb201-zero-cost``.

Reference settings
    Population 10, tournament 3 and the NB201 mutation, as REA; synflow as the proxy (the paper's best on NB201);
    ``warmup_pool`` 3000 and one proposal per step in the paper's warm-up experiment. Defaults here: pool 100 and 10
    candidates per step, because every screening is charged (below) where the paper took proxies as free.

Deviations
    Every proxy score is charged its recorded seconds on the simulated clock, added to the next training
    (:class:`nb201_env.zero_cost.screening.ScreenedEvaluator`): a 3000-cell warm-up with synflow costs ~10 minutes
    of the 12,000 s budget.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents.common import SearchResult, run_search
from nb201_env.benchmark import Benchmark
from nb201_env.evaluators import TabularConfig, TabularEvaluator
from nb201_env.neighbours import mutate
from nb201_env.space import NUM_ARCHS, all_ops
from nb201_env.validate import check_int
from nb201_env.zero_cost.evaluator import ZeroCostConfig, ZeroCostEvaluator
from nb201_env.zero_cost.screening import ScreenedEvaluator

ENV_ID = "NASBench201-OneShot-v0"


@dataclass(frozen=True)
class Args:
    """Settings of zero-cost-guided regularized evolution."""

    population_size: int = 10
    """Members kept in the population (aging)."""
    sample_size: int = 3
    """Tournament size (drawn with replacement)."""
    proxy: str = "synflow"
    """The zero-cost proxy that screens candidates."""
    warmup_pool: int = 100
    """Random cells scored to pick the initial population (0: a random initial population)."""
    candidates: int = 10
    """Children of each tournament winner scored per step; the best-scoring one is trained (1: plain REA)."""
    store: str = "nb201-zero-cost"
    """The zero-cost table the scores come from."""

    def __post_init__(self) -> None:
        check_int("population_size", self.population_size, low=1)
        check_int("sample_size", self.sample_size, low=1, high=self.population_size)
        check_int("warmup_pool", self.warmup_pool, low=0)
        check_int("candidates", self.candidates, low=1)
        ZeroCostConfig(proxy=self.proxy, store=self.store)  # refuses an unknown proxy by name


def make_evaluator(
    bench: Benchmark, dataset: str, args: Args | None = None, schedule: int | None = None
) -> ScreenedEvaluator:
    """Return the search's evaluator: lookup training on ``bench`` with a proxy screener beside it."""
    args = args or Args()
    trainer = TabularEvaluator(bench, TabularConfig(dataset=dataset, schedule=schedule))
    screener = ZeroCostEvaluator(ZeroCostConfig(proxy=args.proxy, dataset=dataset, store=args.store), bench)
    return ScreenedEvaluator(trainer, screener)


class ZeroCostREA:
    """Aging evolution whose initial population and children are chosen by proxy scores (ask/tell)."""

    name = "rea_zero_cost"

    def __init__(self, args: Args, seed: int, screener: ScreenedEvaluator) -> None:
        self.args = args
        self.rng = np.random.default_rng(seed)
        self.screener = screener
        self.ops = all_ops()
        self.pop_archs: deque[int] = deque(maxlen=args.population_size)
        self.pop_accs: deque[float] = deque(maxlen=args.population_size)
        self.initial: list[int] = []
        if args.warmup_pool:
            pool = self.rng.integers(NUM_ARCHS, size=args.warmup_pool)
            scores = screener.screen(pool, self.rng)
            self.initial = [int(a) for a in pool[np.argsort(-scores, kind="stable")][: args.population_size]]
        self.settings: dict[str, Any] = {**asdict(args), "reference": "REA + zero-cost warm-up and move proposal"}

    def ask(self) -> np.ndarray:
        """Return the next warm-up cell, a random cell, or the best-scoring child of a tournament winner."""
        a = self.args
        if len(self.pop_archs) < a.population_size:
            if self.initial:
                return self.ops[self.initial.pop(0)]
            return self.ops[int(self.rng.integers(NUM_ARCHS))]
        picks = self.rng.integers(a.population_size, size=a.sample_size).tolist()
        parent = self.pop_archs[max(picks, key=self.pop_accs.__getitem__)]
        children = np.array([mutate(parent, self.rng) for _ in range(a.candidates)], dtype=np.int64)
        if a.candidates > 1:
            children = children[[int(np.argmax(self.screener.screen(children, self.rng)))]]
        return self.ops[int(children[0])]

    def tell(self, action: np.ndarray, info: dict[str, Any]) -> None:
        """Add the trained cell; the bounded deque drops the oldest member."""
        self.pop_archs.append(info["arch"])
        self.pop_accs.append(info["valid_accuracy"])


def search(env: gym.Env, args: Args, seed: int) -> SearchResult:
    """Run one zero-cost-guided evolution through ``env``, whose evaluator must be a :class:`ScreenedEvaluator`."""
    screener = env.unwrapped.evaluator
    if not isinstance(screener, ScreenedEvaluator):
        raise TypeError(
            f"{__name__} needs an env made with evaluator=make_evaluator(...), got {type(screener).__name__}"
        )
    screener.clear()  # nothing of an earlier run on this env is charged to this one
    return run_search(env, ZeroCostREA(args, seed, screener), seed)
