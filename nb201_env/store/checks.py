"""What a manifest must satisfy beyond its JSON shape: a seal over its own content, and consistent entries.

An edited manifest must never make a store answer from the wrong bytes. The seal (``manifest_sha256``, the
first member: the SHA-256 of the rest of the file as the writer wrote it) catches every edit made by hand, such as a
changed schedule, epochs, seed labels or seed kind, or two records' files swapped. The structural checks
hold even for a manifest whose seal was recomputed: record and stat keys are unique, every file is a plain
name inside the store named after its checksum, and each array's declared shape and dtype are those of its
record's seeds and epochs (the ``.npy`` header is checked against them when the file is read). The files'
checksums are computed here too, for the writer that records them and the reader that checks them.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Final

from nb201_env.space import NUM_ARCHS
from nb201_env.store.errors import ManifestError
from nb201_env.store.schema import ArrayFile, RecordInfo, StatInfo

SEAL: Final = "manifest_sha256"
_PREFIX: Final = '{\n "' + SEAL + '": "'
MAX_MANIFEST_BYTES: Final = 64 << 20
"""Largest manifest read (a store of every official record has a manifest of about 100 KB)."""

_FILE_NAME: Final = re.compile(r"[0-9a-f]{20}\.npy")
_SHA256: Final = re.compile(r"[0-9a-f]{64}")
_ITEMSIZE: Final = {"<f8": 8, "|b1": 1}
_CHUNK: Final = 1 << 22


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, read in chunks: what a file entry records and the reader checks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sealed_text(doc: dict[str, Any]) -> str:
    """Return the manifest file's text: ``doc`` (without a seal) as indented JSON, sealed on its first line.

    The seal is the SHA-256 of exactly the text that follows it (with the opening brace): checking it costs
    one hash of the file, and any edit of the file, even of white space, breaks it.
    """
    body = json.dumps({k: v for k, v in doc.items() if k != SEAL}, indent=1)
    return _PREFIX + hashlib.sha256(body.encode("ascii")).hexdigest() + '",' + body[1:]


def check_seal(text: str, where: str) -> None:
    """Raise :class:`ManifestError` unless the manifest text carries a seal matching its content."""
    seal = text[len(_PREFIX) : len(_PREFIX) + 64]
    rest = text[len(_PREFIX) + 64 :]
    if not text.startswith(_PREFIX) or not _SHA256.fullmatch(seal) or not rest.startswith('",'):
        raise ManifestError(
            f"{where} has no {SEAL!r} seal on its first line: it has been edited, or was not written by nb201_env"
        )
    actual = hashlib.sha256(("{" + rest[2:]).encode("utf-8")).hexdigest()
    if seal != actual:
        raise ManifestError(
            f"{where} has been edited after it was written: its content hashes to {actual[:12]}..., its seal says "
            f"{seal[:12]}.... An edited manifest can point records at the wrong arrays, so the store is refused; "
            "convert the source again (or restore the original manifest)"
        )


def check_array(entry: ArrayFile, shape: tuple[int, ...], dtype: str, what: str) -> None:
    """Check one file entry: a plain name derived from its checksum, and the shape and dtype of ``what``."""
    if not _FILE_NAME.fullmatch(entry.file) or not _SHA256.fullmatch(entry.sha256):
        raise ManifestError(
            f"{what} names file {entry.file!r} with sha256 {entry.sha256!r:.20}; files must be plain names "
            "inside the store directory of the form <first 20 hex digits of the sha256>.npy"
        )
    if entry.file != f"{entry.sha256[:20]}.npy":
        raise ManifestError(f"{what} names file {entry.file} but its checksum is {entry.sha256[:20]}...")
    if entry.shape != shape or entry.dtype != dtype:
        raise ManifestError(f"{what} declares an array of {entry.dtype}{entry.shape}; its axes need {dtype}{shape}")
    data = _ITEMSIZE[dtype]
    for n in shape:
        data *= n
    if entry.nbytes < data:
        raise ManifestError(f"{what} says its file has {entry.nbytes} bytes, less than its {data} of data")


def check_record(info: RecordInfo) -> None:
    """Check a record's epochs and that its arrays have the shape its seeds and epochs give."""
    name = info.key.name
    epochs = info.epochs
    if epochs is not None and (
        not epochs or list(epochs) != sorted(set(epochs)) or epochs[0] < 0 or epochs[-1] >= info.key.schedule
    ):
        raise ManifestError(
            f"record {name} lists epochs {list(epochs)}; they must be distinct, ascending and within "
            f"0..{info.key.schedule - 1}"
        )
    shape = (NUM_ARCHS, info.seeds.size, 1 if epochs is None else len(epochs))
    check_array(info.array, shape, "<f8", f"record {name}")
    if info.estimate_mask is not None:
        check_array(info.estimate_mask, (NUM_ARCHS,), "|b1", f"the estimate mask of {name}")


def check_stat(info: StatInfo) -> None:
    """Check that a stat's array holds one float64 per architecture."""
    check_array(info.array, (NUM_ARCHS,), "<f8", f"stat {info.key.name}")
