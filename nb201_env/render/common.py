"""Check the renderers' inputs and word what both of them show: metric values, the cell's status, packed lines."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from numbers import Integral, Real

import numpy as np

from nb201_env.space import EDGES, NUM_EDGES


def metric_items(metrics: object) -> list[str]:
    """Return ``name value`` strings for a metrics mapping (or None), or raise a ``TypeError`` for anything else."""
    if metrics is None:
        return []
    if not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must be a mapping of name -> value or None, got {metrics!r}")
    return [f"{name} {_format_value(value)}" for name, value in metrics.items()]


def _format_value(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        if abs(v) >= 1000:
            return f"{v:.0f}"
        return f"{v:.1f}" if abs(v) >= 1 or v == 0 else f"{v:.3g}"
    if isinstance(value, (tuple, list)):  # e.g. (elapsed, budget) -> "1234/12000"
        return "/".join(_format_value(v) for v in value)
    return str(value)


def next_edge(ops: tuple[int | None, ...]) -> int | None:
    """Return the edge being chosen next (the first unset one), or None when the cell is complete."""
    return next((e for e, op in enumerate(ops) if op is None), None)


def partial_status(ops: tuple[int | None, ...], nxt: int) -> str:
    """Say how far a partly chosen cell is: edges set so far and the edge chosen next."""
    n_set = sum(op is not None for op in ops)
    to, frm = EDGES[nxt]
    return f"{n_set}/{NUM_EDGES} edges set, next edge {to}<-{frm}"


def pack(items: list[str], fits: Callable[[str], bool], max_lines: int) -> list[str]:
    """Pack items greedily into at most ``max_lines`` lines; ``fits(line)`` says whether a line is short enough."""
    lines: list[str] = []
    for item in items:
        candidate = f"{lines[-1]}  {item}" if lines else item
        if lines and fits(candidate):
            lines[-1] = candidate
        elif len(lines) < max_lines:
            lines.append(item)
        else:  # out of room: say so rather than silently drop values
            lines[-1] = lines[-1] + "  ..."
            break
    out = []
    for line in lines:  # a single over-long item is cut to fit
        while not fits(line) and len(line) > 3:
            line = line[:-4] + "..."
        out.append(line)
    return out
