"""``cnncalc sweep MODEL``: a grid of variables, variants and input sizes under budgets, with the
Pareto front; or EfficientNet's compound scaling (``--compound phi=0:7``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from ..errors import CnncalcError
from ._common import CONVENTION, OUTPUT, choice, resolve_format, write_output

SWEEP_FORMATS = ("table", "json", "csv")


def sweep(
    spec: str = typer.Argument(..., help="Spec file, zoo model (mobilenet_v2) or family (resnet)."),
    set_: list[str] = typer.Option(
        None,
        "--set",
        "-s",
        help="A variable's values: name=start:stop:step, name=a,b,c or name=value (repeatable).",
    ),
    input: list[str] = typer.Option(
        None,
        "--input",
        "-i",
        help="Input shapes, braces expand: 3x{96..320:32} (a size written once stands for "
        "every spatial axis), 3x{224,256}x{224,256} (repeatable).",
    ),
    variant: str = typer.Option(
        None, "--variant", help="A variant, several (a,b) or 'all' of the spec's variants."
    ),
    compound: str = typer.Option(
        None,
        "--compound",
        help="EfficientNet compound scaling: phi=0:7 sets depth_mult=α^φ, width_mult=β^φ and "
        "the resolution γ^φ·base.",
    ),
    alpha: float = typer.Option(1.2, "--alpha", help="Compound depth base α."),
    beta: float = typer.Option(1.1, "--beta", help="Compound width base β."),
    gamma: float = typer.Option(1.15, "--gamma", help="Compound resolution base γ."),
    max_macs: str = typer.Option(None, "--max-macs", help="Budget, e.g. 300M or 1G."),
    max_flops: str = typer.Option(None, "--max-flops", help="Budget, e.g. 600M."),
    max_params: str = typer.Option(None, "--max-params", help="Budget, e.g. 5M."),
    max_memory: str = typer.Option(
        None, "--max-memory", help="Peak inference memory (weights + live activations), e.g. 64MiB."
    ),
    pareto: str = typer.Option(
        "macs,-params",
        "--pareto",
        help="The two figures of the Pareto front (params, macs, flops, memory, resolution), "
        "each minimised, or maximised with a leading '-'. Default macs,-params: the most "
        "parameters for the MACs (minimising both would leave only the smallest point).",
    ),
    jobs: int = typer.Option(
        0, "--jobs", "-j", min=0, help="Worker processes (default 0: one per core)."
    ),
    shard: str = typer.Option(
        None, "--shard", help="i/n: evaluate only the configurations numbered i mod n."
    ),
    show: str = typer.Option("auto", "--show", help="Table rows: auto, front, kept or all."),
    format: str = typer.Option(None, "--format", "-f", help="table, json or csv."),
    plot: Path = typer.Option(None, "--plot", help="Write an SVG scatter plot to this file."),
    convention: str = CONVENTION,
    output: Path = OUTPUT,
) -> None:
    """Which configurations of a family fit a budget: build and count every point of a grid."""
    from .. import build
    from ..render_sweep import scatter_svg, sweep_csv, sweep_json, sweep_text
    from ..sweep import (
        Config,
        check_objectives,
        compound_grid,
        parse_inputs,
        parse_quantity,
        parse_shard,
        parse_values,
        run_sweep,
    )
    from ..zoo import resolve

    fmt = resolve_format(format, output, SWEEP_FORMATS)
    if convention is not None:
        from ..analysis import CONVENTIONS

        choice(convention, CONVENTIONS, "--convention", "conventions")
    if show not in ("auto", "front", "kept", "all"):
        raise CnncalcError(f"--show: unknown '{show}'", hint="auto, front, kept or all")
    objectives = check_objectives(pareto)
    res = resolve(spec)
    sp = res.spec
    if variant is None:
        variants: list[str | None] = [res.variant]
    elif variant == "all":
        if not sp.variants:
            raise CnncalcError(f"{sp.name} has no variants")
        variants = list(sp.variants)
    else:
        variants = [v.strip() for v in variant.split(",") if v.strip()]
        for v in variants:
            if v not in sp.variants:
                from ..errors import did_you_mean

                raise CnncalcError(
                    f"'{v}' is not a variant of {sp.name}",
                    hint=did_you_mean(v, sp.variants, "variants"),
                )
    variables: list[tuple[str, list[Any]]] = []
    for item in set_ or []:
        if "=" not in item:
            raise CnncalcError(
                f"--set expects name=values, got '{item}'", hint="width_mult=0.5:1:0.25"
            )
        k, v = (t.strip() for t in item.split("=", 1))
        if k not in sp.variables:
            from ..errors import did_you_mean

            raise CnncalcError(
                f"--set: '{k}' is not a variable of {sp.name}",
                hint=did_you_mean(k, sp.variables, "variables"),
            )
        variables.append((k, parse_values(v, f"--set {k}")))
    base = build(sp, variant=variants[0])
    rank = len(next(iter(base.inputs.values())))
    shapes: list[tuple[int, ...] | None] = []
    for pattern in input or []:
        for s in parse_inputs(pattern):
            if len(s) < rank:  # 3x224 on an image model: 224 for every spatial axis
                s = s + (s[-1],) * (rank - len(s))
            shapes.append(s)
    filters = {
        k: parse_quantity(v, f"--max-{k}")
        for k, v in (
            ("macs", max_macs),
            ("flops", max_flops),
            ("params", max_params),
            ("memory", max_memory),
        )
        if v is not None
    }
    configs = None
    compound_rows = None
    if compound is not None:
        if input or set_:
            raise CnncalcError(
                "--compound sets the variables and the input itself: drop --set/--input"
            )
        name, _, values = compound.partition("=")
        if name.strip() != "phi" or not values:
            raise CnncalcError(f"--compound: expected phi=VALUES, got '{compound}'", hint="phi=0:7")
        missing = [v for v in ("depth_mult", "width_mult") if v not in sp.variables]
        if missing:
            raise CnncalcError(
                f"--compound needs a family with depth and width multipliers; {sp.name} has no "
                + " or ".join(f"'{m}'" for m in missing),
                hint="e.g. cnncalc sweep efficientnet_b0 --compound phi=0:7",
            )
        base_shape = next(iter(base.inputs.values()))
        steps = compound_grid(
            parse_values(values, "--compound phi"), alpha, beta, gamma, base_shape[-1]
        )
        configs, compound_rows = [], []
        published = _published(sp, build)
        for k, st in enumerate(steps):
            vals: list[tuple[str, Any]] = [("depth_mult", st.depth), ("width_mult", st.width)]
            shape: tuple[int, ...] | None = base_shape[:-2] + (st.resolution, st.resolution)
            if "resolution" in sp.variables:
                vals.append(("resolution", st.resolution))
                shape = None
            configs.append(Config(k, variants[0], shape, tuple(vals)))
            phi = st.phi
            compound_rows.append(
                {
                    "index": k,
                    "phi": phi,
                    "depth": st.depth,
                    "width": st.width,
                    "resolution": st.resolution,
                    "product": alpha * beta**2 * gamma**2,
                    "published": published.get(phi) if float(phi).is_integer() else None,
                }
            )
    sw = run_sweep(
        sp,
        variants=variants,
        inputs=shapes or [None],
        variables=variables,
        filters=filters,
        objectives=objectives,
        jobs=jobs or os.cpu_count() or 1,
        shard=parse_shard(shard) if shard else None,
        convention=convention,
        model=spec,
        compound=compound_rows,
        configs=configs,
    )
    if plot is not None:
        write_output(scatter_svg(sw), plot)
    if fmt == "json":
        write_output(sweep_json(sw), output)
    elif fmt == "csv":
        write_output(sweep_csv(sw), output)
    else:
        write_output(sweep_text(sw, show), output)


def _published(sp: Any, build: Any) -> dict[int, dict[str, Any]]:
    """The family's members that end in b0, b1, … with published figures (``expected``), by φ."""
    import re

    out: dict[int, dict[str, Any]] = {}
    for name, vdef in sp.variants.items():
        m = re.search(r"b(\d+)$", name)
        exp = vdef.get("expected") if hasattr(vdef, "get") else None
        if not m or not exp or "params" not in exp or "gmacs" not in exp:
            continue
        shape = next(iter(build(sp, variant=name).inputs.values()))
        out[int(m.group(1))] = {
            "name": name,
            "params": int(exp["params"]),
            "gmacs": exp["gmacs"],
            "resolution": shape[-1],
        }
    return out


def register(app: typer.Typer) -> None:
    app.command()(sweep)
