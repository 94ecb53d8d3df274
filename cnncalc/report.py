"""The analysis result: plain, immutable data with raw integers. Human units live in the renderers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "LayerRow",
    "Totals",
    "Report",
    "Explanation",
    "SCHEMA_VERSION",
    "DTYPE_BYTES",
    "Deferred",
    "PendingField",
]

#: The JSON contract's version (docs/schema.json). 2: compare is an object with ``models``;
#: ``totals.activation_elements`` (was ``activations``), ``layer_count`` (was ``layers``),
#: ``weighted_layers`` (was ``layers_with_weights``), ``depth``; layers carry ``kernel``.
SCHEMA_VERSION = 2

DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "uint8": 1}


class Deferred:
    """A value computed on first read (a :class:`Report` field the analyzer fills lazily)."""

    __slots__ = ("compute",)

    def __init__(self, compute: Any) -> None:
        self.compute = compute


class PendingField:
    """A row's receptive field before it was read: ``source(index)`` computes it (the analyzer's
    receptive-field pass runs once, for every row, on the first read). Behaves as its value when
    compared, hashed, printed or pickled, so a row reads the same whether it was resolved or not.
    """

    __slots__ = ("source", "index")

    def __init__(self, source: Any, index: int) -> None:
        self.source = source
        self.index = index

    def value(self) -> Any:
        return self.source(self.index)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PendingField):
            other = other.value()
        return self.value() == other

    def __hash__(self) -> int:
        return hash(self.value())

    def __repr__(self) -> str:
        return repr(self.value())

    def __reduce__(self) -> tuple[Any, ...]:
        return (_identity, (self.value(),))


def _identity(x: Any) -> Any:
    return x


class LayerRow(NamedTuple):
    """One layer's figures. ``macs``/``flops`` are for the whole batch; shapes exclude it."""

    name: str
    type: str
    inputs: tuple[str, ...]
    output_shape: tuple[int, ...]
    params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    macs: int
    flops: int
    output_elements: int
    trainable: bool = True
    train_only: bool = False
    shared_with: str | None = None
    line: int | None = None
    #: {"size", "jump", "start"}: lists over the input's spatial axes (cnncalc.receptive); None
    #: after flatten, a reshape of the spatial axes, a linear on a spatial axis or attention
    receptive_field: dict[str, Any] | None = None
    #: the window of a conv or pooling layer per spatial axis (torchinfo's kernel_size), else None
    kernel: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "inputs": list(self.inputs),
            "output_shape": list(self.output_shape),
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "buffers": self.buffers,
            "macs": self.macs,
            "flops": self.flops,
            "output_elements": self.output_elements,
            "trainable": self.trainable,
            "kernel": None if self.kernel is None else list(self.kernel),
        }
        if self.train_only:
            d["train_only"] = True
        if self.shared_with:
            d["shared_with"] = self.shared_with
        if self.line is not None:
            d["line"] = self.line
        d["receptive_field"] = self.receptive_field
        return d


_RF = 15  # LayerRow.receptive_field's position
assert LayerRow._fields[_RF] == "receptive_field"


def _row_rf(row: LayerRow) -> dict[str, Any] | None:
    v = tuple.__getitem__(row, _RF)
    return v.value() if type(v) is PendingField else v


def _row_asdict(row: LayerRow) -> dict[str, Any]:
    d = dict(zip(row._fields, row))
    d["receptive_field"] = _row_rf(row)
    return d


_row_rf.__doc__ = LayerRow.receptive_field.__doc__
LayerRow.receptive_field = property(_row_rf)  # type: ignore[assignment,misc]
LayerRow._asdict = _row_asdict  # type: ignore[method-assign]


class Totals(NamedTuple):
    """Sums over the rows (train-only rows' MACs/FLOPs excluded: they do not run at inference)."""

    params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    macs: int
    flops: int
    activation_elements: int  # output elements of every layer, whole batch
    input_elements: int
    params_bytes: int  # (params + buffers) · dtype bytes
    activation_bytes: int  # activation_elements · dtype bytes (forward pass, every output kept)
    input_bytes: int
    total_bytes: int  # input + params + activations
    layer_count: int
    weighted_layers: int  # layers that own a tensor (batch norms included), shared ones aside
    #: conv/linear/matmul layers on the longest input → output path (VGG-16: 16, ResNet-50: 50)
    depth: int = 0

    # Names of schema_version 1, kept for library users.
    @property
    def activations(self) -> int:
        return self.activation_elements

    @property
    def layers(self) -> int:
        return self.layer_count

    @property
    def layers_with_weights(self) -> int:
        return self.weighted_layers

    def to_dict(self) -> dict[str, int]:
        return dict(self._asdict())


