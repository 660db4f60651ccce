"""Tests of the numpy evaluator: hand-computed cases per family/step/link, input handling, and
models built by hand from fitted scikit-learn estimators matching scikit-learn's predictions."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import assert_predictions_equal, sample_inputs
from portamodel.errors import InputError, IRValidationError, PortamodelError
from portamodel.evaluate import _tree, get_plan, outputs, predict
from portamodel.evaluate._transforms import apply_activation, apply_normalization, erfc, normal_cdf, softmax_zero
from portamodel.ir import (
    AGGREGATIONS,
    MLP,
    OP_CODE,
    Affine,
    Apply,
    Constant,
    DenseLayer,
    Derive,
    Field,
    FieldRef,
    Impute,
    LinearModel,
    Lookup,
    Model,
    OneHot,
    Target,
    TreeEnsemble,
)
from portamodel.ir.tree import MISSING_FALSE, MISSING_NULL, MISSING_STOP, MISSING_TRUE
from strategies import models, tree_models

REG = Target(name="y", task="regression")


def _fields(*names: str) -> tuple[Field, ...]:
    return tuple(Field(name=n) for n in names)


def _linear(coef, icpt, norm="identity", target=REG, names=("a", "b"), steps=(), inputs=None) -> Model:
    return Model(
        inputs=inputs or _fields(*names),
        target=target,
        steps=steps,
        estimator=LinearModel(features=names, coefficients=coef, intercepts=icpt, normalization=norm),
    )


def _identity_model(inputs: tuple[Field, ...], steps=(), feature: str | None = None) -> Model:
    """Regression model whose prediction is the column ``feature`` itself (to observe steps)."""
    name = feature or inputs[0].name
    return Model(
        inputs=inputs,
        target=REG,
        steps=steps,
        estimator=LinearModel(features=(name,), coefficients=[[1.0]], intercepts=[0.0]),
    )


# == transforms ===================================================================================


def test_erfc_matches_math_erfc_to_1e15_relative():
    xs = np.linspace(-26.0, 26.0, 20001)
    ref = np.array([math.erfc(v) for v in xs])
    got = erfc(xs)
    ok = ref > 1e-300
    assert np.max(np.abs(got[ok] - ref[ok]) / ref[ok]) < 2e-15
    special = erfc(np.array([np.inf, -np.inf, np.nan, 0.0, 30.0]))
    assert special[0] == 0.0 and special[1] == 2.0 and np.isnan(special[2]) and special[3] == 1.0 and special[4] == 0.0


def test_normal_cdf_tails_are_accurate():
    xs = np.array([-37.0, -10.0, -3.0, 0.0, 1.5, 8.0])
    ref = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in xs])
    np.testing.assert_allclose(normal_cdf(xs), ref, rtol=1e-12)  # tail condition number ~x^2
    assert normal_cdf(np.array([-10.0]))[0] == pytest.approx(7.619853024160527e-24, rel=1e-13)


@pytest.mark.parametrize(
    ("name", "x", "expected"),
    [
        ("identity", 0.3, 0.3),
        ("logistic", 0.3, 1 / (1 + math.exp(-0.3))),
        ("logistic", -800.0, 0.0),
        ("logistic", 800.0, 1.0),
        ("probit", 0.3, 0.5 * math.erfc(-0.3 / math.sqrt(2))),
        ("cloglog", 0.3, 1 - math.exp(-math.exp(0.3))),
        ("loglog", 0.3, math.exp(-math.exp(-0.3))),
        ("cauchit", 0.3, 0.5 + math.atan(0.3) / math.pi),
        ("exp", 0.3, math.exp(0.3)),
    ],
)
def test_elementwise_links(name, x, expected):
    got = apply_normalization(name, np.array([[x]]))[0, 0]
    assert got == pytest.approx(expected, rel=1e-15, abs=1e-300)


def test_softmax_simplemax_softmax_zero():
    s = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -np.inf]])
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(apply_normalization("softmax", s)[0], e / e.sum(), rtol=1e-15)
    np.testing.assert_array_equal(apply_normalization("softmax", s)[1], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(apply_normalization("simplemax", np.array([[1.0, 3.0]])), [[0.25, 0.75]])
    # ONNX SOFTMAX_ZERO: a zero score stays (almost exactly) zero and is left out of the sum.
    z = softmax_zero(np.array([[0.0, 1.0, 2.0]]))[0]
    e2 = np.exp([1.0 - 2.0, 0.0])
    assert z[0] == 0.0
    np.testing.assert_allclose(z[1:], e2 / e2.sum(), rtol=1e-15)


@pytest.mark.parametrize(
    ("name", "x", "expected"),
    [
        ("relu", -2.0, 0.0),
        ("relu", 2.0, 2.0),
        ("tanh", 0.5, math.tanh(0.5)),
        ("logistic", 0.5, 1 / (1 + math.exp(-0.5))),
        ("exp", 0.5, math.exp(0.5)),
        ("reciprocal", 4.0, 0.25),
        ("square", -3.0, 9.0),
        ("gauss", 1.5, math.exp(-2.25)),
        ("sine", 0.5, math.sin(0.5)),
        ("cosine", 0.5, math.cos(0.5)),
        ("elliott", -3.0, -0.75),
        ("arctan", 1.0, 0.5),
        ("identity", -1.25, -1.25),
    ],
)
def test_activations(name, x, expected):
    assert apply_activation(name, np.array([[x]]))[0, 0] == pytest.approx(expected, rel=1e-15)


def test_leaky_relu_uses_alpha():
    np.testing.assert_array_equal(apply_activation("leaky_relu", np.array([[-2.0, 3.0]]), alpha=0.1), [[-0.2, 3.0]])


# == linear models ================================================================================


def test_linear_regression_hand_computed():
    m = _linear([[2.0, -1.0]], [0.5])
    np.testing.assert_array_equal(m.predict([[1.0, 1.0], [0.0, 3.0]]), [1.5, -2.5])
    assert m.predict([[1.0, 1.0]]).dtype == np.float64


def test_linear_binary_single_output_gives_complement():
    m = _linear([[1.0, 0.0]], [0.0], "logistic", Target(name="y", task="classification", classes=("no", "yes")))
    p = m.predict_proba([[0.0, 5.0], [2.0, 0.0]])
    q = 1 / (1 + math.exp(-2.0))
    np.testing.assert_allclose(p, [[0.5, 0.5], [1 - q, q]], rtol=1e-15)
    # a tie goes to the first class
    assert m.predict([[0.0, 0.0], [2.0, 0.0]]).tolist() == ["no", "yes"]


def test_linear_multiclass_softmax_and_probit():
    t = Target(name="y", task="classification", classes=(10, 20, 30))
    m = _linear([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [0.0, 0.0, 1.0], "softmax", t)
    p = m.predict_proba([[2.0, 1.0]])
    e = np.exp([2.0, 1.0, 1.0])
    np.testing.assert_allclose(p[0], e / e.sum(), rtol=1e-15)
    labels = m.predict([[2.0, 1.0], [0.0, 5.0]])
    assert labels.dtype == np.int64 and labels.tolist() == [10, 20]
    mp = _linear([[1.0, 0.0]], [0.0], "probit", Target(name="y", task="classification", classes=(0, 1)))
    assert mp.predict_proba([[1.0, 0.0]])[0, 1] == pytest.approx(0.8413447460685429, rel=1e-15)


def test_missing_input_to_linear_model_gives_nan_and_none_label():
    m = _linear([[1.0, 1.0]], [0.0], "logistic", Target(name="y", task="classification", classes=("a", "b")))
    p = m.predict_proba({"a": [np.nan, 1.0], "b": [1.0, 1.0]})
    assert np.isnan(p[0]).all() and not np.isnan(p[1]).any()
    labels = m.predict({"a": [np.nan, 1.0], "b": [1.0, 1.0]})
    assert labels.dtype == object and labels.tolist() == [None, "b"]


# == MLP ==========================================================================================


def test_mlp_hand_computed():
    hidden = DenseLayer(weights=[[1.0, -1.0], [0.5, 0.5]], biases=[0.0, 0.1], activation="relu")
    out = DenseLayer(weights=[[1.0], [2.0]], biases=[-1.0], activation="logistic")
    m = Model(
        inputs=_fields("a", "b"),
        target=Target(name="y", task="classification", classes=(False, True)),
        estimator=MLP(features=("a", "b"), layers=(hidden, out)),
    )
    x = np.array([[1.0, 2.0], [-1.0, 0.0]])
    h = np.maximum(x @ np.array([[1.0, -1.0], [0.5, 0.5]]) + [0.0, 0.1], 0)
    z = h @ np.array([[1.0], [2.0]]) - 1.0
    p = 1 / (1 + np.exp(-z[:, 0]))
    np.testing.assert_allclose(m.predict_proba(x)[:, 1], p, rtol=1e-15)
    labels = m.predict(x)
    assert labels.dtype == np.bool_ and labels.tolist() == list(p > 0.5)


# float32 networks: the reference is plain float32 numpy, written independently of the evaluator
_F32 = np.float32
_F32_ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, _F32(0)),
    "tanh": np.tanh,
    "logistic": lambda z: _F32(1) / (_F32(1) + np.exp(-z)),
    "softmax": lambda z: (lambda e: e / e.sum(axis=1, keepdims=True))(np.exp(z - z.max(axis=1, keepdims=True))),
    "simplemax": lambda z: z / z.sum(axis=1, keepdims=True),
    "leaky_relu": lambda z: np.where(z >= 0, z, _F32(0.3) * z),
    "exp": np.exp,
    "reciprocal": lambda z: _F32(1) / z,
    "square": lambda z: z * z,
    "gauss": lambda z: np.exp(-(z * z)),
    "sine": np.sin,
    "cosine": np.cos,
    "elliott": lambda z: z / (_F32(1) + np.abs(z)),
    "arctan": lambda z: _F32(2) * np.arctan(z) / _F32(np.pi),
}


@pytest.mark.parametrize("n", [1, 7, 3000])  # 3000 rows x 5 outputs: the blocked path (several blocks and a remainder)
@pytest.mark.parametrize("act", sorted(_F32_ACTIVATIONS))
def test_float32_mlp_activations_run_in_float32_bit_for_bit(act: str, n: int) -> None:
    """Dyadic weights and inputs make the float32 product exact, so every bit of the result is the
    float32 activation's: a float64 step anywhere (input, product, activation) would show."""
    from portamodel.evaluate._mlp import compile_mlp

    rng = np.random.default_rng(11)
    W = rng.integers(-16, 17, size=(4, 5)) / 8
    b = rng.integers(-16, 17, size=5) / 8
    X = rng.integers(-64, 65, size=(n, 4)) / 16
    X[0, 0] = np.nan
    layer = DenseLayer(weights=W, biases=b, activation=act, alpha=0.3)
    kernel = compile_mlp(MLP(features=("a", "b", "c", "d"), layers=(layer,), compute_dtype="float32"))
    got = kernel(X * (1 + 1e-12))  # the perturbation is far below float32's resolution: rounded away
    with np.errstate(all="ignore"):
        want = _F32_ACTIVATIONS[act](X.astype(_F32) @ W.astype(_F32) + b.astype(_F32))
    assert got.dtype == np.float64 and want.dtype == _F32
    np.testing.assert_array_equal(got, want.astype(np.float64))
    f64 = compile_mlp(MLP(features=("a", "b", "c", "d"), layers=(layer,)))(X)
    if n > 1 and act not in ("identity", "relu", "square", "leaky_relu"):  # these stay exact for dyadic values, in either precision
        assert not np.array_equal(got, f64, equal_nan=True)


