"""Terminal rendering: the summary table drawn by cnncalc's painter against rich's Table.

Run:  python benchmarks/bench_terminal.py [--model efficientnet_v2_l] [--width 200] [--runs 3]

1. ``print_summary`` of one model (default efficientnet_v2_l, 1,019 rows) into a colour
   console of the given width: best of N, the table drawn by ``render_rich.paint``; then the
   same table (same widths, same wrapped cells) built as a rich ``Table`` and printed.
2. Every zoo model in its four forms (table, --tree, --rf, --tree --rf) at 80 columns: the
   total time, and the widest line (it must be ≤ 80).
"""

from __future__ import annotations

import argparse
import io
import re
import time

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

import cnncalc
from cnncalc import render, render_rich, zoo

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def _console(width: int) -> Console:
    return Console(file=io.StringIO(), width=width, force_terminal=True, color_system="truecolor")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="efficientnet_v2_l")
    ap.add_argument("--width", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    report = cnncalc.analyze(a.model)
    cols = render.parse_columns(None)
    best = min(
        _time(lambda: render_rich.print_summary(report, None, cols, console_=_console(a.width)))
        for _ in range(a.runs)
    )
    print(f"{a.model}: {len(report.rows)} rows, print_summary at {a.width} columns: {best:.3f} s")
    rows = render.display_rows(report)
    cells = render.table_cells(report, None, cols, False, rows)
    headers = render.column_headers(cols)
    widths = [max([cell_len(h)] + [cell_len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    aligns = [render.COLUMNS[c].align for c in cols]
    style = render_rich.STYLES[0]

    def with_rich() -> None:
        table = style.table()
        for h, al, w in zip(headers, aligns, widths):
            table.add_column(Text(h), justify="left" if al == "<" else "right", width=w)
        for r in cells:
            table.add_row(*map(Text, r))
        _console(sum(widths) + 3 * len(widths) + 1).print(table)

    def with_paint() -> None:
        con = _console(sum(widths) + 3 * len(widths) + 1)
        con.print(render_rich.paint(style, headers, aligns, widths, cells), no_wrap=True)

    for name, fn in (("rich Table", with_rich), ("paint", with_paint)):
        print(f"  the table alone, {name}: {min(_time(fn) for _ in range(a.runs)):.3f} s")
    t0, widest = time.perf_counter(), 0
    for e in zoo.catalog():
        rep = cnncalc.analyze(e.name)
        for tree in (False, True):
            for rf in (False, True):
                con = _console(80)
                render_rich.print_summary(
                    rep, None, render.parse_columns(None, rf), tree=tree, console_=con
                )
                text = con.file.getvalue()  # type: ignore[attr-defined]
                lines = ANSI.sub("", text).splitlines()
                widest = max(widest, *(cell_len(x) for x in lines))
    print(f"zoo × 4 forms at 80 columns: {time.perf_counter() - t0:.1f} s, widest line {widest}")


def _time(fn) -> float:  # noqa: ANN001
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
