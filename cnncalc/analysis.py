"""Graph → report: per-layer parameters, buffers, MACs, FLOPs and memory, and their totals."""

from __future__ import annotations

from math import prod
from typing import Any

from .checks import check_graph, parse_warn, select_warnings, shows
from .errors import CnncalcError, did_you_mean
from .graph import MAX_TOTAL, Graph, gc_paused
from .memory import estimate_memory, storage_roots
from .receptive import receptive_fields
from .report import DTYPE_BYTES, Deferred, LayerRow, PendingField, Report, Totals

__all__ = ["analyze_graph", "CONVENTIONS"]

#: ``pytorch``: BN running statistics are buffers (torch ``parameters()`` excludes them).
#: ``keras``: they are non-trainable parameters (Keras ``count_params``).
CONVENTIONS = ("pytorch", "keras")


def analyze_graph(
    graph: Graph,
    *,
    batch: int = 1,
    dtype: str = "float32",
    convention: str | None = None,
    warn: str | None = None,
    lazy: bool = True,
) -> Report:
    """Count every layer of a built graph. Totals are sums of the rows.

    ``convention`` None: the spec's own (``convention: keras``), else pytorch. ``warn``: None
    shows every warning but the spec's ``expected_warnings``; ``"none"``, ``"all"`` or codes
    ``"uncovered,param_share"`` (see :mod:`cnncalc.checks`).

    The three whole-graph passes that few consumers read (receptive fields, warnings, the
    liveness/memory estimate: ~2/3 of the analysis time on deep graphs) run when first read
    (``row.receptive_field``, ``report.warnings``, ``report.memory``, ``to_dict()``); the values
    are the same either way. ``lazy=False`` computes them now. The graph must not be changed
    after it was analysed (nothing in cnncalc does: ``freeze`` happens before).
    """
    if convention is None:
        convention = str(graph.meta.get("convention") or "pytorch")
    selection = parse_warn(warn)
    with gc_paused():
        report = _analyze(graph, batch, dtype, convention, selection)
    if not lazy:
        report.resolve()
    return report


