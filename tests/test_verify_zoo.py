"""Every bundled zoo member verifies: NumPy execution agrees with the analyzer, layer by layer.

Members are read from specs/*.yaml when the tests are collected (like tests/test_zoo.py), so
models added to the zoo are covered without editing this file.

Input size (to keep this file under a minute on 2 cores):

* **native** when the analyzer's MACs at the native input are ≤ ``NATIVE_MACS`` (1 G): LeNet,
  AlexNet, MobileNet V2, SqueezeNet, EfficientNet-B0/B1, ZFNet, the MNIST models…
  At native size the allocated weights must also equal the *published* parameter count of the
  spec's ``expected`` block (an independent figure, not the analyzer's).
* **reduced** otherwise: the spatial size is scaled down (to a multiple of 32, ≥ 32) until the
  MACs fit (≤ 1 G where the fixed parts allow), keeping the first size at which the spec
  still builds. Every shape rule is still
  exercised; only the sizes are smaller. VGG at 224 (15.5 G) would take 2–3 s per member × 8,
  EfficientNet-B7 at 600 (37.8 G) 12 s, U-Net at 572 (150 G) 9 s, ViT-L/16 (61.6 G) 21 s.
* Networks whose size is fixed (a flatten into a linear layer: AlexNet-style heads, YOLOv1)
  cannot shrink; they run at native size if ≤ ``HEAVY_MACS``, and are otherwise skipped with
  the reason below. ``CNNCALC_VERIFY_NATIVE=1`` verifies every member at its native size
  (about 7 minutes for the whole zoo on 2 cores; all agreed when this file was written).
"""

from __future__ import annotations

import os

import pytest

import cnncalc
from cnncalc.errors import CnncalcError

from .test_zoo import MEMBERS

NATIVE_MACS = 1e9
HEAVY_MACS = 25e9
ALL_NATIVE = os.environ.get("CNNCALC_VERIFY_NATIVE") == "1"

#: Heavy members, skipped by default (a reason each). Faster R-CNN is not here: at 64×64 its
#: fixed 1000-RoI box head (fc6: 1000·12544·1024 = 12.8 GMACs) still runs in about 2 s.
HEAVY = {
    "maskrcnn_resnet50_fpn": "188 GMACs at 800×800, and its fixed RoI box and mask heads keep "
    "68 GMACs (4 s) even at 32×32; verified natively with CNNCALC_VERIFY_NATIVE=1 (7.5 s)",
    # Fixed RoI heads that no input size shrinks: verified in test_zoo_torchvision_dense.py
    # with a few RoIs (test_detection_heads_verify_with_few_rois).
    "maskrcnn_resnet50_fpn_v2": "its 1000-RoI conv box head alone is 115 GMACs at any input size",
    "fasterrcnn_resnet50_fpn_v2": "its 1000-RoI conv box head alone is 115 GMACs at any input size",
    "keypointrcnn_resnet50_fpn": "its 100-RoI keypoint head alone is 350 GMACs at any input size",
    "maxvit_t": "5.6 GMACs (5 s), and its 7×7 partitions need multiples of 224; verified shrunk "
    "(64×64, 2×2 partitions) in tests/test_zoo_vit_family.py",
    "mvit_v1_b": "71 GMACs; its token grid follows the frames and size variables, not --input; "
    "verified shrunk (2 frames of 32×32) in tests/test_zoo_vit_family.py",
    "mvit_v2_s": "64 GMACs; its token grid follows the frames and size variables, not --input; "
    "verified shrunk (2 frames of 32×32) in tests/test_zoo_vit_family.py",
}

#: Families whose members differ only in numbers (widths, depths, groups, input size), not in
#: layer types or wiring: one or two members run by default (the listed ones, which exercise
#: every block form of the file), the others with CNNCALC_VERIFY_NATIVE=1. Verifying all 18
#: RegNets, 4 ConvNeXts, … would add about 40 s of CPU on 2 cores.
SAMPLED = {
    "regnet": {"regnet_x_400mf", "regnet_y_400mf"},  # without and with squeeze-excitation
    "convnext": {"convnext_tiny"},
    "efficientnet_v2": {"efficientnet_v2_s"},
    "mnasnet": {"mnasnet0_5"},
    "shufflenet_v2": {"shufflenet_v2_x0_5"},
    # resnet18 … resnet152 keep running; ResNeXt and Wide ResNet are its bottleneck with groups
    "resnet": {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d"},
    # vit_b_16 and vit_l_16 keep running; the others are the same encoder at other sizes
    "vit": {"vit_b_16", "vit_l_16"},
    # the S and B variants are T's blocks at other depths and widths
    "swin": {"swin_t", "swin_v2_t"},
    "swin3d": {"swin3d_t"},
}


def _member_id(path, variant) -> str:
    return f"{path.stem}:{variant}" if variant else path.stem


def _name(path, variant) -> str:
    return variant or path.stem


def _plan(path, variant):
    """(input shape or None for native, reason): the input this member is verified at."""
    graph = cnncalc.build(str(path), variant=variant)
    native = next(iter(graph.inputs.values()))
    macs = cnncalc.analyze(graph).macs
    if ALL_NATIVE or macs <= NATIVE_MACS:
        return None, f"native {list(native)}: {macs / 1e9:.2f} GMACs"
    if len(graph.inputs) > 1 or len(native) < 3:
        return None, "native (several inputs or no spatial axes to shrink)"
    spatial = native[1:]
    f = (NATIVE_MACS / macs) ** (1 / len(spatial))
    for _ in range(8):
        shape = (native[0], *(max(32, int(w * f) // 32 * 32) for w in spatial))
        if shape == tuple(native):
            break
        try:
            small = cnncalc.analyze(str(path), shape, variant=variant).macs
        except CnncalcError:  # fixed-size network, or too small for its downsampling
            f = min(1.0, f * 1.5)
            continue
        return shape, (
            f"reduced {list(native)} → {list(shape)}: {macs / 1e9:.1f} → {small / 1e9:.2f} GMACs"
        )
    if macs > HEAVY_MACS:
        return "skip", f"fixed-size and {macs / 1e9:.0f} GMACs at its native size"
    return None, f"native {list(native)} (fixed size): {macs / 1e9:.2f} GMACs"


@pytest.mark.parametrize("path, variant", MEMBERS, ids=[_member_id(p, v) for p, v in MEMBERS])
def test_zoo_member_verifies(path, variant):
    name = _name(path, variant)
    if name in HEAVY and not ALL_NATIVE:
        pytest.skip(HEAVY[name])
    sample = SAMPLED.get(path.stem)
    if sample is not None and name not in sample and not ALL_NATIVE:
        pytest.skip(f"same layer types and wiring as {', '.join(sorted(sample))} (verified)")
    shape, why = _plan(path, variant)
    if shape == "skip":
        pytest.skip(why)
    r = cnncalc.verify(str(path), shape, variant=variant, max_memory="8G")
    bad = [(c.name, c.status, c.message) for c in r.failures[:5]]
    assert r.ok, f"{name} ({why}): {bad}; weights ok: {r.weights_ok}"
    assert r.allocated == r.params_expected + r.buffers_expected
    if shape is None:
        exp = cnncalc.build(str(path), variant=variant).expected or {}
        if "params" in exp:  # published figure (checked against the analyzer in test_zoo.py)
            assert r.params_allocated == exp["params"], name
        if "buffers" in exp:
            assert r.buffers_allocated == exp["buffers"], name
