"""Scoring survives whatever a caller passes in: bad input raises InputError naming what and where.

Covered: wrong width and shape, missing / extra / reordered columns, wrong dtypes (strings,
bytes that are not UTF-8, complex, dates, nested sequences, integers beyond float range),
NaN and infinity, unseen categories under every policy, zero rows (empty results of the right
shape in every input form), huge batches (tree ensembles are scored in row chunks with bounded
memory; so are MLPs), and a property test feeding random models messy
columns. Warnings are errors here (pyproject), so no RuntimeWarning may escape either.
"""

from __future__ import annotations

import datetime
import decimal
import tracemalloc
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import sample_inputs
from portamodel.errors import InputError
from portamodel.ir import MLP, DenseLayer, Field, Impute, LinearModel, Lookup, Model, OneHot, Target, TreeEnsemble
from strategies import models

NAMES = ("a", "b", "c")


def _stump_forest(n_trees: int, depth: int, n_features: int, seed: int = 0) -> TreeEnsemble:
    """``n_trees`` full binary trees of ``depth`` with random splits (every missing value goes true)."""
    rng = np.random.default_rng(seed)
    feature: list[int] = []
    threshold: list[float] = []
    tc: list[int] = []
    fc: list[int] = []
    values: list[list[float]] = []
    roots = []

    def build(d: int) -> int:
        i = len(feature)
        feature.append(-1)
        threshold.append(0.0)
        tc.append(-1)
        fc.append(-1)
        values.append([float(rng.normal())])
        if d < depth:
            feature[i] = int(rng.integers(0, n_features))
            threshold[i] = float(rng.normal())
            tc[i] = build(d + 1)
            fc[i] = build(d + 1)
        return i

    for _ in range(n_trees):
        roots.append(build(0))
    n = len(feature)
    return TreeEnsemble(
        features=tuple(f"x{j}" for j in range(n_features)), roots=roots, feature=feature, threshold=threshold,
        op=[0] * n, true_child=tc, false_child=fc, missing=[1] * n, values=values,
    )  # fmt: skip


def linear_regression() -> Model:
    return Model(
        inputs=tuple(Field(name=n) for n in NAMES),
        target=Target(name="y", task="regression"),
        estimator=LinearModel(features=NAMES, coefficients=[[1.0, -2.0, 0.5]], intercepts=[0.25]),
    )


def tree_classifier() -> Model:
    est = _stump_forest(3, 2, 3)
    est = TreeEnsemble(
        features=NAMES, roots=est.roots, feature=est.feature, threshold=est.threshold, op=est.op,
        true_child=est.true_child, false_child=est.false_child, missing=est.missing,
        values=np.abs(est.values), post_transform="logistic",
    )  # fmt: skip
    return Model(inputs=tuple(Field(name=n) for n in NAMES), target=Target(name="y", task="classification", classes=(0, 1)), estimator=est)


def mlp_regression() -> Model:
    rng = np.random.default_rng(1)
    layers = (
        DenseLayer(weights=rng.normal(size=(3, 5)), biases=rng.normal(size=5), activation="tanh"),
        DenseLayer(weights=rng.normal(size=(5, 1)), biases=[0.0]),
    )
    return Model(
        inputs=tuple(Field(name=n) for n in NAMES), target=Target(name="y", task="regression"), estimator=MLP(features=NAMES, layers=layers)
    )


def categorical(invalid: str = "error", unknown: str = "ignore") -> Model:
    """x (number) and colour (string category) -> OneHot -> logistic classifier with 3 classes."""
    return Model(
        inputs=(
            Field(name="x"),
            Field(name="colour", dtype="string", optype="categorical", values=("red", "green", "blue"), invalid=invalid),  # type: ignore[arg-type]
        ),
        steps=(OneHot(input="colour", categories=("red", "green", "blue"), outputs=("r", "g", "b"), unknown=unknown),),  # type: ignore[arg-type]
        target=Target(name="label", task="classification", classes=("p", "q", "s")),
        estimator=LinearModel(
            features=("x", "r", "g", "b"),
            coefficients=[[1.0, 0.5, 0.0, -0.5], [-1.0, 0.0, 1.0, 0.0], [0.0, -0.5, 0.0, 1.5]],
            intercepts=[0.0, 0.1, -0.1],
            normalization="softmax",
        ),
    )


