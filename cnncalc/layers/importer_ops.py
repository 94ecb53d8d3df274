"""Layers that imported graphs need and hand-written specs rarely do: a constant or learned
tensor that is an operand (ViT's class token and position embedding in an ONNX export, a
Clip bound), and element-wise arithmetic beyond add and multiply (an exporter's decomposed
GELU: divide, erf, add, multiply)."""

from __future__ import annotations

import math
from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Weight, register
from .merge import broadcast

__all__ = ["Constant", "Elementwise", "ELEMENTWISE_FLOPS"]


@register
class Constant(Layer):
    """A tensor of a fixed ``shape`` (batch excluded) used as an operand of another layer.

    ``learned: param`` declares it as a learned parameter of ``shape`` (or of ``weight_shape``
    when the operand is a broadcast of a smaller learned tensor: an ONNX ``Expand`` of a class
    token); ``buffer`` as a buffer; ``none`` (a fixed value, e.g. a scale of 1/√d) declares no
    weights. Its input, if any, only orders it in the graph. 0 MACs, 0 FLOPs.
    """

    NAMES = ("constant",)
    CATEGORY = "other"
    MIN_INPUTS = 0
    MAX_INPUTS = 1
    ARGS = {
        "shape": Arg("int_list", doc="shape of the tensor, batch excluded"),
        "learned": Arg(
            "choice", "param", "param, buffer or none", choices=("param", "buffer", "none")
        ),
        "weight_shape": Arg(
            "opt_ints", None, "shape of the learned tensor when it is broadcast to shape"
        ),
    }

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        shape = tuple(self.args["shape"])
        if not shape or any(d <= 0 for d in shape):
            raise CnncalcError(f"shape must be positive sizes, got {list(shape)}")
        return shape

    def declare_weights(self) -> list[Weight]:
        kind = self.args["learned"]
        if kind == "none":
            return []
        ws = self.args["weight_shape"]
        shape = (ws,) if isinstance(ws, int) else tuple(ws) if ws else self.out_shape
        return [Weight("value", shape, kind)]

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """The learned value broadcast to (N, *shape); a fixed constant is ones."""
        import numpy as np

        n = inputs[0].shape[0] if inputs else 1
        shape = (n, *self.args["shape"])
        if "value" in params:
            v = params["value"]
            if v.size == math.prod(self.args["shape"]):
                return np.broadcast_to(v.reshape(self.args["shape"]), shape).copy()
            return np.broadcast_to(v.reshape(-1)[:1], shape).copy() + np.float32(0)
        return np.ones(shape, dtype=np.float32)


#: FLOPs per output element of each element-wise operation (an estimate stated so it can be
#: checked; an exporter's form of an operation costs what its parts cost).
ELEMENTWISE_FLOPS = {
    "sub": 1,
    "div": 1,
    "pow": 1,
    "max": 1,
    "min": 1,
    "mod": 1,
    "where": 1,
    "equal": 1,
    "less": 1,
    "greater": 1,
    "neg": 1,
    "abs": 1,
    "reciprocal": 1,
    "sqrt": 1,
    "exp": 1,
    "log": 1,
    "erf": 4,  # a polynomial/rational approximation, counted as 4 (see activation's GELU: 8)
    "sin": 1,
    "cos": 1,
    "floor": 1,
    "ceil": 1,
    "round": 1,
    "sign": 1,
    "not": 1,
    "clip": 2,  # max, min
    "cast": 0,  # a type conversion, no arithmetic
}


@register
class Elementwise(Layer):
    """Element-wise ``op`` of one to three inputs with NumPy broadcasting (sub, div, pow, erf,
    sqrt, …): output = broadcast shape, no weights, 0 MACs. FLOPs = per-element cost ×
    out_elements, costs in :data:`ELEMENTWISE_FLOPS` (most 1; erf 4; clip 2; cast 0)."""

    NAMES = ("elementwise",)
    CATEGORY = "merge"
    MIN_INPUTS = 1
    MAX_INPUTS = 3
    ARGS = {"op": Arg("choice", doc="the operation", choices=tuple(ELEMENTWISE_FLOPS))}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        return broadcast(in_shapes, self.args["op"]) if len(in_shapes) > 1 else in_shapes[0]

    def flops(self) -> int:
        return ELEMENTWISE_FLOPS[self.args["op"]] * self.out_elements

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Apply the operation with NumPy, broadcasting after the batch axis."""
        import numpy as np

        rank = max(a.ndim for a in inputs)
        xs = [a.reshape(a.shape[:1] + (1,) * (rank - a.ndim) + a.shape[1:]) for a in inputs]
        op = self.args["op"]
        binary = {
            "sub": np.subtract,
            "div": np.divide,
            "pow": np.power,
            "max": np.maximum,
            "min": np.minimum,
            "mod": np.mod,
            "equal": np.equal,
            "less": np.less,
            "greater": np.greater,
        }
        unary = {
            "neg": np.negative,
            "abs": np.abs,
            "reciprocal": np.reciprocal,
            "sqrt": lambda x: np.sqrt(np.abs(x)),
            "exp": np.exp,
            "log": lambda x: np.log(np.abs(x) + 1e-12),
            "sin": np.sin,
            "cos": np.cos,
            "floor": np.floor,
            "ceil": np.ceil,
            "round": np.round,
            "sign": np.sign,
            "not": np.logical_not,
            "cast": lambda x: x,
        }
        with np.errstate(all="ignore"):
            if op in binary:
                y = binary[op](xs[0], xs[1]) if len(xs) > 1 else xs[0]
            elif op == "where":
                y = np.where(xs[0] != 0, xs[1 % len(xs)], xs[2 % len(xs)])
            elif op == "clip":
                y = np.clip(xs[0], xs[1] if len(xs) > 1 else None, xs[2] if len(xs) > 2 else None)
            elif op == "erf":
                y = np.vectorize(math.erf, otypes=[np.float32])(xs[0])
            else:
                y = unary[op](xs[0])
        return np.broadcast_to(y, np.broadcast_shapes(*(x.shape for x in xs))).astype(np.float32)
