"""Real ONNX files (skl2onnx, onnxmltools, torch): read them and match their producers' outputs.

Every fixture in ``tests/data/onnx`` is read into the IR and scored with portamodel's evaluator on
the stored input rows; the result must match both the original library's outputs and
onnxruntime's, within float32 rounding. Then each model is written back to ONNX: the graph passes
the full checker, onnxruntime scores it like the evaluator, and reading it again keeps predictions.
"""

from __future__ import annotations

import json
import pathlib
import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import onnx  # noqa: E402

from helpers import assert_predictions_equal  # noqa: E402
from portamodel.errors import UnsupportedFeatureError  # noqa: E402
from portamodel.formats import onnx as onnx_format  # noqa: E402
from portamodel.ir import MLP, LinearModel, TreeEnsemble  # noqa: E402
from portamodel.ir.tree import OP_CODE  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data" / "onnx"
MANIFEST = json.loads((DATA / "manifest.json").read_text()) if (DATA / "manifest.json").exists() else {"fixtures": []}
FIXTURES = [f["name"] for f in MANIFEST["fixtures"]]

# float32 rounding: onnxruntime and the producers compute in float32, portamodel in float64
RTOL, ATOL = 2e-5, 2e-6


def _load(name: str) -> tuple[Any, dict[str, np.ndarray], dict[str, np.ndarray]]:
    model = onnx_format.read(DATA / f"{name}.onnx")
    with np.load(DATA / f"{name}.input.npz", allow_pickle=False) as f:
        inputs = {k: f[k] for k in f.files}
    with np.load(DATA / f"{name}.expected.npz", allow_pickle=False) as f:
        expected = {k: f[k] for k in f.files}
    return model, inputs, expected


def _rows(model: Any, inputs: dict[str, np.ndarray]) -> Any:
    """The fixture's graph inputs as portamodel rows (one tensor -> a 2-D array, several -> columns)."""
    if len(inputs) == 1:
        x = next(iter(inputs.values()))
        return x.reshape(len(x), -1)
    cols: dict[str, np.ndarray] = {}
    for name, arr in inputs.items():
        flat = arr.reshape(len(arr), -1)
        assert flat.shape[1] == 1
        cols[name] = flat[:, 0].astype(object) if flat.dtype.kind in "US" else flat[:, 0]
    return cols


def _labels_agree(pred: np.ndarray, expected: np.ndarray, proba: np.ndarray | None) -> None:
    got = pred.astype(str)
    want = expected.reshape(-1).astype(str)
    bad = got != want
    if proba is not None and bad.any():  # ties between the two best probabilities may flip
        top = np.sort(proba, axis=1)[:, -2:]
        bad &= (top[:, 1] - top[:, 0]) > 1e-6
    assert not bad.any(), f"{int(bad.sum())} labels differ: {got[bad][:5]} vs {want[bad][:5]}"


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_matches_its_producer_and_onnxruntime(name: str) -> None:
    model, inputs, expected = _load(name)
    X = _rows(model, inputs)
    entry = next(f for f in MANIFEST["fixtures"] if f["name"] == name)
    pred = model.predict(X)
    if model.task == "regression":
        assert entry["task"] == "regression"
        for key in ("prediction", *(k for k in expected if k.startswith("ort_"))):
            np.testing.assert_allclose(pred, expected[key].reshape(-1), rtol=RTOL, atol=ATOL * max(1.0, np.abs(pred).max()), err_msg=key)
        return
    proba = model.predict_proba(X)
    assert list(model.classes) == [c.item() if hasattr(c, "item") else c for c in entry["classes"]]
    for key, value in expected.items():
        if key.endswith("_classes"):
            continue
        if "prob" in key or (key == "prediction" and value.ndim == 2):
            np.testing.assert_allclose(proba, value.reshape(proba.shape), rtol=RTOL, atol=ATOL, err_msg=key)
        elif "label" in key:
            _labels_agree(pred, value, proba)


def test_every_fixture_is_covered() -> None:
    onnx_files = sorted(p.stem for p in DATA.glob("*.onnx"))
    assert onnx_files == sorted(FIXTURES) and len(FIXTURES) >= 25


def test_lightgbm_categorical_equality_chains_become_set_splits() -> None:
    model, _, _ = _load("lgbm_classifier_categorical")
    est = model.estimator
    assert isinstance(est, TreeEnsemble)
    assert np.any(est.op == OP_CODE["in"]), "BRANCH_EQ chains sharing a true branch should fold into 'in' splits"
    assert est.input_dtype == "float32" and est.accumulate_dtype == "float32"


def test_xgboost_missing_value_directions_are_kept() -> None:
    model, inputs, expected = _load("xgb_regressor")
    est = model.estimator
    assert isinstance(est, TreeEnsemble) and np.any(est.missing == 1) and np.any(est.missing == 0)
    X = next(iter(inputs.values()))
    assert np.isnan(X).any()
    np.testing.assert_allclose(model.predict(X), expected["ort_variable"].ravel(), rtol=1e-6)


def test_float_network_fixtures_read_as_float32_networks() -> None:
    """skl2onnx's and torch's MLPs compute in float32 (their graphs are float throughout): the IR
    says so, with the float32 weights of the graph, and the fixtures' expected outputs still match
    (test_fixture_matches_its_producer_and_onnxruntime)."""
    names = [n for n in FIXTURES if "mlp" in n]
    assert len(names) == 5
    for name in names:
        est = _load(name)[0].estimator
        assert isinstance(est, MLP) and est.compute_dtype == "float32", name
        for layer in est.layers:
            assert np.array_equal(layer.weights.astype(np.float32), layer.weights), name
            assert np.array_equal(layer.biases.astype(np.float32), layer.biases), name


