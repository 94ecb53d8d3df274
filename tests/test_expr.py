"""The expression evaluator's whitelist: what computes, what is refused, and that refusals are fast."""

from __future__ import annotations

import time

import pytest

from cnncalc.errors import CnncalcError
from cnncalc.expr import MAX_SEQ, Env, evaluate, make_divisible

ENV = {"planes": 64, "width": 1.5, "layers": [3, 4, 6, 3], "i": 2, "name": "basic"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("planes * 4", 256),
        ("planes // 3", 21),
        ("planes % 3", 1),
        ("planes / 4", 16.0),
        ("2 ** 10", 1024),
        ("-planes + +1", -63),
        ("(planes + 1) * 2", 130),
        ("layers[0] + layers[-1]", 6),
        ("2 if i == 0 else 1", 1),
        ("i > 1 and i < 3", True),
        ("not i", False),
        ("name == 'basic'", True),
        ("3 in layers", True),
        ("1 < i <= 2", True),
        ("min(planes, 32) + max(1, 2)", 34),
        ("round(2.5) + round(3.5)", 2 + 4),  # half to even, as Python and PyTorch
        ("ceil(7 / 2) + floor(7 / 2)", 4 + 3),
        ("int(width * 10)", 15),
        ("sum(layers)", 3 + 4 + 6 + 3),
        ("len(layers)", 4),
        ("make_divisible(32 * 1.1, 8)", 32),
        ("[planes, planes * 2]", [64, 128]),
        ("abs(-3) + sqrt(16)", 7.0),
        # issue 11: slices, range, log, str and f-strings, one-for comprehensions
        ("layers[:2]", [3, 4]),
        ("sum(layers[:i])", 3 + 4),  # Swin's stochastic-depth index: blocks before stage i
        ("layers[1::2]", [4, 3]),
        ("layers[-2:]", [6, 3]),
        ("name[:3]", "bas"),
        ("range(3)", [0, 1, 2]),
        ("range(2, 8, 3)", [2, 5]),
        ("log2(planes)", 6.0),
        ("log(8, 2)", 3.0),
        ("'features.' + str(i + 1)", "features.3"),
        ("f'features.{i + 1}'", "features.3"),
        ("f'{name}{planes}'", "basic64"),
        ("[int(w * width) for w in layers]", [4, 6, 9, 4]),  # RegNet's [int(w·b) for w in ws]
        ("[x * 2 for x in range(4) if x % 2]", [2, 6]),
        ("[a + b for a, b in [[1, 2], [3, 4]]]", [3, 7]),
        ("sum([d for d in layers if d > 3])", 4 + 6),
    ],
)
def test_allowed(text: str, expected: object) -> None:
    assert evaluate(text, ENV) == expected


