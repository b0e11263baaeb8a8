"""Environment configuration (a frozen dataclass validated at construction) and what it builds."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nb201_env.benchmark import Benchmark
from nb201_env.clock import BUDGET_RULES, SimulatedClock
from nb201_env.evaluators import SEED_POLICIES, Evaluator, MultiFidelityEvaluator, TabularConfig, TabularEvaluator
from nb201_env.names import SEARCH_DATASETS, check_choice, check_schedule
from nb201_env.protocols import PROTOCOLS, get_protocol
from nb201_env.rewards import AccuracyReward, Reward
from nb201_env.session import SearchSession
from nb201_env.validate import ArgumentTypeError, check_bool, check_epoch, check_int, check_path, check_real

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnvConfig:
    """Everything that defines a search environment; unset fields come from ``protocol`` or defaults.

    Args:
        protocol: a preset (``"nb201"``, ``"nats-cifar10"``, ``"nats-cifar100"``, ``"nats-ImageNet16-120"``)
            that sets dataset, budget and budget rule; explicit fields override it.
        dataset: search dataset (``"cifar10"``, ``"cifar100"``, ``"ImageNet16-120"``); default cifar10.
        schedule: schedule of the validation signal: 12 (the NB201 search protocol) or 200; default: 12 when
            the store holds it, else the store's own (a proxy table's).
        epoch: 0-based epoch of the signal (``None`` = last): the fidelity.
        seed_policy: ``"random"`` (one recorded seed per evaluation, drawn from ``env.np_random``),
            ``"mean"`` or ``"fixed"`` (with ``seed``).
        seed: the seed for ``seed_policy="fixed"``.
        budget: simulated seconds for the whole search run (``None`` = unlimited).
        budget_rule: ``"nb201"`` (stop before exceeding) or ``"nats"`` (the last evaluation may overrun).
        charge_repeats: charge (and re-draw) architectures already trained in this run; default False.
        report_test: add ``test_accuracy`` to the final ``info`` of each episode (for reports, never reward).
        action_mask: add ``action_mask`` to every ``info`` (masks are always available via ``action_masks()``).
        store: path of the benchmark store (default: ``$NB201_DATA``, then the default cache directory).
        fidelities: one-shot envs only: 0-based epochs the agent may choose per evaluation (multi-fidelity
            search); the action gains a seventh entry indexing this tuple. ``None``: always ``epoch``.
    """

    protocol: str | None = None
    dataset: str | None = None
    schedule: int | None = None
    epoch: int | None = None
    seed_policy: str = "random"
    seed: int | None = None
    budget: float | None = None
    budget_rule: str | None = None
    charge_repeats: bool = False
    report_test: bool = False
    action_mask: bool = False
    store: str | None = None
    fidelities: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("charge_repeats", "report_test", "action_mask"):
            check_bool(name, getattr(self, name))
        check_path("store", self.store, allow_none=True)
        check_real("budget", self.budget, positive=True, allow_none=True)
        if self.protocol is not None:
            preset = get_protocol(self.protocol)
            for name, value in (("dataset", preset.dataset), ("budget", preset.budget), ("budget_rule", preset.rule)):
                if getattr(self, name) is None:
                    object.__setattr__(self, name, value)
        if self.dataset is None:
            object.__setattr__(self, "dataset", "cifar10")
        if self.budget_rule is None:
            object.__setattr__(self, "budget_rule", "nats")
        check_choice("dataset", self.dataset, SEARCH_DATASETS)
        if self.schedule is not None:
            check_schedule(self.schedule)
        check_epoch(self.epoch, self.schedule)
        check_int("seed", self.seed, allow_none=True)
        check_choice("seed policy", self.seed_policy, SEED_POLICIES)
        check_choice("budget rule", self.budget_rule, BUDGET_RULES)
        SimulatedClock(self.budget, self.budget_rule)  # validates the budget
        TabularConfig(self.dataset, self.schedule, self.epoch, self.seed_policy, self.seed)  # validates the rest
        if self.fidelities is not None:
            if isinstance(self.fidelities, (str, bytes)) or not isinstance(self.fidelities, (Sequence, np.ndarray)):
                raise ArgumentTypeError(
                    f"fidelities must be a tuple of 0-based epochs or None, got {self.fidelities!r}"
                )
            epochs = tuple(check_int("each of fidelities (a 0-based epoch)", e) for e in self.fidelities)
            top = 10_000 if self.schedule is None else self.schedule
            if not epochs or any(not 0 <= e < top for e in epochs) or len(set(epochs)) != len(epochs):
                raise ValueError(f"fidelities must be distinct epochs within 0..{top - 1}, got {self.fidelities!r}")
            object.__setattr__(self, "fidelities", epochs)

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> EnvConfig:
        """Build from keyword arguments, naming the valid ones when one is unknown."""
        names = [f.name for f in dataclasses.fields(cls)]
        for key in kwargs:
            check_choice("environment argument", key, names)
        return cls(**kwargs)


def build_session(
    config: EnvConfig,
    benchmark: Benchmark | None = None,
    evaluator: Evaluator | None = None,
    reward: Reward | None = None,
) -> SearchSession:
    """Create the evaluator (tabular unless given), clock and reward of a search run."""
    if evaluator is None:
        bench = benchmark if benchmark is not None else Benchmark.open(config.store)
        tab = TabularConfig(config.dataset, config.schedule, config.epoch, config.seed_policy, config.seed)  # type: ignore[arg-type]
        evaluator = TabularEvaluator(bench, tab)
    elif benchmark is not None:
        raise ValueError("pass either benchmark= or evaluator=, not both")
    if not isinstance(evaluator, Evaluator):
        raise TypeError(f"evaluator must implement nb201_env.evaluators.Evaluator, got {type(evaluator).__name__}")
    reward = reward if reward is not None else AccuracyReward()
    if not isinstance(reward, Reward):
        raise TypeError(f"reward must implement nb201_env.rewards.Reward (__call__ and many), got {reward!r}")
    if config.fidelities is not None:
        available = evaluator.fidelities() if isinstance(evaluator, MultiFidelityEvaluator) else ()
        missing = [e for e in config.fidelities if e not in available]
        if missing:
            raise ValueError(
                f"fidelities {missing} are not available from this evaluator; it has epochs {list(available)}"
            )
    clock = SimulatedClock(config.budget, config.budget_rule)  # type: ignore[arg-type]
    return SearchSession(evaluator, clock, reward, charge_repeats=config.charge_repeats, report_test=config.report_test)


__all__ = ["PROTOCOLS", "EnvConfig", "build_session"]
