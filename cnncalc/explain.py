"""``cnncalc explain``: the arithmetic behind every number, with the numbers substituted.

Each layer type explains itself (:meth:`cnncalc.layers.base.Layer.explain`, next to its shape
rule); this module holds the :class:`Formula` record, the small text helpers the layers share
(:func:`num`, :func:`mul`, :func:`window_axes`, …) and :func:`explain_graph`, which adds what
only the graph knows (where a flattened input came from, the receptive field, memory, warnings).

A formula line reads ``label = rule = work = value``, e.g.
``H_out = ⌊(H_in − F + 2P) / S⌋ + 1 = ⌊(227 − 11 + 2·0) / 4⌋ + 1 = 55``. ``checks`` names the
analyzer quantity the value must equal (``"params"``, ``"macs"``, ``"shape[1]"``…), which is how
the tests prove the explanation and the analyzer agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import prod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .graph import Graph
    from .layers.base import Layer

__all__ = [
    "Formula",
    "LayerExplanation",
    "num",
    "mul",
    "axis_names",
    "window_axes",
    "weights_formulas",
    "rule_formula",
    "explain_graph",
    "explain",
]


@dataclass(frozen=True)
class Formula:
    """One line of arithmetic: ``label = rule = work = value`` and an optional note.

    ``rule`` is the formula in symbols, ``work`` the same with the numbers substituted; either may
    be empty. ``value`` is the result (None for a note without a number). ``checks`` lists the
    analyzer quantities equal to ``value``: ``params``, ``buffers``, ``macs``, ``flops``,
    ``activation_bytes`` or ``shape[i]`` (axis ``i`` of the output shape, batch excluded).
    """

    label: str
    rule: str = ""
    work: str = ""
    value: int | None = None
    checks: tuple[str, ...] = ()
    note: str = ""

    @property
    def text(self) -> str:
        """The line without its note; when there is a value it is the last number of the text."""
        parts = [self.label]
        for p in (self.rule, self.work):
            if p and p not in parts:
                parts.append(p)
        if self.value is not None:
            parts.append(num(self.value))
        if len(parts) == 1:
            return self.label + (": " + self.note if self.note else "")
        return " = ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "rule": self.rule,
            "work": self.work,
            "value": self.value,
            "text": self.text,
            "note": self.note,
            "checks": list(self.checks),
        }


def num(n: int | float) -> str:
    """An integer with thousands separators (34944 → '34,944'); negatives with a real minus."""
    if isinstance(n, int):
        return f"{n:,}" if n >= 0 else f"−{-n:,}"
    return f"{n:g}"


def mul(*xs: int | str) -> str:
    """Factors joined by a middle dot: ``mul(11, 11, 3)`` → '11·11·3'."""
    return "·".join(x if isinstance(x, str) else num(x) for x in xs)


_AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
_SIDES = {"L": ("start", "end"), "H": ("top", "bottom"), "W": ("left", "right")}


def axis_names(rank: int) -> tuple[str, ...]:
    """Names of the spatial axes: L (1-d); H, W (2-d); D, H, W (3-d); else S1, S2, …"""
    return _AXES.get(rank, tuple(f"S{i + 1}" for i in range(rank)))


def _sides(axis: str) -> tuple[str, str]:
    return _SIDES.get(axis, ("front", "back") if axis == "D" else ("start", "end"))


def _floor_div(inner_rule: str, inner_work: str, s: int, ceil: bool) -> tuple[str, str]:
    if s == 1:
        return inner_rule + " + 1", inner_work + " + 1"
    lb, rb = ("⌈", "⌉") if ceil else ("⌊", "⌋")
    return f"{lb}({inner_rule}) / S{rb} + 1", f"{lb}({inner_work}) / {s}{rb} + 1"


def window_axes(
    in_spatial: Sequence[int],
    k: Sequence[int],
    s: Sequence[int],
    d: Sequence[int],
    pads: Sequence[tuple[int, int]],
    out_spatial: Sequence[int],
    *,
    transposed: bool = False,
    output_padding: Sequence[int] | None = None,
    ceil_mode: bool = False,
    same: bool = False,
    first_axis: int = 1,
) -> list[Formula]:
    """Output-size formulas of a sliding window, one per spatial axis (merged when identical).

    Conv and floor-mode pooling: ``⌊(W − F + 2P) / S⌋ + 1`` (cs231n); a dilated kernel first
    gets its effective size ``D·(F − 1) + 1``; ``same`` padding shows the total and which side
    takes the odd pixel; ceil mode shows the rounding up and the check that the last window
    starts inside the input or left padding; transposed conv shows PyTorch's
    ``(W − 1)·S − 2P + D·(F − 1) + output_padding + 1``.
    """
    from . import windows

    names = axis_names(len(in_spatial))
    op = output_padding or (0,) * len(in_spatial)
    groups: list[tuple[tuple, list[int]]] = []
    for i, key in enumerate(zip(in_spatial, k, s, d, pads, op, out_spatial)):
        for g in groups:
            if g[0] == key:
                g[1].append(i)
                break
        else:
            groups.append((key, [i]))
    out: list[Formula] = []
    for (w, kk, ss, dd, (lo, hi), opp, o), axes in groups:
        ax = names[axes[0]]
        label_out = " = ".join(f"{names[a]}_out" for a in axes)
        checks = tuple(f"shape[{a + first_axis}]" for a in axes)
        sym_in = f"{ax}_in"
        f_sym, f_num = "F", num(kk)
        if dd > 1 and not transposed:
            eff = windows.effective_kernel(kk, dd)
            out.append(
                Formula(
                    "F_eff",
                    "D·(F − 1) + 1",
                    f"{dd}·({kk} − 1) + 1",
                    eff,
                    note=f"dilation {dd} spreads a {kk}-tap kernel over {eff} positions",
                )
            )
            f_sym, f_num = "F_eff", num(eff)
        if same and not transposed:
            total = lo + hi
            lo_side, hi_side = _sides(ax)
            odd = (
                f"odd total: the extra pixel goes at the end ({hi_side}), as TensorFlow/ONNX "
                "SAME_UPPER do"
                if total % 2
                else "split evenly"
            )
            out.append(
                Formula(
                    f"P_total ({ax}, 'same')",
                    f"max((⌈{sym_in}/S⌉ − 1)·S + {f_sym} − {sym_in}, 0)",
                    f"max(({-(-w // ss)} − 1)·{ss} + {f_num} − {w}, 0)",
                    total,
                    note=f"{lo_side} {lo}, {hi_side} {hi}; {odd}",
                )
            )
        if transposed:
            pad_r = "2P" if lo == hi else "P_lo − P_hi"
            pad_w = f"2·{lo}" if lo == hi else f"{lo} − {hi}"
            rule = f"({sym_in} − 1)·S − {pad_r} + D·(F − 1) + output_padding + 1"
            work = f"({w} − 1)·{ss} − {pad_w} + {dd}·({kk} − 1) + {opp} + 1"
            out.append(Formula(label_out, rule, work, o, checks))
            if ss > windows.effective_kernel(kk, dd):
                out.append(
                    Formula(
                        f"gaps ({ax})",
                        "S − (D·(F − 1) + 1)",
                        f"{ss} − {windows.effective_kernel(kk, dd)}",
                        ss - windows.effective_kernel(kk, dd),
                        note="stride larger than the kernel: these output positions of every "
                        "S get no input (only the bias)",
                    )
                )
            continue
        if lo == hi:
            inner_r, inner_w = f"{sym_in} − {f_sym} + 2P", f"{w} − {f_num} + 2·{lo}"
        else:
            inner_r = f"{sym_in} − {f_sym} + P_lo + P_hi"
            inner_w = f"{w} − {f_num} + {lo} + {hi}"
        if not ceil_mode:
            rule, work = _floor_div(inner_r, inner_w, ss, False)
            out.append(Formula(label_out, rule, work, o, checks))
            span = w + lo + hi - windows.effective_kernel(kk, dd)
            u = span % ss
            if u:
                lost = max(u - hi, 0)
                where = (
                    f"{lost} real input {'row' if ax == 'H' else 'position'}(s) never seen"
                    if lost
                    else "only padding, no real input lost"
                )
                out.append(
                    Formula(
                        f"uncovered ({ax})",
                        f"({sym_in} − {f_sym} + P_lo + P_hi) mod S",
                        f"({w} − {f_num} + {lo} + {hi}) mod {ss}",
                        u,
                        note=f"the last {u} padded position(s) at the {_sides(ax)[1]} are in no "
                        f"window: {where}",
                    )
                )
            continue
        span = w + lo + hi - windows.effective_kernel(kk, dd)
        up = -(-span // ss) + 1
        rule, work = _floor_div(inner_r, inner_w, ss, True)
        last = (up - 1) * ss
        limit = w + lo
        if up == o:
            out.append(Formula(label_out, rule, work, o, checks, note="ceil mode"))
            out.append(
                Formula(
                    f"last window start ({ax})",
                    f"({ax}_out − 1)·S",
                    f"({up} − 1)·{ss}",
                    last,
                    note=f"< {sym_in} + P_lo = {limit}: it starts inside the input, so it is kept",
                )
            )
        else:
            out.append(Formula(f"{ax}_ceil", rule, work, up, note="ceil mode, before the check"))
            out.append(
                Formula(
                    f"last window start ({ax})",
                    f"({ax}_ceil − 1)·S",
                    f"({up} − 1)·{ss}",
                    last,
                    note=f"≥ {sym_in} + P_lo = {limit}: it would start in the padding, so "
                    "PyTorch drops it",
                )
            )
            out.append(Formula(label_out, f"{ax}_ceil − 1", f"{up} − 1", o, checks))
    return out


def weights_formulas(layer: Layer) -> list[Formula]:
    """Parameters (and buffers) as the sum of the declared weight shapes' products."""
    out = []
    for kind, label in (("param", "params"), ("buffer", "buffers")):
        ws = [w for w in layer.weights() if w.kind == kind]
        if not ws:
            if kind == "param":
                out.append(Formula("params", value=0, checks=("params",), note="no weights"))
            continue
        terms = [
            f"{w.name} {mul(*w.shape)}"
            if len(w.shape) > 1
            else f"{w.name} {num(w.shape[0]) if w.shape else '1 (a scalar)'}"
            for w in ws
        ]
        out.append(
            Formula(
                label,
                "Σ ∏(weight shape)",
                " + ".join(terms),
                sum(w.size for w in ws),
                (label,),
            )
        )
    return out


