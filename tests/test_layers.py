"""The layer-case table: every rule, with expected values written as arithmetic.

One row per case: (type, args, input shapes, output shape, params, MACs, FLOPs or None, buffers).
Adding a layer type = adding its class and at least one row here.
"""

from __future__ import annotations

import pytest

from cnncalc.errors import CnncalcError
from cnncalc.layers import REGISTRY

from .conftest import Case, check_case, make_layer
from .test_layers_zoo import CASES as ZOO_CASES

CASES = {
    # ---- convolution ------------------------------------------------------------------------
    "conv2d alexnet conv1 (seed 002)": Case(
        "conv2d",
        dict(out_channels=96, kernel_size=11, stride=4),
        [(3, 227, 227)],
        (96, 55, 55),
        (11 * 11 * 3 + 1) * 96,
        55 * 55 * 96 * 11 * 11 * 3,
        2 * 55 * 55 * 96 * 11 * 11 * 3 + 55 * 55 * 96,
    ),
    "conv2d 7x7 input 3x3 filter (seed 002)": Case(
        "conv2d", dict(out_channels=1, kernel_size=3), [(1, 7, 7)], (1, 5, 5), 3 * 3 + 1, 5 * 5 * 9
    ),
    "conv2d 50 filters on 64x64x3 (seed 001)": Case(
        "conv2d",
        dict(out_channels=50, kernel_size=3),
        [(3, 64, 64)],
        (50, 62, 62),
        1400,
        62 * 62 * 50 * 27,
    ),
    "conv2d 50 filters on 1080x1080x3 (seed 001)": Case(
        "conv2d",
        dict(out_channels=50, kernel_size=3),
        [(3, 1080, 1080)],
        (50, 1078, 1078),
        1400,
        1078 * 1078 * 50 * 27,
    ),
    "conv2d 3->6 maps (seed 000)": Case(
        "conv2d",
        dict(out_channels=6, kernel_size=3, padding=1),
        [(3, 32, 32)],
        (6, 32, 32),
        3 * 6 * 9 + 6,
        32 * 32 * 6 * 3 * 9,
    ),
    "conv2d 6->12 maps, no bias (seed 000: 6·12·9 = 648)": Case(
        "conv2d",
        dict(out_channels=12, kernel_size=3, padding=1, bias=False),
        [(6, 32, 32)],
        (12, 32, 32),
        6 * 12 * 9,
        32 * 32 * 12 * 6 * 9,
        2 * 32 * 32 * 12 * 6 * 9,
    ),
    "conv2d seed 003 [3,16,3,3] on 32x32 → 30 (not 29)": Case(
        "conv2d",
        dict(out_channels=16, kernel_size=3),
        [(3, 32, 32)],
        (16, 32 - 3 + 1, 32 - 3 + 1),
        16 * 3 * 9 + 16,
        30 * 30 * 16 * 27,
    ),
    "conv2d same padding 12 filters (seed 002)": Case(
        "conv2d",
        dict(out_channels=12, kernel_size=3, padding="same"),
        [(3, 32, 32)],
        (12, 32, 32),
        12 * 27 + 12,
        32 * 32 * 12 * 27,
    ),
    "conv2d same, stride 2, odd pixel at end": Case(
        "conv2d",
        dict(out_channels=8, kernel_size=3, stride=2, padding="same"),
        [(3, 224, 224)],
        (8, 112, 112),
        8 * 27 + 8,
        112 * 112 * 8 * 27,
    ),
    "conv2d valid": Case(
        "conv2d",
        dict(out_channels=4, kernel_size=5, padding="valid", bias=False),
        [(2, 9, 9)],
        (4, 5, 5),
        4 * 2 * 25,
        5 * 5 * 4 * 2 * 25,
    ),
    "conv2d stride 2 with padding (resnet conv1)": Case(
        "conv2d",
        dict(out_channels=64, kernel_size=7, stride=2, padding=3, bias=False),
        [(3, 224, 224)],
        (64, 112, 112),
        64 * 3 * 49,
        112 * 112 * 64 * 3 * 49,
    ),
    "conv2d per-side padding [[0,1],[2,0]]": Case(
        "conv2d",
        dict(out_channels=1, kernel_size=3, padding=[[0, 1], [2, 0]], bias=False),
        [(1, 10, 10)],
        (1, (10 + 0 + 1 - 3) + 1, (10 + 2 + 0 - 3) + 1),
        9,
        9 * 10 * 9,
    ),
    "conv2d dilation 2 (effective kernel 5)": Case(
        "conv2d",
        dict(out_channels=8, kernel_size=3, dilation=2, bias=False),
        [(4, 32, 32)],
        (8, 32 - 5 + 1, 32 - 5 + 1),
        8 * 4 * 9,
        28 * 28 * 8 * 4 * 9,
    ),
    "conv2d rectangular kernel and stride": Case(
        "conv2d",
        dict(out_channels=2, kernel_size=[1, 7], stride=[1, 2], padding=[0, 3]),
        [(4, 17, 17)],
        (2, 17, (17 + 6 - 7) // 2 + 1),
        (4 * 7 + 1) * 2,
        17 * 9 * 2 * 4 * 7,
    ),
    "conv2d groups 2 (AlexNet 2012 conv2)": Case(
        "conv2d",
        dict(out_channels=256, kernel_size=5, padding=2, groups=2),
        [(96, 27, 27)],
        (256, 27, 27),
        256 * (96 // 2) * 25 + 256,
        27 * 27 * 256 * 48 * 25,
    ),
    "conv2d depthwise (groups = channels)": Case(
        "conv2d",
        dict(out_channels=32, kernel_size=3, padding=1, groups=32, bias=False),
        [(32, 112, 112)],
        (32, 112, 112),
        32 * 1 * 9,
        112 * 112 * 32 * 9,
    ),
    "conv1d": Case(
        "conv1d",
        dict(out_channels=8, kernel_size=5, stride=2),
        [(4, 100)],
        (8, (100 - 5) // 2 + 1),
        8 * 4 * 5 + 8,
        48 * 8 * 4 * 5,
    ),
    "conv3d": Case(
        "conv3d",
        dict(out_channels=16, kernel_size=3, padding=1),
        [(3, 8, 32, 32)],
        (16, 8, 32, 32),
        16 * 3 * 27 + 16,
        8 * 32 * 32 * 16 * 3 * 27,
    ),
    "conv (rank from input) on 1-d": Case(
        "conv", dict(out_channels=2, kernel_size=3), [(1, 10)], (2, 8), 2 * 3 + 2, 8 * 2 * 3
    ),
    # ---- transposed convolution -------------------------------------------------------------
    "conv_transpose2d x2 (k4 s2 p1)": Case(
        "conv_transpose2d",
        dict(out_channels=64, kernel_size=4, stride=2, padding=1),
        [(128, 7, 7)],
        (64, (7 - 1) * 2 - 2 + 4, (7 - 1) * 2 - 2 + 4),
        128 * 64 * 16 + 64,
        7 * 7 * 128 * 64 * 16,
        2 * 7 * 7 * 128 * 64 * 16 + 64 * 14 * 14,
    ),
    "conv_transpose2d output_padding": Case(
        "conv_transpose2d",
        dict(out_channels=16, kernel_size=3, stride=2, padding=1, output_padding=1),
        [(32, 7, 7)],
        (16, (7 - 1) * 2 - 2 + 3 + 1, 14),
        32 * 16 * 9 + 16,
        7 * 7 * 32 * 16 * 9,
    ),
    "conv_transpose2d U-Net up-conv 2x2": Case(
        "conv_transpose2d",
        dict(out_channels=512, kernel_size=2, stride=2),
        [(1024, 28, 28)],
        (512, 56, 56),
        1024 * 512 * 4 + 512,
        28 * 28 * 1024 * 512 * 4,
    ),
    "conv_transpose2d groups and dilation": Case(
        "conv_transpose2d",
        dict(out_channels=8, kernel_size=3, dilation=2, groups=2, bias=False),
        [(4, 5, 5)],
        (8, (5 - 1) + 2 * 2 + 1, 9),
        4 * (8 // 2) * 9,
        5 * 5 * 4 * 4 * 9,
    ),
    "conv_transpose1d": Case(
        "conv_transpose1d",
        dict(out_channels=3, kernel_size=4, stride=4),
        [(6, 10)],
        (3, 9 * 4 + 4),
        6 * 3 * 4 + 3,
        10 * 6 * 3 * 4,
    ),
    # ---- pooling -----------------------------------------------------------------------------
    "maxpool2d 2 (seed 002: 32 → 16)": Case(
        "maxpool2d", dict(kernel_size=2), [(12, 32, 32)], (12, 16, 16), 0, 0, 12 * 16 * 16 * (4 - 1)
    ),
    "maxpool2d overlapping 3/2 (AlexNet)": Case(
        "maxpool2d",
        dict(kernel_size=3, stride=2),
        [(96, 55, 55)],
        (96, 27, 27),
        0,
        0,
        96 * 27 * 27 * 8,
    ),
    "maxpool2d padding 1 (resnet)": Case(
        "maxpool2d", dict(kernel_size=3, stride=2, padding=1), [(64, 112, 112)], (64, 56, 56)
    ),
    "maxpool2d ceil mode (googlenet 112 → 56)": Case(
        "maxpool2d", dict(kernel_size=3, stride=2, ceil_mode=True), [(64, 112, 112)], (64, 56, 56)
    ),
    "maxpool2d ceil mode drops window in padding": Case(
        "maxpool2d",
        dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
        [(1, 5, 5)],
        (1, 3, 3),
    ),
    # ceil mode lets the kernel exceed the input by up to S − 1, as PyTorch: ⌈(1 − 2)/2⌉ + 1 = 1
    "maxpool2d ceil mode, kernel 2 on width 1": Case(
        "maxpool2d",
        dict(kernel_size=2, stride=2, ceil_mode=True),
        [(3, 1, 1)],
        (3, 1, 1),
        0,
        0,
        3 * 1 * 1 * (2 * 2 - 1),
    ),
    "avgpool1d ceil mode, kernel 6 on width 5": Case(
        "avgpool1d", dict(kernel_size=6, ceil_mode=True), [(2, 5)], (2, 1), 0, 0, 2 * 1 * 6
    ),
    "maxpool2d dilation": Case(
        "maxpool2d", dict(kernel_size=3, stride=1, dilation=2), [(1, 10, 10)], (1, 10 - 5 + 1, 6)
    ),
    "maxpool2d same padding (Keras)": Case(
        "maxpool2d", dict(kernel_size=3, stride=2, padding="same"), [(8, 147, 147)], (8, 74, 74)
    ),
    "avgpool2d (LeNet)": Case(
        "avgpool2d", dict(kernel_size=2), [(6, 28, 28)], (6, 14, 14), 0, 0, 6 * 14 * 14 * 4
    ),
    "avgpool2d 3/1/1 (inception branch)": Case(
        "avgpool2d", dict(kernel_size=3, stride=1, padding=1), [(192, 35, 35)], (192, 35, 35)
    ),
    "maxpool1d": Case("maxpool1d", dict(kernel_size=2), [(3, 9)], (3, 4)),
    "maxpool3d": Case("maxpool3d", dict(kernel_size=2), [(3, 8, 8, 8)], (3, 4, 4, 4)),
    "global_avg_pool": Case("global_avg_pool", {}, [(2048, 7, 7)], (2048,), 0, 0, 2048 * 49),
    "global_max_pool keepdims": Case(
        "global_max_pool", dict(keepdims=True), [(512, 7, 7)], (512, 1, 1), 0, 0, 512 * 49 - 512
    ),
    "adaptive_avgpool2d 6x6 from 13 (alexnet)": Case(
        "adaptive_avgpool2d",
        dict(output_size=6),
        [(256, 13, 13)],
        (256, 6, 6),
        0,
        0,
        # windows on 13 → 6: [0,3) [2,5) [4,7) [6,9) [8,11) [10,13): six windows of 3
        256 * (6 * 3) * (6 * 3),
    ),
    "adaptive_avgpool2d identity 6 from 6": Case(
        "adaptive_avgpool2d", dict(output_size=[6, 6]), [(256, 6, 6)], (256, 6, 6), 0, 0, 256 * 36
    ),
    "adaptive_maxpool1d": Case(
        "adaptive_maxpool1d", dict(output_size=2), [(4, 10)], (4, 2), 0, 0, 4 * (10 - 2)
    ),
    # ---- linear ------------------------------------------------------------------------------
    "linear 9216 → 4096 (alexnet fc6, seed 000)": Case(
        "linear",
        dict(out_features=4096),
        [(9216,)],
        (4096,),
        9216 * 4096 + 4096,
        9216 * 4096,
        2 * 9216 * 4096 + 4096,
    ),
    "dense 64x64x3 → 50 (seed 001: 614,450)": Case(
        "dense", dict(out_features=50), [(64 * 64 * 3,)], (50,), 614450, 64 * 64 * 3 * 50
    ),
    "dense 1080x1080x3 → 50 (seed 001: 174,960,050)": Case(
        "dense", dict(out_features=50), [(1080 * 1080 * 3,)], (50,), 174960050, 1080 * 1080 * 3 * 50
    ),
    "linear on tokens (last axis of rank 2)": Case(
        "linear",
        dict(out_features=3072),
        [(197, 768)],
        (197, 3072),
        768 * 3072 + 3072,
        197 * 768 * 3072,
    ),
    "linear without bias": Case(
        "linear", dict(out_features=10, bias=False), [(128,)], (10,), 1280, 1280, 2 * 1280
    ),
    # ---- normalisation -----------------------------------------------------------------------
    "batchnorm2d": Case(
        "batchnorm2d", {}, [(64, 56, 56)], (64, 56, 56), 2 * 64, 0, 2 * 64 * 56 * 56, 2 * 64
    ),
    "batchnorm1d on features": Case(
        "batchnorm1d", {}, [(4096,)], (4096,), 2 * 4096, 0, 2 * 4096, 2 * 4096
    ),
    "batchnorm2d no affine": Case(
        "batchnorm2d", dict(affine=False), [(8, 4, 4)], (8, 4, 4), 0, 0, 2 * 8 * 16, 16
    ),
    "batchnorm2d Keras scale=False (β only)": Case(
        "batchnorm2d",
        dict(scale=False, eps=1e-3),
        [(32, 8, 8)],
        (32, 8, 8),
        32,
        0,
        2 * 32 * 64,
        2 * 32,
    ),
    "frozen_batchnorm2d (all buffers)": Case(
        "frozen_batchnorm2d", {}, [(256, 14, 14)], (256, 14, 14), 0, 0, 2 * 256 * 196, 4 * 256
    ),
    "layernorm on last axis (ViT)": Case(
        "layernorm", dict(eps=1e-6), [(197, 768)], (197, 768), 2 * 768, 0, 7 * 197 * 768
    ),
    "layernorm normalized_shape 2 axes, no bias": Case(
        "layernorm",
        dict(normalized_shape=[4, 5], bias=False),
        [(3, 4, 5)],
        (3, 4, 5),
        20,
        0,
        7 * 60,
    ),
    "groupnorm": Case(
        "groupnorm", dict(num_groups=32), [(256, 7, 7)], (256, 7, 7), 2 * 256, 0, 7 * 256 * 49
    ),
    "local_response_norm (AlexNet 2012)": Case(
        "local_response_norm",
        dict(size=5, alpha=1e-4, beta=0.75, k=2.0),
        [(96, 55, 55)],
        (96, 55, 55),
        0,
        0,
        (2 * 5 + 3) * 96 * 55 * 55,
    ),
    "normalization (Keras; mean, variance per channel + count)": Case(
        "normalization", {}, [(3, 224, 224)], (3, 224, 224), 0, 0, 2 * 3 * 224 * 224, 3 + 3 + 1
    ),
    "rescaling 1/255": Case("rescaling", dict(scale=1 / 255), [(3, 8, 8)], (3, 8, 8), 0, 0, 3 * 64),
    # ---- activations and regularisation --------------------------------------------------------
    "relu": Case("relu", {}, [(64, 8, 8)], (64, 8, 8), 0, 0, 64 * 64),
    "relu6": Case("relu6", {}, [(32, 4, 4)], (32, 4, 4), 0, 0, 2 * 32 * 16),
    "leaky_relu slope 0.1 (YOLO)": Case(
        "leaky_relu", dict(negative_slope=0.1), [(8, 2, 2)], (8, 2, 2), 0, 0, 2 * 32
    ),
    "sigmoid": Case("sigmoid", {}, [(10,)], (10,), 0, 0, 40),
    "tanh": Case("tanh", {}, [(10,)], (10,), 0, 0, 50),
    "silu": Case("silu", {}, [(10,)], (10,), 0, 0, 50),
    "swish (Keras name of silu)": Case("swish", {}, [(10,)], (10,), 0, 0, 50),
    "hardswish": Case("hardswish", {}, [(10,)], (10,), 0, 0, 40),
    "hardsigmoid": Case("hardsigmoid", {}, [(10,)], (10,), 0, 0, 30),
    "gelu": Case("gelu", {}, [(197, 768)], (197, 768), 0, 0, 8 * 197 * 768),
    "elu": Case("elu", {}, [(10,)], (10,), 0, 0, 30),
    "softmax": Case("softmax", {}, [(1000,)], (1000,), 0, 0, 4000),
    "softmax over last axis": Case(
        "softmax", dict(axis=-1), [(12, 197, 197)], (12, 197, 197), 0, 0, 4 * 12 * 197 * 197
    ),
    "dropout": Case("dropout", dict(p=0.5), [(4096,)], (4096,), 0, 0, 0),
    "dropout2d": Case("dropout2d", dict(p=0.2), [(8, 4, 4)], (8, 4, 4), 0, 0, 0),
    "identity": Case("identity", {}, [(3, 4)], (3, 4), 0, 0, 0),
    # ---- merges --------------------------------------------------------------------------------
    "add (residual)": Case(
        "add", {}, [(256, 56, 56), (256, 56, 56)], (256, 56, 56), 0, 0, 256 * 56 * 56
    ),
    "add three inputs": Case("add", {}, [(4, 2, 2)] * 3, (4, 2, 2), 0, 0, 2 * 16),
    "multiply SE broadcast (C,H,W)·(C,1,1)": Case(
        "multiply", {}, [(64, 28, 28), (64, 1, 1)], (64, 28, 28), 0, 0, 64 * 28 * 28
    ),
    "concat channels (inception)": Case(
        "concat",
        {},
        [(64, 28, 28), (128, 28, 28), (32, 28, 28), (32, 28, 28)],
        (64 + 128 + 32 + 32, 28, 28),
    ),
    "concat tokens (class token)": Case("concat", dict(axis=0), [(1, 768), (196, 768)], (197, 768)),
    "concat last axis": Case("concat", dict(axis=-1), [(2, 3, 4), (2, 3, 5)], (2, 3, 9)),
    # ---- shape ops -----------------------------------------------------------------------------
    "flatten 256·6·6 = 9216": Case("flatten", {}, [(256, 6, 6)], (256 * 6 * 6,)),
    "flatten 6×3×512 = 9216 (seed 000)": Case("flatten", {}, [(512, 6, 3)], (6 * 3 * 512,)),
    "flatten spatial only (ViT patches)": Case(
        "flatten", dict(start_dim=1), [(768, 14, 14)], (768, 196)
    ),
    "reshape with -1": Case("reshape", dict(shape=[-1, 7, 7, 30]), [(1470,)], (1, 7, 7, 30)),
    "reshape YOLO 7x7x30": Case("reshape", dict(shape=[7, 7, 30]), [(1470,)], (7, 7, 30)),
    "permute CHW → HWC": Case("permute", dict(dims=[1, 2, 0]), [(3, 4, 5)], (4, 5, 3)),
    "transpose tokens": Case("transpose", dict(dims=[1, 0]), [(768, 196)], (196, 768)),
    "transpose two axes (torch.transpose)": Case(
        "transpose", dict(dim0=0, dim1=-1), [(3, 4, 5)], (5, 4, 3)
    ),
    # ---- padding, cropping, resizing -------------------------------------------------------------
    "zero_pad2d 1": Case("zero_pad2d", dict(padding=1), [(3, 224, 224)], (3, 226, 226)),
    "zero_pad2d Keras ((0,1),(0,1))": Case(
        "zero_pad2d", dict(padding=[[0, 1], [0, 1]]), [(3, 224, 224)], (3, 225, 225)
    ),
    "crop2d": Case("crop2d", dict(cropping=[[2, 2], [1, 3]]), [(1, 10, 10)], (1, 6, 6)),
    "center_crop to size (U-Net 64 → 56)": Case(
        "center_crop", dict(size=56), [(512, 64, 64)], (512, 56, 56)
    ),
    "center_crop to a reference input": Case(
        "center_crop", {}, [(64, 568, 568), (64, 392, 392)], (64, 392, 392)
    ),
    "upsample nearest ×2": Case(
        "upsample", dict(scale_factor=2), [(256, 13, 13)], (256, 26, 26), 0, 0, 0
    ),
    "upsample bilinear to size": Case(
        "upsample",
        dict(size=[20, 30], mode="bilinear"),
        [(3, 10, 10)],
        (3, 20, 30),
        0,
        0,
        (2 * 4 - 1) * 3 * 600,
    ),
    "upsample scale 1.5 floors": Case("upsample", dict(scale_factor=1.5), [(1, 5, 5)], (1, 7, 7)),
    # ---- importer operands and element-wise ops (cnncalc/layers/importer_ops.py) -----------
    "constant learned: a ViT position embedding": Case(
        "constant", dict(shape=[197, 768]), [(3, 8, 8)], (197, 768), 197 * 768, 0, 0
    ),
    "constant broadcast of a smaller learned tensor": Case(
        "constant", dict(shape=[4, 8], weight_shape=[8]), [(1,)], (4, 8), 8, 0, 0
    ),
    "constant fixed value: no weights": Case(
        "constant", dict(shape=[1], learned="none"), [(3,)], (1,), 0, 0, 0
    ),
    "constant buffer": Case(
        "constant", dict(shape=[5], learned="buffer"), [(3,)], (5,), 0, 0, 0, 5
    ),
    "elementwise div by a scalar": Case(
        "elementwise", dict(op="div"), [(12, 197, 197), (1,)], (12, 197, 197), 0, 0, 12 * 197 * 197
    ),
    "elementwise erf (4 FLOPs per element)": Case(
        "elementwise", dict(op="erf"), [(197, 3072)], (197, 3072), 0, 0, 4 * 197 * 3072
    ),
    "resize_to the image (segmentation head, bilinear)": Case(
        "resize_to",
        {},
        [(21, 28, 28), (3, 224, 224)],
        (21, 224, 224),
        0,
        0,
        (2 * 2**2 - 1) * 21 * 224 * 224,
    ),
    # ---- generic tensor ops (issue 11) ----------------------------------------------------------
    "slice axis 1, every other row (Swin's x[0::2])": Case(
        "slice", dict(axis=1, start=0, step=2), [(96, 56, 56)], (96, 56 // 2, 56), 0, 0, 0
    ),
    "slice negative start/stop, clamped": Case(
        "slice", dict(axis=-1, start=-5, stop=100), [(4, 7)], (4, 5)
    ),
    "slice step 3 of 10 → ⌈10 / 3⌉": Case("slice", dict(start=0, step=3), [(10, 2)], (4, 2)),
    "split sections, piece 1": Case(
        "split", dict(sizes=[64, 32, 32], index=1), [(128, 7, 7)], (32, 7, 7)
    ),
    "split size 5 of 12, last piece 12 − 2·5": Case(
        "split", dict(sizes=5, index=2), [(12, 3)], (12 - 2 * 5, 3)
    ),
    "chunk 3 of 3·768 on the last axis (qkv)": Case(
        "chunk", dict(chunks=3, axis=-1, index=2), [(49, 3 * 768)], (49, 768)
    ),
    "roll Swin shift (−3, −3)": Case(
        "roll", dict(shifts=[-3, -3], axis=[0, 1]), [(56, 56, 96)], (56, 56, 96), 0, 0, 0
    ),
    "channel_shuffle 2 groups (ShuffleNetV2)": Case(
        "channel_shuffle", dict(groups=2), [(116, 28, 28)], (116, 28, 28), 0, 0, 0
    ),
    "pixel_unshuffle 2: (C·4, H/2, W/2)": Case(
        "pixel_unshuffle", dict(factor=2), [(96, 56, 56)], (96 * 4, 28, 28)
    ),
    "space_to_depth channels last (Swin patch merging)": Case(
        "space_to_depth",
        dict(factor=2, order="dx_dy_c", channel_axis=-1),
        [(56, 56, 96)],
        (28, 28, 4 * 96),
    ),
    "pixel_shuffle 3: (C/9, 3H, 3W)": Case(
        "pixel_shuffle", dict(factor=3), [(18, 5, 4)], (2, 15, 12)
    ),
    "matmul Q·Kᵀ per head (Swin window: 3 heads, 49 tokens, 32 wide)": Case(
        "matmul",
        dict(transpose_b=True),
        [(3, 49, 32), (3, 49, 32)],
        (3, 49, 49),
        0,
        3 * 49 * 32 * 49,
        2 * 3 * 49 * 32 * 49,
    ),
    "matmul broadcast leading axes (1, n, k) @ (4, k, m)": Case(
        "matmul", {}, [(1, 5, 6), (4, 6, 7)], (4, 5, 7), 0, 4 * 5 * 6 * 7
    ),
    "matmul matrix @ vector": Case("matmul", {}, [(5, 6), (6,)], (5,), 0, 5 * 6),
    "parameter: Swin-T stage-1 bias table (2·7 − 1)²·3": Case(
        "parameter", dict(shape=[169, 3]), [], (169, 3), (2 * 7 - 1) ** 2 * 3, 0, 0
    ),
    "buffer: relative_position_index 49·49": Case(
        "buffer", dict(shape=[49 * 49]), [], (2401,), 0, 0, 0, 49 * 49
    ),
    "scale: ConvNeXt layer scale, C params, 1 FLOP/element": Case(
        "scale", {}, [(96, 56, 56)], (96, 56, 56), 96, 0, 96 * 56 * 56
    ),
    "scale channels last": Case(
        "scale", dict(axis=-1), [(7, 7, 768)], (7, 7, 768), 768, 0, 49 * 768
    ),
    # SSD300's conv4_3 L2Norm: (512, 38, 38), γ (512,); 3 FLOPs per element + 1 for γ
    "l2_normalize SSD300 conv4_3 with its scale": Case(
        "l2_normalize", dict(scale=True), [(512, 38, 38)], (512, 38, 38), 512, 0, 4 * 512 * 38 * 38
    ),
    "l2_normalize last axis, no scale (Swin v2's q, k)": Case(
        "l2_normalize", dict(axis=-1), [(3, 49, 32)], (3, 49, 32), 0, 0, 3 * 3 * 49 * 32
    ),
    # Swin-T's window: a (2·7 − 1)² × 3 bias table gathered at the 49·49 index
    "gather a bias table at a relative-position index": Case(
        "gather", {}, [(169, 3), (49 * 49,)], (49 * 49, 3), 0, 0, 0
    ),
    "gather along axis 1 with 2-D indices": Case(
        "gather", dict(axis=1), [(4, 6, 5), (2, 3)], (4, 2, 3, 5), 0, 0, 0
    ),
    "stochastic_depth is the identity at inference": Case(
        "stochastic_depth", dict(p=0.2), [(56, 56, 96)], (56, 56, 96), 0, 0, 0
    ),
    "subtract": Case("subtract", {}, [(4, 3, 3), (4, 1, 1)], (4, 3, 3), 0, 0, 4 * 9),
    "prelu shared slope": Case("prelu", {}, [(8, 4, 4)], (8, 4, 4), 1, 0, 2 * 8 * 16),
    "prelu per channel": Case(
        "prelu", dict(num_parameters=8), [(8, 4, 4)], (8, 4, 4), 8, 0, 2 * 128
    ),
    "softplus: 5 FLOPs/element": Case("softplus", {}, [(10,)], (10,), 0, 0, 5 * 10),
    "layernorm2d over the channels of (C, H, W) (ConvNeXt)": Case(
        "layernorm2d", {}, [(96, 56, 56)], (96, 56, 56), 2 * 96, 0, 7 * 96 * 56 * 56
    ),
    "layernorm axis 0 of a token sequence": Case(
        "layernorm", dict(axis=0), [(16, 5)], (16, 5), 2 * 16, 0, 7 * 80
    ),
    "group_norm 32 groups": Case(
        "group_norm", dict(num_groups=32), [(256, 7, 7)], (256, 7, 7), 2 * 256, 0, 7 * 256 * 49
    ),
    "instance_norm: PyTorch default, no weights": Case(
        "instancenorm2d", {}, [(64, 8, 8)], (64, 8, 8), 0, 0, 5 * 64 * 64
    ),
    "instance_norm affine + running stats": Case(
        "instance_norm",
        dict(affine=True, track_running_stats=True),
        [(64, 8, 8)],
        (64, 8, 8),
        2 * 64,
        0,
        7 * 64 * 64,
        2 * 64,
    ),
    # Swin-T stage 1: C = 96, 3 heads, 7×7 windows on 56×56: T = 3136 tokens, nW = 64, N = 49
    "shifted_window_attention Swin-T stage 1": Case(
        "shifted_window_attention",
        dict(num_heads=3, window_size=7, shift_size=3),
        [(56, 56, 96)],
        (56, 56, 96),
        4 * 96 * 96 + 4 * 96 + (2 * 7 - 1) ** 2 * 3,
        3136 * 96 * 3 * 96 + 2 * 64 * 49 * 49 * 96 + 3136 * 96 * 96,
        2 * (3136 * 96 * 3 * 96 + 2 * 64 * 49 * 49 * 96 + 3136 * 96 * 96)
        + 4 * 3136 * 96  # qkv and proj bias adds
        + 3136 * 96  # q · d^−½
        + (1 + 1 + 4) * 64 * 3 * 49 * 49,  # bias, mask, softmax on every score
        49 * 49,
    ),
    # padded to 12×12 (3×3 windows of 4×4), shift kept; v2 adds the bias MLP on the 7×7 table
    "shifted_window_attention v2 padded 9×10": Case(
        "shifted_window_attention",
        dict(num_heads=2, window_size=4, shift_size=2, v2=True),
        [(9, 10, 8)],
        (9, 10, 8),
        4 * 8 * 8 + 4 * 8 + 2 + (512 * 2 + 512) + 2 * 512,
        144 * 8 * 24 + 2 * 9 * 16 * 16 * 8 + 144 * 8 * 8 + 7 * 7 * (2 * 512 + 512 * 2),
        None,
        16 * 16 + 7 * 7 * 2,
    ),
    # Swin3D-T stage 1: (T, H, W, C) = (8, 56, 56, 96), 8×7×7 windows (N = 392), nW = 1·8·8;
    # the time axis equals the window: no temporal shift (fit: shrink)
    "shifted_window_attention Swin3D-T stage 1": Case(
        "shifted_window_attention",
        dict(num_heads=3, window_size=[8, 7, 7], shift_size=[4, 3, 3], fit="shrink"),
        [(8, 56, 56, 96)],
        (8, 56, 56, 96),
        4 * 96 * 96 + 4 * 96 + (2 * 8 - 1) * (2 * 7 - 1) ** 2 * 3,
        25088 * 96 * 288 + 2 * 64 * 392 * 392 * 96 + 25088 * 96 * 96,
        2 * (25088 * 96 * 288 + 2 * 64 * 392 * 392 * 96 + 25088 * 96 * 96)
        + 5 * 25088 * 96  # bias adds (4·T·C) and the q scaling (T·C)
        + 6 * 64 * 3 * 392 * 392,  # bias, mask and softmax (4) on every score
        392 * 392,
    ),
    # MaxViT-T stage 1 block attention: 64 groups of 7×7 tokens, C = 64, 2 heads of 32
    "relative_attention MaxViT-T stage 1": Case(
        "relative_attention",
        dict(head_dim=32),
        [(64, 49, 64)],
        (64, 49, 64),
        (2 * 7 - 1) ** 2 * 2 + 3 * 64 * 64 + 3 * 64 + 64 * 64 + 64,
        64 * 49 * 64 * 192 + 2 * 64 * 49 * 49 * 64 + 64 * 49 * 64 * 64,
        2 * (64 * 49 * 64 * 192 + 2 * 64 * 49 * 49 * 64 + 64 * 49 * 64 * 64)
        + 5 * 64 * 49 * 64  # bias adds (4 per token and channel) and the k scaling
        + 5 * 64 * 2 * 49 * 49,  # bias add and softmax on every score
        49 * 49,
    ),
    # LSTM(10, 20): 4 gates · 20 · (10 + 20 + 2 biases) params; MACs per step 4·20·(10 + 20)
    "lstm 10 → 20 over 5 steps": Case(
        "lstm",
        dict(hidden_size=20),
        [(5, 10)],
        (5, 20),
        4 * 20 * (10 + 20 + 2),
        5 * 4 * 20 * (10 + 20),
        2 * 5 * 4 * 20 * 30 + 5 * (3 * 4 * 20 + 26 * 20),
    ),
    # 2 layers, bidirectional: layer 1 reads 2·20; each direction has its own weights
    "lstm 2 layers bidirectional": Case(
        "lstm",
        dict(hidden_size=20, num_layers=2, bidirectional=True),
        [(5, 10)],
        (5, 2 * 20),
        2 * 4 * 20 * (10 + 20 + 2) + 2 * 4 * 20 * (2 * 20 + 20 + 2),
        5 * 2 * (4 * 20 * (10 + 20) + 4 * 20 * (40 + 20)),
    ),
    "gru without bias": Case(
        "gru",
        dict(hidden_size=8, bias=False),
        [(3, 4)],
        (3, 8),
        3 * 8 * (4 + 8),
        3 * 3 * 8 * (4 + 8),
        2 * 3 * 3 * 8 * 12 + 3 * (1 * 3 * 8 + 18 * 8),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_layer_case(case: Case):
    check_case(case)


def test_every_registered_type_has_a_case():
    """Adding a layer type takes one class and one row: this test asks for the row."""
    covered = {REGISTRY[c.type] for c in (*CASES.values(), *ZOO_CASES.values())}
    missing = sorted({cls.__name__ for cls in REGISTRY.values()} - {c.__name__ for c in covered})
    assert not missing, f"layer classes without a row in the case table: {missing}"


@pytest.mark.parametrize(
    "type_, args, inputs, fragment",
    [
        (
            "conv2d",
            dict(out_channels=8, kernel_size=11),
            [(3, 8, 8)],
            "larger than the padded input",
        ),
        (
            "conv2d",
            dict(out_channels=8, kernel_size=3, groups=3),
            [(4, 8, 8)],
            "groups=3 must divide",
        ),
        # ceil mode: ⌈(5 − 6)/1⌉ + 1 = 0 windows (PyTorch: "Output size is too small")
        ("maxpool1d", dict(kernel_size=6, stride=1, ceil_mode=True), [(2, 5)], "leaves no window"),
        ("l2_normalize", dict(axis=2), [(4, 5)], "axis 2 is out of range for shape"),
        ("gather", dict(axis=-3), [(6, 3), (4,)], "axis=-3 is out of range for shape"),
        ("maxpool1d", dict(kernel_size=6, stride=1), [(2, 5)], "larger than the padded input"),
        ("conv2d", dict(out_channels=8, kernel_size=3), [(4, 8)], "expects a 3-D input"),
        ("conv2d", dict(out_channels=8, kernel_size=[3, 3, 3]), [(4, 8, 8)], "has 3 values"),
        (
            "conv2d",
            dict(out_channels=8, kernel_size=3, in_channels=3),
            [(4, 8, 8)],
            "in_channels=3",
        ),
        ("conv2d", dict(out_channels=0, kernel_size=3), [(4, 8, 8)], "expects an integer ≥ 1"),
        ("conv2d", dict(out_channels=True, kernel_size=3), [(4, 8, 8)], "expects an integer"),
        ("conv2d", dict(out_channels=8), [(4, 8, 8)], "missing required argument 'kernel_size'"),
        (
            "conv2d",
            dict(out_channels=8, kernel_size=3, strides=2),
            [(4, 8, 8)],
            "did you mean 'stride'",
        ),
        (
            "conv2d",
            dict(out_channels=8, kernel_size=3, padding="sam"),
            [(4, 8, 8)],
            "'same' or 'valid'",
        ),
        (
            "conv_transpose2d",
            dict(out_channels=8, kernel_size=3, stride=2, output_padding=2),
            [(4, 8, 8)],
            "output_padding 2",
        ),
        ("maxpool2d", dict(kernel_size=2, padding=2), [(4, 8, 8)], "more than half the kernel"),
        ("linear", dict(out_features=10, in_features=9216), [(256, 6, 6)], "flatten first"),
        ("add", {}, [(64, 56, 56), (128, 28, 28)], "(64, 56, 56) and (128, 28, 28)"),
        ("concat", {}, [(64, 56, 56), (64, 28, 28)], "differ on axis 1"),
        ("reshape", dict(shape=[7, 7, 31]), [(1470,)], "cannot reshape"),
        ("permute", dict(dims=[0, 0, 1]), [(3, 4, 5)], "not a permutation"),
        ("groupnorm", dict(num_groups=3), [(8, 4, 4)], "does not divide"),
        ("layernorm", dict(normalized_shape=7), [(197, 768)], "does not match"),
        ("center_crop", dict(size=10), [(3, 8, 8)], "larger size"),
        ("upsample", {}, [(3, 8, 8)], "exactly one of scale_factor and size"),
        ("dropout", dict(p=1.0), [(3,)], "must be < 1"),
        ("relu", dict(negative_slope=0.2), [(3,)], "does not apply"),
    ],
)
def test_layer_errors(type_, args, inputs, fragment):
    with pytest.raises(CnncalcError) as exc:
        make_layer(type_, args, *inputs)
    assert fragment in str(exc.value)
