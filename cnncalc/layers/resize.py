"""Layers that change spatial size without weights: zero padding, cropping, upsampling."""

from __future__ import annotations

import math
from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Window, fmt_shape, register
from .conv import np_pad, resolve_padding

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

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        return np_pad(inputs[0], self.pads)

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

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        x = inputs[0]
        return x[
            (slice(None), slice(None))
            + tuple(slice(lo, w - hi) for w, (lo, hi) in zip(x.shape[2:], self.crops))
        ]


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

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Keep ``[⌊(W − T)/2⌋, ⌊(W − T)/2⌋ + T)`` on each axis; T from ``size`` or the reference."""
        x = inputs[0]
        sp = x.shape[2:]
        target = inputs[1].shape[2:] if len(inputs) == 2 else self.per_axis("size", len(sp))
        return x[
            (slice(None), slice(None))
            + tuple(slice((w - t) // 2, (w - t) // 2 + t) for w, t in zip(sp, target))
        ]

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
        """Integer scale s: the transposed-conv window (kernel F, stride s, padding P) that holds
        every output's source pixels: output o reads inputs in [(o + P − F + 1)/s, (o + P)/s].

        Nearest reads ⌊o/s⌋ (F = s, P = 0); linear modes read ⌊x⌋, ⌊x⌋ + 1 and bicubic
        ⌊x⌋ − 1 … ⌊x⌋ + 2 with x = (o + ½)/s − ½ (bilinear ×2: F = 4, P = 1, the classic
        bilinear ConvTranspose). None for a non-integer scale or ``align_corners`` (no regular
        window describes them).
        """
        sp_in, sp_out = self.in_shapes[0][1:], self.out_shape[1:]
        mode = self.args["mode"]
        if any(o % i for i, o in zip(sp_in, sp_out)) or (
            self.args["align_corners"] and mode != "nearest"
        ):
            return None
        lo_tap, hi_tap = {1: (0, 0), 2: (0, 1), 4: (-1, 2)}[_TAPS[mode]]
        ks, ss, pads = [], [], []
        for i, o in zip(sp_in, sp_out):
            s = o // i

            def first(p: int, s: int = s) -> int:
                return p // s if mode == "nearest" else (2 * p + 1 - s) // (2 * s)

            ps = range(s, 3 * s)  # one period away from the clamped left edge
            pad = max(s * (first(p) + hi_tap) - p for p in ps)
            ks.append(max(p + pad - s * (first(p) + lo_tap) for p in ps) + 1)
            ss.append(s)
            pads.append(pad)
        r = len(sp_in)
        return Window(tuple(ks), tuple(ss), (1,) * r, tuple(pads), True)

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """PyTorch's ``interpolate``, one spatial axis at a time (every mode is separable).

        Output size: ``size``, or ⌊W·scale⌋. Source coordinate of output index i, with
        ratio = 1/scale_factor when given (PyTorch uses the factor itself, not in/out), else W/out:

        * nearest: ⌊i·ratio⌋ in float32 (PyTorch's ``nearest_idx``), at most W − 1;
        * linear modes: align_corners → i·(W−1)/(out−1); else max((i + ½)·ratio − ½, 0); the two
          neighbours ⌊src⌋ and ⌊src⌋ + 1 (clamped) weighted 1 − λ and λ;
        * bicubic: the same coordinate without the clamp at 0, four taps ⌊src⌋ − 1 … ⌊src⌋ + 2
          (clamped to the edge) with Keys' cubic convolution weights, A = −0.75.
        """
        import numpy as np

        y = inputs[0]
        a = self.args
        sf, mode, ac = a["scale_factor"], a["mode"], a["align_corners"]
        r = y.ndim - 2
        sizes = (
            self.per_axis("size", r)
            if a["size"] is not None
            else tuple(int(math.floor(w * sf)) for w in y.shape[2:])
        )
        for axis, out in enumerate(sizes, start=2):
            y = _resize_axis(np, y, axis, out, sf, mode, ac)
        return y


def _resize_axis(
    np: Any, x: Any, axis: int, out: int, sf: float | None, mode: str, align_corners: bool
) -> Any:
    """Interpolate ``x`` along one axis to ``out`` samples (see :meth:`Upsample.forward`)."""
    w = x.shape[axis]
    dst = np.arange(out, dtype=np.float64)
    ratio = (1.0 / sf) if sf is not None else w / out
    if mode == "nearest":
        r32 = np.float32(ratio)
        src = np.floor(np.arange(out, dtype=np.float32) * r32).astype(np.int64)
        return np.take(x, np.minimum(src, w - 1), axis=axis)
    if align_corners:
        src = dst * ((w - 1) / (out - 1) if out > 1 else 0.0)
    else:
        src = (dst + 0.5) * ratio - 0.5
        if mode != "bicubic":
            src = np.maximum(src, 0.0)
    i0 = np.floor(src).astype(np.int64)
    t = src - i0
    bshape = (-1,) + (1,) * (x.ndim - axis - 1)
    if mode != "bicubic":
        i0 = np.minimum(i0, w - 1)
        i1 = np.minimum(i0 + 1, w - 1)
        lam = np.clip(t, 0.0, 1.0).reshape(bshape).astype(x.dtype)
        return np.take(x, i0, axis=axis) * (1 - lam) + np.take(x, i1, axis=axis) * lam
    A = -0.75

    def near(z: Any) -> Any:  # |z| ≤ 1
        return ((A + 2) * z - (A + 3)) * z * z + 1

    def far(z: Any) -> Any:  # 1 < |z| < 2
        return ((A * z - 5 * A) * z + 8 * A) * z - 4 * A

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    y = 0
    for k, wk in enumerate(weights):
        idx = np.clip(i0 - 1 + k, 0, w - 1)
        y = y + np.take(x, idx, axis=axis) * wk.reshape(bshape).astype(x.dtype)
    return y


@register
class ResizeTo(Upsample):
    """Resize the first input's spatial axes to the second input's (segmentation heads resize
    the logits to the image: ``F.interpolate(x, size=image.shape[-2:])``).

    (C, h, w) and a reference (C', H, W) → (C, H, W); the reference only lends its size.
    Counted as ``upsample`` to that size: no weights, 0 MACs, FLOPs per output element
    nearest 0, (bi/tri)linear 2·2^r − 1, bicubic 2·4^r − 1.
    """

    NAMES = ("resize_to",)
    RANKS = {}
    MIN_INPUTS = 2
    MAX_INPUTS = 2
    ARGS = {
        "mode": Arg("choice", "bilinear", "interpolation", choices=tuple(_TAPS)),
        "align_corners": Arg("bool", False, "align corner pixels (linear modes)"),
    }

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x, ref = in_shapes
        self.check_rank(x)
        if len(ref) != len(x):
            raise CnncalcError(
                f"cannot resize {fmt_shape(x)} to the size of {fmt_shape(ref)}: ranks differ"
            )
        return (x[0], *ref[1:])

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """:meth:`Upsample.forward` to the reference's size (PyTorch's ``size=`` rule)."""
        import numpy as np

        y, ref = inputs
        for axis, out in enumerate(ref.shape[2:], start=2):
            y = _resize_axis(np, y, axis, out, None, self.args["mode"], self.args["align_corners"])
        return y
