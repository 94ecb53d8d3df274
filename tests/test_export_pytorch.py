"""The PyTorch export: every layer type has a form or is refused, the written file is plain
torch code that passes ruff, and the model it builds has the analyzer's shapes and counts."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cnncalc
from cnncalc.errors import CnncalcError
from cnncalc.export import onnx as onnx_export
from cnncalc.export import pytorch
from cnncalc.layers import REGISTRY
from cnncalc.zoo import zoo_members

from .conftest import ROOT, run_cli

ZOO = [m.name for m in zoo_members()]


def _refused_types(name: str) -> set[str]:
    return {n.type for n in cnncalc.build(name).nodes if n.type in pytorch.REFUSED}


#: the zoo models whose specs use a type with no PyTorch form (detection's roi_align, and the
#: window attentions added to the registry after the exporter)
REFUSED_ZOO = {n: t for n in ZOO if (t := _refused_types(n))}

EXPORTABLE = [n for n in ZOO if n not in REFUSED_ZOO]


def _load(source: str, tmp_path: Path, name: str = "exported") -> object:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_both(graph, model, dtype: str = "float32"):
    """The exported model and the NumPy forward on the same seeded weights and batch-2 input:
    (the weights, torch's outputs, the NumPy outputs by layer name)."""
    import torch

    from cnncalc.backend.run import allocate_weights, execute, random_inputs

    weights = allocate_weights(graph, seed=3, dtype=dtype)
    if dtype == "float64":
        model = model.double()
    model.load_state_dict(_state_dict(graph, weights, model), strict=True)
    feeds = random_inputs(graph, batch=2, seed=5, dtype=dtype)
    with torch.no_grad():
        got = model(torch.from_numpy(feeds["input"]))
    return weights, got, execute(graph, feeds, weights)


def _state_dict(graph, weights, model) -> dict:
    """The NumPy backend's weights as a state dict at the paths of the modules that compute the
    layers (the layers' names; a namespace of applications of one module is that module) (a
    layer sharing another's weights has none of its own: its arrays are its owner's)."""
    import numpy as np
    import torch

    path = {
        n: p
        for (p, k), names in pytorch.module_calls(graph, dict(model.named_modules())).items()
        if k is None
        for n in names
    }
    return {
        f"{path.get(n, n)}.{w}": torch.from_numpy(np.ascontiguousarray(a))
        for n, arrays in weights.arrays.items()
        if graph.by_name[n].share is None
        for w, a in arrays.items()
    }


# --------------------------------------------------------------------------------------------
# The table covers the registry
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table, refused",
    [(pytorch.PYTORCH, pytorch.REFUSED), (onnx_export.ONNX, onnx_export.REFUSED)],
    ids=["pytorch", "onnx"],
)
def test_every_registered_type_exports_or_is_listed_as_refused(table, refused):
    """A new layer type cannot be forgotten: it needs a writer or a stated reason."""
    assert set(table) | set(refused) == set(REGISTRY), set(REGISTRY) ^ (set(table) | set(refused))
    assert not set(table) & set(refused)
    assert all(reason for reason in refused.values())


def test_every_pytorch_form_builds_from_the_layer_cases():
    """Each writer runs on the built layers of the layer-case table (tests/test_layers.py)."""
    from .conftest import make_layer
    from .test_layers import CASES

    seen = set()
    for case in CASES.values():
        if case.type in pytorch.REFUSED:
            continue
        layer = make_layer(case.type, case.args, *case.inputs)
        try:
            form = pytorch.PYTORCH[case.type](layer)
        except pytorch.Unsupported:
            continue
        assert form.ctor and all(h in pytorch.HELPERS for h in form.helpers)
        seen.add(case.type)
    assert len(seen) >= 40


ASYMMETRIC_UP = """\
name: asym
input: [4, 8, 8]
layers:
  - conv_transpose2d: {out_channels: 2, kernel_size: 3, stride: 2, padding: [[0, 1], [1, 0]]}
    name: up
  - conv_transpose2d: {out_channels: 2, kernel_size: 3, stride: 2, padding: [[1, 0], [0, 1]]}
    name: up2
"""


def test_every_zoo_model_exports_to_pytorch():
    """Nothing is refused by type any more: the R-CNNs' roi_align has a plain-torch form."""
    assert pytorch.REFUSED == {} and REFUSED_ZOO == {}
    assert {"maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn"} <= set(EXPORTABLE)


def test_a_spec_with_unexportable_layers_is_refused_naming_them_all(tmp_spec):
    """A transposed conv with asymmetric padding has no nn.ConvTranspose2d form."""
    with pytest.raises(CnncalcError) as exc:
        pytorch.to_pytorch(cnncalc.build(tmp_spec(ASYMMETRIC_UP)))
    msg = str(exc.value)
    assert "cannot export asym to PyTorch: conv_transpose2d (asymmetric padding" in msg
    assert "up, up2" in msg


def test_cli_refusal_exits_1_with_one_line(tmp_spec):
    p = run_cli("export", str(tmp_spec(ASYMMETRIC_UP)), "--to", "pytorch")
    assert p.returncode == 1
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "asymmetric padding" in lines[0] and "up2" in lines[0] and "Traceback" not in p.stderr


def test_cli_output_file_exists_needs_force(tmp_path):
    out = tmp_path / "m.py"
    out.write_text("keep me")
    p = run_cli("export", "lenet5", "--to", "pytorch", "-o", str(out))
    assert p.returncode == 1 and "exists" in p.stderr and "--force" in p.stderr
    assert out.read_text() == "keep me"
    p = run_cli("export", "lenet5", "--to", "pytorch", "-o", str(out), "--force")
    assert p.returncode == 0, p.stderr
    assert "class Model(nn.Module)" in out.read_text()
    assert f"wrote {out}" in p.stderr


