"""ONNX models read with the onnx package only (no torch, no onnxruntime, no weight data).

Three layers of checks: tiny files written with onnx.helper (committed, run wherever ``onnx``
is installed), small PyTorch modules exported at test time (where torch is installed), and
torchvision's models against its published figures (only where torchvision is installed: a
dev environment, see docs/importers.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc
from cnncalc.errors import CnncalcError

onnx = pytest.importorskip("onnx", reason="the ONNX reader needs the onnx package")

FIX = Path(__file__).resolve().parent / "fixtures" / "import"


def test_tiny_cnn_counts() -> None:
    """tiny_cnn.onnx (see make_onnx_fixtures.py): a shared initializer counted once, BN's mean
    and variance as buffers, Clip(0, 6) as ReLU6, the Shape→Gather→Concat→Reshape flatten."""
    r = cnncalc.analyze(str(FIX / "tiny_cnn.onnx"))
    conv1 = 8 * 3 * 3 * 3 + 8
    bn = 2 * 8
    w2 = 8 * 8 * 3 * 3  # used by conv2 and conv3: counted once
    fc = 10 * 8 + 10
    assert r.params == conv1 + bn + w2 + fc
    assert r.buffers == 2 * 8
    assert r.macs == 32 * 32 * 8 * 27 + 2 * 32 * 32 * 8 * 72 + 8 * 10
    assert r.row("relu6").type == "relu6"
    assert r.row("conv3").shared_with == "conv2"
    assert r.row("flatten").output_shape == (8,)
    assert r.input_shape == (3, 32, 32)  # the symbolic batch N is fixed to 1
    assert r.output_shape == (10,)


def test_tiny_cnn_other_input_size() -> None:
    r = cnncalc.analyze(str(FIX / "tiny_cnn.onnx"), (3, 64, 48))
    assert r.row("conv1").output_shape == (8, 64, 48)
    assert r.row("conv1").macs == 64 * 48 * 8 * 27


def test_tiny_attention_decomposed() -> None:
    """tiny_attention.onnx: MatMul + Add(bias) are linear layers; the MatMul of two activations
    is a matmul (Q·Kᵀ: heads · N · N · d, A·V the same); the Div by a Constant has no weights."""
    r = cnncalc.analyze(str(FIX / "tiny_attention.onnx"))
    n, d, heads = 5, 8, 2
    assert r.params == 2 * (d * d + d)  # Wq, bq, Wk, bk: the reused q projection counted once
    proj = 2 * n * d * d
    scores = heads * n * n * (d // heads)
    assert r.row("qk").macs == scores
    assert r.row("av").macs == scores
    assert r.macs == proj + 2 * scores
    assert r.row("q_matmul").type == "linear"
    assert r.row("softmax").output_shape == (heads, n, n)
    assert r.output_shape == (n, d)


def test_weights_are_not_read(tmp_path: Path) -> None:
    """A 4 MB initializer's data is left out: the reader sees its dims only (the file is
    parsed from a copy without large tensors' data; see cnncalc/importers/_protobuf.py)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from cnncalc.importers._protobuf import strip_weights

    w = numpy_helper.from_array(np.ones((1000, 1000), np.float32), "W")
    node = helper.make_node("MatMul", ["x", "W"], ["y"], name="fc")
    g = helper.make_graph(
        [node], "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1000])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1000])], [w],
    )  # fmt: skip
    path = tmp_path / "big.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    assert path.stat().st_size > 4_000_000
    assert len(strip_weights(path)) < 1_000
    r = cnncalc.analyze(str(path))
    assert r.params == 1000 * 1000
    assert r.macs == 1000 * 1000


