"""The forward and backward passes the gradient-based proxies read, shared where the references' passes coincide.

The references compute each proxy from its own copy of one initialised network, on the same minibatch, in
training mode (batch-norm statistics of the batch), so their forward passes are identical: one forward serves
``jacob_cov`` (gradient of the summed logits with respect to the input), ``grad_norm``/``snip``/``fisher``
(gradient of the cross-entropy with respect to the weights) and ``grasp`` (that gradient's Hessian product).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nb201_env.training._torch import torch

nn = torch.nn
F = torch.nn.functional
Tensor = torch.Tensor


def weight_layers(net: nn.Module) -> list[nn.Module]:
    """Return the ``Conv2d`` and ``Linear`` modules in module order (the layers every reference scores)."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@dataclass
class SharedForward:
    """One training-mode forward of the minibatch, kept for the backward passes of several proxies.

    Attributes:
        inputs: the images (requiring grad when the input Jacobian is wanted).
        logits, loss: the network output and its cross-entropy.
        weights: the weight of each layer of :func:`weight_layers`.
        fisher: per layer, ``0.5 * mean_n (sum_hw act * dL/dact)^2`` per output channel, filled by
            :func:`weight_gradients` (``None`` where the layer does not reach the loss).
    """

    inputs: Tensor
    logits: Tensor
    loss: Tensor | None
    weights: list[Tensor]
    fisher: list[Tensor | None]
    _collect: list[bool] = field(default_factory=lambda: [False])


def shared_forward(net: nn.Module, inputs: Tensor, targets: Tensor | None, input_grad: bool = False) -> SharedForward:
    """Run the forward pass in training mode, hooking each layer's output for the Fisher terms.

    ``targets=None`` skips the loss (a pass only for the input Jacobian).
    """
    layers = weight_layers(net)
    fisher: list[Tensor | None] = [None] * len(layers)
    collect = [False]  # the Fisher terms read only the loss gradient, not the Jacobian's or the Hessian's

    def keep_fisher(position: int):  # the reference hooks an identity op after each layer's output
        def on_grad(act: Tensor, grad: Tensor) -> None:
            if not collect[0]:
                return
            act, grad = act.detach(), grad.detach()
            g_nk = (act * grad).sum(dim=tuple(range(2, act.dim()))) if act.dim() > 2 else act * grad
            term = g_nk.pow(2).mean(0).mul(0.5)
            fisher[position] = term if fisher[position] is None else fisher[position] + term

        def hook(module: nn.Module, args: tuple[Tensor, ...], out: Tensor) -> None:
            if out.requires_grad:
                act = out.detach()  # a hook that held `out` itself would be a cycle through C++: never freed
                out.register_hook(lambda grad: on_grad(act, grad))

        return hook

    handles = [layer.register_forward_hook(keep_fisher(p)) for p, layer in enumerate(layers)]
    try:
        net.train()
        net.zero_grad(set_to_none=True)
        x = inputs.detach().clone().requires_grad_(True) if input_grad else inputs
        logits = net(x)
    finally:
        for handle in handles:
            handle.remove()
    loss = F.cross_entropy(logits, targets) if targets is not None else None
    return SharedForward(x, logits, loss, [layer.weight for layer in layers], fisher, collect)


def input_jacobian(fp: SharedForward) -> Tensor:
    """Return the gradient of the summed logits with respect to each input image (the graph is kept)."""
    if not fp.inputs.requires_grad:
        raise ValueError("the shared forward was run without input_grad=True")
    (jacob,) = torch.autograd.grad(fp.logits.sum(), fp.inputs, retain_graph=True, allow_unused=True)
    return torch.zeros_like(fp.inputs) if jacob is None else jacob.detach()  # None: no path from the input


def weight_gradients(fp: SharedForward, create_graph: bool = False) -> list[Tensor | None]:
    """Return the loss gradient of every layer weight (``None`` where unused) and fill ``fp.fisher``."""
    if fp.loss is None:
        raise ValueError("the shared forward was run without targets: it has no loss")
    fp._collect[0] = True
    try:
        grads = torch.autograd.grad(
            fp.loss, fp.weights, retain_graph=True, create_graph=create_graph, allow_unused=True
        )
    finally:
        fp._collect[0] = False
    return list(grads)


def hessian_gradient(fp: SharedForward, grads: list[Tensor | None]) -> list[Tensor | None]:
    """Return ``H g`` per weight, ``H`` the loss Hessian and ``g`` the gradients (taken with ``create_graph``)."""
    z: Tensor | None = None
    for g in grads:
        if g is not None and g.requires_grad:
            term = (g.detach() * g).sum()
            z = term if z is None else z + term
    if z is None:  # no weight reaches the loss: H g = 0
        return [None] * len(grads)
    hg = torch.autograd.grad(z, fp.weights, allow_unused=True)
    return [h.detach() if h is not None else None for h in hg]
