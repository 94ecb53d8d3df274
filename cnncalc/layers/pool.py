"""Pooling: max/avg with windows, global pooling, adaptive pooling."""

from __future__ import annotations

from .. import windows
from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Window, prod, register
from .conv import _check_kernel_fits, resolve_padding


class _Pool(Layer):
    """Shared geometry of max and average pooling (PyTorch ``MaxPoolNd``/``AvgPoolNd``).

    out = ⌊(W + lo + hi − D·(F−1) − 1) / S⌋ + 1, or with ``ceil_mode`` rounded up and the last
    window dropped if it would start in the right padding (:func:`cnncalc.windows.pool_out`).
    ``stride`` defaults to ``kernel_size``. Channels are unchanged; no weights; 0 MACs.
    """

    CATEGORY = "pool"
    __slots__ = ("k", "s", "d", "pads")

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        rank = self.check_rank(x)
        spatial = x[1:]
        self.k = self.per_axis("kernel_size", rank)
        self.s = self.k if self.args["stride"] is None else self.per_axis("stride", rank)
        self.d = self.per_axis("dilation", rank) if "dilation" in self.args else (1,) * rank
        self.pads = resolve_padding(self, spatial, self.k, self.s, self.d)
        if isinstance(self.args["padding"], (int, tuple)):
            for kk, (lo, hi) in zip(self.k, self.pads):
                if max(lo, hi) * 2 > kk:
                    raise CnncalcError(
                        f"padding {max(lo, hi)} is more than half the kernel ({kk})",
                        hint="PyTorch requires pad ≤ kernel_size / 2 for pooling",
                    )
        _check_kernel_fits(self, spatial, self.k, self.d, self.pads)
        ceil = self.args["ceil_mode"]
        out = tuple(
            windows.pool_out(w, kk, ss, lo, hi, dd, ceil)
            for w, kk, ss, dd, (lo, hi) in zip(spatial, self.k, self.s, self.d, self.pads)
        )
        return (x[0], *out)

    def window(self) -> Window:
        return Window(self.k, self.s, self.d, tuple(lo for lo, _ in self.pads))


_POOL_ARGS = {
    "kernel_size": Arg("ints", doc="window size F, per axis", minimum=1),
    "stride": Arg("opt_ints", None, "step S (default: kernel_size)", minimum=1),
    "padding": Arg("padding", 0, "implicit padding (-inf for max, 0 for avg), or 'same'/'valid'"),
    "ceil_mode": Arg("bool", False, "round the output size up (PyTorch ceil_mode)"),
}


@register
class MaxPool(_Pool):
    """Max pooling. FLOPs = (∏F − 1) comparisons per output element."""

    NAMES = ("maxpool1d", "maxpool2d", "maxpool3d", "maxpool")
    RANKS = {"maxpool1d": 1, "maxpool2d": 2, "maxpool3d": 3}
    ARGS = {**_POOL_ARGS, "dilation": Arg("ints", 1, "spacing between window taps", minimum=1)}

    def flops(self) -> int:
        return self.out_elements * (prod(self.k) - 1)


@register
class AvgPool(_Pool):
    """Average pooling. FLOPs = ∏F per output element (∏F − 1 adds and one divide)."""

    NAMES = ("avgpool1d", "avgpool2d", "avgpool3d", "avgpool")
    RANKS = {"avgpool1d": 1, "avgpool2d": 2, "avgpool3d": 3}
    ARGS = {
        **_POOL_ARGS,
        "count_include_pad": Arg(
            "bool", True, "count padded zeros in the divisor (PyTorch default)"
        ),
    }

    def flops(self) -> int:
        return self.out_elements * prod(self.k)


@register
class GlobalPool(Layer):
    """Global average or max pooling over all spatial axes (Keras ``GlobalAveragePooling2D``).

    (C, *spatial) → (C,), or (C, 1, …, 1) with ``keepdims`` (PyTorch ``AdaptiveAvgPool2d(1)``).
    FLOPs: average = input elements (adds and the divide); max = input elements − C comparisons.
    """

    NAMES = ("global_avg_pool", "global_max_pool")
    CATEGORY = "pool"
    ARGS = {"keepdims": Arg("bool", False, "keep the spatial axes as size 1")}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        self.check_rank(x)
        return (x[0], *([1] * (len(x) - 1))) if self.args["keepdims"] else (x[0],)

    def flops(self) -> int:
        n = prod(self.in_shapes[0])
        return n if self.type_name == "global_avg_pool" else n - self.in_shapes[0][0]

    def window(self) -> Window:
        sp = self.in_shapes[0][1:]
        r = len(sp)
        return Window(tuple(sp), tuple(sp), (1,) * r, (0,) * r)


@register
class AdaptivePool(Layer):
    """Adaptive average/max pooling to a fixed ``output_size`` (PyTorch ``AdaptiveAvgPoolNd``).

    Output index i covers input ``[⌊i·W/out⌋, ⌈(i+1)·W/out⌉)`` on each axis
    (:func:`cnncalc.windows.adaptive_window`). FLOPs: average = Σ window sizes over the outputs
    (adds and a divide); max = Σ (window size − 1).
    """

    NAMES = (
        "adaptive_avgpool1d",
        "adaptive_avgpool2d",
        "adaptive_avgpool3d",
        "adaptive_maxpool1d",
        "adaptive_maxpool2d",
        "adaptive_maxpool3d",
    )
    RANKS = {n: int(n[-2]) for n in NAMES}
    CATEGORY = "pool"
    ARGS = {"output_size": Arg("ints", doc="output spatial size, per axis", minimum=1)}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        rank = self.check_rank(x)
        return (x[0], *self.per_axis("output_size", rank))

    def flops(self) -> int:
        per_axis = []
        for w, o in zip(self.in_shapes[0][1:], self.out_shape[1:]):
            per_axis.append(
                sum(e - s for s, e in (windows.adaptive_window(w, o, i) for i in range(o)))
            )
        window_sum = self.out_shape[0] * prod(per_axis)
        if "max" in self.type_name:
            return window_sum - self.out_elements
        return window_sum

    def window(self) -> Window:
        return _adaptive_bound(self)


def _adaptive_bound(layer: Layer) -> Window:
    """Adaptive windows as one window: the largest window size, stride ⌊W/out⌋ (exact when out divides W)."""
    ks, ss = [], []
    for w, o in zip(layer.in_shapes[0][1:], layer.out_shape[1:]):
        ks.append(max(e - s for s, e in (windows.adaptive_window(w, o, i) for i in range(o))))
        ss.append(max(w // o, 1))
    r = len(ks)
    return Window(tuple(ks), tuple(ss), (1,) * r, (0,) * r)