NUMERIC_MODELS = {"linear": linear_regression, "tree": tree_classifier, "mlp": mlp_regression}
X_OK = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -3.0], [-0.25, 2.5, 0.75]])


def predict_all(model: Model, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
    y = model.predict(X)
    p = model.predict_proba(X) if model.task == "classification" else None
    return y, p


# -- shape: width, dimensions, missing / extra / reordered columns -------------------------------------


@pytest.mark.parametrize("family", NUMERIC_MODELS)
@pytest.mark.parametrize("width", [0, 2, 4, 10])
def test_wrong_width_names_both_counts(family: str, width: int) -> None:
    model = NUMERIC_MODELS[family]()
    with pytest.raises(InputError, match=rf"{width} columns but the model has 3 inputs"):
        model.predict(np.zeros((2, width)))


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros(3), r"2-D array.*reshape\(1, -1\)"),
        (np.zeros((2, 3, 1)), r"2-D array"),
        (5, r"2-D array"),
        (None, r"X is None"),
        ("a,b,c", r"not str"),
        (b"\x00\x01", r"not bytes"),
        ([[1, 2, 3], [4, 5]], r"cannot be read as a 2-D array"),
    ],
    ids=["1-D", "3-D", "scalar", "None", "str", "bytes", "ragged"],
)
def test_wrong_shapes(X: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        linear_regression().predict(X)


@pytest.mark.parametrize(
    "X",
    [
        {"a": [1.0], "c": [2.0]},
        pd.DataFrame({"a": [1.0], "c": [2.0], "B": [3.0]}),
        [{"a": 1.0, "c": 2.0}, {"a": 2.0, "c": 1.0}],
        {"a": 1.0, "c": 2.0},
    ],
    ids=["dict", "DataFrame", "records", "one record"],
)
def test_missing_column_is_named(X: Any) -> None:
    with pytest.raises(InputError, match=r"'b' is missing"):
        linear_regression().predict(X)


def test_extra_and_reordered_columns_are_ignored() -> None:
    model = linear_regression()
    expected = model.predict(X_OK)
    df = pd.DataFrame(X_OK, columns=list(NAMES))
    shuffled = df[["c", "a", "b"]].assign(extra=[9.0, 9.0, 9.0], other=["x", "y", "z"])
    np.testing.assert_array_equal(model.predict(shuffled), expected)
    records = [dict(zip(("c", "junk", "a", "b"), (r[2], "?", r[0], r[1]))) for r in X_OK]
    np.testing.assert_array_equal(model.predict(records), expected)


def test_columns_of_different_lengths() -> None:
    with pytest.raises(InputError, match=r"'b' has 1 rows but other columns have 2"):
        linear_regression().predict({"a": [1.0, 2.0], "b": [1.0], "c": [1.0, 2.0]})


def test_a_column_must_be_one_dimensional() -> None:
    with pytest.raises(InputError, match=r"'a' must be 1-D"):
        linear_regression().predict({"a": np.zeros((2, 2)), "b": [1.0, 2.0], "c": [1.0, 2.0]})
    dup = pd.DataFrame([[1.0, 2.0, 3.0, 4.0]], columns=["a", "a", "b", "c"])
    with pytest.raises(InputError, match=r"'a' must be 1-D"):
        linear_regression().predict(dup)


# -- dtypes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, match",
    [
        ("1.5", r"row 1: '1.5' is not a number"),
        ("abc", r"row 1: 'abc' is not a number"),
        (b"\xff\xfe", r"row 1: .* is not UTF-8"),
        (1 + 2j, r"row 1: \(1\+2j\) is not a number"),
        (datetime.date(2020, 1, 1), r"row 1: datetime.date\(2020, 1, 1\) is not a number"),
        ([1.0], r"row 1: \[1.0\] is not a number"),
        ({1.0}, r"row 1: \{1.0\} is not a number"),
        (10**400, r"row 1: 1000.*\(401 characters\) is too large for a float"),
        (-(10**400), r"row 1: -1000.* is too large for a float"),
    ],
    ids=["numeric-text", "text", "bytes-not-utf8", "complex", "date", "list", "set", "huge-int", "huge-negative-int"],
)
def test_wrong_types_in_a_numeric_column_name_input_row_and_value(value: Any, match: str) -> None:
    col = np.empty(3, dtype=object)
    col[:] = [1.0, value, 2.0]
    with pytest.raises(InputError, match=match) as info:
        linear_regression().predict({"a": col, "b": [0.0] * 3, "c": [0.0] * 3})
    assert info.value.location is not None and info.value.location.startswith("input 'a'")


