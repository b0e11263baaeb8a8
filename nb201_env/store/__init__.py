"""Our on-disk benchmark format: plain ``.npy`` arrays (read into memory, checked) and a sealed JSON manifest."""

from nb201_env.store.errors import CorruptStoreError, MissingRecordError, MissingValueError, StoreError
from nb201_env.store.reader import Store
from nb201_env.store.schema import RecordInfo, RecordKey, SeedAxis, Source, StatInfo, StatKey
from nb201_env.store.writer import StoreWriter

__all__ = [
    "CorruptStoreError",
    "MissingRecordError",
    "MissingValueError",
    "RecordInfo",
    "RecordKey",
    "SeedAxis",
    "Source",
    "StatInfo",
    "StatKey",
    "Store",
    "StoreError",
    "StoreWriter",
]
