"""Several models side by side: totals, ratios to a baseline, depth and downsampling stages.

Plain data only (raw integers and floats); the renderers are in :mod:`cnncalc.render_compare`.

Definitions used here:

* **ratio** of a metric = the model's value / the baseline's value (the baseline is the first
  model given), e.g. vgg16 vs resnet50: params 138,357,544 / 25,557,032 = 5.41×. ``None`` where
  the baseline's value is 0.
* **depth** = the number of layers that do multiply-accumulates (conv, linear, matmul-like) on
  the longest path from an input to an output. This is how papers name their networks: VGG-16 has
  13 convs + 3 FC = 16; ResNet-50 has 1 + 16·3 + 1 = 50 (a projection shortcut is a parallel,
  shorter path); GoogLeNet is 22 deep. ``Totals.weighted_layers`` (every layer that owns a
  tensor, batch norms included) is kept beside it.
* **stage** = a run of layers at one spatial size. A layer joins the latest stage of an input
  with the same spatial size (so the branches of an inception module stay in their stage), else
  the latest stage if it has that size, else it opens a new stage. Train-only layers (auxiliary
  classifiers) join the stage they branch from. Stages are keyed for alignment across models by
  their downsampling factor relative to the input: ``/1``, ``/2``, ``/4`` … (``round(log2(in/out))``
  per axis), ``1×1`` when every spatial axis is 1 (global pooling), ``flat`` when no spatial
  axis is left (after flatten: the fully connected head), ``seq`` for layers whose shape has
  another rank than the input (a transformer's token sequence: one stage). A stage's channels
  are the widest of its layers (ResNet-50's 56×56 stage: 256).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CnncalcError, did_you_mean
from .report import Report, Totals

__all__ = [
    "compare",
    "Comparison",
    "ModelRecord",
    "Stage",
    "SORT_KEYS",
    "RATIO_KEYS",
    "depth_of",
    "stages_of",
]

#: Metrics that get a ratio to the baseline.
RATIO_KEYS = (
    "params",
    "trainable_params",
    "macs",
    "flops",
    "activation_elements",
    "activation_bytes",
    "params_bytes",
    "total_bytes",
    "depth",
)

#: ``--sort`` keys: every totals field (depth and weighted layers among them), name, input size.
SORT_KEYS = (*Totals._fields, "name", "input")
#: Names of schema_version 1 still accepted by ``--sort``.
SORT_ALIASES = {"activations": "activation_elements", "layers": "layer_count"}


@dataclass(frozen=True)
class Stage:
    """One stage of a model: the layers at one spatial size (see the module docstring)."""

    key: str  # alignment key: "/1", "/2", …, "1×1", "flat" (with "#2" when it recurs)
    spatial: tuple[int, ...]
    channels: int  # the widest channel count in the stage (flat head: its output features)
    first: str  # first and last layer names (execution order)
    last: str
    layers: int
    params: int
    macs: int
    params_share: float  # fraction of the model's params (0..1)
    macs_share: float
    shape: tuple[int, ...] = ()  # output shape of the stage's last (inference) layer

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["spatial"] = list(self.spatial)
        d["shape"] = list(self.shape)
        return d


@dataclass(frozen=True)
class ModelRecord:
    """One model of a comparison: its totals, depth, ratios to the baseline and stages."""

    name: str
    source: str  # what was asked for: a zoo name, a family name or a path
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    totals: Totals
    depth: int
    ratios: dict[str, float | None]
    stages: tuple[Stage, ...]
    baseline: bool = False
    resolved: str | None = None  # "vgg → vgg16 (the family's canonical member)"
    variant: str | None = None
    report: Report | None = field(default=None, repr=False, compare=False)
    #: the name shown: ``name``, told apart when two models share it ("resnet18 (2)")
    label: str = ""
    #: why this model could not be analysed with the comparison's settings (then no figures)
    error: str | None = None

    @property
    def weighted_layers(self) -> int:
        return self.totals.weighted_layers

    def value(self, key: str) -> Any:
        """A metric by name: a totals field, ``depth``, ``weighted_layers``, ``name`` or ``input``."""
        if key == "name":
            return self.name
        if key == "input":
            return math.prod(self.input_shape)
        if key == "depth":
            return self.depth
        if key == "weighted_layers":
            return self.weighted_layers
        return getattr(self.totals, key)

    def to_dict(self, stages: bool = True) -> dict[str, Any]:
        """``summary --format json``'s object, plus source, label, baseline, ratios (and
        stages); a model that failed: name, label, source, baseline and error only."""
        head: dict[str, Any] = {
            "label": self.label or self.name,
            "source": self.source,
            "baseline": self.baseline,
        }
        if self.error is not None or self.report is None:
            return {"name": self.name, **head, "error": self.error}
        d: dict[str, Any] = {**self.report.to_dict(), **head, "ratios": dict(self.ratios)}
        if stages:
            d["stages"] = [s.to_dict() for s in self.stages]
        return d


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` returns: the records (in display order) and how they were made."""

    models: tuple[ModelRecord, ...]
    baseline: str
    input_shape: tuple[int, ...] | None
    batch: int
    dtype: str
    convention: str
    sort: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    variant: str | None = None

    @property
    def base(self) -> ModelRecord:
        return next(m for m in self.models if m.baseline)

    @property
    def ok(self) -> tuple[ModelRecord, ...]:
        """The models analysed (those that could not take the settings left out)."""
        return tuple(m for m in self.models if m.error is None)

    def stage_keys(self) -> list[str]:
        """The stage keys of every model merged into one order (for the side-by-side table)."""
        return merge_orders([[s.key for s in m.stages] for m in self.models])

    def to_list(self, stages: bool = True) -> list[dict[str, Any]]:
        return [m.to_dict(stages) for m in self.models]

    def to_dict(self, stages: bool = False) -> dict[str, Any]:
        """The ``compare --format json`` document (``schema_version`` 2, docs/schema.json)."""
        from .report import SCHEMA_VERSION

        return {
            "schema_version": SCHEMA_VERSION,
            "baseline": self.baseline,
            "input_shape": None if self.input_shape is None else list(self.input_shape),
            "batch": self.batch,
            "dtype": self.dtype,
            "convention": self.convention,
            "variables": dict(self.variables),
            "variant": self.variant,
            "sort": self.sort,
            "models": self.to_list(stages),
        }


