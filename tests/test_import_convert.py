"""``cnncalc convert``: a foreign model written as a spec whose summary equals the source's."""

from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc
from cnncalc.cli import main

from . import keras_configs
from .test_bad_input import check_one_line


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The CLI in-process: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


FIX = Path(__file__).resolve().parent / "fixtures" / "import"


def same_summary(a: str, b: str) -> None:
    ra, rb = cnncalc.analyze(a).to_dict(), cnncalc.analyze(b).to_dict()
    for row in rb["layers"]:  # only the written spec has line numbers
        assert row.pop("line") > 0
    assert ra["layers"] == rb["layers"]
    assert ra["totals"] == rb["totals"]
    assert ra["input_shape"] == rb["input_shape"]
    assert ra.get("caveats") == rb.get("caveats")


def test_convert_darknet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "yolov3.yaml"
    code, _, err = run_main(capsys, "convert", str(FIX / "yolov3.cfg"), "-o", str(out))
    assert code == 0, err
    text = out.read_text()
    assert (
        "  - conv2d: {out_channels: 32, kernel_size: 3, stride: 1, padding: 1, bias: false}" in text
    )
    same_summary(str(FIX / "yolov3.cfg"), str(out))


def test_convert_keras(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "densenet121.json"
    src.write_text(keras_configs.densenet121().to_json(3))
    out = tmp_path / "d.yaml"
    code, _, err = run_main(capsys, "convert", str(src), "-o", str(out))
    assert code == 0, err
    same_summary(str(src), str(out))


def test_convert_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.yaml"
    out.write_text("keep me")
    code, out_text, err = run_main(capsys, "convert", str(FIX / "yolov3.cfg"), "-o", str(out))
    msg = check_one_line(code, out_text, err)
    assert "exists" in msg and "--force" in msg
    assert out.read_text() == "keep me"
    code, _, err = run_main(capsys, "convert", str(FIX / "yolov3.cfg"), "-o", str(out), "--force")
    assert code == 0 and out.read_text().startswith("# cnncalc spec converted from yolov3.cfg")


def test_convert_lambda_as_identity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = FIX / "keras3_lambda.json"
    out = tmp_path / "l.yaml"
    code, o, err = run_main(capsys, "convert", str(src), "-o", str(out))
    check_one_line(code, o, err)
    assert not out.exists()
    code, _, err = run_main(capsys, "convert", str(src), "-o", str(out), "--lambda-as-identity")
    assert code == 0, err
    r = cnncalc.analyze(str(out))
    assert r.row("scale").type == "identity"
    assert any("zero-cost identity" in c for c in r.meta["caveats"])


@pytest.mark.parametrize(
    "source, shape",
    [
        ("yolov3.cfg", (3, 64, 64)),
        ("mnist_cnn_keras2.json", None),
        ("tiny_cnn.onnx", None),
        ("tiny_attention.onnx", None),
    ],
)
def test_verify_imported_models(source: str, shape: tuple[int, ...] | None) -> None:
    """The NumPy backend runs imported graphs and agrees with every claimed shape."""
    pytest.importorskip("numpy", reason="verify needs numpy")
    if source.endswith(".onnx"):
        pytest.importorskip("onnx", reason="the ONNX reader needs onnx")
    result = cnncalc.verify(str(FIX / source), shape)
    assert result.ok, result.failures


@pytest.mark.parametrize("source", ["tiny_cnn.onnx", "tiny_attention.onnx"])
def test_convert_onnx(source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnx", reason="the ONNX reader needs onnx")
    out = tmp_path / "o.yaml"
    code, _, err = run_main(capsys, "convert", str(FIX / source), "-o", str(out))
    assert code == 0, err
    same_summary(str(FIX / source), str(out))
