"""Terminal rendering with rich (imported only when stdout is a terminal).

Two rules hold for everything printed here:

* **Nothing the user reads for is cut silently.** Shapes and numbers are never shortened.
  :func:`fit_table` lays a table out for the terminal's width: the boxed table if it fits;
  else a compact borderless one; else cells wrap between their pieces (at spaces, or where a
  :class:`Cell` allows); else optional columns are left out with a one-line note; else
  ``None``, and the caller prints the plain layout. The summary (:func:`fit_summary`) goes
  further, each step said in a note under the table: types a name already says, two-wide tree
  guides, names over several lines, and as the very last resort names shortened in the middle
  with ``…`` (docs/terminal.md).
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
    """A table look: ``boxed`` is rich's default table (heavy head, │ borders, one space of
    padding each side); ``compact`` has no borders, two spaces between columns and an
    underlined bold header. Drawn by :func:`paint` (rich's Table, which it reproduces, takes
    seconds for a thousand rows)."""

    name: str
    overhead: Any  # columns → characters of borders and padding

    def table(self, **kw: Any) -> Table:
        """The same look as a rich Table (kept to check :func:`paint` against)."""
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


def _justify(text: str, width: int, align: str) -> str:
    pad = " " * max(width - cell_len(text), 0)
    return text + pad if align == "<" else pad + text


def paint(
    style: Style,
    headers: Sequence[str],
    aligns: Sequence[str],
    widths: Sequence[int],
    rows: Sequence[Sequence[str]],
    row_styles: Sequence[str | None] | None = None,
    title: str | None = None,
) -> Text:
    """The table as styled text, as rich's Table draws it: cells already wrapped to their
    column's width ('\n' between lines); headers bottom-aligned, cells top-aligned."""
    out = Text()
    boxed = style.name == "boxed"
    full = sum(widths) + style.overhead(len(widths))
    if title:
        for line in render.wrap_text(title, full, ""):
            left = (full - cell_len(line)) // 2  # as rich centres: the odd space on the right
            out.append(" " * left + line + " " * (full - left - cell_len(line)), style="italic")
            out.append("\n")

    def block(cells: Sequence[str], top: bool) -> list[list[str]]:
        split = [c.split("\n") for c in cells]
        height = max(len(x) for x in split)
        pad = [[""] * (height - len(x)) for x in split]
        return [(x + p) if top else (p + x) for x, p in zip(split, pad)]

    def emit(cells: Sequence[str], top: bool, cell_style: str | None, bar: str) -> None:
        cols = block(cells, top)
        for k in range(len(cols[0])):
            texts = [_justify(c[k], w, a) for c, w, a in zip(cols, widths, aligns)]
            if boxed:
                out.append(bar)
                for t in texts:
                    out.append(f" {t} ", style=cell_style)
                    out.append(bar)
            else:
                out.append("  ".join(texts), style=cell_style)
            out.append("\n")

    rule = ["━" * (w + 2) for w in widths]
    if boxed:
        out.append("┏" + "┳".join(rule) + "┓\n")
    emit(headers, False, "bold" if boxed else "bold underline", "┃")
    if boxed:
        out.append("┡" + "╇".join(rule) + "┩\n")
    for j, r in enumerate(rows):
        emit(r, True, row_styles[j] if row_styles else None, "│")
    if boxed:
        out.append("└" + "┴".join("─" * (w + 2) for w in widths) + "┘\n")
    out.rstrip()
    return out


#: the default rich table (│ borders, one space of padding each side), then a borderless one
STYLES = (Style("boxed", lambda n: 3 * n + 1), Style("compact", lambda n: 2 * (n - 1)))


class Cell(NamedTuple):
    """A cell that breaks only between its pieces: on one line, ``pieces[i]`` follows
    ``joins[i]``; a piece that starts a new line gets ``indent`` in front (a tree's guide
    continued, or a hanging indent): a dotted name breaks after its dots (:func:`name_cell`)."""

    pieces: tuple[str, ...]
    joins: tuple[str, ...]
    indent: str = ""


CellText = str | tuple[str, ...] | Cell


