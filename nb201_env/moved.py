"""Old import paths of the modules that moved in 0.2, kept working for one version with a ``DeprecationWarning``.

``import nb201_env.env`` (and the others below) returns the module at its new path: a finder at the end of
``sys.meta_path`` answers only for these names, after the normal finders found no file for them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

MOVED: dict[str, str] = {
    "nb201_env.env": "nb201_env.envs.sequential",
    "nb201_env.oneshot": "nb201_env.envs.oneshot",
    "nb201_env.vector_env": "nb201_env.envs.vector",
    "nb201_env.multi_objective": "nb201_env.envs.multi_objective",
    "nb201_env.costs": "nb201_env.complexity",
    "nb201_env.record_view": "nb201_env.store.view",
    "nb201_env.importers.fixtures": "nb201_env.testing.official_files",
}
"""Old module path -> new module path (the old ones go in 0.3)."""


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import an old module path as the module at its new path, with a ``DeprecationWarning``."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        return importlib.util.spec_from_loader(fullname, self) if fullname in MOVED else None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; the old path goes in nb201_env 0.3", DeprecationWarning, 2)
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module at the new path is already imported."""


def install() -> None:
    """Add the finder once (importing the package calls this)."""
    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(MovedModules())
