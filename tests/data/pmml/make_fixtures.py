#!/usr/bin/env python
"""Generate the PMML test fixtures in this folder with a real producer (sklearn2pmml).

Run by hand, NOT by CI (sklearn2pmml needs Java and refuses every scikit-learn but 1.9.0):

    python tests/data/pmml/make_fixtures.py            # everything
    python tests/data/pmml/make_fixtures.py iris_tree   # only fixtures whose name contains a word
    python tests/data/pmml/make_fixtures.py --handwritten-only

For every fixture NAME it writes NAME.pmml (sklearn2pmml output, unmodified), NAME.input.csv,
NAME.expected.csv (scikit-learn), NAME.jpmml.csv (jpmml_evaluator) and an entry in manifest.json.
It also evaluates the hand-written PMML files in handwritten/ with jpmml_evaluator and writes their
.input.csv / .expected.csv / .jpmml.csv and handwritten/manifest.json.  See README.md.

Deterministic: every estimator and split has a fixed random_state.  The only thing that changes
between runs is the <Timestamp> in each PMML Header (written by sklearn2pmml).
"""

import json
import math
import platform
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from lxml import etree
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

HERE = Path(__file__).resolve().parent
HANDWRITTEN = HERE / "handwritten"
N_ROWS = 40  # held-out rows per fixture


def find_spec(name):
    for parent in HERE.parents:
        for cand in (parent / "shared" / "specs" / name, parent / "specs" / name):
            if cand.is_file():
                return cand
    raise FileNotFoundError(name)


def ns_of(root):
    return root.tag[1:].split("}")[0]


# ----------------------------------------------------------------------------------------------
# datasets (pandas frames with human-readable column names; string targets are plain `object`)
# ----------------------------------------------------------------------------------------------


def _labels(target, names):
    return pd.Series([str(names[i]) for i in target], dtype=object)


def iris():
    d = load_iris(as_frame=True)
    X = d.data.copy()
    X.columns = [c.replace(" (cm)", "").replace(" ", "_") for c in X.columns]
    y = _labels(d.target, d.target_names).rename("species")
    return X, y


def wine():
    d = load_wine(as_frame=True)  # keeps sklearn's names, e.g. "od280/od315_of_diluted_wines"
    return d.data.copy(), _labels(d.target, d.target_names).rename("cultivar")


def diabetes():
    d = load_diabetes(as_frame=True)
    return d.data.copy(), d.target.rename("progression").astype(float)


def breast_cancer(cols=None):
    d = load_breast_cancer(as_frame=True)
    X = d.data.copy()
    X.columns = [c.replace(" ", "_") for c in X.columns]
    if cols:
        X = X[cols]
    y = d.target.rename("benign").astype("int64")  # integer target 0/1 (1 = benign)
    return X, y


def synthetic_categorical():
    """Binary target from two string categoricals and two numerics."""
    rng = np.random.RandomState(7)
    n = 400
    color = rng.choice(["red", "green", "blue"], size=n, p=[0.4, 0.35, 0.25])
    shape = rng.choice(["circle", "square", "triangle", "star"], size=n)
    width = np.round(rng.normal(5.0, 1.5, size=n), 3)
    weight = np.round(rng.gamma(2.0, 10.0, size=n), 2)
    logit = (
        -0.5
        + 1.2 * (color == "red")
        - 0.8 * (color == "blue")
        + 0.9 * (shape == "star")
        - 0.6 * (shape == "circle")
        + 0.5 * (width - 5.0)
        - 0.03 * (weight - 20.0)
    )
    p = 1.0 / (1.0 + np.exp(-logit))
    y = np.where(rng.uniform(size=n) < p, "yes", "no")
    X = pd.DataFrame({"color": pd.Series(color, dtype=object), "width": width, "shape": pd.Series(shape, dtype=object), "weight": weight})
    return X, pd.Series(y, dtype=object, name="bought")


