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
from typing import Any

from ..errors import CnncalcError
from ..graph import Graph, Node
from ..layers import REGISTRY
from . import by_names, refuse_unsupported
from .pytorch import REFUSED as _PT_REFUSED

__all__ = ["ONNX", "REFUSED", "OPSET", "to_onnx", "Unsupported"]

OPSET = 21
IR_VERSION = 10


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
        self.w.nodes.append(
            self.w.helper.make_node(
                op, inputs, [out], name=f"{self.n.name}/{op}_{len(self.w.nodes)}", **attrs
            )
        )
        return out

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


def _conv(c: _Ctx) -> None:
    a = c.layer.args
    ins = [c.inputs[0], c.weight("weight")] + ([c.weight("bias")] if a["bias"] else [])
    c.node(
        "Conv",
        ins,
        c.out,
        kernel_shape=list(c.layer.k),
        strides=list(c.layer.s),
        dilations=list(c.layer.d),
        pads=_pads(c.layer),
        group=a["groups"],
    )


def _conv_transpose(c: _Ctx) -> None:
    a = c.layer.args
    ins = [c.inputs[0], c.weight("weight")] + ([c.weight("bias")] if a["bias"] else [])
    c.node(
        "ConvTranspose",
        ins,
        c.out,
        kernel_shape=list(c.layer.k),
        strides=list(c.layer.s),
        dilations=list(c.layer.d),
        pads=_pads(c.layer),
        output_padding=list(c.layer.op),
        group=a["groups"],
    )


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


def _add(c: _Ctx) -> None:
    c.node("Sum" if len(c.inputs) > 2 else "Add", list(c.inputs), c.out)


def _multiply(c: _Ctx) -> None:
    y = c.inputs[0]
    for k, x in enumerate(c.inputs[1:], 2):
        y = c.node("Mul", [y, x], c.out if k == len(c.inputs) else None)


def _concat(c: _Ctx) -> None:
    c.node("Concat", list(c.inputs), c.out, axis=_dim(c.layer.args["axis"]))


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


def _upsample(c: _Ctx) -> None:
    a = c.layer.args
    sp_in, sp_out = c.layer.in_shapes[0][1:], c.layer.out_shape[1:]
    if a["scale_factor"] is not None:
        scales = [1.0, 1.0] + [float(a["scale_factor"])] * len(sp_in)
    else:
        scales = [1.0, 1.0] + [o / i for o, i in zip(sp_out, sp_in)]
    mode = a["mode"]
    attrs: dict[str, Any] = {}
    if mode == "nearest":
        attrs = {
            "mode": "nearest",
            "coordinate_transformation_mode": "asymmetric",
            "nearest_mode": "floor",
        }
    else:
        attrs = {
            "mode": "cubic" if mode == "bicubic" else "linear",
            "coordinate_transformation_mode": "align_corners"
            if a["align_corners"]
            else "pytorch_half_pixel",
        }
        if mode == "bicubic":
            attrs["cubic_coeff_a"] = -0.75
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


def _subtract(c: _Ctx) -> None:
    c.node("Sub", list(c.inputs), c.out)


