"""The weight-sharing searchers: one tiny step moves the architecture parameters (or controller) the way each
method says, the derived cells follow each method's rule, and a whole search records a valid trajectory."""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from agents import darts_v1, darts_v2, enas, gdas, rsps, setn  # noqa: E402
from agents import weight_sharing as ws  # noqa: E402
from nb201_env.space import NUM_ARCHS, NUM_EDGES, NUM_OPS, Arch, all_ops  # noqa: E402
from nb201_env.training.data import ImageSet  # noqa: E402
from nb201_env.training.search_data import SearchData  # noqa: E402
from nb201_env.training.splits import Splits  # noqa: E402

F = torch.nn.functional
MODULES = {"rsps": rsps, "darts_v1": darts_v1, "darts_v2": darts_v2, "gdas": gdas, "setn": setn, "enas": enas}
SMALL = dict(channels=3, cells_per_stage=1, batch_size=8, epochs=2)


@pytest.fixture(autouse=True)
def one_thread_and_seeded():
    """One thread (tiny networks; never oversubscribe a shared machine) and a seeded model init, not leaked."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data() -> SearchData:
    """Random 8x8 images with random labels: 32 training and 24 validation images."""
    rng = np.random.default_rng(0)

    def images(n: int) -> ImageSet:
        return ImageSet(rng.integers(0, 256, (n, 3, 8, 8), dtype=np.uint8), rng.integers(0, 10, n))

    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    splits = Splits("cifar10-valid", images(32), images(24), images(4), 10, mean, std, "random", "ori-test")
    return SearchData(splits, seed=0, channels_last=False)


def small(module: Any, **overrides: Any) -> Any:
    extra = {"select_num": 5, "eval_batch_size": 8} if module in (rsps, setn) else {}
    if module is enas:
        extra = {"controller_train_steps": 2, "controller_num_aggregate": 3, "derive_samples": 3}
    return replace(module.Args(), **{**SMALL, **extra, **overrides})


def batch(data: SearchData) -> tuple[torch.Tensor, ...]:
    return next(data.search_batches(8))


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def moved_ops(model: torch.nn.Module, before: dict[str, torch.Tensor]) -> dict[tuple[int, int], set[int]]:
    """Per (cell, edge), the ops whose weights changed."""
    out: dict[tuple[int, int], set[int]] = {}
    for name, p in model.named_parameters():
        parts = name.split(".")
        if len(parts) > 4 and parts[2] == "edges" and not torch.equal(p, before[name]):
            out.setdefault((int(parts[1]), int(parts[3])), set()).add(int(parts[4]))
    return out


def capture_arch_gradient(method: Any) -> list[torch.Tensor]:
    """Record every gradient handed to the architecture optimizer."""
    seen: list[torch.Tensor] = []
    original = method.arch.step

    def step(gradient: torch.Tensor) -> None:
        seen.append(gradient.detach().clone())
        original(gradient)

    method.arch.step = step
    return seen


def adam_first_step(alpha: torch.Tensor, gradient: torch.Tensor, args: Any) -> torch.Tensor:
    """torch's Adam, first step from zero moments, L2 weight decay added to the gradient."""
    g = gradient + args.arch_weight_decay * alpha
    return alpha - args.arch_learning_rate * g / (g.abs() + 1e-8)