def test_symbolic_size_needs_input(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    g = helper.make_graph(
        [node], "dyn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, "H", "W"])],
    )  # fmt: skip
    path = tmp_path / "dyn.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    with pytest.raises(CnncalcError, match=r"symbolic sizes .*H, W.*--input"):
        cnncalc.analyze(str(path))
    assert cnncalc.analyze(str(path), (3, 20, 10)).output_shape == (3, 20, 10)


def test_unknown_ops_listed_at_once(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="ok"),
        helper.make_node("Softsign", ["a"], ["b"], name="ss1"),
        helper.make_node("Softsign", ["b"], ["c"], name="ss2"),
        helper.make_node("Hardmax", ["c"], ["y"], name="hm"),
    ]
    vi = helper.make_tensor_value_info
    g = helper.make_graph(nodes, "u", [vi("x", TensorProto.FLOAT, [1, 4])],
                          [vi("y", TensorProto.FLOAT, [1, 4])])  # fmt: skip
    path = tmp_path / "u.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    with pytest.raises(CnncalcError) as exc:
        cnncalc.analyze(str(path))
    msg = str(exc.value)
    assert "2 unsupported ONNX op type(s) in 3 place(s)" in msg
    assert "Softsign ×2 (first: ss1)" in msg and "Hardmax ×1 (first: hm)" in msg


# --- PyTorch modules exported at test time -------------------------------------------------


def _export(module, x, path: Path, **kw) -> None:
    torch = pytest.importorskip("torch", reason="exporting test models needs torch")
    module.eval()  # no torch.no_grad(): it would select attention's fused fast path,
    # which the TorchScript exporter cannot write
    torch.onnx.export(module, x, str(path), dynamo=False, opset_version=17,
                      input_names=["x"], dynamic_axes={"x": {0: "batch"}}, **kw)  # fmt: skip


def test_torch_cnn_bn_kept_and_folded(tmp_path: Path) -> None:
    """With BN kept (training-mode export) params and buffers equal the module's; folded
    (the default eval export) each BN's 2·C params go and its conv gains a bias of C."""
    torch = pytest.importorskip("torch", reason="exporting test models needs torch")
    nn = torch.nn

    def make() -> nn.Module:
        torch.manual_seed(0)
        m = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),
            nn.Conv2d(16, 16, 3, 1, 1, groups=16, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 7),
        )  # fmt: skip
        for mod in m.modules():  # distinct values: the exporter does not merge them
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_()
                mod.running_var.uniform_(1, 2)
                mod.weight.data.uniform_()
                mod.bias.data.uniform_()
        return m

    m = make()
    x = torch.randn(1, 3, 32, 32)
    params = sum(p.numel() for p in m.parameters())
    buffers = sum(b.numel() for n, b in m.named_buffers() if not n.endswith("num_batches_tracked"))
    kept = tmp_path / "kept.onnx"
    _export(m, x, kept, training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)
    r = cnncalc.analyze(str(kept))
    assert (r.params, r.buffers) == (params, buffers)
    # names: the module paths of torch's exporter scopes (/1/BatchNormalization → 1)
    assert r.row("1").type == "batchnorm2d" and r.row("8").type == "linear"
    macs = 16 * 16 * 16 * 3 * 9 + 16 * 16 * 16 * 9 + 16 * 7
    assert r.macs == macs
    folded = tmp_path / "folded.onnx"
    _export(make(), x, folded)
    r = cnncalc.analyze(str(folded))
    bn_channels = 16 + 16
    assert r.params == params - 2 * bn_channels + bn_channels
    assert r.buffers == 0
    assert r.macs == macs


# --- torchvision (a dev environment: docs/importers.md says how to run these) -------------


def _torchvision():
    pytest.importorskip("torch", reason="needs torch")
    return pytest.importorskip("torchvision", reason="torchvision checks run in a dev environment")


# builder: (published params, published GFLOPS = MACs in G), torchvision's docs table
TORCHVISION = {
    "resnet18": (11_689_512, 1.814),
    "mobilenet_v2": (3_504_872, 0.301),
}


