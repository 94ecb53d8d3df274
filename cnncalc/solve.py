"""The inverse calculator: which (kernel, stride, padding, dilation) turn size W into size W_out?

Every candidate is checked with :mod:`cnncalc.windows` (the same functions the layers use), so
a listed combination gives the target by construction. Simplest first: no dilation before
dilation, smaller stride, smaller kernel, less padding. Padding is symmetric and smaller than the
effective kernel (more would only add outputs that see nothing but padding).

"Same": a layer is "same" when ``out = ⌈W/S⌉``; the padding that does it is
:func:`cnncalc.windows.same_padding` (total ``(⌈W/S⌉ − 1)·S + D·(F−1) + 1 − W``, the odd pixel at
the end), symmetric only when that total is even.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import windows
from .errors import CnncalcError

__all__ = ["Solution", "solve", "same_padding_table"]


@dataclass(frozen=True)
class Solution:
    """One way to get the target size. ``uncovered``: padded positions left over at the end
    (``(W + 2P − F_eff) mod S``); ``skips``: S > F_eff (input pixels never read)."""

    kernel: int
    stride: int
    padding: int
    dilation: int = 1
    output_padding: int = 0
    transposed: bool = False
    uncovered: int = 0
    same: bool = False

    @property
    def skips(self) -> bool:
        return not self.transposed and self.stride > windows.effective_kernel(
            self.kernel, self.dilation
        )

    def formula(self, w: int) -> str:
        """The arithmetic with the numbers in, ending in '= out'."""
        k, s, p, d = self.kernel, self.stride, self.padding, self.dilation
        if self.transposed:
            out = windows.transposed_out(w, k, s, p, p, d, self.output_padding)
            return f"({w} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {self.output_padding} + 1 = {out}"
        out = windows.conv_out(w, k, s, p, p, d)
        keff = f"({d}·({k} − 1) + 1)" if d > 1 else str(k)  # parenthesised: it is subtracted
        return f"⌊({w} + 2·{p} − {keff}) / {s}⌋ + 1 = {out}"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kernel": self.kernel,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
        }
        if self.transposed:
            d["output_padding"] = self.output_padding
        else:
            d["uncovered"] = self.uncovered
            d["skips_input"] = self.skips
            d["same"] = self.same
        return d


def _check(name: str, v: int | None, minimum: int) -> None:
    if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < minimum):
        raise CnncalcError(f"{name} must be an integer ≥ {minimum}, received {name}={v!r}")


def solve(
    w: int,
    target: int,
    *,
    kernel: int | None = None,
    stride: int | None = None,
    dilation: int | None = None,
    padding: int | None = None,
    transposed: bool = False,
    max_kernel: int = 11,
    max_stride: int = 4,
    max_dilation: int = 1,
    limit: int | None = None,
) -> list[Solution]:
    """Combinations giving ``target`` from ``w`` on one axis, simplest first.

    Fixed ``kernel``/``stride``/``dilation``/``padding`` restrict the search; otherwise kernels
    1…``max_kernel``, strides 1…``max_stride``, dilations 1…``max_dilation``, paddings
    0…F_eff − 1. ``transposed`` solves ``(W − 1)·S − 2P + D·(F − 1) + output_padding + 1``
    (output_padding < max(S, D), PyTorch's rule).

    >>> [(s.kernel, s.stride, s.padding) for s in solve(227, 55, kernel=11)]
    [(11, 4, 0), (11, 4, 1)]
    """
    _check("input size", w, 1)
    _check("target size", target, 1)
    for name, v in (("kernel", kernel), ("stride", stride), ("dilation", dilation)):
        _check(name, v, 1)
    _check("padding", padding, 0)
    for name, v in (("max_kernel", max_kernel), ("max_stride", max_stride)):
        _check(name, v, 1)
    _check("max_dilation", max_dilation, 1)
    if max_kernel * max_stride * max(max_dilation, 1) > 10**6:
        raise CnncalcError("search space too large", hint="lower --max-kernel or --max-stride")
    ks = [kernel] if kernel else range(1, max_kernel + 1)
    ss = [stride] if stride else range(1, max_stride + 1)
    ds = [dilation] if dilation else range(1, max_dilation + 1)
    out: list[Solution] = []
    for d in ds:
        for s in ss:
            for k in ks:
                eff = windows.effective_kernel(k, d)
                ps = [padding] if padding is not None else range(0, eff)
                for p in ps:
                    if transposed:
                        for op in range(0, max(s, d)):
                            if windows.transposed_out(w, k, s, p, p, d, op) == target:
                                out.append(Solution(k, s, p, d, op, transposed=True))
                        continue
                    if eff > w + 2 * p:
                        continue
                    if windows.conv_out(w, k, s, p, p, d) == target:
                        same = target == -(-w // s) and windows.same_padding(w, k, s, d) == (p, p)
                        u = windows.uncovered(w, k, s, p, p, d)
                        out.append(Solution(k, s, p, d, uncovered=u, same=same))
    if transposed:  # the natural upsampling stride (target ≈ W·S) first
        out.sort(
            key=lambda x: (
                x.dilation,
                abs(w * x.stride - target),
                x.stride,
                x.kernel,
                x.padding,
                x.output_padding,
            )
        )
    else:
        out.sort(key=lambda x: (x.dilation, x.stride, x.kernel, x.padding))
    return out[:limit] if limit else out


def same_padding_table(
    w: int, kernels: list[int], stride: int = 1, dilation: int = 1
) -> list[tuple[int, int, int]]:
    """For each kernel, the 'same' padding ``(kernel, lo, hi)``: out = ⌈W/S⌉ (odd pixel at the end)."""
    return [(k, *windows.same_padding(w, k, stride, dilation)) for k in kernels]
