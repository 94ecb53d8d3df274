"""Keras model configs (Keras 3 and Keras 2 JSON, .keras archives) read without Keras.

The models are written by :mod:`tests.keras_configs` from the architectures' facts; the totals
are Keras Applications' published figures (keras.io/api/applications; /work REFERENCE.md).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

import cnncalc
from cnncalc.errors import CnncalcError

from . import keras_configs

FIX = Path(__file__).resolve().parent / "fixtures" / "import"

# (builder, Keras total params, Keras trainable, torchvision's MACs of the same network or None)
APPS = {
    # ResNet50: 25,557,032 (torchvision) + 26,560 conv biases + 53,120 BN statistics
    "resnet50": (keras_configs.resnet50, 25_636_712, 25_583_592, None),
    "mobilenet_v2": (keras_configs.mobilenet_v2, 3_538_984, 3_504_872, 0.301),
    "densenet121": (keras_configs.densenet121, 8_062_504, 7_978_856, 2.834),
    "vgg16": (keras_configs.vgg16, 138_357_544, 138_357_544, 15.470),
    # EfficientNetB0: torchvision's 5,288,548 + 42,016 BN statistics + 7 of Normalization
    "efficientnet_b0": (keras_configs.efficientnet_b0, 5_330_571, 5_288_548, 0.386),
    # Xception: Keras's total and trainable; no torchvision twin
    "xception": (keras_configs.xception, 22_910_480, 22_855_952, None),
}


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("model", sorted(APPS))
def test_keras_applications_totals(model: str, version: int, tmp_path: Path) -> None:
    build, total, trainable, gmacs = APPS[model]
    path = tmp_path / f"{model}.json"
    path.write_text(build().to_json(version))
    k = cnncalc.analyze(str(path), convention="keras").totals
    assert k.params == total
    assert k.trainable_params == trainable
    p = cnncalc.analyze(str(path)).totals
    assert p.params == trainable  # PyTorch's convention: the BN statistics are buffers
    assert p.buffers == total - trainable
    if gmacs is not None:  # the same network as torchvision's: its published GFLOPS (= MACs)
        assert abs(p.macs / 1e9 - gmacs) < 0.0005


def test_resnet50_keras_macs_v1_stride_on_first_1x1(tmp_path: Path) -> None:
    """Keras's ResNet50 is v1: the stride sits on the first 1×1 of a block (torchvision's v1.5
    puts it on the 3×3), so the 3×3 convs of stages 3–5 run at the reduced size."""
    path = tmp_path / "r.json"
    path.write_text(keras_configs.resnet50().to_json())
    r = cnncalc.analyze(str(path))
    assert r.row("conv3_block1_1_conv").output_shape == (128, 28, 28)
    assert r.row("conv3_block1_2_conv").macs == 28 * 28 * 128 * 3 * 3 * 128
    assert r.output_shape == (1000,)


def test_keras2_sequential_mnist_cnn() -> None:
    """Seed 001's MNIST CNN: 243,786 parameters; 28×28×1 → … → 5×5×64 → 1600 → 128 → 10."""
    r = cnncalc.analyze(str(FIX / "mnist_cnn_keras2.json"))
    assert r.params == 243_786
    assert r.input_shape == (1, 28, 28)
    assert r.row("max_pooling2d_1").output_shape == (64, 5, 5)
    assert r.row("flatten").output_shape == (1600,)
    assert r.row("dense_relu").type == "relu"  # the layer's activation is its own row
    assert r.output_shape == (10,)


def test_keras_archive_reads_config_only(tmp_path: Path) -> None:
    """A .keras archive: config.json is read; the weights file (garbage here) is never opened."""
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        z.writestr("config.json", keras_configs.mobilenet_v2().to_json(3))
        z.writestr("model.weights.h5", b"\x00not hdf5\xff" * 10)
    assert cnncalc.analyze(str(path), convention="keras").params == 3_538_984


def test_keras_input_override_and_dynamic_input(tmp_path: Path) -> None:
    g = keras_configs.KerasGraph("fcn", (None, None, 3))
    keras_configs.conv(g, "c", 4, 3, padding="same")
    path = tmp_path / "fcn.json"
    path.write_text(g.to_json())
    with pytest.raises(CnncalcError, match=r"unknown size .*--input"):
        cnncalc.analyze(str(path))
    r = cnncalc.analyze(str(path), (3, 20, 30))
    assert r.output_shape == (4, 20, 30)
    assert r.macs == 20 * 30 * 4 * 3 * 3 * 3


