"""IR tree ensembles -> ai.onnx.ml TreeEnsembleRegressor (ml opsets 1 and 3) or TreeEnsemble (ml opset 5).

``tree_opset`` 3 and 5 read a double [N, F] input with double thresholds
(``nodes_values_as_tensor`` / ``nodes_splits``), so comparisons are exact; the IR's
``input_dtype="float32"`` becomes a round trip through float before the trees. ``tree_opset=1``
(float attributes only, for old runtimes) compares float32 inputs with float32 thresholds, rounded
so that every decision stays the same for float32 inputs: ``<=`` and ``>`` round the threshold
down to the largest float32 not above it, ``<`` and ``>=`` round it up, ``==`` keeps only a float32
threshold (otherwise the test can never hold). Float64 comparisons, and leaf values or sums that
float32 cannot hold, are reported as losses. The node only sums (or averages, or takes the maximum); the
rest of the IR's aggregation and the output transform are separate nodes, which sidesteps
onnxruntime's TreeEnsemble post-transform quirks:

- ``average`` and ``majority_vote`` sum (one-hot votes for ``majority_vote``) and divide by the
  weight total in double; tree weights scale the leaf values;
- ``median`` gives each tree its own targets and takes the middle of a TopK sort;
- IR operators onnxruntime lacks are rewritten: ``!=`` is ``==`` with the branches swapped, set
  splits are chains of ``==`` sharing their true branch (never ``BRANCH_MEMBER``: onnxruntime
  truncates the input to an integer before testing integer sets), an empty set always goes one way;
- ``accumulate_dtype="float32"``: onnxruntime adds tree scores in the threshold type (double for
  ml opsets 3 and 5), so each tree writes its own targets (float32 leaf values, the base score in
  the first tree's for ``sum``) and ``CumSum`` over the trees adds them in float32, in tree
  order: bit-exact (see :func:`_write_float32`);
- NaN is routed with ``nodes_missing_value_tracks_true``; the ``stop`` and ``null`` missing actions
  add a test ``x >= -inf`` (false only for NaN) in front of the split leading to a leaf holding the
  node's own values, or NaN.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...diagnostics import OnLoss, report_loss
from ...ir import TreeEnsemble
from ...ir.tree import MISSING_NULL, MISSING_STOP, MISSING_TRUE, OPS
from ._builder import GraphBuilder

__all__ = ["write_trees"]

ML = "ai.onnx.ml"
_MODES3 = {"<=": "BRANCH_LEQ", "<": "BRANCH_LT", ">=": "BRANCH_GTE", ">": "BRANCH_GT", "==": "BRANCH_EQ", "member": "BRANCH_MEMBER"}
_MODES5 = {"<=": 0, "<": 1, ">=": 2, ">": 3, "==": 4, "member": 6}


@dataclass
class _Node:
    feature: int = 0
    mode: str = "leaf"  # IR-style op, "member" or "leaf"
    threshold: float = 0.0
    members: tuple[float, ...] = ()
    tracks: bool = False
    true: int = -1
    false: int = -1
    values: NDArray[np.float64] | None = None


@dataclass
class _Tree:
    nodes: list[_Node] = field(default_factory=list)

    def add(self, node: _Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1


def _convert(est: TreeEnsemble, leaf_values: NDArray[np.float64]) -> list[_Tree]:
    """One ORT-style tree per IR tree; leaves carry rows of ``leaf_values``."""
    return [_Converter(est, leaf_values).tree(root) for root in est.roots.tolist()]


class _Converter:
    def __init__(self, est: TreeEnsemble, leaf_values: NDArray[np.float64]) -> None:
        self.est, self.leaf_values = est, leaf_values
        self.nan_row = np.full(leaf_values.shape[1], math.nan)

    def tree(self, root: int) -> _Tree:
        self.out = _Tree()
        self.pending: list[tuple[int, int, str]] = []  # (IR node, parent entry, "true"/"false")
        slot_of = {root: self.place(root)}
        while self.pending:
            ir, parent, side = self.pending.pop()
            if ir not in slot_of:
                slot_of[ir] = self.place(ir)
            if side == "true":
                self.out.nodes[parent].true = slot_of[ir]
            else:
                self.out.nodes[parent].false = slot_of[ir]
        _link_chains(self.out)  # the tests of a set chain share their true branch
        _guard_fusable_links(self.out)
        return self.out

    def place(self, ir: int) -> int:
        """Create the ORT entries for IR node ``ir``; returns the first; children go to ``pending``."""
        est, tree = self.est, self.out
        if est.feature[ir] < 0:
            return tree.add(_Node(values=self.leaf_values[ir]))
        op = OPS[int(est.op[ir])]
        t = float(est.threshold[ir])
        miss = int(est.missing[ir])
        f = int(est.feature[ir])
        tc, fc = int(est.true_child[ir]), int(est.false_child[ir])
        guard: int | None = None
        if miss in (MISSING_STOP, MISSING_NULL):  # x >= -inf is false only for NaN
            guard = tree.add(_Node(feature=f, mode=">=", threshold=-math.inf))
            stop = tree.add(_Node(values=self.leaf_values[ir] if miss == MISSING_STOP else self.nan_row))
            tree.nodes[guard].false = stop
        nan_true = miss == MISSING_TRUE
        if op in ("in", "not_in"):
            assert est.set_offsets is not None and est.set_values is not None
            s = int(t)
            raw = est.set_values[est.set_offsets[s] : est.set_offsets[s + 1]]
            members = tuple(sorted({float(v) for v in raw if not math.isnan(v)}))
            swap = op == "not_in"
            if not members:  # "in" {} is never true, "not_in" {} always
                first = tree.add(_Node(feature=f, mode=">=" if swap else "<", threshold=-math.inf, tracks=nan_true))
                self.pending += [(tc, first, "true"), (fc, first, "false")]
            else:
                hit, other = (fc, tc) if swap else (tc, fc)
                chain = [tree.add(_Node(feature=f, mode="==", threshold=m)) for m in members]
                # NaN reaches ``hit`` when the first test tracks it, else falls through to ``other``
                tree.nodes[chain[0]].tracks = nan_true != swap
                for a, b_ in itertools.pairwise(chain):
                    tree.nodes[a].false = b_
                first = chain[0]
                self.pending += [(hit, first, "true"), (other, chain[-1], "false")]
        else:
            swap = op == "!="
            first = tree.add(_Node(feature=f, mode="==" if swap else op, threshold=t, tracks=nan_true != swap))
            a, b_ = (fc, tc) if swap else (tc, fc)
            self.pending += [(a, first, "true"), (b_, first, "false")]
        if guard is not None:
            tree.nodes[guard].true = first
            return guard
        return first


def _link_chains(tree: _Tree) -> None:
    """Chain nodes after the first inherit the first node's true branch."""
    for node in tree.nodes:
        if node.mode == "==" and node.false >= 0 and tree.nodes[node.false].mode == "==" and tree.nodes[node.false].true < 0:
            j = node.false
            while j >= 0 and tree.nodes[j].mode == "==" and tree.nodes[j].true < 0:
                tree.nodes[j].true = node.true
                j = tree.nodes[j].false


