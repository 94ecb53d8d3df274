"""RoI Align's NumPy forward against a direct loop transcribed from torchvision's kernel.

The reference walks every (RoI, channel, bin, sample) and interpolates each sample from its
four neighbours, the way torchvision's ``roi_align`` CPU kernel does (a sample outside
[−1, size] is 0; otherwise clamped to ≥ 0, with the high neighbour clamped to size − 1), and
maps each RoI to its pyramid level with the FPN rule written out here. The layer computes the
same thing as a separable matrix product, so agreement checks its algebra. When torchvision is
importable the layer is also compared with ``torchvision.ops.roi_align`` and
``MultiScaleRoIAlign``.
"""

from __future__ import annotations

import math

import pytest

from cnncalc.errors import CnncalcError
from cnncalc.layers.detection import default_boxes

from .conftest import make_layer

np = pytest.importorskip("numpy")


def _bilinear(feat, y: float, x: float) -> float:
    """One sample of a 2-D map, as torchvision's ``bilinear_interpolate``."""
    h, w = feat.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= h - 1:
        y0 = y1 = h - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= w - 1:
        x0 = x1 = w - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    hy, hx = 1.0 - ly, 1.0 - lx
    return (
        hy * hx * feat[y0, x0]
        + hy * lx * feat[y0, x1]
        + ly * hx * feat[y1, x0]
        + ly * lx * feat[y1, x1]
    )


def _reference(feats, boxes, scales, out_hw, s, aligned=False, k0=4, s0=224):
    """(N, R, C, h, w) by loops; ``feats`` finest first, ``scales`` their spatial scales."""
    n, c = feats[0].shape[:2]
    oh, ow = out_hw
    k_min = round(-math.log2(scales[0]))
    out = np.zeros((n, len(boxes), c, oh, ow))
    for r, (bx1, by1, bx2, by2) in enumerate(boxes):
        lvl = 0
        if len(feats) > 1:  # FPN eq. 1: k = ⌊k0 + log2(√area / 224)⌋, clamped to the pyramid
            k = math.floor(k0 + math.log2(math.sqrt((bx2 - bx1) * (by2 - by1)) / s0) + 1e-6)
            lvl = min(max(k, k_min), k_min + len(feats) - 1) - k_min
        sc, off = scales[lvl], (0.5 if aligned else 0.0)
        x1, y1, x2, y2 = bx1 * sc - off, by1 * sc - off, bx2 * sc - off, by2 * sc - off
        rw, rh = x2 - x1, y2 - y1
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / oh, rw / ow
        for b in range(n):
            for ch in range(c):
                fm = feats[lvl][b, ch]
                for i in range(oh):
                    for j in range(ow):
                        acc = 0.0
                        for iy in range(s):
                            y = y1 + i * bh + (iy + 0.5) * bh / s
                            for ix in range(s):
                                x = x1 + j * bw + (ix + 0.5) * bw / s
                                acc += _bilinear(fm, y, x)
                        out[b, r, ch, i, j] = acc / (s * s)
    return out


def _pyramid(rng, n=2, c=3, sizes=((16, 20), (8, 10), (4, 5))):
    return [rng.standard_normal((n, c, h, w)).astype(np.float32) for h, w in sizes]


def test_default_boxes_inside_image_and_growing():
    boxes = default_boxes(12, 64, 80)
    assert len(boxes) == 12
    for r, (x1, y1, x2, y2) in enumerate(boxes):
        assert 0 <= x1 < x2 <= 80 and 0 <= y1 < y2 <= 64
        assert x2 - x1 == pytest.approx(80 * (r + 1) / 12)
    assert boxes[-1] == (0.0, 0.0, 80.0, 64.0)


