"""nb201_env: the NAS-Bench-201 search space as a fast benchmark store and a Gymnasium environment.

Importing the package registers the environments ``NASBench201-v0`` (one step per edge),
``NASBench201-OneShot-v0`` (one step per cell), their native vector versions (``gymnasium.make_vec``), the
multi-objective ``NASBench201-MO-v0`` and ``NASBench201-MO-OneShot-v0`` (vector rewards, MO-Gymnasium API), and
``NASBench201-Train-v0`` (rewards from really training each architecture; the ``[train]`` extra).

The public names below are imported on first use, so ``import nb201_env`` stays cheap::

    import nb201_env as nb

    bench = nb.Benchmark.open()  # a name or path, $NB201_DATA, the cache directory, else the bundled nb201-public
    arch = nb.Arch.from_ops([3, 3, 3, 1, 3, 2])  # or .from_str("|nor_conv_3x3~0|+|...") or nb.Arch(6111)
    env = nb.NASBench201Env(protocol="nb201")
"""

from __future__ import annotations

import importlib
from typing import Any

from gymnasium.envs.registration import register, registry

__version__ = "0.1.0"

_PUBLIC: dict[str, str] = {
    # the benchmark and the search space
    "Benchmark": "nb201_env.benchmark",
    "Evaluation": "nb201_env.benchmark",
    "MissingValueError": "nb201_env.store",
    "Arch": "nb201_env.space",
    "OPS": "nb201_env.space",
    "EDGES": "nb201_env.space",
    "NUM_ARCHS": "nb201_env.space",
    "Store": "nb201_env.store",
    "StoreError": "nb201_env.store",
    # configuring a search
    "EnvConfig": "nb201_env.config",
    "PROTOCOLS": "nb201_env.protocols",
    "SearchProtocol": "nb201_env.protocols",
    "Evaluator": "nb201_env.evaluators",
    "MultiFidelityEvaluator": "nb201_env.evaluators",
    "TabularConfig": "nb201_env.evaluators",
    "TabularEvaluator": "nb201_env.evaluators",
    "Reward": "nb201_env.rewards",
    "AccuracyReward": "nb201_env.rewards",
    "CostPenaltyReward": "nb201_env.rewards",
    "VectorReward": "nb201_env.rewards",
    "ObjectivesReward": "nb201_env.objectives",
    "SearchRuns": "nb201_env.search_runs",
    "INFO_KEYS": "nb201_env.search_runs",
    "SimulatedClock": "nb201_env.clock",
    # the environments
    "NASBench201Env": "nb201_env.envs.sequential",
    "NASBench201OneShotEnv": "nb201_env.envs.oneshot",
    "NASBench201VectorEnv": "nb201_env.envs.vector",
    "NASBench201OneShotVectorEnv": "nb201_env.envs.vector",
    "NASBench201MOEnv": "nb201_env.envs.multi_objective",
    "NASBench201MOOneShotEnv": "nb201_env.envs.multi_objective",
    # heavy: real training (the [train] extra) and the stable-baselines3 callback (the [rl] extra)
    "TrainingEvaluator": "nb201_env.training",
    "TrainingConfig": "nb201_env.training",
    "Recipe": "nb201_env.training",
    "Runtime": "nb201_env.training",
    "make_training_env": "nb201_env.training.env",
    "StopOnBudget": "nb201_env.callbacks",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'nb201_env' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


if "NASBench201-v0" not in registry:
    register(
        id="NASBench201-v0",
        entry_point="nb201_env.envs.sequential:NASBench201Env",
        vector_entry_point="nb201_env.envs.vector:NASBench201VectorEnv",
    )
    register(
        id="NASBench201-OneShot-v0",
        entry_point="nb201_env.envs.oneshot:NASBench201OneShotEnv",
        vector_entry_point="nb201_env.envs.vector:NASBench201OneShotVectorEnv",
    )
    # vector rewards (MO-Gymnasium API): accuracy and costs from the store; mo_gymnasium.make works too
    register(
        id="NASBench201-MO-v0", entry_point="nb201_env.envs.multi_objective:NASBench201MOEnv", disable_env_checker=True
    )
    register(
        id="NASBench201-MO-OneShot-v0",
        entry_point="nb201_env.envs.multi_objective:NASBench201MOOneShotEnv",
        disable_env_checker=True,
    )
    # rewards from really training each architecture (needs the [train] extra): make(..., root="data/...")
    # nondeterministic: its costs are measured seconds and its accuracies depend on float rounding
    register(id="NASBench201-Train-v0", entry_point="nb201_env.training.env:make_training_env", nondeterministic=True)
