"""MaxViT's attention inside partitions: multi-head self-attention with a relative position bias,
on a batch of windows ``(G, N, D)`` (torchvision ``RelativePositionalMultiHeadAttention``).

MaxViT's block attention and grid attention differ only in how the map is cut into the G
windows of N = s² tokens (a reshape and a permute, and for the grid a swap of two axes: generic
``reshape`` / ``permute`` / ``transpose`` entries in the spec); the attention on the windows is
this one layer, because its relative-position-bias gather has no honest generic form. Its MACs
are exactly torchvision's matrix products: the two linear layers and the two einsums per head.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Weight, fmt_shape, register


@register
class RelativePositionAttention(Layer):
    """Multi-head self-attention in each of G windows of N = s×s tokens, with a learned relative
    position bias per head (MaxViT; torchvision ``RelativePositionalMultiHeadAttention``).

    (G, N, D) → (G, N, D): D = H·d (``head_dim`` d, H heads), N must be a square (s = √N).

    * Weights (PyTorch names): ``to_qkv.weight`` (3D, D), ``to_qkv.bias`` (3D), ``merge.weight``
      (D, D), ``merge.bias`` (D), ``relative_position_bias_table`` ((2s − 1)², H); buffer
      ``relative_position_index`` (N, N). MaxViT-T stage 1 (D = 64, d = 32, s = 7):
      4·64² + 4·64 + 169·2 = 16,978 params, 49·49 = 2,401 buffers.
    * MACs = G·N·D·3D (to_qkv) + G·N²·D (Q·Kᵀ: G·H·N·N dot products of length d)
      + G·N²·D (A·V) + G·N·D² (merge) = 4·G·N·D² + 2·G·N²·D.
    * FLOPs = 2·MACs + 4·G·N·D (the to_qkv and merge bias adds) + G·N·D (torchvision scales
      the keys by D^−½: the feature width, not the head width) + G·H·N² (bias add)
      + 4·G·H·N² (softmax, 4 per score as the ``softmax`` layer).
    """

    NAMES = ("relative_position_attention",)
    CATEGORY = "attention"
    ARGS = {
        "head_dim": Arg("int", doc="width d of a head (H = D / d heads)", minimum=1),
    }
    __slots__ = ("g", "n", "d", "s")

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        if len(x) != 3:
            raise CnncalcError(
                f"expects windows of tokens (G, N, D), got shape {fmt_shape(x)}",
                hint="cut the map into windows first: reshape (C, H/p, p, W/p, p), permute "
                "[1, 3, 2, 4, 0], reshape (H/p·W/p, p·p, C)",
            )
        g, n, d = x
        s = math.isqrt(n)
        if s * s != n:
            raise CnncalcError(
                f"the {n} tokens of a window are not a square s×s (shape {fmt_shape(x)})",
                hint="the relative position table is (2s − 1)² rows for s×s windows",
            )
        hd = self.args["head_dim"]
        if d % hd:
            raise CnncalcError(
                f"head_dim={hd} does not divide the token width {d}",
                hint="H = D / head_dim heads; divisors of "
                f"{d} up to 64: " + ", ".join(str(k) for k in range(1, 65) if d % k == 0),
            )
        self.g, self.n, self.d, self.s = g, n, d, s
        return x

    @property
    def heads(self) -> int:
        return self.d // self.args["head_dim"]

    def declare_weights(self) -> list[Weight]:
        d, n = self.d, self.n
        return [
            Weight("to_qkv.weight", (3 * d, d)),
            Weight("to_qkv.bias", (3 * d,)),
            Weight("merge.weight", (d, d)),
            Weight("merge.bias", (d,)),
            Weight("relative_position_bias_table", ((2 * self.s - 1) ** 2, self.heads)),
            Weight("relative_position_index", (n, n), "buffer"),
        ]

    def _parts(self) -> dict[str, int]:
        g, n, d = self.g, self.n, self.d
        return {
            "to_qkv": g * n * d * 3 * d,
            "scores": g * n * n * d,  # Q·Kᵀ: G·H·N·N·d
            "weighted": g * n * n * d,  # A·V
            "merge": g * n * d * d,
        }

    def macs(self) -> int:
        return sum(self._parts().values())

    def flops(self) -> int:
        g, n, d = self.g, self.n, self.d
        scores = g * self.heads * n * n
        return 2 * self.macs() + 4 * g * n * d + g * n * d + scores + 4 * scores

    def explain(self) -> list[Any]:
        """Heads and table, weights, then MACs as the sum of the four matrix products."""
        from ..explain import Formula, num, weights_formulas

        p = self._parts()
        g, n, d, h = self.g, self.n, self.d, self.heads
        return [
            Formula("heads", "D / d", f"{d} / {self.args['head_dim']}", h),
            Formula(
                "bias table rows",
                "(2s − 1)²",
                f"(2·{self.s} − 1)²",
                (2 * self.s - 1) ** 2,
                note=f"{g} windows of {self.s}×{self.s} = {n} tokens",
            ),
            *weights_formulas(self),
            Formula("to_qkv MACs", "G·N·D·3D", f"{g}·{n}·{d}·{3 * d}", p["to_qkv"]),
            Formula("Q·Kᵀ and A·V MACs", "2·G·N²·D", f"2·{g}·{n}²·{d}", 2 * p["scores"]),
            Formula("merge MACs", "G·N·D²", f"{g}·{n}·{d}²", p["merge"]),
            Formula("MACs", "Σ", " + ".join(num(v) for v in p.values()), self.macs(), ("macs",)),
            Formula(
                "FLOPs",
                "2·MACs + 5·G·N·D + 5·G·H·N²",
                f"2·{num(self.macs())} + 5·{g}·{n}·{d} + 5·{g}·{h}·{n}²",
                self.flops(),
                ("flops",),
                "bias adds (4·G·N·D), key scaling (G·N·D), position bias and softmax (5·G·H·N²)",
            ),
        ]

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """torchvision's forward step by step; the index is recomputed from its definition (the
        buffer holds the same numbers in a trained model)."""
        import numpy as np

        x = inputs[0]
        b, g, n, d = x.shape
        hd = self.args["head_dim"]
        h = d // hd
        s = math.isqrt(n)
        qkv = x @ params["to_qkv.weight"].T + params["to_qkv.bias"]
        q, k, v = (qkv[..., i * d : (i + 1) * d] for i in range(3))

        def heads(t: Any) -> Any:  # (B, G, N, D) → (B, G, H, N, d)
            return t.reshape(b, g, n, h, hd).transpose(0, 1, 3, 2, 4)

        q, k, v = heads(q), heads(k), heads(v)
        k = k * np.float32(d**-0.5)
        scores = q @ k.swapaxes(-1, -2)
        coords = np.stack(np.meshgrid(np.arange(s), np.arange(s), indexing="ij")).reshape(2, -1)
        rel = coords[:, :, None] - coords[:, None, :]
        index = (rel[0] + s - 1) * (2 * s - 1) + rel[1] + s - 1
        bias = params["relative_position_bias_table"][index.reshape(-1)].reshape(n, n, h)
        scores = scores + bias.transpose(2, 0, 1)
        scores = scores - scores.max(axis=-1, keepdims=True)
        a = np.exp(scores)
        a = a / a.sum(axis=-1, keepdims=True)
        out = (a @ v).transpose(0, 1, 3, 2, 4).reshape(b, g, n, d)
        out = out @ params["merge.weight"].T + params["merge.bias"]
        return out.astype(x.dtype, copy=False)
