"""The spec language: blocks, repeat, variables, variants, named inputs, when, trainable, errors."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.errors import CnncalcError
from cnncalc.expr import evaluate, make_divisible
from cnncalc.graph import build_graph
from cnncalc.spec import spec_from_text


def analyze_text(text: str, **kw):
    return cnncalc.analyze(build_graph(spec_from_text(text, "t.yaml"), **kw))


def test_minimal_sequential_spec():
    r = analyze_text(
        """
input: [3, 32, 32]
layers:
  - conv2d: {out_channels: 16, kernel_size: 3}
  - relu
  - flatten
  - linear: {out_features: 10}
"""
    )
    assert [row.name for row in r.rows] == ["conv2d_1", "relu_1", "flatten_1", "linear_1"]
    assert r.output_shape == (10,)
    assert r.params == (3 * 9 + 1) * 16 + (16 * 30 * 30 + 1) * 10


def test_variables_and_arithmetic():
    r = analyze_text(
        """
input: [3, 8, 8]
variables:
  width: 0.5
  base: 64
  c1: "int(base * width)"
  c2: make_divisible(c1 * 1.5, 8)
  num_classes: 10
layers:
  - conv2d: {out_channels: c1, kernel_size: 1}
  - conv2d: {out_channels: c2, kernel_size: 1}
  - global_avg_pool
  - linear: {out_features: num_classes}
"""
    )
    assert r.rows[0].output_shape[0] == 32
    assert r.rows[1].output_shape[0] == make_divisible(48, 8) == 48
    assert r.output_shape == (10,)


def test_set_overrides_a_variable_and_input_override():
    text = """
input: [3, 32, 32]
variables: {num_classes: 1000}
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
  - global_avg_pool
  - linear: {out_features: num_classes}
"""
    r = analyze_text(text, overrides={"num_classes": "10"}, input_shape=(3, 64, 64))
    assert r.output_shape == (10,)
    assert r.rows[0].output_shape == (4, 64, 64)
    with pytest.raises(
        CnncalcError, match="unknown variable 'num_clases'.*did you mean 'num_classes'"
    ):
        analyze_text(text, overrides={"num_clases": "10"})


BLOCKS = """
input: [16, 32, 32]
blocks:
  res:
    params: {c: null, stride: 1, project: "stride != 1 or in_channels != c"}
    layers:
      - conv2d: {out_channels: c, kernel_size: 3, stride: stride, padding: 1, bias: false}
        name: conv1
      - batchnorm2d:
        name: bn1
      - conv2d: {out_channels: c, kernel_size: 1, stride: stride, bias: false}
        name: proj
        input: input
        when: project
      - add:
        inputs: [bn1, proj]
layers:
  - res: {c: 16}
    name: stage1
    repeat: 2
  - res: {c: 32}
    name: stage2
    repeat: 3
    first: {stride: 2}
"""


def test_blocks_repeat_first_and_when():
    r = analyze_text(BLOCKS)
    names = [row.name for row in r.rows]
    # stage1: no projection (stride 1, 16 → 16); stage2.0 projects (stride 2, 16 → 32); stage2.1/2 do not
    assert "stage1.0.proj" not in names and "stage1.1.proj" not in names
    assert "stage2.0.proj" in names and "stage2.1.proj" not in names
    assert r.row("stage2.0.conv1").output_shape == (32, 16, 16)
    assert r.row("stage2.2.add_1").output_shape == (32, 16, 16)
    # the add of a block without projection takes the block input directly
    assert r.row("stage1.1.add_1").inputs == ("stage1.1.bn1", "stage1.0.add_1")
    convs = [row for row in r.rows if row.type == "conv2d"]
    expected = 2 * (16 * 16 * 9) + (32 * 16 * 9 + 32 * 16 * 1) + 2 * (32 * 32 * 9)
    assert sum(c.params for c in convs) == expected


def test_branches_concat_named_inputs():
    r = analyze_text(
        """
