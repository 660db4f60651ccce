"""Import fitted scikit-learn estimators and pipelines as portamodel :class:`~portamodel.ir.Model` s.

>>> from sklearn.datasets import load_iris
>>> from sklearn.linear_model import LogisticRegression
>>> X, y = load_iris(return_X_y=True)
>>> model = from_sklearn(LogisticRegression(max_iter=1000).fit(X, y))
>>> model.input_names, model.classes
(('x0', 'x1', 'x2', 'x3'), (0, 1, 2))

Supported: linear regressors (``LinearRegression``, ``Ridge``, ``Lasso``, ``ElasticNet``, their
``CV`` variants, ``SGDRegressor``, ``HuberRegressor``, ``BayesianRidge``), ``LogisticRegression``,
``DecisionTree*``, ``RandomForest*``, ``ExtraTrees*``, ``GradientBoosting*``,
``HistGradientBoosting*``, ``MLP*``; in front of them ``Pipeline`` and ``ColumnTransformer`` of
``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``, ``SimpleImputer``,
``MissingIndicator``, ``OneHotEncoder``, ``OrdinalEncoder`` and identity ``FunctionTransformer`` s.
Anything else raises :class:`~portamodel.errors.UnsupportedFeatureError` naming the class and
the pipeline step. Predictions of the returned model equal scikit-learn's (labels identical, values
to rounding; tree paths exact), see :mod:`portamodel.importers.sklearn_trees` for the details.

scikit-learn is imported only when this function runs (``pip install portamodel[sklearn]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import MissingDependencyError, PortamodelError
from .ir import Metadata, Model

__all__ = ["from_sklearn"]

_INPUT_DTYPES = {None: "double", "double": "double", "float64": "double", "float": "float", "float32": "float"}


def _import_sklearn() -> Any:
    try:
        import sklearn
    except ImportError:
        raise MissingDependencyError("scikit-learn is needed to import scikit-learn models: pip install portamodel[sklearn]") from None
    return sklearn


def from_sklearn(
    estimator: Any,
    *,
    feature_names: Sequence[str] | None = None,
    input_dtype: str | None = None,
    target_name: str = "y",
    name: str | None = None,
    description: str | None = None,
    **options: Any,
) -> Model:
    """Turn a fitted scikit-learn estimator or pipeline into a :class:`~portamodel.ir.Model`.

    ``feature_names`` names the input columns when the estimator was fitted on a plain array
    (default ``x0 .. x{n-1}``; a DataFrame's column names are used automatically).
    ``input_dtype`` is the type of the numeric inputs: ``"double"`` (default) or ``"float"`` when
    you will pass float32 data. ``target_name`` names the prediction (default ``"y"``); ``name``
    and ``description`` go to the metadata (default: the estimator's class and its steps).
    """
    sklearn = _import_sklearn()
    from .importers.sklearn_columns import Columns, unsupported
    from .importers.sklearn_estimators import convert_estimator
    from .importers.sklearn_transformers import check_fitted, convert_transformer

    if options:
        raise PortamodelError(
            f"unknown option(s) {', '.join(sorted(options))}; from_sklearn takes feature_names, input_dtype, target_name, name, description"
        )
    if input_dtype not in _INPUT_DTYPES:
        raise PortamodelError(f"input_dtype must be one of 'double', 'float' (or None); got {input_dtype!r}")
    if not isinstance(target_name, str) or not target_name:
        raise PortamodelError(f"target_name must be a non-empty string; got {target_name!r}")
    from sklearn.pipeline import Pipeline

    check_fitted(estimator, "estimator")
    names = _input_names(estimator, feature_names, unsupported)
    cols = Columns(names)
    current, final, where = list(names), estimator, "estimator"
    while type(final) is Pipeline:  # transformers of (nested) pipelines, then the last step predicts
        prefix = "" if where == "estimator" else where + "."
        steps = [(n, s) for n, s in final.steps if not (s is None or (isinstance(s, str) and s == "passthrough"))]
        if not steps:
            raise unsupported(final, "the pipeline has no final estimator", where)
        for step_name, step in steps[:-1]:
            current = convert_transformer(step, current, cols, f"{prefix}steps[{step_name!r}]")
        final_name, final = steps[-1]
        where = f"{prefix}steps[{final_name!r}]"
    check_fitted(final, where)
    est, target = convert_estimator(final, current, cols, where, target_name)
    metadata = Metadata(
        name=name if name is not None else type(estimator).__name__,
        description=description if description is not None else _describe(estimator),
        producer="scikit-learn",
        producer_version=str(sklearn.__version__),
        created=Metadata.now(),
    )
    return Model(
        inputs=cols.fields(_INPUT_DTYPES[input_dtype]),
        target=target,
        estimator=est,
        steps=tuple(cols.steps),
        metadata=metadata,
    )


def _input_names(estimator: Any, feature_names: Sequence[str] | None, unsupported: Any) -> list[str]:
    n = getattr(estimator, "n_features_in_", None)
    if not isinstance(n, int) or n < 1:
        raise unsupported(estimator, "cannot tell how many input columns the estimator takes (n_features_in_)", "estimator")
    fitted_names = getattr(estimator, "feature_names_in_", None)
    given = None if feature_names is None else list(feature_names)
    if given is not None and (len(given) != n or not all(isinstance(g, str) and g for g in given) or len(set(given)) != n):
        raise PortamodelError(f"feature_names must be {n} distinct non-empty strings; got {given!r}")
    if fitted_names is not None:
        fitted = [str(f) for f in fitted_names]
        if given is not None and given != fitted:
            raise PortamodelError(f"feature_names {given!r} differ from the column names the estimator was fitted with {fitted!r}")
        return fitted
    return given if given is not None else [f"x{i}" for i in range(n)]


def _describe(estimator: Any) -> str:
    """A one-line summary of the estimator and its steps."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    def walk(obj: Any) -> str:
        if isinstance(obj, Pipeline):
            return "Pipeline(" + ", ".join(f"{n}={walk(s)}" for n, s in obj.steps) + ")"
        if isinstance(obj, ColumnTransformer):
            parts = getattr(obj, "transformers_", obj.transformers)
            return "ColumnTransformer(" + ", ".join(f"{n}={walk(t)}" for n, t, _ in parts) + ")"
        return obj if isinstance(obj, str) else type(obj).__name__

    return "scikit-learn " + walk(estimator)
