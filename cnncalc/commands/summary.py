"""``cnncalc summary SPEC``: the per-layer table and totals."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import (
    FORMAT,
    FORMATS,
    OUTPUT,
    SET,
    VARIANT,
    choice,
    parse_sets,
    resolve_format,
    use_rich,
    write_output,
)


def summary(
    spec: str = typer.Argument(..., help="Spec file, zoo model (resnet50) or family (vgg)."),
    input: str = typer.Option(
        None, "--input", "-i", help="Input shape without batch, e.g. 3x299x299."
    ),
    batch: int = typer.Option(
        1, "--batch", "-b", min=1, help="Batch size (scales MACs, FLOPs, activations)."
    ),
    format: str = FORMAT,
    set_: list[str] = SET,
    depth: int = typer.Option(
        None,
        "--depth",
        "-d",
        min=1,
        help="Collapse layers nested deeper than this into their block (with --tree: levels shown).",
    ),
    tree: bool = typer.Option(
        False,
        "--tree",
        help="Show the block hierarchy (├─ nesting) with each block's totals; --depth collapses it.",
    ),
    columns: str = typer.Option(
        None,
        "--columns",
        "-c",
        help="Columns, comma-separated: name, type, input_shape, output_shape, kernel, params, "
        "params_pct, macs, macs_pct, flops, rf, trainable, connected (Keras's 'Connected to'), "
        "line. Default: name, output_shape, params, macs, flops.",
    ),
    dtype: str = typer.Option(
        "float32", "--dtype", help="float32, float16, bfloat16, float64, int8 (memory sizes)."
    ),
    convention: str = typer.Option(
        "pytorch",
        "--convention",
        help="pytorch (BN stats are buffers) or keras (non-trainable params).",
    ),
    freeze: str = typer.Option(
        None, "--freeze", help="Freeze every layer up to and including this layer or block."
    ),
    variant: str = VARIANT,
    rf: bool = typer.Option(
        False, "--rf", help="Add a receptive-field column: size/jump/start in input pixels."
    ),
    optimizer: str = typer.Option(
        "adam",
        "--optimizer",
        help="sgd, momentum or adam: optimizer state in the training estimate.",
    ),
    output: Path = OUTPUT,
) -> None:
    """Per-layer output shape, parameters, MACs and FLOPs, with totals and memory."""
    from .. import analyze, parse_shape, render
    from ..analysis import CONVENTIONS
    from ..errors import CnncalcError
    from ..memory import OPTIMIZER_STATES
    from ..report import DTYPE_BYTES

    format = resolve_format(format, output, FORMATS)
    choice(dtype, DTYPE_BYTES, "--dtype", "dtypes")
    choice(convention, CONVENTIONS, "--convention", "conventions")
    choice(optimizer, OPTIMIZER_STATES, "--optimizer", "optimizers")
    try:
        cols = render.parse_columns(columns, rf)
    except CnncalcError as err:  # an unknown column is a usage error
        raise typer.BadParameter(str(err), param_hint="'--columns'") from None
    shape = parse_shape(input) if input else None
    if format == "html":
        from ..draw.html import summary_html_of

        opts = dict(variant=variant, batch=batch, dtype=dtype, convention=convention)
        html = summary_html_of(spec, shape, freeze=freeze, variables=parse_sets(set_), **opts)
        write_output(html, output)
        return
    report = analyze(
        spec,
        shape,
        variant=variant,
        batch=batch,
        dtype=dtype,
        convention=convention,
        freeze=freeze,
        variables=parse_sets(set_),
    )
    if format == "json":
        write_output(render.summary_json(report, depth=depth, tree=tree), output)
    elif format == "csv":
        write_output(render.summary_csv(report, depth, cols, tree=tree), output)
    elif format == "markdown":
        write_output(render.summary_markdown(report, depth, cols, optimizer, tree=tree), output)
    elif use_rich(output):
        from ..render_rich import print_summary

        print_summary(report, depth, cols, optimizer, tree=tree)
    else:
        write_output(render.summary_text(report, depth, cols, optimizer, tree=tree), output)


def register(app: typer.Typer) -> None:
    app.command()(summary)
