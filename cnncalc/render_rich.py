"""Terminal rendering with rich (imported only when stdout is a terminal)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from . import render
from .report import Report


def print_summary(
    report: Report,
    depth: int | None = None,
    columns: tuple[str, ...] = render.DEFAULT_COLUMNS,
    optimizer: str = "adam",
) -> None:
    console = Console()
    for line in render.header_lines(report):
        console.print(line, highlight=False)
    cols = [render.COLUMNS[c] for c in columns]
    table = Table(show_lines=False, header_style="bold")
    for c in cols:
        table.add_column(
            c.header, justify="left" if c.align == "<" else "right", no_wrap=c.key != "name"
        )
    for row in render.table_cells(report, depth, columns):
        table.add_row(*row)
    console.print(table)
    totals = Table.grid(padding=(0, 2))
    totals.add_column(style="bold")
    totals.add_column()
    for k, v in render.totals_lines(report, optimizer):
        totals.add_row(k, v)
    console.print(totals)
    for line in render.warning_lines(report):
        console.print(line, style="yellow", highlight=False)
    for line in render.footer_lines(report):
        console.print(line, style="dim", highlight=False)
