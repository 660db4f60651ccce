"""Element-wise arithmetic on input columns -> Derive steps (expressions over named columns).

ONNX arithmetic propagates NaN like the IR's missing values, so ``Add``/``Sub``/``Mul``/``Div`` and
the unary functions map one to one onto IR expressions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...ir import Apply, Constant, Derive, FieldRef
from ...ir.transforms import Expression
from ._graph import NodeView
from ._symbols import Cols, Const, PendingAffine, Unplaced

__all__ = ["binary_expression", "normalizer_columns", "unary_expression"]

_BINARY = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Pow": "pow"}


def _operands(r: Any, sym: Any) -> tuple[list[Expression], str]:
    if isinstance(sym, Const):
        v = np.asarray(sym.value)
        if v.dtype.kind not in "fiub" or v.size != 1:
            raise Unplaced("arithmetic with a constant that is not one number")
        return [Constant(value=float(v.ravel()[0]))], "double"
    c = r.numeric_cols(sym) if isinstance(sym, (Cols, PendingAffine)) else None
    if c is None:
        raise Unplaced("arithmetic on something other than columns")
    if len(c.dims) > 1:
        raise Unplaced("arithmetic on a 3-D tensor")
    return [FieldRef(name=n) for n in c.names], c.etype


def _emit(r: Any, exprs: list[Expression], base: str, etype: str, dims: tuple[int, ...]) -> Cols:
    names = []
    for e in exprs:
        out = r.new_name(base)
        r.emit(Derive(output=out, expression=e))
        names.append(out)
    return Cols(tuple(names), dims if len(names) > 1 or dims == () else (1,), etype)


def binary_expression(r: Any, node: NodeView, args: list[Any]) -> Cols:
    fn = _BINARY.get(node.op)
    if fn is None:
        raise Unplaced(f"{node.op} of columns")
    a, ea = _operands(r, args[0])
    b, eb = _operands(r, args[1])
    if len(a) != len(b) and 1 not in (len(a), len(b)):
        raise Unplaced("arithmetic on column groups of different widths")
    n = max(len(a), len(b))
    exprs: list[Expression] = [Apply(function=fn, args=(a[i % len(a)], b[i % len(b)])) for i in range(n)]
    dims = (n,) if n > 1 else (args[0].dims if isinstance(args[0], Cols) else (1,))
    etype = "double" if "double" in (ea, eb) else ea
    return _emit(r, exprs, f"{node.op.lower()}", etype, dims)


def _relu(x: Expression) -> Expression:
    return Apply(function="if", args=(Apply(function="lessThan", args=(x, Constant(value=0.0))), Constant(value=0.0), x))


_UNARY = {
    "Exp": lambda x: Apply(function="exp", args=(x,)),
    "Log": lambda x: Apply(function="ln", args=(x,)),
    "Sqrt": lambda x: Apply(function="sqrt", args=(x,)),
    "Abs": lambda x: Apply(function="abs", args=(x,)),
    "Floor": lambda x: Apply(function="floor", args=(x,)),
    "Ceil": lambda x: Apply(function="ceil", args=(x,)),
    "Tanh": lambda x: Apply(function="tanh", args=(x,)),
    "Sin": lambda x: Apply(function="sin", args=(x,)),
    "Cos": lambda x: Apply(function="cos", args=(x,)),
    "Neg": lambda x: Apply(function="*", args=(x, Constant(value=-1.0))),
    "Reciprocal": lambda x: Apply(function="/", args=(Constant(value=1.0), x)),
    "Relu": _relu,
    "Sigmoid": lambda x: Apply(
        function="/",
        args=(
            Constant(value=1.0),
            Apply(
                function="+", args=(Constant(value=1.0), Apply(function="exp", args=(Apply(function="*", args=(x, Constant(value=-1.0))),)))
            ),
        ),
    ),
}


def unary_expression(r: Any, node: NodeView, args: list[Any]) -> Cols:
    make = _UNARY.get(node.op)
    if make is None:
        raise Unplaced(f"{node.op} of input columns")
    xs, etype = _operands(r, args[0])
    c = r.cols(args[0])
    return _emit(r, [make(x) for x in xs], node.op.lower(), etype, c.dims)


def normalizer_columns(r: Any, node: NodeView, x: Cols, norm: str) -> Cols:
    """ai.onnx.ml Normalizer on columns: divide each row by its max, L1 or L2 norm (0 -> unchanged)."""
    if len(x.dims) > 1:
        raise Unplaced("Normalizer over a 3-D tensor")
    refs = [FieldRef(name=n) for n in x.names]
    if norm == "MAX":
        total: Expression = refs[0]
        for ref in refs[1:]:  # max that propagates NaN (the IR's max skips missing values)
            total = Apply(function="if", args=(Apply(function="greaterThan", args=(ref, total)), ref, total))
    elif norm == "L1":
        total = Apply(function="abs", args=(refs[0],))
        for ref in refs[1:]:
            total = Apply(function="+", args=(total, Apply(function="abs", args=(ref,))))
    else:
        total = Apply(function="*", args=(refs[0], refs[0]))
        for ref in refs[1:]:
            total = Apply(function="+", args=(total, Apply(function="*", args=(ref, ref))))
        total = Apply(function="sqrt", args=(total,))
    tname = r.new_name(f"{node.op.lower()}_{norm.lower()}")
    r.emit(Derive(output=tname, expression=total))
    t = FieldRef(name=tname)
    exprs: list[Expression] = [
        Apply(function="if", args=(Apply(function="equal", args=(t, Constant(value=0.0))), ref, Apply(function="/", args=(ref, t))))
        for ref in refs
    ]
    return _emit(r, exprs, "normalized", "float", x.dims)
