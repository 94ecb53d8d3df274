"""Graph → readable PyTorch source: one ``nn.Module`` class per block, the spec's names as paths.

The written file depends on torch only. Its structure follows the spec:

* every layer is a submodule named as in the spec (``layer3.5.conv2``), so ``state_dict()`` keys
  are the spec's names plus the tensor names (``layer3.5.conv2.weight``); operations torch has no
  module for (add, concat, permute, …) are small helper modules written into the file, so forward
  hooks see every layer;
* a block becomes a class whose constructor takes the block's parameters (``planes``,
  ``stride``, …) and ``in_channels``: a layer argument that differs between the block's uses
  is written as the parameter whose value it equals in every use; layers skipped by ``when``
  are optional members guarded by the boolean parameter that decides them. Uses that do not
  fit one class (different wiring) get a class each (``Bottleneck``, ``Bottleneck2``);
* a block of layers named ``0``, ``1``, … in a chain is an ``nn.Sequential`` subclass (keys
  ``downsample.0.weight`` as torchvision writes them); ``repeat`` is an ``nn.Sequential`` of
  its instances, identical instances written as one generator;
* dotted names (``features.0``) are containers: an ``nn.Sequential`` when they form a chain
  nothing else reads into, else (and always inside a block, so its sizes are parameters) a
  class written as a block's, whose ``forward`` runs the sub-graph; a block or such a class
  whose inner layers are read from outside returns them after its output, a tuple the caller
  unpacks, as it unpacks the pieces of a ``split``/``chunk``;
* a namespace that is no unit (its layers interleave with others, as an FPN's groups, or its
  members are parallel modules) is a holder, ``nn.ModuleList``/``nn.ModuleDict``, whose
  members the enclosing forward calls one by one in the graph's order; a namespace of
  applications of one module (``share``) is that module, called at each place;
* ``forward`` follows the graph, one line per layer; train-only layers that do not lead to an
  output (auxiliary heads) are built (their weights are in the state dict) but not run; a
  layer that runs in eval mode but feeds no output (an R-CNN's RPN head) is called, unnamed;
* ``roi_align`` is a ``RoIAlign`` class in plain torch (torchvision's sampling and FPN level
  mapping, the spec's fixed default boxes unless ``forward`` is given ``boxes``); a conv3d of
  depth 1 over its RoI axis is a ``Conv2d`` run on the RoIs as a batch (``RoIConv2d``, with
  torchvision's 2-D weights);
* ``build(**variables)`` at the end returns the model; it takes the spec variables that are
  used directly as top-level layer arguments (``num_classes``); every other value was fixed
  when the file was written (export again with ``--set``).

The table :data:`PYTORCH` maps each layer type to its writer; :data:`REFUSED` lists the types
with no PyTorch form and why.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import CnncalcError
from ..graph import BlockCall, Graph, Node
from ..layers.base import Layer
from . import for_class, refuse_unsupported

__all__ = ["PYTORCH", "REFUSED", "HELPERS", "to_pytorch", "Form", "module_calls"]


@dataclass
class Form:
    """A layer's PyTorch form: a constructor ``ctor(*args)`` and optional helper classes."""

    ctor: str
    #: (keyword or None for positional, Python value)
    args: list[tuple[str | None, Any]] = field(default_factory=list)
    #: helper classes (names in :data:`HELPERS`) the constructor needs
    helpers: tuple[str, ...] = ()


class Unsupported(Exception):
    """A layer whose arguments have no PyTorch form (asymmetric padding of a transposed conv)."""


def _one(t: tuple[int, ...]) -> Any:
    """(3, 3) → 3; (1, 7) stays a tuple."""
    return t[0] if len(set(t)) == 1 else tuple(t)


def _rank(layer: Layer) -> int:
    return len(layer.in_shapes[0]) - 1


def _torch_dim(axis: int) -> int:
    """A cnncalc axis (no batch) as a torch dim (batch first): 0 → 1, −1 stays −1."""
    return axis + 1 if axis >= 0 else axis


def _pads(layer: Any) -> tuple[Any, tuple[int, ...] | None]:
    """(symmetric padding or 0, F.pad tuple for asymmetric padding or None)."""
    pads = layer.pads
    if all(lo == hi for lo, hi in pads):
        return _one(tuple(lo for lo, _ in pads)), None
    flat: list[int] = []
    for lo, hi in reversed(pads):  # F.pad lists the last axis first
        flat += [lo, hi]
    return 0, tuple(flat)


def _conv_head(layer: Any, pad: Any) -> list[tuple[str | None, Any]]:
    """in, out, kernel, then stride and padding where not the defaults: both conv kinds."""
    args: list[tuple[str | None, Any]] = [
        (None, layer.cin),
        (None, layer.args["out_channels"]),
        (None, _one(layer.k)),
    ]
    if set(layer.s) != {1}:
        args.append(("stride", _one(layer.s)))
    if pad:
        args.append(("padding", pad))
    return args


def _conv(layer: Any) -> Form:
    a, r = layer.args, _rank(layer)
    pad, pre = _pads(layer)
    args = _conv_head(layer, pad)
    if set(layer.d) != {1}:
        args.append(("dilation", _one(layer.d)))
    if a["groups"] != 1:
        args.append(("groups", a["groups"]))
    if not a["bias"]:
        args.append(("bias", False))
    if pre is not None:
        return Form(f"PaddedConv{r}d", [*args, ("pad", pre)], (f"PaddedConv{r}d",))
    return Form(f"nn.Conv{r}d", args)


def _conv_transpose(layer: Any) -> Form:
    a, r = layer.args, _rank(layer)
    pad, pre = _pads(layer)
    if pre is not None:
        raise Unsupported("asymmetric padding of a transposed conv")
    args = _conv_head(layer, pad)
    if set(layer.op) != {0}:
        args.append(("output_padding", _one(layer.op)))
    if a["groups"] != 1:
        args.append(("groups", a["groups"]))
    if not a["bias"]:
        args.append(("bias", False))
    if set(layer.d) != {1}:
        args.append(("dilation", _one(layer.d)))
    return Form(f"nn.ConvTranspose{r}d", args)


def _linear(layer: Any) -> Form:
    args: list[tuple[str | None, Any]] = [(None, layer.fin), (None, layer.args["out_features"])]
    if not layer.args["bias"]:
        args.append(("bias", False))
    return Form("nn.Linear", args)


def _batchnorm(layer: Any) -> Form:
    a = layer.args
    r = max(1, _rank(layer))
    if r > 3:
        raise Unsupported(f"batch norm on a {r + 1}-D input")
    args: list[tuple[str | None, Any]] = [(None, layer.in_shapes[0][0])]
    if a["affine"] and not (a["scale"] and a["center"]):  # Keras's scale/center false
        if a["eps"] != 1e-5:
            args.append(("eps", a["eps"]))
        args += [("scale", a["scale"]), ("center", a["center"])]
        return Form(f"PartialBatchNorm{r}d", args, (f"PartialBatchNorm{r}d",))
    if a["eps"] != 1e-5:
        args.append(("eps", a["eps"]))
    if a["momentum"] != 0.1:
        args.append(("momentum", a["momentum"]))
    if not a["affine"]:
        args.append(("affine", False))
    if not a["track_running_stats"]:
        args.append(("track_running_stats", False))
    return Form(f"nn.BatchNorm{r}d", args)


def _frozen_batchnorm(layer: Any) -> Form:
    args: list[tuple[str | None, Any]] = [(None, layer.in_shapes[0][0])]
    if layer.args["eps"] != 1e-5:
        args.append(("eps", layer.args["eps"]))
    return Form("FrozenBatchNorm2d", args, ("FrozenBatchNorm2d",))


def _layernorm(layer: Any) -> Form:
    a = layer.args
    if getattr(layer, "ax", None) is not None:  # one inner axis (layernorm2d: the channels)
        args: list[tuple[str | None, Any]] = [
            (None, layer.in_shapes[0][layer.ax]),
            ("dim", _torch_dim(layer.ax)),
        ]
        if a["eps"] != 1e-5:
            args.append(("eps", a["eps"]))
        if not a["elementwise_affine"]:
            args.append(("affine", False))
        elif not a["bias"]:
            args.append(("bias", False))
        return Form("AxisLayerNorm", args, ("AxisLayerNorm",))
    ns = layer.norm_shape
    args: list[tuple[str | None, Any]] = [(None, ns[0] if len(ns) == 1 else tuple(ns))]
    if a["eps"] != 1e-5:
        args.append(("eps", a["eps"]))
    if not a["elementwise_affine"]:
        args.append(("elementwise_affine", False))
    elif not a["bias"]:
        args.append(("bias", False))
    return Form("nn.LayerNorm", args)


def _groupnorm(layer: Any) -> Form:
    a = layer.args
    args: list[tuple[str | None, Any]] = [(None, a["num_groups"]), (None, layer.in_shapes[0][0])]
    if a["eps"] != 1e-5:
        args.append(("eps", a["eps"]))
    if not a["affine"]:
        args.append(("affine", False))
    return Form("nn.GroupNorm", args)


def _lrn(layer: Any) -> Form:
    a = layer.args
    return Form(
        "nn.LocalResponseNorm",
        [(None, a["size"]), ("alpha", a["alpha"]), ("beta", a["beta"]), ("k", a["k"])],
    )


_ACTIVATIONS = {
    "relu": "nn.ReLU",
    "relu6": "nn.ReLU6",
    "sigmoid": "nn.Sigmoid",
    "tanh": "nn.Tanh",
    "silu": "nn.SiLU",
    "swish": "nn.SiLU",
    "hardsigmoid": "nn.Hardsigmoid",
    "hardswish": "nn.Hardswish",
    "mish": "nn.Mish",
}


def _activation(layer: Any) -> Form:
    t, a = layer.type_name, layer.args
    if t == "softplus":
        return _softplus(layer)
    if t == "leaky_relu":
        return Form("nn.LeakyReLU", [(None, a["negative_slope"])])
    if t == "elu":
        return Form("nn.ELU", [(None, a["alpha"])] if a["alpha"] != 1.0 else [])
    if t == "gelu":
        return Form(
            "nn.GELU", [("approximate", a["approximate"])] if a["approximate"] != "none" else []
        )
    return Form(_ACTIVATIONS[t])


def _softmax(layer: Any) -> Form:
    cls = "nn.Softmax" if layer.type_name == "softmax" else "nn.LogSoftmax"
    return Form(cls, [("dim", _torch_dim(layer.args["axis"]))])


_DROPOUTS = {
    "dropout": "nn.Dropout",
    "dropout1d": "nn.Dropout1d",
    "dropout2d": "nn.Dropout2d",
    "dropout3d": "nn.Dropout3d",
    "alpha_dropout": "nn.AlphaDropout",
}


def _dropout(layer: Any) -> Form:
    p = layer.args["p"]
    return Form(_DROPOUTS[layer.type_name], [] if p == 0.5 else [(None, p)])


def _maxpool(layer: Any) -> Form:
    a, r = layer.args, _rank(layer)
    pad, pre = _pads(layer)
    args: list[tuple[str | None, Any]] = [(None, _one(layer.k))]
    if layer.s != layer.k:
        args.append(("stride", _one(layer.s)))
    if pad:
        args.append(("padding", pad))
    if set(layer.d) != {1}:
        args.append(("dilation", _one(layer.d)))
    if a["ceil_mode"]:
        args.append(("ceil_mode", True))
    if pre is not None:
        return Form(f"PaddedMaxPool{r}d", [*args, ("pad", pre)], (f"PaddedMaxPool{r}d",))
    return Form(f"nn.MaxPool{r}d", args)


def _avgpool(layer: Any) -> Form:
    a, r = layer.args, _rank(layer)
    pad, pre = _pads(layer)
    if pre is not None:
        if not a["count_include_pad"]:
            raise Unsupported("asymmetric padding with count_include_pad false")
    args: list[tuple[str | None, Any]] = [(None, _one(layer.k))]
    if layer.s != layer.k:
        args.append(("stride", _one(layer.s)))
    if pad:
        args.append(("padding", pad))
    if a["ceil_mode"]:
        args.append(("ceil_mode", True))
    if not a["count_include_pad"]:
        args.append(("count_include_pad", False))
    if pre is not None:
        return Form(f"PaddedAvgPool{r}d", [*args, ("pad", pre)], (f"PaddedAvgPool{r}d",))
    return Form(f"nn.AvgPool{r}d", args)


def _global_pool(layer: Any) -> Form:
    op = "mean" if layer.type_name == "global_avg_pool" else "amax"
    dims = tuple(range(2, len(layer.in_shapes[0]) + 1))
    args: list[tuple[str | None, Any]] = [(None, op), (None, dims)]
    if layer.args["keepdims"]:
        args.append(("keepdim", True))
    return Form("GlobalPool", args, ("GlobalPool",))


def _adaptive_pool(layer: Any) -> Form:
    t = layer.type_name
    kind = "Avg" if "avg" in t else "Max"
    size = layer.args["output_size"]
    return Form(f"nn.Adaptive{kind}Pool{t[-2]}d", [(None, size)])


def _flatten(layer: Any) -> Form:
    start, end = layer.args["start_dim"], layer.args["end_dim"]
    args: list[tuple[str | None, Any]] = []
    if _torch_dim(start) != 1 or end != -1:
        args.append((None, _torch_dim(start)))
    if end != -1:
        args.append((None, _torch_dim(end)))
    return Form("nn.Flatten", args)


def _reshape(layer: Any) -> Form:
    return Form("Reshape", [(None, tuple(layer.out_shape))], ("Reshape",))


def _permute(layer: Any) -> Form:
    rank = len(layer.in_shapes[0])
    dims = tuple(_torch_dim(d % rank) for d in layer._order(rank))
    return Form("Permute", [(None, (0, *dims))], ("Permute",))


def _op(name: str) -> Callable[[Any], Form]:
    def write(layer: Any) -> Form:
        return Form(name, [], (name,))

    write.__name__ = f"_{name.lower()}"
    return write


def _concat(layer: Any) -> Form:
    return Form("Concat", [(None, _torch_dim(layer.args["axis"]))], ("Concat",))


def _identity(layer: Any) -> Form:
    return Form("nn.Identity")


def _mha(layer: Any) -> Form:
    a = layer.args
    args: list[tuple[str | None, Any]] = [(None, layer.d), (None, a["num_heads"])]
    if a["dropout"]:
        args.append(("dropout", a["dropout"]))
    if not a["bias"]:
        args.append(("bias", False))
    return Form("SelfAttention", args, ("SelfAttention",))


def _class_token(layer: Any) -> Form:
    """A bare parameter of the enclosing module (torchvision's ViT ``class_token``)."""
    return Form(
        "nn.Parameter.zeros.class_token", [(None, 1), (None, 1), (None, layer.in_shapes[0][1])]
    )


def _position_embedding(layer: Any) -> Form:
    """A bare parameter (torchvision's ViT ``encoder.pos_embedding``), shape (1, N, D)."""
    return Form(
        "nn.Parameter.zeros.position_embedding",
        [(None, 1), *((None, d) for d in layer.in_shapes[0])],
    )


def _scale(layer: Any) -> Form:
    """A bare parameter (torchvision's ConvNeXt ``layer_scale``, (C, 1, 1))."""
    return Form("nn.Parameter.ones.scale", [(None, d) for d in layer.wshape])


def _free_tensor(layer: Any) -> Form:
    """A bare ``parameter`` (``nn.Parameter``) or ``buffer`` (``register_buffer``) of the
    enclosing module, of the spec's shape: the key is the layer's name, as torch writes a
    module's own tensors (``relative_position_bias_table``)."""
    shape = [(None, d) for d in layer.args["shape"]]
    if layer.type_name == "buffer":
        return Form("buffer.zeros.buffer", shape)
    return Form("nn.Parameter.zeros.parameter", shape)


