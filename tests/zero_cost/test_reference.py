"""Our fused proxy computation equals a literal re-implementation of each reference, step by step.

The literal versions below follow the references' algorithms as published (SamsungLabs/zero-cost-nas measures;
NASWOT's ``score_networks.py``): a fresh copy of the initial network per proxy, SNIP's multiplicative mask of
ones, Fisher's identity op hooked after each layer, GraSP's two separate passes, NASWOT's two kernels ``K`` and
``K2`` over every ReLU visited by a backward pass. They are slow and obvious; ours shares passes.
"""

from __future__ import annotations

import copy
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from nb201_env.space import Arch  # noqa: E402
from nb201_env.training.network import NB201Network  # noqa: E402
from nb201_env.zero_cost.scorer import init_seed, score  # noqa: E402

from zero_cost_helpers import SMALL as SHAPE  # noqa: E402

ARCHS = [
    Arch.from_ops([3, 3, 3, 1, 3, 2]).index,  # the best CIFAR-10 cell
    Arch.from_ops([2, 4, 1, 3, 0, 2]).index,  # pooling, skip and a none edge
    Arch.from_ops([3, 2, 2, 1, 3, 0]).index,  # node 2 reaches the output only through `none`: dead conv edges
]


def initial_network(index: int, seed: int) -> NB201Network:
    """The network our scorer starts from (unpruned: the official layout, every edge run)."""
    with torch.random.fork_rng():
        torch.manual_seed(init_seed(seed, index))
        return NB201Network(Arch(index), 10, prune=False, **SHAPE)


def layers(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def literal_grad_norm(net, x, y):
    net = copy.deepcopy(net).train()
    F.cross_entropy(net(x), y).backward()
    return sum(float(m.weight.grad.norm()) if m.weight.grad is not None else 0.0 for m in layers(net))


def literal_snip(net, x, y):
    net = copy.deepcopy(net).train()
    for m in layers(net):
        m.weight_mask = nn.Parameter(torch.ones_like(m.weight))
        m.weight.requires_grad = False
        if isinstance(m, nn.Conv2d):
            m.forward = types.MethodType(
                lambda self, inp: F.conv2d(inp, self.weight * self.weight_mask, self.bias, self.stride, self.padding), m
            )
        else:
            m.forward = types.MethodType(lambda self, inp: F.linear(inp, self.weight * self.weight_mask, self.bias), m)
    F.cross_entropy(net(x), y).backward()
    return sum(float(m.weight_mask.grad.abs().sum()) for m in layers(net) if m.weight_mask.grad is not None)


def literal_fisher(net, x, y):
    net = copy.deepcopy(net).train()
    for m in layers(net):
        m.fisher, m.dummy = None, nn.Identity()
        original = m.forward

        def forward(self, inp, original=original):
            self.act = self.dummy(original(inp))
            return self.act

        m.forward = types.MethodType(forward, m)

        def hook(module, grad_input, grad_output, layer=m):
            act, grad = layer.act.detach(), grad_output[0].detach()
            g = (act * grad).sum(dim=tuple(range(2, act.dim()))) if act.dim() > 2 else act * grad
            term = g.pow(2).mean(0).mul(0.5)
            layer.fisher = term if layer.fisher is None else layer.fisher + term

        m.dummy.register_full_backward_hook(hook)
    F.cross_entropy(net(x), y).backward()
    total = 0.0
    for m in layers(net):
        per_channel = m.fisher.abs() if m.fisher is not None else torch.zeros(m.weight.shape[0])
        total += float(per_channel[:, None].expand(-1, int(np.prod(m.weight.shape[1:]))).sum())
    return total


def literal_grasp(net, x, y):
    net = copy.deepcopy(net).train()
    weights = [m.weight for m in layers(net)]
    grad_w = torch.autograd.grad(F.cross_entropy(net(x), y), weights, allow_unused=True)
    grad_f = torch.autograd.grad(F.cross_entropy(net(x), y), weights, create_graph=True, allow_unused=True)
    z = sum((gw.data * gf).sum() for gw, gf in zip(grad_w, grad_f) if gw is not None)
    z.backward()
    return sum(float((-w.data * w.grad).sum()) for w in weights if w.grad is not None)


def literal_jacob_cov(net, x):
    net = copy.deepcopy(net).train()
    x = x.clone().requires_grad_(True)
    out = net(x)
    out.backward(torch.ones_like(out))
    jacob = x.grad.reshape(len(x), -1).numpy()
    v, _ = np.linalg.eig(np.corrcoef(jacob))
    return float(np.real(-np.sum(np.log(v + 1e-5) + 1.0 / (v + 1e-5))))


def literal_naswot(net, x):
    net = copy.deepcopy(net).train()
    n = len(x)
    net.K = np.zeros((n, n))

    def forward_hook(module, inp, out):
        if not getattr(module, "visited_backwards", False):
            if out.requires_grad:  # the reference's backward hook: marks modules a gradient reaches
                out.register_hook(lambda grad, m=module: setattr(m, "visited_backwards", True))
            return
        codes = (inp[0].view(n, -1) > 0).float()
        net.K = net.K + (codes @ codes.t()).numpy() + ((1.0 - codes) @ (1.0 - codes.t())).numpy()

    for m in net.modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_hook(forward_hook)
    x1 = x.clone().requires_grad_(True)
    out = net(x1)
    out.backward(torch.ones_like(out))
    net(x.clone())
    return float(np.linalg.slogdet(net.K)[1])


@pytest.mark.parametrize("index", ARCHS)
def test_each_proxy_equals_its_literal_reference(batch, index: int) -> None:
    ours = score(index, batch, seed=3, names=("naswot", "jacob_cov", "snip", "grad_norm", "grasp", "fisher"), **SHAPE)
    net = initial_network(index, 3)
    x, y = batch.tensor(), torch.from_numpy(batch.labels)
    small = (x[:64], y[:64])
    expected = {
        "grad_norm": literal_grad_norm(net, *small),
        "snip": literal_snip(net, *small),
        "fisher": literal_fisher(net, *small),
        "grasp": literal_grasp(net, *small),
        "jacob_cov": literal_jacob_cov(net, x[:64]),
        "naswot": literal_naswot(net, x),
    }
    for name, value in expected.items():
        assert ours.scores[name] == pytest.approx(value, rel=2e-4, abs=1e-9), name