def test_torchvision_vit_b_16_decomposed_attention(tmp_path: Path) -> None:
    """ViT-B/16 exported (nn.MultiheadAttention decomposed into MatMul/Reshape/Transpose/
    Softmax, GELU into Div/Erf/Add/Mul): 86,567,656 params and 17.564 GMACs, as published."""
    tv = _torchvision()
    import torch

    path = tmp_path / "vit.onnx"
    _export(tv.models.vit_b_16(), torch.randn(1, 3, 224, 224), path)
    r = cnncalc.analyze(str(path))
    assert r.params == 86_567_656
    assert r.buffers == 0
    assert round(r.macs / 1e9, 3) == 17.564


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_bn_kept_and_folded(name: str, tmp_path: Path) -> None:
    tv = _torchvision()
    import torch

    published, gmacs = TORCHVISION[name]
    m = getattr(tv.models, name)()
    bn_channels = sum(b.num_features for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d))
    x = torch.randn(1, 3, 224, 224)
    kept = tmp_path / "kept.onnx"
    _export(m, x, kept, training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)
    r = cnncalc.analyze(str(kept))
    assert r.params == published
    assert r.buffers == 2 * bn_channels
    assert round(r.macs / 1e9, 3) == gmacs
    folded = tmp_path / "folded.onnx"
    _export(getattr(tv.models, name)(), x, folded)
    r = cnncalc.analyze(str(folded))
    # folding: BN's γ, β (2·C) go, the conv before it gains a bias (C); no buffers
    assert r.params == published - 2 * bn_channels + bn_channels
    assert r.buffers == 0
    assert round(r.macs / 1e9, 3) == gmacs


def test_torch_attention_export_decomposed(tmp_path: Path) -> None:
    """nn.MultiheadAttention exported by torch: the reader finds the projections (linear) and
    the two token-by-token products (matmul): MACs = 4·N·D² + 2·N²·D."""
    torch = pytest.importorskip("torch", reason="exporting test models needs torch")

    class SelfAttention(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mha = torch.nn.MultiheadAttention(16, 2, batch_first=True)

        def forward(self, x):
            return self.mha(x, x, x, need_weights=False)[0]

    m = SelfAttention()
    n, d = 5, 16
    path = tmp_path / "mha.onnx"
    _export(m, torch.randn(1, n, d), path)
    r = cnncalc.analyze(str(path))
    assert r.params == sum(p.numel() for p in m.parameters()) == 4 * d * d + 4 * d
    assert r.macs == 4 * n * d * d + 2 * n * n * d
    assert r.output_shape == (n, d)


def _one_node_model(node, x_shape, y_shape, inits=()):
    h = onnx.helper
    graph = h.make_graph(
        [node, h.make_node("Relu", [node.output[0]], ["out"])],
        "one",
        [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", *x_shape])],
        [h.make_tensor_value_info("out", onnx.TensorProto.FLOAT, None)],
        list(inits),
    )
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 21)])


def _spec_entry(spec, type_name):
    return next(e[type_name] for e in spec["layers"] if type_name in e)


def test_lrn_arguments_carry_over(tmp_path: Path) -> None:
    """AlexNet's LRN (Krizhevsky et al. 2012: k = 2, n = 5, α = 10⁻⁴, β = 0.75). ONNX's LRN
    divides alpha by size, as PyTorch's LocalResponseNorm and cnncalc's do, so the arguments
    are the same numbers; onnxruntime's output equals cnncalc's NumPy forward of the import."""
    pytest.importorskip("onnxruntime", reason="compares with onnxruntime")
    import numpy as np
    import onnxruntime as ort

    from cnncalc.backend.run import allocate_weights, execute
    from cnncalc.importers.onnx import read

    node = onnx.helper.make_node(
        "LRN", ["x"], ["lrn"], size=5, alpha=1e-4, beta=0.75, bias=2.0, name="lrn"
    )
    model = _one_node_model(node, (8, 6, 6), (8, 6, 6))
    data = model.SerializeToString()  # read() fixes the batch of the model it is given
    spec = read(model, "lrn.onnx")
    assert _spec_entry(spec, "local_response_norm") == {
        "size": 5,
        "alpha": pytest.approx(1e-4),
        "beta": 0.75,
        "k": 2.0,
    }
    x = np.random.default_rng(0).standard_normal((2, 8, 6, 6)).astype(np.float32) * 30
    (want,) = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    graph = cnncalc.build(spec)
    got = execute(graph, {"input": x}, allocate_weights(graph))[graph.outputs[0]]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_group_norm_reads_with_its_groups(tmp_path: Path) -> None:
    """GroupNormalization-21 (per-channel scale and bias): onnx's shape inference leaves its
    output untyped (onnx issue #7157), the importer types it; 32 channels in 8 groups: 2·32
    params, 0 MACs."""
    import numpy as np
    from onnx import numpy_helper

    from cnncalc.importers.onnx import read

    inits = [
        numpy_helper.from_array(np.ones(32, np.float32), "gn.weight"),
        numpy_helper.from_array(np.zeros(32, np.float32), "gn.bias"),
    ]
    node = onnx.helper.make_node(
        "GroupNormalization", ["x", "gn.weight", "gn.bias"], ["gn"], num_groups=8, name="gn"
    )
    spec = read(_one_node_model(node, (32, 5, 5), (32, 5, 5), inits), "gn.onnx")
    assert _spec_entry(spec, "groupnorm") == {"num_groups": 8, "eps": pytest.approx(1e-5)}
    r = cnncalc.analyze(spec)
    assert (r.params, r.buffers, r.macs) == (2 * 32, 0, 0)
    assert r.output_shape == (32, 5, 5)