def _guard_fusable_links(tree: _Tree) -> None:
    """Put a NaN test between two ``==`` tests onnxruntime would fold into one set test wrongly.

    onnxruntime folds a run of ``BRANCH_EQ`` nodes (each the false child of the one before, one
    feature, small integer thresholds) whose true subtrees look alike into one set test. The folded
    test keeps only the first node's ``nodes_missing_value_tracks_true`` and the first node's true
    subtree, and "alike" ignores the subtrees' own missing-value flags. A link stays only where
    folding is exact: both tests share one true entry, and a NaN the first test sends to the false
    side also goes to the false side of the second. Any other ``==`` -> ``==`` link on one feature
    gets ``x < -inf`` in between: never true for a number, NaN goes to its true side (where the
    second test sends NaN), numbers go on to the second test, which then heads its own run. The
    NaN target is where NaN ends after the second test and any further tests of that feature (so
    never a test onnxruntime folds away), and a true child: onnxruntime accepts shared nodes only as
    true children.

    >>> t = _Tree()
    >>> a, b, c = (t.add(_Node(values=np.zeros(1))) for _ in range(3))
    >>> second = t.add(_Node(mode="==", threshold=2.0, true=b, false=c, tracks=True))
    >>> first = t.add(_Node(mode="==", threshold=1.0, true=a, false=second))
    >>> _guard_fusable_links(t)
    >>> guard = t.nodes[t.nodes[first].false]
    >>> guard.mode, guard.threshold, guard.tracks, guard.true == b, guard.false == second
    ('<', -inf, True, True, True)
    """
    for node in list(tree.nodes):  # the guards added on the way are not ``==`` tests
        if node.mode != "==":
            continue
        nxt = tree.nodes[node.false]
        if nxt.mode != "==" or nxt.feature != node.feature:
            continue
        if nxt.true == node.true and (node.tracks or not nxt.tracks):
            continue  # folding changes nothing
        node.false = tree.add(
            _Node(feature=node.feature, mode="<", threshold=-math.inf, tracks=True, true=_nan_end(tree, node.false), false=node.false)
        )


