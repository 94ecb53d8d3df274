"""Graph → ONNX model (``onnx.helper``), batch axis symbolic (``N``), opset 21.

Every tensor is named after its layer (``layer3.5.conv2``) and every weight after its layer and
declared name (``layer3.5.conv2.weight``), so parameter counts read from the initializers equal
the analyzer's parameters + buffers. Weights are seeded random values (the NumPy backend's
initialisation), or, with ``weights=False``, graph inputs of the declared shapes (no data: a
small file that checks and shows in Netron; feed the weights to run it).

The table :data:`ONNX` maps each layer type to its writer; :data:`REFUSED` lists the types with
no ONNX form and why. A writer receives a :class:`_Ctx` and emits nodes with ``ctx.node``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import CnncalcError
from ..graph import Graph, Node
from . import by_names, for_class, refuse_unsupported

__all__ = ["ONNX", "REFUSED", "OPSET", "BUFFER_DOC", "to_onnx", "save", "Unsupported"]

OPSET = 21
IR_VERSION = 10
#: the ``doc_string`` of a weight that is a buffer (not learned): ONNX has no such notion, so the
#: export says it, and cnncalc's ONNX importer reads it back (parameters and buffers round trip)
BUFFER_DOC = "buffer: not learned (cnncalc)"


class Unsupported(Exception):
    """Arguments of a layer that have no ONNX form (an adaptive pool with uneven windows)."""


def _require_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise CnncalcError(
            "the ONNX export needs the onnx package", hint='pip install "cnncalc[onnx]"'
        ) from None
    return onnx


class _Ctx:
    """What a writer sees: the node, its input tensor names, and a way to add ONNX nodes."""

    def __init__(self, writer: _Writer, node: Node, inputs: list[str]) -> None:
        self.w = writer
        self.n = node
        self.layer: Any = node.layer
        self.inputs = inputs
        self.out = node.name
        self._k = 0

    def weight(self, name: str) -> str:
        owner = self.n.share or self.n.name
        return f"{owner}.{name}"

    def tmp(self, what: str) -> str:
        self._k += 1
        return f"{self.n.name}/{what}_{self._k}"

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        out = output or self.tmp(op.lower())
        self.nodes(op, inputs, [out], **attrs)
        return out

    def nodes(self, op: str, inputs: list[str], outputs: list[str], **attrs: Any) -> list[str]:
        """A node with several outputs (Split)."""
        self.w.nodes.append(
            self.w.helper.make_node(
                op, inputs, outputs, name=f"{self.n.name}/{op}_{len(self.w.nodes)}", **attrs
            )
        )
        return outputs

    def defined_buffer(self, name: str, values: Any, dtype: str = "int64") -> str:
        """A buffer the graph computes with (a relative-position index, int64; Swin v2's
        coordinate table): written with its defined values, not the seeded random ones."""
        import numpy as np

        full = self.weight(name)
        self.w.defined[full] = np.asarray(values, dtype=dtype)
        return full

    def const(self, values: Any, dtype: str = "int64") -> str:
        """A constant tensor (a Constant node: not an initializer, so not a weight)."""
        import numpy as np

        arr = np.asarray(values, dtype=dtype)
        name = self.tmp("const")
        self.w.nodes.append(
            self.w.helper.make_node(
                "Constant",
                [],
                [name],
                name=name,
                value=self.w.numpy_helper.from_array(arr, name),
            )
        )
        return name

    @property
    def rank(self) -> int:
        return len(self.layer.in_shapes[0]) - 1


def _pads(layer: Any) -> list[int]:
    return [lo for lo, _ in layer.pads] + [hi for _, hi in layer.pads]


def _dim(axis: int) -> int:
    return axis + 1 if axis >= 0 else axis


def _conv_node(c: _Ctx, op: str, **extra: Any) -> None:
    """Conv or ConvTranspose: input, weight (and bias), the window's attributes."""
    a, layer = c.layer.args, c.layer
    ins = [c.inputs[0], c.weight("weight")] + ([c.weight("bias")] if a["bias"] else [])
    c.node(
        op,
        ins,
        c.out,
        kernel_shape=list(layer.k),
        strides=list(layer.s),
        dilations=list(layer.d),
        pads=_pads(layer),
        **extra,
        group=a["groups"],
    )


def _conv(c: _Ctx) -> None:
    _conv_node(c, "Conv")


def _conv_transpose(c: _Ctx) -> None:
    _conv_node(c, "ConvTranspose", output_padding=list(c.layer.op))


def _linear(c: _Ctx) -> None:
    bias = c.layer.args["bias"]
    if len(c.layer.in_shapes[0]) == 1:
        ins = [c.inputs[0], c.weight("weight")] + ([c.weight("bias")] if bias else [])
        c.node("Gemm", ins, c.out, transB=1)
        return
    wt = c.node("Transpose", [c.weight("weight")], perm=[1, 0])
    if bias:
        y = c.node("MatMul", [c.inputs[0], wt])
        c.node("Add", [y, c.weight("bias")], c.out)
    else:
        c.node("MatMul", [c.inputs[0], wt], c.out)


def _batchnorm(c: _Ctx) -> None:
    a = c.layer.args
    if not a["track_running_stats"]:
        raise Unsupported("batch norm without running statistics (batch statistics at inference)")
    ch = c.layer.in_shapes[0][0]
    own = {w.name for w in c.layer.weights()}
    # Keras's scale/center false (and affine false): the missing term is a constant 1 or 0
    scale = c.weight("weight") if "weight" in own else c.const([1.0] * ch, "float32")
    bias = c.weight("bias") if "bias" in own else c.const([0.0] * ch, "float32")
    ins = [c.inputs[0], scale, bias, c.weight("running_mean"), c.weight("running_var")]
    c.node("BatchNormalization", ins, c.out, epsilon=a["eps"])


def _frozen_batchnorm(c: _Ctx) -> None:
    ins = [c.inputs[0]] + [c.weight(n) for n in ("weight", "bias", "running_mean", "running_var")]
    c.node("BatchNormalization", ins, c.out, epsilon=c.layer.args["eps"])


def _layernorm(c: _Ctx) -> None:
    a = c.layer.args
    ax = getattr(c.layer, "ax", None)
    if ax is not None:  # one inner axis: move it last, normalise, move it back
        r = len(c.layer.in_shapes[0]) + 1
        perm = [d for d in range(r) if d != ax + 1] + [ax + 1]
        back = [perm.index(d) for d in range(r)]
        ch = c.layer.in_shapes[0][ax]
        own = {w.name for w in c.layer.weights()}
        scale = c.weight("weight") if "weight" in own else c.const([1.0] * ch, "float32")
        ins = [c.node("Transpose", [c.inputs[0]], perm=perm), scale]
        if "bias" in own:
            ins.append(c.weight("bias"))
        y = c.node("LayerNormalization", ins, axis=-1, epsilon=a["eps"])
        c.node("Transpose", [y], c.out, perm=back)
        return
    ns = c.layer.norm_shape
    if a["elementwise_affine"]:
        ins = [c.inputs[0], c.weight("weight")] + ([c.weight("bias")] if a["bias"] else [])
    else:
        import math

        ins = [c.inputs[0], c.const([1.0] * math.prod(ns), "float32")]
        ins[1] = c.node("Reshape", [ins[1], c.const(list(ns))])
    c.node("LayerNormalization", ins, c.out, axis=-len(ns), epsilon=a["eps"])


def _groupnorm(c: _Ctx) -> None:
    a = c.layer.args
    ch = c.layer.in_shapes[0][0]
    if a["affine"]:
        scale, bias = c.weight("weight"), c.weight("bias")
    else:
        scale, bias = c.const([1.0] * ch, "float32"), c.const([0.0] * ch, "float32")
    c.node(
        "GroupNormalization",
        [c.inputs[0], scale, bias],
        c.out,
        num_groups=a["num_groups"],
        epsilon=a["eps"],
    )


def _lrn(c: _Ctx) -> None:
    a = c.layer.args
    c.node(
        "LRN", [c.inputs[0]], c.out, size=a["size"], alpha=a["alpha"], beta=a["beta"], bias=a["k"]
    )


