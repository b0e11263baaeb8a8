"""Lay the native vector envs' ``info`` out exactly as Gymnasium's ``SyncVectorEnv`` of the single envs does.

``SyncVectorEnv._add_info`` turns each key of the single envs' ``info`` into one array with a ``_key`` mask:
Python ints, floats and bools become ``int64``/``float64``/``bool`` arrays, strings (``benchmark``) and
``final_obs`` object arrays, and a key present in only some envs (``test_accuracy``, only where an
evaluation counted) is zero where it is absent, with ``False`` in its mask, and missing when no env has it.
Building the same layout here, with array operations, lets code written for Gymnasium's vector envs (and
``gymnasium.utils.env_checker.data_equivalence``) read ours unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ended_info", "evaluation_info", "everyone"]

_ONLY_WHERE_COUNTED = ("test_accuracy",)  # keys the single envs add only to the info of a counted evaluation


def everyone(n: int) -> np.ndarray:
    """Return a mask that holds for all ``n`` envs."""
    return np.ones(n, dtype=bool)


def _column(value: Any, n: int) -> np.ndarray:
    if isinstance(value, np.ndarray) and value.shape[:1] == (n,):
        return value
    if isinstance(value, str):
        return np.full(n, value, dtype=object)
    return np.full(n, value, dtype=type(value) if type(value) in (int, float, bool) else None)


def evaluation_info(info: dict[str, Any], n: int) -> dict[str, Any]:
    """Return the evaluations' ``info`` (:meth:`SearchRuns.evaluate`) as ``SyncVectorEnv`` batches the single envs'."""
    counted = np.asarray(info["evaluated"], dtype=bool)
    out: dict[str, Any] = {}
    for key, value in info.items():
        column = _column(value, n)
        if key in _ONLY_WHERE_COUNTED:
            if not counted.any():
                continue  # no env had it: the key is absent, as it is from every single env
            out[key] = np.where(counted, column, np.zeros((), dtype=column.dtype))
            out[f"_{key}"] = counted.copy()
        else:
            out[key] = column
            out[f"_{key}"] = everyone(n)
    return out


def ended_info(final_obs: np.ndarray, final_info: dict[str, Any], reset_info: dict[str, Any]) -> dict[str, Any]:
    """Return the ``SAME_STEP`` info of a step that ended every episode: the reset's on top, the ended ones below."""
    n = len(final_obs)
    rows = np.array([*final_obs, None], dtype=object)[:n]  # one observation per env (None keeps it 1-D)
    return {**reset_info, "final_obs": rows, "_final_obs": everyone(n), "final_info": final_info,
            "_final_info": everyone(n)}  # fmt: skip
