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

import numpy as np
from numpy.typing import NDArray

from ..ir import TreeEnsemble
from ..ir.tree import MISSING_NULL, MISSING_STOP, MISSING_TRUE, OP_CODE
from ._transforms import NORMALIZATION_FUNCTIONS

__all__ = ["TreeEvaluator"]

F64 = NDArray[np.float64]
_BLOCK = 1 << 20  # (row, tree) pairs per block

_LE, _LT, _GE, _GT, _EQ, _NE, _IN, _NOT_IN = (OP_CODE[o] for o in ("<=", "<", ">=", ">", "==", "!=", "in", "not_in"))


class TreeEvaluator:
    """A compiled tree ensemble: call it with the feature matrix ``(n, n_features)``."""

    def __init__(self, est: TreeEnsemble) -> None:
        self.n_trees = est.n_trees
        self.n_outputs = est.n_outputs
        self.roots = est.roots.astype(np.intp)
        self.feature = np.maximum(est.feature, 0).astype(np.intp)
        self.is_leaf = est.feature < 0
        self.threshold = est.threshold
        self.op = est.op
        self.true_child = est.true_child.astype(np.intp)
        self.false_child = est.false_child.astype(np.intp)
        self.missing = est.missing
        internal = ~self.is_leaf
        self.ops = tuple(int(o) for o in np.unique(est.op[internal]))
        self.may_stop = bool(np.isin(est.missing[internal], (MISSING_STOP, MISSING_NULL)).any())
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
        """Final node index of every (row, tree) pair, shape ``(n, n_trees)``, and the null mask."""
        n, T = X.shape[0], self.n_trees
        node = np.tile(self.roots, n)
        null = np.zeros(n * T, dtype=bool)
        active = np.flatnonzero(~self.is_leaf[node])
        rows = active // T
        while active.size:
            nd = node[active]
            x = X[rows, self.feature[nd]]
            nxt = np.where(self._test(self.op[nd], x, self.threshold[nd]), self.true_child[nd], self.false_child[nd])
            miss = np.isnan(x)
            done = None
            if miss.any():
                act = self.missing[nd[miss]]
                nm = nd[miss]
                nxt[miss] = np.where(act == MISSING_TRUE, self.true_child[nm], self.false_child[nm])
                if self.may_stop:
                    stop = (act == MISSING_STOP) | (act == MISSING_NULL)
                    if stop.any():
                        where = np.flatnonzero(miss)[stop]
                        nxt[where] = nd[where]
                        null[active[where[act[stop] == MISSING_NULL]]] = True
                        done = np.zeros(active.shape[0], dtype=bool)
                        done[where] = True
            node[active] = nxt
            keep = ~self.is_leaf[nxt]
            if done is not None:
                keep &= ~done
            active, rows = active[keep], rows[keep]
        return node.reshape(n, T), null.reshape(n, T)

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
