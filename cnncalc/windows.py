"""Window arithmetic: the one place where output sizes of sliding windows are computed.

Every function works on one spatial axis with plain integers. Conv, pooling and transposed
conv all call these; nothing else in cnncalc computes a window size.

Notation (cs231n's): W input size, F kernel size, S stride, P padding (``lo``/``hi`` per side),
D dilation. A dilated kernel covers ``D·(F − 1) + 1`` input positions (its *effective* size).
"""

from __future__ import annotations

__all__ = [
    "effective_kernel",
    "conv_out",
    "pool_out",
    "same_padding",
    "transposed_out",
    "adaptive_window",
    "uncovered",
    "adaptive_window_sum",
    "adaptive_window_max",
]


def effective_kernel(f: int, d: int = 1) -> int:
    """Input positions covered by a kernel of size ``f`` with dilation ``d``: ``d·(f − 1) + 1``.

    >>> effective_kernel(3, 2)
    5
    """
    return d * (f - 1) + 1


def conv_out(w: int, f: int, s: int = 1, lo: int = 0, hi: int | None = None, d: int = 1) -> int:
    """Output size of a convolution (or floor-mode pooling): ``⌊(W + lo + hi − D·(F−1) − 1) / S⌋ + 1``.

    With symmetric padding P and no dilation this is cs231n's ``(W − F + 2P)/S + 1``.
    The result may be ≤ 0; callers turn that into an error naming the layer.

    >>> conv_out(227, 11, 4)          # AlexNet conv1
    55
    >>> conv_out(7, 3)                # 7×7 input, 3×3 filter
    5
    >>> conv_out(32, 3, 1, 1)         # "same" for a 3×3 kernel
    32
    """
    if hi is None:
        hi = lo
    return (w + lo + hi - effective_kernel(f, d)) // s + 1


def pool_out(
    w: int, f: int, s: int, lo: int = 0, hi: int | None = None, d: int = 1, ceil_mode: bool = False
) -> int:
    """Output size of max/avg pooling, PyTorch's rule.

    Floor mode equals :func:`conv_out`. Ceil mode rounds ``(W + lo + hi − D·(F−1) − 1) / S`` up,
    then drops the last window if it would start inside the right padding (PyTorch:
    ``if (out − 1)·S ≥ W + lo: out −= 1``), so every window starts inside the input or left padding.

    >>> pool_out(112, 3, 2, ceil_mode=True)   # GoogLeNet maxpool1: 111/2 = 55.5 → 56
    56
    >>> pool_out(112, 3, 2)                   # floor mode
    55
    >>> pool_out(5, 2, 2, 1, ceil_mode=True)  # ceil would give 4, but window 4 starts in the padding
    3
    """
    if hi is None:
        hi = lo
    span = w + lo + hi - effective_kernel(f, d)
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= w + lo:
        out -= 1
    return out


def same_padding(w: int, f: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """Padding ``(lo, hi)`` that makes ``out = ⌈W / S⌉`` (TensorFlow's and ONNX's SAME_UPPER).

    Total padding is ``max((out − 1)·S + D·(F−1) + 1 − W, 0)``; when it is odd the extra pixel
    goes at the end (``hi``), as TensorFlow, Keras, ONNX SAME_UPPER and PyTorch's
    ``padding="same"`` do.

    >>> same_padding(32, 3)
    (1, 1)
    >>> same_padding(224, 3, 2)    # out 112: total 1, all of it at the end
    (0, 1)
    >>> same_padding(10, 4)        # even kernel, stride 1: total 3 → (1, 2)
    (1, 2)
    """
    out = -(-w // s)
    total = max((out - 1) * s + effective_kernel(f, d) - w, 0)
    lo = total // 2
    return lo, total - lo


def transposed_out(
    w: int,
    f: int,
    s: int = 1,
    lo: int = 0,
    hi: int | None = None,
    d: int = 1,
    output_padding: int = 0,
) -> int:
    """Output size of a transposed convolution: ``(W − 1)·S − lo − hi + D·(F−1) + output_padding + 1``.

    This is PyTorch's ``ConvTranspose`` formula (with ``lo = hi = padding``).

    >>> transposed_out(7, 4, 2, 1)       # DCGAN-style ×2 upsampling
    14
    >>> transposed_out(7, 3, 2, 1, output_padding=1)
    14
    """
    if hi is None:
        hi = lo
    return (w - 1) * s - lo - hi + d * (f - 1) + output_padding + 1


def adaptive_window(w: int, out: int, i: int) -> tuple[int, int]:
    """Window ``[start, end)`` of output index ``i`` in adaptive pooling (PyTorch's rule).

    ``start = ⌊i·W / out⌋``, ``end = ⌈(i+1)·W / out⌉``; windows may overlap and vary in size.

    >>> adaptive_window(13, 6, 0), adaptive_window(13, 6, 5)
    ((0, 3), (10, 13))
    """
    return (i * w) // out, -(-((i + 1) * w) // out)


def adaptive_window_sum(w: int, out: int) -> int:
    """Total size of the ``out`` adaptive windows on an axis of size ``w``, without a loop.

    Σᵢ (⌈(i+1)·W/out⌉ − ⌊i·W/out⌋) = out·W − 2·Σᵢ ⌊i·W/out⌋, because by symmetry
    Σⱼ₌₁..out ⌈j·W/out⌉ = out·W − Σᵢ₌₀..out−1 ⌊i·W/out⌋, and
    Σᵢ₌₀..out−1 ⌊i·W/out⌋ = ((W − 1)(out − 1) + gcd(W, out) − 1) / 2.

    >>> adaptive_window_sum(13, 6)     # six windows of 3 (AlexNet's 13 → 6)
    18
    >>> adaptive_window_sum(5, 3)      # [0,2) [1,4) [3,5): 2 + 3 + 2
    7
    """
    import math

    floor_sum = ((w - 1) * (out - 1) + math.gcd(w, out) - 1) // 2
    return out * w - 2 * floor_sum


def adaptive_window_max(w: int, out: int) -> int:
    """Kernel F of one regular window (stride ⌊W/out⌋) containing every adaptive window.

    Window i ends at ⌈(i+1)·W/out⌉ and the regular window i starts at i·⌊W/out⌋; the gap
    ⌈(i+1)·W/out⌉ − i·⌊W/out⌋ grows with i, so the last one gives F = W − (out − 1)·⌊W/out⌋.

    >>> adaptive_window_max(13, 6), adaptive_window_max(12, 6)
    (3, 2)
    """
    return w - (out - 1) * (w // out)


def uncovered(w: int, f: int, s: int, lo: int = 0, hi: int | None = None, d: int = 1) -> int:
    """Padded input positions at the end that no window covers: ``(W + lo + hi − D·(F−1) − 1) mod S``.

    Non-zero when ``(W − F + 2P)`` is not divisible by ``S``.

    >>> uncovered(224, 11, 4, 2)     # torchvision AlexNet conv1: (224 + 4 − 11) mod 4
    1
    """
    if hi is None:
        hi = lo
    return (w + lo + hi - effective_kernel(f, d)) % s
