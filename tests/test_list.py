"""`cnncalc list`: every zoo member is a row, figures match the published ones, formats parse."""

from __future__ import annotations

import csv
import io
import json
import time

from cnncalc import CnncalcError, zoo
from cnncalc.spec import read_spec

from .conftest import SPECS, run_cli


def _expected_names() -> list[str]:
    """Read the spec files directly: every variant of a family, else the file's model name."""
    names = []
    for p in sorted(SPECS.glob("*.yaml")):
        if p.name.startswith("_"):
            continue
        try:
            spec = read_spec(p)
        except CnncalcError:  # a file being edited: listed by its stem, with its error
            names.append(p.stem)
            continue
        names += list(spec.variants) if spec.variants else [spec.name]
    return names


def test_catalog_lists_every_member_fast():
    t = time.process_time()  # CPU time: other processes on the machine do not count
    entries = zoo.catalog()
    elapsed = time.process_time() - t
    assert [e.name for e in entries] == _expected_names()
    assert elapsed < 2.0, f"analysing the zoo took {elapsed:.2f} s of CPU"
    by = {e.name: e for e in entries}
    assert by["lenet5"].params == 61706 and by["lenet5"].input_shape == (1, 32, 32)
    assert by["resnet50"].params == 25_557_032 and by["resnet50"].family == "resnet"
    assert by["resnet50"].year == 2015
    assert round(by["resnet50"].macs / 1e9, 3) == 4.089  # torchvision "GFLOPS"
    assert by["resnet50"].canonical and not by["resnet18"].canonical  # default_variant
    assert not by["lenet5"].canonical  # a single-model file has no family member to pick


def test_a_broken_spec_is_listed_not_fatal(tmp_path, monkeypatch):
    (tmp_path / "good.yaml").write_text(
        "name: good\nfamily: demo\nyear: 2020\ndescription: a tiny net\ninput: [1, 8, 8]\n"
        "layers:\n  - conv2d: {out_channels: 2, kernel_size: 3}\n",
        encoding="utf-8",
    )
    (tmp_path / "broken.yaml").write_text("name: broken\ninput: [1, 8\n", encoding="utf-8")
    monkeypatch.setattr(zoo, "specs_dir", lambda: tmp_path)
    entries = {e.name: e for e in zoo.catalog()}
    assert entries["good"].params == 2 * 1 * 3 * 3 + 2
    assert entries["good"].description == "a tiny net" and entries["good"].year == 2020
    assert entries["broken"].error and entries["broken"].params is None


def test_cli_list_table():
    r = run_cli("list")
    assert r.returncode == 0, r.stderr
    assert "25,557,032" in r.stdout and "resnet50 *" in r.stdout
    assert "resnet → resnet50" in r.stdout
    assert f"{len(_expected_names())} models" in r.stdout


def test_cli_list_formats():
    r = run_cli("list", "--format", "json")
    data = json.loads(r.stdout)
    assert [d["name"] for d in data] == _expected_names()
    lenet = next(d for d in data if d["name"] == "lenet5")
    assert lenet["params"] == 61706 and lenet["input_shape"] == [1, 32, 32]

    from cnncalc.render_compare import list_csv

    rows = list(csv.DictReader(io.StringIO(list_csv(zoo.catalog()))))
    assert int(next(x for x in rows if x["name"] == "resnet18")["params"]) == 11_689_512

    r = run_cli("list", "--format", "markdown")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("| Name |") and set(lines[1]) <= set("|:-")
    assert len([x for x in lines if x.startswith("| ")]) == len(_expected_names()) + 1


def test_cli_list_filter_and_sort():
    data = json.loads(
        run_cli("list", "-f", "json", "--family", "resnet", "--sort", "params").stdout
    )
    # resnet.yaml also holds ResNeXt and Wide ResNet (torchvision's ResNet class with groups and
    # width_per_group); by parameters (torchvision's table): 126.9 M, 88.8 M, 83.5 M, 68.9 M,
    # 60.2 M, 44.5 M, 25.56 M, 25.03 M, 21.8 M, 11.7 M
    assert [d["name"] for d in data] == [
        "wide_resnet101_2",
        "resnext101_32x8d",
        "resnext101_64x4d",
        "wide_resnet50_2",
        "resnet152",
        "resnet101",
        "resnet50",
        "resnext50_32x4d",
        "resnet34",
        "resnet18",
    ]


def test_cli_list_unknown_family():
    r = run_cli("list", "--family", "resnt")
    assert r.returncode == 1 and "did you mean 'resnet'" in r.stderr
