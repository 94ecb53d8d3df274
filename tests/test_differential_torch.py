"""Differential test against PyTorch: random single-layer configurations, each built in torch and
in cnncalc, must agree on acceptance, output shape, parameter count and MACs.

For every configuration torch accepts, cnncalc must accept it too and give torch's output shape
(from running the module on a zero tensor), its parameter count (``sum(p.numel())``) and the MACs
that the README's formulas give from torch's own shapes: a convolution out_elements · C_in/groups
· ∏F, a transposed convolution in_positions · C_in · C_out/groups · ∏F, a linear layer
leading · in · out, an LSTM/GRU L · (every weight matrix's size), normalisation, shuffles and
pooling and resizing 0. A configuration torch refuses must be refused by cnncalc too, with two
exceptions (:func:`_torch_only_refusal`): torch's avg_pool3d (only it) also refuses an input
axis shorter than the kernel even when the padding makes room
(``pool3d_shape_check(check_input_size=true)``), where cnncalc gives the shape that the padding
rule gives, as for 1-d and 2-d; and instance norm without running statistics refuses a single
spatial position, whose variance is 0 (cnncalc gives the shape).

The generator is seeded, so a failure names a reproducible case. Sizes are kept small so that a
few thousand cases run in a few seconds.
"""

from __future__ import annotations

import math
import random

import pytest

from cnncalc.errors import CnncalcError

from .conftest import make_layer, param_count

torch = pytest.importorskip("torch", reason="the differential test compares with PyTorch")
nn = torch.nn

SEED = 20261201
CASES_PER_KIND = 500


def _per_axis(rng: random.Random, rank: int, lo: int, hi: int) -> list[int]:
    return [rng.randint(lo, hi) for _ in range(rank)]


def _maybe_scalar(rng: random.Random, values: list[int]) -> int | list[int]:
    """One number for all axes when they agree and a coin says so (both frameworks take both)."""
    return values[0] if len(set(values)) == 1 and rng.random() < 0.5 else values


def _spatial(rng: random.Random, rank: int) -> list[int]:
    return _per_axis(rng, rank, 1, {1: 14, 2: 10, 3: 6}[rank])


def gen_conv(rng: random.Random):
    rank = rng.randint(1, 3)
    groups = rng.choice([1, 1, 2, 3])
    c_in, c_out = groups * rng.randint(1, 3), groups * rng.randint(1, 3)
    k, d = _per_axis(rng, rank, 1, 5), _per_axis(rng, rank, 1, 3)
    same = rng.random() < 0.2
    s = [1] * rank if same else _per_axis(rng, rank, 1, 3)
    pad = rng.choice(["same", "valid"]) if same else _maybe_scalar(rng, _per_axis(rng, rank, 0, 3))
    args = {
        "out_channels": c_out,
        "kernel_size": _maybe_scalar(rng, k),
        "stride": _maybe_scalar(rng, s),
        "padding": pad,
        "dilation": _maybe_scalar(rng, d),
        "groups": groups,
        "bias": rng.random() < 0.5,
    }
    module = getattr(nn, f"Conv{rank}d")(
        c_in,
        c_out,
        args["kernel_size"],
        args["stride"],
        pad,
        args["dilation"],
        groups,
        args["bias"],
    )
    return f"conv{rank}d", args, (c_in, *_spatial(rng, rank)), module


def gen_conv_transpose(rng: random.Random):
    rank = rng.randint(1, 3)
    groups = rng.choice([1, 1, 2])
    c_in, c_out = groups * rng.randint(1, 3), groups * rng.randint(1, 3)
    k, s, d = _per_axis(rng, rank, 1, 4), _per_axis(rng, rank, 1, 3), _per_axis(rng, rank, 1, 2)
    p = _per_axis(rng, rank, 0, 2)
    # torch: output_padding < max(stride, dilation); drawn below that bound, sometimes at it
    op = [rng.randint(0, max(ss, dd) - (rng.random() < 0.9)) for ss, dd in zip(s, d)]
    args = {
        "out_channels": c_out,
        "kernel_size": k,
        "stride": s,
        "padding": p,
        "output_padding": op,
        "dilation": d,
        "groups": groups,
        "bias": rng.random() < 0.5,
    }
    module = getattr(nn, f"ConvTranspose{rank}d")(c_in, c_out, k, s, p, op, groups, args["bias"], d)
    return f"conv_transpose{rank}d", args, (c_in, *_spatial(rng, rank)), module


