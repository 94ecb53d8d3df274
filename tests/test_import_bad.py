"""Hostile and broken model files: each gives exit code 1 and one line, and nothing is run.

The cases cover every reader: a corrupt or truncated file, unknown ops/sections (all listed at
once, with counts), a dynamic shape with no --input, a pickle, a Keras Lambda.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from .test_bad_input import check_one_line, run_main

FIX = Path(__file__).resolve().parent / "fixtures" / "import"


def _keras_truncated(tmp: Path) -> Path:
    text = (FIX / "mnist_cnn_keras2.json").read_text()
    p = tmp / "trunc.json"
    p.write_text(text[: len(text) // 2])
    return p


def _keras_not_a_model(tmp: Path) -> Path:
    p = tmp / "data.json"
    p.write_text(json.dumps({"hello": [1, 2, 3]}))
    return p


def _keras_deep(tmp: Path) -> Path:
    p = tmp / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    return p


def _keras_archive_corrupt(tmp: Path) -> Path:
    p = tmp / "m.keras"
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    return p


def _keras_archive_bomb(tmp: Path) -> Path:
    """config.json that inflates to 80 MiB: refused from its declared size, never inflated."""
    p = tmp / "bomb.keras"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", b" " * (80 * 1024 * 1024))
    return p


def _keras_archive_no_config(tmp: Path) -> Path:
    p = tmp / "empty.keras"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("model.weights.h5", b"x")
    return p


def _keras_lambda(tmp: Path) -> Path:
    return FIX / "keras3_lambda.json"


def _keras_dynamic(tmp: Path) -> Path:
    doc = json.loads((FIX / "mnist_cnn_keras2.json").read_text())
    doc["config"]["layers"][0]["config"]["batch_input_shape"] = [None, None, None, 1]
    p = tmp / "dyn.json"
    p.write_text(json.dumps(doc))
    return p


def _pickle(tmp: Path) -> Path:
    """A pickle whose loading would run os.system: never opened."""
    p = tmp / "model.pt"
    p.write_bytes(b"cos\nsystem\n(S'touch /tmp/cnncalc_pwned'\ntR.")
    return p


def _pth(tmp: Path) -> Path:
    p = tmp / "weights.pth"
    p.write_bytes(b"\x80\x02}q\x00.")
    return p


def _cfg_binary(tmp: Path) -> Path:
    p = tmp / "bin.cfg"
    p.write_bytes(b"\xff\xfe\x00garbage\x80")
    return p


def _cfg_no_net(tmp: Path) -> Path:
    p = tmp / "nonet.cfg"
    p.write_text("[convolutional]\nfilters=3\n")
    return p


def _cfg_truncated(tmp: Path) -> Path:
    text = (FIX / "yolov3.cfg").read_text()
    p = tmp / "trunc.cfg"
    p.write_text(text[: text.index("[route]") + 17])  # cut inside a route's layer list
    return p


def _cfg_unknown(tmp: Path) -> Path:
    p = tmp / "unknown.cfg"
    p.write_text("[net]\nwidth=8\nheight=8\nchannels=3\n[local]\n[local]\n[gru]\n")
    return p


def _cfg_bad_ref(tmp: Path) -> Path:
    p = tmp / "ref.cfg"
    p.write_text("[net]\nwidth=8\nheight=8\nchannels=3\n[shortcut]\nfrom=-5\n")
    return p


def _onnx_truncated(tmp: Path) -> Path:
    data = (FIX / "tiny_cnn.onnx").read_bytes()
    p = tmp / "trunc.onnx"
    p.write_bytes(data[: len(data) // 2])
    return p


def _onnx_garbage(tmp: Path) -> Path:
    p = tmp / "garbage.onnx"
    p.write_bytes(bytes(range(256)) * 8)
    return p


def _onnx_empty(tmp: Path) -> Path:
    p = tmp / "empty.onnx"
    p.write_bytes(b"")
    return p


def _onnx_dynamic(tmp: Path) -> Path:
    onnx = pytest.importorskip("onnx", reason="the ONNX reader needs onnx")
    from onnx import TensorProto, helper

    vi = helper.make_tensor_value_info
    g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "d",
        [vi("x", TensorProto.FLOAT, ["N", 3, "H", "W"])], [vi("y", TensorProto.FLOAT, None)],
    )  # fmt: skip
    p = tmp / "dyn.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), p)
    return p


def _onnx_unknown(tmp: Path) -> Path:
    onnx = pytest.importorskip("onnx", reason="the ONNX reader needs onnx")
    from onnx import TensorProto, helper

    vi = helper.make_tensor_value_info
    nodes = [helper.make_node("Hardmax", ["x"], ["a"], name="h1"),
             helper.make_node("Hardmax", ["a"], ["b"], name="h2"),
             helper.make_node("Shrink", ["b"], ["y"], name="s")]  # fmt: skip
    g = helper.make_graph(nodes, "u", [vi("x", TensorProto.FLOAT, [1, 4])],
                          [vi("y", TensorProto.FLOAT, [1, 4])])  # fmt: skip
    p = tmp / "unknown.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), p)
    return p


def _ultra(tmp: Path, old: str, new: str) -> Path:
    p = tmp / "yolov8n.yaml"
    p.write_text((FIX / "yolov8.yaml").read_text().replace(old, new))
    return p


def _ultra_code(tmp: Path) -> Path:
    return _ultra(tmp, "[nc]", "[__import__('os').system('touch /tmp/cnncalc_pwned')]")


def _ultra_bad_from(tmp: Path) -> Path:
    return _ultra(tmp, "[[15, 18, 21], 1, Detect", "[[15, 18, 99], 1, Detect")


def _ultra_unknown(tmp: Path) -> Path:
    return _ultra(tmp, "SPPF, [1024, 5]", "SPP, [1024, [5, 9, 13]]")


def _ultra_python_tag(tmp: Path) -> Path:
    return _ultra(tmp, "nc: 80", "nc: !!python/object/apply:os.system ['touch /tmp/cnncalc_pwned']")


def _cfg_bad_group(tmp: Path) -> Path:
    p = tmp / "group.cfg"
    p.write_text(
        "[net]\nwidth=8\nheight=8\nchannels=3\n[maxpool]\nsize=1\n[route]\nlayers=-1\ngroups=2\ngroup_id=5\n"
    )
    return p


CASES = {
    # name: (make file, fragments the one line must contain)
    "keras_truncated": (_keras_truncated, ["not valid JSON"]),
    "keras_not_a_model": (_keras_not_a_model, ["expected a Keras model"]),
    "keras_deep_nesting": (_keras_deep, ["not valid JSON"]),
    "keras_archive_corrupt": (_keras_archive_corrupt, ["not a readable .keras archive"]),
    "keras_archive_bomb": (_keras_archive_bomb, ["config.json is 83,886,080 bytes"]),
    "keras_archive_no_config": (_keras_archive_no_config, ["no config.json"]),
    "keras_lambda": (_keras_lambda, ["Lambda", "never run", "scale"]),
    "keras_dynamic": (_keras_dynamic, ["unknown size", "--input"]),
    "pickle_pt": (_pickle, ["never unpickled", "ONNX"]),
    "pickle_pth": (_pth, ["never unpickled", "ONNX"]),
    "cfg_binary": (_cfg_binary, ["not UTF-8"]),
    "cfg_no_net": (_cfg_no_net, ["starts with a [net] section"]),
    "cfg_truncated": (_cfg_truncated, ["route"]),
    "cfg_unknown_sections": (_cfg_unknown, ["2 unsupported darknet section", "[local] ×2"]),
    "cfg_bad_reference": (_cfg_bad_ref, ["refers to layer -5"]),
    "cfg_bad_group_id": (_cfg_bad_group, ["group_id=5 is not in 0…1"]),
    "onnx_truncated": (_onnx_truncated, ["ONNX"]),
    "onnx_garbage": (_onnx_garbage, ["ONNX"]),
    "onnx_empty": (_onnx_empty, ["empty"]),
    "onnx_dynamic": (_onnx_dynamic, ["symbolic sizes", "--input"]),
    "onnx_unknown_ops": (_onnx_unknown, ["2 unsupported ONNX op", "Hardmax ×2", "Shrink ×1"]),
    "ultralytics_code": (_ultra_code, ["evaluates no code"]),
    "ultralytics_bad_from": (_ultra_bad_from, ["refers to no earlier row"]),
    "ultralytics_unknown": (_ultra_unknown, ["unsupported Ultralytics module", "SPP ×1"]),
    "ultralytics_python_tag": (_ultra_python_tag, ["python"]),
}

ONNX_CASES = {k for k in CASES if k.startswith("onnx")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_model_file(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make, fragments = CASES[case]
    if case in ONNX_CASES:
        pytest.importorskip("onnx", reason="the ONNX reader needs onnx")
    path = make(tmp_path)
    code, out, err = run_main(capsys, "summary", str(path))
    msg = check_one_line(code, out, err)
    assert str(path) in msg
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"
    assert not Path("/tmp/cnncalc_pwned").exists()


FUZZ_SOURCES = ["yolov3.cfg", "mnist_cnn_keras2.json", "keras3_lambda.json", "yolov8.yaml",
                "tiny_cnn.onnx", "tiny_attention.onnx"]  # fmt: skip


@pytest.mark.parametrize("source", FUZZ_SOURCES)
def test_fuzzed_model_files(source: str, tmp_path: Path) -> None:
    """Random byte edits of every reader's fixtures: each result is a model or a one-line
    CnncalcError, never another exception (seeded, 40 mutants per file)."""
    import random

    from cnncalc import analyze
    from cnncalc.errors import CnncalcError

    if source.endswith(".onnx"):
        pytest.importorskip("onnx", reason="the ONNX reader needs onnx")
    rng = random.Random(source)
    data = (FIX / source).read_bytes()
    name = "yolov8n.yaml" if source == "yolov8.yaml" else source
    for k in range(40):
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            op = rng.random()
            i = rng.randrange(len(b))
            if op < 0.5:
                b[i] = rng.randrange(256)
            elif op < 0.75:
                del b[i : i + rng.randint(1, 16)]
            else:
                b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        path = tmp_path / f"{k}_{name}"
        path.write_bytes(bytes(b))
        try:
            analyze(str(path))
        except CnncalcError as err:
            assert "\n" not in str(err)
            assert "internal error" not in str(err)


def test_missing_extra_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the onnx package (or torch), the reader says which extra to install."""
    import sys

    from cnncalc import analyze
    from cnncalc.errors import CnncalcError

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx → ImportError
    with pytest.raises(CnncalcError, match=r'pip install "cnncalc\[onnx\]"'):
        analyze(str(FIX / "tiny_cnn.onnx"))
    monkeypatch.setitem(sys.modules, "torch", None)
    from cnncalc.importers.torch import from_torch

    with pytest.raises(CnncalcError, match=r'pip install "cnncalc\[torch\]"'):
        from_torch(object(), (3, 8, 8))
