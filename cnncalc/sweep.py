"""Design-space sweeps: a grid of variables, variants and input sizes, each configuration built and
analysed, filtered by budgets, with the Pareto front of any two figures marked.

Plain data in, plain data out (rendering is in :mod:`cnncalc.render_sweep`):

    >>> from cnncalc.sweep import parse_values, parse_inputs
    >>> parse_values("0.5:1.0:0.25")
    [0.5, 0.75, 1.0]
    >>> parse_inputs("3x{96..160:32}")
    [(3, 96), (3, 128), (3, 160)]

A configuration is (variant, input shape, variable values). Configurations are enumerated in a
fixed order (variants, then inputs, then variables in the order given, the last varying fastest),
numbered from 0; ``--shard i/n`` takes the configurations whose number is ``i`` modulo ``n``, so
the union of the shards' rows, sorted by number, is the unsharded result, whatever the split.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from .errors import CnncalcError

__all__ = [
    "Config",
    "Result",
    "Sweep",
    "FIGURES",
    "parse_values",
    "parse_inputs",
    "parse_quantity",
    "parse_shard",
    "grid",
    "evaluate",
    "pareto_front",
    "compound_grid",
    "run_sweep",
]

#: The figures a result carries, usable in filters, ``--pareto`` and the plot.
FIGURES = ("params", "macs", "flops", "memory", "resolution")

#: Hard cap on the grid size: a typo such as ``0:1000:0.0001`` is refused, not run for hours.
MAX_CONFIGS = 10_000_000


class Config(NamedTuple):
    """One point of the grid: its number in the enumeration order, variant, input, variables."""

    index: int
    variant: str | None
    input_shape: tuple[int, ...] | None
    variables: tuple[tuple[str, Any], ...]

    def label(self) -> str:
        parts = []
        if self.variant:
            parts.append(self.variant)
        if self.input_shape is not None:
            parts.append("x".join(str(d) for d in self.input_shape))
        parts += [f"{k}={_fmt_value(v)}" for k, v in self.variables]
        return " ".join(parts) or "(defaults)"


class Result(NamedTuple):
    """A configuration's figures, or the reason it could not be built (``error``)."""

    config: Config
    params: int | None = None
    macs: int | None = None
    flops: int | None = None
    memory: int | None = None  # peak inference bytes: weights + live activations (batch 1)
    input_shape: tuple[int, ...] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def resolution(self) -> int | None:
        """The product of the input's spatial axes (pixels), or None."""
        if self.input_shape is None or len(self.input_shape) < 2:
            return None
        return math.prod(self.input_shape[1:])

    def figure(self, name: str) -> int | None:
        return self.resolution if name == "resolution" else getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        c = self.config
        return {
            "index": c.index,
            "variant": c.variant,
            "input_shape": list(self.input_shape or c.input_shape or []) or None,
            "variables": {k: v for k, v in c.variables},
            "params": self.params,
            "macs": self.macs,
            "flops": self.flops,
            "memory_bytes": self.memory,
            "error": self.error,
        }


class Sweep(NamedTuple):
    """The whole sweep: every evaluated configuration, which pass the filters, the front."""

    model: str
    results: list[Result]
    kept: list[Result]  # ok and within every budget
    front: list[Result]  # the Pareto front of ``kept`` on ``objectives``
    objectives: tuple[str, str]  # e.g. ("params", "macs"); a leading '-' means maximise
    filters: dict[str, int]
    total: int  # configurations in the whole grid (all shards)
    shard: tuple[int, int] | None = None
    compound: list[dict[str, Any]] | None = None

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    def to_dict(self) -> dict[str, Any]:
        front = {r.config.index for r in self.front}
        return {
            "schema_version": 2,
            "kind": "sweep",
            "model": self.model,
            "configurations": self.total,
            "shard": list(self.shard) if self.shard else None,
            "evaluated": len(self.results),
            "failed": len(self.failed),
            "kept": len(self.kept),
            "filters": self.filters,
            "pareto": {"objectives": list(self.objectives), "indices": sorted(front)},
            "results": [
                {**r.to_dict(), "kept": r in self.kept, "pareto": r.config.index in front}
                for r in self.results
            ],
            "compound": self.compound,
        }


