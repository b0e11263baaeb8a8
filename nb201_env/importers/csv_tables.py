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

from nb201_env.space import NUM_ARCHS, index_of, official_strings
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
    where = dict(where or {})
    groups = read_table(path, columns, tuple(where))
    empty = {c: np.full(NUM_ARCHS, np.nan) for c in columns}
    return groups.get(tuple(where.values()), empty)


def read_table(
    path: str | os.PathLike[str], columns: Sequence[str], by: Sequence[str] = ()
) -> dict[tuple[str, ...], dict[str, np.ndarray]]:
    """Read a table once: per value of the ``by`` columns (long-format tables), one float64 ``(15625,)`` array
    per requested column (NaN where absent). Without ``by`` the one group's key is ``()``.

    Every row's index and string are checked against the official order; an architecture twice in a group
    is refused.
    """
    path = Path(path)
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        absent = [c for c in [*columns, *by] if c not in header]
        if absent:
            raise CsvFormatError(f"{path} has no column {absent[0]!r}; its columns are: {', '.join(header)}")
        if "arch_index" not in header and "arch_str" not in header:
            raise CsvFormatError(
                f"{path} needs an 'arch_index' or 'arch_str' column; its columns are: {', '.join(header)}"
            )
        at_index = header.index("arch_index") if "arch_index" in header else None
        at_str = header.index("arch_str") if "arch_str" in header else None
        wanted = [header.index(c) for c in columns]
        keys = [header.index(c) for c in by]
        groups: dict[tuple[str, ...], tuple[dict[str, np.ndarray], np.ndarray]] = {}
        strings = official_strings()
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise CsvFormatError(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
            group = tuple(row[k] for k in keys)
            found = groups.get(group)
            if found is None:
                found = groups[group] = ({c: np.full(NUM_ARCHS, np.nan) for c in columns}, np.zeros(NUM_ARCHS, bool))
            out, seen = found
            index = _row_index(row, at_index, at_str, strings, path, line)
            if seen[index]:
                raise CsvFormatError(f"{path}:{line}: arch {index} appears twice (in group {dict(zip(by, group))})")
            seen[index] = True
            for c, j in zip(columns, wanted):
                text = row[j]
                try:
                    out[c][index] = float(text) if text not in MISSING_TOKENS else math.nan
                except ValueError:
                    raise CsvFormatError(f"{path}:{line}: column {c!r} holds {text!r}, not a number") from None
    return {group: out for group, (out, _) in groups.items()}


def _row_index(
    row: list[str], at_index: int | None, at_str: int | None, strings: list[str], path: Path, line: int
) -> int:
    text = row[at_str] if at_str is not None else ""
    if at_index is not None and row[at_index] not in MISSING_TOKENS:
        try:
            index = int(row[at_index])
        except ValueError:
            raise CsvFormatError(f"{path}:{line}: arch_index {row[at_index]!r} is not an integer") from None
        if not 0 <= index < NUM_ARCHS:
            raise CsvFormatError(f"{path}:{line}: arch_index {index} is out of range: valid indices are 0..15624")
        if text and text != strings[index]:
            raise CsvFormatError(
                f"{path}:{line}: arch_index {index} is {strings[index]} in the official order, "
                f"but the row says {text}: the table does not use the official index order"
            )
        return index
    try:
        return index_of(text)
    except (ValueError, TypeError) as exc:
        raise CsvFormatError(f"{path}:{line}: {exc}") from None


@dataclass(frozen=True)
class CsvColumn:
    """Where one CSV column goes: a record at one epoch (``None`` = same for every epoch) or a stat."""

    column: str
    target: RecordKey | StatKey
    epoch: int | None = None
    scale: float = 1.0
    where: tuple[tuple[str, str], ...] = field(default=())
    seeds: SeedAxis | None = None  # the record's seed axis, where it differs from import_csv's


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
    tables = _read_once(path, columns)
    for target, specs in by_target.items():
        arrays = [tables[s] * s.scale for s in specs]
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
        array = writer.add_record(target, specs[0].seeds or seeds, held, source)
        for position, i in enumerate(order):
            array[:, :, position] = arrays[i][:, None]


def _read_once(path: str | os.PathLike[str], columns: Sequence[CsvColumn]) -> dict[CsvColumn, np.ndarray]:
    """Return each column spec's array, reading the table once per set of ``where`` columns (usually once)."""
    by_keys: dict[tuple[str, ...], list[CsvColumn]] = {}
    for spec in columns:
        by_keys.setdefault(tuple(k for k, _ in spec.where), []).append(spec)
    out: dict[CsvColumn, np.ndarray] = {}
    for keys, specs in by_keys.items():
        groups = read_table(path, list(dict.fromkeys(s.column for s in specs)), keys)
        for spec in specs:
            group = groups.get(tuple(v for _, v in spec.where))
            out[spec] = group[spec.column] if group is not None else np.full(NUM_ARCHS, np.nan)
    return out
