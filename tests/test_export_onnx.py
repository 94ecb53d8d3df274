"""The ONNX export: onnx.checker accepts every zoo export, the initializers hold exactly the
analyzer's parameters and buffers, and onnxruntime runs it with every layer's shape equal."""

from __future__ import annotations

import math

import pytest

import cnncalc
from cnncalc.errors import CnncalcError
from cnncalc.zoo import zoo_members

from .conftest import run_cli

onnx = pytest.importorskip("onnx", reason="the ONNX export's tests need onnx")

from cnncalc.export.onnx import (  # noqa: E402
    OPSET,
    REFUSED,  # noqa: E402
    to_onnx,
    weight_count,
)

#: zoo models using a type with no ONNX form (roi_align: the R-CNNs)
EXPORTABLE = [
    m.name for m in zoo_members() if not any(n.type in REFUSED for n in cnncalc.build(m.name).nodes)
]


@pytest.mark.parametrize("name", EXPORTABLE)
def test_zoo_export_checks_and_holds_the_analyzers_weights(name):
    """Without weights (weight inputs of the declared shapes): checker, counts, names, shapes."""
    graph = cnncalc.build(name)
    model = to_onnx(graph, weights=False)
    onnx.checker.check_model(model, full_check=True)  # with ONNX's shape inference
    report = cnncalc.analyze(graph)
    assert weight_count(model) == report.totals.params + report.totals.buffers
    assert model.opset_import[0].version == OPSET
    out = model.graph.output[0]
    dims = [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim]
    assert dims == ["N", *graph.shape_of(graph.outputs[0])]
    # every layer's output tensor carries the layer's name
    produced = {o for n in model.graph.node for o in n.output}
    assert {n.name for n in graph.nodes} <= produced


def test_initializers_count_params_and_buffers_separately():
    """resnet18 with weights: 11,689,512 params (torchvision) and 2 × 4,800 BN statistics."""
    graph = cnncalc.build("resnet18")
    model = to_onnx(graph)
    sizes = {t.name: math.prod(t.dims) for t in model.graph.initializer}
    assert sum(sizes.values()) == 11_689_512 + 9_600
    assert sizes["conv1.weight"] == 64 * 3 * 7 * 7
    assert sizes["layer2.0.downsample.0.weight"] == 128 * 64 * 1 * 1
    assert sizes["fc.bias"] == 1000
    running = sum(v for k, v in sizes.items() if k.endswith(("running_mean", "running_var")))
    # BN channels: bn1 64; 2 BNs per basic block, 2 blocks per stage; 3 downsample BNs
    channels = 64 + 2 * 2 * (64 + 128 + 256 + 512) + (128 + 256 + 512)
    assert running == 2 * channels == 9_600


def test_refused_types_are_listed_all_at_once():
    with pytest.raises(CnncalcError) as exc:
        to_onnx(cnncalc.build("maskrcnn_resnet50_fpn"), weights=False)
    msg = str(exc.value)
    assert "cannot export maskrcnn_resnet50_fpn to ONNX: roi_align" in msg
    assert "box_roi_pool" in msg and "mask_roi_pool" in msg


def test_cli_writes_a_file_onnx_loads(tmp_path):
    out = tmp_path / "lenet5.onnx"
    p = run_cli("export", "lenet5", "--to", "onnx", "-o", str(out))
    assert p.returncode == 0, p.stderr
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert weight_count(model) == 61_706  # LeNet-5 as usually taught (README)
    p = run_cli("export", "lenet5", "--to", "onnx", "-o", str(out), "--no-weights")
    assert p.returncode == 1 and "--force" in p.stderr


