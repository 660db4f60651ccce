"""Preprocessing steps, compiled once into functions over a dict of columns.

A column is a float64 array (numeric and boolean values; missing = NaN) or an object array of
strings (missing = None). Each compiled step reads its input columns from the environment dict and
adds its outputs to it.

Derive expressions follow PMML's built-in functions: a missing argument makes the result missing,
except ``isMissing`` / ``isNotMissing`` (never missing), the aggregates ``min`` ``max`` ``sum``
``avg`` ``product`` (missing arguments are skipped; all missing gives missing) and ``if`` (only
the branch taken matters; a missing condition gives missing). ``and`` / ``or`` / ``not`` also
follow the general rule (any missing argument gives missing), as JPMML does. Arithmetic that is
undefined (``0/0``, ``ln(-1)``) gives NaN, which is missing downstream.

>>> from portamodel.ir import Apply, Constant, Derive, FieldRef
>>> step = compile_step(Derive(output="y", expression=Apply(function="+", args=(FieldRef(name="x"), Constant(value=1)))), {"x": "number"})
>>> env = {"x": np.array([1.0, np.nan])}
>>> step(env, 2)
>>> env["y"].tolist()
[2.0, nan]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError, IRValidationError
from ..ir import Affine, Apply, Constant, Derive, FieldRef, Impute, Lookup, OneHot, Step
from ..ir.transforms import Expression
from ._inputs import _text, plain

__all__ = ["Env", "StepFn", "compile_step", "expression_kind"]

Column = NDArray[Any]
Env = dict[str, Column]
StepFn = Callable[[Env, int], None]
Kinds = dict[str, str]  # column name -> "number" | "string"

F64 = np.float64


def compile_step(step: Step, kinds: Kinds) -> StepFn:
    """Compile one step; ``kinds`` (column name -> "number"/"string") is updated with its outputs."""
    if isinstance(step, Affine):
        return _affine(step, kinds)
    if isinstance(step, Impute):
        return _impute(step, kinds)
    if isinstance(step, OneHot):
        return _onehot(step, kinds)
    if isinstance(step, Lookup):
        return _lookup(step, kinds)
    if isinstance(step, Derive):
        return _derive(step, kinds)
    raise IRValidationError(f"unknown step type {type(step).__name__}")  # pragma: no cover


def _need_number(kinds: Kinds, name: str, where: str) -> None:
    if kinds[name] != "number":
        raise IRValidationError(f"reads string column {name!r} but needs numbers", location=where)


# -- Affine / Impute ----------------------------------------------------------------------------


def _affine(step: Affine, kinds: Kinds) -> StepFn:
    for name in step.inputs:
        _need_number(kinds, name, "Affine")
    for name in step.outputs:
        kinds[name] = "number"
    ins, outs = step.inputs, step.outputs
    offset, scale, shift, divide = step.offset, step.scale, step.shift, step.divide
    assert shift is not None

    def run(env: Env, n: int) -> None:
        with np.errstate(all="ignore"):
            for j, (i, o) in enumerate(zip(ins, outs)):
                d = env[i] - offset[j]
                env[o] = (d / scale[j] if divide else d * scale[j]) + shift[j]

    return run


def _impute(step: Impute, kinds: Kinds) -> StepFn:
    plans: list[tuple[str, str, Any, bool]] = []
    for i, o, v in zip(step.inputs, step.outputs, step.values):
        numeric = kinds[i] == "number" and not isinstance(v, str)
        kinds[o] = "number" if numeric else "string"
        plans.append((i, o, float(v) if numeric else (v if isinstance(v, str) else _text(v)), numeric))

    def run(env: Env, n: int) -> None:
        for i, o, v, numeric in plans:
            col = env[i]
            if numeric:
                env[o] = np.where(np.isnan(col), v, col)
            else:
                text = _to_strings(col)
                text[_missing(text)] = v
                env[o] = text

    return run


# -- OneHot / Lookup ----------------------------------------------------------------------------


def _key_in_domain(value: Any, numeric: bool) -> Any:
    """A category / key as it compares against a column: float for numeric columns, text otherwise.

    Returns None for a key that can never match (a non-numeric string against numbers).
    """
    if numeric:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return None
        return float(value)
    return value if isinstance(value, str) else _text(value)


def _codes(col: Column, keys: list[Any], numeric: bool) -> NDArray[np.int64]:
    """Index of each row's value in ``keys`` (-1: not found, -2: missing)."""
    n = col.shape[0]
    if numeric:
        codes = np.full(n, -1, dtype=np.int64)
        for k, key in enumerate(keys):
            if key is not None:
                codes[(col == key) & (codes == -1)] = k
        codes[np.isnan(col)] = -2
        return codes
    index = {key: k for k, key in reversed(list(enumerate(keys))) if key is not None}
    return np.fromiter((-2 if v is None else index.get(v, -1) for v in col), dtype=np.int64, count=n)


