"""Readers of other model formats: each turns a file into a cnncalc spec dict.

One small module per format (:mod:`.keras`, :mod:`.darknet`, :mod:`.onnx`, :mod:`.torch`,
:mod:`.ultralytics`), each with ONE table mapping the format's ops to cnncalc layer types. They
produce the same thing a YAML spec file is read into (a spec dict), so ``summary``, ``compare``,
``explain``, ``verify`` and ``convert`` work on an imported model unchanged, and ``cnncalc
convert`` writes that dict as YAML.

Nothing in a model file is executed: JSON and YAML are read as data (YAML with cnncalc's safe
loader), ONNX with the ``onnx`` package without its weights' data, ``.keras`` archives by reading
their ``config.json`` only, and pickles (``.pt``, ``.pth``, ``.pkl``, …) are refused.

This package stays light: a format's dependencies are imported when a file of it is read.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ..errors import CnncalcError

__all__ = ["IMPORT_SUFFIXES", "PICKLE_SUFFIXES", "read_model", "is_model_file"]

#: File suffix → reader module. ``.json`` is a Keras model config; ``.yaml`` is an Ultralytics
#: model when it has ``backbone`` and ``head`` (and no ``layers``), else a cnncalc spec.
IMPORT_SUFFIXES = {
    ".onnx": "onnx",
    ".cfg": "darknet",
    ".keras": "keras",
    ".json": "keras",
}

#: Files that are Python pickles: reading them would run code, so they are refused.
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".tar", ".torchscript")

#: Largest model description read (a JSON config, a .cfg, config.json inside a .keras archive).
MAX_TEXT_BYTES = 64 * 1024 * 1024


def is_model_file(source: str) -> bool:
    """True when ``source`` names a file by a suffix cnncalc reads (a spec or a foreign model)."""
    low = source.lower()
    return low.endswith((".yaml", ".yml", *IMPORT_SUFFIXES, *PICKLE_SUFFIXES))


def read_model(path: Path, input_shape: tuple[int, ...] | None = None, **options: Any) -> Any:
    """Read ``path`` into a :class:`cnncalc.spec.Spec`: a cnncalc spec, or a foreign model
    imported by the reader its suffix (or, for YAML, its keys) selects.

    ``input_shape`` (channels first, batch excluded) fixes symbolic sizes of models that need
    them at import (ONNX, a Keras model without a fixed input size); ``options`` go to the
    reader (``lambda_as_identity`` for Keras).
    """
    from ..spec import parse_spec

    # a spec dict from a reader, or a cnncalc spec's loaded YAML (with its line numbers)
    return parse_spec(import_model(path, input_shape, **options), str(path), path.stem)


def import_model(path: Path, input_shape: tuple[int, ...] | None = None, **options: Any) -> Any:
    """The spec dict of a foreign model file; for a cnncalc YAML spec, its loaded document."""
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise CnncalcError(
            "a PyTorch/pickle file is never unpickled (loading it would run its code)",
            file=str(path),
            hint="export the model to ONNX (torch.onnx.export) and give the .onnx file, or call "
            "cnncalc.from_torch(module, input_shape) in Python",
        )
    module = IMPORT_SUFFIXES.get(suffix)
    if module is None:
        from ..yamlio import Map, load_yaml_file

        doc = load_yaml_file(path)
        if isinstance(doc, Map) and "backbone" in doc and "head" in doc and "layers" not in doc:
            from . import ultralytics

            return ultralytics.read(doc, path, input_shape, **options)
        return doc
    if not path.exists():
        raise CnncalcError("no such file", file=str(path))
    reader = importlib.import_module(f".{module}", __name__)
    return reader.read_file(path, input_shape, **options)


def read_text(path: Path, what: str) -> str:
    """A bounded read of a text model description (UTF-8), as one-line errors."""
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise CnncalcError(
                f"{what} is {size:,} bytes; at most {MAX_TEXT_BYTES:,} are read", file=str(path)
            )
        data = path.read_bytes()
    except OSError as exc:
        raise CnncalcError(f"cannot read the file: {exc.strerror}", file=str(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CnncalcError(
            f"{what} is not UTF-8 text (byte {exc.start})",
            file=str(path),
            hint="is this the right file?",
        ) from None
