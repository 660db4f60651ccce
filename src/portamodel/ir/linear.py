"""Linear models: ``output = normalize(X @ coefficients.T + intercepts)``.

``coefficients`` has one row per output. A regression has one output. A classifier has one output
per class, or a single output for two classes (then it is the score of ``classes[1]`` and the
probability of ``classes[0]`` is ``1 - p``).

>>> m = LinearModel(features=("a", "b"), coefficients=[[0.5, -1.0]], intercepts=[0.1])
>>> m.n_outputs
1
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ._base import IRNode, as_tuple, check, check_choice, check_names, frozen_array, ir_dataclass

__all__ = ["ELEMENTWISE", "NORMALIZATIONS", "LinearModel", "Normalization"]

Normalization = Literal[
    "identity", "logistic", "probit", "cloglog", "loglog", "cauchit", "exp",
    "softmax", "softmax_zero", "simplemax",
]  # fmt: skip

#: Output transforms shared by linear models and tree ensembles. The first group applies to each
#: output on its own; ``softmax``, ``softmax_zero`` (ONNX SOFTMAX_ZERO) and ``simplemax``
#: (divide by the sum) normalise across outputs.
ELEMENTWISE: tuple[str, ...] = ("identity", "logistic", "probit", "cloglog", "loglog", "cauchit", "exp")
NORMALIZATIONS: tuple[str, ...] = (*ELEMENTWISE, "softmax", "softmax_zero", "simplemax")


@ir_dataclass
class LinearModel(IRNode):
    """Generalised linear model over numeric ``features`` (column names)."""

    features: tuple[str, ...]
    coefficients: NDArray[np.float64]
    intercepts: NDArray[np.float64]
    normalization: Normalization = "identity"

    def __post_init__(self) -> None:
        where = "LinearModel"
        self._set("features", as_tuple(self.features, f"{where}.features"))
        check_names(self.features, f"{where}.features")
        coef = frozen_array(self.coefficients, np.float64, f"{where}.coefficients", ndim=2)
        icpt = frozen_array(self.intercepts, np.float64, f"{where}.intercepts", ndim=1)
        check(coef.shape[0] >= 1, f"{where}.coefficients", "needs at least one output row")
        check(
            coef.shape[1] == len(self.features),
            f"{where}.coefficients",
            f"shape {coef.shape} does not match {len(self.features)} features",
        )
        check(
            icpt.shape == (coef.shape[0],),
            f"{where}.intercepts",
            f"expected {coef.shape[0]} intercepts, got {icpt.shape[0]}",
        )
        check_choice(self.normalization, NORMALIZATIONS, f"{where}.normalization")
        self._set("coefficients", coef)
        self._set("intercepts", icpt)

    @property
    def n_outputs(self) -> int:
        return int(self.coefficients.shape[0])
