"""Move the runs of a schema-1 training cache (keyed without the data's identity) to the current key.

A schema-1 run records how it was made (``info``: layout, split, image counts, resolution, threads,
precision, ...) but not which data: :func:`migrate_cache` takes the dataset root the runs were trained on,
loads it, and moves a run only when its record agrees with that data (the same layout kind, the same split
kind and seed, the same numbers of training and validation images and resolution after the recipe's
proxy knobs). The run then gets the data's content id and split identity and is stored under its
:class:`~nb201_env.training.runkey.RunKey`. Runs that do not match (another dataset, another split)
stay in the table ``legacy_runs``, never served, until a migration with their data moves them. The whole
migration is one transaction: interrupted, it leaves the file as it was.

    nb201 migrate-cache benchmarks/builds/rebuild.sqlite --data ../shared/datasets/cifar10-jpg.tar.gz
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb201_env.training.cache import APPLICATION, SCHEMA, SCHEMA_VERSION, CacheError
from nb201_env.training.recipe import Recipe
from nb201_env.training.runkey import RunKey

log = logging.getLogger(__name__)
_LEGACY = """CREATE TABLE IF NOT EXISTS legacy_runs (
    representative INTEGER NOT NULL, dataset TEXT NOT NULL, recipe_hash TEXT NOT NULL, seed INTEGER NOT NULL,
    accuracy REAL NOT NULL, cost REAL NOT NULL, test_accuracy REAL, result TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (representative, dataset, recipe_hash, seed)) WITHOUT ROWID"""
_KINDS = {"image folder": ("image-folder", "image-tarball"), "python pickles": ("cifar-python",),
          "ImageNet16 pickles": ("imagenet16",)}  # fmt: skip


@dataclass
class MigrationReport:
    """What a migration moved and what it left in ``legacy_runs`` (with why)."""

    path: Path
    migrated: int = 0
    left: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        why = "; ".join(f"{n} x {reason}" for reason, n in self.reasons.most_common(5))
        left = f"; {self.left} left in legacy_runs ({why})" if self.left else ""
        return f"{self.path}: {self.migrated} runs moved to the current cache key{left}"


def _old_split(split_source: str) -> tuple[str | None, str]:
    """Return (layout words, split identity kind) from a schema-1 run's ``split_source``."""
    layout = next((words for words in _KINDS if split_source.startswith(words)), None)
    seeded = re.search(r"seeded class-stratified halves \(seed (\d+)\)", split_source)
    if seeded:
        return layout, f"seeded:{seeded.group(1)}"
    if "official split file" in split_source:
        return layout, "official"
    return layout, "none" if "all training images" in split_source else "unknown"


class _Data:
    """The splits of each dataset at ``root``, loaded once, and their prepared sizes per recipe."""

    def __init__(self, root: str | os.PathLike[str], options: dict[str, Any]) -> None:
        self.root, self.options = root, options
        self.raw: dict[str, Any] = {}
        self.sizes: dict[tuple[str, str], tuple[int, int, int]] = {}

    def splits(self, dataset: str) -> Any:
        from nb201_env.training.splits import load_splits

        if dataset not in self.raw:
            try:
                self.raw[dataset] = load_splits(dataset, self.root, **self.options)
            except (OSError, ValueError) as error:
                self.raw[dataset] = error
        return self.raw[dataset]

    def size(self, dataset: str, recipe: Recipe) -> tuple[int, int, int]:
        from nb201_env.training.splits import prepare

        key = (dataset, recipe.stable_hash())
        if key not in self.sizes:
            prepared = prepare(self.splits(dataset), recipe)
            valid = len(prepared.valid) if prepared.valid is not None else 0
            self.sizes[key] = (len(prepared.train), valid, prepared.train.images.shape[-1])
        return self.sizes[key]


def _check(run: dict[str, Any], data: _Data, recipe: Recipe | None) -> str | None:
    """Return why a schema-1 run does not belong to the data (None: it does)."""
    splits = data.splits(run["dataset"])
    if isinstance(splits, Exception):
        return f"its dataset {run['dataset']} is not at the given root ({type(splits).__name__})"
    if recipe is None:
        return "its recipe is not in the cache's recipes table"
    info = run.get("info") or {}
    layout, split = _old_split(str(info.get("split_source", "")))
    source_kind = splits.split_source  # "<kind words> <path>; <how>"
    if layout is None or not any(source_kind.startswith(w) for w in _words(layout)):
        return f"it was trained on a {layout or 'unknown'} layout, the given root holds another"
    if split != splits.split_id.split(":")[0] and split != splits.split_id:
        return f"its split ({split}) is not the given data's ({splits.split_id})"
    train, valid, resolution = data.size(run["dataset"], recipe)
    if (info.get("train_images"), info.get("valid_images"), info.get("resolution")) != (train, valid, resolution):
        return "its image counts or resolution differ from the given data's"
    return None


