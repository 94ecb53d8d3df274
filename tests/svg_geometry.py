"""Reads an SVG's boxes and texts back and finds overlaps and text outside its box.

The convention checked (cnncalc.draw.svg): every ``<text>`` is a direct child of a ``<g>`` whose
first direct ``<rect>`` child is its box. A text's extent is estimated with the documented
monospace metric (cnncalc.draw.text: ``CHAR_EM`` em per character, ``ASCENT_EM`` above and
``DESCENT_EM`` below the baseline); the browser test measures real glyphs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cnncalc.draw.text import ASCENT_EM, CHAR_EM, DESCENT_EM

NS = "{http://www.w3.org/2000/svg}"
EPS = 0.11  # coordinates are written with one decimal


def boxes_and_texts(svg: str) -> tuple[list[tuple], list[tuple]]:
    """([(x0, y0, x1, y1, label)], [(text, text_extent, box_extent)])."""
    root = ET.fromstring(svg)
    boxes, texts = [], []
    for g in root.iter(f"{NS}g"):
        rects = [c for c in g if c.tag == f"{NS}rect"]
        tx = [c for c in g if c.tag == f"{NS}text"]
        if not tx:
            continue
        assert rects, f"text {tx[0].text!r} has no box"
        r = rects[0]
        x, y = float(r.get("x", 0)), float(r.get("y", 0))
        box = (x, y, x + float(r.get("width")), y + float(r.get("height")), tx[0].text)
        boxes.append(box)
        for t in tx:
            fs = float(t.get("font-size"))
            w = len(t.text or "") * CHAR_EM * fs
            tx0 = float(t.get("x"))
            anchor = t.get("text-anchor", "start")
            if anchor == "middle":
                tx0 -= w / 2
            elif anchor == "end":
                tx0 -= w
            ty = float(t.get("y"))
            texts.append((t.text, (tx0, ty - ASCENT_EM * fs, tx0 + w, ty + DESCENT_EM * fs), box))
    return boxes, texts


def problems(svg: str) -> list[str]:
    boxes, texts = boxes_and_texts(svg)
    out = []
    for text, (a, b, c, d), (x0, y0, x1, y1, _) in texts:
        if a < x0 - EPS or b < y0 - EPS or c > x1 + EPS or d > y1 + EPS:
            out.append(
                f"text {text!r} ({a:.1f},{b:.1f})-({c:.1f},{d:.1f}) leaves its box "
                f"({x0:.1f},{y0:.1f})-({x1:.1f},{y1:.1f})"
            )
    # sweep over x: compare each box with the boxes that start before it ends
    bs = sorted(boxes)
    for i, (x0, y0, x1, y1, t) in enumerate(bs):
        for u0, v0, u1, v1, s in bs[i + 1 :]:
            if u0 >= x1 - EPS:
                break
            if v0 < y1 - EPS and v1 > y0 + EPS and u1 > x0 + EPS:
                out.append(f"boxes of {t!r} and {s!r} overlap")
    return out
