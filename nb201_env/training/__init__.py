"""Really train NB201 networks, behind the same ``Evaluator`` interface as the tabular benchmark.

PyTorch is an optional extra (``pip install nb201-env[train]``): this package imports it only when a name
that needs it is first used, and then fails with an ``ImportError`` naming that command if it is missing.
The recipe, runtime, data readers, result cache and evaluator configuration need no torch; reading
cached results needs none either.

    from nb201_env.training import Recipe, TrainingConfig, TrainingEvaluator

    config = TrainingConfig(dataset="cifar10", root="cifar10-jpg.tar.gz", recipe="proxy", cache="runs.sqlite")
    with TrainingEvaluator(config) as evaluator:
        accuracy, seconds = evaluator.evaluate(1234, np.random.default_rng(0))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Recipe": "recipe",
    "Runtime": "runtime",
    "TrainResult": "result",
    "EpochReport": "result",
    "train": "trainer",
    "train_many": "batched_trainer",
    "evaluate": "trainer",
    "minibatch": "batches",
    "NB201Network": "network",
    "count_parameters": "network",
    "ImageSet": "data",
    "DatasetError": "data",
    "load_cifar_python": "data",
    "load_imagenet16": "data",
    "download_cifar": "data",
    "DataSource": "sources",
    "find_source": "sources",
    "DecodedCache": "datacache",
    "load_image_folder": "dataset",
    "load_image_set": "dataset",
    "locate": "dataset",
    "Splits": "splits",
    "load_splits": "splits",
    "prepare": "splits",
    "ResultCache": "cache",
    "CacheError": "cache",
    "RunKey": "runkey",
    "migrate_cache": "migrate",
    "Job": "jobs",
    "Backend": "jobs",
    "TrainingConfig": "config",
    "TrainingEvaluator": "evaluator",
    "ProcessPoolBackend": "parallel",
    "RayBackend": "ray_backend",
}
__all__ = [
    "Backend",
    "CacheError",
    "DataSource",
    "DatasetError",
    "DecodedCache",
    "EpochReport",
    "ImageSet",
    "Job",
    "NB201Network",
    "ProcessPoolBackend",
    "RayBackend",
    "Recipe",
    "ResultCache",
    "RunKey",
    "Runtime",
    "Splits",
    "TrainResult",
    "TrainingConfig",
    "TrainingEvaluator",
    "count_parameters",
    "download_cifar",
    "evaluate",
    "find_source",
    "load_cifar_python",
    "load_image_folder",
    "load_image_set",
    "load_imagenet16",
    "load_splits",
    "locate",
    "migrate_cache",
    "minibatch",
    "prepare",
    "train",
    "train_many",
]

if TYPE_CHECKING:
    from nb201_env.training.batched_trainer import train_many
    from nb201_env.training.batches import minibatch
    from nb201_env.training.cache import CacheError, ResultCache
    from nb201_env.training.config import TrainingConfig
    from nb201_env.training.data import DatasetError, ImageSet, download_cifar, load_cifar_python, load_imagenet16
    from nb201_env.training.datacache import DecodedCache
    from nb201_env.training.dataset import load_image_folder, load_image_set, locate
    from nb201_env.training.evaluator import TrainingEvaluator
    from nb201_env.training.jobs import Backend, Job
    from nb201_env.training.migrate import migrate_cache
    from nb201_env.training.network import NB201Network, count_parameters
    from nb201_env.training.parallel import ProcessPoolBackend
    from nb201_env.training.ray_backend import RayBackend
    from nb201_env.training.recipe import Recipe
    from nb201_env.training.result import EpochReport, TrainResult
    from nb201_env.training.runkey import RunKey
    from nb201_env.training.runtime import Runtime
    from nb201_env.training.sources import DataSource, find_source
    from nb201_env.training.splits import Splits, load_splits, prepare
    from nb201_env.training.trainer import evaluate, train


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nb201_env.training' has no attribute {name!r}")
    return getattr(importlib.import_module(f"nb201_env.training.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
