"""Dev check: the PyTorch export of each zoo model against torchvision's own model.

For every zoo model with a torchvision counterpart: write the export, import it, load
torchvision's ``state_dict`` (every weight and BN statistic set to seeded random values of a
scale that keeps activations O(1); eval mode) with ``strict=True``, run both on the same seeded
input and report the largest absolute output difference. Needs torchvision
(the shared dev venv), which CI never has:

    PYTHONPATH=. /tmp/tv/bin/python benchmarks/export_vs_torchvision.py [model ...]
    PYTHONPATH=. /tmp/tv/bin/python benchmarks/export_vs_torchvision.py roi_align

(``roi_align``: the written RoIAlign class against torchvision.ops on random boxes.) The
R-CNNs are compared on the same boxes, at 320 × 320 with 100 proposals (see _rcnn_heads).

Writes ``tests/fixtures/state_dicts/torchvision_outputs.json`` (model → result), the record
the report and docs/export.md quote. Tolerance: outputs equal within 1e-4 absolute (float32,
the same kernels in a different order of module calls; in practice the difference is 0 or a
few ulps).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import torch
import torchvision

import cnncalc
from cnncalc.export.pytorch import to_pytorch_spec

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "state_dicts"
TOLERANCE = 1e-4
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from make_state_dicts import torchvision_model  # noqa: E402 - the zoo name → torchvision model


def _randomize(model: torch.nn.Module) -> None:
    """Every weight and BN statistic random and of a scale that keeps activations O(1), so
    that equal outputs mean something (torchvision's initialisation zeroes biases and leaves
    BN at identity, and some outputs are then ~1e-14)."""
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var") or (t.dim() == 1 and name.endswith("weight")):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.dim() == 1 or name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
            else:
                fan_in = t[0].numel() if t.dim() > 1 else t.numel()
                t.copy_(torch.randn(t.shape, generator=g) / fan_in**0.5)


def _detector_heads(tv: torch.nn.Module, mine: torch.nn.Module, x: torch.Tensor) -> tuple:
    """SSD: the network without torchvision's transform and box decoding, i.e. its head's
    class logits and box deltas on the backbone's maps of ``x``, against the export's twelve
    head maps laid out as torchvision's SSDHead does (per map: (N, H·W·anchors, K), joined)."""
    head = tv.head(list(tv.backbone(x).values()))
    maps = mine(x)
    classes = head["cls_logits"].shape[-1]

    def joined(outs: tuple, k: int) -> torch.Tensor:
        parts = []
        for out in outs:
            n, _, h, w = out.shape
            parts.append(out.view(n, -1, k, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, k))
        return torch.cat(parts, dim=1)

    half = len(maps) // 2
    a = torch.cat([head["cls_logits"].flatten(1), head["bbox_regression"].flatten(1)], dim=1)
    b = torch.cat([joined(maps[:half], classes).flatten(1), joined(maps[half:], 4).flatten(1)], 1)
    return a, b


def _level_heads(tv: torch.nn.Module, mine: torch.nn.Module, x: torch.Tensor) -> tuple:
    """RetinaNet, FCOS: the network without torchvision's transform and box decoding, i.e. its
    head's maps on the backbone's five FPN levels of ``x``: the outputs of the predictor convs
    (``cls_logits``, ``bbox_reg``, FCOS's ``bbox_ctrness``; FCOS's box regression before the
    ReLU torchvision applies to it), recorded by forward hooks at each level, against the
    export's outputs (per level, in the spec's order: the same maps)."""
    names = ["classification_head.cls_logits", "regression_head.bbox_reg"]
    if hasattr(tv.head.regression_head, "bbox_ctrness"):
        names.append("regression_head.bbox_ctrness")
    got: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    hooks = [
        tv.head.get_submodule(n).register_forward_hook(lambda _m, _i, y, n=n: got[n].append(y))
        for n in names
    ]
    features = list(tv.backbone(x).values())
    tv.head(features)
    for h in hooks:
        h.remove()
    a = torch.cat([got[n][k].flatten(1) for k in range(len(features)) for n in names], 1)
    b = torch.cat([t.flatten(1) for t in mine(x)], 1)
    return a, b


