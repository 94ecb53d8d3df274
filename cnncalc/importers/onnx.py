"""ONNX models, read with the ``onnx`` package (``pip install "cnncalc[onnx]"``): no torch, no
onnxruntime, and no weight data.

The file is parsed with its large tensors' data left out (:mod:`._protobuf`): only the
initializers' dims are read, and the values of the small ones (Reshape targets, Clip bounds).
A symbolic batch is fixed to 1 (cnncalc's ``--batch`` scales the counts); other symbolic sizes
must be given with ``--input`` (channels first, batch excluded). ONNX's shape inference (with
data propagation, which evaluates Shape→Gather→Concat→Reshape chains) then gives every tensor's
shape, and each node maps to cnncalc layers through :data:`ONNX_OPS`, the one table of this
format.

Conventions:

* **Tensors and the batch.** cnncalc shapes exclude the batch. With the batch fixed to 1, a
  tensor's leading 1 is dropped (rank ≥ 2); a tensor whose first axis is something else (an
  exporter's (tokens, batch·heads, d) inside attention) keeps all its axes. Either way the
  element count per sample is the same.
* **Parameters** are the float initializers a node uses as weights (Conv/Gemm/MatMul weights
  and biases, BatchNormalization's scale and bias, LayerNormalization's) and the float
  initializers used as operands (a class token, a position embedding); BatchNormalization's
  mean and variance are **buffers**. An initializer used by several nodes is counted once
  (the later users share it). Integer initializers (shapes, indices) and Constant nodes are
  not parameters. An exporter that merges initializers of equal value (a fresh model's zero
  biases) writes ``Identity`` nodes to hand each user its copy: each is counted as the
  parameter it was in the model.
* **Shape arithmetic** (Shape, Gather/Concat/Unsqueeze/… on shapes, Constant) makes no layer:
  a node makes layers only when one of its inputs is computed from the graph's input.
* Clip(0, 6) is ReLU6, Clip(0, ∞) ReLU; MatMul by a 2-D initializer (and an Add of a 1-D
  initializer right after it) is a linear layer; MatMul of two activations is ``matmul``
  (attention's Q·Kᵀ and A·V); Gemm is linear.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import CnncalcError
from ..export.onnx import BUFFER_DOC
from ._build import SpecBuilder, clean_name

__all__ = ["read_file", "read", "ONNX_OPS"]

_INT_TYPES = {2, 3, 4, 5, 6, 7, 9, 12, 13}  # uint8 int8 uint16 int16 int32 int64 bool uint32 64


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise CnncalcError(
            "reading ONNX files needs the onnx package",
            hint='pip install "cnncalc[onnx]" (torch and onnxruntime are not needed)',
        ) from None
    return onnx


def read_file(
    path: Path, input_shape: tuple[int, ...] | None = None, **options: Any
) -> dict[str, Any]:
    """The spec dict of an ONNX file (its weights' data is never read)."""
    onnx = _onnx()
    from ._protobuf import strip_weights

    data = strip_weights(path)
    try:
        model = onnx.load_from_string(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise CnncalcError(
            f"not a readable ONNX file ({type(exc).__name__})",
            file=str(path),
            hint="is the file complete? export it again with torch.onnx.export",
        ) from None
    if not model.graph.node:
        raise CnncalcError("the ONNX file has no graph nodes", file=str(path))
    return read(model, str(path), input_shape)


class _T:
    """What the reader knows of one ONNX tensor."""

    __slots__ = ("name", "shape", "data", "layer", "value", "sources", "dtype")

    def __init__(self, name: str, shape: tuple[int, ...] | None, dtype: int = 1) -> None:
        self.name = name
        self.shape = shape  # full ONNX shape (batch included, fixed to 1)
        self.data = False  # computed from the graph input
        self.layer: str | None = None  # cnncalc layer producing it (data tensors)
        self.value: Any = None  # small constant values (lists), when known
        self.sources: tuple[str, ...] = ()  # learned initializers it derives from
        self.dtype = dtype


def cshape(shape: tuple[int, ...]) -> list[int]:
    """cnncalc's shape of an ONNX tensor with batch 1: the leading 1 dropped (rank ≥ 2)."""
    return list(shape[1:]) if len(shape) >= 2 and shape[0] == 1 else list(shape)


def _scope(node: Any) -> tuple[str, str]:
    """(module path, op part) of a PyTorch exporter's node name: ``/layer1/layer1.0/conv1/Conv``
    → (``layer1.0.conv1``, ``Conv``): scopes repeat their parent's path, so the path is grown
    segment by segment."""
    parts = [p for p in (node.name or "").split("/") if p]
    if len(parts) < 2 or not node.name.startswith("/"):
        return "", ""
    *scopes, op = parts
    path = ""
    for seg in scopes:
        path = seg if not path or seg.startswith(path + ".") else f"{path}.{seg}"
    return path, op


def _readable(node: Any, scope_count: Counter[str]) -> str:
    """A node's layer name: its module path when it is the only node of its module
    (``layer1.0.conv1``), the path and the op otherwise (``….self_attention.MatMul_1``); the
    node's own name (or op and output) for other exporters."""
    path, op = _scope(node)
    if path:
        return clean_name(path if scope_count[path] == 1 else f"{path}.{op}")
    return clean_name(node.name or f"{node.op_type}_{node.output[0]}")


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class _Reader:
    def __init__(self, model: Any, file: str) -> None:
        self.model = model
        self.file = file
        self.b = SpecBuilder(file, "ONNX")
        self.t: dict[str, _T] = {}
        self.inits: dict[str, Any] = {}
        self.counted: dict[str, str] = {}  # learned initializer → the cnncalc layer counting it
        self.buffers: set[str] = set()  # initializers marked as buffers (cnncalc's export)
        self.consumers: Counter[str] = Counter()
        self.skip: set[int] = set()  # nodes folded into an earlier one
        self.names: dict[int, str] = {}  # node → its layer name
        self.scope_count: Counter[str] = Counter()  # module scope → nodes in it
        self.alias: dict[str, str] = {}  # output of a folded node → the tensor it equals
        self.follower: dict[str, tuple[int, Any]] = {}  # MatMul output → its only user, an Add
        self.users: dict[str, list[tuple[int, Any]]] = {}  # tensor → (index, node) of its users
        self.opset = 13
        for imp in model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                self.opset = imp.version

    # --- tensors ---
    def get(self, name: str) -> _T:
        if name not in self.t:
            raise CnncalcError(f"tensor '{name}' is used before it is produced")
        return self.t[name]

    def data_in(self, node: Any) -> list[_T]:
        return [self.t[i] for i in node.input if i and i in self.t and self.t[i].data]

    def shape(self, name: str, node: Any) -> tuple[int, ...]:
        s = self.get(name).shape
        if s is None:
            raise CnncalcError(
                f"node '{node.name or node.op_type}' ({node.op_type}): the shape of '{name}' "
                "is unknown after shape inference",
                hint="give --input with the input's full shape, or export with static shapes",
            )
        return s

    def operand(self, name: str, node: Any) -> str:
        """The cnncalc layer giving tensor ``name``: its producer, or a constant for it."""
        t = self.get(name)
        if t.data:
            assert t.layer is not None
            return t.layer
        if t.layer is not None:
            return t.layer
        shape = cshape(self.shape(name, node)) or [1]
        fresh = [s for s in t.sources if s not in self.counted]
        bufs = [s for s in fresh if s in self.buffers]
        params = [s for s in fresh if s not in self.buffers]
        if t.dtype in _INT_TYPES and not bufs:
            params = []
        before: list[str] = []
        if bufs and params:  # a table gathered by an index: the buffer part first, in the chain
            size = sum(math.prod(self.inits[s].dims) for s in bufs)
            args = {"shape": [size], "learned": "buffer"}
            before = [self.b.add("constant", args, name + "_buffer")]
            for s in bufs:
                self.counted[s] = before[0]
            fresh, bufs = params, []
        learned = "buffer" if bufs else "param" if params else "none"
        args: dict[str, Any] = {"shape": shape, "learned": learned}
        if learned != "none":
            size = sum(math.prod(self.inits[s].dims) for s in fresh)
            if size != math.prod(shape):
                args["weight_shape"] = [size]
        t.layer = self.b.add("constant", args, name, before or None)
        for s in fresh:
            self.counted[s] = t.layer
        return t.layer

    def weight(self, name: str, layer: str) -> str | None:
        """Count initializer ``name`` as the weight of ``layer``; the layer it shares with when
        another layer counted it first (a shared initializer is counted once)."""
        t = self.get(name)
        shared = [self.counted[s] for s in t.sources if s in self.counted]
        for s in t.sources:
            self.counted.setdefault(s, layer)
        return shared[0] if shared else None

    def const_value(self, name: str, node: Any) -> Any:
        t = self.get(name)
        if t.value is None:
            raise CnncalcError(
                f"node '{node.name or node.op_type}' ({node.op_type}): needs the value of "
                f"'{name}', which is not a small constant"
            )
        return t.value

    def node_name(self, node: Any) -> str:
        """The layer name of ``node`` (reserved once, so weights counted under it match)."""
        key = id(node)
        if key not in self.names:
            self.names[key] = self.b.unique(_readable(node, self.scope_count))
        return self.names[key]

    def emit(self, node: Any, type_name: str, args: dict | None, inputs: list[str],
             suffix: str = "", share_with: str | None = None) -> str:  # fmt: skip
        """Add a layer for ``node``; without ``suffix`` it produces the node's (first) output,
        with one it is an intermediate step (``_full``, ``_perm``, ``_slice``)."""
        if suffix:
            return self.b.add(type_name, args, self.node_name(node) + suffix, inputs,
                              share=share_with)  # fmt: skip
        layer = self.b.add(type_name, args, self.node_name(node), inputs, share=share_with,
                           reserved_name=True)  # fmt: skip
        if not suffix:
            out = self.t[node.output[0]]
            out.data, out.layer = True, layer
        return layer

    def set_out(self, node: Any, layer: str, index: int = 0) -> None:
        out = self.t[node.output[index]]
        out.data, out.layer = True, layer


# --- op handlers: (reader, node, attributes) → None (they emit layers and set outputs) -------

Handler = Callable[[_Reader, Any, dict], None]


def _spatial_args(r: _Reader, node: Any, a: dict, rank: int) -> dict[str, Any]:
    k = list(a.get("kernel_shape") or [])
    args: dict[str, Any] = {}
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        if auto == "SAME_LOWER":
            raise CnncalcError(f"node '{node.name}': auto_pad SAME_LOWER is not supported")
        args["padding"] = "same"
    elif auto == "VALID":
        args["padding"] = 0
    else:
        pads = list(a.get("pads") or [0] * (2 * rank))
        args["padding"] = [[pads[i], pads[i + rank]] for i in range(rank)]
    args["stride"] = list(a.get("strides") or [1] * rank)
    d = list(a.get("dilations") or [1] * rank)
    if any(x != 1 for x in d):
        args["dilation"] = d
    return {"kernel_size": k, **args} if k else args


def _conv(r: _Reader, node: Any, a: dict) -> None:
    w = r.get(node.input[1])
    if w.data:
        raise CnncalcError(f"node '{node.name}' (Conv): a weight computed at run time")
    wshape = r.shape(node.input[1], node)
    rank = len(wshape) - 2
    args = _spatial_args(r, node, {**a, "kernel_shape": a.get("kernel_shape") or wshape[2:]}, rank)
    args = {"out_channels": wshape[0], **args, "groups": a.get("group", 1)}
    args["bias"] = len(node.input) > 2 and bool(node.input[2])
    x = r.operand(node.input[0], node)
    name = r.node_name(node)
    share = r.weight(node.input[1], name)
    if args["bias"]:
        r.weight(node.input[2], name)
    r.emit(node, f"conv{rank}d", args, [x], share_with=share)


def _conv_transpose(r: _Reader, node: Any, a: dict) -> None:
    wshape = r.shape(node.input[1], node)
    rank = len(wshape) - 2
    g = a.get("group", 1)
    args = _spatial_args(r, node, {**a, "kernel_shape": a.get("kernel_shape") or wshape[2:]}, rank)
    if args.get("padding") == "same" or "output_shape" in a:
        raise CnncalcError(f"node '{node.name}' (ConvTranspose): give explicit pads")
    args = {"out_channels": wshape[1] * g, **args, "groups": g}
    if a.get("output_padding"):
        args["output_padding"] = list(a["output_padding"])
    args["bias"] = len(node.input) > 2 and bool(node.input[2])
    name = r.node_name(node)
    share = r.weight(node.input[1], name)
    if args["bias"]:
        r.weight(node.input[2], name)
    r.emit(node, f"conv_transpose{rank}d", args, [r.operand(node.input[0], node)], share_with=share)


def _linear(r: _Reader, node: Any, x: str, w_name: str, out: int, bias: str | None) -> None:
    name = r.node_name(node)
    share = r.weight(w_name, name)
    if bias:
        r.weight(bias, name)
    r.emit(node, "linear", {"out_features": out, "bias": bias is not None}, [x], share_with=share)


def _gemm(r: _Reader, node: Any, a: dict) -> None:
    if a.get("transA", 0):
        raise CnncalcError(f"node '{node.name}' (Gemm): transA=1 is not supported")
    b = r.get(node.input[1])
    if b.data:
        _matmul_data(r, node, a)
        return
    bshape = r.shape(node.input[1], node)
    out = bshape[0] if a.get("transB", 0) else bshape[1]
    bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
    _linear(r, node, r.operand(node.input[0], node), node.input[1], out, bias)


def _matmul(r: _Reader, node: Any, a: dict) -> None:
    b = r.get(node.input[1])
    bshape = r.shape(node.input[1], node)
    if b.data or len(bshape) != 2:
        _matmul_data(r, node, a)
        return
    bias = None
    follower = r.follower.get(node.output[0])
    if follower is not None:  # MatMul + Add(1-D initializer): a linear layer with bias
        idx, add = follower
        other = [i for i in add.input if i != node.output[0]]
        if len(other) == 1 and not r.get(other[0]).data:
            oshape = r.get(other[0]).shape
            if oshape is not None and list(oshape) == [bshape[1]] and r.get(other[0]).sources:
                bias = other[0]
                r.skip.add(idx)
                r.alias[add.output[0]] = node.output[0]
    _linear(r, node, r.operand(node.input[0], node), node.input[1], bshape[1], bias)


def _matmul_data(r: _Reader, node: Any, a: dict) -> None:
    """A product of two activations (attention): cnncalc's matmul on the batch-dropped shapes."""
    xs = [r.operand(i, node) for i in node.input[:2]]
    r.emit(node, "matmul", None, xs)


def _batchnorm(r: _Reader, node: Any, a: dict) -> None:
    xshape = r.shape(node.input[0], node)
    rank = len(xshape) - 2
    t = {0: "batchnorm1d", 1: "batchnorm1d", 2: "batchnorm2d", 3: "batchnorm3d"}[rank]
    name = r.node_name(node)
    share = None
    for i in node.input[1:5]:
        share = r.weight(i, name) or share
    args = {"eps": float(a.get("epsilon", 1e-5))}
    if rank == 2 and all(i in r.buffers for i in node.input[1:3]):
        t = "frozen_batchnorm2d"  # scale and bias marked as buffers: fixed affine terms
    else:  # a scale or bias that is a constant, not an initializer: not learned (Keras)
        for key, i in (("scale", node.input[1]), ("center", node.input[2])):
            if not r.get(i).sources:
                args[key] = False
    r.emit(node, t, args, [r.operand(node.input[0], node)], share_with=share)


def _groupnorm(r: _Reader, node: Any, a: dict) -> None:
    """GroupNormalization (opset 21: scale and bias per channel)."""
    name = r.node_name(node)
    share = None
    for i in node.input[1:3]:
        share = r.weight(i, name) or share
    args = {"num_groups": int(a["num_groups"]), "eps": float(a.get("epsilon", 1e-5))}
    r.emit(node, "groupnorm", args, [r.operand(node.input[0], node)], share_with=share)


def _recurrent(r: _Reader, node: Any, a: dict) -> None:
    """LSTM / GRU (one layer, one or both directions) → cnncalc's ``lstm`` / ``gru`` on the
    sequence (L, I), reshaped to ONNX's Y (L, D, N, H) for the nodes after it. W, R and B hold
    PyTorch's weight_ih, weight_hh and both biases: the same counts (the gate order differs,
    which counts do not see). GRU's ``linear_before_reset`` 0 or 1 costs the same MACs."""
    t = node.op_type.lower()
    if a.get("layout", 0):
        raise CnncalcError(f"node '{node.name}' ({node.op_type}): layout 1 is not supported")
    if len(node.input) > 7 and node.input[7]:
        raise CnncalcError(f"node '{node.name}' (LSTM): peephole weights are not supported")
    xs = r.shape(node.input[0], node)  # (L, N, I)
    if xs[1] != 1:
        raise CnncalcError(f"node '{node.name}' ({node.op_type}): expects a batch of 1")
    direction = a.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction == "reverse":
        raise CnncalcError(f"node '{node.name}' ({node.op_type}): direction reverse alone")
    bias = len(node.input) > 3 and bool(node.input[3])
    name = r.node_name(node)
    share = None
    for i in node.input[1 : 4 if bias else 3]:
        share = r.weight(i, f"{name}_{t}") or share
    seq = r.emit(
        node, "reshape", {"shape": [xs[0], xs[2]]}, [r.operand(node.input[0], node)], suffix="_seq"
    )
    args = {
        "hidden_size": int(a["hidden_size"]),
        "bias": bias,
        "bidirectional": direction == "bidirectional",
    }
    y = r.emit(node, t, args, [seq], suffix="_" + t, share_with=share)
    r.emit(node, "reshape", {"shape": cshape(r.shape(node.output[0], node))}, [y])


def _lrn(r: _Reader, node: Any, a: dict) -> None:
    """LRN: ONNX divides alpha by size, as PyTorch's LocalResponseNorm (and cnncalc's) do, so
    the arguments carry over unchanged."""
    args = {
        "size": int(a["size"]),
        "alpha": float(a.get("alpha", 1e-4)),
        "beta": float(a.get("beta", 0.75)),
        "k": float(a.get("bias", 1.0)),
    }
    r.emit(node, "local_response_norm", args, [r.operand(node.input[0], node)])


def _layernorm(r: _Reader, node: Any, a: dict) -> None:
    xshape = r.shape(node.input[0], node)
    axis = a.get("axis", -1) % len(xshape)
    name = r.node_name(node)
    share = r.weight(node.input[1], name)
    bias = len(node.input) > 2 and bool(node.input[2])
    if bias:
        r.weight(node.input[2], name)
    args = {
        "normalized_shape": list(xshape[axis:]),
        "eps": float(a.get("epsilon", 1e-5)),
        "bias": bias,
    }
    r.emit(node, "layernorm", args, [r.operand(node.input[0], node)], share_with=share)


def _act(type_name: str, **fixed: Any) -> Handler:
    def h(r: _Reader, node: Any, a: dict) -> None:
        args = dict(fixed)
        if type_name == "leaky_relu":
            args["negative_slope"] = float(a.get("alpha", 0.01))
        if type_name == "elu":
            args["alpha"] = float(a.get("alpha", 1.0))
        if type_name == "gelu" and a.get("approximate") in ("tanh", b"tanh"):
            args["approximate"] = "tanh"
        r.emit(node, type_name, args or None, [r.operand(node.input[0], node)])

    return h


def _clip(r: _Reader, node: Any, a: dict) -> None:
    if r.opset < 11:
        lo, hi = a.get("min"), a.get("max")
    else:
        lo = _scalar(r, node, 1)
        hi = _scalar(r, node, 2)
    x = r.operand(node.input[0], node)
    if lo == 0 and hi == 6:
        r.emit(node, "relu6", None, [x])
    elif lo == 0 and hi is None:
        r.emit(node, "relu", None, [x])
    else:
        r.emit(node, "elementwise", {"op": "clip"}, [x])


def _scalar(r: _Reader, node: Any, i: int) -> float | None:
    if len(node.input) <= i or not node.input[i]:
        return None
    v = r.const_value(node.input[i], node)
    while isinstance(v, list):
        v = v[0]
    return float(v)


def _pool(kind: str) -> Handler:
    def h(r: _Reader, node: Any, a: dict) -> None:
        rank = len(r.shape(node.input[0], node)) - 2
        args = _spatial_args(r, node, a, rank)
        if a.get("ceil_mode", 0):
            args["ceil_mode"] = True
        if kind == "avgpool":
            args["count_include_pad"] = bool(a.get("count_include_pad", 0))
            if "dilation" in args:
                raise CnncalcError(f"node '{node.name}' (AveragePool): dilations are not supported")
        r.emit(node, f"{kind}{rank}d", args, [r.operand(node.input[0], node)])

    return h


def _global(kind: str) -> Handler:
    def h(r: _Reader, node: Any, a: dict) -> None:
        r.emit(node, kind, {"keepdims": True}, [r.operand(node.input[0], node)])

    return h


def _merge(kind: str, op: str | None = None) -> Handler:
    def h(r: _Reader, node: Any, a: dict) -> None:
        xs = [r.operand(i, node) for i in node.input if i]
        args = {"op": op} if op else None
        r.emit(node, kind, args, xs)

    return h


def _unary(op: str) -> Handler:
    def h(r: _Reader, node: Any, a: dict) -> None:
        r.emit(node, "elementwise", {"op": op}, [r.operand(node.input[0], node)])

    return h


def _passthrough(r: _Reader, node: Any, a: dict) -> None:
    """Identity, Cast, Dropout at inference: the output is the input."""
    r.set_out(node, r.operand(node.input[0], node))


def _reshape(r: _Reader, node: Any, a: dict) -> None:
    """Reshape, Flatten, Squeeze, Unsqueeze: a reshape to the inferred output shape."""
    out = cshape(r.shape(node.output[0], node))
    r.emit(node, "reshape", {"shape": out or [1]}, [r.operand(node.input[0], node)])


def _transpose(r: _Reader, node: Any, a: dict) -> None:
    xs = r.shape(node.input[0], node)
    perm = list(a.get("perm") or reversed(range(len(xs))))
    x = r.operand(node.input[0], node)
    out = r.shape(node.output[0], node)
    if len(cshape(xs)) == len(xs) - 1 and len(cshape(out)) == len(out) - 1 and perm[0] == 0:
        r.emit(node, "permute", {"dims": [p - 1 for p in perm[1:]]}, [x])
        return
    if len(cshape(xs)) != len(xs):  # restore the leading 1, permute at full rank
        x = r.emit(node, "reshape", {"shape": list(xs)}, [x], suffix="_full")
    if len(cshape(out)) == len(out):  # the output keeps every axis: the permute is it
        r.emit(node, "permute", {"dims": perm}, [x])
        return
    y = r.emit(node, "permute", {"dims": perm}, [x], suffix="_perm")
    r.emit(node, "reshape", {"shape": cshape(out)}, [y])


def _axis_of(r: _Reader, node: Any, name: str, axis: int) -> int:
    """An ONNX axis of tensor ``name`` as cnncalc's axis (batch dropped when it was)."""
    full = r.shape(name, node)
    axis %= len(full)
    if len(cshape(full)) == len(full) - 1:
        if axis == 0:
            raise CnncalcError(f"node '{node.name}' ({node.op_type}): an op along the batch axis")
        return axis - 1
    return axis


def _concat(r: _Reader, node: Any, a: dict) -> None:
    out = node.output[0]
    axis = _axis_of(r, node, out, a["axis"])
    xs = [r.operand(i, node) for i in node.input]
    r.emit(node, "concat", {"axis": axis}, xs)


def _softmax(kind: str) -> Handler:
    def h(r: _Reader, node: Any, a: dict) -> None:
        default = -1 if r.opset >= 13 else 1
        axis = _axis_of(r, node, node.input[0], a.get("axis", default))
        r.emit(node, kind, {"axis": axis}, [r.operand(node.input[0], node)])

    return h


def _gather(r: _Reader, node: Any, a: dict) -> None:
    """Gather of one constant index on an activation (ViT's class token): a slice and a
    reshape. Of a tensor of indices (an index buffer, Swin v2's bias table at its relative
    position index; computed indices): cnncalc's ``gather``, the indices an operand."""
    axis = _axis_of(r, node, node.input[0], a.get("axis", 0))
    x = r.operand(node.input[0], node)
    t = r.get(node.input[1])
    idx = None if t.data else t.value
    if isinstance(idx, list) and len(idx) == 1 and not isinstance(idx[0], list):
        idx = idx[0]
    if idx is None or isinstance(idx, list):
        r.emit(node, "gather", {"axis": axis}, [x, r.operand(node.input[1], node)])
        return
    s = r.emit(
        node,
        "slice",
        {"axis": axis, "start": int(idx), "stop": int(idx) + 1 or None},
        [x],
        suffix="_slice",
    )
    r.emit(node, "reshape", {"shape": cshape(r.shape(node.output[0], node)) or [1]}, [s])


def _gather_nd(r: _Reader, node: Any, a: dict) -> None:
    """GatherND with batch_dims 1 and one index per position (cnncalc's per-sample
    ``gather`` along the first axis after the batch, as its ONNX export writes it): the
    index's last axis (of 1) dropped, then ``gather``."""
    ishape = r.shape(node.input[1], node)
    if a.get("batch_dims", 0) != 1 or ishape[-1] != 1 or len(ishape) < 3:
        raise CnncalcError(
            f"node '{node.name}' (GatherND): only batch_dims 1 with one index per position",
            hint="cnncalc reads GatherND as its export writes a per-sample gather",
        )
    i = r.emit(
        node,
        "reshape",
        {"shape": cshape(ishape[:-1])},
        [r.operand(node.input[1], node)],
        suffix="_index",
    )
    r.emit(node, "gather", {"axis": 0}, [r.operand(node.input[0], node), i])


def _reduce_l2(r: _Reader, node: Any, a: dict) -> None:
    """An L2 normalisation written out, x / max(ReduceL2(x), ε) (cnncalc's and Swin v2's
    export), x / Clip(ReduceL2(x), min=ε) or with an Expand before the divide (PyTorch's
    export of ``F.normalize``): one ``l2_normalize`` layer for the chain. A ReduceL2 used
    otherwise has no cnncalc layer (reported with the other unknown ops)."""
    x = node.input[0]
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = r.const_value(node.input[1], node)
    chain: list[tuple[int, Any]] = []
    eps, t = 0.0, node.output[0]
    while axes is not None and len(axes) == 1 and a.get("keepdims", 1):
        users = r.users.get(t, [])
        if len(users) != 1:
            break
        idx, u = users[0]
        other = 1 - list(u.input).index(t) if len(u.input) == 2 else -1  # Max's ε operand
        if u.op_type == "Max" and other >= 0 and not r.get(u.input[other]).data:
            eps = _scalar(r, u, other) or 0.0
        elif u.op_type == "Clip" and r.opset < 11 and "max" not in _attrs(u):
            eps = float(_attrs(u).get("min", 0.0))
        elif u.op_type == "Clip" and r.opset >= 11 and _scalar(r, u, 2) is None:
            eps = _scalar(r, u, 1) or 0.0
        elif u.op_type != "Expand" and not (u.op_type == "Div" and list(u.input) == [x, t]):
            break
        chain.append((idx, u))
        t = u.output[0]
        if u.op_type == "Div":
            args = {"axis": _axis_of(r, node, x, int(axes[0])), "eps": float(eps)}
            r.emit(node, "l2_normalize", args, [r.operand(x, node)])
            for k, follower in chain:
                r.skip.add(k)
                r.alias[follower.output[0]] = node.output[0]
            return
    r.b.unknown("ReduceL2 (other than x / max(ReduceL2(x), ε))", node.name or node.output[0])
    r.set_out(node, r.operand(x, node))


def _lp_normalization(r: _Reader, node: Any, a: dict) -> None:
    """LpNormalization with p 2: ``l2_normalize`` with ε 0 (ONNX's op divides by the norm as
    it is; cnncalc's export writes ReduceL2, Max, Div, for F.normalize's ε)."""
    if a.get("p", 2) != 2:
        r.b.unknown(f"LpNormalization p={a['p']}", node.name or node.output[0])
        r.set_out(node, r.operand(node.input[0], node))
        return
    axis = _axis_of(r, node, node.input[0], a.get("axis", -1))
    r.emit(node, "l2_normalize", {"axis": axis, "eps": 0.0}, [r.operand(node.input[0], node)])


def _learned_function_of_buffer(r: _Reader, node: Any) -> bool:
    """A MatMul or Gemm of a table derived from a buffer by a learned weight (Swin v2's bias
    MLP on its ``relative_coords_table``), though no input comes from the graph's input: it
    is computed, its MACs counted as the spec counts them, not folded into a constant (a
    constant matrix times a parameter, MViT's fixed interpolation of its tables, still is)."""
    if node.op_type not in ("MatMul", "Gemm") or len(node.input) < 2:
        return False
    a, b = r.t.get(node.input[0]), r.t.get(node.input[1])
    return (
        a is not None
        and b is not None
        and a.dtype not in _INT_TYPES
        and any(s in r.buffers for s in a.sources)
        and any(s not in r.buffers for s in b.sources)
    )


def _slice(r: _Reader, node: Any, a: dict) -> None:
    if r.opset < 10:
        starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes"), None
    else:
        starts = r.const_value(node.input[1], node)
        ends = r.const_value(node.input[2], node)
        axes = r.const_value(node.input[3], node) if len(node.input) > 3 and node.input[3] else None
        steps = (
            r.const_value(node.input[4], node) if len(node.input) > 4 and node.input[4] else None
        )
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    x = r.operand(node.input[0], node)
    big = 2**62
    for k, (s, e, ax, st) in enumerate(zip(starts, ends, axes, steps, strict=True)):
        if st < 1:
            raise CnncalcError(f"node '{node.name}' (Slice): negative steps are not supported")
        args = {
            "axis": _axis_of(r, node, node.input[0], ax),
            "start": int(s),
            "stop": None if e >= big else int(e),
            "step": int(st),
        }
        last = k == len(starts) - 1
        x = r.emit(node, "slice", args, [x], suffix="" if last else f"_{k}")


def _split(r: _Reader, node: Any, a: dict) -> None:
    """Split: one slice per output (each output is a layer of its own)."""
    full = r.shape(node.input[0], node)
    axis_onnx = a.get("axis", 0) % len(full)
    axis = _axis_of(r, node, node.input[0], axis_onnx)
    x = r.operand(node.input[0], node)
    start = 0
    for k, out in enumerate(node.output):
        n = r.shape(out, node)[axis_onnx]
        args = {"axis": axis, "start": start, "stop": start + n}
        layer = r.b.add("slice", args, r.node_name(node) + f"_{k}", [x])
        r.set_out(node, layer, k)
        start += n


def _pad(r: _Reader, node: Any, a: dict) -> None:
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = a.get("pads") if r.opset < 11 else r.const_value(node.input[1], node)
    full = r.shape(node.input[0], node)
    n = len(full)
    if len(node.input) > 3 and node.input[3]:  # pads given for some axes only
        axes = [int(x) % n for x in r.const_value(node.input[3], node)]
        k = len(axes)
        every = [0] * (2 * n)
        for j, ax in enumerate(axes):
            every[ax], every[ax + n] = pads[j], pads[j + k]
        pads = every
    pairs = [[int(pads[i]), int(pads[i + n])] for i in range(n)]
    x = r.operand(node.input[0], node)
    if mode != "constant" or pairs[0] != [0, 0] or not 3 <= n <= 5:
        raise CnncalcError(f"node '{node.name}' (Pad): only zero padding of spatial axes")
    if pairs[1] == [0, 0]:  # channels first: the spatial axes after them
        r.emit(node, f"zero_pad{n - 2}d", {"padding": pairs[2:]}, [x])
        return
    if pairs[-1] != [0, 0]:
        raise CnncalcError(f"node '{node.name}' (Pad): pads both the first and the last axis")
    # channels last (Swin's windows): the channels moved first, padded, moved back
    last = n - 2  # cnncalc's channel axis
    first = r.emit(node, "permute", {"dims": [last, *range(last)]}, [x], suffix="_cf")
    y = r.emit(node, f"zero_pad{n - 2}d", {"padding": pairs[1:-1]}, [first], suffix="_pad")
    r.emit(node, "permute", {"dims": [*range(1, last + 1), 0]}, [y])


def _resize(r: _Reader, node: Any, a: dict) -> None:
    mode = a.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    out = r.shape(node.output[0], node)
    rank = len(out) - 2
    mode = {"linear": {1: "linear", 2: "bilinear", 3: "trilinear"}[rank], "cubic": "bicubic"}.get(
        mode, mode
    )
    args = {"size": list(out[2:]), "mode": mode}
    r.emit(node, "upsample", args, [r.operand(node.input[0], node)])


def _reduce_mean(r: _Reader, node: Any, a: dict) -> None:
    full = r.shape(node.input[0], node)
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = r.const_value(node.input[1], node)
    axes = sorted(x % len(full) for x in (axes or []))
    if axes != list(range(2, len(full))):
        raise CnncalcError(f"node '{node.name}' (ReduceMean): only over all spatial axes")
    keep = bool(a.get("keepdims", 1))
    r.emit(node, "global_avg_pool", {"keepdims": keep}, [r.operand(node.input[0], node)])


#: ONNX op → handler: the one mapping of this format (ops not here are reported together).
ONNX_OPS: dict[str, Handler] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "BatchNormalization": _batchnorm,
    "LayerNormalization": _layernorm,
    "GroupNormalization": _groupnorm,
    "LRN": _lrn,
    "LSTM": _recurrent,
    "GRU": _recurrent,
    "Relu": _act("relu"),
    "LeakyRelu": _act("leaky_relu"),
    "Elu": _act("elu"),
    "Sigmoid": _act("sigmoid"),
    "Tanh": _act("tanh"),
    "HardSigmoid": _act("hardsigmoid"),
    "HardSwish": _act("hardswish"),
    "Gelu": _act("gelu"),
    "Mish": _act("mish"),
    "Clip": _clip,
    "Softmax": _softmax("softmax"),
    "LogSoftmax": _softmax("log_softmax"),
    "MaxPool": _pool("maxpool"),
    "AveragePool": _pool("avgpool"),
    "GlobalAveragePool": _global("global_avg_pool"),
    "GlobalMaxPool": _global("global_max_pool"),
    "ReduceMean": _reduce_mean,
    "Add": _merge("add"),
    "Mul": _merge("multiply"),
    "Sub": _merge("elementwise", "sub"),
    "Div": _merge("elementwise", "div"),
    "Pow": _merge("elementwise", "pow"),
    "Max": _merge("elementwise", "max"),
    "Min": _merge("elementwise", "min"),
    "Where": _merge("elementwise", "where"),
    "Equal": _merge("elementwise", "equal"),
    "Erf": _unary("erf"),
    "Sqrt": _unary("sqrt"),
    "Exp": _unary("exp"),
    "Log": _unary("log"),
    "Neg": _unary("neg"),
    "Abs": _unary("abs"),
    "Reciprocal": _unary("reciprocal"),
    "Sin": _unary("sin"),
    "Cos": _unary("cos"),
    "Floor": _unary("floor"),
    "Ceil": _unary("ceil"),
    "Round": _unary("round"),
    "Sign": _unary("sign"),
    "Not": _unary("not"),
    "Less": _merge("elementwise", "less"),
    "Greater": _merge("elementwise", "greater"),
    "Mod": _merge("elementwise", "mod"),
    "Identity": _passthrough,
    "Cast": _passthrough,
    "Dropout": _passthrough,
    "Reshape": _reshape,
    "Flatten": _reshape,
    "Squeeze": _reshape,
    "Unsqueeze": _reshape,
    "Transpose": _transpose,
    "Concat": _concat,
    "Gather": _gather,
    "GatherND": _gather_nd,
    "ReduceL2": _reduce_l2,
    "LpNormalization": _lp_normalization,
    "Slice": _slice,
    "Split": _split,
    "Pad": _pad,
    "Resize": _resize,
    "Upsample": _resize,
}


def read(model: Any, file: str, input_shape: tuple[int, ...] | None = None) -> dict[str, Any]:
    """The spec dict of a loaded ONNX model (a ModelProto without large weights' data)."""
    _onnx()
    from onnx import numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    real_inputs = [i for i in graph.input if i.name not in inits]
    if not real_inputs:
        raise CnncalcError("the ONNX graph has no input", file=file)
    # fix the batch to 1 and symbolic sizes from --input
    shapes: dict[str, list[int]] = {}
    for k, inp in enumerate(real_inputs):
        dims = inp.type.tensor_type.shape.dim
        full: list[Any] = [
            d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in dims
        ]
        if k == 0 and input_shape is not None:
            if len(input_shape) != len(full) - 1:
                raise CnncalcError(
                    f"--input {'x'.join(map(str, input_shape))} has {len(input_shape)} axes; "
                    f"input '{inp.name}' has {len(full) - 1} besides the batch "
                    f"(shape {full})",
                    file=file,
                )
            full = [full[0], *input_shape]
        if full and not isinstance(full[0], int) or (full and full[0] == 0):
            full[0] = 1
        sym = [d for d in full[1:] if not isinstance(d, int) or d <= 0]
        if sym:
            raise CnncalcError(
                f"input '{inp.name}' has symbolic sizes {full} ({', '.join(map(str, sym))})",
                file=file,
                hint="fix them with --input, e.g. --input 3x224x224 (channels first, batch excluded)",
            )
        for d, v in zip(dims, full, strict=True):
            d.ClearField("dim_param")
            d.dim_value = int(v)
        shapes[inp.name] = full
    inferred = resolve_shapes(model, file)
    g = inferred.graph
    inits = {i.name: i for i in g.initializer}

    r = _Reader(model, file)
    r.inits = inits

    def info_shape(vi: Any) -> tuple[tuple[int, ...] | None, int]:
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            return None, tt.elem_type
        dims = tt.shape.dim
        if any(not d.HasField("dim_value") for d in dims):
            return None, tt.elem_type
        return tuple(d.dim_value for d in dims), tt.elem_type

    for vi in [*g.value_info, *g.output, *g.input]:
        s, dt = info_shape(vi)
        r.t[vi.name] = _T(vi.name, s, dt)
    for name, init in inits.items():
        t = _T(name, tuple(init.dims), init.data_type)
        if math.prod(init.dims) <= 64 and (init.raw_data or _has_data(init)):
            t.value = numpy_helper.to_array(init).tolist()
        if init.doc_string.startswith(BUFFER_DOC):
            r.buffers.add(name)
        if init.data_type not in _INT_TYPES or name in r.buffers:
            t.sources = (name,)
        r.t[name] = t
    for inp in real_inputs:
        t = r.t[inp.name]
        t.data = True
        t.layer = "input" if inp is real_inputs[0] else clean_name(inp.name)
    for node in g.node:  # how many layer-making nodes share a module scope
        path, _ = _scope(node)
        if path and node.op_type in ONNX_OPS and node.op_type not in ("Identity", "Cast"):
            r.scope_count[path] += 1
    # consumers, for MatMul + Add fusion
    users: dict[str, list[tuple[int, Any]]] = {}
    for idx, node in enumerate(g.node):
        for i in node.input:
            users.setdefault(i, []).append((idx, node))
    r.users = users
    for node in g.node:  # constants first: a handler may read one its node comes before (ε)
        if node.op_type == "Constant" and node.output[0] not in r.t:
            r.t[node.output[0]] = _T(node.output[0], None)
        if node.op_type == "Constant":
            _constant(r, node, _attrs(node), numpy_helper)
    for node in g.node:
        if node.op_type == "MatMul":
            u = users.get(node.output[0], [])
            if len(u) == 1 and u[0][1].op_type == "Add":
                r.follower[node.output[0]] = u[0]

    for idx, node in enumerate(g.node):
        for o in node.output:
            if o and o not in r.t:
                r.t[o] = _T(o, None)
        if idx in r.skip:
            src = r.alias.get(node.output[0])
            if src is not None:
                r.set_out(node, r.t[src].layer)  # type: ignore[arg-type]
            continue
        if node.domain not in ("", "ai.onnx"):
            r.b.unknown(f"{node.domain}.{node.op_type}", node.name or node.output[0])
            continue
        data = r.data_in(node)
        a = _attrs(node)
        if not data and not _learned_function_of_buffer(r, node):
            _constant(r, node, a, numpy_helper)  # shape arithmetic or a constant: no layer
            continue
        if node.op_type in ("Shape", "Size"):
            _constant(r, node, a, numpy_helper)
            continue
        handler = ONNX_OPS.get(node.op_type)
        if handler is None:
            r.b.unknown(node.op_type, node.name or node.output[0])
            for o in node.output:  # keep going, to list every unknown op at once
                if o:
                    r.t[o].data, r.t[o].layer = True, data[0].layer
            continue
        handler(r, node, a)
    r.b.check_unknown("op", hint="cnncalc maps the ops in docs/importers.md; export with "
                       "opset ≥ 13 and without custom ops")  # fmt: skip
    outs = []
    for o in graph.output:
        t = r.t.get(o.name)
        if t is not None and not t.data and t.shape is not None:
            outs.append(r.operand(o.name, o))  # a tensor not computed from the input
            continue
        if t is None or not t.data or t.layer is None:
            continue
        outs.append(t.layer)
    in_shape = shapes[real_inputs[0].name]
    inputs = {"input": cshape(tuple(in_shape)) if len(in_shape) >= 2 else in_shape}
    for inp in real_inputs[1:]:
        inputs[clean_name(inp.name)] = cshape(tuple(shapes[inp.name]))
    name = graph.name if graph.name and graph.name not in ("main_graph", "torch_jit") else ""
    return r.b.spec(
        name or Path(file).stem,
        inputs,
        list(dict.fromkeys(outs)),
        source=f"ONNX model (opset {r.opset}) read from {Path(file).name} by cnncalc",
    )


def _has_data(init: Any) -> bool:
    return bool(init.float_data or init.int64_data or init.int32_data or init.double_data)


def _constant(r: _Reader, node: Any, a: dict, numpy_helper: Any) -> None:
    """A node of shape arithmetic or constants: outputs are constants (values when small,
    learned sources carried along, e.g. an Expand of a class token)."""
    op = node.op_type
    srcs: tuple[str, ...] = ()
    for i in node.input:
        if i and i in r.t and op not in ("Shape", "Size"):
            srcs += r.t[i].sources
    if op == "Identity" and len(node.input) == 1 and node.input[0] in r.inits:
        # the exporter's copy of a merged initializer: the parameter it was in the model
        srcs = (node.output[0],)
        r.inits[node.output[0]] = r.inits[node.input[0]]
    for o in node.output:
        if not o:
            continue
        t = r.t[o]
        t.sources = tuple(dict.fromkeys(srcs))
        if t.shape is None and op == "Identity" and node.input[0] in r.t:
            t.shape = r.t[node.input[0]].shape
        if op == "Constant" and "value" in a:
            arr = numpy_helper.to_array(a["value"])
            t.value = arr.tolist() if arr.size <= 64 else None
            t.shape = t.shape or tuple(arr.shape)
            t.dtype = a["value"].data_type
        elif op in ("Identity", "Cast") and node.input[0] in r.t:
            t.value = r.t[node.input[0]].value
            if op == "Identity":
                t.dtype = r.t[node.input[0]].dtype
    # values of shape arithmetic come from ONNX's data propagation where it ran


# --- shape arithmetic ------------------------------------------------------------------------
# ONNX's data propagation stops at ops like Div and Cast on shapes (an exporter's
# ``H // patch``); cnncalc evaluates such small integer computations itself, writes their
# results in as initializers and runs shape inference again, until every shape is known.


def _np_eval(op: str, xs: list[Any], a: dict, np: Any) -> list[Any] | None:
    """Outputs of a shape-arithmetic node from its inputs' values (NumPy arrays), or None."""
    if op == "Shape":
        s = xs[0]
        return [np.array(s[a.get("start", 0) : a.get("end", len(s))], dtype=np.int64)]
    if op == "Size":
        return [np.array(int(np.prod(xs[0])), dtype=np.int64)]
    if op == "Gather":
        return [np.take(xs[0], xs[1].astype(np.int64), axis=a.get("axis", 0))]
    if op == "Unsqueeze":
        axes = a.get("axes", xs[1].tolist() if len(xs) > 1 else [])
        y = xs[0]
        for ax in sorted(x % (y.ndim + len(axes)) for x in axes):
            y = np.expand_dims(y, ax)
        return [y]
    if op == "Squeeze":
        axes = a.get("axes", xs[1].tolist() if len(xs) > 1 else None)
        return [np.squeeze(xs[0], axis=tuple(axes) if axes is not None else None)]
    if op == "Concat":
        return [np.concatenate([np.atleast_1d(x) for x in xs], axis=a.get("axis", 0))]
    if op in ("Cast", "Identity"):
        to = a.get("to")
        ints = {6: np.int32, 7: np.int64, 1: np.float32, 11: np.float64, 9: np.bool_}
        return [xs[0].astype(ints[to]) if to in ints else xs[0]]
    binary = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Equal": np.equal,
              "Less": np.less, "Greater": np.greater, "Max": np.maximum, "Min": np.minimum,
              "Pow": np.power}  # fmt: skip
    if op in binary:
        return [binary[op](xs[0], xs[1])]
    if op == "Div":
        if np.issubdtype(xs[0].dtype, np.integer):
            return [np.trunc(xs[0] / xs[1]).astype(xs[0].dtype)]
        return [xs[0] / xs[1]]
    if op == "Mod":
        return [np.fmod(xs[0], xs[1]) if a.get("fmod") else np.mod(xs[0], xs[1])]
    unary = {"Neg": np.negative, "Abs": np.abs, "Sqrt": np.sqrt, "Floor": np.floor,
             "Ceil": np.ceil, "Not": np.logical_not}  # fmt: skip
    if op in unary:
        return [unary[op](xs[0])]
    if op == "Where":
        return [np.where(xs[0], xs[1], xs[2])]
    if op == "Slice":
        starts, ends = xs[1], xs[2]
        axes = xs[3] if len(xs) > 3 and xs[3] is not None else range(len(starts))
        steps = xs[4] if len(xs) > 4 and xs[4] is not None else [1] * len(starts)
        ix = [slice(None)] * xs[0].ndim
        for s, e, ax, st in zip(starts, ends, axes, steps, strict=False):
            ix[int(ax)] = slice(int(s), int(e), int(st))
        return [xs[0][tuple(ix)]]
    if op == "ConstantOfShape":
        v = a.get("value")
        from onnx import numpy_helper

        fill = numpy_helper.to_array(v) if v is not None else np.zeros(1, np.float32)
        if int(np.prod(xs[0])) > 4096:
            return None
        return [np.full(xs[0].astype(np.int64), fill.reshape(-1)[0], dtype=fill.dtype)]
    if op == "Range":
        return [np.arange(xs[0], xs[1], xs[2])]
    if op == "ReduceProd":
        return [np.array(np.prod(xs[0]), dtype=xs[0].dtype)]
    if op == "Reshape":
        return [xs[0].reshape([int(d) if d != 0 else xs[0].shape[i] for i, d in enumerate(xs[1])])]
    return None


