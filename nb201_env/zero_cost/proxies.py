"""The zero-cost proxies: one function each, computed on our NB201 network from one minibatch at initialisation.

Every function follows its published reference implementation (batch, loss, which layers, sign and sum
conventions); each docstring cites it and says where ours deviates. "Layers" are the ``Conv2d`` and ``Linear``
modules, as in the references; a layer that does not influence the output contributes 0, exactly as a missing
gradient does in the references. Higher scores mean better predicted accuracy for every proxy here.

The gradient-based proxies read the passes of :mod:`nb201_env.zero_cost.passes`, shared where the references'
passes coincide; :mod:`nb201_env.zero_cost.scorer` runs them and times what each proxy needs on its own.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from nb201_env.training._torch import torch
from nb201_env.training.network import InferCell, NB201Network
from nb201_env.zero_cost.passes import weight_layers

nn = torch.nn
F = torch.nn.functional
Tensor = torch.Tensor


def grad_norm(grads: Sequence[Tensor | None]) -> float:
    """Sum over layers of the L2 norm of the loss gradient of the layer's weight.

    Reference: Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021
    (SamsungLabs/zero-cost-nas, ``measures/grad_norm.py``): batch 64, cross-entropy, training mode.
    """
    return float(sum(float(g.detach().norm()) for g in grads if g is not None))


def snip(weights: Sequence[Tensor], grads: Sequence[Tensor | None]) -> float:
    """Sum of ``|w * dL/dw|`` over every layer weight (SNIP's connection sensitivity at a mask of ones).

    Reference: Lee et al., "SNIP: Single-shot Network Pruning based on Connection Sensitivity", ICLR 2019, as a
    proxy in Abdelfattah et al. 2021 (``measures/snip.py``: the gradient of a multiplicative mask of ones, which
    equals ``w * dL/dw``; computed here from the weight gradient directly).
    """
    return float(sum(float((w.detach() * g.detach()).abs().sum()) for w, g in zip(weights, grads) if g is not None))


def fisher(weights: Sequence[Tensor], terms: Sequence[Tensor | None]) -> float:
    """Sum over layers and output channels of the channel's Fisher information, counted once per weight.

    Reference: Theis et al., "Faster gaze prediction with dense networks and Fisher pruning", 2018 and Turner et
    al., "BlockSwap", ICLR 2020, as a proxy in Abdelfattah et al. 2021 (``measures/fisher.py``): per channel
    ``0.5 * mean_n (sum_hw act * dL/dact)^2`` of the layer's output, broadcast to every weight of that channel
    before the sum (so each channel counts ``c_in * k * k`` times, as the reference's sum does).
    """
    return float(sum(float(t.abs().sum()) * int(np.prod(w.shape[1:])) for w, t in zip(weights, terms) if t is not None))


def grasp(weights: Sequence[Tensor], hessian_gradient: Sequence[Tensor | None]) -> float:
    """Sum of ``-w * (H g)`` over every layer weight, ``g`` the loss gradient and ``H`` the loss Hessian.

    Reference: Wang et al., "Picking Winning Tickets Before Training by Preserving Gradient Flow", ICLR 2020, as a
    proxy in Abdelfattah et al. 2021 (``measures/grasp.py``, ``T=1``, one iteration, the sign flipped there so that
    higher is better). Its two forward passes are identical in training mode; ours shares one
    (:mod:`nb201_env.zero_cost.passes`).
    """
    return float(sum(float((-w.detach() * h).sum()) for w, h in zip(weights, hessian_gradient) if h is not None))


def jacob_cov(jacobian: Tensor) -> float:
    """Score the correlation of the input Jacobians over the batch: ``-sum(log(v + k) + 1 / (v + k))``, k = 1e-5.

    ``v`` are the eigenvalues of the correlation matrix of the per-image gradients of the summed logits with
    respect to the input (:func:`~nb201_env.zero_cost.passes.input_jacobian`). NaN when the correlation is
    undefined (every Jacobian constant, e.g. a cell with no path from input to output). Reference: Mellor et al.,
    "Neural Architecture Search without Training", arXiv v1 (2020), as ``jacob_cov`` in Abdelfattah et al. 2021
    (``measures/jacob_cov.py``: logits, batch 64). Ours takes the eigenvalues with ``eigvalsh`` (the matrix is
    symmetric), where the reference's ``eig`` may return them with a zero imaginary part.
    """
    rows = jacobian.reshape(len(jacobian), -1).double().cpu().numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        corrs = np.corrcoef(rows)
    if not np.isfinite(corrs).all():
        return float("nan")
    v = np.linalg.eigvalsh(corrs)
    k = 1e-5
    with np.errstate(divide="ignore", invalid="ignore"):
        score = -np.sum(np.log(v + k) + 1.0 / (v + k))
    return float(score) if np.isfinite(score) else float("nan")


def naswot(net: NB201Network, inputs: Tensor) -> float:
    """Return ``log|K_H|``: the log-determinant of the Hamming-similarity kernel of the ReLU activation codes.

    For each image the binary code is ``pre-activation > 0`` at every ``nn.ReLU`` module call; ``K_H[i, j]``
    counts the units where images ``i`` and ``j`` agree. Reference: Mellor et al., "Neural Architecture Search
    without Training", ICML 2021 (BayesWatch/nas-without-training, ``score_networks.py``, ``hook_logdet``): batch
    128, no augmentation, every ReLU of the official network (each conv edge has its own; every edge runs, as
    in the official code, so ``net`` must be built with ``prune=False``), score ``slogdet(K)[1]`` (``-inf`` when
    ``K`` is singular). ``K`` is accumulated as ``2 c c^T - s 1^T - 1 s^T + D`` (equal to the reference's
    ``c c^T + (1-c)(1-c)^T`` for 0/1 codes, with one matrix product instead of two).
    """
    if any(cell.prune for cell in net.cells if isinstance(cell, InferCell)):
        raise ValueError("naswot needs the network built with prune=False (every edge's ReLU runs, as officially)")
    n = len(inputs)
    kernel = torch.zeros((n, n), dtype=torch.float64, device=inputs.device)
    seen: dict[int, tuple[Tensor, Tensor]] = {}  # conv edges leaving one node see the same input: same codes

    def count(module: nn.Module, args: tuple[Tensor, ...], out: Tensor) -> None:
        pre = args[0]
        known = seen.get(id(pre))
        if known is None or known[0] is not pre:
            codes = (pre.detach().reshape(n, -1) > 0).float()
            ones = codes.sum(1, keepdim=True)
            agree = (2 * codes @ codes.t() - ones - ones.t() + codes.shape[1]).double()
            seen[id(pre)] = known = (pre, agree)
        kernel.add_(known[1])

    handles = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        net.train()
        with torch.no_grad():
            net(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return float(np.linalg.slogdet(kernel.cpu().numpy())[1])


def synflow_network(net: NB201Network, generator: torch.Generator) -> nn.Module:
    """Return the float64 network synflow scores: the same weights without the batch norms of the cells, stem and head.

    The reference (Abdelfattah et al. 2021, ``foresight/models/nasbench2.py`` with ``use_bn=False``) keeps the
    batch norms of the two residual reduction blocks (always built with batch norm there) and gives each cell
    convolution a bias (its cells use non-affine batch norm, hence ``bias=not affine``); both matter once the
    batch norms are gone, so they are rebuilt here, the biases drawn as PyTorch's default ``Conv2d`` bias
    initialisation from ``generator``.
    """
    clone = copy.deepcopy(net)
    clone.stem[1] = nn.Identity()
    clone.lastact[0] = nn.Identity()
    for cell in clone.cells:
        if not isinstance(cell, InferCell):
            continue  # a reduction block: keeps its batch norms
        for layer in cell.layers:
            op = getattr(layer, "op", None)
            if isinstance(op, nn.Sequential) and isinstance(op[1], nn.Conv2d):
                conv = op[1]
                bound = 1.0 / float(np.sqrt(conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]))
                bias = torch.empty(conv.out_channels).uniform_(-bound, bound, generator=generator)
                conv.bias = nn.Parameter(bias.to(conv.weight.device))
                op[2] = nn.Identity()
    return clone.double()


def synflow(net: NB201Network, generator: torch.Generator, image_shape: tuple[int, int, int] = (3, 32, 32)) -> float:
    """Sum of ``|w * dR/dw|`` over every layer weight, ``R`` the summed output for an all-ones input, weights ``|w|``.

    Reference: Tanaka et al., "Pruning neural networks without any data by iteratively conserving synaptic flow",
    NeurIPS 2020, as a proxy in Abdelfattah et al. 2021 (``measures/synflow.py``): float64, every parameter and
    buffer replaced by its absolute value, one all-ones image, training mode, on the network of
    :func:`synflow_network`. No data is read: only the image shape (``image_shape``) of the dataset.
    """
    clone = synflow_network(net, generator)
    with torch.no_grad():
        for tensor in clone.state_dict().values():
            tensor.abs_()
    clone.train()
    clone.zero_grad(set_to_none=True)
    first = next(clone.parameters())
    output = clone(torch.ones((1, *image_shape), dtype=torch.float64, device=first.device))
    output.sum().backward()
    layers = weight_layers(clone)
    return float(
        sum(float((m.weight.detach() * m.weight.grad).abs().sum()) for m in layers if m.weight.grad is not None)
    )