def test_lstm_reads_as_one_layer() -> None:
    """ONNX LSTM, bidirectional, hidden 4, input 3, 6 steps: W (2, 16, 3), R (2, 16, 4),
    B (2, 32) → cnncalc's lstm: 2·(16·3 + 16·4 + 32) = 288 params, MACs 6 steps · 2
    directions · 16·(3 + 4) = 1,344."""
    import numpy as np
    from onnx import numpy_helper

    from cnncalc.importers.onnx import read

    h = onnx.helper
    inits = [
        numpy_helper.from_array(np.zeros(s, np.float32), n)
        for n, s in (("W", (2, 16, 3)), ("R", (2, 16, 4)), ("B", (2, 32)))
    ]
    nodes = [
        h.make_node("Transpose", ["x"], ["seq"], perm=[1, 0, 2]),
        h.make_node(
            "LSTM",
            ["seq", "W", "R", "B"],
            ["y"],
            hidden_size=4,
            direction="bidirectional",
            name="lstm",
        ),  # fmt: skip
    ]
    graph = h.make_graph(
        nodes,
        "l",
        [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 6, 3])],
        [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        inits,
    )
    spec = read(h.make_model(graph, opset_imports=[h.make_opsetid("", 21)]), "l.onnx")
    assert _spec_entry(spec, "lstm") == {"hidden_size": 4, "bias": True, "bidirectional": True}
    r = cnncalc.analyze(spec)
    assert (r.params, r.buffers, r.macs) == (2 * (16 * 3 + 16 * 4 + 32), 0, 6 * 2 * 16 * (3 + 4))


# --- L2 normalisation and gather by index ----------------------------------------------------


def _l2_graph(tmp_path: Path, nodes: list, inits: list | None = None) -> Path:
    """x (1, 8, 5, 5) → nodes → y, opset 21 (ReduceL2's axes an input)."""
    from onnx import TensorProto, helper

    vi = helper.make_tensor_value_info
    g = helper.make_graph(nodes, "l2", [vi("x", TensorProto.FLOAT, ["N", 8, 5, 5])],
                          [vi("y", TensorProto.FLOAT, ["N", 8, 5, 5])], inits or [])  # fmt: skip
    path = tmp_path / "l2.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)]), path)
    return path


def _const(name: str, value, dtype) -> object:
    import numpy as np
    from onnx import helper, numpy_helper

    arr = np.asarray(value, dtype=dtype)
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(arr, name))


