"""Turn whatever the caller passed to ``predict`` into one column per model input.

Accepted forms of ``X``:

- a 2-D array (or list of rows) with columns in ``model.input_names`` order;
- a mapping name -> column: a dict, a pandas DataFrame, or anything with ``.columns`` and
  ``__getitem__`` (extra columns are ignored);
- a list of records (dicts), one per row; a key absent from a record is a missing value, a key
  absent from every record is an error (most likely a misspelt name);
- a single record (a mapping whose values are scalars, or a pandas Series) -> one row.

Each column is coerced to its field's type: numeric fields become float64 (missing = NaN, bools
0/1, ``dtype="float"`` rounded through float32), string fields become object arrays (missing =
None). Categorical fields with ``values`` apply ``Field.invalid`` to values outside the list.

>>> from portamodel.ir import Field
>>> cols = coerce_inputs((Field(name="a"), Field(name="b", dtype="string", optype="categorical")), [{"a": 1, "b": "x"}, {"a": None}])
>>> cols["a"].tolist(), cols["b"].tolist()
([1.0, nan], ['x', None])
"""

from __future__ import annotations

import decimal
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from ..ir import Field

__all__ = ["coerce_column", "coerce_inputs", "is_missing_scalar", "plain"]

Column = NDArray[Any]


def is_missing_scalar(value: object) -> bool:
    """None, float NaN, pandas NA/NaT and numpy NaN/NaT count as missing."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    if isinstance(value, np.floating):
        return bool(np.isnan(value))
    name = type(value).__name__
    return name in ("NAType", "NaTType") or (isinstance(value, (np.datetime64, np.timedelta64)) and bool(np.isnat(value)))


def plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, for readable messages (np.float64(5.0) -> 5.0)."""
    return value.item() if isinstance(value, np.generic) else value


def _is_scalar(value: object) -> bool:
    return isinstance(value, (str, bytes, numbers.Number, np.generic)) or value is None or np.ndim(value) == 0  # type: ignore[arg-type]


def _is_series(X: object) -> bool:
    """A pandas Series (one record): 1-D, has ``.index`` and ``.to_dict``."""
    return hasattr(X, "index") and callable(getattr(X, "to_dict", None)) and getattr(X, "ndim", None) == 1 and not _is_table(X)


def _is_table(X: object) -> bool:
    """A DataFrame-like object: has ``.columns`` and item access by name."""
    return hasattr(X, "columns") and hasattr(X, "__getitem__") and not isinstance(X, np.ndarray)


def coerce_inputs(fields: Sequence[Field], X: Any) -> dict[str, Column]:
    """Return ``{field name: coerced column}`` for every input field (see the module docstring)."""
    raw, n_rows, from_text_array = _raw_columns(fields, X)
    out: dict[str, Column] = {}
    for f in fields:
        col = raw[f.name]
        if col.shape[0] != n_rows:
            raise InputError(f"column {f.name!r} has {col.shape[0]} rows but other columns have {n_rows}")
        out[f.name] = coerce_column(f, col, parse_text=from_text_array)
    return out


def _raw_columns(fields: Sequence[Field], X: Any) -> tuple[dict[str, Column], int, bool]:
    names = [f.name for f in fields]
    if X is None:
        raise InputError("X is None; pass a 2-D array, a mapping of columns or a list of records")
    if isinstance(X, (str, bytes)):
        raise InputError(f"X must be a table of values, not {type(X).__name__}")
    if _is_series(X):
        X = X.to_dict()
    if _is_table(X) or isinstance(X, Mapping):
        columns = set(X.columns) if _is_table(X) else None
        if columns is None and _is_record(X, names):
            return _from_records(names, [X]), 1, False
        cols: dict[str, Column] = {}
        for n in names:
            present = (n in columns) if columns is not None else (n in X)
            if not present:
                raise InputError(f"input column {n!r} is missing (the model needs {', '.join(map(repr, names))})")
            cols[n] = _as_1d(X[n], n)
        n_rows = cols[names[0]].shape[0] if names else 0
        return cols, n_rows, False
    if isinstance(X, (list, tuple)) and X and all(isinstance(r, Mapping) for r in X):
        return _from_records(names, X), len(X), False
    if isinstance(X, (list, tuple)) and X and any(isinstance(r, Mapping) for r in X):
        i = next(i for i, r in enumerate(X) if not isinstance(r, Mapping))
        raise InputError(f"row {i} is a {type(X[i]).__name__}, but other rows are records (mappings)")
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise InputError(f"X cannot be read as a 2-D array: {exc}") from None
    if arr.ndim == 1 and arr.shape[0] == 0:
        arr = arr.reshape(0, len(names))
    if arr.ndim != 2:
        hint = " (use X.reshape(1, -1) for one row)" if arr.ndim == 1 else ""
        raise InputError(f"expected a 2-D array (rows x {len(names)} columns), got shape {arr.shape}{hint}")
    if arr.shape[1] != len(names):
        raise InputError(f"X has {arr.shape[1]} columns but the model has {len(names)} inputs ({', '.join(map(repr, names))})")
    text = arr.dtype.kind in "US"
    return {n: arr[:, j] for j, n in enumerate(names)}, arr.shape[0], text


def _is_record(X: Mapping[str, Any], names: list[str]) -> bool:
    present = [X[n] for n in names if n in X]
    return bool(present) and all(_is_scalar(v) for v in present)