def test_typed_non_numeric_arrays_are_refused() -> None:
    model = linear_regression()
    cases = [
        np.array(["2020-01-01"] * 3, dtype="datetime64[D]"),
        np.array([1, 2, 3], dtype="timedelta64[s]"),
        np.array([1 + 1j, 2, 3]),
        pd.array(["1.0", "2.0", "3.0"], dtype="string"),
    ]
    for col in cases:
        with pytest.raises(InputError, match=r"input 'a'.*row 0"):
            model.predict({"a": col, "b": [0.0] * 3, "c": [0.0] * 3})


def test_text_arrays_and_numeric_kinds_are_parsed_exactly() -> None:
    """A 2-D text array (from a CSV) is parsed; every numeric dtype and Decimal/Fraction gives
    the same numbers as float64."""
    import fractions

    model = linear_regression()
    expected = model.predict(np.array([[1.5, 2.0, -3.0]]))
    as_text = np.array([["1.5", "2", "-3.0"]])
    np.testing.assert_array_equal(model.predict(as_text), expected)
    np.testing.assert_array_equal(model.predict(as_text.astype("S")), expected)
    for col_a in (
        np.array([1.5], dtype=np.float16),
        np.array([1.5], dtype=np.float32),
        [decimal.Decimal("1.5")],
        [fractions.Fraction(3, 2)],
        pd.array([1.5], dtype="Float64"),
    ):
        got = model.predict({"a": col_a, "b": np.array([2], dtype=np.int8), "c": np.array([-3], dtype=np.int64)})
        np.testing.assert_array_equal(got, expected)


def test_text_array_with_bytes_that_are_not_utf8() -> None:
    with pytest.raises(InputError, match=r"not UTF-8"):
        linear_regression().predict(np.array([[b"\xff", b"1", b"2"]]))


def test_booleans_and_missing_markers() -> None:
    model = Model(
        inputs=(Field(name="f", dtype="boolean"), Field(name="x")),
        steps=(Impute(inputs=("x",), outputs=("x_filled",), values=(0.5,)),),
        target=Target(name="y", task="regression"),
        estimator=LinearModel(features=("f", "x_filled"), coefficients=[[10.0, 1.0]], intercepts=[0.0]),
    )
    got = model.predict(
        {
            "f": np.array([True, False, "true", "FALSE", None, np.nan, pd.NA], dtype=object),
            "x": np.array([1.0, None, np.nan, pd.NA, decimal.Decimal("NaN"), np.datetime64("NaT"), 2.0], dtype=object),
        }
    )
    np.testing.assert_array_equal(got, [11.0, 0.5, 10.5, 0.5, np.nan, np.nan, np.nan])
    with pytest.raises(InputError, match=r"input 'f' \(boolean\): row 0: 'yes' is not a number"):
        model.predict({"f": ["yes"], "x": [1.0]})


def test_strings_in_a_string_column() -> None:
    model = categorical(invalid="as_is")
    base = model.predict_proba({"x": [0.0], "colour": ["green"]})
    np.testing.assert_array_equal(model.predict_proba({"x": [0.0], "colour": [b"green"]}), base)
    with pytest.raises(InputError, match=r"input 'colour': row 0: b'\\xff' is not UTF-8"):
        model.predict({"x": [0.0], "colour": np.array([b"\xff"], dtype=object)})


# -- NaN and infinity ------------------------------------------------------------------------------


