"""Receptive fields through layout changes (ConvNeXt's permute to channels-last and back).

The truth comes from the NumPy backend, not from cnncalc's arithmetic: random weights, a random
input, and one more sample per input pixel with only that pixel changed; the output positions
whose values change are the ones that depend on it. Every field is then compared with that
dependency set: the set of input pixels an output position depends on must be exactly the
field's bounds (``ReceptiveField.bounds``) clipped to the input.
"""

from __future__ import annotations

import sys

import pytest

import cnncalc
from cnncalc.receptive import receptive_fields

# 48 × 40 input: H ≠ W, so a field kept on the wrong axis after a permute shows.
H, W = 48, 40


def _block(i: int, dim: int, kernel, into: str) -> list[dict]:
    """ConvNeXt's CNBlock (torchvision), small: depthwise conv → permute to (H, W, C) → layer
    norm → linear 4C → GELU → linear C → permute back → layer scale → stochastic depth → add."""
    k = [kernel, kernel] if isinstance(kernel, int) else list(kernel)
    return [
        {
            "conv2d": {
                "out_channels": dim,
                "kernel_size": k,
                "padding": [(k[0] - 1) // 2, (k[1] - 1) // 2],
                "groups": dim,
            },
            "name": f"b{i}.dw",
            "input": into,
        },
        {"permute": {"dims": [1, 2, 0]}, "name": f"b{i}.to_hwc"},
        {"layernorm": {"eps": 1e-6}, "name": f"b{i}.norm"},
        {"linear": {"out_features": 4 * dim}, "name": f"b{i}.fc1"},
        {"gelu": None, "name": f"b{i}.act"},
        {"linear": {"out_features": dim}, "name": f"b{i}.fc2"},
        {"permute": {"dims": [2, 0, 1]}, "name": f"b{i}.to_chw"},
        {"scale": {}, "name": f"b{i}.gamma"},
        {"stochastic_depth": {"p": 0.1}, "name": f"b{i}.sd"},
        {"add": None, "inputs": [f"b{i}.sd", into], "name": f"b{i}.add"},
    ]


#: the nodes whose output is channels-last (H, W, C): known from the spec, not from cnncalc
CHANNELS_LAST = {f"b{i}.{n}" for i in range(3) for n in ("to_hwc", "norm", "fc1", "act", "fc2")}


def _convnext_like() -> dict:
    """Stem 2×2/2 (ConvNeXt's 4×4/4, smaller), two blocks (7×7 and 3×5 depthwise), layer norm
    and a 2×2/2 downsampling conv, a third block (3×3): small enough that the last fields fit
    inside the 48 × 40 input, so their extremes are not clipped."""
    layers = [
        {"conv2d": {"out_channels": 3, "kernel_size": 2, "stride": 2}, "name": "stem"},
        {"layernorm2d": {"eps": 1e-6}, "name": "stem_norm"},
        *_block(0, 3, 7, "stem_norm"),
        *_block(1, 3, (3, 5), "b0.add"),
        {"layernorm2d": {"eps": 1e-6}, "name": "down_norm"},
        {"conv2d": {"out_channels": 6, "kernel_size": 2, "stride": 2}, "name": "down"},
        *_block(2, 6, 3, "down"),
    ]
    return {"name": "convnext_like", "input": [3, H, W], "layers": layers}


def _transposed() -> dict:
    """A transpose of H and W (channels stay first), a 3×5 conv on the transposed map (3 along
    W, 5 along H), and the transpose back; then a 3×3/2 conv."""
    return {
        "name": "transposed",
        "input": [2, H, W],
        "layers": [
            {"conv2d": {"out_channels": 3, "kernel_size": 3, "padding": 1}, "name": "c0"},
            {"transpose": {"dim0": 1, "dim1": 2}, "name": "t"},
            {"conv2d": {"out_channels": 3, "kernel_size": [3, 5], "stride": [1, 2]}, "name": "c1"},
            {"tanh": None, "name": "r"},
            {"transpose": {"dim0": 1, "dim1": 2}, "name": "back"},
            {"conv2d": {"out_channels": 3, "kernel_size": 3, "stride": 2}, "name": "c2"},
        ],
    }


#: nodes whose output has H and W swapped (W first): known from the spec
SWAPPED = {"t", "c1", "r"}


def _dependencies(graph, spatial_axes):
    """{node: bool array (pixels, *output spatial positions)}: does output position o change
    when only input pixel p does? ``spatial_axes(node)``: the positions (batch excluded) of the
    node's H and W axes."""
    np = pytest.importorskip("numpy", reason="the NumPy backend checks the fields")
    from cnncalc.backend.run import allocate_weights, execute

    ((in_name, shape),) = graph.inputs.items()
    c, h, w = shape
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((c, h, w))
    x = np.repeat(x0[None], 1 + h * w, axis=0)
    for p in range(h * w):  # sample 1 + p: pixel p changed on every channel, differently
        x[1 + p, :, p // w, p % w] += rng.standard_normal(c) + 3.0
    weights = allocate_weights(graph, seed=0, dtype="float64")
    values = execute(graph, {in_name: x}, weights, keep_all=True)
    out = {}
    for node in graph.nodes:
        y = values[node.name]
        # An output that does not depend on the pixel repeats the baseline's arithmetic (equal
        # up to rounding, 1e-16); a real change can be small (1e-9: layer norm over 3 channels
        # is blind to a change along the mean and the spread), never that small.
        changed = np.abs(y[1:] - y[:1]) > 1e-13 * (1.0 + np.abs(y[:1]))
        hy, wy = spatial_axes(node.name)
        other = tuple(a + 1 for a in range(y.ndim - 1) if a not in (hy, wy))
        hit = changed.any(axis=other) if other else changed
        if hy > wy:  # W before H in this layout: put H first
            hit = hit.swapaxes(1, 2)
        out[node.name] = hit
    return out, (h, w)


def _check_exact(graph, spatial_axes):
    """Every node's field against the dependencies, at every output position: the first and
    last input row and column that change it, and that it is every pixel of that rectangle."""
    import numpy as np

    rfs = receptive_fields(graph)
    deps, (h, w) = _dependencies(graph, spatial_axes)
    unclipped = 0
    for node in graph.nodes:
        rf = rfs[node.name]
        assert rf is not None, node.name
        hit = deps[node.name].reshape(h, w, *deps[node.name].shape[1:])  # (H, W, Ho, Wo)
        assert hit.any(axis=(0, 1)).all(), node.name  # every output depends on some pixel
        rows, cols = hit.any(axis=1), hit.any(axis=0)  # (H, Ho, Wo), (W, Ho, Wo)
        got = (
            rows.argmax(axis=0),
            h - 1 - rows[::-1].argmax(axis=0),
            cols.argmax(axis=0),
            w - 1 - cols[::-1].argmax(axis=0),
        )
        lo_h, hi_h = np.array([rf.bounds(o, 0) for o in range(hit.shape[2])]).T[:, :, None]
        lo_w, hi_w = np.array([rf.bounds(o, 1) for o in range(hit.shape[3])]).T[:, None, :]
        want = (np.maximum(lo_h, 0), np.minimum(hi_h, h - 1))
        want += (np.maximum(lo_w, 0), np.minimum(hi_w, w - 1))
        for g, x, what in zip(got, want, ("first row", "last row", "first col", "last col")):
            bad = np.argwhere(g != np.broadcast_to(x, g.shape))
            assert not len(bad), (node.name, what, bad[:3].tolist(), g[tuple(bad[0])])
        # every pixel of the clipped rectangle, nothing else
        area = (want[1] - want[0] + 1) * (want[3] - want[2] + 1)
        assert (hit.sum(axis=(0, 1)) == area).all(), node.name
        inside = (lo_h >= 0) & (hi_h < h) & (lo_w >= 0) & (hi_w < w)
        unclipped += int(inside.sum())
    return rfs, unclipped


def test_convnext_like_fields_match_the_numpy_dependencies():
    graph = cnncalc.build(_convnext_like())
    rfs, unclipped = _check_exact(graph, lambda name: (0, 1) if name in CHANNELS_LAST else (1, 2))
    assert unclipped > 0  # the extremes were checked where nothing was clipped
    # by hand: stem 2, jump 2; 7×7 at jump 2: + 6·2; 3×5: + (2·2, 4·2); down 2×2/2: + 1·2,
    # jump 4; 3×3 at jump 4: + 2·4
    last = rfs["b2.add"]
    assert last.size == (2 + 6 * 2 + 2 * 2 + 1 * 2 + 2 * 4, 2 + 6 * 2 + 4 * 2 + 1 * 2 + 2 * 4)
    assert last.jump == (4, 4)
    assert last.start == (0 - 3 * 2 - 1 * 2 - 1 * 4, 0 - 3 * 2 - 2 * 2 - 1 * 4)
    # inside a block the field is the one of the depthwise conv, whatever the layout
    assert rfs["b2.fc1"] == rfs["b2.dw"]._replace(axes=(0, 1))


def test_spatial_transpose_then_conv_matches_the_numpy_dependencies():
    graph = cnncalc.build(_transposed())
    rfs, unclipped = _check_exact(graph, lambda name: (2, 1) if name in SWAPPED else (1, 2))
    assert unclipped > 0
    # c1's kernel [3, 5] and stride [1, 2] act on (W, H): H gets 5, stride 2; W gets 3, stride 1
    assert rfs["c1"].size == (3 + 4, 3 + 2) and rfs["c1"].jump == (2, 1)


def _dependency_spans(spec):
    """The field of the last node (channels first) and which input rows and columns change its
    output position (0, 0)."""
    graph = cnncalc.build(spec)
    last = graph.nodes[-1].name
    deps, _ = _dependencies(graph, lambda name: (1, 2))
    pixels = deps[last][:, 0, 0].nonzero()[0]
    rows = sorted({int(p) // W for p in pixels})
    cols = sorted({int(p) % W for p in pixels})
    return receptive_fields(graph)[last], rows, cols


def test_mixing_positions_ends_the_field():
    # A linear on W (channels first: the last axis is spatial) mixes all 40 columns; roll wraps
    # rows around: neither is a sliding window, so no field, as the dependencies show.
    conv = {"conv2d": {"out_channels": 2, "kernel_size": 3, "padding": 1}}
    spec = {"name": "lin", "input": [2, H, W], "layers": [conv, {"linear": {"out_features": W}}]}
    rf, rows, cols = _dependency_spans(spec)
    assert rf is None
    assert (rows, cols) == ([0, 1], list(range(W)))  # the conv's 2 rows (padding 1), every column
    spec["layers"] = [conv, {"roll": {"shifts": [5], "axis": [1]}}]
    rf, rows, cols = _dependency_spans(spec)
    assert rf is None
    assert (rows, cols) == ([H - 6, H - 5, H - 4], [0, 1])  # row −5 ± 1, wrapped (mod 48)
    # (H, C, W): the channels moved, W is still last, so the linear is on a spatial axis
    spec["layers"] = [conv, {"permute": {"dims": [1, 0, 2]}}, {"linear": {"out_features": 5}}]
    graph = cnncalc.build(spec)
    assert receptive_fields(graph)[graph.nodes[-1].name] is None


def test_channels_last_merges_keep_the_field_only_element_wise():
    conv = {"conv2d": {"out_channels": 2, "kernel_size": 3}, "name": "c"}
    to_hwc = {"permute": {"dims": [1, 2, 0]}, "name": "hwc"}
    spec = {"name": "m", "input": [2, 20, 16], "layers": [conv, to_hwc]}
    spec["layers"] += [{"add": None, "inputs": ["hwc", "hwc"], "name": "sum"}]
    spec["layers"] += [{"concat": {"axis": 0}, "inputs": ["hwc", "hwc"], "name": "rows"}]
    spec["layers"] += [{"concat": {"axis": -1}, "inputs": ["hwc", "hwc"], "name": "chans"}]
    rfs = receptive_fields(cnncalc.build(spec))
    assert rfs["sum"].size == (3, 3)  # element-wise: the field of the conv
    assert rfs["rows"] is None  # joined along H: output row 20 is input row 0's neighbour
    assert rfs["chans"] is None  # a concat in a moved layout is not followed (conservative)


def test_convnext_tiny_final_field_by_hand():
    # torchvision's ConvNeXt-T (Liu et al. 2022): stem 4×4 stride 4 (size 4, jump 4, start 0);
    # each CNBlock's 7×7 depthwise conv, padding 3, adds 6·jump and moves the start by −3·jump
    # (its permute, layer norm, linears, GELU, layer scale and add keep the field); each 2×2
    # stride-2 downsampling adds 1·jump and doubles the jump. Blocks 3, 3, 9, 3.
    size, start = 4, 0
    jump = 4
    for stage, blocks in enumerate([3, 3, 9, 3]):
        if stage:
            size, jump = size + 1 * jump, 2 * jump
        size, start = size + blocks * 6 * jump, start - blocks * 3 * jump
    assert (size, jump, start) == (
        4 + 3 * 24 + 4 + 3 * 48 + 8 + 9 * 96 + 16 + 3 * 192,  # = 1688
        32,
        -(3 * 12 + 3 * 24 + 9 * 48 + 3 * 96),  # = −828
    )
    rfs = receptive_fields(cnncalc.build("convnext_tiny"))
    rf = rfs["features.7.2.add"]
    assert (rf.size, rf.jump, rf.start) == ((1688, 1688), (32, 32), (-828, -828))
    # the 7×7 global average pool: + 6·32, jump 7·32
    rf = rfs["avgpool"]
    assert (rf.size, rf.jump, rf.start) == ((1688 + 6 * 32,) * 2, (224, 224), (-828, -828))
    names = list(rfs)
    flatten = names.index("classifier.1")
    assert all(rfs[n] is not None for n in names[:flatten])  # a field on every row …
    assert rfs["classifier.1"] is None  # … until flatten


@pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX")
def test_summary_rf_convnext_tiny_in_a_terminal():
    from .pty_util import run_in_pty

    r = run_in_pty("summary", "convnext_tiny", "--rf", columns=80, lines=400)
    assert r.returncode == 0, r.text
    # a row's first line starts with its name and ends with its field (a long type wraps)
    rows = {line.split()[0]: line for line in r.text.splitlines() if line[:1].strip()}
    for name in ("features.1.0.block.1", "features.1.0.block.3", "features.1.0.block.6"):
        assert rows[name].rstrip().endswith("28/4/-12"), rows[name]  # 4 + 6·4, −3·4
    assert rows["features.7.2.add"].rstrip().endswith("1688/32/-828")
    assert rows["avgpool"].rstrip().endswith("1880/224/-828")
    assert rows["classifier.1"].rstrip().endswith("-")


def test_attention_still_ends_the_field():
    # Swin-T: the 4×4 stride-4 patch conv's field (4, jump 4) survives the permute and layer
    # norms; window attention mixes a whole window: no sliding-window field.
    rfs = receptive_fields(cnncalc.build("swin_t"))
    assert rfs["features.0.2"].size == (4, 4) and rfs["features.0.2"].jump == (4, 4)
    assert rfs["features.1.0.norm1"].size == (4, 4)
    assert rfs["features.1.0.attn"] is None


@pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX")
def test_explain_in_a_terminal_channels_last_and_attention():
    from .pty_util import run_in_pty

    # the first MLP linear of ConvNeXt-T's first block, on (56, 56, 96): the depthwise conv's
    # field, 4 + 6·4 = 28, jump 4, first pixel −3·4
    r = run_in_pty("explain", "convnext_tiny", "-l", "features.1.0.block.3", columns=80)
    assert r.returncode == 0, r.text
    assert "  receptive field: 28 input pixels, jump 4, first pixel -12\n" in r.text
    r = run_in_pty("explain", "swin_t", "-l", "features.1.0.attn", columns=80)
    assert r.returncode == 0, r.text
    text = " ".join(r.text.split())  # the line wraps at 80 columns
    assert "receptive field: none (no spatial axes, or positions were mixed here" in text
    assert "before: attention," in text


def test_the_report_says_why_the_field_ends():
    from cnncalc.draw.html import _rf_figures

    # ViT-B/16: the 16×16 stride-16 patch conv's field (16, jump 16), then the patches are
    # flattened into tokens
    ((_, text),) = _rf_figures(cnncalc.analyze("vit_b_16"))
    assert text == (
        "16 input pixels at conv_proj (jump 16); not followed past patches (flatten): "
        "it merges or regroups the spatial axes"
    )
    # a linear on W of a channels-first map: 3×3 conv (3, jump 1), then every column mixed
    spec = {
        "name": "lin",
        "input": [2, H, W],
        "layers": [
            {"conv2d": {"out_channels": 2, "kernel_size": 3, "padding": 1}, "name": "c"},
            {"linear": {"out_features": W}, "name": "mix"},
        ],
    }
    ((_, text),) = _rf_figures(cnncalc.analyze(spec))
    assert text == (
        "3 input pixels at c (jump 1); not followed past mix (linear): "
        "it mixes every position along a spatial axis"
    )
