"""Pure window arithmetic: the formulas of cnncalc.windows, with expected values written out."""

from __future__ import annotations

import doctest

import pytest

from cnncalc import windows as w


def test_doctests():
    failures, _ = doctest.testmod(w)
    assert failures == 0


@pytest.mark.parametrize(
    "args, expected",
    [
        ((7, 3), (7 - 3) // 1 + 1),  # seed 002: 7×7 input, 3×3 filter → 5
        ((227, 11, 4), (227 - 11) // 4 + 1),  # AlexNet conv1 → 55
        ((28, 3), 28 - 3 + 1),  # seed 001: 26
        ((32, 3), 32 - 3 + 1),  # seed 003: 30 (the note's "29" is an arithmetic slip)
        ((224, 7, 2, 3), (224 + 2 * 3 - 7) // 2 + 1),  # ResNet conv1 → 112
        (
            (32, 3, 1, 0, None, 2),
            (32 - (2 * (3 - 1) + 1)) // 1 + 1,
        ),  # dilation 2: eff. kernel 5 → 28
        ((10, 3, 2, 0, 1), (10 + 0 + 1 - 3) // 2 + 1),  # asymmetric padding
    ],
)
def test_conv_out(args, expected):
    assert w.conv_out(*args) == expected


@pytest.mark.parametrize(
    "args, expected",
    [
        ((112, 3, 2, 0, 0, 1, True), 56),  # ceil(109/2)=55 → +1 = 56 (GoogLeNet)
        ((112, 3, 2, 0, 0, 1, False), 55),
        ((13, 3, 2, 0, 0, 1, True), 6),  # ceil(10/2)+1 = 6, no window in padding
        ((14, 3, 2, 0, 0, 1, True), 7),  # ceil(11/2)+1 = 7; (7-1)·2 = 12 < 14 → kept
        ((5, 2, 2, 1, 1, 1, True), 3),  # ceil(5/2)+1 = 4, but (4-1)·2 = 6 ≥ 5+1 → 3
        ((4, 2, 2, 0, 0, 1, True), 2),  # exact division: ceil equals floor
    ],
)
def test_pool_out_ceil_mode(args, expected):
    assert w.pool_out(*args) == expected


@pytest.mark.parametrize(
    "args, expected",
    [
        ((224, 3, 2), (0, 1)),  # out 112: total (112-1)·2 + 3 − 224 = 1, odd pixel at the end
        ((225, 3, 2), (1, 1)),  # out 113: total (113-1)·2 + 3 − 225 = 2
        ((32, 5, 1), (2, 2)),
        ((10, 4, 1), (1, 2)),  # even kernel: total 3, odd one at the end
        ((7, 1, 2), (0, 0)),
        ((32, 3, 1, 2), (2, 2)),  # dilation 2: effective kernel 5
    ],
)
def test_same_padding(args, expected):
    assert w.same_padding(*args) == expected


@pytest.mark.parametrize(
    "n, k, s, d",
    [(n, k, s, d) for n in (1, 7, 32, 33) for k in (1, 2, 3, 5) for s in (1, 2, 3) for d in (1, 2)],
)
def test_same_padding_gives_ceil(n, k, s, d):
    lo, hi = w.same_padding(n, k, s, d)
    assert w.conv_out(n, k, s, lo, hi, d) == -(-n // s)
    assert hi - lo in (0, 1)


@pytest.mark.parametrize(
    "args, expected",
    [
        ((7, 4, 2, 1), (7 - 1) * 2 - 2 * 1 + 4),  # 14
        ((7, 3, 2, 1, None, 1, 1), (7 - 1) * 2 - 2 + 3 + 1),  # output_padding 1 → 14
        ((4, 2, 2), (4 - 1) * 2 + 2),  # U-Net up-conv: 2×2 stride 2 doubles
        ((5, 3, 1, 0, None, 2), (5 - 1) + 2 * (3 - 1) + 1),  # dilation 2
    ],
)
def test_transposed_out(args, expected):
    assert w.transposed_out(*args) == expected


def test_adaptive_windows_cover_input():
    for n in (5, 7, 13, 14):
        for out in (1, 2, 3, 6, 7):
            wins = [w.adaptive_window(n, out, i) for i in range(out)]
            assert wins[0][0] == 0 and wins[-1][1] == n
            assert all(a[1] >= b[0] for a, b in zip(wins, wins[1:]))  # no gaps


def test_adaptive_closed_forms_equal_the_loops():
    for n in range(1, 40):
        for out in range(1, 45):
            wins = [w.adaptive_window(n, out, i) for i in range(out)]
            assert w.adaptive_window_sum(n, out) == sum(e - s for s, e in wins)
            if out <= n:
                s = n // out
                assert w.adaptive_window_max(n, out) == max(
                    e - i * s for i, (_, e) in enumerate(wins)
                )


def test_adaptive_pool_with_huge_output_size_is_instant():
    import time

    import cnncalc

    t = time.perf_counter()
    r = cnncalc.analyze(
        {"input": [1, 8, 8], "layers": [{"adaptive_avgpool2d": {"output_size": 10**7}}]}
    )
    assert r.output_shape == (1, 10**7, 10**7)
    assert time.perf_counter() - t < 2
    # 10⁹ × 10⁹ = 10¹⁸ elements: above 2⁵³, refused (JSON readers would lose exactness)
    with pytest.raises(cnncalc.CnncalcError, match="2⁵³"):
        cnncalc.analyze(
            {"input": [1, 8, 8], "layers": [{"adaptive_avgpool2d": {"output_size": 10**9}}]}
        )