def test_cli_unknown_target_and_onnx_without_output():
    p = run_cli("export", "lenet5", "--to", "keras")
    assert p.returncode == 1 and "unknown export target 'keras'" in p.stderr
    p = run_cli("export", "lenet5", "--to", "onnx")
    assert p.returncode == 1 and "-o" in p.stderr


# --------------------------------------------------------------------------------------------
# The written file: plain torch, ruff-clean, safe from hostile names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPORTABLE)
def test_written_file_imports_only_torch_and_parses(name):
    source = pytorch.to_pytorch(cnncalc.build(name))
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "typing", "collections", "torch"}, imported
    funcs = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert funcs == ["build"]  # the file ends with build()
    assert isinstance(tree.body[-1], ast.FunctionDef)


def test_written_files_pass_ruff(tmp_path):
    """`ruff check` with its default rules, on every exportable zoo model's file."""
    for name in EXPORTABLE:
        (tmp_path / f"{name}.py").write_text(pytorch.to_pytorch(cnncalc.build(name)))
    p = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stdout + p.stderr


HOSTILE = "\n".join(
    [
        'name: \'x"""  import os\'',
        "input: [3, 8, 8]",
        "blocks:",
        '  \'b"""\':',
        "    params: {'c\"': 4}",
        "    layers:",
        "      - conv2d: {out_channels: 4, kernel_size: 1}",
        "        name: 'q\"+print(1)+\"'",
        "      - relu:",
        '        name: "a\'b"',
        "layers:",
        '  - \'b"""\':',
        "    name: 'bl\"'",
        "    repeat: 2",
        "  - flatten",
    ]
)


def test_hostile_names_stay_strings(tmp_path, tmp_spec):
    """Spec names reach the file only as identifiers or quoted strings: nothing runs."""
    try:
        graph = cnncalc.build(str(tmp_spec(HOSTILE)))
    except CnncalcError:
        pytest.skip("the spec language refuses these names already")
    source = pytorch.to_pytorch(graph)
    tree = ast.parse(source)
    calls = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    assert "print" not in calls
    assert not any(
        isinstance(n, (ast.Import, ast.ImportFrom)) and "os" in ast.dump(n) for n in tree.body
    )


# --------------------------------------------------------------------------------------------
# Running the written model (torch)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPORTABLE)
def test_state_dict_holds_the_analyzers_parameters_and_buffers(name, tmp_path):
    """On the meta device (no memory): parameters + buffers (without BN's num_batches_tracked,
    which the analyzer does not count, as torchvision's tables do not) equal the analyzer's."""
    torch = pytest.importorskip("torch", reason="the PyTorch export's tests need torch")
    graph = cnncalc.build(name)
    module = _load(pytorch.to_pytorch(graph), tmp_path)
    with torch.device("meta"):
        model = module.build()
    report = cnncalc.analyze(graph, convention="pytorch")  # torch: BN statistics are buffers
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(
        b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked")
    )
    assert (params, buffers) == (report.totals.params, report.totals.buffers)
    keys = set(model.state_dict())
    # every declared weight of a conv/linear/BN sits at its spec name, or where a namespace of
    # applications of one module (RetinaNet's head.p3 … head.p7) is that module: at the module
    # that computes it (head.classification_head.cls_logits)
    path = {
        n: p
        for (p, k), names in pytorch.module_calls(graph, dict(model.named_modules())).items()
        if k is None
        for n in names
    }
    for node in graph.nodes:
        if node.type in ("conv2d", "linear", "batchnorm2d") and node.share is None:
            for w in node.layer.weights():
                assert f"{path[node.name]}.{w.name}" in keys
                # the spec's name, or it less one part: the application's (head.p3)
                parts = node.name.split(".")
                less = {".".join(parts[:i] + parts[i + 1 :]) for i in range(1, len(parts))}
                assert path[node.name] in {node.name} | less


def test_build_takes_the_spec_variables_used_as_arguments(tmp_path):
    pytest.importorskip("torch", reason="the PyTorch export's tests need torch")
    module = _load(pytorch.to_pytorch(cnncalc.build("resnet18")), tmp_path)
    assert module.build().fc.out_features == 1000  # the spec's value is the default
    assert module.build(num_classes=10).fc.out_features == 10


@pytest.mark.parametrize(
    "name, shape",
    [
        ("lenet5", None),
        ("mnist_cnn", None),
        ("cae", None),
        ("resnet18", "3x64x64"),
        ("googlenet_aux", "3x112x112"),
        ("inception_v3", "3x299x299"),
        ("efficientnet_b0_keras", "3x64x64"),
        ("xception", "3x96x96"),
        ("densenet121", "3x64x64"),
        ("squeezenet1_1", "3x64x64"),
        ("mobilenet_v2", "3x64x64"),
        ("unet", "1x188x188"),
        # dotted names that branch, chunk and channel shuffle, a bare parameter in a class
        ("efficientnet_v2_s", "3x64x64"),
        ("regnet_y_400mf", "3x64x64"),
        ("mobilenet_v3_small", "3x64x64"),
        ("shufflenet_v2_x0_5", "3x64x64"),
        ("vit_b_32", "3x64x64"),
    ],
)
def test_verify_backend_torch_agrees(name, shape):
    pytest.importorskip("torch", reason="--backend torch needs torch")
    r = cnncalc.verify(name, shape, backend="torch", seed=1)
    assert r.ok, [c for c in r.layers if not c.ok][:3]
    assert r.backend == "torch" and all(c.actual is not None for c in r.layers)


