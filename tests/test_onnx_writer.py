"""IR -> ONNX: the graph passes the full checker and onnxruntime scores it like portamodel.

Property tests draw models of every family from ``strategies.models()``; targeted tests cover
Derive functions, encoders, missing-value policies, label types and the loss diagnostics.
"""

from __future__ import annotations

import math
import pathlib
import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import onnx
from hypothesis import example, given

import portamodel
from helpers import sample_inputs
from portamodel.diagnostics import LossWarning
from portamodel.errors import ConversionLossError, PortamodelError, UnsupportedFeatureError
from portamodel.formats import onnx as onnx_format
from portamodel.ir import (
    MLP,
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
from strategies import models
from test_onnx_fixtures import assert_generic_read_is_right_or_refused, assert_onnxruntime_agrees

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _write(model: Model, **opts: Any) -> bytes:
    data = onnx_format.write(model, on_loss="ignore", **opts)
    onnx.checker.check_model(onnx.load_model_from_string(data), full_check=True)
    return data


def _check_everything(model: Model, X: Any, *, must_read: bool = False, **opts: Any) -> None:
    data = _write(model, **opts)
    assert_onnxruntime_agrees(model, data, X)
    assert onnx_format.read(data) == model
    assert_generic_read_is_right_or_refused(model, data, X, must_read=must_read)


# -- property tests ----------------------------------------------------------------------------------


@given(models(families=("linear",)))
def test_linear_models_run_the_same_in_onnxruntime(model: Model) -> None:
    _check_everything(model, sample_inputs(model, 60, seed=1), must_read=True)  # the graph alone reads back too


@given(models(families=("mlp",)))
def test_mlps_run_the_same_in_onnxruntime(model: Model) -> None:
    _check_everything(model, sample_inputs(model, 60, seed=2), must_read=True)


def _float32_cancelling_mlp(dtype: str = "float32") -> Model:
    """``1e9 * (x - 1)``: float32 rounds ``x = 1 + 2**-30`` to 1 (0 out), float64 keeps it (0.93)."""
    layers = (DenseLayer(weights=[[1.0]], biases=[-1.0], activation="relu"), DenseLayer(weights=[[1e9]], biases=[0.0]))
    est = MLP(features=("x0",), layers=layers, compute_dtype=dtype)  # type: ignore[arg-type]
    return Model(inputs=(Field(name="x0"),), target=Target(name="y", task="regression"), estimator=est)


def test_float32_mlps_are_float_graphs_that_onnxruntime_computes_alike() -> None:
    model = _float32_cancelling_mlp()
    data = _write(model)
    g = onnx.load_model_from_string(data).graph
    first = [n.op_type for n in g.node].index("MatMul")
    assert g.node[first - 1].op_type == "Cast" and g.node[first - 1].attribute[0].i == onnx.TensorProto.FLOAT
    assert {t.data_type for t in g.initializer if t.name.startswith(("weights", "biases"))} == {onnx.TensorProto.FLOAT}
    assert g.node[-2].op_type == "Cast" and g.node[-2].attribute[0].i == onnx.TensorProto.DOUBLE
    X = np.array([[1 + 2**-30], [1.5], [2.0], [np.nan], [0.25]])
    ours = model.predict(X)
    np.testing.assert_array_equal(ours, [0.0, 5e8, 1e9, np.nan, 0.0])
    f64 = _float32_cancelling_mlp("float64")
    assert f64.predict(X[:1])[0] == pytest.approx(2**-30 * 1e9)  # float64 sees what float32 rounds away
    assert_onnxruntime_agrees(model, data, {"x0": X[:, 0]}, rtol=0.0, atol=0.0)  # bit for bit here
    back = onnx_format.read(data, embedded_ir=False)
    assert back == model  # float32-exact weights: the graph alone gives the same IR
    # a float64 network is written as before: double throughout, no casts
    g64 = onnx.load_model_from_string(_write(f64)).graph
    assert "Cast" not in [n.op_type for n in g64.node]
    assert {t.data_type for t in g64.initializer if t.name.startswith(("weights", "biases"))} == {onnx.TensorProto.DOUBLE}
    assert onnx_format.read(_write(f64), embedded_ir=False) == f64


def test_float32_mlp_weights_are_written_rounded() -> None:
    """Weights float32 cannot hold are stored rounded to nearest: the numbers the evaluator uses."""
    layers = (DenseLayer(weights=[[0.1, -1 / 3]], biases=[1e-50, 0.7], activation="leaky_relu", alpha=0.3),
              DenseLayer(weights=[[2 / 3], [1e39]], biases=[0.2], activation="arctan"))  # fmt: skip
    model = Model(
        inputs=(Field(name="x0"),),
        target=Target(name="y", task="regression"),
        estimator=MLP(features=("x0",), layers=layers, compute_dtype="float32"),
    )
    data = _write(model)
    X = {"x0": np.array([-3.0, -1.0, -0.1, 0.0, 0.5, 2.0, np.inf])}
    assert_onnxruntime_agrees(model, data, X)
    back = onnx_format.read(data, embedded_ir=False)
    assert back != model and back.estimator.compute_dtype == "float32"  # type: ignore[union-attr]
    with np.errstate(over="ignore"):  # 1e39 -> inf
        for got, want in zip(back.estimator.layers, layers):  # type: ignore[union-attr]
            assert np.array_equal(got.weights, want.weights.astype(np.float32))
            assert np.array_equal(got.biases, want.biases.astype(np.float32))
    assert back.estimator.layers[1].weights[1, 0] == np.inf  # type: ignore[union-attr]
    assert back.estimator.layers[0].alpha == float(np.float32(0.3))  # type: ignore[union-attr]
    np.testing.assert_array_equal(back.predict(X), model.predict(X))


def _float32_cancelling_sum(n_trees: int = 10, seed: int = 39, **kw: Any) -> Model:
    """Weighted stumps with leaves of +-1000s adding up to far less, summed in float32.

    onnxruntime adds tree scores in double; the IR rounds every partial sum to float32. Writing
    the sum as one tree node was off by up to 9e-5 (relative) here; Hypothesis found such a model
    about once in 6,000 (3.7e-7 off).
    """
    rng = np.random.default_rng(seed)
    stump: dict[str, list[Any]] = {k: [] for k in ("roots", "feature", "threshold", "true_child", "false_child", "values")}
    for _ in range(n_trees):
        r = len(stump["feature"])
        stump["roots"].append(r)
        stump["feature"] += [0, -1, -1]
        stump["threshold"] += [float(rng.normal()), 0.0, 0.0]
        stump["true_child"] += [r + 1, -1, -1]
        stump["false_child"] += [r + 2, -1, -1]
        stump["values"] += [[0.0], [float(rng.normal() * 1000)], [float(rng.normal() * 1000)]]
    n = len(stump["feature"])
    est = TreeEnsemble(
        features=("x0",), op=[0] * n, missing=[0] * n, tree_weights=rng.uniform(0.1, 2.0, n_trees), base_score=[0.3],
        accumulate_dtype="float32", **stump, **kw,
    )  # fmt: skip
    return Model(inputs=(Field(name="x0"),), target=Target(name="y", task="regression"), estimator=est)


@given(models(families=("tree",)))
@example(_float32_cancelling_sum())
def test_tree_ensembles_run_the_same_in_onnxruntime_ml_opset3(model: Model) -> None:
    _check_everything(model, sample_inputs(model, 60, seed=3), tree_opset=3)


@given(models(families=("tree",), steps=False))
def test_tree_ensembles_run_the_same_in_onnxruntime_ml_opset5(model: Model) -> None:
    _check_everything(model, sample_inputs(model, 60, seed=4), tree_opset=5)


def _folded_equality_example(null_after: bool) -> Model:
    """Hypothesis's finds: ``x in {0, 1}`` then ``x == 1`` (NaN to the true side) under ``max``."""
    tail: dict[str, list[Any]] = dict(feature=[0, -1, -1], threshold=[0.0] * 3, op=[0] * 3, true_child=[4, -1, -1],
                                      false_child=[5, -1, -1], missing=[3, 0, 0], values=[[0.0]] * 3)  # fmt: skip
    if not null_after:
        tail = dict(feature=[-1], threshold=[0.0], op=[0], true_child=[-1], false_child=[-1], missing=[0], values=[[0.01]])
    est = TreeEnsemble(
        features=("x0",),
        roots=[0, 1],
        feature=[-1, 0, -1, 0, -1, *tail["feature"]],
        threshold=[0.0, 0.0, 0.0, 1.0, 0.0, *tail["threshold"]],
        op=[0, 6, 0, 4, 0, *tail["op"]],
        true_child=[-1, 2, -1, 4, -1, *[c + 2 if c >= 0 else c for c in tail["true_child"]]],
        false_child=[-1, 3, -1, 5, -1, *[c + 2 if c >= 0 else c for c in tail["false_child"]]],
        missing=[0, 0, 0, 1, 0, *tail["missing"]],
        values=[[0.0]] * 5 + tail["values"],
        set_offsets=[0, 2],
        set_values=[0.0, 1.0],
        aggregation="max",
    )
    return Model(inputs=(Field(name="x0", dtype="double"),), target=Target(name="y", task="regression"), estimator=est)


@given(models(families=("tree",), steps=False, float_inputs=False))
@example(_folded_equality_example(null_after=False))  # onnxruntime gave 0.01 for NaN rows
@example(_folded_equality_example(null_after=True))  # onnxruntime gave NaN
def test_float32_trees_keep_every_decision_in_ml_opset1(model: Model) -> None:
    # float attributes only: thresholds are rounded so float32 inputs take the same paths
    est = model.estimator.replace(input_dtype="float32", accumulate_dtype="float32")  # type: ignore[union-attr]
    model = Model(inputs=model.inputs, target=model.target, estimator=est, steps=model.steps)
    X = sample_inputs(model, 60, seed=6)
    data = _write(model, tree_opset=1)
    assert_onnxruntime_agrees(model, data, X, rtol=1e-5, atol=1e-5)  # leaf values held in float32
    assert onnx_format.read(data) == model


# -- every PMML / JSON fixture ---------------------------------------------------------------------

MODEL_FILES = sorted(p for p in (ROOT / "tests" / "data" / "pmml").rglob("*.pmml")) + sorted((ROOT / "examples").glob("*.json"))


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_pmml_and_json_fixtures_run_the_same_in_onnxruntime(path: pathlib.Path) -> None:
    model = portamodel.load(path)
    X = sample_inputs(model, 80, seed=5)
    _check_everything(model, X)


# -- targeted semantics ------------------------------------------------------------------------------


def _x(name: str = "x", dtype: str = "double") -> Field:
    return Field(name=name, dtype=dtype)  # type: ignore[arg-type]


def _regression(inputs: tuple[Field, ...], steps: tuple[Any, ...], features: tuple[str, ...]) -> Model:
    est = LinearModel(features=features, coefficients=[[1.0] * len(features)], intercepts=[0.0])
    return Model(inputs=inputs, target=Target(name="y", task="regression"), estimator=est, steps=steps)


def _each_derive(inputs: tuple[Field, ...], exprs: list[Any], X: dict[str, np.ndarray]) -> None:
    for i, e in enumerate(exprs):
        model = _regression(inputs, (Derive(output="d", expression=e),), ("d",))
        try:
            _check_everything(model, X)
        except AssertionError as exc:  # pragma: no cover - diagnostic
            raise AssertionError(f"expression {i}: {e}") from exc


def _ref(n: str) -> FieldRef:
    return FieldRef(name=n)


def _c(v: Any) -> Constant:
    return Constant(value=v)


def _ap(fn: str, *args: Any) -> Apply:
    return Apply(function=fn, args=args)


def test_every_numeric_derive_function_matches() -> None:
    a, b = _ref("a"), _ref("b")
    rng = np.random.default_rng(0)
    n = 300
    cols = {"a": rng.normal(0, 3, n).round(1), "b": rng.normal(0, 3, n).round(1)}
    cols["a"][::7] = np.nan
    cols["b"][::11] = np.nan
    cols["b"][::13] = 0.0
    cols["a"][::17] = cols["b"][::17]
    exprs = [
        _ap(op, a, b)
        for op in (
            "+",
            "-",
            "*",
            "/",
            "pow",
            "threshold",
            "modulo",
            "equal",
            "notEqual",
            "lessThan",
            "lessOrEqual",
            "greaterThan",
            "greaterOrEqual",
        )
    ]
    exprs += [
        _ap(fn, a)
        for fn in (
            "log10",
            "ln",
            "sqrt",
            "abs",
            "exp",
            "floor",
            "ceil",
            "round",
            "rint",
            "tanh",
            "sin",
            "cos",
            "isMissing",
            "isNotMissing",
            "not",
        )
    ]
    exprs += [_ap(fn, a, b, _c(1.5)) for fn in ("min", "max", "sum", "avg", "product", "and", "or")]
    exprs += [_ap("min", a), _ap("avg", a, b), _ap("isIn", a, _c(0.0), b, _c(1.5)), _ap("isNotIn", a, _c(-1.0), _c(0.5))]
    exprs += [
        _ap("if", _ap("greaterThan", a, b), a, b),
        _ap("if", a, _c(1.0)),
        _ap("if", _ap("isMissing", b), _c(None), _c(2.0)),
        _c(3.0),
        _c(None),
    ]
    _each_derive((_x("a"), _x("b")), exprs, cols)


def test_text_derive_functions_match() -> None:
    s = _ref("s")
    cols = {"s": np.array(["red", "blue", None, "green", "red"] * 20, dtype=object), "x": np.linspace(-2, 2, 100)}
    inputs = (Field(name="s", dtype="string", optype="categorical"), _x("x"))
    exprs = [
        _ap("equal", s, _c("red")),
        _ap("notEqual", _c("blue"), s),
        _ap("isIn", s, _c("red"), _c("green")),
        _ap("isNotIn", s, _c("red")),
        _ap("isMissing", s),
        _ap("if", _ap("equal", s, _c("red")), _ref("x"), _c(0.0)),
    ]
    _each_derive(inputs, exprs, cols)
    text = Derive(output="t", expression=_ap("if", _ap("greaterThan", _ref("x"), _c(0.0)), s, _c("neg")), dtype="string")
    onehot = OneHot(input="t", categories=("red", "neg", "blue"), outputs=("t_red", "t_neg", "t_blue"))
    _check_everything(_regression(inputs, (text, onehot), ("t_red", "t_neg", "t_blue")), cols)


def test_boolean_derive_expm1_ln1p_and_empty_string_loss() -> None:
    cols = {"a": np.array([0.0, 1.0, -2.0, np.nan, 1e-9, 3.0, -1e-300, 0.5])}
    model = _regression((_x("a"),), (Derive(output="d", expression=_ap("*", _ref("a"), _c(2.0)), dtype="boolean"),), ("d",))
    _check_everything(model, cols)
    for fn in ("expm1", "ln1p"):  # no cancellation for tiny arguments
        model = _regression((_x("a"),), (Derive(output="d", expression=_ap(fn, _ref("a"))),), ("d",))
        assert_onnxruntime_agrees(model, _write(model), cols, rtol=1e-15, atol=0.0)
    text = (Field(name="s", dtype="string", optype="categorical"),)
    lossy = _regression(text, (Derive(output="d", expression=_ap("equal", _ref("s"), _c(""))),), ("d",))
    with pytest.raises(ConversionLossError, match="missing"):
        onnx_format.write(lossy, on_loss="raise")
    with pytest.warns(LossWarning, match="missing"):
        onnx_format.write(lossy)


def test_encoders_and_imputation_match() -> None:
    color = Field(name="color", dtype="string", optype="categorical", values=("red", "green", "blue"), invalid="as_missing")
    size = Field(name="size", dtype="integer", optype="categorical", values=(1, 2, 3), invalid="as_missing")
    inputs = (color, size, _x("w"))
    steps = (
        Impute(inputs=("w", "color"), outputs=("w_i", "color_i"), values=(0.5, "green")),
        OneHot(input="color", categories=("red", "blue"), outputs=("c_red", "c_blue"), missing="propagate"),
        OneHot(input="size", categories=(1, "2", 2.0, 9), outputs=("s1", "s2", "s2b", "s9")),
        Lookup(input="color_i", output="color_code", keys=("red", "green"), values=(1.5, -1.0), default=7.0, missing=None),
        Lookup(input="size", output="size_name", keys=(1, 3), values=("one", "three"), default="other", missing="none"),
        OneHot(input="size_name", categories=("one", "other", "none"), outputs=("n1", "n_other", "n_none")),
        Affine(inputs=("w_i", "color_code"), outputs=("w_s", "cc_s"), offset=[1.0, 0.5], scale=[2.0, 4.0], shift=[0.0, 1.0], divide=True),
    )
    feats = ("c_red", "c_blue", "s1", "s2", "s2b", "s9", "n1", "n_other", "n_none", "w_s", "cc_s")
    cls = Target(name="y", task="classification", classes=("no", "yes"))
    est = LinearModel(features=feats, coefficients=[np.linspace(-1, 1, len(feats))], intercepts=[0.1], normalization="logistic")
    model = Model(inputs=inputs, target=cls, estimator=est, steps=steps)
    n = 120
    rng = np.random.default_rng(3)
    X = {
        "color": np.array(rng.choice(["red", "green", "blue", "pink", None], n), dtype=object),
        "size": rng.choice([1.0, 2.0, 3.0, 4.0, np.nan], n),
        "w": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
    }
    _check_everything(model, X)


def test_lookup_and_onehot_refusals_are_reported() -> None:
    f = Field(name="c", dtype="string", optype="categorical", values=("a", "b"), invalid="error")
    steps = (OneHot(input="c", categories=("a",), outputs=("c_a",), unknown="error"),)
    model = _regression((f,), steps, ("c_a",))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        onnx_format.write(model)
    messages = [str(w.message) for w in caught if issubclass(w.category, LossWarning)]
    assert any("outside the field's list" in m for m in messages) and any("unknown category" in m for m in messages)
    number_to_text = _regression((_x("v"),), (Impute(inputs=("v",), outputs=("v_t",), values=("n/a",)),), ("v",))
    with pytest.raises(UnsupportedFeatureError, match="text"):
        onnx_format.write(number_to_text)


def _stump(op: int, missing: int, threshold: float = 0.5, **kw: Any) -> TreeEnsemble:
    return TreeEnsemble(
        features=("x",),
        roots=[0],
        feature=[0, -1, -1],
        threshold=[threshold, 0, 0],
        op=[op, 0, 0],
        true_child=[1, -1, -1],
        false_child=[2, -1, -1],
        missing=[missing, 0, 0],
        values=[[7.0], [1.0], [2.0]],
        **kw,
    )


@pytest.mark.parametrize("op", range(6))
@pytest.mark.parametrize("missing", range(4))
@pytest.mark.parametrize("tree_opset", [1, 3, 5])
def test_every_split_operator_and_missing_action(op: int, missing: int, tree_opset: int) -> None:
    for t in (0.1, 0.5):  # 0.1 is not a float32 value: float32 inputs must still compare like the IR
        f32 = np.float32(t)
        near = [np.nextafter(f32, np.float32(1)), np.nextafter(f32, np.float32(-1))]
        X = {"x": np.array([t, np.nextafter(t, 1), np.nextafter(t, -1), float(f32), *map(float, near), -3.0, 3.0, np.nan])}
        for dtype in ("float64", "float32") if tree_opset != 1 else ("float32",):
            est = _stump(op, missing, t, input_dtype=dtype)
            model = Model(inputs=(_x(),), target=Target(name="y", task="regression"), estimator=est)
            _check_everything(model, X, tree_opset=tree_opset)


def _trees(features: tuple[str, ...], nodes: list[tuple[Any, ...]], **kw: Any) -> Model:
    """One tree from rows ``(feature, op, threshold, true, false, missing, value)``; feature -1 is a leaf."""
    cols = list(zip(*nodes, strict=True))
    est = TreeEnsemble(
        features=features, roots=[0], feature=cols[0], op=cols[1], threshold=cols[2], true_child=cols[3],
        false_child=cols[4], missing=cols[5], values=[[v] for v in cols[6]], **kw,
    )  # fmt: skip
    return Model(inputs=tuple(_x(f) for f in features), target=Target(name="y", task="regression"), estimator=est)


_LEAF = (-1, 0, 0.0, -1, -1, 0)


def _folding_cases(missing: int) -> dict[str, Model]:
    """Runs of ``==`` tests onnxruntime folds into one set test, keeping only the first test's NaN rule."""
    eq, ne, in_, le, m = 4, 5, 6, 0, missing
    # set {1, 2}, then == 3 whose true leaf has the set's value
    set_then_eq = [(0, in_, 0.0, 1, 2, 0, 0), (*_LEAF, 1.0), (0, eq, 3.0, 3, 4, m, 0), (*_LEAF, 1.0), (*_LEAF, 5.0)]
    # == 1, == 2, == 3 with equal true leaves; only the third test has its own NaN rule
    three_eq = [(0, eq, 1.0, 1, 2, 0, 0), (*_LEAF, 1.0), (0, eq, 2.0, 3, 4, 0, 0), (*_LEAF, 1.0)]
    three_eq += [(0, eq, 3.0, 5, 6, m, 0), (*_LEAF, 1.0), (*_LEAF, 2.0)]
    # != is written as == with swapped branches: its false leaf continues the run
    eq_ne = [(0, eq, 1.0, 1, 2, 0, 0), (*_LEAF, 1.0), (0, ne, 2.0, 3, 4, m, 0), (*_LEAF, 3.0), (*_LEAF, 1.0)]
    # true subtrees equal but for the NaN rule of a test on another feature
    subtrees = [(0, eq, 1.0, 1, 4, 0, 0), (1, le, 0.5, 2, 3, 1, 0), (*_LEAF, 10.0), (*_LEAF, 20.0)]
    subtrees += [(0, eq, 2.0, 5, 8, 0, 0), (1, le, 0.5, 6, 7, m, 0), (*_LEAF, 10.0), (*_LEAF, 20.0), (*_LEAF, 99.0)]
    return {
        "set then equal": _trees(("x",), set_then_eq, set_offsets=[0, 2], set_values=[1.0, 2.0]),
        "three equals": _trees(("x",), three_eq),
        "equal then not equal": _trees(("x",), eq_ne),
        "subtrees differ in NaN rule": _trees(("x", "z"), subtrees),
    }


@pytest.mark.parametrize("missing", range(4))
@pytest.mark.parametrize("tree_opset", [1, 3, 5])
def test_equality_runs_keep_each_tests_nan_rule(missing: int, tree_opset: int) -> None:
    # onnxruntime (1.32) folds such runs into one set test with the first test's NaN rule and true
    # subtree; the writer separates tests whose folding would change a decision
    xs = np.array([np.nan, 0.0, 1.0, 2.0, 3.0, 1.5, -1.0])
    for name, model in _folding_cases(missing).items():
        X = {"x": np.repeat(xs, 3), "z": np.tile([np.nan, 0.0, 1.0], xs.size)}
        if tree_opset == 1:
            est = model.estimator.replace(input_dtype="float32", accumulate_dtype="float32")  # type: ignore[union-attr]
            model = Model(inputs=model.inputs, target=model.target, estimator=est)
        try:
            _check_everything(model, {k: X[k] for k in model.input_names}, tree_opset=tree_opset)
        except AssertionError as exc:  # pragma: no cover - diagnostic
            raise AssertionError(f"{name}: {exc}") from exc


@pytest.mark.parametrize("tree_opset", [3, 5])
@pytest.mark.parametrize("aggregation", ["sum", "average", "max", "median", "majority_vote"])
def test_aggregations_with_null_and_stop(aggregation: str, tree_opset: int) -> None:
    # three trees over x; tree 2 makes the prediction missing when x is missing
    def tree(offset: int, missing: int, vals: list[list[float]]) -> dict[str, Any]:
        return dict(feature=[0, -1, -1], threshold=[0.3 * offset, 0, 0], op=[0, 0, 0], true_child=[offset + 1, -1, -1],
                    false_child=[offset + 2, -1, -1], missing=[missing, 0, 0], values=vals)  # fmt: skip

    parts = [
        tree(0, 2, [[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]]),
        tree(3, 1, [[0.0, 1.0], [0.5, 0.5], [0.7, 0.3]]),
        tree(6, 3, [[0.3, 0.7], [0.9, 0.1], [0.2, 0.8]]),
    ]
    arrays: dict[str, list[Any]] = {k: [] for k in ("feature", "threshold", "op", "true_child", "false_child", "missing", "values")}
    for p in parts:
        for k in arrays:
            arrays[k] += p[k]
    est = TreeEnsemble(features=("x",), roots=[0, 3, 6], aggregation=aggregation, tree_weights=[1.0, 2.0, 0.5], **arrays)  # type: ignore[arg-type]
    model = Model(inputs=(_x(),), target=Target(name="y", task="classification", classes=(0, 1)), estimator=est)
    X = {"x": np.array([-1.0, 0.0, 0.3, 0.5, 0.9, 1.2, 2.0, np.nan])}
    _check_everything(model, X, tree_opset=tree_opset)


@pytest.mark.parametrize("post", ["probit", "cloglog", "loglog", "cauchit"])
def test_link_functions_are_exact_in_double(post: str) -> None:
    est = LinearModel(features=("x",), coefficients=[[1.0]], intercepts=[0.0], normalization=post)  # type: ignore[arg-type]
    model = Model(inputs=(_x(),), target=Target(name="y", task="classification", classes=("a", "b")), estimator=est)
    X = {"x": np.concatenate([np.linspace(-40, 40, 161), [-1e-9, 1e-300, 1e6, -1e6, np.nan]])}
    data = _write(model)
    assert_onnxruntime_agrees(model, data, X, rtol=1e-13, atol=3e-16)  # one unit in the last place of 1.0


@pytest.mark.parametrize("activation", ["arctan", "gauss", "elliott", "square", "reciprocal", "sine", "cosine", "leaky_relu", "exp"])
def test_hidden_activations(activation: str) -> None:
    layers = (
        DenseLayer(weights=[[1.0, -2.0]], biases=[0.5, 0.0], activation=activation, alpha=0.3),  # type: ignore[arg-type]
        DenseLayer(weights=[[1.0], [0.5]], biases=[0.1], activation="identity"),
    )
    model = Model(inputs=(_x(),), target=Target(name="y", task="regression"), estimator=MLP(features=("x",), layers=layers))
    _check_everything(model, {"x": np.linspace(-5, 5, 41)})


@pytest.mark.parametrize(
    ("classes", "onnx_type"),
    [
        ((True, False), onnx.TensorProto.BOOL),
        ((0.5, 2.0, -1.0), onnx.TensorProto.DOUBLE),
        ((3, 1, 2), onnx.TensorProto.INT64),
        (("a", "b"), onnx.TensorProto.STRING),
    ],
)
def test_label_tensor_types(classes: tuple[Any, ...], onnx_type: int) -> None:
    k = len(classes)
    est = LinearModel(features=("x",), coefficients=[[float(i) - 1.0] for i in range(k)], intercepts=[0.0] * k, normalization="softmax")
    model = Model(inputs=(_x(),), target=Target(name="y", task="classification", classes=classes), estimator=est)
    data = _write(model)
    label = next(o for o in onnx.load_model_from_string(data).graph.output if o.name == "label")
    assert label.type.tensor_type.elem_type == onnx_type
    _check_everything(model, {"x": np.linspace(-3, 3, 13)})


def test_mixed_label_types_become_text_with_a_loss() -> None:
    est = LinearModel(features=("x",), coefficients=[[1.0]], intercepts=[0.0], normalization="logistic")
    model = Model(inputs=(_x(),), target=Target(name="y", task="classification", classes=(1, "b")), estimator=est)
    with pytest.raises(ConversionLossError, match="mixed types"):
        onnx_format.write(model, on_loss="raise")


@pytest.mark.parametrize("aggregation", ["sum", "average", "max", "median"])
@pytest.mark.parametrize("tree_opset", [1, 3, 5])
def test_float32_tree_sums_are_bit_exact(aggregation: str, tree_opset: int) -> None:
    # float32 partial sums in tree order, float32 weights times values, the base score added
    # first (sum) or last: onnxruntime gives the evaluator's numbers to the bit
    model = _float32_cancelling_sum(aggregation=aggregation, input_dtype="float32" if tree_opset == 1 else "float64")
    X = {"x0": np.linspace(-3.0, 3.0, 61)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is lost
        data = onnx_format.write(model, tree_opset=tree_opset)
    assert_onnxruntime_agrees(model, data, X, rtol=0.0, atol=0.0)
    assert onnx_format.read(data) == model
    assert_generic_read_is_right_or_refused(model, data, X)
    if aggregation in ("sum", "average"):  # the graph alone reads back as the same float32 sums
        if aggregation == "average":  # (a weighted average is refused: the IR weighs each tree)
            model = Model(inputs=model.inputs, target=model.target, estimator=model.estimator.replace(tree_weights=None))  # type: ignore[union-attr]
            data = onnx_format.write(model, tree_opset=tree_opset)
        again = onnx_format.read(data, embedded_ir=False)
        assert again.estimator.accumulate_dtype == "float32"  # type: ignore[union-attr]
        assert again.predict(X).tolist() == model.predict(X).tolist()


def test_float32_majority_votes_are_bit_exact() -> None:
    est = _float32_cancelling_sum(n_trees=7).estimator
    v = est.values[:, 0]
    est = est.replace(values=np.stack([v, -0.5 * v + 1.0, 0.7 * v], axis=1), aggregation="majority_vote", base_score=[0.1, 0.0, 0.2])
    model = Model(inputs=(Field(name="x0"),), target=Target(name="y", task="classification", classes=("a", "b", "c")), estimator=est)
    assert_onnxruntime_agrees(model, _write(model), {"x0": np.linspace(-3.0, 3.0, 61)}, rtol=0.0, atol=0.0)


def test_float32_tree_scores_under_ml_opset3_are_reported() -> None:
    model = Model(inputs=(_x(),), target=Target(name="y", task="regression"), estimator=_stump(0, 0))
    with pytest.warns(LossWarning, match="float32"):
        onnx_format.write(model)
    with pytest.raises(ConversionLossError):
        onnx_format.write(model, on_loss="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        onnx_format.write(model, tree_opset=5)  # double throughout: nothing to report
        onnx_format.write(
            Model(inputs=(_x(),), target=Target(name="y", task="regression"), estimator=_stump(0, 0, accumulate_dtype="float32"))
        )


def test_inputs_outputs_and_options() -> None:
    inputs = (Field(name="a", dtype="float"), Field(name="b"), Field(name="c", dtype="string", optype="categorical"))
    steps = (OneHot(input="c", categories=("u",), outputs=("c_u",)),)
    est = LinearModel(features=("a", "b", "c_u"), coefficients=[[1.0, 2.0, 3.0]], intercepts=[0.0])
    model = Model(inputs=inputs, target=Target(name="y", task="regression"), estimator=est, steps=steps)
    proto = onnx.load_model_from_string(_write(model))
    types = {i.name: (i.type.tensor_type.elem_type, [d.dim_value or None for d in i.type.tensor_type.shape.dim]) for i in proto.graph.input}
    assert types == {
        "X": (onnx.TensorProto.DOUBLE, [None, 1]),
        "X_float32": (onnx.TensorProto.FLOAT, [None, 1]),
        "c": (onnx.TensorProto.STRING, [None, 1]),
    }
    assert [o.name for o in proto.graph.output] == ["variable"]
    assert onnx_format.write(model, on_loss="ignore") == onnx_format.write(model, on_loss="ignore")  # deterministic
    with pytest.raises(PortamodelError, match="unknown option"):
        onnx_format.write(model, colour="blue")
    with pytest.raises(PortamodelError, match="tree_opset"):
        onnx_format.write(model, tree_opset=4)
    with pytest.warns(LossWarning, match="float32"):  # float64 comparisons cannot be kept in ml opset 1
        onnx_format.write(Model(inputs=(_x(),), target=Target(name="y", task="regression"), estimator=_stump(0, 0)), tree_opset=1)
    with pytest.raises(PortamodelError, match="on_loss"):
        onnx_format.write(model, on_loss="shrug")


def test_embedded_ir_is_used_only_for_an_untouched_graph() -> None:
    est = LinearModel(features=("x",), coefficients=[[2.0]], intercepts=[1.0])
    model = Model(inputs=(_x(),), target=Target(name="y", task="regression"), estimator=est)
    proto = onnx.load_model_from_string(_write(model))
    assert onnx_format.read(proto.SerializeToString()) == model
    for init in proto.graph.initializer:  # edit the graph: the embedded IR no longer describes it
        if init.name.startswith("coefficients"):
            init.CopyFrom(onnx.numpy_helper.from_array(np.array([[5.0]]), init.name))
    tampered = onnx_format.read(proto.SerializeToString())
    assert tampered.predict([[1.0]]).tolist() == [6.0]


def test_save_and_load_through_the_public_api(tmp_path: pathlib.Path) -> None:
    est = LinearModel(features=("x",), coefficients=[[2.0]], intercepts=[1.0], normalization="exp")
    model = Model(inputs=(_x(),), target=Target(name="y", task="regression"), estimator=est)
    path = tmp_path / "m.onnx"
    portamodel.save(model, path)
    assert portamodel.load(path) == model
    assert portamodel.load(path.read_bytes()) == model
    assert math.isclose(float(portamodel.load(path, embedded_ir=False).predict([[0.5]])[0]), math.exp(2.0))