@pytest.mark.parametrize("family", NUMERIC_MODELS)
def test_nan_and_infinity_score_without_errors_or_warnings(family: str) -> None:
    """NaN is a missing value: it propagates (linear, MLP) or follows the split's missing action
    (trees); infinities are numbers. No row may raise or warn (warnings are errors here)."""
    model = NUMERIC_MODELS[family]()
    X = np.array(
        [[np.nan, 0.0, 0.0], [np.inf, 0.0, 0.0], [-np.inf, 0.0, 0.0], [np.inf, -np.inf, np.nan], [1e308, 1e308, -1e308], [0.0, 0.0, 0.0]]
    )
    y, p = predict_all(model, X)
    assert y.shape == (6,)
    if family == "tree":  # every split sends missing values to its true child: a defined prediction
        assert p is not None and p.shape == (6, 2) and np.isfinite(p).all()
        assert set(y.tolist()) <= {0, 1}
    else:
        assert np.isnan(y[0]) and np.isfinite(y[5])


def test_float_input_overflowing_float32_becomes_infinite_quietly() -> None:
    model = Model(
        inputs=(Field(name="x", dtype="float"),),
        target=Target(name="y", task="regression"),
        estimator=LinearModel(features=("x",), coefficients=[[1.0]], intercepts=[0.0]),
    )
    assert model.predict([[1e300], [-1e300]]).tolist() == [np.inf, -np.inf]


# -- unseen categories -------------------------------------------------------------------------------


def test_unseen_category_policy_error_names_input_row_and_value() -> None:
    with pytest.raises(InputError, match=r"row 2: invalid value 'purple' \(allowed: 'red', 'green', 'blue'\)") as info:
        categorical(invalid="error").predict({"x": [0.0, 1.0, 2.0], "colour": ["red", "blue", "purple"]})
    assert info.value.location == "input 'colour'"


def test_unseen_category_as_missing_and_as_is() -> None:
    rows = {"x": [0.5, 0.5], "colour": ["purple", None]}
    as_missing = categorical(invalid="as_missing").predict_proba(rows)
    np.testing.assert_array_equal(as_missing[0], as_missing[1])  # purple is treated exactly like a missing value
    as_is = categorical(invalid="as_is", unknown="ignore").predict_proba(rows)
    assert np.isfinite(as_is).all()  # OneHot gives all zeros for an unknown category
    with pytest.raises(InputError, match=r"purple"):
        categorical(invalid="as_is", unknown="error").predict(rows)


def test_numbers_and_odd_types_given_for_a_category() -> None:
    model = categorical(invalid="error")
    for value in (1, 1.5, True, 10**400):
        with pytest.raises(InputError, match=r"input 'colour'|invalid value"):
            model.predict({"x": [0.0], "colour": [value]})


def test_lookup_default_for_unseen_keys() -> None:
    model = Model(
        inputs=(Field(name="k", dtype="string", optype="categorical"),),
        steps=(Lookup(input="k", output="v", keys=("a", "b"), values=(1.0, 2.0), default=-1.0, missing=-5.0),),
        target=Target(name="y", task="regression"),
        estimator=LinearModel(features=("v",), coefficients=[[1.0]], intercepts=[0.0]),
    )
    assert model.predict({"k": ["a", "zzz", None, "b"]}).tolist() == [1.0, -1.0, -5.0, 2.0]


# -- zero rows ----------------------------------------------------------------------------------------


def _empty_forms(model: Model) -> list[Any]:
    names = list(model.input_names)
    return [
        np.empty((0, len(names))),
        np.empty((0, len(names)), dtype=object),
        [],
        {n: [] for n in names},
        {n: np.array([], dtype=object) for n in names},
        pd.DataFrame({n: pd.Series([], dtype=float) for n in names}),
    ]


@pytest.mark.parametrize("family", [*NUMERIC_MODELS, "categorical"])
def test_zero_rows_give_empty_results_of_the_right_shape(family: str) -> None:
    model = categorical() if family == "categorical" else NUMERIC_MODELS[family]()
    full_y, full_p = predict_all(model, sample_inputs(model, 3))
    for X in _empty_forms(model):
        y, p = predict_all(model, X)
        assert y.shape == (0,)
        assert y.dtype == full_y.dtype
        if model.task == "classification":
            assert p is not None and full_p is not None
            assert p.shape == (0, len(model.classes)) and p.dtype == np.float64


