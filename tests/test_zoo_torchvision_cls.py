"""torchvision's classification builders that the zoo reproduces, row by row, and each family at
one more input size or setting against a figure derived by hand below.

The rows are torchvision 0.29.1's "Models and pre-trained weights" table (classification), as
collected in the project's shared torchvision_table.md: builder, weights, ``num_params`` and
``_ops`` ("GFLOPS", which are multiply-accumulates in G, 3 decimals), and the weights' crop size.
A weights entry whose input differs from the builder's default (the SWAG end-to-end weights at
384/512/518) is the zoo variant ``<builder>_swag_e2e``; ``vit_h_14`` and ``regnet_y_128gf`` without
a suffix are the builders at 224, the SWAG linear-probe rows.

The figures "by hand" are written out from the architectures (torchvision's source and the
papers), never taken from a run of torchvision or of cnncalc.
"""

from __future__ import annotations

import math

import pytest

import cnncalc

# builder, weights, params, GFLOPS (MACs in G), crop: torchvision_table.md, classification rows
# fmt: off
TABLE = [
    ("convnext_base", "ConvNeXt_Base_Weights.IMAGENET1K_V1", 88_591_464, 15.355, 224),
    ("convnext_large", "ConvNeXt_Large_Weights.IMAGENET1K_V1", 197_767_336, 34.361, 224),
    ("convnext_small", "ConvNeXt_Small_Weights.IMAGENET1K_V1", 50_223_688, 8.684, 224),
    ("convnext_tiny", "ConvNeXt_Tiny_Weights.IMAGENET1K_V1", 28_589_128, 4.456, 224),
    ("efficientnet_v2_l", "EfficientNet_V2_L_Weights.IMAGENET1K_V1", 118_515_272, 56.08, 480),
    ("efficientnet_v2_m", "EfficientNet_V2_M_Weights.IMAGENET1K_V1", 54_139_356, 24.582, 480),
    ("efficientnet_v2_s", "EfficientNet_V2_S_Weights.IMAGENET1K_V1", 21_458_488, 8.366, 384),
    ("mnasnet0_5", "MNASNet0_5_Weights.IMAGENET1K_V1", 2_218_512, 0.104, 224),
    ("mnasnet0_75", "MNASNet0_75_Weights.IMAGENET1K_V1", 3_170_208, 0.215, 224),
    ("mnasnet1_0", "MNASNet1_0_Weights.IMAGENET1K_V1", 4_383_312, 0.314, 224),
    ("mnasnet1_3", "MNASNet1_3_Weights.IMAGENET1K_V1", 6_282_256, 0.526, 224),
    ("mobilenet_v3_large", "MobileNet_V3_Large_Weights.IMAGENET1K_V1", 5_483_032, 0.217, 224),
    ("mobilenet_v3_small", "MobileNet_V3_Small_Weights.IMAGENET1K_V1", 2_542_856, 0.057, 224),
    ("regnet_x_16gf", "RegNet_X_16GF_Weights.IMAGENET1K_V1", 54_278_536, 15.941, 224),
    ("regnet_x_1_6gf", "RegNet_X_1_6GF_Weights.IMAGENET1K_V1", 9_190_136, 1.603, 224),
    ("regnet_x_32gf", "RegNet_X_32GF_Weights.IMAGENET1K_V1", 107_811_560, 31.736, 224),
    ("regnet_x_3_2gf", "RegNet_X_3_2GF_Weights.IMAGENET1K_V1", 15_296_552, 3.177, 224),
    ("regnet_x_400mf", "RegNet_X_400MF_Weights.IMAGENET1K_V1", 5_495_976, 0.414, 224),
    ("regnet_x_800mf", "RegNet_X_800MF_Weights.IMAGENET1K_V1", 7_259_656, 0.8, 224),
    ("regnet_x_8gf", "RegNet_X_8GF_Weights.IMAGENET1K_V1", 39_572_648, 7.995, 224),
    ("regnet_y_128gf", "RegNet_Y_128GF_Weights.IMAGENET1K_SWAG_E2E_V1", 644_812_894, 374.57, 384),
    ("regnet_y_128gf", "RegNet_Y_128GF_Weights.IMAGENET1K_SWAG_LINEAR_V1", 644_812_894, 127.518, 224),
    ("regnet_y_16gf", "RegNet_Y_16GF_Weights.IMAGENET1K_V1", 83_590_140, 15.912, 224),
    ("regnet_y_16gf", "RegNet_Y_16GF_Weights.IMAGENET1K_SWAG_E2E_V1", 83_590_140, 46.735, 384),
    ("regnet_y_1_6gf", "RegNet_Y_1_6GF_Weights.IMAGENET1K_V1", 11_202_430, 1.612, 224),
    ("regnet_y_32gf", "RegNet_Y_32GF_Weights.IMAGENET1K_V1", 145_046_770, 32.28, 224),
    ("regnet_y_32gf", "RegNet_Y_32GF_Weights.IMAGENET1K_SWAG_E2E_V1", 145_046_770, 94.826, 384),
    ("regnet_y_3_2gf", "RegNet_Y_3_2GF_Weights.IMAGENET1K_V1", 19_436_338, 3.176, 224),
    ("regnet_y_400mf", "RegNet_Y_400MF_Weights.IMAGENET1K_V1", 4_344_144, 0.402, 224),
    ("regnet_y_800mf", "RegNet_Y_800MF_Weights.IMAGENET1K_V1", 6_432_512, 0.834, 224),
    ("regnet_y_8gf", "RegNet_Y_8GF_Weights.IMAGENET1K_V1", 39_381_472, 8.473, 224),
    ("resnext101_32x8d", "ResNeXt101_32X8D_Weights.IMAGENET1K_V1", 88_791_336, 16.414, 224),
    ("resnext101_64x4d", "ResNeXt101_64X4D_Weights.IMAGENET1K_V1", 83_455_272, 15.46, 224),
    ("resnext50_32x4d", "ResNeXt50_32X4D_Weights.IMAGENET1K_V1", 25_028_904, 4.23, 224),
    ("shufflenet_v2_x0_5", "ShuffleNet_V2_X0_5_Weights.IMAGENET1K_V1", 1_366_792, 0.04, 224),
    ("shufflenet_v2_x1_0", "ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1", 2_278_604, 0.145, 224),
    ("shufflenet_v2_x1_5", "ShuffleNet_V2_X1_5_Weights.IMAGENET1K_V1", 3_503_624, 0.296, 224),
    ("shufflenet_v2_x2_0", "ShuffleNet_V2_X2_0_Weights.IMAGENET1K_V1", 7_393_996, 0.583, 224),
    ("vit_b_16", "ViT_B_16_Weights.IMAGENET1K_V1", 86_567_656, 17.564, 224),
    ("vit_b_16", "ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1", 86_859_496, 55.484, 384),
    ("vit_b_32", "ViT_B_32_Weights.IMAGENET1K_V1", 88_224_232, 4.409, 224),
    ("vit_h_14", "ViT_H_14_Weights.IMAGENET1K_SWAG_E2E_V1", 633_470_440, 1016.717, 518),
    ("vit_h_14", "ViT_H_14_Weights.IMAGENET1K_SWAG_LINEAR_V1", 632_045_800, 167.295, 224),
    ("vit_l_16", "ViT_L_16_Weights.IMAGENET1K_V1", 304_326_632, 61.555, 224),
    ("vit_l_16", "ViT_L_16_Weights.IMAGENET1K_SWAG_E2E_V1", 305_174_504, 361.986, 512),
    ("vit_l_32", "ViT_L_32_Weights.IMAGENET1K_V1", 306_535_400, 15.378, 224),
    ("wide_resnet101_2", "Wide_ResNet101_2_Weights.IMAGENET1K_V1", 126_886_696, 22.753, 224),
    ("wide_resnet50_2", "Wide_ResNet50_2_Weights.IMAGENET1K_V1", 68_883_240, 11.398, 224),
]
# fmt: on


