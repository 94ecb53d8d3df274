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
#: the generic tensor ops, importer operands and attentions in forms the tables do not reach
#: (small, so the torch and ONNX forms run): shapes from the definitions
OPS = {
    "roll two axes (Swin's shift, small)": Case(
        "roll", dict(shifts=[-3, 2], axis=[0, 1]), [(7, 6, 4)], (7, 6, 4)
    ),
    "slice channels 2:7:2": Case("slice", dict(start=2, stop=7, step=2), [(8, 3, 3)], (3, 3, 3)),
    "space_to_depth channels first (TensorFlow order)": Case(
        "space_to_depth", dict(factor=2), [(3, 4, 6)], (12, 2, 3)
    ),
    "space_to_depth channels last, odd sizes padded (Swin)": Case(
        "space_to_depth",
        dict(factor=2, order="dx_dy_c", channel_axis=-1, pad=True),
        [(5, 7, 3)],
        (3, 4, 12),  # ⌈5 / 2⌉, ⌈7 / 2⌉, 4·3
    ),
    "space_to_depth channels last with time (Swin3D)": Case(
        "space_to_depth",
        dict(factor=2, order="dx_dy_c", channel_axis=-1),
        [(2, 4, 6, 3)],
        (2, 2, 3, 12),
    ),
    "resize_to nearest": Case("resize_to", dict(mode="nearest"), [(2, 3, 5), (1, 7, 8)], (2, 7, 8)),
    "resize_to bilinear align_corners": Case(
        "resize_to", dict(align_corners=True), [(2, 3, 5), (1, 7, 8)], (2, 7, 8)
    ),
    "resize_to bicubic": Case("resize_to", dict(mode="bicubic"), [(2, 4, 4), (1, 9, 7)], (2, 9, 7)),
    # Swin v1, 9×10 padded to 12×12 (3×3 windows of 4×4), shifted by 2
    "shifted_window_attention v1 padded 9×10": Case(
        "shifted_window_attention",
        dict(num_heads=2, window_size=4, shift_size=2),
        [(9, 10, 8)],
        (9, 10, 8),
    ),
    # H padded to 7 = the window: no shift along H (torchvision's rule), W shifted by 3
    "shifted_window_attention window covers H": Case(
        "shifted_window_attention",
        dict(num_heads=2, window_size=7, shift_size=3),
        [(5, 12, 8)],
        (5, 12, 8),
    ),
    "shifted_window_attention v2 unshifted 8×8": Case(
        "shifted_window_attention",
        dict(num_heads=4, window_size=4, v2=True, qkv_bias=True),
        [(8, 8, 16)],
        (8, 8, 16),
    ),
    # Swin3D: T = 2 ≤ the window 4 shrinks it (no shift), 5×7 padded to 6×9 (3×3 windows)
    "shifted_window_attention 3-D shrink": Case(
        "shifted_window_attention",
        dict(num_heads=2, window_size=[4, 3, 3], shift_size=[2, 1, 1], fit="shrink"),
        [(2, 5, 7, 8)],
        (2, 5, 7, 8),
    ),
    "relative_attention 4 groups of 3×3": Case(
        "relative_attention", dict(head_dim=4), [(4, 9, 8)], (4, 9, 8)
    ),
    # MViT v1: K and V pooled 3×3×3 stride 1×2×2, Q pooled stride 1×2×2 (2×4×4 → 2×2×2)
    "multiscale_attention v1 pooled Q, K, V": Case(
        "multiscale_attention",
        dict(
            num_heads=2,
            thw=[2, 4, 4],
            kernel_q=3,
            stride_q=[1, 2, 2],
            kernel_kv=3,
            stride_kv=[1, 2, 2],
        ),
        [(33, 8)],
        (9, 8),
    ),
    "multiscale_attention v2, class token in the residual, kv not pooled": Case(
        "multiscale_attention",
        dict(
            num_heads=2,
            thw=[2, 2, 4],
            out_features=12,
            kernel_q=3,
            residual_pool=True,
            residual_with_cls_embed=True,
            rel_pos=True,
        ),
        [(17, 6)],
        (17, 12),
    ),
    # K, V strided (q 2×4×2, k 2×2×1): the distance ratios differ from 1, and the w table (7 rows
    # from max(H, W) = 4) is resized to 2·2 − 1 = 3 rows
    "multiscale_attention v2, K and V strided, 4×2 grid": Case(
        "multiscale_attention",
        dict(
            num_heads=2,
            thw=[2, 4, 2],
            kernel_q=3,
            kernel_kv=3,
            stride_kv=[1, 2, 2],
            residual_pool=True,
            rel_pos=True,
        ),
        [(17, 8)],
        (17, 8),
    ),
    "gru bidirectional 2 layers": Case(
        "gru", dict(hidden_size=5, num_layers=2, bidirectional=True), [(4, 3)], (4, 10)
    ),
    **{
        f"elementwise {op}": Case(
            "elementwise",
            dict(op=op),
            [(3, 4, 5)] * (3 if op in ("where", "clip") else 2 if binary else 1),
            (3, 4, 5),
        )
        for op, binary in (
            *((op, True) for op in ("sub", "div", "pow", "max", "min", "mod")),
            *((op, True) for op in ("equal", "less", "greater", "where", "clip")),
            *((op, False) for op in ("neg", "abs", "reciprocal", "sqrt", "exp", "log", "erf")),
            *((op, False) for op in ("sin", "cos", "floor", "ceil", "round", "sign", "not")),
            ("cast", False),
        )
    },
    "elementwise sub broadcast (C, 1, 1)": Case(
        "elementwise", dict(op="sub"), [(3, 4, 5), (3, 1, 1)], (3, 4, 5)
    ),
    # cases the ONNX forms were first written against (tests/test_export_onnx_forms.py)
    "roll two axes, one shift 0 mod size": Case(
        "roll", dict(shifts=[-3, 8], axis=[0, 1]), [(7, 8, 5)], (7, 8, 5)
    ),
    "slice every other row of 9, from 1": Case(
        "slice",
        dict(axis=1, start=1, step=2),
        [(3, 9, 4)],
        (3, 4, 4),  # 1, 3, 5, 7
    ),
    "pixel_unshuffle 2 channels first": Case(
        "pixel_unshuffle", dict(factor=2), [(3, 6, 4)], (3 * 4, 3, 2)
    ),
    "space_to_depth 2 ONNX order": Case("space_to_depth", dict(factor=2), [(3, 4, 4)], (12, 2, 2)),
    "space_to_depth Swin patch merging, padded 5×7": Case(
        "space_to_depth",
        dict(factor=2, order="dx_dy_c", channel_axis=-1, pad=True),
        [(5, 7, 4)],
        (3, 4, 16),  # ⌈5/2⌉, ⌈7/2⌉, 4·2²
    ),
    "space_to_depth Swin3D channels last (T, H, W, C)": Case(
        "space_to_depth",
        dict(factor=2, order="dx_dy_c", channel_axis=-1),
        [(2, 4, 6, 3)],
        (2, 2, 3, 12),
    ),
    "resize_to bilinear 7×7 → 15×13": Case("resize_to", {}, [(4, 7, 7), (3, 15, 13)], (4, 15, 13)),
    "resize_to nearest ×2": Case(
        "resize_to", dict(mode="nearest"), [(2, 3, 5), (1, 6, 10)], (2, 6, 10)
    ),  # fmt: skip
    "matmul A·Bᵀ with transpose_a": Case(
        "matmul", dict(transpose_a=True), [(2, 6, 5), (2, 6, 7)], (2, 5, 7)
    ),
    "matmul vector @ matrix": Case("matmul", {}, [(6,), (6, 4)], (4,)),
    "shifted_window_attention shifted 2 heads, 8×8, window 4": Case(
        "shifted_window_attention",
        dict(num_heads=2, window_size=4, shift_size=2),
        [(8, 8, 8)],
        (8, 8, 8),
    ),
    "shifted_window_attention padded 6×9, window 4, shifted": Case(
        "shifted_window_attention",
        dict(num_heads=2, window_size=4, shift_size=2, qkv_bias=False, proj_bias=False),
        [(6, 9, 8)],
        (6, 9, 8),
    ),
    "shifted_window_attention 3-D shrunk (Swin3D rule)": Case(
        "shifted_window_attention",
        dict(num_heads=2, window_size=[4, 3, 3], shift_size=[2, 1, 1], fit="shrink"),
        [(2, 6, 6, 8)],
        (2, 6, 6, 8),
    ),
    "multiscale_attention v1: K, V pooled, 2 heads": Case(
        "multiscale_attention",
        dict(num_heads=2, thw=[2, 4, 4], kernel_kv=3, stride_kv=[1, 2, 2]),
        [(33, 8)],
        (33, 8),
    ),
    "multiscale_attention v2: Q pooled only, class token in the residual": Case(
        "multiscale_attention",
        dict(
            num_heads=2,
            thw=[2, 4, 4],
            out_features=8,
            kernel_q=3,
            stride_q=[1, 2, 2],
            residual_pool=True,
            residual_with_cls_embed=True,
            rel_pos=True,
        ),
        [(33, 4)],
        (1 + 2 * 2 * 2, 8),
    ),  # fmt: skip
    # 5×5 pooled by 2 (k 3, pad 1) → 3×3; the tables hold 2·(5 // 2) − 1 = 3 rows and are
    # resized to 2·3 − 1 = 5 (torchvision's linear interpolation)
    "multiscale_attention v2: odd grid, tables resized": Case(
        "multiscale_attention",
        dict(
            num_heads=1,
            thw=[1, 5, 5],
            kernel_q=3,
            stride_q=[1, 2, 2],
            kernel_kv=3,
            stride_kv=[1, 2, 2],
            residual_pool=True,
            rel_pos=True,
        ),
        [(26, 4)],
        (1 + 3 * 3, 4),
    ),  # fmt: skip
    "gru 2 layers bidirectional": Case(
        "gru", dict(hidden_size=6, num_layers=2, bidirectional=True), [(4, 5)], (4, 12)
    ),
    "l2_normalize channels with SSD's scale (bare parameter)": Case(
        "l2_normalize", dict(scale=True), [(6, 4, 5)], (6, 4, 5)
    ),
    "l2_normalize axis 1 with a scale, eps 1e-3 (a module)": Case(
        "l2_normalize", dict(axis=1, scale=True, eps=1e-3), [(3, 4, 5)], (3, 4, 5)
    ),
    "l2_normalize last axis": Case("l2_normalize", dict(axis=-1), [(3, 7)], (3, 7)),
    # per-sample indices (a network input), 1-D and 2-D, along the first and a middle axis
    "gather per-sample indices along axis 0": Case("gather", {}, [(6, 3), (8,)], (8, 3)),
    "gather 2-D indices along axis 1": Case(
        "gather", dict(axis=1), [(3, 5, 4), (2, 3)], (3, 2, 3, 4)
    ),
    # RoI Align (the NumPy forward's default boxes): an FPN of four levels, 64×64 image, the
    # canonical scale 16 so that the 12 boxes (sides 64/12 … 64) fall on every level
    "roi_align P2–P5 pyramid, every level used": Case(
        "roi_align",
        dict(num_rois=12, output_size=[3, 2], image_size=[64, 64], canonical_scale=16),
        [(3, 16, 16), (3, 8, 8), (3, 4, 4), (3, 2, 2)],
        (12, 3, 3, 2),
    ),
    "roi_align aligned, one map, scale 1/2, 3 samples": Case(
        "roi_align",
        dict(num_rois=4, output_size=2, sampling_ratio=3, spatial_scale=0.5, aligned=True),
        [(2, 9, 11)],
        (4, 2, 2, 2),
    ),
    # 8·32·32·(2·4)² = 524,288 gathered values per RoI: the written class pools 2²² / that = 8
    # RoIs at a time, so 20 RoIs take three chunks
    "roi_align in chunks of 8 RoIs (32×32 bins, 4×4 samples)": Case(
        "roi_align",
        dict(num_rois=20, output_size=32, sampling_ratio=4, spatial_scale=0.5),
        [(8, 40, 40)],
        (20, 8, 32, 32),
    ),
    "elementwise div broadcast (12, 5, 5) / (1,)": Case(
        "elementwise", dict(op="div"), [(12, 5, 5), (1,)], (12, 5, 5)
    ),
}
CASES = {**LAYER_CASES, **ZOO_CASES, **EXTRA, **OPS}

