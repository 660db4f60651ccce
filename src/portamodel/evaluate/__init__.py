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
  ones. Linear models and MLPs are BLAS products: the BLAS library's own threads split the large
  ones (``OPENBLAS_NUM_THREADS`` or threadpoolctl set how many), whatever ``threads`` says.

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
    threads = options.pop("threads", None)
    if options:
        raise InputError(f"unknown option(s): {', '.join(sorted(options))}")
    if threads is None or (type(threads) is int and threads > 0):
        return threads
    return check_threads(threads)


def _cached_plan(model: Model) -> Plan:
    plan = model._cache.get("plan")
    return plan if plan is not None else get_plan(model)  # type: ignore[no-any-return]


def outputs(model: Model, X: Any, *, threads: int | None = None) -> NDArray[np.float64]:
    """Estimator outputs after the output transform, shape ``(n_rows, n_outputs)``."""
    return get_plan(model).outputs(X, check_threads(threads))


def predict_proba(model: Model, X: Any, **options: Any) -> NDArray[np.float64]:
    """Class probabilities ``(n_rows, n_classes)``, columns in ``model.classes`` order.

    A single-output binary model gives ``[1 - p, p]``. Rows the model cannot score (a ``null``
    tree, missing inputs to a linear model) are NaN. A regression model raises
    :class:`~portamodel.errors.InputError`: there are no probabilities to give.
    """
    return _cached_plan(model).predict_proba(X, _threads(options) if options else None)


def predict(model: Model, X: Any, **options: Any) -> NDArray[Any]:
    """Regression values (float64) or class labels, one per row.

    Labels are ``classes[argmax(probabilities)]`` (the first maximum wins) in an array of the
    labels' type: int64 for integer classes, float64 for float classes, bool for booleans, object
    for strings or mixed types. A row whose probabilities are NaN gets ``None`` (object array).
    """
    return _cached_plan(model).predict(X, _threads(options) if options else None)
