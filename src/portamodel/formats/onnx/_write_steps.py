"""Model inputs and preprocessing steps as ONNX ops.

Every IR column becomes a ``[N, 1]`` tensor: double for numbers and booleans (missing = NaN),
string for text (missing = ``""``, the only way to pass a missing string to onnxruntime). Steps
and Derive expressions follow :mod:`portamodel.evaluate._steps` operation by operation, so the
graph computes what portamodel computes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ...diagnostics import OnLoss, report_loss
from ...errors import UnsupportedFeatureError
from ...evaluate._inputs import _text
from ...evaluate._steps import _key_in_domain, expression_kind
from ...ir import Affine, Apply, Constant, Derive, Field, FieldRef, Impute, Lookup, OneHot, Step
from ...ir.transforms import Expression
from ._builder import GraphBuilder
from ._write_math import expm1, log1p

__all__ = ["ColumnWriter"]

F64 = np.float64
ML = "ai.onnx.ml"


class ColumnWriter:
    """Maps IR column names to ONNX tensors and writes steps."""

    def __init__(self, b: GraphBuilder, on_loss: OnLoss) -> None:
        self.b = b
        self.on_loss = on_loss
        self.cols: dict[str, tuple[str, str]] = {}  # IR name -> (tensor, "number" | "string")
        self.inputs: list[Any] = []
        self.input_fields: list[tuple[str, list[Field]]] = []
        self._rows: str | None = None
        self._first_input: str | None = None
        self.needs_opset19 = False

    def loss(self, message: str, where: str) -> None:
        report_loss(message, on_loss=self.on_loss, location=where)

    def c(self, v: Any, dtype: Any = F64) -> str:
        return self.b.const(np.array(v, dtype=dtype), "k")

    # -- inputs -----------------------------------------------------------------------------------
    def add_inputs(self, fields: tuple[Field, ...]) -> None:
        onnx = self.b.onnx
        groups: dict[str, list[Field]] = {"double": [], "float": []}
        for f in fields:
            if f.is_numeric:
                groups["float" if f.dtype == "float" else "double"].append(f)
        both = bool(groups["double"]) and bool(groups["float"])
        for kind, members in groups.items():
            if not members:
                continue
            name = self.b.fresh("X" if kind == "double" or not both else "X_float32")
            etype = onnx.TensorProto.DOUBLE if kind == "double" else onnx.TensorProto.FLOAT
            self.inputs.append(onnx.helper.make_tensor_value_info(name, etype, [None, len(members)]))
            self.input_fields.append((name, members))
            self._first_input = self._first_input or name
            x = name if kind == "double" else self.b.op("Cast", [name], "X_double", to=onnx.TensorProto.DOUBLE)
            if len(members) == 1:
                parts = [self.b.op("Identity", [x], members[0].name)]
            else:
                parts = self.b.op(
                    "Split", [x, self.b.const(np.ones(len(members), dtype=np.int64), "ones")], "col", n_out=len(members), axis=1
                )
            for f, t in zip(members, parts):
                self.cols[f.name] = (t, "number")
        for f in fields:
            if f.is_numeric:
                continue
            name = self.b.fresh(f.name)
            self.inputs.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.STRING, [None, 1]))
            self.input_fields.append((name, [f]))
            self._first_input = self._first_input or name
            self.cols[f.name] = (name, "string")
        for f in fields:
            if f.values and f.optype != "continuous":
                self._invalid_policy(f)

    def _invalid_policy(self, f: Field) -> None:
        where = f"input {f.name!r}"
        if f.invalid == "as_is":
            return
        if f.invalid == "error":
            self.loss("ONNX graphs cannot raise on a value outside the field's list; such values pass through", where)
            return
        t, kind = self.cols[f.name]
        if kind == "number":
            allowed = np.array([float(v) for v in f.values], dtype=F64)
            ok = self.b.op("Or", [self.isin_numbers(t, allowed), self.b.op("IsNaN", [t])])
            self.cols[f.name] = (self.b.op("Where", [ok, t, self.c(math.nan)], f"{f.name}_valid"), kind)
        else:
            keys = [v if isinstance(v, str) else _text(v) for v in f.values]
            code = self.str_code(t, keys, [1] * len(keys), default=0, missing=1, where=where)
            ok = self.b.op("Cast", [code], to=self.b.onnx.TensorProto.BOOL)
            self.cols[f.name] = (self.b.op("Where", [ok, t, self.b.const(np.array("", dtype=object))], f"{f.name}_valid"), kind)

    # -- building blocks --------------------------------------------------------------------------
    def rows(self) -> str:
        """A [N, 1] double tensor of zeros (to broadcast constants to one value per row)."""
        if self._rows is None:
            assert self._first_input is not None
            shape = self.b.op("Shape", [self._first_input])
            n = self.b.op("Slice", [shape, self.b.const(np.array([0], dtype=np.int64)), self.b.const(np.array([1], dtype=np.int64))])
            full = self.b.op("Concat", [n, self.b.const(np.array([1], dtype=np.int64))], axis=0)
            self._rows = self.b.op("ConstantOfShape", [full], "zeros", value=np.array([0.0], dtype=F64))
        return self._rows

    def isin_numbers(self, x: str, values: np.ndarray) -> str:
        """Bool [N, 1]: x equals one of ``values`` (NaN equals nothing)."""
        if values.size == 0:
            return self.b.op("Not", [self.b.op("IsNaN", [self.b.op("Mul", [x, self.c(math.nan)])])])
        eq = self.b.op("Equal", [x, self.b.const(values.astype(F64), "values")])
        anyhit = self.b.op("ReduceMax", [self.b.op("Cast", [eq], to=self.b.onnx.TensorProto.DOUBLE)], axes=[1], keepdims=1)
        return self.b.op("Greater", [anyhit, self.c(0.5)])

    def str_code(self, x: str, keys: list[str], codes: list[int], *, default: int, missing: int, where: str) -> str:
        """Int64 [N, 1]: ``codes[i]`` where x == keys[i] (first match), ``missing`` for "", else ``default``."""
        table: dict[str, int] = {}
        for k, code in zip(keys, codes):
            if k == "" and "" not in table:
                self.loss("the category '' cannot be told apart from a missing string in ONNX (both are '')", where)
            table.setdefault(k, code)
        table.setdefault("", missing)
        return self.b.op(
            "LabelEncoder",
            [x],
            "code",
            domain=ML,
            keys_strings=list(table),
            values_int64s=list(table.values()),
            default_int64=int(default),
        )

    # -- steps ------------------------------------------------------------------------------------
    def step(self, step: Step, index: int) -> None:
        where = f"Model.steps[{index}] ({type(step).__name__})"
        if isinstance(step, Affine):
            self._affine(step)
        elif isinstance(step, Impute):
            self._impute(step, where)
        elif isinstance(step, OneHot):
            self._onehot(step, where)
        elif isinstance(step, Lookup):
            self._lookup(step, where)
        elif isinstance(step, Derive):
            self._derive(step, where)
        else:  # pragma: no cover - the IR refuses other steps
            raise UnsupportedFeatureError(f"unknown step {type(step).__name__}", location=where)

    def number(self, name: str, where: str) -> str:
        t, kind = self.cols[name]
        if kind != "number":
            raise UnsupportedFeatureError(f"column {name!r} holds strings where numbers are needed", location=where)
        return t

    def matrix(self, names: tuple[str, ...], where: str, hint: str = "features") -> str:
        """Concatenate numeric columns into a [N, len(names)] double tensor."""
        ts = [self.number(n, where) for n in names]
        return ts[0] if len(ts) == 1 else self.b.op("Concat", ts, hint, axis=1)

    def split(self, x: str, names: tuple[str, ...], kind: str = "number") -> None:
        if len(names) == 1:
            self.cols[names[0]] = (self.b.op("Identity", [x], names[0]), kind)
            return
        parts = self.b.op("Split", [x, self.b.const(np.ones(len(names), dtype=np.int64), "ones")], "col", n_out=len(names), axis=1)
        for n, t in zip(names, parts):
            self.cols[n] = (t, kind)

    def _affine(self, s: Affine) -> None:
        x = self.matrix(s.inputs, "Affine", "affine_in")
        assert s.shift is not None
        if np.any(s.offset != 0):
            x = self.b.op("Sub", [x, self.b.const(s.offset, "offset")])
        if s.divide:
            x = self.b.op("Div", [x, self.b.const(s.scale, "scale")])
        elif np.any(s.scale != 1):
            x = self.b.op("Mul", [x, self.b.const(s.scale, "scale")])
        if np.any(s.shift != 0):
            x = self.b.op("Add", [x, self.b.const(s.shift, "shift")])
        self.split(x, s.outputs)

    def _impute(self, s: Impute, where: str) -> None:
        for i, o, v in zip(s.inputs, s.outputs, s.values):
            t, kind = self.cols[i]
            if kind == "number" and not isinstance(v, str):
                out = self.b.op("Where", [self.b.op("IsNaN", [t]), self.c(float(v)), t], o)
                self.cols[o] = (out, "number")
            elif kind == "string":
                text = v if isinstance(v, str) else _text(v)
                empty = self.b.op("Cast", [self.str_code(t, [], [], default=0, missing=1, where=where)], to=self.b.onnx.TensorProto.BOOL)
                self.cols[o] = (self.b.op("Where", [empty, self.b.const(np.array(text, dtype=object)), t], o), "string")
            else:
                raise UnsupportedFeatureError("imputing text into a numeric column (numbers would become text)", location=where)

    def _codes(self, name: str, keys: list[Any], where: str) -> tuple[str, str]:
        """(code tensor, kind): the index of each row's value in ``keys``; -1 unknown, -2 missing.

        For numeric columns this is a [N, K] bool matrix of matches instead (kind "matrix").
        """
        t, kind = self.cols[name]
        numeric = kind == "number"
        dom = [_key_in_domain(k, numeric) for k in keys]
        if numeric:
            vals = np.array([math.nan if d is None else d for d in dom], dtype=F64)
            seen: set[float] = set()
            for j, d in enumerate(dom):  # a repeated key only matches at its first position
                if d is not None and d in seen:
                    vals[j] = math.nan
                elif d is not None:
                    seen.add(d)
            return self.b.op("Equal", [t, self.b.const(vals, "keys")]), "matrix"
        present = [(d, j) for j, d in enumerate(dom) if d is not None]
        code = self.str_code(t, [d for d, _ in present], [j for _, j in present], default=-1, missing=-2, where=where)
        return code, "code"

    def _onehot(self, s: OneHot, where: str) -> None:
        if s.unknown == "error":
            self.loss("ONNX graphs cannot raise on an unknown category; it gives all zeros", where)
        codes, kind = self._codes(s.input, list(s.categories), where)
        K = len(s.categories)
        hits = codes if kind == "matrix" else self.b.op("Equal", [codes, self.b.const(np.arange(K, dtype=np.int64), "positions")])
        out = self.b.op("Cast", [hits], "onehot", to=self.b.onnx.TensorProto.DOUBLE)
        if s.missing == "propagate":
            t, col_kind = self.cols[s.input]
            if col_kind == "number":
                miss = self.b.op("IsNaN", [t])
            else:
                miss = self.b.op("Equal", [codes, self.b.const(np.array(-2, dtype=np.int64))])
            out = self.b.op("Where", [miss, self.c(math.nan), out])
        self.split(out, s.outputs)

    def _lookup(self, s: Lookup, where: str) -> None:
        if s.unknown == "error":
            self.loss("ONNX graphs cannot raise on a value missing from the lookup table; it gives the default", where)
        outs = [v for v in (*s.values, s.default, s.missing) if v is not None]
        numeric_out = not any(isinstance(v, str) for v in outs)
        K = len(s.keys)
        if numeric_out:
            table = np.array([float(v) for v in s.values] + [math.nan, math.nan], dtype=F64)
            table[K] = math.nan if s.default is None else float(s.default)  # type: ignore[arg-type]
            table[K + 1] = math.nan if s.missing is None else float(s.missing)  # type: ignore[arg-type]
        else:
            table = np.empty(K + 2, dtype=object)
            table[:K] = [v if isinstance(v, str) else _text(v) for v in s.values]
            table[K] = "" if s.default is None else (s.default if isinstance(s.default, str) else _text(s.default))
            table[K + 1] = "" if s.missing is None else (s.missing if isinstance(s.missing, str) else _text(s.missing))
        codes, kind = self._codes(s.input, list(s.keys), where)
        if kind == "matrix":
            t, _ = self.cols[s.input]
            as_int = self.b.op("Cast", [codes], to=self.b.onnx.TensorProto.INT32)
            first = self.b.op("ArgMax", [as_int], axis=1, keepdims=1)
            anyhit = self.b.op("ReduceMax", [as_int], axes=[1], keepdims=1)
            idx = self.b.op(
                "Where",
                [
                    self.b.op("Greater", [anyhit, self.b.const(np.array(0, dtype=np.int32))]),
                    first,
                    self.b.const(np.array(K, dtype=np.int64)),
                ],
            )
            idx = self.b.op("Where", [self.b.op("IsNaN", [t]), self.b.const(np.array(K + 1, dtype=np.int64)), idx])
        else:
            neg = self.b.op("Less", [codes, self.b.const(np.array(0, dtype=np.int64))])
            alt = self.b.op("Sub", [self.b.const(np.array(K - 1, dtype=np.int64)), codes])  # -1 -> K, -2 -> K + 1
            idx = self.b.op("Where", [neg, alt, codes])
        value = self.b.op("Gather", [self.b.const(table, "table"), idx], s.output, axis=0)
        self.cols[s.output] = (value, "number" if numeric_out else "string")

    # -- Derive -----------------------------------------------------------------------------------
    def _derive(self, s: Derive, where: str) -> None:
        kinds = {n: k for n, (_, k) in self.cols.items()}
        kind = expression_kind(s.expression, kinds)
        value, vkind = ExprWriter(self, where).compile(s.expression)
        if s.dtype == "string":
            if vkind == "number" and kind != "any":
                raise UnsupportedFeatureError(
                    "a derived text column computed from numbers (number formatting differs in ONNX)", location=where
                )
            if vkind != "string":
                value = self.b.op("Expand", [self.b.const(np.array([[""]], dtype=object)), self.b.op("Shape", [self.rows()])])
            out = self.full(value, "string")
            self.cols[s.output] = (self.b.op("Identity", [out], s.output), "string")
            return
        if vkind == "string":
            raise UnsupportedFeatureError("a numeric or boolean column derived from text", location=where)
        if s.dtype == "boolean":
            nz = self.b.op("Cast", [self.b.op("Not", [self.b.op("Equal", [value, self.c(0.0)])])], to=self.b.onnx.TensorProto.DOUBLE)
            value = self.b.op("Where", [self.b.op("IsNaN", [value]), self.c(math.nan), nz])
        out = self.full(value, "number")
        self.cols[s.output] = (self.b.op("Identity", [out], s.output), "number")

    def full(self, t: str, kind: str) -> str:
        """Broadcast a (possibly scalar) tensor to [N, 1]."""
        if kind == "string":
            return self.b.op("Expand", [t, self.b.op("Shape", [self.rows()])])
        return self.b.op("Add", [self.rows(), t])


class ExprWriter:
    """Compile one Derive expression; values are (tensor, kind) with kind "number" or "string"."""

    def __init__(self, w: ColumnWriter, where: str) -> None:
        self.w, self.b, self.where = w, w.b, where

    def fail(self, what: str) -> UnsupportedFeatureError:
        return UnsupportedFeatureError(what, location=self.where)

    def c(self, v: float) -> str:
        return self.w.c(v)

    def compile(self, e: Expression) -> tuple[str, str]:
        if isinstance(e, Constant):
            v = e.value
            if isinstance(v, str):
                if v == "":
                    self.w.loss("the string '' stands for a missing value in ONNX", self.where)
                return self.b.const(np.array(v, dtype=object), "text"), "string"
            return self.c(math.nan if v is None else float(v)), "number"
        if isinstance(e, FieldRef):
            t, kind = self.w.cols[e.name]
            return t, kind
        fn = e.function
        handler: Callable[[Apply], tuple[str, str]] | None = getattr(self, "fn_" + _PY_NAMES.get(fn, fn), None)
        if handler is None:  # pragma: no cover - every IR function has a handler
            raise self.fail(f"function {fn!r}")
        return handler(e)

    def num(self, e: Expression) -> str:
        t, kind = self.compile(e)
        if kind != "number":
            raise self.fail("text where a number is needed (portamodel would raise an error)")
        return t

    def missing_any(self, ts: list[str]) -> str:
        m = self.b.op("IsNaN", [ts[0]])
        for t in ts[1:]:
            m = self.b.op("Or", [m, self.b.op("IsNaN", [t])])
        return m

    def as_double(self, boolean: str, missing: str | None = None) -> str:
        out = self.b.op("Cast", [boolean], to=self.b.onnx.TensorProto.DOUBLE)
        return out if missing is None else self.b.op("Where", [missing, self.c(math.nan), out])

    def bool_arg(self, e: Expression) -> tuple[str, str]:
        """(value, missing) of an argument used as a boolean."""
        t, kind = self.compile(e)
        if kind != "number":
            raise self.fail("text used as a boolean (portamodel parses 'true'/'false'; ONNX cannot)")
        miss = self.b.op("IsNaN", [t])
        return self.b.op("Not", [self.b.op("Equal", [t, self.c(0.0)])]), miss

    # arithmetic
    def _binary(self, op: str, e: Apply) -> tuple[str, str]:
        a, b = self.num(e.args[0]), self.num(e.args[1])
        return self.b.op(op, [a, b]), "number"

    def fn_add(self, e: Apply) -> tuple[str, str]:
        return self._binary("Add", e)

    def fn_sub(self, e: Apply) -> tuple[str, str]:
        return self._binary("Sub", e)

    def fn_mul(self, e: Apply) -> tuple[str, str]:
        return self._binary("Mul", e)

    def fn_div(self, e: Apply) -> tuple[str, str]:
        return self._binary("Div", e)

    def fn_pow(self, e: Apply) -> tuple[str, str]:
        return self._binary("Pow", e)

    def fn_modulo(self, e: Apply) -> tuple[str, str]:
        a, b = self.num(e.args[0]), self.num(e.args[1])
        return self.b.op("Sub", [a, self.b.op("Mul", [b, self.b.op("Floor", [self.b.op("Div", [a, b])])])]), "number"

    def fn_threshold(self, e: Apply) -> tuple[str, str]:
        a, b = self.num(e.args[0]), self.num(e.args[1])
        return self.as_double(self.b.op("Greater", [a, b]), self.missing_any([a, b])), "number"

    def _aggregate(self, e: Apply, fn: str) -> tuple[str, str]:
        ts = [self.num(a) for a in e.args]
        present = [self.b.op("Not", [self.b.op("IsNaN", [t])]) for t in ts]
        count = self.as_double(present[0])
        for p in present[1:]:
            count = self.b.op("Add", [count, self.as_double(p)])
        fill = {"min": math.inf, "max": -math.inf, "product": 1.0}.get(fn, 0.0)
        vals = [self.b.op("Where", [p, t, self.c(fill)]) for p, t in zip(present, ts)]
        if fn in ("min", "max"):
            res = vals[0] if len(vals) == 1 else self.b.op("Min" if fn == "min" else "Max", vals)
        else:
            res = vals[0]
            for v in vals[1:]:
                res = self.b.op("Mul" if fn == "product" else "Add", [res, v])
            if fn == "avg":
                res = self.b.op("Div", [res, self.b.op("Max", [count, self.c(1.0)])])
        none = self.b.op("Equal", [count, self.c(0.0)])
        return self.b.op("Where", [none, self.c(math.nan), res]), "number"

    def fn_min(self, e: Apply) -> tuple[str, str]:
        return self._aggregate(e, "min")

    def fn_max(self, e: Apply) -> tuple[str, str]:
        return self._aggregate(e, "max")

    def fn_sum(self, e: Apply) -> tuple[str, str]:
        return self._aggregate(e, "sum")

    def fn_avg(self, e: Apply) -> tuple[str, str]:
        return self._aggregate(e, "avg")

    def fn_product(self, e: Apply) -> tuple[str, str]:
        return self._aggregate(e, "product")

    def _unary(self, e: Apply, build: Callable[[str], str]) -> tuple[str, str]:
        return build(self.num(e.args[0])), "number"

    def fn_log10(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: self.b.op("Div", [self.b.op("Log", [x]), self.c(math.log(10.0))]))

    def fn_ln(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: self.b.op("Log", [x]))

    def fn_sqrt(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: self.b.op("Sqrt", [x]))

    def fn_abs(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: self.b.op("Abs", [x]))

    def fn_exp(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: self.b.op("Exp", [x]))

    def fn_floor(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: self.b.op("Floor", [x]))

    def fn_ceil(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: self.b.op("Ceil", [x]))

    def fn_rint(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: self.b.op("Round", [x]))  # half to even, like numpy.rint

    def fn_round(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: self.b.op("Floor", [self.b.op("Add", [x, self.c(0.5)])]))

    def fn_expm1(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: expm1(self.b, x))

    def fn_ln1p(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: log1p(self.b, x))

    def fn_tanh(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: self.b.op("Tanh", [x]))

    def fn_sin(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: self.b.op("Sin", [x]))

    def fn_cos(self, e: Apply) -> tuple[str, str]:
        return self._unary(e, lambda x: self.b.op("Cos", [x]))

    # missing values
    def _missing(self, e: Expression) -> str:
        t, kind = self.compile(e)
        if kind == "number":
            return self.b.op("IsNaN", [t])
        code = self.w.str_code(t, [], [], default=0, missing=1, where=self.where)
        return self.b.op("Cast", [code], to=self.b.onnx.TensorProto.BOOL)

    def fn_isMissing(self, e: Apply) -> tuple[str, str]:
        return self.as_double(self._missing(e.args[0])), "number"

    def fn_isNotMissing(self, e: Apply) -> tuple[str, str]:
        return self.as_double(self.b.op("Not", [self._missing(e.args[0])])), "number"

    # comparisons
    def _string_equal(self, a: tuple[str, str], b: tuple[str, str]) -> tuple[str, str]:
        """(equal?, missing?) for two string values; a constant side uses a LabelEncoder."""
        (ta, _), (tb, _) = a, b
        ma, mb = self._str_missing(ta), self._str_missing(tb)
        const_b = self._const_text(tb)
        const_a = self._const_text(ta)
        if const_b is not None or const_a is not None:
            col, text = (ta, const_b) if const_b is not None else (tb, const_a)
            code = self.w.str_code(col, [text], [1], default=0, missing=0, where=self.where)  # type: ignore[list-item]
            eq = self.b.op("Cast", [code], to=self.b.onnx.TensorProto.BOOL)
        else:
            raise self.fail("comparing two text columns (ONNX opset 17 has no string Equal)")
        return eq, self.b.op("Or", [ma, mb])

    def _const_text(self, t: str) -> str | None:
        for init in self.b.initializers:
            if init.name == t and init.data_type == self.b.onnx.TensorProto.STRING and len(init.dims) == 0:
                return init.string_data[0].decode()
        return None

    def _str_missing(self, t: str) -> str:
        text = self._const_text(t)
        if text is not None:
            return self.b.op("Not", [self.b.op("IsNaN", [self.c(0.0)])]) if text == "" else self._false()
        code = self.w.str_code(t, [], [], default=0, missing=1, where=self.where)
        return self.b.op("Cast", [code], to=self.b.onnx.TensorProto.BOOL)

    def _false(self) -> str:
        return self.b.op("IsNaN", [self.c(0.0)])

    def _compare(self, e: Apply, op: str) -> tuple[str, str]:
        a, b = self.compile(e.args[0]), self.compile(e.args[1])
        if a[1] != b[1]:
            raise self.fail("comparing text with numbers (portamodel compares them as text)")
        if a[1] == "string":
            if op not in ("Equal", "NotEqual"):
                raise self.fail("ordering comparisons of text")
            eq, miss = self._string_equal(a, b)
            res = eq if op == "Equal" else self.b.op("Not", [eq])
            return self.as_double(res, miss), "number"
        miss = self.missing_any([a[0], b[0]])
        res = self.b.op("Not", [self.b.op("Equal", [a[0], b[0]])]) if op == "NotEqual" else self.b.op(op, [a[0], b[0]])
        return self.as_double(res, miss), "number"

    def fn_equal(self, e: Apply) -> tuple[str, str]:
        return self._compare(e, "Equal")

    def fn_notEqual(self, e: Apply) -> tuple[str, str]:
        return self._compare(e, "NotEqual")

    def fn_lessThan(self, e: Apply) -> tuple[str, str]:
        return self._compare(e, "Less")

    def fn_lessOrEqual(self, e: Apply) -> tuple[str, str]:
        return self._compare(e, "LessOrEqual")

    def fn_greaterThan(self, e: Apply) -> tuple[str, str]:
        return self._compare(e, "Greater")

    def fn_greaterOrEqual(self, e: Apply) -> tuple[str, str]:
        return self._compare(e, "GreaterOrEqual")

    def _isin(self, e: Apply) -> tuple[str, str]:
        x = self.compile(e.args[0])
        hit: str | None = None
        for arg in e.args[1:]:
            a = self.compile(arg)
            if a[1] != x[1]:
                raise self.fail("isIn comparing text with numbers")
            if x[1] == "string":
                eq, _ = self._string_equal(x, a)
            else:
                eq = self.b.op("Equal", [x[0], a[0]])
            hit = eq if hit is None else self.b.op("Or", [hit, eq])
        assert hit is not None
        miss = self.b.op("IsNaN", [x[0]]) if x[1] == "number" else self._str_missing(x[0])
        return hit, miss

    def fn_isIn(self, e: Apply) -> tuple[str, str]:
        hit, miss = self._isin(e)
        return self.as_double(hit, miss), "number"

    def fn_isNotIn(self, e: Apply) -> tuple[str, str]:
        hit, miss = self._isin(e)
        return self.as_double(self.b.op("Not", [hit]), miss), "number"

    def _logic(self, e: Apply, op: str) -> tuple[str, str]:
        parts = [self.bool_arg(a) for a in e.args]
        miss = parts[0][1]
        for _, m in parts[1:]:
            miss = self.b.op("Or", [miss, m])
        if op == "Not":
            return self.as_double(self.b.op("Not", [parts[0][0]]), miss), "number"
        res = parts[0][0]
        for v, _ in parts[1:]:
            res = self.b.op(op, [res, v])
        return self.as_double(res, miss), "number"

    def fn_and(self, e: Apply) -> tuple[str, str]:
        return self._logic(e, "And")

    def fn_or(self, e: Apply) -> tuple[str, str]:
        return self._logic(e, "Or")

    def fn_not(self, e: Apply) -> tuple[str, str]:
        return self._logic(e, "Not")

    def fn_if(self, e: Apply) -> tuple[str, str]:
        cond, cmiss = self.bool_arg(e.args[0])
        then = self.compile(e.args[1])
        other = self.compile(e.args[2]) if len(e.args) == 3 else (self.c(math.nan), "number")
        kinds = {then[1], other[1]}
        if kinds == {"string", "number"}:
            # a missing constant in the other branch is the only number allowed next to text
            nums = [v for v in (then, other) if v[1] == "number"]
            if any(self._const_number(v[0]) is None or not math.isnan(self._const_number(v[0])) for v in nums):  # type: ignore[arg-type]
                raise self.fail("an 'if' mixing text and numbers (numbers would become text)")
            empty = self.b.const(np.array("", dtype=object))
            then = (empty, "string") if then[1] == "number" else then
            other = (empty, "string") if other[1] == "number" else other
        kind = then[1]
        missing_value = self.b.const(np.array("", dtype=object)) if kind == "string" else self.c(math.nan)
        out = self.b.op("Where", [cond, then[0], other[0]])
        return self.b.op("Where", [cmiss, missing_value, out]), kind

    def _const_number(self, t: str) -> float | None:
        for init in self.b.initializers:
            if init.name == t and init.data_type == self.b.onnx.TensorProto.DOUBLE and len(init.dims) == 0:
                return float(self.b.onnx.numpy_helper.to_array(init))
        return None


_PY_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