def _nan_end(tree: _Tree, entry: int) -> int:
    """The first entry from ``entry`` on that a NaN in ``entry``'s feature does not decide."""
    feature = tree.nodes[entry].feature
    seen: set[int] = set()
    while tree.nodes[entry].mode != "leaf" and tree.nodes[entry].feature == feature and entry not in seen:
        seen.add(entry)
        n = tree.nodes[entry]
        entry = n.true if n.tracks else n.false  # NaN fails every comparison
    return entry


def _order(tree: _Tree) -> list[int]:
    """Entries in depth-first order from the root (entry 0), each once."""
    seen: set[int] = set()
    out: list[int] = []
    stack = [0]
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        out.append(i)
        n = tree.nodes[i]
        if n.mode != "leaf":
            stack.append(n.false)
            stack.append(n.true)
    return out


def _leaf_values(est: TreeEnsemble) -> tuple[NDArray[np.float64], str]:
    """Leaf rows to sum and what to do afterwards: "sum", "divide" (by the weight total) or "max"."""
    vals = est.values.astype(np.float64)
    w = est.tree_weights
    owner = est.tree_of_node()
    agg = est.aggregation
    if agg == "max":
        return vals, "max"
    if agg == "majority_vote":
        votes = np.zeros_like(vals)
        votes[np.arange(vals.shape[0]), np.argmax(vals, axis=1)] = 1.0
        vals = votes
    if w is not None and agg != "max":
        vals = vals * w[owner][:, None]
    return vals, ("sum" if agg == "sum" else "divide")


