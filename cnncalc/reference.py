"""The layer-type reference, generated from the registry (``cnncalc layers``, ``docs/layers.md``).

Everything comes from the layer classes: names and aliases (``NAMES``), arguments with kinds,
defaults and docs (``ARGS``), inputs (``MIN_INPUTS``/``MAX_INPUTS``), ranks fixed by the name
(``RANKS``), and the shape rule and parameter/MAC/FLOP formulas written in each class docstring.
One entry per class, so aliases share it. The docs cannot drift: ``tests/test_reference.py``
checks that ``docs/layers.md`` equals :func:`reference_markdown`.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from typing import Any

from .errors import CnncalcError, did_you_mean

__all__ = [
    "LayerDoc",
    "ArgDoc",
    "layer_docs",
    "find_layer_doc",
    "reference_markdown",
    "reference_text",
    "reference_index",
    "reference_json",
    "REGENERATE",
]

#: The command that regenerates ``docs/layers.md``.
REGENERATE = "python -m cnncalc layers --format markdown --output docs/layers.md"

#: Categories in reading order; unknown categories follow, alphabetically.
CATEGORY_ORDER = (
    "conv",
    "linear",
    "attention",
    "embedding",
    "norm",
    "activation",
    "pool",
    "merge",
    "resize",
    "reshape",
    "regularization",
    "other",
)


@dataclass(frozen=True)
class ArgDoc:
    name: str
    kind: str
    accepts: str  # Arg.expects(): "an integer ≥ 1"
    default: str  # YAML spelling; "required" when required
    required: bool
    doc: str


@dataclass(frozen=True)
class LayerDoc:
    """One layer class as documented: what ``cnncalc layers TYPE`` prints."""

    cls_name: str
    names: tuple[str, ...]
    category: str
    summary: str  # the docstring's first line
    body: str  # the rest of the docstring: shape rule, weights, MACs, FLOPs
    args: tuple[ArgDoc, ...]
    inputs: str  # "1", "≥ 2", "1–2"
    ranks: dict[str, int]
    forward: bool  # has a NumPy forward

    @property
    def name(self) -> str:
        return self.names[0]

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["names"] = list(self.names)
        d["args"] = [dict(a.__dict__) for a in self.args]
        return d


def _yaml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(_yaml_value(x) for x in v) + "]"
    return str(v)


def _inputs(lo: int, hi: int | None) -> str:
    if hi is None:
        return f"≥ {lo}"
    if hi == lo:
        return str(lo)
    return f"{lo}–{hi}"


def _doc_of(cls: type) -> LayerDoc:
    from .layers.base import Layer

    text = inspect.cleandoc(cls.__doc__ or "")
    summary, _, body = text.partition("\n")
    args = tuple(
        ArgDoc(
            name=k,
            kind=a.kind,
            accepts=a.expects(),
            default="required" if a.required else _yaml_value(a.default),
            required=a.required,
            doc=a.doc,
        )
        for k, a in cls.ARGS.items()  # type: ignore[attr-defined]
    )
    return LayerDoc(
        cls_name=cls.__name__,
        names=tuple(cls.NAMES),  # type: ignore[attr-defined]
        category=cls.CATEGORY,  # type: ignore[attr-defined]
        summary=summary.strip(),
        body=body.strip(),
        args=args,
        inputs=_inputs(cls.MIN_INPUTS, cls.MAX_INPUTS),  # type: ignore[attr-defined]
        ranks=dict(cls.RANKS),  # type: ignore[attr-defined]
        forward=getattr(cls, "forward", None) is not Layer.forward,
    )


def layer_docs() -> list[LayerDoc]:
    """One entry per registered class, by category (``CATEGORY_ORDER``) then registration order."""
    from .layers import REGISTRY

    classes: list[type] = []
    for cls in REGISTRY.values():
        if cls not in classes:
            classes.append(cls)
    order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    docs = [_doc_of(c) for c in classes]
    ranked = sorted(
        enumerate(docs),
        key=lambda p: (order.get(p[1].category, len(order)), p[1].category, p[0]),
    )
    return [d for _, d in ranked]


def find_layer_doc(type_name: str) -> LayerDoc:
    """The entry of a type name or alias (``dense`` → the Linear entry)."""
    from .layers import REGISTRY

    cls = REGISTRY.get(type_name)
    if cls is None:
        raise CnncalcError(
            f"unknown layer type '{type_name}'",
            hint=did_you_mean(type_name, REGISTRY, "layer types")
            + " (`cnncalc layers` lists them all)",
        )
    return _doc_of(cls)


# --- plain text -----------------------------------------------------------------------------


def reference_index(docs: list[LayerDoc] | None = None) -> str:
    """Every layer class in two lines: its type names (category, inputs), then its summary."""
    docs = layer_docs() if docs is None else docs
    out: list[str] = []
    for d in docs:
        out.append(f"{', '.join(d.names)}  [{d.category}; inputs: {d.inputs}]")
        out.append(f"    {_plain(d.summary)}")
    names = sum(len(d.names) for d in docs)
    out.append("")
    out.append(
        f"{len(docs)} layer classes, {names} type names. `cnncalc layers TYPE` shows one in full "
        "(arguments, shape rule, formulas); `--format markdown` writes the reference."
    )
    return "\n".join(out) + "\n"


def reference_text(doc: LayerDoc, asked: str | None = None) -> str:
    """One layer type in full, for the terminal, headed by the name asked for."""
    head = asked if asked in doc.names else doc.name
    others = [n for n in doc.names if n != head]
    also = f" (aliases: {', '.join(others)})" if others else ""
    out = [
        f"{head}{also}",
        f"class {doc.cls_name}; category {doc.category}; inputs: {doc.inputs}"
        + ("; NumPy forward" if doc.forward else "; no NumPy forward"),
        "",
        _plain(doc.summary),
    ]
    if doc.body:
        out += ["", *("    " + line if line else "" for line in _plain(doc.body).splitlines())]
    if doc.ranks:
        out += ["", "Spatial rank fixed by the name: " + _ranks(doc.ranks)]
    out.append("")
    if doc.args:
        rows = [("Argument", "Default", "Accepts", "Meaning")]
        rows += [(a.name, a.default, a.accepts, _plain(a.doc)) for a in doc.args]
        w = [max(len(r[i]) for r in rows) for i in range(3)]
        out.append("Arguments:")
        out += [f"  {r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}".rstrip() for r in rows]
    else:
        out.append("Arguments: none")
    return "\n".join(out) + "\n"


def _ranks(ranks: dict[str, int]) -> str:
    return ", ".join(f"{k} → {v}-D" for k, v in ranks.items())


# --- markdown -------------------------------------------------------------------------------


def _plain(text: str) -> str:
    """reST-ish docstring text for a terminal or a code block: ``code`` → code, :data:`X` → X."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "")


