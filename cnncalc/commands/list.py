"""``cnncalc list``: the bundled zoo, one row per model (every variant of a family)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ._common import OUTPUT, choice, resolve_format, use_rich, write_output

LIST_SORT_KEYS = ("name", "family", "year", "params", "macs")
LIST_FORMATS = ("table", "json", "csv", "markdown")


def list_(
    family: str = typer.Option(None, "--family", help="Only this family (resnet, vgg, …)."),
    sort: str = typer.Option(
        None, "--sort", help="name, family, year, params or macs (numbers: largest first)."
    ),
    format: str = typer.Option(
        None,
        "--format",
        "-f",
        help="table, json, csv or markdown (default: from -o FILE's extension, else table).",
    ),
    output: Path = OUTPUT,
) -> None:
    """The model zoo: name, family, year, params, MACs, input and a one-line description."""
    from .. import render_compare as rc
    from ..errors import CnncalcError, did_you_mean
    from ..zoo import FAMILY_ALIASES, catalog

    format = resolve_format(format, output, LIST_FORMATS)
    if sort is not None:
        choice(sort, LIST_SORT_KEYS, "--sort", "sort keys")
    entries = catalog()
    if family is not None:
        families = {e.family for e in entries}
        wanted = family.lower()
        entries = [e for e in entries if e.family.lower() == wanted]
        if not entries:
            raise CnncalcError(
                f"no zoo family '{family}'", hint=did_you_mean(wanted, families, "families")
            )
    if sort in ("name", "family"):
        entries.sort(key=lambda e: getattr(e, sort))
    elif sort is not None:
        entries.sort(
            key=lambda e: -1 if getattr(e, sort) is None else getattr(e, sort), reverse=True
        )
    for e in entries:
        if e.error:
            print(f"warning: {e.file}: {e.error}", file=sys.stderr)
    if format == "json":
        write_output(rc.list_json(entries), output)
    elif format == "csv":
        write_output(rc.list_csv(entries), output)
    elif format == "markdown":
        write_output(rc.list_markdown(entries, FAMILY_ALIASES), output)
    elif use_rich(output):
        rc.print_list_rich(entries, FAMILY_ALIASES)
    else:
        write_output(rc.list_text(entries, FAMILY_ALIASES), output)


def register(app: typer.Typer) -> None:
    app.command("list")(list_)
