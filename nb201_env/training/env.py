"""``NASBench201-Train-v0``: the search environment with rewards from really training each architecture."""

from __future__ import annotations

import os
from typing import Any

from nb201_env.config import RUN_FIELDS
from nb201_env.envs.oneshot import NASBench201OneShotEnv
from nb201_env.envs.sequential import NASBench201Env
from nb201_env.protocols import get_protocol
from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
from nb201_env.training.recipe import Recipe
from nb201_env.training.runtime import Runtime

ENV_ARGS: tuple[str, ...] = (*(f for f in RUN_FIELDS if f != "store"), "render_mode", "reward")
"""The environment's own arguments (the search run's fields, derived from :class:`EnvConfig`); the training
evaluator decides the signal, so the tabular signal's fields and ``store`` are not among them."""


def make_training_env(
    root: str | os.PathLike[str],
    *,
    recipe: Recipe | None = None,
    cache: str | os.PathLike[str] | None = None,
    dataset: str = "cifar10",
    seed: int = 777,
    runtime: Runtime | None = None,
    one_shot: bool = False,
    **kwargs: Any,
) -> NASBench201Env | NASBench201OneShotEnv:
    """Return ``NASBench201-v0`` (or the one-shot env) whose evaluator trains each architecture.

    ``root`` is the dataset folder, ``recipe`` the training recipe (default NB201's 12-epoch search
    schedule), ``cache`` the SQLite cache of runs (``None`` = in memory). The clock charges the measured
    seconds of each run (the recorded ones for cached runs). Other keywords (:data:`ENV_ARGS`: ``protocol``,
    ``budget``, ``budget_rule``, ``charge_repeats``, ``report_test``, ``action_mask``, ``fidelities``,
    ``render_mode``, ``reward``) go to the environment; a ``protocol`` must search ``dataset``.
    """
    unknown = sorted(set(kwargs) - set(ENV_ARGS))
    if unknown:
        raise ValueError(
            f"unknown argument {unknown[0]!r}; valid ones are root, recipe, cache, dataset, seed, "
            f"runtime, one_shot and {', '.join(sorted(ENV_ARGS))}"
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
        recipe=recipe or Recipe.nb201(12),
        seed=seed,
        cache=cache,
        runtime=runtime or Runtime(),
    )
    evaluator = TrainingEvaluator(config)
    cls = NASBench201OneShotEnv if one_shot else NASBench201Env
    return cls(evaluator=evaluator, **kwargs)
