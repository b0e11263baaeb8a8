"""Which seconds a training run costs: both clocks are measured and recorded, one is charged.

Every run records, per epoch, the wall seconds (``train_seconds``, ``eval_seconds``, ...) and the CPU
seconds (``train_cpu_seconds``, ``eval_cpu_seconds``, ...) of its training and evaluation passes. The
search clock charges one of them (:data:`SECONDS`):

- ``"cpu"``: CPU seconds of the training process. Other jobs on the machine barely change them (a run that
  took 10 s of wall time on a free core takes about 10 CPU seconds on a loaded one, and several minutes of
  wall time), so costs stay comparable across runs and machines' loads. The default on CPU.
- ``"wall"``: elapsed seconds. The only meaningful clock on a GPU, whose work the CPU clock does not see;
  the default on CUDA. On a CPU it charges whatever else ran on the machine.

The cost of an evaluation is the seconds of every training epoch up to the one read plus that epoch's
validation pass (NB201's definition); test passes are never charged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Seconds = Literal["auto", "wall", "cpu"]
SECONDS = ("auto", "wall", "cpu")


def charged_clock(seconds: Seconds, device_type: str) -> Literal["wall", "cpu"]:
    """Return the clock charged on this device (``auto``: CPU seconds on CPU, wall seconds on CUDA)."""
    if seconds != "auto":
        return seconds
    return "wall" if device_type == "cuda" else "cpu"


def cpu_clock(threads: int) -> Callable[[], float]:
    """Return the CPU clock of a run: this thread's with one torch thread (other threads of the process, such as a
    progress bar's or a caller's, are not charged), the whole process's with several."""
    return time.thread_time if threads == 1 else time.process_time


@dataclass
class Lap:
    """Wall and CPU seconds of one timed span."""

    wall: float = 0.0
    cpu: float = 0.0


class Stopwatch:
    """Times spans on the wall clock and a CPU clock at once: ``with watch.lap() as lap: ...``."""

    def __init__(self, cpu: Callable[[], float], sync: Callable[[], None] = lambda: None) -> None:
        self.cpu, self.sync = cpu, sync

    def start(self) -> tuple[float, float]:
        """Return the current (wall, CPU) readings."""
        return time.perf_counter(), self.cpu()

    def since(self, start: tuple[float, float]) -> Lap:
        """Return the seconds since ``start`` (waiting for queued device work first)."""
        self.sync()
        return Lap(time.perf_counter() - start[0], self.cpu() - start[1])


def epoch_seconds(run: dict[str, Any], clock: Literal["wall", "cpu"]) -> tuple[list[float], list[float]]:
    """Return (training, validation) seconds per epoch of a run on one clock.

    Runs cached before per-epoch CPU seconds were recorded hold only their total (``info["cpu_seconds"]``):
    it is split over the epochs' passes in proportion to their wall seconds.
    """
    if clock == "wall":
        return list(run["train_seconds"]), list(run["eval_seconds"])
    if run.get("train_cpu_seconds") is not None:
        return list(run["train_cpu_seconds"]), list(run["eval_cpu_seconds"])
    total_cpu = (run.get("info") or {}).get("cpu_seconds")
    if not total_cpu:
        raise ValueError(f"run of arch {run.get('index')} records no CPU seconds; charge wall seconds instead")
    wall = sum(run["train_seconds"]) + sum(run["eval_seconds"]) + sum(run.get("test_seconds_curve") or ())
    if not run.get("test_seconds_curve") and run.get("test_seconds"):
        wall += run["test_seconds"]
    scale = total_cpu / wall if wall > 0 else 0.0
    return [s * scale for s in run["train_seconds"]], [s * scale for s in run["eval_seconds"]]


def run_cost(run: dict[str, Any], clock: Literal["wall", "cpu"], epoch: int = -1) -> float:
    """Return the seconds charged for reading a run after ``epoch`` (default: the last): training up to it and
    its validation pass."""
    train, valid = epoch_seconds(run, clock)
    last = len(train) - 1 if epoch < 0 else epoch
    return float(sum(train[: last + 1]) + valid[last])