_RULE_CACHE: dict[tuple[type, str], str] = {}


def doc_rule(cls: type, quantity: str) -> str:
    """The ``quantity = …`` rule stated in a layer class's docstring ('' when none is stated)."""
    key = (cls, quantity)
    if key not in _RULE_CACHE:
        doc = " ".join((cls.__doc__ or "").split())
        m = re.search(rf"{quantity}(?: at inference)? = ([^.;:]+?)(?:\.(?:\s|$)|;|$)", doc)
        _RULE_CACHE[key] = m.group(1).strip() if m else ""
    return _RULE_CACHE[key]


def rule_formula(layer: Layer, quantity: str, value: int, work: str = "") -> Formula:
    """A MACs or FLOPs line with the rule taken from the layer's docstring."""
    label = "MACs" if quantity == "macs" else "FLOPs"
    rule = doc_rule(type(layer), label)
    note = ""
    if quantity == "macs" and value == 0 and not rule:
        note = "only conv, linear and matmul-like layers have multiply-accumulates"
    return Formula(label, rule, work, value, (quantity,), note)


# --------------------------------------------------------------------------------------------
# Graph level
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerExplanation:
    """Everything ``cnncalc explain`` says about one layer, as plain data."""

    name: str
    type: str
    inputs: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]
    formulas: tuple[Formula, ...]
    receptive_field: dict[str, Any] | None = None
    warnings: tuple[dict[str, str], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "inputs": list(self.inputs),
            "input_shapes": [list(s) for s in self.input_shapes],
            "output_shape": list(self.output_shape),
            "formulas": [f.to_dict() for f in self.formulas],
            "receptive_field": self.receptive_field,
            "warnings": list(self.warnings),
        }


