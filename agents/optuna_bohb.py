"""BOHB-style search: Optuna's TPE sampler with its Hyperband pruner over the epochs the environment offers.

What it is
    Falkner et al., "BOHB: Robust and Efficient Hyperparameter Optimization at Scale" (ICML 2018) combine
    Hyperband's brackets with a TPE-like density model. Here it is built from Optuna's parts, as Optuna
    users do: ``TPESampler`` proposes cells (six categorical edges, ``agents/optuna_space.py``) and
    ``HyperbandPruner`` (asynchronous successive halving in ``floor(log_eta(max/min)) + 1`` brackets; each
    trial is assigned a bracket, and TPE models only the trials of its bracket) stops poor cells early.

    The resource is the number of epochs trained. The rungs are the offered epochs that follow the
    geometric ladder (``agents.hyperband.rung_ladder``; epochs 0, 3 and 11 of the 12-epoch schedule, i.e.
    1, 4 and 12 epochs, the NATS-Bench BOHB budgets). A trial starts at the first rung its bracket can stop
    it at, is judged there (the env's ``fidelities`` action entry; it pays training to that epoch only),
    reports the validation accuracy as the intermediate value at step ``epoch + 1``, and goes on to the
    next rung unless the pruner stops it; at the top rung it completes with that accuracy. Only full-
    fidelity evaluations become the incumbent.

Reference settings
    ``eta=3`` (HpBandSter's and NATS-Bench's BOHB), multivariate TPE (BOHB's model is a multivariate
    KDE), ``n_startup_trials=10``. The NB201 paper reports BOHB at 93.61 +- 0.52 (CIFAR-10 test, Table 5).

Deviations
    A trial that continues is retrained from scratch to the next rung and pays the full cost of it (the
    tabular environment has no checkpoints; NATS-Bench's BOHB pays each budget in full too). Pruning is
    Optuna's asynchronous successive halving (a trial continues when it is in the top ``1/eta`` of the
    trials of its bracket that reached the rung so far), not BOHB's synchronous brackets. The bracket of a
    trial is read from the pruner (``HyperbandPruner._get_bracket_id``, Optuna's own assignment). A cell
    already judged at an epoch is answered from memory (no env step, no cost).

Degenerate case
    With one offered epoch (the public store holds only the final 12-epoch accuracy) there is one rung and
    no pruning: the agent is TPE, and ``settings["degraded"]`` says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents.common import SearchResult, run_search
from agents.hyperband import rung_ladder
from agents.optuna_space import cell_distributions, import_optuna, ops_of
from nb201_env.validate import check_bool, check_int

ENV_ID = "NASBench201-OneShot-v0"
USES_FIDELITIES = True  # the harness makes the env with fidelities = the store's recorded epochs


@dataclass(frozen=True)
class Args:
    """Settings of the BOHB-style search."""

    eta: int = 3
    """Reduction factor: each rung keeps the best ``1/eta`` and gives them about ``eta`` times the epochs."""
    n_startup_trials: int = 10
    """Uniformly random cells (per bracket) before TPE's density model is used."""
    multivariate: bool = True
    """Model the six edges jointly (BOHB's multivariate KDE) rather than one density per edge."""
    max_repeats: int = 100
    """Proposals in a row that need no evaluation (all known) after which the run stops (converged)."""

    def __post_init__(self) -> None:
        for name, low in (("eta", 2), ("n_startup_trials", 1), ("max_repeats", 1)):
            check_int(name, getattr(self, name), low=low)
        check_bool("multivariate", self.multivariate)


