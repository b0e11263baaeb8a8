"""Each proxy on cases whose answer can be worked out by hand, and the scorer's bookkeeping."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nb201_env.space import Arch  # noqa: E402
from nb201_env.training.network import NB201Network  # noqa: E402
from nb201_env.zero_cost import proxies  # noqa: E402
from nb201_env.zero_cost.scorer import check_proxies, init_seed, score  # noqa: E402
from nb201_env.zero_cost.spec import PASSES, PROXIES, TRAINING_FREE  # noqa: E402

from zero_cost_helpers import SMALL  # noqa: E402

NO_PATH = Arch.from_ops([2, 0, 0, 0, 0, 1]).index  # node 3 copies node 2, whose inputs are both `none`
ALL_NONE = Arch.from_ops([0, 0, 0, 0, 0, 0]).index
BEST = Arch.from_ops([3, 3, 3, 1, 3, 2]).index


def test_gradient_proxies_by_hand() -> None:
    w = [torch.tensor([[1.0, -2.0]]), torch.ones(2, 3, 1, 1)]
    g = [torch.tensor([[3.0, 4.0]]), None]  # the second layer does not reach the loss
    assert proxies.grad_norm(g) == pytest.approx(5.0)  # |(3, 4)|
    assert proxies.snip(w, g) == pytest.approx(3.0 + 8.0)  # |1*3| + |-2*4|
    assert proxies.grasp(w, [torch.tensor([[1.0, 1.0]]), None]) == pytest.approx(-(1.0 - 2.0))
    # Fisher: each channel's value counts once per weight of the channel (3 inputs x 1 x 1 here)
    assert proxies.fisher(w, [None, torch.tensor([0.5, -1.0])]) == pytest.approx((0.5 + 1.0) * 3)


def test_jacob_cov_of_uncorrelated_jacobians_is_minus_n_and_of_constant_ones_nan() -> None:
    hadamard = np.array([[1]])
    for _ in range(3):
        hadamard = np.block([[hadamard, hadamard], [hadamard, -hadamard]])
    rows = torch.tensor(hadamard[1:], dtype=torch.float32)  # 7 zero-mean, mutually orthogonal rows: corr = I
    k = 1e-5
    assert proxies.jacob_cov(rows) == pytest.approx(-7 * (math.log(1 + k) + 1 / (1 + k)))
    assert math.isnan(proxies.jacob_cov(torch.zeros(4, 10)))


def test_a_cell_without_a_path_scores_zero_and_jacob_cov_is_undefined(batch) -> None:
    result = score(NO_PATH, batch, seed=0, **SMALL)
    for name in ("synflow", "snip", "grad_norm", "grasp"):
        assert result.scores[name] == 0.0, name
    assert math.isnan(result.scores["jacob_cov"])
    # Fisher keeps the classifier's term: its output is its bias b for every image, and the loss gradient of
    # the logits is (softmax(b) - onehot(y)) / n, so channel k holds 0.5 * mean_n (b_k (p_k - y_nk) / n)^2
    with torch.random.fork_rng():
        torch.manual_seed(init_seed(0, NO_PATH))
        bias = NB201Network(NO_PATH, prune=False, **SMALL).classifier.bias.detach().double()
    onehot = torch.nn.functional.one_hot(torch.from_numpy(batch.labels[:64]), 10).double()
    g = bias * (torch.softmax(bias, 0) - onehot) / 64
    expected = float((0.5 * g.pow(2).mean(0)).sum()) * 16  # 16 weights per class: the last stage's 4C channels
    assert result.scores["fisher"] == pytest.approx(expected, rel=1e-4)
    # naswot still sees the ReLU of the dead conv edge (1<-0), as the official network runs it
    assert math.isfinite(result.scores["naswot"])


def test_naswot_of_a_network_whose_codes_are_all_equal_is_minus_infinity(batch) -> None:
    # no conv in any cell: the reduction blocks' ReLUs read the zero map, every image has the same code
    assert score(ALL_NONE, batch, seed=0, names=("naswot",), **SMALL).scores["naswot"] == -math.inf


def test_naswot_refuses_a_pruned_network(batch) -> None:
    with pytest.raises(ValueError, match="prune=False"):
        proxies.naswot(NB201Network(BEST, prune=True, **SMALL), batch.tensor())


def test_synflow_ignores_the_sign_of_every_weight() -> None:
    torch.manual_seed(0)
    net = NB201Network(BEST, **SMALL)
    flipped = NB201Network(BEST, **SMALL)
    flipped.load_state_dict({k: -v if v.is_floating_point() else v for k, v in net.state_dict().items()})
    first = proxies.synflow(net, torch.Generator().manual_seed(1))
    assert first > 0
    assert proxies.synflow(flipped, torch.Generator().manual_seed(1)) == pytest.approx(first, rel=1e-12)


def test_synflow_network_drops_the_batch_norms_of_cells_stem_and_head_but_keeps_the_reductions() -> None:
    net = proxies.synflow_network(NB201Network(BEST, **SMALL), torch.Generator().manual_seed(0))
    bn = [name for name, m in net.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bn and all(".conv_a." in name or ".conv_b." in name for name in bn)
    biased = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.bias is not None]
    assert len(biased) == 5 * 3  # BEST has 5 conv edges; one cell in each of the 3 stages
    assert next(net.parameters()).dtype == torch.float64


def test_scores_depend_on_the_seed_and_are_reproducible(batch) -> None:
    a = score(BEST, batch, seed=0, names=("snip",), **SMALL).scores["snip"]
    assert score(BEST, batch, seed=0, names=("snip",), **SMALL).scores["snip"] == a
    assert score(BEST, batch, seed=1, names=("snip",), **SMALL).scores["snip"] != a


def test_scoring_leaves_torch_global_rng_untouched(batch) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    score(BEST, batch, seed=0, names=("grad_norm",), **SMALL)
    assert torch.equal(torch.rand(3), expected)


def test_each_proxy_is_charged_the_steps_it_needs(batch) -> None:
    result = score(BEST, batch, seed=0, **SMALL)
    for name in PROXIES:
        assert result.cpu_seconds[name] == pytest.approx(sum(result.steps[s][0] for s in PASSES[name]))
    assert result.cpu_seconds["grasp"] > result.cpu_seconds["grad_norm"]  # grasp needs the Hessian step too
    assert result.cpu_seconds["params"] < 0.05  # analytic
    assert result.scores["params"] == pytest.approx(1.073466)  # NB201's figure for this cell (C=16, N=5)


def test_one_proxy_alone_equals_the_same_proxy_computed_with_all(batch) -> None:
    together = score(BEST, batch, seed=2, **SMALL)
    for name in TRAINING_FREE:
        alone = score(BEST, batch, seed=2, names=(name,), **SMALL)
        assert alone.scores[name] == pytest.approx(together.scores[name], rel=1e-5), name
        assert set(alone.steps) == set(PASSES[name])


@pytest.mark.parametrize("names", [("snip", "bogus"), "snip", ()])
def test_unknown_or_malformed_proxy_names_are_refused_with_the_valid_ones(names) -> None:
    with pytest.raises(ValueError, match="synflow, naswot, jacob_cov"):
        check_proxies(names)


def test_naswot_v1_needs_its_256_images_and_is_undefined_without_a_path() -> None:
    from nb201_env.training.data import ImageSet
    from nb201_env.training.splits import Splits
    from nb201_env.zero_cost.minibatch import draw_minibatch

    rng = np.random.default_rng(0)
    train = ImageSet(rng.integers(0, 256, size=(400, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, size=400))
    splits = Splits("cifar10-valid", train, None, train, 10, (0.5,) * 3, (0.25,) * 3, "synthetic", "ori-test")
    small, large = draw_minibatch(splits, 0), draw_minibatch(splits, 0, 256)
    assert np.array_equal(large.positions[:128], small.positions)  # the other proxies see the same images
    assert len(set(large.positions.tolist())) == 256
    with pytest.raises(ValueError, match="naswot_v1 reads 256 images, the minibatch has 128"):
        score(BEST, small, seed=0, names=("naswot_v1",), **SMALL)
    assert math.isnan(score(NO_PATH, large, seed=0, names=("naswot_v1",), **SMALL).scores["naswot_v1"])
    assert math.isfinite(score(BEST, large, seed=0, names=("naswot_v1",), **SMALL).scores["naswot_v1"])
