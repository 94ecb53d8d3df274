"""Core speed benchmark: the CLI against the import floor, and the analyzer on deep generated specs.

Run:  python benchmarks/bench_core.py [--runs N] [--cli PATH]

1. CLI: ``cnncalc summary resnet152`` (default table, stdout to a pipe) against the floor
   ``python -c "import typer, rich, yaml"``; medians over N runs, interleaved A B A B.
   Target: within 1.5× of the floor.
2. Analyzer: graph building + analysis (YAML parsing excluded) of generated specs of 10k, 30k
   and 100k layers via ``repeat``, (a) identical repeated blocks, (b) every layer different
   (channel count varies with the repeat index, so nothing is shared). Target ≥ 100k layers/s,
   linear in depth.

Bytecode matters for start-up: run with PYTHONDONTWRITEBYTECODE unset (a pip-installed package
has its .pyc files compiled at install time).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import subprocess
import sys
import time

GENERATED_IDENTICAL = """
input: [8, 16, 16]
blocks:
  unit:
    layers:
      - conv2d: {{out_channels: 8, kernel_size: 3, padding: 1, bias: false}}
      - batchnorm2d:
      - relu
      - add:
        inputs: [relu_1, input]
layers:
  - unit:
    repeat: {n}
"""

GENERATED_DISTINCT = """
input: [8, 8, 8]
layers:
  - conv2d: {{out_channels: "8 + i", kernel_size: 3, padding: 1}}
    repeat: {n}
"""


def time_cmd(argv: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(argv, capture_output=True, env=env, check=True)
    return time.perf_counter() - t


def bench_cli(runs: int, cli: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    floor = [sys.executable, "-c", "import typer, rich, yaml"]
    cmd = [cli, "summary", "resnet152"]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", os.path.dirname(__import__("cnncalc").__file__)],
        stdout=subprocess.DEVNULL,
        env=env,
    )
    for argv in (floor, cmd):  # warm-up
        time_cmd(argv, env)
    a, b = [], []
    for _ in range(runs):
        a.append(time_cmd(cmd, env))
        b.append(time_cmd(floor, env))
    ratios = sorted(x / y for x, y in zip(a, b))
    print(
        f"CLI  cnncalc summary resnet152: median {statistics.median(a) * 1000:.0f} ms "
        f"(min {min(a) * 1000:.0f})"
    )
    print(
        f"     floor import typer,rich,yaml: median {statistics.median(b) * 1000:.0f} ms "
        f"(min {min(b) * 1000:.0f})"
    )
    print(
        f"     ratio (pairwise): median {statistics.median(ratios):.2f}× "
        f"(min {ratios[0]:.2f}, max {ratios[-1]:.2f}); target ≤ 1.5×"
    )


def bench_analyzer() -> None:
    from cnncalc.analysis import analyze_graph
    from cnncalc.graph import build_graph
    from cnncalc.spec import spec_from_text

    for label, template, per_repeat in (
        ("identical blocks", GENERATED_IDENTICAL, 4),
        ("all layers distinct", GENERATED_DISTINCT, 1),
    ):
        for layers in (10_000, 30_000, 100_000):
            spec = spec_from_text(template.format(n=layers // per_repeat))
            gc.collect()
            t0 = time.perf_counter()
            graph = build_graph(spec)
            t1 = time.perf_counter()
            report = analyze_graph(graph)
            t2 = time.perf_counter()
            n = len(report.rows)
            print(
                f"analyzer {label:>20}: {n:>7,} layers  build {t1 - t0:6.3f} s  "
                f"analyze {t2 - t1:6.3f} s  → {n / (t2 - t0):>9,.0f} layers/s"
            )
            del graph, report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--cli", default=shutil.which("cnncalc") or "cnncalc")
    ap.add_argument("--skip-cli", action="store_true")
    args = ap.parse_args()
    if not args.skip_cli:
        bench_cli(args.runs, args.cli)
    bench_analyzer()


if __name__ == "__main__":
    main()