def _flatten_origin(graph: Graph, name: str) -> Formula | None:
    """When an input was flattened/reshaped, say where its last axis comes from (9216 = 256·6·6)."""
    node = graph.by_name.get(name)
    # Walk back over shape-preserving layers (dropout, activations) to the reshape.
    while (
        node is not None
        and len(node.inputs) == 1
        and tuple(node.layer.in_shapes[0]) == tuple(node.out_shape)
    ):
        node = graph.by_name.get(node.inputs[0])
    if node is None or len(node.layer.in_shapes) != 1:
        return None
    name = node.name
    src = node.layer.in_shapes[0]
    out = node.out_shape
    if len(out) >= len(src):
        return None
    n_lead = len(out) - 1
    if tuple(src[:n_lead]) != tuple(out[:n_lead]):
        return None
    merged = src[n_lead:]
    if len(merged) < 2:
        return None
    return Formula(
        "input features",
        "",
        mul(*merged),
        out[-1],
        note=f"'{name}' ({node.type}) flattened {tuple(src)} from "
        f"'{node.inputs[0]}' into its last axis",
    )


def dense_equivalent(layer: Layer) -> Formula | None:
    """What a conv layer would cost as a fully connected layer between the same input and output.

    A fully connected layer joins every input element to every output element: ``in·out``
    weights. A convolution shares one small filter over all output positions (parameter
    sharing), so it needs ``in·out / weights`` times fewer: for AlexNet's conv1
    (3·227·227)·(96·55·55) = 44,892,064,800 weights against 34,848.
    """
    if layer.CATEGORY != "conv" or not layer.in_shapes or len(layer.out_shape) < 2:
        return None
    weights = sum(w.size for w in layer.weights() if w.name == "weight")
    if not weights:
        return None
    x, y = layer.in_shapes[0], layer.out_shape
    n_in, n_out = prod(x), prod(y)
    total = n_in * n_out
    ratio = total / weights
    return Formula(
        "as fully connected",
        "in·out weights",
        f"({mul(*x)})·({mul(*y)})",
        total,
        note=f"{ratio:,.0f}× this layer's {weights:,} weights (+ {n_out:,} biases): parameter "
        f"sharing, one filter reused at every output position",
    )


