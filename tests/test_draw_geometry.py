"""Every zoo family draws without overlapping boxes or text outside its box (issue 14).

Cheap by sampling: the first and the last member of each zoo file (members of one file share
their structure; the last is usually the largest), each drawn in full and with ``--depth 1``.
``CNNCALC_DRAW_ALL=1`` checks every member.
"""

from __future__ import annotations

import math
import os

import pytest

pytest.importorskip("grandalf", reason="drawing needs the [draw] extra (grandalf)")

from cnncalc import build  # noqa: E402
from cnncalc.analysis import analyze_graph  # noqa: E402
from cnncalc.draw import draw_graph  # noqa: E402
from cnncalc.zoo import zoo_members  # noqa: E402

from .svg_geometry import problems  # noqa: E402


def _sample() -> list[str]:
    members = [m for m in zoo_members() if m.spec is not None]
    if os.environ.get("CNNCALC_DRAW_ALL"):
        return [m.name for m in members]
    by_file: dict[str, list[str]] = {}
    for m in members:
        by_file.setdefault(str(m.file), []).append(m.name)
    return sorted({n for names in by_file.values() for n in (names[0], names[-1])})


@pytest.mark.parametrize("name", _sample())
def test_zoo_model_draws_without_overlaps(name: str) -> None:
    graph = build(name)
    report = analyze_graph(graph)
    for depth in (None, 1):
        svg = draw_graph(graph, report, depth=depth)
        found = problems(svg)
        assert not found, f"{name} depth={depth}: " + "; ".join(found[:5])


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "vgg16", "vit_b_16", "unet"])
def test_volumes_style_without_overlaps(name: str) -> None:
    svg = draw_graph(build(name), analyze_graph(build(name)), style="volumes")
    found = problems(svg)
    assert not found, "; ".join(found[:5])


def test_volumes_sizes_follow_log_channels_and_size() -> None:
    from cnncalc.draw.volumes import box_size

    # thickness 4 + 4·log2(C), height 8 + 12·log2(H), recess (8 + 12·log2(W)) / 2
    assert box_size((64, 56, 56)) == (
        4 + 4 * 6,
        8 + 12 * math.log2(56),
        (8 + 12 * math.log2(56)) / 2,
    )
    t1, h1, _ = box_size((3, 224, 224))
    t2, h2, _ = box_size((512, 7, 7))
    assert t2 > t1 and h1 > h2


def test_checker_finds_overlap_and_overflow() -> None:
    """The checker itself: two overlapping boxes and a text wider than its box are reported."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg">'
        '<g><rect x="0" y="0" width="100" height="20"/>'
        '<text x="50" y="14" font-size="10" text-anchor="middle">ok</text></g>'
        '<g><rect x="90" y="10" width="50" height="20"/>'
        '<text x="92" y="24" font-size="10">far too long for this box</text></g>'
        "</svg>"
    )
    found = problems(svg)
    assert any("overlap" in p for p in found)
    assert any("leaves its box" in p for p in found)
    assert len(found) == 2