def compare(
    sources: Sequence[str | Path | dict[str, Any] | Report],
    input_shape: tuple[int, ...] | list[int] | str | None = None,
    *,
    batch: int = 1,
    dtype: str = "float32",
    convention: str | None = None,
    sort: str | None = None,
    reverse: bool = False,
    variables: dict[str, Any] | None = None,
    variant: str | None = None,
    warn: str | None = None,
    channels_last_ok: bool = False,
) -> Comparison:
    """Analyze each model and line them up against the first one (the baseline).

    ``sources`` mixes zoo names, family names (``"vgg"``: the canonical member, noted in
    ``resolved``), spec paths, spec dicts or ready :class:`Report` objects. ``input_shape``,
    ``variables`` (``--set``) and ``variant`` apply to all; a model (other than the baseline)
    that cannot take them becomes a record with ``error`` saying why, instead of stopping the
    comparison (a model that does not build even on its own settings still raises). ``sort``
    orders the records by a metric (descending; ``name`` ascending; ``reverse`` flips; failed
    models last); ratios stay relative to the baseline. Models with the same name are told
    apart in ``label`` (by their source when it differs, else "name (2)").
    """
    from . import analyze, build, parse_inputs
    from .analysis import analyze_graph
    from .layout import channel_axes

    axes_of: dict[int, dict[str, int | None]] = {}  # id(report) → where its channels are

    def analyzed(src: Any, shape: Any, **kw: Any) -> Report:
        """analyze(src, shape, **kw), noting where each layer holds its channels (stages)."""
        keys = ("batch", "dtype", "convention", "warn")
        graph = build(src, shape, **{k: v for k, v in kw.items() if k not in keys})
        rep = analyze_graph(graph, **{k: v for k, v in kw.items() if k in keys})
        axes_of[id(rep)] = channel_axes(graph)
        return rep

    if isinstance(sources, (str, Path, dict)) or not sources:
        raise CnncalcError(
            f"compare needs a list of models, got {sources!r}",
            hint="e.g. cnncalc.compare(['resnet50', 'vgg16'])",
        )
    shape = parse_inputs(input_shape) if isinstance(input_shape, str) else input_shape
    sort = SORT_ALIASES.get(sort, sort) if sort is not None else None
    if sort is not None and sort not in SORT_KEYS:
        raise CnncalcError(f"unknown sort key '{sort}'", hint=did_you_mean(sort, SORT_KEYS))
    settings = {"variables": dict(variables or {}), "variant": variant}
    given = shape is not None or bool(variables) or variant is not None
    reports: list[tuple[str, Report | None, str | None]] = []
    for i, src in enumerate(sources):
        label = src.name if isinstance(src, Report) else _label(src)
        if isinstance(src, Report):
            reports.append((label, src, None))
            continue
        try:
            rep = analyzed(
                src,
                shape,
                batch=batch,
                dtype=dtype,
                convention=convention,
                warn=warn,
                channels_last_ok=channels_last_ok,
                **settings,
            )
        except CnncalcError as err:
            if not given:
                raise
            what = _settings_text(shape, variables, variant)
            # "vgg16 cannot take the input 3x16x16: …" already names the model and the input
            detail = re.sub(r"^\S+ cannot take the input \S+: ", "", str(err))
            if i == 0:
                raise CnncalcError(
                    f"{label} (the baseline) cannot take {what}: {detail}",
                    hint="put a model that takes these settings first",
                ) from None
            try:  # does it build on its own settings? then the settings are the reason
                analyze(src, batch=batch, dtype=dtype, convention=convention)
            except CnncalcError:
                raise err from None
            reports.append((label, None, f"cannot take {what}: {detail}"))
            continue
        reports.append((label, rep, None))
    if convention is None:
        # one convention for every column: the models' own when they agree, else pytorch
        own = {rep.convention for _, rep, _ in reports if rep is not None}
        convention = own.pop() if len(own) == 1 else "pytorch"
        reports = [
            (label, rep, error)
            if rep is None or rep.convention == convention or isinstance(src, Report)
            else (label, analyzed(src, shape, batch=batch, dtype=dtype, convention=convention,
                                  warn=warn, channels_last_ok=channels_last_ok, **settings), None)
            for src, (label, rep, error) in zip(sources, reports)
        ]  # fmt: skip

    base_rep = reports[0][1]
    assert base_rep is not None
    base_depth = depth_of(base_rep)
    records = []
    for i, (label, rep, error) in enumerate(reports):
        if rep is None:
            records.append(
                ModelRecord(
                    name=label,
                    source=label,
                    input_shape=tuple(shape or ()),
                    output_shape=(),
                    totals=Totals(*(0,) * len(Totals._fields)),
                    depth=0,
                    ratios={k: None for k in RATIO_KEYS},
                    stages=(),
                    error=error,
                )
            )
            continue
        depth = depth_of(rep)
        ratios = {
            k: _ratio(_metric(rep, depth, k), _metric(base_rep, base_depth, k)) for k in RATIO_KEYS
        }
        records.append(
            ModelRecord(
                name=rep.name,
                source=label,
                input_shape=tuple(rep.input_shape),
                output_shape=tuple(rep.output_shape),
                totals=rep.totals,
                depth=depth,
                ratios=ratios,
                stages=tuple(stages_of(rep, axes_of.get(id(rep)))),
                baseline=i == 0,
                resolved=rep.meta.get("resolved"),
                variant=rep.variant,
                report=rep,
            )
        )
    records = _told_apart(records)
    if sort is not None:
        ok = [m for m in records if m.error is None]
        failed = [m for m in records if m.error is not None]
        if sort == "name":
            ok.sort(key=lambda m: m.label, reverse=reverse)
        else:
            ok.sort(key=lambda m: m.value(sort), reverse=not reverse)
        records = ok + failed
    return Comparison(
        models=tuple(records),
        baseline=next(m.label for m in records if m.baseline),
        input_shape=tuple(shape) if shape is not None else None,
        batch=batch,
        dtype=dtype,
        convention=convention,
        sort=sort,
        variables=dict(variables or {}),
        variant=variant,
    )