#: layer type → writer of its ONNX nodes (the one place the ONNX export knows a type)
ONNX: dict[str, Callable[[_Ctx], None]] = {
    **by_names("conv1d", "conv2d", "conv3d", "conv", writer=_conv),
    **by_names(
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "conv_transpose",
        writer=_conv_transpose,
    ),
    **by_names("linear", "dense", writer=_linear),
    **by_names("batchnorm1d", "batchnorm2d", "batchnorm3d", "batchnorm", writer=_batchnorm),
    "frozen_batchnorm2d": _frozen_batchnorm,
    **by_names("layernorm", "layer_norm", "layernorm2d", writer=_layernorm),
    **by_names("groupnorm", "group_norm", writer=_groupnorm),
    **by_names(
        "instance_norm", "instancenorm1d", "instancenorm2d", "instancenorm3d", writer=_instancenorm
    ),
    "softplus": _softplus,
    "prelu": _prelu,
    **by_names("pixel_shuffle", "depth_to_space", writer=_pixel_shuffle),
    **by_names("drop_path", "stochastic_depth", writer=_identity),
    **by_names("sub", "subtract", writer=_subtract),
    **by_names("scale", "layer_scale", writer=_scale),
    **by_names("local_response_norm", "lrn", writer=_lrn),
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
    **by_names("softmax", "log_softmax", writer=_softmax),
    **by_names(
        "dropout",
        "dropout1d",
        "dropout2d",
        "dropout3d",
        "alpha_dropout",
        "identity",
        writer=_identity,
    ),
    **by_names("maxpool1d", "maxpool2d", "maxpool3d", "maxpool", writer=_maxpool),
    **by_names("avgpool1d", "avgpool2d", "avgpool3d", "avgpool", writer=_avgpool),
    **by_names("global_avg_pool", "global_max_pool", writer=_global_pool),
    **by_names(
        "adaptive_avgpool1d",
        "adaptive_avgpool2d",
        "adaptive_avgpool3d",
        "adaptive_maxpool1d",
        "adaptive_maxpool2d",
        "adaptive_maxpool3d",
        writer=_adaptive_pool,
    ),
    "add": _add,
    **by_names("multiply", "mul", writer=_multiply),
    "concat": _concat,
    "multi_head_attention": _mha,
    "class_token": _class_token,
    "position_embedding": _position_embedding,
    "select_token": _select_token,
    "normalization": _normalization,
    "rescaling": _rescaling,
    **by_names("zero_pad1d", "zero_pad2d", "zero_pad3d", "zero_pad", writer=_zero_pad),
    **by_names("crop1d", "crop2d", "crop3d", "crop", "center_crop", writer=_crop),
    **by_names("upsample", "upsample1d", "upsample2d", "upsample3d", writer=_upsample),
    **by_names("flatten", "reshape", "view", writer=_reshape),
    **by_names("permute", "transpose", writer=_permute),
}

#: layer types with no ONNX form, and why (the export refuses a spec using them); the
#: types added to the registry after the exporter are listed as such
REFUSED: dict[str, str] = {
    "roi_align": "needs the detector's proposals (boxes) as a second, dynamic input",
    **{t: r for t, r in _PT_REFUSED.items() if t != "roi_align"},
    # types the PyTorch export writes and this one not yet (split, chunk, channel_shuffle, …)
    **{t: "no export form written yet" for t in REGISTRY if t not in ONNX and t not in _PT_REFUSED},
}


class _Writer:
    def __init__(self, onnx: Any) -> None:
        self.helper = onnx.helper
        self.numpy_helper = onnx.numpy_helper
        self.nodes: list[Any] = []


def to_onnx(
    graph: Graph, *, weights: bool = True, seed: int = 0, intermediates: bool = False
) -> Any:
    """The ``onnx.ModelProto`` of ``graph``. ``intermediates``: every layer's output is a graph
    output too (``verify --backend onnxruntime`` reads each layer's shape from them)."""
    onnx = _require_onnx()
    refuse_unsupported(graph, ONNX, REFUSED, "ONNX")
    helper, TP = onnx.helper, onnx.TensorProto
    w = _Writer(onnx)
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

    def vi(name: str, shape: tuple[int, ...], batch: bool = True) -> Any:
        dims: list[Any] = (["N"] if batch else []) + list(shape)
        return helper.make_tensor_value_info(name, TP.FLOAT, dims)

    inputs = [vi(k, s) for k, s in graph.inputs.items()]
    outputs = [vi(o, graph.shape_of(o)) for o in graph.outputs]
    if intermediates:
        outputs += [vi(n.name, n.out_shape) for n in graph.nodes if n.name not in graph.outputs]
    initializers = []
    tensors = [
        (f"{n.name}.{wt.name}", wt)
        for n in graph.nodes
        if n.share is None
        for wt in n.layer.weights()
    ]
    if weights:
        from ..backend.run import allocate_weights

        allocated = allocate_weights(graph, seed=seed).arrays
        for name, _ in tensors:
            layer, _, wname = name.rpartition(".")
            initializers.append(w.numpy_helper.from_array(allocated[layer][wname], name))
    else:
        inputs += [vi(name, wt.shape, batch=False) for name, wt in tensors]
    g = helper.make_graph(w.nodes, graph.name, inputs, outputs, initializers)
    model = helper.make_model(
        g,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="cnncalc",
        ir_version=IR_VERSION,
    )
    model.doc_string = f"{graph.name}: exported by cnncalc from {graph.file or 'a spec'}"
    return model


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
