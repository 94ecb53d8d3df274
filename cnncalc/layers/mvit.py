"""MViT's pooling attention (Multiscale Vision Transformers v1 and v2), on a token sequence
``(1 + T·H·W, C)``: a class token followed by a T×H×W grid of tokens (torchvision
``MultiscaleAttention``).

One layer, because composed from generic ops each head's pooling would take some ten rows per
pooled tensor (split off the class token, transpose, reshape to a volume, depthwise conv3d,
reshape back, concat, norm) and v2's decomposed relative position embedding needs gathers with
no generic form. Its MACs are exactly torchvision's matrix products and convolutions: the qkv and
output projections, the depthwise pooling convolutions, Q·Kᵀ and A·V, and v2's three
relative-position products.
"""

from __future__ import annotations

from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Weight, fmt_shape, prod, register

#: torchvision's pooled tensors, in its module order
_POOLS = ("pool_q", "pool_k", "pool_v")


@register
class MultiscaleAttention(Layer):
    """Multi-head pooling attention (MViT v1/v2; torchvision ``MultiscaleAttention``).

    (1 + T·H·W, C) → (1 + T'·H'·W', C_out): token 0 is the class token, the others a T×H×W grid
    (``thw``). ``qkv`` (linear C → 3·C_out) makes H heads of width d = C_out / H. Each of Q, K, V
    may be pooled (``pool_q`` when ``kernel_q`` or ``stride_q`` is > 1, ``pool_k`` and ``pool_v``
    likewise with the kv ones): the grid, without the class token, goes through a depthwise
    conv3d (d channels, no bias, padding k // 2), the class token is put back and a LayerNorm(d)
    applied. Q's pooled grid T'×H'×W' is the output grid. Scores Q·Kᵀ (Q scaled by d^−½), v2's
    relative position terms (``rel_pos``), softmax, A·V, v2's residual pooling (``residual_pool``:
    + Q, on the grid tokens only unless ``residual_with_cls_embed``), heads merged, ``project``
    (linear C_out → C_out).

    * Weights (PyTorch names): ``qkv.weight`` (3·C_out, C), ``qkv.bias`` (3·C_out),
      ``project.0.weight`` (C_out, C_out), ``project.0.bias``; per pooled tensor
      ``pool_*.pool.weight`` (d, 1, k_t, k_h, k_w) and ``pool_*.norm_act.0.weight`` / ``.bias``
      (d); v2 ``rel_pos_h`` and ``rel_pos_w`` (2·max(S // s_q, S // s_kv) − 1, d) with
      S = max(H, W) and the strides' spatial values, ``rel_pos_t`` (2T − 1, d).
    * MACs, with N_q = 1 + T'H'W' and N_k = 1 + T_kH_kW_k: N·C·3·C_out (qkv) + C_out·T'H'W'·∏k_q
      (pool_q) + 2·C_out·T_kH_kW_k·∏k_kv (pool_k, pool_v) + 2·N_q·N_k·C_out (Q·Kᵀ and A·V)
      + v2: (N_q − 1)·C_out·(T_k + H_k + W_k) (the products of Q with the t, h and w tables)
      + N_q·C_out² (project).
    * FLOPs = 2·MACs + 3·N·C_out + N_q·C_out (bias adds) + 7·C_out per pooled token, class
      token included (LayerNorm) + N_q·C_out (scaling Q) + 4·H·N_q·N_k (softmax) + v2:
      3·H·(N_q − 1)·(N_k − 1) (summing the three terms into the scores) + (N_q − 1)·C_out
      (residual pooling; N_q·C_out with the class token).
    """

    NAMES = ("multiscale_attention",)
    CATEGORY = "attention"
    ARGS = {
        "num_heads": Arg("int", doc="attention heads H (must divide the output width)", minimum=1),
        "thw": Arg("int_list", doc="the input token grid (T, H, W), class token excluded"),
        "out_features": Arg("opt_int", None, "output width C_out (default: C)", minimum=1),
        "kernel_q": Arg("ints", 1, "pooling kernel of Q (k_t, k_h, k_w)", minimum=1),
        "stride_q": Arg("ints", 1, "pooling stride of Q: the output grid", minimum=1),
        "kernel_kv": Arg("ints", 1, "pooling kernel of K and V", minimum=1),
        "stride_kv": Arg("ints", 1, "pooling stride of K and V", minimum=1),
        "residual_pool": Arg("bool", False, "v2: add the pooled Q to the attention output"),
        "residual_with_cls_embed": Arg(
            "bool", False, "the residual pooling also adds the class token's Q"
        ),
        "rel_pos": Arg("bool", False, "v2: decomposed relative position embeddings (t, h, w)"),
        "eps": Arg("float", 1e-6, "epsilon of the pooling LayerNorms"),
    }
    __slots__ = ("n", "c", "co", "grids", "kernels", "strides", "tables")

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        if len(x) != 2:
            raise CnncalcError(
                f"expects a token sequence (1 + T·H·W, C), got shape {fmt_shape(x)}",
                hint="conv3d, flatten {start_dim: 1}, transpose {dim0: 0, dim1: 1}, then "
                "concat a class token in front",
            )
        n, c = x
        thw = tuple(self.args["thw"])
        if len(thw) != 3 or min(thw) < 1:
            raise CnncalcError(f"thw must be three sizes ≥ 1 (T, H, W), received {list(thw)}")
        if n != 1 + prod(thw):
            raise CnncalcError(
                f"{n} tokens do not make a class token and a {'×'.join(map(str, thw))} grid "
                f"(1 + {prod(thw)} = {1 + prod(thw)})",
                hint="thw is the grid of the input tokens, after every earlier stride_q",
            )
        co = self.args["out_features"] or c
        h = self.args["num_heads"]
        if co % h:
            raise CnncalcError(f"num_heads={h} does not divide the output width {co}")
        self.n, self.c, self.co = n, c, co
        kq, kkv = self.per_axis("kernel_q", 3), self.per_axis("kernel_kv", 3)
        sq, skv = self.per_axis("stride_q", 3), self.per_axis("stride_kv", 3)
        self.kernels = {"pool_q": kq, "pool_k": kkv, "pool_v": kkv}
        self.strides = {"pool_q": sq, "pool_k": skv, "pool_v": skv}
        self.grids: dict[str, Shape] = {}
        for p in _POOLS:
            k, s = self.kernels[p], self.strides[p]
            if prod(k) > 1 or prod(s) > 1:
                self.grids[p] = tuple(
                    (a + 2 * (kk // 2) - kk) // ss + 1 for a, kk, ss in zip(thw, k, s)
                )
        q_grid = self.grids.get("pool_q", thw)
        size = max(thw[1:])
        spatial = 2 * max(size // sq[1], size // skv[1]) - 1
        self.tables = (spatial, spatial, 2 * thw[0] - 1)
        return (1 + prod(q_grid), co)

    @property
    def heads(self) -> int:
        return self.args["num_heads"]

    def _grid(self, p: str) -> Shape:
        return self.grids.get(p, tuple(self.args["thw"]))

    def declare_weights(self) -> list[Weight]:
        c, co, d = self.c, self.co, self.co // self.heads
        ws = [
            Weight("qkv.weight", (3 * co, c)),
            Weight("qkv.bias", (3 * co,)),
            Weight("project.0.weight", (co, co)),
            Weight("project.0.bias", (co,)),
        ]
        for p in _POOLS:
            if p in self.grids:
                ws += [
                    Weight(f"{p}.pool.weight", (d, 1, *self.kernels[p])),
                    Weight(f"{p}.norm_act.0.weight", (d,)),
                    Weight(f"{p}.norm_act.0.bias", (d,)),
                ]
        if self.args["rel_pos"]:
            for axis, rows in zip("hwt", self.tables):
                ws.append(Weight(f"rel_pos_{axis}", (rows, d)))
        return ws

    def _parts(self) -> dict[str, int]:
        co = self.co
        nq, nk = 1 + prod(self._grid("pool_q")), 1 + prod(self._grid("pool_k"))
        parts = {"qkv": self.n * self.c * 3 * co}
        for p in _POOLS:
            if p in self.grids:  # depthwise: one k_t·k_h·k_w window per output element
                parts[p] = co * prod(self.grids[p]) * prod(self.kernels[p])
        parts["scores"] = nq * nk * co  # Q·Kᵀ: H·N_q·N_k·d
        if self.args["rel_pos"]:
            parts["rel_pos"] = (nq - 1) * co * sum(self._grid("pool_k"))
        parts["weighted"] = nq * nk * co  # A·V
        parts["project"] = nq * co * co
        return parts

    def macs(self) -> int:
        return sum(self._parts().values())

    def _flop_terms(self) -> dict[str, tuple[str, int]]:
        """The element-wise work beyond 2·MACs: {name: (rule, value)}."""
        co, h = self.co, self.heads
        nq, nk = 1 + prod(self._grid("pool_q")), 1 + prod(self._grid("pool_k"))
        pooled = sum(1 + prod(g) for g in self.grids.values())
        terms = {
            "bias adds": ("(3·N + N_q)·C_out", 3 * self.n * co + nq * co),
            "pooling norms": ("7·C_out·Σ pooled tokens", 7 * pooled * co),
            "Q scaling": ("N_q·C_out", nq * co),
            "softmax": ("4·H·N_q·N_k", 4 * h * nq * nk),
        }
        if self.args["rel_pos"]:
            terms["position sums"] = ("3·H·(N_q − 1)·(N_k − 1)", 3 * h * (nq - 1) * (nk - 1))
        if self.args["residual_pool"]:
            cls = self.args["residual_with_cls_embed"]
            terms["residual pooling"] = (
                "N_q·C_out" if cls else "(N_q − 1)·C_out",
                (nq if cls else nq - 1) * co,
            )
        return terms

    def flops(self) -> int:
        return 2 * self.macs() + sum(v for _, v in self._flop_terms().values())

    def explain(self) -> list[Any]:
        """Grids of Q and K/V, weights, then MACs as the sum of the products."""
        from ..explain import Formula, num, weights_formulas

        co, h = self.co, self.heads
        q, k = self._grid("pool_q"), self._grid("pool_k")
        nq, nk = 1 + prod(q), 1 + prod(k)
        labels = {
            "qkv": ("qkv MACs", "N·C·3·C_out", f"{self.n}·{self.c}·{3 * co}"),
            "scores": ("Q·Kᵀ MACs", "N_q·N_k·C_out", f"{nq}·{nk}·{co}"),
            "weighted": ("A·V MACs", "N_q·N_k·C_out", f"{nq}·{nk}·{co}"),
            "project": ("project MACs", "N_q·C_out²", f"{nq}·{co}²"),
            "rel_pos": (
                "relative position MACs",
                "(N_q − 1)·C_out·(T_k + H_k + W_k)",
                f"{nq - 1}·{co}·({k[0]} + {k[1]} + {k[2]})",
            ),
        }
        f = [
            Formula("head width", "C_out / H", f"{co} / {h}", co // h),
            Formula("query tokens N_q", "1 + T'·H'·W'", f"1 + {'·'.join(map(str, q))}", nq),
            Formula("key tokens N_k", "1 + T_k·H_k·W_k", f"1 + {'·'.join(map(str, k))}", nk),
            *weights_formulas(self),
        ]
        parts = self._parts()
        for key, value in parts.items():
            if key in labels:
                label, rule, work = labels[key]
            else:
                g, kk = self.grids[key], self.kernels[key]
                label = f"{key} MACs"
                rule = "C_out·T'·H'·W'·∏k"
                work = f"{co}·{'·'.join(map(str, g))}·{'·'.join(map(str, kk))}"
            f.append(Formula(label, rule, work, value))
        f.append(
            Formula("MACs", "Σ", " + ".join(num(v) for v in parts.values()), self.macs(), ("macs",))
        )
        terms = self._flop_terms()
        f.append(
            Formula(
                "FLOPs",
                "2·MACs + " + " + ".join(rule for rule, _ in terms.values()),
                f"2·{num(self.macs())} + " + " + ".join(num(v) for _, v in terms.values()),
                self.flops(),
                ("flops",),
                ", ".join(terms),
            )
        )
        return f

    # --- forward ---------------------------------------------------------------------------
    def _pool(self, t: Any, thw: Shape, p: str, params: dict[str, Any]) -> tuple[Any, Shape]:
        """torchvision's ``Pool``: depthwise conv3d on the grid tokens, class token back, norm."""
        import numpy as np

        b, h, _, d = t.shape
        cls, grid = t[:, :, :1], t[:, :, 1:]
        k, s = self.kernels[p], self.strides[p]
        pad = [kk // 2 for kk in k]
        vol = grid.transpose(0, 1, 3, 2).reshape(b * h, d, *thw)
        vol = np.pad(vol, [(0, 0), (0, 0)] + [(q, q) for q in pad])
        out_thw = tuple((a + 2 * q - kk) // ss + 1 for a, q, kk, ss in zip(thw, pad, k, s))
        w = params[f"{p}.pool.weight"][:, 0]
        out = np.zeros((b * h, d, *out_thw), dtype=t.dtype)
        for a in range(k[0]):
            for bb in range(k[1]):
                for cc in range(k[2]):
                    win = vol[
                        :,
                        :,
                        a : a + s[0] * (out_thw[0] - 1) + 1 : s[0],
                        bb : bb + s[1] * (out_thw[1] - 1) + 1 : s[1],
                        cc : cc + s[2] * (out_thw[2] - 1) + 1 : s[2],
                    ]
                    out += win * w[:, a, bb, cc].reshape(d, 1, 1, 1)
        out = out.reshape(b, h, d, -1).transpose(0, 1, 3, 2)
        y = np.concatenate([cls, out], axis=2)
        mean = y.mean(axis=-1, keepdims=True)
        var = y.var(axis=-1, keepdims=True)
        y = (y - mean) / np.sqrt(var + np.asarray(self.args["eps"], dtype=y.dtype))
        y = y * params[f"{p}.norm_act.0.weight"] + params[f"{p}.norm_act.0.bias"]
        return y, out_thw

    @staticmethod
    def _resize(table: Any, rows: int) -> Any:
        """torchvision's ``_interpolate``: linear resampling of a table to ``rows`` rows
        (``F.interpolate(mode="linear")``, align_corners false), when the sizes differ."""
        import numpy as np

        n = table.shape[0]
        if n == rows:
            return table
        src = np.maximum((np.arange(rows) + 0.5) * (n / rows) - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(int), n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        lam = (src - i0)[:, None].astype(table.dtype)
        return table[i0] * (1 - lam) + table[i1] * lam

    def _rel_pos(
        self, attn: Any, q: Any, q_thw: Shape, k_thw: Shape, params: dict[str, Any]
    ) -> Any:
        """v2's decomposed relative position terms (torchvision ``_add_rel_pos``)."""
        import numpy as np

        b, h, _, d = q.shape
        rs = []
        for ax, name in ((1, "rel_pos_h"), (2, "rel_pos_w"), (0, "rel_pos_t")):
            qs, ks = q_thw[ax], k_thw[ax]
            q_ratio, k_ratio = max(ks / qs, 1.0), max(qs / ks, 1.0)
            f32 = np.float32  # torch: an integer arange times a Python float is float32
            dist = np.arange(qs, dtype=f32)[:, None] * f32(q_ratio) - (
                np.arange(ks, dtype=f32)[None, :] + f32(1.0 - ks)
            ) * f32(k_ratio)
            table = self._resize(params[name], int(2 * max(qs, ks) - 1))
            rs.append(table[dist.astype(np.int64)])  # (q, k, d)
        rh, rw, rt = rs
        qt, qh, qw = q_thw
        r_q = q[:, :, 1:].reshape(b, h, qt, qh, qw, d)
        rel_h = np.einsum("bythwc,hkc->bythwk", r_q, rh)
        rel_w = np.einsum("bythwc,wkc->bythwk", r_q, rw)
        rel_t = np.einsum("bythwc,tkc->bythwk", r_q, rt)
        rel = (
            rel_h[:, :, :, :, :, None, :, None]
            + rel_w[:, :, :, :, :, None, None, :]
            + rel_t[:, :, :, :, :, :, None, None]
        ).reshape(b, h, qt * qh * qw, -1)
        attn = attn.copy()
        attn[:, :, 1:, 1:] += rel
        return attn

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """torchvision's ``MultiscaleAttention.forward``, step by step."""
        import numpy as np

        x = inputs[0]
        b, n, _ = x.shape
        h = self.args["num_heads"]
        co = self.args["out_features"] or x.shape[2]
        d = co // h
        thw = tuple(self.args["thw"])
        qkv = x @ params["qkv.weight"].T + params["qkv.bias"]
        qkv = qkv.reshape(b, n, 3, h, d).transpose(2, 0, 3, 1, 4)  # (3, B, H, N, d)
        q, k, v = qkv[0], qkv[1], qkv[2]
        k_thw = q_thw = thw
        if "pool_k.pool.weight" in params:
            k, k_thw = self._pool(k, thw, "pool_k", params)
            v, _ = self._pool(v, thw, "pool_v", params)
        if "pool_q.pool.weight" in params:
            q, q_thw = self._pool(q, thw, "pool_q", params)
        attn = (q * np.float32(d**-0.5)) @ k.swapaxes(-1, -2)
        if self.args["rel_pos"]:
            attn = self._rel_pos(attn, q, q_thw, k_thw, params)
        attn = attn - attn.max(axis=-1, keepdims=True)
        attn = np.exp(attn)
        attn = attn / attn.sum(axis=-1, keepdims=True)
        out = attn @ v
        if self.args["residual_pool"]:
            if self.args["residual_with_cls_embed"]:
                out = out + q
            else:
                out[:, :, 1:] += q[:, :, 1:]
        out = out.transpose(0, 2, 1, 3).reshape(b, -1, co)
        out = out @ params["project.0.weight"].T + params["project.0.bias"]
        return out.astype(x.dtype, copy=False)
