"""The one-layer pictures: window positions against the formulas, and what the SVG animates.

Expected positions are written from the definitions: window i of a conv/pool starts at i·S in
padded coordinates and reads start + k·D (k < F); a transposed conv is a stride-1 conv over the
input with S − 1 zeros between pixels, padded D·(F − 1) − P (Dumoulin & Visin 2016, §4).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from cnncalc import build
from cnncalc.draw.layer import axis_plan, layer_svg
from cnncalc.errors import CnncalcError

from .svg_geometry import problems

NS = "{http://www.w3.org/2000/svg}"


def test_conv_windows_alexnet_conv1() -> None:
    # AlexNet 2012 conv1: 227, F 11, S 4, P 0 → (227 − 11)/4 + 1 = 55 windows, none uncovered
    p = axis_plan(227, 11, 4)
    assert p.out == 55
    assert p.starts == tuple(4 * i for i in range(55))
    assert p.taps(54) == tuple(216 + k for k in range(11))
    assert p.taps(54)[-1] == 226  # the last input pixel
    assert p.uncovered == () and not p.ceil_extra


def test_conv_uncovered_torchvision_alexnet() -> None:
    # torchvision AlexNet conv1: 224 + 2·2 = 228 padded; windows at 0 … 216 end at 226:
    # (224 + 4 − 11) mod 4 = 1 padded position (227) no window reads
    p = axis_plan(224, 11, 4, 2, 2)
    assert p.frame == 228 and p.out == 55
    assert p.starts[-1] == 54 * 4 == 216
    assert p.uncovered == (227,)
    assert p.inputs == tuple(range(2, 226))


def test_dilation_gaps() -> None:
    # W 5, F 3, S 2, P 1, D 2: effective kernel 2·(3 − 1) + 1 = 5; (5 + 2 − 5)/2 + 1 = 2 windows
    p = axis_plan(5, 3, 2, 1, 1, 2)
    assert p.out == 2
    assert p.taps(0) == (0, 2, 4)
    assert p.taps(1) == (2, 4, 6)


def test_ceil_mode_pooling_googlenet_maxpool1() -> None:
    # GoogLeNet maxpool1: 112, F 3, S 2, ceil: ⌈(112 − 3)/2⌉ + 1 = 56 (floor: 55); window 55
    # starts at 110 < 112 (inside the input), so PyTorch keeps it; it reads 110, 111, 112
    p = axis_plan(112, 3, 2, ceil_mode=True)
    assert p.out == 56 and p.ceil_extra
    assert p.starts[-1] == 110
    assert p.taps(55) == (110, 111, 112)
    assert max(p.inputs) == 111  # 112 lies past the input: the partial window
    floor = axis_plan(112, 3, 2)
    assert floor.out == 55 and not floor.ceil_extra
    assert floor.uncovered == (111,)  # (112 − 3) mod 2 = 1


def test_ceil_mode_window_starting_in_padding_dropped() -> None:
    # W 5, F 2, S 2, P 1, ceil: ⌈(5 + 2 − 2)/2⌉ + 1 = 4, but window 3 would start at 6 ≥ 5 + 1
    # (in the right padding), so PyTorch drops it: 3 windows at 0, 2, 4
    p = axis_plan(5, 2, 2, 1, 1, ceil_mode=True)
    assert p.out == 3 and p.starts == (0, 2, 4)


def test_transposed_conv_inserted_zeros() -> None:
    # W 5, F 3, S 2, P 1: zeros between pixels → 5 + 4·1 = 9 cells, padded 3 − 1 − 1 = 1 each
    # side → frame 11; out (5 − 1)·2 − 2·1 + 3 = 9 (PyTorch's ConvTranspose rule)
    p = axis_plan(5, 3, 2, 1, 1, transposed=True)
    assert p.inputs == (1, 3, 5, 7, 9)
    assert p.frame == 11
    assert p.out == (5 - 1) * 2 - 2 * 1 + 3 == 9
    assert p.starts == tuple(range(9))
    assert p.taps(8) == (8, 9, 10)


def test_transposed_output_padding() -> None:
    # UNet-style 2×2 /2, P 0, output_padding 1 with F 3: (4 − 1)·2 + 3 + 1 = 10; padding at the
    # end is F − 1 + output_padding = 3
    p = axis_plan(4, 3, 2, 0, 0, 1, transposed=True, output_padding=1)
    assert p.out == (4 - 1) * 2 + (3 - 1) + 1 + 1 == 10
    assert (p.pad_lo, p.pad_hi) == (2, 3)
    assert p.starts[-1] + 3 == p.frame


SPEC = {
    "name": "pictures",
    "input": [1, 5, 5],
    "layers": [
        {
            "name": "up",
            "conv_transpose2d": {"out_channels": 1, "kernel_size": 3, "stride": 2, "padding": 1},
        },
        {"name": "pool", "maxpool2d": {"kernel_size": 2, "stride": 2, "ceil_mode": True}},
        {
            "name": "dil",
            "conv2d": {
                "out_channels": 1,
                "kernel_size": 3,
                "dilation": 2,
                "padding": 1,
                "stride": 2,
            },
        },
    ],
}


def _animation(svg: str) -> tuple[float, list[tuple[float, float]]]:
    root = ET.fromstring(svg)
    window = next(g for g in root.iter(f"{NS}g") if g.get("class") == "window")
    cs = float(next(r for r in window if r.get("class") == "tap").get("width"))
    anim = next(window.iter(f"{NS}animateTransform"))
    pts = [tuple(map(float, v.split(","))) for v in anim.get("values").split(";")]
    return cs, pts


@pytest.mark.parametrize(
    "layer, expected",
    [
        # 9×9 from the transposed conv; pool 2 /2 ceil: ⌈(9 − 2)/2⌉ + 1 = 5 windows at 0 … 8
        ("pool", [(r, c) for r in range(0, 9, 2) for c in range(0, 9, 2)]),
        # 5×5, D 2, S 2, P 1 → 2 windows per axis at 0 and 2
        ("dil", [(0, 0), (0, 2), (2, 0), (2, 2)]),
        # transposed: 9 stride-1 positions per axis; sampled to the first and last 4
        ("up", [(r, c) for r in (0, 1, 2, 3, 5, 6, 7, 8) for c in (0, 1, 2, 3, 5, 6, 7, 8)]),
    ],
)
def test_svg_animates_the_windows(layer: str, expected: list[tuple[int, int]]) -> None:
    svg = layer_svg(build(SPEC), layer)
    cs, pts = _animation(svg)
    assert [(round(y / cs), round(x / cs)) for x, y in pts] == expected[:64]
    assert not problems(svg)


def test_svg_marks_ceil_zeros_and_dilation() -> None:
    g = build(SPEC)
    assert 'class="ceil-extra"' in layer_svg(g, "pool")
    up = layer_svg(g, "up")
    assert 'class="zeros"' in up and "zero inserted" in up
    dil = layer_svg(g, "dil")
    # 3×3 taps with gaps: columns at 0, 2·cs, 4·cs
    cs, _ = _animation(dil)
    xs = sorted({float(x) for x in re.findall(r'class="tap" x="([\d.]+)"', dil)})
    assert [round(x / cs) for x in xs] == [0, 2, 4]


def test_layer_without_window_is_refused() -> None:
    with pytest.raises(CnncalcError, match="no sliding window"):
        layer_svg(build("lenet5"), "output")
    with pytest.raises(CnncalcError, match="no layer named"):
        layer_svg(build("lenet5"), "nope")
