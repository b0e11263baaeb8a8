"""The trainer on a real CIFAR-10 subset: curves, determinism, batched augmentation, runtime options."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the [train] extra (pip install nb201-env[train])")

from nb201_env import complexity  # noqa: E402
from nb201_env.training.augment import Normalizer, augment, random_crop  # noqa: E402
from nb201_env.training.splits import MEAN_STD  # noqa: E402
from nb201_env.training.trainer import Runtime, train  # noqa: E402

CPU = Runtime(device="cpu", threads=1)


def test_training_returns_full_curves_timings_and_costs(tiny_splits, tiny_recipe):
    result = train(1, tiny_splits, tiny_recipe, seed=3, runtime=CPU, test=True)
    epochs = tiny_recipe.epochs
    for curve in (result.train_loss, result.train_accuracy, result.valid_loss, result.valid_accuracy):
        assert len(curve) == epochs and all(math.isfinite(v) for v in curve)
    assert all(0 <= a <= 100 for a in result.valid_accuracy + result.train_accuracy)
    assert result.train_loss[-1] < result.train_loss[0]  # it learns something
    assert len(result.train_seconds) == len(result.eval_seconds) == epochs and min(result.train_seconds) > 0
    assert result.accuracy == result.valid_accuracy[-1]
    assert result.cost == pytest.approx(sum(result.train_cpu_seconds) + result.eval_cpu_seconds[-1])  # CPU s on a CPU
    assert len(result.train_cpu_seconds) == len(result.eval_cpu_seconds) == epochs and result.test_cpu_seconds > 0
    assert result.test_accuracy is not None and 0 <= result.test_accuracy <= 100 and result.test_seconds > 0
    assert result.params == complexity.param_count(1, 10, 4, 1)
    assert result.flops == complexity.flop_count(1, 10, 16, 4, 1)
    assert result.info["threads"] == 1 and result.info["precision"] == "float32"
    assert result.info["train_images"] == 300 and result.info["valid_images"] == 300


def test_a_run_uses_one_thread_unless_told_otherwise(tiny_splits, tiny_recipe):
    # torch's own default is one thread per core: on a shared machine that multiplied the cost by 10
    assert train(1, tiny_splits, tiny_recipe, seed=0, runtime=Runtime(device="cpu")).info["threads"] == 1
    assert train(1, tiny_splits, tiny_recipe, seed=0, runtime=Runtime(device="cpu", threads=2)).info["threads"] == 2


def test_same_seed_same_bits_other_seed_other_run(tiny_splits, tiny_recipe):
    runtime = Runtime(device="cpu", threads=1, deterministic=True)
    a = train(6111, tiny_splits, tiny_recipe, seed=0, runtime=runtime)
    b = train(6111, tiny_splits, tiny_recipe, seed=0, runtime=runtime)
    c = train(6111, tiny_splits, tiny_recipe, seed=1, runtime=runtime)
    assert a.train_loss == b.train_loss and a.valid_accuracy == b.valid_accuracy
    assert a.train_loss != c.train_loss


def test_training_leaves_global_torch_state_alone(tiny_splits, tiny_recipe):
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train(2, tiny_splits, tiny_recipe, seed=5, runtime=Runtime(device="cpu", threads=1, deterministic=True))
    assert torch.equal(torch.rand(3), expected)  # the model init did not consume the caller's RNG
    assert torch.get_num_threads() == threads and not torch.are_deterministic_algorithms_enabled()


def test_last_epoch_only_evaluation_and_bf16_autocast(tiny_splits, tiny_recipe):
    result = train(1, tiny_splits, tiny_recipe, seed=0, runtime=Runtime(device="cpu", threads=1, eval_epochs="last"))
    assert math.isnan(result.valid_accuracy[0]) and math.isfinite(result.valid_accuracy[-1])
    bf16 = train(1, tiny_splits, tiny_recipe, seed=0, runtime=Runtime(device="cpu", threads=1, precision="bfloat16"))
    assert bf16.info["precision"] == "bfloat16" and math.isfinite(bf16.accuracy)


def test_channels_first_gives_the_same_training(tiny_splits, tiny_recipe):
    a = train(1, tiny_splits, tiny_recipe, seed=0, runtime=Runtime(device="cpu", threads=1, channels_last=False))
    b = train(1, tiny_splits, tiny_recipe, seed=0, runtime=CPU)
    np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=1e-3)


def test_random_crop_matches_a_per_sample_reference():
    images = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    gen = torch.Generator().manual_seed(0)
    out = random_crop(images, 2, gen)
    offsets = torch.randint(0, 5, (2, 16), generator=torch.Generator().manual_seed(0))  # the same draw
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    for i in range(16):
        y, x = offsets[0, i], offsets[1, i]
        assert torch.equal(out[i], padded[i, :, y : y + 8, x : x + 8])


def test_flips_mirror_about_half_the_images_and_padding_is_black():
    images = torch.arange(64, dtype=torch.uint8).view(1, 1, 8, 8).expand(400, 3, 8, 8).contiguous()
    out = augment(images, 0, True, torch.Generator().manual_seed(1))
    flipped = (out == images.flip(3)).flatten(1).all(1)
    assert torch.equal(flipped | (out == images).flatten(1).all(1), torch.ones(400, dtype=torch.bool))
    assert 150 < int(flipped.sum()) < 250
    mean, std = (tuple(v / 255 for v in values) for values in MEAN_STD["cifar10"])
    norm = Normalizer(mean, std, channels_last=False)
    black = norm(torch.zeros(1, 3, 1, 1, dtype=torch.uint8)).flatten()
    torch.testing.assert_close(black, -torch.tensor(mean) / torch.tensor(std))  # ToTensor+Normalize of a 0 pixel
    white = norm(torch.full((1, 3, 1, 1), 255, dtype=torch.uint8)).flatten()
    torch.testing.assert_close(white, (1 - torch.tensor(mean)) / torch.tensor(std))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"precision": "fp8"}, "unknown precision 'fp8'; valid precisions are: 'auto', 'float32', 'bfloat16'"),
        ({"eval_epochs": "some"}, "unknown eval_epochs value 'some'; valid eval_epochs values are: 'all', 'last'"),
        ({"threads": 0}, "threads must be an int >= 1 or None, got 0"),
        ({"device": "tpu"}, "unknown device 'tpu'; valid devices are 'auto', 'cpu', 'cuda', 'cuda:<i>'"),
        ({"eval_batch_size": 0}, "eval_batch_size must be an int >= 1, got 0"),
    ],
)
def test_bad_runtimes_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Runtime(**kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_without_a_gpu_is_a_clear_error(tiny_splits, tiny_recipe):
    assert Runtime(device="auto").resolve_device().type == "cpu"
    with pytest.raises(RuntimeError, match="device 'cuda' requested but CUDA is not available"):
        train(1, tiny_splits, tiny_recipe, seed=0, runtime=Runtime(device="cuda"))


def test_a_dataset_without_validation_split_is_refused(cifar_jpg, tiny_recipe):
    from nb201_env.training.splits import load_splits, prepare

    splits = prepare(load_splits("cifar10", cifar_jpg), tiny_recipe)
    with pytest.raises(ValueError, match="dataset 'cifar10' has no validation split; train on 'cifar10-valid'"):
        train(1, splits, tiny_recipe, seed=0, runtime=CPU)


def test_splits_prepared_for_another_recipe_are_refused(tiny_splits, tiny_recipe):
    with pytest.raises(
        ValueError, match=r"splits were prepared for .*\(16, None, None, None, 0\), but the recipe asks"
    ):
        train(1, tiny_splits, tiny_recipe.replace(train_subset=100), seed=0, runtime=CPU)


def test_per_epoch_test_curves_end_at_the_final_test_figure(tiny_splits, tiny_recipe):
    result = train(0, tiny_splits, tiny_recipe, seed=1, runtime=Runtime(threads=1), test="all")
    epochs = tiny_recipe.epochs
    assert len(result.test_accuracy_curve) == len(result.test_loss_curve) == len(result.test_seconds_curve) == epochs
    assert result.test_accuracy == result.test_accuracy_curve[-1] and 0 <= result.test_accuracy <= 100
    once = train(0, tiny_splits, tiny_recipe, seed=1, runtime=Runtime(threads=1), test=True)
    assert once.test_accuracy_curve is None and once.test_accuracy == pytest.approx(result.test_accuracy)
    assert once.valid_accuracy == result.valid_accuracy  # scoring the test split never changes training
    with pytest.raises(ValueError, match="test must be False, True or 'all'"):
        train(0, tiny_splits, tiny_recipe, seed=1, test="every")