# -- parsing ------------------------------------------------------------------------------------
def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _number(text: str, what: str) -> Decimal:
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        raise CnncalcError(f"{what}: '{text}' is not a number") from None
    if not d.is_finite():
        raise CnncalcError(f"{what}: '{text}' is not a finite number")
    return d


def _plain(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() and "." not in str(d) else float(d)


def parse_values(text: str, what: str = "value") -> list[Any]:
    """``a:b:step`` (inclusive of ``b`` when the steps land on it), ``a:b`` (step 1), a list
    ``x,y,z``, or one value. Steps are exact decimals: ``0.35:1.4:0.05`` gives 22 values, the
    last exactly 1.4 (float accumulation would miss it). Non-numbers are kept as text."""
    text = text.strip()
    if not text:
        raise CnncalcError(f"{what}: empty value")
    if ":" in text and not text.startswith("["):
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise CnncalcError(f"{what}: '{text}' is not a range", hint="write start:stop:step")
        lo, hi = _number(parts[0], what), _number(parts[1], what)
        step = _number(parts[2], what) if len(parts) == 3 else Decimal(1)
        if step <= 0:
            raise CnncalcError(f"{what}: the step of '{text}' must be positive")
        if hi < lo:
            raise CnncalcError(f"{what}: '{text}' ends before it starts")
        count = int((hi - lo) / step) + 1
        if count > MAX_CONFIGS:
            raise CnncalcError(f"{what}: '{text}' has {count:,} values (limit {MAX_CONFIGS:,})")
        all_int = all("." not in p and "e" not in p.lower() for p in parts)
        vals = [lo + step * k for k in range(count)]
        return [int(v) if all_int else float(v) for v in vals]
    items = [t.strip() for t in text.strip("[]").split(",")]
    out: list[Any] = []
    for t in items:
        if not t:
            raise CnncalcError(f"{what}: empty item in '{text}'")
        try:
            out.append(_plain(Decimal(t)))
        except InvalidOperation:
            low = t.lower()
            out.append(True if low == "true" else False if low == "false" else t)
    return out


_BRACE = re.compile(r"\{([^{}]*)\}")


def parse_inputs(text: str) -> list[tuple[int, ...]]:
    """Input shapes with brace ranges: ``3x{96..320:32}``, ``3x{224,256}x{224,256}``,
    ``3x224x224``. Several braces give their product. ``,`` between braces' items, ``..`` for a
    range with an optional ``:step``."""
    from . import parse_shape

    choices: list[list[str]] = []
    pieces: list[str] = []
    pos = 0
    for m in _BRACE.finditer(text):
        pieces.append(text[pos : m.start()])
        body = m.group(1)
        if ".." in body:
            rng, _, step = body.partition(":")
            a, _, b = rng.partition("..")
            try:
                lo, hi, st = int(a), int(b), int(step or 1)
            except ValueError:
                raise CnncalcError(
                    f"--input: cannot read the range '{{{body}}}'", hint="e.g. 3x{96..320:32}"
                ) from None
            if st <= 0 or hi < lo:
                raise CnncalcError(f"--input: '{{{body}}}' is an empty range")
            choices.append([str(v) for v in range(lo, hi + 1, st)])
        else:
            choices.append([v.strip() for v in body.split(",") if v.strip()])
        pos = m.end()
    pieces.append(text[pos:])
    if "{" in pieces[-1] or "}" in pieces[-1]:
        raise CnncalcError(f"--input: unbalanced braces in '{text}'")
    shapes = []
    for combo in itertools.product(*choices) if choices else [()]:
        s = "".join(p + (combo[k] if k < len(combo) else "") for k, p in enumerate(pieces))
        shapes.append(parse_shape(s))
    return shapes


_UNITS = {
    "": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "p": 10**15,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "b": 1,
}


def parse_quantity(text: str, what: str) -> int:
    """``300M`` → 300,000,000; ``1.5G``; ``5e6``; ``512MiB`` → 536,870,912 (binary units for
    bytes, decimal otherwise, as `summary` prints them)."""
    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([A-Za-z]*)\s*", text)
    unit = m.group(2).lower() if m else ""
    if m is None or unit not in _UNITS:
        raise CnncalcError(
            f"{what}: cannot read '{text}'", hint="e.g. 300M, 1.5G, 5e6, 512MiB (bytes)"
        )
    value = _number(m.group(1), what) * _UNITS[unit]
    if value < 0:
        raise CnncalcError(f"{what}: '{text}' is negative")
    return int(value)


def parse_shard(text: str) -> tuple[int, int]:
    """``i/n`` with 0 ≤ i < n: this process takes the configurations numbered i mod n."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or int(m.group(2)) < 1 or int(m.group(1)) >= int(m.group(2)):
        raise CnncalcError(
            f"--shard: '{text}' is not i/n with 0 ≤ i < n", hint="e.g. --shard 0/4 … --shard 3/4"
        )
    return int(m.group(1)), int(m.group(2))


# -- the grid -----------------------------------------------------------------------------------
def grid(
    variants: Sequence[str | None],
    inputs: Sequence[tuple[int, ...] | None],
    variables: Sequence[tuple[str, Sequence[Any]]],
) -> Iterator[Config]:
    """Every configuration in the documented order, numbered from 0."""
    names = [k for k, _ in variables]
    value_lists = [list(v) for _, v in variables]
    index = 0
    for variant in variants:
        for shape in inputs:
            for combo in itertools.product(*value_lists):
                yield Config(index, variant, shape, tuple(zip(names, combo)))
                index += 1


def grid_size(
    variants: Sequence[Any], inputs: Sequence[Any], variables: Sequence[tuple[str, Sequence[Any]]]
) -> int:
    return len(variants) * len(inputs) * math.prod(len(v) for _, v in variables)


# -- evaluation ---------------------------------------------------------------------------------
def evaluate(source: Any, config: Config, *, convention: str | None = None) -> Result:
    """Build and analyse one configuration; a CnncalcError becomes the result's ``error``.
    ``convention`` None: the spec's own (its variant's, else ``convention: keras``), else pytorch.

    The memory figure is the report's ``peak_inference_total_bytes`` (float32, batch 1),
    computed from the liveness pass alone: the sweep does not read the training estimate."""
    from . import build
    from .analysis import analyze_graph
    from .memory import liveness_peak, storage_roots

    try:
        graph = build(
            source,
            config.input_shape,
            variant=config.variant,
            variables=dict(config.variables),
            compare_own_input=False,  # the warning comparing with the own input: one more build
        )
        r = analyze_graph(graph, convention=convention)
        peak, _ = liveness_peak(graph, storage_roots(graph))
    except CnncalcError as err:
        return Result(config, input_shape=config.input_shape, error=str(err).splitlines()[0])
    except RecursionError:
        return Result(config, input_shape=config.input_shape, error="nesting too deep")
    memory = (peak + r.params + r.buffers) * 4  # float32; keras counts buffers in params
    return Result(config, r.params, r.macs, r.flops, memory, tuple(r.input_shape))


#: The spec a worker process evaluates: set before the pool forks, so that workers inherit it
#: instead of unpickling it with every chunk.
_WORKER: dict[str, Any] = {}


def _evaluate_chunk(configs: list[Config]) -> list[Result]:
    source, convention = _WORKER["source"], _WORKER["convention"]
    return [evaluate(source, c, convention=convention) for c in configs]


def _within(r: Result, filters: dict[str, int]) -> bool:
    for name, limit in filters.items():
        v = r.figure(name)
        if v is None or v > limit:
            return False
    return True


def pareto_front(results: Iterable[Result], objectives: tuple[str, str]) -> list[Result]:
    """The results no other result dominates on the two objectives (each minimised, or
    maximised when written with a leading '-'): r dominates s when it is at least as good on both
    and better on one. Equal points are all on the front. O(n log n): sort by the first
    objective, sweep keeping the best second."""
    keyed = []
    for r in results:
        vals = []
        for obj in objectives:
            sign, name = (-1, obj[1:]) if obj.startswith("-") else (1, obj)
            v = r.figure(name)
            if v is None:
                break
            vals.append(sign * v)
        else:
            keyed.append((vals[0], vals[1], r.config.index, r))
    keyed.sort(key=lambda t: (t[0], t[1], t[2]))
    front: list[Result] = []
    best = math.inf
    i = 0
    while i < len(keyed):
        j = i
        while j < len(keyed) and keyed[j][0] == keyed[i][0]:
            j += 1
        group_best = keyed[i][1]  # the group is sorted by the second objective
        if group_best < best:
            front += [t[3] for t in keyed[i:j] if t[1] == group_best]
            best = group_best
        i = j
    return sorted(front, key=lambda r: r.config.index)


def check_objectives(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise CnncalcError(f"--pareto: '{text}' must name two figures", hint="e.g. params,macs")
    for p in parts:
        if p.lstrip("-") not in FIGURES:
            from .errors import did_you_mean

            raise CnncalcError(
                f"--pareto: unknown figure '{p}'", hint=did_you_mean(p.lstrip("-"), FIGURES)
            )
    return parts[0], parts[1]


# -- compound scaling ---------------------------------------------------------------------------
class CompoundStep(NamedTuple):
    phi: int | float
    depth: float
    width: float
    resolution: int


def compound_grid(
    phis: Sequence[int | float],
    alpha: float = 1.2,
    beta: float = 1.1,
    gamma: float = 1.15,
    base_resolution: int = 224,
) -> list[CompoundStep]:
    """EfficientNet's compound scaling (Tan & Le 2019, eq. 3): depth d = α^φ, width w = β^φ,
    resolution r = γ^φ · base (rounded to the nearest pixel), with α·β²·γ² ≈ 2 so that FLOPs
    grow by about 2^φ. The paper's defaults: α = 1.2, β = 1.1, γ = 1.15 (α·β²·γ² = 1.92)."""
    return [
        CompoundStep(phi, alpha**phi, beta**phi, round(base_resolution * gamma**phi))
        for phi in phis
    ]


