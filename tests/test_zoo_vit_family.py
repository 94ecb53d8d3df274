"""MaxViT-T (specs/maxvit_t.yaml) and MViT v1-B / v2-S (specs/mvit.yaml).

Each row of torchvision's table (../shared/torchvision_table.md: params, GFLOPS = GMACs) is
rebuilt here by hand arithmetic from the architecture (torchvision's builders), compared with
the table and with the spec; the same arithmetic at another input gives the second figure. The
two attention layer types these specs use, ``relative_attention`` and ``multiscale_attention``,
are checked against loop-by-loop NumPy references written from their definitions, their
explanations against their counts, and each model runs through ``cnncalc verify`` shrunk.
"""

from __future__ import annotations

import math
import sys

import pytest

import cnncalc
from cnncalc.errors import CnncalcError

from .conftest import make_layer, run_cli

PUBLISHED = {  # ../shared/torchvision_table.md: params, GFLOPS (MACs in G)
    "maxvit_t": (30_919_624, 5.558),  # MaxVit_T_Weights.IMAGENET1K_V1, crop 224
    "mvit_v1_b": (36_610_672, 70.599),  # MViT_V1_B_Weights.KINETICS400_V1, 16 × 224 × 224
    "mvit_v2_s": (34_537_744, 64.224),  # MViT_V2_S_Weights.KINETICS400_V1, 16 × 224 × 224
}

# ---- MaxViT-T ---------------------------------------------------------------------------------
# torchvision maxvit_t: stem 64, stages of (64, 128, 256, 512) channels × (2, 2, 5, 2) layers,
# heads of width 32, 7×7 partitions, MBConv expansion 4 and squeeze ratio 1/4, MLP ratio 4.
MAXVIT_T = dict(stem=64, channels=(64, 128, 256, 512), layers=(2, 2, 5, 2), head_dim=32, p=7)


