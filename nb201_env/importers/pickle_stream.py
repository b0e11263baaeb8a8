"""Stream the ``arch2infos`` entries out of one huge restricted pickle without building the whole object.

The NB201 ``.pth`` main object (protocol 2, ~5 GB) and the NATS non-fast file (protocol 4, FRAME opcodes)
are one dict whose ``arch2infos`` value maps each arch index to its results. :class:`Arch2InfosStream` runs
its own opcode loop over a byte buffer refilled in chunks; it yields every ``(index, value)`` pair as soon
as the next key appears (so the value is complete), never stores it in the dict, and forgets the memo
entries of arch entries more than ``window`` entries old. Objects that a later entry fetches from the memo
(``BINGET`` of an older index: shared attribute names, the numpy dtype, globals) are kept; a fetch of an
entry that was already forgotten raises an error naming it instead of returning a wrong object.

Only the opcodes the official writers emit are supported, and globals go through the same allowlist as
:mod:`~nb201_env.importers.safe_unpickle`. Crafted input is bounded before it can hurt: a tuple nested more
than :data:`MAX_TUPLE_DEPTH` deep (which would overflow the C stack when hashed), an arch entry or header over
:data:`MAX_ENTRY_BYTES` (a decompression bomb of valid opcodes), and memo indices far ahead of the memo are
refused with :class:`~nb201_env.importers.errors.UnsafePickleError`.
"""

from __future__ import annotations

import logging
import re
import struct
from collections import deque
from collections.abc import Iterator
from typing import IO, Any

from nb201_env.importers.errors import CorruptSourceError, UnsafePickleError
from nb201_env.importers.pickle_scan import MAX_MEMO_INDEX
from nb201_env.importers.safe_unpickle import resolve_global

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_MARGIN = 300  # every fixed-size opcode and SHORT_* string fits in this many bytes past the opcode
_MAX_ITEM = 16 << 20  # a corrupt length must not make us read gigabytes (official strings are short)
_MISSING = object()
MAX_TUPLE_DEPTH = 32
"""Deepest tuple nesting accepted (the official files nest tuples two deep: reduce arguments)."""
MAX_ENTRY_BYTES = 16 << 20
"""Largest arch entry (or header) accepted, in pickle bytes: an official entry takes about 320 KB."""
_D = struct.Struct(">d").unpack_from
_H = struct.Struct("<H").unpack_from
_I = struct.Struct("<I").unpack_from
_i = struct.Struct("<i").unpack_from
_Q = struct.Struct("<Q").unpack_from
_KG_RUN = re.compile(rb"(?:K.G.{8})+", re.DOTALL)  # {small int: float} items: most of the opcodes
_KG_STRUCTS: dict[int, Any] = {}


def _kg_struct(n: int) -> Any:
    s = _KG_STRUCTS.get(n)
    if s is None:
        s = _KG_STRUCTS[n] = struct.Struct(">" + "xBxd" * n).unpack_from
    return s


