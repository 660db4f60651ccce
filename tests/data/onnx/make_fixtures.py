#!/usr/bin/env python
"""Generate the real-producer ONNX test fixtures in this folder.

Run by hand (NOT by CI), from the repository root:

    python tests/data/onnx/make_fixtures.py

Needs (versions used for the committed files, see README.md):
scikit-learn 1.9.0, skl2onnx 1.20.0, onnx 1.23.2, onnxruntime 1.32.0,
onnxmltools 1.16.0, xgboost 3.2.0, lightgbm 4.7.0, torch 2.13.0+cpu.

For every fixture NAME it writes NAME.onnx (the producer's bytes, unmodified),
NAME.input.npz (inputs keyed by ONNX input name), NAME.expected.npz (the
original library's outputs + onnxruntime's outputs as ort_<output name>), and
finally manifest.json.  All seeds are fixed.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np

warnings.filterwarnings("ignore")

# Converters iterate over sets of strings (e.g. opset_import order), so fix the hash seed
# by re-executing once; otherwise reruns are not byte-identical.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0

import lightgbm  # noqa: E402
import onnx  # noqa: E402
import onnxmltools  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pandas as pd  # noqa: E402
import skl2onnx  # noqa: E402
import sklearn  # noqa: E402
import xgboost  # noqa: E402
from onnxmltools.convert.common.data_types import FloatTensorType as OmtFloat  # noqa: E402
from skl2onnx import convert_sklearn  # noqa: E402
from skl2onnx.common.data_types import (  # noqa: E402
    DoubleTensorType,
    FloatTensorType,
    StringTensorType,
)
from sklearn import datasets  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

P_SKL2ONNX = f"skl2onnx {skl2onnx.__version__}"
P_OMT = f"onnxmltools {onnxmltools.__version__}"
LIBS = {
    "scikit-learn": sklearn.__version__,
    "skl2onnx": skl2onnx.__version__,
    "onnx": onnx.__version__,
    "onnxruntime": ort.__version__,
    "onnxmltools": onnxmltools.__version__,
    "xgboost": xgboost.__version__,
    "lightgbm": lightgbm.__version__,
    "numpy": np.__version__,
}

MANIFEST: list[dict] = []
FAILURES: list[dict] = []
N_TEST = 40  # held-out rows per fixture


# ----------------------------------------------------------------------------- data
def split(X, y, n_test=N_TEST, stratify=True):
    return train_test_split(X, y, test_size=n_test, random_state=SEED, stratify=y if stratify else None)


def load(name):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return X, y


def with_nans(X, frac, seed):
    """Copy of X with ~frac of the cells set to NaN (never a whole row)."""
    rng = np.random.RandomState(seed)
    X = X.copy()
    mask = rng.rand(*X.shape) < frac
    mask[:, 0] = False
    X[mask] = np.nan
    return X


# ----------------------------------------------------------------------------- graph summary
def _attr_value(a):
    v = onnx.helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, onnx.TensorProto):
        arr = onnx.numpy_helper.to_array(v)
        return {"tensor": onnx.TensorProto.DataType.Name(v.data_type), "dims": list(arr.shape)}
    if isinstance(v, (list, tuple)):
        v = [x.decode() if isinstance(x, bytes) else x for x in v]
        if len(v) <= 6:
            return v
        try:
            uniq = sorted(set(v))
        except TypeError:
            uniq = None
        out = {"len": len(v)}
        if uniq is not None and len(uniq) <= 8:
            out["unique"] = uniq
        return out
    if isinstance(v, float):
        return float(v)
    return v


def graph_summary(model):
    nodes = []
    for n in model.graph.node:
        nodes.append(
            {
                "op": (n.domain + ":" if n.domain else "") + n.op_type,
                "inputs": list(n.input),
                "outputs": list(n.output),
                "attrs": {a.name: _attr_value(a) for a in n.attribute},
            }
        )
    inits = {
        i.name: {
            "dtype": onnx.TensorProto.DataType.Name(i.data_type),
            "dims": list(i.dims),
        }
        for i in model.graph.initializer
    }
    return nodes, inits


def value_info(vi):
    t = vi.type
    which = t.WhichOneof("value")
    if which == "tensor_type":
        et = onnx.TensorProto.DataType.Name(t.tensor_type.elem_type)
        shape = [(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)) for d in t.tensor_type.shape.dim]
        return {"name": vi.name, "type": f"tensor({et.lower()})", "shape": shape}
    if which == "sequence_type":
        m = t.sequence_type.elem_type.map_type
        kt = onnx.TensorProto.DataType.Name(m.key_type).lower()
        vt = onnx.TensorProto.DataType.Name(m.value_type.tensor_type.elem_type).lower()
        return {"name": vi.name, "type": f"seq(map({kt},tensor({vt})))", "shape": None}
    return {"name": vi.name, "type": which, "shape": None}


# ----------------------------------------------------------------------------- emit
def _as_2d_class_order(zipmap_out, classes):
    return np.array([[row[c] for c in classes] for row in zipmap_out], dtype=np.float64)


def _np_str(a):
    a = np.asarray(a)
    if a.dtype == object:
        return a.astype(str)
    return a


def emit(name, onnx_bytes, feeds, lib, *, producer, estimator, task, classes=None, notes=""):
    """Write NAME.onnx/.input.npz/.expected.npz and append to MANIFEST.

    lib: dict of the original library's outputs: label/probabilities (classifier),
    prediction (regressor).
    """
    with open(os.path.join(HERE, f"{name}.onnx"), "wb") as f:
        f.write(onnx_bytes)
    model = onnx.load_model_from_string(onnx_bytes)
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    outs = sess.run(None, feeds)
    out_names = [o.name for o in sess.get_outputs()]
    expected = {k: _np_str(v) for k, v in lib.items()}
    ort_arrays = {}
    notes_extra = []
    for oname, val in zip(out_names, outs):
        if isinstance(val, list):  # ZipMap: list of dicts
            keys = list(val[0].keys())
            order = [c for c in classes] if classes is not None else keys
            if isinstance(keys[0], str):
                order = [str(c) for c in order]
            else:
                order = [int(c) for c in order]
            arr = _as_2d_class_order(val, order)
            ort_arrays[oname] = arr
            expected[f"ort_{oname}"] = arr
            expected[f"ort_{oname}_classes"] = np.asarray(order)
            notes_extra.append(f"{oname} is a ZipMap output; stored as 2-D float64 in class order (ort_{oname}_classes)")
        else:
            val = _np_str(val)
            ort_arrays[oname] = val
            expected[f"ort_{oname}"] = val
    np.savez(os.path.join(HERE, f"{name}.input.npz"), **{k: _np_str(v) for k, v in feeds.items()})
    np.savez(os.path.join(HERE, f"{name}.expected.npz"), **expected)

    # library vs onnxruntime
    diffs = {}
    if task == "classification":
        lab_o, prob_o = ort_arrays[out_names[0]], ort_arrays[out_names[1]]
        lab_l = np.asarray(lib["label"]).ravel()
        lab_o = np.asarray(lab_o).ravel()
        diffs["label_mismatches"] = int(
            np.sum(lab_l.astype(str) != lab_o.astype(str))
            if lab_l.dtype.kind in "US" or lab_o.dtype.kind in "US"
            else np.sum(lab_l != lab_o)
        )
        diffs["probabilities"] = float(np.max(np.abs(np.asarray(prob_o, dtype=np.float64) - lib["probabilities"])))
    else:
        pred_o = np.asarray(ort_arrays[out_names[0]], dtype=np.float64)
        pred_l = np.asarray(lib["prediction"], dtype=np.float64)
        diffs["prediction"] = float(np.max(np.abs(pred_o.reshape(pred_l.shape) - pred_l)))

    nodes, inits = graph_summary(model)
    entry = {
        "name": name,
        "producer": producer,
        "estimator": estimator,
        "task": task,
        "classes": None if classes is None else [c.item() if hasattr(c, "item") else c for c in classes],
        "n_rows": int(next(iter(feeds.values())).shape[0]),
        "inputs": [value_info(i) for i in model.graph.input],
        "outputs": [value_info(o) for o in model.graph.output],
        "opsets": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
        "opset_import_raw": [[o.domain, o.version] for o in model.opset_import],
        "ir_version": model.ir_version,
        "producer_name": model.producer_name,
        "producer_version": model.producer_version,
        "op_types": sorted({n.op_type for n in model.graph.node}),
        "max_diff_library_vs_ort": diffs,
        "notes": "; ".join([n for n in [notes] + notes_extra if n]),
        "graph": nodes,
        "initializers": inits,
        "size_bytes": len(onnx_bytes),
    }
    MANIFEST.append(entry)
    print(f"  wrote {name} ({len(onnx_bytes)} bytes) {diffs}")


def attempt(fn):
    """Run one fixture builder; record a failure instead of stopping."""
    try:
        fn()
    except Exception as e:
        text = " ".join(str(e).split())
        msg = f"{type(e).__name__}: {text[:200]}" + (f" ... {text[-300:]}" if len(text) > 500 else text[200:500])
        if e.__cause__ is not None:
            msg += f" (caused by {type(e.__cause__).__name__}: {' '.join(str(e.__cause__).split())[:300]})"
        print(f"  FAILED {fn.__name__}: {msg}")
        FAILURES.append({"builder": fn.__name__, "error": msg})


def skl(model, initial_types, name, **kw):
    # name= sets graph.name (otherwise a random uuid) so that reruns are byte-identical
    return convert_sklearn(model, initial_types=initial_types, name=name, **kw).SerializeToString()


NOZIP = {"zipmap": False}


# ----------------------------------------------------------------------------- skl2onnx: linear
def skl_linear_regression():
    X, y = load("diabetes")
    Xtr, Xte, ytr, yte = split(X.astype(np.float32), y, stratify=False)
    m = LinearRegression().fit(Xtr, ytr)
    emit(
        "skl_linear_regression",
        skl(m, [("X", FloatTensorType([None, X.shape[1]]))], "skl_linear_regression"),
        {"X": Xte},
        {"prediction": m.predict(Xte)},
        producer=P_SKL2ONNX,
        estimator="sklearn.linear_model.LinearRegression",
        task="regression",
        notes="diabetes; float32 input",
    )


def skl_ridge():
    X, y = load("diabetes")
    Xtr, Xte, ytr, yte = split(X.astype(np.float32), y, stratify=False)
    m = Ridge(alpha=0.5).fit(Xtr, ytr)
    emit(
        "skl_ridge",
        skl(m, [("X", FloatTensorType([None, X.shape[1]]))], "skl_ridge"),
        {"X": Xte},
        {"prediction": m.predict(Xte)},
        producer=P_SKL2ONNX,
        estimator="sklearn.linear_model.Ridge",
        task="regression",
        notes="diabetes, alpha=0.5",
    )


def skl_linear_regression_double():
    X, y = load("diabetes")
    Xtr, Xte, ytr, yte = split(X, y, stratify=False)
    m = LinearRegression().fit(Xtr, ytr)
    emit(
        "skl_linear_regression_double",
        skl(m, [("X", DoubleTensorType([None, X.shape[1]]))], "skl_linear_regression_double"),
        {"X": Xte},
        {"prediction": m.predict(Xte)},
        producer=P_SKL2ONNX,
        estimator="sklearn.linear_model.LinearRegression",
        task="regression",
        notes="diabetes; DoubleTensorType input: skl2onnx emits MatMul+Add (LinearRegressor is float-only)",
    )


def skl_logreg_double():
    X, y = load("iris")
    Xtr, Xte, ytr, yte = split(X, y)
    m = LogisticRegression(max_iter=1000).fit(Xtr, ytr)
    emit(
        "skl_logreg_multiclass_double",
        skl(m, [("X", DoubleTensorType([None, 4]))], "skl_logreg_multiclass_double", options=NOZIP),
        {"X": Xte},
        {"label": m.predict(Xte), "probabilities": m.predict_proba(Xte)},
        producer=P_SKL2ONNX,
        estimator="sklearn.linear_model.LogisticRegression",
        task="classification",
        classes=list(m.classes_),
        notes="iris; DoubleTensorType input; zipmap=False",
    )


def skl_logreg_binary():
    X, y = load("breast_cancer")
    Xtr, Xte, ytr, yte = split(X.astype(np.float32), y)
    m = LogisticRegression(max_iter=5000).fit(Xtr, ytr)
    emit(
        "skl_logreg_binary",
        skl(m, [("X", FloatTensorType([None, X.shape[1]]))], "skl_logreg_binary", options=NOZIP),
        {"X": Xte},
        {"label": m.predict(Xte), "probabilities": m.predict_proba(Xte)},
        producer=P_SKL2ONNX,
        estimator="sklearn.linear_model.LogisticRegression",
        task="classification",
        classes=list(m.classes_),
        notes="breast_cancer; zipmap=False",
    )


def skl_logreg_multiclass():
    X, y = load("iris")
    Xtr, Xte, ytr, yte = split(X.astype(np.float32), y)
    m = LogisticRegression(max_iter=1000).fit(Xtr, ytr)
    emit(
        "skl_logreg_multiclass",
        skl(m, [("X", FloatTensorType([None, 4]))], "skl_logreg_multiclass", options=NOZIP),
        {"X": Xte},
        {"label": m.predict(Xte), "probabilities": m.predict_proba(Xte)},
        producer=P_SKL2ONNX,
        estimator="sklearn.linear_model.LogisticRegression",
        task="classification",
        classes=list(m.classes_),
        notes="iris; zipmap=False",
    )


def skl_logreg_multiclass_zipmap():
    X, y = load("iris")
    names = np.array(["setosa", "versicolor", "virginica"])
    Xtr, Xte, ytr, yte = split(X.astype(np.float32), names[y])
    m = LogisticRegression(max_iter=1000).fit(Xtr, ytr)
    emit(
        "skl_logreg_multiclass_zipmap",
        skl(m, [("X", FloatTensorType([None, 4]))], "skl_logreg_multiclass_zipmap"),
        {"X": Xte},
        {"label": m.predict(Xte), "probabilities": m.predict_proba(Xte)},
        producer=P_SKL2ONNX,
        estimator="sklearn.linear_model.LogisticRegression",
        task="classification",
        classes=[str(c) for c in m.classes_],
        notes="iris with STRING class labels; default ZipMap output",
    )


def skl_pipeline_scaler_logreg():
    X, y = load("wine")
    Xtr, Xte, ytr, yte = split(X.astype(np.float32), y)
    m = Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))]).fit(Xtr, ytr)
    emit(
        "skl_pipeline_scaler_logreg",
        skl(m, [("X", FloatTensorType([None, X.shape[1]]))], "skl_pipeline_scaler_logreg", options={LogisticRegression: NOZIP}),
        {"X": Xte},
        {"label": m.predict(Xte), "probabilities": m.predict_proba(Xte)},
        producer=P_SKL2ONNX,
        estimator="Pipeline(StandardScaler, LogisticRegression)",
        task="classification",
        classes=list(m.classes_),
        notes="wine; zipmap=False",
    )


def skl_pipeline_imputer_scaler_logreg():
    X, y = load("breast_cancer")
    X = with_nans(X, 0.08, seed=1).astype(np.float32)
    Xtr, Xte, ytr, yte = split(X, y)
    m = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scaler", StandardScaler()),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    ).fit(Xtr, ytr)
    emit(
        "skl_pipeline_imputer_scaler_logreg",
        skl(m, [("X", FloatTensorType([None, X.shape[1]]))], "skl_pipeline_imputer_scaler_logreg", options={LogisticRegression: NOZIP}),
        {"X": Xte},
        {"label": m.predict(Xte), "probabilities": m.predict_proba(Xte)},
        producer=P_SKL2ONNX,
        estimator="Pipeline(SimpleImputer(median), StandardScaler, LogisticRegression)",
        task="classification",
        classes=list(m.classes_),
        notes="breast_cancer with ~8% NaN cells (column 0 never NaN); zipmap=False",
    )


def skl_pipeline_imputer_scaler_mlp_regressor():
    X, y = load("diabetes")
    X = with_nans(X, 0.1, seed=2).astype(np.float32)
    Xtr, Xte, ytr, yte = split(X, y, stratify=False)
    m = Pipeline(
        [
            ("impute", SimpleImputer(strategy="mean")),
            ("scaler", StandardScaler()),
            ("reg", Ridge(alpha=1.0)),
        ]
    ).fit(Xtr, ytr)
    emit(
        "skl_pipeline_imputer_scaler_ridge",
        skl(m, [("X", FloatTensorType([None, X.shape[1]]))], "skl_pipeline_imputer_scaler_ridge"),
        {"X": Xte},
        {"prediction": m.predict(Xte)},
        producer=P_SKL2ONNX,
        estimator="Pipeline(SimpleImputer(mean), StandardScaler, Ridge)",
        task="regression",
        notes="diabetes with ~10% NaN cells",
    )


def skl_column_transformer_onehot():
    rng = np.random.RandomState(SEED)
    n = 300
    colors = np.array(["red", "green", "blue", "yellow"])
    sizes = np.array(["S", "M", "L"])
    df = pd.DataFrame(
        {
            "x1": rng.randn(n).astype(np.float32),
            "x2": (rng.rand(n) * 10).astype(np.float32),
            "color": colors[rng.randint(0, 4, n)],
            "size": sizes[rng.randint(0, 3, n)],
        }
    )
    logit = 1.2 * df.x1 - 0.3 * df.x2 + 1.5 + np.where(df.color == "red", 1.5, 0) - np.where(df["size"] == "L", 1.0, 0)
    y = (logit + rng.randn(n) * 0.5 > 0).astype(np.int64)
    dtr, dte, ytr, yte = split(df, y)
    ct = ColumnTransformer(
        [
            ("num", StandardScaler(), ["x1", "x2"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["color", "size"]),
        ]
    )
    m = Pipeline([("prep", ct), ("clf", LogisticRegression(max_iter=1000))]).fit(dtr, ytr)
    types = [
        ("x1", FloatTensorType([None, 1])),
        ("x2", FloatTensorType([None, 1])),
        ("color", StringTensorType([None, 1])),
        ("size", StringTensorType([None, 1])),
    ]
    feeds = {
        "x1": dte[["x1"]].to_numpy(np.float32),
        "x2": dte[["x2"]].to_numpy(np.float32),
        "color": dte[["color"]].to_numpy().astype(str),
        "size": dte[["size"]].to_numpy().astype(str),
    }
    # one unseen category row to exercise handle_unknown="ignore"
    feeds["color"][0, 0] = "purple"
    dte = dte.copy()
    dte.iloc[0, dte.columns.get_loc("color")] = "purple"
    emit(
        "skl_pipeline_columntransformer_onehot_logreg",
        skl(m, types, "skl_pipeline_columntransformer_onehot_logreg", options={LogisticRegression: NOZIP}),
        feeds,
        {"label": m.predict(dte), "probabilities": m.predict_proba(dte)},
        producer=P_SKL2ONNX,
        estimator="Pipeline(ColumnTransformer(StandardScaler[x1,x2], OneHotEncoder[color,size]), LogisticRegression)",
        task="classification",
        classes=list(m.classes_),
        notes="synthetic; four inputs, one [N,1] tensor per column (2 float, 2 string); "
        "row 0 has unseen color 'purple' (handle_unknown=ignore); zipmap=False",
    )


# ----------------------------------------------------------------------------- skl2onnx: trees
def _tree_clf(name, model, dataset, notes="", **kw):
    X, y = load(dataset)
    Xtr, Xte, ytr, yte = split(X.astype(np.float32), y)
    model.fit(Xtr, ytr)
    emit(
        name,
        skl(model, [("X", FloatTensorType([None, X.shape[1]]))], name, options=NOZIP, **kw),
        {"X": Xte},
        {"label": model.predict(Xte), "probabilities": model.predict_proba(Xte)},
        producer=P_SKL2ONNX,
        estimator=f"sklearn.{type(model).__module__.split('.')[1]}.{type(model).__name__}",
        task="classification",
        classes=list(model.classes_),
        notes=f"{dataset}; float32 input; zipmap=False" + (f"; {notes}" if notes else ""),
    )


def _tree_reg(name, model, dataset, notes="", **kw):
    X, y = load(dataset)
    Xtr, Xte, ytr, yte = split(X.astype(np.float32), y, stratify=False)
    model.fit(Xtr, ytr)
    emit(
        name,
        skl(model, [("X", FloatTensorType([None, X.shape[1]]))], name, **kw),
        {"X": Xte},
        {"prediction": model.predict(Xte)},
        producer=P_SKL2ONNX,
        estimator=f"sklearn.{type(model).__module__.split('.')[1]}.{type(model).__name__}",
        task="regression",
        notes=f"{dataset}; float32 input" + (f"; {notes}" if notes else ""),
    )


def skl_decision_tree_classifier():
    _tree_clf("skl_decision_tree_classifier", DecisionTreeClassifier(max_depth=4, random_state=SEED), "iris")


def skl_decision_tree_regressor():
    _tree_reg("skl_decision_tree_regressor", DecisionTreeRegressor(max_depth=5, random_state=SEED), "diabetes")


def skl_random_forest_classifier():
    _tree_clf("skl_random_forest_classifier", RandomForestClassifier(n_estimators=8, max_depth=5, random_state=SEED), "wine")


def skl_random_forest_regressor():
    _tree_reg("skl_random_forest_regressor", RandomForestRegressor(n_estimators=8, max_depth=5, random_state=SEED), "diabetes")


def skl_extra_trees_regressor():
    _tree_reg("skl_extra_trees_regressor", ExtraTreesRegressor(n_estimators=6, max_depth=5, random_state=SEED), "diabetes")


def skl_gradient_boosting_regressor():
    _tree_reg(
        "skl_gradient_boosting_regressor",
        GradientBoostingRegressor(n_estimators=20, max_depth=3, learning_rate=0.1, random_state=SEED),
        "diabetes",
    )


def skl_gradient_boosting_classifier_binary():
    _tree_clf(
        "skl_gradient_boosting_classifier_binary",
        GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=SEED),
        "breast_cancer",
    )


def skl_gradient_boosting_classifier_multiclass():
    _tree_clf(
        "skl_gradient_boosting_classifier_multiclass",
        GradientBoostingClassifier(n_estimators=10, max_depth=2, random_state=SEED),
        "wine",
        notes="10 iterations x 3 classes = 30 trees",
    )


def skl_random_forest_regressor_ml_opset5():
    # Asks for ai.onnx.ml opset 5 (TreeEnsemble).  skl2onnx 1.20 has no TreeEnsemble
    # converter: it still emits TreeEnsembleRegressor and imports ai.onnx.ml 1.
    _tree_reg(
        "skl_random_forest_regressor_ml_opset5",
        RandomForestRegressor(n_estimators=5, max_depth=4, random_state=SEED + 1),
        "diabetes",
        notes='converted with target_opset={"": 21, "ai.onnx.ml": 5}',
        target_opset={"": 21, "ai.onnx.ml": 5},
    )


def skl_decision_tree_classifier_ml_opset3():
    _tree_clf(
        "skl_decision_tree_classifier_ml_opset3",
        DecisionTreeClassifier(max_depth=5, random_state=SEED),
        "wine",
        notes='converted with target_opset={"": 21, "ai.onnx.ml": 3}',
        target_opset={"": 21, "ai.onnx.ml": 3},
    )


def skl_decision_tree_regressor_double():
    # Known broken in skl2onnx (issues 1074/1183); kept as an attempt so the failure is recorded.
    X, y = load("diabetes")
    Xtr, Xte, ytr, yte = split(X, y, stratify=False)
    m = DecisionTreeRegressor(max_depth=3, random_state=SEED).fit(Xtr, ytr)
    b = skl(m, [("X", DoubleTensorType([None, X.shape[1]]))], "skl_decision_tree_regressor_double", target_opset={"": 21, "ai.onnx.ml": 3})
    ort.InferenceSession(b, providers=["CPUExecutionProvider"])  # raises
    raise AssertionError("double tree graph unexpectedly loads; inspect before committing")


def skl_hist_gradient_boosting():
    from sklearn.ensemble import HistGradientBoostingRegressor

    _tree_reg(
        "skl_hist_gradient_boosting_regressor", HistGradientBoostingRegressor(max_iter=10, max_depth=3, random_state=SEED), "diabetes"
    )


# ----------------------------------------------------------------------------- skl2onnx: MLP
def skl_mlp_classifier():
    X, y = load("iris")
    Xtr, Xte, ytr, yte = split(X.astype(np.float32), y)
    m = MLPClassifier(hidden_layer_sizes=(8, 6), activation="relu", max_iter=2000, random_state=SEED).fit(Xtr, ytr)
    emit(
        "skl_mlp_classifier",
        skl(m, [("X", FloatTensorType([None, 4]))], "skl_mlp_classifier", options=NOZIP),
        {"X": Xte},
        {"label": m.predict(Xte), "probabilities": m.predict_proba(Xte)},
        producer=P_SKL2ONNX,
        estimator="sklearn.neural_network.MLPClassifier",
        task="classification",
        classes=list(m.classes_),
        notes="iris; hidden (8, 6) relu; zipmap=False",
    )


def skl_mlp_classifier_binary_tanh():
    X, y = load("breast_cancer")
    Xtr, Xte, ytr, yte = split(X.astype(np.float32), y)
    m = Pipeline(
        [("s", StandardScaler()), ("mlp", MLPClassifier(hidden_layer_sizes=(6,), activation="tanh", max_iter=2000, random_state=SEED))]
    ).fit(Xtr, ytr)
    emit(
        "skl_pipeline_scaler_mlp_classifier_binary",
        skl(m, [("X", FloatTensorType([None, X.shape[1]]))], "skl_pipeline_scaler_mlp_classifier_binary", options={MLPClassifier: NOZIP}),
        {"X": Xte},
        {"label": m.predict(Xte), "probabilities": m.predict_proba(Xte)},
        producer=P_SKL2ONNX,
        estimator="Pipeline(StandardScaler, MLPClassifier(tanh))",
        task="classification",
        classes=list(m.classes_),
        notes="breast_cancer; hidden (6,) tanh; binary => logistic output unit; zipmap=False",
    )


def skl_mlp_regressor():
    X, y = load("diabetes")
    Xtr, Xte, ytr, yte = split(X.astype(np.float32), y, stratify=False)
    m = MLPRegressor(hidden_layer_sizes=(10,), activation="relu", max_iter=3000, learning_rate_init=0.01, random_state=SEED).fit(Xtr, ytr)
    emit(
        "skl_mlp_regressor",
        skl(m, [("X", FloatTensorType([None, X.shape[1]]))], "skl_mlp_regressor"),
        {"X": Xte},
        {"prediction": m.predict(Xte)},
        producer=P_SKL2ONNX,
        estimator="sklearn.neural_network.MLPRegressor",
        task="regression",
        notes="diabetes; hidden (10,) relu",
    )


# ----------------------------------------------------------------------------- onnxmltools
def xgb_regressor():
    X, y = load("diabetes")
    X = with_nans(X, 0.1, seed=3).astype(np.float32)
    Xtr, Xte, ytr, yte = split(X, y, stratify=False)
    m = xgboost.XGBRegressor(n_estimators=20, max_depth=3, learning_rate=0.2, random_state=SEED, n_jobs=1, tree_method="exact").fit(
        Xtr, ytr
    )
    onx = onnxmltools.convert_xgboost(m, initial_types=[("X", OmtFloat([None, X.shape[1]]))], name="xgb_regressor", target_opset=15)
    emit(
        "xgb_regressor",
        onx.SerializeToString(),
        {"X": Xte},
        {"prediction": m.predict(Xte)},
        producer=P_OMT + f" (xgboost {xgboost.__version__})",
        estimator="xgboost.XGBRegressor",
        task="regression",
        notes="diabetes with ~10% NaN cells in train and test (column 0 never NaN); 20 trees depth 3",
    )


def xgb_classifier_binary():
    X, y = load("breast_cancer")
    X = with_nans(X, 0.1, seed=4).astype(np.float32)
    Xtr, Xte, ytr, yte = split(X, y)
    m = xgboost.XGBClassifier(n_estimators=20, max_depth=3, learning_rate=0.3, random_state=SEED, n_jobs=1, tree_method="exact").fit(
        Xtr, ytr
    )
    onx = onnxmltools.convert_xgboost(m, initial_types=[("X", OmtFloat([None, X.shape[1]]))], name="xgb_classifier_binary", target_opset=15)
    emit(
        "xgb_classifier_binary",
        onx.SerializeToString(),
        {"X": Xte},
        {"label": m.predict(Xte), "probabilities": m.predict_proba(Xte)},
        producer=P_OMT + f" (xgboost {xgboost.__version__})",
        estimator="xgboost.XGBClassifier",
        task="classification",
        classes=list(m.classes_),
        notes="breast_cancer with ~10% NaN cells; objective binary:logistic; 20 trees depth 3",
    )


def xgb_classifier_multiclass():
    X, y = load("wine")
    X = with_nans(X, 0.05, seed=5).astype(np.float32)
    Xtr, Xte, ytr, yte = split(X, y)
    m = xgboost.XGBClassifier(n_estimators=8, max_depth=2, learning_rate=0.3, random_state=SEED, n_jobs=1, tree_method="exact").fit(
        Xtr, ytr
    )
    onx = onnxmltools.convert_xgboost(
        m, initial_types=[("X", OmtFloat([None, X.shape[1]]))], name="xgb_classifier_multiclass", target_opset=15
    )
    emit(
        "xgb_classifier_multiclass",
        onx.SerializeToString(),
        {"X": Xte},
        {"label": m.predict(Xte), "probabilities": m.predict_proba(Xte)},
        producer=P_OMT + f" (xgboost {xgboost.__version__})",
        estimator="xgboost.XGBClassifier",
        task="classification",
        classes=list(m.classes_),
        notes="wine with ~5% NaN cells; objective multi:softprob; 8 rounds x 3 classes = 24 trees",
    )


def _lgbm_cat_data(n=600, n_classes=2):
    rng = np.random.RandomState(SEED)
    X = rng.randn(n, 5)
    cat = rng.randint(0, 6, n)
    X[:, 2] = cat  # integer-coded categorical column
    effect = np.array([1.5, -1.0, 0.0, 2.0, -2.0, 0.5])[cat]
    score = X[:, 0] - 0.5 * X[:, 1] + effect + 0.3 * X[:, 3] + rng.randn(n) * 0.5
    if n_classes == 2:
        y = (score > 0.3).astype(np.int64)
    else:
        y = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])).astype(np.int64)
    X = X.astype(np.float32)
    X[rng.rand(n) < 0.05, 4] = np.nan  # NaNs in a numeric column
    return X, y


def lgbm_regressor():
    X, y = load("diabetes")
    X = with_nans(X, 0.08, seed=6).astype(np.float32)
    Xtr, Xte, ytr, yte = split(X, y, stratify=False)
    m = lightgbm.LGBMRegressor(
        n_estimators=20,
        num_leaves=8,
        max_depth=4,
        learning_rate=0.1,
        min_child_samples=10,
        random_state=SEED,
        n_jobs=1,
        verbose=-1,
        deterministic=True,
    ).fit(Xtr, ytr)
    onx = onnxmltools.convert_lightgbm(
        m, initial_types=[("X", OmtFloat([None, X.shape[1]]))], name="lgbm_regressor", target_opset=15, zipmap=False
    )
    emit(
        "lgbm_regressor",
        onx.SerializeToString(),
        {"X": Xte},
        {"prediction": m.predict(Xte)},
        producer=P_OMT + f" (lightgbm {lightgbm.__version__})",
        estimator="lightgbm.LGBMRegressor",
        task="regression",
        notes="diabetes with ~8% NaN cells; 20 trees, <=8 leaves",
    )


def lgbm_classifier_categorical():
    X, y = _lgbm_cat_data(n_classes=2)
    Xtr, Xte, ytr, yte = split(X, y)
    m = lightgbm.LGBMClassifier(
        n_estimators=15,
        num_leaves=8,
        max_depth=4,
        learning_rate=0.2,
        min_child_samples=10,
        min_data_per_group=5,
        cat_smooth=1.0,
        random_state=SEED,
        n_jobs=1,
        verbose=-1,
        deterministic=True,
    )
    m.fit(Xtr, ytr, categorical_feature=[2])
    onx = onnxmltools.convert_lightgbm(
        m, initial_types=[("X", OmtFloat([None, X.shape[1]]))], name="lgbm_classifier_categorical", target_opset=15, zipmap=False
    )
    emit(
        "lgbm_classifier_categorical",
        onx.SerializeToString(),
        {"X": Xte},
        {"label": m.predict(Xte), "probabilities": m.predict_proba(Xte)},
        producer=P_OMT + f" (lightgbm {lightgbm.__version__})",
        estimator="lightgbm.LGBMClassifier",
        task="classification",
        classes=list(m.classes_),
        notes="synthetic 5 features; column 2 integer-coded categorical (0..5, categorical_feature=[2]); "
        "~5% NaN in column 4; binary; 15 trees; zipmap=False",
    )


def lgbm_classifier_multiclass_categorical():
    X, y = _lgbm_cat_data(n_classes=3)
    Xtr, Xte, ytr, yte = split(X, y)
    m = lightgbm.LGBMClassifier(
        n_estimators=8,
        num_leaves=6,
        max_depth=3,
        learning_rate=0.2,
        min_child_samples=10,
        min_data_per_group=5,
        cat_smooth=1.0,
        random_state=SEED,
        n_jobs=1,
        verbose=-1,
        deterministic=True,
    )
    m.fit(Xtr, ytr, categorical_feature=[2])
    onx = onnxmltools.convert_lightgbm(
        m, initial_types=[("X", OmtFloat([None, X.shape[1]]))], name="lgbm_classifier_multiclass_categorical", target_opset=15, zipmap=False
    )
    emit(
        "lgbm_classifier_multiclass_categorical",
        onx.SerializeToString(),
        {"X": Xte},
        {"label": m.predict(Xte), "probabilities": m.predict_proba(Xte)},
        producer=P_OMT + f" (lightgbm {lightgbm.__version__})",
        estimator="lightgbm.LGBMClassifier",
        task="classification",
        classes=list(m.classes_),
        notes="synthetic like lgbm_classifier_categorical but 3 classes; 8 rounds x 3 = 24 trees; zipmap=False",
    )


# ----------------------------------------------------------------------------- torch
def _torch_export(name, net, n_in, out_names):
    import io

    import torch

    net.eval()
    buf = io.BytesIO()
    dummy = torch.zeros(2, n_in, dtype=torch.float32)
    torch.onnx.export(
        net,
        (dummy,),
        buf,
        input_names=["input"],
        output_names=out_names,
        dynamic_axes={"input": {0: "batch"}, **{o: {0: "batch"} for o in out_names}},
        opset_version=18,
        dynamo=False,
    )
    return buf.getvalue()


def torch_mlp_regressor():
    import torch

    torch.manual_seed(SEED)
    X, y = load("diabetes")
    X = StandardScaler().fit_transform(X).astype(np.float32)
    y = ((y - y.mean()) / y.std()).astype(np.float32)
    Xtr, Xte, ytr, yte = split(X, y, stratify=False)
    net = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(Xtr), torch.from_numpy(ytr).unsqueeze(1)
    for _ in range(300):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(xt), yt)
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = net(torch.from_numpy(Xte)).numpy()
    emit(
        "torch_mlp_regressor",
        _torch_export("torch_mlp_regressor", net, 10, ["output"]),
        {"input": Xte},
        {"prediction": pred},
        producer=f"torch {torch.__version__} (torch.onnx.export, dynamo=False)",
        estimator="torch.nn.Sequential(Linear(10,16), ReLU, Linear(16,8), Tanh, Linear(8,1))",
        task="regression",
        notes="diabetes standardized X and y; opset 18; dynamic batch axis 'batch'",
    )


def torch_mlp_classifier():
    import torch

    torch.manual_seed(SEED)
    X, y = load("wine")
    X = StandardScaler().fit_transform(X).astype(np.float32)
    Xtr, Xte, ytr, yte = split(X, y)
    net = torch.nn.Sequential(torch.nn.Linear(13, 12), torch.nn.ReLU(), torch.nn.Linear(12, 3), torch.nn.Softmax(dim=1))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(Xtr), torch.from_numpy(ytr)
    for _ in range(200):
        opt.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(net(xt) + 1e-9), yt)
        loss.backward()
        opt.step()
    with torch.no_grad():
        proba = net(torch.from_numpy(Xte)).numpy()
    b = _torch_export("torch_mlp_classifier", net, 13, ["probabilities"])
    # Graph has one output (probabilities); library 'label' is argmax.
    lib = {"label": proba.argmax(axis=1), "probabilities": proba}
    emit_torch_classifier("torch_mlp_classifier", b, {"input": Xte}, lib, torch.__version__)


def emit_torch_classifier(name, b, feeds, lib, tv):
    # emit() expects (label, probabilities) outputs for classifiers; torch graph has only
    # probabilities, so compare as a 'regression' of the probability matrix and add the label diff.
    emit(
        name,
        b,
        feeds,
        {"label": lib["label"], "probabilities": lib["probabilities"], "prediction": lib["probabilities"]},
        producer=f"torch {tv} (torch.onnx.export, dynamo=False)",
        estimator="torch.nn.Sequential(Linear(13,12), ReLU, Linear(12,3), Softmax(dim=1))",
        task="classification_probabilities_only",
        classes=[0, 1, 2],
        notes="wine standardized; single graph output = softmax probabilities; library label = argmax; "
        "expected.npz has 'prediction' == 'probabilities' for uniform comparison; opset 18",
    )
    e = MANIFEST[-1]
    ort_p = np.load(os.path.join(HERE, f"{name}.expected.npz"))["ort_probabilities"]
    e["max_diff_library_vs_ort"] = {
        "label_mismatches": int(np.sum(ort_p.argmax(axis=1) != lib["label"])),
        "probabilities": e["max_diff_library_vs_ort"].pop("prediction"),
    }


# ----------------------------------------------------------------------------- main
BUILDERS = [
    skl_linear_regression,
    skl_ridge,
    skl_linear_regression_double,
    skl_logreg_binary,
    skl_logreg_multiclass,
    skl_logreg_multiclass_zipmap,
    skl_logreg_double,
    skl_pipeline_scaler_logreg,
    skl_pipeline_imputer_scaler_logreg,
    skl_pipeline_imputer_scaler_mlp_regressor,
    skl_column_transformer_onehot,
    skl_decision_tree_classifier,
    skl_decision_tree_regressor,
    skl_random_forest_classifier,
    skl_random_forest_regressor,
    skl_extra_trees_regressor,
    skl_gradient_boosting_regressor,
    skl_gradient_boosting_classifier_binary,
    skl_gradient_boosting_classifier_multiclass,
    skl_random_forest_regressor_ml_opset5,
    skl_decision_tree_classifier_ml_opset3,
    skl_decision_tree_regressor_double,
    skl_hist_gradient_boosting,
    skl_mlp_classifier,
    skl_mlp_classifier_binary_tanh,
    skl_mlp_regressor,
    xgb_regressor,
    xgb_classifier_binary,
    xgb_classifier_multiclass,
    lgbm_regressor,
    lgbm_classifier_categorical,
    lgbm_classifier_multiclass_categorical,
    torch_mlp_regressor,
    torch_mlp_classifier,
]


def main():
    only = set(sys.argv[1:])
    for b in BUILDERS:
        if only and b.__name__ not in only:
            continue
        print(b.__name__)
        attempt(b)
    try:
        import torch

        LIBS["torch"] = torch.__version__
    except ImportError:
        pass
    if not only:
        manifest = {
            "generated_by": "tests/data/onnx/make_fixtures.py",
            "library_versions": LIBS,
            "python": sys.version.split()[0],
            "fixtures": MANIFEST,
            "failed_conversions": FAILURES,
        }
        with open(os.path.join(HERE, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1, sort_keys=False, default=lambda o: o.item() if hasattr(o, "item") else str(o))
            f.write("\n")
    print()
    print(f"{'fixture':50s} {'label mism.':>11s} {'max |lib - ort|':>16s}  quantity")
    for e in MANIFEST:
        d = dict(e["max_diff_library_vs_ort"])
        lm = d.pop("label_mismatches", "-")
        for k, v in d.items():
            print(f"{e['name']:50s} {lm!s:>11s} {v:16.3e}  {k}")
    for f in FAILURES:
        print(f"FAILED {f['builder']}: {f['error']}")


if __name__ == "__main__":
    main()
