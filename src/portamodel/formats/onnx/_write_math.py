"""Output transforms and activations as ONNX ops on double tensors (activations of float32
networks on float tensors), matching portamodel's evaluator.

onnxruntime has no double kernels for ``Erf`` and ``Atan``, so the normal CDF (probit) uses the
same Cody rational approximation as :mod:`portamodel.evaluate._transforms` and ``atan`` the Cephes
one; both are accurate to about one unit in the last place.
"""

from __future__ import annotations

import math

import numpy as np

from ...evaluate._transforms import _A, _B, _C, _D, _P, _Q, _SQRPI, _XBIG
from ._builder import GraphBuilder

__all__ = ["activation", "normalization"]

F64 = np.float64


def _c(b: GraphBuilder, v: float, dtype: type = F64) -> str:
    return b.const(np.array(v, dtype=dtype), "k")


def _poly_step(b: GraphBuilder, acc: str, coef: float, y: str) -> str:
    return b.op("Mul", [b.op("Add", [acc, _c(b, coef)]), y])


def erfc(b: GraphBuilder, x: str) -> str:
    """Complementary error function (W. J. Cody), evaluated like the evaluator's numpy code."""
    y = b.op("Abs", [x])
    # |x| <= 0.46875
    small = b.op("Greater", [y, _c(b, 1.11e-16)])
    ysq = b.op("Where", [small, b.op("Mul", [x, x]), _c(b, 0.0)])
    num, den = b.op("Mul", [_c(b, _A[4]), ysq]), ysq
    for i in range(3):
        num = _poly_step(b, num, _A[i], ysq)
        den = _poly_step(b, den, _B[i], ysq)
    frac = b.op("Div", [b.op("Add", [num, _c(b, _A[3])]), b.op("Add", [den, _c(b, _B[3])])])
    r1 = b.op("Sub", [_c(b, 1.0), b.op("Mul", [x, frac])])
    # 0.46875 < |x| <= 4
    num, den = b.op("Mul", [_c(b, _C[8]), y]), y
    for i in range(7):
        num = _poly_step(b, num, _C[i], y)
        den = _poly_step(b, den, _D[i], y)
    rr = b.op("Div", [b.op("Add", [num, _c(b, _C[7])]), b.op("Add", [den, _c(b, _D[7])])])
    r2 = b.op("Mul", [_tail_exp(b, y), rr])
    # |x| > 4
    ysq3 = b.op("Div", [_c(b, 1.0), b.op("Mul", [y, y])])
    num, den = b.op("Mul", [_c(b, _P[5]), ysq3]), ysq3
    for i in range(4):
        num = _poly_step(b, num, _P[i], ysq3)
        den = _poly_step(b, den, _Q[i], ysq3)
    r3 = b.op("Mul", [ysq3, b.op("Div", [b.op("Add", [num, _c(b, _P[4])]), b.op("Add", [den, _c(b, _Q[4])])])])
    r3 = b.op("Div", [b.op("Sub", [_c(b, _SQRPI), r3]), y])
    r3 = b.op("Mul", [_tail_exp(b, y), r3])
    r3 = b.op("Where", [b.op("Less", [y, _c(b, _XBIG)]), r3, _c(b, 0.0)])
    in1 = b.op("LessOrEqual", [y, _c(b, 0.46875)])
    in2 = b.op("LessOrEqual", [y, _c(b, 4.0)])
    out = b.op("Where", [in1, r1, b.op("Where", [in2, r2, r3])])
    neg = b.op("And", [b.op("Less", [x, _c(b, 0.0)]), b.op("Not", [in1])])
    out = b.op("Where", [neg, b.op("Sub", [_c(b, 2.0), out]), out])
    return b.op("Where", [b.op("IsNaN", [x]), x, out])


def _tail_exp(b: GraphBuilder, y: str) -> str:
    """exp(-ysq * ysq) * exp(-d) with ysq = trunc(16 y) / 16 and d = (y - ysq)(y + ysq)."""
    ysq = b.op("Div", [b.op("Floor", [b.op("Mul", [y, _c(b, 16.0)])]), _c(b, 16.0)])
    d = b.op("Mul", [b.op("Sub", [y, ysq]), b.op("Add", [y, ysq])])
    e1 = b.op("Exp", [b.op("Neg", [b.op("Mul", [ysq, ysq])])])
    return b.op("Mul", [e1, b.op("Exp", [b.op("Neg", [d])])])


