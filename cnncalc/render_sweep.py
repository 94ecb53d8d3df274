"""Rendering of a :class:`cnncalc.sweep.Sweep`: text table, CSV, JSON, a terminal scatter plot and
an SVG scatter plot, the Pareto front highlighted in each."""

from __future__ import annotations

import csv
import io
import json
import math
from html import escape
from typing import Any

from .render import fmt_bytes, fmt_count, fmt_ops
from .sweep import Result, Sweep

__all__ = ["sweep_text", "sweep_csv", "sweep_json", "scatter_text", "scatter_svg"]

#: Rows a text table lists before it refers to ``--show`` / the JSON and CSV formats.
TEXT_LIMIT = 50


def _fig(r: Result, name: str) -> str:
    v = r.figure(name)
    if v is None:
        return "-"
    if name == "memory":
        return fmt_bytes(v)
    if name in ("macs", "flops"):
        return fmt_ops(v)
    return fmt_count(v)


def _axis_name(obj: str) -> str:
    return ("max " if obj.startswith("-") else "") + obj.lstrip("-")


def sweep_text(sw: Sweep, show: str = "auto", color: bool = False) -> str:
    """The kept configurations (or the front, or all), the failures with their reasons, and a
    terminal scatter plot of the kept points with the front marked."""
    out: list[str] = []
    where = f" (shard {sw.shard[0]}/{sw.shard[1]})" if sw.shard else ""
    budget = ", ".join(
        f"{k} ≤ {fmt_bytes(v) if k == 'memory' else fmt_ops(v)}" for k, v in sw.filters.items()
    )
    out.append(
        f"{sw.model}: {len(sw.results):,} of {sw.total:,} configurations evaluated{where}, "
        f"{len(sw.failed):,} failed, {len(sw.kept):,} within budget"
        + (f" ({budget})" if budget else "")
        + f", {len(sw.front):,} on the Pareto front of "
        + " vs ".join(_axis_name(o) for o in sw.objectives)
    )
    if show == "auto":
        show = "kept" if len(sw.kept) <= TEXT_LIMIT else "front"
    rows = {"front": sw.front, "kept": sw.kept, "all": sw.results}[show]
    front = {r.config.index for r in sw.front}
    if rows:
        out.append("")
        if show == "front" and len(sw.kept) > len(rows):
            out.append(
                f"The Pareto front ({len(rows):,} of {len(sw.kept):,} kept; --show kept lists "
                "them all, --format csv/json gives every row):"
            )
        header = ["#", "configuration", "params", "MACs", "FLOPs", "memory", "front"]
        table = [header]
        for r in rows[: max(TEXT_LIMIT, len(sw.front)) if show != "front" else None]:
            table.append(
                [
                    str(r.config.index),
                    r.config.label(),
                    _fig(r, "params"),
                    _fig(r, "macs"),
                    _fig(r, "flops"),
                    _fig(r, "memory"),
                    "*" if r.config.index in front else ("x" if not r.ok else ""),
                ]
            )
        widths = [max(len(row[k]) for row in table) for k in range(len(header))]
        right = {0, 2, 3, 4, 5}
        for k, row in enumerate(table):
            cells = [
                c.rjust(widths[j]) if j in right else c.ljust(widths[j]) for j, c in enumerate(row)
            ]
            out.append("  ".join(cells).rstrip())
            if k == 0:
                out.append("  ".join("-" * w for w in widths))
        if len(rows) > len(table) - 1:
            out.append(f"… {len(rows) - (len(table) - 1):,} more (--format csv lists every row)")
    if sw.failed:
        out.append("")
        out.append(f"Failed ({len(sw.failed):,}; not fatal):")
        for r in sw.failed[:TEXT_LIMIT]:
            out.append(f"  #{r.config.index} {r.config.label()}: {r.error}")
        if len(sw.failed) > TEXT_LIMIT:
            out.append(f"  … {len(sw.failed) - TEXT_LIMIT:,} more (--format csv lists them)")
    if sw.compound:
        out.append("")
        out += compound_lines(sw)
    plot = scatter_text(sw)
    if plot:
        out.append("")
        out += plot
    return "\n".join(out) + "\n"


