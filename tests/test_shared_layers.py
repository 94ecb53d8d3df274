"""Built layers are kept with their parsed spec (cnncalc.graph.GraphWiring): graphs built from
one spec at other input sizes, variables or variants reuse each other's layer objects. Reuse must
not change any figure: a report from a spec that built other graphs before equals the report of a
freshly parsed spec, and the figures stay the published ones."""

from __future__ import annotations

import json

from cnncalc.analysis import analyze_graph
from cnncalc.graph import LAYER_CACHE_MAX, build_graph
from cnncalc.spec import read_spec
from cnncalc.zoo import zoo_members

RESNET = next(m for m in zoo_members() if m.name == "resnet50")


def _json(spec, variant, shape=None, overrides=None):
    g = build_graph(spec, variant, shape, overrides)
    return g, json.dumps(analyze_graph(g, lazy=False).to_dict())


def test_reports_equal_those_of_a_fresh_spec_after_other_sizes_and_variables():
    spec = read_spec(RESNET.file)
    seen = [
        _json(spec, "resnet50", (3, s, s), {"num_classes": c})
        for s, c in ((224, 1000), (160, 10), (224, 10), (96, 1000))
    ]
    for (s, c), (_, text) in zip(((224, 1000), (160, 10), (224, 10), (96, 1000)), seen):
        fresh = read_spec(RESNET.file)
        assert _json(fresh, "resnet50", (3, s, s), {"num_classes": c})[1] == text
    # the published figures (torchvision: 25,557,032 params, 4.089 GFLOPS i.e. GMACs at 224)
    first = json.loads(seen[0][1])
    assert first["totals"]["params"] == 25_557_032
    assert round(first["totals"]["macs"] / 1e9, 3) == 4.089
    # fc = 2048·C + C: with 10 classes 2048·990 + 990 fewer parameters than with 1000
    assert first["totals"]["params"] - json.loads(seen[2][1])["totals"]["params"] == 2049 * 990


def test_equal_layers_of_two_graphs_are_one_object():
    spec = read_spec(RESNET.file)
    g1, _ = _json(spec, "resnet50", (3, 224, 224), {"num_classes": 1000})
    g2, _ = _json(spec, "resnet50", (3, 224, 224), {"num_classes": 10})
    same = [a.layer is b.layer for a, b in zip(g1.nodes, g2.nodes)]
    assert all(same[:-1])  # every layer but the classifier
    assert not same[-1] and g2.nodes[-1].out_shape == (10,)


def test_the_table_is_bounded():
    spec = read_spec(RESNET.file)
    build_graph(spec, "resnet50")
    table = spec.__dict__["_built_layers"]
    assert 0 < len(table) <= LAYER_CACHE_MAX
    for k in range(LAYER_CACHE_MAX + 1 - len(table)):
        table[("filler", k)] = None
    build_graph(spec, "resnet50")  # over the bound: a new table, holding this graph's layers
    assert spec.__dict__["_built_layers"] is not table
    assert len(spec.__dict__["_built_layers"]) < 1000


def test_a_huge_graph_leaves_nothing_behind_in_its_spec():
    from cnncalc.spec import spec_from_text

    n = LAYER_CACHE_MAX + 10  # every ReLU different (its input): more than the bound
    spec = spec_from_text(
        "input: [4, 8, 8]\n"
        "blocks:\n  unit:\n    params: {c: null}\n    layers:\n"
        "      - conv2d: {out_channels: c, kernel_size: 1}\n      - relu\n"
        f"layers:\n  - unit: {{c: '4 + i'}}\n    repeat: {n}\n"
    )
    g = build_graph(spec)
    assert len(g.nodes) == 2 * n and g.nodes[-1].out_shape == (4 + n - 1, 8, 8)
    assert "_built_layers" not in spec.__dict__
    small = read_spec(RESNET.file)
    build_graph(small, "resnet50")
    assert 0 < len(small.__dict__["_built_layers"]) <= LAYER_CACHE_MAX


def test_an_entry_whose_layers_all_differ_stops_filling_the_table():
    """A repeat whose arguments follow the index builds a new layer every time: after _MISS_RUN
    misses in a row the entry neither looks its layers up nor keeps them (graph._MISS_RUN), and
    the figures are the same: channels 4 + i, 1×1 kernel, so params = Σ (4+i−1)·(4+i) + (4+i)."""
    from cnncalc.graph import _MISS_RUN
    from cnncalc.spec import spec_from_text

    n = 3 * _MISS_RUN
    text = (
        "input: [4, 8, 8]\nlayers:\n  - conv2d: {out_channels: '4 + i', kernel_size: 1}\n"
        f"    repeat: {n}\n"
    )
    spec = spec_from_text(text)
    report = analyze_graph(build_graph(spec))
    assert len(spec.__dict__["_built_layers"]) == _MISS_RUN
    cin = [4] + [4 + i for i in range(n - 1)]
    assert report.totals.params == sum(c * (4 + i) + (4 + i) for i, c in enumerate(cin))
    assert report.totals.macs == sum(64 * c * (4 + i) for i, c in enumerate(cin))
    # a second graph from the same spec looks the first _MISS_RUN layers up again: same figures
    again = analyze_graph(build_graph(spec))
    assert again.totals == report.totals
