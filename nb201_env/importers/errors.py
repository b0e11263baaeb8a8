"""Errors raised while importing official benchmark files."""

from __future__ import annotations


class SourceFormatError(ValueError):
    """A source file does not have the layout or values the official schema says it must have."""


class CorruptSourceError(SourceFormatError):
    """A source file is truncated or damaged (bad compression, incomplete or malformed pickle)."""
