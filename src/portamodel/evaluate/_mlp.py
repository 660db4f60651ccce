"""Multi-layer perceptrons: ``activation(x @ weights + biases)`` layer after layer.

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
from ._transforms import QUIET_ACTIVATIONS

__all__ = ["compile_mlp"]

F64 = NDArray[np.float64]

#: Hidden-activation values computed per block of rows (8 MiB of float64).
CHUNK_VALUES = 1 << 20


def compile_mlp(est: MLP) -> Callable[[F64], F64]:
    """A function from the feature matrix ``(n, n_features)`` to outputs ``(n, n_outputs)``."""
    layers = [(layer.weights, layer.biases, _activation(layer.activation, layer.alpha)) for layer in est.layers]
    widest = max(int(layer.weights.shape[1]) for layer in est.layers)
    # rows per block so that one hidden activation matrix stays near CHUNK_VALUES float64s
    block = max(1, CHUNK_VALUES // widest)

    def forward(X: F64) -> F64:
        h = X
        for w, b, act in layers:
            h = h @ w  # a fresh array: large activations work in place
            h += b
            h = act(h)
        return h

    def run(X: F64) -> F64:
        with np.errstate(all="ignore"):  # one errstate for the whole call (each costs microseconds)
            if X.shape[0] <= block:
                return forward(X)
            out = np.empty((X.shape[0], est.n_outputs))
            for lo in range(0, X.shape[0], block):  # bounded memory for huge batches
                out[lo : lo + block] = forward(X[lo : lo + block])
            return out

    return run


def _activation(name: str, alpha: float) -> Callable[[F64], F64]:
    if name == "leaky_relu":
        return lambda x: np.where(x >= 0, x, alpha * x)
    return QUIET_ACTIVATIONS[name]
