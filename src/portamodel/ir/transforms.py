"""Preprocessing steps: named columns in, named columns out, applied in order.

Every step reads columns defined earlier (model inputs or outputs of earlier steps) and defines new,
unique column names. Missing values are NaN (numeric) or None (strings) throughout.

- :class:`Affine`: ``y = (x - offset) * scale + shift`` (or ``/ scale`` when ``divide``), column-wise;
  covers StandardScaler, MinMaxScaler, ONNX Scaler and two-point PMML NormContinuous exactly.
- :class:`Impute`: replace missing values by constants (SimpleImputer, ONNX Imputer,
  PMML missingValueReplacement).
- :class:`OneHot`: one column -> one 0/1 column per category (OneHotEncoder, PMML NormDiscrete).
- :class:`Lookup`: value -> value table with a default (ordinal encoding, LabelEncoder, MapValues).
- :class:`Derive`: one column computed by an expression tree (PMML Apply/FieldRef/Constant).

>>> step = Affine(inputs=("x",), outputs=("x_scaled",), offset=[2.0], scale=[4.0], divide=True)
>>> step.outputs
('x_scaled',)
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ._base import IRNode, as_tuple, check, check_choice, check_float_range, check_names, frozen_array, ir_dataclass, plain, short_repr
from .fields import Value

__all__ = [
    "FUNCTIONS",
    "Affine",
    "Apply",
    "Constant",
    "Derive",
    "Expression",
    "FieldRef",
    "Impute",
    "Lookup",
    "OneHot",
    "Step",
]


@ir_dataclass
class Affine(IRNode):
    """Column-wise ``y = (x - offset) * scale + shift``; with ``divide``, ``(x - offset) / scale + shift``."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    offset: NDArray[np.float64]
    scale: NDArray[np.float64]
    shift: NDArray[np.float64] | None = None
    divide: bool = False

    def __post_init__(self) -> None:
        where = "Affine"
        self._set("inputs", as_tuple(self.inputs, f"{where}.inputs"))
        self._set("outputs", as_tuple(self.outputs, f"{where}.outputs"))
        check_names(self.outputs, f"{where}.outputs")
        n = len(self.inputs)
        check(n > 0, where, "needs at least one input")
        check(len(self.outputs) == n, where, f"{n} inputs but {len(self.outputs)} outputs")
        for name in ("offset", "scale", "shift"):
            value = getattr(self, name)
            if value is None:
                value = np.zeros(n)
            arr = frozen_array(value, np.float64, f"{where}.{name}", ndim=1)
            check(arr.shape == (n,), f"{where}.{name}", f"expected {n} values, got {arr.shape[0]}")
            self._set(name, arr)
        check(isinstance(self.divide, bool), f"{where}.divide", "expected a boolean")


