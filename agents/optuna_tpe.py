"""Optuna's TPE sampler over the six edges (ask/tell): a model-based baseline from a library people use.

What it is
    Bergstra et al., "Algorithms for Hyper-Parameter Optimization" (NeurIPS 2011), the Tree-structured
    Parzen Estimator, as implemented by Optuna's ``TPESampler``: each edge is a categorical parameter over
    the five op names (``agents/optuna_space.py``); the first ``n_startup_trials`` cells are uniformly
    random, then each cell maximizes the ratio of the densities of good and bad trials (top ``gamma``
    of the validation accuracies seen). It runs through Optuna's ask/tell interface on
    ``NASBench201-OneShot-v0``, so the environment's clock and budget rule apply as for every other agent.

Reference settings
    Optuna's defaults (``n_startup_trials=10``, ``n_ei_candidates=24``), seeded by the run's seed, except
    ``multivariate=True``: one joint density over the six edges instead of one per edge. On this space the
    univariate default proposes already evaluated cells about as often as new ones and costs ~7x more
    time per run (3.0 s against 0.43 s for ~93 evaluations on this CPU); the harness runs both (``tpe``
    and ``tpe_univariate``). NB201 (Table 5) has no TPE row; its BOHB row (93.61 +- 0.52) is the nearest
    model-based baseline.

Deviations and choices
    Optuna keeps its own random state, seeded from the run's seed (no other randomness). A cell TPE
    proposes again is answered from this run's memory without a step of the environment (a cached
    objective, costing nothing, as the environment's default ``charge_repeats=False`` would) and told to
    the study with its known accuracy. After ``max_repeats`` such proposals in a row the run stops early
    (``settings["stopped"]``): TPE has converged and further proposals would not spend the budget.

    python -c "import gymnasium as gym, nb201_env; from agents import optuna_tpe as a; \\
        print(a.search(gym.make(a.ENV_ID, protocol='nb201'), a.Args(), seed=0).best_arch)"
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents.common import SearchResult, run_search
from agents.optuna_space import ask_unseen, cell_distributions, import_optuna
from nb201_env.validate import check_bool, check_int

ENV_ID = "NASBench201-OneShot-v0"


@dataclass(frozen=True)
class Args:
    """Settings of TPE (defaults: Optuna's, but multivariate)."""

    n_startup_trials: int = 10
    """Uniformly random cells before the density model is used."""
    n_ei_candidates: int = 24
    """Candidates drawn from the good-trial density per parameter; the best ratio is proposed."""
    multivariate: bool = True
    """Model the six edges jointly (Optuna's multivariate TPE); False: one density per edge (Optuna's default)."""
    max_repeats: int = 100
    """Proposals of already evaluated cells in a row after which the run stops (converged)."""

    def __post_init__(self) -> None:
        for name in ("n_startup_trials", "n_ei_candidates", "max_repeats"):
            check_int(name, getattr(self, name), low=1)
        check_bool("multivariate", self.multivariate)


class OptunaTPE:
    """TPE through an Optuna study (ask/tell), with repeats answered from memory."""

    name = "tpe"

    def __init__(self, args: Args, seed: int) -> None:
        optuna = import_optuna()
        self.args = args
        sampler = optuna.samplers.TPESampler(
            n_startup_trials=args.n_startup_trials,
            n_ei_candidates=args.n_ei_candidates,
            multivariate=args.multivariate,
            seed=seed,
        )
        self.study = optuna.create_study(study_name=f"tpe-{seed}", direction="maximize", sampler=sampler)
        self.space = cell_distributions(optuna)
        self.known: dict[tuple[int, ...], float] = {}  # cell -> validation accuracy
        self.trial: Any = None
        self.done = False
        self.settings: dict[str, Any] = {**asdict(args), "optuna": optuna.__version__, "reference": "Optuna TPESampler"}

    def ask(self) -> np.ndarray:
        """Return the next cell TPE proposes that this run has not evaluated yet."""
        self.trial, ops = ask_unseen(self.study, self.space, self.known, self.args.max_repeats)
        if self.trial is not None:
            return ops
        self.done = True
        self.settings["stopped"] = f"{self.args.max_repeats} proposals in a row were cells already evaluated"
        return ops

    def tell(self, action: np.ndarray, info: dict[str, Any]) -> None:
        """Tell the study the cell's validation accuracy."""
        accuracy = info["valid_accuracy"]
        self.known.setdefault(tuple(np.asarray(action)[:6].tolist()), accuracy)
        if self.trial is not None:
            self.study.tell(self.trial, accuracy)
            self.trial = None


def search(env: gym.Env, args: Args, seed: int) -> SearchResult:
    """Run one TPE search through ``env`` until its budget is spent."""
    return run_search(env, OptunaTPE(args, seed), seed)
