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
      (heads, 512); buffers ``relative_position_index`` (N², or (N, N) for 3-D windows) and, v2,
      ``relative_coords_table`` (1, 2w_h − 1, 2w_w − 1, 2). 3-D windows (Swin3D, on (D, H, W, C))
      have a ((2w_d − 1)(2w_h − 1)(2w_w − 1), heads) table; ``fit: shrink`` shrinks the window to
      an axis no larger than it (torchvision's video rule) instead of padding. Swin-T stage 1 (C = 96, 3 heads, 7×7): 4·96² + 4·96 + 169·3
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
        "window_size": Arg("ints", 7, "window per axis: (w_h, w_w), or (w_d, w_h, w_w)", minimum=1),
        "shift_size": Arg("ints", 0, "shift per axis: w // 2 on every other block", minimum=0),
        "v2": Arg("bool", False, "Swin v2: cosine attention, logit scale, position-bias MLP"),
        "fit": Arg(
            "choice",
            "pad",
            "an axis no larger than the window: 'pad' keeps the window and drops the shift "
            "(Swin), 'shrink' shrinks the window to the axis (Swin3D)",
            choices=("pad", "shrink"),
        ),
        "qkv_bias": Arg("bool", True, "bias of the qkv projection"),
        "proj_bias": Arg("bool", True, "bias of the output projection"),
        "dropout": Arg("float", 0.0, "identity at inference", minimum=0.0),
        "attention_dropout": Arg("float", 0.0, "identity at inference", minimum=0.0),
    }
    __slots__ = ("conf", "win", "shift", "pad", "nw", "c")

    def _fit(self, sizes: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
        """(configured window, used window, shift, padded sizes) for the spatial ``sizes``,
        with torchvision's rules (``fit``)."""
        r = len(sizes)
        conf = self.per_axis("window_size", r)
        win, shift = list(conf), list(self.per_axis("shift_size", r))
        for ax in range(r):
            if shift[ax] >= conf[ax]:
                raise CnncalcError(
                    f"shift_size {shift[ax]} must be smaller than the window {conf[ax]}"
                )
            if self.args["fit"] == "shrink" and sizes[ax] <= conf[ax]:
                win[ax], shift[ax] = sizes[ax], 0
        pad = tuple(-(-s // k) * k for s, k in zip(sizes, win))
        if self.args["fit"] == "pad":
            for ax in range(r):
                if win[ax] >= pad[ax]:  # torchvision: the window covers the axis
                    shift[ax] = 0
        return conf, tuple(win), tuple(shift), pad

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        if len(x) not in (3, 4):
            raise CnncalcError(
                f"expects a channels-last map (H, W, C) or (D, H, W, C), got shape {fmt_shape(x)}",
                hint="permute {dims: [1, 2, 0]} turns (C, H, W) into (H, W, C)",
            )
        c = x[-1]
        heads = self.args["num_heads"]
        if c % heads:
            raise CnncalcError(f"num_heads={heads} does not divide the {c} channels")
        if self.args["v2"] and len(x) != 3:
            raise CnncalcError("v2 (cosine attention) is defined for 2-D maps (H, W, C) only")
        self.conf, self.win, self.shift, self.pad = self._fit(tuple(x[:-1]))
        self.nw = math.prod(p // w for p, w in zip(self.pad, self.win))
        self.c = c
        return x

    @property
    def tokens(self) -> int:
        return math.prod(self.pad)

    @property
    def table(self) -> int:
        return math.prod(2 * w - 1 for w in self.conf)

    def declare_weights(self) -> list[Weight]:
        c, heads, n = self.c, self.args["num_heads"], math.prod(self.conf)
        ws = []
        if self.args["v2"]:
            ws.append(Weight("logit_scale", (heads, 1, 1)))
            coords = (1, 2 * self.conf[0] - 1, 2 * self.conf[1] - 1, 2)
            ws.append(Weight("relative_coords_table", coords, "buffer"))
        else:
            ws.append(Weight("relative_position_bias_table", (self.table, heads)))
        # torchvision keeps it flat for 2-D windows and as (N, N) for 3-D ones
        index = (n * n,) if len(self.conf) == 2 else (n, n)
        ws.append(Weight("relative_position_index", index, "buffer"))
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
        t, c, n = self.tokens, self.c, math.prod(self.win)
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
        t, c, heads, n = self.tokens, self.c, self.args["num_heads"], math.prod(self.win)
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
        n = math.prod(self.win)
        t, c = self.tokens, self.c
        f = [
            Formula(
                "windows",
                "∏ ⌈size/window⌉",
                "·".join(str(a // w) for a, w in zip(self.pad, self.win)),
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
    def _index(self, conf: tuple[int, ...] | None = None) -> Any:
        """relative_position_index: for tokens a, b of a window, the table row of their offset
        (row-major over the axes of the (2w − 1)-sized offset grid)."""
        import numpy as np

        conf = conf or self.conf
        grids = np.meshgrid(*(np.arange(w) for w in conf), indexing="ij")
        coords = np.stack(grids).reshape(len(conf), -1)
        rel = coords[:, :, None] - coords[:, None, :]
        idx = np.zeros(rel.shape[1:], dtype=np.int64)
        for ax, w in enumerate(conf):
            idx = idx * (2 * w - 1) + rel[ax] + w - 1
        return idx.reshape(-1)

    def _bias_table(self, params: dict[str, Any], dtype: Any) -> Any:
        """(E, heads): v1's learned table, or v2's 16·σ(MLP(log-spaced coordinates))."""
        import numpy as np

        if not self.args["v2"]:
            return params["relative_position_bias_table"]
        wh, ww = self.conf
        hs = np.arange(-(wh - 1), wh, dtype=np.float64) / max(wh - 1, 1)
        ws = np.arange(-(ww - 1), ww, dtype=np.float64) / max(ww - 1, 1)
        grid = np.stack(np.meshgrid(hs, ws, indexing="ij"), axis=-1) * 8
        grid = np.sign(grid) * np.log2(np.abs(grid) + 1.0) / 3.0
        w0 = params["cpb_mlp.0.weight"].T.astype(np.float64)
        hidden = np.maximum(grid.reshape(-1, 2) @ w0 + params["cpb_mlp.0.bias"], 0)
        out = hidden @ params["cpb_mlp.2.weight"].T.astype(np.float64)
        return (16.0 / (1.0 + np.exp(-out))).astype(dtype)

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """torchvision's ``shifted_window_attention`` (and ``_3d``), step by step. The index and
        v2's coordinate table are recomputed from their definitions, not read from the buffers;
        a shrunk window reads the first N rows and columns of the index, as torchvision does."""
        import numpy as np

        x = inputs[0]
        b, *sizes, c = x.shape
        r = len(sizes)
        conf, win, shift, pad = self._fit(tuple(sizes))
        heads = self.args["num_heads"]
        x = np.pad(x, ((0, 0), *((0, p - s) for p, s in zip(pad, sizes)), (0, 0)))
        axes = tuple(range(1, r + 1))
        if any(shift):
            x = np.roll(x, tuple(-s for s in shift), axis=axes)
        counts = [p // w for p, w in zip(pad, win)]
        n = math.prod(win)
        blocks = [d for cw in zip(counts, win) for d in cw]  # n1, w1, n2, w2, …
        perm = (0, *range(1, 2 * r, 2), *range(2, 2 * r + 1, 2), 2 * r + 1)
        win_x = x.reshape(b, *blocks, c).transpose(perm).reshape(-1, n, c)
        qkv = win_x @ params["qkv.weight"].T
        if "qkv.bias" in params:
            bias = params["qkv.bias"]
            if self.args["v2"]:  # torchvision zeroes the key bias in v2
                bias = bias.copy()
                bias[c : 2 * c] = 0
            qkv = qkv + bias
        qkv = qkv.reshape(win_x.shape[0], n, 3, heads, c // heads).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.args["v2"]:
            eps = np.float32(1e-12)
            qn = q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), eps)
            kn = k / np.maximum(np.linalg.norm(k, axis=-1, keepdims=True), eps)
            attn = qn @ kn.transpose(0, 1, 3, 2)
            attn = attn * np.exp(np.minimum(params["logit_scale"], np.float32(math.log(100.0))))
        else:
            attn = (q * np.float32((c // heads) ** -0.5)) @ k.transpose(0, 1, 3, 2)
        table = self._bias_table(params, x.dtype)
        full = self._index(conf).reshape(math.prod(conf), -1)
        bias = table[full[:n, :n].reshape(-1)].reshape(n, n, heads).transpose(2, 0, 1)
        attn = attn + bias[None]
        if any(shift):
            ids = np.zeros(pad, dtype=np.int64)
            for ax in range(r):  # region of each padded index along the axis (0, 1 or 2)
                line = np.zeros(pad[ax], dtype=np.int64)
                w_, s_ = win[ax], shift[ax]
                for k_, (lo, hi) in enumerate(((0, -w_), (-w_, -s_ or None), (-s_ or None, None))):
                    line[lo:hi] = k_
                ids = ids * 3 + line.reshape((-1,) + (1,) * (r - ax - 1))
            wid = (
                ids.reshape(blocks)
                .transpose((*range(0, 2 * r, 2), *range(1, 2 * r, 2)))
                .reshape(-1, n)
            )
            mask = np.where(wid[:, None, :] != wid[:, :, None], -100.0, 0.0).astype(x.dtype)
            attn = attn.reshape(b, -1, heads, n, n) + mask[None, :, None]
            attn = attn.reshape(-1, heads, n, n)
        attn = attn - attn.max(axis=-1, keepdims=True)
        attn = np.exp(attn)
        attn /= attn.sum(axis=-1, keepdims=True)
        out = (attn @ v).transpose(0, 2, 1, 3).reshape(-1, n, c)
        out = out @ params["proj.weight"].T
        if "proj.bias" in params:
            out = out + params["proj.bias"]
        inv = np.argsort(perm)
        out = out.reshape(b, *counts, *win, c).transpose(inv).reshape(b, *pad, c)
        if any(shift):
            out = np.roll(out, shift, axis=axes)
        crop = (slice(None), *(slice(0, s) for s in sizes), slice(None))
        return np.ascontiguousarray(out[crop]).astype(inputs[0].dtype, copy=False)


@register
class RelativeAttention(Layer):
    """Multi-head self-attention with a relative position bias inside groups of tokens (MaxViT's
    ``RelativePositionalMultiHeadAttention``, after a block or grid partition).

    (G, N, C) → (G, N, C): G groups of N = P² tokens (a P×P window), heads = C / ``head_dim``.
    Weights (PyTorch names): ``relative_position_bias_table`` ((2P − 1)², heads),
    buffer ``relative_position_index`` (N, N), ``to_qkv`` (3C, C) + 3C, ``merge`` (C, C) + C.
    MACs = G·N·C·3C (to_qkv) + 2·G·N²·C (Q·Kᵀ and A·V) + G·N·C² (merge).
    FLOPs = 2·MACs + 4·G·N·C (bias adds) + G·N·C (k scaled by C^−½: torchvision scales by the
    feature width, not the head width) + 5·S on the S = G·heads·N² scores (bias add, softmax).
    """

    NAMES = ("relative_attention",)
    CATEGORY = "attention"
    ARGS = {
        "head_dim": Arg("int", doc="width of one head (C / heads)", minimum=1),
        "dropout": Arg("float", 0.0, "identity at inference", minimum=0.0),
    }
    __slots__ = ("g", "n", "c", "p")

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        if len(x) != 3:
            raise CnncalcError(
                f"expects partitioned tokens (G, N, C), got shape {fmt_shape(x)}",
                hint="partition the map first: reshape, permute and reshape to (windows, P·P, C)",
            )
        g, n, c = x
        p = math.isqrt(n)
        if p * p != n:
            raise CnncalcError(f"the {n} tokens of a group are not a square window P×P")
        if c % self.args["head_dim"]:
            raise CnncalcError(f"head_dim={self.args['head_dim']} does not divide the {c} channels")
        self.g, self.n, self.c, self.p = g, n, c, p
        return x

    def declare_weights(self) -> list[Weight]:
        c, heads = self.c, self.c // self.args["head_dim"]
        return [
            Weight("relative_position_bias_table", ((2 * self.p - 1) ** 2, heads)),
            Weight("relative_position_index", (self.n, self.n), "buffer"),
            Weight("to_qkv.weight", (3 * c, c)),
            Weight("to_qkv.bias", (3 * c,)),
            Weight("merge.weight", (c, c)),
            Weight("merge.bias", (c,)),
        ]

    def macs(self) -> int:
        g, n, c = self.g, self.n, self.c
        return g * n * c * 3 * c + 2 * g * n * n * c + g * n * c * c

    def flops(self) -> int:
        g, n, c = self.g, self.n, self.c
        s = g * (c // self.args["head_dim"]) * n * n
        return 2 * self.macs() + 4 * g * n * c + g * n * c + 5 * s

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """torchvision's forward: q, k, v = chunk(to_qkv(x)); k·C^−½; softmax(q·kᵀ + B)·v; merge."""
        import numpy as np

        x = inputs[0]
        b, g, n, c = x.shape
        dh = self.args["head_dim"]
        h = c // dh
        qkv = x @ params["to_qkv.weight"].T + params["to_qkv.bias"]
        q, k, v = (
            t.reshape(b, g, n, h, dh).transpose(0, 1, 3, 2, 4) for t in np.split(qkv, 3, axis=-1)
        )
        k = k * np.float32(c**-0.5)
        p = math.isqrt(n)
        grid = np.stack(np.meshgrid(np.arange(p), np.arange(p), indexing="ij")).reshape(2, -1)
        rel = grid[:, :, None] - grid[:, None, :]
        index = (rel[0] + p - 1) * (2 * p - 1) + rel[1] + p - 1
        bias = params["relative_position_bias_table"][index.reshape(-1)].reshape(n, n, h)
        a = q @ k.swapaxes(-1, -2) + bias.transpose(2, 0, 1)
        a = np.exp(a - a.max(axis=-1, keepdims=True))
        a /= a.sum(axis=-1, keepdims=True)
        out = (a @ v).transpose(0, 1, 3, 2, 4).reshape(b, g, n, c)
        return (out @ params["merge.weight"].T + params["merge.bias"]).astype(x.dtype, copy=False)
