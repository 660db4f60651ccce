"""portamodel.from_sklearn: fitted scikit-learn models scored by portamodel must predict exactly
what scikit-learn predicts (labels identical, values within 1e-9 relative, tree paths exact).

Every test fits a real scikit-learn model on real or synthetic data and compares predictions on
held-out rows, on rows placed at / one float step beside every split point the model uses
(``helpers.sample_inputs``), and on rows with missing values and unknown categories.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
)
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from threadpoolctl import threadpool_limits

import portamodel
from helpers import sample_inputs
from portamodel import InputError, MissingDependencyError, UnsupportedFeatureError
from portamodel.ir import OP_CODE, Affine, Impute, Lookup, OneHot, TreeEnsemble
from portamodel.sklearn import from_sklearn

RTOL = 1e-9


@pytest.fixture(autouse=True)
def _one_thread() -> Any:
    """OpenMP spin-waiting on a busy 2-core CI box makes HistGradientBoosting fits ~80x slower."""
    with threadpool_limits(1):
        yield


# -- data -----------------------------------------------------------------------------------------
def _split(loader: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = loader(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0)


IRIS = _split(datasets.load_iris)
CANCER = _split(datasets.load_breast_cancer)
WINE = _split(datasets.load_wine)
DIABETES = _split(datasets.load_diabetes)
DATA = {"iris": IRIS, "breast_cancer": CANCER, "wine": WINE}


def _mixed_frame(n: int, seed: int) -> pd.DataFrame:
    """Numeric columns with NaN, string columns with NaN, an integer-coded category, an ID."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, n).round(1)
    income = rng.lognormal(10, 0.6, n).round(2)
    age[rng.random(n) < 0.1] = np.nan
    income[rng.random(n) < 0.1] = np.nan
    city = rng.choice(np.array(["paris", "rome", "oslo", "lima"], dtype=object), n)
    city[rng.random(n) < 0.1] = np.nan
    plan = rng.choice(np.array(["basic", "pro"], dtype=object), n)
    return pd.DataFrame(
        {
            "id": [f"row{i}" for i in range(n)],
            "age": age,
            "income": income,
            "city": pd.Series(city, dtype=object),
            "plan": pd.Series(plan, dtype=object),
            "rooms": rng.integers(1, 5, n).astype(np.float64),
        }
    )


def _mixed_target(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    score = (
        np.nan_to_num(df["age"].to_numpy(), nan=40.0) / 10
        + (df["city"] == "rome").to_numpy() * 2.0
        - (df["plan"] == "pro").to_numpy() * 1.5
        + df["rooms"].to_numpy() * 0.7
    )
    labels = np.where(score > np.median(score), "yes", "no").astype(object)
    return labels, score


MIXED_TRAIN = _mixed_frame(400, 1)
MIXED_TEST = pd.concat(
    [
        _mixed_frame(150, 2),
        pd.DataFrame(  # unseen category, every kind of missing value, an unseen integer code
            {
                "id": ["u1", "u2", "u3", "u4"],
                "age": [np.nan, 30.0, 55.5, np.nan],
                "income": [np.nan, 1e4, np.nan, 5e4],
                "city": pd.Series(["tokyo", np.nan, "rome", np.nan], dtype=object),
                "plan": pd.Series(["pro", "basic", np.nan, "basic"], dtype=object),
                "rooms": [7.0, 2.0, 3.0, 1.0],
            }
        ),
    ],
    ignore_index=True,
)
Y_MIXED_CLASS, Y_MIXED_REG = _mixed_target(MIXED_TRAIN)


# -- comparison -----------------------------------------------------------------------------------
def _rows(model: portamodel.Model, X: Any, n: int = 300, seed: int = 0, missing: float | None = None) -> Any:
    """Held-out rows plus rows at/next to every split point (columns in the model's input order)."""
    est = model.estimator
    if isinstance(est, TreeEnsemble):  # "+inf" splits are stored as DBL_MAX: not a useful probe point
        huge = est.threshold == np.finfo(np.float64).max
        model = model.replace(estimator=est.replace(threshold=np.where(huge, 0.0, est.threshold)))
    probe = sample_inputs(model, n, seed=seed, missing=missing)
    if isinstance(X, pd.DataFrame):
        return pd.concat([X, pd.DataFrame(probe)[list(X.columns)]], ignore_index=True)
    return np.vstack([X, np.column_stack([probe[name] for name in model.input_names])])


def _close(ours: np.ndarray, theirs: np.ndarray, exact: bool) -> None:
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape
    if exact:
        np.testing.assert_array_equal(ours, theirs)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-300)


