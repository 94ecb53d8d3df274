"""One layer's window arithmetic as an animated SVG, as in the convolution-arithmetic figures.

Per spatial axis, :func:`axis_plan` lays the layer out on a *frame*: the padded input (for a
transposed convolution: the input with ``S − 1`` zeros inserted between its pixels, padded by
``D·(F − 1) − P`` each side and ``output_padding`` more at the end, which a stride-1 convolution
then slides over — Dumoulin & Visin's equivalence). Window ``i`` takes the taps
``start_i + k·D`` for ``k = 0 … F − 1``, with ``start_i = i·S`` (``i`` for transposed). The
picture is the product of the two axes' plans: the input grid with its padding, the window
stepping through its positions (SMIL ``<animate>``, no script), dilation's gaps, the output grid
with the current cell, the inserted zeros, ceil mode's extra window and the uncovered end rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import windows as win
from ..errors import CnncalcError, did_you_mean
from .text import FONT, esc, text_width

if TYPE_CHECKING:  # pragma: no cover
    from ..graph import Graph

__all__ = ["AxisPlan", "axis_plan", "layer_plans", "layer_svg"]


@dataclass(frozen=True)
class AxisPlan:
    """One spatial axis of a window layer, in frame coordinates (0 = first cell drawn)."""

    size: int  # W, the input size
    frame: int  # cells drawn: padding + input (+ inserted zeros)
    inputs: tuple[int, ...]  # frame cell of each input pixel
    pad_lo: int  # frame cells before the input (padding)
    pad_hi: int  # frame cells after it
    starts: tuple[int, ...]  # first tap of each window (one per output index)
    kernel: int
    stride: int  # the window's step on the frame (1 for transposed)
    dilation: int
    out: int
    uncovered: tuple[int, ...] = ()  # frame cells at the end that no window touches
    ceil_extra: bool = False  # the last window exists only because of ceil mode
    transposed: bool = False
    layer_stride: int = 1
    given_hi: int = 0  # the layer's own end padding (ceil mode may run a window past it)

    def taps(self, i: int) -> tuple[int, ...]:
        """Frame cells read by window ``i``: ``start_i + k·D``."""
        return tuple(self.starts[i] + k * self.dilation for k in range(self.kernel))


def axis_plan(
    w: int,
    f: int,
    s: int = 1,
    lo: int = 0,
    hi: int = 0,
    d: int = 1,
    *,
    ceil_mode: bool = False,
    transposed: bool = False,
    output_padding: int = 0,
) -> AxisPlan:
    """The frame and window positions of one axis (see the module doc for the rules)."""
    eff = win.effective_kernel(f, d)
    if transposed:
        plo = eff - 1 - lo
        phi = eff - 1 - hi + output_padding
        if plo < 0 or phi < 0:
            raise CnncalcError(
                f"cannot draw a transposed convolution whose padding ({lo}) exceeds D·(F−1) = "
                f"{eff - 1}: it crops the output instead of padding"
            )
        inputs = tuple(plo + i * s for i in range(w))
        frame = plo + (w - 1) * s + 1 + phi
        out = win.transposed_out(w, f, s, lo, hi, d, output_padding)
        starts = tuple(range(out))
        assert starts[-1] + eff == frame
        return AxisPlan(w, frame, inputs, plo, phi, starts, f, 1, d, out, (), False, True, s)
    frame = lo + w + hi
    if ceil_mode:
        out = win.pool_out(w, f, s, lo, hi, d, ceil_mode=True)
    else:
        out = win.conv_out(w, f, s, lo, hi, d)
    floor_out = win.conv_out(w, f, s, lo, hi, d)
    starts = tuple(i * s for i in range(out))
    last_end = starts[-1] + eff
    uncovered = tuple(range(last_end, frame))
    return AxisPlan(
        w,
        max(frame, last_end),
        tuple(range(lo, lo + w)),
        lo,
        max(hi, last_end - lo - w),
        starts,
        f,
        s,
        d,
        out,
        uncovered,
        out > floor_out,
        False,
        s,
        hi,
    )


def layer_plans(graph: Graph, name: str) -> tuple[list[AxisPlan], object]:
    """The axis plans of layer ``name`` (a conv, transposed conv or pooling layer)."""
    node = graph.by_name.get(name)
    if node is None:
        raise CnncalcError(
            f"no layer named '{name}'",
            hint=did_you_mean(name, [n.name for n in graph.nodes], "layers"),
        )
    lay = node.layer
    if "kernel_size" not in lay.args or lay.CATEGORY not in ("conv", "pool"):
        raise CnncalcError(
            f"layer '{name}' ({node.type}) has no sliding window to draw",
            hint="--layer draws conv, transposed conv and max/avg pooling layers",
        )
    g = lay.geometry()
    x = lay.in_shapes[0]
    op = getattr(lay, "op", None) or (0,) * len(g.kernel)
    plans = [
        axis_plan(
            w,
            f,
            s,
            lo,
            hi,
            d,
            ceil_mode=g.ceil_mode,
            transposed=g.transposed,
            output_padding=o,
        )
        for w, f, s, d, lo, hi, o in zip(
            x[1:], g.kernel, g.stride, g.dilation, g.pad_lo, g.pad_hi or g.pad_lo, op
        )
    ]
    return plans, node


# --- drawing ------------------------------------------------------------------------------

C_INPUT = "#9ecae1"
C_PAD = "#eeeeee"
C_ZERO = "#ffffff"
C_TAP = "#fd8d3c"
C_OUT = "#c7e9c0"
C_UNCOVERED = "#de2d26"
C_CEIL = "#756bb1"
STROKE = 'stroke="#555"'
MAX_STEPS = 64  # animation frames at most (positions are sampled beyond)


def _sample(n: int, limit: int) -> list[int]:
    """All of range(n) when short, else the first and last few indices."""
    if n <= limit:
        return list(range(n))
    k = limit // 2
    return [*range(k), *range(n - k, n)]


def layer_svg(graph: Graph, name: str, *, seconds_per_step: float = 0.6) -> str:
    """The animated SVG of one layer's windows (2-D: rows × columns; 1-D: one row)."""
    plans, node = layer_plans(graph, name)
    if len(plans) > 2:
        plans = plans[-2:]
    if len(plans) == 1:
        plans = [axis_plan(1, 1), plans[0]]
    rows, cols = plans
    cs = max(2.0, min(28.0, 520.0 / max(rows.frame, cols.frame)))
    n_out = max(rows.out, cols.out)
    # the output at the input's scale when that is legible and fits, else on its own scale
    oc = cs if cs >= 8 and n_out * cs <= 520 else max(2.0, min(28.0, 300.0 / n_out))
    x0, y0 = 20.0, 20.0
    lines = _caption(node, plans)
    fs = 13.0
    cap_h = len(lines) * fs * 1.4 + 10
    cap_w = max(text_width(t, fs) for t in lines) + 16
    gy = y0 + cap_h + 12  # top of the grids
    in_w, in_h = cols.frame * cs, rows.frame * cs
    ox = x0 + in_w + 60
    out_w, out_h = cols.out * oc, rows.out * oc
    width = max(ox + out_w + 20, x0 + cap_w + 20)
    legend = _legend(rows, cols)
    leg_y = gy + max(in_h, out_h) + 30
    height = leg_y + 24 * len(legend) + 20
    p: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cnncalc-layer" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.1f} {height:.1f}" font-family="{FONT}">',
        '<defs><marker id="la" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" '
        'markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<g class="caption"><rect x="{x0}" y="{y0}" width="{cap_w:.1f}" height="{cap_h:.1f}" '
        'fill="none" stroke="none"/>',
    ]
    for k, t in enumerate(lines):
        bold = ' font-weight="bold"' if k == 0 else ""
        p.append(
            f'<text x="{x0 + 8}" y="{y0 + 5 + (k + 1) * fs * 1.4 - 4:.1f}" font-size="{fs:g}"'
            f"{bold}>{esc(t)}</text>"
        )
    p.append("</g>")
    # Input frame: padding everywhere, then zeros (transposed) and input pixels.
    p.append(f'<g class="input" transform="translate({x0},{gy:.1f})">')
    p.append(f'<rect class="pad" width="{in_w:.1f}" height="{in_h:.1f}" fill="{C_PAD}"/>')
    r_in0, r_in1 = rows.inputs[0], rows.inputs[-1] + 1
    c_in0, c_in1 = cols.inputs[0], cols.inputs[-1] + 1
    p.append(
        f'<rect class="{"zeros" if rows.transposed else "pixels"}" x="{c_in0 * cs:.1f}" '
        f'y="{r_in0 * cs:.1f}" width="{(c_in1 - c_in0) * cs:.1f}" '
        f'height="{(r_in1 - r_in0) * cs:.1f}" '
        f'fill="{C_ZERO if rows.transposed or cols.transposed else C_INPUT}"/>'
    )
    if rows.transposed or cols.transposed:
        sr, sc = (
            rows.layer_stride if rows.transposed else 1,
            cols.layer_stride if cols.transposed else 1,
        )
        p.append(
            f'<defs><pattern id="px" patternUnits="userSpaceOnUse" x="{c_in0 * cs:.1f}" '
            f'y="{r_in0 * cs:.1f}" width="{sc * cs:.1f}" height="{sr * cs:.1f}">'
            f'<rect width="{cs:.1f}" height="{cs:.1f}" fill="{C_INPUT}"/></pattern></defs>'
            f'<rect class="pixels" x="{c_in0 * cs:.1f}" y="{r_in0 * cs:.1f}" '
            f'width="{(c_in1 - c_in0) * cs:.1f}" height="{(r_in1 - r_in0) * cs:.1f}" '
            'fill="url(#px)"/>'
        )
    for plan, horizontal in ((rows, False), (cols, True)):
        for c in plan.uncovered:
            if horizontal:
                p.append(
                    f'<rect class="uncovered" x="{c * cs:.1f}" width="{cs:.1f}" '
                    f'height="{in_h:.1f}" fill="{C_UNCOVERED}" fill-opacity="0.35"/>'
                )
            else:
                p.append(
                    f'<rect class="uncovered" y="{c * cs:.1f}" height="{cs:.1f}" '
                    f'width="{in_w:.1f}" fill="{C_UNCOVERED}" fill-opacity="0.35"/>'
                )
    p += _grid(cols.frame, rows.frame, cs, "gi")
    # the ceil-mode extra window(s): outline at the last start on each ceil axis
    for plan, horizontal in ((rows, False), (cols, True)):
        if plan.ceil_extra:
            span = win.effective_kernel(plan.kernel, plan.dilation) * cs
            a = plan.starts[-1] * cs
            if horizontal:
                rect = f'x="{a:.1f}" y="0" width="{span:.1f}" height="{in_h:.1f}"'
            else:
                rect = f'x="0" y="{a:.1f}" width="{in_w:.1f}" height="{span:.1f}"'
            p.append(
                f'<rect class="ceil-extra" {rect} fill="none" stroke="{C_CEIL}" '
                'stroke-width="2" stroke-dasharray="6,3"/>'
            )
    # the window: one tap rectangle per (row tap, column tap), moved by one animation
    steps = [(i, j) for i in _sample(rows.out, 8) for j in _sample(cols.out, 8)][:MAX_STEPS]
    dur = max(len(steps), 1) * seconds_per_step
    keys = ";".join(f"{k / len(steps):.4f}" for k in range(len(steps)))
    vals = ";".join(f"{cols.starts[j] * cs:.1f},{rows.starts[i] * cs:.1f}" for i, j in steps)
    p.append(f'<g class="window" data-steps="{len(steps)}">')
    for a in range(rows.kernel):
        for b in range(cols.kernel):
            p.append(
                f'<rect class="tap" x="{b * cols.dilation * cs:.1f}" '
                f'y="{a * rows.dilation * cs:.1f}" width="{cs:.1f}" height="{cs:.1f}" '
                f'fill="{C_TAP}" fill-opacity="0.75"/>'
            )
    ew = win.effective_kernel(cols.kernel, cols.dilation) * cs
    eh = win.effective_kernel(rows.kernel, rows.dilation) * cs
    p.append(
        f'<rect class="span" width="{ew:.1f}" height="{eh:.1f}" fill="none" stroke="#a63603" '
        'stroke-width="2"/>'
    )
    p.append(
        f'<animateTransform attributeName="transform" type="translate" values="{vals}" '
        f'keyTimes="{keys}" dur="{dur:g}s" calcMode="discrete" repeatCount="indefinite"/></g>'
    )
    p.append("</g>")
    # output grid with the current cell
    p.append(f'<g class="output" transform="translate({ox:.1f},{gy:.1f})">')
    p.append(f'<rect width="{out_w:.1f}" height="{out_h:.1f}" fill="{C_OUT}"/>')
    p += _grid(cols.out, rows.out, oc, "go")
    ovals = ";".join(f"{j * oc:.1f},{i * oc:.1f}" for i, j in steps)
    p.append(
        f'<rect class="current" width="{oc:.1f}" height="{oc:.1f}" fill="{C_TAP}" '
        f'stroke="#a63603"><animateTransform attributeName="transform" type="translate" '
        f'values="{ovals}" keyTimes="{keys}" dur="{dur:g}s" calcMode="discrete" '
        'repeatCount="indefinite"/></rect>'
    )
    p.append("</g>")
    # arrow input → output
    ay = gy + min(in_h, out_h) / 2
    p.append(
        f'<path d="M{x0 + in_w + 10:.1f},{ay:.1f} L{ox - 10:.1f},{ay:.1f}" stroke="#555" '
        'stroke-width="1.5" fill="none" marker-end="url(#la)"/>'
    )
    for k, (color, label, extra) in enumerate(legend):
        y = leg_y + 24 * k
        tw = text_width(label, 12)
        p.append(
            f'<g class="legend"><rect x="{x0}" y="{y:.1f}" width="{tw + 34:.1f}" height="20" '
            f'fill="none" stroke="none"/><rect x="{x0 + 4}" y="{y + 3:.1f}" width="14" '
            f'height="14" fill="{color}" {extra or STROKE}/>'
            f'<text x="{x0 + 26}" y="{y + 14.5:.1f}" font-size="12">{esc(label)}</text></g>'
        )
    p.append("</svg>\n")
    return "\n".join(p)


