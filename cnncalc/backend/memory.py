"""Memory for the NumPy backend: what a run will need (estimated before it starts) and how much
the machine can give, so verifying a huge spec is refused instead of taking the machine down.

The estimate walks the graph in execution order with the same liveness rule the executor uses
(an activation is freed after its last consumer; graph outputs are kept) and takes, at each
layer, the live activations + the new output + the layer's working memory
(``layer.forward_workspace()`` elements per sample where a layer declares it, e.g. conv's
im2col columns; otherwise one output-sized temporary). Weights are added in full.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from math import prod

from ..errors import CnncalcError
from ..graph import Graph

__all__ = [
    "MemoryEstimate",
    "estimate_memory",
    "available_memory",
    "default_budget",
    "parse_size",
    "DEFAULT_SHARE",
]

#: Share of the available memory a run may use by default (the rest is headroom for the OS,
#: NumPy temporaries the estimate does not see, and allocator fragmentation).
DEFAULT_SHARE = 0.6

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a run needs: weights, the activation peak (and where it happens), their sum."""

    weight_bytes: int
    activation_peak_bytes: int
    peak_at: str
    total_bytes: int


def estimate_memory(
    graph: Graph,
    *,
    batch: int = 1,
    itemsize: int = 4,
    run_train_only: bool = True,
    keep_all: bool = False,
) -> MemoryEstimate:
    """Estimate the peak memory of running ``graph`` (from the analyzer's shapes: a budget only)."""
    nodes = [n for n in graph.nodes if run_train_only or not n.train_only]
    last_use: dict[str, int] = {}
    for i, n in enumerate(nodes):
        for x in n.inputs:
            last_use[x] = i
    keep = set(graph.outputs)
    live = {name: prod(s) * batch for name, s in graph.inputs.items()}
    weights = 0
    for n in graph.nodes:
        if n.share is None:
            weights += sum(w.size for w in n.layer.weights())
    peak, peak_at = sum(live.values()), next(iter(graph.inputs))
    for i, n in enumerate(nodes):
        out = prod(n.out_shape) * batch
        ws = getattr(n.layer, "forward_workspace", None)
        work = ws() * batch if ws is not None else out
        now = sum(live.values()) + out + work
        if now > peak:
            peak, peak_at = now, n.name
        live[n.name] = out
        if not keep_all:
            for x in set(n.inputs):
                if last_use.get(x) == i and x not in keep:
                    live.pop(x, None)
            if n.name not in last_use and n.name not in keep:
                live.pop(n.name, None)
    return MemoryEstimate(
        weight_bytes=weights * itemsize,
        activation_peak_bytes=peak * itemsize,
        peak_at=peak_at,
        total_bytes=(weights + peak) * itemsize,
    )


def available_memory() -> int | None:
    """Bytes the process can still use: MemAvailable (/proc/meminfo), bounded by a cgroup limit.

    Falls back to ``os.sysconf`` (available physical pages × page size); None if unknown.
    """
    avail: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            avail = None
    try:  # cgroup v2 container limit
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            used = int(f.read().strip())
        if limit != "max":
            room = int(limit) - used
            avail = room if avail is None else min(avail, room)
    except (OSError, ValueError):
        pass
    return avail


def default_budget() -> int | None:
    """:data:`DEFAULT_SHARE` of :func:`available_memory`, or None when it cannot be read."""
    avail = available_memory()
    return None if avail is None else int(avail * DEFAULT_SHARE)


def parse_size(text: str | int) -> int:
    """``"2G"``, ``"512M"``, ``"1.5GiB"``, ``"300k"`` or a byte count → bytes (k/M/G/T = 1024ⁿ).

    >>> parse_size("512M"), parse_size("1.5G"), parse_size(1000)
    (536870912, 1610612736, 1000)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text).lower())
        if not m:
            raise CnncalcError(
                f"cannot read the memory size '{text}'",
                hint="write it like 4G, 512M, 1.5GiB or a number of bytes (k/M/G/T = powers of 1024)",
            )
        value = int(float(m.group(1)) * _UNITS[m.group(2)])
    if value <= 0:
        raise CnncalcError(f"memory size must be positive, got '{text}'")
    return value
