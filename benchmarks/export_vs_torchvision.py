"""Dev check: the PyTorch export of each zoo model against torchvision's own model.

For every zoo model with a torchvision counterpart: write the export, import it, load
torchvision's ``state_dict`` (every weight and BN statistic set to seeded random values of a
scale that keeps activations O(1); eval mode) with ``strict=True``, run both on the same seeded
input and report the largest absolute output difference. Needs torchvision
(the shared dev venv), which CI never has:

    PYTHONPATH=. /tmp/tv/bin/python benchmarks/export_vs_torchvision.py [model ...]

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


def check(name: str) -> dict[str, object]:
    src = to_pytorch_spec(name)
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
    shape = cnncalc.build(name).inputs
    x = torch.randn(2, *next(iter(shape.values())), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        if name.startswith("ssd"):
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
        r = check(name)
        results[name] = {**r, "torch": torch.__version__, "torchvision": torchvision.__version__}
        print(name, r, flush=True)
    path.write_text(json.dumps(dict(sorted(results.items())), indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
