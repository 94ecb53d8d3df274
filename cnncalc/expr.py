"""A small, safe evaluator for the arithmetic in specs (``planes * 4``, ``make_divisible(32 * width, 8)``).

Never ``eval``: the text is parsed with :func:`ast.parse` and only a whitelist of node types is
compiled into closures. Allowed: numbers, strings, ``True``/``False``/``None``, names of variables,
``+ - * / // % **``, unary ``- + not``, comparisons, ``and``/``or``, ``a if c else b``, list and tuple
displays, indexing (``layers[0]``, ``sizes[-1]``) and slices (``depths[:i]``), f-strings without
formats (``f'features.{i + 1}'``), one-``for`` list comprehensions over a list
(``[int(w * b) for w in widths if w]``, none nested), and calls to the functions in
:data:`FUNCTIONS`. Rejected: attribute access, calls to anything else, names starting with ``__``,
lambdas, nested comprehensions, set/dict comprehensions and generators, keyword unpacking, huge exponents and huge numbers (|n| < 2**128), lists with more
than 10 000 elements in all (nested lists count every element, so doubling a list through
variables stops), ``round`` with more than 64 digits, ``sum`` of anything but numbers. Each
evaluation therefore takes time and memory bounded by the expression's length. Compiled
expressions are cached by their text.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import CnncalcError, did_you_mean, short

if TYPE_CHECKING:
    import ast

__all__ = ["FUNCTIONS", "Env", "evaluate", "compile_expr", "make_divisible", "is_expression"]

MAX_TEXT = 500  # characters in one expression
MAX_INT_BITS = 128  # |value| < 2**128
MAX_EXPONENT = 256
MAX_SEQ = 10_000  # elements (nested ones included) in a list built by an expression
MAX_NDIGITS = 64  # round(x, n): |n| at most this (round(5, -10**9) would compute 10**10**9)
MAX_CACHE = 20_000  # compiled expressions kept


class Env(dict):
    """Variables of one scope: its own values, then the enclosing scope's, without copying.

    A block instance, a repeat index or an entry's ``in_channels`` each add a small layer on
    top of the spec's variables; copying the whole mapping each time would cost
    O(variables × layers), which a spec with 20 000 variables and a ``repeat`` turns into a hang.
    Lookups of local names stay C-speed; a miss falls through ``__missing__`` to the parent.
    """

    __slots__ = ("parent",)

    def __init__(self, parent: Mapping[str, Any], local: Mapping[str, Any] | None = None) -> None:
        super().__init__(local or ())
        self.parent = parent

    def __missing__(self, key: str) -> Any:
        return self.parent[key]

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.parent

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        return self.parent.get(key, default)

    def all_names(self) -> set[str]:
        """Every visible name (for did-you-mean hints)."""
        return set(self) | set(all_names(self.parent))


def all_names(env: Mapping[str, Any]) -> set[str]:
    return env.all_names() if isinstance(env, Env) else set(env)


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``v`` to the nearest multiple of ``divisor``, never going below 90 % of ``v``.

    This is the rule of the TensorFlow MobileNet/EfficientNet reference code and torchvision's
    ``_make_divisible``: ``new = max(min_value, int(v + divisor/2) // divisor * divisor)``, then add
    ``divisor`` if ``new < 0.9·v``.

    >>> make_divisible(32 * 1.1, 8), make_divisible(16 * 0.75, 8), make_divisible(40 * 1.4, 8)
    (32, 16, 56)
    """
    if divisor <= 0:
        raise CnncalcError(f"make_divisible: divisor must be positive, got {divisor}")
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return int(new_v)


def _round_half_even(x: float, ndigits: int | None = None) -> float | int:
    """Python's ``round`` (half to even), with ``|ndigits| ≤ 64``."""
    if ndigits is None:
        return round(x)
    if isinstance(ndigits, int) and abs(ndigits) > MAX_NDIGITS:
        raise CnncalcError(f"round: ndigits={ndigits} is out of range (at most ±{MAX_NDIGITS})")
    return round(x, ndigits)