def test_verify_torch_disagreement_exits_3():
    """A wrong PyTorch form (relu written as a 2×2 max pool) is caught layer by layer."""
    pytest.importorskip("torch", reason="--backend torch needs torch")
    code = (
        "import sys\n"
        "from cnncalc.export import pytorch\n"
        "pytorch.PYTORCH['tanh'] = lambda layer: pytorch.Form('nn.MaxPool2d', [(None, 2)])\n"
        "from cnncalc.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, "verify", "lenet5", "--backend", "torch", "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert p.returncode == 3, p.stdout + p.stderr
    assert "MISMATCH: analyzer says (6, 28, 28), torch gives (6, 14, 14)" in p.stdout
    last = p.stdout.splitlines()[-1]
    assert last.startswith("verify lenet5: FAILED: 5 of 12 layers disagree with the analyzer")
    assert "(first: 'tanh_1': analyzer says (6, 28, 28), torch gives (6, 14, 14))" in last
    assert "the analyzer and the exported model run by torch disagree" in last
    assert "6 not run (they depend on it)" in last
    assert "ERROR: torch: RuntimeError" in p.stdout  # s4 then pools a 1×1 map: torch raises


def _pty(args: list[str], columns: int = 80) -> tuple[int, str]:
    """Run ``python -m cnncalc ARGS`` in a pseudo-terminal of ``columns`` columns, colour on."""
    import pty
    import select
    import struct

    try:
        import fcntl
        import termios
    except ImportError:  # pragma: no cover
        pytest.skip("no pty here")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    env.update(TERM="xterm-256color", FORCE_COLOR="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnncalc", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 300)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=300)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


def test_terminal_export_and_verify_at_80_columns(tmp_path):
    pytest.importorskip("torch", reason="--backend torch needs torch")
    out = tmp_path / "lenet5.py"
    rc, text = _pty(["export", "lenet5", "--to", "pytorch", "-o", str(out)])
    assert rc == 0 and f"wrote {out}" in text and out.exists()
    rc, text = _pty(["verify", "lenet5", "--backend", "torch"])
    assert rc == 0, text
    lines = [ln for ln in text.replace("\r", "").splitlines() if ln]
    assert lines[-1].startswith("verify lenet5: OK: all 12 layers agree with the analyzer")
    assert "c1  " in text and "conv2d" in text


def _verified_in_a_terminal(name: str, sets: list[str]) -> list[str]:
    """``cnncalc verify NAME --backend torch --set …`` in a pty: exit 0, the last line says every
    layer agrees; the visible lines (escapes and carriage returns removed)."""
    args = ["verify", name, "--backend", "torch", *(a for s in sets for a in ("--set", s))]
    rc, text = _pty(args)
    assert rc == 0, text
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text.replace("\r", ""))
    lines = [ln for ln in plain.splitlines() if ln]
    layers = len(cnncalc.build(name).nodes)
    assert lines[-1].startswith(f"verify {name}: OK: all {layers} layers agree with the analyzer")
    return lines


def test_terminal_verify_of_a_detector_with_holders_at_80_columns():
    """What a person sees: RetinaNet (FPN holders, the head called per level) verified with
    torch in a terminal, every layer ok, the applications of the one head module each a row."""
    pytest.importorskip("torch", reason="--backend torch needs torch")
    lines = _verified_in_a_terminal("retinanet_resnet50_fpn", ["height=128", "width=128"])
    for row in ("backbone.fpn.merge.0", "head.p7.regression_head.bbox_reg"):
        assert any(ln.startswith(row) and ln.rstrip().endswith("ok") for ln in lines), row
    # P7 of a 128 × 128 image: 128 / 2**7 = 1; 9 anchors × 4 box deltas
    assert any(
        ln.startswith("head.p7.regression_head.bbox_reg") and "(36, 1, 1)" in ln for ln in lines
    )


def test_one_class_per_block_parameterised_as_in_the_spec():
    """ResNet-50's 16 bottlenecks are one class taking the block's parameters; the shortcut,
    skipped by `when: downsample` in 12 of them, is an optional member decided by that flag."""
    source = pytorch.to_pytorch(cnncalc.build("resnet50"))
    assert source.count("class Bottleneck") == 1
    assert '"""Block \'bottleneck\' of the spec (16 uses)."""' in source
    assert (
        "def __init__(self, in_channels: int, planes: int, stride: int, downsample: bool)" in source
    )
    assert "self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)" in source  # expansion 4
    assert ") if downsample else None" in source
    assert "downsample = self.downsample(x) if self.downsample is not None else x" in source
    assert "class Shortcut(nn.Sequential):" in source  # layers named 0, 1: torchvision's form
    # repeat: nn.Sequential, identical instances once as a generator (layer3: 1 + 5)
    flat = re.sub(r"\s+", "", source).replace(",)", ")")
    assert (
        "*(Bottleneck(in_channels=1024,planes=256,stride=1,downsample=False)for_inrange(5))" in flat
    )


def test_build_offers_only_variables_it_can_pass_through():
    """EfficientNet's stem width also sizes the next layers (written as numbers in the file), so
    only num_classes is a build() parameter; the file states the rest were fixed."""
    source = pytorch.to_pytorch(cnncalc.build("efficientnet_b0"))
    assert "def build(num_classes: int = 1000) -> Model:" in source
    assert "fixed when this file was written" in source


@pytest.mark.parametrize(
    "blocked, args, says",
    [
        ("torch", ["verify", "lenet5", "--backend", "torch"], 'pip install "cnncalc[torch]"'),
        (
            "onnxruntime",
            ["verify", "lenet5", "--backend", "onnxruntime"],
            'pip install "cnncalc[onnxruntime]"',
        ),
        (
            "onnx",
            ["export", "lenet5", "--to", "onnx", "-o", "x.onnx"],
            'pip install "cnncalc[onnx]"',
        ),
    ],
)
def test_missing_extra_is_one_line_with_the_install_command(blocked, args, says, tmp_path):
    code = (
        "import sys\n"
        f"sys.modules[{blocked!r}] = None  # as if not installed\n"
        "from cnncalc.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert p.returncode == 1, p.stdout + p.stderr
    assert says in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "x.onnx").exists()


