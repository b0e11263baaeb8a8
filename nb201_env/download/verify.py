"""Check a download against its known size and checksums, hashing it as it arrives."""

from __future__ import annotations

import hashlib
import logging
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from nb201_env.download.errors import VerificationError
from nb201_env.download.google_drive import DRIVE_HOSTS
from nb201_env.download.known_files import KnownFile, known_file

log = logging.getLogger(__name__)

CHUNK = 1 << 20  # 1 MiB: few syscalls per GB, small enough for a smooth progress bar


class Digests:
    """SHA-256 and MD5 of the bytes seen so far (MD5 only because the official names embed its digits)."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    @classmethod
    def of_file(cls, path: Path) -> Digests:
        """Return the digests of a whole file."""
        digests = cls()
        digests.feed_file(path)
        return digests

    def update(self, data: bytes | memoryview) -> None:
        self.sha256.update(data)
        self.md5.update(data)
        self.size += len(data)

    def feed_file(self, path: Path) -> None:
        with open(path, "rb") as fh:
            while block := fh.read(CHUNK):
                self.update(block)


@dataclass(frozen=True)
class Target:
    """What one download must produce and how it is checked."""

    urls: tuple[str, ...]
    filename: str
    size: int | None
    sha256: str | None
    md5_suffix: str | None
    known: KnownFile | None

    def has_checks(self) -> bool:
        """Return True if any size or checksum is known to verify the file with."""
        return self.size is not None or self.sha256 is not None or self.md5_suffix is not None


def resolve_target(source: str | KnownFile, filename: str | None, size: int | None, sha256: str | None) -> Target:
    """Turn a registry name, a KnownFile or a URL into a :class:`Target`; explicit checks win."""
    if isinstance(source, str) and "://" not in source:
        source = known_file(source)
    if isinstance(source, KnownFile):
        return Target(
            source.urls,
            filename or source.filename,
            size if size is not None else source.size,
            (sha256 or source.sha256 or "").lower() or None,
            source.md5_suffix,
            source,
        )
    name = filename or Path(urllib.parse.unquote(urllib.parse.urlsplit(source).path)).name
    if not name or "." not in name or urllib.parse.urlsplit(source).hostname in DRIVE_HOSTS:
        raise ValueError(f"cannot tell the file name from {source}; pass filename=")
    return Target((source,), name, size, (sha256 or "").lower() or None, None, None)


def check(target: Target, digests: Digests, what: str) -> None:
    """Raise :class:`VerificationError` naming expected and actual values if a known check fails."""
    if target.size is not None and digests.size != target.size:
        raise VerificationError(f"size mismatch for {what}: expected {target.size:,} bytes, got {digests.size:,} bytes")
    actual = digests.sha256.hexdigest()
    if target.sha256 is not None and actual != target.sha256:
        raise VerificationError(f"SHA-256 mismatch for {what}: expected {target.sha256}, got {actual}")
    md5 = digests.md5.hexdigest()
    if target.md5_suffix is not None and not md5.endswith(target.md5_suffix):
        raise VerificationError(
            f"MD5 mismatch for {what}: the official name says the MD5 ends in {target.md5_suffix}, got {md5}"
        )
    known = target.known
    if known is not None and known.reported_sha256 and target.sha256 is None and actual != known.reported_sha256:
        log.warning("%s: SHA-256 %s differs from the third-party value %s", what, actual, known.reported_sha256)
    if known is not None and known.reported_size and target.size is None and digests.size != known.reported_size:
        log.warning("%s: %d bytes differ from the third-party value %d", what, digests.size, known.reported_size)
    log.info("%s verified: %d bytes, SHA-256 %s, MD5 %s", what, digests.size, actual, md5)


def verified_existing(path: Path, target: Target) -> bool:
    """Return True if an existing file passes every known check (hashing it only if the size allows)."""
    if not target.has_checks():
        log.info("%s already exists; no size or checksum known to check it against, keeping it", path)
        return True
    if target.size is not None and path.stat().st_size != target.size:
        return False
    if target.sha256 is None and target.md5_suffix is None:
        log.info("%s already exists with the expected size; not downloading it again", path)
        return True
    try:
        check(target, Digests.of_file(path), str(path))
    except VerificationError as exc:
        log.warning("%s", exc)
        return False
    log.info("%s already exists and is verified; not downloading it again", path)
    return True