def test_field_names_and_types_follow_the_graph_inputs() -> None:
    model, _, _ = _load("skl_pipeline_columntransformer_onehot_logreg")
    assert [(f.name, f.dtype) for f in model.inputs] == [("x1", "float"), ("x2", "float"), ("color", "string"), ("size", "string")]
    model, _, _ = _load("skl_logreg_multiclass_double")
    assert [f.name for f in model.inputs] == ["X[0]", "X[1]", "X[2]", "X[3]"] and model.inputs[0].dtype == "double"


# -- writing the fixture models back -----------------------------------------------------------------


def _session(data: bytes) -> Any:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 4
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def ort_feeds(data: bytes, X: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """onnxruntime inputs for a graph written by portamodel, from portamodel columns."""
    proto = onnx.load_model_from_string(data)
    spec = json.loads({p.key: p.value for p in proto.metadata_props}["portamodel.inputs"])
    types = {i.name: i.type.tensor_type.elem_type for i in proto.graph.input}
    feeds = {}
    for entry in spec:
        names = [f["name"] for f in entry["fields"]]
        if types[entry["tensor"]] == onnx.TensorProto.STRING:
            col = np.array(["" if v is None else str(v) for v in X[names[0]]], dtype=object).reshape(-1, 1)
        else:
            col = np.stack([np.asarray(X[n], dtype=np.float64) for n in names], axis=1)
            col = col.astype(np.float32 if types[entry["tensor"]] == onnx.TensorProto.FLOAT else np.float64)
        feeds[entry["tensor"]] = col
    return feeds


def as_columns(model: Any, X: Any) -> dict[str, np.ndarray]:
    if isinstance(X, dict):
        return X
    return {f.name: X[:, j] for j, f in enumerate(model.inputs)}


def is_float32_mlp(model: Any) -> bool:
    return isinstance(model.estimator, MLP) and model.estimator.compute_dtype == "float32"


def assert_onnxruntime_agrees(model: Any, data: bytes, X: Any, *, rtol: float | None = None, atol: float | None = None) -> None:
    """onnxruntime on ``data`` gives the evaluator's predictions / probabilities / labels.

    Default tolerances: 1e-6 relative, 1e-7 absolute; for a float32 network (both compute in
    float32, but onnxruntime's products add up in another order and its float Tanh / Sigmoid are
    approximations) 1e-5 relative and 1e-5 of the outputs' scale absolute.
    """
    cols = as_columns(model, X)
    sess = _session(data)
    out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, ort_feeds(data, cols))))
    ours = model.predict(cols) if model.task == "regression" else model.predict_proba(cols)
    if is_float32_mlp(model):
        finite = np.abs(ours[np.isfinite(ours)])
        scale = max(1.0, float(finite.max())) if finite.size else 1.0
        rtol, atol = (1e-5 if rtol is None else rtol), (1e-5 * scale if atol is None else atol)
    rtol, atol = (1e-6 if rtol is None else rtol), (1e-7 if atol is None else atol)
    if model.task == "regression":
        np.testing.assert_allclose(out["variable"].ravel(), ours, rtol=rtol, atol=atol)
        return
    proba = ours
    np.testing.assert_allclose(out["probabilities"], proba, rtol=rtol, atol=atol)
    ok = ~np.isnan(proba).any(axis=1)
    _labels_agree(out["label"][ok].astype(object), np.asarray(model.predict(cols))[ok], proba[ok])


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_model_written_back_runs_the_same(name: str) -> None:
    model, inputs, _ = _load(name)
    X = _rows(model, inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float32 tree scores under ml opset 3 are reported as a loss
        data = onnx_format.write(model)
    onnx.checker.check_model(onnx.load_model_from_string(data), full_check=True)
    assert_onnxruntime_agrees(model, data, X)
    assert onnx_format.read(data) == model
    assert_generic_read_is_right_or_refused(model, data, X)


def assert_generic_read_is_right_or_refused(model: Any, data: bytes, X: Any, *, must_read: bool = False) -> None:
    """Reading the graph itself (ignoring the embedded IR) gives the same predictions, or refuses."""
    try:
        again = onnx_format.read(data, embedded_ir=False)
    except UnsupportedFeatureError:
        if must_read:
            raise
        return
    est = model.estimator
    if is_float32_mlp(model):
        if is_float32_mlp(again):  # the same float32 arithmetic on the float32 weights the graph holds
            assert_predictions_equal(model, again, X, rtol=0.0, atol=0.0, tie_tol=0.0)
            return
        # a float32 network of one layer whose activation is a link (softmax, logistic, identity,
        # exp) reads as a LinearModel, which computes in float64: float32 rounding apart
        assert isinstance(again.estimator, LinearModel) and len(est.layers) == 1
        assert_predictions_equal(model, again, X, rtol=1e-5, atol=1e-6)
        return
    # the graph sums tree scores in double; a model that adds them up in float32 differs by that rounding
    f32 = isinstance(est, TreeEnsemble) and est.accumulate_dtype == "float32"
    assert_predictions_equal(model, again, X, rtol=1e-6 if f32 else 1e-9, atol=1e-6 if f32 else 1e-12)
