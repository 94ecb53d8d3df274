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

__all__ = ["LayerCheck", "VerifyResult", "verify", "render_text", "BUG_MESSAGE", "BACKENDS"]

BUG_MESSAGE = (
    "this is a cnncalc bug (the analyzer and the NumPy execution disagree); "
    "please report it with this output"
)
BUG_MESSAGE_EXPORT = (
    "this is a cnncalc bug (the analyzer and the exported model run by %s disagree); "
    "please report it with this output"
)
BACKENDS = ("numpy", "torch", "onnxruntime")


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
    #: what executed the graph: numpy (cnncalc's own forwards), torch (the PyTorch export) or
    #: onnxruntime (the ONNX export)
    backend: str = "numpy"

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
            "backend": self.backend,
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
    backend: str = "numpy",
) -> VerifyResult:
    """Allocate every weight, run a forward pass on a random input, compare with the analyzer.

    ``backend``: ``numpy`` runs cnncalc's own forwards; ``torch`` writes the PyTorch export, runs
    it and reads every layer's output through forward hooks (module names = layer names);
    ``onnxruntime`` writes the ONNX export with every layer's output as a graph output and runs
    it. Each needs its package (the ``torch`` / ``onnxruntime`` extras).

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
    if backend not in BACKENDS:
        from ..errors import did_you_mean

        raise CnncalcError(
            f"unknown backend '{backend}'", hint=did_you_mean(backend, BACKENDS, "backends")
        )
    if backend != "numpy":
        if dtype != "float32":
            raise CnncalcError(f"--backend {backend} runs in float32")
        run_export = _run_torch if backend == "torch" else _run_onnxruntime
        return _verify_export(graph, report, backend, run_export, seed, batch, max_memory)
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
        bug = BUG_MESSAGE if result.backend == "numpy" else BUG_MESSAGE_EXPORT % result.backend
        lines.append(f"verify {result.name}: FAILED: " + "; ".join(what) + f"; {bug}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Verifying through the exports: run the PyTorch module / the ONNX model, compare every layer
# ---------------------------------------------------------------------------------------------

#: (node name → executed output shape with batch or None if not run, node name → error
#: message of a layer that raised, params, buffers)
ExportRun = tuple[dict[str, tuple[int, ...] | None], dict[str, str], int, int]


def _verify_export(
    graph: Graph,
    report: Any,
    backend: str,
    run_export: Callable[[Graph, Any, int], ExportRun],
    seed: int,
    batch: int,
    max_memory: int | str | None,
) -> VerifyResult:
    est = estimate_memory(graph, batch=batch, itemsize=4, run_train_only=True)
    budget = parse_size(max_memory) if max_memory is not None else default_budget()
    if budget is not None and est.total_bytes > budget:
        raise CnncalcError(
            f"verifying '{graph.name}' needs about {fmt_bytes(est.total_bytes)}, more than the "
            f"memory budget of {fmt_bytes(budget)}",
            hint="use a smaller --input or --batch, or raise --max-memory",
        )
    t0 = time.perf_counter()
    feeds = random_inputs(graph, batch=batch, seed=seed, dtype="float32")
    shapes, errors, params, buffers = run_export(graph, feeds, seed)
    seconds = time.perf_counter() - t0
    checks = []
    for node in graph.nodes:
        got = shapes.get(node.name)
        # a free tensor (no input) has a batch axis of 1, broadcast by its consumers
        want = (batch if node.inputs else 1, *node.out_shape)
        if node.name in errors:
            status, msg, actual = "error", f"{backend}: {errors[node.name]}", None
        elif got is None:
            status, msg, actual = "skipped", f"not run by {backend}", None
        elif tuple(got) != want:
            status, actual = "mismatch", tuple(got[1:])
            msg = f"analyzer says {fmt_shape(node.out_shape)}, {backend} gives {fmt_shape(got[1:])}"
        else:
            status, msg, actual = "ok", "", tuple(got[1:])
        checks.append(
            LayerCheck(
                node.name, node.type, tuple(node.out_shape), actual, status, msg, node.train_only
            )
        )
    return VerifyResult(
        name=graph.name,
        input_shapes=dict(graph.inputs),
        batch=batch,
        seed=seed,
        dtype="float32",
        layers=tuple(checks),
        params_allocated=params,
        buffers_allocated=buffers,
        params_expected=report.totals.params,
        buffers_expected=report.totals.buffers,
        peak_estimate_bytes=est.total_bytes,
        budget_bytes=budget,
        seconds=seconds,
        backend=backend,
    )


def _run_torch(graph: Graph, feeds: dict[str, Any], seed: int) -> ExportRun:
    """Write the PyTorch export, import it, run it with a forward hook on every layer's module.

    Layers the model does not run (train-only heads, off the way to the outputs) are then run
    one by one from the recorded outputs of their inputs, so every layer is checked.
    """
    try:
        import torch
    except ImportError:
        raise CnncalcError(
            "--backend torch needs PyTorch", hint='pip install "cnncalc[torch]"'
        ) from None
    import importlib.util
    import tempfile

    from ..export.pytorch import (
        PARAMETER_FORWARD,
        PYTORCH,
        _parameter_kind,
        module_calls,
        to_pytorch,
    )

    source = to_pytorch(graph)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cnncalc_export.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("cnncalc_export", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # the file cnncalc just wrote, not a user's file
    torch.manual_seed(seed)
    model = module.build().eval()
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(
        b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked")
    )
    modules = dict(model.named_modules())
    out: dict[str, Any] = {}
    hooks = []
    # a module shared by several layers (share) is called once per layer, in the graph's order
    calls = module_calls(graph, modules)
    for (path, k), names in calls.items():
        m = modules.get(path)
        if m is None:
            continue

        def record(_m: Any, _i: Any, y: Any, names: list[str] = names, k: Any = k) -> None:
            # a class named as its layer that also returns inner layers: its output first
            value = (y[0] if isinstance(y, tuple) else y) if k is None else y[k]
            done = [n for n in names if n in out]
            out[names[min(len(done), len(names) - 1)]] = value

        hooks.append(m.register_forward_hook(record))
    xs = [torch.from_numpy(feeds[k]) for k in graph.inputs]
    errors: dict[str, str] = {}
    with torch.no_grad():
        failed = None
        try:
            model(*xs)
        except Exception as err:  # noqa: BLE001 - the layer that raised is found and reported below
            failed = f"{type(err).__name__}: {err}".splitlines()[0][:200]
        for h in hooks:
            h.remove()
        reached = set(out)
        values = {**dict(zip(graph.inputs, xs)), **out}
        # the layers forward() did not run (train-only heads) or did not reach: run each from
        # its inputs' recorded outputs; one that raises is where the export went wrong
        for node in graph.nodes:
            if node.name in values:
                continue
            run = modules.get(node.name)
            if run is None:  # a bare parameter (class token, layer scale): its forward, by type
                kind = _parameter_kind(PYTORCH[node.type](node.layer).ctor)
                if kind is None:
                    continue
                try:
                    get = model.get_buffer if kind == "buffer" else model.get_parameter
                    p = get(node.name)
                except AttributeError:
                    continue
                fn = PARAMETER_FORWARD[kind][1]

                def run(*xs: Any, fn: Any = fn, p: Any = p) -> Any:
                    return fn(xs[0] if xs else None, p)

            if all(i in values for i in node.inputs):
                try:
                    values[node.name] = run(*(values[i] for i in node.inputs))
                except Exception as err:  # noqa: BLE001
                    errors[node.name] = f"{type(err).__name__}: {err}".splitlines()[0][:200]
        if failed is not None and not errors:
            # every layer ran alone from its recorded inputs, yet the model's forward raised: the
            # file wires a layer to the wrong input; named at the first layer it did not reach
            stopped = next(
                (n.name for n in graph.nodes if n.inputs and n.name not in reached),
                graph.nodes[-1].name,
            )
            errors[stopped] = f"the model's forward raised {failed}"
    shapes = {
        n.name: tuple(values[n.name].shape) if n.name in values else None for n in graph.nodes
    }
    return shapes, errors, params, buffers


def _run_onnxruntime(graph: Graph, feeds: dict[str, Any], seed: int) -> ExportRun:
    """Write the ONNX export with every layer's output as a graph output, run it, read shapes."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise CnncalcError(
            "--backend onnxruntime needs onnxruntime", hint='pip install "cnncalc[onnxruntime]"'
        ) from None
    import math

    from ..export import onnx as onnx_export

    model = onnx_export.to_onnx(graph, weights=True, seed=seed, intermediates=True)
    kinds = {
        f"{n.name}.{w.name}": w.kind
        for n in graph.nodes
        if n.share is None
        for w in n.layer.weights()
    }
    params = buffers = 0
    for t in model.graph.initializer:
        if kinds.get(t.name) == "buffer":
            buffers += math.prod(t.dims)
        else:
            params += math.prod(t.dims)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # no warnings about unused initializers (Keras's count)
    if onnx_export.fits_inline(model):
        session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
    else:  # over protobuf's 2 GiB: through a file with its weights beside it
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.onnx"
            onnx_export.save(model, path)
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    results = session.run(names, {k: feeds[k] for k in graph.inputs})
    shapes = {name: tuple(r.shape) for name, r in zip(names, results)}
    return {n.name: shapes.get(n.name) for n in graph.nodes}, {}, params, buffers
