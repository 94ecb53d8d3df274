"""The HTML report and the SVGs opened in headless Chromium, as a person would open them:
the page renders without console errors, its script reports the table's row count and a
non-empty diagram, a screenshot is taken, and the diagram's text (measured with the real
fonts, getBBox) stays inside its boxes."""

from __future__ import annotations

import re
import struct

import pytest

from .browser import chromium_path, dump_dom, screenshot

pytestmark = pytest.mark.skipif(
    chromium_path() is None,
    reason="headless Chromium not installed (Debian: apt-get install -y chromium)",
)
pytest.importorskip("grandalf", reason="drawing needs the [draw] extra (grandalf)")

from cnncalc import analyze, build  # noqa: E402
from cnncalc.draw import draw_graph  # noqa: E402
from cnncalc.draw.html import compare_html, summary_html  # noqa: E402
from cnncalc.draw.layer import layer_svg  # noqa: E402

STATUS = re.compile(r'id="cnncalc-status"[^>]*>([^<]*)<')


def _status(dom: str) -> str:
    m = STATUS.search(dom)
    assert m, "no status element in the dumped DOM"
    return m.group(1)


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_summary_report_renders(tmp_path) -> None:
    graph = build("resnet18")
    report = analyze(graph)
    page = tmp_path / "resnet18.html"
    html = summary_html(graph, report)
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html  # nothing from the network
    page.write_text(html, encoding="utf-8")
    dom, console = dump_dom(page)
    assert console == [], console
    status = _status(dom)
    m = re.fullmatch(r"ok rows=(\d+) diagram=(\d+)x(\d+)", status)
    assert m, status
    # one table row per layer: resnet18 as built here has 69 (conv1 … fc)
    assert int(m.group(1)) == len(report.rows) == len(graph.nodes)
    assert int(m.group(2)) > 100 and int(m.group(3)) > 1000  # a tall diagram, drawn
    png = tmp_path / "resnet18.png"
    assert screenshot(page, png) == []
    assert _png_size(png) == (1280, 1600)
    assert png.stat().st_size > 20_000  # a blank page compresses to a few KB


PROBE = """<p id="probe">none</p><script>
window.addEventListener('load', function () { setTimeout(function () {
  var t = document.querySelector('table.layers'), th = t.tHead.rows[0].cells[4];
  th.click(); th.click();  // params: ascending, then descending
  var first = t.tBodies[0].rows[0].getAttribute('data-name');
  var inp = document.querySelector('input[data-filter]');
  inp.value = 'conv'; inp.dispatchEvent(new Event('input'));
  var shown = Array.prototype.filter.call(t.tBodies[0].rows,
    function (r) { return r.style.display !== 'none'; }).length;
  var box = document.querySelector('.diagram g.node[data-name="layer2.0.conv1"] rect');
  box.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  var hl = document.querySelector('tr.hl').getAttribute('data-name');
  document.querySelector('input[data-collapse]').click();
  var view = document.querySelector('.diagram:not(.hidden)');
  var boxes = view.querySelectorAll('g.node').length;
  document.getElementById('probe').textContent = [first, shown, boxes, hl].join(' ');
}, 10); });
</script>"""


