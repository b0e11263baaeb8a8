"""Local search: hill climbing over the 24 single-edge neighbours, restarting at local optima.

What it is
    The simple local search of White, Nolen & Savani, "Local Search is State of the Art for Neural
    Architecture Search Benchmarks" (arXiv:2005.02960), on the NB201 cell space:

    1. start at a uniformly random cell and evaluate it;
    2. evaluate its neighbours (``nb201_env.neighbours.neighbours``: the 24 cells differing in one edge);
       * ``strategy="best"`` (best improvement, the default): evaluate all 24, then move to the best
         one if it is strictly better than the current cell;
       * ``strategy="first"`` (first improvement): evaluate them in random order and move to the first
         strictly better one;
    3. when no neighbour is better the cell is a local optimum: restart from a new uniformly random cell.

    Cells already evaluated in this run are not proposed again (their accuracy is remembered), so the
    clock is spent on new cells only. The reported architecture is the best by validation accuracy over
    all evaluated cells; once a climb has finished around it, it is a local optimum.

Reference settings
    No hyperparameters beyond the strategy; the paper's experiments on NB201 use the full neighbourhood
    (best improvement) and random restarts.

Deviations
    None in the algorithm. The search cannot end by itself if the budget exceeds the cost of the whole
    space (every cell known): it then proposes its best cell again, a free repeat.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents.common import SearchResult, run_search
from nb201_env.neighbours import neighbour_table
from nb201_env.space import NUM_ARCHS, all_ops

ENV_ID = "NASBench201-OneShot-v0"
STRATEGIES = ("best", "first")


@dataclass(frozen=True)
class Args:
    """Settings of local search."""

    strategy: str = "best"
    """``"best"``: scan all 24 neighbours, then move to the best; ``"first"``: move at the first improvement."""

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; valid choices are: {', '.join(STRATEGIES)}")


class LocalSearch:
    """Hill climbing with random restarts (ask/tell; randomness only from the seeded generator)."""

    name = "local"

    def __init__(self, args: Args, seed: int) -> None:
        self.args = args
        self.rng = np.random.default_rng(seed)
        self.ops = all_ops()
        self.table = neighbour_table()
        self.known: dict[int, float] = {}  # validation accuracy of every cell evaluated in this run
        self.current = -1  # the cell whose neighbourhood is being scanned (-1: none yet)
        self.pending: list[int] = []  # its neighbours still to look at, next one last
        self.best_neighbour = -1  # the best neighbour seen in this scan (best improvement)
        self.candidate = -1  # the cell last proposed
        self.local_optima: list[int] = []
        self.settings: dict[str, Any] = {**asdict(args), "reference": "White et al. 2020 local search"}

    def ask(self) -> np.ndarray:
        """Return the next cell to evaluate: a neighbour of the current cell or a restart."""
        for _ in range(4 * NUM_ARCHS):  # each pass settles a known cell; bounded in case every cell is known
            index = self._next_candidate()
            if index not in self.known:
                self.candidate = index
                return self.ops[index]
            self._accept(index)
        self.candidate = -1  # nothing new left: repeat the best cell (free under charge_repeats=False)
        return self.ops[self.best_arch()]

    def tell(self, action: np.ndarray, info: dict[str, Any]) -> None:
        """Remember the accuracy of the evaluated cell and advance the climb."""
        index = info["arch"]
        self.known.setdefault(index, info["valid_accuracy"])
        if index == self.candidate:
            self._accept(index)

    def best_arch(self) -> int:
        """Return the evaluated cell with the best validation accuracy."""
        return max(self.known, key=self.known.__getitem__) if self.known else -1

    def _next_candidate(self) -> int:
        """Return the cell the climb looks at next (a restart when there is no current cell)."""
        if self.current < 0:
            return int(self.rng.integers(NUM_ARCHS))
        return self.pending[-1]

    def _accept(self, index: int) -> None:
        """Fold the (now known) accuracy of ``index`` into the climb."""
        acc = self.known[index]
        if self.current < 0:  # a restart point: scan its neighbourhood
            self._move_to(index)
            return
        self.pending.pop()
        better = acc > self.known[self.current]
        if self.args.strategy == "first" and better:
            self._move_to(index)
            return
        if better and (self.best_neighbour < 0 or acc > self.known[self.best_neighbour]):
            self.best_neighbour = index
        if not self.pending:  # neighbourhood done: move to the best improvement or restart
            if self.best_neighbour >= 0:
                self._move_to(self.best_neighbour)
            else:
                if self.current not in self.local_optima:  # a restart may land on a known optimum again
                    self.local_optima.append(self.current)
                self.current = -1
                self.settings["local_optima"] = len(self.local_optima)

    def _move_to(self, index: int) -> None:
        """Make ``index`` the current cell and queue its neighbours (random order for first improvement)."""
        self.current = index
        self.best_neighbour = -1
        neighbours = self.table[index]
        # pending is popped from the end: reversed table order, or a random order for first improvement
        order = self.rng.permutation(neighbours) if self.args.strategy == "first" else neighbours[::-1]
        self.pending = order.tolist()


def search(env: gym.Env, args: Args, seed: int) -> SearchResult:
    """Run one local search through ``env`` until its budget is spent."""
    return run_search(env, LocalSearch(args, seed), seed)
