"""The analyzer computes receptive fields, warnings and the memory estimate on first read
(cnncalc.analysis): a lazily computed report must read exactly like an eagerly computed one,
whatever is read first, in every output form (to_dict / JSON, rows, pickling)."""

from __future__ import annotations

import json
import pickle

import pytest

from cnncalc.analysis import analyze_graph
from cnncalc.checks import check_graph
from cnncalc.graph import build_graph
from cnncalc.receptive import receptive_fields
from cnncalc.report import Deferred, PendingField
from cnncalc.zoo import zoo_members

MEMBERS = [m for m in zoo_members() if m.spec is not None]
# every 3rd member, and models with transposed windows (cae, unet), merges and warnings
EXTRA = ("cae", "unet", "vgg16", "inception_v3", "googlenet_aux", "alexnet", "yolov1")
SAMPLE = [m for i, m in enumerate(MEMBERS) if i % 3 == 0 or m.name in EXTRA]


def _pair(m, **kw):
    lazy = analyze_graph(build_graph(m.spec, m.variant), **kw)
    eager = analyze_graph(build_graph(m.spec, m.variant), lazy=False, **kw)
    return lazy, eager


@pytest.mark.parametrize("m", SAMPLE, ids=[m.name for m in SAMPLE])
def test_lazy_report_reads_like_eager(m):
    lazy, eager = _pair(m)
    # nothing computed yet on the lazy side, everything on the eager side
    assert type(lazy.__dict__["warnings"]) is Deferred
    assert type(lazy.__dict__["memory"]) is Deferred
    assert type(tuple.__getitem__(lazy.rows[0], 15)) is PendingField
    assert type(eager.__dict__["warnings"]) is tuple
    assert json.dumps(lazy.to_dict()) == json.dumps(eager.to_dict())
    assert lazy == eager
    assert lazy.rows == eager.rows


def test_lazy_values_equal_the_passes_run_directly():
    m = next(m for m in MEMBERS if m.name == "resnet50")
    graph = build_graph(m.spec, m.variant)
    report = analyze_graph(graph)
    rfs = receptive_fields(graph)
    # read in reverse order: the first read computes every row's field
    for row in reversed(report.rows):
        rf = rfs[row.name]
        assert row.receptive_field == (None if rf is None else rf.to_dict())
    warnings = check_graph(graph, {r.name: r.params for r in report.rows})
    assert report.warnings == tuple(w.to_dict() for w in warnings)
    # VGG-style check by hand: conv1 of ResNet-50 is 7×7 stride 2 padding 3 on the input
    assert report.rows[0].receptive_field == {"size": [7, 7], "jump": [2, 2], "start": [-3, -3]}


def test_pending_rows_compare_hash_pickle_and_print_as_values():
    m = next(m for m in MEMBERS if m.name == "resnet50")
    lazy, eager = _pair(m)
    a, b = lazy.rows[3], eager.rows[3]
    assert a == b and b == a
    assert repr(a) == repr(b)
    assert a._asdict() == b._asdict()
    assert pickle.loads(pickle.dumps(lazy.rows[3])) == b
    assert type(tuple.__getitem__(pickle.loads(pickle.dumps(a)), 15)) is dict
    flat = next(r for r in lazy.rows if r.receptive_field is None)  # after flatten: no field
    assert flat.receptive_field is None


def test_memory_of_a_lazy_report_equals_eager_in_every_convention():
    m = next(m for m in MEMBERS if m.name == "mobilenet_v2")
    for kw in ({"batch": 8}, {"dtype": "float16"}, {"convention": "keras"}):
        lazy, eager = _pair(m, **kw)
        assert lazy.memory == eager.memory
        assert lazy.memory.to_dict() == eager.memory.to_dict()


def test_a_lazy_report_pickles_and_copies_as_the_eager_one():
    import copy

    m = next(m for m in MEMBERS if m.name == "vgg16")
    lazy, eager = _pair(m)
    back = pickle.loads(pickle.dumps(lazy))
    assert back == eager
    assert json.dumps(back.to_dict()) == json.dumps(eager.to_dict())
    assert copy.deepcopy(_pair(m)[0]).to_dict() == eager.to_dict()
