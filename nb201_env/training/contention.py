"""Runs timed on shared cores: how contended a run was, and which of two runs of one class to keep.

A table's costs are the wall seconds of a single-threaded worker; when other jobs share its core, the wall
time of a run exceeds its CPU time and the simulated cost is inflated. ``build-table --retrain-contended``
trains such runs again and keeps whichever run of a class was timed on the freer core.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def wall_to_cpu(run: dict[str, Any]) -> float | None:
    """Return a run's wall time over its CPU time (about 1 on a free core), or None if its CPU time is unknown."""
    cpu = (run.get("info") or {}).get("cpu_seconds")
    if not cpu:
        return None
    # the same span as the trainer's CPU clock: every epoch's training, validation and test passes
    wall = sum(run["train_seconds"]) + sum(run["eval_seconds"]) + sum(run.get("test_seconds_curve") or ())
    return wall / cpu


def less_contended(old: dict[str, Any], new: dict[str, Any], kept: list[int]) -> bool:
    """Return whether a retrained run replaces the cached one: only when its core was freer (a lower wall/CPU ratio);
    note the class in ``kept`` otherwise."""
    if (wall_to_cpu(new) or float("inf")) < (wall_to_cpu(old) or float("inf")):
        return True
    kept.append(int(old["index"]))
    return False


def ratio_summary(runs: list[dict[str, Any]]) -> dict[str, float] | None:
    """Return the median and largest wall/CPU time ratio of the runs (how free their cores were)."""
    ratios = [r for r in map(wall_to_cpu, runs) if r is not None]
    return {"median": float(np.median(ratios)), "max": float(np.max(ratios))} if ratios else None
