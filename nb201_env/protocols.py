"""Presets for the published search protocols: dataset, simulated budget and overshoot rule."""

from __future__ import annotations

from dataclasses import dataclass

from nb201_env.clock import BUDGET_RULES
from nb201_env.names import SEARCH_DATASETS, check_schedule
from nb201_env.validate import check_choice


@dataclass(frozen=True)
class SearchProtocol:
    """How a search is run and judged.

    Args:
        name: preset name.
        dataset: search dataset (the signal is its validation split).
        budget: simulated seconds of training available.
        rule: overshoot rule of the clock, ``"nb201"`` or ``"nats"``.
        schedule: schedule of the search signal (12 epochs in both papers; ``None``: the store's default).
        test_schedule: schedule of the reported test accuracy (200 epochs; ``None``: the store's default).
    """

    name: str
    dataset: str
    budget: float
    rule: str
    schedule: int | None = None
    test_schedule: int | None = None

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, SEARCH_DATASETS)
        check_choice("budget rule", self.rule, BUDGET_RULES)
        if self.schedule is not None:
            check_schedule(self.schedule)
        if self.test_schedule is not None:
            check_schedule(self.test_schedule, "for test accuracy")
        if not self.budget > 0:
            raise ValueError(f"budget must be positive seconds, got {self.budget!r}")


PROTOCOLS: dict[str, SearchProtocol] = {
    p.name: p
    for p in (
        # NB201 paper, section 5: search on CIFAR-10 validation with the 12-epoch signal, 12,000 s
        SearchProtocol("nb201", "cifar10", 12_000, "nb201"),
        # NATS-Bench paper, topology search space: per-dataset budgets, the last evaluation may overrun
        SearchProtocol("nats-cifar10", "cifar10", 20_000, "nats"),
        SearchProtocol("nats-cifar100", "cifar100", 40_000, "nats"),
        SearchProtocol("nats-ImageNet16-120", "ImageNet16-120", 120_000, "nats"),
    )
}


def get_protocol(name: str) -> SearchProtocol:
    """Return a preset by name, or raise naming the presets."""
    return PROTOCOLS[check_choice("protocol", name, tuple(PROTOCOLS))]
