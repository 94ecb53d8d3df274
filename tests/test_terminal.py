"""What a person sees in a terminal: the CLI in a real pseudo-terminal, colour on, 80/120 wide.

Nothing a user reads for (layer names, types, shapes, numbers) may be elided with '…'; spec
text is never taken as rich markup. Runs on POSIX (the pty module); skipped elsewhere.
"""

from __future__ import annotations

import re
import sys

import pytest

import cnncalc
from cnncalc import zoo

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

from .pty_util import run_in_pty  # noqa: E402


def _whole(name: str, text: str) -> bool:
    """``name`` appears as a whole token (not cut, not glued to other name characters)."""
    return re.search(rf"(?<![\w.]){re.escape(name)}(?![\w.…])", text) is not None


def _assert_names_whole(names, text):
    missing = [n for n in names if not _whole(n, text)]
    assert not missing, f"{len(missing)} names not shown whole, e.g. {missing[:5]}\n{text[:3000]}"


def _name_cells(text: str) -> list[str]:
    """The name column of a flat summary table, a name broken over lines joined again (a
    continuation line starts with two spaces, or is the '(type)' alone; a name breaks after a
    dot or before its type)."""
    lines = text.splitlines()
    head = next(i for i, x in enumerate(lines) if "Output shape" in x)
    pos = lines[head].index("Output shape")
    cells: list[str] = []
    for line in lines[head + 1 :]:
        note = line.startswith("(") and ("to fit" in line or "the name says it" in line)
        if note or line.startswith("Total params") or not line.strip():
            break
        if line[0] in "┏┡└":  # a rule of the boxed table
            continue
        inner = line[2:pos] if line[0] == "│" else line[:pos]
        cell = inner.strip(" │")
        if not cell:  # another column's second line
            continue
        if inner.startswith("  ") or cell.startswith("("):  # continued (or the type below)
            cells[-1] += ("" if cells[-1].endswith(".") else " ") + cell
        else:
            cells.append(cell)
    return cells


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("rf", [False, True], ids=["plain", "rf"])
def test_summary_resnet50_every_name_whole(columns, rf):
    args = ["summary", "resnet50", *(["--rf"] if rf else [])]
    r = run_in_pty(*args, columns=columns)
    assert r.returncode == 0, r.text
    assert "\x1b[" in r.raw  # colour was on: this is the rich path, not the piped one
    rows = cnncalc.analyze("resnet50").rows
    # each row's name and type; a type the name says ('relu', 'add_1') may be left out, and
    # then a note says so; a name may break over lines, after a dot
    terse = "(no (type) where the name says it:" in r.text
    from cnncalc.render import type_is_name

    expected = [
        x.name if terse and type_is_name(x.name, x.type) else f"{x.name} ({x.type})" for x in rows
    ]
    assert _name_cells(r.text) == expected
    if columns == 120:
        _assert_names_whole([x.name for x in rows], r.text)
        _assert_names_whole({f"({x.type})" for x in rows}, r.text)
    assert "…" not in r.text
    assert "25,557,032" in r.text and "[2048, 7, 7]" in r.text
    if rf:  # the receptive field of the last conv block: 427 pixels, jump 32 (rf arithmetic)
        assert "427/32/-213" in r.text


def test_summary_fits_80_columns_without_cutting():
    r = run_in_pty("summary", "resnet50", columns=80)
    table = r.text.split("Total params")[0]
    assert max(len(line) for line in table.splitlines()) <= 80
    assert "MACs" in table and "FLOPs" in table  # every default column kept at 80


def test_summary_60_columns_names_whole():
    r = run_in_pty("summary", "resnet50", columns=60)
    assert r.returncode == 0
    _assert_names_whole([x.name for x in cnncalc.analyze("resnet50").rows], r.text)
    assert "…" not in r.text


@pytest.mark.parametrize("columns", [80, 120])
def test_list_every_zoo_name_and_number_whole(columns):
    r = run_in_pty("list", columns=columns)
    assert r.returncode == 0, r.text
    entries = zoo.catalog()
    _assert_names_whole([e.name for e in entries], r.text)
    assert "…" not in r.text
    by = {e.name: e for e in entries}
    assert "2012" in r.text  # the year is whole
    assert "714.188 M" in r.text  # alexnet's MACs, whole (torchvision: 0.71 GFLOPS)
    assert f"{by['resnet50'].params:,}" == "25,557,032" and "25,557,032" in r.text


def test_list_description_wraps_or_is_left_out_with_a_note():
    r = run_in_pty("list", columns=80)
    if "Description" not in r.text:
        assert "Description left out to fit 80 columns" in r.text


@pytest.mark.parametrize("columns", [80, 120])
def test_compare_numbers_whole(columns):
    r = run_in_pty("compare", "resnet50", "vgg16", "resnet18", "efficientnet_b0", columns=columns)
    assert r.returncode == 0, r.text
    assert "…" not in r.text
    for n in ("25,557,032", "138,357,544", "11,689,512", "5,288,548", "[3, 224, 224]"):
        assert n in r.text, n
    # ratios to resnet50 with 3 significant digits: 138,357,544 / 25,557,032 = 5.41
    assert f"({138_357_544 / 25_557_032:.2f}×)" in r.text
    assert f"({5_288_548 / 25_557_032:.3f}×)" in r.text  # 0.207


def test_layers_and_explain_whole_at_80():
    from cnncalc.layers import REGISTRY

    r = run_in_pty("layers", columns=80)
    assert r.returncode == 0
    _assert_names_whole(list(REGISTRY), r.text)  # every type name and alias
    r = run_in_pty("explain", "lenet5", columns=80)
    assert r.returncode == 0  # ('…' is part of its formulas: 'axes 0…2')
    _assert_names_whole([x.name for x in cnncalc.analyze("lenet5").rows], r.text)


def test_tree_at_80_columns():
    r = run_in_pty("summary", "resnet50", "--tree", "--depth", "2", columns=80)
    assert r.returncode == 0, r.text
    assert "├─layer1 (bottleneck ×3" in r.text and "└─fc (linear)" in r.text
    assert "│   ├─0 (bottleneck" in r.text and "…" not in r.text


def test_warning_codes_and_bracketed_spec_text_survive(tmp_path):
    r = run_in_pty("summary", "squeezenet1_0", "--warn", "all", columns=120)
    assert "warning [uncovered] features.0:" in r.text  # rich markup would eat '[uncovered]'
    spec = tmp_path / "s.yaml"
    spec.write_text(
        'name: "net[bold]x[/bold]"\ncaveats: "see [ref] and [red]this[/red]"\n'
        "input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3}\n",
        encoding="utf-8",
    )
    r = run_in_pty("summary", str(spec), columns=120)
    assert r.returncode == 0, r.text
    assert "net[bold]x[/bold]: input" in r.text
    assert "see [ref] and [red]this[/red]" in r.text
    r = run_in_pty("compare", str(spec), str(spec), columns=120)
    assert "net[bold]x[/bold] (2)" in r.text