def _as_cell(cell: CellText) -> Cell:
    """A string breaks at its spaces, a tuple between its items."""
    if isinstance(cell, Cell):
        return cell
    segs = cell if isinstance(cell, tuple) else tuple(cell.split(" "))
    return Cell(segs, ("",) + (" ",) * (len(segs) - 1))


def _text(cell: CellText) -> str:
    if isinstance(cell, Cell):
        return "".join(j + p for j, p in zip(cell.joins, cell.pieces))
    return " ".join(cell) if isinstance(cell, tuple) else cell


def _words(cell: CellText) -> int:
    """The narrowest the cell can be: its longest piece (with the indent, after the first)."""
    c = _as_cell(cell)
    first = cell_len(c.pieces[0]) if c.pieces else 0
    rest = (cell_len(c.indent) + cell_len(p) for p in c.pieces[1:])
    return max(first, *rest) if c.pieces[1:] else first


def _lines(cell: CellText) -> int:
    return max((cell_len(x) for x in _text(cell).split("\n")), default=0)


def _wrap(cell: CellText, width: int) -> str:
    """Greedy wrap between pieces (a piece is never broken: it fits by construction)."""
    if _lines(cell) <= width:
        return _text(cell)
    c = _as_cell(cell)
    lines: list[str] = []
    for join, piece in zip(c.joins, c.pieces):
        if lines and cell_len(lines[-1]) + cell_len(join) + cell_len(piece) <= width:
            lines[-1] += join + piece
        else:
            lines.append((c.indent if lines else "") + piece)
    return "\n".join(lines)


def _col_extent(col: Col, cells: Sequence[CellText]) -> tuple[int, int, int]:
    """A column's width with every cell and its header on one line; with the header broken at
    its spaces and slashes (cells still on one line); and its narrowest (a wrapping column's
    cells at their longest piece)."""
    lines = max((_lines(x) for x in cells), default=0)
    head = _header_words(col.header)
    natural = max(lines, _lines(col.header))
    narrow = max([col.min_width] + [_words(x) for x in cells]) if col.wrap else lines
    return natural, max(lines, head), min(natural, max(narrow, head))


def _extent(
    cols: Sequence[Col], rows: Sequence[Sequence[CellText]]
) -> tuple[list[int], list[int], list[int]]:
    """:func:`_col_extent` of every column, as three lists."""
    ext = [_col_extent(c, [r[i] for r in rows]) for i, c in enumerate(cols)]
    return [e[0] for e in ext], [e[1] for e in ext], [e[2] for e in ext]


def _give(widths: list[int], target: Sequence[int], spare: int, ok: Sequence[bool]) -> int:
    """Share ``spare`` characters out towards ``target`` (in place), first to the columns that
    need least to reach it (a receptive field whole before a long name); returns what is left."""
    for i in sorted(range(len(widths)), key=lambda i: target[i] - widths[i]):
        if ok[i] and spare > 0 and target[i] > widths[i]:
            give = min(spare, target[i] - widths[i])
            widths[i] += give
            spare -= give
    return spare


def _widths(
    cols: Sequence[Col],
    rows: Sequence[Sequence[CellText]],
    width: int,
    style: Style,
    wrap: bool,
    extent: tuple[list[int], list[int], list[int]] | None = None,
) -> list[int] | None:
    """Column widths that fit ``width`` without cutting a word, or None. Headers may break at
    spaces and slashes; cells only if ``wrap``, in wrapping columns, between their pieces.
    ``extent``: :func:`_extent` of these columns, if known."""
    natural, whole, mins = extent or _extent(cols, rows)
    room = width - style.overhead(len(cols))
    if sum(natural) <= room:
        return natural
    if sum(whole) <= room:  # every cell on one line, some headers broken
        widths = list(whole)
        _give(widths, natural, room - sum(whole), [True] * len(cols))
        return widths
    if not wrap or sum(mins) > room:
        return None
    widths = list(mins)  # cells whole where the room allows, then headers
    spare = _give(widths, whole, room - sum(mins), [c.wrap for c in cols])
    _give(widths, natural, spare, [True] * len(cols))
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
    table: Text  # the table drawn (:func:`paint`); print it with ``no_wrap=True``
    kept: list[int]  # indices of the columns shown
    dropped: list[str]  # headers of the columns left out


