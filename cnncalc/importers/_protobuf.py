"""Read an ONNX file without its weights: the protobuf with large tensors' data left out.

``onnx.load`` parses the whole file, weight bytes included (a 350 MB ViT-B/16 export costs
about twice its size in memory). cnncalc needs the initializers' ``dims`` only, and the values
of the small ones (shape constants of Reshape, Clip's bounds). This module walks the protobuf
wire format (varints and length-delimited fields: the format is specified at
protobuf.dev/programming-guides/encoding), reading the file's headers with ``os.pread`` (a
memory map where that is missing: a map's pages can count as the process's memory, up to
2 MB per touched header with huge pages), and copies everything except the
data fields of tensors larger than :data:`KEEP_DATA_BYTES`; ``onnx.load_from_string`` then
parses the small remainder. Only the path ModelProto.graph (7) → GraphProto.initializer (5) →
TensorProto data fields is rewritten; any other field is copied byte for byte.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import Any

from ..errors import CnncalcError

__all__ = ["strip_weights", "KEEP_DATA_BYTES"]

#: A tensor whose data is larger than this keeps its dims but loses its data.
KEEP_DATA_BYTES = 4096

_MODEL_GRAPH = 7
_GRAPH_INITIALIZER = 5
# TensorProto: float_data 4, int32_data 5, string_data 6, int64_data 7, raw_data 9,
# double_data 10, uint64_data 11; dims 1, data_type 2 and name 8 are kept.
_TENSOR_DATA = {4, 5, 6, 7, 9, 10, 11}


class _Truncated(Exception):
    pass


class _PRead:
    """Indexing and slicing of a file by ``os.pread``, with a small window for varints."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.size = fd, size
        self.off, self.win = -1, b""

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, k: int | slice) -> Any:
        if isinstance(k, slice):
            return os.pread(self.fd, k.stop - k.start, k.start)
        if not self.off <= k < self.off + len(self.win):
            self.off, self.win = k, os.pread(self.fd, 64, k)
            if not self.win:
                raise IndexError(k)
        return self.win[k - self.off]


def _varint(buf: Any, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _Truncated
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _encode_varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf: Any, start: int, end: int):  # noqa: ANN202 - a generator of tuples
    """(field number, wire type, field start, value start, value end) of each field."""
    pos = start
    if end > len(buf):
        raise _Truncated
    while pos < end:
        fstart = pos
        key, pos = _varint(buf, pos, end)
        num, wt = key >> 3, key & 7
        if wt == 0:
            _, pos2 = _varint(buf, pos, end)
            yield num, wt, fstart, pos, pos2
            pos = pos2
        elif wt == 1:
            if pos + 8 > end:
                raise _Truncated
            yield num, wt, fstart, pos, pos + 8
            pos += 8
        elif wt == 2:
            n, vstart = _varint(buf, pos, end)
            if vstart + n > end:
                raise _Truncated
            yield num, wt, fstart, vstart, vstart + n
            pos = vstart + n
        elif wt == 5:
            if pos + 4 > end:
                raise _Truncated
            yield num, wt, fstart, pos, pos + 4
            pos += 4
        else:
            raise _Truncated
        if pos > end:
            raise _Truncated


def _tensor(buf: Any, start: int, end: int) -> bytes:
    size = sum(e - v for num, _, _, v, e in _fields(buf, start, end) if num in _TENSOR_DATA)
    if size <= KEEP_DATA_BYTES:
        return buf[start:end]
    return b"".join(
        buf[f:e] for num, _, f, _, e in _fields(buf, start, end) if num not in _TENSOR_DATA
    )


def _length_field(num: int, payload: bytes) -> bytes:
    return _encode_varint(num << 3 | 2) + _encode_varint(len(payload)) + payload


def _graph(buf: Any, start: int, end: int) -> bytes:
    out = []
    for num, wt, f, v, e in _fields(buf, start, end):
        if num == _GRAPH_INITIALIZER and wt == 2:
            out.append(_length_field(num, _tensor(buf, v, e)))
        else:
            out.append(buf[f:e])
    return b"".join(out)


def _model(buf: Any) -> bytes:
    out = []
    for num, wt, f, v, e in _fields(buf, 0, len(buf)):
        if num == _MODEL_GRAPH and wt == 2:
            out.append(_length_field(num, _graph(buf, v, e)))
        else:
            out.append(buf[f:e])
    return b"".join(out)


def strip_weights(path: Path) -> bytes:
    """The ModelProto bytes of ``path`` with large initializers' data removed."""
    try:
        with path.open("rb") as fh:
            if path.stat().st_size == 0:
                raise CnncalcError("the file is empty", file=str(path))
            if hasattr(os, "pread"):
                return _model(_PRead(fh.fileno(), path.stat().st_size))
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _model(buf)
    except (_Truncated, IndexError):
        raise CnncalcError(
            "not a readable ONNX file (the protobuf is truncated or corrupt)", file=str(path)
        ) from None
    except OSError as exc:
        raise CnncalcError(f"cannot read the file: {exc.strerror}", file=str(path)) from None
