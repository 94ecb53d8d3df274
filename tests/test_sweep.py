"""cnncalc sweep: grids, budgets, the Pareto front, compound scaling, shards and jobs.

Expected figures are published ones (torchvision's table) or arithmetic written here."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from cnncalc.errors import CnncalcError
from cnncalc.sweep import (
    Config,
    Result,
    compound_grid,
    pareto_front,
    parse_inputs,
    parse_quantity,
    parse_shard,
    parse_values,
    run_sweep,
)

# torchvision's table: resnet18 11,689,512 params; its fc is Linear(512, 1000).
RESNET18 = 11_689_512
RESNET18_10 = RESNET18 - (512 * 1000 + 1000) + (512 * 10 + 10)  # fc for 10 classes


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cnncalc", *args], capture_output=True, text=True, timeout=120
    )


# -- parsing -----------------------------------------------------------------------------------
def test_ranges_step_exactly():
    vals = parse_values("0.35:1.4:0.05")
    assert len(vals) == round((1.4 - 0.35) / 0.05) + 1 == 22
    assert vals[0] == 0.35 and vals[-1] == 1.4 and vals[13] == 1.0  # no float drift
    assert parse_values("1:5") == [1, 2, 3, 4, 5]
    assert parse_values("32:64:16") == [32, 48, 64]
    assert parse_values("10,100,1000") == [10, 100, 1000]
    assert parse_values("true,false") == [True, False]
    assert parse_values("7") == [7]


@pytest.mark.parametrize("bad", ["1:0", "0:1:0", "1:2:3:4", "a:b", ""])
def test_bad_ranges(bad):
    with pytest.raises(CnncalcError):
        parse_values(bad)


def test_input_braces():
    assert parse_inputs("3x{96..160:32}") == [(3, 96), (3, 128), (3, 160)]
    assert parse_inputs("3x{224,256}x{224,256}") == [
        (3, 224, 224),
        (3, 224, 256),
        (3, 256, 224),
        (3, 256, 256),
    ]
    assert parse_inputs("3x224x224") == [(3, 224, 224)]
    with pytest.raises(CnncalcError):
        parse_inputs("3x{320..96}")


def test_quantities_and_shards():
    assert parse_quantity("300M", "x") == 300 * 10**6
    assert parse_quantity("1.5G", "x") == 1_500_000_000
    assert parse_quantity("5e6", "x") == 5 * 10**6
    assert parse_quantity("64MiB", "x") == 64 * 2**20
    assert parse_shard("2/4") == (2, 4)
    for bad in ("4/4", "1/0", "a/b", "1"):
        with pytest.raises(CnncalcError):
            parse_shard(bad)
    with pytest.raises(CnncalcError):
        parse_quantity("12 parsecs", "x")


# -- the Pareto front ----------------------------------------------------------------------------
def _r(index: int, macs: int, params: int) -> Result:
    return Result(Config(index, None, None, ()), params=params, macs=macs, flops=2 * macs)


def test_front_by_hand():
    # (macs, params): A(1,1) B(2,3) C(3,2) D(4,5) E(2,3) F(5,5)
    pts = [_r(0, 1, 1), _r(1, 2, 3), _r(2, 3, 2), _r(3, 4, 5), _r(4, 2, 3), _r(5, 5, 5)]
    # fewest MACs, most params: C is beaten by B (fewer MACs, more params); F by D (fewer MACs,
    # same params); B and E are equal and both stay.
    assert [r.config.index for r in pareto_front(pts, ("macs", "-params"))] == [0, 1, 3, 4]
    # both minimised: A (1, 1) is at least as good as every other point on both
    assert [r.config.index for r in pareto_front(pts, ("macs", "params"))] == [0]
    # most params for the fewest MACs, seen from params: max params, min macs
    assert [r.config.index for r in pareto_front(pts, ("-params", "macs"))] == [0, 1, 3, 4]


def test_resnet18_grid_front_and_budget():
    sw = run_sweep(
        "resnet18",
        inputs=[(3, 64, 64), (3, 128, 128)],
        variables=[("num_classes", [10, 1000])],
        objectives=("macs", "-params"),
    )
    # order: inputs, then variables: #0 64/10, #1 64/1000, #2 128/10, #3 128/1000
    assert [r.params for r in sw.results] == [RESNET18_10, RESNET18, RESNET18_10, RESNET18]
    # the fc adds 512·990 MACs; 128×128 has 4× the conv MACs of 64×64
    assert sw.results[1].macs - sw.results[0].macs == 512 * 990
    # #2 is beaten by #1 (fewer MACs, more params), #3 by #1 (fewer MACs, same params)
    assert [r.config.index for r in sw.front] == [0, 1]
    budget = run_sweep(
        "resnet18",
        inputs=[(3, 64, 64), (3, 128, 128)],
        variables=[("num_classes", [10, 1000])],
        filters={"params": 11_500_000},
    )
    assert [r.config.index for r in budget.kept] == [0, 2]


def test_memory_is_the_reports_inference_peak():
    import cnncalc

    sw = run_sweep("mobilenet_v2", inputs=[(3, 96, 96), (3, 160, 160)])
    for r in sw.results:
        report = cnncalc.analyze("mobilenet_v2", r.config.input_shape)
        assert r.memory == report.memory.peak_inference_total_bytes
    keras = run_sweep("xception", convention="keras")
    assert keras.results[0].memory == (
        cnncalc.analyze("xception", convention="keras").memory.peak_inference_total_bytes
    )


def test_failures_are_listed_not_fatal():
    sw = run_sweep("vgg16", inputs=[(3, 16, 16), (3, 224, 224)])
    assert len(sw.failed) == 1 and sw.failed[0].config.input_shape == (3, 16, 16)
    assert sw.failed[0].error  # the reason
    assert sw.kept[0].params == 138_357_544  # torchvision's vgg16


def test_shards_and_jobs_give_the_same_rows():
    kw = dict(
        inputs=[(3, s, s) for s in (64, 96, 128)],
        variables=[("width_mult", [0.5, 0.75, 1.0, 1.4]), ("num_classes", [10, 100])],
    )
    whole = run_sweep("mobilenet_v2", **kw)
    assert len(whole.results) == 3 * 4 * 2
    parts = [run_sweep("mobilenet_v2", shard=(i, 3), **kw) for i in range(3)]
    merged = sorted((r for p in parts for r in p.results), key=lambda r: r.config.index)
    assert merged == whole.results
    assert run_sweep("mobilenet_v2", jobs=2, **kw).results == whole.results
    # forked workers (chunks) with a grid large enough to use them
    many = run_sweep("lenet5", variables=[("num_classes", list(range(1, 101)))], jobs=2)
    assert [r.params for r in many.results] == [
        61_706 - (84 * 10 + 10) + (84 * k + k) for k in range(1, 101)
    ]


# -- compound scaling ----------------------------------------------------------------------------
def test_compound_rule():
    steps = compound_grid([0, 1, 2])
    assert [s.depth for s in steps] == [1.0, 1.2, 1.2**2]
    assert [s.width for s in steps] == [1.0, 1.1, 1.1**2]
    # 224·1.15 = 257.6 → 258; 224·1.3225 = 296.24 → 296
    assert [s.resolution for s in steps] == [224, 258, 296]
    assert abs(1.2 * 1.1**2 * 1.15**2 - 1.92027) < 1e-5  # the paper's α·β²·γ² ≈ 2


def test_compound_sweep_cli():
    p = cli("sweep", "efficientnet_b0", "--compound", "phi=0:2", "--format", "json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    rows = {r["index"]: r for r in d["results"]}
    # φ = 0 is B0 itself: torchvision's 5,288,548 params
    assert rows[0]["params"] == 5_288_548
    # φ = 1 scales depth 1.2 and width 1.1: B2's multipliers, so B2's params (9,109,994,
    # torchvision's table), at the compound resolution 258
    assert rows[1]["params"] == 9_109_994
    assert rows[1]["variables"]["resolution"] == 258
    assert [c["published"]["name"] for c in d["compound"]] == [
        "efficientnet_b0",
        "efficientnet_b1",
        "efficientnet_b2",
    ]
    table = cli("sweep", "efficientnet_b0", "--compound", "phi=0:2")
    assert "Compound scaling" in table.stdout and "efficientnet_b2: 9,109,994" in table.stdout
    bad = cli("sweep", "resnet50", "--compound", "phi=0:2")
    assert bad.returncode == 1 and "depth_mult" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


# -- the command -------------------------------------------------------------------------------
def test_cli_csv_plot_and_errors(tmp_path):
    out, svg = tmp_path / "grid.csv", tmp_path / "front.svg"
    p = cli(
        "sweep",
        "resnet18",
        "--input",
        "3x{64..128:64}",
        "--set",
        "num_classes=10,1000",
        "-o",
        str(out),
        "--plot",
        str(svg),
    )
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))  # format from the extension
    assert [int(r["params"]) for r in rows] == [RESNET18_10, RESNET18, RESNET18_10, RESNET18]
    assert [r["input_shape"] for r in rows] == ["3x64x64", "3x64x64", "3x128x128", "3x128x128"]
    assert [r["pareto"] for r in rows] == ["1", "1", "0", "0"]
    root = ET.fromstring(svg.read_text())
    circles = [e for e in root.iter() if e.tag.endswith("circle")]
    assert len(circles) == 4 and sum(c.get("class") == "front" for c in circles) == 2
    for args, needle in [
        (("--shard", "3/3"), "--shard"),
        (("--set", "nope=1:2"), "nope"),
        (("--max-macs", "lots"), "--max-macs"),
        (("--pareto", "params,speed"), "speed"),
        (("--variant", "resnet19"), "resnet19"),
    ]:
        bad = cli("sweep", "resnet18", *args)
        assert bad.returncode == 1, (args, bad.stderr)
        assert needle in bad.stderr and "Traceback" not in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1


def test_table_marks_the_front_and_plots():
    p = cli(
        "sweep",
        "mobilenet_v2",
        "--set",
        "width_mult=0.5:1.0:0.25",
        "--input",
        "3x{96..160:32}",
        "--max-macs",
        "100M",
    )
    assert p.returncode == 0, p.stderr
    assert "9 of 9 configurations evaluated" in p.stdout
    assert "● Pareto front" in p.stdout and "●" in p.stdout.split("Pareto front", 2)[-1]
    assert "--variant" not in p.stderr


def test_variant_all():
    sw = run_sweep("resnet", variants=["resnet18", "resnet34"])
    assert [r.params for r in sw.results] == [11_689_512, 21_797_672]  # torchvision's table


# -- the block-instance cache that makes sweeps (and deep specs) fast ------------------------------
def _graph_facts(g):
    return (
        [
            (n.name, n.type, n.inputs, n.out_shape, n.trainable, n.train_only, n.share)
            for n in g.nodes
        ],
        g.groups,
        g.outputs,
    )


def test_replayed_block_instances_equal_expanded_ones(monkeypatch):
    """Every zoo model builds the same graph with identical block instances copied as when each
    is expanded anew (names, inputs, shapes, flags, shares, groups, outputs)."""
    import cnncalc
    import cnncalc.expand as expand
    from cnncalc.zoo import zoo_members

    members = zoo_members()
    assert len(members) >= 40
    fast = {m.name: _graph_facts(cnncalc.build(m.name)) for m in members}
    monkeypatch.setattr(expand, "_replay_key", lambda *a, **k: None)
    for m in members:
        assert _graph_facts(cnncalc.build(m.name)) == fast[m.name], m.name


def test_replay_keys_tell_equal_values_of_other_types_apart():
    import cnncalc

    spec = {
        "input": [4, 8, 8],
        "blocks": {
            "b": {
                "params": {"k": 1, "out": 4},
                "layers": [
                    {"conv2d": {"out_channels": "out", "kernel_size": "k", "padding": "k // 2"}}
                ],
            }
        },
        "layers": [
            {"b": {"k": 3}},
            {"b": {"k": 3}},  # the same instance again: replayed
            {"b": {"k": 1}},
            {"b": {"k": 3, "out": 8}},
        ],
    }
    r = cnncalc.analyze(spec)
    # 4·4·9 + 4 twice, 4·4·1 + 4, then 8·4·9 + 8
    assert [row.params for row in r.rows] == [148, 148, 20, 296]
    assert [row.name for row in r.rows] == [
        "b_1.conv2d_1",
        "b_2.conv2d_1",
        "b_3.conv2d_1",
        "b_4.conv2d_1",
    ]


# Keras Applications (REFERENCE.md): Xception 22,910,480 params of which 22,855,952 trainable;
# the rest are BN moving statistics, buffers in the PyTorch convention. EfficientNetB0:
# 5,330,571 in Keras; torchvision's efficientnet_b0 has 5,288,548.
XCEPTION_KERAS, XCEPTION_TRAINABLE = 22_910_480, 22_855_952


def test_sweep_takes_the_specs_convention():
    """A spec that declares ``convention: keras`` (or a variant that does) is swept in it, as
    ``summary`` reports it; ``--convention`` still chooses, and a wrong one is a usage error."""
    own = cli("sweep", "xception", "--format", "csv")
    assert own.returncode == 0, own.stderr
    assert [int(r["params"]) for r in csv.DictReader(io.StringIO(own.stdout))] == [XCEPTION_KERAS]
    torch = cli("sweep", "xception", "--format", "csv", "--convention", "pytorch")
    rows = list(csv.DictReader(io.StringIO(torch.stdout)))
    assert [int(r["params"]) for r in rows] == [XCEPTION_TRAINABLE]
    assert run_sweep("xception").results[0].params == XCEPTION_KERAS
    sw = run_sweep("efficientnet", variants=["efficientnet_b0", "efficientnet_b0_keras"])
    assert [r.params for r in sw.results] == [5_288_548, 5_330_571]
    bad = cli("sweep", "xception", "--convention", "kera")
    assert bad.returncode == 2 and "keras" in bad.stderr and "Traceback" not in bad.stderr
