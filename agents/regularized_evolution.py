"""Regularized (aging) evolution, the NB201 ``REA`` baseline.

What it is
    Real et al., "Regularized Evolution for Image Classifier Architecture Search" (AAAI 2019), Algorithm 1,
    as run in NAS-Bench-201 (``exps/NAS-Bench-201-algos/R_EA.py`` and ``scripts-search/NAS-Bench-201-algos/
    R-EA.sh`` in D-X-Y/AutoDL-Projects; ``exps/NATS-algos/regularized_ea.py`` for NATS-Bench):

    1. evaluate ``population_size`` uniformly random cells; they form the population (a FIFO queue);
    2. repeat until the budget is spent: draw ``sample_size`` members uniformly *with replacement*, take
       the one with the best validation accuracy as parent, mutate one edge (the official NB201 mutation:
       a uniform node 1..3, then a uniform incoming edge of it, then a different op chosen uniformly),
       evaluate the child, append it and drop the *oldest* member (aging, not the worst).

    The reported architecture is the best by validation accuracy over all evaluated cells (the history),
    as in the reference.

Reference settings
    ``--ea_population 10 --ea_sample_size 3`` (R-EA.sh is run with sample size 3; NATS run-all.sh passes
    ``--ea_population 10 --ea_sample_size 3``), budget 12,000 s on CIFAR-10 validation after 12 epochs.
    ``--ea_cycles 200`` is ignored there too: the loop is ended by the time budget.

Deviations
    Cells evaluated again (a mutation back to a known cell) are answered by the environment from the first
    result and, under the default ``charge_repeats=False``, cost no time; the reference pays again and may
    see another seed. The reference charges the initial population even past the budget; here every
    evaluation follows the environment's budget rule (``"nb201"``: the one that would cross the budget is
    not performed).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents.common import SearchResult, run_search
from nb201_env.neighbours import MUTATION_SCHEMES, mutate
from nb201_env.space import NUM_ARCHS, all_ops

ENV_ID = "NASBench201-OneShot-v0"


@dataclass(frozen=True)
class Args:
    """Settings of regularized evolution (defaults: the NB201 reference)."""

    population_size: int = 10
    """Members kept in the population; also the number of random cells evaluated first."""
    sample_size: int = 3
    """Tournament size: members drawn (with replacement) to pick the parent."""
    mutation: str = "nb201"
    """Which edge a mutation changes: ``"nb201"`` (uniform node, then uniform incoming edge) or ``"uniform"``."""

    def __post_init__(self) -> None:
        if not isinstance(self.population_size, int) or self.population_size < 1:
            raise ValueError(f"population_size must be an int >= 1, got {self.population_size!r}")
        if not isinstance(self.sample_size, int) or not 1 <= self.sample_size <= self.population_size:
            raise ValueError(
                f"sample_size must be an int in 1..population_size ({self.population_size}), got {self.sample_size!r}"
            )
        if self.mutation not in MUTATION_SCHEMES:
            raise ValueError(f"unknown mutation {self.mutation!r}; valid choices are: {', '.join(MUTATION_SCHEMES)}")


class RegularizedEvolution:
    """Aging evolution over official indices (ask/tell; randomness only from the seeded generator)."""

    name = "rea"

    def __init__(self, args: Args, seed: int) -> None:
        self.args = args
        self.rng = np.random.default_rng(seed)
        self.ops = all_ops()
        # parallel deques of (arch, validation accuracy), oldest on the left
        self.pop_archs: deque[int] = deque(maxlen=args.population_size)
        self.pop_accs: deque[float] = deque(maxlen=args.population_size)
        self.settings: dict[str, Any] = {**asdict(args), "reference": "NB201 R-EA (AutoDL-Projects R_EA.py)"}

    def ask(self) -> np.ndarray:
        """Return a random cell while the population fills, then a mutated tournament winner."""
        a = self.args
        if len(self.pop_archs) < a.population_size:
            return self.ops[int(self.rng.integers(NUM_ARCHS))]
        picks = self.rng.integers(a.population_size, size=a.sample_size).tolist()
        accs = self.pop_accs
        parent = max(picks, key=accs.__getitem__)  # ties: the first drawn, like max() in the reference
        child = mutate(self.pop_archs[parent], self.rng, scheme=a.mutation)
        return self.ops[child]

    def tell(self, action: np.ndarray, info: dict[str, Any]) -> None:
        """Add the evaluated cell; the bounded deque drops the oldest member (aging)."""
        self.pop_archs.append(info["arch"])
        self.pop_accs.append(info["valid_accuracy"])


def search(env: gym.Env, args: Args, seed: int) -> SearchResult:
    """Run one regularized evolution through ``env`` until its budget is spent."""
    return run_search(env, RegularizedEvolution(args, seed), seed)
