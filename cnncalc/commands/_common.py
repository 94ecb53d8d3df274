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
FORMAT = typer.Option(
    None,
    "--format",
    "-f",
    help="table, json, csv, markdown or html (one-file report); default: from -o FILE's "
    "extension, else table.",
)
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


def choice(value: str, choices: Any, option: str, what: str = "values") -> str:
    """Check an option's value against its choices: a usage error (exit 2, one line) naming
    the closest choices, or listing them once."""
    if value in choices:
        return value
    from ..errors import did_you_mean

    raise typer.BadParameter(
        f"unknown {what[:-1] if what.endswith('s') else what} '{value}'; "
        + did_you_mean(value, choices, what),
        ctx=_context(),
        param_hint=f"'{option}'",
    )


def _context() -> Any:
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - typer < 0.26 depends on click
        try:
            from click import get_current_context  # type: ignore[no-redef]
        except ImportError:
            return None
    return get_current_context(silent=True)


#: ``-o FILE`` without ``-f``: the format its extension names.
EXTENSIONS = {
    ".json": "json",
    ".csv": "csv",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "table",
    ".text": "table",
    ".html": "html",
    ".htm": "html",
}


def resolve_format(
    fmt: str | None, output: Path | None, formats: Any = FORMATS, default: str = "table"
) -> str:
    """The output format: ``-f`` when given (checked; 'text' and 'table' are one), else the
    extension of ``-o FILE`` (out.json → json, .csv, .md, .txt, .html), else ``default``. An explicit
    ``-f`` wins over the extension (``-f json -o notes.txt`` writes JSON)."""
    if fmt is None:
        if output is not None and output.suffix.lower() in EXTENSIONS:
            ext = EXTENSIONS[output.suffix.lower()]
            return ext if ext in formats else default
        return default
    fmt = fmt.lower()
    if fmt in ("text", "table") and ("table" in formats or "text" in formats):
        fmt = "table" if "table" in formats else "text"
    choice(fmt, formats, "--format", "formats")
    return fmt


def check_format(fmt: str) -> str:
    """Kept for commands that take ``--format`` with the usual choices."""
    return choice(fmt, FORMATS, "--format", "formats")


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
