"""Transformer layers on token sequences ``(N, D)``: self-attention, class token, position
embedding, and token selection (ViT's head reads the class token).

Shapes exclude the batch: a sequence of N tokens of width D is ``(N, D)`` (PyTorch's
``batch_first`` layout without the batch axis).

Attention counting convention: the MACs of multi-head self-attention are the four projections
(query, key, value and output: ``4·N·D²``) **plus** the two token-by-token matrix products,
scores ``Q·Kᵀ`` (``N²·D``: for each of H heads, N×N dot products of length D/H) and the weighted
sum ``A·V`` (``N²·D``). The 1/√(D/H) scaling and the softmax are element-wise work: FLOPs, not
MACs. This is what torchvision's published "GFLOPS" count (vit_b_16: 17.564 G; the products are
``aten.bmm`` calls in their dispatch-level counter) and what ``torch.utils.flop_counter`` reports
when scaled-dot-product attention runs its math kernel.
"""

from __future__ import annotations

from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Weight, fmt_shape, register


def _tokens(layer: Layer, x: Shape) -> tuple[int, int]:
    """(N, D) of a token-sequence input, or a clear error for any other rank."""
    if len(x) != 2:
        hint = None
        if len(x) == 3:
            hint = (
                "flatten the patch grid into tokens first: flatten {start_dim: 1} then "
                "permute {dims: [1, 0]} turns (D, H, W) into (H·W, D)"
            )
        raise CnncalcError(
            f"{layer.type_name} expects a token sequence (N, D), got shape {fmt_shape(x)}",
            hint=hint,
        )
    return x[0], x[1]


@register
class MultiHeadAttention(Layer):
    """Multi-head self-attention (PyTorch ``nn.MultiheadAttention`` with query = key = value).

    (N, D) → (N, D), H = ``num_heads`` heads of width d = D/H (D must be divisible by H).

    * Weights: ``in_proj_weight`` (3D, D) and ``in_proj_bias`` (3D) for Q, K, V stacked;
      ``out_proj_weight`` (D, D) and ``out_proj_bias`` (D). Biases only with ``bias``.
      Params = 4·D² + 4·D with bias: ViT-B/16's 4·768² + 4·768 = 2,362,368.
    * MACs = 3·N·D² (Q, K, V projections) + N²·D (Q·Kᵀ: H·N·N dot products of length d)
      + N²·D (A·V: H·N·d weighted sums of length N) + N·D² (output projection)
      = 4·N·D² + 2·N²·D. ViT-B/16 (N = 197, D = 768): 464,781,312 + 59,610,624 = 524,391,936.
    * FLOPs = 2·MACs + 4·N·D (the four bias adds, with bias) + H·N² (scaling the scores by
      1/√d) + 4·H·N² (softmax over each row of scores, 4 per element as the ``softmax`` layer).
    * ``dropout`` (on the attention weights) is the identity at inference.
    """

    NAMES = ("multi_head_attention",)
    CATEGORY = "attention"
    ARGS = {
        "num_heads": Arg(
            "int", doc="number of attention heads H (D must be divisible by H)", minimum=1
        ),
        "bias": Arg("bool", True, "biases on the input and output projections"),
        "dropout": Arg(
            "float", 0.0, "dropout on the attention weights (identity at inference)", minimum=0.0
        ),
        "embed_dim": Arg("opt_int", None, "optional check of the token width D", minimum=1),
    }
    __slots__ = ("n", "d")

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        n, d = _tokens(self, x)
        h = self.args["num_heads"]
        given = self.args["embed_dim"]
        if given is not None and given != d:
            raise CnncalcError(f"embed_dim={given} but the tokens have width {d} ({fmt_shape(x)})")
        if d % h:
            raise CnncalcError(
                f"num_heads={h} does not divide the token width {d}",
                hint="each head has width D/num_heads (ViT-B: 768/12 = 64); divisors of "
                f"{d} up to 32: " + ", ".join(str(k) for k in range(1, 33) if d % k == 0),
            )
        if self.args["dropout"] >= 1.0:
            raise CnncalcError(f"dropout must be < 1, received dropout={self.args['dropout']}")
        self.n, self.d = n, d
        return x

    def declare_weights(self) -> list[Weight]:
        d = self.d
        ws = [Weight("in_proj_weight", (3 * d, d))]
        if self.args["bias"]:
            ws.append(Weight("in_proj_bias", (3 * d,)))
        ws.append(Weight("out_proj_weight", (d, d)))
        if self.args["bias"]:
            ws.append(Weight("out_proj_bias", (d,)))
        return ws

    def macs(self) -> int:
        n, d = self.n, self.d
        projections = 3 * n * d * d + n * d * d
        scores = n * n * d  # Q·Kᵀ over all heads
        weighted = n * n * d  # A·V over all heads
        return projections + scores + weighted

    def flops(self) -> int:
        n, d, h = self.n, self.d, self.args["num_heads"]
        bias = 4 * n * d if self.args["bias"] else 0
        return 2 * self.macs() + bias + h * n * n + 4 * h * n * n

    def explain(self) -> list[Any]:
        """Params 4·D² + 4·D; MACs 4·N·D² (projections) + 2·N²·D (Q·Kᵀ and A·V), numbers shown."""
        from ..explain import Formula, num, weights_formulas

        n, d, h = self.n, self.d, self.args["num_heads"]
        bias = self.args["bias"]
        f = [
            Formula(
                "head width", "D / H", f"{d} / {h}", d // h, note=f"{h} heads of width {d // h}"
            ),
        ]
        if bias:
            f.append(
                Formula(
                    "params",
                    "4·D² + 4·D",
                    f"4·{num(d)}² + 4·{num(d)}",
                    sum(w.size for w in self.weights()),
                    ("params",),
                    "Q, K, V and output projections with biases",
                )
            )
        else:
            f += weights_formulas(self)
        proj, pair = 4 * n * d * d, 2 * n * n * d
        f.append(
            Formula(
                "projection MACs",
                "4·N·D²",
                f"4·{n}·{num(d)}²",
                proj,
                note="Q, K, V (3·N·D²) and the output projection (N·D²)",
            )
        )
        f.append(
            Formula(
                "score MACs",
                "2·N²·D",
                f"2·{n}²·{num(d)}",
                pair,
                note="Q·Kᵀ (N²·D over all heads) and A·V (N²·D)",
            )
        )
        f.append(
            Formula("MACs", "4·N·D² + 2·N²·D", f"{num(proj)} + {num(pair)}", self.macs(), ("macs",))
        )
        rule, work = "2·MACs", f"2·{num(self.macs())}"
        if bias:
            rule, work = rule + " + 4·N·D", work + f" + 4·{n}·{num(d)}"
        rule += " + 5·H·N²"
        work += f" + 5·{h}·{n}²"
        f.append(
            Formula(
                "FLOPs",
                rule,
                work,
                self.flops(),
                ("flops",),
                "bias adds, 1/√d scaling (H·N²) and the softmax (4·H·N²)",
            )
        )
        return f

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        import numpy as np

        x = inputs[0]
        b, n, d = x.shape
        h = self.args["num_heads"]
        dh = d // h
        qkv = x @ params["in_proj_weight"].T
        if self.args["bias"]:
            qkv = qkv + params["in_proj_bias"]
        q, k, v = (qkv[..., i * d : (i + 1) * d] for i in range(3))

        def heads(t: Any) -> Any:  # (B, N, D) → (B, H, N, d)
            return t.reshape(b, n, h, dh).transpose(0, 2, 1, 3)

        q, k, v = heads(q), heads(k), heads(v)
        scores = (q @ k.transpose(0, 1, 3, 2)) / np.sqrt(dh)
        scores = scores - scores.max(axis=-1, keepdims=True)
        a = np.exp(scores)
        a = a / a.sum(axis=-1, keepdims=True)
        out = (a @ v).transpose(0, 2, 1, 3).reshape(b, n, d)
        out = out @ params["out_proj_weight"].T
        if self.args["bias"]:
            out = out + params["out_proj_bias"]
        return out.astype(x.dtype, copy=False)


