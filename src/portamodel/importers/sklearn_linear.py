"""scikit-learn linear models and multi-layer perceptrons -> :class:`LinearModel` / :class:`MLP`.

- Regressors (``LinearRegression``, ``Ridge``, ``Lasso``, ``ElasticNet`` and their CV variants,
  ``SGDRegressor``, ``HuberRegressor``, ``BayesianRidge``): ``X @ coef_ + intercept_``.
- ``LogisticRegression``: one logistic output for two classes, softmax over one row per class
  otherwise (multinomial; one-vs-rest models of old scikit-learn versions are refused).
- ``MLPClassifier`` / ``MLPRegressor``: ``coefs_`` / ``intercepts_`` layer by layer, hidden
  ``activation`` and ``out_activation_``.

Called by :func:`portamodel.sklearn.from_sklearn`; scikit-learn must be installed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import ACTIVATIONS, MLP, DenseLayer, LinearModel, Target
from .sklearn_columns import Columns, unsupported

__all__ = ["classes_of", "convert_linear_regressor", "convert_logistic_regression", "convert_mlp"]


def classes_of(est: Any, where: str) -> tuple[Any, ...]:
    """``classes_`` as plain Python values (at least two)."""
    classes = getattr(est, "classes_", None)
    if classes is None or np.ndim(classes) != 1:
        raise unsupported(est, "multi-output / multi-label classification is not supported", where)
    out = tuple(c.item() if hasattr(c, "item") and not isinstance(c, str) else c for c in classes)
    if len(out) < 2:
        raise unsupported(est, f"a classifier needs at least 2 classes, this one was fitted on {len(out)}", where)
    for c in out:
        if not isinstance(c, (str, int, float, bool)):
            raise unsupported(est, f"class label {c!r} is not a string or number", where)
    return out


def convert_linear_regressor(est: Any, names: list[str], cols: Columns, where: str, target: str) -> tuple[LinearModel, Target]:
    coef = np.asarray(est.coef_, dtype=np.float64)
    if coef.ndim == 2:
        if coef.shape[0] != 1:
            raise unsupported(est, f"multi-output regression ({coef.shape[0]} targets) is not supported", where)
        coef = coef[0]
    intercept = np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64)).ravel()
    if intercept.shape != (1,):
        raise unsupported(est, "multi-output regression is not supported", where)
    _check_width(est, names, coef.shape[0], where)
    features = cols.distinct(names, where=where)
    model = LinearModel(features=tuple(features), coefficients=coef.reshape(1, -1), intercepts=intercept)
    return model, Target(name=target, task="regression")


def convert_logistic_regression(est: Any, names: list[str], cols: Columns, where: str, target: str) -> tuple[LinearModel, Target]:
    classes = classes_of(est, where)
    coef = np.asarray(est.coef_, dtype=np.float64)
    intercept = np.asarray(est.intercept_, dtype=np.float64).ravel()
    if len(classes) == 2:
        normalization = "logistic"
        if coef.shape[0] != 1:  # pragma: no cover - scikit-learn always stores one row for 2 classes
            raise unsupported(est, f"unexpected coef_ shape {coef.shape} for a binary model", where)
    else:
        normalization = "softmax"
        multi_class = getattr(est, "multi_class", "deprecated")
        if multi_class == "ovr" or (multi_class == "auto" and getattr(est, "solver", "") == "liblinear"):
            raise unsupported(est, "one-vs-rest multiclass (multi_class='ovr') is not supported; use multinomial", where)
    _check_width(est, names, coef.shape[1], where)
    features = cols.distinct(names, where=where)
    model = LinearModel(features=tuple(features), coefficients=coef, intercepts=intercept, normalization=normalization)  # type: ignore[arg-type]
    return model, Target(name=target, task="classification", classes=classes)


def convert_mlp(est: Any, names: list[str], cols: Columns, where: str, target: str) -> tuple[MLP, Target]:
    from sklearn.base import is_classifier

    hidden, out_act = est.activation, est.out_activation_
    for act in (hidden, out_act):
        if act not in ACTIVATIONS:
            raise unsupported(est, f"activation {act!r} is not supported", where)
    if is_classifier(est):
        binarizer = getattr(est, "_label_binarizer", None)
        if getattr(binarizer, "y_type_", "") == "multilabel-indicator":
            raise unsupported(est, "multi-label classification is not supported", where)
        classes = classes_of(est, where)
        tgt = Target(name=target, task="classification", classes=classes)
    else:
        if est.n_outputs_ != 1:
            raise unsupported(est, f"multi-output regression ({est.n_outputs_} targets) is not supported", where)
        tgt = Target(name=target, task="regression")
    _check_width(est, names, np.shape(est.coefs_[0])[0], where)
    n = len(est.coefs_)
    layers = tuple(
        DenseLayer(weights=w, biases=b, activation=hidden if i < n - 1 else out_act)
        for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_))
    )
    features = cols.distinct(names, where=where)
    return MLP(features=tuple(features), layers=layers), tgt


def _check_width(est: Any, names: list[str], n: int, where: str) -> None:
    if n != len(names):
        raise unsupported(est, f"fitted on {n} columns but receives {len(names)}", where)