def _words(layout: str) -> tuple[str, ...]:
    from nb201_env.training.sources import DataSource

    return tuple(DataSource("cifar10", kind, Path(".")).describe().rsplit(" ", 1)[0] for kind in _KINDS[layout])


def migrate_cache(
    path: str | os.PathLike[str],
    root: str | os.PathLike[str],
    *,
    split_dir: str | os.PathLike[str] | None = None,
    split_seed: int = 0,
    data_cache_dir: str | os.PathLike[str] | None = None,
) -> MigrationReport:
    """Move a schema-1 cache's runs (or a migrated cache's ``legacy_runs``) that match the data at ``root`` to
    the current key, in one transaction; return what moved and what was left."""
    path = Path(path)
    if not path.is_file():
        raise CacheError(f"no training cache at {path}")
    db = sqlite3.connect(path, timeout=120.0, isolation_level=None)
    try:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
        if meta.get("application") == APPLICATION and meta.get("schema_version") == SCHEMA_VERSION:
            if "legacy_runs" not in tables:
                raise CacheError(f"{path} already has the current schema and no schema-1 runs left to migrate")
            source_table = "legacy_runs"
        elif meta.get("schema_version") == "1" and {"runs", "recipes"} <= tables:
            source_table = "runs"
        else:
            raise CacheError(f"{path} is not an nb201_env training cache of schema 1 (tables {sorted(tables)})")
        recipes = {h: Recipe.from_dict(json.loads(r)) for h, r in db.execute("SELECT recipe_hash, recipe FROM recipes")}
        options = {"split_dir": split_dir, "split_seed": split_seed, "cache_dir": data_cache_dir}
        data, report = _Data(root, options), MigrationReport(path)
        moved, left = [], []
        for row in db.execute(f"SELECT * FROM {source_table}").fetchall():
            run = json.loads(row[7])
            why = _check(run, data, recipes.get(run["recipe_hash"]))
            if why is None:
                splits = data.splits(run["dataset"])
                run["info"].update(data_id=splits.data_id, split_id=splits.split_id, migrated_from_schema=1)
                run["info"].setdefault("eval_epochs", RunKey.of_run(run).eval_epochs)
                moved.append((RunKey.of_run(run), run, row))
            else:
                report.reasons[why] += 1
                left.append(row)
        _rewrite(db, source_table, moved, left)
        report.migrated, report.left = len(moved), len(left)
    except sqlite3.DatabaseError as error:
        raise CacheError(f"{path} cannot be migrated: {error}") from error
    finally:
        db.close()
    log.info("%s", report)
    return report


def _rewrite(db: sqlite3.Connection, source_table: str, moved: list, left: list) -> None:
    """Write the migrated runs and the rest in one transaction (all or nothing)."""
    with db:
        db.execute("BEGIN IMMEDIATE")
        if source_table == "runs":
            db.execute("ALTER TABLE runs RENAME TO schema1_runs")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(_LEGACY)
            db.execute("INSERT INTO legacy_runs SELECT * FROM schema1_runs")
            db.execute("DROP TABLE schema1_runs")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('application', ?)", (APPLICATION,))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        for key, run, row in moved:
            setup = json.dumps(key.setup(), sort_keys=True)
            db.execute("INSERT OR IGNORE INTO setups VALUES (?, ?)", (key.setup_hash(), setup))
            db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row[0], row[1], row[2], key.setup_hash(), row[3], row[4], row[6], json.dumps(run), row[8]),
            )
            db.execute("DELETE FROM legacy_runs WHERE representative=? AND dataset=? AND recipe_hash=? AND seed=?",
                       (row[0], row[1], row[2], row[3]))  # fmt: skip
        if not db.execute("SELECT COUNT(*) FROM legacy_runs").fetchone()[0]:
            db.execute("DROP TABLE legacy_runs")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('migrated_from', '1')")
