"""Multi-layer perceptrons: ``activation(x @ weights + biases)`` layer after layer.

Small batches (one row, a few rows) run each layer as plain expressions: one BLAS call
(``ndarray.dot``, which skips numpy's function dispatch, when :func:`~._transforms.dot_is_exact`;
``@`` otherwise), the bias added out of place, the activation. Large batches run in blocks of
:data:`BLOCK_ROWS` rows through per-call buffers that stay in cache: each product is written into
its buffer (``out=``) and the bias and activation applied in place, the last layer straight into
the result. The products are numpy's (``@`` for blocks, as scikit-learn computes them; ``dot``
gives the same bits for one row). Rows in a block's remainder may round differently in the last
bit than in one whole-batch product (BLAS edge kernels); tests/test_call_paths.py holds them to
1e-13 of scikit-learn.

>>> from portamodel.ir import MLP, DenseLayer
>>> f = compile_mlp(MLP(features=("a",), layers=(DenseLayer(weights=[[1.0, -1.0]], biases=[0.0, 0.0], activation="relu"),)))
>>> f(np.array([[2.0]])).tolist()
[[2.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ..ir import MLP
from ._transforms import IN_PLACE_FROM, QUIET_ACTIVATIONS, dot_is_exact, silenced

__all__ = ["BLOCK_ROWS", "compile_mlp"]

F64 = NDArray[np.float64]

#: Rows per block of a large batch: the hidden activations of a block stay in the L2 cache.
BLOCK_ROWS = 1024


def compile_mlp(est: MLP) -> Callable[[F64], F64]:
    """A function from the feature matrix ``(n, n_features)`` to outputs ``(n, n_outputs)``."""
    layers = [(layer.weights, layer.biases, _activation(layer.activation, layer.alpha)) for layer in est.layers]
    exact = [dot_is_exact(w) for w, _, _ in layers]
    small_layers = [(w, b, act, use_dot) for (w, b, act), use_dot in zip(layers, exact)]
    widest = max(w.shape[1] for w, _, _ in layers)
    hidden = layers[:-1]
    w_last, b_last, act_last = layers[-1]
    n_out = est.n_outputs

    def small(X: F64) -> F64:
        h = X
        for w, b, act, use_dot in small_layers:
            h = act((h.dot(w) if use_dot else h @ w) + b)
        return h

    def blocked(X: F64) -> F64:
        n = X.shape[0]
        out = np.empty((n, n_out))
        buffers = [np.empty((min(n, BLOCK_ROWS), w.shape[1])) for w, _, _ in hidden]
        for lo in range(0, n, BLOCK_ROWS):
            hi = min(lo + BLOCK_ROWS, n)
            h = X[lo:hi]
            for (w, b, act), buf in zip(hidden, buffers):
                z = buf[: hi - lo]
                np.matmul(h, w, out=z)
                z += b
                h = act(z)
            z = out[lo:hi]
            np.matmul(h, w_last, out=z)
            z += b_last
            a = act_last(z)
            if a is not z:
                z[...] = a
        return out

    def run(X: F64) -> F64:
        if X.shape[0] * widest < IN_PLACE_FROM:
            return small(X)
        return blocked(X)

    return silenced(run)


def _activation(name: str, alpha: float) -> Callable[[F64], F64]:
    if name == "leaky_relu":
        return lambda x: np.where(x >= 0, x, alpha * x)
    return QUIET_ACTIVATIONS[name]