def _sum(items: Any, start: Any = 0) -> Any:
    """``sum`` of numbers only (``sum([a, a, …], [])`` would concatenate lists without bound)."""
    if not isinstance(items, list):
        raise CnncalcError(f"sum() expects a list of numbers, got {short(items)}")
    for v in (*items, start):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise CnncalcError(f"sum() adds numbers only, got {short(v)}")
    return sum(items, start)


def _range(*args: Any) -> list[int]:
    """``range`` as a list (at most MAX_SEQ elements)."""
    for a in args:
        if isinstance(a, bool) or not isinstance(a, int):
            raise CnncalcError(f"range() takes integers, got {short(a)}")
    r = range(*args)
    if len(r) > MAX_SEQ:
        raise CnncalcError(f"range() of {len(r):,} elements (at most {MAX_SEQ:,})")
    return list(r)


def _str(v: Any) -> str:
    """``str`` of a number or a string (names built from numbers: ``'features.' + str(i)``)."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise CnncalcError(f"str() takes a number or a string, got {short(v)}")
    return str(v)


def _log(x: Any, base: Any = None) -> float:
    if base is None:
        return math.log(x)
    return math.log(x, base)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "range": _range,
    "str": _str,
    "log": _log,
    "log2": math.log2,
    "min": min,
    "max": max,
    "abs": abs,
    "round": _round_half_even,
    "ceil": math.ceil,
    "floor": math.floor,
    "int": int,
    "float": float,
    "sqrt": math.sqrt,
    "len": len,
    "sum": _sum,
    "make_divisible": make_divisible,
}

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {}


def _init_tables() -> None:
    """Operator tables keyed by ast node types (``ast`` is imported only when an expression is)."""
    import ast

    _BINOPS.update(
        {
            ast.Add: operator.add,
            ast.Sub: operator.sub,
            ast.Mult: operator.mul,
            ast.Div: operator.truediv,
            ast.FloorDiv: operator.floordiv,
            ast.Mod: operator.mod,
            ast.Pow: operator.pow,
        }
    )
    _CMPOPS.update(
        {
            ast.Eq: operator.eq,
            ast.NotEq: operator.ne,
            ast.Lt: operator.lt,
            ast.LtE: operator.le,
            ast.Gt: operator.gt,
            ast.GtE: operator.ge,
            ast.In: lambda a, b: a in b,
            ast.NotIn: lambda a, b: a not in b,
        }
    )


Compiled = Callable[[Mapping[str, Any]], Any]
_cache: dict[str, Compiled] = {}


class _Unknown(CnncalcError):
    """An unknown variable name (carries the name for did-you-mean)."""


#: the integers _check_num lets through lie strictly between ±_INT_LIMIT
_INT_LIMIT = 1 << MAX_INT_BITS


def _check_num(v: Any) -> Any:
    if isinstance(v, complex):
        raise CnncalcError(
            "expression gave a complex number (a negative number to a fractional power?)"
        )
    if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > MAX_INT_BITS:
        raise CnncalcError(f"number too large in expression (more than {MAX_INT_BITS} bits)")
    if isinstance(v, float) and not math.isfinite(v):
        raise CnncalcError("expression gave a non-finite number")
    return v


def _pow(a: Any, b: Any) -> Any:
    if isinstance(b, (int, float)) and abs(b) > MAX_EXPONENT:
        raise CnncalcError(f"exponent {b} is too large (at most {MAX_EXPONENT})")
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a) > 1 and b > 0:
        if math.log2(abs(a)) * b > MAX_INT_BITS:
            raise CnncalcError(f"{a} ** {b} is too large")
    return a**b


def _compile(node: ast.AST, text: str) -> Compiled:  # noqa: C901 - one branch per node type
    import ast

    if isinstance(node, ast.Expression):
        return _compile(node.body, text)
    if isinstance(node, ast.Constant):
        v = node.value
        if v is None or isinstance(v, (bool, int, float, str)):
            _check_num(v)
            return lambda env, v=v: v
        raise CnncalcError(f"constant {short(v)} is not allowed in expression '{text}'")
    if isinstance(node, ast.Name):
        name = node.id
        if name.startswith("__"):
            raise CnncalcError(f"names starting with '__' are not allowed in expression '{text}'")
        if name in ("True", "False", "None"):  # pragma: no cover - parsed as Constant
            val = {"True": True, "False": False, "None": None}[name]
            return lambda env: val

        def get(env: Mapping[str, Any], name: str = name) -> Any:
            try:
                return env[name]
            except KeyError:
                if name in FUNCTIONS:
                    raise CnncalcError(
                        f"'{name}' is a function; call it, e.g. {name}(...)"
                    ) from None
                err = _Unknown(
                    f"unknown variable '{name}' in expression '{text}'",
                    hint=_unknown_hint(name, text, env),
                )
                raise err from None

        return get
    if isinstance(node, ast.BinOp):
        op = type(node.op)
        if op not in _BINOPS:
            raise CnncalcError(f"operator {op.__name__} is not allowed in expression '{text}'")
        fn = _pow if op is ast.Pow else _BINOPS[op]
        left, right = _compile(node.left, text), _compile(node.right, text)

        fast = op is not ast.Pow and op is not ast.Div

        def binop(env: Mapping[str, Any]) -> Any:
            a, b = left(env), right(env)
            if fast and type(a) is int and type(b) is int and b:
                # two plain ints (the common case): +, −, ×, //, % give an int; the checks
                # below would pass it unless it is too large
                v = fn(a, b)
                if -_INT_LIMIT < v < _INT_LIMIT:
                    return v
            if isinstance(a, str) or isinstance(b, str):
                if op is ast.Add and isinstance(a, str) and isinstance(b, str):
                    if len(a) + len(b) > 10_000:
                        raise CnncalcError("string too long in expression")
                    return a + b
                raise CnncalcError(f"cannot do arithmetic on text in expression '{text}'")
            if isinstance(a, list) or isinstance(b, list):
                raise CnncalcError(f"cannot do arithmetic on a list in expression '{text}'")
            for v in (a, b):
                if isinstance(v, dict) or v is None:
                    what = "a mapping" if isinstance(v, dict) else "null (no value)"
                    raise CnncalcError(
                        f"cannot do arithmetic on {what} ({short(v)}) in expression '{text}'",
                        hint="a number is expected here",
                    )
            try:
                return _check_num(fn(a, b))
            except TypeError:
                raise CnncalcError(
                    f"cannot do arithmetic on {short(a)} and {short(b)} in expression '{text}'",
                    hint="a number is expected here",
                ) from None
            except ZeroDivisionError:
                raise CnncalcError(f"division by zero in expression '{text}'") from None
            except OverflowError:
                raise CnncalcError(f"number too large in expression '{text}'") from None

        return binop
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand, text)
        if isinstance(node.op, ast.USub):
            return lambda env: -_num(operand(env), text)
        if isinstance(node.op, ast.UAdd):
            return lambda env: +_num(operand(env), text)
        if isinstance(node.op, ast.Not):
            return lambda env: not operand(env)
        raise CnncalcError(f"operator {type(node.op).__name__} is not allowed in '{text}'")
    if isinstance(node, ast.BoolOp):
        values = [_compile(v, text) for v in node.values]
        if isinstance(node.op, ast.And):

            def and_(env: Mapping[str, Any]) -> Any:
                result: Any = True
                for v in values:
                    result = v(env)
                    if not result:
                        return result
                return result

            return and_

        def or_(env: Mapping[str, Any]) -> Any:
            result: Any = False
            for v in values:
                result = v(env)
                if result:
                    return result
            return result

        return or_
    if isinstance(node, ast.Compare):
        left = _compile(node.left, text)
        ops = [_CMPOPS.get(type(o)) for o in node.ops]
        if any(o is None for o in ops):
            raise CnncalcError(
                f"comparison not allowed in expression '{text}' (use == != < <= > >= in)"
            )
        rights = [_compile(c, text) for c in node.comparators]

        def compare(env: Mapping[str, Any]) -> bool:
            a = left(env)
            for op_fn, r in zip(ops, rights):
                b = r(env)
                try:
                    if not op_fn(a, b):  # type: ignore[misc]
                        return False
                except TypeError:
                    raise CnncalcError(
                        f"cannot compare {short(a)} with {short(b)} in '{text}'"
                    ) from None
                a = b
            return True

        return compare
    if isinstance(node, ast.IfExp):
        test, body, orelse = (_compile(n, text) for n in (node.test, node.body, node.orelse))
        return lambda env: body(env) if test(env) else orelse(env)
    if isinstance(node, (ast.List, ast.Tuple)):
        if len(node.elts) > MAX_SEQ:
            raise CnncalcError(f"list too long in expression '{text[:40]}…'")
        elts = [_compile(e, text) for e in node.elts]

        def display(env: Mapping[str, Any]) -> list[Any]:
            out = [e(env) for e in elts]
            _check_list(out, text)
            return out

        return display
    if isinstance(node, ast.Subscript):
        value = _compile(node.value, text)
        if isinstance(node.slice, ast.Slice):
            return _compile_slice(value, node.slice, text)
        index = _compile(node.slice, text)

        def subscript(env: Mapping[str, Any]) -> Any:
            seq, i = value(env), index(env)
            if not isinstance(seq, list):
                raise CnncalcError(f"cannot index {short(seq)} in expression '{text}': not a list")
            if not isinstance(i, int) or isinstance(i, bool):
                raise CnncalcError(f"list index must be an integer in '{text}', got {short(i)}")
            try:
                return seq[i]
            except IndexError:
                raise CnncalcError(
                    f"index {i} out of range in '{text}' (the list has {len(seq)} items)"
                ) from None

        return subscript
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise CnncalcError(
                f"only calls to {', '.join(sorted(FUNCTIONS))} are allowed: '{text}'"
            )
        fname = node.func.id
        if fname not in FUNCTIONS:
            raise CnncalcError(
                f"unknown function '{fname}' in expression '{text}'",
                hint=did_you_mean(fname, FUNCTIONS, "functions"),
            )
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            raise CnncalcError(f"argument unpacking is not allowed in '{text}'")
        fn = FUNCTIONS[fname]
        args = [_compile(a, text) for a in node.args]
        kwargs = {k.arg: _compile(k.value, text) for k in node.keywords}

        def call(env: Mapping[str, Any]) -> Any:
            a = [x(env) for x in args]
            kw = {k: v(env) for k, v in kwargs.items()}
            try:
                return _check_num(fn(*a, **kw))
            except CnncalcError:
                raise
            except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
                raise CnncalcError(f"{fname}(...) failed in expression '{text}': {exc}") from None

        return call
    if isinstance(node, ast.ListComp):
        return _compile_listcomp(node, text)
    if isinstance(node, ast.JoinedStr):
        return _compile_fstring(node, text)
    if isinstance(node, ast.Attribute):
        raise CnncalcError(
            f"attribute access ('.{node.attr}') is not allowed in expression '{text}'",
            hint="expressions use numbers, variables, operators and "
            + ", ".join(sorted(FUNCTIONS)),
        )
    what = _NODE_NAMES.get(type(node).__name__, f"'{type(node).__name__}'")
    raise CnncalcError(f"{what} is not allowed in expression '{text}'")


def _compile_slice(value: Compiled, sl: ast.Slice, text: str) -> Compiled:
    """``seq[a:b:c]`` of a list or a string (Python's rules; the result is never longer)."""
    parts = [None if p is None else _compile(p, text) for p in (sl.lower, sl.upper, sl.step)]

    def slice_(env: Mapping[str, Any]) -> Any:
        seq = value(env)
        if not isinstance(seq, (list, str)):
            raise CnncalcError(f"cannot slice {short(seq)} in expression '{text}': not a list")
        bounds = [None if p is None else p(env) for p in parts]
        for b in bounds:
            if b is not None and (isinstance(b, bool) or not isinstance(b, int)):
                raise CnncalcError(f"slice bounds must be integers in '{text}', got {short(b)}")
        if bounds[2] == 0:
            raise CnncalcError(f"slice step cannot be zero in '{text}'")
        return seq[slice(*bounds)]

    return slice_


def _compile_listcomp(node: ast.ListComp, text: str) -> Compiled:
    """``[expr for x in seq if cond]``: one ``for`` over a list (≤ MAX_SEQ elements), names as
    targets, no comprehension inside: time stays bounded by MAX_SEQ × the expression's size."""
    import ast

    if len(node.generators) != 1:
        raise CnncalcError(f"a comprehension may have one 'for' only, in '{text}'")
    gen = node.generators[0]
    if gen.is_async:  # pragma: no cover - not parsable in eval mode
        raise CnncalcError(f"async comprehensions are not allowed in '{text}'")
    for sub in ast.walk(node):
        if sub is not node and isinstance(
            sub, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
        ):
            raise CnncalcError(f"a comprehension inside a comprehension is not allowed: '{text}'")
    target = gen.target
    if isinstance(target, ast.Name):
        names = [target.id]
    elif isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts):
        names = [e.id for e in target.elts]  # type: ignore[attr-defined]
    else:
        raise CnncalcError(f"a comprehension's target must be a name in '{text}'")
    if any(n.startswith("__") for n in names):
        raise CnncalcError(f"names starting with '__' are not allowed in expression '{text}'")
    seq = _compile(gen.iter, text)
    conds = [_compile(c, text) for c in gen.ifs]
    elt = _compile(node.elt, text)

    def comp(env: Mapping[str, Any]) -> list[Any]:
        items = seq(env)
        if not isinstance(items, list):
            raise CnncalcError(f"a comprehension iterates over a list, got {short(items)}")
        out = []
        for item in items:
            if len(names) == 1:
                local = {names[0]: item}
            else:
                if not isinstance(item, list) or len(item) != len(names):
                    raise CnncalcError(f"cannot unpack {short(item)} into {names} in '{text}'")
                local = dict(zip(names, item))
            inner = Env(env, local)
            if all(c(inner) for c in conds):
                out.append(elt(inner))
        _check_list(out, text)
        return out

    return comp


