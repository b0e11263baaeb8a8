"""Find the store to use: an explicit path, then ``$NB201_DATA``, then the default cache directory."""

from __future__ import annotations

import os
from pathlib import Path

from nb201_env.store.codec import StoreError
from nb201_env.store.schema import MANIFEST

ENV_VAR = "NB201_DATA"


def default_store_path() -> Path:
    """Return where ``nb201 convert`` writes by default: ``$XDG_CACHE_HOME/nb201_env/nb201.store``."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "nb201_env" / "nb201.store"


def find_store(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the store directory to open, or raise :class:`StoreError` saying where we looked."""
    if path is not None:
        return Path(path)
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env)
    default = default_store_path()
    if (default / MANIFEST).is_file():
        return default
    raise StoreError(
        f"no benchmark store configured: pass a path, set ${ENV_VAR}, or convert data into {default} "
        "(e.g. `nb201 convert shared path/to/shared/nb201` or `nb201 convert nats NATS-tss-v1_0-3ffb9-simple`)"
    )
