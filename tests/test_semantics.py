"""Issue 10: no silent changes to the model, errors that say how to fix them, warnings that mean it.

Expected figures are arithmetic written out here or published figures (README zoo table,
REFERENCE.md), never cnncalc's own output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnncalc
from cnncalc.errors import CnncalcError

from .conftest import run_cli


def spec_file(tmp_path: Path, text: str, name: str = "net.yaml") -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def error_of(tmp_path: Path, text: str, *args: object, **kw: object) -> str:
    with pytest.raises(CnncalcError) as exc:
        cnncalc.analyze(spec_file(tmp_path, text), *args, **kw)
    return str(exc.value)


# -- 18: shapes written as the CLI writes them ------------------------------------------------------
def test_input_written_3x32x32_is_read_as_the_cli_reads_it(tmp_path: Path) -> None:
    r = cnncalc.analyze(
        spec_file(
            tmp_path, "input: 3x32x32\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 3}\n"
        )
    )
    assert r.input_shape == (3, 32, 32)
    assert r.output_shape == (8, 32 - 3 + 1, 32 - 3 + 1)
    assert r.params == 8 * 3 * 3 * 3 + 8


# -- 21: YAML 1.1 booleans are words where a name is meant ------------------------------------------
def test_variable_named_off(tmp_path: Path) -> None:
    text = "input: [3, 8, 8]\nvariables: {off: 2}\nlayers:\n  - conv2d: {out_channels: off * 1, kernel_size: 1}\n"
    r = cnncalc.analyze(spec_file(tmp_path, text))
    assert r.params == 2 * 3 + 2


def test_layer_named_no(tmp_path: Path) -> None:
    r = cnncalc.analyze(spec_file(tmp_path, "input: [3, 8, 8]\nlayers:\n  - relu:\n    name: no\n"))
    assert [row.name for row in r.rows] == ["no"]


def test_block_parameter_named_on(tmp_path: Path) -> None:
    text = (
        "input: [3, 8, 8]\nblocks:\n  b:\n    params: {on: 1}\n    layers:\n"
        "      - conv2d: {out_channels: on * 4, kernel_size: 1}\n"
        "layers:\n  - b: {on: 2}\n"
    )
    r = cnncalc.analyze(spec_file(tmp_path, text))
    assert r.params == (3 * 1 * 1 + 1) * (2 * 4)


# -- 24: auto-names use the resolved type -----------------------------------------------------------
def test_auto_name_uses_the_resolved_type(tmp_path: Path) -> None:
    text = "input: [3, 8, 8]\nblocks:\n  b:\n    params: {act: relu}\n    layers:\n      - act:\nlayers:\n  - b\n"
    r = cnncalc.analyze(spec_file(tmp_path, text))
    assert [row.name for row in r.rows] == ["b_1.relu_1"]


# -- 25: multiply's shape error gives no residual-add advice ----------------------------------------
def test_multiply_error_has_no_residual_advice(tmp_path: Path) -> None:
    text = (
        "input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 1}\n    name: a\n"
        "  - conv2d: {out_channels: 5, kernel_size: 1}\n    input: input\n    name: b\n"
        "  - multiply:\n    inputs: [a, b]\n"
    )
    msg = error_of(tmp_path, text)
    assert "cannot multiply shapes (4, 8, 8) and (5, 8, 8)" in msg
    assert "residual" not in msg and "projection" not in msg
    add = error_of(tmp_path, text.replace("multiply", "add"))
    assert "a residual add needs a projection shortcut" in add


# -- 27: axes above 2³¹ − 1 and totals above 2⁵³ are refused; P and E units ---------------------------
def test_huge_axis_refused(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "input: [3, 99999999999999999999, 224]\nlayers:\n  - relu\n")
    assert "net.yaml:1:" in msg and f"{2**31 - 1:,}" in msg
    with pytest.raises(CnncalcError, match="2³¹ − 1"):
        cnncalc.analyze("lenet5", (1, 2**31, 1))
    # 2³¹ − 1 itself is allowed
    assert (
        cnncalc.analyze(
            spec_file(tmp_path, "input: [1, 2147483647]\nlayers:\n  - relu\n")
        ).totals.activations
        == 2**31 - 1
    )


def test_total_above_2_53_refused(tmp_path: Path) -> None:
    # 3 → 2,000,000 channels, 1×1 kernel, 60000×60000: 2e6·3·3.6e9 = 2.16e16 MACs > 2⁵³ ≈ 9.007e15
    text = (
        "input: [3, 60000, 60000]\nlayers:\n  - conv2d: {out_channels: 2000000, kernel_size: 1}\n"
    )
    msg = error_of(tmp_path, text)
    assert f"MACs total {2_000_000 * 3 * 60000 * 60000:,}" in msg and f"{2**53:,}" in msg
    # resnet50: 4,089,184,256 MACs (torchvision) × 2²² = 1.7e16 > 2⁵³
    with pytest.raises(CnncalcError, match="smaller batch"):
        cnncalc.analyze("resnet50", batch=2**22)


def test_peta_and_exa_units() -> None:
    from cnncalc.render import fmt_ops

    assert fmt_ops(1_547_026_432_000_000) == "1.547 P"
    assert fmt_ops(2 * 10**18) == "2.000 E"


def codes(report: cnncalc.Report) -> list[str]:
    return [w["code"] for w in report.warnings]


# -- 8: channels-last input refused ---------------------------------------------------------------
def test_channels_last_input_refused() -> None:
    with pytest.raises(CnncalcError) as exc:
        cnncalc.analyze("resnet18", "224x224x3")
    assert "did you mean 3x224x224? (channels first, batch excluded)" in str(exc.value)
    assert "--channels-last-ok" in str(exc.value)
    # insisting builds what was written: conv1 (7×7, stride 2, padding 3) on 224 channels
    r = cnncalc.analyze("resnet18", "224x224x3", channels_last_ok=True)
    assert r.row("conv1").output_shape == (64, (224 + 2 * 3 - 7) // 2 + 1, (3 + 2 * 3 - 7) // 2 + 1)
    assert r.row("conv1").params == 64 * 224 * 7 * 7


def test_channels_last_spec_input_refused(tmp_path: Path) -> None:
    text = "input: [32, 32, 3]\nlayers:\n  - relu\n"
    msg = error_of(tmp_path, text)
    assert "net.yaml:1:" in msg and "did you mean [3, 32, 32]?" in msg
    assert "channels_last_ok: true" in msg
    r = cnncalc.analyze(spec_file(tmp_path, "channels_last_ok: true\n" + text))
    assert r.input_shape == (32, 32, 3)


def test_channels_last_cli(tmp_path: Path) -> None:
    r = run_cli("summary", "resnet18", "--input", "224x224x3")
    assert r.returncode == 1 and "did you mean 3x224x224?" in r.stderr
    r = run_cli("summary", "resnet18", "--input", "224x224x3", "--channels-last-ok", "-f", "json")
    assert r.returncode == 0


# -- 9: params that depend on --input are said --------------------------------------------------------
def test_params_depend_on_input_alexnet_2012() -> None:
    r = cnncalc.analyze("alexnet_2012", (3, 259, 259))
    (w,) = [w for w in r.warnings if w["code"] == "params_depend_on_input"]
    # 227: 55 → 27 → 13 → 6 (pool5): 256·6·6; 259: ⌊(259 − 11)/4⌋ + 1 = 63 → 31 → 15 → 7: 256·7·7
    own, new = 256 * 6 * 6, 256 * 7 * 7
    assert w["layer"] == "fc6"
    assert f"fc6 in_features {own:,} → {new:,}" in w["message"]
    total = 62_378_344 + 4096 * (new - own)  # README zoo table: 62,378,344 at 227
    assert r.params == total == 76_009_832
    assert f"{62_378_344:,} → {total:,}" in w["message"]


def test_params_depend_on_input_in_every_format() -> None:
    for fmt in ("table", "json", "markdown", "csv"):
        out = run_cli("summary", "yolov1", "--input", "3x224x224", "-f", fmt).stdout
        if fmt == "json":
            out = " ".join(f"{w['code']} {w['message']}" for w in json.loads(out)["warnings"])
        # fc1 reads 1024·7·7 = 50,176 at 448; at 224 the map is 1024·4·4 = 16,384
        assert f"fc1 in_features {1024 * 7 * 7:,} → {1024 * 4 * 4:,}" in out, fmt
        assert "params_depend_on_input" in out, fmt


def test_params_depend_on_input_in_compare() -> None:
    c = cnncalc.compare(["resnet18", "lenet5"], "3x32x32")
    lenet = next(m for m in c.models if m.name == "lenet5")
    (w,) = lenet.report.warnings
    # LeNet-5's c1: 6·1·5·5 + 6 at its own 1×32×32; 6·3·5·5 + 6 at 3×32×32
    assert "c1 in_channels 1 → 3" in w["message"]
    assert f"{61_706:,} → {61_706 + 6 * 5 * 5 * 2:,}" in w["message"]
    from cnncalc.render_compare import model_warning_lines

    assert any(
        "lenet5: warning [params_depend_on_input] c1: params differ" in line
        for line in model_warning_lines(c)
    )
    assert lenet.to_dict()["warnings"] == [w]


def test_no_params_warning_when_params_do_not_change() -> None:
    assert "params_depend_on_input" not in codes(cnncalc.analyze("resnet18", (3, 32, 32)))
    assert not cnncalc.analyze("alexnet_2012", (3, 227, 227)).warnings


# -- 10: linear after a conv acts on the last axis ------------------------------------------------------
def test_linear_after_conv_warns(tmp_path: Path) -> None:
    text = (
        "input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: 16, kernel_size: 3}\n"
        "  - relu\n  - linear: {out_features: 10}\n"
    )
    r = cnncalc.analyze(spec_file(tmp_path, text))
    assert r.output_shape == (16, 30, 10)
    (w,) = [w for w in r.warnings if w["code"] == "linear_last_axis"]
    assert w["layer"] == "linear_1" and "last axis only" in w["message"]
    assert "[16, 30, 30]" in w["message"] and "flatten" in w["message"]
    flat = text.replace("  - relu\n", "  - relu\n  - flatten\n")
    assert "linear_last_axis" not in codes(cnncalc.analyze(spec_file(tmp_path, flat)))


# -- 11: variables follow --input ------------------------------------------------------------------
UPSAMPLE = (
    "input: [3, height, width]\nvariables: {height: 32, width: 32}\nlayers:\n"
    "  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n"
    "  - upsample: {size: [height, width]}\n"
)


def test_input_binds_the_variables_it_is_written_in(tmp_path: Path) -> None:
    r = cnncalc.analyze(spec_file(tmp_path, UPSAMPLE), "3x50x70")
    assert r.output_shape == (4, 50, 70)
    with pytest.raises(CnncalcError, match="--set height=60"):
        cnncalc.analyze(spec_file(tmp_path, UPSAMPLE), "3x50x70", height=60)


def test_input_sets_the_variable_a_computed_axis_reads() -> None:
    # input: [3, padded_height, padded_width], padded_height = ceil(height / 32) · 32; roi_align
    # reads height and width: 640 = 20·32 is reached with height = 640
    g = cnncalc.build("fasterrcnn_resnet50_fpn", (3, 640, 640))
    assert (g.variables["height"], g.variables["width"]) == (640, 640)
    (roi,) = [n for n in g.nodes if n.type == "roi_align"]
    assert roi.layer.args["image_size"] == (640, 640)


def test_input_refused_when_it_cannot_set_the_variables() -> None:
    # ceil(650 / 32)·32 = 672: no height gives a padded height of 650
    with pytest.raises(CnncalcError) as exc:
        cnncalc.analyze("fasterrcnn_resnet50_fpn", (3, 650, 640))
    assert "--input cannot set" in str(exc.value) and "--set height=" in str(exc.value)
    assert ".yaml" not in str(exc.value)


# -- 12: default_variant applies to a spec given by path -------------------------------------------------
def test_default_variant_of_a_path(tmp_path: Path) -> None:
    text = (
        "input: [3, 8, 8]\nvariables: {w: 4}\nvariants: {small: {w: 4}, big: {w: 16}}\n"
        "default_variant: big\nlayers:\n  - conv2d: {out_channels: w, kernel_size: 1}\n"
    )
    path = spec_file(tmp_path, text)
    doc = json.loads(run_cli("summary", path, "--format", "json").stdout)
    assert doc["variant"] == "big"
    assert doc["totals"]["params"] == 3 * 16 + 16
    assert cnncalc.analyze(path, variant="small").params == 3 * 4 + 4


# -- 14: explain shows a shared layer's params as summary counts them ----------------------------------------
def test_explain_shared_layer_params_match_summary(tmp_path: Path) -> None:
    from cnncalc.explain import explain

    text = (
        "input: [8]\nlayers:\n  - linear: {out_features: 8}\n    name: proto\n"
        "  - linear: {out_features: 8}\n    name: again\n    share: proto\n"
    )
    path = spec_file(tmp_path, text)
    r = cnncalc.analyze(path)
    assert r.row("again").params == 0 and r.params == 8 * 8 + 8
    recs = {x.name: x for x in explain(path)}
    (p,) = [f for f in recs["again"].formulas if "params" in f.checks]
    assert p.value == 0 and "shares proto" in p.note and f"{8 * 8 + 8}" in p.note
    (p,) = [f for f in recs["proto"].formulas if "params" in f.checks]
    assert p.value == 8 * 8 + 8


# -- 16: a spec's own convention ----------------------------------------------------------------------
def test_keras_models_default_to_the_keras_convention() -> None:
    # README zoo table / keras.io: Xception 22,910,480 (22,855,952 trainable)
    assert cnncalc.analyze("xception").params == 22_910_480
    assert cnncalc.analyze("xception", convention="pytorch").params == 22_855_952
    assert cnncalc.analyze("inception_v3_keras").params == 23_851_784
    assert cnncalc.analyze("efficientnet_b0_keras").params == 5_330_571
    assert cnncalc.analyze("resnet50").params == 25_557_032  # torchvision: pytorch still


def test_keras_convention_cli() -> None:
    assert "22,910,480" in run_cli("summary", "xception").stdout
    assert "22,855,952" in run_cli("summary", "xception", "--convention", "pytorch").stdout


# -- 36: warnings a design intends, --warn ------------------------------------------------------------
def test_resnet_projection_has_no_stride_warning() -> None:
    r = cnncalc.analyze("resnet50")
    assert "stride_gt_kernel" not in codes(r)
    assert "stride_gt_kernel" not in codes(cnncalc.analyze("xception"))


@pytest.mark.parametrize("name", ["resnet18", "vgg16", "lenet5", "squeezenet1_0", "mnist_cnn"])
def test_bundled_models_print_no_warning(name: str) -> None:
    out = run_cli("summary", name).stdout
    assert "warning [" not in out


def test_every_zoo_model_has_no_warnings() -> None:
    from cnncalc.zoo import zoo_members

    for m in zoo_members():
        assert cnncalc.analyze(m.name).warnings == (), m.name


def test_warn_option() -> None:
    r = cnncalc.analyze("squeezenet1_0")
    assert not r.warnings and any("expected_warnings: uncovered" in n for n in r.notes)
    shown = cnncalc.analyze("squeezenet1_0", warn="all").warnings
    # conv1 (torchvision's features.0): (224 − 7) mod 2 = 1
    assert [(w["code"], w["layer"]) for w in shown] == [("uncovered", "features.0")]
    assert cnncalc.analyze("squeezenet1_0", warn="uncovered").warnings == shown
    assert cnncalc.analyze("squeezenet1_0", warn="none").warnings == ()
    assert cnncalc.analyze("alexnet_2012", (3, 259, 259), warn="none").warnings == ()
    with pytest.raises(CnncalcError, match="did you mean 'uncovered'"):
        cnncalc.analyze("lenet5", warn="uncoverd")


def test_expected_warnings_key_is_checked(tmp_path: Path) -> None:
    msg = error_of(
        tmp_path, "input: [3, 8, 8]\nexpected_warnings: [stride_gt_kernl]\nlayers: [relu]\n"
    )
    assert "net.yaml:2:" in msg and "did you mean 'stride_gt_kernel'" in msg


# -- 37: --input name=shape sets a named input ------------------------------------------------------------
MULTI = (
    "inputs: {image: [3, 32, 32], mask: [1, 32, 32]}\nlayers:\n"
    "  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n    input: image\n    name: a\n"
    "  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n    input: mask\n    name: b\n"
    "  - concat:\n    inputs: [a, b]\n"
)


def test_named_input_override(tmp_path: Path) -> None:
    path = spec_file(tmp_path, MULTI)
    with pytest.raises(CnncalcError, match="concat"):
        cnncalc.analyze(path, "mask=1x16x16")  # 32×32 beside 16×16 cannot concat
    r = cnncalc.analyze(path, "image=3x16x16 mask=1x16x16")
    assert r.input_shapes == {"image": (3, 16, 16), "mask": (1, 16, 16)}
    assert r.output_shape == (8, 16, 16)
    with pytest.raises(CnncalcError, match="did you mean 'mask'"):
        cnncalc.analyze(path, "mask2=1x16x16")


def test_named_input_cli(tmp_path: Path) -> None:
    path = spec_file(tmp_path, MULTI)
    r = run_cli("summary", path, "--input", "image=3x8x8;mask=1x8x8", "-f", "json")
    assert json.loads(r.stdout)["input_shapes"]["mask"] == [1, 8, 8]


# -- 35: solve ---------------------------------------------------------------------------------------
def _evaluates_as_written(line: str) -> bool:
    """The printed formula '⌊(…) / S⌋ + 1 = out', rewritten for cnncalc's expression evaluator."""
    from cnncalc.expr import evaluate

    lhs, rhs = line.rsplit(" = ", 1)
    text = lhs.replace("⌊", "(").replace("⌋", ")").replace(" / ", " // ")
    return evaluate(text.replace("·", "*").replace("−", "-"), {}) == int(rhs.split()[0])


