"""Layers that only rearrange elements: flatten, reshape, permute."""

from __future__ import annotations

from typing import Any

from ..errors import CnncalcError
from .base import Arg, Layer, Shape, fmt_shape, prod, register


@register
class Flatten(Layer):
    """Merge axes ``start_dim``…``end_dim`` (batch excluded: default all) into one.

    (256, 6, 6) → (9216,) since 256·6·6 = 9216. No weights, 0 FLOPs.
    """

    NAMES = ("flatten",)
    VIEW = "reshape"
    CATEGORY = "reshape"
    ARGS = {
        "start_dim": Arg("axis", 0, "first axis to merge (0 = channels)"),
        "end_dim": Arg("axis", -1, "last axis to merge"),
    }

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        n = len(x)
        s, e = self.args["start_dim"], self.args["end_dim"]
        if not (-n <= s < n and -n <= e < n):
            raise CnncalcError(f"start_dim/end_dim out of range for shape {fmt_shape(x)}")
        s, e = s % n, e % n
        if s > e:
            raise CnncalcError(f"start_dim ({s}) is after end_dim ({e})")
        return (*x[:s], prod(x[s : e + 1]), *x[e + 1 :])

    def flops(self) -> int:
        return 0

    def explain(self) -> list[Any]:
        """The merged axis is the product of the merged sizes: 256·6·6 = 9216."""
        from ..explain import Formula, mul, rule_formula

        x = self.in_shapes[0]
        n = len(x)
        s, e = self.args["start_dim"] % n, self.args["end_dim"] % n
        return [
            Formula(
                f"axis {s}",
                f"∏ input axes {s}…{e}",
                mul(*x[s : e + 1]),
                prod(x[s : e + 1]),
                (f"shape[{s}]",),
                f"flatten of {tuple(x)}: a reshape, no arithmetic",
            ),
            Formula("params", value=0, checks=("params",), note="no weights"),
            rule_formula(self, "macs", 0),
            Formula("FLOPs", value=0, checks=("flops",), note="a copy (or a view)"),
        ]

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Merge axes start…end (batch excluded: array axes start+1 … end+1) by a C-order reshape."""
        x = inputs[0]
        n = x.ndim - 1
        s, e = self.args["start_dim"] % n + 1, self.args["end_dim"] % n + 1
        merged = prod(x.shape[s : e + 1])  # explicit: a -1 is ambiguous on an empty array
        return x.reshape(x.shape[:s] + (merged,) + x.shape[e + 1 :])


@register
class Reshape(Layer):
    """Reshape to ``shape`` (batch excluded); one entry may be −1 and is inferred. 0 FLOPs."""

    NAMES = ("reshape", "view")
    VIEW = "reshape"
    CATEGORY = "reshape"
    ARGS = {"shape": Arg("int_list", doc="target shape without the batch axis; one -1 allowed")}

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        target = list(self.args["shape"])
        total = prod(x)
        if target.count(-1) > 1:
            raise CnncalcError("only one -1 is allowed in shape")
        if any(d < -1 for d in target):
            raise CnncalcError(f"shape entries must be ≥ 0 or -1, received {target}")
        if 0 in target and -1 in target:
            raise CnncalcError(
                f"a 0 entry leaves the -1 undetermined (0 elements), received {target}",
                hint="write every size of an empty tensor explicitly",
            )
        if -1 in target:
            known = prod([d for d in target if d != -1])
            if total % known:
                raise CnncalcError(f"cannot reshape {fmt_shape(x)} ({total} elements) to {target}")
            target[target.index(-1)] = total // known
        if prod(target) != total:
            raise CnncalcError(
                f"cannot reshape {fmt_shape(x)} ({total} elements) to {target} ({prod(target)} elements)"
            )
        return tuple(target)

    def flops(self) -> int:
        return 0

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """C-order reshape of each sample; NumPy resolves the −1."""
        x = inputs[0]
        return x.reshape((x.shape[0], *self.args["shape"]))


@register
class Permute(Layer):
    """Reorder axes: output axis i is input axis ``dims[i]`` (batch excluded). 0 FLOPs.

    ``transpose`` also takes two axes to swap, as ``torch.transpose``: ``{dim0: 0, dim1: -1}``.
    """

    NAMES = ("permute", "transpose")
    VIEW = "view"
    CATEGORY = "reshape"
    ARGS = {
        "dims": Arg("int_list", None, "new order of the axes, e.g. [1, 2, 0] for CHW → HWC"),
        "dim0": Arg("opt_int", None, "transpose: the first axis to swap"),
        "dim1": Arg("opt_int", None, "transpose: the second axis to swap"),
    }
    __slots__ = ("order",)

    def _order(self, rank: int) -> list[int]:
        a = self.args
        pair = (a["dim0"], a["dim1"])
        if a["dims"] is not None:
            if pair != (None, None):
                raise CnncalcError("give either dims or dim0 and dim1, not both")
            return [d % rank if -rank <= d < rank else d for d in a["dims"]]
        if self.type_name != "transpose" or None in pair:
            raise CnncalcError(
                "missing required argument 'dims'"
                + (
                    " (or dim0 and dim1, the two axes to swap)"
                    if self.type_name == "transpose"
                    else ""
                ),
            )
        order = list(range(rank))
        for d in pair:
            if not -rank <= d < rank:
                raise CnncalcError(f"axis {d} is out of range for rank {rank}")
        i, j = pair[0] % rank, pair[1] % rank
        order[i], order[j] = order[j], order[i]
        return order

    def infer(self, in_shapes: tuple[Shape, ...]) -> Shape:
        x = in_shapes[0]
        dims = self._order(len(x))
        if sorted(dims) != list(range(len(x))):
            raise CnncalcError(
                f"dims {list(self.args['dims'])} is not a permutation of the {len(x)} axes of {fmt_shape(x)}"
            )
        self.order = tuple(dims)
        return tuple(x[d] for d in dims)

    def flops(self) -> int:
        return 0

    def rf_axis_order(self) -> tuple[int, ...]:
        """Receptive fields: output axis i is input axis ``order[i]``; the spatial axes move
        and keep their fields (ConvNeXt's permute to channels-last and back)."""
        return self.order

    def forward(self, inputs: list[Any], params: dict[str, Any]) -> Any:
        """Axis i of each sample is input axis dims[i] (the batch axis stays first)."""
        x = inputs[0]
        return x.transpose((0, *(d + 1 for d in self._order(x.ndim - 1))))
