"""Generic tensor operations: slicing and splitting, gathering by index, rolling, shuffles,
the product of two activations, free tensors (learned parameters and buffers) and
per-channel scales.

Shapes exclude the batch axis, as everywhere: ``axis 0`` is the first axis after the batch
(channels of a channels-first tensor, tokens of a sequence).
"""

from __future__ import annotations

from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, Weight, Window, fmt_shape, prod, register


def _axis(layer: Layer, x: Shape, key: str = "axis") -> int:
    """The argument ``key`` as a non-negative axis of ``x`` (negative counts from the end)."""
    ax = layer.args[key]
    if not -len(x) <= ax < len(x):
        raise CnncalcError(
            f"{key}={ax} is out of range for shape {fmt_shape(x)}",
            hint=f"axes of a rank-{len(x)} shape (batch excluded): 0 … {len(x) - 1}, "
            f"or −1 … −{len(x)}",
        )
    return ax % len(x)


def _np_axis(ax: int, ndim: int) -> int:
    """A batch-excluded axis (possibly negative) as an axis of the batched array."""
    return ax + 1 if ax >= 0 else ax + ndim


@register
class Slice(Layer):
    """``x[start:stop:step]`` along one ``axis`` (Python's rules: negative indices count from the
    end, bounds are clamped, ``null`` = the end). (96, 56, 56) with axis 1, start 0, step 2 →
    (96, 28, 56): ⌈(stop − start) / step⌉ elements. A view in PyTorch: no weights, 0 FLOPs.
    """

    NAMES = ("slice",)
    VIEW = "view"
    CATEGORY = "reshape"
    ARGS = {
        "axis": Arg("axis", 0, "axis to slice (0 = channels)"),
        "start": Arg("opt_int", None, "first index (null = 0; negative counts from the end)"),
        "stop": Arg("opt_int", None, "end index, excluded (null = the end)"),
        "step": Arg("int", 1, "stride", minimum=1),
    }
    __slots__ = ("ax", "idx")

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        self.ax = _axis(self, x)
        a = self.args
        self.idx = slice(a["start"], a["stop"], a["step"])
        n = len(range(x[self.ax])[self.idx])
        if n == 0:
            raise CnncalcError(
                f"slice [{a['start']}:{a['stop']}:{a['step']}] of axis {self.ax} "
                f"(size {x[self.ax]}) is empty"
            )
        return (*x[: self.ax], n, *x[self.ax + 1 :])

    def flops(self) -> int:
        return 0

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Basic indexing ``x[..., start:stop:step, ...]`` on the axis (after the batch)."""
        x = inputs[0]
        a = self.args
        ix = [slice(None)] * x.ndim
        ix[_np_axis(a["axis"], x.ndim)] = slice(a["start"], a["stop"], a["step"])
        return x[tuple(ix)]


@register
class Split(Layer):
    """Split along ``axis`` into pieces (PyTorch ``torch.split`` / ``torch.chunk``).

    ``split: {sizes: 32}`` cuts pieces of 32 (the last may be smaller); ``sizes: [64, 32, 32]``
    gives the sections; ``chunk: {chunks: 3}`` cuts ⌈n / chunks⌉ per piece (torch.chunk's rule,
    so it may give fewer pieces). **One entry, several outputs**: an entry named ``s`` becomes
    one node per piece, ``s.0``, ``s.1``, …, each an output of its own (``s`` alone means
    ``s.0``, and the next entry chains from ``s.0``). ``index`` selects one piece (the
    expansion sets it per node). Views in PyTorch: no weights, 0 FLOPs.
    """

    NAMES = ("split", "chunk")
    VIEW = "view"
    CATEGORY = "reshape"
    ARGS = {
        "sizes": Arg("opt_ints", None, "split: piece size, or the list of sections", minimum=1),
        "chunks": Arg("opt_int", None, "chunk: number of pieces", minimum=1),
        "axis": Arg("axis", 0, "axis to split (0 = channels)"),
        "index": Arg("opt_int", None, "which piece this node is (set per output node)"),
    }
    #: the argument the graph builder sets to 0 … n−1 to make one node per output
    OUTPUT_INDEX = "index"
    __slots__ = ("ax", "bounds")

    def pieces(self, size: int) -> list[tuple[int, int]]:
        """(start, stop) of each piece of an axis of ``size`` elements."""
        a = self.args
        if self.type_name == "chunk":
            if a["chunks"] is None or a["sizes"] is not None:
                raise CnncalcError("chunk takes 'chunks' (the number of pieces), not 'sizes'")
            step = -(-size // a["chunks"])
            cuts = list(range(0, size, step))
            return [(c, min(c + step, size)) for c in cuts]
        if a["sizes"] is None or a["chunks"] is not None:
            raise CnncalcError(
                "split takes 'sizes' (a piece size or a list of sections)",
                hint="use chunk: {chunks: n} for n equal pieces",
            )
        s = a["sizes"]
        if isinstance(s, int):
            return [(c, min(c + s, size)) for c in range(0, size, s)]
        if sum(s) != size:
            raise CnncalcError(
                f"sections {list(s)} sum to {sum(s)}, but axis {a['axis']} has {size} elements"
            )
        out, c = [], 0
        for n in s:
            out.append((c, c + n))
            c += n
        return out

    def num_outputs(self) -> int:
        return len(self.bounds)

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        self.ax = _axis(self, x)
        self.bounds = self.pieces(x[self.ax])
        k = self.args["index"] or 0
        if not 0 <= k < len(self.bounds):
            raise CnncalcError(f"index {k} is out of range for {len(self.bounds)} pieces")
        lo, hi = self.bounds[k]
        return (*x[: self.ax], hi - lo, *x[self.ax + 1 :])

    def flops(self) -> int:
        return 0

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Piece ``index`` of ``numpy.split`` at the cumulative section ends."""
        import numpy as np

        x = inputs[0]
        ax = _np_axis(self.args["axis"], x.ndim)
        cuts = [hi for _, hi in self.pieces(x.shape[ax])][:-1]
        return np.split(x, cuts, axis=ax)[self.args["index"] or 0]


