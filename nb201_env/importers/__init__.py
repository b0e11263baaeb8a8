"""Importers that turn the official NB201 / NATS-Bench topology files into our store."""

from nb201_env.importers.errors import CorruptSourceError, SourceFormatError
from nb201_env.importers.safe_unpickle import UnsafePickleError, safe_load, safe_loads

__all__ = ["CorruptSourceError", "SourceFormatError", "UnsafePickleError", "safe_load", "safe_loads"]
