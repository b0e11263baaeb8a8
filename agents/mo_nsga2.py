"""NSGA-II (Optuna's ``NSGAIISampler``, ask/tell) on ``NASBench201-MO-OneShot-v0``: an evolutionary MO searcher.

What it is
    Deb et al., "A Fast and Elitist Multiobjective Genetic Algorithm: NSGA-II" (IEEE TEC 2002), as
    implemented by Optuna: generations of ``population_size`` cells; parents by binary tournament on
    non-dominated rank and crowding distance; uniform crossover of the six categorical edges
    (``agents/optuna_space.py``) with probability ``crossover_prob``, then each edge mutated to a random
    op with probability ``1/6`` (Optuna's default for six parameters); the next population is the best
    ``population_size`` of parents and children by rank and crowding. The first generation is random.

    The objectives are the env's (``env.unwrapped.objectives``): validation accuracy is maximized and
    every cost minimized, in natural units, read from ``info["objectives"]`` (public API). What the run
    found is the Pareto front of its evaluations (``info["pareto_archs"]``).

Reference settings
    Optuna's defaults (``population_size=50``, ``crossover_prob=0.9``, ``swapping_prob=0.5``), seeded by
    the run's seed.

Deviations
    As for TPE (``agents/optuna_tpe.py``): a cell proposed again is told its known objectives from memory
    without a step of the environment, and ``max_repeats`` such proposals in a row end the run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents.common import SearchResult, run_search
from agents.optuna_space import ask_unseen, cell_distributions, import_optuna
from nb201_env.validate import check_int

ENV_ID = "NASBench201-MO-OneShot-v0"
MULTI_OBJECTIVE = True  # the harness passes the sweep's objectives to the env


@dataclass(frozen=True)
class Args:
    """Settings of NSGA-II (defaults: Optuna's)."""

    population_size: int = 50
    """Cells per generation (the first generation is uniformly random)."""
    crossover_prob: float = 0.9
    """Probability that a child is a crossover of two parents (else a copy of one, then mutated)."""
    max_repeats: int = 100
    """Proposals of already evaluated cells in a row after which the run stops (converged)."""

    def __post_init__(self) -> None:
        for name, low in (("population_size", 2), ("max_repeats", 1)):
            check_int(name, getattr(self, name), low=low)
        if not 0.0 <= self.crossover_prob <= 1.0:
            raise ValueError(f"crossover_prob must be a number in [0, 1], got {self.crossover_prob!r}")


class OptunaNSGA2:
    """NSGA-II through a multi-objective Optuna study (ask/tell), with repeats answered from memory."""

    name = "nsga2"

    def __init__(self, args: Args, seed: int, objectives: tuple[str, ...]) -> None:
        optuna = import_optuna()
        self.args = args
        self.objectives = objectives
        sampler = optuna.samplers.NSGAIISampler(
            population_size=args.population_size, crossover_prob=args.crossover_prob, seed=seed
        )
        directions = ["maximize" if n == "valid_accuracy" else "minimize" for n in objectives]
        self.study = optuna.create_study(study_name=f"nsga2-{seed}", directions=directions, sampler=sampler)
        self.space = cell_distributions(optuna)
        self.known: dict[tuple[int, ...], list[float]] = {}  # cell -> objective values
        self.trial: Any = None
        self.done = False
        self.settings: dict[str, Any] = {
            **asdict(args),
            "objectives": list(objectives),
            "optuna": optuna.__version__,
            "reference": "Optuna NSGAIISampler (NSGA-II, Deb et al. 2002)",
        }

    def ask(self) -> np.ndarray:
        """Return the next cell NSGA-II proposes that this run has not evaluated yet."""
        self.trial, ops = ask_unseen(self.study, self.space, self.known, self.args.max_repeats)
        if self.trial is not None:
            return ops
        self.done = True  # converged: let the environment answer the repeat (free) and end the run
        self.settings["stopped"] = f"{self.args.max_repeats} proposals in a row were cells already evaluated"
        return ops

    def tell(self, action: np.ndarray, info: dict[str, Any]) -> None:
        """Tell the study the cell's objective values (validation accuracy and costs)."""
        values = [float(info["objectives"][n]) for n in self.objectives]
        self.known.setdefault(tuple(np.asarray(action)[:6].tolist()), values)
        if self.trial is not None:
            self.study.tell(self.trial, values)
            self.trial = None


def search(env: gym.Env, args: Args, seed: int) -> SearchResult:
    """Run NSGA-II through the multi-objective ``env`` until its budget is spent."""
    return run_search(env, OptunaNSGA2(args, seed, tuple(env.unwrapped.objectives)), seed)
