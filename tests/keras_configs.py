"""Keras model configs written for the tests, in the JSON forms ``model.to_json()`` produces.

:class:`KerasGraph` records layers and their connections and writes them as Keras 3
(``inbound_nodes: [{"args": [keras tensors], "kwargs": {}}]``, ``batch_shape``) or Keras 2
(``inbound_nodes: [[[name, 0, 0, {}]]]``, ``batch_input_shape``) JSON. The three builders
describe ResNet50, MobileNetV2 and DenseNet121 as Keras Applications build them, from the
papers and the published layer structure (not from Keras's source): these are the facts the
published totals (Keras Applications table) depend on.
"""

from __future__ import annotations

import json
from typing import Any


class KerasGraph:
    def __init__(self, name: str, input_shape: tuple[int | None, ...]) -> None:
        self.name = name
        self.layers: list[dict[str, Any]] = []
        self.input_shape = input_shape
        self.layers.append(
            {"class_name": "InputLayer", "name": "input_1", "config": {"name": "input_1"}, "in": []}
        )
        self.output = "input_1"

    def add(self, cls: str, name: str, inputs: str | list[str] | None = None, **config: Any) -> str:
        if inputs is None:
            inputs = [self.output]
        elif isinstance(inputs, str):
            inputs = [inputs]
        self.layers.append(
            {"class_name": cls, "name": name, "config": {"name": name, **config}, "in": inputs}
        )
        self.output = name
        return name

    def to_dict(self, version: int = 3) -> dict[str, Any]:
        layers = []
        for layer in self.layers:
            cfg = dict(layer["config"])
            if layer["class_name"] == "InputLayer":
                key = "batch_shape" if version == 3 else "batch_input_shape"
                cfg[key] = [None, *self.input_shape]
                cfg["dtype"] = "float32"
            elif version == 3:
                cfg["trainable"] = True
                cfg["dtype"] = {"module": "keras", "class_name": "DTypePolicy",
                                "config": {"name": "float32"}, "registered_name": None}  # fmt: skip
            entry: dict[str, Any] = {"class_name": layer["class_name"], "config": cfg}
            if version == 3:
                entry["module"] = "keras.layers"
                entry["registered_name"] = None
                entry["name"] = layer["name"]
                tensors = [
                    {"class_name": "__keras_tensor__",
                     "config": {"shape": [None], "dtype": "float32", "keras_history": [i, 0, 0]}}
                    for i in layer["in"]
                ]  # fmt: skip
                args = [tensors] if len(tensors) > 1 else tensors
                entry["inbound_nodes"] = [{"args": args, "kwargs": {}}] if tensors else []
            else:
                entry["name"] = layer["name"]
                entry["inbound_nodes"] = (
                    [[[i, 0, 0, {}] for i in layer["in"]]] if layer["in"] else []
                )
            layers.append(entry)
        model_cfg = {
            "name": self.name,
            "layers": layers,
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [[self.output, 0, 0]],
        }
        if version == 3:
            return {"module": "keras.src.models.functional", "class_name": "Functional",
                    "config": {**model_cfg, "trainable": True}, "registered_name": "Functional"}  # fmt: skip
        return {"class_name": "Functional", "config": model_cfg, "keras_version": "2.15.0",
                "backend": "tensorflow"}  # fmt: skip

    def to_json(self, version: int = 3) -> str:
        return json.dumps(self.to_dict(version))


def conv(g: KerasGraph, name: str, filters: int, k: int, s: int = 1, padding: str = "valid",
         bias: bool = True, inputs: Any = None) -> str:  # fmt: skip
    return g.add("Conv2D", name, inputs, filters=filters, kernel_size=[k, k], strides=[s, s],
                 padding=padding, use_bias=bias, activation="linear",
                 data_format="channels_last")  # fmt: skip


def bn(g: KerasGraph, name: str, eps: float) -> str:
    return g.add("BatchNormalization", name, axis=-1, epsilon=eps, center=True, scale=True)


