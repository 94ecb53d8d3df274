"""Layered (Sugiyama) layout of a diagram, top to bottom, with grandalf.

grandalf (pure Python, optional extra ``cnncalc[draw]``) ranks the nodes, inserts dummy
vertices on long edges, orders each rank to reduce crossings and assigns x by Brandes–Köpf.
Its final x is the average of four alignments, which can bring two neighbours of a rank
closer than their half-widths; :func:`layout` then sweeps each rank once left to right and
pushes nodes apart, so boxes never overlap (a test checks every zoo model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import CnncalcError

__all__ = ["Box", "Placed", "layout", "require_grandalf"]

#: horizontal gap between neighbours of a rank; vertical gap between ranks (edges, arrows)
XGAP = 24.0
YGAP = 28.0
#: width of the column a long edge's dummy vertex takes
DUMMY_W = 10.0


@dataclass
class Box:
    """What the layout needs of a node: its size."""

    id: str
    w: float
    h: float


@dataclass
class Placed:
    """The layout: node centres, edge polylines (through the dummy vertices), the canvas size."""

    xy: dict[str, tuple[float, float]]
    paths: dict[tuple[str, str], list[tuple[float, float]]]
    width: float
    height: float
    rank: dict[str, int]


def require_grandalf() -> None:
    try:
        import grandalf  # noqa: F401
    except ImportError:
        raise CnncalcError(
            "drawing needs the grandalf layout library, which is not installed",
            hint='pip install "cnncalc[draw]"',
        ) from None


class _View:
    __slots__ = ("w", "h", "xy")

    def __init__(self, w: float, h: float) -> None:
        self.w, self.h, self.xy = w, h, (0.0, 0.0)


def layout(boxes: Sequence[Box], edges: Sequence[tuple[str, str]], sweeps: int = 2) -> Placed:
    """Place ``boxes`` in ranks top to bottom so that every edge points down."""
    require_grandalf()
    from grandalf.graphs import Edge, Vertex, graph_core
    from grandalf.layouts import DummyVertex, SugiyamaLayout

    verts = {}
    for b in boxes:
        v = Vertex(b.id)
        v.view = _View(b.w, b.h)
        verts[b.id] = v
    # Connected components by union-find, each handed to grandalf's graph_core directly:
    # grandalf's Graph() finds them with list searches, quadratic in the layers (0.3 s of 0.5
    # for 800 layers).
    parent = {i: i for i in verts}

    def root(i: str) -> str:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for s, d in edges:
        parent[root(s)] = root(d)
    comps: dict[str, tuple[list, list]] = {}
    for i, v in verts.items():
        comps.setdefault(root(i), ([], []))[0].append(v)
    for s, d in edges:
        comps[root(s)][1].append(Edge(verts[s], verts[d]))
    xy: dict[str, tuple[float, float]] = {}
    paths: dict[tuple[str, str], list[tuple[float, float]]] = {}
    rank: dict[str, int] = {}
    x_off = 0.0
    height = 0.0
    for vs, es in comps.values():
        comp = graph_core(vs, es)
        sug = SugiyamaLayout(comp)
        sug.xspace, sug.yspace = XGAP, YGAP
        sug.dw, sug.dh = DUMMY_W, 1.0
        sug.init_all()
        for _ in range(sweeps):
            for _step in sug.ordering_step():
                pass
        sug.setxy()
        # Separation sweep (see module doc), then rank y from the tallest box of each rank.
        left = float("inf")
        right = float("-inf")
        y = 0.0
        bands = []
        for layer in sug.layers:
            prev = None
            for v in sorted(layer, key=lambda v: v.view.xy[0]):
                x = v.view.xy[0]
                if prev is not None:
                    x = max(x, prev.view.xy[0] + (prev.view.w + v.view.w) / 2 + XGAP)
                v.view.xy = (x, v.view.xy[1])
                prev = v
                left = min(left, x - v.view.w / 2)
                right = max(right, x + v.view.w / 2)
            dy = max(v.view.h for v in layer)
            for v in layer:
                v.view.xy = (v.view.xy[0], y + v.view.h / 2)
            bands.append((y, y + dy))
            y += dy + YGAP
        shift = x_off - left
        for r, layer in enumerate(sug.layers):
            for v in layer:
                x, yy = v.view.xy
                v.view.xy = (x + shift, yy)
                if not isinstance(v, DummyVertex):
                    xy[v.data] = v.view.xy
                    rank[v.data] = r
        for e in comp.sE:
            a, b = e.v
            pts = [a.view.xy]
            ctrl = sug.ctrls.get(e)
            if ctrl:
                r0, r1 = sug.grx[a].rank, sug.grx[b].rank
                step = 1 if r0 < r1 else -1
                for r in range(r0 + step, r1, step):
                    x = ctrl[r].view.xy[0]
                    top, bottom = bands[r]
                    pts += [(x, top), (x, bottom)] if step > 0 else [(x, bottom), (x, top)]
            pts.append(b.view.xy)
            paths[(a.data, b.data)] = pts
        x_off += right - left + XGAP * 2
        height = max(height, y - YGAP)
    return Placed(xy, paths, max(x_off - XGAP * 2, 0.0), height, rank)
