"""torchvision's segmentation, detection and video builders against its published table.

Each row of /work/shared/torchvision_table.md (params to the unit, "GFLOPS" = MACs in G to the
published decimals) at the weights' input, and every family once more at another input or
setting against a figure derived by hand here. The published rows are copied below (TABLE),
the hand-derived figures are written as arithmetic.
"""

from __future__ import annotations

import cnncalc

from .conftest import run_cli


def conv(cin: int, cout: int, k: int | tuple[int, ...] = 1, bias: bool = True) -> int:
    ks = (k, k) if isinstance(k, int) else k
    n = cin * cout
    for v in ks:
        n *= v
    return n + (cout if bias else 0)


def gmacs(report) -> float:
    return report.macs / 1e9


# ---- Mask R-CNN with no detections: zero RoIs are legal ----------------------------------------


def test_mask_rcnn_with_zero_detections_is_the_published_row():
    """torchvision's 134.38 for maskrcnn_resnet50_fpn was measured with random weights: no box
    survived, so the mask head ran on 0 RoIs. `--set num_detections=0` gives that row."""
    r = cnncalc.analyze("maskrcnn_resnet50_fpn", num_detections=0)
    assert r.params == 44_401_393
    assert round(gmacs(r), 2) == 134.38
    assert list(r.row("mask_roi_pool").output_shape) == [0, 256, 14, 14]
    assert list(r.row("mask_logits").output_shape) == [0, 91, 28, 28]
    assert all(r.row(n).macs == 0 for n in ("mask_fcn1", "conv5_mask", "mask_fcn_logits"))


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
