"""NASWOT: score N random cells with the training-free NASWOT score and report the best, no training at all.

What it is
    Mellor et al., "Neural Architecture Search without Training", ICML 2021, Algorithm 1 (``search.py`` in
    BayesWatch/nas-without-training): draw ``n_samples`` cells uniformly at random (with replacement), score each
    with ``naswot`` (the log-determinant of the ReLU-code kernel of one minibatch at initialisation) and report
    the one with the highest score (NaN scores rank last). It trains nothing.

Reference settings
    N = 10, 100 or 1000 (Table 2 of the paper), batch 128 from CIFAR-10's training images, one score per cell.
    The paper reports the CIFAR-10 test accuracy (200 epochs, ``ori-test``) of the chosen cell.

Deviations
    Scores come from the bundled table ``nb201-zero-cost`` (computed by ``nb201_env.zero_cost`` with the same
    definition; its minibatch is fixed for every cell, as the reference reseeds its loader per cell), and every
    score is charged its recorded single-thread CPU seconds on the simulated clock, so N=1000 costs ~1,000 s of
    search instead of the reference's GPU seconds. A cell drawn twice is scored once (free under the default
    ``charge_repeats=False``).

    python -c "import gymnasium as gym, nb201_env; from agents import naswot as a; \\
        env = gym.make(a.ENV_ID, evaluator=a.make_evaluator(nb201_env.Benchmark.open(), 'cifar10'), budget=1e9); \\
        print(a.search(env, a.Args(n_samples=100), seed=0).best_arch)"
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from agents.common import SearchResult, run_search
from nb201_env.benchmark import Benchmark
from nb201_env.names import check_choice
from nb201_env.space import NUM_ARCHS, all_ops
from nb201_env.validate import check_int
from nb201_env.zero_cost.evaluator import ZeroCostConfig, ZeroCostEvaluator

ENV_ID = "NASBench201-OneShot-v0"
SIGNAL = "score"  # what the env's valid_accuracy holds: the proxy's score (the harness records it so)


@dataclass(frozen=True)
class Args:
    """Settings of NASWOT (defaults: the paper's N = 100 on the bundled naswot scores)."""

    n_samples: int = 100
    """N: cells drawn and scored; the search stops after them."""
    proxy: str = "naswot"
    """The zero-cost proxy that scores the cells (any of ``nb201_env.zero_cost.PROXIES``)."""
    store: str = "nb201-zero-cost"
    """The zero-cost table the scores come from."""
    cells: Literal["space", "scored"] = "space"
    """Draw from the whole space (the paper) or from the cells an unfinished table has scored."""

    def __post_init__(self) -> None:
        check_int("n_samples", self.n_samples, low=1)
        check_choice("cells", self.cells, ("space", "scored"))
        ZeroCostConfig(proxy=self.proxy, store=self.store)  # refuses an unknown proxy by name


def make_evaluator(
    bench: Benchmark, dataset: str, args: Args | None = None, schedule: int | None = None
) -> ZeroCostEvaluator:
    """Return the evaluator of the search: the proxy's score and cost, test accuracies from ``bench``.

    ``schedule`` is unused (nothing is trained); it is accepted like every agent's ``make_evaluator``.
    """
    args = args or Args()
    return ZeroCostEvaluator(ZeroCostConfig(proxy=args.proxy, dataset=dataset, store=args.store), test_benchmark=bench)


class Naswot:
    """Propose ``n_samples`` uniformly random cells, then stop; the best score is the answer (ask/tell)."""

    name = "naswot"

    def __init__(self, args: Args, seed: int, cells: np.ndarray | None = None) -> None:
        self.args = args
        self.rng = np.random.default_rng(seed)
        self.ops = all_ops()
        self.cells = np.arange(NUM_ARCHS) if cells is None else np.asarray(cells, dtype=np.int64)
        if len(self.cells) == 0:
            raise ValueError("naswot: no cells to draw from (the zero-cost table has scored none)")
        self.proposed = 0
        self.settings: dict[str, Any] = {**asdict(args), "reference": "NASWOT (Mellor et al. ICML 2021) Alg. 1"}
        if cells is not None:
            self.settings["pool"] = len(self.cells)

    @property
    def done(self) -> bool:
        return self.proposed >= self.args.n_samples

    def ask(self) -> np.ndarray:
        """Return a uniformly random cell."""
        self.proposed += 1
        return self.ops[int(self.cells[self.rng.integers(len(self.cells))])]

    def tell(self, action: np.ndarray, info: dict[str, Any]) -> None:
        """Nothing to learn: the score is kept in the trajectory."""


def search(env: gym.Env, args: Args, seed: int) -> SearchResult:
    """Score ``args.n_samples`` random cells through ``env`` (a zero-cost evaluator) and report the best."""
    cells = None
    if args.cells == "scored":
        evaluator = env.unwrapped.evaluator  # type: ignore[attr-defined]
        if not isinstance(evaluator, ZeroCostEvaluator):
            raise ValueError(f"naswot cells='scored' needs a ZeroCostEvaluator, the env has {type(evaluator).__name__}")
        cells = evaluator.scored()
    return run_search(env, Naswot(args, seed, cells), seed)
