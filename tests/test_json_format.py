"""portamodel JSON: lossless IR round trips, schema conformance, strict and safe reading."""

from __future__ import annotations

import base64
import copy
import dataclasses
import gzip
import json
import math
import struct
import zlib
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import portamodel
from helpers import assert_predictions_equal, sample_inputs
from portamodel.errors import FormatError, LimitExceededError, PortamodelError
from portamodel.formats import json as pjson
from portamodel.formats.json import _reader as _json_reader
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
    Metadata,
    Model,
    OneHot,
    Target,
    TreeEnsemble,
)
from strategies import models

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "schemas" / "portamodel-model.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

NAN_PAYLOAD = struct.unpack("<d", struct.pack("<Q", 0xFFF4000000000123))[0]  # negative NaN with a payload


# -- hand-made models: every family, every step type ------------------------------------------


def linear_regression() -> Model:
    """Affine + Impute in front of a linear regression; full metadata."""
    return Model(
        inputs=(Field(name="a"), Field(name="b", dtype="float"), Field(name="n", dtype="integer")),
        target=Target(name="y", task="regression"),
        steps=(
            Impute(inputs=("a", "n"), outputs=("a_i", "n_i"), values=(0.5, 3)),
            Affine(inputs=("a_i", "b"), outputs=("a_s", "b_s"), offset=[1.0, -0.0], scale=[0.1, 3.0], shift=[0.0, 1e-300], divide=True),
        ),
        estimator=LinearModel(features=("a_s", "b_s", "n_i"), coefficients=[[0.1, -2.5, 1e20]], intercepts=[-0.0]),
        metadata=Metadata(
            name="lin",
            description='a linear model \u2603 with "quotes"',
            producer="hand",
            producer_version="1",
            version="7",
            created="2026-01-01T00:00:00+00:00",
            extra={"k": "v", "empty": "", "x-not-an-extension": "kept"},
        ),
    )


def logistic_binary() -> Model:
    """Single-output binary logistic regression with integer class labels and an Affine."""
    return Model(
        inputs=(Field(name="x"), Field(name="z")),
        target=Target(name="label", task="classification", classes=(0, 1)),
        steps=(Affine(inputs=("x",), outputs=("xs",), offset=[0.25], scale=[2.0]),),
        estimator=LinearModel(features=("xs", "z"), coefficients=[[1.5, -0.75]], intercepts=[0.1], normalization="logistic"),
    )


def softmax_with_encoders() -> Model:
    """Multinomial softmax over OneHot, Lookup and Derive outputs of string/number inputs."""
    colour = Field(name="colour", dtype="string", optype="categorical", values=("red", "green", "blue"), invalid="as_missing")
    size = Field(name="size", dtype="string", optype="categorical")
    expr = Apply(
        function="if",
        args=(
            Apply(function="isMissing", args=(FieldRef(name="w"),)),
            Constant(value=-1.0),
            Apply(
                function="+", args=(Apply(function="ln1p", args=(Apply(function="abs", args=(FieldRef(name="w"),)),)), Constant(value=2))
            ),
        ),
    )
    return Model(
        inputs=(colour, size, Field(name="w")),
        target=Target(name="kind", task="classification", classes=("a", "b", "c")),
        steps=(
            OneHot(
                input="colour", categories=("red", "green", "blue"), outputs=("c_r", "c_g", "c_b"), unknown="ignore", missing="propagate"
            ),
            Lookup(input="size", output="size_n", keys=("S", "M", "L"), values=(0, 1, 2.5), default=None, missing=-1.0, unknown="default"),
            Derive(output="w_d", expression=expr),
            Derive(
                output="flag", dtype="boolean", expression=Apply(function="greaterThan", args=(FieldRef(name="w"), Constant(value=0.0)))
            ),
            Derive(output="label_s", dtype="string", expression=Constant(value="const")),
            Derive(output="miss", expression=Constant(value=None)),
        ),
        estimator=LinearModel(
            features=("c_r", "c_g", "c_b", "size_n", "w_d", "flag"),
            coefficients=np.arange(18, dtype=float).reshape(3, 6) / 7.0 - 1.0,
            intercepts=[0.0, 0.5, -0.5],
            normalization="softmax",
        ),
    )


def random_forest(n_trees: int = 6, depth: int = 4, n_features: int = 3, seed: int = 0) -> TreeEnsemble:
    """Complete trees in preorder, every operator, missing action and a set split, exotic floats."""
    rng = np.random.default_rng(seed)
    feature, threshold, op, tc, fc, missing, roots = [], [], [], [], [], [], []

    def grow(d: int) -> int:
        i = len(feature)
        for arr in (feature, threshold, op, tc, fc, missing):
            arr.append(-1)
        if d == depth:
            feature[i], threshold[i], op[i], missing[i] = -1, -2.0, 0, 0
            return i
        feature[i] = int(rng.integers(0, n_features))
        op[i] = int(rng.integers(0, 6))
        threshold[i] = float(np.round(rng.normal(), 3))
        missing[i] = int(rng.integers(0, 4))
        tc[i] = grow(d + 1)
        fc[i] = grow(d + 1)
        return i

    for _ in range(n_trees):
        roots.append(grow(0))
    n = len(feature)
    op[roots[0]] = 6  # "in" set 0
    threshold[roots[0]] = 0.0
    op[roots[1]] = 7  # "not_in" set 1
    threshold[roots[1]] = 1.0
    values = rng.random((n, 3))
    values[5] = [np.nan, np.inf, -0.0]
    values[6, 0] = NAN_PAYLOAD
    values[7, 1] = 5e-324
    return TreeEnsemble(
        features=tuple(f"f{i}" for i in range(n_features)),
        roots=roots,
        feature=feature,
        threshold=threshold,
        op=op,
        true_child=tc,
        false_child=fc,
        missing=missing,
        values=values,
        set_offsets=[0, 2, 5],
        set_values=[0.5, -1.0, 2.0, np.inf, 3.25],
        aggregation="average",
        tree_weights=rng.random(n_trees) + 0.5,
        base_score=[0.0, 0.1, -0.1],
        post_transform="softmax",
        input_dtype="float32",
        accumulate_dtype="float64",
    )