@pytest.mark.parametrize("n", [1, 5, 3000])
def test_float32_mlp_rounds_inputs_weights_and_biases_once(n: int) -> None:
    """compute_dtype="float32" is the float64 network on float32-rounded features, weights, biases
    and slope, with float32 arithmetic: rounding them beforehand changes nothing."""
    rng = np.random.default_rng(12)
    X = rng.normal(size=(n, 3)) * 3
    layers = (
        DenseLayer(weights=rng.normal(size=(3, 6)) * 0.7, biases=rng.normal(size=6) / 3, activation="leaky_relu", alpha=0.1),
        DenseLayer(weights=rng.normal(size=(6, 4)), biases=rng.normal(size=4) / 7, activation="tanh"),
        DenseLayer(weights=rng.normal(size=(4, 3)), biases=[1 / 3, 0.1, 0.2], activation="softmax"),
    )
    r32 = lambda a: np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)  # noqa: E731
    rounded = tuple(
        DenseLayer(weights=r32(L.weights), biases=r32(L.biases), activation=L.activation, alpha=float(np.float32(L.alpha))) for L in layers
    )
    target = Target(name="y", task="classification", classes=("a", "b", "c"))

    def model(ls: tuple[DenseLayer, ...], dtype: str) -> Model:
        return Model(inputs=_fields("p", "q", "r"), target=target, estimator=MLP(features=("p", "q", "r"), layers=ls, compute_dtype=dtype))

    f32 = model(layers, "float32").predict_proba(X)
    np.testing.assert_array_equal(f32, model(rounded, "float32").predict_proba(r32(X)))
    np.testing.assert_array_equal(f32, r32(f32))  # the outputs are float32 values, widened
    f64 = model(layers, "float64").predict_proba(X)
    np.testing.assert_allclose(f32, f64, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(f32, f64)  # float32 rounding shows
    assert np.array_equal(model(layers, "float64").predict_proba(X), f64)  # the float64 path is its own


def test_float32_mlp_is_validated() -> None:
    layer = DenseLayer(weights=[[1.0]], biases=[0.0])
    with pytest.raises(IRValidationError, match=r"MLP\.compute_dtype.*'float64', 'float32'"):
        MLP(features=("x",), layers=(layer,), compute_dtype="float16")  # type: ignore[arg-type]
    big = DenseLayer(weights=[[1e300], [1.0]], biases=[0.0])  # beyond float32: rounds to inf, as in any float32 runtime
    m = Model(inputs=_fields("x", "y"), target=REG, estimator=MLP(features=("x", "y"), layers=(big,), compute_dtype="float32"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = m.predict([[1.0, 0.0], [0.0, 1.0], [1e39, 0.0]])
    np.testing.assert_array_equal(got, [np.inf, np.nan, np.inf])  # 0 * inf is NaN, as in float32 ONNX


# == trees ========================================================================================


def _stump(op="<=", threshold=0.5, missing=MISSING_FALSE, sets=None, **kw) -> TreeEnsemble:
    return TreeEnsemble(
        features=("x",),
        roots=[0],
        feature=[0, -1, -1],
        threshold=[threshold, 0, 0],
        op=[OP_CODE[op], 0, 0],
        true_child=[1, -1, -1],
        false_child=[2, -1, -1],
        missing=[missing, 0, 0],
        values=[[9.0], [1.0], [2.0]],
        set_offsets=None if sets is None else [0, len(sets)],
        set_values=sets,
        **kw,
    )


def _tree_model(est: TreeEnsemble, target=REG, dtype="double") -> Model:
    return Model(inputs=tuple(Field(name=n, dtype=dtype) for n in est.features), target=target, estimator=est)


@pytest.mark.parametrize(
    ("op", "threshold", "x", "expected"),
    [
        ("<=", 0.5, [0.5, 0.6], [1, 2]),
        ("<", 0.5, [0.5, 0.4], [2, 1]),
        (">=", 0.5, [0.5, 0.4], [1, 2]),
        (">", 0.5, [0.5, 0.6], [2, 1]),
        ("==", 2.0, [2.0, 3.0], [1, 2]),
        ("!=", 2.0, [2.0, 3.0], [2, 1]),
        ("<=", 0.5, [-np.inf, np.inf], [1, 2]),
    ],
)
def test_tree_comparison_ops(op, threshold, x, expected):
    m = _tree_model(_stump(op, threshold))
    np.testing.assert_array_equal(m.predict(np.array(x).reshape(-1, 1)), expected)


def test_tree_set_splits():
    m_in = _tree_model(_stump("in", 0.0, sets=[3.0, 1.0, 7.0]))
    m_out = _tree_model(_stump("not_in", 0.0, sets=[3.0, 1.0, 7.0]))
    x = np.array([[1.0], [2.0], [3.0], [7.0], [8.0], [-1.0]])
    np.testing.assert_array_equal(m_in.predict(x), [1, 2, 1, 1, 2, 2])
    np.testing.assert_array_equal(m_out.predict(x), [2, 1, 2, 2, 1, 1])


def test_tree_many_sets_vectorised_lookup_matches_python_sets():
    rng = np.random.default_rng(3)
    sets = [sorted(set(rng.integers(0, 30, size=rng.integers(0, 12)).tolist())) for _ in range(40)]
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sets])])
    values = np.concatenate([np.array(s, dtype=float) for s in sets])
    # one stump per set, all "in"
    n = len(sets)
    est = TreeEnsemble(
        features=("x",),
        roots=np.arange(n) * 3,
        feature=np.tile([0, -1, -1], n),
        threshold=np.repeat(np.arange(n), 3).astype(float) * np.tile([1, 0, 0], n),
        op=np.tile([OP_CODE["in"], 0, 0], n),
        true_child=(np.arange(n)[:, None] * 3 + [1, -1, -3]).ravel() * np.tile([1, 0, 0], n) + np.tile([0, -1, -1], n),
        false_child=(np.arange(n)[:, None] * 3 + [2, -1, -3]).ravel() * np.tile([1, 0, 0], n) + np.tile([0, -1, -1], n),
        missing=np.zeros(3 * n),
        values=np.tile([0.0, 1.0, 0.0], n).reshape(-1, 1),
        set_offsets=offsets,
        set_values=values,
    )
    xs = np.arange(-2, 33, dtype=float).reshape(-1, 1)
    evaluator = _tree.TreeEvaluator(est)
    nodes, _ = evaluator.leaves(xs)
    hit = nodes == (np.arange(n) * 3 + 1)
    expected = np.array([[x in s for s in sets] for x in xs[:, 0]])
    np.testing.assert_array_equal(hit, expected)


