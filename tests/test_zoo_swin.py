"""Swin Transformer v1/v2 (specs/swin.yaml): torchvision's table rows are checked by test_zoo from
the spec's `expected`; here the same figures by hand arithmetic, at another input size, the
parameter count term by term, and torchvision's state-dict names (a committed fixture)."""

from __future__ import annotations

import json
import math

import pytest

import cnncalc

from .conftest import ROOT, SPECS

CONFIGS = {  # torchvision's builders: embed dim, depths, heads, window, v2, input
    "swin_t": (96, [2, 2, 6, 2], [3, 6, 12, 24], 7, False, 224),
    "swin_s": (96, [2, 2, 18, 2], [3, 6, 12, 24], 7, False, 224),
    "swin_b": (128, [2, 2, 18, 2], [4, 8, 16, 32], 7, False, 224),
    "swin_v2_t": (96, [2, 2, 6, 2], [3, 6, 12, 24], 8, True, 256),
    "swin_v2_s": (96, [2, 2, 18, 2], [3, 6, 12, 24], 8, True, 256),
    "swin_v2_b": (128, [2, 2, 18, 2], [4, 8, 16, 32], 8, True, 256),
}
PUBLISHED = {  # ../shared/torchvision_table.md: params, GFLOPS
    "swin_t": (28_288_354, 4.491),
    "swin_s": (49_606_258, 8.741),
    "swin_b": (87_768_224, 15.431),
    "swin_v2_t": (28_351_570, 5.94),
    "swin_v2_s": (49_737_442, 11.546),
    "swin_v2_b": (87_930_848, 20.325),
}


def hand_params(c, depths, heads, win, v2, classes=1000):
    """Patch embedding, per block (2 norms, attention, MLP), patch merging, final norm, head."""
    total = 3 * 16 * c + c + 2 * c  # conv 4×4 stride 4 with bias, layernorm
    for s, (depth, h) in enumerate(zip(depths, heads)):
        d = c * 2**s
        attn = 3 * d * d + 3 * d + d * d + d  # qkv and proj with biases
        if v2:
            attn += h + (2 * 512 + 512) + 512 * h  # logit scale, cpb MLP
        else:
            attn += (2 * win - 1) ** 2 * h  # relative position bias table
        mlp = d * 4 * d + 4 * d + 4 * d * d + d
        total += depth * (2 * 2 * d + attn + mlp)
        if s < 3:
            total += 4 * d * 2 * d + (2 * (2 * d) if v2 else 2 * (4 * d))  # reduction, norm
    f = c * 8
    return total + 2 * f + f * classes + classes