def _activation(c: _Ctx) -> None:
    t, a, x = c.layer.type_name, c.layer.args, c.inputs[0]
    if t in ("silu", "swish"):
        c.node("Mul", [x, c.node("Sigmoid", [x])], c.out)
    elif t == "relu6":
        c.node("Clip", [x, c.const(0.0, "float32"), c.const(6.0, "float32")], c.out)
    elif t == "leaky_relu":
        c.node("LeakyRelu", [x], c.out, alpha=a["negative_slope"])
    elif t == "elu":
        c.node("Elu", [x], c.out, alpha=a["alpha"])
    elif t == "hardsigmoid":
        c.node("HardSigmoid", [x], c.out, alpha=1.0 / 6.0, beta=0.5)  # torch's definition
    elif t == "gelu":
        c.node("Gelu", [x], c.out, approximate=a["approximate"])
    else:
        op = {
            "relu": "Relu",
            "sigmoid": "Sigmoid",
            "tanh": "Tanh",
            "hardswish": "HardSwish",
            "mish": "Mish",
        }[t]
        c.node(op, [x], c.out)


def _softmax(c: _Ctx) -> None:
    op = "Softmax" if c.layer.type_name == "softmax" else "LogSoftmax"
    c.node(op, [c.inputs[0]], c.out, axis=_dim(c.layer.args["axis"]))


def _identity(c: _Ctx) -> None:
    c.node("Identity", [c.inputs[0]], c.out)


def _maxpool(c: _Ctx) -> None:
    a = c.layer.args
    c.node(
        "MaxPool",
        [c.inputs[0]],
        c.out,
        kernel_shape=list(c.layer.k),
        strides=list(c.layer.s),
        pads=_pads(c.layer),
        dilations=list(c.layer.d),
        ceil_mode=int(a["ceil_mode"]),
    )


def _avgpool(c: _Ctx) -> None:
    a = c.layer.args
    c.node(
        "AveragePool",
        [c.inputs[0]],
        c.out,
        kernel_shape=list(c.layer.k),
        strides=list(c.layer.s),
        pads=_pads(c.layer),
        ceil_mode=int(a["ceil_mode"]),
        count_include_pad=int(a["count_include_pad"]),
    )


def _global_pool(c: _Ctx) -> None:
    op = "ReduceMean" if c.layer.type_name == "global_avg_pool" else "ReduceMax"
    axes = list(range(2, len(c.layer.in_shapes[0]) + 1))
    c.node(op, [c.inputs[0], c.const(axes)], c.out, keepdims=int(c.layer.args["keepdims"]))


#: most output cells of an adaptive pooling with uneven windows written cell by cell
MAX_ADAPTIVE_CELLS = 256