@settings(max_examples=40, deadline=None)
@given(model=models())
def test_zero_rows_for_random_models(model: Model) -> None:
    X = {name: col[:0] for name, col in sample_inputs(model, 2).items()}
    y, p = predict_all(model, X)
    assert y.shape == (0,)
    if p is not None:
        assert p.shape == (0, len(model.classes))


# -- huge batches -------------------------------------------------------------------------------------


def _peak_bytes(fn: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_huge_batch_tree_ensemble_is_scored_in_chunks_with_bounded_memory() -> None:
    """100 trees over 60,000 rows: scoring all rows at once would hold rows x trees intermediate
    values (48 MB of float64 alone); chunked, the peak stays near the size of the input."""
    est = _stump_forest(100, 4, 4, seed=3)
    model = Model(inputs=tuple(Field(name=f"x{j}") for j in range(4)), target=Target(name="y", task="regression"), estimator=est)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60_000, 4))
    X[rng.random(X.shape) < 0.05] = np.nan
    model.predict(X[:10])  # compile the plan outside the measurement
    y, peak = _peak_bytes(lambda: model.predict(X))
    assert y.shape == (60_000,) and np.isfinite(y).all()
    assert peak < 4 * X.nbytes + (16 << 20), f"peak {peak / 2**20:.1f} MB for a {X.nbytes / 2**20:.1f} MB input"
    # chunk boundaries change nothing: any slice scores the same as inside the big batch
    for lo, hi in ((0, 1), (123, 4567), (16_383, 16_386), (59_990, 60_000)):
        np.testing.assert_array_equal(model.predict(X[lo:hi]), y[lo:hi])


def test_huge_batch_mlp_memory_is_bounded() -> None:
    rng = np.random.default_rng(0)
    layers = (
        DenseLayer(weights=rng.normal(size=(4, 256)), biases=np.zeros(256), activation="relu"),
        DenseLayer(weights=rng.normal(size=(256, 1)), biases=[0.0]),
    )
    names = tuple(f"x{j}" for j in range(4))
    model = Model(
        inputs=tuple(Field(name=n) for n in names), target=Target(name="y", task="regression"), estimator=MLP(features=names, layers=layers)
    )
    X = rng.normal(size=(50_000, 4))
    model.predict(X[:10])
    y, peak = _peak_bytes(lambda: model.predict(X))
    assert y.shape == (50_000,)
    assert peak < 4 * X.nbytes + (16 << 20), f"peak {peak / 2**20:.1f} MB for a {X.nbytes / 2**20:.1f} MB input"


# -- options and tasks ------------------------------------------------------------------------------


def test_unknown_option_and_proba_of_a_regression() -> None:
    model = linear_regression()
    with pytest.raises(InputError, match=r"unknown option\(s\): batch"):
        model.predict(X_OK, batch=10)
    with pytest.raises(InputError, match=r"predict_proba needs a classifier"):
        model.predict_proba(X_OK)


# -- property: random models, messy columns ----------------------------------------------------------

MESSY = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.binary(max_size=3),
    st.sampled_from([np.nan, np.inf, -np.inf, pd.NA, decimal.Decimal("1.5"), 10**400, "", "nan", "red", 1 + 1j]),
)


@settings(max_examples=60, deadline=None)
@given(model=models(), data=st.data())
def test_random_models_take_messy_columns_or_raise_input_error(model: Model, data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 6), label="rows")
    X: dict[str, Any] = {}
    valid = sample_inputs(model, max(n, 1), seed=0)
    for f in model.inputs:
        if data.draw(st.booleans(), label=f"messy {f.name}?"):
            col = np.empty(n, dtype=object)
            col[:] = data.draw(st.lists(MESSY, min_size=n, max_size=n), label=f.name)
        else:
            col = valid[f.name][:n]
        X[f.name] = col
    try:
        y, p = predict_all(model, X)
    except InputError as exc:
        assert exc.location and exc.location.startswith("input "), exc  # says which input
        return
    assert y.shape == (n,)
    if p is not None:
        assert p.shape == (n, len(model.classes))
