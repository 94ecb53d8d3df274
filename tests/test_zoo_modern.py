"""Figures of the modern zoo members beyond their `expected` blocks (tests/test_zoo.py checks
those): paper shapes, conventions that explain Keras's totals, EfficientNet's rounding rules and
the attention MAC count, each written out as arithmetic from the published architecture."""

from __future__ import annotations

import math

import cnncalc


def _rows(report, prefix):
    return [r for r in report.rows if r.name.startswith(prefix)]


# ---- Inception v3 ----------------------------------------------------------------------------


def test_inception_v3_8x8x2048_before_final_pool():
    """Szegedy et al. 2015, table 1: 299×299×3 input, 8×8×2048 into the final pooling."""
    r = cnncalc.analyze("inception_v3")
    assert r.input_shapes == {"input": (3, 299, 299)}
    pool = r.row("avgpool")
    assert pool.inputs == ("Mixed_7c.cat",)
    assert list(r.row("Mixed_7c.cat").output_shape) == [2048, 8, 8]


def test_inception_v3_aux_classifier_counted_in_params_not_in_macs():
    r = cnncalc.analyze("inception")  # family name → inception_v3
    aux = _rows(r, "AuxLogits.")
    assert all(row.train_only for row in aux)
    # conv0 1×1 768→128 + BN, conv1 5×5 128→768 + BN, fc 768→1000 (torchvision InceptionAux)
    aux_params = 768 * 128 + 2 * 128 + 128 * 768 * 5 * 5 + 2 * 768 + 768 * 1000 + 1000
    assert sum(row.params for row in aux) == aux_params == 3_326_696
    assert r.params == 27_161_264
    # 5.713 G (torchvision, eval mode) is the main network only; the aux head's MACs at 17×17
    # input (avg-pool 5/3 → 5×5, conv1 → 1×1) are not in the total.
    aux_macs = 5 * 5 * 128 * 768 + 1 * 1 * 768 * 128 * 25 + 768 * 1000
    assert sum(row.macs for row in aux) == aux_macs
    assert r.macs == sum(row.macs for row in r.rows) - aux_macs
    assert round(r.macs / 1e9, 3) == 5.713
    no_aux = cnncalc.analyze("inception_v3", aux_logits=False)
    assert no_aux.params == 27_161_264 - aux_params
    assert no_aux.macs == r.macs


def test_inception_v3_keras_total_explained():
    """Keras InceptionV3: 23,851,784 params (keras.io), 23,817,352 trainable (Keras summary).

    Same network; Keras has no aux head, BN without the scale γ (scale=False), and counts the
    BN moving mean/variance as non-trainable parameters.
    """
    r = cnncalc.analyze("inception_v3", aux_logits=False)
    bn = [row for row in r.rows if row.type == "batchnorm2d"]
    bn_channels = sum(row.output_shape[0] for row in bn)
    assert sum(row.params for row in bn) == 2 * bn_channels  # γ and β per channel
    assert sum(row.buffers for row in bn) == 2 * bn_channels  # running mean and variance
    keras_trainable = r.params - bn_channels  # drop γ
    assert keras_trainable == 23_817_352
    assert keras_trainable + 2 * bn_channels == 23_851_784
    assert 2 * bn_channels == 34_432


# ---- Xception ---------------------------------------------------------------------------------


def test_xception_flows_and_keras_bn_statistics():
    r = cnncalc.analyze("xception")
    assert list(r.row("block14_sepconv2_act").output_shape) == [2048, 10, 10]
    assert len([row for row in r.rows if row.name.endswith(".add")]) == 3 + 8 + 1
    # A separable conv = depthwise 3×3 (9·C) + pointwise (C·C'): block4.sepconv2 728 → 728
    assert r.row("block4.sepconv2.dw").params + r.row("block4.sepconv2.pw").params == (
        9 * 728 + 728 * 728
    )
    k = cnncalc.analyze("xception", convention="keras")
    # 54,528 non-trainable = moving mean + variance of 27,264 BN channels
    bn_channels = sum(row.output_shape[0] for row in r.rows if row.type == "batchnorm2d")
    assert k.non_trainable_params == 2 * bn_channels == 54_528
    assert k.params == 22_910_480


# ---- EfficientNet ------------------------------------------------------------------------------


