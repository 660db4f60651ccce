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

import argparse
import csv
from pathlib import Path

import numpy as np

import portamodel

HERE = Path(__file__).resolve().parent
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def main(out: Path = HERE) -> None:
    import sklearn
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    iris = load_iris()
    X = np.asarray(iris.data, dtype=np.float64)
    species = np.asarray(iris.target_names)[iris.target]

    with (out / "iris.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", *FEATURES, "species"])
        for i, (row, label) in enumerate(zip(X, species), start=1):
            writer.writerow([i, *(f"{v:.1f}" for v in row), label])

    import pandas as pd  # scikit-learn takes the feature names from the DataFrame's columns

    frame = pd.DataFrame(X, columns=list(FEATURES))
    forest = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(frame, species)
    model = portamodel.from_sklearn(forest)
    model = model.replace(
        # plain str labels: scikit-learn hands out numpy.str_, which the JSON file cannot tell apart
        target=model.target.replace(name="species", classes=tuple(str(c) for c in model.classes)),
        metadata=model.metadata.replace(
            name="iris_forest",
            description="RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0) fitted on the iris data; "
            "made by examples/make_examples.py",
        ),
    )
    portamodel.save(model, out / "iris_forest.json")

    again = portamodel.load(out / "iris_forest.json")
    assert again == model, "the JSON file does not read back as the same model"
    ours = again.predict(frame)
    assert (ours == forest.predict(frame)).all(), "predictions differ from scikit-learn"
    np.testing.assert_allclose(again.predict_proba(frame), forest.predict_proba(frame), rtol=1e-12, atol=1e-15)
    size = (out / "iris_forest.json").stat().st_size
    print(f"wrote iris.csv (150 rows) and iris_forest.json ({size} bytes); predictions match scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write to (default: examples/)")
    main(parser.parse_args().out)
