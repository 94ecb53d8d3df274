"""Renderers: a report as a text table, JSON, CSV or markdown. Human units exist only here.

The plain-text table is hand-aligned (stable for golden tests and pipes); the terminal table
(``render_rich``) is used only when stdout is a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from .report import LayerRow, Report

__all__ = [
    "fmt_count",
    "fmt_ops",
    "fmt_bytes",
    "fmt_shape",
    "group_rows",
    "summary_text",
    "summary_json",
    "summary_csv",
    "summary_markdown",
    "COLUMNS",
    "totals_lines",
]


def fmt_count(n: int) -> str:
    """Thousands separators: 61706 → '61,706'."""
    return f"{n:,}"


def fmt_ops(n: int) -> str:
    """Operations with a unit: 4089184256 → '4.089 G'."""
    for unit, scale in (
        ("E", 10**18),
        ("P", 10**15),
        ("T", 10**12),
        ("G", 10**9),
        ("M", 10**6),
        ("K", 10**3),
    ):
        if abs(n) >= scale:
            return f"{n / scale:.3f} {unit}"
    return str(n)


def fmt_bytes(n: int) -> str:
    """Binary units: 102760448 → '98.00 MiB'."""
    for unit, scale in (
        ("PiB", 2**50),
        ("TiB", 2**40),
        ("GiB", 2**30),
        ("MiB", 2**20),
        ("KiB", 2**10),
    ):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def fmt_shape(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


class Column(NamedTuple):
    """A table column described as data: header, how to get the cell, alignment."""

    key: str
    header: str
    align: str = ">"


COLUMNS = {
    "name": Column("name", "Layer (type)", "<"),
    "shape": Column("shape", "Output shape", "<"),
    "params": Column("params", "Params"),
    "macs": Column("macs", "MACs"),
    "flops": Column("flops", "FLOPs"),
    "trainable": Column("trainable", "Trainable", "<"),
    "line": Column("line", "Line"),
    "rf": Column("rf", "RF size/jump/start"),
}
DEFAULT_COLUMNS = ("name", "shape", "params", "macs", "flops")


class DisplayRow(NamedTuple):
    """A row as shown: a layer, or a group of layers collapsed by ``--depth``."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    flops: int
    trainable: bool
    line: int | None
    count: int = 1
    train_only: bool = False
    shared_with: str | None = None
    receptive_field: dict[str, Any] | None = None


def group_rows(report: Report, depth: int | None = None) -> list[DisplayRow]:
    """Rows to display; with ``depth`` d, layers deeper than d name parts are merged into their group."""
    out: list[DisplayRow] = []
    if depth is None:
        return [_display(r) for r in report.rows]
    groups = report.meta.get("groups", {})
    current: list[LayerRow] = []
    current_key: str | None = None

    def flush() -> None:
        if not current:
            return
        if len(current) == 1 and current[0].name == current_key:
            out.append(_display(current[0]))
        else:
            last = current[-1]
            ran = [r for r in current if not r.train_only]
            out.append(
                DisplayRow(
                    name=current_key or last.name,
                    type=groups.get(current_key, "group"),
                    output_shape=last.output_shape,
                    params=sum(r.params for r in current),
                    macs=sum(r.macs for r in ran),
                    flops=sum(r.flops for r in ran),
                    trainable=all(r.trainable for r in current),
                    line=current[0].line,
                    count=len(current),
                    train_only=all(r.train_only for r in current),
                    receptive_field=last.receptive_field,
                )
            )
        current.clear()

    for r in report.rows:
        parts = r.name.split(".")
        key = ".".join(parts[:depth]) if len(parts) > depth else r.name
        if key != current_key:
            flush()
            current_key = key
        current.append(r)
    flush()
    return out


def _display(r: LayerRow) -> DisplayRow:
    return DisplayRow(
        r.name,
        r.type,
        r.output_shape,
        r.params,
        r.macs,
        r.flops,
        r.trainable,
        r.line,
        1,
        r.train_only,
        r.shared_with,
        r.receptive_field,
    )


