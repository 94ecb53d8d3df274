"""Warnings: each one has a case that triggers it and a close case that must not."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.checks import check_graph
from cnncalc.errors import CnncalcError

from .conftest import run_cli


def _codes(layers, input_=(3, 32, 32)):
    graph = cnncalc.build({"name": "t", "input": list(input_), "layers": layers})
    return [(w.code, w.layer, w.message) for w in check_graph(graph)]


def _conv(**kw):
    return {"conv2d": {"out_channels": 4, **kw}, "name": "c"}


def _only(codes, code):
    return [c for c in codes if c[0] == code]


def test_uncovered_counts_lost_input_rows():
    # (32 − 3) mod 2 = 1, no padding: the last input row and column are never seen.
    (w,) = _only(_codes([_conv(kernel_size=3, stride=2)]), "uncovered")
    assert w[1] == "c" and f"= {(32 - 3) % 2}" in w[2] and "axes H, W" in w[2]
    # torchvision AlexNet conv1 at 224: (224 + 2 + 2 − 11) mod 4 = 1, but that one is padding.
    assert not _only(
        _codes([_conv(kernel_size=11, stride=4, padding=2)], (3, 224, 224)), "uncovered"
    )
    # divisible: (33 − 3) mod 2 = 0
    assert not _only(_codes([_conv(kernel_size=3, stride=2)], (3, 33, 33)), "uncovered")


def test_stride_larger_than_kernel():
    (w,) = _only(_codes([_conv(kernel_size=1, stride=2)]), "stride_gt_kernel")
    assert "1 of every 2" in w[2]
    assert not _only(_codes([_conv(kernel_size=2, stride=2)]), "stride_gt_kernel")
    # dilation widens the kernel: 2·(2 − 1) + 1 = 3 ≥ stride 3
    assert not _only(_codes([_conv(kernel_size=2, stride=3, dilation=2)]), "stride_gt_kernel")
    t = {"conv_transpose2d": {"out_channels": 2, "kernel_size": 2, "stride": 3}, "name": "up"}
    (w,) = _only(_codes([t]), "stride_gt_kernel")
    assert "output positions" in w[2]


def test_padding_at_least_kernel():
    assert _only(_codes([_conv(kernel_size=3, padding=3)]), "padding_ge_kernel")
    assert not _only(_codes([_conv(kernel_size=3, padding=2)]), "padding_ge_kernel")


def test_ceil_mode_window_in_padding():
    pool = {
        "maxpool2d": {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True},
        "name": "p",
    }
    (w,) = _only(_codes([pool], (1, 5, 5)), "ceil_window_in_padding")
    # ⌈(5 + 1 + 1 − 2)/2⌉ + 1 = 4 windows; the last starts at 3·2 = 6 ≥ 5 + 1
    assert "= 4" in w[2] and "= 6" in w[2]
    # GoogLeNet's 112 → 56: the last window starts at 110 < 112, kept: no warning
    ok = {"maxpool2d": {"kernel_size": 3, "stride": 2, "ceil_mode": True}}
    assert not _only(_codes([ok], (64, 112, 112)), "ceil_window_in_padding")


def test_kernel_larger_than_padded_input_stays_an_error():
    with pytest.raises(CnncalcError, match="larger than the padded input"):
        _codes([_conv(kernel_size=7)], (3, 5, 5))


def test_param_share_vgg16_fc6():
    report = cnncalc.analyze("vgg16")
    (w,) = [w for w in report.warnings if w["code"] == "param_share"]
    # REFERENCE.md: 7·7·512·4096 weights (+ 4096 biases) of 138,357,544
    fc6 = 7 * 7 * 512 * 4096 + 4096
    assert w["layer"] == "fc6" and f"{fc6:,}" in w["message"]
    assert f"{100 * fc6 / 138357544:.1f} %" in w["message"]
    # ResNet-50's largest layer (fc: 2048·1000 + 1000) is 8 % of 25.6 M: no warning
    assert not [w for w in cnncalc.analyze("resnet50").warnings if w["code"] == "param_share"]


def test_warnings_in_summary_text_and_json():
    r = run_cli("summary", "vgg16")
    assert "warning [param_share] fc6" in r.stdout
    r = run_cli("summary", "vgg16", "--format", "json")
    import json

    doc = json.loads(r.stdout)
    assert {"code", "layer", "message"} == set(doc["warnings"][0])
