"""The NumPy forwards, number by number, against direct-definition references written here.

Each reference loops explicitly over output positions and kernel taps in float64, using the
formulas of the PyTorch documentation (index of tap t of output p = p·S + t·D − lo, and so on),
never the layer code. When torch is importable the same cases are also compared with
``torch.nn.functional`` (those tests skip without torch; nothing here requires it).

Tolerance: the forwards run in float32, the references in float64:
``|y − ref| ≤ 1e-5 · max(1, max|ref|) + 1e-5 · |ref|`` (float32 relative precision of the
output's scale; the inner products are at most a few hundred terms).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from cnncalc.backend.run import init_array
from cnncalc.layers.base import Layer

from .conftest import make_layer

RTOL = 1e-5


def close(y, ref, rtol: float = RTOL) -> None:
    ref = np.asarray(ref, dtype=np.float64)
    assert y.shape == ref.shape, (y.shape, ref.shape)
    scale = max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
    np.testing.assert_allclose(y, ref, rtol=rtol, atol=rtol * scale)


def setup(type_name: str, args: dict, *shapes, batch: int = 2, seed: int = 0):
    """Build one layer, random float32 inputs (batch first) and weights; run its forward.

    Checks the contract on the way: the output has the analyzer's shape and stays float32.
    """
    layer = make_layer(type_name, args, *shapes)
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((batch, *s)).astype(np.float32) for s in shapes]
    params = {w.name: init_array(rng, w, np.dtype("float32")) for w in layer.weights()}
    y = layer.forward(list(xs), params)
    assert y.shape == (batch, *layer.out_shape)
    assert y.dtype == np.float32, f"{type_name} returned {y.dtype}"
    f64 = {k: v.astype(np.float64) for k, v in params.items()}
    return layer, [x.astype(np.float64) for x in xs], f64, y


def torch_or_skip():
    return pytest.importorskip("torch")


def T(a):
    torch = torch_or_skip()
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


# --------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------


def ref_conv(x, w, b, stride, pads, dil, groups):
    """y[n, o, p] = b[o] + Σ_c Σ_t w[o, c, t] · x[n, c_g, p·S + t·D − lo] (zero outside)."""
    n, cin, *sp = x.shape
    cout, cg, *k = w.shape
    og = cout // groups
    out = [
        (W + lo + hi - d * (kk - 1) - 1) // s + 1
        for W, kk, s, d, (lo, hi) in zip(sp, k, stride, dil, pads)
    ]
    y = np.zeros((n, cout, *out))
    for p in itertools.product(*(range(o) for o in out)):
        for t in itertools.product(*(range(kk) for kk in k)):
            idx = [pp * s + tt * d - lo for pp, tt, s, d, (lo, _) in zip(p, t, stride, dil, pads)]
            if not all(0 <= i < W for i, W in zip(idx, sp)):
                continue
            for g in range(groups):
                xs = x[(slice(None), slice(g * cg, (g + 1) * cg), *idx)]  # (N, cg)
                ws = w[(slice(g * og, (g + 1) * og), slice(None), *t)]  # (og, cg)
                y[(slice(None), slice(g * og, (g + 1) * og), *p)] += xs @ ws.T
    if b is not None:
        y += b.reshape((cout,) + (1,) * len(sp))
    return y


CONV_CASES = {
    "3x3 pad 1": (dict(out_channels=4, kernel_size=3, padding=1), (3, 7, 7)),
    "stride 2, no pad, no bias": (
        dict(out_channels=5, kernel_size=3, stride=2, bias=False),
        (3, 9, 8),
    ),
    "stride 2 pad 2 (int)": (dict(out_channels=4, kernel_size=5, stride=2, padding=2), (2, 9, 9)),
    "per-side padding [[1, 2], [0, 3]]": (
        dict(out_channels=3, kernel_size=3, padding=[[1, 2], [0, 3]]),
        (2, 6, 5),
    ),
    "per-axis padding [2, 0], kernel [3, 1]": (
        dict(out_channels=3, kernel_size=[3, 1], padding=[2, 0]),
        (2, 5, 6),
    ),
    "same, stride 1, even kernel": (dict(out_channels=3, kernel_size=4, padding="same"), (2, 7, 6)),
    "same, stride 2": (dict(out_channels=3, kernel_size=3, stride=2, padding="same"), (2, 8, 7)),
    "dilation 2": (dict(out_channels=3, kernel_size=3, dilation=2, padding=2), (2, 9, 9)),
    "dilation [2, 3] stride [1, 2]": (
        dict(out_channels=2, kernel_size=3, dilation=[2, 3], stride=[1, 2], padding=1),
        (2, 9, 10),
    ),
    "groups 2": (dict(out_channels=6, kernel_size=3, groups=2, padding=1), (4, 6, 6)),
    "depthwise": (dict(out_channels=4, kernel_size=3, groups=4, padding=1, stride=2), (4, 7, 7)),
    "depthwise multiplier 2": (dict(out_channels=6, kernel_size=3, groups=3), (3, 6, 6)),
    "1x1": (dict(out_channels=5, kernel_size=1), (4, 5, 6)),
    "1x1 stride 2": (dict(out_channels=5, kernel_size=1, stride=2, bias=False), (4, 7, 6)),
    "1x1 padded": (dict(out_channels=2, kernel_size=1, padding=1), (3, 3, 3)),
    "conv1d": (dict(out_channels=4, kernel_size=3, stride=2, padding=1), (3, 11)),
    "conv3d": (
        dict(out_channels=2, kernel_size=[2, 3, 3], stride=[1, 2, 1], padding=1),
        (2, 4, 5, 5),
    ),
}


def _conv_type(shape):
    return f"conv{len(shape) - 1}d"


@pytest.mark.parametrize("args, shape", CONV_CASES.values(), ids=list(CONV_CASES))
def test_conv_matches_definition(args, shape):
    layer, (x,), p, y = setup(_conv_type(shape), args, shape)
    ref = ref_conv(
        x, p["weight"], p.get("bias"), layer.s, layer.pads, layer.d, args.get("groups", 1)
    )
    close(y, ref)


@pytest.mark.parametrize("args, shape", CONV_CASES.values(), ids=list(CONV_CASES))
def test_conv_matches_torch(args, shape):
    torch = torch_or_skip()
    F = torch.nn.functional
    layer, (x,), p, y = setup(_conv_type(shape), args, shape)
    flat = [v for lo_hi in reversed(layer.pads) for v in lo_hi]  # F.pad lists the last axis first
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[len(shape) - 1]
    ref = fn(
        F.pad(T(x), flat),
        T(p["weight"]),
        T(p["bias"]) if "bias" in p else None,
        stride=layer.s,
        dilation=layer.d,
        groups=args.get("groups", 1),
    )
    close(y, ref.numpy())


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_conv_columns_in_row_blocks(monkeypatch, groups):
    """A big map builds its im2col columns a few output rows at a time: same numbers."""
    from cnncalc.layers import conv

    monkeypatch.setattr(conv, "COLS_CHUNK", 2 * 4 * 9 * 7)  # about one output row per block
    args = dict(out_channels=4, kernel_size=3, padding=1, stride=[2, 1], groups=groups)
    layer, (x,), p, y = setup("conv2d", args, (4, 9, 7))
    close(y, ref_conv(x, p["weight"], p["bias"], layer.s, layer.pads, layer.d, groups))


def test_conv_known_numbers():
    """All-ones 3×3 kernel on a 4×4 ramp, padding 1: corner = 0+1+4+5 = 10, centre (1,1) = 45."""
    layer = make_layer(
        "conv2d", dict(out_channels=1, kernel_size=3, padding=1, bias=False), (1, 4, 4)
    )
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    y = layer.forward([x], {"weight": np.ones((1, 1, 3, 3), np.float32)})
    assert y[0, 0, 0, 0] == 0 + 1 + 4 + 5
    assert y[0, 0, 1, 1] == sum([0, 1, 2, 4, 5, 6, 8, 9, 10])


def ref_conv_transpose(x, w, b, stride, pads, dil, out_pad, groups):
    """Scatter: y[n, o, i·S + t·D − lo] += Σ_c x[n, c, i] · w[c, o_g, t]; out size from the docs."""
    n, cin, *sp = x.shape
    _, og, *k = w.shape
    cg = cin // groups
    out = [
        (W - 1) * s - lo - hi + d * (kk - 1) + op + 1
        for W, kk, s, d, (lo, hi), op in zip(sp, k, stride, dil, pads, out_pad)
    ]
    y = np.zeros((n, og * groups, *out))
    for i in itertools.product(*(range(W) for W in sp)):
        for t in itertools.product(*(range(kk) for kk in k)):
            o = [ii * s + tt * d - lo for ii, tt, s, d, (lo, _) in zip(i, t, stride, dil, pads)]
            if not all(0 <= oo < size for oo, size in zip(o, out)):
                continue
            for g in range(groups):
                xs = x[(slice(None), slice(g * cg, (g + 1) * cg), *i)]  # (N, cg)
                ws = w[(slice(g * cg, (g + 1) * cg), slice(None), *t)]  # (cg, og)
                y[(slice(None), slice(g * og, (g + 1) * og), *o)] += xs @ ws
    if b is not None:
        y += b.reshape((-1,) + (1,) * len(sp))
    return y


CONVT_CASES = {
    "k4 s2 p1 (DCGAN ×2)": (dict(out_channels=3, kernel_size=4, stride=2, padding=1), (4, 5, 5)),
    "k3 s2 p1 output_padding 1": (
        dict(out_channels=3, kernel_size=3, stride=2, padding=1, output_padding=1),
        (2, 4, 5),
    ),
    "k2 s2 (U-Net up-conv)": (dict(out_channels=2, kernel_size=2, stride=2, bias=False), (3, 4, 4)),
    "groups 2, dilation 2": (
        dict(out_channels=4, kernel_size=3, groups=2, dilation=2, padding=1),
        (4, 4, 4),
    ),
    "stride [2, 3], output_padding [1, 2]": (
        dict(out_channels=2, kernel_size=3, stride=[2, 3], output_padding=[1, 2]),
        (2, 3, 3),
    ),
    "per-side padding": (
        dict(out_channels=2, kernel_size=3, stride=2, padding=[[0, 1], [2, 1]]),
        (2, 4, 4),
    ),
    "1d": (dict(out_channels=2, kernel_size=5, stride=3, padding=2), (3, 6)),
}


@pytest.mark.parametrize("args, shape", CONVT_CASES.values(), ids=list(CONVT_CASES))
def test_conv_transpose_matches_definition(args, shape):
    layer, (x,), p, y = setup(f"conv_transpose{len(shape) - 1}d", args, shape)
    ref = ref_conv_transpose(
        x, p["weight"], p.get("bias"), layer.s, layer.pads, layer.d, layer.op, args.get("groups", 1)
    )
    close(y, ref)


@pytest.mark.parametrize("args, shape", CONVT_CASES.values(), ids=list(CONVT_CASES))
def test_conv_transpose_matches_torch(args, shape):
    torch = torch_or_skip()
    F = torch.nn.functional
    layer, (x,), p, y = setup(f"conv_transpose{len(shape) - 1}d", args, shape)
    if any(lo != hi for lo, hi in layer.pads):
        pytest.skip("torch's conv_transpose takes symmetric padding only")
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d}[len(shape) - 1]
    ref = fn(
        T(x),
        T(p["weight"]),
        T(p["bias"]) if "bias" in p else None,
        stride=layer.s,
        padding=tuple(lo for lo, _ in layer.pads),
        output_padding=layer.op,
        groups=args.get("groups", 1),
        dilation=layer.d,
    )
    close(y, ref.numpy())


# --------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------


def pool_out_size(W, k, s, lo, hi, d, ceil):
    """PyTorch's pooling output size (nn.MaxPool2d docs + the 'last window starts inside' rule)."""
    span = W + lo + hi - d * (k - 1) - 1
    o = (-(-span // s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= W + lo:
        o -= 1
    return o


def ref_pool(x, k, s, pads, d, ceil, kind, include_pad=True):
    """Loop over output positions; gather in-bounds taps p·S + t·D − lo.

    Average divisor (PyTorch's avg_pool2d): count_include_pad → the window clipped to the
    padded range [−lo, W + hi); else the number of in-bounds taps.
    """
    n, c, *sp = x.shape
    out = [
        pool_out_size(W, kk, ss, lo, hi, dd, ceil)
        for W, kk, ss, (lo, hi), dd in zip(sp, k, s, pads, d)
    ]
    y = np.zeros((n, c, *out))
    for p in itertools.product(*(range(o) for o in out)):
        vals, padded_count = [], 0
        for t in itertools.product(*(range(kk) for kk in k)):
            idx = [pp * ss + tt * dd - lo for pp, tt, ss, dd, (lo, _) in zip(p, t, s, d, pads)]
            if all(-lo <= i < W + hi for i, W, (lo, hi) in zip(idx, sp, pads)):
                padded_count += 1
            if all(0 <= i < W for i, W in zip(idx, sp)):
                vals.append(x[(slice(None), slice(None), *idx)])
        stack = np.stack(vals, axis=-1)
        if kind == "max":
            y[(slice(None), slice(None), *p)] = stack.max(-1)
        else:
            div = padded_count if include_pad else len(vals)
            y[(slice(None), slice(None), *p)] = stack.sum(-1) / div
    return y


POOL_CASES = {
    "max 2x2": ("maxpool2d", dict(kernel_size=2), (2, 6, 7)),
    "max 3x3 s2 pad 1 (ResNet stem)": (
        "maxpool2d",
        dict(kernel_size=3, stride=2, padding=1),
        (2, 8, 8),
    ),
    "max 3x3 s2 ceil (GoogLeNet)": (
        "maxpool2d",
        dict(kernel_size=3, stride=2, ceil_mode=True),
        (2, 8, 9),
    ),
    "max 2x2 s2 pad 1 ceil (last window dropped)": (
        "maxpool2d",
        dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
        (2, 5, 5),
    ),
    "max dilation 2": (
        "maxpool2d",
        dict(kernel_size=3, stride=1, dilation=2, padding=1),
        (2, 7, 7),
    ),
    "max same (Keras)": ("maxpool2d", dict(kernel_size=3, stride=2, padding="same"), (2, 7, 8)),
    "max 1d": ("maxpool1d", dict(kernel_size=3, stride=2, ceil_mode=True), (3, 10)),
    "avg 2x2": ("avgpool2d", dict(kernel_size=2), (2, 6, 6)),
    "avg 3x3 s2 pad 1 include pad": (
        "avgpool2d",
        dict(kernel_size=3, stride=2, padding=1),
        (2, 7, 7),
    ),
    "avg 3x3 s2 pad 1 exclude pad": (
        "avgpool2d",
        dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
        (2, 7, 7),
    ),
    "avg 3x3 s2 ceil include pad": (
        "avgpool2d",
        dict(kernel_size=3, stride=2, ceil_mode=True),
        (2, 8, 8),
    ),
    "avg 3x3 s2 pad 1 ceil include pad": (
        "avgpool2d",
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
        (2, 8, 6),
    ),
    "avg 3x3 s2 pad 1 ceil exclude pad": (
        "avgpool2d",
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        (2, 8, 6),
    ),
    "avg 3d": ("avgpool3d", dict(kernel_size=2, stride=[1, 2, 2]), (2, 3, 4, 5)),
}


@pytest.mark.parametrize("type_, args, shape", POOL_CASES.values(), ids=list(POOL_CASES))
def test_pool_matches_definition(type_, args, shape):
    layer, (x,), _, y = setup(type_, args, shape)
    kind = "max" if type_.startswith("max") else "avg"
    ref = ref_pool(
        x, layer.k, layer.s, layer.pads, layer.d, args.get("ceil_mode", False), kind,
        args.get("count_include_pad", True),
    )  # fmt: skip
    close(y, ref)


@pytest.mark.parametrize("type_, args, shape", POOL_CASES.values(), ids=list(POOL_CASES))
def test_pool_matches_torch(type_, args, shape):
    torch = torch_or_skip()
    F = torch.nn.functional
    layer, (x,), _, y = setup(type_, args, shape)
    if any(lo != hi for lo, hi in layer.pads):
        pytest.skip("torch pools take symmetric padding only")
    r = len(shape) - 1
    pad = tuple(lo for lo, _ in layer.pads)
    ceil = args.get("ceil_mode", False)
    if type_.startswith("max"):
        fn = getattr(F, f"max_pool{r}d")
        ref = fn(T(x), layer.k, layer.s, pad, layer.d, ceil_mode=ceil)
    else:
        fn = getattr(F, f"avg_pool{r}d")
        ref = fn(T(x), layer.k, layer.s, pad, ceil, args.get("count_include_pad", True))
    close(y, ref.numpy())


def test_avgpool_divisors_by_hand():
    """Ones input, 3×3 s2 pad 1 on 4×4: count_include_pad divides every window by 9, so the
    corner (4 real ones) gives 4/9; without it every window averages ones to 1."""
    x = np.ones((1, 1, 4, 4), np.float32)
    inc = make_layer("avgpool2d", dict(kernel_size=3, stride=2, padding=1), (1, 4, 4))
    exc = make_layer(
        "avgpool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False), (1, 4, 4)
    )
    np.testing.assert_allclose(inc.forward([x], {})[0, 0], [[4 / 9, 6 / 9], [6 / 9, 9 / 9]], 1e-6)
    np.testing.assert_allclose(exc.forward([x], {})[0, 0], np.ones((2, 2)), 1e-6)


def ref_adaptive(x, out, kind):
    """Output i covers [⌊i·W/out⌋, ⌈(i+1)·W/out⌉) on each axis (PyTorch's adaptive pooling)."""
    n, c, *sp = x.shape
    y = np.zeros((n, c, *out))
    for p in itertools.product(*(range(o) for o in out)):
        sl = tuple(slice((i * W) // o, -(-((i + 1) * W) // o)) for i, W, o in zip(p, sp, out))
        box = x[(slice(None), slice(None), *sl)].reshape(n, c, -1)
        y[(slice(None), slice(None), *p)] = box.max(-1) if kind == "max" else box.mean(-1)
    return y


ADAPTIVE_CASES = {
    "avg 13x13 → 6x6 (overlapping windows)": ("adaptive_avgpool2d", [6, 6], (2, 13, 13)),
    "avg 7x5 → 3x2": ("adaptive_avgpool2d", [3, 2], (2, 7, 5)),
    "avg 4x4 → 7x7 (upsampling)": ("adaptive_avgpool2d", 7, (2, 4, 4)),
    "max 10x9 → 4x3": ("adaptive_maxpool2d", [4, 3], (2, 10, 9)),
    "max 1d 11 → 4": ("adaptive_maxpool1d", 4, (3, 11)),
    "avg 3d": ("adaptive_avgpool3d", [2, 3, 2], (2, 5, 7, 3)),
}


@pytest.mark.parametrize("type_, size, shape", ADAPTIVE_CASES.values(), ids=list(ADAPTIVE_CASES))
def test_adaptive_pool(type_, size, shape):
    layer, (x,), _, y = setup(type_, dict(output_size=size), shape)
    close(y, ref_adaptive(x, layer.out_shape[1:], "max" if "max" in type_ else "avg"))


@pytest.mark.parametrize("type_, size, shape", ADAPTIVE_CASES.values(), ids=list(ADAPTIVE_CASES))
def test_adaptive_pool_matches_torch(type_, size, shape):
    torch = torch_or_skip()
    _, (x,), _, y = setup(type_, dict(output_size=size), shape)
    fn = getattr(torch.nn.functional, type_.replace("pool", "_pool"))
    close(y, fn(T(x), size).numpy())


@pytest.mark.parametrize("type_", ["global_avg_pool", "global_max_pool"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pool(type_, keepdims):
    _, (x,), _, y = setup(type_, dict(keepdims=keepdims), (3, 5, 4))
    ref = np.array(
        [[(np.max if "max" in type_ else np.mean)(x[n, c]) for c in range(3)] for n in range(2)]
    )
    close(y, ref.reshape((2, 3, 1, 1) if keepdims else (2, 3)))


# --------------------------------------------------------------------------------------------
# Linear, norms, activations
# --------------------------------------------------------------------------------------------


def test_linear_on_any_rank():
    _, (x,), p, y = setup("linear", dict(out_features=5), (3, 7))
    ref = np.zeros((2, 3, 5))
    for n, i, o in itertools.product(range(2), range(3), range(5)):
        ref[n, i, o] = sum(x[n, i, j] * p["weight"][o, j] for j in range(7)) + p["bias"][o]
    close(y, ref)


def ref_bn(x, mean, var, g, b, eps):
    y = np.empty_like(x)
    for c in range(x.shape[1]):
        y[:, c] = (x[:, c] - mean[c]) / math.sqrt(var[c] + eps) * g[c] + b[c]
    return y


def test_batchnorm_inference():
    _, (x,), p, y = setup("batchnorm2d", dict(eps=1e-3), (4, 3, 3))
    close(y, ref_bn(x, p["running_mean"], p["running_var"], p["weight"], p["bias"], 1e-3))


def test_batchnorm_without_running_stats_uses_batch_stats():
    _, (x,), p, y = setup("batchnorm2d", dict(track_running_stats=False, affine=False), (3, 4, 4))
    mean = [x[:, c].mean() for c in range(3)]
    var = [((x[:, c] - mean[c]) ** 2).mean() for c in range(3)]  # biased, as PyTorch normalises
    close(y, ref_bn(x, mean, var, [1.0] * 3, [0.0] * 3, 1e-5))


def test_batchnorm1d_on_vectors():
    _, (x,), p, y = setup("batchnorm1d", {}, (6,))
    close(y, ref_bn(x, p["running_mean"], p["running_var"], p["weight"], p["bias"], 1e-5))


def test_frozen_batchnorm():
    _, (x,), p, y = setup("frozen_batchnorm2d", {}, (3, 2, 2))
    close(y, ref_bn(x, p["running_mean"], p["running_var"], p["weight"], p["bias"], 1e-5))


def test_layernorm_and_groupnorm():
    _, (x,), p, y = setup("layernorm", dict(normalized_shape=[4, 5]), (3, 4, 5))
    ref = np.empty_like(x)
    for n, c in itertools.product(range(2), range(3)):
        v = x[n, c]
        ref[n, c] = (v - v.mean()) / math.sqrt(v.var() + 1e-5) * p["weight"] + p["bias"]
    close(y, ref)
    _, (x,), p, y = setup("groupnorm", dict(num_groups=2), (6, 3, 3))
    ref = np.empty_like(x)
    for n, g in itertools.product(range(2), range(2)):
        v = x[n, 3 * g : 3 * g + 3]
        ref[n, 3 * g : 3 * g + 3] = (v - v.mean()) / math.sqrt(v.var() + 1e-5)
    ref = ref * p["weight"].reshape(6, 1, 1) + p["bias"].reshape(6, 1, 1)
    close(y, ref)


def test_layernorm_default_last_axis():
    _, (x,), p, y = setup("layernorm", dict(elementwise_affine=False), (3, 8))
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    close(y, ref)


def ref_lrn(x, size, alpha, beta, k):
    """PyTorch: b_c = a_c / (k + α/n Σ_{c' = c − ⌊n/2⌋}^{c + ⌊(n−1)/2⌋} a_{c'}²)^β."""
    y = np.empty_like(x)
    C = x.shape[1]
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C - 1, c + (size - 1) // 2)
        s = (x[:, lo : hi + 1] ** 2).sum(axis=1)
        y[:, c] = x[:, c] / (k + alpha / size * s) ** beta
    return y


@pytest.mark.parametrize("size", [5, 4])
def test_lrn(size):
    args = dict(size=size, alpha=1e-1, beta=0.75, k=2.0)
    _, (x,), _, y = setup("lrn", args, (7, 3, 3))
    close(y, ref_lrn(x, size, 1e-1, 0.75, 2.0))


def test_norms_match_torch():
    torch = torch_or_skip()
    F = torch.nn.functional
    _, (x,), p, y = setup("batchnorm2d", dict(eps=1e-3), (4, 3, 3))
    ref = F.batch_norm(
        T(x),
        T(p["running_mean"]),
        T(p["running_var"]),
        T(p["weight"]),
        T(p["bias"]),
        False,
        0.1,
        1e-3,
    )
    close(y, ref.numpy())
    _, (x,), p, y = setup("layernorm", dict(normalized_shape=[4, 5]), (3, 4, 5))
    close(y, F.layer_norm(T(x), [4, 5], T(p["weight"]), T(p["bias"])).numpy())
    _, (x,), p, y = setup("groupnorm", dict(num_groups=2), (6, 3, 3))
    close(y, F.group_norm(T(x), 2, T(p["weight"]), T(p["bias"])).numpy())
    for size in (5, 4):
        _, (x,), _, y = setup("lrn", dict(size=size, alpha=1e-1, beta=0.75, k=2.0), (7, 3, 3))
        close(y, F.local_response_norm(T(x), size, 1e-1, 0.75, 2.0).numpy())


def _sig(v):
    return 1 / (1 + math.exp(-v))


ACTIVATIONS = {
    "relu": lambda v: max(v, 0.0),
    "relu6": lambda v: min(max(v, 0.0), 6.0),
    "leaky_relu": lambda v: v if v >= 0 else 0.01 * v,
    "elu": lambda v: v if v > 0 else math.exp(v) - 1,
    "sigmoid": _sig,
    "tanh": math.tanh,
    "silu": lambda v: v * _sig(v),
    "swish": lambda v: v * _sig(v),
    "hardsigmoid": lambda v: min(max(v + 3, 0.0), 6.0) / 6,
    "hardswish": lambda v: v * min(max(v + 3, 0.0), 6.0) / 6,
    # x/2·(1 + erf(x/√2)), written with erfc so the negative tail has no cancellation
    "gelu": lambda v: 0.5 * v * math.erfc(-v / math.sqrt(2)),
    "mish": lambda v: v * math.tanh(math.log1p(math.exp(v))),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_definition(name):
    layer = make_layer(name, {}, (101,))
    x = np.linspace(-9, 9, 101, dtype=np.float32).reshape(1, 101)
    y = layer.forward([x], {})
    assert y.dtype == np.float32
    ref = np.array([ACTIVATIONS[name](float(v)) for v in x[0]])
    # relative to each value: the tails (gelu at −9 ≈ −1e−18) must be right too
    np.testing.assert_allclose(y[0], ref, rtol=2e-6, atol=1e-30 if name == "gelu" else 1e-7)


def test_activation_arguments_and_gelu_tanh():
    x = np.linspace(-4, 4, 9, dtype=np.float32).reshape(1, 9)
    y = make_layer("leaky_relu", dict(negative_slope=0.2), (9,)).forward([x], {})
    close(y, np.where(x > 0, x, 0.2 * x.astype(np.float64)))
    y = make_layer("elu", dict(alpha=0.5), (9,)).forward([x], {})
    close(y, np.where(x > 0, x, 0.5 * np.expm1(x.astype(np.float64))))
    y = make_layer("gelu", dict(approximate="tanh"), (9,)).forward([x], {})
    v = x.astype(np.float64)
    close(y, 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3))))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_torch(name):
    torch = torch_or_skip()
    F = torch.nn.functional
    x = np.linspace(-9, 9, 101, dtype=np.float32).reshape(1, 101)
    y = make_layer(name, {}, (101,)).forward([x], {})
    fn = {"swish": F.silu}.get(name) or getattr(F, name)
    # torch in float64: its gelu computes 1 + erf(x/√2), which cancels in the negative tail
    # (float32: relative errors of 1e-2 at x = −5; float64: 0 below x ≈ −8), ours does not
    ref = fn(torch.from_numpy(x.astype(np.float64))).numpy()
    np.testing.assert_allclose(y, ref, rtol=2e-6, atol=1e-14 if name == "gelu" else 1e-7)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, -1])
def test_softmax(name, axis):
    _, (x,), _, y = setup(name, dict(axis=axis), (4, 3))
    ax = 1 if axis == 0 else 2
    e = np.exp(x)
    ref = e / e.sum(axis=ax, keepdims=True)
    close(y, np.log(ref) if name == "log_softmax" else ref)


def test_dropout_and_identity_are_identity_at_inference():
    for t in ("dropout", "dropout2d", "identity"):
        _, (x,), _, y = setup(t, {}, (3, 4, 4))
        close(y, x)


# --------------------------------------------------------------------------------------------
# Merge and shape layers
# --------------------------------------------------------------------------------------------


def test_add_and_multiply_broadcast():
    layer, (a, b, c), _, y = setup("add", {}, (3, 4, 4), (3, 4, 4), (3, 4, 4))
    close(y, a + b + c)
    layer, (a, s), _, y = setup("multiply", {}, (3, 4, 4), (3, 1, 1))  # squeeze-excitation
    ref = np.empty_like(a)
    for n, ch in itertools.product(range(2), range(3)):
        ref[n, ch] = a[n, ch] * s[n, ch, 0, 0]
    close(y, ref)
    layer, (a, v), _, y = setup("add", {}, (3, 4, 5), (5,))  # lower rank: aligned at the end
    ref = np.empty_like(a)
    for n, ch, h in itertools.product(range(2), range(3), range(4)):
        ref[n, ch, h] = a[n, ch, h] + v[n]
    close(y, ref)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis):
    shapes = {0: [(2, 3, 3), (4, 3, 3)], 1: [(2, 1, 3), (2, 4, 3)], -1: [(2, 3, 2), (2, 3, 1)]}[
        axis
    ]
    _, xs, _, y = setup("concat", dict(axis=axis), *shapes)
    ax = axis + 1 if axis >= 0 else axis
    split = xs[0].shape[ax]
    close(np.take(y, range(split), axis=ax), xs[0])
    close(np.take(y, range(split, y.shape[ax]), axis=ax), xs[1])


def test_flatten_reshape_permute():
    _, (x,), _, y = setup("flatten", {}, (3, 2, 4))
    for c, h, w in itertools.product(range(3), range(2), range(4)):
        assert y[1, c * 8 + h * 4 + w] == np.float32(x[1, c, h, w])  # C order
    _, (x,), _, y = setup("flatten", dict(start_dim=1), (3, 2, 4))
    assert y.shape == (2, 3, 8)
    _, (x,), _, y = setup("reshape", dict(shape=[4, -1]), (3, 2, 4))
    assert y.shape == (2, 4, 6) and y[1, 1, 0] == np.float32(x[1, 0, 1, 2])
    _, (x,), _, y = setup("permute", dict(dims=[1, 2, 0]), (3, 2, 4))
    for c, h, w in itertools.product(range(3), range(2), range(4)):
        assert y[0, h, w, c] == np.float32(x[0, c, h, w])


def test_zero_pad_crop_center_crop():
    _, (x,), _, y = setup("zero_pad2d", dict(padding=[[1, 2], [0, 3]]), (2, 3, 3))
    assert y.shape == (2, 2, 6, 6)
    close(y[:, :, 1:4, 0:3], x)
    assert not y[:, :, 0].any() and not y[:, :, 4:].any() and not y[:, :, :, 3:].any()
    _, (x,), _, y = setup("crop2d", dict(cropping=[[1, 0], [2, 1]]), (2, 5, 6))
    close(y, x[:, :, 1:5, 2:5])
    _, (x,), _, y = setup("center_crop", dict(size=[3, 2]), (2, 6, 5))
    close(y, x[:, :, 1:4, 1:3])  # lo = ⌊(6−3)/2⌋ = 1, ⌊(5−2)/2⌋ = 1
    _, (x, ref), _, y = setup("center_crop", {}, (2, 7, 7), (4, 4, 4))  # U-Net: crop to a reference
    close(y, x[:, :, 1:5, 1:5])


# --------------------------------------------------------------------------------------------
# Upsampling
# --------------------------------------------------------------------------------------------


def src_coord(i, w_in, w_out, align, scale=None, cubic=False):
    """PyTorch's area_pixel_compute_source_index."""
    if align:
        return i * (w_in - 1) / (w_out - 1) if w_out > 1 else 0.0
    ratio = 1 / scale if scale else w_in / w_out
    s = (i + 0.5) * ratio - 0.5
    return s if cubic else max(s, 0.0)


def ref_upsample(x, out, mode, align=False, scale=None):
    """Per output pixel: nearest ⌊i·in/out⌋; bilinear 2×2 and bicubic 4×4 neighbourhoods."""
    n, c, H, W = x.shape
    y = np.zeros((n, c, *out))
    A = -0.75

    def cubic(t):
        t = abs(t)
        if t <= 1:
            return ((A + 2) * t - (A + 3)) * t * t + 1
        return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A if t < 2 else 0.0

    for i, j in itertools.product(range(out[0]), range(out[1])):
        if mode == "nearest":
            r = 1 / scale if scale else H / out[0]
            q = 1 / scale if scale else W / out[1]
            y[:, :, i, j] = x[:, :, min(int(i * r), H - 1), min(int(j * q), W - 1)]
            continue
        si = src_coord(i, H, out[0], align, scale, mode == "bicubic")
        sj = src_coord(j, W, out[1], align, scale, mode == "bicubic")
        i0, j0 = math.floor(si), math.floor(sj)
        if mode == "bilinear":
            li, lj = si - i0, sj - j0
            i1, j1 = min(i0 + 1, H - 1), min(j0 + 1, W - 1)
            y[:, :, i, j] = (
                (1 - li) * (1 - lj) * x[:, :, i0, j0]
                + (1 - li) * lj * x[:, :, i0, j1]
                + li * (1 - lj) * x[:, :, i1, j0]
                + li * lj * x[:, :, i1, j1]
            )
        else:
            for a, b in itertools.product(range(-1, 3), range(-1, 3)):
                wgt = cubic(si - (i0 + a)) * cubic(sj - (j0 + b))
                ii, jj = min(max(i0 + a, 0), H - 1), min(max(j0 + b, 0), W - 1)
                y[:, :, i, j] += wgt * x[:, :, ii, jj]
    return y


UPSAMPLE_CASES = {
    "nearest ×2": (dict(scale_factor=2), (2, 3, 4)),
    "nearest to size 7x5": (dict(size=[7, 5]), (2, 3, 4)),
    "nearest ×1.5 (floors)": (dict(scale_factor=1.5), (2, 5, 5)),
    "bilinear ×2": (dict(scale_factor=2, mode="bilinear"), (2, 3, 4)),
    "bilinear align_corners to 7x9": (
        dict(size=[7, 9], mode="bilinear", align_corners=True),
        (2, 3, 4),
    ),
    "bilinear downsample 5x6 → 3x4": (dict(size=[3, 4], mode="bilinear"), (2, 5, 6)),
    "bicubic ×2": (dict(scale_factor=2, mode="bicubic"), (2, 4, 4)),
    "bicubic align_corners to 6x7": (
        dict(size=[6, 7], mode="bicubic", align_corners=True),
        (2, 4, 5),
    ),
}


@pytest.mark.parametrize("args, shape", UPSAMPLE_CASES.values(), ids=list(UPSAMPLE_CASES))
def test_upsample_definition(args, shape):
    layer, (x,), _, y = setup("upsample2d", args, shape)
    ref = ref_upsample(
        x,
        layer.out_shape[1:],
        args.get("mode", "nearest"),
        args.get("align_corners", False),
        args.get("scale_factor"),
    )
    close(y, ref)


@pytest.mark.parametrize("args, shape", UPSAMPLE_CASES.values(), ids=list(UPSAMPLE_CASES))
def test_upsample_matches_torch(args, shape):
    torch = torch_or_skip()
    _, (x,), _, y = setup("upsample2d", args, shape)
    mode = args.get("mode", "nearest")
    ref = torch.nn.functional.interpolate(
        T(x),
        size=args.get("size"),
        scale_factor=args.get("scale_factor"),
        mode=mode,
        align_corners=None if mode == "nearest" else args.get("align_corners", False),
    )
    close(y, ref.numpy())


def test_linear_and_trilinear_modes():
    """1-d linear by hand: [0, 1] → ×2 gives src = (i + ½)/2 − ½ = −¼, ¼, ¾, 5/4 → 0, ¼, ¾, 1."""
    layer = make_layer("upsample1d", dict(scale_factor=2, mode="linear"), (1, 2))
    y = layer.forward([np.array([[[0.0, 1.0]]], np.float32)], {})
    np.testing.assert_allclose(y[0, 0], [0, 0.25, 0.75, 1], atol=1e-7)
    layer, (x,), _, y = setup(
        "upsample3d", dict(size=[3, 3, 3], mode="trilinear", align_corners=True), (1, 2, 2, 2)
    )
    # align_corners on 2 → 3: the middle sample averages its two neighbours on each axis
    close(y[:, 0, 1, 1, 1], x[:, 0].reshape(2, -1).mean(-1))
    close(y[:, 0, 0, 0, 0], x[:, 0, 0, 0, 0])


def test_every_forward_is_a_method_of_its_layer():
    """The forwards live in the layer classes: the base class only raises."""
    from cnncalc.layers import REGISTRY

    without = sorted({c.__name__ for c in REGISTRY.values() if c.forward is Layer.forward})
    assert not without, f"layer classes without a NumPy forward: {without}"
