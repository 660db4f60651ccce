"""ONNX reader: hand-built graphs for every rule where onnxruntime's behaviour is subtle.

Each readable graph is run by onnxruntime and by portamodel on the same rows (with NaNs); the
outputs must agree. Graphs whose onnxruntime behaviour portamodel cannot reproduce must be refused
with UnsupportedFeatureError, never read into a model that answers differently.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto as TP  # noqa: E402
from onnx import helper as oh  # noqa: E402
from onnx import numpy_helper as nh  # noqa: E402

from portamodel.errors import FormatError, UnsupportedFeatureError  # noqa: E402
from portamodel.formats import onnx as onnx_format  # noqa: E402
from portamodel.ir import TreeEnsemble  # noqa: E402

ML = "ai.onnx.ml"


def _model(nodes: list[Any], inputs: list[Any], outputs: list[Any], inits: list[Any] = (), ml: int = 3, opset: int = 17) -> bytes:  # type: ignore[assignment]
    graph = oh.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = oh.make_model(graph, opset_imports=[oh.make_opsetid("", opset), oh.make_opsetid(ML, ml)])
    m.ir_version = 8 if ml < 5 else 10
    return bytes(m.SerializeToString())


def _ort(data: bytes, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 4
    s = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in s.get_outputs()], s.run(None, feeds)))


def _rows(n: int = 200, width: int = 3, seed: int = 0, nan: bool = True, dtype: Any = np.float32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(-8, 9, size=(n, width)) / 4.0
    if nan:
        x[rng.random((n, width)) < 0.1] = np.nan
    return x.astype(dtype)


def assert_reads_like_onnxruntime(
    data: bytes, X: np.ndarray, *, label: str | None = "label", proba: str | None = "probabilities", value: str | None = None
) -> Any:
    model = onnx_format.read(data)
    out = _ort(data, {"X": X})
    if value is not None:
        np.testing.assert_allclose(model.predict(X), out[value].reshape(-1), rtol=2e-6, atol=1e-6)
        return model
    if proba is not None:
        np.testing.assert_allclose(model.predict_proba(X), out[proba], rtol=2e-6, atol=1e-7)
    if label is not None:
        got, want = model.predict(X), out[label].reshape(-1)
        assert [str(v) for v in got] == [str(v) for v in want]
    return model


def _vi(name: str, elem: int, shape: list[Any]) -> Any:
    return oh.make_tensor_value_info(name, elem, shape)


# -- tree ensembles ----------------------------------------------------------------------------------

# two depth-2 trees over 3 features, node ids 0..6 each: leaves 3, 4, 5, 6
_TREE = dict(
    nodes_treeids=[0] * 7 + [1] * 7,
    nodes_nodeids=list(range(7)) * 2,
    nodes_featureids=[0, 1, 2, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0],
    nodes_modes=[
        "BRANCH_LEQ",
        "BRANCH_LT",
        "BRANCH_GTE",
        "LEAF",
        "LEAF",
        "LEAF",
        "LEAF",
        "BRANCH_GT",
        "BRANCH_EQ",
        "BRANCH_NEQ",
        "LEAF",
        "LEAF",
        "LEAF",
        "LEAF",
    ],
    nodes_values=[0.25, -0.5, 1.0, 0, 0, 0, 0, 0.0, 0.5, -1.0, 0, 0, 0, 0],
    nodes_truenodeids=[1, 3, 5, 0, 0, 0, 0] * 2,
    nodes_falsenodeids=[2, 4, 6, 0, 0, 0, 0] * 2,
    nodes_missing_value_tracks_true=[1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
)
_LEAVES = [(t, n) for t in (0, 1) for n in (3, 4, 5, 6)]


def _classifier(weights: dict[int, list[float]], post: str = "NONE", base: list[float] | None = None, labels: Any = (0, 1)) -> bytes:
    ids, nodes, trees, ws = [], [], [], []
    for c, per_leaf in weights.items():
        for (t, n), w in zip(_LEAVES, per_leaf):
            ids.append(c)
            nodes.append(n)
            trees.append(t)
            ws.append(w)
    kw = dict(_TREE, class_ids=ids, class_nodeids=nodes, class_treeids=trees, class_weights=ws, post_transform=post)
    if isinstance(labels[0], str):
        kw["classlabels_strings"] = list(labels)
        label_type = TP.STRING
    else:
        kw["classlabels_int64s"] = list(labels)
        label_type = TP.INT64
    if base is not None:
        kw["base_values"] = base
    node = oh.make_node("TreeEnsembleClassifier", ["X"], ["label", "probabilities"], domain=ML, **kw)
    return _model(
        [node], [_vi("X", TP.FLOAT, [None, 3])], [_vi("label", label_type, [None]), _vi("probabilities", TP.FLOAT, [None, len(labels)])]
    )


POS = [0.9, 0.2, 0.6, 0.1, 0.05, 0.3, 0.4, 0.0]
MIXED = [1.5, -0.7, 0.3, -2.0, 0.8, -0.1, 0.0, 1.1]


@pytest.mark.parametrize(
    ("weights", "post", "base"),
    [
        ({0: POS}, "NONE", None),  # binary case, non-negative weights: [1 - s, s], label s > 0.5
        ({0: POS}, "SOFTMAX", [0.1]),  # post_transform ignored for non-negative weights (but LOGISTIC)
        ({0: MIXED}, "LOGISTIC", [-0.2]),  # [sigmoid(-s), sigmoid(s)], label s > 0
        ({0: MIXED}, "NONE", None),  # [-s, s]
        ({0: MIXED}, "SOFTMAX", None),  # [-s, s] too
        ({1: MIXED}, "LOGISTIC", None),  # [0.5, sigmoid(s)]
        ({1: MIXED}, "SOFTMAX", [0.4]),  # softmax([0, s]): the single base value is ignored
        ({0: [-w for w in MIXED], 1: MIXED}, "NONE", None),  # both columns, antisymmetric
        ({0: [-w for w in MIXED], 1: MIXED}, "SOFTMAX", None),
    ],
)
def test_binary_tree_classifier_rules(weights: dict[int, list[float]], post: str, base: list[float] | None) -> None:
    assert_reads_like_onnxruntime(_classifier(weights, post, base), _rows())


@pytest.mark.parametrize(
    ("weights", "post", "base"),
    [
        ({0: POS, 1: [1 - w for w in POS]}, "NONE", None),  # random-forest style: labelled by the sign of class 1
        ({1: POS}, "NONE", None),  # one class-1 column with non-negative weights: labelled by s > 0.5
        ({0: POS}, "LOGISTIC", [0.1]),  # probabilities sigmoid(s), labels s > 0.5
    ],
)
def test_binary_tree_classifier_labels_that_disagree_are_refused(weights: dict[int, list[float]], post: str, base: Any) -> None:
    data = _classifier(weights, post, base)
    with pytest.raises(UnsupportedFeatureError, match="label"):
        onnx_format.read(data)


def test_binary_tree_classifier_with_two_base_values_is_refused() -> None:
    with pytest.raises(UnsupportedFeatureError, match="base_values"):
        onnx_format.read(_classifier({0: MIXED}, "LOGISTIC", [0.1, 0.2]))


@pytest.mark.parametrize("post", ["NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO"])
def test_multiclass_tree_classifier(post: str) -> None:
    weights = {0: MIXED, 1: POS, 2: [w * 0.5 for w in MIXED[::-1]]}
    data = _classifier(weights, post, [0.1, -0.2, 0.0], labels=("a", "b", "c"))
    if post == "SOFTMAX_ZERO":
        with pytest.raises(UnsupportedFeatureError, match="raw scores"):
            onnx_format.read(data)
        return
    assert_reads_like_onnxruntime(data, _rows(seed=1))


def test_tree_classifier_probit_is_refused() -> None:
    with pytest.raises(UnsupportedFeatureError, match="PROBIT"):
        onnx_format.read(_classifier({0: MIXED, 1: POS, 2: POS}, "PROBIT", labels=(0, 1, 2)))


def _regressor(
    agg: str = "SUM", targets: int = 1, post: str = "NONE", base: list[float] | None = None, double: bool = False, extra: Any = None
) -> bytes:
    ids, nodes, trees, ws = [], [], [], []
    for k in range(targets):
        for (t, n), w in zip(_LEAVES, MIXED):
            ids.append(k)
            nodes.append(n)
            trees.append(t)
            ws.append(w * (k + 1))
    kw = dict(
        _TREE, n_targets=targets, target_ids=ids, target_nodeids=nodes, target_treeids=trees, aggregate_function=agg, post_transform=post
    )
    if double:
        kw["nodes_values_as_tensor"] = nh.from_array(np.array(kw.pop("nodes_values"), dtype=np.float64) + 1e-9)
        kw["target_weights_as_tensor"] = nh.from_array(np.array(ws) + 1e-12)
    else:
        kw["target_weights"] = ws
    if base is not None:
        kw["base_values"] = base
    kw.update(extra or {})
    node = oh.make_node("TreeEnsembleRegressor", ["X"], ["variable"], domain=ML, **kw)
    out = TP.FLOAT
    return _model([node], [_vi("X", TP.DOUBLE if double else TP.FLOAT, [None, 3])], [_vi("variable", out, [None, targets])])


@pytest.mark.parametrize("agg", ["SUM", "AVERAGE", "MAX"])
@pytest.mark.parametrize("double", [False, True])
def test_tree_regressor_aggregations(agg: str, double: bool) -> None:
    data = _regressor(agg, base=[0.25], double=double, post="LOGISTIC")  # one target: onnxruntime ignores LOGISTIC
    model = assert_reads_like_onnxruntime(data, _rows(dtype=np.float64 if double else np.float32), value="variable")
    assert model.estimator.input_dtype == ("float64" if double else "float32")


def test_tree_regressor_first_weight_of_a_leaf_counts_for_one_target() -> None:
    extra = dict(
        target_ids=[0] * 9, target_nodeids=[3, 4, 5, 6] * 2 + [3], target_treeids=[0] * 4 + [1] * 4 + [0], target_weights=[*MIXED, 100.0]
    )
    assert_reads_like_onnxruntime(_regressor(extra=extra), _rows(), value="variable")


def test_tree_regressor_min_is_refused() -> None:
    with pytest.raises(UnsupportedFeatureError, match="MIN"):
        onnx_format.read(_regressor("MIN"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (dict(nodes_featureids=[0, 1, 7, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0]), "feature 7"),
        (dict(nodes_truenodeids=[1, 3, 5, 0, 0, 0, 0, 1, 3, 9, 0, 0, 0, 0]), "does not exist"),
        (dict(nodes_truenodeids=[1, 3, 5, 0, 0, 0, 0, 1, 3, 2, 0, 0, 0, 0]), "points to itself"),
        (dict(nodes_truenodeids=[1, 0, 5, 0, 0, 0, 0, 1, 3, 5, 0, 0, 0, 0]), "cycle"),
        (dict(nodes_modes=["BRANCH_LEQ", "BRANCH_SOMETIMES"] + ["LEAF"] * 5 + ["BRANCH_GT"] * 3 + ["LEAF"] * 4), "unknown node mode"),
        (dict(nodes_values=[0.0] * 13), "has 13 entries"),
        (dict(target_nodeids=[3, 4, 5, 6] * 2, target_ids=[0] * 8, target_treeids=[0] * 8, target_weights=[1.0] * 8), "has no weight"),
    ],
)
def test_malformed_tree_attributes_are_format_errors(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        onnx_format.read(_regressor(extra=extra))


def test_huge_target_counts_are_refused_before_allocating() -> None:
    from portamodel.errors import LimitExceededError

    with pytest.raises(LimitExceededError, match="outputs"):
        onnx_format.read(_regressor(targets=1, extra=dict(n_targets=2**40)))


def test_shared_subtrees_are_copied_but_an_explosion_is_refused() -> None:
    # tree whose node i sends both branches to node i + 1: 2**depth paths
    depth = 40
    n = depth + 1
    kw = dict(
        n_targets=1,
        nodes_treeids=[0] * n,
        nodes_nodeids=list(range(n)),
        nodes_featureids=[0] * n,
        nodes_modes=[*(["BRANCH_LEQ"] * depth), "LEAF"],
        nodes_values=[0.0] * n,
        nodes_truenodeids=[i + 1 for i in range(depth)] + [0],
        nodes_falsenodeids=[i + 1 for i in range(depth)] + [0],
        target_ids=[0],
        target_nodeids=[depth],
        target_treeids=[0],
        target_weights=[1.0],
    )
    node = oh.make_node("TreeEnsembleRegressor", ["X"], ["variable"], domain=ML, **kw)
    data = _model([node], [_vi("X", TP.FLOAT, [None, 1])], [_vi("variable", TP.FLOAT, [None, 1])])
    from portamodel.errors import LimitExceededError

    with pytest.raises(LimitExceededError):
        onnx_format.read(data)


def _v5(members: list[float], post: int = 0, targets: int = 1, agg: int = 1) -> bytes:
    # tree 0: x0 <= 0.5 ? leaf 0 : (x1 member ? leaf 1 : leaf 2); tree 1: a lone leaf (split with equal leaves)
    kw = dict(
        n_targets=targets,
        tree_roots=[0, 2],
        nodes_featureids=[0, 1, 2],
        nodes_modes=nh.from_array(np.array([0, 6, 0], dtype=np.uint8)),
        nodes_splits=nh.from_array(np.array([0.5, 0.0, 0.0])),
        nodes_truenodeids=[0, 1, 3],
        nodes_trueleafs=[1, 1, 1],
        nodes_falsenodeids=[1, 2, 4],
        nodes_falseleafs=[0, 1, 1],
        nodes_missing_value_tracks_true=[0, 1, 0],
        leaf_targetids=[0, targets - 1, 0, 0, 0],
        leaf_weights=nh.from_array(np.array([1.0, 2.0, 4.0, 0.5, 0.5])),
        membership_values=nh.from_array(np.array(members)),
        aggregate_function=agg,
        post_transform=post,
    )
    node = oh.make_node("TreeEnsemble", ["X"], ["variable"], domain=ML, **kw)
    return _model([node], [_vi("X", TP.DOUBLE, [None, 3])], [_vi("variable", TP.DOUBLE, [None, targets])], ml=5, opset=21)


@pytest.mark.parametrize("members", [[-1.0, 0.0, 2.0, np.nan], [0.5, 2.25, np.nan]])
@pytest.mark.parametrize("agg", [0, 1, 3])
def test_tree_ensemble_v5_sets(members: list[float], agg: int) -> None:
    # integer sets: onnxruntime tests int32(x), so 0.5 and -0.5 count as 0
    X = _rows(dtype=np.float64) * 1.5
    X[:20, 1] = [-1.0, -0.5, 0.0, 0.5, 2.0, 2.25, 2.5, -1.5, 0.7, np.nan] * 2
    assert_reads_like_onnxruntime(_v5(members, agg=agg), X, value="variable")


@pytest.mark.parametrize("post", [1, 2, 4])
def test_tree_ensemble_v5_post_transforms_onnxruntime_gets_wrong_are_refused(post: int) -> None:
    with pytest.raises(UnsupportedFeatureError, match=r"post_transform|PROBIT"):
        onnx_format.read(_v5([1.0, np.nan], post=post))


# -- linear models -------------------------------------------------------------------------------------


def _linear_classifier(coef: list[float], icpt: list[float], post: str, outputs: tuple[str, ...] = ("label", "probabilities")) -> bytes:
    names = [o if o in outputs else f"unused_{o}" for o in ("label", "probabilities")]
    node = oh.make_node(
        "LinearClassifier", ["X"], names, domain=ML, coefficients=coef, intercepts=icpt, classlabels_ints=[3, 7], post_transform=post
    )
    outs = [_vi(o, TP.INT64 if o == "label" else TP.FLOAT, [None] if o == "label" else [None, 2]) for o in outputs]
    return _model([node], [_vi("X", TP.FLOAT, [None, 3])], outs)


def test_linear_classifier_one_row_rules() -> None:
    coef, icpt = [0.5, -1.0, 0.25], [0.1]
    X = _rows(nan=False)
    both = _linear_classifier(coef, icpt, "LOGISTIC")
    with pytest.raises(UnsupportedFeatureError, match="labels follow"):
        onnx_format.read(both)
    # labels alone: by the sign of the score; probabilities alone: the raw score s as [1 - s, s]
    assert_reads_like_onnxruntime(_linear_classifier(coef, icpt, "LOGISTIC", ("label",)), X, proba=None)
    assert_reads_like_onnxruntime(_linear_classifier(coef, icpt, "NONE", ("probabilities",)), X, label=None)


@pytest.mark.parametrize("post", ["NONE", "LOGISTIC", "SOFTMAX"])
def test_linear_classifier_two_rows(post: str) -> None:
    data = _linear_classifier([0.5, -1.0, 0.25, -0.5, 1.0, -0.25], [0.1, -0.1], post)
    assert_reads_like_onnxruntime(data, _rows(nan=False))


# -- networks and preprocessing glue --------------------------------------------------------------------


def test_gemm_flavours_and_reshape_glue() -> None:
    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(4, 3)).astype(np.float32)  # [out, in] for transB
    w2 = rng.normal(size=(4, 2)).astype(np.float32)
    inits = [
        nh.from_array(w1, "w1"),
        nh.from_array(np.ones(4, np.float32), "b1"),
        nh.from_array(w2, "w2"),
        nh.from_array(np.array([0.5, -0.5], np.float32), "b2"),
    ]
    inits.append(nh.from_array(np.array([-1, 2], dtype=np.int64), "shape"))
    nodes = [
        oh.make_node("Gemm", ["X", "w1", "b1"], ["h"], transB=1, alpha=0.5, beta=2.0),
        oh.make_node("LeakyRelu", ["h"], ["a"], alpha=0.2),
        oh.make_node("Flatten", ["a"], ["af"], axis=1),
        oh.make_node("Gemm", ["af", "w2", "b2"], ["z"]),
        oh.make_node("Reshape", ["z", "shape"], ["zr"]),
        oh.make_node("Softmax", ["zr"], ["probabilities"], axis=1),
        oh.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
    ]
    data = _model(
        nodes, [_vi("X", TP.FLOAT, [None, 3])], [_vi("label", TP.INT64, [None]), _vi("probabilities", TP.FLOAT, [None, 2])], inits
    )
    model = assert_reads_like_onnxruntime(data, _rows(nan=False))
    assert model.family == "mlp" and model.classes == (0, 1)


def _two_layer_net(first: int, second: int, *, cast_before_bias: bool = False) -> bytes:
    """X (float) -> [Cast] -> MatMul/Add/Tanh in ``first`` -> MatMul/Add in ``second`` -> float output.

    Weights and inputs have fractions that float32 rounds, so float32 and float64 arithmetic differ.
    """
    np_type = {TP.FLOAT: np.float32, TP.DOUBLE: np.float64}
    rng = np.random.default_rng(4)
    nodes = [oh.make_node("Cast", ["X"], ["x1"], to=first)]
    if cast_before_bias:  # the first product in float, its bias and activation in double
        nodes += [oh.make_node("MatMul", ["x1", "w1"], ["p1"]), oh.make_node("Cast", ["p1"], ["p1d"], to=TP.DOUBLE)]
        nodes += [oh.make_node("Add", ["p1d", "b1"], ["z1"])]
        b1_type = np.float64
    else:
        nodes += [oh.make_node("MatMul", ["x1", "w1"], ["p1"]), oh.make_node("Add", ["p1", "b1"], ["z1"])]
        b1_type = np_type[first]
    nodes += [oh.make_node("Tanh", ["z1"], ["a1"]), oh.make_node("Cast", ["a1"], ["x2"], to=second)]
    nodes += [oh.make_node("MatMul", ["x2", "w2"], ["p2"]), oh.make_node("Add", ["p2", "b2"], ["z2"])]
    nodes += [oh.make_node("Cast", ["z2"], ["variable"], to=TP.FLOAT)]
    inits = [
        nh.from_array((rng.normal(size=(3, 5)) / 3).astype(np_type[first]), "w1"),
        nh.from_array((rng.normal(size=5) / 7).astype(b1_type), "b1"),
        nh.from_array((rng.normal(size=(5, 1)) / 3).astype(np_type[second]), "w2"),
        nh.from_array((rng.normal(size=1) / 7).astype(np_type[second]), "b2"),
    ]
    return _model(nodes, [_vi("X", TP.FLOAT, [None, 3])], [_vi("variable", TP.FLOAT, [None, 1])], inits)


@pytest.mark.parametrize(
    ("first", "second", "cast_before_bias", "dtype"),
    [
        (TP.FLOAT, TP.FLOAT, False, "float32"),  # skl2onnx's default export, torch's
        (TP.DOUBLE, TP.DOUBLE, False, "float64"),  # skl2onnx with a double input
        (TP.FLOAT, TP.DOUBLE, False, "float64"),  # mixed across layers
        (TP.DOUBLE, TP.FLOAT, False, "float64"),
        (TP.FLOAT, TP.FLOAT, True, "float64"),  # mixed within a layer
    ],
)
def test_network_compute_dtype_follows_its_layers(first: int, second: int, cast_before_bias: bool, dtype: str) -> None:
    """Every dense layer on float tensors: a float32 MLP, which reproduces onnxruntime's float32
    arithmetic; any layer (product, bias or activation) on double: float64."""
    data = _two_layer_net(first, second, cast_before_bias=cast_before_bias)
    model = onnx_format.read(data)
    assert model.family == "mlp" and model.estimator.compute_dtype == dtype
    X = _rows(500, nan=False) + np.float32(1 / 3)
    want = _ort(data, {"X": X})["variable"].ravel().astype(np.float64)
    got = model.predict(X)
    if dtype == "float32":
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        assert np.array_equal(got.astype(np.float32), got)  # float32 outputs
        f64 = dataclasses.replace(model, estimator=dataclasses.replace(model.estimator, compute_dtype="float64"))
        assert not np.array_equal(f64.predict(X), got)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # the graph's own float32 steps round too


def test_scaler_imputer_normalizer_binarizer_columns() -> None:
    nodes = [
        oh.make_node("Imputer", ["X"], ["imp"], domain=ML, imputed_value_floats=[9.0, -1.0, 0.5], replaced_value_float=0.0),
        oh.make_node("Scaler", ["imp"], ["sc"], domain=ML, offset=[0.5, 0.0, -1.0], scale=[2.0, 1.0, -1.0]),
        oh.make_node("Normalizer", ["sc"], ["nl"], domain=ML, norm="L2"),
        oh.make_node("Binarizer", ["nl"], ["bin"], domain=ML, threshold=0.1),
        oh.make_node("FeatureVectorizer", ["nl", "bin"], ["fv"], domain=ML, inputdimensions=[3, 3]),
        oh.make_node("ArrayFeatureExtractor", ["fv", "idx"], ["sel"], domain=ML),
        oh.make_node("LinearRegressor", ["sel"], ["variable"], domain=ML, coefficients=[1.0, -2.0, 0.5, 3.0], intercepts=[0.25]),
    ]
    inits = [nh.from_array(np.array([0, 2, 3, 5], dtype=np.int64), "idx")]
    data = _model(nodes, [_vi("X", TP.FLOAT, [None, 3])], [_vi("variable", TP.FLOAT, [None, 1])], inits)
    X = _rows(nan=False)
    assert_reads_like_onnxruntime(data, X, value="variable")


def test_string_encoders() -> None:
    nodes = [
        oh.make_node("LabelEncoder", ["S"], ["code"], domain=ML, keys_strings=["a", "b", "c"], values_int64s=[2, 0, 5], default_int64=-3),
        oh.make_node("Cast", ["code"], ["codef"], to=TP.FLOAT),
        oh.make_node("OneHotEncoder", ["S"], ["oh"], domain=ML, cats_strings=["b", "c"], zeros=1),
        oh.make_node("Reshape", ["oh", "shape"], ["oh2"]),
        oh.make_node("Concat", ["codef", "oh2"], ["feats"], axis=1),
        oh.make_node("LinearRegressor", ["feats"], ["variable"], domain=ML, coefficients=[1.0, 10.0, 100.0], intercepts=[0.5]),
    ]
    inits = [nh.from_array(np.array([-1, 2], dtype=np.int64), "shape")]
    data = _model(nodes, [_vi("S", TP.STRING, [None, 1])], [_vi("variable", TP.FLOAT, [None, 1])], inits)
    model = onnx_format.read(data)
    S = np.array([["a"], ["b"], ["c"], ["zz"], [""]], dtype=object)
    want = _ort(data, {"S": S})["variable"].ravel()
    np.testing.assert_allclose(model.predict({"S": np.array(["a", "b", "c", "zz", None], dtype=object)}), want)


def test_unknown_operators_are_listed() -> None:
    nodes = [
        oh.make_node("SVMRegressor", ["X"], ["s"], domain=ML, name="my_svm"),
        oh.make_node("Identity", ["s"], ["variable"]),
    ]
    data = _model(nodes, [_vi("X", TP.FLOAT, [None, 3])], [_vi("variable", TP.FLOAT, [None, 1])])
    with pytest.raises(UnsupportedFeatureError, match=r"ai\.onnx\.ml:SVMRegressor.*my_svm"):
        onnx_format.read(data)


def test_outputs_that_are_not_predictions_are_refused() -> None:
    node = oh.make_node("Scaler", ["X"], ["variable"], domain=ML, offset=[1.0], scale=[2.0])
    data = _model([node], [_vi("X", TP.FLOAT, [None, 3])], [_vi("variable", TP.FLOAT, [None, 3])])
    with pytest.raises(UnsupportedFeatureError, match="not a prediction"):
        onnx_format.read(data)


def test_read_rejects_unknown_options() -> None:
    with pytest.raises(Exception, match="unknown option"):
        onnx_format.read(b"\x08\x07", colour="blue")


def test_tree_estimator_keeps_float32_semantics_from_a_cast() -> None:
    # double input cast to float before the trees: comparisons must use float32 values
    tree = dict(
        _TREE, n_targets=1, target_ids=[0] * 8, target_nodeids=[3, 4, 5, 6] * 2, target_treeids=[0] * 4 + [1] * 4, target_weights=MIXED
    )
    nodes = [
        oh.make_node("Cast", ["X"], ["xf"], to=TP.FLOAT),
        oh.make_node("TreeEnsembleRegressor", ["xf"], ["variable"], domain=ML, **tree),
    ]
    data = _model(nodes, [_vi("X", TP.DOUBLE, [None, 3])], [_vi("variable", TP.FLOAT, [None, 1])])
    X = _rows(dtype=np.float64)
    X[:, 0] = np.where(np.arange(len(X)) % 2 == 0, 0.25 + 1e-9, X[:, 0])  # rounds to 0.25 in float32
    model = assert_reads_like_onnxruntime(data, X, value="variable")
    assert isinstance(model.estimator, TreeEnsemble) and model.estimator.input_dtype == "float32"


# -- constants the reader computes from the graph (ConstantOfShape, Expand, folding, sizes) ----------


def _linear_plus(nodes: list[Any], inits: list[Any], term: str = "c") -> bytes:
    """X @ W + ``term`` over a [N, 2] double input, where ``nodes`` compute ``term``."""
    tail = [oh.make_node("Add", ["X", term], ["xs"]), oh.make_node("MatMul", ["xs", "W"], ["variable"])]
    inits = [*inits, nh.from_array(np.array([[1.0], [-2.0]]), "W")]
    return _model([*nodes, *tail], [_vi("X", TP.DOUBLE, [None, 2])], [_vi("variable", TP.DOUBLE, [None, 1])], inits)


def test_expand_broadcasts_both_ways_like_onnxruntime() -> None:
    # a 1 in the target shape keeps the constant's dimension: [2] expanded to [1] is [2], to [3, 1] is [3, 2]
    for shape in ([1], [1, 1]):
        data = _linear_plus(
            [oh.make_node("Expand", ["k", "shape"], ["c"])],
            [nh.from_array(np.array([0.5, -1.5]), "k"), nh.from_array(np.array(shape, dtype=np.int64), "shape")],
        )
        assert_reads_like_onnxruntime(data, _rows(width=2, dtype=np.float64), value="variable")


def test_constant_of_shape_and_folded_arithmetic_read_like_onnxruntime() -> None:
    nodes = [
        oh.make_node("ConstantOfShape", ["shape"], ["z"], value=nh.from_array(np.array([0.25]), "v")),
        oh.make_node("Add", ["z", "k"], ["c"]),  # [1, 2] + [2] broadcasts to [1, 2]
    ]
    inits = [nh.from_array(np.array([1, 2], dtype=np.int64), "shape"), nh.from_array(np.array([1.0, 2.0]), "k")]
    assert_reads_like_onnxruntime(_linear_plus(nodes, inits), _rows(width=2, dtype=np.float64), value="variable")


_MALFORMED = [
    (oh.make_node("ConstantOfShape", ["s"], ["c"]), {"s": np.array([2.0])}, r"ConstantOfShape.*shape must be integers, got double"),
    (oh.make_node("ConstantOfShape", ["s"], ["c"]), {"s": np.array([1] * 40, np.int64)}, r"40 dimensions"),
    (oh.make_node("Expand", ["k", "s"], ["c"]), {"k": np.ones(2), "s": np.array([True])}, r"Expand.*integers, got bool"),
    (oh.make_node("Split", ["X", "s"], ["c", "d"], axis=1), {"s": np.array([1.0, 1.0])}, r"Split.*integers, got double"),
    (oh.make_node("Split", ["X", "s"], ["c", "d"], axis=1), {"s": np.array([1, 2], np.int64)}, r"add up to 3, not to the 2"),
    (oh.make_node("Split", ["X", "s"], ["c", "d"], axis=1), {"s": np.array([2], np.int64)}, r"1 split sizes for 2 outputs"),
    (oh.make_node("Split", ["X"], ["c", "d"], axis=2), {}, r"Split.*axis 2 is out of range"),
    (oh.make_node("Gather", ["X", "i"], ["c"], axis=-3), {"i": np.array([0], np.int64)}, r"Gather.*axis -3 is out of range"),
    (oh.make_node("Gather", ["X", "i"], ["c"], axis=1), {"i": np.array([0.0])}, r"Gather.*indices must be integers"),
    (oh.make_node("Slice", ["X", "b", "e"], ["c"]), {"b": np.array([0.0]), "e": np.array([1], np.int64)}, r"starts must be integers"),
    (
        oh.make_node("Slice", ["X", "b", "e", "a"], ["c"]),
        {"b": np.array([0], np.int64), "e": np.array([1], np.int64), "a": np.array([1, 0], np.int64)},
        r"1 starts, 1 ends, 2 axes",
    ),
    (oh.make_node("Reshape", ["X", "s"], ["c"]), {"s": np.array([-1.0, 2.0])}, r"Reshape.*shape must be integers"),
    (oh.make_node("Unsqueeze", ["X", "a"], ["c"]), {"a": np.array(["1"], dtype=object)}, r"Unsqueeze.*axes must be integers"),
    (oh.make_node("Equal", ["p", "q"], ["c"]), {"p": np.ones(2), "q": np.ones(3)}, r"Equal.*\[2\], \[3\] do not broadcast"),
    (oh.make_node("Where", ["m", "p", "q"], ["c"]), {"m": np.ones(2, bool), "p": np.ones(2), "q": np.ones(3)}, r"do not broadcast"),
]


@pytest.mark.parametrize("node, inits, message", _MALFORMED, ids=[f"{n.op_type}-{i}" for i, (n, _, _) in enumerate(_MALFORMED)])
def test_malformed_shapes_sizes_axes_and_indices_are_format_errors(node: Any, inits: dict[str, Any], message: str) -> None:
    data = _linear_plus([node], [nh.from_array(v, k) for k, v in inits.items()])
    with pytest.raises(FormatError, match=message):
        onnx_format.read(data)


def test_computed_constants_share_one_budget_but_file_data_does_not_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from portamodel.errors import LimitExceededError
    from portamodel.formats.onnx import _reader

    monkeypatch.setattr(_reader, "MAX_FOLDED_ELEMENTS", 100)
    big = np.arange(150.0).reshape(75, 2)
    # a Constant node and a reshaped initializer hold file data: not counted
    nodes = [
        oh.make_node("Constant", [], ["k"], value=nh.from_array(big, "v")),
        oh.make_node("Reshape", ["init", "s"], ["kk"]),
        oh.make_node("Identity", ["kk"], ["unused"]),
        oh.make_node("ConstantOfShape", ["s2"], ["c"], value=nh.from_array(np.array([0.5]), "v")),
    ]
    inits = [nh.from_array(big, "init"), nh.from_array(np.array([150], np.int64), "s"), nh.from_array(np.array([2], np.int64), "s2")]
    assert_reads_like_onnxruntime(_linear_plus(nodes, inits), _rows(width=2, dtype=np.float64), value="variable")
    # 60 computed values per Neg: the second one crosses 100
    nodes = [oh.make_node("Neg", ["init60"], ["n1"]), oh.make_node("Neg", ["n1"], ["n2"]), oh.make_node("Identity", ["n2"], ["c"])]
    data = _linear_plus(nodes, [nh.from_array(np.ones(60), "init60")])
    with pytest.raises(LimitExceededError, match=r"'#1' \(Neg\).*120.*limit is 100"):
        onnx_format.read(data)
    nodes = [oh.make_node("ConstantOfShape", ["s"], ["c"])]
    with pytest.raises(LimitExceededError, match=r"ConstantOfShape.*\[101\] \(101 values\).*limit of 100"):
        onnx_format.read(_linear_plus(nodes, [nh.from_array(np.array([101], np.int64), "s")]))


def test_column_groups_built_from_the_graph_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from portamodel.errors import LimitExceededError
    from portamodel.formats.onnx import _read_expr, _reader

    monkeypatch.setattr(_reader, "MAX_INPUT_COLUMNS", 5)
    one_hot = oh.make_node("OneHotEncoder", ["X"], ["c"], domain=ML, cats_int64s=[1, 2, 3])  # 2 columns x 3 categories
    with pytest.raises(LimitExceededError, match=r"OneHotEncoder.*6 columns; the limit is 5"):
        onnx_format.read(_linear_plus([one_hot], []))
    concat = oh.make_node("Concat", ["X", "X", "X"], ["c"], axis=1)
    with pytest.raises(LimitExceededError, match=r"Concat.*6 columns"):
        onnx_format.read(_linear_plus([concat], []))
    monkeypatch.setattr(_read_expr, "MAX_INPUT_COLUMNS", 5)
    less = oh.make_node("Less", ["X", "k"], ["c"])  # an expression for each of the constant's 6 values
    with pytest.raises(LimitExceededError, match=r"Less.*constant of 6 values against columns"):
        onnx_format.read(_linear_plus([less], [nh.from_array(np.arange(6.0), "k")]))
    monkeypatch.setattr(_reader, "MAX_LOOKUP_ENTRIES", 7)
    gather = oh.make_node("Gather", ["table", "X"], ["c"], axis=0)  # a Lookup of 4 values for each of 2 columns
    with pytest.raises(LimitExceededError, match=r"Gather.*4 entries for each of 2 columns"):
        onnx_format.read(_linear_plus([gather], [nh.from_array(np.arange(4.0), "table")]))
    encoder = oh.make_node("LabelEncoder", ["X"], ["c"], domain=ML, keys_floats=[1.0, 2.0, 3.0, 4.0], values_floats=[1.0, 2.0, 3.0, 4.0])
    with pytest.raises(LimitExceededError, match=r"LabelEncoder.*4 entries for each of 2 columns"):
        onnx_format.read(_linear_plus([encoder], []))
