"""scikit-learn transformers -> IR steps (scalers, imputers, encoders, pipelines, column transformers).

Each converter takes the fitted transformer, the names of the columns it reads and the shared
:class:`~portamodel.importers.sklearn_columns.Columns`; it appends IR steps and returns the names of
the columns it outputs, in scikit-learn's output order. The arithmetic mirrors scikit-learn's so
results are bit-identical: ``StandardScaler`` is ``(x - mean) / scale``, ``MinMaxScaler`` is
``x * scale + min``.

Called by :func:`portamodel.sklearn.from_sklearn`; scikit-learn must be installed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..ir import Affine, Apply, Constant, Derive, FieldRef, Impute, Lookup, OneHot
from .sklearn_columns import NUMERIC, STRING, Columns, unsupported

__all__ = ["check_fitted", "convert_transformer", "is_missing_value"]

Converter = Callable[[Any, list[str], Columns, str], list[str]]


def check_fitted(obj: Any, where: str) -> None:
    """Raise UnsupportedFeatureError if ``obj`` is not fitted."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(obj)
    except NotFittedError:
        raise unsupported(obj, "the estimator is not fitted; call fit() first", where) from None
    except TypeError as exc:  # not an estimator at all
        raise unsupported(obj, f"not a scikit-learn estimator ({exc})", where) from None


def is_missing_value(value: Any) -> bool:
    """None or a float NaN (the two spellings of 'missing' in scikit-learn categories)."""
    if value is None:
        return True
    try:
        return isinstance(value, (float, np.floating)) and math.isnan(value)
    except TypeError:  # pragma: no cover - exotic objects
        return False


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (str, bytes)) else value


def _category_kind(categories: Sequence[Any], obj: Any, where: str) -> str:
    """``"string"`` if every category is a string, ``"numeric"`` if every one is a number."""
    if all(isinstance(c, str) for c in categories):
        return STRING
    if all(isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, (bool, np.bool_)) for c in categories):
        return NUMERIC
    kinds = sorted({type(c).__name__ for c in categories})
    raise unsupported(obj, f"categories must be all strings or all numbers, got {', '.join(kinds)}", where)


def _need(cols: Columns, name: str, kind: str, where: str) -> None:
    if kind == STRING:
        cols.need_string(name, where=where)
    else:
        cols.need_numeric(name, where=where)


def _missing_indicator(cols: Columns, source: str, base: str) -> str:
    """Define a 0/1 column that is 1 where ``source`` is missing."""
    out = cols.fresh(base)
    expr = Apply(
        function="if",
        args=(Apply(function="isMissing", args=(FieldRef(name=source),)), Constant(value=1.0), Constant(value=0.0)),
    )
    cols.add(Derive(output=out, expression=expr, dtype="double"), [NUMERIC])
    return out


# -- scalers --------------------------------------------------------------------------------------
def _affine(
    cols: Columns,
    names: list[str],
    where: str,
    suffix: str,
    *,
    offset: Any = None,
    scale: Any = None,
    shift: Any = None,
    divide: bool,
) -> list[str]:
    for n in names:
        cols.need_numeric(n, where=where)
    outs = cols.fresh_many([f"{n}_{suffix}" for n in names])
    k = len(names)
    cols.add(
        Affine(
            inputs=tuple(names),
            outputs=tuple(outs),
            offset=np.zeros(k) if offset is None else np.asarray(offset, dtype=np.float64),
            scale=np.ones(k) if scale is None else np.asarray(scale, dtype=np.float64),
            shift=None if shift is None else np.asarray(shift, dtype=np.float64),
            divide=divide,
        ),
        [NUMERIC] * k,
    )
    return outs


def _check_width(t: Any, names: list[str], where: str) -> None:
    n = getattr(t, "n_features_in_", len(names))
    if n != len(names):
        raise unsupported(t, f"fitted on {n} columns but receives {len(names)}", where)


