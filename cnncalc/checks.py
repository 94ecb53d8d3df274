"""Warnings: legal but probably unintended geometry, found by integer arithmetic on each layer's
window (:meth:`Layer.window`) and on the parameter counts. O(layers); used by ``summary``
(text and the JSON ``warnings`` list) and ``explain``.

Codes (one per kind, stable for scripts):

* ``uncovered``: ``(W + P_lo + P_hi − F_eff) mod S`` positions at the end of the padded input
  fall in no window, and some of them are real input (not only padding): those rows/columns are
  never seen. (When only padding is left over, e.g. every 3×3 stride-2 conv with padding 1 on an
  even size, nothing is lost; ``explain`` shows it as a note, not a warning.)
* ``stride_gt_kernel``: S > D·(F − 1) + 1: S − F_eff of every S input pixels are skipped on that
  axis, ∏S − ∏F_eff of every ∏S positions over the axes (3 of every 4 for a 1×1 stride-2 conv in
  2-D); a transposed conv leaves output positions that no input reaches. Not raised when the
  layer's input also feeds another layer (a ResNet or Xception 1×1 stride-2 projection
  shortcut: the parallel main path reads every pixel, skipping here is the design).
* ``padding_ge_kernel``: P ≥ F_eff on a side: border outputs see only padding.
* ``ceil_window_in_padding``: in ceil mode the rounding up adds a window that would start in the
  right padding; PyTorch drops it (Caffe keeps it: the frameworks disagree by one).
* ``param_share``: one layer holds ≥ 90 % of all parameters (a flatten into a linear layer with no
  pooling before it). VGG-16's fc6 (74 %), LeNet-5's f5 (78 %) and most small classifiers stay
  below: a large first fully connected layer is their design, not a mistake.
* ``linear_last_axis``: a ``linear`` layer reads a conv or pooling output ([C, H, W]) with no
  flatten in between: it acts on the last axis only, once per position of the others.
* ``params_depend_on_input``: ``--input`` changed the parameter count from the model at its own
  input (a flatten before a linear layer: AlexNet's fc6 in_features 9,216 → 12,544 at 259×259).

A spec lists the warnings its design intends as ``expected_warnings: [code, …]``; they are not
shown (a note counts them; ``--warn all`` shows them). ``--warn none`` hides every warning,
``--warn CODE,…`` shows only those codes. A kernel larger than the padded input is an error, not
a warning (raised when the layer is built).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from . import windows

if TYPE_CHECKING:  # pragma: no cover
    from .graph import Graph

__all__ = [
    "Warning_",
    "check_graph",
    "PARAM_SHARE",
    "WARNING_CODES",
    "parse_warn",
    "select_warnings",
    "shows",
]

#: a layer holding at least this share of all parameters gets a ``param_share`` warning
PARAM_SHARE = 0.9

#: every warning code, with what it means (``--warn`` and ``expected_warnings`` take these)
WARNING_CODES = {
    "uncovered": "input rows/columns no window covers: (W + 2P − F_eff) mod S",
    "stride_gt_kernel": "stride larger than the (dilated) kernel: input pixels skipped",
    "padding_ge_kernel": "padding at least the kernel: border outputs see only padding",
    "ceil_window_in_padding": "ceil mode adds a window starting in the padding (PyTorch drops it)",
    "param_share": f"one layer holds ≥ {PARAM_SHARE:.0%} of all parameters",
    "linear_last_axis": "linear on a conv/pool output without flatten: acts on the last axis",
    "params_depend_on_input": "--input changed the parameter count from the model's own input",
    "expected_mismatch": "a figure differs from the spec's expected (published) one",
}


class Warning_(NamedTuple):
    """One warning: a stable ``code``, the layer it is about, and a message with the numbers."""

    code: str
    layer: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "layer": self.layer, "message": self.message}


_AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def _readers(graph: Graph) -> dict[str, int]:
    """How many layers read each tensor."""
    out: dict[str, int] = {}
    for n in graph.nodes:
        for i in n.inputs:
            out[i] = out.get(i, 0) + 1
    return out


def _branches(readers: dict[str, int], node: Any) -> bool:
    """Is the layer one branch of several reading the same input (a projection shortcut)?"""
    return any(readers.get(i, 0) > 1 for i in node.inputs)


def _axis(rank: int, i: int) -> str:
    return _AXES.get(rank, tuple(f"axis {j + 1}" for j in range(rank)))[i]


def window_warnings(name: str, layer: Any) -> list[Warning_]:
    """Warnings about one layer's sliding window (none for layers without one)."""
    win = layer.geometry()
    if win is None or win.pad_hi is None or not layer.in_shapes:
        return []
    spatial = layer.in_shapes[0][1:]
    rank = len(win.kernel)
    if len(spatial) != rank:
        return []
    found: list[tuple[str, str, str]] = []  # (code, axis, body)
    skipped: list[tuple[str, int, int, str]] = []  # (axis, stride, effective kernel, kernel text)
    for i, (w, k, s, d, lo, hi) in enumerate(
        zip(spatial, win.kernel, win.stride, win.dilation, win.pad_lo, win.pad_hi)
    ):
        ax = _axis(rank, i)
        eff = windows.effective_kernel(k, d)
        kdesc = f"kernel {k}" + (f" (dilated to {eff})" if d > 1 else "")
        if win.transposed:
            if s > eff:
                found.append(
                    (
                        "stride_gt_kernel",
                        ax,
                        f"stride {s} > {kdesc}: {s - eff} of every {s} output "
                        "positions get no input (only the bias)",
                    )
                )
            continue
        if s > eff:
            skipped.append((ax, s, eff, kdesc))
        if max(lo, hi) >= eff:
            found.append(
                (
                    "padding_ge_kernel",
                    ax,
                    f"padding {max(lo, hi)} ≥ {kdesc}: border outputs see only padding",
                )
            )
        span = w + lo + hi - eff
        if win.ceil_mode:
            up = -(-span // s) + 1
            if (up - 1) * s >= w + lo:
                found.append(
                    (
                        "ceil_window_in_padding",
                        ax,
                        f"ceil mode gives ⌈({w} + {lo} + {hi} − {eff}) / {s}⌉ + 1 = {up}"
                        f" windows but the last starts at ({up} − 1)·{s} = {(up - 1) * s} ≥ "
                        f"{w} + {lo}, in the padding: PyTorch drops it (output {up - 1}), "
                        f"Caffe keeps it ({up})",
                    )
                )
            continue
        u = windows.uncovered(w, k, s, lo, hi, d)
        lost = u - hi
        if lost > 0 and s <= eff:  # with s > F_eff the stride warning already says it
            found.append(
                (
                    "uncovered",
                    ax,
                    f"({w} + {lo} + {hi} − {eff}) mod {s} = {u}: the last {lost} "
                    f"input position{'s are' if lost > 1 else ' is'} never covered by a window",
                )
            )
    out: list[Warning_] = []
    if skipped:
        total = read = 1
        for _, st, eff, _ in skipped:
            total, read = total * st, read * eff
        axes = [a for a, *_ in skipped]
        if len({(st, kd) for _, st, _, kd in skipped}) == 1:
            _, st, _, kdesc = skipped[0]
            what = f"stride {st} > {kdesc}"
        else:
            what = "; ".join(f"{a}: stride {st} > {kd}" for a, st, _, kd in skipped)
        where = f"axis {axes[0]}" if len(axes) == 1 else "axes " + ", ".join(axes)
        out.append(
            Warning_(
                "stride_gt_kernel",
                name,
                f"{where}: {what}: {total - read} of every {total} input positions are skipped",
            )
        )
    done: set[int] = set()
    for i, (code, _, body) in enumerate(found):
        if i in done:
            continue
        axes = [a for j, (c, a, b) in enumerate(found) if c == code and b == body]
        done.update(j for j, (c, _, b) in enumerate(found) if c == code and b == body)
        where = f"axis {axes[0]}" if len(axes) == 1 else "axes " + ", ".join(axes)
        out.append(Warning_(code, name, f"{where}: {body}"))
    return out


def _linear_last_axis(graph: Graph, node: Any) -> Warning_ | None:
    """A linear layer whose input comes (through shape-keeping layers: activations, norms,
    dropout) from a conv or pooling layer, with no flatten: it acts on the last axis only."""
    x = node.layer.in_shapes[0]
    if len(x) < 2:
        return None
    src = node.inputs[0]
    for _ in range(64):
        prev = graph.by_name.get(src)
        if prev is None:
            return None
        if prev.layer.geometry() is not None:
            break
        if len(prev.inputs) != 1 or prev.layer.in_shapes[0] != prev.out_shape:
            return None
        src = prev.inputs[0]
    else:
        return None
    shape = "[" + ", ".join(map(str, x)) + "]"
    lead = "×".join(map(str, x[:-1]))
    return Warning_(
        "linear_last_axis",
        node.name,
        f"linear on the {shape} output of '{src}' acts on the last axis only ({x[-1]} features, "
        f"once for each of the {lead} other positions); add a flatten or global pooling before it "
        "if a classifier is meant",
    )


def parse_warn(text: str | None) -> frozenset[str] | None:
    """``--warn`` → the codes to show: None for the default (all but the spec's expected ones),
    ``{"all"}`` for every one, an empty set for none, else the codes given."""
    from .errors import CnncalcError, did_you_mean

    if text is None:
        return None
    words = [w.strip() for w in str(text).split(",") if w.strip()]
    if words == ["none"]:
        return frozenset()
    if words == ["all"]:
        return frozenset({"all"})
    for w in words:
        if w not in WARNING_CODES:
            raise CnncalcError(
                f"--warn: unknown warning code '{w}'",
                hint=did_you_mean(w, WARNING_CODES, "codes")
                + f" (none, all, or codes among: {', '.join(WARNING_CODES)})",
            )
    return frozenset(words)


def select_warnings(
    warnings: list[Warning_], warn: frozenset[str] | None, expected: Any
) -> tuple[list[Warning_], list[Warning_]]:
    """(shown, hidden by the spec's ``expected_warnings``) for a ``--warn`` selection."""
    if warn is not None and "all" in warn:
        return list(warnings), []
    if warn is not None:
        return [w for w in warnings if w.code in warn], []
    exp = set(expected or ())
    return [w for w in warnings if w.code not in exp], [w for w in warnings if w.code in exp]


def shows(code: str, warn: frozenset[str] | None, expected: Any) -> bool:
    """Whether a warning of ``code`` is shown under a ``--warn`` selection."""
    if warn is None:
        return code not in set(expected or ())
    return "all" in warn or code in warn


def check_graph(graph: Graph, params: dict[str, int] | None = None) -> list[Warning_]:
    """All warnings of a built graph, in layer order, then the parameter-share warning.

    ``params`` (layer name → counted parameters, shared weights counted once) may be given by the
    analyzer; otherwise they are taken from the layers' weight shapes.
    """
    out: list[Warning_] = []
    seen: dict[int, list[Warning_]] = {}
    # the window warnings depend only on the window and the input's spatial size: layers that
    # differ elsewhere (channels) but share both are checked once
    by_window: dict[tuple[Any, ...], list[Warning_]] = {}
    counts: dict[str, int] = {}
    readers: dict[str, int] | None = None
    for node in graph.nodes:
        layer = node.layer
        cached = seen.get(id(layer))
        if cached is None:
            win = layer.geometry()
            if win is None or not layer.in_shapes:
                cached = []
            else:
                key = (win, layer.in_shapes[0][1:])
                cached = by_window.get(key)
                if cached is None:
                    cached = by_window[key] = window_warnings("", layer)
            seen[id(layer)] = cached
        if cached and any(w.code == "stride_gt_kernel" for w in cached):
            if readers is None:
                readers = _readers(graph)
            if _branches(readers, node):
                cached = [w for w in cached if w.code != "stride_gt_kernel"]
        out.extend(Warning_(w.code, node.name, w.message) for w in cached)
        if node.layer.type_name in ("linear", "dense"):
            w = _linear_last_axis(graph, node)
            if w is not None:
                out.append(w)
        if params is None:
            counts[node.name] = (
                0
                if node.share is not None
                else sum(w.size for w in layer.weights() if w.kind == "param")
            )
    out.extend(graph.warnings)
    counts = params if params is not None else counts
    total = sum(counts.values())
    if total and sum(1 for v in counts.values() if v) > 1:
        name, top = max(counts.items(), key=lambda kv: kv[1])
        if top >= PARAM_SHARE * total:
            out.append(
                Warning_(
                    "param_share",
                    name,
                    f"{top:,} of the {total:,} parameters ({100 * top / total:.1f} %) are in this "
                    "one layer",
                )
            )
    return out
