"""`cnncalc verify` and the NumPy backend: the analyzer checked by execution.

* the registry contract: every registered layer class runs its forward on a case of the layer
  table, produces the analyzer's shape, and the weights it is given are exactly the declared
  ones (their element count = the analyzer's params + buffers);
* zoo specs verify (exit 0) with the allocated weights equal to the published counts;
* a wrong analyzer claim makes verify exit 3 with the "cnncalc bug" message;
* memory: the liveness-based estimate, and refusal above --max-memory;
* without numpy, verify says how to install it and exits 1.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import cnncalc
from cnncalc.backend.memory import estimate_memory, parse_size
from cnncalc.backend.run import allocate_weights, init_array
from cnncalc.backend.verify import BUG_MESSAGE
from cnncalc.errors import CnncalcError
from cnncalc.layers import REGISTRY
from cnncalc.layers.base import Layer, Weight, prod

from .conftest import ROOT, buffer_count, make_layer, param_count, run_cli
from .test_layers import CASES
from .test_layers_zoo import CASES as ZOO_CASES


def _all_cases() -> dict:
    return {**CASES, **ZOO_CASES}


def _cheapest_case_per_class() -> dict[str, tuple[str, object]]:
    """For each registered class, its cheapest row of the layer-case tables (read at run time,
    so layer types added by others are covered as soon as they have a row)."""
    best: dict[str, tuple[int, str, object]] = {}
    for cid, case in _all_cases().items():
        cls = REGISTRY.get(case.type)
        if cls is None:
            continue
        cost = case.macs + sum(prod(s) for s in case.inputs) + prod(case.out)
        if cls.__name__ not in best or cost < best[cls.__name__][0]:
            best[cls.__name__] = (cost, cid, case)
    return {k: (cid, case) for k, (_, cid, case) in best.items()}


def test_every_registered_class_has_a_forward_and_a_case_to_run():
    classes = {cls.__name__ for cls in REGISTRY.values()}
    no_forward = sorted(c.__name__ for c in set(REGISTRY.values()) if c.forward is Layer.forward)
    assert not no_forward, f"registered layer classes without a NumPy forward: {no_forward}"
    missing = sorted(classes - set(_cheapest_case_per_class()))
    assert not missing, f"no layer-table row to execute for: {missing}"


@pytest.mark.parametrize("cls_name", sorted({c.__name__ for c in REGISTRY.values()}))
def test_registry_contract_forward_shape_and_weights(cls_name):
    """The registry contract, for every registered class (whatever is registered at run time)."""
    cases = _cheapest_case_per_class()
    if cls_name not in cases:
        pytest.fail(f"{cls_name} has no row in the layer-case table")
    cid, case = cases[cls_name]
    layer = make_layer(case.type, case.args, *case.inputs)
    rng = np.random.default_rng(0)
    params = {w.name: init_array(rng, w, np.dtype("float32")) for w in layer.weights()}
    # the arrays are allocated from the declared shapes: their total is the analyzer's count
    assert sum(a.size for a in params.values()) == param_count(layer) + buffer_count(layer)
    assert param_count(layer) == case.params and buffer_count(layer) == case.buffers
    batch = 2
    xs = [rng.standard_normal((batch, *s)).astype(np.float32) for s in case.inputs]
    y = layer.forward(xs, params)
    # a layer without inputs (a free tensor) has a batch axis of 1, broadcast by its consumers
    want = (batch if case.inputs else 1, *case.out)
    assert tuple(y.shape) == want, f"{cid}: executed {y.shape[1:]}, table {case.out}"
    assert y.dtype == np.float32, f"{cid}: forward returned {y.dtype}"
    assert np.isfinite(y).all(), cid


# --------------------------------------------------------------------------------------------
# verify on zoo specs
# --------------------------------------------------------------------------------------------


def test_verify_cli_lenet5_agrees():
    p = run_cli("verify", "lenet5")
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert lines[-1].startswith("verify lenet5: OK: all 12 layers agree with the analyzer")
    # 61,706 = LeNet-5's published parameter count (LeCun et al. 1998 / REFERENCE.md)
    assert "allocated 61,706 params + 0 buffers = 61,706; analyzer 61,706 + 0 (equal)" in p.stdout
    assert any(
        line.startswith("c1") and "(6, 28, 28)" in line and line.endswith("ok") for line in lines
    )


def test_verify_cli_quiet_prints_only_failures_and_verdict():
    p = run_cli("verify", "mnist_cnn", "--quiet", "--batch", "3", "--seed", "7")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("weights:") and "OK" in lines[1]
    assert "batch 3, seed 7" in lines[1]


def test_verify_resnet18_weights_equal_published_count():
    """torchvision resnet18: 11,689,512 params; BN buffers 2 × (64 + 4·64 + (4·128 + 128) +
    (4·256 + 256) + (4·512 + 512)) = 2 × 4,800 = 9,600 running means and variances."""
    r = cnncalc.verify("resnet18", input_shape=(3, 64, 64), batch=2)
    assert r.ok, r.failures[:3]
    assert r.params_allocated == 11_689_512 == r.params_expected
    assert r.buffers_allocated == 2 * (64 + 4 * 64 + 5 * 128 + 5 * 256 + 5 * 512) == 9_600
    assert r.layers[-1].actual == (1000,) and r.batch == 2


@pytest.mark.parametrize("name", ["squeezenet1_1", "mobilenet_v2", "googlenet_aux"])
def test_verify_zoo_models_agree(name):
    r = cnncalc.verify(name, input_shape=(3, 96, 96))
    assert r.ok, [(c.name, c.message) for c in r.failures[:3]]
    assert r.allocated == r.params_expected + r.buffers_expected
    assert all(c.dtype == "float32" for c in r.layers)


def test_train_only_layers_are_verified_but_not_run():
    """An auxiliary head: verify executes (and checks) it; run() skips it as eval mode does."""
    spec = {
        "name": "aux",
        "input": [3, 16, 16],
        "layers": [
            {"conv2d": {"out_channels": 4, "kernel_size": 3}, "name": "c"},
            {"global_avg_pool": {}, "name": "aux_pool", "train_only": True},
            {"linear": {"out_features": 2}, "name": "aux_fc", "train_only": True},
            {"global_avg_pool": {}, "name": "pool", "input": "c"},
            {"linear": {"out_features": 3}, "name": "fc"},
        ],
        "outputs": ["fc"],
    }
    r = cnncalc.verify(spec)
    assert r.ok
    aux = [c for c in r.layers if c.train_only]
    assert [c.name for c in aux] == ["aux_pool", "aux_fc"] and aux[1].actual == (2,)
    # weights of the aux head are allocated too: (3·9 + 1)·4 + (4 + 1)·2 + (4 + 1)·3
    assert r.params_allocated == (3 * 9 + 1) * 4 + (4 + 1) * 2 + (4 + 1) * 3
    out, inter = cnncalc.run(spec, return_intermediates=True)
    assert out.shape == (1, 3) and "aux_fc" not in inter and "fc" in inter


def test_shared_weights_use_the_owners_arrays():
    spec = {
        "name": "siamese",
        "input": [8],
        "layers": [
            {"linear": {"out_features": 8}, "name": "a"},
            {"relu": None, "name": "r"},
            {"linear": {"out_features": 8}, "name": "b", "share": "a"},
        ],
    }
    g = cnncalc.build(spec)
    w = allocate_weights(g)
    assert w.arrays["b"]["weight"] is w.arrays["a"]["weight"]
    assert w.params == 8 * 8 + 8  # counted once
    x = np.random.default_rng(1).standard_normal((2, 8)).astype(np.float32)
    out, inter = cnncalc.run(g, x, weights=w, return_intermediates=True)
    W, b = w.arrays["a"]["weight"], w.arrays["a"]["bias"]
    np.testing.assert_allclose(out, np.maximum(x @ W.T + b, 0) @ W.T + b, rtol=1e-5, atol=1e-6)
    assert cnncalc.verify(spec).ok


def test_run_returns_output_and_intermediates():
    x = np.random.default_rng(0).standard_normal((2, 1, 32, 32)).astype(np.float32)
    out = cnncalc.run("lenet5", x)
    assert out.shape == (2, 10)
    out2, inter = cnncalc.run("lenet5", x, return_intermediates=True)
    np.testing.assert_array_equal(out, out2)  # same seed, same weights
    assert list(inter)[:3] == ["c1", "tanh_1", "s2"] and inter["output"] is out2
    np.testing.assert_allclose(inter["tanh_1"], np.tanh(inter["c1"]), rtol=1e-6)
    assert not np.array_equal(cnncalc.run("lenet5", x, seed=1), out)
    with pytest.raises(CnncalcError, match=r"add the batch axis with x\[None\]"):
        cnncalc.run("lenet5", x[0])


def test_progress_callback_sees_every_layer():
    seen = []
    r = cnncalc.verify("lenet5", progress=lambda done, total, name: seen.append((done, total)))
    assert seen == [(i, 12) for i in range(0, 13)] and r.ok  # 0: allocating the weights


# --------------------------------------------------------------------------------------------
# Disagreement = a cnncalc bug: exit 3
# --------------------------------------------------------------------------------------------

SPEC = """\
name: tiny
input: [3, 12, 12]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
    name: conv
  - maxpool2d: {kernel_size: 2}
    name: pool
  - global_avg_pool
  - linear: {out_features: 5}
    name: fc
