"""REINFORCE with a table of logits, the NB201 ``REINFORCE`` baseline, in plain NumPy.

What it is
    Williams' REINFORCE as run in NAS-Bench-201 (``exps/NAS-Bench-201-algos/reinforce.py`` in
    D-X-Y/AutoDL-Projects, itself modified from the PyTorch examples' reinforce.py; the NATS-Bench version
    is ``exps/NATS-algos/reinforce.py``). The policy is a ``6 x 5`` table of logits, one softmax per edge;
    each step samples one op per edge independently, evaluates the cell and takes one Adam step on

        loss = -(reward - baseline) * sum_e log softmax(logits_e)[op_e]

    whose exact gradient with respect to ``logits_e`` is ``-(reward - baseline) * (onehot(op_e) - p_e)``.
    The baseline is the reference's bias-corrected exponential moving average, updated with the current
    reward *before* the advantage is taken (so the first advantage is 0):
    ``num = m*num + (1-m)*r; den = m*den + (1-m); baseline = num / den``.
    The reported architecture is the best sampled cell by validation accuracy (the reference's final
    version; its first version reported the argmax of the logits).

Reference settings (checked in the reference code)
    * logits initialised as ``1e-3 * randn(6, 5)``;
    * ``torch.optim.Adam`` with default betas (0.9, 0.999), eps 1e-8, no weight decay;
    * learning rate 0.001: ``scripts-search/algos/REINFORCE.sh`` (NB201 era) passes ``--learning_rate 0.001``
      and the NB201-algos script is documented as ``REINFORCE.sh 0.001``; its learning-rate grid
      ``hps/GRID-RL.sh`` tries 0.01, 0.02, 0.1, 0.2, 0.5. NATS-Bench (``exps/NATS-algos/run-all.sh``) uses
      0.01 (``Args(learning_rate=0.01)``);
    * EMA momentum 0.9 (``--EMA_momentum 0.9`` in the scripts; the NATS argparse default);
    * reward = validation accuracy in percent (``info["valid_accuracy"]``, e.g. 84.4), unscaled;
    * budget 12,000 s on CIFAR-10 validation after 12 epochs; the evaluation that would cross the budget
      ends the run without an update (the environment's ``"nb201"`` rule).

Deviations
    NumPy instead of torch (same maths: float64 instead of float32). Cells sampled again are answered by
    the environment from the first result and cost no time under the default ``charge_repeats=False``
    (the reference pays again); they still update the policy, as in the reference. A policy that has
    converged onto cells already evaluated would then loop forever without moving the clock, so after
    ``stall_patience`` consecutive free repeats the run ends early (``settings["stopped_early"]`` says
    when). With the NB201 learning rate this never happens within the budget; with 0.2 or more it can.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents.common import SearchResult, run_search
from nb201_env.space import NUM_EDGES, NUM_OPS

ENV_ID = "NASBench201-OneShot-v0"


@dataclass(frozen=True)
class Args:
    """Settings of REINFORCE (defaults: the NB201 reference)."""

    learning_rate: float = 0.001
    """Adam learning rate (NB201: 0.001; NATS-Bench: 0.01)."""
    ema_momentum: float = 0.9
    """Momentum of the bias-corrected moving-average baseline, in [0, 1)."""
    init_std: float = 1e-3
    """Standard deviation of the initial logits."""
    beta1: float = 0.9
    """Adam's first-moment decay (torch default)."""
    beta2: float = 0.999
    """Adam's second-moment decay (torch default)."""
    eps: float = 1e-8
    """Adam's denominator term (torch default)."""
    stall_patience: int | None = 1000
    """End the run after this many consecutive free repeats (see Deviations); ``None`` never ends it early."""

    def __post_init__(self) -> None:
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        for name in ("ema_momentum", "beta1", "beta2"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value < 1):
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
        for name in ("init_std", "eps"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.stall_patience is not None and not (isinstance(self.stall_patience, int) and self.stall_patience >= 1):
            raise ValueError(f"stall_patience must be an int >= 1 or None, got {self.stall_patience!r}")


class Reinforce:
    """A factorised categorical policy over the six edges, trained by REINFORCE (ask/tell)."""

    name = "reinforce"

    def __init__(self, args: Args, seed: int) -> None:
        self.args = args
        self.rng = np.random.default_rng(seed)
        self.logits = args.init_std * self.rng.standard_normal((NUM_EDGES, NUM_OPS))
        self._probs = self._softmax(self.logits)  # kept in step with the logits: ask and tell both need it
        self._m = np.zeros_like(self.logits)  # Adam moments and step count
        self._v = np.zeros_like(self.logits)
        self._t = 0
        self._num = 0.0  # bias-corrected EMA baseline: numerator / denominator
        self._den = 0.0
        self._rows = np.arange(NUM_EDGES)
        self._free_repeats = 0  # consecutive proposals answered from the cache at no cost
        self.done = False
        self.settings: dict[str, Any] = {**asdict(args), "reference": "NB201 REINFORCE (AutoDL-Projects reinforce.py)"}

    @staticmethod
    def _softmax(logits: np.ndarray) -> np.ndarray:
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def probabilities(self) -> np.ndarray:
        """Return the ``(6, 5)`` op probabilities of each edge."""
        return self._probs.copy()

    def entropy(self) -> float:
        """Return the policy's entropy in nats (``6 * ln 5`` = 9.66 when uniform)."""
        p = self._probs
        return float(-(p * np.log(np.maximum(p, 1e-300))).sum())

    def baseline(self) -> float:
        """Return the current moving-average baseline (0 before the first reward)."""
        return self._num / self._den if self._den else 0.0

    def ask(self) -> np.ndarray:
        """Sample one op per edge from the policy (inverse CDF on one uniform draw per edge)."""
        cdf = np.cumsum(self._probs, axis=1)
        u = self.rng.random((NUM_EDGES, 1)) * cdf[:, -1:]
        return np.minimum((cdf <= u).sum(axis=1), NUM_OPS - 1)

    def tell(self, action: np.ndarray, info: dict[str, Any]) -> None:
        """Update the baseline with the reward, then take one Adam step on the REINFORCE loss."""
        a = self.args
        reward = float(info["valid_accuracy"])
        m = a.ema_momentum
        self._num = m * self._num + (1 - m) * reward
        self._den = m * self._den + (1 - m)
        advantage = reward - self._num / self._den
        # d/dlogits of -advantage * log softmax(logits)[op], row by row
        grad = self._probs.copy()
        grad[self._rows, np.asarray(action[:NUM_EDGES])] -= 1.0
        grad *= advantage
        self._adam(grad)
        self._free_repeats = self._free_repeats + 1 if info["repeat"] and not info["cost"] else 0
        if a.stall_patience is not None and self._free_repeats >= a.stall_patience:
            self.done = True  # converged: only known cells come back, so the clock would never move again
            self.settings["stopped_early"] = (
                f"{self._free_repeats} free repeats in a row at clock {info['clock']:.1f} s"
            )

    def _adam(self, grad: np.ndarray) -> None:
        """Apply one step of Adam (torch.optim.Adam's update, bias-corrected)."""
        a = self.args
        self._t += 1
        self._m = a.beta1 * self._m + (1 - a.beta1) * grad
        self._v = a.beta2 * self._v + (1 - a.beta2) * grad * grad
        m_hat = self._m / (1 - a.beta1**self._t)
        v_hat = self._v / (1 - a.beta2**self._t)
        self.logits -= a.learning_rate * m_hat / (np.sqrt(v_hat) + a.eps)
        self._probs = self._softmax(self.logits)


def search(env: gym.Env, args: Args, seed: int) -> SearchResult:
    """Run one REINFORCE search through ``env`` until its budget is spent."""
    return run_search(env, Reinforce(args, seed), seed)
