"""torchvision's segmentation, detection and video builders against its published table.

Each row of /work/shared/torchvision_table.md (params to the unit, "GFLOPS" = MACs in G to the
published decimals) at the weights' input, and every family once more at another input or
setting against a figure derived by hand here. The published rows are copied below (TABLE),
the hand-derived figures are written as arithmetic.
"""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.zoo import zoo_names

from .conftest import run_cli


def conv(cin: int, cout: int, k: int | tuple[int, ...] = 1, bias: bool = True) -> int:
    ks = (k, k) if isinstance(k, int) else k
    n = cin * cout
    for v in ks:
        n *= v
    return n + (cout if bias else 0)


def gmacs(report) -> float:
    return report.macs / 1e9


def out(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """PyTorch's output size of a conv or pool along one axis."""
    return (i + 2 * p - d * (k - 1) - 1) // s + 1


def make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible (the SE squeeze width)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


# ---- the published rows (/work/shared/torchvision_table.md) ------------------------------------
# builder, --set variables that reproduce the row, params, GFLOPS as published (3 decimals, a
# trailing zero dropped). Detection rows: the image resized to 800 (320 for the *_320_fpn model,
# 300 / 320 for SSD / SSDlite); the RoI counts that the published measurement had are set
# where they differ from the spec's default (see each spec's notes).
TABLE = [
    ("fcn_resnet50", {}, 35_322_218, 152.717),
    ("fcn_resnet101", {}, 54_314_346, 232.738),
    ("deeplabv3_resnet50", {}, 42_004_074, 178.722),
    ("deeplabv3_resnet101", {}, 60_996_202, 258.743),
    ("deeplabv3_mobilenet_v3_large", {}, 11_029_328, 10.452),
    ("lraspp_mobilenet_v3_large", {}, 3_221_538, 2.086),
    ("fasterrcnn_mobilenet_v3_large_320_fpn", {"num_proposals": 0}, 19_386_354, 0.719),
    ("fasterrcnn_mobilenet_v3_large_fpn", {"num_proposals": 0}, 19_386_354, 4.494),
    ("fasterrcnn_resnet50_fpn", {}, 41_755_286, 134.38),
    ("fasterrcnn_resnet50_fpn_v2", {}, 43_712_278, 280.371),
    ("fcos_resnet50_fpn", {}, 32_269_600, 128.207),
    ("keypointrcnn_resnet50_fpn", {"num_detections": 0}, 59_137_258, 133.924),  # COCO_LEGACY
    ("keypointrcnn_resnet50_fpn", {"num_detections": 1}, 59_137_258, 137.42),  # COCO_V1
    ("maskrcnn_resnet50_fpn", {"num_detections": 0}, 44_401_393, 134.38),
    ("maskrcnn_resnet50_fpn_v2", {}, 46_359_409, 333.577),
    ("retinanet_resnet50_fpn", {}, 34_014_999, 151.54),
    ("retinanet_resnet50_fpn_v2", {}, 38_198_935, 152.238),
    ("ssd300_vgg16", {}, 35_641_826, 34.858),
    ("ssdlite320_mobilenet_v3_large", {}, 3_440_060, 0.583),
    ("mc3_18", {}, 11_695_440, 43.343),
    ("r2plus1d_18", {}, 31_505_325, 40.519),
    ("r3d_18", {}, 33_371_472, 40.697),
    ("s3d", {}, 8_320_048, 17.979),
]


@pytest.mark.parametrize(
    "builder, settings, params, published",
    TABLE,
    ids=[f"{b}-{'-'.join(f'{k}={v}' for k, v in s.items()) or 'default'}" for b, s, _, _ in TABLE],
)
def test_published_row(builder, settings, params, published):
    r = cnncalc.analyze(builder, **settings)
    assert r.params == params
    assert round(r.macs / 1e9, 3) == published


def test_every_builder_of_these_tables_is_bundled():
    """The table's segmentation, detection and (CNN) video builders are all zoo names."""
    names = set(zoo_names())
    assert {b for b, *_ in TABLE} <= names
    assert len({b for b, *_ in TABLE}) == 6 + 12 + 4


# ---- video ResNets: every conv written out ----------------------------------------------------


def video_resnet_macs(kind: str, t: int, h: int, w: int, classes: int = 400) -> int:
    """R3D / MC3 / R(2+1)D-18 (Tran et al. 2018; torchvision video/resnet.py) by hand.

    Conv MACs = output positions × C_in/groups × C_out × kernel volume."""
    h, w = out(h, 7, 2, 3), out(w, 7, 2, 3)
    if kind == "r2plus1d":  # stem: 1×7×7 to 45, then 3×1×1 to 64
        macs = t * h * w * (3 * 45 * 49 + 45 * 64 * 3)
    else:  # 3×7×7, stride (1, 2, 2)
        macs = t * h * w * 3 * 64 * 3 * 49
    cin = 64
    for li, planes in enumerate((64, 128, 256, 512)):
        mode = "2d" if kind == "mc3" and li > 0 else kind
        for b in range(2):
            s = 2 if li > 0 and b == 0 else 1
            mid = (cin * planes * 27) // (cin * 9 + 3 * planes)
            t2 = t if mode == "2d" else out(t, 3, s, 1)
            h2, w2 = out(h, 3, s, 1), out(w, 3, s, 1)
            for c_in in (cin, planes):  # conv1 (carries the stride), conv2
                if mode == "r3d":
                    macs += t2 * h2 * w2 * c_in * planes * 27
                elif mode == "2d":
                    macs += t2 * h2 * w2 * c_in * planes * 9
                else:  # 1×3×3 to mid at the input's time, 3×1×1 to planes
                    t_in = t if c_in == cin else t2
                    macs += t_in * h2 * w2 * c_in * mid * 9 + t2 * h2 * w2 * mid * planes * 3
            if s != 1 or cin != planes:  # 1×1×1 projection
                macs += t2 * h2 * w2 * cin * planes
            t, h, w, cin = t2, h2, w2, planes
    return macs + 512 * classes


@pytest.mark.parametrize(
    "builder, kind, published", [("r3d_18", "r3d", 40.697), ("mc3_18", "mc3", 43.343),
                                 ("r2plus1d_18", "r2plus1d", 40.519)],
)  # fmt: skip
def test_video_resnets_by_hand(builder, kind, published):
    """The hand count reproduces the published figure at 16 × 112 × 112, and cnncalc follows it
    exactly at 8 frames of 128 × 160."""
    assert round(video_resnet_macs(kind, 16, 112, 112) / 1e9, 3) == published
    r = cnncalc.analyze(builder, frames=8, crop=128)
    assert r.macs == video_resnet_macs(kind, 8, 128, 128)
    r = cnncalc.analyze(builder, (3, 8, 128, 160))
    assert r.macs == video_resnet_macs(kind, 8, 128, 160)


def test_r2plus1d_midplanes():
    """M = ⌊27·C_in·C_out / (9·C_in + 3·C_out)⌋, from the block's input and output channels."""
    r = cnncalc.analyze("r2plus1d_18")
    assert r.row("layer2.0.conv1.0.0").output_shape[0] == 64 * 128 * 27 // (64 * 9 + 3 * 128) == 230
    assert r.row("layer2.0.conv2.0.0").output_shape[0] == 230  # the block's M, for both convs
    assert r.row("layer2.1.conv1.0.0").output_shape[0] == 128 * 128 * 27 // (128 * 12) == 288


# ---- S3D --------------------------------------------------------------------------------------
S3D_INCEPTION = {  # features index: (b0, b1 mid, b1, b2 mid, b2, b3), torchvision s3d.py
    5: (64, 96, 128, 16, 32, 32), 6: (128, 128, 192, 32, 96, 64), 8: (192, 96, 208, 16, 48, 64),
    9: (160, 112, 224, 24, 64, 64), 10: (128, 128, 256, 24, 64, 64),
    11: (112, 144, 288, 32, 64, 64), 12: (256, 160, 320, 32, 128, 128),
    14: (256, 160, 320, 32, 128, 128), 15: (384, 192, 384, 48, 128, 128),
}  # fmt: skip


def s3d_macs(t: int, h: int, w: int, classes: int = 400) -> int:
    def inception(cin, b0, b1m, b1, b2m, b2, b3):
        sep = lambda m, o: 9 * m * o + 3 * o * o  # noqa: E731  (1×3×3 then 3×1×1)
        return cin * (b0 + b1m + b2m + b3) + sep(b1m, b1) + sep(b2m, b2), b0 + b1 + b2 + b3

    h1, w1 = out(h, 7, 2, 3), out(w, 7, 2, 3)
    t1 = out(t, 7, 2, 3)
    macs = t * h1 * w1 * 3 * 64 * 49 + t1 * h1 * w1 * 64 * 64 * 7  # stem, temporally separable
    h2, w2 = out(h1, 3, 2, 1), out(w1, 3, 2, 1)
    macs += t1 * h2 * w2 * (64 * 64 + 9 * 64 * 192 + 3 * 192 * 192)  # 1×1, separable 3×3×3
    t_, h_, w_ = t1, out(h2, 3, 2, 1), out(w2, 3, 2, 1)
    cin = 192
    for idx, cfg in S3D_INCEPTION.items():
        if idx == 8:  # 3×3×3 max pool, stride 2
            t_, h_, w_ = out(t_, 3, 2, 1), out(h_, 3, 2, 1), out(w_, 3, 2, 1)
        if idx == 14:  # 2×2×2 max pool, stride 2
            t_, h_, w_ = out(t_, 2, 2), out(h_, 2, 2), out(w_, 2, 2)
        m, cin = inception(cin, *cfg)
        macs += t_ * h_ * w_ * m
    # 2×7×7 average pool (stride 1), then the 1×1×1 classifier at every position left
    return macs + out(t_, 2) * out(h_, 7) * out(w_, 7) * 1024 * classes


def test_s3d_by_hand():
    assert round(s3d_macs(16, 224, 224) / 1e9, 3) == 17.979
    assert cnncalc.analyze("s3d", frames=32, crop=256).macs == s3d_macs(32, 256, 256)
    r = cnncalc.analyze("s3d", frames=32, crop=256)
    assert list(r.row("avgpool").output_shape) == [1024, 3, 2, 2]


# ---- segmentation -----------------------------------------------------------------------------


def bottleneck_stage(cin: int, p: int, n: int, a_in: int, a_out: int) -> int:
    """A torchvision bottleneck stage: block 0's 1×1 at the input area, the rest at the output."""
    first = a_in * cin * p + a_out * (9 * p * p + 4 * p * p + cin * 4 * p)
    return first + (n - 1) * a_out * (4 * p * p + 9 * p * p + 4 * p * p)


def dilated_resnet_macs(h: int, w: int, layers: tuple[int, ...]) -> tuple[int, int]:
    """ResNet body with layer3/4 dilated (output stride 8): (MACs, area of the output map)."""
    h1, w1 = out(h, 7, 2, 3), out(w, 7, 2, 3)
    h2, w2 = out(h1, 3, 2, 1), out(w1, 3, 2, 1)
    h3, w3 = out(h2, 3, 2, 1), out(w2, 3, 2, 1)
    a1, a2, a3 = h1 * w1, h2 * w2, h3 * w3
    macs = a1 * 3 * 64 * 49 + bottleneck_stage(64, 64, layers[0], a2, a2)
    macs += bottleneck_stage(256, 128, layers[1], a2, a3)
    macs += bottleneck_stage(512, 256, layers[2], a3, a3) + bottleneck_stage(
        1024, 512, layers[3], a3, a3
    )
    return macs, a3


def fcn_head(cin: int, classes: int = 21) -> int:
    return 9 * cin * (cin // 4) + (cin // 4) * classes  # per position


def aspp_head(cin: int, a: int, classes: int = 21) -> int:
    """DeepLabHead: ASPP (1×1, three dilated 3×3, pooling branch at 1 position, projection) and
    the 3×3 + 1×1 classifier."""
    per_pos = cin * 256 + 3 * 9 * cin * 256 + 5 * 256 * 256 + 9 * 256 * 256 + 256 * classes
    return a * per_pos + cin * 256


@pytest.mark.parametrize("depth, layers", [(50, (3, 4, 6, 3)), (101, (3, 4, 23, 3))])
def test_fcn_and_deeplabv3_resnet_by_hand(depth, layers):
    pub = {50: (152.717, 178.722), 101: (232.738, 258.743)}[depth]
    for (hh, ww), check in (((520, 520), "published"), ((480, 640), "cnncalc")):
        body, a = dilated_resnet_macs(hh, ww, layers)
        fcn = body + a * fcn_head(2048) + a * fcn_head(1024)  # classifier + aux_classifier
        deeplab = body + aspp_head(2048, a) + a * fcn_head(1024)
        if check == "published":
            assert (round(fcn / 1e9, 3), round(deeplab / 1e9, 3)) == pub
        else:
            assert cnncalc.analyze(f"fcn_resnet{depth}", height=hh, width=ww).macs == fcn
            assert cnncalc.analyze(f"deeplabv3_resnet{depth}", height=hh, width=ww).macs == deeplab


# MobileNetV3-Large rows: kernel, expanded, out, SE, stride (Howard et al. 2019, table 1)
MBV3_LARGE = [
    (3, 16, 16, 0, 1), (3, 64, 24, 0, 2), (3, 72, 24, 0, 1), (5, 72, 40, 1, 2), (5, 120, 40, 1, 1),
    (5, 120, 40, 1, 1), (3, 240, 80, 0, 2), (3, 200, 80, 0, 1), (3, 184, 80, 0, 1),
    (3, 184, 80, 0, 1), (3, 480, 112, 1, 1), (3, 672, 112, 1, 1), (5, 672, 160, 1, 2),
    (5, 960, 160, 1, 1), (5, 960, 160, 1, 1),
]  # fmt: skip


def mobilenet_v3_macs(h: int, w: int, rows=MBV3_LARGE, dilated: bool = False) -> dict[int, tuple]:
    """MACs up to and including each features index, and its map: {index: (macs, C, H, W)}.

    dilated: the last three rows trade their stride for dilation 2 (segmentation)."""
    h, w = out(h, 3, 2, 1), out(w, 3, 2, 1)
    macs, cin = h * w * 3 * 16 * 9, 16
    res = {0: (macs, 16, h, w)}
    for i, (k, e, o, se, s) in enumerate(rows):
        if dilated and i >= len(rows) - 3:
            s = 1
        if e != cin:
            macs += h * w * cin * e  # 1×1 expansion at the input size
        h, w = out(h, k, s, (k - 1) // 2), out(w, k, s, (k - 1) // 2)
        macs += h * w * e * k * k  # depthwise
        if se:
            macs += 2 * e * make_divisible(e // 4)  # fc1, fc2 on the pooled 1×1 map
        macs += h * w * e * o  # projection
        cin = o
        res[i + 1] = (macs, o, h, w)
    macs += h * w * cin * 6 * cin  # features.16: 1×1 to 6·C
    res[len(rows) + 1] = (macs, 6 * cin, h, w)
    return res


@pytest.mark.parametrize("hh, ww", [(520, 520), (384, 512)])
def test_mobilenet_v3_segmentation_by_hand(hh, ww):
    f = mobilenet_v3_macs(hh, ww, dilated=True)
    body, c, h, w = f[16]
    _, c_low, h_low, w_low = f[4]  # C2, the aux / low map
    assert (c, c_low) == (960, 40)
    deeplab = body + aspp_head(960, h * w) + h_low * w_low * fcn_head(40)
    lraspp = body + h * w * 960 * 128 + 960 * 128 + h_low * w_low * (40 + 128) * 21
    if (hh, ww) == (520, 520):
        assert (round(deeplab / 1e9, 3), round(lraspp / 1e9, 3)) == (10.452, 2.086)
    assert cnncalc.analyze("deeplabv3_mobilenet_v3_large", height=hh, width=ww).macs == deeplab
    assert cnncalc.analyze("lraspp_mobilenet_v3_large", height=hh, width=ww).macs == lraspp


# ---- detection --------------------------------------------------------------------------------


def linear(fin: int, fout: int) -> int:
    return fin * fout + fout


def resnet50_body_macs(h: int, w: int) -> tuple[int, list[int]]:
    """ResNet-50 conv1 … layer4 (strided): MACs and the areas of C2 … C5."""
    h1, w1 = out(h, 7, 2, 3), out(w, 7, 2, 3)
    hw = [(out(h1, 3, 2, 1), out(w1, 3, 2, 1))]
    for _ in range(3):
        hw.append((out(hw[-1][0], 3, 2, 1), out(hw[-1][1], 3, 2, 1)))
    a = [x * y for x, y in hw]
    macs = h1 * w1 * 3 * 64 * 49 + bottleneck_stage(64, 64, 3, a[0], a[0])
    macs += bottleneck_stage(256, 128, 4, a[0], a[1]) + bottleneck_stage(512, 256, 6, a[1], a[2])
    return macs + bottleneck_stage(1024, 512, 3, a[2], a[3]), a


def one_stage_macs(h: int, w: int, kind: str) -> int:
    """RetinaNet (v1, v2) / FCOS: ResNet-50, FPN on C3–C5, P6 and P7, a head shared by 5 levels."""
    body, a = resnet50_body_macs(h, w)
    h5, w5 = h, w
    for k, st, p in ((7, 2, 3), (3, 2, 1), (3, 2, 1), (3, 2, 1), (3, 2, 1)):  # conv1 … layer4
        h5, w5 = out(h5, k, st, p), out(w5, k, st, p)
    h6, w6 = out(h5, 3, 2, 1), out(w5, 3, 2, 1)
    h7, w7 = out(h6, 3, 2, 1), out(w6, 3, 2, 1)
    a3, a4, a5, a6, a7 = a[1], a[2], a[3], h6 * w6, h7 * w7
    fpn = a3 * 512 * 256 + a4 * 1024 * 256 + a5 * 2048 * 256 + (a3 + a4 + a5) * 9 * 256 * 256
    p6_in = 2048 if kind == "retinanet_v2" else 256  # v2: P6 from C5
    fpn += a6 * 9 * p6_in * 256 + a7 * 9 * 256 * 256
    if kind == "fcos":
        per_pos = 8 * 9 * 256 * 256 + 9 * 256 * (91 + 4 + 1)
    else:
        per_pos = 8 * 9 * 256 * 256 + 9 * 256 * 9 * (91 + 4)
    return body + fpn + (a3 + a4 + a5 + a6 + a7) * per_pos


@pytest.mark.parametrize(
    "builder, kind, published",
    [("retinanet_resnet50_fpn", "retinanet", 151.54),
     ("retinanet_resnet50_fpn_v2", "retinanet_v2", 152.238), ("fcos_resnet50_fpn", "fcos", 128.207)],
)  # fmt: skip
def test_one_stage_detectors_by_hand(builder, kind, published):
    assert round(one_stage_macs(800, 800, kind) / 1e9, 3) == published
    # a 640×480 COCO image: resized to 800 × 1066, padded to 800 × 1088
    r = cnncalc.analyze(builder, width=1066)
    assert list(r.input_shape) == [3, 800, 1088]
    assert r.macs == one_stage_macs(800, 1088, kind)


def test_one_stage_params_by_hand():
    """Frozen-BN ResNet-50 body (23,454,912: see test_zoo_detection), FPN, P6/P7, heads."""
    body = 23_454_912
    fpn = sum(conv(c, 256) for c in (512, 1024, 2048)) + 3 * conv(256, 256, 3)
    towers = 8 * conv(256, 256, 3)
    retina = body + fpn + 2 * conv(256, 256, 3) + towers + conv(256, 9 * 91, 3) + conv(256, 36, 3)
    assert retina == 34_014_999
    gn = 2 * 256  # GroupNorm(32, 256): weight and bias
    bn = 53_120  # v2: the backbone's BatchNorm2d γ, β (2 per channel)
    retina_v2 = (
        body + bn + fpn + conv(2048, 256, 3) + conv(256, 256, 3)
        + 8 * (conv(256, 256, 3, bias=False) + gn) + conv(256, 9 * 91, 3) + conv(256, 36, 3)
    )  # fmt: skip
    assert retina_v2 == 38_198_935
    fcos = body + fpn + 2 * conv(256, 256, 3) + 8 * (conv(256, 256, 3) + gn)
    fcos += conv(256, 91, 3) + conv(256, 4, 3) + conv(256, 1, 3)
    assert fcos == 32_269_600
    assert cnncalc.analyze("fcos_resnet50_fpn", num_classes=2).params == fcos - 89 * (9 * 256 + 1)


def test_heads_are_shared_across_levels():
    r = cnncalc.analyze("retinanet_resnet50_fpn_v2")
    for lv in ("p4", "p5", "p6", "p7"):
        for part in (
            "classification_head.conv.0.0",
            "classification_head.conv.3.1",
            "regression_head.bbox_reg",
        ):
            n = f"head.{lv}.{part}"
            assert r.row(n).params == 0 and r.row(n).shared_with == f"head.p3.{part}"
    assert r.row("head.p3.classification_head.conv.3.1").type == "groupnorm"
    assert list(r.row("backbone.fpn.extra_blocks.p6").output_shape) == [256, 13, 13]


def test_faster_and_mask_rcnn_v2_by_hand():
    """v2: BatchNorm backbone, FPN convs without bias + BN, a two-conv RPN head, a four-conv box
    head with one linear layer (FastRCNNConvFCHead), and BN in the mask head."""
    body = 25_557_032 - linear(2048, 1000)  # published ResNet-50 minus fc
    fpn = sum(c * 256 for c in (256, 512, 1024, 2048)) + 4 * 9 * 256 * 256 + 8 * 2 * 256
    rpn = 2 * conv(256, 256, 3) + conv(256, 3) + conv(256, 12)
    box = 4 * (conv(256, 256, 3, bias=False) + 2 * 256) + linear(256 * 7 * 7, 1024)
    pred = linear(1024, 91) + linear(1024, 364)
    assert body + fpn + rpn + box + pred == 43_712_278
    mask = 4 * (conv(256, 256, 3, bias=False) + 2 * 256) + conv(256, 256, 2) + conv(256, 91)
    assert body + fpn + rpn + box + pred + mask == 46_359_409
    # per RoI: four 3×3 convs on 7 × 7 and the linear layers; per mask: see test_zoo_detection
    per_box = 4 * 49 * 256 * 256 * 9 + 12544 * 1024 + 1024 * (91 + 364)
    per_mask = 4 * 196 * 256 * 256 * 9 + 196 * 256 * 256 * 4 + 784 * 256 * 91
    full = cnncalc.analyze("maskrcnn_resnet50_fpn_v2")
    fewer = cnncalc.analyze("maskrcnn_resnet50_fpn_v2", num_proposals=300, num_detections=10)
    assert full.macs - fewer.macs == 700 * per_box + 90 * per_mask
    # the published 333.577 has 100 masks on top of the Faster R-CNN v2 count (280.371)
    assert round((full.macs - 100 * per_mask) / 1e9, 3) == 280.371


def test_fasterrcnn_mobilenet_v3_rois():
    """The published 0.719 / 4.494 have no RoIs; the spec's default runs the RPN's post-NMS
    top-n (150 at 320, 1000 at 800) through TwoMLPHead and the predictor."""
    per_roi = 256 * 7 * 7 * 1024 + 1024 * 1024 + 1024 * (91 + 364)
    for builder, n, published in (
        ("fasterrcnn_mobilenet_v3_large_320_fpn", 150, 0.719),
        ("fasterrcnn_mobilenet_v3_large_fpn", 1000, 4.494),
    ):
        r = cnncalc.analyze(builder)
        assert r.row("roi_heads.box_roi_pool").output_shape[0] == n
        assert round((r.macs - n * per_roi) / 1e9, 3) == published
    r = cnncalc.analyze("fasterrcnn_mobilenet_v3_large_320_fpn")
    # both FPN maps at stride 32, and the 'pool' level
    assert list(r.row("backbone.fpn.layer_blocks.0.0").output_shape) == [256, 10, 10]
    assert list(r.row("backbone.fpn.layer_blocks.1.0").output_shape) == [256, 10, 10]
    assert list(r.row("backbone.fpn.extra_blocks").output_shape) == [256, 5, 5]


def test_fasterrcnn_mobilenet_v3_by_hand():
    """Backbone, FPN on features.13 and features.16 (both stride 32), RPN on 3 levels (15
    anchors), at 320 × 320 and 800 × 1088 with no RoIs."""
    for hh, ww in ((320, 320), (800, 1088)):
        f = mobilenet_v3_macs(hh, ww)
        body, _, h, w = f[16]
        a, hp, wp = h * w, out(h, 1, 2), out(w, 1, 2)
        fpn = a * (160 * 256 + 960 * 256 + 2 * 9 * 256 * 256)
        rpn = (2 * a + hp * wp) * (9 * 256 * 256 + 256 * 15 + 256 * 60)
        r = cnncalc.analyze(
            "fasterrcnn_mobilenet_v3_large_fpn", height=hh, width=ww, num_proposals=0
        )
        assert r.macs == body + fpn + rpn


def test_keypoint_rcnn_by_hand():
    body = 23_454_912  # frozen-BN ResNet-50 body, as in test_zoo_detection
    fpn = sum(conv(c, 256) for c in (256, 512, 1024, 2048)) + 4 * conv(256, 256, 3)
    rpn = conv(256, 256, 3) + conv(256, 3) + conv(256, 12)
    box = linear(12544, 1024) + linear(1024, 1024) + linear(1024, 2) + linear(1024, 8)
    kp = conv(256, 512, 3) + 7 * conv(512, 512, 3) + 512 * 17 * 4 * 4 + 17
    assert body + fpn + rpn + box + kp == 59_137_258
    per_kp = 196 * 9 * (256 * 512 + 7 * 512 * 512) + 196 * 512 * 17 * 16  # + the 4×4 deconv
    none = cnncalc.analyze("keypointrcnn_resnet50_fpn", num_detections=0)
    default = cnncalc.analyze("keypointrcnn_resnet50_fpn")
    assert default.macs - none.macs == 100 * per_kp
    assert list(default.row("roi_heads.keypoint_logits").output_shape) == [100, 17, 56, 56]
    # the two published rows differ by one keypoint RoI
    assert round(133.924 + per_kp / 1e9, 2) == 137.42


def ssd300_macs(classes: int) -> int:
    """VGG-16 to conv4_3, extra layers and one 3×3 conv per map and task, at 300 × 300."""
    vgg = [(300, 3, 64), (300, 64, 64), (150, 64, 128), (150, 128, 128)]
    vgg += [(75, 128, 256), (75, 256, 256), (75, 256, 256)]
    vgg += [(38, 256, 512), (38, 512, 512), (38, 512, 512)]
    vgg += [(19, 512, 512)] * 3 + [(19, 512, 1024)]  # conv5_1–3, fc6 (3×3, dilation 6)
    macs = sum(s * s * cin * cout * 9 for s, cin, cout in vgg) + 19 * 19 * 1024 * 1024  # fc7
    extras = [(19, 10, 1024, 256, 512), (10, 5, 512, 128, 256), (5, 3, 256, 128, 256)]
    extras += [(3, 1, 256, 128, 256)]
    macs += sum(a * a * cin * mid + b * b * mid * out_c * 9 for a, b, cin, mid, out_c in extras)
    maps = [(38, 512, 4), (19, 1024, 6), (10, 512, 6), (5, 256, 6), (3, 256, 4), (1, 256, 4)]
    return macs + sum(s * s * 9 * c * k * (classes + 4) for s, c, k in maps)


def test_ssd300_by_hand():
    assert round(ssd300_macs(91) / 1e9, 3) == 34.858
    assert cnncalc.analyze("ssd300_vgg16", num_classes=21).macs == ssd300_macs(21)


def ssdlite_macs(classes: int) -> int:
    rows = MBV3_LARGE[:12] + [(5, 672, 80, 1, 2), (5, 480, 80, 1, 1), (5, 480, 80, 1, 1)]
    macs = mobilenet_v3_macs(320, 320, rows)[16][0]
    for a, b, cin, o in ((10, 5, 480, 512), (5, 3, 512, 256), (3, 2, 256, 256), (2, 1, 256, 128)):
        macs += a * a * cin * (o // 2) + b * b * (o // 2) * 9 + b * b * (o // 2) * o
    maps = [(20, 672), (10, 480), (5, 512), (3, 256), (2, 256), (1, 128)]
    return macs + sum(s * s * c * (2 * 9 + 6 * (classes + 4)) for s, c in maps)


def test_ssdlite_by_hand():
    """Reduced-tail MobileNetV3-Large, four extra blocks, depthwise + 1×1 prediction blocks."""
    assert round(ssdlite_macs(91) / 1e9, 3) == 0.583
    assert cnncalc.analyze("ssdlite320_mobilenet_v3_large", num_classes=21).macs == ssdlite_macs(21)


# ---- Mask R-CNN with no detections: zero RoIs are legal ----------------------------------------


def test_mask_rcnn_with_zero_detections_is_the_published_row():
    """torchvision's 134.38 for maskrcnn_resnet50_fpn was measured with random weights: no box
    survived, so the mask head ran on 0 RoIs. `--set num_detections=0` gives that row."""
    r = cnncalc.analyze("maskrcnn_resnet50_fpn", num_detections=0)
    assert r.params == 44_401_393
    assert round(gmacs(r), 2) == 134.38
    assert list(r.row("roi_heads.mask_roi_pool").output_shape) == [0, 256, 14, 14]
    assert list(r.row("roi_heads.mask_logits").output_shape) == [0, 91, 28, 28]
    mask_convs = ("mask_head.0.0", "mask_predictor.conv5_mask", "mask_predictor.mask_fcn_logits")
    assert all(r.row(f"roi_heads.{n}").macs == 0 for n in mask_convs)


def test_zero_rois_verify_and_cli():
    v = cnncalc.verify(
        "maskrcnn_resnet50_fpn",
        (3, 64, 64),
        variables=dict(num_proposals=4, num_detections=0),
        max_memory="4G",
    )
    assert v.ok, [(c.name, c.message) for c in v.failures[:3]]
    res = run_cli("summary", "maskrcnn_resnet50_fpn", "--set", "num_detections=0")
    assert res.returncode == 0 and "134,379,721,216" in res.stdout


def test_negative_rois_are_refused():
    res = run_cli("summary", "maskrcnn_resnet50_fpn", "--set", "num_detections=-1")
    assert res.returncode == 1
    assert "num_rois" in res.stderr and "≥ 0" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    "builder",
    [
        "fasterrcnn_resnet50_fpn_v2",
        "maskrcnn_resnet50_fpn_v2",
        "keypointrcnn_resnet50_fpn",
        "fasterrcnn_mobilenet_v3_large_320_fpn",
    ],
)
def test_detection_heads_verify_with_few_rois(builder):
    """NumPy execution agrees with the analyzer (tests/test_verify_zoo.py skips these three: their
    fixed RoI heads cost 115–350 GMACs at any image size), here at 64 × 96 with 5 proposals and
    2 detections, and with 0 detections (an empty RoI axis; Faster R-CNN: 0 proposals)."""
    for dets in (2, 0):
        variables = dict(height=64, width=96, num_proposals=5, num_detections=dets)
        if builder.startswith("faster"):  # no detection head: fewer proposals instead
            variables = dict(height=64, width=96, num_proposals=5 - 5 * (dets == 0))
        v = cnncalc.verify(builder, variables=variables, max_memory="4G")
        assert v.ok, [(c.name, c.message) for c in v.failures[:3]]
        assert v.allocated == v.params_expected + v.buffers_expected


def test_empty_roi_axis_through_reshape_flatten_and_convs():
    """An empty RoI axis flows through reshape (explicit 0), flatten, linear and per-RoI convs;
    a -1 next to a 0 is refused (it could be anything), as in PyTorch."""
    spec = {
        "input": [8, 16, 16],
        "layers": [
            {"roi_align": {"num_rois": 0, "output_size": 4, "sampling_ratio": 2}},
            {"reshape": {"shape": [0, 8, 16]}},
            {"flatten": {"start_dim": 1}},
            {"linear": {"out_features": 5}},
        ],
    }
    r = cnncalc.analyze(spec)
    assert [list(x.output_shape) for x in r.rows] == [[0, 8, 4, 4], [0, 8, 16], [0, 128], [0, 5]]
    assert r.macs == 0 and r.params == 128 * 5 + 5
    assert cnncalc.verify(spec).ok
    spec["layers"][1] = {"reshape": {"shape": [0, -1]}}
    with pytest.raises(cnncalc.CnncalcError, match="undetermined"):
        cnncalc.analyze(spec)
    spec["layers"][1] = {"reshape": {"shape": [-2, 8, 16]}}
    with pytest.raises(cnncalc.CnncalcError, match="≥ 0 or -1"):
        cnncalc.analyze(spec)


@pytest.mark.parametrize(
    "family, member",
    [("fcn", "fcn_resnet50"), ("deeplabv3", "deeplabv3_resnet50"), ("retinanet", "retinanet_resnet50_fpn"),
     ("ssd", "ssd300_vgg16"), ("r2plus1d", "r2plus1d_18"), ("video_resnet", "r3d_18"),
     ("segmentation", "fcn_resnet50")],
)  # fmt: skip
def test_family_names_resolve(family, member):
    from cnncalc.zoo import resolve

    res = resolve(family)
    assert (res.variant or res.spec.name) == member and member in (res.note or "")


def test_published_row_on_a_terminal():
    """What a person sees on an 80-column terminal: the zero-RoI Mask R-CNN row and the notes
    saying why. (The table's width is the renderer's business: torchvision's module paths are
    long, roi_heads.mask_predictor.mask_fcn_logits.)"""
    import re

    from .pty_util import run_in_pty

    res = run_in_pty("summary", "maskrcnn_resnet50_fpn", "--set", "num_detections=0", columns=80)
    assert res.returncode == 0
    text = res.text
    assert "134,379,721,216" in text and "44,401,393" in text
    row = next(line for line in text.splitlines() if "mask_head.3.0" in line)  # a per-RoI conv
    # shape, params (3×3 conv 256 → 256 with bias: 256·256·9 + 256 = 590,080), MACs (0: no
    # RoI), whatever the table's borders (MACs may end the row: FLOPs makes way at 80 columns)
    assert re.search(r"\[256, 0, 14, 14\][\s│]+590,080[\s│]+0(?:[\s│]|$)", row), row
    assert "static model of a dynamic network" in text


def test_variant_lookup_parses_only_files_that_name_it(monkeypatch):
    """r3d_18 lives in video_resnet.yaml: resolving it reads the zoo's files as text and parses
    only those that mention the name (parsing all of them cost ~0.1 s per command)."""
    from cnncalc import zoo

    parsed = []
    real = zoo._load.__wrapped__
    monkeypatch.setattr(zoo, "_load", lambda path: parsed.append(path) or real(path))
    res = zoo.resolve("r3d_18")
    assert res.variant == "r3d_18" and res.spec.name == "video_resnet"
    from pathlib import Path

    assert parsed[-1].endswith("video_resnet.yaml")
    assert all("r3d_18" in Path(p).read_text(encoding="utf-8") for p in parsed)
    assert len(parsed) < len(zoo._files()) // 4
