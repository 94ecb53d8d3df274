"""Is the analyzer linear in depth? Instructions per layer, counted by Valgrind, at two depths.

Run:  python benchmarks/instructions_per_layer.py [--kinds distinct,identical] [--what analyze,all]

Wall or CPU time per layer falls ~10-15 % from 10k to 100k layers on a shared 2-core machine,
and timing cannot say whether that is the code (work per layer growing with depth) or the
machine (caches, page faults of a few hundred MB). Executed instructions can: each figure is
``(I(2n) − I(n)) / n`` for a small n and a large n, so start-up and imports cancel out, counted
by ``valgrind --tool=cachegrind --cache-sim=no`` (deterministic to a fraction of a percent).
Equal figures at both depths mean constant work per layer: linear in depth.

``analyze``: graph building + ``analyze_graph`` (what bench_core times); ``all``: with every
lazily computed figure read too (``report.resolve()``: receptive fields, warnings, memory).
The generated specs are bench_core's. Needs ``valgrind`` on the PATH (Debian: ``apt install
valgrind``); slow (~1 min per point).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def child(kind: str, layers: int, what: str) -> None:
    """Build (and analyse, and read) one generated spec: the process Valgrind counts."""
    sys.path.insert(0, HERE)
    from bench_core import KINDS

    from cnncalc.analysis import analyze_graph
    from cnncalc.graph import build_graph
    from cnncalc.spec import spec_from_text

    _, template, per_repeat = KINDS[kind]
    spec = spec_from_text(template.format(n=layers // per_repeat))
    if what == "none":
        return
    report = analyze_graph(build_graph(spec))
    if what == "all":
        report.resolve()


def instructions(kind: str, layers: int, what: str) -> int:
    out = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            os.path.abspath(__file__),
            "--child",
            kind,
            str(layers),
            what,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    m = re.search(r"I\s+refs:\s+([\d,]+)", out)
    if m is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{out[-2000:]}")
    return int(m.group(1).replace(",", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default="distinct,identical")
    ap.add_argument("--what", default="analyze,all")
    ap.add_argument("--small", type=int, default=10_000, help="n of the first pair (n, 2n)")
    ap.add_argument("--large", type=int, default=50_000, help="n of the second pair (n, 2n)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, layers, what = args.child
        child(kind, int(layers), what)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt install valgrind)")
    for kind in args.kinds.split(","):
        for what in args.what.split(","):
            per = []
            for n in (args.small, args.large):
                a, b = instructions(kind, n, what), instructions(kind, 2 * n, what)
                per.append((n, (b - a) / n))
            (n1, i1), (n2, i2) = per
            print(
                f"{kind:>9} {what:>7}: {i1:>9,.0f} instructions/layer from {n1:,} to {2 * n1:,} "
                f"layers, {i2:>9,.0f} from {n2:,} to {2 * n2:,} ({100 * (i2 / i1 - 1):+.1f} %)"
            )


if __name__ == "__main__":
    main()
