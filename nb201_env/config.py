"""The configuration of a search environment: a frozen dataclass validated at construction.

Two groups of fields: those of the search run (protocol, budget and its rule, repeats, what ``info``
holds, fidelities, where the store is) and the signal the tabular evaluator reads (a
:class:`~nb201_env.evaluators.TabularConfig`: dataset, schedule, epoch, seed policy). The environments
take either an ``EnvConfig`` or its fields as keywords (:meth:`EnvConfig.from_kwargs`); with an injected
``evaluator=`` the evaluator decides the signal, so the signal's fields and ``store`` are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nb201_env.clock import check_budget, check_rule
from nb201_env.evaluators import TabularConfig
from nb201_env.protocols import PROTOCOLS, get_protocol
from nb201_env.validate import ArgumentTypeError, check_bool, check_int, check_keywords, check_path

__all__ = ["ENV_FIELDS", "PROTOCOLS", "RUN_FIELDS", "SIGNAL_FIELDS", "EnvConfig"]


@dataclass(frozen=True)
class EnvConfig:
    """Everything that defines a search environment; unset fields come from ``protocol`` or defaults.

    Args:
        protocol: a preset (``"nb201"``, ``"nats-cifar10"``, ``"nats-cifar100"``, ``"nats-ImageNet16-120"``)
            that sets the dataset, budget and budget rule; explicit fields override it.
        budget: simulated seconds for the whole search run (``None`` = unlimited).
        budget_rule: ``"nb201"`` (stop before exceeding) or ``"nats"`` (the last evaluation may overrun).
        charge_repeats: charge (and re-draw) architectures already trained in this run; default False.
        report_test: add ``test_accuracy`` to the final ``info`` of each episode (for reports, never reward).
        action_mask: add ``action_mask`` to every ``info`` (masks are always available via ``action_masks()``).
        fidelities: one-shot envs only: 0-based epochs the agent may choose per evaluation (multi-fidelity
            search); the action gains a seventh entry indexing this tuple. ``None``: always the signal's epoch.
        store: benchmark name or store path (default: ``$NB201_DATA``, the cache directory, the bundled
            ``nb201-public``).
        signal: what the tabular evaluator reads (dataset, schedule, epoch, seed policy, seed); ``None``: the
            protocol's dataset (else cifar10) with the defaults of :class:`~nb201_env.evaluators.TabularConfig`.
    """

    protocol: str | None = None
    budget: float | None = None
    budget_rule: str | None = None
    charge_repeats: bool = False
    report_test: bool = False
    action_mask: bool = False
    fidelities: tuple[int, ...] | None = None
    store: str | None = None
    signal: TabularConfig | None = None

    def __post_init__(self) -> None:
        for name in ("charge_repeats", "report_test", "action_mask"):
            check_bool(name, getattr(self, name))
        check_path("store", self.store, allow_none=True)
        check_budget(self.budget)
        preset = get_protocol(self.protocol) if self.protocol is not None else None
        if preset is not None:
            for name, value in (("budget", preset.budget), ("budget_rule", preset.rule)):
                if getattr(self, name) is None:
                    object.__setattr__(self, name, value)
        if self.budget_rule is None:
            object.__setattr__(self, "budget_rule", "nats")
        check_rule(self.budget_rule)
        if self.signal is None:
            object.__setattr__(self, "signal", TabularConfig(dataset=preset.dataset if preset else "cifar10"))
        elif not isinstance(self.signal, TabularConfig):
            raise ArgumentTypeError(f"signal must be a TabularConfig or None, got {self.signal!r}")
        elif preset is not None and self.signal.dataset != preset.dataset:
            raise ValueError(
                f"protocol {self.protocol!r} searches {preset.dataset}, but the signal's dataset is "
                f"{self.signal.dataset!r}: drop one of them"
            )
        if self.fidelities is not None:
            object.__setattr__(self, "fidelities", _check_fidelities(self.fidelities, self.signal.schedule))

    @property
    def dataset(self) -> str:
        """The search dataset (the signal's)."""
        assert self.signal is not None  # set in __post_init__
        return self.signal.dataset

    @classmethod
    def from_kwargs(cls, *, with_evaluator: bool = False, **kwargs: Any) -> EnvConfig:
        """Build from the environments' keyword arguments; an unknown one is a ``TypeError`` naming the valid ones.

        With ``with_evaluator`` (an injected evaluator decides the signal) the signal's fields and
        ``store`` are refused by name instead of being silently ignored.
        """
        check_keywords("EnvConfig.from_kwargs", kwargs, ENV_FIELDS)
        signal = {k: kwargs.pop(k) for k in SIGNAL_FIELDS if k in kwargs}
        if with_evaluator:
            ignored = sorted([*signal, *(["store"] if "store" in kwargs else [])])
            if ignored:
                raise ValueError(
                    f"with evaluator= the evaluator decides the signal; drop {', '.join(ignored)} (they configure "
                    "the tabular evaluator), or configure the evaluator itself"
                )
        if signal:
            protocol = kwargs.get("protocol")
            signal.setdefault("dataset", get_protocol(protocol).dataset if protocol is not None else "cifar10")
            kwargs["signal"] = TabularConfig(**signal)
        return cls(**kwargs)


def _check_fidelities(fidelities: object, schedule: int | None) -> tuple[int, ...]:
    if isinstance(fidelities, (str, bytes)) or not isinstance(fidelities, (Sequence, np.ndarray)):
        raise ArgumentTypeError(f"fidelities must be a tuple of 0-based epochs or None, got {fidelities!r}")
    epochs = tuple(check_int("each of fidelities (a 0-based epoch)", e) for e in fidelities)
    top = 10_000 if schedule is None else schedule
    if not epochs or any(not 0 <= e < top for e in epochs) or len(set(epochs)) != len(epochs):
        raise ValueError(f"fidelities must be distinct epochs within 0..{top - 1}, got {fidelities!r}")
    return epochs


SIGNAL_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TabularConfig))
"""The keyword arguments that configure the tabular evaluator's signal (a :class:`TabularConfig`)."""

RUN_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(EnvConfig) if f.name != "signal")
"""The keyword arguments of the search run itself."""

ENV_FIELDS: tuple[str, ...] = RUN_FIELDS + SIGNAL_FIELDS
"""Every keyword argument the environments take besides ``render_mode``, ``config`` and the injected objects."""
