"""Multi-layer perceptrons: a stack of dense layers.

Each layer computes ``activation(x @ weights + biases)`` with ``weights`` of shape
``(n_in, n_out)`` (scikit-learn's ``coefs_`` layout). The last layer's outputs follow the same
convention as linear models: one output for regression or for the ``classes[1]`` probability of a
binary classifier, otherwise one probability per class.

``compute_dtype`` is the precision the network's producer computed in, and the evaluator
reproduces it:

- ``"float64"`` (default; scikit-learn, PMML without ``x-mathContext``, double ONNX graphs): every
  product, sum and activation in float64.
- ``"float32"`` (skl2onnx's default float graphs and ``torch.onnx.export``, which onnxruntime
  runs in float32; JPMML's ``x-mathContext="float"``): the input features are rounded to float32
  (round to nearest, as a ``Cast`` to float does; NaN stays NaN, values beyond float32's range
  become infinite), the weights, biases and ``leaky_relu`` slope are rounded to float32 once,
  every layer's product ``x @ weights``, bias addition and activation runs in float32 (numpy's
  float32 kernels), and only the final outputs are widened to float64. What happens after the
  network (``1 - p`` of a binary classifier, labels) is the same as for any model.

Weights stay float64 arrays in the IR. Readers of float32 models give float32-exact values, but a
float32 network's weights need not be float32-exact: they are rounded to nearest when the network
is evaluated, as any float32 runtime rounds them, so ``dataclasses.replace(mlp,
compute_dtype="float32")`` is always a valid model. Writers that store float32 weights (ONNX)
store those rounded values, which score the same.

>>> layer = DenseLayer(weights=[[1.0, -1.0]], biases=[0.0, 0.5], activation="relu")
>>> MLP(features=("x",), layers=(layer,)).n_outputs
2
>>> from portamodel.ir import Field, Model, Target
>>> one_third = DenseLayer(weights=[[1.0]], biases=[1 / 3])
>>> def score(dtype):
...     net = MLP(features=("x",), layers=(one_third,), compute_dtype=dtype)
...     model = Model(inputs=(Field(name="x"),), target=Target(name="y", task="regression"), estimator=net)
...     return float(model.predict([[0.0]])[0])
>>> score("float64"), score("float32")
(0.3333333333333333, 0.3333333432674408)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ._base import IRNode, as_tuple, check, check_choice, check_names, frozen_array, ir_dataclass

__all__ = ["ACTIVATIONS", "COMPUTE_DTYPES", "MLP", "DenseLayer"]

Activation = Literal[
    "identity", "relu", "tanh", "logistic", "softmax", "simplemax", "leaky_relu", "exp",
    "reciprocal", "square", "gauss", "sine", "cosine", "elliott", "arctan",
]  # fmt: skip
ACTIVATIONS: tuple[str, ...] = (
    "identity", "relu", "tanh", "logistic", "softmax", "simplemax", "leaky_relu", "exp",
    "reciprocal", "square", "gauss", "sine", "cosine", "elliott", "arctan",
)  # fmt: skip
#: Precisions an :class:`MLP` can compute in (``compute_dtype``).
COMPUTE_DTYPES: tuple[str, ...] = ("float64", "float32")


@ir_dataclass
class DenseLayer(IRNode):
    """``activation(x @ weights + biases)``; ``alpha`` is the negative slope of ``leaky_relu``."""

    weights: NDArray[np.float64]
    biases: NDArray[np.float64]
    activation: Activation = "identity"
    alpha: float = 0.01

    def __post_init__(self) -> None:
        where = "DenseLayer"
        w = frozen_array(self.weights, np.float64, f"{where}.weights", ndim=2)
        b = frozen_array(self.biases, np.float64, f"{where}.biases", ndim=1)
        check(w.shape[0] >= 1 and w.shape[1] >= 1, f"{where}.weights", f"empty weight matrix {w.shape}")
        check(b.shape == (w.shape[1],), f"{where}.biases", f"expected {w.shape[1]} biases, got {b.shape[0]}")
        check_choice(self.activation, ACTIVATIONS, f"{where}.activation")
        check(
            isinstance(self.alpha, (int, float)) and np.isfinite(self.alpha),
            f"{where}.alpha",
            "expected a finite number",
        )
        self._set("weights", w)
        self._set("biases", b)
        self._set("alpha", float(self.alpha))


@ir_dataclass
class MLP(IRNode):
    """Dense feed-forward network over numeric ``features``, computing in ``compute_dtype``
    (see the module docstring)."""

    features: tuple[str, ...]
    layers: tuple[DenseLayer, ...]
    compute_dtype: Literal["float64", "float32"] = "float64"

    def __post_init__(self) -> None:
        where = "MLP"
        self._set("features", as_tuple(self.features, f"{where}.features"))
        self._set("layers", as_tuple(self.layers, f"{where}.layers"))
        check_names(self.features, f"{where}.features")
        check(len(self.layers) >= 1, f"{where}.layers", "needs at least one layer")
        check_choice(self.compute_dtype, COMPUTE_DTYPES, f"{where}.compute_dtype")
        width = len(self.features)
        for i, layer in enumerate(self.layers):
            check(isinstance(layer, DenseLayer), f"{where}.layers[{i}]", "expected a DenseLayer")
            check(
                layer.weights.shape[0] == width,
                f"{where}.layers[{i}].weights",
                f"takes {layer.weights.shape[0]} inputs but receives {width}",
            )
            width = layer.weights.shape[1]

    @property
    def n_outputs(self) -> int:
        return int(self.layers[-1].weights.shape[1])