def test_weights_shared_outside_the_scope_are_refused_naming_the_layers(tmp_spec):
    """x.0 shares a's weights from inside the namespace x: no sibling module to call."""
    path = tmp_spec(
        "name: shared\ninput: [4, 8, 8]\nlayers:\n"
        "  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n    name: a\n"
        "  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n    name: x.0\n"
        "    share: a\n"
        "  - relu:\n    name: x.1\n"
    )
    with pytest.raises(CnncalcError) as exc:
        pytorch.to_pytorch(cnncalc.build(str(path)))
    assert "layers sharing the weights of a layer outside their scope ('share'): x.0" in str(
        exc.value
    )


SHARED = ROOT / "tests" / "fixtures" / "specs" / "shared_weights.yaml"


def test_shared_weights_are_one_module_called_at_each_place(tmp_path):
    """b shares a's conv: no module of its own, the forward calls a's. head.p1 (a block
    instance) shares head.p0's, and the namespace head holds nothing else: head is the one
    module (keys head.conv.weight, as torchvision's RetinaNet head), called for p0 and p1.
    Parameters once, by hand: stem 3*4*9+4, a 4*4*9+4, the unit's conv 4*4*9+4 and proj 4*4+4;
    the file computes what the NumPy backend does."""
    pytest.importorskip("torch", reason="needs torch")
    import numpy as np

    graph = cnncalc.build(str(SHARED))
    source = pytorch.to_pytorch(graph)
    assert "b = self.a(a_act)" in source
    assert "head_p0 = self.head(a_act)" in source and "head_p1 = self.head(b)" in source
    assert source.count("self.head = Unit()") == 1
    model = _load(source, tmp_path, "shared_weights").build().eval()
    expected = (3 * 4 * 9 + 4) + (4 * 4 * 9 + 4) + (4 * 4 * 9 + 4) + (4 * 4 + 4)
    params = sum(p.numel() for p in model.parameters())
    assert params == expected == cnncalc.analyze(graph).totals.params
    convs = ["stem", "a", "head.conv", "head.proj"]
    assert set(model.state_dict()) == {f"{n}.{w}" for n in convs for w in ("weight", "bias")}
    weights, got, want = _run_both(graph, model)
    assert weights.arrays["b"]["weight"] is weights.arrays["a"]["weight"]  # one array, shared
    np.testing.assert_allclose(got.numpy(), want["out"], rtol=1e-5, atol=1e-6)
    # --backend torch: the owner's module, called once per node it stands for, checks each
    report = cnncalc.verify(graph, backend="torch")
    assert report.ok and [c.status for c in report.layers] == ["ok"] * len(graph.nodes)


HOLDERS = ROOT / "tests" / "fixtures" / "specs" / "holders.yaml"


def test_holders_are_called_member_by_member_in_graph_order(tmp_path):
    """Namespaces that are no unit: fpn.inner and fpn.outer interleave with fpn.up and
    fpn.merge (nn.ModuleList), side.a and side.b read each other across a layer outside them and
    pred.cls, pred.box read one map in parallel (nn.ModuleDict); head.p1 shares head.p0's
    weights, so head is that one module. The keys and parameters by hand, and the outputs are
    what the NumPy backend computes with its weights."""
    pytest.importorskip("torch", reason="needs torch")
    import numpy as np

    graph = cnncalc.build(str(HOLDERS))
    source = pytorch.to_pytorch(graph)
    assert "self.inner = nn.ModuleList([nn.Conv2d(8, 4, 1), nn.Conv2d(8, 4, 1)])" in source
    assert "self.side = nn.ModuleDict({'a': nn.Conv2d(4, 4, 1), 'b': Add()})" in source
    assert "self.pred = nn.ModuleDict({'cls': nn.Conv2d(4, 3, 1), 'box': nn.Conv2d(4, 2, 1)})" in (
        source
    )
    # fpn's forward: the holders' members between the other layers, in the graph's order
    steps = [
        "inner_1 = self.inner[1](input0)",
        "outer_1 = self.outer[1](inner_1)",
        "inner_0 = self.inner[0](input1)",
        "up = self.up(inner_1)",
        "merge = self.merge(inner_0, up)",
        "outer_0 = self.outer[0](merge)",
        "side_a = self.side['a'](fpn)",
        "between = self.between(side_a)",
        "side_b = self.side['b'](side_a, between)",
        "head_p0 = self.head(side_b)",
        "head_p1 = self.head(fpn_outer_1)",
    ]
    places = [source.find(f"        {line}\n") for line in steps]
    assert -1 not in places and places == sorted(places), places
    model = _load(source, tmp_path, "holders").build().eval()
    convs = {  # weights and biases: out * in * k * k + out each
        "c1": 3 * 8 * 9 + 8,
        "c2": 8 * 8 * 9 + 8,
        "fpn.inner.0": 8 * 4 + 4,
        "fpn.inner.1": 8 * 4 + 4,
        "fpn.outer.0": 4 * 4 * 9 + 4,
        "fpn.outer.1": 4 * 4 * 9 + 4,
        "side.a": 4 * 4 + 4,
        "head.conv": 4 * 4 * 9 + 4,
        "head.pred": 4 * 2 + 2,
        "pred.cls": 4 * 3 + 3,
        "pred.box": 4 * 2 + 2,
    }
    state = model.state_dict()
    assert set(state) == {f"{n}.{w}" for n in convs for w in ("weight", "bias")}
    for n, count in convs.items():
        assert state[f"{n}.weight"].numel() + state[f"{n}.bias"].numel() == count
    assert sum(convs.values()) == 1379 == cnncalc.analyze(graph).totals.params
    # float64 on both sides: eight convs deep, float32's summation orders differ by ~1e-6
    _, got, want = _run_both(graph, model, "float64")
    for t, name in zip(got, graph.outputs, strict=True):
        np.testing.assert_allclose(t.numpy(), want[name], rtol=1e-5, atol=1e-6)
    report = cnncalc.verify(graph, backend="torch")
    assert report.ok and [c.status for c in report.layers] == ["ok"] * len(graph.nodes)


