"""Layer cases for the layer types the zoo needs beyond the core table (same format as
tests/test_layers.py's CASES; test_every_registered_type_has_a_case reads both tables).

Expected values are written as arithmetic from each type's definition.
"""

from __future__ import annotations

import pytest

from .conftest import Case, check_case, make_layer

# ViT-B/16 sizes: N = 197 tokens (196 patches + class token), D = 768, H = 12 heads.
N, D, H = 197, 768, 12

CASES = {
    # ---- attention (cnncalc/layers/attention.py) ------------------------------------------
    "multi_head_attention ViT-B/16 (projections + Q·Kᵀ + A·V)": Case(
        "multi_head_attention",
        dict(num_heads=H),
        [(N, D)],
        (N, D),
        3 * D * D + 3 * D + D * D + D,
        3 * N * D * D + N * N * D + N * N * D + N * D * D,
        2 * (4 * N * D * D + 2 * N * N * D) + 4 * N * D + H * N * N + 4 * H * N * N,
    ),
    "multi_head_attention ViT-L/16 (D 1024, 16 heads)": Case(
        "multi_head_attention",
        dict(num_heads=16),
        [(197, 1024)],
        (197, 1024),
        4 * 1024 * 1024 + 4 * 1024,
        4 * 197 * 1024 * 1024 + 2 * 197 * 197 * 1024,
    ),
    "multi_head_attention without bias, one head": Case(
        "multi_head_attention",
        dict(num_heads=1, bias=False, embed_dim=8),
        [(5, 8)],
        (5, 8),
        4 * 8 * 8,
        4 * 5 * 8 * 8 + 2 * 5 * 5 * 8,
        2 * (4 * 5 * 8 * 8 + 2 * 5 * 5 * 8) + 1 * 5 * 5 + 4 * 1 * 5 * 5,
    ),
    "class_token 196 → 197 tokens": Case("class_token", {}, [(196, D)], (197, D), D, 0, 0),
    "position_embedding 197×768": Case("position_embedding", {}, [(N, D)], (N, D), N * D, 0, N * D),
    "select_token class token (index 0)": Case(
        "select_token", dict(index=0), [(N, D)], (D,), 0, 0, 0
    ),
    "select_token last token": Case("select_token", dict(index=-1), [(5, 3, 4)], (3, 4), 0, 0, 0),
    # ---- RoI Align (cnncalc/layers/detection.py): FLOPs = R·C·h·w·(7 + 1)·s² -------------------
    "roi_align Faster R-CNN box pool: 1000 RoIs, 7×7, P2–P5": Case(
        "roi_align",
        dict(num_rois=1000, output_size=7, sampling_ratio=2, image_size=[800, 800]),
        [(256, 200, 200), (256, 100, 100), (256, 50, 50), (256, 25, 25)],
        (1000, 256, 7, 7),
        0,
        0,
        1000 * 256 * 7 * 7 * (7 + 1) * 2 * 2,
    ),
    "roi_align Mask R-CNN mask pool: 100 RoIs, 14×14": Case(
        "roi_align",
        dict(num_rois=100, output_size=[14, 14], image_size=[800, 1066]),
        [(256, 200, 272), (256, 100, 136), (256, 50, 68), (256, 25, 34)],
        (100, 256, 14, 14),
        0,
        0,
        100 * 256 * 14 * 14 * 8 * 4,
    ),
    "roi_align one map, spatial_scale 1/16, 3×2 bins, 1 sample": Case(
        "roi_align",
        dict(num_rois=5, output_size=[3, 2], sampling_ratio=1, spatial_scale=0.0625),
        [(8, 10, 12)],
        (5, 8, 3, 2),
        0,
        0,
        5 * 8 * 3 * 2 * 8 * 1,
    ),
    # ---- MViT's pooling attention (cnncalc/layers/mvit.py) -----------------------------------
    # MViT v1-B block 0: 1 + 8·56·56 tokens of 96, one head, K and V pooled 1×8×8 → 1 + 8·7·7.
    "multiscale_attention MViT v1-B block 0 (K, V pooled to 8×7×7)": Case(
        "multiscale_attention",
        dict(num_heads=1, thw=[8, 56, 56], kernel_kv=3, stride_kv=[1, 8, 8]),
        [(1 + 8 * 56 * 56, 96)],
        (1 + 8 * 56 * 56, 96),
        96 * 3 * 96 + 3 * 96 + 96 * 96 + 96 + 2 * (96 * 27 + 2 * 96),
        25089 * 96 * 3 * 96  # qkv
        + 2 * 96 * 8 * 7 * 7 * 27  # depthwise 3×3×3 pooling of K and V
        + 2 * 25089 * 393 * 96  # Q·Kᵀ and A·V
        + 25089 * 96 * 96,  # project
        2 * (25089 * 96 * 3 * 96 + 2 * 96 * 8 * 7 * 7 * 27 + 2 * 25089 * 393 * 96 + 25089 * 96 * 96)
        + 3 * 25089 * 96
        + 25089 * 96  # bias adds
        + 2 * 7 * 393 * 96  # the pooling LayerNorms (class token included)
        + 25089 * 96  # Q scaled
        + 4 * 25089 * 393,  # softmax
    ),
    "multiscale_attention v2: 2×4×4 grid, Q and K/V strided, relative positions": Case(
        "multiscale_attention",
        dict(
            num_heads=2,
            thw=[2, 4, 4],
            out_features=8,
            kernel_q=3,
            stride_q=[1, 2, 2],
            kernel_kv=3,
            stride_kv=[1, 2, 2],
            residual_pool=True,
            rel_pos=True,
        ),
        [(33, 6)],
        (9, 8),
        6 * 24 + 24 + 8 * 8 + 8 + 3 * (27 * 4 + 2 * 4) + 2 * (2 * 2 - 1) * 4 + (2 * 2 - 1) * 4,
        33 * 6 * 24 + 3 * 8 * 8 * 27 + 2 * 9 * 9 * 8 + 8 * 8 * (2 + 2 + 2) + 9 * 8 * 8,
        2 * (33 * 6 * 24 + 3 * 8 * 8 * 27 + 2 * 9 * 9 * 8 + 8 * 8 * 6 + 9 * 8 * 8)
        + 3 * 33 * 8
        + 9 * 8
        + 3 * 7 * 9 * 8
        + 9 * 8
        + 4 * 2 * 9 * 9
        + 3 * 2 * 8 * 8  # relative position terms summed into the scores
        + 8 * 8,  # residual pooling (grid tokens)
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_zoo_layer_case(case: Case):
    check_case(case)


@pytest.mark.parametrize(
    "type_, args, inputs, fragment",
    [
        ("multi_head_attention", dict(num_heads=5), [(197, 768)], "does not divide"),
        ("multi_head_attention", dict(num_heads=12), [(768, 14, 14)], "token sequence (N, D)"),
        ("multi_head_attention", dict(num_heads=2, embed_dim=8), [(4, 6)], "embed_dim=8"),
        ("multi_head_attention", dict(num_heads=2, dropout=1.0), [(4, 6)], "dropout must be < 1"),
        ("class_token", {}, [(768,)], "token sequence (N, D)"),
        ("select_token", dict(index=5), [(5, 4)], "out of range for 5 tokens"),
        ("select_token", {}, [(5,)], "expects a sequence"),
    ],
)
def test_zoo_layer_errors(type_, args, inputs, fragment):
    from cnncalc.errors import CnncalcError

    with pytest.raises(CnncalcError) as info:
        make_layer(type_, args, *inputs)
    assert fragment in str(info.value)
