"""Tree ensembles, vectorised over rows and trees; Python loops only over depth (and trees when summing).

Every (row, tree) pair holds a current node index. Level by level, all pairs still at an internal
node take one step at once; a pair stops at a leaf, at a ``stop`` missing action, or at ``null``.
Rows are processed in blocks so memory stays bounded for large ensembles.

>>> from portamodel.ir import TreeEnsemble
>>> stump = TreeEnsemble(
...     features=("x",), roots=[0], feature=[0, -1, -1], threshold=[0.5, 0, 0], op=[0, 0, 0],
...     true_child=[1, -1, -1], false_child=[2, -1, -1], missing=[0, 0, 0],
...     values=[[0.0], [1.0], [2.0]])
>>> TreeEvaluator(stump)(np.array([[0.0], [1.0], [np.nan]])).ravel().tolist()
[1.0, 2.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ..ir import TreeEnsemble
from ..ir.tree import MISSING_FALSE, MISSING_NULL, MISSING_TRUE, OP_CODE
from ._transforms import NORMALIZATION_FUNCTIONS

__all__ = ["TreeEvaluator", "walk_padded"]

F64 = NDArray[np.float64]
_BLOCK = 1 << 18  # (row, tree) pairs per block

_LE, _LT, _GE, _GT, _EQ, _NE, _IN, _NOT_IN = (OP_CODE[o] for o in ("<=", "<", ">=", ">", "==", "!=", "in", "not_in"))


class TreeEvaluator:
    """A compiled tree ensemble: call it with the feature matrix ``(n, n_features)``.

    Leaves are compiled into self-loops (both children point back to the leaf), so every (row, tree)
    pair can take ``max_depth`` identical steps without branching; pairs that have settled are
    dropped from the working set once they are the majority.
    """

    def __init__(self, est: TreeEnsemble) -> None:
        self.n_trees = est.n_trees
        self.n_outputs = est.n_outputs
        self.depth = est.max_depth
        n = est.n_nodes
        leaf = est.feature < 0
        self_index = np.arange(n, dtype=np.intp)
        internal = ~leaf
        self.ops = tuple(int(o) for o in np.unique(est.op[internal])) or (OP_CODE["<="],)
        self.roots = est.roots.astype(np.intp)
        self.feature = np.where(leaf, 0, est.feature).astype(np.intp)
        self.threshold = np.where(leaf, 0.0, est.threshold)
        self.op = np.where(leaf, self.ops[0], est.op).astype(np.uint8)
        self.true_child = np.where(leaf, self_index, est.true_child).astype(np.intp)
        self.false_child = np.where(leaf, self_index, est.false_child).astype(np.intp)
        # where a missing value leads: a child, or the node itself (stop / null)
        self.missing_next = np.select(
            [leaf, est.missing == MISSING_TRUE, est.missing == MISSING_FALSE],
            [self_index, self.true_child, self.false_child],
            default=self_index,
        ).astype(np.intp)
        self.is_leaf = leaf
        self.is_null = internal & (est.missing == MISSING_NULL)
        self.float32 = est.input_dtype == "float32"
        self.acc = np.float32 if est.accumulate_dtype == "float32" else np.float64
        self.values = est.values.astype(self.acc)
        self.aggregation = est.aggregation
        w = est.tree_weights
        self.weights = None if w is None else w.astype(self.acc)
        self.weight_sum = self.acc(est.n_trees) if w is None else self.acc(np.sum(w, dtype=self.acc))
        self.base = est.base_score.astype(self.acc)  # type: ignore[union-attr]
        self.post = NORMALIZATION_FUNCTIONS[est.post_transform]
        self._prepare_sets(est)

    # -- set membership ------------------------------------------------------------------------
    def _prepare_sets(self, est: TreeEnsemble) -> None:
        if est.set_offsets is None or est.set_values is None:
            self.set_offsets = np.zeros(1, dtype=np.intp)
            self.set_sorted = np.zeros(0)
            self.set_steps = 0
            return
        off = est.set_offsets.astype(np.intp)
        sizes = np.diff(off)
        owner = np.repeat(np.arange(sizes.shape[0]), sizes)
        order = np.lexsort((est.set_values, owner))  # sort within each set
        self.set_offsets = off
        self.set_sorted = est.set_values[order]
        longest = int(sizes.max()) if sizes.size else 0
        self.set_steps = int(np.ceil(np.log2(longest + 1))) + 1

    def _in_set(self, set_id: NDArray[np.intp], x: F64) -> NDArray[np.bool_]:
        """Vectorised binary search of ``x`` in the sorted members of set ``set_id``."""
        sv = self.set_sorted
        if sv.shape[0] == 0:
            return np.zeros(x.shape[0], dtype=bool)
        lo = self.set_offsets[set_id]
        end = self.set_offsets[set_id + 1]
        hi = end.copy()
        last = sv.shape[0] - 1
        for _ in range(self.set_steps):
            open_ = lo < hi
            mid = (lo + hi) >> 1
            right = open_ & (sv[np.minimum(mid, last)] < x)
            lo = np.where(right, mid + 1, lo)
            hi = np.where(open_ & ~right, mid, hi)
        return (lo < end) & (sv[np.minimum(lo, last)] == x)

    # -- one comparison per (row, tree) pair ---------------------------------------------------
    def _test(self, op: NDArray[np.uint8], x: F64, t: F64) -> NDArray[np.bool_]:
        if len(self.ops) == 1:
            return self._test_one(self.ops[0], x, t)
        out = np.empty(x.shape[0], dtype=bool)
        for code in self.ops:
            m = op == code
            if m.any():
                out[m] = self._test_one(code, x[m], t[m])
        return out

    def _test_one(self, code: int, x: F64, t: F64) -> NDArray[np.bool_]:
        with np.errstate(invalid="ignore"):
            if code == _LE:
                return x <= t
            if code == _LT:
                return x < t
            if code == _GE:
                return x >= t
            if code == _GT:
                return x > t
            if code == _EQ:
                return x == t
            if code == _NE:
                return x != t
            hit = self._in_set(t.astype(np.intp), x)
            return hit if code == _IN else ~hit

    # -- traversal -----------------------------------------------------------------------------
    def leaves(self, X: F64) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
        """Final node index of every (row, tree) pair, shape ``(n, n_trees)``, and the null mask.

        A pair whose final node is internal stopped there on a missing value (``stop``/``null``).
        """
        n, T = X.shape[0], self.n_trees
        n_features = X.shape[1]
        flat = np.ascontiguousarray(X).ravel()
        node = np.tile(self.roots, n)
        base = np.repeat(np.arange(n, dtype=np.intp) * n_features, T)
        has_nan = bool(np.isnan(flat).any())

        def step(nd: NDArray[np.intp], offs: NDArray[np.intp]) -> NDArray[np.intp]:
            x = flat.take(offs + self.feature.take(nd))
            cond = self._test(self.op.take(nd), x, self.threshold.take(nd))
            nxt = np.where(cond, self.true_child.take(nd), self.false_child.take(nd))
            if has_nan:
                miss = np.isnan(x)
                if miss.any():
                    nxt[miss] = self.missing_next.take(nd[miss])
            return nxt  # type: ignore[no-any-return]

        final = walk_padded(node, base, self.depth, step).reshape(n, T)
        return final, self.is_null[final]

    # -- aggregation ---------------------------------------------------------------------------
    def __call__(self, X: F64) -> F64:
        X = np.asarray(X, dtype=np.float64)
        if self.float32:
            with np.errstate(over="ignore"):
                X = X.astype(np.float32).astype(np.float64)
        n = X.shape[0]
        block = max(1, _BLOCK // self.n_trees)
        if n <= block:
            return self._score(X)
        return np.concatenate([self._score(X[i : i + block]) for i in range(0, n, block)])

    def _score(self, X: F64) -> F64:
        nodes, null = self.leaves(X)
        n, K = X.shape[0], self.n_outputs
        acc, w, agg = self.acc, self.weights, self.aggregation
        with np.errstate(all="ignore"):
            if agg in ("sum", "average"):
                total = np.broadcast_to(self.base, (n, K)).copy() if agg == "sum" else np.zeros((n, K), dtype=acc)
                for t in range(self.n_trees):
                    v = self.values[nodes[:, t]]
                    total += v if w is None else w[t] * v
                if agg == "average":
                    total = total / self.weight_sum + self.base
            elif agg == "majority_vote":
                votes = np.argmax(self.values[nodes], axis=2)  # (n, T); first max wins
                ww = np.ones(self.n_trees, dtype=acc) if w is None else w
                total = np.stack([((votes == k) * ww).sum(axis=1, dtype=acc) for k in range(K)], axis=1)
                total = total / self.weight_sum + self.base
            elif agg == "max":
                total = self.values[nodes].max(axis=1) + self.base
            else:  # median
                total = np.median(self.values[nodes], axis=1).astype(acc) + self.base
            out = total.astype(np.float64)
            if null.any():
                out[null.any(axis=1)] = np.nan
        return self.post(out)


def walk_padded(
    node: NDArray[np.intp],
    base: NDArray[np.intp],
    depth: int,
    step: Callable[[NDArray[np.intp], NDArray[np.intp]], NDArray[np.intp]],
) -> NDArray[np.intp]:
    """Padded traversal of (row, tree) pairs: ``depth`` times ``node = step(node, base)``.

    ``node`` holds one current node per pair (updated in place and returned), ``base`` a value per
    pair passed along (the row's offset into the flattened input). Leaves loop onto themselves, so
    a pair that stops moving has finished; finished pairs are dropped from the working set once
    they are the majority, so long thin branches cost little.

    >>> children = np.array([1, 2, 2])  # 0 -> 1 -> 2, a leaf
    >>> walk_padded(np.array([0, 1]), np.zeros(2, dtype=np.intp), 5, lambda nd, offs: children[nd]).tolist()
    [2, 2]
    """
    active: NDArray[np.intp] | None = None  # None: all pairs
    for _ in range(depth):
        nd = node if active is None else node[active]
        nxt = step(nd, base if active is None else base[active])
        moving = nxt != nd
        if active is None:
            node = nxt
        else:
            node[active] = nxt
        count = int(np.count_nonzero(moving))
        if count == 0:
            break
        if 2 * count < moving.shape[0]:
            active = np.flatnonzero(moving) if active is None else active[moving]
    return node
