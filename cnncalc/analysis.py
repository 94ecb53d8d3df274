"""Graph → report: per-layer parameters, buffers, MACs, FLOPs and memory, and their totals."""

from __future__ import annotations

from math import prod
from typing import Any

from .checks import check_graph
from .comparison import layer_depth
from .errors import CnncalcError, did_you_mean
from .graph import Graph, gc_paused
from .memory import estimate_memory, storage_roots
from .receptive import receptive_fields
from .report import DTYPE_BYTES, LayerRow, Report, Totals

__all__ = ["analyze_graph", "CONVENTIONS"]

#: ``pytorch``: BN running statistics are buffers (torch ``parameters()`` excludes them).
#: ``keras``: they are non-trainable parameters (Keras ``count_params``).
CONVENTIONS = ("pytorch", "keras")


def analyze_graph(
    graph: Graph, *, batch: int = 1, dtype: str = "float32", convention: str = "pytorch"
) -> Report:
    """Count every layer of a built graph. Totals are sums of the rows."""
    with gc_paused():
        return _analyze(graph, batch, dtype, convention)


def _analyze(graph: Graph, batch: int, dtype: str, convention: str) -> Report:
    if convention not in CONVENTIONS:
        raise CnncalcError(
            f"unknown convention '{convention}'", hint=did_you_mean(convention, CONVENTIONS)
        )
    if dtype not in DTYPE_BYTES:
        raise CnncalcError(f"unknown dtype '{dtype}'", hint=did_you_mean(dtype, DTYPE_BYTES))
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise CnncalcError(f"batch must be a positive integer, got {batch!r}")
    keras = convention == "keras"
    rows = []
    t_params = t_train = t_non = t_buf = t_macs = t_flops = t_act = 0
    with_weights = 0
    # Repeated identical layers share one object (see cnncalc.graph): count each object once.
    costs: dict[int, tuple[int, int, int, int, int, bool, Any]] = {}
    rfs = receptive_fields(graph)
    rf_cache: dict[int, Any] = {}
    rf_dicts = [_rf_dict(rfs.get(n.name), rf_cache) for n in graph.nodes]
    new_row = tuple.__new__
    views = storage_roots(graph)
    for i, node in enumerate(graph.nodes):
        layer = node.layer
        c = costs.get(id(layer))
        if c is None:
            p = b = 0
            ws = layer.weights()
            for w in ws:
                if w.kind == "param":
                    p += w.size
                else:
                    b += w.size
            k = getattr(layer, "k", None) if "kernel_size" in layer.args else None
            c = (p, b, layer.macs(), layer.flops(), layer.out_elements, bool(ws), k)
            costs[id(layer)] = c
        params, buffers, macs, flops, out_el, has_weights, kernel = c
        if keras:
            non = buffers
            params += buffers
            buffers = 0
        else:
            non = 0
        if node.share is not None:
            params = buffers = non = 0
        trainable = params - non if node.trainable else 0
        non = params - trainable
        macs *= batch
        flops *= batch
        # positional construction (field order of LayerRow): ~2× faster than keywords
        row = new_row(
            LayerRow,
            (
                node.name,
                layer.type_name,
                node.inputs,
                node.out_shape,
                params,
                trainable,
                non,
                buffers,
                macs,
                flops,
                out_el,
                node.trainable,
                node.train_only,
                node.share,
                node.pos[0] if node.pos else None,
                rf_dicts[i],
                kernel,
            ),
        )
        rows.append(row)
        t_params += params
        t_train += trainable
        t_non += non
        t_buf += buffers
        if has_weights and node.share is None:
            with_weights += 1
        if not node.train_only:
            t_macs += macs
            t_flops += flops
            if node.name not in views:  # a view is no new activation (cnncalc.memory)
                t_act += out_el * batch
    nbytes = DTYPE_BYTES[dtype]
    in_el = sum(prod(s) for s in graph.inputs.values()) * batch
    totals = Totals(
        params=t_params,
        trainable_params=t_train,
        non_trainable_params=t_non,
        buffers=t_buf,
        macs=t_macs,
        flops=t_flops,
        activation_elements=t_act,
        input_elements=in_el,
        params_bytes=(t_params + t_buf) * nbytes,
        activation_bytes=t_act * nbytes,
        input_bytes=in_el * nbytes,
        total_bytes=(in_el + t_params + t_buf + t_act) * nbytes,
        layer_count=len(rows),
        weighted_layers=with_weights,
        depth=layer_depth(rows, graph.outputs),
    )
    caveats = graph.meta.get("caveats") or []
    notes = [caveats] if isinstance(caveats, str) else list(caveats)
    if any(r.train_only for r in rows):
        notes.append(
            "train-only layers (e.g. auxiliary classifiers) are counted in params, "
            "not in MACs/FLOPs/activations: they do not run at inference"
        )
    if any(r.shared_with for r in rows):
        notes.append("layers that share weights count their parameters once")
    if convention == "keras":
        notes.append(
            "Keras convention: batch-norm moving statistics counted as non-trainable params"
        )
    warnings = check_graph(graph, {r.name: r.params for r in rows})
    memory = estimate_memory(
        graph,
        batch=batch,
        dtype=dtype,
        bytes_per_element=nbytes,
        params=t_params,
        buffers=t_buf,
        trainable_params=t_train,
        views=views,
    )
    report = Report(
        name=graph.name,
        input_shapes=dict(graph.inputs),
        output_shapes={o: graph.shape_of(o) for o in graph.outputs},
        rows=tuple(rows),
        totals=totals,
        batch=batch,
        dtype=dtype,
        convention=convention,
        variant=graph.variant,
        file=graph.file,
        meta={**graph.meta, "groups": dict(graph.groups)},
        notes=tuple(notes),
        warnings=tuple(w.to_dict() for w in warnings),
        memory=memory,
    )
    if graph.expected:
        from dataclasses import replace

        from .expected import compare_expected

        frozen = bool(graph.meta.get("frozen"))
        bad = compare_expected(report, graph.expected, frozen=frozen)
        if bad:
            extra = tuple(
                {"code": "expected_mismatch", "layer": graph.name, "message": m.message}
                for m in bad
            )
            report = replace(report, warnings=report.warnings + extra)
    return report


def _rf_dict(rf: Any, cache: dict[int, Any]) -> dict[str, Any] | None:
    """The JSON form of a field; point-wise layers pass their input's field object on, so the
    dict is built once per object (the dicts are read-only data, shared between rows)."""
    if rf is None:
        return None
    d = cache.get(id(rf))
    if d is None:
        d = cache[id(rf)] = rf.to_dict()
    return d
