"""PMML expressions (DerivedField contents) -> IR steps.

``FieldRef`` is an alias (no step); ``NormContinuous`` with two points is an :class:`Affine`,
with more points a :class:`Derive` of nested ``if``; ``NormDiscrete`` a one-category
:class:`OneHot`; ``MapValues`` a :class:`Lookup`; ``Discretize`` and ``Apply`` a :class:`Derive`.
``mapMissingTo`` becomes an :class:`Impute` (or an ``if(isMissing(...))``).

>>> from portamodel.formats.pmml._xml import parse
>>> from portamodel.formats.pmml._scope import Builder, Scope
>>> doc = parse(b'<PMML><DerivedField name="y" dataType="double"><Apply function="*">'
...             b'<FieldRef field="x"/><Constant>2</Constant></Apply></DerivedField></PMML>')
>>> b = Builder(); s = Scope(b, None); s.extra["x"] = "x"; b.kinds["x"] = "number"; s.emit_derived = emit_derived
>>> s.defs["y"] = doc.children[0]
>>> s.col("y"), type(b.steps[0]).__name__
('y', 'Derive')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...errors import FormatError, UnsupportedFeatureError
from ...ir import FUNCTIONS, Affine, Apply, Constant, Derive, FieldRef, Impute, Lookup, OneHot
from ...ir.transforms import Expression
from ._scope import Scope
from ._xml import Elem

__all__ = ["EXPRESSION_TAGS", "emit_derived", "emit_expression", "typed_value"]

EXPRESSION_TAGS = frozenset(
    {"Constant", "FieldRef", "NormContinuous", "NormDiscrete", "Discretize", "MapValues", "TextIndex", "Apply", "Aggregate", "Lag"}
)
_NUMERIC_TYPES = ("double", "float", "integer")


def typed_value(text: str | None, data_type: str | None, where: str) -> Any:
    """A PMML value string as a Python value of ``data_type`` (None for a missing value)."""
    if text is None:
        return None
    if data_type in _NUMERIC_TYPES:
        try:
            v = float(text)
        except ValueError:
            raise FormatError(f"{text!r} is not a number ({data_type})", location=where) from None
        if data_type == "integer" and v.is_integer():
            return int(v)
        return v
    if data_type == "boolean":
        low = text.strip().lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise FormatError(f"{text!r} is not a boolean", location=where)
    return text


def _first_expression(el: Elem) -> Elem:
    for c in el.children:
        if c.tag in EXPRESSION_TAGS:
            return c
    raise FormatError(f"<{el.tag}> holds no expression", location=el.xpath)


def emit_derived(name: str, el: Elem, scope: Scope) -> str:
    """Column holding DerivedField ``el`` (named ``name``)."""
    dtype = el.get("dataType")
    col = emit_expression(_first_expression(el), scope, name, dtype)
    if dtype == "float":
        scope.b.floats.add(col)
    return col


def _kind(dtype: str | None) -> str:
    return "string" if dtype == "string" else "number"


def _derive_dtype(dtype: str | None) -> Any:
    return "string" if dtype == "string" else "boolean" if dtype == "boolean" else "double"


def _add_derive(scope: Scope, name: str, expr: Expression, dtype: str | None) -> str:
    out = scope.b.fresh(name)
    scope.b.add(Derive(output=out, expression=expr, dtype=_derive_dtype(dtype)), _kind(dtype))
    return out


def _map_missing(scope: Scope, col: str, el: Elem, name: str, dtype: str | None) -> str:
    """Apply ``mapMissingTo`` of ``el`` to column ``col``."""
    text = el.get("mapMissingTo")
    if text is None:
        return col
    kind = scope.b.kinds.get(col, "number")
    value = typed_value(text, dtype or ("string" if kind == "string" else "double"), el.xpath)
    if isinstance(value, bool):
        value = float(value)
    out = scope.b.fresh(name)
    scope.b.add(Impute(inputs=(col,), outputs=(out,), values=(value,)), "string" if isinstance(value, str) else kind)
    return out


def emit_expression(el: Elem, scope: Scope, name: str, dtype: str | None) -> str:
    """Column holding the value of expression ``el`` (a new step unless it is a plain FieldRef)."""
    tag = el.tag
    b = scope.b
    if tag == "FieldRef":
        col = scope.col(_attr(el, "field"), el.xpath)
        return _map_missing(scope, col, el, name, dtype)
    if tag in ("Constant", "Apply"):
        return _add_derive(scope, name, to_ir(el, scope, dtype), dtype)
    if tag == "NormContinuous":
        return _norm_continuous(el, scope, name)
    if tag == "NormDiscrete":
        col = scope.col(_attr(el, "field"), el.xpath)
        value = _key(_attr(el, "value"), b.kinds.get(col, "number"), el.xpath)
        mm = el.get("mapMissingTo")
        mm_value = None if mm is None else typed_value(mm, "double", el.xpath)
        if mm_value is None or mm_value == 0.0:
            out = b.fresh(name)
            missing = "propagate" if mm_value is None else "zeros"
            b.add(OneHot(input=col, categories=(value,), outputs=(out,), missing=missing), "number")  # type: ignore[arg-type]
            return out
        ref = FieldRef(name=col)
        hit = Apply(
            function="if", args=(Apply(function="equal", args=(ref, Constant(value=value))), Constant(value=1.0), Constant(value=0.0))
        )
        expr = Apply(function="if", args=(Apply(function="isMissing", args=(ref,)), Constant(value=mm_value), hit))
        return _add_derive(scope, name, expr, "double")
    if tag == "Discretize":
        return _add_derive(scope, name, _discretize(el, scope), el.get("dataType") or dtype)
    if tag == "MapValues":
        return _map_values(el, scope, name, dtype)
    raise UnsupportedFeatureError(f"<{tag}> expressions are not supported", location=el.xpath)


def _attr(el: Elem, name: str) -> str:
    v = el.get(name)
    if v is None:
        raise FormatError(f"<{el.tag}> needs a {name!r} attribute", location=el.xpath)
    return v


def _key(text: str, kind: str, where: str) -> Any:
    if kind == "string":
        return text
    try:
        return float(text)
    except ValueError:
        return text  # never matches a numeric column


# -- Apply / Constant / FieldRef as an expression tree -------------------------------------------

_FUNCTION_ALIASES = {"x-rint": "rint", "x-expm1": "expm1", "x-ln1p": "ln1p", "x-tanh": "tanh", "x-sin": "sin", "x-cos": "cos"}


def to_ir(el: Elem, scope: Scope, dtype: str | None = None) -> Expression:
    """An IR expression for PMML expression ``el`` (sub-expressions that are not Apply /
    Constant / FieldRef become columns of their own)."""
    tag = el.tag
    if tag == "Constant":
        if el.get("missing") == "true":
            return Constant(value=None)
        cdt = el.get("dataType")
        text = el.text.strip() if cdt != "string" else el.text
        if cdt is None:
            try:
                return Constant(value=float(text))
            except ValueError:
                return Constant(value=text)
        v = typed_value(text, cdt, el.xpath)
        return Constant(value=float(v) if isinstance(v, bool) else v)
    if tag == "FieldRef":
        col = scope.col(_attr(el, "field"), el.xpath)
        if el.get("mapMissingTo") is not None:
            col = _map_missing(scope, col, el, col, None)
        return FieldRef(name=col)
    if tag == "Apply":
        fn = _attr(el, "function")
        fn = _FUNCTION_ALIASES.get(fn, fn)
        if fn not in FUNCTIONS:
            raise UnsupportedFeatureError(
                f"function {fn!r} is not supported (supported: {', '.join(sorted(FUNCTIONS))})", location=el.xpath
            )
        if el.get("invalidValueTreatment", "returnInvalid") not in ("returnInvalid", "asMissing"):
            raise UnsupportedFeatureError("Apply invalidValueTreatment other than returnInvalid/asMissing", location=el.xpath)
        args = tuple(to_ir(c, scope) for c in el.children if c.tag in EXPRESSION_TAGS)
        lo, hi = FUNCTIONS[fn]
        if len(args) < lo or (hi is not None and len(args) > hi):
            raise FormatError(f"function {fn!r} takes {lo}..{hi or 'n'} arguments, got {len(args)}", location=el.xpath)
        expr: Expression = Apply(function=fn, args=args)
        if fn in ("isIn", "isNotIn"):  # JPMML: a missing value is simply not in the set
            expr = Apply(function="if", args=(Apply(function="isMissing", args=(args[0],)), Constant(value=float(fn == "isNotIn")), expr))
        mm = el.get("mapMissingTo")
        if mm is not None:
            value = typed_value(mm, dtype or "double", el.xpath)
            expr = Apply(function="if", args=(Apply(function="isMissing", args=(expr,)), Constant(value=value), expr))
        dv = el.get("defaultValue")
        if dv is not None:
            raise UnsupportedFeatureError("Apply defaultValue is not supported", location=el.xpath)
        return expr
    # anything else becomes a column of its own
    col = emit_expression(el, scope, f"{tag}({el.get('field', '')})", None)
    return FieldRef(name=col)


# -- NormContinuous --------------------------------------------------------------------------------


def _norm_continuous(el: Elem, scope: Scope, name: str) -> str:
    b = scope.b
    field = _attr(el, "field")
    col = scope.col(field, el.xpath)
    points = [(p.num("orig"), p.num("norm")) for p in el.findall("LinearNorm")]
    if len(points) < 2:
        raise FormatError("NormContinuous needs at least two LinearNorm points", location=el.xpath)
    if any(points[i][0] >= points[i + 1][0] for i in range(len(points) - 1)):
        raise FormatError("LinearNorm orig values must increase", location=el.xpath)
    outliers = el.get("outliers", "asIs")
    if outliers not in ("asIs", "asMissingValues", "asExtremeValues"):
        raise FormatError(f"unknown outliers treatment {outliers!r}", location=el.xpath)
    mm = el.get("mapMissingTo")
    if len(points) == 2 and outliers == "asIs" and mm is None:
        (o1, n1), (o2, n2) = points
        out = b.fresh(name)
        # JPMML: n1 + (x - o1) / (o2 - o1) * (n2 - n1)  ==  (x - o1) / ((o2 - o1) / (n2 - n1)) + n1 up to rounding
        if n2 != n1:
            b.add(
                Affine(
                    inputs=(col,),
                    outputs=(out,),
                    offset=np.array([o1]),
                    scale=np.array([(o2 - o1) / (n2 - n1)]),
                    shift=np.array([n1]),
                    divide=True,
                ),
                "number",
            )
        else:
            b.add(Affine(inputs=(col,), outputs=(out,), offset=np.array([o1]), scale=np.array([0.0]), shift=np.array([n1])), "number")
        return out
    x = FieldRef(name=col)

    def segment(i: int) -> Expression:
        (o1, n1), (o2, n2) = points[i], points[i + 1]
        # n1 + (x - o1) * (n2 - n1) / (o2 - o1)
        return Apply(
            function="+",
            args=(
                Constant(value=n1),
                Apply(
                    function="/",
                    args=(
                        Apply(function="*", args=(Apply(function="-", args=(x, Constant(value=o1))), Constant(value=n2 - n1))),
                        Constant(value=o2 - o1),
                    ),
                ),
            ),
        )

    k = len(points)
    expr: Expression = segment(k - 2)
    for i in range(k - 3, -1, -1):
        expr = Apply(function="if", args=(Apply(function="lessThan", args=(x, Constant(value=points[i + 1][0]))), segment(i), expr))
    lo, hi = points[0], points[-1]
    if outliers == "asMissingValues":
        outside = Apply(
            function="or",
            args=(
                Apply(function="lessThan", args=(x, Constant(value=lo[0]))),
                Apply(function="greaterThan", args=(x, Constant(value=hi[0]))),
            ),
        )
        expr = Apply(function="if", args=(outside, Constant(value=None), expr))
    elif outliers == "asExtremeValues":
        expr = Apply(
            function="if",
            args=(
                Apply(function="lessThan", args=(x, Constant(value=lo[0]))),
                Constant(value=lo[1]),
                Apply(function="if", args=(Apply(function="greaterThan", args=(x, Constant(value=hi[0]))), Constant(value=hi[1]), expr)),
            ),
        )
    if mm is not None:
        expr = Apply(
            function="if", args=(Apply(function="isMissing", args=(x,)), Constant(value=typed_value(mm, "double", el.xpath)), expr)
        )
    return _add_derive(scope, name, expr, "double")


# -- Discretize / MapValues ------------------------------------------------------------------------


def _discretize(el: Elem, scope: Scope) -> Expression:
    col = scope.col(_attr(el, "field"), el.xpath)
    x = FieldRef(name=col)
    dtype = el.get("dataType")
    default = typed_value(el.get("defaultValue"), dtype or "string", el.xpath)
    expr: Expression = Constant(value=default)
    bins = el.findall("DiscretizeBin")
    for binel in reversed(bins):
        iv = binel.find("Interval")
        if iv is None:
            raise FormatError("DiscretizeBin without an Interval", location=binel.xpath)
        closure = iv.get("closure", "closedClosed")
        if closure not in ("openClosed", "openOpen", "closedOpen", "closedClosed"):
            raise FormatError(f"unknown Interval closure {closure!r}", location=iv.xpath)
        tests: list[Expression] = []
        left = iv.num("leftMargin") if iv.get("leftMargin") is not None else None
        right = iv.num("rightMargin") if iv.get("rightMargin") is not None else None
        if left is not None:
            fn = "greaterOrEqual" if closure.startswith("closed") else "greaterThan"
            tests.append(Apply(function=fn, args=(x, Constant(value=left))))
        if right is not None:
            fn = "lessOrEqual" if closure.endswith("Closed") else "lessThan"
            tests.append(Apply(function=fn, args=(x, Constant(value=right))))
        cond: Expression = Constant(value=1.0) if not tests else tests[0] if len(tests) == 1 else Apply(function="and", args=tuple(tests))
        value = typed_value(_attr(binel, "binValue"), dtype or "string", binel.xpath)
        expr = Apply(function="if", args=(cond, Constant(value=value), expr))
    mm = typed_value(el.get("mapMissingTo"), dtype or "string", el.xpath)
    return Apply(function="if", args=(Apply(function="isMissing", args=(x,)), Constant(value=mm), expr))


def _map_values(el: Elem, scope: Scope, name: str, dtype: str | None) -> str:
    b = scope.b
    pairs = el.findall("FieldColumnPair")
    if len(pairs) != 1:
        raise UnsupportedFeatureError(f"MapValues with {len(pairs)} FieldColumnPairs (only one is supported)", location=el.xpath)
    col = scope.col(_attr(pairs[0], "field"), el.xpath)
    in_column = _local(_attr(pairs[0], "column").rpartition(":")[2])  # "data:input" -> "input"
    out_column = _local(_attr(el, "outputColumn").rpartition(":")[2])
    table = el.find("InlineTable")
    if table is None:
        raise UnsupportedFeatureError("MapValues without an InlineTable (TableLocator) is not supported", location=el.xpath)
    out_type = el.get("dataType") or dtype or "string"
    in_kind = b.kinds.get(col, "number")
    keys: list[Any] = []
    values: list[Any] = []
    seen: set[Any] = set()
    for row in table.findall("row"):
        cells = {_local(c.tag): c.text for c in row.children}
        if in_column not in cells or out_column not in cells:
            raise FormatError(f"InlineTable row lacks column {in_column!r} or {out_column!r}", location=row.xpath)
        k = _key(cells[in_column], in_kind, row.xpath)
        if k in seen:
            continue  # first match wins
        seen.add(k)
        keys.append(k)
        v = typed_value(cells[out_column], out_type, row.xpath)
        values.append(float(v) if isinstance(v, bool) else v)
    default = typed_value(el.get("defaultValue"), out_type, el.xpath)
    missing = typed_value(el.get("mapMissingTo"), out_type, el.xpath)
    out = b.fresh(name)
    kind = "string" if out_type == "string" else "number"
    b.add(
        Lookup(
            input=col,
            output=out,
            keys=tuple(keys),
            values=tuple(values),
            default=float(default) if isinstance(default, bool) else default,
            missing=float(missing) if isinstance(missing, bool) else missing,
        ),
        kind,
    )
    return out


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def is_nan_token(text: str) -> bool:
    try:
        return math.isnan(float(text))
    except ValueError:
        return False


def float32(x: float) -> float:
    return float(np.float32(x))
