"""DARTS, second order (DARTS-V2), on the NB201 supernet, as NAS-Bench-201 ran it.

What it is
    DARTS (Liu et al., ICLR 2019) with the unrolled architecture gradient, as benchmarked in NB201
    (``exps/NAS-Bench-201-algos/DARTS-V2.py`` in D-X-Y/AutoDL-Projects). Each step takes a training batch
    ``(x, y)`` and a validation batch ``(vx, vy)`` and, unlike DARTS-V1, updates ``alpha`` *first*:

    1. one virtual SGD step ``w' = w - lr (momentum * buffer + dL_train(w, alpha)/dw + weight_decay * w)``;
    2. ``g = dL_valid(w', alpha)/dalpha - lr * H v`` with ``v = dL_valid(w', alpha)/dw'`` and the mixed second
       derivative ``H v = d^2 L_train / dalpha dw . v`` by central differences:
       ``(dL_train(w + R v)/dalpha - dL_train(w - R v)/dalpha) / 2R`` with ``R = 0.01 / |v|``;
    3. an Adam step on ``alpha`` with ``g``; then the weight step (SGD on the training batch, clip 5).

    ``g`` approximates the gradient of ``L_valid(w'(alpha), alpha)`` through the virtual step;
    ``tests/agents/test_weight_sharing_steps.py`` checks it against the exact one (double backpropagation).
    Derived cell: the argmax of ``alpha`` per edge after each epoch; reported: the last.

Reference settings
    As DARTS-V1 (``DARTS.config``: 50 epochs, batch 64, lr 0.025 -> 0.001 cosine, Nesterov 0.9, wd 5e-4;
    ``DARTS-V2.sh``: arch lr 3e-4, arch wd 1e-3, Adam betas (0.5, 0.999); C=16, N=5, BN=1), the virtual step
    with the optimizer's current learning rate, momentum buffer and weight decay (no Nesterov term, no clip),
    ``R = 0.01 / |v|``, and the weight gradient clipped to 5 (hard-coded there).

Deviations
    As DARTS-V1 (clip of the weights' gradient alone, ``None`` gradients, no per-epoch full validation pass).
    The virtual step runs on the supernet's own modules with the new weights passed in
    (``torch.func.functional_call``) and copies of the BN buffers, which plays the reference's ``deepcopy``.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.common import SearchResult
from agents.darts_v1 import DartsV1
from agents.supernet_steps import run_method
from agents.weight_sharing import ArchAdamArgs
from nb201_env.training._torch import torch
from nb201_env.training.runtime import Runtime
from nb201_env.training.search_data import SearchData
from nb201_env.validate import check_real

F = torch.nn.functional
Tensor = torch.Tensor
WEIGHT_SHARING = True


@dataclass(frozen=True)
class Args(ArchAdamArgs):
    """Settings of DARTS-V2 (defaults: the NB201 reference)."""

    epochs: int = 50
    """Search epochs (``DARTS.config``)."""
    finite_difference_r: float = 0.01
    """``R = finite_difference_r / |v|`` in the central difference of the Hessian-vector product."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_real("finite_difference_r", self.finite_difference_r, positive=True)


class DartsV2(DartsV1):
    """Second-order DARTS: ``alpha`` step with the unrolled gradient, then the weight step."""

    name = "darts_v2"
    reference = "NB201 DARTS-V2 (AutoDL-Projects exps/NAS-Bench-201-algos/DARTS-V2.py)"

    def unrolled_gradient(self, x: Tensor, y: Tensor, vx: Tensor, vy: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Return ``(g, logits, loss)``: the second-order ``alpha`` gradient and the validation batch's
        logits and loss at the virtual weights ``w'``."""
        model, alpha, args = self.model, self.arch.alpha, self.args
        names = [name for name, _ in model.named_parameters()]
        params = [p for _, p in model.named_parameters()]
        train_loss = F.cross_entropy(model(x, weights=alpha.softmax(dim=-1).detach()), y)
        grads = torch.autograd.grad(train_loss, params)
        with torch.no_grad():
            unrolled = []
            for p, g in zip(params, grads):
                buffer = self.optimizer.state.get(p, {}).get("momentum_buffer")
                moment = args.momentum * buffer if buffer is not None else torch.zeros_like(p)
                unrolled.append((p - self.lr * (moment + g + args.weight_decay * p)).requires_grad_())
        buffers = {name: b.clone() for name, b in model.named_buffers()}  # the virtual model's own BN statistics
        state = {**dict(zip(names, unrolled)), **buffers}
        logits = torch.func.functional_call(model, state, (vx,), {"weights": alpha.softmax(dim=-1)})
        loss = F.cross_entropy(logits, vy)
        direct, *v = torch.autograd.grad(loss, [alpha, *unrolled])
        return direct - self.lr * self.hessian_vector(x, y, v), logits.detach(), loss.detach()

    def hessian_vector(self, x: Tensor, y: Tensor, v: list[Tensor]) -> Tensor:
        """Return ``d^2 L_train / dalpha dw . v`` at the current weights, by central differences."""
        params = list(self.model.parameters())
        r = self.args.finite_difference_r / torch.cat([t.reshape(-1) for t in v]).norm()
        gradients = []
        for sign in (1.0, -2.0):  # w + R v, then w - R v
            with torch.no_grad():
                for p, t in zip(params, v):
                    p.add_(t, alpha=float(sign * r))
            loss = F.cross_entropy(self.model(x, weights=self.arch.weights()), y)
            gradients.append(torch.autograd.grad(loss, [self.arch.alpha])[0])
        with torch.no_grad():
            for p, t in zip(params, v):
                p.add_(t, alpha=float(r))
        return (gradients[0] - gradients[1]) / (2 * r)

    def step(self, x: Tensor, y: Tensor, vx: Tensor, vy: Tensor) -> None:
        """Second-order ``alpha`` step, then the weight step, as the reference orders them."""
        gradient, logits, loss = self.unrolled_gradient(x, y, vx, vy)
        self.arch.step(gradient)
        self.track("valid", logits, vy, loss)
        logits = self.model(x, weights=self.arch.weights().detach())
        loss = F.cross_entropy(logits, y)
        self.weight_step(loss)
        self.track("train", logits, y, loss)


def search(data: SearchData, args: Args, seed: int, runtime: Runtime | None = None) -> SearchResult:
    """Run DARTS-V2 for ``args.epochs`` epochs on ``data``; the result's times are wall seconds."""
    return run_method(DartsV2, data, args, seed, runtime)
