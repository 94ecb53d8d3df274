"""The inverse calculator: every listed combination gives the target through cnncalc.windows,
and known layers appear (hand arithmetic)."""

from __future__ import annotations

import json

import pytest

from cnncalc import windows
from cnncalc.errors import CnncalcError
from cnncalc.solve import solve

from .conftest import run_cli


@pytest.mark.parametrize(
    "w, target, kw",
    [(224, 112, {}), (227, 55, {}), (32, 32, {}), (56, 28, {"max_dilation": 3}), (13, 6, {})],
)
def test_every_solution_gives_the_target(w, target, kw):
    found = solve(w, target, **kw)
    assert found
    for s in found:
        assert windows.conv_out(w, s.kernel, s.stride, s.padding, s.padding, s.dilation) == target
        assert s.padding < windows.effective_kernel(s.kernel, s.dilation)
    keys = [(s.dilation, s.stride, s.kernel, s.padding) for s in found]
    assert keys == sorted(keys)  # simplest first


@pytest.mark.parametrize("w, target", [(7, 14), (14, 28), (5, 11)])
def test_transposed_solutions(w, target):
    found = solve(w, target, transposed=True)
    assert found
    for s in found:
        assert (
            windows.transposed_out(
                w, s.kernel, s.stride, s.padding, s.padding, s.dilation, s.output_padding
            )
            == target
        )
        assert s.output_padding < max(s.stride, s.dilation)
    # DCGAN's ×2: kernel 4, stride 2, padding 1: (7 − 1)·2 − 2 + 3 + 1 = 14
    if (w, target) == (7, 14):
        assert any((s.kernel, s.stride, s.padding, s.output_padding) == (4, 2, 1, 0) for s in found)


def test_known_layers_are_found():
    # AlexNet conv1: ⌊(227 − 11)/4⌋ + 1 = 55; padding 1 too: ⌊(227 + 2 − 11)/4⌋ + 1 = 55
    assert [(s.kernel, s.stride, s.padding) for s in solve(227, 55, kernel=11)] == [
        (11, 4, 0),
        (11, 4, 1),
    ]
    # ResNet conv1: ⌊(224 + 6 − 7)/2⌋ + 1 = 112
    assert any((s.kernel, s.stride, s.padding) == (7, 2, 3) for s in solve(224, 112))
    # 3×3 "same" at stride 1 is padding 1: 32 + 2 − 3 + 1 = 32, and it is marked same
    s = solve(32, 32, kernel=3)
    assert [(x.padding, x.same) for x in s] == [(1, True)]
    # 3×3 stride 2 on 224: TF's same pads (0, 1), so symmetric padding 1 is not 'same'
    (x,) = solve(224, 112, kernel=3, stride=2)
    assert x.padding == 1 and not x.same and x.uncovered == (224 + 2 - 3) % 2


def test_bad_arguments():
    with pytest.raises(CnncalcError, match="input size"):
        solve(0, 3)
    with pytest.raises(CnncalcError, match="kernel"):
        solve(10, 3, kernel=0)


def test_cli_solve():
    r = run_cli("solve", "224", "112", "--kernel", "7")
    assert r.returncode == 0, r.stderr
    assert "kernel 7, stride 2, padding 3" in r.stdout and f"= {(224 + 6 - 7) // 2 + 1}" in r.stdout
    r = run_cli("solve", "7", "14", "--transposed", "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["count"] >= 1 and all("output_padding" in s for s in doc["solutions"])


def test_cli_labels_real_input_left_over_and_same_stride():
    """224 → 112 with kernel 1, stride 2, padding 0: (224 − 1) mod 2 = 1 real input column unread."""
    from .conftest import run_cli

    out = run_cli("solve", "224", "112").stdout
    line = next(ln for ln in out.splitlines() if "kernel 1, stride 2, padding 0" in ln)
    assert "the last 1 input position(s) are never read" in line
    line = next(ln for ln in out.splitlines() if "kernel 3, stride 2, padding 1" in ln)
    assert "1 padded position(s) unused at the end" in line  # (224 + 2 − 3) mod 2 = 1, padding
    assert "⌈224/2⌉ = 112" in out  # the 'same' table uses the stride that gives the target