@pytest.mark.parametrize("clamp", ["Max", "Clip", "Clip+Expand"])
def test_reduce_l2_divide_is_one_l2_normalize(clamp: str, tmp_path: Path) -> None:
    """x / max(ReduceL2(x), ε) (cnncalc's export), and x / Clip(ReduceL2(x), ε) with an
    Expand (PyTorch's F.normalize): one l2_normalize layer over the channels, ε read back;
    3 FLOPs per element, no MACs, no weights."""
    from onnx import helper

    eps = 1e-12 if clamp == "Max" else 1e-6
    nodes = [_const("axes", [1], "int64"), _const("eps", eps, "float32"),
             helper.make_node("ReduceL2", ["x", "axes"], ["n"], keepdims=1)]  # fmt: skip
    if clamp == "Max":
        nodes.append(helper.make_node("Max", ["n", "eps"], ["m"]))
    else:
        nodes.append(helper.make_node("Clip", ["n", "eps", ""], ["m"]))
    if clamp.endswith("Expand"):
        nodes += [helper.make_node("Shape", ["x"], ["s"]),
                  helper.make_node("Expand", ["m", "s"], ["e"])]  # fmt: skip
        nodes.append(helper.make_node("Div", ["x", "e"], ["y"]))
    else:
        nodes.append(helper.make_node("Div", ["x", "m"], ["y"]))
    r = cnncalc.analyze(str(_l2_graph(tmp_path, nodes)))
    (row,) = [x for x in r.rows if x.type != "constant"]
    assert row.type == "l2_normalize" and row.output_shape == (8, 5, 5)
    layer = cnncalc.build(str(tmp_path / "l2.onnx")).by_name[row.name].layer
    assert layer.args["axis"] == 0 and layer.args["eps"] == pytest.approx(eps)
    assert (r.params, r.macs, row.flops) == (0, 0, 3 * 8 * 5 * 5)


def test_lp_normalization_and_a_lone_reduce_l2(tmp_path: Path) -> None:
    """LpNormalization p=2 is l2_normalize (ε 0: ONNX's op has none); a ReduceL2 whose result
    is not the divisor of its own input has no cnncalc layer and is reported by name."""
    from onnx import helper

    r = cnncalc.analyze(str(_l2_graph(tmp_path, [
        helper.make_node("LpNormalization", ["x"], ["y"], axis=1, p=2)])))  # fmt: skip
    (row,) = r.rows
    graph = cnncalc.build(str(tmp_path / "l2.onnx"))
    assert row.type == "l2_normalize" and graph.by_name[row.name].layer.args["eps"] == 0.0
    nodes = [_const("axes", [1], "int64"),
             helper.make_node("ReduceL2", ["x", "axes"], ["n"], keepdims=1),
             helper.make_node("Mul", ["x", "n"], ["y"])]  # fmt: skip
    with pytest.raises(CnncalcError, match=r"ReduceL2 \(other than x / max"):
        cnncalc.analyze(str(_l2_graph(tmp_path, nodes)))


def test_gather_at_an_index_buffer(tmp_path: Path) -> None:
    """A (6, 8) table computed from x, gathered at a (10,) int64 index buffer (the export's
    doc_string mark): cnncalc's gather, output (10, 8); the index counted as 10 buffers."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from cnncalc.export.onnx import BUFFER_DOC

    index = numpy_helper.from_array(np.arange(10, dtype=np.int64) % 6, "index")
    index.doc_string = BUFFER_DOC
    vi = helper.make_tensor_value_info
    g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["t"]), helper.make_node("Gather", ["t", "index"], ["y"])],
        "g", [vi("x", TensorProto.FLOAT, [6, 8])], [vi("y", TensorProto.FLOAT, [10, 8])], [index],
    )  # fmt: skip
    path = tmp_path / "g.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)]), path)
    r = cnncalc.analyze(str(path))
    row = next(x for x in r.rows if x.type == "gather")
    assert row.output_shape == (10, 8)
    assert (r.params, r.buffers, r.macs) == (0, 10, 0)


def test_torch_f_normalize_export_reads_as_l2_normalize(tmp_path: Path) -> None:
    """PyTorch's own ONNX export of γ·F.normalize(x) (SSD's L2Norm): one l2_normalize layer
    and the scale's C parameters, as the module has."""
    torch = pytest.importorskip("torch", reason="exporting test models needs torch")

    class L2Norm(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale_weight = torch.nn.Parameter(torch.full((16,), 20.0))

        def forward(self, x):
            return self.scale_weight.view(1, -1, 1, 1) * torch.nn.functional.normalize(x)

    path = tmp_path / "l2norm.onnx"
    _export(L2Norm(), torch.randn(1, 16, 6, 6), path)
    r = cnncalc.analyze(str(path))
    assert [x.type for x in r.rows if x.type == "l2_normalize"] == ["l2_normalize"]
    assert (r.params, r.macs) == (16, 0)
