"""Every layer case of tests/test_layers.py as a one-layer network, through both exports.

ONNX: onnxruntime's output equals cnncalc's NumPy forward with the same seeded weights (the
NumPy forwards are themselves checked against torch.nn.functional in tests/test_forward.py), so
each ONNX form computes the layer, not only its shape. PyTorch: ``verify --backend torch``
agrees on the shape and the weight count.
"""

from __future__ import annotations

import math

import pytest

import cnncalc

from .conftest import Case
from .test_layers import CASES as LAYER_CASES
from .test_layers_zoo import CASES as ZOO_CASES

#: forms the layer tables do not reach: asymmetric ("same") padding, uneven adaptive windows,
#: interpolation modes, output padding (expected shapes from the definitions)
EXTRA = {
    "conv2d same stride 2 (pad 0 before, 1 after)": Case(
        "conv2d",
        dict(out_channels=4, kernel_size=3, stride=2, padding="same"),
        [(3, 8, 8)],
        (4, 4, 4),  # ⌈8 / 2⌉ = 4; total padding (4 − 1)·2 + 3 − 8 = 1, at the end
    ),
    "maxpool2d same stride 2": Case(
        "maxpool2d", dict(kernel_size=3, stride=2, padding="same"), [(3, 9, 9)], (3, 5, 5)
    ),
    "adaptive_avgpool2d uneven 14 → 4": Case(
        "adaptive_avgpool2d", dict(output_size=4), [(2, 14, 14)], (2, 4, 4)
    ),
    "adaptive_maxpool2d uneven 7 → 3": Case(
        "adaptive_maxpool2d", dict(output_size=3), [(2, 7, 7)], (2, 3, 3)
    ),
    "upsample2d bilinear ×2": Case(
        "upsample2d", dict(scale_factor=2, mode="bilinear"), [(2, 5, 5)], (2, 10, 10)
    ),
    "upsample2d bilinear align_corners to 9": Case(
        "upsample2d", dict(size=9, mode="bilinear", align_corners=True), [(2, 5, 5)], (2, 9, 9)
    ),
    "conv_transpose2d output_padding 1": Case(
        "conv_transpose2d",
        dict(out_channels=3, kernel_size=3, stride=2, padding=1, output_padding=1),
        [(4, 5, 5)],
        (3, 10, 10),  # (5 − 1)·2 − 2·1 + 3 + 1 = 10
    ),
    "zero_pad2d asymmetric": Case(
        "zero_pad2d", dict(padding=[[0, 1], [2, 0]]), [(2, 4, 4)], (2, 5, 6)
    ),
    "crop2d": Case("crop2d", dict(cropping=[[1, 0], [0, 2]]), [(2, 6, 6)], (2, 5, 4)),
    "log_softmax": Case("log_softmax", {}, [(10,)], (10,)),
    "mish": Case("mish", {}, [(3, 4, 4)], (3, 4, 4)),
    "lrn size 5": Case("lrn", dict(size=5), [(8, 4, 4)], (8, 4, 4)),
}
CASES = {**LAYER_CASES, **ZOO_CASES, **EXTRA}

#: skip cases whose tensors are large (1080×1080 convs): the forms are the same as the small ones
MAX_ELEMENTS = 300_000


def _small(case) -> bool:
    return all(math.prod(s) <= MAX_ELEMENTS for s in case.inputs) and (
        math.prod(case.out) <= MAX_ELEMENTS
    )


def _graph(case):
    names = ["input"] if len(case.inputs) == 1 else [f"x{k}" for k in range(len(case.inputs))]
    entry: dict = {case.type: dict(case.args) if case.args else None, "name": "layer"}
    if len(case.inputs) > 1:
        entry["inputs"] = names
    spec = {
        "name": "one_layer",
        "channels_last_ok": True,  # the layer table's shapes are written as they are
        "layers": [entry],
        **(
            {"input": [1]}  # a layer without inputs (parameter, buffer): a network input anyway
            if not case.inputs
            else {"input": list(case.inputs[0])}
            if len(case.inputs) == 1
            else {"inputs": {n: list(s) for n, s in zip(names, case.inputs)}}
        ),
    }
    return cnncalc.build(spec)