#: buffers that are tables computed from the layer's arguments (a relative position index, v2's
#: coordinate table): the written module computes them; the NumPy forward recomputes them too,
#: so the backend's random values for them are not loaded
DERIVED = ("relative_position_index", "relative_coords_table")

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
        if wname in DERIVED:
            continue
        key = f"layer.{wname}"
        if key not in state and "layer" in state:  # a bare parameter (class token, layer scale)
            key = "layer"
        elif (
            key not in state
        ):  # attention's out_proj_weight: nn.MultiheadAttention's out_proj.weight
            key = f"layer.{wname.replace('out_proj_', 'out_proj.')}"
        loaded[key] = torch.from_numpy(np.ascontiguousarray(arr)).reshape(state[key].shape)
    model.load_state_dict({**state, **loaded}, strict=True)
    assert len(loaded) == len([w for w in weights.arrays["layer"] if w not in DERIVED])
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


#: gather with a free operand (batch 1): an index buffer shared by every sample (one ONNX
#: Gather), and a free table read at per-sample indices (the table expanded to the batch)
FREE_GATHER = {
    "index buffer": {
        "name": "g",
        "input": [6, 3],
        "layers": [
            {"buffer": {"shape": [10]}, "name": "index"},
            {"gather": None, "name": "layer", "inputs": ["input", "index"]},
        ],
    },
    "free table, per-sample indices": {
        "name": "g",
        "input": [2, 5],
        "layers": [
            {"parameter": {"shape": [4, 7, 3]}, "name": "table"},
            {"gather": {"axis": 1}, "name": "layer", "inputs": ["table", "input"]},
        ],
    },
}


