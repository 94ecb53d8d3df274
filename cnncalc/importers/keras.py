"""Keras model configs, read as plain JSON: ``model.to_json()`` (Keras 3 and Keras 2) and
``.keras`` archives (their ``config.json``; the weights file is never opened).

No TensorFlow or Keras is needed or imported. The config is a description of layers and their
connections; every layer class maps to cnncalc layers through :data:`KERAS_LAYERS`, the one
table of this format. Keras is channels-last: shapes become channels-first (``(224, 224, 3)``
→ ``(3, 224, 224)``) and axis arguments follow (the last axis is cnncalc's axis 0).

``Lambda`` layers (and Keras 2's ``TFOpLambda``) hold Python bytecode: cnncalc never runs it,
so it cannot know what they cost and refuses the model, naming them. ``lambda_as_identity=True``
(``cnncalc convert --lambda-as-identity``) instead writes each as a zero-cost ``identity`` with a
caveat printed on every analysis, for a spec the user then edits by hand.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import CnncalcError
from . import MAX_TEXT_BYTES, read_text
from ._build import SpecBuilder

__all__ = ["read_file", "read", "KERAS_LAYERS", "KERAS_ACTIVATIONS"]


class T(NamedTuple):
    """A tensor while importing: the cnncalc layer producing it and its rank without the batch."""

    name: str
    rank: int


class _Ctx:
    def __init__(self, b: SpecBuilder, channels_last: bool, lambda_as_identity: bool) -> None:
        self.b = b
        self.channels_last = channels_last
        self.lambda_as_identity = lambda_as_identity

    def axis(self, a: Any, rank: int, name: str) -> int:
        """A Keras axis (batch included, channels last) → cnncalc's (batch excluded, channels 0)."""
        r = rank + 1
        if not isinstance(a, int) or isinstance(a, bool) or not -r <= a < r:
            raise CnncalcError(f"layer '{name}': axis {a!r} does not fit a rank-{r} tensor")
        k = a % r
        if k == 0:
            raise CnncalcError(f"layer '{name}': axis 0 is the batch axis")
        if not self.channels_last:
            return k - 1
        return 0 if k == r - 1 else k


# --- handlers: (ctx, cfg, name, inputs) → output tensor --------------------------------------

Handler = Callable[[_Ctx, dict, str, list[T]], T]

#: Keras activation names → cnncalc layer types (None: no layer, "linear").
KERAS_ACTIVATIONS: dict[str, str | None] = {
    "linear": None,
    "relu": "relu",
    "relu6": "relu6",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",
    "swish": "silu",
    "silu": "silu",
    "gelu": "gelu",
    "elu": "elu",
    "hard_sigmoid": "hardsigmoid",
    "hard_swish": "hardswish",
    "hard_silu": "hardswish",
    "leaky_relu": "leaky_relu",
    "mish": "mish",
}


def _act_name(value: Any) -> str:
    if isinstance(value, dict):  # Keras 3 may serialise a function as a dict
        inner = value.get("config")
        if isinstance(inner, str):
            return inner
        return str(value.get("class_name", value.get("registered_name", "?")))
    return str(value) if value is not None else "linear"


def _activation_after(ctx: _Ctx, x: T, act: Any, name: str, own_name: bool = False) -> T:
    """The activation a Keras layer applies after itself (``activation='relu'``)."""
    a = _act_name(act)
    if a not in KERAS_ACTIVATIONS:
        ctx.b.unknown(f"activation '{a}'", name)
        return x
    t = KERAS_ACTIVATIONS[a]
    if t is None:
        return x
    return T(ctx.b.add(t, None, name if own_name else f"{name}_{a}", x.name), x.rank)


def _tuple(v: Any, rank: int) -> list[int]:
    return list(v) if isinstance(v, (list, tuple)) else [v] * rank


def _spatial(cls: str) -> int:
    for r in (1, 2, 3):
        if f"{r}D" in cls:
            return r
    return 2


def _padding(cfg: dict, name: str) -> Any:
    p = cfg.get("padding", "valid")
    if p not in ("valid", "same"):
        raise CnncalcError(f"layer '{name}': padding {p!r} is not supported (valid, same)")
    return p