@pytest.mark.parametrize(
    ("action", "expected"),
    [(MISSING_FALSE, 2.0), (MISSING_TRUE, 1.0), (MISSING_STOP, 9.0), (MISSING_NULL, np.nan)],
)
def test_tree_missing_actions(action, expected):
    m = _tree_model(_stump(missing=action))
    got = m.predict([[np.nan], [0.0]])
    np.testing.assert_array_equal(got, [expected, 1.0])


def test_tree_null_makes_classification_row_nan_and_label_none():
    est = TreeEnsemble(
        features=("x",),
        roots=[0, 3],
        feature=[0, -1, -1, -1],
        threshold=[0.5, 0, 0, 0],
        op=[0, 0, 0, 0],
        true_child=[1, -1, -1, -1],
        false_child=[2, -1, -1, -1],
        missing=[MISSING_NULL, 0, 0, 0],
        values=[[0.5, 0.5], [1.0, 0.0], [0.0, 1.0], [0.2, 0.8]],
        aggregation="average",
    )
    m = _tree_model(est, Target(name="y", task="classification", classes=("a", "b")))
    p = m.predict_proba([[np.nan], [0.0]])
    assert np.isnan(p[0]).all()
    np.testing.assert_allclose(p[1], [0.6, 0.4])
    assert m.predict([[np.nan], [0.0]]).tolist() == [None, "a"]


def test_tree_float32_inputs_round_before_comparing():
    t = 0.1  # float64 threshold; float32(0.1) > 0.1
    x = np.array([[0.1]])
    assert float(np.float32(0.1)) > 0.1
    assert _tree_model(_stump("<=", t)).predict(x)[0] == 1.0
    assert _tree_model(_stump("<=", t, input_dtype="float32")).predict(x)[0] == 2.0
    # a "float" field rounds on input already, whatever the tree's input_dtype
    assert _tree_model(_stump("<=", t), dtype="float").predict(x)[0] == 2.0


def _forest(values, aggregation, weights=None, base=None, post="identity", acc="float64", n_out=1) -> TreeEnsemble:
    """len(values) single-leaf trees with the given leaf rows."""
    n = len(values)
    return TreeEnsemble(
        features=("x",),
        roots=np.arange(n),
        feature=-np.ones(n),
        threshold=np.zeros(n),
        op=np.zeros(n),
        true_child=-np.ones(n),
        false_child=-np.ones(n),
        missing=np.zeros(n),
        values=np.array(values, dtype=float).reshape(n, n_out),
        aggregation=aggregation,
        tree_weights=weights,
        base_score=base,
        post_transform=post,
        accumulate_dtype=acc,
    )


def test_sum_aggregation_is_sequential_in_tree_order():
    vals = [1e16, 1.0, -1e16, 1.0]
    m = _tree_model(_forest(vals, "sum", base=[0.5]))
    # ((((0.5 + 1e16) + 1) - 1e16) + 1) in float64
    expected = 0.5
    for v in vals:
        expected += v
    assert m.predict([[0.0]])[0] == expected
    assert expected != 0.5 + math.fsum(vals)  # order matters, so the test can fail


def test_sum_with_weights_base_and_float32_accumulation():
    vals = [0.1, 0.2, 0.3]
    m = _tree_model(_forest(vals, "sum", weights=[0.5, 2.0, 1.0], base=[1.0]))
    assert m.predict([[0.0]])[0] == ((1.0 + 0.5 * 0.1) + 2.0 * 0.2) + 0.3
    m32 = _tree_model(_forest(vals, "sum", base=[1.0], acc="float32"))
    acc = np.float32(1.0)
    for v in vals:
        acc = np.float32(acc + np.float32(v))
    assert m32.predict([[0.0]])[0] == float(acc)