def maxvit_params(stem, channels, layers, head_dim, p, classes=1000):
    """Stem (conv 3×3 + BN, conv 3×3 with bias), MaxVitLayers, classifier."""
    total = 3 * stem * 9 + 2 * stem + stem * stem * 9 + stem
    cin = stem
    for c, n in zip(channels, layers):
        for j in range(n):
            i = cin if j == 0 else c
            mid, sqz = 4 * c, c // 4
            mb = (i * c + c) if j == 0 else 0  # shortcut: avgpool + 1×1 conv with bias
            mb += 2 * i  # pre-norm BN
            mb += i * mid + 2 * mid  # conv_a 1×1 + BN
            mb += 9 * mid + 2 * mid  # conv_b depthwise 3×3 + BN
            mb += mid * sqz + sqz + sqz * mid + mid  # squeeze-excitation
            mb += mid * c + c  # conv_c
            attn = 2 * c + 3 * c * c + 3 * c + c * c + c + (2 * p - 1) ** 2 * (c // head_dim)
            mlp = 2 * c + c * 4 * c + 4 * c + 4 * c * c + c
            total += mb + 2 * (attn + mlp)  # block attention and grid attention
        cin = c
    f = channels[-1]
    return total + 2 * f + f * f + f + f * classes  # LayerNorm, linear, tanh, linear (no bias)


def maxvit_macs(stem, channels, layers, head_dim, p, size=224, classes=1000):
    """Convs and linears at their output positions; attention: every one of the m² tokens is in
    one window of N = p² tokens, so Q·Kᵀ and A·V are 2·m²·N·C per attention (block or grid)."""
    m = size // 2
    total = m * m * stem * 3 * 9 + m * m * stem * stem * 9
    cin = stem
    for c, n in zip(channels, layers):
        for j in range(n):
            i, m_in = (cin, m) if j == 0 else (c, m)
            if j == 0:
                m //= 2
                total += m * m * i * c  # shortcut 1×1 conv after the 3×3/2 average pool
            mid, sqz = 4 * c, c // 4
            total += m_in * m_in * i * mid + m * m * mid * 9  # conv_a, conv_b (depthwise, strided)
            total += mid * sqz + sqz * mid + m * m * mid * c  # SE on 1×1, conv_c
            t, win = m * m, p * p
            total += 2 * (4 * t * c * c + 2 * t * win * c + 8 * t * c * c)  # attention + MLP, ×2
        cin = c
    f = channels[-1]
    return total + f * f + f * classes


def test_maxvit_t_row_by_hand_equals_the_table_and_the_spec():
    params, gflops = PUBLISHED["maxvit_t"]
    assert maxvit_params(**MAXVIT_T) == params
    assert round(maxvit_macs(**MAXVIT_T) / 1e9, 3) == gflops
    r = cnncalc.analyze("maxvit_t")
    assert (r.params, r.macs) == (params, maxvit_macs(**MAXVIT_T))
    assert r.output_shape == (1000,)
    # buffers: relative_position_index (49×49) of 22 attentions + BN running mean and variance
    per_layer = []
    cin = 64
    for c, n in zip((64, 128, 256, 512), (2, 2, 5, 2)):
        for j in range(n):
            i = cin if j == 0 else c
            per_layer.append(2 * (i + 4 * c + 4 * c))  # pre_norm, conv_a, conv_b BNs
        cin = c
    assert r.buffers == 22 * 49 * 49 + 2 * 64 + sum(per_layer)  # + stem BN


def test_maxvit_at_448_by_hand():
    """torchvision accepts any size whose stage maps divide by 7: 448 gives 112, 56, 28, 14."""
    r = cnncalc.analyze("maxvit_t", (3, 448, 448))
    assert r.params == PUBLISHED["maxvit_t"][0]  # nothing depends on the size
    assert r.macs == maxvit_macs(**MAXVIT_T, size=448)
    # the 14×14 map as 14·14 / 49 = 4 windows of a 7×7 grid of tokens 2 apart
    swap = r.row("blocks.3.layers.1.layers.grid_attention.partition_swap")
    assert swap.output_shape == (14 * 14 // 49, 49, 512)
    r10 = cnncalc.analyze("maxvit_t", num_classes=10)
    assert r10.params == PUBLISHED["maxvit_t"][0] - 512 * (1000 - 10)


def test_maxvit_names_are_torchvision_module_paths():
    r = cnncalc.analyze("maxvit_t")
    names = {row.name for row in r.rows}
    for n in (
        "stem.0.0",
        "blocks.0.layers.0.layers.MBconv.proj.1",
        "blocks.0.layers.0.layers.MBconv.layers.squeeze_excitation.fc2",
        "blocks.2.layers.4.layers.window_attention.attn_layer.1",
        "blocks.3.layers.1.layers.grid_attention.mlp_layer.3",
        "classifier.5",
    ):
        assert n in names, n
    attn = r.row("blocks.2.layers.4.layers.window_attention.attn_layer.1")
    assert attn.params == 3 * 256 * 256 + 3 * 256 + 256 * 256 + 256 + 13 * 13 * 8


# ---- MViT v1-B and v2-S ----------------------------------------------------------------------
# torchvision mvit_v1_b / mvit_v2_s: 16 blocks; heads, output widths, Q strides (1×2×2 at
# blocks 1, 3, 14) and K/V strides from the builders' tables; patch embedding 96 channels.
HEADS = [1, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 8, 8]
DOWN = {1, 3, 14}
KV = [8, 4, 4] + [2] * 11 + [1, 1]
WIDTHS = {
    "mvit_v1_b": [192, 192, 384, 384] + [384] * 9 + [768, 768, 768],
    "mvit_v2_s": [96, 192, 192, 384] + [384] * 10 + [768, 768],
}


def mvit_counts(name, frames=16, size=224, classes=400):
    """(params, MACs) by hand. Tokens: a class token and a T×g×g grid; Q pooled (conv 3×3×3,
    padding 1) keeps T and halves g where strided; K and V pooled to ⌈g / s⌉."""
    v2 = name == "mvit_v2_s"
    t, g = frames // 2, size // 4
    params = 96 * 3 * 3 * 7 * 7 + 96 + 96  # conv_proj, class token
    macs = t * g * g * 96 * 3 * 3 * 7 * 7
    if not v2:
        params += g * g * 96 + t * 96 + 96  # spatial, temporal and class positions
    width = 96
    for i, (heads, out) in enumerate(zip(HEADS, WIDTHS[name])):
        a = out if v2 else width  # the attention's width (v2 widens in the attention)
        d = a // heads
        gq = g // 2 if i in DOWN else g
        gk = -(-g // KV[i])
        n_in, nq, nk = 1 + t * g * g, 1 + t * gq * gq, 1 + t * gk * gk
        params += 2 * width + 2 * a  # norm1, norm2
        params += width * 3 * a + 3 * a + a * a + a  # qkv, attention projection
        pooled_q = v2 or i in DOWN
        params += (3 if pooled_q else 2) * (27 * d + 2 * d)  # depthwise conv + LayerNorm(d)
        params += a * 4 * a + 4 * a + 4 * a * out + out  # MLP
        macs += n_in * width * 3 * a + (t * gq * gq * a * 27 if pooled_q else 0)
        macs += 2 * t * gk * gk * a * 27 + 2 * nq * nk * a + nq * a * a
        macs += nq * a * 4 * a + nq * 4 * a * out
        if v2:  # relative positions: tables of 2·max(q, kv) − 1 rows per axis; Q times each
            params += 2 * (2 * max(g // (2 if i in DOWN else 1), g // KV[i]) - 1) * d
            params += (2 * t - 1) * d
            macs += (nq - 1) * a * (t + gk + gk)
        if width != out:  # the shortcut's projection: v1 from norm2 (Q tokens), v2 from norm1
            params += width * out + out
            macs += (n_in if v2 else nq) * width * out
        width, g = out, gq
    params += 2 * 768 + 768 * classes + classes
    return params, macs + 768 * classes


@pytest.mark.parametrize("name", ["mvit_v1_b", "mvit_v2_s"])
def test_mvit_rows_by_hand_equal_the_table_and_the_spec(name):
    params, gflops = PUBLISHED[name]
    hand_params, hand_macs = mvit_counts(name)
    assert hand_params == params
    assert round(hand_macs / 1e9, 3) == gflops
    r = cnncalc.analyze(name)
    assert (r.params, r.macs) == (params, hand_macs)
    assert r.input_shapes == {"input": (3, 16, 224, 224)}
    assert r.output_shape == (400,)
    # the grid: 8×56×56 tokens + class token, 8×7×7 after the third Q stride
    assert r.row("blocks.0.norm1").output_shape == (1 + 8 * 56 * 56, 96)
    assert r.row("blocks.15.attn").output_shape == (1 + 8 * 7 * 7, 768)


@pytest.mark.parametrize("name", ["mvit_v1_b", "mvit_v2_s"])
def test_mvit_at_8_frames_of_160_by_hand(name):
    """8 frames of 160×160: a 4×40×40 grid, then 20, 10, 5; v1's position tables and v2's
    relative tables shrink with it."""
    r = cnncalc.analyze(name, frames=8, size=160)
    assert (r.params, r.macs) == mvit_counts(name, frames=8, size=160)
    assert r.row("blocks.15.attn").output_shape == (1 + 4 * 5 * 5, 768)


def test_mvit_v2_relative_tables_and_pooling_names():
    r = cnncalc.analyze("mvit_v2_s")
    attn = r.row("blocks.0.attn")  # 56×56, stride_kv 8: tables of 2·56 − 1 rows, time 2·8 − 1
    d = 96
    assert attn.params == (
        96 * 3 * 96 + 3 * 96 + 96 * 96 + 96 + 3 * (27 * d + 2 * d) + 2 * 111 * d + 15 * d
    )
    names = {row.name for row in r.rows}
    assert {"blocks.1.project", "blocks.1.pool_skip.pool", "pos_encoding.class_token"} <= names
    assert "pos_encoding.spatial_pos" not in names
    v1 = {row.name for row in cnncalc.analyze("mvit_v1_b").rows}
    assert {"blocks.0.project", "pos_encoding.spatial_pos", "pos_encoding.temporal_pos"} <= v1


# ---- verify: the NumPy backend runs each model, shrunk ----------------------------------------


def test_verify_maxvit_shrunk():
    """64×64, 2×2 partitions, narrower stages: every map still divides (32, 16, 8, 4, 2)."""
    r = cnncalc.verify(
        "maxvit_t",
        (3, 64, 64),
        variables=dict(part=2, stem=16, channels=[32, 32, 64, 64], depths=[1, 1, 2, 1]),
    )
    assert r.ok, r.failures[:3]
    assert r.layers[-1].actual == (1000,)


@pytest.mark.parametrize("name", ["mvit_v1_b", "mvit_v2_s"])
def test_verify_mvit_shrunk(name):
    """2 frames of 32×32 (a 1×8×8 grid), widths / 6: blocks, pooling and tables all run."""
    widths = [w // 6 for w in WIDTHS[name]]
    r = cnncalc.verify(name, variables=dict(frames=2, size=32, embed_dim=16, widths=widths))
    assert r.ok, r.failures[:3]
    assert r.layers[-1].actual == (400,)


# ---- the layers against loop references ------------------------------------------------------


def _softmax(np, x):
    e = np.exp(x - x.max())
    return e / e.sum()


def test_relative_attention_matches_loops():
    np = pytest.importorskip("numpy", reason="the NumPy backend needs numpy")
    g, s, d, hd = 2, 2, 8, 4
    n, h = s * s, d // hd
    layer = make_layer("relative_attention", dict(head_dim=hd), (g, n, d))
    rng = np.random.default_rng(1)
    p = {w.name: rng.standard_normal(w.shape).astype(np.float64) for w in layer.weights()}
    x = rng.standard_normal((2, g, n, d))
    y = layer.forward([x], p)
    want = np.zeros_like(x)
    for b in range(2):
        for w in range(g):
            qkv = x[b, w] @ p["to_qkv.weight"].T + p["to_qkv.bias"]
            heads_out = np.zeros((n, d))
            for k in range(h):
                cols = slice(k * hd, (k + 1) * hd)
                q, kk, v = qkv[:, cols], qkv[:, d:][:, cols], qkv[:, 2 * d :][:, cols]
                for a in range(n):
                    ya, xa = divmod(a, s)
                    scores = np.zeros(n)
                    for c in range(n):
                        yc, xc = divmod(c, s)
                        row = (ya - yc + s - 1) * (2 * s - 1) + (xa - xc + s - 1)
                        scores[c] = q[a] @ kk[c] / math.sqrt(d)  # MaxViT: D^-1/2, not d^-1/2
                        scores[c] += p["relative_position_bias_table"][row, k]
                    heads_out[a, cols] = _softmax(np, scores) @ v
            want[b, w] = heads_out @ p["merge.weight"].T + p["merge.bias"]
    assert np.allclose(y, want, atol=1e-10)


def _ln(np, x, w, b, eps=1e-6):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps) * w + b


def _pool_loops(np, toks, thw, weight, stride, ln_w, ln_b):
    """One head's pooling: depthwise 3×3×3 conv (padding 1) on the grid, class token kept,
    LayerNorm over the head width."""
    t, hh, ww = thw
    grid = toks[1:].reshape(t, hh, ww, -1)
    out_thw = tuple((a - 1) // s + 1 for a, s in zip(thw, stride))
    out = []
    for ot in range(out_thw[0]):
        for oh in range(out_thw[1]):
            for ow in range(out_thw[2]):
                acc = np.zeros(grid.shape[-1])
                for a in range(3):
                    for b in range(3):
                        for c in range(3):
                            it, ih, iw = (
                                ot * stride[0] + a - 1,
                                oh * stride[1] + b - 1,
                                ow * stride[2] + c - 1,
                            )
                            if 0 <= it < t and 0 <= ih < hh and 0 <= iw < ww:
                                acc += weight[:, 0, a, b, c] * grid[it, ih, iw]
                out.append(acc)
    y = np.concatenate([toks[:1], np.array(out)])
    return _ln(np, y, ln_w, ln_b), out_thw


@pytest.mark.parametrize("v2", [False, True])
def test_multiscale_attention_matches_loops(v2):
    """Pooling attention token by token: v1 (pooled Q, K, V) and v2 (+ relative positions along
    t, h, w, + residual pooling of Q on the grid tokens)."""
    np = pytest.importorskip("numpy", reason="the NumPy backend needs numpy")
    thw, c, co, h = (2, 4, 4), 6, 8, 2
    sq, skv = (1, 2, 2), (1, 2, 2)
    args = dict(
        num_heads=h, thw=list(thw), out_features=co, kernel_q=3, stride_q=list(sq), kernel_kv=3
    )
    args.update(stride_kv=list(skv), residual_pool=v2, rel_pos=v2)
    n = 1 + math.prod(thw)
    layer = make_layer("multiscale_attention", args, (n, c))
    rng = np.random.default_rng(2)
    p = {w.name: rng.standard_normal(w.shape) * 0.5 for w in layer.weights()}
    x = rng.standard_normal((1, n, c))
    y = layer.forward([x], p)
    d = co // h
    qkv = x[0] @ p["qkv.weight"].T + p["qkv.bias"]
    outs = []
    for k in range(h):
        part = [qkv[:, j * co + k * d : j * co + (k + 1) * d] for j in range(3)]
        q, qthw = _pool_loops(np, part[0], thw, p["pool_q.pool.weight"], sq, *_ln_w(p, "pool_q"))
        kk, kthw = _pool_loops(np, part[1], thw, p["pool_k.pool.weight"], skv, *_ln_w(p, "pool_k"))
        v, _ = _pool_loops(np, part[2], thw, p["pool_v.pool.weight"], skv, *_ln_w(p, "pool_v"))
        scores = (q / math.sqrt(d)) @ kk.T
        if v2:  # q_i · R[dist] per axis; dist = i·r_q − j·r_k + (k − 1)·r_k, r = max(ratio, 1)
            cells_q = [divmod_3(i, qthw) for i in range(math.prod(qthw))]
            cells_k = [divmod_3(j, kthw) for j in range(math.prod(kthw))]
            for i, ci in enumerate(cells_q):
                for j, cj in enumerate(cells_k):
                    for ax, table in ((0, "rel_pos_t"), (1, "rel_pos_h"), (2, "rel_pos_w")):
                        qs, ks = qthw[ax], kthw[ax]
                        rq, rk = max(ks / qs, 1.0), max(qs / ks, 1.0)
                        dist = int(ci[ax] * rq - cj[ax] * rk + (ks - 1) * rk)
                        scores[1 + i, 1 + j] += q[1 + i] @ p[table][dist]
        a = np.array([_softmax(np, row) for row in scores])
        o = a @ v
        if v2:
            o[1:] += q[1:]
        outs.append(o)
    want = np.concatenate(outs, axis=1) @ p["project.0.weight"].T + p["project.0.bias"]
    assert y.shape == (1, *layer.out_shape)
    assert np.allclose(y[0], want, atol=1e-9)


def _ln_w(p, pool):
    return p[f"{pool}.norm_act.0.weight"], p[f"{pool}.norm_act.0.bias"]


def divmod_3(i, thw):
    t, rest = divmod(i, thw[1] * thw[2])
    return (t, *divmod(rest, thw[2]))


# ---- layer rules: explanations and errors ----------------------------------------------------


def _final(text):
    return int(text.rsplit("= ", 1)[1].replace(",", ""))


@pytest.mark.parametrize(
    "type_, args, shape",
    [
        ("relative_attention", dict(head_dim=32), (64, 49, 64)),
        (
            "multiscale_attention",
            dict(num_heads=1, thw=[8, 56, 56], kernel_kv=3, stride_kv=[1, 8, 8]),
            (1 + 8 * 56 * 56, 96),
        ),
        (
            "multiscale_attention",
            dict(
                num_heads=2,
                thw=[8, 56, 56],
                out_features=192,
                kernel_q=3,
                stride_q=[1, 2, 2],
                kernel_kv=3,
                stride_kv=[1, 4, 4],
                residual_pool=True,
                rel_pos=True,
            ),
            (1 + 8 * 56 * 56, 96),
        ),
    ],
)
def test_explanations_account_for_the_counts(type_, args, shape):
    layer = make_layer(type_, args, shape)
    counts = {
        "params": sum(w.size for w in layer.weights() if w.kind == "param"),
        "buffers": sum(w.size for w in layer.weights() if w.kind == "buffer"),
        "macs": layer.macs(),
        "flops": layer.flops(),
    }
    checked = set()
    for f in layer.explain():
        if f.value is not None and "=" in f.text:
            assert _final(f.text) == f.value, f.text
        for key in f.checks:
            assert f.value == counts[key], f.text
            checked.add(key)
    assert {"params", "macs", "flops"} <= checked


@pytest.mark.parametrize(
    "args, shape, fragment",
    [
        (dict(num_heads=2, thw=[2, 4, 4]), (32, 8), "do not make a class token and a 2×4×4 grid"),
        (dict(num_heads=2, thw=[2, 4, 4]), (33, 8, 1), "token sequence"),
        (dict(num_heads=3, thw=[2, 4, 4]), (33, 8), "does not divide"),
        (dict(num_heads=2, thw=[4, 4]), (17, 8), "three sizes"),
        (dict(num_heads=2, thw=[2, 4, 4], stride_q=[1, 2]), (33, 8), "has 2 values"),
    ],
)
def test_multiscale_attention_errors(args, shape, fragment):
    with pytest.raises(CnncalcError) as info:
        make_layer("multiscale_attention", args, shape)
    assert fragment in str(info.value)


# ---- `else` on a skipped entry (the language feature MViT's shortcut needs) ------------------

ELSE_SPEC = """
input: [4, 6]
variables: {widen: false}
layers:
  - layernorm:
    name: norm
  - linear: {out_features: 8}
    name: body
  - linear: {out_features: 8}
    input: norm
    name: project
    when: widen
    else: input
  - add:
    inputs: [project, body]
"""


def test_else_names_what_a_skipped_entry_means(tmp_spec):
    path = tmp_spec(ELSE_SPEC.replace("out_features: 8", "out_features: 6"))
    r = cnncalc.analyze(path)
    assert r.row("add_1").inputs == ("input", "body")  # not the norm: `else`
    r = cnncalc.analyze(tmp_spec(ELSE_SPEC), widen=True)
    assert r.row("add_1").inputs == ("project", "body")
    assert r.row("project").inputs == ("norm",)
    assert r.params == 2 * 6 + 2 * (6 * 8 + 8)


def test_else_needs_when_and_a_known_name(tmp_spec):
    bad = tmp_spec(ELSE_SPEC.replace("    when: widen\n", ""), "no_when.yaml")
    p = run_cli("summary", str(bad))
    assert p.returncode == 1 and "'else'" in p.stderr and "needs 'when'" in p.stderr
    assert "Traceback" not in p.stderr
    bad = tmp_spec(ELSE_SPEC.replace("else: input", "else: nowhere"), "unknown.yaml")
    p = run_cli("summary", str(bad))
    assert p.returncode == 1 and "unknown input 'nowhere'" in p.stderr


# ---- what a person sees ----------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="the pty module is POSIX only")
def test_summary_in_a_terminal_at_80_columns():
    from .pty_util import run_in_pty

    r = run_in_pty("summary", "mvit_v2_s", "--set", "frames=8", "--set", "size=160")
    assert r.returncode == 0, r.text
    assert "\x1b[" in r.raw  # colour on
    assert all(len(line) <= 80 for line in r.text.splitlines())
    params, macs = mvit_counts("mvit_v2_s", frames=8, size=160)
    assert f"{params:,}" in r.text and f"{macs:,}" in r.text
    assert "warning" not in r.text  # --set changes the model: no expected_mismatch
