"""Receptive fields: which input pixels each layer's output can see, per spatial axis.

For every layer and spatial axis three numbers (Araujo et al., "Computing receptive fields of
convolutional neural networks", Distill 2019; google-research/receptive_field):

* ``size``: how many input pixels one output position depends on (the span, gaps of dilated
  kernels included);
* ``jump``: the distance in input pixels between neighbouring output positions (the effective
  stride, the product of the strides so far);
* ``start``: the input coordinate of the first pixel of output 0's field (negative = it reaches
  into the padding; ``−start`` is google-research's "effective padding").

Output ``o``'s field is ``[start + o·jump, start + o·jump + size − 1]``. Recurrence through a
window of kernel F, stride S, dilation D and left padding P (from :meth:`Layer.window`)::

    size  += D·(F − 1)·jump      start −= P·jump      jump *= S

A transposed window (transposed conv, upsampling) divides instead: output o reads inputs
``[(o + P − D·(F−1))/S, (o + P)/S]``, so ``jump /= S``, ``start += (P − D·(F−1))·jump_in/S``,
``size += D·(F−1)·jump_in/S``. Jumps below 1 are fractions; the field is then a bound, and the
reported ``size`` is the widest integer interval the bound allows. A merge (add, concat,
multiply) takes the union of its inputs' fields: the maximum over paths, and ``via`` names the
input that attains it. Layers without spatial axes (after flatten) have no field (None).

Layouts. The per-axis lists are over the *input's* spatial axes, in their order, wherever those
axes are in a layer's output: ``axes`` records their positions (batch excluded) once a permute
has moved them (ConvNeXt's blocks: permute to (H, W, C), layer norm and linears on C, permute
back). Position-wise layers (activations, dropout, norms, scale, stochastic depth, element-wise
merges of equally laid out tensors) pass a field in any layout; a layer that mixes positions
along an axis (:meth:`rf_mixed_axes`: a linear mixes its last axis) ends it when that axis is
spatial and passes it otherwise; a permute (:meth:`rf_axis_order`) moves the axes; a window
(conv, pooling) needs the channels first. Attention mixes positions across a window or the whole
input: no sliding-window field (None), as after a reshape that merges or regroups spatial axes.
Normalisation statistics (layer, group, L2 norm, softmax over an axis) are not counted as
mixing, as in the references above: a normalisation is position-wise.

VGG-16 at pool5: size 212, jump 32, start −90 (REFERENCE.md).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    from .graph import Graph

__all__ = ["ReceptiveField", "receptive_fields", "receptive_path", "stop_reason"]

Num = Any  # int, or fractions.Fraction after a transposed window


class ReceptiveField(NamedTuple):
    """Exact (possibly fractional) size, jump and start per spatial axis; ``via``: the input the
    maximum came through at a merge (None for one input); ``axes``: where each input spatial
    axis is in the layer's output shape (batch excluded), None for the input's own layout
    (channels first: spatial axis i at position i + 1)."""

    size_x: tuple[Num, ...]
    jump_x: tuple[Num, ...]
    start_x: tuple[Num, ...]
    via: str | None = None
    axes: tuple[int, ...] | None = None

    @property
    def size(self) -> tuple[int, ...]:
        """Widest field of any output position, in input pixels (integers)."""
        return tuple(_width(s, j, z) for s, j, z in zip(self.start_x, self.jump_x, self.size_x))

    @property
    def jump(self) -> tuple[int | float, ...]:
        return tuple(_plain(j) for j in self.jump_x)

    @property
    def start(self) -> tuple[int, ...]:
        """First input pixel of output 0's field (⌈exact start⌉)."""
        return tuple(-((-s.numerator) // s.denominator) if _frac(s) else s for s in self.start_x)

    def bounds(self, o: int, axis: int = 0) -> tuple[int, int]:
        """Input pixels ``(first, last)`` that output position ``o`` may depend on (on ``axis``)."""
        lo = self.start_x[axis] + o * self.jump_x[axis]
        hi = lo + self.size_x[axis] - 1
        return math.ceil(lo), math.floor(hi)

    def to_dict(self) -> dict[str, Any]:
        if not _INT_ONLY.issuperset(map(type, self.size_x + self.jump_x + self.start_x)):
            size, jump, start = self.size, self.jump, self.start  # integer views of fractions
        else:  # all integers (no transposed window on the path): as stored
            size, jump, start = self.size_x, self.jump_x, self.start_x
        d: dict[str, Any] = {"size": list(size), "jump": list(jump), "start": list(start)}
        if self.via is not None:
            d["via"] = self.via
        return d


_INT_ONLY = frozenset({int})


def _frac(x: Num) -> bool:
    return not isinstance(x, int)


def _plain(x: Num) -> int | float:
    if isinstance(x, int):
        return x
    return int(x) if x.denominator == 1 else float(x)


def _norm(x: Num) -> Num:
    return int(x) if _frac(x) and x.denominator == 1 else x


def _width(start: Num, jump: Num, size: Num) -> int:
    if not (_frac(start) or _frac(jump) or _frac(size)):
        return size
    # The fractional parts of start + o·jump repeat with period = jump's denominator.
    period = jump.denominator if _frac(jump) else 1
    best = 0
    for o in range(min(period, 4096)):
        lo = start + o * jump
        best = max(best, math.floor(lo + size - 1) - math.ceil(lo) + 1)
    return best


def receptive_fields(graph: Graph) -> dict[str, ReceptiveField | None]:
    """Receptive field of every graph input and node, in graph order: O(layers) arithmetic.

    What a layer does to a field depends only on the layer (repeated identical layers share one
    object), so it is classified once per object; the per-node work is then one dict lookup and
    the arithmetic of windows and merges."""
    out: dict[str, ReceptiveField | None] = {}
    for name, shape in graph.inputs.items():
        r = len(shape) - 1
        out[name] = ReceptiveField((1,) * r, (1,) * r, (0,) * r) if r >= 1 else None
    windows: dict[int, Any] = {}  # for _through: one window per layer object
    modes: dict[int, tuple[int, Any]] = {}
    get = out.get
    mode_of = modes.get
    for node in graph.nodes:
        layer = node.layer
        mode = mode_of(id(layer))
        if mode is None:
            mode = modes[id(layer)] = _mode(layer)
        kind, win = mode
        if kind == _PASS:  # BN, activations, dropout: the field passes through, in any layout
            out[node.name] = get(node.inputs[0])
        elif kind == _WINDOW:
            src = get(node.inputs[0])
            if src is None or len(src.size_x) != len(win.kernel):
                out[node.name] = None
            elif src.axes is None:
                out[node.name] = _apply(src, win)
            else:
                out[node.name] = _apply_moved(src, win)
        elif kind == _IDENTITY:  # kernel 1, stride 1, no padding: the same field (not its via)
            src = get(node.inputs[0])
            if src is None or len(src.size_x) != len(win.kernel):
                out[node.name] = None
            elif src.axes is not None and 0 in src.axes:  # channels not first: wrong axes
                out[node.name] = None
            else:
                out[node.name] = src if src.via is None else src._replace(via=None)
        elif kind == _MERGE:  # equal-size inputs (residual add, concat): the union
            srcs = [get(name) for name in node.inputs]
            first = srcs[0]
            if first is None or any(rf is None for rf in srcs):
                out[node.name] = None
            elif all(rf is first for rf in srcs):  # one layout; a moved one: element-wise only
                out[node.name] = first if win or first.axes is None else None
            else:
                for rf in srcs:
                    if rf.axes is not None:
                        out[node.name] = _merge_moved(node.inputs, srcs, win)
                        break
                else:
                    out[node.name] = _union([(n, rf, False) for n, rf in zip(node.inputs, srcs)])
        elif kind == _NONE:
            out[node.name] = None
        elif kind == _PERMUTE:
            out[node.name] = _permute(get(node.inputs[0]), win)
        elif kind == _MIX:  # mixes positions along some axes (a linear: its last)
            src = get(node.inputs[0])
            if src is None or len(src.size_x) != win[1]:
                out[node.name] = None
            elif src.axes is None:
                out[node.name] = src if win[2] else None
            else:
                out[node.name] = None if win[0].intersection(src.axes) else src
        elif kind == _LAID_OUT:  # point-wise only with the channels first (slice, shuffle, …)
            src = get(node.inputs[0])
            out[node.name] = src if src is None or _channels_first(src) else None
        else:
            out[node.name] = _through(node, out, graph, windows)
    return out


_PASS, _WINDOW, _MERGE, _NONE, _OTHER, _IDENTITY, _PERMUTE, _MIX, _LAID_OUT = range(9)

#: Layer categories whose every output element depends on the same position of the input only
#: (parameters per channel aside): they pass a field in any layout. Normalisations compute
#: statistics over axes, which receptive fields do not count (module docstring).
_POSITION_WISE = frozenset({"activation", "regularization", "norm"})


def _mode(layer: Any) -> tuple[int, Any]:
    """How a layer maps fields (the cases of :func:`_through`, decided once per layer object)."""
    if len(layer.out_shape) < 2:
        return _NONE, None  # no spatial axes
    win = layer.geometry()
    if win is not None:
        return (_IDENTITY if _is_identity(win) else _WINDOW), win
    sp = layer.out_shape[1:]
    if layer.CATEGORY == "attention":
        return _NONE, None  # no sliding-window field
    ins = layer.in_shapes
    order = layer.rf_axis_order()
    if order is not None:
        inverse = [0] * len(order)
        for i, d in enumerate(order):
            inverse[d] = i
        return _PERMUTE, (tuple(inverse), tuple(range(1, len(order))))
    mixed = layer.rf_mixed_axes() if len(ins) == 1 else None
    if mixed is not None:
        axes = frozenset(mixed)
        rank = len(ins[0])
        # the input's own layout: spatial axes at 1 … rank − 1
        return _MIX, (axes, rank - 1, axes.isdisjoint(range(1, rank)))
    if len(ins) == 1 and ins[0][1:] == sp:
        if ins[0] == layer.out_shape and (
            layer.CATEGORY in _POSITION_WISE or layer.VIEW == "alias"
        ):
            return _PASS, None
        return _LAID_OUT, None
    if ins and all(sh[1:] == sp for sh in ins):
        # element-wise (add, multiply) when every input has the output's shape, else a concat
        return _MERGE, all(sh == layer.out_shape for sh in ins)
    return _OTHER, None


def _channels_first(rf: ReceptiveField) -> bool:
    """The channels are axis 0 (the spatial axes may be in another order)."""
    return rf.axes is None or 0 not in rf.axes


def _permute(src: ReceptiveField | None, mode: tuple[tuple[int, ...], tuple[int, ...]]) -> Any:
    """A permute moves the spatial axes: input position p goes to output position inverse[p]."""
    inverse, own = mode
    if src is None or len(src.size_x) != len(own):
        return None
    axes = tuple(inverse[p] for p in (own if src.axes is None else src.axes))
    return src._replace(axes=None if axes == own else axes)


def _apply_moved(src: ReceptiveField, win: Any) -> ReceptiveField | None:
    """A window on a map whose spatial axes were permuted among themselves (channels still
    first): spatial axis i is at position axes[i], windowed by the window's axis axes[i] − 1."""
    if not _channels_first(src):
        return None  # a conv or pooling on a channels-last map windows the wrong axes
    at = [p - 1 for p in src.axes]
    moved = win._replace(
        kernel=tuple(win.kernel[a] for a in at),
        stride=tuple(win.stride[a] for a in at),
        dilation=tuple(win.dilation[a] for a in at),
        pad_lo=tuple(win.pad_lo[a] for a in at),
    )
    return _apply(src, moved)._replace(axes=src.axes)


def _merge_moved(
    names: list[str], srcs: list[ReceptiveField], elementwise: bool
) -> ReceptiveField | None:
    """A merge of maps in a moved layout: only element-wise (every input has the output's shape,
    so a concat along a spatial axis is excluded) and only of equally laid out inputs."""
    axes = srcs[0].axes
    if not elementwise or any(rf.axes != axes for rf in srcs):
        return None
    if all(rf is srcs[0] for rf in srcs):
        return srcs[0]
    return _union([(n, rf, False) for n, rf in zip(names, srcs)])._replace(axes=axes)


def stop_reason(type_name: str) -> str:
    """Why the receptive-field pass ends at a layer of this type that still has spatial axes
    (for reports: the field shown is then the last one known, not the network's)."""
    from .layers import get_layer_class
    from .layers.base import Layer

    cls = get_layer_class(type_name)
    if cls is None:
        return "it changes the layout"
    if cls.CATEGORY == "attention":
        return (
            "attention mixes positions across a window or the whole input: no sliding-window field"
        )
    if cls.rf_mixed_axes is not Layer.rf_mixed_axes:  # a type that mixes along an axis
        return "it mixes every position along a spatial axis"
    if cls.CATEGORY == "reshape":
        return "it merges or regroups the spatial axes"
    return "it changes the layout"


def _is_identity(win: Any) -> bool:
    """Kernel 1, stride 1, no padding: :func:`_apply` would return the same numbers."""
    got = _IDENTITIES.get(win)
    if got is None:
        got = (
            not win.transposed
            and all(k == 1 for k in win.kernel)
            and all(s == 1 for s in win.stride)
            and not any(win.pad_lo)
        )
        if len(_IDENTITIES) < 4096:
            _IDENTITIES[win] = got
    return got


_IDENTITIES: dict[Any, bool] = {}


def _through(
    node: Any, known: dict[str, ReceptiveField | None], graph: Graph, windows: dict[int, Any]
) -> Any:
    layer = node.layer
    out_sp = node.out_shape[1:]
    if not out_sp:
        return None
    for name in node.inputs:  # the shape rules below read a channels-first layout
        rf = known.get(name)
        if rf is not None and rf.axes is not None:
            return None
    key = id(layer)
    if key in windows:
        win = windows[key]
    else:
        win = windows[key] = layer.geometry()
    if win is not None:
        src = known.get(node.inputs[0])
        if src is None or len(src.size_x) != len(win.kernel):
            return None
        return _apply(src, win)
    # Point-wise on the spatial axes: every input keeps its field, merges take the union.
    ins = node.inputs
    if not ins:  # a free tensor (parameter, buffer) sees no input pixel
        return None
    if len(ins) == 1 and layer.in_shapes[0][1:] == out_sp:
        return known.get(ins[0])  # fast path: BN, activations, dropout, 1-input identity
    if all(sh[1:] == out_sp for sh in layer.in_shapes):
        # a merge of equal-size inputs (residual add, concat): no broadcast input
        srcs = [known.get(name) for name in ins]
        if any(rf is None for rf in srcs):
            return None
        if all(rf is srcs[0] for rf in srcs):
            return srcs[0]
        return _union([(name, rf, False) for name, rf in zip(ins, srcs)])
    fields = []
    for name in node.inputs:
        sp = graph.shape_of(name)[1:]
        rf = known.get(name)
        if rf is None or len(sp) != len(out_sp):
            return None
        if any(a != b for a, b in zip(sp, out_sp)) and not all(a == 1 for a in sp):
            return None  # the spatial layout changed (reshape, linear on a spatial axis, …)
        fields.append((name, rf, all(a == 1 for a in sp) and any(b > 1 for b in out_sp)))
    if len(fields) == 1:
        return fields[0][1]
    return _union(fields)


def _apply(rf: ReceptiveField, w: Any) -> ReceptiveField:
    if len(w.kernel) == 2 and not w.transposed:  # the common case (2-D), written out
        (z0, z1), (j0, j1), (s0, s1) = rf.size_x, rf.jump_x, rf.start_x
        (k0, k1), (d0, d1), (p0, p1), (t0, t1) = w.kernel, w.dilation, w.pad_lo, w.stride
        return ReceptiveField(
            (z0 + d0 * (k0 - 1) * j0, z1 + d1 * (k1 - 1) * j1),
            (j0 * t0, j1 * t1),
            (s0 - p0 * j0, s1 - p1 * j1),
        )
    sizes, jumps, starts = [], [], []
    for size, jump, start, k, s, d, p in zip(
        rf.size_x, rf.jump_x, rf.start_x, w.kernel, w.stride, w.dilation, w.pad_lo
    ):
        span = d * (k - 1)
        if not w.transposed:
            sizes.append(size + span * jump)
            starts.append(start - p * jump)
            jumps.append(jump * s)
            continue
        from fractions import Fraction

        step = Fraction(jump) / s
        sizes.append(_norm(size + span * step))
        starts.append(_norm(start + (p - span) * step))
        jumps.append(_norm(step))
    return ReceptiveField(tuple(sizes), tuple(jumps), tuple(starts))


def _union(fields: list[tuple[str, ReceptiveField, bool]]) -> ReceptiveField:
    """Union of the inputs' fields. Inputs of equal jump: exact hull. A broadcast input (spatial
    size 1) covers the same pixels for every output. Unequal jumps: the largest field's path."""
    if len(fields) == 2 and not fields[0][2] and not fields[1][2]:
        (na, a, _), (nb, b, _) = fields
        if a.jump_x == b.jump_x:  # the common case (a residual add): the exact hull, per axis
            starts = tuple(map(min, a.start_x, b.start_x))
            ends = tuple(
                max(sa + za, sb + zb)
                for sa, za, sb, zb in zip(a.start_x, a.size_x, b.start_x, b.size_x)
            )
            via = na if sum(a.size_x) >= sum(b.size_x) else nb
            sizes = tuple(e - st for e, st in zip(ends, starts))
            return ReceptiveField(sizes, a.jump_x, starts, via=via)
    main = [f for f in fields if not f[2]] or fields
    r = len(fields[0][1].size_x)
    via = max(fields, key=lambda f: sum(f[1].size_x))[0]
    sizes, jumps, starts = [], [], []
    for a in range(r):
        jump = main[0][1].jump_x[a]
        if any(f[1].jump_x[a] != jump for f in main):
            name, rf, _ = max(main, key=lambda f: f[1].size_x[a])
            sizes.append(rf.size_x[a])
            jumps.append(rf.jump_x[a])
            starts.append(rf.start_x[a])
            continue
        start = min(f[1].start_x[a] for f in fields)
        end = max(f[1].start_x[a] + f[1].size_x[a] for f in fields)
        sizes.append(end - start)
        jumps.append(jump)
        starts.append(start)
    return ReceptiveField(tuple(sizes), tuple(jumps), tuple(starts), via=via)


def receptive_path(graph: Graph, name: str) -> list[str]:
    """The chain of layers, input first, along which ``name``'s receptive field is the largest."""
    rfs = receptive_fields(graph)
    path = [name]
    while name in graph.by_name:
        node = graph.by_name[name]
        if not node.inputs:
            break
        rf = rfs.get(name)
        name = rf.via if rf is not None and rf.via else node.inputs[0]
        path.append(name)
    return path[::-1]
