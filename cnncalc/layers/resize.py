"""Layers that change spatial size without weights: zero padding, cropping, upsampling."""

from __future__ import annotations

import math

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Window, fmt_shape, register
from .conv import resolve_padding

_PER_SIDE = "an int (all sides), one int per spatial axis, or [lo, hi] pairs per axis"


@register
class ZeroPad(Layer):
    """Pad the spatial axes with zeros (Keras ``ZeroPadding2D``; PyTorch ``ZeroPad2d``).

    ``padding`` is per spatial axis in order (H, W): an int, one int per axis, or ``[lo, hi]``
    pairs. Note PyTorch's ``ZeroPad2d((left, right, top, bottom))`` lists W first.
    out = W + lo + hi. No weights, 0 FLOPs.
    """

    NAMES = ("zero_pad1d", "zero_pad2d", "zero_pad3d", "zero_pad")
    RANKS = {"zero_pad1d": 1, "zero_pad2d": 2, "zero_pad3d": 3}
    CATEGORY = "reshape"
    ARGS = {"padding": Arg("padding", doc=_PER_SIDE)}
    __slots__ = ("pads",)

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        rank = self.check_rank(x)
        if self.args["padding"] in ("same", "valid"):
            raise CnncalcError("zero_pad takes explicit sizes, not 'same'/'valid'")
        ones = (1,) * rank
        self.pads = resolve_padding(self, x[1:], ones, ones, ones)
        return (x[0], *(w + lo + hi for w, (lo, hi) in zip(x[1:], self.pads)))

    def flops(self) -> int:
        return 0

    def window(self) -> Window:
        r = len(self.pads)
        return Window((1,) * r, (1,) * r, (1,) * r, tuple(lo for lo, _ in self.pads))


@register
class Crop(Layer):
    """Remove rows/columns from the borders (Keras ``Cropping2D``). out = W − lo − hi. 0 FLOPs."""

    NAMES = ("crop1d", "crop2d", "crop3d", "crop")
    RANKS = {"crop1d": 1, "crop2d": 2, "crop3d": 3}
    CATEGORY = "reshape"
    ARGS = {"cropping": Arg("padding", doc=_PER_SIDE)}
    __slots__ = ("crops",)

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        rank = self.check_rank(x)
        if self.args["cropping"] in ("same", "valid"):
            raise CnncalcError("crop takes explicit sizes")
        ones = (1,) * rank
        self.crops = resolve_padding(self, x[1:], ones, ones, ones, key="cropping")
        out = tuple(w - lo - hi for w, (lo, hi) in zip(x[1:], self.crops))
        if any(o <= 0 for o in out):
            raise CnncalcError(
                f"cropping {[list(c) for c in self.crops]} removes all of {fmt_shape(x)}"
            )
        return (x[0], *out)

    def flops(self) -> int:
        return 0

    def window(self) -> Window:
        r = len(self.crops)
        return Window((1,) * r, (1,) * r, (1,) * r, tuple(-lo for lo, _ in self.crops))


@register
class CenterCrop(Layer):
    """Crop the centre of the spatial axes to ``size``, or to the spatial size of a second input.

    U-Net's crop-and-concat: the skip connection is cropped to the upsampled map's size. When the
    difference is odd the extra row/column is removed at the end (lo = ⌊diff/2⌋). 0 FLOPs.
    """

    NAMES = ("center_crop",)
    CATEGORY = "reshape"
    MAX_INPUTS = 2
    ARGS = {
        "size": Arg(
            "opt_ints", None, "target spatial size (or give a second input as reference)", minimum=1
        )
    }
    __slots__ = ("crops",)

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        rank = self.check_rank(x)
        size = self.args["size"]
        if len(in_shapes) == 2:
            if size is not None:
                raise CnncalcError("give either size or a reference input, not both")
            ref = in_shapes[1]
            if len(ref) != len(x):
                raise CnncalcError(
                    f"reference shape {fmt_shape(ref)} has another rank than {fmt_shape(x)}"
                )
            target = tuple(ref[1:])
        elif size is None:
            raise CnncalcError("missing 'size' (or a second input whose spatial size to crop to)")
        else:
            target = self.per_axis("size", rank)
        for w, t in zip(x[1:], target):
            if t > w:
                raise CnncalcError(f"cannot crop {fmt_shape(x)} to a larger size {list(target)}")
        self.crops = tuple(((w - t) // 2, (w - t) - (w - t) // 2) for w, t in zip(x[1:], target))
        return (x[0], *target)

    def flops(self) -> int:
        return 0

    def window(self) -> Window:
        r = len(self.crops)
        return Window((1,) * r, (1,) * r, (1,) * r, tuple(-lo for lo, _ in self.crops))


_TAPS = {"nearest": 1, "linear": 2, "bilinear": 2, "trilinear": 2, "bicubic": 4}


@register
class Upsample(Layer):
    """Resize the spatial axes by ``scale_factor`` or to ``size`` (PyTorch ``Upsample``).

    out = ⌊W · scale⌋ per axis (PyTorch's rule), or ``size``. No weights, 0 MACs.
    FLOPs per output element: nearest 0 (a copy); (bi/tri)linear 2^r taps → 2·2^r − 1
    (multiplies and adds); bicubic 4^r taps → 2·4^r − 1, r = spatial rank.
    """

    NAMES = ("upsample", "upsample1d", "upsample2d", "upsample3d")
    RANKS = {"upsample1d": 1, "upsample2d": 2, "upsample3d": 3}
    CATEGORY = "resize"
    ARGS = {
        "scale_factor": Arg("opt_float", None, "multiplier per axis (one number)"),
        "size": Arg("opt_ints", None, "output spatial size", minimum=1),
        "mode": Arg("choice", "nearest", "interpolation", choices=tuple(_TAPS)),
        "align_corners": Arg("bool", False, "align corner pixels (linear modes)"),
    }

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        rank = self.check_rank(x)
        sf, size = self.args["scale_factor"], self.args["size"]
        if (sf is None) == (size is None):
            raise CnncalcError("give exactly one of scale_factor and size")
        if sf is not None:
            if sf <= 0:
                raise CnncalcError(f"scale_factor must be positive, received {sf}")
            out = tuple(int(math.floor(w * sf)) for w in x[1:])
        else:
            out = self.per_axis("size", rank)
        return (x[0], *out)

    def flops(self) -> int:
        taps = _TAPS[self.args["mode"]]
        if taps == 1:
            return 0
        r = len(self.out_shape) - 1
        return (2 * taps**r - 1) * self.out_elements

    def window(self) -> Window | None:
        sp_in, sp_out = self.in_shapes[0][1:], self.out_shape[1:]
        if any(o % i for i, o in zip(sp_in, sp_out)):
            return None
        r = len(sp_in)
        k = 1 if self.args["mode"] == "nearest" else _TAPS[self.args["mode"]]
        return Window(
            (k,) * r, tuple(o // i for i, o in zip(sp_in, sp_out)), (1,) * r, (0,) * r, True
        )
