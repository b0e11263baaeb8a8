"""Training K architectures together gives each the results it gets when trained alone."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from training_helpers import only_key

torch = pytest.importorskip("torch", reason="needs the [train] extra (pip install nb201-env[train])")

from nb201_env.space import Arch  # noqa: E402
from nb201_env.training.batched_network import GroupedNetwork, PerArchNetworks  # noqa: E402
from nb201_env.training.batched_trainer import train_jobs, train_many  # noqa: E402
from nb201_env.training.jobs import Job  # noqa: E402
from nb201_env.training.network import NB201Network  # noqa: E402
from nb201_env.training.runtime import Runtime  # noqa: E402
from nb201_env.training.trainer import train  # noqa: E402

ALONE = Runtime(device="cpu", threads=1, deterministic=True)
DISCONNECTED = Arch.from_ops((3, 3, 3, 0, 0, 0)).index  # nothing reaches node 3: every cell outputs zeros
ZERO_NODE = Arch.from_ops((0, 3, 1, 0, 3, 2)).index  # node 1 only gets `none`: a zero map that a conv still reads
DEAD_NODE = Arch.from_ops((3, 3, 0, 3, 0, 1)).index  # node 1 cannot reach node 3: its edge is pruned
MIX = [6111, DISCONNECTED, ZERO_NODE, DEAD_NODE, 15624, 0]
SEEDS = [1, 2, 2, 3, 1, 4]  # architectures with one seed share a data stream
CURVES = ("train_loss", "train_accuracy", "valid_loss", "valid_accuracy", "test_accuracy_curve", "test_loss_curve")


@pytest.fixture(scope="module")
def alone(tiny_splits, tiny_recipe):
    """Each architecture of MIX trained by itself."""
    return [train(a, tiny_splits, tiny_recipe, s, ALONE, test="all") for a, s in zip(MIX, SEEDS)]


def test_per_arch_stacking_reproduces_training_alone_bit_for_bit(alone, tiny_splits, tiny_recipe):
    together = train_many(MIX, tiny_splits, tiny_recipe, SEEDS, replace(ALONE, stacking="per-arch"), test="all")
    assert [r.index for r in together] == MIX and [r.seed for r in together] == SEEDS
    for one, other in zip(alone, together):
        for key in CURVES:
            assert getattr(other, key) == getattr(one, key), (one.index, key)
        assert (other.params, other.flops, other.test_accuracy) == (one.params, one.flops, one.test_accuracy)
        assert other.info["archs_per_step"] == len(MIX) and other.info["stacking"] == "per-arch"
        assert min(other.train_seconds) > 0 and min(other.eval_seconds) > 0 and min(other.test_seconds_curve) > 0
    assert together[1].valid_accuracy[-1] == together[2].valid_accuracy[-1] == 10.0  # chance: outputs cannot learn


def test_grouped_stacking_matches_training_alone_up_to_float_rounding(alone, tiny_splits, tiny_recipe):
    # Grouped convolutions round differently from single ones and two epochs at lr 0.1 amplify that; the
    # computation itself is pinned exactly by the float64 test below. Stated tolerance for these runs:
    # losses within 0.02, accuracies within 3 points (9 of 300 validation images).
    together = train_many(MIX, tiny_splits, tiny_recipe, SEEDS, replace(ALONE, stacking="grouped"), test="all")
    for one, other in zip(alone, together):
        for key in ("train_loss", "valid_loss", "test_loss_curve"):
            np.testing.assert_allclose(getattr(other, key), getattr(one, key), atol=0.02, err_msg=f"{one.index} {key}")
        for key in ("train_accuracy", "valid_accuracy", "test_accuracy_curve"):
            np.testing.assert_allclose(getattr(other, key), getattr(one, key), atol=3.0, err_msg=f"{one.index} {key}")
        assert other.info["stacking"] == "grouped" and other.params == one.params
    costs = [sum(r.train_seconds) / r.flops for r in together]  # seconds are split in proportion to FLOPs
    np.testing.assert_allclose(costs, costs[0], rtol=1e-9)


@pytest.mark.parametrize("stacking", ["per-arch", "grouped"])
def test_one_architecture_alone_in_a_batch(alone, tiny_splits, tiny_recipe, stacking):
    (result,) = train_many([MIX[0]], tiny_splits, tiny_recipe, [SEEDS[0]], replace(ALONE, stacking=stacking), "all")
    tolerance = 0 if stacking == "per-arch" else 0.02
    np.testing.assert_allclose(result.valid_loss, alone[0].valid_loss, atol=tolerance, rtol=0)
    np.testing.assert_allclose(result.train_loss, alone[0].train_loss, atol=tolerance, rtol=0)


def _nets(seeds, dtype):
    nets = []
    for index, seed in zip(MIX, seeds):
        torch.manual_seed(seed)
        nets.append(NB201Network(index, 10, channels=4, cells_per_stage=2).to(dtype))
    return nets


def test_grouped_network_steps_like_separate_networks_in_float64():
    streams = [0, 1, 1, 2, 0, 3]
    separate = _nets(SEEDS, torch.float64)
    grouped = GroupedNetwork(_nets(SEEDS, torch.float64), streams).to(torch.float64)
    sgd = dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    opt_a = torch.optim.SGD([p for n in separate for p in n.parameters()], **sgd)
    opt_b = torch.optim.SGD(grouped.parameters(), **sgd)
    gen = torch.Generator().manual_seed(0)
    for step in range(4):
        xs = [torch.randn(6, 3, 16, 16, generator=gen, dtype=torch.float64) for _ in range(4)]
        ys = [torch.randint(0, 10, (6,), generator=gen) for _ in range(4)]
        target = torch.stack([ys[s] for s in streams])
        logits_a = torch.stack([n(xs[s]) for n, s in zip(separate, streams)])
        logits_b = grouped(xs)
        torch.testing.assert_close(logits_b, logits_a, rtol=0, atol=1e-10, msg=f"step {step}")
        for logits, opt in ((logits_a, opt_a), (logits_b, opt_b)):
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none")
            opt.zero_grad()
            loss.view(target.shape).mean(1).sum().backward()
            opt.step()
    for net in separate:
        net.eval()
    grouped.eval()  # BN running statistics are per architecture too
    x = torch.randn(5, 3, 16, 16, generator=gen, dtype=torch.float64)
    expected = torch.stack([n(x) for n in separate])
    torch.testing.assert_close(grouped([x]), expected, rtol=0, atol=1e-10)
    torch.testing.assert_close(PerArchNetworks(separate, streams)([x]), expected, rtol=0, atol=0)


def test_pruned_parameters_are_not_stacked():
    nets = _nets(SEEDS, torch.float32)
    grouped = GroupedNetwork(nets, [0] * len(nets))
    used = sum(p.numel() for p in grouped.parameters())
    assert used < sum(p.numel() for n in nets for p in n.parameters())  # the pruned edges' convolutions are left out
    disconnected = GroupedNetwork([NB201Network(DISCONNECTED, 10, channels=4, cells_per_stage=2)], [0])
    assert not any(".convs." in name for name, _ in disconnected.named_parameters())  # no cell edge is computed
    assert any(".convs." in name for name, _ in grouped.named_parameters())


def test_bad_batches_are_refused_with_the_reason(tiny_splits, tiny_recipe):
    with pytest.raises(ValueError, match="need one seed per architecture, got 2 architectures and 1 seeds"):
        train_many([1, 2], tiny_splits, tiny_recipe, [0], ALONE)
    with pytest.raises(ValueError, match="need one seed per architecture, got 0 architectures"):
        train_many([], tiny_splits, tiny_recipe, [], ALONE)
    with pytest.raises(ValueError, match="test must be False, True or 'all', got 'some'"):
        train_many([1], tiny_splits, tiny_recipe, [0], ALONE, test="some")
    with pytest.raises(ValueError, match=r"must share one test flag, got \['False', 'all'\]"):
        train_jobs([Job(1, 0, False), Job(2, 0, "all")], tiny_splits, tiny_recipe, ALONE)
    with pytest.raises(ValueError, match=r"need one stream per network, got 1 networks and streams \[0, 1\]"):
        PerArchNetworks(_nets([1], torch.float32)[:1], [0, 1])
    with pytest.raises(ValueError, match=r"streams must number 0..S-1 with none unused, got \[0, 2\]"):
        GroupedNetwork(_nets([1, 2], torch.float32)[:2], [0, 2])
    with pytest.raises(ValueError, match="archs_per_step must be an int >= 1, got 0"):
        Runtime(archs_per_step=0)
    with pytest.raises(
        ValueError, match="unknown stacking 'stacked'; valid stackings are: 'auto', 'grouped', 'per-arch'"
    ):
        Runtime(stacking="stacked")  # type: ignore[arg-type]
    assert Runtime().stacking_on(torch.device("cpu")) == "per-arch"
    assert Runtime().stacking_on(torch.device("cuda")) == "grouped"


def test_evaluator_trains_batches_and_stores_each_architecture_in_its_own_transaction(
    tmp_path, tiny_splits, tiny_recipe, monkeypatch
):
    from nb201_env.training import batched_trainer
    from nb201_env.training.cache import ResultCache
    from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator

    archs = [int(i) for i in (1, 6111, DISCONNECTED, 0, 15624)]
    batches, puts = [], []
    real_many, real_put = batched_trainer.train_many, ResultCache.put

    def many(indices, *args, **kwargs):
        batches.append(list(indices))
        if len(batches) == 2:
            raise RuntimeError("worker lost")  # the second batch fails: the first one is already stored
        return real_many(indices, *args, **kwargs)

    def put(self, result, key, recipe):
        puts.append(result["index"])
        real_put(self, result, key, recipe)

    monkeypatch.setattr(batched_trainer, "train_many", many)
    monkeypatch.setattr(ResultCache, "put", put)
    runtime = replace(ALONE, archs_per_step=2, stacking="per-arch")
    config = TrainingConfig(recipe=tiny_recipe, cache=tmp_path / "runs.sqlite", runtime=runtime)
    with TrainingEvaluator(config, splits=tiny_splits) as evaluator:
        with pytest.raises(RuntimeError, match="worker lost"):
            evaluator.run(archs, [777] * 5)
        assert puts == archs[:2] and evaluator.cache.count() == 2  # two transactions, both kept
        runs = evaluator.run(archs, [777] * 5)
    assert batches[2:] == [archs[2:4]] and puts == archs  # the rest: one batch of two, then one alone
    solo = train(archs[3], tiny_splits, tiny_recipe, 777, ALONE)
    assert runs[3]["valid_loss"] == solo.valid_loss and runs[3]["info"]["archs_per_step"] == 2
    assert "archs_per_step" not in runs[4]["info"]  # the last one trained alone


def test_build_table_trains_classes_together(cifar_jpg, tiny_recipe, tmp_path):
    from nb201_env.benchmark import Benchmark
    from nb201_env.training.cache import ResultCache
    from nb201_env.training.table import TableConfig, build_order, build_table

    config = TableConfig(
        cifar_jpg,
        tmp_path / "t.store",
        tmp_path / "runs.sqlite",
        recipe=tiny_recipe,
        workers=1,
        limit=3,
        archs_per_step=3,
        stacking="grouped",
    )
    bench = Benchmark.open(build_table(config))
    assert bench.store.manifest.extra["classes_trained"] == 3
    with ResultCache(tmp_path / "runs.sqlite") as cache:
        rows = [cache.get(int(r), only_key(cache), 777) for r in build_order(3)]
    assert {(r["info"]["archs_per_step"], r["info"]["stacking"]) for r in rows} == {(3, "grouped")}
    with pytest.raises(ValueError, match="archs_per_step must be an int >= 1, got 0"):
        TableConfig(cifar_jpg, tmp_path / "u.store", tmp_path / "u.sqlite", archs_per_step=0)