def resnet50() -> KerasGraph:
    """ResNet50 v1 (He et al. 2015, table 1) as Keras builds it: convs with bias, BN ε 1.001e-5,
    the stride on the first 1×1 of a bottleneck, a 1×1 projection on each stage's first block."""
    g = KerasGraph("resnet50", (224, 224, 3))
    g.add("ZeroPadding2D", "conv1_pad", padding=[[3, 3], [3, 3]])
    conv(g, "conv1_conv", 64, 7, 2)
    bn(g, "conv1_bn", 1.001e-5)
    g.add("Activation", "conv1_relu", activation="relu")
    g.add("ZeroPadding2D", "pool1_pad", padding=[[1, 1], [1, 1]])
    x = g.add("MaxPooling2D", "pool1_pool", pool_size=[3, 3], strides=[2, 2], padding="valid")
    for stage, (filters, blocks, stride) in enumerate(
        [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], start=2
    ):
        for b in range(1, blocks + 1):
            p = f"conv{stage}_block{b}"
            s = stride if b == 1 else 1
            if b == 1:
                conv(g, p + "_0_conv", 4 * filters, 1, s, inputs=x)
                short = bn(g, p + "_0_bn", 1.001e-5)
            else:
                short = x
            conv(g, p + "_1_conv", filters, 1, s, inputs=x)
            bn(g, p + "_1_bn", 1.001e-5)
            g.add("Activation", p + "_1_relu", activation="relu")
            conv(g, p + "_2_conv", filters, 3, 1, "same")
            bn(g, p + "_2_bn", 1.001e-5)
            g.add("Activation", p + "_2_relu", activation="relu")
            conv(g, p + "_3_conv", 4 * filters, 1)
            y = bn(g, p + "_3_bn", 1.001e-5)
            g.add("Add", p + "_add", [short, y])
            x = g.add("Activation", p + "_out", activation="relu")
    g.add("GlobalAveragePooling2D", "avg_pool", keepdims=False)
    g.add("Dense", "predictions", units=1000, activation="softmax", use_bias=True)
    return g


def _divisible(v: float, d: int = 8) -> int:
    """MobileNetV2's channel rounding (Sandler et al. 2018; the published reference code)."""
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


def mobilenet_v2() -> KerasGraph:
    """MobileNetV2 at α = 1 (Sandler et al. 2018, table 2) as Keras builds it: no conv biases,
    BN ε 1e-3, ReLU6, stride-2 depthwise convs after an explicit asymmetric zero padding."""
    g = KerasGraph("mobilenetv2_1.00_224", (224, 224, 3))
    conv(g, "Conv1", 32, 3, 2, "same", bias=False)
    bn(g, "bn_Conv1", 1e-3)
    x = g.add("ReLU", "Conv1_relu", max_value=6.0, negative_slope=0.0, threshold=0.0)
    cin = 32
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]  # fmt: skip
    block = 0
    size = 112
    for t, c, n, s in settings:
        for i in range(n):
            stride = s if i == 0 else 1
            p = "expanded_conv_" if block == 0 else f"block_{block}_"
            inp = x
            if t != 1:
                conv(g, p + "expand", cin * t, 1, bias=False, padding="same")
                bn(g, p + "expand_BN", 1e-3)
                g.add("ReLU", p + "expand_relu", max_value=6.0, negative_slope=0.0, threshold=0.0)
            else:
                p = "expanded_conv_"
            if stride == 2:
                # TF's 'correct_pad': (0, 1) on even sizes, so the valid 3×3/2 conv halves them
                g.add(
                    "ZeroPadding2D",
                    p + "pad",
                    padding=[[0, 1], [0, 1]] if size % 2 == 0 else [[1, 1], [1, 1]],
                )
                size //= 2
            g.add("DepthwiseConv2D", p + "depthwise", kernel_size=[3, 3], strides=[stride, stride],
                  padding="same" if stride == 1 else "valid", depth_multiplier=1, use_bias=False,
                  activation="linear")  # fmt: skip
            bn(g, p + "depthwise_BN", 1e-3)
            g.add("ReLU", p + "depthwise_relu", max_value=6.0, negative_slope=0.0, threshold=0.0)
            cout = _divisible(c)
            conv(g, p + "project", cout, 1, bias=False, padding="same")
            y = bn(g, p + "project_BN", 1e-3)
            if stride == 1 and cin == cout:
                y = g.add("Add", p + "add", [inp, y])
            x = y
            cin = cout
            block += 1
    conv(g, "Conv_1", 1280, 1, bias=False)
    bn(g, "Conv_1_bn", 1e-3)
    g.add("ReLU", "out_relu", max_value=6.0, negative_slope=0.0, threshold=0.0)
    g.add("GlobalAveragePooling2D", "global_average_pooling2d", keepdims=False)
    g.add("Dense", "predictions", units=1000, activation="softmax")
    return g