def test_average_majority_max_median():
    cls = Target(name="y", task="classification", classes=("a", "b", "c"))
    rows = [[0.2, 0.5, 0.3], [0.6, 0.2, 0.2], [0.4, 0.4, 0.2], [0.1, 0.1, 0.8]]
    avg = _tree_model(_forest(rows, "average", n_out=3), cls)
    np.testing.assert_allclose(avg.predict_proba([[0.0]])[0], np.mean(rows, axis=0), rtol=1e-15)
    # votes: b, a, a (tie 0.4/0.4 -> first), c ; weighted shares
    vote = _tree_model(_forest(rows, "majority_vote", weights=[1.0, 1.0, 1.0, 3.0], n_out=3), cls)
    np.testing.assert_allclose(vote.predict_proba([[0.0]])[0], [2 / 6, 1 / 6, 3 / 6])
    assert vote.predict([[0.0]]).tolist() == ["c"]
    mx = _tree_model(_forest([1.0, 5.0, 3.0], "max", base=[0.5]))
    assert mx.predict([[0.0]])[0] == 5.5
    md = _tree_model(_forest([1.0, 5.0, 3.0, 10.0], "median"))
    assert md.predict([[0.0]])[0] == 4.0
    wavg = _tree_model(_forest([1.0, 4.0], "average", weights=[3.0, 1.0], base=[1.0]))
    assert wavg.predict([[0.0]])[0] == (3.0 * 1.0 + 4.0) / 4.0 + 1.0


def test_tree_post_transform_softmax():
    cls = Target(name="y", task="classification", classes=(0, 1, 2))
    m = _tree_model(_forest([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], "sum", post="softmax", n_out=3), cls)
    e = np.exp([1.5, 0.5, 0.0])
    np.testing.assert_allclose(m.predict_proba([[0.0]])[0], e / e.sum(), rtol=1e-15)


def test_tree_blocks_give_the_same_result(monkeypatch):
    est = _stump(missing=MISSING_TRUE)
    x = np.random.default_rng(0).normal(size=(1000, 1))
    x[::7] = np.nan
    whole = _tree.TreeEvaluator(est)(x)
    monkeypatch.setattr(_tree, "_BLOCK", 7)
    np.testing.assert_array_equal(_tree.TreeEvaluator(est)(x), whole)


# == steps ========================================================================================


def test_affine_multiply_and_divide():
    step = Affine(inputs=("a", "a"), outputs=("m", "d"), offset=[1.0, 1.0], scale=[4.0, 4.0], shift=[0.5, 0.5], divide=False)
    step2 = Affine(inputs=("a",), outputs=("q",), offset=[1.0], scale=[4.0], divide=True)
    for feat, expected in (("m", [(3 - 1) * 4 + 0.5, np.nan]), ("q", [(3 - 1) / 4, np.nan])):
        m = _identity_model(_fields("a"), (step, step2), feat)
        np.testing.assert_array_equal(m.predict({"a": [3.0, np.nan]}), expected)


def test_impute_numeric_and_string():
    imp = Impute(inputs=("a", "s"), outputs=("a2", "s2"), values=(7.0, "zz"))
    hot = OneHot(input="s2", categories=("zz", "x"), outputs=("is_zz", "is_x"))
    inputs = (Field(name="a"), Field(name="s", dtype="string", optype="categorical"))
    np.testing.assert_array_equal(_identity_model(inputs, (imp,), "a2").predict({"a": [np.nan, 2.0], "s": ["x", None]}), [7.0, 2.0])
    np.testing.assert_array_equal(
        _identity_model(inputs, (imp, hot), "is_zz").predict({"a": [1.0, 1.0], "s": ["x", None]}),
        [0.0, 1.0],
    )


def test_onehot_policies():
    s = Field(name="s", dtype="string", optype="categorical")
    data = {"s": ["a", "b", "q", None]}
    ignore = OneHot(input="s", categories=("a", "b"), outputs=("sa", "sb"))
    np.testing.assert_array_equal(_identity_model((s,), (ignore,), "sa").predict(data), [1, 0, 0, 0])
    prop = OneHot(input="s", categories=("a", "b"), outputs=("sa", "sb"), missing="propagate")
    np.testing.assert_array_equal(_identity_model((s,), (prop,), "sb").predict(data), [0, 1, 0, np.nan])
    err = OneHot(input="s", categories=("a", "b"), outputs=("sa", "sb"), unknown="error")
    with pytest.raises(InputError, match=r"row 2: unknown category 'q'") as exc:
        _identity_model((s,), (err,), "sa").predict(data)
    assert "OneHot('s')" in str(exc.value)


def test_onehot_on_numeric_column_matches_numbers():
    step = OneHot(input="n", categories=(1, 2.5), outputs=("n1", "n25"))
    m = _identity_model((Field(name="n"),), (step,), "n25")
    np.testing.assert_array_equal(m.predict({"n": [2.5, 1.0, 3.0]}), [1, 0, 0])


def test_lookup_default_missing_and_error():
    s = Field(name="s", dtype="string", optype="categorical")
    lk = Lookup(input="s", output="code", keys=("a", "b"), values=(1.0, 2.0), default=-1.0, missing=-2.0)
    np.testing.assert_array_equal(_identity_model((s,), (lk,), "code").predict({"s": ["b", "a", "zz", None]}), [2, 1, -1, -2])
    lk_none = Lookup(input="s", output="code", keys=("a",), values=(1.0,))
    np.testing.assert_array_equal(_identity_model((s,), (lk_none,), "code").predict({"s": ["a", "b", None]}), [1, np.nan, np.nan])
    lk_err = Lookup(input="s", output="code", keys=("a",), values=(1.0,), unknown="error")
    with pytest.raises(InputError, match="row 1"):
        _identity_model((s,), (lk_err,), "code").predict({"s": ["a", "b"]})


def test_lookup_to_strings_then_onehot():
    n = Field(name="n", dtype="integer", optype="categorical")
    lk = Lookup(input="n", output="name", keys=(1, 2), values=("one", "two"), default="other")
    hot = OneHot(input="name", categories=("two", "other"), outputs=("is_two", "is_other"))
    m = _identity_model((n,), (lk, hot), "is_other")
    np.testing.assert_array_equal(m.predict({"n": [1, 2, 3]}), [0, 0, 1])


def _derive_model(expr, names=("a", "b"), dtype="double") -> Model:
    return _identity_model(_fields(*names), (Derive(output="d", expression=expr, dtype=dtype),), "d")


def _ap(fn, *args):
    return Apply(function=fn, args=tuple(a if not isinstance(a, (int, float, str, type(None))) else Constant(value=a) for a in args))


A, B = FieldRef(name="a"), FieldRef(name="b")
NAN = np.nan


