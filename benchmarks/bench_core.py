"""Core speed benchmark: the CLI against the import floor, and the analyzer on deep generated specs.

Run:  python benchmarks/bench_core.py [--runs N] [--cli PATH] [--skip-cli] [--repeat N]

1. CLI: ``cnncalc summary resnet152`` (default table, stdout to a pipe) against the floor
   ``python -c "import typer, rich, yaml"``; medians over N runs, interleaved A B A B.
   Target: within 1.5× of the floor.
2. Analyzer: graph building + analysis (YAML parsing excluded) of generated specs of 10k, 30k
   and 100k layers via ``repeat``, (a) identical repeated blocks, (b) every layer different
   (channel count varies with the repeat index, so nothing is shared). Targets (issue 15):
   ≥ 200k layers/s for (a) and ≥ 100k layers/s for (b) at 100k layers, linear in depth.
   Printed: wall and CPU time of build + analyze_graph (receptive fields, warnings and the
   memory estimate are computed on first read), then the rate with those read too ("all read":
   ``report.resolve()``, what ``--format json`` or ``--rf`` costs). Each size runs ``--repeat``
   times (default 3): the best run, and the spread of the CPU rate. Where the time goes:
   docs/performance.md.
3. Memory: peak RSS (VmHWM of /proc/self/status, else ``resource.getrusage``) of a fresh process that builds, analyses and
   resolves a 100k-layer spec of each kind. Target ≤ 500 MB.

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

# 1×1 spatial and kernel 1: with channels growing to 100k, a 3×3 conv on 8×8 would total more
# than 2**53 FLOPs, which cnncalc refuses (figures beyond it are not exact in JSON).
GENERATED_DISTINCT = """
input: [8, 1, 1]
layers:
  - conv2d: {{out_channels: "8 + i", kernel_size: 1}}
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


KINDS = {
    "identical": ("identical blocks", GENERATED_IDENTICAL, 4),
    "distinct": ("all layers distinct", GENERATED_DISTINCT, 1),
}


def bench_analyzer(sizes: tuple[int, ...], repeat: int = 3) -> None:
    """Each size ``repeat`` times, each from a freshly parsed spec (a parsed spec keeps the
    layers it built for its next graphs): the best (least CPU) run, and the spread of the CPU
    rate over the runs (the machine may be shared: CPU time is steadier than wall time)."""
    from cnncalc.analysis import analyze_graph
    from cnncalc.graph import build_graph
    from cnncalc.spec import spec_from_text

    for label, template, per_repeat in KINDS.values():
        for layers in sizes:
            runs = []
            for _ in range(repeat):
                spec = spec_from_text(template.format(n=layers // per_repeat))
                gc.collect()
                t0, c0 = time.perf_counter(), time.process_time()
                graph = build_graph(spec)
                t1 = time.perf_counter()
                report = analyze_graph(graph)
                t2, c2 = time.perf_counter(), time.process_time()
                report.resolve()
                t3, c3 = time.perf_counter(), time.process_time()
                runs.append((c2 - c0, t1 - t0, t2 - t1, t2 - t0, c3 - c0, t3 - t0))
                n = len(report.rows)
                del graph, report, spec
            cpu, build, analyze, wall, cpu_all, wall_all = min(runs)
            rates = sorted(n / r[0] for r in runs)
            print(
                f"analyzer {label:>20}: {n:>7,} layers  build {build:6.3f} s  "
                f"analyze {analyze:6.3f} s  → {n / wall:>9,.0f} layers/s "
                f"(CPU {n / cpu:>9,.0f}/s, runs {rates[0]:,.0f}–{rates[-1]:,.0f}); "
                f"all read {n / wall_all:>9,.0f} layers/s (CPU {n / cpu_all:>9,.0f}/s)"
            )


def rss_child(kind: str, layers: int) -> None:
    """Build, analyse and resolve one spec; print the process's peak RSS in MB."""
    import resource

    from cnncalc.analysis import analyze_graph
    from cnncalc.graph import build_graph
    from cnncalc.spec import spec_from_text

    _, template, per_repeat = KINDS[kind]
    report = analyze_graph(build_graph(spec_from_text(template.format(n=layers // per_repeat))))
    report.resolve()
    # VmHWM: this process's peak RSS. (getrusage's ru_maxrss survives exec on Linux: a child
    # started by a larger parent reports the parent's peak.)
    try:
        with open("/proc/self/status") as f:
            peak_kb = next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))
    except OSError:
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"{len(report.rows)} {peak_kb / 1024:.0f}")


def bench_rss(layers: int) -> None:
    here = os.path.abspath(__file__)
    for kind, (label, _, _) in KINDS.items():
        out = subprocess.run(
            [sys.executable, here, "--rss-child", kind, "--layers", str(layers)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        print(f"peak RSS {label:>20}: {int(out[0]):>7,} layers  {out[1]} MB (target ≤ 500 MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--cli", default=shutil.which("cnncalc") or "cnncalc")
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--sizes", default="10000,30000,100000", help="layer counts, comma-separated")
    ap.add_argument("--layers", type=int, default=100_000, help="layers for the RSS measurement")
    ap.add_argument("--repeat", type=int, default=3, help="runs per analyzer size (best shown)")
    ap.add_argument("--rss-child", choices=tuple(KINDS), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        rss_child(args.rss_child, args.layers)
        return
    if not args.skip_cli:
        bench_cli(args.runs, args.cli)
    bench_analyzer(tuple(int(x) for x in args.sizes.split(",")), max(1, args.repeat))
    bench_rss(args.layers)


if __name__ == "__main__":
    main()
