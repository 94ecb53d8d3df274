"""Round trip over the zoo: the ONNX export read back by the ONNX importer gives the same
parameters, buffers and MACs as the spec it came from (buffers known by the export's
``doc_string`` mark).

The weights' values play no part (the importer never reads them), so the file is written
without data: the export's ``--no-weights`` form, its weight inputs turned into initializers
whose data is marked external (a file that is not there), which keeps every zoo model small
and fast here; ``test_roundtrip_with_real_weights`` does a few with their random weights.
"""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.zoo import zoo_members

onnx = pytest.importorskip("onnx", reason="the round trip needs onnx")
importer = pytest.importorskip("cnncalc.importers.onnx", reason="needs the ONNX importer")

from cnncalc.export.onnx import REFUSED, to_onnx  # noqa: E402

ZOO = [
    m.name for m in zoo_members() if not any(n.type in REFUSED for n in cnncalc.build(m.name).nodes)
]


def _weights_external(model):
    """Weight inputs (no symbolic batch axis) → initializers whose data lives elsewhere."""
    graph = model.graph
    keep = []
    for i in graph.input:
        dims = i.type.tensor_type.shape.dim
        if any(d.dim_param for d in dims):
            keep.append(i)
            continue
        tt = i.type.tensor_type
        t = onnx.TensorProto(name=i.name, data_type=tt.elem_type, doc_string=i.doc_string)
        t.dims.extend(d.dim_value for d in dims)
        t.data_location = onnx.TensorProto.EXTERNAL
        t.external_data.add(key="location", value="weights.bin")
        graph.initializer.append(t)
    del graph.input[:]
    graph.input.extend(keep)
    return model


def _totals(report):
    t = report.totals
    return t.params, t.buffers, t.macs


def test_zoo_exclusions_are_the_refused_types():
    """Every zoo model is round-tripped but those using a type ONNX refuses (by name)."""
    left_out = {m.name for m in zoo_members()} - set(ZOO)
    rcnn = {"fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_mobilenet_v3_large_320_fpn",
            "fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2", "keypointrcnn_resnet50_fpn",
            "maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2"}  # fmt: skip
    assert left_out == rcnn
    assert set(REFUSED) == {"roi_align"}


@pytest.mark.parametrize("name", ZOO)
def test_zoo_roundtrip_through_the_onnx_importer(name, tmp_path):
    graph = cnncalc.build(name)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(_weights_external(to_onnx(graph, weights=False)).SerializeToString())
    # both in the PyTorch convention (BN statistics are buffers), whatever the spec's own
    report = cnncalc.analyze(graph, convention="pytorch")
    params, buffers, macs = _totals(cnncalc.analyze(importer.read_file(path), convention="pytorch"))
    # ONNX has no train-only notion: auxiliary heads run, and their MACs count, after import
    train_only = sum(r.macs for r in report.rows if r.train_only)
    want_params, want_buffers, want_macs = _totals(report)
    if name == "efficientnet_b0_keras":
        # Keras's Normalization declares a sample count (1 buffer) its computation never
        # reads: no node uses it, and the importer counts what the graph uses
        want_buffers -= 1
    assert (params, buffers, macs) == (want_params, want_buffers, want_macs + train_only)


@pytest.mark.parametrize("name", ["lenet5", "resnet18", "googlenet", "efficientnet_b0"])
def test_roundtrip_with_real_weights(name, tmp_path):
    graph = cnncalc.build(name)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(to_onnx(graph, seed=1).SerializeToString())
    assert _totals(cnncalc.analyze(importer.read_file(path))) == _totals(cnncalc.analyze(graph))
