"""The one-file HTML report: ``summary --format html`` and ``compare --format html``.

Self-contained and offline: the CSS, the script and the diagrams are inline; nothing is loaded
from the network (no fonts, no CDN). Without script the page still shows everything; the script
adds table sorting and filtering, diagram zoom and the collapse-blocks switch, and writes a
status line (``#cnncalc-status``: ``ok rows=N diagram=W×H`` or the first error) that the
browser test reads.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..render import fmt_bytes, fmt_count, fmt_ops, fmt_rf, fmt_shape, memory_lines
from .text import esc

if TYPE_CHECKING:  # pragma: no cover
    from ..comparison import Comparison
    from ..graph import Graph
    from ..report import Report

__all__ = ["summary_html", "summary_html_of", "compare_html"]

TOP = 40  # layers in the per-layer bar charts (the largest)

CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;
color:#222;background:#fafafa}
header{background:#1f3b57;color:#fff;padding:12px 20px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;opacity:.85}
main{padding:12px 20px}section{background:#fff;border:1px solid #ddd;border-radius:6px;
margin:0 0 14px;padding:10px 14px}h2{font-size:16px;margin:4px 0 10px}
.figs{display:flex;flex-wrap:wrap;gap:6px 28px}.figs div{min-width:210px}
.figs b{display:block;font-size:12px;color:#555;font-weight:normal}
table{border-collapse:collapse;font:12px "DejaVu Sans Mono",Menlo,Consolas,monospace}
th,td{padding:2px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th{position:sticky;top:0;background:#eef2f6;cursor:pointer;user-select:none}
td.l,th.l{text-align:left}tr.hl td{background:#fff3b0}tr.to td{color:#777;font-style:italic}
.tablebox{max-height:520px;overflow:auto;border:1px solid #ddd}
.tools{margin:0 0 8px;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.tools input[type=search]{width:260px;padding:3px 6px}
.diagram{overflow:auto;max-height:720px;border:1px solid #ddd;background:#fff}
.diagram svg{display:block}.hidden{display:none}
.bars{display:grid;grid-template-columns:minmax(120px,max-content) 1fr 1fr;gap:2px 10px;
font:12px "DejaVu Sans Mono",Menlo,Consolas,monospace;align-items:center}
.bars .h{font-weight:bold;font-family:system-ui,sans-serif}
.bar{position:relative;height:14px;background:#f0f0f0}.bar span{position:absolute;left:0;top:0;
bottom:0;background:#6baed6}.bar.m span{background:#fd8d3c}
.bar i{position:relative;font-style:normal;padding-left:4px;font-size:11px;line-height:14px}
ul.warn li{color:#8a4b00}ul.notes li{color:#444}p.note{color:#444;font-size:.9em}
.cols{display:flex;gap:14px;align-items:flex-start;overflow:auto}
.cols>section{flex:1 1 0;min-width:380px}
"""

