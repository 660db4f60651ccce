"""Shared test helpers: input sampling, prediction comparison, format round trips.

Used by every engineer's tests::

    from helpers import assert_predictions_equal, roundtrip, sample_inputs

    X = sample_inputs(model, 200, seed=0)
    back = roundtrip(model, "json", tmp_path)
    assert_predictions_equal(model, back, X)
"""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portamodel.formats import get_format
from portamodel.ir import Derive, Impute, Lookup, Model, OneHot, TreeEnsemble
from portamodel.ir.transforms import Constant, expression_refs

__all__ = ["assert_predictions_equal", "handles_missing", "roundtrip", "sample_inputs", "split_points"]


# -- input sampling -----------------------------------------------------------------------------


def split_points(model: Model) -> dict[str, list[float]]:
    """Numbers each input column is compared against: tree thresholds / set members on features
    that are model inputs, numeric OneHot categories and Lookup keys, Derive constants."""
    points: dict[str, list[float]] = {f.name: [] for f in model.inputs}
    est = model.estimator
    if isinstance(est, TreeEnsemble):
        internal = est.feature >= 0
        for node in np.flatnonzero(internal):
            name = est.features[est.feature[node]]
            if name not in points:
                continue
            if est.op[node] >= 6 and est.set_offsets is not None and est.set_values is not None:
                s = int(est.threshold[node])
                points[name].extend(est.set_values[est.set_offsets[s] : est.set_offsets[s + 1]].tolist())
            else:
                points[name].append(float(est.threshold[node]))
    for step in model.steps:
        if isinstance(step, OneHot) and step.input in points:
            points[step.input].extend(float(c) for c in step.categories if isinstance(c, (int, float)))
        elif isinstance(step, Lookup) and step.input in points:
            points[step.input].extend(float(k) for k in step.keys if isinstance(k, (int, float)))
        elif isinstance(step, Derive):
            consts = _constants(step.expression)
            for name in expression_refs(step.expression):
                if name in points:
                    points[name].extend(consts)
    return points


def _constants(expr: Any) -> list[float]:
    out: list[float] = []
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, Constant):
            if isinstance(e.value, (int, float)) and not isinstance(e.value, bool):
                out.append(float(e.value))
        elif hasattr(e, "args"):
            stack.extend(e.args)
    return out


#: Largest split point used to place probes: spreads, offsets and ranges computed from them stay finite.
_BOUND = float(np.finfo(np.float64).max) / 8
_F32_MAX = float(np.finfo(np.float32).max)
_F64_MAX = float(np.finfo(np.float64).max)


def _categories(model: Model, name: str) -> list[Any]:
    field = next(f for f in model.inputs if f.name == name)
    if field.values:
        return list(field.values)
    cats: list[Any] = []
    for step in model.steps:
        if isinstance(step, OneHot) and step.input == name:
            cats.extend(step.categories)
        elif isinstance(step, Lookup) and step.input == name:
            cats.extend(step.keys)
    cats = [c for c in dict.fromkeys(cats) if isinstance(c, str)] if field.dtype == "string" else list(dict.fromkeys(cats))
    return cats or (["a", "b", "c"] if field.dtype == "string" else [0.0, 1.0, 2.0])


def handles_missing(model: Model, name: str) -> bool:
    """Whether a missing value in input ``name`` still gives a defined prediction path.

    True for tree ensembles (every split has a missing action) and for inputs that an Impute,
    OneHot or Lookup step reads.
    """
    if isinstance(model.estimator, TreeEnsemble):
        return True
    for step in model.steps:
        if isinstance(step, Impute) and name in step.inputs:
            return True
        if isinstance(step, (OneHot, Lookup)) and step.input == name:
            return True
    return False


def sample_inputs(model: Model, n: int, seed: int = 0, *, missing: float | None = None) -> dict[str, NDArray[Any]]:
    """A dict of ``n``-row input columns valid for ``model``.

    Numeric inputs mix values at and next to the split points the model compares them with (exact
    thresholds, one float step either side, small offsets) with draws from a spread around them;
    categorical inputs draw from their categories. A share ``missing`` of each column is missing
    (NaN / None) where :func:`handles_missing` says the model copes (default 0.1 there, else 0).
    """
    rng = np.random.default_rng(seed)
    points = split_points(model)
    out: dict[str, NDArray[Any]] = {}
    for f in model.inputs:
        share = missing if missing is not None else (0.1 if handles_missing(model, f.name) else 0.0)
        share = share if handles_missing(model, f.name) or missing is not None else 0.0
        if f.dtype == "string" or f.optype != "continuous":
            cats = _categories(model, f.name)
            picks = rng.integers(0, len(cats), size=n)
            col = np.empty(n, dtype=object)
            col[:] = [cats[i] for i in picks]
            if f.dtype != "string":
                col = col.astype(np.float64)
            else:
                col[rng.random(n) < share] = None
        elif f.dtype == "boolean":
            col = rng.integers(0, 2, size=n).astype(np.float64)
        else:
            limit = _F32_MAX if f.dtype == "float" else _F64_MAX
            col = np.clip(_numbers(rng, np.array(points[f.name], dtype=np.float64), n), -limit, limit)
            if f.dtype == "integer":
                col = np.round(col)
            elif f.dtype == "float":
                col = col.astype(np.float32).astype(np.float64)  # clipped first: no value rounds to infinity
        if col.dtype == np.float64:
            col[rng.random(n) < share] = np.nan
        out[f.name] = col
    return out


