"""CLI commands, one module each. A module defines ``register(app)``; adding a command is adding a file."""

from __future__ import annotations

import importlib
import os
from typing import Any

__all__ = ["register_all"]


def register_all(app: Any, only: str | None = None) -> None:
    """Import the command modules (sorted) and let each register its command(s).

    ``only``: the command named on the command line; when it is one of ours, only its module is
    imported and registered (start-up time: typer builds every registered command's parser on
    each run). ``cnncalc --help`` and anything unrecognised register them all.
    """
    names = sorted(
        f[:-3] for f in os.listdir(__path__[0]) if f.endswith(".py") and not f.startswith("_")
    )
    if only in names:
        names = [only]
    done = _registered.setdefault(id(app), set())
    for name in names:
        if name in done:
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(app)
        done.add(name)


_registered: dict[int, set[str]] = {}
