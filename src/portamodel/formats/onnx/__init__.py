"""ONNX: read the graphs real exporters emit, write graphs onnxruntime runs identically.

Reading parses the protobuf from bytes without touching external files (tensors stored outside
the model are refused unless ``external_data_dir=`` names their folder), then maps the graph onto
the IR: ai.onnx.ml linear models, tree ensembles and preprocessing ops, and dense networks built
from ai.onnx ops (see ``docs/onnx.md``). Writing produces a graph that passes
``onnx.checker.check_model(full_check=True)`` and that onnxruntime scores like portamodel.

>>> from portamodel.ir import Field, LinearModel, Model, Target
>>> model = Model(
...     inputs=(Field(name="x"),),
...     target=Target(name="y", task="regression"),
...     estimator=LinearModel(features=("x",), coefficients=[[2.0]], intercepts=[1.0]),
... )
>>> data = write(model)
>>> sniff(data[:512])
True
>>> read(data) == model
True
>>> read(data, embedded_ir=False).predict([[3.0]]).tolist()
[7.0]
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

from ...errors import FormatError, PortamodelError
from ...ir import Model

__all__ = ["EXTENSIONS", "read", "sniff", "write"]

EXTENSIONS: tuple[str, ...] = (".onnx",)

# protobuf field tags that can open a ModelProto: ir_version (1, varint), producer_name (2),
# producer_version (3), domain (4), model_version (5, varint), doc_string (6), graph (7),
# opset_import (8), metadata_props (14), training_info (20), functions (25), configuration (26)
_FIRST_TAGS = {0x08, 0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72}


def sniff(head: bytes) -> bool:
    """Do these first bytes look like a serialized ONNX ModelProto?

    >>> sniff(b"\\x08\\x08\\x12\\x07pytorch"), sniff(b"<PMML>"), sniff(b"{}")
    (True, False, False)
    """
    if len(head) < 2 or head[0] not in _FIRST_TAGS:
        return False
    if head[0] == 0x08:  # ir_version: a small varint
        return 1 <= head[1] <= 64
    return True


def read(
    source: bytes | pathlib.Path | str | os.PathLike[str],
    *,
    external_data_dir: str | os.PathLike[str] | None = None,
    embedded_ir: bool = True,
    **options: Any,
) -> Model:
    """Read an ONNX model (bytes or a file path) into a :class:`~portamodel.ir.Model`.

    ``external_data_dir``: the folder that may hold tensors stored outside the model file (only
    files inside it are read, without following symbolic links). Without it such models are refused.
    ``embedded_ir``: for files written by portamodel, return the IR stored in the file when the
    graph is exactly what writing that IR gives (keeps every name and detail); ``False`` always
    reads the graph itself.
    """
    if options:
        raise PortamodelError(f"unknown option(s) for the onnx reader: {', '.join(sorted(options))}")
    from ._reader import read_model
    from ._safety import parse_model

    if isinstance(source, (bytes, bytearray, memoryview)):
        data, where = bytes(source), "ONNX model"
    else:
        path = pathlib.Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FormatError(f"cannot read the file: {exc.strerror or exc}", location=str(path)) from None
        where = str(path)
    proto = parse_model(data, external_data_dir=external_data_dir, where=where)
    return read_model(proto, where=where, embedded_ir=embedded_ir)


def write(model: Model, **options: Any) -> bytes:
    """Serialize ``model`` as an ONNX ModelProto (see :func:`portamodel.formats.onnx._writer.write_model`)."""
    from ._writer import write_model

    return write_model(model, **options)
