"""K NB201 networks as one module, for training several architectures in one model step.

Both classes are built from K already-initialised :class:`~nb201_env.training.network.NB201Network` s (so
each architecture keeps the initialisation its own seed gives it alone) and map a list of input batches,
one per data stream, to logits ``(K, B, classes)``; architecture ``k`` reads stream ``stream_of[k]``, or the
only batch when one is given (evaluation).

- :class:`GroupedNetwork` stacks the K networks along the channel axis (``(B, K*C, H, W)``): the stem,
  reduction blocks and head are grouped convolutions / per-channel BN over all K, and on each cell edge
  every op kind is computed once for the architectures that chose it (a gather of their channels, a
  grouped convolution, a scatter-add into the node). BN statistics are per channel, hence per
  architecture; no parameter is shared, so gradients of a summed loss stay independent. Edges a network
  prunes (``none``, or unable to reach the cell output) are skipped for that architecture here too, and
  their never-used parameters are not copied. Few, large kernels: the layout for GPUs.
- :class:`PerArchNetworks` keeps the K networks as they are and calls each in turn: the same kernels as
  training alone. On small CPUs oneDNN's grouped convolutions with 8-16 channels per group are up to 2x
  slower than separate ones (measured in ``benchmarks/perf_training.py``), so this is the CPU layout.
"""

from __future__ import annotations

from collections.abc import Sequence

from nb201_env.space import AVG_POOL, CONV1X1, CONV3X3, EDGES, NUM_NODES, SKIP
from nb201_env.training._torch import torch
from nb201_env.training.network import InferCell, NB201Network, ResNetBasicblock

nn = torch.nn
F = torch.nn.functional
Tensor = torch.Tensor
OP_KINDS = (SKIP, CONV1X1, CONV3X3, AVG_POOL)  # `none` edges are never computed


def _check_streams(nets: Sequence[NB201Network], stream_of: Sequence[int]) -> tuple[int, ...]:
    if not nets or len(stream_of) != len(nets):
        raise ValueError(f"need one stream per network, got {len(nets)} networks and streams {list(stream_of)}")
    if sorted(set(stream_of)) != list(range(max(stream_of) + 1)):
        raise ValueError(f"streams must number 0..S-1 with none unused, got {list(stream_of)}")
    return tuple(int(s) for s in stream_of)


def _stack_bn(bns: Sequence[nn.BatchNorm2d]) -> nn.BatchNorm2d:
    """Return one BN over the concatenated channels of several (the same per-channel computation)."""
    first = bns[0]
    out = nn.BatchNorm2d(sum(b.num_features for b in bns), eps=first.eps, momentum=first.momentum)
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(out, name).copy_(torch.cat([getattr(b, name) for b in bns]))
        out.num_batches_tracked.copy_(first.num_batches_tracked)
    return out


