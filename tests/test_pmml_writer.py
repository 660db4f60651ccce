"""PMML writer: IR -> PMML 4.4 -> IR keeps predictions, validates against the XSD, and scores the
same in jpmml_evaluator (the independent judge; marked ``java``)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings

import portamodel
from helpers import assert_predictions_equal, sample_inputs
from portamodel.diagnostics import LossWarning
from portamodel.errors import ConversionLossError, PortamodelError
from portamodel.formats import pmml
from portamodel.ir import MLP, DenseLayer, Field, LinearModel, Metadata, Model, Target
from strategies import linear_models, mlp_models, models, tree_models

DATA = Path(__file__).parent / "data" / "pmml"
XSD_PATH = Path(__file__).resolve().parents[2] / "shared" / "specs" / "pmml-4-4.xsd"
#: JPMML-Model's schema: PMML 4.4 plus its x- extensions (x-mathContext)
JPMML_XSD_PATH = XSD_PATH.with_name("pmml-4-4-1-jpmml-superset.xsd")
FIXTURES = sorted(DATA.glob("*.pmml")) + sorted((DATA / "handwritten").glob("*.pmml"))


@pytest.fixture(scope="module")
def xsd() -> Any:
    from lxml import etree

    if not XSD_PATH.exists():
        pytest.skip(f"no PMML 4.4 XSD at {XSD_PATH}")
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def assert_valid(xsd: Any, data: bytes) -> None:
    from lxml import etree

    doc = etree.fromstring(data)
    assert xsd.validate(doc), str(xsd.error_log.last_error)


def is_float32(model: Model) -> bool:
    """float32 tree sums or a float32 network: PMML 4.4 writes them as double (a reported loss)."""
    est = model.estimator
    return "float32" in (getattr(est, "accumulate_dtype", ""), getattr(est, "compute_dtype", ""))


def tolerance(model: Model, lossy: bool) -> dict[str, float]:
    """float32 accumulation / arithmetic is written as double (reported as a loss): compare in float32 then."""
    if lossy and is_float32(model):
        return {"rtol": 1e-5, "atol": 1e-6}
    return {}


def write_or_skip(model: Model) -> tuple[bytes, bool]:
    """(PMML bytes, lossy?) -- a loss other than float32 accumulation / arithmetic skips the example."""
    try:
        return pmml.write(model, on_loss="raise"), False
    except ConversionLossError as exc:
        if "float32 accumulation" not in str(exc) and "float32 arithmetic" not in str(exc):
            assume(False)
        return pmml.write(model, on_loss="ignore"), True


# -- real fixtures: read -> write -> read --------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_roundtrip(path: Path, xsd: Any) -> None:
    model = pmml.read(path)
    data = pmml.write(model, on_loss="raise")
    assert_valid(xsd, data)
    back = pmml.read(data)
    assert back.input_names == model.input_names and back.classes == model.classes
    assert_predictions_equal(model, back, sample_inputs(model, 300, seed=1))
    inputs = pd.read_csv(path.with_name(path.stem + ".input.csv"))
    X = {f.name: inputs[f.name].to_numpy(dtype=object if f.dtype == "string" else np.float64) for f in model.inputs}
    for f in model.inputs:
        if f.dtype == "string":
            X[f.name] = np.array([None if isinstance(v, float) else v for v in X[f.name]], dtype=object)
    assert_predictions_equal(model, back, X)
    assert back.metadata == model.metadata


def test_writing_is_deterministic_and_compact_option() -> None:
    model = pmml.read(DATA / "gradient_boosting_multiclass.pmml")
    a = pmml.write(model)
    assert a == pmml.write(model)
    flat = pmml.write(model, indent=False)
    assert len(flat) < len(a) and pmml.read(flat) == pmml.read(a)


def test_compact_trees() -> None:
    """One PMML Node per split plus the root: no wrapper nodes (JPMML's returnLastPrediction form)."""
    model = pmml.read(DATA / "random_forest_regressor.pmml")
    est = model.estimator
    text = pmml.write(model).decode()
    assert text.count("<Node") == int((est.feature >= 0).sum()) + est.n_trees
    assert 'missingValueStrategy="nullPrediction"' in text and 'dataType="float"' in text


# -- random models from the shared strategies -------------------------------------------------------------

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def jpmml_xsd() -> Any:
    from lxml import etree

    if not JPMML_XSD_PATH.exists():
        pytest.skip(f"no JPMML PMML schema at {JPMML_XSD_PATH}")
    return etree.XMLSchema(etree.parse(str(JPMML_XSD_PATH)))


def _roundtrip(model: Model, xsd: Any) -> None:
    lossy_text = pmml.write(model, on_loss="ignore")
    assert_valid(xsd, lossy_text)
    data, lossy = write_or_skip(model)
    back = pmml.read(data)
    X = sample_inputs(model, 120, seed=0)
    tol = tolerance(model, lossy)
    if tol and isinstance(model.estimator, MLP):  # float32 rounding in units of the network's sums
        # and rows that overflow float32 but not double are part of the reported loss
        from portamodel.evaluate import outputs

        fits = np.isfinite(outputs(model, X)).all(axis=1) | ~np.isfinite(outputs(back, X)).all(axis=1)
        X = {k: v[fits] for k, v in X.items()}
        tol = {k: v * _largest_sum(model, X) for k, v in tol.items()}
    assert_predictions_equal(model, back, X, **tol)
    if getattr(model.estimator, "compute_dtype", "") == "float32":  # JPMML's x-mathContext keeps it
        back = pmml.read(pmml.write(model, on_loss="ignore", jpmml_extensions=True))
        assert back.estimator.compute_dtype == "float32"  # type: ignore[union-attr]
        scale = _largest_sum(model, X)  # leaky ReLU written as two ReLUs rounds differently
        assert_predictions_equal(model, back, X, rtol=1e-6 * scale, atol=1e-6 * scale)


@PROPERTY
@given(linear_models())
def test_random_linear_models_roundtrip(xsd: Any, model: Model) -> None:
    _roundtrip(model, xsd)


@PROPERTY
@given(tree_models())
def test_random_tree_models_roundtrip(xsd: Any, model: Model) -> None:
    _roundtrip(model, xsd)


@PROPERTY
@given(mlp_models())
def test_random_mlp_models_roundtrip(xsd: Any, model: Model) -> None:
    _roundtrip(model, xsd)


@PROPERTY
@given(models(max_trees=6, max_depth=5))
def test_random_models_roundtrip(xsd: Any, model: Model) -> None:
    _roundtrip(model, xsd)


# -- losses, options, metadata --------------------------------------------------------------------------


def _linear(normalization: str, n_out: int) -> Model:
    k = ("a", "b", "c")[: max(n_out, 2)]
    return Model(
        inputs=(Field(name="x"),),
        target=Target(name="y", task="classification", classes=k),
        estimator=LinearModel(features=("x",), coefficients=np.ones((n_out, 1)), intercepts=np.zeros(n_out), normalization=normalization),
        metadata=Metadata(
            name="m", description="d", producer="p", producer_version="1", version="7", created="2026-01-01", extra={"k": "v"}
        ),
    )


def test_loss_policy() -> None:
    model = _linear("softmax_zero", 3)
    with pytest.raises(ConversionLossError, match="softmax_zero"):
        pmml.write(model, on_loss="raise")
    with pytest.warns(LossWarning, match="softmax_zero"):
        pmml.write(model, on_loss="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pmml.write(model, on_loss="ignore")
    with pytest.raises(PortamodelError, match="on_loss"):
        pmml.write(model, on_loss="sometimes")
    with pytest.raises(PortamodelError, match="unknown option"):
        pmml.write(model, pretty=True)


def test_metadata_roundtrip(tmp_path: Path) -> None:
    model = _linear("softmax", 3)
    path = tmp_path / "m.pmml.gz"
    portamodel.save(model, path)
    back = portamodel.load(path)
    assert back.metadata == model.metadata
    assert back == pmml.read(pmml.write(model))


def test_names_are_escaped(xsd: Any) -> None:
    model = Model(
        inputs=(Field(name='a<b & "c"'),),
        target=Target(name="x>y", task="regression"),
        estimator=LinearModel(features=('a<b & "c"',), coefficients=[[2.0]], intercepts=[1.0]),
    )
    data = pmml.write(model)
    assert_valid(xsd, data)
    assert pmml.read(data).predict([[1.5]]).tolist() == [4.0]
    bad = Model(
        inputs=(Field(name="a\x01"),),
        target=Target(name="y", task="regression"),
        estimator=LinearModel(features=("a\x01",), coefficients=[[1.0]], intercepts=[0.0]),
    )
    with pytest.raises(PortamodelError, match="XML cannot represent"):
        pmml.write(bad)


# -- jpmml_evaluator agrees on every written test model ------------------------------------------------------


def _collect(strategy: Any, n: int) -> list[Model]:
    found: list[Model] = []

    @settings(max_examples=n, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(m: Model) -> None:
        found.append(m)

    draw()
    return found


@pytest.fixture(scope="module")
def jpmml(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if shutil.which("java") is None:
        pytest.skip("java is not installed")
    jpmml_evaluator = pytest.importorskip("jpmml_evaluator")

    def evaluate(data: bytes, X: dict[str, np.ndarray], name: str) -> pd.DataFrame:
        path = tmp_path_factory.mktemp("jpmml") / f"{name}.pmml"
        path.write_bytes(data)
        ev = jpmml_evaluator.make_evaluator(str(path), backend="jpype").verify()
        return ev.evaluateAll(pd.DataFrame(X))

    return evaluate


def _agree(jpmml: Any, model: Model, data: bytes, X: dict[str, np.ndarray], name: str, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    res = jpmml(data, X, name)
    errors = res["errors"].dropna() if "errors" in res.columns else []
    assert len(errors) == 0, f"{name}: {errors.iloc[0]}"
    if model.task == "regression":
        ours = model.predict(X)
        theirs = res[model.target.name].to_numpy(dtype=np.float64)
    else:
        ours = model.predict_proba(X)
        theirs = res[[f"probability({pmml_text(c)})" for c in model.classes]].to_numpy(dtype=np.float64)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=name)


def pmml_text(c: Any) -> str:
    from portamodel.formats.pmml._writer import _value_text

    return _value_text(c)


@pytest.mark.java
def test_jpmml_agrees_on_written_fixtures(jpmml: Any) -> None:
    for path in FIXTURES:
        model = pmml.read(path)
        _agree(jpmml, model, pmml.write(model, on_loss="raise"), sample_inputs(model, 80, seed=3), path.stem)


@pytest.mark.java
def test_jpmml_agrees_on_written_random_models(jpmml: Any) -> None:
    drawn = _collect(models(max_trees=5), 30) + _collect(tree_models(float32=False), 15)
    checked = 0
    for i, model in enumerate(drawn):
        try:
            data = pmml.write(model, on_loss="raise")
        except ConversionLossError:
            continue
        _agree(jpmml, model, data, sample_inputs(model, 40, seed=i), f"random{i}")
        checked += 1
    assert checked >= 25, f"only {checked} of {len(drawn)} drawn models were written without loss"


@pytest.mark.java
def test_jpmml_computes_written_float32_networks_in_float32(jpmml: Any) -> None:
    """With jpmml_extensions, a float32 network is x-mathContext="float", which JPMML computes in
    float32 too: 1e9 * relu(x - 1) is 0 for x = 1 + 2**-30 (1.0 in float32), 0.93 in double."""
    model = _cancelling_network("float32")
    X = {"x": np.array([1 + 2**-30, 1.5, 3.0, 0.25])}
    data = pmml.write(model, on_loss="raise", jpmml_extensions=True)
    _agree(jpmml, model, data, X, "cancelling", rtol=0.0, atol=0.0)
    assert model.predict(X)[0] == 0.0 and _cancelling_network("float64").predict(X)[0] > 0.9
    for i, drawn in enumerate(_collect(mlp_models(), 25)):
        m = dataclasses.replace(drawn, estimator=dataclasses.replace(drawn.estimator, compute_dtype="float32"))
        data = pmml.write(m, on_loss="raise", jpmml_extensions=True)
        # JPMML adds each neuron's terms one by one in float (numpy's float32 products do not), and
        # computes the leaky ReLU's two ReLUs and [1 - p, p] in float: float32 rounding apart, in
        # units of the largest sum the network forms (a small output may come from large terms)
        X = sample_inputs(m, 40, seed=i)
        _agree(jpmml, m, data, X, f"f32net{i}", rtol=1e-5, atol=1e-6 * _largest_sum(m, X))


def _largest_sum(model: Model, X: dict[str, np.ndarray]) -> float:
    """The largest finite ``sum(|h_j w_jk|) + |b_k|`` of any neuron on ``X`` (at least 1), in float64."""
    from portamodel.evaluate import get_plan
    from portamodel.evaluate._transforms import apply_activation

    env, _ = get_plan(model).columns(X)
    est = model.estimator
    assert isinstance(est, MLP)
    h = np.column_stack([env[name] for name in est.features]).astype(np.float64)
    largest = 1.0
    with np.errstate(all="ignore"):
        for layer in est.layers:
            sums = np.abs(h) @ np.abs(layer.weights) + np.abs(layer.biases)
            largest = max(largest, float(np.max(sums, where=np.isfinite(sums), initial=0.0)))
            h = apply_activation(layer.activation, h @ layer.weights + layer.biases, layer.alpha)
    return largest


def _cancelling_network(dtype: str) -> Model:
    layers = (DenseLayer(weights=[[1.0]], biases=[-1.0], activation="relu"), DenseLayer(weights=[[1e9]], biases=[0.0]))
    est = MLP(features=("x",), layers=layers, compute_dtype=dtype)  # type: ignore[arg-type]
    return Model(inputs=(Field(name="x"),), target=Target(name="y", task="regression"), estimator=est)


def test_float32_networks_say_so_with_jpmml_extensions_else_report_the_loss(xsd: Any, jpmml_xsd: Any) -> None:
    model = _cancelling_network("float32")
    with pytest.raises(ConversionLossError, match="float32 arithmetic is written as double"):
        pmml.write(model, on_loss="raise")
    with pytest.warns(LossWarning, match="float32 arithmetic"):
        pmml.write(model, on_loss="warn")
    plain = pmml.write(model, on_loss="ignore")
    assert_valid(xsd, plain)  # strict PMML 4.4: no extension attribute
    assert b"x-mathContext" not in plain
    assert pmml.read(plain).estimator.compute_dtype == "float64"  # type: ignore[union-attr]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = pmml.write(model, on_loss="raise", jpmml_extensions=True)
    assert b'<NeuralNetwork functionName="regression" activationFunction="identity" x-mathContext="float">' in data
    assert_valid(jpmml_xsd, data)
    back = pmml.read(data)
    assert back.estimator == model.estimator
    X = {"x": np.array([1 + 2**-30, 1.5, -2.0])}
    np.testing.assert_array_equal(back.predict(X), [0.0, 5e8, 0.0])
    double = _cancelling_network("float64")  # a float64 network is written as before, extensions or not
    assert pmml.write(double, jpmml_extensions=True) == pmml.write(double, on_loss="raise")


def test_manifest_lists_every_fixture() -> None:
    names = {e["name"] for e in json.loads((DATA / "manifest.json").read_text())}
    assert names == {p.stem for p in DATA.glob("*.pmml")}
