"""SETN (self-evaluated template network) on the NB201 supernet, as NAS-Bench-201 ran it.

What it is
    Dong & Yang, "One-Shot Neural Architecture Search via Self-Evaluated Template Network", ICCV 2019, as
    benchmarked in NB201 (``exps/NAS-Bench-201-algos/SETN.py``, ``search_model_setn.py`` in
    D-X-Y/AutoDL-Projects). Each step:

    1. weight step: one cell drawn uniformly (one op per edge), SGD on its training loss (no clipping);
    2. architecture step: Adam on ``alpha`` with the gradient of the validation loss of the supernet mixed by
       ``softmax(alpha)`` (the reference's ``joint`` mode: a first-order DARTS step).

    After each epoch the *evaluator* picks the cell: the ``select_num`` cells of highest probability under
    ``alpha`` (sum of ``log_softmax(alpha)`` over the edges, among all 15,625), each scored on one batch of
    the validation half (no augmentation, eval mode); the best is the derived cell. Reported: the last.

Reference settings
    ``configs/nas-benchmark/algos/SETN.config``: 250 epochs, batch 64, test batch 512, SGD lr 0.025 -> 0.001
    cosine, Nesterov 0.9, weight decay 5e-4; ``scripts-search/NAS-Bench-201-algos/SETN.sh``: arch lr 3e-4, arch
    weight decay 1e-3 (Adam betas (0.5, 0.999)), ``--select_num 100``, C=16, N=5, BN=1. No gradient clip.

Deviations
    ``None`` gradients (:mod:`agents.supernet_steps`); no per-epoch full validation pass of the chosen cell
    (the signal is its accuracy on the batch that chose it). Ties in the probability ranking fall in official
    index order (the reference's in its ``gen_all`` order; ``alpha`` starts random, so ties do not occur).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.common import SearchResult
from agents.supernet_steps import ArchAdam, SupernetMethod, mixed_step_gradient, run_method
from agents.weight_sharing import ArchAdamArgs, uniform_ops
from nb201_env.space import NUM_EDGES, all_ops
from nb201_env.training._torch import torch
from nb201_env.training.runtime import Runtime
from nb201_env.training.search_data import SearchData
from nb201_env.validate import check_int

Tensor = torch.Tensor
WEIGHT_SHARING = True


@dataclass(frozen=True)
class Args(ArchAdamArgs):
    """Settings of SETN (defaults: the NB201 reference)."""

    epochs: int = 250
    """Search epochs (``SETN.config``)."""
    grad_clip: float | None = None
    """SETN's weight step is not clipped in the reference."""
    select_num: int = 100
    """Most probable cells scored after each epoch."""
    eval_batch_size: int = 512
    """Validation images scoring each candidate (``test_batch_size``)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("select_num", self.select_num, low=1)
        check_int("eval_batch_size", self.eval_batch_size, low=1)


def most_probable(alpha: np.ndarray, k: int) -> np.ndarray:
    """Return the official indices of the ``k`` cells of highest ``sum_e log_softmax(alpha)[e, op_e]``."""
    shifted = alpha - alpha.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    scores = log_p[np.arange(NUM_EDGES), all_ops()].sum(axis=1)
    return np.argsort(-scores, kind="stable")[:k]


class Setn(SupernetMethod):
    """SETN: uniform single-path weight steps, mixed ``alpha`` steps, cell chosen by scoring the likeliest."""

    name = "setn"
    reference = "NB201 SETN (AutoDL-Projects exps/NAS-Bench-201-algos/SETN.py)"

    def __init__(self, data: SearchData, args: Args, seed: int) -> None:
        super().__init__(data, args, seed)
        self.arch = ArchAdam(args, data.device, self.generator)

    def step(self, x: Tensor, y: Tensor, vx: Tensor, vy: Tensor) -> None:
        """Weight step of a uniform cell on ``(x, y)``, then the mixed ``alpha`` step on ``(vx, vy)``."""
        self.train_path(x, y, uniform_ops(self.rng))
        gradient, logits, loss = mixed_step_gradient(self.model, self.arch.alpha, vx, vy)
        self.arch.step(gradient)
        self.track("valid", logits, vy, loss)

    def derive(self) -> tuple[int, float]:
        """Score the ``select_num`` likeliest cells on validation batches; return the best and its accuracy."""
        alpha = self.arch.alpha.detach().cpu().numpy().astype(np.float64)
        candidates = [tuple(int(o) for o in all_ops()[i]) for i in most_probable(alpha, self.args.select_num)]
        self.settings["alpha_softmax"] = self.arch.probabilities()
        return self.best_of(candidates, self.data.valid_batches(self.args.eval_batch_size))


def search(data: SearchData, args: Args, seed: int, runtime: Runtime | None = None) -> SearchResult:
    """Run SETN for ``args.epochs`` epochs on ``data``; the result's times are wall seconds."""
    return run_method(Setn, data, args, seed, runtime)