def _grid(nx: int, ny: int, cs: float, pid: str) -> list[str]:
    if cs < 5:
        return []  # too fine for lines
    return [
        f'<defs><pattern id="{pid}" patternUnits="userSpaceOnUse" width="{cs:.2f}" '
        f'height="{cs:.2f}"><path d="M{cs:.2f},0 L0,0 L0,{cs:.2f}" fill="none" stroke="#888" '
        f'stroke-width="0.6"/></pattern></defs><rect width="{nx * cs:.1f}" '
        f'height="{ny * cs:.1f}" fill="url(#{pid})" stroke="#888" stroke-width="0.6"/>'
    ]


def _legend(rows: AxisPlan, cols: AxisPlan) -> list[tuple[str, str, str]]:
    out = [(C_INPUT, "input pixel", "")]
    if rows.pad_lo or rows.pad_hi or cols.pad_lo or cols.pad_hi:
        out.append((C_PAD, "padding (zeros; −∞ for max pooling)", ""))
    if rows.transposed or cols.transposed:
        out.append((C_ZERO, "zero inserted between input pixels (stride − 1 per gap)", ""))
    d = max(rows.dilation, cols.dilation)
    out.append(
        (
            C_TAP,
            "kernel taps at the current position" + (f" (dilation {d}: gaps)" if d > 1 else ""),
            "",
        )
    )
    out.append((C_OUT, "output; the current output cell highlighted", ""))
    if rows.uncovered or cols.uncovered:
        n = max(len(rows.uncovered), len(cols.uncovered))
        out.append((C_UNCOVERED, f"uncovered: {n} end row(s)/column(s) no window reads", ""))
    if rows.ceil_extra or cols.ceil_extra:
        out.append(
            (
                "none",
                "ceil mode's extra window (kept: starts inside the input)",
                f'stroke="{C_CEIL}" stroke-dasharray="4,2"',
            )
        )
    return out


