"""Renderers: a report as a text table, JSON, CSV or markdown. Human units exist only here.

The plain-text table is hand-aligned (stable for golden tests and pipes); the terminal table
(``render_rich``) is used only when stdout is a terminal.
"""

from __future__ import annotations

import re
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


def fmt_pct(x: float) -> str:
    """A fraction as a percentage: 0.8931 → '89.3%'; tiny non-zero shares show as '<0.1%'."""
    if x == 0:
        return "0%"
    if x < 0.0005:
        return "<0.1%"
    return f"{100 * x:.1f}%"


def fmt_kernel(k: Sequence[int] | None) -> str:
    """'3×3' (the window of a conv or pooling layer, per spatial axis); '' for other layers."""
    return "" if not k else "×".join(map(str, k))


class Column(NamedTuple):
    """A table column described as data: key, header, alignment, whether it may wrap at spaces."""

    key: str
    header: str
    align: str = ">"
    wrap: bool = False


COLUMNS = {
    "name": Column("name", "Layer (type)", "<", True),
    "type": Column("type", "Type", "<"),
    "input_shape": Column("input_shape", "Input shape", "<", True),
    "shape": Column("shape", "Output shape", "<"),
    "kernel": Column("kernel", "Kernel", "<"),
    "params": Column("params", "Params"),
    "params_pct": Column("params_pct", "Params %"),
    "macs": Column("macs", "MACs"),
    "macs_pct": Column("macs_pct", "MACs %"),
    "flops": Column("flops", "FLOPs"),
    "rf": Column("rf", "RF size/jump/start"),
    "trainable": Column("trainable", "Trainable", "<"),
    "connected": Column("connected", "Connected to", "<", True),
    "line": Column("line", "Line"),
}
DEFAULT_COLUMNS = ("name", "shape", "params", "macs", "flops")

#: Other names accepted by ``--columns``: torchinfo's ``col_names`` and Keras's headers.
COLUMN_ALIASES = {
    "layer": "name",
    "output_shape": "shape",
    "output": "shape",
    "output_size": "shape",
    "input": "input_shape",
    "input_size": "input_shape",
    "kernel_size": "kernel",
    "num_params": "params",
    "param": "params",
    "params%": "params_pct",
    "params_percent": "params_pct",
    "mult_adds": "macs",
    "macs%": "macs_pct",
    "macs_percent": "macs_pct",
    "receptive_field": "rf",
    "connected_to": "connected",
}


def parse_columns(text: str | None, rf: bool = False) -> tuple[str, ...]:
    """``--columns name,type,params`` → column keys (aliases resolved); ``name`` always first.

    None → the defaults. ``rf`` (``--rf``) appends the receptive-field column if missing.
    """
    from .errors import CnncalcError, did_you_mean

    if text is None:
        cols: list[str] = list(DEFAULT_COLUMNS)
    else:
        cols = []
        for raw in text.replace(" ", ",").split(","):
            key = raw.strip().lower().replace("-", "_").replace(" ", "_")
            if not key:
                continue
            key = COLUMN_ALIASES.get(key, key)
            if key not in COLUMNS:
                raise CnncalcError(
                    f"unknown column '{raw.strip()}'",
                    hint=did_you_mean(key, [*COLUMNS, *COLUMN_ALIASES], "columns")
                    + f" (columns: {', '.join(COLUMNS)})",
                )
            if key not in cols:
                cols.append(key)
        if "name" in cols:
            cols.remove("name")
        cols.insert(0, "name")
    if rf and "rf" not in cols:
        cols.append("rf")
    return tuple(cols)


class DisplayRow(NamedTuple):
    """A row as shown: a layer, or a group of layers (a block collapsed by ``--depth``, or a
    block's own row in ``--tree``)."""

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
    #: the rows (display names) this one takes its inputs from
    inputs: tuple[str, ...] = ()
    input_shapes: tuple[tuple[int, ...], ...] = ()
    kernel: tuple[int, ...] | None = None
    trainable_params: int = 0
    non_trainable_params: int = 0
    buffers: int = 0
    output_elements: int = 0
    group: bool = False
    #: ``--tree``: the drawing in front of the name ('│    └─') and the name without its path
    prefix: str = ""
    label: str = ""
    level: int = 0