def with_missing(X, frac, seed, cols=None):
    """Copy of X with NaN put into a fraction of the cells of `cols`."""
    rng = np.random.RandomState(seed)
    X = X.copy()
    for c in cols or X.columns:
        mask = rng.uniform(size=len(X)) < frac
        X.loc[mask, c] = np.nan
    return X


# ----------------------------------------------------------------------------------------------
# fixture definitions: (name, estimator class name, task, data fn, pipeline fn, notes)
# ----------------------------------------------------------------------------------------------


def fixtures():
    from sklearn2pmml.pipeline import PMMLPipeline as P

    bc5 = ["mean_radius", "mean_texture", "mean_smoothness", "worst_concavity", "worst_area"]
    bc8 = [*bc5, "mean_compactness", "worst_symmetry", "area_error"]
    return [
        (
            "linear_regression",
            "LinearRegression",
            "regression",
            diabetes,
            lambda: P([("scaler", StandardScaler()), ("model", LinearRegression())]),
            "StandardScaler + LinearRegression on diabetes (10 features).",
        ),
        (
            "logistic_binary",
            "LogisticRegression",
            "classification",
            lambda: breast_cancer(bc5),
            lambda: P([("scaler", StandardScaler()), ("model", LogisticRegression(max_iter=1000))]),
            "StandardScaler + LogisticRegression on 5 breast_cancer features; integer target 0/1.",
        ),
        (
            "logistic_multiclass",
            "LogisticRegression",
            "classification",
            iris,
            lambda: P([("scaler", StandardScaler()), ("model", LogisticRegression(max_iter=1000))]),
            "StandardScaler + multinomial LogisticRegression on iris (string classes).",
        ),
        (
            "decision_tree_classifier",
            "DecisionTreeClassifier",
            "classification",
            iris,
            lambda: P([("model", DecisionTreeClassifier(max_depth=4, random_state=0))]),
            "DecisionTreeClassifier(max_depth=4) on iris.",
        ),
        (
            "decision_tree_regressor",
            "DecisionTreeRegressor",
            "regression",
            diabetes,
            lambda: P([("model", DecisionTreeRegressor(max_depth=5, random_state=0))]),
            "DecisionTreeRegressor(max_depth=5) on diabetes.",
        ),
        (
            "random_forest_classifier",
            "RandomForestClassifier",
            "classification",
            wine,
            lambda: P([("model", RandomForestClassifier(n_estimators=6, max_depth=4, random_state=0))]),
            "RandomForestClassifier(6 trees, max_depth=4) on wine (sklearn's column names, one has '/').",
        ),
        (
            "random_forest_regressor",
            "RandomForestRegressor",
            "regression",
            diabetes,
            lambda: P([("model", RandomForestRegressor(n_estimators=8, max_depth=5, random_state=0))]),
            "RandomForestRegressor(8 trees, max_depth=5) on diabetes.",
        ),
        (
            "gradient_boosting_regressor",
            "GradientBoostingRegressor",
            "regression",
            diabetes,
            lambda: P([("model", GradientBoostingRegressor(n_estimators=15, max_depth=3, learning_rate=0.2, random_state=0))]),
            "GradientBoostingRegressor(15 trees, max_depth=3, lr=0.2) on diabetes.",
        ),
        (
            "gradient_boosting_binary",
            "GradientBoostingClassifier",
            "classification",
            lambda: breast_cancer(bc8),
            lambda: P([("model", GradientBoostingClassifier(n_estimators=15, max_depth=3, learning_rate=0.3, random_state=0))]),
            "GradientBoostingClassifier(15 trees) on 8 breast_cancer features; integer target 0/1.",
        ),
        (
            "gradient_boosting_multiclass",
            "GradientBoostingClassifier",
            "classification",
            iris,
            lambda: P([("model", GradientBoostingClassifier(n_estimators=10, max_depth=2, learning_rate=0.3, random_state=0))]),
            "GradientBoostingClassifier(10 rounds x 3 classes, max_depth=2) on iris.",
        ),
        (
            "hist_gradient_boosting_regressor",
            "HistGradientBoostingRegressor",
            "regression",
            lambda: (lambda X, y: (with_missing(X, 0.1, 3, ["bmi", "s5"]), y))(*diabetes()),
            lambda: P([("model", HistGradientBoostingRegressor(max_iter=15, max_depth=4, learning_rate=0.2, random_state=0))]),
            "HistGradientBoostingRegressor(15 iters, max_depth=4) on diabetes with ~10% NaN put into "
            "'bmi' and 's5' (train and test): exercises HGB's native missing-value direction.",
        ),
        (
            "hist_gradient_boosting_classifier",
            "HistGradientBoostingClassifier",
            "classification",
            wine,
            lambda: P([("model", HistGradientBoostingClassifier(max_iter=8, max_depth=3, learning_rate=0.3, random_state=0))]),
            "HistGradientBoostingClassifier(8 iters x 3 classes, max_depth=3) on wine (numeric).",
        ),
        (
            "mlp_regressor",
            "MLPRegressor",
            "regression",
            diabetes,
            lambda: P(
                [
                    ("scaler", StandardScaler()),
                    ("model", MLPRegressor(hidden_layer_sizes=(10, 5), max_iter=2000, learning_rate_init=0.01, random_state=0)),
                ]
            ),
            "StandardScaler + MLPRegressor((10, 5), relu) on diabetes.",
        ),
        (
            "mlp_classifier",
            "MLPClassifier",
            "classification",
            iris,
            lambda: P([("scaler", StandardScaler()), ("model", MLPClassifier(hidden_layer_sizes=(8,), max_iter=2000, random_state=0))]),
            "StandardScaler + MLPClassifier((8,), relu) on iris.",
        ),
        (
            "onehot_pipeline",
            "LogisticRegression",
            "classification",
            synthetic_categorical,
            lambda: P(
                [
                    (
                        "prep",
                        ColumnTransformer([("cat", OneHotEncoder(), ["color", "shape"]), ("num", StandardScaler(), ["width", "weight"])]),
                    ),
                    ("model", LogisticRegression(max_iter=1000)),
                ]
            ),
            "ColumnTransformer(OneHotEncoder on string columns color/shape, StandardScaler on "
            "width/weight) + LogisticRegression; synthetic data, binary string target yes/no.",
        ),
        (
            "imputer_pipeline",
            "LinearRegression",
            "regression",
            lambda: (lambda X, y: (with_missing(X, 0.15, 11, ["age", "bmi", "bp", "s1", "s5"]), y))(*diabetes()),
            lambda: P([("imputer", SimpleImputer(strategy="mean")), ("model", LinearRegression())]),
            "SimpleImputer(mean) + LinearRegression on diabetes with ~15% NaN in age/bmi/bp/s1/s5 "
            "(train and test); input rows contain empty cells.",
        ),
        (
            "extra_trees_classifier",
            "ExtraTreesClassifier",
            "classification",
            iris,
            lambda: P([("model", ExtraTreesClassifier(n_estimators=5, max_depth=4, random_state=0))]),
            "ExtraTreesClassifier(5 trees, max_depth=4) on iris.",
        ),
    ]


