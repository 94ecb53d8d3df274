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
    # 2-D: a 1×1 window every 2 pixels on both axes reads 1 of 2·2 positions: 2·2 − 1·1 skipped
    assert f"{2 * 2 - 1 * 1} of every {2 * 2}" in w[2] and "axes H, W" in w[2]
    conv1d = {"conv1d": {"out_channels": 4, "kernel_size": 1, "stride": 3}, "name": "c"}
    (w,) = _only(_codes([conv1d], (3, 32)), "stride_gt_kernel")
    assert f"{3 - 1} of every 3" in w[2]  # 1-D
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


def test_param_share_only_for_nearly_all_params():
    # flatten 16·32·32 = 16,384 features into 10 outputs, no pooling: 163,850 of
    # 163,850 + (3·3·3 + 1)·16 = 448 parameters (99.7 %) in one layer
    layers = [
        _conv(kernel_size=3, padding=1, out_channels=16),
        "flatten",
        {"linear": {"out_features": 10}, "name": "fc"},
    ]
    (w,) = _only(_codes(layers), "param_share")
    fc = 16 * 32 * 32 * 10 + 10
    assert w[1] == "fc" and f"{fc:,} of the {fc + 448:,}" in w[2]
    # VGG-16's fc6 holds 7·7·512·4096 + 4096 of 138,357,544 (74 %), LeNet-5's f5
    # 400·120 + 120 of 61,706 (78 %): a big first FC layer is those classifiers' design
    assert (7 * 7 * 512 * 4096 + 4096) / 138357544 < 0.9 and (400 * 120 + 120) / 61706 < 0.9
    for model in ("vgg16", "lenet5", "alexnet", "mnist_cnn", "yolov1"):
        assert not [w for w in cnncalc.analyze(model).warnings if w["code"] == "param_share"]


def test_warnings_in_summary_text_and_json():
    r = run_cli("summary", "squeezenet1_0", "--warn", "all")
    # conv1 (torchvision's features.0): (224 − 7) mod 2 = 1, the design of the published model
    # (expected_warnings)
    assert "warning [uncovered] features.0" in r.stdout
    r = run_cli("summary", "squeezenet1_0", "--warn", "uncovered", "--format", "json")
    import json

    doc = json.loads(r.stdout)
    assert {"code", "layer", "message"} == set(doc["warnings"][0])