def _window(cfg: dict, name: str, r: int) -> dict:
    """A Keras conv's window: kernel, strides, padding and dilation as cnncalc's arguments."""
    return {
        "kernel_size": _tuple(cfg["kernel_size"], r),
        "stride": _tuple(cfg.get("strides", 1), r),
        "padding": _padding(cfg, name),
        "dilation": _tuple(cfg.get("dilation_rate", 1), r),
    }


def _conv(cls: str) -> Handler:
    def h(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
        r = _spatial(cls)
        args = {
            "out_channels": cfg["filters"],
            **_window(cfg, name, r),
            "groups": cfg.get("groups", 1),
            "bias": bool(cfg.get("use_bias", True)),
        }
        x = T(ctx.b.add(f"conv{r}d", args, name, xs[0].name), xs[0].rank)
        return _activation_after(ctx, x, cfg.get("activation"), name)

    return h


def _depthwise(cls: str) -> Handler:
    def h(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
        r = _spatial(cls)
        m = cfg.get("depth_multiplier", 1)
        args = {
            "out_channels": f"in_channels * {int(m)}",
            **_window(cfg, name, r),
            "groups": "in_channels",
            "bias": bool(cfg.get("use_bias", True)),
        }
        x = T(ctx.b.add(f"conv{r}d", args, name, xs[0].name), xs[0].rank)
        return _activation_after(ctx, x, cfg.get("activation"), name)

    return h


def _separable(cls: str) -> Handler:
    """Depthwise (no bias) then pointwise 1×1 (with the layer's bias), as Keras builds it."""

    def h(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
        r = _spatial(cls)
        m = cfg.get("depth_multiplier", 1)
        dw = {
            "out_channels": f"in_channels * {int(m)}",
            **_window(cfg, name, r),
            "groups": "in_channels",
            "bias": False,
        }
        d = ctx.b.add(f"conv{r}d", dw, f"{name}_depthwise", xs[0].name)
        pw = {
            "out_channels": cfg["filters"],
            "kernel_size": 1,
            "bias": bool(cfg.get("use_bias", True)),
        }
        x = T(ctx.b.add(f"conv{r}d", pw, name, d), xs[0].rank)
        return _activation_after(ctx, x, cfg.get("activation"), name)

    return h


def _conv_transpose(cls: str) -> Handler:
    """Keras's 'same' (output = input · stride) becomes padding (k − s)/2, rounded up, with the
    odd pixel as output_padding; MACs do not depend on the padding of a transposed conv."""

    def h(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
        r = _spatial(cls)
        k = _tuple(cfg["kernel_size"], r)
        s = _tuple(cfg.get("strides", 1), r)
        pad: list[int] = [0] * r
        out_pad: list[int] = [0] * r
        if _padding(cfg, name) == "same":
            for i in range(r):
                total = k[i] - s[i]
                if total < 0:
                    raise CnncalcError(
                        f"layer '{name}': 'same' transposed conv with stride {s[i]} > kernel {k[i]}"
                    )
                pad[i], out_pad[i] = (total + 1) // 2, total % 2
        args = {
            "out_channels": cfg["filters"],
            "kernel_size": k,
            "stride": s,
            "padding": pad,
            "output_padding": out_pad,
            "dilation": _tuple(cfg.get("dilation_rate", 1), r),
            "bias": bool(cfg.get("use_bias", True)),
        }
        x = T(ctx.b.add(f"conv_transpose{r}d", args, name, xs[0].name), xs[0].rank)
        return _activation_after(ctx, x, cfg.get("activation"), name)

    return h


def _dense(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    """Dense acts on the last Keras axis, cnncalc's channel axis: on a rank > 1 tensor it is
    written as permute → linear → permute (permutes cost nothing)."""
    x = xs[0]
    args = {"out_features": cfg["units"], "bias": bool(cfg.get("use_bias", True))}
    if x.rank == 1:
        out = T(ctx.b.add("linear", args, name, x.name), 1)
    else:
        n = x.rank
        to_last = [*range(1, n), 0]
        back = [n - 1, *range(n - 1)]
        p = ctx.b.add("permute", {"dims": to_last}, f"{name}_to_last", x.name)
        lin = ctx.b.add("linear", args, name, p)
        out = T(ctx.b.add("permute", {"dims": back}, f"{name}_back", lin), n)
    return _activation_after(ctx, out, cfg.get("activation"), name)


def _batchnorm(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    x = xs[0]
    axis = cfg.get("axis", -1)
    if isinstance(axis, list):
        if len(axis) != 1:
            raise CnncalcError(f"layer '{name}': batch norm over several axes {axis}")
        axis = axis[0]
    if ctx.axis(axis, x.rank, name) != 0:
        raise CnncalcError(
            f"layer '{name}': batch norm over axis {axis}, not the channels, is not supported"
        )
    args = {
        "eps": float(cfg.get("epsilon", 1e-3)),
        "scale": bool(cfg.get("scale", True)),
        "center": bool(cfg.get("center", True)),
    }
    t = {1: "batchnorm1d", 2: "batchnorm1d", 3: "batchnorm2d", 4: "batchnorm3d"}.get(x.rank)
    return T(ctx.b.add(t or "batchnorm", args, name, x.name), x.rank)


def _layernorm(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    x = xs[0]
    if x.rank != 1:
        raise CnncalcError(
            f"layer '{name}': LayerNormalization is read on rank-1 (feature) tensors only, "
            f"got rank {x.rank}"
        )
    args = {
        "eps": float(cfg.get("epsilon", 1e-3)),
        "elementwise_affine": bool(cfg.get("scale", True) or cfg.get("center", True)),
        "bias": bool(cfg.get("center", True)),
    }
    return T(ctx.b.add("layernorm", args, name, x.name), 1)


def _activation(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    return _activation_after(ctx, xs[0], cfg.get("activation"), name, own_name=True)


def _relu(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    mx = cfg.get("max_value")
    slope = cfg.get("negative_slope", 0.0) or 0.0
    thr = cfg.get("threshold", 0.0) or 0.0
    if thr:
        raise CnncalcError(f"layer '{name}': ReLU with threshold {thr} is not supported")
    if slope and mx is None:
        return T(
            ctx.b.add("leaky_relu", {"negative_slope": float(slope)}, name, xs[0].name), xs[0].rank
        )
    if mx is None:
        return T(ctx.b.add("relu", None, name, xs[0].name), xs[0].rank)
    if float(mx) == 6.0 and not slope:
        return T(ctx.b.add("relu6", None, name, xs[0].name), xs[0].rank)
    raise CnncalcError(f"layer '{name}': ReLU(max_value={mx}, negative_slope={slope})")


def _leaky(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    slope = cfg.get("negative_slope", cfg.get("alpha", 0.3))
    return T(
        ctx.b.add("leaky_relu", {"negative_slope": float(slope)}, name, xs[0].name), xs[0].rank
    )


def _elu(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    return T(
        ctx.b.add("elu", {"alpha": float(cfg.get("alpha", 1.0))}, name, xs[0].name), xs[0].rank
    )


def _softmax(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    x = xs[0]
    axis = ctx.axis(cfg.get("axis", -1), x.rank, name)
    return T(ctx.b.add("softmax", {"axis": axis}, name, x.name), x.rank)


def _pool(kind: str) -> Handler:
    def h(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
        r = xs[0].rank - 1
        k = _tuple(cfg.get("pool_size", 2), r)
        s = cfg.get("strides")
        args = {
            "kernel_size": k,
            "stride": _tuple(s, r) if s is not None else k,
            "padding": _padding(cfg, name),
        }
        if kind == "avgpool":
            args["count_include_pad"] = False  # Keras averages over the valid pixels only
        return T(ctx.b.add(f"{kind}{r}d", args, name, xs[0].name), xs[0].rank)

    return h


def _global(kind: str) -> Handler:
    def h(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
        keep = bool(cfg.get("keepdims", False))
        out = ctx.b.add(kind, {"keepdims": keep}, name, xs[0].name)
        return T(out, xs[0].rank if keep else 1)

    return h


def _pairs(v: Any, r: int) -> list[list[int]]:
    if isinstance(v, int):
        return [[v, v]] * r
    out = []
    for p in v:
        out.append([p, p] if isinstance(p, int) else [int(p[0]), int(p[1])])
    return out


def _zeropad(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    r = xs[0].rank - 1
    args = {"padding": _pairs(cfg.get("padding", 1), r)}
    return T(ctx.b.add(f"zero_pad{r}d", args, name, xs[0].name), xs[0].rank)


def _crop(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    r = xs[0].rank - 1
    args = {"cropping": _pairs(cfg.get("cropping", 0), r)}
    return T(ctx.b.add(f"crop{r}d", args, name, xs[0].name), xs[0].rank)


def _upsample(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    r = xs[0].rank - 1
    size = _tuple(cfg.get("size", 2), r)
    if len(set(size)) != 1:
        raise CnncalcError(f"layer '{name}': UpSampling with different factors per axis {size}")
    mode = cfg.get("interpolation", "nearest")
    mode = {"bilinear": {1: "linear", 2: "bilinear", 3: "trilinear"}[r]}.get(mode, mode)
    args = {"scale_factor": float(size[0]), "mode": mode}
    return T(ctx.b.add("upsample", args, name, xs[0].name), xs[0].rank)


def _flatten(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    return T(ctx.b.add("flatten", None, name, xs[0].name), 1)


def _dropout(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    return T(ctx.b.add("dropout", {"p": float(cfg.get("rate", 0.5))}, name, xs[0].name), xs[0].rank)


def _merge(kind: str) -> Handler:
    def h(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
        return T(ctx.b.add(kind, None, name, [x.name for x in xs]), xs[0].rank)

    return h


def _concat(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    axis = ctx.axis(cfg.get("axis", -1), xs[0].rank, name)
    return T(ctx.b.add("concat", {"axis": axis}, name, [x.name for x in xs]), xs[0].rank)


def _to_first(ctx: _Ctx, shape: list[Any]) -> list[Any]:
    if ctx.channels_last and len(shape) > 1:
        return [shape[-1], *shape[:-1]]
    return list(shape)


def _reshape(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    target = _to_first(ctx, list(cfg["target_shape"]))
    return T(ctx.b.add("reshape", {"shape": target}, name, xs[0].name), len(target))


def _permute(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    dims = list(cfg["dims"])  # 1-based over the non-batch Keras axes
    r = len(dims)

    def f(k: int) -> int:  # Keras axis (1-based) → cnncalc axis
        return (0 if k == r else k) if ctx.channels_last else k - 1

    out = [0] * r
    for j, d in enumerate(dims, start=1):
        out[f(j)] = f(int(d))
    return T(ctx.b.add("permute", {"dims": out}, name, xs[0].name), r)


def _rescaling(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    args = {"scale": float(cfg.get("scale", 1.0)), "offset": float(cfg.get("offset", 0.0))}
    return T(ctx.b.add("rescaling", args, name, xs[0].name), xs[0].rank)


def _normalization(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    return T(ctx.b.add("normalization", None, name, xs[0].name), xs[0].rank)


def _identity(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    return T(ctx.b.add("identity", None, name, xs[0].name), xs[0].rank)


def _lambda(ctx: _Ctx, cfg: dict, name: str, xs: list[T]) -> T:
    if not ctx.lambda_as_identity:
        ctx.b.unknown("Lambda (Python code, never run)", name)
        return xs[0]
    ctx.b.caveats.append(
        f"Keras Lambda layer '{name}' holds Python code that cnncalc never runs: it is counted "
        "as a zero-cost identity (--lambda-as-identity); edit the spec to state what it does"
    )
    return T(ctx.b.add("identity", None, name, xs[0].name), xs[0].rank)


#: Keras layer class → handler: the one mapping of this format (a layer class not here is
#: reported, with every other unknown one, in one error).
KERAS_LAYERS: dict[str, Handler] = {
    **{c: _conv(c) for c in ("Conv1D", "Conv2D", "Conv3D", "Convolution2D")},
    **{c: _depthwise(c) for c in ("DepthwiseConv1D", "DepthwiseConv2D")},
    **{c: _separable(c) for c in ("SeparableConv1D", "SeparableConv2D")},
    **{c: _conv_transpose(c) for c in ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")},
    "Dense": _dense,
    "BatchNormalization": _batchnorm,
    "LayerNormalization": _layernorm,
    "Activation": _activation,
    "ReLU": _relu,
    "LeakyReLU": _leaky,
    "ELU": _elu,
    "Softmax": _softmax,
    **{f"MaxPooling{r}D": _pool("maxpool") for r in (1, 2, 3)},
    **{f"AveragePooling{r}D": _pool("avgpool") for r in (1, 2, 3)},
    **{f"GlobalAveragePooling{r}D": _global("global_avg_pool") for r in (1, 2, 3)},
    **{f"GlobalMaxPooling{r}D": _global("global_max_pool") for r in (1, 2, 3)},
    **{f"ZeroPadding{r}D": _zeropad for r in (1, 2, 3)},
    **{f"Cropping{r}D": _crop for r in (1, 2, 3)},
    **{f"UpSampling{r}D": _upsample for r in (1, 2, 3)},
    "Flatten": _flatten,
    **{
        c: _dropout for c in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
    },
    "Add": _merge("add"),
    "Subtract": _merge("add"),  # same cost as an add: one operation per element
    "Multiply": _merge("multiply"),
    "Concatenate": _concat,
    "Reshape": _reshape,
    "Permute": _permute,
    "Rescaling": _rescaling,
    "Normalization": _normalization,
    "Identity": _identity,
    "Lambda": _lambda,
    "TFOpLambda": _lambda,
    "SlicingOpLambda": _lambda,
}

_MODELS = ("Functional", "Model", "Sequential")


# --- reading ------------------------------------------------------------------------------------


def read_file(
    path: Path, input_shape: tuple[int, ...] | None = None, *, lambda_as_identity: bool = False
) -> dict[str, Any]:
    """The spec dict of a Keras JSON file or ``.keras`` archive."""
    if path.suffix.lower() == ".keras":
        text = _archive_config(path)
    else:
        text = read_text(path, "the Keras model JSON")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CnncalcError(
            f"not valid JSON: {str(exc)[:120]}",
            file=str(path),
            hint="give the output of model.to_json() or a .keras archive",
        ) from None
    return read(doc, str(path), input_shape, lambda_as_identity=lambda_as_identity)


def _archive_config(path: Path) -> str:
    """``config.json`` of a ``.keras`` zip archive (size checked before reading)."""
    try:
        with zipfile.ZipFile(path) as z:
            try:
                info = z.getinfo("config.json")
            except KeyError:
                raise CnncalcError(
                    "the .keras archive has no config.json", file=str(path)
                ) from None
            if info.file_size > MAX_TEXT_BYTES:
                raise CnncalcError(
                    f"config.json is {info.file_size:,} bytes; at most {MAX_TEXT_BYTES:,} are read",
                    file=str(path),
                )
            data = z.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise CnncalcError(
            f"not a readable .keras archive (a zip file): {exc}",
            file=str(path),
            hint="save the model with model.save('model.keras'), or give model.to_json()",
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CnncalcError("config.json in the archive is not UTF-8", file=str(path)) from None


def read(
    doc: Any,
    file: str,
    input_shape: tuple[int, ...] | None = None,
    *,
    lambda_as_identity: bool = False,
) -> dict[str, Any]:
    """The spec dict of a Keras model config (the parsed JSON)."""
    try:
        return _Reader(file, input_shape, lambda_as_identity).model(doc)
    except CnncalcError as err:
        raise err.locate(file=file) from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise CnncalcError(
            f"not a Keras model config ({type(exc).__name__}: {str(exc)[:100]})",
            file=file,
            hint="give the output of model.to_json() (Keras 2 or 3) or a .keras archive",
        ) from None


class _Reader:
    def __init__(
        self, file: str, input_shape: tuple[int, ...] | None, lambda_as_identity: bool
    ) -> None:
        self.file = file
        self.input_shape = input_shape
        self.b = SpecBuilder(file, "Keras")
        self.lambda_as_identity = lambda_as_identity
        self.inputs: dict[str, list[int]] = {}
        self.ctx: _Ctx | None = None

    def model(self, doc: Any) -> dict[str, Any]:
        if not isinstance(doc, dict) or doc.get("class_name") not in _MODELS:
            got = doc.get("class_name") if isinstance(doc, dict) else type(doc).__name__
            raise CnncalcError(
                f"expected a Keras model (class_name Functional, Model or Sequential), got {got!r}",
                hint="give the output of model.to_json() or a .keras archive",
            )
        cfg = doc["config"]
        self.ctx = _Ctx(self.b, not _channels_first(cfg), self.lambda_as_identity)
        outs = self.run_model(doc["class_name"], cfg, "", None)
        lambdas = any(op.startswith("Lambda") for op in self.b.unknown_ops)
        self.b.check_unknown(
            "layer",
            hint="cnncalc never runs a Lambda's code; replace it by a standard layer, or "
            "`cnncalc convert --lambda-as-identity` to write a spec with it as a zero-cost "
            "identity and edit that"
            if lambdas
            else "see docs/importers.md for the Keras layers cnncalc reads",
        )
        version = doc.get("keras_version")
        source = f"Keras {'2' if version and str(version).startswith('2') else '3'} model config"
        return self.b.spec(
            str(cfg.get("name") or Path(self.file).stem),
            self.inputs,
            [t.name for t in outs],
            source=f"{source} read from {Path(self.file).name} by cnncalc",
        )

    def run_model(self, cls: str, cfg: dict, prefix: str, bound: list[T] | None) -> list[T]:
        if cls == "Sequential":
            return [self.sequential(cfg, prefix, bound)]
        return self.functional(cfg, prefix, bound)

    # --- inputs ---
    def new_input(self, name: str, cfg: dict) -> T:
        shape = cfg.get("batch_shape", cfg.get("batch_input_shape"))
        if shape is not None:
            shape = list(shape)[1:]
        elif cfg.get("shape") is not None:
            shape = list(cfg["shape"])
        else:
            raise CnncalcError(f"input '{name}' has no shape in the config")
        return self._register_input(name, shape)

    def _register_input(self, name: str, shape: list[Any]) -> T:
        assert self.ctx is not None
        first = not self.inputs
        key = "input" if first else self.b.unique(name)
        cf = _to_first(self.ctx, shape)
        if any(d is None for d in cf):
            if first and self.input_shape is not None:
                cf = list(self.input_shape)
            else:
                raise CnncalcError(
                    f"input '{name}' has an unknown size {tuple(shape)} (None = any)",
                    hint="fix it with --input, e.g. --input 3x224x224 (channels first)",
                )
        self.inputs[key] = [int(d) for d in cf]
        return T(key, len(cf))

    # --- Sequential ---
    def sequential(self, cfg: dict, prefix: str, bound: list[T] | None) -> T:
        layers = cfg["layers"]
        x = bound[0] if bound else None
        if x is None:
            shape = cfg.get("build_input_shape")
            first = layers[0] if layers else {}
            fcfg = first.get("config", {})
            if first.get("class_name") == "InputLayer":
                x = self.new_input(fcfg.get("name", "input"), fcfg)
            elif "batch_input_shape" in fcfg or "batch_shape" in fcfg:
                x = self.new_input("input", fcfg)
            elif shape is not None:
                x = self.new_input("input", {"batch_shape": shape})
            else:
                raise CnncalcError(
                    "the Sequential model has no input shape",
                    hint="build the model (or give it an Input) before model.to_json()",
                )
        for layer in layers:
            if layer.get("class_name") == "InputLayer":
                continue
            x = self.apply(layer, prefix, [x], 0)[0]
        return x

    # --- Functional ---
    def functional(self, cfg: dict, prefix: str, bound: list[T] | None) -> list[T]:
        tensors: dict[tuple[str, int, int], T] = {}
        in_refs = list(cfg.get("input_layers", []))
        if in_refs and isinstance(in_refs[0], str):  # Keras 3 writes a single input flat
            in_refs = [in_refs]
        layers = {layer["name"] if "name" in layer else layer["config"]["name"]: layer
                  for layer in cfg["layers"]}  # fmt: skip
        for i, ref in enumerate(in_refs):
            lname = ref[0]
            if bound is not None:
                tensors[(lname, 0, 0)] = bound[i]
            else:
                tensors[(lname, 0, 0)] = self.new_input(lname, layers[lname]["config"])
        pending = [layer for layer in cfg["layers"] if layer.get("class_name") != "InputLayer"]
        while pending:
            progress = []
            for layer in pending:
                name = layer.get("name") or layer["config"]["name"]
                nodes = _inbound(layer.get("inbound_nodes", []))
                done = True
                for k, refs in enumerate(nodes):
                    if (name, k, 0) in tensors:
                        continue
                    if not all(tuple(r) in tensors for r in refs):
                        done = False
                        continue
                    xs = [tensors[tuple(r)] for r in refs]
                    for j, t in enumerate(self.apply(layer, prefix, xs, k)):
                        tensors[(name, k, j)] = t
                if done:
                    progress.append(layer)
            if not progress:
                names = ", ".join(str(layer.get("name")) for layer in pending[:5])
                raise CnncalcError(f"layers whose inputs are never produced: {names}")
            pending = [layer for layer in pending if layer not in progress]
        outs = []
        out_refs = cfg.get("output_layers", [])
        if out_refs and isinstance(out_refs[0], str):
            out_refs = [out_refs]
        for ref in out_refs:
            key = (ref[0], int(ref[1]), int(ref[2]))
            if key not in tensors:
                raise CnncalcError(f"output layer '{ref[0]}' is not produced by the model")
            outs.append(tensors[key])
        return outs

    def apply(self, layer: dict, prefix: str, xs: list[T], node: int) -> list[T]:
        """One call of a layer on its inputs (``node`` > 0: a shared layer applied again)."""
        assert self.ctx is not None
        cls = layer["class_name"]
        cfg = layer.get("config") or {}
        name = prefix + str(layer.get("name") or cfg.get("name") or cls)
        if cls in _MODELS:
            return self.run_model(cls, cfg, name + "/", xs)
        handler = KERAS_LAYERS.get(cls)
        if handler is None:
            self.b.unknown(cls, name)
            return xs[:1]
        first_len = len(self.b.layers)
        out = handler(self.ctx, cfg, name if node == 0 else f"{name}_call{node + 1}", xs)
        if node > 0:  # a shared layer: weights counted once, MACs at every call
            for entry in self.b.layers[first_len:]:
                base = entry["name"].replace(f"{name}_call{node + 1}", name, 1)
                if base in self.b.names and base != entry["name"]:
                    entry["share"] = base
        return [out]


def _channels_first(cfg: Any) -> bool:
    """True when the model's layers say ``data_format: channels_first``."""
    for layer in cfg.get("layers", []) if isinstance(cfg, dict) else []:
        c = layer.get("config") if isinstance(layer, dict) else None
        if isinstance(c, dict):
            if c.get("data_format") == "channels_first":
                return True
            if layer.get("class_name") in _MODELS and _channels_first(c):
                return True
    return False


def _inbound(nodes: Any) -> list[list[tuple[str, int, int]]]:
    """Inbound nodes as lists of (layer, node, tensor) refs, from Keras 2 or Keras 3 form."""
    out = []
    for node in nodes:
        if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            refs: list[tuple[str, int, int]] = []
            _walk_k3(node.get("args", []), refs)
            _walk_k3(node.get("kwargs", {}), refs)
            out.append(refs)
        else:  # Keras 2: [[layer, node, tensor, kwargs], ...]
            out.append([(str(r[0]), int(r[1]), int(r[2])) for r in node])
    return out


def _walk_k3(v: Any, refs: list[tuple[str, int, int]]) -> None:
    if isinstance(v, dict):
        if v.get("class_name") == "__keras_tensor__":
            h = v["config"]["keras_history"]
            refs.append((str(h[0]), int(h[1]), int(h[2])))
            return
        for x in v.values():
            _walk_k3(x, refs)
    elif isinstance(v, list):
        for x in v:
            _walk_k3(x, refs)
