"""Pooling: max/avg with windows, global pooling, adaptive pooling."""

from __future__ import annotations

from typing import Any

from .. import windows
from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Window, prod, register
from .conv import _check_kernel_fits, np_pad, np_windows, resolve_padding


class _Pool(Layer):
    """Shared geometry of max and average pooling (PyTorch ``MaxPoolNd``/``AvgPoolNd``).

    out = ⌊(W + lo + hi − D·(F−1) − 1) / S⌋ + 1, or with ``ceil_mode`` rounded up and the last
    window dropped if it would start in the right padding (:func:`cnncalc.windows.pool_out`).
    In ceil mode the kernel may exceed the padded input (by up to S − 1): PyTorch then gives one
    window (``maxpool2d: {kernel_size: 2, stride: 2, ceil_mode: true}`` on width 1 → 1).
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
        ceil = self.args["ceil_mode"]
        if not ceil:
            _check_kernel_fits(self, spatial, self.k, self.d, self.pads)
        out = tuple(
            windows.pool_out(w, kk, ss, lo, hi, dd, ceil)
            for w, kk, ss, dd, (lo, hi) in zip(spatial, self.k, self.s, self.d, self.pads)
        )
        for axis, (o, w, kk, ss, dd, (lo, hi)) in enumerate(
            zip(out, spatial, self.k, self.s, self.d, self.pads)
        ):
            if o < 1:  # ceil mode: a kernel may exceed the input by up to S − 1 (PyTorch)
                eff = windows.effective_kernel(kk, dd)
                raise CnncalcError(
                    f"kernel {kk} leaves no window on spatial axis {axis} even in ceil mode: "
                    f"⌈({w} + {lo} + {hi} − {eff}) / {ss}⌉ + 1 = {o}",
                    hint="the kernel may exceed the padded input by at most stride − 1 in "
                    "ceil mode; pad more or use a smaller kernel",
                )
        return (x[0], *out)

    def window(self) -> Window:
        return Window.of(self.k, self.s, self.d, self.pads, ceil_mode=self.args["ceil_mode"])

    def explain(self) -> list[Any]:
        """Output size per axis (floor, or ceil with the last-window check), then FLOPs."""
        from ..explain import Formula, axis_names, mul, rule_formula, window_axes

        a = self.args
        x = self.in_shapes[0]
        f: list[Formula] = []
        if a["stride"] is None:
            f.append(Formula("S", "F", value=self.s[0], note="stride defaults to the kernel size"))
        f += window_axes(
            x[1:],
            self.k,
            self.s,
            self.d,
            self.pads,
            self.out_shape[1:],
            ceil_mode=a["ceil_mode"],
            same=a["padding"] == "same",
        )
        f.append(Formula("C_out", "C_in", value=x[0], checks=("shape[0]",), note="per channel"))
        f.append(Formula("params", value=0, checks=("params",), note="no weights"))
        f.append(rule_formula(self, "macs", 0))
        names = axis_names(len(self.k))
        o_sym = "C·" + mul(*(f"{n}_out" for n in names))
        o_num = mul(*self.out_shape)
        kn = mul(*self.k)
        k_sym = mul(*(f"F_{n}" for n in names)) if len(names) > 1 else "F"
        if self.type_name.startswith("max"):
            rule, work = f"{o_sym}·({k_sym} − 1)", f"{o_num}·({kn} − 1)"
            note = "a max over F taps is F − 1 comparisons per output element"
        else:
            rule, work = f"{o_sym}·{k_sym}", f"{o_num}·{kn}"
            note = "F − 1 adds and one divide per output element"
        f.append(Formula("FLOPs", rule, work, self.flops(), ("flops",), note))
        return f

    def np_pool_windows(self, x: Any, fill: float) -> tuple[Any, list[tuple[int, int, int]]]:
        """Windows (N, C, *out, *k) of ``x`` padded with ``fill``, and per axis (W, lo, extra).

        Ceil mode pads ``S − 1`` more positions (``extra``) at the end so a partial last window
        exists, then keeps only windows that start inside the input or the left padding
        (``j·S < W + lo``, PyTorch's rule): the extra positions are clipped by the caller.
        """
        ceil = self.args["ceil_mode"]
        geo = [
            (w, lo, (ss - 1) if ceil else 0)
            for w, ss, (lo, _) in zip(x.shape[2:], self.s, self.pads)
        ]
        pads = tuple((lo, hi + e) for (lo, hi), (_, _, e) in zip(self.pads, geo))
        v = np_windows(np_pad(x, pads, fill), self.k, self.s, self.d)
        if ceil:
            keep = tuple(slice(0, -(-(w + lo) // ss)) for (w, lo, _), ss in zip(geo, self.s))
            v = v[(slice(None), slice(None), *keep)]
        return v, geo

    def forward_workspace(self) -> int:
        """Elements per batch item besides input and output: the padded copy."""
        return self.in_shapes[0][0] * prod(
            w + lo + hi + ss for w, (lo, hi), ss in zip(self.in_shapes[0][1:], self.pads, self.s)
        )


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

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """y[n, c, p] = max over taps t of x_pad[n, c, p·S + t·D]; padding is −∞ (never chosen)."""
        import numpy as np

        v, _ = self.np_pool_windows(inputs[0], -np.inf)
        taps = list(np.ndindex(*self.k))
        y = v[(..., *taps[0])].copy()
        for tap in taps[1:]:
            np.maximum(y, v[(..., *tap)], out=y)
        return y


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

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """y[n, c, p] = Σ_t x_pad[n, c, p·S + t] / divisor[p] (PyTorch's divisor rule).

        The divisor is the window's size clipped to the padded input ``[−lo, W + hi)`` with
        ``count_include_pad`` (so a ceil-mode window hanging off the end counts only what lies
        inside), else the number of real input elements in the window. Both are the window sums
        of a 0/1 mask per axis; the divisor of a box is their product over the axes.
        """
        import numpy as np
        from numpy.lib.stride_tricks import sliding_window_view

        x = inputs[0]
        v, geo = self.np_pool_windows(x, 0.0)
        taps = list(np.ndindex(*self.k))
        y = v[(..., *taps[0])].copy()
        for tap in taps[1:]:
            y += v[(..., *tap)]
        include = self.args["count_include_pad"]
        divisor = np.ones((1,) * y.ndim, dtype=np.float64)
        for axis, ((w, lo, extra), (_, hi), kk, ss) in enumerate(
            zip(geo, self.pads, self.k, self.s)
        ):
            mask = np.zeros(lo + w + hi + extra)
            if include:
                mask[: lo + w + hi] = 1
            else:
                mask[lo : lo + w] = 1
            counts = sliding_window_view(mask, kk)[::ss].sum(-1)[: y.shape[2 + axis]]
            divisor = divisor * counts.reshape((-1,) + (1,) * (len(geo) - 1 - axis))
        return y / divisor.astype(y.dtype)


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
        return Window(tuple(sp), tuple(sp), (1,) * r, (0,) * r, pad_hi=(0,) * r)

    def explain(self) -> list[Any]:
        """(C, *spatial) → (C,): one value per channel; FLOPs over the input elements."""
        from ..explain import Formula, mul

        x = self.in_shapes[0]
        avg = self.type_name == "global_avg_pool"
        f = [
            Formula(
                "C_out", "C_in", value=x[0], checks=("shape[0]",), note="one value per channel"
            ),
            Formula("params", value=0, checks=("params",), note="no weights"),
            Formula("MACs", value=0, checks=("macs",), note="pooling has no multiply-accumulates"),
        ]
        if avg:
            f.append(
                Formula(
                    "FLOPs",
                    "C·H·W (adds and the divide)",
                    mul(*x),
                    self.flops(),
                    ("flops",),
                )
            )
        else:
            f.append(
                Formula(
                    "FLOPs",
                    "C·H·W − C (comparisons)",
                    f"{mul(*x)} − {x[0]}",
                    self.flops(),
                    ("flops",),
                )
            )
        return f

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Mean (or max) over every spatial axis."""
        x = inputs[0]
        axes = tuple(range(2, x.ndim))
        keep = self.args["keepdims"]
        if self.type_name == "global_avg_pool":
            return x.mean(axis=axes, keepdims=keep)
        return x.max(axis=axes, keepdims=keep)


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
            per_axis.append(windows.adaptive_window_sum(w, o))
        window_sum = self.out_shape[0] * prod(per_axis)
        if "max" in self.type_name:
            return window_sum - self.out_elements
        return window_sum

    def window(self) -> Window | None:
        return _adaptive_bound(self)

    def explain(self) -> list[Any]:
        """Output size = output_size; the windows per axis; FLOPs from the window sizes."""
        from ..explain import Formula, axis_names, rule_formula

        f: list[Formula] = []
        x = self.in_shapes[0]
        names = axis_names(len(x) - 1)
        for axis, (w, o) in enumerate(zip(x[1:], self.out_shape[1:])):
            sizes = sorted(
                {
                    e - s
                    for s, e in (windows.adaptive_window(w, o, i) for i in range(min(o, 10_000)))
                }
            )
            f.append(
                Formula(
                    f"{names[axis]}_out",
                    "output_size",
                    value=o,
                    checks=(f"shape[{axis + 1}]",),
                    note=f"window i covers [⌊i·{w}/{o}⌋, ⌈(i+1)·{w}/{o}⌉): sizes "
                    + ", ".join(map(str, sizes)),
                )
            )
        f.append(Formula("params", value=0, checks=("params",), note="no weights"))
        f.append(rule_formula(self, "macs", 0))
        f.append(rule_formula(self, "flops", self.flops()))
        return f

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Output i on an axis pools input ``[⌊i·W/out⌋, ⌈(i+1)·W/out⌉)`` (PyTorch's windows).

        A box is a product of per-axis ranges, so max and mean are taken one axis at a time: the
        windows of an axis are gathered with an index array (short windows repeat their last
        element, masked out of the mean).
        """
        import numpy as np

        y = inputs[0]
        is_max = "max" in self.type_name
        for axis, o in enumerate(self.per_axis("output_size", y.ndim - 2), start=2):
            w = y.shape[axis]
            i = np.arange(o)
            start, end = (i * w) // o, -((-(i + 1) * w) // o)
            idx = start[:, None] + np.arange(int((end - start).max()))[None, :]
            valid = idx < end[:, None]
            g = np.take(y, np.minimum(idx, end[:, None] - 1), axis=axis)
            if is_max:
                y = g.max(axis=axis + 1)
            else:
                bshape = valid.shape + (1,) * (y.ndim - axis - 1)
                m = valid.reshape(bshape).astype(y.dtype)
                cnt = (end - start).reshape((-1,) + (1,) * (y.ndim - axis - 1)).astype(y.dtype)
                y = (g * m).sum(axis=axis + 1) / cnt
        return y


def _adaptive_bound(layer: Layer) -> Window | None:
    """Adaptive windows as one regular window that contains every one of them.

    Stride S = ⌊W/out⌋ (window i starts at ⌊i·W/out⌋ ≥ i·S) and kernel
    F = maxᵢ(⌈(i+1)·W/out⌉ − i·S), so window i lies inside [i·S, i·S + F). Exact (F = S = W/out)
    when out divides W. None when out > W on an axis (windows closer than one pixel apart: no
    integer stride describes them).
    """
    ks, ss = [], []
    for w, o in zip(layer.in_shapes[0][1:], layer.out_shape[1:]):
        if o > w:
            return None
        s = w // o
        ks.append(windows.adaptive_window_max(w, o))
        ss.append(s)
    r = len(ks)
    return Window(tuple(ks), tuple(ss), (1,) * r, (0,) * r, pad_hi=(0,) * r)
