"""Element-wise activations, softmax, dropout and identity."""

from __future__ import annotations

from typing import Any

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
    "softplus": 5,  # multiply by β, exp, add 1, log, divide by β
}


@register
class Activation(Layer):
    """Element-wise activation; output shape = input shape, no weights, 0 MACs.

    FLOPs = per-element cost × elements, with the per-element costs of
    :data:`ACTIVATION_FLOPS` (relu 1, relu6 2, leaky_relu 2, elu 3, sigmoid 4, tanh 5, silu/swish 5,
    hardsigmoid 3, hardswish 4, gelu 8, mish 7, softplus 5).
    """

    NAMES = tuple(ACTIVATION_FLOPS)
    CATEGORY = "activation"
    ARGS = {
        "negative_slope": Arg("float", 0.01, "slope for x < 0 (leaky_relu only)"),
        "alpha": Arg("float", 1.0, "scale for x < 0 (elu only)"),
        "approximate": Arg(
            "choice", "none", "gelu only: 'none' (erf) or 'tanh'", choices=("none", "tanh")
        ),
        "beta": Arg("float", 1.0, "softplus only: β in log(1 + e^(βx))/β"),
        "threshold": Arg("float", 20.0, "softplus only: linear above βx > threshold"),
    }

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        extra = {
            "leaky_relu": ("negative_slope",),
            "elu": ("alpha",),
            "gelu": ("approximate",),
            "softplus": ("beta", "threshold"),
        }
        own = extra.get(self.type_name, ())
        for key in ("negative_slope", "alpha", "approximate", "beta", "threshold"):
            if key not in own and self.args[key] != self.ARGS[key].default:
                raise CnncalcError(f"argument '{key}' does not apply to {self.type_name}")
        return in_shapes[0]

    def flops(self) -> int:
        return ACTIVATION_FLOPS[self.type_name] * self.out_elements

    def explain(self) -> list[Any]:
        """FLOPs = per-element cost × elements (the table :data:`ACTIVATION_FLOPS`)."""
        from ..explain import Formula, mul, rule_formula

        k = ACTIVATION_FLOPS[self.type_name]
        return [
            Formula("params", value=0, checks=("params",), note="no weights"),
            rule_formula(self, "macs", 0),
            Formula(
                "FLOPs",
                f"{k}·elements",
                f"{k}·{mul(*self.out_shape)}",
                self.flops(),
                ("flops",),
                f"{self.type_name} counted as {k} FLOP(s) per element",
            ),
        ]

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """The activation's definition, element-wise (PyTorch's formulas).

        hardsigmoid = relu6(x + 3) / 6, hardswish = x · hardsigmoid(x), silu = swish =
        x · σ(x), mish = x · tanh(softplus(x)), elu = x if x > 0 else α·(eˣ − 1).
        gelu = x/2 · (1 + erf(x/√2)) with erf from :func:`np_erfc` (relative error < 1.2e-7,
        computed in float64), or with ``approximate: tanh`` x/2 · (1 + tanh(√(2/π)(x + 0.044715x³))).
        """
        import numpy as np

        x = inputs[0]
        t = self.type_name
        if t == "relu":
            return np.maximum(x, 0)
        if t == "relu6":
            return np.clip(x, 0, 6)
        if t == "leaky_relu":
            return np.where(x >= 0, x, x * x.dtype.type(self.args["negative_slope"]))
        if t == "elu":
            return np.where(x > 0, x, x.dtype.type(self.args["alpha"]) * np.expm1(np.minimum(x, 0)))
        if t == "sigmoid":
            return _sigmoid(x)
        if t == "tanh":
            return np.tanh(x)
        if t in ("silu", "swish"):
            y = _sigmoid(x)
            y *= x
            return y
        if t == "hardsigmoid":
            return np.clip(x + 3, 0, 6) / 6
        if t == "hardswish":
            return x * (np.clip(x + 3, 0, 6) / 6)
        if t == "mish":
            return x * np.tanh(np.logaddexp(0, x))
        if t == "softplus":  # PyTorch: x where βx > threshold, else log(1 + e^(βx)) / β
            b = x.dtype.type(self.args["beta"])
            return np.where(x * b > self.args["threshold"], x, np.logaddexp(0, x * b) / b)
        if t == "gelu":
            if self.args["approximate"] == "tanh":
                c = np.sqrt(2 / np.pi)
                return 0.5 * x * (1 + np.tanh(x.dtype.type(c) * (x + 0.044715 * x**3)))
            x64 = x.astype(np.float64)
            # x/2·(1 + erf(x/√2)) = x/2 · erfc(−x/√2): accurate in the negative tail too
            return (0.5 * x64 * np_erfc(-x64 / np.sqrt(2.0))).astype(x.dtype)
        raise AssertionError(f"no forward for activation {t}")  # pragma: no cover


