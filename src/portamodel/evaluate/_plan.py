"""Compile a model once into a :class:`Plan`: input coercion, step functions, estimator function.

The plan is cached in ``model._cache["plan"]``; each call then only coerces the inputs and runs
numpy kernels. A model without steps whose inputs are all plain numbers has a fast path: a 2-D
numeric array of the right width goes straight to the estimator (cast to float64 and the columns
put in the estimator's order only when needed), without the per-column coercion; a C-contiguous
float64 array that needs neither is passed through as it is (kernels never write to their input).

:meth:`Plan.predict` and :meth:`Plan.predict_proba` finish the outputs with tables built once
(labels in their dtype), and a single row is finished with Python scalars, which costs less than
numpy's per-call overhead on one-element arrays (same comparisons, same bits).

Tree ensembles use :class:`~._forest.PerfectForest` when every split is an ordered comparison and
the trees are not too deep, :class:`~._forest.PointerForest` for deeper ones with ordered splits
(padded traversal with explicit child pointers), otherwise :class:`~._tree.TreeEvaluator` (set
splits, ``==``/``!=``); all run over row chunks, optionally on several threads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError, IRValidationError
from ..ir import MLP, LinearModel, Model, TreeEnsemble
from ._forest import PerfectForest, PointerForest
from ._inputs import coerce_inputs
from ._linear import compile_linear, compile_linear_row
from ._mlp import compile_mlp
from ._parallel import default_threads, run_chunks
from ._steps import Env, StepFn, compile_step
from ._tree import TreeEvaluator

#: (row, tree) pairs per chunk of a tree ensemble: small enough for the working arrays to stay in cache.
CHUNK_PAIRS = 1 << 15

__all__ = ["Plan", "get_plan"]

F64 = NDArray[np.float64]

_F64 = np.dtype(np.float64)


class Plan:
    """Everything needed to score one model, built once per model."""

    def __init__(self, model: Model) -> None:
        self.fields = model.inputs
        kinds = {f.name: ("number" if f.is_numeric else "string") for f in model.inputs}
        self.steps: list[StepFn] = []
        for i, step in enumerate(model.steps):
            try:
                self.steps.append(compile_step(step, kinds))
            except IRValidationError as exc:
                raise IRValidationError(exc.message, location=f"Model.steps[{i}] {exc.location or ''}".rstrip()) from None
        est = model.estimator
        self.features = est.features
        for name in self.features:
            if kinds.get(name) != "number":
                raise IRValidationError(f"feature {name!r} is not numeric", location="Model.estimator")
        self.estimator: Callable[[F64], F64]
        self.n_trees = 0  # 0: not a tree ensemble
        self.takes_float32 = False  # the estimator takes a float32 feature matrix as it is
        self.work_per_row = 0  # 0: one call for any batch (no chunks, no threads)
        self.row_value: Callable[[F64], float] | None = None  # one direct row -> its one output
        if isinstance(est, LinearModel):
            self.estimator = compile_linear(est)
            self.row_value = compile_linear_row(est)
        elif isinstance(est, MLP):
            self.estimator = compile_mlp(est)  # blocks a batch itself; BLAS brings the threads
            self.takes_float32 = est.compute_dtype == "float32"
        elif isinstance(est, TreeEnsemble):
            if PerfectForest.supports(est):
                self.estimator = PerfectForest(est)
            elif PointerForest.supports(est):
                self.estimator = PointerForest(est)
            else:
                self.estimator = TreeEvaluator(est)
            self.n_trees = self.work_per_row = est.n_trees
            # a kernel may choose its own chunk size (attribute ``rows_per_chunk``)
            self.rows_per_chunk = int(getattr(self.estimator, "rows_per_chunk", max(1, CHUNK_PAIRS // est.n_trees)))
        else:  # pragma: no cover - the IR refuses other estimators
            raise IRValidationError(f"unknown estimator {type(est).__name__}")
        self.n_outputs = est.n_outputs
        self.task = model.target.task
        self.classes = model.target.classes
        self._compile_fast_inputs(model)
        self._compile_labels()
        if not (self.direct and (self.binary or self.task == "regression")):
            self.row_value = None
        self.one_row_shape = (1, self.n_inputs)

    def _compile_fast_inputs(self, model: Model) -> None:
        """Decide whether a plain numeric 2-D array can skip the per-column coercion."""
        self.n_inputs = len(model.inputs)
        plain = not model.steps and all(f.is_numeric and (not f.values or f.optype == "continuous") for f in model.inputs)
        names = [f.name for f in model.inputs]
        self.fast = plain and set(self.features) <= set(names)
        self.fast_columns: list[int] | None = None
        self.fast_round: list[int] = []
        self.direct = False  # a C-contiguous float64 array is the feature matrix itself
        if not self.fast:
            return
        cols = [names.index(name) for name in self.features]
        self.fast_columns = None if cols == list(range(self.n_inputs)) else cols
        self.fast_round = [j for j, name in enumerate(self.features) if model.inputs[names.index(name)].dtype == "float"]
        self.direct = self.fast_columns is None and not self.fast_round

    def _compile_labels(self) -> None:
        """Label tables: ``label_table`` in the labels' dtype (object when they have none)."""
        classes = self.classes
        self.binary = self.task == "classification" and len(classes) == 2 and self.n_outputs == 1
        objects = np.empty(len(classes), dtype=object)
        objects[:] = list(classes)
        self.object_table = objects
        self.label_table = objects
        dtype = _label_dtype(classes)
        if dtype is not object:
            with contextlib.suppress(OverflowError):  # integers beyond int64 stay objects
                self.label_table = np.array(classes, dtype=dtype)

    def feature_matrix(self, X: Any) -> F64 | None:
        """The estimator's input for a plain numeric 2-D array ``X``, or None (take the general path)."""
        if type(X) is not np.ndarray or not self.fast or X.ndim != 2 or X.shape[1] != self.n_inputs:
            return None
        if X.dtype is _F64 and self.direct and X.flags.c_contiguous:
            return X
        if X.dtype.kind not in "fiub":
            return None
        if X.dtype == np.float32 and self.takes_float32 and self.fast_columns is None and X.flags.c_contiguous:
            return X  # a float32 network rounds to float32 anyway (float32 values are rounded already)
        original = X
        if self.fast_columns is not None:
            X = X[:, self.fast_columns]  # a copy
        if X.dtype != np.float64 or not X.flags.c_contiguous:
            X = np.ascontiguousarray(X, dtype=np.float64)
        if self.fast_round:
            if X is original:
                X = X.copy()
            with np.errstate(over="ignore"):
                X[:, self.fast_round] = X[:, self.fast_round].astype(np.float32)
        return X

    def columns(self, X: Any) -> tuple[Env, int]:
        """All columns (inputs and step outputs) for ``X``, and the number of rows."""
        env: Env = coerce_inputs(self.fields, X)
        n = env[self.fields[0].name].shape[0]
        for step in self.steps:
            step(env, n)
        return env, n

    def outputs(self, X: Any, threads: int | None = None) -> F64:
        """Estimator outputs after the output transform, shape ``(n, n_outputs)``."""
        if (
            self.direct
            and type(X) is np.ndarray
            and X.dtype is _F64
            and X.ndim == 2
            and X.shape[1] == self.n_inputs
            and X.flags.c_contiguous
        ):
            feats = X  # the common case first, checked inline
        else:
            feats = self.feature_matrix(X)  # type: ignore[assignment]
            if feats is None:
                env, n = self.columns(X)
                feats = np.empty((n, len(self.features)), dtype=np.float64)
                for j, name in enumerate(self.features):
                    feats[:, j] = env[name]
        n = feats.shape[0]
        if not self.work_per_row or n <= self.rows_per_chunk:
            return self.estimator(feats)
        if threads is None:
            threads = default_threads(n, self.work_per_row)
        return run_chunks(self.estimator, feats, rows_per_chunk=self.rows_per_chunk, threads=threads)

    def _one_direct_row(self, X: Any) -> bool:
        return type(X) is np.ndarray and X.shape == self.one_row_shape and X.dtype is _F64 and X.flags.c_contiguous

    def predict(self, X: Any, threads: int | None = None) -> NDArray[Any]:
        """Regression values or class labels (see :func:`portamodel.evaluate.predict`)."""
        if self.row_value is not None and self._one_direct_row(X):
            value = self.row_value(X)
            return np.array([value]) if self.task == "regression" else self._binary_label(value)
        out = self.outputs(X, threads)
        if self.task == "regression":
            return out.reshape(-1) if out.shape[1] == 1 and out.flags.c_contiguous else np.ascontiguousarray(out[:, 0])
        return self.labels(out)

    def predict_proba(self, X: Any, threads: int | None = None) -> F64:
        """Class probabilities (see :func:`portamodel.evaluate.predict_proba`)."""
        if self.task != "classification":
            raise InputError("predict_proba needs a classifier; this model is a regression (use predict)")
        if self.row_value is not None and self.binary and self._one_direct_row(X):
            p = self.row_value(X)
            return np.array([[1.0 - p, p]])
        out = self.outputs(X, threads)
        if not self.binary:
            return out
        if out.shape[0] == 1:
            p = out.item()
            return np.array([[1.0 - p, p]])
        return np.concatenate((1.0 - out, out), axis=1)

    def _binary_label(self, p: float) -> NDArray[Any]:
        """The label of one row whose positive-class probability is ``p`` (None when NaN)."""
        if p != p:
            return _one_none()
        i = 1 if 1.0 - p < p else 0
        return self.label_table[i : i + 1].copy()

    def labels(self, out: F64) -> NDArray[Any]:
        """Labels from classifier outputs: ``classes[argmax(probabilities)]``, None for NaN rows."""
        n = out.shape[0]
        if n == 1:  # Python scalars: the same comparisons as argmax (first maximum wins)
            if self.binary:
                return self._binary_label(out.item())
            row = out[0].tolist()
            if any(v != v for v in row):
                return _one_none()
            i = row.index(max(row))
            return self.label_table[i : i + 1].copy()
        if self.binary:
            col = out[:, 0]
            idx = np.less(1.0 - col, col).view(np.uint8)  # argmax of [1 - p, p]
            bad = np.isnan(col)
        else:
            idx = np.argmax(out, axis=1) if n else np.zeros(0, dtype=np.intp)
            bad = np.isnan(out).any(axis=1)  # type: ignore[assignment]
        if bad.any():
            labels = self.object_table[idx]
            labels[bad] = None
            return labels
        return self.label_table[idx]  # type: ignore[no-any-return]


def _one_none() -> NDArray[Any]:
    out = np.empty(1, dtype=object)
    out[0] = None
    return out


def _label_dtype(classes: tuple[Any, ...]) -> Any:
    if all(isinstance(c, bool) for c in classes):
        return np.bool_
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return np.int64
    if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes):
        return np.float64
    return object


def get_plan(model: Model) -> Plan:
    """The model's cached plan (compiled on first use)."""
    plan = model._cache.get("plan")
    if plan is None:
        plan = Plan(model)
        model._cache["plan"] = plan
    return plan  # type: ignore[no-any-return]