def _shape_of(report: Report, by_name: dict[str, LayerRow], name: str) -> tuple[int, ...]:
    if name in report.input_shapes:
        return tuple(report.input_shapes[name])
    return tuple(by_name[name].output_shape)


def _layer_display(report: Report, by_name: dict[str, LayerRow], r: LayerRow) -> DisplayRow:
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
        tuple(r.inputs),
        tuple(_shape_of(report, by_name, i) for i in r.inputs),
        r.kernel,
        r.trainable_params,
        r.non_trainable_params,
        r.buffers,
        r.output_elements,
    )


def _group_display(
    report: Report, by_name: dict[str, LayerRow], key: str, rows: Sequence[LayerRow]
) -> DisplayRow:
    """One row for several layers: sums of their figures (train-only layers' MACs aside), the
    last inference layer's output, the inputs that come from outside the group."""
    groups = report.meta.get("groups", {})
    inside = {r.name for r in rows}
    ins = tuple(dict.fromkeys(i for r in rows for i in r.inputs if i not in inside))
    ran = [r for r in rows if not r.train_only]
    last = (ran or list(rows))[-1]
    return DisplayRow(
        name=key,
        type=groups.get(key, "group"),
        output_shape=last.output_shape,
        params=sum(r.params for r in rows),
        macs=sum(r.macs for r in ran),
        flops=sum(r.flops for r in ran),
        trainable=all(r.trainable for r in rows),
        line=rows[0].line,
        count=len(rows),
        train_only=all(r.train_only for r in rows),
        receptive_field=last.receptive_field,
        inputs=ins,
        input_shapes=tuple(_shape_of(report, by_name, i) for i in ins),
        trainable_params=sum(r.trainable_params for r in rows),
        non_trainable_params=sum(r.non_trainable_params for r in rows),
        buffers=sum(r.buffers for r in rows),
        output_elements=sum(r.output_elements for r in ran),
        group=True,
    )


def group_rows(report: Report, depth: int | None = None) -> list[DisplayRow]:
    """Rows to display; with ``depth`` d, layers deeper than d name parts are merged into their group."""
    by_name = {r.name: r for r in report.rows}
    if depth is None:
        return [_layer_display(report, by_name, r) for r in report.rows]
    out: list[DisplayRow] = []
    current: list[LayerRow] = []
    current_key: str | None = None
    shown_as: dict[str, str] = {}

    def flush() -> None:
        if not current:
            return
        if len(current) == 1 and current[0].name == current_key:
            out.append(_layer_display(report, by_name, current[0]))
        else:
            out.append(_group_display(report, by_name, current_key or current[-1].name, current))
        current.clear()

    for r in report.rows:
        parts = r.name.split(".")
        key = ".".join(parts[:depth]) if len(parts) > depth else r.name
        if key != current_key:
            flush()
            current_key = key
        current.append(r)
        shown_as[r.name] = key
    flush()
    # inputs name the rows as shown (a layer inside a collapsed block → the block)
    return [
        d._replace(inputs=tuple(dict.fromkeys(shown_as.get(i, i) for i in d.inputs))) for d in out
    ]


