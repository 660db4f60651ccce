"""The fast scoring paths agree with the reference evaluators, exactly where they must.

- :class:`PerfectForest` (perfect-tree level layout, block lookups, folded float32 / NaN handling)
  against :class:`TreeEvaluator` (the simple padded traversal) and the row-by-row reference of
  ``test_evaluate``, on Hypothesis models of every aggregation, operator, missing action, float32,
  weights, deep/unbalanced trees and many trees;
- threads=1 vs threads=N, chunk boundaries, single rows vs batches;
- the plain-array fast path against the general input path;
- real fitted scikit-learn forests and gradient boosting, bit for bit.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import sample_inputs
from portamodel.errors import InputError
from portamodel.evaluate import _forest, get_plan, outputs
from portamodel.evaluate._forest import PerfectForest, PointerForest, float32_threshold, tree_sum
from portamodel.evaluate._tree import TreeEvaluator
from portamodel.ir import AGGREGATIONS, Field, Model, Target, TreeEnsemble
from strategies import tree_models

_plan = importlib.import_module("portamodel.evaluate._plan")

ORDERED = ("<=", "<", ">=", ">")
OP_CODE_OF = {"<=": 0, "<": 1, ">=": 2, ">": 3}


def _reference_outputs(model: Model, X) -> np.ndarray:
    """The simple evaluator (TreeEvaluator) on the same feature matrix the plan builds."""
    plan = get_plan(model)
    env, n = plan.columns(X)
    feats = np.empty((n, len(plan.features)))
    for j, name in enumerate(plan.features):
        feats[:, j] = env[name]
    return TreeEvaluator(model.estimator)(feats)


def _assert_same(got: np.ndarray, want: np.ndarray, model: Model) -> None:
    if model.estimator.aggregation == "majority_vote" and model.estimator.tree_weights is not None:
        # the simple evaluator adds weighted votes pairwise, the fast one in tree order
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    else:
        np.testing.assert_array_equal(got, want)


# -- PerfectForest against the simple evaluator ---------------------------------------------------


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@settings(max_examples=20)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_perfect_forest_matches_reference(aggregation, data, seed):
    model = data.draw(tree_models(aggregations=(aggregation,), ops=ORDERED, max_depth=5, max_trees=6))
    assert PerfectForest.supports(model.estimator)
    X = sample_inputs(model, 60, seed=seed, missing=0.2)
    _assert_same(outputs(model, X), _reference_outputs(model, X), model)


@settings(max_examples=25)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_any_tree_model_matches_reference_all_ops(data, seed):
    """Sets and == / != go to the simple evaluator; ordered ones to PerfectForest: same answers."""
    model = data.draw(tree_models(max_depth=5, max_trees=5))
    X = sample_inputs(model, 50, seed=seed, missing=0.2)
    _assert_same(outputs(model, X), _reference_outputs(model, X), model)


@settings(max_examples=15)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_deep_unbalanced_and_many_trees(data, seed):
    model = data.draw(tree_models(ops=ORDERED, max_depth=11, max_trees=3, steps=False))
    X = sample_inputs(model, 40, seed=seed, missing=0.1)
    _assert_same(outputs(model, X), _reference_outputs(model, X), model)


def _chain(depth: int, n_trees: int, *, op: int = 0, missing: int = 0) -> TreeEnsemble:
    """Trees that are one long left spine (maximally unbalanced)."""
    feature, thr, tc, fc, miss, values, roots = [], [], [], [], [], [], []
    for t in range(n_trees):
        roots.append(len(feature))
        for d in range(depth):
            me = len(feature)
            feature += [d % 3, -1]
            thr += [d * 0.25 - 1.0 + t * 0.01, 0.0]
            tc += [me + 2, -1]
            fc += [me + 1, -1]
            miss += [missing, 0]
            values += [[0.0], [float(d + t)]]
        feature.append(-1)
        thr.append(0.0)
        tc.append(-1)
        fc.append(-1)
        miss.append(0)
        values.append([100.0 + t])
    n = len(feature)
    return TreeEnsemble(
        features=("a", "b", "c"), roots=roots, feature=feature, threshold=thr, op=[op] * n,
        true_child=tc, false_child=fc, missing=miss, values=values, aggregation="sum",
    )  # fmt: skip


@pytest.mark.parametrize(("depth", "missing", "engine"), [(9, 1, PerfectForest), (40, 1, PointerForest), (40, 3, TreeEvaluator)])
def test_long_spines_every_engine(depth, missing, engine):
    est = _chain(depth, 20, missing=missing)
    model = Model(inputs=tuple(Field(name=n) for n in "abc"), target=Target(name="y", task="regression"), estimator=est)
    assert type(get_plan(model).estimator) is engine
    X = np.random.default_rng(depth).uniform(-2, 9, size=(300, 3))
    X[::11, 1] = np.nan
    np.testing.assert_array_equal(outputs(model, X), _reference_outputs(model, X))
    np.testing.assert_array_equal(outputs(model, X[:1]), _reference_outputs(model, X[:1]))


def test_perfect_forest_refuses_what_it_cannot_take():
    with pytest.raises(ValueError, match="PerfectForest"):
        PerfectForest(_chain(40, 2))
    with pytest.raises(ValueError, match="PointerForest"):
        PointerForest(_chain(5, 2, missing=3))


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])  # the patch is the same for every example
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_pointer_forest_matches_reference(data, seed, monkeypatch):
    """Every ordered-split model through the explicit-pointer engine (perfect layout switched off)."""
    monkeypatch.setattr(_forest, "MAX_PERFECT_DEPTH", -1)
    model = data.draw(tree_models(ops=ORDERED, missing_actions=("false_child", "true_child"), max_depth=6, max_trees=5))
    assert isinstance(get_plan(model).estimator, PointerForest)
    X = sample_inputs(model, 50, seed=seed, missing=0.2)
    _assert_same(outputs(model, X), _reference_outputs(model, X), model)


# -- threads, chunks, single rows -----------------------------------------------------------------


@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])  # the patch is the same for every example
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_threads_chunks_and_single_rows_agree(data, seed, monkeypatch_chunks):
    model = data.draw(tree_models(max_depth=6, max_trees=8, steps=False))
    X = sample_inputs(model, 203, seed=seed, missing=0.15)
    whole = outputs(model, X, threads=1)
    for threads in (2, 3):
        np.testing.assert_array_equal(outputs(model, X, threads=threads), whole)
    rows = [outputs(model, {k: v[i : i + 1] for k, v in X.items()}) for i in (0, 1, 101, 202)]
    np.testing.assert_array_equal(np.concatenate(rows), whole[[0, 1, 101, 202]])


@pytest.fixture
def monkeypatch_chunks(monkeypatch):
    """Tiny chunks (7 pairs) so a few hundred rows cross many chunk boundaries."""
    monkeypatch.setattr(_plan, "CHUNK_PAIRS", 7)
    monkeypatch.setattr(_forest, "CHUNK_PAIRS", 7)
    monkeypatch.setattr(_forest, "SMALL_BATCH", 3)


@pytest.mark.parametrize("n", [1, 2, 3, 8, 9, 10, 63, 64, 65, 1000])
def test_every_batch_size_matches_row_by_row(n):
    est = _sklearn_forest()
    model, rf, X = est
    Xn = np.resize(X, (n, X.shape[1]))
    batch = model.predict_proba(Xn)
    np.testing.assert_array_equal(batch, rf.predict_proba(Xn))
    if n <= 10:
        single = np.concatenate([model.predict_proba(Xn[i : i + 1]) for i in range(n)])
        np.testing.assert_array_equal(single, batch)


def test_threads_option_is_checked():
    model, _, X = _sklearn_forest()
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(InputError, match="threads"):
            model.predict(X[:2], threads=bad)
    with pytest.raises(InputError, match="unknown option"):
        model.predict(X[:2], thread=2)
    np.testing.assert_array_equal(model.predict(X, threads=2), model.predict(X, threads=1))


# -- the plain-array fast path --------------------------------------------------------------------


def test_plain_array_fast_path_equals_general_path():
    model, rf, X = _sklearn_forest()
    plan = get_plan(model)
    assert plan.fast
    cols = {f"x{i}": X[:, i] for i in range(X.shape[1])}  # general path
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(cols))
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(model.predict_proba(X32), model.predict_proba({k: v.astype(np.float32) for k, v in cols.items()}))
    Xf = np.asfortranarray(X)
    np.testing.assert_array_equal(model.predict_proba(Xf), model.predict_proba(X))
    Xi = np.round(X * 3).astype(np.int64)
    np.testing.assert_array_equal(model.predict_proba(Xi), rf.predict_proba(Xi.astype(np.float64)))
    before = X.copy()
    model.predict_proba(X)
    np.testing.assert_array_equal(X, before)  # never modified


def test_fast_path_reorders_columns_and_rounds_float_fields():
    from portamodel.ir import LinearModel

    est = LinearModel(features=("b", "a"), coefficients=[[1.0, 1e9]], intercepts=[0.0])
    model = Model(
        inputs=(Field(name="a", dtype="float"), Field(name="b")),
        target=Target(name="y", task="regression"),
        estimator=est,
    )
    assert get_plan(model).fast
    X = np.array([[0.1, 2.0], [1.0 / 3.0, -1.0]])
    want = X[:, 1] + 1e9 * X[:, 0].astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(model.predict(X), want)
    np.testing.assert_array_equal(model.predict({"a": X[:, 0], "b": X[:, 1]}), want)
    assert X[0, 0] == 0.1  # the caller's array is untouched


# -- exactness building blocks --------------------------------------------------------------------


def test_float32_threshold_is_exact_around_every_boundary():
    """float32(x) <= t  <=>  x <= float32_threshold(t), probed at and around every rounding boundary."""
    rng = np.random.default_rng(0)
    f32max = float(np.finfo(np.float32).max)
    edge = f32max + 2.0**103  # the first float64 that rounds to inf in float32
    t = np.concatenate(
        [
            rng.normal(size=300),
            rng.normal(size=100) * 1e-40,
            rng.normal(size=100) * 1e37,
            [0.0, -0.0, f32max, -f32max, 1e300, -1e300, 5e-324],
        ]
    )
    with np.errstate(over="ignore"):
        t = np.concatenate([t, t.astype(np.float32).astype(np.float64)])
        t = t[np.isfinite(t)]
        tp = float32_threshold(t)
        f = t.astype(np.float32)
        up = np.nextafter(f, np.float32(np.inf)).astype(np.float64)
        mid = (f.astype(np.float64) + up) / 2
        centres = [t, tp, f.astype(np.float64), mid, np.full_like(t, edge), np.full_like(t, -edge)]
        probes = []
        for c in centres:
            for direction in (np.inf, -np.inf):
                x = c.copy()
                for _ in range(3):
                    probes.append(x)
                    x = np.nextafter(x, direction)
        x = np.stack(probes)
        ok = np.isfinite(x)
        want = x.astype(np.float32).astype(np.float64) <= t
    got = x <= tp
    np.testing.assert_array_equal(got[ok], want[ok])


def test_tree_sum_is_sequential_for_every_shape():
    rng = np.random.default_rng(1)
    for shape in [(5, 1), (5, 2), (300, 1), (300, 3), (300, 1000)]:
        a = rng.normal(size=shape) * 10.0 ** rng.integers(-8, 17, size=shape)
        seq = a[0].copy()
        for row in a[1:]:
            seq = seq + row
        np.testing.assert_array_equal(tree_sum(a), seq)
        a32 = a.astype(np.float32)
        seq32 = a32[0].copy()
        for row in a32[1:]:
            seq32 = seq32 + row
        np.testing.assert_array_equal(tree_sum(a32), seq32)


# -- scikit-learn, bit for bit ---------------------------------------------------------------------

sklearn = pytest.importorskip("sklearn")

_CACHE: dict[str, object] = {}


def _sklearn_forest():
    if "rf" not in _CACHE:
        from sklearn.datasets import make_classification
        from sklearn.ensemble import RandomForestClassifier

        import portamodel

        X, y = make_classification(n_samples=600, n_features=8, n_informative=5, n_classes=3, random_state=0)
        rf = RandomForestClassifier(n_estimators=30, max_depth=7, random_state=0).fit(X, y)
        _CACHE["rf"] = (portamodel.from_sklearn(rf), rf, X)
    return _CACHE["rf"]


def _near_thresholds(est_trees, X, rng, n=400):
    thr = np.concatenate([t.tree_.threshold[t.tree_.children_left >= 0] for t in est_trees])
    thr = thr[np.abs(thr) < 1e30]  # (scikit-learn's split of "missing vs all" has an infinite threshold)
    rows = X[rng.integers(0, len(X), size=n)].copy()
    cols = rng.integers(0, X.shape[1], size=n)
    picks = thr[rng.integers(0, len(thr), size=n)]
    f32 = picks.astype(np.float32).astype(np.float64)
    choice = rng.integers(0, 4, size=n)
    rows[np.arange(n), cols] = np.select(
        [choice == 0, choice == 1, choice == 2], [picks, np.nextafter(picks, np.inf), f32], np.nextafter(f32, -np.inf)
    )
    rows[rng.random(size=rows.shape) < 0.05] = np.nan
    return np.vstack([X, rows])


def test_sklearn_random_forest_exact_with_missing_values():
    from sklearn.datasets import make_classification, make_regression
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    import portamodel

    model, rf, X = _sklearn_forest()
    assert isinstance(get_plan(model).estimator, PerfectForest)
    Xt = _near_thresholds(rf.estimators_, X, np.random.default_rng(0))
    for threads in (1, 2):
        np.testing.assert_array_equal(model.predict_proba(Xt, threads=threads), rf.predict_proba(Xt))
    np.testing.assert_array_equal(model.predict(Xt), rf.predict(Xt))
    # trained with missing values: learned NaN directions both ways
    Xr, yr = make_regression(n_samples=500, n_features=5, random_state=1)
    Xr[np.random.default_rng(1).random(Xr.shape) < 0.1] = np.nan
    rr = RandomForestRegressor(n_estimators=25, max_depth=9, random_state=0).fit(Xr, yr)
    mr = portamodel.from_sklearn(rr)
    Xt = _near_thresholds(rr.estimators_, np.nan_to_num(Xr), np.random.default_rng(2))
    np.testing.assert_array_equal(mr.predict(Xt), rr.predict(Xt))
    np.testing.assert_array_equal(mr.predict(Xt[:1]), rr.predict(Xt[:1]))
    Xc, yc = make_classification(n_samples=500, n_features=6, random_state=3)
    deep = RandomForestClassifier(n_estimators=10, random_state=0).fit(Xc, yc)  # fully grown
    md = portamodel.from_sklearn(deep)
    Xt = _near_thresholds(deep.estimators_, Xc, np.random.default_rng(3))
    np.testing.assert_array_equal(md.predict_proba(Xt), deep.predict_proba(Xt))


def test_sklearn_gradient_boosting_exact():
    from sklearn.datasets import make_classification, make_regression
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    import portamodel

    Xr, yr = make_regression(n_samples=400, n_features=6, noise=3.0, random_state=4)
    gbr = GradientBoostingRegressor(n_estimators=120, max_depth=4, random_state=0).fit(Xr, yr)
    model = portamodel.from_sklearn(gbr)
    assert isinstance(get_plan(model).estimator, PerfectForest)
    Xt = _near_thresholds([t[0] for t in gbr.estimators_], Xr, np.random.default_rng(4))
    Xt = np.nan_to_num(Xt)
    np.testing.assert_array_equal(model.predict(Xt), gbr.predict(Xt))
    np.testing.assert_array_equal(model.predict(Xt, threads=2), gbr.predict(Xt))
    np.testing.assert_array_equal(model.predict(Xt[:1]), gbr.predict(Xt[:1]))
    Xc, yc = make_classification(n_samples=400, n_features=5, n_informative=3, n_classes=3, random_state=5)
    gbc = GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0).fit(Xc, yc)
    mc = portamodel.from_sklearn(gbc)
    Xt = np.nan_to_num(_near_thresholds([t[0] for t in gbc.estimators_], Xc, np.random.default_rng(5)))
    np.testing.assert_allclose(mc.predict_proba(Xt), gbc.predict_proba(Xt), rtol=1e-14, atol=1e-16)
    np.testing.assert_array_equal(mc.predict(Xt), gbc.predict(Xt))


# -- the benchmark runner --------------------------------------------------------------------------


@pytest.mark.slow
def test_benchmark_quick_runs():
    """``python -m benchmarks --quick`` runs and prints its table (no assertion on any time)."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "rf", "--only", "linear", "--only", "mlp", "--repeat", "1"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| figure" in out.stdout
    assert "RF 10 trees depth 6: 1 row vs scikit-learn" in out.stdout


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_threads_work_in_a_forked_child():
    """A child forked after the pool started gets fresh threads instead of waiting forever."""
    import multiprocessing

    model, _, X = _sklearn_forest()
    big = np.resize(X, (3000, X.shape[1]))
    want = model.predict_proba(big, threads=2)  # starts the pool in this process
    ctx = multiprocessing.get_context("fork")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running (Python 3.12+)
        with ctx.Pool(1) as pool:
            got = pool.apply_async(_score_in_child, (model, big)).get(timeout=120)
    np.testing.assert_array_equal(got, want)