def forest_classifier() -> Model:
    est = random_forest()
    return Model(
        inputs=tuple(Field(name=f, dtype="float") for f in est.features),
        target=Target(name="y", task="classification", classes=(True, 2, "three")),
        estimator=est,
    )


def boosted_binary() -> Model:
    """Boosting-style binary classifier: one output, sum + logistic, float32 accumulation."""
    est = random_forest(n_trees=4, depth=3, n_features=2, seed=1)
    est = TreeEnsemble(
        features=est.features,
        roots=est.roots,
        feature=est.feature,
        threshold=est.threshold,
        op=np.where(est.op >= 6, 0, est.op),
        true_child=est.true_child,
        false_child=est.false_child,
        missing=est.missing,
        values=np.linspace(-1, 1, est.n_nodes)[:, None],
        aggregation="sum",
        base_score=[-0.3],
        post_transform="logistic",
        accumulate_dtype="float32",
    )
    return Model(
        inputs=(Field(name="f0"), Field(name="f1", dtype="integer")),
        target=Target(name="y", task="classification", classes=(0.5, 1.5)),
        estimator=est,
    )


def tree_regressor_vote() -> Model:
    """majority_vote forest with tiny node arrays (stored as plain lists) plus a regression twin."""
    est = TreeEnsemble(
        features=("x",),
        roots=[0, 3],
        feature=[0, -1, -1, 0, -1, -1],
        threshold=[0.5, 0, 0, -1.5, 0, 0],
        op=[1, 0, 0, 4, 0, 0],
        true_child=[1, -1, -1, 4, -1, -1],
        false_child=[2, -1, -1, 5, -1, -1],
        missing=[2, 0, 0, 3, 0, 0],
        values=[[0.5, 0.5], [1, 0], [0, 1], [0.2, 0.8], [0, 1], [1, 0]],
        aggregation="majority_vote",
    )
    return Model(
        inputs=(Field(name="x", dtype="double", optype="categorical", values=(0.5, -1.5, 1.0)),),
        target=Target(name="y", task="classification", classes=("n", "y")),
        estimator=est,
    )


def mlp_classifier() -> Model:
    rng = np.random.default_rng(3)
    return Model(
        inputs=(Field(name="p"), Field(name="q"), Field(name="r")),
        target=Target(name="c", task="classification", classes=("x", "y", "z")),
        estimator=MLP(
            features=("p", "q", "r"),
            layers=(
                DenseLayer(weights=rng.normal(size=(3, 8)), biases=rng.normal(size=8), activation="leaky_relu", alpha=0.125),
                DenseLayer(weights=rng.normal(size=(8, 4)), biases=rng.normal(size=4), activation="tanh"),
                DenseLayer(weights=rng.normal(size=(4, 3)), biases=[0.0, -0.0, 1.0], activation="softmax"),
            ),
        ),
    )


def mlp_regressor() -> Model:
    return Model(
        inputs=(Field(name="u", dtype="boolean"),),
        target=Target(name="v", task="regression"),
        estimator=MLP(
            features=("u",),
            layers=(
                DenseLayer(weights=[[2.0, -1.0]], biases=[0.0, 1.0], activation="relu"),
                DenseLayer(weights=[[1.0], [1.0]], biases=[0.5]),
            ),
        ),
    )


def mlp_float32() -> Model:
    """A float32 network whose weights are not float32-exact: JSON keeps their float64 bits."""
    m = mlp_classifier()
    return dataclasses.replace(m, estimator=dataclasses.replace(m.estimator, compute_dtype="float32"))


def nonfinite_values() -> Model:
    """Non-finite and mixed-type scalars in categories, constants and lookup tables."""
    return Model(
        inputs=(Field(name="k", dtype="double", optype="categorical", values=(1.0, float("inf"), float("-inf"), float("nan"), -0.0)),),
        target=Target(name="y", task="regression"),
        steps=(
            Lookup(
                input="k",
                output="k2",
                keys=(1.0, float("inf"), 2, -0.5),
                values=(0.0, float("nan"), float("-inf"), 7),
                default=float("inf"),
                missing=None,
            ),
            Derive(
                output="k3",
                expression=Apply(function="max", args=(FieldRef(name="k2"), Constant(value=float("-inf")), Constant(value=True))),
            ),
            Impute(inputs=("k3",), outputs=("k4",), values=(float("inf"),)),
        ),
        estimator=LinearModel(features=("k4",), coefficients=[[1.0]], intercepts=[0.0]),
    )


MODELS = {
    "linear_regression": linear_regression,
    "logistic_binary": logistic_binary,
    "softmax_with_encoders": softmax_with_encoders,
    "forest_classifier": forest_classifier,
    "boosted_binary": boosted_binary,
    "tree_regressor_vote": tree_regressor_vote,
    "mlp_classifier": mlp_classifier,
    "mlp_regressor": mlp_regressor,
    "mlp_float32": mlp_float32,
    "nonfinite_values": nonfinite_values,
}


