"""Terminal rendering with rich (imported only when stdout is a terminal).

Two rules hold for everything printed here:

* **Nothing the user reads for is cut.** Names, types, shapes and numbers are never elided
  with ``…``. :func:`fit_table` lays a table out for the terminal's width: the boxed table if
  it fits; else descriptive columns wrap at spaces; else a compact borderless table; else
  optional columns are left out with a one-line note; else ``None``, and the caller prints the
  plain layout (long lines wrap in the terminal, nothing is lost).
* **User text is never markup.** Layer names, warnings and spec text go through
  :class:`rich.text.Text` (or ``markup=False``), so ``warning [param_share]`` and a layer
  called ``x[0]`` print as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import render
from .report import Report


class Col(NamedTuple):
    """A column to fit: header, alignment ('<' or '>'), and how it may give way.

    ``wrap``: may wrap at spaces (descriptive text; a name's '(type)' part). ``drop``: 0 =
    always shown; a higher number is left out earlier when the table cannot fit. ``min_width``:
    a wrapping column narrower than this is left out instead (if ``drop``) or not squeezed.
    """

    header: str
    align: str = "<"
    wrap: bool = False
    drop: int = 0
    min_width: int = 0


class Style(NamedTuple):
    name: str
    overhead: Any  # columns → characters of borders and padding

    def table(self, **kw: Any) -> Table:
        if self.name == "boxed":
            return Table(header_style="bold", **kw)
        return Table(
            header_style="bold underline",
            box=None,
            padding=(0, 1),
            pad_edge=False,
            show_edge=False,
            **kw,
        )


#: the default rich table (│ borders, one space of padding each side), then a borderless one
STYLES = (Style("boxed", lambda n: 3 * n + 1), Style("compact", lambda n: 2 * (n - 1)))


def _segments(cell: str | tuple[str, ...]) -> tuple[str, ...]:
    """The pieces a cell may break between: a tuple as given, a string at its spaces."""
    return cell if isinstance(cell, tuple) else tuple(cell.split(" "))


def _text(cell: str | tuple[str, ...]) -> str:
    return " ".join(cell) if isinstance(cell, tuple) else cell


def _words(cell: str | tuple[str, ...]) -> int:
    return max((cell_len(w) for w in _segments(cell)), default=0)


def _lines(cell: str | tuple[str, ...]) -> int:
    return max((cell_len(x) for x in _text(cell).split("\n")), default=0)


def _wrap(cell: str | tuple[str, ...], width: int) -> str:
    """Greedy wrap between segments (a segment is never broken: it fits by construction)."""
    if _lines(cell) <= width:
        return _text(cell)
    lines: list[str] = []
    for seg in _segments(cell):
        if lines and cell_len(lines[-1]) + 1 + cell_len(seg) <= width:
            lines[-1] += " " + seg
        else:
            lines.append(seg)
    return "\n".join(lines)


def _widths(
    cols: Sequence[Col],
    rows: Sequence[Sequence[str | tuple[str, ...]]],
    width: int,
    style: Style,
    wrap: bool,
) -> list[int] | None:
    """Column widths that fit ``width`` without cutting a word (wrapping at spaces where
    ``wrap`` allows), or None."""
    natural = [max([_lines(c.header)] + [_lines(r[i]) for r in rows]) for i, c in enumerate(cols)]
    room = width - style.overhead(len(cols))
    if sum(natural) <= room:
        return natural
    if not wrap:
        return None
    mins = []
    for i, c in enumerate(cols):  # headers wrap at spaces; cells only in wrapping columns
        if c.wrap:
            cells = max([c.min_width] + [_words(r[i]) for r in rows])
        else:
            cells = max(_lines(r[i]) for r in rows) if rows else 0
        mins.append(min(natural[i], max(cells, _header_words(c.header))))
    if sum(mins) > room:
        return None
    widths = list(mins)
    spare = room - sum(mins)
    for i, c in enumerate(cols):  # the room left goes to the wrapping columns, in order
        if c.wrap and spare > 0:
            give = min(spare, natural[i] - widths[i])
            widths[i] += give
            spare -= give
    return widths


def _header_segments(text: str) -> tuple[str, ...]:
    """A header may break at spaces and after a '/': 'RF size/jump/start' → RF, size/, jump/, start."""
    import re

    return tuple(p for p in re.split(r"(?<=/)|\s+", text) if p)


def _header_words(text: str) -> int:
    return max((cell_len(w) for w in _header_segments(text)), default=0)


def _wrap_header(text: str, width: int) -> str:
    """A header broken to ``width`` at spaces and after slashes (words whole)."""
    if cell_len(text) <= width:
        return text
    lines: list[str] = []
    for k, word in enumerate(text.split(" ")):
        for j, part in enumerate(_header_segments(word)):
            sep = " " if j == 0 and k > 0 else ""
            if lines and cell_len(lines[-1] + sep + part) <= width:
                lines[-1] += sep + part
            else:
                lines.append(part)
    return "\n".join(lines)


class Fitted(NamedTuple):
    table: Table
    kept: list[int]  # indices of the columns shown
    dropped: list[str]  # headers of the columns left out


def fit_table(
    cols: Sequence[Col],
    rows: Sequence[Sequence[str | tuple[str, ...]]],
    width: int,
    *,
    row_styles: Sequence[str | None] | None = None,
    title: str | None = None,
) -> Fitted | None:
    """The richest layout of ``rows`` that fits ``width`` columns with no cell cut, or None.

    A cell is a string (a wrapping column may break it at its spaces) or a tuple of segments
    (broken only between them: a shape and its ratio, never inside the shape).

    Tried in order: every cell on one line (boxed, then compact), then descriptive text
    wrapped at spaces (boxed, then compact); then the same with optional columns left out,
    least needed first.
    """
    order = sorted({c.drop for c in cols if c.drop})
    levels = [0, *order]
    for level, wrap, style in (
        (lv, w, st) for lv in levels for w in (False, True) for st in STYLES
    ):
        kept = [i for i, c in enumerate(cols) if not c.drop or c.drop > level]
        sub_cols = [cols[i] for i in kept]
        sub_rows = [[r[i] for i in kept] for r in rows]
        widths = _widths(sub_cols, sub_rows, width, style, wrap)
        if widths is not None:
            table = style.table(title=title)
            for c, w in zip(sub_cols, widths):
                table.add_column(
                    Text(_wrap_header(c.header, w)),
                    justify="left" if c.align == "<" else "right",
                    width=w,
                    no_wrap=True,  # wrapped here, between segments only
                    overflow="fold",
                )
            for j, r in enumerate(sub_rows):
                style_ = row_styles[j] if row_styles else None
                table.add_row(*(Text(_wrap(x, w)) for x, w in zip(r, widths)), style=style_)
            dropped = [c.header for i, c in enumerate(cols) if i not in kept]
            return Fitted(table, kept, dropped)
    return None


def dropped_note(dropped: Sequence[str], width: int) -> str:
    names = ", ".join(dropped)
    return f"({names} left out to fit {width} columns; pipe the output for every column)"


def console() -> Console:
    return Console(highlight=False)


def plain(console_: Console, text: str) -> None:
    """Print the plain layout as is (no markup, no highlighting; long lines wrap, not cut)."""
    console_.print(Text(text.rstrip("\n")), soft_wrap=True)


#: Summary columns that make way when the table cannot fit, the lower number first (FLOPs is in
#: the totals and ≈ 2×MACs; percentages follow from the numbers shown). Name, type, output
#: shape, params, MACs, receptive field and "Connected to" always stay.
OPTIONAL = {
    "flops": 1,
    "line": 2,
    "trainable": 2,
    "params_pct": 3,
    "macs_pct": 3,
    "kernel": 4,
    "input_shape": 5,
}


def _summary_cols(columns: Sequence[str]) -> list[Col]:
    out = []
    for key, header in zip(columns, render.column_headers(columns)):
        c = render.COLUMNS[key]
        # FLOPs and the other optional columns make way before anything else is squeezed out
        drop = OPTIONAL.get(key, 0)
        out.append(Col(header, c.align, c.wrap, drop))
    return out


def print_summary(
    report: Report,
    depth: int | None = None,
    columns: tuple[str, ...] = render.DEFAULT_COLUMNS,
    optimizer: str = "adam",
    *,
    tree: bool = False,
) -> None:
    con = console()
    width = con.width
    rows = render.display_rows(report, depth, tree)
    cells: list[list[Any]] = render.table_cells(report, depth, columns, tree, rows)
    if "input_shape" in columns:  # several input shapes break between shapes, never inside one
        i = list(columns).index("input_shape")
        for r in cells:
            r[i] = tuple(
                x + ("]," if j < r[i].count("], ") else "") for j, x in enumerate(r[i].split("], "))
            )
    cols = _summary_cols(columns)
    if tree and "name" in columns:  # the drawing must stay on one line
        i = list(columns).index("name")
        cols[i] = cols[i]._replace(wrap=False)
    fitted = fit_table(cols, cells, width, row_styles=["bold" if r.group else None for r in rows])
    if fitted is None:
        plain(con, render.summary_text(report, depth, columns, optimizer, tree=tree))
        return
    for line in render.header_lines(report):
        con.print(Text(line))
    con.print(fitted.table)
    if fitted.dropped:
        con.print(Text(dropped_note(fitted.dropped, width), style="dim"))
    totals = Table.grid(padding=(0, 2))
    totals.add_column(style="bold", no_wrap=True)
    totals.add_column(overflow="fold")
    for k, v in render.totals_lines(report, optimizer):
        totals.add_row(Text(k), Text(v))
    con.print(totals)
    for line in render.warning_lines(report):
        con.print(Text(line, style="yellow"))
    for line in render.footer_lines(report):
        con.print(Text(line, style="dim"))
