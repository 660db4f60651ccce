"""A tour of the portamodel Python API on the bundled iris forest: ``python examples/quickstart.py``.

Needs only ``pip install .`` (numpy); the PMML and ONNX parts run when the ``pmml`` and ``onnx``
extras are installed.
Writes its output files to a temporary folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import portamodel

HERE = Path(__file__).resolve().parent


def main() -> None:
    # Load: the format comes from the extension (.json, .pmml/.xml, .onnx, with .gz) or the content.
    model = portamodel.load(HERE / "iris_forest.json")
    print(f"{model.family} {model.task}: inputs {model.input_names}, classes {model.classes}")

    # Predict: a 2-D array with columns in model.input_names order ...
    X = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    print("labels:", model.predict(X).tolist())
    print("probabilities:", model.predict_proba(X).round(3).tolist())
    # ... or columns by name (a dict, a pandas DataFrame), or records; None / NaN is a missing value.
    rows = [{"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 4.2, "petal_width": None}]
    print("with a missing value:", model.predict(rows).tolist())

    # Bad input raises an InputError (a ValueError) that names the problem.
    try:
        model.predict({"sepal_length": [5.1]})
    except portamodel.InputError as exc:
        print("InputError:", exc)

    with tempfile.TemporaryDirectory() as tmp:
        # Save: atomic; the format comes from the extension. JSON is lossless.
        path = Path(tmp) / "iris_forest.json.gz"
        portamodel.save(model, path)
        assert portamodel.load(path) == model
        print(f"saved {path.name}: {path.stat().st_size} bytes")

        # Convert a file straight to another format (reads, then writes).
        portamodel.convert(HERE / "iris_forest.json", Path(tmp) / "copy.json")

        # PMML needs the pmml extra (pip install "portamodel[pmml]"). The trees come back in PMML's
        # own shape, so compare what matters: the predictions.
        pmml_path = Path(tmp) / "iris_forest.pmml"
        try:
            portamodel.save(model, pmml_path, on_loss="raise")
            print(f"saved {pmml_path.name}: {pmml_path.stat().st_size} bytes")
            same = (portamodel.load(pmml_path).predict_proba(X) == model.predict_proba(X)).all()
        except portamodel.MissingDependencyError as exc:
            print("PMML skipped:", exc)
        else:
            print(f"same probabilities after reading it back: {same}")

        # ONNX needs the onnx extra (pip install "portamodel[onnx]"). tree_opset=5 keeps every
        # number in double; on_loss="raise" refuses to write anything the graph cannot say exactly.
        onnx_path = Path(tmp) / "iris_forest.onnx"
        try:
            portamodel.save(model, onnx_path, tree_opset=5, on_loss="raise")
        except portamodel.MissingDependencyError as exc:
            print("ONNX skipped:", exc)
        else:
            print(f"saved {onnx_path.name}: {onnx_path.stat().st_size} bytes")
            _score_with_onnxruntime(onnx_path, X, model.predict_proba(X))


def _score_with_onnxruntime(path: Path, X: list[list[float]], expected: object) -> None:
    """Any ONNX runtime scores the file; onnxruntime, if installed, gives the same probabilities."""
    try:
        import numpy as np
        import onnxruntime
    except ImportError:
        return
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {session.get_inputs()[0].name: np.asarray(X, dtype=np.float64)})
    print("onnxruntime:", labels.tolist(), "same probabilities:", bool(np.array_equal(proba, expected)))


if __name__ == "__main__":
    main()