@ir_dataclass
class Impute(IRNode):
    """Replace missing values (NaN / None) in each input by a constant."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        where = "Impute"
        self._set("inputs", as_tuple(self.inputs, f"{where}.inputs"))
        self._set("outputs", as_tuple(self.outputs, f"{where}.outputs"))
        self._set("values", as_tuple(self.values, f"{where}.values", plain))
        check_names(self.outputs, f"{where}.outputs")
        n = len(self.inputs)
        check(n > 0, where, "needs at least one input")
        check(len(self.outputs) == n, where, f"{n} inputs but {len(self.outputs)} outputs")
        check(len(self.values) == n, where, f"{n} inputs but {len(self.values)} replacement values")
        check_float_range(self.values, f"{where}.values")
        for i, v in enumerate(self.values):
            check(
                isinstance(v, (str, int, float, bool)) and not (isinstance(v, float) and math.isnan(v)),
                f"{where}.values[{i}]",
                f"expected a non-missing string or number, got {short_repr(v)}",
            )


@ir_dataclass
class OneHot(IRNode):
    """One indicator column per category: ``outputs[i] = (input == categories[i])``.

    ``unknown`` says what a value outside ``categories`` does: ``"ignore"`` gives all zeros,
    ``"error"`` raises. A missing input gives all zeros unless ``missing="propagate"`` (NaN).
    """

    input: str
    categories: tuple[Value, ...]
    outputs: tuple[str, ...]
    unknown: Literal["ignore", "error"] = "ignore"
    missing: Literal["zeros", "propagate"] = "zeros"

    def __post_init__(self) -> None:
        where = f"OneHot({short_repr(self.input)})"
        self._set("categories", as_tuple(self.categories, f"{where}.categories", plain))
        self._set("outputs", as_tuple(self.outputs, f"{where}.outputs"))
        check_names(self.outputs, f"{where}.outputs")
        check(len(self.categories) > 0, where, "needs at least one category")
        check(len(set(self.categories)) == len(self.categories), f"{where}.categories", "categories must be distinct")
        check_float_range(self.categories, f"{where}.categories")
        check(
            len(self.outputs) == len(self.categories),
            where,
            f"{len(self.categories)} categories but {len(self.outputs)} outputs",
        )
        check_choice(self.unknown, ("ignore", "error"), f"{where}.unknown")
        check_choice(self.missing, ("zeros", "propagate"), f"{where}.missing")


@ir_dataclass
class Lookup(IRNode):
    """Map each value of ``input`` through the table ``keys[i] -> values[i]``.

    A value not in ``keys`` maps to ``default`` (``None`` = missing), a missing input to ``missing``.
    ``unknown="error"`` raises on a value not in ``keys`` instead.
    """

    input: str
    output: str
    keys: tuple[Value, ...]
    values: tuple[Value, ...]
    default: Value | None = None
    missing: Value | None = None
    unknown: Literal["default", "error"] = "default"

    def __post_init__(self) -> None:
        where = f"Lookup({short_repr(self.input)})"
        self._set("keys", as_tuple(self.keys, f"{where}.keys", plain))
        self._set("values", as_tuple(self.values, f"{where}.values", plain))
        check_names((self.output,), f"{where}.output")
        check(len(self.keys) == len(self.values), where, f"{len(self.keys)} keys but {len(self.values)} values")
        check(len(set(self.keys)) == len(self.keys), f"{where}.keys", "keys must be distinct")
        kinds = {isinstance(v, str) for v in self.values}
        kinds |= {isinstance(v, str) for v in (self.default, self.missing) if v is not None}
        check(len(kinds) <= 1, f"{where}.values", "values must be all strings or all numbers")
        check_float_range(self.keys, f"{where}.keys")
        check_float_range((*self.values, self.default, self.missing), f"{where}.values")
        check_choice(self.unknown, ("default", "error"), f"{where}.unknown")


@ir_dataclass
class Constant(IRNode):
    """A literal in an expression; ``None`` is the missing value."""

    value: Value | None

    def __post_init__(self) -> None:
        value = plain(self.value)
        check(
            value is None or isinstance(value, (str, int, float, bool)),
            "Constant",
            f"expected a string, number, boolean or None, got {type(value).__name__}",
        )
        check_float_range((value,), "Constant.value")
        self._set("value", value)


@ir_dataclass
class FieldRef(IRNode):
    """A reference to a column defined earlier."""

    name: str

    def __post_init__(self) -> None:
        check(isinstance(self.name, str) and self.name != "", "FieldRef", f"expected a column name, got {short_repr(self.name)}")


# name -> (min args, max args or None); names follow PMML's built-in functions.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "+": (2, 2), "-": (2, 2), "*": (2, 2), "/": (2, 2),
    "min": (1, None), "max": (1, None), "sum": (1, None), "avg": (1, None), "product": (1, None),
    "log10": (1, 1), "ln": (1, 1), "sqrt": (1, 1), "abs": (1, 1), "exp": (1, 1), "pow": (2, 2),
    "threshold": (2, 2), "floor": (1, 1), "ceil": (1, 1), "round": (1, 1), "rint": (1, 1),
    "isMissing": (1, 1), "isNotMissing": (1, 1),
    "equal": (2, 2), "notEqual": (2, 2), "lessThan": (2, 2), "lessOrEqual": (2, 2),
    "greaterThan": (2, 2), "greaterOrEqual": (2, 2),
    "and": (2, None), "or": (2, None), "not": (1, 1), "if": (2, 3),
    "isIn": (2, None), "isNotIn": (2, None),
    "expm1": (1, 1), "ln1p": (1, 1), "modulo": (2, 2), "tanh": (1, 1), "sin": (1, 1), "cos": (1, 1),
}  # fmt: skip


#: Functions whose arguments must all be numbers (the others also take strings or booleans).
NUMERIC_FUNCTIONS: frozenset[str] = frozenset(
    ("+", "-", "*", "/", "min", "max", "sum", "avg", "product", "log10", "ln", "sqrt", "abs", "exp", "pow",
     "threshold", "floor", "ceil", "round", "rint", "expm1", "ln1p", "modulo", "tanh", "sin", "cos")
)  # fmt: skip


@ir_dataclass
class Apply(IRNode):
    """A built-in function applied to argument expressions (see :data:`FUNCTIONS`)."""

    function: str
    args: tuple[Expression, ...]

    def __post_init__(self) -> None:
        where = f"Apply({short_repr(self.function)})"
        check(self.function in FUNCTIONS, where, f"unknown function; known: {', '.join(sorted(FUNCTIONS))}")
        self._set("args", as_tuple(self.args, f"{where}.args"))
        lo, hi = FUNCTIONS[self.function]
        n = len(self.args)
        check(n >= lo and (hi is None or n <= hi), where, f"takes {lo}..{hi or 'n'} arguments, got {n}")
        for i, a in enumerate(self.args):
            check(isinstance(a, (Constant, FieldRef, Apply)), f"{where}.args[{i}]", "expected an expression")


Expression = Constant | FieldRef | Apply


@ir_dataclass
class Derive(IRNode):
    """Define column ``output`` as ``expression``; ``dtype`` is the type of the result."""

    output: str
    expression: Expression
    dtype: Literal["double", "string", "boolean"] = "double"

    def __post_init__(self) -> None:
        check_names((self.output,), "Derive.output")
        check(
            isinstance(self.expression, (Constant, FieldRef, Apply)),
            f"Derive({short_repr(self.output)})",
            "expected an expression",
        )
        check_choice(self.dtype, ("double", "string", "boolean"), f"Derive({short_repr(self.output)}).dtype")

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(expression_refs(self.expression)))


Step = Affine | Impute | OneHot | Lookup | Derive


def expression_refs(expr: Expression) -> list[str]:
    """Column names an expression reads (depth-first, with repeats)."""
    out: list[str] = []
    stack: list[Expression] = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, FieldRef):
            out.append(e.name)
        elif isinstance(e, Apply):
            stack.extend(reversed(e.args))
    return out


def step_inputs(step: Step) -> tuple[str, ...]:
    """Columns a step reads."""
    if isinstance(step, (Affine, Impute)):
        return step.inputs
    if isinstance(step, (OneHot, Lookup)):
        return (step.input,)
    return step.inputs


def step_outputs(step: Step) -> tuple[str, ...]:
    """Columns a step defines."""
    if isinstance(step, (Affine, Impute, OneHot)):
        return step.outputs
    return (step.output,)
