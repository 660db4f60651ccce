"""Fast tree-ensemble scoring: trees laid out as perfect binary trees, scored level by level.

:class:`PerfectForest` compiles a :class:`~portamodel.ir.TreeEnsemble` whose splits are all ordered
comparisons (``<=``, ``<``, ``>=``, ``>``) and whose depth is moderate into per-level arrays with
*implicit* children: the node at position ``p`` of level ``d`` of tree ``t`` sits at index
``g = t * 2**d + p`` of the level-``d`` arrays and its children at ``2g`` (comparison false) and
``2g + 1`` (comparison true) of level ``d + 1``. A leaf above the bottom level is padded: both its
children are copies of it, so every (row, tree) pair takes exactly ``max_depth`` steps and ends at
the bottom level, where the leaf values sit.

Every split is normalised at compile time to ``y <= t'`` with a missing value going to the false
child: ``x < t`` becomes ``x <= nextafter(t, -inf)``; ``>``/``>=`` swap the children; a split whose
missing values go to the ``<=`` side tests ``-x <= nextafter(-t', -inf)`` on negated input columns
with its children swapped. NaN fails every comparison, so no NaN test is needed; only
``stop``/``null`` actions need the path a missing value takes, and for chunks that contain a NaN
those models walk level by level recording it. float32 trees compare exactly as if the input were
rounded to float32: batches are cast to float32 once and compared with :func:`float32_floor`
thresholds; single rows and small batches compare the float64 input with the float64 ``t'`` of
:func:`float32_threshold` (no cast, one numpy call fewer).

Batches (more than :data:`SMALL_BATCH` rows) take the top :data:`BATCH_TOP_LEVELS` levels
node-major (:class:`_TopLevels`: a gather of whole rows of the transposed input, one compare, the
exit positions selected with bitwise operations on the outcome bytes), then one level per step,
gathering feature, input value and threshold per (tree, row) pair, tree-major. Single rows and
small batches walk *blocks* of up to 4 levels: the ``2**r - 1`` comparisons of a subtree at once,
packed with ``np.packbits`` into an 8- or 16-bit code and mapped to the exit position by a lookup
table shared by all perfect subtrees, which cuts the number of numpy calls four-fold.

Trees are combined in tree order (:func:`tree_sum`), so sums are bit-identical to scikit-learn's
and to a tree-by-tree loop. :class:`PointerForest` applies the same normalisation to deeper trees
with explicit child pointers (padded traversal).

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
from ._tree import walk_padded

__all__ = ["PerfectForest", "PointerForest", "aggregate", "float32_threshold", "tree_sum"]

F64 = NDArray[np.float64]
IntP = NDArray[np.intp]

_LE, _LT, _GE, _GT = OP_CODE["<="], OP_CODE["<"], OP_CODE[">="], OP_CODE[">"]
ORDERED_OPS = frozenset((_LE, _LT, _GE, _GT))

#: Deepest tree laid out as a perfect tree, and the most padded slots (per level) allowed.
MAX_PERFECT_DEPTH = 12
MAX_PERFECT_SLOTS = 1 << 21
#: Rows up to which every level is walked in blocks (fewest numpy calls); above, the top block only.
SMALL_BATCH = 8
#: Top levels of a batch selected node-major (:class:`_TopLevels`); then one level per step.
BATCH_TOP_LEVELS = 3
#: (row, tree) pairs per chunk of a batch (the plan reads :attr:`PerfectForest.rows_per_chunk`).
CHUNK_PAIRS = 1 << 16

_SIGNS = np.array([[1.0], [-1.0]])  # (_SIGNS * x).reshape(-1) is [x, -x] for one row x (1, n), in one call
_F32_EDGE = float(np.finfo(np.float32).max) + 2.0**103  # the float64 values rounding to +-inf in float32 start here


def float32_threshold(t: F64) -> F64:
    """``t'`` such that ``float32(x) <= t`` exactly when ``x <= t'``, for every non-NaN float64 ``x``.

    Lets float32 trees compare the float64 input directly: ``t'`` is the midpoint between the
    largest float32 ``<= t`` and the next float32 (or just below it when a tie rounds up, by
    round-half-to-even).

    >>> t = float32_threshold(np.array([0.1]))
    >>> x = np.array([0.1, 0.10000000149011612, 0.1000000015])
    >>> (x.astype(np.float32).astype(np.float64) <= 0.1).tolist() == (x <= t).tolist()
    True
    """
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        f = t.astype(np.float32)
        f = np.where(f.astype(np.float64) > t, np.nextafter(f, np.float32(-np.inf)), f).astype(np.float32)
        up = np.nextafter(f, np.float32(np.inf))
        f64, up64 = f.astype(np.float64), up.astype(np.float64)
        mid = (f64 + up64) / 2.0
    mid = np.where(np.isposinf(up64), _F32_EDGE, np.where(np.isneginf(f64), -_F32_EDGE, mid))
    tie_rounds_down = (f.view(np.uint32) & 1) == 0  # a tie rounds to the even neighbour
    out = np.where(tie_rounds_down, mid, np.nextafter(mid, -np.inf))
    return np.where(np.isposinf(t), np.inf, out)  # type: ignore[no-any-return]


def float32_floor(t: F64) -> NDArray[np.float32]:
    """The largest float32 ``<= t`` (``-inf`` below ``-max``): ``f <= t`` exactly when ``f <= float32_floor(t)``
    for every float32 ``f``.

    >>> float32_floor(np.array([0.1, 1e300, -1e300, 0.5])).tolist()
    [0.09999999403953552, 3.4028234663852886e+38, -inf, 0.5]
    """
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        f = t.astype(np.float32)
        return np.where(f.astype(np.float64) > t, np.nextafter(f, np.float32(-np.inf)), f).astype(np.float32)


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


class _Block:
    """Tables for walking ``levels`` (<= 4) levels at once from level ``start``."""

    def __init__(self, start: int, levels: int, feat: list[IntP], thr: list[NDArray], n_trees: int) -> None:
        self.start, self.levels = start, levels
        self.width = 16 if levels == 4 else 8
        n_roots = n_trees << start
        f = np.zeros((n_roots, self.width), dtype=np.intp)
        t = np.zeros((n_roots, self.width), dtype=thr[0].dtype)
        roots = np.arange(n_roots, dtype=np.intp)
        for level in range(levels):
            for p in range(1 << level):
                g = (roots << level) + p
                j = (1 << level) - 1 + p
                f[:, j] = feat[start + level][g]
                t[:, j] = thr[start + level][g]
        self.feat, self.thr = f, t
        self.exit = _EXIT_TABLES[levels]
        self.n_roots = n_roots
        # the top block (start 0), flattened for a column gather of the input
        self.feat_cols = f.ravel()
        self.thr_cols = t.ravel()
        self.tree_base = np.arange(n_roots, dtype=np.intp) << levels

    def one_row(self, g: IntP | None, x: F64) -> IntP:
        """The single-row walk of this block: level-``start`` index ``g`` ``(T,)`` (None for the
        top block) to the level ``start + levels`` index; ``x`` is the (augmented) row."""
        if g is None:
            c = np.less_equal(x.take(self.feat_cols, mode="clip"), self.thr_cols)
        else:
            c = np.less_equal(x.take(self.feat.take(g, axis=0, mode="clip"), mode="clip"), self.thr.take(g, axis=0, mode="clip"))
        packed = np.packbits(c, bitorder="little")
        code = self.exit.take(packed.view("<u2") if self.width == 16 else packed)
        if g is None:
            return code + self.tree_base  # type: ignore[no-any-return]
        g <<= self.levels
        g += code
        return g

    def codes(self, c: NDArray[np.bool_]) -> NDArray[np.uint8]:
        """Exit positions from the comparison outcomes, ``width`` contiguous booleans per pair."""
        packed = np.packbits(c.reshape(-1), bitorder="little")
        return self.exit.take(packed.view("<u2") if self.width == 16 else packed)  # type: ignore[no-any-return]

    def top(self, X: F64) -> IntP:
        """Level-``levels`` index ``(m, T)`` of every (row, tree) pair, starting at the roots."""
        m = X.shape[0]
        # a column gather, in C order so that each pair's comparisons are contiguous for packbits
        xv = X[0].take(self.feat_cols, mode="clip") if m == 1 else np.take(X, self.feat_cols, axis=1, mode="clip")
        c = np.less_equal(xv, self.thr_cols)
        pos = self.codes(c).reshape(m, self.n_roots)
        return pos + self.tree_base  # type: ignore[no-any-return]

    def step(self, g: IntP, flat: F64, rowoff: IntP | None) -> IntP:
        """From level-``start`` index ``g`` ``(m, T)`` to the level ``start + levels`` index, per pair."""
        f = self.feat.take(g, axis=0, mode="clip")  # (m, T, width)
        if rowoff is not None:
            f += rowoff[:, :, None]
        c = flat.take(f, mode="clip") <= self.thr.take(g, axis=0, mode="clip")  # both C-ordered
        g <<= self.levels
        g += self.codes(c).reshape(g.shape)
        return g


class _TopLevels:
    """The top ``levels`` levels of every tree for a batch, node-major.

    The comparisons of the ``2**levels - 1`` top nodes of every tree are the same for all rows:
    they are one gather of whole rows of the transposed input ``(n_features, m)`` (contiguous
    copies) and one compare, giving outcomes ``(node, tree, row)``. The exit position of every
    (tree, row) pair is then selected level by level with bitwise operations on those bytes
    (``b ? x1 : x0`` is ``x0 ^ ((x0 ^ x1) & b)``), with no per-pair gather at all.
    """

    def __init__(self, levels: int, feat: list[IntP], thr: list[NDArray], n_trees: int) -> None:
        self.levels = levels
        width = (1 << levels) - 1
        f = np.zeros((width, n_trees), dtype=np.intp)
        t = np.zeros((width, n_trees), dtype=thr[0].dtype)
        trees = np.arange(n_trees, dtype=np.intp)
        for level in range(levels):
            for p in range(1 << level):
                f[(1 << level) - 1 + p] = feat[level][(trees << level) + p]
                t[(1 << level) - 1 + p] = thr[level][(trees << level) + p]
        self.feat = f.ravel()
        self.thr = t.reshape(-1, 1)
        self.shape = (width, n_trees)
        self.base = (trees << levels)[:, None]

    def __call__(self, X: NDArray) -> IntP:
        """Level-``levels`` index ``(T, m)`` (tree-major) of every pair; ``X`` is ``(m, n_features)``."""
        m = X.shape[0]
        XT = np.ascontiguousarray(X.T)
        c = np.less_equal(XT.take(self.feat, axis=0, mode="clip"), self.thr)
        c = c.view(np.uint8).reshape(*self.shape, m)  # 0/1 bytes (node, tree, row)
        bits = [c[0]]  # the outcome at each level along every pair's path
        for level in range(1, self.levels):
            cand = [c[(1 << level) - 1 + p] for p in range(1 << level)]
            for b in reversed(bits):  # the last bit chooses between neighbours, then the one before...
                cand = [_select(b, cand[2 * q + 1], cand[2 * q]) for q in range(len(cand) // 2)]
            bits.append(cand[0])
        pos = bits[0].copy()
        for b in bits[1:]:
            pos += pos
            pos += b
        return pos + self.base  # type: ignore[no-any-return]


def _select(b: NDArray[np.uint8], x1: NDArray[np.uint8], x0: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """``x1`` where ``b`` is 1, else ``x0`` (all 0/1 bytes)."""
    out = np.bitwise_xor(x0, x1)
    out &= b
    out ^= x0
    return out


class PerfectForest:
    """A compiled tree ensemble (ordered splits, moderate depth); call it with ``(n, n_features)``.

    Use :meth:`supports` to check a model first. A call scores all the rows it is given; the plan
    cuts large batches into chunks (see :mod:`._parallel`) of :attr:`rows_per_chunk` rows.
    """

    batch_top: _TopLevels | None = None
    rows_per_chunk: int

    @staticmethod
    def supports(est: TreeEnsemble) -> bool:
        """Whether ``est`` has only ordered splits and fits the perfect layout."""
        internal = est.feature >= 0
        if internal.any() and not set(np.unique(est.op[internal]).tolist()) <= ORDERED_OPS:
            return False
        depth = est.max_depth
        return depth <= MAX_PERFECT_DEPTH and (est.n_trees << depth) <= MAX_PERFECT_SLOTS

    def __init__(self, est: TreeEnsemble) -> None:
        if not self.supports(est):
            raise ValueError(f"{type(self).__name__} cannot take this ensemble; use TreeEvaluator")
        self.n_trees = est.n_trees
        self.n_outputs = est.n_outputs
        self.depth = est.max_depth
        self.n_features = len(est.features)
        self._compile_nodes(est)
        self._compile_values(est)
        if isinstance(self, PointerForest):
            self._compile_pointers()
            return
        # blocks of up to 4 levels (not used on inputs with NaN when stop/null actions need the path)
        self.blocks: list[_Block] = []
        start = 0
        while start < self.depth:
            r = min(4, self.depth - start)
            self.blocks.append(_Block(start, r, self.feat, self.thr, self.n_trees))
            start += r
        top = min(BATCH_TOP_LEVELS, self.depth)
        self.batch_top = _TopLevels(top, self.feat, self.work_thr, self.n_trees) if top else None
        self.rows_per_chunk = max(1, CHUNK_PAIRS // max(1, self.n_trees))

    def _compile_nodes(self, est: TreeEnsemble) -> None:
        """Every split as ``y <= t`` (y = x or -x) with a missing value going to the false child."""
        NF = self.n_features
        internal = est.feature >= 0
        op = est.op
        swap = internal & ((op == _GT) | (op == _GE))  # x > t == not (x <= t): children swap
        strict = internal & ((op == _LT) | (op == _GE))  # x < t == x <= nextafter(t, -inf)
        with np.errstate(over="ignore"):  # nextafter(-max, -inf) is -inf: x < -max holds only for -inf
            t = np.where(strict, np.nextafter(est.threshold, -np.inf), est.threshold)
        t_exact = t
        if est.input_dtype == "float32":
            t = float32_threshold(t)
        le = np.where(swap, est.false_child, est.true_child).astype(np.intp)
        gt = np.where(swap, est.true_child, est.false_child).astype(np.intp)
        miss = est.missing
        nan_le = internal & (((miss == MISSING_TRUE) & ~swap) | ((miss == MISSING_FALSE) & swap))
        # NaN <= t is false; where NaN must take the "<=" side, test -x <= nextafter(-t, -inf)
        # (that is x > t) instead and swap the children again.
        self.augment = bool(nan_le.any())
        feat = np.where(nan_le, est.feature + NF, est.feature)
        never = np.isposinf(t)  # x > +inf never holds; a NaN threshold fails every comparison
        with np.errstate(over="ignore"):
            thr = np.where(nan_le, np.where(never, np.nan, np.nextafter(-t, -np.inf)), t)
        # Batches of a float32 model are cast to float32 once and compared with float32 thresholds:
        # float32(x) <= t exactly when float32(x) <= float32_floor(t), and -float32(x) <= s (x > t)
        # exactly when -float32(x) <= float32_floor(nextafter(s, -inf)) for s = -t.
        self.work_dtype = np.float32 if est.input_dtype == "float32" else np.float64
        if self.work_dtype is np.float32:
            with np.errstate(over="ignore", invalid="ignore"):
                neg = np.where(never, np.nan, float32_floor(np.nextafter(-t_exact, -np.inf)))
                work_thr = np.where(nan_le, neg, float32_floor(t_exact)).astype(np.float32)
        else:
            work_thr = thr
        true_c = np.where(nan_le, gt, le)
        false_c = np.where(nan_le, le, gt)
        stop_code = np.where(internal & (miss == MISSING_STOP), 1, np.where(internal & (miss == MISSING_NULL), 2, 0))
        self.has_stop = bool(stop_code.any())
        own = np.arange(est.n_nodes, dtype=np.intp)
        true_c = np.where(internal, true_c, own)  # leaves loop onto themselves
        false_c = np.where(internal, false_c, own)
        feat = np.where(internal, feat, 0).astype(np.intp)
        thr = np.where(internal, thr, 0.0)
        work_thr = np.where(internal, work_thr, 0).astype(self.work_dtype)
        self._nodes = (feat, thr, true_c, false_c, stop_code)
        self.tree_roots = est.roots.astype(np.intp)
        if isinstance(self, PointerForest):
            self.leaf_nodes = own
            return

        # level by level: the real node behind every slot (a leaf repeats itself downwards)
        self.feat: list[IntP] = []
        self.thr: list[F64] = []
        self.work_thr: list[NDArray] = []  # thresholds in the batch dtype
        self.real: list[IntP] = []  # real node of each slot (stop actions)
        self.stop: list[NDArray[np.int8]] = []
        cur = est.roots.astype(np.intp)
        for _ in range(self.depth):
            self.feat.append(feat[cur])
            self.thr.append(thr[cur])
            self.work_thr.append(work_thr[cur])
            self.real.append(cur)
            self.stop.append(stop_code[cur].astype(np.int8))
            nxt = np.empty(cur.shape[0] * 2, dtype=np.intp)
            nxt[0::2] = false_c[cur]
            nxt[1::2] = true_c[cur]
            cur = nxt
        self.leaf_nodes = cur  # (T * 2**depth,)

    def _compile_values(self, est: TreeEnsemble) -> None:
        acc = np.float32 if est.accumulate_dtype == "float32" else np.float64
        self.acc = acc
        self.aggregation = est.aggregation
        values = est.values.astype(acc)
        w = est.tree_weights
        tree_of = est.tree_of_node()
        if est.aggregation in ("sum", "average") and w is not None:
            values = (w.astype(acc)[tree_of][:, None] * values).astype(acc)
        self.node_values = values  # by real node id (stop actions)
        leaf = values[self.leaf_nodes]
        self.leaf_values = np.ascontiguousarray(leaf[:, 0]) if self.n_outputs == 1 else leaf
        # output-major (K, slots) for one row: its leaves gather to (K, T), summed along the
        # contiguous axis (an accumulate over axis 0 of (T, K) steps with a stride and is 3x slower)
        self.leaf_values_t = None if self.n_outputs == 1 else np.ascontiguousarray(leaf.T)
        self.weights = None if w is None else w.astype(acc)
        self.weight_sum = acc(self.n_trees) if w is None else acc(np.sum(w, dtype=acc))
        base = est.base_score.astype(acc)  # type: ignore[union-attr]
        self.base = None if not base.any() else base
        self.post = NORMALIZATION_FUNCTIONS[est.post_transform]
        self.post_identity = est.post_transform == "identity"
        # Can the combination overflow or divide by zero? If not, no errstate is needed (it costs
        # microseconds per call).
        per_tree = np.zeros(self.n_trees)
        with np.errstate(invalid="ignore"):  # NaN leaves ("no prediction") make the bound NaN: not quiet
            np.maximum.at(per_tree, tree_of, np.abs(values).max(axis=1).astype(np.float64))
        bound = float(per_tree.sum()) + (0.0 if self.base is None else float(np.abs(base).max()))
        limit = float(np.finfo(acc).max) / 4
        self.quiet = bool(np.isfinite(bound) and bound < limit and self.weight_sum > 0 and np.isfinite(self.weight_sum))

    # -- traversal -----------------------------------------------------------------------------
    def leaves(self, X: F64, track: bool = False) -> tuple[IntP, IntP | None]:
        """Bottom-level slot of every (row, tree) pair, **tree-major** ``(T, m)``, and the stop record.

        ``X`` holds the features (and their negations when :attr:`augment`). With ``track`` (the
        model has stop/null actions and ``X`` has a NaN) the walk records, per pair, -1 (no stop),
        the real node a ``stop`` action ended at, or -2 for ``null``; otherwise the record is None.
        """
        m = X.shape[0]
        if track or not self.blocks:
            g, stop = self._levels(X, track)
            return g.T, None if stop is None else stop.T
        flat = X.reshape(-1)
        rowoff = None if m == 1 else (np.arange(m, dtype=np.intp) * X.shape[1])[:, None]
        g = self.blocks[0].top(X)
        for block in self.blocks[1:]:
            g = block.step(g, flat, rowoff)
        return g.T, None

    def batch_leaves(self, X: F64) -> IntP:
        """Bottom-level slot of every (row, tree) pair, **tree-major** ``(T, m)``, for a batch.

        ``X`` holds the features only (no negations, no NaN when the model has stop/null actions).
        It is cast once to the working dtype (float32 for float32 models), negated columns are
        appended when :attr:`augment`, then the top block (a column gather) and level steps follow.
        """
        m = X.shape[0]
        if self.work_dtype is np.float32:
            with np.errstate(over="ignore"):
                X = X.astype(np.float32)
        if self.augment:
            X = np.concatenate((X, np.negative(X)), axis=1)
        flat = X.reshape(-1)
        rowoff = np.arange(m, dtype=np.intp) * X.shape[1]
        top = self.batch_top
        assert top is not None
        g = top(X)  # (T, m)
        f = np.empty_like(g)
        v = np.empty(g.shape, dtype=X.dtype)
        t = np.empty(g.shape, dtype=X.dtype)
        c = np.empty(g.shape, dtype=bool)
        for d in range(top.levels, self.depth):
            np.take(self.feat[d], g, out=f, mode="clip")
            f += rowoff
            np.take(flat, f, out=v, mode="clip")
            np.take(self.work_thr[d], g, out=t, mode="clip")
            np.less_equal(v, t, out=c)
            g += g
            g += c
        return g

    def _levels(self, X: F64, track: bool) -> tuple[IntP, IntP | None]:
        """Row-major walk ``(m, T)`` level by level from the roots, recording stops if ``track``."""
        m = X.shape[0]
        flat = X.reshape(-1)
        rowoff = None if m == 1 else (np.arange(m, dtype=np.intp) * X.shape[1])[:, None]
        g = np.empty((m, self.n_trees), dtype=np.intp)
        g[:] = np.arange(self.n_trees, dtype=np.intp)
        stop = np.full((m, self.n_trees), -1, dtype=np.intp) if track else None
        f = np.empty_like(g)
        v = np.empty(g.shape, dtype=np.float64)
        t = np.empty(g.shape, dtype=np.float64)
        c = np.empty(g.shape, dtype=bool)
        for d in range(self.depth):
            np.take(self.feat[d], g, out=f, mode="clip")
            if rowoff is not None:
                f += rowoff
            np.take(flat, f, out=v, mode="clip")
            np.take(self.thr[d], g, out=t, mode="clip")
            np.less_equal(v, t, out=c)
            if stop is not None:
                self._record_stops(d, g, v, stop)
            g += g
            g += c
        return g, stop

    def _record_stops(self, d: int, g: IntP, v: F64, stop: IntP) -> None:
        miss = np.isnan(v)
        if not miss.any():
            return
        rows, cols = np.nonzero(miss)
        gm = g[rows, cols]
        code = self.stop[d].take(gm)
        keep = (code > 0) & (stop[rows, cols] == -1)  # only the first stop on a path counts
        rows, cols, code, gm = rows[keep], cols[keep], code[keep], gm[keep]
        stop[rows, cols] = np.where(code == 1, self.real[d].take(gm), -2)

    # -- aggregation ---------------------------------------------------------------------------
    def __call__(self, X: F64) -> F64:
        m = X.shape[0]
        if m == 0 or self.depth == 0:
            g = np.empty((self.n_trees, m), dtype=np.intp)
            g[:] = np.arange(self.n_trees, dtype=np.intp)[:, None]
            stop = None
        else:
            track = self.has_stop and bool(np.isnan(X).any())
            if m == 1 and not track and self.batch_top is not None:
                # the fewest numpy calls: one gather per block, no chunk-sized buffers
                x = (_SIGNS * X).reshape(-1) if self.augment else X.reshape(-1)
                leaf = None
                for block in self.blocks:
                    leaf = block.one_row(leaf, x)
                assert leaf is not None
                if self.quiet and self.aggregation in ("sum", "average"):
                    return self._sum_one_row(leaf)
                g, stop = leaf[:, None], None
            elif m > SMALL_BATCH and not track and self.batch_top is not None:
                g, stop = self.batch_leaves(X), None
            else:
                if self.augment:
                    X = np.concatenate((X, np.negative(X)), axis=1)
                g, stop = self.leaves(X, track)
        # tree-major values (T, m[, K]) so that summing over trees runs in tree order
        vals = self.leaf_values.take(g, axis=None if self.n_outputs == 1 else 0, mode="clip")
        null = None
        if stop is not None:
            stopped = stop >= 0
            if stopped.any():
                vals[stopped] = self.node_values[stop[stopped]].reshape(vals[stopped].shape)
            nulls = stop == -2
            if nulls.any():
                null = nulls.any(axis=0)
        if self.quiet and null is None and self.aggregation in ("sum", "average"):
            return self._sum(vals, m)
        with np.errstate(all="ignore"):
            vals = vals.reshape(self.n_trees, m, self.n_outputs)
            return aggregate(vals, self.aggregation, self.base, self.weights, self.weight_sum, null, self.post)

    def _sum_one_row(self, leaf: IntP) -> F64:
        """:meth:`_sum` for one row from its leaf slots ``(T,)``: the same additions in the same order."""
        K = self.n_outputs
        if K == 1:
            vals = self.leaf_values.take(leaf, mode="clip")  # (T,)
            if self.base is not None and self.aggregation == "sum":
                vals[0] += self.base[0]
            total = np.add.accumulate(vals)[-1:]  # in tree order
        else:
            assert self.leaf_values_t is not None
            vals = self.leaf_values_t.take(leaf, axis=1, mode="clip")  # (K, T)
            if self.base is not None and self.aggregation == "sum":
                vals[:, 0] += self.base
            total = np.add.accumulate(vals, axis=1)[:, -1]  # in tree order
        if self.aggregation == "average":
            total = total / self.weight_sum
            if self.base is not None:
                total += self.base
        out = total.reshape(1, K)
        if out.dtype != np.float64:
            out = out.astype(np.float64)
        return out if self.post_identity else self.post(out)

    def _sum(self, vals: NDArray, m: int) -> F64:
        """Sums and averages that cannot overflow: the fewest numpy calls (the single-row path)."""
        if self.base is not None and self.aggregation == "sum":
            vals[0] += self.base if self.n_outputs > 1 else self.base[0]
        total = tree_sum(vals.reshape(self.n_trees, -1))
        if self.aggregation == "average":
            total /= self.weight_sum
            if self.base is not None:
                total = total.reshape(m, self.n_outputs)
                total += self.base
        out = total.reshape(m, self.n_outputs)
        if out.dtype != np.float64:
            out = out.astype(np.float64)
        return out if self.post_identity else self.post(out)


class PointerForest(PerfectForest):
    """Deep trees with ordered splits: explicit child pointers, the same normalised comparisons.

    Padded traversal: leaves loop onto themselves, every (row, tree) pair steps ``max_depth`` times
    (``node = children[2 * node + (y <= t)]``), and pairs that have reached a leaf are dropped from
    the working set once they are the majority, so long thin branches cost little. Models with
    ``stop``/``null`` actions use :class:`~._tree.TreeEvaluator` instead.

    >>> from portamodel.ir import TreeEnsemble
    >>> stump = TreeEnsemble(
    ...     features=("x",), roots=[0], feature=[0, -1, -1], threshold=[0.5, 0, 0], op=[1, 0, 0],
    ...     true_child=[1, -1, -1], false_child=[2, -1, -1], missing=[1, 0, 0],
    ...     values=[[0.0], [1.0], [2.0]])
    >>> PointerForest(stump)(np.array([[0.0], [0.5], [np.nan]])).ravel().tolist()
    [1.0, 2.0, 1.0]
    """

    @staticmethod
    def supports(est: TreeEnsemble) -> bool:
        """Whether ``est`` has only ordered splits and no stop/null missing actions."""
        internal = est.feature >= 0
        if internal.any() and not set(np.unique(est.op[internal]).tolist()) <= ORDERED_OPS:
            return False
        return not bool(np.isin(est.missing[internal], (MISSING_STOP, MISSING_NULL)).any())

    def _compile_pointers(self) -> None:
        feat, thr, true_c, false_c, _ = self._nodes
        self.node_feat, self.node_thr = feat, thr
        children = np.empty(2 * feat.shape[0], dtype=np.intp)
        children[0::2] = false_c
        children[1::2] = true_c
        self.children = children
        del self._nodes

    def leaves(self, X: F64, track: bool = False) -> tuple[IntP, IntP | None]:
        m, T = X.shape[0], self.n_trees
        flat = X.reshape(-1)
        node = np.repeat(self.tree_roots[None, :], m, axis=0).reshape(-1)  # (m * T,) row-major pairs
        base = np.repeat(np.arange(m, dtype=np.intp) * X.shape[1], T)

        def step(nd: IntP, offs: IntP) -> IntP:
            f = self.node_feat.take(nd, mode="clip")
            f += offs
            c = flat.take(f, mode="clip") <= self.node_thr.take(nd, mode="clip")
            nxt = nd + nd
            nxt += c
            return self.children.take(nxt, mode="clip")  # type: ignore[no-any-return]

        node = walk_padded(node, base, self.depth, step)
        return node.reshape(m, T).T, None


_sequential_reduce: bool | None = None


def _reduce_is_sequential() -> bool:
    """Does ``np.add.reduce(a, axis=0)`` of a C-ordered ``(T, N >= 2)`` array add row after row?

    numpy does (its pairwise summation applies along the contiguous axis only); checked once on an
    example where the order changes the result, so another numpy falls back to accumulate.
    """
    global _sequential_reduce
    if _sequential_reduce is None:
        a = np.array([[1e16, 1e16], [1.0, 1.0], [-1e16, -1e16], [1.0, 1.0]] * 5 + [[0.5, 0.5]] * 20)
        seq = a[0].copy()
        for row in a[1:]:
            seq = seq + row
        _sequential_reduce = bool(np.array_equal(np.add.reduce(a, axis=0), seq))
    return _sequential_reduce


def tree_sum(vals: NDArray) -> NDArray:
    """Sum over axis 0 in order (``((v0 + v1) + v2) + ...``), bit for bit a tree-by-tree loop.

    >>> v = np.array([[1e16], [1.0], [-1e16], [1.0]])
    >>> tree_sum(v).tolist()
    [1.0]
    """
    if vals.shape[0] == 1:
        return vals[0].copy()
    if vals.ndim == 2 and vals.shape[1] >= 2 and _reduce_is_sequential():
        return np.add.reduce(vals, axis=0)  # type: ignore[no-any-return]
    return np.add.accumulate(vals, axis=0)[-1]  # type: ignore[no-any-return]


def aggregate(vals, aggregation, base, weights, weight_sum, null, post):  # type: ignore[no-untyped-def]
    """Combine tree-major values ``(T, m, K)`` (tree weights already applied for sums/averages).

    Sums run in tree order (see :func:`tree_sum`). ``base`` is None for an all-zero base score.
    """
    T, m, K = vals.shape
    acc = vals.dtype.type
    zero = np.zeros(K, dtype=acc) if base is None else base
    if aggregation in ("sum", "average"):
        if aggregation == "sum":
            vals[0] += zero
        total = tree_sum(vals.reshape(T, m * K)).reshape(m, K)
        if aggregation == "average":
            total = total / weight_sum + zero
    elif aggregation == "majority_vote":
        votes = np.argmax(vals, axis=2)  # (T, m); the first maximum wins
        w = np.ones(T, dtype=acc) if weights is None else weights
        onehot = np.zeros((T, m, K), dtype=acc)
        np.put_along_axis(onehot, votes[:, :, None], np.broadcast_to(w[:, None, None], (T, m, 1)), axis=2)
        total = tree_sum(onehot.reshape(T, m * K)).reshape(m, K) / weight_sum + zero
    elif aggregation == "max":
        total = vals.max(axis=0) + zero
    else:  # median
        total = np.median(vals, axis=0).astype(acc) + zero
    out = total.astype(np.float64)
    if null is not None:
        out[null] = np.nan
    return post(out)
