"""The NAS-Bench-201 cell search space, in the official op, edge and index order.

A cell is a DAG on 4 nodes; node ``i`` sums one op applied to each earlier node ``j < i``. That gives six
edges, each carrying one of five ops, so 5**6 = 15,625 architectures. Everything in this package refers to an
architecture by its **official index** (0..15624, the order of ``meta_archs`` in the official files); the
:class:`Arch` type converts losslessly between that index, the official string, the six op ids and the
one-hot / edge-matrix encodings.

The official index order is ``CellStructure.gen_all`` (lexicographic over the six ops in edge order, edge
(1<-0) most significant) followed by ``random.seed(88); random.shuffle(...)``. We reproduce it with a private
``random.Random(88)`` so that no global random state is touched.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from functools import cache
from typing import Final

import numpy as np

from nb201_env.validate import ArgumentTypeError, is_int, shown

OPS: Final[tuple[str, ...]] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
"""The five candidate ops, in the official order (op id = position)."""

NUM_OPS: Final = len(OPS)
NUM_NODES: Final = 4
EDGES: Final[tuple[tuple[int, int], ...]] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
"""The six edges as ``(to_node, from_node)``, in the order they appear in the official arch string."""

NUM_EDGES: Final = len(EDGES)
NUM_ARCHS: Final = NUM_OPS**NUM_EDGES
NONE, SKIP, CONV1X1, CONV3X3, AVG_POOL = range(NUM_OPS)

_OP_ID: Final = {name: i for i, name in enumerate(OPS)}
_ARCH_STR_RE: Final = re.compile(r"^\|(\w+)~0\|\+\|(\w+)~0\|(\w+)~1\|\+\|(\w+)~0\|(\w+)~1\|(\w+)~2\|$")
_POWERS: Final = NUM_OPS ** np.arange(NUM_EDGES - 1, -1, -1)  # edge 0 is the most significant digit


@cache
def lexicographic_tables() -> tuple[np.ndarray, np.ndarray]:
    """Return read-only (code_of_index, index_of_code); a code is the lexicographic position of the op tuple."""
    order = list(range(NUM_ARCHS))
    random.Random(88).shuffle(order)  # the official seeded shuffle, on a private generator
    code_of_index = np.asarray(order, dtype=np.int64)
    index_of_code = np.empty(NUM_ARCHS, dtype=np.int64)
    index_of_code[code_of_index] = np.arange(NUM_ARCHS)
    code_of_index.flags.writeable = False
    index_of_code.flags.writeable = False
    return code_of_index, index_of_code


@cache
def _index_of_code_list() -> list[int]:
    return lexicographic_tables()[1].tolist()  # a list: one Python index per lookup, the fastest scalar path


class _IndexOfCode:
    """``index_of_code`` as a list, built on first use (the fastest scalar lookup)."""

    def __getitem__(self, code: int) -> int:
        global _INDEX_OF_CODE
        _INDEX_OF_CODE = _index_of_code_list()  # type: ignore[assignment]
        return _INDEX_OF_CODE[code]


_INDEX_OF_CODE: list[int] | _IndexOfCode = _IndexOfCode()


@cache
def all_ops() -> np.ndarray:
    """Return the op ids of every architecture as a read-only ``(15625, 6)`` uint8 array in index order."""
    code_of_index, _ = lexicographic_tables()
    digits = (code_of_index[:, None] // _POWERS[None, :]) % NUM_OPS
    table = digits.astype(np.uint8)
    table.flags.writeable = False
    return table


def prefix_code(ops: Sequence[int]) -> int:
    """Return the lexicographic code of a cell's first ``k`` op ids (edge 0 the most significant digit)."""
    code = 0
    for op in ops:
        code = code * NUM_OPS + op
    return code


def prefix_codes(ops: np.ndarray) -> np.ndarray:
    """Return :func:`prefix_code` of op ids of shape ``(..., k)`` as shape ``(...)`` (vectorized)."""
    array = np.asarray(ops, dtype=np.int64)
    return array @ (NUM_OPS ** np.arange(array.shape[-1] - 1, -1, -1))


def index_of_ops(ops: Sequence[int]) -> int:
    """Return the official index of six checked op ids (the scalar twin of :func:`ops_to_index`)."""
    return _index_of_code_list()[prefix_code(ops)]


def ops_to_index(ops: np.ndarray) -> np.ndarray:
    """Map checked op ids of shape ``(..., 6)`` to official indices of shape ``(...)`` (vectorized)."""
    return lexicographic_tables()[1][prefix_codes(ops)]


_OP_CHOICES: Final = f"op ids in 0..{NUM_OPS - 1} ({', '.join(f'{i}={n}' for i, n in enumerate(OPS))})"


