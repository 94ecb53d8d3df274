"""``cnncalc export SPEC --to pytorch|onnx -o FILE``: write the spec as PyTorch source or ONNX.

PyTorch: a readable module that depends on torch only (one class per block, the spec's names as
attribute paths, ``build()`` at the end); without ``-o`` it goes to stdout. ONNX: a model file
(random weights, or ``--no-weights`` for weight inputs without data); ``-o`` is required.
An existing ``-o`` file is only replaced with ``--force``. A spec with a layer that has no form in
the target is refused with the list of such layers (exit 1).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..errors import CnncalcError
from ._common import SET, VARIANT, parse_sets

TARGETS = ("pytorch", "onnx")


def export(
    spec: str = typer.Argument(..., help="Spec file, zoo model (resnet50) or family (vgg)."),
    to: str = typer.Option(..., "--to", "-t", help="Target format: pytorch or onnx."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Write to this file (PyTorch: stdout without it)."
    ),
    force: bool = typer.Option(False, "--force", "-f", help="Replace an existing output file."),
    weights: bool = typer.Option(
        True,
        "--weights/--no-weights",
        help="ONNX: random weights (seeded) or weight inputs without data (small file).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the random ONNX weights."),
    input: str = typer.Option(
        None, "--input", "-i", help="Input shape without batch, e.g. 3x299x299."
    ),
    set_: list[str] = SET,
    variant: str = VARIANT,
) -> None:
    """Export a spec to PyTorch source (nn.Module classes) or to an ONNX model.

    The PyTorch file depends on torch only; its state_dict keys are the spec's layer names, so a bundled torchvision model's export loads torchvision's weights. The ONNX model passes onnx.checker; its initializers hold exactly the analyzer's parameters and buffers.
    """
    from .. import build, parse_shape

    if to not in TARGETS:
        from ..errors import did_you_mean

        raise CnncalcError(
            f"unknown export target '{to}'", hint=did_you_mean(to, TARGETS, "targets")
        )
    if output is None and to == "onnx":
        raise CnncalcError("an ONNX export needs an output file", hint="add -o model.onnx")
    if output is not None and output.exists() and not force:
        raise CnncalcError(f"{output} exists", hint="add --force to replace it")
    shape = parse_shape(input) if input else None
    graph = build(spec, shape, variant=variant, variables=parse_sets(set_))
    if to == "pytorch":
        from ..export.pytorch import to_pytorch

        data = to_pytorch(graph).encode()
        what = "PyTorch source"
    else:
        from ..export.onnx import save, to_onnx

        assert output is not None  # refused above
        what = "ONNX model" + ("" if weights else " without weights")
        size, side = save(to_onnx(graph, weights=weights, seed=seed), output)
        where = f"; weights in {side.name}, keep it beside the model" if side else ""
        print(f"wrote {output} ({what} of {graph.name}, {size:,} bytes{where})", file=sys.stderr)
        return
    if output is None:
        sys.stdout.write(data.decode())
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise CnncalcError(f"cannot write {output}: {exc.strerror}") from None
    print(f"wrote {output} ({what} of {graph.name}, {len(data):,} bytes)", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command()(export)
