"""Walk a pickle's opcodes before the C unpickler runs, and refuse what could crash the interpreter.

The C unpickler is fast but builds whatever structure the bytes describe. A tuple nested a few hundred
thousand levels deep costs one byte per level, loads without complaint and then overflows the C stack the
moment it is hashed (as a dict key while loading, or later by our own checks): a segfault, not an
exception. Every nesting level needs one opcode that builds a container (memo references only repeat
objects that exist), so counting those opcodes bounds the depth. :func:`scan_pickle` does that at close to
C speed: one regular expression consumes each run of opcodes that build nothing, and Python only looks at
the few hundred container opcodes of an official file. It also refuses memo indices far beyond what the
data could fill (the C unpickler allocates the memo up to the largest index it is given) and out-of-band
buffers, and returns where the pickle ends.
"""

from __future__ import annotations

import pickle
import pickletools
import re
import struct
from typing import Final

from nb201_env.importers.errors import UnsafePickleError

MAX_CONTAINERS: Final = 4096
"""Containers (tuples, lists, dicts, sets, reduced objects) one pickle may build: an official NATS per-arch
file builds 296, its ``meta`` file 3, the NB201 preamble pickles fewer than 10. Bounds nesting depth too."""

MAX_MEMO_INDEX: Final = 1 << 20
"""Largest explicit memo index accepted (the official files memoize fewer than 16,000 objects per pickle)."""

_CONTAINERS: Final = frozenset(b"}]l)t\x85\x86\x87d\x8f\x91Ro\x81\x92i")
_REFUSED: Final = {  # persistent ids pass: the unpickler refuses them, naming the id
    0x97: "an out-of-band buffer (pickle protocol 5; the official files use protocols 2 and 4)",
    0x98: "an out-of-band buffer (pickle protocol 5; the official files use protocols 2 and 4)",
}
_LONG_LENGTH: Final = {  # opcode -> (length size, struct format) of arguments too long for the regular expression
    op.code.encode("latin1")[0]: {-3: (4, "<i"), -4: (4, "<I"), -5: (8, "<Q")}[op.arg.n]
    for op in pickletools.opcodes
    if op.arg is not None and op.arg.n in (-3, -4, -5)
}
_STOP: Final = ord(".")
_OPCODES: Final = frozenset(op.code.encode("latin1")[0] for op in pickletools.opcodes)
_TEXT: Final = frozenset(
    op.code.encode("latin1")[0]
    for op in pickletools.opcodes
    if op.arg is not None and op.arg.n == pickletools.UP_TO_NEWLINE
)


class TruncatedPickleError(pickle.UnpicklingError):
    """The data ends before the pickle's STOP opcode (read more, or the file is truncated)."""


def _argument(op: pickletools.OpcodeInfo) -> bytes | None:
    """Return the pattern of one opcode with its argument, or ``None`` when Python must handle it."""
    code = re.escape(op.code.encode("latin1"))
    arg = op.arg
    if arg is None:
        return code
    if arg.name == "stringnl_noescape_pair":  # GLOBAL and INST: module and name, one line each
        return code + rb"[^\n]*\n[^\n]*\n"
    if arg.n == pickletools.UP_TO_NEWLINE:
        return code + rb"[^\n]*\n"
    if arg.n == pickletools.TAKEN_FROM_ARGUMENT1:  # one length byte: one branch per length, picked by that byte
        return code + b"(?:" + b"|".join(re.escape(bytes([n])) + b".{%d}" % n for n in range(256)) + b")"
    if arg.n >= 0:
        return code + b".{%d}" % arg.n
    return None


def _run_pattern() -> re.Pattern[bytes]:
    """Match a run of opcodes that build no container, need no bound check and have short arguments."""
    frequent = {"BINFLOAT": 0, "MEMOIZE": 1, "SHORT_BINUNICODE": 2, "BININT1": 3, "BINGET": 4}  # the official mix
    branches = []
    for op in sorted(pickletools.opcodes, key=lambda o: frequent.get(o.name, len(frequent))):
        byte = op.code.encode("latin1")[0]
        if byte in _CONTAINERS or byte in _REFUSED or byte == _STOP or op.name in ("PUT", "LONG_BINPUT"):
            continue
        pattern = _argument(op)
        if pattern is not None:
            branches.append(pattern)
    top = MAX_MEMO_INDEX.to_bytes(4, "little")  # LONG_BINPUT below the bound stays in the fast run
    assert top[:2] == b"\x00\x00" and top[3] == 0
    branches.append(rb"r..[\x00-" + re.escape(bytes([top[2] - 1])) + rb"]\x00")
    return re.compile(b"(?:" + b"|".join(branches) + b")*", re.DOTALL)


