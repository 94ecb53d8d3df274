"""A spec's ``expected`` figures: the keys it may hold, and the comparison with an analysis.

Any spec may state the figures it should give (published ones, or a user's own); ``summary``
warns ``expected_mismatch`` for each that differs, and ``cnncalc check`` exits 1. The figures
describe the spec **as written**: at its own input and variables (after its variant), so a
``--input`` or ``--set`` that changes the model skips the comparison, and ``--freeze`` skips
the trainable / non-trainable split.

Keys (an unknown key is an error when the spec is read):

* ``params``, ``trainable_params``, ``non_trainable_params``, ``buffers``, ``macs``, ``flops``:
  exact integers, per sample, in PyTorch's convention (buffers apart);
* ``gmacs`` / ``gflops``: a published 3-decimal figure: |MACs / 10⁹ − gmacs| < 0.0005;
* ``output_shape``: the output shape; ``shapes``: ``{layer name: shape}``;
* ``keras``: ``{params, trainable_params, non_trainable_params}`` in Keras's convention (batch-norm
  statistics are non-trainable parameters: Keras params = params + buffers);
* ``source``, ``note``, ``notes``, ``input``: text for readers, not compared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    from .report import Report

__all__ = ["EXPECTED_KEYS", "KERAS_KEYS", "Mismatch", "compare_expected"]

EXPECTED_KEYS = {
    "params": "parameters (exact)",
    "trainable_params": "trainable parameters (exact)",
    "non_trainable_params": "non-trainable parameters (exact)",
    "buffers": "buffers, e.g. batch-norm running statistics (exact)",
    "macs": "multiply-accumulates per sample (exact)",
    "flops": "FLOPs per sample (exact)",
    "gmacs": "MACs in G, a 3-decimal published figure (torchvision's GFLOPS)",
    "gflops": "FLOPs in G, a 3-decimal figure",
    "output_shape": "the output shape, batch excluded",
    "shapes": "{layer name: shape}",
    "keras": "{params, trainable_params, non_trainable_params} in Keras's convention",
    "source": "where the figures come from (not compared)",
    "note": "text (not compared)",
    "notes": "text (not compared)",
    "input": "the input the figures are at (text, not compared)",
}
KERAS_KEYS = ("params", "trainable_params", "non_trainable_params")
_EXACT = ("params", "trainable_params", "non_trainable_params", "buffers", "macs", "flops")
_TRAINABLE = ("trainable_params", "non_trainable_params")
TOLERANCE = 0.0005  # half a unit of the third decimal of a G figure


class Mismatch(NamedTuple):
    """One expected figure that differs: ``key`` (``shapes.conv1``, ``keras.params``)."""

    key: str
    expected: Any
    actual: Any

    @property
    def message(self) -> str:
        def show(v: Any) -> str:
            if isinstance(v, int) and not isinstance(v, bool):
                return f"{v:,}"
            if isinstance(v, (list, tuple)):
                return "[" + ", ".join(str(x) for x in v) + "]"
            return str(v)

        return f"expected {self.key} {show(self.expected)}, got {show(self.actual)}"


def compare_expected(
    report: Report, expected: dict[str, Any], *, frozen: bool = False
) -> list[Mismatch]:
    """The figures of ``expected`` that ``report`` does not reproduce (empty: all agree)."""
    t = report.totals
    b = report.batch
    keras = report.convention == "keras"
    out: list[Mismatch] = []
    if keras:  # totals are Keras's; the PyTorch split is not recoverable from them
        actual = {"macs": t.macs // b, "flops": t.flops // b}
        kactual = {k: getattr(t, k) for k in KERAS_KEYS}
    else:
        actual = {
            "params": t.params,
            "trainable_params": t.trainable_params,
            "non_trainable_params": t.non_trainable_params,
            "buffers": t.buffers,
            "macs": t.macs // b,
            "flops": t.flops // b,
        }
        kactual = {
            "params": t.params + t.buffers,
            "trainable_params": t.trainable_params,
            "non_trainable_params": t.non_trainable_params + t.buffers,
        }
    for key in _EXACT:
        if key in expected and key in actual and not (frozen and key in _TRAINABLE):
            if expected[key] != actual[key]:
                out.append(Mismatch(key, expected[key], actual[key]))
    for key, total in (("gmacs", "macs"), ("gflops", "flops")):
        if key in expected:
            g = getattr(t, total) / b / 1e9
            want = expected[key]
            if not isinstance(want, (int, float)) or abs(g - want) >= TOLERANCE:
                out.append(Mismatch(key, want, round(g, 3)))
    if "output_shape" in expected:
        got = list(report.output_shape)
        if list(expected["output_shape"] or []) != got:
            out.append(Mismatch("output_shape", expected["output_shape"], got))
    shapes = expected.get("shapes") or {}
    by_name = {r.name: r for r in report.rows}
    for layer, shape in shapes.items():
        row = by_name.get(layer)
        got = list(row.output_shape) if row is not None else "no such layer"
        if row is None or list(shape or []) != got:
            out.append(Mismatch(f"shapes.{layer}", shape, got))
    for key, value in (expected.get("keras") or {}).items():
        if frozen and key in _TRAINABLE:
            continue
        if kactual.get(key) != value:
            out.append(Mismatch(f"keras.{key}", value, kactual.get(key)))
    return out
