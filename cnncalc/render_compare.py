"""Renderers of a :class:`~cnncalc.comparison.Comparison`: text table, bars, stages, JSON, CSV, markdown.

Human units come from :mod:`cnncalc.render`'s helpers, so ``compare`` and ``summary`` print
numbers the same way. Rich is imported only by :func:`print_rich` (stdout is a terminal).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .comparison import Comparison, ModelRecord, Stage
from .render import fmt_bytes, fmt_count, fmt_ops, fmt_pct, fmt_shape
from .report import Totals

__all__ = [
    "fmt_ratio",
    "fmt_share",
    "compare_text",
    "compare_json",
    "compare_csv",
    "compare_markdown",
    "stages_text",
    "stages_markdown",
    "bar_lines",
    "print_rich",
    "METRICS",
    "DEPTH_NOTE",
]

DEPTH_NOTE = (
    "Depth: conv/linear/matmul layers on the longest input→output path (VGG-16: 16, "
    "ResNet-50: 50); weighted layers: every layer with weights (batch norms included)."
)
MACS_NOTE = (
    'MACs: multiply-accumulates of conv/linear/matmul (torchvision\'s "GFLOPS"); '
    "FLOPs: 2×MACs + element-wise work."
)
BAR_WIDTH = 40
_EIGHTHS = " ▏▎▍▌▋▊▉"


def fmt_ratio(r: float | None) -> str:
    """A ratio to the baseline with 3 significant digits, trailing zeros kept: 5.41×, 12.1×,
    224×, 0.181×, 0.300× (not 0.3×); '—' when the baseline is 0."""
    if r is None:
        return "—"
    if r == 0:
        return "0×"
    if r >= 100:
        return f"{r:,.0f}×"
    if r >= 10:
        return f"{r:.1f}×"
    if r >= 1:
        return f"{r:.2f}×"
    return f"{r:#.3g}×"


def fmt_share(x: float) -> str:
    """A fraction as a percentage: 0.8931 → '89.3%'; tiny non-zero shares show as '<0.1%'."""
    return fmt_pct(x)


@dataclass(frozen=True)
class Metric:
    """A compared quantity described as data: label, value getter, formatter, ratio key."""

    key: str
    label: str
    get: Callable[[ModelRecord], Any]
    fmt: Callable[[Any], str]
    ratio: bool = True


def _t(key: str) -> Callable[[ModelRecord], Any]:
    return lambda m: getattr(m.totals, key)


METRICS: tuple[Metric, ...] = (
    Metric("input_shape", "Input", lambda m: m.input_shape, fmt_shape, False),
    Metric("output_shape", "Output", lambda m: m.output_shape, fmt_shape, False),
    Metric("params", "Params", _t("params"), fmt_count),
    Metric("trainable_params", "Trainable params", _t("trainable_params"), fmt_count),
    Metric("macs", "MACs", _t("macs"), fmt_ops),
    Metric("flops", "FLOPs", _t("flops"), fmt_ops),
    Metric("activation_bytes", "Activations (forward)", _t("activation_bytes"), fmt_bytes),
    Metric("params_bytes", "Params size", _t("params_bytes"), fmt_bytes),
    Metric("total_bytes", "Estimated total", _t("total_bytes"), fmt_bytes),
    Metric("depth", "Depth", lambda m: m.depth, str),
    Metric("weighted_layers", "Weighted layers", lambda m: m.weighted_layers, str, False),
)


FAILED_CELL = "cannot take it (below)"


def _cell(metric: Metric, m: ModelRecord, with_ratio: bool = True) -> str:
    if m.error is not None:
        return FAILED_CELL if metric is METRICS[0] else "—"
    text = metric.fmt(metric.get(m))
    if with_ratio and metric.ratio and not m.baseline:
        text += f" ({fmt_ratio(m.ratios.get(metric.key))})"
    return text


def _label(metric: Metric, c: Comparison) -> str:
    return f"Params size ({c.dtype})" if metric.key == "params_bytes" else metric.label


def header_lines(c: Comparison) -> list[str]:
    """What was compared, at which input, against which baseline; how family names resolved."""
    names = ", ".join(m.label + (" (baseline)" if m.baseline else "") for m in c.models)
    where = (
        f"all at input {fmt_shape(c.input_shape)}"
        if c.input_shape is not None
        else "each at its own input"
    )
    lines = [
        f"Comparing {names}: {where}; batch {c.batch}, {c.dtype}, {c.convention} convention",
        f"(×) = ratio to {c.baseline}" + (f"; sorted by {c.sort}" if c.sort else ""),
    ]
    lines += [f"resolved: {m.resolved}" for m in c.models if m.resolved]
    settings = [f"{k}={v}" for k, v in c.variables.items()]
    if c.variant is not None:
        settings.append(f"variant {c.variant}")
    if settings:
        lines.append("settings for all: " + ", ".join(settings))
    return lines


def model_warning_lines(c: Comparison) -> list[str]:
    """Each model's warnings, one line per code (codes kept): the first one in full, and how
    many more there are (``cnncalc summary MODEL`` lists them all)."""
    out = []
    for m in c.ok:
        if m.report is None:
            continue
        by_code: dict[str, list[dict[str, str]]] = {}
        for w in m.report.warnings:
            by_code.setdefault(w["code"], []).append(w)
        for code, ws in by_code.items():
            w = ws[0]
            more = f" (and {len(ws) - 1} more like it)" if len(ws) > 1 else ""
            out.append(f"{m.label}: warning [{code}] {w['layer']}: {w['message']}{more}")
    return out


def error_lines(c: Comparison) -> list[str]:
    """One line per model that could not take the comparison's settings: which, and why."""
    return [f"{m.label}: {m.error}" for m in c.models if m.error is not None]


