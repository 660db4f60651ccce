"""Shared parts of the atheris harnesses: seeds, token dictionaries, the oracle and ``main``.

A harness feeds libFuzzer-mutated bytes to one reader through :func:`portamodel.load`. An input
is fine when the reader raises a ``PortamodelError``, or when it loads a model that scores a few
rows (``predict``, ``predict_proba``) with outputs of the right shapes. Anything else -- another
exception, a warning (turned into an error), a hang (``-timeout``), a memory blow-up
(``-rss_limit_mb``) -- is a crash that libFuzzer reports and saves as ``crash-<sha1>``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent
DATA = TESTS / "data"

#: Tokens libFuzzer splices into inputs (``-dict=``), per format.
TOKENS: dict[str, list[str]] = {
    "json": [
        '"format"', '"portamodel"', '"version"', '"inputs"', '"target"', '"estimator"', '"steps"', '"type"',
        '"TreeEnsemble"', '"LinearModel"', '"MLP"', '"roots"', '"feature"', '"threshold"', '"op"',
        '"true_child"', '"false_child"', '"missing"', '"values"', '"set_offsets"', '"set_values"',
        '"coefficients"', '"intercepts"', '"layers"', '"weights"', '"biases"', '"base64"', '"dtype"',
        '"shape"', '"compression"', '"zlib"', '"<f8"', '"<i4"', '"classes"', '"task"', '"classification"',
        '"regression"', '"Derive"', '"apply"', '"args"', '"field"', '"constant"', '"OneHot"', '"Lookup"',
        "NaN", "-Infinity", "1e999", "-1", "2147483648", "9223372036854775808", "null", "true", "[]", "{}",
        '{"float": "NaN"}',
    ],
    "pmml": [
        "<PMML", "</PMML>", "<DataDictionary>", "<DataField", "<TreeModel", "<Node", "</Node>", "<True/>",
        "<SimplePredicate", "<CompoundPredicate", "<ScoreDistribution", "<RegressionModel", "<RegressionTable",
        "<NumericPredictor", "<NeuralNetwork", "<NeuralLayer", "<Neuron", "<Con", "<MiningModel", "<Segment",
        "<Segmentation", "<Apply", "<FieldRef", "<Constant", "<Array", "<!DOCTYPE", "<!ENTITY", "&amp;",
        'operator="lessOrEqual"', 'missingValueStrategy="defaultChild"', 'defaultChild="', 'functionName="classification"',
        'dataType="double"', 'optype="categorical"', 'usageType="target"', 'recordCount="', 'n="', "NaN", "INF",
        "-1", "1e999",
    ],
    "onnx": [
        "TreeEnsembleRegressor", "TreeEnsembleClassifier", "TreeEnsemble", "LinearRegressor", "LinearClassifier",
        "nodes_truenodeids", "nodes_falsenodeids", "nodes_featureids", "nodes_modes", "nodes_values",
        "target_ids", "target_weights", "class_ids", "classlabels_int64s", "BRANCH_LEQ", "LEAF", "ai.onnx.ml",
        "MatMul", "Gemm", "Add", "Relu", "Sigmoid", "Softmax", "Cast", "portamodel.ir", "external_data",
        "location", "\xff\xff\xff\xff\x0f",
    ],
}  # fmt: skip


def seeds(fmt: str) -> list[bytes]:
    """Valid files of ``fmt`` (the real fixtures, our writers' output) and the hostile corpus."""
    import portamodel
    from portamodel.formats import get_format

    out: list[bytes] = []
    if fmt == "pmml":
        out += [p.read_bytes() for p in sorted((DATA / "pmml").rglob("*.pmml"))]
    if fmt == "onnx":
        out += [p.read_bytes() for p in sorted((DATA / "onnx").glob("*.onnx"))]
    models = []
    for p in sorted((DATA / "pmml").glob("*.pmml"))[:8] + sorted((DATA / "onnx").glob("*.onnx"))[:8]:
        with contextlib.suppress(portamodel.PortamodelError):
            models.append(portamodel.load(p))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in models:
            try:
                opts = {} if fmt == "json" else {"on_loss": "ignore"}
                out.append(get_format(fmt).write(m, **opts))
            except portamodel.PortamodelError:
                pass
    ext = {"json": ".json", "pmml": ".pmml", "onnx": ".onnx"}[fmt]
    out += [p.read_bytes() for p in sorted((DATA / "hostile" / fmt).iterdir()) if p.name.endswith(ext)]
    return out


def check(fmt: str, data: bytes) -> None:
    """The oracle, skipping the known bugs of tests/test_fuzz.py when PORTAMODEL_FUZZ_SKIP_KNOWN=1."""
    try:
        _check(fmt, data)
    except Exception as exc:
        if os.environ.get("PORTAMODEL_FUZZ_SKIP_KNOWN") and _known(fmt, exc):
            return
        raise


def _known(fmt: str, exc: BaseException) -> bool:
    sys.path.insert(0, str(TESTS))
    try:
        from test_fuzz import known_bug

        return known_bug(fmt, exc) is not None
    finally:
        sys.path.remove(str(TESTS))


def _check(fmt: str, data: bytes) -> None:
    """The oracle: PortamodelError, or a model that scores sample rows."""
    import portamodel

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            model = portamodel.load(data, format=fmt)
        except portamodel.PortamodelError as exc:
            assert str(exc).strip(), "an error without a message"
            return
        X = _rows(model)
        y = model.predict(X)
        assert y.shape == (5,), y.shape
        if model.task == "classification":
            p = model.predict_proba(X)
            assert p.shape == (5, len(model.classes)), p.shape
        assert model.predict({k: v[:0] for k, v in X.items()}).shape == (0,)


def _rows(model: Any) -> dict[str, Any]:
    """Five rows valid for ``model``: the test suite's sampler when importable, else random."""
    import numpy as np

    sys.path.insert(0, str(TESTS))
    try:
        from helpers import sample_inputs

        return sample_inputs(model, 5, seed=0)  # type: ignore[no-any-return]
    except Exception:
        pass
    finally:
        sys.path.remove(str(TESTS))
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}
    for f in model.inputs:
        if f.values:
            col = np.empty(5, dtype=object)
            col[:] = [f.values[i % len(f.values)] for i in range(5)]
        elif f.dtype == "string":
            col = np.array(["a", "b", "c", "", "a"], dtype=object)
        else:
            col = rng.normal(size=5)
        out[f.name] = col
    return out


