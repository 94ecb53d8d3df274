"""Faster R-CNN and Mask R-CNN ResNet-50-FPN: every component's count written as arithmetic.

Published: fasterrcnn_resnet50_fpn 41,755,286 and maskrcnn_resnet50_fpn 44,401,393 parameters,
both 134.38 "GFLOPS" (torchvision's weights tables; ``_ops`` in the weights' meta). The
components follow torchvision's code (backbone_utils.py, feature_pyramid_network.py, rpn.py,
roi_heads.py, faster_rcnn.py, mask_rcnn.py). Each test derives a figure from the layer sizes
and compares it with the published total or with the spec's rows for that component.
"""

from __future__ import annotations

import pytest

import cnncalc

FASTER, MASK = "fasterrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn"


def conv(cin: int, cout: int, k: int = 1, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


def linear(fin: int, fout: int) -> int:
    return fin * fout + fout


def stage_params(cin: int, planes: int, blocks: int) -> int:
    """A torchvision bottleneck stage without BN parameters (frozen BN has none).

    Block 0: 1×1 cin→p, 3×3 p→p, 1×1 p→4p, 1×1 shortcut cin→4p; blocks 1…: 1×1 4p→p, 3×3, 1×1.
    """
    p = planes
    first = cin * p + 9 * p * p + p * 4 * p + cin * 4 * p
    rest = 4 * p * p + 9 * p * p + p * 4 * p
    return first + (blocks - 1) * rest


def stage_macs(cin: int, planes: int, blocks: int, s_in: int, s_out: int) -> int:
    """MACs of a bottleneck stage on square maps: block 0's first 1×1 runs at the input size
    (the stride sits on the 3×3, "ResNet v1.5"); everything else at the output size."""
    p, a_in, a = planes, s_in * s_in, s_out * s_out
    first = a_in * cin * p + a * (9 * p * p + p * 4 * p + cin * 4 * p)
    rest = a * (4 * p * p + 9 * p * p + p * 4 * p)
    return first + (blocks - 1) * rest


# ---- parameters, per component ----------------------------------------------------------------
CONV1 = conv(3, 64, 7, bias=False)  # 9,408
LAYER1 = stage_params(64, 64, 3)  # 212,992
BACKBONE = (
    CONV1
    + LAYER1
    + stage_params(256, 128, 4)
    + stage_params(512, 256, 6)
    + stage_params(1024, 512, 3)
)
FPN = sum(conv(c, 256) for c in (256, 512, 1024, 2048)) + 4 * conv(256, 256, 3)
RPN = conv(256, 256, 3) + conv(256, 3) + conv(256, 4 * 3)  # one head, shared by 5 levels
BOX_HEAD = linear(256 * 7 * 7, 1024) + linear(1024, 1024)  # TwoMLPHead fc6, fc7
BOX_PREDICTOR = linear(1024, 91) + linear(1024, 91 * 4)  # cls_score, bbox_pred
MASK_HEAD = 4 * conv(256, 256, 3)  # mask_fcn1…4
MASK_PREDICTOR = conv(256, 256, 2) + conv(256, 91)  # conv5_mask (transposed 2×2), logits

# Published ResNet-50 (25,557,032) minus fc (2048·1000 + 1000) minus BN γ, β: 2 per BN channel,
# 53,120 in all (= Keras's 53,120 non-trainable moving statistics, also 2 per channel).
assert BACKBONE == 25_557_032 - linear(2048, 1000) - 53_120 == 23_454_912


def _component(name: str) -> str:
    """torchvision's module path names the component (a row's name is its path)."""
    for prefix, part in (
        ("backbone.body.", "backbone"),
        ("backbone.fpn.", "fpn"),
        ("rpn.head.", "rpn"),
        ("roi_heads.box_roi_pool", "box_head"),
        ("roi_heads.box_head.", "box_head"),
        ("roi_heads.box_predictor.", "box_predictor"),
        ("roi_heads.mask_roi_pool", "mask_head"),
        ("roi_heads.mask_head.", "mask_head"),
        ("roi_heads.mask_predictor.", "mask_predictor"),
        ("roi_heads.mask_logits", "mask_predictor"),
    ):
        if name.startswith(prefix):
            return part
    raise AssertionError(f"row {name} belongs to no component")


def _by_component(report, field: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in report.rows:
        key = _component(row.name)
        out[key] = out.get(key, 0) + getattr(row, field)
    return out


@pytest.fixture(scope="module")
def faster():
    return cnncalc.analyze(FASTER)


@pytest.fixture(scope="module")
def mask():
    return cnncalc.analyze(MASK)


def test_faster_rcnn_components_sum_to_published_total(faster):
    parts = dict(
        backbone=BACKBONE, fpn=FPN, rpn=RPN, box_head=BOX_HEAD, box_predictor=BOX_PREDICTOR
    )
    assert sum(parts.values()) == 41_755_286
    assert _by_component(faster, "params") == parts
    assert faster.params == 41_755_286


def test_mask_rcnn_components_sum_to_published_total(mask):
    parts = dict(
        backbone=BACKBONE,
        fpn=FPN,
        rpn=RPN,
        box_head=BOX_HEAD,
        box_predictor=BOX_PREDICTOR,
        mask_head=MASK_HEAD,
        mask_predictor=MASK_PREDICTOR,
    )
    assert sum(parts.values()) == 44_401_393
    assert _by_component(mask, "params") == parts
    assert mask.params == 44_401_393


def test_frozen_conv1_and_layer1(faster, mask):
    """trainable_backbone_layers=3 freezes conv1 and layer1: still counted, not trainable."""
    for report, total in ((faster, 41_755_286), (mask, 44_401_393)):
        assert report.non_trainable_params == CONV1 + LAYER1 == 222_400
        assert report.trainable_params == total - (CONV1 + LAYER1)
        for row in report.rows:
            frozen = row.name in ("backbone.body.conv1", "backbone.body.bn1")
            frozen = frozen or row.name.startswith("backbone.body.layer1.")
            assert row.trainable_params == (0 if frozen else row.params), row.name


def test_frozen_batchnorm_is_all_buffers(faster):
    """FrozenBatchNorm2d: weight, bias, running mean and variance are 4 buffers per channel;
    ResNet-50 has 53,120 / 2 = 26,560 BN channels."""
    assert faster.buffers == 4 * (53_120 // 2)
    assert all(r.params == 0 for r in faster.rows if r.type == "frozen_batchnorm2d")


def test_rpn_head_is_shared_across_levels(faster):
    rpn = [r for r in faster.rows if r.name.endswith(".conv.0.0")]
    assert [r.name for r in rpn] == [f"rpn.head.p{k}.conv.0.0" for k in range(2, 7)]
    assert rpn[0].params == conv(256, 256, 3) and rpn[0].shared_with is None
    assert all(r.params == 0 and r.shared_with == "rpn.head.p2.conv.0.0" for r in rpn[1:])
    assert all(r.macs > 0 for r in rpn)


# ---- shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "width, padded",
    [(800, 800), (1066, 1088), (1199, 1216)],  # 800×800; 640×480 and 640×427 COCO images
)
def test_pyramid_shapes(width, padded):
    """The transform pads to a multiple of 32; P_k has stride 2^k; P6 = max_pool(P5, 1, 2)."""
    r = cnncalc.analyze(FASTER, width=width)
    assert list(r.input_shape) == [3, 800, padded]
    for k in (2, 3, 4, 5):
        p = r.row(f"backbone.fpn.layer_blocks.{k - 2}.0")  # P_k
        assert list(p.output_shape) == [256, 800 // 2**k, padded // 2**k]
    p5w = padded // 32
    p6 = r.row("backbone.fpn.extra_blocks")
    assert list(p6.output_shape) == [256, (25 - 1) // 2 + 1, (p5w - 1) // 2 + 1]


def test_roi_heads_shapes(mask):
    assert list(mask.row("roi_heads.box_roi_pool").output_shape) == [1000, 256, 7, 7]
    assert list(mask.row("roi_heads.box_head.fc6").output_shape) == [1000, 1024]
    assert list(mask.row("roi_heads.box_predictor.bbox_pred").output_shape) == [1000, 91 * 4]
    assert list(mask.row("roi_heads.mask_roi_pool").output_shape) == [100, 256, 14, 14]
    assert list(mask.row("roi_heads.mask_logits").output_shape) == [100, 91, 28, 28]


# ---- MACs at 800 × 800, 1000 proposals, 100 detections ---------------------------------------
A = [200 * 200, 100 * 100, 50 * 50, 25 * 25]  # P2…P5 positions
BACKBONE_MACS = (
    400 * 400 * 64 * 7 * 7 * 3
    + stage_macs(64, 64, 3, 200, 200)
    + stage_macs(256, 128, 4, 200, 100)
    + stage_macs(512, 256, 6, 100, 50)
    + stage_macs(1024, 512, 3, 50, 25)
)
FPN_MACS = sum(a * c * 256 for a, c in zip(A, (256, 512, 1024, 2048))) + sum(A) * 256 * 256 * 9
RPN_MACS = (sum(A) + 13 * 13) * (256 * 256 * 9 + 256 * 3 + 256 * 12)
BOX_MACS = 1000 * (256 * 7 * 7 * 1024 + 1024 * 1024)
BOX_PRED_MACS = 1000 * 1024 * (91 + 91 * 4)
MASK_MACS = 4 * 100 * 14 * 14 * 256 * 256 * 9
MASK_PRED_MACS = 100 * 14 * 14 * 256 * 256 * 2 * 2 + 100 * 28 * 28 * 256 * 91


def test_faster_rcnn_macs_match_torchvision_figure(faster):
    """torchvision publishes 134.38 GFLOPS (MACs) for both models: the count at 800 × 800 with
    1000 proposals (and, for Mask R-CNN, no detections reaching the mask head)."""
    want = dict(
        backbone=BACKBONE_MACS, fpn=FPN_MACS, rpn=RPN_MACS, box_head=BOX_MACS,
        box_predictor=BOX_PRED_MACS,
    )  # fmt: skip
    assert _by_component(faster, "macs") == want
    assert faster.macs == sum(want.values())
    assert round(faster.macs / 1e9, 2) == 134.38


def test_mask_rcnn_macs(mask, faster):
    got = _by_component(mask, "macs")
    assert got["mask_head"] == MASK_MACS
    assert got["mask_predictor"] == MASK_PRED_MACS
    assert mask.macs == faster.macs + MASK_MACS + MASK_PRED_MACS
    without_masks = sum(v for k, v in got.items() if not k.startswith("mask_"))
    assert round(without_masks / 1e9, 2) == 134.38


def test_roi_counts_are_variables():
    """RoIs scale only the heads: 700 fewer proposals remove 700 RoIs' worth of box-head MACs."""
    base = cnncalc.analyze(MASK)
    fewer = cnncalc.analyze(MASK, num_proposals=300, num_detections=10)
    per_box = 256 * 7 * 7 * 1024 + 1024 * 1024 + 1024 * (91 + 91 * 4)
    per_mask = (MASK_MACS + MASK_PRED_MACS) // 100
    assert base.macs - fewer.macs == 700 * per_box + 90 * per_mask
    assert fewer.params == base.params
    assert list(fewer.row("roi_heads.mask_logits").output_shape) == [10, 91, 28, 28]


def test_output_says_the_static_model_is_a_static_model():
    """Issue: a fixed RoI count is an honest static model of a dynamic network; say so in the output."""
    import cnncalc

    for name in ("fasterrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn"):
        r = cnncalc.analyze(name)
        text = " ".join(r.to_dict()["notes"])
        assert "static model of a dynamic network" in text and "NMS" in text
