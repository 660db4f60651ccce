"""numpy-only scoring of portamodel models.

:func:`predict` gives regression values or class labels, :func:`predict_proba` class
probabilities, :func:`outputs` the raw estimator outputs (after the output transform). The model is
compiled once into a plan cached on the model; each call only coerces the inputs.

``X`` may be a 2-D array (columns in ``model.input_names`` order), a mapping name -> column (dict,
pandas DataFrame), a list of records (dicts) or a single record; see :mod:`._inputs`.

Semantics worth knowing:

- Missing values are NaN (numbers) / None (strings). They propagate: a linear model or MLP with a
  missing feature gives NaN outputs; trees follow each split's missing action. Derive expressions
  follow PMML's built-in functions (see :mod:`._steps`).
- A classifier row whose probabilities are NaN gets the label ``None``.
- Labels have the classes' type: int64, float64, bool, or object (strings / mixed).
- ``predict_proba`` on a regression model raises :class:`~portamodel.errors.InputError`.
- Bad input raises :class:`~portamodel.errors.InputError` naming the column, row and value.
- ``threads=`` (``predict``, ``predict_proba``, ``outputs``): threads scoring row chunks of a tree
  ensemble; None (default) uses one thread for small batches and ``min(4, cpu count)`` for large
  ones. Linear models and MLPs are single BLAS calls that use the BLAS library's own threads.

>>> from portamodel.ir import Field, LinearModel, Model, Target
>>> model = Model(
...     inputs=(Field(name="x"),),
...     target=Target(name="y", task="classification", classes=("no", "yes")),
...     estimator=LinearModel(features=("x",), coefficients=[[1.0]], intercepts=[0.0], normalization="logistic"),
... )
>>> predict_proba(model, {"x": [0.0]}).tolist()
[[0.5, 0.5]]
>>> predict(model, [{"x": -3.0}, {"x": 3.0}, {"x": None}]).tolist()
['no', 'yes', None]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from ..ir import Model
from ._parallel import check_threads
from ._plan import Plan, get_plan

__all__ = ["Plan", "get_plan", "outputs", "predict", "predict_proba"]


def _threads(options: dict[str, Any]) -> int | None:
    if options:
        threads = options.pop("threads", None)
        if options:
            raise InputError(f"unknown option(s): {', '.join(sorted(options))}")
        return check_threads(threads)
    return None


def outputs(model: Model, X: Any, *, threads: int | None = None) -> NDArray[np.float64]:
    """Estimator outputs after the output transform, shape ``(n_rows, n_outputs)``."""
    return get_plan(model).outputs(X, check_threads(threads))


def predict_proba(model: Model, X: Any, **options: Any) -> NDArray[np.float64]:
    """Class probabilities ``(n_rows, n_classes)``, columns in ``model.classes`` order.

    A single-output binary model gives ``[1 - p, p]``. Rows the model cannot score (a ``null``
    tree, missing inputs to a linear model) are NaN. A regression model raises
    :class:`~portamodel.errors.InputError`: there are no probabilities to give.
    """
    threads = _threads(options)
    plan = get_plan(model)
    if plan.task != "classification":
        raise InputError("predict_proba needs a classifier; this model is a regression (use predict)")
    return _probabilities(plan, plan.outputs(X, threads))


def predict(model: Model, X: Any, **options: Any) -> NDArray[Any]:
    """Regression values (float64) or class labels, one per row.

    Labels are ``classes[argmax(probabilities)]`` (the first maximum wins) in an array of the
    labels' type: int64 for integer classes, float64 for float classes, bool for booleans, object
    for strings or mixed types. A row whose probabilities are NaN gets ``None`` (object array).
    """
    threads = _threads(options)
    plan = get_plan(model)
    out = plan.outputs(X, threads)
    if plan.task == "regression":
        return np.ascontiguousarray(out[:, 0])
    return _labels(plan, _probabilities(plan, out))


def _probabilities(plan: Plan, out: NDArray[np.float64]) -> NDArray[np.float64]:
    if out.shape[1] == 1 and len(plan.classes) == 2:
        return np.concatenate((1.0 - out, out), axis=1)
    return out


def _label_dtype(classes: tuple[Any, ...]) -> Any:
    if all(isinstance(c, bool) for c in classes):
        return np.bool_
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return np.int64
    if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes):
        return np.float64
    return object


def _labels(plan: Plan, proba: NDArray[np.float64]) -> NDArray[Any]:
    classes = plan.classes
    dtype = _label_dtype(classes)
    table = np.empty(len(classes), dtype=object)
    table[:] = list(classes)
    idx = np.argmax(proba, axis=1) if proba.shape[0] else np.zeros(0, dtype=np.intp)
    bad = np.isnan(proba).any(axis=1)
    if bad.any():
        labels = table[idx]
        labels[bad] = None
        return labels
    if dtype is not object:
        try:
            return np.array(classes, dtype=dtype)[idx]
        except OverflowError:  # integers beyond int64
            pass
    return table[idx]
