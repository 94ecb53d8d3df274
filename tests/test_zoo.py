"""Every bundled spec builds, and matches the published figures written in its `expected` block.

`expected` keys (per spec, overridden per variant):
  params, trainable_params, non_trainable_params, buffers, macs   exact integers
  gmacs        a published figure rounded to 3 decimals (torchvision's "GFLOPS"): |MACs/1e9 − gmacs| < 0.0005
  output_shape the output shape (batch excluded)
  shapes       {layer name: shape} for shapes printed in the papers
  keras        {params, trainable_params, non_trainable_params}: the figure in Keras's convention
  source       where the figures come from (not checked)
"""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.spec import read_spec

from .conftest import SPECS

SPEC_FILES = sorted(p for p in SPECS.glob("*.yaml") if not p.name.startswith("_"))
CHECKED = {
    "params",
    "trainable_params",
    "non_trainable_params",
    "buffers",
    "macs",
    "gmacs",
    "output_shape",
    "shapes",
    "keras",
    "source",
    "note",
    "notes",
    "input",
}


def _members():
    out = []
    for path in SPEC_FILES:
        spec = read_spec(path)
        if spec.variants:
            out += [(path, v) for v in spec.variants]
        else:
            out.append((path, None))
    return out


MEMBERS = _members()


def test_zoo_is_not_empty():
    assert len(SPEC_FILES) >= 3


@pytest.mark.parametrize(
    "path, variant", MEMBERS, ids=[f"{p.stem}:{v}" if v else p.stem for p, v in MEMBERS]
)
def test_zoo_member_matches_published_figures(path, variant):
    # `expected` states PyTorch-convention figures (and Keras's under `keras:`), whatever
    # convention the spec prints by default
    report = cnncalc.analyze(str(path), variant=variant, convention="pytorch")
    graph = cnncalc.build(str(path), variant=variant)
    exp = graph.expected or {}
    unknown = set(exp) - CHECKED
    assert not unknown, f"unknown keys in expected: {unknown}"
    assert "params" in exp, f"{report.name}: every zoo member states its published parameter count"
    t = report.totals
    for key in ("params", "trainable_params", "non_trainable_params", "buffers", "macs"):
        if key in exp:
            assert getattr(t, key) == exp[key], f"{report.name} {key}"
    if "gmacs" in exp:
        assert abs(t.macs / 1e9 - exp["gmacs"]) < 0.0005, (
            f"{report.name}: {t.macs:,} MACs vs {exp['gmacs']} G"
        )
    if "output_shape" in exp:
        assert list(report.output_shape) == list(exp["output_shape"])
    for layer, shape in (exp.get("shapes") or {}).items():
        assert list(report.row(layer).output_shape) == list(shape), f"{report.name} {layer}"
    if "keras" in exp:
        k = cnncalc.analyze(str(path), variant=variant, convention="keras").totals
        for key, value in exp["keras"].items():
            assert getattr(k, key) == value, f"{report.name} keras {key}"


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.stem for p in SPEC_FILES])
def test_zoo_spec_has_metadata(path):
    spec = read_spec(path)
    for key in ("description", "source"):
        assert spec.meta.get(key), f"{path.name} needs '{key}'"
    if spec.variants:
        assert spec.default_variant, f"{path.name} has variants and needs a default_variant"


def test_resnet50_published_figures():
    """torchvision: resnet50 25,557,032 params, 4.089 GMACs (REFERENCE.md)."""
    r = cnncalc.analyze("resnet50")
    assert r.params == 25_557_032
    assert round(r.macs / 1e9, 3) == 4.089


def test_resnet50_keras_convention():
    """Keras counts BN moving statistics as non-trainable parameters: 53,120 of them in ResNet-50."""
    r = cnncalc.analyze("resnet50", convention="keras")
    assert r.non_trainable_params == 53_120
    # Keras's published 25,636,712 also has a bias on every conv (torchvision's have none):
    conv_biases = sum(row.output_shape[0] for row in r.rows if row.type == "conv2d")
    assert r.params + conv_biases == 25_636_712


def test_family_name_resolves_to_canonical_member():
    r = cnncalc.analyze("resnet")
    assert r.name == "resnet50"
    assert "resnet50" in r.meta["resolved"]