def write_trees(b: GraphBuilder, est: TreeEnsemble, x: str, *, tree_opset: int, on_loss: OnLoss) -> str:
    """Scores [N, K] (double) of ``est`` before its post-transform, for the features in ``x``."""
    onnx = b.onnx
    K = est.n_outputs
    where = "Model.estimator (TreeEnsemble)"
    if tree_opset == 1:
        x = b.op("Cast", [x], "features_f32", to=onnx.TensorProto.FLOAT)
        if est.input_dtype == "float64":
            report_loss("ai.onnx.ml 1 trees compare in float32: inputs are rounded to float32", on_loss=on_loss, location=where)
        if est.accumulate_dtype == "float64":  # float32 sums are written exactly (see _write_float32)
            report_loss("ai.onnx.ml 1 trees hold leaf values and sums in float32", on_loss=on_loss, location=where)
    elif est.input_dtype == "float32":
        x = b.op("Cast", [b.op("Cast", [x], to=onnx.TensorProto.FLOAT)], "features_f32", to=onnx.TensorProto.DOUBLE)
    if tree_opset == 3 and est.accumulate_dtype == "float64":
        report_loss(
            "TreeEnsembleRegressor (ai.onnx.ml 3) outputs float32, so tree scores are rounded to float32; "
            "write with tree_opset=5 for double outputs",
            on_loss=on_loss,
            location="Model.estimator (TreeEnsemble)",
        )
    base = est.base_score if est.base_score is not None else np.zeros(K)
    if est.accumulate_dtype == "float32":
        out = _write_float32(b, est, x, tree_opset)
    elif est.aggregation == "median":
        T = est.n_trees
        owner = est.tree_of_node()
        wide = np.zeros((est.n_nodes, T * K))
        for k in range(K):
            wide[np.arange(est.n_nodes), owner * K + k] = est.values[:, k]
        trees = _convert(est, wide)
        scores = _emit(b, trees, x, T * K, "sum", tree_opset)
        cube = b.op("Reshape", [scores, b.const(np.array([-1, T, K], dtype=np.int64))])
        top = b.op("TopK", [cube, b.const(np.array([T], dtype=np.int64))], n_out=2, axis=1, largest=1, sorted=1)[0]
        lo, hi = (T - 1) // 2, T // 2
        a = b.op("Gather", [top, b.const(np.array(lo, dtype=np.int64))], axis=1)
        if lo == hi:
            med = a
        else:
            c = b.op("Gather", [top, b.const(np.array(hi, dtype=np.int64))], axis=1)
            med = b.op("Div", [b.op("Add", [a, c]), b.const(np.array(2.0))])
        out = b.op("Add", [med, b.const(base.astype(np.float64), "base_score")])
    else:
        vals, mode = _leaf_values(est)
        trees = _convert(est, vals)
        agg = "max" if mode == "max" else "sum"
        out = _emit(b, trees, x, K, agg, tree_opset, base=base if (tree_opset != 5 and mode != "divide") else None)
        if mode == "divide":
            total = float(est.n_trees) if est.tree_weights is None else float(np.sum(est.tree_weights))
            out = b.op("Div", [out, b.const(np.array(total))])
        if (mode == "divide" or tree_opset == 5) and np.any(base != 0):
            out = b.op("Add", [out, b.const(base.astype(np.float64), "base_score")])
    if np.any(est.missing[est.feature >= 0] == MISSING_NULL) and est.aggregation in ("max", "median"):
        # onnxruntime's max skips NaN leaves: add a separate sum whose NaN marks the null rows
        flag_vals = np.zeros((est.n_nodes, 1))
        trees = _convert(est, flag_vals)
        flag = _emit(b, trees, x, 1, "sum", tree_opset)
        out = b.op("Add", [out, b.op("Mul", [flag, b.const(np.array(0.0))])])
    return out


