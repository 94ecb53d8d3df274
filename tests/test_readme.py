"""The README's commands are the ones CI runs, and its library example is true."""

from __future__ import annotations

import re

import cnncalc

from .conftest import ROOT

TEST_COMMAND = 'python -m pip install -q -e ".[test]" && python -m pytest -q -n auto'


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert TEST_COMMAND in readme
    assert TEST_COMMAND in ci


def test_readme_run_command_names_a_bundled_spec():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"pip install \. && cnncalc summary (\w+)", readme)
    assert m, "README must hold the install-and-run command"
    assert cnncalc.analyze(m.group(1)).params > 0


def test_readme_library_example():
    r = cnncalc.analyze("resnet50")
    assert (r.params, r.trainable_params) == (25557032, 25557032)  # torchvision's num_params
    assert round(r.macs / 1e9, 3) == 4.089  # torchvision's published GFLOPS (MACs)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert (
        f"# {r.params} {r.trainable_params} {r.macs}" in readme
    )  # the README shows what it prints
    assert r.row("layer3.0.conv2").output_shape == (256, 14, 14)
    r = cnncalc.analyze("resnet18", (3, 64, 64), num_classes=10, batch=8)
    assert r.output_shape == (10,) and r.to_dict()["batch"] == 8


def test_readme_spec_example_builds():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    from cnncalc.graph import build_graph
    from cnncalc.spec import spec_from_text

    r = cnncalc.analyze(build_graph(spec_from_text(block)))
    assert r.output_shape == (10,)
    assert r.row("stage2.0.conv1").output_shape == (32, 16, 16)
    assert "stage1.0.shortcut" not in [row.name for row in r.rows]