#: how a bare-parameter layer computes, in the written forward ({x}: its input, {p}: the
#: parameter) and for ``verify --backend torch`` (which cannot hook a parameter)
PARAMETER_FORWARD: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "class_token": (
        "torch.cat([{p}.expand({x}.shape[0], -1, -1), {x}], dim=1)",
        lambda x, p: __import__("torch").cat([p.expand(x.shape[0], -1, -1), x], dim=1),
    ),
    "position_embedding": ("{x} + {p}", lambda x, p: x + p),
    "scale": ("{x} * {p}", lambda x, p: x * p),
    # a free tensor takes no input: the tensor with a batch axis of 1 (consumers broadcast)
    "parameter": ("{p}.unsqueeze(0)", lambda x, p: p.unsqueeze(0)),
    "buffer": ("{p}.unsqueeze(0)", lambda x, p: p.unsqueeze(0)),
}


_BARE = (
    "class_token",
    "position_embedding",
    "scale",
    "layer_scale",
    "parameter",
    "buffer",
    "l2_normalize",  # with SSD's scale: a bare parameter (see _l2_normalize)
)


def _parameter_kind(ctor: str) -> str | None:
    """``nn.Parameter.ones.scale`` → ``scale`` (``buffer.zeros.buffer`` → ``buffer``); None for
    a module's constructor."""
    return ctor.split(".")[-1] if ctor.startswith(("nn.Parameter.", "buffer.")) else None


def _select_token(layer: Any) -> Form:
    return Form("SelectToken", [(None, layer.args["index"])], ("SelectToken",))


def _normalization(layer: Any) -> Form:
    return Form("Normalization", [(None, layer.in_shapes[0][0])], ("Normalization",))


def _rescaling(layer: Any) -> Form:
    return Form(
        "Rescaling", [(None, layer.args["scale"]), (None, layer.args["offset"])], ("Rescaling",)
    )


def _zero_pad(layer: Any) -> Form:
    flat: list[int] = []
    for lo, hi in reversed(layer.pads):
        flat += [lo, hi]
    return Form("Pad", [(None, tuple(flat))], ("Pad",))


def _crop(layer: Any) -> Form:
    return Form("Crop", [(None, tuple(layer.crops))], ("Crop",))


def _upsample(layer: Any) -> Form:
    a = layer.args
    args: list[tuple[str | None, Any]] = []
    if a["size"] is not None:
        args.append(("size", tuple(layer.out_shape[1:])))
    else:
        args.append(("scale_factor", a["scale_factor"]))
    mode = a["mode"]
    if mode == "linear":  # cnncalc's 'linear' is torch's (bi/tri)linear by rank
        mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[_rank(layer)]
    if mode != "nearest":
        args.append(("mode", mode))
    if a["align_corners"]:
        args.append(("align_corners", True))
    return Form("nn.Upsample", args)


def _instancenorm(layer: Any) -> Form:
    a = layer.args
    r = max(1, _rank(layer))
    args: list[tuple[str | None, Any]] = [(None, layer.in_shapes[0][0])]
    if a["eps"] != 1e-5:
        args.append(("eps", a["eps"]))
    if a["momentum"] != 0.1:
        args.append(("momentum", a["momentum"]))
    if a["affine"]:
        args.append(("affine", True))
    if a["track_running_stats"]:
        args.append(("track_running_stats", True))
    return Form(f"nn.InstanceNorm{r}d", args)


def _softplus(layer: Any) -> Form:
    a = layer.args
    return Form("nn.Softplus", [("beta", a["beta"]), ("threshold", a["threshold"])])


def _prelu(layer: Any) -> Form:
    a = layer.args
    return Form("nn.PReLU", [(None, a["num_parameters"]), ("init", a["init"])])


def _split(layer: Any) -> Form:
    """One module for all pieces (``torch.split``/``torch.chunk``): forward returns the tuple
    and the caller unpacks it (``x_0, x_1 = self.x(x)``)."""
    a = layer.args
    dim = _torch_dim(a["axis"])
    # a node standing alone for one piece (not x.0, x.1 of one entry) returns that piece
    index = [("index", a["index"])] if a["index"] is not None else []
    if layer.type_name == "chunk":
        return Form("Chunk", [(None, a["chunks"]), ("dim", dim), *index], ("Chunk",))
    sizes = a["sizes"] if isinstance(a["sizes"], int) else tuple(a["sizes"])
    return Form("Split", [(None, sizes), ("dim", dim), *index], ("Split",))


def _channel_shuffle(layer: Any) -> Form:
    return Form("nn.ChannelShuffle", [(None, layer.args["groups"])])


def _pixel_shuffle(layer: Any) -> Form:
    return Form("nn.PixelShuffle", [(None, layer.args["factor"])])


# -- generic tensor ops, importer operands, recurrent layers and the attentions with their own
# -- layouts (Swin, MaxViT, MViT: torchvision's parameter names, so state_dicts match)


def _matmul(layer: Any) -> Form:
    args: list[tuple[str | None, Any]] = []
    for key in ("transpose_a", "transpose_b"):
        if layer.args[key]:
            args.append((key, True))
    return Form("MatMul", args, ("MatMul",))


def _space_to_depth(layer: Any) -> Form:
    a, r = layer.args, layer.args["factor"]
    order = layer._order()
    if order == "c_dy_dx" and a["channel_axis"] == 0 and not a["pad"]:
        return Form("nn.PixelUnshuffle", [(None, r)])
    args: list[tuple[str | None, Any]] = [(None, r), ("order", order)]
    if a["channel_axis"] == -1:
        args.append(("channels_last", True))
    if a["pad"]:
        args.append(("pad", True))
    return Form("SpaceToDepth", args, ("SpaceToDepth",))


def _roll(layer: Any) -> Form:
    dims = tuple(_torch_dim(d) for d in layer.args["axis"])
    return Form("Roll", [(None, tuple(layer.args["shifts"])), (None, dims)], ("Roll",))


def _slice(layer: Any) -> Form:
    a = layer.args
    args: list[tuple[str | None, Any]] = [(None, _torch_dim(a["axis"])), (None, a["start"])]
    args.append((None, a["stop"]))
    if a["step"] != 1:
        args.append((None, a["step"]))
    return Form("Slice", args, ("Slice",))


def _resize_to(layer: Any) -> Form:
    mode = layer.args["mode"]
    if mode in ("linear", "bilinear", "trilinear"):  # cnncalc's linear modes: by rank in torch
        mode = {1: "linear", 2: "bilinear", 3: "trilinear"}.get(_rank(layer), mode)
    args: list[tuple[str | None, Any]] = [(None, mode)]
    if layer.args["align_corners"]:
        args.append(("align_corners", True))
    return Form("ResizeTo", args, ("ResizeTo",))


def _constant(layer: Any) -> Form:
    a = layer.args
    args: list[tuple[str | None, Any]] = [(None, tuple(a["shape"]))]
    if a["learned"] != "param":
        args.append(("learned", a["learned"]))
    ws = a["weight_shape"]
    if ws is not None and a["learned"] != "none":
        args.append(("weight_shape", (ws,) if isinstance(ws, int) else tuple(ws)))
    return Form("Constant", args, ("Constant",))


def _elementwise(layer: Any) -> Form:
    return Form("Elementwise", [(None, layer.args["op"])], ("Elementwise",))


def _recurrent(layer: Any) -> Form:
    a = layer.args
    kind = "LSTM" if layer.type_name == "lstm" else "GRU"
    args: list[tuple[str | None, Any]] = [(None, layer.in_shapes[0][1]), (None, a["hidden_size"])]
    if a["num_layers"] != 1:
        args.append(("num_layers", a["num_layers"]))
    if not a["bias"]:
        args.append(("bias", False))
    if a["dropout"]:
        args.append(("dropout", a["dropout"]))
    if a["bidirectional"]:
        args.append(("bidirectional", True))
    return Form(f"Sequence{kind}", args, (f"Sequence{kind}",))


def _window_attention(layer: Any) -> Form:
    """torchvision's ShiftedWindowAttention (V2, 3d) layout; the shift as the spec gives it (an
    int or one per axis), the window per axis."""
    a = layer.args
    shift = a["shift_size"]
    args: list[tuple[str | None, Any]] = [
        (None, layer.c),
        (None, a["num_heads"]),
        ("window_size", tuple(layer.conf)),
        ("shift_size", tuple(shift) if isinstance(shift, (list, tuple)) else shift),
    ]
    if a["v2"]:
        args.append(("v2", True))
    if a["fit"] == "shrink":
        args.append(("shrink", True))
    for key in ("qkv_bias", "proj_bias"):
        if not a[key]:
            args.append((key, False))
    for key in ("attention_dropout", "dropout"):
        if a[key]:
            args.append((key, a[key]))
    return Form("ShiftedWindowAttention", args, ("ShiftedWindowAttention",))


def _relative_attention(layer: Any) -> Form:
    """torchvision's MaxViT RelativePositionalMultiHeadAttention layout."""
    args: list[tuple[str | None, Any]] = [
        (None, layer.c),
        (None, layer.args["head_dim"]),
        (None, layer.n),
    ]
    return Form("RelativeAttention", args, ("RelativeAttention",))


def _multiscale_attention(layer: Any) -> Form:
    """torchvision's MViT MultiscaleAttention layout (its pools as ``TokenPool``)."""
    a = layer.args
    args: list[tuple[str | None, Any]] = [
        (None, layer.c),
        (None, layer.co),
        (None, a["num_heads"]),
        ("thw", tuple(a["thw"])),
    ]
    for key in ("kernel_q", "stride_q", "kernel_kv", "stride_kv"):
        value = layer.per_axis(key, 3)
        if set(value) != {1}:
            args.append((key, _one(value)))
    for key in ("residual_pool", "residual_with_cls_embed", "rel_pos"):
        if a[key]:
            args.append((key, True))
    if a["eps"] != 1e-6:
        args.append(("eps", a["eps"]))
    return Form("MultiscaleAttention", args, ("MultiscaleAttention", "TokenPool"))


# --- L2 normalisation and gather by index (forms; helper classes after HELPERS) ---


def _l2_normalize(layer: Any) -> Form:
    """F.normalize; with a learned scale on the channels of a channels-first tensor (ε 1e-12),
    a bare parameter (C,) named as the layer: torchvision's SSD300 ``scale_weight``."""
    a = layer.args
    if a["scale"] and layer.ax == 0 and a["eps"] == 1e-12:
        return Form("nn.Parameter.ones.l2_normalize", [(None, layer.in_shapes[0][0])])
    args: list[tuple[str | None, Any]] = [(None, layer.ax + 1)]
    if a["eps"] != 1e-12:
        args.append(("eps", a["eps"]))
    if a["scale"]:
        args.append(("channels", layer.in_shapes[0][layer.ax]))
    return Form("L2Normalize", args, ("L2Normalize",))


def _gather(layer: Any) -> Form:
    return Form("Gather", [(None, layer.ax + 1)], ("Gather",))


def per_roi_convs(graph: Graph) -> set[str]:
    """The conv3d / conv_transpose3d layers that are a 2-D conv run on every RoI.

    A spec has no batch axis for the RoIs of ``roi_align`` (R, C, h, w): a per-RoI head
    permutes them to (C, R, h, w) and convolves with a kernel of depth 1 (stride 1, no padding
    on that axis). Such a conv is torchvision's ``Conv2d`` on the RoIs as a batch: its weight
    is (out, in, kh, kw). The RoI axis is followed from each ``roi_align`` through
    ``permute``/``transpose`` and through layers that keep their input's shape.
    """
    axis: dict[str, int] = {}
    found: set[str] = set()
    for n in graph.nodes:
        if n.type == "roi_align":
            axis[n.name] = 0
            continue
        if len(n.inputs) != 1 or n.inputs[0] not in axis:
            continue
        ax, layer = axis[n.inputs[0]], n.layer
        if n.type in ("permute", "transpose"):
            axis[n.name] = list(layer.order).index(ax)
        elif n.type in ("conv3d", "conv_transpose3d"):
            depth_one = layer.k[0] == 1 and layer.s[0] == 1 and layer.pads[0] == (0, 0)
            if ax == 1 and depth_one and (n.type == "conv3d" or layer.op[0] == 0):
                found.add(n.name)
                axis[n.name] = 1
        elif layer.in_shapes[0] == n.out_shape:
            axis[n.name] = ax
    return found


def _roi_conv(layer: Any) -> Form:
    """A per-RoI conv (see :func:`per_roi_convs`): the 2-D conv of the last two axes."""
    from types import SimpleNamespace

    flat = SimpleNamespace(
        args=layer.args,
        in_shapes=tuple((x[0], *x[2:]) for x in layer.in_shapes),
        cin=layer.cin,
        k=layer.k[1:],
        s=layer.s[1:],
        d=layer.d[1:],
        pads=layer.pads[1:],
        op=getattr(layer, "op", (0, 0, 0))[1:],
    )
    if layer.type_name == "conv3d":
        form = _conv(flat)
        ctor = "RoIConv2d"
    else:
        form = _conv_transpose(flat)
        ctor = "RoIConvTranspose2d"
    if not form.ctor.startswith("nn."):
        raise Unsupported("asymmetric padding of a per-RoI conv")
    return Form(ctor, form.args, (ctor,))


def _roi_align(layer: Any) -> Form:
    """RoI Align in plain torch: the layer's facts (per-level scales, the image the default
    boxes span) are fixed here, the boxes are an optional argument of ``forward``."""
    a = layer.args
    image = layer.image_hw(layer.in_shapes[0])
    args: list[tuple[str | None, Any]] = [
        (None, a["num_rois"]),
        (None, tuple(layer.out_hw)),
        ("sampling_ratio", a["sampling_ratio"]),
        ("scales", tuple(layer.scales)),
        ("image_size", (float(image[0]), float(image[1]))),
    ]
    if a["aligned"]:
        args.append(("aligned", True))
    if len(layer.scales) > 1 and (a["canonical_scale"], a["canonical_level"]) != (224, 4):
        args += [
            ("canonical_scale", a["canonical_scale"]),
            ("canonical_level", a["canonical_level"]),
        ]
    return Form("RoIAlign", args, ("RoIAlign",))


#: γ (C,) times F.normalize over the channels, any rank: torchvision's SSD writes
#: ``scale_weight.view(1, -1, 1, 1) * F.normalize(x)``
PARAMETER_FORWARD["l2_normalize"] = (
    'torch.einsum("nc...,c->nc...", F.normalize({x}), {p})',
    lambda x, p: __import__("torch").einsum(
        "nc...,c->nc...", __import__("torch").nn.functional.normalize(x), p
    ),
)


