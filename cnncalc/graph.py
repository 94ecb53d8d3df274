"""The layer graph (nodes in execution order) and its wiring: build each layer, check inputs.

Building a layer needs its input shapes (a conv's weight shape depends on its input channels),
so layers are built in order as the graph is expanded, as Keras builds layers: every node of
the result knows its layer (with resolved arguments), its inputs and its output shape. The
graph is a DAG by construction: an entry may only take inputs from layers defined before it.

Expressions see the spec's variables, the block's parameters, the repeat index ``i`` (inside a
``repeat``), and ``in_channels`` / ``in_shape`` of the entry's first input.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .errors import CnncalcError, did_you_mean
from .expr import Env, compile_expr
from .layers import REGISTRY
from .layers.base import Layer, Shape, fmt_shape
from .spec import Spec
from .values import _arg_pos, _value
from .yamlio import Map

__all__ = [
    "BlockCall",
    "Node",
    "Graph",
    "build_graph",
    "MAX_LAYERS",
    "MAX_REPEAT",
    "MAX_BLOCK_DEPTH",
    "MAX_STEPS",
    "MAX_AXIS",
    "MAX_TOTAL",
    "check_axes",
]

#: Bounds on expansion, so that a small hostile spec (a block repeated 10**6 times that repeats
#: another 10**6 times, ten blocks that each use the previous one ten times, …) is refused at
#: once rather than hanging: a static count before building (:func:`cnncalc.expand._static_count`), a
#: projection at the end of each repeat instance, and hard caps while building.
MAX_LAYERS = 250_000  # the CLI needs ~1-5 KB per layer (JSON); real networks have < 10 000
MAX_REPEAT = MAX_LAYERS
MAX_BLOCK_DEPTH = 64
MAX_STEPS = 2 * MAX_LAYERS  # entries visited (skipped ones and repeat instances included)
#: Largest size of one axis (int32, what frameworks index tensors with) and largest total
#: (params, MACs, FLOPs, elements): 2**53 is the largest integer a JSON reader (a float64)
#: holds exactly, so every figure cnncalc prints stays exact for its consumers.
MAX_AXIS = 2**31 - 1
MAX_TOTAL = 2**53


def check_axes(shape: Shape, what: str) -> None:
    """Refuse a shape with an axis above :data:`MAX_AXIS` or more than :data:`MAX_TOTAL` elements."""
    for d in shape:
        if d > MAX_AXIS:
            raise CnncalcError(
                f"{what} has an axis of {d:,}, above the limit of 2³¹ − 1 = {MAX_AXIS:,}",
                hint="sizes are per axis, batch excluded: [channels, height, width]",
            )
    n = 1
    for d in shape:
        n *= d
    if n > MAX_TOTAL:
        raise CnncalcError(
            f"{what} {fmt_shape(shape)} has {n:,} elements, above the limit of 2⁵³ "
            f"= {MAX_TOTAL:,} (figures beyond it are not exact in JSON)"
        )


#: built layers a parsed spec keeps for its next graphs (more: the table starts afresh)
LAYER_CACHE_MAX = 20_000
#: an entry whose last this-many layers in a graph were all new (a repeat whose arguments follow
#: the index: ``out_channels: "8 + i"``) stops looking built layers up and keeping them for the
#: rest of that graph: the keys would only cost time and memory (~400 bytes a layer). Its layers
#: are built and counted the same; only identical layers of that entry are no longer one object.
_MISS_RUN = 256

Pos = tuple[int, int]


class Node:
    """One layer of the graph, built: its layer object, input node names and output shape."""

    __slots__ = (
        "name",
        "layer",
        "inputs",
        "out_shape",
        "trainable",
        "pos",
        "train_only",
        "share",
        "index",
    )

    def __init__(
        self,
        name: str,
        layer: Layer,
        inputs: tuple[str, ...],
        out_shape: Shape,
        trainable: bool,
        pos: Pos | None,
        train_only: bool,
        share: str | None,
        index: int,
    ) -> None:
        self.name = name
        self.layer = layer
        self.inputs = inputs
        self.out_shape = out_shape
        self.trainable = trainable
        self.pos = pos
        self.train_only = train_only
        self.share = share
        self.index = index

    @property
    def type(self) -> str:
        return self.layer.type_name

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.type}, {fmt_shape(self.out_shape)})"


class BlockCall(NamedTuple):
    """One use of a block: its definition's name, parameter values, input and output names."""

    block: str
    params: dict[str, Any]
    inputs: tuple[str, ...]
    output: str
    #: the block definition's names for its inputs (``input`` unless it declares ``inputs``)
    input_names: tuple[str, ...] = ("input",)