def assert_same_predictions(a: Model, b: Model, seed: int = 0) -> None:
    X = sample_inputs(a, 64, seed=seed)
    assert_predictions_equal(a, b, X, rtol=0.0, atol=0.0, tie_tol=0.0)


def validate(data: bytes) -> dict[str, Any]:
    doc = json.loads(data)
    VALIDATOR.validate(doc)
    return doc  # type: ignore[no-any-return]


# -- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize(
    "options",
    [{}, {"pack_threshold": 0}, {"pack_threshold": None}, {"compress": False, "pack_threshold": 2}, {"compress": 1}, {"indent": 2}],
)
def test_round_trip_is_identical_and_schema_valid(name: str, options: dict[str, Any]) -> None:
    model = MODELS[name]()
    data = pjson.write(model, **options)
    validate(data)
    back = pjson.read(data)
    assert back == model
    assert pjson.write(back, **options) == data  # stable: writing again gives the same bytes


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_predicts_identically(name: str, tmp_path: Path) -> None:
    model = MODELS[name]()
    path = tmp_path / "m.json"
    portamodel.save(model, path)
    back = portamodel.load(path)
    assert back == model
    assert_same_predictions(model, back)


def test_special_floats_survive_bit_for_bit_in_every_encoding() -> None:
    specials = np.array([np.nan, -np.nan, NAN_PAYLOAD, np.inf, -np.inf, -0.0, 0.0, 5e-324, -1.7976931348623157e308, 0.1, 1 / 3, 2.5])
    model = Model(
        inputs=(Field(name="x"),),
        target=Target(name="y", task="regression"),
        estimator=LinearModel(features=("x",), coefficients=specials.reshape(-1, 1)[:1], intercepts=specials[:1]),
    )
    with np.errstate(over="ignore", invalid="ignore"):
        float32_exact = specials.astype(np.float32).astype(np.float64)  # exercises the "<f4" packing
    for values in (specials, specials[[0, 3, 5]], float32_exact):
        m = model.replace(estimator=LinearModel(features=("x",), coefficients=values.reshape(1, -1)[:, :1], intercepts=values[:1]))
        step = Affine(
            inputs=("x",) * len(values), outputs=tuple(f"o{i}" for i in range(len(values))), offset=values, scale=values[::-1], shift=values
        )
        m = m.replace(steps=(step,))
        for threshold in (0, 3, None):
            data = pjson.write(m, pack_threshold=threshold)
            validate(data)
            back = pjson.read(data)
            assert back == m
            assert back.steps[0].offset.tobytes() == values.tobytes()  # type: ignore[union-attr]


def test_plain_lists_spell_non_finite_floats_as_strings() -> None:
    model = MODELS["nonfinite_values"]()
    doc = validate(pjson.write(model.replace(estimator=LinearModel(features=("k4",), coefficients=[[np.inf]], intercepts=[np.nan]))))
    assert doc["estimator"]["coefficients"] == [["Infinity"]]
    assert doc["estimator"]["intercepts"] == ["NaN"]
    assert {"float": "-Infinity"} in doc["steps"][0]["values"]


def test_non_canonical_nan_is_packed_not_listed() -> None:
    est = LinearModel(features=("x",), coefficients=[[1.0]], intercepts=[NAN_PAYLOAD])
    model = Model(inputs=(Field(name="x"),), target=Target(name="y", task="regression"), estimator=est)
    doc = validate(pjson.write(model))
    assert isinstance(doc["estimator"]["intercepts"], dict)
    assert pjson.read(json.dumps(doc).encode()).estimator.intercepts.tobytes() == est.intercepts.tobytes()


def test_packed_arrays_use_narrow_dtypes_and_zlib() -> None:
    doc = validate(pjson.write(forest_classifier()))
    est = doc["estimator"]
    assert est["feature"]["dtype"] == "|i1"
    assert est["op"]["dtype"] in ("|i1", "|u1")
    assert est["true_child"]["dtype"] == "<i2"
    assert est["threshold"]["dtype"] == "<f8"
    assert est["feature"]["compression"] == "zlib"
    assert isinstance(est["base_score"], list)  # 3 elements stay a plain list
    exact32 = (np.arange(20, dtype=np.float32) / np.float32(3.0)).astype(np.float64)  # float32 values
    step = Affine(inputs=("x",) * 20, outputs=tuple(f"o{i}" for i in range(20)), offset=exact32, scale=exact32 + 1 / 3)
    est = LinearModel(features=("x",), coefficients=[[0.5]], intercepts=[0.0])
    model = Model(inputs=(Field(name="x"),), target=Target(name="y", task="regression"), steps=(step,), estimator=est)
    doc = validate(pjson.write(model, pack_threshold=0, compress=False))
    assert doc["steps"][0]["offset"]["dtype"] == "<f4"
    assert doc["steps"][0]["scale"]["dtype"] == "<f8"
    assert doc["estimator"]["coefficients"]["dtype"] == "<f4"
    assert pjson.read(json.dumps(doc).encode()) == model


