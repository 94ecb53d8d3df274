"""Memory estimates: activations, the inference peak with tensors freed after their last use,
and a training estimate. Pure integer arithmetic over the graph (O(layers + edges)).

Model (stated once, in the README too):

* Every layer writes a new output tensor of ``elements × batch × dtype bytes``, except views,
  as in PyTorch: permute/transpose, slice, split and select return a view of their input;
  reshape and flatten a view when the input is contiguous (else a copy); dropout, identity and
  stochastic depth at inference return the input itself (:attr:`Layer.VIEW`). A view is no new
  activation, and it keeps its base tensor alive while it is read. Nothing else is in place (a
  framework that runs ReLU in place uses less). Weights, buffers and tensors are all in
  ``dtype``.
* **Inference peak**: layers run in graph (topological) order; a tensor is freed right after the
  last layer that reads it; graph outputs are kept to the end; the input is held until its last
  reader. While a layer runs, its inputs and its output are both alive. Train-only layers do not
  run. Peak = the largest sum of live activations at any step (weights not included;
  ``peak_inference_total_bytes`` adds them). Kernel workspace (im2col buffers) is not counted.
* **Training** (one step, batch as given): weights and buffers + one gradient per trainable
  parameter + optimizer state (SGD 0, momentum 1, Adam 2 tensors per trainable parameter) +
  the activations kept for the backward pass + the gradient buffers of the largest layer's
  output and input during the backward pass (2 × the largest kept activation).
  **Kept activations**: the backward pass runs through every layer that has trainable
  parameters and every layer after one (downstream in the graph: the gradient reaches a
  trainable layer through them); each of those layers keeps its inputs and its output.
  Layers before the first trainable one (a frozen backbone, ``--freeze layer4``) run as in
  inference and keep nothing. With nothing frozen this is the input and every layer output
  (train-only layers included). The activation term is at least the inference peak: the
  frozen layers still run forward.
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    from .graph import Graph

__all__ = [
    "Memory",
    "estimate_memory",
    "OPTIMIZER_STATES",
    "liveness_peak",
    "storage_roots",
    "saved_for_backward",
]

#: optimizer state tensors per trainable parameter
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2}


class Memory(NamedTuple):
    """Byte counts for the whole batch; ``peak_at`` names the layer running at the peak."""

    dtype: str
    bytes_per_element: int
    batch: int
    input_bytes: int
    activation_bytes: int
    peak_inference_bytes: int
    peak_at: str | None
    weights_bytes: int
    gradient_bytes: int
    saved_activation_bytes: int
    backward_workspace_bytes: int

    @property
    def peak_inference_total_bytes(self) -> int:
        return self.peak_inference_bytes + self.weights_bytes

    def optimizer_bytes(self, optimizer: str) -> int:
        return OPTIMIZER_STATES[optimizer] * self.gradient_bytes

    def training_bytes(self, optimizer: str = "adam") -> int:
        """Weights + gradients + optimizer state + the larger of (saved activations + backward
        workspace) and the inference peak (a frozen backbone still runs forward)."""
        return (
            self.weights_bytes
            + self.gradient_bytes
            + self.optimizer_bytes(optimizer)
            + max(
                self.saved_activation_bytes + self.backward_workspace_bytes,
                self.peak_inference_bytes,
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "bytes_per_element": self.bytes_per_element,
            "batch": self.batch,
            "input_bytes": self.input_bytes,
            "activation_bytes": self.activation_bytes,
            "peak_inference_bytes": self.peak_inference_bytes,
            "peak_inference_total_bytes": self.peak_inference_total_bytes,
            "peak_at": self.peak_at,
            "weights_bytes": self.weights_bytes,
            "training": {
                "saved_activation_bytes": self.saved_activation_bytes,
                "backward_workspace_bytes": self.backward_workspace_bytes,
                "gradient_bytes": self.gradient_bytes,
                "optimizer_state_bytes": {o: self.optimizer_bytes(o) for o in OPTIMIZER_STATES},
                "total_bytes": {o: self.training_bytes(o) for o in OPTIMIZER_STATES},
            },
        }


def storage_roots(graph: Graph) -> dict[str, str]:
    """For each node that is a view (:attr:`Layer.VIEW`), the tensor whose storage it shares
    (a graph input or a node that allocated its output). Nodes absent allocate their own."""
    roots: dict[str, str] = {}
    non_contiguous: set[str] = set()  # names (views included) whose data is not contiguous
    for n in graph.nodes:
        kind = n.layer.VIEW
        if kind is None or not n.inputs:
            continue
        src = n.inputs[0]
        if kind == "reshape" and src in non_contiguous:
            continue  # a copy: a new, contiguous tensor
        roots[n.name] = roots.get(src, src)
        if kind == "view" or (kind == "alias" and src in non_contiguous):
            non_contiguous.add(n.name)
    return roots


def liveness_peak(graph: Graph, roots: dict[str, str] | None = None) -> tuple[int, str | None]:
    """Peak live activation elements (one sample) of an inference pass, and the layer at the peak.

    Storage-based: a view adds nothing and keeps its base alive until its own last reader
    (``roots``: :func:`storage_roots`, computed when not given)."""
    nodes = [n for n in graph.nodes if not n.train_only]
    if roots is None:
        roots = storage_roots(graph)
    root = roots.get
    # each node's inputs as the tensors that hold their storage (the inputs themselves if no view)
    ins_of = [tuple([root(s, s) for s in n.inputs]) for n in nodes] if roots else None
    last: dict[str, int] = {}
    end = len(nodes)
    for i, n in enumerate(nodes):
        for src in ins_of[i] if ins_of else n.inputs:
            last[src] = i
    for o in graph.outputs:
        last[root(o, o)] = end
    size = {name: prod(s) for name, s in graph.inputs.items()}
    live = sum(size.values())
    alive = set(size)
    for name in list(alive):
        if name not in last:  # an input nobody reads
            alive.discard(name)
            live -= size[name]
    peak, peak_at = live, None
    get_last = last.get
    for i, n in enumerate(nodes):
        name = n.name
        own = name not in roots
        e = 0
        if own:
            e = size[name] = n.layer.out_elements
            live += e
            if live > peak:
                peak, peak_at = live, name
        for src in ins_of[i] if ins_of else n.inputs:  # free inputs read for the last time
            if src in alive and get_last(src, -1) <= i:
                alive.discard(src)
                live -= size[src]
        if own:
            if get_last(name, -1) <= i:  # an output nobody reads is freed at once
                live -= e
            else:
                alive.add(name)
    return peak, peak_at


def saved_for_backward(graph: Graph, views: dict[str, str] | None = None) -> tuple[int, int]:
    """(elements kept for the backward pass, the largest of those tensors), one sample.

    The layers the backward pass runs through: those with trainable parameters and every layer
    downstream of one. Each keeps its inputs and its output (each storage counted once: a view
    keeps its base tensor)."""
    trains: dict[int, bool] = {}
    size = {name: prod(s) for name, s in graph.inputs.items()}
    if views is None:
        views = storage_roots(graph)  # a view keeps its base tensor, no storage of its own
    root = views.get
    on_path: set[str] = set()
    kept: dict[str, int] = {}
    for n in graph.nodes:
        layer, name, ins = n.layer, n.name, n.inputs
        size[name] = layer.out_elements
        t = trains.get(id(layer))
        if t is None:
            t = False
            for w in layer.weights():
                if w.kind == "param":
                    t = True
                    break
            trains[id(layer)] = t
        if not (t and n.trainable):
            for i in ins:
                if i in on_path:
                    break
            else:
                continue  # before every trainable layer: nothing kept
        on_path.add(name)
        x = root(name, name)
        if x not in kept:
            kept[x] = size[x]
        for x in ins:
            x = root(x, x)
            if x not in kept:
                kept[x] = size[x]
    return sum(kept.values()), max(kept.values(), default=0)


def estimate_memory(
    graph: Graph,
    *,
    batch: int,
    dtype: str,
    bytes_per_element: int,
    params: int,
    buffers: int,
    trainable_params: int,
    views: dict[str, str] | None = None,
) -> Memory:
    """Memory figures of a graph (see the module docstring for the model); ``views``: the
    graph's :func:`storage_roots` when the caller has them."""
    b = bytes_per_element * batch
    inputs = sum(prod(s) for s in graph.inputs.values())
    act = 0
    if views is None:
        views = storage_roots(graph)
    for n in graph.nodes:
        if n.name in views:  # a view: no new storage to count
            continue
        if not n.train_only:
            act += prod(n.out_shape)
    saved, largest = saved_for_backward(graph, views)
    peak, peak_at = liveness_peak(graph, views)
    return Memory(
        dtype=dtype,
        bytes_per_element=bytes_per_element,
        batch=batch,
        input_bytes=inputs * b,
        activation_bytes=act * b,
        peak_inference_bytes=peak * b,
        peak_at=peak_at,
        weights_bytes=(params + buffers) * bytes_per_element,
        gradient_bytes=trainable_params * bytes_per_element,
        saved_activation_bytes=saved * b,
        backward_workspace_bytes=2 * largest * b,
    )