def densenet121() -> KerasGraph:
    """DenseNet-121 (Huang et al. 2017, table 1: growth 32, blocks 6-12-24-16, compression 0.5,
    bottleneck 4·k) as Keras builds it: no conv biases, BN ε 1.001e-5."""
    g = KerasGraph("densenet121", (224, 224, 3))
    g.add("ZeroPadding2D", "zero_padding2d", padding=[[3, 3], [3, 3]])
    conv(g, "conv1/conv", 64, 7, 2, bias=False)
    bn(g, "conv1/bn", 1.001e-5)
    g.add("Activation", "conv1/relu", activation="relu")
    g.add("ZeroPadding2D", "zero_padding2d_1", padding=[[1, 1], [1, 1]])
    x = g.add("MaxPooling2D", "pool1", pool_size=[3, 3], strides=[2, 2], padding="valid")
    c = 64
    for i, blocks in enumerate([6, 12, 24, 16], start=2):
        for b in range(1, blocks + 1):
            p = f"conv{i}_block{b}"
            bn(g, p + "_0_bn", 1.001e-5)
            g.add("Activation", p + "_0_relu", activation="relu")
            conv(g, p + "_1_conv", 128, 1, bias=False)
            bn(g, p + "_1_bn", 1.001e-5)
            g.add("Activation", p + "_1_relu", activation="relu")
            y = conv(g, p + "_2_conv", 32, 3, padding="same", bias=False)
            x = g.add("Concatenate", p + "_concat", [x, y], axis=3)
            c += 32
        if i < 5:
            p = f"pool{i}"
            bn(g, p + "_bn", 1.001e-5)
            g.add("Activation", p + "_relu", activation="relu")
            c = int(c * 0.5)
            conv(g, p + "_conv", c, 1, bias=False)
            x = g.add(
                "AveragePooling2D", p + "_pool", pool_size=[2, 2], strides=[2, 2], padding="valid"
            )
    bn(g, "bn", 1.001e-5)
    g.add("Activation", "relu", activation="relu")
    g.add("GlobalAveragePooling2D", "avg_pool", keepdims=False)
    g.add("Dense", "predictions", units=1000, activation="softmax")
    return g


def vgg16() -> KerasGraph:
    """VGG16 (Simonyan & Zisserman 2014, configuration D): 13 3×3 convs with bias in five
    blocks, max-pool 2 after each, flatten, two dense 4096 and the 1000-way classifier."""
    g = KerasGraph("vgg16", (224, 224, 3))
    for b, (filters, n) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], start=1):
        for i in range(1, n + 1):
            g.add("Conv2D", f"block{b}_conv{i}", filters=filters, kernel_size=[3, 3],
                  padding="same", activation="relu")  # fmt: skip
        g.add("MaxPooling2D", f"block{b}_pool", pool_size=[2, 2], strides=[2, 2])
    g.add("Flatten", "flatten")
    g.add("Dense", "fc1", units=4096, activation="relu")
    g.add("Dense", "fc2", units=4096, activation="relu")
    g.add("Dense", "predictions", units=1000, activation="softmax")
    return g


def xception() -> KerasGraph:
    """Xception (Chollet 2017, figure 5): entry flow with 1×1 stride-2 projections, 8 middle
    blocks of three 728-wide separable convs, exit flow; no conv biases, BN ε 1e-3, 299×299."""
    g = KerasGraph("xception", (299, 299, 3))

    def sep(name: str, filters: int) -> str:
        g.add("SeparableConv2D", name, filters=filters, kernel_size=[3, 3], padding="same",
              use_bias=False)  # fmt: skip
        return bn(g, name + "_bn", 1e-3)

    conv(g, "block1_conv1", 32, 3, 2, bias=False)
    bn(g, "block1_conv1_bn", 1e-3)
    g.add("Activation", "block1_conv1_act", activation="relu")
    conv(g, "block1_conv2", 64, 3, bias=False)
    bn(g, "block1_conv2_bn", 1e-3)
    x = g.add("Activation", "block1_conv2_act", activation="relu")
    for b, filters in ((2, 128), (3, 256), (4, 728)):
        conv(g, f"conv2d_{b}", filters, 1, 2, "same", bias=False, inputs=x)
        res = bn(g, f"batch_normalization_{b}", 1e-3)
        y = x
        if b > 2:
            y = g.add("Activation", f"block{b}_sepconv1_act", x, activation="relu")
        g.output = y
        sep(f"block{b}_sepconv1", filters)
        g.add("Activation", f"block{b}_sepconv2_act", activation="relu")
        sep(f"block{b}_sepconv2", filters)
        y = g.add("MaxPooling2D", f"block{b}_pool", pool_size=[3, 3], strides=[2, 2],
                  padding="same")  # fmt: skip
        x = g.add("Add", f"add_{b}", [y, res])
    for b in range(5, 13):
        res = x
        g.output = x
        for i in (1, 2, 3):
            g.add("Activation", f"block{b}_sepconv{i}_act", activation="relu")
            sep(f"block{b}_sepconv{i}", 728)
        x = g.add("Add", f"add_{b}", [g.output, res])
    conv(g, "conv2d_13", 1024, 1, 2, "same", bias=False, inputs=x)
    res = bn(g, "batch_normalization_13", 1e-3)
    g.add("Activation", "block13_sepconv1_act", x, activation="relu")
    sep("block13_sepconv1", 728)
    g.add("Activation", "block13_sepconv2_act", activation="relu")
    sep("block13_sepconv2", 1024)
    y = g.add("MaxPooling2D", "block13_pool", pool_size=[3, 3], strides=[2, 2], padding="same")
    g.add("Add", "add_13", [y, res])
    sep("block14_sepconv1", 1536)
    g.add("Activation", "block14_sepconv1_act", activation="relu")
    sep("block14_sepconv2", 2048)
    g.add("Activation", "block14_sepconv2_act", activation="relu")
    g.add("GlobalAveragePooling2D", "avg_pool")
    g.add("Dense", "predictions", units=1000, activation="softmax")
    return g