FPN_DETECTORS = ["retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2", "fcos_resnet50_fpn"]


@pytest.mark.parametrize("name", FPN_DETECTORS)
def test_fpn_detectors_write_torchvisions_structure(name):
    """The FPN's four groups are holders its forward calls between one another, as
    torchvision's FeaturePyramidNetwork; the head, shared over five levels, is one module
    called per level (torchvision's head loops over the levels inside it). The state-dict
    keys themselves: tests/test_export_state_dict.py."""
    source = pytorch.to_pytorch(cnncalc.build(name))
    for group in ("inner_blocks", "layer_blocks", "top_down", "merge"):
        assert f"        self.{group} = nn.ModuleList(" in source
    assert "        merge_1 = self.merge[1](inner_blocks_1, top_down_1)\n" in source
    assert "        top_down_0 = self.top_down[0](merge_1)\n" in source
    assert source.count("        self.head = ") == 1
    assert len(re.findall(r"\) = self\.head\(\w+\)|\w+ = self\.head\(\w+\)", source)) == 5


@pytest.mark.parametrize("name", FPN_DETECTORS)
def test_fpn_detectors_verify_with_torch(name):
    """verify --backend torch: every layer's output shape from the exported model's hooks (the
    head's module called once per level), at a small input (128 × 128: P7 is 1 × 1)."""
    pytest.importorskip("torch", reason="--backend torch needs torch")
    graph = cnncalc.build(name, variables={"height": 128, "width": 128})
    report = cnncalc.verify(graph, backend="torch")
    assert report.ok and [c.status for c in report.layers] == ["ok"] * len(graph.nodes)
    assert report.params_allocated == report.params_expected


TWO_IN_TWO_OUT = ROOT / "tests" / "fixtures" / "specs" / "two_in_two_out.yaml"


def test_user_spec_two_inputs_two_outputs_block_with_two_inputs():
    """Named inputs and outputs, a block taking two inputs, a repeated plain layer, and an
    optional member (the projection shortcut of one use in four) written with the block's
    parameters."""
    source = pytorch.to_pytorch(cnncalc.build(str(TWO_IN_TWO_OUT)))
    assert "def forward(self, image: Tensor, mask: Tensor) -> tuple[Tensor, ...]:" in source
    assert "return head, aux" in source
    assert "def forward(self, a: Tensor, b: Tensor) -> Tensor:" in source  # block 'fuse'
    assert "self.acts = nn.Sequential(nn.ReLU(), nn.ReLU())" in source
    flat = re.sub(r"\s+", "", source).replace(",)", ")")  # wrapped at 100 columns
    assert (
        "self.shortcut=nn.Conv2d(in_channels,planes,1,stride=stride,bias=False)ifprojectelseNone"
    ) in flat


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_user_spec_two_inputs_two_outputs_verifies(backend):
    pytest.importorskip(backend, reason=f"--backend {backend} needs {backend}")
    r = cnncalc.verify(str(TWO_IN_TWO_OUT), backend=backend, batch=2)
    # fuse 3 + acts 2 + four basic blocks of 7 + one shortcut + gap, head, aux
    assert r.ok and len(r.layers) == 3 + 2 + 4 * 7 + 1 + 3
    assert r.params_allocated == r.params_expected


def test_dotted_layer_names_are_module_paths():
    """Layers named features.0, features.1 and classifier.1 (dots in the spec's names): keys
    features.0.weight and classifier.1.weight, as torchvision writes them."""
    torch = pytest.importorskip("torch", reason="needs torch")
    graph = cnncalc.build(str(ROOT / "tests" / "fixtures" / "specs" / "dotted_names.yaml"))
    source = pytorch.to_pytorch(graph)
    assert "nn.Sequential(OrderedDict([('1', nn.Linear(4, 2))]))" in source
    namespace: dict = {}
    exec(compile(source, "dotted.py", "exec"), namespace)  # the file cnncalc wrote
    with torch.device("meta"):
        keys = set(namespace["build"]().state_dict())
    assert keys == {
        "features.0.weight",
        "features.0.bias",
        "classifier.1.weight",
        "classifier.1.bias",
    }
    assert cnncalc.verify(graph, backend="torch").ok


DOTTED_BRANCHES = ROOT / "tests" / "fixtures" / "specs" / "dotted_branches.yaml"


def test_dotted_names_that_branch_are_a_class_running_their_subgraph(tmp_path):
    """se.pool … se.gate and the product named se are no chain (the product reads the block's
    input again): one class whose forward runs them; the chunk is one module whose two outputs
    the forward unpacks; the file computes what the NumPy backend computes with its weights."""
    pytest.importorskip("torch", reason="needs torch")
    import numpy as np

    graph = cnncalc.build(str(DOTTED_BRANCHES))
    source = pytorch.to_pytorch(graph)
    assert "class Se(nn.Module):" in source and "self.se = Se()" in source
    assert "multiply = self.multiply(x, gate)" in source  # the layer named se, inside Se
    assert "halves_0, halves_1 = self.halves(se)" in source
    assert "self.shuffle = nn.ChannelShuffle(2)" in source
    model = _load(source, tmp_path, "dotted_branches").build().eval()
    # the keys by hand: conv and linear weights and biases at the spec's names
    convs = ["stem.0", "se.fc1", "se.fc2", "branch.0", "head.fc"]
    assert set(model.state_dict()) == {f"{n}.{w}" for n in convs for w in ("weight", "bias")}
    _, got, want = _run_both(graph, model)
    np.testing.assert_allclose(got.numpy(), want["head.fc"], rtol=1e-5, atol=1e-6)
    assert cnncalc.verify(graph, backend="torch").ok


