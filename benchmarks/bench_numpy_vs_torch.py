"""The NumPy backend against PyTorch's CPU eval forward: time, peak memory, and a conv profile.

Run (needs torch + torchvision; the NumPy side needs only numpy):

    /tmp/tvenv/bin/python benchmarks/bench_numpy_vs_torch.py [--threads 2] [--repeats 7]
        [--models resnet50 vgg16] [--size 224] [--batch 1]

1. **Time**: cnncalc's ``run`` on the zoo spec and torchvision's model (``weights=None``,
   ``eval()``, ``torch.inference_mode()``), same process, same thread count (set through
   OMP/OPENBLAS/MKL_NUM_THREADS before numpy and torch load, and ``torch.set_num_threads``),
   one warm-up each, then the repeats interleaved (numpy, torch, numpy, …); medians. The NumPy
   timing is the forward only (weights allocated once, as torch's model is built once).
2. **Peak memory**: each framework in its own subprocess; the peak RSS while building the model
   and running one forward, minus the RSS after the imports (tracemalloc does not see numpy's
   or torch's native buffers; see :func:`peak_child`). The delta is weights + activation peak.
3. **Profile** of the NumPy conv forwards by phase: for every conv of the model, the time to
   make the im2col columns (pad + strided window view + the copy into (C·k², L)) against the
   BLAS matmul on them, and the rest (bias, 1×1 strided copies, depthwise taps).

Targets: NumPy within 2× of torch's time and 1.5× of its peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def set_threads(n: int) -> None:
    """Must run before numpy/torch are imported: the BLAS pools read these once."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def torch_model(name: str):
    import torch
    import torchvision

    model = getattr(torchvision.models, name)(weights=None).eval()
    return model, torch


def numpy_model(name: str, size: int, batch: int):
    import cnncalc
    from cnncalc.backend.run import allocate_weights, random_inputs

    graph = cnncalc.build(name, (3, size, size))
    weights = allocate_weights(graph)
    x = random_inputs(graph, batch=batch)
    return graph, weights, x


def time_both(name: str, size: int, batch: int, repeats: int, threads: int) -> dict:
    import numpy as np

    import cnncalc

    graph, weights, feeds = numpy_model(name, size, batch)
    x_np = next(iter(feeds.values()))
    model, torch = torch_model(name)
    torch.set_num_threads(threads)
    x_t = torch.from_numpy(x_np.copy())

    def run_np():
        return cnncalc.run(graph, x_np, weights=weights)

    def run_torch():
        with torch.inference_mode():
            return model(x_t)

    assert run_np().shape == tuple(run_torch().shape)
    t_np, t_torch = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_np()
        t_np.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        run_torch()
        t_torch.append(time.perf_counter() - t0)
    del np
    return {
        "numpy_s": statistics.median(t_np),
        "torch_s": statistics.median(t_torch),
        "numpy_all": t_np,
        "torch_all": t_torch,
    }


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def peak_child(framework: str, name: str, size: int, batch: int, threads: int) -> None:
    """Subprocess body: print the peak-RSS growth (bytes) of building the model + one forward.

    The imports can spike the RSS above what the run needs, so ``ru_maxrss`` alone would hide
    the run: on Linux the peak (VmHWM) is reset after the imports by writing 5 to
    /proc/self/clear_refs, and the growth is VmHWM after the run − VmRSS before it. Elsewhere:
    the ``ru_maxrss`` delta.
    """
    import resource

    set_threads(threads)
    if framework == "torch":
        import torch
        import torchvision  # noqa: F401

        torch.set_num_threads(threads)
    else:
        import numpy  # noqa: F401

        import cnncalc  # noqa: F401
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        base = _status_kib("VmRSS")
        use_hwm = True
    except OSError:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        use_hwm = False
    if framework == "torch":
        model, torch = torch_model(name)
        x = torch.randn(batch, 3, size, size)
        with torch.inference_mode():
            model(x)
    else:
        import cnncalc

        graph, weights, feeds = numpy_model(name, size, batch)
        cnncalc.run(graph, feeds[next(iter(feeds))], weights=weights)
    peak = _status_kib("VmHWM") if use_hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"delta_bytes": (peak - base) * 1024}))  # KiB on Linux


