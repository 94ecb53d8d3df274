"""``cnncalc solve W W_OUT``: which kernel/stride/padding/dilation give that output size."""

from __future__ import annotations

import typer

from ._common import write_output


def solve(
    size: int = typer.Argument(..., help="Input size W on one axis (e.g. 224)."),
    target: int = typer.Argument(..., help="Wanted output size (e.g. 112)."),
    kernel: int = typer.Option(None, "--kernel", "-k", min=1, help="Fix the kernel size."),
    stride: int = typer.Option(None, "--stride", "-s", min=1, help="Fix the stride."),
    padding: int = typer.Option(None, "--padding", "-p", min=0, help="Fix the padding."),
    dilation: int = typer.Option(None, "--dilation", min=1, help="Fix the dilation."),
    transposed: bool = typer.Option(
        False, "--transposed", help="Solve for a transposed convolution (upsampling)."
    ),
    max_kernel: int = typer.Option(11, "--max-kernel", min=1, help="Largest kernel to try."),
    max_stride: int = typer.Option(4, "--max-stride", min=1, help="Largest stride to try."),
    max_dilation: int = typer.Option(1, "--max-dilation", min=1, help="Largest dilation to try."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="Show at most this many."),
    format: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """List (kernel, stride, padding, dilation) that turn SIZE into TARGET, simplest first."""
    from .. import windows
    from ..errors import CnncalcError
    from ..solve import solve as run

    if format not in ("table", "json"):
        raise CnncalcError(f"unknown format '{format}'", hint="use table or json")
    found = run(
        size,
        target,
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        padding=padding,
        transposed=transposed,
        max_kernel=max_kernel,
        max_stride=max_stride,
        max_dilation=max_dilation,
    )
    shown = found[:limit]
    if format == "json":
        import json

        doc = {
            "input": size,
            "target": target,
            "transposed": transposed,
            "count": len(found),
            "solutions": [s.to_dict() for s in shown],
        }
        write_output(json.dumps(doc, indent=2) + "\n", None)
        return
    kind = "transposed conv" if transposed else "conv/pool"
    lines = [f"{kind}: {size} → {target}: {len(found)} combination(s), simplest first"]
    if not found:
        if not transposed and target > size:
            lines.append(
                f"none: a conv or pooling layer never makes {size} larger; for upsampling to "
                f"{target} try --transposed (a transposed convolution)"
            )
        else:
            lines.append(
                "none in the searched range; try --max-kernel, --max-stride or --max-dilation"
            )
    for s in shown:
        tags = []
        if s.same:
            tags.append("'same'")
        if s.skips:
            tags.append("stride > kernel: skips input")
        if s.uncovered:
            # the left-over positions are the last ones of the padded input: padding first
            real = max(0, s.uncovered - s.padding)
            if real:
                tags.append(f"the last {real} input position(s) are never read")
            else:
                tags.append(f"{s.uncovered} padded position(s) unused at the end")
        desc = f"kernel {s.kernel}, stride {s.stride}, padding {s.padding}"
        if s.dilation > 1:
            desc += f", dilation {s.dilation}"
        if s.transposed:
            desc += f", output_padding {s.output_padding}"
        lines.append(f"  {desc:<48} {s.formula(size)}" + (f"  [{'; '.join(tags)}]" if tags else ""))
    if len(found) > limit:
        lines.append(f"  … {len(found) - limit} more (--limit)")
    # the stride whose "same" output is the target (or the stride given), if there is one
    st = stride or next((k for k in range(1, 65) if -(-size // k) == target), None)
    if not transposed and st is not None:
        same_out = -(-size // st)
        ks = [kernel] if kernel else [1, 2, 3, 5, 7]
        pairs = [windows.same_padding(size, k, st) for k in ks]
        pads = ", ".join(f"F={k}: {lo}+{hi}" for k, (lo, hi) in zip(ks, pairs))
        odd = any((lo + hi) % 2 for lo, hi in pairs)
        lines.append(
            f"'same' (out = ⌈{size}/{st}⌉ = {same_out}) at stride {st} needs padding lo+hi: {pads}"
            + (" (odd total: the extra pixel at the end)" if odd else "")
        )
    write_output("\n".join(lines) + "\n", None)


def register(app: typer.Typer) -> None:
    app.command()(solve)
