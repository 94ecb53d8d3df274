"""Input preprocessing layers that Keras Applications put in front of some models.

They hold no learned weights but Keras counts their statistics as non-trainable parameters
(EfficientNetB0's 5,330,571 includes the 7 of its Normalization layer), so cnncalc declares them
as buffers: `--convention keras` then counts them as Keras does.
"""

from __future__ import annotations

from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Weight, register


@register
class Normalization(Layer):
    """Keras ``Normalization`` (axis = channels): y = (x − mean) / √variance, per channel.

    Buffers: mean ``[C]``, variance ``[C]`` and the sample ``count`` (a scalar, 1 element), the
    adapted statistics: 2·C + 1 (Keras counts them as non-trainable parameters). 0 MACs.
    FLOPs = 2 per element (subtract, divide).
    """

    NAMES = ("normalization",)
    CATEGORY = "norm"
    ARGS = {}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        if len(x) < 1:
            raise CnncalcError("normalization needs a channel axis")
        return x

    def declare_weights(self) -> list[Weight]:
        c = self.in_shapes[0][0]
        return [
            Weight("mean", (c,), "buffer"),
            Weight("variance", (c,), "buffer"),
            Weight("count", (), "buffer"),
        ]

    def flops(self) -> int:
        return 2 * self.out_elements

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """y = (x − mean) / √variance per channel (axis 1 of the batch-first array)."""
        import numpy as np

        x = inputs[0]
        shape = (x.shape[1],) + (1,) * (x.ndim - 2)
        var = np.maximum(params["variance"].reshape(shape), np.finfo(x.dtype).eps)
        return (x - params["mean"].reshape(shape)) / np.sqrt(var)


@register
class Rescaling(Layer):
    """Keras ``Rescaling``: y = x · scale + offset (e.g. scale 1/255). No weights, 0 MACs.

    FLOPs = 1 per element (2 with a non-zero offset).
    """

    NAMES = ("rescaling",)
    CATEGORY = "other"
    ARGS = {
        "scale": Arg("float", doc="multiplier, e.g. 1/255"),
        "offset": Arg("float", 0.0, "added after scaling"),
    }

    def flops(self) -> int:
        return (2 if self.args["offset"] else 1) * self.out_elements

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """y = x · scale + offset."""
        x = inputs[0]
        return x * x.dtype.type(self.args["scale"]) + x.dtype.type(self.args["offset"])
