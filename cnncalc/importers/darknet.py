"""darknet ``.cfg`` files (YOLOv2/v3/v4 and their backbones), read as text.

A ``.cfg`` is a list of ``[section]`` headers with ``key=value`` lines; ``[net]`` gives the input
(``width``, ``height``, ``channels``; ``--input`` overrides) and every other section is one
darknet layer, numbered from 0. Layer references (``from=-3``, ``layers=-1, 61``) are relative
(negative) or absolute indices. :data:`DARKNET_SECTIONS` maps each section to cnncalc layers;
cnncalc layer names keep darknet's numbers (``conv_12``, ``conv_12_bn``, ``shortcut_13``).

What darknet counts: its printed ``BFLOPs`` are 2 × the MACs of the convolutions (AlexeyAB's
fork also adds one per shortcut element). ``[yolo]``, ``[region]`` and ``[detection]`` decode
boxes with no MACs: they are written as zero-cost identity layers and said so in a caveat.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import CnncalcError
from . import read_text
from ._build import SpecBuilder

__all__ = ["read_file", "read", "DARKNET_SECTIONS", "DARKNET_ACTIVATIONS"]

#: darknet activation → cnncalc layer type (None: no layer).
DARKNET_ACTIVATIONS: dict[str, str | None] = {
    "linear": None,
    "leaky": "leaky_relu",  # slope 0.1
    "relu": "relu",
    "relu6": "relu6",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "elu": "elu",
    "swish": "silu",
    "mish": "mish",
    "hardtan": None,
}


class Section:
    def __init__(self, kind: str, line: int) -> None:
        self.kind = kind
        self.line = line
        self.opts: dict[str, tuple[str, int]] = {}


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.b = SpecBuilder(file, "darknet")
        self.outs: list[str] = []  # cnncalc name of each darknet layer's output
        self.chans: list[int] = []  # its channel count (for route groups and [reorg])
        self.yolo: list[str] = []

    def err(self, sec: Section, msg: str, key: str | None = None) -> CnncalcError:
        line = sec.opts[key][1] if key and key in sec.opts else sec.line
        return CnncalcError(
            f"[{sec.kind}] (layer {len(self.outs)}): {msg}", file=self.file, line=line
        )

    def int(self, sec: Section, key: str, default: int | None = None) -> int:
        if key not in sec.opts:
            if default is None:
                raise self.err(sec, f"missing '{key}='")
            return default
        text = sec.opts[key][0]
        try:
            return int(text)
        except ValueError:
            raise self.err(sec, f"'{key}={text}' is not an integer", key) from None

    def ints(self, sec: Section, key: str) -> list[int]:
        if key not in sec.opts:
            raise self.err(sec, f"missing '{key}='")
        try:
            out = [int(t) for t in sec.opts[key][0].split(",") if t.strip()]
        except ValueError:
            out = []
        if not out:
            raise self.err(sec, f"'{key}={sec.opts[key][0]}' is not a list of integers", key)
        return out

    def ref(self, sec: Section, i: int) -> int:
        """A layer reference (negative: relative to this layer) → absolute index."""
        here = len(self.outs)
        j = here + i if i < 0 else i
        if not 0 <= j < here:
            before = f"only layers 0…{here - 1} come before" if here else "no layer comes before"
            raise self.err(sec, f"refers to layer {i}, but {before}")
        return j

    def act(self, sec: Section, x: str, name: str) -> str:
        a = sec.opts.get("activation", ("linear", 0))[0]
        if a not in DARKNET_ACTIVATIONS:
            self.b.unknown(f"activation={a}", name)
            return x
        t = DARKNET_ACTIVATIONS[a]
        if t is None:
            return x
        args = {"negative_slope": 0.1} if a == "leaky" else None
        return self.b.add(t, args, f"{name}_{a}", x)

    def done(self, name: str, channels: int) -> None:
        self.outs.append(name)
        self.chans.append(channels)

    def prev(self) -> tuple[str, int]:
        return self.outs[-1], self.chans[-1]


Handler = Callable[[_Reader, Section, str, int], None]


def _convolutional(r: _Reader, s: Section, x: str, c: int) -> None:
    i = len(r.outs)
    size = r.int(s, "size", 1)
    stride = r.int(s, "stride", 1)
    pad = size // 2 if r.int(s, "pad", 0) else r.int(s, "padding", 0)
    bn = bool(r.int(s, "batch_normalize", 0))
    filters = r.int(s, "filters", 1)
    groups = r.int(s, "groups", 1)
    args = {
        "out_channels": filters,
        "kernel_size": size,
        "stride": stride,
        "padding": pad,
        "bias": not bn,  # darknet's conv bias is the BN's β when batch_normalize=1
    }
    if groups != 1:
        args["groups"] = groups
    if r.int(s, "dilation", 1) != 1:
        args["dilation"] = r.int(s, "dilation", 1)
    y = r.b.add("conv2d", args, f"conv_{i}", x)
    if bn:
        y = r.b.add("batchnorm2d", {"eps": 1e-5}, f"conv_{i}_bn", y)
    r.done(r.act(s, y, f"conv_{i}"), filters)


def _connected(r: _Reader, s: Section, x: str, c: int) -> None:
    i = len(r.outs)
    out = r.int(s, "output", 1)
    bn = bool(r.int(s, "batch_normalize", 0))
    f = r.b.add("flatten", None, f"connected_{i}_flatten", x)
    y = r.b.add("linear", {"out_features": out, "bias": not bn}, f"connected_{i}", f)
    if bn:
        y = r.b.add("batchnorm1d", {"eps": 1e-5}, f"connected_{i}_bn", y)
    r.done(r.act(s, y, f"connected_{i}"), out)


def _shortcut(r: _Reader, s: Section, x: str, c: int) -> None:
    i = len(r.outs)
    refs = [r.ref(s, j) for j in r.ints(s, "from")]
    y = r.b.add("add", None, f"shortcut_{i}", [x, *(r.outs[j] for j in refs)])
    r.done(r.act(s, y, f"shortcut_{i}"), c)


def _route(r: _Reader, s: Section, x: str, c: int) -> None:
    i = len(r.outs)
    refs = [r.ref(s, j) for j in r.ints(s, "layers")]
    groups = r.int(s, "groups", 1)
    if groups != 1:  # YOLOv4-tiny: keep channel group group_id of each referenced layer
        gid = r.int(s, "group_id", 0)
        if not 0 <= gid < groups:
            raise r.err(s, f"group_id={gid} is not in 0…{groups - 1}", "group_id")
        parts = []
        for k, j in enumerate(refs):
            c = r.chans[j]
            if c % groups:
                raise r.err(
                    s, f"groups={groups} does not divide layer {j}'s {c} channels", "groups"
                )
            size = c // groups
            args = {"axis": 0, "start": gid * size, "stop": (gid + 1) * size}
            suffix = f"_{k}" if len(refs) > 1 else ""
            parts.append(r.b.add("slice", args, f"route_{i}{suffix}", r.outs[j]))
        y = parts[0] if len(parts) == 1 else r.b.add("concat", None, f"route_{i}", parts)
        r.done(y, sum(r.chans[j] for j in refs) // groups)
        return
    if len(refs) == 1:  # a plain reference: no layer of its own
        r.done(r.outs[refs[0]], r.chans[refs[0]])
        return
    y = r.b.add("concat", None, f"route_{i}", [r.outs[j] for j in refs])
    r.done(y, sum(r.chans[j] for j in refs))


def _upsample(r: _Reader, s: Section, x: str, c: int) -> None:
    i = len(r.outs)
    stride = r.int(s, "stride", 2)
    r.done(r.b.add("upsample", {"scale_factor": float(stride)}, f"upsample_{i}", x), c)


def _maxpool(r: _Reader, s: Section, x: str, c: int) -> None:
    """darknet pads ``padding`` (default size − 1) in total, padding//2 before: out =
    ⌊(W + padding − size)/stride⌋ + 1."""
    i = len(r.outs)
    size = r.int(s, "size", r.int(s, "stride", 1))
    stride = r.int(s, "stride", 1)
    padding = r.int(s, "padding", size - 1)
    lo = padding // 2
    args = {"kernel_size": size, "stride": stride, "padding": [[lo, padding - lo]] * 2}
    r.done(r.b.add("maxpool2d", args, f"maxpool_{i}", x), c)


def _avgpool(r: _Reader, s: Section, x: str, c: int) -> None:
    r.done(r.b.add("global_avg_pool", None, f"avgpool_{len(r.outs)}", x), c)


def _dropout(r: _Reader, s: Section, x: str, c: int) -> None:
    p = float(s.opts.get("probability", ("0.5", 0))[0])
    r.done(r.b.add("dropout", {"p": p}, f"dropout_{len(r.outs)}", x), c)


def _softmax(r: _Reader, s: Section, x: str, c: int) -> None:
    r.done(r.b.add("softmax", None, f"softmax_{len(r.outs)}", x), c)


def _detection(r: _Reader, s: Section, x: str, c: int) -> None:
    """[yolo]/[region]/[detection]: box decoding, no MACs; an identity marks the output."""
    name = r.b.add("identity", None, f"{s.kind}_{len(r.outs)}", x)
    r.yolo.append(name)
    r.done(name, c)


#: darknet section → handler: the one mapping of this format.
DARKNET_SECTIONS: dict[str, Handler] = {
    "convolutional": _convolutional,
    "conv": _convolutional,
    "connected": _connected,
    "shortcut": _shortcut,
    "route": _route,
    "upsample": _upsample,
    "maxpool": _maxpool,
    "max": _maxpool,
    "avgpool": _avgpool,
    "avg": _avgpool,
    "dropout": _dropout,
    "softmax": _softmax,
    "yolo": _detection,
    "region": _detection,
    "detection": _detection,
}


_UNIT_KEYS = {"batch_normalize", "filters", "size", "stride", "pad", "activation"}


def _unit(r: _Reader, secs: list[Section], k: int) -> tuple[int, int, str] | None:
    """(f1, f2, activation) when sections k, k+1, k+2 are a darknet residual unit: conv 1×1,
    conv 3×3 (both batch-normalised, same activation), [shortcut] from=-3, linear."""
    if k + 3 > len(secs):
        return None
    a, b, sc = secs[k : k + 3]
    if (a.kind, b.kind, sc.kind) != ("convolutional", "convolutional", "shortcut"):
        return None
    if (
        set(a.opts) - _UNIT_KEYS
        or set(b.opts) - _UNIT_KEYS
        or set(sc.opts) - {"from", "activation"}
    ):
        return None
    val = {
        sec_k: {key: v for key, (v, _) in sec.opts.items()} for sec_k, sec in enumerate((a, b, sc))
    }
    act = val[0].get("activation", "linear")
    ok = (
        val[0].get("size") == "1" and val[0].get("stride", "1") == "1"
        and val[1].get("size") == "3" and val[1].get("stride", "1") == "1"
        and val[1].get("pad") == "1" and val[0].get("batch_normalize") == "1"
        and val[1].get("batch_normalize") == "1" and val[1].get("activation", "linear") == act
        and val[2].get("from", "").replace(" ", "") == "-3"
        and val[2].get("activation", "linear") == "linear" and act in DARKNET_ACTIVATIONS
    )  # fmt: skip
    if not ok:
        return None
    try:
        return int(val[0]["filters"]), int(val[1]["filters"]), act
    except (KeyError, ValueError):
        return None


def _residual_units(r: _Reader, secs: list[Section], k: int, c: int) -> int:
    """How many identical residual units start at section k (0: none)."""
    first = _unit(r, secs, k)
    if first is None or first[1] != c:
        return 0
    n = 1
    while _unit(r, secs, k + 3 * n) == first:
        n += 1
    return n


def _residual(r: _Reader, sec: Section, n: int, x: str, c: int) -> None:
    """n residual units as one repeated block (``residual_leaky``): darknet's repeated units
    read as they would be written by hand."""
    f1 = int(sec.opts["filters"][0])
    act = sec.opts.get("activation", ("linear", 0))[0]
    t = DARKNET_ACTIVATIONS[act]
    bname = f"residual_{act}"
    if bname not in r.b.blocks:
        layers: list[dict[str, Any]] = []
        for j, (f, k) in enumerate((("f1", 1), ("f2", 3)), start=1):
            conv = {"out_channels": f, "kernel_size": k, "padding": k // 2, "bias": False}
            layers.append({"conv2d": conv, "name": f"conv{j}"})
            layers.append({"batchnorm2d": {"eps": 1e-5}, "name": f"bn{j}"})
            if t is not None:
                args = {"negative_slope": 0.1} if act == "leaky" else None
                layers.append({t: args, "name": f"act{j}"})
        last = "act2" if t is not None else "bn2"
        layers.append({"add": None, "name": "add", "inputs": ["input", last]})
        r.b.blocks[bname] = {
            "description": "darknet residual unit: conv 1×1 (f1), conv 3×3 (f2), each with "
            "batch norm and the activation, plus the unit's input",
            "params": {"f1": None, "f2": None},
            "layers": layers,
        }
    i = len(r.outs)
    g = r.b.add(bname, {"f1": f1, "f2": c}, f"res_{i}", x, repeat=n)
    inner = "act" if t is not None else "bn"
    for j in range(n):
        r.done(f"{g}.{j}.{inner}1", f1)
        r.done(f"{g}.{j}.{inner}2", c)
        r.done(g if j == n - 1 else f"{g}.{j}.add", c)


def parse(text: str, file: str) -> list[Section]:
    """Sections with their options and line numbers (comments start with # or ;)."""
    sections: list[Section] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise CnncalcError(
                    f"malformed section header {raw.strip()[:40]!r}", file=file, line=n
                )
            sections.append(Section(line[1:-1].strip().lower(), n))
            continue
        if "=" not in line or not sections:
            raise CnncalcError(
                f"expected '[section]' or 'key=value', got {raw.strip()[:40]!r}",
                file=file,
                line=n,
                hint="is this a darknet .cfg file?",
            )
        k, v = line.split("=", 1)
        sections[-1].opts[k.strip()] = (v.strip(), n)
    return sections


def read_file(
    path: Path, input_shape: tuple[int, ...] | None = None, **options: Any
) -> dict[str, Any]:
    """The spec dict of a .cfg file (no options apply)."""
    return read(read_text(path, "the darknet .cfg"), str(path), input_shape)


def read(text: str, file: str, input_shape: tuple[int, ...] | None = None) -> dict[str, Any]:
    """The spec dict of a darknet .cfg text."""
    sections = parse(text, file)
    if not sections or sections[0].kind not in ("net", "network"):
        raise CnncalcError(
            "a darknet .cfg starts with a [net] section",
            file=file,
            line=sections[0].line if sections else 1,
        )
    r = _Reader(file)
    net = sections[0]
    shape = [r.int(net, "channels", 3), r.int(net, "height", 416), r.int(net, "width", 416)]
    if input_shape is not None:
        shape = list(input_shape)
    x, c = "input", shape[0]
    secs = sections[1:]
    k = 0
    while k < len(secs):
        units = _residual_units(r, secs, k, c)
        if units:
            _residual(r, secs[k], units, x, c)
            x, c = r.prev()
            k += 3 * units
            continue
        sec = secs[k]
        k += 1
        handler = DARKNET_SECTIONS.get(sec.kind)
        if handler is None:
            r.b.unknown(f"[{sec.kind}]", f"line {sec.line}")
            r.done(x, c)
            continue
        handler(r, sec, x, c)
        x, c = r.prev()
    r.b.check_unknown("section")
    if r.yolo:
        kinds = sorted({n.split("_")[0] for n in r.yolo})
        r.b.caveats.append(
            f"{len(r.yolo)} darknet {'/'.join(kinds)} layer(s) "
            f"({', '.join(r.yolo)}) decode boxes with no MACs: counted here as zero-cost "
            "identities. darknet's printed BFLOPs are 2 × the MACs of the convolutions."
        )
    return r.b.spec(
        Path(file).stem,
        {"input": shape},
        r.yolo or [x],
        source=f"darknet .cfg read from {Path(file).name} by cnncalc",
    )