def test_sklearn_forest_is_compact_and_exact() -> None:
    """A real scikit-learn forest, converted by hand: under 25 bytes per node, identical arrays."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(n_samples=600, n_features=8, random_state=0)
    rf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    model = _forest_from_sklearn(rf)
    data = pjson.write(model)
    validate(data)
    back = pjson.read(data)
    assert back == model
    assert len(data) / model.estimator.n_nodes < 25  # type: ignore[union-attr]
    Xt = X[:50].astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(back.predict_proba(Xt), rf.predict_proba(Xt), rtol=1e-12, atol=1e-12)


def _forest_from_sklearn(rf: Any) -> Model:
    feature, threshold, tc, fc, values, roots, offset = [], [], [], [], [], [], 0
    for tree in (e.tree_ for e in rf.estimators_):
        roots.append(offset)
        leaf = tree.children_left < 0
        feature.append(np.where(leaf, -1, tree.feature))
        threshold.append(tree.threshold)
        tc.append(np.where(leaf, -1, tree.children_left + offset))
        fc.append(np.where(leaf, -1, tree.children_right + offset))
        v = tree.value[:, 0, :]
        values.append(v / v.sum(axis=1, keepdims=True))
        offset += tree.node_count
    n = offset
    est = TreeEnsemble(
        features=tuple(f"x{i}" for i in range(rf.n_features_in_)),
        roots=roots,
        feature=np.concatenate(feature),
        threshold=np.concatenate(threshold),
        op=np.zeros(n, dtype=np.uint8),
        true_child=np.concatenate(tc),
        false_child=np.concatenate(fc),
        missing=np.zeros(n, dtype=np.uint8),
        values=np.concatenate(values),
        aggregation="average",
        input_dtype="float32",
    )
    return Model(
        inputs=tuple(Field(name=f, dtype="float") for f in est.features),
        target=Target(name="y", task="classification", classes=tuple(int(c) for c in rf.classes_)),
        estimator=est,
    )


def test_extension_keys_are_ignored_everywhere() -> None:
    model = softmax_with_encoders()
    doc = json.loads(pjson.write(model))
    doc["x-top"] = {"anything": [1, 2]}
    doc["inputs"][0]["x-note"] = "hi"
    doc["steps"][2]["expression"]["x-why"] = 1
    doc["estimator"]["x-tool"] = None
    doc["estimator"]["coefficients"] = {**pjson._writer._Writer(0, 6).packed(model.estimator.coefficients), "x-crc": 1}  # type: ignore[attr-defined]
    VALIDATOR.validate(doc)
    assert pjson.read(json.dumps(doc).encode()) == model


def test_hand_written_file_with_defaults(tmp_path: Path) -> None:
    text = """{
      "format": "portamodel", "version": 1,
      "inputs": [{"name": "x"}],
      "target": {"name": "y", "task": "regression"},
      "estimator": {"type": "TreeEnsemble", "features": ["x"], "roots": [0],
        "feature": [0, -1, -1], "threshold": [0.5, 0, 0], "op": [0, 0, 0],
        "true_child": [1, -1, -1], "false_child": [2, -1, -1], "missing": [0, 0, 0],
        "values": [[0], [1], [2]], "tree_weights": null}
    }"""
    VALIDATOR.validate(json.loads(text))
    model = pjson.read(text.encode())
    assert model.predict([[0.25], [0.75]]).tolist() == [1.0, 2.0]
    assert model.estimator.tree_weights is None  # type: ignore[union-attr]


# -- gzip, sniffing, the public API -----------------------------------------------------------


def test_gzip_bytes_paths_and_multi_member(tmp_path: Path) -> None:
    model = forest_classifier()
    data = pjson.write(model)
    packed = gzip.compress(data)
    assert pjson.sniff(packed[:512]) and pjson.sniff(data[:512])
    assert pjson.read(packed) == model
    path = tmp_path / "m.json.gz"
    path.write_bytes(gzip.compress(data[:100]) + gzip.compress(data[100:]))  # two members
    assert pjson.read(path) == model
    portamodel.save(model, tmp_path / "saved.json.gz")
    assert (tmp_path / "saved.json.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert portamodel.load(tmp_path / "saved.json.gz") == model
    assert portamodel.load(packed) == model


def test_gzip_size_cap_truncation_and_garbage(tmp_path: Path) -> None:
    data = pjson.write(mlp_classifier())
    packed = gzip.compress(data)
    with pytest.raises(LimitExceededError, match="max_bytes"):
        pjson.read(packed, max_bytes=len(data) - 1)
    bomb = gzip.compress(b" " * 50_000_000)
    with pytest.raises(LimitExceededError):
        pjson.read(bomb, max_bytes=1 << 20)
    with pytest.raises(FormatError, match="truncated"):
        pjson.read(packed[:-12])
    with pytest.raises(FormatError, match="trailing"):
        pjson.read(packed + b"junk")
    with pytest.raises(FormatError, match="corrupt gzip"):
        pjson.read(packed[:10] + b"\xff" * 40 + packed[50:])
    big = tmp_path / "big.json"
    big.write_bytes(data)
    with pytest.raises(LimitExceededError, match=r"big\.json"):
        pjson.read(big, max_bytes=100)


def test_sniff() -> None:
    assert pjson.sniff(b'\xef\xbb\xbf  {"format"')
    assert not pjson.sniff(b"<?xml")
    assert not pjson.sniff(b"\x1f\x8b\x00garbage")
    assert pjson.EXTENSIONS == (".json", ".json.gz")


def test_writer_and_reader_options() -> None:
    model = logistic_binary()
    assert pjson.write(model, on_loss="raise") == pjson.write(model)
    with pytest.raises(PortamodelError, match="unknown option"):
        pjson.write(model, colour="blue")
    with pytest.raises(PortamodelError, match="pack_threshold"):
        pjson.write(model, pack_threshold=-1)
    with pytest.raises(PortamodelError, match="zlib level"):
        pjson.write(model, compress=10)
    huge = model.replace(target=Target(name="label", task="classification", classes=(0, 10**5000)))
    with pytest.raises(PortamodelError, match="cannot write"):
        pjson.write(huge)
    with pytest.raises(PortamodelError, match="Model"):
        pjson.write("not a model")  # type: ignore[arg-type]
    with pytest.raises(PortamodelError, match="unknown option"):
        pjson.read(pjson.write(model), colour="blue")
    with pytest.raises(PortamodelError, match="max_depth"):
        pjson.read(pjson.write(model), max_depth=0)
    with pytest.raises(PortamodelError, match="expected bytes or a file path"):
        pjson.read(12)  # type: ignore[arg-type]
    with pytest.raises(PortamodelError, match="cannot read"):
        pjson.read(Path("/nonexistent/model.json"))
    with pytest.raises(PortamodelError, match="not a regular file"):
        pjson.read(Path("/dev/zero"))


def test_writer_refuses_expressions_deeper_than_readers_accept() -> None:
    expr: Any = FieldRef(name="x")
    for _ in range(250):
        expr = Apply(function="abs", args=(expr,))
    model = Model(
        inputs=(Field(name="x"),),
        target=Target(name="y", task="regression"),
        steps=(Derive(output="d", expression=expr),),
        estimator=LinearModel(features=("d",), coefficients=[[1.0]], intercepts=[0.0]),
    )
    with pytest.raises(PortamodelError, match="nested 251 deep"):
        pjson.write(model)


# -- strict reading: malformed documents ------------------------------------------------------


def _doc(name: str = "forest_classifier", **options: Any) -> dict[str, Any]:
    return json.loads(pjson.write(MODELS[name](), **options))  # type: ignore[no-any-return]


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = _parse(path)
    node: Any = doc
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


def _parse(path: str) -> list[Any]:
    out: list[Any] = []
    for part in path.replace("[", ".[").split("."):
        if part:
            out.append(int(part[1:-1]) if part.startswith("[") else part)
    return out


_DELETE = object()


def _packed(dtype: str, shape: list[int], raw: bytes, zlib_: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"dtype": dtype, "shape": shape, "base64": base64.b64encode(zlib.compress(raw) if zlib_ else raw).decode()}
    if zlib_:
        out["compression"] = "zlib"
    return out


N_NODES = forest_classifier().estimator.n_nodes  # type: ignore[union-attr]

BAD_EDITS = [
    # (json path to edit, new value, where the error must point, message fragment)
    ("estimator.features", 3, "$.estimator.features", "expected a list"),
    ("estimator.features.[0]", 3, "$.estimator.features[0]", "expected a string"),
    ("target.task", _DELETE, "$.target", "missing required key 'task'"),
    ("target.task", "clustering", "$.target.task", "expected one of"),
    ("inputs.[0].colour", "red", "$.inputs[0]", "unknown key 'colour'"),
    ("inputs", [], "$.inputs", "at least one input"),
    ("estimator.type", "SVM", "$.estimator.type", "expected one of"),
    ("estimator.aggregation", 1, "$.estimator.aggregation", "expected one of"),
    ("estimator.threshold.base64", "!!!!", "$.estimator.threshold.base64", "base64"),
    ("estimator.threshold.base64", "AAAA====", "$.estimator.threshold.base64", "excess padding"),
    ("estimator.threshold.base64", "AAAAA", "$.estimator.threshold.base64", "multiple of 4"),
    ("estimator.threshold", {"dtype": "<f8", "shape": [1], "base64": "AAAAAAAAAA!="}, "$.estimator.threshold.base64", "bad base64"),
    ("estimator.threshold", _packed("<f8", [N_NODES], b"\0" * 8 * (N_NODES - 1)), "$.estimator.threshold.base64", "cannot hold shape"),
    ("estimator.threshold", _packed("<f8", [N_NODES], b"\0" * 8 * (N_NODES - 1), True), "$.estimator.threshold.base64", "needs"),
    ("estimator.threshold", _packed("<f8", [N_NODES], b"\0" * 8 * (N_NODES + 1), True), "$.estimator.threshold.base64", "more than"),
    ("estimator.threshold", _packed("<f8", [N_NODES, 1], b"\0" * 8 * N_NODES), "$.estimator.threshold.shape", "1-D shape"),
    ("estimator.threshold", _packed("<i8", [N_NODES], b"\0" * 8 * N_NODES), "$.estimator.threshold.dtype", "expected one of"),
    ("estimator.threshold", _packed(">f8", [N_NODES], b"\0" * 8 * N_NODES), "$.estimator.threshold.dtype", "expected one of"),
    ("estimator.feature", _packed("<f4", [N_NODES], b"\0" * 4 * N_NODES), "$.estimator.feature.dtype", "expected one of"),
    ("estimator.threshold", _packed("<f8", [-1], b""), "$.estimator.threshold.shape[0]", "non-negative"),
    ("estimator.threshold", _packed("<f8", [10**12], b""), "$.estimator.threshold.shape[0]", "max_bytes"),
    ("estimator.threshold", _packed("<f8", [10**8, 2], b""), "$.estimator.threshold.shape", "1-D shape"),
    ("estimator.values", _packed("<f8", [10**8, 2], b""), "$.estimator.values.shape", "arrays declare more than"),
    ("estimator.values", _packed("<f8", [0, 10**20], b""), "$.estimator.values.shape[1]", "exceeds max_bytes"),
    ("estimator.threshold.compression", "lzma", "$.estimator.threshold.compression", "expected one of"),
    ("estimator.threshold.base64", base64.b64encode(b"not zlib at all").decode(), "$.estimator.threshold.base64", "corrupt zlib"),
    (
        "estimator.threshold.base64",
        base64.b64encode(zlib.compress(b"\0" * 8 * N_NODES)[:-6]).decode(),
        "$.estimator.threshold.base64",
        "truncated",
    ),
    (
        "estimator.threshold.base64",
        base64.b64encode(zlib.compress(b"\0" * 8 * N_NODES) + b"xx").decode(),
        "$.estimator.threshold.base64",
        "trailing",
    ),
    ("estimator.base_score", [0, "1", 2], "$.estimator.base_score[1]", "expected a number"),
    ("estimator.base_score", [0, "nan", 2], "$.estimator.base_score[1]", "expected a number"),
    ("estimator.base_score", [0, True, 2], "$.estimator.base_score[1]", "expected a number"),
    ("estimator.base_score", [0, 10**400, 2], "$.estimator.base_score", "out of range"),
    ("estimator.base_score", [0, 1], "$.estimator.base_score", "expected 3 values"),
    ("estimator.roots.[1]", 1.5, "$.estimator.roots[1]", "expected an integer"),
    ("estimator.roots.[1]", 2**70, "$.estimator.roots", "out of range"),
    ("estimator.roots.[1]", -5, "$.estimator.roots", "root index out of range"),
    ("estimator.feature", _packed("|i1", [N_NODES], b"\x07" * N_NODES), "$.estimator.feature[0]", "feature index out of range"),
    ("estimator.true_child", _packed("<i4", [N_NODES], np.full(N_NODES, 1, "<i4").tobytes()), "$.estimator", "more than one parent"),
    ("estimator.values", [[1.0, 2.0], [3.0]], "$.estimator.values[1]", "rows differ"),
    ("estimator.values", "abc", "$.estimator.values", "expected an array"),
    ("estimator.tree_weights", _packed("<f8", [2], b"\0" * 16), "$.estimator.tree_weights", "expected 6 weights"),
    ("version", "1", "$.version", "integer format version"),
    ("version", 2, "$.version", "version 2 is not supported"),
    ("format", "pmml", "$", "not a portamodel model"),
    ("metadata", {"name": 1}, "$.metadata.name", "expected a string"),
    ("metadata", {"extra": {"a": 1}}, '$.metadata.extra["a"]', "expected a string"),
    ("metadata", [], "$.metadata", "expected an object"),
    ("target.classes.[0]", {"float": "nan"}, "$.target.classes[0].float", "expected one of"),
    ("target.classes.[0]", None, "$.target.classes[0]", "expected a string, boolean, number"),
    ("target.classes.[1]", True, "$.target.classes", "distinct"),
    ("steps", {}, "$.steps", "expected a list"),
]


@pytest.mark.parametrize("threads", [False, True], ids=["one_thread", "threads"])
@pytest.mark.parametrize(("path", "value", "where", "message"), BAD_EDITS, ids=[f"{e[0]}:{e[3]}" for e in BAD_EDITS])
def test_malformed_documents_raise_format_error_with_path(
    path: str, value: Any, where: str, message: str, threads: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if threads:  # decode every estimator's packed arrays on threads, however small
        monkeypatch.setattr(_json_reader, "_PARALLEL_DECODE_BYTES", 0)
    doc = _set(_doc(), path, value)
    with pytest.raises(FormatError) as info:
        pjson.read(json.dumps(doc).encode())
    assert info.value.location == where, str(info.value)
    assert message in info.value.message, str(info.value)


@pytest.mark.parametrize("threads", [False, True], ids=["one_thread", "threads"])
def test_first_bad_array_is_reported_whatever_the_threads(threads: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Payloads decode in parallel, but the error is the one a reading in order meets first: a
    corrupt payload before a corrupt payload, or before a bad header."""
    if threads:
        monkeypatch.setattr(_json_reader, "_PARALLEL_DECODE_BYTES", 0)
    corrupt = base64.b64encode(b"not zlib at all").decode()
    doc = _set(_set(_doc(), "estimator.threshold.base64", corrupt), "estimator.values.base64", corrupt)
    for second in (doc, _set(doc, "estimator.values", _packed("<f8", [N_NODES, 1, 1], b""))):
        with pytest.raises(FormatError) as info:
            pjson.read(json.dumps(second).encode())
        assert info.value.location == "$.estimator.threshold.base64", str(info.value)
    doc = _set(_doc(), "estimator.values.base64", corrupt)
    with pytest.raises(FormatError, match="corrupt zlib") as info:
        pjson.read(json.dumps(doc).encode())
    assert info.value.location == "$.estimator.values.base64"


