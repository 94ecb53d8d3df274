"""``cnncalc draw SPEC -o FILE.svg``: the architecture diagram, or one layer's window arithmetic."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import OUTPUT, SET, VARIANT, parse_sets, write_output


def draw(
    spec: str = typer.Argument(..., help="Spec file, zoo model (resnet18) or family (vgg)."),
    input: str = typer.Option(None, "--input", "-i", help="Input shape without batch."),
    depth: int = typer.Option(
        None, "--depth", "-d", min=1, help="Collapse layers nested deeper than this into blocks."
    ),
    style: str = typer.Option(
        "graph", "--style", help="graph (a box per layer) or volumes (3-D boxes, as in papers)."
    ),
    layer: str = typer.Option(
        None,
        "--layer",
        "-l",
        help="Draw this layer's window arithmetic instead (animated SVG): padding, stride, "
        "dilation, transposed zeros, ceil mode.",
    ),
    set_: list[str] = SET,
    variant: str = VARIANT,
    output: Path = OUTPUT,
) -> None:
    """Draw the network as SVG: layers (or blocks) with shapes, params and MACs."""
    import sys

    from .. import build, parse_shape
    from ..analysis import analyze_graph
    from ..errors import CnncalcError

    if output is None and sys.stdout.isatty():
        raise CnncalcError(
            "draw writes SVG, which a terminal cannot show",
            hint=f"give a file: cnncalc draw {spec} -o {spec.split('/')[-1].split('.')[0]}.svg "
            "(or pipe the output)",
        )

    graph = build(
        spec, parse_shape(input) if input else None, variant=variant, variables=parse_sets(set_)
    )
    if layer is not None:
        from ..draw.layer import layer_svg

        write_output(layer_svg(graph, layer), output)
        return
    from ..draw import draw_graph

    write_output(draw_graph(graph, analyze_graph(graph), depth=depth, style=style), output)


def register(app: typer.Typer) -> None:
    app.command()(draw)
