"""Input fields and the prediction target.

>>> f = Field(name="petal_length", dtype="float")
>>> f.optype
'continuous'
>>> Target(name="species", task="classification", classes=("setosa", "versicolor")).classes
('setosa', 'versicolor')
"""

from __future__ import annotations

from typing import Literal

from ..errors import IRValidationError
from ._base import IRNode, as_tuple, check, check_choice, ir_dataclass, plain, short_repr

__all__ = ["DATA_TYPES", "INVALID_POLICIES", "OPTYPES", "TASKS", "Field", "Target", "Value"]

DataType = Literal["double", "float", "integer", "string", "boolean"]
OpType = Literal["continuous", "categorical", "ordinal"]
InvalidPolicy = Literal["error", "as_missing", "as_is"]
Task = Literal["regression", "classification"]
Value = str | int | float | bool

DATA_TYPES: tuple[str, ...] = ("double", "float", "integer", "string", "boolean")
OPTYPES: tuple[str, ...] = ("continuous", "categorical", "ordinal")
INVALID_POLICIES: tuple[str, ...] = ("error", "as_missing", "as_is")
TASKS: tuple[str, ...] = ("regression", "classification")


def coerce_value(value: object, dtype: str, where: str) -> Value:
    """Coerce a category / constant to the Python type matching ``dtype``."""
    try:
        if dtype == "string":
            check(isinstance(value, str), where, f"expected a string value, got {short_repr(value)}")
            return value  # type: ignore[return-value]
        if dtype == "integer":
            check(not isinstance(value, (str, bool)), where, f"expected an integer value, got {short_repr(value)}")
            iv = int(value)  # type: ignore[call-overload]
            check(iv == value, where, f"expected an integer value, got {short_repr(value)}")
            return iv
        if dtype == "boolean":
            check(isinstance(value, bool), where, f"expected a boolean value, got {short_repr(value)}")
            return value  # type: ignore[return-value]
        check(not isinstance(value, (str, bool)), where, f"expected a number, got {short_repr(value)}")
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise IRValidationError(f"expected a {dtype} value, got {short_repr(value)}", location=where) from None


@ir_dataclass
class Field(IRNode):
    """One input column of a model.

    ``dtype`` is the type of the values; ``"float"`` means the producer holds the column as
    float32, so values are rounded to float32 before any use. ``values`` lists the allowed
    categories of a categorical/ordinal field (in order, for ordinal). ``invalid`` says what
    happens to a value outside ``values``: raise (``"error"``), treat as missing, or pass it on.
    """

    name: str
    dtype: DataType = "double"
    optype: OpType = "continuous"
    values: tuple[Value, ...] = ()
    invalid: InvalidPolicy = "as_is"

    def __post_init__(self) -> None:
        where = f"field {short_repr(self.name)}"
        check(isinstance(self.name, str) and self.name != "", "field", f"expected a non-empty name, got {short_repr(self.name)}")
        check_choice(self.dtype, DATA_TYPES, f"{where}.dtype")
        check_choice(self.optype, OPTYPES, f"{where}.optype")
        check_choice(self.invalid, INVALID_POLICIES, f"{where}.invalid")
        values = as_tuple(self.values, f"{where}.values", plain)
        values = tuple(coerce_value(v, self.dtype, f"{where}.values[{i}]") for i, v in enumerate(values))
        check(len(set(values)) == len(values), f"{where}.values", "values must be distinct")
        check(
            self.optype != "continuous" or self.dtype in ("double", "float", "integer", "boolean"),
            where,
            f"a continuous field must be numeric, not {self.dtype}",
        )
        self._set("values", values)

    @property
    def is_numeric(self) -> bool:
        return self.dtype in ("double", "float", "integer", "boolean")


@ir_dataclass
class Target(IRNode):
    """What the model predicts: a regression value or one of ``classes`` (in probability order)."""

    name: str
    task: Task
    classes: tuple[Value, ...] = ()

    def __post_init__(self) -> None:
        where = f"target {short_repr(self.name)}"
        check(isinstance(self.name, str) and self.name != "", "target", f"expected a non-empty name, got {short_repr(self.name)}")
        check_choice(self.task, TASKS, f"{where}.task")
        classes = as_tuple(self.classes, f"{where}.classes", plain)
        for i, c in enumerate(classes):
            check(
                isinstance(c, (str, int, float, bool)),
                f"{where}.classes[{i}]",
                f"expected a string or number, got {type(c).__name__}",
            )
        check(len(set(classes)) == len(classes), f"{where}.classes", "class labels must be distinct")
        if self.task == "classification":
            check(len(classes) >= 2, f"{where}.classes", f"a classifier needs at least 2 classes, got {len(classes)}")
        else:
            check(len(classes) == 0, f"{where}.classes", "a regression target has no classes")
        self._set("classes", classes)