def test_keras_axes_and_layers(tmp_path: Path) -> None:
    """Channels-last axes map to cnncalc's channels-first ones; depthwise/separable/transposed."""
    g = keras_configs.KerasGraph("misc", (16, 16, 8))
    a = g.add("DepthwiseConv2D", "dw", kernel_size=[3, 3], strides=[2, 2], padding="same",
              depth_multiplier=2, use_bias=False)  # fmt: skip
    b = g.add("SeparableConv2D", "sep", "input_1", filters=16, kernel_size=[3, 3], strides=[2, 2],
              padding="same", use_bias=True)  # fmt: skip
    c = g.add("Concatenate", "cat", [a, b], axis=3)
    g.add("Conv2DTranspose", "up", c, filters=4, kernel_size=[3, 3], strides=[2, 2], padding="same")
    g.add("Permute", "perm", dims=[3, 1, 2])  # (H, W, C) → (C, H, W) in Keras's axes
    path = tmp_path / "misc.json"
    path.write_text(g.to_json(2))
    r = cnncalc.analyze(str(path))
    assert r.row("dw").output_shape == (16, 8, 8)
    assert r.row("dw").params == 8 * 2 * 3 * 3
    assert r.row("sep_depthwise").params == 8 * 3 * 3
    assert r.row("sep").params == 8 * 16 + 16
    assert r.row("cat").output_shape == (32, 8, 8)
    assert r.row("up").output_shape == (4, 16, 16)  # 'same': input · stride
    assert r.row("up").macs == 8 * 8 * 32 * 4 * 3 * 3
    # Keras (H, W, C) → (C, H, W) is cnncalc's (C, H, W) → (W, C, H)
    assert r.row("perm").output_shape == (16, 4, 16)


def test_keras_shared_layer_counted_once(tmp_path: Path) -> None:
    """A layer applied twice (two inbound nodes): parameters once, MACs twice."""
    t = lambda name: {"class_name": "__keras_tensor__", "config": {"keras_history": [name, 0, 0]}}  # noqa: E731
    doc = {"class_name": "Functional", "config": {"name": "shared", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [None, 10]},
         "inbound_nodes": []},
        {"class_name": "Dense", "name": "d", "config": {"units": 10},
         "inbound_nodes": [{"args": [t("x")], "kwargs": {}},
                           {"args": [{"class_name": "__keras_tensor__",
                                      "config": {"keras_history": ["d", 0, 0]}}], "kwargs": {}}]},
    ], "input_layers": [["x", 0, 0]], "output_layers": [["d", 1, 0]]}}  # fmt: skip
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    r = cnncalc.analyze(str(path))
    assert r.params == 10 * 10 + 10
    assert r.macs == 2 * 10 * 10


def test_keras_lambda_refused_then_allowed_as_identity() -> None:
    path = FIX / "keras3_lambda.json"
    with pytest.raises(CnncalcError) as exc:
        cnncalc.analyze(str(path))
    msg = str(exc.value)
    assert "Lambda" in msg and "scale" in msg and "never run" in msg
    assert "--lambda-as-identity" in msg
    from cnncalc.importers import read_model

    spec = read_model(path, lambda_as_identity=True)
    r = cnncalc.analyze(spec)
    assert r.row("scale").type == "identity"
    assert any("Lambda" in c and "scale" in c for c in r.meta["caveats"])
    assert r.params == 3 * 3 * 3 * 8 + 8


def test_keras_unknown_layers_listed_at_once(tmp_path: Path) -> None:
    g = keras_configs.KerasGraph("odd", (8, 8, 3))
    g.add("PReLU", "p1")
    g.add("PReLU", "p2")
    g.add("Embedding", "e")
    path = tmp_path / "odd.json"
    path.write_text(g.to_json())
    with pytest.raises(CnncalcError) as exc:
        cnncalc.analyze(str(path))
    msg = str(exc.value)
    assert "2 unsupported Keras layer type(s) in 3 place(s)" in msg
    assert "PReLU ×2 (first: p1)" in msg and "Embedding ×1" in msg


def test_keras_nested_model_inlined(tmp_path: Path) -> None:
    """A Functional model used as a layer of a Sequential: its layers inlined, prefixed."""
    inner = keras_configs.KerasGraph("base", (32, 32, 3))
    keras_configs.conv(inner, "c1", 8, 3, padding="same")
    inner.add("GlobalAveragePooling2D", "gap")
    outer = {"class_name": "Sequential", "config": {"name": "outer", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 32, 32, 3]}},
        inner.to_dict(2),
        {"class_name": "Dense", "config": {"name": "head", "units": 4}},
    ]}}  # fmt: skip
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(outer))
    r = cnncalc.analyze(str(path))
    assert [row.name for row in r.rows] == ["base/c1", "base/gap", "head"]
    assert r.params == (8 * 3 * 3 * 3 + 8) + (8 * 4 + 4)


def test_lambda_error_in_terminal() -> None:
    """What a person sees: exit 1 and one error line naming the Lambda layer."""
    from .import_helpers import run_tty

    code, text = run_tty("summary", str(FIX / "keras3_lambda.json"))
    assert code == 1
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Lambda (Python code, never run) ×1 (first: scale)" in lines[0]
