"""DARTS, first order (DARTS-V1), on the NB201 supernet, as NAS-Bench-201 ran it.

What it is
    Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019, in its first-order form, as
    benchmarked in NB201 (``exps/NAS-Bench-201-algos/DARTS-V1.py`` in D-X-Y/AutoDL-Projects). Every edge mixes
    its five ops by ``softmax(alpha_e)``. Each step takes a training batch and a validation batch:

    1. weight step: SGD on the training loss of the mixed supernet, gradient clipped to norm 5;
    2. architecture step: Adam on ``alpha`` with ``d L_valid(w, alpha) / d alpha`` at the weights just updated
       (first order: the weights are held constant).

    After each epoch the derived cell is the argmax of ``alpha`` on every edge (``genotype()``); the reported
    cell is the last epoch's. NB201 found that it collapses to cells of skip connections (54.30% on CIFAR-10).

Reference settings
    ``configs/nas-benchmark/algos/DARTS.config``: 50 epochs, batch 64, SGD lr 0.025 with a per-epoch cosine to
    0.001, Nesterov momentum 0.9, weight decay 5e-4. ``scripts-search/NAS-Bench-201-algos/DARTS-V1.sh``: arch
    learning rate 3e-4, arch weight decay 1e-3 (Adam, betas (0.5, 0.999) in the code), C=16, N=5, BN=1
    (running statistics; cell BN without affine parameters). ``alpha = 1e-3 randn(6, 5)``; gradient clip 5
    (``--gradient_clip`` default).

Deviations
    The clip acts on the weights' gradient alone and unused weights keep ``None`` gradients
    (:mod:`agents.supernet_steps`). The reference also scores the whole validation half after every epoch, for
    its log and an unreported "best" cell; we skip that pass and record as the validation signal the accuracy
    of the epoch's architecture-step batches (the reference logs it as ``Arch Prec@1``).

    python -c "from agents import darts_v1 as a, weight_sharing as ws; s = ws.get_scale('tiny'); \\
        d = ws.load_search_data('data/cifar10-jpg', s, seed=0); print(a.search(d, s.apply(a.Args()), 0).best_arch)"
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.common import SearchResult
from agents.supernet_steps import ArchAdam, SupernetMethod, mixed_step_gradient, run_method
from agents.weight_sharing import ArchAdamArgs
from nb201_env.training._torch import torch
from nb201_env.training.runtime import Runtime
from nb201_env.training.search_data import SearchData

F = torch.nn.functional
Tensor = torch.Tensor
WEIGHT_SHARING = True


@dataclass(frozen=True)
class Args(ArchAdamArgs):
    """Settings of DARTS-V1 (defaults: the NB201 reference)."""

    epochs: int = 50
    """Search epochs (``DARTS.config``)."""


class DartsV1(SupernetMethod):
    """First-order DARTS: alternate a weight step (training batch) and an ``alpha`` step (validation batch)."""

    name = "darts_v1"
    reference = "NB201 DARTS-V1 (AutoDL-Projects exps/NAS-Bench-201-algos/DARTS-V1.py)"

    def __init__(self, data: SearchData, args: Args, seed: int) -> None:
        super().__init__(data, args, seed)
        self.arch = ArchAdam(args, data.device, self.generator)

    def step(self, x: Tensor, y: Tensor, vx: Tensor, vy: Tensor) -> None:
        """Weight step on ``(x, y)``, then first-order ``alpha`` step on ``(vx, vy)``."""
        logits = self.model(x, weights=self.arch.weights().detach())
        loss = F.cross_entropy(logits, y)
        self.weight_step(loss)
        self.track("train", logits, y, loss)
        gradient, logits, loss = mixed_step_gradient(self.model, self.arch.alpha, vx, vy)
        self.arch.step(gradient)
        self.track("valid", logits, vy, loss)

    def derive(self) -> tuple[int, float]:
        """Return the argmax cell and the accuracy of this epoch's architecture-step batches."""
        self.settings["alpha_softmax"] = self.arch.probabilities()
        return self.arch.argmax(), self.epoch_stats().get("valid_accuracy", float("nan"))


def search(data: SearchData, args: Args, seed: int, runtime: Runtime | None = None) -> SearchResult:
    """Run DARTS-V1 for ``args.epochs`` epochs on ``data``; the result's times are wall seconds."""
    return run_method(DartsV1, data, args, seed, runtime)