def _md(text: str) -> str:
    """reST-ish docstring text to markdown: ``code`` → `code`, :func:`x` → `x`; escape pipes."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _md_cell(text: str) -> str:
    return _md(text).replace("|", "\\|")


def _anchor(doc: LayerDoc) -> str:
    return doc.cls_name.lower()


def layer_markdown(doc: LayerDoc) -> str:
    """One layer class as a markdown section."""
    names = ", ".join(f"`{n}`" for n in doc.names)
    out = [
        f"### {doc.cls_name}",
        "",
        f"Type names: {names}. Category: {doc.category}; inputs: {doc.inputs}; NumPy forward: "
        + ("yes." if doc.forward else "no."),
        "",
        _md(doc.summary),
        "",
    ]
    if doc.body:
        # Shape rule and formulas, line by line as written in the class docstring.
        out += ["```text", _plain(doc.body), "```", ""]
    if doc.ranks:
        out += [f"Spatial rank fixed by the name: {_ranks(doc.ranks)}.", ""]
    if doc.args:
        out += ["| Argument | Default | Accepts | Meaning |", "|:---|:---|:---|:---|"]
        out += [
            f"| `{a.name}` | {'**required**' if a.required else '`' + a.default + '`'} | "
            f"{_md_cell(a.accepts)} | {_md_cell(a.doc)} |"
            for a in doc.args
        ]
    else:
        out.append("No arguments.")
    out.append("")
    return "\n".join(out)


def _convention() -> str:
    """The counting convention, as written once in :mod:`cnncalc.layers.base`."""
    from .layers import base

    doc = inspect.cleandoc(base.__doc__ or "")
    _, sep, rest = doc.partition("Counting convention")
    if not sep:
        return ""
    rest = rest.split(":", 1)[1] if ":" in rest.split("\n", 1)[0] else rest
    return _md(rest.strip())


def reference_markdown(docs: list[LayerDoc] | None = None) -> str:
    """The whole reference (``docs/layers.md``), or the given entries only."""
    whole = docs is None
    docs = layer_docs() if docs is None else docs
    if not whole:
        return "\n".join(layer_markdown(d) for d in docs)
    out = [
        "# Layer types",
        "",
        f"<!-- Generated from the layer registry by `{REGENERATE}`; do not edit by hand. -->",
        "",
        "Every type name a spec may use, with its arguments, shape rule and how its parameters, "
        "MACs and FLOPs are counted. Shapes exclude the batch; axis 0 is channels.",
        "",
    ]
    conv = _convention()
    if conv:
        out += ["## Counting convention", "", conv, ""]
    out += ["## Contents", ""]
    cats: list[str] = []
    for d in docs:
        if d.category not in cats:
            cats.append(d.category)
    for cat in cats:
        entries = [d for d in docs if d.category == cat]
        out.append(
            f"- [{cat}](#category-{cat}): "
            + "; ".join(
                f"[{d.cls_name}](#{_anchor(d)}) ({', '.join(f'`{n}`' for n in d.names)})"
                for d in entries
            )
        )
    out.append("")
    for cat in cats:
        out += [f"## Category: {cat}", ""]
        out += [layer_markdown(d) for d in docs if d.category == cat]
    return "\n".join(out).rstrip() + "\n"


def reference_json(docs: list[LayerDoc] | None = None) -> str:
    docs = layer_docs() if docs is None else docs
    return json.dumps([d.to_dict() for d in docs], indent=2, ensure_ascii=False) + "\n"
