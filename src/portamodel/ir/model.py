"""The whole model: input fields, preprocessing steps, one estimator, target and metadata.

>>> from portamodel.ir import Field, LinearModel, Model, Target
>>> model = Model(
...     inputs=(Field(name="x"),),
...     target=Target(name="y", task="regression"),
...     estimator=LinearModel(features=("x",), coefficients=[[2.0]], intercepts=[1.0]),
... )
>>> model.predict([[1.0], [2.0]]).tolist()
[3.0, 5.0]
"""

from __future__ import annotations

import dataclasses
import datetime
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._base import IRNode, as_tuple, check, ir_dataclass, short_repr
from .fields import Field, Target, Value
from .linear import LinearModel
from .mlp import MLP
from .transforms import (
    NUMERIC_FUNCTIONS,
    Affine,
    Constant,
    Derive,
    Expression,
    FieldRef,
    Impute,
    Lookup,
    OneHot,
    Step,
    step_inputs,
    step_outputs,
)
from .tree import TreeEnsemble

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["Estimator", "Metadata", "Model"]

Estimator = LinearModel | TreeEnsemble | MLP
ESTIMATOR_TYPES = (LinearModel, TreeEnsemble, MLP)
STEP_TYPES = (Affine, Impute, OneHot, Lookup, Derive)


@ir_dataclass
class Metadata(IRNode):
    """Descriptive data that does not change predictions. ``extra`` holds free string pairs."""

    name: str = ""
    description: str = ""
    producer: str = ""
    producer_version: str = ""
    version: str = ""
    created: str = ""
    extra: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in ("name", "description", "producer", "producer_version", "version", "created"):
            check(isinstance(getattr(self, f), str), f"Metadata.{f}", "expected a string")
        check(isinstance(self.extra, Mapping), "Metadata.extra", "expected a mapping of strings")
        extra = dict(self.extra)
        for k, v in extra.items():
            check(isinstance(k, str) and isinstance(v, str), f"Metadata.extra[{short_repr(k)}]", "keys and values must be strings")
        self._set("extra", types.MappingProxyType(extra))

    @staticmethod
    def now() -> str:
        """The current UTC time in ISO 8601, for ``created``."""
        return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