#: layer type → writer of its PyTorch form (the one place the PyTorch export knows a type)
PYTORCH: dict[str, Callable[[Any], Form]] = {
    **for_class("conv2d", writer=_conv),
    **for_class("conv_transpose2d", writer=_conv_transpose),
    **for_class("linear", writer=_linear),
    **for_class("batchnorm2d", writer=_batchnorm),
    "frozen_batchnorm2d": _frozen_batchnorm,
    **for_class("layernorm", writer=_layernorm),
    **for_class("groupnorm", writer=_groupnorm),
    **for_class("instance_norm", writer=_instancenorm),
    "prelu": _prelu,
    **for_class("pixel_shuffle", writer=_pixel_shuffle),
    **for_class("stochastic_depth", writer=_identity),
    **for_class("subtract", writer=_op("Subtract")),
    **for_class("local_response_norm", writer=_lrn),
    **for_class("relu", writer=_activation),
    **for_class("softmax", writer=_softmax),
    **for_class("dropout", writer=_dropout),
    "identity": _identity,
    **for_class("maxpool2d", writer=_maxpool),
    **for_class("avgpool2d", writer=_avgpool),
    **for_class("global_avg_pool", writer=_global_pool),
    **for_class("adaptive_avgpool2d", writer=_adaptive_pool),
    "add": _op("Add"),
    **for_class("multiply", writer=_op("Multiply")),
    "concat": _concat,
    "multi_head_attention": _mha,
    "class_token": _class_token,
    "position_embedding": _position_embedding,
    **for_class("scale", writer=_scale),
    "select_token": _select_token,
    "normalization": _normalization,
    "rescaling": _rescaling,
    **for_class("zero_pad2d", writer=_zero_pad),
    **for_class("crop2d", writer=_crop),
    "center_crop": _crop,
    **for_class("upsample", writer=_upsample),
    "flatten": _flatten,
    **for_class("reshape", writer=_reshape),
    **for_class("permute", writer=_permute),
    **for_class("chunk", writer=_split),
    "channel_shuffle": _channel_shuffle,
    **for_class("parameter", writer=_free_tensor),
    "matmul": _matmul,
    **for_class("pixel_unshuffle", writer=_space_to_depth),
    "roll": _roll,
    "slice": _slice,
    "resize_to": _resize_to,
    "constant": _constant,
    "elementwise": _elementwise,
    **for_class("lstm", writer=_recurrent),
    **for_class("shifted_window_attention", writer=_window_attention),
    "relative_attention": _relative_attention,
    "multiscale_attention": _multiscale_attention,
    **for_class("l2_normalize", writer=_l2_normalize),
    **for_class("gather", writer=_gather),
    "roi_align": _roi_align,
}

#: layer types with no PyTorch form, and why (the export refuses a spec using them)
REFUSED: dict[str, str] = {}

#: helper modules written into the file when a layer needs them (torch has no module for these)
HELPERS: dict[str, str] = {
    "FrozenBatchNorm2d": '''
class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics and affine terms (all buffers), as torchvision's."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        for name, value in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
            self.register_buffer(name, torch.full((num_features,), value))

    def forward(self, x: Tensor) -> Tensor:
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1)
''',
    "GlobalPool": '''
class GlobalPool(nn.Module):
    """Mean or maximum over the spatial axes."""

    def __init__(self, op: str, dims: tuple[int, ...], keepdim: bool = False) -> None:
        super().__init__()
        self.op, self.dims, self.keepdim = op, dims, keepdim

    def forward(self, x: Tensor) -> Tensor:
        if self.op == "mean":
            return x.mean(dim=self.dims, keepdim=self.keepdim)
        return x.amax(dim=self.dims, keepdim=self.keepdim)
''',
    "AxisLayerNorm": '''
class AxisLayerNorm(nn.Module):
    """Layer norm over one axis ``dim`` at every position (torchvision's LayerNorm2d: dim 1)."""

    def __init__(
        self, channels: int, dim: int, eps: float = 1e-5, affine: bool = True, bias: bool = True
    ) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps
        self.weight = nn.Parameter(torch.ones(channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(channels)) if affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(dim=self.dim, keepdim=True)
        var = x.var(dim=self.dim, keepdim=True, unbiased=False)
        y = (x - mean) / torch.sqrt(var + self.eps)
        shape = [1] * x.dim()
        shape[self.dim] = -1
        if self.weight is not None:
            y = y * self.weight.view(shape)
        if self.bias is not None:
            y = y + self.bias.view(shape)
        return y
''',
    "Reshape": '''
class Reshape(nn.Module):
    """Reshape to ``shape`` (batch kept)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], *self.shape)
''',
    "Permute": '''
class Permute(nn.Module):
    """Permute the axes (batch first)."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(*self.dims)
''',
    "Add": '''
class Add(nn.Module):
    """Element-wise sum, broadcast after the batch axis: a lower-rank input gets its missing
    axes after the batch ((N, W) + (N, C, H, W) is (N, 1, 1, W) + (N, C, H, W))."""

    def forward(self, *xs: Tensor) -> Tensor:
        rank = max(x.dim() for x in xs)
        out = xs[0].reshape(xs[0].shape[:1] + (1,) * (rank - xs[0].dim()) + xs[0].shape[1:])
        for x in xs[1:]:
            out = out + x.reshape(x.shape[:1] + (1,) * (rank - x.dim()) + x.shape[1:])
        return out
''',
    "Subtract": '''
class Subtract(nn.Module):
    """Element-wise difference, first − second, broadcast after the batch axis (as Add)."""

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        rank = max(a.dim(), b.dim())
        a = a.reshape(a.shape[:1] + (1,) * (rank - a.dim()) + a.shape[1:])
        return a - b.reshape(b.shape[:1] + (1,) * (rank - b.dim()) + b.shape[1:])
''',
    "Multiply": '''
class Multiply(nn.Module):
    """Element-wise product, broadcast after the batch axis (as Add)."""

    def forward(self, *xs: Tensor) -> Tensor:
        rank = max(x.dim() for x in xs)
        out = xs[0].reshape(xs[0].shape[:1] + (1,) * (rank - xs[0].dim()) + xs[0].shape[1:])
        for x in xs[1:]:
            out = out * x.reshape(x.shape[:1] + (1,) * (rank - x.dim()) + x.shape[1:])
        return out
''',
    "Concat": '''
class Concat(nn.Module):
    """Concatenate along ``dim``; a free tensor (batch 1) joins every sample."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: Tensor) -> Tensor:
        n = max(x.shape[0] for x in xs)
        return torch.cat([x.expand(n, *x.shape[1:]) for x in xs], dim=self.dim)
''',
    "SelfAttention": '''
class SelfAttention(nn.MultiheadAttention):
    """Multi-head self-attention on (batch, tokens, width): query = key = value."""

    def __init__(self, embed_dim: int, num_heads: int, **kwargs: Any) -> None:
        super().__init__(embed_dim, num_heads, batch_first=True, **kwargs)

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return super().forward(x, x, x, need_weights=False)[0]
''',
    "Chunk": '''
class Chunk(nn.Module):
    """Cut into ``chunks`` pieces along ``dim`` (torch.chunk): all pieces, or piece ``index``."""

    def __init__(self, chunks: int, dim: int, index: int | None = None) -> None:
        super().__init__()
        self.chunks, self.dim, self.index = chunks, dim, index

    def forward(self, x: Tensor) -> Any:
        pieces = x.chunk(self.chunks, dim=self.dim)
        return pieces if self.index is None else pieces[self.index]
''',
    "Split": '''
class Split(nn.Module):
    """Cut along ``dim`` into pieces of ``sizes`` (torch.split): all pieces, or piece ``index``."""

    def __init__(self, sizes: Any, dim: int, index: int | None = None) -> None:
        super().__init__()
        self.sizes, self.dim, self.index = sizes, dim, index

    def forward(self, x: Tensor) -> Any:
        pieces = x.split(self.sizes, dim=self.dim)
        return pieces if self.index is None else pieces[self.index]
''',
    "SelectToken": '''
class SelectToken(nn.Module):
    """Take one token of the sequence."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def forward(self, x: Tensor) -> Tensor:
        return x[:, self.index]
''',
    "Normalization": '''
class Normalization(nn.Module):
    """Keras Normalization: (x - mean) / sqrt(variance) per channel (buffers)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("variance", torch.ones(channels))
        self.register_buffer("count", torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        var = self.variance.clamp_min(torch.finfo(x.dtype).eps)
        return (x - self.mean.view(shape)) / var.sqrt().view(shape)
''',
    "Rescaling": '''
class Rescaling(nn.Module):
    """x * scale + offset."""

    def __init__(self, scale: float, offset: float = 0.0) -> None:
        super().__init__()
        self.scale, self.offset = scale, offset

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale + self.offset
''',
    "Pad": '''
class Pad(nn.Module):
    """Zero padding (F.pad order: last axis first)."""

    def __init__(self, pad: tuple[int, ...]) -> None:
        super().__init__()
        self.pad = pad

    def forward(self, x: Tensor) -> Tensor:
        return F.pad(x, self.pad)
''',
    "Crop": '''
class Crop(nn.Module):
    """Remove (lo, hi) elements per spatial axis; with a second input, crop to its size."""

    def __init__(self, crops: tuple[tuple[int, int], ...]) -> None:
        super().__init__()
        self.crops = crops

    def forward(self, x: Tensor, *reference: Tensor) -> Tensor:
        index = tuple(slice(lo, x.shape[2 + i] - hi) for i, (lo, hi) in enumerate(self.crops))
        return x[(slice(None), slice(None), *index)]
''',
}

_PADDED = '''
class Padded{kind}{r}d(nn.{kind}{r}d):
    """{what} with asymmetric ("same") padding: F.pad first (value {value})."""

    def __init__(self, *args: Any, pad: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pad = pad

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, self.pad, value={value}))
'''
_PARTIAL_BN = '''
class PartialBatchNorm{r}d(nn.BatchNorm{r}d):
    """Batch norm with only γ (scale) or only β (center), as Keras's scale/center false."""

    def __init__(self, num_features: int, *, scale: bool, center: bool, **kwargs: Any) -> None:
        super().__init__(num_features, affine=False, **kwargs)
        self.weight = nn.Parameter(torch.ones(num_features)) if scale else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if center else None

    def forward(self, x: Tensor) -> Tensor:
        train = self.training or self.running_mean is None
        y = F.batch_norm(
            x, self.running_mean, self.running_var, None, None, train, self.momentum or 0.0, self.eps
        )
        shape = (1, -1) + (1,) * (x.dim() - 2)
        if self.weight is not None:
            y = y * self.weight.view(shape)
        if self.bias is not None:
            y = y + self.bias.view(shape)
        return y
'''
for _r in (1, 2, 3):
    HELPERS[f"PartialBatchNorm{_r}d"] = _PARTIAL_BN.format(r=_r)
    for _kind, _what, _value in (
        ("Conv", "A conv", "0.0"),
        ("MaxPool", "Max pooling", 'float("-inf")'),
        ("AvgPool", "Average pooling (padding counted)", "0.0"),
    ):
        HELPERS[f"Padded{_kind}{_r}d"] = _PADDED.format(kind=_kind, r=_r, what=_what, value=_value)