def _compile_fstring(node: ast.JoinedStr, text: str) -> Compiled:
    """``f'features.{i + 1}'``: constant text and ``{expr}`` parts, no conversion or format."""
    import ast

    parts: list[Compiled] = []
    for v in node.values:
        if isinstance(v, ast.Constant):
            parts.append(lambda env, s=v.value: s)
        elif isinstance(v, ast.FormattedValue):
            if v.conversion != -1 or v.format_spec is not None:
                raise CnncalcError(
                    f"f-string formats and conversions are not allowed in '{text}'",
                    hint="write {expr} only, e.g. f'stage{i + 1}'",
                )
            inner = _compile(v.value, text)
            parts.append(lambda env, inner=inner: _str(inner(env)))
        else:  # pragma: no cover - JoinedStr holds only these
            raise CnncalcError(f"unsupported f-string part in '{text}'")

    def fstring(env: Mapping[str, Any]) -> str:
        out = "".join(p(env) for p in parts)
        if len(out) > 10_000:
            raise CnncalcError("string too long in expression")
        return out

    return fstring


_NODE_NAMES = {
    "Lambda": "a lambda",
    "ListComp": "a list comprehension",
    "SetComp": "a set comprehension",
    "DictComp": "a dict comprehension",
    "GeneratorExp": "a generator expression",
    "NamedExpr": "assignment (:=)",
    "Dict": "a dict",
    "Set": "a set",
    "JoinedStr": "an f-string",
    "Starred": "unpacking (*)",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield",
}


