"""The supernet: with one-hot architecture weights, every forward mode is the single-path network of that cell
(same logits, same parameter gradients); the search data serves batches as the reference's loaders do."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nb201_env.space import CONV3X3, NONE, SKIP, Arch  # noqa: E402
from nb201_env.training.data import ImageSet  # noqa: E402
from nb201_env.training.network import NB201Network  # noqa: E402
from nb201_env.training.search_data import SearchData  # noqa: E402
from nb201_env.training.splits import Splits  # noqa: E402
from nb201_env.training.supernet import Supernet, skip_share  # noqa: E402

F = torch.nn.functional


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one thread is fastest, and never oversubscribes a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


CELLS = [
    (3, 3, 3, 1, 3, 2),  # a typical cell: every op kind but none and pool
    (0, 0, 0, 0, 0, 0),  # all none: the output does not depend on the input
    (1, 0, 0, 1, 0, 0),  # node 2 dead (cannot reach node 3)
    (0, 4, 0, 0, 0, 4),  # node 1 dead, node 2 reached by pooling only
    (2, 4, 0, 1, 3, 0),  # a conv out of a node whose other edge is none
]


def onehot(ops: tuple[int, ...]) -> torch.Tensor:
    return F.one_hot(torch.tensor(ops), 5).float()


def run_mode(net: Supernet, mode: str, x: torch.Tensor, ops: tuple[int, ...]) -> torch.Tensor:
    if mode == "mixed":
        return net(x, weights=onehot(ops))
    if mode == "path":
        return net(x, path=ops)
    probs = torch.softmax(torch.randn(6, 5, generator=torch.Generator().manual_seed(1)), dim=1)
    return net(x, weights=onehot(ops) - probs.detach() + probs, index=ops)  # GDAS's straight-through weights


def supernet_grads(net: Supernet, ops: tuple[int, ...]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Return the gradients of the selected path under NB201Network's names, and the names of unselected
    parameters that received a nonzero gradient."""
    selected, leaked = {}, []
    for name, p in net.named_parameters():
        parts = name.split(".")
        grad = p.grad if p.grad is not None else torch.zeros_like(p)
        if len(parts) > 4 and parts[2] == "edges":
            if int(parts[4]) != ops[int(parts[3])]:
                if grad.abs().max() > 0:
                    leaked.append(name)
                continue
            name = ".".join([*parts[:2], "layers", parts[3], *parts[5:]])
        selected[name] = grad
    return selected, leaked


@pytest.mark.parametrize("mode", ["mixed", "path", "hard"])
@pytest.mark.parametrize("affine", [True, False])
def test_one_hot_supernet_equals_the_single_path_network(mode: str, affine: bool) -> None:
    torch.manual_seed(0)
    net = Supernet(10, channels=3, cells_per_stage=2, affine=affine, track_running_stats=True)
    x, y = torch.randn(4, 3, 8, 8), torch.randint(0, 10, (4,))
    for ops in CELLS:
        single = NB201Network(Arch.from_ops(ops), 10, channels=3, cells_per_stage=2)
        result = single.load_state_dict(net.path_state_dict(ops), strict=affine)
        if not affine:  # only the cell BN's affine parameters are missing, and they are 1 and 0 in the network
            assert all(k.endswith((".op.2.weight", ".op.2.bias")) for k in result.missing_keys)
        net.zero_grad(set_to_none=True)
        out = run_mode(net, mode, x, ops)
        expected = single(x)
        F.cross_entropy(out, y).backward()
        F.cross_entropy(expected, y).backward()
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
        grads, leaked = supernet_grads(net, ops)
        assert not leaked, f"unselected ops got gradients in {mode} mode: {leaked[:3]}"
        for name, p in single.named_parameters():
            if name in grads:
                torch.testing.assert_close(grads[name], p.grad if p.grad is not None else torch.zeros_like(p))
            else:
                assert not affine and name.endswith((".op.2.weight", ".op.2.bias")), name


def test_mixed_mode_is_the_weighted_sum_of_the_single_paths_on_one_edge() -> None:
    """Mixing is linear in the weights: a cell mixing two cells half-half, which differ only on the edge that
    feeds the output directly (3 <- 0), outputs the mean of the two cells' outputs."""
    torch.manual_seed(0)
    net = Supernet(10, channels=4, cells_per_stage=1).eval()
    x = torch.randn(4, 3, 8, 8)
    cell = net.cells[0]
    node = torch.randn(4, 4, 8, 8)
    a, b = (NONE, NONE, NONE, CONV3X3, NONE, NONE), (NONE, NONE, NONE, SKIP, NONE, NONE)
    weights = (onehot(a) + onehot(b)) / 2
    mixed = cell.forward_mixed(node, weights)
    torch.testing.assert_close(mixed, (cell.forward_path(node, a) + cell.forward_path(node, b)) / 2)
    assert net(x, weights=weights).shape == (4, 10)


