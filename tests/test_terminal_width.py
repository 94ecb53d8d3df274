"""Everything ``cnncalc summary`` prints fits the terminal: every zoo model at 80 columns.

A person reads the table in a terminal with colour on. The table must fit the window (no line
wider than the terminal once the ANSI escapes are stripped), keep every figure whole, and say
what gave way to fit (a column left out, types not repeated, names shortened). The zoo-wide
check renders in-process through the same function the CLI calls (``print_summary`` on a rich
console that believes it is a colour terminal); one true subprocess in a pty checks the CLI.
"""

from __future__ import annotations

import io
import re
import sys

import pytest
from rich.cells import cell_len
from rich.console import Console

import cnncalc
from cnncalc import render, render_rich, zoo
from cnncalc.render_rich import NAME_FORMS, Cell, name_cell

from .pty_util import strip_ansi

#: the four forms of the summary: the default table, --tree, --rf, --tree --rf
FORMS = {
    "table": (False, False),
    "tree": (True, False),
    "rf": (False, True),
    "tree-rf": (True, True),
}


def render_summary(report, width: int, tree: bool = False, rf: bool = False, **kw) -> str:
    """What ``cnncalc summary`` shows on a colour terminal ``width`` columns wide (ANSI kept)."""
    buf = io.StringIO()
    con = Console(
        file=buf, width=width, force_terminal=True, color_system="truecolor", highlight=False
    )
    columns = kw.pop("columns", None)
    render_rich.print_summary(
        report, kw.pop("depth", None), render.parse_columns(columns, rf), tree=tree, console_=con
    )
    return buf.getvalue()


def widest(text: str) -> tuple[int, str]:
    lines = strip_ansi(text).splitlines()
    line = max(lines, key=cell_len)
    return cell_len(line), line


@pytest.mark.parametrize("name", [e.name for e in zoo.catalog()])
def test_every_zoo_model_fits_80_columns(name):
    report = cnncalc.analyze(name)
    params = f"{report.totals.params:,}"
    for form, (tree, rf) in FORMS.items():
        raw = render_summary(report, 80, tree, rf)
        assert "\x1b[" in raw  # colour on: the terminal path, not the plain one
        width, line = widest(raw)
        assert width <= 80, f"{name} {form}: {width} columns\n{line}"
        text = strip_ansi(raw)
        assert re.search(rf"Total params\s+{params}\b", text), f"{name} {form}"
        table = "\n".join(x for x in text.splitlines() if not x.startswith("… and "))
        assert "…" not in table or "names shortened with …" in table, f"{name} {form}"


# Totals from torchvision's "Models and pre-trained weights" table (/work/shared/torchvision_table.md)
PUBLISHED = {"swin_t": "28,288,354", "maxvit_t": "30,919,624", "resnet50": "25,557,032"}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_totals_printed_whole_at_80(name):
    text = strip_ansi(render_summary(cnncalc.analyze(name), 80, tree=True, rf=True))
    assert re.search(rf"^Total params +{PUBLISHED[name]} *$", text, re.MULTILINE)
    # MACs whole too: torchvision's table gives swin_t 4.491 GFLOPS (i.e. GMACs); the exact
    # count in brackets, every digit printed, is that figure to the rounding
    if name == "swin_t":
        m = re.search(r"4\.491 G \(([\d,]+)\)", text)
        assert m, text
        assert round(int(m.group(1).replace(",", "")) / 1e9, 3) == 4.491


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_swin_tree_in_a_real_pty_at_80_and_120():
    from .pty_util import run_in_pty

    r = run_in_pty("summary", "swin_t", "--tree", columns=80)
    assert r.returncode == 0, r.text
    assert "\x1b[" in r.raw
    assert max(cell_len(x) for x in r.text.splitlines()) <= 80, r.text
    assert re.search(r"Total params\s+28,288,354", r.text)
    # what gave way is said: FLOPs left out (with how to see it), types the names say
    assert "(FLOPs left out to fit; " in r.text and "--format markdown/csv/json" in r.text
    assert "(no (type) where the name says it: stochastic_depth_1 is type stochastic_depth)" in (
        r.text
    )
    assert "│ │ │ ├─attn (shifted_window_attention)" in r.text  # guides two wide, names whole
    # 120 columns: as before (four-wide guides, every type, the FLOPs column)
    r = run_in_pty("summary", "swin_t", "--tree", columns=120)
    assert "│   │   │   ├─stochastic_depth_1 (stochastic_depth)" in r.text
    assert "FLOPs" in r.text.split("\n")[2] and "left out" not in r.text
    assert max(cell_len(x) for x in r.text.splitlines()) <= 120