def _sklearn(method: Any, X: Any) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "unknown categories will be encoded as all zeros"
        return np.asarray(method(X))


def check_classifier(est: Any, X: Any, *, exact: bool = False, **options: Any) -> portamodel.Model:
    model = from_sklearn(est, **options)
    assert model.task == "classification"
    assert list(model.classes) == est.classes_.tolist()
    assert model.predict(X).tolist() == _sklearn(est.predict, X).tolist()
    _close(model.predict_proba(X), _sklearn(est.predict_proba, X), exact)
    return model


def check_regressor(est: Any, X: Any, *, exact: bool = False, **options: Any) -> portamodel.Model:
    model = from_sklearn(est, **options)
    assert model.task == "regression"
    _close(model.predict(X), _sklearn(est.predict, X), exact)
    return model


# -- linear models --------------------------------------------------------------------------------
@pytest.mark.parametrize("factory", [LinearRegression, Ridge, lambda: Lasso(alpha=0.05), lambda: ElasticNet(alpha=0.01)])
def test_linear_regressors(factory: Any) -> None:
    Xtr, Xte, ytr, _ = DIABETES
    model = check_regressor(factory().fit(Xtr, ytr), Xte)
    assert model.family == "linear"
    assert model.metadata.producer == "scikit-learn"


@pytest.mark.parametrize("name", ["RidgeCV", "LassoCV", "ElasticNetCV", "SGDRegressor", "HuberRegressor", "BayesianRidge"])
def test_more_linear_regressors(name: str) -> None:
    from sklearn import linear_model

    Xtr, Xte, ytr, _ = DIABETES
    kw = {"cv": 3} if name.endswith("CV") and name != "RidgeCV" else {}
    est = make_pipeline(StandardScaler(), getattr(linear_model, name)(**kw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        est.fit(Xtr, ytr)
    check_regressor(est, Xte)


def test_linear_regression_without_intercept_and_2d_target() -> None:
    Xtr, Xte, ytr, _ = DIABETES
    check_regressor(LinearRegression(fit_intercept=False).fit(Xtr, ytr), Xte)
    check_regressor(Ridge().fit(Xtr, ytr.reshape(-1, 1)), Xte)


@pytest.mark.parametrize("data", ["breast_cancer", "iris", "wine"])
def test_logistic_regression(data: str) -> None:
    Xtr, Xte, ytr, _ = DATA[data]
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5)).fit(Xtr, ytr)
    model = check_classifier(est, Xte)
    assert model.estimator.normalization == ("logistic" if data == "breast_cancer" else "softmax")


def test_logistic_regression_string_labels_and_class_weight() -> None:
    Xtr, Xte, ytr, _ = IRIS
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[ytr]
    est = LogisticRegression(max_iter=2000, class_weight={"setosa": 2.0, "versicolor": 1.0, "virginica": 1.0})
    model = check_classifier(est.fit(Xtr, names), Xte)
    assert model.classes == ("setosa", "versicolor", "virginica")
    assert all(type(c) is str for c in model.classes)


