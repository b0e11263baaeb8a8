"""``NASBench201-MO-v0`` and ``NASBench201-MO-OneShot-v0``: the search envs with a vector reward (MO-Gymnasium API).

The search run, its clock, budget and ``info`` are those of the single-objective envs (the same
:class:`~nb201_env.search_runs.SearchRuns` accounting); only the reward becomes a vector of the chosen objectives
and the run keeps its Pareto front. Costs are per-architecture stats of the benchmark store: ``params_mb``
and ``flops_m`` of the searched network (the validation split's dataset, e.g. ``cifar10-valid``),
``latency_s`` where held, and ``latency_ms/<device>`` for each device the store holds.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from nb201_env.benchmark import Benchmark
from nb201_env.envs.oneshot import NASBench201OneShotEnv
from nb201_env.envs.sequential import NASBench201Env
from nb201_env.names import VALIDATION_OF
from nb201_env.pareto import ParetoFront
from nb201_env.store.schema import StatKey

ACCURACY = "valid_accuracy"
DEFAULT_OBJECTIVES = (ACCURACY, "params_mb")
UNITS = {"params_mb": "MB", "flops_m": "MFLOPs", "latency_s": "s", "latency_ms": "ms"}


def cost_scope(bench: Benchmark, dataset: str) -> str:
    """Return the dataset whose params/FLOPs describe the searched network (the validation split's, if held)."""
    source = VALIDATION_OF[dataset][0]
    held = {key.scope for key in bench.store.stats}
    return source if source in held else dataset


def available_objectives(bench: Benchmark, dataset: str) -> tuple[str, ...]:
    """Return the objective names this store offers for a search on ``dataset`` (accuracy first)."""
    scope = cost_scope(bench, dataset)
    names = [ACCURACY]
    for key in sorted(bench.store.stats, key=lambda k: (k.stat, k.scope)):
        if key.stat == "latency_ms":
            names.append(f"latency_ms/{key.scope}")
        elif key.scope == scope:
            names.append(key.stat)
    return tuple(names)


def check_objectives(bench: Benchmark, dataset: str, objectives: Any) -> tuple[str, ...]:
    """Return the objective names as a tuple, or raise naming the valid choices of this store."""
    names = (objectives,) if isinstance(objectives, str) else tuple(objectives)
    available = available_objectives(bench, dataset)
    for name in names:
        if name not in available:
            raise ValueError(
                f"unknown objective {name!r} for store {bench.name!r} searching {dataset}; "
                f"valid choices are: {', '.join(available)}"
            )
    if len(set(names)) != len(names) or ACCURACY not in names or len(names) < 2:
        raise ValueError(f"objectives must name {ACCURACY!r} and at least one cost, each once; got {names!r}")
    return names


def cost_table(bench: Benchmark, name: str, dataset: str) -> np.ndarray:
    """Return one cost objective for all 15,625 architectures, in its natural unit (lower is better)."""
    available = available_objectives(bench, dataset)
    if name == ACCURACY or name not in available:
        raise ValueError(
            f"unknown cost objective {name!r} for store {bench.name!r} searching {dataset}; "
            f"valid choices are: {', '.join(n for n in available if n != ACCURACY)}"
        )
    stat, _, device = name.partition("/")
    table = np.asarray(bench.store.stat(StatKey(stat, device or cost_scope(bench, dataset))), dtype=np.float64)
    missing = int(np.isnan(table).sum())
    if missing:
        raise ValueError(f"objective {name!r} of store {bench.name!r} has no value for {missing} architectures")
    return table


class MultiObjectiveMixin:
    """Turn a search env's scalar reward into a vector of objectives and keep the run's Pareto front."""

    def __init__(self, render_mode: str | None = None, *, objectives: Any = DEFAULT_OBJECTIVES, **kwargs: Any) -> None:
        if "reward" in kwargs:
            raise ValueError("the multi-objective envs reward the objective vector: choose objectives=..., not reward=")
        super().__init__(render_mode, **kwargs)  # type: ignore[call-arg]
        bench = getattr(self.runs.evaluator, "bench", None)  # type: ignore[attr-defined]
        if not isinstance(bench, Benchmark):
            raise TypeError("the multi-objective envs read costs from a benchmark store: use the tabular evaluator")
        dataset = self.config.dataset  # type: ignore[attr-defined]
        names = check_objectives(bench, dataset, objectives)
        self.objectives = names
        self._costs = {n: cost_table(bench, n, dataset) for n in names if n != ACCURACY}
        self._cost_lists = {n: t.tolist() for n, t in self._costs.items()}
        low = [0.0 if n == ACCURACY else -float(self._costs[n].max()) for n in names]
        high = [1.0 if n == ACCURACY else 0.0 for n in names]
        self.reward_space = gym.spaces.Box(np.array(low, np.float32), np.array(high, np.float32), dtype=np.float32)
        self.front = ParetoFront(len(names))

    def describe(self) -> dict[str, Any]:
        """Describe the signal, cost, budget and the objectives (in reward order)."""
        units = [("%" if n == ACCURACY else UNITS[n.split("/")[0]]) for n in self.objectives]
        return {**super().describe(), "objectives": list(self.objectives), "objective_units": units}  # type: ignore[misc]

    def _start(self, seed: int | None, options: dict[str, Any] | None) -> None:
        super()._start(seed, options)  # type: ignore[misc]
        if self.runs.evaluations[0] == 0:  # type: ignore[attr-defined]  # a new search run
            self.front.clear()

    def _finish(self, arch: int, epoch: int | None = None) -> tuple[np.ndarray, bool, bool, dict[str, Any]]:
        _, terminated, truncated, info = super()._finish(arch, epoch)  # type: ignore[misc]
        vector = np.zeros(len(self.objectives), dtype=np.float32)
        if info.get("evaluated"):
            arch = info["arch"]
            values = {
                n: (info["valid_accuracy"] if n == ACCURACY else self._cost_lists[n][arch]) for n in self.objectives
            }
            vector[:] = [values[n] * 0.01 if n == ACCURACY else -values[n] for n in self.objectives]
            info["objectives"] = values
            if info["epoch"] == self.runs.full_epoch:  # type: ignore[attr-defined]  # full fidelity only
                self.front.add(vector, arch)
        info["pareto_archs"] = self.front.archs.copy()
        info["pareto_front"] = self.front.points.astype(np.float32)
        return vector, terminated, truncated, info

    def step(self, action: Any) -> tuple[Any, np.ndarray, bool, bool, dict[str, Any]]:
        """Take a step; the reward is the objective vector (zeros before the cell is complete)."""
        obs, reward, terminated, truncated, info = super().step(action)  # type: ignore[misc]
        if not isinstance(reward, np.ndarray):
            reward = np.zeros(len(self.objectives), dtype=np.float32)
        return obs, reward, terminated, truncated, info


class NASBench201MOEnv(MultiObjectiveMixin, NASBench201Env):
    """Build a cell edge by edge; the finished cell is rewarded with a vector of objectives.

    ## Description
    ``NASBench201-v0`` (see :class:`~nb201_env.envs.sequential.NASBench201Env`) with the MO-Gymnasium reward API: the
    same search run, clock, budget rules and ``info``; the reward is a ``numpy`` vector and ``reward_space``
    describes it. Works with ``mo_gymnasium.make`` and its wrappers (e.g. ``LinearReward``).

    ## Rewards
    A ``float32`` vector in the order of ``objectives``: ``valid_accuracy`` as validation accuracy / 100 (the
    single-objective reward), each cost negated (all objectives are maximized): ``params_mb`` (MB),
    ``flops_m`` (MFLOPs), ``latency_ms/<device>`` (ms) from the store. Zeros before the last step and when
    no evaluation happened (budget spent). ``reward_space``: ``Box([0, -max cost...], [1, 0...])``.

    ## Info
    As ``NASBench201-v0``, plus on the last step ``objectives`` (name -> value in natural units, when
    evaluated), ``pareto_archs`` and ``pareto_front`` (the run's non-dominated full-fidelity evaluations,
    in reward units).

    ## Arguments
    As ``NASBench201-v0`` plus ``objectives``: ``"valid_accuracy"`` and at least one cost, e.g.
    ``("valid_accuracy", "latency_ms/pixel3")``; an unknown name raises an error listing the store's
    objectives (:func:`available_objectives`). ``reward=`` is not accepted.

    ## Version History
    * v0: initial version.
    """


class NASBench201MOOneShotEnv(MultiObjectiveMixin, NASBench201OneShotEnv):
    """Pick a whole cell per step; it is rewarded with a vector of objectives.

    ## Description
    ``NASBench201-OneShot-v0`` (see :class:`~nb201_env.envs.oneshot.NASBench201OneShotEnv`, including
    ``fidelities``) with the vector reward, ``reward_space``, ``info`` and ``objectives`` argument of
    :class:`NASBench201MOEnv`. Only full-fidelity evaluations enter the Pareto front.

    ## Version History
    * v0: initial version.
    """


__all__ = [
    "ACCURACY",
    "NASBench201MOEnv",
    "NASBench201MOOneShotEnv",
    "available_objectives",
    "check_objectives",
    "cost_table",
]