@pytest.mark.parametrize(
    "name,tree,rf", [("swin_t", True, False), ("resnet50", False, True), ("maxvit_t", False, False)]
)
def test_the_note_says_the_narrowest_width_that_shows_every_column(name, tree, rf):
    report = cnncalc.analyze(name)
    text = strip_ansi(render_summary(report, 80, tree, rf))
    need = int(re.search(r"\(FLOPs left out to fit; (\d+) columns", text).group(1))
    wide = strip_ansi(render_summary(report, need, tree, rf))
    assert "left out" not in wide and widest(wide)[0] <= need
    assert re.search(r"^\W*Layer.*FLOPs", wide, re.MULTILINE)  # the FLOPs header is there
    narrower = strip_ansi(render_summary(report, need - 1, tree, rf))
    assert "(FLOPs left out" in narrower


# --- the rules, on small hand-written specs --------------------------------------------------

SPEC = """
name: narrow
input: [3, 32, 32]
blocks:
  a_rather_long_block_name:
    layers:
      - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
        name: a_very_long_convolution_layer_name_indeed
      - relu:
      - stochastic_depth: {p: 0.1}
layers:
  - a_rather_long_block_name:
    name: first_stage_with_a_long_name
  - flatten:
  - linear: {out_features: 10}
    name: classifier
"""


@pytest.fixture
def narrow(tmp_spec):
    return cnncalc.analyze(tmp_spec(SPEC))


def test_wide_terminal_shows_everything(narrow):
    text = strip_ansi(render_summary(narrow, 200, tree=True))
    assert "│   ├─a_very_long_convolution_layer_name_indeed (conv2d)" in text
    assert "│   ├─relu_1 (relu)" in text and "FLOPs" in text and "left out" not in text


def test_types_the_name_says_go_first_with_a_note(narrow):
    rows = render.display_rows(narrow, None, True)
    relu = next(r for r in rows if r.type == "relu")
    sd = next(r for r in rows if r.type == "stochastic_depth")
    conv = next(r for r in rows if r.type == "conv2d")
    terse = NAME_FORMS[1]
    assert name_cell(relu, terse) == "│   ├─relu_1"  # cnncalc's name for an unnamed relu
    assert name_cell(sd, terse) == f"│   └─{sd.label}"  # stochastic_depth_1: the type and _N
    assert name_cell(conv, terse).endswith(" (conv2d)")  # a chosen name keeps its type
    assert render.type_is_name("stochastic_depth_12", "stochastic_depth")
    assert not render.type_is_name("relu1", "relu")  # not cnncalc's 'type_N' form
    assert not render.type_is_name("relu_x", "relu")


def test_short_guides_and_continued_guides(narrow):
    rows = render.display_rows(narrow, None, True)
    conv = next(r for r in rows if r.type == "conv2d")
    assert (
        name_cell(conv, NAME_FORMS[2]) == "│ ├─a_very_long_convolution_layer_name_indeed (conv2d)"
    )
    cell = name_cell(conv, NAME_FORMS[4])  # fine breaks: after '.' and '_'
    assert isinstance(cell, Cell) and cell.indent == "│ │ "
    assert "".join(j + p for j, p in zip(cell.joins, cell.pieces)) == (
        "│ ├─a_very_long_convolution_layer_name_indeed (conv2d)"
    )
    wrapped = render_rich._wrap(cell, 20).split("\n")
    assert all(cell_len(x) <= 20 for x in wrapped)
    assert all(x.startswith("│ │ ") for x in wrapped[1:])  # the sibling's guide continues


