"""Another input than the spec's own: ``--input`` (a shape, or ``name=shape`` for named inputs).

What changes with the input is said, never silent:

* the variables an input is written in follow it (``input: [3, height, width]`` under 3x50x70
  binds height=50, width=70; an axis computed from variables binds the one number variable
  that reproduces it, else the input is refused with the ``--set`` to use);
* a shape that looks channels-last (a last axis of 1–4, a first of ≥ 16) is refused;
* a changed parameter count becomes a ``params_depend_on_input`` warning comparing the layers
  with the model at its own input;
* an input the model cannot take names the model and its smallest input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import CnncalcError, did_you_mean
from .graph import Graph, Node, Pos
from .layers.base import Shape
from .spec import Spec
from .values import _value

__all__ = [
    "build_at_other_input",
    "given_inputs",
    "refuse_channels_last",
    "bind_input_variables",
    "params_vs_own_input",
]


def build_at_other_input(
    spec: Spec,
    variant: str | None,
    input_shape: Any,
    overrides: dict[str, Any],
    given: dict[str, Shape],
    own: dict[str, Shape],
    bundled: bool,
) -> Graph:
    """Build at the caller's input; compare the parameters with the model at its own input (a
    ``params_depend_on_input`` warning), and when only the caller's input fails, say so with the
    model's smallest input."""

    from .expand import expand_spec

    def at(shape: Any) -> Graph:
        return expand_spec(
            spec, variant, shape, overrides, channels_last_ok=True, compare_own_input=False
        )

    try:
        graph = at(input_shape)
    except CnncalcError as err:
        raise _input_failure(err, spec, variant, given, own, at, bundled) from None
    try:
        at_own = at(None)
    except CnncalcError:
        return graph  # the model does not build at its own input: nothing to compare
    w = _params_differ(at_own, graph)
    if w is not None:
        graph.warnings.append(w)
    return graph


def _input_failure(
    err: CnncalcError,
    spec: Spec,
    variant: str | None,
    given: dict[str, Shape],
    own: dict[str, Shape],
    at: Any,
    bundled: bool,
) -> CnncalcError:
    """``vgg16 --input 3x16x16``: the model, the input and its smallest one, not a path inside
    the installed package. The smallest input keeps the channels and the own input's aspect
    ratio and is found by bisection on the scale (checked by building it)."""
    try:
        at(None)
    except CnncalcError:
        return err  # the spec fails at its own input too: the error is about the spec
    model = variant or spec.name
    name, shape = next(iter(given.items()))
    mine = own[name]
    text = "x".join(map(str, shape))
    smallest = None
    if len(mine) >= 2 and len(shape) == len(mine) and shape[0] == mine[0]:
        base = min(mine[1:])

        def sized(side: int) -> tuple[int, ...]:
            return (mine[0], *(max(1, round(d * side / base)) for d in mine[1:]))

        def builds(side: int) -> bool:
            try:
                at({name: sized(side)})
                return True
            except CnncalcError:
                return False

        lo, hi = 1, base  # builds(base) holds: the own input
        for _ in range(40):
            if hi - lo <= 1 or hi > 1 << 31:
                break
            mid = (lo + hi) // 2
            if builds(mid):
                hi = mid
            else:
                lo = mid
        if builds(lo):
            hi = lo
        smallest = "x".join(map(str, sized(hi)))
    in_zoo = bundled
    where = str(err.message)
    if err.layer:
        where = (
            f"layer '{err.layer}'"
            + (f" ({err.layer_type})" if err.layer_type else "")
            + f": {where}"
        )
    hint = err.hint
    if smallest is not None:
        extra = f"its smallest input is {smallest} (its own: {'x'.join(map(str, mine))})"
        hint = f"{hint}; {extra}" if hint else extra
    out = CnncalcError(
        f"{model} cannot take the input {text}: {where}",
        file=None if in_zoo else spec.file,
        line=None if in_zoo else err.line,
        col=None if in_zoo else err.col,
        hint=hint,
    )
    out.via = [] if in_zoo else err.via
    return out


def given_inputs(
    input_shape: Shape | list[int] | Mapping[str, Any] | None, own: dict[str, Shape]
) -> dict[str, Shape]:
    """The caller's input override as {input name: shape}: a shape means the first input."""
    if input_shape is None:
        return {}
    items = (
        list(input_shape.items())
        if isinstance(input_shape, Mapping)
        else [(next(iter(own)), input_shape)]
    )
    out: dict[str, Shape] = {}
    for k, v in items:
        if k not in own:
            raise CnncalcError(
                f"--input: the spec has no input '{k}'",
                hint=did_you_mean(str(k), own, "inputs") + f" (inputs: {', '.join(own)})",
            )
        shape = tuple(v)
        if not shape or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in shape):
            raise CnncalcError(f"input shape must be positive integers, got {list(shape)}")
        out[k] = shape
    return out