@register
class Gather(Layer):
    """Rows of the first input at the indices given by the second, along ``axis`` (ONNX
    ``Gather``, ``numpy.take``, ``torch.index_select`` with indices of any shape; not
    ``torch.gather``): a (169, 3) bias table gathered at a (2401,) relative-position index
    gives (2401, 3). Output = x[:axis] + indices' shape + x[axis + 1:].

    The indices are a tensor of the graph (an index ``buffer``, a constant): rounded down to
    integers and taken modulo the axis' size, so negative indices count from the end (ONNX's
    rule) and any tensor, even the backend's random fill of an index buffer, selects valid
    rows. A copy: no weights, 0 MACs, 0 FLOPs.
    """

    NAMES = ("gather", "take")
    CATEGORY = "reshape"
    MIN_INPUTS = 2
    MAX_INPUTS = 2
    ARGS = {"axis": Arg("axis", 0, "the axis the indices select along (0 = first after the batch)")}
    __slots__ = ("ax",)

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x, idx = in_shapes
        self.ax = _axis(self, x)
        return (*x[: self.ax], *idx, *x[self.ax + 1 :])

    def flops(self) -> int:
        return 0

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Per sample ``numpy.take(x, ⌊i⌋ mod size, axis)``; a batch of 1 (a free tensor) on
        either side is shared by every sample of the other."""
        import numpy as np

        x, idx = inputs
        ax = _np_axis(self.args["axis"], x.ndim)
        i = np.floor(idx).astype(np.int64) % x.shape[ax]
        if idx.shape[0] == 1:
            return np.take(x, i[0], axis=ax)
        xs = np.broadcast_to(x, (idx.shape[0], *x.shape[1:]))
        return np.stack([np.take(xs[b], i[b], axis=ax - 1) for b in range(idx.shape[0])])


@register
class Roll(Layer):
    """Cyclic shift along axes (PyTorch ``torch.roll``: Swin's shifted windows).

    ``shifts`` and ``axis`` are an int or lists of equal length; element i moves to
    i + shift (mod size). Same shape, no weights, 0 FLOPs (a copy).
    """

    NAMES = ("roll",)
    CATEGORY = "reshape"
    ARGS = {
        "shifts": Arg("int_list", doc="shift per axis (negative = towards index 0)"),
        "axis": Arg("int_list", doc="axes to roll (0 = channels)"),
    }

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        sh, ax = self.args["shifts"], self.args["axis"]
        if len(sh) != len(ax):
            raise CnncalcError(f"shifts {list(sh)} and axis {list(ax)} differ in length")
        for a in ax:
            if not -len(x) <= a < len(x):
                raise CnncalcError(f"axis {a} is out of range for shape {fmt_shape(x)}")
        return x

    def flops(self) -> int:
        return 0

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        import numpy as np

        x = inputs[0]
        axes = tuple(_np_axis(a, x.ndim) for a in self.args["axis"])
        return np.roll(x, tuple(self.args["shifts"]), axis=axes)


@register
class ChannelShuffle(Layer):
    """Channel shuffle (ShuffleNet; PyTorch ``nn.ChannelShuffle``): view the C channels as
    (groups, C/groups), transpose to (C/groups, groups), flatten. Same shape, 0 FLOPs.
    """

    NAMES = ("channel_shuffle",)
    CATEGORY = "reshape"
    ARGS = {"groups": Arg("int", doc="number of groups g (must divide C)", minimum=1)}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        if x[0] % self.args["groups"]:
            raise CnncalcError(f"groups={self.args['groups']} does not divide the {x[0]} channels")
        return x

    def flops(self) -> int:
        return 0

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        x = inputs[0]
        n, c = x.shape[:2]
        g = self.args["groups"]
        y = x.reshape(n, g, c // g, *x.shape[2:]).swapaxes(1, 2)
        return y.reshape(x.shape)


#: the channel order of the output of space-to-depth, slowest-varying first: c (input
#: channel), dy and dx (offset in the block along the first and second spatial axis)
_ORDERS = ("c_dy_dx", "dy_dx_c", "dx_dy_c")


@register
class PixelUnshuffle(Layer):
    """Space to depth: (C, H, W) → (C·r², H/r, W/r) (PyTorch ``PixelUnshuffle``, TensorFlow and
    ONNX ``SpaceToDepth``, Swin's patch merging). No weights, 0 FLOPs.

    The output channel of input channel c and block offset (dy, dx) depends on ``order``:
    ``c_dy_dx`` (PyTorch: c·r² + dy·r + dx, the default of ``pixel_unshuffle``), ``dy_dx_c``
    (TensorFlow/ONNX: (dy·r + dx)·C + c, the default of ``space_to_depth``) or ``dx_dy_c``
    (Swin's ``cat([x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]])``).
    ``channel_axis: -1`` works on channels-last (H, W, C) tensors. ``pad: true`` first pads odd
    sizes with zeros at the end (Swin's ``_patch_merging_pad``): out = ⌈H / r⌉.
    """

    NAMES = ("pixel_unshuffle", "space_to_depth")
    CATEGORY = "reshape"
    ARGS = {
        "factor": Arg("int", doc="block size r (downscale factor)", minimum=1),
        "order": Arg("choice", None, "output channel order", choices=_ORDERS),
        "channel_axis": Arg(
            "choice", 0, "0 (channels first) or -1 (channels last)", choices=(0, -1)
        ),
        "pad": Arg("bool", False, "pad the end of each axis with zeros to a multiple of r"),
    }

    def _order(self) -> str:
        o = self.args["order"]
        return (
            o
            if o is not None
            else ("c_dy_dx" if self.type_name == "pixel_unshuffle" else "dy_dx_c")
        )

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        r = self.args["factor"]
        last = self.args["channel_axis"] == -1
        c, sp = (x[-1], x[:-1]) if last else (x[0], x[1:])
        lead: Shape = ()
        if last and len(sp) > 2:  # (T, H, W, C): the last two axes before C (Swin3D)
            lead, sp = sp[:-2], sp[-2:]
        if len(sp) != 2:
            raise CnncalcError(f"expects a 2-D map with channels, got shape {fmt_shape(x)}")
        if any(s % r for s in sp) and not self.args["pad"]:
            raise CnncalcError(
                f"factor {r} does not divide the spatial size {fmt_shape(sp)}",
                hint="pad: true pads the end with zeros (Swin's patch merging)",
            )
        out = tuple(-(-s // r) for s in sp)
        return (*lead, *out, c * r * r) if last else (c * r * r, *out)

    def flops(self) -> int:
        return 0

    def window(self) -> Window | None:
        if self.args["channel_axis"] == -1 or self.args["pad"]:
            return None
        r = self.args["factor"]
        return Window((r, r), (r, r), (1, 1), (0, 0))

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Reshape into (…, H/r, r, W/r, r) blocks and order the channel parts as ``order`` says."""
        x = inputs[0]
        r = self.args["factor"]
        last = self.args["channel_axis"] == -1
        lead = x.shape[1:-3] if last else ()
        if last:  # work channels first, leading axes (Swin3D's T) folded into the batch
            x = x.reshape(-1, *x.shape[-3:]).transpose(0, 3, 1, 2)
        if self.args["pad"]:
            import numpy as np

            h, w = x.shape[2:]
            x = np.pad(x, ((0, 0), (0, 0), (0, -h % r), (0, -w % r)))
        n, c, h, w = x.shape
        y = x.reshape(n, c, h // r, r, w // r, r)  # n c H dy W dx
        perm = {
            "c_dy_dx": (0, 1, 3, 5, 2, 4),
            "dy_dx_c": (0, 3, 5, 1, 2, 4),
            "dx_dy_c": (0, 5, 3, 1, 2, 4),
        }[self._order()]
        y = y.transpose(perm).reshape(n, c * r * r, h // r, w // r)
        if not last:
            return y
        y = y.transpose(0, 2, 3, 1)
        return y.reshape(inputs[0].shape[0], *lead, *y.shape[1:])


@register
class PixelShuffle(Layer):
    """Depth to space: (C·r², H, W) → (C, H·r, W·r) (PyTorch ``PixelShuffle``, sub-pixel
    convolution; input channel c·r² + dy·r + dx goes to offset (dy, dx)). No weights, 0 FLOPs.
    """

    NAMES = ("pixel_shuffle", "depth_to_space")
    CATEGORY = "reshape"
    ARGS = {"factor": Arg("int", doc="upscale factor r", minimum=1)}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        r = self.args["factor"]
        if len(x) != 3:
            raise CnncalcError(f"expects (C, H, W), got shape {fmt_shape(x)}")
        if x[0] % (r * r):
            raise CnncalcError(f"the {x[0]} channels are not divisible by factor² = {r * r}")
        return (x[0] // (r * r), x[1] * r, x[2] * r)

    def flops(self) -> int:
        return 0

    def window(self) -> Window:
        r = self.args["factor"]
        return Window((r, r), (r, r), (1, 1), (0, 0), True)

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        x = inputs[0]
        r = self.args["factor"]
        n, c, h, w = x.shape
        y = x.reshape(n, c // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3)
        return y.reshape(n, c // (r * r), h * r, w * r)


@register
class MatMul(Layer):
    """Matrix product of two activations (PyTorch ``torch.matmul``, per sample; attention's
    Q·Kᵀ and A·V): (…, n, k) @ (…, k, m) → (…, n, m), the leading axes broadcast.

    ``transpose_b: true`` multiplies by the transpose of the last two axes of the second input
    (Q·Kᵀ without a separate transpose). A 1-D operand is a vector (torch's rule).
    MACs = ∏(broadcast leading axes) · n · k · m; FLOPs = 2 · MACs. No weights.
    """

    NAMES = ("matmul",)
    CATEGORY = "merge"
    MIN_INPUTS = 2
    MAX_INPUTS = 2
    ARGS = {
        "transpose_a": Arg("bool", False, "use the first input's last two axes transposed"),
        "transpose_b": Arg("bool", False, "use the second input's last two axes transposed"),
    }
    __slots__ = ("batch", "n", "k", "m")

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        a, b = (list(s) for s in in_shapes)
        if self.args["transpose_a"]:
            if len(a) < 2:
                raise CnncalcError("transpose_a needs a first input of rank ≥ 2")
            a[-1], a[-2] = a[-2], a[-1]
        if self.args["transpose_b"]:
            if len(b) < 2:
                raise CnncalcError("transpose_b needs a second input of rank ≥ 2")
            b[-1], b[-2] = b[-2], b[-1]
        va, vb = len(a) == 1, len(b) == 1
        a2 = [1, *a] if va else a
        b2 = [*b, 1] if vb else b
        if a2[-1] != b2[-2]:
            raise CnncalcError(
                f"cannot multiply {fmt_shape(in_shapes[0])} by {fmt_shape(in_shapes[1])}: "
                f"inner sizes {a2[-1]} and {b2[-2]} differ",
                hint="use transpose_b: true for A·Bᵀ (attention scores Q·Kᵀ)",
            )
        from .merge import broadcast

        lead = (
            broadcast((tuple(a2[:-2]), tuple(b2[:-2])), "matmul")
            if (len(a2) > 2 or len(b2) > 2)
            else ()
        )
        self.batch, self.n, self.k, self.m = prod(lead), a2[-2], a2[-1], b2[-1]
        out = [*lead, *([] if va else [a2[-2]]), *([] if vb else [b2[-1]])]
        if not out:
            raise CnncalcError("the product of two vectors is a scalar; use a shape of rank ≥ 1")
        return tuple(out)

    def macs(self) -> int:
        return self.batch * self.n * self.k * self.m

    def explain(self) -> list[Any]:
        """MACs = leading · n · k · m."""
        from ..explain import Formula

        return [
            Formula("params", value=0, checks=("params",), note="no weights"),
            Formula(
                "MACs",
                "∏leading · n · k · m",
                f"{self.batch}·{self.n}·{self.k}·{self.m}",
                self.macs(),
                ("macs",),
                "one dot product of length k per output element",
            ),
            Formula("FLOPs", "2·MACs", f"2·{self.macs()}", self.flops(), ("flops",)),
        ]

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """``numpy.matmul`` per sample: vectors become a row (first) or column (second) and the
        leading axes of the lower-rank operand are aligned after the batch axis."""
        import numpy as np

        a, b = inputs
        if self.args["transpose_a"]:
            a = a.swapaxes(-1, -2)
        if self.args["transpose_b"]:
            b = b.swapaxes(-1, -2)
        va, vb = a.ndim == 2, b.ndim == 2
        if va:
            a = a[:, None, :]
        if vb:
            b = b[:, :, None]
        rank = max(a.ndim, b.ndim)
        a = a.reshape(a.shape[:1] + (1,) * (rank - a.ndim) + a.shape[1:])
        b = b.reshape(b.shape[:1] + (1,) * (rank - b.ndim) + b.shape[1:])
        y = np.matmul(a, b)
        if vb:
            y = y[..., 0]
        if va:
            y = y[..., 0, :] if not vb else y[..., 0]
        return y


@register
class FreeTensor(Layer):
    """A tensor that is not computed from an input: a learned ``parameter`` (layer scales,
    relative-position-bias tables, class tokens) or a non-learned ``buffer`` (an index table),
    of any ``shape`` (batch excluded). It takes no input; its consumers broadcast it over the
    batch, as PyTorch broadcasts an ``nn.Parameter``.

    Params (``parameter``) or buffers (``buffer``) = ∏shape: Swin-T's relative-position-bias
    table of stage 1, ``parameter: {shape: [169, 3]}``, has (2·7 − 1)²·3 = 507. 0 FLOPs.
    """

    NAMES = ("parameter", "buffer")
    CATEGORY = "embedding"
    MIN_INPUTS = 0
    MAX_INPUTS = 0
    ARGS = {"shape": Arg("int_list", doc="the tensor's shape, e.g. [169, 3]")}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        s = tuple(self.args["shape"])
        if not s or any(d < 1 for d in s):
            raise CnncalcError(f"shape must be a non-empty list of sizes ≥ 1, received {list(s)}")
        return s

    def declare_weights(self) -> list[Weight]:
        kind = "param" if self.type_name == "parameter" else "buffer"
        return [Weight("value", self.out_shape, kind)]

    def flops(self) -> int:
        return 0

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """The tensor with a batch axis of 1 (its consumers broadcast it over the batch)."""
        return params["value"][None]


@register
class Scale(Layer):
    """A learned scale per channel (ConvNeXt's and CaiT's layer scale): y = x · γ[c].

    γ has one value per element of ``axis`` (0 = channels first, −1 = channels last), shaped
    to broadcast: ConvNeXt's ``layer_scale`` is (C, 1, 1) on a (C, H, W) input. Params = C;
    FLOPs = 1 per element (one multiply); 0 MACs.
    """

    NAMES = ("scale", "layer_scale")
    CATEGORY = "norm"
    ARGS = {"axis": Arg("axis", 0, "the channel axis (0 = channels first, -1 = last)")}
    __slots__ = ("wshape",)

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        ax = _axis(self, x)
        self.wshape = (x[ax],) + (1,) * (len(x) - ax - 1)
        return x

    def declare_weights(self) -> list[Weight]:
        return [Weight("weight", self.wshape)]

    def flops(self) -> int:
        return self.out_elements

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        x = inputs[0]
        return x * params["weight"]


@register
class StochasticDepth(Layer):
    """Stochastic depth (torchvision ``StochasticDepth``; drop path): drops the residual branch
    of a whole sample (``row``) or batch at training time; the identity at inference.
    Same shape, no weights, 0 FLOPs at inference.
    """

    NAMES = ("stochastic_depth", "drop_path")
    VIEW = "alias"
    CATEGORY = "regularization"
    ARGS = {
        "p": Arg("float", 0.0, "probability of dropping the branch", minimum=0.0),
        "mode": Arg("choice", "row", "'row' (per sample) or 'batch'", choices=("row", "batch")),
    }

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        if self.args["p"] >= 1.0:
            raise CnncalcError(f"p must be < 1, received p={self.args['p']}")
        return in_shapes[0]

    def flops(self) -> int:
        return 0

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Inference: the identity."""
        return inputs[0]