class Arch2InfosStream:
    """Iterate ``(arch_index, value)`` over the ``arch2infos`` dict of a restricted pickle read from ``fileobj``.

    After iteration, :attr:`top` is the top-level dict with an empty ``arch2infos`` and :attr:`leftover`
    holds bytes read past the pickle's STOP (the next pickle in the file starts there). :attr:`header` is
    the part of the top-level dict that precedes ``arch2infos`` (``meta_archs``, ``total_archs``) and is
    available once the first entry is yielded. :attr:`kept_memo` counts memo entries kept across entries.
    """

    def __init__(self, fileobj: IO[bytes], *, window: int = 4, chunk_size: int = _CHUNK, name: str = "pickle") -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self._file, self._window, self._chunk, self.name = fileobj, window, chunk_size, name
        self.top: dict[str, Any] | None = None
        self.header: dict[str, Any] = {}
        self.leftover = b""
        self.kept_memo = 0
        self._depths: dict[int, tuple[tuple[Any, ...], int]] = {}  # id -> (tuple, depth) of nested tuples

    def _refuse(self, what: str, offset: int) -> UnsafePickleError:
        return UnsafePickleError(f"{self.name}: refusing {what} (at byte {offset} of the pickle)")

    def _nested(self, items: tuple[Any, ...], offset: int) -> tuple[Any, ...]:
        """Return ``items`` unless it nests tuples deeper than :data:`MAX_TUPLE_DEPTH` (checked as it is built)."""
        if self._depth(items) > MAX_TUPLE_DEPTH:
            raise self._refuse(f"tuples nested more than {MAX_TUPLE_DEPTH} deep", offset)
        return items

    def _depth(self, items: tuple[Any, ...]) -> int:
        known = self._depths.get(id(items))
        if known is not None and known[0] is items:
            return known[1]
        # every inner tuple was checked when it was built, so this recursion is at most MAX_TUPLE_DEPTH deep
        depth = 1 + max((self._depth(x) for x in items if type(x) is tuple), default=0)
        if depth > 1:
            self._depths[id(items)] = (items, depth)
        return depth

    def _fail(self, what: str, offset: int) -> CorruptSourceError:
        return CorruptSourceError(f"{self.name}: {what} (at byte {offset} of the pickle)")

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        read, chunk = self._file.read, self._chunk
        data, pos, consumed, eof = b"", 0, 0, False
        limit = -1
        stack: list[Any] = []
        metastack: list[list[Any]] = []
        append = stack.append
        memo: list[Any] = []
        memo_append = memo.append
        base = 0  # memo index of memo[0]
        kept: dict[int, Any] = {}
        promote: set[int] = set()
        starts: deque[int] = deque()
        entry_start = -1  # memo index where the current arch entry began (-1: before arch2infos)
        entry_at = 0  # byte offset where the current arch entry (or the header) began
        a2i_dict: Any = None
        a2i_frame: Any = None
        while True:
            if pos > limit:
                # Keep the unread tail and read more; near EOF the limit becomes the true end.
                if consumed + pos - entry_at > MAX_ENTRY_BYTES:
                    raise self._refuse(
                        f"an arch entry (or header) of more than {MAX_ENTRY_BYTES} bytes; official entries take "
                        "about 320 KB",
                        consumed + pos,
                    )
                if not eof:
                    tail = data[pos:]
                    consumed += pos
                    more = read(chunk)
                    while more and len(more) < _MARGIN and not eof:
                        extra = read(chunk)
                        eof = not extra
                        more += extra
                    if not more:
                        eof = True
                    data, pos = tail + more, 0
                    limit = len(data) - _MARGIN if not eof else len(data) - 1
                if pos >= len(data):
                    raise self._fail("the pickle is truncated: the data ended before its STOP opcode", consumed + pos)
                if eof:
                    limit = len(data) - 1
            op = data[pos]
            pos += 1
            try:
                if op == 140:  # SHORT_BINUNICODE, fused with the MEMOIZE and BINFLOAT that usually follow
                    n = data[pos] + pos + 1
                    text = data[pos + 1 : n].decode()
                    append(text)
                    if data[n] == 148:
                        memo_append(text)
                        n += 1
                        if data[n] == 71:  # a {str: float} item (eval dicts): a third of all opcodes
                            append(_D(data, n + 1)[0])
                            n += 9
                    pos = n
                elif op == 88:  # BINUNICODE
                    n = _I(data, pos)[0]
                    if n > 200 and pos + 4 + n > len(data):  # shorter ones fit in the margin
                        data, pos, consumed, eof, limit = self._need(data, pos - 1, consumed, 5 + n)
                        pos += 1
                    text = data[pos + 4 : pos + 4 + n].decode()
                    append(text)
                    pos += 4 + n
                    if n < 256 and data[pos] == 114 and _I(data, pos + 1)[0] == base + len(memo):
                        memo_append(text)  # fused LONG_BINPUT (protocol 2 memoizes with explicit indices)
                        pos += 5
                        if data[pos] == 71:
                            append(_D(data, pos + 1)[0])
                            pos += 9
                elif op == 71:  # BINFLOAT
                    append(_D(data, pos)[0])
                    pos += 8
                elif op == 75:  # BININT1
                    if stack is a2i_frame:
                        append(data[pos])
                        pos += 1
                        if len(stack) == 3:
                            yield stack[0], stack[1]
                            del stack[:2]
                        entry_start, base = self._new_entry(base, memo, kept, promote, starts)
                        entry_at = consumed + pos
                    elif data[pos + 1] == 71 and (m := _KG_RUN.match(data, pos - 1)) is not None:
                        n = (m.end() - pos + 1) // 11  # a run of {int: float} items, parsed in C
                        stack.extend(_kg_struct(n)(data, pos - 1))
                        pos += n * 11 - 1
                    else:
                        append(data[pos])
                        pos += 1
                elif op == 148:  # MEMOIZE
                    memo_append(stack[-1])
                elif op == 114:  # LONG_BINPUT
                    i = _I(data, pos)[0] - base
                    pos += 4
                    if i == len(memo):
                        memo_append(stack[-1])
                    else:
                        base = self._put(i + base, stack[-1], memo, base, kept)
                elif op == 104 or op == 106:  # BINGET, LONG_BINGET
                    if op == 104:
                        i = data[pos]
                        pos += 1
                    else:
                        i = _I(data, pos)[0]
                        pos += 4
                    if i >= base:
                        if i - base >= len(memo) or (obj := memo[i - base]) is _MISSING:
                            raise self._fail(f"memo entry {i} is fetched before it is stored", consumed + pos)
                        if i < entry_start:
                            promote.add(i)
                        append(obj)
                    else:
                        obj = kept.get(i, _MISSING)
                        if obj is _MISSING:
                            raise self._fail(
                                f"memo entry {i} belongs to an arch entry more than {self._window} entries back and "
                                "was already released; retry with a larger window",
                                consumed + pos,
                            )
                        append(obj)
                elif op == 113:  # BINPUT
                    i = data[pos] - base
                    pos += 1
                    if i == len(memo):
                        memo_append(stack[-1])
                    else:
                        base = self._put(i + base, stack[-1], memo, base, kept)
                elif op == 40:  # MARK
                    if a2i_dict is not None and stack and stack[-1] is a2i_dict:
                        a2i_frame = []
                        metastack.append(stack)
                        stack = a2i_frame
                    else:
                        metastack.append(stack)
                        stack = []
                    append = stack.append
                elif op == 117:  # SETITEMS
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    if items is a2i_frame:
                        a2i_frame = None
                        for k in range(0, len(items), 2):
                            yield items[k], items[k + 1]
                        del items[:]
                    else:
                        stack[-1].update(zip(items[::2], items[1::2]))
                elif op == 125:  # EMPTY_DICT
                    if a2i_dict is None and len(metastack) == 1 and stack and stack[-1] == "arch2infos":
                        a2i_dict = {}
                        self.header = dict(zip(stack[:-1:2], stack[1:-1:2]))
                        kept.update((base + j, v) for j, v in enumerate(memo))  # the header stays referable
                        base += len(memo)
                        memo.clear()
                        append(a2i_dict)
                    else:
                        append({})
                elif op == 134:  # TUPLE2
                    pair = (stack[-2], stack[-1])
                    if type(pair[0]) is tuple or type(pair[1]) is tuple:
                        self._nested(pair, consumed + pos)
                    stack[-2:] = [pair]
                elif op == 77:  # BININT2
                    append(_H(data, pos)[0])
                    pos += 2
                    if stack is a2i_frame:
                        if len(stack) == 3:
                            yield stack[0], stack[1]
                            del stack[:2]
                        entry_start, base = self._new_entry(base, memo, kept, promote, starts)
                        entry_at = consumed + pos
                elif op == 149:  # FRAME: frames only group opcodes; the bytes are read the same way
                    pos += 8
                elif op == 78:  # NONE
                    append(None)
                elif op == 93:  # EMPTY_LIST
                    append([])
                elif op == 41:  # EMPTY_TUPLE
                    append(())
                elif op == 82:  # REDUCE
                    args = stack.pop()
                    stack[-1] = stack[-1](*args)
                elif op == 115:  # SETITEM
                    v = stack.pop()
                    k = stack.pop()
                    stack[-1][k] = v
                elif op == 97:  # APPEND
                    v = stack.pop()
                    stack[-1].append(v)
                elif op == 101:  # APPENDS
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    stack[-1].extend(items)
                elif op == 67 or op == 66 or op == 142:  # SHORT_BINBYTES, BINBYTES, BINBYTES8
                    size = 1 if op == 67 else 4 if op == 66 else 8
                    n = data[pos] if op == 67 else _I(data, pos)[0] if op == 66 else _Q(data, pos)[0]
                    if pos + size + n > len(data):
                        data, pos, consumed, eof, limit = self._need(data, pos - 1, consumed, 1 + size + n)
                        pos += 1
                    append(data[pos + size : pos + size + n])
                    pos += size + n
                elif op == 141:  # BINUNICODE8
                    n = _Q(data, pos)[0]
                    if pos + 8 + n > len(data):
                        data, pos, consumed, eof, limit = self._need(data, pos - 1, consumed, 9 + n)
                        pos += 1
                    append(data[pos + 8 : pos + 8 + n].decode("utf-8", "surrogatepass"))
                    pos += 8 + n
                elif op == 136 or op == 137:  # NEWTRUE, NEWFALSE
                    append(op == 136)
                elif op == 74:  # BININT
                    append(_i(data, pos)[0])
                    pos += 4
                    if stack is a2i_frame:
                        if len(stack) == 3:
                            yield stack[0], stack[1]
                            del stack[:2]
                        entry_start, base = self._new_entry(base, memo, kept, promote, starts)
                        entry_at = consumed + pos
                elif op == 138:  # LONG1
                    n = data[pos]
                    append(int.from_bytes(data[pos + 1 : pos + 1 + n], "little", signed=True))
                    pos += 1 + n
                elif op == 133:  # TUPLE1
                    stack[-1] = self._nested((stack[-1],), consumed + pos)
                elif op == 135:  # TUPLE3
                    stack[-3:] = [self._nested((stack[-3], stack[-2], stack[-1]), consumed + pos)]
                elif op == 116:  # TUPLE
                    items = self._nested(tuple(stack), consumed + pos)
                    stack = metastack.pop()
                    append = stack.append
                    append(items)
                elif op == 143:  # EMPTY_SET
                    append(set())
                elif op == 144:  # ADDITEMS
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    stack[-1].update(items)
                elif op == 145:  # FROZENSET
                    items = frozenset(stack)
                    stack = metastack.pop()
                    append = stack.append
                    append(items)
                elif op == 147:  # STACK_GLOBAL
                    name = stack.pop()
                    stack[-1] = resolve_global(stack[-1], name)
                elif op == 99:  # GLOBAL
                    end1 = data.index(b"\n", pos)
                    end2 = data.index(b"\n", end1 + 1)
                    append(resolve_global(data[pos:end1].decode("ascii"), data[end1 + 1 : end2].decode("ascii")))
                    pos = end2 + 1
                elif op == 98:  # BUILD
                    state = stack.pop()
                    inst = stack[-1]
                    setstate = getattr(inst, "__setstate__", None)
                    if setstate is not None:
                        setstate(state)
                    else:
                        inst.__dict__.update(state)
                elif op == 129:  # NEWOBJ
                    args = stack.pop()
                    cls = stack[-1]
                    stack[-1] = cls.__new__(cls, *args)
                elif op == 48:  # POP
                    if stack:
                        stack.pop()
                    else:
                        stack = metastack.pop()
                        append = stack.append
                elif op == 49:  # POP_MARK
                    stack = metastack.pop()
                    append = stack.append
                elif op == 50:  # DUP
                    append(stack[-1])
                elif op == 128:  # PROTO
                    if data[pos] > 5:
                        raise self._fail(f"unsupported pickle protocol {data[pos]}", consumed + pos)
                    pos += 1
                elif op == 46:  # STOP
                    break
                else:
                    raise self._fail(
                        f"unsupported opcode {bytes([op])!r} (0x{op:02x}); the official files use protocol 2 or 4 "
                        "opcodes for plain containers, numbers and strings only",
                        consumed + pos - 1,
                    )
            except UnsafePickleError as exc:  # refused by an allowed global's stand-in: name the file
                if str(exc).startswith(self.name):
                    raise
                raise self._refuse(str(exc).removeprefix("refusing "), consumed + pos) from None
            except (IndexError, struct.error, ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
                if isinstance(exc, CorruptSourceError):
                    raise
                if isinstance(exc, RecursionError):
                    raise self._refuse("a structure nested too deeply to handle", consumed + pos) from None
                if eof and pos >= len(data) - _MARGIN:
                    raise self._fail("the pickle is truncated or corrupt near its end", consumed + pos) from None
                raise self._fail(
                    f"malformed pickle at opcode 0x{op:02x}: {type(exc).__name__}: {exc}", consumed + pos
                ) from None
        self.kept_memo = len(kept)
        if len(stack) != 1 or metastack:
            raise self._fail("malformed pickle: the stack does not hold exactly one object at STOP", consumed + pos)
        self.top = stack[0]
        self.leftover = data[pos:]
        log.debug("%s: %d memo entries kept across arch entries", self.name, len(kept))

    def _need(self, data: bytes, pos: int, consumed: int, n: int) -> tuple[bytes, int, int, bool, int]:
        """Return a buffer holding at least ``n`` bytes from ``pos`` (a long string or bytes object)."""
        if n > _MAX_ITEM:
            raise self._fail(
                f"implausible string of {n} bytes (official files hold no item over {_MAX_ITEM})", consumed + pos
            )
        parts = [data[pos:]]
        have = len(parts[0])
        eof = False
        while have < n:
            more = self._file.read(max(self._chunk, n - have))
            if not more:
                eof = True
                break
            parts.append(more)
            have += len(more)
        data = b"".join(parts)
        if len(data) < n:
            raise self._fail("the pickle is truncated: the data ended inside a string", consumed + pos + len(data))
        limit = len(data) - _MARGIN if not eof else len(data) - 1
        return data, 0, consumed + pos, eof, limit

    def _put(self, index: int, obj: Any, memo: list[Any], base: int, kept: dict[int, Any]) -> int:
        """Store ``obj`` at an explicit memo index that is not the next one (rare in real files)."""
        j = index - base
        if j < 0:
            kept[index] = obj
        elif j < len(memo):
            memo[j] = obj
        elif j - len(memo) > MAX_MEMO_INDEX:
            raise UnsafePickleError(
                f"{self.name}: refusing memo index {index}, {j - len(memo)} entries past the memo's end (official "
                "files store memo entries in order)"
            )
        else:
            memo.extend([_MISSING] * (j - len(memo)))
            memo.append(obj)
        return base

    def _new_entry(
        self, base: int, memo: list[Any], kept: dict[int, Any], promote: set[int], starts: deque[int]
    ) -> tuple[int, int]:
        """Start a new arch entry; release the memo of entries more than ``window`` back."""
        self._depths.clear()
        entry_start = base + len(memo)
        starts.append(entry_start)
        if len(starts) > self._window + 1:  # the current entry and ``window`` before it stay referable
            starts.popleft()
            cut = starts[0]  # start of the oldest entry still kept
            if promote:
                for i in [i for i in promote if i < cut]:
                    kept[i] = memo[i - base]
                    promote.discard(i)
            del memo[: cut - base]
            base = cut
        return entry_start, base