def _standard_scaler(t: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    _check_width(t, names, where)
    offset = t.mean_ if t.with_mean else None
    scale = t.scale_ if t.with_std else None
    if offset is None and scale is None:
        for n in names:
            cols.need_numeric(n, where=where)
        return list(names)
    return _affine(cols, names, where, "scaled", offset=offset, scale=scale, divide=True)


def _robust_scaler(t: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    _check_width(t, names, where)
    offset = t.center_ if t.with_centering else None
    scale = t.scale_ if t.with_scaling else None
    if offset is None and scale is None:
        for n in names:
            cols.need_numeric(n, where=where)
        return list(names)
    return _affine(cols, names, where, "scaled", offset=offset, scale=scale, divide=True)


def _max_abs_scaler(t: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    _check_width(t, names, where)
    return _affine(cols, names, where, "scaled", scale=t.scale_, divide=True)


def _min_max_scaler(t: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    _check_width(t, names, where)
    outs = _affine(cols, names, where, "scaled", scale=t.scale_, shift=t.min_, divide=False)
    if not getattr(t, "clip", False):
        return outs
    lo, hi = (float(v) for v in t.feature_range)
    clipped = []
    for o in outs:
        name = cols.fresh(f"{o}_clipped")
        expr = Apply(
            function="min",
            args=(Apply(function="max", args=(FieldRef(name=o), Constant(value=lo))), Constant(value=hi)),
        )
        cols.add(Derive(output=name, expression=expr, dtype="double"), [NUMERIC])
        clipped.append(name)
    return clipped


# -- imputation -----------------------------------------------------------------------------------
def _simple_imputer(t: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    _check_width(t, names, where)
    if not is_missing_value(t.missing_values):
        raise unsupported(t, f"missing_values={t.missing_values!r} is not supported (only NaN / None)", where)
    keep, values, kinds = [], [], []
    for name, stat in zip(names, t.statistics_):
        stat = _plain(stat)
        if is_missing_value(stat):
            if getattr(t, "keep_empty_features", False):  # pragma: no cover - sklearn stores 0 then
                raise unsupported(t, f"no fill value for column {name!r}", where)
            continue  # scikit-learn drops columns that were all missing during fit
        kind = STRING if isinstance(stat, str) else NUMERIC
        if kind == NUMERIC and not isinstance(stat, (int, float)):
            raise unsupported(t, f"fill value {stat!r} for column {name!r} is neither a string nor a number", where)
        _need(cols, name, kind, where)
        keep.append(name)
        values.append(stat if kind == STRING else float(stat))
        kinds.append(kind)
    outs: list[str] = []
    if keep:
        outs = cols.fresh_many([f"{n}_imputed" for n in keep])
        cols.add(Impute(inputs=tuple(keep), outputs=tuple(outs), values=tuple(values)), kinds)
    if getattr(t, "add_indicator", False):
        indicator = t.indicator_
        for j in indicator.features_:
            outs.append(_missing_indicator(cols, names[int(j)], f"missingindicator_{names[int(j)]}"))
    return outs


def _missing_indicator_transformer(t: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    _check_width(t, names, where)
    if not is_missing_value(t.missing_values):
        raise unsupported(t, f"missing_values={t.missing_values!r} is not supported (only NaN / None)", where)
    return [_missing_indicator(cols, names[int(j)], f"missingindicator_{names[int(j)]}") for j in t.features_]


# -- encoders -------------------------------------------------------------------------------------
def _one_hot_encoder(t: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    _check_width(t, names, where)
    if getattr(t, "_infrequent_enabled", False):
        raise unsupported(t, "infrequent categories (min_frequency / max_categories) are not supported", where)
    unknown = "error" if t.handle_unknown == "error" else "ignore"
    drop_idx = getattr(t, "drop_idx_", None)
    result: list[str] = []
    for j, (name, cats) in enumerate(zip(names, t.categories_)):
        cats = [_plain(c) for c in cats]
        normal = [c for c in cats if not is_missing_value(c)]
        n_missing = len(cats) - len(normal)
        if n_missing > 1:
            raise unsupported(t, f"column {name!r} has both None and NaN as categories", where)
        if normal:
            kind = _category_kind(normal, t, where)
            _need(cols, name, kind, where)
        cols.mark_categorical(name)
        drop = None if drop_idx is None or drop_idx[j] is None else int(drop_idx[j])
        per_cat: list[str | None] = [None] * len(cats)
        if normal:
            outs = cols.fresh_many([f"{name}_{c}" for c in normal])
            cols.add(
                OneHot(input=name, categories=tuple(normal), outputs=tuple(outs), unknown=unknown),  # type: ignore[arg-type]
                [NUMERIC] * len(outs),
            )
            it = iter(outs)
            per_cat = [None if is_missing_value(c) else next(it) for c in cats]
        for i, c in enumerate(cats):
            if is_missing_value(c) and i != drop:
                per_cat[i] = _missing_indicator(cols, name, f"{name}_nan")
        result.extend(o for i, o in enumerate(per_cat) if i != drop and o is not None)
    return result


def _ordinal_encoder(t: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    _check_width(t, names, where)
    if getattr(t, "_infrequent_enabled", False):
        raise unsupported(t, "infrequent categories (min_frequency / max_categories) are not supported", where)
    use_encoded = t.handle_unknown == "use_encoded_value"
    unknown_value: Any = getattr(t, "unknown_value", None)
    unknown = float(unknown_value) if use_encoded and not is_missing_value(unknown_value) else None
    encoded_missing = getattr(t, "encoded_missing_value", np.nan)
    outs = []
    for name, cats in zip(names, t.categories_):
        cats = [_plain(c) for c in cats]
        codes = {i: c for i, c in enumerate(cats) if not is_missing_value(c)}
        if codes:
            _need(cols, name, _category_kind(list(codes.values()), t, where), where)
        cols.mark_categorical(name)
        # A value missing at fit time is a category encoded as encoded_missing_value; otherwise a
        # missing value is just unknown.
        missing = unknown
        if len(codes) < len(cats):
            missing = None if is_missing_value(encoded_missing) else float(encoded_missing)
        out = cols.fresh(f"{name}_encoded")
        cols.add(
            Lookup(
                input=name,
                output=out,
                keys=tuple(codes.values()),
                values=tuple(float(i) for i in codes),
                default=unknown,
                missing=missing,
                unknown="default" if use_encoded else "error",
            ),
            [NUMERIC],
        )
        outs.append(out)
    return outs


# -- composition ----------------------------------------------------------------------------------
def _function_transformer(t: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    if t.func is not None:
        raise unsupported(t, f"a custom function ({getattr(t.func, '__name__', t.func)!r}) cannot be exported", where)
    return list(names)


def _pipeline(t: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    for step_name, step in t.steps:
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        names = convert_transformer(step, names, cols, f"{where}.steps[{step_name!r}]")
    return names


def _column_transformer(t: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    _check_width(t, names, where)
    weights = t.transformer_weights or {}
    if any(float(w) != 1.0 for w in weights.values()):
        raise unsupported(t, "transformer_weights other than 1 are not supported", where)
    to_indices = getattr(t, "_transformer_to_input_indices", None)
    if to_indices is None:  # pragma: no cover - scikit-learn < 1.2
        raise unsupported(t, "this scikit-learn version does not record the selected columns", where)
    pieces: list[tuple[int, str, list[str]]] = []
    for order, (name, trans, _) in enumerate(t.transformers_):
        sub_where = f"{where}.transformers[{name!r}]"
        if isinstance(trans, str) and trans == "drop":
            continue
        idx = [int(i) for i in to_indices.get(name, [])]
        if not idx:
            continue
        sub = [names[i] for i in idx]
        # passthrough columns keep their names; their kind is decided by whoever reads them
        passthrough = isinstance(trans, str) and trans == "passthrough"
        out = sub if passthrough else convert_transformer(trans, sub, cols, sub_where)
        sl = getattr(t, "output_indices_", {}).get(name)
        if sl is not None and sl.stop - sl.start != len(out):
            raise unsupported(trans, f"produced {len(out)} columns where scikit-learn produces {sl.stop - sl.start}", sub_where)
        start = sl.start if sl is not None else order
        pieces.append((start, name, out))
    pieces.sort(key=lambda p: p[0])
    return [n for _, _, out in pieces for n in out]


def convert_transformer(t: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    """Append the IR steps for fitted transformer ``t`` reading ``names``; return its output columns."""
    table = _table()
    converter = table.get(type(t))
    if converter is None:
        raise unsupported(t, "this transformer is not supported by portamodel.from_sklearn", where)
    check_fitted(t, where)
    return converter(t, list(names), cols, where)


def _table() -> dict[type, Converter]:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        MaxAbsScaler,
        MinMaxScaler,
        OneHotEncoder,
        OrdinalEncoder,
        RobustScaler,
        StandardScaler,
    )

    return {
        StandardScaler: _standard_scaler,
        MinMaxScaler: _min_max_scaler,
        MaxAbsScaler: _max_abs_scaler,
        RobustScaler: _robust_scaler,
        SimpleImputer: _simple_imputer,
        MissingIndicator: _missing_indicator_transformer,
        OneHotEncoder: _one_hot_encoder,
        OrdinalEncoder: _ordinal_encoder,
        FunctionTransformer: _function_transformer,
        Pipeline: _pipeline,
        ColumnTransformer: _column_transformer,
    }
