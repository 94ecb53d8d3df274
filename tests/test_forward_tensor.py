"""NumPy forwards of the generic tensor ops, norms, activations and recurrent layers added for
the spec language (issue 11), against references written here from the definitions (index
arithmetic, explicit loops), and against torch where it is installed (those tests skip).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from .test_forward import T, close, setup, torch_or_skip


def test_slice_split_chunk_by_index():
    layer, (x,), _, y = setup("slice", dict(axis=1, start=1, stop=None, step=2), (3, 7, 4))
    close(y, x[:, :, [1, 3, 5], :])
    layer, (x,), _, y = setup("slice", dict(axis=-1, start=-3), (2, 5))
    close(y, x[:, :, [2, 3, 4]])
    for k, (lo, hi) in enumerate([(0, 2), (2, 5), (5, 6)]):
        _, (x,), _, y = setup("split", dict(sizes=[2, 3, 1], index=k), (6, 3))
        close(y, x[:, lo:hi])
    # torch.chunk(7, 3): ⌈7/3⌉ = 3 per piece → 3, 3, 1
    for k, (lo, hi) in enumerate([(0, 3), (3, 6), (6, 7)]):
        _, (x,), _, y = setup("chunk", dict(chunks=3, axis=-1, index=k), (2, 7))
        close(y, x[:, :, lo:hi])


def test_roll_moves_element_i_to_i_plus_shift():
    _, (x,), _, y = setup("roll", dict(shifts=[-3, 2], axis=[0, 1]), (5, 6, 2))
    ref = np.empty_like(x)
    for i, j in itertools.product(range(5), range(6)):
        ref[:, (i - 3) % 5, (j + 2) % 6] = x[:, i, j]
    close(y, ref)


def test_channel_shuffle_definition():
    _, (x,), _, y = setup("channel_shuffle", dict(groups=3), (6, 2, 2))
    # output channel j·g + i is input channel i·(C/g) + j (g = 3 groups of C/g = 2)
    ref = np.empty_like(x)
    for i, j in itertools.product(range(3), range(2)):
        ref[:, j * 3 + i] = x[:, i * 2 + j]
    close(y, ref)


@pytest.mark.parametrize("order", ["c_dy_dx", "dy_dx_c", "dx_dy_c"])
def test_space_to_depth_orders(order):
    r, c = 2, 3
    _, (x,), _, y = setup("pixel_unshuffle", dict(factor=r, order=order), (c, 4, 6))
    ref = np.empty((2, c * r * r, 2, 3))
    for ch, dy, dx in itertools.product(range(c), range(r), range(r)):
        o = {
            "c_dy_dx": ch * r * r + dy * r + dx,
            "dy_dx_c": (dy * r + dx) * c + ch,
            "dx_dy_c": (dx * r + dy) * c + ch,
        }[order]
        ref[:, o] = x[:, ch, dy::r, dx::r]
    close(y, ref)


def test_swin_patch_merging_is_space_to_depth_dx_dy_c_channels_last():
    _, (x,), _, y = setup(
        "space_to_depth", dict(factor=2, order="dx_dy_c", channel_axis=-1), (4, 6, 5)
    )
    parts = [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]]
    close(y, np.concatenate(parts, axis=-1))  # torchvision's _patch_merging_pad, as written


def test_pixel_shuffle_inverts_unshuffle():
    _, (x,), _, y = setup("pixel_shuffle", dict(factor=2), (8, 3, 2))
    ref = np.empty((2, 2, 6, 4))
    for c, dy, dx in itertools.product(range(2), range(2), range(2)):
        ref[:, c, dy::2, dx::2] = x[:, c * 4 + dy * 2 + dx]
    close(y, ref)


def test_matmul_per_sample_with_broadcast_and_transpose():
    _, (a, b), _, y = setup("matmul", dict(transpose_b=True), (3, 4, 5), (3, 6, 5))
    ref = np.zeros((2, 3, 4, 6))
    for n, h, i, j in itertools.product(range(2), range(3), range(4), range(6)):
        ref[n, h, i, j] = sum(a[n, h, i, t] * b[n, h, j, t] for t in range(5))
    close(y, ref)
    _, (a, b), _, y = setup("matmul", {}, (4, 5), (2, 5, 3))
    close(y, np.stack([np.stack([a[n] @ b[n, k] for k in range(2)]) for n in range(2)]))
    _, (a, b), _, y = setup("matmul", {}, (4, 5), (5,))
    close(y, np.stack([a[n] @ b[n] for n in range(2)]))


def test_free_tensor_scale_subtract_prelu_softplus():
    layer, _, p, y = setup("parameter", dict(shape=[3, 2]), batch=1)
    assert y.shape == (1, 3, 2)
    close(y, p["value"][None])
    _, (x,), p, y = setup("scale", {}, (4, 2, 2))
    close(y, x * p["weight"].reshape(1, 4, 1, 1))
    _, (a, b), _, y = setup("subtract", {}, (3, 2, 2), (3, 1, 1))
    close(y, a - b)
    _, (x,), p, y = setup("prelu", dict(num_parameters=4), (4, 3))
    close(y, np.where(x >= 0, x, x * p["weight"].reshape(1, 4, 1)))
    _, (x,), _, y = setup("softplus", dict(beta=2.0, threshold=1.0), (50,))
    close(y, np.where(2 * x > 1.0, x, np.log1p(np.exp(2 * x)) / 2))
    _, (x,), _, y = setup("stochastic_depth", dict(p=0.5), (3, 2))
    close(y, x)


def test_layernorm2d_normalises_channels_per_position():
    _, (x,), p, y = setup("layernorm2d", {}, (5, 3, 2))
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    ref = (x - mu) / np.sqrt(var + 1e-5) * p["weight"].reshape(1, 5, 1, 1)
    close(y, ref + p["bias"].reshape(1, 5, 1, 1))


def test_instance_norm_batch_and_running_statistics():
    _, (x,), _, y = setup("instancenorm2d", {}, (3, 4, 4))
    mu = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    close(y, (x - mu) / np.sqrt(var + 1e-5))
    _, (x,), p, y = setup("instance_norm", dict(affine=True, track_running_stats=True), (3, 5))
    s = (3, 1)
    ref = (x - p["running_mean"].reshape(s)) / np.sqrt(p["running_var"].reshape(s) + 1e-5)
    close(y, ref * p["weight"].reshape(s) + p["bias"].reshape(s))


def test_resize_to_equals_upsample_to_that_size():
    _, (x, _ref), _, y = setup("resize_to", {}, (2, 5, 5), (1, 10, 15))
    _, _, _, y2 = setup("upsample", dict(size=[10, 15], mode="bilinear"), (2, 5, 5))
    assert y.shape == (2, 2, 10, 15)
    close(y, y2)


def _sig(v):
    return 1 / (1 + math.exp(-v))


def ref_lstm(x, p, hidden, sfx="", k=0):
    """One direction of one LSTM layer, scalar by scalar (PyTorch's equations)."""
    n, steps, _ = x.shape
    w_ih, w_hh = p[f"weight_ih_l{k}{sfx}"], p[f"weight_hh_l{k}{sfx}"]
    b = p[f"bias_ih_l{k}{sfx}"] + p[f"bias_hh_l{k}{sfx}"]
    out = np.zeros((n, steps, hidden))
    for s in range(n):
        h, c = np.zeros(hidden), np.zeros(hidden)
        ts = range(steps - 1, -1, -1) if sfx else range(steps)
        for t in ts:
            z = w_ih @ x[s, t] + w_hh @ h + b
            i = [_sig(v) for v in z[:hidden]]
            f = [_sig(v) for v in z[hidden : 2 * hidden]]
            g = [math.tanh(v) for v in z[2 * hidden : 3 * hidden]]
            o = [_sig(v) for v in z[3 * hidden :]]
            c = np.array([f[u] * c[u] + i[u] * g[u] for u in range(hidden)])
            h = np.array([o[u] * math.tanh(c[u]) for u in range(hidden)])
            out[s, t] = h
    return out


def test_lstm_bidirectional_definition():
    _, (x,), p, y = setup("lstm", dict(hidden_size=3, bidirectional=True), (4, 2))
    ref = np.concatenate([ref_lstm(x, p, 3), ref_lstm(x, p, 3, "_reverse")], axis=2)
    close(y, ref)


def test_gru_definition():
    _, (x,), p, y = setup("gru", dict(hidden_size=3), (4, 2))
    H = 3
    ref = np.zeros((2, 4, H))
    for s in range(2):
        h = np.zeros(H)
        for t in range(4):
            gi = p["weight_ih_l0"] @ x[s, t] + p["bias_ih_l0"]
            gh = p["weight_hh_l0"] @ h + p["bias_hh_l0"]
            r = np.array([_sig(v) for v in gi[:H] + gh[:H]])
            z = np.array([_sig(v) for v in gi[H : 2 * H] + gh[H : 2 * H]])
            nn = np.tanh(gi[2 * H :] + r * gh[2 * H :])
            h = (1 - z) * nn + z * h
            ref[s, t] = h
    close(y, ref)


@pytest.mark.parametrize(
    "type_, hidden, layers, bidir", [("lstm", 5, 2, True), ("gru", 4, 2, False)]
)
def test_recurrent_matches_torch_layout(type_, hidden, layers, bidir):
    torch = torch_or_skip()
    layer, (x,), p, y = setup(
        type_, dict(hidden_size=hidden, num_layers=layers, bidirectional=bidir), (6, 3)
    )
    cls = torch.nn.LSTM if type_ == "lstm" else torch.nn.GRU
    m = cls(3, hidden, num_layers=layers, bidirectional=bidir, batch_first=True)
    sd = m.state_dict()
    assert [(k, tuple(v.shape)) for k, v in sd.items()] == [
        (w.name, w.shape) for w in layer.weights()
    ]
    m.load_state_dict({k: T(v) for k, v in p.items()})
    with torch.no_grad():
        close(y, m(T(x))[0].numpy())


def test_ops_match_torch():
    torch = torch_or_skip()
    _, (x,), _, y = setup("pixel_unshuffle", dict(factor=2), (3, 4, 6))
    close(y, torch.nn.functional.pixel_unshuffle(T(x), 2).numpy())
    _, (x,), _, y = setup("pixel_shuffle", dict(factor=2), (8, 3, 2))
    close(y, torch.nn.functional.pixel_shuffle(T(x), 2).numpy())
    _, (x,), _, y = setup("channel_shuffle", dict(groups=2), (6, 3, 3))
    close(y, torch.nn.functional.channel_shuffle(T(x), 2).numpy())
    _, (x,), _, y = setup("roll", dict(shifts=[-3, -3], axis=[0, 1]), (7, 7, 4))
    close(y, torch.roll(T(x), (-3, -3), (1, 2)).numpy())
    _, (x,), _, y = setup("softplus", {}, (40,))
    close(y, torch.nn.functional.softplus(T(x)).numpy())


def ref_window_attention(x, p, heads, win, shift, v2, fit="pad"):
    """Swin's windowed attention by its definition (Liu et al. 2021, 2022), token by token, on
    2-D or 3-D maps: pad to whole windows, cyclic shift by −s, attention inside each window
    with the relative position bias B[offset + w − 1] and, when shifted, −100 between tokens of
    different regions (region of a padded index r: 0 if r < P − w, 1 if r < P − s, else 2),
    shift back, crop. ``fit: shrink``: an axis no larger than the window is one window."""
    import itertools

    n_, *sizes, c = x.shape
    r = len(sizes)
    d = c // heads
    win = [win] * r if isinstance(win, int) else list(win)
    shift = [shift] * r if isinstance(shift, int) else list(shift)
    conf = list(win)
    if fit == "shrink":
        for a in range(r):
            if sizes[a] <= win[a]:
                win[a], shift[a] = sizes[a], 0
    pads = [-(-s // w) * w for s, w in zip(sizes, win)]
    if fit == "pad":
        shift = [0 if w >= pp else s for w, pp, s in zip(win, pads, shift)]
    xp = np.zeros((n_, *pads, c))
    xp[(slice(None), *(slice(0, s) for s in sizes))] = x
    axes = tuple(range(1, r + 1))
    src = np.roll(xp, tuple(-s for s in shift), axis=axes)
    bqkv = p.get("qkv.bias", np.zeros(3 * c)).copy()
    if v2:
        bqkv[c : 2 * c] = 0
        hs = np.arange(-(win[0] - 1), win[0]) / (win[0] - 1) * 8
        g = np.stack(np.meshgrid(hs, hs, indexing="ij"), -1)
        g = np.sign(g) * np.log2(np.abs(g) + 1) / 3
        hid = np.maximum(g @ p["cpb_mlp.0.weight"].T + p["cpb_mlp.0.bias"], 0)
        table = 16 / (1 + np.exp(-(hid @ p["cpb_mlp.2.weight"].T)))  # (2w−1, 2w−1, heads)
    else:
        table = p["relative_position_bias_table"].reshape(*(2 * w - 1 for w in conf), heads)

    def region(i, size, w, s):
        return 0 if i < size - w else (1 if i < size - s else 2)

    out = np.zeros_like(src)
    for b in range(n_):
        for corner in itertools.product(*(range(0, pp, w) for pp, w in zip(pads, win))):
            toks = [
                tuple(c0 + o for c0, o in zip(corner, off))
                for off in itertools.product(*(range(w) for w in win))
            ]
            xs = np.array([src[(b, *t)] for t in toks])
            qkv = xs @ p["qkv.weight"].T + bqkv
            res = np.zeros((len(toks), c))
            for hd in range(heads):
                q = qkv[:, hd * d : (hd + 1) * d]
                k = qkv[:, c + hd * d : c + (hd + 1) * d]
                v = qkv[:, 2 * c + hd * d : 2 * c + (hd + 1) * d]
                for a, ta in enumerate(toks):
                    sc = np.zeros(len(toks))
                    for e, tb in enumerate(toks):
                        if v2:
                            cos = q[a] @ k[e] / (np.linalg.norm(q[a]) * np.linalg.norm(k[e]))
                            sc[e] = cos * math.exp(min(p["logit_scale"][hd, 0, 0], math.log(100)))
                        else:
                            sc[e] = q[a] @ k[e] / math.sqrt(d)
                        sc[e] += table[(*(i - j + w - 1 for i, j, w in zip(ta, tb, conf)), hd)]
                        if any(shift):
                            ra = [region(i, pp, w, s) for i, pp, w, s in zip(ta, pads, win, shift)]
                            rb = [region(i, pp, w, s) for i, pp, w, s in zip(tb, pads, win, shift)]
                            sc[e] += 0.0 if ra == rb else -100.0
                    wgt = np.exp(sc - sc.max())
                    res[a, hd * d : (hd + 1) * d] = (wgt / wgt.sum()) @ v
            res = res @ p["proj.weight"].T + p.get("proj.bias", 0)
            for t, val in zip(toks, res):
                out[(b, *t)] = val
    out = np.roll(out, tuple(shift), axis=axes)
    return out[(slice(None), *(slice(0, s) for s in sizes))]


@pytest.mark.parametrize(
    "shape, heads, win, shift, v2",
    [
        ((8, 8, 6), 2, 4, 2, False),  # shifted, four windows
        ((6, 7, 4), 2, 4, 2, False),  # padded to 8×8, shifted
        ((4, 4, 4), 1, 4, 2, False),  # the window covers the map: no shift (torchvision)
        ((8, 8, 4), 2, 4, 2, True),  # v2: cosine attention, logit scale, bias MLP
        ((2, 5, 6, 4), 2, [4, 4, 4], [2, 2, 2], "shrink"),  # Swin3D: time shrinks to 2
        ((3, 4, 4, 4), 1, [2, 4, 4], [1, 2, 2], "shrink"),  # 3-D, padded and shifted in time
    ],
)
def test_shifted_window_attention_definition(shape, heads, win, shift, v2):
    fit = "pad"
    if v2 == "shrink":
        v2, fit = False, "shrink"
    args = dict(num_heads=heads, window_size=win, shift_size=shift, v2=v2, fit=fit)
    _, (x,), p, y = setup("shifted_window_attention", args, shape, batch=1)
    close(y, ref_window_attention(x, p, heads, win, shift, v2, fit))


def test_relative_position_index_is_the_offset_row():
    layer = __import__("tests.conftest", fromlist=["make_layer"]).make_layer(
        "shifted_window_attention", dict(num_heads=1, window_size=3), (3, 3, 2)
    )
    idx = layer._index().reshape(9, 9)
    toks = [(i, j) for i in range(3) for j in range(3)]
    for a, (ya, xa) in enumerate(toks):
        for b, (yb, xb) in enumerate(toks):
            assert idx[a, b] == (ya - yb + 2) * (2 * 3 - 1) + (xa - xb + 2)


def test_relative_attention_definition():
    """MaxViT's attention per group: softmax(q·kᵀ/√C + B[Δy + P − 1, Δx + P − 1])·v, by loops
    (torchvision scales k by the feature width C, not the head width)."""
    _, (x,), p, y = setup("relative_attention", dict(head_dim=2), (3, 4, 4), batch=1)
    c, dh, pp = 4, 2, 2
    qkv = x[0] @ p["to_qkv.weight"].T + p["to_qkv.bias"]  # (G, N, 3C)
    table = p["relative_position_bias_table"].reshape(3, 3, 2)
    toks = [(i, j) for i in range(pp) for j in range(pp)]
    ref = np.zeros((3, 4, c))
    for g in range(3):
        for h in range(2):
            q = qkv[g, :, h * dh : (h + 1) * dh]
            k = qkv[g, :, c + h * dh : c + (h + 1) * dh]
            v = qkv[g, :, 2 * c + h * dh : 2 * c + (h + 1) * dh]
            for a, (ya, xa) in enumerate(toks):
                sc = [
                    q[a] @ k[b] / math.sqrt(c) + table[ya - yb + pp - 1, xa - xb + pp - 1, h]
                    for b, (yb, xb) in enumerate(toks)
                ]
                e = np.exp(np.array(sc) - max(sc))
                ref[g, a, h * dh : (h + 1) * dh] = (e / e.sum()) @ v
    close(y, (ref @ p["merge.weight"].T + p["merge.bias"])[None])


def test_l2_normalize_hand_vectors():
    """(3, 4) has norm 5: (0.6, 0.8); times γ = (20, 10): (12, 8). A zero vector stays 0 (the
    norm clamped to ε, not divided by 0)."""
    from .conftest import make_layer

    layer = make_layer("l2_normalize", dict(scale=True), (2, 1, 2))
    x = np.array([[[[3.0, 0.0]], [[4.0, 0.0]]]], dtype=np.float32)  # (N, C=2, 1, 2)
    y = layer.forward([x], {"weight": np.array([20.0, 10.0], dtype=np.float32)})
    close(y, [[[[20 * 3 / 5, 0.0]], [[10 * 4 / 5, 0.0]]]])
    layer = make_layer("l2_normalize", dict(axis=-1), (2, 3))
    x = np.array([[[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]]], dtype=np.float32)
    close(layer.forward([x], {}), [[[1 / 3, 2 / 3, 2 / 3], [0.0, 0.0, 0.0]]])


def test_l2_normalize_matches_torch():
    torch = torch_or_skip()
    _, (x,), p, y = setup("l2_normalize", dict(scale=True), (8, 3, 3))
    ref = p["weight"].reshape(1, 8, 1, 1) * torch.nn.functional.normalize(T(x)).numpy()
    close(y, ref)
    _, (x,), _, y = setup("l2_normalize", dict(axis=-1, eps=1e-6), (4, 5))
    close(y, torch.nn.functional.normalize(T(x), dim=-1, eps=1e-6).numpy())


def test_gather_takes_rows_at_the_indices():
    """Row i of the table at each index, floored, negative and out-of-range wrapped (ONNX's
    -1 = the last row); indices of batch 1 serve every sample, per-sample indices their own."""
    from .conftest import make_layer

    layer = make_layer("gather", {}, (4, 2), (5,))
    table = np.arange(2 * 4 * 2, dtype=np.float32).reshape(2, 4, 2)
    idx = np.array([[0.0, 3.0, -1.0, 2.7, 5.0]], dtype=np.float32)  # → 0, 3, 3, 2, 1
    y = layer.forward([table, idx], {})
    close(y, table[:, [0, 3, 3, 2, 1]])
    per = np.array([[1, 1, 1, 1, 1], [0, 2, 0, 2, 0]], dtype=np.float32)
    close(layer.forward([table, per], {}), np.stack([table[0, [1] * 5], table[1, [0, 2, 0, 2, 0]]]))
    layer = make_layer("gather", dict(axis=1), (3, 4), (2, 2))
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    y = layer.forward([x, np.array([[[0, 1], [3, 3]]], dtype=np.float32)], {})
    assert y.shape == (1, 3, 2, 2)
    close(y[0, 1], [[4, 5], [7, 7]])  # row 1 is 4 … 7
