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

from .errors import CnncalcError
from .graph import Graph, Node, build_graph
from .report import LayerRow, Report, Totals

if TYPE_CHECKING:  # pragma: no cover
    from .comparison import Comparison

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "analyze",
    "build",
    "compare",
    "Comparison",
    "run",
    "verify",
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

    res = resolve(source)
    shape = parse_shape(input_shape) if isinstance(input_shape, str) else input_shape
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


def compare(sources: Any, input_shape: Any = None, **options: Any) -> Comparison:
    """Compare models side by side: totals, ratios to the first, depth, stages.

    ``sources`` is a list of zoo names, family names, spec paths or dicts; ``input_shape`` applies
    one input to all. Options: ``batch``, ``dtype``, ``convention``, ``sort``, ``reverse``.
    See :func:`cnncalc.comparison.compare`.
    """
    from .comparison import compare as _compare

    return _compare(sources, input_shape, **options)


def verify(
    source: str | Path | dict[str, Any] | Graph,
    input_shape: tuple[int, ...] | list[int] | str | None = None,
    *,
    seed: int = 0,
    batch: int = 1,
    variant: str | None = None,
    variables: dict[str, Any] | None = None,
    max_memory: int | str | None = None,
    dtype: str = "float32",
    progress: Any = None,
) -> Any:
    """Run the spec with NumPy (random weights) and check the analyzer: a ``VerifyResult``.

    Allocates every declared weight (their total must equal params + buffers), runs a forward
    pass on a seeded random input and compares each layer's output shape with the analyzer's;
    ``result.ok``, ``result.layers``, ``result.failures``. Needs numpy (``cnncalc[numpy]``).
    See :func:`cnncalc.backend.verify.verify`.
    """
    from .backend.verify import verify as _verify

    shape = parse_shape(input_shape) if isinstance(input_shape, str) else input_shape
    return _verify(
        source,
        shape,
        seed=seed,
        batch=batch,
        variant=variant,
        variables=variables,
        max_memory=max_memory,
        dtype=dtype,
        progress=progress,
    )


def run(
    graph_or_spec: str | Path | dict[str, Any] | Graph,
    x: Any = None,
    *,
    return_intermediates: bool = False,
    seed: int = 0,
    **options: Any,
) -> Any:
    """Forward pass with NumPy and seeded random weights: the output array.

    ``x`` is ``(N, *input_shape)`` (None: a random input); with ``return_intermediates`` returns
    ``(output, {layer name: array})``. Options: batch, weights, include_train_only, dtype,
    variant. See :func:`cnncalc.backend.run.run`.
    """
    from .backend.run import run as _run

    return _run(graph_or_spec, x, return_intermediates=return_intermediates, seed=seed, **options)


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


def __getattr__(name: str) -> Any:
    """Lazy attributes: ``cnncalc.Comparison`` without importing the comparison module up front."""
    if name == "Comparison":
        from .comparison import Comparison

        return Comparison
    raise AttributeError(f"module 'cnncalc' has no attribute {name!r}")