def _settings_text(shape: Any, variables: dict[str, Any] | None, variant: str | None) -> str:
    parts = []
    if shape is not None:
        parts.append("the input " + "x".join(map(str, shape)))
    parts += [f"{k}={v}" for k, v in (variables or {}).items()]
    if variant is not None:
        parts.append(f"variant {variant}")
    return ", ".join(parts)


def _told_apart(records: list[ModelRecord]) -> list[ModelRecord]:
    """Labels: the name, or for names given more than once the source ("model (b.yaml)")
    when the sources differ, else a count ("resnet18 (2)")."""
    from collections import Counter
    from dataclasses import replace

    names = Counter(m.name for m in records)
    seen: Counter[str] = Counter()
    out = []
    for m in records:
        label = m.name
        if names[m.name] > 1:
            seen[m.name] += 1
            same_sources = len({r.source for r in records if r.name == m.name}) == 1
            if not same_sources and m.source != m.name:
                label = f"{m.name} ({m.source})"
            elif seen[m.name] > 1:
                label = f"{m.name} ({seen[m.name]})"
        out.append(replace(m, label=label))
    return out


def _label(src: Any) -> str:
    if isinstance(src, dict):
        return str(src.get("name", "model"))
    return str(src)


def _metric(rep: Report, depth: int, key: str) -> int:
    return depth if key == "depth" else getattr(rep.totals, key)


def _ratio(value: int, base: int) -> float | None:
    return value / base if base else None


def depth_of(report: Report) -> int:
    """Layers with MACs (conv, linear, matmul-like) on the longest input → output path."""
    return layer_depth(report.rows, report.output_shapes)