STEP_EDITS = [
    ("steps.[0].type", "Scaler", "$.steps[0].type", "expected one of"),
    ("steps.[0].outputs", ["c_r", "c_r", "c_b"], "$.steps[0].outputs[1]", "duplicate name"),
    ("steps.[1].default", [1], "$.steps[1].default", "expected a string, boolean, number, null"),
    ("steps.[2].expression.apply", "sinh", "$.steps[2].expression.apply", "expected one of"),
    ("steps.[2].expression.args", _DELETE, "$.steps[2].expression", "missing required key 'args'"),
    ("steps.[2].expression.args.[0].args.[0]", {"field": "w", "constant": 1}, "$.steps[2].expression.args[0].args[0]", "exactly one of"),
    ("steps.[2].expression.args.[1]", {"constant": 1, "args": []}, "$.steps[2].expression.args[1]", '"args" belongs'),
    ("steps.[2].expression.args.[0].args", [], "$.steps[2].expression.args[0]", "takes 1..1 arguments"),
    ("steps.[3].expression.args.[0].field", "nope", "$.steps[3]", "reads column 'nope'"),
    ("estimator.coefficients", [[1.0, 2.0]], "$.estimator.coefficients", "does not match 6 features"),
]


@pytest.mark.parametrize(("path", "value", "where", "message"), STEP_EDITS, ids=[f"{e[0]}:{e[3]}" for e in STEP_EDITS])
def test_malformed_steps_raise_format_error_with_path(path: str, value: Any, where: str, message: str) -> None:
    doc = _set(_doc("softmax_with_encoders"), path, value)
    with pytest.raises(FormatError) as info:
        pjson.read(json.dumps(doc).encode())
    assert info.value.location == where, str(info.value)
    assert message in info.value.message, str(info.value)