#: the R-CNNs are compared at a smaller image and fewer RoIs than the zoo's 800 × 800 with
#: 1000 proposals (CPU time): the weights do not depend on these, the export is written for them
RCNN_VARIABLES = {"height": 320, "width": 320, "num_proposals": 100, "num_detections": 20}


def _rcnn_variables(name: str) -> dict[str, int]:
    graph = cnncalc.build(name)
    return {k: v for k, v in RCNN_VARIABLES.items() if k in graph.variables}


def _rcnn_heads(tv: torch.nn.Module, mine: torch.nn.Module, x: torch.Tensor) -> tuple:
    """Faster/Mask/Keypoint R-CNN without the dynamic part (the RPN's proposal selection, NMS,
    box decoding, torchvision's transform): both networks pool the same boxes, the export's
    fixed default boxes (cnncalc.layers.detection.default_boxes, R = num_proposals for the box
    head, num_detections for the mask and keypoint heads), given to torchvision's
    ``box_roi_pool`` / ``mask_roi_pool`` / ``keypoint_roi_pool`` (MultiScaleRoIAlign) on its
    backbone's maps, then its heads and predictors. Compared: the RPN head's maps at every
    level (forward hooks on ``rpn.head.cls_logits`` and ``bbox_pred`` in both; torchvision's
    head run on its backbone's maps), the box predictor's scores and deltas, and the mask or
    keypoint logits (torchvision's keypoint predictor includes the ×2 bilinear upsample)."""
    from cnncalc.layers.detection import default_boxes

    n, _, h, w = x.shape
    pools = {m.__class__.__name__ for m in mine.modules()}
    assert "RoIAlign" in pools
    sizes = [m.num_rois for m in mine.modules() if m.__class__.__name__ == "RoIAlign"]
    got: dict[str, list[torch.Tensor]] = {}

    def hook(key: str):
        return lambda _m, _i, y: got.setdefault(key, []).append(y)

    hooks = [
        net.rpn.head.get_submodule(part).register_forward_hook(hook(f"{side}.{part}"))
        for side, net in (("tv", tv), ("mine", mine))
        for part in ("cls_logits", "bbox_pred")
    ]
    outs = mine(x)
    features = tv.backbone(x)
    tv.rpn.head(list(features.values()))
    for hk in hooks:
        hk.remove()
    shapes = [(h, w)] * n

    def boxes(r: int) -> list[torch.Tensor]:
        return [torch.tensor(default_boxes(r, h, w), dtype=x.dtype)] * n

    heads = tv.roi_heads
    a = [t.flatten(1) for part in ("cls_logits", "bbox_pred") for t in got[f"tv.{part}"]]
    b = [t.flatten(1) for part in ("cls_logits", "bbox_pred") for t in got[f"mine.{part}"]]
    pooled = heads.box_roi_pool(features, boxes(sizes[0]), shapes)
    cls, deltas = heads.box_predictor(heads.box_head(pooled))
    theirs = [cls, deltas]
    if heads.has_mask():
        pooled = heads.mask_roi_pool(features, boxes(sizes[1]), shapes)
        theirs.append(heads.mask_predictor(heads.mask_head(pooled)))
    if heads.has_keypoint():
        pooled = heads.keypoint_roi_pool(features, boxes(sizes[1]), shapes)
        theirs.append(heads.keypoint_predictor(heads.keypoint_head(pooled)))
    assert len(theirs) == len(outs)
    a += [t.reshape(n, -1) for t in theirs]  # torchvision: the RoIs of image 0, then 1
    b += [t.reshape(n, -1) for t in outs]
    return torch.cat(a, 1), torch.cat(b, 1)


