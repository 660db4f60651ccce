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
    """Structural equality: arrays and floats compare bit for bit (NaN equals NaN).

    Iterative, so deeply nested expressions cannot exhaust the Python stack.

    >>> same((1.0, float("nan")), (1.0, float("nan"))), same(0.0, -0.0)
    (True, False)
    """
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if isinstance(x, IRNode) or isinstance(y, IRNode):
            if type(x) is not type(y):
                return False
            stack.extend((getattr(x, f.name), getattr(y, f.name)) for f in dataclasses.fields(x) if f.compare)  # type: ignore[arg-type]
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
                return False
            if not (x.dtype == y.dtype and x.shape == y.shape and np.ascontiguousarray(x).tobytes() == np.ascontiguousarray(y).tobytes()):
                return False
        elif isinstance(x, float) and isinstance(y, float):
            if not (struct.pack("<d", x) == struct.pack("<d", y) or (math.isnan(x) and math.isnan(y))):
                return False
        elif isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
            if type(x) is not type(y) or len(x) != len(y):
                return False
            stack.extend(zip(x, y))
        elif isinstance(x, Mapping) and isinstance(y, Mapping):
            if x.keys() != y.keys():
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif type(x) is not type(y) or not bool(x == y):
            return False
    return True


def plain(value: Any) -> Any:
    """numpy scalars and str subclasses -> plain Python scalars (``np.int64(1)`` -> ``1``).

    >>> plain(np.str_("a")).__class__.__name__, plain(np.int64(3)), plain(np.bool_(True))
    ('str', 3, True)
    """
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def check_float_range(values: Any, where: str) -> None:
    """Numbers must be representable as float64 (scoring compares them with float columns)."""
    for i, v in enumerate(values):
        if isinstance(v, int) and not isinstance(v, bool):
            try:
                float(v)
            except OverflowError:
                raise IRValidationError("integer beyond the float64 range", location=f"{where}[{i}]") from None


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr`` for error messages: never fails (huge ints) and never floods (long strings)."""
    try:
        text = repr(value)
    except ValueError:  # int too large to print
        text = f"<{type(value).__name__} too large to print>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class IRNode:
    """Base of every IR dataclass: structural ``==`` and unhashable (they hold arrays)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return same(self, other)

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
    """Return a read-only, C-contiguous copy of ``value`` as ``dtype`` (validated).

    An array that already is one and whose memory is an immutable ``bytes`` object (as
    ``np.frombuffer`` gives for decoded file data) is taken as it is: nobody can change it.
    """
    if isinstance(value, np.ndarray) and value.dtype == dtype and not value.flags.writeable and value.flags.c_contiguous:
        base = value.base
        while isinstance(base, np.ndarray):
            base = base.base
        if type(base) is bytes and (ndim is None or value.ndim == ndim):
            return value
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
        check(isinstance(n, str) and n != "", f"{where}[{i}]", f"expected a non-empty name, got {short_repr(n)}")
        check(n not in seen, f"{where}[{i}]", f"duplicate name {short_repr(n)}")
        seen.add(n)


def check_choice(value: Any, choices: tuple[Any, ...], where: str) -> None:
    check(value in choices, where, f"expected one of {', '.join(map(repr, choices))}; got {short_repr(value)}")


def as_tuple(value: Any, where: str, item: Callable[[Any], Any] | None = None) -> tuple[Any, ...]:
    """Coerce a sequence (not a string) to a tuple, optionally mapping each item."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise IRValidationError(f"expected a sequence, got {type(value).__name__}", location=where)
    items = tuple(value)
    return tuple(item(v) for v in items) if item else items
