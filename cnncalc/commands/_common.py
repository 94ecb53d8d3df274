"""Helpers shared by commands: option parsing and writing output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from ..errors import CnncalcError

FORMATS = ("table", "json", "csv", "markdown", "html")

# Options that mean the same in every command, declared once.
OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout.")
SET = typer.Option(None, "--set", "-s", help="Override a spec variable: name=value (repeatable).")
VARIANT = typer.Option(None, "--variant", help="Variant of a family spec file.")


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``--set name=value`` options → {name: value-text}."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise CnncalcError(
                f"--set expects name=value, got '{item}'", hint="e.g. --set num_classes=10"
            )
        k, v = item.split("=", 1)
        k = k.strip()
        if not k.isidentifier():
            raise CnncalcError(f"--set: '{k}' is not a variable name")
        out[k] = v.strip()
    return out


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        from ..errors import did_you_mean

        raise CnncalcError(f"unknown format '{fmt}'", hint=did_you_mean(fmt, FORMATS, "formats"))
    return fmt


def write_output(text: str, output: Path | None) -> None:
    """Write to ``--output FILE`` or stdout."""
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CnncalcError(f"cannot write {output}: {exc.strerror}") from None
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def use_rich(output: Path | None) -> bool:
    return output is None and sys.stdout.isatty()
