"""Errors raised while importing official benchmark files."""

from __future__ import annotations

import pickle


class SourceFormatError(ValueError):
    """A source file does not have the layout or values the official schema says it must have."""


class CorruptSourceError(SourceFormatError):
    """A source file is truncated or damaged (bad compression, incomplete or malformed pickle)."""


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asks for something the official benchmark files never need, so it is refused before loading.

    A global outside the allowlist, a numpy dtype or scalar other than the fixed-size numbers the official
    files hold, more containers or deeper nesting than they have, or more data than their layout allows.
    """
