"""Graph + report → the diagram's nodes and edges (plain data, no geometry).

A node is a layer, or with ``depth`` a block collapsed into one node (the same grouping as
``summary --depth``: layer names cut after ``depth`` dotted parts). Each node carries the text
it shows: its name, its type with the key arguments (``conv2d 3×3 /2 p3, 64``), its parameters
and MACs, and its output shape (drawn on its outgoing edges).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..graph import Graph, Node
    from ..report import Report

__all__ = ["DNode", "DEdge", "Diagram", "diagram_of", "key_args", "fmt_dims", "CATEGORY_COLORS"]

#: Fill colour per layer category (ColorBrewer-like pastels; the legend lists those used).
CATEGORY_COLORS = {
    "input": "#e0e0e0",
    "conv": "#9ecae1",
    "linear": "#c6a0d6",
    "attention": "#f4a582",
    "embedding": "#fdd0a2",
    "norm": "#c7e9c0",
    "activation": "#fff2ae",
    "pool": "#fdae6b",
    "merge": "#ffffff",
    "resize": "#a1d99b",
    "reshape": "#d9d9d9",
    "regularization": "#f0f0f0",
    "other": "#eeeeee",
    "block": "#e6d5b8",
}


@dataclass
class DNode:
    """One box of the diagram."""

    id: str
    name: str
    kind: str  # layer type, or the block's description ("bottleneck ×3")
    category: str  # a key of CATEGORY_COLORS
    args: str  # key arguments, "" when none
    params: int
    macs: int
    out_shape: tuple[int, ...]
    layers: int = 1  # layers collapsed into this node
    train_only: bool = False
    merge: bool = False
    output: bool = False
    line: int | None = None
    in_shape: tuple[int, ...] | None = None  # first input's shape (volumes style)


@dataclass
class DEdge:
    src: str
    dst: str
    shape: tuple[int, ...]
    train_only: bool = False


@dataclass
class Diagram:
    name: str
    nodes: list[DNode]
    edges: list[DEdge]
    depth: int | None = None
    notes: list[str] = field(default_factory=list)

    def categories(self) -> list[str]:
        seen: dict[str, None] = {}
        for n in self.nodes:
            seen.setdefault(n.category, None)
        order = list(CATEGORY_COLORS)
        return sorted(seen, key=lambda c: order.index(c) if c in order else len(order))


def fmt_dims(shape: tuple[int, ...]) -> str:
    """``(64, 56, 56)`` → ``64×56×56``."""
    return "×".join(str(d) for d in shape) if shape else "scalar"


def _axes(t: Any) -> str:
    t = tuple(t)
    return str(t[0]) if len(set(t)) == 1 else "×".join(map(str, t))


def key_args(layer: Any) -> str:
    """The arguments a reader wants at a glance, from the built layer's geometry.

    Conv: ``3×3 /2 p1, 64`` (kernel, stride if not 1, padding if not 0, dilation ``d2``, groups
    ``g32``/``dw``, output channels); transposed conv: ``2×2 up2, 512``; pooling: ``3×3 /2``
    (``ceil``); linear: ``→ 1000``; adaptive pooling: ``→ 7×7``.
    """
    a = layer.args
    win = None
    if layer.CATEGORY in ("conv", "pool") and "kernel_size" in a:
        win = layer.geometry()
    parts: list[str] = []
    if win is not None:
        parts.append("×".join(map(str, win.kernel)))
        if any(s != 1 for s in win.stride):
            parts.append(("up" if win.transposed else "/") + _axes(win.stride))
        pads = set(win.pad_lo) | set(win.pad_hi or win.pad_lo)
        if pads != {0}:
            lo_hi = set(zip(win.pad_lo, win.pad_hi or win.pad_lo))
            if len(lo_hi) == 1 and len(pads) == 1:
                parts.append(f"p{pads.pop()}")
            else:
                parts.append("p" + ",".join(f"{lo}/{hi}" for lo, hi in zip(win.pad_lo, win.pad_hi)))
        if any(d != 1 for d in win.dilation):
            parts.append("d" + _axes(win.dilation))
        if win.ceil_mode:
            parts.append("ceil")
        text = " ".join(parts)
        if "out_channels" in a:
            g = a.get("groups", 1)
            if g > 1:
                cin = layer.in_shapes[0][0]
                text += " dw" if g == cin else f" g{g}"
            text += f", {a['out_channels']}"
        return text
    if "out_features" in a:
        return f"→ {a['out_features']}"
    if "output_size" in a and layer.CATEGORY == "pool":
        return "→ " + "×".join(map(str, layer.out_shape[1:]))
    if "num_heads" in a:
        return f"{a['num_heads']} heads"
    if "scale_factor" in a and a.get("scale_factor"):
        return f"×{a['scale_factor']:g} {a.get('mode', '')}".strip()
    if "p" in a and layer.CATEGORY == "regularization":
        return f"p={a['p']:g}"
    return ""


def _node_of(n: Node, row: Any) -> DNode:
    lay = n.layer
    return DNode(
        id=n.name,
        name=n.name,
        kind=n.type,
        category=lay.CATEGORY,
        args=key_args(lay),
        params=row.params,
        macs=row.macs,
        out_shape=tuple(n.out_shape),
        train_only=n.train_only,
        merge=lay.CATEGORY == "merge",
        line=row.line,
        in_shape=tuple(lay.in_shapes[0]) if lay.in_shapes else None,
    )


def diagram_of(graph: Graph, report: Report, depth: int | None = None) -> Diagram:
    """The diagram of a built graph and its report; ``depth`` collapses deeper layers into blocks."""
    rows = {r.name: r for r in report.rows}
    nodes: dict[str, DNode] = {}
    owner: dict[str, str] = {}  # layer or input name → node id
    for name, shape in graph.inputs.items():
        nodes[name] = DNode(name, name, "input", "input", "", 0, 0, tuple(shape))
        owner[name] = name
    members: dict[str, list[Node]] = {}
    for n in graph.nodes:
        parts = n.name.split(".")
        key = n.name if depth is None or len(parts) <= depth else ".".join(parts[:depth])
        owner[n.name] = key
        members.setdefault(key, []).append(n)
    for key, ns in members.items():
        if len(ns) == 1 and ns[0].name == key:
            nodes[key] = _node_of(ns[0], rows[key])
            continue
        ran = [rows[m.name] for m in ns if not m.train_only]
        last = ns[-1]
        # a block with one conv/linear layer (conv-bn-relu) shows that layer's arguments
        main = [m for m in ns if m.layer.CATEGORY in ("conv", "linear")]
        args = key_args(main[0].layer) + " " if len(main) == 1 else ""
        nodes[key] = DNode(
            id=key,
            name=key,
            kind=graph.groups.get(key, "block"),
            category="block",
            args=f"{args}· {len(ns)} layers",
            params=sum(rows[m.name].params for m in ns),
            macs=sum(r.macs for r in ran),
            out_shape=tuple(last.out_shape),
            layers=len(ns),
            train_only=all(m.train_only for m in ns),
            line=rows[ns[0].name].line,
            in_shape=tuple(ns[0].layer.in_shapes[0]) if ns[0].layer.in_shapes else None,
        )
    edges: list[DEdge] = []
    seen: set[tuple[str, str]] = set()
    for n in graph.nodes:
        dst = owner[n.name]
        for i in n.inputs:
            src = owner[i]
            if src == dst or (src, dst) in seen:
                continue
            seen.add((src, dst))
            edges.append(DEdge(src, dst, tuple(graph.shape_of(i)), n.train_only))
    for o in graph.outputs:
        nodes[owner[o]].output = True
    return Diagram(graph.name, list(nodes.values()), edges, depth, list(report.notes))
