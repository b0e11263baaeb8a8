"""Read per-architecture CSV tables (keyed by official index and/or arch string) into store arrays.

Rows are streamed one at a time, so a table of any length costs only the output arrays. Every row's
index and string are checked against the official order; a table whose order differs is refused rather
than silently mis-assigned.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nb201_env.space import NUM_ARCHS, Arch, index_of
from nb201_env.store.errors import StoreError
from nb201_env.store.schema import RecordKey, SeedAxis, StatKey
from nb201_env.store.writer import StoreWriter

MISSING_TOKENS = frozenset({"", "nan", "NaN", "NA", "None", "null"})


class CsvFormatError(StoreError):
    """A CSV table cannot be read as a per-architecture table."""


def read_columns(
    path: str | os.PathLike[str], columns: Sequence[str], where: Mapping[str, str] | None = None
) -> dict[str, np.ndarray]:
    """Return one float64 ``(15625,)`` array per requested column (NaN where absent).

    The table needs an ``arch_index`` or ``arch_str`` column (both are cross-checked when present).
    ``where`` keeps only rows whose columns equal the given strings (for long-format tables).
    """
    path = Path(path)
    where = dict(where or {})
    out = {c: np.full(NUM_ARCHS, np.nan) for c in columns}
    seen = np.zeros(NUM_ARCHS, dtype=bool)
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        wanted = [*columns, *where]
        absent = [c for c in wanted if c not in header]
        if absent:
            raise CsvFormatError(f"{path} has no column {absent[0]!r}; its columns are: {', '.join(header)}")
        if "arch_index" not in header and "arch_str" not in header:
            raise CsvFormatError(
                f"{path} needs an 'arch_index' or 'arch_str' column; its columns are: {', '.join(header)}"
            )
        for line, row in enumerate(reader, start=2):
            if any(row[k] != v for k, v in where.items()):
                continue
            index = _row_index(row, path, line)
            if seen[index]:
                raise CsvFormatError(
                    f"{path}:{line}: arch {index} appears twice (after filtering by {where or 'nothing'})"
                )
            seen[index] = True
            for c in columns:
                out[c][index] = _parse_float(row[c], path, line, c)
    return out


def _row_index(row: dict[str, str], path: Path, line: int) -> int:
    try:
        if "arch_index" in row and row["arch_index"] not in MISSING_TOKENS:
            index = index_of(int(row["arch_index"]))
            text = row.get("arch_str")
            if text and text != Arch(index).to_str():
                raise CsvFormatError(
                    f"{path}:{line}: arch_index {index} is {Arch(index).to_str()} in the official order, "
                    f"but the row says {text}: the table does not use the official index order"
                )
            return index
        return index_of(row["arch_str"])
    except (ValueError, TypeError) as exc:
        raise CsvFormatError(f"{path}:{line}: {exc}") from None


def _parse_float(text: str, path: Path, line: int, column: str) -> float:
    if text in MISSING_TOKENS:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise CsvFormatError(f"{path}:{line}: column {column!r} holds {text!r}, not a number") from None


@dataclass(frozen=True)
class CsvColumn:
    """Where one CSV column goes: a record at one epoch (``None`` = same for every epoch) or a stat."""

    column: str
    target: RecordKey | StatKey
    epoch: int | None = None
    scale: float = 1.0
    where: tuple[tuple[str, str], ...] = field(default=())


def import_csv(
    writer: StoreWriter,
    path: str | os.PathLike[str],
    columns: Sequence[CsvColumn],
    source: str,
    seeds: SeedAxis,
    units: Mapping[str, str] | None = None,
) -> None:
    """Add the records and stats named by ``columns`` to ``writer`` from one CSV table."""
    by_target: dict[RecordKey | StatKey, list[CsvColumn]] = {}
    for spec in columns:
        by_target.setdefault(spec.target, []).append(spec)
    for target, specs in by_target.items():
        arrays = [read_columns(path, [s.column], dict(s.where))[s.column] * s.scale for s in specs]
        if isinstance(target, StatKey):
            if len(specs) != 1:
                raise ValueError(f"stat {target.name} is fed by {len(specs)} columns; give it exactly one")
            writer.add_stat(target, source, (units or {}).get(target.stat, ""))[:] = arrays[0]
            continue
        epochs = [s.epoch for s in specs]
        if None in epochs and len(specs) > 1:
            raise ValueError(f"record {target.name}: an epoch-constant column cannot be mixed with per-epoch columns")
        if len(set(epochs)) != len(epochs):
            raise ValueError(f"record {target.name} gets two columns for one epoch: {[s.column for s in specs]}")
        order = sorted(range(len(specs)), key=lambda i: epochs[i] if epochs[i] is not None else -1)
        held = None if epochs[0] is None else [epochs[i] for i in order]
        array = writer.add_record(target, seeds, held, source)
        for position, i in enumerate(order):
            array[:, :, position] = arrays[i][:, None]