@pytest.mark.parametrize(
    ("expr", "a", "b", "expected"),
    [
        (_ap("+", A, B), [1, NAN], [2, 2], [3, NAN]),
        (_ap("-", A, B), [1, 5], [2, NAN], [-1, NAN]),
        (_ap("*", A, 3), [1.5, NAN], [0, 0], [4.5, NAN]),
        (_ap("/", A, B), [1, 1, 0], [4, 0, 0], [0.25, np.inf, NAN]),
        (_ap("min", A, B, 0.5), [1, NAN, NAN], [2, 3, NAN], [0.5, 0.5, 0.5]),
        (_ap("max", A, B), [1, NAN, NAN], [2, 3, NAN], [2, 3, NAN]),
        (_ap("sum", A, B), [1, NAN], [2, 3], [3, 3]),
        (_ap("avg", A, B), [1, NAN], [2, 3], [1.5, 3]),
        (_ap("product", A, B), [2, NAN], [3, 3], [6, 3]),
        (_ap("log10", A), [100, NAN], [0, 0], [2, NAN]),
        (_ap("ln", A), [1, -1], [0, 0], [0, NAN]),
        (_ap("sqrt", A), [9, NAN], [0, 0], [3, NAN]),
        (_ap("abs", A), [-2, NAN], [0, 0], [2, NAN]),
        (_ap("exp", A), [0, NAN], [0, 0], [1, NAN]),
        (_ap("pow", A, B), [2, 2], [10, NAN], [1024, NAN]),
        (_ap("threshold", A, B), [2, 1, NAN], [1, 1, 1], [1, 0, NAN]),
        (_ap("floor", A), [-1.5, 1.5], [0, 0], [-2, 1]),
        (_ap("ceil", A), [-1.5, 1.5], [0, 0], [-1, 2]),
        (_ap("round", A), [2.5, -2.5, 1.4], [0, 0, 0], [3, -2, 1]),
        (_ap("rint", A), [2.5, 3.5, 1.4], [0, 0, 0], [2, 4, 1]),
        (_ap("isMissing", A), [NAN, 1], [0, 0], [1, 0]),
        (_ap("isNotMissing", A), [NAN, 1], [0, 0], [0, 1]),
        (_ap("equal", A, B), [1, 1, NAN], [1, 2, 1], [1, 0, NAN]),
        (_ap("notEqual", A, B), [1, 1, NAN], [1, 2, 1], [0, 1, NAN]),
        (_ap("lessThan", A, B), [1, 2, 2], [2, 2, NAN], [1, 0, NAN]),
        (_ap("lessOrEqual", A, B), [1, 2, 3], [2, 2, 2], [1, 1, 0]),
        (_ap("greaterThan", A, B), [1, 3], [2, 2], [0, 1]),
        (_ap("greaterOrEqual", A, B), [2, 1], [2, 2], [1, 0]),
        (_ap("and", A, B), [1, 1, 0, NAN], [1, 0, 0, 1], [1, 0, 0, NAN]),
        (_ap("or", A, B, 0), [1, 0, 0, NAN], [0, 0, 1, 1], [1, 0, 1, NAN]),
        (_ap("not", A), [1, 0, NAN], [0, 0, 0], [0, 1, NAN]),
        (_ap("if", A, B), [1, 0, NAN], [5, 5, 5], [5, NAN, NAN]),
        (_ap("if", _ap("greaterThan", A, 0), A, B), [1, -1, NAN], [7, 7, 7], [1, 7, NAN]),
        (_ap("if", A, 1, B), [1, 0], [NAN, 2], [1, 2]),  # the branch not taken may be missing
        (_ap("isIn", A, 1, 3), [1, 2, NAN], [0, 0, 0], [1, 0, NAN]),
        (_ap("isNotIn", A, 1, 3), [1, 2, NAN], [0, 0, 0], [0, 1, NAN]),
        (_ap("expm1", A), [0, NAN], [0, 0], [0, NAN]),
        (_ap("ln1p", A), [0, NAN], [0, 0], [0, NAN]),
        (_ap("modulo", A, B), [7, -7, 7], [3, 3, -3], [1, 2, -2]),
        (_ap("tanh", A), [0, NAN], [0, 0], [0, NAN]),
        (_ap("sin", A), [0, NAN], [0, 0], [0, NAN]),
        (_ap("cos", A), [0, NAN], [0, 0], [1, NAN]),
    ],
)
def test_derive_functions(expr, a, b, expected):
    got = _derive_model(expr).predict({"a": np.array(a, dtype=float), "b": np.array(b, dtype=float)})
    np.testing.assert_array_equal(got, np.array(expected, dtype=float))


def test_every_ir_function_is_covered_by_the_derive_table():
    from portamodel.ir import FUNCTIONS

    params = test_derive_functions.pytestmark[0].args[1]
    covered = {p[0].function for p in params}
    assert covered == set(FUNCTIONS)


def test_derive_on_strings_and_to_string_and_boolean():
    s = Field(name="s", dtype="string", optype="categorical")
    n = Field(name="n")
    expr = _ap("if", _ap("equal", FieldRef(name="s"), "x"), "yes", "no")
    steps = (
        Derive(output="label", expression=expr, dtype="string"),
        OneHot(input="label", categories=("yes",), outputs=("is_yes",)),
        Derive(output="flag", expression=_ap("isIn", FieldRef(name="s"), "x", "y"), dtype="boolean"),
    )
    m = _identity_model((s, n), steps, "is_yes")
    np.testing.assert_array_equal(m.predict({"s": ["x", "z", None], "n": [0, 0, 0]}), [1, 0, 0])
    m2 = _identity_model((s, n), steps, "flag")
    np.testing.assert_array_equal(m2.predict({"s": ["x", "z", None], "n": [0, 0, 0]}), [1, 0, NAN])
    strings = Derive(output="t", expression=FieldRef(name="n"), dtype="string")
    hot = OneHot(input="t", categories=("3",), outputs=("is3",))
    np.testing.assert_array_equal(_identity_model((s, n), (strings, hot), "is3").predict({"s": ["a"] * 2, "n": [3.0, 4.0]}), [1, 0])


def test_derive_of_strings_into_double_is_refused_when_built():
    s = Field(name="s", dtype="string", optype="categorical")
    with pytest.raises(IRValidationError, match="gives strings"):
        _identity_model((s, Field(name="n")), (Derive(output="d", expression=FieldRef(name="s")),), "n")


# == inputs =======================================================================================


def _two_input_model() -> Model:
    return _linear([[1.0, 10.0]], [0.0])


def test_input_forms_agree():
    pd = pytest.importorskip("pandas")
    m = _two_input_model()
    expected = [21.0, 43.0]
    np.testing.assert_array_equal(m.predict([[1.0, 2.0], [3.0, 4.0]]), expected)
    np.testing.assert_array_equal(m.predict(np.array([[1, 2], [3, 4]])), expected)
    np.testing.assert_array_equal(m.predict({"b": [2, 4], "a": [1, 3], "extra": ["x", "y"]}), expected)
    np.testing.assert_array_equal(m.predict([{"a": 1, "b": 2}, {"b": 4, "a": 3}]), expected)
    np.testing.assert_array_equal(m.predict({"a": 1, "b": 2}), expected[:1])
    df = pd.DataFrame({"b": [2, 4], "a": [1.0, 3.0], "z": ["p", "q"]})
    np.testing.assert_array_equal(m.predict(df), expected)
    np.testing.assert_array_equal(m.predict(df.iloc[1]), expected[1:])
    df_na = pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": [2.0, 4.0]})
    np.testing.assert_array_equal(m.predict(df_na), [21.0, np.nan])