def _levels(cols: Sequence[Col]) -> list[int]:
    """Drop levels: 0 keeps every column, level n leaves out the columns with 0 < drop ≤ n."""
    return [0, *sorted({c.drop for c in cols if c.drop})]


def _kept(cols: Sequence[Col], level: int) -> list[int]:
    return [i for i, c in enumerate(cols) if not c.drop or c.drop > level]


def fit_at(
    cols: Sequence[Col],
    rows: Sequence[Sequence[CellText]],
    width: int,
    level: int,
    wrap: bool,
    style: Style,
    *,
    row_styles: Sequence[str | None] | None = None,
    title: str | None = None,
    extent: tuple[list[int], list[int], list[int]] | None = None,
) -> Fitted | None:
    """One layout: the columns kept at drop ``level``, in ``style``, wrapping (between a cell's
    pieces, in its wrapping columns) if ``wrap``; None when it cannot fit ``width``.
    ``extent``: :func:`_extent` of all the columns, if known (it is the costly part)."""
    kept = _kept(cols, level)
    sub_cols = [cols[i] for i in kept]
    sub_rows = [[r[i] for i in kept] for r in rows]
    sub_extent = None
    if extent is not None:
        sub_extent = (
            [extent[0][i] for i in kept],
            [extent[1][i] for i in kept],
            [extent[2][i] for i in kept],
        )
    widths = _widths(sub_cols, sub_rows, width, style, wrap, sub_extent)
    if widths is None:
        return None
    table = paint(
        style,
        [_wrap_header(c.header, w) for c, w in zip(sub_cols, widths)],
        [c.align for c in sub_cols],
        widths,
        [_wrap_row(r, widths) for r in sub_rows],
        row_styles,
        title,
    )
    dropped = [c.header for i, c in enumerate(cols) if i not in kept]
    return Fitted(table, kept, dropped)


def _wrap_row(row: Sequence[CellText], widths: Sequence[int]) -> list[str]:
    """A row's cells wrapped to their widths; a cell with a drawn indent (a tree's guide)
    continues it on the lines another cell of the row takes."""
    out = [_wrap(x, w) for x, w in zip(row, widths)]
    height = max(x.count("\n") for x in out) + 1
    for i, x in enumerate(row):
        if isinstance(x, Cell) and x.indent.strip() and out[i].count("\n") + 1 < height:
            out[i] += ("\n" + x.indent.rstrip()) * (height - 1 - out[i].count("\n"))
    return out


def needed_width(
    cols: Sequence[Col],
    rows: Sequence[Sequence[CellText]],
    level: int = 0,
    extent: tuple[list[int], list[int], list[int]] | None = None,
) -> int:
    """The narrowest terminal that shows the columns kept at drop ``level`` with nothing cut."""
    kept = _kept(cols, level)
    mins = (extent or _extent(cols, rows))[2]
    return min(st.overhead(len(kept)) for st in STYLES) + sum(mins[i] for i in kept)


def fit_table(
    cols: Sequence[Col],
    rows: Sequence[Sequence[CellText]],
    width: int,
    *,
    row_styles: Sequence[str | None] | None = None,
    title: str | None = None,
) -> Fitted | None:
    """The richest layout of ``rows`` that fits ``width`` columns with no cell cut, or None.

    A cell is a string (a wrapping column may break it at its spaces), a tuple of segments
    (broken only between them: a shape and its ratio, never inside the shape) or a
    :class:`Cell`.

    Tried in order: every cell on one line (boxed, then compact), then descriptive text
    wrapped at spaces (boxed, then compact); then the same with optional columns left out,
    least needed first.
    """
    for level in _levels(cols):
        for wrap in (False, True):
            for style in STYLES:
                fitted = fit_at(
                    cols, rows, width, level, wrap, style, row_styles=row_styles, title=title
                )
                if fitted is not None:
                    return fitted
    return None