def test_mlp_layer_errors_point_into_the_layer() -> None:
    doc = _set(_doc("mlp_classifier"), "estimator.layers.[1].biases", [0.0])
    with pytest.raises(FormatError) as info:
        pjson.read(json.dumps(doc).encode())
    assert info.value.location == "$.estimator.layers[1].biases"
    doc = _set(_doc("mlp_classifier"), "estimator.layers.[0].alpha", "big")
    with pytest.raises(FormatError, match=r"\$\.estimator\.layers\[0\]\.alpha: expected a number"):
        pjson.read(json.dumps(doc).encode())


@pytest.mark.parametrize("value", ["float16", "double", 32, None, ["float32"]])
def test_mlp_compute_dtype_errors_name_the_key(value: Any) -> None:
    doc = _set(_doc("mlp_classifier"), "estimator.compute_dtype", value)
    with pytest.raises(FormatError) as info:
        pjson.read(json.dumps(doc).encode())
    assert info.value.location == "$.estimator.compute_dtype", str(info.value)
    assert "expected one of 'float64', 'float32'" in info.value.message, str(info.value)
    assert not VALIDATOR.is_valid(doc)


def test_mlp_compute_dtype_is_written_only_when_float32() -> None:
    plain = pjson.write(mlp_classifier())
    assert b"compute_dtype" not in plain  # float64 files are byte-identical to those written before the key existed
    text = pjson.write(mlp_float32())
    assert b'"features":["p","q","r"],"compute_dtype":"float32","layers":' in text
    assert text.replace(b'"compute_dtype":"float32",', b"") == plain
    explicit = _set(_doc("mlp_classifier"), "estimator.compute_dtype", "float64")
    assert VALIDATOR.is_valid(explicit)
    assert pjson.read(json.dumps(explicit).encode()) == mlp_classifier()
    back = pjson.read(text)
    assert back.estimator.compute_dtype == "float32"  # type: ignore[union-attr]
    assert back.estimator.layers[0].weights.tobytes() == mlp_float32().estimator.layers[0].weights.tobytes()  # type: ignore[union-attr]


