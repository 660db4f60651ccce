"""Multi-layer perceptrons: ``activation(x @ weights + biases)`` layer after layer.

Small batches (one row, a few rows) run each layer as plain expressions: one BLAS call
(``ndarray.dot``, which skips numpy's function dispatch, when :func:`~._transforms.dot_is_exact`;
``@`` otherwise), the bias added out of place, the activation. Large batches run in blocks of
:data:`BLOCK_ROWS` rows through per-call buffers that stay in cache: each product is written into
its buffer (``out=``) and the bias and activation applied in place, the last layer straight into
the result. Blocks are sized so that OpenBLAS computes each product on one thread
(:data:`BLAS_ONE_THREAD_MACS`); a large batch is split into chunks of blocks scored on the plan's
threads (``threads=``). The products are numpy's (``@`` for blocks, as scikit-learn computes them; ``dot``
gives the same bits for one row). Rows in a block's remainder may round differently in the last
bit than in one whole-batch product (BLAS edge kernels); tests/test_call_paths.py holds them to
1e-13 of scikit-learn.

A ``compute_dtype="float32"`` network (see :mod:`portamodel.ir.mlp`) runs the same structure in
float32: weights, biases and the ``leaky_relu`` slope are cast to float32 once here, each call
rounds the features to float32 (the small path with one ``astype``, the blocked path into a float32
block buffer), every product, bias and activation stays float32 (the block buffers are float32, and
the activations are numpy ufuncs and Python-scalar arithmetic, which keep float32), and the outputs
are widened to float64 at the end (the last layer of a block goes through a float32 buffer into
the float64 result). The float64 path is untouched by this.

>>> from portamodel.ir import MLP, DenseLayer
>>> f = compile_mlp(MLP(features=("a",), layers=(DenseLayer(weights=[[1.0, -1.0]], biases=[0.0, 0.0], activation="relu"),)))
>>> f(np.array([[2.0]])).tolist()
[[2.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..ir import MLP
from ._transforms import IN_PLACE_FROM, QUIET_ACTIVATIONS, dot_is_exact, silenced

__all__ = ["BLOCK_ROWS", "MLPKernel", "compile_mlp"]

F64 = NDArray[np.float64]

#: Most rows per block of a large batch (the hidden activations of a block stay in cache).
BLOCK_ROWS = 1024
#: Fewest rows per block, however wide the layers.
MIN_BLOCK_ROWS = 64
#: Multiply-adds of one product below which OpenBLAS computes it on one thread (its interface
#: splits a GEMM across threads only from ``m * n * k >= 2 * 65536 * 4``). Blocks stay under it
#: where they can: our own threads then share the blocks, and no BLAS worker spins between calls,
#: which on a busy machine costs more than the product.
BLAS_ONE_THREAD_MACS = 2 * 65536 * 4
#: Blocks per chunk handed to a thread.
BLOCKS_PER_CHUNK = 2


class MLPKernel:
    """The forward pass as a function of the feature matrix ``(n, n_features)`` -> ``(n, n_outputs)``.

    ``rows_per_chunk`` and ``work_per_row`` tell the plan how to split a large batch over threads
    (see :meth:`~._plan.Plan.outputs`).
    """

    def __init__(self, est: MLP) -> None:
        self.float32 = est.compute_dtype == "float32"
        layers: list[tuple[Any, Any, Callable[[Any], Any]]]
        if self.float32:
            with np.errstate(over="ignore"):  # weights beyond float32's range round to +-inf, as a float32 runtime's would
                layers = [
                    (layer.weights.astype(np.float32), layer.biases.astype(np.float32), _activation32(layer.activation, layer.alpha))
                    for layer in est.layers
                ]
        else:
            layers = [(layer.weights, layer.biases, _activation(layer.activation, layer.alpha)) for layer in est.layers]
        self.layers = layers
        self.small_layers = [(w, b, act, dot_is_exact(w)) for w, b, act in layers]
        self.widest = max(int(w.shape[1]) for w, _, _ in layers)
        self.n_outputs = est.n_outputs
        macs = [int(w.shape[0] * w.shape[1]) for w, _, _ in layers]
        rows = (BLAS_ONE_THREAD_MACS - 1) // max(macs) // 8 * 8
        self.block_rows = max(MIN_BLOCK_ROWS, min(BLOCK_ROWS, rows))
        self.rows_per_chunk = self.block_rows * BLOCKS_PER_CHUNK
        self.work_per_row = max(1, sum(macs) // 32)  # comparable to one tree per row
        self.run = silenced(self._run)

    def __call__(self, X: F64) -> F64:
        return self.run(X)

    def _run(self, X: F64) -> F64:
        if X.shape[0] * self.widest < IN_PLACE_FROM:
            if self.float32:
                return self._small(X.astype(np.float32)).astype(np.float64)
            return self._small(X)
        if self.float32:
            return self._blocked32(X)
        return self._blocked(X)

    def _small(self, X: F64) -> F64:
        h = X
        for w, b, act, use_dot in self.small_layers:
            h = act((h.dot(w) if use_dot else h @ w) + b)
        return h

    def _blocked(self, X: F64) -> F64:
        n = X.shape[0]
        rows = self.block_rows
        out = np.empty((n, self.n_outputs))
        *hidden, (w_last, b_last, act_last) = self.layers
        buffers = [np.empty((min(n, rows), w.shape[1])) for w, _, _ in hidden]
        for lo in range(0, n, rows):
            hi = min(lo + rows, n)
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

    def _blocked32(self, X: F64) -> F64:
        """:meth:`_blocked` in float32: block rows rounded into a float32 buffer, float32 layer
        buffers, the last layer's float32 result widened into the float64 output."""
        n = X.shape[0]
        rows = self.block_rows
        out = np.empty((n, self.n_outputs))
        m = min(n, rows)
        x_buf = np.empty((m, X.shape[1]), dtype=np.float32)
        buffers = [np.empty((m, w.shape[1]), dtype=np.float32) for w, _, _ in self.layers]
        for lo in range(0, n, rows):
            hi = min(lo + rows, n)
            h = x_buf[: hi - lo]
            h[...] = X[lo:hi]  # rounds to nearest, as astype(np.float32)
            for (w, b, act), buf in zip(self.layers, buffers):
                z = buf[: hi - lo]
                np.matmul(h, w, out=z)
                z += b
                h = act(z)
            out[lo:hi] = h
        return out


def compile_mlp(est: MLP) -> MLPKernel:
    """The forward pass of ``est`` (see :class:`MLPKernel`)."""
    return MLPKernel(est)


def _activation(name: str, alpha: float) -> Callable[[F64], F64]:
    if name == "leaky_relu":
        return lambda x: np.where(x >= 0, x, alpha * x)
    return QUIET_ACTIVATIONS[name]


def _logistic32(x: Any) -> Any:
    # not _logistic_quiet: its one-value shortcut computes in Python floats (float64)
    return 1.0 / (1.0 + np.exp(-x))


def _activation32(name: str, alpha: float) -> Callable[[Any], Any]:
    """The activation on float32 arrays, computed in float32 (silenced like the float64 ones)."""
    if name == "leaky_relu":
        slope = np.float32(alpha)
        return lambda x: np.where(x >= 0, x, slope * x)
    if name == "logistic":
        return _logistic32
    return QUIET_ACTIVATIONS[name]  # numpy ufuncs with Python-scalar operands keep float32