def _score_in_child(model, X):
    return model.predict_proba(X, threads=2)


@pytest.mark.parametrize("n", [1, 5])
def test_missing_inputs_propagate_through_zero_weights(n):
    """NaN * 0 is NaN: the plain-array fast path keeps IEEE propagation (ndarray.dot would not)."""
    from portamodel.ir import MLP, DenseLayer, LinearModel

    reg = Target(name="y", task="regression")
    inputs = (Field(name="a"), Field(name="b"))
    linear = Model(inputs=inputs, target=reg, estimator=LinearModel(features=("a", "b"), coefficients=[[0.0, 1.0]], intercepts=[0.0]))
    mlp = Model(
        inputs=inputs,
        target=reg,
        estimator=MLP(features=("a", "b"), layers=(DenseLayer(weights=[[0.0], [1.0]], biases=[0.0], activation="identity"),)),
    )
    X = np.tile([[np.nan, 1.0]], (n, 1))
    for model in (linear, mlp):
        assert np.isnan(model.predict(X)).all()
        assert np.isnan(model.predict({"a": X[:, 0], "b": X[:, 1]})).all()
    one = Model(inputs=inputs[:1], target=reg, estimator=LinearModel(features=("a",), coefficients=[[0.0]], intercepts=[0.0]))
    got = one.predict(np.tile([[np.inf], [np.nan], [2.0]], (n, 1)))
    np.testing.assert_array_equal(got, np.tile([np.nan, np.nan, 0.0], n))


