"""CLI commands, one module each. A module defines ``register(app)``; adding a command is adding a file."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

__all__ = ["register_all"]


def register_all(app: Any) -> None:
    """Import every module of this package (sorted) and let it register its command(s)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(app)
