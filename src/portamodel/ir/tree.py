"""Decision trees and tree ensembles held as flat node arrays.

All trees of an ensemble share one set of node arrays; ``roots[t]`` is the node index of tree
``t``'s root. Node ``i`` is a leaf when ``feature[i] == -1``; otherwise it tests
``x[features[feature[i]]] <op> threshold[i]`` and goes to ``true_child[i]`` when the test holds and
to ``false_child[i]`` when it does not. ``op`` indexes :data:`OPS`. For the set operators
``in`` / ``not_in`` the threshold holds the integer index of a set: the members of set ``s`` are
``set_values[set_offsets[s]:set_offsets[s + 1]]``.

A missing feature value follows ``missing[i]`` (:data:`MISSING_ACTIONS`): take the false child,
take the true child, stop and return this node's own ``values`` row, or make the prediction missing.

Before comparing, feature values are rounded to ``input_dtype`` (``"float32"`` reproduces
scikit-learn and JPMML float trees). Thresholds are always float64.

Each tree yields the ``values`` row of the node it stops at (``n_outputs`` numbers). The ensemble
combines them with ``aggregation`` using ``tree_weights`` (all ones by default):

- ``sum``: ``Σ w_t v_t``;  ``average``: ``Σ w_t v_t / Σ w_t``;
- ``majority_vote``: each tree votes for ``argmax v_t``; output ``k`` is the weight share of votes
  for ``k``;
- ``max`` / ``median``: element-wise over trees (weights ignored);

then adds ``base_score`` and applies ``post_transform`` (same choices as linear normalisations),
accumulating in ``accumulate_dtype`` (``"float32"`` for XGBoost / JPMML ``x-mathContext="float"``).

>>> stump = TreeEnsemble(
...     features=("x",), roots=[0], feature=[0, -1, -1], threshold=[0.5, 0, 0], op=[0, 0, 0],
...     true_child=[1, -1, -1], false_child=[2, -1, -1], missing=[0, 0, 0],
...     values=[[0.0], [1.0], [2.0]])
>>> stump.n_trees, stump.n_nodes, stump.max_depth
(1, 3, 1)
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ._base import IRNode, as_tuple, check, check_choice, check_names, frozen_array, ir_dataclass, short_repr
from .linear import NORMALIZATIONS, Normalization

__all__ = [
    "AGGREGATIONS",
    "MISSING_ACTIONS",
    "MISSING_FALSE",
    "MISSING_NULL",
    "MISSING_STOP",
    "MISSING_TRUE",
    "OPS",
    "TreeEnsemble",
]

#: Comparison operators, by code.
OPS: tuple[str, ...] = ("<=", "<", ">=", ">", "==", "!=", "in", "not_in")
OP_CODE: dict[str, int] = {name: i for i, name in enumerate(OPS)}
SET_OPS = (OP_CODE["in"], OP_CODE["not_in"])

MISSING_FALSE, MISSING_TRUE, MISSING_STOP, MISSING_NULL = 0, 1, 2, 3
#: What a missing feature value does at a split, by code.
MISSING_ACTIONS: tuple[str, ...] = ("false_child", "true_child", "stop", "null")

AGGREGATIONS: tuple[str, ...] = ("sum", "average", "majority_vote", "max", "median")
Aggregation = Literal["sum", "average", "majority_vote", "max", "median"]


@ir_dataclass
class TreeEnsemble(IRNode):
    """One or more decision trees over numeric ``features`` (see the module docstring)."""

    features: tuple[str, ...]
    roots: NDArray[np.int64]
    feature: NDArray[np.int32]
    threshold: NDArray[np.float64]
    op: NDArray[np.uint8]
    true_child: NDArray[np.int32]
    false_child: NDArray[np.int32]
    missing: NDArray[np.uint8]
    values: NDArray[np.float64]
    set_offsets: NDArray[np.int64] | None = None
    set_values: NDArray[np.float64] | None = None
    aggregation: Aggregation = "sum"
    tree_weights: NDArray[np.float64] | None = None
    base_score: NDArray[np.float64] | None = None
    post_transform: Normalization = "identity"
    input_dtype: Literal["float64", "float32"] = "float64"
    accumulate_dtype: Literal["float64", "float32"] = "float64"
    _depth: int = dataclasses.field(default=-1, init=False, repr=False, compare=False)  # max_depth, once computed

    def __post_init__(self) -> None:
        w = "TreeEnsemble"
        self._set("features", as_tuple(self.features, f"{w}.features"))
        check_names(self.features, f"{w}.features")
        arrays = {
            "roots": np.int64, "feature": np.int32, "threshold": np.float64, "op": np.uint8,
            "true_child": np.int32, "false_child": np.int32, "missing": np.uint8,
        }  # fmt: skip
        for name, dtype in arrays.items():
            self._set(name, _int_or_float_array(getattr(self, name), dtype, f"{w}.{name}", ndim=1))
        values = frozen_array(self.values, np.float64, f"{w}.values")
        if values.ndim == 1:
            values = frozen_array(values.reshape(-1, 1), np.float64, f"{w}.values")
        check(
            values.ndim == 2 and values.shape[1] >= 1,
            f"{w}.values",
            f"expected shape (n_nodes, n_outputs), got {values.shape}",
        )
        self._set("values", values)
        n = self.feature.shape[0]
        check(n >= 1, w, "has no nodes")
        for name in ("threshold", "op", "true_child", "false_child", "missing"):
            length = getattr(self, name).shape[0]
            check(length == n, f"{w}.{name}", f"has {length} entries but there are {n} nodes")
        check(values.shape[0] == n, f"{w}.values", f"has {values.shape[0]} rows but there are {n} nodes")
        n_out = values.shape[1]
        check_choice(self.aggregation, AGGREGATIONS, f"{w}.aggregation")
        check_choice(self.post_transform, NORMALIZATIONS, f"{w}.post_transform")
        check_choice(self.input_dtype, ("float64", "float32"), f"{w}.input_dtype")
        check_choice(self.accumulate_dtype, ("float64", "float32"), f"{w}.accumulate_dtype")

        base = frozen_array(np.zeros(n_out) if self.base_score is None else self.base_score, np.float64, f"{w}.base_score", ndim=1)
        check(base.shape == (n_out,), f"{w}.base_score", f"expected {n_out} values, got {base.shape[0]}")
        self._set("base_score", base)
        n_trees = self.roots.shape[0]
        check(n_trees >= 1, f"{w}.roots", "needs at least one tree")
        if self.tree_weights is not None:
            tw = frozen_array(self.tree_weights, np.float64, f"{w}.tree_weights", ndim=1)
            check(tw.shape == (n_trees,), f"{w}.tree_weights", f"expected {n_trees} weights, got {tw.shape[0]}")
            check(bool(np.all(np.isfinite(tw))), f"{w}.tree_weights", "weights must be finite")
            self._set("tree_weights", tw)
        if (self.set_offsets is None) != (self.set_values is None):
            check(False, w, "set_offsets and set_values must be given together")
        if self.set_offsets is not None:
            so = _int_or_float_array(self.set_offsets, np.int64, f"{w}.set_offsets", ndim=1)
            sv = frozen_array(self.set_values, np.float64, f"{w}.set_values", ndim=1)
            check(so.shape[0] >= 1 and so[0] == 0, f"{w}.set_offsets", "must start with 0")
            check(bool(np.all(np.diff(so) >= 0)), f"{w}.set_offsets", "must be non-decreasing")
            check(
                int(so[-1]) == sv.shape[0],
                f"{w}.set_offsets",
                f"ends at {int(so[-1])} but there are {sv.shape[0]} set values",
            )
            self._set("set_offsets", so)
            self._set("set_values", sv)
        self._check_structure()

    def _check_structure(self) -> None:
        """Indices in range, every node reached from exactly one root once: a forest, no cycles.

        Errors come in a fixed order (codes, child indices, thresholds, roots, links); the first
        problem found is the one reported."""
        w = "TreeEnsemble"
        n = self.feature.shape[0]
        feat, tc, fc = self.feature, self.true_child, self.false_child
        n_features = len(self.features)
        if int(feat.min()) < -1 or int(feat.max()) >= n_features:  # reductions first, masks only to report
            _first_bad(feat < -1, "feature", "feature index below -1")
            _first_bad(feat >= n_features, "feature", f"feature index out of range 0..{n_features - 1}")
        top_op = int(self.op.max())
        if top_op >= len(OPS):
            _first_bad(self.op >= len(OPS), "op", f"unknown operator code (known: 0..{len(OPS) - 1})")
        if int(self.missing.max()) >= len(MISSING_ACTIONS):
            _first_bad(
                self.missing >= len(MISSING_ACTIONS),
                "missing",
                f"unknown missing-value code (known: 0..{len(MISSING_ACTIONS) - 1})",
            )
        internal = feat >= 0
        depth = self._forest_depth(internal)
        if depth is None:  # something is wrong, or the trees are deep: the full checks say what
            for name, child in (("true_child", tc), ("false_child", fc)):
                _first_bad(internal & ((child < 0) | (child >= n)), name, f"child index out of range 0..{n - 1}")
        set_op = min(SET_OPS)  # "in" and "not_in" are the last codes (op codes are checked above)
        finite = np.isfinite(self.threshold)
        if not finite.all():
            _first_bad(internal & ~finite & (self.op < set_op), "threshold", "threshold is not finite")
        if top_op >= set_op:
            is_set = internal & (self.op >= set_op)
            n_sets = 0 if self.set_offsets is None else self.set_offsets.shape[0] - 1
            t = self.threshold
            bad = is_set & ~((t >= 0) & (t < n_sets) & (t == np.floor(t)))
            _first_bad(bad, "threshold", f"a set split needs a set index in 0..{n_sets - 1}")
        roots = self.roots
        check(bool(np.all((roots >= 0) & (roots < n))), f"{w}.roots", f"root index out of range 0..{n - 1}")
        if depth is not None:
            self._set("_depth", depth)
            return
        inner_idx = np.flatnonzero(internal)
        tci, fci = tc.take(inner_idx), fc.take(inner_idx)
        # as many links (children and roots) as nodes, and every node linked: each exactly once
        seen = np.zeros(n, dtype=bool)
        for links in (tci, fci, roots):
            seen[links] = True
        once = 2 * inner_idx.shape[0] + roots.shape[0] == n and bool(seen.all())
        if not once:
            counts = np.bincount(np.concatenate([tci, fci, roots.astype(np.int32)]), minlength=n)
            if counts.max() > 1:
                i = int(np.argmax(counts > 1))
                check(False, f"{w} node {i}", "has more than one parent (or is a root and a child)")
        elif bool(np.all(tci > inner_idx)) and bool(np.all(fci > inner_idx)):
            # Fast path: every node has exactly one parent (or is a root) and children come after
            # their parents, so following parents always ends at a root: a forest, no cycles.
            return
        # Every node now has at most one parent. Follow parents by pointer doubling (a few dozen
        # numpy calls even for a chain a million nodes deep, where walking level by level would
        # take a million): a node whose ancestors do not end at a root lies on a cycle or is orphaned.
        parent = np.full(n + 1, n, dtype=np.int64)  # n: "no parent", a dead end
        parent[tci] = inner_idx
        parent[fci] = inner_idx
        parent[roots] = roots
        anc = parent
        for _ in range(n.bit_length() + 1):
            nxt = anc[anc]
            if np.array_equal(nxt, anc):
                break
            anc = nxt
        is_root = np.zeros(n + 1, dtype=bool)
        is_root[roots] = True
        reached = is_root[anc[:n]]
        if not reached.all():
            i = int(np.argmin(reached))
            check(False, f"{w} node {i}", "is not reachable from any root (orphaned or on a cycle)")

    def _forest_depth(self, internal: NDArray[np.bool_]) -> int | None:
        """The trees' depth when they are a valid forest (see :meth:`_check_structure`) less than
        64 levels deep, else None. One walk from the roots, level by level, lists every link it
        follows; it stops as soon as the links outnumber the nodes (a node linked twice, or a
        cycle). Ending with exactly ``n`` links (roots included) that reach every node means each
        node has exactly one parent or is a root exactly once, and is reached from a root."""
        n = internal.shape[0]
        roots = self.roots
        if roots.shape[0] > n or int(roots.min()) < 0 or int(roots.max()) >= n:
            return None
        links = np.empty(n, dtype=np.int32)  # every link followed, in order (children never exceed int32)
        links[: roots.shape[0]] = roots
        count = roots.shape[0]
        frontier = np.compress(internal.take(roots), roots)  # the internal nodes of one level
        depth = 0
        while frontier.shape[0]:
            k = frontier.shape[0]
            if depth >= 64 or count + 2 * k > n:
                return None
            kids = links[count : count + 2 * k]
            self.true_child.take(frontier, out=kids[:k])
            self.false_child.take(frontier, out=kids[k:])
            count += 2 * k
            if int(kids.min()) < 0 or int(kids.max()) >= n:
                return None
            frontier = np.compress(internal.take(kids), kids)
            depth += 1
        if count != n:
            return None
        reached = np.zeros(n, dtype=bool)
        reached[links.astype(np.intp)] = True  # (an int32 index array scatters about 3x slower)
        return depth if bool(reached.all()) else None

    @property
    def n_trees(self) -> int:
        return int(self.roots.shape[0])

    @property
    def n_nodes(self) -> int:
        return int(self.feature.shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.values.shape[1])

    @property
    def max_depth(self) -> int:
        """Length of the longest root-to-leaf path (a lone leaf has depth 0); computed once."""
        if self._depth < 0:
            self._set("_depth", self._max_depth())
        return self._depth

    def _max_depth(self) -> int:
        """The depth by pointer doubling: distances to the roots in log2(depth) numpy calls instead
        of one per level. Only trees that :meth:`_forest_depth` gave up on (64 levels or more)
        get here; the validation walk already measured every other tree."""
        internal = self.feature >= 0
        n = self.n_nodes
        inner_idx = np.flatnonzero(internal)
        parent = np.arange(n)  # roots point to themselves
        parent[self.true_child[inner_idx]] = inner_idx
        parent[self.false_child[inner_idx]] = inner_idx
        dist = (parent != np.arange(n)).astype(np.int64)  # distance from each node to parent[node]
        while True:
            step = dist[parent]
            if not step.any():
                return int(dist.max())
            dist = dist + step
            parent = parent[parent]

    def tree_of_node(self) -> NDArray[np.int64]:
        """Index of the tree each node belongs to."""
        owner = np.empty(self.n_nodes, dtype=np.int64)
        frontier, ids = self.roots, np.arange(self.n_trees)
        internal = self.feature >= 0
        while frontier.size:
            owner[frontier] = ids
            keep = internal[frontier]
            frontier, ids = frontier[keep], ids[keep]
            frontier = np.concatenate([self.true_child[frontier], self.false_child[frontier]])
            ids = np.concatenate([ids, ids])
        return owner


def _int_or_float_array(value: object, dtype: type, where: str, *, ndim: int) -> NDArray:
    """Like frozen_array, but integer targets refuse non-integral or out-of-range numbers."""
    if not np.issubdtype(dtype, np.integer):
        return frozen_array(value, dtype, where, ndim=ndim)
    info = np.iinfo(dtype)
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        if value.size:
            lo, hi = value.min(), value.max()
            check(bool(lo >= info.min and hi <= info.max), where, f"values {lo}..{hi} outside {np.dtype(dtype).name} range")
        return frozen_array(value, dtype, where, ndim=ndim)
    raw = frozen_array(value, np.float64, where, ndim=ndim)
    ok = np.isfinite(raw) & (raw == np.floor(raw)) & (raw >= info.min) & (raw <= info.max)
    if not ok.all():
        i = int(np.argmin(ok))
        check(False, f"{where}[{i}]", f"expected an integer in {np.dtype(dtype).name} range, got {short_repr(float(raw[i]))}")
    return frozen_array(raw, dtype, where, ndim=ndim)


def _first_bad(mask: NDArray[np.bool_], name: str, message: str) -> None:
    if mask.any():
        i = int(np.argmax(mask))
        check(False, f"TreeEnsemble.{name}[{i}]", message)
