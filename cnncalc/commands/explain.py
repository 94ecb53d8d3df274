"""``cnncalc explain SPEC``: every layer's formulas with the numbers substituted."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import OUTPUT, SET, VARIANT, choice, parse_sets, resolve_format, write_output


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
    output: Path = OUTPUT,
    svg: Path = typer.Option(
        None, "--svg", help="Also draw --layer's windows as an animated SVG file (conv, pooling)."
    ),
) -> None:
    """Show the arithmetic: output sizes, parameters, MACs, FLOPs, receptive field, warnings."""
    from .. import build, parse_shape
    from ..errors import CnncalcError
    from ..explain import explain_graph
    from ..report import DTYPE_BYTES

    format = resolve_format(format, output, ("text", "json"), default="text")
    choice(dtype, DTYPE_BYTES, "--dtype", "dtypes")
    graph = build(
        spec, parse_shape(input) if input else None, variant=variant, variables=parse_sets(set_)
    )
    records = explain_graph(graph, layer, dtype=dtype)
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
    write_output(render_explain(records), output)


def render_explain(records: list) -> str:
    """Plain text: a heading per layer, then one formula per line with its note."""
    out = []
    for r in records:
        ins = ", ".join(str(tuple(s)) for s in r.input_shapes)
        out.append(f"{r.name} ({r.type}): {ins} → {tuple(r.output_shape)}")
        for f in r.formulas:
            line = f"  {f.text}"
            if f.note and f.value is not None:
                line += f"    ({f.note})"
            out.append(line)
        rf = r.receptive_field
        if rf is not None:
            size, jump, start = (_axes(rf[k]) for k in ("size", "jump", "start"))
            via = f", widest via {rf['via']}" if "via" in rf else ""
            unit = "input pixel" if size == "1" else "input pixels"
            out.append(f"  receptive field: {size} {unit}, jump {jump}, first pixel {start}{via}")
        else:
            out.append("  receptive field: none (no spatial axes, or their layout was changed)")
        for w in r.warnings:
            out.append(f"  warning [{w['code']}]: {w['message']}")
        out.append("")
    return "\n".join(out)


def _axes(vals: list) -> str:
    """One number when every spatial axis agrees, else 'a×b'."""
    return str(vals[0]) if len(set(vals)) == 1 else "×".join(map(str, vals))


def register(app: typer.Typer) -> None:
    app.command()(explain)
