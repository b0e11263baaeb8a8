"""Stream the ``arch2infos`` entries out of one huge restricted pickle without building the whole object.

The NB201 ``.pth`` main object (protocol 2, ~5 GB) and the NATS non-fast file (protocol 4, FRAME opcodes)
are one dict whose ``arch2infos`` value maps each arch index to its results. :class:`Arch2InfosStream` runs
the opcodes through a dispatch table of small handlers (those of
:class:`~nb201_env.importers.pickle_machine.PickleMachine` plus the memo, dict and string opcodes here) over a
byte buffer refilled in chunks; it yields every ``(index, value)`` pair as soon as the next key appears (so
the value is complete), never stores it in the dict, and forgets the memo entries of arch entries more than
``window`` entries old. Objects that a later entry fetches from the memo (``BINGET`` of an older index:
shared attribute names, the numpy dtype, globals) are kept; a fetch of an entry that was already forgotten
raises an error naming it instead of returning a wrong object.

Only the opcodes the official writers emit are supported, and globals go through the same allowlist as
:mod:`~nb201_env.importers.safe_unpickle`. Crafted input is bounded before it can hurt: a tuple nested more
than :data:`MAX_TUPLE_DEPTH` deep (which would overflow the C stack when hashed), an arch entry or header over
:data:`MAX_ENTRY_BYTES` (a decompression bomb of valid opcodes), and memo indices far ahead of the memo are
refused with :class:`~nb201_env.importers.errors.UnsafePickleError`.
"""

from __future__ import annotations

import logging
import pickle
import re
import struct
from collections import deque
from collections.abc import Iterator
from typing import IO, Any

from nb201_env.importers.errors import UnsafePickleError
from nb201_env.importers.pickle_machine import (
    MAX_ENTRY_BYTES,
    MAX_TUPLE_DEPTH,
    VALUE_OPCODES,
    Handler,
    PickleMachine,
    float8,
    int4,
    uint2,
    uint4,
)
from nb201_env.importers.pickle_scan import MAX_MEMO_INDEX