def dropped_note(dropped: Sequence[str], width: int, need: int | None = None) -> str:
    names = ", ".join(dropped)
    if need is None:
        return f"({names} left out to fit {width} columns; pipe the output for every column)"
    them = "them" if len(dropped) > 1 else "it"
    return f"({names} left out to fit; {need} columns or --format markdown/csv/json show {them})"


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
        out.append(Col(header, c.align, c.wrap or key in ("rf", "params"), drop))
    return out


class NameForm(NamedTuple):
    """How the name column is drawn: characters per tree level (4: ``│   ├─``, 2: ``│ ├─``),
    whether a type the name already says is left out (``relu``, ``stochastic_depth_1``), and
    whether a name may take several lines (``wrap``: after a dot and before its type; ``fine``:
    also after an underscore). The tree's guide continues on the next line."""

    guide: int = 4
    terse: bool = False
    wrap: bool = False
    fine: bool = False
    dots: bool = True  # False: a name is one piece (only its type may go to the next line)


#: tried in order for each set of columns: as on a wide terminal, then without repeated types,
#: then shorter tree guides, then names over several lines
NAME_FORMS = (
    NameForm(),
    NameForm(4, True),
    NameForm(2, True),
    NameForm(2, True, True),
    NameForm(2, True, True, True),
)
#: the wide terminal's wrapping (as before names could break): the type on the next line
TYPE_BELOW = NameForm(4, False, True, dots=False)


def _short_guide(prefix: str) -> str:
    """'│   │   ├─' → '│ │ ├─': each level's guide two characters wide instead of four."""
    lead, tip = prefix[:-2], prefix[-2:]
    return "".join(lead[i] + " " for i in range(0, len(lead), 4)) + tip


def _breaks(text: str, fine: bool) -> list[str]:
    """'features.1.attn' → 'features.', '1.', 'attn': where a long name may break (``fine``:
    after an underscore too, 'stochastic_' 'depth_1')."""
    import re

    return [p for p in re.split(r"(?<=[._])" if fine else r"(?<=\.)", text) if p]


def _terse(row: render.DisplayRow, kind: str) -> bool:
    return (
        bool(kind)
        and row.count == 1
        and not row.group
        and render.type_is_name(row.label or row.name, row.type)
    )


def name_cell(
    row: render.DisplayRow, form: NameForm, type_column: bool = False, shorten: int = 0
) -> CellText:
    """The name column's cell in ``form``. ``shorten`` > 0 (the last resort, announced by the
    caller): a piece longer than that many characters (with its indent) loses its middle."""
    label, kind, mark = render.name_parts(row, type_column)
    if form.terse and _terse(row, kind):
        kind = ""
    prefix = _short_guide(row.prefix) if form.guide == 2 and row.prefix else row.prefix
    if not form.wrap:
        return prefix + label + (" " + kind if kind else "") + mark
    names = _breaks(label, form.fine) if form.dots else [label]
    pieces, joins = [prefix + names[0], *names[1:]], [""] * len(names)

    def add(text: str) -> None:  # a new word: broken where a name may break
        parts = _breaks(text, form.fine) if form.dots else [text]
        pieces.extend(parts)
        joins.extend([" "] + [""] * (len(parts) - 1))

    if kind:  # '(mbconv_layers_no_expand,' '11 layers)': the count may go to the next line
        head, sep, count = kind.partition(", ")
        add(head + sep.rstrip())
        if sep:
            add(count)
    if row.train_only:
        add("*train-only")
    if row.shared_with and not type_column:
        add("(shares")
        add(f"{row.shared_with})")
    if row.prefix:
        indent = prefix[:-2] + ("│ " if prefix.endswith("├─") else "  ")
    else:  # a hanging indent where a name breaks; the type alone below, as it always was
        indent = "  " if form.dots else ""
    if shorten:
        room = [shorten] + [shorten - cell_len(indent)] * (len(pieces) - 1)
        pieces[0] = prefix + render.middle_ellipsis(pieces[0][len(prefix) :], room[0] - len(prefix))
        pieces[1:] = [render.middle_ellipsis(p, r) for p, r in zip(pieces[1:], room[1:])]
    return Cell(tuple(pieces), tuple(joins), indent)


