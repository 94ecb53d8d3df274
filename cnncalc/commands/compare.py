"""``cnncalc compare A B [C …]``: models side by side, with ratios to the first one."""

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

LAYOUTS = ("auto", "columns", "rows")


def compare(
    models: list[str] = typer.Argument(
        ..., help="Zoo models (resnet50), families (vgg) or spec files; the first is the baseline."
    ),
    input: str = typer.Option(
        None, "--input", "-i", help="One input shape for all models, e.g. 3x224x224."
    ),
    batch: int = typer.Option(1, "--batch", "-b", min=1, help="Batch size."),
    format: str = FORMAT,
    set_: list[str] = SET,
    variant: str = VARIANT,
    sort: str = typer.Option(
        None,
        "--sort",
        help="Order by params, macs, flops, activations, params_bytes, depth, name, … "
        "(largest first; ratios stay relative to the first model given).",
    ),
    reverse: bool = typer.Option(False, "--reverse", help="Reverse the --sort order."),
    stages: bool = typer.Option(
        False,
        "--stages",
        help="Also show channels @ spatial size at each downsampling stage and its share "
        "of params and MACs.",
    ),
    layout: str = typer.Option(
        "auto", "--layout", help="columns (one per model), rows (one per model), or auto."
    ),
    bars: bool = typer.Option(True, "--bars/--no-bars", help="Bar charts of params and MACs."),
    dtype: str = typer.Option("float32", "--dtype", help="Element type for memory sizes."),
    convention: str = typer.Option(
        "pytorch", "--convention", help="pytorch (BN stats are buffers) or keras."
    ),
    output: Path = OUTPUT,
) -> None:
    """Compare models: params, MACs, FLOPs, memory, depth and shapes, with ratios to the first."""
    from .. import render_compare as rc
    from ..analysis import CONVENTIONS
    from ..comparison import SORT_ALIASES, SORT_KEYS
    from ..comparison import compare as run_compare
    from ..report import DTYPE_BYTES

    format = resolve_format(format, output, FORMATS)
    choice(layout, LAYOUTS, "--layout", "layouts")
    choice(dtype, DTYPE_BYTES, "--dtype", "dtypes")
    choice(convention, CONVENTIONS, "--convention", "conventions")
    if sort is not None:
        choice(SORT_ALIASES.get(sort, sort), SORT_KEYS, "--sort", "sort keys")
    c = run_compare(
        models,
        input,
        batch=batch,
        dtype=dtype,
        convention=convention,
        sort=sort,
        reverse=reverse,
        variables=parse_sets(set_),
        variant=variant,
    )
    if format == "html":
        from ..draw.html import compare_html

        write_output(compare_html(c), output)
    elif format == "json":
        write_output(rc.compare_json(c, stages), output)
    elif format == "csv":
        write_output(rc.compare_csv(c, stages), output)
    elif format == "markdown":
        write_output(rc.compare_markdown(c, stages), output)
    elif use_rich(output):
        rc.print_rich(c, layout, bars, stages)
    else:
        write_output(rc.compare_text(c, layout, bars, stages), output)


def register(app: typer.Typer) -> None:
    app.command()(compare)