# -- single trees and forests ---------------------------------------------------------------------
@pytest.mark.parametrize("data", ["iris", "breast_cancer"])
def test_decision_tree_classifier_exact(data: str) -> None:
    Xtr, Xte, ytr, _ = DATA[data]
    est = DecisionTreeClassifier(random_state=0, min_samples_leaf=2).fit(Xtr, ytr)
    model = from_sklearn(est)
    assert isinstance(model.estimator, TreeEnsemble) and model.estimator.input_dtype == "float32"
    check_classifier(est, _rows(model, Xte, missing=0.1), exact=True)


def test_decision_tree_regressor_exact() -> None:
    Xtr, Xte, ytr, _ = DIABETES
    est = DecisionTreeRegressor(random_state=0, max_depth=8).fit(Xtr, ytr)
    check_regressor(est, _rows(from_sklearn(est), Xte, missing=0.1), exact=True)


def test_tree_trained_with_missing_values_follows_missing_go_to_left() -> None:
    Xtr, Xte, ytr, _ = WINE
    rng = np.random.default_rng(3)
    Xtr = Xtr.copy()
    Xtr[rng.random(Xtr.shape) < 0.2] = np.nan
    Xte = Xte.copy()
    Xte[rng.random(Xte.shape) < 0.2] = np.nan
    est = DecisionTreeClassifier(random_state=0).fit(Xtr, ytr)
    assert est.tree_.missing_go_to_left[est.tree_.children_left >= 0].any()
    check_classifier(est, _rows(from_sklearn(est), Xte, missing=0.2), exact=True)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(Xtr, ytr)
    check_classifier(forest, _rows(from_sklearn(forest), Xte, missing=0.2))


@pytest.mark.parametrize("cls", [RandomForestClassifier, ExtraTreesClassifier])
@pytest.mark.parametrize("data", ["iris", "breast_cancer"])
def test_forest_classifiers(cls: Any, data: str) -> None:
    Xtr, Xte, ytr, _ = DATA[data]
    est = cls(n_estimators=15, random_state=0, max_depth=6).fit(Xtr, ytr)
    model = from_sklearn(est)
    assert model.estimator.aggregation == "average" and model.estimator.n_trees == 15
    check_classifier(est, _rows(model, Xte, missing=0.1))


@pytest.mark.parametrize("cls", [RandomForestRegressor, ExtraTreesRegressor])
def test_forest_regressors(cls: Any) -> None:
    Xtr, Xte, ytr, _ = DIABETES
    est = cls(n_estimators=15, random_state=0, max_depth=6).fit(Xtr, ytr)
    check_regressor(est, _rows(from_sklearn(est), Xte, missing=0.1))


def test_scaler_before_tree_casts_the_scaled_value_to_float32() -> None:
    Xtr, Xte, ytr, _ = WINE
    est = make_pipeline(MinMaxScaler(), DecisionTreeClassifier(random_state=0)).fit(Xtr, ytr)
    model = from_sklearn(est)
    assert isinstance(model.steps[0], Affine)
    # Raw values whose scaled value lands on / next to each threshold (after float32 rounding).
    scaler, tree = est[0], est[1].tree_
    rows = []
    for node in np.flatnonzero(tree.children_left >= 0):
        j, t = tree.feature[node], tree.threshold[node]
        raw = (t - scaler.min_[j]) / scaler.scale_[j]
        for x in (raw, np.nextafter(raw, np.inf), np.nextafter(raw, -np.inf), raw * (1 + 1e-7), raw * (1 - 1e-7)):
            row = Xte[node % len(Xte)].copy()
            row[j] = x
            rows.append(row)
    check_classifier(est, np.vstack([Xte, *rows]), exact=True)


# -- gradient boosting ----------------------------------------------------------------------------
@pytest.mark.parametrize("data", ["breast_cancer", "iris"])
def test_gradient_boosting_classifier(data: str) -> None:
    Xtr, Xte, ytr, _ = DATA[data]
    est = GradientBoostingClassifier(n_estimators=20, max_depth=3, learning_rate=0.2, random_state=0).fit(Xtr, ytr)
    model = from_sklearn(est)
    ens = model.estimator
    assert ens.post_transform == ("logistic" if data == "breast_cancer" else "softmax")
    np.testing.assert_array_equal(ens.tree_weights, 0.2)
    check_classifier(est, _rows(model, Xte, missing=0.0))


