"""Raw YAML values → Python values: expressions evaluated, literals kept where a literal is meant.

Shared by the spec expansion (:mod:`cnncalc.expand`: variables, block parameters, repeat counts)
and the graph wiring (:mod:`cnncalc.graph`: a layer's arguments).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import CnncalcError, short
from .expr import evaluate
from .layers.base import Arg, Shape
from .yamlio import Map, load_yaml

Pos = tuple[int, int]


def _value(raw: Any, env: Mapping[str, Any], arg: Arg | None = None) -> Any:
    """Evaluate a raw YAML value: strings are expressions except where a literal is meant.

    With ``arg`` (a layer argument): a string that is one of the argument's literal choices
    ('same', 'valid', 'bilinear', …) is kept. Without (block parameters, variables): a bare word
    that names no variable is kept as a literal string, so ``mode: bilinear`` passes through.
    """
    if isinstance(raw, str):
        if arg is not None:
            if (
                arg.kind == "str"
                or raw in arg.choices
                or (arg.kind == "padding" and raw in ("same", "valid"))
            ):
                return raw
            return evaluate(raw, env)
        if raw.isidentifier() and raw not in env and raw not in ("True", "False", "None"):
            return raw
        return evaluate(raw, env)
    if isinstance(raw, list):
        return [_value(x, env, arg) for x in raw]
    return raw


_ARG_IN_MESSAGE = None


def _arg_pos(err: CnncalcError, raw_args: Map) -> Pos | None:
    """Line of the argument a layer's error is about (``argument 'stride'``, ``groups=3``).

    A layer's shape rule knows no lines; when its message names an argument the entry gave, the
    error points at that argument's line (inside a block definition for a block's layers).
    """
    global _ARG_IN_MESSAGE
    if not raw_args or err.line is not None:
        return None
    if _ARG_IN_MESSAGE is None:
        import re

        _ARG_IN_MESSAGE = re.compile(r"argument '(\w+)'|\b(\w+)=|\b(kernel)\b")
    for m in _ARG_IN_MESSAGE.finditer(err.message):
        key = m.group(1) or m.group(2) or ("kernel_size" if m.group(3) else None)
        if key in raw_args:
            where = raw_args.where(key)
            if where is not None:
                return where
    return None


def _int_value(raw: Any, env: Mapping[str, Any], what: str) -> int:
    v = _value(raw, env)
    if (
        isinstance(v, bool)
        or not isinstance(v, (int, float))
        or (isinstance(v, float) and not v.is_integer())
    ):
        raise CnncalcError(f"{what} must be an integer, got {short(v)}")
    return int(v)


def _parse_override(text: str) -> Any:
    """A ``--set name=value`` value: a YAML scalar/list (10, 0.5, true, [1, 2]) or an expression."""
    try:
        return load_yaml(text)
    except CnncalcError:
        return text


def _shape_value(raw: Any, env: Mapping[str, Any], what: str, spec: Any, pos: Pos | None) -> Shape:
    try:
        v = _value(raw, env)
        if isinstance(v, int) and not isinstance(v, bool):
            v = [v]
        if not isinstance(v, list) or not v:
            raise CnncalcError(f"{what} must be a list of sizes like [3, 224, 224], got {short(v)}")
        out = []
        for d in v:
            if (
                isinstance(d, bool)
                or not isinstance(d, (int, float))
                or (isinstance(d, float) and not d.is_integer())
            ):
                raise CnncalcError(f"{what} sizes must be positive integers, got {short(d)}")
            if d <= 0:
                raise CnncalcError(
                    f"{what} sizes must be positive, got {int(d)}",
                    hint="shapes exclude the batch: [channels, height, width]",
                )
            out.append(int(d))
        return tuple(out)
    except CnncalcError as err:
        line, col = pos or (None, None)
        raise err.locate(file=spec.file, line=line, col=col) from None
