"""A small, deterministic ONNX graph builder (unique names, constants as initializers)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._deps import onnx_module

__all__ = ["GraphBuilder"]


class GraphBuilder:
    """Collects nodes and initializers; every name it hands out is unique and deterministic."""

    def __init__(self, reserved: set[str] | None = None) -> None:
        self.onnx = onnx_module()
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: set[str] = set(reserved or ())
        self._consts: dict[tuple[str, bytes, tuple[int, ...]], str] = {}
        self.ml_ops: set[str] = set()

    def fresh(self, hint: str) -> str:
        base = hint or "t"
        name, i = base, 1
        while name in self.names:
            name = f"{base}_{i}"
            i += 1
        self.names.add(name)
        return name

    def const(self, value: Any, hint: str = "c", dtype: Any = None) -> str:
        """An initializer holding ``value`` (identical constants are shared)."""
        arr = np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value)
        if arr.dtype.kind in "US":
            arr = arr.astype(object)
        key = (str(arr.dtype), _bytes(arr), tuple(arr.shape))
        if key in self._consts:
            return self._consts[key]
        name = self.fresh(hint)
        self.initializers.append(self.tensor(arr, name))
        self._consts[key] = name
        return name

    def tensor(self, arr: NDArray[Any], name: str = "") -> Any:
        if arr.dtype == object:
            t = self.onnx.helper.make_tensor(name, self.onnx.TensorProto.STRING, arr.shape, [str(v).encode() for v in arr.ravel().tolist()])
            return t
        return self.onnx.numpy_helper.from_array(np.array(arr, order="C", copy=True), name)

    def op(
        self,
        op_type: str,
        inputs: list[str],
        hint: str | None = None,
        *,
        n_out: int = 1,
        domain: str = "",
        name: str | None = None,
        **attrs: Any,
    ) -> Any:
        """Add a node; returns its output name (or the list of names when ``n_out > 1``).

        ``name`` is an exact output name reserved up front (graph outputs such as ``label``).
        """
        outs = [name] if name is not None else [self.fresh(hint or op_type.lower()) for _ in range(n_out)]
        clean = {k: v for k, v in attrs.items() if v is not None}
        for k, v in list(clean.items()):
            if isinstance(v, np.ndarray):
                clean[k] = self.tensor(v)
        node = self.onnx.helper.make_node(op_type, inputs, outs, name=self.fresh(f"{op_type}"), domain=domain or None, **clean)
        if domain == "ai.onnx.ml":
            self.ml_ops.add(op_type)
        self.nodes.append(node)
        return outs if n_out > 1 else outs[0]


def _bytes(arr: NDArray[Any]) -> bytes:
    if arr.dtype == object:
        return "\x00".join(str(v) for v in arr.ravel().tolist()).encode()
    return np.ascontiguousarray(arr).tobytes()