def test_gradient_boosting_classifier_exponential_loss_and_zero_init() -> None:
    Xtr, Xte, ytr, _ = CANCER
    for kw in ({"loss": "exponential"}, {"init": "zero"}, {"loss": "exponential", "init": "zero"}):
        est = GradientBoostingClassifier(n_estimators=15, random_state=0, **kw).fit(Xtr, ytr)
        check_classifier(est, _rows(from_sklearn(est), Xte, missing=0.0))


@pytest.mark.parametrize(
    "kw",
    [{}, {"init": "zero"}, {"loss": "absolute_error"}, {"loss": "huber"}, {"loss": "quantile", "alpha": 0.8}],
    ids=["default", "zero", "absolute", "huber", "quantile"],
)
def test_gradient_boosting_regressor(kw: dict[str, Any]) -> None:
    Xtr, Xte, ytr, _ = DIABETES
    est = GradientBoostingRegressor(n_estimators=20, random_state=0, subsample=0.8, **kw).fit(Xtr, ytr)
    model = from_sklearn(est)
    if "init" not in kw:
        assert model.estimator.base_score[0] != 0.0
    check_regressor(est, _rows(model, Xte, missing=0.0))


def test_gradient_boosting_missing_input_gives_missing_prediction() -> None:
    Xtr, _, ytr, _ = DIABETES
    est = GradientBoostingRegressor(n_estimators=5, random_state=0).fit(Xtr, ytr)
    X = Xtr[:3].copy()
    X[:, :] = np.nan
    with pytest.raises(ValueError):  # scikit-learn refuses NaN here
        est.predict(X)
    assert np.isnan(from_sklearn(est).predict(X)).all()


def test_gradient_boosting_custom_init_is_unsupported() -> None:
    Xtr, _, ytr, _ = DIABETES
    est = GradientBoostingRegressor(n_estimators=3, init=LinearRegression()).fit(Xtr, ytr)
    with pytest.raises(UnsupportedFeatureError, match=r"GradientBoostingRegressor.*LinearRegression"):
        from_sklearn(est)
    # A constant DummyRegressor init is exactly representable.
    est = GradientBoostingRegressor(n_estimators=3, init=DummyRegressor(strategy="median")).fit(Xtr, ytr)
    check_regressor(est, DIABETES[1])


# -- histogram gradient boosting ------------------------------------------------------------------
@pytest.mark.parametrize("data", ["breast_cancer", "wine"])
def test_hist_gradient_boosting_classifier(data: str) -> None:
    Xtr, Xte, ytr, _ = DATA[data]
    est = HistGradientBoostingClassifier(max_iter=25, random_state=0).fit(Xtr, ytr)
    model = from_sklearn(est)
    assert model.estimator.input_dtype == "float64"
    check_classifier(est, _rows(model, Xte, missing=0.1))


def test_hist_gradient_boosting_missing_values() -> None:
    """NaN seen in training goes where the split learnt; unseen NaN goes to the bigger child."""
    Xtr, Xte, ytr, _ = DIABETES
    rng = np.random.default_rng(5)
    Xtr = Xtr.copy()
    Xtr[:, :4][rng.random((Xtr.shape[0], 4)) < 0.25] = np.nan  # columns 4.. never missing in training
    est = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(Xtr, ytr)
    model = from_sklearn(est)
    nodes = np.concatenate([p[0].nodes for p in est._predictors])
    assert (nodes["num_threshold"] == np.inf).any() or nodes["missing_go_to_left"].any()
    check_regressor(est, _rows(model, Xte, n=400, missing=0.3))