def roi_align_vs_torchvision_ops() -> dict[str, object]:
    """The written RoIAlign class (no torchvision import) against torchvision.ops.roi_align and
    MultiScaleRoIAlign on random maps and random boxes: boxes of 0.5 to 600 pixels, some
    reaching past the image (samples outside [-1, size] are 0), aligned False/True, 1 to 3
    samples per bin, and an FPN P2–P5 of a 256 × 320 image with torchvision's level mapping."""
    from torchvision.ops import MultiScaleRoIAlign, roi_align

    from cnncalc.export.pytorch import HELPERS

    scope: dict[str, object] = {"torch": torch, "nn": torch.nn, "Tensor": torch.Tensor}
    exec(HELPERS["RoIAlign"], scope)  # noqa: S102 - cnncalc's own helper source
    cls = scope["RoIAlign"]
    g = torch.Generator().manual_seed(3)
    n, r, c, h, w = 2, 64, 5, 256, 320

    def random_boxes() -> torch.Tensor:
        xy = torch.rand(n, r, 2, generator=g) * torch.tensor([w + 40.0, h + 40.0]) - 20
        wh = torch.rand(n, r, 2, generator=g) ** 3 * 600 + 0.5
        return torch.cat([xy, xy + wh], -1)

    worst = 0.0
    cases = 0
    x = torch.randn(n, c, h // 8, w // 8, generator=g)
    for aligned in (False, True):
        for s in (1, 2, 3):
            bx = random_boxes()
            mine = cls(r, (7, 5), s, (0.125,), (float(h), float(w)), aligned)(x, boxes=bx)
            theirs = roi_align(x, list(bx), (7, 5), 0.125, s, aligned)
            worst = max(worst, float((mine.reshape(-1, c, 7, 5) - theirs).abs().max()))
            cases += 1
    maps = [torch.randn(n, c, h // k, w // k, generator=g) for k in (4, 8, 16, 32)]
    pool = MultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2)
    bx = random_boxes()
    theirs = pool(dict(zip("0123", maps)), list(bx), [(h, w)] * n)
    mine = cls(r, (7, 7), 2, (0.25, 0.125, 0.0625, 0.03125), (float(h), float(w)))(*maps, boxes=bx)
    worst = max(worst, float((mine.reshape(-1, c, 7, 7) - theirs).abs().max()))
    levels = cls(r, (7, 7), 2, (0.25, 0.125, 0.0625, 0.03125)).levels(bx).unique().tolist()
    return {"cases": cases + 1, "levels_used": levels, "max_abs_diff": worst, "ok": worst <= 1e-5}


def check(name: str) -> dict[str, object]:
    rcnn = "rcnn" in name
    src = to_pytorch_spec(name, variables=_rcnn_variables(name)) if rcnn else to_pytorch_spec(name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.py"
        path.write_text(src)
        spec = importlib.util.spec_from_file_location(f"exported_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    torch.manual_seed(0)
    tv = torchvision_model(name).eval()
    _randomize(tv)
    mine = module.build().eval()
    try:
        mine.load_state_dict(tv.state_dict(), strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[:3]
        return {"state_dict": False, "error": " ".join(first)[:300]}
    shape = cnncalc.build(name, variables=_rcnn_variables(name) if rcnn else None).inputs
    x = torch.randn(2, *next(iter(shape.values())), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        if rcnn:
            a, b = _rcnn_heads(tv, mine, x)
        elif name.startswith("ssd"):
            a, b = _detector_heads(tv, mine, x)
        elif name.startswith(("retinanet", "fcos")):
            a, b = _level_heads(tv, mine, x)
        else:
            a, b = tv(x), mine(x)
    if isinstance(a, tuple):  # inception_v3 in eval returns the logits only; be safe
        a = a[0]
    if isinstance(a, dict):  # segmentation: {"out", "aux"}, the spec's outputs in that order
        a = torch.cat([v.flatten(1) for v in a.values()], dim=1)
        b = torch.cat([v.flatten(1) for v in (b if isinstance(b, tuple) else (b,))], dim=1)
    diff = float((a - b).abs().max())
    return {
        **({"variables": _rcnn_variables(name)} if rcnn else {}),
        "state_dict": True,
        "max_abs_diff": diff,
        "output_max_abs": float(a.abs().max()),
        "output_std": float(a.std()),
        "ok": diff <= TOLERANCE,
    }


def main(names: list[str]) -> None:
    path = OUT / "torchvision_outputs.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for name in names:
        r = roi_align_vs_torchvision_ops() if name == "roi_align" else check(name)
        results[name] = {**r, "torch": torch.__version__, "torchvision": torchvision.__version__}
        print(name, r, flush=True)
    path.write_text(json.dumps(dict(sorted(results.items())), indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