def test_namespaces_inside_a_block_are_parameterised_classes():
    """RegNetX-400MF's 22 bottlenecks name their layers f.a.0 … f.c.1 and proj.0/.1: one class
    per namespace, taking the block's sizes, so the block is one class for all 22 uses."""
    source = pytorch.to_pytorch(cnncalc.build("regnet_x_400mf"))
    assert source.count("class ResBottleneck(") == 1
    assert '"""Block \'res_bottleneck\' of the spec (22 uses)."""' in source
    assert '"""The layers \'f.…\' of block \'res_bottleneck\' (22 uses)."""' in source
    assert "class ResBottleneckFA(nn.Sequential):" in source  # f.a.0, f.a.1, f.a.2: a chain


def test_table_aliases_come_from_the_registry():
    """for_class reads a type's aliases from its layer class: every alias of a written type is
    in the table (conv: the four names the layer reference lists)."""
    from cnncalc.export import for_class

    assert set(for_class("conv2d", writer=str)) == {"conv1d", "conv2d", "conv3d", "conv"}
    for name in pytorch.PYTORCH:
        assert set(REGISTRY[name].NAMES) <= set(pytorch.PYTORCH), name


TAPS = """
name: taps
input: [3, 8, 8]
blocks:
  body:
    layers:
      - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
        name: c1
      - relu:
        name: r1
      - conv2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1}
        name: c2
layers:
  - body:
    name: backbone
  - conv2d: {out_channels: 2, kernel_size: 1}
    input: backbone.r1
    name: head.0
  - conv2d: {out_channels: 5, kernel_size: 1}
    input: backbone
    name: head.1
outputs: [head.0, head.1]
"""


def test_scopes_read_from_outside_return_a_tuple(tmp_path, tmp_spec):
    """A layer inside a block read from outside (SSD's heads on the backbone's inner maps), and
    names head.0 and head.1 that share no input: the block's forward returns (output, inner
    map); the namespace, two parallel modules, is an nn.ModuleList the forward calls member by
    member (a namespace of two inputs that is one unit: the fpn class of
    test_holders_are_called_member_by_member_in_graph_order); both outputs are NumPy's."""
    pytest.importorskip("torch", reason="needs torch")
    import numpy as np

    graph = cnncalc.build(str(tmp_spec(TAPS)))
    source = pytorch.to_pytorch(graph)
    assert "return c2, r1" in source  # the block: its output, then the layer read outside
    assert "backbone, backbone_r1 = self.backbone(x)" in source
    assert "self.head = nn.ModuleList([nn.Conv2d(4, 2, 1), nn.Conv2d(4, 5, 1)])" in source
    assert "head_0 = self.head[0](backbone_r1)" in source
    assert "head_1 = self.head[1](backbone)" in source
    model = _load(source, tmp_path, "taps").build().eval()
    _, got, want = _run_both(graph, model)
    assert [tuple(t.shape) for t in got] == [(2, 2, 8, 8), (2, 5, 4, 4)]
    for t, name in zip(got, ["head.0", "head.1"]):
        np.testing.assert_allclose(t.numpy(), want[name], rtol=1e-5, atol=1e-6)
    assert cnncalc.verify(graph, backend="torch").ok


def test_a_class_named_as_its_layer_returning_inner_layers_verifies(tmp_spec):
    """se.fc is read from outside and the product is named se: Se returns (product, se.fc);
    verify takes the product as layer se's output."""
    pytest.importorskip("torch", reason="needs torch")
    text = (
        "name: selfout\ninput: [4, 8, 8]\nlayers:\n"
        "  - conv2d: {out_channels: 4, kernel_size: 1}\n    name: se.fc\n"
        "  - sigmoid:\n    name: se.gate\n"
        "  - multiply:\n    inputs: [input, se.gate]\n    name: se\n"
        "  - conv2d: {out_channels: 2, kernel_size: 1}\n    input: se.fc\n    name: tap\n"
        "  - global_avg_pool:\n    input: se\n    name: pool\n"
        "outputs: [pool, tap]\n"
    )
    graph = cnncalc.build(str(tmp_spec(text)))
    assert "se, se_fc = self.se(x)" in pytorch.to_pytorch(graph)
    r = cnncalc.verify(graph, backend="torch", batch=2)
    assert r.ok and [c.actual for c in r.layers if c.name == "se"] == [(4, 8, 8)]


@pytest.mark.parametrize(
    "name, shape",
    [
        ("swin_t", "3x64x64"),  # 16×16 tokens: windows padded, the last stage's 2×2 unshifted
        ("swin_v2_t", "3x64x64"),
        ("swin3d_t", "3x4x64x64"),  # T = 2 ≤ 8: the window shrinks in time
        ("fcn_resnet50", "3x64x64"),  # resize_to; the aux head on the backbone's layer3
        ("lraspp_mobilenet_v3_large", "3x64x64"),  # resize_to; the head on two maps
        ("mvit_v1_b", "frames=4 size=64"),  # pooling attention: the grid follows the variables
        ("mvit_v2_s", "frames=4 size=64"),
    ],
)
def test_verify_backend_torch_agrees_on_the_window_attentions(name, shape):
    """The window attentions, space-to-depth, resize_to and pooling attention forms in whole
    models: every layer's shape from the PyTorch export equals the analyzer's."""
    pytest.importorskip("torch", reason="--backend torch needs torch")
    if "=" in shape:  # MViT: a smaller clip through its variables
        sets = dict(kv.split("=") for kv in shape.split())
        graph = cnncalc.build(name, variables={k: int(v) for k, v in sets.items()})
        r = cnncalc.verify(graph, backend="torch", seed=1)
    else:
        r = cnncalc.verify(name, shape, backend="torch", seed=1)
    assert r.ok, [c for c in r.layers if not c.ok][:3]
    assert r.params_allocated == r.params_expected


