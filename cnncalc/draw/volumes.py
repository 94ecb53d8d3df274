"""``--style volumes``: the LeNet/AlexNet/VGG paper figure, one 3-D box per tensor, left to right.

A box's front face is as high as the rows and as thick as the channels, and it recedes by the
columns; all three are log-scaled (``SPATIAL``/``CHANNELS``), so 3×224×224 and 512×7×7 both fit
on a page. Layers that keep their input's shape (activations, norms, dropout) add no box; a
vector (after flatten) is a thin bar. Branches are drawn in execution order: the style is meant
for mostly sequential networks (``--style graph`` draws the wiring).
"""

from __future__ import annotations

import math

from .model import CATEGORY_COLORS, Diagram, DNode, fmt_dims
from .text import FONT, esc, text_width

__all__ = ["volumes_svg", "box_size", "SPATIAL", "CHANNELS"]

FS = 11.0
PAD = 4.0


def SPATIAL(n: int) -> float:  # noqa: N802 (a scale, named like a constant in the formula)
    """Pixels for a spatial size: 8 + 12·log2(n) (224 → 101.6, 7 → 41.7, 1 → 8)."""
    return 8.0 + 12.0 * math.log2(max(n, 1))


def CHANNELS(n: int) -> float:  # noqa: N802
    """Pixels of thickness for a channel count: 4 + 4·log2(n) (3 → 10.3, 512 → 40)."""
    return 4.0 + 4.0 * math.log2(max(n, 1))


def box_size(shape: tuple[int, ...]) -> tuple[float, float, float]:
    """(thickness, height, recess) of a tensor's box: channels, rows, columns/2 (log-scaled)."""
    if len(shape) >= 3:
        c, h, w = shape[0], shape[-2], shape[-1]
        return CHANNELS(c), SPATIAL(h), SPATIAL(w) * 0.5
    if len(shape) == 2:  # tokens × width (ViT): tokens as rows
        return CHANNELS(shape[1]), SPATIAL(shape[0]), 4.0
    n = shape[0] if shape else 1
    return 6.0, SPATIAL(n), 4.0


def _shown(d: Diagram) -> list[DNode]:
    """Nodes whose output shape differs from their input's (plus the inputs)."""
    out = []
    for n in d.nodes:
        if n.category == "input" or n.in_shape is None or tuple(n.in_shape) != n.out_shape:
            out.append(n)
    return out


def volumes_svg(d: Diagram) -> str:
    nodes = _shown(d)
    sizes = [box_size(n.out_shape) for n in nodes]
    top_pad = max(r for _, _, r in sizes) + 2 * (FS * 1.3 + 2 * PAD) + 20
    mid = top_pad + max(h for _, h, _ in sizes) / 2
    x = 20.0
    parts: list[str] = []
    label_y = mid + max(h for _, h, _ in sizes) / 2 + 12
    heights = []
    for n, (t, h, r) in zip(nodes, sizes):
        lines = [n.name, fmt_dims(n.out_shape)]
        above = n.args if n.category not in ("input", "block") else ""
        lw = max(text_width(s, FS) for s in lines) + 2 * PAD
        aw = text_width(above, FS) + 2 * PAD if above else 0.0
        span = max(t + r, lw, aw)
        cx = x + span / 2
        x0 = cx - (t + r) / 2
        y0 = mid - h / 2 + r / 2
        fill = CATEGORY_COLORS.get(n.category, "#eee")
        dash = ' stroke-dasharray="4,3"' if n.train_only else ""
        parts.append(
            f'<g class="volume" data-name="{esc(n.name)}">'
            f'<polygon points="{x0:.1f},{y0:.1f} {x0 + t:.1f},{y0:.1f} {x0 + t + r:.1f},'
            f'{y0 - r:.1f} {x0 + r:.1f},{y0 - r:.1f}" fill="{fill}" stroke="#444"'
            f' fill-opacity="0.7"{dash}/>'
            f'<polygon points="{x0 + t:.1f},{y0:.1f} {x0 + t + r:.1f},{y0 - r:.1f} '
            f'{x0 + t + r:.1f},{y0 - r + h:.1f} {x0 + t:.1f},{y0 + h:.1f}" fill="{fill}" '
            f'stroke="#444" fill-opacity="0.55"{dash}/>'
            f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{t:.1f}" height="{h:.1f}" fill="{fill}" '
            f'stroke="#444"{dash}/></g>'
        )
        lh = FS * 1.3
        parts.append(
            f'<g class="label"><rect x="{cx - lw / 2:.1f}" y="{label_y:.1f}" width="{lw:.1f}" '
            f'height="{2 * lh + 2 * PAD:.1f}" fill="none" stroke="none"/>'
        )
        for k, s in enumerate(lines):
            weight = ' font-weight="bold"' if k == 0 else ""
            parts.append(
                f'<text x="{cx:.1f}" y="{label_y + PAD + (k + 1) * lh - 3.5:.1f}" '
                f'font-size="{FS:g}" text-anchor="middle"{weight}>{esc(s)}</text>'
            )
        parts.append("</g>")
        if above:
            ay = y0 - r - lh - 2 * PAD - 4
            parts.append(
                f'<g class="args"><rect x="{cx - aw / 2:.1f}" y="{ay:.1f}" width="{aw:.1f}" '
                f'height="{lh + 2 * PAD:.1f}" fill="none" stroke="none"/><text x="{cx:.1f}" '
                f'y="{ay + PAD + lh - 3.5:.1f}" font-size="{FS:g}" text-anchor="middle" '
                f'fill="#333">{esc(above)}</text></g>'
            )
        heights.append(label_y + 2 * lh + 2 * PAD)
        x += span + 14
    width = x + 10
    height = max(heights, default=100) + 20
    title = f"{d.name}: tensors left to right (box: channels × rows × columns, log-scaled)"
    tw = text_width(title, 13) + 2 * PAD
    head = (
        f'<g class="title"><rect x="16" y="8" width="{tw:.1f}" height="{13 * 1.3 + 2 * PAD:.1f}" '
        f'fill="none" stroke="none"/><text x="{16 + PAD}" y="{8 + PAD + 13 * 1.3 - 4:.1f}" '
        f'font-size="13" font-weight="bold">{esc(title)}</text></g>'
    )
    width = max(width, tw + 32)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cnncalc-volumes" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.1f} {height:.1f}" font-family="{FONT}">\n'
        '<rect width="100%" height="100%" fill="white"/>\n'
        + head
        + "\n"
        + "\n".join(parts)
        + "\n</svg>\n"
    )
