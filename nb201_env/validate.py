"""Check arguments at the edges: every bad value gets an error naming the argument, the value and what is valid.

One place for the rules, so that the environments, the vector environments, :class:`~nb201_env.benchmark.
Benchmark`, the space and the CLI reject the same things the same way: ints only as ints (never ``True``, never
``11.0``, never ``'11'``), bools only as bools (``'no'`` is not ``False``), numbers only as numbers, paths
only as ``str`` / ``os.PathLike``. Op ids are checked by :mod:`nb201_env.space`, with these rules.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type; also a ``ValueError``, so code that catches bad values catches it too."""


def shown(value: object) -> str:
    """Return ``repr(value)`` with its type, cut short (a bad argument may be a huge array)."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def is_int(value: object) -> bool:
    """Return whether ``value`` is an integer that is not a bool (Python or numpy)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(
    name: str, value: object, *, low: int | None = None, high: int | None = None, allow_none: bool = False
) -> Any:
    """Return ``value`` as an ``int`` (or ``None`` when allowed) if it is an integer in ``low..high``."""
    if value is None and allow_none:
        return None
    what = {(1, None): "a positive int", (0, None): "a non-negative int"}.get((low, high), f"an int{_span(low, high)}")
    if not is_int(value):
        none = " or None" if allow_none else ""
        raise ArgumentTypeError(f"{name} must be {what}{none}, got {shown(value)}")
    number = int(value)  # type: ignore[call-overload]
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{name} must be {what}, got {number}")
    return number


def _span(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" in {low}..{high}"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def check_real(name: str, value: object, *, positive: bool = False, allow_none: bool = False) -> Any:
    """Return ``value`` as a finite ``float`` (positive if asked; ``None`` when allowed) or raise naming it."""
    if value is None and allow_none:
        return None
    what = "a positive finite number" if positive else "a finite number"
    none = " or None" if allow_none else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ArgumentTypeError(f"{name} must be {what}{none}, got {shown(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range, such as 10**400
        raise ValueError(f"{name} must be {what}{none}, got {shown(value)}, beyond the range of a float") from None
    if not math.isfinite(number) or (positive and number <= 0):
        raise ValueError(f"{name} must be {what}{none}, got {value!r}")
    return number


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (numpy bools too); strings and numbers are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be True or False, got {shown(value)}")
    return bool(value)


def check_path(name: str, value: object, *, allow_none: bool = False) -> Any:
    """Return ``value`` if it is a path (``str`` or ``os.PathLike``), or ``None`` when allowed."""
    if value is None and allow_none:
        return None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, os.PathLike) and isinstance(os.fspath(value), str):
        return value
    none = " or None" if allow_none else ""
    raise ArgumentTypeError(f"{name} must be a path (a non-empty str or os.PathLike){none}, got {shown(value)}")


def check_choice(kind: str, value: T, choices: Iterable[T], context: str = "") -> T:
    """Return ``value`` if it is one of ``choices`` (same type: ``True`` is not ``1``), else raise naming both."""
    options = choices if isinstance(choices, tuple) else tuple(choices)
    if type(value) is str:  # names, the common case: compared in C
        if value in options:
            return value
    else:
        for option in options:
            if _same(value, option):
                return option
    where = f" {context}" if context else ""
    plural = f"{kind[:-1]}ies" if kind.endswith("y") and kind[-2:-1] not in ("a", "e", "o", "u") else f"{kind}s"
    raise ValueError(f"unknown {kind} {value!r}{where}; valid {plural} are: {', '.join(repr(c) for c in options)}")


def _same(value: object, option: object) -> bool:
    if isinstance(option, str):
        return isinstance(value, str) and value == option
    if isinstance(option, bool):
        return isinstance(value, (bool, np.bool_)) and bool(value) == option
    if isinstance(option, int):
        return is_int(value) and int(value) == option  # type: ignore[call-overload]
    return type(value) is type(option) and value == option


def check_keywords(owner: str, given: Iterable[str], valid: Iterable[str]) -> None:
    """Refuse a keyword argument ``owner`` does not take with Python's own ``TypeError`` text.

    Clients rely on that text: Gymnasium's ``make`` and TorchRL's ``GymEnv`` retry without ``render_mode`` or
    ``frameskip`` only on ``TypeError("... got an unexpected keyword argument 'x'")``.
    """
    options = tuple(valid)
    for key in given:
        if key not in options:
            raise TypeError(
                f"{owner}() got an unexpected keyword argument {key!r}; valid keyword arguments are: "
                f"{', '.join(map(repr, options))}"
            )


def check_epoch(value: object, schedule: int | None = None, name: str = "epoch") -> Any:
    """Return a 0-based epoch (``None`` = the last) as an int, within the schedule when it is known."""
    high = None if schedule is None else schedule - 1
    return check_int(f"{name} (0-based)", value, low=0, high=high, allow_none=True)


def check_reset(seed: object, options: object) -> tuple[int | None, bool]:
    """Check ``reset(seed=..., options=...)``; return the seed as a Python ``int`` (numpy integers are accepted,
    Gymnasium's seeding takes only ``int``) and whether a new search run was asked for."""
    if seed is not None:
        seed = check_int("seed", seed, low=0)
    if options is None:
        return seed, seed is not None
    if not isinstance(options, Mapping):
        raise ArgumentTypeError(f"options must be a dict or None, got {shown(options)}")
    unknown = [k for k in options if k != "new_search"]
    if unknown:
        raise ValueError(f"unknown reset option {unknown[0]!r}; the only option is 'new_search' (True or False)")
    new_search = check_bool("options['new_search']", options.get("new_search", False))
    return seed, seed is not None or new_search
