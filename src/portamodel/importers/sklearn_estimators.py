"""Dispatch a fitted scikit-learn predictor to the converter for its family.

Classes are matched exactly (a subclass may predict differently, so it is refused).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ir import Estimator, Target
from .sklearn_columns import Columns, unsupported
from .sklearn_linear import convert_linear_regressor, convert_logistic_regression, convert_mlp
from .sklearn_trees import convert_forest, convert_gradient_boosting, convert_hist_gradient_boosting, convert_tree

__all__ = ["convert_estimator"]

Converter = Callable[[Any, list[str], Columns, str, str], tuple[Estimator, Target]]


def convert_estimator(est: Any, names: list[str], cols: Columns, where: str, target: str) -> tuple[Estimator, Target]:
    """The IR estimator and target for fitted predictor ``est`` reading columns ``names``."""
    converter = _table().get(type(est))
    if converter is None:
        raise unsupported(est, "this estimator is not supported by portamodel.from_sklearn", where)
    return converter(est, list(names), cols, where, target)


def _table() -> dict[type, Converter]:
    from sklearn import ensemble, linear_model, neural_network, tree

    table: dict[type, Converter] = {}
    for name in (
        "LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV",
        "SGDRegressor", "HuberRegressor", "BayesianRidge",
    ):  # fmt: skip
        table[getattr(linear_model, name)] = convert_linear_regressor
    table[linear_model.LogisticRegression] = convert_logistic_regression
    table[neural_network.MLPClassifier] = convert_mlp
    table[neural_network.MLPRegressor] = convert_mlp
    table[tree.DecisionTreeClassifier] = convert_tree
    table[tree.DecisionTreeRegressor] = convert_tree
    for cls in (
        ensemble.RandomForestClassifier, ensemble.RandomForestRegressor,
        ensemble.ExtraTreesClassifier, ensemble.ExtraTreesRegressor,
    ):  # fmt: skip
        table[cls] = convert_forest
    table[ensemble.GradientBoostingClassifier] = convert_gradient_boosting
    table[ensemble.GradientBoostingRegressor] = convert_gradient_boosting
    table[ensemble.HistGradientBoostingClassifier] = convert_hist_gradient_boosting
    table[ensemble.HistGradientBoostingRegressor] = convert_hist_gradient_boosting
    return table
