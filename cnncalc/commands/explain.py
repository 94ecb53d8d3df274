"""``cnncalc explain SPEC``: every layer's formulas with the numbers substituted."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import (
    CHANNELS_LAST_OK,
    OUTPUT,
    SET,
    VARIANT,
    WARN,
    check_warn,
    choice,
    parse_sets,
    resolve_format,
    use_rich,
    write_output,
)


def explain(
    spec: str = typer.Argument(..., help="Spec file, zoo model (alexnet) or family (vgg)."),
    layer: str = typer.Option(None, "--layer", "-l", help="Only this layer (or block)."),
    input: str = typer.Option(None, "--input", "-i", help="Input shape without batch."),
    set_: list[str] = SET,
    variant: str = VARIANT,
    dtype: str = typer.Option("float32", "--dtype", help="Element type for the byte counts."),
    format: str = typer.Option(
        None,
        "--format",
        "-f",
        help="text (or table: the same) or json; default: from -o's extension.",
    ),
    warn: str = WARN,
    channels_last_ok: bool = CHANNELS_LAST_OK,
    output: Path = OUTPUT,
    svg: Path = typer.Option(
        None, "--svg", help="Also draw --layer's windows as an animated SVG file (conv, pooling)."
    ),
) -> None:
    """Show the arithmetic: output sizes, parameters, MACs, FLOPs, receptive field, warnings."""
    from .. import build, parse_inputs
    from ..errors import CnncalcError
    from ..explain import explain_graph
    from ..report import DTYPE_BYTES

    check_warn(warn)
    format = resolve_format(format, output, ("text", "json"), default="text")
    choice(dtype, DTYPE_BYTES, "--dtype", "dtypes")
    graph = build(
        spec,
        parse_inputs(input) if input else None,
        variant=variant,
        variables=parse_sets(set_),
        channels_last_ok=channels_last_ok,
    )
    records = explain_graph(graph, layer, dtype=dtype, warn=warn)
    if svg is not None:
        if layer is None:
            raise CnncalcError("--svg draws one layer", hint="add --layer NAME, e.g. --layer conv1")
        from ..draw.layer import layer_svg

        write_output(layer_svg(graph, layer), svg)
    if format == "json":
        import json

        doc = {
            "name": graph.name,
            "variant": graph.variant,
            "layers": [r.to_dict() for r in records],
        }
        write_output(json.dumps(doc, indent=2) + "\n", output)
        return
    width = None
    if use_rich(output):  # a terminal: lines fit its width
        import shutil

        width = shutil.get_terminal_size().columns
    write_output(render_explain(records, width), output)


def render_explain(records: list, width: int | None = None) -> str:
    """Plain text: a heading per layer, then one formula per line with its note.

    ``width`` (a terminal's): a longer line breaks at its spaces, outside brackets where it
    can (``render.wrap_text``; a number or a product like 56·56·96 is never broken), with a
    hanging indent; a note that does not fit beside its formula goes on the line below.
    """
    from ..render import wrap_text

    out: list[str] = []

    def put(line: str, indent: str) -> None:
        out.extend([line] if width is None else wrap_text(line, width, indent))

    for r in records:
        ins = ", ".join(str(tuple(s)) for s in r.input_shapes)
        put(f"{r.name} ({r.type}): {ins} → {tuple(r.output_shape)}", "    ")
        for f in r.formulas:
            line = f"  {f.text}"
            note = f"({f.note})" if f.note and f.value is not None else ""
            if note and width is not None and len(line) + 4 + len(note) > width:
                put(line, "      ")
                put(f"      {note}", "       ")
            else:
                put(line + (f"    {note}" if note else ""), "      ")
        rf = r.receptive_field
        if rf is not None:
            size, jump, start = (_axes(rf[k]) for k in ("size", "jump", "start"))
            via = f", widest via {rf['via']}" if "via" in rf else ""
            unit = "input pixel" if size == "1" else "input pixels"
            put(f"  receptive field: {size} {unit}, jump {jump}, first pixel {start}{via}", "    ")
        else:
            put(
                "  receptive field: none (no spatial axes, or positions were mixed here or "
                "before: attention, a reshape of the spatial axes, a linear on one)",
                "    ",
            )
        for w in r.warnings:
            put(f"  warning [{w['code']}]: {w['message']}", "    ")
        out.append("")
    return "\n".join(out)


def _axes(vals: list) -> str:
    """One number when every spatial axis agrees, else 'a×b'."""
    return str(vals[0]) if len(set(vals)) == 1 else "×".join(map(str, vals))


def register(app: typer.Typer) -> None:
    app.command()(explain)
