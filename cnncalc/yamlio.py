"""Safe YAML loading that remembers where each mapping, key and list item came from.

Specs are read with PyYAML's safe loader (the C-accelerated ``CSafeLoader`` when PyYAML was built
with libyaml): no Python tags, no object construction. Mappings become :class:`Map` and lists
:class:`Seq`, plain ``dict``/``list`` subclasses that carry 1-based ``(line, col)`` positions so
errors found late (in shape propagation, inside a repeated block) still name the line.

Hostile input is bounded: the file size (:data:`MAX_BYTES`; at most that much is read, so
``/dev/zero`` cannot exhaust memory, while ``/dev/stdin`` still works), the nesting depth (:data:`MAX_DEPTH`, checked while composing:
libyaml's C composer recurses without limit and crashes the interpreter on ``[[[[…`` 100 000 deep,
so nodes are composed by PyYAML's Python composer over libyaml's C events, with a depth guard),
and the size of the document after alias expansion (:data:`MAX_NODES`, "billion laughs"),
checked on the node graph before anything is constructed.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer

from .errors import CnncalcError

__all__ = ["Map", "Seq", "load_yaml", "load_yaml_file", "MAX_NODES", "MAX_DEPTH", "MAX_BYTES"]

MAX_NODES = 1_000_000  # YAML nodes after alias expansion
MAX_DEPTH = 100  # nesting of mappings and lists (a real spec needs about 8)
MAX_BYTES = 4 * 1024 * 1024  # a spec file (the largest bundled spec is a few KB)

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Pos = tuple[int, int]


class Map(dict):
    """A YAML mapping with positions: ``pos`` of the mapping, ``key_pos[key]`` of each key."""

    __slots__ = ("pos", "key_pos")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pos: Pos | None = None
        self.key_pos: dict[Any, Pos] = {}

    def where(self, key: Any = None) -> Pos | None:
        """Position of ``key`` if known, else of the mapping."""
        if key is not None and key in self.key_pos:
            return self.key_pos[key]
        return self.pos


class Seq(list):
    """A YAML list with positions: ``pos`` of the list, ``item_pos[i]`` of each item."""

    __slots__ = ("pos", "item_pos")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.pos: Pos | None = None
        self.item_pos: list[Pos] = []

    def where(self, i: int | None = None) -> Pos | None:
        if i is not None and 0 <= i < len(self.item_pos):
            return self.item_pos[i]
        return self.pos


def _pos(node: yaml.Node) -> Pos:
    m = node.start_mark
    return (m.line + 1, m.column + 1)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """The safe loader, composing nodes in Python (depth-guarded) from libyaml's events."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.anchors: dict[str, yaml.Node] = {}
        self._depth = 0

    get_single_node = Composer.get_single_node
    compose_document = Composer.compose_document
    compose_scalar_node = Composer.compose_scalar_node
    compose_sequence_node = Composer.compose_sequence_node
    compose_mapping_node = Composer.compose_mapping_node

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise CnncalcError(
                    f"nesting deeper than {MAX_DEPTH} levels",
                    line=mark.line + 1,
                    col=mark.column + 1,
                    hint="a spec needs only a few levels of mappings and lists",
                )
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1


def _construct(loader: yaml.BaseLoader, node: yaml.Node) -> Any:
    """Construct one child, turning a bad scalar (an int of 5000 digits) into a located error."""
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError) as exc:
        line, col = _pos(node)
        reason = str(exc).split(";")[0]
        raise CnncalcError(
            f"cannot read the value {_clip(str(node.value))}: {reason}", line=line, col=col
        ) from None


def _clip(text: str, n: int = 40) -> str:
    return repr(text if len(text) <= n else text[:n] + "…")


def _construct_map(loader: yaml.BaseLoader, node: yaml.MappingNode) -> Map:
    m = Map()
    m.pos = _pos(node)
    yield m
    # YAML merge keys (`<<: *base`): the merged pairs come first and the mapping's own keys
    # override them, as YAML defines; only a key written twice in the mapping itself is an error.
    own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)
    merged = len(node.value) - own
    written: set[Any] = set()
    for idx, (key_node, value_node) in enumerate(node.value):
        key = _construct(loader, key_node)
        try:
            hash(key)
        except TypeError:
            line, col = _pos(key_node)
            raise CnncalcError("a mapping key must be a plain value", line=line, col=col) from None
        if idx < merged:
            m[key] = _construct(loader, value_node)
            m.key_pos[key] = _pos(key_node)
            continue
        if key in written:
            line, col = _pos(key_node)
            raise CnncalcError(
                f"duplicate key '{key}' in the same mapping",
                line=line,
                col=col,
                hint="each key may appear once; give layers distinct names",
            )
        m[key] = _construct(loader, value_node)
        m.key_pos[key] = _pos(key_node)
        written.add(key)


