"""Convolution and transposed convolution (1d/2d/3d)."""

from __future__ import annotations

from typing import Any

from .. import windows
from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Weight, Window, fmt_shape, prod, register

Pads = tuple[tuple[int, int], ...]


def resolve_padding(
    layer: Layer, spatial: Shape, k: Shape, s: Shape, d: Shape, key: str = "padding"
) -> Pads:
    """Turn a ``padding`` argument into ``(lo, hi)`` per spatial axis.

    ``int`` → the same on both sides of every axis; a list → one value per axis, each an int or a
    ``[lo, hi]`` pair; ``"valid"`` → 0; ``"same"`` → :func:`cnncalc.windows.same_padding`
    (``out = ⌈W/S⌉``, the odd pixel at the end as TensorFlow/ONNX SAME_UPPER do).
    """
    p: Any = layer.args[key]
    rank = len(spatial)
    if p == "valid":
        return ((0, 0),) * rank
    if p == "same":
        return tuple(windows.same_padding(w, kk, ss, dd) for w, kk, ss, dd in zip(spatial, k, s, d))
    if isinstance(p, int):
        return ((p, p),) * rank
    if len(p) != rank:
        raise CnncalcError(
            f"argument '{key}' has {len(p)} values but the input has {rank} spatial axes; "
            f"received {key}={[list(x) if isinstance(x, tuple) else x for x in p]}",
            hint="give one value per axis, or [lo, hi] pairs",
        )
    return tuple(x if isinstance(x, tuple) else (x, x) for x in p)


def _check_kernel_fits(layer: Layer, spatial: Shape, k: Shape, d: Shape, pads: Pads) -> None:
    for axis, (w, kk, dd, (lo, hi)) in enumerate(zip(spatial, k, d, pads)):
        eff = windows.effective_kernel(kk, dd)
        if eff > w + lo + hi:
            dil = f" (dilated: {dd}·({kk}−1)+1 = {eff})" if dd > 1 else ""
            raise CnncalcError(
                f"kernel {kk}{dil} is larger than the padded input on spatial axis {axis}: "
                f"{w} + {lo} + {hi} = {w + lo + hi}",
                hint=f"pad by at least {-(-(eff - w) // 2)} per side, or use a smaller kernel",
            )