def peak(framework: str, name: str, size: int, batch: int, threads: int) -> int:
    p = subprocess.run(
        [sys.executable, __file__, "--child", framework, name, str(size), str(batch), str(threads)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(p.stdout.strip().splitlines()[-1])["delta_bytes"]


def _best(fn, repeats: int) -> float:
    """Fastest of ``repeats`` calls (robust against other processes on a busy machine)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def profile_convs(name: str, size: int, batch: int, repeats: int = 5) -> dict:
    """Split the forward time: k×k convs (im2col columns vs BLAS matmul), 1×1 convs, the rest."""
    import numpy as np

    import cnncalc
    from cnncalc.backend.run import allocate_weights, execute, random_inputs
    from cnncalc.layers.base import prod
    from cnncalc.layers.conv import Conv, np_pad, np_windows

    graph = cnncalc.build(name, (3, size, size))
    weights = allocate_weights(graph)
    feeds = random_inputs(graph, batch=batch)
    values = execute(graph, feeds, weights, keep_all=True)
    keys = ("kxk_total_s", "kxk_im2col_s", "kxk_matmul_s", "1x1_s", "grouped_s", "other_s")
    out = dict.fromkeys(keys, 0.0)
    for node in graph.nodes:
        layer = node.layer
        xs = [values[i] for i in node.inputs]
        ws = weights.arrays[node.name]
        t = _best(lambda: layer.forward(xs, ws), repeats)  # noqa: B023
        if not isinstance(layer, Conv):
            out["other_s"] += t
            continue
        if layer.args["groups"] != 1:
            out["grouped_s"] += t
            continue
        if all(k == 1 for k in layer.k):
            out["1x1_s"] += t
            continue
        out["kxk_total_s"] += t
        x, w = xs[0], ws["weight"]
        n, cin = x.shape[:2]
        r = len(layer.k)
        perm = (0, 1, *range(2 + r, 2 + 2 * r), *range(2, 2 + r))

        def cols(x=x, layer=layer, n=n, cin=cin, perm=perm):
            v = np_windows(np_pad(x, layer.pads), layer.k, layer.s, layer.d)
            return v.transpose(perm).reshape(n, 1, cin * prod(layer.k), -1)

        c = cols()
        wm = w.reshape(1, w.shape[0], -1)
        out["kxk_im2col_s"] += _best(cols, repeats)
        out["kxk_matmul_s"] += _best(lambda: np.matmul(wm, c), repeats)  # noqa: B023
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--models", nargs="+", default=["resnet50", "vgg16"])
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--no-profile", action="store_true")
    args = ap.parse_args()
    if args.child:
        fw, name, size, batch, threads = args.child
        peak_child(fw, name, int(size), int(batch), int(threads))
        return
    set_threads(args.threads)
    print(
        f"threads {args.threads}, input 3×{args.size}×{args.size}, batch {args.batch}, "
        f"{args.repeats} repeats (median)"
    )
    for name in args.models:
        t = time_both(name, args.size, args.batch, args.repeats, args.threads)
        m_np = peak("numpy", name, args.size, args.batch, args.threads)
        m_t = peak("torch", name, args.size, args.batch, args.threads)
        print(
            f"{name}: time numpy {t['numpy_s'] * 1e3:.0f} ms, torch {t['torch_s'] * 1e3:.0f} ms "
            f"({t['numpy_s'] / t['torch_s']:.2f}×); peak memory numpy {m_np / 2**20:.0f} MiB, "
            f"torch {m_t / 2**20:.0f} MiB ({m_np / m_t:.2f}×)"
        )
        if not args.no_profile:
            p = profile_convs(name, args.size, args.batch)
            print(
                "  numpy profile (sum of per-layer best times): k×k convs {kxk_total_s:.3f} s "
                "(im2col columns {kxk_im2col_s:.3f} s, BLAS matmul {kxk_matmul_s:.3f} s), "
                "1×1 convs {1x1_s:.3f} s, grouped/depthwise convs {grouped_s:.3f} s, "
                "other layers {other_s:.3f} s".format(**p)
            )


if __name__ == "__main__":
    main()
