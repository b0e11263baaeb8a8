"""``NASBench201-Train-v0``: the search environment with rewards from really training each architecture."""

from __future__ import annotations

import os
from typing import Any

from nb201_env.env import NASBench201Env
from nb201_env.oneshot import NASBench201OneShotEnv
from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
from nb201_env.training.recipe import Recipe
from nb201_env.training.runtime import Runtime

ENV_ARGS = {
    "protocol",
    "budget",
    "budget_rule",
    "charge_repeats",
    "report_test",
    "action_mask",
    "render_mode",
    "reward",
}


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
    seconds of each run (the recorded ones for cached runs). Other keywords (``budget``, ``protocol``,
    ``budget_rule``, ``charge_repeats``, ``report_test``, ``action_mask``, ``render_mode``, ``reward``) go to
    the environment.
    """
    unknown = sorted(set(kwargs) - ENV_ARGS)
    if unknown:
        raise ValueError(
            f"unknown argument {unknown[0]!r}; valid ones are root, recipe, cache, dataset, seed, "
            f"runtime, one_shot and {', '.join(sorted(ENV_ARGS))}"
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
    return cls(evaluator=evaluator, dataset=dataset, **kwargs)