def test_narrow_terminal_drops_flops_keeps_figures(narrow):
    text = strip_ansi(render_summary(narrow, 60, tree=True))
    assert widest(text)[0] <= 60
    assert "(FLOPs left out to fit; " in text
    # conv: 8·3·3·3 + 8 = 224 params, 32·32·8 · 3·3·3 = 221,184 MACs, printed whole
    assert f"{8 * 3 * 3 * 3 + 8:,}" in text and "221.184 K" in text
    # linear: 8·32·32·10 + 10 = 81,930 params
    assert re.search(rf"Total params\s+{8 * 3 * 3 * 3 + 8 + 8 * 32 * 32 * 10 + 10:,}", text)


def test_names_shortened_in_the_middle_only_as_a_last_resort(narrow):
    text = strip_ansi(render_summary(narrow, 44, tree=True))
    assert widest(text)[0] <= 44
    assert "names shortened with … to fit; " in text
    need = int(re.search(r"to fit; (\d+) columns", text).group(1))
    whole = strip_ansi(render_summary(narrow, need, tree=True))
    assert "…" not in whole and widest(whole)[0] <= need
    # numbers are never shortened: the parameter count is whole in both
    assert "81,930" in whole and "81,930" in text


def test_middle_ellipsis_and_wrap_text():
    assert render.middle_ellipsis("blocks.0.layers.squeeze_excitation.fc1", 20) == (
        "blocks.0.l…ation.fc1"
    )
    assert len(render.middle_ellipsis("abcdefghij", 5)) == 5
    assert render.middle_ellipsis("short", 10) == "short"
    line = "x: input [3, 800, 800] → output [1000, 91], [1000, 364] (batch 1, shapes)"
    lines = render.wrap_text(line, 40, "  ")
    assert all(len(x) <= 40 for x in lines)
    for shape in ("[3, 800, 800]", "[1000, 91],", "[1000, 364]"):  # never split inside
        assert any(shape in x for x in lines)
    # a long number is never broken, even where a line must be longer
    assert render.wrap_text("= 19,660,800,000,000", 10, "") == ["=", "19,660,800,000,000"]


@pytest.mark.parametrize("style", render_rich.STYLES, ids=lambda s: s.name)
def test_paint_draws_as_rich_table_does(style):
    """:func:`paint` replaces rich's Table (seconds for a thousand rows): same text."""
    from rich.text import Text

    headers, aligns, widths = ["Layer\n(type)", "Params"], ["<", ">"], [8, 7]
    rows, styles = [["ab\ncd", "1,234"], ["x", "5"]], ["bold", None]
    out = []
    for painted in (False, True):
        buf = io.StringIO()
        con = Console(file=buf, width=60, force_terminal=True, color_system="standard")
        if painted:
            table = render_rich.paint(style, headers, aligns, widths, rows, styles, "Title")
            con.print(table, no_wrap=True, crop=False)
        else:
            table = style.table(title="Title")
            for h, a, w in zip(headers, aligns, widths):
                table.add_column(Text(h), justify="left" if a == "<" else "right", width=w)
            for r, s in zip(rows, styles):
                table.add_row(*map(Text, r), style=s)
            con.print(table)
        out.append(strip_ansi(buf.getvalue()))
    assert out[0] == out[1]


