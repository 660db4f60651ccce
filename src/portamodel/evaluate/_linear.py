"""Linear models: ``normalize(X @ coefficients.T + intercepts)``.

One BLAS call (``ndarray.dot`` when :func:`~._transforms.dot_is_exact`: the method skips numpy's
function dispatch, which costs more than the product itself for one row; ``@`` otherwise), the
intercepts added out of place for small results and in place
for large ones, the link applied under one :func:`~._transforms.silenced` error state. A logistic link is
computed from negated coefficients (:func:`~._transforms.logistic_of_negated`: the same bits, one
pass fewer).

>>> from portamodel.ir import LinearModel
>>> f = compile_linear(LinearModel(features=("a",), coefficients=[[2.0]], intercepts=[1.0]))
>>> f(np.array([[1.0], [3.0]])).tolist()
[[3.0], [7.0]]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ..ir import LinearModel
from ._transforms import IN_PLACE_FROM, QUIET_NORMALIZATIONS, dot_is_exact, logistic_of_negated, silenced

__all__ = ["compile_linear", "compile_linear_row"]

F64 = NDArray[np.float64]


def compile_linear(est: LinearModel) -> Callable[[F64], F64]:
    """A function from the feature matrix ``(n, n_features)`` to outputs ``(n, n_outputs)``."""
    coef_t = np.ascontiguousarray(est.coefficients.T)
    intercepts = est.intercepts
    link = QUIET_NORMALIZATIONS[est.normalization]
    if est.normalization == "logistic":
        coef_t, intercepts, link = -coef_t, -intercepts, logistic_of_negated
    # one output: a Python float adds faster than a one-element array (same bits)
    bias = float(intercepts[0]) if intercepts.shape[0] == 1 else intercepts

    use_dot = dot_is_exact(coef_t)

    def run(X: F64) -> F64:
        scores = X.dot(coef_t) if use_dot else X @ coef_t
        if scores.size < IN_PLACE_FROM:
            return link(scores + bias)
        scores += bias
        return link(scores)

    return silenced(run)


def compile_linear_row(est: LinearModel) -> Callable[[F64], float] | None:
    """For a one-output model with no link or a logistic link: the output of one row
    ``(1, n_features)`` as a float (a regression value or the positive-class probability).

    The operations of :func:`compile_linear` on that row (the same bits) without the one-element
    arrays between them; None for any other model.

    >>> f = compile_linear_row(LinearModel(features=("a",), coefficients=[[2.0]], intercepts=[-2.0], normalization="logistic"))
    >>> f(np.array([[1.0]]))
    0.5
    """
    if est.normalization not in ("identity", "logistic") or est.intercepts.shape[0] != 1:
        return None
    coef_t = np.ascontiguousarray(est.coefficients.T)
    bias = float(est.intercepts[0])
    if est.normalization == "identity":
        use_dot = dot_is_exact(coef_t)

        def value(X: F64) -> float:
            return (X.dot(coef_t) if use_dot else X @ coef_t).item() + bias  # type: ignore[no-any-return]

        return silenced(value)
    coef_t, bias = -coef_t, -bias  # see logistic_of_negated
    use_dot = dot_is_exact(coef_t)

    def probability(X: F64) -> float:
        z = (X.dot(coef_t) if use_dot else X @ coef_t).item() + bias
        return 1.0 / (1.0 + float(np.exp(z)))

    return silenced(probability)