def _adaptive_pool(c: _Ctx) -> None:
    """Adaptive pooling. Even windows: a plain pooling with kernel = stride = in / out. Uneven
    (GoogLeNet's aux head, 14 → 4): PyTorch's windows [⌊i·in/out⌋, ⌈(i+1)·in/out⌉) one output
    cell at a time (Slice + ReduceMean/Max), concatenated axis by axis."""
    import itertools

    spatial_in = c.layer.in_shapes[0][1:]
    spatial_out = c.layer.out_shape[1:]
    avg = "avg" in c.layer.type_name
    if not any(i % o for i, o in zip(spatial_in, spatial_out)):
        k = [i // o for i, o in zip(spatial_in, spatial_out)]
        c.node("AveragePool" if avg else "MaxPool", [c.inputs[0]], c.out, kernel_shape=k, strides=k)
        return
    cells = 1
    for o in spatial_out:
        cells *= o
    if cells > MAX_ADAPTIVE_CELLS:
        raise Unsupported(
            f"uneven adaptive pooling to {cells} cells (at most {MAX_ADAPTIVE_CELLS})"
        )
    rank = len(spatial_in)
    axes = list(range(2, rank + 2))
    bounds = [
        [((j * i) // o, -((-(j + 1) * i) // o)) for j in range(o)]
        for i, o in zip(spatial_in, spatial_out)
    ]
    grid: dict[tuple[int, ...], str] = {}
    for idx in itertools.product(*(range(o) for o in spatial_out)):
        starts = [bounds[a][j][0] for a, j in enumerate(idx)]
        ends = [bounds[a][j][1] for a, j in enumerate(idx)]
        part = c.node("Slice", [c.inputs[0], c.const(starts), c.const(ends), c.const(axes)])
        grid[idx] = c.node("ReduceMean" if avg else "ReduceMax", [part, c.const(axes)], keepdims=1)
    # concatenate along the last axis first, then the ones before
    for axis in reversed(range(rank)):
        merged: dict[tuple[int, ...], str] = {}
        for idx in itertools.product(*(range(o) for o in spatial_out[:axis])):
            parts = [grid[idx + (j,)] for j in range(spatial_out[axis])]
            last = axis == 0
            merged[idx] = c.node("Concat", parts, c.out if last else None, axis=axis + 2)
        grid = merged


def _after_batch(c: _Ctx) -> list[str]:
    """The inputs of an element-wise layer, broadcast as cnncalc broadcasts (NumPy's rule on the
    shapes without the batch): ONNX broadcasts from the right of the whole shape, so a
    lower-rank input gets its missing axes after the batch ((N, W) → (N, 1, 1, W))."""
    shapes = c.layer.in_shapes
    rank = max(len(s) for s in shapes)
    return [
        x
        if len(s) == rank
        else c.node("Unsqueeze", [x, c.const(list(range(1, 1 + rank - len(s))))])
        for x, s in zip(c.inputs, shapes)
    ]


def _add(c: _Ctx) -> None:
    c.node("Sum" if len(c.inputs) > 2 else "Add", _after_batch(c), c.out)


def _multiply(c: _Ctx) -> None:
    xs = _after_batch(c)
    y = xs[0]
    for k, x in enumerate(xs[1:], 2):
        y = c.node("Mul", [y, x], c.out if k == len(xs) else None)


def _batch_one(c: _Ctx, name: str) -> bool:
    """Whether tensor ``name`` has a batch axis of 1: computed from free tensors only (a
    parameter, a buffer, a constant without an input, and views of them), which their
    consumers broadcast over the batch."""
    return name in c.w.batch_one


def _concat(c: _Ctx) -> None:
    """Concat; a free tensor (batch 1) joins every sample: expanded to the batch first."""
    xs = list(c.inputs)
    data = [x for x in xs if not _batch_one(c, x)]
    if data and len(data) < len(xs):
        batch = c.node("Slice", [c.node("Shape", [data[0]]), c.const([0]), c.const([1])])
        for k, (x, shape) in enumerate(zip(xs, c.layer.in_shapes)):
            if x not in data:
                target = c.node("Concat", [batch, c.const(list(shape))], axis=0)
                xs[k] = c.node("Expand", [x, target])
    c.node("Concat", xs, c.out, axis=_dim(c.layer.args["axis"]))


def _mha(c: _Ctx) -> None:
    """Self-attention written out: QKV projection, per-head scaled dot products, output projection."""
    import math

    n_tok, d = c.layer.in_shapes[0]
    h = c.layer.args["num_heads"]
    bias = c.layer.args["bias"]
    x = c.inputs[0]
    wt = c.node("Transpose", [c.weight("in_proj_weight")], perm=[1, 0])
    qkv = c.node("MatMul", [x, wt])
    if bias:
        qkv = c.node("Add", [qkv, c.weight("in_proj_bias")])
    # (N, T, 3D) → (N, T, 3, H, d) → (3, N, H, T, d)
    qkv = c.node("Reshape", [qkv, c.const([0, n_tok, 3, h, d // h])])
    qkv = c.node("Transpose", [qkv], perm=[2, 0, 3, 1, 4])
    q, k, v = (c.node("Gather", [qkv, c.const(i)], axis=0) for i in range(3))
    kt = c.node("Transpose", [k], perm=[0, 1, 3, 2])
    scores = c.node("MatMul", [q, kt])
    scores = c.node("Mul", [scores, c.const(1.0 / math.sqrt(d // h), "float32")])
    attn = c.node("Softmax", [scores], axis=-1)
    y = c.node("MatMul", [attn, v])  # (N, H, T, d)
    y = c.node("Transpose", [y], perm=[0, 2, 1, 3])
    y = c.node("Reshape", [y, c.const([0, n_tok, d])])
    wo = c.node("Transpose", [c.weight("out_proj_weight")], perm=[1, 0])
    if bias:
        y = c.node("MatMul", [y, wo])
        c.node("Add", [y, c.weight("out_proj_bias")], c.out)
    else:
        c.node("MatMul", [y, wo], c.out)


def _class_token(c: _Ctx) -> None:
    d = c.layer.in_shapes[0][1]
    x = c.inputs[0]
    batch = c.node("Slice", [c.node("Shape", [x]), c.const([0]), c.const([1])])
    shape = c.node("Concat", [batch, c.const([1, d])], axis=0)
    tok = c.node("Reshape", [c.weight("token"), c.const([1, 1, d])])
    c.node("Concat", [c.node("Expand", [tok, shape]), x], c.out, axis=1)


def _position_embedding(c: _Ctx) -> None:
    c.node("Add", [c.inputs[0], c.weight("embedding")], c.out)


def _select_token(c: _Ctx) -> None:
    c.node("Gather", [c.inputs[0], c.const(c.layer.args["index"])], c.out, axis=1)


def _normalization(c: _Ctx) -> None:
    ch = c.layer.in_shapes[0][0]
    shape = c.const([ch] + [1] * (len(c.layer.in_shapes[0]) - 1))
    mean = c.node("Reshape", [c.weight("mean"), shape])
    var = c.node("Reshape", [c.weight("variance"), shape])
    var = c.node("Max", [var, c.const(1.1920929e-07, "float32")])  # float32 eps, as the backend
    c.node("Div", [c.node("Sub", [c.inputs[0], mean]), c.node("Sqrt", [var])], c.out)


def _rescaling(c: _Ctx) -> None:
    a = c.layer.args
    y = c.node("Mul", [c.inputs[0], c.const(a["scale"], "float32")])
    c.node("Add", [y, c.const(a["offset"], "float32")], c.out)


def _zero_pad(c: _Ctx) -> None:
    pads = [0, 0] + [lo for lo, _ in c.layer.pads] + [0, 0] + [hi for _, hi in c.layer.pads]
    c.node("Pad", [c.inputs[0], c.const(pads)], c.out, mode="constant")


def _crop(c: _Ctx) -> None:
    shape = c.layer.in_shapes[0]
    starts = [lo for lo, _ in c.layer.crops]
    ends = [w - hi for w, (_, hi) in zip(shape[1:], c.layer.crops)]
    axes = list(range(2, len(shape) + 1))
    c.node("Slice", [c.inputs[0], c.const(starts), c.const(ends), c.const(axes)], c.out)


def _resize_attrs(mode: str, align_corners: bool) -> dict[str, Any]:
    """Resize's attributes for PyTorch's interpolation modes."""
    if mode == "nearest":
        return {
            "mode": "nearest",
            "coordinate_transformation_mode": "asymmetric",
            "nearest_mode": "floor",
        }
    attrs: dict[str, Any] = {
        "mode": "cubic" if mode == "bicubic" else "linear",
        "coordinate_transformation_mode": "align_corners"
        if align_corners
        else "pytorch_half_pixel",
    }
    if mode == "bicubic":
        attrs["cubic_coeff_a"] = -0.75
    return attrs


def _upsample(c: _Ctx) -> None:
    a = c.layer.args
    sp_in, sp_out = c.layer.in_shapes[0][1:], c.layer.out_shape[1:]
    if a["scale_factor"] is not None:
        scales = [1.0, 1.0] + [float(a["scale_factor"])] * len(sp_in)
    else:
        scales = [1.0, 1.0] + [o / i for o, i in zip(sp_out, sp_in)]
    attrs = _resize_attrs(a["mode"], a["align_corners"])
    c.node("Resize", [c.inputs[0], "", c.const(scales, "float32")], c.out, **attrs)


def _reshape(c: _Ctx) -> None:
    """Flatten, reshape and view: Reshape to (batch, *output shape); 0 copies the batch."""
    c.node("Reshape", [c.inputs[0], c.const([0, *c.layer.out_shape])], c.out)


def _permute(c: _Ctx) -> None:
    r = len(c.layer.in_shapes[0])
    c.node("Transpose", [c.inputs[0]], c.out, perm=[0] + [d % r + 1 for d in c.layer._order(r)])


def _instancenorm(c: _Ctx) -> None:
    a = c.layer.args
    ch = c.layer.in_shapes[0][0]
    own = {w.name for w in c.layer.weights()}
    scale = c.weight("weight") if "weight" in own else c.const([1.0] * ch, "float32")
    bias = c.weight("bias") if "bias" in own else c.const([0.0] * ch, "float32")
    if a["track_running_stats"]:  # at inference: the running statistics, as batch norm
        stats = [c.weight("running_mean"), c.weight("running_var")]
        c.node("BatchNormalization", [c.inputs[0], scale, bias, *stats], c.out, epsilon=a["eps"])
        return
    c.node("InstanceNormalization", [c.inputs[0], scale, bias], c.out, epsilon=a["eps"])


def _softplus(c: _Ctx) -> None:
    """torch: x·β > threshold → x, else log(1 + exp(β·x)) / β."""
    a = c.layer.args
    x = c.inputs[0]
    beta = c.const(a["beta"], "float32")
    bx = c.node("Mul", [x, beta])
    soft = c.node("Div", [c.node("Softplus", [bx]), beta])
    linear = c.node("Greater", [bx, c.const(a["threshold"], "float32")])
    c.node("Where", [linear, x, soft], c.out)


def _prelu(c: _Ctx) -> None:
    shape = [c.layer.args["num_parameters"]] + [1] * (len(c.layer.in_shapes[0]) - 1)
    if len(c.layer.in_shapes[0]) == 1:
        shape = [c.layer.args["num_parameters"]]
    slope = c.node("Reshape", [c.weight("weight"), c.const(shape)])
    c.node("PRelu", [c.inputs[0], slope], c.out)


def _pixel_shuffle(c: _Ctx) -> None:
    c.node("DepthToSpace", [c.inputs[0]], c.out, blocksize=c.layer.args["factor"], mode="CRD")


def _scale(c: _Ctx) -> None:
    """A learned per-channel scale, broadcast as declared ((C, 1, 1) on (C, H, W))."""
    c.node("Mul", [c.inputs[0], c.weight("weight")], c.out)


def _l2_nodes(c: _Ctx, x: str, dim: int, eps: float, out: str | None = None) -> str:
    """x / max(‖x‖₂, ε) along ONNX axis ``dim``: ReduceL2 (keepdims), Max, Div, F.normalize's
    clamp (LpNormalization has no ε). The ONNX importer reads the three back as one layer."""
    floor = c.const(eps, "float32")
    norm = c.node("ReduceL2", [x, c.const([dim])])
    return c.node("Div", [x, c.node("Max", [norm, floor])], out)


def _l2_normalize(c: _Ctx) -> None:
    """L2 normalisation along the axis; the learned scale (C,) reshaped to broadcast on it."""
    layer = c.layer
    if not layer.args["scale"]:
        _l2_nodes(c, c.inputs[0], layer.ax + 1, layer.args["eps"], c.out)
        return
    y = _l2_nodes(c, c.inputs[0], layer.ax + 1, layer.args["eps"])
    ones = [1] * (len(layer.in_shapes[0]) - layer.ax - 1)
    c.node("Mul", [y, c.node("Reshape", [c.weight("weight"), c.const([-1, *ones])])], c.out)


def _subtract(c: _Ctx) -> None:
    c.node("Sub", _after_batch(c), c.out)


# --- tensor operations -----------------------------------------------------------------------

_BIG = 2**62  # an end index past any axis (ONNX Slice clamps it)


def _slice_axis(
    c: _Ctx, x: str, axis: int, start: int, stop: int | None, out: str | None = None, step: int = 1
) -> str:
    """``x[start:stop:step]`` on one ONNX axis (Python's rules: ONNX Slice clamps the same way)."""
    ends = _BIG if stop is None else stop
    return c.node(
        "Slice", [x, c.const([start]), c.const([ends]), c.const([axis]), c.const([step])], out
    )


def _slice(c: _Ctx) -> None:
    a = c.layer.args
    start = a["start"] if a["start"] is not None else 0
    _slice_axis(c, c.inputs[0], _dim(a["axis"]), start, a["stop"], c.out, a["step"])


def _split(c: _Ctx) -> None:
    """One ONNX Split for all the pieces of an entry (``s.0``, ``s.1``, … written at once by the
    first); a piece whose siblings are not all in the graph is a Slice of its own."""
    layer, n = c.layer, c.n
    if n.name in c.w.done:
        return
    ax = layer.ax
    bounds = layer.bounds
    base, _, k = n.name.rpartition(".")
    siblings = [c.w.by_name.get(f"{base}.{j}") for j in range(len(bounds))]
    whole = k.isdigit() and all(
        s is not None
        and s.type == n.type
        and s.inputs == n.inputs
        and s.layer.args == {**n.layer.args, "index": j}
        for j, s in enumerate(siblings)
    )
    if whole:
        outs = [s.name for s in siblings if s is not None]
        sizes = c.const([hi - lo for lo, hi in bounds])
        c.nodes("Split", [c.inputs[0], sizes], outs, axis=ax + 1)
        c.w.done.update(outs)
        return
    lo, hi = bounds[layer.args["index"] or 0]
    _slice_axis(c, c.inputs[0], ax + 1, lo, hi, c.out)


def _gather(c: _Ctx) -> None:
    """The indices floored, cast to int64 and taken modulo the axis size (the NumPy forward's
    rule); indices of batch 1 (an index buffer): one ``Gather``; per-sample indices: the axis
    moved next to the batch, ``GatherND`` with batch_dims 1, the index axes moved back."""
    layer = c.layer
    x, idx = c.inputs
    dim, size = layer.ax + 1, layer.in_shapes[0][layer.ax]
    i = c.node("Cast", [c.node("Floor", [idx])], to=c.w.tp.INT64)
    i = c.node("Mod", [i, c.const(size)])  # integer Mod: the divisor's sign, as Python's %
    if _batch_one(c, idx):
        c.node("Gather", [x, c.node("Squeeze", [i, c.const([0])])], c.out, axis=dim)
        return
    rank = len(layer.in_shapes[0]) + 1  # with the batch
    if dim != 1:
        x = c.node("Transpose", [x], perm=[0, dim, *(k for k in range(1, rank) if k != dim)])
    if _batch_one(c, c.inputs[0]):  # a free table, per-sample indices: the table expanded
        batch = c.node("Slice", [c.node("Shape", [i]), c.const([0]), c.const([1])])
        x = c.node("Expand", [x, c.node("Concat", [batch, c.const([1] * (rank - 1))], axis=0)])
    g = c.node("GatherND", [x, c.node("Unsqueeze", [i, c.const([-1])])], batch_dims=1)
    ni, pre = len(layer.in_shapes[1]), dim - 1  # g: (N, *indices, *pre, *post)
    back = [0, *range(1 + ni, 1 + ni + pre), *range(1, 1 + ni), *range(1 + ni + pre, ni + rank - 1)]
    c.node("Transpose", [g], c.out, perm=back)


def _roll_axis(c: _Ctx, x: str, axis: int, size: int, shift: int, out: str | None = None) -> str:
    """``torch.roll`` on one ONNX axis: the last ``shift`` elements move to the front."""
    s = shift % size
    if s == 0:
        return c.node("Identity", [x], out) if out else x
    tail = _slice_axis(c, x, axis, size - s, None)
    head = _slice_axis(c, x, axis, 0, size - s)
    return c.node("Concat", [tail, head], out, axis=axis)


def _roll(c: _Ctx) -> None:
    shape = c.layer.in_shapes[0]
    x = c.inputs[0]
    pairs = list(zip(c.layer.args["shifts"], c.layer.args["axis"]))
    for k, (sh, ax) in enumerate(pairs):
        last = k == len(pairs) - 1
        x = _roll_axis(c, x, ax % len(shape) + 1, shape[ax], sh, c.out if last else None)


def _channel_shuffle(c: _Ctx) -> None:
    """Reshape (N, g, C/g, …), Transpose the two group axes, Reshape back."""
    shape = c.layer.in_shapes[0]
    g = c.layer.args["groups"]
    y = c.node("Reshape", [c.inputs[0], c.const([0, g, shape[0] // g, *shape[1:]])])
    perm = [0, 2, 1, *range(3, len(shape) + 2)]
    y = c.node("Transpose", [y], perm=perm)
    c.node("Reshape", [y, c.const([0, *shape])], c.out)


def _pixel_unshuffle(c: _Ctx) -> None:
    """Space to depth as Reshape → Transpose → Reshape, in any of the three channel orders and
    channels first or last (Swin's patch merging); odd sizes padded at the end first."""
    layer = c.layer
    x_shape = layer.in_shapes[0]
    r = layer.args["factor"]
    last = layer.args["channel_axis"] == -1
    order = layer._order()
    x = c.inputs[0]
    if last:
        lead, (h, w), ch = x_shape[:-3], x_shape[-3:-1], x_shape[-1]
        sp_axis = len(lead) + 1  # ONNX axis of H
    else:
        lead, ch, (h, w) = (), x_shape[0], x_shape[1:]
        sp_axis = 2
    hp, wp = -(-h // r) * r, -(-w // r) * r
    rank = len(x_shape) + 1
    if (hp, wp) != (h, w):
        pads = [0] * (2 * rank)
        pads[rank + sp_axis], pads[rank + sp_axis + 1] = hp - h, wp - w
        x = c.node("Pad", [x, c.const(pads)], mode="constant")
    if last:  # (N, *lead, H', r, W', r, C): axes of H', dy, W', dx, c
        blocks = [0, *lead, hp // r, r, wp // r, r, ch]
        L = len(lead)
        hq, dy, wq, dx, cc = L + 1, L + 2, L + 3, L + 4, L + 5
        parts = {"c": cc, "dy": dy, "dx": dx}
        perm = [0, *range(1, L + 1), hq, wq, *(parts[p] for p in order.split("_"))]
        out = [0, *lead, hp // r, wp // r, ch * r * r]
    else:  # (N, C, H', r, W', r)
        blocks = [0, ch, hp // r, r, wp // r, r]
        parts = {"c": 1, "dy": 3, "dx": 5}
        perm = [0, *(parts[p] for p in order.split("_")), 2, 4]
        out = [0, ch * r * r, hp // r, wp // r]
    y = c.node("Reshape", [x, c.const(blocks)])
    y = c.node("Transpose", [y], perm=perm)
    c.node("Reshape", [y, c.const(out)], c.out)


def _resize_to(c: _Ctx) -> None:
    """Resize to the reference's spatial size (``sizes`` on the spatial ``axes``, opset ≥ 18)."""
    a = c.layer.args
    sp = list(c.layer.out_shape[1:])
    attrs = _resize_attrs(a["mode"], a["align_corners"])
    axes = list(range(2, len(sp) + 2))
    c.node("Resize", [c.inputs[0], "", "", c.const(sp)], c.out, axes=axes, **attrs)


def _matmul(c: _Ctx) -> None:
    """torch.matmul per sample: vectors made a row (first) or a column (second), the
    lower-rank operand's leading axes aligned after the batch, squeezed back after."""
    a, b = c.inputs
    sa, sb = c.layer.in_shapes
    args = c.layer.args

    def swap(x: str, rank: int) -> str:  # rank without the batch
        perm = list(range(rank + 1))
        perm[-1], perm[-2] = perm[-2], perm[-1]
        return c.node("Transpose", [x], perm=perm)

    if args["transpose_a"]:
        a = swap(a, len(sa))
    if args["transpose_b"]:
        b = swap(b, len(sb))
    va, vb = len(sa) == 1, len(sb) == 1
    ra, rb = len(sa) + 1 + va, len(sb) + 1 + vb  # ranks with the batch, vectors made matrices
    if va:
        a = c.node("Unsqueeze", [a, c.const([1])])
    if vb:
        b = c.node("Unsqueeze", [b, c.const([-1])])
    rank = max(ra, rb)
    if ra < rank:
        a = c.node("Unsqueeze", [a, c.const(list(range(1, 1 + rank - ra)))])
    if rb < rank:
        b = c.node("Unsqueeze", [b, c.const(list(range(1, 1 + rank - rb)))])
    if not (va or vb):
        c.node("MatMul", [a, b], c.out)
        return
    y = c.node("MatMul", [a, b])
    if vb:
        y = c.node("Squeeze", [y, c.const([-1])], None if va else c.out)
    if va:
        c.node("Squeeze", [y, c.const([-1 if vb else -2])], c.out)


def _free_tensor(c: _Ctx) -> None:
    """parameter / buffer: the tensor with a batch axis of 1 (consumers broadcast it)."""
    c.node("Unsqueeze", [c.weight("value"), c.const([0])], c.out)


def _constant(c: _Ctx) -> None:
    """The learned value (or ones) broadcast to (N, *shape), N from the input if there is one;
    a smaller learned tensor broadcasts its first element (the NumPy forward's rule)."""
    import math

    shape = list(c.layer.out_shape)
    own = {w.name: w for w in c.layer.weights()}
    if "value" in own:
        v = c.weight("value")
        if own["value"].size == math.prod(shape):
            v = c.node("Reshape", [v, c.const([1, *shape])])
        else:
            first = c.node(
                "Slice", [c.node("Reshape", [v, c.const([-1])]), c.const([0]), c.const([1])]
            )
            v = c.node("Reshape", [first, c.const([1] * (len(shape) + 1))])
    else:
        v = c.const(1.0, "float32")
    if c.inputs:
        batch = c.node("Slice", [c.node("Shape", [c.inputs[0]]), c.const([0]), c.const([1])])
    else:
        batch = c.const([1])
    target = c.node("Concat", [batch, c.const(shape)], axis=0)
    c.node("Expand", [v, target], c.out)


#: elementwise op → ONNX op of the same name (the others are written out below)
_ELEMENTWISE = {
    "sub": "Sub", "div": "Div", "pow": "Pow", "max": "Max", "min": "Min", "neg": "Neg",
    "abs": "Abs", "reciprocal": "Reciprocal", "exp": "Exp", "erf": "Erf", "sin": "Sin",
    "cos": "Cos", "floor": "Floor", "ceil": "Ceil", "round": "Round", "sign": "Sign",
}  # fmt: skip


def _elementwise(c: _Ctx) -> None:
    """The NumPy forward's definitions: sqrt of |x|, log of |x| + 10⁻¹², Python's floored mod,
    comparisons and ``not`` as 0/1 floats, ``where`` on x ≠ 0; inputs broadcast after the batch
    (:func:`_after_batch`)."""
    op = c.layer.args["op"]
    xs = _after_batch(c)
    f32 = c.w.tp.FLOAT
    if op == "cast":  # float32 to float32 (the NumPy forward's output type)
        y = c.node("Cast", [xs[0]], to=f32)
    elif op in _ELEMENTWISE and (len(xs) > 1 or op not in ("sub", "div", "pow", "max", "min")):
        y = c.node(_ELEMENTWISE[op], xs[:2] if len(xs) > 1 else xs[:1])
    elif op in ("sub", "div", "pow", "max", "min"):  # one input: the NumPy forward returns it
        y = xs[0]
    elif op == "sqrt":
        y = c.node("Sqrt", [c.node("Abs", [xs[0]])])
    elif op == "log":
        y = c.node("Log", [c.node("Add", [c.node("Abs", [xs[0]]), c.const(1e-12, "float32")])])
    elif op == "mod":
        x0, x1 = xs[0], xs[1] if len(xs) > 1 else xs[0]
        q = c.node("Floor", [c.node("Div", [x0, x1])])
        y = c.node("Sub", [x0, c.node("Mul", [q, x1])])
    elif op in ("equal", "less", "greater"):
        name = op.capitalize()
        y = c.node("Cast", [c.node(name, xs[:2] if len(xs) > 1 else [xs[0], xs[0]])], to=f32)
    elif op == "not":
        y = c.node("Cast", [c.node("Equal", [xs[0], c.const(0.0, "float32")])], to=f32)
    elif op == "where":
        cond = c.node("Not", [c.node("Equal", [xs[0], c.const(0.0, "float32")])])
        y = c.node("Where", [cond, xs[1 % len(xs)], xs[2 % len(xs)]])
    elif op == "clip":
        y = xs[0]
        if len(xs) > 1:
            y = c.node("Max", [y, xs[1]])
        if len(xs) > 2:
            y = c.node("Min", [y, xs[2]])
    else:  # pragma: no cover - every op of ELEMENTWISE_FLOPS is handled above
        raise Unsupported(f"elementwise {op}")
    c.node("Identity", [y], c.out)


# --- recurrent -------------------------------------------------------------------------------

#: cnncalc's (PyTorch's) gate blocks in ONNX's order: LSTM i f g o → i o f c(g); GRU r z n → z r h
_GATE_ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2)}


def _recurrent(c: _Ctx) -> None:
    """ONNX LSTM / GRU, one node per layer (both directions in one), on the sequence transposed
    to (L, N, I) and back (onnxruntime runs no ``layout`` 1).

    PyTorch's weights are re-laid out in the graph (Slice and Concat of the initializers, which
    keep their PyTorch names and shapes): the gate blocks reordered (:data:`_GATE_ORDER`),
    the directions stacked, B = [b_ih, b_hh]. GRU uses ``linear_before_reset`` (PyTorch applies
    r after the hidden product)."""
    layer = c.layer
    t, a = layer.type_name, layer.args
    h = a["hidden_size"]
    dirs = layer._dirs()
    x = c.inputs[0]
    steps = layer.in_shapes[0][0]

    def gates(name: str) -> str:
        """(G·H, …) → the blocks in ONNX order, with a leading direction axis of 1."""
        wname = c.weight(name)
        blocks = [_slice_axis(c, wname, 0, k * h, (k + 1) * h) for k in _GATE_ORDER[t]]
        return c.node("Unsqueeze", [c.node("Concat", blocks, axis=0), c.const([0])])

    for k in range(a["num_layers"]):
        ws = [gates(f"weight_ih_l{k}{d}") for d in dirs]
        rs = [gates(f"weight_hh_l{k}{d}") for d in dirs]
        seq = c.node("Transpose", [x], perm=[1, 0, 2])  # (L, N, I): onnxruntime has no layout 1
        ins = [seq, *(c.node("Concat", v, axis=0) if len(v) > 1 else v[0] for v in (ws, rs))]
        if a["bias"]:
            bs = [
                c.node("Concat", [gates(f"bias_ih_l{k}{d}"), gates(f"bias_hh_l{k}{d}")], axis=1)
                for d in dirs
            ]
            ins.append(c.node("Concat", bs, axis=0) if len(bs) > 1 else bs[0])
        attrs: dict[str, Any] = {
            "hidden_size": h,
            "direction": "bidirectional" if len(dirs) > 1 else "forward",
        }
        if t == "gru":
            attrs["linear_before_reset"] = 1
        y = c.node(t.upper(), ins, **attrs)  # Y: (L, D, N, H)
        y = c.node("Transpose", [y], perm=[2, 0, 1, 3])
        last = k == a["num_layers"] - 1
        x = c.node("Reshape", [y, c.const([0, steps, len(dirs) * h])], c.out if last else None)


# --- attention with a relative position bias ---------------------------------------------------


def _proj(c: _Ctx, x: str, weight: str, bias: str | None, out: str | None = None) -> str:
    """x · Wᵀ (+ b), W a (out, in) PyTorch weight: MatMul by its transpose, then Add."""
    y = c.node(
        "MatMul", [x, c.node("Transpose", [c.weight(weight)], perm=[1, 0])], None if bias else out
    )
    return c.node("Add", [y, c.weight(bias)], out) if bias else y


def _bias_from_table(c: _Ctx, table: str, index: str, n_conf: int, n: int, heads: int) -> str:
    """(heads, n, n): the table's rows at the index (an (N, N) grid, its first n rows and
    columns when a window shrank: torchvision's rule), heads first."""
    idx = c.node("Reshape", [index, c.const([n_conf, n_conf])])
    if n != n_conf:
        idx = c.node("Slice", [idx, c.const([0, 0]), c.const([n, n]), c.const([0, 1])])
    idx = c.node("Reshape", [idx, c.const([-1])])
    b = c.node("Gather", [table, idx], axis=0)  # (n², heads)
    b = c.node("Reshape", [b, c.const([n, n, heads])])
    return c.node("Transpose", [b], perm=[2, 0, 1])


def _window_attention(c: _Ctx) -> None:
    """Swin's shifted-window attention written out as torchvision's forward: pad, roll, window
    partition (Reshape/Transpose/Reshape), qkv, per-head Q·Kᵀ + the bias table gathered by the
    relative-position index (an int64 buffer) + the shift mask (a constant), softmax, A·V, proj,
    windows merged, roll back, crop. v2: q and k normalised (ReduceL2), the logit scale, and
    the bias table computed by its MLP from the coordinate table (see :func:`_cpb_table`)."""
    import math

    import numpy as np

    layer = c.layer
    a = layer.args
    shape = layer.in_shapes[0]
    sizes, ch = tuple(shape[:-1]), shape[-1]
    r = len(sizes)
    conf, win, shift, pad = layer._fit(sizes)
    heads = a["num_heads"]
    d = ch // heads
    n, n_conf = math.prod(win), math.prod(conf)
    counts = [p // w for p, w in zip(pad, win)]
    nw = math.prod(counts)
    x = c.inputs[0]
    if pad != sizes:
        pads = [0] * (2 * (r + 2))
        for ax in range(r):
            pads[r + 2 + 1 + ax] = pad[ax] - sizes[ax]
        x = c.node("Pad", [x, c.const(pads)], mode="constant")
    for ax in range(r):
        if shift[ax]:
            x = _roll_axis(c, x, ax + 1, pad[ax], -shift[ax])
    blocks = [v for cw in zip(counts, win) for v in cw]
    perm = [0, *range(1, 2 * r, 2), *range(2, 2 * r + 1, 2), 2 * r + 1]
    x = c.node("Reshape", [x, c.const([0, *blocks, ch])])
    x = c.node("Transpose", [x], perm=perm)
    x = c.node("Reshape", [x, c.const([-1, n, ch])])  # (N·nW, n, C)
    if a["v2"] and a["qkv_bias"]:  # torchvision zeroes the key bias of v2
        qkv = _proj(c, x, "qkv.weight", None)
        keep = c.const([1.0] * ch + [0.0] * ch + [1.0] * ch, "float32")
        qkv = c.node("Add", [qkv, c.node("Mul", [c.weight("qkv.bias"), keep])])
    else:
        qkv = _proj(c, x, "qkv.weight", "qkv.bias" if a["qkv_bias"] else None)
    qkv = c.node("Reshape", [qkv, c.const([0, n, 3, heads, d])])
    qkv = c.node("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # (3, N·nW, heads, n, d)
    q, k, v = (c.node("Gather", [qkv, c.const(i)], axis=0) for i in range(3))
    shapes = {w.name: w.shape for w in layer.weights()}
    index = c.defined_buffer(
        "relative_position_index", layer._index(conf).reshape(shapes["relative_position_index"])
    )
    if a["v2"]:  # cosine attention: q and k normalised, times exp(min(logit scale, log 100))
        q, k = (_l2_nodes(c, t, -1, 1e-12) for t in (q, k))
        scores = c.node("MatMul", [q, c.node("Transpose", [k], perm=[0, 1, 3, 2])])
        clamp = c.const(float(np.float32(math.log(100.0))), "float32")
        scale = c.node("Exp", [c.node("Min", [c.weight("logit_scale"), clamp])])
        scores = c.node("Mul", [scores, scale])
        table = _cpb_table(c, layer, shapes["relative_coords_table"])
    else:
        q = c.node("Mul", [q, c.const(float(np.float32(d**-0.5)), "float32")])
        scores = c.node("MatMul", [q, c.node("Transpose", [k], perm=[0, 1, 3, 2])])
        table = c.weight("relative_position_bias_table")
    scores = c.node("Add", [scores, _bias_from_table(c, table, index, n_conf, n, heads)])
    if any(shift):
        ids = np.zeros(pad, dtype=np.int64)
        for ax in range(r):  # the region of each padded index along the axis (0, 1 or 2)
            line = np.zeros(pad[ax], dtype=np.int64)
            w_, s_ = win[ax], shift[ax]
            for k_, (lo, hi) in enumerate(((0, -w_), (-w_, -s_ or None), (-s_ or None, None))):
                line[lo:hi] = k_
            ids = ids * 3 + line.reshape((-1,) + (1,) * (r - ax - 1))
        wid = ids.reshape(blocks).transpose((*range(0, 2 * r, 2), *range(1, 2 * r, 2)))
        # the mask (nW, 1, n, n) from the (nW, n) region ids: −100 where two tokens' regions
        # differ (computed in the graph: the mask itself would be nW·n² floats)
        wid = c.const(wid.reshape(nw, 1, 1, n))
        same = c.node("Equal", [wid, c.node("Transpose", [wid], perm=[0, 1, 3, 2])])
        mask = c.node("Where", [same, c.const(0.0, "float32"), c.const(-100.0, "float32")])
        scores = c.node("Reshape", [scores, c.const([-1, nw, heads, n, n])])
        scores = c.node("Add", [scores, mask])
        scores = c.node("Reshape", [scores, c.const([-1, heads, n, n])])
    y = c.node("MatMul", [c.node("Softmax", [scores], axis=-1), v])  # (N·nW, heads, n, d)
    y = c.node("Transpose", [y], perm=[0, 2, 1, 3])
    y = c.node("Reshape", [y, c.const([-1, n, ch])])
    y = _proj(c, y, "proj.weight", "proj.bias" if a["proj_bias"] else None)
    inv = [perm.index(i) for i in range(len(perm))]
    y = c.node("Reshape", [y, c.const([-1, *counts, *win, ch])])
    y = c.node("Transpose", [y], perm=inv)
    y = c.node("Reshape", [y, c.const([-1, *pad, ch])])
    for ax in range(r):
        if shift[ax]:
            y = _roll_axis(c, y, ax + 1, pad[ax], shift[ax])
    if pad != sizes:
        y = c.node(
            "Slice",
            [y, c.const([0] * r), c.const(list(sizes)), c.const(list(range(1, r + 1)))],
        )
    c.node("Identity", [y], c.out)


def _cpb_table(c: _Ctx, layer: Any, coords_shape: tuple[int, ...]) -> str:
    """Swin v2's bias table (E, heads) = 16·σ(MLP(log-spaced coordinates)): the coordinates are
    the ``relative_coords_table`` buffer (its defined values), the MLP Linear(2, 512), ReLU,
    Linear(512, heads) without bias."""
    import numpy as np

    wh, ww = layer.conf
    hs = np.arange(-(wh - 1), wh, dtype=np.float64) / max(wh - 1, 1)
    ws = np.arange(-(ww - 1), ww, dtype=np.float64) / max(ww - 1, 1)
    grid = np.stack(np.meshgrid(hs, ws, indexing="ij"), axis=-1) * 8
    grid = np.sign(grid) * np.log2(np.abs(grid) + 1.0) / 3.0
    coords = c.defined_buffer("relative_coords_table", grid.reshape(coords_shape), "float32")
    flat = c.node("Reshape", [coords, c.const([-1, 2])])
    hidden = c.node("Relu", [_proj(c, flat, "cpb_mlp.0.weight", "cpb_mlp.0.bias")])
    out = _proj(c, hidden, "cpb_mlp.2.weight", None)
    return c.node("Mul", [c.node("Sigmoid", [out]), c.const(16.0, "float32")])


def _relative_attention(c: _Ctx) -> None:
    """MaxViT's relative attention on (G, n, C) groups: to_qkv, three heads-first tensors,
    k · C^−½ (torchvision scales by the feature width), Q·Kᵀ + the bias table gathered by the
    relative-position index (an int64 buffer), softmax, A·V, merge."""
    import math

    import numpy as np

    layer = c.layer
    g, n, ch = layer.in_shapes[0]
    dh = layer.args["head_dim"]
    heads = ch // dh
    p = math.isqrt(n)
    qkv = _proj(c, c.inputs[0], "to_qkv.weight", "to_qkv.bias")
    parts = c.nodes(
        "Split", [qkv, c.const([ch] * 3)], [c.tmp("q"), c.tmp("k"), c.tmp("v")], axis=-1
    )
    q, k, v = (
        c.node(
            "Transpose",
            [c.node("Reshape", [t, c.const([0, g, n, heads, dh])])],
            perm=[0, 1, 3, 2, 4],
        )
        for t in parts
    )
    k = c.node("Mul", [k, c.const(float(np.float32(ch**-0.5)), "float32")])
    grid = np.stack(np.meshgrid(np.arange(p), np.arange(p), indexing="ij")).reshape(2, -1)
    rel = grid[:, :, None] - grid[:, None, :]
    values = (rel[0] + p - 1) * (2 * p - 1) + rel[1] + p - 1
    index = c.defined_buffer("relative_position_index", values)
    bias = _bias_from_table(c, c.weight("relative_position_bias_table"), index, n, n, heads)
    # (N, G, heads, n, d): MatMul broadcasts over both leading axes
    kt = c.node("Transpose", [k], perm=[0, 1, 2, 4, 3])
    scores = c.node("Add", [c.node("MatMul", [q, kt]), bias])
    y = c.node("MatMul", [c.node("Softmax", [scores], axis=-1), v])
    y = c.node("Transpose", [y], perm=[0, 1, 3, 2, 4])
    y = c.node("Reshape", [y, c.const([0, g, n, ch])])
    _proj(c, y, "merge.weight", "merge.bias", c.out)


def _mvit_pool(
    c: _Ctx, t: str, heads: int, n_tok: int, d: int, thw: tuple[int, ...], p: str
) -> tuple[str, tuple[int, ...]]:
    """torchvision's ``Pool`` on (N, heads, 1 + T·H·W, d): the grid tokens of each head through
    the depthwise conv3d (one Conv per head, all with the same weight, as torchvision runs the
    heads in the batch), the class token put back, LayerNorm(d)."""
    layer = c.layer
    k, s = layer.kernels[p], layer.strides[p]
    pad = [kk // 2 for kk in k]
    out = tuple((a + 2 * q - kk) // ss + 1 for a, q, kk, ss in zip(thw, pad, k, s))
    cls = _slice_axis(c, t, 2, 0, 1)
    grid = _slice_axis(c, t, 2, 1, None)
    per_head = (
        c.nodes(
            "Split", [grid, c.const([1] * heads)], [c.tmp("head") for _ in range(heads)], axis=1
        )
        if heads > 1
        else [grid]
    )
    pooled = []
    for g in per_head:  # (N, 1, THW, d) → (N, d, T, H, W) → conv → (N, 1, T'H'W', d)
        v = c.node("Reshape", [c.node("Transpose", [g], perm=[0, 1, 3, 2]), c.const([0, d, *thw])])
        v = c.node(
            "Conv",
            [v, c.weight(f"{p}.pool.weight")],
            kernel_shape=list(k),
            strides=list(s),
            pads=pad + pad,
            group=d,
        )
        v = c.node("Reshape", [v, c.const([0, 1, d, -1])])
        pooled.append(c.node("Transpose", [v], perm=[0, 1, 3, 2]))
    y = c.node("Concat", pooled, axis=1) if heads > 1 else pooled[0]
    y = c.node("Concat", [cls, y], axis=2)
    y = c.node(
        "LayerNormalization",
        [y, c.weight(f"{p}.norm_act.0.weight"), c.weight(f"{p}.norm_act.0.bias")],
        axis=-1,
        epsilon=layer.args["eps"],
    )
    return y, out


def _mvit_rel_pos(
    c: _Ctx, attn: str, q: str, heads: int, d: int, q_thw: tuple[int, ...], k_thw: tuple[int, ...]
) -> str:
    """v2's decomposed relative positions (torchvision ``_add_rel_pos``): each axis' table
    (resized by a constant interpolation matrix when its rows differ) gathered at the offsets
    (constant int64 indices), multiplied with the grid queries (one MatMul per axis, heads
    and the axis' positions as leading axes), the three terms summed into the scores of the
    grid tokens (padded with a zero row and column for the class token)."""
    import numpy as np

    qt, qh, qw = q_thw
    kt, kh, kw = k_thw
    r_q = _slice_axis(c, q, 2, 1, None)
    r_q = c.node("Reshape", [r_q, c.const([0, heads, qt, qh, qw, d])])  # axes b y t h w c
    terms = {}
    for ax, name in ((1, "rel_pos_h"), (2, "rel_pos_w"), (0, "rel_pos_t")):
        qs, ks = q_thw[ax], k_thw[ax]
        q_ratio, k_ratio = max(ks / qs, 1.0), max(qs / ks, 1.0)
        f32 = np.float32
        dist = np.arange(qs, dtype=f32)[:, None] * f32(q_ratio) - (
            np.arange(ks, dtype=f32)[None, :] + f32(1.0 - ks)
        ) * f32(k_ratio)
        rows_now = {w.name: w.shape[0] for w in c.layer.weights()}[name]
        rows = int(2 * max(qs, ks) - 1)
        table = c.weight(name)
        if rows != rows_now:  # F.interpolate(mode="linear"): a fixed (rows, rows_now) matrix
            eye = np.eye(rows_now, dtype=np.float32)
            m = type(c.layer)._resize(eye, rows)
            table = c.node("MatMul", [c.const(m, "float32"), table])
        rel = c.node("Gather", [table, c.const(dist.astype(np.int64))], axis=0)  # (qs, ks, d)
        rel_t = c.node("Transpose", [rel], perm=[0, 2, 1])  # (qs, d, ks)
        # move the axis' queries next to the channel, as the matmul's batch axis
        src = {0: 2, 1: 3, 2: 4}[ax]
        order = [0, 1, *(a for a in (2, 3, 4) if a != src), src, 5]
        x = c.node("Unsqueeze", [c.node("Transpose", [r_q], perm=order), c.const([-2])])
        y = c.node("MatMul", [x, rel_t])  # (b, y, …, qs, 1, ks)
        back = [order.index(a) for a in range(6)]
        y = c.node("Squeeze", [y, c.const([-2])])
        y = c.node("Transpose", [y], perm=back)  # (b, y, t, h, w, ks)
        terms[ax] = y
    shape = [0, heads, qt, qh, qw]
    h_ = c.node("Reshape", [terms[1], c.const([*shape, 1, kh, 1])])
    w_ = c.node("Reshape", [terms[2], c.const([*shape, 1, 1, kw])])
    t_ = c.node("Reshape", [terms[0], c.const([*shape, kt, 1, 1])])
    rel = c.node("Add", [c.node("Add", [h_, w_]), t_])
    rel = c.node("Reshape", [rel, c.const([0, heads, qt * qh * qw, kt * kh * kw])])
    rel = c.node("Pad", [rel, c.const([0, 0, 1, 1, 0, 0, 0, 0])], mode="constant")
    return c.node("Add", [attn, rel])


def _multiscale_attention(c: _Ctx) -> None:
    """MViT's pooling attention written out as torchvision's forward: qkv, heads, the pooled
    Q/K/V (:func:`_mvit_pool`), Q·Kᵀ scaled by d^−½, v2's relative positions
    (:func:`_mvit_rel_pos`), softmax, A·V, v2's residual pooling, project."""
    import numpy as np

    layer = c.layer
    a = layer.args
    n, _ = layer.in_shapes[0]
    co, heads = layer.co, layer.heads
    d = co // heads
    thw = tuple(a["thw"])
    qkv = _proj(c, c.inputs[0], "qkv.weight", "qkv.bias")
    qkv = c.node("Reshape", [qkv, c.const([0, n, 3, heads, d])])
    qkv = c.node("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # (3, N, heads, n, d)
    q, k, v = (c.node("Gather", [qkv, c.const(i)], axis=0) for i in range(3))
    k_thw = q_thw = thw
    if "pool_k" in layer.grids:
        k, k_thw = _mvit_pool(c, k, heads, n, d, thw, "pool_k")
        v, _ = _mvit_pool(c, v, heads, n, d, thw, "pool_v")
    if "pool_q" in layer.grids:
        q, q_thw = _mvit_pool(c, q, heads, n, d, thw, "pool_q")
    qs = c.node("Mul", [q, c.const(float(np.float32(d**-0.5)), "float32")])
    attn = c.node("MatMul", [qs, c.node("Transpose", [k], perm=[0, 1, 3, 2])])
    if a["rel_pos"]:
        attn = _mvit_rel_pos(c, attn, q, heads, d, q_thw, k_thw)
    y = c.node("MatMul", [c.node("Softmax", [attn], axis=-1), v])
    if a["residual_pool"]:
        if a["residual_with_cls_embed"]:
            y = c.node("Add", [y, q])
        else:
            grid_q = c.node(
                "Pad",
                [_slice_axis(c, q, 2, 1, None), c.const([0, 0, 1, 0, 0, 0, 0, 0])],
                mode="constant",
            )
            y = c.node("Add", [y, grid_q])
    y = c.node("Transpose", [y], perm=[0, 2, 1, 3])
    y = c.node("Reshape", [y, c.const([0, -1, co])])
    _proj(c, y, "project.0.weight", "project.0.bias", c.out)


#: layer type → writer of its ONNX nodes (the one place the ONNX export knows a type)
ONNX: dict[str, Callable[[_Ctx], None]] = {
    **for_class("conv1d", writer=_conv),
    **for_class("conv_transpose1d", writer=_conv_transpose),
    **for_class("linear", writer=_linear),
    **for_class("batchnorm1d", writer=_batchnorm),
    "frozen_batchnorm2d": _frozen_batchnorm,
    **for_class("layernorm", writer=_layernorm),
    **for_class("groupnorm", writer=_groupnorm),
    **for_class("instance_norm", writer=_instancenorm),
    "softplus": _softplus,
    "prelu": _prelu,
    **for_class("pixel_shuffle", writer=_pixel_shuffle),
    **for_class("drop_path", writer=_identity),
    **for_class("sub", writer=_subtract),
    **for_class("scale", writer=_scale),
    **for_class("local_response_norm", writer=_lrn),
    **by_names(
        "relu",
        "relu6",
        "leaky_relu",
        "elu",
        "sigmoid",
        "tanh",
        "silu",
        "swish",
        "hardsigmoid",
        "hardswish",
        "gelu",
        "mish",
        writer=_activation,
    ),
    **for_class("softmax", writer=_softmax),
    **for_class("dropout", writer=_identity),
    **for_class("identity", writer=_identity),
    **for_class("maxpool1d", writer=_maxpool),
    **for_class("avgpool1d", writer=_avgpool),
    **for_class("global_avg_pool", writer=_global_pool),
    **for_class("adaptive_avgpool1d", writer=_adaptive_pool),
    "add": _add,
    **for_class("multiply", writer=_multiply),
    "concat": _concat,
    "multi_head_attention": _mha,
    "class_token": _class_token,
    "position_embedding": _position_embedding,
    "select_token": _select_token,
    "normalization": _normalization,
    "rescaling": _rescaling,
    **for_class("zero_pad1d", writer=_zero_pad),
    **for_class("crop1d", writer=_crop),
    **for_class("center_crop", writer=_crop),
    **for_class("upsample", writer=_upsample),
    **for_class("flatten", writer=_reshape),
    **for_class("reshape", writer=_reshape),
    **for_class("permute", writer=_permute),
    "slice": _slice,
    **for_class("split", writer=_split),
    "roll": _roll,
    "channel_shuffle": _channel_shuffle,
    **for_class("pixel_unshuffle", writer=_pixel_unshuffle),
    "resize_to": _resize_to,
    "matmul": _matmul,
    **for_class("parameter", writer=_free_tensor),
    "constant": _constant,
    "elementwise": _elementwise,
    **for_class("lstm", writer=_recurrent),
    **for_class("shifted_window_attention", writer=_window_attention),
    "relative_attention": _relative_attention,
    "multiscale_attention": _multiscale_attention,
    **for_class("l2_normalize", writer=_l2_normalize),
    **for_class("gather", writer=_gather),
}

#: layer types with no ONNX form, and why (the export refuses a spec using them, naming them)
REFUSED: dict[str, str] = {
    "roi_align": "needs the detector's proposals (boxes) as a second, dynamic input",
}


class _Writer:
    def __init__(self, onnx: Any) -> None:
        self.helper = onnx.helper
        self.numpy_helper = onnx.numpy_helper
        self.tp = onnx.TensorProto
        self.nodes: list[Any] = []
        #: buffers with defined values (weight name → array), see :meth:`_Ctx.defined_buffer`
        self.defined: dict[str, Any] = {}
        #: the graph's nodes by name (a split writes its siblings' outputs at once)
        self.by_name: dict[str, Node] = {}
        #: tensors with a batch axis of 1 (see :func:`_batch_one`)
        self.batch_one: set[str] = set()
        #: nodes whose output an earlier node already wrote
        self.done: set[str] = set()


def to_onnx(
    graph: Graph, *, weights: bool = True, seed: int = 0, intermediates: bool = False
) -> Any:
    """The ``onnx.ModelProto`` of ``graph``. ``intermediates``: every layer's output is a graph
    output too (``verify --backend onnxruntime`` reads each layer's shape from them)."""
    onnx = _require_onnx()
    refuse_unsupported(graph, ONNX, REFUSED, "ONNX")
    helper, TP = onnx.helper, onnx.TensorProto
    w = _Writer(onnx)
    w.by_name = {n.name: n for n in graph.nodes}
    for n in graph.nodes:
        if (
            n.inputs
            and all(i in w.batch_one for i in n.inputs)
            or (not n.inputs and n.type in ("parameter", "buffer", "constant"))
        ):
            w.batch_one.add(n.name)
    refused: dict[str, list[str]] = {}
    for n in graph.nodes:
        ctx = _Ctx(w, n, list(n.inputs))
        try:
            ONNX[n.type](ctx)
        except Unsupported as err:
            refused.setdefault(f"{n.type} ({err})", []).append(n.name)
    if refused:
        raise CnncalcError(
            f"cannot export {graph.name} to ONNX: "
            + "; ".join(f"{k}: {', '.join(v[:3])}" for k, v in refused.items()),
            file=graph.file,
        )

    def vi(name: str, shape: tuple[int, ...], batch: bool = True, doc: str = "") -> Any:
        dims: list[Any] = (["N"] if batch else []) + list(shape)
        known = w.defined.get(name)
        dtype = TP.INT64 if known is not None and known.dtype.kind == "i" else TP.FLOAT
        return helper.make_tensor_value_info(name, dtype, dims, doc_string=doc)

    inputs = [vi(k, s) for k, s in graph.inputs.items()]
    outputs = [vi(o, graph.shape_of(o)) for o in graph.outputs]
    if intermediates:
        outputs += [vi(n.name, n.out_shape) for n in graph.nodes if n.name not in graph.outputs]
    initializers = []
    tensors = [
        (n.name, f"{n.name}.{wt.name}", wt)
        for n in graph.nodes
        if n.share is None
        for wt in n.layer.weights()
    ]
    if weights:
        from ..backend.run import allocate_weights

        allocated = allocate_weights(graph, seed=seed).arrays
        for layer, name, wt in tensors:
            value = w.defined.get(name)
            if value is None:
                value = allocated[layer][wt.name]
            t = w.numpy_helper.from_array(value, name)
            if wt.kind == "buffer":
                t.doc_string = BUFFER_DOC
            initializers.append(t)
    else:
        inputs += [
            vi(name, wt.shape, batch=False, doc=BUFFER_DOC if wt.kind == "buffer" else "")
            for _, name, wt in tensors
        ]
    g = helper.make_graph(w.nodes, graph.name, inputs, outputs, initializers)
    model = helper.make_model(
        g,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="cnncalc",
        ir_version=IR_VERSION,
    )
    model.doc_string = f"{graph.name}: exported by cnncalc from {graph.file or 'a spec'}"
    return model


#: the most bytes of weights kept inside the .onnx file: protobuf cannot serialize a message
#: over 2 GiB, so larger weights go to a side file (ONNX external data)
MAX_INLINE_WEIGHTS = 1_800_000_000


def fits_inline(model: Any) -> bool:
    """Whether the weights fit in one protobuf message (:data:`MAX_INLINE_WEIGHTS`)."""
    return sum(len(t.raw_data) for t in model.graph.initializer) <= MAX_INLINE_WEIGHTS


def save(model: Any, path: Path) -> tuple[int, Path | None]:
    """Write ``model`` to ``path``: one file, or, when its weights pass
    :data:`MAX_INLINE_WEIGHTS` (RegNetY-128GF, ViT-H/14: 2.6 GB), the graph in ``path`` and the
    weights in ``path.data`` beside it (ONNX external data, which onnx and onnxruntime load from
    the model's folder). Returns (bytes written, the data file or None)."""
    onnx = _require_onnx()
    try:
        if fits_inline(model):
            data = model.SerializeToString()
            path.write_bytes(data)
            return len(data), None
        side = path.with_name(path.name + ".data")
        side.unlink(missing_ok=True)  # onnx appends to an existing data file
        onnx.save_model(
            model,
            str(path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=side.name,
            size_threshold=1024,
        )
    except OSError as exc:
        raise CnncalcError(f"cannot write {path}: {exc.strerror}") from None
    return path.stat().st_size + side.stat().st_size, side


def weight_count(model: Any) -> int:
    """Elements of every weight: the initializers, plus the weight inputs of a --no-weights
    file (graph inputs without a symbolic batch axis)."""
    import math

    total = sum(math.prod(t.dims) for t in model.graph.initializer)
    for i in model.graph.input:
        dims = i.type.tensor_type.shape.dim
        if not any(d.dim_param for d in dims):
            total += math.prod(d.dim_value for d in dims)
    return total
