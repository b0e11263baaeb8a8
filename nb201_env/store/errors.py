"""What goes wrong with a store, each error once: opening or writing it, its manifest, a record or a value."""

from __future__ import annotations


class StoreError(Exception):
    """A store cannot be opened or written as asked."""


class CorruptStoreError(StoreError):
    """A store's files do not match its manifest (truncated, altered or missing)."""


class OldFormatError(StoreError):
    """The store was written by an older nb201_env in a format this version only reads to upgrade it."""


class MissingRecordError(StoreError, LookupError):
    """The store holds no record (or stat) under the requested key."""


class ManifestError(ValueError):
    """A manifest entry is inconsistent (raised while parsing; reported as a corrupt store)."""


class MissingValueError(LookupError):
    """The store holds the record, but not a value for this architecture, epoch or seed."""
