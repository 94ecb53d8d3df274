"""Bad input never crashes cnncalc: every wrong spec gets one line on stderr and exit code 1.

The corpus lives in ``tests/bad_specs/``: one file per case, starting with a header::

    # expect: unknown layer type 'conv2' ; did you mean 'conv2d'
    # line: 5

(every ``;``-separated fragment must appear in the message; the line is the spec line the error
must point at, marked ``#<`` in the file). Most cases run in-process through
:func:`cnncalc.cli.main` for speed; a few run through a real subprocess.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from cnncalc.cli import main
from cnncalc.errors import CnncalcError

from .conftest import ROOT, run_cli

BAD = Path(__file__).resolve().parent / "bad_specs"
CASES = sorted(BAD.glob("*.yaml"))


def header(path: Path) -> tuple[list[str], int]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    expect = re.search(r"^# expect: (.*)$", text, re.M)
    line = re.search(r"^# line: (\d+)$", text, re.M)
    assert expect and line, f"{path.name}: missing '# expect:' or '# line:' header"
    return [f.strip() for f in expect.group(1).split(" ; ")], int(line.group(1))


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def check_one_line(code: int, out: str, err: str) -> str:
    assert code == 1, (code, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "internal error" not in lines[0], lines[0]
    return lines[0]


def test_corpus_is_large() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_bad_spec(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fragments, line = header(path)
    t0 = time.perf_counter()
    code, out, err = run_main(capsys, "summary", str(path), "--format", "json")
    elapsed = time.perf_counter() - t0
    msg = check_one_line(code, out, err)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"
    assert msg.startswith(f"error: {path}:{line}:") or msg.startswith(f"error: {path}:{line} "), (
        f"expected line {line}: {msg}"
    )
    assert elapsed < 2.0, f"{path.name} took {elapsed:.2f} s"


@pytest.mark.parametrize(
    "name", ["unknown_type", "python_tag", "billion_laughs", "repeat_bomb", "non_utf8"]
)
def test_bad_spec_subprocess(name: str) -> None:
    """Through a real process: exit code 1, one stderr line, nothing on stdout, no traceback."""
    path = BAD / f"{name}.yaml"
    fragments, line = header(path)
    r = run_cli("summary", str(path))
    msg = check_one_line(r.returncode, r.stdout, r.stderr)
    assert f":{line}:" in msg
    for frag in fragments:
        assert frag in msg


def test_python_tag_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    spec = tmp_path / "evil.yaml"
    spec.write_text(
        f'input: [3, 8, 8]\nlayers:\n  - !!python/object/apply:os.system ["touch {marker}"]\n'
    )
    r = run_cli("summary", str(spec))
    assert r.returncode == 1
    assert not marker.exists()


def test_debug_shows_traceback() -> None:
    r = run_cli("--debug", "summary", str(BAD / "unknown_type.yaml"))
    assert r.returncode != 0
    assert "Traceback" in r.stderr and "CnncalcError" in r.stderr


# -- files and options ---------------------------------------------------------------------------


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "summary", str(BAD / "no_such_spec.yaml"))
    assert "no such file" in check_one_line(code, out, err)


def test_missing_file_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "summary", str(BAD / "unknown_typ.yaml"))
    assert "did you mean 'unknown_type.yaml'" in check_one_line(code, out, err)


def test_directory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "summary", str(BAD) + "/")
    assert "is a directory" in check_one_line(code, out, err)


def test_device_file_is_not_read(capsys: pytest.CaptureFixture[str]) -> None:
    """/dev/zero reports size 0 and never ends: reading stops at the size limit."""
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    code, out, err = run_main(capsys, "summary", "/dev/zero")
    assert "is larger than 4,194,304 bytes" in check_one_line(code, out, err)


def test_spec_from_stdin() -> None:
    r = run_cli("summary", "/dev/stdin", input="input: [1, 8, 8]\nlayers:\n  - flatten\n")
    assert r.returncode == 0, r.stderr
    assert "64" in r.stdout  # 1 × 8 × 8 features


def test_file_too_large(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cnncalc.yamlio import MAX_BYTES

    p = tmp_path / "big.yaml"
    p.write_text("input: [3, 8, 8]\nlayers: [relu]\n" + "#" * MAX_BYTES)
    code, out, err = run_main(capsys, "summary", str(p))
    assert "specs are limited to" in check_one_line(code, out, err)


def test_set_unknown_variable(capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(ROOT / "specs" / "resnet.yaml")
    code, out, err = run_main(capsys, "summary", spec, "--set", "num_clases=10")
    msg = check_one_line(code, out, err)
    assert "unknown variable 'num_clases'" in msg and "did you mean 'num_classes'" in msg


def test_set_without_equals(capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(ROOT / "specs" / "resnet.yaml")
    code, out, err = run_main(capsys, "summary", spec, "--set", "num_classes")
    assert "--set expects name=value" in check_one_line(code, out, err)


def test_set_hostile_expression(capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(ROOT / "specs" / "resnet.yaml")
    code, out, err = run_main(capsys, "summary", spec, "--set", "num_classes=().__class__")
    assert "attribute access" in check_one_line(code, out, err)


@pytest.mark.parametrize(
    "shape, fragment",
    [
        ("3xfoo", "cannot read the input shape '3xfoo'"),
        ("3x0x224", "must be positive"),
        ("3x-5x5", "must be positive"),
        ("3x10**9", "cannot read the input shape"),
    ],
)
def test_bad_input_option(shape: str, fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(ROOT / "specs" / "resnet.yaml")
    code, out, err = run_main(capsys, "summary", spec, "--input", shape)
    assert fragment in check_one_line(code, out, err)


def test_input_option_too_small_for_the_network(capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(ROOT / "specs" / "lenet5.yaml")
    code, out, err = run_main(capsys, "summary", spec, "--input", "1x8x8")
    msg = check_one_line(code, out, err)
    assert "lenet5.yaml:" in msg and "layer '" in msg and "is larger than the padded input" in msg


# -- library-level guarantees -------------------------------------------------------------------


def test_huge_input_shape_is_arithmetic_only() -> None:
    """Sizes are Python ints: a 40,000 × 40,000 image (4.8 · 10⁹ input elements) is counted, nothing
    proportional is allocated. Above 2⁵³ in a total (a 10⁹ × 10⁹ image) it is refused: JSON
    readers would not hold the figures exactly."""
    import tracemalloc

    from cnncalc import analyze

    n = 40_000
    spec = {
        "input": [3, n, n],
        "layers": [
            {"conv2d": {"out_channels": 64, "kernel_size": 3}},
            "relu",
            {"maxpool2d": {"kernel_size": 2}},
            {"adaptive_avgpool2d": {"output_size": 1}},
            "flatten",
            {"linear": {"out_features": 10}},
        ],
    }
    tracemalloc.start()
    r = analyze(spec)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20
    side = n - 2  # 3×3 valid conv
    assert r.rows[0].macs == 64 * side * side * (3 * 3 * 3)
    assert r.params == (3 * 3 * 3 * 64 + 64) + (64 * 10 + 10)
    spec["input"] = [3, 10**9, 10**9]
    with pytest.raises(CnncalcError, match="above the limit of 2⁵³"):
        analyze(spec)


def test_shared_map_via_alias_is_not_mutated() -> None:
    """An aliased entry used under two names builds twice, identically."""
    from cnncalc import analyze
    from cnncalc.graph import build_graph
    from cnncalc.spec import spec_from_text

    text = (
        "input: [3, 8, 8]\nblocks:\n  unit:\n    layers:\n"
        "      - &c {conv2d: {out_channels: 3, kernel_size: 3, padding: 1}}\n      - *c\n"
        "layers:\n  - unit\n  - unit\n"
    )
    g = build_graph(spec_from_text(text))
    assert [n.name for n in g.nodes] == [
        "unit_1.conv2d_1",
        "unit_1.conv2d_2",
        "unit_2.conv2d_1",
        "unit_2.conv2d_2",
    ]
    assert analyze(g).params == 4 * (3 * 3 * 3 * 3 + 3)


def test_many_variables_do_not_multiply_the_cost() -> None:
    """20 000 variables and 20 000 layers: no per-layer copy of the variables (was O(V × L))."""
    from cnncalc.graph import build_graph
    from cnncalc.spec import spec_from_text

    text = (
        "input: [3, 8, 8]\nvariables:\n"
        + "".join(f"  v{k}: {k}\n" for k in range(20_000))
        + "layers:\n  - conv2d: {out_channels: 'v1 + 2 + i % 2', kernel_size: 1}\n"
        + "    repeat: 20000\n"
    )
    spec = spec_from_text(text)
    t0 = time.perf_counter()
    g = build_graph(spec)
    assert len(g.nodes) == 20_000
    assert time.perf_counter() - t0 < 5.0


def test_error_is_a_cnncalc_error_from_the_library() -> None:
    from cnncalc import analyze

    with pytest.raises(CnncalcError, match="unknown layer type 'conv2'"):
        analyze({"input": [3, 8, 8], "layers": [{"conv2": {}}]})
