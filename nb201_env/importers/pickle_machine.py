"""A restricted pickle machine over a byte buffer refilled in chunks, with a dispatch table of small handlers.

:meth:`PickleMachine.run` looks each opcode up in a table (opcode -> handler) and calls its handler; an
opcode not in the table is refused. This module has the handlers of the value opcodes: floats, long ints,
bytes, long strings, lists, tuples, sets, SETITEM and the allowed globals (through
:mod:`~nb201_env.importers.safe_unpickle`'s allowlist). The memo, MARK, dicts and the hot string opcodes
belong to :mod:`~nb201_env.importers.pickle_stream`, which streams the ``arch2infos`` entries out of one
huge pickle.

The buffer holds a margin of bytes past :attr:`~PickleMachine.limit`, so a handler reads any fixed-size
argument without checking for the end; only long strings and bytes ask for more (:meth:`~PickleMachine.item`).
``pos`` points just past what a handler has taken, so an error names the byte it failed at. Crafted input is
bounded: tuples nested more than :data:`MAX_TUPLE_DEPTH` deep and more than :data:`MAX_ENTRY_BYTES` between two
arch entries are refused, and a length over 16 MiB is an error, before any of them can hurt.
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Callable, Iterator
from typing import Any

from nb201_env.importers.errors import CorruptSourceError, UnsafePickleError
from nb201_env.importers.safe_unpickle import resolve_global

_MARGIN = 300  # every fixed-size opcode and SHORT_* string fits in this many bytes past the opcode
_MAX_ITEM = 16 << 20  # a corrupt length must not make us read gigabytes (official strings are short)
MAX_TUPLE_DEPTH = 32
"""Deepest tuple nesting accepted (the official files nest tuples two deep: reduce arguments)."""
MAX_ENTRY_BYTES = 16 << 20
"""Largest arch entry (or header) accepted, in pickle bytes: an official entry takes about 320 KB."""
STOP = object()
"""What the STOP handler returns: the end of the pickle."""
HANDLED_ERRORS = (
    UnsafePickleError,
    IndexError,
    struct.error,
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
    RecursionError,
)
"""What a handler may raise on crafted input; :meth:`PickleMachine.error` turns it into an error naming the file."""
# pickle's argument formats (pickletools' names), read in place from the buffer
float8 = struct.Struct(">d").unpack_from
uint2 = struct.Struct("<H").unpack_from
uint4 = struct.Struct("<I").unpack_from
int4 = struct.Struct("<i").unpack_from
uint8 = struct.Struct("<Q").unpack_from

Handler = Callable[[Any], Any]
"""A handler: takes the machine, returns None, the ``(key, value)`` pairs to yield, or :data:`STOP`."""


class PickleMachine:
    """The buffer, the stacks and the value opcodes of one pass over a pickle read from ``read``.

    A subclass adds the memo, MARK and the dict opcodes, and passes its whole table to :meth:`run`. A handler
    takes no argument and returns None, the ``(key, value)`` pairs to yield, or :data:`STOP`.
    """

    __slots__ = (
        "append", "chunk", "consumed", "data", "depths", "entry_at", "eof", "limit", "metastack", "name", "pos",
        "read", "stack",
    )  # fmt: skip

    def __init__(self, read: Callable[[int], bytes], chunk: int, name: str) -> None:
        self.read, self.chunk, self.name = read, chunk, name
        self.data, self.pos, self.consumed, self.eof, self.limit = b"", 0, 0, False, -1
        self.entry_at = 0  # byte offset where the current arch entry (or the header) began: see refill
        self.stack: list[Any] = []
        self.metastack: list[list[Any]] = []
        self.append = self.stack.append
        self.depths: dict[int, tuple[tuple[Any, ...], int]] = {}  # id -> (tuple, depth) of nested tuples

    def run(self, opcodes: dict[bytes, Handler]) -> Iterator[tuple[Any, Any]]:
        """Run the pickle up to its STOP, yielding the pairs the handlers return; other opcodes are refused."""
        handlers = [self.unsupported] * 256
        for opcode, handler in opcodes.items():
            handlers[opcode[0]] = handler.__get__(self)
        while True:
            if self.pos > self.limit:
                self.refill()
            op = self.data[self.pos]
            self.pos += 1
            try:
                out = handlers[op]()
                if out is not None:
                    if out is STOP:
                        return
                    yield from out
            except HANDLED_ERRORS as exc:
                error = self.error(exc, op)
                if error is exc:
                    raise
                raise error from None

    # -- the buffer ---------------------------------------------------------------------------------------

    def refill(self) -> None:
        """Keep the unread tail and read more; near EOF the limit becomes the true end."""
        if self.consumed + self.pos - self.entry_at > MAX_ENTRY_BYTES:
            raise self.refuse(
                f"an arch entry (or header) of more than {MAX_ENTRY_BYTES} bytes; official entries take about 320 KB",
                self.consumed + self.pos,
            )
        if not self.eof:
            self.consumed += self.pos
            more, eof = self.read(self.chunk), False
            while more and len(more) < _MARGIN and not eof:
                extra = self.read(self.chunk)
                eof = not extra
                more += extra
            self.eof = eof or not more
            self.data, self.pos = self.data[self.pos :] + more, 0
            self.limit = len(self.data) - (1 if self.eof else _MARGIN)
        if self.pos >= len(self.data):
            raise self.fail("the pickle is truncated: the data ended before its STOP opcode", self.consumed + self.pos)
        if self.eof:
            self.limit = len(self.data) - 1

    def need(self, n: int) -> None:
        """Make the buffer hold the ``n`` bytes of the opcode at ``pos - 1`` (a long string or bytes object)."""
        pos = self.pos - 1
        if n > _MAX_ITEM:
            raise self.fail(
                f"implausible string of {n} bytes (official files hold no item over {_MAX_ITEM})", self.consumed + pos
            )
        parts = [self.data[pos:]]
        have = len(parts[0])
        eof = False
        while have < n:
            more = self.read(max(self.chunk, n - have))
            if not more:
                eof = True
                break
            parts.append(more)
            have += len(more)
        data = b"".join(parts)
        if len(data) < n:
            raise self.fail("the pickle is truncated: the data ended inside a string", self.consumed + pos + len(data))
        self.data, self.pos, self.consumed, self.eof = data, 1, self.consumed + pos, eof
        self.limit = len(data) - (1 if eof else _MARGIN)

    def item(self, size: int, n: int) -> bytes:
        """Return the ``n`` bytes after a ``size``-byte length at ``pos``, reading more when they are not all here."""
        if self.pos + size + n > len(self.data):
            self.need(1 + size + n)
        return self.data[self.pos + size : self.pos + size + n]

    # -- errors and checks --------------------------------------------------------------------------------

    def refuse(self, what: str, offset: int) -> UnsafePickleError:
        """Return the refusal of something the official files never hold."""
        return UnsafePickleError(f"{self.name}: refusing {what} (at byte {offset} of the pickle)")

    def fail(self, what: str, offset: int) -> CorruptSourceError:
        """Return the error for a truncated or malformed pickle."""
        return CorruptSourceError(f"{self.name}: {what} (at byte {offset} of the pickle)")

    def error(self, exc: Exception, op: int) -> Exception:
        """Return the error to raise for ``exc`` from the handler of ``op`` (``exc`` itself when it names the file)."""
        offset = self.consumed + self.pos
        if isinstance(exc, UnsafePickleError):  # refused by an allowed global's stand-in: name the file
            return exc if str(exc).startswith(self.name) else self.refuse(str(exc).removeprefix("refusing "), offset)
        if isinstance(exc, CorruptSourceError):
            return exc
        if isinstance(exc, RecursionError):
            return self.refuse("a structure nested too deeply to handle", offset)
        if self.eof and self.pos >= len(self.data) - _MARGIN:
            return self.fail("the pickle is truncated or corrupt near its end", offset)
        return self.fail(f"malformed pickle at opcode 0x{op:02x}: {type(exc).__name__}: {exc}", offset)

    def nested(self, items: tuple[Any, ...]) -> tuple[Any, ...]:
        """Return ``items`` unless it nests tuples deeper than :data:`MAX_TUPLE_DEPTH` (checked as it is built)."""
        if self.depth(items) > MAX_TUPLE_DEPTH:
            raise self.refuse(f"tuples nested more than {MAX_TUPLE_DEPTH} deep", self.consumed + self.pos)
        return items

    def depth(self, items: tuple[Any, ...]) -> int:
        """Return how deep ``items`` nests tuples, remembering it for tuples that hold tuples."""
        known = self.depths.get(id(items))
        if known is not None and known[0] is items:
            return known[1]
        # every inner tuple was checked when it was built, so this recursion is at most MAX_TUPLE_DEPTH deep
        depth = 1 + max((self.depth(x) for x in items if type(x) is tuple), default=0)
        if depth > 1:
            self.depths[id(items)] = (items, depth)
        return depth

    # -- the handlers of the value opcodes (see ``pickletools``) -----------------------------------------

    def binfloat(self) -> None:
        """BINFLOAT: a float (8 bytes, big-endian)."""
        self.append(float8(self.data, self.pos)[0])
        self.pos += 8

    def long1(self) -> None:
        """LONG1: an int of up to 255 bytes."""
        data, pos = self.data, self.pos
        n = data[pos]
        self.append(int.from_bytes(data[pos + 1 : pos + 1 + n], "little", signed=True))
        self.pos = pos + 1 + n

    def short_binbytes(self) -> None:
        """SHORT_BINBYTES: bytes, length of 1 byte."""
        n = self.data[self.pos]
        self.append(self.item(1, n))
        self.pos += 1 + n

    def binbytes(self) -> None:
        """BINBYTES: bytes, length of 4 bytes."""
        n = uint4(self.data, self.pos)[0]
        self.append(self.item(4, n))
        self.pos += 4 + n

    def binbytes8(self) -> None:
        """BINBYTES8: bytes, length of 8 bytes."""
        n = uint8(self.data, self.pos)[0]
        self.append(self.item(8, n))
        self.pos += 8 + n

    def binunicode8(self) -> None:
        """BINUNICODE8: a string, length of 8 bytes."""
        n = uint8(self.data, self.pos)[0]
        self.append(self.item(8, n).decode("utf-8", "surrogatepass"))
        self.pos += 8 + n

    def none(self) -> None:
        """NONE: push None."""
        self.append(None)

    def newtrue(self) -> None:
        """NEWTRUE: push True."""
        self.append(True)

    def newfalse(self) -> None:
        """NEWFALSE: push False."""
        self.append(False)

    def empty_list(self) -> None:
        """EMPTY_LIST: a new list."""
        self.append([])

    def append_(self) -> None:
        """APPEND: add one item to a list."""
        value = self.stack.pop()
        self.stack[-1].append(value)

    def appends(self) -> None:
        """APPENDS: add the marked items to a list."""
        items = self.unmark()
        self.stack[-1].extend(items)

    def setitem(self) -> None:
        """SETITEM: add one key and value to a dict."""
        value = self.stack.pop()
        key = self.stack.pop()
        self.stack[-1][key] = value

    def empty_tuple(self) -> None:
        """EMPTY_TUPLE: push ()."""
        self.append(())

    def tuple1(self) -> None:
        """TUPLE1: a tuple of the top item."""
        self.stack[-1] = self.nested((self.stack[-1],))

    def tuple2(self) -> None:
        """TUPLE2: a tuple of the top two items (reduce arguments: the depth check only when they hold tuples)."""
        stack = self.stack
        pair = (stack[-2], stack[-1])
        if type(pair[0]) is tuple or type(pair[1]) is tuple:
            self.nested(pair)
        stack[-2:] = [pair]

    def tuple3(self) -> None:
        """TUPLE3: a tuple of the top three items."""
        stack = self.stack
        stack[-3:] = [self.nested((stack[-3], stack[-2], stack[-1]))]

    def tuple_(self) -> None:
        """TUPLE: a tuple of the marked items."""
        items = self.nested(tuple(self.stack))
        self.unmark()
        self.append(items)

    def empty_set(self) -> None:
        """EMPTY_SET: a new set."""
        self.append(set())

    def additems(self) -> None:
        """ADDITEMS: add the marked items to a set."""
        items = self.unmark()
        self.stack[-1].update(items)

    def frozenset_(self) -> None:
        """FROZENSET: a frozenset of the marked items."""
        items = frozenset(self.stack)
        self.unmark()
        self.append(items)

    def global_(self) -> None:
        """GLOBAL: an allowed global named by two lines (module, name)."""
        data, pos = self.data, self.pos
        end1 = data.index(b"\n", pos)
        end2 = data.index(b"\n", end1 + 1)
        self.append(resolve_global(data[pos:end1].decode("ascii"), data[end1 + 1 : end2].decode("ascii")))
        self.pos = end2 + 1

    def stack_global(self) -> None:
        """STACK_GLOBAL: an allowed global named by the top two items (module, name)."""
        name = self.stack.pop()
        self.stack[-1] = resolve_global(self.stack[-1], name)

    def reduce(self) -> None:
        """REDUCE: call the allowed global below the top item with the top item as arguments."""
        args = self.stack.pop()
        self.stack[-1] = self.stack[-1](*args)

    def newobj(self) -> None:
        """NEWOBJ: ``cls.__new__(cls, *args)`` of the top two items."""
        args = self.stack.pop()
        cls = self.stack[-1]
        self.stack[-1] = cls.__new__(cls, *args)

    def build(self) -> None:
        """BUILD: set the state of the object below the top item (``__setstate__`` or its ``__dict__``)."""
        state = self.stack.pop()
        inst = self.stack[-1]
        setstate = getattr(inst, "__setstate__", None)
        if setstate is not None:
            setstate(state)
        else:
            inst.__dict__.update(state)

    def unmark(self) -> list[Any]:
        """Return the stack above the last MARK and go back to the one below it."""
        items = self.stack
        self.stack = self.metastack.pop()
        self.append = self.stack.append
        return items

    def pop_mark(self) -> None:
        """POP_MARK: drop the items above the last MARK."""
        self.unmark()

    def pop(self) -> None:
        """POP: drop the top item, or the last MARK when its stack is empty."""
        if self.stack:
            self.stack.pop()
        else:
            self.unmark()

    def dup(self) -> None:
        """DUP: push the top item again."""
        self.append(self.stack[-1])

    def frame(self) -> None:
        """FRAME: frames only group opcodes; the bytes are read the same way."""
        self.pos += 8

    def proto(self) -> None:
        """PROTO: the protocol, 5 at most."""
        if self.data[self.pos] > 5:
            raise self.fail(f"unsupported pickle protocol {self.data[self.pos]}", self.consumed + self.pos)
        self.pos += 1

    def stop(self) -> object:
        """STOP: the end of the pickle."""
        return STOP

    def unsupported(self) -> None:
        """Refuse any other opcode: the official writers never emit it."""
        op = self.data[self.pos - 1]
        raise self.fail(
            f"unsupported opcode {bytes([op])!r} (0x{op:02x}); the official files use protocol 2 or 4 "
            "opcodes for plain containers, numbers and strings only",
            self.consumed + self.pos - 1,
        )


VALUE_OPCODES: dict[bytes, Handler] = {
    pickle.BINFLOAT: PickleMachine.binfloat,
    pickle.LONG1: PickleMachine.long1,
    pickle.SHORT_BINBYTES: PickleMachine.short_binbytes,
    pickle.BINBYTES: PickleMachine.binbytes,
    pickle.BINBYTES8: PickleMachine.binbytes8,
    pickle.BINUNICODE8: PickleMachine.binunicode8,
    pickle.NONE: PickleMachine.none,
    pickle.NEWTRUE: PickleMachine.newtrue,
    pickle.NEWFALSE: PickleMachine.newfalse,
    pickle.EMPTY_LIST: PickleMachine.empty_list,
    pickle.APPEND: PickleMachine.append_,
    pickle.APPENDS: PickleMachine.appends,
    pickle.SETITEM: PickleMachine.setitem,
    pickle.EMPTY_TUPLE: PickleMachine.empty_tuple,
    pickle.TUPLE1: PickleMachine.tuple1,
    pickle.TUPLE2: PickleMachine.tuple2,
    pickle.TUPLE3: PickleMachine.tuple3,
    pickle.TUPLE: PickleMachine.tuple_,
    pickle.EMPTY_SET: PickleMachine.empty_set,
    pickle.ADDITEMS: PickleMachine.additems,
    pickle.FROZENSET: PickleMachine.frozenset_,
    pickle.GLOBAL: PickleMachine.global_,
    pickle.STACK_GLOBAL: PickleMachine.stack_global,
    pickle.REDUCE: PickleMachine.reduce,
    pickle.NEWOBJ: PickleMachine.newobj,
    pickle.BUILD: PickleMachine.build,
    pickle.POP_MARK: PickleMachine.pop_mark,
    pickle.POP: PickleMachine.pop,
    pickle.DUP: PickleMachine.dup,
    pickle.FRAME: PickleMachine.frame,
    pickle.PROTO: PickleMachine.proto,
    pickle.STOP: PickleMachine.stop,
}
"""The handler of each value opcode the official writers emit (``pickle``'s names)."""