def _cell(row: DisplayRow, key: str) -> str:
    if key == "name":
        kind = row.type + (f", {row.count} layers" if row.count > 1 else "")
        mark = " *train-only" if row.train_only else ""
        mark += f" (shares {row.shared_with})" if row.shared_with else ""
        return f"{row.name} ({kind}){mark}"
    if key == "shape":
        return fmt_shape(row.output_shape)
    if key == "params":
        return fmt_count(row.params) + ("" if row.trainable or not row.params else " (frozen)")
    if key == "macs":
        return fmt_ops(row.macs)
    if key == "flops":
        return fmt_ops(row.flops)
    if key == "trainable":
        return "yes" if row.trainable else "no"
    if key == "rf":
        return fmt_rf(row.receptive_field)
    if key == "line":
        return "" if row.line is None else str(row.line)
    raise KeyError(key)


def table_cells(report: Report, depth: int | None, columns: Sequence[str]) -> list[list[str]]:
    return [[_cell(r, c) for c in columns] for r in group_rows(report, depth)]


def fmt_rf(rf: dict[str, Any] | None) -> str:
    """Receptive field cell: '212/32/-90' (size/jump/start), axes joined by × when they differ."""
    if rf is None:
        return "-"
    parts = []
    for key in ("size", "jump", "start"):
        vals = rf[key]
        parts.append(str(vals[0]) if len(set(vals)) == 1 else "×".join(str(v) for v in vals))
    return "/".join(parts)


def memory_lines(report: Report, optimizer: str = "adam") -> list[tuple[str, str]]:
    """Inference peak and training estimate (cnncalc.memory), for the totals block."""
    m = report.memory
    if m is None:
        return []
    at = f", at {m.peak_at}" if m.peak_at else ""
    return [
        ("Peak activations", f"{fmt_bytes(m.peak_inference_bytes)} (inference{at})"),
        (f"Training ({optimizer})", f"{fmt_bytes(m.training_bytes(optimizer))} (estimate)"),
    ]


def warning_lines(report: Report, limit: int = 12) -> list[str]:
    """'warning [code] layer: message' lines, at most ``limit`` and a count of the rest."""
    ws = report.warnings
    out = [f"warning [{w['code']}] {w['layer']}: {w['message']}" for w in ws[:limit]]
    if len(ws) > limit:
        out.append(f"… and {len(ws) - limit} more warnings (all of them in --format json)")
    return out


def totals_lines(report: Report, optimizer: str = "adam") -> list[tuple[str, str]]:
    """(label, value) pairs of the totals block, shared by every text renderer."""
    t = report.totals
    dt = report.dtype
    lines = [
        ("Total params", fmt_count(t.params)),
        ("Trainable params", fmt_count(t.trainable_params)),
        ("Non-trainable params", fmt_count(t.non_trainable_params)),
        (
            "Buffers",
            fmt_count(t.buffers) + (" (batch-norm running statistics)" if t.buffers else ""),
        ),
        ("MACs", f"{fmt_ops(t.macs)} ({fmt_count(t.macs)})"),
        ("FLOPs", f"{fmt_ops(t.flops)} ({fmt_count(t.flops)})"),
        ("Input size", fmt_bytes(t.input_bytes)),
        (f"Params size ({dt})", fmt_bytes(t.params_bytes)),
        (
            "Activations (forward)",
            f"{fmt_bytes(t.activation_bytes)} ({fmt_count(t.activations)} elements)",
        ),
        ("Estimated total", fmt_bytes(t.total_bytes)),
        *memory_lines(report, optimizer),
    ]
    return lines


