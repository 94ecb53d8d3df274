"""`cnncalc summary` through a real subprocess: formats, options, exit codes, the JSON contract."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from .conftest import ROOT, run_cli


def test_summary_table_lenet5():
    p = run_cli("summary", "lenet5")
    assert p.returncode == 0, p.stderr
    assert "Total params:          61,706" in p.stdout
    assert "c1 (conv2d)" in p.stdout and "[6, 28, 28]" in p.stdout
    assert p.stderr == ""


def test_summary_json_contract():
    p = run_cli("summary", "resnet50", "--format", "json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)  # only JSON on stdout
    assert d["schema_version"] == 2
    assert d["name"] == "resnet50"
    assert d["input_shape"] == [3, 224, 224] and d["output_shape"] == [1000]
    t = d["totals"]
    assert t["params"] == 25_557_032
    assert t["trainable_params"] + t["non_trainable_params"] == t["params"]
    assert t["buffers"] == 2 * sum(  # BN running mean + var, one per channel of every BN layer
        layer["output_shape"][0] for layer in d["layers"] if layer["type"] == "batchnorm2d"
    )
    for key in ("name", "type", "inputs", "output_shape", "params", "macs", "flops"):
        assert all(key in layer for layer in d["layers"])
    assert sum(layer["params"] for layer in d["layers"]) == t["params"]
    assert sum(layer["macs"] for layer in d["layers"]) == t["macs"]
    assert sum(layer["flops"] for layer in d["layers"]) == t["flops"]
    assert all(isinstance(layer["macs"], int) for layer in d["layers"])


def test_summary_csv_and_markdown():
    p = run_cli("summary", "mnist_cnn", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert sum(int(r["params"]) for r in rows) == 243_786
    p = run_cli("summary", "mnist_cnn", "--format", "markdown")
    lines = p.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| Layer"))
    assert set(lines[header + 1].replace("|", "").replace(":", "").replace("-", "")) == set()


def test_options_input_batch_set_freeze(tmp_path):
    p = run_cli(
        "summary",
        "resnet18",
        "--input",
        "3x299x299",
        "--batch",
        "4",
        "--set",
        "num_classes=10",
        "--freeze",
        "layer4",
        "-f",
        "json",
    )
    d = json.loads(p.stdout)
    assert d["input_shape"] == [3, 299, 299] and d["output_shape"] == [10] and d["batch"] == 4
    assert d["totals"]["trainable_params"] == 512 * 10 + 10
    one = json.loads(run_cli("summary", "resnet18", "--input", "3x299x299", "-f", "json").stdout)
    assert d["totals"]["macs"] == 4 * (one["totals"]["macs"] - 512 * 1000 + 512 * 10)
    out = tmp_path / "r.md"
    p = run_cli("summary", "lenet5", "-f", "markdown", "--output", str(out))
    assert p.returncode == 0 and p.stdout == "" and "61,706" in out.read_text()


def test_summary_depth_collapses_blocks():
    p = run_cli("summary", "resnet18", "--depth", "1")
    assert "layer1 (basic ×2, 14 layers)" in p.stdout
    assert "layer1.0.conv1" not in p.stdout


def test_keras_convention():
    d = json.loads(run_cli("summary", "resnet50", "--convention", "keras", "-f", "json").stdout)
    assert d["totals"]["non_trainable_params"] == 53_120 and d["totals"]["buffers"] == 0


def test_bad_spec_is_one_line_exit_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 3, strides: 2}\n"
    )
    p = run_cli("summary", str(bad))
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1 and p.stderr.startswith(f"error: {bad}:3:")
    assert "did you mean 'stride'" in p.stderr and "Traceback" not in p.stderr
    p = run_cli("--debug", "summary", str(bad))
    assert "Traceback" in p.stderr


def test_unknown_model_and_usage_errors():
    p = run_cli("summary", "resnet51")
    assert p.returncode == 1 and "did you mean" in p.stderr
    p = run_cli("summary")
    assert p.returncode == 2
    p = run_cli("summary", "lenet5", "--format", "yaml")
    assert p.returncode == 2 and "unknown format 'yaml'" in p.stderr


def test_help_and_version():
    p = run_cli("--help")
    assert p.returncode == 0 and "summary" in p.stdout
    p = run_cli("--version")
    assert p.returncode == 0 and p.stdout.startswith("cnncalc ")


def test_import_is_light():
    code = "import sys, cnncalc; cnncalc.analyze('lenet5'); print(sorted({'numpy', 'rich', 'typer'} & set(sys.modules)))"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert p.stdout.strip() == "[]", p.stdout + p.stderr


def test_usage_errors_are_one_line_exit_2():
    for args, fragment in (
        (("summary", "lenet5", "--batch", "0"), "Invalid value for '--batch'"),
        (("summary", "lenet5", "--bogus"), "No such option: --bogus"),
        (("sumary", "lenet5"), "Did you mean 'summary'"),
    ):
        p = run_cli(*args)
        assert p.returncode == 2, p.stderr
        assert p.stderr.count("\n") == 1 and p.stderr.startswith("error: ")
        assert fragment in p.stderr and "--help" in p.stderr


def test_verify_exit_code_passes_through(tmp_path):
    pytest.importorskip("numpy")
    assert run_cli("verify", "lenet5", "--quiet").returncode == 0


def _closed_pipe_run(*args: str) -> subprocess.CompletedProcess:
    """Run with stdout a pipe whose reader is already gone (what `| head -1` becomes)."""
    import os

    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run(
            [sys.executable, "-m", "cnncalc", *args],
            stdout=w,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        os.close(w)
    return p


def test_closed_pipe_exits_0_quietly():
    for args in (
        ("--help",),
        ("summary", "resnet50"),
        ("summary", "resnet50", "-f", "json"),
        ("list",),
        ("compare", "lenet5", "mnist_cnn"),
    ):
        p = _closed_pipe_run(*args)
        assert p.returncode == 0, (args, p.stderr)
        assert p.stderr == "", (args, p.stderr)  # no "Exception ignored … BrokenPipeError"


def test_no_arguments_prints_the_help_once():
    p = run_cli()
    assert p.returncode == 2
    out = p.stdout + p.stderr
    assert out.count("Usage:") == 1, out
    assert "summary" in out


def test_debug_is_accepted_anywhere(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 9}\n")
    for args in (
        ("summary", str(bad), "--debug"),
        ("summary", "--debug", str(bad)),
        ("--debug", "summary", str(bad)),
    ):
        p = run_cli(*args)
        assert p.returncode == 1
        assert "Traceback" in p.stderr and "CnncalcError" in p.stderr, args
        assert "No such option" not in p.stderr
    p = run_cli("summary", "lenet5", "--debug")
    assert p.returncode == 0 and "61,706" in p.stdout


# --- issue 10: formats carry the same rows and facts; format from -o; choice errors ----------


def test_json_and_csv_honour_depth():
    d = json.loads(run_cli("summary", "resnet18", "--depth", "1", "-f", "json").stdout)
    names = [row["name"] for row in d["layers"]]
    assert "layer1" in names and "layer1.0.conv1" not in names and d["display_depth"] == 1
    layer1 = next(row for row in d["layers"] if row["name"] == "layer1")
    # two basic blocks of two 3×3 convs 64→64 and two BNs each (γ, β): 2·2·(64·64·9 + 2·64)
    assert layer1["params"] == 2 * 2 * (64 * 64 * 9 + 2 * 64) and layer1["layer_count"] == 14
    assert sum(row["params"] for row in d["layers"]) == 11_689_512  # rows still sum to the total
    rows = list(
        csv.DictReader(io.StringIO(run_cli("summary", "resnet18", "-d", "1", "-f", "csv").stdout))
    )
    assert [r["name"] for r in rows] == names
    assert next(r for r in rows if r["name"] == "layer1")["layer_count"] == "14"


def test_csv_honours_rf_and_columns():
    rows = list(
        csv.DictReader(io.StringIO(run_cli("summary", "lenet5", "--rf", "-f", "csv").stdout))
    )
    c3 = next(r for r in rows if r["name"] == "c3")
    # C1 5×5 stride 1, S2 2×2 stride 2, C3 5×5: size 5 + (2−1)·1 + (5−1)·2 = 14, jump 2
    assert c3["rf_size"] == "14x14" and c3["rf_jump"] == "2x2"
    p = run_cli("summary", "lenet5", "--columns", "name,kernel,params_pct,connected", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    c1 = next(r for r in rows if r["name"] == "c1")
    assert c1["kernel"] == "5x5" and c1["params_percent"] == f"{100 * 156 / 61706:.6f}"


def test_markdown_has_warnings_and_notes():
    md = run_cli("summary", "squeezenet1_0", "--warn", "all", "-f", "markdown").stdout
    # conv1 (features.0): (224 − 7) mod 2 = 1, the design (expected)
    assert "warning [uncovered] features.0:" in md
    assert "Convention: pytorch" in md
    md = run_cli("summary", "googlenet_aux", "-f", "markdown").stdout
    assert "train-only layers" in md  # the note the table prints
    p = run_cli("summary", "fasterrcnn_resnet50_fpn", "-f", "markdown")
    text = run_cli("summary", "fasterrcnn_resnet50_fpn").stdout
    for line in text.splitlines():
        if line.startswith("Note: "):  # detection caveats: the same notes in both
            assert line in p.stdout.replace("  \n", "\n")


def test_output_extension_picks_the_format(tmp_path):
    for ext, check in (
        ("json", lambda t: json.loads(t)["totals"]["params"] == 61706),
        ("csv", lambda t: t.startswith("name,type,")),
        ("md", lambda t: t.startswith("### lenet5")),
        ("txt", lambda t: "Total params:          61,706" in t),
    ):
        out = tmp_path / f"r.{ext}"
        p = run_cli("summary", "lenet5", "-o", str(out))
        assert p.returncode == 0, p.stderr
        assert check(out.read_text(encoding="utf-8")), ext
    out = tmp_path / "r.json"  # an explicit -f wins over the extension
    run_cli("summary", "lenet5", "-f", "csv", "-o", str(out))
    assert out.read_text(encoding="utf-8").startswith("name,type,")
    out = tmp_path / "c.json"
    assert run_cli("compare", "lenet5", "mnist_cnn", "-o", str(out)).returncode == 0
    assert json.loads(out.read_text(encoding="utf-8"))["schema_version"] == 2


def test_bad_choices_are_usage_errors_exit_2_one_line():
    for args, fragment in (
        (("summary", "lenet5", "--format", "yaml"), "unknown format 'yaml'"),
        (("summary", "lenet5", "--dtype", "f16"), "did you mean 'float16'"),
        (("summary", "lenet5", "--convention", "tf"), "unknown convention 'tf'"),
        (("summary", "lenet5", "--optimizer", "adamw"), "did you mean 'adam'"),
        (("summary", "lenet5", "--columns", "name,parms"), "did you mean 'params'"),
        (("compare", "lenet5", "mnist_cnn", "--sort", "foo"), "unknown sort key 'foo'"),
        (("compare", "lenet5", "mnist_cnn", "--dtype", "fp8"), "unknown dtype 'fp8'"),
        (("list", "--format", "xml"), "unknown format 'xml'"),
    ):
        p = run_cli(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert p.stderr.count("\n") == 1 and p.stderr.startswith("error: "), p.stderr
        assert fragment in p.stderr, p.stderr
    p = run_cli("compare", "lenet5", "mnist_cnn", "--sort", "foo")
    assert p.stderr.count("weighted_layers") == 1  # the key list once


def test_explain_format_table_is_the_text():
    p = run_cli("explain", "lenet5", "--layer", "c1", "--format", "table")
    assert p.returncode == 0, p.stderr
    assert p.stdout == run_cli("explain", "lenet5", "--layer", "c1").stdout


def test_columns_choose_what_is_shown():
    p = run_cli("summary", "lenet5", "--columns", "name,type,input_shape,kernel,params,params_pct")
    assert p.returncode == 0, p.stderr
    head = next(line for line in p.stdout.splitlines() if line.startswith("Layer"))
    assert head.split() == ["Layer", "Type", "Input", "shape", "Kernel", "Params", "Params", "%"]
    c3 = next(line for line in p.stdout.splitlines() if line.startswith("c3 "))
    # C3: 16 filters 5×5×6 + bias = 2,416 of 61,706 = 3.9 %; its input is S2's 6×14×14
    assert c3.split() == ["c3", "conv2d", "[6,", "14,", "14]", "5×5", "2,416", "3.9%"]
    assert f"{2416 / 61706:.1%}" == "3.9%"
    # defaults unchanged without --columns
    head = next(
        line for line in run_cli("summary", "lenet5").stdout.splitlines() if "Layer" in line
    )
    assert head.split() == ["Layer", "(type)", "Output", "shape", "Params", "MACs", "FLOPs"]


def test_connected_to_names_the_inputs_of_merges():
    p = run_cli("summary", "resnet18", "--columns", "name,connected")
    add = next(line for line in p.stdout.splitlines() if line.startswith("layer1.0.add_1 "))
    assert add.split()[-2:] == ["layer1.0.bn2,", "maxpool"]  # the residual: main path + shortcut
    plain = next(line for line in p.stdout.splitlines() if line.startswith("layer1.0.bn1 "))
    assert plain.split() == ["layer1.0.bn1", "(batchnorm2d)"]  # previous layer only: blank
    # GoogLeNet's inception (3a) concatenates its 4 branches: 64 + 128 + 32 + 32 = 256 channels
    p = run_cli("summary", "googlenet", "--columns", "name,output_shape,connected", "-d", "2")
    cat = next(line for line in p.stdout.splitlines() if line.startswith("inception3a.cat "))
    assert f"[{64 + 128 + 32 + 32}, 28, 28]" in cat
    # (branches 2-4 are torchvision's nn.Sequential branch2.0/.1 …, one row each at depth 2)
    branches = ["inception3a.branch1", "inception3a.branch2", "inception3a.branch3"]
    assert cat.split()[-4:] == [b + "," for b in branches] + ["inception3a.branch4"]
    # with --depth, inputs name the rows as shown: a branch's first block takes the pool
    row = next(line for line in p.stdout.splitlines() if line.startswith("inception3a.branch3 "))
    assert row.split()[-1] == "maxpool2"


def test_tree_shows_blocks_with_their_totals_and_collapses_with_depth():
    p = run_cli("summary", "resnet18", "--tree")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    block = next(line for line in lines if "├─layer1 (basic ×2" in line)
    assert f"{2 * 2 * (64 * 64 * 9 + 2 * 64):,}" in block  # layer1's params (see above)
    assert any(line.startswith("│   ├─0 (basic") for line in lines)
    assert any(line.startswith("│   │   ├─conv1 (conv2d)") for line in lines)
    assert any(line.startswith("└─fc (linear)") for line in lines)
    short = run_cli("summary", "resnet18", "--tree", "--depth", "1").stdout
    assert "├─layer1 (basic ×2" in short and "│   ├─0" not in short
    assert "Total params:          11,689,512" in short


def test_show_prints_a_bundled_spec_to_start_from(tmp_path):
    from .conftest import SPECS

    p = run_cli("show", "lenet5")
    assert p.returncode == 0, p.stderr
    assert p.stdout == (SPECS / "lenet5.yaml").read_text(encoding="utf-8")
    out = tmp_path / "mine.yaml"
    assert run_cli("show", "lenet5", "-o", str(out)).returncode == 0
    d = json.loads(run_cli("summary", str(out), "-f", "json").stdout)
    assert d["totals"]["params"] == 61706  # LeNet-5 as in REFERENCE.md
    again = run_cli("show", "lenet5", "-o", str(out))
    assert again.returncode == 1 and "exists" in again.stderr and "--force" in again.stderr
    p = run_cli("show", "resnet50")  # a variant: its family file, and how to pick the variant
    assert p.stdout == (SPECS / "resnet.yaml").read_text(encoding="utf-8")
    assert "--variant resnet50" in p.stderr
    p = run_cli("show", "resnt50")
    assert p.returncode == 1 and "did you mean 'resnet50'" in p.stderr


def test_warning_codes_in_every_format():
    """A warning (code, layer, message) reaches every format of summary and compare."""
    # SqueezeNet 1.0's conv1 (7×7, stride 2, no padding) on 224: (224 − 7) mod 2 = 1 row unread,
    # a warning its design intends (expected_warnings), shown with --warn all
    assert (224 - 7) % 2 == 1
    code = "[uncovered] features.0:"  # conv1 is torchvision's features.0
    w = ("--warn", "all")
    for fmt in ("table", "csv", "markdown"):
        assert code in run_cli("summary", "squeezenet1_0", *w, "-f", fmt).stdout, fmt
        out = run_cli("compare", "squeezenet1_0", "lenet5", *w, "-f", fmt).stdout
        assert code in out, fmt
    d = json.loads(run_cli("summary", "squeezenet1_0", *w, "-f", "json").stdout)
    assert {"code": "uncovered", "layer": "features.0"}.items() <= d["warnings"][0].items()
    d = json.loads(run_cli("compare", "squeezenet1_0", "lenet5", *w, "-f", "json").stdout)
    assert d["models"][0]["warnings"][0]["code"] == "uncovered"
    assert code in run_cli("summary", "squeezenet1_0", *w, "-f", "csv", "--depth", "1").stdout
