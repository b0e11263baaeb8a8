"""The official names of datasets, splits, metrics and schedules, and what each dataset holds.

These are the names the official NB201 / NATS-Bench files use, kept verbatim so that results line up with
papers; every function that takes one of them validates it with :func:`~nb201_env.validate.check_choice`
(schedules, which a proxy table may choose freely, with :func:`check_schedule`).
"""

from __future__ import annotations

from typing import Final, Literal

from nb201_env.validate import (
    ArgumentTypeError,
    check_choice,  # noqa: F401  (training/ imports it from here until it moves to validate)
    is_int,
)

Dataset = Literal["cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"]
Split = Literal["train", "x-valid", "x-test", "ori-test"]
Metric = Literal["accuracy", "loss", "time"]
SearchDataset = Literal["cifar10", "cifar100", "ImageNet16-120"]

DATASETS: Final[tuple[str, ...]] = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
SPLITS: Final[tuple[str, ...]] = ("train", "x-valid", "x-test", "ori-test")
METRICS: Final[tuple[str, ...]] = ("accuracy", "loss", "time")
SCHEDULES: Final[tuple[int, ...]] = (12, 200)
"""The official schedules in epochs: ``hp='12'`` (the search runs) and ``hp='200'`` (the final runs)."""
_MAX_SCHEDULE: Final = 10_000

SEARCH_DATASETS: Final[tuple[str, ...]] = ("cifar10", "cifar100", "ImageNet16-120")

SPLITS_OF: Final[dict[str, tuple[str, ...]]] = {
    "cifar10-valid": ("train", "x-valid", "ori-test"),
    "cifar10": ("train", "ori-test"),
    "cifar100": ("train", "x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("train", "x-valid", "x-test", "ori-test"),
}
"""Splits recorded per dataset: ``cifar10-valid`` trains on 25k images and validates on the other 25k
(``x-valid``); ``cifar10`` trains on all 50k and has only ``ori-test``; for CIFAR-100 and ImageNet16-120
``x-valid`` / ``x-test`` are the two halves of the official test set and ``ori-test`` is all of it."""

VALIDATION_OF: Final[dict[str, tuple[str, str]]] = {
    "cifar10": ("cifar10-valid", "x-valid"),
    "cifar10-valid": ("cifar10-valid", "x-valid"),
    "cifar100": ("cifar100", "x-valid"),
    "ImageNet16-120": ("ImageNet16-120", "x-valid"),
}
"""Where the search signal of each dataset comes from (as the official ``simulate_train_eval``)."""

TEST_OF: Final[dict[str, tuple[str, str]]] = {
    "cifar10": ("cifar10", "ori-test"),
    "cifar10-valid": ("cifar10", "ori-test"),
    "cifar100": ("cifar100", "x-test"),
    "ImageNet16-120": ("ImageNet16-120", "x-test"),
}
"""The test figure the NB201 paper reports per dataset (CIFAR-10: trained on 50k, tested on the test set)."""

NUM_CLASSES: Final[dict[str, int]] = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
RESOLUTION: Final[dict[str, int]] = {"cifar10-valid": 32, "cifar10": 32, "cifar100": 32, "ImageNet16-120": 16}

__all__ = [
    "DATASETS",
    "METRICS",
    "NUM_CLASSES",
    "RESOLUTION",
    "SCHEDULES",
    "SEARCH_DATASETS",
    "SPLITS",
    "SPLITS_OF",
    "TEST_OF",
    "VALIDATION_OF",
    "check_schedule",
]


def check_schedule(value: object, context: str = "") -> int:
    """Return ``value`` if it is a schedule length in epochs (official: 12 or 200), else raise naming it."""
    if is_int(value) and 1 <= int(value) <= _MAX_SCHEDULE:  # type: ignore[call-overload]
        return int(value)  # type: ignore[call-overload]
    where = f" {context}" if context else ""
    kind = "" if is_int(value) else f" (got {type(value).__name__})"
    error = ValueError if is_int(value) else ArgumentTypeError
    raise error(
        f"unknown schedule {value!r}{where}; a schedule is a number of epochs, an int{kind} (the official ones are "
        f"{SCHEDULES[0]} and {SCHEDULES[1]}; a proxy table may hold its own)"
    )