def test_zero_rows():
    m = _two_input_model()
    for X in (np.empty((0, 2)), {"a": [], "b": []}, []):
        out = m.predict(X)
        assert out.shape == (0,) and out.dtype == np.float64
    cls = _linear([[1.0, 1.0]], [0.0], "logistic", Target(name="y", task="classification", classes=("a", "b")))
    assert cls.predict_proba(np.empty((0, 2))).shape == (0, 2)
    assert cls.predict(np.empty((0, 2))).shape == (0,)
    tree = _tree_model(_stump())
    assert tree.predict(np.empty((0, 1))).shape == (0,)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros((2, 3)), "3 columns but the model has 2 inputs"),
        (np.zeros(2), "expected a 2-D array"),
        ({"a": [1.0]}, "input column 'b' is missing"),
        ([{"a": 1.0}], "input 'b' is missing from every record"),
        ({"a": [1.0, 2.0], "b": [1.0]}, "has 1 rows but other columns have 2"),
        ({"a": ["1", "x"], "b": [1.0, 2.0]}, r"input 'a' \(double\): row 0: '1' is not a number"),
        ([{"a": 1.0, "b": 2.0}, {"a": "oops", "b": 1.0}], r"row 1: 'oops' is not a number"),
        (None, "X is None"),
        ("text", "not str"),
        ([{"a": 1.0, "b": 2.0}, [1.0, 2.0]], "row 1 is a list"),
        ({"a": [[1.0]], "b": [[1.0]]}, "must be 1-D"),
        ([{"a": [1.0], "b": 2.0}], "expected a scalar"),
    ],
)
def test_input_errors(X, match):
    with pytest.raises(InputError, match=match):
        _two_input_model().predict(X)


def test_numeric_coercions():
    m = _identity_model((Field(name="a"),))
    got = m.predict([{"a": True}, {"a": None}, {"a": np.inf}, {"a": np.float32(0.5)}, {"a": -np.inf}, {}])
    np.testing.assert_array_equal(got, [1.0, np.nan, np.inf, 0.5, -np.inf, np.nan])
    f = _identity_model((Field(name="a", dtype="float"),))
    assert f.predict([[0.1]])[0] == float(np.float32(0.1))
    b = _identity_model((Field(name="a", dtype="boolean"),))
    np.testing.assert_array_equal(b.predict({"a": ["true", "False", None]}), [1.0, 0.0, np.nan])
    # a numpy text array (mixed-type 2-D input) has its numeric columns parsed
    two = _linear([[1.0, 10.0]], [0.0])
    np.testing.assert_array_equal(two.predict(np.array([["1.5", "2"]])), [21.5])
    with pytest.raises(InputError, match=r"row 0: 'x' is not a number"):
        two.predict(np.array([["x", "2"]]))


def test_categorical_invalid_policies():
    def model(invalid: str, dtype: str = "string") -> Model:
        f = Field(name="c", dtype=dtype, optype="categorical", values=("a", "b") if dtype == "string" else (1, 2), invalid=invalid)
        steps = (Impute(inputs=("c",), outputs=("c2",), values=("MISSING",) if dtype == "string" else (-1,)),)
        if dtype == "string":
            steps += (Lookup(input="c2", output="code", keys=("a", "b", "MISSING"), values=(1.0, 2.0, -1.0), default=99.0),)
            return _identity_model((f,), steps, "code")
        return _identity_model((f,), steps, "c2")

    data = {"c": ["a", "zz", None]}
    np.testing.assert_array_equal(model("as_is").predict(data), [1, 99, -1])
    np.testing.assert_array_equal(model("as_missing").predict(data), [1, -1, -1])
    with pytest.raises(InputError, match=r"input 'c': row 1: invalid value 'zz'"):
        model("error").predict(data)
    np.testing.assert_array_equal(model("as_missing", "integer").predict({"c": [1, 5, None]}), [1, -1, -1])
    with pytest.raises(InputError, match=r"row 1: invalid value 5.0 \(allowed: 1, 2\)"):
        model("error", "integer").predict({"c": [1, 5]})


def test_string_field_accepts_numbers_and_missing_markers():
    s = Field(name="s", dtype="string", optype="categorical")
    m = _identity_model((s,), (OneHot(input="s", categories=("1", "x"), outputs=("s1", "sx")),), "s1")
    np.testing.assert_array_equal(m.predict({"s": np.array([1, 2])}), [1, 0])
    np.testing.assert_array_equal(m.predict({"s": [1.0, float("nan"), None, "1"]}), [1, 0, 0, 1])


def test_predict_proba_on_regression_is_an_input_error():
    with pytest.raises(InputError, match="predict_proba needs a classifier"):
        _two_input_model().predict_proba([[1.0, 2.0]])
    with pytest.raises(PortamodelError, match="unknown option"):
        _two_input_model().predict([[1.0, 2.0]], bogus=True)


def test_label_dtypes():
    def cls(classes):
        return _linear([[1.0, 0.0]], [0.0], "logistic", Target(name="y", task="classification", classes=classes))

    X = [[-1.0, 0.0], [1.0, 0.0]]
    assert cls(("a", "b")).predict(X).dtype == object
    assert cls((0, 1)).predict(X).dtype == np.int64
    assert cls((0.5, 1.5)).predict(X).dtype == np.float64
    assert cls((False, True)).predict(X).dtype == np.bool_
    mixed = cls((0, "b")).predict(X)
    assert mixed.dtype == object and mixed.tolist() == [0, "b"]


def test_models_without_features():
    intercept_only = Model(
        inputs=(Field(name="a"),), target=REG, estimator=LinearModel(features=(), coefficients=np.zeros((1, 0)), intercepts=[2.5])
    )
    np.testing.assert_array_equal(intercept_only.predict({"a": [1.0, np.nan]}), [2.5, 2.5])
    leaf = TreeEnsemble(
        features=(), roots=[0], feature=[-1], threshold=[0], op=[0], true_child=[-1], false_child=[-1], missing=[0], values=[[4.0]]
    )
    np.testing.assert_array_equal(Model(inputs=(Field(name="a"),), target=REG, estimator=leaf).predict([[1.0], [2.0]]), [4.0, 4.0])


def test_huge_integer_labels_fall_back_to_object():
    m = _linear([[1.0, 0.0]], [0.0], "logistic", Target(name="y", task="classification", classes=(1, 2**70)))
    labels = m.predict([[-1.0, 0.0], [1.0, 0.0]])
    assert labels.dtype == object and labels.tolist() == [1, 2**70]


def test_plan_is_compiled_once_and_cached():
    m = _two_input_model()
    m.predict([[1.0, 2.0]])
    plan = m._cache["plan"]
    m.predict([[1.0, 2.0]])
    assert m._cache["plan"] is plan is get_plan(m)
    np.testing.assert_array_equal(outputs(m, [[1.0, 2.0]]), [[21.0]])
    assert predict(m, [[1.0, 2.0]]).tolist() == [21.0]


def test_inputs_are_not_modified():
    m = _identity_model((Field(name="a", dtype="float"),), (Impute(inputs=("a",), outputs=("a2",), values=(0.0,)),), "a2")
    col = np.array([0.1, np.nan])
    m.predict({"a": col})
    assert col[0] == 0.1 and np.isnan(col[1])


def test_scoring_never_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = Target(name="y", task="classification", classes=("a", "b"))
        m = _linear([[1e308, 1e308], [-1.0, 1.0]], [0.0, 0.0], "softmax", t)
        p = m.predict_proba([[1e308, 1e308], [np.inf, -np.inf], [np.nan, 0.0]])
        assert np.isnan(p[1:]).all()
        for link in ("logistic", "probit", "cloglog", "loglog", "cauchit", "exp"):
            _linear([[1.0, 1.0]], [0.0], link, t).predict_proba([[1e308, 1e308], [-1e308, -1e308], [np.inf, np.nan]])


