"""Random mutations of the bundled specs: every failure is a clean :class:`CnncalcError`.

A seeded fuzzer: each case loads a zoo spec, replaces one value (or deletes one key) somewhere in
the document with something a user might write by mistake (a mapping, a list, null, a negative
number, text, an unbalanced expression …), builds and analyses it, and accepts either a result
or a CnncalcError. Anything else (TypeError, KeyError, …) is a crash a user would see as an
"internal error". Small, fast specs only, so a few hundred cases take seconds.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from cnncalc.analysis import analyze_graph
from cnncalc.errors import CnncalcError
from cnncalc.graph import build_graph
from cnncalc.spec import parse_spec
from cnncalc.yamlio import Map, Seq, load_yaml_file

from .conftest import SPECS

FILES = ["lenet5", "mnist_cnn", "alexnet", "squeezenet", "cae", "mobilenet_v2", "resnet", "unet"]
CASES_PER_FILE = 50

#: what a mistaken value may be: every kind of YAML value, and expressions that go wrong
BAD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2, 3, 7, 10**12, 2**70, 0.5, -2.5, 1e300, "", "x", "two words",
    "max(1", "dims[1]", "3x3", "in_channels - 1", "in_shape", "in_shape * 2", "i", "[1, 2",
    "same", "valid", "relu", "conv2d", "1 / 0", "2 ** 300", "a if b else c", "nope + 1",
    "in_channels[0]", "len(in_channels)", "in_shape[9]", "sum([1, [2]])",
]  # fmt: skip


def _bad_value(rng: random.Random) -> Any:
    kind = rng.random()
    if kind < 0.3:
        m = Map()
        m[rng.choice(["a", "kernel_size", "out_channels"])] = rng.choice(BAD_VALUES[:12])
        return m
    if kind < 0.45:
        s = Seq()
        s.extend(rng.choice(BAD_VALUES[:12]) for _ in range(rng.randint(0, 4)))
        return s
    return rng.choice(BAD_VALUES)


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) in the document."""
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((node, k))
            _slots(v, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((node, i))
            _slots(v, out)
    return out


def _mutate(doc: Any, rng: random.Random) -> str:
    slots = _slots(doc, [])
    # half of the cases hit a variable or a block parameter: values that expressions compute with
    named = [(c, k) for c, k in slots if c is doc.get("variables") or _is_params(doc, c)]
    container, key = rng.choice(named if named and rng.random() < 0.5 else slots)
    if isinstance(container, dict) and rng.random() < 0.2:
        del container[key]
        return f"deleted {key!r}"
    container[key] = value = _bad_value(rng)
    return f"{key!r} → {value!r}"


def _is_params(doc: Any, container: Any) -> bool:
    blocks = doc.get("blocks")
    return isinstance(blocks, dict) and any(
        isinstance(b, dict) and b.get("params") is container for b in blocks.values()
    )


@pytest.mark.parametrize("stem", FILES)
def test_mutated_zoo_specs_fail_cleanly(stem: str) -> None:
    rng = random.Random(f"mutate-{stem}")
    path = SPECS / f"{stem}.yaml"
    crashes = []
    for case in range(CASES_PER_FILE):
        doc = load_yaml_file(path)
        what = _mutate(doc, rng)
        try:
            spec = parse_spec(doc, str(path), stem)
            variant = spec.default_variant if spec.default_variant in spec.variants else None
            analyze_graph(build_graph(spec, variant))
        except CnncalcError as err:
            assert str(err), what
        except Exception as exc:  # noqa: BLE001 - the point of the test
            crashes.append(f"case {case} ({what}): {type(exc).__name__}: {exc}")
    assert not crashes, "\n".join(crashes)