def header_lines(report: Report) -> list[str]:
    title = report.name
    if list(report.input_shapes) == ["input"]:
        ins = fmt_shape(report.input_shape)
    else:
        ins = ", ".join(f"{k} {fmt_shape(v)}" for k, v in report.input_shapes.items())
    outs = ", ".join(fmt_shape(v) for v in report.output_shapes.values())
    lines = [f"{title}: input {ins} → output {outs} (batch {report.batch}, shapes without batch)"]
    if report.meta.get("resolved"):
        lines.append(f"resolved: {report.meta['resolved']}")
    return lines


def footer_lines(report: Report) -> list[str]:
    lines = [
        'MACs: multiply-accumulates of conv/linear/matmul (torchvision\'s "GFLOPS"); '
        "FLOPs: 2×MACs + element-wise work.",
        f"Convention: {report.convention}"
        + (
            " (batch-norm running statistics are buffers, not parameters)"
            if report.convention == "pytorch"
            else " (batch-norm moving statistics are non-trainable parameters)"
        ),
    ]
    lines.extend(f"Note: {n}" for n in report.notes)
    return lines


def summary_text(
    report: Report,
    depth: int | None = None,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    optimizer: str = "adam",
) -> str:
    """Plain-text summary table with totals (what the CLI prints when not on a terminal)."""
    cols = [COLUMNS[c] for c in columns]
    body = table_cells(report, depth, columns)
    headers = [c.header for c in cols]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(f"{cell:{c.align}{w}}" for cell, c, w in zip(cells, cols, widths)).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    out = header_lines(report)
    out += [rule, line(headers), rule]
    out += [line(r) for r in body]
    out.append(rule)
    totals = totals_lines(report, optimizer)
    lw = max(len(k) for k, _ in totals)
    out += [f"{k + ':':<{lw + 1}} {v}" for k, v in totals]
    out.append(rule)
    out += warning_lines(report)
    out += footer_lines(report)
    return "\n".join(out) + "\n"


def summary_json(report: Report, extra: dict[str, Any] | None = None) -> str:
    d = report.to_dict()
    if extra:
        d.update(extra)
    import json

    return json.dumps(d, indent=2) + "\n"


CSV_FIELDS = (
    "name",
    "type",
    "inputs",
    "output_shape",
    "params",
    "trainable_params",
    "non_trainable_params",
    "buffers",
    "macs",
    "flops",
    "output_elements",
    "trainable",
    "train_only",
)


def summary_csv(report: Report) -> str:
    """One row per layer with raw integers; shapes as 'C×H×W' text (opens in a spreadsheet)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for r in report.rows:
        w.writerow(
            [
                r.name,
                r.type,
                " ".join(r.inputs),
                "x".join(map(str, r.output_shape)),
                r.params,
                r.trainable_params,
                r.non_trainable_params,
                r.buffers,
                r.macs,
                r.flops,
                r.output_elements,
                str(r.trainable).lower(),
                str(r.train_only).lower(),
            ]
        )
    return buf.getvalue()


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def summary_markdown(
    report: Report, depth: int | None = None, columns: Sequence[str] = DEFAULT_COLUMNS
) -> str:
    """A GitHub-flavoured markdown table of the layers and one of the totals."""
    cols = [COLUMNS[c] for c in columns]
    out = [f"### {report.name}", ""]
    out += [f"{_md_escape(h)}  " for h in header_lines(report)[1:]]
    ins = ", ".join(fmt_shape(v) for v in report.input_shapes.values())
    out.append(
        f"Input {ins}, batch {report.batch}, {report.dtype}, {report.convention} convention."
    )
    out.append("")
    out.append("| " + " | ".join(c.header for c in cols) + " |")
    out.append("|" + "|".join("---:" if c.align == ">" else ":---" for c in cols) + "|")
    for r in table_cells(report, depth, columns):
        out.append("| " + " | ".join(_md_escape(x) for x in r) + " |")
    out += ["", "| Total | |", "|:---|---:|"]
    out += [f"| {k} | {_md_escape(v)} |" for k, v in totals_lines(report)]
    out.append("")
    return "\n".join(out)