def explain_graph(
    graph: Graph, layer: str | None = None, *, dtype: str = "float32"
) -> list[LayerExplanation]:
    """Per-layer explanation records of a built graph; ``layer`` selects one layer or a block."""
    from .checks import check_graph
    from .errors import CnncalcError, did_you_mean
    from .receptive import receptive_fields
    from .report import DTYPE_BYTES

    nodes = graph.nodes
    if layer is not None:
        nodes = [n for n in graph.nodes if n.name == layer or n.name.startswith(layer + ".")]
        if not nodes:
            raise CnncalcError(
                f"no layer or block named '{layer}'",
                hint=did_you_mean(layer, [n.name for n in graph.nodes], "layers"),
            )
    rfs = receptive_fields(graph)
    warns: dict[str, list[dict[str, str]]] = {}
    for w in check_graph(graph):
        warns.setdefault(w.layer, []).append(w.to_dict())
    nbytes = DTYPE_BYTES[dtype]
    out = []
    for node in nodes:
        lay = node.layer
        formulas: list[Formula] = []
        origin = _flatten_origin(graph, node.inputs[0]) if node.inputs else None
        if origin is not None:
            formulas.append(origin)
        formulas.extend(lay.explain())
        dense = dense_equivalent(lay)
        if dense is not None:
            formulas.append(dense)
        shape = node.out_shape
        formulas.append(
            Formula(
                f"activation ({dtype})",
                "elements · bytes",
                f"{mul(*shape)}·{nbytes}",
                lay.out_elements * nbytes,
                ("activation_bytes",),
                note="bytes of this layer's output for one sample",
            )
        )
        rf = rfs.get(node.name)
        out.append(
            LayerExplanation(
                name=node.name,
                type=node.type,
                inputs=node.inputs,
                input_shapes=tuple(graph.shape_of(i) for i in node.inputs),
                output_shape=shape,
                formulas=tuple(formulas),
                receptive_field=rf.to_dict() if rf is not None else None,
                warnings=tuple(warns.get(node.name, ())),
            )
        )
    return out


def explain(
    source: Any,
    input_shape: Any = None,
    *,
    layer: str | None = None,
    variant: str | None = None,
    variables: dict[str, Any] | None = None,
    dtype: str = "float32",
) -> list[LayerExplanation]:
    """Build a spec (path, zoo name, dict or Graph) and explain its layers (see :func:`explain_graph`)."""
    from . import Graph, build

    graph = (
        source
        if isinstance(source, Graph)
        else build(source, input_shape, variant=variant, variables=variables)
    )
    return explain_graph(graph, layer, dtype=dtype)