@register
class PReLU(Layer):
    """PReLU (PyTorch ``nn.PReLU``): y = x if x ≥ 0 else a·x, with a learned slope a, one
    shared (``num_parameters: 1``, the default) or one per channel (axis 0).

    Params = num_parameters; FLOPs = 2 per element (compare, multiply), as leaky_relu.
    """

    NAMES = ("prelu",)
    CATEGORY = "activation"
    ARGS = {
        "num_parameters": Arg("int", 1, "1 (shared) or the number of channels", minimum=1),
        "init": Arg("float", 0.25, "initial slope"),
    }

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        k = self.args["num_parameters"]
        if k != 1 and k != x[0]:
            raise CnncalcError(
                f"num_parameters={k} but the input has {x[0]} channels (axis 0)",
                hint="use 1 (one shared slope) or the channel count",
            )
        return x

    def declare_weights(self) -> list[Any]:
        from .base import Weight

        return [Weight("weight", (self.args["num_parameters"],))]

    def flops(self) -> int:
        return 2 * self.out_elements

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        import numpy as np

        x = inputs[0]
        a = params["weight"].reshape((-1,) + (1,) * (x.ndim - 2))
        return np.where(x >= 0, x, a * x)


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

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """softmax = e^(x − max) / Σ e^(x − max) along the axis; log_softmax its log, stably."""
        import numpy as np

        x = inputs[0]
        ax = self.args["axis"]
        ax = ax + 1 if ax >= 0 else ax  # batch axis first
        z = x - x.max(axis=ax, keepdims=True)
        if self.type_name == "log_softmax":
            return z - np.log(np.exp(z).sum(axis=ax, keepdims=True))
        e = np.exp(z)
        return e / e.sum(axis=ax, keepdims=True)


@register
class Dropout(Layer):
    """Dropout (identity at inference): same shape, no weights, 0 FLOPs at inference."""

    NAMES = ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout")
    VIEW = "alias"
    CATEGORY = "regularization"
    ARGS = {"p": Arg("float", 0.5, "probability of zeroing an element", minimum=0.0)}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        if self.args["p"] >= 1.0:
            raise CnncalcError(f"dropout probability p must be < 1, received p={self.args['p']}")
        return in_shapes[0]

    def flops(self) -> int:
        return 0

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Inference: the identity (PyTorch's inverted dropout scales at training time only)."""
        return inputs[0]


@register
class Identity(Layer):
    """Identity: passes its input through. No weights, 0 FLOPs."""

    NAMES = ("identity",)
    VIEW = "alias"
    CATEGORY = "other"
    ARGS = {}

    def flops(self) -> int:
        return 0

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        return inputs[0]


def _sigmoid(x: Any) -> Any:
    """σ(x) = 1 / (1 + e^(−x)), in place on one buffer (4 passes; 7× faster than the branchy form).

    Accurate in both tails: for x ≪ 0, 1/(1 + e^(−x)) ≈ eˣ to full relative precision, and
    e^(−x) overflowing to ∞ (x < −88 in float32) gives 0 where σ is below float32's range.
    """
    import numpy as np

    t = np.negative(x)
    with np.errstate(over="ignore"):
        np.exp(t, out=t)
    t += 1
    return np.reciprocal(t, out=t)


def np_erfc(x: Any) -> Any:
    """Complementary error function, vectorised (NumPy has none; SciPy is not a dependency).

    Numerical Recipes' ``erfcc`` (Chebyshev fit): relative error < 1.2·10⁻⁷ everywhere, which
    is float32 precision. With z = |x|, t = 1/(1 + z/2):
    erfc(z) = t·exp(−z² − 1.26551223 + t·(1.00002368 + t·(0.37409196 + …))), and
    erfc(−z) = 2 − erfc(z).
    """
    import numpy as np

    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -0.82215223 + t * 0.17087277
    for c in (1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196):
        poly = c + t * poly
    poly = 1.00002368 + t * poly
    r = t * np.exp(-z * z - 1.26551223 + t * poly)
    return np.where(x >= 0, r, 2.0 - r)
