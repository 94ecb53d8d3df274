"""NumPy forwards of the attention layers against references written from the definitions with
explicit loops on tiny tensors, and against PyTorch when ``torch`` is importable."""

from __future__ import annotations

import math

import pytest

from .conftest import make_layer

np = pytest.importorskip("numpy")


def _params(layer, rng):
    return {w.name: rng.standard_normal(w.shape).astype(np.float64) for w in layer.weights()}


def _mha_loops(x, p, heads, bias=True):
    """Self-attention by the definition, one scalar at a time.

    q/k/v[t, r] = Σ_c W_in[r(+D, +2D), c]·x[t, c] (+ b); per head h with width d = D/H:
    s[i, j] = Σ_e q[i, hd+e]·k[j, hd+e] / √d, a = softmax_j(s), o[i, hd+e] = Σ_j a[i, j]·v[j, hd+e];
    y[i, r] = Σ_c W_out[r, c]·o[i, c] (+ b_out).
    """
    b_, n, d = x.shape
    dh = d // heads
    y = np.zeros_like(x)
    for b in range(b_):
        proj = np.zeros((3, n, d))
        for which in range(3):
            for t in range(n):
                for r in range(d):
                    acc = p["in_proj_bias"][which * d + r] if bias else 0.0
                    for c in range(d):
                        acc += p["in_proj_weight"][which * d + r, c] * x[b, t, c]
                    proj[which, t, r] = acc
        q, k, v = proj
        o = np.zeros((n, d))
        for h in range(heads):
            for i in range(n):
                s = []
                for j in range(n):
                    acc = 0.0
                    for e in range(dh):
                        acc += q[i, h * dh + e] * k[j, h * dh + e]
                    s.append(acc / math.sqrt(dh))
                m = max(s)
                ex = [math.exp(v_ - m) for v_ in s]
                tot = sum(ex)
                a = [e_ / tot for e_ in ex]
                for e in range(dh):
                    o[i, h * dh + e] = sum(a[j] * v[j, h * dh + e] for j in range(n))
        for i in range(n):
            for r in range(d):
                acc = p["out_proj_bias"][r] if bias else 0.0
                for c in range(d):
                    acc += p["out_proj_weight"][r, c] * o[i, c]
                y[b, i, r] = acc
    return y


@pytest.mark.parametrize("heads, bias", [(1, True), (2, True), (3, False)])
def test_multi_head_attention_matches_loops(heads, bias):
    rng = np.random.default_rng(heads)
    layer = make_layer("multi_head_attention", dict(num_heads=heads, bias=bias), (4, 6))
    p = _params(layer, rng)
    x = rng.standard_normal((2, 4, 6))
    got = layer.forward([x], p)
    assert got.shape == (2, 4, 6)
    np.testing.assert_allclose(got, _mha_loops(x, p, heads, bias), rtol=1e-10, atol=1e-10)


def test_class_token_position_embedding_select_token_match_loops():
    rng = np.random.default_rng(0)
    n, d = 3, 4
    x = rng.standard_normal((2, n, d))
    ct = make_layer("class_token", {}, (n, d))
    pc = _params(ct, rng)
    y = ct.forward([x], pc)
    assert y.shape == (2, n + 1, d)
    for b in range(2):
        for c in range(d):
            assert y[b, 0, c] == pc["token"][0, c]
            for t in range(n):
                assert y[b, t + 1, c] == x[b, t, c]

    pe = make_layer("position_embedding", {}, (n + 1, d))
    pp = _params(pe, rng)
    z = pe.forward([y], pp)
    for b in range(2):
        for t in range(n + 1):
            for c in range(d):
                assert z[b, t, c] == y[b, t, c] + pp["embedding"][t, c]

    for index in (0, -1, 2):
        st = make_layer("select_token", dict(index=index), (n + 1, d))
        s = st.forward([z], {})
        assert s.shape == (2, d)
        t = index % (n + 1)
        for b in range(2):
            for c in range(d):
                assert s[b, c] == z[b, t, c]


def test_forward_keeps_float32():
    layer = make_layer("multi_head_attention", dict(num_heads=2), (3, 4))
    rng = np.random.default_rng(1)
    p = {k: v.astype(np.float32) for k, v in _params(layer, rng).items()}
    x = rng.standard_normal((1, 3, 4)).astype(np.float32)
    assert layer.forward([x], p).dtype == np.float32


def test_multi_head_attention_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    n, d, heads = 5, 8, 2
    layer = make_layer("multi_head_attention", dict(num_heads=heads), (n, d))
    p = _params(layer, rng)
    x = rng.standard_normal((2, n, d))
    m = torch.nn.MultiheadAttention(d, heads, batch_first=True, dtype=torch.float64).eval()
    with torch.no_grad():
        m.in_proj_weight.copy_(torch.from_numpy(p["in_proj_weight"]))
        m.in_proj_bias.copy_(torch.from_numpy(p["in_proj_bias"]))
        m.out_proj.weight.copy_(torch.from_numpy(p["out_proj_weight"]))
        m.out_proj.bias.copy_(torch.from_numpy(p["out_proj_bias"]))
        xt = torch.from_numpy(x)
        ref = m(xt, xt, xt, need_weights=False)[0].numpy()
    assert sum(w.numel() for w in m.parameters()) == sum(w.size for w in layer.weights())
    np.testing.assert_allclose(layer.forward([x], p), ref, rtol=1e-10, atol=1e-10)


def test_token_layers_match_torch_vit_encoder_input():
    """torchvision's ViT: cat(class_token, x) + pos_embedding, then the head reads x[:, 0]."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    n, d = 4, 6
    x = rng.standard_normal((2, n, d))
    ct = make_layer("class_token", {}, (n, d))
    pe = make_layer("position_embedding", {}, (n + 1, d))
    st = make_layer("select_token", {}, (n + 1, d))
    pc, pp = _params(ct, rng), _params(pe, rng)
    ours = st.forward([pe.forward([ct.forward([x], pc)], pp)], {})
    xt = torch.from_numpy(x)
    cls = torch.from_numpy(pc["token"]).reshape(1, 1, d).expand(2, -1, -1)
    ref = (torch.cat([cls, xt], dim=1) + torch.from_numpy(pp["embedding"]).unsqueeze(0))[:, 0]
    np.testing.assert_allclose(ours, ref.numpy(), rtol=0, atol=0)
