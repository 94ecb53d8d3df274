"""`cnncalc compare` and `cnncalc.compare`: totals equal summaries, ratios, depth, stages, formats.

Expected figures are published ones (REFERENCE.md, the papers' layer counts) or arithmetic
written out here; ratios are recomputed from `analyze()` totals.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

import cnncalc
from cnncalc import CnncalcError
from cnncalc.comparison import depth_of, merge_orders, stages_of
from cnncalc.zoo import zoo_names

from .conftest import run_cli

HAVE_VGG = "vgg16" in zoo_names()
needs_vgg = pytest.mark.skipif(not HAVE_VGG, reason="specs/vgg.yaml is not in the zoo")


def test_totals_equal_two_summaries():
    c = cnncalc.compare(["lenet5", "mnist_cnn"])
    for rec, name in zip(c.models, ["lenet5", "mnist_cnn"]):
        assert rec.totals == cnncalc.analyze(name).totals
    assert [m.name for m in c.models] == ["lenet5", "mnist_cnn"]
    assert c.models[0].totals.params == 61706  # REFERENCE.md: LeNet-5 as usually taught
    assert c.models[1].totals.params == 243786  # REFERENCE.md / seed 001: Keras MNIST CNN


def test_ratios_are_value_over_baseline():
    a, b = cnncalc.analyze("resnet50"), cnncalc.analyze("resnet18")
    c = cnncalc.compare(["resnet50", "resnet18"])
    base, other = c.models
    assert base.baseline and not other.baseline and c.baseline == "resnet50"
    for key in ("params", "trainable_params", "macs", "flops", "activation_bytes", "params_bytes"):
        assert base.ratios[key] == 1.0
        assert other.ratios[key] == pytest.approx(getattr(b.totals, key) / getattr(a.totals, key))
    # published (torchvision table): 11,689,512 / 25,557,032 params
    assert other.ratios["params"] == pytest.approx(11_689_512 / 25_557_032)
    assert other.ratios["depth"] == pytest.approx(18 / 50)


@needs_vgg
def test_vgg16_vs_resnet50_published_ratio():
    c = cnncalc.compare(["resnet50", "vgg"])  # family name → vgg16
    r50, vgg = c.models
    assert (r50.totals.params, vgg.totals.params) == (25_557_032, 138_357_544)
    assert vgg.ratios["params"] == pytest.approx(138_357_544 / 25_557_032)  # 5.41×
    assert round(vgg.ratios["params"], 2) == 5.41
    # published GMACs 15.470 / 4.089 (3-decimal figures): the ratio agrees to 3 digits
    assert vgg.ratios["macs"] == pytest.approx(15.470 / 4.089, rel=2e-4)
    assert vgg.resolved and "vgg16" in vgg.resolved and vgg.name == "vgg16"


@pytest.mark.parametrize(
    "name, depth",
    [
        ("resnet18", 18),
        ("resnet34", 34),
        ("resnet50", 50),
        ("resnet101", 101),
        ("resnet152", 152),
        ("lenet5", 5),  # C1, C3, F5, F6, output
        ("mnist_cnn", 4),  # conv, conv, dense, dense
    ],
)
def test_depth_is_the_papers_layer_count(name, depth):
    assert depth_of(cnncalc.analyze(name)) == depth


@needs_vgg
def test_depth_vgg():
    assert depth_of(cnncalc.analyze("vgg16")) == 13 + 3
    assert depth_of(cnncalc.analyze("vgg19")) == 16 + 3


def test_depth_of_googlenet_if_present():
    if "googlenet" not in zoo_names():
        pytest.skip("no googlenet spec")
    # Szegedy et al. 2014: "22 layers deep when counting only layers with parameters"
    assert depth_of(cnncalc.analyze("googlenet")) == 22


def test_resnet50_stages_follow_the_paper_table():
    # He et al. 2015, table 1 (50-layer): conv1 112×112 (64), conv2_x 56×56 (256), conv3_x 28×28
    # (512), conv4_x 14×14 (1024), conv5_x 7×7 (2048), average pool, 1000-d fc.
    st = stages_of(cnncalc.analyze("resnet50"))
    assert [(s.spatial, s.channels) for s in st] == [
        ((112, 112), 64),
        ((56, 56), 256),
        ((28, 28), 512),
        ((14, 14), 1024),
        ((7, 7), 2048),
        ((1, 1), 2048),
        ((), 1000),
    ]
    assert [s.key for s in st] == ["/2", "/4", "/8", "/16", "/32", "1×1", "flat"]
    assert sum(s.params for s in st) == 25_557_032
    assert sum(s.params_share for s in st) == pytest.approx(1.0)
    assert st[-1].params == 2048 * 1000 + 1000  # the fc layer
    assert sum(s.layers for s in st) == len(cnncalc.analyze("resnet50").rows)


def test_inception_branches_stay_in_their_stage():
    # torchvision Inception3's shape comments: 149, 147, 73, 71, 35, 17, 8 (then pool, fc).
    # The reduction modules' 1×1 branches run at the old size; they must not reopen a stage.
    st = stages_of(cnncalc.analyze("inception_v3"))
    assert [s.spatial for s in st] == [
        (149, 149), (147, 147), (73, 73), (71, 71), (35, 35), (17, 17), (8, 8), (1, 1), ()
    ]  # fmt: skip
    assert sum(s.params for s in st) == 27_161_264  # aux classifier included (train-only)


@needs_vgg
def test_vgg16_fc_head_share():
    st = stages_of(cnncalc.analyze("vgg16"))
    head = st[-1]
    fc = (7 * 7 * 512 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert head.key == "flat" and head.params == fc
    assert head.params_share == pytest.approx(fc / 138_357_544)  # ≈ 0.894


def test_one_input_for_all_and_the_error_names_model_and_layer():
    c = cnncalc.compare(["resnet18", "resnet50"], "3x128x128")
    assert all(m.input_shape == (3, 128, 128) for m in c.models)
    assert c.models[0].totals.macs == cnncalc.analyze("resnet18", (3, 128, 128)).macs
    c = cnncalc.compare(["resnet18", "lenet5"], (1, 8, 8))
    failed = c.models[1]
    # lenet5 at 8×8: c1 (5×5) → 4×4, s2 → 2×2, c3's 5×5 kernel does not fit
    assert failed.error is not None and "1x8x8" in failed.error and "'c3'" in failed.error
    assert c.models[0].error is None and c.ok == (c.models[0],)
    with pytest.raises(CnncalcError) as e:  # the baseline cannot be left out
        cnncalc.compare(["lenet5", "resnet18"], (1, 8, 8))
    assert "lenet5 (the baseline)" in str(e.value)


def test_sort_keeps_ratios_relative_to_the_baseline():
    c = cnncalc.compare(["resnet18", "resnet152", "resnet50"], sort="params")
    assert [m.name for m in c.models] == ["resnet152", "resnet50", "resnet18"]
    assert c.baseline == "resnet18" and c.models[2].baseline
    assert c.models[0].ratios["params"] == pytest.approx(60_192_808 / 11_689_512)
    c = cnncalc.compare(["resnet18", "resnet152", "resnet50"], sort="macs", reverse=True)
    assert [m.name for m in c.models] == ["resnet18", "resnet50", "resnet152"]
    c = cnncalc.compare(["resnet50", "lenet5", "mnist_cnn"], sort="name")
    assert [m.name for m in c.models] == ["lenet5", "mnist_cnn", "resnet50"]


def test_bad_arguments():
    with pytest.raises(CnncalcError, match="list of models"):
        cnncalc.compare("resnet50")
    with pytest.raises(CnncalcError, match="did you mean 'params'"):
        cnncalc.compare(["resnet50", "lenet5"], sort="parms")


def test_merge_orders():
    assert merge_orders([["/2", "/4", "flat"], ["/1", "/2", "/4", "1×1", "flat"]]) == [
        "/1", "/2", "/4", "1×1", "flat"
    ]  # fmt: skip
    assert merge_orders([["a", "b"], ["b", "a"]]) == ["a", "b"]  # disagreement: first wins


# --- CLI ------------------------------------------------------------------------------------


def test_cli_json_has_summary_totals_keys():
    r = run_cli("compare", "lenet5", "mnist_cnn", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == 2 and doc["batch"] == 1 and doc["dtype"] == "float32"
    assert doc["input_shape"] is None and doc["baseline"] == "lenet5"
    data = doc["models"]
    summary = json.loads(run_cli("summary", "lenet5", "--format", "json").stdout)
    assert isinstance(data, list) and len(data) == 2
    # each model is summary's object (layers a list in both), plus the comparison's keys
    assert set(summary) - {"display_depth"} <= set(data[0])
    assert data[0]["totals"] == summary["totals"] and data[0]["layers"] == summary["layers"]
    assert data[0]["name"] == "lenet5" and data[0]["input_shape"] == [1, 32, 32]
    assert data[1]["output_shape"] == [10]
    assert data[1]["ratios"]["params"] == pytest.approx(243786 / 61706)
    assert "stages" not in data[0]
    r = run_cli("compare", "lenet5", "mnist_cnn", "--format", "json", "--stages")
    assert json.loads(r.stdout)["models"][0]["stages"][0]["spatial"] == [28, 28]  # 32 − 5 + 1


def test_cli_csv_raw_integers():
    r = run_cli("compare", "resnet18", "resnet50", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["name"] for row in rows] == ["resnet18", "resnet50"]
    assert int(rows[0]["params"]) == 11_689_512 and int(rows[1]["params"]) == 25_557_032
    assert int(rows[1]["macs"]) == cnncalc.analyze("resnet50").macs
    assert float(rows[1]["params_ratio"]) == pytest.approx(25_557_032 / 11_689_512, rel=1e-5)
    assert rows[0]["input_shape"] == "3x224x224"
    r = run_cli("compare", "resnet18", "resnet50", "--format", "csv", "--stages")
    stage_rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert sum(int(x["params"]) for x in stage_rows if x["model"] == "resnet18") == 11_689_512


def test_cli_markdown_table(tmp_path):
    out = tmp_path / "cmp.md"
    r = run_cli("compare", "lenet5", "mnist_cnn", "-f", "markdown", "--stages", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and "wrote" in r.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("| Model |") and lines[0].count("|") == 12
    assert set(lines[1]) <= set("|:-")
    assert lines[2].startswith("| **lenet5** |") and "61,706" in lines[2]
    assert any(line.startswith("| Stage |") for line in lines)


def test_cli_table_and_family_resolution():
    r = run_cli("compare", "resnet", "resnet18", "--stages")
    assert r.returncode == 0, r.stderr
    assert "resolved: resnet → resnet50" in r.stdout
    assert "11,689,512 (0.457×)" in r.stdout  # 11,689,512 / 25,557,032 = 0.4574
    assert "Stage" in r.stdout and "2048 @ 7×7" in r.stdout
    rows = run_cli("compare", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
    assert rows.stdout.splitlines()[3].split()[:3] == ["Model", "Input", "Output"]


def test_cli_errors():
    r = run_cli("compare", "resnet50", "nosuchnet")
    assert r.returncode == 1 and "nosuchnet" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli("compare", "resnet50", "lenet5", "--layout", "diagonal")
    assert r.returncode == 2 and "layout" in r.stderr and r.stderr.count("\n") == 1


def test_cli_a_model_that_cannot_take_the_input_is_a_column_saying_why():
    r = run_cli("compare", "resnet50", "lenet5", "--input", "1x8x8")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[3].split() == ["resnet50", "lenet5"]  # a column of its own
    assert lines[5].split()[-4:] == ["cannot", "take", "it", "(below)"]
    why = next(line for line in r.stdout.splitlines() if line.startswith("lenet5: "))
    assert "cannot take the input 1x8x8" in why and "'c3'" in why
    assert "25,550,760" in r.stdout  # resnet50 at 1×8×8: conv1 1·7·7·64 instead of 3·7·7·64
    assert 25_557_032 - 25_550_760 == (3 - 1) * 7 * 7 * 64
    doc = json.loads(run_cli("compare", "resnet50", "lenet5", "-i", "1x8x8", "-f", "json").stdout)
    assert "cannot take" in doc["models"][1]["error"] and "totals" not in doc["models"][1]


def test_cli_set_and_variant_apply_to_every_model(tmp_path):
    doc = json.loads(
        run_cli("compare", "resnet18", "resnet50", "--set", "num_classes=10", "-f", "json").stdout
    )
    r18, r50 = doc["models"]
    assert r18["output_shape"] == [10] and r50["output_shape"] == [10]
    assert r18["totals"]["params"] == 11_689_512 - (512 * 1000 + 1000) + (512 * 10 + 10)
    assert r50["totals"]["params"] == 25_557_032 - (2048 * 1000 + 1000) + (2048 * 10 + 10)
    assert doc["variables"] == {"num_classes": "10"}
    spec = (
        "input: [3, 8, 8]\nvariables: {{w: 4}}\nvariants: {{small: {{w: 4}}, big: {{w: 16}}}}\n"
        "layers:\n  - conv2d: {{out_channels: w, kernel_size: {k}}}\n"
    )
    (tmp_path / "a.yaml").write_text(spec.format(k=3))
    (tmp_path / "b.yaml").write_text(spec.format(k=1))
    p = run_cli("compare", "a.yaml", "b.yaml", "--variant", "big", "-f", "json", cwd=tmp_path)
    a, b = json.loads(p.stdout)["models"]
    assert a["totals"]["params"] == 3 * 3 * 3 * 16 + 16 and b["totals"]["params"] == 3 * 16 + 16
    assert a["label"] != b["label"]  # same model name ("big"), told apart by their files


def test_identical_names_are_told_apart_and_ratios_keep_3_digits():
    r = run_cli("compare", "resnet18", "resnet18", "lenet5")
    assert r.returncode == 0, r.stderr
    assert "resnet18 (2)" in r.stdout
    # lenet5 / resnet18: 61,706 / 11,689,512 = 0.00528; depth 5 / 18 = 0.278
    assert f"({61706 / 11689512:.3g}×)" in r.stdout and "(0.278×)" in r.stdout
    from cnncalc.render_compare import fmt_ratio

    assert fmt_ratio(0.3) == "0.300×" and fmt_ratio(0.207) == "0.207×"
    assert fmt_ratio(5.41) == "5.41×" and fmt_ratio(12.14) == "12.1×" and fmt_ratio(224) == "224×"


def test_rich_renderers_run(capsys):
    """The terminal path (rich) renders the same comparison; exercised here without a TTY."""
    from cnncalc import render_compare as rc
    from cnncalc.zoo import FAMILY_ALIASES, catalog

    c = cnncalc.compare(["resnet18", "resnet50"])
    for layout in ("columns", "rows"):
        rc.print_rich(c, layout, bars=True, stages=True)
        out = capsys.readouterr().out
        assert "resnet50" in out and "25,557,032" in out and "2048 @ 7×7" in out
    rc.print_list_rich([e for e in catalog() if e.family == "resnet"], FAMILY_ALIASES)
    assert "resnet152" in capsys.readouterr().out


def test_cli_html_report_keeps_a_failed_model_and_the_labels(tmp_path):
    out = tmp_path / "c.html"
    r = run_cli("compare", "resnet50", "lenet5", "resnet50", "--input", "1x8x8", "-o", str(out))
    assert r.returncode == 0, r.stderr  # the format comes from the extension
    html = out.read_text(encoding="utf-8")
    assert "lenet5: cannot take the input 1x8x8" in html and "resnet50 (2)" in html


def test_stages_of_channels_last_models_read_channels_first():
    """Swin-T holds its maps H×W×C ([56, 56, 96] after the patch embedding); its stages are
    still 56×56, 28×28, 14×14, 7×7 (224/4 … 224/32), and the widest channel count of each is
    the MLP's hidden width, 4·C with C = 96·2^i (Liu et al. 2021, Swin-T: C = 96, ratio 4)."""
    comp = cnncalc.compare(["swin_t", "resnet50"])
    swin = {s.key: s for s in comp.models[0].stages}
    for i, key in enumerate(("/4", "/8", "/16", "/32")):
        side = 224 // 2 ** (i + 2)
        assert swin[key].spatial == (side, side)
        assert swin[key].channels == 4 * 96 * 2**i
