"""A crash-safe persistent cache of training runs: SQLite in WAL mode, one transaction per finished run.

Runs are keyed by the architecture's isomorphism-class representative (isomorphic cells compute the same
function, so one run serves the whole class), the seed, and a :class:`~nb201_env.training.runkey.RunKey`:
dataset, recipe, the data's content, the split, the scored epochs and the numerics settings. A run is
served only under the key it was trained with (:meth:`ResultCache.put` checks the run's own record), so a
cache shared between data, splits or settings never answers for the wrong one. Each run is written in a
single short transaction, so killing a process at any moment loses at most the run in progress; SQLite's
write-ahead log keeps the file consistent across crashes. Several processes may read and write one cache
at once; writers wait for each other (``busy_timeout``). The connection opens on first use, so an
evaluator holding a cache can be pickled and copied.

A file that is not such a cache (another program's SQLite file, a damaged file, a row whose JSON does not
parse) raises :class:`CacheError` naming the file and what is wrong; nothing is written to it. A cache of
schema 1 (keyed without the data's identity, before 0.2) is refused until ``nb201 migrate-cache`` checks
its runs against the data they were trained on and moves them to the current key.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nb201_env.isomorphism import representative_of
from nb201_env.training.recipe import Recipe
from nb201_env.training.runkey import RunKey

APPLICATION = "nb201_env training cache"
SCHEMA_VERSION = "2"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS recipes (recipe_hash TEXT PRIMARY KEY, recipe TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS setups (setup_hash TEXT PRIMARY KEY, setup TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    representative INTEGER NOT NULL,
    dataset TEXT NOT NULL,
    recipe_hash TEXT NOT NULL,
    setup_hash TEXT NOT NULL,
    seed INTEGER NOT NULL,
    accuracy REAL NOT NULL,
    test_accuracy REAL,
    result TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (representative, dataset, recipe_hash, setup_hash, seed)
) WITHOUT ROWID;
"""
MIGRATE_HINT = "nb201 migrate-cache {path} --data <the dataset root its runs were trained on>"


class CacheError(RuntimeError):
    """The cache file cannot be used: not a cache, another schema version, unreadable or damaged."""


def _where(key: RunKey) -> tuple[str, list[Any]]:
    return "dataset=? AND recipe_hash=? AND setup_hash=?", [key.dataset, key.recipe_hash, key.setup_hash()]