SCRIPT = r"""
(function(){
var st=document.getElementById('cnncalc-status'),errs=[];
window.addEventListener('error',function(e){errs.push(String(e.message));
 st.textContent='error: '+errs.join('; ');document.title='ERROR '+document.title;});
function num(td){var v=td.getAttribute('data-v');return v===null?td.textContent:parseFloat(v);}
document.querySelectorAll('table.sortable').forEach(function(t){
 var ths=t.tHead.rows[0].cells;
 Array.prototype.forEach.call(ths,function(th,i){th.addEventListener('click',function(){
  var asc=th.getAttribute('data-dir')!=='asc';th.setAttribute('data-dir',asc?'asc':'desc');
  var rows=Array.prototype.slice.call(t.tBodies[0].rows);
  rows.sort(function(a,b){var x=num(a.cells[i]),y=num(b.cells[i]);
   var c=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));
   return asc?c:-c;});
  rows.forEach(function(r){t.tBodies[0].appendChild(r);});});});});
document.querySelectorAll('input[data-filter]').forEach(function(inp){
 var t=document.getElementById(inp.getAttribute('data-filter'));
 inp.addEventListener('input',function(){var q=inp.value.toLowerCase();var n=0;
  Array.prototype.forEach.call(t.tBodies[0].rows,function(r){
   var show=!q||r.getAttribute('data-k').indexOf(q)>=0;r.style.display=show?'':'none';
   if(show)n++;});
  var c=document.getElementById(inp.getAttribute('data-count'));if(c)c.textContent=n;});});
document.querySelectorAll('.dg').forEach(function(box){
 var scale=1,views=box.querySelectorAll('.diagram');
 function cur(){for(var i=0;i<views.length;i++)if(!views[i].classList.contains('hidden'))
  return views[i];return views[0];}
 function apply(){views.forEach(function(v){var s=v.querySelector('svg');
  var w=parseFloat(s.getAttribute('width')),h=parseFloat(s.getAttribute('height'));
  s.style.width=(w*scale)+'px';s.style.height=(h*scale)+'px';});}
 box.querySelectorAll('[data-zoom]').forEach(function(b){b.addEventListener('click',function(){
  var z=b.getAttribute('data-zoom');
  if(z==='fit'){var v=cur(),s=v.querySelector('svg');
   scale=Math.min(1,(v.clientWidth-4)/parseFloat(s.getAttribute('width')));}
  else if(z==='1')scale=1;else scale*=parseFloat(z);apply();});});
 var cb=box.querySelector('input[data-collapse]');
 if(cb)cb.addEventListener('change',function(){views[0].classList.toggle('hidden',cb.checked);
  views[1].classList.toggle('hidden',!cb.checked);});
 box.addEventListener('click',function(e){var g=e.target.closest&&e.target.closest('g.node');
  if(!g)return;var scope=box.closest('.model')||document;
  var r=scope.querySelector('tr[data-name="'+g.getAttribute('data-name')+'"]');
  if(!r)return;document.querySelectorAll('tr.hl').forEach(function(x){x.classList.remove('hl');});
  r.classList.add('hl');r.scrollIntoView({block:'center'});});});
setTimeout(function(){
 if(errs.length)return;
 var rows=0;document.querySelectorAll('table.layers').forEach(function(t){
  rows+=t.tBodies[0].rows.length;});
 var boxes=[];document.querySelectorAll('.diagram:not(.hidden) svg').forEach(function(s){
  var r=s.getBoundingClientRect();boxes.push(Math.round(r.width)+'x'+Math.round(r.height));});
 st.setAttribute('data-ms',String(Math.round(performance.now())));
 st.textContent='ok rows='+rows+' diagram='+(boxes.join(',')||'none');},0);
})();
"""


def _page(title: str, subtitle: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header><main>"
        + "\n".join(body)
        + '<p id="cnncalc-status" style="color:#999;font-size:11px">loading</p>'
        + f"</main><script>{SCRIPT}</script></body></html>\n"
    )


def _figures(pairs: list[tuple[str, str]]) -> str:
    return (
        '<div class="figs">'
        + "".join(f"<div><b>{esc(k)}</b>{esc(v)}</div>" for k, v in pairs)
        + "</div>"
    )


def _bars(items: list[tuple[str, int, int]], head: tuple[str, str, str]) -> str:
    top_p = max((p for _, p, _ in items), default=0) or 1
    top_m = max((m for _, _, m in items), default=0) or 1
    out = ['<div class="bars">'] + [f'<div class="h">{esc(h)}</div>' for h in head]
    for name, p, m in items:
        out.append(f"<div>{esc(name)}</div>")
        out.append(
            f'<div class="bar" title="{p:,} params"><span style="width:{100 * p / top_p:.2f}%">'
            f"</span><i>{fmt_count(p)}</i></div>"
        )
        out.append(
            f'<div class="bar m" title="{m:,} MACs"><span style="width:{100 * m / top_m:.2f}%">'
            f"</span><i>{fmt_ops(m)}</i></div>"
        )
    out.append("</div>")
    return "".join(out)


