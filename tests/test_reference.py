"""The layer reference is generated from the registry, and docs/layers.md is that output."""

from __future__ import annotations

import json

from cnncalc.layers import REGISTRY
from cnncalc.reference import REGENERATE, layer_docs, reference_markdown

from .conftest import ROOT, run_cli

DOC = ROOT / "docs" / "layers.md"


def test_docs_layers_md_is_up_to_date():
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert current == reference_markdown(), (
        f"docs/layers.md is out of date with the layer registry; regenerate it with:\n  {REGENERATE}"
    )


def test_every_type_name_is_documented_once_per_class():
    docs = layer_docs()
    names = [n for d in docs for n in d.names]
    assert sorted(names) == sorted(REGISTRY)  # each name once, aliases in their class's entry
    assert len(docs) == len(set(REGISTRY.values()))
    for d in docs:
        cls = REGISTRY[d.name]
        assert [a.name for a in d.args] == list(cls.ARGS)
        assert d.summary, f"{cls.__name__} has no docstring"
    md = reference_markdown()
    for n in REGISTRY:
        assert f"`{n}`" in md


def test_cli_one_type_by_alias():
    r = run_cli("layers", "dense")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("dense (aliases: linear)")
    assert "params = in·out + out" in out  # the shape/params rule from the docstring
    assert "out_features  required" in out


def test_cli_index_markdown_json():
    r = run_cli("layers")
    assert r.returncode == 0 and "conv1d, conv2d, conv3d, conv" in r.stdout
    r = run_cli("layers", "conv2d", "--format", "markdown")
    assert r.stdout.startswith("### Conv") and "| `groups` | `1` |" in r.stdout
    data = json.loads(run_cli("layers", "--format", "json").stdout)
    conv = next(d for d in data if "conv2d" in d["names"])
    assert {a["name"]: a["default"] for a in conv["args"]}["stride"] == "1"
    assert conv["ranks"]["conv2d"] == 2


def test_cli_unknown_type():
    r = run_cli("layers", "conv2", "--format", "markdown")
    assert r.returncode == 1 and "did you mean" in r.stderr and "conv2d" in r.stderr
