"""Download a known benchmark file and convert it into a store with the matching importer."""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Callable
from pathlib import Path

from nb201_env.download.fetch import DEFAULT_TIMEOUT, download
from nb201_env.download.known_files import Kind, KnownFile, known_file
from nb201_env.download.progress import arch_progress
from nb201_env.locate import default_store_path
from nb201_env.store.destination import absolute, check_destination

log = logging.getLogger(__name__)


def _converter(kind: Kind) -> Callable[..., Path]:
    """Return the importer for a kind (imported lazily: the importers pull in numpy-heavy modules)."""
    if kind == "nats":
        from nb201_env.importers.nats import convert_nats

        return convert_nats
    from nb201_env.importers.nb201_pth import convert_nb201_pth

    return convert_nb201_pth


def fetch_and_convert(
    name: str | KnownFile,
    dest_dir: str | os.PathLike[str] | None = None,
    out_store: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
    progress: bool = True,
    sha256: str | None = None,
    opener: urllib.request.OpenerDirector | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Download a known file into ``dest_dir`` and convert it into ``out_store``; return the store's path."""
    # dest_dir defaults to default_download_dir(), out_store to default_store_path().
    entry = known_file(name) if isinstance(name, str) else name
    out = absolute(out_store) if out_store is not None else default_store_path()
    if out.exists() and not overwrite:
        # checked here too: finding out after a 5 GB download would be a waste
        raise FileExistsError(f"{out} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    check_destination(out, overwrite=overwrite, protect=() if dest_dir is None else (dest_dir,))
    path = download(entry, dest_dir, sha256=sha256, progress=progress, opener=opener, timeout=timeout)
    update, close = arch_progress(f"convert {entry.filename}", progress)
    try:
        store = _converter(entry.kind)(path, out, overwrite=overwrite, progress=update)
    finally:
        close()
    log.info("converted %s into %s", path, store)
    return store
