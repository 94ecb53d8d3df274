"""A diagram as SVG: one box per node (name; type and key arguments; params · MACs), the output
shape on a label where the outgoing edges start, colour by category with a legend, merges as
pills, train-only nodes and edges dashed.

Every ``<text>`` sits in a ``<g>`` together with the ``<rect>`` it belongs in (the title and the
legend too), so a reader of the file can check that no text leaves its box and no boxes overlap
(tests/test_draw_geometry.py does, with :mod:`cnncalc.draw.text`'s width estimate).
"""

from __future__ import annotations

from .layout import Box, layout
from .model import CATEGORY_COLORS, Diagram, DNode, fmt_dims
from .text import ASCENT_EM, DESCENT_EM, FONT, esc, fmt_si, text_width

__all__ = ["diagram_svg", "node_lines"]

FS = 12.0  # node text size
FS_SMALL = 10.5  # shapes on edges, stats line
PAD_X = 8.0
PAD_Y = 5.0
LINE = 1.35  # line height in em
MARGIN = 16.0
GAP = 2.0  # between a box and its shape label


def node_lines(n: DNode) -> list[tuple[str, float, str]]:
    """(text, size, css class) per line of a node's box."""
    lines = [(n.name, FS, "nm")]
    kind = n.kind if not n.args else f"{n.kind} {n.args}"
    if n.category != "input" and kind != n.name:
        lines.append((kind, FS, "ty"))
    if n.params or n.macs:
        stats = []
        if n.params:
            stats.append(f"{fmt_si(n.params)} params")
        if n.macs:
            stats.append(f"{fmt_si(n.macs)} MACs")
        lines.append((" · ".join(stats), FS_SMALL, "st"))
    if n.category == "input":
        lines.append((fmt_dims(n.out_shape), FS_SMALL, "st"))
    if n.train_only:
        lines.append(("train only", FS_SMALL, "st"))
    return lines


def _lines_h(lines: list[tuple[str, float, str]]) -> float:
    return sum(size * LINE for _, size, _ in lines) + 2 * PAD_Y


def _lines_w(lines: list[tuple[str, float, str]]) -> float:
    return max(text_width(t, s) for t, s, _ in lines) + 2 * PAD_X


def _text_block(
    lines: list[tuple[str, float, str]], cx: float, top: float, anchor: str = "middle"
) -> list[str]:
    out = []
    y = top + PAD_Y
    for t, size, cls in lines:
        y += size * LINE
        base = y - size * (LINE - ASCENT_EM - DESCENT_EM) / 2 - size * DESCENT_EM
        out.append(
            f'<text class="{cls}" x="{cx:.1f}" y="{base:.1f}" font-size="{size:g}" '
            f'text-anchor="{anchor}">{esc(t)}</text>'
        )
    return out


class _Slot:
    """A node's column: an optional label of incoming shapes, the box, the outgoing shape."""

    def __init__(self, n: DNode, in_shapes: list[str]) -> None:
        self.n = n
        self.lines = node_lines(n)
        self.box_w = _lines_w(self.lines)
        self.box_h = _lines_h(self.lines)
        self.in_lines = [(s, FS_SMALL, "sh") for s in in_shapes]
        self.out_lines = [] if n.category == "input" else [(fmt_dims(n.out_shape), FS_SMALL, "sh")]
        self.in_h = _lines_h(self.in_lines) if self.in_lines else 0.0
        self.out_h = _lines_h(self.out_lines) + GAP if self.out_lines else 0.0
        self.in_w = _lines_w(self.in_lines) if self.in_lines else 0.0
        self.out_w = _lines_w(self.out_lines) if self.out_lines else 0.0
        self.w = max(self.box_w, self.in_w, self.out_w)
        self.h = self.in_h + self.box_h + self.out_h