@dataclass
class Graph:
    """A built layer graph in execution (topological) order."""

    name: str
    file: str | None
    inputs: dict[str, Shape]
    nodes: list[Node]
    outputs: list[str]
    variables: dict[str, Any]
    variant: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] | None = None
    by_name: dict[str, Node] = field(default_factory=dict)
    #: block-instance and repeat-group names → what they are ("bottleneck", "bottleneck ×3")
    groups: dict[str, str] = field(default_factory=dict)
    #: warnings found while building (cnncalc.checks.Warning_: params_depend_on_input)
    warnings: list[Any] = field(default_factory=list)
    #: block instance → how it was called (its parameters' values, inputs, output); the
    #: PyTorch export writes one class per block from these
    calls: dict[str, BlockCall] = field(default_factory=dict)
    #: the variable overrides the graph was built with (``--set``), as given
    overrides: dict[str, Any] = field(default_factory=dict)

    def shape_of(self, name: str) -> Shape:
        if name in self.inputs:
            return self.inputs[name]
        return self.by_name[name].out_shape

    def freeze(self, upto: str) -> None:
        """Mark every layer up to and including ``upto`` (a layer or block-instance name) frozen."""
        last = None
        for n in self.nodes:
            if n.name == upto or n.name.startswith(upto + "."):
                last = n.index
        if last is None:
            raise CnncalcError(
                f"--freeze: no layer or block named '{upto}'",
                hint=did_you_mean(upto, _freeze_candidates(self.nodes), "layers"),
            )
        for n in self.nodes[: last + 1]:
            n.trainable = False
        self.meta["frozen"] = True  # the spec's expected trainable split no longer applies


def _freeze_candidates(nodes: list[Node]) -> list[str]:
    names = set()
    for n in nodes:
        parts = n.name.split(".")
        for k in range(1, len(parts) + 1):
            names.add(".".join(parts[:k]))
    return sorted(names)


