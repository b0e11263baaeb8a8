"""The recipe: official defaults, proxy preset, schedule, stable hash and validation messages (no torch needed)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from nb201_env.training.recipe import Recipe


def test_defaults_are_the_official_nb201_recipe():
    r = Recipe.nb201(12)
    assert (r.epochs, r.batch_size, r.lr, r.momentum, r.nesterov) == (12, 256, 0.1, 0.9, True)
    assert (r.weight_decay, r.eta_min) == (5e-4, 0.0)
    assert (r.channels, r.cells_per_stage, r.resolution, r.train_subset, r.flip) == (16, 5, None, None, True)
    assert r.padding_for(32) == 4 and r.padding_for(16) == 2  # RandomCrop(32, 4) / RandomCrop(16, 2)
    assert Recipe().epochs == 200


def test_proxy_preset_is_the_one_of_the_proxy_notes():
    p = Recipe.proxy()
    assert (p.resolution, p.channels, p.cells_per_stage, p.train_subset) == (16, 8, 1, 5000)
    assert (p.epochs, p.batch_size, p.valid_subset) == (4, 128, 2000)
    assert p.padding_for(16) == 0 and p.flip
    assert Recipe.proxy(epochs=6).epochs == 6


def test_cosine_is_set_per_epoch_and_decays_towards_eta_min():
    r = Recipe.nb201(12)
    assert r.lr_at(0) == 0.1
    assert r.lr_at(6) == pytest.approx(0.05)
    assert r.lr_at(11) == pytest.approx(0.1 * (1 + math.cos(math.pi * 11 / 12)) / 2)
    assert Recipe(epochs=12, cosine_epochs=200).lr_at(11) > 0.09  # a truncated long schedule


def test_stable_hash_is_fixed_across_processes_and_ignores_int_float_spelling():
    assert Recipe.nb201(12).stable_hash() == "1810cbc5b34e08ab"  # pinned: changing it orphans every cache
    assert Recipe.proxy().stable_hash() == "bd36cfc98b70fb7a"
    code = "from nb201_env.training.recipe import Recipe; print(Recipe.nb201(12).stable_hash())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == "1810cbc5b34e08ab"
    assert Recipe(lr=1).stable_hash() == Recipe(lr=1.0).stable_hash()
    hashes = {Recipe(epochs=e).stable_hash() for e in (1, 2, 3)} | {Recipe(flip=False).stable_hash()}
    assert len(hashes) == 4


def test_dict_round_trip_and_replace():
    r = Recipe.proxy(train_subset=1000)
    assert Recipe.from_dict(r.to_dict()) == r
    assert r.replace(epochs=9).epochs == 9 and r.epochs == 4
    with pytest.raises(ValueError, match=r"unknown recipe fields \['learning_rate'\]; valid fields are"):
        Recipe.from_dict({**r.to_dict(), "learning_rate": 0.1})


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"epochs": 0}, "recipe epochs must be an int >= 1, got 0"),
        ({"epochs": True}, "recipe epochs must be an int >= 1, got True"),
        ({"batch_size": 2.5}, "recipe batch_size must be an int >= 1, got 2.5"),
        ({"lr": 0}, r"recipe lr must be a number in \(0.0, inf\], got 0"),
        ({"lr": float("nan")}, "recipe lr must be a number"),
        ({"momentum": 1.5}, r"recipe momentum must be a number in \[0.0, 1.0\], got 1.5"),
        ({"weight_decay": -1e-4}, "recipe weight_decay must be a number"),
        ({"eta_min": 0.5}, r"recipe eta_min must be a number in \[0.0, 0.1\], got 0.5"),
        ({"resolution": 2}, "recipe resolution must be an int >= 4 or None, got 2"),
        ({"train_subset": 0}, "recipe train_subset must be an int >= 1 or None, got 0"),
        ({"crop_padding": -1}, "recipe crop_padding must be an int >= 0 or None, got -1"),
        ({"flip": "yes"}, "recipe flip must be True or False, got 'yes'"),
        ({"momentum": 0.0}, "nesterov=True needs momentum > 0"),
        ({"cells_per_stage": -1}, "recipe cells_per_stage must be an int >= 0, got -1"),
    ],
)
def test_bad_recipes_name_the_field_value_and_valid_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Recipe(**kwargs)


def test_nb201_preset_only_knows_its_two_schedules():
    with pytest.raises(ValueError, match="NB201 trained for 12 or 200 epochs, got 50"):
        Recipe.nb201(50)


def test_recipe_is_frozen():
    with pytest.raises(AttributeError):
        Recipe().epochs = 3  # type: ignore[misc]