def test_solve_dilation_formula_evaluates_as_written() -> None:
    out = run_cli("solve", "224", "112", "--dilation", "2").stdout
    formulas = ["⌊" + ln.split("⌊", 1)[1].split("  [")[0] for ln in out.splitlines() if "⌊" in ln]
    assert formulas and all(_evaluates_as_written(f) for f in formulas), formulas
    # kernel 2, dilation 2, padding 1: ⌊(224 + 2 − (2·1 + 1)) / 2⌋ + 1 = 112, not 113
    assert "⌊(224 + 2·1 − (2·(2 − 1) + 1)) / 2⌋ + 1 = 112" in out


def test_solve_upsampling_suggests_transposed() -> None:
    out = run_cli("solve", "112", "224").stdout
    assert "--transposed" in out and "'same'" not in out
    # (112 − 1)·2 − 2·0 + 1·(2 − 1) + 0 + 1 = 224: kernel 2, stride 2
    assert "kernel 2, stride 2, padding 0" in run_cli("solve", "112", "224", "--transposed").stdout


def test_solve_same_line_only_when_relevant() -> None:
    # no stride gives ⌈227/S⌉ = 55 (⌈227/4⌉ = 57): no 'same' line
    assert "'same'" not in run_cli("solve", "227", "55").stdout.splitlines()[-1]
    # stride 1, kernel 3: padding 1 + 1, an even total: no odd-total note
    last = run_cli("solve", "224", "224", "-k", "3").stdout.splitlines()[-1]
    assert "F=3: 1+1" in last and "odd total" not in last
    # stride 2, kernel 3 on 224: (112 − 1)·2 + 3 − 224 = 1, odd: the note is there
    last = run_cli("solve", "224", "112", "-k", "3").stdout.splitlines()[-1]
    assert "F=3: 0+1" in last and "odd total" in last


