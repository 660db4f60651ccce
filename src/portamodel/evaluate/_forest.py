"""Fast tree-ensemble scoring: trees laid out as perfect binary trees, scored level by level.

:class:`PerfectForest` compiles a :class:`~portamodel.ir.TreeEnsemble` whose splits are all ordered
comparisons (``<=``, ``<``, ``>=``, ``>``) and whose depth is moderate into per-level arrays with
*implicit* children: the node at position ``p`` of level ``d`` of tree ``t`` sits at index
``g = t * 2**d + p`` of the level-``d`` arrays and its children at ``2g`` (comparison false) and
``2g + 1`` (comparison true) of level ``d + 1``. A leaf above the bottom level is padded: both its
children are copies of it, so every (row, tree) pair takes exactly ``max_depth`` steps and ends at
the bottom level, where the leaf values sit.

Every comparison is normalised at compile time to ``x <= t'`` (``x < t`` becomes
``x <= nextafter(t, -inf)``, ``>``/``>=`` swap the children), which is exact for every non-missing
float64 ``x``; missing values (NaN) take each node's precompiled direction, and ``stop``/``null``
actions are tracked per pair, only for chunks that contain a NaN.

Two kernels walk the levels:

- *block*: ``r <= 4`` levels at once. The ``2**r - 1`` comparisons of the whole subtree are
  evaluated at once, packed into an integer (8 or 16 bits, by a multiply-shift on the boolean
  bytes) and mapped to the exit position by a lookup table shared by all perfect subtrees. The top
  block of every tree is the same for all rows, so its features are gathered column-wise from the
  input (cheap); deeper blocks gather per pair and are used only for a few rows (the single-row
  path), where they cut the number of numpy calls four-fold.
- *level*: one level per step, gathering feature, threshold and input value per (row, tree) pair.

Trees are combined in tree order (``np.add.accumulate`` along the tree axis is sequential), so sums
are bit-identical to scikit-learn's and to the reference evaluator.

>>> from portamodel.ir import TreeEnsemble
>>> stump = TreeEnsemble(
...     features=("x",), roots=[0], feature=[0, -1, -1], threshold=[0.5, 0, 0], op=[0, 0, 0],
...     true_child=[1, -1, -1], false_child=[2, -1, -1], missing=[0, 0, 0],
...     values=[[0.0], [1.0], [2.0]])
>>> PerfectForest.supports(stump)
True
>>> PerfectForest(stump)(np.array([[0.0], [1.0], [np.nan]])).ravel().tolist()
[1.0, 2.0, 2.0]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..ir import TreeEnsemble
from ..ir.tree import MISSING_FALSE, MISSING_NULL, MISSING_STOP, MISSING_TRUE, OP_CODE
from ._transforms import NORMALIZATION_FUNCTIONS

__all__ = ["PerfectForest", "aggregate"]

F64 = NDArray[np.float64]
IntP = NDArray[np.intp]

_LE, _LT, _GE, _GT = OP_CODE["<="], OP_CODE["<"], OP_CODE[">="], OP_CODE[">"]
ORDERED_OPS = frozenset((_LE, _LT, _GE, _GT))

#: Deepest tree laid out as a perfect tree, and the most padded slots (per level) allowed.
MAX_PERFECT_DEPTH = 12
MAX_PERFECT_SLOTS = 1 << 21
#: Rows up to which every level is walked in blocks (fewest numpy calls); above, the top block only.
SMALL_BATCH = 8

_MAGIC = np.uint64(0x0102040810204080)  # (8 bytes of 0/1) * _MAGIC >> 56 == the 8 bits packed
_SHIFT56 = np.uint64(56)
_SHIFT8 = np.uint64(8)


def _exit_table(levels: int) -> NDArray[np.uint8]:
    """Exit position (0 .. 2**levels - 1) of a perfect subtree for every packed comparison pattern.

    Bit ``j`` of the pattern is the outcome at heap node ``j`` (children of ``j``: ``2j+1`` false,
    ``2j+2`` true); bits beyond the subtree's nodes are padding and ignored.
    """
    width = 16 if levels == 4 else 8
    pattern = np.arange(1 << width, dtype=np.int64)
    pos = np.zeros_like(pattern)
    for level in range(levels):
        heap = (1 << level) - 1 + pos
        pos = 2 * pos + ((pattern >> heap) & 1)
    return pos.astype(np.uint8)


_EXIT_TABLES = {r: _exit_table(r) for r in (1, 2, 3, 4)}


def _pack(c: NDArray[np.bool_]) -> NDArray[np.uint64]:
    """Pack the last axis (8 or 16 booleans, contiguous) into one integer per row."""
    words = c.view("<u8")
    bits = words * _MAGIC
    bits >>= _SHIFT56
    if words.shape[-1] == 1:
        return bits[..., 0]
    hi = bits[..., 1]
    hi <<= _SHIFT8
    hi |= bits[..., 0]
    return hi


class _Block:
    """Tables for walking ``levels`` levels at once from level ``start``."""

    def __init__(self, start: int, levels: int, feat: list[IntP], thr: list[F64], nan_le: list[NDArray[np.bool_]], n_trees: int) -> None:
        self.start, self.levels = start, levels
        self.width = 16 if levels == 4 else 8
        n_roots = n_trees << start
        f = np.zeros((n_roots, self.width), dtype=np.intp)
        t = np.zeros((n_roots, self.width), dtype=np.float64)
        m = np.zeros((n_roots, self.width), dtype=bool)
        roots = np.arange(n_roots, dtype=np.intp)
        for level in range(levels):
            d = start + level
            for p in range(1 << level):
                g = (roots << level) + p
                j = (1 << level) - 1 + p
                f[:, j] = feat[d][g]
                t[:, j] = thr[d][g]
                m[:, j] = nan_le[d][g]
        self.feat, self.thr, self.nan_le = f, t, m
        self.exit = _EXIT_TABLES[levels]
        # the top block, flattened for a column gather of the input
        self.feat_cols = f.ravel()
        self.thr_cols = t.ravel()
        self.nan_cols = m.ravel()

    def top(self, X: F64, has_nan: bool) -> IntP:
        """Level-``levels`` global index (``m``, ``n_trees``) for every row, from the roots."""
        m = X.shape[0]
        xv = X[:, self.feat_cols]  # (m, T * width), a column gather (possibly Fortran-ordered)
        c = np.empty(xv.shape, dtype=bool)  # C order: each pair's bits contiguous for _pack
        np.less_equal(xv, self.thr_cols, out=c)
        if has_nan:
            miss = np.isnan(xv)
            c[miss] = np.broadcast_to(self.nan_cols, xv.shape)[miss]
        code = _pack(c.reshape(m, self.feat.shape[0], self.width))
        pos = self.exit.take(code)
        g = np.arange(pos.shape[1], dtype=np.intp) << self.levels
        return g + pos  # type: ignore[no-any-return]

    def step(self, g: IntP, flat: F64, rowoff: IntP | None, has_nan: bool) -> IntP:
        """From level ``start`` index ``g`` (m, T) to level ``start + levels`` index, per pair."""
        f = self.feat.take(g, axis=0, mode="clip")  # (m, T, width)
        if rowoff is not None:
            f += rowoff[:, :, None]
        xv = flat.take(f, mode="clip")
        c = np.empty(xv.shape, dtype=bool)
        np.less_equal(xv, self.thr.take(g, axis=0, mode="clip"), out=c)
        if has_nan:
            miss = np.isnan(xv)
            if miss.any():
                c[miss] = self.nan_le.take(g, axis=0, mode="clip")[miss]
        pos = self.exit.take(_pack(c))
        g <<= self.levels
        g += pos
        return g


class PerfectForest:
    """A compiled tree ensemble (ordered splits, moderate depth); call it with ``(n, n_features)``.

    Use :meth:`supports` to check a model first. Calling it scores all rows at once; callers chunk
    the rows (see :mod:`._parallel`).
    """

    @staticmethod
    def supports(est: TreeEnsemble) -> bool:
        """Whether ``est`` has only ordered splits and fits the perfect layout."""
        internal = est.feature >= 0
        if not internal.any():
            return True
        if not set(np.unique(est.op[internal]).tolist()) <= ORDERED_OPS:
            return False
        depth = est.max_depth
        return depth <= MAX_PERFECT_DEPTH and (est.n_trees << depth) <= MAX_PERFECT_SLOTS

    def __init__(self, est: TreeEnsemble) -> None:
        if not self.supports(est):
            raise ValueError("PerfectForest needs ordered splits and a moderate depth; use TreeEvaluator")
        T = self.n_trees = est.n_trees
        self.n_outputs = est.n_outputs
        D = self.depth = est.max_depth
        self.float32 = est.input_dtype == "float32"
        self.n_features = len(est.features)
        internal = est.feature >= 0
        op = est.op
        # normalise to x <= t': children (le, gt) and the missing direction
        swap = internal & ((op == _GT) | (op == _GE))
        strict = internal & ((op == _LT) | (op == _GE))
        thr = np.where(strict, np.nextafter(est.threshold, -np.inf), est.threshold)
        le_child = np.where(swap, est.false_child, est.true_child).astype(np.intp)
        gt_child = np.where(swap, est.true_child, est.false_child).astype(np.intp)
        miss = est.missing
        nan_le = ((miss == MISSING_TRUE) & ~swap) | ((miss == MISSING_FALSE) & swap)
        stop_code = np.where(internal & (miss == MISSING_STOP), 1, np.where(internal & (miss == MISSING_NULL), 2, 0))
        self.has_stop = bool(stop_code.any())
        self_index = np.arange(est.n_nodes, dtype=np.intp)
        le_child = np.where(internal, le_child, self_index)
        gt_child = np.where(internal, gt_child, self_index)
        feat_all = np.where(internal, est.feature, 0).astype(np.intp)
        thr_all = np.where(internal, thr, 0.0)
        nan_all = np.where(internal, nan_le, False)

        # level by level: the real node behind every slot (leaves repeat themselves downwards)
        self.feat: list[IntP] = []
        self.thr: list[F64] = []
        self.nan_le: list[NDArray[np.bool_]] = []
        self.real: list[IntP] = []  # real node of each slot (for stop actions)
        self.stop: list[NDArray[np.int8]] = []
        cur = est.roots.astype(np.intp)
        for _ in range(D):
            self.feat.append(feat_all[cur])
            self.thr.append(thr_all[cur])
            self.nan_le.append(nan_all[cur])
            self.real.append(cur)
            self.stop.append(stop_code[cur].astype(np.int8))
            nxt = np.empty(cur.shape[0] * 2, dtype=np.intp)
            nxt[0::2] = gt_child[cur]
            nxt[1::2] = le_child[cur]
            cur = nxt
        leaf_nodes = cur  # (T * 2**D,)

        # values, pre-multiplied by the tree weights for sums and averages
        self.acc = np.float32 if est.accumulate_dtype == "float32" else np.float64
        acc = self.acc
        self.aggregation = est.aggregation
        tree_of = est.tree_of_node()
        values = est.values.astype(acc)
        w = est.tree_weights
        if est.aggregation in ("sum", "average") and w is not None:
            values = (w.astype(acc)[tree_of][:, None] * values).astype(acc)
        self.node_values = values  # by real node id (stop actions)
        K = self.n_outputs
        self.leaf_values = values[leaf_nodes] if K > 1 else np.ascontiguousarray(values[leaf_nodes, 0])
        self.weights = None if w is None else w.astype(acc)
        self.weight_sum = acc(T) if w is None else acc(np.sum(w, dtype=acc))
        self.base = est.base_score.astype(acc)  # type: ignore[union-attr]
        self.post = NORMALIZATION_FUNCTIONS[est.post_transform]

        # blocks of up to 4 levels (not used when stop/null actions need the path)
        self.blocks: list[_Block] = []
        if not self.has_stop and D > 0:
            start = 0
            while start < D:
                r = min(4, D - start)
                self.blocks.append(_Block(start, r, self.feat, self.thr, self.nan_le, T))
                start += r

    # -- traversal -----------------------------------------------------------------------------
    def leaves(self, X: F64) -> tuple[IntP, IntP | None]:
        """Bottom-level slot ``(m, T)`` of every (row, tree) pair, and the stop record (or None).

        The stop record holds, per pair, -1 (no stop), the real node a ``stop`` action ended at,
        or -2 for ``null``.
        """
        m, T = X.shape[0], self.n_trees
        if self.depth == 0:
            return np.broadcast_to(np.arange(T, dtype=np.intp), (m, T)).copy(), None
        has_nan = bool(np.isnan(X).any())
        flat = X.ravel()
        rowoff = None if m == 1 else (np.arange(m, dtype=np.intp) * X.shape[1])[:, None]
        level = 0
        if self.blocks:
            top = self.blocks[0]
            g = top.top(X, has_nan)
            level = top.levels
            if m <= SMALL_BATCH:
                for block in self.blocks[1:]:
                    g = block.step(g, flat, rowoff, has_nan)
                return g, None
        else:
            g = np.broadcast_to(np.arange(T, dtype=np.intp), (m, T)).copy()
        stop = np.full((m, T), -1, dtype=np.intp) if self.has_stop and has_nan else None
        f = np.empty((m, T), dtype=np.intp)
        v = np.empty((m, T), dtype=np.float64)
        t = np.empty((m, T), dtype=np.float64)
        c = np.empty((m, T), dtype=bool)
        for d in range(level, self.depth):
            np.take(self.feat[d], g, out=f, mode="clip")
            if rowoff is not None:
                f += rowoff
            np.take(flat, f, out=v, mode="clip")
            np.take(self.thr[d], g, out=t, mode="clip")
            np.less_equal(v, t, out=c)
            if has_nan:
                miss = np.isnan(v)
                if miss.any():
                    gm = g[miss]
                    c[miss] = self.nan_le[d].take(gm)
                    if stop is not None:
                        self._record_stops(d, miss, gm, stop)
            g += g
            g += c
        return g, stop

    def _record_stops(self, d: int, miss: NDArray[np.bool_], gm: IntP, stop: IntP) -> None:
        code = self.stop[d].take(gm)
        hit = code > 0
        if not hit.any():
            return
        rows, cols = np.nonzero(miss)
        rows, cols, code, gm = rows[hit], cols[hit], code[hit], gm[hit]
        fresh = stop[rows, cols] == -1  # only the first stop on a path counts
        rows, cols, code, gm = rows[fresh], cols[fresh], code[fresh], gm[fresh]
        stop[rows, cols] = np.where(code == 1, self.real[d].take(gm), -2)

    # -- aggregation ---------------------------------------------------------------------------
    def __call__(self, X: F64) -> F64:
        if self.float32:
            with np.errstate(over="ignore"):
                X = X.astype(np.float32).astype(np.float64)
        g, stop = self.leaves(X)
        if self.n_outputs == 1:
            vals = self.leaf_values.take(g, mode="clip")[:, :, None]
        else:
            vals = self.leaf_values.take(g, axis=0, mode="clip")
        null = None
        if stop is not None:
            stopped = stop >= 0
            if stopped.any():
                vals[stopped] = self.node_values[stop[stopped]]
            nulls = stop == -2
            if nulls.any():
                null = nulls.any(axis=1)
        return aggregate(vals, self.aggregation, self.base, self.weights, self.weight_sum, null, self.post)


def aggregate(vals, aggregation, base, weights, weight_sum, null, post):  # type: ignore[no-untyped-def]
    """Combine per-tree values ``(m, T, K)`` (weights already applied for sums/averages).

    Sums run in tree order (``np.add.accumulate`` is sequential), matching a tree-by-tree loop
    bit for bit.
    """
    m, T, K = vals.shape
    acc = vals.dtype.type
    with np.errstate(all="ignore"):
        if aggregation in ("sum", "average"):
            if aggregation == "sum":
                vals[:, 0] += base
            total = np.add.accumulate(vals, axis=1)[:, -1] if T > 1 else vals[:, 0]
            if aggregation == "average":
                total = total / weight_sum + base
        elif aggregation == "majority_vote":
            votes = np.argmax(vals, axis=2)  # (m, T); the first maximum wins
            w = np.ones(T, dtype=acc) if weights is None else weights
            onehot = np.zeros((m, T, K), dtype=acc)
            np.put_along_axis(onehot, votes[:, :, None], np.broadcast_to(w[None, :, None], (m, T, 1)), axis=2)
            total = (np.add.accumulate(onehot, axis=1)[:, -1] if T > 1 else onehot[:, 0]) / weight_sum + base
        elif aggregation == "max":
            total = vals.max(axis=1) + base
        else:  # median
            total = np.median(vals, axis=1).astype(acc) + base
        out = total.astype(np.float64)
        if null is not None:
            out[null] = np.nan
    return post(out)
