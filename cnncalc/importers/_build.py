"""What every reader shares: writing layer entries of a spec dict, and collecting problems.

A reader walks its format's graph once, calls :meth:`SpecBuilder.add` for each cnncalc layer
and :meth:`SpecBuilder.unknown` for each op it has no mapping for; :meth:`SpecBuilder.spec`
then raises one error naming every unknown op with its count, or returns the spec dict.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ..errors import CnncalcError

__all__ = ["SpecBuilder", "clean_name"]

_BAD = re.compile(r"[^A-Za-z0-9_\-/+.]")


def clean_name(raw: str) -> str:
    """A foreign name as a cnncalc layer name: dots only between words (module paths like
    ``layer1.0.conv1`` stay), no spaces, commas, brackets or colons (``/a b:c`` → ``a_b_c``)."""
    name = _BAD.sub("_", str(raw).strip("/"))
    name = re.sub(r"\.{2,}", ".", name).strip(".")
    return name or "layer"


class SpecBuilder:
    """Collects the layer entries of one imported model."""

    def __init__(self, file: str, fmt: str) -> None:
        self.file = file
        self.fmt = fmt
        self.layers: list[dict[str, Any]] = []
        self.blocks: dict[str, Any] = {}
        self.names: set[str] = set()
        self.unknown_ops: Counter[str] = Counter()
        self.unknown_first: dict[str, str] = {}
        self.caveats: list[str] = []
        self.last: str | None = "input"  # the first input is always called input

    def unique(self, raw: str) -> str:
        """A fresh cnncalc name made from ``raw`` (``conv``, ``conv_2``, …)."""
        base = clean_name(raw)
        name, k = base, 1
        while name in self.names or name == "input":
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def add(
        self,
        type_name: str,
        args: dict[str, Any] | None = None,
        name: str | None = None,
        inputs: list[str] | str | None = None,
        *,
        reserved_name: bool = False,
        **reserved: Any,
    ) -> str:
        """Append a layer entry; return its (unique) name. ``inputs`` None = the previous layer;
        ``reserved_name``: ``name`` was already made unique by :meth:`unique`."""
        name = name if reserved_name and name else self.unique(name or type_name)
        entry: dict[str, Any] = {type_name: dict(args) if args else None}
        entry["name"] = name
        if inputs is not None:
            refs = [inputs] if isinstance(inputs, str) else list(inputs)
            if not (len(refs) == 1 and refs[0] == self.last):
                entry["inputs" if len(refs) > 1 else "input"] = refs if len(refs) > 1 else refs[0]
        for k, v in reserved.items():
            if v is not None:
                entry[k] = v
        self.layers.append(entry)
        self.last = name
        return name

    def unknown(self, op: str, where: str) -> None:
        """Remember an op with no cnncalc mapping (reported all at once by :meth:`spec`)."""
        self.unknown_ops[op] += 1
        self.unknown_first.setdefault(op, where)

    def check_unknown(self, what: str = "op", hint: str | None = None) -> None:
        if not self.unknown_ops:
            return
        listing = ", ".join(
            f"{op} ×{n} (first: {self.unknown_first[op]})"
            for op, n in sorted(self.unknown_ops.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        total = sum(self.unknown_ops.values())
        raise CnncalcError(
            f"{len(self.unknown_ops)} unsupported {self.fmt} {what} type(s) in "
            f"{total} place(s): {listing}",
            file=self.file,
            hint=hint or "cnncalc counts only what it can map; see docs/importers.md",
        )

    def spec(
        self,
        name: str,
        inputs: dict[str, list[int]],
        outputs: list[str] | None = None,
        **meta: Any,
    ) -> dict[str, Any]:
        """The spec dict (raises first when unknown ops were seen)."""
        self.check_unknown()
        if not self.layers:
            raise CnncalcError("the model has no layers cnncalc can count", file=self.file)
        doc: dict[str, Any] = {"name": clean_name(name)}
        for k, v in meta.items():
            if v:
                doc[k] = v
        if self.caveats:
            doc["caveats"] = list(dict.fromkeys(self.caveats))
        if list(inputs) == ["input"]:
            doc["input"] = inputs["input"]
        else:
            doc["inputs"] = inputs
        if self.blocks:
            doc["blocks"] = self.blocks
        doc["layers"] = self.layers
        if outputs and outputs != [self.last]:
            doc["outputs"] = outputs
        return doc
