"""Pictures: the architecture diagram (SVG), the volumes figure, one layer's window arithmetic,
and the one-file HTML report.

Data flows one way: graph + report → :mod:`.model` (nodes and edges as plain data) →
:mod:`.layout` (positions, grandalf) → :mod:`.svg` / :mod:`.volumes` (text).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..graph import Graph
    from ..report import Report

__all__ = ["STYLES", "MAX_BOXES", "draw_graph", "draw"]

STYLES = ("graph", "volumes")
#: More boxes than this make a picture nobody reads (and a layout that takes minutes): the
#: largest zoo model has 816 layers.
MAX_BOXES = 5000


def draw_graph(
    graph: Graph, report: Report, *, depth: int | None = None, style: str = "graph"
) -> str:
    """The SVG text of a built graph (``style``: ``graph`` or ``volumes``)."""
    from ..errors import CnncalcError, did_you_mean
    from ..render import fmt_ops
    from .model import diagram_of

    if style not in STYLES:
        raise CnncalcError(f"unknown style '{style}'", hint=did_you_mean(style, STYLES, "styles"))
    d = diagram_of(graph, report, depth)
    if len(d.nodes) > MAX_BOXES:
        raise CnncalcError(
            f"{len(d.nodes):,} boxes are too many to draw (at most {MAX_BOXES:,})",
            hint="collapse blocks with --depth 1 (or 2)",
        )
    if style == "volumes":
        from .volumes import volumes_svg

        return volumes_svg(d)
    from .svg import diagram_svg

    ins = ", ".join("×".join(map(str, s)) for s in graph.inputs.values())
    title = (
        f"{graph.name}{f' ({graph.variant})' if graph.variant and graph.variant != graph.name else ''}: input {ins}, "
        f"{report.totals.params:,} params, {fmt_ops(report.totals.macs)} MACs"
    )
    return diagram_svg(d, title)


def draw(
    source: Any,
    input_shape: Any = None,
    *,
    depth: int | None = None,
    style: str = "graph",
    variant: str | None = None,
    variables: dict[str, Any] | None = None,
) -> str:
    """Build a spec (path, zoo name or dict) and return its diagram as SVG text."""
    from .. import build
    from ..analysis import analyze_graph

    graph = build(source, input_shape, variant=variant, variables=variables)
    return draw_graph(graph, analyze_graph(graph), depth=depth, style=style)