input: [192, 28, 28]
layers:
  - conv2d: {out_channels: 64, kernel_size: 1}
    name: b1
    input: input
  - conv2d: {out_channels: 96, kernel_size: 1}
    name: b2a
    input: input
  - conv2d: {out_channels: 128, kernel_size: 3, padding: 1}
    name: b2
  - maxpool2d: {kernel_size: 3, stride: 1, padding: 1}
    name: b3a
    input: input
  - conv2d: {out_channels: 32, kernel_size: 1}
    name: b3
  - concat:
    inputs: [b1, b2, b3]
"""
    )
    assert r.output_shape == (64 + 128 + 32, 28, 28)


def test_multiple_named_inputs_and_outputs():
    r = analyze_text(
        """
inputs:
  image: [3, 16, 16]
  mask: [1, 16, 16]
layers:
  - concat:
    inputs: [image, mask]
    name: both
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
    name: feat
  - global_avg_pool:
    name: pooled
  - linear: {out_features: 2}
    input: pooled
    name: head_a
  - linear: {out_features: 5}
    input: pooled
    name: head_b
outputs: [head_a, head_b]
"""
    )
    assert r.input_shapes == {"image": (3, 16, 16), "mask": (1, 16, 16)}
    assert r.output_shapes == {"head_a": (2,), "head_b": (5,)}
    assert r.row("feat").output_shape == (8, 16, 16)


def test_variants_select_members_and_block_by_variable():
    text = """
input: [3, 8, 8]
variables:
  kind: small
  width: 8
variants:
  a: {width: 4}
  b: {kind: big, width: 16, input: [3, 16, 16]}
default_variant: a
blocks:
  small:
    layers: [{conv2d: {out_channels: width, kernel_size: 1}}]
  big:
    layers: [{conv2d: {out_channels: width, kernel_size: 3, padding: 1}}, relu]
layers:
  - kind:
"""
    spec = spec_from_text(text)
    ra = cnncalc.analyze(build_graph(spec, "a"))
    rb = cnncalc.analyze(build_graph(spec, "b"))
    assert ra.output_shape == (4, 8, 8) and ra.params == 3 * 4 + 4
    assert rb.output_shape == (16, 16, 16) and rb.params == 3 * 9 * 16 + 16
    assert rb.name == "b"


def test_trainable_false_and_freeze():
    text = """
input: [3, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3}
    name: conv
    trainable: false
  - batchnorm2d:
    name: bn
  - flatten
  - linear: {out_features: 2}
    name: fc
"""
    r = analyze_text(text)
    conv, bn, fc = (3 * 9 + 1) * 4, 2 * 4, (4 * 36 + 1) * 2
    assert r.params == conv + bn + fc
    assert r.trainable_params == bn + fc and r.non_trainable_params == conv
    g = build_graph(spec_from_text(text))
    g.freeze("bn")
    r2 = cnncalc.analyze(g)
    assert r2.trainable_params == fc and r2.non_trainable_params == conv + bn


def test_freeze_conv_base_of_resnet():
    """Seed 000's transfer learning: freeze the conv base, train the classifier."""
    r = cnncalc.analyze("resnet18", freeze="layer4")
    assert r.trainable_params == 512 * 1000 + 1000
    assert r.params == 11_689_512


def test_train_only_branch_counts_params_not_macs():
    r = analyze_text(
        """
input: [8, 4, 4]
layers:
  - conv2d: {out_channels: 8, kernel_size: 1}
    name: trunk
  - flatten:
    input: trunk
    name: aux_flat
    train_only: true
  - linear: {out_features: 3}
    name: aux
    train_only: true
  - global_avg_pool:
    input: trunk
"""
    )
    assert r.params == 8 * 8 + 8 + (128 * 3 + 3)
    assert r.macs == 16 * 8 * 8  # the trunk conv only
    assert r.row("aux").macs == 128 * 3