def test_every_helper_class_passes_ruff_and_defines_itself(tmp_path):
    """All helper classes written into one file with the imports a written file can have:
    ruff's default rules pass, and each defines the class its table name promises (helpers
    no zoo model uses yet are checked too)."""
    torch = pytest.importorskip("torch", reason="the helpers are torch code")
    body = "\n\n\n".join(pytorch.HELPERS[h].strip() for h in sorted(pytorch.HELPERS))
    head = "from __future__ import annotations\n\nfrom typing import Any\n\nimport torch\n"
    head += "import torch.nn.functional as F\nfrom torch import Tensor, nn\n\n\n"
    path = tmp_path / "helpers.py"
    path.write_text(head + body + "\n")
    p = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", str(path)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    module = _load(head + body, tmp_path, "helpers_all")
    for name in pytorch.HELPERS:
        assert issubclass(getattr(module, name), torch.nn.Module), name


WIRING = """
name: wiring
input: [3, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
    name: c1
  - relu:
    name: r1
  - conv2d: {out_channels: 5, kernel_size: 1}
    name: c2
"""


def test_verify_torch_reports_a_file_whose_forward_is_miswired(tmp_spec, monkeypatch):
    """Each layer alone runs from its recorded inputs, but the file's forward feeds c2 the
    image (3 channels, not 4) and raises: verify fails, naming c2 and torch's message."""
    pytest.importorskip("torch", reason="--backend torch needs torch")
    graph = cnncalc.build(str(tmp_spec(WIRING)))
    right = pytorch.to_pytorch(graph)
    wrong = right.replace("c2 = self.c2(r1)", "c2 = self.c2(x)")
    assert wrong != right
    monkeypatch.setattr(pytorch, "to_pytorch", lambda g: wrong)
    r = cnncalc.verify(graph, backend="torch")
    assert not r.ok
    (bad,) = [c for c in r.layers if not c.ok]
    assert bad.name == "c2" and "the model's forward raised RuntimeError" in bad.message


BROADCAST = ROOT / "tests" / "fixtures" / "specs" / "broadcast_after_batch.yaml"


@pytest.mark.parametrize("fmt", ["pytorch", "onnx"])
def test_elementwise_layers_broadcast_after_the_batch_as_the_analyzer(fmt, tmp_path):
    """add, subtract and multiply (2 and 3 inputs) on inputs of ranks 1, 2 and 3: the exported
    file broadcasts as the analyzer's rule (NumPy's, on shapes without the batch: missing axes
    after the batch) and the NumPy forward, not from the right of the whole shape as torch and
    ONNX do. At batch 2 their rule pairs row's batch with cube's first axis (both 2) and runs:
    the test checks that it would give other numbers, so it can tell the two apart."""
    torch = pytest.importorskip("torch", reason="needs torch")
    import numpy as np

    from cnncalc.backend.run import allocate_weights, execute, random_inputs

    graph = cnncalc.build(str(BROADCAST))
    assert [graph.shape_of(n) for n in graph.outputs] == [(2, 3, 4)] * 4  # the analyzer's
    feeds = random_inputs(graph, batch=2, seed=5, dtype="float32")
    want = execute(graph, feeds, allocate_weights(graph))
    row, cube = torch.from_numpy(feeds["row"]), torch.from_numpy(feeds["cube"])
    # the rule by hand: row[n] added to each slice cube[n, k]; torch's own pairs row[n] with k
    by_hand = np.stack([feeds["row"][n] + feeds["cube"][n] for n in range(2)])
    np.testing.assert_allclose(want["sum"], by_hand, rtol=0, atol=0)
    assert not np.allclose((row + cube).numpy(), want["sum"])
    if fmt == "pytorch":
        model = _load(pytorch.to_pytorch(graph), tmp_path, "broadcast").build().eval()
        with torch.no_grad():
            got = [t.numpy() for t in model(*(torch.from_numpy(feeds[k]) for k in graph.inputs))]
    else:
        pytest.importorskip("onnx", reason="the ONNX export needs onnx")
        ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime")
        model = onnx_export.to_onnx(graph)
        session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        got = session.run(list(graph.outputs), {k: feeds[k] for k in graph.inputs})
    for g, name in zip(got, graph.outputs, strict=True):
        np.testing.assert_allclose(g, want[name], rtol=1e-6, atol=1e-6)
    report = cnncalc.verify(graph, backend="torch" if fmt == "pytorch" else "onnxruntime", batch=2)
    assert report.ok


# --------------------------------------------------------------------------------------------
# The R-CNNs: roi_align in plain torch, per-RoI convs as Conv2d on the RoIs
# --------------------------------------------------------------------------------------------

RCNNS = [
    "fasterrcnn_resnet50_fpn",
    "fasterrcnn_resnet50_fpn_v2",
    "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "maskrcnn_resnet50_fpn",
    "maskrcnn_resnet50_fpn_v2",
    "keypointrcnn_resnet50_fpn",
]


def _few_rois(name: str, dets: int) -> dict[str, int]:
    """64 × 96 with 5 proposals and ``dets`` detections (Faster R-CNN: 0 proposals for 0)."""
    if name.startswith("faster"):
        return dict(height=64, width=96, num_proposals=5 - 5 * (dets == 0))
    return dict(height=64, width=96, num_proposals=5, num_detections=dets)


@pytest.mark.parametrize("name", RCNNS)
def test_rcnns_verify_with_torch_at_few_rois(name):
    """verify --backend torch: every layer's shape from the exported model's hooks, at 64 × 96
    with 5 proposals and 2 detections, and with an empty RoI axis (not Keypoint R-CNN: its spec
    folds the RoIs into the channels of the ×2 bilinear upsample, (K·R, 28, 28), and torch's
    bilinear kernel refuses a map of 0 channels, while an empty batch would pass)."""
    pytest.importorskip("torch", reason="--backend torch needs torch")
    for dets in (2,) if name.startswith("keypoint") else (2, 0):
        graph = cnncalc.build(name, variables=_few_rois(name, dets))
        report = cnncalc.verify(graph, backend="torch")
        assert report.ok, [(c.name, c.message) for c in report.layers if not c.ok][:3]
        assert [c.status for c in report.layers] == ["ok"] * len(graph.nodes)
        assert report.params_allocated == report.params_expected


