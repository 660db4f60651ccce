"""The short call paths of linear models and MLPs agree with the general path, exactly.

A C-contiguous float64 array of the right width goes straight to the kernel; other arrays are
cast / reordered / rounded first; mappings and records take the per-column coercion. A single
row is finished with Python scalars, batches with numpy; small MLP batches run layer by layer,
large ones in blocks through reused buffers; ``ndarray.dot`` is used only when it is exact. All of
these must give the same bits as the general path, keep NaN / inf semantics, never warn (warnings
are errors here), never write to the caller's array, and refuse bad input with InputError.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from typing import Any

import numpy as np
import pytest

from portamodel.errors import InputError
from portamodel.evaluate import get_plan, outputs
from portamodel.evaluate._mlp import BLOCK_ROWS
from portamodel.evaluate._transforms import IN_PLACE_FROM, dot_is_exact, silenced
from portamodel.ir import MLP, DenseLayer, Field, LinearModel, Model, Target

RNG = np.random.default_rng(5)
N_IN = 4


def _inputs(dtype: str = "double", order: tuple[int, ...] = (0, 1, 2, 3)) -> tuple[Field, ...]:
    return tuple(Field(name=f"x{i}", dtype=dtype) for i in order)  # type: ignore[arg-type]


def _linear(task: str, classes: tuple[Any, ...] = (), n_out: int = 1, normalization: str = "identity", **kw: Any) -> Model:
    coef = RNG.standard_normal((n_out, N_IN))
    target = Target(name="y", task=task, classes=classes)  # type: ignore[arg-type]
    est = LinearModel(
        features=tuple(f"x{i}" for i in range(N_IN)), coefficients=coef, intercepts=RNG.standard_normal(n_out), normalization=normalization
    )
    return Model(inputs=kw.get("inputs", _inputs()), target=target, estimator=est)


def _mlp(task: str, classes: tuple[Any, ...] = (), n_out: int = 1, out_act: str = "identity", **kw: Any) -> Model:
    sizes = (N_IN, 16, 8, n_out)
    acts = (kw.get("hidden", "relu"), "tanh", out_act)
    layers = tuple(
        DenseLayer(weights=RNG.standard_normal((a, b)), biases=RNG.standard_normal(b), activation=act)  # type: ignore[arg-type]
        for a, b, act in zip(sizes[:-1], sizes[1:], acts)
    )
    target = Target(name="y", task=task, classes=classes)  # type: ignore[arg-type]
    est = MLP(features=tuple(f"x{i}" for i in range(N_IN)), layers=layers, compute_dtype=kw.get("compute_dtype", "float64"))
    return Model(inputs=kw.get("inputs", _inputs()), target=target, estimator=est)


MODELS = {
    "linear": lambda **kw: _linear("regression", **kw),
    "logistic": lambda **kw: _linear("classification", ("no", "yes"), normalization="logistic", **kw),
    "softmax": lambda **kw: _linear("classification", (3, 1, 2), n_out=3, normalization="softmax", **kw),
    "mlp": lambda **kw: _mlp("regression", **kw),
    "mlp_binary": lambda **kw: _mlp("classification", (False, True), out_act="logistic", **kw),
    "mlp_softmax": lambda **kw: _mlp("classification", (0.5, 1.5, 2.5), n_out=3, out_act="softmax", hidden="leaky_relu", **kw),
    "mlp_float32": lambda **kw: _mlp("regression", compute_dtype="float32", **kw),
    "mlp_binary_float32": lambda **kw: _mlp("classification", (False, True), out_act="logistic", compute_dtype="float32", **kw),
    "mlp_softmax_float32": lambda **kw: _mlp(
        "classification", (0.5, 1.5, 2.5), n_out=3, out_act="softmax", hidden="leaky_relu", compute_dtype="float32", **kw
    ),
}


def _tol(model: Model) -> dict[str, float]:
    """Different product shapes (one row, a block, a block's remainder) may round differently in
    the last bit: 1e-13 relative in float64, a few float32 units for a float32 network (absolute
    too: ``1 - p`` of a binary network inherits the float32 rounding of ``p``)."""
    if getattr(model.estimator, "compute_dtype", "float64") == "float32":
        return {"rtol": 1e-6, "atol": 1e-6}
    return {"rtol": 1e-13, "atol": 1e-300}


def _general(model: Model, X: np.ndarray, what: str) -> np.ndarray:
    """The per-column path: a mapping of columns in the inputs' order."""
    cols = {f.name: X[:, j] for j, f in enumerate(model.inputs)}
    return getattr(model, what)(cols)  # type: ignore[no-any-return]


def _what(model: Model) -> list[str]:
    return ["predict", "predict_proba"] if model.task == "classification" else ["predict"]


def _data(n: int) -> np.ndarray:
    X = RNG.standard_normal((n, N_IN)) * 3
    X[::7, 1] = np.nan  # missing values propagate
    return X


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("n", [0, 1, 2, 5, BLOCK_ROWS + 37])
def test_array_forms_agree_with_the_general_path(name: str, n: int) -> None:
    model = MODELS[name]()
    X = _data(n)
    before = X.copy()
    forms = {
        "c": X,
        "fortran": np.asfortranarray(X),
        "strided": np.repeat(X, 2, axis=0)[::2],
        "float32": X.astype(np.float32),
        "big-endian": X.astype(">f8"),
    }
    for what in _what(model):
        want = _general(model, X, what)
        for form, arr in forms.items():
            ref = _general(model, arr.astype(np.float64), what) if form == "float32" else want
            got = getattr(model, what)(arr)
            assert got.dtype == ref.dtype, (form, what)
            np.testing.assert_array_equal(got, ref, err_msg=f"{form} {what}")
        ints = (X * 10).round()
        ints[np.isnan(ints)] = 0
        np.testing.assert_array_equal(getattr(model, what)(ints.astype(np.int32)), _general(model, ints, what))
    np.testing.assert_array_equal(X, before)  # the caller's array is never written to


@pytest.mark.parametrize("name", sorted(MODELS))
def test_single_rows_agree_with_batches_finish(name: str) -> None:
    """The scalar finish of one row (labels, [1 - p, p]) equals the array finish of a batch on the same outputs."""
    model = MODELS[name]()
    plan = get_plan(model)
    out = outputs(model, _data(40))
    if model.task == "classification":
        if out.shape[1] == 1:  # ties and NaN: p = 0.5 goes to classes[0] (first maximum), NaN to None
            out = np.concatenate([out, [[0.5], [np.nan], [0.0], [1.0], [np.nextafter(0.5, 1.0)]]])
        else:
            out = np.concatenate([out, [[0.2, 0.4, 0.4], [np.nan, 0.5, 0.5], [0.0, -0.0, 0.0], [-0.0, 0.0, 0.0], [np.inf, np.inf, 1.0]]])
        batch = plan.labels(out)
        rows = [plan.labels(out[i : i + 1]) for i in range(out.shape[0])]
        for i, row in enumerate(rows):
            assert row.dtype == (object if row[0] is None else plan.label_table.dtype), i
            assert row.shape == (1,)
            assert row[0] == batch[i] or (row[0] is None and batch[i] is None), i
    X = _data(30)
    for what in _what(model):
        batch = getattr(model, what)(X)
        for i in range(X.shape[0]):
            one = getattr(model, what)(X[i : i + 1])
            assert one.dtype == batch.dtype or batch.dtype == object
            if batch.dtype.kind == "f":
                np.testing.assert_allclose(one[0], batch[i], **_tol(model))
            else:
                assert one[0] == batch[i] or (one[0] is None and batch[i] is None)


def test_binary_labels_match_argmax_of_probabilities() -> None:
    model = MODELS["logistic"]()
    X = _data(300)
    proba = model.predict_proba(X)
    labels = model.predict(X)
    nan = np.isnan(proba).any(axis=1)
    want = np.array(model.classes, dtype=object)[np.argmax(proba, axis=1)]
    want[nan] = None
    assert labels.dtype == object and nan.any()
    assert labels.tolist() == want.tolist()
    ok = model.predict(X[~nan])
    assert ok.dtype.kind == "U" or ok.dtype == object
    assert ok.tolist() == want[~nan].tolist()


@pytest.mark.parametrize(
    "classes, dtype",
    [
        ((0, 7), np.int64),
        ((0.5, 2.5), np.float64),
        ((False, True), np.bool_),
        (("a", "b"), object),
        ((0, 2**70), object),
        ((1, "b"), object),
    ],
)
@pytest.mark.parametrize("n", [1, 3])
def test_label_dtypes(classes: tuple[Any, ...], dtype: Any, n: int) -> None:
    model = _linear("classification", classes, normalization="logistic")
    got = model.predict(RNG.standard_normal((n, N_IN)))
    assert got.dtype == dtype
    assert set(got.tolist()) <= set(classes)
    got[0] = classes[0]  # a fresh array, not a view of the plan's table
    assert get_plan(model).label_table.tolist() == list(classes)


def test_reordered_and_float_inputs_take_the_cast_path() -> None:
    """Inputs in another order than the features, and dtype='float' inputs (rounded to float32)."""
    for make in MODELS.values():
        shuffled = make(inputs=_inputs(order=(2, 0, 3, 1)))
        X = _data(9)
        for what in _what(shuffled):
            np.testing.assert_array_equal(getattr(shuffled, what)(X), _general(shuffled, X, what))
        rounded = make(inputs=_inputs(dtype="float"))
        X = _data(9) + 1e-9  # not representable in float32
        for what in _what(rounded):
            want = getattr(rounded, what)(X.astype(np.float32).astype(np.float64))
            np.testing.assert_array_equal(getattr(rounded, what)(X), want)
            np.testing.assert_array_equal(_general(rounded, X, what), want)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_bad_shapes_and_options_raise_input_error(name: str) -> None:
    model = MODELS[name]()
    for bad in (np.zeros((2, N_IN + 1)), np.zeros((1, N_IN - 1)), np.zeros(N_IN), np.zeros((1, 1, N_IN)), np.array([["a"] * N_IN])):
        with pytest.raises(InputError):
            model.predict(bad)
    with pytest.raises(InputError, match=r"column|row|number"):
        model.predict(np.array([["1", "2", "x", "4"]], dtype=object))
    for threads in (0, -1, True, 1.5, "2"):
        with pytest.raises(InputError, match="threads"):
            model.predict(np.zeros((1, N_IN)), threads=threads)
    with pytest.raises(InputError, match="unknown option"):
        model.predict(np.zeros((1, N_IN)), thread=1)
    X = _data(5)
    for threads in (1, 2, np.int64(3), None):
        np.testing.assert_array_equal(model.predict(X, threads=threads), model.predict(X))
    if model.task == "regression":
        with pytest.raises(InputError, match="regression"):
            model.predict_proba(np.zeros((1, N_IN)))


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("n", [1, 3, BLOCK_ROWS + 1])
def test_overflow_stays_silent(name: str, n: int) -> None:
    model = MODELS[name]()
    X = np.full((n, N_IN), 1e308)
    X[:, 1] = -1e308
    X[0, 2] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for what in _what(model):
            got = getattr(model, what)(X)
            assert got.shape[0] == n
            np.testing.assert_array_equal(got, _general(model, X, what))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_zero_weights_keep_nan_and_inf(n: int) -> None:
    """``ndarray.dot`` may skip a zero factor: weights with zeros go through ``@`` so NaN * 0 stays NaN."""
    reg = Target(name="y", task="regression")
    inputs = _inputs()[:2]
    for w in ([[0.0], [1.0]], [[0.0], [0.0]], [[2.0], [-0.0]]):
        lin = Model(inputs=inputs, target=reg, estimator=LinearModel(features=("x0", "x1"), coefficients=np.array(w).T, intercepts=[0.0]))
        mlp = Model(inputs=inputs, target=reg, estimator=MLP(features=("x0", "x1"), layers=(DenseLayer(weights=w, biases=[0.0]),)))
        X = np.tile([[np.nan, 1.0], [1.0, np.inf], [2.0, 3.0]], (n, 1))
        for model in (lin, mlp):
            got = model.predict(X)
            with np.errstate(invalid="ignore"):  # IEEE: nan * 0 = nan, inf * 0 = nan
                want = (X * np.array(w)[:, 0]).sum(axis=1)
            np.testing.assert_array_equal(got, want)
    one = Model(inputs=inputs[:1], target=reg, estimator=LinearModel(features=("x0",), coefficients=[[0.0]], intercepts=[0.0]))
    np.testing.assert_array_equal(one.predict(np.array([[np.inf]])), [np.nan])
    np.testing.assert_array_equal(one.predict(np.array([[np.nan]])), [np.nan])


def test_dot_is_exact_and_silenced() -> None:
    assert dot_is_exact(np.ones((3, 2)))
    assert not dot_is_exact(np.array([[1.0, 0.0]]))
    assert not dot_is_exact(np.array([[1.0, -0.0]]))
    assert not dot_is_exact(np.array([[1.0, np.inf]]))
    f = silenced(lambda x: np.exp(x) * (x - x))  # overflow, then inf * 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(f(np.array([1000.0])))[0]
        np.exp(np.array([1.0]))
    with pytest.warns(RuntimeWarning):  # the error state is restored after the call
        np.exp(np.array([1000.0]))
    with pytest.raises(ZeroDivisionError):  # and after an exception
        silenced(lambda x: 1 / 0)(np.zeros(1))
    with pytest.warns(RuntimeWarning):
        np.exp(np.array([1000.0]))


def test_scikit_learn_fits_bit_for_bit() -> None:
    """One row and batches (in and beyond one block) against scikit-learn's own predictions."""
    pytest.importorskip("sklearn")
    from sklearn.datasets import make_classification, make_regression
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    import portamodel

    X, y = make_regression(n_samples=BLOCK_ROWS + 300, n_features=12, random_state=0)
    Xc, yc = make_classification(n_samples=BLOCK_ROWS + 300, n_features=12, n_classes=3, n_informative=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = [
            (LinearRegression().fit(X, y), X),
            (LogisticRegression().fit(Xc, yc == 1), Xc),
            (LogisticRegression().fit(Xc, yc), Xc),
            (MLPRegressor(hidden_layer_sizes=(32, 16), max_iter=20, random_state=0).fit(X, y), X),
            (MLPClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0).fit(Xc, yc == 1), Xc),
        ]
    for est, data in fits:
        model = portamodel.from_sklearn(est)
        fn = est.predict_proba if hasattr(est, "predict_proba") else est.predict
        ours = model.predict_proba if hasattr(est, "predict_proba") else model.predict
        for rows in (data[:1], data[7:8], data[:50], data):
            np.testing.assert_allclose(ours(rows), fn(rows), rtol=1e-13, atol=1e-300, err_msg=type(est).__name__)
        if hasattr(est, "classes_"):
            np.testing.assert_array_equal(model.predict(data), est.predict(data))


@pytest.mark.parametrize("name", ["mlp", "mlp_softmax", "mlp_float32", "mlp_softmax_float32"])
def test_mlp_threads_and_chunks_agree(name: str) -> None:
    """Large MLP batches give the same bits whatever the thread counts (``threads=``, which MLPs
    leave to BLAS, and BLAS's own) and however they are cut (block boundaries line up)."""
    from threadpoolctl import threadpool_limits

    model = MODELS[name]()
    kernel = get_plan(model).estimator
    n = kernel.block_rows * 3 + 5  # type: ignore[attr-defined]
    X = _data(n)
    before = X.copy()
    whole = outputs(model, X, threads=1)
    for threads in (2, 3, None):
        np.testing.assert_array_equal(outputs(model, X, threads=threads), whole)
    with threadpool_limits(1):  # BLAS on one thread
        np.testing.assert_array_equal(outputs(model, X), whole)
    block = kernel.block_rows  # type: ignore[attr-defined]
    np.testing.assert_array_equal(outputs(model, X[block : 2 * block]), whole[block : 2 * block])
    rows = np.concatenate([outputs(model, X[i : i + 1]) for i in range(0, n, 97)])
    np.testing.assert_allclose(rows, whole[::97], **_tol(model))
    np.testing.assert_array_equal(X, before)


def test_mlp_block_buffers_stay_in_cache() -> None:
    """Block rows: a block's buffers (input and every layer, each with a ones column) fit in
    BLOCK_BYTES, within [64, BLOCK_ROWS] rows (twice that in float32); float32 blocks hold twice the rows."""
    from portamodel.evaluate._mlp import BLOCK_BYTES, MIN_BLOCK_ROWS, MLPKernel

    def kernel(*sizes: int, dtype: str = "float64") -> MLPKernel:
        layers = tuple(DenseLayer(weights=np.ones((a, b)), biases=np.zeros(b)) for a, b in itertools.pairwise(sizes))
        return MLPKernel(MLP(features=tuple(f"x{i}" for i in range(sizes[0])), layers=layers, compute_dtype=dtype))

    assert kernel(20, 64, 32, 1).block_rows == BLOCK_ROWS  # 120 columns: 1.9 MiB
    assert kernel(20, 64, 32, 1, dtype="float32").block_rows == 2 * BLOCK_ROWS  # the same bytes
    k = kernel(100, 300, 200, 1)
    assert k.block_rows * 8 * (101 + 301 + 201 + 2) <= BLOCK_BYTES < (k.block_rows + 8) * 8 * (101 + 301 + 201 + 2)
    assert kernel(100, 300, 200, 1, dtype="float32").block_rows == 2 * k.block_rows
    assert kernel(2048, 2048, 1).block_rows == MIN_BLOCK_ROWS


@pytest.mark.parametrize("n", [1, 3, 5000])
def test_logistic_from_negated_scores_has_the_same_bits(n: int) -> None:
    """The linear kernel negates the coefficients instead of the scores: bit for bit the textbook formula."""
    model = MODELS["logistic"]()
    X = _data(n) * 50
    X[-1] = [1e308, -1e308, np.inf, 0.0]
    est = model.estimator
    with np.errstate(all="ignore"):
        scores = X.dot(np.ascontiguousarray(est.coefficients.T))  # type: ignore[union-attr]  # the kernel's product
        want = 1.0 / (1.0 + np.exp(-(scores + est.intercepts)))  # type: ignore[union-attr]
    np.testing.assert_array_equal(outputs(model, X), want)
    np.testing.assert_array_equal(model.predict_proba(X)[:, 1], want[:, 0])


def test_silenced_falls_back_to_errstate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without numpy 2's error-state context variable (numpy 1.x), ``silenced`` uses np.errstate."""
    from portamodel.evaluate import _transforms

    monkeypatch.setattr(_transforms, "_QUIET", None)
    f = _transforms.silenced(lambda x: np.exp(x) * (x - x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(f(np.array([1000.0])))[0]
    with pytest.warns(RuntimeWarning):
        np.exp(np.array([1000.0]))


def test_logistic_of_one_value_has_the_bits_of_the_array_formula() -> None:
    """The (1, 1) logistic runs on Python floats around numpy's exp: same bits as the array formula, quietly."""
    from portamodel.evaluate._transforms import QUIET_NORMALIZATIONS, logistic_of_negated

    values = np.concatenate(
        [RNG.standard_normal(2000) * 40, [0.0, -0.0, 709.0, 710.0, -745.0, -746.0, 1e308, -1e308, np.inf, -np.inf, np.nan]]
    )
    quiet_logistic = silenced(QUIET_NORMALIZATIONS["logistic"])
    negated = silenced(logistic_of_negated)
    with np.errstate(all="ignore"):
        want = 1.0 / (1.0 + np.exp(-values))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = np.array([quiet_logistic(np.array([[v]]))[0, 0] for v in values])
        got_negated = np.array([negated(np.array([[-v]]))[0, 0] for v in values])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_negated, want)


@pytest.mark.parametrize("name", ["logistic", "linear"])
@pytest.mark.parametrize("coefficients", [None, [[0.0, 1.0, -2.0, 0.5]]])
def test_one_linear_row_has_the_bits_of_the_array_path(name: str, coefficients: Any) -> None:
    """A single float64 row of a one-output linear model (no link or logistic) skips the
    one-element arrays (``Plan.row_value``): the same value, probabilities and label as the
    estimator's array path, with NaN, inf and overflowing scores, weights with zeros (``@``, so
    NaN * 0 stays NaN) and numpy set to raise."""
    model = MODELS[name]()
    if coefficients is not None:
        est = dataclasses.replace(model.estimator, coefficients=np.array(coefficients))
        model = dataclasses.replace(model, estimator=est)
    plan = get_plan(model)
    assert plan.row_value is not None
    X = np.concatenate([_data(300) * 50, [[np.inf, 1.0, 1.0, 1.0], [1e308, 1e308, -1e308, 0.0], [-np.inf] * 4, [0.0] * 4]])
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        for row in X:
            one = row[None, :].copy()
            p = plan.estimator(one)[0, 0]
            if model.task == "regression":
                np.testing.assert_array_equal(model.predict(one), [p])
                continue
            np.testing.assert_array_equal(model.predict_proba(one), [[1.0 - p, p]])
            assert model.predict(one)[0] == (None if p != p else model.classes[1 if 1.0 - p < p else 0])
    assert get_plan(MODELS["softmax"]()).row_value is None
    assert get_plan(MODELS[name](inputs=_inputs(order=(1, 0, 2, 3)))).row_value is None  # columns reordered


@pytest.mark.parametrize("name", ["mlp", "mlp_float32", "mlp_softmax_float32"])
def test_mlp_block_buffers_are_reused_per_thread(name: str) -> None:
    """The block buffers are kept between calls (one set per thread): repeated calls, calls of
    other sizes in between and calls from other threads at the same time give the same bits.

    Each size is compared with itself: a row scored in a batch of another size may differ in the
    last bit, since BLAS picks its kernels by shape (a one-column product is a matrix-vector
    product whose remainder rows are summed differently; seen with OpenBLAS on AVX-512)."""
    from concurrent.futures import ThreadPoolExecutor

    model = MODELS[name]()
    kernel = get_plan(model).estimator
    n = kernel.block_rows * 2 + 7  # type: ignore[attr-defined]
    m = IN_PLACE_FROM // kernel.widest + 10  # type: ignore[attr-defined]  (still blocked)
    X, Y = _data(n), _data(n)[::-1].copy() * 3.0
    want_small = outputs(model, Y[:m].copy())
    want_x, want_y = outputs(model, X), outputs(model, Y)
    buffers = kernel._local.buffers  # type: ignore[attr-defined]
    np.testing.assert_array_equal(outputs(model, Y[:m]), want_small)
    np.testing.assert_array_equal(outputs(model, X), want_x)
    assert kernel._local.buffers is buffers  # type: ignore[attr-defined]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: outputs(model, X if i % 2 else Y), range(16)))
    for i, got in enumerate(results):
        np.testing.assert_array_equal(got, want_x if i % 2 else want_y)


def test_float32_network_takes_float32_arrays_as_they_are() -> None:
    """A float32 network rounds its inputs to float32 anyway: a float32 array goes straight in and
    scores as the same values in float64 do."""
    model = MODELS["mlp_float32"]()
    X32 = _data(5000).astype(np.float32)
    assert get_plan(model).feature_matrix(X32) is X32
    np.testing.assert_array_equal(outputs(model, X32), outputs(model, X32.astype(np.float64)))
    assert get_plan(MODELS["mlp"]()).feature_matrix(X32) is not X32  # a float64 network widens them
