"""The official benchmark files we know how to fetch: where the authors publish them and how to check them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from nb201_env.download.google_drive import drive_urls

Kind = Literal["nats", "nb201"]


@dataclass(frozen=True)
class KnownFile:
    """One official benchmark file: where it is published, what it must look like, which converter reads it."""

    # Checks that are None are unknown and skipped; the file is then verified by the remaining ones and by the
    # conversion itself (bz2 CRCs and the pickle structure catch truncation and corruption). reported_* values
    # come from third parties, not the authors: a mismatch only logs a warning.

    name: str
    filename: str
    kind: Kind  # the importer, as in `nb201 convert <kind> <file>`
    urls: tuple[str, ...]  # tried in order
    page: str  # the human-facing link the authors publish (for manual downloads)
    listed_at: str  # where that link is published
    size: int | None = None
    sha256: str | None = None
    md5_suffix: str | None = None  # the official file names end in the last hex digits of the file's MD5
    reported_size: int | None = None
    reported_sha256: str | None = None
    description: str = ""


_NATS_README = "https://github.com/D-X-Y/NATS-Bench#preparation-and-download"
_NB201_README = "https://github.com/D-X-Y/NAS-Bench-201#preparation-and-download"

KNOWN_FILES: Mapping[str, KnownFile] = {
    f.name: f
    for f in (
        # Drive ID from the NATS-Bench README table, column "archive (tss)", row 2020.08.31:
        # https://drive.google.com/file/d/17_saCsj_krKjlCBLOJEpNtzPXArMCqxU/view (also used by many scripts).
        # Size from docs/official-formats.md (measured on the real tar). The "3ffb9" in the name is the MD5 of the
        # single-file pickle, not of this tar, so there is no official checksum. One third party (a public
        # ExpGym download script) pins the same size and the SHA-256 below: recorded, not enforced.
        KnownFile(
            name="nats-tss-simple",
            filename="NATS-tss-v1_0-3ffb9-simple.tar",
            kind="nats",
            urls=drive_urls("17_saCsj_krKjlCBLOJEpNtzPXArMCqxU"),
            page="https://drive.google.com/file/d/17_saCsj_krKjlCBLOJEpNtzPXArMCqxU/view",
            listed_at=_NATS_README,
            size=1_145_989_120,
            reported_sha256="580fd8f3425fed9f495640b0f12ccb7744f89dec7aff263bd75aed37ab0b8bb6",
            description="NATS-Bench tss 'simple' archive: one bz2 pickle per arch (fast_mode layout), 1.1 GB",
        ),
        # Drive ID from the same README table, column "benchmark file (tss)":
        # https://drive.google.com/file/d/1vzyK0UVH2D3fTpa1_dSWnp1gvGpAxRul/view. "3ffb9" = last 5 hex digits of
        # the file's MD5: AutoDL-Projects exps/NATS-Bench/tss-collect.py names it with get_md5_file(), which keeps
        # digest[-5:]. Size unknown (the docs say ~1 GB).
        KnownFile(
            name="nats-tss",
            filename="NATS-tss-v1_0-3ffb9.pickle.pbz2",
            kind="nats",
            urls=drive_urls("1vzyK0UVH2D3fTpa1_dSWnp1gvGpAxRul"),
            page="https://drive.google.com/file/d/1vzyK0UVH2D3fTpa1_dSWnp1gvGpAxRul/view",
            listed_at=_NATS_README,
            md5_suffix="3ffb9",
            description="NATS-Bench tss single benchmark file (fast_mode=False layout), ~1 GB",
        ),
        # Drive ID from the NAS-Bench-201 README ("[recommended] The latest benchmark file ... v1_1-096897.pth"):
        # https://drive.google.com/file/d/16Y0UwGisiouVRxW-W5hEtbxmcHw_0hF_/view. The README says "096897 is the
        # last six digits for this file" (its MD5). The byte size was reported by a third party together with
        # the full MD5 55e8...6b096897, whose suffix matches: recorded as reported, not enforced.
        KnownFile(
            name="nb201-v1_1",
            filename="NAS-Bench-201-v1_1-096897.pth",
            kind="nb201",
            urls=drive_urls("16Y0UwGisiouVRxW-W5hEtbxmcHw_0hF_"),
            page="https://drive.google.com/file/d/16Y0UwGisiouVRxW-W5hEtbxmcHw_0hF_/view",
            listed_at=_NB201_README,
            md5_suffix="096897",
            reported_size=5_003_180_601,
            description="NAS-Bench-201 v1.1 benchmark file (legacy torch .pth), 4.7 GB",
        ),
        # Drive ID from the NAS-Bench-201 README ("[deprecated] The old benchmark file", 2020.02.25 entry):
        # https://drive.google.com/file/d/1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs/view; "e61699" as above.
        KnownFile(
            name="nb201-v1_0",
            filename="NAS-Bench-201-v1_0-e61699.pth",
            kind="nb201",
            urls=drive_urls("1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs"),
            page="https://drive.google.com/file/d/1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs/view",
            listed_at=_NB201_README,
            md5_suffix="e61699",
            description="NAS-Bench-201 v1.0 benchmark file (deprecated by the authors; fewer hp-12 runs), 2.2 GB",
        ),
    )
}


def known_file(name: str) -> KnownFile:
    """Return the registry entry called ``name``, or raise a ``KeyError`` listing the valid names."""
    try:
        return KNOWN_FILES[name]
    except KeyError:
        raise KeyError(f"unknown benchmark file {name!r}; known files are {', '.join(KNOWN_FILES)}") from None


def describe_known_files(entries: Iterable[KnownFile] | None = None) -> str:
    """Return a short multi-line listing of the known files (for a CLI ``--list``)."""
    lines = []
    for f in entries if entries is not None else KNOWN_FILES.values():
        size = f"{f.size / 1e9:.2f} GB" if f.size else "size unknown"
        lines.append(f"{f.name:<16} {f.filename:<34} {size:<13} {f.description}")
    return "\n".join(lines)
