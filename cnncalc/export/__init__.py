"""Writers of other formats: PyTorch source (:mod:`.pytorch`) and ONNX (:mod:`.onnx`).

Each writer walks the built :class:`~cnncalc.graph.Graph` once. A layer type's form in a target
lives in ONE table per format (``PYTORCH`` in :mod:`.pytorch`, ``ONNX`` in :mod:`.onnx`: type name
→ writer function); types a format cannot express are listed with the reason in that module's
``REFUSED`` table, and a graph using them is refused naming every such layer at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..errors import CnncalcError
from ..graph import Graph

__all__ = ["refuse_unsupported", "FORMATS", "by_names", "for_class"]

#: ``--to`` choices → module name
FORMATS = ("pytorch", "onnx")

W = TypeVar("W", bound=Callable)


def by_names(*names: str, writer: W) -> dict[str, W]:
    """One writer for several type names (a layer class's aliases) in a format's table."""
    return dict.fromkeys(names, writer)


def for_class(name: str, *, writer: W) -> dict[str, W]:
    """One writer for every name of the layer class registered as ``name``, read from the
    registry (``conv2d`` → conv1d, conv2d, conv3d, conv), so a new alias cannot be missed."""
    from ..layers import REGISTRY

    return dict.fromkeys(REGISTRY[name].NAMES, writer)


def refuse_unsupported(
    graph: Graph, forms: dict[str, object], refused: dict[str, str], target: str
) -> None:
    """Raise one CnncalcError listing every layer whose type has no form in ``target``."""
    bad: dict[str, list[str]] = {}
    for n in graph.nodes:
        if n.type not in forms:
            bad.setdefault(n.type, []).append(n.name)
    if not bad:
        return
    parts = []
    for t, names in bad.items():
        shown = ", ".join(names[:3]) + (f", … ({len(names)} layers)" if len(names) > 3 else "")
        why = refused.get(t, "no export form written yet")
        parts.append(f"{t} ({why}): {shown}")
    raise CnncalcError(
        f"cannot export {graph.name} to {target}: " + "; ".join(parts),
        file=graph.file,
        hint="remove or replace these layers; `cnncalc layers` lists every type",
    )
