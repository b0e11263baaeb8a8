"""Write pickles the way the official (numpy 1.x era) writers did, including one huge dict streamed in pieces.

Two differences from a plain ``pickle.dumps`` under numpy 2 matter for faithful fixtures: numpy scalars must
name ``numpy.core.multiarray.scalar`` (numpy 2 writes ``numpy._core``), and the single-file formats are one
pickle of a dict holding every architecture, which must be written without holding all of them at once.
:func:`write_arch_pickle` does that by splicing pieces produced by *one* ``Pickler`` (so memo indices and
``BINGET`` back-references run across pieces exactly as in one big dump) between hand-written container
opcodes. The pickler's memo still references every object it wrote, so memory grows with the number of
archs (~2 MB each): fine for tests and benchmarks of a few thousand archs, not for a full-size single file.
"""

from __future__ import annotations

import io
import pickle
import struct
from collections.abc import Iterable
from typing import IO, Any

_FRAME = 0x95
_P2_OLD, _P2_NEW = b"cnumpy._core.multiarray\nscalar\n", b"cnumpy.core.multiarray\nscalar\n"
_P4_OLD, _P4_NEW = b"\x8c\x16numpy._core.multiarray\x94", b"\x8c\x15numpy.core.multiarray\x94"
_BATCH = 1000  # the pickler's SETITEMS batch size


def _frames(data: bytearray) -> list[int]:
    """Return the offsets of the FRAME headers of a protocol-4 pickle (frames are contiguous from byte 2)."""
    heads, pos = [], 2
    while pos < len(data) and data[pos] == _FRAME:
        heads.append(pos)
        pos += 9 + struct.unpack_from("<Q", data, pos + 1)[0]
    return heads


def _shrink_frame(data: bytearray, at: int) -> None:
    """Decrease by one the length of the frame that contains byte ``at`` (if any)."""
    for head in reversed(_frames(data)):
        if head < at:
            length = struct.unpack_from("<Q", data, head + 1)[0]
            if at < head + 9 + length:
                struct.pack_into("<Q", data, head + 1, length - 1)
            return


def _patch_numpy(data: bytes, protocol: int) -> bytearray:
    out = bytearray(data)
    if protocol < 4:
        at = out.find(_P2_OLD)
        if at >= 0:
            out[at : at + len(_P2_OLD)] = _P2_NEW
    else:
        at = out.find(_P4_OLD)
        if at >= 0:
            _shrink_frame(out, at)
            out[at : at + len(_P4_OLD)] = _P4_NEW
    return out


def dumps_official(obj: Any, protocol: int) -> bytes:
    """Pickle ``obj`` as numpy 1.x would have (``numpy.core.multiarray.scalar``)."""
    return bytes(_patch_numpy(pickle.dumps(obj, protocol), protocol))


def _strip(data: bytearray, protocol: int) -> bytes:
    """Drop PROTO and STOP from a pickle so that its opcodes can be spliced into another one."""
    if data[-1:] != b".":
        raise ValueError("not a complete pickle")
    if protocol >= 4:
        heads = _frames(data)
        if heads:
            last = heads[-1]
            length = struct.unpack_from("<Q", data, last + 1)[0]
            if last + 9 + length == len(data):  # STOP is inside the last frame
                if length == 1:
                    del data[last : last + 9]
                else:
                    struct.pack_into("<Q", data, last + 1, length - 1)
    return bytes(data[2:-1])


def write_arch_pickle(
    fh: IO[bytes], header: dict[str, Any], entries: Iterable[tuple[int, Any]], trailer: dict[str, Any], *, protocol: int
) -> None:
    """Write ``{**header, 'arch2infos': dict(entries), **trailer}`` as one pickle, streaming the entries."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol)

    def piece(obj: Any) -> bytes:
        buf.seek(0)
        buf.truncate()
        pickler.dump(obj)
        return _strip(_patch_numpy(buf.getvalue(), protocol), protocol)

    fh.write(bytes([0x80, protocol]) + b"}(")  # PROTO, EMPTY_DICT, MARK
    for key, value in header.items():
        fh.write(piece(key) + piece(value))
    fh.write(piece("arch2infos") + b"}")
    count = 0
    for index, value in entries:
        if count % _BATCH == 0:
            fh.write(b"(")
        fh.write(piece(index) + piece(value))
        count += 1
        if count % _BATCH == 0:
            fh.write(b"u")
    if count % _BATCH:
        fh.write(b"u")
    for key, value in trailer.items():
        fh.write(piece(key) + piece(value))
    fh.write(b"u.")