def test_hist_gradient_boosting_poisson() -> None:
    Xtr, Xte, ytr, _ = DIABETES
    est = HistGradientBoostingRegressor(loss="poisson", max_iter=20, random_state=0).fit(Xtr, ytr)
    model = check_regressor(est, _rows(from_sklearn(est), Xte, missing=0.1))
    assert model.estimator.post_transform == "exp"


def test_hist_gradient_boosting_categorical_features() -> None:
    df = MIXED_TRAIN[["age", "income", "city", "plan", "rooms"]].copy()
    df["city"] = df["city"].astype("category")
    df["plan"] = df["plan"].astype("category")
    est = HistGradientBoostingClassifier(max_iter=20, random_state=0, categorical_features="from_dtype")
    est.fit(df, Y_MIXED_CLASS)
    model = from_sklearn(est)
    ens = model.estimator
    assert (ens.op == OP_CODE["in"]).any()
    assert sum(isinstance(s, Lookup) for s in model.steps) == 2
    test = MIXED_TEST[["age", "income", "city", "plan", "rooms"]].copy()
    test["plan"] = test["plan"].astype("category")
    test["city"] = test["city"].astype("category")
    check_classifier(est, test)
    # integer-coded categories given by index on a plain array (numeric categories)
    X = np.column_stack([df["age"], df["rooms"]])
    reg = HistGradientBoostingRegressor(max_iter=15, categorical_features=[1], random_state=0).fit(X, Y_MIXED_REG)
    Xt = np.column_stack([test["age"], test["rooms"]])
    model = check_regressor(reg, Xt)
    assert isinstance(model.steps[0], Lookup) and model.steps[0].keys == (1.0, 2.0, 3.0, 4.0)


# -- neural networks ------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_mlp_classifier(activation: str) -> None:
    Xtr, Xte, ytr, _ = IRIS
    est = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8, 5), activation=activation, max_iter=300, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        est.fit(Xtr, ytr)
    model = check_classifier(est, Xte)
    assert model.estimator.layers[-1].activation == "softmax"
    assert model.estimator.compute_dtype == "float64"  # scikit-learn's MLPs compute in float64


def test_mlp_binary_and_regressor() -> None:
    Xtr, Xte, ytr, _ = CANCER
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(6,), max_iter=200, random_state=0)).fit(Xtr, ytr)
        Rtr, Rte, rtr, _ = DIABETES
        reg = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(10,), activation="tanh", max_iter=300, random_state=0))
        reg.fit(Rtr, rtr)
    model = check_classifier(clf, Xte)
    assert model.estimator.n_outputs == 1 and model.estimator.layers[-1].activation == "logistic"
    check_regressor(reg, Rte)


# -- preprocessing --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "scaler",
    [
        StandardScaler(),
        StandardScaler(with_mean=False),
        StandardScaler(with_std=False),
        MinMaxScaler(feature_range=(-1, 2)),
        MinMaxScaler(clip=True),
        MaxAbsScaler(),
        RobustScaler(),
    ],
    ids=["std", "std-nomean", "std-nostd", "minmax", "minmax-clip", "maxabs", "robust"],
)
def test_scalers_in_front_of_a_linear_model(scaler: Any) -> None:
    Xtr, Xte, ytr, _ = DIABETES
    est = make_pipeline(scaler, Ridge(alpha=0.3)).fit(Xtr, ytr)
    # rows beyond the training range exercise MinMaxScaler's clipping
    check_regressor(est, np.vstack([Xte, Xte * 3.0]))


def _mixed_preprocessor(one_hot: OneHotEncoder) -> ColumnTransformer:
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    categorical = make_pipeline(SimpleImputer(strategy="most_frequent"), one_hot)
    return ColumnTransformer(
        [
            ("num", numeric, ["age", "income"]),
            ("cat", categorical, ["city", "plan"]),
            ("rooms", OneHotEncoder(handle_unknown="ignore"), ["rooms"]),
        ],
        remainder="drop",
    )