def hand_macs(c, depths, heads, win, v2, size, classes=1000):
    """Per stage s on an m×m map (m halves, rounded up: patch merging pads odd sizes), padded to
    P = ⌈m/w⌉·w for the windows: qkv and proj on P² tokens, Q·Kᵀ and A·V on nW windows of
    N = w² tokens, the MLP on the m² real tokens; v2 adds the bias MLP on (2w − 1)² entries."""
    m = size // 4
    total = m * m * c * 3 * 16
    for s, (depth, h) in enumerate(zip(depths, heads)):
        d = c * 2**s
        p = math.ceil(m / win) * win
        n_win, n = (p // win) ** 2, win * win
        block = p * p * d * 3 * d + 2 * n_win * n * n * d + p * p * d * d + 2 * m * m * d * 4 * d
        if v2:
            block += (2 * win - 1) ** 2 * (2 * 512 + 512 * h)
        total += depth * block
        if s < 3:
            m = math.ceil(m / 2)
            total += m * m * 4 * d * 2 * d
    return total + c * 8 * classes


@pytest.mark.parametrize("name", list(CONFIGS))
def test_swin_rows_by_hand_equal_the_table_and_the_spec(name):
    c, depths, heads, win, v2, size = CONFIGS[name]
    params, gflops = PUBLISHED[name]
    assert hand_params(c, depths, heads, win, v2) == params
    assert round(hand_macs(c, depths, heads, win, v2, size) / 1e9, 3) == gflops
    r = cnncalc.analyze(name)
    assert (r.params, r.macs) == (params, hand_macs(c, depths, heads, win, v2, size))


@pytest.mark.parametrize("name, size", [("swin_t", 160), ("swin_v2_t", 200)])
def test_swin_at_another_input_by_hand(name, size):
    """160: maps 40, 20, 10, 5 (windows padded to 42, 21, 14, 7); 200: 50, 25, 13, 7 with odd
    maps padded by patch merging. Params do not depend on the input."""
    c, depths, heads, win, v2, _ = CONFIGS[name]
    r = cnncalc.analyze(name, (3, size, size))
    assert r.params == hand_params(c, depths, heads, win, v2)
    assert r.macs == hand_macs(c, depths, heads, win, v2, size)


def test_swin_buffers_are_the_relative_position_indices():
    # v1: one (7·7)² index per block, 12 blocks in Swin-T; v2 also the (1, 15, 15, 2) coordinates
    assert cnncalc.analyze("swin_t").buffers == 12 * 49 * 49
    assert cnncalc.analyze("swin_v2_t").buffers == 12 * (64 * 64 + 15 * 15 * 2)


@pytest.mark.parametrize("name", ["swin_t", "swin_v2_t", "swin3d_t"])
def test_swin_state_dict_names_and_shapes_are_torchvisions(name):
    fixture = json.loads((ROOT / "tests" / "fixtures" / "torchvision_state_dicts.json").read_text())
    theirs = {(k, tuple(s)) for k, s in fixture["models"][name]}
    g = cnncalc.build(name)
    mine = {(f"{n.name}.{w.name}", tuple(w.shape)) for n in g.nodes for w in n.layer.weights()}
    assert mine == theirs


CONFIGS_3D = {  # embed dim, depths, heads (window 8×7×7, patch 2×4×4, 400 classes, 16 frames)
    "swin3d_t": (96, [2, 2, 6, 2], [3, 6, 12, 24]),
    "swin3d_s": (96, [2, 2, 18, 2], [3, 6, 12, 24]),
    "swin3d_b": (128, [2, 2, 18, 2], [4, 8, 16, 32]),
}
PUBLISHED_3D = {
    "swin3d_t": (28_158_070, 43.882),
    "swin3d_s": (49_816_678, 82.841),
    "swin3d_b": (88_048_984, 140.667),
}


def hand_params_3d(c, depths, heads, classes=400):
    """Swin's params with the 3-D bias table (15·13·13 rows) and 2 × 4 × 4 × 3 patch weights."""
    total = 3 * 2 * 4 * 4 * c + c + 2 * c
    for s, (depth, h) in enumerate(zip(depths, heads)):
        d = c * 2**s
        attn = 4 * d * d + 4 * d + 15 * 13 * 13 * h
        total += depth * (2 * 2 * d + attn + d * 4 * d + 4 * d + 4 * d * d + d)
        if s < 3:
            total += 4 * d * 2 * d + 2 * (4 * d)
    f = c * 8
    return total + 2 * f + f * classes + classes


def hand_macs_3d(c, depths, heads, frames, size, classes=400):
    """T = frames/2 time steps, m×m maps: an axis no larger than the window (8 in time, 7 in
    space) takes the window's place (no padding), larger ones pad to whole windows."""
    t, m = math.ceil(frames / 2), math.ceil(size / 4)
    total = t * m * m * c * 3 * 2 * 4 * 4
    for s, (depth, _) in enumerate(zip(depths, heads)):
        d = c * 2**s
        wins = [min(t, 8), min(m, 7), min(m, 7)]
        pads = [math.ceil(a / w) * w for a, w in zip((t, m, m), wins)]
        n, tokens = math.prod(wins), math.prod(pads)
        n_win = tokens // n
        block = tokens * d * 4 * d + 2 * n_win * n * n * d + 2 * t * m * m * d * 4 * d
        total += depth * block
        if s < 3:
            m = math.ceil(m / 2)
            total += t * m * m * 4 * d * 2 * d
    return total + c * 8 * classes


@pytest.mark.parametrize("name", list(CONFIGS_3D))
def test_swin3d_rows_by_hand_equal_the_table_and_the_spec(name):
    params, gflops = PUBLISHED_3D[name]
    assert hand_params_3d(*CONFIGS_3D[name]) == params
    macs = hand_macs_3d(*CONFIGS_3D[name], 16, 224)
    assert round(macs / 1e9, 3) == gflops
    r = cnncalc.analyze(name)
    assert (r.params, r.macs) == (params, macs)


def test_swin3d_at_8_frames_of_160_by_hand():
    """4 time steps (window shrinks to 4, no temporal shift), maps 40, 20, 10, 5."""
    r = cnncalc.analyze("swin3d_t", (3, 8, 160, 160))
    assert r.params == hand_params_3d(*CONFIGS_3D["swin3d_t"])
    assert r.macs == hand_macs_3d(*CONFIGS_3D["swin3d_t"], 8, 160)


def test_swin_t_spec_is_under_150_lines():
    assert len((SPECS / "swin.yaml").read_text().splitlines()) < 150


def test_swin_verifies_on_a_small_input():
    pytest.importorskip("numpy")
    res = cnncalc.verify("swin_t", (3, 64, 64))
    assert res.ok, res.failures[:3]