def _starts(starts: tuple[int, ...]) -> str:
    if len(starts) <= 4:
        return ", ".join(map(str, starts))
    return f"{starts[0]}, {starts[1]}, …, {starts[-1]}"


def _caption(node, plans: list[AxisPlan]) -> list[str]:
    lay = node.layer
    x = lay.in_shapes[0]
    dims = lambda s: "×".join(map(str, s))  # noqa: E731
    lines = [f"{node.name} ({node.type}): {dims(x)} → {dims(node.out_shape)}"]
    rows, cols = plans
    for label, p in (("rows", rows), ("columns", cols)):
        if p.size == 1 and p.kernel == 1 and label == "rows":
            continue
        eff = win.effective_kernel(p.kernel, p.dilation)
        if p.transposed:
            lines.append(
                f"{label}: W={p.size}, F={p.kernel}, S={p.layer_stride}: {p.size} pixels "
                f"with {p.layer_stride - 1} zero(s) between, padded {p.pad_lo}/{p.pad_hi}, "
                f"a stride-1 window of {eff} → {p.out}"
            )
        else:
            lines.append(
                f"{label}: W={p.size}, F={p.kernel}, S={p.stride}, P={p.pad_lo}"
                + (f"/{p.given_hi}" if p.given_hi != p.pad_lo else "")
                + (f", D={p.dilation} (covers {eff})" if p.dilation > 1 else "")
                + f": {p.out} window{'s' if p.out > 1 else ''} at {_starts(p.starts)}"
                + (" (ceil mode: the last one runs past the end)" if p.ceil_extra else "")
            )
    if len(plans) == 2 and len(lay.in_shapes[0]) > 3:
        lines.append("(the last two spatial axes are drawn)")
    return lines
