"""Fully connected (linear / dense) layers."""

from __future__ import annotations

from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Weight, fmt_shape, prod, register


@register
class Linear(Layer):
    """Fully connected layer on the last axis of any-rank input (PyTorch ``Linear``, Keras ``Dense``).

    (…, in) → (…, out). Weight ``[out, in]``, bias ``[out]``: params = in·out + out.
    MACs = ∏(leading axes) · in · out. FLOPs = 2·MACs + out_elements (bias add) if bias.
    A conv feature map must be flattened first: 6·6·256 = 9216 inputs for AlexNet's fc6.
    """

    NAMES = ("linear", "dense")
    CATEGORY = "linear"
    ARGS = {
        "out_features": Arg("int", doc="number of output units", minimum=1),
        "bias": Arg("bool", True, "add a learned bias per output unit"),
        "in_features": Arg("opt_int", None, "optional check of the input size", minimum=1),
    }
    __slots__ = ("fin",)

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        fin = x[-1]
        given = self.args["in_features"]
        if given is not None and given != fin:
            hint = None
            if len(x) > 1 and prod(x) == given:
                hint = f"flatten first: {'·'.join(map(str, x))} = {given}"
            raise CnncalcError(
                f"in_features={given} but the input's last axis has {fin} (shape {fmt_shape(x)})",
                hint=hint,
            )
        self.fin = fin
        return (*x[:-1], self.args["out_features"])

    def rf_mixed_axes(self) -> tuple[int, ...]:
        """Receptive fields: every output mixes all positions of the last axis. On the channels
        of a channels-last map each position keeps its field; on a spatial axis the field ends."""
        return (len(self.in_shapes[0]) - 1,)

    def declare_weights(self) -> list[Weight]:
        out = self.args["out_features"]
        ws = [Weight("weight", (out, self.fin))]
        if self.args["bias"]:
            ws.append(Weight("bias", (out,)))
        return ws

    def macs(self) -> int:
        return prod(self.in_shapes[0][:-1]) * self.fin * self.args["out_features"]

    def flops(self) -> int:
        return 2 * self.macs() + (self.out_elements if self.args["bias"] else 0)

    def explain(self) -> list[Any]:
        """in = the input's last axis; params = (in + 1)·out; MACs = rows·in·out."""
        from ..explain import Formula, mul, num

        x = self.in_shapes[0]
        out, fin, bias = self.args["out_features"], self.fin, self.args["bias"]
        lead = x[:-1]
        f = [
            Formula("in", "last axis of the input", value=fin, note=f"input shape {tuple(x)}"),
            Formula("out", "out_features", value=out, checks=(f"shape[{len(x) - 1}]",)),
        ]
        if bias:
            f.append(
                Formula(
                    "params",
                    "(in + 1)·out",
                    f"({num(fin)} + 1)·{num(out)}",
                    sum(w.size for w in self.weights()),
                    ("params",),
                    "a weight per input and a bias, for each output unit",
                )
            )
        else:
            f.append(Formula("params", "in·out", mul(fin, out), fin * out, ("params",)))
        rows_sym, rows_num = ("", "") if not lead else ("rows·", mul(*lead) + "·")
        f.append(
            Formula(
                "MACs",
                f"{rows_sym}in·out",
                f"{rows_num}{mul(fin, out)}",
                self.macs(),
                ("macs",),
                "rows = ∏ leading axes (tokens)" if lead else "",
            )
        )
        rule, work = "2·MACs", f"2·{num(self.macs())}"
        if bias:
            rule, work = rule + " + out_elements", work + f" + {mul(*self.out_shape)}"
        f.append(Formula("FLOPs", rule, work, self.flops(), ("flops",)))
        return f

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """y = x·Wᵀ + b on the last axis: one BLAS matmul on the rows (x as a 2-D matrix; NumPy
        would otherwise run one small matmul per leading index of a 4-D map)."""
        import numpy as np

        x = inputs[0]
        w = params["weight"]
        y = np.matmul(x.reshape(-1, x.shape[-1]), w.T).reshape(*x.shape[:-1], w.shape[0])
        if "bias" in params:
            y += params["bias"]
        return y