"""


def test_wrong_shape_claim_is_reported(monkeypatch, tmp_spec):
    from cnncalc.layers import pool

    real = pool._Pool.infer
    monkeypatch.setattr(
        pool._Pool, "infer", lambda self, s: (*real(self, s)[:-1], real(self, s)[-1] + 1)
    )
    r = cnncalc.verify(str(tmp_spec(SPEC)))
    assert not r.ok
    bad = r.failures
    assert bad[0].name == "pool" and bad[0].status == "mismatch"
    assert bad[0].expected == (4, 6, 7) and bad[0].actual == (4, 6, 6)
    assert "analyzer says (4, 6, 7), execution gives (4, 6, 6)" in bad[0].message
    assert all(c.status == "skipped" for c in bad[1:]) and r.layers[0].ok


def _run_patched(code: str, *args: str) -> subprocess.CompletedProcess:
    prog = textwrap.dedent(code) + "\nfrom cnncalc.cli import main\nmain(sys.argv[1:])\n"
    return subprocess.run(
        [sys.executable, "-c", "import sys\n" + prog, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_wrong_shape_claim_exits_3_with_bug_message(tmp_spec):
    path = tmp_spec(SPEC)
    p = _run_patched(
        """
        from cnncalc.layers import pool
        real = pool._Pool.infer
        pool._Pool.infer = lambda self, s: (*real(self, s)[:-1], real(self, s)[-1] + 1)
        """,
        "verify",
        str(path),
    )
    assert p.returncode == 3, p.stdout + p.stderr
    assert "MISMATCH: analyzer says (4, 6, 7), execution gives (4, 6, 6)" in p.stdout
    last = p.stdout.splitlines()[-1]
    assert last.startswith(
        "verify tiny: FAILED: 1 of 4 layers disagree with the analyzer (first: 'pool': analyzer "
        "says (4, 6, 7), execution gives (4, 6, 6)), 2 not run (they depend on it);"
    )
    assert "SKIPPED: input 'pool' failed" in p.stdout
    assert "this is a cnncalc bug" in last and BUG_MESSAGE in last


def test_wrong_parameter_count_exits_3(tmp_spec, monkeypatch):
    """If the analyzer counted one element more per weight than it declares, allocation shows it."""
    monkeypatch.setattr(Weight, "size", property(lambda w: prod(w.shape) + 1))
    r = cnncalc.verify(str(tmp_spec(SPEC)))
    assert not r.weights_ok and not r.failures and not r.ok
    assert r.params_expected == r.params_allocated + 4  # conv weight, conv bias, fc weight, fc bias


# --------------------------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------------------------


def test_memory_estimate_frees_after_last_use():
    """A chain of 5 ReLUs on (4, 8, 8) = 256 elements: at each layer only its input, its output
    and one output-sized temporary are alive, so the peak is 3 · 256 · 4 bytes, not 6 · 256 · 4."""
    spec = {"name": "chain", "input": [4, 8, 8], "layers": ["relu"] * 5}
    est = estimate_memory(cnncalc.build(spec))
    assert est.activation_peak_bytes == 3 * 256 * 4
    assert est.weight_bytes == 0
    # a skip connection keeps the input alive until the add: input + 2 live + out + temp
    spec = {
        "name": "skip",
        "input": [4, 8, 8],
        "layers": ["relu", "relu", {"add": None, "inputs": ["input", "relu_2"]}],
    }
    assert estimate_memory(cnncalc.build(spec)).activation_peak_bytes == 4 * 256 * 4


def test_memory_refusal_cli():
    p = run_cli("verify", "resnet50", "--max-memory", "1M")
    assert p.returncode == 1
    assert "more than the memory budget of 1.00 MiB" in p.stderr
    assert "weights 97.69 MiB" in p.stderr  # (25,557,032 + 53,120) · 4 bytes
    assert p.stdout == ""


def test_memory_refusal_library_and_sizes():
    with pytest.raises(CnncalcError, match="memory budget"):
        cnncalc.verify("lenet5", max_memory=1000)
    assert parse_size("2G") == 2 * 1024**3
    assert parse_size("1.5GiB") == 3 * 1024**3 // 2
    assert parse_size("512m") == 512 * 1024**2
    with pytest.raises(CnncalcError, match="cannot read the memory size 'lots'"):
        parse_size("lots")
    p = run_cli("verify", "lenet5", "--max-memory", "lots")
    assert p.returncode == 1 and "cannot read the memory size" in p.stderr


def test_bad_spec_exits_1():
    p = run_cli("verify", "no_such_model_xyz")
    assert p.returncode == 1 and p.stderr.startswith("error:")


# --------------------------------------------------------------------------------------------
# Without numpy
# --------------------------------------------------------------------------------------------

NO_NUMPY = """
import builtins
_real = builtins.__import__
def _no_numpy(name, *args, **kwargs):
    if name == "numpy" or name.startswith("numpy."):
        raise ImportError("No module named 'numpy'")
    return _real(name, *args, **kwargs)
builtins.__import__ = _no_numpy
for m in [m for m in sys.modules if m == "numpy" or m.startswith("numpy.")]:
    del sys.modules[m]
"""


def test_without_numpy_verify_says_how_to_install():
    p = _run_patched(NO_NUMPY, "verify", "lenet5")
    assert p.returncode == 1, p.stdout + p.stderr
    assert 'pip install "cnncalc[numpy]"' in p.stderr
    assert "needs numpy" in p.stderr and "Traceback" not in p.stderr


def test_without_numpy_summary_still_works():
    p = _run_patched(NO_NUMPY, "summary", "lenet5")
    assert p.returncode == 0, p.stderr
    assert "61,706" in p.stdout
