"""cnncalc: shapes, parameters, MACs and FLOPs of CNN architectures from a YAML spec.

    >>> import cnncalc
    >>> r = cnncalc.analyze("lenet5")
    >>> r.params
    61706

``import cnncalc`` is light: it does not import numpy, rich or typer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import explain as _explain_module  # noqa: F401 - loaded first: the function below keeps the name
from .errors import CnncalcError
from .graph import Graph, Node, build_graph
from .report import Explanation, LayerRow, Report, Totals

if TYPE_CHECKING:  # pragma: no cover - for type checkers; at run time see __getattr__
    from .backend.run import run
    from .backend.verify import verify
    from .comparison import Comparison, compare
    from .importers.torch import from_torch

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "analyze",
    "build",
    "explain",
    "Explanation",
    "compare",
    "Comparison",
    "run",
    "verify",
    "from_torch",
    "CnncalcError",
    "Graph",
    "Node",
    "Report",
    "LayerRow",
    "Totals",
]


def build(
    source: str | Path | dict[str, Any],
    input_shape: tuple[int, ...] | list[int] | str | None = None,
    *,
    variant: str | None = None,
    variables: dict[str, Any] | None = None,
    freeze: str | None = None,
) -> Graph:
    """Build the layer graph of a spec (path, zoo name, family name or dict)."""
    from .zoo import resolve

    shape = parse_shape(input_shape) if isinstance(input_shape, str) else input_shape
    res = resolve(source, tuple(shape) if shape is not None else None)
    graph = build_graph(res.spec, variant or res.variant, shape, variables or {})
    if freeze:
        graph.freeze(freeze)
    if res.note:
        graph.meta = {**graph.meta, "resolved": res.note}
    return graph


def analyze(
    source: str | Path | dict[str, Any] | Graph,
    input_shape: tuple[int, ...] | list[int] | str | None = None,
    *,
    variant: str | None = None,
    batch: int = 1,
    dtype: str = "float32",
    convention: str = "pytorch",
    freeze: str | None = None,
    variables: dict[str, Any] | None = None,
    **more_variables: Any,
) -> Report:
    """Analyze a spec: per-layer shapes, parameters, buffers, MACs, FLOPs and memory.

    ``source`` is a spec path, a zoo model or family name (``"resnet50"``, ``"vgg"``), a dict
    with the spec's content, or a built :class:`Graph`. ``input_shape`` overrides the first
    input (``(3, 299, 299)`` or ``"3x299x299"``, batch excluded). Extra keyword arguments set
    spec variables (``num_classes=10``).
    """
    from .analysis import analyze_graph

    if isinstance(source, Graph):
        graph = source
    else:
        graph = build(
            source,
            input_shape,
            variant=variant,
            variables={**(variables or {}), **more_variables},
            freeze=freeze,
        )
    return analyze_graph(graph, batch=batch, dtype=dtype, convention=convention)


def explain(
    source: str | Path | dict[str, Any] | Graph,
    input_shape: tuple[int, ...] | list[int] | str | None = None,
    *,
    layer: str | None = None,
    variant: str | None = None,
    variables: dict[str, Any] | None = None,
    dtype: str = "float32",
    **more_variables: Any,
) -> Explanation:
    """The arithmetic of every layer (or of ``layer``, a layer or block name), as
    ``cnncalc explain`` shows it: ``print(cnncalc.explain("lenet5", layer="c1"))``.

    Returns an :class:`Explanation`: a tuple of :class:`cnncalc.explain.LayerExplanation`
    records (plain data: shapes, formulas with their values, receptive field, warnings).
    """
    from .explain import explain_graph

    if isinstance(source, Graph):
        graph = source
    else:
        shape = parse_shape(input_shape) if isinstance(input_shape, str) else input_shape
        graph = build(
            source, shape, variant=variant, variables={**(variables or {}), **more_variables}
        )
    return Explanation(explain_graph(graph, layer, dtype=dtype))


def parse_shape(text: str) -> tuple[int, ...]:
    """``"3x224x224"`` (or ``3,224,224``) → ``(3, 224, 224)``."""
    parts = [
        p for p in text.lower().replace(",", "x").replace("×", "x").replace(" ", "").split("x") if p
    ]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise CnncalcError(
            f"cannot read the input shape '{text}'",
            hint="write it like 3x224x224 (channels first, batch excluded)",
        ) from None
    if not shape or any(d <= 0 for d in shape):
        raise CnncalcError(
            f"input shape '{text}' must be positive integers",
            hint="write it like 3x224x224 (channels first, batch excluded)",
        )
    return shape


#: Lazily imported entry points (numpy and the comparison code stay out of ``import cnncalc``):
#: ``compare`` (:func:`cnncalc.comparison.compare`), ``Comparison``, ``verify``
#: (:func:`cnncalc.backend.verify.verify`) and ``run`` (:func:`cnncalc.backend.run.run`).
_LAZY = {
    "compare": ("comparison", "compare"),
    "Comparison": ("comparison", "Comparison"),
    "verify": ("backend.verify", "verify"),
    "run": ("backend.run", "run"),
    "from_torch": ("importers.torch", "from_torch"),
}


#: Submodules reachable as attributes after a plain ``import cnncalc`` (imported on first use):
#: ``cnncalc.solve.solve(224, 112)``, ``cnncalc.zoo.catalog()``, ``cnncalc.render.fmt_ops(…)``.
_SUBMODULES = (
    "solve",
    "zoo",
    "render",
    "receptive",
    "memory",
    "checks",
    "comparison",
    "windows",
    "reference",
    "layers",
    "backend",
    "sweep",
)


def __getattr__(name: str) -> Any:
    """Import a lazy entry point or a submodule on first use (see ``_LAZY``, ``_SUBMODULES``)."""
    import importlib

    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'cnncalc' has no attribute {name!r}")
