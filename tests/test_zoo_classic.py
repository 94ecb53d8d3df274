"""The classic part of the zoo: what a spec's `expected` block cannot say.

Parameter totals without one authoritative published figure are derived here layer by layer
(``(11*11*3 + 1) * 96`` …), and the shape sequences printed in the papers are checked in order.
tests/test_zoo.py checks every `expected` block; this file checks where those figures come from.
"""

from __future__ import annotations

import pytest

import cnncalc


def conv(k: int, cin: int, cout: int, bias: bool = True, groups: int = 1) -> int:
    """Parameters of a k×k conv: k·k·(C_in/groups)·C_out weights (+ C_out biases)."""
    return k * k * (cin // groups) * cout + (cout if bias else 0)


def fc(n_in: int, n_out: int) -> int:
    """Parameters of a linear layer with bias."""
    return n_in * n_out + n_out


def spatial(report: cnncalc.Report, names: list[str]) -> list[int]:
    return [report.row(n).output_shape[-1] for n in names]


# --------------------------------------------------------------------------------------------
# AlexNet
# --------------------------------------------------------------------------------------------


def test_alexnet_is_torchvisions_and_the_default():
    r = cnncalc.analyze("alexnet")
    assert r.name == "alexnet"
    assert r.params == 61_100_840  # torchvision docs
    assert r.row("features.0").output_shape == (64, 55, 55)  # conv1, torchvision's name


def test_alexnet_2012_first_layer_matches_cs231n():
    """cs231n: 227×227×3, 96 filters 11×11 stride 4 → 55×55×96, (11·11·3 + 1)·96 = 34,944."""
    r = cnncalc.analyze("alexnet_2012")
    row = r.row("conv1")
    assert row.output_shape == (96, 55, 55)
    assert (227 - 11) // 4 + 1 == 55
    assert row.params == 34_944 == (11 * 11 * 3 + 1) * 96


@pytest.mark.parametrize("variant, groups", [("alexnet_2012", 1), ("alexnet_2012_grouped", 2)])
def test_alexnet_2012_params_layer_by_layer(variant, groups):
    """Krizhevsky 2012: conv 96@11, 256@5, 384@3, 384@3, 256@3; FC 4096, 4096, 1000.

    On two GPUs conv2, conv4 and conv5 see only their own GPU's half of the channels
    (groups = 2); conv3 and the FC layers see both.
    """
    expected = (
        conv(11, 3, 96)
        + conv(5, 96, 256, groups=groups)
        + conv(3, 256, 384)
        + conv(3, 384, 384, groups=groups)
        + conv(3, 384, 256, groups=groups)
        + fc(6 * 6 * 256, 4096)
        + fc(4096, 4096)
        + fc(4096, 1000)
    )
    r = cnncalc.analyze(variant)
    assert r.params == expected
    assert cnncalc.build(variant).expected["params"] == expected
    # the paper's sizes: 55 → 27 (pool) → 27 → 13 (pool) → 13 → 13 → 13 → 6 (pool)
    assert spatial(r, ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5"]) == [
        55,
        27,
        27,
        13,
        13,
        13,
        13,
        6,
    ]


def test_alexnet_2012_grouped_figure_is_the_usual_60_million():
    grouped = (
        (11 * 11 * 3 + 1) * 96  # conv1: 34,944
        + 256 * (96 // 2) * 5 * 5
        + 256  # conv2, two groups: 307,456
        + 384 * 256 * 3 * 3
        + 384  # conv3 sees both halves: 885,120
        + 384 * (384 // 2) * 3 * 3
        + 384  # conv4, two groups: 663,936
        + 256 * (384 // 2) * 3 * 3
        + 256  # conv5, two groups: 442,624
        + 6 * 6 * 256 * 4096
        + 4096  # fc6: 37,752,832
        + 4096 * 4096
        + 4096  # fc7: 16,781,312
        + 4096 * 1000
        + 1000  # fc8: 4,097,000
    )
    assert grouped == 60_965_224  # the figure usually quoted for the paper's AlexNet
    assert cnncalc.analyze("alexnet_2012_grouped").params == grouped


# --------------------------------------------------------------------------------------------
# ZFNet
# --------------------------------------------------------------------------------------------


def test_zfnet_figure3_sizes():
    """Zeiler & Fergus figure 3: 224 → 110 → 55 → 26 → 13 → 13 → 13 → 6.

    The figure's 13s are layer 2 after pooling and layers 3, 4, 5 (the input of each is 13).
    """
    r = cnncalc.analyze("zfnet")
    names = ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5"]
    assert [r.input_shape[-1], *spatial(r, names)] == [224, 110, 55, 26, 13, 13, 13, 13, 6]
    # the chosen paddings, as arithmetic: conv1 pad 1 (floor), pools in ceil mode
    assert (224 + 2 * 1 - 7) // 2 + 1 == 110
    assert -(-(110 - 3) // 2) + 1 == 55 and (110 - 3) // 2 + 1 == 54  # ceil needed
    assert (55 - 5) // 2 + 1 == 26
    assert -(-(26 - 3) // 2) + 1 == 13
    assert -(-(13 - 3) // 2) + 1 == 6 == (13 - 3) // 2 + 1


def test_zfnet_params_layer_by_layer():
    expected = (
        conv(7, 3, 96)
        + conv(5, 96, 256)
        + conv(3, 256, 384)
        + conv(3, 384, 384)
        + conv(3, 384, 256)
        + fc(6 * 6 * 256, 4096)
        + fc(4096, 4096)
        + fc(4096, 1000)
    )
    assert cnncalc.analyze("zfnet").params == expected == 62_357_608


# --------------------------------------------------------------------------------------------
# VGG
# --------------------------------------------------------------------------------------------


def test_vgg16_first_fc_layer_cs231n():
    """cs231n "VGGNet in detail": the first FC layer has 7·7·512·4096 = 102,760,448 weights."""
    r = cnncalc.analyze("vgg16")
    fc6 = r.row("classifier.0")  # the paper's fc6, torchvision's classifier.0
    assert fc6.params == 7 * 7 * 512 * 4096 + 4096
    assert round(7 * 7 * 512 * 4096 / 1e6, 1) == 102.8
    assert round(r.params / 1e6) == 138  # cs231n: "TOTAL params: 138M parameters"


def test_vgg16_activations_compared_with_cs231n():
    """cs231n lists per layer the values of INPUT, each CONV, POOL and FC output.

    Its rows sum to 15,237,608 (≈ 15.2M); the "TOTAL memory: 24M" it states under them is not
    the sum of its own rows. cnncalc counts the output of every layer except the input and
    the views (flatten, and dropout at inference, return their input's storage, as in PyTorch):
    also the ReLU outputs (cs231n treats them as in place) and avgpool, which gives 28,667,880
    (≈ 115 MB at 4 bytes).
    """
    r = cnncalc.analyze("vgg16")
    cs231n_rows = (
        224 * 224 * 3  # INPUT
        + 2 * 224 * 224 * 64
        + 112 * 112 * 64
        + 2 * 112 * 112 * 128
        + 56 * 56 * 128
        + 3 * 56 * 56 * 256
        + 28 * 28 * 256
        + 3 * 28 * 28 * 512
        + 14 * 14 * 512
        + 3 * 14 * 14 * 512
        + 7 * 7 * 512
        + 4096
        + 4096
        + 1000
    )
    assert cs231n_rows == 15_237_608
    counted = sum(
        row.output_elements for row in r.rows if row.type in ("conv2d", "maxpool2d", "linear")
    )
    assert r.totals.input_elements + counted == cs231n_rows
    conv_outputs = (
        2 * 224 * 224 * 64
        + 2 * 112 * 112 * 128
        + 3 * 56 * 56 * 256
        + 3 * 28 * 28 * 512
        + 3 * 14 * 14 * 512
    )
    relu_outputs = conv_outputs + 2 * 4096  # one ReLU after each conv, fc6 and fc7
    avgpool = 7 * 7 * 512
    assert r.totals.activations == counted + relu_outputs + avgpool == 28_667_880


@pytest.mark.parametrize("cfg", ["vgg11", "vgg13", "vgg16", "vgg19"])
def test_vgg_bn_adds_two_params_per_conv_channel(cfg):
    """torchvision's _bn variants add BatchNorm (γ, β) after each conv and nothing else."""
    convs = {"vgg11": [1, 1, 2, 2, 2], "vgg13": [2] * 5, "vgg16": [2, 2, 3, 3, 3]}
    convs["vgg19"] = [2, 2, 4, 4, 4]
    channels = sum(n * c for n, c in zip(convs[cfg], [64, 128, 256, 512, 512]))
    plain, bn = cnncalc.analyze(cfg), cnncalc.analyze(cfg + "_bn")
    assert bn.params - plain.params == 2 * channels
    assert bn.macs == plain.macs


# --------------------------------------------------------------------------------------------
# GoogLeNet
# --------------------------------------------------------------------------------------------


def test_googlenet_aux_heads_arithmetic():
    """Each aux head: 1×1 conv to 128 (no bias) + BN, fc 4·4·128 → 1024, fc 1024 → 1000.

    aux1 reads inception4a (512 channels), aux2 inception4d (528). They are train-only: the
    parameters count (torchvision's googlenet(aux_logits=True) has 13,004,888), the MACs don't.
    """

    def aux(cin: int) -> int:
        return conv(1, cin, 128, bias=False) + 2 * 128 + fc(4 * 4 * 128, 1024) + fc(1024, 1000)

    base, with_aux = cnncalc.analyze("googlenet"), cnncalc.analyze("googlenet_aux")
    assert with_aux.params == base.params + aux(512) + aux(528) == 13_004_888
    assert with_aux.macs == base.macs
    assert cnncalc.analyze("googlenet", aux_logits=True).params == with_aux.params


# --------------------------------------------------------------------------------------------
# SqueezeNet
# --------------------------------------------------------------------------------------------


def fire(cin: int, s: int, e1: int, e3: int) -> int:
    return conv(1, cin, s) + conv(1, s, e1) + conv(3, s, e3)


def test_squeezenet1_0_per_module_params_match_paper_table1():
    """Iandola et al. table 1 (# parameters before pruning), as arithmetic."""
    r = cnncalc.analyze("squeezenet1_0")
    table1 = {
        "conv1": 14_208,
        "fire2": 11_920,
        "fire3": 12_432,
        "fire4": 45_344,
        "fire5": 49_440,
        "fire6": 104_880,
        "fire7": 111_024,
        "fire8": 188_992,
        "fire9": 197_184,
        "conv10": 513_000,
    }
    assert table1["conv1"] == conv(7, 3, 96)
    assert table1["fire2"] == fire(96, 16, 64, 64)
    assert table1["fire9"] == fire(512, 64, 256, 256)
    assert table1["conv10"] == conv(1, 512, 1000)
    # the paper's names as torchvision's module paths (features.N, pools at 2, 6 and 11)
    path = dict(zip(table1, ["features.0", *[f"features.{k}" for k in (3, 4, 5, 7, 8, 9, 10, 12)]]))
    path["conv10"] = "classifier.1"
    for name, params in table1.items():
        p = path[name]
        got = sum(row.params for row in r.rows if row.name == p or row.name.startswith(p + "."))
        assert got == params, name
    assert sum(table1.values()) == r.params == 1_248_424


# --------------------------------------------------------------------------------------------
# DenseNet
# --------------------------------------------------------------------------------------------


def test_densenet121_channels_along_the_net():
    """64 + 6·32 = 256 → /2 = 128 → +12·32 = 512 → 256 → +24·32 = 1024 → 512 → +16·32 = 1024."""
    r = cnncalc.analyze("densenet121")
    names = [  # torchvision's module paths; dense layers numbered from 1
        "features.pool0",
        "features.denseblock1.denselayer6.cat",
        "features.transition1.pool",
        "features.denseblock2.denselayer12.cat",
        "features.transition2.pool",
        "features.denseblock3.denselayer24.cat",
        "features.transition3.pool",
        "features.denseblock4.denselayer16.cat",
    ]
    assert [r.row(n).output_shape[0] for n in names] == [64, 256, 128, 512, 256, 1024, 512, 1024]


def bn_channels(init: int, growth: int, blocks: list[int], bn_size: int = 4) -> int:
    """Channels normalised by every BatchNorm of a DenseNet-BC (norm0 … norm5)."""
    total = c = init  # norm0
    for b, n in enumerate(blocks):
        for _ in range(n):
            total += c + bn_size * growth  # norm1 (input), norm2 (bottleneck)
            c += growth
        if b < len(blocks) - 1:
            total += c  # transition norm
            c //= 2
    return total + c  # norm5


def test_densenet121_keras_figure_is_bn_statistics():
    """Keras 8,062,504 − torchvision 7,978,856 = the moving mean and variance of every BN."""
    assert 8_062_504 - 7_978_856 == 2 * bn_channels(64, 32, [6, 12, 24, 16])
    k = cnncalc.analyze("densenet121", convention="keras")
    assert k.non_trainable_params == 2 * bn_channels(64, 32, [6, 12, 24, 16])
    assert cnncalc.analyze("densenet161").buffers == 2 * bn_channels(96, 48, [6, 12, 36, 24])


# --------------------------------------------------------------------------------------------
# MobileNetV2
# --------------------------------------------------------------------------------------------


def _mobilenet_v2_params(width: float) -> int:
    """MobileNetV2's parameters from torchvision's configuration table, written out here.

    Inverted residual (t, c, n, s): expand 1×1 (when t ≠ 1) + BN, depthwise 3×3 + BN, project 1×1
    + BN; channels rounded with the reference implementation's _make_divisible(v, 8); last conv
    to max(1280, 1280·width); classifier 1000-way linear.
    """

    def divisible(v: float, d: int = 8) -> int:
        new = max(d, int(v + d / 2) // d * d)
        return new + d if new < 0.9 * v else new

    def conv_bn(cin: int, cout: int, k: int = 1, groups: int = 1) -> int:
        return cout * (cin // groups) * k * k + 2 * cout  # conv without bias, BN γ and β

    table = [(1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3), (6, 320, 1)]
    cin = divisible(32 * width)
    total = conv_bn(3, cin, 3)
    for t, c, n in table:
        cout = divisible(c * width)
        for _ in range(n):
            hidden = cin * t
            total += (conv_bn(cin, hidden) if t != 1 else 0) + conv_bn(hidden, hidden, 3, hidden)
            total += conv_bn(hidden, cout)
            cin = cout
    last = divisible(1280 * max(1.0, width))
    return total + conv_bn(cin, last) + last * 1000 + 1000


@pytest.mark.parametrize(
    "width, params",
    # cross-check: torchvision 0.29.1, sum(p.numel() for p in mobilenet_v2(width_mult=w).parameters())
    [(1.0, 3_504_872), (0.5, 1_968_680), (1.4, 6_108_776)],
)
def test_mobilenet_v2_width_multiplier(width, params):
    assert _mobilenet_v2_params(width) == params
    assert cnncalc.analyze("mobilenet_v2", width_mult=width).params == params


def test_mobilenet_v2_residuals_only_where_shapes_allow():
    """A residual add in every block but the first of each stage (stride or channels change)."""
    r = cnncalc.analyze("mobilenet_v2")
    adds = [row for row in r.rows if row.type == "add"]
    assert len(adds) == sum(n - 1 for n in [1, 2, 3, 4, 3, 3, 1])  # 10


# --------------------------------------------------------------------------------------------
# U-Net
# --------------------------------------------------------------------------------------------


def double_conv(cin: int, cout: int, bn: bool) -> int:
    """Two 3×3 convs: with bias (paper) or without bias + BN γ, β (padded re-implementation)."""
    bn_params = 2 * (2 * cout) if bn else 0  # two BatchNorms, γ and β each
    return conv(3, cin, cout, bias=not bn) + conv(3, cout, cout, bias=not bn) + bn_params


def unet_params(cin: int, bn: bool) -> int:
    down = double_conv(cin, 64, bn) + sum(double_conv(c, 2 * c, bn) for c in (64, 128, 256, 512))
    up = sum(
        (2 * c) * c * 2 * 2
        + c  # 2×2 transposed conv 2c → c, with bias
        + double_conv(2 * c, c, bn)
        for c in (512, 256, 128, 64)
    )
    return down + up + conv(1, 64, 2)


def test_unet_paper_sizes():
    """Ronneberger figure 1: 572 → 570 → 568 ↓ 284 … 28 ↑ 56 … 388, output 388×388×2."""
    r = cnncalc.analyze("unet")
    down = [
        "inc.relu1",
        "inc.relu2",
        "down1.pool",
        "down1.conv.relu2",
        "down2.pool",
        "down2.conv.relu2",
        "down3.pool",
        "down3.conv.relu2",
        "down4.pool",
        "down4.conv.relu2",
    ]
    up = [
        "up1.up",
        "up1.conv.relu2",
        "up2.up",
        "up2.conv.relu2",
        "up3.up",
        "up3.conv.relu2",
        "up4.up",
        "up4.conv.relu2",
    ]
    assert spatial(r, down) == [570, 568, 284, 280, 140, 136, 68, 64, 32, 28]
    assert spatial(r, up) == [56, 52, 104, 100, 200, 196, 392, 388]
    assert r.output_shape == (2, 388, 388)
    # the crops: 64 → 56, 136 → 104, 280 → 200, 568 → 392
    assert spatial(r, [f"up{i}.crop" for i in range(1, 5)]) == [56, 104, 200, 392]


def test_unet_params_layer_by_layer():
    assert cnncalc.analyze("unet").params == unet_params(1, bn=False) == 31_030_658
    assert cnncalc.analyze("unet_padded").params == unet_params(3, bn=True) == 31_037_698


def test_unet_padded_keeps_the_size():
    r = cnncalc.analyze("unet_padded")
    assert r.output_shape == (2, 512, 512)
    assert not any(row.type == "center_crop" for row in r.rows)


# --------------------------------------------------------------------------------------------
# YOLO v1
# --------------------------------------------------------------------------------------------


def test_yolov1_params_layer_by_layer():
    """Redmon et al. figure 3: 24 convs and 2 FC layers, all with biases."""
    expected = (
        conv(7, 3, 64)
        + conv(3, 64, 192)
        + conv(1, 192, 128)
        + conv(3, 128, 256)
        + conv(1, 256, 256)
        + conv(3, 256, 512)
        + 4 * (conv(1, 512, 256) + conv(3, 256, 512))
        + conv(1, 512, 512)
        + conv(3, 512, 1024)
        + 2 * (conv(1, 1024, 512) + conv(3, 512, 1024))
        + 4 * conv(3, 1024, 1024)
        + fc(7 * 7 * 1024, 4096)
        + fc(4096, 7 * 7 * 30)
    )
    r = cnncalc.analyze("yolov1")
    assert r.params == expected == 271_703_550
    assert sum(1 for row in r.rows if row.type == "conv2d") == 24
    assert sum(1 for row in r.rows if row.type == "linear") == 2


def test_yolov1_sizes_and_output():
    """448 → 224 → 112 → 56 → 28 → 14 → 7; output S×S×(5B + C) = 7×7×30."""
    r = cnncalc.analyze("yolov1")
    names = ["conv1.conv", "pool1", "pool2", "pool3", "pool4", "conv22.conv"]
    assert [r.input_shape[-1], *spatial(r, names)] == [448, 224, 112, 56, 28, 14, 7]
    assert r.output_shape == (7, 7, 2 * 5 + 20)
    assert cnncalc.analyze("yolo").name == "yolov1"


# --------------------------------------------------------------------------------------------
# Convolutional autoencoder
# --------------------------------------------------------------------------------------------


def test_cae_params_and_shape():
    r = cnncalc.analyze("cae")
    expected = (
        conv(3, 1, 16)  # encoder conv 16@3×3
        + conv(3, 16, 8)  # encoder conv 8@3×3
        + (8 * 16 * 2 * 2 + 16)  # transposed conv 8 → 16, 2×2, with bias
        + conv(3, 16, 1)  # output conv
    )
    assert r.params == expected == 1_993
    assert r.output_shape == r.input_shape == (1, 28, 28)
    assert r.row("code").output_shape == (8, 7, 7)


def test_cae_reconstructs_any_size_divisible_by_4():
    r = cnncalc.analyze("cae", (1, 64, 64))
    assert r.output_shape == (1, 64, 64)


# --------------------------------------------------------------------------------------------
# Names resolve
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, resolved",
    [
        ("alexnet", "alexnet"),
        ("alexnet_2012_grouped", "alexnet_2012_grouped"),
        ("vgg", "vgg16"),
        ("vgg19_bn", "vgg19_bn"),
        ("googlenet", "googlenet"),
        ("squeezenet", "squeezenet1_0"),
        ("squeezenet1_1", "squeezenet1_1"),
        ("densenet", "densenet121"),
        ("densenet201", "densenet201"),
        ("mobilenet", "mobilenet_v2"),
        ("unet", "unet"),
        ("unet_padded", "unet_padded"),
        ("autoencoder", "cae"),
    ],
)
def test_classic_names_resolve(name, resolved):
    assert cnncalc.analyze(name).name == resolved