def _diagram_block(graph: Graph, report: Report, uid: str) -> str:
    from . import draw_graph

    full = draw_graph(graph, report)
    collapsible = any("." in n.name for n in graph.nodes)
    tools = (
        '<div class="tools"><button data-zoom="1.25">zoom +</button>'
        '<button data-zoom="0.8">zoom −</button><button data-zoom="fit">fit width</button>'
        '<button data-zoom="1">100 %</button>'
    )
    views = f'<div class="diagram" id="{uid}-full">{_strip(full, uid + "f")}</div>'
    if collapsible:
        tools += '<label><input type="checkbox" data-collapse> collapse blocks</label>'
        blocks = draw_graph(graph, report, depth=1)
        views += f'<div class="diagram hidden" id="{uid}-blocks">{_strip(blocks, uid + "b")}</div>'
    tools += " <small>click a box to find its row</small></div>"
    return f'<div class="dg">{tools}{views}</div>'


def _strip(svg: str, uid: str) -> str:
    """An SVG document for inlining: its ids made unique in the page (the arrow marker)."""
    return svg.replace('id="arrow"', f'id="arrow-{uid}"').replace(
        "url(#arrow)", f"url(#arrow-{uid})"
    )


def _layer_table(report: Report, uid: str) -> str:
    head = (
        "<thead><tr><th class=l>#</th><th class=l>layer</th><th class=l>type</th>"
        "<th class=l>output shape</th><th>params</th><th>MACs</th><th>FLOPs</th>"
        "<th>RF size/jump/start</th><th class=l>line</th></tr></thead>"
    )
    rows = []
    for i, r in enumerate(report.rows):
        cls = ' class="to"' if r.train_only else ""
        rf = r.receptive_field
        rfv = rf["size"][0] if rf else -1
        rows.append(
            f'<tr data-name="{esc(r.name)}" data-k="{esc((r.name + " " + r.type).lower())}"'
            f'{cls}><td data-v="{i}">{i + 1}</td><td class=l>{esc(r.name)}</td>'
            f"<td class=l>{esc(r.type)}{' (train only)' if r.train_only else ''}</td>"
            f"<td class=l>{esc('×'.join(map(str, r.output_shape)))}</td>"
            f'<td data-v="{r.params}">{fmt_count(r.params)}</td>'
            f'<td data-v="{r.macs}">{fmt_count(r.macs)}</td>'
            f'<td data-v="{r.flops}">{fmt_count(r.flops)}</td>'
            f'<td data-v="{rfv}">{esc(fmt_rf(rf))}</td>'
            f'<td class=l data-v="{r.line or 0}">{r.line or ""}</td></tr>'
        )
    n = len(report.rows)
    return (
        f'<div class="tools"><input type="search" placeholder="filter layers by name or type" '
        f'data-filter="{uid}-t" data-count="{uid}-n"> <span><span id="{uid}-n">{n}</span> of '
        f"{n} layers; click a header to sort</span></div>"
        f'<div class="tablebox"><table class="sortable layers" id="{uid}-t">{head}<tbody>'
        + "".join(rows)
        + "</tbody></table></div>"
    )


def _rf_figures(report: Report) -> list[tuple[str, str]]:
    """The field of the last layer it is known for, and, when the pass stopped at a layer that
    still has spatial axes (attention, a reshape), where it stopped and why: the figure
    is then not the network's receptive field and must not read as one."""
    last = lost = None
    for r in report.rows:
        if r.receptive_field:
            last = r
        elif last is not None and len(r.output_shape) >= 2:
            lost = r
            break
    if last is None:
        return []
    rf = last.receptive_field
    size = "×".join(map(str, rf["size"])) if len(set(rf["size"])) > 1 else str(rf["size"][0])
    text = f"{size} input pixels at {last.name} (jump {fmt_rf(rf).split('/')[1]})"
    if lost is not None:
        from ..receptive import stop_reason

        return [
            (
                "Receptive field (last layer it is known for)",
                f"{text}; not followed past {lost.name} ({lost.type}): {stop_reason(lost.type)}",
            )
        ]
    return [("Receptive field (last spatial layer)", text)]