def normal_cdf(b: GraphBuilder, x: str) -> str:
    arg = b.op("Mul", [b.op("Neg", [x]), _c(b, 0.70710678118654752440)])
    return b.op("Mul", [_c(b, 0.5), erfc(b, arg)])


# Cephes atan (S. Moshier), double precision
_AT_P = (
    -8.750608600031904122785e-1,
    -1.615753718733365076637e1,
    -7.500855792314704667340e1,
    -1.228866684490136173410e2,
    -6.485021904942025371773e1,
)
_AT_Q = (
    2.485846490142306297962e1,
    1.650270098316988542046e2,
    4.328810604912902668951e2,
    4.853903996359136964868e2,
    1.945506571482613964425e2,
)
_MOREBITS = 6.123233995736765886130e-17
_T3P8 = 2.41421356237309504880


def atan(b: GraphBuilder, x: str) -> str:
    ax = b.op("Abs", [x])
    big = b.op("Greater", [ax, _c(b, _T3P8)])
    mid = b.op("And", [b.op("Not", [big]), b.op("Greater", [ax, _c(b, 0.66)])])
    xb = b.op("Neg", [b.op("Div", [_c(b, 1.0), ax])])
    xm = b.op("Div", [b.op("Sub", [ax, _c(b, 1.0)]), b.op("Add", [ax, _c(b, 1.0)])])
    xr = b.op("Where", [big, xb, b.op("Where", [mid, xm, ax])])
    y0 = b.op("Where", [big, _c(b, math.pi / 2), b.op("Where", [mid, _c(b, math.pi / 4), _c(b, 0.0)])])
    extra = b.op("Where", [big, _c(b, _MOREBITS), b.op("Where", [mid, _c(b, 0.5 * _MOREBITS), _c(b, 0.0)])])
    z = b.op("Mul", [xr, xr])
    p = _c(b, _AT_P[0])
    for coef in _AT_P[1:]:
        p = b.op("Add", [b.op("Mul", [p, z]), _c(b, coef)])
    q = b.op("Add", [z, _c(b, _AT_Q[0])])
    for coef in _AT_Q[1:]:
        q = b.op("Add", [b.op("Mul", [q, z]), _c(b, coef)])
    zz = b.op("Div", [b.op("Mul", [z, p]), q])
    zz = b.op("Add", [b.op("Mul", [xr, zz]), xr])
    res = b.op("Add", [y0, b.op("Add", [zz, extra])])
    res = b.op("Where", [b.op("Less", [x, _c(b, 0.0)]), b.op("Neg", [res]), res])
    return b.op("Where", [b.op("IsNaN", [x]), x, res])


def expm1(b: GraphBuilder, z: str) -> str:
    """exp(z) - 1 without cancellation (Kahan): (u - 1) * z / log(u) with u = exp(z)."""
    u = b.op("Exp", [z])
    um1 = b.op("Sub", [u, _c(b, 1.0)])
    ratio = b.op("Div", [b.op("Mul", [um1, z]), b.op("Log", [u])])
    res = b.op("Where", [b.op("Equal", [um1, _c(b, -1.0)]), _c(b, -1.0), ratio])
    res = b.op("Where", [b.op("Equal", [u, _c(b, math.inf)]), u, res])
    return b.op("Where", [b.op("Equal", [u, _c(b, 1.0)]), z, res])


def log1p(b: GraphBuilder, x: str) -> str:
    """log(1 + x) without cancellation (Kahan): log(u) * x / (u - 1) with u = 1 + x."""
    u = b.op("Add", [_c(b, 1.0), x])
    ratio = b.op("Div", [b.op("Mul", [b.op("Log", [u]), x]), b.op("Sub", [u, _c(b, 1.0)])])
    res = b.op("Where", [b.op("Equal", [u, _c(b, math.inf)]), u, ratio])
    return b.op("Where", [b.op("Equal", [u, _c(b, 1.0)]), x, res])


