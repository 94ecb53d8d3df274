"""`cnncalc explain`: every formula's final number is the analyzer's number, and the arithmetic
shown is the published one (cs231n's AlexNet conv1, the 9216 = 256·6·6 flatten)."""

from __future__ import annotations

import json
import re

import pytest

import cnncalc
from cnncalc.explain import explain_graph

from .conftest import buffer_count, make_layer, param_count, run_cli
from .test_layers import CASES

_LAST_NUMBER = re.compile(r"= (−?[\d,]+)$")


def _final(text: str) -> int:
    m = _LAST_NUMBER.search(text)
    assert m, f"no final '= number' in {text!r}"
    return int(m.group(1).replace(",", "").replace("−", "-"))


def _check_formulas(formulas, quantities: dict[str, int]) -> set[str]:
    checked = set()
    for f in formulas:
        if f.value is None:
            assert not f.checks, f.text
            continue
        assert _final(f.text) == f.value, f.text
        for key in f.checks:
            assert key in quantities, f"{f.text}: unknown check {key}"
            assert f.value == quantities[key], f"{f.text}: analyzer says {quantities[key]}"
            checked.add(key)
    return checked


def _layer_quantities(layer) -> dict[str, int]:
    q = {
        "params": param_count(layer),
        "buffers": buffer_count(layer),
        "macs": layer.macs(),
        "flops": layer.flops(),
    }
    q.update({f"shape[{i}]": d for i, d in enumerate(layer.out_shape)})
    return q


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_every_layer_case_explains_its_own_numbers(case):
    layer = make_layer(case.type, case.args, *case.inputs)
    checked = _check_formulas(layer.explain(), _layer_quantities(layer))
    # Every explanation accounts for the parameters, MACs and FLOPs.
    assert {"params", "macs", "flops"} <= checked, (case.type, checked)


@pytest.mark.parametrize("model", ["alexnet_2012", "googlenet", "lenet5", "resnet18"])
def test_explain_matches_the_analyzer_on_zoo_models(model):
    graph = cnncalc.build(model)
    report = cnncalc.analyze(graph)
    for rec in explain_graph(graph):
        row = report.row(rec.name)
        q = {
            "params": row.params
            if not row.shared_with
            else param_count(graph.by_name[rec.name].layer),
            "buffers": row.buffers,
            "macs": graph.by_name[rec.name].layer.macs(),
            "flops": graph.by_name[rec.name].layer.flops(),
            "activation_bytes": row.output_elements * 4,
        }
        q.update({f"shape[{i}]": d for i, d in enumerate(row.output_shape)})
        checked = _check_formulas(rec.formulas, q)
        assert "activation_bytes" in checked
        # Every output axis that a formula states equals the analyzer's shape (checked above);
        # windowed layers state all of their spatial axes.
        if graph.by_name[rec.name].layer.window() is not None and rec.type.startswith("conv"):
            assert {f"shape[{i}]" for i in range(1, len(row.output_shape))} <= checked


def test_alexnet_conv1_shows_the_cs231n_arithmetic():
    (rec,) = explain_graph(cnncalc.build("alexnet_2012"), "conv1")
    texts = [f.text for f in rec.formulas]
    assert f"⌊(227 − 11 + 2·0) / 4⌋ + 1 = {(227 - 11) // 4 + 1}" in texts[0]
    assert any(f"(11·11·3 + 1)·96 = {(11 * 11 * 3 + 1) * 96:,}" in t for t in texts)
    assert any(f"55·55·96 · 11·11·3 = {55 * 55 * 96 * 11 * 11 * 3:,}" in t for t in texts)


def test_linear_after_flatten_says_where_9216_comes_from():
    graph = cnncalc.build("alexnet_2012")
    fc = next(n.name for n in graph.nodes if n.type == "linear")
    (rec,) = explain_graph(graph, fc)
    origin = rec.formulas[0]
    assert origin.text.endswith(f"256·6·6 = {256 * 6 * 6:,}") and "flatten" in origin.note
    assert any(f"(9,216 + 1)·4,096 = {(9216 + 1) * 4096:,}" in f.text for f in rec.formulas)


