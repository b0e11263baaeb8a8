"""Reward functions: turn a validation accuracy (%) into the agent's reward, optionally penalizing cost.

A reward is an injected object with a scalar ``__call__(accuracy, index)`` for the single envs and a
vectorized ``many(accuracy, indices)`` for the vector env. It only ever sees validation accuracy. A
:class:`VectorReward` returns one entry per objective instead (MO-Gymnasium's API; the multi-objective
one is :class:`nb201_env.objectives.ObjectivesReward`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from nb201_env import complexity
from nb201_env.names import DATASETS
from nb201_env.space import NUM_ARCHS
from nb201_env.validate import check_choice


@runtime_checkable
class Reward(Protocol):
    """Map validation accuracy (percent) of architecture ``index`` to a reward."""

    def __call__(self, accuracy: float, index: int) -> float: ...

    def many(self, accuracy: np.ndarray, indices: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class VectorReward(Protocol):
    """Map validation accuracy (percent) of architecture ``index`` to a vector, one entry per objective.

    ``reward_space`` describes the vector (the env exposes it, as MO-Gymnasium expects), ``objectives`` and
    ``units`` name its entries, and ``values`` gives them in natural units for ``info["objectives"]``.
    """

    objectives: tuple[str, ...]
    units: tuple[str, ...]
    reward_space: gym.spaces.Box

    def __call__(self, accuracy: float, index: int) -> np.ndarray: ...

    def many(self, accuracy: np.ndarray, indices: np.ndarray) -> np.ndarray: ...

    def values(self, accuracy: float, index: int) -> Mapping[str, float]: ...


@dataclass(frozen=True)
class AccuracyReward:
    """Reward = validation accuracy scaled to [0, 1] (the default)."""

    def __call__(self, accuracy: float, index: int) -> float:
        return accuracy * 0.01

    def many(self, accuracy: np.ndarray, indices: np.ndarray) -> np.ndarray:
        return accuracy * 0.01


@dataclass(frozen=True, eq=False)
class CostPenaltyReward:
    """Reward = accuracy / 100 - ``weight`` x cost / max cost, for a per-architecture cost table.

    Build it with :meth:`params`, :meth:`flops` or :meth:`from_table` (e.g. a device latency from
    ``Benchmark.stats_many``). With ``form="mnas"`` the reward is MnasNet's
    ``accuracy / 100 * (cost / target) ** weight`` (use a negative weight) instead.
    """

    table: np.ndarray
    weight: float
    name: str
    form: str = "linear"
    target: float | None = None
    _scaled: np.ndarray = field(init=False, repr=False)
    _list: list[float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        table = np.asarray(self.table, dtype=np.float64)
        if table.shape != (NUM_ARCHS,) or np.isnan(table).any():
            raise ValueError(f"cost table must have one number per architecture ({NUM_ARCHS},) and no NaN")
        check_choice("reward form", self.form, ("linear", "mnas"))
        if self.form == "mnas":
            if not self.target or self.target <= 0:
                raise ValueError("form='mnas' needs a positive target cost")
            scaled = (table / self.target) ** self.weight
        else:
            scaled = self.weight * table / table.max()
        object.__setattr__(self, "_scaled", scaled)
        object.__setattr__(self, "_list", scaled.tolist())

    @classmethod
    def params(cls, weight: float, dataset: str = "cifar10", **kw: object) -> CostPenaltyReward:
        """Penalize parameter count (exact, from the network definition)."""
        check_choice("dataset", dataset, DATASETS)
        return cls(complexity.params_mb(np.arange(NUM_ARCHS), dataset), weight, f"params_mb/{dataset}", **kw)  # type: ignore[arg-type]

    @classmethod
    def flops(cls, weight: float, dataset: str = "cifar10", **kw: object) -> CostPenaltyReward:
        """Penalize FLOPs (exact, from the network definition)."""
        check_choice("dataset", dataset, DATASETS)
        return cls(complexity.flops_m(np.arange(NUM_ARCHS), dataset), weight, f"flops_m/{dataset}", **kw)  # type: ignore[arg-type]

    @classmethod
    def from_table(cls, table: np.ndarray, weight: float, name: str, **kw: object) -> CostPenaltyReward:
        """Penalize any per-architecture cost, e.g. a latency column of the store."""
        return cls(np.asarray(table), weight, name, **kw)  # type: ignore[arg-type]

    def __call__(self, accuracy: float, index: int) -> float:
        if self.form == "mnas":
            return accuracy * 0.01 * self._list[index]
        return accuracy * 0.01 - self._list[index]

    def many(self, accuracy: np.ndarray, indices: np.ndarray) -> np.ndarray:
        if self.form == "mnas":
            return accuracy * 0.01 * self._scaled[indices]
        return accuracy * 0.01 - self._scaled[indices]
