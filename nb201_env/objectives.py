"""Multi-objective search as an injected reward: a vector of objectives, and the run's Pareto front.

:class:`ObjectivesReward` rewards a cell with validation accuracy / 100 followed by each cost negated (every
objective is maximized), the costs read from per-architecture tables: those a store holds
(:meth:`~nb201_env.benchmark.Benchmark.model_costs`: ``params_mb``, ``flops_m``, ``latency_ms/<device>``)
or any of your own. Any search env given one (``reward=``, or ``objectives=`` to build it from the env's
benchmark) returns vector rewards under MO-Gymnasium's API, and a :class:`ParetoTracker` keeps the Pareto
front of the run's full-fidelity evaluations (its size in ``info``, the front from ``env.pareto_front()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from nb201_env.benchmark import Benchmark
from nb201_env.pareto import ParetoFront
from nb201_env.rewards import VectorReward
from nb201_env.space import NUM_ARCHS

ACCURACY = "valid_accuracy"
DEFAULT_OBJECTIVES: tuple[str, ...] = (ACCURACY, "params_mb")
UNITS: dict[str, str] = {ACCURACY: "%", "params_mb": "MB", "flops_m": "MFLOPs", "latency_s": "s", "latency_ms": "ms"}
"""Natural units of the objectives a store offers (``latency_ms/<device>`` takes the unit of ``latency_ms``)."""

__all__ = [
    "ACCURACY",
    "DEFAULT_OBJECTIVES",
    "ObjectivesReward",
    "ParetoTracker",
    "available_objectives",
    "check_objectives",
]


def available_objectives(bench: Benchmark, dataset: str) -> tuple[str, ...]:
    """Return the objective names this store offers for a search on ``dataset`` (accuracy first)."""
    return (ACCURACY, *bench.model_costs(dataset))


def check_objectives(bench: Benchmark, dataset: str, objectives: Any) -> tuple[str, ...]:
    """Return the objective names as a tuple, or raise naming the valid choices of this store."""
    names = _names(objectives)
    available = available_objectives(bench, dataset)
    for name in names:
        if name not in available:
            raise ValueError(
                f"unknown objective {name!r} for store {bench.name!r} searching {dataset}; "
                f"valid choices are: {', '.join(available)}"
            )
    return names


def _names(objectives: Any) -> tuple[str, ...]:
    names = (objectives,) if isinstance(objectives, str) else tuple(objectives)
    if len(set(names)) != len(names) or ACCURACY not in names or len(names) < 2:
        raise ValueError(f"objectives must name {ACCURACY!r} and at least one cost, each once; got {names!r}")
    return names


@dataclass(frozen=True, eq=False)
class ObjectivesReward:
    """Reward = (validation accuracy / 100, -cost, ...) in the order of ``objectives``, as ``float32``.

    Args:
        objectives: ``"valid_accuracy"`` and at least one cost, each once, in reward order.
        costs: each cost of ``objectives`` -> its value for all 15,625 architectures (lower is better).
        units: the unit of each objective, for ``describe()``; default: :data:`UNITS`, else none.

    Build it from a store with :meth:`from_benchmark`. ``reward_space`` is
    ``Box([0, -max cost, ...], [1, 0, ...])``.
    """

    objectives: tuple[str, ...]
    costs: Mapping[str, np.ndarray]
    units: tuple[str, ...] = ()
    reward_space: gym.spaces.Box = field(init=False, repr=False)
    _lists: dict[str, list[float]] = field(init=False, repr=False)
    _negated: np.ndarray = field(init=False, repr=False)
    _is_accuracy: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = _names(self.objectives)
        wanted = [n for n in names if n != ACCURACY]
        if sorted(self.costs) != sorted(wanted):
            raise ValueError(f"costs must hold a table for each cost objective {wanted}, got {list(self.costs)}")
        tables = {n: np.asarray(self.costs[n], dtype=np.float64) for n in wanted}
        for name, table in tables.items():
            if table.shape != (NUM_ARCHS,) or np.isnan(table).any():
                raise ValueError(f"the table of {name!r} must hold one number per architecture ({NUM_ARCHS},), no NaN")
        units = tuple(self.units) or tuple(UNITS.get(n.split("/")[0], "") for n in names)
        if len(units) != len(names):
            raise ValueError(f"give one unit per objective ({len(names)}), got {units!r}")
        low = [0.0 if n == ACCURACY else -float(tables[n].max()) for n in names]
        high = [1.0 if n == ACCURACY else 0.0 for n in names]
        negated = np.column_stack([np.zeros(NUM_ARCHS) if n == ACCURACY else -tables[n] for n in names])
        fields = {
            "objectives": names,
            "costs": tables,
            "units": units,
            "reward_space": gym.spaces.Box(np.array(low, np.float32), np.array(high, np.float32), dtype=np.float32),
            "_lists": {n: t.tolist() for n, t in tables.items()},  # a Python list reads one value fastest
            "_negated": negated,
            "_is_accuracy": np.array([n == ACCURACY for n in names]),
        }
        for key, value in fields.items():
            object.__setattr__(self, key, value)

    @classmethod
    def from_benchmark(
        cls, bench: Benchmark, dataset: str = "cifar10", objectives: Any = DEFAULT_OBJECTIVES
    ) -> ObjectivesReward:
        """Return the reward of ``objectives`` (see :func:`available_objectives`) for a search on ``dataset``."""
        names = check_objectives(bench, dataset, objectives)
        return cls(names, {n: bench.model_cost_table(n, dataset) for n in names if n != ACCURACY})

    def values(self, accuracy: float, index: int) -> dict[str, float]:
        """Return the objectives of one evaluation in natural units (accuracy in %)."""
        return {n: accuracy if n == ACCURACY else self._lists[n][index] for n in self.objectives}

    def __call__(self, accuracy: float, index: int) -> np.ndarray:
        values = self.values(accuracy, index)
        return np.array([v * 0.01 if n == ACCURACY else -v for n, v in values.items()], dtype=np.float32)

    def many(self, accuracy: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """Return ``(len(indices), objectives)`` rewards."""
        accuracy = np.asarray(accuracy, dtype=np.float64)[:, None] * 0.01
        return np.where(self._is_accuracy, accuracy, self._negated[np.asarray(indices)]).astype(np.float32)


class ParetoTracker:
    """Keep the Pareto front of a search run's full-fidelity evaluations, in reward units; report its size in ``info``.

    Each evaluation's ``info`` gains ``objectives`` (name -> value in natural units, when evaluated) and
    ``pareto_size`` (how many evaluations of the run are non-dominated so far). ``info`` keeps one shape
    for the whole run, as vector envs need (``MOSyncVectorEnv`` stacks every key into one array); the front
    itself is :meth:`front_arrays`.
    """

    def __init__(self, reward: VectorReward) -> None:
        self.reward = reward
        self.front = ParetoFront(len(reward.objectives))

    def clear(self) -> None:
        """Forget the front: a new search run starts."""
        self.front.clear()

    def record(self, info: dict[str, Any], reward: np.ndarray, full_epoch: int) -> None:
        """Add an evaluation (its ``info`` and vector reward) to the front if it counted at full fidelity."""
        if info["evaluated"]:
            info["objectives"] = self.reward.values(info["valid_accuracy"], info["arch"])
            if info["epoch"] == full_epoch:
                self.front.add(reward, info["arch"])
        info["pareto_size"] = len(self.front)

    def front_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the front: its architectures ``(k,)`` and their rewards ``(k, objectives)`` as ``float32``."""
        return self.front.archs.copy(), self.front.points.astype(np.float32)
