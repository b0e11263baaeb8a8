"""Decide whether a store may be written at a path, before any long work starts.

Writing a store never loses a user's file: an existing path is only replaced when asked (``overwrite``),
and then only if it is a store this package wrote (a directory holding our manifest and nothing but our
array files), never the source being converted or a folder above it. The folder it goes into must be
writable. Scratch folders left by killed writers (``.NAME.partial-PID``) are removed once their process is
gone, or reported.

Replacing a store takes two renames (the old one aside to ``.NAME.old-PID``, the new one in), and the old
store is deleted only once the new one is in place. A writer interrupted between the two puts the old one
back itself, or, killed outright, leaves it for the next writer of that path, which restores it before
anything else; readers that find no store at the path name the folder holding it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from nb201_env.store.errors import StoreError
from nb201_env.store.schema import FORMAT_NAME, MANIFEST
from nb201_env.validate import check_bool, check_path

log = logging.getLogger(__name__)

_OUR_FILE = re.compile(r"[0-9a-f]{20}\.npy")
_SCRATCH = re.compile(r"\.(?P<name>.+)\.(?:partial|old)-(?P<pid>\d+)")
_SCRATCH_FILE = re.compile(r"(?:[0-9a-f]{20}|(?:record|stat|mask)-\d+)\.npy|manifest\.json")


def absolute(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` with ``~`` expanded, made absolute against the current directory (links kept)."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def foreign_entry(path: Path) -> str | None:
    """Return why ``path`` is not a store this package wrote (``None`` if it is one)."""
    if path.is_symlink() or not path.is_dir():
        return "it is not a directory" if not path.is_symlink() else "it is a symbolic link"
    manifest = path / MANIFEST
    try:
        doc = json.loads(manifest.read_bytes()[: 64 << 20].decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return f"it holds no readable {MANIFEST} of an nb201_env store"
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        return f"its {MANIFEST} is not an nb201_env store manifest"
    for entry in path.iterdir():
        if entry.name != MANIFEST and not (_OUR_FILE.fullmatch(entry.name) and entry.is_file()):
            return f"it holds {entry.name!r}, which is not a file of the store"
    return None


def check_destination(
    path: str | os.PathLike[str], *, overwrite: bool = False, protect: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """Return the absolute store path if a store may be written there, else raise :class:`StoreError` saying why.

    ``protect`` lists paths (the sources being read) that the store must neither be nor contain. A previous
    store that an interrupted overwrite left aside is first put back (:func:`restore_interrupted_swap`).
    """
    check_path("output path", path)
    check_bool("overwrite", overwrite)
    out = absolute(path)
    real = out.resolve()
    for source in protect:
        src = absolute(source).resolve()
        if real == src or real in src.parents:
            raise StoreError(
                f"refusing to write the store to {out}: it is the source {source} or a folder above it, and writing "
                "there would replace the source"
            )
    restore_interrupted_swap(out)
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise StoreError(f"{out} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
        why = foreign_entry(out)
        if why is not None:
            raise StoreError(
                f"refusing to overwrite {out}: {why}. --overwrite only replaces a store written by nb201_env; "
                "choose another output path or move the existing one away yourself"
            )
    check_writable_folder(out.parent)
    return out


def check_writable_folder(folder: Path) -> None:
    """Raise unless ``folder`` (or the nearest existing folder above it, where it will be created) is writable."""
    existing = folder
    while not existing.exists():
        if existing.is_symlink() or existing.parent == existing:
            raise StoreError(f"cannot create {folder}: {existing} is a dangling link")
        existing = existing.parent
    if not existing.is_dir():
        raise StoreError(f"cannot write into {folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise StoreError(f"cannot write into {folder}: {existing} is not writable (permissions or read-only media)")


def swap_into_place(new: Path, path: Path) -> None:
    """Move the finished store ``new`` to ``path``, replacing the store there; the old one survives any failure.

    The old store is renamed aside, the new one renamed in, and the old one deleted last. An exception
    between the renames (KeyboardInterrupt included) puts the old store back before it propagates; a process
    killed there leaves it at ``.NAME.old-PID`` for :func:`restore_interrupted_swap`.
    """
    old = path.parent / f".{path.name}.old-{os.getpid()}"
    path.rename(old)
    try:
        new.rename(path)
    except BaseException:
        old.rename(path)
        raise
    shutil.rmtree(old, ignore_errors=True)  # what a failure leaves is removed by the next write of this path


def set_aside(path: Path) -> list[Path]:
    """Return the ``.NAME.old-PID`` folders beside ``path`` that hold a store and whose writer no longer runs."""
    folder = path.parent
    if not folder.is_dir():
        return []
    prefix = f".{path.name}.old-"
    return [
        entry
        for entry in sorted(folder.iterdir())
        if entry.name.startswith(prefix)
        and (match := _SCRATCH.fullmatch(entry.name)) is not None
        and match["name"] == path.name
        and entry.is_dir()
        and not entry.is_symlink()
        and not _alive(int(match["pid"]))
        and foreign_entry(entry) is None
    ]


def missing_store_note(path: Path) -> str:
    """Return a sentence naming where an interrupted overwrite left the store of ``path`` ("" if it did not)."""
    aside = set_aside(path) if not (path.exists() or path.is_symlink()) else []
    if not aside:
        return ""
    return (
        f"; an interrupted overwrite left the previous store at {', '.join(str(p) for p in aside)}: the next "
        f"`nb201 convert` into {path} puts it back first, or move it back yourself (mv {aside[0]} {path})"
    )


def restore_interrupted_swap(path: Path) -> Path | None:
    """Put back the previous store of ``path`` that an interrupted overwrite left aside; return it if one was.

    Only when nothing is at ``path`` and exactly one such folder exists; with several, the choice is the
    user's, so :class:`StoreError` names them.
    """
    if path.exists() or path.is_symlink():
        return None
    aside = set_aside(path)
    if not aside:
        return None
    if len(aside) > 1:
        raise StoreError(
            f"nothing is at {path}, and interrupted overwrites left {len(aside)} previous stores beside it: "
            f"{', '.join(str(p) for p in aside)}; move the one you want back to {path} and remove the others"
        )
    aside[0].rename(path)
    log.warning("put back %s from %s, where an interrupted overwrite had left it", path, aside[0])
    return aside[0]


def clean_stale_scratch(folder: Path, name: str) -> list[Path]:
    """Remove scratch folders of ``name`` left in ``folder`` by writers that no longer run; return those kept.

    A scratch folder whose process still runs, or that holds anything a writer does not write, is kept and
    reported in the log, and so is a previous store set aside while nothing is at ``folder / name``.
    """
    kept: list[Path] = []
    if not folder.is_dir():
        return kept
    aside = [] if (folder / name).exists() else set_aside(folder / name)
    for entry in folder.iterdir():
        match = _SCRATCH.fullmatch(entry.name)
        if match is None or match["name"] != name or entry.is_symlink() or not entry.is_dir():
            continue
        pid = int(match["pid"])
        if entry in aside:
            log.warning("kept %s: it holds the previous store of %s, which is not in place", entry, folder / name)
            kept.append(entry)
        elif _alive(pid):
            log.warning("kept %s: writer process %d still runs", entry, pid)
            kept.append(entry)
        elif any(not (_SCRATCH_FILE.fullmatch(p.name) and p.is_file()) for p in entry.iterdir()):
            log.warning("kept %s, left by writer process %d: it holds files a writer does not write", entry, pid)
            kept.append(entry)
        else:
            shutil.rmtree(entry, ignore_errors=True)
            log.info("removed %s, left by writer process %d, which no longer runs", entry, pid)
    return kept


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own earlier, abandoned attempt
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
