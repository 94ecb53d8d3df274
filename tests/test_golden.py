"""Whole printed outputs (plain text, stdout not a terminal) against files in tests/golden/.

Refresh after an intended change with ``CNNCALC_UPDATE_GOLDEN=1 python -m pytest
tests/test_golden.py`` and review the diff by eye. Each case also names published figures that
its output must contain (REFERENCE.md), so a refreshed golden cannot silently absorb a wrong count.
"""

from __future__ import annotations

import os

import pytest

from .conftest import ROOT, run_cli

GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("CNNCALC_UPDATE_GOLDEN") == "1"

CASES = [
    # (file, argv, strings the output must contain: published figures, arithmetic)
    ("summary_lenet5.txt", ["summary", "lenet5"], ["61,706", "[16, 5, 5]", "(5·5·6 + 1)·16"]),
    (
        "summary_resnet18_depth1.txt",
        ["summary", "resnet18", "--depth", "1"],
        ["11,689,512", "1.814 G", "[512, 7, 7]"],
    ),
    (
        "compare_lenet5_mnist_cnn.txt",
        ["compare", "lenet5", "mnist_cnn", "--stages"],
        ["61,706", "243,786", f"({243786 / 61706:.2f}×)", "64 @ 5×5"],
    ),
]


def _expand(s: str) -> str:
    """Arithmetic anchors: '(5·5·6 + 1)·16' → '2,416' (C3 of LeNet-5: 16 filters 5×5×6 + bias)."""
    if s == "(5·5·6 + 1)·16":
        return f"{(5 * 5 * 6 + 1) * 16:,}"
    return s


@pytest.mark.parametrize("name, argv, anchors", CASES, ids=[c[0] for c in CASES])
def test_golden_output(name, argv, anchors):
    r = run_cli(*argv)
    assert r.returncode == 0, r.stderr
    for a in anchors:
        assert _expand(a) in r.stdout, f"{_expand(a)!r} missing from `cnncalc {' '.join(argv)}`"
    path = GOLDEN / name
    if UPDATE:
        path.write_text(r.stdout, encoding="utf-8")
    assert path.exists(), f"missing {path}; create it with CNNCALC_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert r.stdout == expected, (
        f"`cnncalc {' '.join(argv)}` differs from tests/golden/{name}; if the change is intended, "
        "refresh with CNNCALC_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py and review the diff"
    )
