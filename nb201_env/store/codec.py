"""Convert a :class:`~nb201_env.store.schema.Manifest` to and from its JSON form, validating as it reads."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from nb201_env.space import NUM_ARCHS, all_ops
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


class StoreError(Exception):
    """A store cannot be opened or written as asked."""


class CorruptStoreError(StoreError):
    """A store's files do not match its manifest (truncated, altered or missing)."""


class MissingRecordError(StoreError, LookupError):
    """The store holds no record (or stat) under the requested key."""


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


def _array_from_json(d: dict[str, Any]) -> ArrayFile:
    return ArrayFile(
        str(d["file"]), str(d["sha256"]), int(d["nbytes"]), tuple(int(x) for x in d["shape"]), str(d["dtype"])
    )


def manifest_to_json(m: Manifest) -> str:
    """Serialize a manifest to pretty, stable JSON."""
    doc = {
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
    return json.dumps(doc, indent=1)


def manifest_from_json(text: str, where: str) -> Manifest:
    """Parse and validate a manifest; ``where`` names the file in error messages."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptStoreError(f"{where} is not valid JSON ({exc}); the store is damaged: rebuild it") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise StoreError(f"{where} is not an nb201_env store manifest (no 'format': {FORMAT_NAME!r})")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise StoreError(
            f"{where} has store format version {version!r}; this nb201_env reads version {FORMAT_VERSION}. "
            "Convert the source files again with this version (`nb201 convert ...`)."
        )
    try:
        if doc["num_archs"] != NUM_ARCHS or doc["arch_order_sha256"] != ARCH_ORDER_SHA256:
            raise StoreError(f"{where}: the store's architecture order is not the official NB201 index order")
        sources = {k: Source(**v) for k, v in doc["sources"].items()}
        records = {}
        for r in doc["records"]:
            key = RecordKey(r["dataset"], r["split"], r["metric"], int(r["schedule"]))
            mask = r.get("estimate_mask")
            records[key] = RecordInfo(
                key=key,
                seeds=SeedAxis(r["seed_axis"]["kind"], tuple(int(s) for s in r["seed_axis"]["seeds"])),
                epochs=None if r["epochs"] is None else tuple(int(e) for e in r["epochs"]),
                source=str(r["source"]),
                array=_array_from_json(r["array"]),
                estimate_mask=None if mask is None else _array_from_json(mask),
            )
        stats = {}
        for s in doc["stats"]:
            skey = StatKey(s["stat"], s["scope"])
            stats[skey] = StatInfo(skey, str(s["source"]), str(s["unit"]), _array_from_json(s["array"]))
        for info in [*records.values(), *stats.values()]:
            if info.source not in sources:
                raise StoreError(f"{where}: {info.key.name} names unknown source {info.source!r}")
        return Manifest(
            name=str(doc["name"]),
            description=str(doc["description"]),
            created_utc=str(doc["created_utc"]),
            created_by=str(doc["created_by"]),
            num_archs=int(doc["num_archs"]),
            arch_order_sha256=str(doc["arch_order_sha256"]),
            sources=sources,
            records=records,
            stats=stats,
            extra=dict(doc.get("extra", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptStoreError(f"{where} is malformed: {type(exc).__name__}: {exc}") from None
