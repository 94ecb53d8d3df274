"""Hostile inputs: time and peak memory until cnncalc refuses them (or, for the near-limit ones,
answers). Each input runs (1) through the CLI in a fresh process (wall time, peak RSS from
``os.wait4``) and (2) in-process through the library (time, ``tracemalloc`` peak of Python
allocations during load + build).

Run:  python benchmarks/bench_hostile.py [--only NAME ...]

Reference point: the peak RSS of ``cnncalc summary lenet5`` is printed first; a hostile input
should cost about the same (the interpreter, typer and rich dominate).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path


def laughs(levels: int = 9) -> str:
    out = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghijklmnop"
    for k in range(1, levels):
        out.append(f"{names[k]}: &{names[k]} [" + ", ".join([f"*{names[k - 1]}"] * 10) + "]")
    return "input: [3, 32, 32]\nlayers: [relu]\nnotes:\n" + "\n".join("  " + x for x in out) + "\n"


def block_chain(levels: int = 9, skipped: bool = False) -> str:
    leaf = "{relu: null, when: 'False'}" if skipped else "relu"
    text = f"input: [3, 32, 32]\nblocks:\n  b0: {{layers: [{leaf}]}}\n"
    for k in range(levels):
        text += f"  b{k + 1}: {{layers: [" + ", ".join([f"b{k}"] * 10) + "]}\n"
    return text + f"layers:\n  - relu\n  - b{levels}\n"


def list_doubling() -> str:
    text = "input: [3, 32, 32]\nvariables:\n  v0: [1, 2]\n"
    text += "".join(f"  v{k + 1}: '[v{k}, v{k}]'\n" for k in range(60))
    return text + "layers: [relu]\n"


def big_yaml(n_layers: int) -> str:
    return "input: [3, 64, 64]\nlayers:\n" + "".join(
        f"  - conv2d: {{out_channels: {i % 8 + 8}, kernel_size: 3, padding: 1}}\n    name: c{i}\n"
        for i in range(n_layers)
    )


CASES = {
    "billion_laughs": lambda: laughs(9),
    "repeat_bomb": lambda: (
        "input: [3, 32, 32]\nblocks:\n  u:\n    layers:\n      - relu:\n        repeat: 1000000\n"
        "layers:\n  - u:\n    repeat: 1000000\n"
    ),
    "repeat_param_bomb": lambda: (
        "input: [3, 32, 32]\nblocks:\n  u:\n    params: {n: null}\n    layers:\n"
        "      - relu:\n        repeat: n\n  o:\n    params: {n: null}\n    layers:\n"
        "      - u: {n: n}\n        repeat: n\nlayers:\n  - o: {n: 100000}\n"
    ),
    "block_chain_bomb": lambda: block_chain(9),
    "skipped_entries_bomb": lambda: block_chain(9, skipped=True),
    "deep_nesting_flow": lambda: "input: [3, 8, 8]\nx: " + "[" * 200_000 + "]" * 200_000 + "\n",
    "deep_nesting_block": lambda: "input: [3, 8, 8]\nx:\n" + "- " * 500_000 + "1\n",
    "exponent_bomb": lambda: "input: [3, 8, 8]\nvariables:\n  x: 9**9**9\nlayers: [relu]\n",
    "round_bomb": lambda: "input: [3, 8, 8]\nvariables:\n  x: round(5, -10**9)\nlayers: [relu]\n",
    "list_doubling": list_doubling,
    "yaml_10MB": lambda: big_yaml(140_000),  # over the 4 MiB limit: refused by size
    "yaml_4MB_valid": lambda: big_yaml(55_000),  # just under the limit: parsed and analysed
    "repeat_near_limit": lambda: "input: [8, 8, 8]\nlayers:\n  - relu:\n    repeat: 249999\n",
}


def run_cli(path: Path) -> tuple[float, float, int, str]:
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [sys.executable, "-m", "cnncalc", "summary", str(path), "--format", "json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert p.stderr is not None
    err = p.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    rss_mb = usage.ru_maxrss / 1024  # KiB on Linux
    return wall, rss_mb, p.returncode, err.strip().splitlines()[-1] if err.strip() else ""


def run_lib(path: Path) -> tuple[float, float, str]:
    from cnncalc.errors import CnncalcError
    from cnncalc.graph import build_graph
    from cnncalc.spec import read_spec

    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        build_graph(read_spec(path))
        outcome = "ok"
    except CnncalcError:
        outcome = "refused"
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return dt, peak, outcome


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--skip-lib", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        ref = Path(d) / "lenet.yaml"
        ref.write_text(
            "input: [1, 28, 28]\nlayers:\n  - conv2d: {out_channels: 6, kernel_size: 5}\n"
        )
        wall, rss, rc, _ = run_cli(ref)
        print(
            f"{'reference (tiny valid spec)':28} {'':>9} cli {wall:6.2f} s {rss:7.1f} MB rss  rc={rc}"
        )
        for name, make in CASES.items():
            if args.only and name not in args.only:
                continue
            path = Path(d) / f"{name}.yaml"
            path.write_text(make(), encoding="utf-8")
            size = path.stat().st_size
            wall, rss, rc, msg = run_cli(path)
            line = f"{name:28} {size / 1024:8.0f}K cli {wall:6.2f} s {rss:7.1f} MB rss  rc={rc}"
            if not args.skip_lib:
                dt, peak, outcome = run_lib(path)
                line += f" | lib {dt:6.3f} s {peak:7.1f} MB py-peak {outcome}"
            print(line)
            if msg:
                print(f"{'':30}{msg[:150]}")


if __name__ == "__main__":
    main()