def zoo_name(builder: str, weights: str) -> str:
    return builder + "_swag_e2e" if "SWAG_E2E" in weights else builder


@pytest.mark.parametrize(
    "builder, weights, params, gflops, crop", TABLE, ids=[zoo_name(b, w) for b, w, *_ in TABLE]
)
def test_torchvision_row(builder, weights, params, gflops, crop):
    r = cnncalc.analyze(zoo_name(builder, weights))
    assert r.input_shapes == {"input": (3, crop, crop)}
    assert r.params == params
    assert abs(r.macs / 1e9 - gflops) < 0.0005, f"{r.macs:,} MACs vs {gflops} G"
    assert tuple(r.output_shape) == (1000,)


def test_every_table_row_has_its_own_zoo_name():
    names = [zoo_name(b, w) for b, w, *_ in TABLE]
    assert len(set(names)) == len(names) == 48


@pytest.mark.parametrize(
    "family, member",
    [
        ("resnext", "resnext50_32x4d"),
        ("wide_resnet", "wide_resnet50_2"),
        ("regnet", "regnet_y_400mf"),
        ("shufflenet", "shufflenet_v2_x1_0"),
        ("shufflenet_v2", "shufflenet_v2_x1_0"),
        ("convnext", "convnext_tiny"),
        ("mnasnet", "mnasnet1_0"),
        ("efficientnet_v2", "efficientnet_v2_s"),
        ("mobilenet_v3", "mobilenet_v3_large"),
    ],
)
def test_family_names_resolve(family, member):
    r = cnncalc.analyze(family)
    assert r.name == member
    assert member in r.meta["resolved"]


