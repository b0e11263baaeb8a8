"""Re-seal a store written by nb201_env: check every file, then write the current, sealed manifest.

Stores written before the manifest carried a seal (format 1), or sealed by an earlier draft of format 2, are
refused on open; this upgrades one without touching its arrays. Only a store that passes every check is
re-sealed: the structural rules of the current format, and every file's size, ``.npy`` header and SHA-256
against the manifest. What the seal cannot vouch for is the old manifest itself: re-seal only stores you
built (or downloaded from a source you trust).
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from dataclasses import replace
from pathlib import Path

from nb201_env.store.codec import manifest_from_json, manifest_to_json, read_manifest_text
from nb201_env.store.reader import array_files, check_file_hash, check_file_header, check_file_size
from nb201_env.store.schema import MANIFEST
from nb201_env.validate import check_path

log = logging.getLogger(__name__)


def reseal_store(path: str | os.PathLike[str]) -> Path:
    """Check every file of the store at ``path`` and rewrite its manifest in the current sealed format."""
    root = Path(check_path("store path", path)).expanduser()
    manifest_path = root / MANIFEST
    manifest = manifest_from_json(read_manifest_text(manifest_path), str(manifest_path), upgrade=True)
    for entry in array_files(manifest):
        check_file_size(root, entry)
        check_file_header(root, entry)
        check_file_hash(root, entry)
    from nb201_env import __version__

    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    extra = {**manifest.extra, "resealed": f"{stamp} by nb201_env {__version__} (arrays unchanged)"}
    scratch = root / f".{MANIFEST}.reseal-{os.getpid()}"
    scratch.write_text(manifest_to_json(replace(manifest, extra=extra)))
    os.replace(scratch, manifest_path)  # atomic: the old manifest stays until the new one is complete
    log.info("re-sealed %s (%d files checked)", root, len(array_files(manifest)))
    return root