def rf_cell(text: str) -> Cell:
    """A receptive-field cell that may break after its slashes: '117×315×315/' '16×112×112/'
    '-54×-109×-109' (a 3-D field is 36 characters)."""
    parts = [p for p in text.replace("/", "/\0").split("\0") if p]
    return Cell(tuple(parts), ("",) * len(parts))


class SummaryLayout(NamedTuple):
    fitted: Fitted
    notes: list[str]


def fit_summary(
    rows: Sequence[render.DisplayRow],
    cells: Sequence[Sequence[CellText]],
    cols: Sequence[Col],
    columns: Sequence[str],
    width: int,
) -> SummaryLayout | None:
    """The summary table laid out for ``width`` columns, and the notes that say what gave way.

    Tried in order, boxed then compact: every column with every row on one line in each
    one-line :data:`NAME_FORMS`; the flat table with types below their names
    (:data:`TYPE_BELOW`, as wide terminals always did); the one-line forms with optional
    columns left out (FLOPs first: it is in the totals and ≈ 2×MACs); then names over several
    lines, with every optional column left out. The last resort shortens names in the middle
    with '…'. Numbers and shapes are never cut. None when even that cannot fit.
    """
    styles = ["bold" if r.group else None for r in rows]
    if "name" not in columns:
        fitted = fit_table(cols, cells, width, row_styles=styles)
        return None if fitted is None else SummaryLayout(fitted, [])
    ni = list(columns).index("name")
    type_column = "type" in columns
    tree = any(r.prefix for r in rows)
    forms = [f for f in NAME_FORMS if tree or f.guide == 4 or f.wrap]

    # in the last forms a receptive field ('427/32/-213') breaks after its slashes, a type
    # ('adaptive_avgpool2d') and the layers in "Connected to" after dots and underscores
    fine_cols = {i: key for i, key in enumerate(columns) if key in ("rf", "type", "connected")}
    base: dict[bool, list[tuple[int, int, int]]] = {}
    laid: dict[NameForm, tuple[list[Col], list[list[CellText]]]] = {}
    extents: dict[NameForm, tuple[list[int], list[int], list[int]]] = {}

    def fine(key: str, cell: CellText) -> CellText:
        if key == "rf":
            return cell
        pieces: list[str] = []
        joins: list[str] = []
        for w in _text(cell).split():
            parts = _breaks(w, True)
            joins += [" " if pieces else ""] + [""] * (len(parts) - 1)
            pieces += parts
        return Cell(tuple(pieces), tuple(joins), "  ") if pieces else cell

    def with_names(form: NameForm, shorten: int = 0) -> tuple[list[Col], list[list[CellText]]]:
        out = [list(r) for r in cells]
        for r, row in zip(out, rows):
            r[ni] = name_cell(row, form, type_column, shorten)
            if form.fine:
                for i, key in fine_cols.items():
                    r[i] = fine(key, r[i])
        return [
            c._replace(wrap=form.wrap)
            if i == ni
            else c._replace(wrap=form.fine or (c.wrap and fine_cols[i] != "rf"))
            if i in fine_cols
            else c
            for i, c in enumerate(cols)
        ], out

    def lay(form: NameForm) -> tuple[list[Col], list[list[CellText]]]:
        """The table with ``form``'s names (and their extent), made once, when first tried."""
        if form not in laid:
            laid[form] = sub_cols, sub_cells = with_names(form)
            if form.fine not in base:
                base[form.fine] = [
                    _col_extent(c, [r[i] for r in sub_cells]) for i, c in enumerate(sub_cols)
                ]
            ext = list(base[form.fine])
            ext[ni] = _col_extent(sub_cols[ni], [r[ni] for r in sub_cells])
            extents[form] = ([e[0] for e in ext], [e[1] for e in ext], [e[2] for e in ext])
        return laid[form]

    levels = _levels(cols)
    chosen = None
    one_line = [f for f in forms if not f.wrap]
    # a row on one line matters more than an optional column; when names must break, they
    # get every column's room and the roomier style
    attempts = [(0, f, st) for f in one_line for st in STYLES]
    if not tree:
        attempts += [(0, TYPE_BELOW, st) for st in STYLES]
    attempts += [(lv, f, st) for lv in levels[1:] for f in one_line for st in STYLES]
    attempts += [(lv, f, st) for lv in levels[::-1] for f in forms if f.wrap for st in STYLES[::-1]]
    for level, form, style in attempts:
        fitted = fit_at(
            *lay(form), width, level, form.wrap, style, row_styles=styles, extent=extents[form]
        )
        if fitted is not None:
            chosen = (fitted, form)
            break
    notes = []
    if chosen is None:  # the last resort: names shortened in the middle
        form, level, style = NAME_FORMS[-1], levels[-1], STYLES[-1]
        kept = _kept(cols, level)
        others = [i for i in kept if i != ni]
        last_cols, last_cells = lay(form)
        *_, mins = _extent(
            [last_cols[i] for i in others], [[r[i] for i in others] for r in last_cells]
        )
        room = width - style.overhead(len(kept)) - sum(mins)
        if room < max(12, _header_words(cols[ni].header)):
            return None
        fitted = fit_at(*with_names(form, room), width, level, True, style, row_styles=styles)
        if fitted is None:  # pragma: no cover - the room was measured
            return None
        chosen = (fitted, form)
        need = min(needed_width(*lay(f), level, extents[f]) for f in forms if f.wrap)
        notes.append(
            f"(names shortened with … to fit; {need} columns or --format csv show them whole)"
        )
    fitted, form = chosen
    if fitted.dropped:  # the narrowest width that shows every column: the level-0 attempts
        for f in one_line:
            lay(f)
        need_all = min(sum(extents[f][1]) for f in one_line) + STYLES[-1].overhead(len(cols))
        if not tree:
            need_all = min(need_all, needed_width(*lay(TYPE_BELOW), 0, extents[TYPE_BELOW]))
        notes.insert(0, dropped_note(fitted.dropped, width, need_all))
    if form.terse:
        ex = next((r for r in rows if _terse(r, render.name_parts(r, type_column)[1])), None)
        if ex is not None:
            last = (ex.label or ex.name).rsplit(".", 1)[-1]
            notes.append(f"(no (type) where the name says it: {last} is type {ex.type})")
    return SummaryLayout(fitted, notes)


