"""What the Optuna-backed agents share: the lazy import (the ``[optuna]`` extra) and the cell as six categoricals.

Each edge is one categorical parameter named after the edge in the official string order (``"1<-0"``,
``"2<-0"``, ...), whose choices are the op names in the official op order; a trial's parameters convert to
the six op ids of a ``NASBench201-OneShot-v0`` action and back without loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nb201_env.space import EDGES, OPS

EDGE_NAMES = tuple(f"{to}<-{src}" for to, src in EDGES)
_OP_ID = {name: i for i, name in enumerate(OPS)}


def import_optuna() -> Any:
    """Import optuna (quiet: one log line per trial would drown the harness) or name the extra to install."""
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the Optuna agents need optuna: pip install 'nb201-env[optuna]' (or '.[optuna]' in a checkout)"
        ) from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def cell_distributions(optuna: Any) -> dict[str, Any]:
    """Return the search space: one categorical over the op names per edge, in official order."""
    return {name: optuna.distributions.CategoricalDistribution(OPS) for name in EDGE_NAMES}


def ops_of(params: dict[str, Any]) -> np.ndarray:
    """Return the six op ids of a trial's parameters."""
    return np.array([_OP_ID[params[name]] for name in EDGE_NAMES], dtype=np.int64)


def ask_unseen(
    study: Any, space: dict[str, Any], known: dict[tuple[int, ...], Any], tries: int
) -> tuple[Any, np.ndarray]:
    """Ask the study for a cell not in ``known`` (cell -> its known values, told back at once without an
    evaluation); return the trial and its op ids, or ``None`` and the last repeat after ``tries`` repeats."""
    for _ in range(tries):
        trial = study.ask(space)
        ops = ops_of(trial.params)
        values = known.get(tuple(ops.tolist()))
        if values is None:
            return trial, ops
        study.tell(trial, values)
    return None, ops


def params_of(ops: np.ndarray) -> dict[str, str]:
    """Return the trial parameters of six op ids (to enqueue a given cell)."""
    return {name: OPS[int(op)] for name, op in zip(EDGE_NAMES, ops)}