# ----------------------------------------------------------------------------------------------
# PMML inspection and checks
# ----------------------------------------------------------------------------------------------


def pmml_info(path):
    root = etree.parse(str(path)).getroot()
    ns = ns_of(root)

    def q(t):
        return f"{{{ns}}}{t}"

    dd = root.find(q("DataDictionary"))
    fields = [
        (f.get("name"), f.get("optype"), f.get("dataType"), [v.get("value") for v in f.findall(q("Value"))])
        for f in dd.findall(q("DataField"))
    ]
    model = next(
        c
        for c in root
        if c.tag not in (q("Header"), q("DataDictionary"), q("TransformationDictionary"), q("MiningBuildTask")) and isinstance(c.tag, str)
    )
    targets = [
        m.get("name") for m in model.find(q("MiningSchema")).findall(q("MiningField")) if m.get("usageType") in ("target", "predicted")
    ]
    target = targets[0] if targets else None
    inputs = [f for f in fields if f[0] != target]
    classes = next((f[3] for f in fields if f[0] == target), [])
    elements = sorted({etree.QName(e).localname for e in root.iter() if isinstance(e.tag, str)})
    attrs = {}
    for e in root.iter():
        if not isinstance(e.tag, str):
            continue
        for k in (
            "noTrueChildStrategy",
            "missingValueStrategy",
            "multipleModelMethod",
            "normalizationMethod",
            "activationFunction",
            "x-mathContext",
            "splitCharacteristic",
            "missingValueTreatment",
            "invalidValueTreatment",
        ):
            if e.get(k) is not None:
                attrs.setdefault(k, set()).add(e.get(k))
    return dict(
        root=root,
        ns=ns,
        version=root.get("version"),
        fields=fields,
        target=target,
        inputs=inputs,
        classes=classes,
        model_tag=etree.QName(model).localname,
        elements=elements,
        attrs={k: sorted(v) for k, v in attrs.items()},
    )


