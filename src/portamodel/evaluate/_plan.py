"""Compile a model once into a :class:`Plan`: input coercion, step functions, estimator function.

The plan is cached in ``model._cache["plan"]``; each call then only coerces the inputs and runs
numpy kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import IRValidationError
from ..ir import MLP, LinearModel, Model, TreeEnsemble
from ._inputs import coerce_inputs
from ._linear import compile_linear
from ._mlp import compile_mlp
from ._steps import Env, StepFn, compile_step
from ._tree import TreeEvaluator

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
        if isinstance(est, LinearModel):
            self.estimator = compile_linear(est)
        elif isinstance(est, MLP):
            self.estimator = compile_mlp(est)
        elif isinstance(est, TreeEnsemble):
            self.estimator = TreeEvaluator(est)
        else:  # pragma: no cover - the IR refuses other estimators
            raise IRValidationError(f"unknown estimator {type(est).__name__}")
        self.n_outputs = est.n_outputs
        self.task = model.target.task
        self.classes = model.target.classes

    def columns(self, X: Any) -> tuple[Env, int]:
        """All columns (inputs and step outputs) for ``X``, and the number of rows."""
        env: Env = coerce_inputs(self.fields, X)
        n = env[self.fields[0].name].shape[0]
        for step in self.steps:
            step(env, n)
        return env, n

    def outputs(self, X: Any) -> F64:
        """Estimator outputs after the output transform, shape ``(n, n_outputs)``."""
        env, n = self.columns(X)
        if self.features:
            feats = np.empty((n, len(self.features)), dtype=np.float64)
            for j, name in enumerate(self.features):
                feats[:, j] = env[name]
        else:
            feats = np.empty((n, 0))
        return self.estimator(feats)


def get_plan(model: Model) -> Plan:
    """The model's cached plan (compiled on first use)."""
    plan = model._cache.get("plan")
    if plan is None:
        plan = Plan(model)
        model._cache["plan"] = plan
    return plan  # type: ignore[no-any-return]