class OptunaBOHB:
    """TPE + Hyperband pruning through an Optuna study (ask/tell), one evaluation per rung."""

    name = "bohb"

    def __init__(self, args: Args, seed: int, fidelities: tuple[int, ...] | None, full_epoch: int) -> None:
        optuna = import_optuna()
        self.args = args
        self.ladder = rung_ladder(fidelities if fidelities is not None else (full_epoch,), args.eta)
        # the action's fidelity entry for each rung (an env without fidelities takes six op ids only)
        self.suffix = [[] if fidelities is None else [fidelities.index(e)] for e in self.ladder]
        self.pruner = None
        if len(self.ladder) > 1:
            self.pruner = optuna.pruners.HyperbandPruner(
                min_resource=self.ladder[0] + 1, max_resource=self.ladder[-1] + 1, reduction_factor=args.eta
            )
        sampler = optuna.samplers.TPESampler(
            n_startup_trials=args.n_startup_trials, multivariate=args.multivariate, seed=seed
        )
        # a fixed name: the pruner assigns brackets by hashing it with the trial number (else a random uuid)
        self.study = optuna.create_study(
            study_name=f"bohb-{seed}", direction="maximize", sampler=sampler, pruner=self.pruner
        )
        self.pruned_state = optuna.trial.TrialState.PRUNED
        self.space = cell_distributions(optuna)
        self.known: dict[tuple[tuple[int, ...], int], float] = {}  # (cell, epoch) -> validation accuracy
        self.trial: Any = None
        self.cell: np.ndarray = np.zeros(6, dtype=np.int64)
        self.rung = 0
        self.done = False
        self.best: tuple[float, int] = (-np.inf, -1)  # (accuracy, arch) at full fidelity
        self.counts = {"trials": 0, "pruned": 0, "completed": 0}
        self.settings: dict[str, Any] = {
            **asdict(args),
            "rungs": list(self.ladder),
            "optuna": optuna.__version__,
            "reference": "BOHB-style: Optuna TPESampler + HyperbandPruner",
        }
        if self.pruner is None:
            self.settings["degraded"] = f"one fidelity (epoch {self.ladder[0]}): no pruning, i.e. TPE"

    def ask(self) -> np.ndarray:
        """Return the next cell and rung that needs an evaluation, moving trials on from known results."""
        for _ in range(self.args.max_repeats):
            if self.trial is None:
                self._start_trial()
            epoch = self.ladder[self.rung]
            known = self.known.get((tuple(self.cell.tolist()), epoch))
            if known is None:
                return np.array([*self.cell, *self.suffix[self.rung]], dtype=np.int64)
            self._observe(known)
        self.done = True  # converged: let the env answer the repeat (free) and end the run
        self.settings["stopped"] = f"{self.args.max_repeats} proposals in a row needed no evaluation"
        return np.array([*self.cell, *self.suffix[self.rung]], dtype=np.int64)

    def tell(self, action: np.ndarray, info: dict[str, Any]) -> None:
        """Report the cell's accuracy at the current rung; prune, promote or complete the trial."""
        accuracy = info["valid_accuracy"]
        self.known[(tuple(self.cell.tolist()), self.ladder[self.rung])] = accuracy
        if self.rung == len(self.ladder) - 1 and accuracy > self.best[0]:
            self.best = (accuracy, info["arch"])
        if not self.done:
            self._observe(accuracy)

    def best_arch(self) -> int:
        """Return the best cell by validation accuracy at full fidelity (-1 before any)."""
        return self.best[1]

    def _start_trial(self) -> None:
        self.trial = self.study.ask(self.space)
        self.cell = ops_of(self.trial.params)
        self.rung = 0
        if self.pruner is not None:  # start at the first rung at which the trial's bracket can stop it
            bracket = self.pruner._get_bracket_id(self.study, self.trial)  # Optuna's own assignment
            first_step = (self.ladder[0] + 1) * self.args.eta**bracket  # the pruner's min_resource * eta^bracket
            self.rung = next((i for i, e in enumerate(self.ladder) if e + 1 >= first_step), len(self.ladder) - 1)
        self.counts["trials"] += 1

    def _observe(self, accuracy: float) -> None:
        trial = self.trial
        trial.report(accuracy, step=self.ladder[self.rung] + 1)
        if self.rung == len(self.ladder) - 1:
            self.study.tell(trial, accuracy)
            self.counts["completed"] += 1
        elif trial.should_prune():
            self.study.tell(trial, state=self.pruned_state)
            self.counts["pruned"] += 1
        else:
            self.rung += 1
            return
        self.trial = None
        self.settings.update(self.counts)


def search(env: gym.Env, args: Args, seed: int) -> SearchResult:
    """Run the BOHB-style search through ``env`` (made with ``fidelities=...``) until the budget is spent."""
    unwrapped = env.unwrapped
    full_epoch = int(unwrapped.describe()["epoch"])
    return run_search(env, OptunaBOHB(args, seed, unwrapped.config.fidelities, full_epoch), seed)