# -- running ------------------------------------------------------------------------------------
def run_sweep(
    source: Any,
    *,
    variants: Sequence[str | None] = (None,),
    inputs: Sequence[tuple[int, ...] | None] = (None,),
    variables: Sequence[tuple[str, Sequence[Any]]] = (),
    filters: dict[str, int] | None = None,
    objectives: tuple[str, str] = ("macs", "-params"),
    jobs: int = 1,
    shard: tuple[int, int] | None = None,
    convention: str | None = None,
    model: str | None = None,
    compound: list[dict[str, Any]] | None = None,
    configs: Sequence[Config] | None = None,
) -> Sweep:
    """Evaluate the grid (this shard of it) on ``jobs`` processes; filter; mark the front.

    ``configs`` replaces the product grid by an explicit list (``--compound``)."""
    from .zoo import resolve

    filters = dict(filters or {})
    res = resolve(source)
    src = res.spec  # parsed once; every configuration reuses it
    # a zoo member's name (resnet18) stands for its family's spec at that variant
    variants = [res.variant if v is None else v for v in variants]
    if configs is None:
        total = grid_size(variants, inputs, variables)
        if total > MAX_CONFIGS:
            raise CnncalcError(f"the grid has {total:,} configurations (limit {MAX_CONFIGS:,})")
        configs = list(grid(variants, inputs, variables))
    else:
        total = len(configs)
    configs = [c for c in configs if shard is None or c.index % shard[1] == shard[0]]
    if jobs <= 1 or len(configs) < 64:
        results = [evaluate(src, c, convention=convention) for c in configs]
    else:
        results = _parallel(src, configs, jobs, convention)
    kept = [r for r in results if r.ok and _within(r, filters)]
    return Sweep(
        model=model or str(source),
        results=results,
        kept=kept,
        front=pareto_front(kept, objectives),
        objectives=objectives,
        filters=filters,
        total=total,
        shard=shard,
        compound=compound,
    )


def _parallel(
    source: Any, configs: list[Config], jobs: int, convention: str | None
) -> list[Result]:
    import multiprocessing as mp

    # Chunks of a few hundred keep the per-task overhead small and the workers busy; the
    # ordered map returns results in configuration order whatever finishes first.
    size = max(16, min(512, len(configs) // (jobs * 8) or 1))
    chunks = [configs[k : k + size] for k in range(0, len(configs), size)]
    if "fork" not in mp.get_all_start_methods():  # pragma: no cover - Windows has no fork
        return [evaluate(source, c, convention=convention) for c in configs]
    _WORKER.update(source=source, convention=convention)
    try:
        with mp.get_context("fork").Pool(jobs) as pool:
            parts = pool.map(_evaluate_chunk, chunks, chunksize=1)
    finally:
        _WORKER.clear()
    return [r for part in parts for r in part]
