"""The worked examples of the seed notes (../shared/seeds), as arithmetic."""

from __future__ import annotations

import cnncalc

from .conftest import make_layer, param_count


def test_mnist_cnn_every_layer_seed_001():
    r = cnncalc.analyze("mnist_cnn")
    shapes = {row.name: row.output_shape for row in r.rows}
    assert shapes["conv1"] == (64, 28 - 3 + 1, 26)
    assert shapes["pool1"] == (64, 26 // 2, 13)
    assert shapes["conv2"] == (64, 13 - 3 + 1, 11)
    assert shapes["pool2"] == (64, 11 // 2, 5)
    assert shapes["flatten_1"] == (5 * 5 * 64,)  # 1600
    assert r.row("conv1").params == (3 * 3 * 1 + 1) * 64  # 640
    assert r.row("conv2").params == (3 * 3 * 64 + 1) * 64  # 36,928
    assert r.row("fc1").params == (1600 + 1) * 128  # 204,928
    assert r.row("fc2").params == (128 + 1) * 10  # 1,290
    assert r.params == 640 + 36928 + 204928 + 1290 == 243786


def test_filters_vs_dense_seed_001():
    for size in (64, 1080):
        conv = make_layer("conv2d", dict(out_channels=50, kernel_size=3), (3, size, size))
        assert param_count(conv) == 3 * 3 * 3 * 50 + 50 == 1400
    dense = make_layer("dense", dict(out_features=50), (64 * 64 * 3,))
    assert param_count(dense) == 64 * 64 * 3 * 50 + 50 == 614450
    dense = make_layer("dense", dict(out_features=50), (1080 * 1080 * 3,))
    assert param_count(dense) == 1080 * 1080 * 3 * 50 + 50 == 174960050


def test_seven_by_seven_seed_002():
    layer = make_layer("conv2d", dict(out_channels=1, kernel_size=3), (1, 7, 7))
    assert layer.out_shape[1:] == ((7 - 3 + 2 * 0) // 1 + 1,) * 2 == (5, 5)


def test_alexnet_first_layer_seed_002():
    layer = make_layer("conv2d", dict(out_channels=96, kernel_size=11, stride=4), (3, 227, 227))
    assert layer.out_shape == (96, (227 - 11) // 4 + 1, 55) == (96, 55, 55)
    assert param_count(layer) == 96 * 11 * 11 * 3 + 96 == 34944
    # cs231n's "without parameter sharing" figure: 55·55·96 neurons × (363 weights + 1 bias)
    assert 55 * 55 * 96 * (11 * 11 * 3 + 1) == 105705600


def test_same_padding_and_pool_seed_002():
    spec = {
        "input": [3, 32, 32],
        "layers": [
            {"conv2d": {"out_channels": 12, "kernel_size": 3, "padding": "same"}},
            "relu",
            {"maxpool2d": {"kernel_size": 2}},
        ],
    }
    r = cnncalc.analyze(spec)
    assert r.rows[0].output_shape == (12, 32, 32)
    assert r.output_shape == (12, 16, 16)


def test_feature_maps_seed_000():
    three_to_six = make_layer(
        "conv2d", dict(out_channels=6, kernel_size=3, bias=False), (3, 10, 10)
    )
    assert param_count(three_to_six) == 3 * 6 * 3 * 3 == 162  # 18 filters of 3×3
    with_bias = make_layer("conv2d", dict(out_channels=6, kernel_size=3), (3, 10, 10))
    assert param_count(with_bias) == 162 + 6
    six_to_twelve = make_layer(
        "conv2d", dict(out_channels=12, kernel_size=3, bias=False), (6, 10, 10)
    )
    assert param_count(six_to_twelve) == 6 * 12 * 9 == 648
    flat = make_layer("flatten", {}, (512, 6, 3))
    assert flat.out_shape == (6 * 3 * 512,) == (9216,)


def test_seed_003_conv_is_30_not_29():
    """Seed 003 writes H_o = 32 − 3 + 1 = 29: an arithmetic slip. 32 − 3 + 1 = 30."""
    layer = make_layer("conv2d", dict(out_channels=16, kernel_size=3), (3, 32, 32))
    assert layer.out_shape == (16, 32 - 3 + 1, 32 - 3 + 1) == (16, 30, 30)
    assert [w.shape for w in layer.weights()] == [(16, 3, 3, 3), (16,)]  # W = [C_o, C_i, K_h, K_w]


def test_lenet5_reference():
    """REFERENCE.md: LeNet-5 as usually taught, 61,706 parameters."""
    r = cnncalc.analyze("lenet5")
    assert (
        r.params
        == (5 * 5 * 1 + 1) * 6
        + (5 * 5 * 6 + 1) * 16
        + (400 + 1) * 120
        + (120 + 1) * 84
        + (84 + 1) * 10
    )
    assert r.params == 61706