class GroupedConv(nn.Module):
    """Same-shape convolutions (+ BN) of several networks as one grouped convolution over stacked channels.

    The group count follows the input: a 3-channel input shared by all (the stem reading one data stream)
    is convolved densely into every network's channels.
    """

    def __init__(self, convs: Sequence[nn.Conv2d], bns: Sequence[nn.BatchNorm2d] | None = None) -> None:
        super().__init__()
        first = convs[0]
        self.weight = nn.Parameter(torch.cat([c.weight.detach() for c in convs]))
        self.stride, self.padding, self.in_per_group = first.stride, first.padding, first.in_channels
        self.bn = _stack_bn(bns) if bns else None

    def forward(self, x: Tensor) -> Tensor:
        out = F.conv2d(x, self.weight, None, self.stride, self.padding, groups=x.shape[1] // self.in_per_group)
        return out if self.bn is None else self.bn(out)


def _relu_conv_bn(blocks: Sequence[nn.Module]) -> GroupedConv:
    """Stack ``ReLUConvBN`` blocks (their ReLU is applied by the caller)."""
    return GroupedConv([b.op[1] for b in blocks], [b.op[2] for b in blocks])


class GroupedCell(nn.Module):
    """One cell position of K networks: per edge, each op kind computed once for the networks that chose it."""

    def __init__(self, cells: Sequence[InferCell], channels: int) -> None:
        super().__init__()
        k = len(cells)
        self.convs = nn.ModuleDict()
        # per node 1..3: (source node, op kind, conv key or "", index buffer name or "" for all K)
        self.plan: list[list[tuple[int, int, str, str]]] = []
        for node in range(1, NUM_NODES):
            terms = []
            for e, (to, frm) in enumerate(EDGES):
                if to != node:
                    continue
                for kind in OP_KINDS:  # who computes edge e with this op (a pruned edge is in no plan)
                    members = [i for i, c in enumerate(cells) if c.ops[e] == kind and (e, frm) in c.plan[node - 1][1]]
                    if not members:
                        continue
                    key = f"e{e}_op{kind}"
                    index = ""
                    if len(members) < k:
                        index = f"index_{key}"
                        rows = [torch.arange(m * channels, (m + 1) * channels) for m in members]
                        self.register_buffer(index, torch.cat(rows), persistent=False)
                    if kind in (CONV1X1, CONV3X3):
                        self.convs[key] = _relu_conv_bn([cells[m].layers[e] for m in members])
                    terms.append((frm, kind, key if kind in (CONV1X1, CONV3X3) else "", index))
            self.plan.append(terms)

    def forward(self, x: Tensor) -> Tensor:
        nodes = [x]
        relu: dict[int, Tensor] = {}
        for terms in self.plan:
            total: Tensor | None = None
            for frm, kind, key, index_name in terms:
                src = nodes[frm]
                if key:  # conv edges leaving one node share its ReLU, as in the single network
                    if frm not in relu:
                        relu[frm] = torch.relu(src)
                    src = relu[frm]
                index = getattr(self, index_name) if index_name else None
                if index is not None:
                    src = src.index_select(1, index)
                if kind == AVG_POOL:
                    out = F.avg_pool2d(src, 3, 1, 1, count_include_pad=False)
                else:
                    out = self.convs[key](src) if key else src
                if index is None:
                    total = out if total is None else total + out
                else:  # the other networks' channels are untouched (zero if this is the first term)
                    total = (torch.zeros_like(x) if total is None else total).index_add(1, index, out)
            # channels of a network without terms here stay zero: its node is the zero map or never read
            nodes.append(torch.zeros_like(x) if total is None else total)
        return nodes[-1]


class GroupedReduction(nn.Module):
    """The residual reduction blocks of K networks."""

    def __init__(self, blocks: Sequence[ResNetBasicblock]) -> None:
        super().__init__()
        self.conv_a = _relu_conv_bn([b.conv_a for b in blocks])
        self.conv_b = _relu_conv_bn([b.conv_b for b in blocks])
        self.downsample = GroupedConv([b.downsample[1] for b in blocks])

    def forward(self, x: Tensor) -> Tensor:
        shortcut = self.downsample(F.avg_pool2d(x, 2, 2))
        return shortcut + self.conv_b(torch.relu(self.conv_a(torch.relu(x))))


class GroupedNetwork(nn.Module):
    """K NB201 networks with their channels stacked (see the module docstring).

    Args:
        nets: the initialised networks (same classes, channels and cells per stage; any cells).
        stream_of: the data stream each network reads (numbered 0..S-1).
    """

    def __init__(self, nets: Sequence[NB201Network], stream_of: Sequence[int]) -> None:
        super().__init__()
        self.stream_of = _check_streams(nets, stream_of)
        self.k = len(nets)
        self.stem = GroupedConv([n.stem[0] for n in nets], [n.stem[1] for n in nets])
        layers: list[nn.Module] = []
        channels = nets[0].stem[0].out_channels
        for position, first in enumerate(nets[0].cells):
            group = [n.cells[position] for n in nets]
            if isinstance(first, ResNetBasicblock):
                layers.append(GroupedReduction(group))  # type: ignore[arg-type]
                channels *= 2
            else:
                layers.append(GroupedCell(group, channels))  # type: ignore[arg-type]
        self.cells = nn.ModuleList(layers)
        self.lastact = _stack_bn([n.lastact[0] for n in nets])
        self.classifier_weight = nn.Parameter(torch.stack([n.classifier.weight.detach() for n in nets]))
        self.classifier_bias = nn.Parameter(torch.stack([n.classifier.bias.detach() for n in nets])[:, None, :])

    def forward(self, streams: Sequence[Tensor]) -> Tensor:
        if len(streams) == 1:  # every network reads the same images: a dense stem convolution
            x = streams[0]
        else:
            channels_last = streams[0].is_contiguous(memory_format=torch.channels_last)
            x = torch.cat([streams[s] for s in self.stream_of], dim=1)
            x = x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        feature = self.stem(x)
        for cell in self.cells:
            feature = cell(feature)
        pooled = F.adaptive_avg_pool2d(torch.relu(self.lastact(feature)), 1).flatten(1)  # (B, K*C)
        per_net = pooled.view(len(pooled), self.k, -1).transpose(0, 1)  # (K, B, C)
        return torch.baddbmm(self.classifier_bias, per_net, self.classifier_weight.transpose(1, 2))


class PerArchNetworks(nn.Module):
    """K NB201 networks called one after the other (see the module docstring).

    Args:
        nets: the initialised networks.
        stream_of: the data stream each network reads (numbered 0..S-1).
    """

    def __init__(self, nets: Sequence[NB201Network], stream_of: Sequence[int]) -> None:
        super().__init__()
        self.stream_of = _check_streams(nets, stream_of)
        self.nets = nn.ModuleList(nets)

    def forward(self, streams: Sequence[Tensor]) -> Tensor:
        shared = len(streams) == 1  # e.g. evaluation: every network reads the same images
        return torch.stack([net(streams[0 if shared else s]) for net, s in zip(self.nets, self.stream_of)])