def main(fmt: str) -> None:
    """Run the harness for ``fmt``: ``python tests/fuzz/fuzz_<fmt>.py [CORPUS_DIR] [libFuzzer flags]``."""
    import atheris

    with atheris.instrument_imports(include=["portamodel"]):  # every submodule, for coverage feedback
        import importlib
        import pkgutil

        import portamodel

        for info in pkgutil.walk_packages(portamodel.__path__, "portamodel."):
            if not info.name.startswith(("portamodel.cli", "portamodel.importers", "portamodel.sklearn")):
                importlib.import_module(info.name)

    argv = list(sys.argv)
    dirs = [a for a in argv[1:] if not a.startswith("-")]
    work = Path(os.environ.get("PORTAMODEL_FUZZ_DIR", Path(tempfile.gettempdir()) / "portamodel-fuzz")) / fmt
    if not dirs:  # no corpus named: seed one (kept between runs, so coverage accumulates)
        corpus = work / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        if not any(corpus.iterdir()):
            for i, s in enumerate(seeds(fmt)):
                (corpus / f"seed-{i:04d}").write_bytes(s)
        argv.insert(1, str(corpus))
    if not any(a.startswith("-dict=") for a in argv):
        work.mkdir(parents=True, exist_ok=True)
        tokens = work / "tokens.dict"
        tokens.write_text("".join(f'"{_escape(t)}"\n' for t in TOKENS[fmt]), encoding="latin-1")
        argv.append(f"-dict={tokens}")
    for flag, value in (("-timeout", "10"), ("-rss_limit_mb", "2048"), ("-max_len", "262144")):
        if not any(a.startswith(flag + "=") for a in argv):
            argv.append(f"{flag}={value}")

    def one_input(data: bytes) -> None:
        check(fmt, data)

    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def _escape(token: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\x{ord(c):02x}" for c in token)