_SCHEMAS = {}


def xsd_check(root):
    """Validate against the XSD of the file's own PMML version (4.4 or 4.3).

    There is no 4.2 XSD here: a 4.2 document is validated against pmml-4-3.xsd after its namespace
    is rewritten to 4.3 (4.3 only added to 4.2), and the note says so."""
    ns = ns_of(root)
    prefix = ""
    if ns == "http://www.dmg.org/PMML-4_2":
        text = etree.tostring(root).decode().replace(ns, "http://www.dmg.org/PMML-4_3")
        root = etree.fromstring(text.replace('version="4.2"', 'version="4.3"', 1))
        ns = ns_of(root)
        prefix = "4.2 document rewritten to the 4.3 namespace, "
    name = {"http://www.dmg.org/PMML-4_4": "pmml-4-4.xsd", "http://www.dmg.org/PMML-4_3": "pmml-4-3.xsd"}.get(ns)
    if name is None:
        return None, f"no XSD available for namespace {ns}"
    if name not in _SCHEMAS:
        _SCHEMAS[name] = etree.XMLSchema(etree.parse(str(find_spec(name))))
    schema = _SCHEMAS[name]
    ok = schema.validate(root)
    return bool(ok), prefix + (name if ok else "{}: {}".format(name, "; ".join(str(e) for e in list(schema.error_log)[:3])))


def write_csv_exact(df, path):
    """Write with full (repr) precision and verify the file reads back bit-identically."""
    df.to_csv(path, index=False, float_format=None, lineterminator="\n")
    back = read_input_csv(path, df)
    assert list(back.columns) == list(df.columns), path
    for c in df.columns:
        a, b = df[c], back[c]
        if pd.api.types.is_float_dtype(a):
            av, bv = a.to_numpy(float), b.to_numpy(float)
            assert np.array_equal(np.isnan(av), np.isnan(bv)), (path, c)
            assert np.array_equal(av[~np.isnan(av)].view(np.int64), bv[~np.isnan(bv)].view(np.int64)), (path, c)
        else:

            def norm(col):
                return ["" if pd.isna(x) else str(x) for x in col]

            assert norm(a) == norm(b), (path, c)
    return back


def read_input_csv(path, like=None):
    dtype = None
    if like is not None:
        dtype = {
            c: (float if pd.api.types.is_float_dtype(like[c]) else "int64" if pd.api.types.is_integer_dtype(like[c]) else object)
            for c in like.columns
        }
    return pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=[""])


def diffs(a, b):
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.where(both_nan, 0.0, np.abs(a - b))
    if np.isnan(d).any():
        return math.inf, math.inf
    rel = d / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)
    rel = np.where(d == 0, 0.0, rel)
    return float(d.max(initial=0.0)), float(rel.max(initial=0.0))


def jpmml_evaluate(path, df):
    from jpmml_evaluator import make_evaluator

    ev = make_evaluator(str(path), backend="jpype").verify()
    res = ev.evaluateAll(df)
    if "errors" in res.columns:
        bad = res["errors"].dropna()
        if len(bad):
            raise RuntimeError(f"{path.name}: jpmml errors: {bad.iloc[0]}")
        res = res.drop(columns=["errors"])
    return res


