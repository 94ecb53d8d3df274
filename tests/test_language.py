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


# --- names per row, non-chaining repeat -----------------------------------------------------------


def test_repeat_names_per_row_from_an_expression_or_a_list():
    r = analyze_text(
        """
input: [4, 8, 8]
variables: {widths: [8, 16, 24]}
layers:
  - conv2d: {out_channels: "widths[i]", kernel_size: 1}
    repeat: 3
    names: "f'features.{i + 1}'"     # torchvision's features.1 … 3, not conv2d_1.0 … 2
  - relu:
    input: features.2
  - conv2d: {out_channels: 2, kernel_size: 1}
    input: features.3
    repeat: 2
    names: [head.a, head.b]
"""
    )
    names = [row.name for row in r.rows]
    assert names == ["features.1", "features.2", "features.3", "relu_1", "head.a", "head.b"]
    assert r.row("features.3").output_shape == (24, 8, 8)
    assert r.row("relu_1").inputs == ("features.2",)
    assert r.row("head.b").inputs == ("head.a",)  # still chained


def test_repeat_names_must_match_the_count():
    with pytest.raises(CnncalcError, match="'names' has 2 names for 3 copies"):
        graph_of("input: [3]\nlayers:\n  - relu:\n    repeat: 3\n    names: [a, b]\n")


# --- computed names and inline blocks (torchvision's flat features.N) -----------------------------

MAKE_LAYERS = """
input: [3, 32, 32]
variables:
  cfg: [8, M, 16, 16, M]                  # torchvision's make_layers list: a width, or M (pool)
  batch_norm: true
  per_conv: "3 if batch_norm else 2"      # conv, BN, ReLU
  sizes: "[1 if v == 'M' else per_conv for v in cfg]"
  at: "[sum(sizes[:k]) for k in range(len(cfg))]"
blocks:
  item:
    params: {v: null, at: null}
    inline: true                          # its layers are named where it is used
    layers:
      - maxpool2d: {kernel_size: 2}
        name: "f'features.{at}'"
        when: v == 'M'
      - conv2d: {out_channels: v, kernel_size: 3, padding: 1}
        name: "f'features.{at}'"
        when: v != 'M'
      - batchnorm2d:
        name: "f'features.{at + 1}'"
        when: v != 'M' and batch_norm
      - relu:
        when: v != 'M'
        name: "f'features.{at + per_conv - 1}'"
layers:
  - item: {v: "cfg[i]", at: "at[i]"}
    repeat: len(cfg)
  - flatten
  - linear: {out_features: 10}
    name: "f'classifier.{len(cfg) - 5}'"  # a computed name on a plain entry: classifier.0
"""


def test_inline_block_with_computed_names_numbers_flat_like_make_layers():
    r = analyze_text(MAKE_LAYERS)
    names = [row.name for row in r.rows]
    # 8 → conv 0, BN 1, ReLU 2; M → pool 3; 16 → 4, 5, 6; 16 → 7, 8, 9; M → pool 10
    assert names[:11] == [f"features.{k}" for k in range(11)]
    assert names[11:] == ["flatten_1", "classifier.0"]
    assert [r.row(f"features.{k}").type for k in (0, 1, 2, 3, 10)] == [
        "conv2d", "batchnorm2d", "relu", "maxpool2d", "maxpool2d"
    ]  # fmt: skip
    assert r.row("features.7").inputs == ("features.6",)  # one chain, as nn.Sequential runs it
    assert r.output_shape == (10,)
    convs = (3 * 8 * 9 + 8) + (8 * 16 * 9 + 16) + (16 * 16 * 9 + 16)
    assert r.params == convs + 2 * (8 + 16 + 16) + (16 * 8 * 8 * 10 + 10)
    # no instance names: nothing is grouped under item_1 (summary --depth, the export's tree)
    assert not any(n.startswith("item") for n in names)
    without_bn = analyze_text(MAKE_LAYERS.replace("batch_norm: true", "batch_norm: false"))
    assert [row.name for row in without_bn.rows][:8] == [f"features.{k}" for k in range(8)]


