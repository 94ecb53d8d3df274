"""The Python API as a notebook user meets it: submodules, explain, print, HTML, row lookup."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cnncalc
from cnncalc import CnncalcError

from .conftest import ROOT


def test_submodules_after_a_plain_import():
    code = (
        "import sys, cnncalc\n"
        "s = cnncalc.solve.solve(224, 112)\n"
        "print(any(x.kernel == 3 and x.stride == 2 and x.padding == 1 for x in s))\n"
        "print(sorted({'numpy', 'rich', 'typer'} & set(sys.modules)))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    # ⌊(224 + 2·1 − 3) / 2⌋ + 1 = 112: kernel 3, stride 2, padding 1 is one answer
    assert (224 + 2 * 1 - 3) // 2 + 1 == 112
    assert p.stdout.split("\n")[:2] == ["True", "[]"], p.stdout + p.stderr


def test_explain_returns_plain_data_that_prints_as_the_cli():
    e = cnncalc.explain("lenet5", layer="c1")
    assert [r.name for r in e] == ["c1"]
    c1 = e.layer("c1")
    assert c1.output_shape == (6, 28, 28)  # 32 − 5 + 1 = 28
    assert any(f.value == (5 * 5 * 1 + 1) * 6 for f in c1.formulas)  # params 156
    from .conftest import run_cli

    assert str(e) == run_cli("explain", "lenet5", "--layer", "c1").stdout.rstrip("\n") + "\n"
    assert e.to_dict()[0]["name"] == "c1"
    with pytest.raises(CnncalcError, match="did you mean 'c1'"):
        e.layer("c11")
    assert len(cnncalc.explain("lenet5")) == len(cnncalc.analyze("lenet5").rows)


def test_print_report_is_the_plain_table():
    from .conftest import run_cli

    r = cnncalc.analyze("lenet5")
    assert str(r).splitlines()[0] == run_cli("summary", "lenet5").stdout.splitlines()[0]
    assert "Total params:          61,706" in str(r)
    assert "├─" in r.table(tree=True) and "Kernel" in r.table(columns="name,kernel")


def test_repr_html_escapes_user_text(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        'name: "<b>net</b>"\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3}\n',
        encoding="utf-8",
    )
    html = cnncalc.analyze(spec)._repr_html_()
    assert "&lt;b&gt;net&lt;/b&gt;" in html and "<b>net</b>" not in html
    assert "<table>" in html and f"{3 * 3 * 3 * 4 + 4}" in html  # conv params 112


def test_row_lookup_error_is_a_cnncalc_error_with_a_suggestion():
    r = cnncalc.analyze("lenet5")
    assert r.row("c3").params == (5 * 5 * 6 + 1) * 16
    with pytest.raises(CnncalcError, match="did you mean 'c3'"):
        r.row("c33")