def _conv(c_in, c_out, k, groups=1, bias=False):
    return c_in // groups * c_out * k * k + (c_out if bias else 0)


def _bn(c):
    return 2 * c


# ---- ResNeXt and Wide ResNet --------------------------------------------------------------------


def _bottleneck_resnet(layers, groups, width_per_group, size=224, classes=1000):
    """(params, MACs) of torchvision's bottleneck ResNet: inner width int(planes·wpg/64)·groups."""
    s = size // 2  # conv1 7×7 stride 2
    params, macs = _conv(3, 64, 7) + _bn(64), s * s * 64 * 3 * 49
    s //= 2  # max pool 3/2/1
    c_in = 64
    for stage, (planes, n) in enumerate(zip([64, 128, 256, 512], layers)):
        width, out = int(planes * width_per_group / 64) * groups, planes * 4
        for b in range(n):
            s_out = s // 2 if (b == 0 and stage > 0) else s
            params += _conv(c_in, width, 1) + _bn(width)
            params += _conv(width, width, 3, groups) + _bn(width)
            params += _conv(width, out, 1) + _bn(out)
            macs += s * s * width * c_in
            macs += s_out * s_out * width * (width // groups) * 9
            macs += s_out * s_out * out * width
            if b == 0:  # projection shortcut: 1×1 conv (with the stride) + BN
                params += _conv(c_in, out, 1) + _bn(out)
                macs += s_out * s_out * out * c_in
            c_in, s = out, s_out
    return params + 2048 * classes + classes, macs + 2048 * classes


def test_resnext_and_wide_resnet_by_hand_reproduce_the_table():
    """The hand count above, checked against the five rows (an independent check of the helper)."""
    assert _bottleneck_resnet([3, 4, 6, 3], 32, 4)[0] == 25_028_904
    assert _bottleneck_resnet([3, 4, 23, 3], 32, 8)[0] == 88_791_336
    assert _bottleneck_resnet([3, 4, 23, 3], 64, 4)[0] == 83_455_272
    assert _bottleneck_resnet([3, 4, 6, 3], 1, 128)[0] == 68_883_240
    assert _bottleneck_resnet([3, 4, 23, 3], 1, 128)[0] == 126_886_696
    assert round(_bottleneck_resnet([3, 4, 6, 3], 32, 4)[1] / 1e9, 3) == 4.23


def test_resnext_other_cardinality_and_input():
    """ResNeXt-50 8×16d (not a torchvision builder) at 256×256, against the hand count."""
    r = cnncalc.analyze("resnext50_32x4d", (3, 256, 256), groups=8, width_per_group=16)
    params, macs = _bottleneck_resnet([3, 4, 6, 3], 8, 16, size=256)
    assert (r.params, r.macs) == (params, macs)
    assert r.row("layer1.0.conv2").output_shape == (8 * 16, 64, 64)


# ---- MNASNet -----------------------------------------------------------------------------------


def _round8(v):
    """torchvision mnasnet._round_to_multiple_of(v, 8) (round_up_bias 0.9)."""
    new = max(8, int(v + 4) // 8 * 8)
    return new if new >= 0.9 * v else new + 8


def _mnasnet_params(alpha, classes=1000):
    d = [_round8(c * alpha) for c in [32, 16, 24, 40, 80, 96, 192, 320]]
    p = _conv(3, d[0], 3) + _bn(d[0]) + _conv(d[0], d[0], 3, d[0]) + _bn(d[0])
    p += _conv(d[0], d[1], 1) + _bn(d[1])
    # (out, kernel, expansion, repeats) of the six stacks
    c_in = d[1]
    for out, k, e, n in [(d[2], 3, 3, 3), (d[3], 5, 3, 3), (d[4], 5, 6, 3), (d[5], 3, 6, 2),
                         (d[6], 5, 6, 4), (d[7], 3, 6, 1)]:  # fmt: skip
        for _ in range(n):
            mid = c_in * e
            p += _conv(c_in, mid, 1) + _bn(mid) + _conv(mid, mid, k, mid) + _bn(mid)
            p += _conv(mid, out, 1) + _bn(out)
            c_in = out
    return p + _conv(d[7], 1280, 1) + _bn(1280) + 1280 * classes + classes


def test_mnasnet_by_hand_and_at_width_2():
    for alpha, published in [(0.5, 2_218_512), (0.75, 3_170_208), (1.0, 4_383_312),
                             (1.3, 6_282_256)]:  # fmt: skip
        assert _mnasnet_params(alpha) == published
    assert cnncalc.analyze("mnasnet1_0", alpha=2.0).params == _mnasnet_params(2.0)
    # fully convolutional, no SE: at twice the input every conv does 4× the work, the classifier not
    m224, m448 = (cnncalc.analyze("mnasnet1_0", (3, s, s)).macs for s in (224, 448))
    fc = 1280 * 1000
    assert m448 == 4 * (m224 - fc) + fc


# ---- MobileNetV3 --------------------------------------------------------------------------------


def test_mobilenet_v3_large_at_448():
    """At twice the input, everything but the SE 1×1 convs (on pooled 1×1 maps) and the
    classifier does 4× the MACs. SE rows of table 1: expanded → make_divisible(expanded // 4, 8)
    → expanded."""
    m224, m448 = (cnncalc.analyze("mobilenet_v3_large", (3, s, s)).macs for s in (224, 448))
    se = 2 * (72 * 24 + 2 * 120 * 32 + 480 * 120 + 2 * 672 * 168 + 2 * 960 * 240)
    classifier = 960 * 1280 + 1280 * 1000
    fixed = se + classifier
    assert m448 == 4 * (m224 - fixed) + fixed


def test_mobilenet_v3_small_head():
    """Table 2: the last bottleneck gives 96 channels, the head conv 6·96 = 576, then 1024."""
    r = cnncalc.analyze("mobilenet_v3_small")
    assert r.row("features.12.0").output_shape == (576, 7, 7)  # features.1 … 11 are the rows
    assert r.row("classifier.0").params == 576 * 1024 + 1024


# ---- EfficientNetV2 -----------------------------------------------------------------------------


def test_efficientnet_v2_s_at_half_input():
    """V2-S at 192 (half of 384; every stride halves exactly): 4× fewer MACs except the SE
    convs (on 1×1 maps) and the classifier. SE (MBConv stages 4–6, Tan & Le table 4): expanded
    e = in · ratio, squeeze max(1, in // 4), MACs 2·e·squeeze per block."""
    m384, m192 = (cnncalc.analyze("efficientnet_v2_s", (3, s, s)).macs for s in (384, 192))
    se = 0
    for c_first, c_out, ratio, n in [(64, 128, 4, 6), (128, 160, 6, 9), (160, 256, 6, 15)]:
        for b in range(n):
            c_in = c_first if b == 0 else c_out
            se += 2 * (c_in * ratio) * (c_in // 4)
    fixed = se + 1280 * 1000
    assert m384 == 4 * (m192 - fixed) + fixed


# ---- RegNet -------------------------------------------------------------------------------------

REGNET = {  # d, w_0, w_a, w_m, group width (torchvision's builders)
    "regnet_x_400mf": (22, 24, 24.48, 2.54, 16),
    "regnet_x_800mf": (16, 56, 35.73, 2.28, 16),
    "regnet_x_1_6gf": (18, 80, 34.01, 2.25, 24),
    "regnet_x_3_2gf": (25, 88, 26.31, 2.25, 48),
    "regnet_x_8gf": (23, 80, 49.56, 2.88, 120),
    "regnet_x_16gf": (22, 216, 55.59, 2.1, 128),
    "regnet_x_32gf": (23, 320, 69.86, 2.0, 168),
    "regnet_y_400mf": (16, 48, 27.89, 2.09, 8),
    "regnet_y_800mf": (14, 56, 38.84, 2.4, 16),
    "regnet_y_1_6gf": (27, 48, 20.71, 2.65, 24),
    "regnet_y_3_2gf": (21, 80, 42.63, 2.66, 24),
    "regnet_y_8gf": (17, 192, 76.82, 2.19, 56),
    "regnet_y_16gf": (18, 200, 106.23, 2.48, 112),
    "regnet_y_32gf": (20, 232, 115.89, 2.53, 232),
    "regnet_y_128gf": (27, 456, 160.83, 2.52, 264),
}


def _regnet_stages(d, w_0, w_a, w_m, g):
    """Radosavovic et al. 2020, section 3.3, with the logarithm: u_j = w_0 + w_a·j,
    s_j = round(log(u_j / w_0) / log w_m), w_j = 8·round(w_0·w_m^s_j / 8); runs of equal w_j are
    stages; then the group-width adjustment (bottleneck ratio 1): g' = min(g, w),
    w = make_divisible(w, g')."""
    widths = [8 * round(w_0 * w_m ** round(math.log((w_0 + w_a * j) / w_0) / math.log(w_m)) / 8)
              for j in range(d)]  # fmt: skip
    stages = []
    for w in widths:
        if stages and stages[-1][0] == w:
            stages[-1][1] += 1
        else:
            stages.append([w, 1])
    out = []
    for w, n in stages:
        gw = min(g, w)
        new = max(gw, int(w + gw / 2) // gw * gw)
        out.append((new + gw if new < 0.9 * w else new, n, gw))
    return out


@pytest.mark.parametrize("name", sorted(REGNET))
def test_regnet_stages_follow_the_logarithmic_rule(name):
    """The spec's stages (blocks grouped by exponent) equal the rule's runs of equal widths, and
    carry torchvision's names: trunk_output.block{k}.block{k}-{j}."""
    r = cnncalc.analyze(name)
    names = {row.name for row in r.rows}
    for k, (width, n, gw) in enumerate(_regnet_stages(*REGNET[name]), start=1):
        assert f"trunk_output.block{k}.block{k}-{n}.f.b.0" not in names  # n blocks, not more
        convs = [r.row(f"trunk_output.block{k}.block{k}-{j}.f.b.0") for j in range(n)]
        assert convs[0].output_shape[0] == width
        assert convs[0].params == 3 * 3 * gw * width  # width / gw groups of gw channels
    assert not any(row.name.startswith(f"trunk_output.block{k + 1}.") for row in r.rows)


def test_regnet_x_200mf_by_hand():
    """RegNetX-200MF (Radosavovic et al., appendix: d 13, w_0 24, w_a 36.44, w_m 2.49, g 8), not a
    torchvision builder: stages, params and MACs counted by hand."""
    stages = _regnet_stages(13, 24, 36.44, 2.49, 8)
    assert [(w, n) for w, n, _ in stages] == [(24, 1), (56, 1), (152, 4), (368, 7)]
    params, macs, c_in, s = _conv(3, 32, 3) + _bn(32), 112 * 112 * 32 * 27, 32, 112
    for w, n, gw in stages:
        for b in range(n):
            s_out = s // 2 if b == 0 else s
            params += _conv(c_in, w, 1) + _conv(w, w, 3, w // gw) + _conv(w, w, 1) + 3 * _bn(w)
            macs += s * s * w * c_in + s_out * s_out * w * (gw * 9 + w)
            if b == 0:  # projection
                params += _conv(c_in, w, 1) + _bn(w)
                macs += s_out * s_out * w * c_in
            c_in, s = w, s_out
    params += 368 * 1000 + 1000
    macs += 368 * 1000
    r = cnncalc.analyze("regnet_x_400mf", depth=13, w_0=24, w_a=36.44, w_m=2.49, group_width=8)
    assert (r.params, r.macs) == (params, macs)


# ---- ViT ----------------------------------------------------------------------------------------


def test_vit_b_32_at_384():
    """ViT-B/32 at 384: 12·12 = 144 patches + the class token; only the position embedding's
    parameters depend on the input. MACs: the patch conv, per layer the Q/K/V/out projections
    (4·N·D²), Q·Kᵀ and A·V (N²·D each) and the MLP (2·N·D·4D), then the head on one token."""
    n, d, layers = 144 + 1, 768, 12
    r = cnncalc.analyze("vit_b_32", (3, 384, 384))
    assert r.params == 88_224_232 + (145 - 50) * d  # table row at 224: 7·7 + 1 = 50 tokens
    patch = 144 * d * 3 * 32 * 32
    per_layer = 4 * n * d * d + 2 * n * n * d + 2 * n * d * 4 * d
    assert r.macs == patch + layers * per_layer + d * 1000


# ---- ConvNeXt and ShuffleNetV2 ------------------------------------------------------------------


def test_convnext_tiny_at_448():
    """Fully convolutional, no SE: at twice the input all but the classifier (768 → 1000) does
    4× the MACs; the parameters do not change."""
    a, b = (cnncalc.analyze("convnext_tiny", (3, s, s)) for s in (224, 448))
    assert b.params == a.params == 28_589_128
    assert b.macs == 4 * (a.macs - 768 * 1000) + 768 * 1000


def test_shufflenet_v2_x1_0_at_448():
    a, b = (cnncalc.analyze("shufflenet_v2_x1_0", (3, s, s)) for s in (224, 448))
    assert b.params == a.params == 2_278_604
    assert b.macs == 4 * (a.macs - 1024 * 1000) + 1024 * 1000