def _analyze(
    graph: Graph, batch: int, dtype: str, convention: str, warn: frozenset[str] | None
) -> Report:
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
    any_shared = any_train_only = False  # for the notes
    # Repeated identical layers share one object (see cnncalc.graph), also between graphs built
    # from one spec: each object's figures are computed once and kept on it (Layer._costs).
    fields = _Fields(graph)
    depth_of: dict[str, int] = {}  # conv/linear layers on the longest path to each node
    new_row = tuple.__new__
    views = storage_roots(graph)
    for node in graph.nodes:
        layer = node.layer
        c = layer._costs
        if c is None:
            p = b = 0
            ws = layer.weights()
            for w in ws:  # Weight.size: the one definition of a weight's element count
                if w.kind == "param":
                    p += w.size
                else:
                    b += w.size
            k = getattr(layer, "k", None) if "kernel_size" in layer.args else None
            m = layer.macs()
            # _out_el: layer.out_elements of a built layer (every layer of a graph is built)
            c = (p, b, m, layer.flops(), layer._out_el, bool(ws), k, 1 if m > 0 else 0)
            layer._costs = c
        params, buffers, macs, flops, out_el, has_weights, kernel, deep = c
        name, ins, share = node.name, node.inputs, node.share
        if len(ins) == 1:
            depth_of[name] = depth_of.get(ins[0], 0) + deep
        else:
            depth_of[name] = max([depth_of.get(x, 0) for x in ins], default=0) + deep
        if keras:
            non = buffers
            params += buffers
            buffers = 0
        else:
            non = 0
        if share is not None:
            params = buffers = non = 0
            any_shared = True
        # (params itself when nothing is non-trainable: no new int object per row)
        trainable = (params - non if non else params) if node.trainable else 0
        non = params - trainable
        if batch != 1:
            macs *= batch
            flops *= batch
        train_only = node.train_only
        pos = node.pos
        # positional construction (field order of LayerRow): ~2× faster than keywords
        rows.append(
            new_row(
                LayerRow,
                (
                    name,
                    layer.type_name,
                    ins,
                    node.out_shape,
                    params,
                    trainable,
                    non,
                    buffers,
                    macs,
                    flops,
                    out_el,
                    node.trainable,
                    train_only,
                    share,
                    pos[0] if pos else None,
                    PendingField(fields, node.index),  # = i, an int the node already holds
                    kernel,
                ),
            )
        )
        t_params += params
        t_train += trainable
        t_non += non
        t_buf += buffers
        if has_weights and share is None:
            with_weights += 1
        if not train_only:
            t_macs += macs
            t_flops += flops
            if name not in views:  # a view is no new activation (cnncalc.memory)
                t_act += out_el * batch
        else:
            any_train_only = True
    nbytes = DTYPE_BYTES[dtype]
    in_el = sum(prod(s) for s in graph.inputs.values()) * batch
    _check_totals(
        graph.name,
        batch,
        params=t_params + t_buf,
        MACs=t_macs,
        FLOPs=t_flops,
        activations=t_act,
        bytes=(in_el + t_params + t_buf + t_act) * nbytes,
    )
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
        depth=max([depth_of.get(o, 0) for o in graph.outputs], default=0),
    )
    caveats = graph.meta.get("caveats") or []
    notes = [caveats] if isinstance(caveats, str) else list(caveats)
    if any_train_only:
        notes.append(
            "train-only layers (e.g. auxiliary classifiers) are counted in params, "
            "not in MACs/FLOPs/activations: they do not run at inference"
        )
    if any_shared:
        notes.append("layers that share weights count their parameters once")
    if convention == "keras":
        notes.append(
            "Keras convention: batch-norm moving statistics counted as non-trainable params"
        )

    expected_codes = graph.meta.get("expected_warnings")

    def warnings() -> tuple[dict[str, str], ...]:
        with gc_paused():
            found = check_graph(graph, {r.name: r.params for r in rows})
            shown, _ = select_warnings(found, warn, expected_codes)
            return tuple(w.to_dict() for w in shown)

    if warn is None and expected_codes:  # the note counts the hidden ones: check now
        with gc_paused():
            found = check_graph(graph, {r.name: r.params for r in rows})
        shown, hidden = select_warnings(found, warn, expected_codes)
        if hidden:
            codes = ", ".join(dict.fromkeys(w.code for w in hidden))
            notes.append(
                f"{len(hidden)} warning{'s' if len(hidden) > 1 else ''} the design intends not "
                f"shown (the spec's expected_warnings: {codes}; --warn all shows them)"
            )
        now = tuple(w.to_dict() for w in shown)

        def warnings() -> tuple[dict[str, str], ...]:
            return now

    def memory() -> Any:
        with gc_paused():
            return estimate_memory(
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
        warnings=Deferred(warnings),
        memory=Deferred(memory),
    )
    if graph.expected:
        from dataclasses import replace

        from .expected import compare_expected

        frozen = bool(graph.meta.get("frozen"))
        bad = compare_expected(report, graph.expected, frozen=frozen)
        if bad and shows("expected_mismatch", warn, expected_codes):
            extra = tuple(
                {"code": "expected_mismatch", "layer": graph.name, "message": m.message}
                for m in bad
            )
            first = report
            report = replace(report, warnings=Deferred(lambda: first.warnings + extra))
    return report


def _check_totals(name: str, batch: int, **totals: int) -> None:
    """Refuse totals above 2⁵³: a JSON reader (float64) would no longer hold them exactly."""
    for what, v in totals.items():
        if v > MAX_TOTAL:
            raise CnncalcError(
                f"{name}: {what} total {v:,} is above the limit of 2⁵³ = {MAX_TOTAL:,} "
                "(figures beyond it are not exact in JSON)",
                hint=f"a smaller batch ({batch} now) or input" if batch > 1 else "a smaller input",
            )


class _Fields:
    """The receptive fields of one analysed graph, computed for every row on the first read."""

    __slots__ = ("graph", "dicts")

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.dicts: list[dict[str, Any] | None] | None = None

    def __call__(self, i: int) -> dict[str, Any] | None:
        if self.dicts is None:
            with gc_paused():  # many small objects, none freed: see cnncalc.graph.gc_paused
                rfs = receptive_fields(self.graph)
                cache: dict[int, Any] = {}
                self.dicts = [_rf_dict(rfs.get(n.name), cache) for n in self.graph.nodes]
        return self.dicts[i]


def _rf_dict(rf: Any, cache: dict[int, Any]) -> dict[str, Any] | None:
    """The JSON form of a field; point-wise layers pass their input's field object on, so the
    dict is built once per object (the dicts are read-only data, shared between rows)."""
    if rf is None:
        return None
    d = cache.get(id(rf))
    if d is None:
        d = cache[id(rf)] = rf.to_dict()
    return d