def _make_divisible(v, divisor=8):
    """torchvision's _make_divisible, written out independently of cnncalc's."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def test_efficientnet_channel_rounding_examples():
    # b2 (width 1.1): stem 32·1.1 = 35.2 → int(35.2 + 4) = 39 → 39 // 8 · 8 = 32 (≥ 0.9·35.2)
    assert int(32 * 1.1 + 4) // 8 * 8 == 32
    b2 = cnncalc.analyze("efficientnet_b2")
    assert b2.row("features.0.0").output_shape[0] == 32
    # b2 stage 3 (40·1.1 = 44 → int(48) // 8 · 8 = 48) and head 4·make_divisible(352) = 1408
    assert b2.row("features.3.0.block.3.0").output_shape[0] == int(44 + 4) // 8 * 8 == 48
    assert b2.row("features.8.0").output_shape[0] == 4 * (int(320 * 1.1 + 4) // 8 * 8) == 1408
    # b3 (width 1.2): stem 38.4 → 40; head 4 · 384 = 1536
    b3 = cnncalc.analyze("efficientnet_b3")
    assert b3.row("features.0.0").output_shape[0] == int(32 * 1.2 + 4) // 8 * 8 == 40
    assert b3.row("features.8.0").output_shape[0] == 4 * 384 == 1536
    # b7 (width 2.0): head 4 · 640 = 2560 (= 1280 · width)
    b7 = cnncalc.analyze("efficientnet_b7")
    assert b7.row("features.8.0").output_shape[0] == 1280 * 2 == 2560
    # b6 (width 1.8) stage 5: 112·1.8 = 201.6 → 200 (≥ 90 %), stage 7: 576
    b6 = cnncalc.analyze("efficientnet_b6")
    assert b6.row("features.5.0.block.3.0").output_shape[0] == _make_divisible(112 * 1.8) == 200
    assert b6.row("features.7.0.block.3.0").output_shape[0] == _make_divisible(320 * 1.8) == 576


def test_efficientnet_depth_rounding_examples():
    def blocks(report, stage):
        return len({r.name.split(".")[2] for r in _rows(report, f"features.{stage}.")})

    b1 = cnncalc.analyze("efficientnet_b1")
    # b1 depth 1.1: ceil(1·1.1) = 2, ceil(2·1.1) = 3, ceil(3·1.1) = 4, ceil(4·1.1) = 5
    assert [blocks(b1, s) for s in range(1, 8)] == [2, 3, 3, 4, 4, 5, 2]
    b7 = cnncalc.analyze("efficientnet_b7")
    # b7 depth 3.1: ceil(3.1) = 4, ceil(6.2) = 7, ceil(9.3) = 10, ceil(12.4) = 13
    assert [blocks(b7, s) for s in range(1, 8)] == [
        math.ceil(n * 3.1) for n in (1, 2, 2, 3, 3, 4, 1)
    ]
    assert [blocks(b7, s) for s in range(1, 8)] == [4, 7, 7, 10, 10, 13, 4]


def test_efficientnet_squeeze_channels_from_block_input():
    """SE squeeze = max(1, block input channels // 4), not a quarter of the expanded width."""
    b0 = cnncalc.analyze("efficientnet_b0")
    # features.2.0: input 16 (from stage 1), expanded 96 → squeeze 16 // 4 = 4
    assert b0.row("features.2.0.block.2.fc1").output_shape[0] == 16 // 4 == 4
    assert b0.row("features.2.0.block.2.fc1").params == 96 * 4 + 4
    # features.2.1: input 24, expanded 144 → squeeze 6
    assert b0.row("features.2.1.block.2.fc1").params == 144 * 6 + 6


def test_efficientnet_b0_keras_total_explained():
    """Keras EfficientNetB0: 5,330,571 params (keras.io) = 5,288,548 trainable (torchvision's
    count) + BN moving mean/variance + the Normalization layer's mean (3), variance (3), count (1).
    """
    k = cnncalc.analyze("efficientnet_b0", convention="keras")
    assert k.trainable_params == 5_288_548
    normalization = 3 + 3 + 1
    assert k.non_trainable_params + normalization == 42_023
    assert k.params + normalization == 5_330_571


# ---- ViT ---------------------------------------------------------------------------------------


def _vit_macs(d, layers, mlp, n=197, patches=196, patch=16, classes=1000):
    patch_embed = patches * d * 3 * patch * patch
    attention = 3 * n * d * d + n * n * d + n * n * d + n * d * d  # QKV, Q·Kᵀ, A·V, out
    mlp_macs = n * d * mlp + n * mlp * d
    return patch_embed + layers * (attention + mlp_macs) + d * classes


def test_vit_attention_macs_per_layer():
    r = cnncalc.analyze("vit_b_16")
    n, d = 197, 768
    att = r.row("encoder.layers.encoder_layer_0.self_attention")
    assert att.macs == 3 * n * d * d + n * n * d + n * n * d + n * d * d == 524_391_936
    assert att.params == 3 * d * d + 3 * d + d * d + d


def test_vit_b_16_total_macs_as_torchvision_counts_them():
    """17,563,828,224 = torchvision's 17.564 G to the unit (FlopCounterMode, math SDPA kernel)."""
    r = cnncalc.analyze("vit")  # family name → vit_b_16
    assert r.name == "vit_b_16"
    assert r.macs == _vit_macs(768, 12, 3072) == 17_563_828_224
    assert round(r.macs / 1e9, 3) == 17.564
    # Leaving out the two token-by-token products (12 layers · 2 · 197²·768) would give 16.849 G:
    assert round((r.macs - 12 * 2 * 197 * 197 * 768) / 1e9, 3) == 16.849
    assert r.row("heads.head").inputs == ("cls",)
    assert list(r.row("cls").output_shape) == [768]


def test_vit_l_16_total_macs():
    r = cnncalc.analyze("vit_l_16")
    assert r.macs == _vit_macs(1024, 24, 4096) == 61_554_712_576
    assert round(r.macs / 1e9, 3) == 61.555
