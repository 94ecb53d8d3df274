"""Layers that combine several inputs: add, multiply, concat."""

from __future__ import annotations

from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, fmt_shape, register


def broadcast(shapes: tuple[Shape, ...], what: str) -> Shape:
    """NumPy broadcasting of batch-excluded shapes; a mismatch names every shape."""
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for axis in range(rank):
        sizes = {p[axis] for p in padded} - {1}
        if len(sizes) > 1:
            raise CnncalcError(
                f"cannot {what} shapes "
                + " and ".join(fmt_shape(s) for s in shapes)
                + f": axis {axis} differs",
                hint="shapes must be equal (or 1 where broadcast); a residual add needs a "
                "projection shortcut when channels or stride change",
            )
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


class _Elementwise(Layer):
    MIN_INPUTS = 2
    MAX_INPUTS = None
    CATEGORY = "merge"
    ARGS = {}
    VERB = ""

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        return broadcast(in_shapes, self.VERB)

    def flops(self) -> int:
        return (len(self.in_shapes) - 1) * self.out_elements

    def explain(self) -> list[Any]:
        """Broadcast shape of the inputs; FLOPs = (inputs − 1)·out_elements."""
        from ..explain import Formula, mul, rule_formula

        shapes = " and ".join(str(tuple(s)) for s in self.in_shapes)
        n = len(self.in_shapes)
        return [
            Formula("output shape", note=f"{tuple(self.out_shape)}: broadcast of {shapes}"),
            Formula("params", value=0, checks=("params",), note="no weights"),
            rule_formula(self, "macs", 0),
            Formula(
                "FLOPs",
                "(inputs − 1)·out_elements",
                f"({n} − 1)·{mul(*self.out_shape)}",
                self.flops(),
                ("flops",),
            ),
        ]

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Fold the inputs with the operation, broadcasting after the batch axis.

        Shapes exclude the batch, so a lower-rank input gets its missing leading axes inserted
        *after* the batch axis ((N, C, 1, 1) · (N, C, H, W); (N, W) + (N, C, H, W)).
        """
        import numpy as np

        rank = max(a.ndim for a in inputs)
        arrs = [a.reshape(a.shape[:1] + (1,) * (rank - a.ndim) + a.shape[1:]) for a in inputs]
        op = {"add": np.add, "multiply": np.multiply, "subtract": np.subtract}[self.VERB]
        y = op(arrs[0], arrs[1])
        for a in arrs[2:]:
            if np.broadcast_shapes(y.shape, a.shape) == y.shape:
                op(y, a, out=y)  # in place: no third temporary
            else:
                y = op(y, a)
        return y


@register
class Add(_Elementwise):
    """Element-wise sum of ≥ 2 inputs (residual connections), with broadcasting.

    FLOPs = (inputs − 1) · out_elements.
    """

    NAMES = ("add",)
    VERB = "add"


@register
class Multiply(_Elementwise):
    """Element-wise product of ≥ 2 inputs (squeeze-excitation scaling: (C,H,W)·(C,1,1)).

    FLOPs = (inputs − 1) · out_elements.
    """

    NAMES = ("multiply", "mul")
    VERB = "multiply"


@register
class Subtract(_Elementwise):
    """Element-wise difference of two inputs, first − second, with broadcasting.

    FLOPs = out_elements (one subtraction each).
    """

    NAMES = ("subtract", "sub")
    MAX_INPUTS = 2
    VERB = "subtract"


@register
class Concat(Layer):
    """Concatenate ≥ 2 inputs along ``axis`` (default 0 = channels: inception, dense blocks, U-Net).

    All other axes must match. No weights, 0 FLOPs (a copy).
    """

    NAMES = ("concat",)
    MIN_INPUTS = 2
    MAX_INPUTS = None
    CATEGORY = "merge"
    ARGS = {"axis": Arg("axis", 0, "axis to join along (0 = channels)")}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        first = in_shapes[0]
        if any(len(s) != len(first) for s in in_shapes):
            raise CnncalcError(
                "cannot concat inputs of different ranks: "
                + ", ".join(fmt_shape(s) for s in in_shapes)
            )
        ax = self.args["axis"]
        if not -len(first) <= ax < len(first):
            raise CnncalcError(f"axis {ax} is out of range for shape {fmt_shape(first)}")
        ax %= len(first)
        for s in in_shapes[1:]:
            for i, (a, b) in enumerate(zip(first, s)):
                if i != ax and a != b:
                    raise CnncalcError(
                        f"cannot concat along axis {ax}: shapes "
                        + " and ".join(fmt_shape(t) for t in in_shapes)
                        + f" differ on axis {i}",
                        hint="crop or pad so the other axes match (U-Net crops the skip connection)",
                    )
        out = list(first)
        out[ax] = sum(s[ax] for s in in_shapes)
        return tuple(out)

    def flops(self) -> int:
        return 0

    def explain(self) -> list[Any]:
        """The joined axis is the sum of the inputs' sizes on it (64 + 128 + 32 + 32 = 256)."""
        from ..explain import Formula, num, rule_formula

        ax = self.args["axis"] % len(self.out_shape)
        sizes = [s[ax] for s in self.in_shapes]
        return [
            Formula(
                "C_out" if ax == 0 else f"axis {ax}",
                "Σ input sizes",
                " + ".join(num(v) for v in sizes),
                sum(sizes),
                (f"shape[{ax}]",),
                "the other axes must match",
            ),
            Formula("params", value=0, checks=("params",), note="no weights"),
            rule_formula(self, "macs", 0),
            Formula("FLOPs", value=0, checks=("flops",), note="a copy"),
        ]

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        import numpy as np

        ax = self.args["axis"]
        n = max(a.shape[0] for a in inputs)  # a free tensor (batch 1) joins every sample
        inputs = [a if a.shape[0] == n else np.broadcast_to(a, (n, *a.shape[1:])) for a in inputs]
        return np.concatenate(inputs, axis=ax + 1 if ax >= 0 else ax)