def tree_rows(report: Report, depth: int | None = None) -> list[DisplayRow]:
    """The block hierarchy (torchinfo's nesting): a row per block with its totals, then its
    members, indented with ``├─``/``└─``/``│``; ``depth`` d shows d levels (deeper ones are
    counted in their block's row)."""
    by_name = {r.name: r for r in report.rows}
    groups = report.meta.get("groups", {})
    # children in first-appearance order; a node is a block path or a layer name
    children: dict[str, list[str]] = {"": []}
    members: dict[str, list[LayerRow]] = {}
    for r in report.rows:
        parts = r.name.split(".")
        parent = ""
        for k in range(1, len(parts) + 1):
            path = ".".join(parts[:k])
            is_layer = k == len(parts)
            node = path if not is_layer or path not in children else path + "\0"
            if node not in children:
                children[node] = []
                children[parent].append(node)
            if not is_layer:
                members.setdefault(path, []).append(r)
            parent = node
    out: list[DisplayRow] = []

    def walk(node: str, lead: str, level: int) -> None:
        kids = children[node]
        for j, kid in enumerate(kids):
            last = j == len(kids) - 1
            prefix = lead + ("└─" if last else "├─")
            name = kid.removesuffix("\0")
            label = name.rsplit(".", 1)[-1]
            if children[kid] and kid in members:  # a block
                row = _group_display(report, by_name, name, members[kid])
                if name not in groups:
                    row = row._replace(type="group")
            else:
                row = _layer_display(report, by_name, by_name[name])
            out.append(row._replace(prefix=prefix, label=label, level=level))
            if children[kid] and (depth is None or level < depth):
                walk(kid, lead + ("    " if last else "│   "), level + 1)

    walk("", "", 1)
    return out


def name_parts(row: DisplayRow, type_column: bool = False) -> tuple[str, str, str]:
    """A name cell's parts: (name, '(type)' or '' when the type has its own column, marks:
    ' *train-only', ' (shares …)'). ``--tree`` rows give their last name part; the drawing in
    front of it is ``row.prefix``."""
    label = row.label or row.name
    mark = " *train-only" if row.train_only else ""
    if type_column:
        return label, "", mark
    kind = row.type + (f", {row.count} layers" if row.count > 1 else "")
    mark += f" (shares {row.shared_with})" if row.shared_with else ""
    return label, f"({kind})", mark


def type_is_name(label: str, type_: str) -> bool:
    """Whether a name says its type: ``relu`` (relu), ``stochastic_depth_1`` (stochastic_depth),
    the names cnncalc gives unnamed layers. The narrow terminal table leaves such a type out."""
    last = label.rsplit(".", 1)[-1]
    return last == type_ or re.fullmatch(re.escape(type_) + r"_\d+", last) is not None


def _cell(row: DisplayRow, key: str, ctx: dict[str, Any] | None = None) -> str:
    ctx = ctx or {}
    if key == "name":
        label, kind, mark = name_parts(row, bool(ctx.get("type_column")))
        return f"{row.prefix}{label}{' ' + kind if kind else ''}{mark}"
    if key == "type":
        return row.type + (f", {row.count} layers" if row.count > 1 else "")
    if key == "shape":
        return fmt_shape(row.output_shape)
    if key == "input_shape":
        return ", ".join(fmt_shape(s) for s in row.input_shapes)
    if key == "kernel":
        return fmt_kernel(row.kernel)
    if key == "params":
        return fmt_count(row.params) + ("" if row.trainable or not row.params else " (frozen)")
    if key == "params_pct":
        return fmt_pct(row.params / ctx["params"]) if ctx.get("params") else "0%"
    if key == "macs":
        return fmt_ops(row.macs)
    if key == "macs_pct":
        if row.train_only:
            return "-"
        return fmt_pct(row.macs / ctx["macs"]) if ctx.get("macs") else "0%"
    if key == "flops":
        return fmt_ops(row.flops)
    if key == "trainable":
        if row.shared_with:
            return "shared"
        if not row.params:
            return "-"
        return "yes" if row.trainable else "no"
    if key == "rf":
        return fmt_rf(row.receptive_field)
    if key == "connected":
        return ", ".join(row.inputs) if row.inputs != ctx.get("previous") else ""
    if key == "line":
        return "" if row.line is None else str(row.line)
    raise KeyError(key)


def display_rows(report: Report, depth: int | None = None, tree: bool = False) -> list[DisplayRow]:
    """The rows every format shows: one per layer, per ``--depth`` group, or the ``--tree``."""
    return tree_rows(report, depth) if tree else group_rows(report, depth)