# == scikit-learn: the real producer ==============================================================

sklearn = pytest.importorskip("sklearn")


def _sk_forest(estimators, n_features, *, classifier, aggregation="average", weights=None, base=None, post="identity"):
    """Flatten fitted sklearn trees into one TreeEnsemble (as the sklearn importer would)."""
    roots, feat, thr, tc, fc, vals = [], [], [], [], [], []
    off = 0
    for est in estimators:
        tr = est.tree_
        leaf = tr.children_left < 0
        roots.append(off)
        feat.append(np.where(leaf, -1, tr.feature))
        thr.append(np.where(leaf, 0.0, tr.threshold))
        tc.append(np.where(leaf, -1, tr.children_left + off))
        fc.append(np.where(leaf, -1, tr.children_right + off))
        # classifier trees hold class fractions (scikit-learn >= 1.4), used as they are
        vals.append(tr.value[:, 0, :] if classifier else tr.value[:, :, 0])
        off += tr.node_count
    cat = np.concatenate
    return TreeEnsemble(
        features=tuple(f"x{i}" for i in range(n_features)),
        roots=roots,
        feature=cat(feat),
        threshold=cat(thr),
        op=np.full(off, OP_CODE["<="]),
        true_child=cat(tc),
        false_child=cat(fc),
        missing=np.zeros(off),
        values=cat(vals),
        aggregation=aggregation,
        tree_weights=weights,
        base_score=base,
        post_transform=post,
        input_dtype="float32",
    )


def _sk_model(est, n_features, target) -> Model:
    return Model(inputs=tuple(Field(name=f"x{i}") for i in range(n_features)), target=target, estimator=est)


def _near_thresholds(trees, X, rng):
    """Test rows: data plus values at, and one float step either side of, split thresholds."""
    thr = np.concatenate([t.tree_.threshold[t.tree_.children_left >= 0] for t in trees])
    rows = X[rng.integers(0, len(X), size=300)].copy()
    cols = rng.integers(0, X.shape[1], size=300)
    picks = thr[rng.integers(0, len(thr), size=300)]
    rows[np.arange(300), cols] = np.where(
        rng.random(300) < 0.5, picks, np.nextafter(picks, np.where(rng.random(300) < 0.5, np.inf, -np.inf))
    )
    return np.vstack([X, rows])


def _classes(est):
    return Target(name="y", task="classification", classes=tuple(est.classes_.tolist()))


def test_sklearn_decision_tree_classifier_and_float32_matter():
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])
    clf = DecisionTreeClassifier(random_state=0).fit(X, names[y])
    Xt = _near_thresholds([clf], X, np.random.default_rng(0))
    model = _sk_model(_sk_forest([clf], 4, classifier=True), 4, _classes(clf))
    np.testing.assert_array_equal(model.predict_proba(Xt), clf.predict_proba(Xt))
    assert model.predict(Xt).tolist() == clf.predict(Xt).tolist()
    # comparing in float64 instead would route some of these rows differently
    as64 = _sk_model(_sk_forest([clf], 4, classifier=True).replace(input_dtype="float64"), 4, _classes(clf))
    assert not np.array_equal(as64.predict_proba(Xt), clf.predict_proba(Xt))


def test_sklearn_decision_tree_regressor():
    from sklearn.datasets import make_regression
    from sklearn.tree import DecisionTreeRegressor

    X, y = make_regression(n_samples=300, n_features=5, random_state=1)
    reg = DecisionTreeRegressor(max_depth=7, random_state=0).fit(X, y)
    Xt = _near_thresholds([reg], X, np.random.default_rng(1))
    model = _sk_model(_sk_forest([reg], 5, classifier=False), 5, REG)
    np.testing.assert_array_equal(model.predict(Xt), reg.predict(Xt))


def test_sklearn_random_forests():
    from sklearn.datasets import make_classification, make_regression
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=2)
    rf = RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0).fit(X, y)
    Xt = _near_thresholds(rf.estimators_, X, np.random.default_rng(2))
    model = _sk_model(_sk_forest(rf.estimators_, 6, classifier=True), 6, _classes(rf))
    np.testing.assert_array_equal(model.predict_proba(Xt), rf.predict_proba(Xt))
    np.testing.assert_array_equal(model.predict(Xt), rf.predict(Xt))
    Xr, yr = make_regression(n_samples=300, n_features=4, random_state=3)
    rr = RandomForestRegressor(n_estimators=12, max_depth=6, random_state=0).fit(Xr, yr)
    Xt = _near_thresholds(rr.estimators_, Xr, np.random.default_rng(3))
    model = _sk_model(_sk_forest(rr.estimators_, 4, classifier=False), 4, REG)
    np.testing.assert_array_equal(model.predict(Xt), rr.predict(Xt))


def test_sklearn_gradient_boosting_sum_semantics():
    from sklearn.datasets import make_classification, make_regression
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    Xr, yr = make_regression(n_samples=300, n_features=4, noise=5.0, random_state=4)
    gbr = GradientBoostingRegressor(n_estimators=25, max_depth=3, learning_rate=0.3, random_state=0).fit(Xr, yr)
    trees = [t[0] for t in gbr.estimators_]
    base = [float(gbr.init_.constant_.ravel()[0])]
    est = _sk_forest(trees, 4, classifier=False, aggregation="sum", weights=[gbr.learning_rate] * len(trees), base=base)
    Xt = _near_thresholds(trees, Xr, np.random.default_rng(4))
    np.testing.assert_array_equal(_sk_model(est, 4, REG).predict(Xt), gbr.predict(Xt))

    X, y = make_classification(n_samples=300, n_features=4, random_state=5)
    gbc = GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0).fit(X, y)
    trees = [t[0] for t in gbc.estimators_]
    raw0 = gbc._raw_predict_init(X[:1])[0, 0]
    est = _sk_forest(trees, 4, classifier=False, aggregation="sum", weights=[gbc.learning_rate] * len(trees), base=[raw0], post="logistic")
    model = _sk_model(est, 4, _classes(gbc))
    Xt = _near_thresholds(trees, X, np.random.default_rng(5))
    np.testing.assert_allclose(model.predict_proba(Xt), gbc.predict_proba(Xt), rtol=1e-15, atol=1e-16)
    np.testing.assert_array_equal(model.predict(Xt), gbc.predict(Xt))


def _sk_linear(est, n_features, target, norm):
    coef = np.atleast_2d(est.coef_)
    icpt = np.atleast_1d(est.intercept_).astype(float)
    return _sk_model(
        LinearModel(features=tuple(f"x{i}" for i in range(n_features)), coefficients=coef, intercepts=icpt, normalization=norm),
        n_features,
        target,
    )