def _from_records(names: list[str], records: Sequence[Mapping[str, Any]]) -> dict[str, Column]:
    cols: dict[str, Column] = {}
    for n in names:
        values = [r.get(n) for r in records]
        if not any(n in r for r in records):
            raise InputError(f"input {n!r} is missing from every record (the model needs {', '.join(map(repr, names))})")
        for i, v in enumerate(values):
            if not _is_scalar(v):
                raise InputError(f"record {i}: value of {n!r} is a {type(v).__name__}, expected a scalar")
        cols[n] = _object_array(values)
    return cols


def _object_array(values: list[Any]) -> Column:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _as_1d(col: Any, name: str) -> Column:
    to_numpy = getattr(col, "to_numpy", None)
    try:
        arr = to_numpy() if callable(to_numpy) else np.asarray(col)
    except (TypeError, ValueError) as exc:
        raise InputError(f"column {name!r} cannot be read as an array: {exc}") from None
    arr = np.asarray(arr)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InputError(f"column {name!r} must be 1-D, got shape {arr.shape}")
    return arr


# -- per-field coercion -----------------------------------------------------------------------


def coerce_column(field: Field, col: Column, *, parse_text: bool = False) -> Column:
    """Coerce one raw column to the field's type and apply its ``invalid`` policy."""
    if field.is_numeric:
        out = _numeric(field, col, parse_text)
        if field.dtype == "float":
            with np.errstate(over="ignore"):
                out = out.astype(np.float32).astype(np.float64)
    else:
        out = _strings(field, col)
    if field.values and field.optype != "continuous":
        out = _apply_invalid(field, out)
    return out


def _numeric(field: Field, col: Column, parse_text: bool) -> Column:
    kind = col.dtype.kind
    if kind in "fiub":
        return col.astype(np.float64)
    if kind in "US" and not parse_text:
        _bad_number(field, 0, col[0].item() if col.shape[0] else "")
    out = np.empty(col.shape[0], dtype=np.float64)
    for i, v in enumerate(col.tolist()):
        out[i] = _number(field, i, v, parse_text)
    return out


def _number(field: Field, i: int, v: Any, parse_text: bool) -> float:
    if is_missing_scalar(v):
        return math.nan
    if isinstance(v, (bool, np.bool_)):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float, np.integer, np.floating)):
        return _as_float(field, i, v)
    if isinstance(v, decimal.Decimal):  # what database drivers return for NUMERIC columns
        return math.nan if v.is_nan() else _as_float(field, i, v)
    if isinstance(v, (str, bytes)):
        text = _decode(v, field, i) if isinstance(v, bytes) else v
        if field.dtype == "boolean" and text.strip().lower() in ("true", "false"):
            return 1.0 if text.strip().lower() == "true" else 0.0
        if parse_text:
            if text.strip() == "" or text.strip().lower() in ("nan", "none"):
                return math.nan
            try:
                return float(text)
            except ValueError:
                pass
    if isinstance(v, numbers.Real):
        return _as_float(field, i, v)
    _bad_number(field, i, v)
    raise AssertionError("unreachable")  # pragma: no cover


def _as_float(field: Field, i: int, v: Any) -> float:
    try:
        return float(v)
    except OverflowError:  # a Python int (or Fraction, Decimal) beyond the float range
        raise InputError(f"row {i}: {_short(v)} is too large for a float", location=f"input {field.name!r} ({field.dtype})") from None


def _decode(v: bytes, field: Field, i: int) -> str:
    try:
        return v.decode()
    except UnicodeDecodeError as exc:
        raise InputError(f"row {i}: {_short(v)} is not UTF-8 text ({exc.reason})", location=f"input {field.name!r}") from None


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def _bad_number(field: Field, i: int, v: Any) -> None:
    raise InputError(f"row {i}: {_short(v)} is not a number", location=f"input {field.name!r} ({field.dtype})")


def _strings(field: Field, col: Column) -> Column:
    out = np.empty(col.shape[0], dtype=object)
    if col.dtype.kind == "U":
        out[:] = col.tolist()
        return out
    if col.dtype.kind == "f":
        vals = col.tolist()
        out[:] = [None if v != v else _text(v) for v in vals]
        return out
    out[:] = [None if is_missing_scalar(v) else _text(v, field, i) for i, v in enumerate(col.tolist())]
    return out


def _text(v: Any, field: Field | None = None, i: int = 0) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        if field is None:
            return v.decode(errors="replace")
        return _decode(v, field, i)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _apply_invalid(field: Field, col: Column) -> Column:
    if field.is_numeric:
        allowed = np.array([float(v) for v in field.values], dtype=np.float64)
        bad = ~np.isin(col, allowed) & ~np.isnan(col)
    else:
        allowed_set = set(field.values)
        bad = np.fromiter((v is not None and v not in allowed_set for v in col), dtype=bool, count=col.shape[0])
    if not bad.any() or field.invalid == "as_is":
        return col
    if field.invalid == "error":
        i = int(np.argmax(bad))
        shown = ", ".join(map(repr, field.values[:10])) + (", ..." if len(field.values) > 10 else "")
        raise InputError(f"row {i}: invalid value {plain(col[i])!r} (allowed: {shown})", location=f"input {field.name!r}")
    col = col.copy()
    col[bad] = np.nan if field.is_numeric else None
    return col