def table_cells(
    report: Report,
    depth: int | None,
    columns: Sequence[str],
    tree: bool = False,
    rows: Sequence[DisplayRow] | None = None,
) -> list[list[str]]:
    """The text of every cell; "Connected to" is blank where a row takes the previous row only."""
    rows = display_rows(report, depth, tree) if rows is None else rows
    ctx: dict[str, Any] = {
        "params": report.totals.params,
        "macs": report.totals.macs,
        "type_column": "type" in columns,
    }
    out = []
    previous: tuple[str, ...] = tuple(report.input_shapes)[:1]
    for r in rows:
        ctx["previous"] = previous
        out.append([_cell(r, c, ctx) for c in columns])
        if not tree or not r.group or depth is not None and r.level >= depth:
            previous = (r.name,)
        elif r.group:
            previous = r.inputs[:1] if len(r.inputs) == 1 else previous
    return out


def column_headers(columns: Sequence[str]) -> list[str]:
    """Headers; the name column says 'Layer' when the type has a column of its own."""
    return ["Layer" if c == "name" and "type" in columns else COLUMNS[c].header for c in columns]


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
        out.append(f"… and {len(ws) - limit} more warnings (all of them in --format json or csv)")
    return out


def _buffer_kinds(report: Report) -> str:
    """What the buffers are: batch-norm running statistics, or the types that hold them
    (Swin's relative_position_index, a free ``buffer`` …)."""
    if not report.totals.buffers:
        return ""
    types = sorted({r.type for r in report.rows if r.buffers})
    if all("batchnorm" in t for t in types):
        return " (batch-norm running statistics)"
    return (
        " (not learned: held by " + ", ".join(types[:4]) + (", …" if len(types) > 4 else "") + ")"
    )


def totals_lines(report: Report, optimizer: str = "adam") -> list[tuple[str, str]]:
    """(label, value) pairs of the totals block, shared by every text renderer."""
    t = report.totals
    dt = report.dtype
    lines = [
        ("Total params", fmt_count(t.params)),
        ("Trainable params", fmt_count(t.trainable_params)),
        ("Non-trainable params", fmt_count(t.non_trainable_params)),
        ("Buffers", fmt_count(t.buffers) + _buffer_kinds(report)),
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
    *,
    tree: bool = False,
) -> str:
    """Plain-text summary table with totals (what the CLI prints when not on a terminal)."""
    cols = [COLUMNS[c] for c in columns]
    body = table_cells(report, depth, columns, tree)
    headers = column_headers(columns)
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


def group_dict(row: DisplayRow) -> dict[str, Any]:
    """The JSON form of a ``--depth``/``--tree`` group row (a block's summed figures)."""
    return {
        "name": row.name,
        "type": row.type,
        "group": True,
        "layer_count": row.count,
        "inputs": list(row.inputs),
        "output_shape": list(row.output_shape),
        "params": row.params,
        "trainable_params": row.trainable_params,
        "non_trainable_params": row.non_trainable_params,
        "buffers": row.buffers,
        "macs": row.macs,
        "flops": row.flops,
        "output_elements": row.output_elements,
        "trainable": row.trainable,
        "train_only": row.train_only,
        "line": row.line,
        "receptive_field": row.receptive_field,
    }


def summary_dict(report: Report, depth: int | None = None, tree: bool = False) -> dict[str, Any]:
    """:meth:`Report.to_dict` with the rows as shown: ``depth`` collapses blocks (their rows are
    groups with summed figures); ``tree`` adds ``blocks``: every block with its level and totals."""
    d = report.to_dict()
    d["display_depth"] = depth
    if depth is not None:
        by_name = {r.name: r for r in report.rows}
        d["layers"] = [
            group_dict(g) if g.group else by_name[g.name].to_dict()
            for g in group_rows(report, depth)
        ]
    if tree:
        d["blocks"] = [
            {**group_dict(r), "level": r.level} for r in tree_rows(report, depth) if r.group
        ]
    return d


def summary_json(
    report: Report,
    extra: dict[str, Any] | None = None,
    *,
    depth: int | None = None,
    tree: bool = False,
) -> str:
    """The JSON document (``schema_version`` 2, docs/schema.json)."""
    d = summary_dict(report, depth, tree)
    if extra:
        d.update(extra)
    import json

    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


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
#: Extra CSV fields a ``--columns`` choice adds (raw values): key → field names.
CSV_EXTRA = {
    "input_shape": ("input_shapes",),
    "kernel": ("kernel",),
    "params_pct": ("params_percent",),
    "macs_pct": ("macs_percent",),
    "rf": ("rf_size", "rf_jump", "rf_start"),
    "connected": ("connected_to",),
    "line": ("line",),
}