@pytest.mark.parametrize(
    "final",
    [
        lambda: LogisticRegression(max_iter=2000),
        lambda: RandomForestClassifier(n_estimators=10, random_state=0),
        lambda: GradientBoostingClassifier(n_estimators=10, random_state=0),
        lambda: HistGradientBoostingClassifier(max_iter=10, random_state=0),
        lambda: MLPClassifier(hidden_layer_sizes=(6,), max_iter=200, random_state=0),
    ],
    ids=["logistic", "forest", "gb", "hgb", "mlp"],
)
def test_column_transformer_pipeline_on_dataframe(final: Any) -> None:
    est = Pipeline([("prep", _mixed_preprocessor(OneHotEncoder(handle_unknown="ignore"))), ("model", final())])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        est.fit(MIXED_TRAIN, Y_MIXED_CLASS)
    model = check_classifier(est, MIXED_TEST)
    assert model.input_names == ("id", "age", "income", "city", "plan", "rooms")
    fields = {f.name: f for f in model.inputs}
    assert fields["city"].dtype == "string" and fields["age"].dtype == "double"
    assert fields["rooms"].optype == "categorical"
    assert fields["id"].dtype == "string"  # dropped by the ColumnTransformer: accepts anything
    kinds = [type(s).__name__ for s in model.steps]
    assert {"Impute", "Affine", "OneHot", "Derive"} <= set(kinds)
    assert model.classes == ("no", "yes")
    assert model.metadata.name == "Pipeline" and "ColumnTransformer" in model.metadata.description


def test_imputers_and_one_hot_variants_regression() -> None:
    prep = ColumnTransformer(
        [
            ("age", SimpleImputer(strategy="mean"), ["age"]),
            ("inc", SimpleImputer(strategy="constant", fill_value=-1.0), ["income"]),
            ("city", make_pipeline(SimpleImputer(strategy="constant"), OneHotEncoder(drop="first")), ["city"]),
            ("plan", OneHotEncoder(drop="if_binary", handle_unknown="ignore"), ["plan"]),
        ],
        remainder="passthrough",
    )
    est = make_pipeline(prep, LinearRegression()).fit(MIXED_TRAIN.drop(columns="id"), Y_MIXED_REG)
    test = MIXED_TEST.drop(columns="id")
    test = test[test["city"] != "tokyo"]  # OneHotEncoder(handle_unknown="error") refuses it
    model = check_regressor(est, test)
    impute = [s for s in model.steps if isinstance(s, Impute)]
    assert {v for s in impute for v in s.values} >= {"missing_value", -1.0}


def test_one_hot_with_missing_category_and_numeric_categories() -> None:
    """Without an imputer, NaN / None is a category of its own; numeric categories compare as numbers."""
    df = MIXED_TRAIN[["city", "rooms", "age"]]
    prep = ColumnTransformer([("oh", OneHotEncoder(handle_unknown="ignore"), ["city", "rooms"])], remainder=SimpleImputer())
    est = make_pipeline(prep, LogisticRegression(max_iter=2000)).fit(df, Y_MIXED_CLASS)
    model = check_classifier(est, MIXED_TEST[["city", "rooms", "age"]])
    onehots = [s for s in model.steps if isinstance(s, OneHot)]
    assert onehots[1].categories == (1.0, 2.0, 3.0, 4.0)


def test_one_hot_unknown_error_raises_like_sklearn() -> None:
    df = MIXED_TRAIN[["plan", "rooms"]]
    est = make_pipeline(
        ColumnTransformer([("oh", OneHotEncoder(handle_unknown="error"), ["plan"])], remainder="passthrough"),
        LogisticRegression(),
    ).fit(df, Y_MIXED_CLASS)
    model = check_classifier(est, df.iloc[:20])
    bad = pd.DataFrame({"plan": ["gold"], "rooms": [1.0]})
    with pytest.raises(ValueError):
        est.predict(bad)
    with pytest.raises(InputError):
        model.predict(bad)