def test_specs_readme_inline_example_builds():
    from .conftest import SPECS

    text = (SPECS / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    example = next(b for b in blocks if "inline: true" in b)
    r = analyze_text("input: [3, 32, 32]\n" + example)
    # 64, 64, M, 128, 128, M without BN: conv/ReLU pairs at 0, 2, pool 4, pairs at 5, 7, pool 9
    assert [row.name for row in r.rows] == [f"features.{k}" for k in range(10)]
    assert [r.row(f"features.{k}").type for k in (4, 9)] == ["maxpool2d", "maxpool2d"]
    assert r.output_shape == (128, 8, 8)


def test_inline_block_names_must_differ_between_its_uses():
    text = MAKE_LAYERS.replace('at: "at[i]"', "at: 0")
    with pytest.raises(CnncalcError, match="duplicate layer name 'features.0'"):
        graph_of(text)


def test_computed_name_must_give_a_name():
    bad = "input: [3]\nlayers:\n  - relu:\n    name: \"f'a b{1}'\"\n"
    with pytest.raises(CnncalcError, match="not a layer name"):
        graph_of(bad)


ASPP = """
input: [2048, 28, 28]
variables: {rates: [12, 24, 36]}
layers:
  - conv2d: {out_channels: 256, kernel_size: 1, bias: false}
    name: convs.0
  - conv2d: {out_channels: 256, kernel_size: 3, padding: "rates[i]", dilation: "rates[i]", bias: false}
    input: input
    repeat: 3
    chain: false                    # three parallel branches of the same input
    names: "f'convs.{i + 1}'"
    name: atrous
  - concat:
    inputs: [convs.0, atrous]       # a non-chaining repeat's name stands for all its copies
"""


def test_non_chaining_repeat_makes_parallel_branches():
    r = analyze_text(ASPP)
    assert [r.row(f"convs.{k}").inputs for k in (1, 2, 3)] == [("input",)] * 3
    assert r.rows[-1].inputs == ("convs.0", "convs.1", "convs.2", "convs.3")
    assert r.output_shape == (4 * 256, 28, 28)
    # DeepLabV3's ASPP convs: 2048·256 + 3 · 2048·256·9 weights
    assert r.params == 2048 * 256 + 3 * 2048 * 256 * 9


# --- YAML merge keys -------------------------------------------------------------------------------


def test_yaml_merge_keys_with_an_overriding_key():
    r = analyze_text(
        """
input: [3, 8, 8]
layers:
  - conv2d: &conv {out_channels: 8, kernel_size: 3, padding: 1}
  - conv2d: {<<: *conv, out_channels: 16}          # the own key overrides the merged one
  - conv2d:
      <<: *conv
      kernel_size: 1
      padding: 0
"""
    )
    assert [row.output_shape[0] for row in r.rows] == [8, 16, 8]
    assert r.params == (3 * 9 + 1) * 8 + (8 * 9 + 1) * 16 + (16 * 1 + 1) * 8


def test_a_key_written_twice_is_still_an_error():
    with pytest.raises(CnncalcError, match="duplicate key 'kernel_size'"):
        graph_of("input: [3]\nlayers:\n  - conv1d: {kernel_size: 1, kernel_size: 2}\n")


# --- include / extends -----------------------------------------------------------------------------

BASE = """
name: base
description: a base
input: [3, 16, 16]
variables: {width: 8, depth: 2, num_classes: 10}
blocks:
  unit:
    params: {c: null}
    layers:
      - conv2d: {out_channels: c, kernel_size: 3, padding: 1}
      - relu
layers:
  - unit: {c: width}
    repeat: depth
  - global_avg_pool
  - linear: {out_features: num_classes}
expected: {params: 1}
"""


def _base_params(width: int, depth: int, classes: int = 10) -> int:
    first = (3 * 9 + 1) * width
    rest = (depth - 1) * (width * 9 + 1) * width
    return first + rest + (width + 1) * classes


def test_extends_a_file_and_overrides_variables(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nvariables: {width: 4, depth: 3}\n")
    r = cnncalc.analyze(str(child))
    assert r.params == _base_params(4, 3)
    assert r.name == "child"
    assert not cnncalc.build(str(child)).expected  # the base's figures are not the child's


def test_include_takes_blocks_and_variables_only(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    inc = tmp_path / "inc.yaml"
    inc.write_text(
        "include: base.yaml\ninput: [3, 8, 8]\nvariables: {width: 2}\n"
        "layers:\n  - unit: {c: width}\n  - unit: {c: 'width * 2'}\n"
    )
    r = cnncalc.analyze(str(inc))
    assert r.params == (3 * 9 + 1) * 2 + (2 * 9 + 1) * 4
    assert r.output_shape == (4, 8, 8)


def test_extends_a_bundled_variant():
    g = graph_of("extends: resnet18\nvariables: {num_classes: 10}\n")
    r = cnncalc.analyze(g)
    # torchvision's resnet18: 11,689,512 params with a 512·1000 + 1000 fc
    assert r.params == 11_689_512 - (512 * 1000 + 1000) + (512 * 10 + 10)


def test_include_cycle_and_missing_base_are_clear(tmp_path):
    (tmp_path / "a.yaml").write_text("include: b.yaml\ninput: [3]\nlayers: [relu]\n")
    (tmp_path / "b.yaml").write_text("include: a.yaml\ninput: [3]\nlayers: [relu]\n")
    with pytest.raises(CnncalcError, match="includes itself"):
        cnncalc.build(str(tmp_path / "a.yaml"))
    (tmp_path / "c.yaml").write_text("include: nope.yaml\ninput: [3]\nlayers: [relu]\n")
    with pytest.raises(CnncalcError) as exc:
        cnncalc.build(str(tmp_path / "c.yaml"))
    assert "c.yaml:1" in str(exc.value)


def test_error_in_an_included_block_names_the_included_file(tmp_path):
    (tmp_path / "base.yaml").write_text(
        BASE.replace("kernel_size: 3, padding: 1", "kernel_size: 99")
    )
    child = tmp_path / "child.yaml"
    child.write_text("include: base.yaml\ninput: [3, 8, 8]\nlayers:\n  - unit: {c: 4}\n")
    with pytest.raises(CnncalcError) as exc:
        cnncalc.build(str(child))
    assert f"{tmp_path / 'base.yaml'}:10:" in str(exc.value)  # the conv line there


# --- expected for everyone, cnncalc check ------------------------------------------------------------

EXPECTING = """
name: tiny
input: [3, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3}
  - flatten
expected: {params: PARAMS, macs: MACS, output_shape: [144], shapes: {conv2d_1: [4, 6, 6]}}
"""


def test_summary_warns_expected_mismatch_and_check_exits_1(tmp_spec):
    from .conftest import run_cli

    text = EXPECTING.replace("MACS", str(4 * 6 * 6 * 3 * 9))
    good = tmp_spec(text.replace("PARAMS", str((3 * 9 + 1) * 4)), "good.yaml")
    bad = tmp_spec(text.replace("PARAMS", "111"), "bad.yaml")
    r = cnncalc.analyze(str(bad))
    assert [w["code"] for w in r.warnings] == ["expected_mismatch"]
    assert "expected params 111, got 112" in r.warnings[0]["message"]
    assert not cnncalc.analyze(str(good)).warnings
    # another input describes another model: no comparison
    assert not cnncalc.analyze(str(bad), (3, 10, 10)).warnings
    ok = run_cli("check", str(good))
    assert ok.returncode == 0 and ok.stdout.startswith("ok        tiny (macs, output_shape")
    fail = run_cli("check", str(good), str(bad))
    assert fail.returncode == 1
    assert "MISMATCH  tiny: expected params 111, got 112" in fail.stdout


def test_unknown_expected_key_is_an_error_with_did_you_mean():
    with pytest.raises(
        CnncalcError, match="unknown key 'parms' in 'expected'; did you mean 'params'"
    ):
        graph_of("input: [3]\nexpected: {parms: 3}\nlayers: [relu]\n")
    with pytest.raises(CnncalcError, match="unknown key 'gmac' in 'expected' of variant 'v'"):
        graph_of(
            "input: [3]\nvariables: {a: 1}\nvariants: {v: {expected: {gmac: 1}}}\nlayers: [relu]\n"
        )


def test_check_passes_on_every_bundled_spec():
    from .conftest import SPECS, run_cli

    files = sorted(str(p) for p in SPECS.glob("*.yaml") if not p.name.startswith("_"))
    r = run_cli("check", *files)
    assert r.returncode == 0, r.stdout[-2000:]


# --- memory: views are not new activations ---------------------------------------------------------


def test_views_are_not_new_activations():
    r = analyze_text(SHUFFLE_UNIT)
    # new tensors: branch2 (58·28·28), concat (116·28·28), channel_shuffle (116·28·28);
    # the chunk pieces x.0 and x.1 are views of the input
    assert r.totals.activations == (58 + 116 + 116) * 28 * 28
    r = analyze_text(
        """
input: [8, 4, 4]
layers:
  - permute: {dims: [1, 2, 0]}   # a view, not contiguous
  - reshape: {shape: [16, 8]}    # of non-contiguous data: a copy (PyTorch's reshape)
  - flatten                      # of contiguous data: a view
  - dropout                      # the input itself at inference
"""
    )
    assert r.totals.activations == 16 * 8


def test_a_view_keeps_its_base_alive():
    from cnncalc.memory import liveness_peak

    g = graph_of(
        """
input: [10]
layers:
  - linear: {out_features: 100}
    name: big
  - reshape: {shape: [10, 10]}
    name: v
  - linear: {out_features: 1}
    input: input
    name: small
  - add:
    inputs: [v, small]
"""
    )
    # at 'small': input (10) + big (100, alive through its view v) + small (1); at 'add': 100
    # of big + 1 + the output 100
    assert liveness_peak(g) == (100 + 1 + 100, "add_1")


# --- the channel axis ----------------------------------------------------------------------------


def test_in_shape_minus_one_is_the_channel_count_after_a_permute():
    r = analyze_text(
        """
input: [96, 56, 56]
layers:
  - permute: {dims: [1, 2, 0]}                       # channels last, as Swin
  - linear: {out_features: "4 * in_shape[-1]"}       # the MLP: 4·C, not 4·H
  - scale: {axis: -1}
"""
    )
    assert r.output_shape == (56, 56, 4 * 96)
    assert r.params == 96 * 384 + 384 + 384


def test_specs_readme_reuse_examples_build(tmp_path):
    from .conftest import SPECS

    text = (SPECS / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    cifar = next(b for b in blocks if b.startswith("# resnet18_cifar.yaml"))
    mine = next(b for b in blocks if b.startswith("# my_net.yaml"))
    (tmp_path / "c.yaml").write_text(cifar)
    r = cnncalc.analyze(str(tmp_path / "c.yaml"))
    assert r.params == 11_689_512 - (512 * 1000 + 1000) + (512 * 10 + 10)
    assert not r.warnings or all(w["code"] != "expected_mismatch" for w in r.warnings)
    (tmp_path / "m.yaml").write_text(mine)
    r = cnncalc.analyze(str(tmp_path / "m.yaml"))
    # stem 3·9·64 + 64, then two basic blocks of two 3×3 convs and two BNs each
    assert r.params == 3 * 9 * 64 + 64 + 2 * (2 * 64 * 64 * 9 + 2 * 2 * 64)
