"""Spec → layer graph: expand blocks and repeats, evaluate variables and expressions.

This is the spec-language half of graph building; it drives :class:`cnncalc.graph.GraphWiring`,
which builds each layer and wires it in. Building a layer needs its input shapes (a conv's
weight shape depends on its input channels), so layers are built in order as the spec is
expanded, as Keras builds layers. The graph is a DAG by construction: an entry may only take
inputs from layers defined before it.

Expressions see the spec's variables, the block's parameters, the repeat index ``i`` (inside a
``repeat``), and ``in_channels`` / ``in_shape`` of the entry's first input.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import CnncalcError, did_you_mean, short
from .expr import Env
from .graph import (
    LAYER_CACHE_MAX,
    MAX_BLOCK_DEPTH,
    MAX_LAYERS,
    MAX_REPEAT,
    MAX_STEPS,
    BlockCall,
    Graph,
    GraphWiring,
    Node,
    Pos,
    _InputEnv,
    check_axes,
)
from .inputs import (
    bind_input_variables,
    build_at_other_input,
    given_inputs,
    params_vs_own_input,
    refuse_channels_last,
)
from .layers import REGISTRY
from .layers.base import Shape
from .spec import ENTRY_KEYS, BlockDef, Spec
from .values import _int_value, _parse_override, _shape_value, _value
from .yamlio import Map, Seq

__all__ = ["expand_spec", "resolve_variables"]


class _Scope:
    """Names visible to the entries of one layer list (top level or one block instance)."""

    __slots__ = (
        "vars",
        "names",
        "prefix",
        "last",
        "trainable",
        "train_only",
        "stack",
        "counts",
        "seq",
        "top",
        "fans",
        "skipped",
    )

    def __init__(
        self,
        vars: dict[str, Any],
        names: dict[str, str],
        prefix: str,
        last: str,
        trainable: bool,
        train_only: bool,
        stack: tuple[str, ...],
        top: bool,
    ) -> None:
        self.vars = vars
        self.names = names
        self.prefix = prefix
        self.last = last
        self.trainable = trainable
        self.train_only = train_only
        self.stack = stack
        self.counts: dict[str, int] = {}
        self.seq: Seq | None = None
        self.top = top
        #: names of non-chaining repeats → all their copies' outputs (for `inputs:` lists)
        self.fans: dict[str, list[str]] = {}
        #: names bound by skipped entries (`when` false): a later entry may take the name
        self.skipped: set[str] = set()


def _flow(v: Any) -> str:
    """A value as YAML flow text, for showing a fixed entry in a hint."""
    if isinstance(v, list):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, bool):
        return "true" if v else "false"
    return short(v, 40) if not isinstance(v, str) else v


class _Plan(NamedTuple):
    item: Any
    type: str
    args: Map
    meta: Map
    name: str | None
    refs: list[Any] | None
    refs_pos: Pos | None
    first: Map | None
    names: Any
    chain: bool


class _Builder(GraphWiring):
    def __init__(self, spec: Spec, variables: dict[str, Any]) -> None:
        super().__init__(spec)
        self.gvars = variables
        # entry plans are static: kept with the spec for its next graphs, like its built layers
        plans = spec.__dict__.get("_plans")
        if plans is None or len(plans) > LAYER_CACHE_MAX:
            plans = spec.__dict__["_plans"] = {}
        self._plans: dict[int, _Plan] = plans
        #: entries visited so far (bounded by MAX_STEPS), and the enclosing repeat loops:
        #: [count, index, nodes at instance start, size of the previous instance, pos, name, type]
        self.steps = 0
        self._reps: list[list[Any]] = []
        #: block instances already expanded, keyed by what determines their content (see
        #: :meth:`_replay_key`): a later identical instance is copied, not re-expanded.
        self._instances: dict[Any, _Recording] = {}

    # -- expansion ------------------------------------------------------------------------------
    def expand_list(self, seq: Seq, scope: _Scope) -> None:
        scope.seq = seq
        for idx, item in enumerate(seq):
            pos = seq.where(idx) if isinstance(seq, Seq) else None
            if isinstance(item, Map) and item.pos:
                pos = item.pos
            self.expand_entry(item, pos, scope, idx)

    def _split(self, item: Any, pos: Pos | None) -> tuple[str, Any, Map]:
        """An entry is ``type``, or a mapping with one type key (its args) and reserved keys."""
        if isinstance(item, str):
            return item, None, Map()
        if not isinstance(item, Map):
            raise self._err(
                "a layer entry must be a type name or a mapping like "
                f"'- conv2d: {{...}}', got {short(item)}",
                pos,
            )
        type_keys = [k for k in item if k not in ENTRY_KEYS]
        if len(type_keys) != 1:
            if not type_keys:
                raise self._err(
                    "layer entry has no type",
                    pos,
                    hint="write '- relu' or '- conv2d: {out_channels: 64, kernel_size: 3}'; "
                    f"reserved keys: {', '.join(ENTRY_KEYS)}",
                )
            known = [k for k in type_keys if k in REGISTRY or k in self.spec.blocks]
            if len(known) == 1:
                other = next(k for k in type_keys if k != known[0])
                raise self._err(
                    f"unknown key '{short(other)[1:-1] if isinstance(other, str) else short(other)}'"
                    f" in the entry of '{known[0]}'",
                    item.where(other) or pos,
                    item.get("name") if isinstance(item.get("name"), str) else None,
                    known[0],
                    hint=did_you_mean(str(other), ENTRY_KEYS, "entry keys")
                    + f" (an entry has one type key; the others are among: {', '.join(ENTRY_KEYS)})",
                )
            raise self._err(
                f"layer entry has several type keys: {', '.join(map(str, type_keys))}",
                pos,
                hint="one layer per list item; other keys must be among: " + ", ".join(ENTRY_KEYS),
            )
        t = type_keys[0]
        meta = Map()
        meta.pos = item.pos
        for k in item:
            if k != t:
                meta[k] = item[k]
                meta.key_pos[k] = item.key_pos.get(k)
        if not isinstance(t, str):
            raise self._err(f"layer type must be a name, got {short(t)}", pos)
        return t, item[t], meta

    def _resolve_type(self, t: str, scope: _Scope, pos: Pos | None) -> str:
        if t in self.spec.blocks or t in REGISTRY:
            return t
        v = scope.vars.get(t)
        if isinstance(v, str) and (v in self.spec.blocks or v in REGISTRY):
            return v
        known = list(REGISTRY) + list(self.spec.blocks)
        if t in scope.vars:  # a parameter or variable used as the type: its value is wrong
            return self._unknown_type(
                v,
                f"'{t}' = {short(v)} is not a layer type or block (the type comes from the "
                f"{'block parameter' if not scope.top else 'variable'} '{t}')",
                pos,
                known,
            )
        return self._unknown_type(t, f"unknown layer type '{t}'", pos, known)

    def _unknown_type(self, word: Any, message: str, pos: Pos | None, known: list[str]) -> str:
        """Refuse a type: the closest known names (not an alphabetical list) and where all are."""
        import difflib

        close = difflib.get_close_matches(str(word), sorted(set(known)), n=4, cutoff=0.5)
        if not close:  # 'RE' → relu: a prefix or an abbreviation
            low = str(word).lower()
            prefixed = [k for k in set(known) if low and k.startswith(low)]
            close = sorted(prefixed, key=lambda k: (len(k), k))[:4]  # the shortest: relu
        where = f"`cnncalc layers` lists all {len(REGISTRY)} layer types"
        hint = "did you mean " + " or ".join(f"'{c}'" for c in close) + "? " if close else ""
        raise self._err(message, pos, hint=hint + where)

    @staticmethod
    def _train_only_hint(err: CnncalcError, meta: Map, name: str) -> None:
        """A failure inside a train-only branch (Inception's auxiliary classifier, which needs a
        larger input than the main path): say how to leave the branch out."""
        cond = meta.get("when")
        how = (
            f"--set {cond}=false leaves it out"
            if isinstance(cond, str) and cond.isidentifier()
            else "it is not needed for inference"
        )
        note = f"'{name}' is a train-only branch (train_only: true): {how}"
        err.hint = f"{err.hint}; {note}" if err.hint else note

    def _check_entry_keys_in_args(self, plan: _Plan, rtype: str) -> None:
        """``conv2d: {kernel_size: 3, name: c1}``: an entry key written among the arguments."""
        if not plan.args or ENTRY_KEYS.keys().isdisjoint(plan.args):
            return
        block = self.spec.blocks.get(rtype)
        accepted = block.params if block is not None else REGISTRY[rtype].ARGS
        for key in plan.args:
            if key in ENTRY_KEYS and key not in accepted:
                rest = ", ".join(f"{k}: {_flow(v)}" for k, v in plan.args.items() if k != key)
                fixed = f"'- {plan.type}: {{{rest}}}'" if rest else f"'- {plan.type}:'"
                raise self._err(
                    f"'{key}' is an entry key, not an argument of '{rtype}'",
                    plan.args.where(key),
                    plan.name,
                    rtype,
                    hint=f"write it beside the layer type, not inside its arguments: {fixed} and "
                    f"on the next line, aligned with '{plan.type}', '{key}: {_flow(plan.args[key])}'"
                    f" (entry keys: {', '.join(ENTRY_KEYS)})",
                )

    def _ref(self, ref: Any, scope: _Scope, pos: Pos | None, owner: str | None) -> str:
        if not isinstance(ref, str):
            raise self._err(
                f"an input reference must be a layer name, got {short(ref)}", pos, owner
            )
        if ref in scope.names:
            return scope.names[ref]
        if scope.top and (ref in self.by_name or ref in self.shapes):
            return ref
        later = False
        if scope.seq is not None:
            for it in scope.seq:
                if isinstance(it, Map) and it.get("name") == ref:
                    later = True
        if owner is not None and ref == owner.rsplit(".", 1)[-1]:
            raise self._err(
                f"layer '{ref}' takes itself as input (a cycle)",
                pos,
                owner,
                hint="a layer can only take inputs from layers before it",
            )
        if later:
            raise self._err(
                f"input '{ref}' is defined after this layer (a cycle or forward reference)",
                pos,
                owner,
                hint="layers are listed in execution order; a layer can only take inputs from earlier layers",
            )
        raise self._err(
            f"unknown input '{ref}'", pos, owner, hint=did_you_mean(ref, scope.names, "layer names")
        )

    def _plan(self, item: Any, pos: Pos | None) -> _Plan:
        """The static part of an entry (type, args, reserved keys), validated once and cached."""
        plan = self._plans.get(id(item))
        if plan is not None and plan.item is item:
            return plan
        t, raw_args, meta = self._split(item, pos)
        name = meta.get("name")
        if name is not None and (not isinstance(name, (str, int)) or isinstance(name, bool)):
            raise self._err(f"layer name must be a word, got {short(name)}", meta.where("name"))
        name = str(name) if name is not None else None
        # an f-string name is an expression, evaluated (and checked) at each expansion
        if name is not None and not _is_fstring(name) and not _good_name(name):
            raise self._err(
                f"layer name {short(name)} may not contain spaces, commas or brackets "
                "(dots only between words: features.3)",
                meta.where("name"),
            )
        if raw_args is not None and not isinstance(raw_args, Map):
            raise self._err(
                f"arguments of '{t}' must be a mapping like {{out_channels: 64}}, "
                f"got {short(raw_args)}",
                pos,
                name,
                t,
            )
        if "inputs" in meta and "input" in meta:
            raise self._err(
                "give either 'input' or 'inputs', not both", meta.where("inputs"), name, t
            )
        refs = meta.get("inputs", meta.get("input"))
        refs_pos = meta.where("inputs" if "inputs" in meta else "input")
        if refs is not None:
            if isinstance(refs, str):
                refs = [refs]
            if not isinstance(refs, list) or not refs:
                raise self._err(
                    "'inputs' must be a layer name or a non-empty list of names",
                    refs_pos,
                    name,
                    t,
                )
        for key in ("trainable", "train_only"):
            if key in meta and not isinstance(meta[key], bool):
                raise self._err(
                    f"'{key}' must be true or false, got {short(meta[key])}",
                    meta.where(key),
                    name,
                    t,
                )
        if "else" in meta and "when" not in meta:
            raise self._err(
                "'else' names what the entry's name means when 'when' skips it; it needs 'when'",
                meta.where("else"),
                name,
                t,
            )
        first = meta.get("first")
        if first is not None and not isinstance(first, Map):
            raise self._err(
                "'first' must be a mapping of argument overrides", meta.where("first"), name, t
            )
        chain = meta.get("chain", True)
        if not isinstance(chain, bool):
            raise self._err(
                f"'chain' must be true or false, got {short(chain)}", meta.where("chain"), name, t
            )
        names = meta.get("names")
        if names is not None and not isinstance(names, (list, str)):
            raise self._err(
                "'names' must be a list of names (one per copy) or an expression of i, "
                f"got {short(names)}",
                meta.where("names"),
                name,
                t,
            )
        for key in ("names", "chain"):
            if key in meta and "repeat" not in meta:
                raise self._err(
                    f"'{key}' applies to a repeated entry only", meta.where(key), name, t
                )
        plan = _Plan(
            item=item,
            type=t,
            args=raw_args if raw_args is not None else Map(),
            meta=meta,
            name=name,
            refs=refs,
            refs_pos=refs_pos,
            first=first,
            names=names,
            chain=chain,
        )
        self._plans[id(item)] = plan
        return plan

    def expand_entry(self, item: Any, pos: Pos | None, scope: _Scope, idx: int) -> None:
        plan = self._plan(item, pos)
        t, meta, name = plan.type, plan.meta, plan.name
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise self._err(
                f"expanding the spec visits more than {MAX_STEPS:,} entries",
                pos,
                scope.prefix + (name or t),
                t,
                hint="blocks that use other blocks, and repeats, multiply; check the repeat counts",
            )
        if plan.refs is None:
            v = scope.vars.get(t, "")
            cls = REGISTRY.get(t) or (REGISTRY.get(v) if isinstance(v, str) else None)
            in_names = [] if cls is not None and cls.MAX_INPUTS == 0 else [scope.last]
        else:
            in_names = []
            for r in plan.refs:
                fan = scope.fans.get(r) if isinstance(r, str) else None
                if fan is not None:  # a non-chaining repeat: all its copies
                    in_names.extend(fan)
                else:
                    in_names.append(self._ref(r, scope, plan.refs_pos, name))

        env = scope.vars
        if name is not None and _is_fstring(name):
            name = self._name_value(name, meta.where("name") or pos, self._env(env, in_names), t)
        if "when" in meta:
            try:
                cond = _value(meta["when"], self._env(env, in_names))
            except CnncalcError as err:
                line, col = meta.where("when") or pos or (None, None)
                raise err.locate(
                    file=self.spec.file, line=line, col=col, layer=name, layer_type=t
                ) from None
            if not cond:
                # A skipped entry's name refers to its (first) input: a skipped residual add
                # then means the main path, a skipped projection means the block input. With
                # `else`, it refers to the layer named there instead (MViT's projection reads
                # the normed input; without it the shortcut is the raw block input).
                if "else" in meta:
                    target = self._ref(meta["else"], scope, meta.where("else"), name)
                elif not in_names:
                    return
                else:
                    target = in_names[0]
                # Entries may share a name when at most one of them is built (`when`): the
                # built one's binding wins (v1/v2 variants of a block name the norm alike).
                if name is not None and (name not in scope.names or name in scope.skipped):
                    self._define(scope, name, target, meta.where("name"))
                    scope.skipped.add(name)
                scope.last = target  # a skipped entry acts as the identity (or as `else`)
                return

        trainable = scope.trainable and meta.get("trainable", True)
        train_only = scope.train_only or meta.get("train_only", False)
        share = meta.get("share")
        if share is not None:
            share = self._share_ref(share, scope, meta.where("share") or pos, name)

        rtype = self._resolve_type(t, scope, pos)
        self._check_entry_keys_in_args(plan, rtype)
        repeated = "repeat" in meta
        count = 1
        if repeated:
            try:
                count = _int_value(meta["repeat"], self._env(env, in_names), "'repeat'")
            except CnncalcError as err:
                line, col = meta.where("repeat") or pos or (None, None)
                raise err.locate(
                    file=self.spec.file, line=line, col=col, layer=name, layer_type=t
                ) from None
            if count < 0 or count > MAX_REPEAT:
                raise self._err(
                    f"'repeat' must be between 0 and {MAX_REPEAT:,}, got {count:,}",
                    meta.where("repeat"),
                    name,
                    t,
                )
        if name is None:  # auto-names use the resolved type: relu_1, not act_1
            k = scope.counts.get(rtype, 0) + 1
            scope.counts[rtype] = k
            base = f"{rtype}_{k}"
        else:
            base = name
            if base in scope.names and base not in scope.skipped:
                raise self._err(
                    f"duplicate layer name '{base}'",
                    meta.where("name"),
                    scope.prefix + base,
                    t,
                    hint="names must be unique within a layer list or block",
                )
        full_base = scope.prefix + base
        if repeated and count == 0:
            if name is not None:
                if len(in_names) != 1:
                    raise self._err(
                        "an entry repeated 0 times must have one input",
                        meta.where("repeat"),
                        name,
                        t,
                    )
                self._define(scope, base, in_names[0], meta.where("name"))
            return
        args, first = plan.args, plan.first
        out = in_names[0] if in_names else scope.last
        block = self.spec.blocks.get(rtype)
        frame: list[Any] | None = None
        if repeated:
            frame = [count, 0, len(self.nodes), 0, meta.where("repeat") or pos, full_base, rtype]
            self._reps.append(frame)
        outs: list[str] = []
        new_env = dict.__new__
        nested = len(self._reps) > 1  # loops inside loops: _project, which sees them all
        for i in range(count):
            if frame is not None:
                frame[1], frame[2] = i, len(self.nodes)
                self.steps += 1
            if repeated:  # Env(env, {"i": i}) without the call
                ivars = new_env(Env)
                ivars.parent = env
                ivars["i"] = i
            else:
                ivars = env
            iargs = args
            if first is not None and i == 0:
                iargs = Map(args)
                iargs.key_pos = {**args.key_pos, **first.key_pos}
                iargs.update(first)
            inst = f"{full_base}.{i}" if repeated else full_base
            local = None
            if plan.names is not None:
                local = self._copy_name(plan, i, count, ivars, in_names, scope)
                inst = scope.prefix + local
            # repeat chains the first input; the other inputs go to every copy unchanged;
            # `chain: false` gives every copy the entry's inputs (parallel branches)
            ins = in_names if i == 0 or not plan.chain else [out, *in_names[1:]]
            try:
                if block is not None:
                    start = len(self.nodes)
                    out = self.invoke_block(
                        block, iargs, inst, ins, pos, scope, ivars, trainable, train_only
                    )
                    if share is not None:
                        self._share_block(share, start, inst, meta.where("share") or pos, rtype)
                else:
                    out = self.add_layer(
                        rtype, iargs, inst, ins, pos, ivars, trainable, train_only, share
                    )
            except CnncalcError as err:
                if meta.get("train_only") is True and not scope.train_only:
                    self._train_only_hint(err, meta, full_base)
                raise
            outs.append(out)
            if local is not None:
                self._define(scope, local, out, meta.where("names") or pos)
            if frame is not None:
                frame[3] = size = len(self.nodes) - frame[2]
                # _project's estimate for one loop, inline; nested loops (and a refusal) call it
                if i + 1 < count and (
                    nested or len(self.nodes) + (count - i - 1) * size > MAX_LAYERS
                ):
                    self._project()
        if frame is not None:
            self._reps.pop()
        self._define(scope, base, out, meta.where("name") or pos, check=name is not None)
        if not plan.chain:
            scope.fans[base] = outs
        pieces = self.pieces.get(inst)
        if pieces is not None:  # one entry, several outputs: base.0, base.1, …
            for k, piece in enumerate(pieces):
                self._define(scope, f"{base}.{k}", piece, meta.where("name") or pos)
        if repeated and plan.names is None and not (block is not None and block.inline):
            self.groups[full_base] = f"{rtype} ×{count}"
        scope.last = out

    def _copy_name(
        self,
        plan: _Plan,
        i: int,
        count: int,
        env: Mapping[str, Any],
        in_names: list[str],
        scope: _Scope,
    ) -> str:
        """The name of copy ``i`` from ``names:`` (a list, or an expression of ``i``)."""
        raw = plan.names
        pos = plan.meta.where("names")
        if isinstance(raw, list):
            if len(raw) != count:
                raise self._err(
                    f"'names' has {len(raw)} names for {count} copies", pos, plan.name, plan.type
                )
            nm = raw[i]
        else:
            try:
                nm = _value(raw, self._env(env, in_names) if in_names else env)
            except CnncalcError as err:
                line, col = pos or (None, None)
                raise err.locate(file=self.spec.file, line=line, col=col) from None
        if isinstance(nm, bool) or not isinstance(nm, (str, int)) or not _good_name(str(nm)):
            raise self._err(
                f"copy {i}: name {short(nm)} is not a layer name (words and dots: features.3)",
                pos,
                plan.name,
                plan.type,
            )
        return str(nm)

    def _name_value(self, raw: str, pos: Pos | None, env: Mapping[str, Any], t: str) -> str:
        """A ``name:`` written as an f-string (``f'features.{at}'``), evaluated where it stands."""
        try:
            nm = _value(raw, env)
        except CnncalcError as err:
            line, col = pos or (None, None)
            raise err.locate(file=self.spec.file, line=line, col=col, layer_type=t) from None
        if isinstance(nm, bool) or not isinstance(nm, (str, int)) or not _good_name(str(nm)):
            raise self._err(
                f"name {raw} gives {short(nm)}, not a layer name (words and dots: features.3)",
                pos,
                None,
                t,
            )
        return str(nm)

    def _project(self) -> None:
        """Refuse early a repeat whose remaining instances would pass MAX_LAYERS.

        From the innermost loop out: the current instance of a loop is expected to end with at
        least its partial size plus what the inner loops still add, and each remaining instance
        to be as large (the previous instance's size if larger). Instances of a repeat are
        normally alike, so a 1 KB file asking for 10**12 layers stops after the first instance.
        """
        n = len(self.nodes)
        rem = 0
        for count, i, start, prev, pos, name, rtype in reversed(self._reps):
            est = max(n - start + rem, prev)
            rem += (count - i - 1) * est
            if n + rem > MAX_LAYERS:
                raise self._err(
                    f"'repeat: {count:,}' would create about {n + rem:,} layers "
                    f"(each instance has about {est:,}); the limit is {MAX_LAYERS:,}",
                    pos,
                    name,
                    rtype,
                    hint="check the repeat counts",
                )

    def _share_ref(self, ref: Any, scope: _Scope, pos: Pos | None, owner: str | None) -> str:
        """What ``share:`` names: a local layer or block instance, a layer anywhere before (by
        its full name, ``layer1.0.conv1``), or a variable / block parameter holding such a name
        (so a block can share a layer outside it: ``share: proto`` with ``params: {proto: …}``)."""
        if isinstance(ref, str):
            v = scope.vars.get(ref) if ref not in scope.names else None
            name = v if isinstance(v, str) else ref
            for cand in (scope.prefix + name, name):
                if cand in self.groups:  # a block instance: its full name
                    return cand
            if name in scope.names:
                return scope.names[name]
            if name in self.by_name:
                return name
        return self._ref(ref, scope, pos, owner)

    def _share_block(self, target: str, start: int, inst: str, pos: Pos | None, bname: str) -> None:
        """Share every weighted layer of the block instance just built (its nodes from
        ``start``) with the same layer of the instance ``target``, in order; refuse otherwise."""
        mine = [n for n in self.nodes[start:] if n.layer.weights()]
        if target not in self.groups:
            raise self._err(
                f"cannot share weights with '{target}': share on a block invocation must name "
                "another instance of a block",
                pos,
                inst,
                bname,
            )
        prefix = target + "."
        theirs = [n for n in self.nodes if n.name.startswith(prefix) and n.layer.weights()]
        if len(mine) != len(theirs):
            raise self._err(
                f"cannot share weights with '{target}': it has {len(theirs)} layers with "
                f"weights, '{inst}' has {len(mine)}",
                pos,
                inst,
                bname,
            )
        for a, b in zip(mine, theirs):
            if a.share is None:
                a.share = self.share_owner(a.layer, b.name, pos, a.name, a.type)

    def _define(
        self, scope: _Scope, local: str, target: str, pos: Pos | None, check: bool = True
    ) -> None:
        if check and local in scope.names and local not in scope.skipped:
            raise self._err(
                f"duplicate layer name '{local}'",
                pos,
                scope.prefix + local,
                hint="names must be unique within a layer list or block",
            )
        scope.names[local] = target
        scope.skipped.discard(local)

    def _env(self, env: Mapping[str, Any], in_names: list[str]) -> dict[str, Any]:
        if not in_names:
            return Env(env, {})
        return _InputEnv(env, self.shapes[in_names[0]])  # in_channels, in_shape on first use

    def invoke_block(
        self,
        bdef: BlockDef,
        raw_args: Map,
        inst: str,
        in_names: list[str],
        pos: Pos | None,
        scope: _Scope,
        env: dict[str, Any],
        trainable: bool,
        train_only: bool,
    ) -> str:
        if bdef.name in scope.stack:
            chain = " → ".join((*scope.stack, bdef.name))
            raise self._err(
                f"block '{bdef.name}' invokes itself ({chain})",
                pos,
                inst,
                bdef.name,
                hint="blocks may use other blocks but not recursively",
            )
        if len(scope.stack) >= MAX_BLOCK_DEPTH:
            raise self._err(f"blocks nested deeper than {MAX_BLOCK_DEPTH}", pos, inst, bdef.name)
        if len(in_names) != len(bdef.inputs):
            raise self._err(
                f"block '{bdef.name}' takes {len(bdef.inputs)} input(s) ({', '.join(bdef.inputs)}), "
                f"given {len(in_names)}",
                pos,
                inst,
                bdef.name,
            )
        for key in raw_args:
            if key not in bdef.params:
                raise self._err(
                    f"unknown parameter '{key}' for block '{bdef.name}'",
                    raw_args.where(key) or pos,
                    inst,
                    bdef.name,
                    hint=did_you_mean(str(key), bdef.params, "parameters")
                    + f" (accepted: {', '.join(map(str, bdef.params)) or 'none'})",
                )
        params: dict[str, Any] = {}
        if bdef.params:
            caller_env = self._env(env, in_names)
            #: defaults see the caller's names and the parameters before them (filled as we go)
            default_env = Env(caller_env)
        for pname, default in bdef.params.items():
            try:
                if pname in raw_args:
                    params[pname] = default_env[pname] = _value(raw_args[pname], caller_env)
                elif default is None:
                    raise self._err(
                        f"block '{bdef.name}' needs parameter '{pname}'",
                        pos,
                        inst,
                        bdef.name,
                        hint="parameters: "
                        + ", ".join(
                            f"{k}" + ("" if v is None else f"={v}") for k, v in bdef.params.items()
                        ),
                    )
                else:
                    params[pname] = default_env[pname] = _value(default, default_env)
            except CnncalcError as err:
                p = raw_args.where(pname) if pname in raw_args else bdef.params.where(pname)
                line, col = p or pos or (None, None)
                raise err.locate(
                    file=self.spec.file, line=line, col=col, layer=inst, layer_type=bdef.name
                ) from None
        if not bdef.inline:
            self.groups[inst] = bdef.name
        # an inline block's layers carry their own (computed) names: never replayed
        key = (
            None
            if bdef.inline
            else _replay_key(bdef, params, in_names, self.shapes, trainable, train_only)
        )
        rec = self._instances.get(key) if key is not None else None
        if rec is not None:
            out = self._replay(rec, inst, in_names, pos, bdef)
            self.calls[inst] = BlockCall(
                bdef.name, params, tuple(in_names), out, tuple(bdef.inputs)
            )
            return out
        start, steps0, groups0 = len(self.nodes), self.steps, len(self.groups)
        calls0 = len(self.calls)
        child = _Scope(
            vars=Env(self.gvars, params),
            names={n: r for n, r in zip(bdef.inputs, in_names)},
            prefix=scope.prefix if bdef.inline else inst + ".",
            last=in_names[0],
            trainable=trainable,
            train_only=train_only,
            stack=(*scope.stack, bdef.name),
            top=False,
        )
        if bdef.inline:  # auto names (relu_1) count on in the caller's list
            child.counts = scope.counts
        try:
            self.expand_list(bdef.layers, child)
        except CnncalcError as err:
            if bdef.file and err.file == self.spec.file:  # written in an included file
                err.file = bdef.file
            if pos is not None and len(err.via) < 8:
                err.via.append(f"in block '{bdef.name}' as '{inst}', used at line {pos[0]}")
            raise
        if bdef.output is not None:
            if bdef.output not in child.names:
                raise self._err(
                    f"block '{bdef.name}' output '{bdef.output}' is not one of its layers",
                    bdef.pos,
                    inst,
                    bdef.name,
                    hint=did_you_mean(bdef.output, child.names),
                )
            out = child.names[bdef.output]
        else:
            out = child.last
        if key is not None:
            self._instances[key] = _record(
                self, start, inst, in_names, out, self.steps - steps0, groups0, calls0
            )
        if not bdef.inline:
            self.calls[inst] = BlockCall(
                bdef.name, params, tuple(in_names), out, tuple(bdef.inputs)
            )
        return out

    def _replay(
        self, rec: _Recording, inst: str, in_names: list[str], pos: Pos | None, bdef: BlockDef
    ) -> str:
        """Copy a recorded block instance under a new prefix: same layers (shared objects, as the
        layer cache would give), inputs remapped, names re-prefixed. The recording was made by
        a full expansion with the same parameters and input shapes, so it holds what the
        expansion would build again; only the limits and name clashes are checked anew."""
        prefix = inst + "."
        n0 = len(self.nodes)
        if n0 + len(rec.nodes) > MAX_LAYERS:
            raise self._err(
                f"more than {MAX_LAYERS:,} layers",
                pos,
                inst,
                bdef.name,
                hint="check the repeat counts",
            )
        self.steps += rec.steps
        if self.steps > MAX_STEPS:
            raise self._err(
                f"expanding the spec visits more than {MAX_STEPS:,} entries",
                pos,
                inst,
                bdef.name,
                hint="blocks that use other blocks, and repeats, multiply; check the repeat counts",
            )

        def name_of(ref: tuple[int, str]) -> str:
            kind, v = ref
            if kind == _IN:
                return in_names[int(v)]
            if kind == _OWN:
                return prefix + v
            return v

        nodes, by_name, shapes = self.nodes, self.by_name, self.shapes
        index = len(nodes)
        for rel, layer, inputs, out_shape, tr, npos, to, share in rec.nodes:
            full = prefix + rel
            if full in shapes:
                raise self._err(f"duplicate layer name '{full}'", npos, full, layer.type_name)
            # name_of, inline (a call per input is a third of a replayed layer's time)
            node = Node(
                full,
                layer,
                tuple(
                    [
                        prefix + v if k == _OWN else in_names[int(v)] if k == _IN else v
                        for k, v in inputs
                    ]
                ),
                out_shape,
                tr,
                npos,
                to,
                None if share is None else name_of(share),
                index,
            )
            index += 1
            nodes.append(node)
            by_name[full] = node
            shapes[full] = out_shape
        for rel, what in rec.groups:
            self.groups[prefix + rel] = what
        for rel, block, params, inputs, output, input_names in rec.calls:
            self.calls[prefix + rel] = BlockCall(
                block, params, tuple([name_of(r) for r in inputs]), name_of(output), input_names
            )
        return name_of(rec.output)


_IN, _OWN, _EXT = 0, 1, 2


class _Recording(NamedTuple):
    """A block instance as built: its nodes relative to the instance (names without the prefix;
    inputs as the block's k-th input, one of its own layers, or an outside name), its groups,
    its output and the entries it visited."""

    nodes: list[tuple[str, Any, tuple[tuple[int, str], ...], Shape, bool, Any, bool, Any]]
    groups: list[tuple[str, str]]
    output: tuple[int, str]
    steps: int
    #: the block calls made inside the instance (relative names, inputs and output as refs)
    calls: list[
        tuple[
            str, str, dict[str, Any], tuple[tuple[int, str], ...], tuple[int, str], tuple[str, ...]
        ]
    ]


def _frozen(v: Any) -> Any:
    """A hashable copy of a parameter value (lists → tuples); raises TypeError if there is none."""
    if isinstance(v, list):
        return tuple(_frozen(x) for x in v)
    hash(v)
    return (type(v), v)  # 1, 1.0 and True are equal but build different layers


def _replay_key(
    bdef: BlockDef,
    params: dict[str, Any],
    in_names: list[str],
    shapes: Mapping[str, Shape],
    trainable: bool,
    train_only: bool,
) -> Any:
    """What a block instance's content depends on: the block, its parameter values, its input
    shapes and flags. (Its body sees only these, the spec's variables — fixed for the build —
    and names inside it; ``i`` reaches it only through a parameter.) None when a parameter has
    no hashable form (then the instance is expanded as usual)."""
    try:
        frozen = tuple((k, _frozen(v)) for k, v in params.items())
    except TypeError:
        return None
    return (
        bdef.name,
        frozen,
        tuple([shapes[n] for n in in_names]),
        tuple(in_names)
        if len(in_names) > 1 and len(set(in_names)) != len(in_names)
        else len(in_names),
        trainable,
        train_only,
    )


def _record(
    b: _Builder,
    start: int,
    inst: str,
    in_names: list[str],
    out: str,
    steps: int,
    groups0: int,
    calls0: int,
) -> _Recording:
    prefix = inst + "."
    index = {n: k for k, n in enumerate(in_names)}

    def ref(name: str) -> tuple[int, str]:
        if name.startswith(prefix) and name in b.by_name and b.by_name[name].index >= start:
            return (_OWN, name[len(prefix) :])
        if name in index:
            return (_IN, str(index[name]))
        return (_EXT, name)

    nodes = []
    for n in b.nodes[start:]:
        nodes.append(
            (
                n.name[len(prefix) :],
                n.layer,
                tuple([ref(x) for x in n.inputs]),
                n.out_shape,
                n.trainable,
                n.pos,
                n.train_only,
                None if n.share is None else ref(n.share),
            )
        )
    # the groups this instance added are the last ones inserted (dicts keep insertion order)
    added = list(itertools.islice(reversed(b.groups.items()), len(b.groups) - groups0))
    groups = [(g[len(prefix) :], w) for g, w in reversed(added) if g.startswith(prefix)]
    added_calls = itertools.islice(reversed(b.calls.items()), len(b.calls) - calls0)
    calls = [
        (
            name[len(prefix) :],
            c.block,
            c.params,
            tuple([ref(x) for x in c.inputs]),
            ref(c.output),
            c.input_names,
        )
        for name, c in reversed(list(added_calls))
    ]
    return _Recording(nodes, groups, ref(out), steps, calls)


def _is_fstring(name: str) -> bool:
    """``name: "f'features.{at}'"``: a name computed by an f-string expression."""
    return len(name) > 2 and name[0] == "f" and name[1] in "'\"" and name[-1] == name[1]


def _good_name(name: str) -> bool:
    """A layer name: no spaces, commas, brackets or colons; dots only between words."""
    return bool(name) and not (
        any(c in name for c in " ,[]{}:")
        or name.startswith(".")
        or name.endswith(".")
        or ".." in name
    )


def resolve_variables(
    spec: Spec, variant: str | None, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Evaluate the spec's variables in order, after the variant's and the caller's overrides."""
    raw: dict[str, Any] = dict(spec.variables)
    if variant is not None:
        for k, v in spec.variants[variant].items():
            if k in raw:
                raw[k] = v
    for k, v in overrides.items():
        if k not in raw:
            raise CnncalcError(
                f"unknown variable '{k}' (from --set or keyword)",
                file=spec.file,
                hint=did_you_mean(k, raw, "variables"),
            )
        raw[k] = _parse_override(v) if isinstance(v, str) else v
    env: dict[str, Any] = {}
    for k, v in raw.items():
        try:
            env[k] = _value(v, env)
        except CnncalcError as err:
            line, col = spec.variables.where(k) or (None, None)
            err.message = f"variable '{k}': {err.message}"
            raise err.locate(file=spec.file, line=line, col=col) from None
    return env


class _Unknowable(Exception):
    """Raised by any use of a value the static count cannot know (a block parameter, ``i``)."""


class _UnknownValue:
    """Stands for a value known only while building; every operation on it is unknowable."""

    __slots__ = ()

    def _no(self, *args: Any) -> Any:
        raise _Unknowable

    __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = _no  # type: ignore[assignment]
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _no
    __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pow__ = __rpow__ = _no
    __neg__ = __pos__ = __abs__ = __index__ = __int__ = __float__ = __len__ = __iter__ = _no
    __round__ = __trunc__ = __floor__ = __ceil__ = __contains__ = __getitem__ = _no


_UNKNOWN = _UnknownValue()
_STATIC_CAP = 10**30  # keeps the products of nested counts small; far above every limit


def _static_count(spec: Spec, env: Mapping[str, Any]) -> None:
    """Refuse, before building anything, a spec that certainly expands past the limits.

    Counts layers and visited entries as the builder will, from what is known before shapes
    exist: literal and variable-valued ``repeat`` counts and ``when`` conditions, block sizes.
    What depends on block parameters, ``i`` or ``in_channels`` counts as the least it could be
    (``repeat`` 1, ``when`` false), so the result is a lower bound and never refuses a spec the
    builder would accept; the projection in the repeat loops and the hard caps catch the rest.
    Linear in the size of the spec (block sizes are memoised).
    """
    hidden = {"i": _UNKNOWN, "in_channels": _UNKNOWN, "in_shape": _UNKNOWN}
    top_env = Env(env, hidden)
    memo: dict[str, tuple[int, int]] = {}

    def known(raw: Any, venv: Mapping[str, Any]) -> Any:
        try:
            v = _value(raw, venv)
            if isinstance(v, _UnknownValue):
                return _UNKNOWN
            return v
        except Exception:  # noqa: BLE001 - unknowable or invalid: the builder will say which
            return _UNKNOWN

    def entry(item: Any, venv: Mapping[str, Any], stack: tuple[str, ...]) -> tuple[int, int, int]:
        """(layers, steps, repeat count) of one entry: lower bounds."""
        if isinstance(item, str):
            t, meta = item, None
        elif isinstance(item, Map):
            keys = [k for k in item if k not in ENTRY_KEYS]
            if len(keys) != 1 or not isinstance(keys[0], str):
                return 0, 1, 1
            t, meta = keys[0], item
        else:
            return 0, 1, 1
        if meta is not None and "when" in meta:
            cond = known(meta["when"], venv)
            try:
                if cond is _UNKNOWN or not cond:
                    return 0, 1, 1
            except Exception:  # noqa: BLE001
                return 0, 1, 1
        rep = 1
        if meta is not None and "repeat" in meta:
            r = known(meta["repeat"], venv)
            if isinstance(r, float) and r.is_integer():
                r = int(r)
            rep = r if isinstance(r, int) and not isinstance(r, bool) and r >= 0 else 1
            rep = min(rep, _STATIC_CAP)
        bname = t if t in spec.blocks else None
        if bname is None and t not in REGISTRY:
            v = venv.get(t) if t not in spec.blocks else None
            if isinstance(v, str) and v in spec.blocks:
                bname = v
            elif not (isinstance(v, str) and v in REGISTRY):
                return 0, 1, rep
        if bname is None:
            layers, steps = 1, 0
        else:
            layers, steps = block(bname, stack)
        inst = 1 if meta is not None and "repeat" in meta else 0
        return (
            min(rep * layers, _STATIC_CAP),
            min(1 + rep * (inst + steps), _STATIC_CAP),
            rep,
        )

    def block(bname: str, stack: tuple[str, ...]) -> tuple[int, int]:
        if bname in memo:
            return memo[bname]
        if bname in stack or len(stack) >= MAX_BLOCK_DEPTH:
            return 0, 0  # the builder reports the cycle or the depth
        bdef = spec.blocks[bname]
        benv = Env(env, {**hidden, **{p: _UNKNOWN for p in bdef.params}})
        layers = steps = 0
        for item in bdef.layers:
            el, es, _ = entry(item, benv, (*stack, bname))
            layers, steps = min(layers + el, _STATIC_CAP), min(steps + es, _STATIC_CAP)
        memo[bname] = (layers, steps)
        return layers, steps

    layers = steps = 0
    for idx, item in enumerate(spec.layers):
        el, es, rep = entry(item, top_env, ())
        layers += el
        steps += es
        if layers > MAX_LAYERS or steps > MAX_STEPS:
            pos = item.pos if isinstance(item, Map) and item.pos else spec.layers.where(idx)
            if isinstance(item, Map) and "repeat" in item:
                pos = item.where("repeat")
            if layers > MAX_LAYERS:
                what = f"at least {layers:,} layers (limit {MAX_LAYERS:,})"
                each = f"{rep:,} × {el // max(rep, 1):,} layers" if rep > 1 else f"{el:,} layers"
            else:
                what = f"at least {steps:,} entries to visit (limit {MAX_STEPS:,})"
                each = f"{es:,} of them"
            line, col = pos or (None, None)
            raise CnncalcError(
                f"the spec expands to {what}; this entry alone makes {each}",
                file=spec.file,
                line=line,
                col=col,
                hint="check the repeat counts, and blocks that use other blocks (sizes multiply)",
            )


def expand_spec(
    spec: Spec,
    variant: str | None,
    input_shape: Shape | list[int] | Mapping[str, Any] | None,
    overrides: Mapping[str, Any] | None,
    *,
    channels_last_ok: bool = False,
    compare_own_input: bool = True,
    bundled: bool = False,
) -> Graph:
    """Build a spec's graph. ``input_shape`` overrides the first input (a shape) or named inputs
    (``{name: shape}``); the variables an input is written in follow it (``input: [3, height,
    width]`` under 3x50x70 binds height=50, width=70), or the override is refused when it cannot
    be bound. When it changes the parameter count, the graph carries a
    ``params_depend_on_input`` warning comparing it with the model at its own input."""
    if variant is not None and variant not in spec.variants:
        raise CnncalcError(
            f"'{variant}' is not a variant of {spec.name}",
            file=spec.file,
            hint=did_you_mean(variant, spec.variants, "variants"),
        )
    overrides = dict(overrides or {})
    env = resolve_variables(spec, variant, overrides)
    vdef = spec.variants.get(variant) if variant else None
    raw_inputs = dict(spec.inputs)
    if vdef is not None and "input" in vdef:
        first = next(iter(raw_inputs))
        raw_inputs[first] = vdef["input"]
    doc = spec.doc
    positions: dict[str, Pos | None] = {}
    for k in raw_inputs:
        if vdef is not None and "input" in vdef and k == next(iter(raw_inputs)):
            positions[k] = vdef.where("input")
        elif "input" in doc:
            positions[k] = doc.where("input")
        elif isinstance(doc.get("inputs"), Map):
            positions[k] = doc["inputs"].where(k)
        else:
            positions[k] = None
    channels_last_ok = channels_last_ok or bool(spec.meta.get("channels_last_ok"))

    def shapes_at(env: Mapping[str, Any]) -> dict[str, Shape]:
        return {
            k: _shape_value(raw, env, f"input '{k}'", spec, positions[k])
            for k, raw in raw_inputs.items()
        }

    inputs = own = shapes_at(env)
    if not channels_last_ok:
        for k, shape in own.items():
            refuse_channels_last(shape, f"input '{k}'", spec, positions[k], written=True)
    given = given_inputs(input_shape, own)
    if given:
        for shape in given.values():
            check_axes(shape, "the input")
            if not channels_last_ok:
                refuse_channels_last(shape, "--input", spec, None, written=False)
        bound = bind_input_variables(
            spec,
            raw_inputs,
            given,
            own,
            env,
            overrides,
            lambda extra: resolve_variables(spec, variant, {**overrides, **extra}),
        )
        if bound:
            env = resolve_variables(spec, variant, {**overrides, **bound})
            inputs = shapes_at(env)
        inputs = {**inputs, **given}
    _static_count(spec, env)
    if given and compare_own_input and inputs != own:
        return build_at_other_input(spec, variant, input_shape, overrides, given, own, bundled)
    b = _Builder(spec, env)
    b.shapes.update(inputs)
    first_input = next(iter(inputs))
    scope = _Scope(
        vars=env,
        names={k: k for k in inputs},
        prefix="",
        last=first_input,
        trainable=True,
        train_only=False,
        stack=(),
        top=True,
    )
    try:
        b.expand_list(spec.layers, scope)
    except CnncalcError as err:
        if spec.layers_file and err.file == spec.file:  # the layers of an `extends` base
            err.file = spec.layers_file
        raise
    if not b.nodes:
        raise CnncalcError(
            "the spec has no layers after expansion (every entry skipped or repeated 0 times)",
            file=spec.file,
        )
    if spec.outputs:
        outputs = []
        for o in spec.outputs:
            pos = doc.where("outputs")
            outputs.append(b._ref(o, scope, pos, None))
    else:
        outputs = [scope.last]
    expected: dict[str, Any] | None = None
    if spec.expected is not None:
        expected = dict(spec.expected)
    if vdef is not None and "expected" in vdef:
        expected = {**(expected or {}), **dict(vdef["expected"])}
    if overrides or inputs != own:
        expected = None  # the figures describe the spec as written, not this other model
    meta = dict(spec.meta)
    if vdef is not None:
        for k in ("description", "year", "notes", "convention", "expected_warnings"):
            if k in vdef:
                meta[k] = vdef[k]
    name = variant or spec.name
    graph = Graph(
        name=name,
        file=spec.file,
        inputs=inputs,
        nodes=b.nodes,
        outputs=outputs,
        variables=env,
        variant=variant,
        meta=meta,
        expected=expected,
        by_name=b.by_name,
        groups=b.groups,
        calls=b.calls,
        overrides=dict(overrides or {}),
    )
    if compare_own_input and overrides and not given:
        w = params_vs_own_input(spec, variant, overrides, raw_inputs, graph)
        if w is not None:
            graph.warnings.append(w)
    return graph
