"""``cnncalc show NAME``: the YAML source of a bundled spec, to start your own from it."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ._common import OUTPUT, write_output


def show(
    name: str = typer.Argument(..., help="Zoo model (resnet50), family (resnet) or alias."),
    output: Path = OUTPUT,
    force: bool = typer.Option(False, "--force", help="With -o: overwrite an existing file."),
) -> None:
    """Print a bundled spec's YAML (the whole family file for a variant), to copy and edit."""
    from ..errors import CnncalcError
    from ..zoo import resolve

    if name.endswith((".yaml", ".yml")) or "/" in name or "\\" in name:
        raise CnncalcError(
            f"'{name}' is a file: cnncalc show prints the bundled specs",
            hint="`cnncalc list` names them; open your own file in an editor",
        )
    res = resolve(name)
    source = Path(res.spec.file) if res.spec.file else None
    if source is None or not source.is_file():  # pragma: no cover - the zoo is files
        raise CnncalcError(f"'{name}' has no spec file to show")
    if output is not None and output.exists() and not force:
        raise CnncalcError(f"{output} exists", hint="choose another name, or add --force")
    write_output(source.read_text(encoding="utf-8"), output)
    if res.variant is not None and res.spec.variants:
        target = output or source.name
        print(
            f"note: {res.variant} is the variant '{res.variant}' of {source.name}; "
            f"`cnncalc summary {target} --variant {res.variant}` analyses it",
            file=sys.stderr,
        )


def register(app: typer.Typer) -> None:
    app.command()(show)