def _xs(vals: Sequence[Any] | None) -> str:
    return "" if vals is None else "x".join(map(str, vals))


def summary_csv(
    report: Report,
    depth: int | None = None,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    *,
    tree: bool = False,
) -> str:
    """One row per displayed row (layer, or group with ``--depth``/``--tree``) with raw integers;
    shapes as 'CxHxW' text (opens in a spreadsheet). With ``--tree`` a block's row (group=true)
    holds the sums of the rows under it (sum the rows with group=false for the totals). Columns beyond the fixed ones follow
    ``columns`` (``rf`` → rf_size, rf_jump, rf_start; per axis joined by 'x')."""
    import csv
    import io

    rows = display_rows(report, depth, tree)
    cells = table_cells(report, depth, ("connected",), tree, rows)
    extra = [f for c in columns for f in CSV_EXTRA.get(c, ())]
    grouped = depth is not None or tree
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*CSV_FIELDS, *(("level", "layer_count") if grouped else ()), *extra, "warnings"])
    t = report.totals
    notes = _warnings_by_row(report, rows)
    for r, (connected,) in zip(rows, cells):
        rf = r.receptive_field or {}
        values = {
            "input_shapes": " ".join(_xs(s) for s in r.input_shapes),
            "kernel": _xs(r.kernel),
            "params_percent": f"{100 * r.params / t.params:.6f}" if t.params else "0",
            "macs_percent": (
                "" if r.train_only else f"{100 * r.macs / t.macs:.6f}" if t.macs else "0"
            ),
            "rf_size": _xs(rf.get("size")),
            "rf_jump": _xs(rf.get("jump")),
            "rf_start": _xs(rf.get("start")),
            "connected_to": connected,
            "line": "" if r.line is None else r.line,
        }
        w.writerow(
            [
                r.name,
                r.type,
                " ".join(r.inputs),
                _xs(r.output_shape),
                r.params,
                r.trainable_params,
                r.non_trainable_params,
                r.buffers,
                r.macs,
                r.flops,
                r.output_elements,
                str(r.trainable).lower(),
                str(r.train_only).lower(),
                *((r.level, r.count, str(r.group).lower()) if grouped else ()),
                *(values[f] for f in extra),
                notes.get(id(r), ""),
            ]
        )
    return buf.getvalue()


def _warnings_by_row(report: Report, rows: Sequence[DisplayRow]) -> dict[int, str]:
    """Each row's warnings as '[code] layer: message' joined by '; ' (a group's: its layers');
    a warning no row names goes to the first row, so that none is lost."""
    out: dict[int, list[str]] = {}
    for wd in report.warnings:
        text = f"[{wd['code']}] {wd['layer']}: {wd['message']}"
        layer = str(wd.get("layer", ""))
        row = next(
            (r for r in rows if r.name == layer and not (r.group and r.prefix)), None
        ) or next((r for r in rows if r.group and layer.startswith(r.name + ".")), None)
        if row is None and rows:
            row = rows[0]
        if row is not None:
            out.setdefault(id(row), []).append(text)
    return {k: "; ".join(v) for k, v in out.items()}


def _md_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("|", "\\|")


