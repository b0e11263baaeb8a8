"""Unpickle the official benchmark files with an allowlist of globals, refusing anything else.

Pickle can call any importable function while loading, so a tampered or mislabelled file could run code.
The official NB201 / NATS-Bench files only ever need the globals in :data:`ALLOWED_GLOBALS` (checked
against the real NATS sample and the writers' source): ``OrderedDict`` for ``train_times`` and the NATS
per-arch container, numpy scalars (``params``, ``latency``) with their ``dtype``, and ``_codecs.encode``,
which protocol 2 uses to spell ``bytes``. Every other global raises :class:`UnsafePickleError` before
anything is called.

The numpy globals are not handed out as they are: numpy's scalar reconstructor copies raw bytes from the
file into whatever dtype the file describes, and a dtype's pickled state can mark it as holding pointers, so
a crafted file could make numpy read an address from the file. The file gets stand-ins instead that accept
only the plain fixed-size numbers the official files hold (:data:`NUMBER_DTYPES`, the standard state, the
exact byte length). Before the C unpickler runs, :func:`~nb201_env.importers.pickle_scan.scan_pickle`
bounds how many containers the pickle builds, so no nesting can overflow the interpreter's stack.
"""

from __future__ import annotations

import collections
import io
import pickle
from collections.abc import Callable
from typing import IO, Any, Final

import numpy as np

from nb201_env.importers.errors import UnsafePickleError
from nb201_env.importers.pickle_scan import MAX_CONTAINERS, TruncatedPickleError, scan_pickle

__all__ = ["ALLOWED_GLOBALS", "NUMBER_DTYPES", "RestrictedUnpickler", "UnsafePickleError", "safe_load", "safe_loads"]

NUMBER_DTYPES: Final = ("f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1")
"""The only dtypes a pickled numpy scalar may have: plain numbers of a fixed size (the official files: f8)."""

MAX_PICKLE_BYTES: Final = 16 << 20
"""Largest pickle :func:`safe_load` reads from a file (the official ``meta`` pickle is 1.4 MB)."""


class PickledDtype:
    """Stand-in for ``numpy.dtype`` while unpickling: a plain number dtype, or an error naming what was asked."""

    __slots__ = ("dtype",)

    def __init__(self, spec: object, align: object = False, copy: object = True) -> None:
        if not (isinstance(spec, str) and spec in NUMBER_DTYPES):
            raise UnsafePickleError(
                f"refusing numpy dtype {spec!r}: official benchmark files only hold numbers of the dtypes "
                f"{', '.join(NUMBER_DTYPES)}"
            )
        if align not in (0, False) or copy not in (1, True) or type(align) not in (int, bool):
            raise UnsafePickleError(f"refusing numpy dtype {spec!r} with align={align!r}, copy={copy!r}")
        self.dtype = np.dtype(spec)

    def __setstate__(self, state: object) -> None:
        single = self.dtype.itemsize == 1
        orders = ("|",) if single else ("<", ">")
        if (
            not isinstance(state, tuple)
            or len(state) != 8
            or state[0] != 3
            or state[1] not in orders
            or state[2:] != (None, None, None, -1, -1, 0)
        ):
            raise UnsafePickleError(
                f"refusing numpy dtype {self.dtype.str[1:]} with state {state!r:.120}: the official files only hold "
                f"the standard state of a plain number (3, {orders[0]!r}, None, None, None, -1, -1, 0); other "
                "states can declare fields, object references or a different item size"
            )
        if not single:
            self.dtype = self.dtype.newbyteorder(state[1])