def diagram_svg(d: Diagram, title: str | None = None) -> str:
    """The SVG document of a diagram, laid out top to bottom."""
    by_id = {n.id: n for n in d.nodes}
    # Shapes that differ from the source's output (an edge from inside a collapsed block) are
    # written above the destination.
    extra: dict[str, list[str]] = {}
    for e in d.edges:
        if tuple(e.shape) != by_id[e.src].out_shape:
            extra.setdefault(e.dst, []).append(f"{e.src}: {fmt_dims(e.shape)}")
    slots = {n.id: _Slot(n, extra.get(n.id, [])) for n in d.nodes}
    placed = layout([Box(i, s.w, s.h) for i, s in slots.items()], [(e.src, e.dst) for e in d.edges])
    # Header: title line, then the legend, each in its own box.
    head: list[str] = []
    title = title or d.name
    tw = text_width(title, 14) + 2 * PAD_X
    head_h = 14 * LINE + 2 * PAD_Y
    head.append(
        f'<g class="title"><rect x="{MARGIN}" y="{MARGIN}" width="{tw:.1f}" '
        f'height="{head_h:.1f}" fill="none" stroke="none"/>'
    )
    head += _text_block([(title, 14, "tt")], MARGIN + PAD_X, MARGIN, "start")
    head.append("</g>")
    y0 = MARGIN + head_h + 4
    x = MARGIN
    leg_h = FS_SMALL * LINE + 2 * PAD_Y
    legend_w = 0.0
    cats = d.categories()
    row_y = y0
    max_w = max(placed.width, 480.0)
    items = [(c, CATEGORY_COLORS.get(c, "#eee"), "") for c in cats]
    if any(n.train_only for n in d.nodes):
        items.append(("train only", "#ffffff", ' stroke-dasharray="3,2"'))
    for c, color, dash in items:
        label = "block (collapsed)" if c == "block" else c
        w = 14 + 6 + text_width(label, FS_SMALL) + 2 * PAD_X
        if x + w > MARGIN + max_w and x > MARGIN:
            x = MARGIN
            row_y += leg_h + 4
        head.append(
            f'<g class="legend"><rect x="{x:.1f}" y="{row_y:.1f}" width="{w:.1f}" '
            f'height="{leg_h:.1f}" fill="none" stroke="none"/>'
            f'<rect class="sw" x="{x + PAD_X:.1f}" y="{row_y + leg_h / 2 - 7:.1f}" width="14" '
            f'height="14" rx="3" fill="{color}" stroke="#555"{dash}/>'
        )
        head += _text_block([(label, FS_SMALL, "lg")], x + PAD_X + 20, row_y, "start")
        head.append("</g>")
        x += w + 4
        legend_w = max(legend_w, x - MARGIN)
    top = row_y + leg_h + 16
    width = max(placed.width, legend_w, tw) + 2 * MARGIN
    height = top + placed.height + MARGIN

    def pos(i: str) -> tuple[float, float]:
        cx, cy = placed.xy[i]
        return cx + MARGIN, cy + top

    body: list[str] = []
    edges_svg: list[str] = []
    for e in d.edges:
        s, t = slots[e.src], slots[e.dst]
        sx, sy = pos(e.src)
        tx, ty = pos(e.dst)
        pts = [(sx, sy - s.h / 2 + s.in_h + s.box_h + s.out_h)]
        pts += [(px + MARGIN, py + top) for px, py in placed.paths[(e.src, e.dst)][1:-1]]
        pts.append((tx, ty - t.h / 2))
        path = f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"
        for (ax, ay), (bx, by) in zip(pts, pts[1:]):
            if ax == bx:
                path += f" L{bx:.1f},{by:.1f}"
            else:
                my = (ay + by) / 2
                path += f" C{ax:.1f},{my:.1f} {bx:.1f},{my:.1f} {bx:.1f},{by:.1f}"
        dash = ' stroke-dasharray="5,4"' if e.train_only else ""
        edges_svg.append(
            f'<path class="edge" data-src="{esc(e.src)}" data-dst="{esc(e.dst)}" d="{path}"'
            f' marker-end="url(#arrow)"{dash}/>'
        )
    for i, s in slots.items():
        n = s.n
        cx, cy = pos(i)
        y = cy - s.h / 2
        attrs = (
            f'class="node" id="n-{esc(i)}" data-name="{esc(n.name)}" data-cat="{n.category}"'
            f' data-params="{n.params}" data-macs="{n.macs}"'
        )
        body.append(f"<g {attrs}><title>{esc(_tooltip(n))}</title>")
        if s.in_lines:
            body += _label(s.in_lines, cx, y, s.in_w, s.in_h)
            y += s.in_h
        rx = s.box_h / 2 if n.merge else 4
        stroke = "#222" if n.output else "#666"
        sw = 2 if n.output else 1
        dash = ' stroke-dasharray="5,3"' if n.train_only else ""
        fill = CATEGORY_COLORS.get(n.category, "#eee")
        body.append(
            f'<g class="box"><rect x="{cx - s.box_w / 2:.1f}" y="{y:.1f}" width="{s.box_w:.1f}" '
            f'height="{s.box_h:.1f}" rx="{rx:.1f}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{sw}"{dash}/>'
        )
        body += _text_block(s.lines, cx, y)
        body.append("</g>")
        y += s.box_h
        if s.out_lines:
            body += _label(s.out_lines, cx, y + GAP, s.out_w, s.out_h - GAP)
        body.append("</g>")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cnncalc-diagram" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.1f} {height:.1f}" '
        f'font-family="{FONT}">\n'
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker>'
        "</defs>\n<style>.edge{fill:none;stroke:#555;stroke-width:1.2}"
        ".nm{font-weight:bold}.st,.sh{fill:#444}.tt{font-weight:bold}</style>\n"
        f'<rect width="100%" height="100%" fill="white"/>\n'
        + "\n".join(head)
        + '\n<g class="edges">\n'
        + "\n".join(edges_svg)
        + '\n</g>\n<g class="nodes">\n'
        + "\n".join(body)
        + "\n</g>\n</svg>\n"
    )


def _label(
    lines: list[tuple[str, float, str]], cx: float, y: float, w: float, h: float
) -> list[str]:
    out = [
        f'<g class="label"><rect x="{cx - w / 2:.1f}" y="{y:.1f}" width="{w:.1f}" '
        f'height="{h:.1f}" fill="white" fill-opacity="0.9" stroke="none"/>'
    ]
    out += _text_block(lines, cx, y)
    out.append("</g>")
    return out


def _tooltip(n: DNode) -> str:
    t = f"{n.name} ({n.kind}) → {fmt_dims(n.out_shape)}: {n.params:,} params, {n.macs:,} MACs"
    if n.layers > 1:
        t += f", {n.layers} layers"
    if n.line:
        t += f", spec line {n.line}"
    return t
