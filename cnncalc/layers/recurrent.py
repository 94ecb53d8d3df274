"""Recurrent layers: LSTM and GRU, with PyTorch's parameter layout.

A sequence of L steps of width I is ``(L, I)`` (PyTorch's ``batch_first`` layout without the
batch axis); the output is the whole sequence of the last layer's hidden states,
``(L, D·H)`` with D = 2 when bidirectional.
"""

from __future__ import annotations

from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Weight, fmt_shape, register

#: gates per cell, and element-wise FLOPs per hidden unit and step (see the class docstring)
_GATES = {"lstm": 4, "gru": 3}
_CELL_FLOPS = {"lstm": 26, "gru": 18}


@register
class Recurrent(Layer):
    """LSTM and GRU (PyTorch ``nn.LSTM`` / ``nn.GRU``, ``batch_first``): (L, I) → (L, D·H).

    Weights per layer k and direction (suffix ``_reverse`` for the backward one), G gates
    (LSTM 4: i, f, g, o; GRU 3: r, z, n): ``weight_ih_l{k}`` (G·H, I_k), ``weight_hh_l{k}``
    (G·H, H), and with ``bias`` ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G·H); I_0 = input size,
    I_k = D·H above. Params = Σ G·H·(I_k + H + 2) with bias: LSTM(10, 20) has
    4·20·(10 + 20 + 2) = 2,560.

    MACs per time step, layer and direction = G·H·(I_k + H) (the two matrix products);
    MACs = L · Σ over layers and directions. FLOPs = 2·MACs + per step, layer and direction
    (1 + 2·bias)·G·H (adding the two products and both biases) + the cell's element-wise work:
    LSTM 26·H (three sigmoids 12, tanh 5, c = f·c + i·g 3, h = o·tanh(c) 6), GRU 18·H (two
    sigmoids 8, r ⊙ (…) 1, tanh 5, h = (1 − z)·n + z·h 4). Initial states are zeros.
    """

    NAMES = ("lstm", "gru")
    CATEGORY = "recurrent"
    ARGS = {
        "hidden_size": Arg("int", doc="hidden state width H", minimum=1),
        "num_layers": Arg("int", 1, "stacked layers", minimum=1),
        "bias": Arg("bool", True, "bias_ih and bias_hh"),
        "bidirectional": Arg("bool", False, "a backward direction too (output width 2·H)"),
        "input_size": Arg("opt_int", None, "optional check of the input width I", minimum=1),
        "dropout": Arg("float", 0.0, "between layers (identity at inference)", minimum=0.0),
    }
    __slots__ = ("steps", "widths")

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        if len(x) != 2:
            raise CnncalcError(
                f"{self.type_name} expects a sequence (L, input_size), got shape {fmt_shape(x)}",
                hint="flatten or permute to (steps, features) first",
            )
        a = self.args
        if a["input_size"] is not None and a["input_size"] != x[1]:
            raise CnncalcError(f"input_size={a['input_size']} but the sequence has width {x[1]}")
        d = 2 if a["bidirectional"] else 1
        h = a["hidden_size"]
        self.steps = x[0]
        self.widths = (x[1],) + (d * h,) * (a["num_layers"] - 1)
        return (x[0], d * h)

    def _dirs(self) -> tuple[str, ...]:
        return ("", "_reverse") if self.args["bidirectional"] else ("",)

    def declare_weights(self) -> list[Weight]:
        g, h = _GATES[self.type_name], self.args["hidden_size"]
        ws = []
        for k, width in enumerate(self.widths):
            for sfx in self._dirs():
                ws.append(Weight(f"weight_ih_l{k}{sfx}", (g * h, width)))
                ws.append(Weight(f"weight_hh_l{k}{sfx}", (g * h, h)))
                if self.args["bias"]:
                    ws.append(Weight(f"bias_ih_l{k}{sfx}", (g * h,)))
                    ws.append(Weight(f"bias_hh_l{k}{sfx}", (g * h,)))
        return ws

    def macs_per_step(self) -> int:
        g, h = _GATES[self.type_name], self.args["hidden_size"]
        return len(self._dirs()) * sum(g * h * (w + h) for w in self.widths)

    def macs(self) -> int:
        return self.steps * self.macs_per_step()

    def flops(self) -> int:
        g, h = _GATES[self.type_name], self.args["hidden_size"]
        cells = self.steps * len(self._dirs()) * len(self.widths)
        per_cell = (1 + 2 * self.args["bias"]) * g * h + _CELL_FLOPS[self.type_name] * h
        return 2 * self.macs() + cells * per_cell

    def explain(self) -> list[Any]:
        """MACs = L · (MACs per step), per step Σ G·H·(I_k + H)."""
        from ..explain import Formula, num, weights_formulas

        g, h = _GATES[self.type_name], self.args["hidden_size"]
        terms = " + ".join(f"{g}·{h}·({w} + {h})" for w in self.widths)
        if len(self._dirs()) == 2:
            terms = f"2·({terms})"
        return [
            *weights_formulas(self),
            Formula(
                "MACs per step", "D·Σ G·H·(I_k + H)", terms, self.macs_per_step(), note="per step"
            ),
            Formula(
                "MACs",
                "L · MACs per step",
                f"{self.steps}·{num(self.macs_per_step())}",
                self.macs(),
                ("macs",),
            ),
            Formula(
                "FLOPs",
                "2·MACs + cells·((1 + 2·bias)·G·H + E·H)",
                value=self.flops(),
                checks=("flops",),
                note=f"E = {_CELL_FLOPS[self.type_name]} element-wise FLOPs per unit",
            ),
        ]

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """PyTorch's equations, step by step, zero initial states; directions concatenated.

        LSTM: i, f, g, o = split(W_ih x + b_ih + W_hh h + b_hh); c = σ(f)·c + σ(i)·tanh(g);
        h = σ(o)·tanh(c). GRU: r, z from σ(W_i· x + b_i· + W_h· h + b_h·);
        n = tanh(W_in x + b_in + r·(W_hn h + b_hn)); h = (1 − z)·n + z·h.
        """
        import numpy as np

        def sig(v: Any) -> Any:
            return 1.0 / (1.0 + np.exp(-v))

        x = inputs[0]
        h = self.args["hidden_size"]
        lstm = self.type_name == "lstm"
        for k in range(self.args["num_layers"]):
            outs = []
            for sfx in self._dirs():
                w_ih, w_hh = params[f"weight_ih_l{k}{sfx}"], params[f"weight_hh_l{k}{sfx}"]
                b_ih = params.get(f"bias_ih_l{k}{sfx}", 0)
                b_hh = params.get(f"bias_hh_l{k}{sfx}", 0)
                n, steps = x.shape[0], x.shape[1]
                hs = np.zeros((n, h), dtype=x.dtype)
                cs = np.zeros((n, h), dtype=x.dtype)
                xi = x @ w_ih.T + b_ih  # (N, L, G·H): the input part of every step
                seq = np.empty((n, steps, h), dtype=x.dtype)
                order = range(steps - 1, -1, -1) if sfx else range(steps)
                for t in order:
                    hh = hs @ w_hh.T + b_hh
                    if lstm:
                        gi, gf, gg, go = np.split(xi[:, t] + hh, 4, axis=1)
                        cs = sig(gf) * cs + sig(gi) * np.tanh(gg)
                        hs = sig(go) * np.tanh(cs)
                    else:
                        xr, xz, xn = np.split(xi[:, t], 3, axis=1)
                        hr, hz, hn = np.split(hh, 3, axis=1)
                        r, z = sig(xr + hr), sig(xz + hz)
                        nn = np.tanh(xn + r * hn)
                        hs = (1 - z) * nn + z * hs
                    seq[:, t] = hs
                outs.append(seq)
            x = np.concatenate(outs, axis=2) if len(outs) > 1 else outs[0]
        return x.astype(inputs[0].dtype, copy=False)
