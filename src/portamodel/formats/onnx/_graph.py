"""Typed, checked access to an ONNX graph: nodes, constants, attributes.

Every accessor validates what it returns (attribute type, list length, tensor shape) and raises
:class:`~portamodel.errors.FormatError` naming the node, so reader code never sees a malformed value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import FormatError
from ._deps import onnx_module

__all__ = ["ELEM_TYPES", "GraphView", "NodeView", "tensor_to_array"]

#: ONNX TensorProto element type -> short name used by the reader.
ELEM_TYPES: dict[int, str] = {
    1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string",
    9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64",
}  # fmt: skip

# AttributeProto.AttributeType values
_FLOAT, _INT, _STRING, _TENSOR, _GRAPH, _FLOATS, _INTS, _STRINGS = 1, 2, 3, 4, 5, 6, 7, 8


def tensor_to_array(tensor: Any, where: str) -> NDArray[Any]:
    """A numpy copy of a TensorProto (strings decoded to ``str``), or FormatError."""
    onnx = onnx_module()
    try:
        arr = onnx.numpy_helper.to_array(tensor)
    except Exception as exc:
        raise FormatError(f"tensor {tensor.name!r} cannot be decoded: {exc}", location=where) from None
    if arr.dtype == object:
        try:
            flat = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in arr.ravel().tolist()]
        except UnicodeDecodeError:
            raise FormatError(f"tensor {tensor.name!r} holds strings that are not UTF-8", location=where) from None
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        arr = out.reshape(arr.shape)
    return np.array(arr, copy=True)


@dataclass
class NodeView:
    """One node with typed attribute accessors; ``where`` is used in error messages."""

    proto: Any
    index: int

    @property
    def op(self) -> str:
        return str(self.proto.op_type)

    @property
    def domain(self) -> str:
        d = str(self.proto.domain)
        return "" if d == "ai.onnx" else d

    @property
    def name(self) -> str:
        return str(self.proto.name) or f"#{self.index}"

    @property
    def where(self) -> str:
        dom = f"{self.domain}:" if self.domain else ""
        return f"node {self.name!r} ({dom}{self.op})"

    @property
    def inputs(self) -> list[str]:
        return list(self.proto.input)

    @property
    def outputs(self) -> list[str]:
        return list(self.proto.output)

    def _attr(self, name: str, kinds: tuple[int, ...]) -> Any | None:
        found = [a for a in self.proto.attribute if a.name == name]
        if not found:
            return None
        if len(found) > 1:
            raise FormatError(f"attribute {name!r} is given {len(found)} times", location=self.where)
        a = found[0]
        if a.type not in kinds:
            raise FormatError(f"attribute {name!r} has the wrong type ({a.type})", location=self.where)
        return a

    def has(self, name: str) -> bool:
        return any(a.name == name for a in self.proto.attribute)

    def attr_names(self) -> list[str]:
        return [a.name for a in self.proto.attribute]

    def int(self, name: str, default: int | None = None) -> int:
        a = self._attr(name, (_INT,))
        if a is None:
            if default is None:
                raise FormatError(f"attribute {name!r} is required", location=self.where)
            return default
        return int(a.i)

    def float(self, name: str, default: float | None = None) -> float:
        a = self._attr(name, (_FLOAT,))
        if a is None:
            if default is None:
                raise FormatError(f"attribute {name!r} is required", location=self.where)
            return default
        return float(a.f)

    def string(self, name: str, default: str | None = None) -> str:
        a = self._attr(name, (_STRING,))
        if a is None:
            if default is None:
                raise FormatError(f"attribute {name!r} is required", location=self.where)
            return default
        return _decode(a.s, self.where, name)

    def ints(self, name: str) -> NDArray[np.int64] | None:
        a = self._attr(name, (_INTS,))
        return None if a is None else np.array(list(a.ints), dtype=np.int64)

    def floats(self, name: str) -> NDArray[np.float64] | None:
        """FLOATS attribute as float64 (each value is exactly the stored float32)."""
        a = self._attr(name, (_FLOATS,))
        return None if a is None else np.array(list(a.floats), dtype=np.float32).astype(np.float64)

    def strings(self, name: str) -> list[str] | None:
        a = self._attr(name, (_STRINGS,))
        return None if a is None else [_decode(s, self.where, name) for s in a.strings]

    def tensor(self, name: str) -> NDArray[Any] | None:
        a = self._attr(name, (_TENSOR,))
        return None if a is None else tensor_to_array(a.t, f"{self.where} attribute {name!r}")

    def has_subgraph(self) -> bool:
        return any(a.type in (_GRAPH, 10) for a in self.proto.attribute)


def _decode(raw: bytes, where: str, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"attribute {name!r} holds a string that is not UTF-8", location=where) from None


class GraphView:
    """Nodes in order, initializers, graph inputs/outputs, and who consumes what."""

    def __init__(self, graph: Any) -> None:
        self.proto = graph
        self.nodes = [NodeView(n, i) for i, n in enumerate(graph.node)]
        self.initializers: dict[str, Any] = {}
        for t in graph.initializer:
            self.initializers[t.name] = t
        if len(graph.sparse_initializer):
            raise FormatError("sparse initializers are not supported", location=f"graph {graph.name!r}")
        self.inputs = [vi for vi in graph.input if vi.name not in self.initializers]
        self.outputs = list(graph.output)
        self.consumers: dict[str, list[NodeView]] = {}
        for n in self.nodes:
            for name in n.inputs:
                if name:
                    self.consumers.setdefault(name, []).append(n)

    def producer_map(self) -> dict[str, NodeView]:
        out: dict[str, NodeView] = {}
        for n in self.nodes:
            for name in n.outputs:
                if name:
                    out[name] = n
        return out


def value_info_type(vi: Any) -> tuple[str | None, list[int | None] | None]:
    """(element type name, shape with None for unknown dims) of a graph input/output, or (None, None)."""
    t = vi.type
    if not t.HasField("tensor_type"):
        return None, None
    tt = t.tensor_type
    etype = ELEM_TYPES.get(tt.elem_type)
    if not tt.HasField("shape"):
        return etype, None
    dims: list[int | None] = []
    for d in tt.shape.dim:
        dims.append(int(d.dim_value) if d.HasField("dim_value") else None)
    return etype, dims
