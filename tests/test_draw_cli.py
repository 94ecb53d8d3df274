"""`cnncalc draw` and `cnncalc explain --svg` through a real subprocess, and the fully connected
comparison that `explain` states for a conv layer."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from cnncalc import build
from cnncalc.errors import CnncalcError
from cnncalc.explain import explain_graph

from .conftest import run_cli
from .svg_geometry import problems

NS = "{http://www.w3.org/2000/svg}"


def test_explain_states_the_fully_connected_cost() -> None:
    # AlexNet 2012 conv1: 3×227×227 → 96×55×55; dense: every input to every output element
    (rec,) = explain_graph(build("alexnet_2012"), "conv1")
    f = next(f for f in rec.formulas if f.label == "as fully connected")
    dense = (3 * 227 * 227) * (96 * 55 * 55)
    assert f.value == dense == 44_892_064_800
    conv_weights = 11 * 11 * 3 * 96  # 34,848 (the biases, 96, are not shared)
    assert f"{round(dense / conv_weights):,}× this layer's 34,848 weights" in f.note
    # linear layers are already fully connected: no comparison there
    (fc,) = explain_graph(build("alexnet_2012"), "fc8")
    assert all(f.label != "as fully connected" for f in fc.formulas)


def test_explain_text_shows_the_comparison() -> None:
    p = run_cli("explain", "lenet5", "--layer", "c1")
    assert p.returncode == 0, p.stderr
    # LeNet C1: 1×32×32 → 6×28×28, 5·5·6 = 150 weights
    dense = (32 * 32) * (6 * 28 * 28)
    assert f"as fully connected = in·out weights = (1·32·32)·(6·28·28) = {dense:,}" in p.stdout
    assert f"{round(dense / 150):,}× this layer's 150 weights" in p.stdout


def test_explain_svg_writes_the_layer_picture(tmp_path) -> None:
    out = tmp_path / "c1.svg"
    p = run_cli("explain", "alexnet_2012", "--layer", "conv1", "--svg", str(out))
    assert p.returncode == 0, p.stderr
    assert "conv1 (conv2d)" in p.stdout  # the text explanation still goes to stdout
    svg = out.read_text()
    root = ET.fromstring(svg)
    assert root.get("class") == "cnncalc-layer"
    assert "55 windows at 0, 4, …, 216" in svg  # ⌊(227 − 11)/4⌋ + 1 = 55, last at 54·4
    p = run_cli("explain", "alexnet_2012", "--svg", str(out))
    assert p.returncode == 1 and p.stderr.startswith("error: --svg draws one layer")
    assert "Traceback" not in p.stderr


def test_draw_layer_option(tmp_path) -> None:
    out = tmp_path / "pool.svg"
    p = run_cli("draw", "googlenet", "--layer", "maxpool1", "-o", str(out))
    assert p.returncode == 0, p.stderr
    svg = out.read_text()
    assert 'class="ceil-extra"' in svg and not problems(svg)
    p = run_cli("draw", "googlenet", "--layer", "fc")
    assert p.returncode == 1 and "has no sliding window" in p.stderr


def test_draw_cli_resnet18(tmp_path) -> None:
    pytest.importorskip("grandalf", reason="drawing needs the [draw] extra (grandalf)")
    out = tmp_path / "r18.svg"
    p = run_cli("draw", "resnet18", "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip() == f"wrote {out}"
    root = ET.fromstring(out.read_text())
    nodes = [g for g in root.iter(f"{NS}g") if g.get("class") == "node"]
    # torchvision resnet18 as cnncalc builds it: 69 layers + the input
    assert len(nodes) == len(build("resnet18").nodes) + 1
    conv1 = next(g for g in nodes if g.get("data-name") == "conv1")
    texts = [t.text for t in conv1.iter(f"{NS}text")]
    assert "conv2d 7×7 /2 p3, 64" in texts  # kernel, stride, padding, out channels
    assert "64×112×112" in texts  # its output shape, on the edge: ⌊(224 + 6 − 7)/2⌋ + 1 = 112
    assert int(conv1.get("data-params")) == 64 * 3 * 7 * 7  # no bias
    edges = [p for p in root.iter(f"{NS}path") if p.get("class") == "edge"]
    # the shortcut of the first block: maxpool → layer1.0.add_1 as its own edge
    assert any(
        e.get("data-src") == "maxpool" and e.get("data-dst") == "layer1.0.add_1" for e in edges
    )


def test_draw_depth_collapses_blocks_and_keeps_skips(tmp_path) -> None:
    pytest.importorskip("grandalf", reason="drawing needs the [draw] extra (grandalf)")
    out = tmp_path / "unet.svg"
    assert run_cli("draw", "unet", "--depth", "1", "-o", str(out)).returncode == 0
    root = ET.fromstring(out.read_text())
    names = {g.get("data-name") for g in root.iter(f"{NS}g") if g.get("class") == "node"}
    assert names == {
        "input",
        "inc",
        "down1",
        "down2",
        "down3",
        "down4",
        "up1",
        "up2",
        "up3",
        "up4",
        "outc",
    }
    pairs = {
        (e.get("data-src"), e.get("data-dst"))
        for e in root.iter(f"{NS}path")
        if e.get("class") == "edge"
    }
    # U-Net's four crop-and-concat skips: the encoder level k feeds decoder up(5 − k)
    assert {("inc", "up4"), ("down1", "up3"), ("down2", "up2"), ("down3", "up1")} <= pairs


def test_draw_train_only_dashed(tmp_path) -> None:
    pytest.importorskip("grandalf", reason="drawing needs the [draw] extra (grandalf)")
    from cnncalc.draw import draw

    svg = draw("googlenet_aux", depth=1)
    root = ET.fromstring(svg)
    aux = [g for g in root.iter(f"{NS}g") if g.get("data-name") in ("aux1", "aux2")]
    assert len(aux) == 2
    for g in aux:
        rect = next(g.iter(f"{NS}rect"))
        assert rect.get("stroke-dasharray")
    dashed = [
        e.get("data-dst")
        for e in root.iter(f"{NS}path")
        if e.get("class") == "edge" and e.get("stroke-dasharray")
    ]
    assert set(dashed) == {"aux1", "aux2"}
    legend = [
        t.text
        for g in root.iter(f"{NS}g")
        if g.get("class") == "legend"
        for t in g.iter(f"{NS}text")
    ]
    assert "train only" in legend and "block (collapsed)" in legend


def test_draw_bad_style() -> None:
    p = run_cli("draw", "lenet5", "--style", "cubes")
    assert p.returncode == 1 and "unknown style 'cubes'" in p.stderr


def test_summary_and_compare_html_cli(tmp_path) -> None:
    pytest.importorskip("grandalf", reason="drawing needs the [draw] extra (grandalf)")
    out = tmp_path / "b0.html"
    p = run_cli("summary", "lenet5", "--format", "html", "-o", str(out))
    assert p.returncode == 0, p.stderr
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script src" not in html
    assert "<link" not in html and "@import" not in html and "url(http" not in html
    # every LeNet-5 layer has its row; the totals as the paper's arithmetic gives them
    assert html.count("<tr data-name=") == len(build("lenet5").nodes)
    assert "61,706" in html  # 156 + 2,416 + 48,120 + 10,164 + 850
    assert 'class="cnncalc-diagram"' in html
    out2 = tmp_path / "cmp.html"
    p = run_cli("compare", "lenet5", "alexnet", "--format", "html", "-o", str(out2))
    assert p.returncode == 0, p.stderr
    html = out2.read_text()
    assert html.count('class="cnncalc-diagram"') >= 2
    assert "(baseline)" in html


def _pty_run(*args: str) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal of 80 columns; (exit code, text)."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    p = subprocess.Popen(
        [sys.executable, "-m", "cnncalc", *args], stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return p.wait(), b"".join(chunks).decode()


def test_draw_to_a_terminal_asks_for_a_file() -> None:
    code, text = _pty_run("draw", "resnet18")
    assert code == 1
    assert "<svg" not in text
    assert "error: draw writes SVG, which a terminal cannot show" in text
    assert "cnncalc draw resnet18 -o resnet18.svg" in text
    assert "Traceback" not in text


def test_draw_without_grandalf_says_what_to_install(monkeypatch) -> None:
    import sys

    from cnncalc.draw.layout import require_grandalf

    monkeypatch.setitem(sys.modules, "grandalf", None)  # import grandalf → ImportError
    with pytest.raises(CnncalcError) as err:
        require_grandalf()
    assert 'pip install "cnncalc[draw]"' in str(err.value.hint)


def test_too_many_boxes_refused_with_a_hint() -> None:
    from cnncalc.draw import MAX_BOXES, draw

    spec = {
        "name": "deep",
        "input": [4, 8, 8],
        "blocks": {"unit": {"layers": [{"conv2d": {"out_channels": 4, "kernel_size": 1}}]}},
        "layers": [{"repeat": MAX_BOXES, "unit": {}, "name": "stack"}],
    }
    with pytest.raises(CnncalcError, match="too many to draw") as err:
        draw(spec)
    assert "--depth" in err.value.hint
    # collapsed, the same network is one box (and the input)
    pytest.importorskip("grandalf", reason="drawing needs the [draw] extra (grandalf)")
    assert draw(spec, depth=1).count('class="node"') == 2


def test_html_receptive_field_figure_says_where_it_stops() -> None:
    """VGG-16's field at its last spatial layer is the published 212 (REFERENCE.md). Swin-T's
    pass follows the permute to channels-last and the layer norms after the 4×4 stride-4 patch
    conv (a field of 4, jump 4), then stops at the first window attention, and the figure must
    say where and why instead of reading as the network's field. ConvNeXt-T (a pure CNN) has a
    field through to its last spatial layer: 1880 = 1688 + (7 − 1)·32 for the 7×7 average pool
    (1688 at features.7.2: tests/test_receptive.py derives it)."""
    from cnncalc import analyze
    from cnncalc.draw.html import _rf_figures

    ((label, text),) = _rf_figures(analyze(build("vgg16")))
    assert label == "Receptive field (last spatial layer)"
    assert text.startswith("212 input pixels at ")
    ((label, text),) = _rf_figures(analyze(build("swin_t")))
    assert label == "Receptive field (last layer it is known for)"
    assert text.startswith("4 input pixels at features.1.0.norm1 (jump 4)")
    assert "not followed past features.1.0.attn (shifted_window_attention): attention mixes" in text
    assert "no sliding-window field" in text and "layout" not in text
    ((label, text),) = _rf_figures(analyze(build("convnext_tiny")))
    assert label == "Receptive field (last spatial layer)"
    assert text == f"{1688 + (7 - 1) * 32} input pixels at classifier.0 (jump {32 * 7})"
