"""Multi-layer perceptrons: ``activation(x @ weights + biases)`` layer after layer.

Small batches (one row, a few rows) run each layer as plain expressions: one BLAS call
(``ndarray.dot``, which skips numpy's function dispatch, when :func:`~._transforms.dot_is_exact`;
``@`` otherwise), the bias added out of place, the activation; a single row gives scikit-learn's
bits. Large batches run in blocks of up to :data:`BLOCK_ROWS` rows through per-call buffers that
stay in cache: each layer is one product with its bias folded in (the layer's input buffer ends
with a column of ones, its weights with a row of biases; the product is written into the next
buffer, which has its own ones column, with ``out=``) and the activation in place, so no pass
adds biases. portamodel starts no threads for MLPs (``threads=`` applies to tree ensembles):
OpenBLAS splits each block's products over its own threads (``OPENBLAS_NUM_THREADS`` or
threadpoolctl limit them). Block boundaries fall at the same rows for every call, and neither
they nor the BLAS thread count change a row's bits; a batch of another size may change its last
bit (BLAS picks kernels by shape: a one-column product sums its remainder rows differently).
Rows may differ in the last bits from scikit-learn's whole-batch ``X @ W + b`` (the bias is
summed inside the product), and tests/test_call_paths.py holds them to 1e-13 of it.

A ``compute_dtype="float32"`` network (see :mod:`portamodel.ir.mlp`) runs the same structure in
float32: weights, biases and the ``leaky_relu`` slope are cast to float32 once here, each call
rounds the features to float32 (the small path with one ``astype``, the blocked path into a float32
block buffer), every product, bias and activation stays float32 (the block buffers are float32, and
the activations are numpy ufuncs and Python-scalar arithmetic, which keep float32), and the outputs
are widened to float64 at the end (the last layer of a block goes through a float32 buffer into
the float64 result).

>>> from portamodel.ir import MLP, DenseLayer
>>> f = compile_mlp(MLP(features=("a",), layers=(DenseLayer(weights=[[1.0, -1.0]], biases=[0.0, 0.0], activation="relu"),)))
>>> f(np.array([[2.0]])).tolist()
[[2.0, 0.0]]
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..ir import MLP
from ._transforms import IN_PLACE_FROM, QUIET_ACTIVATIONS, dot_is_exact, silenced

__all__ = ["BLOCK_ROWS", "MLPKernel", "compile_mlp"]

F64 = NDArray[np.float64]

#: Most rows per block of a large float64 batch (float32 blocks: twice as many, the same bytes):
#: big enough that OpenBLAS splits each product over its threads, small enough that a block's
#: activations stay in cache (1,024-4,096 measured alike for 20-64-32-1 on 2 cores; 256 was
#: 1.5-2x slower, products below OpenBLAS's threading threshold; in float32, 4,096-5,000 rows
#: took 0.69-0.79 ms for 10,000 rows against 0.86 ms with 2,048).
BLOCK_ROWS = 2048
#: Fewest rows per block, however wide the layers.
MIN_BLOCK_ROWS = 64
#: Bytes of a block's layer buffers (input and every layer's output, with their ones columns).
BLOCK_BYTES = 1 << 21
#: Activations that act on a whole row (all others act on each value alone).
_ROW_WISE = frozenset(("softmax", "simplemax"))


class MLPKernel:
    """The forward pass as a function of the feature matrix ``(n, n_features)`` -> ``(n, n_outputs)``."""

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
        self.small_layers = [(w, b, act, dot_is_exact(w)) for w, b, act in layers]
        self.widest = max(int(w.shape[1]) for w, _, _ in layers)
        self.n_outputs = est.n_outputs
        self.run = silenced(self._run)
        # blocks fold each bias into its product: the layer input gets a column of ones and the
        # weights a last row holding the biases
        dt = np.float32 if self.float32 else np.float64
        self.block_layers = [
            (np.vstack((w, b[None, :])).astype(dt), act, layer.activation in _ROW_WISE) for (w, b, act), layer in zip(layers, est.layers)
        ]
        self.relu_layers = [layer.activation == "relu" for layer in est.layers]
        width = len(est.features) + 1 + sum(int(w.shape[1]) + 1 for w, _, _ in layers)
        rows = BLOCK_BYTES // (np.dtype(dt).itemsize * width) // 8 * 8
        self.block_rows = max(MIN_BLOCK_ROWS, min(BLOCK_ROWS * 8 // np.dtype(dt).itemsize, rows))
        self._local = threading.local()
        # numpy's maximum against a scalar has no vector loop (measured 2.4-3.8x slower than
        # against an array of zeros): the blocks' ReLUs take their zeros from here (read-only)
        self._zeros = np.zeros(self.block_rows * (self.widest + 1) if any(self.relu_layers) else 0, dtype=dt)
        self._zeros.flags.writeable = False

    def __call__(self, X: F64) -> F64:
        return self.run(X)

    def _run(self, X: F64) -> F64:
        if X.shape[0] * self.widest < IN_PLACE_FROM:
            if self.float32:
                return self._small(X.astype(np.float32)).astype(np.float64)
            return self._small(X)
        return self._blocked(X)

    def _small(self, X: F64) -> F64:
        h = X
        for w, b, act, use_dot in self.small_layers:
            h = act((h.dot(w) if use_dot else h @ w) + b)
        return h

    def _buffers(self, k: int) -> tuple[NDArray[Any], list[NDArray[Any]]]:
        """This thread's block buffers, each ending with a column of ones: made once per thread,
        since multi-megabyte arrays made afresh on every call cost page faults whenever the
        allocator has handed the memory back to the system (measured: 1-4 ms of 3-7 ms)."""
        held = getattr(self._local, "buffers", None)
        if held is None:
            dt = np.float32 if self.float32 else np.float64
            held = [np.empty((self.block_rows, width + 1), dtype=dt) for width in (k, *(int(w.shape[1]) for w, _, _ in self.block_layers))]
            for buf in held:
                buf[:, -1] = 1.0
            self._local.buffers = held
        return held[0], held[1:]

    def _blocked(self, X: F64) -> F64:
        """Blocks of :attr:`block_rows` rows, each layer one product with its bias folded in (into
        a buffer whose last column is ones, ready for the next layer) and its activation in place;
        in float32 for a float32 network. The same sums as product + bias within BLAS's rounding
        (tests hold them to 1e-13 of scikit-learn)."""
        n, k = X.shape
        rows = self.block_rows
        out = np.empty((n, self.n_outputs))
        x_buf, bufs = self._buffers(k)
        last = len(bufs) - 1
        zeros = self._zeros
        for lo in range(0, n, rows):
            hi = min(lo + rows, n)
            h = x_buf[: hi - lo]
            h[:, :k] = X[lo:hi]  # rounds to nearest in float32, as astype(np.float32)
            for i, ((w, act, row_wise), relu, buf) in enumerate(zip(self.block_layers, self.relu_layers, bufs)):
                z = buf[: hi - lo]
                width = w.shape[1]
                if i == last and not self.float32:
                    z = out[lo:hi]
                    np.matmul(h, w, out=z)
                    a = act(z)
                    if a is not z:
                        z[...] = a
                    break
                np.matmul(h, w, out=z[:, :width])
                if relu:  # over the whole buffer: the ones column stays ones
                    flat = z.reshape(-1)  # a view: the block's rows are contiguous
                    np.maximum(flat, zeros[: flat.shape[0]], out=flat)
                elif row_wise:
                    z[:, :width] = act(z[:, :width])
                else:  # in place over the whole buffer, then the ones again
                    a = act(z)
                    if a is not z:
                        z[...] = a
                    z[:, width] = 1.0
                h = z
            if self.float32:
                out[lo:hi] = h[:, : self.n_outputs]
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