_KEYWORDS = frozenset({"if", "else", "and", "or", "not", "in", "is", "True", "False", "None"})


def _unknown_hint(name: str, text: str, env: Mapping[str, Any]) -> str:
    """A near variable name, else: a bare word is text only as a whole value; quote it here."""
    import difflib
    import re

    names = all_names(env)
    close = difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.75)
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    if name == "i":
        return (
            "'i' is the repeat index: it exists in the arguments of the entry that has "
            "'repeat' (pass it into a block as a parameter, e.g. {index: i})"
        )
    if not re.search(r"==|!=|\bif\b|\bin\b", text):  # not a text context: list the names
        return did_you_mean(name, names, "variables")
    if "'" in text or '"' in text:
        return f"inside an expression a word that names no variable must be quoted: '{name}'"

    def quote(m: re.Match[str]) -> str:
        w = m.group(0)
        if w in _KEYWORDS or w in names or (w in FUNCTIONS and text[m.end() :].startswith("(")):
            return w
        return f"'{w}'"

    fixed = re.sub(r"(?<![\w.])[A-Za-z_]\w*", quote, text)
    return (
        "a bare word is a plain string only when it is the whole value; inside an expression "
        f'quote the words that name no variable: "{fixed}"'
    )


def _check_list(out: list[Any], text: str) -> None:
    """Bound the elements of a built list, nested ones included (stops after MAX_SEQ)."""
    count = 0
    stack = [out]
    while stack:
        x = stack.pop()
        count += len(x)
        if count > MAX_SEQ:
            raise CnncalcError(
                f"list with more than {MAX_SEQ:,} elements (nested lists included) "
                f"in expression '{text}'"
            )
        stack.extend(y for y in x if isinstance(y, list))