def test_shared_weights_counted_once():
    r = analyze_text(
        """
input: [4, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
    name: a
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
    name: b
    share: a
"""
    )
    assert r.params == 4 * 4 * 9 + 4
    assert r.macs == 2 * (64 * 4 * 4 * 9)
    assert r.row("b").shared_with == "a"


def test_expression_sees_in_channels_and_repeat_index():
    r = analyze_text(
        """
input: [6, 8, 8]
layers:
  - conv2d: {out_channels: "in_channels * 2", kernel_size: 1}
  - conv2d: {out_channels: "8 * (i + 1)", kernel_size: 1}
    repeat: 3
    name: grow
"""
    )
    assert r.row("conv2d_1").output_shape[0] == 12
    assert [r.row(f"grow.{i}").output_shape[0] for i in range(3)] == [8, 16, 24]


def test_safe_evaluator():
    assert evaluate("max(1, floor(7 / 2)) + 2 ** 3", {}) == 11
    assert evaluate("layers[-1]", {"layers": [3, 4, 6, 3]}) == 3
    for bad in (
        "().__class__",
        "__import__('os')",
        "open('x')",
        "[[a for a in y] for x in y]",
        "lambda: 1",
    ):
        with pytest.raises(CnncalcError):
            evaluate(bad, {"y": [1]})
    with pytest.raises(CnncalcError, match="too large"):
        evaluate("9 ** 9 ** 9", {})
    with pytest.raises(CnncalcError, match="division by zero"):
        evaluate("1 // 0", {})


@pytest.mark.parametrize(
    "text, fragment, line",
    [
        (
            "input: [3, 8, 8]\nlayers:\n  - conv2: {out_channels: 4, kernel_size: 3}\n",
            "unknown layer type 'conv2'; did you mean 'conv2d'",
            3,
        ),
        (
            "input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernal_size: 3}\n",
            "did you mean 'kernel_size'",
            3,
        ),
        (
            "input: [3, 8, 8]\nlayers:\n  - relu\n  - add:\n    inputs: [relu_1, nope]\n",
            "unknown input 'nope'",
            5,
        ),
        ("input: [3, 8, 8]\nlayrs: []\n", "unknown key 'layrs'", 2),
        (
            "input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 9}\n",
            "larger than the padded input",
            3,
        ),
    ],
)
def test_errors_name_file_line_and_layer(text, fragment, line):
    with pytest.raises(CnncalcError) as exc:
        analyze_text(text)
    msg = str(exc.value)
    assert fragment in msg
    assert msg.startswith(f"t.yaml:{line}:")


def test_error_inside_repeated_block_names_instance():
    text = BLOCKS.replace("res: {c: 32}", "res: {c: 30}").replace(
        "kernel_size: 3, stride: stride", "kernel_size: 3, stride: stride, groups: 4"
    )
    with pytest.raises(CnncalcError) as exc:
        analyze_text(text)
    msg = str(exc.value)
    assert "layer 'stage1.0.conv1' (conv2d)" in msg or "layer 'stage2.0.conv1' (conv2d)" in msg
    assert "groups=4 must divide" in msg


def test_skipped_entry_acts_as_identity_for_wiring():
    """A skipped projection (conv + bn) leaves the shortcut = the block input, not the main path."""
    r = cnncalc.analyze("resnet50")
    assert r.row("layer1.1.add_1").inputs == ("layer1.1.bn3", "layer1.0.relu3")
    assert r.row("layer1.0.add_1").inputs == ("layer1.0.bn3", "layer1.0.downsample.1")


def test_skipped_two_input_entry_name_means_first_input():
    r = analyze_text(
        """
input: [4, 8, 8]
variables: {residual: false}
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
    name: conv
  - add:
    inputs: [conv, input]
    name: res
    when: residual
  - relu:
    input: res
"""
    )
    assert r.row("relu_1").inputs == ("conv",)
