"""Compile a model once into a :class:`Plan`: input coercion, step functions, estimator function.

The plan is cached in ``model._cache["plan"]``; each call then only coerces the inputs and runs
numpy kernels. A model without steps whose inputs are all plain numbers has a fast path: a 2-D
numeric array of the right width goes straight to the estimator (cast to float64 and the columns
put in the estimator's order only when needed), without the per-column coercion.

Tree ensembles use :class:`~._forest.PerfectForest` when every split is an ordered comparison and
the trees are not too deep, :class:`~._forest.PointerForest` for deeper ones with ordered splits
(padded traversal with explicit child pointers), otherwise :class:`~._tree.TreeEvaluator` (set
splits, ``==``/``!=``); all run over row chunks, optionally on several threads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import IRValidationError
from ..ir import MLP, LinearModel, Model, TreeEnsemble
from ._forest import PerfectForest, PointerForest
from ._inputs import coerce_inputs
from ._linear import compile_linear
from ._mlp import compile_mlp
from ._parallel import default_threads, run_chunks
from ._steps import Env, StepFn, compile_step
from ._tree import TreeEvaluator

#: (row, tree) pairs per chunk of a tree ensemble: small enough for the working arrays to stay in cache.
CHUNK_PAIRS = 1 << 15

__all__ = ["Plan", "get_plan"]

F64 = NDArray[np.float64]


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
        self.n_trees = 0  # 0: not a tree ensemble (no chunking, no threads)
        if isinstance(est, LinearModel):
            self.estimator = compile_linear(est)
        elif isinstance(est, MLP):
            self.estimator = compile_mlp(est)
        elif isinstance(est, TreeEnsemble):
            if PerfectForest.supports(est):
                self.estimator = PerfectForest(est)
            elif PointerForest.supports(est):
                self.estimator = PointerForest(est)
            else:
                self.estimator = TreeEvaluator(est)
            self.n_trees = est.n_trees
            # a kernel may choose its own chunk size (attribute ``rows_per_chunk``)
            self.rows_per_chunk = int(getattr(self.estimator, "rows_per_chunk", max(1, CHUNK_PAIRS // est.n_trees)))
        else:  # pragma: no cover - the IR refuses other estimators
            raise IRValidationError(f"unknown estimator {type(est).__name__}")
        self.n_outputs = est.n_outputs
        self.task = model.target.task
        self.classes = model.target.classes
        self._compile_fast_inputs(model)

    def _compile_fast_inputs(self, model: Model) -> None:
        """Decide whether a plain numeric 2-D array can skip the per-column coercion."""
        self.n_inputs = len(model.inputs)
        plain = not model.steps and all(f.is_numeric and (not f.values or f.optype == "continuous") for f in model.inputs)
        names = [f.name for f in model.inputs]
        self.fast = plain and set(self.features) <= set(names)
        if not self.fast:
            return
        cols = [names.index(name) for name in self.features]
        self.fast_columns: list[int] | None = None if cols == list(range(self.n_inputs)) else cols
        rounded = [j for j, name in enumerate(self.features) if model.inputs[names.index(name)].dtype == "float"]
        self.fast_round: list[int] = rounded

    def feature_matrix(self, X: Any) -> F64 | None:
        """The estimator's input for a plain numeric 2-D array ``X``, or None (take the general path)."""
        if not self.fast or type(X) is not np.ndarray or X.ndim != 2 or X.shape[1] != self.n_inputs or X.dtype.kind not in "fiub":
            return None
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
        feats = self.feature_matrix(X)
        if feats is None:
            env, n = self.columns(X)
            feats = np.empty((n, len(self.features)), dtype=np.float64)
            for j, name in enumerate(self.features):
                feats[:, j] = env[name]
        if not self.n_trees:
            return self.estimator(feats)
        n = feats.shape[0]
        if n <= self.rows_per_chunk:
            return self.estimator(feats)
        if threads is None:
            threads = default_threads(n, self.n_trees)
        return run_chunks(self.estimator, feats, rows_per_chunk=self.rows_per_chunk, threads=threads)


def get_plan(model: Model) -> Plan:
    """The model's cached plan (compiled on first use)."""
    plan = model._cache.get("plan")
    if plan is None:
        plan = Plan(model)
        model._cache["plan"] = plan
    return plan  # type: ignore[no-any-return]