def _numbers(rng: np.random.Generator, pts: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """Probes at, one step either side of (short of infinity), near and around ``pts``: finite
    however extreme the points are."""
    pts = pts[np.isfinite(pts)]
    if pts.size == 0:
        return rng.normal(0.0, 2.0, size=n)
    base = pts[rng.integers(0, pts.size, size=n)]
    pts = np.clip(pts, -_BOUND, _BOUND)  # so that every spread, offset and range below is finite
    lo, hi = float(pts.min()), float(pts.max())
    spread = max(hi - lo, 1.0)
    kind = rng.integers(0, 5, size=n)
    col = np.where(
        kind == 0,
        base,
        np.where(
            kind == 1,
            np.nextafter(base, _F64_MAX),
            np.where(
                kind == 2,
                np.nextafter(base, -_F64_MAX),
                np.where(
                    kind == 3,
                    np.clip(base, -_BOUND, _BOUND) + rng.normal(0, 0.05 * spread, size=n),
                    rng.uniform(lo - spread, hi + spread, size=n),
                ),
            ),
        ),
    )
    return col.astype(np.float64)


# -- comparison ---------------------------------------------------------------------------------


def assert_predictions_equal(
    model_a: Model,
    model_b: Model,
    X: Any,
    *,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    tie_tol: float | None = None,
) -> None:
    """Assert both models predict the same on ``X``.

    Regression values / class probabilities must agree within ``rtol``/``atol`` (NaN equals NaN).
    Labels must be identical, except on rows where model_a's two best probabilities are within
    ``tie_tol`` (default ``10 * (atol + rtol)``) of each other, where rounding may flip the argmax.
    """
    assert model_a.task == model_b.task, f"task {model_a.task!r} != {model_b.task!r}"
    assert model_a.classes == model_b.classes, f"classes {model_a.classes!r} != {model_b.classes!r}"
    ya, yb = model_a.predict(X), model_b.predict(X)
    assert ya.shape == yb.shape, f"prediction shapes {ya.shape} != {yb.shape}"
    if model_a.task == "regression":
        _assert_close(ya, yb, rtol, atol, "predictions")
        return
    pa, pb = model_a.predict_proba(X), model_b.predict_proba(X)
    assert pa.shape == pb.shape, f"probability shapes {pa.shape} != {pb.shape}"
    _assert_close(pa, pb, rtol, atol, "probabilities")
    tol = 10 * (atol + rtol) if tie_tol is None else tie_tol
    top2 = np.sort(np.nan_to_num(pa, nan=0.0), axis=1)[:, -2:] if pa.shape[1] >= 2 else np.zeros((pa.shape[0], 2))
    clear = (top2[:, 1] - top2[:, 0]) > tol
    diff = np.array([not _same_label(a, b) for a, b in zip(ya.tolist(), yb.tolist())], dtype=bool)
    bad = diff & clear
    if bad.any():
        i = int(np.argmax(bad))
        raise AssertionError(
            f"{int(bad.sum())} of {len(ya)} labels differ; first at row {i}: {ya[i]!r} != {yb[i]!r} (probabilities {pa[i]} vs {pb[i]})"
        )


def _same_label(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return (bool(a == b) and type(a) is type(b)) or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b)


def _assert_close(a: NDArray[Any], b: NDArray[Any], rtol: float, atol: float, what: str) -> None:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ok = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        idx = np.argwhere(~ok)[0]
        row = int(idx[0])
        raise AssertionError(
            f"{what} differ at {int((~ok).sum())} of {ok.size} entries; first at row {row}: {a[row]} vs {b[row]} (rtol={rtol}, atol={atol})"
        )


# -- format round trips -------------------------------------------------------------------------


def roundtrip(model: Model, fmt: str, tmp_path: pathlib.Path | None = None, **opts: Any) -> Model:
    """Write ``model`` with format ``fmt`` and read it back (from a file in ``tmp_path`` if given,
    else from the bytes). ``opts`` go to the writer."""
    module = get_format(fmt)
    data = module.write(model, **opts)
    assert isinstance(data, bytes), f"{fmt}.write returned {type(data).__name__}, expected bytes"
    if tmp_path is not None:
        path = pathlib.Path(tmp_path) / f"model{module.EXTENSIONS[0]}"
        path.write_bytes(data)
        return module.read(path)  # type: ignore[no-any-return]
    return module.read(data)  # type: ignore[no-any-return]
