"""Issue 10: no silent changes to the model, errors that say how to fix them, warnings that mean it.

Expected figures are arithmetic written out here or published figures (README zoo table,
REFERENCE.md), never cnncalc's own output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc
from cnncalc.errors import CnncalcError


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