def test_ordinal_encoder_and_selector_columns() -> None:
    df = MIXED_TRAIN[["city", "plan", "age"]]
    prep = ColumnTransformer(
        [
            ("ord", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), make_column_selector(dtype_include=object)),
            ("num", SimpleImputer(), make_column_selector(dtype_include="number")),
        ]
    )
    est = make_pipeline(prep, DecisionTreeClassifier(random_state=0, max_depth=5)).fit(df, Y_MIXED_CLASS)
    check_classifier(est, MIXED_TEST[["city", "plan", "age"]], exact=True)


def test_string_imputer_with_numpy_object_array_and_identity_function_transformer() -> None:
    X = MIXED_TRAIN[["city", "plan"]].to_numpy(dtype=object)
    est = make_pipeline(
        FunctionTransformer(),
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore"),
        LogisticRegression(),
    ).fit(X, Y_MIXED_CLASS)
    model = check_classifier(est, MIXED_TEST[["city", "plan"]].to_numpy(dtype=object))
    assert model.input_names == ("x0", "x1")


def test_nested_pipeline_and_boolean_labels() -> None:
    Xtr, Xte, ytr, _ = CANCER
    inner = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=2000))])
    est = Pipeline([("impute", SimpleImputer()), ("inner", inner)]).fit(Xtr, ytr == 1)
    model = check_classifier(est, Xte)
    assert model.classes == (False, True)
    bad = Pipeline([("impute", SimpleImputer()), ("inner", make_pipeline(PolynomialFeatures(), LinearRegression()))])
    bad.fit(Xtr[:, :3], ytr)
    with pytest.raises(UnsupportedFeatureError) as info:
        from_sklearn(bad)
    assert info.value.location == "steps['inner'].steps['polynomialfeatures']"


def test_repeated_columns_become_distinct_features() -> None:
    Xtr, Xte, ytr, _ = DIABETES
    prep = ColumnTransformer([("a", "passthrough", [0, 1]), ("b", "passthrough", [1, 2])])
    est = make_pipeline(prep, LinearRegression()).fit(Xtr, ytr)
    model = check_regressor(est, Xte)
    assert len(set(model.estimator.features)) == 4


# -- names, metadata, options ---------------------------------------------------------------------
def test_feature_names_and_metadata() -> None:
    Xtr, Xte, ytr, _ = IRIS
    est = LogisticRegression(max_iter=1000).fit(Xtr, ytr)
    assert from_sklearn(est).input_names == ("x0", "x1", "x2", "x3")
    model = from_sklearn(est, feature_names=["a", "b", "c", "d"], target_name="species")
    assert model.input_names == ("a", "b", "c", "d") and model.target.name == "species"
    import sklearn

    md = model.metadata
    assert (md.producer, md.producer_version, md.name) == ("scikit-learn", sklearn.__version__, "LogisticRegression")
    assert md.created.endswith("+00:00")
    df = pd.DataFrame(Xtr, columns=["sl", "sw", "pl", "pw"])
    named = LogisticRegression(max_iter=1000).fit(df, ytr)
    assert from_sklearn(named).input_names == ("sl", "sw", "pl", "pw")
    assert (
        from_sklearn(named).predict(pd.DataFrame(Xte, columns=df.columns)).tolist()
        == named.predict(pd.DataFrame(Xte, columns=df.columns)).tolist()
    )
    with pytest.raises(portamodel.PortamodelError, match="differ"):
        from_sklearn(named, feature_names=["a", "b", "c", "d"])
    with pytest.raises(portamodel.PortamodelError, match="4 distinct"):
        from_sklearn(est, feature_names=["a", "a", "b", "c"])
    with pytest.raises(portamodel.PortamodelError, match="input_dtype"):
        from_sklearn(est, input_dtype="int8")


