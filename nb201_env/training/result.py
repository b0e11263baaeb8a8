"""What a training run returns: :class:`TrainResult` (stored in the cache as its dict) and per-epoch reports."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from nb201_env.training.timing import charged_clock, run_cost

log = logging.getLogger("nb201_env.training.trainer")


@dataclass
class TrainResult:
    """Everything measured while training one architecture (curves are per epoch, NaN where not scored).

    Seconds are recorded on both clocks (:mod:`~nb201_env.training.timing`): ``*_seconds`` wall time,
    ``*_cpu_seconds`` CPU time of the training process.
    """

    index: int
    dataset: str
    seed: int
    recipe_hash: str
    train_loss: list[float]
    train_accuracy: list[float]
    valid_loss: list[float]
    valid_accuracy: list[float]
    train_seconds: list[float]
    eval_seconds: list[float]
    params: int
    flops: int
    test_accuracy: float | None = None
    test_loss: float | None = None
    test_seconds: float | None = None
    test_accuracy_curve: list[float] | None = None
    test_loss_curve: list[float] | None = None
    test_seconds_curve: list[float] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    train_cpu_seconds: list[float] | None = None
    eval_cpu_seconds: list[float] | None = None
    test_cpu_seconds: float | None = None
    test_cpu_seconds_curve: list[float] | None = None

    @property
    def accuracy(self) -> float:
        """Validation accuracy (%) after the last epoch: the search signal."""
        return self.valid_accuracy[-1]

    @property
    def cost(self) -> float:
        """Seconds of training plus the final validation pass: CPU seconds on a CPU, wall seconds on a GPU."""
        device_type = str(self.info.get("device", "cpu")).split(":")[0]
        return run_cost(self.to_dict(), charged_clock("auto", device_type))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable dict."""
        return asdict(self)


@dataclass(frozen=True)
class EpochReport:
    """What one finished epoch of one architecture's run measured (handed to ``on_epoch`` callbacks)."""

    index: int
    seed: int
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    valid_accuracy: float
    """NaN where the epoch was not scored (``Runtime(eval_epochs="last")``)."""
    seconds: float
    cpu_seconds: float


EpochCallback = Callable[[EpochReport], None]


def report_epoch(report: EpochReport, on_epoch: EpochCallback | None) -> None:
    """Log one line for a finished epoch at INFO and hand it to ``on_epoch``."""
    if not math.isfinite(report.train_loss):
        log.warning("arch %d seed %d: training loss is %s at epoch %d", report.index, report.seed,
                    report.train_loss, report.epoch)  # fmt: skip
    log.info(
        "arch %d seed %d epoch %d/%d: train loss %.4f acc %.2f%%, valid acc %.2f%% (%.1f s, %.1f CPU s)",
        report.index, report.seed, report.epoch + 1, report.epochs, report.train_loss, report.train_accuracy,
        report.valid_accuracy, report.seconds, report.cpu_seconds,
    )  # fmt: skip
    if on_epoch is not None:
        on_epoch(report)
