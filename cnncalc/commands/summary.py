"""``cnncalc summary SPEC``: the per-layer table and totals."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import OUTPUT, SET, VARIANT, check_format, parse_sets, use_rich, write_output


def summary(
    spec: str = typer.Argument(..., help="Spec file, zoo model (resnet50) or family (vgg)."),
    input: str = typer.Option(
        None, "--input", "-i", help="Input shape without batch, e.g. 3x299x299."
    ),
    batch: int = typer.Option(
        1, "--batch", "-b", min=1, help="Batch size (scales MACs, FLOPs, activations)."
    ),
    format: str = typer.Option(
        "table", "--format", "-f", help="table, json, csv, markdown or html (one-file report)."
    ),
    set_: list[str] = SET,
    depth: int = typer.Option(
        None,
        "--depth",
        "-d",
        min=1,
        help="Collapse layers nested deeper than this into their block.",
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

    check_format(format)
    from ..memory import OPTIMIZER_STATES

    if optimizer not in OPTIMIZER_STATES:
        from ..errors import CnncalcError, did_you_mean

        raise CnncalcError(
            f"unknown optimizer '{optimizer}'", hint=did_you_mean(optimizer, OPTIMIZER_STATES)
        )
    columns = (*render.DEFAULT_COLUMNS, "rf") if rf else render.DEFAULT_COLUMNS
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
        write_output(render.summary_json(report), output)
    elif format == "csv":
        write_output(render.summary_csv(report), output)
    elif format == "markdown":
        write_output(render.summary_markdown(report, depth, columns), output)
    elif use_rich(output):
        from ..render_rich import print_summary

        print_summary(report, depth, columns, optimizer)
    else:
        write_output(render.summary_text(report, depth, columns, optimizer), output)


def register(app: typer.Typer) -> None:
    app.command()(summary)
