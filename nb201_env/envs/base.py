"""What every search environment shares: its configuration, the search runs it accounts, describe and reset.

:func:`make_search_runs` turns a configuration (or keyword arguments) and the injected objects into the
:class:`~nb201_env.search_runs.SearchRuns` an environment steps: one run for the single environments,
``num_envs`` for the vector ones. :class:`SearchEnv` is the base of the single environments; given a
:class:`~nb201_env.rewards.VectorReward` (or ``objectives=``) it rewards vectors under MO-Gymnasium's API
and keeps the run's Pareto front.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from nb201_env.benchmark import Benchmark
from nb201_env.clock import SimulatedClock
from nb201_env.config import ENV_FIELDS, EnvConfig
from nb201_env.evaluators import Evaluator, MultiFidelityEvaluator, TabularEvaluator
from nb201_env.objectives import ObjectivesReward, ParetoTracker
from nb201_env.pareto import ParetoFront
from nb201_env.rewards import AccuracyReward, Reward, VectorReward
from nb201_env.search_runs import SearchRuns
from nb201_env.space import NUM_EDGES
from nb201_env.validate import check_keywords, check_reset


def make_config(
    config: EnvConfig | None,
    evaluator: Evaluator | None,
    kwargs: dict[str, Any],
    owner: str = "EnvConfig.from_kwargs",
    named: tuple[str, ...] = (),
) -> EnvConfig:
    """Return ``config``, or one built from the environment's keyword arguments (never both).

    A keyword that is neither one of ``named`` (the caller's own parameters) nor an
    :data:`~nb201_env.config.ENV_FIELDS` field is ``TypeError("<owner>() got an unexpected keyword argument ...")``.
    """
    check_keywords(owner, kwargs, (*named, *ENV_FIELDS))
    if config is not None and kwargs:
        raise ValueError(f"pass either config= or keyword arguments, not both (got {sorted(kwargs)})")
    if config is None:
        return EnvConfig.from_kwargs(with_evaluator=evaluator is not None, **kwargs)
    if not isinstance(config, EnvConfig):
        raise TypeError(f"config must be an nb201_env.EnvConfig, got {config!r}")
    return config


def make_search_runs(
    n: int,
    config: EnvConfig,
    benchmark: Benchmark | None = None,
    evaluator: Evaluator | None = None,
    reward: Reward | VectorReward | None = None,
    *,
    objectives: Any = None,
    keep_trajectories: bool = False,
) -> SearchRuns:
    """Create the evaluator (tabular unless given), the reward and the accounting of ``n`` search runs.

    ``objectives`` (names, see :func:`nb201_env.objectives.available_objectives`) builds the vector reward
    :class:`~nb201_env.objectives.ObjectivesReward` from the benchmark's cost tables, instead of ``reward``.
    """
    if evaluator is None:
        if benchmark is not None and config.store is not None:
            raise ValueError("pass either benchmark= or store=, not both")
        bench = benchmark if benchmark is not None else Benchmark.open(config.store)
        evaluator = TabularEvaluator(bench, config.signal)
    elif benchmark is not None:
        raise ValueError("pass either benchmark= or evaluator=, not both")
    if not isinstance(evaluator, Evaluator):
        raise TypeError(f"evaluator must implement nb201_env.Evaluator, got {type(evaluator).__name__}")
    if objectives is not None:
        if reward is not None:
            raise ValueError("pass either objectives= (a vector reward of the benchmark's costs) or reward=, not both")
        if not isinstance(evaluator, TabularEvaluator):
            raise TypeError(
                "objectives= reads its costs from a benchmark store, and this evaluator has none: pass "
                "reward=nb201_env.objectives.ObjectivesReward(objectives, costs) with your own cost tables"
            )
        reward = ObjectivesReward.from_benchmark(evaluator.bench, evaluator.config.dataset, objectives)
    reward = reward if reward is not None else AccuracyReward()
    if not isinstance(reward, Reward):
        raise TypeError(f"reward must implement nb201_env.Reward (__call__ and many), got {reward!r}")
    if config.fidelities is not None:
        available = evaluator.fidelities() if isinstance(evaluator, MultiFidelityEvaluator) else ()
        missing = [e for e in config.fidelities if e not in available]
        if missing:
            raise ValueError(
                f"fidelities {missing} are not available from this evaluator; it has epochs {list(available)}"
            )
    return SearchRuns(
        n,
        evaluator,
        reward,
        budget=config.budget,
        rule=config.budget_rule,  # type: ignore[arg-type]
        charge_repeats=config.charge_repeats,
        report_test=config.report_test,
        keep_trajectories=keep_trajectories,
    )


def begin_episode(runs: SearchRuns, seed: object, options: object) -> tuple[int | None, bool]:
    """Check ``reset``'s arguments and start new search runs when seeded or asked; return (seed, new search).

    Shared by the single and the vector environments, so both accept the same seeds (numpy integers too,
    returned as ``int`` for Gymnasium's seeding, which takes nothing else) and start search runs alike.
    """
    seed, new_search = check_reset(seed, options)
    if new_search:
        runs.reset()
    return seed, new_search


def check_started(started: bool) -> None:
    """Raise Gymnasium's ``ResetNeeded`` unless ``reset()`` has started an episode."""
    if not started:
        raise gym.error.ResetNeeded(
            "call reset() before step(): no episode has started yet (Gymnasium's order is reset, then step), so "
            "there is neither a cell being built nor a search run to charge"
        )


def describe(runs: SearchRuns) -> dict[str, Any]:
    """Describe the evaluator's signal and cost, the budget and, for vector rewards, the objectives."""
    clock = runs.clock()
    out = {**runs.evaluator.describe(), "budget": clock.budget, "budget_rule": clock.rule}
    if isinstance(runs.reward, VectorReward):
        out.update(objectives=list(runs.reward.objectives), objective_units=list(runs.reward.units))
    return out


ENV_PARAMETERS: tuple[str, ...] = ("render_mode", "config", "benchmark", "evaluator", "reward", "objectives")
"""The environments' own parameters besides the :data:`~nb201_env.config.ENV_FIELDS` keywords."""

RENDER_MODES: tuple[str, ...] = ("ansi", "rgb_array")


class SearchEnv(gym.Env):
    """Base of the single environments: one instance is one search run (:class:`SearchRuns` with n = 1).

    With a vector reward the env has MO-Gymnasium's ``reward_space`` and ``reward_dim``, ``objectives`` names
    the reward's entries, each evaluation's ``info`` holds the size of the run's Pareto front
    (:class:`~nb201_env.objectives.ParetoTracker`) and :meth:`pareto_front` returns the front.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": list(RENDER_MODES), "render_fps": 4}
    default_objectives: ClassVar[tuple[str, ...] | None] = None
    """Objectives rewarded when neither ``objectives=`` nor ``reward=`` is given (the multi-objective envs)."""

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        config: EnvConfig | None = None,
        benchmark: Benchmark | None = None,
        evaluator: Evaluator | None = None,
        reward: Reward | VectorReward | None = None,
        objectives: Any = None,
        **kwargs: Any,
    ) -> None:
        check_render_mode(render_mode)
        if self.default_objectives is not None:  # a multi-objective env: its reward is a vector
            if reward is None and objectives is None:
                objectives = self.default_objectives
            elif reward is not None and not isinstance(reward, VectorReward):
                raise ValueError(
                    f"{type(self).__name__} rewards a vector of objectives: pass objectives=... or a vector reward "
                    f"(nb201_env.objectives.ObjectivesReward); reward={type(reward).__name__}(...) is not a "
                    "VectorReward (a scalar reward such as CostPenaltyReward belongs to NASBench201-v0 and "
                    "NASBench201-OneShot-v0)"
                )
        self.config = make_config(config, evaluator, kwargs, f"{type(self).__name__}.__init__", ENV_PARAMETERS)
        self.runs = make_search_runs(
            1, self.config, benchmark, evaluator, reward, objectives=objectives, keep_trajectories=True
        )
        self.render_mode = render_mode
        self._started = False  # step() before reset() raises ResetNeeded
        self._last_info: dict[str, Any] = {}
        vector = self.runs.reward if isinstance(self.runs.reward, VectorReward) else None
        self.objectives: tuple[str, ...] | None = None if vector is None else vector.objectives
        self._tracker = None if vector is None else ParetoTracker(vector)
        # the Pareto front of the search run's full-fidelity evaluations (vector rewards only)
        self.front: ParetoFront | None = None if self._tracker is None else self._tracker.front
        if vector is not None:
            self.reward_space = vector.reward_space
            self.reward_dim: int = int(vector.reward_space.shape[0])

    @property
    def clock(self) -> SimulatedClock:
        """The simulated clock of the current search run."""
        return self.runs.clock()

    def describe(self) -> dict[str, Any]:
        """Describe the evaluator's signal and cost and the budget, for logs and reports."""
        return describe(self.runs)

    def pareto_front(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the run's Pareto front: architectures ``(k,)`` and their vector rewards ``(k, reward_dim)``.

        The non-dominated full-fidelity evaluations of the current search run (vector rewards only); through
        wrappers ``env.get_wrapper_attr("pareto_front")()``, through a vector env ``envs.call("pareto_front")``.
        """
        if self._tracker is None:
            raise RuntimeError("pareto_front() needs a vector reward: pass objectives=... or a VectorReward")
        return self._tracker.front_arrays()

    def _start(self, seed: int | None, options: dict[str, Any] | None) -> None:
        """Seed, and start a new search run when seeded or asked with ``options={"new_search": True}``."""
        seed, new_search = begin_episode(self.runs, seed, options)
        super().reset(seed=seed)
        if new_search and self._tracker is not None:
            self._tracker.clear()
        self._last_info = {}
        self._started = True

    def _finish(self, arch: int, epoch: int | None = None) -> tuple[Any, bool, bool, dict[str, Any]]:
        """Evaluate the finished cell ``arch``; return (reward, terminated, truncated, info)."""
        reward, info = self.runs.evaluate_one(0, arch, self.np_random, epoch)
        if self._tracker is not None:
            self._tracker.record(info, reward, self.runs.full_epoch)
        self._last_info = info
        return reward, info["evaluated"], info["budget_exhausted"], info

    def _draw(self, ops: list[int | None]) -> str | np.ndarray | None:
        """Render ``ops`` (``None`` = not chosen yet) with the latest metrics."""
        return draw(self.render_mode, ops, render_metrics(self.runs, 0, self._last_info.get("valid_accuracy")))


def check_render_mode(render_mode: object) -> str | None:
    """Return ``render_mode`` if it is ``None`` or one of :data:`RENDER_MODES`, else raise naming them."""
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"unknown render_mode {render_mode!r}; valid modes are: {list(RENDER_MODES)}")
    return render_mode  # type: ignore[return-value]


def draw(render_mode: str | None, ops: list[int | None], metrics: dict[str, object]) -> str | np.ndarray | None:
    """Render a cell (``None`` = edge not chosen yet) with its metrics as text or an RGB array."""
    if render_mode is None:
        gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'rgb_array'")
        return None
    from nb201_env.render import render_ansi, render_rgb

    ops = [*ops, *([None] * (NUM_EDGES - len(ops)))]
    return render_ansi(ops, metrics) if render_mode == "ansi" else render_rgb(ops, metrics)


def render_metrics(runs: SearchRuns, row: int, valid_accuracy: float | None) -> dict[str, object]:
    """Return what a rendering of run ``row`` shows: the last validation accuracy, clock, incumbent, budget."""
    clock = runs.clock(row)
    metrics: dict[str, object] = {}
    if valid_accuracy is not None and valid_accuracy == valid_accuracy:  # NaN: nothing was evaluated
        metrics["valid"] = f"{valid_accuracy:.2f}%"
    budget = "" if clock.budget is None else f"/{clock.budget:.0f}"
    metrics["clock"] = f"{clock.elapsed:.0f}{budget} s"
    best = int(runs.best_arch[row])
    if best >= 0:
        metrics["best"] = f"{runs.best_accuracy[row]:.2f}% (arch {best})"
    if clock.exhausted:
        metrics["budget"] = "spent"
    return metrics
