"""Find the store to use, by path or by benchmark name.

Resolution order when nothing is passed: ``$NB201_DATA`` (a path or a name), then the store that
``nb201 convert`` / ``nb201 download`` write into the cache directory, then the bundled ``nb201-public``
benchmark (NB201's own figures from public sources, shipped inside the package so a fresh install serves
real numbers offline). A path or ``$NB201_DATA`` that does not exist is an error, never a silent fallback.

Benchmarks known by name are the stores bundled with the package (``nb201_env/data/<name>.store``) and the
stores in the cache directory (by the name in their manifest); :func:`known_stores` lists them.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nb201_env.store.destination import absolute, missing_store_note
from nb201_env.store.errors import StoreError
from nb201_env.store.schema import MANIFEST

log = logging.getLogger(__name__)

ENV_VAR = "NB201_DATA"
DEFAULT_BENCHMARK = "nb201-public"
BUNDLED_DIR = Path(__file__).resolve().parent / "data"
_SUFFIX = ".store"
_announced = False

Origin = Literal["bundled", "cache"]


@dataclass(frozen=True)
class KnownStore:
    """A benchmark that can be opened by name: where it is, where it came from, what it is in one line."""

    name: str
    path: Path
    origin: Origin
    summary: str
    shadowed: bool = False  # a cached store whose name a bundled one already takes (open it by path)


def cache_dir() -> Path:
    """Return the cache directory of converted stores: ``$XDG_CACHE_HOME/nb201_env``."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "nb201_env"


def default_store_path() -> Path:
    """Return where ``nb201 convert`` writes by default: ``$XDG_CACHE_HOME/nb201_env/nb201.store``."""
    return cache_dir() / "nb201.store"


def bundled_store_path(name: str = DEFAULT_BENCHMARK) -> Path:
    """Return the path of a benchmark shipped inside the package (``nb201-public`` by default)."""
    names = bundled_names()
    if name not in names:
        raise StoreError(f"no bundled benchmark named {name!r}; bundled benchmarks are: {', '.join(names)}")
    return BUNDLED_DIR / f"{name}{_SUFFIX}"


def bundled_names() -> tuple[str, ...]:
    """Return the names of the benchmarks shipped inside the package, the default first."""
    names = sorted(p.name.removesuffix(_SUFFIX) for p in BUNDLED_DIR.glob(f"*{_SUFFIX}") if (p / MANIFEST).is_file())
    return tuple(sorted(names, key=lambda n: n != DEFAULT_BENCHMARK))


def _manifest(path: Path) -> dict:
    try:
        doc = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _summary(doc: dict) -> str:
    extra = doc.get("extra") if isinstance(doc.get("extra"), dict) else {}
    if extra.get("summary"):
        return str(extra["summary"])
    first = str(doc.get("description") or "").split(". ")[0].split(" (")[0].split(": ")[0].strip()
    if extra.get("kind") == "proxy-table" and isinstance(extra.get("recipe"), dict):
        recipe = extra["recipe"]
        first += f" ({recipe.get('resolution')} px, {recipe.get('epochs')} epochs; a proxy, not NB201's figures)"
    return first if len(first) <= 120 else first[:117] + "..."


def known_stores() -> list[KnownStore]:
    """Return the bundled benchmarks (default first), then the stores in the cache directory."""
    found = [
        KnownStore(
            name, BUNDLED_DIR / f"{name}{_SUFFIX}", "bundled", _summary(_manifest(BUNDLED_DIR / f"{name}{_SUFFIX}"))
        )
        for name in bundled_names()
    ]
    taken = {k.name for k in found}
    folder = cache_dir()
    for path in sorted(folder.glob(f"*{_SUFFIX}")) if folder.is_dir() else []:
        doc = _manifest(path)
        name = doc.get("name")
        if isinstance(name, str) and name:
            found.append(KnownStore(name, path, "cache", _summary(doc), shadowed=name in taken))
            taken.add(name)
    return found


def _known_names() -> str:
    return ", ".join(dict.fromkeys(k.name for k in known_stores()))


def resolve_store(store: str | os.PathLike[str], what: str = "store") -> Path:
    """Return the store directory named by ``store``: a benchmark name, else a path to a store directory.

    A name wins over a same-named folder in the working directory; write ``./name`` to mean the folder.
    """
    if isinstance(store, bool) or not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"{what} must be a benchmark name or a path, got {type(store).__name__} {store!r}")
    text = os.fspath(store)
    if not text:
        raise StoreError(f"{what} is empty; give a benchmark name ({_known_names()}) or a store path")
    if isinstance(store, str) and "/" not in text and os.sep not in text:
        for known in known_stores():
            if known.name == text and not known.shadowed:
                return known.path
    path = Path(text).expanduser()
    if (path / MANIFEST).is_file():
        return path
    if path.exists():
        raise StoreError(f"{what} {text!r}: {path} is not a store (it has no {MANIFEST})")
    lost = missing_store_note(absolute(path))
    raise StoreError(
        f"{what} {text!r} is neither a known benchmark nor an existing store directory{lost}; "
        f"known benchmarks: {_known_names()} (see `nb201 list`); `nb201 convert` builds a store from data files"
    )


def find_store(store: str | os.PathLike[str] | None = None) -> Path:
    """Return the store directory to open: ``store``, else ``$NB201_DATA``, the cache, the bundled default."""
    if store is not None:
        return resolve_store(store)
    path = default_store()
    if not os.environ.get(ENV_VAR) and path.parent == BUNDLED_DIR:
        _announce_default(path)
    return path


def default_store() -> Path:
    """Return the store opened when none is named: ``$NB201_DATA``, else the cache's, else the bundled default."""
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return resolve_store(from_env, f"${ENV_VAR}")
    default = default_store_path()
    if (default / MANIFEST).is_file():
        return default
    lost = missing_store_note(default)
    if lost:  # never answer from the bundled benchmark while the user's own store waits to be put back
        raise StoreError(f"no store at {default}{lost}")
    return bundled_store_path(DEFAULT_BENCHMARK)


def _announce_default(path: Path) -> None:
    """Say once per process, in one line, which benchmark is used when nothing is configured."""
    global _announced
    if _announced:
        return
    _announced = True
    log.warning(
        "no benchmark configured: using the bundled %r (`nb201 info` says what it lacks; "
        "`nb201 download nats-tss-simple` gets the full data)",
        path.name.removesuffix(_SUFFIX),
    )