def _write_float32(b: GraphBuilder, est: TreeEnsemble, x: str, tree_opset: int) -> str:
    """Scores [N, K] (double) of a float32-accumulating ensemble, with the IR's float32 arithmetic.

    onnxruntime adds tree scores up in the threshold type (double here), so the IR's float32
    partial sums cannot come from the tree node. Each tree gets its own targets instead (ml opsets
    1 and 3: a node per tree, concatenated, as onnxruntime's TreeEnsembleRegressor with 500 targets
    took 36 times as long as with one) (leaf
    values computed in float32 as the evaluator does: ``float32(w) * float32(v)``, the base score
    added to the first tree's values), and the combination runs in float32 ops: ``CumSum`` over
    the trees (sequential, in tree order, like the evaluator's ``tree_sum``), the median's
    ``TopK``, the division by the weight total and the base score. ``max`` keeps one ``MAX`` node:
    the maximum of float32 leaf values is one of them, so only the base score needs float32.
    """
    onnx = b.onnx
    f32 = np.float32
    T, K = est.n_trees, est.n_outputs
    owner = est.tree_of_node()
    vals = est.values.astype(f32)
    w = est.tree_weights
    agg = est.aggregation
    base = est.base_score.astype(f32) if est.base_score is not None else np.zeros(K, dtype=f32)
    if agg in ("sum", "average") and w is not None:
        vals = (w.astype(f32)[owner][:, None] * vals).astype(f32)
    elif agg == "majority_vote":
        votes = np.zeros_like(vals)
        weight = np.ones(T, dtype=f32) if w is None else w.astype(f32)
        votes[np.arange(vals.shape[0]), np.argmax(vals, axis=1)] = weight[owner]
        vals = votes
    if agg == "sum":
        first = owner == 0
        vals[first] = (vals[first] + base).astype(f32)
    if agg == "max":  # the maximum of float32 values is one of them: the tree node finds it exactly
        wide = vals.astype(np.float64)
        scores = _emit(b, _convert(est, wide), x, K, "max", tree_opset)
        total = b.op("Cast", [scores], "scores_f32", to=onnx.TensorProto.FLOAT)
    else:
        wide = np.zeros((est.n_nodes, T * K))
        for k in range(K):
            wide[np.arange(est.n_nodes), owner * K + k] = vals[:, k]
        if tree_opset == 5:
            scores = _emit(b, _convert(est, wide), x, T * K, "sum", tree_opset)  # one value per target: exact
        else:  # onnxruntime's TreeEnsembleRegressor is slow with many targets: one node per tree
            one = _convert(est, vals.astype(np.float64))
            scores = b.op("Concat", [_emit(b, [tree], x, K, "sum", tree_opset) for tree in one], axis=1)
        cube = b.op(
            "Reshape", [b.op("Cast", [scores], "scores_f32", to=onnx.TensorProto.FLOAT), b.const(np.array([-1, T, K], dtype=np.int64))]
        )
        if agg == "median":
            top = b.op("TopK", [cube, b.const(np.array([T], dtype=np.int64))], n_out=2, axis=1, largest=1, sorted=1)[0]
            lo, hi = (T - 1) // 2, T // 2
            total = b.op("Gather", [top, b.const(np.array(lo, dtype=np.int64))], axis=1)
            if lo != hi:
                c = b.op("Gather", [top, b.const(np.array(hi, dtype=np.int64))], axis=1)
                total = b.op("Div", [b.op("Add", [total, c]), b.const(np.array(2.0, dtype=f32))])
        else:
            sums = b.op("CumSum", [cube, b.const(np.array(1, dtype=np.int64))], "tree_sums")
            total = b.op("Gather", [sums, b.const(np.array(T - 1, dtype=np.int64))], axis=1)
            if agg != "sum":
                weight_sum = f32(T) if w is None else f32(np.sum(w, dtype=f32))  # as the evaluator computes it
                total = b.op("Div", [total, b.const(np.array(weight_sum, dtype=f32))])
    if agg != "sum" and np.any(base != 0):
        total = b.op("Add", [total, b.const(base, "base_score")])
    return b.op("Cast", [total], "scores", to=onnx.TensorProto.DOUBLE)


def _emit(b: GraphBuilder, trees: list[_Tree], x: str, K: int, agg: str, tree_opset: int, base: NDArray[np.float64] | None = None) -> str:
    if tree_opset == 5:
        return _emit5(b, trees, x, K, agg)
    return _emit3(b, trees, x, K, agg, base, as_float=tree_opset == 1)


_F32_INF = np.float32(np.inf)


def _f32_down(t: float) -> float:
    """The largest float32 not above ``t``."""
    with np.errstate(over="ignore"):
        f = np.float32(t)
    return float(f) if not float(f) > t else float(np.nextafter(f, -_F32_INF))  # compare in float64


