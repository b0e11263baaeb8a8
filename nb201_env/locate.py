"""Find the store to use: an explicit path, then ``$NB201_DATA``, then the default cache directory, then the
small benchmark bundled with the package (trained by our own pipeline, so a fresh install works offline)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from nb201_env.store.codec import StoreError
from nb201_env.store.schema import MANIFEST

log = logging.getLogger(__name__)

ENV_VAR = "NB201_DATA"
BUNDLED_NAME = "nb201-proxy-cifar10.store"
_warned = False


def default_store_path() -> Path:
    """Return where ``nb201 convert`` writes by default: ``$XDG_CACHE_HOME/nb201_env/nb201.store``."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "nb201_env" / "nb201.store"


def bundled_store_path() -> Path:
    """Return the path of the benchmark shipped inside the package."""
    return Path(__file__).resolve().parent / "data" / BUNDLED_NAME


def find_store(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the store directory to open, or raise :class:`StoreError` saying where we looked."""
    global _warned
    if path is not None:
        return Path(path)
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env)
    default = default_store_path()
    if (default / MANIFEST).is_file():
        return default
    bundled = bundled_store_path()
    if (bundled / MANIFEST).is_file():
        if not _warned:
            log.warning(
                "no official NB201 data configured (no path, no $%s, nothing at %s): using the bundled proxy "
                "benchmark %r, trained by nb201_env on a CIFAR-10 proxy task; its figures are NOT NB201's. "
                "Run `nb201 download nats-tss-simple` or `nb201 convert ...` for the real benchmark.",
                ENV_VAR,
                default,
                BUNDLED_NAME.removesuffix(".store"),
            )
            _warned = True
        return bundled
    raise StoreError(
        f"no benchmark store configured: pass a path, set ${ENV_VAR}, or convert data into {default} "
        "(e.g. `nb201 convert shared path/to/shared/nb201` or `nb201 convert nats NATS-tss-v1_0-3ffb9-simple`)"
    )