def _onehot(step: OneHot, kinds: Kinds) -> StepFn:
    numeric = kinds[step.input] == "number"
    keys = [_key_in_domain(c, numeric) for c in step.categories]
    for o in step.outputs:
        kinds[o] = "number"
    name, outs, unknown, propagate = step.input, step.outputs, step.unknown, step.missing == "propagate"

    def run(env: Env, n: int) -> None:
        col = env[name]
        codes = _codes(col, keys, numeric)
        if unknown == "error" and (codes == -1).any():
            i = int(np.argmax(codes == -1))
            raise InputError(f"row {i}: unknown category {plain(col[i])!r}", location=f"OneHot({name!r})")
        missing = codes == -2
        for k, o in enumerate(outs):
            out = (codes == k).astype(F64)
            if propagate:
                out[missing] = np.nan
            env[o] = out

    return run


def _lookup(step: Lookup, kinds: Kinds) -> StepFn:
    numeric_in = kinds[step.input] == "number"
    keys = [_key_in_domain(k, numeric_in) for k in step.keys]
    outs = [v for v in (*step.values, step.default, step.missing) if v is not None]
    numeric_out = not any(isinstance(v, str) for v in outs)
    kinds[step.output] = "number" if numeric_out else "string"
    if numeric_out:
        table = np.array([float(v) for v in step.values] + [math.nan, math.nan], dtype=F64)
        table[-2] = math.nan if step.default is None else float(step.default)
        table[-1] = math.nan if step.missing is None else float(step.missing)
    else:
        table = np.empty(len(step.values) + 2, dtype=object)
        table[:-2] = list(step.values)
        table[-2] = step.default
        table[-1] = step.missing
    name, output, unknown = step.input, step.output, step.unknown
    n_keys = len(keys)

    def run(env: Env, n: int) -> None:
        col = env[name]
        codes = _codes(col, keys, numeric_in)
        if unknown == "error" and (codes == -1).any():
            i = int(np.argmax(codes == -1))
            raise InputError(f"row {i}: value {plain(col[i])!r} is not in the lookup table", location=f"Lookup({name!r})")
        idx = np.where(codes == -1, n_keys, np.where(codes == -2, n_keys + 1, codes))
        env[output] = table[idx]

    return run


# -- Derive -------------------------------------------------------------------------------------

_BOOLEAN = {"isMissing", "isNotMissing", "equal", "notEqual", "lessThan", "lessOrEqual", "greaterThan"}
_BOOLEAN |= {"greaterOrEqual", "and", "or", "not", "isIn", "isNotIn"}


def expression_kind(expr: Expression, kinds: Kinds) -> str:
    """Static result kind of an expression: "number", "string" or "any" (a bare missing constant)."""
    if isinstance(expr, Constant):
        if expr.value is None:
            return "any"
        return "string" if isinstance(expr.value, str) else "number"
    if isinstance(expr, FieldRef):
        if expr.name not in kinds:
            raise IRValidationError(f"column {expr.name!r} is not defined", location="FieldRef")
        return kinds[expr.name]
    for a in expr.args:
        expression_kind(a, kinds)  # validate references
    if expr.function == "if":
        branch = {expression_kind(a, kinds) for a in expr.args[1:]} - {"any"}
        if not branch:
            return "any"
        return "string" if "string" in branch else "number"
    return "number"