def summary_markdown(
    report: Report,
    depth: int | None = None,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    optimizer: str = "adam",
    *,
    tree: bool = False,
) -> str:
    """A GitHub-flavoured markdown table of the layers, one of the totals, then the warnings
    and notes (the same facts as the terminal table)."""
    cols = [COLUMNS[c] for c in columns]
    out = [f"### {_md_escape(report.name)}", ""]
    out += [f"{_md_escape(h)}  " for h in header_lines(report)[1:]]
    ins = ", ".join(fmt_shape(v) for v in report.input_shapes.values())
    outs = ", ".join(fmt_shape(v) for v in report.output_shapes.values())
    out.append(
        f"Input {ins} → output {outs}, batch {report.batch}, {report.dtype}, "
        f"{report.convention} convention."
    )
    out.append("")
    out.append("| " + " | ".join(column_headers(columns)) + " |")
    out.append("|" + "|".join("---:" if c.align == ">" else ":---" for c in cols) + "|")
    for r in table_cells(report, depth, columns, tree):
        out.append("| " + " | ".join(_md_escape(x) for x in r) + " |")
    out += ["", "| Total | |", "|:---|---:|"]
    out += [f"| {k} | {_md_escape(v)} |" for k, v in totals_lines(report, optimizer)]
    out.append("")
    warnings = warning_lines(report)
    if warnings:
        out += [f"- {_md_escape(w)}" for w in warnings]
        out.append("")
    out += [f"{_md_escape(line)}  " for line in footer_lines(report)]
    out.append("")
    return "\n".join(out)


def summary_html(
    report: Report,
    depth: int | None = None,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    *,
    tree: bool = False,
) -> str:
    """An HTML fragment (Jupyter's ``_repr_html_``): the layer table, the totals, warnings and
    notes. Every text is escaped (layer names are user text)."""
    from html import escape

    cols = [COLUMNS[c] for c in columns]

    def cell(tag: str, text: str, col: Column | None = None) -> str:
        align = "" if col is None or col.align == "<" else ' style="text-align:right"'
        return f"<{tag}{align}>{escape(text)}</{tag}>"

    out = [f"<div><p><b>{escape(header_lines(report)[0])}</b></p>", "<table>", "<thead><tr>"]
    out += [cell("th", h, c) for h, c in zip(column_headers(columns), cols)]
    out.append("</tr></thead><tbody>")
    for r in table_cells(report, depth, columns, tree):
        out.append("<tr>" + "".join(cell("td", x, c) for x, c in zip(r, cols)) + "</tr>")
    out.append("</tbody></table><table><tbody>")
    out += [
        f"<tr>{cell('th', k)}{cell('td', v, COLUMNS['params'])}</tr>"
        for k, v in totals_lines(report)
    ]
    out.append("</tbody></table>")
    out += [f"<p>{escape(line)}</p>" for line in warning_lines(report) + footer_lines(report)]
    out.append("</div>")
    return "\n".join(out)


_OPEN, _CLOSE = "([{⌊⌈", ")]}⌋⌉"


def _units(text: str) -> list[str]:
    """``text`` split at its spaces outside brackets: '(3, 224, 224) → (96, 55, 55)' gives
    '(3, 224, 224)', '→', '(96, 55, 55)'."""
    units, depth, cur = [], 0, ""
    for ch in text:
        if ch == " " and depth <= 0:
            units.append(cur)
            cur = ""
            continue
        depth += (ch in _OPEN) - (ch in _CLOSE)
        cur += ch
    units.append(cur)
    return units


def wrap_text(text: str, width: int, indent: str = "    ") -> list[str]:
    """``text`` as lines of at most ``width`` characters, continuation lines after ``indent``.

    Lines break at spaces, preferably outside brackets (a shape or a parenthesised product stays
    on one line); a word (a number, a name, a product like 56·56·96) is never broken, so a line
    is longer than ``width`` only where one word is.
    """
    if len(text) <= width:
        return [text]
    lead = text[: len(text) - len(text.lstrip(" "))]
    words: list[str] = []
    room = width - len(indent)
    for unit in _units(text[len(lead) :]):
        words += [w for w in unit.split(" ") if w] if len(unit) > room else [unit] if unit else []
    lines = [lead + words[0]]
    for w in words[1:]:
        if len(lines[-1]) + 1 + len(w) <= width:
            lines[-1] += " " + w
        else:
            lines.append(indent + w)
    return lines


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, its middle replaced by '…' if it is longer:
    the start and the end of a name say most ('blocks.0.lay…excitation.fc1')."""
    if len(text) <= width:
        return text
    keep = max(width - 1, 0)
    head = (keep + 1) // 2
    return text[:head] + "…" + text[len(text) - (keep - head) :]
