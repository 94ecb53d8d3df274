"""PyTorch modules, traced with ``torch.fx`` (``pip install "cnncalc[torch]"``):
``cnncalc.from_torch(module, (3, 224, 224))`` returns the spec dict of the module.

``torch.fx.symbolic_trace`` records the module's forward as a graph of module calls
(``call_module``, named by their module path: the layer ``layer1.0.conv1``), functions
(``torch.cat``, ``operator.add``) and tensor methods (``x.flatten(1)``). The module is then run once on a zero input of batch 1
to record every tensor's shape (fx's ShapeProp). Modules map to cnncalc layers through
:data:`TORCH_MODULES` and functions/methods through :data:`TORCH_FUNCTIONS`, the two tables
of this format. A module whose forward does not trace (data-dependent control flow) is refused
in one line with the tracer's reason: export it to ONNX instead.

Files are never unpickled: ``cnncalc summary model.pt`` is refused (see :mod:`cnncalc.importers`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from ..errors import CnncalcError
from ._build import SpecBuilder, clean_name

__all__ = ["from_torch", "TORCH_MODULES", "TORCH_FUNCTIONS"]


def _torch() -> Any:
    try:
        import torch
        import torch.fx  # noqa: F401
    except ImportError:
        raise CnncalcError(
            "from_torch needs PyTorch", hint='pip install "cnncalc[torch]", or read an ONNX export'
        ) from None
    return torch


def _shape(node: Any) -> tuple[int, ...] | None:
    tm = node.meta.get("tensor_meta")
    shape = getattr(tm, "shape", None)
    return tuple(int(d) for d in shape) if shape is not None else None


def _c(shape: tuple[int, ...]) -> list[int]:
    """The batch-excluded shape (batch 1 traced)."""
    return list(shape[1:])


def _ax(dim: int, shape: tuple[int, ...] | None) -> int:
    """A PyTorch dim (batch included) → cnncalc's axis (batch excluded)."""
    n = len(shape) if shape else 4
    d = dim % n
    if d == 0:
        raise CnncalcError("an operation along the batch dimension cannot be counted per sample")
    return d - 1