@ir_dataclass
class Model(IRNode):
    """A complete scoring model. Build it once; it is immutable and validated on creation."""

    inputs: tuple[Field, ...]
    target: Target
    estimator: Estimator
    steps: tuple[Step, ...] = ()
    metadata: Metadata = dataclasses.field(default_factory=Metadata)
    _cache: dict[str, Any] = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._set("inputs", as_tuple(self.inputs, "Model.inputs"))
        self._set("steps", as_tuple(self.steps, "Model.steps"))
        check(len(self.inputs) >= 1, "Model.inputs", "a model needs at least one input field")
        check(isinstance(self.target, Target), "Model.target", "expected a Target")
        check(isinstance(self.metadata, Metadata), "Model.metadata", "expected a Metadata")
        check(
            isinstance(self.estimator, ESTIMATOR_TYPES),
            "Model.estimator",
            f"expected LinearModel, TreeEnsemble or MLP, got {type(self.estimator).__name__}",
        )
        numeric: dict[str, bool] = {}
        for i, f in enumerate(self.inputs):
            check(isinstance(f, Field), f"Model.inputs[{i}]", "expected a Field")
            check(f.name not in numeric, f"Model.inputs[{i}]", f"duplicate field name {short_repr(f.name)}")
            numeric[f.name] = f.is_numeric
        for i, step in enumerate(self.steps):
            where = f"Model.steps[{i}] ({type(step).__name__})"
            check(isinstance(step, STEP_TYPES), f"Model.steps[{i}]", f"expected a step, got {type(step).__name__}")
            for name in step_inputs(step):
                check(name in numeric, where, f"reads column {short_repr(name)}, which is not defined before it")
            if isinstance(step, Derive):
                _check_derive_kinds(step, numeric, where)
            if isinstance(step, Affine):
                for name in step.inputs:
                    check(numeric[name], where, f"reads string column {short_repr(name)} but needs numbers")
            for j, name in enumerate(step_outputs(step)):
                check(name not in numeric, where, f"defines column {short_repr(name)}, which is already defined")
                numeric[name] = _output_is_numeric(step, j, numeric)
        est = self.estimator
        for name in est.features:
            check(name in numeric, f"Model.estimator ({type(est).__name__})", f"feature {short_repr(name)} is not defined")
            check(
                numeric[name],
                f"Model.estimator ({type(est).__name__})",
                f"feature {short_repr(name)} is not numeric; encode it first (OneHot or Lookup)",
            )
        n_out, classes = est.n_outputs, self.target.classes
        if self.target.task == "regression":
            check(n_out == 1, "Model.estimator", f"a regression model has 1 output, this one has {n_out}")
        else:
            ok = n_out == len(classes) or (n_out == 1 and len(classes) == 2)
            check(ok, "Model.estimator", f"{n_out} outputs do not fit {len(classes)} classes")
            transform = getattr(est, "normalization", getattr(est, "post_transform", "identity"))
            if isinstance(est, MLP):
                transform = est.layers[-1].activation
            check(
                n_out > 1 or transform not in ("softmax", "softmax_zero", "simplemax"),
                "Model.estimator",
                f"{short_repr(transform)} needs one output per class; a single binary output takes an element-wise transform",
            )
        if isinstance(est, TreeEnsemble) and est.aggregation == "majority_vote":
            check(
                self.target.task == "classification" and n_out == len(classes),
                "Model.estimator",
                "majority_vote needs a classifier with one output per class",
            )

    # -- convenience ---------------------------------------------------------------------------
    @property
    def classes(self) -> tuple[Value, ...]:
        """Class labels in probability-column order (empty for regression)."""
        return self.target.classes

    @property
    def task(self) -> str:
        return self.target.task

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.inputs)

    @property
    def family(self) -> str:
        """``"linear"``, ``"tree"`` or ``"mlp"``."""
        return {LinearModel: "linear", TreeEnsemble: "tree", MLP: "mlp"}[type(self.estimator)]

    def predict(self, X: Any, *, threads: int | None = None, **options: Any) -> NDArray[Any]:
        """Predicted values (regression) or labels (classification), one per row.

        ``X`` is a 2-D array with columns in ``input_names`` order, a mapping name -> column
        (dict, pandas DataFrame) or a list of records (dicts). ``threads`` caps the threads a tree
        ensemble's batch is scored on (default: by the batch's size and the CPUs).
        """
        plan = self._ready_plan(threads, options)
        if plan is None:
            return _evaluate().predict(self, X, threads=threads, **options)  # type: ignore[no-any-return]
        return plan.predict(X, threads)  # type: ignore[no-any-return]

    def predict_proba(self, X: Any, *, threads: int | None = None, **options: Any) -> NDArray[np.float64]:
        """Class probabilities, one row per input row, columns in ``classes`` order."""
        plan = self._ready_plan(threads, options)
        if plan is None:
            return _evaluate().predict_proba(self, X, threads=threads, **options)  # type: ignore[no-any-return]
        return plan.predict_proba(X, threads)  # type: ignore[no-any-return]

    def _ready_plan(self, threads: object, options: dict[str, Any]) -> Any:
        """The plan compiled on first use, when a call can go straight to it: no other option and
        ``threads`` plainly valid (anything else takes :mod:`portamodel.evaluate`, which checks it)."""
        plan = self._cache.get("plan")
        if plan is None or options or not (threads is None or (type(threads) is int and threads > 0)):
            return None
        return plan


def _check_derive_kinds(step: Derive, numeric: dict[str, bool], where: str) -> None:
    """Numeric functions must not get strings, and only a ``string`` Derive may give strings.

    Kinds are found bottom-up without recursion (expressions may be deeply nested).
    """
    kinds: dict[int, str] = {}  # id(expression) -> "number" | "string" | "any" (a missing constant)
    stack: list[tuple[Expression, bool]] = [(step.expression, False)]
    while stack:
        expr, done = stack.pop()
        if isinstance(expr, Constant):
            kinds[id(expr)] = "any" if expr.value is None else "string" if isinstance(expr.value, str) else "number"
        elif isinstance(expr, FieldRef):
            kinds[id(expr)] = "number" if numeric[expr.name] else "string"
        elif not done:
            stack.append((expr, True))
            stack.extend((arg, False) for arg in expr.args)
        else:
            args = [kinds[id(a)] for a in expr.args]
            if expr.function == "if":
                branches = set(args[1:]) - {"any"}
                kinds[id(expr)] = "string" if "string" in branches else "number" if branches else "any"
            else:
                if expr.function in NUMERIC_FUNCTIONS and "string" in args:
                    check(False, where, f"{expr.function!r} needs numbers but one of its arguments gives strings")
                kinds[id(expr)] = "number"
    if step.dtype != "string" and kinds[id(step.expression)] == "string":
        check(False, where, f"the expression gives strings but dtype is {step.dtype!r}")


_EVALUATE: Any = None


def _evaluate() -> Any:
    """The evaluate package, imported on first use (the IR is data and does not need it to load)."""
    global _EVALUATE
    if _EVALUATE is None:
        from .. import evaluate

        _EVALUATE = evaluate
    return _EVALUATE


def _output_is_numeric(step: Step, j: int, numeric: dict[str, bool]) -> bool:
    if isinstance(step, Impute):
        return numeric[step.inputs[j]] and not isinstance(step.values[j], str)
    if isinstance(step, Lookup):
        outs = [v for v in (*step.values, step.default, step.missing) if v is not None]
        return not any(isinstance(v, str) for v in outs)
    if isinstance(step, Derive):
        return step.dtype != "string"
    return True
