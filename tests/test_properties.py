"""Property-based tests: random valid layer chains keep the report's invariants, and random
mutations of valid specs give either a report or a clean CnncalcError, never another exception."""

from __future__ import annotations

import copy
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cnncalc import analyze  # noqa: E402
from cnncalc.errors import CnncalcError  # noqa: E402
from cnncalc.graph import build_graph  # noqa: E402
from cnncalc.spec import read_spec  # noqa: E402

SETTINGS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def chains(draw: st.DrawFn) -> dict[str, Any]:
    """A valid spec: conv/pool/norm/activation/add/concat on [C, H, W], then flatten + linear.

    The strategy tracks the shape itself (with the textbook formulas), so every generated
    spec is valid by construction: out = ⌊(W + 2P − K) / S⌋ + 1.
    """
    c = draw(st.integers(1, 12))
    h = draw(st.integers(4, 40))
    w = draw(st.integers(4, 40))
    spec: dict[str, Any] = {"input": [c, h, w], "layers": []}
    layers = spec["layers"]
    shapes: dict[str, tuple[int, int, int]] = {"input": (c, h, w)}
    cur = "input"
    for idx in range(draw(st.integers(1, 12))):
        c, h, w = shapes[cur]
        name = f"l{idx}"
        kind = draw(st.sampled_from(["conv", "pool", "norm", "act", "add", "concat", "dwconv"]))
        if kind == "conv":
            k = draw(st.integers(1, 3))
            s = draw(st.integers(1, 2))
            p = draw(st.integers(0, k // 2 + 1))
            oc = draw(st.integers(1, 16))
            if h + 2 * p < k or w + 2 * p < k:
                continue
            args = {"out_channels": oc, "kernel_size": k, "stride": s, "padding": p}
            args["bias"] = draw(st.booleans())
            layers.append({"conv2d": args, "name": name, "input": cur})
            shape = (oc, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
        elif kind == "dwconv":
            m = draw(st.integers(1, 2))
            layers.append(
                {
                    "conv2d": {"out_channels": c * m, "kernel_size": 3, "padding": 1, "groups": c},
                    "name": name,
                    "input": cur,
                }
            )
            shape = (c * m, h, w)
        elif kind == "pool":
            if h < 2 or w < 2:
                continue
            t = draw(st.sampled_from(["maxpool2d", "avgpool2d"]))
            layers.append({t: {"kernel_size": 2, "stride": 2}, "name": name, "input": cur})
            shape = (c, (h - 2) // 2 + 1, (w - 2) // 2 + 1)
        elif kind == "norm":
            layers.append({"batchnorm2d": None, "name": name, "input": cur})
            shape = (c, h, w)
        elif kind == "act":
            t = draw(st.sampled_from(["relu", "relu6", "sigmoid", "tanh", "gelu", "silu"]))
            layers.append({t: None, "name": name, "input": cur})
            shape = (c, h, w)
        else:
            same = [n for n, sh in shapes.items() if sh[1:] == (h, w) and n != cur]
            if kind == "add":
                same = [n for n in same if shapes[n][0] == c]
            if not same:
                continue
            other = draw(st.sampled_from(sorted(same)))
            layers.append({kind: None, "name": name, "inputs": [cur, other]})
            shape = (c, h, w) if kind == "add" else (c + shapes[other][0], h, w)
        shapes[name] = shape
        cur = name
    layers.append({"flatten": None, "name": "flat", "input": cur})
    layers.append({"linear": {"out_features": draw(st.integers(1, 10))}, "name": "fc"})
    spec["_expected_shapes"] = shapes
    return spec


def _check_invariants(report: Any, graph: Any) -> None:
    rows = report.rows
    t = report.totals
    assert t.params == sum(r.params for r in rows)
    assert t.buffers == sum(r.buffers for r in rows)
    assert t.macs == sum(r.macs for r in rows)
    assert t.flops == sum(r.flops for r in rows)
    assert t.trainable_params + t.non_trainable_params == t.params
    for r in rows:
        assert all(d > 0 for d in r.output_shape), r
        assert r.macs >= 0 and r.flops >= 0 and r.params >= 0 and r.buffers >= 0
        assert r.flops >= 2 * r.macs
    # parameters + buffers are exactly the sizes of the declared weight tensors
    declared = sum(w.size for n in graph.nodes for w in n.layer.weights())
    assert declared == t.params + t.buffers


@SETTINGS
@given(chains())
def test_random_chains_keep_the_invariants(spec: dict[str, Any]) -> None:
    expected_shapes = spec.pop("_expected_shapes")
    graph = build_graph(read_spec(spec))
    report = analyze(graph)
    for name, shape in expected_shapes.items():
        if name != "input":
            assert graph.by_name[name].out_shape == shape
    _check_invariants(report, graph)
    np = pytest.importorskip("numpy") if _HAVE_NUMPY else None
    if np is not None:
        allocated = sum(
            np.zeros(w.shape, dtype=np.float32).size for n in graph.nodes for w in n.layer.weights()
        )
        assert allocated == report.params + report.buffers


try:
    import numpy  # noqa: F401

    _HAVE_NUMPY = True
except ImportError:  # pragma: no cover
    _HAVE_NUMPY = False


# -- mutations ------------------------------------------------------------------------------------

BAD_VALUES = [-1, 0, "x", True, 10**40, None, [], {}, "9**9**9", "().__class__", 1.5, "", [0, -1]]


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _get(obj: Any, path: tuple) -> Any:
    for p in path:
        obj = obj[p]
    return obj


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    spec = draw(chains())
    spec.pop("_expected_shapes")
    spec = copy.deepcopy(spec)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(spec) if p]
        if not paths:  # every key was dropped: nothing left to mutate
            break
        path = draw(st.sampled_from(paths))
        parent = _get(spec, path[:-1])
        key = path[-1]
        op = draw(st.sampled_from(["drop", "value", "rename_type", "dup_name", "bad_ref", "key"]))
        if op == "drop":
            if isinstance(parent, dict):
                del parent[key]
            elif len(parent) > 1:
                parent.pop(key)
        elif op == "value":  # a copy: a shared list mutated later would change BAD_VALUES
            parent[key] = copy.deepcopy(draw(st.sampled_from(BAD_VALUES)))
        elif op == "rename_type" and isinstance(parent, list) and isinstance(parent[key], dict):
            entry = parent[key]
            t = next((k for k in entry if k not in ("name", "input", "inputs")), None)
            if t is not None:
                entry[t + draw(st.sampled_from(["2", "x", "_"]))] = entry.pop(t)
        elif op == "dup_name" and isinstance(parent, dict) and "name" in parent:
            parent["name"] = "l0"
        elif op == "bad_ref" and isinstance(parent, dict) and "input" in parent:
            parent["input"] = draw(st.sampled_from(["nowhere", "fc", parent.get("name", "x")]))
        elif op == "key" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["nmae", "repeat", "when", "first", "inptus"]))] = (
                copy.deepcopy(draw(st.sampled_from(BAD_VALUES + [3, "i > 0"])))
            )
    return spec


@SETTINGS
@given(mutated())
def test_mutations_give_a_report_or_a_clean_error(spec: dict[str, Any]) -> None:
    try:
        graph = build_graph(read_spec(spec))
    except CnncalcError as err:
        msg = str(err)
        assert msg and "\n" not in msg and len(msg) <= 2000
        return
    _check_invariants(analyze(graph), graph)


@SETTINGS
@given(st.text(max_size=200))
def test_random_text_is_a_report_or_a_clean_error(text: str) -> None:
    from cnncalc.spec import spec_from_text

    try:
        build_graph(spec_from_text("input: [3, 16, 16]\nlayers:\n  - " + text + "\n"))
    except CnncalcError as err:
        assert "\n" not in str(err)
