"""Parsed spec: the validated top-level structure of a YAML architecture file.

This module checks the *shape of the document* (known keys, right types, blocks well formed);
it knows no layer type. Turning layers into a graph is :mod:`cnncalc.graph`'s job.
The format is documented with examples in ``specs/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .errors import CnncalcError, did_you_mean, short
from .yamlio import Map, Seq, load_yaml, load_yaml_file

__all__ = ["Spec", "BlockDef", "parse_spec", "TOP_KEYS", "ENTRY_KEYS", "BLOCK_KEYS", "VARIANT_KEYS"]

TOP_KEYS = {
    "name": "model name",
    "family": "family name (e.g. resnet)",
    "description": "one line describing the model",
    "source": "where the architecture and figures come from",
    "year": "year of publication",
    "notes": "free text: conventions, differences from the source",
    "caveats": "lines printed with every analysis (e.g. what a static model leaves out)",
    "input": "input shape without batch, channels first, e.g. [3, 224, 224]",
    "inputs": "several named inputs: {name: shape}",
    "variables": "named values usable in expressions, evaluated in order",
    "blocks": "reusable parameterised blocks",
    "layers": "the list of layers (and block invocations)",
    "outputs": "names of the output layers (default: the last layer)",
    "variants": "named members of a family: {name: {variable overrides, input, expected}}",
    "default_variant": "the variant used when the family name is given",
    "expected": "published figures the zoo test checks: params, macs, output_shape, …",
    "include": "spec files or bundled models whose variables and blocks this spec uses",
    "extends": "a spec file or bundled model this spec starts from (every key overridable)",
    "convention": "the counting convention the model is published in: pytorch or keras",
    "expected_warnings": "warning codes the design intends (not shown; --warn all shows them)",
    "channels_last_ok": "true: an input like [224, 224, 3] is meant as written (not refused)",
}
#: what `extends:` takes from its base (the rest describes the base model itself)
INHERITED_KEYS = ("input", "inputs", "variables", "blocks", "layers", "outputs", "family", "source")
MAX_INCLUDE_DEPTH = 8
ENTRY_KEYS = {
    "name": "layer or block-instance name",
    "inputs": "names of the input layers (default: the previous layer)",
    "input": "name of the single input layer",
    "repeat": "invoke this entry N times in a chain (names get .0, .1, …; `i` is the index)",
    "first": "argument overrides for the first repeat (e.g. stride 2)",
    "when": "expression; the entry is skipped when false (its name then refers to its input)",
    "else": "with when: the layer the skipped entry's name refers to instead of its input",
    "trainable": "false to freeze the weights of this layer or block",
    "train_only": "true for branches that exist only in training (counted in params, not in MACs)",
    "share": "name of a layer whose weights this one reuses (params counted once)",
    "names": "with repeat: the copies' names (a list, or an expression of i like f'features.{i}')",
    "chain": "with repeat: false to give every copy the entry's inputs (parallel branches)",
}
BLOCK_KEYS = {
    "params": "parameters with defaults (null = required)",
    "inputs": "names of the block's inputs (default: [input])",
    "layers": "the block's layers",
    "output": "name of the layer whose output is the block's output (default: the last)",
    "description": "what the block is",
    "inline": "true: its layers join the caller's list under their own names, not the instance's",
}
VARIANT_KEYS = {
    "input",
    "expected",
    "description",
    "year",
    "notes",
    "convention",
    "expected_warnings",
}


class BlockDef(NamedTuple):
    name: str
    params: Map
    inputs: list[str]
    layers: Seq
    output: str | None
    pos: tuple[int, int] | None
    #: the file the block is written in, when another than the spec's (include / extends)
    file: str | None = None
    #: ``inline: true``: no instance name; its layers are named in the caller's scope
    inline: bool = False


@dataclass
class Spec:
    """The validated document. Raw values (expressions) stay unevaluated until the graph is built."""

    file: str | None
    doc: Map
    name: str
    inputs: dict[str, Any]
    variables: Map
    blocks: dict[str, BlockDef]
    layers: Seq
    outputs: list[str] | None
    variants: dict[str, Map]
    default_variant: str | None
    expected: Map | None
    meta: dict[str, Any] = field(default_factory=dict)
    #: the file the layers are written in, when another than the spec's (extends)
    layers_file: str | None = None

    def err(self, message: str, pos: tuple[int, int] | None = None, **kw: Any) -> CnncalcError:
        line, col = pos if pos else (None, None)
        return CnncalcError(message, file=self.file, line=line, col=col, **kw)


def _error(
    message: str, *, file: str | None, pos: tuple[int, int] | None, **kw: Any
) -> CnncalcError:
    """A spec error at ``pos`` (a (line, column) pair, or None where the place is not known)."""
    line, col = pos or (None, None)
    return CnncalcError(message, file=file, line=line, col=col, **kw)


def _pos(node: Any, key: Any = None) -> tuple[int, int] | None:
    if isinstance(node, (Map, Seq)):
        return node.where(key)
    return None


def check_keys(m: Map, allowed: dict[str, str] | set[str], what: str, file: str | None) -> None:
    for key in m:
        if key not in allowed:
            line, col = m.where(key) or (None, None)
            listing = ", ".join(sorted(allowed))
            raise CnncalcError(
                f"unknown key '{key}' in {what}",
                file=file,
                line=line,
                col=col,
                hint=f"{did_you_mean(str(key), allowed, 'keys')} (accepted: {listing})",
            )


def parse_spec(doc: Any, file: str | None = None, default_name: str = "model") -> Spec:
    """Validate the top-level structure of a loaded YAML document."""
    if not isinstance(doc, Map):
        if isinstance(doc, dict):
            doc = _to_map(doc)
        else:
            kind = type(doc).__name__ if doc is not None else "empty"
            raise CnncalcError(
                f"a spec must be a mapping with 'input' and 'layers', got {kind}",
                file=file,
                line=1,
                col=1,
                hint="start the file with 'input: [3, 224, 224]' and 'layers:'",
            )
    check_keys(doc, TOP_KEYS, "the spec", file)
    origins: dict[str, str] = {}
    if "include" in doc or "extends" in doc:
        doc, origins = _with_bases(doc, file)

    def need(cond: bool, key: str, msg: str) -> None:
        if not cond:
            raise _error(msg, file=file, pos=doc.where(key))

    name = doc.get("name", default_name)
    need(isinstance(name, str) and bool(name), "name", "'name' must be a non-empty string")
    for key in ("family", "description", "source", "notes"):
        if key in doc:
            need(
                isinstance(doc[key], str),
                key,
                f"'{key}' must be text, got {type(doc[key]).__name__}",
            )
    if "caveats" in doc:
        cav = doc["caveats"]
        need(
            isinstance(cav, str)
            or (isinstance(cav, list) and all(isinstance(c, str) for c in cav)),
            "caveats",
            "'caveats' must be text or a list of texts",
        )
    if "year" in doc:
        need(
            isinstance(doc["year"], (int, str)) and not isinstance(doc["year"], bool),
            "year",
            "'year' must be a year like 2015",
        )
    if "expected" in doc:
        need(
            isinstance(doc["expected"], Map),
            "expected",
            "'expected' must be a mapping of published figures (params: 25557032, …)",
        )
        _check_expected(doc["expected"], file, "'expected'")

    if "input" in doc and "inputs" in doc:
        need(
            False, "inputs", "give either 'input' (one shape) or 'inputs' (named shapes), not both"
        )
    if "input" in doc:
        inputs = {"input": doc["input"]}
    elif "inputs" in doc:
        raw = doc["inputs"]
        need(isinstance(raw, Map) and len(raw) > 0, "inputs", "'inputs' must map names to shapes")
        inputs = dict(raw)
        for k in inputs:
            need(
                isinstance(k, str) and k.isidentifier(),
                "inputs",
                f"input name {k!r} must be a word",
            )
    else:
        raise CnncalcError(
            "missing the input shape",
            file=file,
            line=1,
            col=1,
            hint="add 'input: [channels, height, width]' (batch excluded), e.g. input: [3, 224, 224]",
        )
    for k, v in inputs.items():
        pos = _pos(doc.get("inputs", doc), k) if "inputs" in doc else doc.where("input")
        if not isinstance(v, (list, str, int)) or isinstance(v, bool):
            raise _error(
                f"input shape of '{k}' must be a list like [3, 224, 224], got {short(v)}",
                file=file,
                pos=pos,
            )

    variables = doc.get("variables", Map())
    need(isinstance(variables, Map), "variables", "'variables' must be a mapping of name: value")
    for k in variables:
        if not (isinstance(k, str) and k.isidentifier()):
            raise _error(
                f"variable name {k!r} must be a word (letters, digits, _)",
                file=file,
                pos=variables.where(k),
            )

    blocks: dict[str, BlockDef] = {}
    raw_blocks = doc.get("blocks", Map())
    need(
        isinstance(raw_blocks, Map),
        "blocks",
        "'blocks' must be a mapping of block name: definition",
    )
    for bname, bdef in raw_blocks.items():
        bpos = raw_blocks.where(bname)
        if not isinstance(bdef, Map):
            raise _error(f"block '{bname}' must be a mapping with 'layers'", file=file, pos=bpos)
        check_keys(bdef, BLOCK_KEYS, f"block '{bname}'", file)
        params = bdef.get("params", Map())
        if params is None:
            params = Map()
        if not isinstance(params, Map):
            raise _error(
                f"'params' of block '{bname}' must be a mapping",
                file=file,
                pos=bdef.where("params"),
            )
        binputs = bdef.get("inputs", ["input"])
        if isinstance(binputs, str):
            binputs = [binputs]
        if (
            not isinstance(binputs, list)
            or not binputs
            or not all(isinstance(x, str) for x in binputs)
        ):
            raise _error(
                f"'inputs' of block '{bname}' must be a list of names",
                file=file,
                pos=bdef.where("inputs"),
            )
        blayers = bdef.get("layers")
        if not isinstance(blayers, Seq) or not blayers:
            raise _error(
                f"block '{bname}' needs a non-empty 'layers' list",
                file=file,
                pos=bdef.where("layers") or bpos,
            )
        out = bdef.get("output")
        if out is not None and not isinstance(out, str):
            raise _error(
                f"'output' of block '{bname}' must be a layer name",
                file=file,
                pos=bdef.where("output"),
            )
        inline = bdef.get("inline", False)
        if not isinstance(inline, bool):
            raise _error(
                f"'inline' of block '{bname}' must be true or false, got {short(inline)}",
                file=file,
                pos=bdef.where("inline"),
            )
        blocks[str(bname)] = BlockDef(
            str(bname),
            params,
            list(binputs),
            blayers,
            out,
            bpos,
            origins.get(f"block {bname}"),
            inline,
        )

    layers = doc.get("layers")
    if not isinstance(layers, Seq) or not layers:
        line, col = doc.where("layers") or (1, 1)
        raise CnncalcError(
            "the spec needs a non-empty 'layers' list",
            file=file,
            line=line,
            col=col,
            hint="layers:\n  - conv2d: {out_channels: 6, kernel_size: 5}",
        )

    outputs = doc.get("outputs")
    if outputs is not None:
        if isinstance(outputs, str):
            outputs = [outputs]
        need(
            isinstance(outputs, list) and all(isinstance(o, str) for o in outputs),
            "outputs",
            "'outputs' must be a list of layer names",
        )

    variants: dict[str, Map] = {}
    raw_variants = doc.get("variants", Map())
    need(
        isinstance(raw_variants, Map), "variants", "'variants' must map variant names to overrides"
    )
    for vname, v in raw_variants.items():
        if v is None:
            v = Map()
        if not isinstance(v, Map):
            raise _error(
                f"variant '{vname}' must be a mapping of overrides",
                file=file,
                pos=raw_variants.where(vname),
            )
        for key in v:
            if key not in VARIANT_KEYS and key not in variables:
                raise _error(
                    f"variant '{vname}' sets '{key}', which is not a variable of the spec",
                    hint=did_you_mean(
                        str(key), list(variables) + sorted(VARIANT_KEYS), "variables"
                    ),
                    file=file,
                    pos=v.where(key),
                )
        if "expected" in v:
            if not isinstance(v["expected"], Map):
                raise _error(
                    f"'expected' of variant '{vname}' must be a mapping of figures",
                    file=file,
                    pos=v.where("expected"),
                )
            _check_expected(v["expected"], file, f"'expected' of variant '{vname}'")
        variants[str(vname)] = v
    default_variant = doc.get("default_variant")
    if default_variant is not None and not isinstance(default_variant, str):
        need(False, "default_variant", "'default_variant' must be the name of a variant")
    if default_variant is not None and default_variant not in variants:
        raise _error(
            f"default_variant '{default_variant}' is not a variant",
            hint=did_you_mean(str(default_variant), variants),
            file=file,
            pos=doc.where("default_variant"),
        )
    for where, m in [(None, doc), *variants.items()]:
        _check_convention_keys(m, file, where)
    if "channels_last_ok" in doc:
        need(
            isinstance(doc["channels_last_ok"], bool),
            "channels_last_ok",
            "'channels_last_ok' must be true or false",
        )
    expected = doc.get("expected")
    meta = {
        k: doc[k]
        for k in (
            "family",
            "description",
            "source",
            "year",
            "notes",
            "caveats",
            "convention",
            "expected_warnings",
            "channels_last_ok",
        )
        if k in doc
    }
    return Spec(
        file=file,
        doc=doc,
        name=name,
        inputs=inputs,
        variables=variables,
        blocks=blocks,
        layers=layers,
        outputs=outputs,
        variants=variants,
        default_variant=default_variant,
        expected=expected if isinstance(expected, Map) else None,
        meta=meta,
        layers_file=origins.get("layers"),
    )


_RESOLVING: list[str] = []  # the chain of files being resolved (include / extends cycles)


def _base(ref: Any, file: str | None, key: str, pos: Any) -> tuple[Spec, str | None]:
    """The spec ``ref`` names: a path (relative to the including file) or a bundled model."""
    from .zoo import resolve, specs_dir

    line, col = pos or (None, None)
    if not isinstance(ref, str) or not ref:
        raise CnncalcError(
            f"'{key}' must name a spec file or a bundled model, got {short(ref)}",
            file=file,
            line=line,
            col=col,
        )
    looks_like_path = ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref
    source: Any = ref
    if looks_like_path:
        source = (Path(file).parent / ref) if file and not Path(ref).is_absolute() else Path(ref)
    elif (specs_dir() / f"{ref}.yaml").is_file():  # bundled, or a shared `_name.yaml` there
        source = specs_dir() / f"{ref}.yaml"
    key_file = str(Path(source).resolve()) if isinstance(source, Path) else f"zoo:{ref}"
    if key_file in _RESOLVING or len(_RESOLVING) >= MAX_INCLUDE_DEPTH:
        chain = " → ".join([*_RESOLVING, key_file])
        raise CnncalcError(
            f"'{key}: {ref}' "
            + ("includes itself" if key_file in _RESOLVING else "nests too deeply")
            + f" ({chain})",
            file=file,
            line=line,
            col=col,
            hint=f"specs may include one another at most {MAX_INCLUDE_DEPTH} deep, without cycles",
        )
    _RESOLVING.append(key_file)
    try:
        r = resolve(source)
    except CnncalcError as err:
        if err.file is None:
            err.message = f"'{key}: {ref}': {err.message}"
            raise err.locate(file=file, line=line, col=col) from None
        raise
    finally:
        _RESOLVING.pop()
    return r.spec, r.variant


def _with_bases(doc: Map, file: str | None) -> tuple[Map, dict[str, str]]:
    """``doc`` with its ``include`` / ``extends`` bases merged in, and where keys came from.

    ``include`` (a name or a list): the bases' variables and blocks, later ones overriding
    earlier ones. ``extends`` (one name): every key of :data:`INHERITED_KEYS` of the base (at its
    variant, for a bundled variant), include's first. The spec's own keys override all of them;
    variables and blocks merge by name (an overridden variable keeps the base's place, so the
    variables after it see the new value).
    """
    variables: Map = Map()
    blocks: Map = Map()
    origins: dict[str, str] = {}
    out = Map()
    out.pos, out.key_pos = doc.pos, dict(doc.key_pos)

    def take(spec: Spec, variant: str | None, keys: tuple[str, ...]) -> None:
        bdoc = spec.doc
        raw_vars = Map(spec.variables)
        raw_vars.key_pos = dict(spec.variables.key_pos)
        if variant is not None:
            for k, v in spec.variants[variant].items():
                if k in raw_vars:
                    raw_vars[k] = v
        variables.update(raw_vars)
        for name, b in spec.blocks.items():
            blocks[name] = bdoc["blocks"][name]
            origins[f"block {name}"] = b.file or spec.file or ""
        for k in keys:
            if k in ("variables", "blocks") or k not in bdoc:
                continue
            if k in ("input", "inputs") and ("input" in doc or "inputs" in doc):
                continue
            out[k] = bdoc[k]
            if k == "input" and variant is not None and "input" in spec.variants[variant]:
                out[k] = spec.variants[variant]["input"]
            if k == "layers":
                origins["layers"] = spec.layers_file or spec.file or ""

    inc = doc.get("include")
    if inc is not None:
        refs = inc if isinstance(inc, list) else [inc]
        for i, ref in enumerate(refs):
            pos = inc.where(i) if isinstance(inc, Seq) else doc.where("include")
            take(*_base(ref, file, "include", pos), ())
    if "extends" in doc:
        take(*_base(doc["extends"], file, "extends", doc.where("extends")), INHERITED_KEYS)
    own_vars = doc.get("variables")
    if isinstance(own_vars, Map):
        variables.update(own_vars)
        variables.key_pos.update(own_vars.key_pos)
    own_blocks = doc.get("blocks")
    if isinstance(own_blocks, Map):
        for name in own_blocks:
            origins.pop(f"block {name}", None)
        blocks.update(own_blocks)
        blocks.key_pos.update(own_blocks.key_pos)
    for k, v in doc.items():
        if k in ("include", "extends"):
            continue
        out[k] = v
        if k == "layers":
            origins.pop("layers", None)
    if variables or "variables" in doc:
        out["variables"] = variables if own_vars is None or isinstance(own_vars, Map) else own_vars
    if blocks or "blocks" in doc:
        out["blocks"] = blocks if own_blocks is None or isinstance(own_blocks, Map) else own_blocks
    return out, origins


def _check_expected(exp: Map, file: str | None, what: str) -> None:
    """Unknown keys in ``expected`` are errors (a typo would silently check nothing)."""
    from .expected import EXPECTED_KEYS, KERAS_KEYS

    check_keys(exp, EXPECTED_KEYS, what, file)
    keras = exp.get("keras")
    if keras is not None:
        if not isinstance(keras, Map):
            raise _error(
                f"'keras' in {what} must map {', '.join(KERAS_KEYS)} to figures",
                file=file,
                pos=exp.where("keras"),
            )
        check_keys(keras, dict.fromkeys(KERAS_KEYS, ""), f"'keras' of {what}", file)
    shapes = exp.get("shapes")
    if shapes is not None and not isinstance(shapes, Map):
        raise _error(
            f"'shapes' in {what} must map layer names to shapes", file=file, pos=exp.where("shapes")
        )


def _check_convention_keys(m: Map, file: str | None, variant: str | None) -> None:
    """``convention: keras`` and ``expected_warnings: [code, …]`` (top level or a variant)."""
    from .checks import WARNING_CODES

    what = f"variant '{variant}'" if variant else "the spec"
    if "convention" in m and m["convention"] not in ("pytorch", "keras"):
        raise _error(
            f"'convention' of {what} must be pytorch or keras, got {short(m['convention'])}",
            file=file,
            pos=m.where("convention"),
        )
    if "expected_warnings" in m:
        codes = m["expected_warnings"]
        line, col = m.where("expected_warnings") or (None, None)
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise CnncalcError(
                f"'expected_warnings' of {what} must be a list of warning codes",
                file=file,
                line=line,
                col=col,
                hint=f"codes: {', '.join(WARNING_CODES)}",
            )
        for c in codes:
            if c not in WARNING_CODES:
                raise CnncalcError(
                    f"unknown warning code '{c}' in expected_warnings",
                    file=file,
                    line=line,
                    col=col,
                    hint=did_you_mean(c, WARNING_CODES, "codes"),
                )


def _to_map(obj: Any) -> Any:
    """Wrap plain dicts/lists (a spec given as a Python dict) into position-less Map/Seq."""
    if isinstance(obj, dict):
        m = Map()
        for k, v in obj.items():
            m[k] = _to_map(v)
        return m
    if isinstance(obj, (list, tuple)):
        s = Seq()
        s.extend(_to_map(v) for v in obj)
        return s
    return obj


def read_spec(source: str | Path | dict, name_hint: str | None = None) -> Spec:
    """Load a spec from a file path, YAML text is not accepted here (use :func:`spec_from_text`)."""
    if isinstance(source, dict):
        return parse_spec(_to_map(source), None, name_hint or "model")
    path = Path(source)
    doc = load_yaml_file(path)
    return parse_spec(doc, str(source), name_hint or path.stem)


def spec_from_text(text: str, file: str | None = None) -> Spec:
    return parse_spec(load_yaml(text, file), file, Path(file).stem if file else "model")
