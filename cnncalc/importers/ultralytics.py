"""Ultralytics model YAML (YOLOv5u/v8/YOLO11 detection models), read as data.

The rules, from Ultralytics' published description of its model files (no Ultralytics code is
used or copied; the package is not a dependency):

* ``nc`` classes; ``scales: {n: [depth, width, max_channels], …}``; the scale is the letter
  after the version in the file name (``yolov8n.yaml`` → ``n``), else the first one listed
  (said in a caveat). Files without ``scales`` use ``depth_multiple``/``width_multiple``.
* ``backbone`` then ``head``: rows ``[from, repeats, module, args]``, numbered together from 0;
  ``from`` is −1 (the previous row), a row number, or a list of them.
* repeats ``n`` become ``max(round(n · depth), 1)`` when n > 1; output channels ``c2`` (the
  first argument) become ``make_divisible(min(c2, max_channels) · width, 8)`` with
  make_divisible(x, 8) = ⌈x / 8⌉ · 8; C2f, C3, C3k2 and C2PSA take the repeats inside the
  module (n Bottlenecks), other modules are repeated as a whole; at the m, l and x scales every
  C3k2 has C3k inside (YOLO11's larger models).
* Modules (:data:`ULTRALYTICS_MODULES`, the one table of this format) are written as cnncalc
  blocks defined from their published structure: Conv = conv (no bias) + BN (ε 0.001) + SiLU,
  Bottleneck, C2f, C3, C3k2/C3k, SPPF, C2PSA/PSABlock/Attention, and the Detect head (DFL
  with 16 bins; YOLO11's class branch with depthwise convs when the model uses C3k2/C2PSA).

Nothing in the file is evaluated: argument strings other than ``nc`` and ``None``/``True``/
``False`` are errors. Detect's box decoding (anchors, distances → boxes) has no MACs and is
said so in a caveat; the DFL convolution is frozen (not trainable), as in Ultralytics.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import CnncalcError
from ._build import SpecBuilder

__all__ = ["read", "ULTRALYTICS_MODULES", "BLOCKS"]

REG_MAX = 16  # DFL bins per box side


def make_divisible(x: float, divisor: int = 8) -> int:
    """⌈x / divisor⌉ · divisor (Ultralytics' channel rounding)."""
    return math.ceil(x / divisor) * divisor


def _conv(c2: Any, k: Any = 1, s: Any = 1, g: Any = 1, act: bool = True) -> dict[str, Any]:
    args: dict[str, Any] = {"c2": c2}
    if k != 1:
        args["k"] = k
    if s != 1:
        args["s"] = s
    if g != 1:
        args["g"] = g
    if not act:
        args["act"] = False
    return {"Conv": args}


def _e(entry: dict[str, Any], name: str, **more: Any) -> dict[str, Any]:
    return {**entry, "name": name, **more}


#: Blocks every imported model may use (the spec keeps only those it uses).
BLOCKS: dict[str, dict[str, Any]] = {
    "Conv": {
        "description": "Ultralytics Conv: conv (no bias, padding k // 2) + BN (eps 0.001) + SiLU",
        "params": {"c2": None, "k": 1, "s": 1, "g": 1, "act": True},
        "layers": [
            {
                "conv2d": {
                    "out_channels": "c2",
                    "kernel_size": "k",
                    "stride": "s",
                    "padding": "k // 2",
                    "groups": "g",
                    "bias": False,
                },
                "name": "conv",
            },
            {"batchnorm2d": {"eps": 0.001}, "name": "bn"},
            {"silu": None, "name": "act", "when": "act"},
        ],
    },  # fmt: skip
    "Bottleneck": {
        "description": "two Convs (hidden int(c2·e)), a residual add when shortcut and c1 = c2",
        "params": {
            "c2": None,
            "shortcut": True,
            "k1": 3,
            "k2": 3,
            "e": 0.5,
            "residual": "shortcut and in_channels == c2",
        },
        "layers": [
            _e(_conv("int(c2 * e)", "k1"), "cv1"),
            _e(_conv("c2", "k2"), "cv2"),
            {"add": None, "name": "add", "inputs": ["input", "cv2"], "when": "residual"},
        ],
    },  # fmt: skip
    "SPPF": {
        "description": "Conv to c1 // 2, three chained 5×5 max-pools, concat of the four, Conv",
        "params": {"c2": None, "k": 5, "c_": "in_channels // 2"},
        "layers": [
            _e(_conv("c_"), "cv1"),
            {"maxpool2d": {"kernel_size": "k", "stride": 1, "padding": "k // 2"}, "name": "m1"},
            {"maxpool2d": {"kernel_size": "k", "stride": 1, "padding": "k // 2"}, "name": "m2"},
            {"maxpool2d": {"kernel_size": "k", "stride": 1, "padding": "k // 2"}, "name": "m3"},
            {"concat": None, "name": "cat", "inputs": ["cv1", "m1", "m2", "m3"]},
            _e(_conv("c2"), "cv2"),
        ],
    },  # fmt: skip
    "Attention": {
        "description": "position-sensitive attention: 1×1 qkv conv, heads over the H·W "
        "positions (key width int(head_dim · attn_ratio)), a 3×3 depthwise positional conv on v",
        "params": {
            "heads": None,
            "attn_ratio": 0.5,
            "dim": "in_channels",
            "head_dim": "in_channels // heads",
            "key_dim": "int(head_dim * attn_ratio)",
            "h": "in_shape[1]",
            "w": "in_shape[2]",
        },
        "layers": [
            _e(_conv("dim + 2 * key_dim * heads", act=False), "qkv"),
            {"reshape": {"shape": ["heads", "2 * key_dim + head_dim", "h * w"]}, "name": "heads"},
            {"slice": {"axis": 1, "start": 0, "stop": "key_dim"}, "name": "q"},
            {
                "slice": {"axis": 1, "start": "key_dim", "stop": "2 * key_dim"},
                "name": "k",
                "input": "heads",
            },
            {
                "slice": {"axis": 1, "start": "2 * key_dim", "stop": None},
                "name": "v",
                "input": "heads",
            },
            {"matmul": {"transpose_a": True}, "name": "qk", "inputs": ["q", "k"]},
            {"softmax": {"axis": -1}, "name": "attn"},
            {"matmul": {"transpose_b": True}, "name": "av", "inputs": ["v", "attn"]},
            {"reshape": {"shape": ["dim", "h", "w"]}, "name": "out"},
            {"reshape": {"shape": ["dim", "h", "w"]}, "name": "v_map", "input": "v"},
            _e(_conv("dim", 3, g="dim", act=False), "pe"),
            {"add": None, "name": "add", "inputs": ["out", "pe"]},
            _e(_conv("dim", act=False), "proj"),
        ],
    },  # fmt: skip
    "PSABlock": {
        "description": "x + Attention(x), then x + FFN(x) (Conv to 2c, Conv back, no activation)",
        "params": {"heads": None},
        "layers": [
            {"Attention": {"heads": "heads"}, "name": "attn"},
            {"add": None, "name": "add1", "inputs": ["input", "attn"]},
            _e(_conv("in_channels * 2"), "ffn0"),
            _e(_conv("in_channels // 2", act=False), "ffn1"),
            {"add": None, "name": "add2", "inputs": ["add1", "ffn1"]},
        ],
    },  # fmt: skip
    "DFL": {
        "description": "distribution focal loss integral: softmax over 16 bins per box side, "
        "a frozen 1×1 conv with weights 0…15 (16 params, not trainable)",
        "params": {"reg": 16},
        "layers": [
            {"reshape": {"shape": [4, "reg", "in_shape[1]"]}, "name": "bins"},
            {"permute": {"dims": [1, 0, 2]}, "name": "to_bins"},
            {"softmax": {"axis": 0}, "name": "softmax"},
            {
                "conv2d": {"out_channels": 1, "kernel_size": 1, "bias": False},
                "name": "conv",
                "trainable": False,
            },
            {"reshape": {"shape": [4, "in_shape[2]"]}, "name": "dist"},
        ],
    },  # fmt: skip
}


def _c2f_block(n: int, inner: str) -> dict[str, Any]:
    """C2f (and C3k2): Conv to 2c, its second half through n inner modules, concat of both
    halves and every inner output, Conv to c2. ``inner``: bottleneck (C2f: e = 1), bottleneck_e
    (C3k2: Bottleneck's own e = 0.5), c3k (C3k2 with c3k)."""
    layers: list[dict[str, Any]] = [
        _e(_conv("2 * c"), "cv1"),
        {"slice": {"axis": 0, "start": "c", "stop": None}, "name": "half"},
    ]
    for i in range(n):
        if inner == "c3k":
            layers.append({"C3k_n2": {"c2": "c", "shortcut": "shortcut"}, "name": f"m{i}"})
        else:
            e = 1.0 if inner == "bottleneck" else 0.5
            layers.append({"Bottleneck": {"c2": "c", "shortcut": "shortcut", "e": e},
                           "name": f"m{i}"})  # fmt: skip
    layers.append({"concat": None, "name": "cat", "inputs": ["cv1"] + [f"m{i}" for i in range(n)]})
    layers.append(_e(_conv("c2"), "cv2"))
    kind = {"bottleneck": "C2f", "bottleneck_e": "C3k2", "c3k": "C3k2 (c3k)"}[inner]
    return {
        "description": f"{kind} with {n} inner module(s)",
        "params": {"c2": None, "shortcut": False, "e": 0.5, "c": "int(c2 * e)"},
        "layers": layers,
    }


def _c3_block(n: int, k1: int, name: str) -> dict[str, Any]:
    """C3 (k1 = 1: Bottlenecks of 1×1 then 3×3) and C3k (k1 = 3): two Convs to c_ on the input,
    n Bottlenecks (e = 1) on the first, concat, Conv to c2."""
    layers: list[dict[str, Any]] = [_e(_conv("c_"), "cv1"), _e(_conv("c_"), "cv2", input="input")]
    prev = "cv1"
    for i in range(n):
        layers.append({"Bottleneck": {"c2": "c_", "shortcut": "shortcut", "k1": k1, "e": 1.0},
                       "name": f"m{i}", "input": prev})  # fmt: skip
        prev = f"m{i}"
    layers.append({"concat": None, "name": "cat", "inputs": [prev, "cv2"]})
    layers.append(_e(_conv("c2"), "cv3"))
    return {
        "description": f"{name} with {n} Bottleneck(s)",
        "params": {"c2": None, "shortcut": True, "e": 0.5, "c_": "int(c2 * e)"},
        "layers": layers,
    }


def _c2psa_block(n: int) -> dict[str, Any]:
    layers: list[dict[str, Any]] = [
        _e(_conv("2 * c"), "cv1"),
        {"slice": {"axis": 0, "start": 0, "stop": "c"}, "name": "a"},
        {"slice": {"axis": 0, "start": "c", "stop": None}, "name": "b", "input": "cv1"},
    ]
    for i in range(n):
        layers.append({"PSABlock": {"heads": "c // 64"}, "name": f"m{i}"})
    layers.append({"concat": None, "name": "cat", "inputs": ["a", f"m{n - 1}"]})
    layers.append(_e(_conv("in_channels_", ), "cv2"))  # fmt: skip
    return {
        "description": f"C2PSA with {n} PSABlock(s) on half the channels",
        "params": {
            "c2": None,
            "e": 0.5,
            "c": "int(in_channels * e)",
            "in_channels_": "in_channels",
        },
        "layers": layers,
    }


class _Model:
    def __init__(self, doc: Any, path: Path, b: SpecBuilder) -> None:
        self.doc = doc
        self.path = path
        self.b = b
        self.nc = doc.get("nc", 80)
        self.c3k2 = False
        self.scale: str | None = None
        self.outs: list[str] = []
        self.ch: list[int] = []

    def block(self, name: str, definition: dict[str, Any]) -> str:
        self.b.blocks.setdefault(name, definition)
        for entry in definition["layers"]:  # the blocks it uses
            (t, _), *_ = entry.items()
            if t in BLOCKS:
                self.block(t, BLOCKS[t])
            elif t.startswith("C3k_n"):
                self.block(t, _c3_block(int(t[len("C3k_n") :]), 3, "C3k"))
        return name


def _value(v: Any, nc: int, where: str) -> Any:
    """An argument of a row: numbers and booleans as they are; 'nc', None/True/False names."""
    if isinstance(v, str):
        names = {"nc": nc, "None": None, "True": True, "False": False, "nearest": "nearest"}
        if v in names:
            return names[v]
        raise CnncalcError(
            f"{where}: argument {v!r} is not a number (cnncalc evaluates no code in model files)",
            hint="write the value itself",
        )
    return v


def read(
    doc: Any, path: Path, input_shape: tuple[int, ...] | None = None, **options: Any
) -> dict[str, Any]:
    """The spec dict of an Ultralytics model YAML (already loaded with cnncalc's safe loader)."""
    file = str(path)
    b = SpecBuilder(file, "Ultralytics")
    m = _Model(doc, path, b)
    nc = doc.get("nc", 80)
    if not isinstance(nc, int) or isinstance(nc, bool) or nc < 1:
        raise CnncalcError(f"nc must be a positive integer, got {nc!r}", file=file)
    scales = doc.get("scales")
    if scales:
        match = re.search(r"yolo(?:e-)?v?\d+([nslmx])", path.stem)
        scale = match.group(1) if match else None
        if scale not in scales:
            first = next(iter(scales))
            b.caveats.append(
                f"the file name {path.name} names no scale of {', '.join(map(str, scales))}: "
                f"scale '{first}' is used (name the file yolov8{first}.yaml to choose)"
            )
            scale = first
        depth, width, max_channels = (float(x) for x in scales[scale])
    else:
        scale = None
        depth = float(doc.get("depth_multiple", 1.0))
        width = float(doc.get("width_multiple", 1.0))
        max_channels = float("inf")
    ch = int(doc.get("ch", doc.get("channels", 3)))
    shape = list(input_shape) if input_shape is not None else [ch, 640, 640]
    rows, lines = [], []
    for part in ("backbone", "head"):
        seq = doc.get(part) or []
        if not isinstance(seq, list):
            raise CnncalcError(f"'{part}' must be a list of rows", file=file)
        for k, row in enumerate(seq):
            rows.append(row)
            pos = seq.where(k) if hasattr(seq, "where") else None
            lines.append(pos[0] if pos else None)
    if not rows:
        raise CnncalcError("the model has no backbone/head rows", file=file)
    m.scale = scale
    m.c3k2 = any(isinstance(r, list) and len(r) == 4 and r[2] in ("C3k2", "C2PSA") for r in rows)
    chans: list[int] = []
    names: list[str] = []
    for i, row in enumerate(rows):
        try:
            out = _row(m, b, i, row, rows, names, chans, nc, ch, depth, width, max_channels, file)
        except CnncalcError as err:
            raise err.locate(file=file, line=lines[i]) from None
        names.append(out[0])
        chans.append(out[1])
    b.check_unknown("module", hint="cnncalc reads Conv, C2f, C3, C3k2, SPPF, C2PSA, Concat, "
                    "nn.Upsample and Detect (docs/importers.md)")  # fmt: skip
    b.caveats.append(
        "Detect's box decoding (anchor points, distances to boxes) and the class sigmoid have "
        "no MACs and are not counted. Ultralytics prints thop's count: GFLOPs = 2 × the "
        "convolutions' MACs (attention matmuls unseen), plus 8 per batch-norm element before "
        "Conv and BN are fused"
    )
    label = path.stem if scale is None or path.stem.endswith(scale) else f"{path.stem}{scale}"
    return b.spec(
        label,
        {"input": shape},
        m.outs or [names[-1]],
        source=f"Ultralytics model YAML {path.name} (scale {scale or 'from multiples'}: depth "
        f"{depth}, width {width}, max_channels {max_channels:g}) read by cnncalc",
    )


def _row(m: _Model, b: SpecBuilder, i: int, row: Any, rows: list[Any], names: list[str],
         chans: list[int], nc: int, ch: int, depth: float, width: float, max_channels: float,
         file: str) -> tuple[str, int] | None:  # fmt: skip
    """One row [from, repeats, module, args]: its layers; (output name, channels)."""
    where = f"row {i}"
    if not isinstance(row, list) or len(row) != 4:
        raise CnncalcError(f"{where}: expected [from, repeats, module, args], got {row!r}",
                           file=file)  # fmt: skip
    frm, n, module, args = row
    args = [_value(a, nc, where) for a in (args or [])]
    refs = frm if isinstance(frm, list) else [frm]
    try:
        src = [names[j] if j >= 0 else (names[i + j] if i + j >= 0 else "input") for j in refs]
        src_c = [chans[j] if j >= 0 else (chans[i + j] if i + j >= 0 else ch) for j in refs]
    except (IndexError, TypeError):
        raise CnncalcError(f"{where}: 'from' {frm!r} refers to no earlier row", file=file) from None
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise CnncalcError(f"{where}: repeats must be a positive integer, got {n!r}", file=file)
    n = max(round(n * depth), 1) if n > 1 else n
    handler = ULTRALYTICS_MODULES.get(str(module))
    if handler is None:
        b.unknown(str(module), where)
        return src[0], src_c[0]

    def scale_c(c: Any) -> int:
        if c == nc:
            return int(c)
        return make_divisible(min(c, max_channels) * width, 8)

    return handler(m, i, src, src_c, n, args, scale_c)


Row = Callable[..., tuple[str, int]]


def _row_conv(m: _Model, i: int, src: list[str], src_c: list[int], n: int, args: list[Any],
              scale_c: Callable[[Any], int]) -> tuple[str, int]:  # fmt: skip
    c2 = scale_c(args[0])
    k = args[1] if len(args) > 1 else 1
    s = args[2] if len(args) > 2 else 1
    m.block("Conv", BLOCKS["Conv"])
    entry = _conv(c2, k, s)
    name = m.b.add("Conv", entry["Conv"], f"conv_{i}", src[0], repeat=n if n > 1 else None)
    return name, c2


def _row_c2f(kind: str) -> Row:
    def h(m: _Model, i: int, src: list[str], src_c: list[int], n: int, args: list[Any],
          scale_c: Callable[[Any], int]) -> tuple[str, int]:  # fmt: skip
        c2 = scale_c(args[0])
        if kind == "C2f":
            bname = m.block(f"C2f_n{n}", _c2f_block(n, "bottleneck"))
            a = {"c2": c2, "shortcut": bool(args[1]) if len(args) > 1 else False}
        elif kind == "C3k2":
            # the larger YOLO11 scales use C3k inside every C3k2 (m, l, x)
            c3k = (bool(args[1]) if len(args) > 1 else False) or m.scale in ("m", "l", "x")
            e = float(args[2]) if len(args) > 2 else 0.5
            inner = "c3k" if c3k else "bottleneck_e"
            bname = m.block(f"C3k2_n{n}{'_c3k' if c3k else ''}", _c2f_block(n, inner))
            a = {"c2": c2, "shortcut": True}
            if e != 0.5:
                a["e"] = e
        elif kind == "C3":
            bname = m.block(f"C3_n{n}", _c3_block(n, 1, "C3"))
            a = {"c2": c2, "shortcut": bool(args[1]) if len(args) > 1 else True}
        else:  # C2PSA
            if c2 != src_c[0]:
                raise CnncalcError(f"row {i}: C2PSA keeps its channels ({src_c[0]} → {c2})")
            bname = m.block(f"C2PSA_n{n}", _c2psa_block(n))
            a = {"c2": c2}
        return m.b.add(bname, a, f"{kind.lower()}_{i}", src[0]), c2

    return h


def _row_sppf(m: _Model, i: int, src: list[str], src_c: list[int], n: int, args: list[Any],
              scale_c: Callable[[Any], int]) -> tuple[str, int]:  # fmt: skip
    c2 = scale_c(args[0])
    k = args[1] if len(args) > 1 else 5
    m.block("SPPF", BLOCKS["SPPF"])
    a: dict[str, Any] = {"c2": c2}
    if k != 5:
        a["k"] = k
    return m.b.add("SPPF", a, f"sppf_{i}", src[0]), c2


def _row_upsample(m: _Model, i: int, src: list[str], src_c: list[int], n: int, args: list[Any],
                  scale_c: Callable[[Any], int]) -> tuple[str, int]:  # fmt: skip
    factor = args[1] if len(args) > 1 else 2
    mode = args[2] if len(args) > 2 else "nearest"
    name = m.b.add("upsample", {"scale_factor": float(factor), "mode": mode}, f"upsample_{i}",
                   src[0])  # fmt: skip
    return name, src_c[0]


def _row_concat(m: _Model, i: int, src: list[str], src_c: list[int], n: int, args: list[Any],
                scale_c: Callable[[Any], int]) -> tuple[str, int]:  # fmt: skip
    dim = args[0] if args else 1
    if dim != 1:
        raise CnncalcError(f"row {i}: Concat along dimension {dim} (only channels, 1, is read)")
    return m.b.add("concat", None, f"concat_{i}", src), sum(src_c)


def _row_detect(m: _Model, i: int, src: list[str], src_c: list[int], n: int, args: list[Any],
                scale_c: Callable[[Any], int]) -> tuple[str, int]:  # fmt: skip
    """Detect: per level a box branch (Conv 3×3, Conv 3×3, conv 1×1 to 4·16) and a class
    branch (YOLOv8: Conv 3×3 ×2; YOLO11: [depthwise 3×3, Conv 1×1] ×2; then conv 1×1 to nc),
    c2 = max(16, c_P3 // 4, 64), c3 = max(c_P3, min(nc, 100)); the DFL on the box outputs."""
    nc = int(args[0]) if args else m.nc
    c2 = max(16, src_c[0] // 4, REG_MAX * 4)
    c3 = max(src_c[0], min(nc, 100))
    b = m.b
    m.block("Conv", BLOCKS["Conv"])
    m.block("DFL", BLOCKS["DFL"])
    boxes, classes = [], []
    for lvl, (x, cx) in enumerate(zip(src, src_c, strict=True)):
        p = f"detect_{i}"
        y = b.add("Conv", {"c2": c2, "k": 3}, f"{p}_cv2_{lvl}_0", x)
        y = b.add("Conv", {"c2": c2, "k": 3}, f"{p}_cv2_{lvl}_1", y)
        y = b.add("conv2d", {"out_channels": 4 * REG_MAX, "kernel_size": 1}, f"{p}_cv2_{lvl}_2", y)
        boxes.append(b.add("reshape", {"shape": [4 * REG_MAX, -1]}, f"{p}_box_{lvl}", y))
        if m.c3k2:
            z = b.add("Conv", {"c2": cx, "k": 3, "g": cx}, f"{p}_cv3_{lvl}_0_dw", x)
            z = b.add("Conv", {"c2": c3}, f"{p}_cv3_{lvl}_0_pw", z)
            z = b.add("Conv", {"c2": c3, "k": 3, "g": c3}, f"{p}_cv3_{lvl}_1_dw", z)
            z = b.add("Conv", {"c2": c3}, f"{p}_cv3_{lvl}_1_pw", z)
        else:
            z = b.add("Conv", {"c2": c3, "k": 3}, f"{p}_cv3_{lvl}_0", x)
            z = b.add("Conv", {"c2": c3, "k": 3}, f"{p}_cv3_{lvl}_1", z)
        z = b.add("conv2d", {"out_channels": nc, "kernel_size": 1}, f"{p}_cv3_{lvl}_2", z)
        classes.append(b.add("reshape", {"shape": [nc, -1]}, f"{p}_cls_{lvl}", z))
    box = b.add("concat", {"axis": 1}, f"detect_{i}_boxes", boxes)
    dist = b.add("DFL", None, f"detect_{i}_dfl", box)
    cls = b.add("concat", {"axis": 1}, f"detect_{i}_classes", classes)
    out = b.add("concat", {"axis": 0}, f"detect_{i}", [dist, cls])
    m.outs = [out]
    return out, 4 + nc


#: Ultralytics module name → row handler: the one mapping of this format.
ULTRALYTICS_MODULES: dict[str, Row] = {
    "Conv": _row_conv,
    "C2f": _row_c2f("C2f"),
    "C3": _row_c2f("C3"),
    "C3k2": _row_c2f("C3k2"),
    "C2PSA": _row_c2f("C2PSA"),
    "SPPF": _row_sppf,
    "nn.Upsample": _row_upsample,
    "Concat": _row_concat,
    "Detect": _row_detect,
}