class ResultCache:
    """Persistent store of :class:`~nb201_env.training.result.TrainResult` rows (as JSON dicts).

    Args:
        path: the SQLite file (created with its folder if missing); ``":memory:"`` keeps runs in memory.
        timeout: seconds a writer waits for another process's transaction.
    """

    def __init__(self, path: str | os.PathLike[str], timeout: float = 120.0) -> None:
        self.path = Path(path) if os.fspath(path) != ":memory:" else Path(":memory:")
        self.timeout = timeout
        self._connection: sqlite3.Connection | None = None
        if self.in_memory:
            self._open()  # an in-memory cache lives as long as its connection
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._open().close()  # check the file now; reopened on first use
            self._connection = None

    @property
    def in_memory(self) -> bool:
        """Whether runs live in memory only (lost with the object)."""
        return os.fspath(self.path) == ":memory:"

    def _open(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        try:
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise CacheError(f"cannot open the training cache {self.path}: {error}") from error
        try:
            self._check_or_create(db)
            if not self.in_memory:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as error:
            db.close()
            raise CacheError(f"{self.path} is not a usable training cache: {error}") from error
        except CacheError:
            db.close()
            raise
        self._connection = db
        return db

    def _check_or_create(self, db: sqlite3.Connection) -> None:
        """Create the schema in an empty file; refuse anything that is not a cache of this schema (writing nothing)."""
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            with db:
                db.execute("BEGIN IMMEDIATE")
                if not db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('application', ?)", (APPLICATION,))
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            tables = {"meta", "runs"}
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
        version = meta.get("schema_version")
        if version == "1" and "application" not in meta and {"runs", "recipes"} <= tables:
            raise CacheError(
                f"{self.path} is a training cache of schema 1, whose runs are keyed without the data's identity "
                f"(they could be served for other data); check and move them to the current key with: "
                + MIGRATE_HINT.format(path=self.path)
            )
        if meta.get("application") != APPLICATION:
            raise CacheError(
                f"{self.path} is not a training cache of nb201_env: it is an SQLite file with tables {sorted(tables)} "
                f"and no nb201_env meta record; pass a new file or one this package wrote"
            )
        if version != SCHEMA_VERSION:
            raise CacheError(f"{self.path} has cache schema {version!r}; this version reads {SCHEMA_VERSION!r}")

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """Yield the connection; turn SQLite failures into a :class:`CacheError` naming the file."""
        db = self._open()
        try:
            yield db
        except sqlite3.DatabaseError as error:
            raise CacheError(f"the training cache {self.path} cannot be read or written: {error}") from error

    def close(self) -> None:
        """Close the connection (the file stays consistent either way; it reopens on next use)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = {"path": self.path, "timeout": self.timeout}
        if self.in_memory:  # a copy takes the runs along (as SQL); a file is simply reopened
            with self._db() as db:
                state["dump"] = "\n".join(db.iterdump())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path, self.timeout, self._connection = state["path"], state["timeout"], None
        if "dump" in state:
            db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            db.executescript(state["dump"])
            self._connection = db

    def _decode(self, text: str, what: str) -> dict[str, Any]:
        try:
            row = json.loads(text)
        except ValueError as error:
            raise CacheError(f"{self.path}: the stored run of {what} is damaged (not JSON: {error})") from error
        if not isinstance(row, dict) or not isinstance(row.get("valid_accuracy"), list):
            raise CacheError(f"{self.path}: the stored run of {what} is damaged (not a training result)")
        return row

    def get(self, index: int, key: RunKey, seed: int) -> dict[str, Any] | None:
        """Return the stored run of this architecture's class under ``key`` (or a key that serves it), or None."""
        rep = representative_of(int(index))
        with self._db() as db:
            for readable in key.readable():
                where, args = _where(readable)
                row = db.execute(
                    f"SELECT result FROM runs WHERE representative=? AND seed=? AND {where}", [rep, int(seed), *args]
                ).fetchone()
                if row is not None:
                    return self._decode(row[0], f"arch {rep} seed {seed}")
        return None

    def put(self, result: dict[str, Any], key: RunKey, recipe: Recipe) -> None:
        """Store one finished run under ``key`` (replacing an older run of the same key) in one transaction.

        Refuses a run whose own record says it was trained under another key, or whose final validation
        accuracy is not a number.
        """
        own = RunKey.of_run(result)
        if own != key:
            raise ValueError(f"the run of arch {result.get('index')} was trained under another key than the one it "
                             f"would be stored under: {'; '.join(key.differences(own))}")  # fmt: skip
        if recipe.stable_hash() != key.recipe_hash:
            raise ValueError(f"recipe {recipe.stable_hash()} is not the key's recipe {key.recipe_hash}")
        accuracy = result["valid_accuracy"][-1]
        if not isinstance(accuracy, (int, float)) or not math.isfinite(accuracy):
            raise ValueError(f"the run of arch {result.get('index')} has no final validation accuracy ({accuracy!r})")
        payload = json.dumps(result, allow_nan=True)
        setup = json.dumps(key.setup(), sort_keys=True)
        row = [representative_of(int(result["index"])), key.dataset, key.recipe_hash, key.setup_hash()]
        with self._db() as db, db:  # BEGIN ... COMMIT, rolled back if anything fails
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT OR IGNORE INTO recipes VALUES (?, ?)", (key.recipe_hash, json.dumps(recipe.to_dict())))
            db.execute("INSERT OR IGNORE INTO setups VALUES (?, ?)", (key.setup_hash(), setup))
            db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, int(result["seed"]), accuracy, result.get("test_accuracy"), payload, time.time()),
            )

    def seeds(self, index: int, key: RunKey) -> list[int]:
        """Return the seeds stored for this architecture's class under ``key``."""
        where, args = _where(key)
        with self._db() as db:
            rows = db.execute(
                f"SELECT seed FROM runs WHERE representative=? AND {where} ORDER BY seed",
                [representative_of(int(index)), *args],
            ).fetchall()
        return [seed for (seed,) in rows]

    def count(self, key: RunKey | None = None) -> int:
        """Return how many runs are stored (under ``key``, or in all)."""
        where, args = _where(key) if key is not None else ("1=1", [])
        with self._db() as db:
            return int(db.execute(f"SELECT COUNT(*) FROM runs WHERE {where}", args).fetchone()[0])

    def table(self, key: RunKey) -> list[tuple[int, int, float]]:
        """Return ``(representative, seed, accuracy)`` of every run stored under ``key``."""
        where, args = _where(key)
        with self._db() as db:
            rows = db.execute(
                f"SELECT representative, seed, accuracy FROM runs WHERE {where} ORDER BY representative, seed", args
            ).fetchall()
        return [tuple(row) for row in rows]  # type: ignore[misc]

    def run_keys(self) -> list[tuple[RunKey, int]]:
        """Return every key holding runs, with its run count (for reports and tools)."""
        with self._db() as db:
            rows = db.execute(
                "SELECT r.dataset, r.recipe_hash, s.setup, COUNT(*) FROM runs r JOIN setups s USING (setup_hash) "
                "GROUP BY r.dataset, r.recipe_hash, r.setup_hash ORDER BY r.dataset, r.recipe_hash"
            ).fetchall()
        out = []
        for dataset, recipe_hash, setup, n in rows:
            parts = json.loads(setup)
            numerics = tuple(sorted(parts["numerics"].items()))
            key = RunKey(dataset, recipe_hash, parts["data_id"], parts["split_id"], parts["eval_epochs"], numerics)
            out.append((key, n))
        return out

    def recipe(self, recipe_hash: str) -> Recipe | None:
        """Return the recipe stored under a hash, or ``None``."""
        with self._db() as db:
            row = db.execute("SELECT recipe FROM recipes WHERE recipe_hash=?", (recipe_hash,)).fetchone()
        return None if row is None else Recipe.from_dict(json.loads(row[0]))

    def integrity_check(self) -> str:
        """Return SQLite's integrity check verdict (``"ok"`` for a sound file)."""
        with self._db() as db:
            return str(db.execute("PRAGMA integrity_check").fetchone()[0])