def float64_sensitivity(pmml_path, df, task, expected, target, classes):
    """How many rows change when the float-typed fields are (wrongly) evaluated as double.

    A temporary copy of the PMML with dataType="float" replaced by "double" is scored by JPMML; rows
    whose prediction differs from scikit-learn's (> 1e-9) are counted.  Non-zero means this fixture
    catches a reader that compares float32-declared fields in float64."""
    import tempfile

    text = pmml_path.read_text().replace('dataType="float"', 'dataType="double"')
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / pmml_path.name
        p.write_text(text)
        jp = jpmml_evaluate(p, df)
    cols = [("predicted", target)] if task == "regression" else [(f"probability({c})", f"probability({c})") for c in classes]
    changed = np.zeros(len(df), bool)
    for a, b in cols:
        changed |= np.abs(expected[a].to_numpy(float) - jp[b].to_numpy(float)) > 1e-9
    return int(changed.sum())


def compare(task, expected, jp, target, classes):
    """Max abs / rel difference between expected.csv columns and the JPMML result."""
    out = {}
    if task == "regression":
        out["max_abs_diff"], out["max_rel_diff"] = diffs(expected["predicted"], jp[target])
    else:
        abs_, rel_ = 0.0, 0.0
        for c in classes:
            a, r = diffs(expected[f"probability({c})"], jp[f"probability({c})"])
            abs_, rel_ = max(abs_, a), max(rel_, r)
        out["max_abs_diff"], out["max_rel_diff"] = abs_, rel_
        out["label_mismatches"] = int((expected["predicted"].astype(str).to_numpy() != jp[target].astype(str).to_numpy()).sum())
    return out


# ----------------------------------------------------------------------------------------------
# generated fixtures
# ----------------------------------------------------------------------------------------------


def make_one(name, est_name, task, data_fn, pipe_fn, notes):
    from sklearn2pmml import sklearn2pmml

    X, y = data_fn()
    strat = y if task == "classification" else None
    X_tr, X_te, y_tr, _y_te = train_test_split(X, y, test_size=N_ROWS, random_state=42, stratify=strat)
    pipe = pipe_fn()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X_tr, y_tr)
    pmml_path = HERE / (name + ".pmml")
    sklearn2pmml(pipe, str(pmml_path))
    info = pmml_info(pmml_path)

    input_names = [f[0] for f in info["inputs"]]
    assert set(input_names) <= set(X.columns), (name, input_names)
    X_in = X_te[input_names].reset_index(drop=True)
    X_back = write_csv_exact(X_in, HERE / (name + ".input.csv"))

    # scikit-learn's outputs, computed from the full held-out frame (same values as the CSV)
    X_full = X_te.reset_index(drop=True)
    expected = pd.DataFrame({"predicted": pipe.predict(X_full)})
    classes = []
    if task == "classification":
        classes = [str(c) for c in pipe.classes_]
        assert classes == info["classes"], (name, classes, info["classes"])
        proba = pipe.predict_proba(X_full)
        for i, c in enumerate(classes):
            expected[f"probability({c})"] = proba[:, i]
        expected["predicted"] = expected["predicted"].astype(str)
    expected.to_csv(HERE / (name + ".expected.csv"), index=False, float_format=None, lineterminator="\n")

    jp = jpmml_evaluate(pmml_path, X_back)
    jp.to_csv(HERE / (name + ".jpmml.csv"), index=False, float_format=None, lineterminator="\n")

    cmp_ = compare(task, expected, jp, info["target"], classes)
    if any(f[2] == "float" for f in info["inputs"]):
        cmp_["rows_changed_if_evaluated_in_float64"] = float64_sensitivity(pmml_path, X_back, task, expected, info["target"], classes)
    valid, why = xsd_check(info["root"])
    entry = {
        "name": name,
        "task": task,
        "target": info["target"],
        "inputs": [{"name": f[0], "optype": f[1], "dataType": f[2]} for f in info["inputs"]],
        "float_model": any(f[2] == "float" for f in info["inputs"]),
        "estimator": est_name,
        "pipeline": [type(s).__name__ for _, s in pipe.steps],
        "rows": len(X_in),
        "rows_with_missing": int(X_in.isna().any(axis=1).sum()),
        "pmml_version": info["version"],
        "top_model": info["model_tag"],
        "xsd_valid": valid,
        "xsd_note": why,
        **cmp_,
        "notes": notes,
    }
    if task == "classification":
        entry["classes"] = classes
    return entry, info


