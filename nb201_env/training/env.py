"""``NASBench201-Train-v0``: the search environment with rewards from really training each architecture.

``gym.make("NASBench201-Train-v0", root=..., recipe="proxy", cache="runs.sqlite")`` builds the same
``NASBench201-v0`` (or, with ``one_shot=True``, ``NASBench201-OneShot-v0``) whose evaluator is a
:class:`~nb201_env.training.evaluator.TrainingEvaluator`. Everything in its spec's kwargs has a JSON form
(recipes by name or as dicts, runtimes as dicts), so ``env.spec.to_json()`` round-trips; the environment
pickles and deep-copies (the cache reopens its file; the data reloads from the data cache). It is
registered ``nondeterministic=True``: costs are measured seconds, and accuracies depend on float rounding.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from nb201_env.config import RUN_FIELDS
from nb201_env.envs.base import SearchEnv
from nb201_env.envs.oneshot import NASBench201OneShotEnv
from nb201_env.envs.sequential import NASBench201Env
from nb201_env.protocols import get_protocol
from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
from nb201_env.training.recipe import Recipe
from nb201_env.training.runtime import Runtime

ENV_ARGS: tuple[str, ...] = (*(f for f in RUN_FIELDS if f != "store"), "render_mode", "reward")
"""The environment's own arguments (the search run's fields, derived from :class:`EnvConfig`); the training
evaluator decides the signal, so the tabular signal's fields and ``store`` are not among them."""
TRAINING_ARGS: tuple[str, ...] = (
    "root", "recipe", "cache", "dataset", "seed", "runtime", "one_shot", "split_dir", "split_seed", "data_cache",
    "data_cache_dir", "download", "seconds", "progress",
)  # fmt: skip


def make_training_env(
    root: str | os.PathLike[str] | None = None,
    *,
    recipe: Recipe | str | Mapping[str, Any] = "nb201-12",
    cache: str | os.PathLike[str] | None = None,
    dataset: str = "cifar10",
    seed: int = 777,
    runtime: Runtime | Mapping[str, Any] | None = None,
    one_shot: bool = False,
    split_dir: str | os.PathLike[str] | None = None,
    split_seed: int = 0,
    data_cache: bool = True,
    data_cache_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
    seconds: str = "auto",
    progress: bool = True,
    **kwargs: Any,
) -> NASBench201Env | NASBench201OneShotEnv:
    """Return ``NASBench201-v0`` (or the one-shot env) whose evaluator trains each architecture.

    Args:
        root: the dataset, checked now: an image folder ``train/<class>/*.jpg`` + ``test/<class>/*.jpg``, a
            ``.tar.gz`` of one (e.g. ``../shared/datasets/cifar10-jpg.tar.gz``), torchvision's CIFAR python
            layout, or ImageNet16's official files.
        recipe: a :class:`Recipe`, a name (``"nb201-12"``, ``"nb201-200"``, ``"proxy"``: 16 px, C=8, N=1, 5,000
            images, 4 epochs, seconds per architecture on a CPU; ``"proxy-table"``) or a dict of its fields.
        cache: SQLite cache of runs (``None`` = in memory).
        dataset: the searched dataset (its validation split is the signal).
        seed: the training seed.
        runtime: a :class:`Runtime` or a dict of its fields (default: CUDA if present, else CPU with one thread).
        one_shot: the one-shot env (one action per cell) instead of one step per edge.
        split_dir, split_seed, data_cache, data_cache_dir, download, seconds: as in :class:`TrainingConfig`.
        progress: progress bars on stderr while decoding the data and training.
        kwargs: the environment's own arguments (:data:`ENV_ARGS`: ``protocol``, ``budget``, ``budget_rule``,
            ``charge_repeats``, ``report_test``, ``action_mask``, ``fidelities``, ``render_mode``, ``reward``); a
            ``protocol`` must search ``dataset``. ``report_test=True`` scores the test split in the same run.

    The clock charges the measured seconds of each run (CPU seconds on a CPU, wall seconds on a GPU, unless
    ``seconds`` says otherwise; recorded ones for cached runs).
    """
    unknown = sorted(set(kwargs) - set(ENV_ARGS))
    if unknown:
        raise ValueError(
            f"unknown argument {unknown[0]!r}; valid ones are {', '.join(TRAINING_ARGS)} and "
            f"{', '.join(sorted(ENV_ARGS))}"
        )
    protocol = kwargs.get("protocol")
    if protocol is not None and get_protocol(protocol).dataset != dataset:
        raise ValueError(
            f"protocol {protocol!r} searches {get_protocol(protocol).dataset}, but dataset={dataset!r}: pass "
            f"dataset={get_protocol(protocol).dataset!r} (and its data) or another protocol"
        )
    config = TrainingConfig(
        dataset=dataset,
        root=root,
        recipe=Recipe.coerce(recipe),
        seed=seed,
        cache=cache,
        runtime=Runtime.coerce(runtime),
        split_dir=split_dir,
        split_seed=split_seed,
        data_cache=data_cache,
        data_cache_dir=data_cache_dir,
        download=download,
        seconds=seconds,  # type: ignore[arg-type]
        record_test=bool(kwargs.get("report_test", False)),
        progress=progress,
    )
    evaluator = TrainingEvaluator(config)
    cls = NASBench201OneShotEnv if one_shot else NASBench201Env
    return cls(evaluator=evaluator, **kwargs)


make_training_env.metadata = SearchEnv.metadata  # type: ignore[attr-defined]  # gym.make reads render modes here