def compound_lines(sw: Sweep) -> list[str]:
    """φ, the multipliers, the figures, MACs ratio to the previous step and to φ=0 beside 2^φ,
    and the published figures of the family's member at that φ where it has one."""
    by_index = {r.config.index: r for r in sw.results}
    table = [
        [
            "phi",
            "depth",
            "width",
            "res",
            "params",
            "MACs",
            "×prev",
            "×phi0",
            "2^phi",
            "published",
        ]
    ]
    base = prev = None
    for step in sw.compound or []:
        r = by_index.get(step["index"])
        macs = r.macs if r is not None and r.ok else None
        ratio_prev = f"{macs / prev:.3f}" if macs and prev else "-"
        ratio_base = f"{macs / base:.3f}" if macs and base else "-"
        if macs and base is None:
            base = macs
        prev = macs or prev
        pub = step.get("published")
        table.append(
            [
                f"{step['phi']:g}",
                f"{step['depth']:.3f}",
                f"{step['width']:.3f}",
                str(step["resolution"]),
                _fig(r, "params") if r is not None and r.ok else "failed",
                fmt_ops(macs) if macs else "-",
                ratio_prev,
                ratio_base,
                f"{2 ** step['phi']:g}",
                (
                    f"{pub['name']}: {fmt_count(pub['params'])} params, {pub['gmacs']} GMACs"
                    f" at {pub['resolution']}"
                )
                if pub
                else "",
            ]
        )
    widths = [max(len(row[k]) for row in table) for k in range(len(table[0]))]
    lines = [
        f"Compound scaling (Tan & Le 2019): depth α^φ, width β^φ, resolution γ^φ · base, "
        f"α·β²·γ² = {sw.compound[0]['product']:.3f}"
        if sw.compound
        else ""
    ]
    for k, row in enumerate(table):
        lines.append(
            "  ".join(c.rjust(widths[j]) if j < 9 else c for j, c in enumerate(row)).rstrip()
        )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _scale(values: list[int]) -> tuple[bool, float, float]:
    """Log scale when the values span more than 20× (and are positive)."""
    lo, hi = min(values), max(values)
    log = lo > 0 and hi / lo > 20
    if log:
        return True, math.log10(lo), math.log10(hi)
    return False, float(lo), float(hi)


def _pos(v: int, scale: tuple[bool, float, float], n: int) -> int:
    log, lo, hi = scale
    x = math.log10(v) if log else float(v)
    if hi == lo:
        return n // 2
    return min(n - 1, max(0, round((x - lo) / (hi - lo) * (n - 1))))


def _axis_values(sw: Sweep) -> tuple[str, str, list[tuple[int, int, bool]]]:
    xo, yo = (o.lstrip("-") for o in sw.objectives)
    front = {r.config.index for r in sw.front}
    pts = []
    for r in sw.kept:
        x, y = r.figure(xo), r.figure(yo)
        if x is not None and y is not None:
            pts.append((x, y, r.config.index in front))
    return xo, yo, pts


def scatter_text(sw: Sweep, width: int = 60, height: int = 14) -> list[str]:
    """A small terminal scatter plot of the kept configurations: '·' a point, '●' the front."""
    xo, yo, pts = _axis_values(sw)
    if len(pts) < 2:
        return []
    xs, ys = _scale([p[0] for p in pts]), _scale([p[1] for p in pts])
    grid = [[" "] * width for _ in range(height)]
    for x, y, on_front in sorted(pts, key=lambda p: p[2]):
        col, row = _pos(x, xs, width), height - 1 - _pos(y, ys, height)
        grid[row][col] = "●" if on_front else ("·" if grid[row][col] == " " else grid[row][col])
    fx = fmt_bytes if xo == "memory" else fmt_ops
    fy = fmt_bytes if yo == "memory" else fmt_ops
    top, bottom = fy(max(p[1] for p in pts)), fy(min(p[1] for p in pts))
    pad = max(len(top), len(bottom))
    lines = [f"{yo}{' (log)' if ys[0] else ''} ↑   ● Pareto front   · other kept configurations"]
    for k, row in enumerate(grid):
        label = top if k == 0 else bottom if k == height - 1 else ""
        lines.append(f"{label.rjust(pad)} │{''.join(row).rstrip()}")
    lines.append(" " * pad + " └" + "─" * width)
    left, right = fx(min(p[0] for p in pts)), fx(max(p[0] for p in pts))
    lines.append(
        " " * (pad + 2)
        + left
        + " " * max(1, width - len(left) - len(right))
        + right
        + f"  → {xo}{' (log)' if xs[0] else ''}"
    )
    return lines