def _f32_up(t: float) -> float:
    """The smallest float32 not below ``t``."""
    with np.errstate(over="ignore"):
        f = np.float32(t)
    return float(f) if not float(f) < t else float(np.nextafter(f, _F32_INF))


def float32_threshold(mode: str, t: float) -> float:
    """A float32 threshold that makes the same decision as ``t`` for every float32 input.

    >>> float32_threshold("<=", 0.1) <= 0.1 < float32_threshold("<", 0.1)
    True
    >>> import math; math.isnan(float32_threshold("==", 0.1)), float32_threshold("==", 0.5)
    (True, 0.5)
    """
    if math.isnan(t) or math.isinf(t):
        return t
    if mode in ("<=", ">"):
        return _f32_down(t)
    if mode in ("<", ">="):
        return _f32_up(t)
    with np.errstate(over="ignore"):
        exact = float(np.float32(t)) == t
    return t if exact else math.nan  # x == t is never true for a float32 x


def _emit3(b: GraphBuilder, trees: list[_Tree], x: str, K: int, agg: str, base: NDArray[np.float64] | None, *, as_float: bool) -> str:
    onnx = b.onnx
    tids: list[int] = []
    nids: list[int] = []
    feats: list[int] = []
    modes: list[str] = []
    thr: list[float] = []
    tn: list[int] = []
    fn: list[int] = []
    tracks: list[int] = []
    w_t: list[int] = []
    w_n: list[int] = []
    w_k: list[int] = []
    w_v: list[float] = []
    for t, tree in enumerate(trees):
        order = _order(tree)
        pos = {entry: i for i, entry in enumerate(order)}
        for entry in order:
            n = tree.nodes[entry]
            tids.append(t)
            nids.append(pos[entry])
            if n.mode == "leaf":
                assert n.values is not None
                feats.append(0)
                modes.append("LEAF")
                thr.append(0.0)
                tn.append(0)
                fn.append(0)
                tracks.append(0)
                for k in range(K):
                    w_t.append(t)
                    w_n.append(pos[entry])
                    w_k.append(k)
                    w_v.append(float(n.values[k]))
            else:
                feats.append(n.feature)
                modes.append(_MODES3[n.mode])
                thr.append(float32_threshold(n.mode, n.threshold) if as_float else n.threshold)
                tn.append(pos[n.true])
                fn.append(pos[n.false])
                tracks.append(int(n.tracks))
    attrs: dict[str, Any] = dict(
        n_targets=K,
        nodes_treeids=tids,
        nodes_nodeids=nids,
        nodes_featureids=feats,
        nodes_modes=modes,
        nodes_truenodeids=tn,
        nodes_falsenodeids=fn,
        nodes_missing_value_tracks_true=tracks,
        target_treeids=w_t,
        target_nodeids=w_n,
        target_ids=w_k,
        aggregate_function="MAX" if agg == "max" else "SUM",
        post_transform="NONE",
    )
    if as_float:
        attrs["nodes_values"] = thr
        attrs["target_weights"] = w_v
    else:
        attrs["nodes_values_as_tensor"] = np.array(thr, dtype=np.float64)
        attrs["target_weights_as_tensor"] = np.array(w_v, dtype=np.float64)
    if base is not None and np.any(base != 0):
        if as_float:
            attrs["base_values"] = [float(v) for v in base]
        else:
            attrs["base_values_as_tensor"] = np.asarray(base, dtype=np.float64)
    scores = b.op("TreeEnsembleRegressor", [x], "tree_scores", domain=ML, **attrs)
    return b.op("Cast", [scores], "scores", to=onnx.TensorProto.DOUBLE)


