"""What a person sees in an 80-column terminal (pty, colour on) for the language's new pieces:
dotted torchvision names of Swin in `summary`, and `cnncalc check`'s verdict lines."""

from __future__ import annotations

import sys

import pytest

import cnncalc

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX")

from .pty_util import run_in_pty  # noqa: E402


def test_swin_summary_names_whole_at_80_columns():
    r = run_in_pty("summary", "swin_t", columns=80)
    assert r.returncode == 0, r.text
    assert "\x1b[" in r.raw
    for row in cnncalc.analyze("swin_t").rows:
        assert row.name in r.text, row.name
    assert "28,288,354" in r.text


def test_check_in_a_terminal(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: tiny\ninput: [4]\nexpected: {params: 3}\nlayers:\n  - linear: {out_features: 2}\n"
    )
    r = run_in_pty("check", "swin_t", str(bad), columns=80)
    assert r.returncode == 1
    assert "ok        swin_t (gmacs, output_shape, params)" in r.text
    # 4·2 + 2 = 10 params, not 3
    assert "MISMATCH  tiny: expected params 3, got 10" in r.text
    assert "1 of 2 agree with their expected figures, 1 failed" in r.text