@register
class ClassToken(Layer):
    """Prepend a learned class token to a token sequence (ViT's ``class_token``).

    (N, D) → (N + 1, D); the token is a parameter of shape (1, D): D params (768 for ViT-B).
    0 MACs, 0 FLOPs (a copy).
    """

    NAMES = ("class_token",)
    CATEGORY = "embedding"
    ARGS = {}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        n, d = _tokens(self, in_shapes[0])
        return (n + 1, d)

    def declare_weights(self) -> list[Weight]:
        return [Weight("token", (1, self.in_shapes[0][1]))]

    def flops(self) -> int:
        return 0

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        import numpy as np

        x = inputs[0]
        tok = np.broadcast_to(params["token"], (x.shape[0], 1, x.shape[2])).astype(x.dtype)
        return np.concatenate([tok, x], axis=1)


@register
class PositionEmbedding(Layer):
    """Add a learned position embedding of the input's shape (ViT's ``pos_embedding``).

    (N, D) → (N, D) (any shape works: the embedding has the input's shape). Params = N·D:
    197·768 = 151,296 for ViT-B/16. 0 MACs; FLOPs = N·D (one add per element).
    """

    NAMES = ("position_embedding",)
    CATEGORY = "embedding"
    ARGS = {}

    def declare_weights(self) -> list[Weight]:
        return [Weight("embedding", tuple(self.in_shapes[0]))]

    def flops(self) -> int:
        return self.out_elements

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        x = inputs[0]
        return (x + params["embedding"]).astype(x.dtype, copy=False)


@register
class SelectToken(Layer):
    """Take one token of a sequence: (N, D) → (D,) (ViT's head reads ``x[:, 0]``, the class token).

    ``index`` counts from 0; negative counts from the end (−1 = last token). Selects along
    axis 0 of any input (N, …) → (…). No weights, 0 FLOPs.
    """

    NAMES = ("select_token",)
    VIEW = "view"
    CATEGORY = "reshape"
    ARGS = {"index": Arg("int", 0, "which token (0 = first, -1 = last)")}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        if len(x) < 2:
            raise CnncalcError(
                f"select_token expects a sequence (N, D), got shape {fmt_shape(x)}",
                hint="it removes the token axis; a 1-D input has nothing left to select from",
            )
        i = self.args["index"]
        if not -x[0] <= i < x[0]:
            raise CnncalcError(
                f"index {i} is out of range for {x[0]} tokens (shape {fmt_shape(x)})",
                hint=f"use 0 … {x[0] - 1}, or −1 for the last token",
            )
        return tuple(x[1:])

    def flops(self) -> int:
        return 0

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        return inputs[0][:, self.args["index"]]