def _align(rows: Sequence[Sequence[str]], aligns: Sequence[str]) -> tuple[list[str], int]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(aligns))]
    out = [
        "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(r, aligns, widths)).rstrip() for r in rows
    ]
    return out, sum(widths) + 2 * (len(widths) - 1)


def columns_table(c: Comparison) -> list[str]:
    """One column per model, one row per metric; ratios in parentheses."""
    head = ["", *(m.label for m in c.models)]
    body = [[_label(k, c), *(_cell(k, m) for m in c.models)] for k in METRICS]
    lines, width = _align([head, *body], "<" + ">" * len(c.models))
    rule = "-" * width
    return [rule, lines[0], rule, *lines[1:], rule]


ROW_COLUMNS = (
    ("Model", "<"),
    ("Input", "<"),
    ("Output", "<"),
    ("Params", ">"),
    ("×", ">"),
    ("MACs", ">"),
    ("×", ">"),
    ("FLOPs", ">"),
    ("Activations", ">"),
    ("Params size", ">"),
    ("Depth", ">"),
)


def _row_cells(m: ModelRecord) -> list[str]:
    t = m.totals
    if m.error is not None:
        return [m.label, FAILED_CELL, *("—" for _ in ROW_COLUMNS[2:])]
    return [
        m.label + (" *" if m.baseline else ""),
        fmt_shape(m.input_shape),
        fmt_shape(m.output_shape),
        fmt_count(t.params),
        fmt_ratio(m.ratios["params"]),
        fmt_ops(t.macs),
        fmt_ratio(m.ratios["macs"]),
        fmt_ops(t.flops),
        fmt_bytes(t.activation_bytes),
        fmt_bytes(t.params_bytes),
        str(m.depth),
    ]


def rows_table(c: Comparison) -> list[str]:
    """One row per model (for many models): the main metrics and ratios of params and MACs."""
    head = [h for h, _ in ROW_COLUMNS]
    lines, width = _align([head, *(_row_cells(m) for m in c.models)], [a for _, a in ROW_COLUMNS])
    rule = "-" * width
    return [rule, lines[0], rule, *lines[1:], rule, "* baseline"]