def gen_pool(rng: random.Random):
    rank = rng.randint(1, 3)
    kind = rng.choice(["max", "avg"])
    k = _per_axis(rng, rank, 1, 5)
    s = None if rng.random() < 0.3 else _per_axis(rng, rank, 1, 3)
    p = [rng.randint(0, kk // 2 + (1 if rng.random() < 0.1 else 0)) for kk in k]
    ceil = rng.random() < 0.5
    args = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": ceil}
    if kind == "max":
        d = _per_axis(rng, rank, 1, 2)
        args["dilation"] = d
        module = getattr(nn, f"MaxPool{rank}d")(k, s, p, d, ceil_mode=ceil)
    else:
        cip = rng.random() < 0.5
        args["count_include_pad"] = cip
        module = getattr(nn, f"AvgPool{rank}d")(k, s, p, ceil, cip)
    return f"{kind}pool{rank}d", args, (rng.randint(1, 3), *_spatial(rng, rank)), module


def gen_adaptive(rng: random.Random):
    rank = rng.randint(1, 3)
    kind = rng.choice(["avg", "max"])
    spatial = _spatial(rng, rank)
    out = [rng.randint(1, w + 2) for w in spatial]  # torch allows outputs larger than the input
    module = getattr(nn, f"Adaptive{kind.capitalize()}Pool{rank}d")(out)
    return f"adaptive_{kind}pool{rank}d", {"output_size": out}, (2, *spatial), module


def gen_upsample(rng: random.Random):
    rank = rng.randint(1, 3)
    mode = rng.choice(["nearest", {1: "linear", 2: "bilinear", 3: "trilinear"}[rank]])
    spatial = _spatial(rng, rank)
    args: dict = {"mode": mode}
    if rng.random() < 0.7:
        args["scale_factor"] = round(rng.uniform(0.3, 3.5), rng.choice([0, 1, 2]))
        module = nn.Upsample(scale_factor=args["scale_factor"], mode=mode)
    else:
        args["size"] = _per_axis(rng, rank, 1, 12)
        module = nn.Upsample(size=args["size"], mode=mode)
    if mode != "nearest" and rng.random() < 0.3:
        args["align_corners"] = True
        module.align_corners = True
    return f"upsample{rank}d", args, (2, *spatial), module


def gen_linear(rng: random.Random):
    rank = rng.randint(1, 4)
    shape = (*_per_axis(rng, rank - 1, 1, 4), rng.randint(1, 16))
    args = {"out_features": rng.randint(1, 16), "bias": rng.random() < 0.5}
    module = nn.Linear(shape[-1], args["out_features"], args["bias"])
    return "linear", args, shape, module


def gen_norm_and_shuffle(rng: random.Random):
    """group_norm, instance_norm, prelu, channel_shuffle, pixel_shuffle / pixel_unshuffle."""
    rank = rng.randint(1, 3)
    kind = rng.choice(["group_norm", "instance_norm", "prelu", "channel_shuffle", "pixel"])
    c = rng.randint(1, 12)
    shape = (c, *_spatial(rng, rank))
    if kind == "group_norm":
        g, affine = rng.randint(1, 4), rng.random() < 0.7
        return kind, {"num_groups": g, "affine": affine}, shape, nn.GroupNorm(g, c, affine=affine)
    if kind == "instance_norm":
        affine = rng.random() < 0.5
        module = getattr(nn, f"InstanceNorm{rank}d")(c, affine=affine)
        return kind, {"affine": affine}, shape, module
    if kind == "prelu":
        n = rng.choice([1, c])
        return kind, {"num_parameters": n}, shape, nn.PReLU(n)
    if kind == "channel_shuffle":
        g = rng.randint(1, 4)
        return kind, {"groups": g}, shape, nn.ChannelShuffle(g)
    r = rng.randint(1, 3)
    if rng.random() < 0.5:  # (C·r², H, W) → (C, H·r, W·r); sometimes C not a multiple of r²
        shape = (c * r * r + (rng.random() < 0.1), *_spatial(rng, 2))
        return "pixel_shuffle", {"factor": r}, shape, nn.PixelShuffle(r)
    shape = (c, *(w * r + (rng.random() < 0.1) for w in _spatial(rng, 2)))
    return "pixel_unshuffle", {"factor": r}, shape, nn.PixelUnshuffle(r)


def gen_recurrent(rng: random.Random):
    """lstm / gru on a sequence (L, I), batch first, PyTorch's parameter layout."""
    kind = rng.choice(["lstm", "gru"])
    length, size, hidden = rng.randint(1, 6), rng.randint(1, 8), rng.randint(1, 8)
    args = {
        "hidden_size": hidden,
        "num_layers": rng.randint(1, 3),
        "bias": rng.random() < 0.7,
        "bidirectional": rng.random() < 0.5,
    }
    module = getattr(nn, kind.upper())(size, batch_first=True, **args)
    return kind, args, (length, size), module


GENERATORS = [
    gen_conv,
    gen_conv_transpose,
    gen_pool,
    gen_adaptive,
    gen_upsample,
    gen_linear,
    gen_norm_and_shuffle,
    gen_recurrent,
]


def _macs(module, x, y) -> int:
    """MACs by formula from torch's module and shapes (batch 1)."""
    if isinstance(module, nn.modules.conv._ConvNd):
        w = module.weight  # conv [C_out, C_in/g, *F]; transposed [C_in, C_out/g, *F]
        if module.transposed:
            return math.prod(x.shape[2:]) * w.numel()
        return math.prod(y.shape[2:]) * w.numel()
    if isinstance(module, nn.Linear):
        return math.prod(x.shape[1:-1]) * module.in_features * module.out_features
    if isinstance(module, nn.RNNBase):  # every weight matrix once per time step
        weights = [p for name, p in module.named_parameters() if name.startswith("weight")]
        return x.shape[1] * sum(w.numel() for w in weights)
    return 0


def _torch_result(module, in_shape):
    """(output shape without batch, params, MACs), or None when torch refuses the configuration."""
    x = torch.zeros((1, *in_shape))
    module.eval()  # inference, as cnncalc counts (instance norm refuses one position in training)
    try:
        with torch.no_grad():
            y = module(x)
    except (RuntimeError, ValueError):
        return None
    if isinstance(y, tuple):  # recurrent layers: (output, state)
        y = y[0]
    if y.numel() == 0:  # torch builds some empty outputs instead of refusing; nothing to compare
        return None
    params = sum(p.numel() for p in module.parameters())
    return tuple(y.shape[1:]), params, _macs(module, x, y)


def _cnncalc_result(type_name, args, in_shape):
    args = {k: v for k, v in args.items() if v is not None}
    try:
        layer = make_layer(type_name, args, in_shape)
    except CnncalcError as err:
        return None, str(err)
    return (tuple(layer.out_shape), param_count(layer), layer.macs()), None


def _torch_only_refusal(type_name, args, in_shape) -> bool:
    """Refusals of torch that cnncalc does not copy: avg_pool3d refuses an input axis shorter than
    the kernel, padding or not; instance norm (without running statistics) refuses a single
    spatial position ("Expected more than 1 spatial element when training", also in eval)."""
    if type_name == "avgpool3d":
        return any(w < k for w, k in zip(in_shape[1:], args["kernel_size"]))
    return type_name == "instance_norm" and math.prod(in_shape[1:]) == 1


@pytest.fixture
def one_thread():
    """Tiny tensors: one thread avoids torch's per-call thread start-up (10× faster here)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("gen", GENERATORS, ids=[g.__name__[4:] for g in GENERATORS])
def test_random_layers_agree_with_torch(gen, one_thread):
    rng = random.Random(f"{SEED}-{gen.__name__}")
    torch.manual_seed(SEED)
    disagreements = []
    accepted = refused = 0
    for case in range(CASES_PER_KIND):
        try:
            type_name, args, in_shape, module = gen(rng)
        except (RuntimeError, ValueError):  # torch refuses at construction
            continue
        expected = _torch_result(module, in_shape)
        got, error = _cnncalc_result(type_name, args, in_shape)
        if expected is None:
            refused += 1
            if got is not None and not _torch_only_refusal(type_name, args, in_shape):
                disagreements.append(
                    f"case {case}: {type_name} {args} on {in_shape}: torch refuses, cnncalc {got}"
                )
            continue
        accepted += 1
        if got != expected:
            disagreements.append(
                f"case {case}: {type_name} {args} on {in_shape}: torch (shape, params, MACs) "
                f"{expected}, cnncalc {got if got else error}"
            )
    assert not disagreements, f"{len(disagreements)} of {CASES_PER_KIND}:\n" + "\n".join(
        disagreements[:15]
    )
    assert accepted > CASES_PER_KIND // 2  # the generator mostly draws valid configurations
