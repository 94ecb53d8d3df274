"""Where the channels are: which axis of each layer's output holds them.

The input is channels first (C×H×W: cnncalc refuses a channels-last input unless told). A
``permute`` moves the channel axis (Swin's ``dims: [1, 2, 0]`` puts it last: H×W×C, as
torchvision's Swin and ConvNeXt blocks hold their maps); a layer that keeps the rank keeps it
where it is (layer norm, linear on the last axis, patch merging); a layer that changes the rank
(flatten, a reshape into tokens) ends what can be said (None).

The stage chart of the HTML report reads shapes as C×H×W; :func:`channels_first` gives it the
rows with the channel axis moved first, so that Swin's [56, 56, 96] reads 96 @ 56×56.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .graph import Graph
from .report import Report


def channel_axes(graph: Graph) -> dict[str, int | None]:
    """Layer name → the axis (batch excluded) of its output that holds the channels, or None."""
    axes: dict[str, int | None] = {name: 0 for name in graph.inputs}
    for node in graph.nodes:
        if not node.inputs:  # a free tensor (parameter, buffer)
            axes[node.name] = None
            continue
        src = node.inputs[0]
        axis = axes.get(src, 0)
        rank_in, rank_out = len(graph.shape_of(src)), len(node.out_shape)
        # a reordering of the axes (permute, transpose) says where each output axis comes from
        order = node.layer.rf_axis_order()
        if axis is not None and order is not None and len(order) == rank_out:
            axis = list(order).index(axis)
        elif rank_in != rank_out:
            axis = None
        axes[node.name] = axis
    return axes


def channels_first(report: Report, axes: dict[str, int | None]) -> Report:
    """``report`` with each row's output shape read channels first (the channel axis moved to
    the front where ``axes`` puts it elsewhere); figures unchanged."""
    rows = []
    for r in report.rows:
        a = axes.get(r.name)
        if a:  # not None, not 0
            s = tuple(r.output_shape)
            r = r._replace(output_shape=(s[a], *s[:a], *s[a + 1 :]))
        rows.append(r)
    return dataclasses.replace(report, rows=tuple(rows))


def channels_last_span(report: Report, axes: dict[str, int | None]) -> Any:
    """(first, last, count) of the layers whose channels are on the last axis, or None."""
    names = [
        r.name
        for r in report.rows
        if axes.get(r.name) is not None
        and axes[r.name] == len(r.output_shape) - 1
        and len(r.output_shape) > 1
    ]
    return (names[0], names[-1], len(names)) if names else None
