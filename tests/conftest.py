"""Shared helpers for the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from cnncalc.layers import REGISTRY
from cnncalc.layers.base import Layer

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def make_layer(type_name: str, args: dict, *in_shapes: tuple[int, ...]) -> Layer:
    """Build one layer directly from the registry (no spec), as the graph builder does."""
    cls = REGISTRY[type_name]
    layer = cls(type_name, cls.normalize_args(dict(args)))
    layer.build([tuple(s) for s in in_shapes])
    return layer


class Case(NamedTuple):
    """A row of the layer-case tables: type, args, input shapes → output shape and counts."""

    type: str
    args: dict
    inputs: list
    out: tuple
    params: int = 0
    macs: int = 0
    flops: int | None = None
    buffers: int = 0


def check_case(case: Case) -> None:
    """Build the row's layer and compare every figure with the row's arithmetic."""
    layer = make_layer(case.type, case.args, *case.inputs)
    assert layer.out_shape == tuple(case.out)
    assert param_count(layer) == case.params
    assert buffer_count(layer) == case.buffers
    assert layer.macs() == case.macs
    if case.flops is not None:
        assert layer.flops() == case.flops


def param_count(layer: Layer) -> int:
    return sum(w.size for w in layer.weights() if w.kind == "param")


def buffer_count(layer: Layer) -> int:
    return sum(w.size for w in layer.weights() if w.kind == "buffer")


def run_cli(
    *args: str, cwd: Path | None = None, input: str | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m cnncalc ARGS`` in a subprocess; returns the completed process."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "cnncalc", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        input=input,
        timeout=120,
    )


@pytest.fixture
def tmp_spec(tmp_path):
    """Write YAML text to a file and return its path."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return write