def _reduce(b: GraphBuilder, op: str, x: str) -> str:
    """Row-wise reduction keeping dims (opset 17: ReduceSum takes axes as an input, ReduceMax as an attribute)."""
    if op == "ReduceSum":
        return b.op(op, [x, b.const(np.array([1], dtype=np.int64), "axes")], keepdims=1)
    return b.op(op, [x], axes=[1], keepdims=1)


def normalization(b: GraphBuilder, name: str, x: str) -> str:
    """Output transform ``name`` of a [N, K] double score tensor (see ``portamodel.ir.linear``)."""
    if name == "identity":
        return x
    if name == "logistic":
        return b.op("Sigmoid", [x])
    if name == "exp":
        return b.op("Exp", [x])
    if name == "softmax":
        return b.op("Softmax", [x], axis=-1)
    if name == "probit":
        return normal_cdf(b, x)
    if name == "cloglog":  # 1 - exp(-exp(x)) = -expm1(-exp(x))
        return b.op("Neg", [expm1(b, b.op("Neg", [b.op("Exp", [x])]))])
    if name == "loglog":  # exp(-exp(-x))
        return b.op("Exp", [b.op("Neg", [b.op("Exp", [b.op("Neg", [x])])])])
    if name == "cauchit":  # 0.5 + atan(x) / pi
        return b.op("Add", [_c(b, 0.5), b.op("Div", [atan(b, x), _c(b, math.pi)])])
    if name == "simplemax":
        return b.op("Div", [x, _reduce(b, "ReduceSum", x)])
    if name == "softmax_zero":
        vmax = _reduce(b, "ReduceMax", x)
        nonzero = b.op("Greater", [b.op("Abs", [x]), _c(b, 1e-7)])
        e = b.op("Where", [nonzero, b.op("Exp", [b.op("Sub", [x, vmax])]), b.op("Mul", [x, b.op("Exp", [b.op("Neg", [vmax])])])])
        total = _reduce(b, "ReduceSum", b.op("Where", [nonzero, e, _c(b, 0.0)]))
        return b.op("Div", [e, total])
    raise ValueError(f"unknown normalization {name!r}")  # pragma: no cover - the IR validates names


def activation(b: GraphBuilder, name: str, x: str, alpha: float = 0.01, dtype: type = F64) -> str:
    """Neural-network activation ``name`` (see ``portamodel.ir.mlp``) of a ``dtype`` tensor.

    ``dtype=np.float32`` (a ``compute_dtype="float32"`` network): the same ops on float tensors,
    with float32 constants, so onnxruntime computes in float32 as the evaluator does; ``arctan``
    uses onnxruntime's float ``Atan`` kernel (it has no double one, hence the Cephes chain there).
    """
    if name in ("identity", "logistic", "softmax", "exp", "simplemax"):
        return normalization(b, name, x)  # no floating-point constants in these
    if name == "relu":
        return b.op("Relu", [x])
    if name == "tanh":
        return b.op("Tanh", [x])
    if name == "leaky_relu":  # x >= 0 ? x : alpha * x, with alpha in the tensor's type (LeakyRelu's is float32)
        neg = b.op("Mul", [x, _c(b, float(alpha), dtype)])
        return b.op("Where", [b.op("GreaterOrEqual", [x, _c(b, 0.0, dtype)]), x, neg])
    if name == "reciprocal":
        return b.op("Div", [_c(b, 1.0, dtype), x])
    if name == "square":
        return b.op("Mul", [x, x])
    if name == "gauss":
        return b.op("Exp", [b.op("Neg", [b.op("Mul", [x, x])])])
    if name == "sine":
        return b.op("Sin", [x])
    if name == "cosine":
        return b.op("Cos", [x])
    if name == "elliott":
        return b.op("Div", [x, b.op("Add", [_c(b, 1.0, dtype), b.op("Abs", [x])])])
    if name == "arctan":
        at = b.op("Atan", [x]) if dtype == np.float32 else atan(b, x)
        return b.op("Div", [b.op("Mul", [_c(b, 2.0, dtype), at]), _c(b, math.pi, dtype)])
    raise ValueError(f"unknown activation {name!r}")  # pragma: no cover
