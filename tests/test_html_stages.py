"""The HTML report's stage chart reads channels @ size, whatever layout the model holds.

Swin and ConvNeXt hold their maps channels last (H×W×C) between a permute after the stem and
one before the head, as torchvision does; the chart must still read Swin-T's stages as the
paper gives them (Liu et al. 2021, Table 7: C = 96, doubled at each of the 4 stages, at 1/4,
1/8, 1/16, 1/32 of 224), and say that the layout differs.
"""

from __future__ import annotations

import re

import pytest

import cnncalc
from cnncalc.layout import channel_axes, channels_first

pytest.importorskip("grandalf", reason="the HTML report draws the diagram (cnncalc[draw])")

from cnncalc.draw.html import summary_html_of  # noqa: E402


def _stages(html: str) -> list[str]:
    section = html.split("<h2>Params and MACs per stage</h2>")[1].split("</section>")[0]
    return re.findall(r"<div>([^<]*)</div>", section)


@pytest.mark.parametrize("name", ["swin_t", "convnext_tiny"])
def test_channels_last_stages_read_as_the_paper_gives_them(name):
    html = summary_html_of(name)
    stages = _stages(html)
    # C = 96 · 2^i at 224 / 2^(i+2): 96 @ 56×56, 192 @ 28×28, 384 @ 14×14, 768 @ 7×7
    for i in range(4):
        c, s = 96 * 2**i, 224 // 2 ** (i + 2)
        assert f"/{2 ** (i + 2)}  {c} @ {s}×{s}" in stages, stages
    assert not any("#" in x for x in stages), stages  # one stage per size, no C/H mix-up
    assert "holds its maps channels last (H×W×C, e.g. [56, 56, 96])" in html
    assert "stage (downsampling; last layer C @ H×W)" in html


def test_channels_first_model_has_no_layout_note():
    html = summary_html_of("resnet18")
    assert "channels last" not in html
    assert "/32  512 @ 7×7" in _stages(html)  # ResNet-18's last stage: 512 channels at 7×7


def test_stage_figures_add_up_to_the_totals():
    """Moving the channel axis changes how shapes read, never a figure: the stages' params sum
    to Swin-T's 28,288,354 (torchvision's table)."""
    from cnncalc.comparison import stages_of

    graph = cnncalc.build("swin_t")
    report = cnncalc.analyze(graph)
    view = channels_first(report, channel_axes(graph))
    assert sum(s.params for s in stages_of(view)) == 28_288_354
    assert [r.params for r in view.rows] == [r.params for r in report.rows]
    axes = channel_axes(graph)
    assert axes["features.0.0"] == 0  # the patch-embedding conv: C×H×W
    assert axes["features.0.1"] == 2  # permute dims [1, 2, 0]: H×W×C
    assert axes["permute"] == 0  # back to C×H×W before the pooling head
    assert axes["flatten"] is None  # the rank changed: no channel axis to speak of
