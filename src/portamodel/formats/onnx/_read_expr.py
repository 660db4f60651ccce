"""Element-wise ops on input columns -> Derive steps, with ONNX's semantics spelled in IR functions.

A column here is one IR column (numbers with NaN for missing, or strings with "" standing for a
missing value, the only way onnxruntime receives one). ONNX arithmetic propagates NaN like the IR's
missing values, so ``Add`` or ``Exp`` map one to one. Comparisons do not: ``Less(NaN, 1)`` is false
in ONNX but missing in the IR, so they become ``if(isMissing(a) or isMissing(b), 0, lessThan(a, b))``.
Boolean tensors are 0/1 numeric columns that are never missing ("binary" columns), which is what
``Where``, ``Not``, ``And`` and ``Or`` need.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import LimitExceededError
from ...ir import Apply, Constant, Derive, FieldRef
from ...ir.transforms import Expression
from ._graph import NodeView
from ._reader import MAX_INPUT_COLUMNS, lookups
from ._symbols import Cols, Const, PendingAffine, Unplaced

__all__ = ["binary_expression", "normalizer_columns", "unary_expression"]

_ARITH = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Pow": "pow"}
_CMP = {"Equal": "equal", "Less": "lessThan", "LessOrEqual": "lessOrEqual", "Greater": "greaterThan", "GreaterOrEqual": "greaterOrEqual"}
_TEXT = ("string",)


def _ap(fn: str, *args: Expression) -> Apply:
    return Apply(function=fn, args=args)


def _c(v: Any) -> Constant:
    return Constant(value=v)


class _Operand:
    """A group of columns (FieldRefs) or constants, broadcast along the columns."""

    def __init__(self, exprs: list[Expression], kind: str, dims: tuple[int, ...], binary: bool, consts: list[Any] | None) -> None:
        self.exprs, self.kind, self.dims, self.binary, self.consts = exprs, kind, dims, binary, consts

    def __len__(self) -> int:
        return len(self.exprs)


def _operand(r: Any, sym: Any) -> _Operand:
    if isinstance(sym, Const):
        v = np.asarray(sym.value)
        if v.ndim == 2 and v.shape[0] == 1:
            v = v[0]
        if v.ndim > 1:
            raise Unplaced(f"a constant of shape {np.asarray(sym.value).shape} against columns")
        if v.size > MAX_INPUT_COLUMNS:
            raise LimitExceededError(
                f"a constant of {v.size:,} values against columns (an expression each); the limit is {MAX_INPUT_COLUMNS:,}"
            )
        flat = v.ravel().tolist()
        if v.dtype == object or v.dtype.kind in "US":
            texts = [x.decode() if isinstance(x, bytes) else str(x) for x in flat]
            return _Operand([_c(t if t != "" else None) for t in texts], "string", (len(flat),), False, texts)
        if v.dtype.kind not in "fiub":
            raise Unplaced("a constant that is neither numbers nor text")
        nums = [float(x) for x in flat]
        binary = all(x in (0.0, 1.0) for x in nums)
        return _Operand([_c(None if np.isnan(x) else x) for x in nums], "number", (len(flat),), binary, nums)
    if isinstance(sym, (Cols, PendingAffine)):
        c = r.cols(sym)
        if len(c.dims) > 1:
            raise Unplaced("element-wise op on a 3-D tensor")
        kind = "string" if c.etype in _TEXT else "number"
        binary = c.etype == "bool" or getattr(c, "binary", False)
        return _Operand([FieldRef(name=n) for n in c.names], kind, c.dims, binary, None)
    raise Unplaced("element-wise op on something other than columns")


def _broadcast(ops: list[_Operand]) -> int:
    n = max(len(o) for o in ops)
    for o in ops:
        if len(o) not in (1, n):
            raise Unplaced("element-wise op on column groups of different widths")
    return n


def _emit(r: Any, exprs: list[Expression], base: str, etype: str, dims: tuple[int, ...], binary: bool = False) -> Cols:
    names = []
    for e in exprs:
        out = r.new_name(base)
        r.emit(Derive(output=out, expression=e, dtype="string" if etype == "string" else "double"))
        names.append(out)
    if len(names) > 1 or dims not in ((), (1,)):
        dims = (len(names),)
    return Cols(tuple(names), dims, etype, binary=binary)


def _dims(ops: list[_Operand], n: int) -> tuple[int, ...]:
    for o in ops:
        if o.consts is None and len(o) == n:
            return o.dims
    return (n,)


def _is_missing(op: _Operand, i: int) -> Expression | None:
    """isMissing of operand column i, or None when it can never be missing."""
    if op.consts is not None:
        v = op.consts[i % len(op)]
        return _c(1.0) if (isinstance(v, float) and np.isnan(v)) else None
    if op.binary:
        return None
    return _ap("isMissing", op.exprs[i % len(op)])


def binary_expression(r: Any, node: NodeView, args: list[Any]) -> Cols:
    """Add/Sub/Mul/Div/Pow of columns (at least one operand is not a constant)."""
    fn = _ARITH.get(node.op)
    if fn is None:
        raise Unplaced(f"{node.op} of columns")
    a, b = _operand(r, args[0]), _operand(r, args[1])
    if "string" in (a.kind, b.kind):
        raise Unplaced(f"{node.op} of text")
    n = _broadcast([a, b])
    exprs: list[Expression] = [_ap(fn, a.exprs[i % len(a)], b.exprs[i % len(b)]) for i in range(n)]
    return _emit(r, exprs, node.op.lower(), "double", _dims([a, b], n))


def comparison(r: Any, node: NodeView, args: list[Any]) -> Cols:
    a, b = _operand(r, args[0]), _operand(r, args[1])
    n = _broadcast([a, b])
    out: list[Expression] = []
    if a.kind != b.kind:
        raise Unplaced("comparing text with numbers")
    if a.kind == "string":
        if node.op != "Equal":
            raise Unplaced("ordering comparisons of text")
        if a.consts is None and b.consts is None:
            raise Unplaced("comparing two text columns")
        col, const = (a, b) if b.consts is not None else (b, a)
        for i in range(n):
            text = const.consts[i % len(const)]  # type: ignore[index]
            ref = col.exprs[i % len(col)]
            if text == "":  # "" is how a missing string reaches onnxruntime
                out.append(_ap("isMissing", ref))
            else:
                out.append(_ap("if", _ap("isMissing", ref), _c(0.0), _ap("equal", ref, _c(text))))
        return _emit(r, out, "equal", "bool", _dims([a, b], n), binary=True)
    fn = _CMP[node.op]
    for i in range(n):
        ea, eb = a.exprs[i % len(a)], b.exprs[i % len(b)]
        misses = [m for m in (_is_missing(a, i), _is_missing(b, i)) if m is not None]
        if any(isinstance(m, Constant) for m in misses):
            out.append(_c(0.0))  # NaN compares false
            continue
        e: Expression = _ap(fn, ea, eb)
        if misses:
            cond = misses[0] if len(misses) == 1 else _ap("or", *misses)
            e = _ap("if", cond, _c(0.0), e)
        out.append(e)
    return _emit(r, out, fn, "bool", _dims([a, b], n), binary=True)


def is_nan(r: Any, node: NodeView, args: list[Any]) -> Cols:
    a = _operand(r, args[0])
    if a.kind != "number" or a.consts is not None:
        raise Unplaced("IsNaN of text or constants")
    exprs: list[Expression] = [_c(0.0) if a.binary else _ap("isMissing", e) for e in a.exprs]
    return _emit(r, exprs, "isnan", "bool", a.dims, binary=True)


def logic(r: Any, node: NodeView, args: list[Any]) -> Cols:
    ops = [_operand(r, x) for x in args]
    if not all(o.binary for o in ops):
        raise Unplaced(f"{node.op} of values that are not booleans")
    n = _broadcast(ops)
    if node.op == "Not":
        exprs: list[Expression] = [_ap("not", e) for e in ops[0].exprs]
    else:
        fn = {"And": "and", "Or": "or", "Xor": "notEqual"}[node.op]
        exprs = [_ap(fn, ops[0].exprs[i % len(ops[0])], ops[1].exprs[i % len(ops[1])]) for i in range(n)]
    return _emit(r, exprs, node.op.lower(), "bool", _dims(ops, n), binary=True)


def where(r: Any, node: NodeView, args: list[Any]) -> Cols:
    c, a, b = (_operand(r, x) for x in args)
    if not c.binary:
        raise Unplaced("Where with a condition that is not boolean")
    if a.kind != b.kind:
        raise Unplaced("Where mixing text and numbers")
    n = _broadcast([c, a, b])
    exprs: list[Expression] = [_ap("if", c.exprs[i % len(c)], a.exprs[i % len(a)], b.exprs[i % len(b)]) for i in range(n)]
    etype = "string" if a.kind == "string" else ("bool" if a.binary and b.binary else "double")
    return _emit(r, exprs, "where", etype, _dims([c, a, b], n), binary=a.binary and b.binary)


def to_bool(r: Any, x: Cols) -> Cols:
    """Cast numbers to bool: nonzero is true, and so is NaN (C++ NaN != 0)."""
    if x.etype in _TEXT:
        raise Unplaced("cast of text to booleans")
    if x.etype == "bool" or x.binary:
        return Cols(x.names, x.dims, "bool", binary=True)
    exprs: list[Expression] = [
        _ap("if", _ap("isMissing", FieldRef(name=n)), _c(1.0), _ap("notEqual", FieldRef(name=n), _c(0.0))) for n in x.names
    ]
    return _emit(r, exprs, "bool", "bool", x.dims, binary=True)


def reduce_columns(r: Any, node: NodeView, x: Cols, axes: list[int] | None) -> Cols:
    """ReduceMax/Min/Sum over the columns of 0/1 (never missing) values, keeping dims."""
    if len(x.dims) != 1 or (axes is not None and [a % 2 for a in axes] != [1]):
        raise Unplaced(f"{node.op} over other axes than the columns")
    if not (x.binary or x.etype == "bool"):
        raise Unplaced(f"{node.op} of values that may be missing")
    fn = {"ReduceMax": "max", "ReduceMin": "min", "ReduceSum": "sum"}[node.op]
    refs: list[Expression] = [FieldRef(name=n) for n in x.names]
    keep = node.int("keepdims", 1)
    col = _emit(r, [_ap(fn, *refs)], fn, "double", (1,), binary=fn != "sum")
    return col if keep else Cols(col.names, (), col.etype, binary=col.binary)


def argmax_columns(r: Any, node: NodeView, x: Cols) -> Cols:
    """Index of the first largest of never-missing columns."""
    if not (x.binary or x.etype == "bool") or len(x.dims) != 1:
        raise Unplaced("ArgMax of columns that may be missing")
    refs = [FieldRef(name=n) for n in x.names]
    m = _ap("max", *refs)
    expr: Expression = _c(float(len(refs) - 1))
    for i in range(len(refs) - 2, -1, -1):
        expr = _ap("if", _ap("equal", refs[i], m), _c(float(i)), expr)
    keep = node.int("keepdims", 1)
    return _emit(r, [expr], "argmax", "int64", (1,) if keep else ())


def gather_table(r: Any, table: np.ndarray, idx: Cols) -> Cols:
    """Gather(constant 1-D table, index column): a lookup from positions to table values."""
    if idx.etype in _TEXT or len(idx.dims) > 1:
        raise Unplaced("gather with text or 3-D indices")
    flat = table.ravel()
    if flat.dtype == object or flat.dtype.kind in "US":
        values: list[Any] = [None if str(v) == "" else (v.decode() if isinstance(v, bytes) else str(v)) for v in flat.tolist()]
        etype = "string"
    elif flat.dtype.kind in "fiub":
        values = [None if np.isnan(float(v)) else float(v) for v in flat.tolist()]
        etype = "double" if flat.dtype.kind == "f" else "int64"
    else:
        raise Unplaced("gather from a table that is neither numbers nor text")
    keys = tuple(float(i) for i in range(len(values)))
    if any(v is None for v in values):  # the IR's Lookup holds no missing value: those keys go to the default
        pairs = [(k, v) for k, v in zip(keys, values) if v is not None]
        keys, values = tuple(k for k, _ in pairs), [v for _, v in pairs]
    return Cols(lookups(r, idx.names, "value", keys, tuple(values), None, None), idx.dims, etype)


def extremum(r: Any, node: NodeView, args: list[Any]) -> Cols:
    """Max/Min of several operands; onnxruntime propagates NaN (the IR's max/min skip missing values)."""
    ops = [_operand(r, x) for x in args]
    if any(o.kind != "number" for o in ops):
        raise Unplaced(f"{node.op} of text")
    n = _broadcast(ops)
    fn = "max" if node.op == "Max" else "min"
    exprs: list[Expression] = []
    for i in range(n):
        e: Expression = _ap(fn, *(o.exprs[i % len(o)] for o in ops))
        misses = [m for o in ops if (m := _is_missing(o, i)) is not None]
        if any(isinstance(m, Constant) for m in misses):
            e = _c(None)
        elif misses:
            e = _ap("if", misses[0] if len(misses) == 1 else _ap("or", *misses), _c(None), e)
        exprs.append(e)
    return _emit(r, exprs, fn, "double", _dims(ops, n), binary=all(o.binary for o in ops))


def _relu(x: Expression) -> Expression:
    return _ap("if", _ap("lessThan", x, _c(0.0)), _c(0.0), x)


_UNARY = {
    "Exp": lambda x: _ap("exp", x),
    "Log": lambda x: _ap("ln", x),
    "Sqrt": lambda x: _ap("sqrt", x),
    "Abs": lambda x: _ap("abs", x),
    "Floor": lambda x: _ap("floor", x),
    "Ceil": lambda x: _ap("ceil", x),
    "Round": lambda x: _ap("rint", x),  # half to even
    "Tanh": lambda x: _ap("tanh", x),
    "Sin": lambda x: _ap("sin", x),
    "Cos": lambda x: _ap("cos", x),
    "Neg": lambda x: _ap("*", x, _c(-1.0)),
    "Reciprocal": lambda x: _ap("/", _c(1.0), x),
    "Relu": _relu,
    "Sigmoid": lambda x: _ap("/", _c(1.0), _ap("+", _c(1.0), _ap("exp", _ap("*", x, _c(-1.0))))),
}


def unary_expression(r: Any, node: NodeView, args: list[Any]) -> Cols:
    make = _UNARY.get(node.op)
    if make is None:
        raise Unplaced(f"{node.op} of input columns")
    a = _operand(r, args[0])
    if a.kind != "number" or a.consts is not None:
        raise Unplaced(f"{node.op} of text or constants")
    return _emit(r, [make(x) for x in a.exprs], node.op.lower(), "double", a.dims)


def normalizer_columns(r: Any, node: NodeView, x: Cols, norm: str) -> Cols:
    """ai.onnx.ml Normalizer on columns: divide each row by its max, L1 or L2 norm (0 -> unchanged)."""
    if len(x.dims) > 1:
        raise Unplaced("Normalizer over a 3-D tensor")
    refs = [FieldRef(name=n) for n in x.names]
    if norm == "MAX":
        total: Expression = refs[0]
        for ref in refs[1:]:  # max that propagates NaN (the IR's max skips missing values)
            total = _ap("if", _ap("greaterThan", ref, total), ref, total)
    elif norm == "L1":
        total = _ap("abs", refs[0])
        for ref in refs[1:]:
            total = _ap("+", total, _ap("abs", ref))
    else:
        total = _ap("*", refs[0], refs[0])
        for ref in refs[1:]:
            total = _ap("+", total, _ap("*", ref, ref))
        total = _ap("sqrt", total)
    tname = r.new_name(f"{node.op.lower()}_{norm.lower()}")
    r.emit(Derive(output=tname, expression=total))
    t = FieldRef(name=tname)
    exprs: list[Expression] = [_ap("if", _ap("equal", t, _c(0.0)), ref, _ap("/", ref, t)) for ref in refs]
    return _emit(r, exprs, "normalized", "float", x.dims)