class GraphWiring:
    """Builds layers and wires them into nodes, in order: the half of graph building that knows
    layers, shapes and names, not the spec's blocks, repeats and variables (:mod:`cnncalc.expand`)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.nodes: list[Node] = []
        self.by_name: dict[str, Node] = {}
        self.shapes: dict[str, Shape] = {}
        self.groups: dict[str, str] = {}
        self.calls: dict[str, BlockCall] = {}
        #: entries with several outputs (split): entry name → its output nodes' names
        self.pieces: dict[str, list[str]] = {}
        #: built layers keyed by (type, resolved args, input shapes): layers are immutable after
        #: build, so identical repeated layers share one object (and the analysis counts it once).
        #: The table lives with the spec: graphs built from one parsed spec (a sweep's
        #: configurations, the variants, other input sizes) reuse each other's layers.
        cache = spec.__dict__.get("_built_layers")
        if cache is None or len(cache) > LAYER_CACHE_MAX:
            cache = spec.__dict__["_built_layers"] = {}
        self._layers: dict[Any, Layer] = cache
        arg_plans = spec.__dict__.get("_arg_plans")
        if arg_plans is None or len(arg_plans) > LAYER_CACHE_MAX:
            arg_plans = spec.__dict__["_arg_plans"] = {}
        self._arg_plans: dict[tuple[int, str], tuple[Map, tuple[tuple[str, Any, Any], ...]]] = (
            arg_plans
        )
        #: the entry built last: (raw args, type, argument plan, [layer-cache misses in a row])
        self._last_plan: tuple[Any, ...] = (None, None, (), [0])
        #: (id of an entry's raw args, type) → [its layer-cache misses in a row] (_MISS_RUN)
        self._misses: dict[tuple[int, str], list[int]] = {}

    # -- errors ---------------------------------------------------------------------------------
    def _err(
        self,
        msg: str,
        pos: Pos | None,
        layer: str | None = None,
        ltype: str | None = None,
        hint: str | None = None,
    ) -> CnncalcError:
        line, col = pos if pos else (None, None)
        return CnncalcError(
            msg, file=self.spec.file, line=line, col=col, layer=layer, layer_type=ltype, hint=hint
        )

    def add_layer(
        self,
        t: str,
        raw_args: Map,
        full: str,
        in_names: list[str],
        pos: Pos | None,
        env: dict[str, Any],
        trainable: bool,
        train_only: bool,
        share: str | None,
    ) -> str:
        cls = REGISTRY[t]
        if full in self.shapes:
            raise self._err(f"duplicate layer name '{full}'", pos, full, t)
        if len(self.nodes) >= MAX_LAYERS:
            raise self._err(
                f"more than {MAX_LAYERS:,} layers", pos, full, t, hint="check the repeat counts"
            )
        n_in = len(in_names)
        if n_in < cls.MIN_INPUTS or (cls.MAX_INPUTS is not None and n_in > cls.MAX_INPUTS):
            want = (
                f"{cls.MIN_INPUTS}"
                if cls.MAX_INPUTS == cls.MIN_INPUTS
                else f"at least {cls.MIN_INPUTS}"
                if cls.MAX_INPUTS is None
                else f"{cls.MIN_INPUTS} to {cls.MAX_INPUTS}"
            )
            raise self._err(
                f"takes {want} input(s), given {n_in}",
                pos,
                full,
                t,
                hint="list them with inputs: [a, b]" if cls.MIN_INPUTS > 1 else None,
            )
        shapes = self.shapes
        in_shapes = (shapes[in_names[0]],) if n_in == 1 else tuple([shapes[n] for n in in_names])
        layer = self._build(cls, t, raw_args, full, in_shapes, pos, env)
        index_arg = cls.OUTPUT_INDEX
        if index_arg is not None and layer.args.get(index_arg) is None:
            # one entry, several outputs: one node per output, named full.0, full.1, …
            names = []
            for k in range(layer.num_outputs()):
                piece = self._build(cls, t, raw_args, full, in_shapes, pos, env, {index_arg: k})
                names.append(
                    self._add_node(
                        f"{full}.{k}", piece, t, in_names, pos, trainable, train_only, None
                    )
                )
            self.pieces[full] = names
            return names[0]
        if share is not None:
            return self._add_node(full, layer, t, in_names, pos, trainable, train_only, share)
        # _add_node inline (its name check was made above and building adds no node)
        nodes, out = self.nodes, layer.out_shape
        node = Node(full, layer, tuple(in_names), out, trainable, pos, train_only, None, len(nodes))
        nodes.append(node)
        self.by_name[full] = node
        self.shapes[full] = out
        return full

    def _build(
        self,
        cls: type[Layer],
        t: str,
        raw_args: Map,
        full: str,
        in_shapes: tuple[Shape, ...],
        pos: Pos | None,
        env: dict[str, Any],
        extra: dict[str, Any] | None = None,
    ) -> Layer:
        """Evaluate the arguments, then build the layer (or reuse an identical built one)."""
        try:
            args: dict[str, Any] = {}
            frozen = True
            if raw_args:
                lenv: dict[str, Any] | None = None
                last = self._last_plan  # a repeat builds from one entry: its plan at hand
                if last[0] is raw_args and last[1] == t:
                    plan, misses = last[2], last[3]
                else:
                    plan = self._arg_plan(cls, t, raw_args)
                    misses = self._misses.get((id(raw_args), t))
                    if misses is None:
                        misses = self._misses[(id(raw_args), t)] = [0]
                    self._last_plan = (raw_args, t, plan, misses)
                if misses[0] >= _MISS_RUN:  # this entry's layers all differ: no look-up
                    frozen = False
                for k, mode, v in plan:
                    if mode is _EXPR_SCOPE or mode is _EXPR:  # a compiled expression
                        if mode is _EXPR_SCOPE:  # reads neither in_channels nor in_shape
                            scope = env
                        else:
                            if lenv is None:
                                lenv = _InputEnv(env, in_shapes[0]) if in_shapes else Env(env)
                            scope = lenv
                        try:
                            v = v(scope)
                        except Exception:  # noqa: BLE001 - said again, located, just below
                            mode, v = _SLOW, raw_args[k]
                        else:
                            if isinstance(v, list):
                                frozen = False
                    if mode is _SLOW:
                        if lenv is None:
                            lenv = _InputEnv(env, in_shapes[0]) if in_shapes else Env(env)
                        try:
                            v = _value(v, lenv, cls.ARGS.get(k))
                        except CnncalcError as err:
                            line, col = raw_args.where(k) or pos or (None, None)
                            err.message = f"argument '{k}': {err.message}"
                            raise err.locate(file=self.spec.file, line=line, col=col) from None
                        if isinstance(v, list):
                            frozen = False
                    elif mode is _DICT:  # not hashable: no sharing (normalize refuses it)
                        frozen = False
                    args[k] = v
            if extra:
                args.update(extra)
            key = (t, tuple(args.items()), in_shapes) if frozen else None
            layer = None
            if key is not None:
                try:
                    layer = self._layers.get(key)
                except TypeError:  # an unhashable argument value (normalize refuses it below)
                    key = None
                if raw_args:
                    misses[0] = 0 if layer is not None else misses[0] + 1
            if layer is None:
                layer = cls(t, cls.normalize_args(args))
                layer.build(in_shapes)
                el = layer._out_el  # ≤ MAX_AXIS and not 0: no axis is above it either
                if el > MAX_AXIS or not el:
                    if el > MAX_TOTAL or max(layer.out_shape, default=0) > MAX_AXIS:
                        check_axes(layer.out_shape, "the output")
                if key is not None:
                    try:
                        self._layers[key] = layer
                    except TypeError:  # an unhashable argument value: no sharing
                        pass
            return layer
        except CnncalcError as err:
            line, col = _arg_pos(err, raw_args) or pos or (None, None)
            raise err.locate(
                file=self.spec.file, line=line, col=col, layer=full, layer_type=t
            ) from None

    def _arg_plan(
        self, cls: type[Layer], t: str, raw_args: Map
    ) -> tuple[tuple[str, Any, Any], ...]:
        """How to get each argument of an entry: ``(key, mode, payload)``: a literal (the value),
        an expression (its compiled function: no parsing or look-up per layer), a mapping, or
        anything else (the raw value, evaluated by :func:`cnncalc.values._value` as before).
        Planned once per entry and layer type, kept with the spec like its entry plans."""
        plans = self._arg_plans
        got = plans.get((id(raw_args), t))
        if got is not None and got[0] is raw_args:
            return got[1]
        plan = []
        for k, v in raw_args.items():
            arg = cls.ARGS.get(k)
            if isinstance(v, str):
                if arg is None:  # an unknown argument: normalize refuses it after evaluation
                    plan.append((k, _SLOW, v))
                elif (
                    arg.kind == "str"
                    or v in arg.choices
                    or (arg.kind == "padding" and v in ("same", "valid"))
                ):
                    plan.append((k, _LIT, v))  # a literal word, as _value keeps it
                else:
                    try:
                        fn = compile_expr(v)
                        plan.append((k, _EXPR if _reads_input_names(v) else _EXPR_SCOPE, fn))
                    except CnncalcError:  # said, with its line, when evaluated
                        plan.append((k, _SLOW, v))
            elif isinstance(v, list):
                plan.append((k, _SLOW, v))
            elif isinstance(v, dict):
                plan.append((k, _DICT, v))
            else:
                plan.append((k, _LIT, v))
        out = tuple(plan)
        plans[(id(raw_args), t)] = (raw_args, out)
        return out

    def share_owner(
        self, layer: Layer, share: str, pos: Pos | None, full: str, t: str | None
    ) -> str:
        """The node that owns the weights ``layer`` shares with node ``share`` (checked equal)."""
        target = self.by_name.get(share)
        if target is None:
            raise self._err(f"'share' must name a layer, '{share}' is an input", pos, full, t)
        mine, theirs = _weights_sig(layer), _weights_sig(target.layer)
        if mine != theirs:
            raise self._err(
                f"cannot share weights with '{share}': weight shapes differ ({mine} vs {theirs})",
                pos,
                full,
                t,
            )
        while target.share is not None:
            target = self.by_name[target.share]
        return target.name

    def _add_node(
        self,
        full: str,
        layer: Layer,
        t: str,
        in_names: list[str],
        pos: Pos | None,
        trainable: bool,
        train_only: bool,
        share: str | None,
    ) -> str:
        if full in self.shapes:
            raise self._err(f"duplicate layer name '{full}'", pos, full, t)
        out = layer.out_shape
        if share is not None:
            share = self.share_owner(layer, share, pos, full, t)
        node = Node(
            full,
            layer,
            tuple(in_names),
            out,
            trainable,
            pos,
            train_only,
            share,
            len(self.nodes),
        )
        self.nodes.append(node)
        self.by_name[full] = node
        self.shapes[full] = out
        return full


def _weights_sig(layer: Layer) -> list[tuple[str, Shape]]:
    return [(w.name, w.shape) for w in layer.weights()]


#: how :meth:`GraphWiring._build` gets an argument's value (see :meth:`GraphWiring._arg_plan`)
_LIT, _EXPR, _DICT, _SLOW = "literal", "expression", "mapping", "evaluate"
#: an expression that reads neither ``in_channels`` nor ``in_shape``: evaluated in the entry's
#: own scope, no per-layer input environment
_EXPR_SCOPE = "expression of the scope"


def _reads_input_names(text: str) -> bool:
    """Whether the (compiled, so parsable) expression ``text`` names an input variable."""
    import ast

    return any(
        isinstance(n, ast.Name) and n.id in _IN_NAMES
        for n in ast.walk(ast.parse(text.strip(), mode="eval"))
    )


_IN_NAMES = ("in_channels", "in_shape")


class _InputEnv(Env):
    """``Env(parent, _input_names((shape,)))`` with ``in_channels`` / ``in_shape`` made on first
    use: most layers' expressions read neither, and building them cost a dict and a list each."""

    __slots__ = ("shape",)

    def __init__(self, parent: Mapping[str, Any], shape: Shape) -> None:
        dict.__init__(self)
        self.parent = parent
        self.shape = shape

    def _fill(self) -> None:
        if not dict.__len__(self):
            dict.update(self, _input_names((self.shape,)))

    def __missing__(self, key: str) -> Any:
        if key in _IN_NAMES:
            self._fill()
            return dict.__getitem__(self, key)
        return self.parent[key]

    def __contains__(self, key: object) -> bool:
        return key in _IN_NAMES or key in self.parent

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        if key in _IN_NAMES:
            return self[key]
        return self.parent.get(key, default)

    def all_names(self) -> set[str]:
        self._fill()
        return super().all_names()


