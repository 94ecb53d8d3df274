"""The strong test: the PyTorch export of a torchvision-derived zoo model has torchvision's
state_dict, key for key and shape for shape, so torchvision's weights load with strict=True.

The expectations are torchvision's own ``state_dict()`` keys and shapes, recorded by
``tests/fixtures/make_state_dicts.py`` (torchvision 0.29.1; CI has no torchvision). The numerical
check (same output as torchvision on the same input) needs torchvision and is run by
``benchmarks/export_vs_torchvision.py``; its record, ``torchvision_outputs.json``, is checked here.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import math
from pathlib import Path

import pytest

import cnncalc
from cnncalc.export.pytorch import to_pytorch

FIXTURES = Path(__file__).parent / "fixtures" / "state_dicts"

#: zoo models whose export matches torchvision's state_dict exactly
MATCHING = [
    "alexnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "googlenet",
    "inception_v3",
    *[f"efficientnet_b{i}" for i in range(8)],
    # zoo specs named by the language work (merged at the end), matching through this export
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "wide_resnet50_2",
    "wide_resnet101_2",
    "regnet_x_400mf",
    "regnet_x_800mf",
    "mnasnet0_5",
    "mnasnet0_75",
    "mnasnet1_0",
    "mnasnet1_3",
    *[f"convnext_{s}" for s in ("tiny", "small", "base", "large")],
    # dotted names that branch (a class running their sub-graph), chunk and channel shuffle
    *[f"vit_{s}" for s in ("b_16", "b_32", "l_16", "l_32", "h_14")],
    *[f"vit_{s}_swag_e2e" for s in ("b_16", "l_16", "h_14")],
    *[f"efficientnet_v2_{s}" for s in "sml"],
    *[f"regnet_y_{s}" for s in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")],
    "regnet_y_128gf",
    *[f"regnet_y_{s}_swag_e2e" for s in ("16gf", "32gf", "128gf")],
    *[f"regnet_x_{s}" for s in ("1_6gf", "3_2gf", "8gf", "16gf", "32gf")],
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    *[f"shufflenet_v2_x{s}" for s in ("0_5", "1_0", "1_5", "2_0")],
    "ssdlite320_mobilenet_v3_large",  # the output compared: the head's maps (no box decoding)
    # the head's maps too; spec: conv4_3's L2Norm is one l2_normalize layer with its learned
    # scale, written as torchvision's bare (512,) parameter backbone.scale_weight
    "ssd300_vgg16",
    # shifted-window attention written with torchvision's layout (qkv, proj, the bias table or
    # v2's cpb_mlp and logit_scale, the index buffers)
    *[f"swin_{s}" for s in "tsb"],
    *[f"swin_v2_{s}" for s in "tsb"],
    *[f"swin3d_{s}" for s in "tsb"],  # spec: patch_embed.pad / .permute named as its parts
    # relative attention in torchvision's layout; spec: the squeeze-excitation is a block
    "maxvit_t",
    # pooling attention in torchvision's layout; class token and positions are free parameters
    "mvit_v1_b",
    "mvit_v2_s",
    # resize_to; the aux head reads the backbone's layer3 (a block returning an inner map)
    *[f"{m}_{b}" for m in ("fcn", "deeplabv3") for b in ("resnet50", "resnet101")],
    "deeplabv3_mobilenet_v3_large",
    "lraspp_mobilenet_v3_large",
    # specs renamed to torchvision's module paths (flat features.N: an inline block per cfg entry)
    *[f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")],
    *[f"densenet{d}" for d in (121, 161, 169, 201)],
    "squeezenet1_0",
    "squeezenet1_1",
    "mobilenet_v2",
    "googlenet_aux",  # torchvision googlenet(aux_logits=True): aux1, aux2 in the state dict
    "r3d_18",
    "mc3_18",
    "r2plus1d_18",
    "s3d",
    # the FPN's groups as holders (nn.ModuleList) called between one another; the head, shared
    # over the five levels, one module (keys head.classification_head.…); v1 with frozen BN;
    # the output compared: the predictors' maps at each level (no box decoding)
    "retinanet_resnet50_fpn",
    "retinanet_resnet50_fpn_v2",
    "fcos_resnet50_fpn",
    # roi_align in plain torch (no torchvision.ops), no weights; the per-RoI head convs (spec:
    # conv3d of depth 1 over the RoI axis) written as Conv2d on the RoIs as a batch; v1 with
    # frozen BN in the backbone body
    "fasterrcnn_resnet50_fpn",
    "fasterrcnn_resnet50_fpn_v2",
    "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "maskrcnn_resnet50_fpn",
    "maskrcnn_resnet50_fpn_v2",
    "keypointrcnn_resnet50_fpn",
]

#: zoo models with a torchvision counterpart whose names cannot match yet, and why
NOT_MATCHING: dict[str, str] = {}


def _fixture(name: str) -> list[tuple[str, tuple[int, ...]]]:
    data = json.loads(gzip.decompress((FIXTURES / f"{name}.json.gz").read_bytes()))
    return [(k, tuple(shape)) for k, shape in data["state_dict"]]


def _exported_state_dict(name: str, tmp_path: Path) -> list[tuple[str, tuple[int, ...]]]:
    torch = pytest.importorskip("torch", reason="the state-dict test builds the exported module")
    path = tmp_path / f"{name}.py"
    path.write_text(to_pytorch(cnncalc.build(name)))
    spec = importlib.util.spec_from_file_location(f"exported_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with torch.device("meta"):  # names and shapes only: no memory, no initialisation
        model = module.build()
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


@pytest.mark.parametrize("name", MATCHING)
def test_state_dict_equals_torchvisions(name, tmp_path):
    mine = _exported_state_dict(name, tmp_path)
    theirs = _fixture(name)
    assert dict(mine) == dict(theirs)  # same keys, same shapes
    assert len(mine) == len(theirs)


@pytest.mark.parametrize("name", sorted(NOT_MATCHING))
def test_listed_mismatches_are_real(name, tmp_path):
    """The closing note's list stays true: when a spec is renamed to match, move it above."""
    mine = dict(_exported_state_dict(name, tmp_path))
    theirs = dict(_fixture(name))
    assert mine != theirs
    # the same tensors under other names or shapes: their sizes agree as multisets
    assert sorted(map(math.prod, mine.values())) == sorted(map(math.prod, theirs.values()))


def test_recorded_torchvision_outputs_agree():
    """The dev script's record: strict load succeeded and outputs agree within 1e-4."""
    record = json.loads((FIXTURES / "torchvision_outputs.json").read_text())
    for name in MATCHING:
        r = record[name]
        assert r["state_dict"] is True, name
        assert r["max_abs_diff"] <= 1e-4, (name, r["max_abs_diff"])


def test_recorded_roi_align_equals_torchvision_ops():
    """The dev script's record of the written RoIAlign class (plain torch) against
    torchvision.ops.roi_align (aligned False and True, 1, 2 and 3 samples per bin) and
    MultiScaleRoIAlign on an FPN P2–P5 whose four levels all pool some of the random boxes:
    equal within float32 rounding of the sample positions (1e-5 on maps of standard normals)."""
    r = json.loads((FIXTURES / "torchvision_outputs.json").read_text())["roi_align"]
    assert r["cases"] == 2 * 3 + 1
    assert r["levels_used"] == [0, 1, 2, 3]
    assert r["max_abs_diff"] <= 1e-5 and r["ok"] is True
