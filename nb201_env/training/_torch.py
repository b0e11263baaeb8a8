"""Import PyTorch for the training extra, or fail with the command that installs it."""

from __future__ import annotations

INSTALL_HINT = "pip install nb201-env[train]"

try:
    import torch
except ImportError as error:  # torch is an optional extra: say how to get it instead of a bare ModuleNotFoundError
    raise ImportError(
        f"nb201_env.training needs PyTorch, which is not importable here ({error}); install it with: {INSTALL_HINT}"
    ) from error

__all__ = ["INSTALL_HINT", "torch"]