def _construct_seq(loader: yaml.BaseLoader, node: yaml.SequenceNode) -> Seq:
    s = Seq()
    s.pos = _pos(node)
    yield s
    for child in node.value:
        s.append(_construct(loader, child))
        s.item_pos.append(_pos(child))


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def _check_size(root: yaml.Node) -> None:
    """Bound the expanded size and depth of the node graph (aliases are shared nodes)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        nid = id(node)
        if done:
            if isinstance(node, yaml.MappingNode):
                total = 1 + sum(sizes[id(k)] + sizes[id(v)] for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                total = 1 + sum(sizes[id(c)] for c in node.value)
            else:
                total = 1
            if total > MAX_NODES:
                line, col = _pos(node)
                raise CnncalcError(
                    f"the document expands to more than {MAX_NODES:,} YAML nodes "
                    "(aliases are expanded)",
                    line=line,
                    col=col,
                    hint="this looks like a 'billion laughs' file; write the layers out or use repeat",
                )
            sizes[nid] = total
            continue
        if nid in sizes:
            continue
        if depth > MAX_DEPTH:
            line, col = _pos(node)
            raise CnncalcError(
                f"nesting deeper than {MAX_DEPTH} levels",
                line=line,
                col=col,
                hint="a spec needs only a few levels of mappings and lists",
            )
        stack.append((node, depth, True))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.append((k, depth + 1, False))
                stack.append((v, depth + 1, False))
        elif isinstance(node, yaml.SequenceNode):
            for c in node.value:
                stack.append((c, depth + 1, False))


def load_yaml(text: str, file: str | None = None) -> Any:
    """Parse YAML text safely into :class:`Map`/:class:`Seq`/scalars. Errors are :class:`CnncalcError`."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise CnncalcError(
                "the file is empty",
                file=file,
                line=1,
                col=1,
                hint="a spec needs at least 'input' and 'layers'",
            )
        _check_size(node)
        return loader.construct_document(node)
    except CnncalcError as err:
        raise err.locate(file=file) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        ctx = exc.context_mark
        if exc.problem and exc.context and ctx is not None and (not mark or ctx.line != mark.line):
            problem += f" ({exc.context} started at line {ctx.line + 1})"
        if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in str(problem):
            problem = f"{problem} (only plain YAML is read: tags like !!python are refused)"
        hint = None
        if "mapping values are not allowed" in str(problem) and line is not None:
            lines = text.splitlines()
            prev = lines[line - 2].split(" #")[0].strip() if line >= 2 else ""
            if prev.startswith("- ") and ":" not in prev:
                here = lines[line - 1].split(" #")[0].strip()
                hint = (
                    f"a layer with other keys needs a colon after its type: "
                    f"'{prev}:' and then '{here}'"
                )
        raise CnncalcError(
            f"YAML syntax error: {problem}", file=file, line=line, col=col, hint=hint
        ) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        col = exc.position - text.rfind("\n", 0, exc.position) if line else None
        ch = exc.character
        ch = f"U+{ch:04X}" if isinstance(ch, int) else f"U+{ord(ch):04X}" if ch else "?"
        raise CnncalcError(
            f"the file contains the control character {ch}, which YAML does not allow",
            file=file,
            line=line,
            col=col,
            hint="remove it (only tabs, newlines and printable characters may appear)",
        ) from None
    except yaml.YAMLError as exc:
        raise CnncalcError(f"YAML error: {exc}", file=file) from None
    except (ValueError, OverflowError) as exc:
        raise CnncalcError(f"cannot read a value: {exc}", file=file) from None
    except RecursionError:
        raise CnncalcError("YAML nesting too deep", file=file) from None
    finally:
        loader.dispose()


def load_yaml_file(path: str | Path) -> Any:
    """Read and parse a spec file, with clear errors for missing files, directories and bad encodings."""
    p = Path(path)
    name = str(path)
    if not p.exists():
        hint = None
        if p.parent.is_dir():
            from .errors import did_you_mean

            near = [q.name for q in p.parent.glob("*.y*ml")]
            if near:
                hint = did_you_mean(p.name, near, "spec files")
        raise CnncalcError(f"no such file: {name}", hint=hint)
    if p.is_dir():
        raise CnncalcError(
            f"{name} is a directory, not a spec file",
            hint="give the path of a .yaml file inside it",
        )
    try:
        st = p.stat()
        if stat.S_ISREG(st.st_mode) and st.st_size > MAX_BYTES:
            raise CnncalcError(
                f"{name} is {st.st_size:,} bytes; specs are limited to {MAX_BYTES:,} bytes",
                hint="a spec describes layers once and uses blocks and repeat for the rest",
            )
        with p.open("rb") as fh:
            # bounded: /dev/zero reports size 0 and never ends; a pipe (/dev/stdin) has no size
            data = fh.read((st.st_size if stat.S_ISREG(st.st_mode) else MAX_BYTES) + 1)
        if len(data) > MAX_BYTES:
            raise CnncalcError(
                f"{name} is larger than {MAX_BYTES:,} bytes; specs are limited to that size"
            )
    except OSError as exc:
        raise CnncalcError(f"cannot read {name}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CnncalcError(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            file=name,
            line=line,
            hint="save the spec as UTF-8",
        ) from None
    return load_yaml(text, file=name)