@register
class Conv(Layer):
    """N-d convolution (PyTorch ``ConvNd``, Keras ``ConvND``).

    out = ⌊(W + lo + hi − D·(F−1) − 1) / S⌋ + 1 per spatial axis.
    Weight ``[C_out, C_in/groups, *F]``, bias ``[C_out]``:
    params = C_out·(C_in/groups)·∏F + C_out.
    MACs = out_elements · (C_in/groups) · ∏F.
    FLOPs = 2·MACs + out_elements (bias add) if bias.
    """

    NAMES = ("conv1d", "conv2d", "conv3d", "conv")
    RANKS = {"conv1d": 1, "conv2d": 2, "conv3d": 3}
    CATEGORY = "conv"
    ARGS = {
        "out_channels": Arg("int", doc="number of filters (C_out)", minimum=1),
        "kernel_size": Arg("ints", doc="filter size F, per axis", minimum=1),
        "stride": Arg("ints", 1, "step S between windows", minimum=1),
        "padding": Arg(
            "padding", 0, "zero padding P: int, per axis, [lo, hi] pairs, 'same', 'valid'"
        ),
        "dilation": Arg("ints", 1, "spacing D between kernel taps", minimum=1),
        "groups": Arg("int", 1, "channel groups (groups = C_in: depthwise)", minimum=1),
        "bias": Arg("bool", True, "add a learned bias per output channel"),
        "in_channels": Arg("opt_int", None, "optional check of the input channels", minimum=1),
    }
    __slots__ = ("k", "s", "d", "pads", "cin")

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        rank = self.check_rank(x)
        cin, spatial = x[0], x[1:]
        a = self.args
        if a["in_channels"] is not None and a["in_channels"] != cin:
            raise CnncalcError(
                f"in_channels={a['in_channels']} but the input has {cin} channels "
                f"(shape {fmt_shape(x)})"
            )
        g, cout = a["groups"], a["out_channels"]
        if cin % g or cout % g:
            raise CnncalcError(
                f"groups={g} must divide both input channels ({cin}) and out_channels ({cout})",
                hint=f"received groups={g}, in_channels={cin}, out_channels={cout}",
            )
        self.cin = cin
        self.k, self.s, self.d = (
            self.per_axis(n, rank) for n in ("kernel_size", "stride", "dilation")
        )
        self.pads = resolve_padding(self, spatial, self.k, self.s, self.d)
        _check_kernel_fits(self, spatial, self.k, self.d, self.pads)
        out = tuple(
            windows.conv_out(w, kk, ss, lo, hi, dd)
            for w, kk, ss, dd, (lo, hi) in zip(spatial, self.k, self.s, self.d, self.pads)
        )
        return (cout, *out)

    def declare_weights(self) -> list[Weight]:
        a = self.args
        ws = [Weight("weight", (a["out_channels"], self.cin // a["groups"], *self.k))]
        if a["bias"]:
            ws.append(Weight("bias", (a["out_channels"],)))
        return ws

    def macs(self) -> int:
        return self.out_elements * (self.cin // self.args["groups"]) * prod(self.k)

    def flops(self) -> int:
        return 2 * self.macs() + (self.out_elements if self.args["bias"] else 0)

    def window(self) -> Window:
        return Window(self.k, self.s, self.d, tuple(lo for lo, _ in self.pads))


@register
class ConvTranspose(Layer):
    """N-d transposed convolution (PyTorch ``ConvTransposeNd``; "deconvolution").

    out = (W − 1)·S − lo − hi + D·(F−1) + output_padding + 1 per spatial axis.
    Weight ``[C_in, C_out/groups, *F]`` (PyTorch's layout), bias ``[C_out]``.
    MACs = in_spatial_elements · C_in · (C_out/groups) · ∏F: every input element is multiplied by
    every tap of its group's kernels (fvcore's and ptflops' rule).
    FLOPs = 2·MACs + out_elements (bias add) if bias.
    """

    NAMES = ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "conv_transpose")
    RANKS = {"conv_transpose1d": 1, "conv_transpose2d": 2, "conv_transpose3d": 3}
    CATEGORY = "conv"
    ARGS = {
        "out_channels": Arg("int", doc="number of output channels", minimum=1),
        "kernel_size": Arg("ints", doc="filter size F, per axis", minimum=1),
        "stride": Arg("ints", 1, "upsampling step S", minimum=1),
        "padding": Arg(
            "padding", 0, "implicit padding removed from each side: int, per axis, pairs"
        ),
        "output_padding": Arg("ints", 0, "extra size added to one side of the output", minimum=0),
        "dilation": Arg("ints", 1, "spacing D between kernel taps", minimum=1),
        "groups": Arg("int", 1, "channel groups", minimum=1),
        "bias": Arg("bool", True, "add a learned bias per output channel"),
        "in_channels": Arg("opt_int", None, "optional check of the input channels", minimum=1),
    }
    __slots__ = ("k", "s", "d", "pads", "op", "cin")

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        rank = self.check_rank(x)
        cin, spatial = x[0], x[1:]
        a = self.args
        if a["in_channels"] is not None and a["in_channels"] != cin:
            raise CnncalcError(f"in_channels={a['in_channels']} but the input has {cin} channels")
        g, cout = a["groups"], a["out_channels"]
        if cin % g or cout % g:
            raise CnncalcError(
                f"groups={g} must divide both input channels ({cin}) and out_channels ({cout})"
            )
        if a["padding"] in ("same", "valid"):
            raise CnncalcError(
                f"padding='{a['padding']}' is not defined for transposed convolution",
                hint="give an integer padding (out = (W−1)·S − 2P + D·(F−1) + output_padding + 1)",
            )
        self.cin = cin
        self.k, self.s, self.d, self.op = (
            self.per_axis(n, rank) for n in ("kernel_size", "stride", "dilation", "output_padding")
        )
        for axis, (op, ss, dd) in enumerate(zip(self.op, self.s, self.d)):
            if op >= ss and op >= dd:
                raise CnncalcError(
                    f"output_padding {op} on axis {axis} must be smaller than stride ({ss}) or "
                    f"dilation ({dd}) (PyTorch's rule)"
                )
        self.pads = resolve_padding(self, spatial, self.k, self.s, self.d)
        out = tuple(
            windows.transposed_out(w, kk, ss, lo, hi, dd, op)
            for w, kk, ss, dd, (lo, hi), op in zip(
                spatial, self.k, self.s, self.d, self.pads, self.op
            )
        )
        return (cout, *out)

    def declare_weights(self) -> list[Weight]:
        a = self.args
        ws = [Weight("weight", (self.cin, a["out_channels"] // a["groups"], *self.k))]
        if a["bias"]:
            ws.append(Weight("bias", (a["out_channels"],)))
        return ws

    def macs(self) -> int:
        in_spatial = prod(self.in_shapes[0][1:])
        return (
            in_spatial
            * self.cin
            * (self.args["out_channels"] // self.args["groups"])
            * prod(self.k)
        )

    def flops(self) -> int:
        return 2 * self.macs() + (self.out_elements if self.args["bias"] else 0)

    def window(self) -> Window:
        return Window(self.k, self.s, self.d, tuple(lo for lo, _ in self.pads), transposed=True)
