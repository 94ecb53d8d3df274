"""Run every exportable zoo model's ONNX export in onnxruntime (not a test: a check to read).

Each model is exported with its seeded random weights, run at batch 1 on a standard-normal
input of its own shape, and reported OK when every output has the analyzer's shape and only
finite values. Models over ``--max-params`` are skipped (memory: weights, their ONNX copy and
onnxruntime's each hold them); the export of those over 1.8 GB of weights writes external data,
which this script does not exercise.

    python benchmarks/onnxruntime_zoo.py [--max-params 310000000] [--min-params 0]
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np
import onnxruntime as ort

import cnncalc
from cnncalc.backend.run import random_inputs
from cnncalc.export.onnx import REFUSED, to_onnx
from cnncalc.zoo import zoo_members


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-params", type=int, default=310_000_000)
    ap.add_argument("--min-params", type=int, default=0)
    args = ap.parse_args()
    ok = bad = skipped = refused = 0
    for m in zoo_members():
        graph = cnncalc.build(m.name)
        if any(n.type in REFUSED for n in graph.nodes):
            refused += 1
            continue
        params = cnncalc.analyze(graph).totals.params
        if not args.min_params <= params <= args.max_params:
            skipped += 1
            print(f"{m.name:28} skipped ({params:,} params)", flush=True)
            continue
        t = time.perf_counter()
        try:
            options = ort.SessionOptions()
            options.log_severity_level = 3
            session = ort.InferenceSession(
                to_onnx(graph, seed=0).SerializeToString(),
                options,
                providers=["CPUExecutionProvider"],
            )
            outs = session.run(None, random_inputs(graph, batch=1, seed=1))
            good = all(
                o.shape == (1, *graph.shape_of(name)) and np.isfinite(o).all()
                for o, name in zip(outs, graph.outputs)
            )
        except Exception as exc:  # noqa: BLE001 - a check script reports every failure
            good = False
            print(f"{m.name:28} ERROR {type(exc).__name__}: {str(exc)[:160]}", flush=True)
        ok += good
        bad += not good
        print(f"{m.name:28} {'OK' if good else 'BAD'} {time.perf_counter() - t:6.1f} s", flush=True)
        gc.collect()
    print(f"OK {ok}, bad {bad}, skipped {skipped}, refused (roi_align) {refused}")


if __name__ == "__main__":
    main()
