"""Hyperband (successive halving with eta = 3) over the training epochs the environment offers.

What it is
    Li et al., "Hyperband: A Novel Bandit-Based Approach to Hyperparameter Optimization" (JMLR 2018), with
    the number of training epochs as the resource, on ``NASBench201-OneShot-v0`` made with
    ``fidelities=(e_0, ..., e_k)`` (0-based epochs; the seventh action entry picks one). Judging a cell
    after epoch ``e`` costs the recorded training time of epochs ``0..e`` plus one validation pass.

    Rungs: the resource of epoch ``e`` is ``e + 1`` epochs. Starting from the largest offered epoch, each
    lower rung is the largest offered epoch whose resource is at most ``1/eta`` of the rung above (so the
    rungs follow the geometric ladder as closely as the offered epochs allow); ``s_max + 1`` rungs.
    Brackets ``s = s_max, ..., 0``, repeated until the budget is spent: bracket ``s`` samples
    ``n = ceil((s_max + 1) / (s + 1) * eta**s)`` distinct random cells at rung ``s_max - s`` and, rung by
    rung, evaluates the ``floor(n * eta**-i)`` best of the previous rung one rung higher (successive
    halving), ending at the top rung.

    The reported architecture is the best by validation accuracy at the highest fidelity evaluated (the
    top rung once anything reached it).

Reference settings
    The NATS-Bench BOHB baseline (``exps/NATS-algos/bohb.py`` in D-X-Y/AutoDL-Projects) runs HpBandSter
    with ``eta=3, min_budget=1, max_budget=12`` epochs and judges a budget ``b`` after epoch ``b - 1``:
    rungs 1.33, 4 and 12 epochs, i.e. epochs 0, 3 and 11, which is the ladder here when all twelve epochs
    are offered. (BOHB's model-based sampling is not reproduced: cells are drawn uniformly, as Hyperband.)

Degenerate case
    With a single offered epoch (the public store holds only the final 12-epoch accuracy, so the harness
    offers ``fidelities=(11,)``), or an env made without ``fidelities``, there is one rung: every bracket is
    one random cell at full fidelity, i.e. **random search**. ``settings["degraded"]`` says so.

Deviations
    A promoted cell is retrained from scratch to the higher epoch and pays the full cost (the tabular
    environment has no checkpoints to resume from). Cells evaluated again at the same epoch (in a later
    bracket) are answered from the first result and cost nothing under ``charge_repeats=False``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents.common import SearchResult, run_search
from nb201_env.space import NUM_ARCHS, all_ops

ENV_ID = "NASBench201-OneShot-v0"
USES_FIDELITIES = True  # the harness makes the env with fidelities = the store's recorded epochs


@dataclass(frozen=True)
class Args:
    """Settings of Hyperband."""

    eta: int = 3
    """Halving rate: each rung keeps the best ``1/eta`` and gives them ``eta`` times the epochs."""
    min_epoch: int | None = None
    """Lowest 0-based epoch to judge cells at (``None``: the lowest the environment offers)."""

    def __post_init__(self) -> None:
        if isinstance(self.eta, bool) or not isinstance(self.eta, int) or self.eta < 2:
            raise ValueError(f"eta must be an int >= 2, got {self.eta!r}")
        if self.min_epoch is not None and (not isinstance(self.min_epoch, int) or self.min_epoch < 0):
            raise ValueError(f"min_epoch must be None or an int >= 0, got {self.min_epoch!r}")


def rung_ladder(epochs: tuple[int, ...], eta: int) -> list[int]:
    """Return the rung epochs, ascending: from the largest offered epoch down by factors of ``eta``."""
    ladder = [max(epochs)]
    while True:
        target = (ladder[-1] + 1) / eta  # resource (epochs trained) of the next rung down, at most
        lower = [e for e in epochs if e + 1 <= target]
        if not lower:
            return ladder[::-1]
        ladder.append(max(lower))


class Hyperband:
    """Hyperband over offered epochs (ask/tell; randomness only from the seeded generator)."""

    name = "hyperband"

    def __init__(self, args: Args, seed: int, fidelities: tuple[int, ...] | None, full_epoch: int) -> None:
        self.args = args
        self.rng = np.random.default_rng(seed)
        self.ops = all_ops().astype(np.int64)
        self.fidelities = fidelities
        offered = fidelities if fidelities is not None else (full_epoch,)
        usable = tuple(e for e in offered if args.min_epoch is None or e >= args.min_epoch)
        if not usable:
            raise ValueError(
                f"min_epoch={args.min_epoch} is above every offered epoch; offered epochs: {list(offered)}"
            )
        self.ladder = rung_ladder(usable, args.eta)  # rung epochs, ascending
        self.s_max = len(self.ladder) - 1
        # the action's fidelity entry for each rung (an env without fidelities takes six op ids only)
        self.suffix = [[] if fidelities is None else [fidelities.index(e)] for e in self.ladder]
        self.bracket = -1  # s of the running bracket
        self.n = 0  # cells the running bracket started with
        self.rung = 0  # rung index into the ladder
        self.queue: list[int] = []  # cells still to evaluate at the current rung, next one last
        self.results: list[tuple[float, int]] = []  # (accuracy, cell) at the current rung
        self.best: dict[int, tuple[float, int]] = {}  # rung -> best (accuracy, cell) seen there
        self.brackets = 0
        self.settings: dict[str, Any] = {
            **asdict(args),
            "rungs": list(self.ladder),
            "s_max": self.s_max,
            "reference": "Hyperband (Li et al. 2018), successive halving with eta=3",
        }
        if self.s_max == 0:
            self.settings["degraded"] = (
                f"one fidelity (epoch {self.ladder[0]}): every bracket is one random cell, i.e. random search"
            )

    def ask(self) -> np.ndarray:
        """Return the next cell of the running rung (with its fidelity index), starting rungs as needed."""
        while not self.queue:
            self._advance()
        return np.array([*self.ops[self.queue[-1]], *self.suffix[self.rung]], dtype=np.int64)

    def tell(self, action: np.ndarray, info: dict[str, Any]) -> None:
        """Record the cell's accuracy at the current rung."""
        self.queue.pop()
        entry = (info["valid_accuracy"], info["arch"])
        self.results.append(entry)
        if self.rung not in self.best or entry[0] > self.best[self.rung][0]:
            self.best[self.rung] = entry

    def best_arch(self) -> int:
        """Return the best cell by validation accuracy at the highest rung reached (-1 before any)."""
        return self.best[max(self.best)][1] if self.best else -1

    def _advance(self) -> None:
        """Promote the best of a finished rung, or start the next bracket."""
        eta = self.args.eta
        if self.bracket >= 0 and self.rung < self.s_max:
            i = self.rung - (self.s_max - self.bracket) + 1  # the next rung's position in the bracket
            keep = self.n // eta**i  # floor(n * eta^-i), in integers to avoid rounding just below a whole number
            if keep >= 1:
                ranked = sorted(self.results, key=lambda r: -r[0])  # stable: ties keep evaluation order
                self.queue = [cell for _, cell in ranked[:keep]][::-1]
                self.results = []
                self.rung += 1
                return
        # next bracket: s cycles s_max, s_max - 1, ..., 0, s_max, ...
        self.bracket = self.s_max if self.bracket <= 0 else self.bracket - 1
        s = self.bracket
        self.n = -(-(self.s_max + 1) * eta**s // (s + 1))  # ceil((s_max + 1) / (s + 1) * eta^s)
        self.rung = self.s_max - s
        self.queue = self.rng.choice(NUM_ARCHS, size=self.n, replace=False).tolist()[::-1]
        self.results = []
        self.brackets += 1
        self.settings["brackets"] = self.brackets


def search(env: gym.Env, args: Args, seed: int) -> SearchResult:
    """Run Hyperband through ``env`` (made with ``fidelities=...`` to use several epochs) until the budget is spent."""
    unwrapped = env.unwrapped
    fidelities = unwrapped.config.fidelities  # the epochs the action's fidelity entry indexes
    full_epoch = int(unwrapped.describe()["epoch"])
    return run_search(env, Hyperband(args, seed, fidelities, full_epoch), seed)