def scatter_svg(sw: Sweep, width: int = 640, height: int = 420) -> str:
    """An SVG scatter plot: every kept configuration, the front drawn as a line of red points,
    each point titled with its configuration (hover in a browser)."""
    xo, yo, _ = _axis_values(sw)
    front = {r.config.index for r in sw.front}
    pts = [
        (r.figure(xo), r.figure(yo), r)
        for r in sw.kept
        if r.figure(xo) is not None and r.figure(yo) is not None
    ]
    ml, mr, mt, mb = 80, 20, 40, 50
    pw, ph = width - ml - mr, height - mt - mb
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">'
        f"{escape(sw.model)}: {len(sw.kept):,} configurations, "
        f"{len(sw.front):,} on the Pareto front</text>",
        f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>',
    ]
    if pts:
        xs, ys = _scale([p[0] for p in pts]), _scale([p[1] for p in pts])

        def px(v: int) -> float:
            return ml + _pos(v, xs, 10_000) / 9_999 * pw

        def py(v: int) -> float:
            return mt + ph - _pos(v, ys, 10_000) / 9_999 * ph

        fx = fmt_bytes if xo == "memory" else fmt_ops
        fy = fmt_bytes if yo == "memory" else fmt_ops
        for v, anchor, x in (
            (min(p[0] for p in pts), "start", ml),
            (max(p[0] for p in pts), "end", ml + pw),
        ):
            parts.append(f'<text x="{x}" y="{mt + ph + 16}" text-anchor="{anchor}">{fx(v)}</text>')
        for v, y in ((min(p[1] for p in pts), mt + ph), (max(p[1] for p in pts), mt + 10)):
            parts.append(f'<text x="{ml - 6}" y="{y}" text-anchor="end">{fy(v)}</text>')
        parts.append(
            f'<text x="{ml + pw / 2}" y="{height - 12}" text-anchor="middle">'
            f"{_axis_name(sw.objectives[0])}{' (log scale)' if xs[0] else ''}</text>"
        )
        parts.append(
            f'<text x="16" y="{mt + ph / 2}" text-anchor="middle" '
            f'transform="rotate(-90 16 {mt + ph / 2})">'
            f"{_axis_name(sw.objectives[1])}{' (log scale)' if ys[0] else ''}</text>"
        )
        line = sorted((px(x), py(y)) for x, y, r in pts if r.config.index in front)
        if len(line) > 1:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in line)
            parts.append(f'<polyline class="front" points="{d}" fill="none" stroke="#d33"/>')
        for x, y, r in sorted(pts, key=lambda p: p[2].config.index in front):
            on = r.config.index in front
            parts.append(
                f'<circle class="{"front" if on else "point"}" cx="{px(x):.1f}" cy="{py(y):.1f}" '
                f'r="{4 if on else 2.5}" fill="{"#d33" if on else "#68a"}">'
                f"<title>{escape(r.config.label())}: {_fig(r, 'params')} params, "
                f"{_fig(r, 'macs')} MACs</title></circle>"
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def sweep_json(sw: Sweep) -> str:
    return json.dumps(sw.to_dict(), indent=1) + "\n"


def sweep_csv(sw: Sweep) -> str:
    """Every evaluated configuration, one row each, in configuration order; variables as columns."""
    names: list[str] = []
    for r in sw.results:
        for k, _ in r.config.variables:
            if k not in names:
                names.append(k)
    front = {r.config.index for r in sw.front}
    kept = {r.config.index for r in sw.kept}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["index", "variant", "input_shape", *names, "params", "macs", "flops", "memory_bytes"]
        + ["kept", "pareto", "error"]
    )
    for r in sw.results:
        c = r.config
        vals: dict[str, Any] = dict(c.variables)
        shape = r.input_shape or c.input_shape
        w.writerow(
            [
                c.index,
                c.variant or "",
                "x".join(str(d) for d in shape) if shape else "",
                *[vals.get(k, "") for k in names],
                "" if r.params is None else r.params,
                "" if r.macs is None else r.macs,
                "" if r.flops is None else r.flops,
                "" if r.memory is None else r.memory,
                int(c.index in kept),
                int(c.index in front),
                r.error or "",
            ]
        )
    return buf.getvalue()
