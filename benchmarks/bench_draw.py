"""Drawing speed: ``cnncalc draw`` of the largest zoo model, and the HTML report in Chromium.

Run:  python benchmarks/bench_draw.py [--runs N]

1. draw: build + analyze + layout + SVG of the zoo model with the most layers (in process,
   median of N, wall clock and CPU time: CPU time is what a busy machine does not inflate),
   and the whole CLI ``cnncalc draw MODEL -o FILE`` (wall clock, median of N).
   Target ≤ 2 s.
2. HTML: ``summary efficientnet_b7 --format html``, opened in headless Chromium (Debian's
   ``chromium``). Two figures: the page's own ``performance.now()`` when its script has run and
   its timer fires (navigation start → table, diagrams and script done), and the wall clock of
   ``chromium --screenshot`` on the report minus the same on an empty page (browser start-up
   excluded). Both are wall clock: on a busy machine they grow with the load. Target ≤ 2 s.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def largest_model() -> tuple[str, int]:
    import cnncalc
    from cnncalc.zoo import zoo_members

    best = ("", 0)
    for m in zoo_members():
        if m.spec is None:
            continue
        n = len(cnncalc.build(m.name).nodes)
        if n > best[1]:
            best = (m.name, n)
    return best


def bench_draw(name: str, runs: int) -> None:
    import cnncalc
    from cnncalc.analysis import analyze_graph
    from cnncalc.draw import draw_graph

    times, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        g = cnncalc.build(name)
        svg = draw_graph(g, analyze_graph(g))
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(
        f"draw {name} in process: median {statistics.median(times):.2f} s wall, "
        f"{statistics.median(cpu):.2f} s CPU (the first run imports grandalf; "
        f"{len(svg) / 1e6:.1f} MB of SVG)"
    )
    cli, cli_cpu = [], []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(runs):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "cnncalc", "draw", name, "-o", os.path.join(d, "x.svg")],
                check=True,
                capture_output=True,
            )
            cli.append(time.perf_counter() - t)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli_cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    print(
        f"cnncalc draw {name} -o FILE (CLI): median {statistics.median(cli):.2f} s wall, "
        f"{statistics.median(cli_cpu):.2f} s CPU"
    )


def bench_html(runs: int) -> None:
    from browser import FLAGS, chromium_path

    exe = chromium_path()
    if not exe:
        print("HTML: skipped (no chromium)")
        return
    with tempfile.TemporaryDirectory() as d:
        page = Path(d) / "b7.html"
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cnncalc",
                "summary",
                "efficientnet_b7",
                "--format",
                "html",
                "-o",
                str(page),
            ],
            check=True,
            capture_output=True,
        )
        print(
            f"summary efficientnet_b7 --format html: {time.perf_counter() - t:.2f} s, "
            f"{page.stat().st_size / 1e6:.1f} MB"
        )
        empty = Path(d) / "empty.html"
        empty.write_text("<!DOCTYPE html><title>x</title>")

        def shot(p: Path) -> float:
            """Wall seconds of one ``chromium --screenshot`` run (CPU time is not measurable
            from here: the renderers are not reaped into this process's RUSAGE_CHILDREN)."""
            with tempfile.TemporaryDirectory() as prof:
                t = time.perf_counter()
                subprocess.run(
                    [
                        exe,
                        *FLAGS,
                        f"--user-data-dir={prof}",
                        f"--screenshot={d}/s.png",
                        "--window-size=1280,1600",
                        p.as_uri(),
                    ],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
                return time.perf_counter() - t

        def script_ms() -> int:
            with tempfile.TemporaryDirectory() as prof:
                out = subprocess.run(
                    [exe, *FLAGS, f"--user-data-dir={prof}", "--dump-dom", page.as_uri()],
                    capture_output=True,
                    text=True,
                    timeout=120,
                ).stdout
            m = re.search(r'data-ms="(\d+)"', out)
            return int(m.group(1)) if m else -1

        base = [shot(empty) for _ in range(runs)]
        full = [shot(page) for _ in range(runs)]
        ms = [script_ms() for _ in range(runs)]
        bw, fw = statistics.median(base), statistics.median(full)
        print(
            f"Chromium screenshot: report {fw:.2f} s, empty page {bw:.2f} s → the report "
            f"costs {fw - bw:.2f} s (wall)"
        )
        print(
            f"page script done at performance.now() = {statistics.median(ms)} ms "
            f"(median; -1 = the dump came before the first frame)"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    name, n = largest_model()
    print(f"largest zoo model: {name} ({n} layers)")
    bench_draw(name, a.runs)
    if shutil.which("chromium") or os.environ.get("CNNCALC_CHROMIUM"):
        bench_html(a.runs)


if __name__ == "__main__":
    main()
