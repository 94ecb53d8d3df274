"""Sweep throughput: ResNet-50 configurations (build + full analysis) per second.

Run:  python benchmarks/bench_sweep.py [--configs N] [--jobs 1,2]

A configuration is one point of ``cnncalc sweep resnet50 --input 3x{128..448:32} --set
num_classes=…``: the graph is built from the parsed spec (parsed once per sweep) and fully
analysed (shapes, params, MACs, FLOPs, receptive fields, warnings, memory). The figure is
configurations / wall second for the whole sweep, including process start-up of the workers,
median of ``--runs`` runs. Target (issue 15): ≥ 1,000 per second on the 2-core CI machine with
``--jobs 2``. Also prints the CPU time per configuration (this process and the pool's workers,
``resource.getrusage``) and, with ``--profile``, one process's profile.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from cnncalc.sweep import run_sweep  # noqa: E402


def grid(n: int) -> dict:
    sizes = list(range(128, 449, 32))  # 11 input sizes
    classes = list(range(1, n // len(sizes) + 2))
    return {
        "inputs": [(3, s, s) for s in sizes],
        "variables": [("num_classes", classes)],
    }


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the pool's workers)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=2000)
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="profile one process")
    args = ap.parse_args()
    g = grid(args.configs)
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    for jobs in (int(j) for j in args.jobs.split(",")):
        rates, cpus = [], []
        for _ in range(args.runs):
            c = _cpu()
            t = time.perf_counter()
            sw = run_sweep("resnet50", jobs=jobs, **g)
            dt = time.perf_counter() - t
            assert not sw.failed, sw.failed[0].error
            rates.append(len(sw.results) / dt)
            cpus.append((_cpu() - c) / len(sw.results))
        print(
            f"resnet50, {len(sw.results):,} configurations, --jobs {jobs}: "
            f"{statistics.median(rates):,.0f} configurations/s "
            f"(min {min(rates):,.0f}, max {max(rates):,.0f}); "
            f"CPU {statistics.median(cpus) * 1000:.2f} ms per configuration (all processes)"
        )
    if args.profile:
        pr = cProfile.Profile()
        pr.enable()
        run_sweep("resnet50", jobs=1, **grid(200))
        pr.disable()
        st = pstats.Stats(pr)
        st.sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
