"""Spec-language features of issue 11 §2 (and issue 10 items 13 and 28), one test each, with the
expected figures written as arithmetic. Each is documented with an example in specs/README.md.
"""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.errors import CnncalcError
from cnncalc.graph import build_graph
from cnncalc.spec import spec_from_text


def graph_of(text: str, **kw):
    return build_graph(spec_from_text(text, "t.yaml"), **kw)


def analyze_text(text: str, **kw):
    return cnncalc.analyze(graph_of(text, **kw))


# --- several outputs: split / chunk ------------------------------------------------------------

SHUFFLE_UNIT = """
input: [116, 28, 28]
layers:
  - chunk: {chunks: 2}          # ShuffleNetV2's x.chunk(2, dim=1)
    name: x
  - conv2d: {out_channels: 58, kernel_size: 1, bias: false}
    input: x.1
    name: branch2
  - concat:
    inputs: [x.0, branch2]
  - channel_shuffle: {groups: 2}
"""


def test_split_entry_has_one_node_per_output_named_dot_k():
    r = analyze_text(SHUFFLE_UNIT)
    names = [row.name for row in r.rows]
    assert names[:2] == ["x.0", "x.1"]
    assert r.rows[0].output_shape == (116 // 2, 28, 28)
    assert r.rows[2].inputs == ("x.1",)
    assert r.params == 58 * 58  # the 1×1 conv on the second half only
    assert r.output_shape == (116, 28, 28)


def test_split_name_alone_is_the_first_output_and_chains():
    r = analyze_text(
        """
input: [12, 4]
layers:
  - split: {sizes: [4, 8]}
    name: s
  - relu                       # chains from s.0
  - add:
    inputs: [s, relu_1]        # 's' alone = s.0
"""
    )
    assert r.rows[2].inputs == ("s.0",) and r.rows[3].inputs == ("s.0", "relu_1")
    assert r.output_shape == (4, 4)


# --- dots in names -------------------------------------------------------------------------------


def test_dotted_names_and_freeze_by_prefix():
    text = """
input: [3, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
    name: features.0
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
    name: features.1
  - global_avg_pool
  - linear: {out_features: 2}
    name: classifier.1
"""
    g = graph_of(text)
    assert [n.name for n in g.nodes][:2] == ["features.0", "features.1"]
    g.freeze("features")
    r = cnncalc.analyze(g)
    assert r.trainable_params == 4 * 2 + 2  # only classifier.1: 4·2 weights + 2 biases
    assert r.params == (3 * 9 + 1) * 4 + (4 * 9 + 1) * 4 + 4 * 2 + 2


@pytest.mark.parametrize("bad", ["a..b", ".a", "a.", "a b", "a[0]"])
def test_bad_dotted_names_are_refused(bad):
    with pytest.raises(CnncalcError, match="may not contain"):
        graph_of(f"input: [3]\nlayers:\n  - relu:\n    name: '{bad}'\n")


# --- free tensors --------------------------------------------------------------------------------


def test_parameter_and_buffer_take_no_input_and_count_exactly():
    r = analyze_text(
        """
input: [196, 768]
layers:
  - parameter: {shape: [1, 768]}          # a class token
    name: class_token
  - concat:
    inputs: [class_token, input]
  - parameter: {shape: [197, 768]}
    name: pos
  - add:
    inputs: [concat_1, pos]
  - buffer: {shape: [49, 49]}
    name: index
"""
    )
    assert r.params == 768 + 197 * 768
    assert r.buffers == 49 * 49
    assert r.rows[0].inputs == ()
    assert r.rows[1].output_shape == (197, 768)


def test_free_tensor_verifies_with_a_batch():
    pytest.importorskip("numpy")
    res = cnncalc.verify(
        graph_of(
            "input: [4, 3]\nlayers:\n  - parameter: {shape: [4, 3]}\n    name: p\n"
            "  - add:\n    inputs: [input, p]\n"
        ),
        batch=3,
    )
    assert res.ok, res


# --- share on a block invocation (issue 10 item 13) ---------------------------------------------

SHARED_BLOCK = """
input: [8]
blocks:
  fc:
    layers:
      - linear: {out_features: 8}
      - relu
layers:
  - fc:
    name: first
  - fc:
    name: second
    share: first
"""


def test_share_on_a_block_shares_every_weighted_layer():
    r = analyze_text(SHARED_BLOCK)
    assert r.params == 8 * 8 + 8  # 72: counted once
    assert r.macs == 2 * 8 * 8  # applied twice
    second = next(row for row in r.rows if row.name == "second.linear_1")
    assert second.shared_with == "first.linear_1"


def test_share_on_a_block_with_another_structure_is_refused():
    bad = SHARED_BLOCK.replace(
        "  - fc:\n    name: second", "  - linear: {out_features: 8}\n  - fc:\n    name: second"
    ).replace("share: first", "share: linear_1")
    with pytest.raises(CnncalcError, match="cannot share"):
        graph_of(bad)


def test_share_reaches_a_layer_outside_the_block():
    r = analyze_text(
        """
input: [8]
blocks:
  head:
    params: {proto: null}
    layers:
      - linear: {out_features: 8}
        share: proto
layers:
  - linear: {out_features: 8}
    name: proto
  - head: {proto: proto}
  - head: {proto: proto}
"""
    )
    assert r.params == 8 * 8 + 8
    assert r.macs == 3 * 8 * 8


# --- repeat of a multi-input block (issue 10 item 28) --------------------------------------------

TWO_INPUT = """
input: [4, 8, 8]
blocks:
  fuse:
    inputs: [x, skip]
    layers:
      - conv2d: {out_channels: 4, kernel_size: 1}
      - add:
        inputs: [conv2d_1, skip]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
    name: stem
  - fuse:
    inputs: [stem, input]
    repeat: 3
"""


def test_repeat_of_a_two_input_block_chains_the_first_input_and_keeps_the_others():
    r = analyze_text(TWO_INPUT)
    adds = [row for row in r.rows if row.type == "add"]
    assert [a.inputs for a in adds] == [
        ("fuse_1.0.conv2d_1", "input"),
        ("fuse_1.1.conv2d_1", "input"),
        ("fuse_1.2.conv2d_1", "input"),
    ]
    assert r.params == (4 * 9 * 4 + 4) + 3 * (4 * 4 + 4)


# --- resize_to, lstm in a spec ---------------------------------------------------------------------


def test_resize_to_the_image_in_a_segmentation_head():
    r = analyze_text(
        """
input: [3, 64, 48]
layers:
  - conv2d: {out_channels: 5, kernel_size: 8, stride: 8}
  - resize_to:
    inputs: [conv2d_1, input]
"""
    )
    assert r.output_shape == (5, 64, 48)
    assert r.rows[1].flops == (2 * 4 - 1) * 5 * 64 * 48