def _derive(step: Derive, kinds: Kinds) -> StepFn:
    kind = expression_kind(step.expression, kinds)
    where = f"Derive({step.output!r})"
    if step.dtype != "string" and kind == "string":
        raise IRValidationError(f"the expression gives strings but dtype is {step.dtype!r}", location=where)
    kinds[step.output] = "string" if step.dtype == "string" else "number"
    expr, output, dtype = step.expression, step.output, step.dtype

    def run(env: Env, n: int) -> None:
        value = evaluate_expression(expr, env, n)
        if dtype == "string":
            value = _to_strings(value)
        elif dtype == "boolean":
            b, m = _as_bool(value, where)
            value = np.where(m, np.nan, b.astype(F64))
        env[output] = value

    return run


def _missing(col: Column) -> NDArray[np.bool_]:
    if col.dtype == object:
        return np.fromiter((v is None for v in col), dtype=bool, count=col.shape[0])
    return np.isnan(col)


def _to_strings(col: Column) -> Column:
    if col.dtype == object:
        return col.copy()
    out = np.empty(col.shape[0], dtype=object)
    out[:] = [None if v != v else _text(v) for v in col.tolist()]
    return out


def _as_bool(col: Column, where: str) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(value, missing) of a column used as a boolean."""
    if col.dtype != object:
        missing = np.isnan(col)
        return (col != 0) & ~missing, missing
    missing = _missing(col)
    vals = np.zeros(col.shape[0], dtype=bool)
    for i, v in enumerate(col):
        if v is None:
            continue
        t = str(v).strip().lower()
        if t not in ("true", "false", "1", "0"):
            raise InputError(f"row {i}: {v!r} is not a boolean", location=where)
        vals[i] = t in ("true", "1")
    return vals, missing


def _bool_col(value: NDArray[np.bool_], missing: NDArray[np.bool_] | None = None) -> Column:
    out = value.astype(F64)
    if missing is not None:
        out[missing] = np.nan
    return out


def _same_domain(a: Column, b: Column) -> tuple[Column, Column]:
    if (a.dtype == object) == (b.dtype == object):
        return a, b
    return (_to_strings(a), b) if b.dtype == object else (a, _to_strings(b))


def _compare(a: Column, b: Column, op: str) -> Column:
    a, b = _same_domain(a, b)
    missing = _missing(a) | _missing(b)
    if a.dtype != object:
        with np.errstate(invalid="ignore"):
            res = {
                "equal": a == b, "notEqual": a != b, "lessThan": a < b,
                "lessOrEqual": a <= b, "greaterThan": a > b, "greaterOrEqual": a >= b,
            }[op]  # fmt: skip
        return _bool_col(res, missing)
    fn: Callable[[Any, Any], bool] = {
        "equal": lambda x, y: x == y, "notEqual": lambda x, y: x != y, "lessThan": lambda x, y: x < y,
        "lessOrEqual": lambda x, y: x <= y, "greaterThan": lambda x, y: x > y, "greaterOrEqual": lambda x, y: x >= y,
    }[op]  # fmt: skip
    res = np.fromiter((not m and fn(x, y) for x, y, m in zip(a, b, missing)), dtype=bool, count=a.shape[0])
    return _bool_col(res, missing)


def _need_numbers(args: list[Column], fn: str) -> None:
    for a in args:
        if a.dtype == object:
            raise InputError(f"{fn!r} needs numbers, got strings", location=f"Apply({fn!r})")


_UNARY: dict[str, Callable[[Column], Column]] = {
    "log10": np.log10, "ln": np.log, "sqrt": np.sqrt, "abs": np.abs, "exp": np.exp,
    "floor": np.floor, "ceil": np.ceil, "rint": np.rint, "expm1": np.expm1, "ln1p": np.log1p,
    "tanh": np.tanh, "sin": np.sin, "cos": np.cos,
    "round": lambda x: np.floor(x + 0.5),  # Java Math.round: halves go up
}  # fmt: skip


def evaluate_expression(expr: Expression, env: Env, n: int) -> Column:
    """Evaluate an expression over ``n`` rows (numeric -> float64, strings -> object array)."""
    if isinstance(expr, Constant):
        v = expr.value
        if isinstance(v, str):
            out = np.empty(n, dtype=object)
            out[:] = v
            return out
        return np.full(n, math.nan if v is None else float(v), dtype=F64)
    if isinstance(expr, FieldRef):
        return env[expr.name]
    fn = expr.function
    if fn == "if":
        return _if(expr, env, n)
    args = [evaluate_expression(a, env, n) for a in expr.args]
    with np.errstate(all="ignore"):
        return _apply(fn, args, n)


def _if(expr: Apply, env: Env, n: int) -> Column:
    cond, cmiss = _as_bool(evaluate_expression(expr.args[0], env, n), "Apply('if')")
    then = evaluate_expression(expr.args[1], env, n)
    other = evaluate_expression(expr.args[2], env, n) if len(expr.args) == 3 else np.full(n, math.nan)
    then, other = _same_domain(then, other)
    if then.dtype == object:
        out = np.where(cond, then, other).astype(object)
        out[cmiss] = None
        return out
    out = np.where(cond, then, other)
    out[cmiss] = np.nan
    return out


def _apply(fn: str, args: list[Column], n: int) -> Column:
    if fn in ("isMissing", "isNotMissing"):
        m = _missing(args[0])
        return _bool_col(m if fn == "isMissing" else ~m)
    if fn in ("equal", "notEqual", "lessThan", "lessOrEqual", "greaterThan", "greaterOrEqual"):
        return _compare(args[0], args[1], fn)
    if fn in ("isIn", "isNotIn"):
        x = args[0]
        hit = np.zeros(n, dtype=bool)
        for a in args[1:]:
            xa, aa = _same_domain(x, a)
            if xa.dtype == object:
                hit |= np.fromiter((u is not None and u == w for u, w in zip(xa, aa)), dtype=bool, count=n)
            else:
                hit |= xa == aa
        return _bool_col(hit if fn == "isIn" else ~hit, _missing(x))
    if fn in ("and", "or", "not"):
        bools = [_as_bool(a, f"Apply({fn!r})") for a in args]
        missing = np.logical_or.reduce([m for _, m in bools])
        if fn == "not":
            return _bool_col(~bools[0][0], missing)
        vals = [b for b, _ in bools]
        res = np.logical_and.reduce(vals) if fn == "and" else np.logical_or.reduce(vals)
        return _bool_col(res, missing)
    _need_numbers(args, fn)
    if fn in ("min", "max", "sum", "avg", "product"):
        stack = np.stack(args, axis=1)
        present = ~np.isnan(stack)
        count = present.sum(axis=1)
        if fn == "min":
            res = np.where(present, stack, np.inf).min(axis=1)
        elif fn == "max":
            res = np.where(present, stack, -np.inf).max(axis=1)
        elif fn == "product":
            res = np.where(present, stack, 1.0).prod(axis=1)
        else:
            res = np.where(present, stack, 0.0).sum(axis=1)
            if fn == "avg":
                res = res / np.maximum(count, 1)
        res[count == 0] = np.nan
        return res  # type: ignore[no-any-return]
    if fn in _UNARY:
        return _UNARY[fn](args[0])
    a, b = args[0], args[1]
    if fn == "+":
        return a + b
    if fn == "-":
        return a - b
    if fn == "*":
        return a * b
    if fn == "/":
        return a / b
    if fn == "pow":
        return np.power(a, b)
    if fn == "threshold":
        return _bool_col(a > b, np.isnan(a) | np.isnan(b))
    if fn == "modulo":
        return a - b * np.floor(a / b)
    raise IRValidationError(f"unknown function {fn!r}")  # pragma: no cover
