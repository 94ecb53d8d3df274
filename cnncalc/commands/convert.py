"""``cnncalc convert MODEL -o out.yaml``: write a model of another format as an editable spec."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..errors import CnncalcError


def convert(
    source: str = typer.Argument(
        ..., help="Model file: .onnx, .cfg (darknet), .keras / .json (Keras), Ultralytics .yaml."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="The spec file to write (.yaml)."),
    input: str = typer.Option(
        None, "--input", "-i", help="Input shape without batch (fixes symbolic sizes), 3x640x640."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite the output file if it exists."),
    lambda_as_identity: bool = typer.Option(
        False,
        "--lambda-as-identity",
        help="Keras: write Lambda layers (never run) as zero-cost identities, with a caveat.",
    ),
) -> None:
    """Read a model of another format and write it as a cnncalc spec (YAML) you can edit.

    `cnncalc summary` of the written spec equals `cnncalc summary` of the source.
    """
    from .. import parse_shape
    from ..importers import import_model
    from ..importers._yaml import spec_to_yaml

    path = Path(source)
    if output.exists() and not force:
        raise CnncalcError(f"{output} exists", hint="give --force to overwrite it")
    shape = parse_shape(input) if input else None
    options = {"lambda_as_identity": True} if lambda_as_identity else {}
    doc = import_model(path, shape, **options)
    if not isinstance(doc, dict) or type(doc) is not dict:
        if not path.exists():
            raise CnncalcError("no such file", file=source)
        raise CnncalcError(
            f"{source} is already a cnncalc spec (or not a model format cnncalc reads)",
            hint="convert reads .onnx, .cfg, .keras, Keras .json and Ultralytics .yaml files",
        )
    text = spec_to_yaml(doc, header=f"cnncalc spec converted from {path.name} by `cnncalc convert`")
    from ..spec import spec_from_text

    spec_from_text(text, str(output))  # what is written must read back
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CnncalcError(f"cannot write {output}: {exc.strerror}") from None
    print(f"wrote {output} ({len(doc['layers'])} layer entries)", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command()(convert)
