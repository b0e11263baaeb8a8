"""The NB201 supernet: every edge of every cell holds all five ops, run in the forward mode a searcher needs.

The macro network is :class:`~nb201_env.training.network.NB201Network`'s (stem, three stages of N cells joined
by the residual reduction blocks, BN-ReLU, pooling, linear); only the cells differ. A :class:`SearchCell`
holds the five ops on each of its six edges and mixes them in one of three ways, as in the NB201 reference
code (``NAS201SearchCell`` in D-X-Y/AutoDL-Projects ``xautodl/models/cell_searchs/search_cells.py``):

* :meth:`Supernet.forward_mixed`: each edge is ``sum_k w[e, k] * op_k(x)`` (DARTS with ``w = softmax(alpha)``,
  and SETN's architecture step);
* :meth:`Supernet.forward_path`: each edge runs the one op of a sampled cell (RSPS, SETN's and ENAS's weight
  steps, and every evaluation of a candidate cell);
* :meth:`Supernet.forward_hard`: GDAS's hard Gumbel-softmax: the edge runs only op ``a = index[e]`` and returns
  ``w[e, a] * op_a(x) + sum_{k != a} w[e, k]``, where the weights are straight-through one-hot
  (value 0 or 1, gradient of the softmax), so every architecture parameter of the edge gets a gradient.

All cells share one set of weights per mode (one ``(6, 5)`` tensor or one cell), as in the reference. The
``none`` op is never run: its output is exactly zero, so neither the output nor any gradient changes
(``d out / d w[e, none] = none(x) = 0``). With one-hot weights every mode computes the same function, with the
same parameter gradients, as the single-path network of that cell (``tests/training/test_supernet.py``);
:meth:`Supernet.path_state_dict` gives that network's state dict.

Cell ops use BN without affine parameters by default (the reference's ``affine=False``), with running
statistics (``track_running_stats=True``: the ``BN=1`` of the reference's documented commands). The stem,
reduction blocks and last BN keep their affine parameters, as in the reference.
"""

from __future__ import annotations

from collections.abc import Callable

from nb201_env.space import AVG_POOL, CONV1X1, CONV3X3, EDGES, NONE, NUM_EDGES, NUM_NODES, NUM_OPS, SKIP, Arch
from nb201_env.training._torch import torch
from nb201_env.training.network import ReLUConvBN, ResNetBasicblock, make_op

nn = torch.nn
Tensor = torch.Tensor
EdgeTerm = Callable[[int, int, Tensor, Callable[[], Tensor]], Tensor | None]
"""``term(edge, source_node, x, relu_x)`` returns the edge's contribution to its target node (``None``: nothing)."""


INCOMING = tuple(tuple((e, frm) for e, (to, frm) in enumerate(EDGES) if to == node) for node in range(1, NUM_NODES))
"""Per node 1..3, its incoming ``(edge, source node)`` pairs."""


def make_search_op(op: int, channels: int, affine: bool, track_running_stats: bool) -> nn.Module:
    """Build one candidate op of an edge, with the supernet's BN settings (module names as in NB201Network)."""
    module = make_op(op, channels)
    if isinstance(module, ReLUConvBN):
        module.op[2] = nn.BatchNorm2d(channels, affine=affine, track_running_stats=track_running_stats)
    return module


