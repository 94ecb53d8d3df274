"""`cnncalc summary` through a real subprocess: formats, options, exit codes, the JSON contract."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

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
    import pytest

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