def _stage_shape(shape: tuple[int, ...], key: str) -> str:
    """A stage's output shape as channels @ size ('96 @ 56×56'); a token sequence or the flat
    head as its axes ('197×768', '1000')."""
    if len(shape) < 2 or key.startswith("seq"):
        return "×".join(map(str, shape))
    return f"{shape[0]} @ {'×'.join(map(str, shape[1:]))}"


def _row(report: Report, name: str) -> Any:
    return next(r for r in report.rows if r.name == name)


def _model_sections(graph: Graph, report: Report, uid: str, table: bool = True) -> list[str]:
    from ..comparison import stages_of
    from ..layout import channel_axes, channels_last_span

    t = report.totals
    figs = [
        ("Params", f"{fmt_count(t.params)} ({fmt_count(t.trainable_params)} trainable)"),
        ("MACs", f"{fmt_ops(t.macs)} ({fmt_count(t.macs)})"),
        ("FLOPs", f"{fmt_ops(t.flops)}"),
        ("Layers", f"{t.layers} ({t.layers_with_weights} with weights)"),
        (f"Params size ({report.dtype})", fmt_bytes(t.params_bytes)),
        ("Activations (forward)", fmt_bytes(t.activation_bytes)),
        ("Estimated total", fmt_bytes(t.total_bytes)),
        *memory_lines(report),
        *_rf_figures(report),
    ]
    out = [f"<section><h2>Figures</h2>{_figures(figs)}</section>"]
    warn = "".join(
        f"<li>[{esc(w['code'])}] {esc(w['layer'])}: {esc(w['message'])}</li>"
        for w in report.warnings
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in report.notes)
    if warn or notes:
        out.append(
            "<section><h2>Warnings and caveats</h2>"
            + (f'<ul class="warn">{warn}</ul>' if warn else "")
            + (f'<ul class="notes">{notes}</ul>' if notes else "")
            + "</section>"
        )
    out.append(f"<section><h2>Diagram</h2>{_diagram_block(graph, report, uid)}</section>")
    axes = channel_axes(graph)
    stages = stages_of(report, axes)  # Swin's [56, 56, 96] is 96 @ 56×56
    st_items = [(f"{s.key}  {_stage_shape(s.shape, s.key)}", s.params, s.macs) for s in stages]
    span = channels_last_span(report, axes)
    layout_note = ""
    if span is not None:
        first, last, n = span
        layout_note = (
            f'<p class="note">Shapes read channels @ height×width. From {esc(first)} to '
            f"{esc(last)} ({n} layers) this model holds its maps channels last (H×W×C, e.g. "
            f"{esc(fmt_shape(_row(report, first).output_shape))}): the stages above read them "
            "channels first.</p>"
        )
    heavy = sorted(
        report.rows,
        key=lambda r: max(r.params / (t.params or 1), r.macs / (t.macs or 1)),
        reverse=True,
    )[:TOP]
    heavy_names = {r.name for r in heavy}
    ly_items = [(r.name, r.params, r.macs) for r in report.rows if r.name in heavy_names]
    out.append(
        "<section><h2>Params and MACs per stage</h2>"
        + _bars(st_items, ("stage (downsampling; last layer C @ H×W)", "params", "MACs"))
        + layout_note
        + "</section>"
    )
    out.append(
        f"<section><h2>Params and MACs per layer (the {len(ly_items)} largest, in order)</h2>"
        + _bars(ly_items, ("layer", "params", "MACs"))
        + "</section>"
    )
    if table:
        out.append(f"<section><h2>Layers</h2>{_layer_table(report, uid)}</section>")
    return out


def summary_html_of(source: Any, input_shape: Any = None, **options: Any) -> str:
    """Build and analyze a spec (``cnncalc.analyze``'s options), then :func:`summary_html`."""
    from .. import analyze, build

    graph = build(
        source,
        input_shape,
        variant=options.pop("variant", None),
        variables=options.pop("variables", None),
        freeze=options.pop("freeze", None),
    )
    return summary_html(graph, analyze(graph, **options))