@pytest.mark.parametrize("key", sorted(FREE_GATHER))
def test_gather_with_a_free_operand_in_both_exports(key, tmp_path):
    """Output (N, 10, 3) for the buffer's 10 indices into (6, 3); (N, 4, 2, 5, 3) for the
    (2, 5) indices into axis 1 of the (4, 7, 3) table; both forms equal the NumPy forward."""
    torch = pytest.importorskip("torch", reason="needs torch")
    ort = pytest.importorskip("onnxruntime", reason="needs onnx and onnxruntime")
    import importlib.util

    import numpy as np

    from cnncalc.backend.run import allocate_weights, execute, random_inputs
    from cnncalc.export.onnx import to_onnx
    from cnncalc.export.pytorch import to_pytorch

    graph = cnncalc.build(FREE_GATHER[key])
    out = {"index buffer": (10, 3), "free table, per-sample indices": (4, 2, 5, 3)}[key]
    assert graph.shape_of("layer") == out
    feeds = {k: v * 4 for k, v in random_inputs(graph, batch=2, seed=11).items()}
    weights = allocate_weights(graph, seed=7)
    for w in weights.arrays.get("index", {}).values():
        w[...] = np.arange(w.size) * 7 - 20  # negative and beyond the 6 rows: wrapped
    want = execute(graph, feeds, weights)["layer"]
    assert want.shape == (2, *out)
    model = to_onnx(graph, seed=7)
    for init in model.graph.initializer:  # the same index values in the ONNX file
        if init.name == "index.value":
            init.CopyFrom(
                _onnx_tensor(weights.arrays["index"]["value"], init.name, init.doc_string)
            )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, feeds)[0], want, rtol=1e-6)
    path = tmp_path / "g.py"
    path.write_text(to_pytorch(graph))
    spec = importlib.util.spec_from_file_location("g", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build().eval()
    state = {
        name: torch.from_numpy(np.ascontiguousarray(weights.arrays[name]["value"]))
        for name in ("index", "table")
        if name in weights.arrays
    }
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        got = model(torch.from_numpy(feeds["input"])).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)


def _onnx_tensor(array, name, doc):
    from onnx import numpy_helper

    t = numpy_helper.from_array(array, name)
    t.doc_string = doc
    return t