def test_make_divisible_matches_the_reference_rule() -> None:
    # torchvision _make_divisible: max(8, int(v + 4) // 8 * 8), +8 if below 90 % of v
    assert make_divisible(40 * 1.4, 8) == 56
    assert make_divisible(16 * 0.75, 8) == 16
    assert make_divisible(3, 8) == 8


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("().__class__", "attribute access ('.__class__') is not allowed"),
        ("planes.bit_length()", "only calls to"),
        ("__import__('os')", "unknown function '__import__'"),
        ("(__builtins__)", "names starting with '__'"),
        ("__class__ + 1", "names starting with '__'"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("lambda: 1", "a lambda is not allowed"),
        ("(lambda: 1)()", "only calls to"),
        ("[[x for x in layers] for y in layers]", "a comprehension inside a comprehension"),
        ("[x for x in layers for y in layers]", "one 'for' only"),
        ("[x for x in planes]", "iterates over a list"),
        ("[x for x.a in layers]", "target must be a name"),
        ("[__x for __x in layers]", "names starting with '__'"),
        ("range(10 ** 6)", "range() of 1,000,000 elements"),
        ("range(1.5)", "range() takes integers"),
        ("[x for x in range(10000)] + [1]", "cannot do arithmetic on a list"),
        ("str(layers)", "str() takes a number or a string"),
        ("{x for x in layers}", "a set comprehension is not allowed"),
        ("(x for x in layers)", "a generator expression is not allowed"),
        ("{'a': 1}", "a dict is not allowed"),
        ("(y := 3)", "assignment (:=) is not allowed"),
        ("f'{planes:>99999}'", "f-string formats and conversions are not allowed"),
        ("f'{planes!r}'", "f-string formats and conversions are not allowed"),
        ("[*layers]", "unpacking (*) is not allowed"),
        ("max(*layers)", "argument unpacking is not allowed"),
        ("layers[0:2:0]", "slice step cannot be zero"),
        ("planes[0:2]", "cannot slice 64"),
        ("layers[0:1.5]", "slice bounds must be integers"),
        ("9**9**9", "exponent 387420489 is too large"),
        ("10 ** 200", "is too large"),
        ("2 ** 127 * 2 ** 127", "number too large"),
        ("1e308 * 10", "non-finite"),
        ("(-8) ** 0.5", "complex number"),
        ("planes // 0", "division by zero"),
        ("planes % 0", "division by zero"),
        ("1 / (i - 2)", "division by zero"),
        ("round(5, -10**9)", "ndigits=-1000000000 is out of range"),
        ("sum([layers, layers], [])", "sum() adds numbers only"),
        ("'ab' * 1000000", "cannot do arithmetic on text"),
        ("layers * 100000000", "cannot do arithmetic on a list"),
        ("layers + layers", "cannot do arithmetic on a list"),
        ("int('9' * 5000)", "cannot do arithmetic on text"),
        ("int('" + "9" * 300 + "')", "number too large"),
        ("sqrt(-1)", "sqrt(...) failed"),
        ("float('inf')", "non-finite"),
        ("layers[10]", "index 10 out of range"),
        ("planes[0]", "cannot index 64"),
        ("layers < 3", "cannot compare"),
        ("plans * 2", "unknown variable 'plans'"),
        ("planes *", "cannot parse expression"),
        ("min", "'min' is a function"),
        ("x" * 600, "longer than 500 characters"),
        ("(" * 300 + "1" + ")" * 300, "expression"),
    ],
)
def test_refused(text: str, fragment: str) -> None:
    t0 = time.perf_counter()
    with pytest.raises(CnncalcError) as exc:
        evaluate(text, ENV)
    assert fragment in str(exc.value)
    assert time.perf_counter() - t0 < 0.5


def test_unknown_variable_suggests() -> None:
    with pytest.raises(CnncalcError) as exc:
        evaluate("plans * 2", ENV)
    assert "did you mean 'planes'" in str(exc.value)


def test_list_doubling_is_bounded() -> None:
    """Doubling a list through variables stops at MAX_SEQ elements, nested ones counted."""
    env: dict[str, object] = {"v0": [1, 2]}
    with pytest.raises(CnncalcError, match="list with more than"):
        for k in range(40):
            env[f"v{k + 1}"] = evaluate(f"[v{k}, v{k}]", env)
    assert k < 14  # 2 ** 14 > MAX_SEQ = 10 000
    assert MAX_SEQ == 10_000


def test_deep_equality_is_not_exponential() -> None:
    """Equal-but-distinct nested lists compared with == cost 2**depth; the list bound stops it."""
    env: dict[str, object] = {"a0": [1], "b0": [1]}
    with pytest.raises(CnncalcError, match="list with more than"):
        for k in range(60):
            env[f"a{k + 1}"] = evaluate(f"[a{k}, b{k}]", env)
            env[f"b{k + 1}"] = evaluate(f"[b{k}, a{k}]", env)


def test_env_chain_lookup() -> None:
    base = {"planes": 64, "width": 2}
    inner = Env(Env(base, {"i": 1}), {"in_channels": 3})
    assert evaluate("planes * width + i + in_channels", inner) == 128 + 1 + 3
    assert "planes" in inner and "nope" not in inner
    assert inner.get("i") == 1 and inner.get("nope", 7) == 7
    with pytest.raises(CnncalcError) as exc:
        evaluate("plane", inner)
    assert "did you mean 'planes'" in str(exc.value)


def test_no_eval_or_exec_in_the_package() -> None:
    import pathlib
    import re

    import cnncalc

    root = pathlib.Path(cnncalc.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(?<![\w.])(eval|exec)\(", text), path
