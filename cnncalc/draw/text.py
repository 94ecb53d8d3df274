"""Text in SVG without a font engine: a documented width estimate and escaping.

Every diagram's text uses a monospace font stack (``FONT``) whose faces all advance close to
0.6 em per character: DejaVu Sans Mono 0.602 (regular and bold), Liberation Mono and Courier
0.600, Menlo 0.602, Consolas 0.550. ``text_width`` uses ``CHAR_EM = 0.62`` em, a little more
than the widest, so a box sized with it holds its text in any of them. The browser test
measures the rendered text (``getBBox``) and checks it stays inside its box.
"""

from __future__ import annotations

__all__ = ["FONT", "CHAR_EM", "ASCENT_EM", "DESCENT_EM", "text_width", "esc", "fmt_si"]

FONT = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace"
CHAR_EM = 0.62
#: above and below the baseline, in em (DejaVu Sans Mono: ascender 0.76, descender 0.24)
ASCENT_EM = 0.8
DESCENT_EM = 0.25


def text_width(text: str, size: float) -> float:
    """Estimated advance width of ``text`` at font ``size`` px (see the module doc)."""
    return len(text) * CHAR_EM * size


def esc(text: str) -> str:
    """Escape for SVG/HTML text and attribute values."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def fmt_si(n: int) -> str:
    """Compact: 9408 → '9.41K', 118013952 → '118M', 1814073344 → '1.81G' (3 significant digits)."""
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(n) >= scale:
            v = n / scale
            return (f"{v:.3g}" if v < 1000 else f"{v:.0f}") + unit
    return str(n)
