"""The zero-cost build's checkpoint: a SQLite file of scores, keyed by everything that changes a score.

A build key covers the code version of the proxy definitions, the initialisation seed, the minibatch's pixels
and labels (its SHA-256) and the dataset; the key's full description is stored beside it. A score cached under
one key is never read under another, so a cache can hold several builds (e.g. two seeds) side by side.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nb201_env.zero_cost.spec import KNOWN_PROXIES

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS builds (build TEXT PRIMARY KEY, description TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS scores (build TEXT NOT NULL, arch INTEGER NOT NULL, proxy TEXT NOT NULL, "
    "score REAL, cpu_s REAL NOT NULL, wall_s REAL NOT NULL, PRIMARY KEY (build, arch, proxy))",
)
_COLUMNS = {"builds": ["build", "description"], "scores": ["build", "arch", "proxy", "score", "cpu_s", "wall_s"]}


class ZeroCostCacheError(RuntimeError):
    """The cache file is not a zero-cost cache or is damaged; the message names the file and the problem."""


def build_key(description: dict[str, Any]) -> str:
    """Return the key of a build: a digest of its canonical JSON description, less the data's ``source`` wording.

    The minibatch's ``sha256`` is the data; its ``source`` (which folder, which split file) only tells where it
    came from, so the same images read from another folder keep the key (and the cache) of a build.
    """
    keyed = dict(description)
    if isinstance(keyed.get("minibatch"), dict):
        keyed["minibatch"] = {k: v for k, v in keyed["minibatch"].items() if k != "source"}
    text = json.dumps(keyed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class ScoreCache:
    """Scores of architectures under one build key, in a SQLite file (``None``: in memory).

    Args:
        path: the SQLite file (created when absent).
        description: what the build key covers (stored once; see :func:`build_key`).
    """

    def __init__(self, path: str | os.PathLike[str] | None, description: dict[str, Any]) -> None:
        self.path = Path(path) if path is not None else None
        self.description = description
        self.key = build_key(description)
        try:
            self._db = sqlite3.connect(":memory:" if path is None else str(path))
            for statement in _SCHEMA:
                self._db.execute(statement)
            self._check_layout()
            self._db.execute(
                "INSERT OR IGNORE INTO builds VALUES (?, ?)", (self.key, json.dumps(description, sort_keys=True))
            )
            self._db.commit()
        except sqlite3.DatabaseError as error:
            raise ZeroCostCacheError(f"{path} is not a usable zero-cost score cache: {error}") from error

    def _check_layout(self) -> None:
        for table, expected in _COLUMNS.items():
            columns = [row[1] for row in self._db.execute(f"PRAGMA table_info({table})")]
            if columns != expected:
                raise ZeroCostCacheError(
                    f"{self.path}: table {table!r} has columns {columns}, expected {expected} "
                    "(another program's file, or a cache of another version?)"
                )

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def __enter__(self) -> ScoreCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def done(self) -> set[tuple[int, str]]:
        """Return the ``(arch, proxy)`` pairs already scored under this key."""
        rows = self._db.execute("SELECT arch, proxy FROM scores WHERE build = ?", (self.key,))
        return {(int(arch), str(proxy)) for arch, proxy in rows}

    def put(self, rows: Iterable[tuple[int, str, float, float, float]]) -> None:
        """Store ``(arch, proxy, score, cpu_s, wall_s)`` rows and commit (NaN scores are stored as NULL)."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?)",
                [(self.key, a, p, None if s != s else s, c, w) for a, p, s, c, w in rows],
            )

    def read(self) -> dict[str, dict[int, tuple[float, float, float]]]:
        """Return ``{proxy: {arch: (score, cpu_s, wall_s)}}`` of this key (NULL scores read back as NaN)."""
        out: dict[str, dict[int, tuple[float, float, float]]] = {}
        rows = self._db.execute("SELECT arch, proxy, score, cpu_s, wall_s FROM scores WHERE build = ?", (self.key,))
        for arch, proxy, score, cpu, wall in rows:
            if proxy not in KNOWN_PROXIES or not isinstance(arch, int):
                raise ZeroCostCacheError(f"{self.path}: row ({arch!r}, {proxy!r}) names no known arch and proxy")
            out.setdefault(proxy, {})[arch] = (float("nan") if score is None else float(score), float(cpu), float(wall))
        return out
