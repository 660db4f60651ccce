"""ai.onnx.ml tree ensembles -> :class:`~portamodel.ir.TreeEnsemble`, with onnxruntime's semantics.

Supported: TreeEnsembleRegressor / TreeEnsembleClassifier (ml opsets 1 and 3, including the
``*_as_tensor`` attributes) and TreeEnsemble (ml opset 5, including set-membership splits).

onnxruntime's rules that the IR reproduces exactly:

- a NaN feature goes to the false branch unless ``nodes_missing_value_tracks_true`` is 1, except at
  ``BRANCH_NEQ`` where ``NaN != t`` is true;
- comparisons run in the threshold type (float32 unless the input is double), so float trees read
  with ``input_dtype="float32"`` and sums accumulate in float32;
- chains of ``BRANCH_EQ`` on one feature that share their true branch (LightGBM's categorical
  splits) are one set-membership split; shared subtrees are copied (the IR holds a forest);
- with one target, only ``PROBIT`` post-transforms are applied, and a leaf's first weight is used;
- TreeEnsembleClassifier with two classes and weights for one class only ("binary case"): the
  summed score ``s`` stands for ``classes[1]``: ``[sigmoid(-s), sigmoid(s)]`` under ``LOGISTIC``,
  else ``[1 - s, s]`` when all weights are non-negative and ``[-s, s]`` otherwise; labels are
  chosen by ``s > 0.5`` (non-negative weights) or ``s > 0``. With the weights on class 1 the
  outputs are ``post_transform([0, s])`` and a single base value is ignored (checked against
  onnxruntime 1.32).

Constructs whose onnxruntime behaviour is unspecified or disagrees with the ONNX specification
(``PROBIT``, ``MIN`` aggregation, two base values in the binary case, TreeEnsemble-5 post-transforms
onnxruntime swaps) raise :class:`~portamodel.errors.UnsupportedFeatureError` instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import FormatError, LimitExceededError, UnsupportedFeatureError
from ...ir.tree import MISSING_FALSE, MISSING_TRUE, OP_CODE
from ._graph import NodeView
from ._symbols import Labels, Proba2, TreeScores, new_version

__all__ = ["read_tree_classifier", "read_tree_ensemble_v5", "read_tree_regressor"]

_MODES = {"BRANCH_LEQ": "<=", "BRANCH_LT": "<", "BRANCH_GTE": ">=", "BRANCH_GT": ">", "BRANCH_EQ": "==", "BRANCH_NEQ": "!="}
_V5_MODES = {0: "<=", 1: "<", 2: ">=", 3: ">", 4: "==", 5: "!=", 6: "member"}
_POST = {"NONE": "identity", "LOGISTIC": "logistic", "SOFTMAX": "softmax", "SOFTMAX_ZERO": "softmax_zero", "PROBIT": "probit"}
_AGG = {"SUM": "sum", "AVERAGE": "average", "MAX": "max", "MIN": "min"}
_DBL_MAX = float(np.finfo(np.float64).max)


@dataclass
class _Split:
    feature: int
    op: str  # IR op name, or "member"
    threshold: float
    members: tuple[float, ...]
    missing_true: bool
    true_ref: Any
    false_ref: Any


@dataclass
class _Leaf:
    values: NDArray[np.float64]  # one row of n_outputs


# -- expansion of an ONNX node table into IR arrays ------------------------------------------------


class _Forest:
    """Collects IR node arrays while copying ONNX trees (DAGs allowed) into a forest."""

    def __init__(self, n_outputs: int, limit: int, where: str) -> None:
        self.n_outputs, self.limit, self.where = n_outputs, limit, where
        self.feature: list[int] = []
        self.threshold: list[float] = []
        self.op: list[int] = []
        self.true_child: list[int] = []
        self.false_child: list[int] = []
        self.missing: list[int] = []
        self.values: list[NDArray[np.float64]] = []
        self.sets: list[tuple[float, ...]] = []
        self.roots: list[int] = []

    def _new(self) -> int:
        if len(self.feature) >= self.limit:
            raise LimitExceededError(
                f"copying shared subtrees would exceed {self.limit} nodes (a graph of trees that share nodes heavily)", location=self.where
            )
        self.feature.append(-1)
        self.threshold.append(0.0)
        self.op.append(0)
        self.true_child.append(-1)
        self.false_child.append(-1)
        self.missing.append(MISSING_FALSE)
        self.values.append(np.zeros(self.n_outputs))
        return len(self.feature) - 1

    def add_tree(self, root: Any, describe: Any, max_depth: int) -> None:
        zero = np.zeros(self.n_outputs)
        first = self._new()
        self.roots.append(first)
        stack: list[tuple[Any, int, int]] = [(root, first, 0)]
        while stack:
            ref, slot, depth = stack.pop()
            if depth > max_depth:
                raise FormatError("a tree has a cycle (a path longer than the number of nodes)", location=self.where)
            node = describe(ref)
            if isinstance(node, _Leaf):
                self.values[slot] = node.values
                continue
            op, thr, members, missing_true, false_ref = node.op, node.threshold, node.members, node.missing_true, node.false_ref
            if op == "==":  # fold a chain of equality tests with a common true branch into one set split
                chain, seen = [thr], {ref}
                nxt = describe(false_ref)
                while (
                    isinstance(nxt, _Split)
                    and nxt.op == "=="
                    and nxt.feature == node.feature
                    and nxt.true_ref == node.true_ref
                    and false_ref not in seen
                    and len(chain) <= max_depth
                ):
                    seen.add(false_ref)
                    chain.append(nxt.threshold)
                    missing_true = missing_true or nxt.missing_true
                    false_ref = nxt.false_ref
                    nxt = describe(false_ref)
                if len(chain) > 1:
                    op, members = "member", tuple(chain)
            self.feature[slot] = node.feature
            self.missing[slot] = MISSING_TRUE if missing_true else MISSING_FALSE
            self.values[slot] = zero
            if op == "member":
                self._set_split(slot, "in", tuple(dict.fromkeys(m for m in members if not np.isnan(m))))
            else:
                self._comparison(slot, op, thr)
            t, f = self._new(), self._new()
            self.true_child[slot], self.false_child[slot] = t, f
            stack.append((false_ref, f, depth + 1))
            stack.append((node.true_ref, t, depth + 1))

    def _set_split(self, slot: int, op: str, members: tuple[float, ...]) -> None:
        self.op[slot] = OP_CODE[op]
        self.threshold[slot] = float(len(self.sets))
        self.sets.append(members)

    def _comparison(self, slot: int, op: str, t: float) -> None:
        """IR thresholds must be finite: rewrite comparisons with NaN / infinite thresholds."""
        if np.isnan(t):  # every comparison is false, != is true
            self._set_split(slot, "not_in" if op == "!=" else "in", ())
            return
        if np.isinf(t):
            pos = t > 0
            table = {  # (op, +inf?) -> equivalent finite test or "always"/"never"
                ("<=", True): "always", ("<", True): ("<=", _DBL_MAX), (">=", True): (">", _DBL_MAX),
                (">", True): "never", ("==", True): (">", _DBL_MAX), ("!=", True): ("<=", _DBL_MAX),
                ("<=", False): ("<", -_DBL_MAX), ("<", False): "never", (">=", False): "always",
                (">", False): (">=", -_DBL_MAX), ("==", False): ("<", -_DBL_MAX), ("!=", False): (">=", -_DBL_MAX),
            }  # fmt: skip
            rule: Any = table[(op, bool(pos))]
            if rule == "always":
                self._set_split(slot, "not_in", ())
                return
            if rule == "never":
                self._set_split(slot, "in", ())
                return
            op, t = rule
        self.op[slot] = OP_CODE[op]
        self.threshold[slot] = float(t)

    def parts(self, features: tuple[str, ...], input_double: bool, rounded: bool = False) -> dict[str, Any]:
        parts: dict[str, Any] = dict(
            features=features,
            roots=np.array(self.roots, dtype=np.int64),
            feature=np.array(self.feature, dtype=np.int32),
            threshold=np.array(self.threshold, dtype=np.float64),
            op=np.array(self.op, dtype=np.uint8),
            true_child=np.array(self.true_child, dtype=np.int32),
            false_child=np.array(self.false_child, dtype=np.int32),
            missing=np.array(self.missing, dtype=np.uint8),
            values=np.array(self.values, dtype=np.float64).reshape(len(self.values), self.n_outputs),
            input_dtype="float64" if input_double and not rounded else "float32",
            accumulate_dtype="float64" if input_double else "float32",
        )
        if self.sets:
            parts["set_offsets"] = np.concatenate([[0], np.cumsum([len(s) for s in self.sets])]).astype(np.int64)
            parts["set_values"] = np.array([v for s in self.sets for v in s], dtype=np.float64)
        return parts


#: Largest node-by-output table a tree ensemble may need (8 bytes each).
MAX_TABLE = 50_000_000


def _check_outputs(n_outputs: int, n_nodes: int, where: str) -> None:
    if n_outputs * max(n_nodes, 1) > MAX_TABLE:
        raise LimitExceededError(f"{n_outputs} outputs for {n_nodes} nodes exceeds the table limit of {MAX_TABLE} values", location=where)


def _limit(n_nodes: int) -> int:
    """How many IR nodes copying shared subtrees may create (a forest never needs more than n)."""
    return 4 * n_nodes + 100_000


# -- ml opsets 1-3 -----------------------------------------------------------------------------------


@dataclass
class _V3:
    """The node table of a TreeEnsembleRegressor/Classifier, checked."""

    roots: list[int]
    feature: NDArray[np.int64]
    modes: list[str]
    values: NDArray[np.float64]
    true_idx: NDArray[np.int64]
    false_idx: NDArray[np.int64]
    tracks: NDArray[np.bool_]
    leaf_weights: dict[int, list[tuple[int, float]]]  # node index -> [(target/class id, weight)]
    n_weight_entries: int


def _v3_table(node: NodeView, width: int, prefix: str) -> _V3:
    where = node.where
    treeids = _req_ints(node, "nodes_treeids")
    nodeids = _req_ints(node, "nodes_nodeids")
    n = treeids.shape[0]
    feats = _req_ints(node, "nodes_featureids")
    modes = node.strings("nodes_modes")
    trues = _req_ints(node, "nodes_truenodeids")
    falses = _req_ints(node, "nodes_falsenodeids")
    vals = node.floats("nodes_values")
    vals_t = node.tensor("nodes_values_as_tensor")
    if vals is not None and vals_t is not None:
        raise FormatError("both nodes_values and nodes_values_as_tensor are given", location=where)
    thresholds = vals if vals is not None else (np.asarray(vals_t, dtype=np.float64).ravel() if vals_t is not None else None)
    if modes is None or thresholds is None:
        raise FormatError("nodes_modes and nodes_values are required", location=where)
    for name, arr in (("nodes_nodeids", nodeids), ("nodes_featureids", feats), ("nodes_modes", modes),
                      ("nodes_truenodeids", trues), ("nodes_falsenodeids", falses), ("nodes_values", thresholds)):  # fmt: skip
        if len(arr) != n:
            raise FormatError(f"{name} has {len(arr)} entries but nodes_treeids has {n}", location=where)
    if n == 0:
        raise FormatError("the ensemble has no nodes", location=where)
    tracks_raw = node.ints("nodes_missing_value_tracks_true")
    tracks = np.zeros(n, dtype=bool)
    if tracks_raw is not None:
        if tracks_raw.shape[0] > n:
            raise FormatError("nodes_missing_value_tracks_true is longer than the node list", location=where)
        tracks[: tracks_raw.shape[0]] = tracks_raw == 1
    # trees: contiguous runs of tree ids; the first node of a run is its root (onnxruntime)
    roots: list[int] = []
    seen_trees: set[int] = set()
    for i in range(n):
        if i == 0 or treeids[i] != treeids[i - 1]:
            t = int(treeids[i])
            if t in seen_trees:
                raise UnsupportedFeatureError(
                    f"the nodes of tree {t} are not listed together; onnxruntime would read them as two trees", location=where
                )
            seen_trees.add(t)
            roots.append(i)
    index: dict[tuple[int, int], int] = {}
    for i in range(n):
        key = (int(treeids[i]), int(nodeids[i]))
        if key in index:
            raise FormatError(f"node {key[1]} of tree {key[0]} is listed twice", location=where)
        index[key] = i
    ir_modes: list[str] = []
    true_idx = np.full(n, -1, dtype=np.int64)
    false_idx = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        m = modes[i]
        if m == "LEAF":
            ir_modes.append("leaf")
            continue
        if m not in _MODES:
            raise FormatError(f"unknown node mode {m!r} at node {int(nodeids[i])} of tree {int(treeids[i])}", location=where)
        ir_modes.append(_MODES[m])
        if not 0 <= feats[i] < width:
            raise FormatError(
                f"node {int(nodeids[i])} of tree {int(treeids[i])} reads feature {int(feats[i])}, but the input has {width}", location=where
            )
        for arr, out, what in ((trues, true_idx, "true"), (falses, false_idx, "false")):
            key = (int(treeids[i]), int(arr[i]))
            j = index.get(key)
            if j is None or not 0 <= arr[i] < n:
                raise FormatError(f"node {int(nodeids[i])} of tree {key[0]}: {what} branch {key[1]} does not exist", location=where)
            if j == i:
                raise FormatError(f"node {int(nodeids[i])} of tree {key[0]} points to itself", location=where)
            out[i] = j
    ids = _req_ints(node, f"{prefix}_ids")
    w_nodes = _req_ints(node, f"{prefix}_nodeids")
    w_trees = _req_ints(node, f"{prefix}_treeids")
    w = node.floats(f"{prefix}_weights")
    w_t = node.tensor(f"{prefix}_weights_as_tensor")
    if w is not None and w_t is not None:
        raise FormatError(f"both {prefix}_weights and {prefix}_weights_as_tensor are given", location=where)
    weights = w if w is not None else (np.asarray(w_t, dtype=np.float64).ravel() if w_t is not None else None)
    if weights is None:
        raise FormatError(f"{prefix}_weights is required", location=where)
    m = ids.shape[0]
    for name, arr in ((f"{prefix}_nodeids", w_nodes), (f"{prefix}_treeids", w_trees), (f"{prefix}_weights", weights)):
        if len(arr) != m:
            raise FormatError(f"{name} has {len(arr)} entries but {prefix}_ids has {m}", location=where)
    leaf_weights: dict[int, list[tuple[int, float]]] = {}
    for k in range(m):
        key = (int(w_trees[k]), int(w_nodes[k]))
        j = index.get(key)
        if j is None:
            raise FormatError(f"a weight refers to node {key[1]} of tree {key[0]}, which does not exist", location=where)
        if ir_modes[j] != "leaf":
            continue  # onnxruntime ignores weights on branch nodes (old onnxmltools output)
        leaf_weights.setdefault(j, []).append((int(ids[k]), float(weights[k])))
    for i in range(n):
        if ir_modes[i] == "leaf" and i not in leaf_weights:
            raise FormatError(f"leaf {int(nodeids[i])} of tree {int(treeids[i])} has no weight", location=where)
    return _V3(roots, feats, ir_modes, thresholds, true_idx, false_idx, tracks, leaf_weights, m)


def _req_ints(node: NodeView, name: str) -> NDArray[np.int64]:
    v = node.ints(name)
    if v is None:
        raise FormatError(f"attribute {name!r} is required", location=node.where)
    return v


def _v3_forest(table: _V3, leaf_row: Any, n_outputs: int, where: str) -> _Forest:
    n = len(table.modes)
    forest = _Forest(n_outputs, _limit(n), where)

    def describe(i: int) -> _Split | _Leaf:
        mode = table.modes[i]
        if mode == "leaf":
            return _Leaf(leaf_row(i))
        return _Split(
            feature=int(table.feature[i]),
            op=mode,
            threshold=float(table.values[i]),
            members=(),
            missing_true=bool(table.tracks[i]) or mode == "!=",
            true_ref=int(table.true_idx[i]),
            false_ref=int(table.false_idx[i]),
        )

    for r in table.roots:
        forest.add_tree(r, describe, n)
    return forest


def _base_values(node: NodeView) -> NDArray[np.float64]:
    b = node.floats("base_values")
    bt = node.tensor("base_values_as_tensor")
    if b is not None and bt is not None:
        raise FormatError("both base_values and base_values_as_tensor are given", location=node.where)
    if bt is not None:
        return np.asarray(bt, dtype=np.float64).ravel()
    return np.zeros(0) if b is None else b


def _post(node: NodeView) -> str:
    name = node.string("post_transform", "NONE")
    if name not in _POST:
        raise FormatError(f"unknown post_transform {name!r}", location=node.where)
    if name == "PROBIT":
        raise UnsupportedFeatureError(
            "post_transform PROBIT (onnxruntime's inverse-normal approximation) has no IR equivalent", location=node.where
        )
    return _POST[name]


def read_tree_regressor(node: NodeView, features: tuple[str, ...], etype: str, *, rounded: bool = False) -> TreeScores:
    """TreeEnsembleRegressor -> raw scores (post-transform applied as onnxruntime does)."""
    where = node.where
    K = node.int("n_targets", 0)
    if K <= 0:
        raise FormatError("n_targets must be positive", location=where)
    table = _v3_table(node, len(features), "target")
    _check_outputs(K, len(table.modes), where)
    for entries in table.leaf_weights.values():
        bad = [t for t, _ in entries if not 0 <= t < K]
        if bad:  # onnxruntime refuses these too
            raise FormatError(f"target id {bad[0]} is outside 0..{K - 1} (n_targets={K})", location=where)
    agg = node.string("aggregate_function", "SUM")
    if agg not in _AGG:
        raise FormatError(f"unknown aggregate_function {agg!r}", location=where)
    if agg == "MIN":
        raise UnsupportedFeatureError("aggregate_function MIN has no IR equivalent", location=where)
    post = _post(node)
    base = _base_values(node)
    if K == 1:
        # onnxruntime's one-target path: first weight of each leaf, base_values[0], only PROBIT applied
        if base.shape[0] not in (0, 1):
            raise FormatError(f"base_values has {base.shape[0]} entries for 1 target", location=where)
        post = "identity"

        def leaf_row(i: int) -> NDArray[np.float64]:
            return np.array([table.leaf_weights[i][0][1]])
    else:
        if base.shape[0] not in (0, K):
            raise FormatError(f"base_values has {base.shape[0]} entries for {K} targets", location=where)
        complete = True
        for entries in table.leaf_weights.values():
            ids = {t for t, _ in entries}
            if any(not 0 <= t < K for t in ids):
                raise FormatError(f"a weight's target id is outside 0..{K - 1}", location=where)
            complete = complete and len(ids) == K
        if agg == "MAX" and not complete:
            raise UnsupportedFeatureError("MAX over targets that some leaves do not weigh has no IR equivalent", location=where)

        def leaf_row(i: int) -> NDArray[np.float64]:
            row = np.zeros(K)
            for t, w in table.leaf_weights[i]:
                row[t] += w
            return row

    forest = _v3_forest(table, leaf_row, K, where)
    parts = forest.parts(features, etype == "double", rounded)
    parts["aggregation"] = _AGG[agg]
    parts["base_score"] = base if base.shape[0] else np.zeros(K)
    return TreeScores(parts=parts, post=post, width=K, etype="float", version=new_version())


def read_tree_classifier(
    node: NodeView, features: tuple[str, ...], etype: str, *, rounded: bool = False
) -> tuple[Labels, TreeScores | Proba2]:
    """TreeEnsembleClassifier -> (labels, probabilities), following onnxruntime's rules."""
    where = node.where
    labels_s = node.strings("classlabels_strings")
    labels_i = node.ints("classlabels_int64s")
    if (labels_s is None) == (labels_i is None) or (labels_s is not None and labels_i is not None):
        raise FormatError("exactly one of classlabels_strings / classlabels_int64s is required", location=where)
    classes: tuple[Any, ...] = tuple(labels_s) if labels_s is not None else tuple(int(v) for v in labels_i)  # type: ignore[union-attr]
    C = len(classes)
    if C < 2:
        raise UnsupportedFeatureError(f"a classifier with {C} class label(s)", location=where)
    if len(set(classes)) != C:
        raise FormatError("class labels are not distinct", location=where)
    lab_etype = "string" if labels_s is not None else "int64"
    table = _v3_table(node, len(features), "class")
    _check_outputs(C, len(table.modes), where)
    post = _post(node)
    base = _base_values(node)
    all_ids = {t for entries in table.leaf_weights.values() for t, _ in entries}
    if any(not 0 <= t < C for t in all_ids):
        raise FormatError(f"a class id is outside 0..{C - 1}", location=where)
    all_pos = all(w >= 0 or np.isnan(w) for entries in table.leaf_weights.values() for _, w in entries)

    def build(rows: Any, K: int, base_score: NDArray[np.float64], transform: str) -> TreeScores:
        forest = _v3_forest(table, rows, K, where)
        parts = forest.parts(features, etype == "double", rounded)
        parts["aggregation"] = "sum"
        parts["base_score"] = base_score
        return TreeScores(parts=parts, post=transform, width=K, etype="float", version=new_version())

    def per_class(i: int) -> NDArray[np.float64]:
        row = np.zeros(C)
        for t, w in table.leaf_weights[i]:
            row[t] += w
        return row

    if C > 2 or len(all_ids) == 2:
        if C == 2:  # weights for both classes: onnxruntime labels by the sign of the class-1 score
            if base.shape[0] == 2:
                raise UnsupportedFeatureError(
                    "two base_values with weights for both classes: onnxruntime's rule for this case is not well defined", location=where
                )
            if any(all(t != 1 for t, _ in e) for e in table.leaf_weights.values()):
                raise UnsupportedFeatureError(
                    "binary classifier with leaves that do not weigh class 1 (onnxruntime's output is undefined there)", location=where
                )
            b = np.zeros(2)
            if base.shape[0] == 1:
                b[0] = base[0]
            scores = build(per_class, 2, b, post)
            antisym = b[0] == 0 and all(
                abs(sum(w for t, w in e if t == 0) + sum(w for t, w in e if t == 1)) == 0 for e in table.leaf_weights.values()
            )
            note = None
            if not (antisym and post in ("identity", "logistic", "softmax")):
                note = (
                    "onnxruntime labels a two-class TreeEnsembleClassifier by the sign of the class-1 score, not by the larger probability"
                )
            if labels_i is not None and classes != (0, 1):
                note = "onnxruntime labels this two-class TreeEnsembleClassifier 1/0 instead of its class labels"
            return Labels(source=scores, classes=classes, etype=lab_etype, note=note), scores
        if base.shape[0] not in (0, C):
            raise FormatError(f"base_values has {base.shape[0]} entries for {C} classes", location=where)
        scores = build(per_class, C, base if base.shape[0] else np.zeros(C), post)
        raw = TreeScores(parts=scores.parts, post="identity", width=C, etype="float", version=scores.version)
        note = None
        if base.shape[0] == 0:
            covered = _classes_always_scored(table, C)
            if not covered:
                note = "onnxruntime picks labels only among classes some reached leaf weighs; a class without weights can tie"
        if post not in ("identity", "logistic", "softmax"):
            note = "onnxruntime picks labels by the raw scores, which SOFTMAX_ZERO does not keep in order"
        return Labels(source=raw, classes=classes, etype=lab_etype, note=note), scores
    # binary case: weights for one class only (or none)
    c = next(iter(all_ids)) if all_ids else 0
    if base.shape[0] == 2:
        raise UnsupportedFeatureError(
            "two base_values in the binary case (weights for one class): onnxruntime ignores the tree scores there", location=where
        )
    b0 = float(base[0]) if base.shape[0] == 1 else 0.0

    def single(i: int) -> NDArray[np.float64]:
        return np.array([sum(w for _, w in table.leaf_weights[i])])

    if c == 0:
        if all_pos and post == "logistic":  # [sigmoid(-s), sigmoid(s)] but labels s > 0.5 (onnxruntime 1.32)
            p = build(single, 1, np.array([b0]), "logistic")
            proba = Proba2(p)
            note = "onnxruntime labels this binary TreeEnsembleClassifier by score > 0.5 but outputs sigmoid(score) as probabilities"
            return Labels(source=proba, classes=classes, etype=lab_etype, note=note), proba
        if all_pos:  # [1 - s, s], labels s > 0.5
            p = build(single, 1, np.array([b0]), "identity")
            proba = Proba2(p)
            return Labels(source=proba, classes=classes, etype=lab_etype), proba
        if post == "logistic":  # [sigmoid(-s), sigmoid(s)], labels s > 0
            p = build(single, 1, np.array([b0]), "logistic")
            proba = Proba2(p)
            return Labels(source=proba, classes=classes, etype=lab_etype), proba

        def signed(i: int) -> NDArray[np.float64]:
            s = sum(w for _, w in table.leaf_weights[i])
            return np.array([-s, s])

        scores = build(signed, 2, np.array([-b0, b0]), "identity")  # [-s, s], labels s > 0
        return Labels(source=scores, classes=classes, etype=lab_etype), scores

    def class1(i: int) -> NDArray[np.float64]:
        return np.array([0.0, sum(w for _, w in table.leaf_weights[i])])

    scores = build(class1, 2, np.zeros(2), post)  # post([0, s]): onnxruntime ignores a single base value here
    note = None
    if all_pos or post not in ("identity", "logistic", "softmax"):
        note = (
            "onnxruntime labels this binary TreeEnsembleClassifier by a threshold on the class-1 score "
            "that its probabilities do not reflect"
        )
    return Labels(source=scores, classes=classes, etype=lab_etype, note=note), scores