_RUN: Final = _run_pattern()
_LONG_BINPUT: Final = ord("r")
_PUT: Final = ord("p")


def scan_pickle(data: bytes | memoryview, start: int = 0, max_containers: int = MAX_CONTAINERS) -> int:
    """Check the pickle starting at ``start``; return the offset just past its STOP opcode.

    Raises :class:`UnsafePickleError` for a pickle that builds more than ``max_containers`` containers, uses a
    memo index over :data:`MAX_MEMO_INDEX` or out-of-band data; :class:`TruncatedPickleError`
    when the data ends first; ``pickle.UnpicklingError`` for bytes that are not opcodes.
    """
    end = len(data)
    pos = start
    containers = 0
    match = _RUN.match
    while True:
        pos = match(data, pos).end()
        if pos >= end:
            raise TruncatedPickleError(f"the pickle is truncated: no STOP opcode in its {end - start} bytes")
        op = data[pos]
        if op in _CONTAINERS:
            containers += 1
            if containers > max_containers:
                raise UnsafePickleError(
                    f"the pickle builds more than {max_containers} containers (tuples, lists, dicts, objects) by byte "
                    f"{pos - start}; official benchmark files build a few hundred, and a deeper nesting could "
                    "overflow the interpreter's stack"
                )
            if op == 0x69:  # INST carries module and name lines
                pos = _skip_lines(data, pos + 1, 2, end)
            else:
                pos += 1
        elif op == _STOP:
            return pos + 1
        elif op in _LONG_LENGTH:
            size, fmt = _LONG_LENGTH[op]
            if pos + 1 + size > end:
                raise TruncatedPickleError(f"the pickle is truncated inside an opcode argument at byte {pos - start}")
            (length,) = struct.unpack_from(fmt, data, pos + 1)
            if length < 0 or pos + 1 + size + length > end:
                raise TruncatedPickleError(
                    f"an opcode at byte {pos - start} claims {length} bytes but the pickle has {end - pos} left"
                )
            pos += 1 + size + length
        elif op in (_LONG_BINPUT, _PUT):
            pos = _check_put(data, pos, start, end)
        elif op in _REFUSED:
            raise UnsafePickleError(f"the pickle holds {_REFUSED[op]} at byte {pos - start}")
        elif op in _OPCODES and (end - pos <= 257 or (op in _TEXT and b"\n" not in bytes(data[pos:]))):
            raise TruncatedPickleError(f"the pickle is truncated inside the opcode at byte {pos - start}")
        else:
            raise pickle.UnpicklingError(
                f"byte {pos - start} of the pickle is not a valid opcode or its argument is malformed "
                f"(0x{op:02x}); the data is corrupt or not a pickle"
            )


def _skip_lines(data: bytes | memoryview, pos: int, lines: int, end: int) -> int:
    for _ in range(lines):
        stop = bytes(data[pos : min(end, pos + 4096)]).find(b"\n")
        if stop < 0:
            raise pickle.UnpicklingError("a text opcode argument has no end of line within 4096 bytes")
        pos += stop + 1
    return pos


def _check_put(data: bytes | memoryview, pos: int, start: int, end: int) -> int:
    if data[pos] == _LONG_BINPUT:
        if pos + 5 > end:
            raise TruncatedPickleError(f"the pickle is truncated inside an opcode argument at byte {pos - start}")
        index = struct.unpack_from("<I", data, pos + 1)[0]
        after = pos + 5
    else:
        after = _skip_lines(data, pos + 1, 1, end)
        text = bytes(data[pos + 1 : after - 1])
        index = int(text) if text.isdigit() else -1
    if not 0 <= index <= MAX_MEMO_INDEX:
        raise UnsafePickleError(
            f"the pickle stores memo index {index} at byte {pos - start} (at most {MAX_MEMO_INDEX} accepted): the "
            "unpickler would allocate memory for every index below it"
        )
    return after