def print_summary(
    report: Report,
    depth: int | None = None,
    columns: tuple[str, ...] = render.DEFAULT_COLUMNS,
    optimizer: str = "adam",
    *,
    tree: bool = False,
    console_: Console | None = None,
) -> None:
    """The summary on a terminal, fitted to its width (:func:`fit_summary`); what gave way to
    fit is said in a note under the table."""
    con = console_ or console()
    width = con.width
    rows = render.display_rows(report, depth, tree)
    cells: list[list[Any]] = render.table_cells(report, depth, columns, tree, rows)
    if "input_shape" in columns:  # several input shapes break between shapes, never inside one
        i = list(columns).index("input_shape")
        for r in cells:
            r[i] = tuple(
                x + ("]," if j < r[i].count("], ") else "") for j, x in enumerate(r[i].split("], "))
            )
    if "params" in columns:  # '9,408 (frozen)': the mark may go to a second line
        i = list(columns).index("params")
        for r in cells:
            r[i] = tuple(r[i].split(" "))
    if "rf" in columns:
        i = list(columns).index("rf")
        for r in cells:
            r[i] = rf_cell(r[i])
    layout = fit_summary(rows, cells, _summary_cols(columns), columns, width)
    if layout is None:  # too many columns for this terminal even with names shortened
        con.print(
            Text(
                f"(these columns cannot fit {width} columns: the table follows unfitted; "
                "fewer --columns, a wider terminal or --format markdown/csv/json)",
                style="dim",
            )
        )
        plain(con, render.summary_text(report, depth, columns, optimizer, tree=tree))
        return
    for line in render.header_lines(report):
        con.print(Text("\n".join(render.wrap_text(line, width, "  "))))
    con.print(layout.fitted.table, no_wrap=True, crop=False)
    for note in layout.notes:
        con.print(Text(note, style="dim"))
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