SMALL = {k: c for k, c in CASES.items() if _small(c)}


@pytest.mark.parametrize("key", sorted(SMALL))
def test_onnx_form_computes_the_layer(key):
    pytest.importorskip("onnxruntime", reason="needs onnx and onnxruntime")
    import numpy as np
    import onnxruntime as ort

    from cnncalc.backend.run import allocate_weights, execute, random_inputs
    from cnncalc.export.onnx import ONNX as FORMS
    from cnncalc.export.onnx import REFUSED, Unsupported, to_onnx

    case = SMALL[key]
    if case.type in REFUSED or case.type not in FORMS:  # the registry test names new types
        pytest.skip(f"{case.type} has no ONNX form: {REFUSED[case.type]}")
    graph = _graph(case)
    try:
        model = to_onnx(graph, seed=7)
    except (Unsupported, cnncalc.CnncalcError) as err:
        pytest.fail(f"{key}: {err}")
    feeds = random_inputs(graph, batch=2, seed=11, dtype="float32")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, feeds)
    want = execute(graph, feeds, allocate_weights(graph, seed=7))["layer"]
    batch = 2 if case.inputs else 1  # a free tensor (no input) has a batch axis of 1
    assert got.shape == want.shape == (batch, *case.out)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("key", sorted(SMALL))
def test_pytorch_form_computes_the_layer(key, tmp_path):
    """The written module, loaded with the NumPy backend's seeded weights, gives its output."""
    torch = pytest.importorskip("torch", reason="needs torch")
    import importlib.util

    import numpy as np

    from cnncalc.backend.run import allocate_weights, execute, random_inputs
    from cnncalc.export.pytorch import PYTORCH as FORMS
    from cnncalc.export.pytorch import REFUSED, to_pytorch

    case = SMALL[key]
    if case.type in REFUSED or case.type not in FORMS:  # the registry test names new types
        pytest.skip(f"{case.type} has no PyTorch form: {REFUSED[case.type]}")
    graph = _graph(case)
    path = tmp_path / "one_layer.py"
    path.write_text(to_pytorch(graph))
    spec = importlib.util.spec_from_file_location("one_layer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build().eval()
    weights = allocate_weights(graph, seed=7)
    state = model.state_dict()
    loaded = {}
    for wname, arr in weights.arrays["layer"].items():
        key = f"layer.{wname}"
        if key not in state and "layer" in state:  # a bare parameter (class token, layer scale)
            key = "layer"
        elif (
            key not in state
        ):  # attention's out_proj_weight: nn.MultiheadAttention's out_proj.weight
            key = f"layer.{wname.replace('out_proj_', 'out_proj.')}"
        loaded[key] = torch.from_numpy(np.ascontiguousarray(arr)).reshape(state[key].shape)
    model.load_state_dict({**state, **loaded}, strict=True)
    assert len(loaded) == len(weights.arrays["layer"])
    feeds = random_inputs(graph, batch=2, seed=11, dtype="float32")
    with torch.no_grad():
        got = model(*(torch.from_numpy(feeds[k]) for k in graph.inputs)).numpy()
    want = execute(graph, feeds, weights)["layer"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("key", sorted(SMALL))
def test_pytorch_form_has_the_layers_shape_and_weights(key):
    pytest.importorskip("torch", reason="needs torch")
    from cnncalc.export.pytorch import PYTORCH as FORMS
    from cnncalc.export.pytorch import REFUSED

    case = SMALL[key]
    if case.type in REFUSED or case.type not in FORMS:  # the registry test names new types
        pytest.skip(f"{case.type} has no PyTorch form: {REFUSED[case.type]}")
    r = cnncalc.verify(_graph(case), backend="torch", batch=2)
    assert r.ok, [c.message for c in r.layers if not c.ok]
