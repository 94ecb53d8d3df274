"""ONNX import without the weights: wall time and peak memory of ``cnncalc summary`` on a large
ONNX file, against the file's size and against ``onnx.load`` (which reads every weight).

Run:  python benchmarks/bench_import_onnx.py [--model PATH.onnx] [--layers 12]

Without ``--model`` a ViT-B-sized synthetic model is written to a temporary folder: ``--layers``
blocks of four 768×768 and two 768×3072 MatMul weights (ViT-B/16 has 12: about 340 MB). With
``--model``, e.g. torchvision's vit_b_16 exported by torch.onnx.export (346 MB): 5.6 s and 80 MB
peak on the 2-core development machine, most of the time importing the onnx package.
Each measurement runs in a fresh process; peak RSS comes from ``os.wait4``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def synthetic(path: Path, layers: int) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    d, h = 768, 3072
    nodes, inits, x = [], [], "x"
    for i in range(layers):
        for j, (a, b) in enumerate([(d, d)] * 4 + [(d, h), (h, d)]):
            w = f"w{i}_{j}"
            inits.append(numpy_helper.from_array(np.ones((a, b), np.float32), w))
            nodes.append(helper.make_node("MatMul", [x, w], [f"y{i}_{j}"], name=f"mm{i}_{j}"))
            x = f"y{i}_{j}"
    vi = helper.make_tensor_value_info
    g = helper.make_graph(nodes, "synthetic", [vi("x", TensorProto.FLOAT, ["N", 197, d])],
                          [vi(x, TensorProto.FLOAT, None)], inits)  # fmt: skip
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


def measure(args: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of a fresh Python process running ``args``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"{args} failed with status {status}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--write", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.write:  # in its own process: the measuring process stays small (fork copies its RSS)
        synthetic(a.write, a.layers)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = a.model
        if path is None:
            path = Path(tmp) / "synthetic.onnx"
            write = [sys.executable, __file__, "--write", str(path), "--layers", str(a.layers)]
            subprocess.run(write, check=True)
        size = path.stat().st_size / 2**20
        print(f"{path}: {size:,.0f} MiB")
        t, m = measure(["-c", "import onnx"])
        print(f"import onnx alone:           {t:6.2f} s  {m:7.0f} MiB")
        t, m = measure(["-m", "cnncalc", "summary", str(path), "--format", "json"])
        print(f"cnncalc summary (no weights): {t:6.2f} s  {m:7.0f} MiB")
        code = f"import onnx; onnx.load({str(path)!r})"
        t, m = measure(["-c", code])
        print(f"onnx.load (every weight):     {t:6.2f} s  {m:7.0f} MiB")


if __name__ == "__main__":
    main()
