"""Really train NB201 networks, behind the same ``Evaluator`` interface as the tabular benchmark.

PyTorch is an optional extra (``pip install nb201-env[train]``): this package imports it only when a name
that needs it is first used, and then fails with an ``ImportError`` naming that command if it is missing.
The recipe, runtime, data readers, result cache and evaluator configuration need no torch; reading
cached results needs none either.

    from nb201_env.training import Recipe, TrainingConfig, TrainingEvaluator

    config = TrainingConfig(dataset="cifar10", root="data/cifar10-jpg", recipe=Recipe.proxy(), cache="runs.sqlite")
    with TrainingEvaluator(config) as evaluator:
        accuracy, seconds = evaluator.evaluate(1234, np.random.default_rng(0))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Recipe": "recipe",
    "Runtime": "runtime",
    "TrainResult": "trainer",
    "train": "trainer",
    "train_many": "batched_trainer",
    "evaluate": "trainer",
    "NB201Network": "network",
    "count_parameters": "network",
    "ImageSet": "data",
    "DatasetError": "data",
    "load_cifar_python": "data",
    "load_imagenet16": "data",
    "load_image_folder": "data",
    "download_cifar": "data",
    "Splits": "splits",
    "load_splits": "splits",
    "prepare": "splits",
    "ResultCache": "cache",
    "CacheError": "cache",
    "TrainingConfig": "evaluator",
    "TrainingEvaluator": "evaluator",
    "ProcessPoolBackend": "parallel",
    "RayBackend": "ray_backend",
}
__all__ = [
    "CacheError",
    "DatasetError",
    "ImageSet",
    "NB201Network",
    "ProcessPoolBackend",
    "RayBackend",
    "Recipe",
    "ResultCache",
    "Runtime",
    "Splits",
    "TrainResult",
    "TrainingConfig",
    "TrainingEvaluator",
    "count_parameters",
    "download_cifar",
    "evaluate",
    "load_cifar_python",
    "load_image_folder",
    "load_imagenet16",
    "load_splits",
    "prepare",
    "train",
    "train_many",
]

if TYPE_CHECKING:
    from nb201_env.training.batched_trainer import train_many
    from nb201_env.training.cache import CacheError, ResultCache
    from nb201_env.training.data import (
        DatasetError,
        ImageSet,
        download_cifar,
        load_cifar_python,
        load_image_folder,
        load_imagenet16,
    )
    from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
    from nb201_env.training.network import NB201Network, count_parameters
    from nb201_env.training.parallel import ProcessPoolBackend
    from nb201_env.training.ray_backend import RayBackend
    from nb201_env.training.recipe import Recipe
    from nb201_env.training.runtime import Runtime
    from nb201_env.training.splits import Splits, load_splits, prepare
    from nb201_env.training.trainer import TrainResult, evaluate, train


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nb201_env.training' has no attribute {name!r}")
    return getattr(importlib.import_module(f"nb201_env.training.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