# ----------------------------------------------------------------------------------------------
# hand-written PMML files (handwritten/*.pmml); expected outputs come from jpmml_evaluator
# ----------------------------------------------------------------------------------------------

HANDWRITTEN_INPUTS = {
    # (a) PMML 4.2 RegressionModel: NormContinuous + CategoricalPredictor; income missing -> replacement
    "regression_42_categorical": pd.DataFrame(
        {
            "age": [18.0, 25.0, 30.5, 41.0, 52.25, 65.0, 70.0, 12.0, 33.0, 47.0, 58.0, 29.0],
            "region": pd.Series(
                ["north", "south", "east", "west", "north", "south", "east", "west", "west", "north", "east", "south"], dtype=object
            ),
            "income": [21000.0, 35000.5, np.nan, 52000.0, 61000.0, 48000.0, 15000.0, 0.0, np.nan, 99999.99, 40500.0, 33333.33],
        }
    ),
    # (b) PMML 4.3 TreeModel: CompoundPredicate and/or, SimpleSetPredicate, defaultChild
    "tree_43_compound": pd.DataFrame(
        {
            "temperature": [25.0, 25.0, 25.0, 3.0, 12.0, 12.0, np.nan, np.nan, 30.0, 20.0, 20.5, np.nan, 5.0, 40.0],
            "color": pd.Series(
                ["red", "yellow", "blue", "green", "purple", None, "red", "blue", None, "red", "red", None, "green", "green"], dtype=object
            ),
            "humidity": [50.0, 70.0, 10.0, 80.0, 55.0, 60.0, np.nan, 40.0, 20.0, 50.0, np.nan, np.nan, np.nan, 59.9],
        }
    ),
    # (c) PMML 4.4 NeuralNetwork, tanh hidden layer, identity output, NormContinuous in/out
    "neural_network_44_tanh": pd.DataFrame(
        {
            "x1": [0.0, 1.0, -1.0, 2.5, 5.0, -3.0, 0.333, 10.0, 7.5, -0.1],
            "x2": [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 100.0],
            "x3": [1.0, 0.5, 0.25, 0.125, 2.0, 4.0, 8.0, -1.0, -2.0, 0.0],
        }
    ),
    # (d) MiningModel weightedAverage over two RegressionModels
    "mining_weighted_average": pd.DataFrame(
        {
            "x1": [0.0, 1.0, 2.0, 3.5, -1.25, 10.0, 0.1, 7.0],
            "x2": [0.0, -1.0, 4.0, 2.5, 3.0, -10.0, 0.2, 1.0],
        }
    ),
}

HANDWRITTEN_NOTES = {
    "regression_42_categorical": "PMML 4.2 RegressionModel (regression): TransformationDictionary NormContinuous "
    "(3 LinearNorm points, outliers asIs = extrapolate) used as NumericPredictor with "
    "exponent 2 and 1; CategoricalPredictor on region (west = baseline, not listed); "
    "income has missingValueReplacement=40000.",
    "tree_43_compound": "PMML 4.3 TreeModel (classification) with CompoundPredicate and/or, SimpleSetPredicate "
    "isIn/isNotIn, missingValueStrategy=defaultChild (node ids + defaultChild), "
    "ScoreDistribution recordCounts -> probabilities, OutputField entityId (node id).",
    "neural_network_44_tanh": "PMML 4.4 NeuralNetwork (regression): 3 inputs normalised with NormContinuous, "
    "hidden layer of 3 tanh neurons, output layer activationFunction=identity, "
    "NeuralOutput de-normalises the target through an inverse NormContinuous.",
    "mining_weighted_average": "PMML 4.4 MiningModel multipleModelMethod=weightedAverage over two RegressionModels "
    "(segment weights 0.25 and 0.75).",
}


