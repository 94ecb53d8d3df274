"""Each ONNX form of a tensor, recurrent or attention layer, one layer at a time: onnx.checker
accepts it, onnxruntime's output equals cnncalc's NumPy forward with the same seeded weights
(``rtol=1e-4, atol=1e-5``, float32 both sides), and the ONNX importer reads the file back with
the same parameters, buffers and MACs as the layer.

The cases are those of tests/test_export_layers.py (the layer table and its extra cases: small
versions of the table's large ones, one per element-wise operation) of the types these forms
cover; both exports run on every one of them.
"""

from __future__ import annotations

import pytest

import cnncalc

from .test_export_layers import SMALL, _graph

onnx = pytest.importorskip("onnx", reason="the ONNX forms need onnx")
importer = pytest.importorskip("cnncalc.importers.onnx", reason="needs the ONNX importer")

from cnncalc.export.onnx import to_onnx  # noqa: E402

#: the types whose forms this file checks
TYPES = {
    "slice", "split", "chunk", "roll", "channel_shuffle", "pixel_unshuffle", "space_to_depth",
    "resize_to", "matmul", "parameter", "buffer", "constant", "elementwise", "lstm", "gru",
    "shifted_window_attention", "window_attention", "relative_attention", "multiscale_attention",
    "l2_normalize", "gather",
}  # fmt: skip


CASES = {k: c for k, c in SMALL.items() if c.type in TYPES}


#: cases the importer cannot read back, and what it says
IMPORTER_LACKS = {
    # a float32 → float32 Cast is the importer's pass-through (no layer): nothing to count
    "elementwise cast": "no layers",
}


@pytest.mark.parametrize("key", sorted(CASES))
def test_onnx_form_runs_and_reads_back(key, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    import numpy as np

    from cnncalc.backend.run import allocate_weights, execute, random_inputs

    case = CASES[key]
    graph = _graph(case)
    model = to_onnx(graph, seed=7)
    onnx.checker.check_model(model, full_check=True)
    batch = 2 if case.inputs else 1  # a free tensor (no input) has a batch axis of 1
    feeds = random_inputs(graph, batch=batch, seed=11, dtype="float32")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, feeds)
    want = execute(graph, feeds, allocate_weights(graph, seed=7))["layer"]
    assert got.shape == want.shape == (batch, *case.out)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # the importer reads the same counts back
    path = tmp_path / "one_layer.onnx"
    path.write_bytes(model.SerializeToString())
    if key in IMPORTER_LACKS:
        with pytest.raises(cnncalc.CnncalcError, match=IMPORTER_LACKS[key]):
            importer.read_file(path)
        return
    back = cnncalc.analyze(importer.read_file(path)).totals
    t = cnncalc.analyze(graph).totals
    assert (back.params, back.buffers, back.macs) == (t.params, t.buffers, t.macs)


def test_forms_cover_the_types():
    """Every type of TYPES has at least one case here (a new type gets one)."""
    assert TYPES <= {c.type for c in CASES.values()} | {"window_attention", "chunk", "buffer"}
    assert {"chunk", "buffer"} <= {c.type for c in CASES.values()}


def test_split_pieces_are_one_onnx_split(tmp_path):
    """An entry's pieces are written as one Split node with all of them as outputs."""
    spec = {
        "name": "pieces",
        "input": [12, 4, 4],
        "layers": [
            {"split": {"sizes": [6, 4, 2]}, "name": "s"},
            {"concat": {"axis": 0}, "inputs": ["s.2", "s.0", "s.1"], "name": "cat"},
        ],
    }
    graph = cnncalc.build(spec)
    model = to_onnx(graph, weights=False)
    splits = [n for n in model.graph.node if n.op_type == "Split"]
    assert len(splits) == 1 and list(splits[0].output) == ["s.0", "s.1", "s.2"]
    assert not any(n.op_type == "Slice" for n in model.graph.node)


def test_index_buffer_is_int64_with_its_defined_values():
    """Swin-T stage 1's relative_position_index: 49² int64 values, the offsets' table rows:
    token 0 (0, 0) against token 48 (6, 6): offset (−6, −6) → row (−6 + 6)·13 + (−6 + 6) = 0;
    token 48 against token 0: offset (6, 6) → row 12·13 + 12 = 168 = 13² − 1."""
    import numpy as np

    spec = {
        "name": "w",
        "input": [7, 7, 96],
        "layers": [{"shifted_window_attention": {"num_heads": 3}, "name": "attn"}],
    }
    model = to_onnx(cnncalc.build(spec), seed=0)
    inits = {t.name: t for t in model.graph.initializer}
    index = onnx.numpy_helper.to_array(inits["attn.relative_position_index"])
    assert index.dtype == np.int64 and index.shape == (49 * 49,)
    assert index[48] == 0 and index[48 * 49] == 168 and index.max() == 13 * 13 - 1
    assert inits["attn.relative_position_index"].doc_string.startswith("buffer")
    assert not inits["attn.relative_position_bias_table"].doc_string


def test_lstm_gate_blocks_in_onnx_order():
    """PyTorch's LSTM blocks are i, f, g, o; ONNX's W is i, o, f, c: the export's W equals the
    PyTorch weight's blocks [0, 3, 1, 2] (hidden 3, input 2: blocks of 3 rows)."""
    import numpy as np

    ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    spec = {"name": "l", "input": [1, 2], "layers": [{"lstm": {"hidden_size": 3}, "name": "l"}]}
    model = to_onnx(cnncalc.build(spec), seed=1)
    lstm = next(n for n in model.graph.node if n.op_type == "LSTM")
    # fetch W as an extra output
    model.graph.output.append(onnx.helper.make_tensor_value_info(lstm.input[1], 1, None))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    w = sess.run([lstm.input[1]], {"input": np.zeros((1, 1, 2), np.float32)})[0]
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    pt = inits["l.weight_ih_l0"]
    want = np.concatenate([pt[k * 3 : (k + 1) * 3] for k in (0, 3, 1, 2)])[None]
    np.testing.assert_array_equal(w, want)


def test_swin_v2_reads_back_its_bias_mlp_and_cosine_attention(tmp_path):
    """Swin v2 with 4×4 windows and 4 heads: the bias MLP runs on the (2·4 − 1)² = 49 rows of
    the coordinate table, Linear(2, 512) then Linear(512, 4), read back as two linear layers
    of 49·2·512 and 49·512·4 MACs; its output gathered at the 16·16 index; q and k each one
    l2_normalize over d = 16 / 4."""
    case = CASES["shifted_window_attention v2 unshifted 8×8"]
    path = tmp_path / "v2.onnx"
    path.write_bytes(to_onnx(_graph(case), seed=7).SerializeToString())
    r = cnncalc.analyze(str(path))
    macs = sorted(x.macs for x in r.rows if x.type == "linear" and x.output_shape[0] == 49)
    assert macs == [49 * 2 * 512, 49 * 512 * 4]
    (gather,) = [x for x in r.rows if x.type == "gather"]
    assert gather.output_shape == (16 * 16, 4)
    norms = [x for x in r.rows if x.type == "l2_normalize"]
    assert len(norms) == 2 and all(x.output_shape[-1] == 16 // 4 for x in norms)