def _classes_always_scored(table: _V3, C: int) -> bool:
    """Every class gets a weight on every row: some tree weighs it at all of its leaves."""
    tree_of = {}
    n = len(table.modes)
    for t, r in enumerate(table.roots):
        end = table.roots[t + 1] if t + 1 < len(table.roots) else n
        for i in range(r, end):
            tree_of[i] = t
    full: set[int] = set()
    by_tree: dict[int, list[set[int]]] = {}
    for i, entries in table.leaf_weights.items():
        by_tree.setdefault(tree_of[i], []).append({c for c, _ in entries})
    for sets in by_tree.values():
        full |= set.intersection(*sets) if sets else set()
    return len(full) == C


# -- ml opset 5 ------------------------------------------------------------------------------------


def read_tree_ensemble_v5(node: NodeView, features: tuple[str, ...], etype: str, *, rounded: bool = False) -> TreeScores:
    """TreeEnsemble (ai.onnx.ml 5) -> scores."""
    where = node.where
    if etype not in ("float", "double"):
        raise UnsupportedFeatureError(f"TreeEnsemble over {etype} inputs", location=where)
    K = node.int("n_targets", 0)
    if K <= 0:
        raise FormatError("n_targets must be positive", location=where)
    roots = _req_ints(node, "tree_roots")
    feats = _req_ints(node, "nodes_featureids")
    n = feats.shape[0]
    _check_outputs(K, n, where)
    modes_t = node.tensor("nodes_modes")
    splits_t = node.tensor("nodes_splits")
    if modes_t is None or splits_t is None:
        raise FormatError("nodes_modes and nodes_splits are required", location=where)
    modes = np.asarray(modes_t).ravel()
    splits = np.asarray(splits_t, dtype=np.float64).ravel()
    trues, falses = _req_ints(node, "nodes_truenodeids"), _req_ints(node, "nodes_falsenodeids")
    tleaf, fleaf = _req_ints(node, "nodes_trueleafs"), _req_ints(node, "nodes_falseleafs")
    for name, arr in (("nodes_modes", modes), ("nodes_splits", splits), ("nodes_truenodeids", trues), ("nodes_falsenodeids", falses),
                      ("nodes_trueleafs", tleaf), ("nodes_falseleafs", fleaf)):  # fmt: skip
        if arr.shape[0] != n:
            raise FormatError(f"{name} has {arr.shape[0]} entries but nodes_featureids has {n}", location=where)
    tracks_raw = node.ints("nodes_missing_value_tracks_true")
    tracks = np.zeros(n, dtype=bool)
    if tracks_raw is not None:
        if tracks_raw.shape[0] not in (0, n):
            raise FormatError("nodes_missing_value_tracks_true must have one entry per node", location=where)
        tracks[: tracks_raw.shape[0]] = tracks_raw == 1
    targets = _req_ints(node, "leaf_targetids")
    wt = node.tensor("leaf_weights")
    if wt is None:
        raise FormatError("leaf_weights is required", location=where)
    weights = np.asarray(wt, dtype=np.float64).ravel()
    if weights.shape[0] != targets.shape[0]:
        raise FormatError("leaf_weights and leaf_targetids differ in length", location=where)
    n_leaves = targets.shape[0]
    if np.any((targets < 0) | (targets >= K)):
        raise FormatError(f"a leaf target id is outside 0..{K - 1}", location=where)
    # set members: NaN-separated groups, one per BRANCH_MEMBER node in node order
    members: dict[int, tuple[float, ...]] = {}
    mv = node.tensor("membership_values")
    groups: list[list[float]] = [[]]
    if mv is not None:
        for v in np.asarray(mv, dtype=np.float64).ravel().tolist():
            if np.isnan(v):
                groups.append([])
            else:
                groups[-1].append(v)
    member_nodes = [i for i in range(n) if int(modes[i]) == 6]
    truncated: set[int] = set()  # features whose member tests onnxruntime makes on int32(x)
    for k, i in enumerate(member_nodes):
        if k >= len(groups) or not groups[k]:
            raise UnsupportedFeatureError(
                "a BRANCH_MEMBER node with an empty set (onnxruntime's behaviour is undefined there)", location=where
            )
        members[i] = tuple(groups[k])
        integral = all(float(v).is_integer() for v in members[i])
        if integral and not all(-(2**31) <= v < 2**31 for v in members[i]):
            raise UnsupportedFeatureError("a BRANCH_MEMBER set with integers beyond int32 (onnxruntime refuses it)", location=where)
        if integral:
            truncated.add(int(feats[i]))
    for i in range(n):
        code = int(modes[i])
        if code not in _V5_MODES:
            raise FormatError(f"unknown node mode {code} at node {i}", location=where)
        if not 0 <= feats[i] < len(features):
            raise FormatError(f"node {i} reads feature {int(feats[i])}, but the input has {len(features)}", location=where)
        for arr, leafs in ((trues, tleaf), (falses, fleaf)):
            limit = n_leaves if leafs[i] else n
            if not 0 <= arr[i] < limit:
                raise FormatError(
                    f"node {i} points to {'leaf' if leafs[i] else 'node'} {int(arr[i])}, which does not exist", location=where
                )
    for r in roots.tolist():
        if not 0 <= r < n:
            raise FormatError(f"tree root {r} does not exist", location=where)
    agg_code = node.int("aggregate_function", 1)
    agg = {0: "average", 1: "sum", 2: "min", 3: "max"}.get(agg_code)
    if agg is None:
        raise FormatError(f"unknown aggregate_function {agg_code}", location=where)
    if agg == "min":
        raise UnsupportedFeatureError("aggregate_function MIN has no IR equivalent", location=where)
    if agg == "max" and K > 1:
        raise UnsupportedFeatureError("MAX aggregation over several targets has no IR equivalent", location=where)
    post_code = node.int("post_transform", 0)
    if post_code not in (0, 1, 2, 3, 4):
        raise FormatError(f"unknown post_transform {post_code}", location=where)
    if post_code == 4:
        raise UnsupportedFeatureError("post_transform PROBIT has no IR equivalent", location=where)
    if post_code != 0 and (K == 1 or post_code in (1, 2)):
        raise UnsupportedFeatureError(
            "TreeEnsemble post_transform: onnxruntime ignores it for one target and swaps SOFTMAX and LOGISTIC "
            "(onnxruntime issue 26596), so the ONNX specification and onnxruntime disagree; refused",
            location=where,
        )
    post = "softmax_zero" if post_code == 3 else "identity"

    def describe(ref: tuple[str, int]) -> _Split | _Leaf:
        kind, i = ref
        if kind == "l":
            row = np.zeros(K)
            row[targets[i]] = weights[i]
            return _Leaf(row)
        op = _V5_MODES[int(modes[i])]
        f = int(feats[i])
        if op == "member" and f in truncated:
            f = trunc_index[f]
        return _Split(
            feature=f,
            op=op,
            threshold=float(splits[i]),
            members=members.get(i, ()),
            missing_true=bool(tracks[i]) or op == "!=",
            true_ref=("l" if tleaf[i] else "n", int(trues[i])),
            false_ref=("l" if fleaf[i] else "n", int(falses[i])),
        )

    # onnxruntime tests integer sets on int32(x) (truncated): those splits read an extra column trunc(x)
    trunc_index = {f: len(features) + j for j, f in enumerate(sorted(truncated))}
    forest = _Forest(K, _limit(n + n_leaves), where)
    for r in roots.tolist():
        forest.add_tree(("n", r), describe, n + 1)
    parts = forest.parts(features, etype == "double", rounded)
    parts["aggregation"] = agg
    parts["base_score"] = np.zeros(K)
    parts["truncated_features"] = sorted(truncated)  # the caller adds trunc(x) columns for these
    return TreeScores(parts=parts, post=post, width=K, etype=etype, version=new_version())