@pytest.mark.parametrize("name", RCNNS)
def test_rcnns_write_roi_align_and_per_roi_convs_in_plain_torch(name):
    """The written file imports torch only (no torchvision.ops); RoI Align is the RoIAlign
    helper with the FPN's four scales (MobileNet: the map of stride 32 it reads); the RPN head
    runs at every level (eval mode runs it; no output reads it); the per-RoI convs (spec:
    conv3d of depth 1 over the RoI axis) are RoIConv2d, 2-D weights as torchvision's heads."""
    source = pytorch.to_pytorch(cnncalc.build(name))
    assert not re.search(r"^\s*(import|from) torchvision", source, re.MULTILINE)
    assert "class RoIAlign(nn.Module)" in source
    mobile = "mobilenet" in name
    assert ("scales=(0.03125,)" if mobile else "scales=(0.25, 0.125, 0.0625, 0.03125)") in source
    assert "not on the way to an output" not in source
    assert len(re.findall(r"self\.head\(input\d\)", source)) == (3 if mobile else 5)
    per_roi = pytorch.per_roi_convs(cnncalc.build(name))
    heads = {
        "fasterrcnn_resnet50_fpn_v2": 4,  # box_head.0 … 3
        "maskrcnn_resnet50_fpn": 4 + 2,  # mask_head.0 … 3, conv5_mask, mask_fcn_logits
        "maskrcnn_resnet50_fpn_v2": 4 + 4 + 2,
        "keypointrcnn_resnet50_fpn": 8 + 1,  # keypoint_head.0 … 14 (even), kps_score_lowres
    }.get(name, 0)
    assert len(per_roi) == heads
    assert ("RoIConv2d(" in source) == (heads > 0)


@pytest.mark.parametrize("name", ["maskrcnn_resnet50_fpn_v2", "keypointrcnn_resnet50_fpn"])
def test_rcnn_export_computes_what_the_numpy_backend_does(name, tmp_path):
    """The whole network at 64 × 96 with 5 proposals and 2 detections, the NumPy backend's
    seeded weights loaded (a per-RoI conv's (out, in, 1, kh, kw) as (out, in, kh, kw)): the
    box, mask and keypoint outputs equal the NumPy forward (the same default boxes). In
    float64 on both sides: through ResNet-50, the FPN and the heads, float32's rounding alone
    moves outputs of magnitude ~100 by ~1e-2 (5e-4 relative), which would hide nothing."""
    torch = pytest.importorskip("torch", reason="needs torch")
    import numpy as np

    from cnncalc.backend.run import allocate_weights, execute, random_inputs

    graph = cnncalc.build(name, variables=_few_rois(name, 2))
    model = _load(pytorch.to_pytorch(graph), tmp_path, name).build().eval()
    model = model.double()
    weights = allocate_weights(graph, seed=3, dtype="float64")
    state = model.state_dict()
    loaded = {k: v.reshape(state[k].shape) for k, v in _state_dict(graph, weights, model).items()}
    model.load_state_dict({**state, **loaded}, strict=True)
    assert set(loaded) == {k for k in state if not k.endswith("num_batches_tracked")}
    feeds = random_inputs(graph, batch=2, seed=5, dtype="float64")
    with torch.no_grad():
        got = model(torch.from_numpy(feeds["input"]))
    want = execute(graph, feeds, weights)
    assert len(got) == len(graph.outputs) == 3
    for out, name_ in zip(got, graph.outputs):
        # float64 rounding, relative to the output's scale (the random weights make outputs
        # of up to ~1e5, and elements near 0 are differences of such sums)
        assert want[name_].dtype == np.float64
        assert np.abs(out.numpy() - want[name_]).max() <= 1e-9 * np.abs(want[name_]).max()


def test_terminal_verify_of_mask_rcnn_at_80_columns():
    """What a person sees: Mask R-CNN verified with torch in a terminal at a small input and
    few RoIs, every layer ok: RoI Align (5 proposals of 256 channels, 7 × 7 bins) and the mask
    head's per-RoI convs (256 channels, 2 detections, 14 × 14) each a row."""
    pytest.importorskip("torch", reason="--backend torch needs torch")
    sets = ["height=64", "width=96", "num_proposals=5", "num_detections=2"]
    lines = _verified_in_a_terminal("maskrcnn_resnet50_fpn", sets)
    for row, shape in (
        ("roi_heads.box_roi_pool", "(5, 256, 7, 7)"),
        ("roi_heads.mask_head.0.0", "(256, 2, 14, 14)"),
    ):
        assert any(
            ln.startswith(row) and shape in ln and ln.rstrip().endswith("ok") for ln in lines
        ), row


def test_rcnn_build_takes_the_roi_counts(tmp_path):
    """build(num_proposals=…, num_detections=…) sizes the RoI axis of the written model: at
    64 × 96, 3 proposals give 3 × 91 scores and 3 × 91·4 deltas, 1 detection one 91 × 28 × 28
    mask (14 × 14 bins, ×2 by the transposed conv) per image."""
    torch = pytest.importorskip("torch", reason="needs torch")
    graph = cnncalc.build("maskrcnn_resnet50_fpn", variables=_few_rois("maskrcnn", 2))
    module = _load(pytorch.to_pytorch(graph), tmp_path, "mask_rois")
    model = module.build(num_proposals=3, num_detections=1).eval()
    with torch.no_grad():
        scores, deltas, masks = model(torch.randn(2, 3, 64, 96))
    assert scores.shape == (2, 3, 91) and deltas.shape == (2, 3, 91 * 4)
    assert masks.shape == (2, 1, 91, 14 * 2, 14 * 2)