def numpy_scalar(dtype: object, data: object = None) -> Any:
    """Stand-in for numpy's scalar reconstructor: one number from exactly ``itemsize`` bytes of a plain dtype."""
    if not isinstance(dtype, PickledDtype) or not hasattr(dtype, "dtype"):
        raise UnsafePickleError(f"refusing a numpy scalar of {type(dtype).__name__}: expected a pickled number dtype")
    if not isinstance(data, bytes) or len(data) != dtype.dtype.itemsize:
        size = len(data) if isinstance(data, (bytes, str)) else type(data).__name__
        raise UnsafePickleError(
            f"refusing a numpy {dtype.dtype.name} scalar built from {size} bytes; it needs exactly "
            f"{dtype.dtype.itemsize}"
        )
    return np.frombuffer(data, dtype=dtype.dtype)[0]


def latin1_encode(text: object, encoding: object = "latin1", errors: object = "strict") -> bytes:
    """Stand-in for ``_codecs.encode`` as protocol 2 uses it: ``str`` to ``bytes`` in latin-1, nothing else."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise UnsafePickleError(
            f"refusing _codecs.encode({type(text).__name__}, {encoding!r}): the official files only encode "
            "strings as latin1 (how protocol 2 writes bytes)"
        )
    return text.encode("latin1")


ALLOWED_GLOBALS: Final[dict[tuple[str, str], Callable[[], Any]]] = {
    ("collections", "OrderedDict"): lambda: collections.OrderedDict,
    ("numpy.core.multiarray", "scalar"): lambda: numpy_scalar,  # how numpy 1.x (the official writers) spells it
    ("numpy._core.multiarray", "scalar"): lambda: numpy_scalar,  # how numpy 2.x spells it
    ("numpy", "dtype"): lambda: PickledDtype,
    ("_codecs", "encode"): lambda: latin1_encode,  # protocol 2 writes bytes as encode(str, 'latin1')
}
"""``(module, name)`` -> a function returning the object to hand to the unpickler."""


def resolve_global(module: str, name: str) -> Any:
    """Return the allowed global ``module.name`` or raise :class:`UnsafePickleError` naming it."""
    factory = ALLOWED_GLOBALS.get((module, name))
    if factory is None:
        allowed = ", ".join(f"{m}.{n}" for m, n in ALLOWED_GLOBALS)
        raise UnsafePickleError(
            f"refusing to load global {module}.{name}: official NB201 / NATS-Bench files only use {allowed}. "
            "The file is not an official benchmark file or has been altered; nothing was executed."
        )
    return factory()


class RestrictedUnpickler(pickle.Unpickler):
    """A C-speed unpickler whose ``find_class`` only returns :data:`ALLOWED_GLOBALS` (see :func:`safe_loads`)."""

    def find_class(self, module: str, name: str) -> Any:
        return resolve_global(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError(
            f"the pickle references external storage (persistent id {pid!r}); official benchmark files hold "
            "no tensors, so this file is not one"
        )


def safe_loads(data: bytes, max_containers: int = MAX_CONTAINERS) -> Any:
    """Load one pickle from bytes: scan its structure, then unpickle it with the restricted unpickler."""
    end = scan_pickle(data, 0, max_containers)
    try:
        return RestrictedUnpickler(io.BytesIO(data[:end] if end < len(data) else data)).load()
    except RecursionError:  # the container bound keeps nesting far below the C stack, not below Python's limit
        raise UnsafePickleError("refusing a pickle nested too deeply to load") from None


def safe_load(fileobj: IO[bytes], max_bytes: int = MAX_PICKLE_BYTES) -> Any:
    """Load the next pickle of a seekable binary file (at most ``max_bytes``); leave the file just after it."""
    start = fileobj.tell()
    size = 1 << 16
    while True:
        fileobj.seek(start)
        data = fileobj.read(size)
        try:
            end = scan_pickle(data)
        except TruncatedPickleError:
            if len(data) == size and size < max_bytes:
                size = min(size * 4, max_bytes)
                continue
            if len(data) == max_bytes:
                raise UnsafePickleError(f"refusing a pickle larger than {max_bytes} bytes") from None
            raise
        fileobj.seek(start + end)
        return safe_loads(data[:end])