def _texts(type_, args, shape):
    return [(f.text, f.note) for f in make_layer(type_, args, shape).explain()]


def test_ceil_mode_shows_rounding_and_last_window_check():
    kept = _texts("maxpool2d", dict(kernel_size=3, stride=2, ceil_mode=True), (64, 112, 112))
    assert kept[0][0].endswith("⌈(112 − 3 + 2·0) / 2⌉ + 1 = 56")  # 109/2 = 54.5 → 55, + 1
    assert "(56 − 1)·2 = 110" in kept[1][0] and "kept" in kept[1][1]
    dropped = _texts(
        "maxpool2d", dict(kernel_size=2, stride=2, padding=1, ceil_mode=True), (1, 5, 5)
    )
    assert dropped[0][0].endswith("⌈(5 − 2 + 2·1) / 2⌉ + 1 = 4")
    assert "(4 − 1)·2 = 6" in dropped[1][0] and "drops" in dropped[1][1]
    assert dropped[2][0].endswith("4 − 1 = 3")


def test_same_padding_names_the_side_of_the_odd_pixel():
    t = _texts(
        "conv2d", dict(out_channels=4, kernel_size=3, stride=2, padding="same"), (3, 224, 224)
    )
    # out = ⌈224/2⌉ = 112; total = (112 − 1)·2 + 3 − 224 = 1: all of it at the end
    assert t[0][0].endswith(f"= {(112 - 1) * 2 + 3 - 224}")
    assert "top 0, bottom 1" in t[0][1] and "end (bottom)" in t[0][1]


def test_dilation_shows_the_effective_kernel():
    t = _texts("conv2d", dict(out_channels=4, kernel_size=3, dilation=2), (3, 20, 20))
    assert t[0][0] == f"F_eff = D·(F − 1) + 1 = 2·(3 − 1) + 1 = {2 * (3 - 1) + 1}"
    assert t[1][0].endswith(f"20 − 5 + 2·0 + 1 = {20 - 5 + 1}")


def test_depthwise_and_transposed_conv():
    t = _texts("conv2d", dict(out_channels=32, kernel_size=3, groups=32, bias=False), (32, 8, 8))
    assert any("depthwise" in n for _, n in t)
    assert any(x.endswith(f"= {3 * 3 * 1 * 32}") and x.startswith("params") for x, _ in t)
    t = _texts(
        "conv_transpose2d", dict(out_channels=8, kernel_size=4, stride=2, padding=1), (16, 7, 7)
    )
    assert t[0][0].endswith(f"(7 − 1)·2 − 2·1 + 1·(4 − 1) + 0 + 1 = {(7 - 1) * 2 - 2 + 3 + 1}")


def test_attention_when_registered():
    from cnncalc.layers import REGISTRY

    if "multi_head_attention" not in REGISTRY:
        pytest.skip("multi_head_attention not registered")
    t = _texts("multi_head_attention", dict(num_heads=12), (197, 768))
    d, n = 768, 197
    assert any(x.startswith("params") and x.endswith(f"{4 * d * d + 4 * d:,}") for x, _ in t)
    assert any(
        x.startswith("MACs") and x.endswith(f"{4 * n * d * d + 2 * n * n * d:,}") for x, _ in t
    )


def test_cli_explain_text_json_and_errors():
    r = run_cli("explain", "alexnet_2012", "--layer", "conv1")
    assert r.returncode == 0, r.stderr
    assert "34,944" in r.stdout and "receptive field: 11 input pixels, jump 4" in r.stdout
    r = run_cli("explain", "lenet5", "--format", "json")
    doc = json.loads(r.stdout)
    assert [x["name"] for x in doc["layers"]][0] == "c1"
    c1 = doc["layers"][0]
    assert c1["formulas"][0]["value"] == 32 - 5 + 1
    r = run_cli("explain", "lenet5", "--layer", "c9")
    assert r.returncode == 1 and "no layer or block named 'c9'" in r.stderr