def test_float_input_dtype() -> None:
    Xtr, Xte, ytr, _ = IRIS
    est = DecisionTreeClassifier(random_state=0).fit(Xtr, ytr)
    model = from_sklearn(est, input_dtype="float")
    assert all(f.dtype == "float" for f in model.inputs)
    X32 = Xte.astype(np.float32)
    assert model.predict(X32).tolist() == est.predict(X32).tolist()


def test_public_entry_point_and_lazy_import() -> None:
    Xtr, _, ytr, _ = DIABETES
    est = LinearRegression().fit(Xtr, ytr)
    assert portamodel.from_sklearn(est).estimator == from_sklearn(est).estimator
    code = "import sys, portamodel, portamodel.sklearn; assert 'sklearn' not in sys.modules, 'imported sklearn'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_sklearn_raises_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn` fail
    with pytest.raises(MissingDependencyError, match=r"portamodel\[sklearn\]"):
        from_sklearn(object())


# -- unsupported input ----------------------------------------------------------------------------
def test_unsupported_estimators_and_steps_are_named() -> None:
    Xtr, _, ytr, _ = IRIS
    with pytest.raises(UnsupportedFeatureError, match="SVC") as info:
        from_sklearn(SVC().fit(Xtr, ytr))
    assert info.value.location == "estimator"
    poly = make_pipeline(StandardScaler(), PolynomialFeatures(), LogisticRegression(max_iter=50))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        poly.fit(Xtr, ytr)
    with pytest.raises(UnsupportedFeatureError, match="PolynomialFeatures") as info:
        from_sklearn(poly)
    assert "polynomialfeatures" in str(info.value.location)
    nested = make_pipeline(ColumnTransformer([("f", FunctionTransformer(np.log1p), [0, 1])]), LinearRegression())
    nested.fit(Xtr, ytr)
    with pytest.raises(UnsupportedFeatureError, match=r"FunctionTransformer.*log1p") as info:
        from_sklearn(nested)
    assert info.value.location == "steps['columntransformer'].transformers['f']"


def test_not_an_estimator_and_unknown_options() -> None:
    with pytest.raises(UnsupportedFeatureError, match="int"):
        from_sklearn(42)
    Xtr, _, ytr, _ = IRIS
    est = LogisticRegression(max_iter=1000).fit(Xtr, ytr)
    with pytest.raises(portamodel.PortamodelError, match="unknown option"):
        from_sklearn(est, feature_name=["a", "b", "c", "d"])
    with pytest.raises(portamodel.PortamodelError, match="target_name"):
        from_sklearn(est, target_name="")


@pytest.mark.parametrize(
    "est",
    [LinearRegression(), make_pipeline(StandardScaler(), LogisticRegression()), RandomForestClassifier()],
    ids=["linear", "pipeline", "forest"],
)
def test_unfitted_estimators_are_refused(est: Any) -> None:
    with pytest.raises(UnsupportedFeatureError, match="not fitted"):
        from_sklearn(est)


def test_unsupported_parameters() -> None:
    Xtr, _, ytr, _ = DIABETES
    multi = np.column_stack([ytr, ytr * 2])
    with pytest.raises(UnsupportedFeatureError, match="multi-output"):
        from_sklearn(LinearRegression().fit(Xtr, multi))
    with pytest.raises(UnsupportedFeatureError, match="multi-output"):
        from_sklearn(DecisionTreeRegressor(max_depth=2).fit(Xtr, multi))
    rare = OneHotEncoder(min_frequency=30, handle_unknown="infrequent_if_exist")
    est = make_pipeline(ColumnTransformer([("c", rare, ["city"])]), LogisticRegression()).fit(MIXED_TRAIN, Y_MIXED_CLASS)
    with pytest.raises(UnsupportedFeatureError, match=r"OneHotEncoder.*infrequent"):
        from_sklearn(est)
    imputer = make_pipeline(SimpleImputer(missing_values=-1.0), LinearRegression()).fit(Xtr, ytr)
    with pytest.raises(UnsupportedFeatureError, match="missing_values"):
        from_sklearn(imputer)
