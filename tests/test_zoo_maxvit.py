"""MaxViT-T (specs/maxvit_t.yaml): torchvision's row (30,919,624 params, 5.558 GFLOPS) by hand
arithmetic, at another input, and torchvision's state-dict names (a committed fixture)."""

from __future__ import annotations

import json

import cnncalc

from .conftest import ROOT

CHANNELS, DEPTHS, HEAD_DIM = [64, 128, 256, 512], [2, 2, 5, 2], 32


def hand(size: int, classes: int = 1000) -> tuple[int, int]:
    """(params, MACs): stem, then per MaxViT layer an MBConv (expand ×4, SE at out/4) and two
    partition attentions (49-token groups, relative bias table 13²·heads, MLP ×4), classifier."""
    s = size // 2
    params = 3 * 9 * 64 + 2 * 64 + 64 * 9 * 64 + 64
    macs = s * s * 64 * 27 + s * s * 64 * 64 * 9
    cin = 64
    for out, depth in zip(CHANNELS, DEPTHS):
        for i in range(depth):
            s_in, s = s, (s // 2 if i == 0 else s)
            mid, sq, heads = 4 * out, out // 4, out // HEAD_DIM
            if i == 0:  # shortcut: avg pool 3×3 stride 2, then a 1×1 conv with bias
                params += cin * out + out
                macs += s * s * cin * out
            params += 2 * cin + cin * mid + 2 * mid + mid * 9 + 2 * mid
            params += mid * sq + sq + sq * mid + mid + mid * out + out
            macs += s_in * s_in * cin * mid + s * s * mid * 9 + 2 * mid * sq + s * s * mid * out
            for _ in ("window", "grid"):
                params += 2 * out + 13 * 13 * heads + 4 * out * out + 4 * out
                params += 2 * out + out * 4 * out + 4 * out + 4 * out * out + out
                t = s * s
                macs += t * out * 3 * out + 2 * (t // 49) * 49 * 49 * out + t * out * out
                macs += 2 * t * out * 4 * out
            cin = out
    params += 2 * 512 + 512 * 512 + 512 + 512 * classes
    macs += 512 * 512 + 512 * classes
    return params, macs


def test_maxvit_t_row_by_hand():
    params, macs = hand(224)
    assert params == 30_919_624  # torchvision's table
    assert round(macs / 1e9, 3) == 5.558
    r = cnncalc.analyze("maxvit_t")
    assert (r.params, r.macs) == (params, macs)


def test_maxvit_t_at_448_by_hand():
    r = cnncalc.analyze("maxvit_t", (3, 448, 448))
    assert (r.params, r.macs) == hand(448)


def test_maxvit_state_dict_names_and_shapes_are_torchvisions():
    fixture = json.loads((ROOT / "tests" / "fixtures" / "torchvision_state_dicts.json").read_text())
    theirs = {(k, tuple(s)) for k, s in fixture["models"]["maxvit_t"]}
    g = cnncalc.build("maxvit_t")
    mine = {(f"{n.name}.{w.name}", tuple(w.shape)) for n in g.nodes for w in n.layer.weights()}
    assert mine == theirs
