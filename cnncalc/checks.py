"""Warnings: legal but probably unintended geometry, found by integer arithmetic on each layer's
window (:meth:`Layer.window`) and on the parameter counts. O(layers); used by ``summary``
(text and the JSON ``warnings`` list) and ``explain``.

Codes (one per kind, stable for scripts):

* ``uncovered``: ``(W + P_lo + P_hi − F_eff) mod S`` positions at the end of the padded input
  fall in no window, and some of them are real input (not only padding): those rows/columns are
  never seen. (When only padding is left over, e.g. every 3×3 stride-2 conv with padding 1 on an
  even size, nothing is lost; ``explain`` shows it as a note, not a warning.)
* ``stride_gt_kernel``: S > D·(F − 1) + 1: S − F_eff of every S input pixels are skipped
  (a transposed conv leaves output positions that no input reaches).
* ``padding_ge_kernel``: P ≥ F_eff on a side: border outputs see only padding.
* ``ceil_window_in_padding``: in ceil mode the rounding up adds a window that would start in the
  right padding; PyTorch drops it (Caffe keeps it: the frameworks disagree by one).
* ``param_share``: one layer holds ≥ 50 % of all parameters (VGG-16's fc6: 74 %).

A kernel larger than the padded input is an error, not a warning (raised when the layer is built).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from . import windows

if TYPE_CHECKING:  # pragma: no cover
    from .graph import Graph

__all__ = ["Warning_", "check_graph", "PARAM_SHARE"]

#: a layer holding at least this share of all parameters gets a ``param_share`` warning
PARAM_SHARE = 0.5


class Warning_(NamedTuple):
    """One warning: a stable ``code``, the layer it is about, and a message with the numbers."""

    code: str
    layer: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "layer": self.layer, "message": self.message}


_AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


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
            found.append(
                (
                    "stride_gt_kernel",
                    ax,
                    f"stride {s} > {kdesc}: {s - eff} of every {s} input positions are skipped",
                )
            )
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
    done: set[int] = set()
    for i, (code, _, body) in enumerate(found):
        if i in done:
            continue
        axes = [a for j, (c, a, b) in enumerate(found) if c == code and b == body]
        done.update(j for j, (c, _, b) in enumerate(found) if c == code and b == body)
        where = f"axis {axes[0]}" if len(axes) == 1 else "axes " + ", ".join(axes)
        out.append(Warning_(code, name, f"{where}: {body}"))
    return out


def check_graph(graph: Graph, params: dict[str, int] | None = None) -> list[Warning_]:
    """All warnings of a built graph, in layer order, then the parameter-share warning.

    ``params`` (layer name → counted parameters, shared weights counted once) may be given by the
    analyzer; otherwise they are taken from the layers' weight shapes.
    """
    out: list[Warning_] = []
    seen: dict[int, list[Warning_]] = {}
    counts: dict[str, int] = {}
    for node in graph.nodes:
        layer = node.layer
        cached = seen.get(id(layer))
        if cached is None:
            cached = window_warnings("", layer)
            seen[id(layer)] = cached
        out.extend(Warning_(w.code, node.name, w.message) for w in cached)
        if params is None:
            counts[node.name] = (
                0
                if node.share is not None
                else sum(w.size for w in layer.weights() if w.kind == "param")
            )
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