def test_sklearn_linear_and_logistic_regression():
    from sklearn.datasets import load_iris, make_classification, make_regression
    from sklearn.linear_model import LinearRegression, LogisticRegression

    Xr, yr = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=6)
    lr = LinearRegression().fit(Xr, yr)
    np.testing.assert_allclose(_sk_linear(lr, 5, REG, "identity").predict(Xr), lr.predict(Xr), rtol=1e-12, atol=1e-10)

    Xb, yb = make_classification(n_samples=200, n_features=4, random_state=7)
    yb = np.where(yb == 1, "spam", "ham")
    log = LogisticRegression().fit(Xb, yb)
    model = _sk_linear(log, 4, _classes(log), "logistic")
    np.testing.assert_allclose(model.predict_proba(Xb), log.predict_proba(Xb), rtol=1e-12, atol=1e-15)
    assert model.predict(Xb).tolist() == log.predict(Xb).tolist()

    Xm, ym = load_iris(return_X_y=True)
    mlog = LogisticRegression(max_iter=1000).fit(Xm, ym)
    model = _sk_linear(mlog, 4, _classes(mlog), "softmax")
    np.testing.assert_allclose(model.predict_proba(Xm), mlog.predict_proba(Xm), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(model.predict(Xm), mlog.predict(Xm))


def _sk_mlp(mlp, n_features, target):
    acts = [mlp.activation] * (len(mlp.coefs_) - 1) + [mlp.out_activation_]
    acts = ["identity" if a == "identity" else a for a in acts]
    layers = tuple(DenseLayer(weights=w, biases=b, activation=a) for w, b, a in zip(mlp.coefs_, mlp.intercepts_, acts))
    return _sk_model(MLP(features=tuple(f"x{i}" for i in range(n_features)), layers=layers), n_features, target)


def test_sklearn_mlp_classifier_and_regressor():
    from sklearn.datasets import load_iris, make_classification, make_regression
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        Xm, ym = load_iris(return_X_y=True)
        mc = MLPClassifier(hidden_layer_sizes=(8, 5), max_iter=300, random_state=0).fit(Xm, ym)
        Xb, yb = make_classification(n_samples=200, n_features=5, random_state=8)
        mb = MLPClassifier(hidden_layer_sizes=(6,), activation="tanh", max_iter=200, random_state=0).fit(Xb, yb)
        Xr, yr = make_regression(n_samples=200, n_features=3, random_state=9)
        mr = MLPRegressor(hidden_layer_sizes=(7,), activation="logistic", max_iter=200, random_state=0).fit(Xr, yr)
    for est, X, n in ((mc, Xm, 4), (mb, Xb, 5)):
        model = _sk_mlp(est, n, _classes(est))
        np.testing.assert_allclose(model.predict_proba(X), est.predict_proba(X), rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(model.predict(X), est.predict(X))
    np.testing.assert_allclose(_sk_mlp(mr, 3, REG).predict(Xr), mr.predict(Xr), rtol=1e-12, atol=1e-12)


# == properties ===================================================================================


def _reference_tree(model: Model, X) -> np.ndarray:
    """Row-by-row, tree-by-tree Python evaluation of the documented TreeEnsemble semantics."""
    from portamodel.evaluate._transforms import NORMALIZATION_FUNCTIONS

    est = model.estimator
    env, n = get_plan(model).columns(X)
    cols = [env[f] for f in est.features]
    f32 = est.input_dtype == "float32"
    acc = np.float32 if est.accumulate_dtype == "float32" else np.float64
    w = [1.0] * est.n_trees if est.tree_weights is None else est.tree_weights.tolist()
    K = est.n_outputs
    out = np.empty((n, K))
    for i in range(n):
        leaves, null = [], False
        for root in est.roots:
            node = int(root)
            while est.feature[node] >= 0:
                x = float(cols[est.feature[node]][i])
                if f32:
                    x = float(np.float32(x))
                if math.isnan(x):
                    action = est.missing[node]
                    if action == MISSING_FALSE:
                        node = int(est.false_child[node])
                        continue
                    if action == MISSING_TRUE:
                        node = int(est.true_child[node])
                        continue
                    null = null or action == MISSING_NULL
                    break
                t, op = float(est.threshold[node]), est.op[node]
                if op >= 6:
                    s = int(t)
                    members = set(est.set_values[est.set_offsets[s] : est.set_offsets[s + 1]].tolist())
                    cond = (x in members) == (op == OP_CODE["in"])
                else:
                    cond = [x <= t, x < t, x >= t, x > t, x == t, x != t][op]
                node = int(est.true_child[node] if cond else est.false_child[node])
            leaves.append(est.values[node].astype(acc))
        base = est.base_score.astype(acc)
        if est.aggregation in ("sum", "average"):
            total = base.copy() if est.aggregation == "sum" else np.zeros(K, dtype=acc)
            for v, wt in zip(leaves, w):
                total = (total + acc(wt) * v).astype(acc)
            if est.aggregation == "average":
                total = total / np.sum(np.array(w, dtype=acc), dtype=acc) + base
        elif est.aggregation == "majority_vote":
            votes = np.zeros(K, dtype=acc)
            for v, wt in zip(leaves, w):
                votes[int(np.argmax(v))] += acc(wt)
            total = votes / np.sum(np.array(w, dtype=acc), dtype=acc) + base
        elif est.aggregation == "max":
            total = np.max(leaves, axis=0) + base
        else:
            total = np.median(np.array(leaves), axis=0).astype(acc) + base
        row = np.asarray(total, dtype=np.float64)
        out[i] = np.nan if null else row
    return NORMALIZATION_FUNCTIONS[est.post_transform](out)


@pytest.mark.parametrize("aggregation", ["any", *AGGREGATIONS])
@settings(max_examples=15)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_tree_evaluator_matches_reference(aggregation, data, seed):
    model = data.draw(tree_models() if aggregation == "any" else tree_models(aggregations=(aggregation,)))
    X = sample_inputs(model, 40, seed=seed, missing=0.15)
    ref = _reference_tree(model, X)
    got = outputs(model, X)
    np.testing.assert_allclose(got, ref, rtol=1e-6 if model.estimator.accumulate_dtype == "float32" else 1e-12, atol=1e-12)


@given(models(), st.integers(0, 2**16))
def test_any_model_scores_sampled_inputs(model, seed):
    X = sample_inputs(model, 30, seed=seed)
    y = model.predict(X)
    assert y.shape == (30,)
    if model.task == "classification":
        p = model.predict_proba(X)
        assert p.shape == (30, len(model.classes)) and p.dtype == np.float64
        ok = ~np.isnan(p).any(axis=1)
        assert [lab is None for lab in y.tolist()] == (~ok).tolist()
    else:
        assert y.dtype == np.float64
    # rows are scored independently: any subset, in any input form, gives the same answers (trees
    # bit for bit; products may round a row differently in a batch of another size, since BLAS
    # picks its kernels by shape: OpenBLAS on AVX-512 does for one-column and small float32 ones)
    idx = np.random.default_rng(seed).permutation(30)[:7]
    sub = {k: v[idx] for k, v in X.items()}
    records = [{k: (None if isinstance(v[i], float) and math.isnan(v[i]) else v[i]) for k, v in sub.items()} for i in range(7)]
    if model.family == "tree":
        np.testing.assert_array_equal(model.predict(records), y[idx])
    elif model.task == "regression":
        tol = 1e-5 if getattr(model.estimator, "compute_dtype", "") == "float32" else 1e-12
        np.testing.assert_allclose(model.predict(records), y[idx], rtol=tol, atol=tol)
    else:
        np.testing.assert_allclose(model.predict_proba(records), p[idx], rtol=1e-5, atol=1e-5)
    assert_predictions_equal(model, model, sub)