# -- 15: the training estimate honours freezing ------------------------------------------------------
def test_training_memory_honours_freezing() -> None:
    from cnncalc.render import fmt_bytes

    b = 64 * 4  # batch 64, float32
    free = cnncalc.analyze("resnet18", num_classes=10, batch=64).memory
    frozen = cnncalc.analyze("resnet18", num_classes=10, batch=64, freeze="layer4").memory
    r = cnncalc.analyze("resnet18", num_classes=10)
    # nothing frozen: the input and every layer output are kept, but flatten's 512 (a view of
    # avgpool's contiguous output, as torch.flatten returns: no storage of its own)
    every = 3 * 224 * 224 + sum(x.output_elements for x in r.rows)
    assert free.saved_activation_bytes == (every - 512) * b
    # only fc trains: it keeps its input (flatten's base, avgpool: 512) and its output (10)
    assert frozen.saved_activation_bytes == (512 + 10) * b
    assert frozen.backward_workspace_bytes == 2 * 512 * b
    params = 11_689_512 - (512 * 1000 + 1000) + (512 * 10 + 10)  # torchvision, fc → 10 classes
    buffers = 2 * (
        64 + 64 * 4 + (128 * 4 + 128) + (256 * 4 + 256) + (512 * 4 + 512)
    )  # BN mean, var
    trainable = 512 * 10 + 10
    assert frozen.weights_bytes == (params + buffers) * 4
    # Adam: weights + gradient + 2 states; activations: the frozen backbone's inference peak
    assert frozen.training_bytes("adam") == (
        (params + buffers) * 4 + 3 * trainable * 4 + frozen.peak_inference_bytes
    )
    assert frozen.training_bytes() < free.training_bytes() / 5
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    drop = f"{fmt_bytes(free.training_bytes())} → {fmt_bytes(frozen.training_bytes())}"
    assert drop in readme


