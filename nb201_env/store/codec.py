"""Convert a :class:`~nb201_env.store.schema.Manifest` to and from its JSON form, validating as it reads.

The JSON carries a seal over its own content (see :mod:`~nb201_env.store.checks`); reading checks the seal,
then every field's type and the consistency of every entry, and names the manifest in every error.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from nb201_env.space import NUM_ARCHS, all_ops
from nb201_env.store.checks import (
    MAX_MANIFEST_BYTES,
    check_record,
    check_seal,
    check_stat,
    sealed_text,
)
from nb201_env.store.errors import CorruptStoreError, ManifestError, OldFormatError, StoreError
from nb201_env.store.schema import (
    FORMAT_NAME,
    FORMAT_VERSION,
    ArrayFile,
    Manifest,
    RecordInfo,
    RecordKey,
    SeedAxis,
    Source,
    StatInfo,
    StatKey,
)

ARCH_ORDER_SHA256 = "83abc799e45cf34e9d2163654668ab998b9a54d01c39e72ca1f71f2cdf356d84"
"""SHA-256 of the 15,625 official arch strings in index order, one per line (checked by the tests)."""


@cache
def arch_order_sha256() -> str:
    """Compute the SHA-256 of the official arch strings in index order, one per line."""
    from nb201_env.space import _format_arch_str

    lines = "\n".join(_format_arch_str(tuple(int(o) for o in row)) for row in all_ops())
    return hashlib.sha256(lines.encode()).hexdigest()


def _array_to_json(a: ArrayFile) -> dict[str, Any]:
    return {"file": a.file, "sha256": a.sha256, "nbytes": a.nbytes, "shape": list(a.shape), "dtype": a.dtype}


def _field(d: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    """Return ``d[key]`` if it has JSON type ``kind`` (ints are never bools), else raise naming the field."""
    if not isinstance(d, dict):
        raise ManifestError(f"expected an object holding {key!r}, got {type(d).__name__}")
    value = d[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int,))):
        raise ManifestError(f"field {key!r} is {value!r:.60}, which is not of type {getattr(kind, '__name__', kind)}")
    return value


def _ints(values: Any, key: str) -> tuple[int, ...]:
    if not isinstance(values, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise ManifestError(f"field {key!r} is {values!r:.60}, which is not a list of ints")
    return tuple(values)


def _array_from_json(d: Any) -> ArrayFile:
    return ArrayFile(
        _field(d, "file", str),
        _field(d, "sha256", str),
        _field(d, "nbytes", int),
        _ints(_field(d, "shape", list), "shape"),
        _field(d, "dtype", str),
    )


def manifest_document(m: Manifest) -> dict[str, Any]:
    """Return the JSON document of a manifest (without its seal)."""
    doc: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "name": m.name,
        "description": m.description,
        "created_utc": m.created_utc,
        "created_by": m.created_by,
        "num_archs": m.num_archs,
        "arch_order_sha256": m.arch_order_sha256,
        "sources": {k: vars(v) for k, v in sorted(m.sources.items())},
        "records": [
            {
                "dataset": r.key.dataset,
                "split": r.key.split,
                "metric": r.key.metric,
                "schedule": r.key.schedule,
                "seed_axis": {"kind": r.seeds.kind, "seeds": list(r.seeds.seeds)},
                "epochs": None if r.epochs is None else list(r.epochs),
                "source": r.source,
                "unit": r.unit,
                "array": _array_to_json(r.array),
                "estimate_mask": None if r.estimate_mask is None else _array_to_json(r.estimate_mask),
            }
            for _, r in sorted(m.records.items())
        ],
        "stats": [
            {
                "stat": s.key.stat,
                "scope": s.key.scope,
                "source": s.source,
                "unit": s.unit,
                "array": _array_to_json(s.array),
            }
            for _, s in sorted(m.stats.items())
        ],
        "extra": m.extra,
    }
    return doc


def manifest_to_json(m: Manifest) -> str:
    """Serialize a manifest to pretty, stable JSON, sealed with the SHA-256 of its text."""
    return sealed_text(manifest_document(m))


def read_manifest_text(path: str | os.PathLike[str]) -> str:
    """Return the text of a manifest file, refusing huge files and bytes that are not UTF-8."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise CorruptStoreError(f"{path} is {size:,} bytes; a store manifest is at most {MAX_MANIFEST_BYTES:,}")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptStoreError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); the store is damaged"
        ) from None