def test_hard_mode_gives_every_architecture_weight_of_an_edge_a_gradient() -> None:
    torch.manual_seed(0)
    net = Supernet(10, channels=4, cells_per_stage=1)
    alpha = torch.zeros(6, 5, requires_grad=True)
    probs = (alpha + torch.randn(6, 5)).softmax(dim=1)
    index = (3, 1, 0, 2, 4, 3)
    hard = onehot(index) - probs.detach() + probs
    F.cross_entropy(net(torch.randn(4, 3, 8, 8), weights=hard, index=index), torch.arange(4)).backward()
    assert alpha.grad is not None and (alpha.grad.abs() > 0).all()  # the straight-through softmax gradient


def test_forward_rejects_ambiguous_modes_and_bad_weights() -> None:
    net = Supernet(10, channels=4, cells_per_stage=1)
    x = torch.randn(2, 3, 8, 8)
    with pytest.raises(ValueError, match="weights \\(mixed\\), path"):
        net(x)
    with pytest.raises(ValueError, match="weights \\(mixed\\), path"):
        net(x, weights=torch.ones(6, 5), path=0)
    with pytest.raises(ValueError, match="shape \\(6, 5\\), got \\(5, 5\\)"):
        net(x, weights=torch.ones(5, 5))
    with pytest.raises(ValueError, match="0..4"):
        net(x, path=(0, 1, 2, 3, 4, 5))
    with pytest.raises(ValueError, match="out of range"):
        net(x, path=15625)
    for kwargs, match in (
        ({"channels": 0}, "channels must be an int >= 1, got 0"),
        ({"cells_per_stage": -1}, "cells_per_stage must be an int >= 0"),
        ({"affine": 1}, "affine must be True or False, got 1"),
    ):
        with pytest.raises(ValueError, match=match):
            Supernet(10, **kwargs)


def test_cell_ops_have_the_reference_bn_and_every_edge_holds_five_ops() -> None:
    net = Supernet(10, channels=4, cells_per_stage=1)
    cell = net.cells[0]
    assert len(cell.edges) == 6 and all(len(edge) == 5 for edge in cell.edges)
    bn = cell.edges[0][CONV3X3].op[2]
    assert bn.affine is False and bn.track_running_stats is True
    assert Supernet(10, 4, 1, track_running_stats=False).cells[0].edges[0][CONV3X3].op[2].running_mean is None
    assert net.stem[1].affine  # the stem keeps its affine BN, as in the reference


def test_skip_share() -> None:
    assert skip_share((1, 1, 1, 1, 1, 1)) == 1.0
    assert skip_share(Arch.from_ops((1, 0, 3, 1, 2, 4))) == pytest.approx(2 / 6)


def synthetic_splits(n_train: int = 40, n_valid: int = 30, size: int = 8) -> Splits:
    rng = np.random.default_rng(0)

    def images(n: int) -> ImageSet:
        return ImageSet(rng.integers(0, 256, (n, 3, size, size), dtype=np.uint8), rng.integers(0, 10, n))

    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    return Splits("cifar10-valid", images(n_train), images(n_valid), images(4), 10, mean, std, "synthetic", "ori-test")


def test_search_batches_cover_the_training_half_once_with_random_validation_partners() -> None:
    data = SearchData(synthetic_splits(), seed=0, channels_last=False)
    batches = list(data.search_batches(16))
    assert [len(b[1]) for b in batches] == [16, 16, 8]
    assert all(len(b[3]) == len(b[1]) for b in batches)
    train_labels = torch.cat([b[1] for b in batches])
    assert sorted(train_labels.tolist()) == sorted(data.train_y.tolist())  # a permutation of the training half
    assert batches[0][0].shape == (16, 3, 8, 8) and batches[0][0].dtype == torch.float32


def test_valid_batches_are_endless_shuffled_passes() -> None:
    data = SearchData(synthetic_splits(n_valid=30), seed=0, channels_last=False)
    stream = data.valid_batches(8)
    first_pass = [next(stream) for _ in range(4)]
    assert [len(y) for _, y in first_pass] == [8, 8, 8, 6]
    assert sorted(torch.cat([y for _, y in first_pass]).tolist()) == sorted(data.valid_y.tolist())
    assert len(next(stream)[1]) == 8  # a second pass starts


def test_search_data_needs_a_validation_half() -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="no validation split.*cifar10-valid"):
        SearchData(replace(synthetic_splits(), dataset="cifar10", valid=None))
