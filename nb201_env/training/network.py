"""The NAS-Bench-201 macro network with one cell architecture, as in the official ``TinyNetwork``.

Stem (3x3 conv, no bias, + BN) -> N cells at C -> residual reduction block -> N cells at 2C -> reduction
-> N cells at 4C -> BN-ReLU -> global average pool -> Linear. Module names follow the official code
(``stem``, ``cells.i.layers.e.op``, ``conv_a``/``conv_b``/``downsample``, ``lastact``, ``classifier``) so
that official state dicts line up. Every edge of every cell is built, even one that cannot reach the cell
output, so the parameter count equals :func:`nb201_env.complexity.param_count`.

The forward pass skips work whose result cannot change the output (``none`` edges and edges out of nodes
that never reach node 3) and shares one ReLU between conv edges leaving the same node. Both are exact: the
output and every gradient of a parameter that influences it are unchanged. Build with ``prune=False`` to
run every edge like the official code (used to check the FLOP count with hooks).
"""

from __future__ import annotations

from nb201_env.space import AVG_POOL, CONV1X1, CONV3X3, EDGES, NONE, NUM_NODES, SKIP, Arch
from nb201_env.training._torch import torch

nn = torch.nn
Tensor = torch.Tensor


class ReLUConvBN(nn.Module):
    """ReLU -> Conv (no bias) -> BN with affine parameters: the ``nor_conv_*`` ops."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=True, track_running_stats=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.op(x)

    def after_relu(self, x: Tensor) -> Tensor:
        """Apply conv and BN to an input that has already been through ReLU."""
        return self.op[2](self.op[1](x))


class Pooling(nn.Module):
    """3x3 average pool, stride 1, padding 1, padded positions not counted: the ``avg_pool_3x3`` op."""

    def __init__(self) -> None:
        super().__init__()
        self.op = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` op: multiply by zero (keeps the graph, as the official op does)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.mul(0.0)


def make_op(op: int, channels: int) -> nn.Module:
    """Build one cell edge op (stride 1, same channels in and out)."""
    if op == NONE:
        return Zero()
    if op == SKIP:
        return nn.Identity()
    if op == CONV1X1:
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if op == CONV3X3:
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if op == AVG_POOL:
        return Pooling()
    raise ValueError(f"unknown op id {op!r}; valid op ids are 0..4")


def _live_nodes(ops: tuple[int, ...]) -> list[bool]:
    """Return which nodes can influence node 3 through non-``none`` edges."""
    live = [False] * NUM_NODES
    live[NUM_NODES - 1] = True
    for (to, frm), op in reversed(list(zip(EDGES, ops))):  # edges into later nodes come last
        if op != NONE and live[to]:
            live[frm] = True
    return live


class InferCell(nn.Module):
    """One NB201 cell: node ``i`` is the sum over ``j < i`` of ``op_(i,j)(node j)``; node 3 is the output."""

    def __init__(self, ops: tuple[int, ...], channels: int, prune: bool = True) -> None:
        super().__init__()
        self.ops = tuple(ops)
        self.layers = nn.ModuleList(make_op(op, channels) for op in self.ops)  # every edge, in EDGES order
        live = _live_nodes(self.ops) if prune else [True] * NUM_NODES
        # the plan: per node 1..3, whether it is computed and the (edge, source) pairs summed into it
        self.plan: list[tuple[bool, list[tuple[int, int]]]] = []
        for node in range(1, NUM_NODES):
            terms = [(e, frm) for e, (to, frm) in enumerate(EDGES) if to == node and (not prune or self.ops[e] != NONE)]
            self.plan.append((live[node], terms if live[node] else []))
        self.prune = prune

    def forward(self, x: Tensor) -> Tensor:
        nodes: list[Tensor | None] = [x]
        relu: dict[int, Tensor] = {}
        for live, terms in self.plan:
            if not live:  # cannot reach the output: never computed, never read
                nodes.append(None)
                continue
            total: Tensor | None = None
            for e, frm in terms:
                src = nodes[frm]
                assert src is not None  # a live node only reads live nodes
                layer = self.layers[e]
                if self.prune and isinstance(layer, ReLUConvBN):
                    if frm not in relu:  # conv edges leaving one node share its ReLU
                        relu[frm] = torch.relu(src)
                    out = layer.after_relu(relu[frm])
                else:
                    out = layer(src)
                total = out if total is None else total + out
            # a live node whose inputs are all `none` is the zero map; ops on it still matter (BN adds its bias)
            nodes.append(torch.zeros_like(x) if total is None else total)
        out = nodes[-1]
        assert out is not None
        return out


class ResNetBasicblock(nn.Module):
    """The reduction block: ReLU-Conv3x3(stride 2)-BN, ReLU-Conv3x3-BN, plus AvgPool(2)+Conv1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """The NB201 network for one architecture; returns logits (the official one returns ``(features, logits)``).

    Args:
        arch: official index (0..15624) or :class:`~nb201_env.space.Arch`.
        num_classes: classifier outputs (10, 100 or 120 for the NB201 datasets).
        channels: stem width C (the stages have C, 2C, 4C channels); 16 in NB201.
        cells_per_stage: cells N in each of the three stages; 5 in NB201.
        prune: skip work that cannot change the output (exact); ``False`` runs every edge like the official code.
    """

    def __init__(
        self,
        arch: int | Arch,
        num_classes: int = 10,
        channels: int = 16,
        cells_per_stage: int = 5,
        prune: bool = True,
    ) -> None:
        super().__init__()
        for name, value in (("num_classes", num_classes), ("channels", channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if isinstance(cells_per_stage, bool) or not isinstance(cells_per_stage, int) or cells_per_stage < 0:
            raise ValueError(f"cells_per_stage must be an int >= 0, got {cells_per_stage!r}")
        self.arch = arch if isinstance(arch, Arch) else Arch(arch)
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(channels)
        )
        cells: list[nn.Module] = []
        c = channels
        for stage in range(3):
            if stage > 0:
                cells.append(ResNetBasicblock(c, 2 * c))
                c *= 2
            cells.extend(InferCell(self.arch.ops, c, prune) for _ in range(cells_per_stage))
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        feature = self.stem(x)
        for cell in self.cells:
            feature = cell(feature)
        out = self.global_pooling(self.lastact(feature))
        return self.classifier(out.flatten(1))


def count_parameters(model: nn.Module) -> int:
    """Return the number of parameters (BN running statistics are buffers and do not count)."""
    return sum(p.numel() for p in model.parameters())