def _unshare(tree: _Tree) -> _Tree:
    """A copy in which every entry has one parent (TreeEnsemble-5 refuses shared nodes)."""
    out = _Tree()
    stack: list[tuple[int, int, str]] = [(0, -1, "")]
    while stack:
        entry, parent, side = stack.pop()
        src = tree.nodes[entry]
        me = out.add(_Node(src.feature, src.mode, src.threshold, src.members, src.tracks, -1, -1, src.values))
        if parent >= 0:
            if side == "true":
                out.nodes[parent].true = me
            else:
                out.nodes[parent].false = me
        if src.mode != "leaf":
            stack.append((src.false, me, "false"))
            stack.append((src.true, me, "true"))
    return out


def _emit5(b: GraphBuilder, trees: list[_Tree], x: str, K: int, agg: str) -> str:
    roots: list[int] = []
    feats: list[int] = []
    modes: list[int] = []
    splits: list[float] = []
    tn: list[int] = []
    tl: list[int] = []
    fn: list[int] = []
    fl: list[int] = []
    tracks: list[int] = []
    members: list[float] = []
    leaf_t: list[int] = []
    leaf_w: list[float] = []
    for t, shared in enumerate(trees):
        tree = _unshare(shared)
        copies: list[int] = list(range(K))
        if agg == "sum" and K > 1:  # a copy adding zeros only is left out (per-tree targets: T copies, not T * T)
            leaves = np.array([n.values for n in tree.nodes if n.values is not None])
            copies = [k for k in range(K) if np.any(leaves[:, k] != 0)] or ([0] if t == 0 else [])
        for k in copies:
            order = _order(tree)
            internal = [e for e in order if tree.nodes[e].mode != "leaf"]
            if not internal:  # a lone leaf: a split whose two branches are equal leaves
                leaf = tree.nodes[order[0]]
                assert leaf.values is not None
                roots.append(len(feats))
                feats.append(0)
                modes.append(_MODES5["<="])
                splits.append(0.0)
                tracks.append(0)
                for flags, ids in ((tl, tn), (fl, fn)):
                    flags.append(1)
                    ids.append(len(leaf_t))
                    leaf_t.append(k)
                    leaf_w.append(float(leaf.values[k]))
                continue
            node_pos = {e: len(feats) + i for i, e in enumerate(internal)}
            roots.append(node_pos[order[0]])
            leaf_pos: dict[int, int] = {}
            for e in order:
                n = tree.nodes[e]
                if n.mode == "leaf":
                    assert n.values is not None
                    leaf_pos[e] = len(leaf_t)
                    leaf_t.append(k)
                    leaf_w.append(float(n.values[k]))
            for e in internal:
                n = tree.nodes[e]
                feats.append(n.feature)
                modes.append(_MODES5[n.mode])
                splits.append(n.threshold if n.mode != "member" else 0.0)
                tracks.append(int(n.tracks))
                if n.mode == "member":
                    members.extend(n.members)
                    members.append(math.nan)
                for child, flags, ids in ((n.true, tl, tn), (n.false, fl, fn)):
                    if tree.nodes[child].mode == "leaf":
                        flags.append(1)
                        ids.append(leaf_pos[child])
                    else:
                        flags.append(0)
                        ids.append(node_pos[child])
    attrs: dict[str, Any] = dict(
        n_targets=K,
        tree_roots=roots,
        nodes_featureids=feats,
        nodes_modes=np.array(modes, dtype=np.uint8),
        nodes_splits=np.array(splits, dtype=np.float64),
        nodes_truenodeids=tn,
        nodes_trueleafs=tl,
        nodes_falsenodeids=fn,
        nodes_falseleafs=fl,
        nodes_missing_value_tracks_true=tracks,
        leaf_targetids=leaf_t,
        leaf_weights=np.array(leaf_w, dtype=np.float64),
        aggregate_function=3 if agg == "max" else 1,
        post_transform=0,
    )
    if members:
        attrs["membership_values"] = np.array(members, dtype=np.float64)
    return b.op("TreeEnsemble", [x], "scores", domain=ML, **attrs)
