"""``cnncalc layers [TYPE]``: the reference of layer types, generated from the registry."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import OUTPUT, resolve_format, write_output


def layers(
    type_name: str = typer.Argument(
        None, metavar="[TYPE]", help="A layer type or alias (conv2d, dense); omit for all."
    ),
    format: str = typer.Option(
        None,
        "--format",
        "-f",
        help="table (an index, or one type in full), markdown (the docs), json; "
        "default: from -o's extension.",
    ),
    output: Path = OUTPUT,
) -> None:
    """Layer types: names, arguments with defaults, shape rule and parameter/MAC/FLOP formulas."""
    from .. import reference as ref

    format = resolve_format(format, output, ("table", "markdown", "json"))
    docs = [ref.find_layer_doc(type_name)] if type_name else None
    if format == "markdown":
        write_output(ref.reference_markdown(docs), output)
    elif format == "json":
        write_output(ref.reference_json(docs), output)
    elif docs:
        write_output(ref.reference_text(docs[0], type_name), output)
    else:
        write_output(ref.reference_index(), output)


def register(app: typer.Typer) -> None:
    app.command()(layers)
