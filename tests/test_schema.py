"""The JSON outputs (summary, compare, list, explain) against docs/schema.json (draft 2020-12).

With the ``jsonschema`` package the documents are validated in full; without it, a small
checker of the keywords the schema uses (type, required, properties, additionalProperties,
items, $ref, oneOf/anyOf/allOf, const, enum, minimum/maximum, minItems) runs instead, so CI
always checks the contract.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import cnncalc

from .conftest import ROOT, run_cli

SCHEMA = json.loads((ROOT / "docs" / "schema.json").read_text(encoding="utf-8"))

_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
    "integer": int,
    "number": (int, float),
}


def _is(value: Any, t: str) -> bool:
    if t in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[t])


def errors(value: Any, schema: dict, path: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (the subset of draft 2020-12 docs/schema.json uses)."""
    out: list[str] = []
    if "$ref" in schema:
        node: Any = SCHEMA
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        out += errors(value, node, path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, t) for t in types):
            return out + [f"{path}: {type(value).__name__} is not {types}"]
    if "const" in schema and value != schema["const"]:
        out.append(f"{path}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{path}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{path}: {value} > {schema['maximum']}")
    for sub in schema.get("allOf", []):
        out += errors(value, sub, path)
    for key, pick in (("oneOf", lambda n: n == 1), ("anyOf", lambda n: n >= 1)):
        if key in schema:
            n = sum(not errors(value, sub, path) for sub in schema[key])
            if not pick(n):
                out.append(f"{path}: matches {n} of the {key} choices")
    if isinstance(value, dict):
        for k in schema.get("required", []):
            if k not in value:
                out.append(f"{path}: missing '{k}'")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                out += errors(v, props[k], f"{path}.{k}")
            elif extra is False:
                out.append(f"{path}: unexpected key '{k}'")
            elif isinstance(extra, dict):
                out += errors(v, extra, f"{path}.{k}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            out.append(f"{path}: fewer than {schema['minItems']} items")
        if "items" in schema:
            for i, v in enumerate(value):
                out += errors(v, schema["items"], f"{path}[{i}]")
    return out


def _documents() -> list[tuple[str, Any]]:
    """Every JSON document the CLI writes (summary and compare in their option variants, list,
    explain) and the library's dicts."""
    docs = []
    for args in (
        ("summary", "resnet50"),
        ("summary", "resnet18", "--depth", "1"),
        ("summary", "resnet18", "--tree", "--depth", "2"),
        ("summary", "googlenet_aux"),  # train-only layers
        ("summary", "resnet50", "--convention", "keras", "--freeze", "layer2"),
        ("summary", "lenet5", "--columns", "name,kernel,connected", "--rf"),
        ("compare", "lenet5", "mnist_cnn", "--stages"),
        ("compare", "resnet50", "lenet5", "--input", "1x8x8"),  # a model that cannot take it
        ("compare", "resnet18", "resnet18", "--set", "num_classes=10", "--sort", "params"),
    ):
        p = run_cli(*args, "--format", "json")
        assert p.returncode == 0, (args, p.stderr)
        docs.append((" ".join(args), json.loads(p.stdout)))
    for args in (("list",), ("explain", "googlenet", "--layer", "inception3a")):
        p = run_cli(*args, "--format", "json")
        assert p.returncode == 0, (args, p.stderr)
        docs.append((" ".join(args), json.loads(p.stdout)))
    docs.append(("Report.to_dict()", cnncalc.analyze("vgg16").to_dict()))
    docs.append(("Comparison.to_dict()", cnncalc.compare(["alexnet", "vgg11"]).to_dict(True)))
    e = cnncalc.explain("lenet5")
    docs.append(("Explanation", {"name": "lenet5", "variant": None, "layers": e.to_dict()}))
    return docs


DOCS = _documents()


@pytest.mark.parametrize("name, doc", DOCS, ids=[d[0] for d in DOCS])
def test_structure_without_jsonschema(name, doc):
    assert errors(doc, SCHEMA) == []


@pytest.mark.parametrize("name, doc", DOCS, ids=[d[0] for d in DOCS])
def test_validates_with_jsonschema(name, doc):
    jsonschema = pytest.importorskip(
        "jsonschema", reason="the jsonschema package (test extra) validates docs/schema.json fully"
    )
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def test_the_checker_catches_what_schema_version_1_looked_like():
    """Both checks must fail on the old shapes: a bare compare list, v1 totals names."""
    d = cnncalc.analyze("lenet5").to_dict()
    old = json.loads(json.dumps(d))
    old["schema_version"] = 1
    t = old["totals"]
    t["activations"] = t.pop("activation_elements")
    t["layers_with_weights"] = t.pop("weighted_layers")
    assert errors(old, SCHEMA)
    assert errors([d, d], SCHEMA)  # compare's v1 form: a bare list
    assert errors(d, SCHEMA) == []


def test_summary_v2_names():
    d = json.loads(run_cli("summary", "lenet5", "-f", "json").stdout)
    t = d["totals"]
    assert d["schema_version"] == 2
    assert "activations" not in t and "layers_with_weights" not in t and "layers" not in t
    # LeNet-5 has 2 convs + 3 linear layers on its one path (the paper's C1, C3, C5, F6, output)
    assert t["depth"] == 5 and t["layer_count"] == len(d["layers"])
    assert t["activation_bytes"] == 4 * t["activation_elements"]  # float32
    assert d["layers"][0]["kernel"] == [5, 5]  # C1: 5×5 (LeCun et al. 1998)