def _bar(value: int, top: int, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``value/top·width`` characters, in eighths of a character."""
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, round(8 * width * value / top))
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def bar_lines(
    c: Comparison, keys: Sequence[tuple[str, str]] = (("params", "Params"), ("macs", "MACs"))
) -> list[str]:
    """Plain-text bar charts of params and MACs, scaled to the largest model."""
    out: list[str] = []
    models = c.ok
    nw = max(len(m.label) for m in models)
    for key, label in keys:
        values = [getattr(m.totals, key) for m in models]
        top = max(values)
        if top <= 0:
            continue
        fmt = fmt_count if key == "params" else fmt_ops
        out.append(label)
        for m, v in zip(models, values):
            out.append(f"  {m.label:<{nw}}  {_bar(v, top):<{BAR_WIDTH}}  {fmt(v)}".rstrip())
    return out


def compare_text(
    c: Comparison, layout: str = "auto", bars: bool = True, stages: bool = False
) -> str:
    """The plain-text comparison (what the CLI prints when stdout is not a terminal).

    ``layout``: ``columns`` (one column per model, ratios beside each value), ``rows`` (one row
    per model), or ``auto`` (columns for up to 4 models).
    """
    if layout == "auto":
        layout = "columns" if len(c.models) <= 4 else "rows"
    out = header_lines(c)
    out += columns_table(c) if layout == "columns" else rows_table(c)
    out += error_lines(c)
    out += model_warning_lines(c)
    if bars:
        out += bar_lines(c)
    if stages:
        out.append("")
        out += stages_lines(c)
    out += [DEPTH_NOTE, MACS_NOTE]
    return "\n".join(out) + "\n"


# --- stages ---------------------------------------------------------------------------------


def fmt_stage_size(s: Stage) -> str:
    """'256 @ 56×56' (channels @ spatial size); the flat head shows its features ('1000'),
    a token-sequence stage its last shape ('197×768')."""
    if s.key.startswith("seq"):
        return "×".join(map(str, s.shape))
    if not s.spatial:
        return str(s.channels)
    return f"{s.channels} @ " + "×".join(map(str, s.spatial))


def stage_grid(c: Comparison) -> tuple[list[str], list[list[Stage | None]]]:
    """Stage keys in merged order and, per key, each model's stage (None where it has none)."""
    keys = c.stage_keys()
    by_model = [{s.key: s for s in m.stages} for m in c.ok]
    return keys, [[bm.get(k) for bm in by_model] for k in keys]


def stages_lines(c: Comparison) -> list[str]:
    keys, grid = stage_grid(c)
    head1 = ["Stage"]
    head2 = [""]
    for m in c.ok:
        head1 += [m.label, "", ""]
        head2 += ["Size", "Params", "MACs"]
    rows = [head1, head2]
    for key, stages in zip(keys, grid):
        row = [key]
        for s in stages:
            if s is None:
                row += ["—", "", ""]
            else:
                row += [fmt_stage_size(s), fmt_share(s.params_share), fmt_share(s.macs_share)]
        rows.append(row)
    aligns = "<" + "<>>" * len(c.ok)
    lines, width = _align(rows, aligns)
    rule = "-" * width
    return [
        "Stages: channels @ spatial size where the spatial size changes (key: downsampling factor); "
        "share of each model's params and MACs",
        rule,
        lines[0],
        lines[1],
        rule,
        *lines[2:],
        rule,
    ]


def stages_text(c: Comparison) -> str:
    return "\n".join(stages_lines(c)) + "\n"


def stages_markdown(c: Comparison) -> str:
    keys, grid = stage_grid(c)
    head = ["Stage"]
    for m in c.ok:
        head += [f"{m.label} size", "params", "MACs"]
    out = ["| " + " | ".join(head) + " |", "|:---|" + ":---|---:|---:|" * len(c.ok)]
    for key, stages in zip(keys, grid):
        cells = [key]
        for s in stages:
            cells += (
                ["—", "", ""]
                if s is None
                else [fmt_stage_size(s), fmt_share(s.params_share), fmt_share(s.macs_share)]
            )
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


# --- machine formats ------------------------------------------------------------------------


def compare_json(c: Comparison, stages: bool = False) -> str:
    """The JSON document (``schema_version`` 2, docs/schema.json): the settings and
    ``models``, each ``summary --format json``'s object plus source, label, baseline, ratios
    (and stages with ``stages``); a model that could not take the settings: its error."""
    return json.dumps(c.to_dict(stages), indent=2, ensure_ascii=False) + "\n"


def csv_fields() -> list[str]:
    return [
        "name",
        "label",
        "source",
        "input_shape",
        "output_shape",
        *Totals._fields,
        "baseline",
        *(f"{k}_ratio" for k in ("params", "macs", "flops", "activation_bytes", "depth")),
        "error",
        "warnings",
    ]


def compare_csv(c: Comparison, stages: bool = False) -> str:
    """One row per model with raw integers (shapes as '3x224x224'); ratios as decimals.

    With ``stages``: one row per (model, stage) instead.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if stages:
        w.writerow(
            ["model", "stage", "spatial", "channels", "first", "last", "layers", "params",
             "macs", "params_share", "macs_share"]
        )  # fmt: skip
        for m in c.ok:
            for s in m.stages:
                w.writerow(
                    [m.label, s.key, "x".join(map(str, s.spatial)), s.channels, s.first, s.last,
                     s.layers, s.params, s.macs, f"{s.params_share:.6f}", f"{s.macs_share:.6f}"]
                )  # fmt: skip
        return buf.getvalue()
    w.writerow(csv_fields())
    for m in c.models:
        ratios = [m.ratios[k] for k in ("params", "macs", "flops", "activation_bytes", "depth")]
        if m.error is not None:
            w.writerow(
                [m.name, m.label, m.source, "x".join(map(str, m.input_shape)), ""]
                + [""] * len(Totals._fields)
                + ["false", *([""] * len(ratios)), m.error, ""]
            )
            continue
        w.writerow(
            [
                m.name,
                m.label,
                m.source,
                "x".join(map(str, m.input_shape)),
                "x".join(map(str, m.output_shape)),
                *m.totals,
                str(m.baseline).lower(),
                *("" if r is None else f"{r:.6g}" for r in ratios),
                "",
                "; ".join(
                    f"[{w['code']}] {w['layer']}: {w['message']}"
                    for w in (m.report.warnings if m.report is not None else ())
                ),
            ]
        )
    return buf.getvalue()


MD_COLUMNS = (
    ("Model", ":---"),
    ("Input", ":---"),
    ("Output", ":---"),
    ("Params", "---:"),
    ("Params ×", "---:"),
    ("MACs", "---:"),
    ("MACs ×", "---:"),
    ("FLOPs", "---:"),
    ("Activations", "---:"),
    ("Params size", "---:"),
    ("Depth", "---:"),
)


def compare_markdown(c: Comparison, stages: bool = False) -> str:
    """A GitHub table, one row per model (the baseline in bold), then notes (and stages)."""
    out = [
        "| " + " | ".join(h for h, _ in MD_COLUMNS) + " |",
        "|" + "|".join(a for _, a in MD_COLUMNS) + "|",
    ]
    for m in c.models:
        cells = _row_cells(m)
        cells[0] = f"**{m.label}**" if m.baseline else m.label
        out.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    out.append("")
    where = (
        f"All at input {fmt_shape(c.input_shape)}"
        if c.input_shape is not None
        else "Each model at its own input"
    )
    out.append(
        f"{where}; batch {c.batch}, {c.dtype}, {c.convention} convention; × = ratio to "
        f"**{c.baseline}**."
    )
    out += [f"Resolved: {m.resolved}." for m in c.models if m.resolved]
    out += [line.replace("|", "\\|") + "  " for line in error_lines(c)]
    out += [f"- {line.replace('|', chr(92) + '|')}" for line in model_warning_lines(c)]
    out.append(DEPTH_NOTE)
    out.append("")
    if stages:
        out += [stages_markdown(c)]
    return "\n".join(out)


# --- terminal -------------------------------------------------------------------------------


def print_rich(
    c: Comparison, layout: str = "auto", bars: bool = True, stages: bool = False
) -> None:
    """The comparison as rich tables with coloured bars (only when stdout is a terminal),
    fitted to the width with nothing cut (:func:`cnncalc.render_rich.fit_table`); where a
    table cannot fit, its plain layout is printed instead."""
    from rich.table import Table
    from rich.text import Text

    from .render_rich import Col, console, fit_table, plain

    con = console()
    width = con.width
    for line in header_lines(c):
        con.print(Text(line))
    if layout == "auto":
        layout = "columns" if len(c.models) <= 4 else "rows"
    if layout == "columns":

        def models_table(models: Sequence[ModelRecord]) -> Any:
            cols = [Col("", "<", wrap=True)]
            cols += [Col(_head(m), ">", wrap=True) for m in models]
            rows = [[_label(k, c), *(_cell_parts(k, m) for m in models)] for k in METRICS]
            return fit_table(cols, rows, width)

        # every model side by side; else as many per table as fit (each value keeps its ratio
        # to the baseline, so a table without the baseline still reads)
        chunks: list[list[ModelRecord]] = []
        for m in c.models:
            if chunks and models_table([*chunks[-1], m]) is not None:
                chunks[-1].append(m)
            else:
                chunks.append([m])
        tables = [models_table(chunk) for chunk in chunks]
        fitted = None if any(t is None for t in tables) else tables[0]
        lines = columns_table(c)
    else:
        drops = {"FLOPs": 3, "Activations": 3, "Params size": 3, "Output": 4, "Input": 5}
        cols = [Col(h, a, drop=drops.get(h, 0)) for h, a in ROW_COLUMNS]
        rows = [_row_cells(m) for m in c.models]
        fitted = fit_table(cols, rows, width)
        tables = [fitted]
        lines = rows_table(c)
    if fitted is None:
        plain(con, "\n".join(lines))
    else:
        if len(tables) > 1:
            con.print(Text(f"(models in {len(tables)} tables to fit {width} columns)", style="dim"))
        for t in tables:
            con.print(t.table, no_wrap=True, crop=False)
        if fitted.dropped:
            note = (
                f"({', '.join(fitted.dropped)} left out to fit {width} columns; "
                "--layout columns or --format markdown shows every column)"
            )
            con.print(Text(note, style="dim"))
    for line in error_lines(c):
        con.print(Text(line, style="red"))
    for line in model_warning_lines(c):
        con.print(Text(line, style="yellow"))
    if bars:
        nw = max(len(m.label) for m in c.models) + 2
        vw = 11
        bar_width = max(8, min(BAR_WIDTH, width - nw - vw - 4))
        chart = Table.grid(padding=(0, 2))
        chart.add_column(no_wrap=True)
        chart.add_column(no_wrap=True)
        chart.add_column(justify="right", no_wrap=True)
        for key, label, colour in (("params", "Params", "cyan"), ("macs", "MACs", "magenta")):
            values = [m.totals.params if key == "params" else m.totals.macs for m in c.ok]
            top = max(values)
            if top <= 0:
                continue
            chart.add_row(Text(label, style="bold"), "", "")
            fmt = fmt_count if key == "params" else fmt_ops
            for m, v in zip(c.ok, values):
                chart.add_row(
                    Text(f"  {m.label}"), Text(_bar(v, top, bar_width), style=colour), fmt(v)
                )
        con.print(chart)
    if stages:
        keys, grid = stage_grid(c)

        def stage_table(models: list[int], title: str) -> Any:
            cols = [Col("Stage", "<")]
            for j in models:
                cols += [Col(c.ok[j].label, "<"), Col("params", ">"), Col("MACs", ">")]
            rows = []
            for key, row in zip(keys, grid):
                cells = [key]
                for s_ in (row[j] for j in models):
                    cells += (
                        ["—", "", ""]
                        if s_ is None
                        else [
                            fmt_stage_size(s_),
                            fmt_share(s_.params_share),
                            fmt_share(s_.macs_share),
                        ]
                    )
                rows.append(cells)
            return fit_table(cols, rows, width, title=title)

        title = "Stages (channels @ size; share of params / MACs)"
        # all models side by side; else as many per table as fit, each table with the stages
        chunks: list[list[int]] = []
        for j in range(len(c.ok)):
            if chunks and stage_table([*chunks[-1], j], title) is not None:
                chunks[-1].append(j)
            else:
                chunks.append([j])
        tables = [stage_table(chunk, title) for chunk in chunks]
        if any(t is None for t in tables):
            plain(con, "\n".join(stages_lines(c)))
        else:
            if len(tables) > 1:
                con.print(
                    Text(f"(stages in {len(tables)} tables to fit {width} columns)", style="dim")
                )
            for t in tables:
                con.print(t.table, no_wrap=True, crop=False)
    con.print(Text(DEPTH_NOTE, style="dim"))
    con.print(Text(MACS_NOTE, style="dim"))


def _cell_parts(metric: Metric, m: ModelRecord) -> tuple[str, ...]:
    """A value and its ratio as two segments: the table may put the ratio on a second line."""
    if m.error is not None:
        return tuple(_cell(metric, m).split(" "))
    text = metric.fmt(metric.get(m))
    if metric.ratio and not m.baseline:
        return (text, f"({fmt_ratio(m.ratios.get(metric.key))})")
    return (text,)


def _head(m: ModelRecord) -> str:
    return m.label + (" (baseline)" if m.baseline else "")


# --- the zoo listing (``cnncalc list``) -----------------------------------------------------

LIST_COLUMNS = (
    ("Name", "<"),
    ("Family", "<"),
    ("Year", ">"),
    ("Params", ">"),
    ("MACs", ">"),
    ("Input", "<"),
    ("Description", "<"),
)
DESCRIPTION_WIDTH = 70


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _list_cells(e: Any, width: int | None) -> list[str]:
    desc = e.description if e.error is None else f"error: {e.error}"
    return [
        e.name + (" *" if e.canonical else ""),
        e.family,
        "" if e.year is None else str(e.year),
        "" if e.params is None else fmt_count(e.params),
        "" if e.macs is None else fmt_ops(e.macs),
        "" if e.input_shape is None else "×".join(map(str, e.input_shape)),
        desc if width is None else _shorten(desc, width),
    ]


def list_footer(entries: Sequence[Any], aliases: dict[str, str]) -> list[str]:
    names = {e.name for e in entries}
    shown = {k: v for k, v in aliases.items() if v in names}
    canon = ", ".join(f"{Path(e.file).stem} → {e.name}" for e in entries if e.canonical)
    lines = [f"{len(entries)} models."]
    if canon:
        lines[0] += f" * = the family's canonical member, what its family name gives: {canon}."
    if shown:
        lines.append("Aliases: " + ", ".join(f"{k} → {v}" for k, v in sorted(shown.items())))
    lines.append("MACs at each model's own input, batch 1 (`cnncalc summary NAME` for the layers).")
    return lines


def list_text(entries: Sequence[Any], aliases: dict[str, str]) -> str:
    rows = [[h for h, _ in LIST_COLUMNS], *(_list_cells(e, DESCRIPTION_WIDTH) for e in entries)]
    lines, width = _align(rows, [a for _, a in LIST_COLUMNS])
    rule = "-" * width
    out = [rule, lines[0], rule, *lines[1:], rule, *list_footer(entries, aliases)]
    return "\n".join(out) + "\n"


def list_markdown(entries: Sequence[Any], aliases: dict[str, str]) -> str:
    out = [
        "| " + " | ".join(h for h, _ in LIST_COLUMNS) + " |",
        "|" + "|".join(":---" if a == "<" else "---:" for _, a in LIST_COLUMNS) + "|",
    ]
    for e in entries:
        out.append("| " + " | ".join(x.replace("|", "\\|") for x in _list_cells(e, None)) + " |")
    out += ["", *list_footer(entries, aliases), ""]
    return "\n".join(out)


def list_json(entries: Sequence[Any]) -> str:
    return json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False) + "\n"


def list_csv(entries: Sequence[Any]) -> str:
    """One row per model; raw integers; shapes as '3x224x224'."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    fields = ["name", "family", "year", "params", "macs", "input_shape", "output_shape",
              "canonical", "file", "description", "error"]  # fmt: skip
    w.writerow(fields)
    for e in entries:
        d = e.to_dict()
        for k in ("input_shape", "output_shape"):
            d[k] = "" if d[k] is None else "x".join(map(str, d[k]))
        d["canonical"] = str(e.canonical).lower()
        w.writerow(["" if d[k] is None else d[k] for k in fields])
    return buf.getvalue()


def print_list_rich(entries: Sequence[Any], aliases: dict[str, str]) -> None:
    """The zoo as a terminal table fitted to the width (nothing but the description wraps;
    columns that do not fit are left out with a note, see :func:`cnncalc.render_rich.fit_table`)."""
    from rich.text import Text

    from .render_rich import Col, console, dropped_note, fit_table, plain

    con = console()
    drop = {"Description": 1, "Family": 2, "Year": 3}
    cols = [
        Col(h, a, wrap=h == "Description", drop=drop.get(h, 0), min_width=24)
        for h, a in LIST_COLUMNS
    ]
    rows = [_list_cells(e, None) for e in entries]
    fitted = fit_table(
        cols, rows, con.width, row_styles=["red" if e.error else None for e in entries]
    )
    if fitted is None:
        plain(con, list_text(entries, aliases))
        return
    con.print(fitted.table, no_wrap=True, crop=False)
    if fitted.dropped:
        con.print(Text(dropped_note(fitted.dropped, con.width), style="dim"))
    for line in list_footer(entries, aliases):
        con.print(Text(line, style="dim"))
