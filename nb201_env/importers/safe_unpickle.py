"""Unpickle the official benchmark files with an allowlist of globals, refusing anything else.

Pickle can call any importable function while loading, so a tampered or mislabelled file could run code.
The official NB201 / NATS-Bench files only ever need the globals in :data:`ALLOWED_GLOBALS` (checked
against the real NATS sample and the writers' source): ``OrderedDict`` for ``train_times`` and the NATS
per-arch container, numpy scalars (``params``, ``latency``) with their ``dtype``, and ``_codecs.encode``,
which protocol 2 uses to spell ``bytes``. Every other global raises :class:`UnsafePickleError` before
anything is called.
"""

from __future__ import annotations

import codecs
import collections
import io
import pickle
from collections.abc import Callable
from typing import IO, Any, Final

import numpy as np


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asks for a global outside the allowlist of the official benchmark files."""


def _numpy_scalar() -> Callable[..., Any]:
    try:  # numpy >= 2 (and 1.26's forward-compatible alias); avoids numpy.core's deprecation shim
        from numpy._core.multiarray import scalar
    except ImportError:  # pragma: no cover - numpy < 1.26
        from numpy.core.multiarray import scalar  # type: ignore[no-redef]
    return scalar


ALLOWED_GLOBALS: Final[dict[tuple[str, str], Callable[[], Any]]] = {
    ("collections", "OrderedDict"): lambda: collections.OrderedDict,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,  # how numpy 1.x (the official writers) spells it
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,  # how numpy 2.x spells it
    ("numpy", "dtype"): lambda: np.dtype,
    ("_codecs", "encode"): lambda: codecs.encode,  # protocol 2 writes bytes as encode(str, 'latin1')
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
    """A C-speed unpickler whose ``find_class`` only returns :data:`ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:
        return resolve_global(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError(
            f"the pickle references external storage (persistent id {pid!r}); official benchmark files hold "
            "no tensors, so this file is not one"
        )


def safe_load(fileobj: IO[bytes]) -> Any:
    """Load one pickle from a binary file object with the restricted unpickler."""
    return RestrictedUnpickler(fileobj).load()


def safe_loads(data: bytes) -> Any:
    """Load one pickle from bytes with the restricted unpickler."""
    return RestrictedUnpickler(io.BytesIO(data)).load()