def _stumps(thresholds, op: int, missing: int, input_dtype: str) -> TreeEnsemble:
    """One stump per threshold on feature 0; tree k adds 2**k when its comparison holds, so the sum
    spells out every decision."""
    n = len(thresholds)
    feature, thr, tc, fc, values, roots = [], [], [], [], [], []
    for k, t in enumerate(thresholds):
        roots.append(3 * k)
        feature += [0, -1, -1]
        thr += [float(t), 0.0, 0.0]
        tc += [3 * k + 1, -1, -1]
        fc += [3 * k + 2, -1, -1]
        values += [[0.0], [float(2**k)], [0.0]]
    return TreeEnsemble(
        features=("x",), roots=roots, feature=feature, threshold=thr, op=[op] * (3 * n),
        true_child=tc, false_child=fc, missing=[missing, 0, 0] * n, values=values,
        aggregation="sum", input_dtype=input_dtype,
    )  # fmt: skip


@pytest.mark.parametrize("input_dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", ORDERED)
@pytest.mark.parametrize("missing", [0, 1])
def test_batch_path_exact_at_threshold_boundaries(input_dtype, op, missing):
    """Batches (cast once to float32 for float32 models, float32 thresholds) decide exactly as the
    reference at and around every rounding boundary, for NaN, +-inf, huge values and values that
    round to float32 max / inf; single rows (float64 blocks) agree too."""
    f32max = float(np.finfo(np.float32).max)
    F64MAX = float(np.finfo(np.float64).max)  # nextafter(-max, -inf) overflows to -inf (quietly)
    edge = f32max + 2.0**103  # the first float64 rounding to inf in float32
    rng = np.random.default_rng(7)
    with np.errstate(over="ignore"):
        base = np.concatenate(
            [rng.normal(size=12), rng.normal(size=4) * 1e-40, rng.normal(size=4) * 1e37,
             [0.0, -0.0, f32max, -f32max, 1e300, -1e300, 5e-324, edge, -edge, 0.1, F64MAX, -F64MAX]]
        )  # fmt: skip
        t32 = base.astype(np.float32).astype(np.float64)
        up = np.nextafter(base.astype(np.float32), np.float32(np.inf)).astype(np.float64)
        mid = (t32 + up) / 2
    thresholds = np.concatenate([base, t32, mid])
    thresholds = thresholds[np.isfinite(thresholds)]  # the IR refuses infinite thresholds
    probes = [thresholds, np.array([np.nan, np.inf, -np.inf, edge, -edge, 1e300, -1e300, f32max, -f32max])]
    for c in (thresholds, mid):
        for direction in (np.inf, -np.inf):
            x = c.copy()
            for _ in range(3):
                with np.errstate(over="ignore"):
                    x = np.nextafter(x, direction)
                probes.append(x)
    X = np.concatenate(probes)[:, None]
    assert X.shape[0] > _forest.SMALL_BATCH
    for start in range(0, thresholds.shape[0], 50):  # 2**k stays exact for k < 53
        est = _stumps(thresholds[start : start + 50], OP_CODE_OF[op], missing, input_dtype)
        model = Model(inputs=(Field(name="x"),), target=Target(name="y", task="regression"), estimator=est)
        assert type(get_plan(model).estimator) is PerfectForest
        want = TreeEvaluator(est)(X)
        np.testing.assert_array_equal(outputs(model, X), want)
        np.testing.assert_array_equal(np.concatenate([outputs(model, X[i : i + 1]) for i in range(0, X.shape[0], 37)]), want[::37])


