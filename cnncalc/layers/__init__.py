"""Layer types, one class each, registered by YAML type name.

Importing this package registers every built-in type. To add one: write a class with ``NAMES``,
``ARGS`` and its rules (see :mod:`cnncalc.layers.base`), decorate it with ``@register``, import its
module here, and add a row to the layer-case table in ``tests/test_layers.py``.
"""

from . import (  # noqa: F401
    activation,
    attention,
    conv,
    detection,
    importer_ops,
    linear,
    merge,
    mvit,
    norm,
    pool,
    preprocessing,
    recurrent,
    resize,
    shape_ops,
    tensor,
    window_attention,
)
from .base import REGISTRY, Arg, Layer, Weight, Window, get_layer_class, register

__all__ = ["REGISTRY", "Arg", "Layer", "Weight", "Window", "get_layer_class", "register"]