def layer_depth(rows: Sequence[Any], outputs: Sequence[str] | dict[str, Any]) -> int:
    """Dynamic programming over the rows in execution order: d(layer) = max d(inputs) + [MACs > 0].
    Train-only branches never reach an output, so they do not count."""
    d: dict[str, int] = {}
    for r in rows:
        d[r.name] = max((d.get(i, 0) for i in r.inputs), default=0) + (1 if r.macs > 0 else 0)
    return max((d.get(o, 0) for o in outputs), default=0)


_SEQ = object()


def _stage_key(spatial: tuple[int, ...], in_spatial: tuple[int, ...]) -> str:
    if not spatial:
        return "flat"
    if all(s == 1 for s in spatial) and any(s != 1 for s in in_spatial):
        return "1×1"
    if len(spatial) != len(in_spatial):
        return "×".join(map(str, spatial))
    exps = {round(math.log2(i / s)) for i, s in zip(in_spatial, spatial)}
    e = max(exps, key=abs)
    return f"/{2**e}" if e >= 0 else f"×{2 ** (-e)}"


def stages_of(report: Report, channel_axes: dict[str, int | None] | None = None) -> list[Stage]:
    """Split a report's rows into stages of one spatial size (see the module docstring).

    ``channel_axes`` (:func:`cnncalc.layout.channel_axes` of the report's graph): rows whose
    channels are elsewhere than first (Swin's and ConvNeXt's H×W×C maps) are read channels
    first, so that [56, 56, 96] is 96 channels at 56×56, not 56 at 56×96."""
    if channel_axes:
        from .layout import channels_first

        report = channels_first(report, channel_axes)
    in_spatial = tuple(report.input_shape[1:])
    spatial_of: list[tuple[int, ...]] = []
    members: list[list[int]] = []  # row indices per stage
    where: dict[str, int] = {}
    for idx, r in enumerate(report.rows):
        sp: Any = tuple(r.output_shape[1:])
        if sp and len(sp) != len(in_spatial):
            sp = _SEQ  # another rank (a token sequence): one stage, whatever its sizes
        input_stages = [where[i] for i in r.inputs if i in where]
        if r.train_only and input_stages:
            s = max(input_stages)
        else:
            same = [s for s in input_stages if spatial_of[s] == sp]
            if same:
                s = max(same)
            elif spatial_of and spatial_of[-1] == sp:
                s = len(spatial_of) - 1
            else:
                spatial_of.append(sp)
                members.append([])
                s = len(spatial_of) - 1
        members[s].append(idx)
        where[r.name] = s
    total_p = report.totals.params or 1
    total_m = report.totals.macs or 1
    out: list[Stage] = []
    seen: dict[str, int] = {}
    for sp, idxs in zip(spatial_of, members):
        rows = [report.rows[i] for i in idxs]
        ran = [r for r in rows if not r.train_only] or rows
        last = ran[-1].output_shape
        if sp is _SEQ:
            key, sp = "seq", tuple(last[1:])
        else:
            key = _stage_key(sp, in_spatial)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key = f"{key} #{seen[key]}"
        params = sum(r.params for r in rows)
        macs = sum(r.macs for r in rows if not r.train_only)
        out.append(
            Stage(
                key=key,
                spatial=sp,
                channels=_stage_channels(rows, sp),
                shape=tuple(last),
                first=rows[0].name,
                last=rows[-1].name,
                layers=len(rows),
                params=params,
                macs=macs,
                params_share=params / total_p,
                macs_share=macs / total_m,
            )
        )
    return out


def _stage_channels(rows: Sequence[Any], spatial: tuple[int, ...]) -> int:
    """The widest channel count in a stage (ResNet-50's 56×56 stage: 256, its blocks' output),
    train-only branches aside; for the flat head, its last layer's features (the classes)."""
    if not spatial:
        last = rows[-1].output_shape
        return last[-1] if last else 0
    ran = [r for r in rows if not r.train_only] or list(rows)
    return max(r.output_shape[0] for r in ran)


def merge_orders(orders: Sequence[Sequence[str]]) -> list[str]:
    """Merge several sequences of keys into one order that respects each (where possible).

    Greedy: take a head that appears in no other sequence's tail; ties go to the earliest
    sequence. If every head is blocked (the orders disagree), take the first sequence's head.
    """
    seqs = [list(dict.fromkeys(o)) for o in orders]
    out: list[str] = []
    while any(seqs):
        heads = [s[0] for s in seqs if s]
        pick = next(
            (h for h in heads if not any(h in s[1:] for s in seqs)),
            heads[0],
        )
        out.append(pick)
        seqs = [[k for k in s if k != pick] for s in seqs]
    return out
