"""``verify``: run the graph with NumPy and prove the analyzer right.

Two independent checks of the analyzer:

1. **Weights**: every declared weight (``layer.weights()``) is allocated as a real array; the
   allocated element count must equal the analyzer's parameters + buffers.
2. **Shapes**: a forward pass on a random input; each layer's actual output shape (computed by
   its NumPy forward from the definition, never from the shape rule) must equal the analyzer's.

Train-only layers (auxiliary classifiers) get weights (they count) and *are* run here, so their
shape claims are checked too; ``cnncalc.run`` skips them, as eval mode does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CnncalcError
from ..graph import Graph
from ..layers.base import fmt_shape
from ..render import fmt_bytes
from .memory import default_budget, estimate_memory, parse_size
from .run import NodeOutcome, allocate_weights, execute, missing_forwards, random_inputs
from .run import require_numpy as _require_numpy

__all__ = ["LayerCheck", "VerifyResult", "verify", "render_text", "BUG_MESSAGE"]

BUG_MESSAGE = (
    "this is a cnncalc bug (the analyzer and the NumPy execution disagree); "
    "please report it with this output"
)


@dataclass(frozen=True)
class LayerCheck:
    """One layer: the analyzer's output shape, the executed one (both batch excluded), status."""

    name: str
    type: str
    expected: tuple[int, ...]
    actual: tuple[int, ...] | None
    status: str  # ok | mismatch | error | skipped
    message: str = ""
    train_only: bool = False
    dtype: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "expected": list(self.expected),
            "actual": list(self.actual) if self.actual is not None else None,
            "status": self.status,
        }
        if self.message:
            d["message"] = self.message
        if self.train_only:
            d["train_only"] = True
        return d


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`: per-layer checks, weight totals, memory and time."""

    name: str
    input_shapes: dict[str, tuple[int, ...]]
    batch: int
    seed: int
    dtype: str
    layers: tuple[LayerCheck, ...]
    params_allocated: int
    buffers_allocated: int
    params_expected: int
    buffers_expected: int
    peak_estimate_bytes: int
    budget_bytes: int | None
    seconds: float
    nonfinite: tuple[str, ...] = field(default=())

    @property
    def weights_ok(self) -> bool:
        return (self.params_allocated, self.buffers_allocated) == (
            self.params_expected,
            self.buffers_expected,
        )

    @property
    def failures(self) -> tuple[LayerCheck, ...]:
        return tuple(c for c in self.layers if not c.ok)

    @property
    def ok(self) -> bool:
        return self.weights_ok and not self.failures

    @property
    def allocated(self) -> int:
        return self.params_allocated + self.buffers_allocated

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "input_shapes": {k: list(v) for k, v in self.input_shapes.items()},
            "batch": self.batch,
            "seed": self.seed,
            "dtype": self.dtype,
            "weights": {
                "params_allocated": self.params_allocated,
                "buffers_allocated": self.buffers_allocated,
                "params_expected": self.params_expected,
                "buffers_expected": self.buffers_expected,
                "ok": self.weights_ok,
            },
            "layers": [c.to_dict() for c in self.layers],
            "peak_estimate_bytes": self.peak_estimate_bytes,
            "budget_bytes": self.budget_bytes,
            "seconds": self.seconds,
            "nonfinite": list(self.nonfinite),
        }


Progress = Callable[[int, int, str], None]


def verify(
    source: str | Path | dict[str, Any] | Graph,
    input_shape: tuple[int, ...] | list[int] | str | None = None,
    *,
    seed: int = 0,
    batch: int = 1,
    variant: str | None = None,
    variables: dict[str, Any] | None = None,
    max_memory: int | str | None = None,
    dtype: str = "float32",
    progress: Progress | None = None,
) -> VerifyResult:
    """Allocate every weight, run a forward pass on a random input, compare with the analyzer.

    ``max_memory`` (bytes or ``"4G"``) caps the estimated peak (weights + live activations +
    the largest layer's working memory); default: 60 % of the available memory. Above it the run
    is refused with a CnncalcError before anything is allocated. ``progress(done, total, name)``
    is called after each layer.
    """
    np = _require_numpy()
    from .. import build
    from ..analysis import analyze_graph

    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise CnncalcError(f"batch must be a positive integer, got {batch!r}")
    if dtype not in ("float32", "float64"):
        raise CnncalcError(f"verify runs in float32 or float64, not '{dtype}'")
    graph = (
        source
        if isinstance(source, Graph)
        else build(source, input_shape, variant=variant, variables=variables)
    )
    report = analyze_graph(graph, batch=batch, convention="pytorch")  # params vs buffers
    missing = missing_forwards(graph)
    if missing:
        raise CnncalcError(
            f"cannot verify '{graph.name}': no NumPy forward for layer type(s) "
            + ", ".join(missing),
            hint="this layer type is not executable yet; `cnncalc summary` still analyzes it",
        )
    itemsize = np.dtype(dtype).itemsize
    est = estimate_memory(graph, batch=batch, itemsize=itemsize, run_train_only=True)
    budget = parse_size(max_memory) if max_memory is not None else default_budget()
    if budget is not None and est.total_bytes > budget:
        raise CnncalcError(
            f"verifying '{graph.name}' needs about {fmt_bytes(est.total_bytes)} "
            f"(weights {fmt_bytes(est.weight_bytes)} + activations peaking at "
            f"{fmt_bytes(est.activation_peak_bytes)} at layer '{est.peak_at}'), more than the "
            f"memory budget of {fmt_bytes(budget)}",
            hint="use a smaller --input or --batch, or raise --max-memory"
            + ("" if max_memory is not None else " (default: 60% of the available memory)"),
        )

    t0 = time.perf_counter()
    if progress is not None:
        progress(0, len(graph.nodes), "allocating weights")
    weights = allocate_weights(graph, seed=seed, dtype=dtype)
    feeds = random_inputs(graph, batch=batch, seed=seed, dtype=dtype)
    outcomes: list[NodeOutcome] = []
    nonfinite: list[str] = []

    def check(node: Any, y: Any) -> str | None:
        # a free tensor (no input) has a batch axis of 1, broadcast by its consumers
        want = (batch if node.inputs else 1, *node.out_shape)
        got = tuple(y.shape)
        if got != want:
            return f"analyzer says {fmt_shape(node.out_shape)}, execution gives " + (
                fmt_shape(got[1:]) if got[:1] == (batch,) else f"{fmt_shape(got)} (batch axis lost)"
            )
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            nonfinite.append(node.name)
        return None

    def on_node(i: int, total: int, outcome: NodeOutcome) -> None:
        outcomes.append(outcome)
        if progress is not None:
            progress(i + 1, total, outcome.node.name)

    execute(graph, feeds, weights, run_train_only=True, check=check, on_node=on_node)
    seconds = time.perf_counter() - t0
    checks = tuple(
        LayerCheck(
            name=o.node.name,
            type=o.node.type,
            expected=tuple(o.node.out_shape),
            actual=tuple(o.shape[1:]) if o.shape is not None else None,
            status=o.status,
            message=o.message,
            train_only=o.node.train_only,
            dtype=o.dtype,
        )
        for o in outcomes
    )
    return VerifyResult(
        name=graph.name,
        input_shapes=dict(graph.inputs),
        batch=batch,
        seed=seed,
        dtype=dtype,
        layers=checks,
        params_allocated=weights.params,
        buffers_allocated=weights.buffers,
        params_expected=report.totals.params,
        buffers_expected=report.totals.buffers,
        peak_estimate_bytes=est.total_bytes,
        budget_bytes=budget,
        seconds=seconds,
        nonfinite=tuple(nonfinite),
    )


def render_text(result: VerifyResult, *, quiet: bool = False) -> str:
    """The per-layer table (failures only with ``quiet``), the weight check and the verdict."""
    rows = [c for c in result.layers if not (quiet and c.ok)]
    lines: list[str] = []
    if rows:
        table = [("layer", "type", "analyzer", "executed", "")]
        for c in rows:
            status = "ok" if c.ok else f"{c.status.upper()}: {c.message}"
            if c.train_only:
                status += " (train-only)"
            actual = fmt_shape(c.actual) if c.actual is not None else "-"
            table.append((c.name, c.type, fmt_shape(c.expected), actual, status))
        widths = [max(len(r[i]) for r in table) for i in range(4)]
        for r in table:
            cells = "  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths))
            lines.append((cells + "  " + r[4]).rstrip())
        lines.append("")
    a, e = result, result
    weight_line = (
        f"weights: allocated {a.params_allocated:,} params + {a.buffers_allocated:,} buffers "
        f"= {a.allocated:,}; analyzer {e.params_expected:,} + {e.buffers_expected:,}"
    )
    lines.append(weight_line + (" (equal)" if result.weights_ok else "  MISMATCH"))
    if result.nonfinite:
        lines.append(
            f"note: non-finite values in {len(result.nonfinite)} layer(s) from the random "
            f"weights (first: '{result.nonfinite[0]}'); shapes are still checked"
        )
    n = len(result.layers)
    shapes = result.input_shapes
    where = (
        fmt_shape(next(iter(shapes.values())))
        if len(shapes) == 1
        else ", ".join(f"{k} {fmt_shape(v)}" for k, v in shapes.items())
    )
    run = (
        f"batch {result.batch}, seed {result.seed}, {result.seconds:.2f} s, "
        f"estimated peak {fmt_bytes(result.peak_estimate_bytes)}"
    )
    if result.ok:
        lines.append(
            f"verify {result.name}: OK: all {n} layers agree with the analyzer "
            f"(input {where}; {run})"
        )
    else:
        bad = [c for c in result.failures if c.status != "skipped"]
        skipped = len(result.failures) - len(bad)
        what = []
        if bad:
            first = bad[0]
            what.append(
                f"{len(bad)} of {n} layers disagree with the analyzer "
                f"(first: '{first.name}': {first.message})"
                + (f", {skipped} not run (they depend on it)" if skipped else "")
            )
        if not result.weights_ok:
            what.append("the allocated weights differ from the analyzer's parameter count")
        lines.append(f"verify {result.name}: FAILED: " + "; ".join(what) + f"; {BUG_MESSAGE}")
    return "\n".join(lines) + "\n"
