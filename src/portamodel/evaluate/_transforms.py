"""Output transforms (link / normalisation functions) and neural-network activations.

All functions take and return float64 arrays and never warn: overflow saturates (``exp`` of a huge
number is ``inf``, the logistic of ``-inf`` is 0) and NaN propagates.

>>> float(normal_cdf(np.array([0.0]))[0])
0.5
>>> apply_normalization("softmax", np.array([[0.0, 0.0]])).tolist()
[[0.5, 0.5]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ACTIVATION_FUNCTIONS",
    "IN_PLACE_FROM",
    "NORMALIZATION_FUNCTIONS",
    "apply_activation",
    "apply_normalization",
    "dot_is_exact",
    "erfc",
    "logistic",
    "logistic_of_negated",
    "normal_cdf",
    "silenced",
    "softmax",
    "softmax_zero",
]

F64 = NDArray[np.float64]
R = TypeVar("R")

# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 1969
# (netlib specfun CALERF); about 18 significant digits before rounding.
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_C = (
    5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
    8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
    2.15311535474403846e-8,
)  # fmt: skip
_D = (
    1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
    3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03,
)  # fmt: skip
_P = (
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
    1.63153871373020978e-2,
)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1, 6.05183413124413191e-2, 2.33520497626869185e-3)
_SQRPI = 5.6418958354775628695e-1  # 1 / sqrt(pi)
_XBIG = 26.543


def erfc(x: F64) -> F64:
    """Complementary error function, vectorised (Cody's algorithm, ~1e-16 relative error).

    >>> [round(float(v), 12) for v in erfc(np.array([-1.0, 0.0, 1.0]))]
    [1.84270079295, 1.0, 0.15729920705]
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.abs(x)
    out = np.empty_like(x)
    with np.errstate(all="ignore"):
        # |x| <= 0.46875: erfc = 1 - erf, erf from a rational function of x^2.
        m = y <= 0.46875
        if m.any():
            xs = x[m]
            ysq = np.where(np.abs(xs) > 1.11e-16, xs * xs, 0.0)
            num, den = _A[4] * ysq, ysq
            for i in range(3):
                num = (num + _A[i]) * ysq
                den = (den + _B[i]) * ysq
            out[m] = 1.0 - xs * (num + _A[3]) / (den + _B[3])
        # 0.46875 < |x| <= 4
        m2 = (y > 0.46875) & (y <= 4.0)
        if m2.any():
            ys = y[m2]
            num, den = _C[8] * ys, ys
            for i in range(7):
                num = (num + _C[i]) * ys
                den = (den + _D[i]) * ys
            r = (num + _C[7]) / (den + _D[7])
            ysq = np.trunc(ys * 16.0) / 16.0
            d = (ys - ysq) * (ys + ysq)
            out[m2] = np.exp(-ysq * ysq) * np.exp(-d) * r
        # |x| > 4 (and inf)
        m3 = y > 4.0
        if m3.any():
            ys = y[m3]
            r = np.zeros_like(ys)
            ok = ys < _XBIG
            yo = ys[ok]
            ysq = 1.0 / (yo * yo)
            num, den = _P[5] * ysq, ysq
            for i in range(4):
                num = (num + _P[i]) * ysq
                den = (den + _Q[i]) * ysq
            rr = ysq * (num + _P[4]) / (den + _Q[4])
            rr = (_SQRPI - rr) / yo
            ysq2 = np.trunc(yo * 16.0) / 16.0
            d = (yo - ysq2) * (yo + ysq2)
            r[ok] = np.exp(-ysq2 * ysq2) * np.exp(-d) * rr
            out[m3] = r
        neg = (x < 0) & ~m
        out[neg] = 2.0 - out[neg]
    out[np.isnan(x)] = np.nan
    return out


def normal_cdf(x: F64) -> F64:
    """Standard normal CDF ``Φ(x) = erfc(-x / √2) / 2``, accurate in both tails."""
    return 0.5 * erfc(-np.asarray(x, dtype=np.float64) * 0.70710678118654752440)


def logistic(x: F64) -> F64:
    """``1 / (1 + exp(-x))`` (scipy's ``expit`` formula, so results match scikit-learn bit for bit)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def softmax(x: F64) -> F64:
    """Row-wise softmax of a 2-D array, shifted by the row max (scikit-learn's formula)."""
    with np.errstate(invalid="ignore", over="ignore"):
        z = x - np.max(x, axis=1, keepdims=True)
        np.exp(z, out=z)
        return z / np.sum(z, axis=1, keepdims=True)  # type: ignore[no-any-return]


def softmax_zero(x: F64) -> F64:
    """ONNX ``SOFTMAX_ZERO``: like softmax, but scores with ``|v| <= 1e-7`` are not exponentiated.

    onnxruntime maps such a score ``v`` to ``v * exp(-max)`` and leaves it out of the sum, so an
    exact zero score gets probability 0 (ai.onnx.ml ``ComputeSoftmaxZero``).
    """
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        vmax = np.max(x, axis=1, keepdims=True)
        nonzero = np.abs(x) > 1e-7
        e = np.where(nonzero, np.exp(x - vmax), x * np.exp(-vmax))
        total = np.sum(np.where(nonzero, e, 0.0), axis=1, keepdims=True)
        return e / total  # type: ignore[no-any-return]


def simplemax(x: F64) -> F64:
    """Row-wise ``x / sum(x)``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return x / np.sum(x, axis=1, keepdims=True)  # type: ignore[no-any-return]


def _cloglog(x: F64) -> F64:
    with np.errstate(over="ignore"):
        return -np.expm1(-np.exp(x))  # 1 - exp(-exp(x))


def _loglog(x: F64) -> F64:
    with np.errstate(over="ignore"):
        return np.exp(-np.exp(-x))


def _cauchit(x: F64) -> F64:
    return 0.5 + np.arctan(x) / np.pi


def _exp(x: F64) -> F64:
    with np.errstate(over="ignore"):
        return np.exp(x)


def _identity(x: F64) -> F64:
    return x


#: Output transforms of linear models and tree ensembles (see ``portamodel.ir.linear``).
NORMALIZATION_FUNCTIONS: dict[str, Callable[[F64], F64]] = {
    "identity": _identity,
    "logistic": logistic,
    "probit": normal_cdf,
    "cloglog": _cloglog,
    "loglog": _loglog,
    "cauchit": _cauchit,
    "exp": _exp,
    "softmax": softmax,
    "softmax_zero": softmax_zero,
    "simplemax": simplemax,
}


def apply_normalization(name: str, scores: F64) -> F64:
    """Apply output transform ``name`` to a 2-D score array ``(n_rows, n_outputs)``."""
    return NORMALIZATION_FUNCTIONS[name](scores)


def _relu(x: F64) -> F64:
    return np.maximum(x, 0.0)


def _reciprocal(x: F64) -> F64:
    with np.errstate(divide="ignore"):
        return 1.0 / x


def _square(x: F64) -> F64:
    with np.errstate(over="ignore"):
        return x * x


def _gauss(x: F64) -> F64:
    with np.errstate(over="ignore"):
        return np.exp(-(x * x))


def _elliott(x: F64) -> F64:
    with np.errstate(invalid="ignore"):
        return x / (1.0 + np.abs(x))


def _arctan(x: F64) -> F64:
    return 2.0 * np.arctan(x) / np.pi


#: Activations of :class:`portamodel.ir.DenseLayer` (PMML NeuralNetwork definitions);
#: ``leaky_relu`` is handled by :func:`apply_activation` because it takes ``alpha``.
ACTIVATION_FUNCTIONS: dict[str, Callable[[F64], F64]] = {
    "identity": _identity,
    "relu": _relu,
    "tanh": np.tanh,
    "logistic": logistic,
    "softmax": softmax,
    "simplemax": simplemax,
    "exp": _exp,
    "reciprocal": _reciprocal,
    "square": _square,
    "gauss": _gauss,
    "sine": np.sin,
    "cosine": np.cos,
    "elliott": _elliott,
    "arctan": _arctan,
}


def apply_activation(name: str, x: F64, alpha: float = 0.01) -> F64:
    """Apply activation ``name`` to a 2-D array (``alpha``: negative slope of ``leaky_relu``)."""
    if name == "leaky_relu":
        return np.where(x >= 0, x, alpha * x)
    return ACTIVATION_FUNCTIONS[name](x)


# -- silencing floating-point warnings cheaply -------------------------------------------------------


def _quiet_context() -> tuple[Callable[[object], object], Callable[[object], None], object] | None:
    """``(set, reset, extobj)`` of numpy 2's error-state context variable, or None (use np.errstate).

    ``np.errstate(all="ignore")`` builds its error-state object on every entry (microseconds); numpy 2
    keeps that object in a context variable, so setting a prebuilt one does the same for a fraction
    of the cost. Checked once here; any other numpy takes the documented ``np.errstate`` route.
    """
    try:
        from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj  # type: ignore[attr-defined]

        quiet = _make_extobj(all="ignore")
        token = _extobj_contextvar.set(quiet)
        try:
            works = np.geterr() == {"divide": "ignore", "over": "ignore", "under": "ignore", "invalid": "ignore"}
        finally:
            _extobj_contextvar.reset(token)
    except Exception:  # numpy 1.x or changed internals: fall back
        return None
    return (_extobj_contextvar.set, _extobj_contextvar.reset, quiet) if works else None


_QUIET = _quiet_context()


def silenced(fn: Callable[[F64], R]) -> Callable[[F64], R]:
    """``fn`` run under ``np.errstate(all="ignore")`` (overflow saturates, NaN propagates, nothing warns).

    >>> f = silenced(lambda x: x * 1e308)
    >>> f(np.array([1e308])).tolist()
    [inf]
    """
    if _QUIET is None:  # numpy 1.x

        def run_errstate(X: F64) -> R:
            with np.errstate(all="ignore"):
                return fn(X)

        return run_errstate
    set_state, reset_state, quiet = _QUIET

    def run(X: F64) -> R:
        token = set_state(quiet)
        try:
            return fn(X)
        finally:
            reset_state(token)

    return run


def dot_is_exact(weights: F64) -> bool:
    """Whether ``X.dot(weights)`` gives IEEE results (NaN and inf in ``X`` propagate) for any ``X``.

    ``ndarray.dot`` skips its function dispatch (about a microsecond less than ``@`` per call on one
    row), but for some shapes numpy hands the product to BLAS routines that skip a zero factor
    (``axpy`` with ``alpha = 0``), so ``NaN * 0`` would give 0. With finite, nonzero weights a
    skipped term can only be an exact zero product, so both agree; otherwise use ``@``.

    >>> dot_is_exact(np.array([[1.0], [2.0]])), dot_is_exact(np.array([[0.0], [2.0]]))
    (True, False)
    """
    return bool(np.all(np.isfinite(weights)) and np.all(weights != 0.0))


# -- variants for callers that silenced warnings themselves (see :func:`silenced`) ----------------
# Small arrays: plain expressions (an ``out=`` argument costs more than the allocation it saves);
# large arrays: computed in the argument's own memory; a single value of the logistic: Python
# floats around numpy's exp (a scalar ufunc call costs a tenth of a one-element array's). Same
# operations, same bits either way.

#: Array size from which the quiet variants work in place.
IN_PLACE_FROM = 4096
_IN_PLACE_FROM = IN_PLACE_FROM


def _logistic_quiet(x: F64) -> F64:
    if x.shape == (1, 1):  # one row, one output: Python floats (the same IEEE operations)
        return np.array([[1.0 / (1.0 + float(np.exp(-x.item())))]])
    if x.size < _IN_PLACE_FROM:
        return 1.0 / (1.0 + np.exp(-x))  # type: ignore[no-any-return]
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1.0
    return np.divide(1.0, x, out=x)  # type: ignore[no-any-return]


def logistic_of_negated(z: F64) -> F64:
    """``logistic(-z)`` = ``1 / (1 + exp(z))``: for callers that computed the negated scores directly.

    Negating the weights and intercepts negates every product and partial sum exactly, so
    ``logistic_of_negated(X @ -w - b)`` has the bits of ``logistic(X @ w + b)`` with one pass fewer.
    Quiet variant: may overwrite ``z``, must run :func:`silenced`.

    >>> silenced(logistic_of_negated)(np.array([[0.0, -800.0]])).tolist()
    [[0.5, 1.0]]
    """
    if z.shape == (1, 1):  # one row, one output: Python floats (the same IEEE operations)
        return np.array([[1.0 / (1.0 + float(np.exp(z.item())))]])
    if z.size < _IN_PLACE_FROM:
        return 1.0 / (1.0 + np.exp(z))  # type: ignore[no-any-return]
    np.exp(z, out=z)
    z += 1.0
    return np.divide(1.0, z, out=z)  # type: ignore[no-any-return]


def _softmax_quiet(x: F64) -> F64:
    z = x - np.max(x, axis=1, keepdims=True)
    np.exp(z, out=z)
    return z / np.sum(z, axis=1, keepdims=True)  # type: ignore[no-any-return]


def _relu_quiet(x: F64) -> F64:
    return np.maximum(x, 0.0) if x.size < _IN_PLACE_FROM else np.maximum(x, 0.0, out=x)  # type: ignore[no-any-return]


def _tanh_quiet(x: F64) -> F64:
    return np.tanh(x) if x.size < _IN_PLACE_FROM else np.tanh(x, out=x)  # type: ignore[no-any-return]


#: Output transforms that may overwrite their argument and must run :func:`silenced`.
QUIET_NORMALIZATIONS: dict[str, Callable[[F64], F64]] = {
    **NORMALIZATION_FUNCTIONS,
    "logistic": _logistic_quiet,
    "softmax": _softmax_quiet,
    "exp": np.exp,
}

#: Activations that may overwrite their argument and must run :func:`silenced`.
QUIET_ACTIVATIONS: dict[str, Callable[[F64], F64]] = {
    **ACTIVATION_FUNCTIONS,
    "relu": _relu_quiet,
    "tanh": _tanh_quiet,
    "logistic": _logistic_quiet,
    "softmax": _softmax_quiet,
    "exp": np.exp,
}
