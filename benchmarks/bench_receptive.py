"""The receptive-field pass alone: CPU time of ``receptive_fields(graph)`` on built graphs.

Run:  python benchmarks/bench_receptive.py [--runs N] [MODEL ...]

Graphs: bench_core's generated specs at 10k layers (identical repeated blocks; every layer
distinct, 1×1 convs), resnet152, convnext_tiny (channels-last blocks) and any zoo models named.
Each is timed ``--runs`` times (default 40); the best (least CPU) run is printed, in ms and in
layers/s. To compare two versions, run it on each commit (``git stash`` / ``git checkout``):
the machine may be shared, so compare best runs, and repeat.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_core import GENERATED_DISTINCT, GENERATED_IDENTICAL  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("models", nargs="*", default=["resnet152", "convnext_tiny"])
    args = ap.parse_args()

    import cnncalc
    from cnncalc.graph import build_graph
    from cnncalc.receptive import receptive_fields
    from cnncalc.spec import spec_from_text

    graphs = {
        "identical 10k": build_graph(spec_from_text(GENERATED_IDENTICAL.format(n=2500))),
        "distinct 10k": build_graph(spec_from_text(GENERATED_DISTINCT.format(n=10000))),
    }
    for name in args.models:
        graphs[name] = cnncalc.build(name)
    for label, graph in graphs.items():
        best = float("inf")
        for _ in range(args.runs):
            gc.collect()
            c = time.process_time()
            receptive_fields(graph)
            best = min(best, time.process_time() - c)
        n = len(graph.nodes)
        print(f"{label:16s} {n:6d} layers  {best * 1e3:7.2f} ms  {n / best:12,.0f} layers/s")


if __name__ == "__main__":
    main()
