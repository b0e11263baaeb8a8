"""The NB201 network: exact parameter counts (every architecture), FLOPs by hooks, exact pruning, errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the [train] extra (pip install nb201-env[train])")

from nb201_env import complexity  # noqa: E402
from nb201_env.space import CONV1X1, CONV3X3, NUM_ARCHS, Arch, all_ops  # noqa: E402
from nb201_env.training.network import InferCell, NB201Network, count_parameters  # noqa: E402

SAMPLE = [0, 1, 2, 100, 6111, 15624, Arch.from_ops([0] * 6).index, Arch.from_ops([3] * 6).index]


def _skeleton(num_classes: int, channels: int) -> int:
    return count_parameters(NB201Network(0, num_classes, channels, cells_per_stage=0))


def test_every_architecture_builds_every_edge_of_its_cell():
    """All 15,625 cells, built for real: each has six layers whose parameters match the op on that edge."""
    ops = all_ops()
    c = 16
    per_op = {CONV1X1: c * c + 2 * c, CONV3X3: 9 * c * c + 2 * c}
    for index in range(NUM_ARCHS):
        cell = InferCell(tuple(int(o) for o in ops[index]), c)
        assert len(cell.layers) == 6
        expected = sum(per_op.get(int(o), 0) for o in ops[index])
        assert count_parameters(cell) == expected, index


@pytest.mark.parametrize(
    "num_classes,channels,cells", [(10, 16, 5), (100, 16, 5), (120, 16, 5), (10, 8, 1), (10, 4, 2)]
)
def test_full_networks_match_the_analytic_count(num_classes, channels, cells):
    rng = np.random.default_rng(num_classes + channels + cells)
    for index in [*SAMPLE, *rng.integers(0, NUM_ARCHS, 6).tolist()]:
        net = NB201Network(index, num_classes, channels, cells)
        assert count_parameters(net) == complexity.param_count(index, num_classes, channels, cells), index


def test_network_is_the_skeleton_plus_its_cells():
    """The decomposition the slow exhaustive test relies on, checked on real networks."""
    for index in SAMPLE:
        ops = Arch(index).ops
        cells = sum(count_parameters(InferCell(ops, w)) for w in (16, 32, 64))
        assert count_parameters(NB201Network(index)) == _skeleton(10, 16) + 5 * cells


@pytest.mark.slow
def test_all_15625_networks_have_the_analytic_parameter_count():
    skeleton = _skeleton(10, 16)
    expected = complexity.param_count(np.arange(NUM_ARCHS))
    for index, row in enumerate(all_ops()):
        ops = tuple(int(o) for o in row)
        cells = sum(count_parameters(InferCell(ops, w)) for w in (16, 32, 64))
        assert skeleton + 5 * cells == expected[index], index


def _hook_macs(model: torch.nn.Module, resolution: int) -> int:
    total = 0

    def conv_hook(module, inputs, output):
        nonlocal total
        per_output = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        outputs = output.numel() // output.shape[0]
        total += outputs * per_output + (outputs if module.bias is not None else 0)

    def linear_hook(module, inputs, output):
        nonlocal total
        total += module.in_features * module.out_features + module.out_features

    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.register_forward_hook(conv_hook)
        elif isinstance(module, torch.nn.Linear):
            module.register_forward_hook(linear_hook)
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, resolution, resolution))
    return total


@pytest.mark.parametrize("num_classes,resolution,channels,cells", [(10, 32, 16, 5), (120, 16, 16, 5), (10, 16, 8, 1)])
def test_flops_equal_hook_counted_macs(num_classes, resolution, channels, cells):
    for index in (0, 1, 6111, Arch.from_ops([4, 2, 0, 3, 1, 0]).index):
        net = NB201Network(index, num_classes, channels, cells, prune=False)  # run every edge, as officially
        assert _hook_macs(net, resolution) == complexity.flop_count(index, num_classes, resolution, channels, cells)


@pytest.mark.parametrize("ops", [(3, 0, 0, 2, 3, 1), (3, 3, 1, 0, 0, 0), (0, 0, 0, 0, 0, 0), (4, 3, 2, 1, 1, 3)])
def test_pruned_forward_and_gradients_equal_the_full_network(ops):
    """Skipping dead edges and sharing ReLUs changes neither the output nor any gradient that matters."""
    index = Arch.from_ops(ops).index
    torch.manual_seed(0)
    full = NB201Network(index, 10, 4, 2, prune=False)
    pruned = NB201Network(index, 10, 4, 2, prune=True)
    pruned.load_state_dict(full.state_dict())
    x = torch.randn(8, 3, 16, 16)
    out_full, out_pruned = full(x), pruned(x)
    torch.testing.assert_close(out_pruned, out_full, rtol=1e-5, atol=1e-6)
    out_full.square().sum().backward()
    out_pruned.square().sum().backward()
    for (name, p_full), p_pruned in zip(full.named_parameters(), pruned.parameters()):
        g_full = p_full.grad if p_full.grad is not None else torch.zeros_like(p_full)
        g_pruned = p_pruned.grad if p_pruned.grad is not None else torch.zeros_like(p_pruned)
        torch.testing.assert_close(g_pruned, g_full, rtol=1e-4, atol=1e-6, msg=name)


def test_state_dict_uses_the_official_module_names():
    keys = set(NB201Network(Arch.from_ops([3, 2, 4, 1, 0, 3]).index, cells_per_stage=1).state_dict())
    assert "stem.0.weight" in keys and "stem.1.running_mean" in keys
    assert "cells.0.layers.0.op.1.weight" in keys  # nor_conv_3x3 on edge (1<-0): ReLU, Conv, BN
    assert "cells.0.layers.1.op.1.weight" in keys  # nor_conv_1x1
    assert "cells.1.conv_a.op.1.weight" in keys and "cells.1.downsample.1.weight" in keys
    assert "lastact.0.weight" in keys and "classifier.weight" in keys


def test_logits_have_the_right_shape_for_each_dataset_resolution():
    for num_classes, resolution in ((10, 32), (120, 16)):
        net = NB201Network(1, num_classes, 8, 1)
        assert net(torch.randn(2, 3, resolution, resolution)).shape == (2, num_classes)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"arch": 15625}, "valid indices are 0..15624"),
        ({"arch": 0, "channels": 0}, "channels must be a positive int, got 0"),
        ({"arch": 0, "num_classes": -3}, "num_classes must be a positive int, got -3"),
        ({"arch": 0, "cells_per_stage": -1}, "cells_per_stage must be an int >= 0, got -1"),
    ],
)
def test_bad_network_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NB201Network(**kwargs)
