"""Detection layers: RoI Align over one feature map or a feature pyramid (Mask R-CNN, FPN).

A two-stage detector pools a fixed-size feature grid for each region of interest (RoI). The
number of RoIs is decided at run time (proposal selection, NMS); cnncalc models it as a fixed
argument ``num_rois``, so the RoI axis is a static leading axis of the output: (R, C, h, w).
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, fmt_shape, register

__all__ = ["RoIAlign", "default_boxes"]


def default_boxes(num_rois: int, image_h: float, image_w: float) -> list[tuple[float, ...]]:
    """The deterministic boxes the NumPy forward pools when no real proposals exist.

    Box r (0 ≤ r < R) is ``(x1, y1, x2, y2)`` in image coordinates, with side fraction
    f = (r + 1)/R, size ``(f·W, f·H)`` and top-left corner ``((W − f·W)·a/2, (H − f·H)·b/2)``,
    a = r mod 3, b = ⌊r/3⌋ mod 3: sizes grow evenly from W/R to the whole image (so every
    pyramid level gets boxes), positions cycle over a 3×3 grid of anchors, and every box lies
    inside the image.

    >>> default_boxes(2, 100, 200)
    [(0.0, 0.0, 100.0, 50.0), (0.0, 0.0, 200.0, 100.0)]
    """
    boxes = []
    for r in range(num_rois):
        f = (r + 1) / num_rois
        bw, bh = f * image_w, f * image_h
        x1 = (image_w - bw) * (r % 3) / 2
        y1 = (image_h - bh) * ((r // 3) % 3) / 2
        boxes.append((x1, y1, x1 + bw, y1 + bh))
    return boxes


@register
class RoIAlign(Layer):
    """RoI Align (He et al. 2017; torchvision ``roi_align`` / ``MultiScaleRoIAlign``).

    Inputs: one feature map (C, H, W), or a pyramid of maps (C, H_l, W_l), finest first, each
    half the size of the previous (FPN P2…P5). Output (R, C, h, w) with R = ``num_rois`` and
    (h, w) = ``output_size``: every RoI is split into h×w bins, each bin is sampled at
    s×s = ``sampling_ratio``² regularly spaced points by bilinear interpolation, and the
    samples are averaged. With several inputs each RoI is pooled from one level only, chosen
    by the FPN rule (eq. 1 of Lin et al. 2017, torchvision's ``LevelMapper``):
    k = ⌊k0 + log2(√(w·h)/s0) + 10⁻⁶⌋ (k0 = ``canonical_level`` 4, s0 = ``canonical_scale``
    224), clamped to the pyramid's levels, where level k has scale 2^−k = 2^round(log2(H_l /
    image_h)). Shapes and FLOPs do not depend on the level chosen.

    No weights, 0 MACs. FLOPs = R·C·h·w·8·s²: per output element, s² bilinear samples of
    4 taps (4 multiplies + 3 adds = 7 FLOPs, as for bilinear upsampling) and their mean
    (s² − 1 adds + 1 divide). The sample coordinates and tap weights are computed once per
    (RoI, bin, sample) and shared by all C channels: not counted, nor is choosing the level.

    ``sampling_ratio`` must be fixed (torchvision's detectors use 2): the adaptive value
    (≤ 0, ⌈RoI size / output size⌉ per RoI) depends on the boxes.

    NumPy forward: the boxes are :func:`default_boxes` (num_rois, image_h, image_w), the same for
    every batch item; the image size is ``image_size``, or the first map's size / ``spatial_scale``.
    """

    NAMES = ("roi_align",)
    CATEGORY = "pool"
    MIN_INPUTS = 1
    MAX_INPUTS = None
    MAY_BE_EMPTY = True  # num_rois 0: no detection survived (the mask head runs on none)
    ARGS = {
        "num_rois": Arg(
            "int",
            doc="number of RoIs R (a static stand-in for a dynamic count; 0: none survived)",
            minimum=0,
        ),
        "output_size": Arg("ints", doc="bins per RoI (h, w): an int or [h, w]", minimum=1),
        "sampling_ratio": Arg("int", 2, "bilinear samples per bin along each axis"),
        "spatial_scale": Arg(
            "opt_float",
            None,
            "one input only: feature size / image size (default 1, or from image_size)",
        ),
        "image_size": Arg(
            "opt_ints",
            None,
            "[H, W] of the image the boxes refer to (needed with several inputs)",
            minimum=1,
        ),
        "aligned": Arg("bool", False, "shift box corners by −0.5 pixel (torchvision aligned=True)"),
        "canonical_scale": Arg(
            "int", 224, "FPN level mapping: box size pooled from canonical_level", minimum=1
        ),
        "canonical_level": Arg("int", 4, "FPN level mapping: level k0 of a canonical_scale box"),
    }
    __slots__ = ("out_hw", "scales", "k_min")

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        for x in in_shapes:
            if len(x) != 3:
                raise CnncalcError(
                    f"expects feature maps (C, H, W), got shape {fmt_shape(x)}",
                    hint="RoI Align pools 2-D maps; give every pyramid level as an input",
                )
        c = in_shapes[0][0]
        if any(x[0] != c for x in in_shapes):
            raise CnncalcError(
                "all levels need the same channel count, got "
                + ", ".join(fmt_shape(x) for x in in_shapes)
            )
        s = self.args["sampling_ratio"]
        if s < 1:
            raise CnncalcError(
                f"sampling_ratio={s} is adaptive (⌈RoI size / output size⌉ points per bin), which "
                "depends on the boxes",
                hint="give a fixed sampling ratio ≥ 1 (torchvision's detection models use 2)",
            )
        size = self.args["output_size"]
        self.out_hw = size if isinstance(size, tuple) else (size, size)
        if len(self.out_hw) != 2:
            raise CnncalcError(f"output_size needs 1 or 2 values, received {list(self.out_hw)}")
        self.scales, self.k_min = self._scales(in_shapes)
        return (self.args["num_rois"], c, *self.out_hw)

    def _scales(self, in_shapes: tuple[Shape, ...]) -> tuple[tuple[float, ...], int]:
        """Per-level spatial scale; with several levels, they must be consecutive halvings."""
        image, given = self.args["image_size"], self.args["spatial_scale"]
        if image is not None:
            if given is not None:
                raise CnncalcError("give either spatial_scale or image_size, not both")
            ih = image[0] if isinstance(image, tuple) else image
            if isinstance(image, tuple) and len(image) != 2:
                raise CnncalcError(f"image_size needs [H, W], received {list(image)}")
            # torchvision's _infer_scale: 2^round(log2(H_l / H_image)), from the height.
            scales = tuple(2.0 ** round(math.log2(x[1] / ih)) for x in in_shapes)
        elif len(in_shapes) > 1:
            raise CnncalcError(
                f"{len(in_shapes)} feature maps need image_size to place each level",
                hint="add image_size: [H, W] (the network's input size)",
            )
        else:
            scales = (1.0 if given is None else given,)
            if scales[0] <= 0:
                raise CnncalcError(f"spatial_scale must be positive, received {given}")
        levels = [-math.log2(sc) for sc in scales]
        if len(scales) > 1 and any(b - a != 1 for a, b in zip(levels, levels[1:])):
            raise CnncalcError(
                "pyramid levels must be listed finest first, each half the previous size; got "
                + ", ".join(fmt_shape(x) for x in in_shapes),
            )
        return scales, int(levels[0]) if len(scales) > 1 else 0

    def flops(self) -> int:
        s = self.args["sampling_ratio"]
        return self.out_elements * 8 * s * s

    # --- NumPy forward --------------------------------------------------------------------------
    def image_hw(self, in_shape: Shape) -> tuple[float, float]:
        """Image size the default boxes span: image_size, or the first map's size / its scale."""
        image = self.args["image_size"]
        if image is not None:
            return (image[0], image[1]) if isinstance(image, tuple) else (image, image)
        return (in_shape[1] / self.scales[0], in_shape[2] / self.scales[0])

    def level_of(self, box: tuple[float, ...]) -> int:
        """Index of the input that pools ``box`` (torchvision's LevelMapper); 0 with one input."""
        if len(self.scales) == 1:
            return 0
        area = (box[2] - box[0]) * (box[3] - box[1])
        k0, s0 = self.args["canonical_level"], self.args["canonical_scale"]
        k = math.floor(k0 + math.log2(math.sqrt(area) / s0) + 1e-6)
        k = min(max(k, self.k_min), self.k_min + len(self.scales) - 1)
        return k - self.k_min

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Each bin is a separable bilinear average: out[c] = A_y · F[c] · A_xᵀ.

        Bilinear weights factor into a row weight times a column weight (and torchvision's
        out-of-range rule, y < −1 or y > H → 0, factors too), so for one RoI the s² samples of
        each bin average to A_y (h × H) and A_x (w × W), the per-axis weights averaged over the
        s samples of each bin. Boxes: :func:`default_boxes`.
        """
        import numpy as np

        x0 = inputs[0]
        n, c = x0.shape[0], x0.shape[1]
        oh, ow = self.out_hw
        s = self.args["sampling_ratio"]
        offset = 0.5 if self.args["aligned"] else 0.0
        ih, iw = self.image_hw(tuple(x0.shape[1:]))
        boxes = default_boxes(self.args["num_rois"], ih, iw)
        out = np.zeros((n, len(boxes), c, oh, ow), dtype=x0.dtype)
        for r, box in enumerate(boxes):
            lvl = self.level_of(box)
            feat, scale = inputs[lvl], self.scales[lvl]
            x1, y1, x2, y2 = (v * scale - offset for v in box)
            ay = _axis_weights(np, y1, y2, oh, s, feat.shape[2], self.args["aligned"])
            ax = _axis_weights(np, x1, x2, ow, s, feat.shape[3], self.args["aligned"])
            # Only the rows/columns a RoI touches have non-zero weights: slice them first.
            (ys,), (xs,) = np.nonzero(ay.any(0)), np.nonzero(ax.any(0))
            if ys.size == 0 or xs.size == 0:
                continue  # every sample fell outside the map: 0, as in torchvision
            rows, cols = slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1)
            part = feat[:, :, rows, cols].astype(np.float64)
            out[:, r] = ay[:, rows] @ part @ ax[:, cols].T
        return out


def _axis_weights(
    np: Any, lo: float, hi: float, bins: int, s: int, size: int, aligned: bool
) -> Any:
    """(bins × size) matrix: row i = mean over the s samples of bin i of their 1-D bilinear weights.

    Sample j of bin i sits at lo + i·b + (j + 0.5)·b/s, b = (hi − lo)/bins (the RoI length is
    clamped to ≥ 1 unless ``aligned``). A sample outside [−1, size] contributes 0; otherwise it is
    clamped to ≥ 0 and split between ⌊y⌋ and ⌊y⌋ + 1 (both clamped to size − 1), as in
    torchvision's kernel.
    """
    length = hi - lo if aligned else max(hi - lo, 1.0)
    b = length / bins
    w = np.zeros((bins, size), dtype=np.float64)
    for i in range(bins):
        for j in range(s):
            y = lo + i * b + (j + 0.5) * b / s
            if y < -1.0 or y > size:
                continue
            y = max(y, 0.0)
            low = int(y)
            if low >= size - 1:
                low = high = size - 1
                y = float(low)
            else:
                high = low + 1
            frac = y - low
            w[i, low] += (1.0 - frac) / s
            w[i, high] += frac / s
    return w
