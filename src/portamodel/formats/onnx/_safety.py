"""Parse untrusted ONNX bytes: no external data unless allowed, and then only from inside one folder.

``onnx.load_model_from_string`` never follows external-data references, so parsing itself is safe.
Tensors stored outside the file are refused unless the caller names a folder
(``external_data_dir=``); then each referenced file must be a regular file inside that folder: a
relative path without ``..``, no symbolic link on the way, and the byte range must fit the file
and the tensor's declared size.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from ...errors import FormatError
from ._deps import onnx_module

__all__ = ["iter_tensors", "parse_model"]


def parse_model(data: bytes, *, external_data_dir: str | os.PathLike[str] | None, where: str) -> Any:
    """Return the checked ``onnx.ModelProto`` held in ``data`` (see the module docstring)."""
    onnx = onnx_module()
    if not data:
        raise FormatError("empty input: not an ONNX model", location=where)
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf DecodeError, RecursionError, ...
        raise FormatError(f"not a valid ONNX protobuf ({type(exc).__name__}: {exc})", location=where) from None
    if not model.HasField("graph"):
        raise FormatError("the ONNX model has no graph (truncated or not an ONNX file?)", location=where)
    external = [t for t in iter_tensors(model.graph) if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        if external_data_dir is None:
            names = ", ".join(repr(t.name) for t in external[:5])
            raise FormatError(
                f"tensor(s) {names} keep their data in external files; pass external_data_dir= (the folder "
                "holding them) to allow reading them",
                location=where,
            )
        base = _checked_folder(external_data_dir, where)
        for tensor in external:
            _load_external(onnx, tensor, base, where)
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx.checker.ValidationError and friends
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FormatError(f"the ONNX checker rejects this model: {first}", location=where) from None
    return model


def iter_tensors(graph: Any) -> Iterator[Any]:
    """Every TensorProto in a graph: initializers, sparse initializers, attribute tensors, subgraphs."""
    stack = [graph]
    while stack:
        g = stack.pop()
        yield from g.initializer
        for sparse in g.sparse_initializer:
            yield sparse.values
            yield sparse.indices
        for node in g.node:
            for attr in node.attribute:
                if attr.HasField("t"):
                    yield attr.t
                yield from attr.tensors
                if attr.HasField("g"):
                    stack.append(attr.g)
                stack.extend(attr.graphs)


def _checked_folder(folder: str | os.PathLike[str], where: str) -> Path:
    try:
        base = Path(folder).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise FormatError(f"external_data_dir {str(folder)!r} cannot be opened: {exc}", location=where) from None
    if not base.is_dir():
        raise FormatError(f"external_data_dir {str(folder)!r} is not a folder", location=where)
    return base


def _load_external(onnx: Any, tensor: Any, base: Path, where: str) -> None:
    info = {entry.key: entry.value for entry in tensor.external_data}
    here = f"{where}: tensor {tensor.name!r}"
    location = info.get("location", "")
    if not location:
        raise FormatError("external data without a location", location=here)
    if (
        "\x00" in location
        or PurePosixPath(location).is_absolute()
        or PureWindowsPath(location).is_absolute()
        or PureWindowsPath(location).drive
    ):
        raise FormatError(f"external data location {location!r} is absolute; only paths inside external_data_dir are read", location=here)
    parts = PureWindowsPath(location).parts  # splits on both / and \
    if any(p in ("..", ".") or p == "" for p in parts):
        raise FormatError(f"external data location {location!r} leaves or names the folder ('..' / '.'); refused", location=here)
    path = base
    for part in parts:
        path = path / part
        try:
            st = os.lstat(path)
        except OSError:
            raise FormatError(f"external data file {location!r} does not exist in {str(base)!r}", location=here) from None
        if stat.S_ISLNK(st.st_mode):
            raise FormatError(f"external data location {location!r} goes through a symbolic link; refused", location=here)
    real = path.resolve(strict=True)
    if base not in real.parents:
        raise FormatError(f"external data location {location!r} resolves outside {str(base)!r}; refused", location=here)
    st = os.stat(real)
    if not stat.S_ISREG(st.st_mode):
        raise FormatError(f"external data location {location!r} is not a regular file", location=here)
    try:
        offset = int(info.get("offset", "0"))
        length = int(info["length"]) if "length" in info else st.st_size - offset
    except ValueError:
        raise FormatError("external data offset/length are not integers", location=here) from None
    if offset < 0 or length < 0 or offset + length > st.st_size:
        raise FormatError(f"external data range {offset}+{length} does not fit {location!r} ({st.st_size} bytes)", location=here)
    expected = _expected_size(onnx, tensor)
    if expected is not None and expected != length:
        raise FormatError(f"external data holds {length} bytes but the tensor needs {expected}", location=here)
    with open(real, "rb") as fh:
        fh.seek(offset)
        raw = fh.read(length)
    if len(raw) != length:
        raise FormatError(f"external data file {location!r} is shorter than declared", location=here)
    del tensor.external_data[:]
    tensor.data_location = onnx.TensorProto.DEFAULT
    tensor.raw_data = raw


def _expected_size(onnx: Any, tensor: Any) -> int | None:
    try:
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except Exception:
        return None
    if tensor.data_type == onnx.TensorProto.STRING:
        return None
    n = 1
    for d in tensor.dims:
        if d < 0:
            return None
        n *= d
    return n * itemsize
