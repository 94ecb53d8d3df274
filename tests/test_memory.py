"""Memory: liveness peak by hand on small graphs, the training estimate as arithmetic, and the
NumPy backend's actually-held arrays against the inference-peak estimate."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.memory import liveness_peak

from .conftest import run_cli

CHAIN = {
    "name": "chain",
    "input": [1, 8, 8],
    "layers": [
        {"conv2d": {"out_channels": 4, "kernel_size": 3, "padding": 1}, "name": "a"},  # 4·8·8
        {"maxpool2d": {"kernel_size": 2}, "name": "b"},  # 4·4·4
        {"conv2d": {"out_channels": 2, "kernel_size": 1}, "name": "c"},  # 2·4·4
    ],
}

BRANCH = {
    "name": "branch",
    "input": [2, 6, 6],
    "layers": [
        {"conv2d": {"out_channels": 4, "kernel_size": 1}, "name": "stem"},  # 144
        {"conv2d": {"out_channels": 4, "kernel_size": 3, "padding": 1}, "name": "x"},  # 144
        {"relu": None, "name": "y"},  # 144
        {"add": None, "inputs": ["stem", "y"], "name": "s"},  # 144
        {"global_avg_pool": None, "name": "g"},  # 4
    ],
}


def test_chain_peak_by_hand():
    # step a: input 64 + a 256 = 320; step b: a 256 + b 64 (input freed) = 320; c: 64 + 32
    assert liveness_peak(cnncalc.build(CHAIN)) == (1 * 8 * 8 + 4 * 8 * 8, "a")


def test_branch_keeps_the_skip_alive():
    # at 'y' and at 's': stem (held for the add) + two more 144-element maps
    peak, at = liveness_peak(cnncalc.build(BRANCH))
    assert (peak, at) == (3 * 4 * 6 * 6, "y")


def test_memory_totals_dtype_batch_and_training():
    r = cnncalc.analyze(CHAIN, batch=2, dtype="float16")
    m = r.memory
    params = (3 * 3 * 1 + 1) * 4 + (1 * 1 * 4 + 1) * 2
    acts = 4 * 8 * 8 + 4 * 4 * 4 + 2 * 4 * 4
    assert m.activation_bytes == acts * 2 * 2
    assert m.peak_inference_bytes == (64 + 256) * 2 * 2
    assert m.weights_bytes == params * 2
    saved = (64 + acts) * 2 * 2
    work = 2 * 256 * 2 * 2
    assert m.training_bytes("sgd") == params * 2 * 2 + saved + work
    assert m.training_bytes("adam") == params * 2 * 4 + saved + work
    d = r.to_dict()["memory"]
    assert d["training"]["total_bytes"]["momentum"] == params * 2 * 3 + saved + work


def _held_peak(graph, batch: int) -> int:
    """Largest total of array bytes the executor holds after any layer (views counted once)."""
    import weakref

    import numpy as np

    from cnncalc.backend.run import allocate_weights, execute

    weights = allocate_weights(graph)
    ((name, shape),) = graph.inputs.items()
    feeds = {name: np.ones((batch, *shape), dtype=np.float32)}
    refs = [weakref.ref(feeds[name])]
    peak = [0]

    def keep(node, y):
        feeds.clear()  # the executor holds the input now; let it free it
        refs.append(weakref.ref(y))
        return None

    def measure(i, total, outcome):
        bases = {}
        for r in refs:
            a = r()
            if a is not None:
                b = a if a.base is None else a.base
                bases[id(b)] = b.nbytes
        peak[0] = max(peak[0], sum(bases.values()))

    execute(graph, feeds, weights, check=keep, on_node=measure)
    return peak[0]


def test_backend_holds_what_the_estimate_says():
    pytest.importorskip("numpy")
    try:
        import cnncalc.backend.run  # noqa: F401
    except ImportError:
        pytest.skip("NumPy backend not available")
    for spec in (CHAIN, BRANCH):
        graph = cnncalc.build(spec)
        est = cnncalc.analyze(graph, batch=3).memory.peak_inference_bytes
        assert _held_peak(graph, 3) == est, spec["name"]


def test_vgg16_forward_activations_order_of_cs231n():
    # cs231n counts ~24 M activations (~93 MB) with ReLU in place; we keep every output
    # (ReLU and dropout included), so the count is higher but of that order.
    m = cnncalc.analyze("vgg16").memory
    assert 24e6 * 4 < m.activation_bytes < 2 * 24e6 * 4


def test_summary_shows_memory_lines_and_optimizer():
    r = run_cli("summary", "lenet5", "--optimizer", "sgd")
    assert "Peak activations:" in r.stdout and "Training (sgd):" in r.stdout
    r = run_cli("summary", "lenet5", "--optimizer", "adamw")
    assert r.returncode == 2 and "unknown optimizer 'adamw'" in r.stderr