__all__ = ["MAX_ENTRY_BYTES", "MAX_TUPLE_DEPTH", "Arch2InfosStream"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_MISSING = object()
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

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        run = _Run(self)
        yield from run.run(_OPCODES)
        run.finish()


class _Run(PickleMachine):
    """One pass over the pickle: the value machine plus the windowed memo and the arch2infos frame."""

    __slots__ = (
        "a2i_dict", "a2i_frame", "base", "entry_start", "kept", "memo", "memo_append", "promote", "starts", "stream",
        "window",
    )  # fmt: skip

    def __init__(self, stream: Arch2InfosStream) -> None:
        super().__init__(stream._file.read, stream._chunk, stream.name)
        self.stream, self.window = stream, stream._window
        self.memo: list[Any] = []
        self.memo_append = self.memo.append
        self.base = 0  # memo index of memo[0]
        self.kept: dict[int, Any] = {}  # memo entries of released arch entries that a later entry fetched
        self.promote: set[int] = set()  # memo indices of older entries fetched by a later one: kept on release
        self.starts: deque[int] = deque()  # memo index where each arch entry in the window began
        self.entry_start = -1  # memo index where the current arch entry began (-1: before arch2infos)
        self.a2i_dict: Any = None
        self.a2i_frame: Any = None

    # -- the memo window ----------------------------------------------------------------------------------

    def index1(self) -> int:
        """Take a memo index of 1 byte."""
        index = self.data[self.pos]
        self.pos += 1
        return index

    def index4(self) -> int:
        """Take a memo index of 4 bytes."""
        index: int = uint4(self.data, self.pos)[0]
        self.pos += 4
        return index

    def put(self, index: int) -> None:
        """Store the top of the stack at an explicit memo index (the next one, except in rare files)."""
        obj = self.stack[-1]
        j = index - self.base
        if j == len(self.memo):
            self.memo_append(obj)
        elif j < 0:
            self.kept[index] = obj
        elif j < len(self.memo):
            self.memo[j] = obj
        elif j - len(self.memo) > MAX_MEMO_INDEX:
            raise UnsafePickleError(
                f"{self.name}: refusing memo index {index}, {j - len(self.memo)} entries past the memo's end (official "
                "files store memo entries in order)"
            )
        else:
            self.memo.extend([_MISSING] * (j - len(self.memo)))
            self.memo_append(obj)

    def get(self, index: int) -> None:
        """Push memo entry ``index``; refuse one not stored yet or released with an arch entry out of the window."""
        if index >= self.base:
            j = index - self.base
            if j >= len(self.memo) or (obj := self.memo[j]) is _MISSING:
                raise self.fail(f"memo entry {index} is fetched before it is stored", self.consumed + self.pos)
            if index < self.entry_start:
                self.promote.add(index)
        elif (obj := self.kept.get(index, _MISSING)) is _MISSING:
            raise self.fail(
                f"memo entry {index} belongs to an arch entry more than {self.window} entries back and was already "
                "released; retry with a larger window",
                self.consumed + self.pos,
            )
        self.append(obj)

    def key(self, index: int, end: int) -> tuple[tuple[Any, Any], ...] | None:
        """Push an arch index key ending at byte ``end``; return the previous entry, now complete, if there is one."""
        stack = self.stack
        stack.append(index)
        self.pos = end
        done = None
        if len(stack) == 3:
            done = ((stack[0], stack[1]),)
            del stack[:2]
        self.new_entry()
        return done

    def new_entry(self) -> None:
        """Start a new arch entry; release the memo of entries more than ``window`` back."""
        self.depths.clear()
        self.entry_start = self.base + len(self.memo)
        self.entry_at = self.consumed + self.pos
        starts = self.starts
        starts.append(self.entry_start)
        if len(starts) > self.window + 1:  # the current entry and ``window`` before it stay referable
            starts.popleft()
            cut = starts[0]  # start of the oldest entry still kept
            for i in [i for i in self.promote if i < cut]:
                self.kept[i] = self.memo[i - self.base]
                self.promote.discard(i)
            del self.memo[: cut - self.base]
            self.base = cut

    def finish(self) -> None:
        """Check the stack at STOP and hand the top-level object and the bytes after it to the stream."""
        stream = self.stream
        stream.kept_memo = len(self.kept)
        if len(self.stack) != 1 or self.metastack:
            raise self.fail(
                "malformed pickle: the stack does not hold exactly one object at STOP", self.consumed + self.pos
            )
        stream.top = self.stack[0]
        stream.leftover = self.data[self.pos :]
        log.debug("%s: %d memo entries kept across arch entries", self.name, len(self.kept))

    # -- the handlers of the memo and container opcodes; the hottest first --------------------------------

    def short_binunicode(self) -> None:
        """SHORT_BINUNICODE, fused with the MEMOIZE and BINFLOAT that usually follow; a run of them in one call."""
        data, pos, limit = self.data, self.pos, self.limit
        append, memo_append = self.append, self.memo_append
        while True:
            n = data[pos] + pos + 1
            text = data[pos + 1 : n].decode()
            append(text)
            if data[n] == 148:
                memo_append(text)
                n += 1
                if data[n] == 71:  # a {str: float} item (eval dicts): a third of all opcodes
                    append(float8(data, n + 1)[0])
                    n += 9
            if n > limit or data[n] != 140:  # the loop refills or dispatches from here
                self.pos = n
                return
            pos = self.pos = n + 1  # the next SHORT_BINUNICODE, taken as the loop would take it

    def binunicode(self) -> None:
        """BINUNICODE, fused with the LONG_BINPUT and BINFLOAT that usually follow; a run of them in one call."""
        append, memo_append, memo = self.append, self.memo_append, self.memo
        while True:
            n = uint4(self.data, self.pos)[0]
            if n > 200 and self.pos + 4 + n > len(self.data):  # shorter ones fit in the margin
                self.need(5 + n)
            data = self.data
            pos = self.pos + 4 + n
            text = data[pos - n : pos].decode()
            append(text)
            self.pos = pos  # the peeks below fail only at the end of a truncated file: report this byte
            # protocol 2 memoizes with explicit indices: LONG_BINPUT of the next one
            if n < 256 and data[pos] == 114 and uint4(data, pos + 1)[0] == self.base + len(memo):
                memo_append(text)
                self.pos = pos = pos + 5
                if data[pos] == 71:
                    append(float8(data, pos + 1)[0])
                    self.pos = pos = pos + 9
            if pos > self.limit or data[pos] != 88:  # the loop refills or dispatches from here
                return
            self.pos = pos + 1  # the next BINUNICODE, taken as the loop would take it

    def binint1(self) -> Any:
        """BININT1: a small int: an arch key in the arch2infos frame, else often a run of {int: float} items."""
        data, pos = self.data, self.pos
        if self.stack is not self.a2i_frame and data[pos + 1] == 71 and (m := _KG_RUN.match(data, pos - 1)):
            n = (m.end() - pos + 1) // 11  # a run of {int: float} items, parsed in C
            self.stack.extend(_kg_struct(n)(data, pos - 1))
            self.pos = pos + n * 11 - 1
            return None
        return self.push_int(data[pos], 1)

    def binint2(self) -> Any:
        """BININT2: an int of 2 bytes (an arch key in the arch2infos frame)."""
        return self.push_int(uint2(self.data, self.pos)[0], 2)

    def binint(self) -> Any:
        """BININT: a signed int of 4 bytes (an arch key in the arch2infos frame)."""
        return self.push_int(int4(self.data, self.pos)[0], 4)

    def push_int(self, value: int, size: int) -> Any:
        """Push an int taken from ``size`` bytes; in the arch2infos frame it is the key of a new arch entry."""
        if self.stack is self.a2i_frame:
            return self.key(value, self.pos + size)
        self.append(value)
        self.pos += size
        return None

    def memoize(self) -> None:
        """MEMOIZE: store the top of the stack at the next memo index."""
        self.memo_append(self.stack[-1])

    def binput(self) -> None:
        """BINPUT: store the top of the stack at a memo index of 1 byte."""
        self.put(self.index1())

    def long_binput(self) -> None:
        """LONG_BINPUT: store the top of the stack at a memo index of 4 bytes."""
        self.put(self.index4())

    def binget(self) -> None:
        """BINGET: push a memo entry (index of 1 byte)."""
        self.get(self.index1())

    def long_binget(self) -> None:
        """LONG_BINGET: push a memo entry (index of 4 bytes)."""
        self.get(self.index4())

    def mark(self) -> None:
        """MARK: push a new stack; the one that follows the arch2infos dict is its frame of (index, value) items."""
        stack = self.stack
        self.metastack.append(stack)
        if self.a2i_dict is not None and stack and stack[-1] is self.a2i_dict:
            self.stack = self.a2i_frame = []
        else:
            self.stack = []
        self.append = self.stack.append

    def setitems(self) -> Any:
        """SETITEMS: add the marked items to a dict; those of the arch2infos frame are yielded instead."""
        items = self.unmark()
        if items is self.a2i_frame:
            self.a2i_frame = None
            return _pairs(items)
        self.stack[-1].update(zip(items[::2], items[1::2]))
        return None

    def empty_dict(self) -> None:
        """EMPTY_DICT: a new dict; at ``arch2infos`` the header before it is kept referable and stored."""
        stack = self.stack
        if self.a2i_dict is None and len(self.metastack) == 1 and stack and stack[-1] == "arch2infos":
            self.a2i_dict = {}
            self.stream.header = dict(zip(stack[:-1:2], stack[1:-1:2]))
            self.kept.update((self.base + j, v) for j, v in enumerate(self.memo))  # the header stays referable
            self.base += len(self.memo)
            self.memo.clear()
            self.append(self.a2i_dict)
        else:
            self.append({})


def _pairs(items: list[Any]) -> Iterator[tuple[Any, Any]]:
    """Yield the ``(index, value)`` pairs of one SETITEMS batch of the arch2infos frame, then empty it."""
    for k in range(0, len(items), 2):
        yield items[k], items[k + 1]
    del items[:]


_OPCODES: dict[bytes, Handler] = {
    **VALUE_OPCODES,
    pickle.SHORT_BINUNICODE: _Run.short_binunicode,
    pickle.BINUNICODE: _Run.binunicode,
    pickle.BININT1: _Run.binint1,
    pickle.BININT2: _Run.binint2,
    pickle.BININT: _Run.binint,
    pickle.MEMOIZE: _Run.memoize,
    pickle.BINPUT: _Run.binput,
    pickle.LONG_BINPUT: _Run.long_binput,
    pickle.BINGET: _Run.binget,
    pickle.LONG_BINGET: _Run.long_binget,
    pickle.MARK: _Run.mark,
    pickle.SETITEMS: _Run.setitems,
    pickle.EMPTY_DICT: _Run.empty_dict,
}
"""The handler of each opcode the official writers emit (``pickle``'s names); every other one is refused."""