#: helper modules of the generic tensor ops, importer operands, recurrent layers and attentions
HELPERS.update(
    {
        "MatMul": '''
class MatMul(nn.Module):
    """Matrix product of two activations per sample (torch.matmul); a 1-D operand (after the
    batch) is a row (first) or a column (second), the leading axes align after the batch."""

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False) -> None:
        super().__init__()
        self.transpose_a, self.transpose_b = transpose_a, transpose_b

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        if self.transpose_a:
            a = a.transpose(-1, -2)
        if self.transpose_b:
            b = b.transpose(-1, -2)
        va, vb = a.dim() == 2, b.dim() == 2
        if va:
            a = a.unsqueeze(1)
        if vb:
            b = b.unsqueeze(2)
        rank = max(a.dim(), b.dim())
        a = a.reshape(a.shape[:1] + (1,) * (rank - a.dim()) + a.shape[1:])
        b = b.reshape(b.shape[:1] + (1,) * (rank - b.dim()) + b.shape[1:])
        y = a @ b
        if vb:
            y = y[..., 0]
        if va:
            y = y[..., 0] if vb else y[..., 0, :]
        return y
''',
        "SpaceToDepth": '''
class SpaceToDepth(nn.Module):
    """Space to depth by ``factor`` r: output channel of input channel c at block offset (dy, dx)
    in ``order`` c_dy_dx (PixelUnshuffle), dy_dx_c (TensorFlow, ONNX) or dx_dy_c (Swin's patch
    merging); ``channels_last`` works on (..., H, W, C); ``pad`` zero-pads odd sizes at the end."""

    def __init__(
        self, factor: int, order: str = "dy_dx_c", channels_last: bool = False, pad: bool = False
    ) -> None:
        super().__init__()
        self.factor = factor
        self.perm = {
            "c_dy_dx": (0, 1, 3, 5, 2, 4),
            "dy_dx_c": (0, 3, 5, 1, 2, 4),
            "dx_dy_c": (0, 5, 3, 1, 2, 4),
        }[order]
        self.channels_last, self.pad = channels_last, pad

    def forward(self, x: Tensor) -> Tensor:
        r = self.factor
        lead = x.shape[:-3]
        if self.channels_last:
            x = x.reshape(-1, *x.shape[-3:]).permute(0, 3, 1, 2)
        if self.pad:
            x = F.pad(x, (0, -x.shape[3] % r, 0, -x.shape[2] % r))
        n, c, h, w = x.shape
        y = x.reshape(n, c, h // r, r, w // r, r).permute(*self.perm)
        y = y.reshape(n, c * r * r, h // r, w // r)
        if not self.channels_last:
            return y
        y = y.permute(0, 2, 3, 1)
        return y.reshape(*lead, *y.shape[1:])
''',
        "Roll": '''
class Roll(nn.Module):
    """Cyclic shift along dims (torch.roll)."""

    def __init__(self, shifts: tuple[int, ...], dims: tuple[int, ...]) -> None:
        super().__init__()
        self.shifts, self.dims = shifts, dims

    def forward(self, x: Tensor) -> Tensor:
        return torch.roll(x, self.shifts, self.dims)
''',
        "Slice": '''
class Slice(nn.Module):
    """x[start:stop:step] along ``dim`` (Python's rules)."""

    def __init__(self, dim: int, start: int | None, stop: int | None, step: int = 1) -> None:
        super().__init__()
        self.dim, self.index = dim, slice(start, stop, step)

    def forward(self, x: Tensor) -> Tensor:
        index = [slice(None)] * x.dim()
        index[self.dim] = self.index
        return x[tuple(index)]
''',
        "ResizeTo": '''
class ResizeTo(nn.Module):
    """Resize the first input's spatial axes to the second input's (F.interpolate)."""

    def __init__(self, mode: str = "bilinear", align_corners: bool = False) -> None:
        super().__init__()
        self.mode, self.align_corners = mode, align_corners

    def forward(self, x: Tensor, reference: Tensor) -> Tensor:
        corners = self.align_corners if self.mode != "nearest" else None
        return F.interpolate(x, size=reference.shape[2:], mode=self.mode, align_corners=corners)
''',
        "Constant": '''
class Constant(nn.Module):
    """A tensor of ``shape`` (batch excluded): a learned ``param``, a ``buffer``, or ones
    (``none``). A learned tensor of another size (``weight_shape``) gives its first value."""

    def __init__(
        self,
        shape: tuple[int, ...],
        learned: str = "param",
        weight_shape: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__()
        self.shape = shape
        value = torch.zeros(weight_shape or shape)
        if learned == "param":
            self.value = nn.Parameter(value)
        elif learned == "buffer":
            self.register_buffer("value", value)
        else:
            self.value = None

    def forward(self, *xs: Tensor) -> Tensor:
        n = xs[0].shape[0] if xs else 1
        if self.value is None:
            return torch.ones(n, *self.shape, device=xs[0].device if xs else None)
        v = self.value
        whole = v.numel() == torch.Size(self.shape).numel()
        v = v.reshape(self.shape) if whole else v.reshape(-1)[:1]
        return v.expand(n, *self.shape)
''',
        "Elementwise": '''
class Elementwise(nn.Module):
    """Element-wise ``op`` of 1 to 3 inputs, broadcast after the batch axis; sqrt and log act on
    |x| (and log on |x| + 1e-12), equal for the positive inputs they get in a real graph."""

    def __init__(self, op: str) -> None:
        super().__init__()
        self.op = op

    def forward(self, *xs: Tensor) -> Tensor:
        rank = max(x.dim() for x in xs)
        xs = tuple(x.reshape(x.shape[:1] + (1,) * (rank - x.dim()) + x.shape[1:]) for x in xs)
        a = xs[0]
        if self.op == "where":
            y = torch.where(a != 0, xs[1 % len(xs)], xs[2 % len(xs)])
        elif self.op == "clip":
            lo = xs[1] if len(xs) > 1 else None
            hi = xs[2] if len(xs) > 2 else None
            y = torch.clamp(a, lo, hi) if len(xs) > 1 else a
        elif self.op == "sqrt":
            y = torch.sqrt(a.abs())
        elif self.op == "log":
            y = torch.log(a.abs() + 1e-12)
        elif self.op == "cast":
            y = a
        else:
            renamed = {
                "max": "maximum",
                "min": "minimum",
                "mod": "remainder",
                "equal": "eq",
                "less": "lt",
                "greater": "gt",
                "not": "logical_not",
            }
            fn = getattr(torch, renamed.get(self.op, self.op))
            binary = ("sub", "div", "pow", "max", "min", "mod", "equal", "less", "greater")
            if self.op not in binary:
                y = fn(a)
            else:
                y = fn(a, xs[1]) if len(xs) > 1 else a
        dtype = a.dtype if a.is_floating_point() else torch.float32
        return y.to(dtype).expand(torch.broadcast_shapes(*(x.shape for x in xs)))
''',
        "ShiftedWindowAttention": '''
class ShiftedWindowAttention(nn.Module):
    """Swin's shifted-window attention on (N, H, W, C) or (N, D, H, W, C), torchvision's
    ShiftedWindowAttention (``v2``: ShiftedWindowAttentionV2; 3 axes: ShiftedWindowAttention3d)
    with its parameter and buffer names. The map is padded to whole windows and rolled by
    −shift (no shift where one window covers the axis; ``shrink``: a window larger than the
    axis shrinks to it, torchvision's video rule), windows attend with the relative position
    bias and the shifted-window mask, and everything is undone."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: tuple[int, ...],
        shift_size: int | tuple[int, ...] = 0,
        v2: bool = False,
        shrink: bool = False,
        qkv_bias: bool = True,
        proj_bias: bool = True,
        attention_dropout: float = 0.0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        r = len(window_size)
        self.window_size = list(window_size)
        self.shift_size = [shift_size] * r if isinstance(shift_size, int) else list(shift_size)
        self.num_heads, self.v2, self.shrink = num_heads, v2, shrink
        self.attention_dropout, self.dropout = attention_dropout, dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        if v2:
            self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))))
            self.cpb_mlp = nn.Sequential(
                nn.Linear(2, 512), nn.ReLU(inplace=True), nn.Linear(512, num_heads, bias=False)
            )
            axes = [
                torch.arange(-(w - 1), w, dtype=torch.float32) / max(w - 1, 1) for w in window_size
            ]
            table = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).unsqueeze(0) * 8
            table = torch.sign(table) * torch.log2(table.abs() + 1.0) / 3.0
            self.register_buffer("relative_coords_table", table)
        else:
            rows = 1
            for w in window_size:
                rows *= 2 * w - 1
            self.relative_position_bias_table = nn.Parameter(torch.zeros(rows, num_heads))
        grids = torch.meshgrid(*(torch.arange(w) for w in window_size), indexing="ij")
        coords = torch.stack(grids).flatten(1)
        rel = coords[:, :, None] - coords[:, None, :]
        index = torch.zeros_like(rel[0])
        for ax, w in enumerate(window_size):
            index = index * (2 * w - 1) + rel[ax] + w - 1
        self.register_buffer("relative_position_index", index.flatten() if r == 2 else index)

    def forward(self, x: Tensor) -> Tensor:
        b, *sizes, c = x.shape
        r, heads = len(sizes), self.num_heads
        win, shift = list(self.window_size), list(self.shift_size)
        if self.shrink:
            for ax in range(r):
                if sizes[ax] <= win[ax]:
                    win[ax], shift[ax] = sizes[ax], 0
        pad: list[int] = []
        for s, w in zip(reversed(sizes), reversed(win)):
            pad += [0, -s % w]
        x = F.pad(x, [0, 0, *pad])
        padded = list(x.shape[1:-1])
        if not self.shrink:
            shift = [0 if w >= p else s for w, p, s in zip(win, padded, shift)]
        dims = list(range(1, r + 1))
        if any(shift):
            x = torch.roll(x, [-s for s in shift], dims)
        counts = [p // w for p, w in zip(padded, win)]
        n = 1
        for w in win:
            n *= w
        blocks = [d for cw in zip(counts, win) for d in cw]
        perm = [0, *range(1, 2 * r, 2), *range(2, 2 * r + 1, 2), 2 * r + 1]
        x = x.reshape(b, *blocks, c).permute(*perm).reshape(-1, n, c)
        bias = self.qkv.bias
        if self.v2 and bias is not None:  # torchvision zeroes the key bias in v2
            bias = torch.cat([bias[:c], torch.zeros_like(bias[c : 2 * c]), bias[2 * c :]])
        qkv = F.linear(x, self.qkv.weight, bias)
        qkv = qkv.reshape(x.shape[0], n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.v2:
            attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
            attn = attn * torch.clamp(self.logit_scale, max=4.605170185988092).exp()  # log 100
            table = 16 * torch.sigmoid(self.cpb_mlp(self.relative_coords_table).view(-1, heads))
        else:
            attn = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1)
            table = self.relative_position_bias_table
        m = 1
        for w in self.window_size:
            m *= w
        index = self.relative_position_index.view(m, m)[:n, :n].reshape(-1)
        attn = attn + table[index].view(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        if any(shift):
            ids = x.new_zeros(padded)
            for ax in range(r):
                line = x.new_zeros(padded[ax])
                w, s = win[ax], shift[ax]
                for k_, (lo, hi) in enumerate(((0, -w), (-w, -s or None), (-s or None, None))):
                    line[lo:hi] = k_
                ids = ids * 3 + line.view([-1] + [1] * (r - ax - 1))
            even = list(range(0, 2 * r, 2))
            ids = ids.reshape(blocks).permute(*even, *(a + 1 for a in even)).reshape(-1, n)
            mask = (ids[:, None, :] != ids[:, :, None]).to(attn.dtype) * -100.0
            attn = (attn.view(b, -1, heads, n, n) + mask[None, :, None]).view(-1, heads, n, n)
        attn = F.dropout(attn.softmax(dim=-1), self.attention_dropout, self.training)
        x = (attn @ v).transpose(1, 2).reshape(-1, n, c)
        x = F.dropout(self.proj(x), self.dropout, self.training)
        inverse = [perm.index(k) for k in range(len(perm))]
        x = x.view(b, *counts, *win, c).permute(*inverse).reshape(b, *padded, c)
        if any(shift):
            x = torch.roll(x, shift, dims)
        return x[(slice(None), *(slice(0, s) for s in sizes))].contiguous()
''',
        "RelativeAttention": '''
class RelativeAttention(nn.Module):
    """Multi-head self-attention with a relative position bias in groups of P×P tokens on
    (N, G, P·P, C): torchvision's MaxViT RelativePositionalMultiHeadAttention and its names
    (k scaled by C^-1/2, the feature width, as torchvision does)."""

    def __init__(self, feat_dim: int, head_dim: int, max_seq_len: int) -> None:
        super().__init__()
        self.n_heads, self.head_dim, self.max_seq_len = feat_dim // head_dim, head_dim, max_seq_len
        size = int(max_seq_len**0.5 + 0.5)
        self.to_qkv = nn.Linear(feat_dim, 3 * feat_dim)
        self.scale_factor = feat_dim**-0.5
        self.merge = nn.Linear(feat_dim, feat_dim)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * size - 1) ** 2, self.n_heads)
        )
        grid = torch.stack(torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij"))
        rel = grid.flatten(1)[:, :, None] - grid.flatten(1)[:, None, :]
        index = (rel[0] + size - 1) * (2 * size - 1) + rel[1] + size - 1
        self.register_buffer("relative_position_index", index)

    def forward(self, x: Tensor) -> Tensor:
        b, g, p, d = x.shape
        h, dh = self.n_heads, self.head_dim
        q, k, v = (
            t.reshape(b, g, p, h, dh).permute(0, 1, 3, 2, 4)
            for t in torch.chunk(self.to_qkv(x), 3, dim=-1)
        )
        n = self.max_seq_len
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        attn = F.softmax(q @ (k * self.scale_factor).transpose(-1, -2) + bias, dim=-1)
        out = (attn @ v).permute(0, 1, 3, 2, 4).reshape(b, g, p, d)
        return self.merge(out)
''',
        "TokenPool": '''
class TokenPool(nn.Module):
    """MViT's pooling of Q, K or V (torchvision's Pool with its names): a depthwise conv3d on
    the grid tokens of every head, the class token put back, a LayerNorm over the head width."""

    def __init__(
        self, dim: int, kernel: tuple[int, ...], stride: tuple[int, ...], eps: float
    ) -> None:
        super().__init__()
        padding = [k // 2 for k in kernel]
        self.pool = nn.Conv3d(dim, dim, kernel, stride, padding, groups=dim, bias=False)
        self.norm_act = nn.Sequential(nn.LayerNorm(dim, eps=eps))

    def forward(self, x: Tensor, thw: tuple[int, ...]) -> tuple[Tensor, tuple[int, ...]]:
        b, h, _, d = x.shape
        cls, grid = x[:, :, :1], x[:, :, 1:]
        grid = self.pool(grid.transpose(2, 3).reshape(b * h, d, *thw))
        out_thw = tuple(grid.shape[2:])
        grid = grid.reshape(b, h, d, -1).transpose(2, 3)
        return self.norm_act(torch.cat((cls, grid), dim=2)), out_thw
''',
        "MultiscaleAttention": '''
class MultiscaleAttention(nn.Module):
    """MViT's pooling attention on (N, 1 + T·H·W, C), a class token and a ``thw`` grid:
    torchvision's MultiscaleAttention with its names (v2: relative positions ``rel_pos``,
    residual pooling)."""

    def __init__(
        self,
        embed_dim: int,
        output_dim: int,
        num_heads: int,
        thw: tuple[int, int, int],
        kernel_q: int | tuple[int, ...] = 1,
        stride_q: int | tuple[int, ...] = 1,
        kernel_kv: int | tuple[int, ...] = 1,
        stride_kv: int | tuple[int, ...] = 1,
        residual_pool: bool = False,
        residual_with_cls_embed: bool = False,
        rel_pos: bool = False,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()

        def three(v: int | tuple[int, ...]) -> tuple[int, ...]:
            return (v, v, v) if isinstance(v, int) else tuple(v)

        kq, sq, kkv, skv = three(kernel_q), three(stride_q), three(kernel_kv), three(stride_kv)
        self.thw, self.num_heads, self.output_dim = thw, num_heads, output_dim
        self.head_dim = d = output_dim // num_heads
        self.scaler = d**-0.5
        self.residual_pool, self.residual_with_cls_embed = residual_pool, residual_with_cls_embed
        self.qkv = nn.Linear(embed_dim, 3 * output_dim)
        self.project = nn.Sequential(nn.Linear(output_dim, output_dim))
        pooled_q = kq != (1, 1, 1) or sq != (1, 1, 1)
        pooled_kv = kkv != (1, 1, 1) or skv != (1, 1, 1)
        self.pool_q = TokenPool(d, kq, sq, eps) if pooled_q else None
        self.pool_k = TokenPool(d, kkv, skv, eps) if pooled_kv else None
        self.pool_v = TokenPool(d, kkv, skv, eps) if pooled_kv else None
        if rel_pos:
            size = max(thw[1:])
            spatial = 2 * max(size // sq[1], size // skv[1]) - 1
            self.rel_pos_h = nn.Parameter(torch.zeros(spatial, d))
            self.rel_pos_w = nn.Parameter(torch.zeros(spatial, d))
            self.rel_pos_t = nn.Parameter(torch.zeros(2 * thw[0] - 1, d))
        else:
            self.rel_pos_h = self.rel_pos_w = self.rel_pos_t = None

    @staticmethod
    def _table(table: Tensor, q: int, k: int) -> Tensor:
        """Rows of ``table`` (resized linearly to 2·max(q, k) − 1) for each (query, key)."""
        rows = 2 * max(q, k) - 1
        if table.shape[0] != rows:
            table = F.interpolate(table.T.unsqueeze(0), size=rows, mode="linear")[0].T
        q_ratio, k_ratio = max(k / q, 1.0), max(q / k, 1.0)
        dist = torch.arange(q)[:, None] * q_ratio - (torch.arange(k)[None, :] + (1.0 - k)) * k_ratio
        return table[dist.long()]

    def _rel_pos(self, q: Tensor, q_thw: tuple[int, ...], k_thw: tuple[int, ...]) -> Tensor:
        """The decomposed relative position terms for the grid scores (torchvision's)."""
        b, h, _, d = q.shape
        (qt, qh, qw), (kt, kh, kw) = q_thw, k_thw
        rh = self._table(self.rel_pos_h, qh, kh)
        rw = self._table(self.rel_pos_w, qw, kw)
        rt = self._table(self.rel_pos_t, qt, kt)
        r_q = q[:, :, 1:].reshape(b, h, qt, qh, qw, d)
        rel_h = torch.einsum("bythwc,hkc->bythwk", r_q, rh)
        rel_w = torch.einsum("bythwc,wkc->bythwk", r_q, rw)
        rel_t = torch.einsum("bythwc,tkc->bythwk", r_q, rt)
        rel = (
            rel_h[:, :, :, :, :, None, :, None]
            + rel_w[:, :, :, :, :, None, None, :]
            + rel_t[:, :, :, :, :, :, None, None]
        )
        return rel.reshape(b, h, qt * qh * qw, kt * kh * kw)

    def forward(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).transpose(1, 3)
        q, k, v = qkv.unbind(dim=2)
        thw = k_thw = self.thw
        if self.pool_k is not None and self.pool_v is not None:
            k, k_thw = self.pool_k(k, thw)
            v = self.pool_v(v, thw)[0]
        if self.pool_q is not None:
            q, thw = self.pool_q(q, thw)
        attn = (self.scaler * q) @ k.transpose(2, 3)
        if self.rel_pos_h is not None:
            attn = attn + F.pad(self._rel_pos(q, thw, k_thw), (1, 0, 1, 0))
        x = attn.softmax(dim=-1) @ v
        if self.residual_pool:
            x = x + (q if self.residual_with_cls_embed else F.pad(q[:, :, 1:], (0, 0, 1, 0)))
        return self.project(x.transpose(1, 2).reshape(b, -1, self.output_dim))
''',
    }
)
_SEQUENCE = '''
class Sequence{kind}(nn.{kind}):
    """nn.{kind} on (batch, steps, features), batch first, zero initial state: the output
    sequence of the last layer (its names: weight_ih_l0, …)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, batch_first=True, **kwargs)

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return super().forward(x)[0]
'''
for _kind in ("LSTM", "GRU"):
    HELPERS[f"Sequence{_kind}"] = _SEQUENCE.format(kind=_kind)