def test_report_sorts_filters_and_collapses(tmp_path) -> None:
    """Click the params header twice, type 'conv' in the filter, click a box of the diagram,
    tick 'collapse blocks'."""
    graph = build("resnet18")
    html = summary_html(graph, analyze(graph)).replace("</body>", PROBE + "</body>")
    page = tmp_path / "probe.html"
    page.write_text(html, encoding="utf-8")
    dom, console = dump_dom(page)
    assert console == [], console
    m = re.search(r'id="probe">([^<]*)<', dom)
    first, shown, boxes, hl = m.group(1).split()
    assert hl == "layer2.0.conv1"  # clicking a box highlights its table row
    # the largest layers: layer4's 3×3 convs, 512·512·3·3 = 2,359,296 params each
    assert graph.by_name[first].type == "conv2d"
    assert first in {"layer4.0.conv2", "layer4.1.conv1", "layer4.1.conv2"}
    assert analyze(graph).row(first).params == 512 * 512 * 3 * 3
    # the filter matches name or type: every conv2d, plus names containing 'conv'
    expected = sum("conv" in (n.name + " " + n.type).lower() for n in graph.nodes)
    assert int(shown) == expected
    # collapsed: conv1 bn1 relu maxpool, 4 stages of 2 blocks → layer1 … layer4, avgpool,
    # flatten, fc, and the input; depth 1 keeps the top-level names
    top = {n.name.split(".")[0] for n in graph.nodes}
    assert int(boxes) == len(top) + 1


def test_compare_report_renders(tmp_path) -> None:
    from cnncalc.comparison import compare

    c = compare(["resnet18", "squeezenet1_1"])
    page = tmp_path / "cmp.html"
    page.write_text(compare_html(c), encoding="utf-8")
    dom, console = dump_dom(page)
    assert console == [], console
    m = re.fullmatch(r"ok rows=(\d+) diagram=(.*)", _status(dom))
    assert m
    assert int(m.group(1)) == sum(len(build(n).nodes) for n in ("resnet18", "squeezenet1_1"))
    assert len(m.group(2).split(",")) == 2  # one diagram per model


CHECK = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>check</title></head><body>
%s
<p id="cnncalc-status">loading</p>
<script>
var bad = [], n = 0;
document.querySelectorAll('svg g').forEach(function (g) {
  var rect = null, texts = [];
  Array.prototype.forEach.call(g.children, function (c) {
    if (c.tagName === 'rect' && !rect) rect = c;
    if (c.tagName === 'text') texts.push(c);
  });
  if (!texts.length) return;
  var r = rect.getBBox();
  texts.forEach(function (t) {
    n++;
    var w = t.getComputedTextLength(), b = t.getBBox();
    if (b.x < r.x - 0.5 || b.x + w > r.x + r.width + 0.5)
      bad.push('x: ' + t.textContent);
    // the glyphs' baseline box: ascent of capitals 0.73 em, descenders 0.24 em
    var fs = parseFloat(t.getAttribute('font-size')), base = parseFloat(t.getAttribute('y'));
    if (base - 0.73 * fs < r.y - 0.5 || base + 0.24 * fs > r.y + r.height + 0.5)
      bad.push('y: ' + t.textContent);
  });
});
var s = document.querySelector('svg').getBoundingClientRect();
document.getElementById('cnncalc-status').textContent =
  (bad.length ? 'bad ' + bad.slice(0, 5).join(' | ') : 'ok') + ' texts=' + n +
  ' svg=' + Math.round(s.width) + 'x' + Math.round(s.height);
</script></body></html>"""


def test_svg_text_fits_with_real_fonts(tmp_path) -> None:
    """One page (one browser start) with a diagram of each kind; the status counts its texts."""
    svgs = []
    for name, depth in (("inception_v3", None), ("unet", 1)):
        graph = build(name)
        svgs.append(draw_graph(graph, analyze(graph), depth=depth))
    lenet = build("lenet5")
    svgs.append(draw_graph(lenet, analyze(lenet), style="volumes"))
    svgs.append(layer_svg(build("alexnet_2012"), "conv1"))
    svgs.append(layer_svg(build("googlenet"), "maxpool1"))
    page = tmp_path / "check.html"
    page.write_text(CHECK % "\n".join(svgs), encoding="utf-8")
    dom, console = dump_dom(page)
    assert console == [], console
    status = _status(dom)
    assert status.startswith("ok "), status
    n_texts = sum(svg.count("<text") for svg in svgs)
    assert f"texts={n_texts} " in status
    w, h = map(int, re.search(r"svg=(\d+)x(\d+)", status).groups())
    assert w > 0 and h > 0