def efficientnet_b0() -> KerasGraph:
    """EfficientNet-B0 (Tan & Le 2019, table 1) as Keras builds it: Rescaling and Normalization
    inputs, MBConv blocks (expand 1×1, depthwise k×k, squeeze-excitation with ratio 0.25 of the
    block's input, project 1×1), swish, no conv biases outside SE, BN ε 1e-3, explicit
    asymmetric zero padding before stride-2 convs (TensorFlow's correct_pad), 224×224."""
    g = KerasGraph("efficientnetb0", (224, 224, 3))
    g.add("Rescaling", "rescaling", scale=1 / 255, offset=0.0)
    g.add("Normalization", "normalization", axis=-1)
    size = 224

    def pad(name: str, k: int) -> None:
        lo = k // 2 - 1 if size % 2 == 0 else k // 2
        g.add("ZeroPadding2D", name, padding=[[lo, k // 2], [lo, k // 2]])

    pad("stem_conv_pad", 3)
    conv(g, "stem_conv", 32, 3, 2, bias=False)
    size //= 2
    bn(g, "stem_bn", 1e-3)
    x = g.add("Activation", "stem_activation", activation="swish")
    stages = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
              (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192),
              (1, 3, 1, 6, 192, 320)]  # fmt: skip
    for si, (repeats, k, stride, e, cin, cout) in enumerate(stages, start=1):
        for r in range(repeats):
            p = f"block{si}{chr(ord('a') + r)}_"
            s = stride if r == 0 else 1
            c = cout if r else cin
            inp = x
            if e != 1:
                conv(g, p + "expand_conv", c * e, 1, padding="same", bias=False, inputs=x)
                bn(g, p + "expand_bn", 1e-3)
                g.add("Activation", p + "expand_activation", activation="swish")
            if s == 2:
                pad(p + "dwconv_pad", k)
                size //= 2
            g.add("DepthwiseConv2D", p + "dwconv", kernel_size=[k, k], strides=[s, s],
                  padding="valid" if s == 2 else "same", use_bias=False)  # fmt: skip
            bn(g, p + "bn", 1e-3)
            act = g.add("Activation", p + "activation", activation="swish")
            filters = c * e
            g.add("GlobalAveragePooling2D", p + "se_squeeze")
            g.add("Reshape", p + "se_reshape", target_shape=[1, 1, filters])
            g.add("Conv2D", p + "se_reduce", filters=max(1, int(c * 0.25)), kernel_size=[1, 1],
                  padding="same", activation="swish")  # fmt: skip
            g.add("Conv2D", p + "se_expand", filters=filters, kernel_size=[1, 1], padding="same",
                  activation="sigmoid")  # fmt: skip
            g.add("Multiply", p + "se_excite", [act, p + "se_expand"])
            conv(g, p + "project_conv", cout, 1, padding="same", bias=False)
            x = bn(g, p + "project_bn", 1e-3)
            if s == 1 and c == cout:
                g.add("Dropout", p + "drop", rate=0.2)
                x = g.add("Add", p + "add", [p + "drop", inp])
    conv(g, "top_conv", 1280, 1, padding="same", bias=False, inputs=x)
    bn(g, "top_bn", 1e-3)
    g.add("Activation", "top_activation", activation="swish")
    g.add("GlobalAveragePooling2D", "avg_pool")
    g.add("Dropout", "top_dropout", rate=0.2)
    g.add("Dense", "predictions", units=1000, activation="softmax")
    return g
