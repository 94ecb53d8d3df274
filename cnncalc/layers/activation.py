"""Element-wise activations, softmax, dropout and identity."""

from __future__ import annotations

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, register

#: FLOPs per element of each activation (an estimate of its arithmetic, stated so it can be checked).
ACTIVATION_FLOPS = {
    "relu": 1,  # max(0, x)
    "relu6": 2,  # min(max(0, x), 6)
    "leaky_relu": 2,  # compare, multiply
    "elu": 3,  # compare, exp, subtract/multiply
    "sigmoid": 4,  # negate, exp, add, divide
    "tanh": 5,  # two exps, add, subtract, divide (counted as 5)
    "silu": 5,  # sigmoid (4) and a multiply
    "swish": 5,
    "hardsigmoid": 3,  # add 3, clamp, divide by 6
    "hardswish": 4,  # hardsigmoid (3) and a multiply
    "gelu": 8,  # erf form: divide, erf (~4), add, two multiplies
    "mish": 7,  # softplus (exp, add, log), tanh…, multiply: counted as 7
}


@register
class Activation(Layer):
    """Element-wise activation; output shape = input shape, no weights, 0 MACs.

    FLOPs = per-element cost × elements, with the per-element costs of
    :data:`ACTIVATION_FLOPS` (relu 1, relu6 2, leaky_relu 2, elu 3, sigmoid 4, tanh 5, silu/swish 5,
    hardsigmoid 3, hardswish 4, gelu 8, mish 7).
    """

    NAMES = tuple(ACTIVATION_FLOPS)
    CATEGORY = "activation"
    ARGS = {
        "negative_slope": Arg("float", 0.01, "slope for x < 0 (leaky_relu only)"),
        "alpha": Arg("float", 1.0, "scale for x < 0 (elu only)"),
        "approximate": Arg(
            "choice", "none", "gelu only: 'none' (erf) or 'tanh'", choices=("none", "tanh")
        ),
    }

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        extra = {"leaky_relu": "negative_slope", "elu": "alpha", "gelu": "approximate"}
        own = extra.get(self.type_name)
        for key in ("negative_slope", "alpha", "approximate"):
            if key != own and self.args[key] != self.ARGS[key].default:
                raise CnncalcError(f"argument '{key}' does not apply to {self.type_name}")
        return in_shapes[0]

    def flops(self) -> int:
        return ACTIVATION_FLOPS[self.type_name] * self.out_elements


@register
class Softmax(Layer):
    """Softmax along ``axis`` (default 0: channels; axis −1 is the last axis).

    FLOPs = 4 per element: subtract the max, exp, sum, divide.
    """

    NAMES = ("softmax", "log_softmax")
    CATEGORY = "activation"
    ARGS = {"axis": Arg("axis", 0, "axis to normalise over (0 = channels)")}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        ax = self.args["axis"]
        if not -len(x) <= ax < len(x):
            raise CnncalcError(f"axis {ax} is out of range for shape {tuple(x)}")
        return x

    def flops(self) -> int:
        return 4 * self.out_elements


@register
class Dropout(Layer):
    """Dropout (identity at inference): same shape, no weights, 0 FLOPs at inference."""

    NAMES = ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout")
    CATEGORY = "regularization"
    ARGS = {"p": Arg("float", 0.5, "probability of zeroing an element", minimum=0.0)}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        if self.args["p"] >= 1.0:
            raise CnncalcError(f"dropout probability p must be < 1, received p={self.args['p']}")
        return in_shapes[0]

    def flops(self) -> int:
        return 0


@register
class Identity(Layer):
    """Identity: passes its input through. No weights, 0 FLOPs."""

    NAMES = ("identity",)
    CATEGORY = "other"
    ARGS = {}

    def flops(self) -> int:
        return 0
