"""Normalisation layers: batch, frozen batch, layer, group, instance, local response and L2 norm."""

from __future__ import annotations

from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Weight, fmt_shape, register


@register
class BatchNorm(Layer):
    """Batch normalisation over channels (axis 0 of the batch-excluded shape).

    Params: weight γ and bias β ``[C]`` (if ``affine``; Keras's ``scale: false`` / ``center:
    false`` drop γ or β alone); buffers: running mean and variance ``[C]``
    (if ``track_running_stats``). PyTorch also keeps a scalar ``num_batches_tracked`` counter,
    which is not counted. Keras counts the running statistics as non-trainable parameters
    (``--convention keras``). FLOPs at inference = 2 per element (scale and shift, folded).
    """

    NAMES = ("batchnorm1d", "batchnorm2d", "batchnorm3d", "batchnorm")
    RANKS = {"batchnorm2d": 2, "batchnorm3d": 3}
    CATEGORY = "norm"
    ARGS = {
        "num_features": Arg("opt_int", None, "optional check of the channel count", minimum=1),
        "eps": Arg("float", 1e-5, "added to the variance"),
        "momentum": Arg("opt_float", 0.1, "running-statistics momentum"),
        "affine": Arg("bool", True, "learn γ and β"),
        "track_running_stats": Arg("bool", True, "keep running mean/variance buffers"),
        "scale": Arg("bool", True, "learn γ (Keras's scale; false in Keras's Inception v3)"),
        "center": Arg("bool", True, "learn β (Keras's center)"),
    }

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        if self.type_name == "batchnorm1d" and len(x) not in (1, 2):
            raise CnncalcError(f"batchnorm1d expects (C,) or (C, L), got {fmt_shape(x)}")
        if self.type_name != "batchnorm1d":
            self.check_rank(x, min_rank=0)
        n = self.args["num_features"]
        if n is not None and n != x[0]:
            raise CnncalcError(
                f"num_features={n} but the input has {x[0]} channels ({fmt_shape(x)})"
            )
        return x

    def declare_weights(self) -> list[Weight]:
        c = self.in_shapes[0][0]
        ws = []
        if self.args["affine"] and self.args["scale"]:
            ws.append(Weight("weight", (c,)))
        if self.args["affine"] and self.args["center"]:
            ws.append(Weight("bias", (c,)))
        if self.args["track_running_stats"]:
            ws += [Weight("running_mean", (c,), "buffer"), Weight("running_var", (c,), "buffer")]
        return ws

    def flops(self) -> int:
        return 2 * self.out_elements

    def explain(self) -> list[Any]:
        """γ, β per channel (2·C params), running mean and variance (2·C buffers), 2 FLOPs/element."""
        from ..explain import Formula, mul, rule_formula

        c = self.in_shapes[0][0]
        f = []
        p = sum(w.size for w in self.weights() if w.kind == "param")
        b = sum(w.size for w in self.weights() if w.kind == "buffer")
        if p == 2 * c:
            f.append(Formula("params", "2·C", f"2·{c}", p, ("params",), "γ and β per channel"))
        elif p:
            which = "γ" if self.args["center"] is False else "β"
            f.append(Formula("params", "C", f"{c}", p, ("params",), f"{which} per channel only"))
        else:
            f.append(Formula("params", value=0, checks=("params",), note="affine=false"))
        if b:
            f.append(
                Formula("buffers", "2·C", f"2·{c}", b, ("buffers",), "running mean and variance")
            )
        f.append(rule_formula(self, "macs", 0))
        f.append(
            Formula(
                "FLOPs",
                "2·elements",
                f"2·{mul(*self.out_shape)}",
                self.flops(),
                ("flops",),
                "at inference BN folds into one scale and one shift per element",
            )
        )
        return f

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Inference: y = (x − μ) / √(σ² + ε) · γ + β per channel (axis 1 of the batch).

        μ, σ² are the running statistics; without them (``track_running_stats: false``) PyTorch
        uses the batch's own statistics even in eval mode, and so does this (biased variance).
        """
        import numpy as np

        x = inputs[0]
        shape = (x.shape[1],) + (1,) * (x.ndim - 2)
        if "running_mean" in params:
            mean = params["running_mean"].reshape(shape)
            var = params["running_var"].reshape(shape)
        else:
            axes = (0, *range(2, x.ndim))
            mean = x.mean(axis=axes, keepdims=True)[0]
            var = x.var(axis=axes, keepdims=True)[0]
        scale = 1.0 / np.sqrt(var + np.asarray(self.args["eps"], dtype=x.dtype))
        if "weight" in params:
            scale = scale * params["weight"].reshape(shape)
        y = (x - mean) * scale
        if "bias" in params:
            y += params["bias"].reshape(shape)
        return y


@register
class FrozenBatchNorm(Layer):
    """Batch norm with fixed statistics and affine terms (torchvision ``FrozenBatchNorm2d``).

    All four tensors (weight, bias, running mean, running variance ``[C]``) are buffers, so the
    layer has 0 parameters: this is why torchvision's detection models publish the counts they do.
    FLOPs = 2 per element.
    """

    NAMES = ("frozen_batchnorm2d",)
    RANKS = {"frozen_batchnorm2d": 2}
    CATEGORY = "norm"
    ARGS = {"eps": Arg("float", 1e-5, "added to the variance")}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        self.check_rank(in_shapes[0])
        return in_shapes[0]

    def declare_weights(self) -> list[Weight]:
        c = self.in_shapes[0][0]
        return [
            Weight(n, (c,), "buffer") for n in ("weight", "bias", "running_mean", "running_var")
        ]

    def flops(self) -> int:
        return 2 * self.out_elements

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """y = x · s + (β − μ·s) with s = γ / √(σ² + ε) (torchvision's folded form)."""
        import numpy as np

        x = inputs[0]
        shape = (x.shape[1],) + (1,) * (x.ndim - 2)
        scale = params["weight"] / np.sqrt(params["running_var"] + np.float32(self.args["eps"]))
        shift = params["bias"] - params["running_mean"] * scale
        return x * scale.reshape(shape).astype(x.dtype) + shift.reshape(shape).astype(x.dtype)


@register
class LayerNorm(Layer):
    """Layer normalisation over the trailing ``normalized_shape`` axes (default: the last axis),
    or over the one ``axis`` given: ``layernorm2d`` (torchvision's ``LayerNorm2d``, ConvNeXt)
    normalises the channels (axis 0) of a channels-first (C, H, W) tensor at every position.

    Params: weight and bias of ``normalized_shape`` (C with ``axis``; if
    ``elementwise_affine``; bias unless ``bias: false``). FLOPs = 5 per element (mean,
    variance, normalise) + 2 with the affine terms.
    """

    NAMES = ("layernorm", "layer_norm", "layernorm2d")
    CATEGORY = "norm"
    ARGS = {
        "normalized_shape": Arg(
            "opt_ints", None, "trailing axes to normalise (default: last axis)", minimum=1
        ),
        "eps": Arg("float", 1e-5, "added to the variance"),
        "elementwise_affine": Arg("bool", True, "learn a scale (and bias) per element"),
        "bias": Arg("bool", True, "learn the bias (with elementwise_affine)"),
        "axis": Arg(
            "opt_int", None, "normalise this one axis instead (layernorm2d: 0, the channels)"
        ),
    }
    __slots__ = ("norm_shape", "ax")

    def _axis(self, rank: int) -> int | None:
        ax = self.args["axis"]
        if ax is None and self.type_name == "layernorm2d":
            ax = 0
        return None if ax is None else ax % rank

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        ax = self.args["axis"]
        if ax is not None and not -len(x) <= ax < len(x):
            raise CnncalcError(f"axis {ax} is out of range for shape {fmt_shape(x)}")
        self.ax = self._axis(len(x))
        if self.ax is not None:
            if self.args["normalized_shape"] not in (None, x[self.ax], (x[self.ax],)):
                raise CnncalcError(
                    f"normalized_shape {self.args['normalized_shape']} does not match axis "
                    f"{self.ax} of the input {fmt_shape(x)}"
                )
            self.norm_shape = (x[self.ax],)
            return x
        ns = self.args["normalized_shape"]
        ns = (x[-1],) if ns is None else ((ns,) if isinstance(ns, int) else ns)
        if len(ns) > len(x) or tuple(x[-len(ns) :]) != tuple(ns):
            raise CnncalcError(
                f"normalized_shape {list(ns)} does not match the trailing axes of the input {fmt_shape(x)}"
            )
        self.norm_shape = tuple(ns)
        return x

    def declare_weights(self) -> list[Weight]:
        if not self.args["elementwise_affine"]:
            return []
        ws = [Weight("weight", self.norm_shape)]
        if self.args["bias"]:
            ws.append(Weight("bias", self.norm_shape))
        return ws

    def flops(self) -> int:
        return (5 + (2 if self.args["elementwise_affine"] else 0)) * self.out_elements

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """y = (x − mean) / √(var + ε) · γ + β over the trailing normalised axes (biased var)."""
        import numpy as np

        x = inputs[0]
        ax = self._axis(x.ndim - 1)
        wshape: tuple[int, ...] | None = None
        if ax is not None:  # one axis (layernorm2d: the channels at every position)
            axes: tuple[int, ...] = (ax + 1,)
            wshape = (-1,) + (1,) * (x.ndim - ax - 2)
        else:
            ns = self.args["normalized_shape"]
            k = 1 if ns is None or isinstance(ns, int) else len(ns)
            axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        y = (x - mean) / np.sqrt(var + np.asarray(self.args["eps"], dtype=x.dtype))
        if "weight" in params:
            y *= params["weight"] if wshape is None else params["weight"].reshape(wshape)
        if "bias" in params:
            y += params["bias"] if wshape is None else params["bias"].reshape(wshape)
        return y


@register
class GroupNorm(Layer):
    """Group normalisation: channels split into ``num_groups`` groups, each normalised.

    Params: weight and bias ``[C]`` if ``affine``. FLOPs = 5 per element + 2 with affine.
    """

    NAMES = ("groupnorm", "group_norm")
    CATEGORY = "norm"
    ARGS = {
        "num_groups": Arg("int", doc="number of channel groups", minimum=1),
        "num_channels": Arg("opt_int", None, "optional check of the channel count", minimum=1),
        "eps": Arg("float", 1e-5, "added to the variance"),
        "affine": Arg("bool", True, "learn a scale and bias per channel"),
    }

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        c, g = x[0], self.args["num_groups"]
        if self.args["num_channels"] is not None and self.args["num_channels"] != c:
            raise CnncalcError(
                f"num_channels={self.args['num_channels']} but the input has {c} channels"
            )
        if c % g:
            raise CnncalcError(f"num_groups={g} does not divide the {c} channels")
        return x

    def declare_weights(self) -> list[Weight]:
        if not self.args["affine"]:
            return []
        c = self.in_shapes[0][0]
        return [Weight("weight", (c,)), Weight("bias", (c,))]

    def flops(self) -> int:
        return (5 + (2 if self.args["affine"] else 0)) * self.out_elements

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Normalise each (sample, group of C/G channels) over its channels and positions."""
        import numpy as np

        x = inputs[0]
        n, c = x.shape[:2]
        xg = x.reshape(n, self.args["num_groups"], -1)
        mean = xg.mean(axis=2, keepdims=True)
        var = xg.var(axis=2, keepdims=True)
        y = ((xg - mean) / np.sqrt(var + np.asarray(self.args["eps"], dtype=x.dtype))).reshape(
            x.shape
        )
        if "weight" in params:
            shape = (c,) + (1,) * (x.ndim - 2)
            y = y * params["weight"].reshape(shape) + params["bias"].reshape(shape)
        return y


@register
class InstanceNorm(Layer):
    """Instance normalisation (PyTorch ``InstanceNorm1d/2d/3d``): each channel of each sample
    normalised over its positions.

    PyTorch's defaults: ``affine: false`` and ``track_running_stats: false`` (no weights). With
    ``affine``, weight and bias ``[C]`` are params; with ``track_running_stats``, running mean
    and variance ``[C]`` are buffers (used at inference). FLOPs = 5 per element + 2 with affine.
    """

    NAMES = ("instance_norm", "instancenorm1d", "instancenorm2d", "instancenorm3d")
    RANKS = {"instancenorm1d": 1, "instancenorm2d": 2, "instancenorm3d": 3}
    CATEGORY = "norm"
    ARGS = {
        "num_features": Arg("opt_int", None, "optional check of the channel count", minimum=1),
        "eps": Arg("float", 1e-5, "added to the variance"),
        "momentum": Arg("opt_float", 0.1, "running-statistics momentum"),
        "affine": Arg("bool", False, "learn a scale and bias per channel"),
        "track_running_stats": Arg("bool", False, "keep (and use) running statistics"),
    }

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        self.check_rank(x)
        n = self.args["num_features"]
        if n is not None and n != x[0]:
            raise CnncalcError(f"num_features={n} but the input has {x[0]} channels")
        return x

    def declare_weights(self) -> list[Weight]:
        c = self.in_shapes[0][0]
        ws = []
        if self.args["affine"]:
            ws += [Weight("weight", (c,)), Weight("bias", (c,))]
        if self.args["track_running_stats"]:
            ws += [Weight("running_mean", (c,), "buffer"), Weight("running_var", (c,), "buffer")]
        return ws

    def flops(self) -> int:
        return (5 + (2 if self.args["affine"] else 0)) * self.out_elements

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """y = (x − μ) / √(σ² + ε) · γ + β per (sample, channel); μ, σ² over the positions
        (biased), or the running statistics when they are tracked (PyTorch's eval mode)."""
        import numpy as np

        x = inputs[0]
        shape = (x.shape[1],) + (1,) * (x.ndim - 2)
        if "running_mean" in params:
            mean = params["running_mean"].reshape(shape)
            var = params["running_var"].reshape(shape)
        else:
            axes = tuple(range(2, x.ndim))
            mean = x.mean(axis=axes, keepdims=True)
            var = x.var(axis=axes, keepdims=True)
        y = (x - mean) / np.sqrt(var + np.asarray(self.args["eps"], dtype=x.dtype))
        if "weight" in params:
            y = y * params["weight"].reshape(shape) + params["bias"].reshape(shape)
        return y.astype(x.dtype, copy=False)


@register
class LocalResponseNorm(Layer):
    """Local response normalisation across ``size`` neighbouring channels (AlexNet 2012).

    b = a / (k + α/n · Σ a²)^β over a window of n = ``size`` channels (PyTorch's form, which
    divides α by n). No weights. FLOPs = 2·size + 3 per element (squares and sum, scale, power,
    divide).
    """

    NAMES = ("local_response_norm", "lrn")
    CATEGORY = "norm"
    ARGS = {
        "size": Arg("int", doc="number of neighbouring channels n", minimum=1),
        "alpha": Arg("float", 1e-4, "scale α"),
        "beta": Arg("float", 0.75, "exponent β"),
        "k": Arg("float", 1.0, "additive constant k"),
    }

    def flops(self) -> int:
        return (2 * self.args["size"] + 3) * self.out_elements

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """b_c = a_c / (k + α/n · Σ a_j²)^β, j from c − ⌊n/2⌋ to c + ⌊(n−1)/2⌋ (zeros outside).

        PyTorch's ``local_response_norm``: the sum is an average over n channels (padded zeros
        included), i.e. α is divided by n.
        """
        import numpy as np
        from numpy.lib.stride_tricks import sliding_window_view

        x = inputs[0]
        size = self.args["size"]
        sq = np.pad(x * x, [(0, 0), (size // 2, (size - 1) // 2)] + [(0, 0)] * (x.ndim - 2))
        sums = sliding_window_view(sq, size, axis=1).sum(axis=-1)
        a = self.args
        return x / (a["k"] + a["alpha"] / size * sums).astype(x.dtype) ** a["beta"]


@register
class L2Normalize(Layer):
    """L2 normalisation along one axis (PyTorch ``F.normalize(x, p=2, dim)``; ParseNet's and
    SSD's L2Norm): y = x / max(‖x‖₂, ε), the norm over ``axis`` at every other position, ε
    clamping the norm from below as ``F.normalize`` does (default 1e-12). ``scale: true``
    multiplies by a learned γ with one value per element of the axis, shape (C,): SSD300's
    conv4_3 ``scale_weight`` (torchvision: ``scale_weight.view(1, -1, 1, 1) * F.normalize(x)``,
    512 parameters initialised to 20).

    Params = C with ``scale``, else 0. MACs = 0 (no conv, linear or matmul). FLOPs = 3 per
    element (square, sum, divide) + 1 per element with ``scale``; the one square root and clamp
    per normalised vector are not counted (as LayerNorm's root is not, and as Swin v2's cosine
    attention counts its normalisation of q and k: 3 per element).
    """

    NAMES = ("l2_normalize",)
    CATEGORY = "norm"
    ARGS = {
        "axis": Arg("axis", 0, "the axis whose vectors are normalised (0 = channels, -1 = last)"),
        "eps": Arg("float", 1e-12, "lower bound of the norm (F.normalize's eps)", minimum=0.0),
        "scale": Arg("bool", False, "learn a scale per element of the axis (SSD's L2Norm)"),
    }
    __slots__ = ("ax",)

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        ax = self.args["axis"]
        if not -len(x) <= ax < len(x):
            raise CnncalcError(
                f"axis {ax} is out of range for shape {fmt_shape(x)}",
                hint=f"axes of a rank-{len(x)} shape (batch excluded): 0 … {len(x) - 1}, "
                f"or −1 … −{len(x)}",
            )
        self.ax = ax % len(x)
        return x

    def declare_weights(self) -> list[Weight]:
        return [Weight("weight", (self.in_shapes[0][self.ax],))] if self.args["scale"] else []

    def flops(self) -> int:
        return (3 + (1 if self.args["scale"] else 0)) * self.out_elements

    def explain(self) -> list[Any]:
        """The vectors normalised, γ per element of the axis, 3 (+1) FLOPs per element."""
        from ..explain import Formula, mul, rule_formula, weights_formulas

        x = self.in_shapes[0]
        c = x[self.ax]
        per = 3 + (1 if self.args["scale"] else 0)
        return [
            Formula(
                "vectors",
                "elements / C",
                f"{mul(*x)} / {c}",
                self.out_elements // c,
                note=f"each of {c} values along axis {self.ax}, divided by max(‖x‖₂, "
                f"{self.args['eps']:g})",
            ),
            *weights_formulas(self),
            rule_formula(self, "macs", 0),
            Formula(
                "FLOPs",
                f"{per}·elements",
                f"{per}·{mul(*self.out_shape)}",
                self.flops(),
                ("flops",),
                "square, sum, divide" + (", scale" if self.args["scale"] else ""),
            ),
        ]

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """x / max(√Σ x², ε) along the axis (after the batch), times γ broadcast along it."""
        import numpy as np

        x = inputs[0]
        ax = self.args["axis"] % (x.ndim - 1) + 1
        norm = np.sqrt(np.sum(np.square(x, dtype=np.float64), axis=ax, keepdims=True))
        y = x / np.maximum(norm, self.args["eps"])
        if "weight" in params:
            y = y * params["weight"].reshape((-1,) + (1,) * (x.ndim - ax - 1))
        return y.astype(x.dtype, copy=False)
