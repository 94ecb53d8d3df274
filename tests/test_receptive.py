"""Receptive fields: the published VGG-16 figure, and a brute-force check that perturbs one input
pixel at a time and sees which outputs change, on small nets of every kind."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.receptive import receptive_fields, receptive_path

from .conftest import run_cli


def _vgg16_conv_spec() -> dict:
    layers: list = []
    for stage, (n, c) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], start=1):
        for _ in range(n):
            layers += [{"conv2d": {"out_channels": c, "kernel_size": 3, "padding": 1}}, "relu"]
        layers.append({"maxpool2d": {"kernel_size": 2, "stride": 2}, "name": f"pool{stage}"})
    return {"name": "vgg16_features", "input": [3, 224, 224], "layers": layers}


def test_vgg16_pool5_matches_google_research_table():
    # REFERENCE.md: receptive field 212, effective stride 32, effective padding 90.
    rf = receptive_fields(cnncalc.build(_vgg16_conv_spec()))["pool5"]
    assert rf.size == (212, 212) and rf.jump == (32, 32) and rf.start == (-90, -90)


def test_vgg16_zoo_spec_and_json_contract():
    report = cnncalc.analyze("vgg16")
    d = report.to_dict()
    # the paper's pool5 is torchvision's features.30 (13 convs and 13 ReLUs, 5 pools: 0 … 30)
    pool5 = next(r for r in d["layers"] if r["name"] == "features.30")
    assert pool5["receptive_field"] == {"size": [212, 212], "jump": [32, 32], "start": [-90, -90]}
    # After flatten there are no spatial axes: the field is null, and said so.
    assert d["layers"][-1]["receptive_field"] is None


def test_summary_rf_column():
    r = run_cli("summary", "vgg16", "--rf")
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("features.30 "))  # pool5
    assert line.rstrip().endswith("212/32/-90")


# --------------------------------------------------------------------------------------------
# Brute force: weights > 0, biases 0, zero input; a 1 at pixel i reaches output o iff o depends
# on i (every layer maps 0 → 0 and is monotone with positive weights).
# --------------------------------------------------------------------------------------------


def _influence(graph, name):
    """{output position tuple: set of input position tuples that change it}."""
    np = pytest.importorskip("numpy")
    ((in_name, shape),) = graph.inputs.items()
    c, sp = shape[0], shape[1:]
    n = int(np.prod(sp))
    x = np.zeros((n, c, *sp), dtype=np.float64)
    positions = list(np.ndindex(*sp))
    for i, p in enumerate(positions):
        x[(i, slice(None), *p)] = 1.0
    rng = np.random.default_rng(0)
    vals = {in_name: x}
    for node in graph.nodes:
        params = {}
        for w in node.layer.weights():
            params[w.name] = (
                np.zeros(w.shape) if "bias" in w.name else rng.uniform(0.5, 1.5, w.shape)
            )
        vals[node.name] = node.layer.forward([vals[i] for i in node.inputs], params)
    y = vals[name]
    hit = (np.abs(y) > 1e-12).any(axis=1)  # (n, *out_spatial)
    out = {}
    for o in np.ndindex(*y.shape[2:]):
        out[o] = {positions[i] for i in np.nonzero(hit[(slice(None), *o)])[0]}
    return out, sp


def _spec1d(layers, width=48, channels=2):
    return {"name": "t", "input": [channels, width], "layers": layers}


C = {"out_channels": 2}
NETS = {
    "conv": [{"conv1d": {**C, "kernel_size": 3}}, {"conv1d": {**C, "kernel_size": 5}}],
    "strided": [
        {"conv1d": {**C, "kernel_size": 3, "stride": 2, "padding": 1}},
        {"conv1d": {**C, "kernel_size": 3, "stride": 2}},
        {"conv1d": {**C, "kernel_size": 2, "stride": 3}},
    ],
    "dilated": [
        {"conv1d": {**C, "kernel_size": 3, "dilation": 2}},
        {"conv1d": {**C, "kernel_size": 3, "dilation": 3, "padding": 2}},
    ],
    "pooled": [
        {"conv1d": {**C, "kernel_size": 3, "padding": 1}},
        {"maxpool1d": {"kernel_size": 2}},
        {"conv1d": {**C, "kernel_size": 3}},
        {"avgpool1d": {"kernel_size": 3, "stride": 2, "padding": 1}},
        {"maxpool1d": {"kernel_size": 3, "stride": 2, "ceil_mode": True}},
    ],
    "transposed": [
        {"conv1d": {**C, "kernel_size": 3, "stride": 2}},
        {"conv_transpose1d": {**C, "kernel_size": 4, "stride": 2, "padding": 1}},
        {"conv1d": {**C, "kernel_size": 3}},
        {"conv_transpose1d": {**C, "kernel_size": 3, "stride": 3, "dilation": 2}},
    ],
    "upsampled nearest": [
        {"conv1d": {**C, "kernel_size": 3, "stride": 2}},
        {"upsample1d": {"scale_factor": 2}},
        {"conv1d": {**C, "kernel_size": 3}},
        {"upsample1d": {"scale_factor": 3}},
        {"conv1d": {**C, "kernel_size": 4}},
    ],
    "upsampled linear": [
        {"conv1d": {**C, "kernel_size": 3}},
        {"upsample1d": {"scale_factor": 2, "mode": "linear"}},
        {"conv1d": {**C, "kernel_size": 3}},
        {"upsample1d": {"scale_factor": 3, "mode": "linear"}},
    ],
    "pad and crop": [
        {"zero_pad1d": {"padding": [[2, 1]]}},
        {"conv1d": {**C, "kernel_size": 5}},
        {"crop1d": {"cropping": [[3, 1]]}},
        {"conv1d": {**C, "kernel_size": 3, "stride": 2}},
    ],
    "branching add": [
        {"conv1d": {**C, "kernel_size": 3, "padding": 1}, "name": "stem"},
        {"conv1d": {**C, "kernel_size": 5, "padding": 2}, "name": "a1"},
        {"conv1d": {**C, "kernel_size": 5, "padding": 2}, "name": "a2"},
        {"conv1d": {**C, "kernel_size": 1}, "name": "b", "input": "stem"},
        {"add": None, "inputs": ["a2", "b"], "name": "sum"},
        {"conv1d": {**C, "kernel_size": 3, "stride": 2}},
    ],
    "branching concat": [
        {"conv1d": {**C, "kernel_size": 3, "stride": 2, "padding": 1}, "name": "stem"},
        {"conv1d": {**C, "kernel_size": 1}, "name": "p1"},
        {"conv1d": {**C, "kernel_size": 7, "padding": 3}, "name": "p7", "input": "stem"},
        {"maxpool1d": {"kernel_size": 3, "stride": 1, "padding": 1}, "name": "pp", "input": "stem"},
        {"concat": None, "inputs": ["p1", "p7", "pp"], "name": "cat"},
    ],
}


@pytest.mark.parametrize("layers", list(NETS.values()), ids=list(NETS))
def test_brute_force_1d(layers):
    graph = cnncalc.build(_spec1d(layers))
    rfs = receptive_fields(graph)
    exact = True  # exact fields until a transposed window (transposed conv, upsampling)
    for node in graph.nodes:
        win = node.layer.window()
        exact = exact and not (win is not None and win.transposed)
        rf = rfs[node.name]
        assert rf is not None
        infl, (width,) = _influence(graph, node.name)
        widest = 0
        for (o,), inputs in infl.items():
            lo, hi = rf.bounds(o)
            got = sorted(p for (p,) in inputs)
            if not got:  # a border of zero padding, or a gap of a sparse transposed conv
                continue
            assert lo <= got[0] and got[-1] <= hi, (node.name, o, (lo, hi), got)
            if 0 <= lo and hi < width:  # field inside the input: nothing clipped
                widest = max(widest, got[-1] - got[0] + 1)
                if exact:
                    assert (got[0], got[-1]) == (lo, hi), (node.name, o, (lo, hi), got)
        if widest:
            assert widest <= rf.size[0], (node.name, widest, rf.size)
            assert widest == rf.size[0] or not exact, (node.name, widest, rf.size)


def test_fractional_jumps_are_bounds_close_to_the_truth():
    # After a transposed window the field is a bound: never narrower than the truth, and for
    # these nets at most 2 pixels wider (the exact per-residue field is not tracked).
    for key in ("transposed", "upsampled nearest", "upsampled linear"):
        graph = cnncalc.build(_spec1d(NETS[key]))
        last = graph.nodes[-1].name
        rf = receptive_fields(graph)[last]
        infl, (width,) = _influence(graph, last)
        widest = max(
            max(p for (p,) in v) - min(p for (p,) in v) + 1
            for (o,), v in infl.items()
            if v and rf.bounds(o)[0] >= 0 and rf.bounds(o)[1] < width
        )
        assert widest <= rf.size[0] <= widest + 2, (key, widest, rf.size)


def test_brute_force_2d_axes_differ():
    spec = {
        "name": "t2",
        "input": [1, 12, 15],
        "layers": [
            {"conv2d": {"out_channels": 2, "kernel_size": [3, 5], "stride": [1, 2]}},
            {"maxpool2d": {"kernel_size": [2, 1]}},
            {"upsample2d": {"scale_factor": 2, "mode": "bilinear"}},
        ],
    }
    graph = cnncalc.build(spec)
    rfs = receptive_fields(graph)
    conv = graph.nodes[0].name
    assert rfs[conv].size == (3, 5) and rfs[conv].jump == (1, 2)
    for node in graph.nodes:
        infl, _ = _influence(graph, node.name)
        rf = rfs[node.name]
        for o, inputs in infl.items():
            for axis in (0, 1):
                lo, hi = rf.bounds(o[axis], axis)
                vals = [p[axis] for p in inputs]
                assert lo <= min(vals) and max(vals) <= hi, (node.name, o, axis)


def test_branching_names_the_path():
    graph = cnncalc.build(_spec1d(NETS["branching add"]))
    rfs = receptive_fields(graph)
    # a-path: 3 + 4 + 4 = 11 pixels; b-path: 3 + 0 = 3; the add takes the union, via a2.
    assert rfs["sum"].size == (3 + 4 + 4,) and rfs["sum"].via == "a2"
    assert receptive_path(graph, "sum") == ["input", "stem", "a1", "a2", "sum"]


def test_no_spatial_axes_after_flatten_is_none():
    spec = _spec1d(
        [{"conv1d": {**C, "kernel_size": 3}}, "flatten", {"linear": {"out_features": 3}}]
    )
    rfs = receptive_fields(cnncalc.build(spec))
    assert [rfs[n] for n in list(rfs)[-2:]] == [None, None]