class SearchCell(nn.Module):
    """One NB201 cell with all five ops on each of its six edges (``edges[e][k]`` is op ``k`` of edge ``e``)."""

    def __init__(self, channels: int, affine: bool = False, track_running_stats: bool = True) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            nn.ModuleList(make_search_op(op, channels, affine, track_running_stats) for op in range(NUM_OPS))
            for _ in EDGES
        )

    def run(self, x: Tensor, term: EdgeTerm) -> Tensor:
        """Compute node 3: node ``i`` sums ``term(e, j, node_j, relu(node_j))`` over its incoming edges."""
        nodes = [x]
        relus: dict[int, Tensor] = {}

        def relu_of(j: int) -> Callable[[], Tensor]:
            def get() -> Tensor:  # conv ops leaving one node share its ReLU (exact, and cheaper)
                if j not in relus:
                    relus[j] = torch.relu(nodes[j])
                return relus[j]

            return get

        for incoming in INCOMING:
            total: Tensor | None = None
            for e, frm in incoming:
                out = term(e, frm, nodes[frm], relu_of(frm))
                if out is not None:
                    total = out if total is None else total + out
            if total is None:  # every edge into the node is `none`: the zero map
                total = torch.zeros_like(x)
            elif total.dim() == 0:  # only GDAS's scalar terms: value 0, but they carry gradients
                total = torch.zeros_like(x) + total
            nodes.append(total)
        return nodes[-1]

    def apply_op(self, e: int, k: int, x: Tensor, relu_x: Callable[[], Tensor]) -> Tensor:
        """Return op ``k`` of edge ``e`` on ``x`` (``k`` is not ``none``)."""
        layer = self.edges[e][k]
        if k in (CONV1X1, CONV3X3):
            return layer.after_relu(relu_x())
        return layer(x)

    def forward_mixed(self, x: Tensor, weights: Tensor) -> Tensor:
        """Each edge outputs ``sum_k weights[e, k] * op_k(x)`` (``weights``: ``(6, 5)``)."""

        def term(e: int, _: int, src: Tensor, relu_x: Callable[[], Tensor]) -> Tensor:
            out = weights[e, SKIP] * src
            for k in (CONV1X1, CONV3X3, AVG_POOL):
                out = out + weights[e, k] * self.apply_op(e, k, src, relu_x)
            return out

        return self.run(x, term)

    def forward_path(self, x: Tensor, ops: tuple[int, ...]) -> Tensor:
        """Each edge runs the one op ``ops[e]``."""

        def term(e: int, _: int, src: Tensor, relu_x: Callable[[], Tensor]) -> Tensor | None:
            return None if ops[e] == NONE else self.apply_op(e, ops[e], src, relu_x)

        return self.run(x, term)

    def forward_hard(self, x: Tensor, weights: Tensor, index: tuple[int, ...]) -> Tensor:
        """GDAS: edge ``e`` outputs ``weights[e, a] * op_a(x) + sum_{k != a} weights[e, k]`` with ``a = index[e]``."""

        def term(e: int, _: int, src: Tensor, relu_x: Callable[[], Tensor]) -> Tensor:
            a = index[e]
            rest = weights[e].sum() - weights[e, a]  # the unselected weights: value 0, gradient 1 each
            if a == NONE:
                return rest
            return weights[e, a] * self.apply_op(e, a, src, relu_x) + rest

        return self.run(x, term)