def _num(v: Any, text: str) -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise CnncalcError(f"expected a number in expression '{text}', got {short(v)}")
    return v


def _syntax_hint(text: str) -> str | None:
    """What a badly parsed expression probably meant: ``3x3`` (a shape), or a YAML flow mapping
    that cut ``max(1, 4)`` at its comma."""
    import re

    t = text.strip()
    if re.fullmatch(r"\d+(\s*[x×]\s*\d+)+", t):
        sizes = ", ".join(re.split(r"\s*[x×]\s*", t))
        return f"write a list: [{sizes}]"
    if t.count("(") != t.count(")") or t.count("[") != t.count("]"):
        return (
            "quote an expression that holds commas or brackets inside {…} or […]: YAML splits "
            '{out_channels: max(1, 4)} at the comma; write {out_channels: "max(1, 4)"}'
        )
    return None


def compile_expr(text: str) -> Compiled:
    """Parse ``text`` once and return a function of the variable mapping. Cached by text."""
    fn = _cache.get(text)
    if fn is not None:
        return fn
    import ast

    if not _BINOPS:
        _init_tables()
    if len(text) > MAX_TEXT:
        raise CnncalcError(f"expression longer than {MAX_TEXT} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise CnncalcError(
            f"cannot parse expression '{text}': {exc.msg}", hint=_syntax_hint(text)
        ) from None
    except (MemoryError, RecursionError, ValueError):
        raise CnncalcError(f"expression '{text[:40]}' is too deeply nested") from None
    try:
        fn = _compile(tree, text)
    except RecursionError:
        raise CnncalcError(f"expression '{text[:40]}' is too deeply nested") from None
    if len(_cache) < MAX_CACHE:
        _cache[text] = fn
    return fn


def evaluate(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate the expression ``text`` with the variables in ``env``.

    >>> evaluate("planes * 4", {"planes": 64})
    256
    >>> evaluate("2 if i == 0 else 1", {"i": 0})
    2
    """
    try:
        return compile_expr(text)(env)
    except RecursionError:
        raise CnncalcError(f"expression '{text[:40]}' is too deeply nested") from None


def is_expression(text: str) -> bool:
    """True unless ``text`` is a bare identifier (a word that may be a literal string)."""
    return not text.isidentifier()
