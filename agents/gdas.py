"""GDAS (Gumbel-softmax sampled differentiable search) on the NB201 supernet, as NAS-Bench-201 ran it.

What it is
    Dong & Yang, "Searching for A Robust Neural Architecture in Four GPU Hours", CVPR 2019, as benchmarked in
    NB201 (``exps/NAS-Bench-201-algos/GDAS.py``, ``xautodl/models/cell_searchs/search_model_gdas.py`` in
    D-X-Y/AutoDL-Projects). Every forward pass draws Gumbel noise ``g`` (one ``6 x 5`` draw shared by all
    cells), takes ``p = softmax((log_softmax(alpha) + g) / tau)`` per edge, runs only op ``a = argmax p`` and
    scales it by the straight-through weight ``h = onehot(a) - p.detach() + p`` (value 1, gradient of ``p``);
    the other ops add their ``h`` (value 0) so that every ``alpha`` gets a gradient. Each step:

    1. weight step on a training batch with a fresh sample (SGD, gradient clipped to 5);
    2. architecture step on a validation batch with another sample (Adam on ``alpha``).

    ``tau`` falls linearly per epoch from ``tau_max`` to ``tau_min``:
    ``tau_max - (tau_max - tau_min) * epoch / (epochs - 1)``. Derived cell: the argmax of ``alpha`` per edge
    after each epoch; reported: the last.

Reference settings
    ``configs/nas-benchmark/algos/GDAS.config``: 250 epochs, batch 64, SGD lr 0.025 -> 0.001 cosine, Nesterov
    0.9, weight decay 5e-4. ``scripts-search/NAS-Bench-201-algos/GDAS.sh``: ``--tau_max 10 --tau_min 0.1``,
    arch lr 3e-4, arch weight decay 1e-3 (Adam betas (0.5, 0.999)), C=16, N=5, BN=1. Draws whose Gumbel noise
    or probabilities are not finite are redrawn, as in the reference.

Deviations
    As DARTS-V1 (clip of the weights' gradient alone, ``None`` gradients, no per-epoch full validation pass;
    the signal is the accuracy of the epoch's architecture-step batches). The weight step builds ``h`` from a
    detached ``alpha``: the same values, and the reference discards that step's ``alpha`` gradient anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.common import SearchResult
from agents.supernet_steps import ArchAdam, SupernetMethod, run_method
from agents.weight_sharing import ArchAdamArgs
from nb201_env.space import NUM_OPS
from nb201_env.training._torch import torch
from nb201_env.training.runtime import Runtime
from nb201_env.training.search_data import SearchData
from nb201_env.validate import check_real

F = torch.nn.functional
Tensor = torch.Tensor
WEIGHT_SHARING = True


@dataclass(frozen=True)
class Args(ArchAdamArgs):
    """Settings of GDAS (defaults: the NB201 reference)."""

    epochs: int = 250
    """Search epochs (``GDAS.config``)."""
    tau_max: float = 10.0
    """Gumbel-softmax temperature in the first epoch."""
    tau_min: float = 0.1
    """Temperature in the last epoch."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_real("tau_max", self.tau_max, positive=True)
        check_real("tau_min", self.tau_min, positive=True)
        if self.tau_min > self.tau_max:
            raise ValueError(f"tau_min ({self.tau_min}) must not exceed tau_max ({self.tau_max})")


def gumbel_hard(alpha: Tensor, tau: float, generator: torch.Generator) -> tuple[Tensor, tuple[int, ...]]:
    """Draw GDAS's hard weights: ``(onehot(a) - p.detach() + p, a)`` with ``p = softmax((log_softmax(alpha)
    + gumbel) / tau)`` and ``a = argmax p`` per edge (redrawn while the draw is not finite)."""
    while True:
        gumbels = -torch.empty_like(alpha).exponential_(generator=generator).log()
        probs = ((alpha.log_softmax(dim=-1) + gumbels) / tau).softmax(dim=-1)
        if torch.isfinite(gumbels).all() and torch.isfinite(probs).all():
            break
    index = probs.argmax(dim=-1)
    hard = F.one_hot(index, NUM_OPS).to(probs.dtype) - probs.detach() + probs
    return hard, tuple(index.tolist())


class Gdas(SupernetMethod):
    """GDAS: one Gumbel-sampled op per edge in every forward pass, straight-through gradients to ``alpha``."""

    name = "gdas"
    reference = "NB201 GDAS (AutoDL-Projects exps/NAS-Bench-201-algos/GDAS.py)"

    def __init__(self, data: SearchData, args: Args, seed: int) -> None:
        super().__init__(data, args, seed)
        self.arch = ArchAdam(args, data.device, self.generator)
        self.tau = args.tau_max

    def start_epoch(self, epoch: int) -> None:
        """Set the epoch's learning rate and temperature."""
        super().start_epoch(epoch)
        args = self.args
        span = max(args.epochs - 1, 1)
        self.tau = args.tau_max - (args.tau_max - args.tau_min) * epoch / span

    def step(self, x: Tensor, y: Tensor, vx: Tensor, vy: Tensor) -> None:
        """Weight step with one sample on ``(x, y)``, then ``alpha`` step with another on ``(vx, vy)``."""
        with torch.no_grad():
            hard, index = gumbel_hard(self.arch.alpha, self.tau, self.generator)
        logits = self.model(x, weights=hard, index=index)
        loss = F.cross_entropy(logits, y)
        self.weight_step(loss)
        self.track("train", logits, y, loss)
        gradient, logits, loss = self.arch_gradient(vx, vy)
        self.arch.step(gradient)
        self.track("valid", logits, vy, loss)

    def arch_gradient(self, vx: Tensor, vy: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Return ``(d loss / d alpha, logits, loss)`` of one fresh sample on a validation batch."""
        hard, index = gumbel_hard(self.arch.alpha, self.tau, self.generator)
        logits = self.model(vx, weights=hard, index=index)
        loss = F.cross_entropy(logits, vy)
        (gradient,) = torch.autograd.grad(loss, [self.arch.alpha])
        return gradient, logits.detach(), loss.detach()

    def derive(self) -> tuple[int, float]:
        """Return the argmax cell and the accuracy of this epoch's architecture-step batches."""
        self.settings["alpha_softmax"] = self.arch.probabilities()
        self.settings["tau"] = self.tau
        return self.arch.argmax(), self.epoch_stats().get("valid_accuracy", float("nan"))


def search(data: SearchData, args: Args, seed: int, runtime: Runtime | None = None) -> SearchResult:
    """Run GDAS for ``args.epochs`` epochs on ``data``; the result's times are wall seconds."""
    return run_method(Gdas, data, args, seed, runtime)