#: inputs that carry shapes or indices: replaced by the computed value when ONNX's inference
#: could not propagate it
_SHAPE_INPUTS = {"Reshape": (1,), "Expand": (1,), "Tile": (1,), "ConstantOfShape": (0,),
                 "Slice": (1, 2, 3, 4), "Resize": (1, 2, 3), "Upsample": (1,), "Pad": (1, 2),
                 "Range": (0, 1, 2), "Unsqueeze": (1,), "Squeeze": (1,), "Gather": (1,),
                 "Split": (1,), "ReduceMean": (1,), "Clip": (1, 2)}  # fmt: skip


def resolve_shapes(model: Any, file: str) -> Any:
    """Shape-infer ``model`` (inputs already static), evaluating shape arithmetic that ONNX's
    data propagation leaves unknown; returns the inferred model."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    init_names = {i.name for i in graph.initializer}
    small = {
        i.name: numpy_helper.to_array(i)
        for i in graph.initializer
        if i.data_type in _INT_TYPES and math.prod(i.dims) <= 64
    }
    _type_group_norms(model, onnx)
    for _ in range(256):
        try:
            inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
        except Exception as exc:
            msg = " ".join(str(exc).split())[:300]
            raise CnncalcError(
                f"ONNX shape inference failed: {msg}",
                file=file,
                hint="with --input: the model may fix a size (a position embedding, a reshape)",
            ) from None
        shapes: dict[str, tuple[int, ...]] = {}
        for vi in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
            tt = vi.type.tensor_type
            if tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim):
                shapes[vi.name] = tuple(d.dim_value for d in tt.shape.dim)
        values: dict[str, Any] = dict(small)
        changed = False
        for node in graph.node:
            a = _attrs(node)
            if node.op_type == "Constant" and "value" in a:
                arr = numpy_helper.to_array(a["value"])
                if arr.size <= 4096:
                    values[node.output[0]] = arr
                continue
            if node.op_type in ("Shape", "Size"):
                if node.input[0] in shapes:
                    out = _np_eval(node.op_type, [np.array(shapes[node.input[0]])], a, np)
                    values[node.output[0]] = out[0] if out else None
                continue
            if all((not i) or i in values for i in node.input) and node.input:
                xs = [values[i] if i else None for i in node.input]
                try:
                    with np.errstate(all="ignore"):
                        out = _np_eval(node.op_type, xs, a, np)
                except (ValueError, TypeError, IndexError, KeyError):
                    out = None
                if out is not None:
                    for o, v in zip(node.output, out, strict=False):
                        if v is not None and np.size(v) <= 4096:
                            values[o] = np.asarray(v)
            for k in _SHAPE_INPUTS.get(node.op_type, ()):
                if k < len(node.input) and node.input[k] and node.input[k] not in init_names:
                    name = node.input[k]
                    if name in values and node.output[0] not in shapes:
                        new = f"{name}__cnncalc_value"
                        if new not in init_names:
                            graph.initializer.append(numpy_helper.from_array(values[name], new))
                            init_names.add(new)
                        node.input[k] = new
                        changed = True
        if not changed:
            return inferred
    return inferred


def _type_group_norms(model: Any, onnx: Any) -> None:
    """Give each GroupNormalization output its input's type and shape (``value_info``): ONNX's
    shape inference has no rule for the opset-21 function op before onnx PR #8356 (issue #7157:
    the output's type stays unknown and strict inference fails at its first user)."""
    graph = model.graph
    norms = [n for n in graph.node if n.op_type == "GroupNormalization"]
    typed = {vi.name for vi in graph.value_info}
    while norms:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
        known = {vi.name: vi for vi in [*inferred.graph.value_info, *inferred.graph.input]}
        left = []
        for n in norms:
            src = known.get(n.input[0])
            if n.output[0] in typed:
                continue
            if src is None or not src.type.tensor_type.HasField("shape"):
                left.append(n)
                continue
            vi = graph.value_info.add()
            vi.CopyFrom(src)
            vi.name = n.output[0]
            typed.add(vi.name)
        if len(left) == len(norms):
            return
        norms = left
