"""Ultralytics model YAML: YOLOv8 and YOLO11, written from the published architecture facts
(tests/fixtures/import/yolov8.yaml, yolo11.yaml), against Ultralytics' published figures.

Ultralytics prints GFLOPs from thop: 2 × the MACs of the convolutions (thop does not see the
matrix products of C2PSA's attention), and, before Conv and BN are fused, 4 operations per
batch-norm element (8 in GFLOPs). The fused model's figure is the one in the model tables.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import cnncalc
from cnncalc.errors import CnncalcError

FIX = Path(__file__).resolve().parent / "fixtures" / "import"


def model(tmp_path: Path, fixture: str, name: str) -> str:
    """The fixture under the file name that selects its scale (yolov8n.yaml → 'n')."""
    path = tmp_path / name
    shutil.copy(FIX / fixture, path)
    return str(path)


def thop_gflops(r: cnncalc.Report, fused: bool) -> float:
    conv = sum(row.macs for row in r.rows if row.type == "conv2d")
    bn = sum(row.output_elements for row in r.rows if row.type == "batchnorm2d")
    return 2 * (conv + (0 if fused else 4 * bn)) / 1e9


def test_yolov8n(tmp_path: Path) -> None:
    r = cnncalc.analyze(model(tmp_path, "yolov8.yaml", "yolov8n.yaml"))
    assert r.params == 3_157_200
    assert r.trainable_params == 3_157_184  # the DFL conv (16 weights) is frozen
    assert r.input_shape == (3, 640, 640)
    assert round(2 * r.macs / 1e9, 1) == 8.7  # the model table's figure (fused: 2 × MACs)
    assert round(thop_gflops(r, fused=True), 1) == 8.7
    assert round(thop_gflops(r, fused=False), 1) == 8.9  # the unfused print
    assert r.output_shape == (84, 8400)  # 4 box sides + 80 classes at 80² + 40² + 20² points


def test_yolov8s(tmp_path: Path) -> None:
    r = cnncalc.analyze(model(tmp_path, "yolov8.yaml", "yolov8s.yaml"))
    assert r.params == 11_166_560
    assert round(thop_gflops(r, fused=True), 1) == 28.6  # Ultralytics' table: 28.6


@pytest.mark.parametrize("scale, params", [("m", 25_902_640), ("l", 43_691_520), ("x", 68_229_648)])
def test_yolov8_larger_scales(scale: str, params: int, tmp_path: Path) -> None:
    """max_channels caps m, l, x (768, 512, 512) before the width multiple."""
    r = cnncalc.analyze(model(tmp_path, "yolov8.yaml", f"yolov8{scale}.yaml"))
    assert r.params == params


def test_yolo11n(tmp_path: Path) -> None:
    r = cnncalc.analyze(model(tmp_path, "yolo11.yaml", "yolo11n.yaml"))
    assert r.params == 2_624_080
    assert r.trainable_params == 2_624_064
    assert round(thop_gflops(r, fused=False), 1) == 6.6  # the model's printed summary
    assert round(thop_gflops(r, fused=True), 1) == 6.5  # the docs table (fused)
    # C2PSA's attention at stride 32 (20×20 = 400 positions, 2 heads, key 32, head 64):
    # matrix products thop does not count, cnncalc does
    mm = sum(row.macs for row in r.rows if row.type == "matmul")
    assert mm == 2 * 400 * 400 * 32 + 2 * 64 * 400 * 400


def test_scale_rules(tmp_path: Path) -> None:
    """Repeats max(round(n·depth), 1), channels make_divisible(min(c, max_channels)·width, 8)."""
    r = cnncalc.analyze(model(tmp_path, "yolov8.yaml", "yolov8n.yaml"))
    assert r.row("conv_0.conv").output_shape == (16, 320, 320)  # 64 · 0.25
    assert r.row("sppf_9.cv2.conv").output_shape == (256, 20, 20)  # min(1024, 1024) · 0.25
    c2f = [row.name for row in r.rows if row.name.startswith("c2f_4.m")]
    assert {n.split(".")[1] for n in c2f} == {"m0", "m1"}  # 6 · 0.33 = 1.98 → 2
    r = cnncalc.analyze(model(tmp_path, "yolov8.yaml", "yolov8m.yaml"))
    assert r.row("sppf_9.cv2.conv").output_shape == (576, 20, 20)  # min(1024, 768) · 0.75


def test_no_scale_in_name_uses_first_with_caveat(tmp_path: Path) -> None:
    r = cnncalc.analyze(model(tmp_path, "yolov8.yaml", "custom.yaml"))
    assert r.params == 3_157_200
    assert any("scale 'n' is used" in c for c in r.meta["caveats"])


def test_unknown_modules_and_code(tmp_path: Path) -> None:
    text = (FIX / "yolov8.yaml").read_text()
    bad = tmp_path / "yolov8n.yaml"
    bad.write_text(text.replace("SPPF, [1024, 5]", "SPP, [1024, [5, 9]]").replace(
        "[-1, 3, C2f, [1024]]", "[-1, 3, RepC3, [1024]]"))  # fmt: skip
    with pytest.raises(CnncalcError) as exc:
        cnncalc.analyze(str(bad))
    assert "2 unsupported Ultralytics module type(s) in 2 place(s)" in str(exc.value)
    bad.write_text(text.replace("[nc]", "[__import__('os').system('x')]"))
    with pytest.raises(CnncalcError, match="evaluates no code"):
        cnncalc.analyze(str(bad))


def test_convert_writes_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .test_import_convert import run_main

    src = model(tmp_path, "yolo11.yaml", "yolo11n.yaml")
    out = tmp_path / "yolo11n_spec.yaml"
    code, _, err = run_main(capsys, "convert", src, "-o", str(out))
    assert code == 0, err
    text = out.read_text()
    assert "blocks:\n  Conv:" in text and "  C3k2_n1:" in text and "  C2PSA_n1:" in text
    a, b = cnncalc.analyze(src).to_dict(), cnncalc.analyze(str(out)).to_dict()
    for row in b["layers"]:
        row.pop("line", None)
    for row in a["layers"]:
        row.pop("line", None)
    assert a["layers"] == b["layers"] and a["totals"] == b["totals"]