def _input_names(in_shapes: tuple[Shape, ...]) -> dict[str, Any]:
    """``in_channels`` / ``in_shape`` of an entry's first input (none for a free tensor)."""
    if not in_shapes:
        return {}
    return {"in_channels": in_shapes[0][0], "in_shape": list(in_shapes[0])}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building: graph building allocates many small
    objects and frees none, so the collector's periodic full scans only cost time (2–3× on
    100k-layer specs). Reference counting still frees everything as usual.

    On resuming, what was made here (the graph, the report: it lives as long as they do) goes
    to the oldest generation at once (``gc.freeze()`` then ``gc.unfreeze()``), as two young
    collections would move it after scanning every object (~5 % of a 100k-layer build);
    skipped when the program froze objects of its own."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def build_graph(
    spec: Spec,
    variant: str | None = None,
    input_shape: Shape | list[int] | Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    channels_last_ok: bool = False,
    bundled: bool = False,
    compare_own_input: bool = True,
) -> Graph:
    """Build the layer graph of ``spec`` (optionally one variant, another input, variable overrides).

    ``input_shape`` overrides the first input, or named inputs given as ``{name: shape}``; the
    variables an input is written in follow it (:func:`cnncalc.expand.expand_spec`). ``bundled``:
    the spec was found by zoo name, so an input it cannot take names the model, not its file.
    """
    from .expand import expand_spec

    try:
        with gc_paused():
            return expand_spec(
                spec,
                variant,
                input_shape,
                overrides,
                channels_last_ok=channels_last_ok,
                bundled=bundled,
                compare_own_input=compare_own_input,
            )
    finally:
        # a spec keeps what its builds made (layers, entry plans) for its next graphs, up to a
        # bound: after a huge graph they are dropped, so they do not outlive the graph
        for key in ("_built_layers", "_plans", "_arg_plans"):
            if len(spec.__dict__.get(key, ())) > LAYER_CACHE_MAX:
                del spec.__dict__[key]