def check_op(action: object, name: str = "action") -> int:
    """Return one op id given as an int, a numpy integer or a one-element integer array; refuse anything else."""
    value = action
    if isinstance(action, np.ndarray):
        if action.size != 1 or action.dtype.kind not in "iu":
            raise ValueError(
                f"invalid {name} {shown(action)} of shape {action.shape}; an {name} is one of the {_OP_CHOICES}"
            )
        value = action.reshape(()).item()
    if not is_int(value):
        raise ArgumentTypeError(f"invalid {name} {shown(action)}; an {name} is one of the {_OP_CHOICES}")
    op = int(value)  # type: ignore[call-overload]
    if not 0 <= op < NUM_OPS:
        raise ValueError(f"invalid {name} {action!r}; valid {name}s are the {_OP_CHOICES}")
    return op


def check_ops(ops: object, name: str = "ops") -> tuple[int, ...]:
    """Return six op ids as ints; floats, bools and strings are refused, never truncated."""
    if isinstance(ops, np.ndarray):
        if ops.dtype.kind not in "iu" or ops.shape != (NUM_EDGES,):
            raise ArgumentTypeError(
                f"{name} must be {NUM_EDGES} {_OP_CHOICES}, as integers; got a {ops.dtype} array of shape {ops.shape}"
            )
        values = ops.tolist()
    elif isinstance(ops, (list, tuple)):
        bad = next((o for o in ops if not is_int(o)), None)
        if bad is not None:
            raise ArgumentTypeError(
                f"{name} must be {NUM_EDGES} int {_OP_CHOICES}, got {ops!r}: {shown(bad)} is not an int"
            )
        values = [int(o) for o in ops]
    else:
        raise ArgumentTypeError(f"{name} must be a sequence of {NUM_EDGES} {_OP_CHOICES}, got {shown(ops)}")
    if len(values) != NUM_EDGES or any(not 0 <= o < NUM_OPS for o in values):
        raise ValueError(f"{name} must be {NUM_EDGES} {_OP_CHOICES}, got {ops!r}")
    return tuple(values)


_VALID_OPS: Final = frozenset(range(NUM_OPS))
_SHAPE: Final = (NUM_EDGES,)


def cell_ops(action: object, name: str = "action") -> list[int]:
    """Return six op ids given as an integer array, list or tuple (the one-shot envs' action); refuse the rest.

    The same checks as :func:`check_ops`, with a fast path for what agents pass, an integer array of
    shape (6,), whose values are checked in one set operation.
    """
    if type(action) is np.ndarray and action.shape == _SHAPE and action.dtype.kind in "iu":
        ops = action.tolist()
        if _VALID_OPS.issuperset(ops):
            return ops
    return list(check_ops(action, name))  # the other forms; raises naming a bad value


def index_of_op_list(ops: list[int]) -> int:
    """Return the official index of six checked op ids (:func:`index_of_ops` unrolled, for the hot path)."""
    a, b, c, d, e, f = ops
    return _INDEX_OF_CODE[((((a * 5 + b) * 5 + c) * 5 + d) * 5 + e) * 5 + f]


def check_op_array(actions: object, shape: tuple[int, ...], name: str = "actions") -> np.ndarray:
    """Return an integer array of op ids of exactly ``shape`` (a batch of actions), or raise naming what is wrong."""
    array = np.asarray(actions)
    if (
        array.shape != shape
        or array.dtype.kind not in "iu"
        or (array.size and (array.min() < 0 or array.max() >= NUM_OPS))
    ):
        raise ValueError(
            f"{name} must be an int array of shape {shape} with {_OP_CHOICES}, got {array.dtype} {array.shape}"
        )
    return array


def check_partial_ops(ops: object) -> tuple[int | None, ...]:
    """Return six op ids of a cell being built, ``None`` where the edge is not chosen yet."""
    choices = f"{_OP_CHOICES} or None for unset"
    if isinstance(ops, (str, bytes)) or not isinstance(ops, (Sequence, np.ndarray)):
        raise ValueError(f"ops must be a sequence of {NUM_EDGES} {choices}; got {ops!r}")
    if len(ops) != NUM_EDGES:
        raise ValueError(f"ops must have {NUM_EDGES} entries (one per edge), got {len(ops)}: {ops!r}")
    for edge, op in enumerate(ops):
        if op is not None and not (is_int(op) and 0 <= op < NUM_OPS):
            raise ValueError(f"op {op!r} on edge {edge} is not valid: expected {choices}")
    return tuple(None if op is None else int(op) for op in ops)


def _format_arch_str(ops: tuple[int, ...]) -> str:
    names = [OPS[o] for o in ops]
    return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*names)