# --- compare and explain at 80 columns -------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_compare_deep_models_fit_80_with_stages():
    from .pty_util import run_in_pty

    r = run_in_pty("compare", "swin_t", "maxvit_t", "mvit_v2_s", "--stages", columns=80)
    assert r.returncode == 0, r.text
    assert max(cell_len(x) for x in r.text.splitlines()) <= 80, r.text
    for n in ("28,288,354", "30,919,624", "34,537,744"):  # torchvision's table, whole
        assert n in r.text
    # stages: as many models per table as fit, each table keeping the stage column
    assert "(stages in 2 tables to fit 80 columns)" in r.text


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_compare_six_models_fit_80_in_both_layouts():
    from .pty_util import run_in_pty

    models = ["swin_t", "maxvit_t", "mvit_v2_s", "efficientnet_v2_l"]
    models += ["retinanet_resnet50_fpn", "deeplabv3_resnet50"]
    r = run_in_pty("compare", *models, columns=80)  # more than 4: a row per model
    assert max(cell_len(x) for x in r.text.splitlines()) <= 80, r.text
    flat = " ".join(r.text.split())  # notes wrap at spaces
    assert "left out to fit 80 columns; --layout columns or --format markdown shows" in flat
    # 118,515,272 / 28,288,354 = 4.19 (ratio to the baseline, three digits)
    assert "118,515,272" in r.text and f"{118_515_272 / 28_288_354:.2f}×" in r.text
    r = run_in_pty("compare", *models, "--layout", "columns", columns=80)
    assert max(cell_len(x) for x in r.text.splitlines()) <= 80, r.text
    assert re.search(r"\(models in \d tables to fit 80 columns\)", r.text)
    assert "42,004,074" in r.text  # deeplabv3_resnet50 (torchvision: 42,004,074)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize(
    "name,layer", [("swin_t", "features.0.0"), ("retinanet_resnet50_fpn", "backbone.body.conv1")]
)
def test_explain_fits_80(name, layer):
    from .pty_util import run_in_pty

    r = run_in_pty("explain", name, "--layer", layer, columns=80)
    assert r.returncode == 0, r.text
    assert max(cell_len(x) for x in r.text.splitlines()) <= 80, r.text
    if name == "swin_t":  # patch embedding: a 4×4 stride-4 conv, 3 → 96 channels, 224 → 56
        assert f"= {56 * 56 * 96 * 4 * 4 * 3:,}" in r.text  # MACs 14,450,688, whole
        assert f"(3·224·224)·(96·56·56) = {3 * 224 * 224 * 96 * 56 * 56:,}" in r.text
    else:  # ResNet stem at 800×800: 7×7 stride 2, 3 → 64
        assert f"= {400 * 400 * 64 * 7 * 7 * 3:,}" in r.text  # 1,505,280,000
    # the note of a formula that does not fit beside it goes on the next line, whole
    assert "\n      (one multiply-accumulate per kernel tap per output element)" in r.text


def test_explain_text_unchanged_when_piped():
    from cnncalc import build
    from cnncalc.commands.explain import render_explain
    from cnncalc.explain import explain_graph

    records = explain_graph(build("swin_t"), "features.0.0")
    piped = render_explain(records)
    assert "= 14,450,688    (one multiply-accumulate" in piped  # one line, as before
    assert render_explain(records, 80) != piped
    assert all(len(x) <= 80 for x in render_explain(records, 80).splitlines())


def test_chosen_columns_break_types_and_inputs_before_names_lose_their_middle(narrow):
    cols = "name,type,output_shape,params,connected"
    text = strip_ansi(render_summary(narrow, 60, columns=cols))
    assert widest(text)[0] <= 60
    # 60 columns need the finest breaks: the type column's stochastic_depth breaks after its
    # underscore, not cut: 'stochastic_' on the row's line, 'depth' on the next
    assert re.search(r"stochastic_ +\[8, 32, 32\][^\n]*\n[^\n]*  depth\b", text), text
    assert "81,930" in text


def test_too_many_columns_say_the_table_is_unfitted():
    cols = "name,type,output_shape,params,macs,rf,connected"
    text = strip_ansi(render_summary(cnncalc.analyze("resnet50"), 80, columns=cols))
    assert text.startswith("(these columns cannot fit 80 columns: the table follows unfitted;")
    assert "layer1.0.bn3, layer1.0.downsample.1" in text  # nothing cut: the plain layout