# -- 23: a bundled model that cannot take --input: the model, its smallest input, the aux hint --------
def test_vgg16_too_small_input_names_the_smallest() -> None:
    r = run_cli("summary", "vgg16", "--input", "3x16x16")
    assert r.returncode == 1
    (line,) = r.stderr.splitlines()
    # five 2×2 stride-2 pools: 32 → 16 → 8 → 4 → 2 → 1; 31 → … → 1 → pool5 (features.30) has
    # nothing to pool
    assert line.startswith("error: vgg16 cannot take the input 3x16x16: layer 'features.30'")
    assert "its smallest input is 3x32x32" in line
    assert "specs/" not in line and ".yaml" not in line
    assert cnncalc.analyze("vgg16", (3, 32, 32)).output_shape == (1000,)
    with pytest.raises(CnncalcError):
        cnncalc.analyze("vgg16", (3, 31, 31))


def test_inception_aux_branch_hint() -> None:
    with pytest.raises(CnncalcError) as exc:
        cnncalc.analyze("inception_v3", (3, 224, 224))
    assert "train-only branch" in str(exc.value) and "--set aux_logits=false" in str(exc.value)
    r = cnncalc.analyze("inception_v3", (3, 224, 224), aux_logits=False)
    assert r.output_shape == (1000,)