def summary_html(graph: Graph, report: Report) -> str:
    """The summary of one model as a self-contained HTML page."""
    ins = ", ".join("×".join(map(str, s)) for s in report.input_shapes.values())
    outs = ", ".join("×".join(map(str, s)) for s in report.output_shapes.values())
    sub = (
        f"input {ins} → output {outs}; batch {report.batch}, {report.dtype}, "
        f"{report.convention} convention; "
        f"{report.totals.params:,} params, {fmt_ops(report.totals.macs)} MACs"
    )
    body = ['<div class="model">', *_model_sections(graph, report, "m0"), "</div>"]
    body.append(_data_tag({"name": report.name, "layers": len(report.rows)}))
    return _page(f"cnncalc: {report.name}", sub, body)


def compare_html(c: Comparison) -> str:
    """Several models side by side: the metrics with ratios, then each model's figures, charts,
    collapsed diagram and layer table in its own column."""
    from .. import build
    from ..render_compare import fmt_ratio

    metrics = [
        ("Input", lambda m: "×".join(map(str, m.input_shape)), None),
        ("Output", lambda m: "×".join(map(str, m.output_shape)), None),
        ("Params", lambda m: fmt_count(m.totals.params), "params"),
        ("MACs", lambda m: fmt_ops(m.totals.macs), "macs"),
        ("FLOPs", lambda m: fmt_ops(m.totals.flops), "flops"),
        (
            "Activations (forward)",
            lambda m: fmt_bytes(m.totals.activation_bytes),
            "activation_bytes",
        ),
        ("Params size", lambda m: fmt_bytes(m.totals.params_bytes), "params_bytes"),
        ("Estimated total", lambda m: fmt_bytes(m.totals.total_bytes), "total_bytes"),
        ("Depth", lambda m: str(m.depth), "depth"),
    ]
    head = (
        "<tr><th class=l>metric</th>"
        + "".join(f"<th>{esc(m.label)}{' (baseline)' if m.baseline else ''}</th>" for m in c.models)
        + "</tr>"
    )
    rows = []
    for label, get, key in metrics:
        cells = []
        for m in c.models:
            if m.error is not None:  # could not take the settings: said once, below the table
                cells.append("<td>—</td>")
                continue
            v = get(m)
            if key and not m.baseline and m.ratios.get(key) is not None:
                v += f" ({fmt_ratio(m.ratios[key])})"
            cells.append(f"<td>{esc(v)}</td>")
        rows.append(f"<tr><td class=l>{esc(label)}</td>{''.join(cells)}</tr>")
    body = [
        "<section><h2>Side by side</h2><table><thead>"
        + head
        + "</thead><tbody>"
        + "".join(rows)
        + "</tbody></table><p><small>(×) = ratio to the baseline, the first model given. "
        "Depth: conv/linear layers on the longest path.</small></p>"
        + "".join(f"<p>{esc(m.label)}: {esc(m.error)}</p>" for m in c.models if m.error)
        + "</section>",
        "<section><h2>Params and MACs per model</h2>"
        + _bars(
            [(m.label, m.totals.params, m.totals.macs) for m in c.ok],
            ("model", "params", "MACs"),
        )
        + "</section>",
    ]
    cols = []
    for i, m in enumerate(c.ok):
        graph = build(m.source, m.input_shape, variant=m.variant, variables=c.variables)
        report = m.report
        assert report is not None
        cols.append(
            f'<section class="model"><h2>{esc(m.label)}</h2>'
            + "".join(_model_sections(graph, report, f"m{i}"))
            + "</section>"
        )
    body.append('<div class="cols">' + "".join(cols) + "</div>")
    body.append(
        _data_tag(
            {
                "models": [m.label for m in c.ok],
                "layers": sum(len(m.report.rows) for m in c.models if m.report),
            }
        )
    )
    names = ", ".join(m.label for m in c.models)
    return _page(f"cnncalc: {names}", f"compared at batch {c.models[0].report.batch}", body)


def _data_tag(d: dict[str, Any]) -> str:
    return f'<script type="application/json" id="cnncalc-data">{json.dumps(d)}</script>'