#: helper classes of l2_normalize and gather (see _l2_normalize, _gather)
HELPERS["L2Normalize"] = '''
class L2Normalize(nn.Module):
    """x / max(‖x‖₂, eps) along ``dim`` (F.normalize), times a learned scale per element of
    that axis when ``channels`` is given."""

    def __init__(self, dim: int, eps: float = 1e-12, channels: int | None = None) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps
        self.weight = nn.Parameter(torch.ones(channels)) if channels else None

    def forward(self, x: Tensor) -> Tensor:
        y = F.normalize(x, dim=self.dim, eps=self.eps)
        if self.weight is None:
            return y
        return y * self.weight.view(-1, *[1] * (x.dim() - self.dim - 1))
'''
HELPERS["Gather"] = '''
class Gather(nn.Module):
    """Rows of x at ``index`` along ``dim`` (index_select with indices of any shape), the
    indices floored and taken modulo the axis size; a batch of 1 on either side is shared."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def take(self, x: Tensor, index: Tensor) -> Tensor:
        y = x.index_select(self.dim, index.flatten())
        return y.view(*x.shape[: self.dim], *index.shape, *x.shape[self.dim + 1 :])

    def forward(self, x: Tensor, index: Tensor) -> Tensor:
        i = index.floor().long() % x.shape[self.dim]
        if i.shape[0] == 1:
            return self.take(x, i[0])
        x = x.expand(i.shape[0], *x.shape[1:])
        return torch.stack([self.take(xb[None], ib)[0] for xb, ib in zip(x, i)])
'''

HELPERS["RoIConv2d"] = '''
class RoIConv2d(nn.Conv2d):
    """A 2-D conv run on every RoI of (N, C, R, H, W), the RoIs as a batch (torchvision's
    per-RoI head convs: weight (out, in, kh, kw))."""

    def forward(self, x: Tensor) -> Tensor:
        n, c, r, h, w = x.shape
        y = super().forward(x.transpose(1, 2).reshape(n * r, c, h, w))
        return y.view(n, r, *y.shape[1:]).transpose(1, 2)
'''
HELPERS["RoIConvTranspose2d"] = '''
class RoIConvTranspose2d(nn.ConvTranspose2d):
    """A transposed 2-D conv run on every RoI of (N, C, R, H, W), the RoIs as a batch."""

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        n, c, r, h, w = x.shape
        y = super().forward(x.transpose(1, 2).reshape(n * r, c, h, w))
        return y.view(n, r, *y.shape[1:]).transpose(1, 2)
'''
HELPERS["RoIAlign"] = '''
class RoIAlign(nn.Module):
    """RoI Align (torchvision.ops.roi_align) over one map, or over an FPN's levels, finest
    first, each RoI pooled from the level k = floor(k0 + log2(sqrt(area) / s0) + 1e-6), clamped
    to the levels (torchvision's MultiScaleRoIAlign). Each of the h x w bins of a RoI averages
    s x s bilinear samples; a sample outside [-1, size] is 0. Output (N, R, C, h, w).

    ``boxes``: (R, 4) for every image or (N, R, 4), (x1, y1, x2, y2) in image pixels; by
    default R fixed boxes spanning the image (cnncalc's default_boxes)."""

    def __init__(
        self,
        num_rois: int,
        output_size: tuple[int, int],
        sampling_ratio: int = 2,
        scales: tuple[float, ...] = (1.0,),
        image_size: tuple[float, float] = (1.0, 1.0),
        aligned: bool = False,
        canonical_scale: int = 224,
        canonical_level: int = 4,
    ) -> None:
        super().__init__()
        self.num_rois, self.output_size, self.sampling_ratio = num_rois, output_size, sampling_ratio
        self.scales, self.image_size, self.aligned = scales, image_size, aligned
        self.canonical_scale, self.canonical_level = canonical_scale, canonical_level
        self.k_min = round(1 / scales[0]).bit_length() - 1  # scales[0] = 2 ** -k_min

    def default_boxes(self) -> Tensor:
        """Box r: side fraction f = (r + 1) / R, top-left on a 3 x 3 grid of positions."""
        h, w = self.image_size
        r = torch.arange(self.num_rois, dtype=torch.float64)
        f = (r + 1) / self.num_rois
        x1 = (w - f * w) * (r % 3) / 2
        y1 = (h - f * h) * ((r // 3) % 3) / 2
        return torch.stack([x1, y1, x1 + f * w, y1 + f * h], dim=-1)

    def levels(self, boxes: Tensor) -> Tensor:
        """Index of the level that pools each box (0 with one level)."""
        if len(self.scales) == 1:
            return torch.zeros(boxes.shape[:-1], dtype=torch.long, device=boxes.device)
        side = ((boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])).sqrt()
        k = torch.floor(self.canonical_level + torch.log2(side / self.canonical_scale) + 1e-6)
        k = k.clamp(self.k_min, self.k_min + len(self.scales) - 1)
        return k.long() - self.k_min

    def taps(self, lo: Tensor, hi: Tensor, bins: int, size: int) -> tuple[Tensor, Tensor]:
        """Per axis: the 2 taps of each of the bins x s samples, (..., bins, s, 2), and weights."""
        s = self.sampling_ratio
        length = hi - lo if self.aligned else (hi - lo).clamp(min=1.0)
        b = (length / bins)[..., None, None]
        i = torch.arange(bins, dtype=lo.dtype, device=lo.device)[:, None]
        j = torch.arange(s, dtype=lo.dtype, device=lo.device) + 0.5
        y = lo[..., None, None] + i * b + j * b / s
        inside = ((y >= -1.0) & (y <= size)).to(lo.dtype)
        y = y.clamp(min=0.0)
        low = y.floor().long()
        edge = low >= size - 1
        low = low.clamp(max=size - 1)
        high = torch.where(edge, low, low + 1)
        frac = torch.where(edge, torch.zeros_like(y), y - low.to(y.dtype))
        taps = torch.stack([low, high], dim=-1)
        return taps, torch.stack([1.0 - frac, frac], dim=-1) * inside[..., None]

    def pool(self, x: Tensor, boxes: Tensor, scale: float) -> Tensor:
        """x (N, C, H, W), boxes (N, K, 4) -> (N, K, C, h, w)."""
        n, c, height, width = x.shape
        (oh, ow), s, k = self.output_size, self.sampling_ratio, boxes.shape[1]
        b = boxes * scale - (0.5 if self.aligned else 0.0)
        ty, wy = self.taps(b[..., 1], b[..., 3], oh, height)  # (N, K, oh, s, 2)
        tx, wx = self.taps(b[..., 0], b[..., 2], ow, width)
        taps = ty.view(n, k, oh, 2 * s, 1, 1) * width + tx.view(n, k, 1, 1, ow, 2 * s)
        weights = wy.view(n, k, oh, 2 * s, 1, 1) * wx.view(n, k, 1, 1, ow, 2 * s)
        values = x.flatten(2).gather(2, taps.view(n, 1, -1).expand(n, c, -1))
        values = values.view(n, c, k, oh, 2 * s, ow, 2 * s) * weights[:, None]
        return values.sum((4, 6)).transpose(1, 2) / (s * s)

    def forward(self, *features: Tensor, boxes: Tensor | None = None) -> Tensor:
        x0 = features[0]
        n, c = x0.shape[:2]
        if boxes is None:
            boxes = self.default_boxes().to(x0.device)
        if boxes.dim() == 2:
            boxes = boxes.expand(n, *boxes.shape)
        level = self.levels(boxes)
        boxes = boxes.to(x0.dtype)
        out = x0.new_zeros(n, boxes.shape[1], c, *self.output_size)
        # RoIs per chunk: at most 2**22 gathered samples (C·h·w·(2s)² per RoI) at a time
        taps = c * self.output_size[0] * self.output_size[1] * (2 * self.sampling_ratio) ** 2
        step = max(1, 2**22 // max(1, taps))
        for lvl, (x, scale) in enumerate(zip(features, self.scales)):
            for i in range(n):
                (rois,) = torch.nonzero(level[i] == lvl, as_tuple=True)
                for start in range(0, rois.numel(), step):
                    part = rois[start : start + step]
                    out[i, part] = self.pool(x[i : i + 1], boxes[i : i + 1, part], scale)[0]
        return out
'''

# ---------------------------------------------------------------------------------------------
# The structure: a tree of scopes (top level, block instances, repeat groups) from the graph
# ---------------------------------------------------------------------------------------------


class _Code(str):
    """Source text written as is (a constructor, a parameter name), not as a literal."""


@dataclass
class _Item:
    """A direct member of a scope: a layer, a block instance or a repeat group."""

    local: str
    full: str
    kind: str  # "layer" | "block" | "repeat"
    node: Node | None = None
    children: list[_Item] = field(default_factory=list)  # block: members; repeat: instances


def _piece(node: Node) -> int | None:
    """The output index of a node that is one piece of a several-output layer (``x.0`` of a
    chunk), else None."""
    arg = getattr(type(node.layer), "OUTPUT_INDEX", None)
    return None if arg is None else node.layer.args.get(arg)


def _tree(graph: Graph) -> list[_Item]:
    """The scopes of the graph: its dotted names as a tree of layers, block instances, repeat
    groups, namespaces (dotted names that are neither) and several-output layers (``x.0``,
    ``x.1`` of one chunk: one item ``x``)."""
    top: list[_Item] = []
    index: dict[str, _Item] = {}
    for n in graph.nodes:
        parts = n.name.split(".")
        members = top
        piece = _piece(n)
        for k in range(1, len(parts) + 1):
            full = ".".join(parts[:k])
            item = index.get(full)
            if item is not None and k == len(parts):  # a layer named as its namespace
                item.children.append(_Item("", full, "layer", node=n))
                break
            if item is not None and item.kind == "layer" and k < len(parts):
                # a layer named as a namespace that follows it: the layer becomes a member
                item.children.append(_Item("", full, "layer", node=item.node))
                item.kind, item.node = "namespace", None
            if item is None:
                if k == len(parts):
                    item = _Item(parts[-1], full, "layer", node=n)
                elif piece is not None and k == len(parts) - 1:
                    item = _Item(parts[k - 1], full, "multi")
                elif full in graph.calls:
                    item = _Item(parts[k - 1], full, "block")
                elif "×" in graph.groups.get(full, ""):
                    item = _Item(parts[k - 1], full, "repeat")
                else:  # a dotted layer name (features.0): a chain of layers in a container
                    item = _Item(parts[k - 1], full, "namespace")
                index[full] = item
                members.append(item)
            members = item.children
    for item in index.values():  # the layer named as its namespace: a member named by its type
        for c in item.children:
            if c.local == "":
                assert c.node is not None
                taken = {x.local for x in item.children}
                c.local = _ident(c.node.type)
                while c.local in taken:
                    c.local += "_"
    return top


def _item_nodes(item: _Item) -> list[Node]:
    if item.kind == "layer":
        assert item.node is not None
        return [item.node]
    return [n for c in item.children for n in _item_nodes(c)]


def _aliases(items: list[_Item], alias: dict[str, str], loose: list[str]) -> None:
    """Where weights are shared (``share``), the members that call a sibling's module.

    A member (layer, block instance, namespace) is an alias of a sibling in the same scope when
    both hold the same layers (names relative to each, types) and every layer of the sibling
    that has weights is shared by the member's layer at the same place: ``alias`` maps the
    member's full name to the sibling's local name. Shared layers no sibling covers (the owner
    in another scope) go to ``loose``."""
    for item in items:
        nodes = _item_nodes(item)
        if not any(n.share is not None for n in nodes):
            continue
        rel = [n.name[len(item.full) :] for n in nodes]
        for other in items:
            theirs = _item_nodes(other)
            if other is item or [n.name[len(other.full) :] for n in theirs] != rel:
                continue
            if all(
                a.type == b.type
                and b.share is None
                and (a.share == b.name if (a.share is not None or b.layer.weights()) else True)
                for a, b in zip(nodes, theirs)
            ):
                alias[item.full] = other.local
                break
        else:
            if item.kind == "layer":
                loose.extend(n.name for n in nodes)
            else:
                _aliases(item.children, alias, loose)


def _collapsed(item: _Item, alias: dict[str, str]) -> bool:
    """Whether ``item`` is a namespace of several applications of one module: its first member
    owns the weights and every other one shares them all (``share``; RetinaNet's ``head.p3`` …
    ``head.p7``). Such a namespace is written as that one module, named as the namespace
    (``self.head``, keys ``head.classification_head.…`` as torchvision's), called at each
    member's place."""
    kids = item.children
    return (
        item.kind == "namespace"
        and len(kids) > 1
        and kids[0].full not in alias
        and all(alias.get(c.full) == kids[0].local for c in kids[1:])
    )


def _collapsed_names(items: list[_Item], alias: dict[str, str]) -> set[str]:
    """The full names of the :func:`_collapsed` namespaces among ``items`` and inside them."""
    out: set[str] = set()
    for item in items:
        if _collapsed(item, alias):
            out.add(item.full)
        out |= _collapsed_names(item.children, alias)
    return out


@dataclass
class _Member:
    """A member of one scope instance, rendered: constructor, arguments and wiring."""

    local: str
    ctor: str
    args: list[tuple[str | None, Any]]
    refs: list[str]
    live: bool
    #: a several-output layer (chunk): the local names of its outputs (``x.0``, ``x.1``)
    pieces: list[str] = field(default_factory=list)
    #: weights shared (``share``): the local name of the sibling member whose module this one
    #: calls; it is not built itself, so the weights are in the state dict once
    alias: str | None = None
    #: a member of a holder (see :meth:`_Writer.place`): the expression of its module
    #: (``self.inner_blocks[2]``), built by the holder; forward calls it, ``__init__`` builds
    #: nothing for it
    call: str | None = None
    #: a holder: a container of modules the scope's forward calls one by one, never run itself
    holder: bool = False
    #: its place in ``forward`` (the graph's order); the list's order is ``__init__``'s
    step: int = 0
    #: the scope's item this member writes
    item: _Item | None = None


@dataclass
class _Use:
    """One block instance: its members and, once its class is decided, the call's arguments."""

    item: _Item
    block: str
    params: dict[str, Any]
    in_channels: int
    inputs: list[str]
    members: list[_Member] = field(default_factory=list)
    out: str = ""
    #: the local names of every output (``out`` first, then layers inside read from outside)
    outs: list[str] = field(default_factory=list)
    cls: str = ""
    args: list[tuple[str | None, Any]] = field(default_factory=list)