def test_own_spec_keeps_its_location(tmp_path: Path) -> None:
    text = "input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 5}\n"
    msg = error_of(tmp_path, text, (3, 4, 4))
    assert "net.yaml:3:" in msg and "its smallest input is 3x5x5" in msg


# -- 34: cnncalc.run at another input size ------------------------------------------------------------
def test_run_fully_convolutional_net_at_another_size() -> None:
    np = pytest.importorskip("numpy", reason="the NumPy backend needs numpy")
    # padded U-Net: "same" 3×3 convs, four 2×2 pools (64 → 4) and four 2× up-convs (4 → 64),
    # a 1×1 conv to 2 classes: the output has the input's size
    y = cnncalc.run("unet_padded", input_shape=(3, 64, 64))
    assert y.shape == (1, 2, 64, 64)
    y = cnncalc.run("unet_padded", np.zeros((2, 3, 32, 48), dtype="float32"))
    assert y.shape == (2, 2, 32, 48)
    with pytest.raises(CnncalcError, match="input_shape="):
        cnncalc.run(cnncalc.build("unet_padded"), np.zeros((1, 3, 32, 32), dtype="float32"))


def test_warn_option_cli() -> None:
    r = run_cli("summary", "lenet5", "--warn", "uncoverd")
    assert r.returncode == 2 and "did you mean 'uncovered'" in r.stderr
    out = run_cli("explain", "squeezenet1_0", "--layer", "features.0", "--warn", "all").stdout
    assert "warning [uncovered]" in out and "(224 + 0 + 0 − 7) mod 2 = 1" in out
    out = run_cli("explain", "squeezenet1_0", "--layer", "features.0").stdout
    assert "warning [" not in out
    args = ("compare", "resnet18", "alexnet_2012", "--input", "3x259x259", "--no-bars")
    assert "alexnet_2012: warning [params_depend_on_input] fc6" in run_cli(*args).stdout
    assert "warning [" not in run_cli(*args, "--warn", "none").stdout


