"""Shared machinery of the IR dataclasses: structural equality and read-only arrays."""

from __future__ import annotations

import dataclasses
import math
import struct
import sys
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from ..errors import IRValidationError

T = TypeVar("T")

__all__ = ["IRNode", "check", "frozen_array", "ir_dataclass", "same"]


if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
elif sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - Python 3.10

    def dataclass_transform(**_: Any) -> Callable[[T], T]:
        return lambda obj: obj


@dataclass_transform(frozen_default=True, kw_only_default=True)
def ir_dataclass(cls: type[T]) -> type[T]:
    """Frozen, slotted, keyword-only dataclass whose equality is structural (see :func:`same`)."""
    return dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)(cls)


def same(a: Any, b: Any) -> bool:
    """Structural equality: arrays and floats compare bit for bit (NaN equals NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return a.dtype == b.dtype and a.shape == b.shape and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if type(a) is not type(b):
        return False
    return bool(a == b)


class IRNode:
    """Base of every IR dataclass: structural ``==`` and unhashable (they hold arrays)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return all(
            same(getattr(self, f.name), getattr(other, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.compare
        )

    __hash__ = None  # type: ignore[assignment]

    def replace(self: T, **changes: Any) -> T:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle / deepcopy by constructor arguments: re-validated on load, caches left behind."""
        kwargs = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.init:
                value = getattr(self, f.name)
                kwargs[f.name] = dict(value) if isinstance(value, types.MappingProxyType) else value
        return (_rebuild_node, (type(self), kwargs))


def _rebuild_node(cls: type[T], kwargs: dict[str, Any]) -> T:
    return cls(**kwargs)


def check(condition: bool, where: str, message: str) -> None:
    """Raise :class:`IRValidationError` at ``where`` unless ``condition`` holds."""
    if not condition:
        raise IRValidationError(message, location=where)


def frozen_array(
    value: Any,
    dtype: Any,
    where: str,
    *,
    ndim: int | None = None,
) -> NDArray[Any]:
    """Return a read-only, C-contiguous copy of ``value`` as ``dtype`` (validated)."""
    try:
        arr = np.array(value, dtype=dtype, copy=True, order="C")
    except (TypeError, ValueError, OverflowError) as exc:
        raise IRValidationError(f"cannot be read as {np.dtype(dtype).name}: {exc}", location=where) from None
    if ndim is not None and arr.ndim != ndim:
        raise IRValidationError(f"expected a {ndim}-D array, got shape {arr.shape}", location=where)
    arr.setflags(write=False)
    return arr


def check_names(names: tuple[str, ...], where: str) -> None:
    """Names must be non-empty strings and unique."""
    seen: set[str] = set()
    for i, n in enumerate(names):
        check(isinstance(n, str) and n != "", f"{where}[{i}]", f"expected a non-empty name, got {n!r}")
        check(n not in seen, f"{where}[{i}]", f"duplicate name {n!r}")
        seen.add(n)


def check_choice(value: Any, choices: tuple[Any, ...], where: str) -> None:
    check(value in choices, where, f"expected one of {', '.join(map(repr, choices))}; got {value!r}")


def as_tuple(value: Any, where: str, item: Callable[[Any], Any] | None = None) -> tuple[Any, ...]:
    """Coerce a sequence (not a string) to a tuple, optionally mapping each item."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise IRValidationError(f"expected a sequence, got {type(value).__name__}", location=where)
    items = tuple(value)
    return tuple(item(v) for v in items) if item else items