def parse_manifest_json(text: str, where: str) -> dict[str, Any]:
    """Parse a manifest's JSON into a dict, with clear errors for garbage and for absurdly deep nesting."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptStoreError(f"{where} is not valid JSON ({exc}); the store is damaged: rebuild it") from None
    except RecursionError:
        raise CorruptStoreError(f"{where} nests JSON too deeply to be a store manifest; the store is damaged") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise StoreError(f"{where} is not an nb201_env store manifest (no 'format': {FORMAT_NAME!r})")
    return doc


def manifest_from_json(text: str, where: str, *, upgrade: bool = False) -> Manifest:
    """Parse, unseal and validate a manifest; ``where`` names the file in error messages.

    ``upgrade=True`` also reads the unsealed format 1 of older versions and skips the seal (to re-seal the
    manifest after checking every file); otherwise only the current, sealed format is accepted.
    """
    doc = parse_manifest_json(text, where)
    version = doc.get("format_version")
    if version == 1 and not upgrade:
        raise OldFormatError(
            f"{where} was written by an older nb201_env (store format 1, without a manifest seal). Check and "
            f"re-seal it with `nb201 upgrade-store --store {Path(where).parent}` (every file is checksummed first), "
            "or convert the source files again"
        )
    if version not in (FORMAT_VERSION, 1) or (version == 1 and not upgrade):
        raise StoreError(
            f"{where} has store format version {version!r}; this nb201_env reads version {FORMAT_VERSION}. "
            "Convert the source files again with this version (`nb201 convert ...`)."
        )
    if version == FORMAT_VERSION and not upgrade:
        try:
            check_seal(text, where)
        except ManifestError as exc:
            raise CorruptStoreError(str(exc)) from None
    try:
        return _manifest(doc, where)
    except (KeyError, TypeError, ValueError, RecursionError) as exc:  # ManifestError is a ValueError
        raise CorruptStoreError(f"{where} is malformed: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc) if isinstance(exc, ManifestError) else f"{type(exc).__name__}: {exc}"


def _manifest(doc: dict[str, Any], where: str) -> Manifest:
    if doc["num_archs"] != NUM_ARCHS or doc["arch_order_sha256"] != ARCH_ORDER_SHA256:
        raise StoreError(f"{where}: the store's architecture order is not the official NB201 index order")
    sources = {k: Source(**v) for k, v in _field(doc, "sources", dict).items()}
    records: dict[RecordKey, RecordInfo] = {}
    for r in _field(doc, "records", list):
        key = RecordKey(_field(r, "dataset", str), _field(r, "split", str), _field(r, "metric", str), r["schedule"])
        if key in records:
            raise ManifestError(f"record {key.name} appears twice; each record must be listed once")
        axis = _field(r, "seed_axis", dict)
        epochs = r["epochs"]
        mask = r.get("estimate_mask")
        records[key] = RecordInfo(
            key=key,
            seeds=SeedAxis(_field(axis, "kind", str), _ints(axis["seeds"], "seeds")),
            epochs=None if epochs is None else _ints(epochs, "epochs"),
            source=_field(r, "source", str),
            array=_array_from_json(r["array"]),
            estimate_mask=None if mask is None else _array_from_json(mask),
        )
        check_record(records[key])
    stats: dict[StatKey, StatInfo] = {}
    for s in _field(doc, "stats", list):
        skey = StatKey(_field(s, "stat", str), _field(s, "scope", str))
        if skey in stats:
            raise ManifestError(f"stat {skey.name} appears twice; each stat must be listed once")
        stats[skey] = StatInfo(skey, _field(s, "source", str), _field(s, "unit", str), _array_from_json(s["array"]))
        check_stat(stats[skey])
    for info in [*records.values(), *stats.values()]:
        if info.source not in sources:
            raise StoreError(f"{where}: {info.key.name} names unknown source {info.source!r}")
    return Manifest(
        name=_field(doc, "name", str),
        description=_field(doc, "description", str),
        created_utc=_field(doc, "created_utc", str),
        created_by=_field(doc, "created_by", str),
        num_archs=NUM_ARCHS,
        arch_order_sha256=ARCH_ORDER_SHA256,
        sources=sources,
        records=records,
        stats=stats,
        extra=dict(_field(doc, "extra", dict)) if "extra" in doc else {},
    )