# -- 20, 22: the spec reference says where quoting is needed ------------------------------------------
def test_specs_readme_says_when_to_quote() -> None:
    text = (Path(__file__).resolve().parent.parent / "specs" / "README.md").read_text("utf-8")
    assert "quote an expression that holds commas or brackets inside `{…}` or `[…]`" in text
    assert "only when it is the whole value" in text
    assert '`{out_channels: "max(1, 4)", kernel_size: 1}`' in text


def test_params_warning_on_a_terminal() -> None:
    """What a person sees: the warning with its code, at 80 columns, colour on."""
    from .pty_util import run_in_pty

    r = run_in_pty("summary", "alexnet_2012", "--input", "3x259x259", columns=80)
    assert r.returncode == 0, r.text
    text = " ".join(r.text.split())  # the terminal wraps long lines
    assert "warning [params_depend_on_input] fc6" in text
    assert f"fc6 in_features {256 * 6 * 6:,} → {256 * 7 * 7:,}" in text


def test_params_depend_on_an_input_variable(tmp_path: Path) -> None:
    text = (
        "input: [3, size, size]\nvariables: {size: 32, classes: 10}\nlayers:\n"
        "  - conv2d: {out_channels: 16, kernel_size: 3, padding: 1}\n  - flatten\n"
        "  - linear: {out_features: classes}\n"
    )
    path = spec_file(tmp_path, text)
    r = cnncalc.analyze(path, size=64, classes=5)
    (w,) = [w for w in r.warnings if w["code"] == "params_depend_on_input"]
    # 16·32·32 = 16,384 features at its own input, 16·64·64 = 65,536 at size 64 (5 classes both)
    assert w["code"] == "params_depend_on_input" and "(3x32x32)" in w["message"]
    assert f"linear_1 in_features {16 * 32 * 32:,} → {16 * 64 * 64:,}" in w["message"]
    conv = 3 * 3 * 3 * 16 + 16
    own, new = conv + 16 * 32 * 32 * 5 + 5, conv + 16 * 64 * 64 * 5 + 5
    assert f"total {own:,} → {new:,}" in w["message"] and r.params == new
    codes_only = codes(cnncalc.analyze(path, classes=5))  # not an input variable
    assert "params_depend_on_input" not in codes_only
