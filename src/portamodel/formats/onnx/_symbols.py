"""What the reader knows about each tensor of a graph while it walks the nodes.

The reader executes the graph symbolically: instead of numbers, every tensor holds one of these
descriptions. Preprocessing tensors are named IR columns (:class:`Cols`); an estimator in the
making is a :class:`Net` (dense layers: linear models and MLPs) or :class:`TreeScores`; classifier
heads are :class:`Proba2` (``[1 - p, p]``), :class:`ArgIdx` and :class:`Labels`.

A ``version`` number identifies one estimator: an output transform (activation, post-transform)
keeps it, any change to weights or structure gets a new one, so the reader can tell whether a label
tensor and a probability tensor come from the same scores.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ORDER_PRESERVING",
    "ArgIdx",
    "Cols",
    "Const",
    "Labels",
    "Layer",
    "Net",
    "OneMinus",
    "PendingAffine",
    "Proba2",
    "RowShape",
    "Scores",
    "Sym",
    "TreeScores",
    "Unplaced",
    "ZipProba",
    "new_version",
]

_versions = itertools.count(1)

#: Transforms that never change which output is largest (argmax of raw scores == argmax after).
ORDER_PRESERVING = frozenset({"identity", "logistic", "softmax", "exp", "probit", "cloglog", "loglog", "cauchit"})


def new_version() -> int:
    return next(_versions)


class Unplaced(Exception):
    """A node whose inputs do not fit any pattern the reader knows (the message says why)."""


@dataclass(frozen=True, eq=False)
class Const:
    value: NDArray[Any]


@dataclass(frozen=True, eq=False)
class Cols:
    """A tensor ``[N, *dims]`` whose entries (row-major over ``dims``) are the IR columns ``names``."""

    names: tuple[str, ...]
    dims: tuple[int, ...]
    etype: str
    f32: bool = False  # the values went through float32 (a cast to float and back)
    binary: bool = False  # 0/1 values that are never missing (booleans, also after a cast)

    @property
    def width(self) -> int:
        return len(self.names)


@dataclass(frozen=True, eq=False)
class RowShape:
    """The shape ``[N, *dims]`` of a column tensor (N unknown): the writer's way to size constants."""

    dims: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class PendingAffine:
    """Columns with ``(x - offset) * scale + shift`` (or ``/ scale``) still being collected."""

    source: Cols
    offset: NDArray[np.float64]
    scale: NDArray[np.float64]
    shift: NDArray[np.float64]
    divide: bool
    stage: int  # 1: offset set, 2: scale set, 3: shift set
    etype: str


@dataclass(frozen=True, eq=False)
class Layer:
    weights: NDArray[np.float64]  # (n_in, n_out)
    biases: NDArray[np.float64]
    act: str | None = None  # None: no activation yet (bias and scaling may still change)
    alpha: float = 0.01
    #: The element type the layer computes in ("float", "double", an integer type): its input's, if
    #: its weights have it too and every op on it (bias, scaling, activation) saw that type;
    #: "mixed" otherwise, "" when unknown (the ai.onnx.ml linear ops).
    dtype: str = ""


@dataclass(frozen=True, eq=False)
class Net:
    """Dense layers over ``features``: a linear model (one layer) or an MLP; ``etype`` is the
    element type of the tensor (a ``Cast`` of the scores changes it, not the version)."""

    features: tuple[str, ...]
    layers: tuple[Layer, ...]
    etype: str
    version: int

    @property
    def width(self) -> int:
        return int(self.layers[-1].weights.shape[1])

    @property
    def transform(self) -> str:
        return self.layers[-1].act or "identity"

    @property
    def is_open(self) -> bool:
        return self.layers[-1].act is None

    def with_act(self, act: str, alpha: float = 0.01) -> Net:
        last = self.layers[-1]
        last = replace(last, act=act, alpha=alpha, dtype=last.dtype if last.dtype == self.etype else "mixed")
        return replace(self, layers=(*self.layers[:-1], last))


@dataclass(frozen=True, eq=False)
class TreeScores:
    """A tree ensemble (``parts``: TreeEnsemble keyword arguments but ``post_transform``)."""

    parts: dict[str, Any]
    post: str
    width: int
    etype: str
    version: int

    @property
    def transform(self) -> str:
        return self.post

    @property
    def is_open(self) -> bool:
        return self.post == "identity"


@dataclass(frozen=True, eq=False)
class TreeStack:
    """Per-tree scores ``[N, n_trees, width]`` (each tree writing its own ``width`` targets of
    ``scores``), and after ``CumSum`` over the trees (``running``) their float32 partial sums."""

    scores: TreeScores
    n_trees: int
    width: int
    running: bool = False


Scores = Net | TreeScores


@dataclass(frozen=True, eq=False)
class OneMinus:
    p: Scores


@dataclass(frozen=True, eq=False)
class Proba2:
    """``[1 - p, p]`` for a single-output binary score ``p``."""

    p: Scores


@dataclass(frozen=True, eq=False)
class ZipProba:
    """Probabilities packed by ZipMap (one map per row); ``classes`` are the map keys."""

    proba: Scores | Proba2
    classes: tuple[Any, ...]


@dataclass(frozen=True, eq=False)
class ArgIdx:
    source: Scores | Proba2


@dataclass(frozen=True, eq=False)
class Labels:
    """Class labels chosen from ``source``; ``classes`` None means the indices 0..K-1.

    ``note`` explains when onnxruntime's label rule differs from ``argmax(source)`` (the labels
    are then right only if no probability output contradicts them; see the reader).
    """

    source: Scores | Proba2
    classes: tuple[Any, ...] | None
    etype: str
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Sym = Const | RowShape | Cols | PendingAffine | Net | TreeScores | TreeStack | OneMinus | Proba2 | ZipProba | ArgIdx | Labels


def lineage(sym: Scores | Proba2) -> tuple[int, str, bool]:
    """(estimator version, transform, binary) of a score or probability symbol."""
    if isinstance(sym, Proba2):
        v, t, _ = lineage(sym.p)
        return v, t, True
    return sym.version, sym.transform, False
