"""Write a spec dict as YAML that reads like a hand-written spec (``cnncalc convert``).

One layer per list item, its arguments in flow style on the same line
(``- conv2d: {out_channels: 64, kernel_size: 3}``), reserved keys below it; everything else
through PyYAML's safe dumper, so the file reads back with the safe loader.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["spec_to_yaml"]


def _flow(value: Any) -> str:
    text = yaml.safe_dump(
        value, default_flow_style=True, width=10**9, allow_unicode=True, sort_keys=False
    )
    text = text.strip()
    return text[:-4].rstrip() if text.endswith("\n...") else text.removesuffix("...").strip()


def _layers(layers: list[dict[str, Any]], indent: str) -> list[str]:
    out = []
    from ..spec import ENTRY_KEYS

    for entry in layers:
        t = next(k for k in entry if k not in ENTRY_KEYS)  # the type key first, then the rest
        args = entry[t]
        rest = [(k, v) for k, v in entry.items() if k != t]
        head = f"{indent}- {_flow(t)}:" if args is None else f"{indent}- {_flow(t)}: {_flow(args)}"
        if args is None and not rest:
            head = f"{indent}- {_flow(t)}"
        out.append(head)
        for k, v in rest:
            out.append(f"{indent}  {k}: {_flow(v)}")
    return out


def spec_to_yaml(spec: dict[str, Any], header: str | None = None) -> str:
    """The YAML text of a spec dict (layers and blocks one entry per line)."""
    lines: list[str] = []
    if header:
        lines.extend(f"# {line}".rstrip() for line in header.splitlines())
    for key, value in spec.items():
        if key == "layers":
            lines.append("layers:")
            lines.extend(_layers(value, "  "))
        elif key == "blocks":
            lines.append("blocks:")
            for bname, bdef in value.items():
                lines.append(f"  {_flow(bname)}:")
                for bk, bv in bdef.items():
                    if bk == "layers":
                        lines.append("    layers:")
                        lines.extend(_layers(bv, "      "))
                    else:
                        lines.append(f"    {bk}: {_flow(bv)}")
        elif isinstance(value, list) and key == "caveats":
            lines.append(f"{key}:")
            lines.extend(f"  - {_flow(v)}" for v in value)
        else:
            lines.append(f"{key}: {_flow(value)}")
    return "\n".join(lines) + "\n"
