"""What a cached training run is keyed by: everything that changes its numbers, besides architecture and seed.

A run is served from the cache only to a request with the same :class:`RunKey`:

- ``dataset`` and ``recipe`` (its stable hash);
- ``data_id``: the content of the decoded image set (:func:`~nb201_env.training.datacache.content_id`), so
  other images, other labels, or the same files decoded differently never share runs;
- ``split_id``: the split (``official:<hash of the split file>``, ``seeded:<seed>`` or ``none``);
- ``eval_epochs``: which epochs were scored (a run scored after every epoch also serves a request for the
  last one, never the reverse);
- ``numerics``: the execution choices that change float results (:meth:`Runtime.numerics`: device type,
  precision, determinism, memory format, CPU threads, grouped kernels, ``torch.compile``).

Importing this module does not import torch.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nb201_env.training.recipe import Recipe
    from nb201_env.training.runtime import Runtime
    from nb201_env.training.splits import Splits

KEY_VERSION = "nb201-runkey/1"


@dataclass(frozen=True)
class RunKey:
    """The identity of a training setup; with an architecture and a seed it names one cached run."""

    dataset: str
    recipe_hash: str
    data_id: str
    split_id: str
    eval_epochs: str
    numerics: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, splits: Splits, recipe: Recipe, runtime: Runtime) -> RunKey:
        """Return the key of runs of ``recipe`` on prepared ``splits`` executed with ``runtime``."""
        if not splits.data_id or not splits.split_id:
            raise ValueError(
                "these splits carry no data identity (data_id/split_id): load them with load_splits(), or set both "
                "with dataclasses.replace() to name the data they hold, so that cached runs can be keyed by it"
            )
        numerics = runtime.numerics()
        return cls(
            splits.dataset,
            recipe.stable_hash(),
            splits.data_id,
            splits.split_id,
            runtime.eval_epochs,
            tuple(sorted(numerics.items())),
        )

    @classmethod
    def of_run(cls, run: dict[str, Any]) -> RunKey:
        """Return the key a finished run's own record says it was trained under."""
        info = run.get("info") or {}
        device = str(info.get("device", "cpu")).split(":")[0]
        numerics = {
            "device": device,
            "precision": info.get("precision", "float32"),
            "deterministic": bool(info.get("deterministic", False)),
            "channels_last": bool(info.get("channels_last", True)),
            "threads": info.get("threads") if device == "cpu" else None,
            "kernels": "grouped" if info.get("stacking") == "grouped" else "standard",
            "compile": bool(info.get("compile", False)),
        }
        scored = all(math.isfinite(v) for v in run["valid_accuracy"])
        eval_epochs = info.get("eval_epochs") or ("all" if scored else "last")
        return cls(
            run["dataset"],
            run["recipe_hash"],
            str(info.get("data_id", "")),
            str(info.get("split_id", "")),
            eval_epochs,
            tuple(sorted(numerics.items())),
        )

    def setup(self) -> dict[str, Any]:
        """Return the key's parts beyond dataset and recipe as a JSON-able dict."""
        return {
            "data_id": self.data_id,
            "split_id": self.split_id,
            "eval_epochs": self.eval_epochs,
            "numerics": dict(self.numerics),
        }

    def setup_hash(self) -> str:
        """Return a 16-hex-digit hash of :meth:`setup`, stable across processes and machines."""
        text = json.dumps({"version": KEY_VERSION, **self.setup()}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def readable(self) -> list[RunKey]:
        """Return the keys whose runs serve this key: itself and, when only the last epoch is wanted, runs
        scored after every epoch (the same training; scoring does not change it)."""
        return [self, replace(self, eval_epochs="all")] if self.eval_epochs == "last" else [self]

    def differences(self, other: RunKey) -> list[str]:
        """Return the parts in which another key differs, as ``name: ours != theirs`` (for error messages)."""
        ours, theirs = (
            {**self.setup(), "dataset": self.dataset, "recipe": self.recipe_hash},
            {
                **other.setup(),
                "dataset": other.dataset,
                "recipe": other.recipe_hash,
            },
        )
        return [f"{k}: {ours[k]!r} != {theirs[k]!r}" for k in ours if ours[k] != theirs[k]]