GOOD_TEXT = pjson.write(logistic_binary()).decode()


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (GOOD_TEXT.replace('"version":1', '"version":1,"version":1').encode(), "$", "duplicate key 'version'"),
        (GOOD_TEXT.replace('{"name":"x"', '{"name":"x","name":"y"').encode(), "$.inputs[0]", "duplicate key 'name'"),
        (GOOD_TEXT.replace('"version":1', '"version":1,"x-ext":{"a":1,"a":2}').encode(), None, "duplicate key or a NaN"),
        (GOOD_TEXT.replace('"version":1', '"version":1,"x-ext":[NaN]').encode(), None, "duplicate key or a NaN"),
        (GOOD_TEXT.replace('"version":1', '"version":NaN').encode(), "$.version", "literal NaN"),
        (GOOD_TEXT.replace('"classes":[0,1]', '"classes":[-Infinity,1]').encode(), "$.target.classes[0]", "literal -Infinity"),
        (GOOD_TEXT.replace('"intercepts":[0.1]', '"intercepts":[Infinity]').encode(), "$.estimator.intercepts[0]", "literal Infinity"),
        (b"[1, 2]", "$", "top level"),
        (b"", "line 1 column 1", "not valid JSON"),
        (b'{"format": "portamodel",', "line 1 column 25", "not valid JSON"),
        (b'{"format": "portamodel"} trailing', "line 1 column 26", "Extra data"),
        (b'{"format": "\xff"}', None, "not UTF-8"),
        (b'{"format": "portamodel", "version": ' + b"9" * 5000 + b"}", None, "not valid JSON"),
    ],
)
def test_malformed_json_text(text: bytes, where: str | None, message: str) -> None:
    with pytest.raises(FormatError) as info:
        pjson.read(text)
    assert info.value.location == where, str(info.value)
    assert message in info.value.message, str(info.value)


def test_overflowing_float_literal_is_refused_with_path() -> None:
    doc = GOOD_TEXT.replace('"intercepts":[0.1]', '"intercepts":[1e400]')
    assert "1e400" in doc
    with pytest.raises(FormatError, match=r"\$\.estimator\.intercepts\[0\]: .*literal 1e400"):
        pjson.read(doc.encode())


