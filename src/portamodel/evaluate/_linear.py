"""Linear models: ``normalize(X @ coefficients.T + intercepts)``.

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
from ._transforms import QUIET_NORMALIZATIONS

__all__ = ["compile_linear"]

F64 = NDArray[np.float64]


def compile_linear(est: LinearModel) -> Callable[[F64], F64]:
    """A function from the feature matrix ``(n, n_features)`` to outputs ``(n, n_outputs)``."""
    coef_t = np.ascontiguousarray(est.coefficients.T)
    intercepts = est.intercepts
    link = QUIET_NORMALIZATIONS[est.normalization]

    def run(X: F64) -> F64:
        with np.errstate(all="ignore"):  # one errstate for the whole call (each costs microseconds)
            scores = X @ coef_t
            scores += intercepts
            return link(scores)

    return run