class Arch:
    """One NB201 cell architecture; immutable, hashable, ordered by official index.

    Build it with :meth:`from_index`, :meth:`from_str`, :meth:`from_ops`, :meth:`from_onehot` or
    :meth:`from_edge_matrix`; every encoding converts back losslessly.
    """

    __slots__ = ("_index", "_ops")
    _index: int
    _ops: tuple[int, ...]

    def __init__(self, index: int) -> None:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"arch index must be an int in 0..{NUM_ARCHS - 1}, got {index!r}")
        if not 0 <= index < NUM_ARCHS:
            raise ValueError(f"arch index {index} is out of range: valid indices are 0..{NUM_ARCHS - 1}")
        object.__setattr__(self, "_index", int(index))
        object.__setattr__(self, "_ops", tuple(int(o) for o in all_ops()[index]))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Arch is immutable")

    @classmethod
    def from_index(cls, index: int) -> Arch:
        """Build the architecture with this official index (0..15624)."""
        return cls(index)

    @classmethod
    def from_ops(cls, ops: object) -> Arch:
        """Build from six op ids (0..4) in official edge order."""
        return cls(index_of_ops(check_ops(ops)))

    @classmethod
    def from_str(cls, arch_str: str) -> Arch:
        """Parse the official string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
        match = _ARCH_STR_RE.match(arch_str) if isinstance(arch_str, str) else None
        if match is None:
            raise ValueError(
                f"not an NB201 arch string: {arch_str!r}; expected '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' "
                f"with ops from {list(OPS)}"
            )
        bad = [name for name in match.groups() if name not in _OP_ID]
        if bad:
            raise ValueError(f"unknown op {bad[0]!r} in {arch_str!r}; valid ops are {list(OPS)}")
        return cls.from_ops([_OP_ID[name] for name in match.groups()])

    @classmethod
    def from_onehot(cls, onehot: np.ndarray) -> Arch:
        """Build from a ``(6, 5)`` one-hot matrix (one row per edge)."""
        matrix = np.asarray(onehot)
        if (
            matrix.shape != (NUM_EDGES, NUM_OPS)
            or not np.all((matrix == 0) | (matrix == 1))
            or not np.all(matrix.sum(axis=1) == 1)
        ):
            raise ValueError(f"onehot must be a (6, 5) 0/1 matrix with exactly one 1 per row, got {matrix!r}")
        return cls.from_ops(matrix.argmax(axis=1))

    @classmethod
    def from_edge_matrix(cls, matrix: np.ndarray) -> Arch:
        """Build from a ``(4, 4)`` matrix with ``M[to, from]`` = op id and -1 off the six edges."""
        m = np.asarray(matrix)
        if m.shape != (NUM_NODES, NUM_NODES):
            raise ValueError(f"edge matrix must have shape (4, 4), got {m.shape}")
        mask = np.zeros((NUM_NODES, NUM_NODES), dtype=bool)
        for to, frm in EDGES:
            mask[to, frm] = True
        if np.any(m[~mask] != -1):
            raise ValueError("edge matrix must hold -1 everywhere except the six edges (to > from)")
        return cls.from_ops([m[to, frm] for to, frm in EDGES])

    @property
    def index(self) -> int:
        """The official index (0..15624)."""
        return self._index

    @property
    def ops(self) -> tuple[int, ...]:
        """The six op ids in official edge order."""
        return self._ops

    @property
    def op_names(self) -> tuple[str, ...]:
        """The six op names in official edge order."""
        return tuple(OPS[o] for o in self._ops)

    def to_str(self) -> str:
        """Return the official arch string."""
        return _format_arch_str(self._ops)

    def onehot(self) -> np.ndarray:
        """Return the ``(6, 5)`` float32 one-hot encoding (one row per edge)."""
        out = np.zeros((NUM_EDGES, NUM_OPS), dtype=np.float32)
        out[np.arange(NUM_EDGES), self._ops] = 1.0
        return out

    def edge_matrix(self) -> np.ndarray:
        """Return the ``(4, 4)`` int8 matrix with ``M[to, from]`` = op id and -1 where there is no edge."""
        out = np.full((NUM_NODES, NUM_NODES), -1, dtype=np.int8)
        for (to, frm), op in zip(EDGES, self._ops):
            out[to, frm] = op
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Arch) and other._index == self._index

    def __lt__(self, other: Arch) -> bool:
        return self._index < other._index

    def __hash__(self) -> int:
        return hash(("nb201.Arch", self._index))

    def __repr__(self) -> str:
        return f"Arch({self._index}, {self.to_str()!r})"

    def __reduce__(self) -> tuple[type, tuple[int]]:
        return (Arch, (self._index,))


def arch_str(index: int) -> str:
    """Return the official string of the architecture with this index."""
    return Arch(index).to_str()


@cache
def official_strings() -> list[str]:
    """Return the official arch string of every architecture, in index order (cached)."""
    return [_format_arch_str(tuple(row)) for row in all_ops().tolist()]


@cache
def _str_to_index() -> dict[str, int]:
    return {text: i for i, text in enumerate(official_strings())}


def index_of(arch: int | str | Arch | tuple[int, ...] | list[int]) -> int:
    """Return the official index of an arch given as index, official string, :class:`Arch` or op ids."""
    if isinstance(arch, Arch):
        return arch.index
    if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
        return Arch(int(arch)).index
    if isinstance(arch, str):
        found = _str_to_index().get(arch)
        return found if found is not None else Arch.from_str(arch).index  # from_str raises the precise error
    if isinstance(arch, (tuple, list, np.ndarray)):
        return Arch.from_ops(arch).index
    raise ArgumentTypeError(
        f"cannot interpret {arch!r} ({type(arch).__name__}) as an NB201 architecture: pass an int index in "
        f"0..{NUM_ARCHS - 1}, an official arch string, an Arch or six op ids"
    )