@dataclass(frozen=True)
class Report:
    """What :func:`cnncalc.analyze` returns: the rows in execution order and their totals."""

    name: str
    input_shapes: dict[str, tuple[int, ...]]
    output_shapes: dict[str, tuple[int, ...]]
    rows: tuple[LayerRow, ...]
    totals: Totals
    batch: int = 1
    dtype: str = "float32"
    convention: str = "pytorch"
    variant: str | None = None
    file: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: {code, layer, message} dicts (cnncalc.checks)
    warnings: tuple[dict[str, str], ...] = ()
    #: the cnncalc.memory.Memory estimate (activations, inference peak, training)
    memory: Any = None

    # Convenience attributes for library users: report.params, report.macs, …
    @property
    def params(self) -> int:
        return self.totals.params

    @property
    def trainable_params(self) -> int:
        return self.totals.trainable_params

    @property
    def non_trainable_params(self) -> int:
        return self.totals.non_trainable_params

    @property
    def buffers(self) -> int:
        return self.totals.buffers

    @property
    def macs(self) -> int:
        return self.totals.macs

    @property
    def flops(self) -> int:
        return self.totals.flops

    @property
    def input_shape(self) -> tuple[int, ...]:
        return next(iter(self.input_shapes.values()))

    @property
    def output_shape(self) -> tuple[int, ...]:
        return next(iter(self.output_shapes.values()))

    def row(self, name: str) -> LayerRow:
        """The row of the layer called ``name``; a :class:`CnncalcError` with the closest names
        when there is none."""
        for r in self.rows:
            if r.name == name:
                return r
        from .errors import CnncalcError, did_you_mean

        raise CnncalcError(
            f"{self.name} has no layer '{name}'",
            hint=did_you_mean(name, [r.name for r in self.rows], "layers"),
        )

    def resolve(self) -> Report:
        """Compute the lazily computed parts now (receptive fields, warnings, memory)."""
        self.warnings, self.memory  # noqa: B018
        for r in self.rows[:1]:
            r.receptive_field  # noqa: B018 (one read computes every row's)
        return self

    def table(self, depth: int | None = None, columns: Any = None, tree: bool = False) -> str:
        """The plain-text table ``cnncalc summary`` prints to a pipe (``columns``: keys or a
        ``--columns`` string; see :data:`cnncalc.render.COLUMNS`)."""
        from . import render

        cols = (
            render.parse_columns(columns)
            if isinstance(columns, str) or columns is None
            else columns
        )
        return render.summary_text(self, depth, tuple(cols), tree=tree)

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        """Jupyter: the layer table and the totals as HTML (every text escaped)."""
        from .render import summary_html

        return summary_html(self)

    def to_dict(self) -> dict[str, Any]:
        """The ``--format json`` contract (``schema_version`` 2, docs/schema.json): raw integers,
        shapes without batch."""
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "variant": self.variant,
            "resolved": self.meta.get("resolved"),
            "input_shape": list(self.input_shape),
            "input_shapes": {k: list(v) for k, v in self.input_shapes.items()},
            "output_shape": list(self.output_shape),
            "output_shapes": {k: list(v) for k, v in self.output_shapes.items()},
            "batch": self.batch,
            "dtype": self.dtype,
            "convention": self.convention,
            "totals": self.totals.to_dict(),
            "layers": [r.to_dict() for r in self.rows],
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "memory": self.memory.to_dict() if self.memory is not None else None,
        }
        return out


def _lazy(name: str) -> property:
    """A :class:`Report` field that may hold a :class:`Deferred`: computed on the first read."""

    def get(self: Report) -> Any:
        v = self.__dict__[name]
        if type(v) is Deferred:
            v = self.__dict__[name] = v.compute()
        return v

    def put(self: Report, value: Any) -> None:  # the dataclass __init__ only (frozen otherwise)
        self.__dict__[name] = value

    return property(get, put)


Report.warnings = _lazy("warnings")  # type: ignore[assignment]
Report.memory = _lazy("memory")  # type: ignore[assignment]


def _report_state(self: Report) -> dict[str, Any]:
    """Pickling and copying: the lazily computed parts are computed first (they hold the graph)."""
    self.resolve()
    return self.__dict__


Report.__getstate__ = _report_state  # type: ignore[method-assign,assignment]


class Explanation(tuple):
    """What :func:`cnncalc.explain` returns: the :class:`cnncalc.explain.LayerExplanation`
    records of the layers asked for (plain data); ``str()`` is the ``cnncalc explain`` text."""

    __slots__ = ()

    def __str__(self) -> str:
        from .commands.explain import render_explain

        return render_explain(list(self)).rstrip("\n") + "\n"

    def __repr__(self) -> str:
        return f"Explanation({', '.join(r.name for r in self)})"

    def layer(self, name: str) -> Any:
        """The record of one layer; a CnncalcError with the closest names when there is none."""
        for r in self:
            if r.name == name:
                return r
        from .errors import CnncalcError, did_you_mean

        raise CnncalcError(
            f"no layer '{name}' in this explanation",
            hint=did_you_mean(name, [r.name for r in self], "layers"),
        )

    def to_dict(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self]