def test_forward_pyramid_matches_loop_reference():
    """Three levels (scales 1/4, 1/8, 1/16 of a 64×80 image); canonical_scale 16 spreads the
    12 default boxes over all three levels."""
    rng = np.random.default_rng(0)
    feats = _pyramid(rng)
    args = dict(num_rois=12, output_size=[3, 2], sampling_ratio=2, image_size=[64, 80])
    layer = make_layer("roi_align", {**args, "canonical_scale": 16}, *[f.shape[1:] for f in feats])
    got = layer.forward(feats, {})
    assert got.shape == (2, *layer.out_shape)
    boxes = default_boxes(12, 64, 80)
    levels = {layer.level_of(b) for b in boxes}
    assert levels == {0, 1, 2}, "the test boxes should exercise every level"
    want = _reference(feats, boxes, (1 / 4, 1 / 8, 1 / 16), (3, 2), 2, s0=16)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_forward_single_map_aligned_matches_loop_reference():
    """One map, spatial_scale 0.5, aligned, 3 samples per axis; boxes reach the map's edge."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 7, 9)).astype(np.float32)
    for aligned in (False, True):
        layer = make_layer(
            "roi_align",
            dict(num_rois=5, output_size=4, sampling_ratio=3, spatial_scale=0.5, aligned=aligned),
            (2, 7, 9),
        )
        got = layer.forward([x], {})
        # image size = map size / scale = 14 × 18
        want = _reference([x], default_boxes(5, 14, 18), (0.5,), (4, 4), 3, aligned=aligned)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_forward_constant_map_is_constant():
    """Bilinear weights of an in-image sample sum to 1: a constant map pools to the constant."""
    x = np.full((1, 1, 8, 8), 3.5, dtype=np.float32)
    layer = make_layer("roi_align", dict(num_rois=4, output_size=2), (1, 8, 8))
    np.testing.assert_allclose(layer.forward([x], {}), 3.5, rtol=1e-6)


@pytest.mark.parametrize(
    "args, inputs, fragment",
    [
        (dict(num_rois=4, output_size=7, sampling_ratio=-1), [(8, 16, 16)], "adaptive"),
        (dict(num_rois=4, output_size=7), [(8, 16, 16), (8, 8, 8)], "need image_size"),
        (
            dict(num_rois=4, output_size=7, image_size=[64, 64]),
            [(8, 16, 16), (4, 8, 8)],
            "same channel",
        ),
        (
            dict(num_rois=4, output_size=7, image_size=[64, 64]),
            [(8, 16, 16), (8, 4, 4)],
            "finest first",
        ),
        (dict(num_rois=4, output_size=7), [(8, 16)], "(C, H, W)"),
        (dict(num_rois=-1, output_size=7), [(8, 16, 16)], "≥ 0"),
        (dict(num_rois=4, output_size=[7, 7, 7]), [(8, 16, 16)], "1 or 2 values"),
        (
            dict(num_rois=4, output_size=7, spatial_scale=0.5, image_size=[32, 32]),
            [(8, 16, 16)],
            "not both",
        ),
    ],
)
def test_roi_align_errors(args, inputs, fragment):
    with pytest.raises(CnncalcError) as exc:
        make_layer("roi_align", args, *inputs)
    assert fragment in str(exc.value)


# ---- against torchvision itself (optional) ------------------------------------------------------


def test_forward_matches_torchvision_roi_align():
    torch = pytest.importorskip("torch")
    ops = pytest.importorskip("torchvision.ops")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 12, 10)).astype(np.float32)
    for aligned in (False, True):
        layer = make_layer(
            "roi_align",
            dict(
                num_rois=7,
                output_size=[3, 4],
                sampling_ratio=2,
                spatial_scale=0.25,
                aligned=aligned,
            ),
            (3, 12, 10),
        )
        boxes = torch.tensor(default_boxes(7, 48, 40), dtype=torch.float32)
        want = [
            ops.roi_align(torch.from_numpy(x[b : b + 1]), [boxes], (3, 4), 0.25, 2, aligned).numpy()
            for b in range(2)
        ]
        np.testing.assert_allclose(layer.forward([x], {}), np.stack(want), rtol=1e-4, atol=1e-5)


def test_forward_matches_torchvision_multiscale_roi_align():
    torch = pytest.importorskip("torch")
    ops = pytest.importorskip("torchvision.ops")
    rng = np.random.default_rng(3)
    feats = _pyramid(rng, n=1, c=4, sizes=((16, 20), (8, 10), (4, 5), (2, 3)))
    layer = make_layer(
        "roi_align",
        dict(num_rois=20, output_size=7, image_size=[64, 80], canonical_scale=16),
        *[f.shape[1:] for f in feats],
    )
    pool = ops.MultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2, canonical_scale=16)
    boxes = torch.tensor(default_boxes(20, 64, 80), dtype=torch.float32)
    inputs = {str(i): torch.from_numpy(f) for i, f in enumerate(feats)}
    want = pool(inputs, [boxes], [(64, 80)]).numpy()
    np.testing.assert_allclose(layer.forward(feats, {})[0], want, rtol=1e-4, atol=1e-5)
