"""Shifted-window self-attention (Swin Transformer v1 and v2), on a channels-last map (H, W, C).

One layer, because composing it from generic ops would take some twenty rows per block
(pad, roll, window partition, qkv, split, two matmuls, bias gather, mask, softmax, merge,
unroll, crop) and the relative-position-bias gather has no honest generic form. Its MACs are
exactly the matrix products of torchvision's ``shifted_window_attention`` (and, for v2, of the
continuous-position-bias MLP), counted as torchvision's published "GFLOPS" count them.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Weight, fmt_shape, register

#: hidden width of v2's continuous position bias MLP (torchvision: Linear(2, 512), Linear(512, H))
CPB_HIDDEN = 512


@register
class ShiftedWindowAttention(Layer):
    """Window multi-head self-attention with relative position bias, shifted windows and the
    attention mask (torchvision ``ShiftedWindowAttention`` / ``ShiftedWindowAttentionV2``).

    (H, W, C) → (H, W, C), channels last. The map is padded at the end to multiples of the
    window (w_h, w_w), rolled by −shift (no shift on an axis the window covers whole), cut into
    nW windows of N = w_h·w_w tokens, T = nW·N tokens in all, d = C / heads.

    * Weights (PyTorch names): ``qkv.weight`` (3C, C), ``qkv.bias`` (3C), ``proj.weight`` (C, C),
      ``proj.bias`` (C); v1: the ``relative_position_bias_table`` param ((2w_h − 1)(2w_w − 1),
      heads); v2: ``logit_scale`` (heads, 1, 1), ``cpb_mlp.0`` (512, 2) + 512, ``cpb_mlp.2``
      (heads, 512); buffers ``relative_position_index`` (N²) and, v2, ``relative_coords_table``
      (1, 2w_h − 1, 2w_w − 1, 2). Swin-T stage 1 (C = 96, 3 heads, 7×7): 4·96² + 4·96 + 169·3
      = 37,755 params, 2,401 buffers.
    * MACs = T·C·3C (qkv) + 2·nW·N²·C (Q·Kᵀ and A·V over all heads) + T·C² (proj), and for v2
      the bias MLP on the (2w_h − 1)(2w_w − 1) table: E·(2·512 + 512·heads).
    * FLOPs = 2·MACs + the bias adds (4·T·C) + the score work on S = nW·heads·N² scores:
      bias add S, mask add S (when shifted), softmax 4·S; v1 scales q (T·C); v2 normalises q and
      k (3 each per element: 6·T·C), multiplies by the logit scale (S), and its MLP adds bias
      and ReLU (2·512·E) and 16·sigmoid (5·heads·E).
    """

    NAMES = ("shifted_window_attention", "window_attention")
    CATEGORY = "attention"
    ARGS = {
        "num_heads": Arg("int", doc="attention heads (must divide C)", minimum=1),
        "window_size": Arg("ints", 7, "window (w_h, w_w)", minimum=1),
        "shift_size": Arg("ints", 0, "shift (s_h, s_w): w // 2 on every other block", minimum=0),
        "v2": Arg("bool", False, "Swin v2: cosine attention, logit scale, position-bias MLP"),
        "qkv_bias": Arg("bool", True, "bias of the qkv projection"),
        "proj_bias": Arg("bool", True, "bias of the output projection"),
        "dropout": Arg("float", 0.0, "identity at inference", minimum=0.0),
        "attention_dropout": Arg("float", 0.0, "identity at inference", minimum=0.0),
    }
    __slots__ = ("win", "shift", "pad", "nw", "c")

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        if len(x) != 3:
            raise CnncalcError(
                f"expects a channels-last map (H, W, C), got shape {fmt_shape(x)}",
                hint="permute {dims: [1, 2, 0]} turns (C, H, W) into (H, W, C)",
            )
        h, w, c = x
        heads = self.args["num_heads"]
        if c % heads:
            raise CnncalcError(f"num_heads={heads} does not divide the {c} channels")
        self.win = self.per_axis("window_size", 2)
        shift = list(self.per_axis("shift_size", 2))
        self.pad = tuple(-(-s // k) * k for s, k in zip((h, w), self.win))
        for ax in range(2):
            if shift[ax] >= self.win[ax]:
                raise CnncalcError(
                    f"shift_size {shift[ax]} must be smaller than the window {self.win[ax]}"
                )
            if self.win[ax] >= self.pad[ax]:  # torchvision: the window covers the axis
                shift[ax] = 0
        self.shift = tuple(shift)
        self.nw = (self.pad[0] // self.win[0]) * (self.pad[1] // self.win[1])
        self.c = c
        return x

    @property
    def tokens(self) -> int:
        return self.pad[0] * self.pad[1]

    @property
    def table(self) -> int:
        return (2 * self.win[0] - 1) * (2 * self.win[1] - 1)

    def declare_weights(self) -> list[Weight]:
        c, heads, n = self.c, self.args["num_heads"], self.win[0] * self.win[1]
        ws = []
        if self.args["v2"]:
            ws.append(Weight("logit_scale", (heads, 1, 1)))
            coords = (1, 2 * self.win[0] - 1, 2 * self.win[1] - 1, 2)
            ws.append(Weight("relative_coords_table", coords, "buffer"))
        else:
            ws.append(Weight("relative_position_bias_table", (self.table, heads)))
        ws.append(Weight("relative_position_index", (n * n,), "buffer"))
        ws.append(Weight("qkv.weight", (3 * c, c)))
        if self.args["qkv_bias"]:
            ws.append(Weight("qkv.bias", (3 * c,)))
        ws.append(Weight("proj.weight", (c, c)))
        if self.args["proj_bias"]:
            ws.append(Weight("proj.bias", (c,)))
        if self.args["v2"]:
            ws += [
                Weight("cpb_mlp.0.weight", (CPB_HIDDEN, 2)),
                Weight("cpb_mlp.0.bias", (CPB_HIDDEN,)),
                Weight("cpb_mlp.2.weight", (heads, CPB_HIDDEN)),
            ]
        return ws

    def _parts(self) -> dict[str, int]:
        t, c, n = self.tokens, self.c, self.win[0] * self.win[1]
        parts = {
            "qkv": t * c * 3 * c,
            "scores": self.nw * n * n * c,  # Q·Kᵀ: nW·heads·N·N·d
            "weighted": self.nw * n * n * c,  # A·V
            "proj": t * c * c,
        }
        if self.args["v2"]:
            parts["cpb_mlp"] = self.table * (2 * CPB_HIDDEN + CPB_HIDDEN * self.args["num_heads"])
        return parts

    def macs(self) -> int:
        return sum(self._parts().values())

    def flops(self) -> int:
        t, c, heads, n = self.tokens, self.c, self.args["num_heads"], self.win[0] * self.win[1]
        s = self.nw * heads * n * n
        f = 2 * self.macs()
        f += (3 * c * t if self.args["qkv_bias"] else 0) + (c * t if self.args["proj_bias"] else 0)
        f += s + 4 * s + (s if any(self.shift) else 0)  # bias, softmax, mask
        if self.args["v2"]:
            f += 6 * t * c + s + 2 * CPB_HIDDEN * self.table + 5 * heads * self.table
        else:
            f += t * c  # q · d^−½
        return f

    def explain(self) -> list[Any]:
        """The windows, then MACs as the sum of the matrix products."""
        from ..explain import Formula, num, weights_formulas

        p = self._parts()
        n = self.win[0] * self.win[1]
        t, c = self.tokens, self.c
        f = [
            Formula(
                "windows",
                "⌈H/w_h⌉·⌈W/w_w⌉",
                f"{self.pad[0] // self.win[0]}·{self.pad[1] // self.win[1]}",
                self.nw,
                note=f"{n} tokens each; shift {tuple(self.shift)}",
            ),
            *weights_formulas(self),
            Formula("qkv MACs", "T·C·3C", f"{num(t)}·{c}·{3 * c}", p["qkv"]),
            Formula("Q·Kᵀ and A·V MACs", "2·nW·N²·C", f"2·{self.nw}·{n}²·{c}", 2 * p["scores"]),
            Formula("proj MACs", "T·C²", f"{num(t)}·{c}²", p["proj"]),
        ]
        if "cpb_mlp" in p:
            f.append(
                Formula(
                    "bias MLP MACs",
                    "E·(2·512 + 512·heads)",
                    f"{self.table}·(1024 + 512·{self.args['num_heads']})",
                    p["cpb_mlp"],
                )
            )
        f.append(
            Formula("MACs", "Σ", " + ".join(num(v) for v in p.values()), self.macs(), ("macs",))
        )
        f.append(Formula("FLOPs", value=self.flops(), checks=("flops",), note="see the rule"))
        return f

    # --- forward ---------------------------------------------------------------------------
    def _index(self) -> Any:
        """relative_position_index: for tokens a, b of a window, the table row of their offset."""
        import numpy as np

        wh, ww = self.win
        coords = np.stack(np.meshgrid(np.arange(wh), np.arange(ww), indexing="ij")).reshape(2, -1)
        rel = coords[:, :, None] - coords[:, None, :]
        return ((rel[0] + wh - 1) * (2 * ww - 1) + rel[1] + ww - 1).reshape(-1)

    def _bias_table(self, params: dict[str, Any], dtype: Any) -> Any:
        """(E, heads): v1's learned table, or v2's 16·σ(MLP(log-spaced coordinates))."""
        import numpy as np

        if not self.args["v2"]:
            return params["relative_position_bias_table"]
        wh, ww = self.win
        hs = np.arange(-(wh - 1), wh, dtype=np.float64) / max(wh - 1, 1)
        ws = np.arange(-(ww - 1), ww, dtype=np.float64) / max(ww - 1, 1)
        grid = np.stack(np.meshgrid(hs, ws, indexing="ij"), axis=-1) * 8
        grid = np.sign(grid) * np.log2(np.abs(grid) + 1.0) / 3.0
        hidden = np.maximum(
            grid.reshape(-1, 2) @ params["cpb_mlp.0.weight"].T.astype(np.float64)
            + params["cpb_mlp.0.bias"],
            0,
        )
        out = hidden @ params["cpb_mlp.2.weight"].T.astype(np.float64)
        return (16.0 / (1.0 + np.exp(-out))).astype(dtype)

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """torchvision's ``shifted_window_attention``, step by step (the index and the v2
        coordinate table are recomputed from their definitions, not read from the buffers)."""
        import numpy as np

        x = inputs[0]
        b, h, w, c = x.shape
        wh, ww = (
            self.args["window_size"]
            if isinstance(self.args["window_size"], tuple)
            else ((self.args["window_size"],) * 2)
        )
        heads = self.args["num_heads"]
        ph, pw = -(-h // wh) * wh, -(-w // ww) * ww
        x = np.pad(x, ((0, 0), (0, ph - h), (0, pw - w), (0, 0)))
        sh, sw = (
            self.args["shift_size"]
            if isinstance(self.args["shift_size"], tuple)
            else ((self.args["shift_size"],) * 2)
        )
        sh, sw = (0 if wh >= ph else sh), (0 if ww >= pw else sw)
        if sh or sw:
            x = np.roll(x, (-sh, -sw), axis=(1, 2))
        nh, nwid = ph // wh, pw // ww
        n = wh * ww
        win = x.reshape(b, nh, wh, nwid, ww, c).transpose(0, 1, 3, 2, 4, 5).reshape(-1, n, c)
        qkv = win @ params["qkv.weight"].T
        if "qkv.bias" in params:
            bias = params["qkv.bias"]
            if self.args["v2"]:  # torchvision zeroes the key bias in v2
                bias = bias.copy()
                bias[c : 2 * c] = 0
            qkv = qkv + bias
        qkv = qkv.reshape(win.shape[0], n, 3, heads, c // heads).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.args["v2"]:
            eps = np.float32(1e-12)
            qn = q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), eps)
            kn = k / np.maximum(np.linalg.norm(k, axis=-1, keepdims=True), eps)
            attn = qn @ kn.transpose(0, 1, 3, 2)
            scale = np.exp(np.minimum(params["logit_scale"], np.float32(math.log(100.0))))
            attn = attn * scale
        else:
            attn = (q * np.float32((c // heads) ** -0.5)) @ k.transpose(0, 1, 3, 2)
        table = self._bias_table(params, x.dtype)
        bias = table[self._index()].reshape(n, n, heads).transpose(2, 0, 1)
        attn = attn + bias[None]
        if sh or sw:
            ids = np.zeros((ph, pw), dtype=np.float32)
            cnt = 0
            for hs in ((0, -wh), (-wh, -sh if sh else None), (-sh if sh else None, None)):
                for ws_ in ((0, -ww), (-ww, -sw if sw else None), (-sw if sw else None, None)):
                    ids[hs[0] : hs[1], ws_[0] : ws_[1]] = cnt
                    cnt += 1
            ids = ids.reshape(nh, wh, nwid, ww).transpose(0, 2, 1, 3).reshape(nh * nwid, n)
            mask = np.where(ids[:, None, :] - ids[:, :, None] != 0, -100.0, 0.0).astype(x.dtype)
            attn = attn.reshape(b, nh * nwid, heads, n, n) + mask[None, :, None]
            attn = attn.reshape(-1, heads, n, n)
        attn = attn - attn.max(axis=-1, keepdims=True)
        attn = np.exp(attn)
        attn /= attn.sum(axis=-1, keepdims=True)
        out = (attn @ v).transpose(0, 2, 1, 3).reshape(-1, n, c)
        out = out @ params["proj.weight"].T
        if "proj.bias" in params:
            out = out + params["proj.bias"]
        out = out.reshape(b, nh, nwid, wh, ww, c).transpose(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)
        if sh or sw:
            out = np.roll(out, (sh, sw), axis=(1, 2))
        return np.ascontiguousarray(out[:, :h, :w]).astype(inputs[0].dtype, copy=False)