# --------------------------------------------------------------------------------------------
# onnxruntime runs it
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, shape",
    [
        ("lenet5", None),
        ("mnist_cnn", None),
        ("cae", None),
        ("unet", "1x188x188"),
        ("resnet18", "3x64x64"),
        ("googlenet_aux", "3x112x112"),
        ("inception_v3_keras", "3x299x299"),
        ("efficientnet_b0_keras", "3x64x64"),
        ("mobilenet_v2", "3x64x64"),
        ("xception", "3x96x96"),
        ("densenet121", "3x64x64"),
        ("squeezenet1_0", "3x64x64"),
        ("shufflenet_v2_x0_5", "3x64x64"),
        ("swin3d_t", "3x8x64x64"),  # 3-D windows, shrunk on T (4 < 8), padded 16 → 21
    ],
)
def test_verify_backend_onnxruntime_agrees(name, shape):
    pytest.importorskip("onnxruntime", reason="--backend onnxruntime needs onnxruntime")
    r = cnncalc.verify(name, shape, backend="onnxruntime")
    assert r.ok, [c for c in r.layers if not c.ok][:3]
    assert r.backend == "onnxruntime" and all(c.actual is not None for c in r.layers)


def test_verify_backend_onnxruntime_vit_small():
    pytest.importorskip("onnxruntime", reason="--backend onnxruntime needs onnxruntime")
    r = cnncalc.verify("vit_b_16", backend="onnxruntime", variables={"num_layers": 2}, batch=2)
    assert r.ok and len(r.layers) == 6 + 2 * 11 + 3  # stem, 2 encoder blocks, head


def test_onnxruntime_output_equals_the_numpy_backend():
    """The same seeded weights and input through onnxruntime and cnncalc's NumPy forwards."""
    pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    import numpy as np
    import onnxruntime as ort

    from cnncalc.backend.run import allocate_weights, execute, random_inputs

    for name, shape in (
        ("resnet18", (3, 64, 64)),
        ("googlenet", (3, 64, 64)),
        ("shufflenet_v2_x0_5", (3, 64, 64)),  # chunk (one Split), channel shuffle
        ("swin_t", (3, 64, 64)),  # 16×16 windows padded to 21, shifted, patch merging
    ):
        graph = cnncalc.build(name, shape)
        model = to_onnx(graph, seed=3)
        session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        feeds = random_inputs(graph, batch=2, seed=5, dtype="float32")
        (got,) = session.run(None, feeds)
        want = execute(graph, feeds, allocate_weights(graph, seed=3))[graph.outputs[0]]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_verify_cli_onnxruntime_exit_0():
    pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    p = run_cli("verify", "lenet5", "--backend", "onnxruntime", "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.splitlines()[-1].startswith(
        "verify lenet5: OK: all 12 layers agree with the analyzer"
    )


def test_large_weights_go_to_a_side_file(tmp_path, monkeypatch):
    """Weights over protobuf's 2 GiB message limit (RegNetY-128GF: 644,812,894 params, 2.6 GB)
    are written as ONNX external data beside the model; here the limit is lowered so that
    LeNet-5's 61,706 weights (246,824 bytes) pass it."""
    import numpy as np

    from cnncalc.export import onnx as export_onnx

    monkeypatch.setattr(export_onnx, "MAX_INLINE_WEIGHTS", 1000)
    graph = cnncalc.build("lenet5")
    path = tmp_path / "lenet5.onnx"
    size, side = export_onnx.save(to_onnx(graph, seed=2), path)
    assert side == tmp_path / "lenet5.onnx.data"
    # tensors of 1 KiB or more go out (float32): conv2 16·6·5·5, the three linears'
    # 120·400, 84·120, 10·84; conv1's 150 weights (600 B) and the biases stay inline
    assert side.stat().st_size == 4 * (16 * 6 * 5 * 5 + 120 * 400 + 84 * 120 + 10 * 84)
    assert path.stat().st_size < 4 * (61_706 - 61_320) + 20_000
    assert size == path.stat().st_size + side.stat().st_size
    onnx.checker.check_model(str(path), full_check=True)
    model = onnx.load(str(path))  # external data read from the model's folder
    assert weight_count(model) == 61_706
    ort = pytest.importorskip("onnxruntime", reason="runs the file")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"input": np.zeros((1, 1, 32, 32), np.float32)})
    assert y.shape == (1, 10)


def test_verify_onnxruntime_over_the_inline_limit(monkeypatch):
    """verify --backend onnxruntime on weights over the limit loads them through a file."""
    pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    from cnncalc.export import onnx as export_onnx

    monkeypatch.setattr(export_onnx, "MAX_INLINE_WEIGHTS", 1000)
    r = cnncalc.verify("lenet5", backend="onnxruntime")
    assert r.ok and len(r.layers) == 12