def test_nesting_limits() -> None:
    with pytest.raises(LimitExceededError, match="nested too deeply"):
        pjson.read(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(LimitExceededError, match="nested too deeply"):
        pjson.read(b'{"a":' * 100_000 + b"1" + b"}" * 100_000)
    expr: dict[str, Any] = {"field": "w"}
    for _ in range(30):
        expr = {"apply": "abs", "args": [expr]}
    doc = _set(_doc("softmax_with_encoders"), "steps.[2].expression", expr)
    model = pjson.read(json.dumps(doc).encode())
    with pytest.raises(LimitExceededError) as info:
        pjson.read(json.dumps(doc).encode(), max_depth=20)
    assert info.value.location.startswith("$.steps[2].expression" + ".args[0]" * 20)  # type: ignore[union-attr]
    assert pjson.read(pjson.write(model)) == model


def test_location_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(_set(_doc(), "estimator.op", [9])))
    with pytest.raises(FormatError) as info:
        portamodel.load(path)
    assert info.value.location == f"{path}: $.estimator.op"


def test_array_byte_budget_counts_all_arrays() -> None:
    """Compressed arrays may decode to more bytes than the document: the cap covers their sum."""
    est = random_forest(n_trees=20, depth=6)
    model = forest_classifier().replace(estimator=est.replace(values=np.zeros((est.n_nodes, 3))))
    data = pjson.write(model, pack_threshold=0)
    est_doc = json.loads(data)["estimator"]
    total = sum(math.prod(a["shape"]) * np.dtype(a["dtype"]).itemsize for a in est_doc.values() if isinstance(a, dict))
    assert len(data) < total - 1
    assert pjson.read(data, max_bytes=total) == model
    with pytest.raises(LimitExceededError, match="arrays declare more than"):
        pjson.read(data, max_bytes=total - 1)


def test_schema_rejects_what_the_reader_rejects() -> None:
    """The schema is precise: a few typical defects fail validation as well as reading."""
    good = _doc()
    for path, value in [
        ("estimator.aggregation", "mean"),
        ("estimator.threshold.dtype", "<f2"),
        ("inputs.[0].colour", 1),
        ("target.task", "ranking"),
        ("estimator.base_score", [0, "nan", 1]),
        ("version", 2),
    ]:
        bad = _set(good, path, value)
        assert not VALIDATOR.is_valid(bad), path
        with pytest.raises(FormatError):
            pjson.read(json.dumps(bad).encode())


def test_math_nan_is_canonical_nan() -> None:
    """The "NaN" string reads back as the canonical quiet NaN (what float('nan') gives)."""
    assert struct.pack("<d", math.nan) == struct.pack("<d", np.nan) == struct.pack("<d", float("NaN"))


# -- property tests ---------------------------------------------------------------------------


@given(model=models(), pack_threshold=st.sampled_from([0, 1, 16, None]), compress=st.booleans())
def test_property_ir_json_ir_is_identical(model: Model, pack_threshold: int | None, compress: bool) -> None:
    data = pjson.write(model, pack_threshold=pack_threshold, compress=compress)
    validate(data)
    back = pjson.read(data)
    assert back == model
    assert pjson.write(back, pack_threshold=pack_threshold, compress=compress) == data
    assert_same_predictions(model, back)


# float64 values drawn as raw bit patterns: every NaN payload, both zeros, subnormals, infinities.
_any_float64 = st.integers(0, 2**64 - 1).map(lambda bits: struct.unpack("<d", struct.pack("<Q", bits))[0])
_floats = st.one_of(_any_float64, st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True))


@given(values=st.lists(_floats, min_size=1, max_size=40), pack_threshold=st.sampled_from([0, 16, None]))
def test_property_any_float64_survives_bit_for_bit(values: list[float], pack_threshold: int | None) -> None:
    arr = np.array(values, dtype=np.float64)
    k = len(values)
    step = Affine(inputs=("x",) * k, outputs=tuple(f"o{i}" for i in range(k)), offset=arr, scale=arr[::-1], shift=arr)
    model = Model(
        inputs=(Field(name="x"),),
        target=Target(name="y", task="regression"),
        steps=(step,),
        estimator=LinearModel(features=("o0",), coefficients=arr[None, :1], intercepts=arr[:1]),
    )
    data = pjson.write(model, pack_threshold=pack_threshold)
    validate(data)
    back = pjson.read(data)
    assert back == model
    assert back.steps[0].offset.tobytes() == arr.tobytes()  # type: ignore[union-attr]


def test_the_example_in_docs_format_md() -> None:
    """docs/format.md's complete example reads, validates and predicts what the text says."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "format.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```json\n")[1:]]
    example = next(b for b in blocks if b.lstrip().startswith('{\n  "format"'))
    VALIDATOR.validate(json.loads(example))
    model = pjson.read(example.encode())
    est = model.estimator
    assert isinstance(est, TreeEnsemble)
    assert est.threshold.tolist() == [30.5, -2, -2, 0.5, -2, -2]
    assert est.values.tolist() == [[0], [-1.25], [0.75], [0], [0.5], [-0.5]]
    proba = model.predict_proba({"age": [20.0, 50.0, None], "colour": ["red", "blue", "red"]})
    np.testing.assert_allclose(proba[:, 1], [0.1611, 0.7941, 0.5866], atol=5e-5)
    assert pjson.read(pjson.write(model)) == model
