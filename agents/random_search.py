"""Random search: evaluate uniformly random cells until the time budget is spent.

What it is
    The NB201 ``RANDOM`` baseline (``exps/NAS-Bench-201-algos/RANDOM.py`` in D-X-Y/AutoDL-Projects and
    ``exps/NATS-algos/random_wo_share.py`` for NATS-Bench): draw an architecture uniformly from the 15,625
    cells, train it (here: look up its 12-epoch validation accuracy and pay its recorded training time on
    the simulated clock), repeat until the budget is spent, and report the cell with the best *validation*
    accuracy.

Reference settings
    Sampling with replacement, uniform over the six edges' ops (equivalently uniform over the official
    indices). No other hyperparameters.

Deviations
    A cell drawn twice is answered by the environment from its first result; under the default
    ``charge_repeats=False`` the repeat costs no simulated time (the reference re-queries the API and pays
    again). ``Args.deduplicate=True`` skips cells already evaluated in this run instead (not the reference).

    python -c "import gymnasium as gym, nb201_env; from agents import random_search as a; \\
        print(a.search(gym.make(a.ENV_ID, protocol='nb201'), a.Args(), seed=0).best_arch)"
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents.common import SearchResult, run_search
from nb201_env.space import NUM_ARCHS, all_ops

ENV_ID = "NASBench201-OneShot-v0"


@dataclass(frozen=True)
class Args:
    """Settings of random search."""

    deduplicate: bool = False
    """Skip cells already evaluated in this run (False = sample with replacement, as the reference)."""

    def __post_init__(self) -> None:
        if not isinstance(self.deduplicate, bool):
            raise TypeError(f"deduplicate must be True or False, got {self.deduplicate!r}")


class RandomSearch:
    """Propose uniformly random cells (ask/tell; randomness only from the seeded generator)."""

    name = "random"

    def __init__(self, args: Args, seed: int) -> None:
        self.args = args
        self.rng = np.random.default_rng(seed)
        self.ops = all_ops()
        self.seen: set[int] = set()
        self.settings: dict[str, Any] = {**asdict(args), "reference": "NB201 RANDOM (sampling with replacement)"}

    def ask(self) -> np.ndarray:
        """Return the op ids of a uniformly random cell."""
        index = int(self.rng.integers(NUM_ARCHS))
        if self.args.deduplicate and len(self.seen) < NUM_ARCHS:
            while index in self.seen:
                index = int(self.rng.integers(NUM_ARCHS))
        return self.ops[index]

    def tell(self, action: np.ndarray, info: dict[str, Any]) -> None:
        """Remember the evaluated cell (only needed to deduplicate)."""
        self.seen.add(info["arch"])


def search(env: gym.Env, args: Args, seed: int) -> SearchResult:
    """Run one random search through ``env`` until its budget is spent."""
    return run_search(env, RandomSearch(args, seed), seed)