def _check_size(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


class Supernet(nn.Module):
    """The NB201 network with a :class:`SearchCell` in every cell position.

    Args:
        num_classes: classifier outputs (10 for CIFAR-10).
        channels: stem width C (16 in NB201).
        cells_per_stage: cells N per stage (5 in NB201).
        affine: affine parameters in the cell ops' BN (the reference searches without them).
        track_running_stats: running statistics in the cell ops' BN (the reference's ``BN`` switch; 1 in its
            documented commands); without them, evaluation also normalizes with batch statistics.
    """

    def __init__(
        self,
        num_classes: int = 10,
        channels: int = 16,
        cells_per_stage: int = 5,
        affine: bool = False,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        _check_size("num_classes", num_classes, 1)
        _check_size("channels", channels, 1)
        _check_size("cells_per_stage", cells_per_stage, 0)
        for name, flag in (("affine", affine), ("track_running_stats", track_running_stats)):
            if not isinstance(flag, bool):
                raise ValueError(f"{name} must be True or False, got {flag!r}")
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(channels)
        )
        cells: list[nn.Module] = []
        c = channels
        for stage in range(3):
            if stage > 0:
                cells.append(ResNetBasicblock(c, 2 * c))
                c *= 2
            cells.extend(SearchCell(c, affine, track_running_stats) for _ in range(cells_per_stage))
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def _run(self, x: Tensor, cell: Callable[[SearchCell, Tensor], Tensor]) -> Tensor:
        feature = self.stem(x)
        for module in self.cells:
            feature = cell(module, feature) if isinstance(module, SearchCell) else module(feature)
        out = self.global_pooling(self.lastact(feature))
        return self.classifier(out.flatten(1))

    def forward(
        self,
        x: Tensor,
        weights: Tensor | None = None,
        path: int | Arch | tuple[int, ...] | None = None,
        index: tuple[int, ...] | None = None,
    ) -> Tensor:
        """Return logits: mixed by ``weights``; one ``path``; or hard (``weights`` and GDAS's ``index``).

        The one entry point (so ``torch.func.functional_call`` and hooks see every mode): exactly one of
        ``weights`` (mixed), ``path``, or ``weights`` with ``index`` (hard) must be given.
        """
        if path is not None and weights is None and index is None:
            return self.forward_path(x, path)
        if weights is not None and path is None:
            return self.forward_mixed(x, weights) if index is None else self.forward_hard(x, weights, index)
        raise ValueError("pass weights (mixed), path (one cell) or weights and index (hard), and nothing else")

    def forward_mixed(self, x: Tensor, weights: Tensor) -> Tensor:
        """Return logits with every edge mixing its ops by ``weights`` (``(6, 5)``, e.g. ``softmax(alpha)``)."""
        _check_weights(weights)
        return self._run(x, lambda cell, f: cell.forward_mixed(f, weights))

    def forward_path(self, x: Tensor, arch: int | Arch | tuple[int, ...]) -> Tensor:
        """Return logits of one cell (official index, :class:`Arch` or six op ids), every cell alike."""
        ops = _ops_of(arch)
        return self._run(x, lambda cell, f: cell.forward_path(f, ops))

    def forward_hard(self, x: Tensor, weights: Tensor, index: tuple[int, ...]) -> Tensor:
        """Return GDAS's logits: op ``index[e]`` on edge ``e``, scaled by the straight-through ``weights``."""
        _check_weights(weights)
        ops = _ops_of(tuple(index))
        return self._run(x, lambda cell, f: cell.forward_hard(f, weights, ops))

    def path_state_dict(self, arch: int | Arch | tuple[int, ...]) -> dict[str, Tensor]:
        """Return the state dict of :class:`NB201Network` for ``arch`` holding this supernet's weights of that cell.

        Keys of the unselected ops are left out; with ``affine=False`` the cell BN weights and biases are
        absent too (load with ``strict=False``: the network's own are 1 and 0, which is what no affine means).
        """
        ops = _ops_of(arch)
        out: dict[str, Tensor] = {}
        for key, value in self.state_dict().items():
            parts = key.split(".")
            if len(parts) > 4 and parts[0] == "cells" and parts[2] == "edges":
                edge, op = int(parts[3]), int(parts[4])
                if op != ops[edge]:
                    continue
                key = ".".join([*parts[:2], "layers", parts[3], *parts[5:]])
            out[key] = value
        return out


def _ops_of(arch: int | Arch | tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(arch, Arch):
        return arch.ops
    if isinstance(arch, tuple):
        return Arch.from_ops(arch).ops  # validated: six op ids in 0..4
    return Arch(arch).ops


def _check_weights(weights: Tensor) -> None:
    if tuple(weights.shape) != (NUM_EDGES, NUM_OPS):
        raise ValueError(f"architecture weights must have shape ({NUM_EDGES}, {NUM_OPS}), got {tuple(weights.shape)}")


def skip_share(arch: int | Arch | tuple[int, ...]) -> float:
    """Return the fraction of the six edges that are ``skip_connect`` (DARTS's collapse drives it to 1)."""
    return sum(op == SKIP for op in _ops_of(arch)) / NUM_EDGES