def _pair(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


class _Ctx:
    def __init__(self, b: SpecBuilder, gm: Any) -> None:
        self.b = b
        self.gm = gm
        self.name: dict[Any, str] = {}  # fx node → cnncalc layer name
        self.module_layer: dict[str, str] = {}  # module path → its first cnncalc layer

    def x(self, arg: Any) -> str:
        if arg not in self.name:
            raise CnncalcError(f"the operation uses {arg!r}, which is not a traced tensor")
        return self.name[arg]


# --- modules ------------------------------------------------------------------------------------

ModuleHandler = Callable[[_Ctx, Any, Any, str], tuple[str, dict[str, Any] | None]]


def _conv(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
    r = len(m.kernel_size)
    pad = m.padding if isinstance(m.padding, str) else _pair(m.padding)
    return f"conv{r}d", {
        "out_channels": m.out_channels,
        "kernel_size": _pair(m.kernel_size),
        "stride": _pair(m.stride),
        "padding": pad,
        "dilation": _pair(m.dilation),
        "groups": m.groups,
        "bias": m.bias is not None,
    }


def _conv_t(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
    r = len(m.kernel_size)
    return f"conv_transpose{r}d", {
        "out_channels": m.out_channels,
        "kernel_size": _pair(m.kernel_size),
        "stride": _pair(m.stride),
        "padding": _pair(m.padding),
        "output_padding": _pair(m.output_padding),
        "dilation": _pair(m.dilation),
        "groups": m.groups,
        "bias": m.bias is not None,
    }


def _linear(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
    return "linear", {"out_features": m.out_features, "bias": m.bias is not None}


def _bn(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
    t = type(m).__name__.lower()  # batchnorm1d / 2d / 3d
    return t, {
        "eps": m.eps,
        "affine": m.affine,
        "track_running_stats": m.track_running_stats,
    }


def _ln(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
    return "layernorm", {
        "normalized_shape": list(m.normalized_shape),
        "eps": m.eps,
        "elementwise_affine": m.elementwise_affine,
        "bias": getattr(m, "bias", None) is not None,
    }


def _gn(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
    return "groupnorm", {"num_groups": m.num_groups, "eps": m.eps, "affine": m.affine}


def _act(t: str) -> Callable[[Any, Any], tuple[str, dict[str, Any] | None]]:
    def h(m: Any, node: Any) -> tuple[str, dict[str, Any] | None]:
        if t == "leaky_relu":
            return t, {"negative_slope": m.negative_slope}
        if t == "elu":
            return t, {"alpha": m.alpha}
        if t == "gelu" and getattr(m, "approximate", "none") != "none":
            return t, {"approximate": m.approximate}
        return t, None

    return h


def _pool(kind: str) -> Callable[[Any, Any], tuple[str, dict[str, Any]]]:
    def h(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
        k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,)
        r = len(_c(_shape(node) or (1, 1, 1, 1))) - 1
        args: dict[str, Any] = {
            "kernel_size": _pair(m.kernel_size),
            "stride": _pair(m.stride) if m.stride is not None else _pair(m.kernel_size),
            "padding": _pair(m.padding),
            "ceil_mode": m.ceil_mode,
        }
        if kind == "avgpool":
            args["count_include_pad"] = m.count_include_pad
        elif getattr(m, "dilation", 1) not in (1, (1,) * len(k)):
            args["dilation"] = _pair(m.dilation)
        return f"{kind}{r}d", args

    return h


def _adaptive(kind: str) -> Callable[[Any, Any], tuple[str, dict[str, Any]]]:
    def h(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
        r = len(_c(_shape(node) or (1, 1, 1, 1))) - 1
        return f"adaptive_{kind}{r}d", {"output_size": _pair(m.output_size)}

    return h


def _flatten(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
    shape = _shape(node.args[0]) if node.args else None
    return "flatten", {"start_dim": _ax(m.start_dim, shape), "end_dim": _end(m.end_dim, shape)}


def _end(dim: int, shape: tuple[int, ...] | None) -> int:
    return -1 if dim == -1 else _ax(dim, shape)


def _dropout(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
    return "dropout", {"p": float(m.p)}


def _identity(m: Any, node: Any) -> tuple[str, None]:
    return "identity", None


def _softmax(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
    return "softmax", {"axis": _ax(m.dim if m.dim is not None else 1, _shape(node))}


def _upsample(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
    out = _shape(node)
    args: dict[str, Any] = {"size": list(out[2:]) if out else None, "mode": m.mode}
    if m.mode in ("linear", "bilinear", "trilinear", "bicubic"):
        args["align_corners"] = bool(m.align_corners)
    return "upsample", args


def _zeropad(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
    p = list(m.padding)  # (left, right, top, bottom, …): last axis first
    pairs = [[p[i], p[i + 1]] for i in range(0, len(p), 2)][::-1]
    return f"zero_pad{len(pairs)}d", {"padding": pairs}


def _mha(m: Any, node: Any) -> tuple[str, dict[str, Any]]:
    if not m.batch_first or not m._qkv_same_embed_dim:
        raise CnncalcError(
            f"'{node.target}': MultiheadAttention is read with batch_first=True and equal "
            "query/key/value widths"
        )
    if len({id(a) for a in node.args[:3]}) != 1:
        raise CnncalcError(f"'{node.target}': MultiheadAttention is read as self-attention")
    return "multi_head_attention", {"num_heads": m.num_heads, "bias": m.in_proj_bias is not None}


#: nn.Module class name → (cnncalc type, arguments) from the module's attributes.
TORCH_MODULES: dict[str, Callable[[Any, Any], tuple[str, dict[str, Any] | None]]] = {
    **{f"Conv{r}d": _conv for r in (1, 2, 3)},
    **{f"ConvTranspose{r}d": _conv_t for r in (1, 2, 3)},
    "Linear": _linear,
    **{f"BatchNorm{r}d": _bn for r in (1, 2, 3)},
    "LayerNorm": _ln,
    "GroupNorm": _gn,
    "ReLU": _act("relu"),
    "ReLU6": _act("relu6"),
    "LeakyReLU": _act("leaky_relu"),
    "ELU": _act("elu"),
    "Sigmoid": _act("sigmoid"),
    "Tanh": _act("tanh"),
    "SiLU": _act("silu"),
    "GELU": _act("gelu"),
    "Hardswish": _act("hardswish"),
    "Hardsigmoid": _act("hardsigmoid"),
    "Mish": _act("mish"),
    **{f"MaxPool{r}d": _pool("maxpool") for r in (1, 2, 3)},
    **{f"AvgPool{r}d": _pool("avgpool") for r in (1, 2, 3)},
    **{f"AdaptiveAvgPool{r}d": _adaptive("avgpool") for r in (1, 2, 3)},
    **{f"AdaptiveMaxPool{r}d": _adaptive("maxpool") for r in (1, 2, 3)},
    "Flatten": _flatten,
    **{c: _dropout for c in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout")},
    "Identity": _identity,
    "Softmax": _softmax,
    "Upsample": _upsample,
    **{f"ZeroPad{r}d": _zeropad for r in (1, 2, 3)},
    "MultiheadAttention": _mha,
}


# --- functions and methods -------------------------------------------------------------------

FnHandler = Callable[[_Ctx, Any], str | None]


def _binary(kind: str) -> FnHandler:
    def h(ctx: _Ctx, node: Any) -> str | None:
        xs = [ctx.x(a) for a in node.args if a in ctx.name]
        if len(xs) < 2:  # x + 1, x * 0.5: with a fixed number (a constant, no weights)
            c = ctx.b.add("constant", {"shape": [1], "learned": "none"}, f"{node.name}_value")
            xs.append(c)
        return ctx.b.add(kind, None, node.name, xs)

    return h


def _fn_act(t: str) -> FnHandler:
    def h(ctx: _Ctx, node: Any) -> str | None:
        return ctx.b.add(t, None, node.name, [ctx.x(node.args[0])])

    return h


def _cat(ctx: _Ctx, node: Any) -> str | None:
    xs = node.args[0]
    if len(xs) == 1:  # torch.cat of one tensor: the tensor
        return ctx.x(xs[0])
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    axis = _ax(dim, _shape(node))
    return ctx.b.add("concat", {"axis": axis}, node.name, [ctx.x(a) for a in xs])


def _fn_flatten(ctx: _Ctx, node: Any) -> str | None:
    shape = _shape(node.args[0])
    start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
    end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
    if start % len(shape or (1, 1)) == 0:
        return _reshape(ctx, node)
    return ctx.b.add(
        "flatten", {"start_dim": _ax(start, shape), "end_dim": _end(end, shape)}, node.name,
        [ctx.x(node.args[0])],
    )  # fmt: skip


def _reshape(ctx: _Ctx, node: Any) -> str | None:
    out = _shape(node)
    if out is None or out[0] != 1:
        raise CnncalcError(f"'{node.name}': a reshape that moves the batch dimension")
    return ctx.b.add("reshape", {"shape": _c(out)}, node.name, [ctx.x(node.args[0])])


def _permute(ctx: _Ctx, node: Any) -> str | None:
    dims = node.args[1:] if len(node.args) > 1 else node.kwargs.get("dims")
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = dims[0]
    n = len(dims)
    dims = [d % n for d in dims]
    if dims[0] != 0:
        raise CnncalcError(f"'{node.name}': a permute that moves the batch dimension")
    return ctx.b.add("permute", {"dims": [d - 1 for d in dims[1:]]}, node.name,
                     [ctx.x(node.args[0])])  # fmt: skip


def _transpose(ctx: _Ctx, node: Any) -> str | None:
    shape = _shape(node.args[0])
    n = len(shape) if shape else 0
    a, b = (d % n for d in node.args[1:3])
    dims = list(range(n))
    dims[a], dims[b] = dims[b], dims[a]
    if dims[0] != 0:
        raise CnncalcError(f"'{node.name}': a transpose that moves the batch dimension")
    return ctx.b.add("permute", {"dims": [d - 1 for d in dims[1:]]}, node.name,
                     [ctx.x(node.args[0])])  # fmt: skip


def _mean(ctx: _Ctx, node: Any) -> str | None:
    shape = _shape(node.args[0]) or ()
    dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    keep = node.kwargs.get("keepdim", node.args[2] if len(node.args) > 2 else False)
    if sorted(d % len(shape) for d in dims) != list(range(2, len(shape))):
        return None
    return ctx.b.add("global_avg_pool", {"keepdims": bool(keep)}, node.name, [ctx.x(node.args[0])])


def _adaptive_fn(kind: str) -> FnHandler:
    def h(ctx: _Ctx, node: Any) -> str | None:
        r = len(_shape(node) or (1, 1, 1, 1)) - 2
        size = node.args[1] if len(node.args) > 1 else node.kwargs["output_size"]
        return ctx.b.add(f"adaptive_{kind}{r}d", {"output_size": _pair(size)}, node.name,
                         [ctx.x(node.args[0])])  # fmt: skip

    return h


def _passthrough(ctx: _Ctx, node: Any) -> str | None:
    return ctx.x(node.args[0])


def _getitem(ctx: _Ctx, node: Any) -> str | None:
    """``out[0]`` of a module returning a tuple (attention's output), ``x[:, i]`` (a token)."""
    src, idx = node.args[0], node.args[1]
    if not isinstance(_shape_or_none(src), tuple):  # a tuple-valued producer
        return ctx.x(src) if idx == 0 else None
    if (isinstance(idx, tuple) and len(idx) == 2 and idx[0] == slice(None)
            and isinstance(idx[1], int)):  # fmt: skip
        return ctx.b.add("select_token", {"index": idx[1]}, node.name, [ctx.x(src)])
    return None


def _expand(ctx: _Ctx, node: Any) -> str | None:
    """``token.expand(n, -1, -1)`` at batch 1 is the tensor itself."""
    src = node.args[0]
    return ctx.x(src) if _shape_or_none(src) == _shape_or_none(node) else None


def _shape_or_none(node: Any) -> Any:
    tm = node.meta.get("tensor_meta")
    return tuple(tm.shape) if hasattr(tm, "shape") else None


#: function or method name → handler (functions by their qualified name, methods by name).
TORCH_FUNCTIONS: dict[str, FnHandler] = {
    "add": _binary("add"),
    "iadd": _binary("add"),
    "mul": _binary("multiply"),
    "imul": _binary("multiply"),
    "cat": _cat,
    "concat": _cat,
    "flatten": _fn_flatten,
    "view": _reshape,
    "reshape": _reshape,
    "permute": _permute,
    "transpose": _transpose,
    "mean": _mean,
    "relu": _fn_act("relu"),
    "relu_": _fn_act("relu"),
    "relu6": _fn_act("relu6"),
    "sigmoid": _fn_act("sigmoid"),
    "tanh": _fn_act("tanh"),
    "silu": _fn_act("silu"),
    "gelu": _fn_act("gelu"),
    "hardswish": _fn_act("hardswish"),
    "hardsigmoid": _fn_act("hardsigmoid"),
    "adaptive_avg_pool2d": _adaptive_fn("avgpool"),
    "adaptive_max_pool2d": _adaptive_fn("maxpool"),
    "contiguous": _passthrough,
    "clone": _passthrough,
    "dropout": _passthrough,
    "stochastic_depth": _passthrough,  # torchvision.ops: identity at inference
    "getitem": _getitem,
    "expand": _expand,
}

_OPERATORS = {operator.add: "add", operator.iadd: "iadd", operator.mul: "mul",
              operator.imul: "imul"}  # fmt: skip


def _fn_name(target: Any) -> str:
    if target in _OPERATORS:
        return _OPERATORS[target]
    if isinstance(target, str):
        return target
    return getattr(target, "__name__", str(target))


def from_torch(
    module: Any, input_shape: tuple[int, ...] | list[int], name: str | None = None
) -> dict[str, Any]:
    """The spec dict of a PyTorch module at ``input_shape`` (channels first, batch excluded).

    ``cnncalc.analyze(cnncalc.from_torch(model, (3, 224, 224)))`` gives the usual report; the
    dict can be written as an editable spec (:func:`cnncalc.importers._yaml.spec_to_yaml`).
    """
    torch = _torch()
    from torch.fx.passes.shape_prop import ShapeProp

    label = name or type(module).__name__
    shape = tuple(int(d) for d in input_shape)
    was_training = module.training
    module.eval()  # trace the inference graph (auxiliary heads off, dropout off)
    try:
        gm = torch.fx.symbolic_trace(module)
    except Exception as exc:
        module.train(was_training)
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise CnncalcError(
            f"torch.fx cannot trace {label}: {reason}",
            hint="export the model to ONNX (torch.onnx.export) and give the .onnx file",
        ) from None
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(torch.zeros((1, *shape)))
    except Exception as exc:
        reason = " ".join(str(exc).split())[:300]
        raise CnncalcError(
            f"{label} does not run on an input of shape {list(shape)} (batch 1): {reason}",
            hint="give the input shape the model expects, channels first, batch excluded",
        ) from None
    finally:
        module.train(was_training)
    b = SpecBuilder(label, "PyTorch")
    ctx = _Ctx(b, gm)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise CnncalcError(f"{label}: from_torch reads modules with one input tensor")
    outputs: list[str] = []
    counted_params: dict[str, str] = {}
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            ctx.name[node] = "input"
        elif node.op == "call_module":
            mod = gm.get_submodule(node.target)
            cls = type(mod).__name__
            fn = TORCH_MODULES.get(cls)
            if fn is None:
                b.unknown(f"module {cls}", node.target)
                ctx.name[node] = (
                    ctx.x(node.args[0]) if node.args and node.args[0] in ctx.name else "input"
                )
                continue
            t, args = fn(mod, node)
            share = ctx.module_layer.get(node.target)
            inputs = [ctx.x(a) for a in node.args if a in ctx.name]
            if t == "multi_head_attention":  # self-attention: query = key = value
                inputs = inputs[:1]
            lname = b.add(t, args, clean_name(node.target), inputs, share=share)
            ctx.module_layer.setdefault(node.target, lname)
            ctx.name[node] = lname
        elif node.op in ("call_function", "call_method"):
            fname = _fn_name(node.target)
            fn = TORCH_FUNCTIONS.get(fname)
            data = [a for a in _flat(node.args) if isinstance(a, torch.fx.Node) and a in ctx.name]
            if not data or node.meta.get("tensor_meta") is None:
                continue  # shape queries, asserts and constants: no layer
            out = fn(ctx, node) if fn is not None else None
            if out is None:
                b.unknown(f"{'method' if node.op == 'call_method' else 'function'} {fname}",
                          node.name)  # fmt: skip
                out = ctx.x(data[0])
            ctx.name[node] = out
        elif node.op == "get_attr":
            val = _get_attr(gm, node.target)
            if isinstance(val, torch.nn.Parameter) or (
                isinstance(val, torch.Tensor) and val.requires_grad
            ):
                shape_p = tuple(val.shape)
                learned = "param" if node.target not in counted_params else "none"
                s = list(shape_p[1:]) if len(shape_p) >= 2 and shape_p[0] == 1 else list(shape_p)
                lname = b.add("constant", {"shape": s, "learned": learned}, clean_name(node.target))
                counted_params.setdefault(node.target, lname)
                ctx.name[node] = lname
        elif node.op == "output":
            outs = node.args[0]
            outs = outs if isinstance(outs, (list, tuple)) else [outs]
            outputs = [ctx.name[o] for o in outs if o in ctx.name]
    b.check_unknown("operation", hint="export the model to ONNX and read the .onnx file, "
                    "or describe the unknown part in a spec (docs/importers.md)")  # fmt: skip
    spec = b.spec(label, {"input": list(shape)}, outputs, source=f"PyTorch module {label}, "
                  "traced with torch.fx by cnncalc.from_torch")  # fmt: skip
    _check_params(module, spec)
    return spec


def _flat(args: Any) -> list[Any]:
    out: list[Any] = []
    for a in args:
        out.extend(_flat(a) if isinstance(a, (list, tuple)) else [a])
    return out


def _get_attr(gm: Any, target: str) -> Any:
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _check_params(module: Any, spec: dict[str, Any]) -> None:
    """The imported graph must count every parameter of the module exactly once; a module
    whose parameters are not all used in forward is said so in a caveat."""
    from ..analysis import analyze_graph
    from ..graph import build_graph
    from ..spec import read_spec

    total = sum(p.numel() for p in module.parameters())
    rep = analyze_graph(build_graph(read_spec(spec)))
    if rep.params != total:
        spec.setdefault("caveats", []).append(
            f"the module has {total:,} parameters; the traced forward uses {rep.params:,} "
            f"({total - rep.params:+,} not counted: unused in forward, or held by a module "
            "cnncalc reads differently)"
        )
