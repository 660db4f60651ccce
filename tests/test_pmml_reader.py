"""PMML reader: every real fixture reads and matches its producer's outputs; safety and errors."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import portamodel
from portamodel.errors import FormatError, LimitExceededError, PortamodelError, UnsupportedFeatureError
from portamodel.formats import pmml
from portamodel.formats.pmml import _reader

DATA = Path(__file__).parent / "data" / "pmml"
MANIFEST = json.loads((DATA / "manifest.json").read_text())
HANDWRITTEN = json.loads((DATA / "handwritten" / "manifest.json").read_text())
FIXTURES = [(DATA, e) for e in MANIFEST] + [(DATA / "handwritten", e) for e in HANDWRITTEN]
IDS = [e["name"] for _, e in FIXTURES]


def load_inputs(model: portamodel.Model, path: Path) -> dict[str, np.ndarray]:
    """input.csv columns typed for the model (empty cell = missing)."""
    df = pd.read_csv(path, keep_default_na=True)
    out: dict[str, np.ndarray] = {}
    for f in model.inputs:
        col = df[f.name]
        if f.dtype == "string":
            out[f.name] = np.array([None if isinstance(v, float) and math.isnan(v) else str(v) for v in col], dtype=object)
        else:
            out[f.name] = col.to_numpy(dtype=np.float64)
    return out


def check_against(model: portamodel.Model, entry: dict, X: dict, expected: pd.DataFrame, label_col: str) -> None:
    rtol, atol = 1e-9, 1e-12
    if entry["task"] == "regression":
        got = model.predict(X)
        want = expected[label_col].to_numpy(dtype=np.float64)
        if entry.get("float_model"):
            assert np.array_equal(got.astype(np.float32), want.astype(np.float32))
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
        return
    assert [str(c) for c in model.classes] == entry["classes"]
    proba = model.predict_proba(X)
    want = expected[[f"probability({c})" for c in entry["classes"]]].to_numpy(dtype=np.float64)
    np.testing.assert_allclose(proba, want, rtol=rtol, atol=atol)
    labels = [str(v) for v in model.predict(X)]
    assert labels == [str(v) for v in expected[label_col]]


@pytest.fixture(scope="module")
def models() -> dict[str, portamodel.Model]:
    return {e["name"]: pmml.read(folder / f"{e['name']}.pmml") for folder, e in FIXTURES}


@pytest.mark.parametrize(("folder", "entry"), FIXTURES, ids=IDS)
def test_fixture_matches_producer(folder: Path, entry: dict, models: dict) -> None:
    model = models[entry["name"]]
    assert model.task == entry["task"]
    assert model.target.name == entry["target"]
    assert [f.name for f in model.inputs] == [i["name"] for i in entry["inputs"]]
    X = load_inputs(model, folder / f"{entry['name']}.input.csv")
    check_against(model, entry, X, pd.read_csv(folder / f"{entry['name']}.expected.csv"), "predicted")


@pytest.mark.parametrize(("folder", "entry"), FIXTURES, ids=IDS)
def test_fixture_matches_jpmml(folder: Path, entry: dict, models: dict) -> None:
    model = models[entry["name"]]
    X = load_inputs(model, folder / f"{entry['name']}.input.csv")
    check_against(model, entry, X, pd.read_csv(folder / f"{entry['name']}.jpmml.csv"), entry["target"])


@pytest.mark.parametrize(("folder", "entry"), FIXTURES, ids=IDS)
def test_fast_and_general_tree_paths_agree(folder: Path, entry: dict, models: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_reader, "USE_FAST_PATH", False)
    slow = pmml.read(folder / f"{entry['name']}.pmml")
    assert slow == models[entry["name"]]


def test_float_models_compare_in_float32(models: dict) -> None:
    for entry in MANIFEST:
        est = models[entry["name"]].estimator
        if entry["float_model"]:
            assert [f.dtype for f in models[entry["name"]].inputs] == ["float"] * len(entry["inputs"])
            assert est.input_dtype == "float32"
            t = est.threshold[est.feature >= 0]
            assert np.array_equal(t, t.astype(np.float32).astype(np.float64)), entry["name"]


def test_float_fixture_differs_if_read_as_double(models: dict) -> None:
    """The float32 handling is load-bearing: reading the float fields as double changes predictions."""
    entry = next(e for e in MANIFEST if e["name"] == "decision_tree_regressor")
    text = (DATA / "decision_tree_regressor.pmml").read_text().replace('dataType="float"', 'dataType="double"')
    as_double = pmml.read(text.encode())
    X = load_inputs(as_double, DATA / "decision_tree_regressor.input.csv")
    want = pd.read_csv(DATA / "decision_tree_regressor.expected.csv")["predicted"].to_numpy()
    assert not np.array_equal(as_double.predict(X), want)
    assert np.array_equal(models[entry["name"]].predict(X), want)


def test_structures(models: dict) -> None:
    gb = models["gradient_boosting_binary"].estimator
    assert (gb.aggregation, gb.post_transform, gb.n_outputs, gb.n_trees) == ("sum", "logistic", 1, 15)
    assert gb.tree_weights is not None and np.allclose(gb.tree_weights, 0.3)
    assert models["gradient_boosting_multiclass"].estimator.post_transform == "softmax"
    hgb = models["hist_gradient_boosting_regressor"].estimator
    assert hgb.input_dtype == "float64" and set(np.unique(hgb.missing[hgb.feature >= 0])) <= {0, 1}
    rf = models["random_forest_classifier"].estimator
    assert rf.aggregation == "average" and rf.n_outputs == 3
    mlp = models["mlp_classifier"].estimator
    assert mlp.layers[-1].activation == "softmax" and mlp.layers[0].activation == "relu"
    one = models["onehot_pipeline"]
    assert any(type(s).__name__ == "OneHot" for s in one.steps)
    imp = models["imputer_pipeline"]
    assert any(type(s).__name__ == "Impute" for s in imp.steps)
    assert models["linear_regression"].metadata.producer == "SkLearn2PMML package"


# -- sources: path, str, bytes, gzip, portamodel.load ---------------------------------------------


def test_sources_agree(tmp_path: Path, models: dict) -> None:
    src = DATA / "random_forest_classifier.pmml"
    data = src.read_bytes()
    gz = tmp_path / "forest.pmml.gz"
    gz.write_bytes(gzip.compress(data))
    want = models["random_forest_classifier"]
    assert pmml.read(data) == want
    assert pmml.read(str(src)) == want
    assert pmml.read(gz) == want
    assert pmml.read(gzip.compress(data)) == want
    assert portamodel.load(gz) == want
    assert portamodel.load(data) == want
    assert pmml.sniff(data[:512]) and pmml.sniff(gzip.compress(data)[:512])
    assert not pmml.sniff(b'{"format": "portamodel"}')


# -- safety -----------------------------------------------------------------------------------------

SMALL = (DATA / "linear_regression.pmml").read_bytes()


@pytest.mark.parametrize(
    "doc",
    [
        b'<?xml version="1.0"?><!DOCTYPE PMML [<!ENTITY x SYSTEM "file:///etc/passwd">]><PMML version="4.4">&x;</PMML>',
        b'<!DOCTYPE PMML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><PMML>&b;</PMML>',
        b'<!DOCTYPE PMML SYSTEM "http://example.invalid/pmml.dtd"><PMML version="4.4"/>',
        b"<!-- c --><!DOCTYPE PMML><PMML/>",
    ],
    ids=["xxe", "billion-laughs", "external-dtd", "after-comment"],
)
def test_doctype_refused(doc: bytes) -> None:
    with pytest.raises(FormatError, match="DOCTYPE"):
        pmml.read(doc)


def test_undefined_entity_refused() -> None:
    with pytest.raises(FormatError, match="entit"):
        pmml.read(b'<PMML version="4.4"><Header description="&x;"/></PMML>')


def test_malformed_and_wrong_root() -> None:
    with pytest.raises(FormatError, match="well-formed"):
        pmml.read(SMALL[:-40])
    with pytest.raises(FormatError, match="root element"):
        pmml.read(b"<Model/>")
    with pytest.raises(FormatError, match="namespace"):
        pmml.read(b'<PMML xmlns="urn:other"/>')
    with pytest.raises(FormatError, match="gzip"):
        pmml.read(gzip.compress(SMALL)[:200])


def test_size_limit() -> None:
    with pytest.raises(LimitExceededError, match="max_bytes"):
        pmml.read(SMALL, max_bytes=1000)
    with pytest.raises(LimitExceededError, match="max_bytes"):
        pmml.read(gzip.compress(SMALL), max_bytes=1000)


def _deep_tree(depth: int) -> bytes:
    head = (
        '<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><DataDictionary>'
        '<DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/>'
        '</DataDictionary><TreeModel functionName="regression" noTrueChildStrategy="returnLastPrediction">'
        '<MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema><Node score="0"><True/>'
    )
    inner = "".join(f'<Node score="{i}"><SimplePredicate field="x" operator="lessThan" value="{i}"/>' for i in range(depth))
    return (head + inner + "</Node>" * depth + "</Node></TreeModel></PMML>").encode()


def test_deep_trees_read_and_absurd_depth_is_refused() -> None:
    model = pmml.read(_deep_tree(150))
    assert model.estimator.max_depth == 150
    assert model.predict([[-1.0], [200.0]]).tolist() == [149.0, 0.0]
    with pytest.raises(LimitExceededError):
        pmml.read(_deep_tree(3000))


def test_tree_node_limit() -> None:
    with pytest.raises(LimitExceededError, match="max_tree_nodes"):
        pmml.read(_deep_tree(50), max_tree_nodes=20)


def test_unknown_option() -> None:
    with pytest.raises(PortamodelError, match="unknown PMML read option"):
        pmml.read(SMALL, strict=True)


# -- unsupported constructs are named with their XPath ------------------------------------------------


def _replace(name: str, old: str, new: str) -> bytes:
    text = (DATA / f"{name}.pmml").read_text()
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        (
            _replace("random_forest_regressor", 'missingValueStrategy="nullPrediction"', 'missingValueStrategy="aggregateNodes"'),
            r"/PMML/MiningModel/Segmentation/Segment\[1\]/TreeModel: missingValueStrategy='aggregateNodes'",
        ),
        (
            _replace("gradient_boosting_regressor", 'multipleModelMethod="sum"', 'multipleModelMethod="selectAll"'),
            r"/PMML/MiningModel/Segmentation: multipleModelMethod='selectAll'",
        ),
        (
            _replace("linear_regression", "<RegressionModel ", '<SupportVectorMachineModel x="1" ').replace(
                b"</RegressionModel>", b"</SupportVectorMachineModel>"
            ),
            r"/PMML/SupportVectorMachineModel: <SupportVectorMachineModel> is not supported",
        ),
        (
            _replace("mlp_regressor", '<NeuralNetwork functionName="regression"', '<NeuralNetwork functionName="regression" x="1"').replace(
                b'activationFunction="rectifier"', b'activationFunction="radialBasis"'
            ),
            r"/PMML/NeuralNetwork/NeuralLayer\[1\]: activationFunction='radialBasis'",
        ),
        (
            _replace("linear_regression", 'function="-"', 'function="x-mystery"'),
            r"/PMML/RegressionModel/LocalTransformations/DerivedField\[1\]/Apply/Apply: function 'x-mystery'",
        ),
        (
            _replace(
                "random_forest_regressor",
                "<True/>\n\t\t\t\t<TreeModel",
                '<SimplePredicate field="age" operator="lessThan" value="0"/>\n\t\t\t\t<TreeModel',
            ),
            r"Segment\[1\]: Segment predicates other than <True/>",
        ),
    ],
    ids=["tree-missing-strategy", "segmentation-method", "svm", "activation", "function", "segment-predicate"],
)
def test_unsupported_names_element_and_xpath(doc: bytes, match: str) -> None:
    with pytest.raises(UnsupportedFeatureError, match=match):
        pmml.read(doc)


def test_errors_are_portamodel_errors_not_crashes() -> None:
    bad = [
        b"<PMML/>",
        b'<PMML version="4.4"><DataDictionary/><TreeModel functionName="regression"/></PMML>',
        _replace("decision_tree_regressor", '<SimplePredicate field="bmi"', '<SimplePredicate field="nope"'),
        _replace("decision_tree_regressor", 'value="0.0', 'value="zero'),
        _replace("random_forest_classifier", '<ScoreDistribution value="class_0"', '<ScoreDistribution value="class_9"'),
        _replace("linear_regression", 'coefficient="', 'coefficient="x'),
        _replace("hist_gradient_boosting_regressor", 'defaultChild="1"', 'defaultChild="99"'),
        _replace("mlp_regressor", 'from="1/1"', 'from="9/9"'),
        _replace("logistic_multiclass", 'targetCategory="setosa"', 'targetCategory="rose"'),
    ]
    for doc in bad:
        with pytest.raises(PortamodelError):
            pmml.read(doc)
