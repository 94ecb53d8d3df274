"""``cnncalc verify SPEC``: run the graph with NumPy and check every shape the analyzer claims.

Exit status: 0 when the analyzer and the execution agree, 3 when they disagree (a cnncalc bug:
the message says so), 1 for a bad spec or option (CnncalcError, as every command).
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from ._common import CHANNELS_LAST_OK, SET, VARIANT, parse_sets

#: Show a progress bar (on a terminal) above this many multiply-accumulates: about a second.
PROGRESS_MACS = 2_000_000_000
EXIT_DISAGREE = 3


def verify(
    spec: str = typer.Argument(..., help="Spec file, zoo model (resnet50) or family (vgg)."),
    input: str = typer.Option(
        None, "--input", "-i", help="Input shape without batch, e.g. 3x299x299."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights and input."),
    batch: int = typer.Option(1, "--batch", "-b", min=1, help="Batch size of the random input."),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Print only failing layers and the verdict."
    ),
    max_memory: str = typer.Option(
        None,
        "--max-memory",
        help="Refuse to run above this estimated peak (4G, 512M; default 60% of available RAM).",
    ),
    backend: str = typer.Option(
        "numpy",
        "--backend",
        help="numpy (cnncalc's forwards), torch (run the PyTorch export) or onnxruntime "
        "(run the ONNX export).",
    ),
    set_: list[str] = SET,
    variant: str = VARIANT,
    channels_last_ok: bool = CHANNELS_LAST_OK,
) -> None:
    """Run a forward pass (NumPy, or the PyTorch / ONNX export) and check the analyzer's shapes and counts.

    With --backend torch or onnxruntime the exported model runs in that framework and each layer's output shape is read back by name. Every declared weight is allocated (their total must equal the analyzer's parameters + buffers), a random input goes through every layer, and each layer's actual output shape is compared with the analyzer's. Exit status 0: all agree; 3: they disagree (a cnncalc bug); 1: a bad spec or option.
    """
    from .. import build, parse_inputs
    from ..backend.run import require_numpy
    from ..backend.verify import render_text
    from ..backend.verify import verify as run_verify

    require_numpy()
    shape = parse_inputs(input) if input else None
    graph = build(
        spec, shape, variant=variant, variables=parse_sets(set_), channels_last_ok=channels_last_ok
    )
    progress = _progress_bar(graph, batch) if backend == "numpy" else None
    try:
        result = run_verify(
            graph,
            seed=seed,
            batch=batch,
            max_memory=max_memory,
            progress=progress,
            backend=backend,
        )
    finally:
        if progress is not None:
            progress.close()
    sys.stdout.write(render_text(result, quiet=quiet))
    if not result.ok:
        raise typer.Exit(EXIT_DISAGREE)


class _Bar:
    """A transient rich progress bar on stderr, fed by verify's ``progress(done, total, name)``."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("verify"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}", markup=False),  # layer names are user text
            console=Console(stderr=True),
            transient=True,
        )
        self.task = self.progress.add_task("", total=total)
        self.progress.start()

    def __call__(self, done: int, total: int, name: str) -> None:
        self.progress.update(self.task, completed=done, total=total, description=name)

    def close(self) -> None:
        self.progress.stop()


def _progress_bar(graph: Any, batch: int) -> _Bar | None:
    if not sys.stderr.isatty():
        return None
    from ..analysis import analyze_graph

    if analyze_graph(graph, batch=batch).totals.macs < PROGRESS_MACS:
        return None
    return _Bar(len(graph.nodes))


def register(app: typer.Typer) -> None:
    app.command()(verify)