def refuse_channels_last(
    shape: Shape, what: str, spec: Spec, pos: Pos | None, *, written: bool
) -> None:
    """[224, 224, 3] is almost surely channels-last: a last axis of 1–4 and a first of ≥ 16.

    Shapes are channels first; an image given the other way round would build (conv1 → [64,
    112, 2]) and silently count another model. Rank ≥ 3 only: [C, L] signals are ambiguous."""
    if len(shape) < 3 or not (1 <= shape[-1] <= 4) or shape[0] < 16:
        return
    fixed = (shape[-1], *shape[:-1])
    if written:
        meant = "[" + ", ".join(map(str, fixed)) + "]"
        insist = "to keep it as written, add 'channels_last_ok: true' to the spec"
    else:
        meant = "x".join(map(str, fixed))
        insist = "to keep it as given, pass --channels-last-ok"
    line, col = pos or (None, None)
    raise CnncalcError(
        f"{what} {'x'.join(map(str, shape))} looks channels-last: did you mean {meant}? "
        "(channels first, batch excluded)",
        file=spec.file if written else None,
        line=line if written else None,
        col=col if written else None,
        hint=insist,
    )


_WORD = None


def _words(raw: Any) -> set[str]:
    """Identifiers written in a raw value (strings, nested lists and mappings)."""
    global _WORD
    if _WORD is None:
        import re

        _WORD = re.compile(r"(?<![\w.'\"])[A-Za-z_]\w*")
    out: set[str] = set()
    stack = [raw]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            out.update(_WORD.findall(v))
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
    return out


def _model_variables(spec: Spec) -> set[str]:
    """Variables that shape the model: written in a layer or block, directly or through other
    variables (``padded_height`` → ``height``, used by roi_align)."""
    used = _words(list(spec.layers)) | _words([b.layers for b in spec.blocks.values()])
    used |= _words([b.params for b in spec.blocks.values()])
    deps = {k: _words(v) for k, v in spec.variables.items()}
    changed = True
    while changed:
        changed = False
        for k, ws in deps.items():
            if k in used:
                new = (ws & set(deps)) - used
                if new:
                    used |= new
                    changed = True
    return used & set(spec.variables)


def _closure(spec: Spec, names: set[str]) -> set[str]:
    """``names`` and every variable their definitions read, transitively."""
    out, todo = set(names), list(names)
    while todo:
        for w in _words(spec.variables.get(todo.pop())) & set(spec.variables):
            if w not in out:
                out.add(w)
                todo.append(w)
    return out


def bind_input_variables(
    spec: Spec,
    raw_inputs: dict[str, Any],
    given: dict[str, Shape],
    own: dict[str, Shape],
    env: Mapping[str, Any],
    overrides: Mapping[str, Any],
    resolve: Any,
) -> dict[str, Any]:
    """Variables the overridden inputs are written in, bound to the given sizes.

    An axis written as a variable holding a number (``height``) is set (as ``--set`` would).
    An axis computed by an expression (``padded_height: ceil(height / 32) * 32``) sets the one
    number variable it reads that, set to the size, gives the size (height = 640 → 640); when
    none does, it is refused if the variables it reads shape the model elsewhere. An input
    variable nothing else reads needs no binding."""
    model_vars: set[str] | None = None
    bound: dict[str, Any] = {}
    where: dict[str, str] = {}
    for k, shape in given.items():
        raw = raw_inputs[k]
        if not isinstance(raw, list) or len(raw) != len(shape):
            continue  # a literal shape of another rank, or a whole-shape expression: as given
        for axis, (r, want, had) in enumerate(zip(raw, shape, own[k])):
            if not isinstance(r, str):
                continue
            if model_vars is None:
                model_vars = _model_variables(spec)
            deps = _closure(spec, _words(r) & set(spec.variables))
            if not deps & model_vars and not (r in spec.variables and r in model_vars):
                continue
            text = f"input '{k}' axis {axis} ('{r}')"
            settable = (
                r.isidentifier()
                and r in spec.variables
                and not _words(spec.variables[r]) & set(spec.variables)
            )
            if settable and isinstance(env.get(r), int):
                if r in overrides and env[r] != want and r not in bound:
                    raise CnncalcError(
                        f"--input sets {text} to {want}, but --set {r}={env[r]}",
                        hint="give the size once: --input or --set",
                    )
                if r in bound and bound[r] != want:
                    raise CnncalcError(
                        f"--input gives the variable '{r}' two sizes: {bound[r]} ({where[r]}) "
                        f"and {want} ({text})",
                        hint=f"the spec ties these axes together; use sizes that agree, or "
                        f"--set {r}=…",
                    )
                bound[r], where[r] = want, text
            elif want != had:
                root = _solving_root(spec, r, want, deps, env, {**bound}, resolve)
                if root is not None:
                    if root in overrides and env[root] != want:
                        raise CnncalcError(
                            f"--input sets {text} through '{root}' = {want}, but --set "
                            f"{root}={env[root]}",
                            hint="give the size once: --input or --set",
                        )
                    bound[root], where[root] = want, text
                    continue
                names = ", ".join(sorted(deps & model_vars)) or r
                raise CnncalcError(
                    f"--input cannot set {text}: it is computed from {names}, which the model "
                    f"also uses",
                    hint="set the variables instead: "
                    + " ".join(f"--set {n}=…" for n in sorted(deps & model_vars) or [r]),
                )
    return bound


