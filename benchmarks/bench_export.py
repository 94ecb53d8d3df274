"""Speed of `cnncalc export` over the whole zoo (not a timed test: a measurement to read).

Budget (issue 13): --to pytorch ≤ 0.5 s per zoo model, --to onnx without weights ≤ 1 s. Times
are the export of an already built graph (median of 5) and, separately, build + export as the
command does it; the command's process start-up (~0.2 s, typer/rich) is not included.

    python benchmarks/bench_export.py            # needs onnx for the ONNX column
"""

from __future__ import annotations

import statistics
import time

import cnncalc
from cnncalc.errors import CnncalcError
from cnncalc.export.pytorch import to_pytorch
from cnncalc.zoo import zoo_members


def _median(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    try:
        from cnncalc.export.onnx import to_onnx
    except ImportError:  # pragma: no cover
        to_onnx = None
    print(f"{'model':28} {'build':>8} {'pytorch':>8} {'onnx':>8}  (seconds, median of 5)")
    worst = {"pytorch": 0.0, "onnx": 0.0}
    for m in zoo_members():
        build = _median(lambda name=m.name: cnncalc.build(name), 3)
        graph = cnncalc.build(m.name)
        row = [f"{m.name:28}", f"{build:8.3f}"]
        for target, fn in (
            ("pytorch", lambda g=graph: to_pytorch(g)),
            ("onnx", (lambda g=graph: to_onnx(g, weights=False)) if to_onnx else None),
        ):
            if fn is None:
                row.append(f"{'-':>8}")
                continue
            try:
                t = _median(fn)
            except CnncalcError:
                row.append(f"{'refused':>8}")
                continue
            worst[target] = max(worst[target], build + t)
            row.append(f"{t:8.3f}")
        print(" ".join(row), flush=True)
    print(
        f"slowest build + export: pytorch {worst['pytorch']:.3f} s (budget 0.5), "
        f"onnx without weights {worst['onnx']:.3f} s (budget 1.0)"
    )


if __name__ == "__main__":
    main()