def test_run_chunks_keeps_order_when_threads_finish_out_of_order():
    import time

    from portamodel.evaluate._parallel import run_chunks

    X = np.arange(40.0).reshape(20, 2)

    def slow_first(chunk):
        if chunk[0, 0] < 8:  # the first chunks are the slowest: later ones finish first
            time.sleep(0.02)
        return chunk * 2.0

    for threads in (1, 2, 3, 8):
        np.testing.assert_array_equal(run_chunks(slow_first, X, rows_per_chunk=3, threads=threads), X * 2.0)

    def fails(chunk):
        if chunk[0, 0] == 24.0:
            raise InputError("bad chunk")
        return chunk

    with pytest.raises(InputError, match="bad chunk"):
        run_chunks(fails, X, rows_per_chunk=3, threads=3)


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@settings(max_examples=15)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_single_rows_match_reference(aggregation, data, seed):
    """The one-row path (a gather per block, the tree-order sum of one row) row by row."""
    model = data.draw(tree_models(aggregations=(aggregation,), ops=ORDERED, max_depth=9, max_trees=6, steps=False))
    X = sample_inputs(model, 6, seed=seed, missing=0.25)
    want = _reference_outputs(model, X)
    got = np.concatenate([outputs(model, {k: v[i : i + 1] for k, v in X.items()}) for i in range(want.shape[0])])
    _assert_same(got, want, model)