def _solving_root(
    spec: Spec,
    raw: str,
    want: int,
    deps: set[str],
    env: Mapping[str, Any],
    bound: dict[str, Any],
    resolve: Any,
) -> str | None:
    """The variable (defined by a number) among ``deps`` that, set to ``want``, makes the axis
    ``raw`` evaluate to ``want``; None when no such variable does (or several do)."""
    names = set(spec.variables)
    roots = [
        v
        for v in sorted(deps)
        if not _words(spec.variables[v]) & names
        and isinstance(env.get(v), int)
        and not isinstance(env.get(v), bool)
    ]
    found = []
    for v in roots:
        try:
            if _value(raw, resolve({**bound, v: want})) == want:
                found.append(v)
        except CnncalcError:
            continue
    return found[0] if len(found) == 1 else None


def params_vs_own_input(
    spec: Spec,
    variant: str | None,
    overrides: Mapping[str, Any],
    raw_inputs: dict[str, Any],
    graph: Graph,
) -> Any:
    """``--set size=64`` on ``input: [3, size, size]``: the input changed through a variable.
    Compare with the model at its own input (the other overrides kept), as for ``--input``."""
    from .expand import expand_spec

    input_vars = _closure(spec, _words(list(raw_inputs.values())) & set(spec.variables))
    if not input_vars & set(overrides):
        return None
    rest = {k: v for k, v in overrides.items() if k not in input_vars}
    try:
        at_own = expand_spec(
            spec, variant, None, rest, channels_last_ok=True, compare_own_input=False
        )
    except CnncalcError:
        return None
    if at_own.inputs == graph.inputs:
        return None
    return _params_differ(at_own, graph)


def _params_differ(own: Graph, new: Graph) -> Any:
    """A ``params_depend_on_input`` warning naming the layers whose parameters changed."""
    from .checks import Warning_

    def params(g: Graph) -> dict[str, tuple[int, Node]]:
        return {
            n.name: (
                0
                if n.share is not None
                else sum(w.size for w in n.layer.weights() if w.kind == "param"),
                n,
            )
            for n in g.nodes
        }

    a, b = params(own), params(new)
    changed = [name for name in b if name in a and a[name][0] != b[name][0]]
    total_a, total_b = sum(p for p, _ in a.values()), sum(p for p, _ in b.values())
    if total_a == total_b and not changed:
        return None
    parts = []
    for name in changed[:3]:
        la, lb = a[name][1].layer, b[name][1].layer
        xa = la.in_shapes[0] if la.in_shapes else ()
        xb = lb.in_shapes[0] if lb.in_shapes else ()
        if la.type_name in ("linear", "dense") and xa and xb and xa[-1] != xb[-1]:
            parts.append(f"{name} in_features {xa[-1]:,} → {xb[-1]:,}")
        elif la.CATEGORY == "conv" and xa and xb and xa[0] != xb[0]:
            parts.append(f"{name} in_channels {xa[0]:,} → {xb[0]:,}")
        else:
            parts.append(f"{name} params {a[name][0]:,} → {b[name][0]:,}")
    if len(changed) > 3:
        parts.append(f"and {len(changed) - 3} more layers")
    own_in = "x".join(map(str, next(iter(own.inputs.values()))))
    first = changed[0] if changed else new.nodes[-1].name
    return Warning_(
        "params_depend_on_input",
        first,
        f"params differ from the model at its own input ({own_in}): "
        + ", ".join(parts)
        + f"; total {total_a:,} → {total_b:,}",
    )
