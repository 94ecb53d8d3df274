"""The layer base class, argument declarations and the registry keyed by YAML type name.

One class per layer type holds everything about it: its arguments with defaults, validation,
output-shape rule (:meth:`Layer.build`), weight shapes (:meth:`Layer.weights`), MACs and FLOPs,
and its NumPy forward. The parser and graph builder know no layer type by name.

Counting convention (stated once here, and in the README):

* **MACs**: multiply-accumulates of conv, linear and matmul-like layers (attention included).
  This is what torchvision's docs call "GFLOPS" and what fvcore, ptflops and torchinfo report.
  Every other layer has 0 MACs.
* **FLOPs**: ``2 × MACs`` plus the element-wise work of the layer (a bias add is 1 FLOP per
  output element, a ReLU 1, batch norm at inference 2, …). Each layer's docstring gives its rule.
* **Parameters** are derived from the declared weight shapes; batch-norm running statistics are
  *buffers* (PyTorch's convention). Shapes exclude the batch dimension; axis 0 is channels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NamedTuple

from ..errors import CnncalcError, did_you_mean

__all__ = [
    "REQUIRED",
    "Arg",
    "Weight",
    "Window",
    "Layer",
    "REGISTRY",
    "register",
    "get_layer_class",
    "prod",
    "Shape",
]

Shape = tuple[int, ...]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


#: the product of the sizes of a shape (1 for ``()``): math.prod itself, no wrapper call per use
prod: Callable[[Sequence[int]], int] = math.prod


# --------------------------------------------------------------------------------------------
# Argument kinds: each turns a YAML value (already expression-evaluated) into a normal value or
# raises with what was expected. Kinds are small functions so a layer declares them in one line.
# --------------------------------------------------------------------------------------------


class Arg(NamedTuple):
    """One argument of a layer type: its kind, default and a one-line doc."""

    kind: str
    default: Any = REQUIRED
    doc: str = ""
    choices: tuple[str, ...] = ()
    minimum: int | float | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def expects(self) -> str:
        """Human description of what this argument accepts."""
        base = {
            "int": "an integer",
            "float": "a number",
            "bool": "true or false",
            "str": "a string",
            "choice": "one of " + ", ".join(repr(c) for c in self.choices),
            "ints": "an integer or a list of integers (one per spatial axis)",
            "int_list": "a list of integers",
            "padding": "an integer, a list (one per axis, or [lo, hi] pairs), 'same' or 'valid'",
            "size": "an integer or a list of integers",
            "opt_int": "an integer or null",
            "opt_float": "a number or null",
            "opt_ints": "an integer, a list of integers, or null",
            "axis": "an integer axis (0 = channels; negative counts from the end)",
        }[self.kind]
        if self.minimum is not None and self.kind in ("int", "float", "ints", "opt_int", "size"):
            base += f" ≥ {self.minimum}"
        return base

    def normalize(self, value: Any) -> Any:
        """Check ``value`` against this kind; return the normal form or raise ValueError(expects)."""
        k = self.kind
        if type(value) is int and k in _INT_KINDS:  # the common case, first (same checks)
            if self.minimum is not None and value < self.minimum:
                raise ValueError
            return value
        if k in ("opt_int", "opt_float", "opt_ints") and value is None:
            return None
        if k in ("int", "opt_int", "axis"):
            v = _as_int(value)
            self._check_min(v)
            return v
        if k in ("float", "opt_float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError
            self._check_min(value)
            return float(value)
        if k == "bool":
            if not isinstance(value, bool):
                raise ValueError
            return value
        if k == "str":
            if not isinstance(value, str):
                raise ValueError
            return value
        if k == "choice":
            if value not in self.choices:
                raise ValueError
            return value
        if k in ("ints", "opt_ints", "size"):
            if isinstance(value, (list, tuple)):
                if not value:
                    raise ValueError
                vs = tuple(_as_int(x) for x in value)
                for x in vs:
                    self._check_min(x)
                return vs
            v = _as_int(value)
            self._check_min(v)
            return v
        if k == "int_list":
            if not isinstance(value, (list, tuple)):
                value = [value]
            return tuple(_as_int(x) for x in value)
        if k == "padding":
            if isinstance(value, str):
                if value in ("same", "valid"):
                    return value
                raise ValueError
            if isinstance(value, (list, tuple)):
                if not value:
                    raise ValueError
                out: list[Any] = []
                for x in value:
                    if isinstance(x, (list, tuple)):
                        if len(x) != 2:
                            raise ValueError
                        lo, hi = _as_int(x[0]), _as_int(x[1])
                        if lo < 0 or hi < 0:
                            raise ValueError
                        out.append((lo, hi))
                    else:
                        v = _as_int(x)
                        if v < 0:
                            raise ValueError
                        out.append(v)
                return tuple(out)
            v = _as_int(value)
            if v < 0:
                raise ValueError
            return v
        raise AssertionError(f"unknown arg kind {k}")  # pragma: no cover

    def _check_min(self, v: int | float) -> None:
        if self.minimum is not None and v < self.minimum:
            raise ValueError


#: kinds whose normal form of a plain ``int`` is the int itself (after the minimum check)
_INT_KINDS = frozenset({"int", "opt_int", "axis", "ints", "opt_ints", "size"})


def _arg_table(
    args: dict[str, Arg],
) -> tuple[dict[str, Arg], dict[str, Any], frozenset[str], dict[str, int | float | None]]:
    """For :meth:`Layer.normalize_args`: the defaults in ``ARGS`` order (REQUIRED for the
    required ones, always given when the fast path returns), the required names, and the
    minimum of each argument whose normal form of a plain ``int`` is the int itself."""
    return (
        args,
        {k: a.default for k, a in args.items()},
        frozenset(k for k, a in args.items() if a.default is REQUIRED),
        {k: a.minimum for k, a in args.items() if a.kind in _INT_KINDS},
    )


#: layer class → :func:`_arg_table` of its ``ARGS``
_ARG_TABLES: dict[type, tuple[Any, ...]] = {}


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError


class Weight(NamedTuple):
    """A tensor a layer owns. ``kind`` is ``"param"`` (learned) or ``"buffer"`` (running stats)."""

    name: str
    shape: Shape
    kind: str = "param"

    @property
    def size(self) -> int:
        return prod(self.shape)


class Window(NamedTuple):
    """The sliding-window geometry of a layer, per spatial axis, for receptive-field arithmetic.

    ``kernel``/``stride``/``dilation``/``pad_lo`` are tuples over the spatial axes. ``transposed``
    marks a transposed conv or upsampling (the stride divides the jump instead of multiplying).
    """

    kernel: Shape
    stride: Shape
    dilation: Shape
    pad_lo: Shape
    transposed: bool = False
    #: padding at the end of each axis (None = not stated); used by the warnings in cnncalc.checks
    pad_hi: Shape | None = None
    #: pooling's ceil mode (the last, partial window is kept if it starts inside the input)
    ceil_mode: bool = False

    @classmethod
    def of(
        cls,
        kernel: Shape,
        stride: Shape,
        dilation: Shape,
        pads: tuple[tuple[int, int], ...],
        *,
        transposed: bool = False,
        ceil_mode: bool = False,
    ) -> Window:
        """The window of a layer whose padding was resolved to ``(lo, hi)`` pairs per axis.

        Windows are immutable: equal geometry gives one shared object (the warnings and the
        receptive-field pass then meet the same window again and again, as in a real network)."""
        key = (kernel, stride, dilation, pads, transposed, ceil_mode)
        win = _WINDOWS.get(key)
        if win is None:
            lo = tuple(p for p, _ in pads)
            hi = tuple(p for _, p in pads)
            win = cls(kernel, stride, dilation, lo, transposed, hi, ceil_mode)
            if len(_WINDOWS) < 4096:
                _WINDOWS[key] = win
        return win


_WINDOWS: dict[tuple[Any, ...], Window] = {}
_UNSET: Any = object()


# --------------------------------------------------------------------------------------------
# The base class
# --------------------------------------------------------------------------------------------


class Layer:
    """Base of every layer type. Subclasses declare ``NAMES`` and ``ARGS`` and override the rules.

    Life cycle: ``Layer(type_name, args)`` validates and normalises the arguments (no shapes yet);
    :meth:`build` receives the input shapes, checks them, stores derived geometry and returns the
    output shape. After that, :meth:`weights`, :meth:`macs` and :meth:`flops` describe the cost.
    """

    NAMES: ClassVar[tuple[str, ...]] = ()
    ARGS: ClassVar[dict[str, Arg]] = {}
    CATEGORY: ClassVar[str] = "other"
    MIN_INPUTS: ClassVar[int] = 1
    #: Memory: how the output relates to the first input's storage, as in PyTorch. None: a new
    #: tensor; "alias": the input itself (dropout, identity at inference); "view": a view of it
    #: (permute, slice, split), not contiguous; "reshape": a view when the input is contiguous,
    #: else a copy (reshape, flatten). Views are not new activations (cnncalc.memory).
    VIEW: ClassVar[str | None] = None
    #: Several outputs (split): the argument that selects one. An entry without it becomes one
    #: node per output, ``name.0`` … ``name.{n-1}`` (see :meth:`num_outputs`).
    OUTPUT_INDEX: ClassVar[str | None] = None
    MAX_INPUTS: ClassVar[int | None] = 1
    #: Rank of the spatial part fixed by the type name, e.g. {"conv2d": 2}; absent = any rank.
    RANKS: ClassVar[dict[str, int]] = {}
    #: True for layers that may legally output an empty axis (RoI Align with num_rois 0).
    MAY_BE_EMPTY: ClassVar[bool] = False
    #: True for layers whose weights count in the trainable total when the layer is trainable.
    SUMMARY: ClassVar[str] = ""

    #: ``_costs``: the analyzer's per-layer figures (cnncalc.analysis), computed once per object
    #: ``_out_el``: ∏ out_shape, set by :meth:`build` (the only place that sets ``out_shape``)
    __slots__ = (
        "type_name",
        "args",
        "in_shapes",
        "out_shape",
        "_geometry",
        "_costs",
        "_out_el",
    )

    def __init__(self, type_name: str, args: dict[str, Any]) -> None:
        self.type_name = type_name
        self.args = args
        self.in_shapes: tuple[Shape, ...] = ()
        self.out_shape: Shape = ()
        self._costs: tuple[Any, ...] | None = None
        self._geometry: Any = _UNSET  # geometry() on first read (None is a value: no window)

    # --- argument handling ------------------------------------------------------------------
    @classmethod
    def normalize_args(cls, given: dict[str, Any]) -> dict[str, Any]:
        """Check given arguments against ``ARGS`` and fill defaults (raises CnncalcError).

        The defaults are copied in one step and only the given arguments checked; anything
        unusual (an unknown or missing argument, a value to refuse) goes through
        :meth:`_normalize_args`, which says what is wrong in the order it always did."""
        table = _ARG_TABLES.get(cls)
        if table is None or table[0] is not cls.ARGS:
            table = _ARG_TABLES[cls] = _arg_table(cls.ARGS)
        _, defaults, required, int_min = table
        out = dict(defaults)
        for key, value in given.items():
            if type(value) is int and key in int_min:  # the common case (same checks)
                low = int_min[key]
                if low is not None and value < low:
                    return cls._normalize_args(given)
                out[key] = value
                continue
            spec = cls.ARGS.get(key)
            if spec is None:
                return cls._normalize_args(given)
            try:
                out[key] = spec.normalize(value)
            except ValueError:
                return cls._normalize_args(given)
        if not required <= given.keys():
            return cls._normalize_args(given)
        return out

    @classmethod
    def _normalize_args(cls, given: dict[str, Any]) -> dict[str, Any]:
        """:meth:`normalize_args` argument by argument, in ``ARGS`` order: the errors."""
        out: dict[str, Any] = {}
        for key in given:
            if key not in cls.ARGS:
                raise CnncalcError(
                    f"unknown argument '{key}'",
                    hint=did_you_mean(key, cls.ARGS, "arguments")
                    + (
                        f" (accepted: {', '.join(cls.ARGS)})"
                        if cls.ARGS
                        else " (it takes no arguments)"
                    ),
                )
        for key, spec in cls.ARGS.items():
            if key in given:
                value = given[key]
                try:
                    out[key] = spec.normalize(value)
                except ValueError:
                    raise CnncalcError(
                        f"argument '{key}' expects {spec.expects()}; received {key}={value!r}"
                    ) from None
            elif spec.default is REQUIRED:
                raise CnncalcError(
                    f"missing required argument '{key}' ({spec.doc or spec.expects()})",
                    hint="accepted: "
                    + ", ".join(
                        k + ("" if a.required else f"={a.default!r}") for k, a in cls.ARGS.items()
                    ),
                )
            else:
                out[key] = spec.default
        return out

    def check_rank(self, shape: Shape, min_rank: int = 1) -> int:
        """Spatial rank of a channels-first input shape, checked against the type name's rank."""
        rank = self.RANKS.get(self.type_name)
        if rank is not None and len(shape) != rank + 1:
            raise CnncalcError(
                f"expects a {rank + 1}-D input (channels + {rank} spatial), got shape "
                f"{fmt_shape(shape)}",
                hint=f"use the {len(shape) - 1}d variant of the layer" if len(shape) > 1 else None,
            )
        spatial = len(shape) - 1
        if spatial < min_rank:
            raise CnncalcError(
                f"expects channels and at least {min_rank} spatial axis, got shape {fmt_shape(shape)}"
            )
        return spatial

    def per_axis(self, key: str, rank: int) -> Shape:
        """Expand an int-or-list argument to one value per spatial axis."""
        v = self.args[key]
        if isinstance(v, tuple):
            if len(v) != rank:
                raise CnncalcError(
                    f"argument '{key}' has {len(v)} values but the input has {rank} spatial axes; "
                    f"received {key}={list(v)}"
                )
            return v
        return (v,) * rank

    # --- the rules --------------------------------------------------------------------------
    def build(self, in_shapes: Sequence[Shape]) -> Shape:
        """Check the input shapes, derive the geometry, return the output shape (the weights are
        declared when read: :meth:`weights`)."""
        if type(in_shapes) is not tuple:
            in_shapes = tuple(in_shapes)
        self.in_shapes = in_shapes
        out = self.out_shape = self.infer(in_shapes)
        self._out_el = prod(out)
        if out and min(out) <= 0 and not self._empty_ok():
            raise CnncalcError(
                f"output shape {fmt_shape(self.out_shape)} has a size ≤ 0 "
                f"(input {', '.join(fmt_shape(s) for s in self.in_shapes)})"
            )
        return self.out_shape

    def _empty_ok(self) -> bool:
        """An empty axis (size 0, never negative) is legal where the layer makes one on purpose
        (:attr:`MAY_BE_EMPTY`: RoI Align with 0 RoIs) or an input is already empty: as in PyTorch,
        a head that gets no RoIs runs on an empty batch."""
        if any(d < 0 for d in self.out_shape):
            return False
        return self.MAY_BE_EMPTY or any(0 in s for s in self.in_shapes)

    def num_outputs(self) -> int:
        """Outputs of a multi-output type (``OUTPUT_INDEX`` set), once built."""
        return 1

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        """Output shape from input shapes. Default: the shape of the first input (element-wise)."""
        return in_shapes[0]

    def declare_weights(self) -> list[Weight]:
        """Weight shapes (after :meth:`infer`). Default: none."""
        return []

    def weights(self) -> tuple[Weight, ...]:
        """The weight tensors' names, shapes and kinds (after :meth:`build`), made on each call
        from :meth:`declare_weights`: kept on every layer they cost ~250 bytes a layer, a
        seventh of a deep graph's memory, for what most readers (the analyzer: once per layer
        object) read once."""
        return tuple(self.declare_weights())

    def macs(self) -> int:
        """Multiply-accumulates. Default 0: only conv, linear and matmul-like layers have MACs."""
        return 0

    def flops(self) -> int:
        """FLOPs: ``2 × MACs`` plus element-wise work; each type states its rule."""
        return 2 * self.macs()

    def rf_axis_order(self) -> tuple[int, ...] | None:
        """Receptive fields of a reordering of the axes (permute): output axis i is input axis
        ``order[i]``, and the spatial axes keep their fields where they move. None: not one."""
        return None

    def rf_mixed_axes(self) -> tuple[int, ...] | None:
        """Receptive fields: the axes whose every position each output mixes (a linear: its
        last axis). On the channels the field passes; on a spatial axis it ends. None: none."""
        return None

    def geometry(self) -> Window | None:
        """:meth:`window`, computed once per built layer (receptive fields and warnings share it)."""
        win = self._geometry
        if win is _UNSET:
            win = self._geometry = self.window()
        return win

    def window(self) -> Window | None:
        """Sliding-window geometry for receptive fields; None = point-wise (kernel 1, stride 1)."""
        return None

    def explain(self) -> list[Any]:
        """The arithmetic of this layer's figures as :class:`cnncalc.explain.Formula` lines.

        Default: parameters as the sum of the weight shapes' products, and MACs and FLOPs with
        the rule stated in the class docstring. Types with a shape rule worth showing override it.
        """
        from ..explain import rule_formula, weights_formulas

        return [
            *weights_formulas(self),
            rule_formula(self, "macs", self.macs()),
            rule_formula(self, "flops", self.flops()),
        ]

    @property
    def out_elements(self) -> int:
        try:
            return self._out_el
        except AttributeError:  # not built yet
            return prod(self.out_shape)

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:  # pragma: no cover
        """NumPy forward (inference): the output array computed from the inputs and the weights.

        Contract, shared by every layer type:

        * ``inputs``: one ``numpy.ndarray`` per input, **with the batch axis first**
          (``(N, *in_shape)``), float32 by default;
        * ``params``: ``{weight.name: array}`` for every tensor of :meth:`weights` (parameters and
          buffers), each of exactly the declared shape;
        * returns ``(N, *out_shape)``. It must compute from the definition and never read
          ``self.out_shape`` or call the shape rule: the backend checks the analyzer with it.
          Only argument normalisation (``self.k``, ``self.s``, the resolved ``self.pads``) is shared.
        * ``import numpy as np`` inside the method: ``import cnncalc`` stays free of numpy.
        """
        raise NotImplementedError(f"{type(self).__name__} has no NumPy forward yet")


def fmt_shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

REGISTRY: dict[str, type[Layer]] = {}


def register(cls: type[Layer]) -> type[Layer]:
    """Class decorator: register ``cls`` under each of its ``NAMES``; duplicates fail at import."""
    if not cls.NAMES:
        raise TypeError(f"{cls.__name__} declares no NAMES")
    for name in cls.NAMES:
        if name in REGISTRY:
            raise TypeError(
                f"layer type '{name}' registered twice ({REGISTRY[name].__name__}, {cls.__name__})"
            )
        REGISTRY[name] = cls
    return cls


def get_layer_class(name: str) -> type[Layer] | None:
    return REGISTRY.get(name)