def _py(v: Any) -> str:
    """A Python literal (or code as is)."""
    if isinstance(v, _Code):
        return str(v)
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_py(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return f'float("{v}")'
    return repr(v)


def _ident(name: str) -> str:
    """A Python identifier for a spec name ("0" → "x0", "class" → "class_")."""
    s = re.sub(r"\W", "_", name)
    if not s or s[0].isdigit():
        s = "x" + s
    if keyword.iskeyword(s) or s in ("self", "torch", "nn", "F", "Tensor", "Any", "build", "super"):
        s += "_"
    return s


def _camel(name: str) -> str:
    s = "".join(p[:1].upper() + p[1:] for p in re.split(r"[_\W]+", name) if p) or "Block"
    return s if s.isidentifier() and not s[0].isdigit() else "Block" + s


def _text(value: object) -> str:
    """Spec text (a name, a path) made safe inside a docstring: no quotes, backslashes or
    control characters, so nothing from the spec can end the string."""
    return "".join(ch if ch.isprintable() and ch not in '"\\' else "?" for ch in str(value))


def _is_attr(local: str) -> bool:
    return local.isidentifier() and not keyword.iskeyword(local)


def _call(ctor: str, args: list[tuple[str | None, Any]]) -> str:
    if ctor.startswith("nn.Parameter."):  # a bare parameter: nn.Parameter(torch.ones(C, 1, 1))
        init = ctor.split(".")[2]
        return f"nn.Parameter(torch.{init}({', '.join(_py(v) for _, v in args)}))"
    if ctor.startswith("buffer."):  # a bare buffer: its tensor (registered by _assign)
        init = ctor.split(".")[1]
        return f"torch.{init}({', '.join(_py(v) for _, v in args)})"
    if ctor.startswith(("nn.Sequential(", "nn.ModuleList(", "nn.ModuleDict(")):
        return ctor  # a repeat group, a dotted-name chain or a holder, written whole
    return f"{ctor}({', '.join(_py(v) if kw is None else f'{kw}={_py(v)}' for kw, v in args)})"


def _assign(m: _Member, code: str) -> str:
    """The ``__init__`` line that makes member ``m`` (a module, parameter or buffer), wrapped."""
    if m.ctor.startswith("buffer."):
        head, tail = f"self.register_buffer({m.local!r}, ", ")"
    elif _is_attr(m.local):
        head, tail = f"self.{m.local} = ", ""
    elif m.ctor.startswith("nn.Parameter."):
        head, tail = f"self.register_parameter({m.local!r}, ", ")"
    else:
        head, tail = f"self.add_module({m.local!r}, ", ")"
    return "        " + head + _wrap(code, "        ", len(head) + len(tail)) + tail


def _statement(names: list[str], value: str, indent: str = "        ") -> str:
    """``a, b = value`` (``return value`` without names) in ``forward``, wrapped as ruff
    format would when longer than the line."""
    head = f"{', '.join(names)} = " if names else "return "
    if len(indent) + len(head) + len(value) <= 100:
        return f"{indent}{head}{value}"
    if len(names) > 1 and len(indent) + len(head) > 50:
        inner = "".join(f"{indent}    {n},\n" for n in names)
        head = f"(\n{inner}{indent}) = "
        return f"{indent}{head}{_wrap(value, indent, 4)}"
    return f"{indent}{head}{_wrap(value, indent, len(head))}"


def _bare_attr(ctor: str) -> str:
    return "buffer" if ctor.startswith("buffer.") else "parameter"


def _hint(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, tuple):
        return "tuple[int, ...]"
    return "Any"


def _wrap(text: str, indent: str, lead: int = 0) -> str:
    """A call longer than the line written one argument per line (recursively); ``lead``:
    the characters before and after it on its first and last lines."""
    if len(indent) + lead + len(text) <= 100:
        return text
    start = min((i for i in (text.find(b) for b in "([{") if i >= 0), default=-1)
    if start < 0:
        return text
    depth, end = 0, -1
    for i in range(start, len(text)):
        if text[i] in "([{":
            depth += 1
        elif text[i] in ")]}":
            depth -= 1
            if depth == 0:
                end = i
                break
    parts = _split_args(text[start + 1 : end])
    if end < 0 or not parts:
        return text
    inner = indent + "    "
    comma = "" if len(parts) == 1 and " for _ in range(" in parts[0] else ","  # a generator
    body = "".join(f"{inner}{_wrap(p, inner, len(comma))}{comma}\n" for p in parts)
    return f"{text[: start + 1]}\n{body}{indent}{text[end:]}"


def _split_args(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


#: constructor keyword defaults of the torch modules whose keywords the writers omit when default
_KW_DEFAULTS: dict[str, Any] = {
    "stride": 1,
    "padding": 0,
    "output_padding": 0,
    "dilation": 1,
    "groups": 1,
    "bias": True,
    "eps": 1e-5,
    "momentum": 0.1,
    "affine": True,
    "track_running_stats": True,
}
_KW_ORDER = list(_KW_DEFAULTS)


def _defaults_apply(ctor: str) -> bool:
    return ctor.startswith(
        ("nn.Conv", "nn.ConvTranspose", "nn.BatchNorm", "nn.Linear", "PaddedConv")
    )


def _fill_defaults(m: _Member) -> None:
    """Write out every defaulted keyword so uses that differ only by a default line up."""
    if not _defaults_apply(m.ctor):
        return
    pos = [(k, v) for k, v in m.args if k is None]
    kws = dict((k, v) for k, v in m.args if k is not None)
    extra = {k: v for k, v in kws.items() if k not in _KW_DEFAULTS}
    relevant = [
        k
        for k in _KW_ORDER
        if not (
            m.ctor.startswith(("nn.BatchNorm", "nn.Linear"))
            and k in ("stride", "padding", "output_padding", "dilation", "groups")
        )
    ]
    if m.ctor.startswith("nn.Linear"):
        relevant = ["bias"]
    elif m.ctor.startswith("nn.BatchNorm"):
        relevant = ["eps", "momentum", "affine", "track_running_stats"]
    elif not m.ctor.startswith("nn.ConvTranspose"):
        relevant = [k for k in relevant if k in ("stride", "padding", "dilation", "groups", "bias")]
    else:
        relevant = [
            k
            for k in relevant
            if k in ("stride", "padding", "output_padding", "groups", "bias", "dilation")
        ]
    m.args = pos + [(k, kws.get(k, _KW_DEFAULTS[k])) for k in relevant] + list(extra.items())


def _is_default(ctor: str, kw: str | None, v: Any) -> bool:
    return (
        kw is not None
        and _defaults_apply(ctor)
        and not isinstance(v, _Code)
        and kw in _KW_DEFAULTS
        and v == _KW_DEFAULTS[kw]
        and type(v) is type(_KW_DEFAULTS[kw])
    )


def _fits(template: list[_Member], base: _Use, u: _Use) -> bool:
    """Whether use ``u`` is ``template`` (the members of ``base``) with some members skipped.

    A skipped member's name stands for its first input, as in the spec; ``u``'s wiring must be
    the template's with those names resolved, and every member present must be built alike.
    """
    if u.inputs != base.inputs:
        return False
    mine = {m.local: m for m in u.members}
    tpl = {m.local: m for m in template}
    if any(m.local not in tpl for m in u.members):
        return False
    if [m.local for m in template if m.local in mine] != [m.local for m in u.members]:
        return False

    def resolve(name: str) -> str:
        seen = 0
        while name in tpl and name not in mine and seen < len(tpl):
            if not tpl[name].refs:
                return name
            name = tpl[name].refs[0]
            seen += 1
        return name

    for t in template:
        m = mine.get(t.local)
        if m is None:
            continue
        if (m.ctor, [k for k, _ in m.args], m.live, m.pieces, m.alias) != (
            t.ctor,
            [k for k, _ in t.args],
            t.live,
            t.pieces,
            t.alias,
        ):
            return False
        if [resolve(r) for r in t.refs] != m.refs:
            return False
    return [resolve(o) for o in base.outs] == u.outs


def _init_signature(sig: str) -> list[str]:
    """``def __init__(self, a: int, …) -> None:``, one parameter per line when long."""
    line = f"    def __init__(self{', ' if sig else ''}{sig}) -> None:"
    if len(line) <= 100:
        return [line]
    return [
        "    def __init__(",
        "        self,",
        *(f"        {p}," for p in _split_args(sig)),
        "    ) -> None:",
    ]


def _index(use: _Use, local: str) -> int:
    return next(k for k, c in enumerate(use.item.children) if c.local == local)


class _Cand(NamedTuple):
    """A way to write an argument: ``param * factor``, its value per use, the param's values."""

    param: str
    base: list[Any]
    factor: int = 1
    divisor: int = 1

    @property
    def values(self) -> list[Any]:
        if self.factor == 1 and self.divisor == 1:
            return self.base
        return [b * self.factor // self.divisor if isinstance(b, int) else None for b in self.base]

    def code(self, name: str) -> str:
        if self.divisor > 1:
            return f"{name} // {self.divisor}"
        return name if self.factor == 1 else f"{name} * {self.factor}"


def _candidates(
    uses: list[_Use], params: list[str], values: list[Any], where: list[int]
) -> list[_Cand]:
    """Ways to write a varying argument: a block parameter, ``in_channels``, or one of them
    times a whole number (``planes * 4``)."""
    bases = [(p, [u.params[p] for u in uses]) for p in params]
    bases.append(("in_channels", [u.in_channels for u in uses]))
    out = [_Cand(p, b) for p, b in bases]
    if all(isinstance(values[i], int) and not isinstance(values[i], bool) for i in where):
        for p, b in bases:
            if not all(
                isinstance(b[i], int) and not isinstance(b[i], bool) and b[i] > 0 for i in where
            ):
                continue
            if all(values[i] % b[i] == 0 for i in where):
                ks = {values[i] // b[i] for i in where}
                if len(ks) == 1 and (k := ks.pop()) > 1:
                    out.append(_Cand(p, b, k))
            if all(values[i] == b[i] // 2 for i in where):  # "same" padding of an odd kernel
                out.append(_Cand(p, b, 1, 2))
    return out


class _Writer:
    def __init__(self, graph: Graph, wired: dict[str, set[tuple[str, int]]] | None = None) -> None:
        self.graph = graph
        self.helpers: set[str] = set()
        self.refused: dict[str, list[str]] = {}
        self.uses: dict[str, list[_Use]] = {}  # block → its uses, blocks in post-order
        self.classes: list[str] = []
        self.class_names: set[str] = {"Model", *HELPERS}
        self._use_of: dict[str, _Use] = {}
        #: spec variable → the layer arguments (node, index) it sets directly (build() takes it)
        self.wired = _wired_variables(graph) if wired is None else wired
        #: the arguments written as the variable (must be all of them, or build() would lie)
        self.converted: dict[str, set[tuple[str, int]]] = {v: set() for v in self.wired}
        #: block calls, and the namespaces written as a class (a block without a definition)
        self.calls: dict[str, BlockCall] = dict(graph.calls)
        #: namespace → "chain" (an nn.Sequential written inline) or "class"
        self.placed: dict[str, str] = {}
        #: block instance or namespace class → the layers inside it read from outside, besides
        #: its output (its forward returns them all: a tuple)
        self.extra: dict[str, list[str]] = {}
        #: node name → local name in the scope :meth:`members` wrote last
        self.last_owner: dict[str, str] = {}
        self._nodes_of: dict[int, list[str]] = {}
        #: a member sharing a sibling's weights → the sibling's local name (see :func:`_aliases`)
        self.alias: dict[str, str] = {}
        #: conv3d layers run on every RoI: written as a 2-D conv (see :func:`per_roi_convs`)
        self.per_roi = per_roi_convs(graph)
        self.readers: dict[str, list[str]] = {}
        #: node name → its place in the graph (the order forward runs a scope's members in)
        self.index = {n.name: k for k, n in enumerate(graph.nodes)}
        for n in graph.nodes:
            for i in n.inputs:
                self.readers.setdefault(i, []).append(n.name)

    def wired_var(self, items: list[_Item], ai: int, kw: str | None) -> str | None:
        """The variable every one of ``items`` (the same member in each use) takes as argument
        ``ai``: a layer argument the variable sets, or a block's parameter named after it."""
        for var, where in self.wired.items():
            if all(
                (it.node.name, ai) in where if it.kind == "layer" and it.node else kw == var
                for it in items
            ):
                self.converted[var].update(
                    (it.node.name, ai) for it in items if it.kind == "layer" and it.node
                )
                return var
        return None

    # -- pass 1: collect uses, bottom-up ---------------------------------------------------------
    def collect(self, items: list[_Item], block: _Item | None = None) -> None:
        """``block``: the block instance these items are in (None at the top level)."""
        for item in items:
            if item.kind != "layer":
                self.collect(item.children, item if item.kind == "block" else block)
            if item.kind == "namespace":
                self.place(item, block)
            elif item.kind == "block":
                call = self.graph.calls[item.full]
                self.extra[item.full] = self._read_outside(item, call.output)
                names = ["x" if n == "input" else _ident(n) for n in call.input_names]
                if len(names) == 1:
                    names = ["x"]
                use = _Use(
                    item,
                    call.block,
                    dict(call.params),
                    self.graph.shape_of(call.inputs[0])[0],
                    names,
                )
                self.uses.setdefault(call.block, []).append(use)

    def _read_outside(self, item: _Item, main: str) -> list[str]:
        """The layers inside ``item`` other than ``main`` that layers outside it read (or that
        are outputs of the network)."""
        nodes = self._nodes(item)
        inside = set(nodes)
        return [
            n
            for n in nodes
            if n != main
            and (n in self.graph.outputs or any(r not in inside for r in self.readers.get(n, ())))
        ]

    def place(self, item: _Item, block: _Item | None) -> None:
        """Decide how a namespace is written: an ``nn.Sequential`` when its members form a chain
        that nothing else reads into; a holder when it is no unit (below); else a class whose
        forward runs the sub-graph (a block without a definition: one class for its uses in the
        instances of ``block``).

        A holder is a container (``nn.ModuleList`` for members named ``0``, ``1``, …, else
        ``nn.ModuleDict``) whose members the enclosing scope's forward calls one by one, in the
        graph's order, as torchvision's FPN calls ``inner_blocks[i]`` and ``layer_blocks[i]``
        between its top-down steps. A namespace is one when its members are read from outside
        or read each other across other layers: its layers are not consecutive in the graph
        (they interleave with the scope's other layers, so no one call can run them), or its
        members are parallel modules, each reading only from outside it (FPN's four groups, a
        detector's predictors). A namespace of several applications of one module
        (:func:`_collapsed`) is that module, called at each member's place."""
        kids = item.children
        nodes = self._nodes(item)
        inside = set(nodes)
        if _collapsed(item, self.alias) or self._holds(item, nodes, inside):
            self.placed[item.full] = "holder"
            return
        for c in kids:
            if c.kind == "layer" and c.node and c.node.name == item.full and c.node.layer.weights():
                raise CnncalcError(
                    f"cannot export to PyTorch: layer '{item.full}' has weights and other layers "
                    f"are named '{item.full}.…' (a torch module cannot be both)",
                    file=self.graph.file,
                    layer=item.full,
                    hint="rename the layer or the layers inside it",
                )
        last = self._output(kids[-1])
        chain = (
            all(len(self._inputs(c)) == 1 for c in kids)
            and all(
                self._inputs(c) == (self._output(kids[k - 1]),) for k, c in enumerate(kids) if k
            )
            and not any(c.kind == "layer" and c.node and c.node.type in _BARE for c in kids)
            and not any(c.kind == "multi" or self.placed.get(c.full) == "holder" for c in kids)
            and all(r in inside for n in nodes if n != last for r in self.readers.get(n, ()))
            and not any(n in self.graph.outputs for n in nodes if n != last)
        )
        if chain and block is None:  # inside a block: a class, so its sizes are parameters
            self.placed[item.full] = "chain"
            return
        ins: list[str] = []
        for n in nodes:
            for i in self.graph.by_name[n].inputs:
                if i not in inside and i not in ins:
                    ins.append(i)
        outs = [
            n
            for n in nodes
            if n in self.graph.outputs or any(r not in inside for r in self.readers.get(n, ()))
        ]
        # the output: the layer named as the namespace, else the last layer read from outside
        main = next((n for n in outs if n == item.full), outs[-1] if outs else last)
        self.extra[item.full] = [n for n in outs if n != main]
        if block is None:
            key, params = "/" + item.full, {}
        else:
            call = self.calls[block.full]
            key, params = f"{call.block}/{item.full[len(block.full) + 1 :]}", dict(call.params)
        names = ("input",) if len(ins) == 1 else tuple(f"input{k}" for k in range(len(ins)))
        self.calls[item.full] = BlockCall(key, params, tuple(ins), main, names)
        self.placed[item.full] = "class"
        inputs = ["x"] if len(ins) == 1 else [_ident(n) for n in names]
        use = _Use(item, key, params, self.graph.shape_of(ins[0])[0] if ins else 0, inputs)
        self.uses.setdefault(key, []).append(use)

    def _holds(self, item: _Item, nodes: list[str], inside: set[str]) -> bool:
        """Whether namespace ``item`` is a holder (see :meth:`place`): its layers interleave
        with others in the graph, or it has several members, each reading only from outside
        it. Every member must be a module (not a bare parameter), and no layer is named as the
        namespace."""
        kids = item.children
        if any(
            c.kind == "layer" and c.node and (c.node.type in _BARE or c.node.name == item.full)
            for c in kids
        ):
            return False
        places = sorted(self.index[n] for n in nodes)
        if places[-1] - places[0] + 1 != len(places):
            return True
        return len(kids) > 1 and all(i not in inside for c in kids for i in self._inputs(c))

    def _nodes(self, item: _Item) -> list[str]:
        """The names of the layers in ``item``, in order (remembered: scopes ask often)."""
        if item.kind == "layer":
            assert item.node is not None
            return [item.node.name]
        got = self._nodes_of.get(id(item))
        if got is None:
            got = self._nodes_of[id(item)] = [n for c in item.children for n in self._nodes(c)]
        return got

    def _inputs(self, item: _Item) -> tuple[str, ...]:
        if item.kind == "layer":
            assert item.node is not None
            return item.node.inputs
        if self.placed.get(item.full) == "holder":  # what its members read from outside it
            inside = set(self._nodes(item))
            ins = [i for n in self._nodes(item) for i in self.graph.by_name[n].inputs]
            return tuple(dict.fromkeys(i for i in ins if i not in inside))
        if item.kind == "block" or self.placed.get(item.full) == "class":
            return self.calls[item.full].inputs
        return self._inputs(item.children[0])

    def _output(self, item: _Item) -> str:
        if item.kind == "layer":
            assert item.node is not None
            return item.node.name
        if item.kind == "block" or self.placed.get(item.full) == "class":
            return self.calls[item.full].output
        if item.kind == "multi":
            return self._output(item.children[0])
        if self.placed.get(item.full) == "holder":  # its last layer (a holder has no output)
            return self._nodes(item)[-1]
        return self._output(item.children[-1])

    def members(
        self, items: list[_Item], inputs: dict[str, str], outputs: list[str]
    ) -> list[_Member]:
        """The members of one scope instance; ``inputs`` maps outer node names to input names.

        A member is run by ``forward`` when the scope's ``outputs`` (node names) depend on it.
        A holder's members are members of the scope (local names ``inner_blocks.2``), called
        through the holder; ``forward`` runs the scope's members in the graph's order.
        """
        owner = dict(inputs)
        out: list[_Member] = []
        for item, local, call in self._flat(items):
            if self.placed.get(item.full) == "holder":
                if call is None:  # built here; a holder inside a holder is built by it
                    ctor, args = self.construct(item)
                    out.append(_Member(local, ctor, args, [], False, holder=True, item=item))
                continue
            if call is not None:  # its module is built by the holder
                out.append(_Member(local, "", [], [], False, call=call, item=item))
            else:
                ctor, args = self.construct(item)
                out.append(_Member(local, ctor, args, [], False, item=item))
                alias = self.alias.get(item.full)
                if alias is not None:
                    own = next(m for m in out if m.local == alias)
                    if (own.ctor, own.args) != (ctor, args):
                        raise self._built_differently(
                            item.full, alias, (ctor, args), (own.ctor, own.args)
                        )
                    out[-1].alias = alias
            if item.kind == "multi":
                for c in item.children:
                    assert c.node is not None
                    owner[c.node.name] = f"{local}.{c.local}"
                    out[-1].pieces.append(f"{local}.{c.local}")
            else:
                owner[self._output(item)] = local
            extra = self.extra.get(item.full) if item.kind != "layer" else None
            if extra:  # a block or class returning layers from inside it: a tuple
                out[-1].pieces.append(local)
                for n in extra:
                    owner[n] = f"{local}.{n[len(item.full) + 1 :]}"
                    out[-1].pieces.append(owner[n])
            for n in self._nodes(item):
                owner.setdefault(n, local)
        for m in out:  # after all: a holder's member may read one listed after it
            if not m.holder:
                assert m.item is not None
                m.refs = [owner.get(src, src) for src in self._inputs(m.item)]
        by_local = {m.local: m for m in out}
        by_local.update({p: m for m in out for p in m.pieces})
        self.last_owner = owner
        stack = [owner.get(o, o) for o in outputs]
        # a layer that runs in eval mode runs even when no output reads it (an R-CNN's RPN
        # head: its maps feed the proposal selection the spec does not model); a train-only
        # one (an auxiliary head) is built, not run
        by_name = self.graph.by_name
        stack += [
            m.local
            for m in out
            if not m.holder
            and m.item is not None
            and any(not by_name[n].train_only for n in self._nodes(m.item))
        ]
        while stack:
            m = by_local.get(stack.pop())
            if m is not None and not m.live:
                m.live = True
                stack.extend(m.refs)
        self._steps(out, by_local)
        return out

    def _flat(
        self, items: list[_Item], prefix: str = "", base: str | None = None
    ) -> list[tuple[_Item, str, str | None]]:
        """The members of a scope with each holder followed by its members, recursively:
        (item, local name, the expression calling its module when a holder builds it).
        ``base``: the expression of the holder ``items`` are in (None: the scope's own)."""
        out: list[tuple[_Item, str, str | None]] = []
        for k, item in enumerate(items):
            local = prefix + item.local
            call = None if base is None else self._in_holder(items, k, base)
            out.append((item, local, call))
            if self.placed.get(item.full) != "holder":
                continue
            if call is None:
                call = f"self.{local}" if _is_attr(local) else f"getattr(self, {local!r})"
            if _collapsed(item, self.alias):  # one module: every member calls it
                kids = item.children
                own = self.construct(kids[0])
                for c in kids[1:]:
                    if self.construct(c) != own:
                        raise self._built_differently(c.full, kids[0].full, self.construct(c), own)
                out += [(c, f"{local}.{c.local}", call) for c in kids]
            else:
                out += self._flat(item.children, local + ".", call)
        return out

    def _in_holder(self, kids: list[_Item], k: int, holder: str) -> str:
        """The expression of member ``k`` of a holder whose expression is ``holder``: its
        index (``nn.ModuleList``) or key (``nn.ModuleDict``); a member sharing a sibling's
        weights calls the sibling's."""
        item = kids[k]
        alias = self.alias.get(item.full)
        if alias is not None:
            item = next(c for c in kids if c.local == alias)
        if self._listed(kids):
            return f"{holder}[{item.local}]"
        return f"{holder}[{item.local!r}]"

    def _listed(self, kids: list[_Item]) -> bool:
        """Whether a holder's built members are named ``0``, ``1``, …: an ``nn.ModuleList``."""
        built = {c.local for c in kids if c.full not in self.alias}
        return built == {str(k) for k in range(len(built))}

    def holder(self, item: _Item) -> str:
        """A holder's constructor: ``nn.ModuleList`` in index order, else ``nn.ModuleDict``
        (a member sharing a sibling's weights is not built)."""
        kids = [c for c in item.children if c.full not in self.alias]
        if self._listed(item.children):
            kids.sort(key=lambda c: int(c.local))
            return "nn.ModuleList([" + ", ".join(_call(*self.construct(c)) for c in kids) + "])"
        pairs = ", ".join(f"{c.local!r}: {_call(*self.construct(c))}" for c in kids)
        return "nn.ModuleDict({" + pairs + "})"

    def _steps(self, members: list[_Member], by_local: dict[str, _Member]) -> None:
        """Each member's place in ``forward``: the graph's order of the members it runs (a
        topological order of them, the earliest first where free); holders are not run."""
        if not any(m.holder for m in members):
            for k, m in enumerate(members):
                m.step = k
            return
        import heapq

        first = {
            id(m): min(self.index[n] for n in self._nodes(m.item)) if m.item else k
            for k, m in enumerate(members)
        }
        needs = {
            id(m): {id(by_local[r]) for r in m.refs if r in by_local and by_local[r] is not m}
            for m in members
        }
        waiters: dict[int, list[int]] = {}  # a member → the members that read it
        for j, m in enumerate(members):
            for d in needs[id(m)]:
                waiters.setdefault(d, []).append(j)
        ready = [(first[id(m)], k) for k, m in enumerate(members) if not needs[id(m)]]
        heapq.heapify(ready)
        placed: set[int] = set()
        while ready:
            _, k = heapq.heappop(ready)
            members[k].step = len(placed)
            placed.add(k)
            for j in waiters.get(id(members[k]), ()):
                needs[id(members[j])].discard(id(members[k]))
                if not needs[id(members[j])]:
                    heapq.heappush(ready, (first[id(members[j])], j))
        for k, m in enumerate(members):  # a cycle: left in place, forward names what it misses
            if k not in placed:
                m.step = len(members) + k

    def _built_differently(
        self, full: str, owner: str, mine: tuple[str, Any], theirs: tuple[str, Any]
    ) -> CnncalcError:
        """A layer that shares ``owner``'s weights but whose module is constructed otherwise."""
        return CnncalcError(
            f"cannot export to PyTorch: '{full}' shares the weights of '{owner}' but is built "
            f"differently ({_call(*mine)} vs {_call(*theirs)})",
            file=self.graph.file,
            layer=full,
        )

    def construct(self, item: _Item) -> tuple[str, list[tuple[str | None, Any]]]:
        if item.kind in ("layer", "multi"):
            node = item.node if item.kind == "layer" else item.children[0].node
            assert node is not None
            try:
                if node.name in self.per_roi:
                    form = _roi_conv(node.layer)
                else:
                    form = PYTORCH[node.type](node.layer)
            except Unsupported as err:
                self.refused.setdefault(f"{node.type} ({err})", []).append(node.name)
                return "nn.Identity", []
            self.helpers.update(form.helpers)
            if item.kind == "multi":  # one module for all the pieces: it returns them all
                return form.ctor, [(k, v) for k, v in form.args if k != "index"]
            return form.ctor, form.args
        if item.kind == "block" or self.placed.get(item.full) == "class":
            use = self._use_of[item.full]
            return use.cls, use.args
        if self.placed.get(item.full) == "holder":
            if _collapsed(item, self.alias):  # one module, named as the namespace
                return self.construct(item.children[0])
            return self.holder(item), []
        if item.kind == "namespace":
            return self.namespace(item), []
        return self.sequential(item), []

    def namespace(self, item: _Item) -> str:
        """Layers named ``features.0``, ``features.1``, … (dots in their names) that form a chain
        nothing else reads into (see :meth:`place`): an ``nn.Sequential`` with those names."""
        kids = item.children
        calls = [_call(*self.construct(c)) for c in kids]
        if [c.local for c in kids] == [str(k) for k in range(len(kids))]:
            return "nn.Sequential(" + ", ".join(calls) + ")"
        self.helpers.add("OrderedDict")
        pairs = ", ".join(f"({c.local!r}, {call})" for c, call in zip(kids, calls))
        return "nn.Sequential(OrderedDict([" + pairs + "]))"

    def sequential(self, item: _Item) -> str:
        """A repeat group: ``nn.Sequential`` of its instances, identical runs as a generator."""
        first = item.children[0]
        inner = [c.full for c in item.children if self.extra.get(c.full)]
        if inner:
            raise CnncalcError(
                f"cannot export the repeat '{item.full}' to PyTorch: layers inside "
                f"'{inner[0]}' are read from outside it (nn.Sequential passes one tensor on)",
                file=self.graph.file,
                layer=item.full,
                hint="write the entries without repeat",
            )
        if len(self._inputs(first)) > 1:
            raise CnncalcError(
                f"cannot export the repeat '{item.full}' to PyTorch: its first instance takes "
                f"{len(self._inputs(first))} inputs (nn.Sequential passes one)",
                file=self.graph.file,
                layer=item.full,
                hint="write the entry without repeat",
            )
        calls = [_call(*self.construct(c)) for c in item.children]
        parts: list[str] = []
        k = 0
        while k < len(calls):
            j = k
            while j + 1 < len(calls) and calls[j + 1] == calls[k]:
                j += 1
            if j - k + 1 >= 3:
                parts.append(f"*({calls[k]} for _ in range({j - k + 1}))")
            else:
                parts.extend(calls[k : j + 1])
            k = j + 1
        return "nn.Sequential(" + ", ".join(parts) + ")"

    # -- pass 2: decide the classes, bottom-up ---------------------------------------------------
    def decide(self) -> None:
        """Decide every block's classes, a block only after the blocks used inside it."""
        self._use_of = {u.item.full: u for uses in self.uses.values() for u in uses}
        deps: dict[str, set[str]] = {b: set() for b in self.uses}
        for full, v in self._use_of.items():  # the nearest use around each use waits for it
            parts = full.split(".")
            for k in range(len(parts) - 1, 0, -1):
                around = self._use_of.get(".".join(parts[:k]))
                if around is not None:
                    deps[around.block].add(v.block)
                    break
        done: set[str] = set()
        while len(done) < len(deps):
            ready = [b for b in deps if b not in done and deps[b] - {b} <= done]
            for b in ready:
                self.decide_block(b)
                done.add(b)

    def decide_block(self, block: str) -> None:
        uses = self.uses[block]
        for u in uses:
            call = self.calls[u.item.full]
            outs = [call.output, *self.extra.get(u.item.full, ())]
            u.members = self.members(u.item.children, dict(zip(call.inputs, u.inputs)), outs)
            u.out = self.members_out(u)
            u.outs = [u.out, *(self.last_owner.get(o, o) for o in outs[1:])]
            for m in u.members:
                _fill_defaults(m)
        # uses that differ only by members skipped with ``when`` share one class
        classes: list[tuple[_Use, list[_Use]]] = []
        for u in sorted(uses, key=lambda u: -len(u.members)):
            for base, group in classes:
                if _fits(base.members, base, u):
                    group.append(u)
                    break
            else:
                classes.append((u, [u]))
        order = {id(u): k for k, u in enumerate(uses)}
        for base, group in sorted(classes, key=lambda c: min(order[id(u)] for u in c[1])):
            group.sort(key=lambda u: order[id(u)])
            self.write_class(block, base, group)

    def members_out(self, u: _Use) -> str:
        out = self.calls[u.item.full].output
        for item in u.item.children:
            if self.placed.get(item.full) != "holder" and self._output(item) == out:
                return item.local
        if out in self._nodes(u.item):  # a layer in a holder: the member that computes it
            return self.last_owner[out]
        return u.inputs[0]  # every layer of the block skipped: the block is the identity

    def write_class(self, block: str, base: _Use, uses: list[_Use]) -> None:
        """One class for ``uses`` (``base`` has every member; the others skip some)."""
        template = base.members
        name = stem = _camel(block)
        k = 2
        while name in self.class_names:
            name = f"{stem}{k}"
            k += 1
        self.class_names.add(name)
        first = uses[0]
        pnames: list[str] = []
        pvalues: dict[str, list[Any]] = {}

        def register(pname: str, values: list[Any]) -> str:
            pname = _ident(pname)
            while pname in pvalues and pvalues[pname] != values:
                pname += "_"
            if pname not in pvalues:
                pnames.append(pname)
                pvalues[pname] = values
            return pname

        def param(candidates: list[_Cand], values: list[Any], where: list[int]) -> str:
            """Code for the first candidate equal to ``values`` in the uses ``where``."""
            for cand in candidates:
                if all(
                    cand.values[i] == values[i] and type(cand.values[i]) is type(values[i])
                    for i in where
                ):
                    break
            else:
                cand = candidates[-1]
            return cand.code(register(cand.param, cand.base))

        params = list(first.params)

        def g_value(var: str) -> Any:
            return self.graph.variables[var]

        slots: dict[tuple[int, int], Any] = {}
        flags: dict[int, str] = {}
        for mi, m in enumerate(template):
            present = [next((x for x in u.members if x.local == m.local), None) for u in uses]
            where = [i for i, x in enumerate(present) if x is not None]
            if len(where) < len(uses):  # an optional member: a flag decides it
                have = [x is not None for x in present]
                cands = [
                    _Cand(p, [u.params[p] for u in uses])
                    for p in params
                    if all(isinstance(u.params[p], bool) for u in uses)
                ]
                cands.append(_Cand(f"has_{m.local}", have))
                flags[mi] = param(cands, have, list(range(len(uses))))
            if not m.args:  # nothing to write as a parameter (a holder's member: no args)
                continue
            items = [uses[i].item.children[_index(uses[i], m.local)] for i in where]
            for ai, (kw, v) in enumerate(m.args):
                values = [x.args[ai][1] if x is not None else None for x in present]
                var = self.wired_var(items, ai, kw)
                if var is not None:  # a spec variable build() passes down to this argument
                    slots[(mi, ai)] = register(var, [g_value(var)] * len(uses))
                    continue
                if all(values[i] == v and type(values[i]) is type(v) for i in where):
                    # the same wherever present; a member some uses skip still takes the
                    # block's parameters when they give it (sizes ≥ 2: 1 and 0 are too common)
                    if len(where) == len(uses) or type(v) is not int or v < 2:
                        continue
                    cands = _candidates(uses, params, values, where)
                    hit = [c for c in cands if all(c.values[i] == values[i] for i in where)]
                    if hit:
                        slots[(mi, ai)] = param(hit, values, where)
                    continue
                cands = _candidates(uses, params, values, where)
                what = kw or ("in" if ai == 0 else "out" if ai == 1 else f"arg{ai}")
                if kw and m.ctor in self.class_names:  # a parameter of a class written here
                    cands.append(_Cand(kw, values))
                elif m.local.isidentifier():
                    cands.append(_Cand(f"{m.local}_{what}", values))
                else:  # a member named 0, 1, …: the argument's own name (register keeps it apart)
                    cands.append(_Cand(what, values))
                slots[(mi, ai)] = param(cands, values, where)
        for i, u in enumerate(uses):
            u.cls = name
            u.args = [(p, pvalues[p][i]) for p in pnames]
        # the class
        seq = (
            not flags
            and not any(_parameter_kind(m.ctor) for m in template)
            and all(m.local == str(k) for k, m in enumerate(template))
            and all(
                m.live and m.refs == ([first.inputs[0]] if k == 0 else [str(k - 1)])
                for k, m in enumerate(template)
            )
            and len(first.inputs) == 1
            and base.out == str(len(template) - 1)
            and len(base.outs) == 1
            and not any(m.alias for m in template)
        )
        sig = ", ".join(
            f"{p}: {_hint(next(x for x in pvalues[p] if x is not None))}" for p in pnames
        )
        n = len(uses)
        what = f"Block '{_text(block)}' of the spec"
        if "/" in block:  # a namespace written as a class
            owner, path = block.split("/", 1)
            where = f"of block '{_text(owner)}'" if owner else "of the spec"
            what = f"The layers '{_text(path)}.…' {where}"
        lines = [
            f"class {name}(nn.{'Sequential' if seq else 'Module'}):",
            f'    """{what} ({n} use{"s" if n > 1 else ""})."""',
            "",
            *_init_signature(sig),
        ]
        ctors = []
        for mi, m in enumerate(template):
            args = [
                (kw, _Code(slots[(mi, ai)]) if (mi, ai) in slots else v)
                for ai, (kw, v) in enumerate(m.args)
            ]
            args = [(kw, v) for kw, v in args if not _is_default(m.ctor, kw, v)]
            c = _call(m.ctor, args)
            if mi in flags:
                c = f"{c} if {flags[mi]} else None"
            ctors.append((m, c))
        if seq:
            lines.append("        super().__init__(")
            lines += [f"            {_wrap(c, '            ')}," for _, c in ctors]
            lines.append("        )")
        else:
            lines.append("        super().__init__()")
            for m, c in ctors:
                if m.alias is None and m.call is None:  # a shared module: built by its owner
                    lines.append(_assign(m, c))
            optional = {template[mi].local for mi in flags}
            lines += self.forward(template, first.inputs, base.outs, optional)
        self.classes.append("\n".join(lines))

    def forward(
        self,
        members: list[_Member],
        inputs: list[str],
        outputs: list[str],
        optional: set[str] | frozenset[str] = frozenset(),
    ) -> list[str]:
        var = {n: n for n in inputs}
        used = set(inputs)
        #: what the scope reads: a run member nothing reads is called without a name
        read = set(outputs) | {r for m in members for r in m.refs}
        args = ", ".join(f"{n}: Tensor" for n in inputs)
        ret = "Tensor" if len(outputs) == 1 else "tuple[Tensor, ...]"
        lines = ["", f"    def forward(self, {args}) -> {ret}:"]
        if len(lines[1]) > 100:
            lines[1:] = ["    def forward(", "        self,"]
            lines += [f"        {n}: Tensor," for n in inputs] + [f"    ) -> {ret}:"]
        for m in sorted(members, key=lambda m: m.step):
            if m.holder:  # a container: its members are called, not it
                continue
            v = _ident(m.local)
            while v in used:
                v += "_"
            used.add(v)
            if not m.live:
                var[m.local] = v
                lines.append(f"        # {m.local}: not on the way to an output (built, not run)")
                continue
            name = m.alias or m.local  # a shared module: its owner's
            attr = f"self.{name}" if _is_attr(name) else f"getattr(self, {name!r})"
            if m.call is not None:  # a holder's member (or one sharing its weights)
                attr = m.call
            elif _parameter_kind(m.ctor) and not _is_attr(name):
                attr = f"self.get_{_bare_attr(m.ctor)}({name!r})"
            missing = [r for r in m.refs if r not in var]
            if missing:
                raise CnncalcError(
                    f"cannot export to PyTorch: layer '{m.local}' reads '{missing[0]}', which the "
                    "export cannot place (a wiring of the spec language it does not know yet)",
                    file=self.graph.file,
                    layer=m.local,
                )
            kind = _parameter_kind(m.ctor)
            if kind is not None:
                x = var[m.refs[0]] if m.refs else ""
                call = PARAMETER_FORWARD[kind][0].format(x=x, p=attr)
            else:
                call = f"{attr}({', '.join(var[r] for r in m.refs)})"
            if m.local in optional:  # skipped by `when`: the name stands for its first input
                call = f"{call} if {attr} is not None else {var[m.refs[0]]}"
            var[m.local] = v
            if m.pieces:  # a several-output layer: one variable per output
                vs = []
                for p in m.pieces:
                    if p == m.local:  # a block's own output, first of its tuple
                        var[p] = v
                        vs.append(v if p in read else f"_{v}")
                        continue
                    vp = _ident(p) if p in read else "_" + _ident(p)
                    while vp in used:
                        vp += "_"
                    used.add(vp)
                    var[p] = vp
                    vs.append(vp)
                lines.append(_statement(vs, call))
                continue
            if m.local not in read:  # run (eval mode runs it), its result not used here
                lines.append(_statement([], call).replace("return ", "", 1))
                continue
            lines.append(_statement([v], call))
        missing = [o for o in outputs if o not in var]
        if missing:
            raise CnncalcError(
                f"cannot export to PyTorch: the output '{missing[0]}' sits inside a block or "
                "a chain of dotted names (a wiring the export cannot place yet)",
                file=self.graph.file,
            )
        outs = [var[o] for o in outputs]
        ret_line = _statement([], ", ".join(outs))
        if len(ret_line) > 100:  # a long tuple: in brackets, one name per line
            ret_line = _statement([], f"({', '.join(outs)})")
        lines.append(ret_line)
        return lines

    # -- the model -------------------------------------------------------------------------------
    def model(self, items: list[_Item]) -> tuple[str, list[tuple[str, Any]]]:
        g = self.graph
        names = ["x" if (k == "input" or len(g.inputs) == 1) else _ident(k) for k in g.inputs]
        members = self.members(items, dict(zip(g.inputs, names)), list(g.outputs))
        variables = [(v, g.variables[v]) for v in self.wired]
        for m in members:
            if m.item is None:
                continue
            for ai, (kw, _) in enumerate(m.args):
                var = self.wired_var([m.item], ai, kw)
                if var is not None:
                    m.args[ai] = (kw, _Code(_ident(var)))
        owner = self.last_owner
        outs = [owner.get(o, o) for o in g.outputs]
        sig = ", ".join(f"{_ident(n)}: {_hint(v)} = {_py(v)}" for n, v in variables)
        lines = [
            "class Model(nn.Module):",
            f'    """{_text(g.name)}: the whole network."""',
            "",
            *_init_signature(sig),
            "        super().__init__()",
        ]
        for m in members:
            if m.alias is None and m.call is None:  # a shared module: built by its owner
                lines.append(_assign(m, _call(m.ctor, m.args)))
        lines += self.forward(members, names, outs)
        return "\n".join(lines), variables


def _forms(graph: Graph) -> dict[str, list[tuple[str | None, Any]]]:
    out = {}
    for n in graph.nodes:
        try:
            out[n.name] = PYTORCH[n.type](n.layer).args
        except (KeyError, Unsupported):
            out[n.name] = []
    return out


#: at most this many integer variables are tried as build() parameters (one rebuild each)
MAX_WIRED_TRIES = 12


def _wired_variables(graph: Graph) -> dict[str, set[tuple[str, int]]]:
    """The spec variables ``build()`` can take: an integer variable is rebuilt with its value
    + 1; if that changes only layer arguments equal to the variable, each by exactly 1, the
    variable sets those arguments directly (``num_classes``) and nothing else depends on it.
    A variable that also sizes other layers (a width feeding the next layer's input) is not
    offered: its value stays fixed in the file."""
    if graph.file is None:
        return {}
    from .. import build

    out: dict[str, set[tuple[str, int]]] = {}
    mine = _forms(graph)
    # only a value some layer argument has can be passed to one
    present = {v for args in mine.values() for _, v in args if type(v) is int}
    tries = 0
    for var, value in graph.variables.items():
        if isinstance(value, bool) or not isinstance(value, int) or value not in present:
            continue
        if tries >= MAX_WIRED_TRIES:
            break
        tries += 1
        try:
            other = build(
                graph.file,
                next(iter(graph.inputs.values())),
                variant=graph.variant,
                variables={**graph.overrides, var: value + 1},
            )
        except CnncalcError:
            continue
        theirs = _forms(other)
        if list(mine) != list(theirs):
            continue
        where: set[tuple[str, int]] = set()
        ok = True
        for name, args in mine.items():
            new = theirs[name]
            if len(args) != len(new):
                ok = False
                break
            for ai, ((k1, v1), (k2, v2)) in enumerate(zip(args, new)):
                if (k1, v1) == (k2, v2):
                    continue
                if k1 != k2 or v1 != value or v2 != value + 1 or type(v1) is not int:
                    ok = False
                    break
                where.add((name, ai))
        if ok and where:
            out[var] = where
    return out


def module_calls(graph: Graph, modules: Container[str]) -> dict[tuple[str, int | None], list[str]]:
    """Where the written model computes each layer: (module path, piece index or None) → the
    layers that module's calls stand for, in graph order. ``modules``: the written model's module
    paths (``named_modules()``). A layer sharing a sibling's weights (``share``) is a call of the
    sibling's module, so one module can stand for several layers, as does a namespace of
    applications of one module (``head.p4.conv`` is a call of ``head.conv``); a piece of a
    several-output layer (``x.1`` of a chunk) is piece 1 of module ``x``'s tuple."""
    alias: dict[str, str] = {}
    tree = _tree(graph)
    _aliases(tree, alias, [])
    collapsed = _collapsed_names(tree, alias)

    def path_of(name: str) -> str:
        parts = name.split(".")
        for k in range(len(parts), 0, -1):  # the longest aliased scope holding the layer
            full = ".".join(parts[:k])
            parent = full.rpartition(".")[0]
            if parent in collapsed:  # one module for all its members: named as the namespace
                return path_of(parent) + name[len(full) :]
            local = alias.get(full)
            if local is not None:
                parent = full.rpartition(".")[0]
                return (f"{parent}.{local}" if parent else local) + name[len(full) :]
        return name

    calls: dict[tuple[str, int | None], list[str]] = {}
    for node in graph.nodes:
        path = path_of(node.name)
        if path in modules:
            calls.setdefault((path, None), []).append(node.name)
        elif (piece := _piece(node)) is not None:
            calls.setdefault((path.rpartition(".")[0], piece), []).append(node.name)
    return calls


def to_pytorch(graph: Graph) -> str:
    """The PyTorch source of ``graph`` (one module, torch only). Refuses unsupported layers."""
    refuse_unsupported(graph, PYTORCH, REFUSED, "PyTorch")
    alias: dict[str, str] = {}
    shared: list[str] = []
    _aliases(_tree(graph), alias, shared)
    if shared:
        raise CnncalcError(
            f"cannot export {graph.name} to PyTorch: layers sharing the weights of a layer "
            "outside their scope ('share'): "
            + ", ".join(shared[:3])
            + (f", … ({len(shared)} layers)" if len(shared) > 3 else ""),
            file=graph.file,
            hint="a shared layer is written as a call of its owner's module, which must be a "
            "sibling (same scope, same layers); the ONNX export supports any sharing",
        )
    wired: dict[str, set[tuple[str, int]]] | None = None
    while True:
        w = _Writer(graph, wired)
        w.alias = alias
        items = _tree(graph)
        w.collect(items)
        w.decide()
        model, variables = w.model(items)
        # a variable some of whose arguments could not be written as it (a block class shared
        # with uses that do not take it) is not offered: write again without it
        partial = [v for v, where in w.wired.items() if w.converted[v] != where]
        if not partial:
            break
        wired = {v: where for v, where in w.wired.items() if v not in partial}
    if w.refused:
        raise CnncalcError(
            f"cannot export {graph.name} to PyTorch: "
            + "; ".join(f"{k}: {', '.join(v[:3])}" for k, v in w.refused.items()),
            file=graph.file,
        )
    ordered = "OrderedDict" in w.helpers
    w.helpers.discard("OrderedDict")
    chunks = [HELPERS[h].strip() for h in sorted(w.helpers)] + w.classes + [model]
    body = "\n\n\n" + "\n\n\n".join(chunks)
    sig = ", ".join(f"{_ident(n)}: {_hint(v)} = {_py(v)}" for n, v in variables)
    call = ", ".join(f"{_ident(n)}={_ident(n)}" for n, _ in variables)
    body += (
        "\n\n\n"
        f"def build({sig}) -> Model:\n"
        f'    """The model, built with these values of the spec\'s variables."""\n'
        f"    return Model({call})\n"
    )
    imports = ["from __future__ import annotations", ""]
    stdlib = []
    if ordered:
        stdlib.append("from collections import OrderedDict")
    if "Any" in body:
        stdlib.append("from typing import Any")
    if stdlib:
        imports += [*stdlib, ""]
    if "torch." in body.replace("torch.nn", ""):
        imports.append("import torch")
    if "F." in body:
        imports.append("import torch.nn.functional as F")
    imports.append("from torch import Tensor, nn" if "Tensor" in body else "from torch import nn")
    from pathlib import Path

    source = Path(graph.file).name if graph.file else "a spec"
    shapes = ", ".join(
        ("" if len(graph.inputs) == 1 else f"{_text(k)} ") + f"(N, {', '.join(map(str, v))})"
        for k, v in graph.inputs.items()
    )
    doc = [
        f'"""{_text(graph.name)}, written by `cnncalc export` from {_text(source)}. Depends on torch only.',
        "",
        f"Input {shapes}, batch first. Layer names and state_dict keys are the spec's;",
        "build() takes the spec variables used directly as layer arguments, every other value was",
        "fixed when this file was written (export again with --set to change them).",
        '"""',
        "",
    ]
    return "\n".join(doc + imports) + body


def to_pytorch_spec(source: Any, **build_kwargs: Any) -> str:
    """The PyTorch source of a spec (path, zoo name or dict): :func:`cnncalc.build` + export."""
    from .. import build

    return to_pytorch(build(source, **build_kwargs))
