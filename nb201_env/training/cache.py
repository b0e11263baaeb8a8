"""A crash-safe persistent cache of training runs: SQLite in WAL mode, one transaction per finished run.

Runs are keyed by (isomorphism-class representative, dataset, recipe hash, seed): isomorphic cells compute
the same function, so one run serves the whole class. Each run is written in a single short transaction,
so killing a process at any moment loses at most the run in progress; SQLite's write-ahead log keeps the
file consistent across crashes (``synchronous=NORMAL`` in WAL mode survives a killed process; an OS crash
or power loss can drop the last commits, never corrupt the file). Several processes may read and write
one cache at once; writers wait for each other (``busy_timeout``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from nb201_env.isomorphism import representative_of
from nb201_env.training.recipe import Recipe

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS recipes (recipe_hash TEXT PRIMARY KEY, recipe TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    representative INTEGER NOT NULL,
    dataset TEXT NOT NULL,
    recipe_hash TEXT NOT NULL,
    seed INTEGER NOT NULL,
    accuracy REAL NOT NULL,
    cost REAL NOT NULL,
    test_accuracy REAL,
    result TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (representative, dataset, recipe_hash, seed)
) WITHOUT ROWID;
"""


class CacheError(RuntimeError):
    """The cache file cannot be used (wrong schema version, not a cache, unreadable)."""


class ResultCache:
    """Persistent store of :class:`~nb201_env.training.trainer.TrainResult` rows (as JSON dicts).

    Args:
        path: the SQLite file (created with its folder if missing).
        timeout: seconds a writer waits for another process's transaction.
    """

    def __init__(self, path: str | os.PathLike[str], timeout: float = 120.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            (version,) = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as error:
            raise CacheError(f"{self.path} is not a usable training cache: {error}") from error
        if version != SCHEMA_VERSION:
            raise CacheError(f"{self.path} has cache schema {version!r}; this version reads {SCHEMA_VERSION!r}")

    def close(self) -> None:
        """Close the connection (the file stays consistent either way)."""
        self._db.close()

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def key(index: int, dataset: str, recipe: Recipe | str, seed: int) -> tuple[int, str, str, int]:
        """Return the cache key of an architecture: its class representative, dataset, recipe hash, seed."""
        recipe_hash = recipe if isinstance(recipe, str) else recipe.stable_hash()
        return representative_of(int(index)), dataset, recipe_hash, int(seed)

    def get(self, index: int, dataset: str, recipe: Recipe | str, seed: int) -> dict[str, Any] | None:
        """Return the stored run of this architecture's class, or ``None``."""
        row = self._db.execute(
            "SELECT result FROM runs WHERE representative=? AND dataset=? AND recipe_hash=? AND seed=?",
            self.key(index, dataset, recipe, seed),
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, result: dict[str, Any], recipe: Recipe) -> None:
        """Store one finished run (replacing an older run with the same key) in one transaction."""
        key = self.key(result["index"], result["dataset"], recipe, result["seed"])
        if key[2] != result["recipe_hash"]:
            raise ValueError(f"result was trained with recipe {result['recipe_hash']}, not {key[2]}")
        accuracy = result["valid_accuracy"][-1]
        cost = float(sum(result["train_seconds"]) + result["eval_seconds"][-1])
        payload = json.dumps(result, allow_nan=True)
        with self._db:  # BEGIN ... COMMIT, rolled back if anything fails
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT OR IGNORE INTO recipes VALUES (?, ?)", (key[2], json.dumps(recipe.to_dict(), sort_keys=True))
            )
            self._db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*key, accuracy, cost, result.get("test_accuracy"), payload, time.time()),
            )

    def seeds(self, index: int, dataset: str, recipe: Recipe | str) -> list[int]:
        """Return the seeds stored for this architecture's class."""
        rep, dataset, recipe_hash, _ = self.key(index, dataset, recipe, 0)
        rows = self._db.execute(
            "SELECT seed FROM runs WHERE representative=? AND dataset=? AND recipe_hash=? ORDER BY seed",
            (rep, dataset, recipe_hash),
        )
        return [seed for (seed,) in rows]

    def count(self, dataset: str | None = None, recipe: Recipe | str | None = None) -> int:
        """Return how many runs are stored (optionally for one dataset and recipe)."""
        query, args = "SELECT COUNT(*) FROM runs WHERE 1=1", []
        if dataset is not None:
            query, args = query + " AND dataset=?", [*args, dataset]
        if recipe is not None:
            recipe_hash = recipe if isinstance(recipe, str) else recipe.stable_hash()
            query, args = query + " AND recipe_hash=?", [*args, recipe_hash]
        return int(self._db.execute(query, args).fetchone()[0])

    def table(self, dataset: str, recipe: Recipe | str) -> list[tuple[int, int, float, float]]:
        """Return ``(representative, seed, accuracy, cost)`` of every stored run of one dataset and recipe."""
        recipe_hash = recipe if isinstance(recipe, str) else recipe.stable_hash()
        rows = self._db.execute(
            "SELECT representative, seed, accuracy, cost FROM runs WHERE dataset=? AND recipe_hash=? "
            "ORDER BY representative, seed",
            (dataset, recipe_hash),
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    def recipe(self, recipe_hash: str) -> Recipe | None:
        """Return the recipe stored under a hash, or ``None``."""
        row = self._db.execute("SELECT recipe FROM recipes WHERE recipe_hash=?", (recipe_hash,)).fetchone()
        return None if row is None else Recipe.from_dict(json.loads(row[0]))

    def integrity_check(self) -> str:
        """Return SQLite's integrity check verdict (``"ok"`` for a sound file)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])