def make_handwritten():
    entries = []
    for name, df in HANDWRITTEN_INPUTS.items():
        path = HANDWRITTEN / (name + ".pmml")
        info = pmml_info(path)
        input_names = [f[0] for f in info["inputs"]]
        assert list(df.columns) == input_names, (name, input_names)
        back = write_csv_exact(df, HANDWRITTEN / (name + ".input.csv"))
        jp = jpmml_evaluate(path, back)
        jp.to_csv(HANDWRITTEN / (name + ".jpmml.csv"), index=False, float_format=None, lineterminator="\n")
        task = "classification" if info["classes"] else "regression"
        expected = pd.DataFrame({"predicted": jp[info["target"]]})
        if task == "classification":
            for c in info["classes"]:
                expected[f"probability({c})"] = jp[f"probability({c})"]
        expected.to_csv(HANDWRITTEN / (name + ".expected.csv"), index=False, float_format=None, lineterminator="\n")
        valid, why = xsd_check(info["root"])
        entry = {
            "name": name,
            "task": task,
            "target": info["target"],
            "inputs": [{"name": f[0], "optype": f[1], "dataType": f[2]} for f in info["inputs"]],
            "float_model": any(f[2] == "float" for f in info["inputs"]),
            "estimator": None,
            "handwritten": True,
            "expected_from": "jpmml_evaluator",
            "rows": len(df),
            "rows_with_missing": int(df.isna().any(axis=1).sum()),
            "pmml_version": info["version"],
            "top_model": info["model_tag"],
            "xsd_valid": valid,
            "xsd_note": why,
            "notes": HANDWRITTEN_NOTES[name],
        }
        if task == "classification":
            entry["classes"] = info["classes"]
        entries.append(entry)
        print(f"{name:<28} {info['version']:<6} {info['model_tag']:<14} xsd={valid!s:<5} rows={len(df)}")
    with open(HANDWRITTEN / "manifest.json", "w") as fh:
        json.dump(entries, fh, indent=2)
        fh.write("\n")


# ----------------------------------------------------------------------------------------------


def versions():
    import jpmml_evaluator
    import sklearn2pmml

    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "sklearn2pmml": sklearn2pmml.__version__,
        "jpmml_evaluator": jpmml_evaluator.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "java": java,
    }


def main(argv):
    print(json.dumps(versions()))
    if "--handwritten-only" not in argv:
        words = [a for a in argv if not a.startswith("--")]
        manifest_path = HERE / "manifest.json"
        old = {e["name"]: e for e in json.loads(manifest_path.read_text())} if manifest_path.exists() else {}
        entries, table = [], []
        header = f"{'fixture':<34} {'float':<6} {'top model':<15} {'xsd':<5} {'max|abs|':<10} {'max rel':<10} {'labels':<6} f64 rows"
        for fx in fixtures():
            if words and not any(w in fx[0] for w in words):
                if fx[0] in old:
                    entries.append(old[fx[0]])
                continue
            e, _info = make_one(*fx)
            entries.append(e)
            table.append(
                f"{e['name']:<34} {e['float_model']!s:<6} {e['top_model']:<15} {e['xsd_valid']!s:<5} "
                f"{e['max_abs_diff']:<10.3g} {e['max_rel_diff']:<10.3g} {e.get('label_mismatches', '')!s:<6} "
                f"{e.get('rows_changed_if_evaluated_in_float64', '')}"
            )
            print(table[-1], flush=True)
        # sklearn2pmml's java prints into the same stream, so repeat the table at the end
        print("\nscikit-learn vs jpmml_evaluator\n" + header + "\n" + "\n".join(table))
        with open(manifest_path, "w") as fh:
            json.dump(entries, fh, indent=2)
            fh.write("\n")
    if HANDWRITTEN.is_dir():
        make_handwritten()


if __name__ == "__main__":
    main(sys.argv[1:])