def mixed_gradient(model: torch.nn.Module, alpha: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    a = alpha.detach().clone().requires_grad_()
    return torch.autograd.grad(F.cross_entropy(model(x, weights=a.softmax(-1)), y), a)[0]


def test_darts_v1_steps_weights_first_then_alpha_with_the_validation_gradient_at_the_new_weights(data) -> None:
    method = darts_v1.DartsV1(data, small(darts_v1, grad_clip=None), seed=0)
    method.start_epoch(0)
    x, y, vx, vy = batch(data)
    alpha0, before = method.arch.alpha.detach().clone(), copy.deepcopy(method.model)
    seen = capture_arch_gradient(method)
    method.step(x, y, vx, vy)
    at_new = mixed_gradient(method.model, alpha0, vx, vy)
    at_old = mixed_gradient(before, alpha0, vx, vy)
    torch.testing.assert_close(seen[0], at_new)
    assert not torch.allclose(seen[0], at_old)  # first order, but after the weight step
    torch.testing.assert_close(method.arch.alpha.detach(), adam_first_step(alpha0, at_new, method.args))
    train_gradient = torch.autograd.grad(
        F.cross_entropy(before(x, weights=alpha0.softmax(-1)), y), before.classifier.weight
    )[0]
    g = train_gradient + method.args.weight_decay * before.classifier.weight
    expected = before.classifier.weight - method.lr * (1 + method.args.momentum) * g  # Nesterov's first step
    torch.testing.assert_close(method.model.classifier.weight, expected.detach())


def exact_unrolled_gradient(method: Any, x, y, vx, vy) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (d/dalpha L_valid(w'(alpha), alpha), d/dalpha L_valid(w', alpha) with w' held fixed), by double
    backpropagation through the virtual SGD step ``w' = w - lr (momentum * buffer + dL_train/dw + wd * w)``."""
    model, args = method.model, method.args
    names = [n for n, _ in model.named_parameters()]
    params = [p.detach().clone().requires_grad_() for _, p in model.named_parameters()]
    buffers = dict(model.named_buffers())
    alpha = method.arch.alpha.detach().clone().requires_grad_()

    def call(weights: list[torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        state = {**dict(zip(names, weights)), **{n: b.clone() for n, b in buffers.items()}}
        return torch.func.functional_call(model, state, (inputs,), {"weights": alpha.softmax(-1)})

    grads = torch.autograd.grad(F.cross_entropy(call(params, x), y), params, create_graph=True)
    momenta = [method.optimizer.state[p]["momentum_buffer"] for p in model.parameters()]
    unrolled = [
        p - method.lr * (args.momentum * m + g + args.weight_decay * p) for p, m, g in zip(params, momenta, grads)
    ]
    exact = torch.autograd.grad(F.cross_entropy(call(unrolled, vx), vy), alpha)[0]
    fixed = [u.detach() for u in unrolled]
    direct = torch.autograd.grad(F.cross_entropy(call(fixed, vx), vy), alpha)[0]
    return exact, direct


def test_darts_v2_gradient_is_the_unrolled_one_with_momentum_and_moves_alpha_before_the_weights(data) -> None:
    """The central difference converges to the exact hypergradient (checked in float64 with a small ``R``: the
    reference's ``R = 0.01 / |v|`` crosses ReLU kinks in a network this small, which double backpropagation
    does not see)."""
    args = small(darts_v2, lr=0.5, eta_min=0.0, finite_difference_r=1e-6)  # a large virtual step: 2nd order matters
    method = darts_v2.DartsV2(data, args, seed=0)
    method.start_epoch(0)
    method.step(*batch(data))  # fills the momentum buffers the virtual step reads
    method.model.double()
    method.arch.alpha.data = method.arch.alpha.data.double()
    for optimizer in (method.optimizer, method.arch.optimizer):
        for state in optimizer.state.values():
            for key in ("momentum_buffer", "exp_avg", "exp_avg_sq"):
                if key in state:
                    state[key] = state[key].double()
    x, y, vx, vy = batch(data)
    x, vx = x.double(), vx.double()
    exact, direct = exact_unrolled_gradient(method, x, y, vx, vy)
    weights_before = snapshot(method.model)
    alpha0 = method.arch.alpha.detach().clone()
    state = copy.deepcopy(method.optimizer.state_dict())
    approx, _, _ = method.unrolled_gradient(x, y, vx, vy)
    assert (exact - direct).norm() > 0.05 * exact.norm()  # not first order
    assert (approx - exact).norm() < 1e-4 * (exact - direct).norm()
    for name, p in method.model.named_parameters():  # the finite differences restore the weights
        torch.testing.assert_close(p.detach(), weights_before[name], rtol=0, atol=1e-12)
    seen = capture_arch_gradient(method)
    method.optimizer.load_state_dict(state)
    method.step(x, y, vx, vy)
    torch.testing.assert_close(seen[0], approx)  # the alpha step comes first, at the weights before the step
    assert not torch.equal(method.arch.alpha.detach(), alpha0)


def test_gdas_forward_is_the_sampled_path_and_alpha_gets_the_straight_through_gradient(data) -> None:
    method = gdas.Gdas(data, small(gdas, epochs=5), seed=0)
    method.start_epoch(2)
    assert method.tau == pytest.approx(10 - (10 - 0.1) * 2 / 4)
    _, _, vx, vy = batch(data)
    state = method.generator.get_state()
    gradient, logits, _ = method.arch_gradient(vx, vy)
    method.generator.set_state(state)  # replay the same Gumbel draw, from the paper's formula
    alpha = method.arch.alpha.detach().clone().requires_grad_()
    gumbel = -torch.empty_like(alpha).exponential_(generator=method.generator).log()
    probs = ((alpha.log_softmax(-1) + gumbel) / method.tau).softmax(-1)
    index = tuple(probs.argmax(-1).tolist())
    hard = F.one_hot(probs.argmax(-1), NUM_OPS).float() - probs.detach() + probs
    expected = torch.autograd.grad(F.cross_entropy(method.model(vx, weights=hard, index=index), vy), alpha)[0]
    torch.testing.assert_close(gradient, expected)
    assert (gradient != 0).all()  # every op of every edge learns, though each edge ran one op
    torch.testing.assert_close(logits, method.model(vx, path=index).detach(), rtol=1e-5, atol=1e-6)  # hard forward


def test_gdas_and_the_single_path_methods_train_one_op_per_edge(data) -> None:
    for module, cls in ((gdas, gdas.Gdas), (rsps, rsps.Rsps), (setn, setn.Setn)):
        method = cls(data, small(module), seed=1)
        method.start_epoch(0)
        before = snapshot(method.model)
        method.step(*batch(data))
        moved = moved_ops(method.model, before)
        assert moved, module.__name__
        assert all(len(ops) == 1 for ops in moved.values()), (module.__name__, moved)


def test_setn_alpha_step_is_first_order_darts_on_the_mixed_supernet(data) -> None:
    method = setn.Setn(data, small(setn), seed=0)
    method.start_epoch(0)
    x, y, vx, vy = batch(data)
    alpha0 = method.arch.alpha.detach().clone()
    seen = capture_arch_gradient(method)
    method.step(x, y, vx, vy)
    torch.testing.assert_close(seen[0], mixed_gradient(method.model, alpha0, vx, vy))
    torch.testing.assert_close(method.arch.alpha.detach(), adam_first_step(alpha0, seen[0], method.args))


def test_setn_ranks_cells_by_probability_and_reports_the_best_scored_of_the_likeliest(data, monkeypatch) -> None:
    alpha = np.random.default_rng(3).normal(size=(NUM_EDGES, NUM_OPS))
    top = setn.most_probable(alpha, 7)
    log_p = alpha - np.log(np.exp(alpha).sum(axis=1, keepdims=True))
    brute = sorted(range(NUM_ARCHS), key=lambda i: -sum(log_p[e, o] for e, o in enumerate(Arch(i).ops)))[:7]
    assert top.tolist() == brute
    method = setn.Setn(data, small(setn, select_num=4), seed=0)
    with torch.no_grad():
        method.arch.alpha.copy_(torch.as_tensor(alpha, dtype=torch.float32))
    monkeypatch.setattr(method, "score", lambda cells, batches: [10.0, 30.0, 20.0, 30.0][: len(cells)])
    arch, accuracy = method.derive()
    assert (arch, accuracy) == (int(top[1]), 30.0)  # the first of the best scores


def test_rsps_has_no_architecture_parameters_and_reports_the_best_random_cell(data, monkeypatch) -> None:
    method = rsps.Rsps(data, small(rsps, select_num=6), seed=0)
    assert not hasattr(method, "arch")
    scored: list[list[tuple[int, ...]]] = []

    def score(cells: list[tuple[int, ...]], batches: Any) -> list[float]:
        scored.append(cells)
        return [float(i % 4) for i in range(len(cells))]

    monkeypatch.setattr(method, "score", score)
    arch, accuracy = method.derive()
    assert len(scored[0]) == 6 and accuracy == 3.0 and arch == Arch.from_ops(scored[0][3]).index


def test_scoring_uses_eval_mode_and_one_batch_per_candidate(data) -> None:
    method = rsps.Rsps(data, small(rsps), seed=0)
    cells = [(3, 3, 3, 3, 3, 3), (1, 1, 1, 1, 1, 1)]
    stream = list(zip(range(2), data.valid_batches(8)))
    got = method.score(cells, iter(b for _, b in stream))
    method.model.eval()
    with torch.no_grad():
        expected = [
            100.0 * (method.model(x, path=c).argmax(1) == y).float().mean().item()
            for c, (_, (x, y)) in zip(cells, stream)
        ]
    assert got == pytest.approx(expected) and method.model.training is False
    method.model.train()


def test_enas_controller_step_follows_reinforce_with_the_reference_baseline(data) -> None:
    method = enas.Enas(data, small(enas), seed=0)
    method.model.eval()
    n = method.args.controller_num_aggregate
    for baseline, sign in ((-1.0, 1), (2.0, -1)):  # rewards are in [0, 1]: advantages all positive, then negative
        method.baseline = baseline
        state = method.generator.get_state()
        with torch.no_grad():
            cells = method.controller(n, method.generator)[2]
            before = method.controller(ops=cells)[0]
        method.generator.set_state(state)
        rewards, last = method.controller_step(data.valid_batches(8, augmented=True))
        with torch.no_grad():
            after = method.controller(ops=cells)[0]
        assert sign * (after - before).sum() > 0  # the cells' log-probability moves with the advantage's sign
        assert last == pytest.approx(baseline - 0.01 * (baseline - rewards[-1]))
    method.baseline = None  # the first epoch: the baseline is the accuracy, the advantage only the entropy bonus
    rewards, last = method.controller_step(data.valid_batches(8, augmented=True))
    assert 0 <= last <= 1 and 0 < rewards[-1] - last <= 1e-4 * NUM_EDGES * math.log(NUM_OPS)


def test_enas_controller_samples_one_op_per_edge_and_scores_given_cells() -> None:
    controller = enas.Controller()
    log_p, entropy, cells = controller(4, torch.Generator().manual_seed(0))
    assert len(cells) == 4 and all(len(c) == NUM_EDGES and all(0 <= o < NUM_OPS for o in c) for c in cells)
    assert torch.all(entropy <= NUM_EDGES * math.log(NUM_OPS) + 1e-5) and torch.all(log_p < 0)
    again, _, same = controller(ops=cells)
    torch.testing.assert_close(again, log_p)
    assert same == cells


@pytest.mark.parametrize("name", list(MODULES))
def test_a_search_records_one_valid_cell_per_epoch_in_wall_seconds(name: str, data) -> None:
    module = MODULES[name]
    result = module.search(data, small(module), seed=0)
    assert result.agent == name and result.evaluations == 2
    assert all(0 <= a < NUM_ARCHS for a in result.archs) and result.best_arch == result.archs[-1]
    assert np.all(np.diff(result.times) > 0) and result.times[0] > 0
    assert result.epochs.tolist() == [1, 2]
    assert result.settings["reference"].startswith("NB201") and result.settings["data"]["train_images"] == 32
    assert len(result.settings["per_epoch"]["seconds"]) == 2 and result.settings["seconds_per_epoch"] > 0
    again = module.search(data, small(module), seed=0)
    assert again.archs.tolist() == result.archs.tolist()  # seeded: the same cells again


def test_scales_change_the_network_and_epochs_but_not_the_method() -> None:
    proxy = ws.get_scale("proxy")
    args = proxy.apply(darts_v1.Args())
    assert (args.channels, args.cells_per_stage, args.epochs) == (8, 1, 10)
    assert args.arch_learning_rate == darts_v1.Args().arch_learning_rate and args.batch_size == 64
    assert proxy.apply(gdas.Args()).epochs == 50
    assert ws.get_scale("tiny").apply(enas.Args()).epochs == 2
    full = ws.get_scale("full").apply(darts_v2.Args())
    assert (full.channels, full.cells_per_stage, full.epochs) == (16, 5, 50)
    assert proxy.recipe().data_key()[:3] == (8, 5000, 5000)
    with pytest.raises(ValueError, match="unknown scale 'huge'; valid scales are full, proxy, tiny"):
        ws.get_scale("huge")


@pytest.mark.parametrize(
    "module, field, value, match",
    [
        (darts_v1, "arch_learning_rate", 0.0, "arch_learning_rate must be a positive finite number"),
        (darts_v1, "arch_beta1", 1.0, "arch_beta1 must be in \\[0, 1\\)"),
        (gdas, "tau_min", 20.0, "tau_min \\(20.0\\) must not exceed tau_max"),
        (setn, "select_num", 0, "select_num must be a positive int"),
        (rsps, "grad_clip", -1.0, "grad_clip must be a positive finite number or None"),
        (rsps, "eta_min", 1.0, "eta_min \\(1.0\\) must not exceed lr"),
        (enas, "baseline_decay", 1.0, "baseline_decay must be in \\[0, 1\\)"),
        (enas, "controller_num_aggregate", True, "controller_num_aggregate must be a positive int"),
        (darts_v2, "finite_difference_r", float("nan"), "finite_difference_r must be a positive finite number"),
        (darts_v1, "affine", "no", "affine must be True or False"),
    ],
)
def test_bad_arguments_name_the_field_and_the_valid_values(module: Any, field: str, value: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        module.Args(**{field: value})


def test_reference_defaults() -> None:
    """The NB201 reference settings (configs/nas-benchmark/algos/*.config and scripts-search/NAS-Bench-201-algos)."""
    assert [m.Args().epochs for m in (darts_v1, darts_v2, gdas, setn, rsps)] == [50, 50, 250, 250, 250]
    d = darts_v1.Args()
    assert (d.lr, d.eta_min, d.weight_decay, d.batch_size, d.grad_clip) == (0.025, 0.001, 5e-4, 64, 5.0)
    assert (d.arch_learning_rate, d.arch_weight_decay, d.arch_beta1, d.arch_beta2) == (3e-4, 1e-3, 0.5, 0.999)
    assert (gdas.Args().tau_max, gdas.Args().tau_min) == (10.0, 0.1)
    assert setn.Args().grad_clip is None and setn.Args().select_num == 100 and rsps.Args().select_num == 100
    e = enas.Args()
    assert (e.epochs, e.batch_size, e.lr, e.eta_min, e.cosine_epochs) == (250, 128, 0.05, 0.0005, 10)
    assert (e.weight_decay, e.controller_lr, e.controller_beta1, e.controller_eps) == (0.00025, 0.001, 0.0, 0.001)
    assert (e.entropy_weight, e.baseline_decay) == (1e-4, 0.99)
    assert e.controller_train_steps * e.controller_num_aggregate == 1000 and e.derive_samples == 10
    assert e.lr_at(10) == pytest.approx(e.eta_min) and e.lr_at(20) == pytest.approx(e.lr)  # period-10 cosine
    assert all(not m.Args().affine and m.Args().track_running_stats for m in MODULES.values())
    assert all(getattr(m, "WEIGHT_SHARING", False) for m in MODULES.values())
    assert all_ops().shape == (NUM_ARCHS, NUM_EDGES)
