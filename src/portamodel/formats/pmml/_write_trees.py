"""Tree ensembles -> PMML ``TreeModel`` / ``MiningModel``.

Each IR tree is written compactly, the way JPMML writes scikit-learn trees: a split node becomes
one PMML ``Node`` whose predicate is the split test and whose content is the split's *true*
subtree; the *false* subtree is spliced in as the following siblings, and the last leaf of a chain
becomes the parent's ``score`` (``noTrueChildStrategy="returnLastPrediction"``). Missing values:
``missingValueStrategy="none"`` makes an unknown comparison false (the IR's ``false_child``); a
``true_child`` split is written as its complement with the children swapped; ``stop`` / ``null`` are a leading
``isMissing`` child. A tree whose splits are all ``null`` uses ``nullPrediction`` instead.

Thresholds on ``float`` fields are written as the float32 that keeps every decision for float32
inputs (rounded down for ``<=``/``>``, up for ``<``/``>=``), integer fields likewise.

Ensembles: probability-averaging and voting classifiers are one classification MiningModel;
everything else is written per output column as regression ensembles (``sum``/``weightedSum``,
``average``/``weightedAverage``, ``max``, ``median``, base score in ``Targets``) feeding, through a
``modelChain``, a final RegressionModel (logit / probit / ... / softmax / simplemax / exp) or a
one-layer NeuralNetwork for element-wise output transforms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...ir import Affine, Derive, Impute, Lookup, OneHot, TreeEnsemble
from ...ir.tree import MISSING_FALSE, MISSING_NULL, MISSING_STOP, MISSING_TRUE, OPS
from ._writer import _BINOMIAL, Writer, _class_type, _value_text
from ._xmlout import esc, num

__all__ = ["write_ensemble"]

_OP_NAME = {"<=": "lessOrEqual", "<": "lessThan", ">=": "greaterOrEqual", ">": "greaterThan", "==": "equal", "!=": "notEqual"}
_TRUE, _FALSE = "<True/>", "<False/>"
_COMPLEMENT = {"<=": ">", ">": "<=", "<": ">=", ">=": "<", "==": "!=", "!=": "==", "in": "not_in", "not_in": "in"}


def write_ensemble(w: Writer, est: TreeEnsemble) -> None:
    t = w.model.target
    K = est.n_outputs
    base = est.base_score if est.base_score is not None else np.zeros(K)
    if est.accumulate_dtype == "float32" and not w.extensions:
        w.loss(
            "float32 accumulation is written as double (PMML 4.4 cannot say it; jpmml_extensions=True writes x-mathContext)", "TreeEnsemble"
        )
    if t.task == "classification" and est.aggregation == "majority_vote":
        if est.post_transform != "identity" or base.any():
            w.loss("a post transform / base score after a majority vote has no PMML form; dropped", "TreeEnsemble")
        _direct_classifier(w, est, votes=True)
        return
    if t.task == "classification" and est.aggregation == "average" and est.post_transform == "identity" and not base.any():
        _direct_classifier(w, est, votes=False)
        return
    if est.aggregation == "max" and est.n_trees > 1:
        _select_chain(w, est)  # JPMML has no max of regression segments: compute it with Apply max
        return
    if t.task == "regression":
        if est.post_transform == "identity":
            _column_model(w, est, 0, top=True)
        else:
            _chain(w, est, [0])
        return
    _chain(w, est, list(range(K)))


# -- per-tree encoding -------------------------------------------------------------------------------


class _TreeText:
    """Precomputed text for the nodes of one ensemble (predicates, field names, usage)."""

    def __init__(self, w: Writer, est: TreeEnsemble) -> None:
        self.w = w
        self.est = est
        self.fields = [w.view.get(c, c) for c in est.features]
        self.kind = [_field_kind(w, c) for c in est.features]
        n = est.n_nodes
        self.pred: list[str | None] = [None] * n
        self.constant: list[bool] = [False] * n  # the split's test is constant for present values
        classes = w.model.target.classes
        self.any_score = esc(_value_text(classes[0])) if classes else "0.0"
        self.missing_test: list[str] = [""] * len(self.fields)
        for k, f in enumerate(self.fields):
            self.missing_test[k] = f'<SimplePredicate field="{esc(f)}" operator="isMissing"/>'
        # children as written: a split sending missing values to its true child is written as its
        # complement (x > t instead of x <= t) with the children swapped, so missing goes to the
        # false side, which an unknown comparison takes under missingValueStrategy="none"
        self.tc = est.true_child.copy()
        self.fc = est.false_child.copy()
        self.miss = est.missing.copy()
        split = np.flatnonzero(est.feature >= 0)
        feat = est.feature.tolist()
        ops = est.op.tolist()
        thr = est.threshold.tolist()
        miss = est.missing.tolist()
        for i in split.tolist():
            k = feat[i]
            op = OPS[ops[i]]
            if miss[i] == MISSING_TRUE:
                op = _COMPLEMENT[op]
                self.tc[i], self.fc[i] = est.false_child[i], est.true_child[i]
                self.miss[i] = MISSING_FALSE
            base = self._base(k, op, thr[i])
            self.constant[i] = base in (_TRUE, _FALSE)
            self.pred[i] = self._with_missing(k, base, int(self.miss[i]))

    def _base(self, k: int, op: str, t: float) -> str:
        """Predicate text for non-missing values, or _TRUE / _FALSE."""
        f = esc(self.fields[k])
        kind = self.kind[k]
        if op in ("in", "not_in"):
            est = self.est
            assert est.set_offsets is not None and est.set_values is not None
            s = int(t)
            members = est.set_values[est.set_offsets[s] : est.set_offsets[s + 1]].tolist()
            if kind == "float":
                members = [m for m in members if float(np.float32(m)) == m]
            elif kind == "integer":
                members = [m for m in members if float(m).is_integer()]
            members = list(dict.fromkeys(members))
            if not members:
                return _FALSE if op == "in" else _TRUE
            text = " ".join(_number_text(m, kind) for m in members)
            bop = "isIn" if op == "in" else "isNotIn"
            atype = "int" if kind == "integer" else "real"
            array = f'<Array n="{len(members)}" type="{atype}">{text}</Array>'
            return f'<SimpleSetPredicate field="{f}" booleanOperator="{bop}">{array}</SimpleSetPredicate>'
        v = _adjust(t, op, kind)
        if v is None:
            return _FALSE if op != "!=" else _TRUE
        return f'<SimplePredicate field="{f}" operator="{_OP_NAME[op]}" value="{_number_text(v, kind)}"/>'

    def _with_missing(self, k: int, base: str, miss: int) -> str:
        if miss == MISSING_TRUE:
            if base == _TRUE:
                return _TRUE
            if base == _FALSE:
                return self.missing_test[k]
            return f'<CompoundPredicate booleanOperator="or">{base}{self.missing_test[k]}</CompoundPredicate>'
        if miss == MISSING_FALSE and base == _TRUE:
            return self.missing_test[k].replace('"isMissing"', '"isNotMissing"')
        return base


def _field_kind(w: Writer, col: str) -> str:
    if col in w.floats or col in w.view:
        return "float"
    for f in w.model.inputs:
        if f.name == col:
            return "integer" if f.dtype == "integer" else "double"
    return "double"


def _adjust(t: float, op: str, kind: str) -> float | None:
    """A threshold ``t'`` such that comparing the field's own values with ``t'`` in its type gives
    the same decisions as comparing them with ``t`` in float64 (None: ``==`` can never hold)."""
    if kind == "float":
        f = float(np.float32(t))
        if math.isinf(f) and not math.isinf(t):
            f = float(np.finfo(np.float32).max) * (1 if t > 0 else -1)
        if f == t:
            return f
        down = f if f < t else float(np.nextafter(np.float32(f), np.float32(-np.inf)))
        up = f if f > t else float(np.nextafter(np.float32(f), np.float32(np.inf)))
        if op in ("<=", ">"):
            return down
        if op in ("<", ">="):
            return up
        return None
    if kind == "integer":
        if float(t).is_integer():
            return t
        if op in ("<=", ">"):
            return float(math.floor(t))
        if op in ("<", ">="):
            return float(math.ceil(t))
        return None
    return t


def _number_text(v: float, kind: str) -> str:
    if kind == "integer":
        return str(int(v))
    return num(v)


def _tree_body(w: Writer, tt: _TreeText, root: int, value: Any, strategy: str, *, classification: bool = False) -> None:
    """Write the Node tree of the IR tree at ``root``; ``value(node)`` gives a node's attribute text
    and inner elements (score / ScoreDistributions); node -1 is "no value"."""
    est = tt.est
    x = w.x
    fc, tc, miss, feat = tt.fc, tt.tc, tt.miss, est.feature
    indent = w.indent
    nl = "\n" if indent else ""
    parts = x.parts
    explicit = strategy == "none"
    null_child = f'<Node score="{tt.any_score if classification else "0.0"}"><False/></Node>'
    # stack items: (0, predicate, body root) opens a Node; (1, None, 0) closes one;
    # (2, predicate, node) is a leaf Node with that node's value (-1: no value)
    stack: list[tuple[int, Any, int]] = [(0, _TRUE, root)]
    depth = x.depth
    while stack:
        kind, pred, arg = stack.pop()
        pad = "\t" * depth if indent else ""
        if kind == 1:
            depth -= 1
            parts.append(("\t" * depth if indent else "") + "</Node>" + nl)
            continue
        if kind == 2:
            parts.append(f"{pad}{_leaf(value(arg), pred, null_child)}{nl}")
            continue
        chain = []
        s = arg
        while feat[s] >= 0:
            chain.append(s)
            s = fc[s]
        if not chain:
            parts.append(f"{pad}{_leaf(value(s), pred, null_child)}{nl}")
            continue
        v = value(s)
        a, inner = v if v is not None else ("", "")  # no score: falling through gives no prediction
        parts.append(f"{pad}<Node{a}>{pred}{inner}{nl}")
        depth += 1
        stack.append((1, None, 0))
        for node in reversed(chain):
            stack.append((0, tt.pred[node], int(tc[node])))
            m = miss[node]
            if explicit and m in (MISSING_STOP, MISSING_NULL):
                stack.append((2, tt.missing_test[feat[node]], node if m == MISSING_STOP else -1))
    x.depth = depth


def _leaf(v: tuple[str, str] | None, pred: str, null_child: str) -> str:
    """A leaf Node; a leaf without a value is a scoreless node whose only child never matches, so
    JPMML returns no prediction there (a NaN score would not load)."""
    if v is None:
        return f"<Node>{pred}{null_child}</Node>"
    return f"<Node{v[0]}>{pred}{v[1]}</Node>"


def _strategy(tt: _TreeText, nodes: NDArray[np.intp]) -> str:
    """nullPrediction when every split is null on missing (and no test is constant), else none."""
    est = tt.est
    split = nodes[est.feature[nodes] >= 0]
    if split.size and (tt.miss[split] == MISSING_NULL).all() and not any(tt.constant[i] for i in split.tolist()):
        return "nullPrediction"
    return "none"


def _tree_nodes(est: TreeEnsemble, owner: NDArray[np.int64], t: int) -> NDArray[np.intp]:
    return np.flatnonzero(owner == t)


def _tree_model(
    w: Writer, tt: _TreeText, t: int, nodes: NDArray[np.intp], fn: str, value: Any, *, output: str | None, base: float, used: list[str]
) -> None:
    est = tt.est
    x = w.x
    strategy = _strategy(tt, nodes)
    attrs: dict[str, Any] = {"functionName": fn, "missingValueStrategy": strategy, "noTrueChildStrategy": "returnLastPrediction"}
    if w.extensions and est.accumulate_dtype == "float32":
        attrs["x-mathContext"] = "float"
    x.open("TreeModel", attrs)
    w_schema(w, used, target=fn == "classification" and output is None)
    if output is not None:
        _intermediate_output(w, output)
    if base:
        x.open("Targets")
        x.leaf("Target", {"rescaleConstant": num(base)})
        x.close("Targets")
    _tree_body(w, tt, int(est.roots[t]), value, strategy, classification=fn == "classification")
    x.close("TreeModel")


def w_schema(w: Writer, used: list[str], *, target: bool) -> None:
    x = w.x
    x.open("MiningSchema")
    if target:
        x.leaf("MiningField", {"name": w.target, "usageType": "target"})
    if not used and not target:  # a MiningSchema needs a field: a constant tree still names one input
        used = [w.model.inputs[0].name]
    for name in used:
        x.leaf("MiningField", {"name": name})
    x.close("MiningSchema")


def _intermediate_output(w: Writer, name: str) -> None:
    x = w.x
    x.open("Output")
    x.leaf("OutputField", {"name": name, "optype": "continuous", "dataType": "double", "isFinalResult": "false"})
    x.close("Output")


# -- which DataFields a tree needs -----------------------------------------------------------------------


def _data_fields_of(w: Writer) -> dict[str, set[str]]:
    """Column -> the input fields it is computed from."""
    deps: dict[str, set[str]] = {f.name: {f.name} for f in w.model.inputs}
    from ...ir import step_inputs, step_outputs

    for step in w.model.steps:
        ins = set().union(*(deps.get(i, set()) for i in step_inputs(step))) if step_inputs(step) else set()
        for o in step_outputs(step):
            deps[o] = ins
    for view, col in ((v, c) for c, v in w.view.items()):
        deps[view] = deps.get(col, set())
    return deps


def _used_inputs(w: Writer, est: TreeEnsemble, nodes: NDArray[np.intp], deps: dict[str, set[str]]) -> list[str]:
    cols = {est.features[k] for k in np.unique(est.feature[nodes][est.feature[nodes] >= 0]).tolist()}
    need: set[str] = set()
    for c in cols:
        need |= deps.get(c, {c})
    return [f.name for f in w.model.inputs if f.name in need]


# -- classification ensembles written directly ------------------------------------------------------------


def _direct_classifier(w: Writer, est: TreeEnsemble, *, votes: bool) -> None:
    t = w.model.target
    x = w.x
    classes = t.classes
    labels = [esc(_value_text(c)) for c in classes]
    K = len(classes)
    vals = est.values
    if vals.shape[1] == 1:  # binary single output: P(classes[1])
        vals = np.hstack([1.0 - vals, vals])
    if votes:
        best = np.argmax(vals, axis=1)
        onehot = np.zeros_like(vals)
        onehot[np.arange(vals.shape[0]), best] = 1.0
        vals = np.where(np.isnan(vals).any(axis=1, keepdims=True), np.nan, onehot)
    cache: dict[int, tuple[str, str]] = {}

    def value(node: int) -> tuple[str, str] | None:
        if node < 0:
            return None
        got = cache.get(node)
        if got is not None:
            return got
        row = vals[node]
        if np.isnan(row).any():
            return None
        k = int(np.argmax(row))
        sds = "".join(f'<ScoreDistribution value="{labels[j]}" recordCount="{num(row[j])}"/>' for j in range(K))
        out = (f' score="{labels[k]}"', sds)
        cache[node] = out
        return out

    tt = _TreeText(w, est)
    owner = est.tree_of_node()
    deps = _data_fields_of(w)
    weights = est.tree_weights
    if est.n_trees == 1:
        nodes = _tree_nodes(est, owner, 0)
        _tree_model_top(w, tt, 0, nodes, value, deps)
        return
    method = (
        ("weightedMajorityVote" if weights is not None else "majorityVote")
        if votes
        else ("weightedAverage" if weights is not None else "average")
    )
    attrs: dict[str, Any] = {"functionName": "classification"}
    if w.model.metadata.name:
        attrs["modelName"] = w.model.metadata.name
    x.open("MiningModel", attrs)
    w.mining_schema()
    w.probability_output()
    x.open("Segmentation", {"multipleModelMethod": method, "missingPredictionTreatment": "returnMissing"})
    for ti in range(est.n_trees):
        sa: dict[str, Any] = {"id": str(ti + 1)}
        if weights is not None:
            sa["weight"] = num(weights[ti])
        x.open("Segment", sa)
        x.leaf("True")
        nodes = _tree_nodes(est, owner, ti)
        _tree_model(w, tt, ti, nodes, "classification", value, output=None, base=0.0, used=_used_inputs(w, est, nodes, deps))
        x.close("Segment")
    x.close("Segmentation")
    x.close("MiningModel")


def _tree_model_top(w: Writer, tt: _TreeText, t: int, nodes: NDArray[np.intp], value: Any, deps: dict[str, set[str]]) -> None:
    """A single classification tree as the top model."""
    est = tt.est
    x = w.x
    strategy = _strategy(tt, nodes)
    attrs: dict[str, Any] = {
        "functionName": "classification",
        "missingValueStrategy": strategy,
        "noTrueChildStrategy": "returnLastPrediction",
    }
    if w.model.metadata.name:
        attrs["modelName"] = w.model.metadata.name
    x.open("TreeModel", attrs)
    w.mining_schema()
    w.probability_output()
    _tree_body(w, tt, int(est.roots[t]), value, strategy, classification=True)
    x.close("TreeModel")


# -- per-column regression ensembles ---------------------------------------------------------------------


def _column_value(est: TreeEnsemble, k: int) -> Any:
    col = est.values[:, k]

    def value(node: int) -> tuple[str, str] | None:
        if node < 0 or math.isnan(col[node]):
            return None
        return (f' score="{num(col[node])}"', "")

    return value


def _column_model(w: Writer, est: TreeEnsemble, k: int, *, top: bool, output: str | None = None) -> None:
    """The regression ensemble of output column ``k`` (the top model, or a chain segment)."""
    x = w.x
    base = float(est.base_score[k]) if est.base_score is not None else 0.0
    tt = _TreeText(w, est)
    owner = est.tree_of_node()
    deps = _data_fields_of(w)
    value = _column_value(est, k)
    trees = [t for t in range(est.n_trees) if _contributes(est, owner, t, k)]
    if not trees:
        trees = [0]
    weights = est.tree_weights
    agg = est.aggregation
    # one tree: an average / max / median of one tree is that tree; a sum of one tree is too if its weight is 1
    lone_sum = agg == "sum" and len(trees) == 1 and (weights is None or weights[trees[0]] == 1.0)
    if lone_sum or (est.n_trees == 1 and agg != "sum"):
        ti = trees[0] if agg == "sum" else 0
        nodes = _tree_nodes(est, owner, ti)
        if top:
            _top_regression_tree(w, tt, ti, nodes, value, base)
        else:
            _tree_model(w, tt, ti, nodes, "regression", value, output=output, base=base, used=_used_inputs(w, est, nodes, deps))
        return
    if agg in ("average", "max", "median", "majority_vote"):
        trees = list(range(est.n_trees))  # every tree counts in these
    method = {"sum": "sum", "average": "average", "max": "max", "median": "median"}[agg]
    if weights is not None and agg in ("sum", "average"):
        method = "weightedSum" if agg == "sum" else "weightedAverage"
    attrs: dict[str, Any] = {"functionName": "regression"}
    if top and w.model.metadata.name:
        attrs["modelName"] = w.model.metadata.name
    if w.extensions and est.accumulate_dtype == "float32":
        attrs["x-mathContext"] = "float"
    x.open("MiningModel", attrs)
    if top:
        w.mining_schema()
    else:
        w_schema(w, [f.name for f in w.model.inputs], target=False)
        _intermediate_output(w, output or "")
    if base:
        x.open("Targets")
        x.leaf("Target", {"field": w.target if top else None, "rescaleConstant": num(base)})
        x.close("Targets")
    x.open("Segmentation", {"multipleModelMethod": method, "missingPredictionTreatment": "returnMissing"})
    for ti in trees:
        sa: dict[str, Any] = {"id": str(ti + 1)}
        if weights is not None and agg in ("sum", "average"):
            sa["weight"] = num(weights[ti])
        x.open("Segment", sa)
        x.leaf("True")
        nodes = _tree_nodes(est, owner, ti)
        _tree_model(w, tt, ti, nodes, "regression", value, output=None, base=0.0, used=_used_inputs(w, est, nodes, deps))
        x.close("Segment")
    x.close("Segmentation")
    x.close("MiningModel")


def _contributes(est: TreeEnsemble, owner: NDArray[np.int64], t: int, k: int) -> bool:
    """Does tree ``t`` add anything to column ``k`` (a non-zero value, or a way to be missing)?"""
    nodes = owner == t
    v = est.values[nodes, k]
    if (v != 0).any() or np.isnan(v).any():
        return True
    return bool((est.missing[nodes & (est.feature >= 0)] == MISSING_NULL).any())


def _top_regression_tree(w: Writer, tt: _TreeText, t: int, nodes: NDArray[np.intp], value: Any, base: float) -> None:
    est = tt.est
    x = w.x
    strategy = _strategy(tt, nodes)
    attrs: dict[str, Any] = {"functionName": "regression", "missingValueStrategy": strategy, "noTrueChildStrategy": "returnLastPrediction"}
    if w.model.metadata.name:
        attrs["modelName"] = w.model.metadata.name
    x.open("TreeModel", attrs)
    w.mining_schema()
    if base:
        x.open("Targets")
        x.leaf("Target", {"field": w.target, "rescaleConstant": num(base)})
        x.close("Targets")
    _tree_body(w, tt, int(est.roots[t]), value, strategy)
    x.close("TreeModel")


# -- model chains: columns feeding the output transform ------------------------------------------------------


def _chain(w: Writer, est: TreeEnsemble, columns: list[int]) -> None:
    t = w.model.target
    x = w.x
    post = est.post_transform
    fields = [w.fresh(f"decision({k})") for k in columns]
    attrs: dict[str, Any] = {"functionName": t.task}
    if w.model.metadata.name:
        attrs["modelName"] = w.model.metadata.name
    x.open("MiningModel", attrs)
    w.mining_schema()
    # the probability outputs belong to the last segment (JPMML resolves them there, as sklearn2pmml writes)
    x.open("Segmentation", {"multipleModelMethod": "modelChain", "missingPredictionTreatment": "returnMissing"})
    for i, (k, f) in enumerate(zip(columns, fields)):
        x.open("Segment", {"id": str(i + 1)})
        x.leaf("True")
        _column_model(w, est, k, top=False, output=f)
        x.close("Segment")
    x.open("Segment", {"id": str(len(columns) + 1)})
    x.leaf("True")
    _combiner(w, fields, post)
    x.close("Segment")
    x.close("Segmentation")
    x.close("MiningModel")


def _combiner(w: Writer, fields: list[str], post: str, local: list[tuple[str, str]] | None = None, reads: list[str] | None = None) -> None:
    """The final segment: output transform ``post`` over the decision fields (``local``: derived
    fields computed first, from the chain outputs ``reads``)."""
    w.pending_local = local or []
    w.pending_reads = reads or fields
    t = w.model.target
    if t.task == "regression":
        norm = {"identity": "none", "exp": "exp", **_BINOMIAL}.get(post)
        if norm is None:  # pragma: no cover - the IR allows no other regression transform
            w.loss(f"post transform {post!r} for a regression", "TreeEnsemble")
            norm = "none"
        _final_regression(w, fields, [(None, [1.0])], norm, "regression")
        return
    classes = t.classes
    K = len(fields)
    if K == 1 and post in _BINOMIAL:
        _final_regression(w, fields, [(classes[1], [1.0]), (classes[0], None)], _BINOMIAL[post], "classification")
        return
    if K > 1 and post in ("softmax", "simplemax", "softmax_zero"):
        if post == "softmax_zero":
            w.loss("softmax_zero (ONNX) is written as softmax: scores within 1e-7 of zero get a different probability", "TreeEnsemble")
            post = "softmax"
        rows = [(classes[j], [1.0 if i == j else 0.0 for i in range(K)]) for j in range(K)]
        _final_regression(w, fields, rows, post, "classification")
        return
    act = post if post in ("logistic", "identity", "exp") else "logistic"
    if act != post:
        w.loss(f"{post} on {K} separate outputs has no PMML form; written with a logistic link", "TreeEnsemble")
    _final_network(w, fields, act)


def _final_regression(w: Writer, fields: list[str], rows: Any, norm: str, fn: str) -> None:
    x = w.x
    attrs: dict[str, Any] = {"functionName": fn}
    if norm != "none":
        attrs["normalizationMethod"] = norm
    x.open("RegressionModel", attrs)
    w_schema(w, getattr(w, "pending_reads", fields), target=True)
    if fn == "classification":
        w.probability_output()
    _pending_local(w)
    for cat, coefs in rows:
        ta: dict[str, Any] = {"intercept": "0.0"}
        if cat is not None:
            ta["targetCategory"] = _value_text(cat)
        if coefs is None:
            x.leaf("RegressionTable", ta)
            continue
        x.open("RegressionTable", ta)
        for f, c in zip(fields, coefs):
            if c != 0.0:
                x.leaf("NumericPredictor", {"name": f, "coefficient": num(c)})
        x.close("RegressionTable")
    x.close("RegressionModel")


def _final_network(w: Writer, fields: list[str], act: str) -> None:
    """Element-wise output transform as a one-layer identity-weight network."""
    t = w.model.target
    x = w.x
    K = len(fields)
    layers: list[tuple[Any, Any, str]] = [(np.eye(K), np.zeros(K), act)]
    if K == 1:
        layers.append((np.array([[-1.0, 1.0]]), np.array([1.0, 0.0]), "identity"))
    x.open("NeuralNetwork", {"functionName": "classification", "activationFunction": "identity"})
    w_schema(w, getattr(w, "pending_reads", fields), target=True)
    w.probability_output()
    _pending_local(w)
    x.open("NeuralInputs", {"numberOfInputs": str(K)})
    for i, f in enumerate(fields):
        x.open("NeuralInput", {"id": f"in{i}"})
        x.open("DerivedField", {"optype": "continuous", "dataType": "double"})
        x.leaf("FieldRef", {"field": f})
        x.close("DerivedField")
        x.close("NeuralInput")
    x.close("NeuralInputs")
    ids = [f"in{i}" for i in range(K)]
    nn_act = {"logistic": "logistic", "identity": "identity", "exp": "exponential"}
    for li, (W, b, a) in enumerate(layers):
        x.open("NeuralLayer", {"numberOfNeurons": str(W.shape[1]), "activationFunction": nn_act[a]})
        new = []
        for j in range(W.shape[1]):
            nid = f"{li + 1}/{j + 1}"
            new.append(nid)
            x.open("Neuron", {"id": nid, "bias": num(b[j])})
            for i in range(W.shape[0]):
                if W[i, j] != 0.0:
                    x.leaf("Con", {"from": ids[i], "weight": num(W[i, j])})
            x.close("Neuron")
        x.close("NeuralLayer")
        ids = new
    x.open("NeuralOutputs", {"numberOfOutputs": str(len(ids))})
    for j, nid in enumerate(ids):
        x.open("NeuralOutput", {"outputNeuron": nid})
        x.open("DerivedField", {"optype": "categorical", "dataType": _class_type(t.classes)})
        x.leaf("NormDiscrete", {"field": w.target, "value": _value_text(t.classes[j])})
        x.close("DerivedField")
        x.close("NeuralOutput")
    x.close("NeuralOutputs")
    x.close("NeuralNetwork")


def _pending_local(w: Writer) -> None:
    local = getattr(w, "pending_local", [])
    if not local:
        return
    x = w.x
    x.open("LocalTransformations")
    for name, xml in local:
        x.open("DerivedField", {"name": name, "optype": "continuous", "dataType": "double"})
        w._raw_line(xml)
        x.close("DerivedField")
    x.close("LocalTransformations")
    w.pending_local = []


def _select_chain(w: Writer, est: TreeEnsemble) -> None:
    """max over trees, per output: every (tree, output) is a chain segment; the last segment takes
    ``Apply max`` of them (plus the base score) and applies the transform."""
    t = w.model.target
    x = w.x
    K = est.n_outputs
    base = est.base_score if est.base_score is not None else np.zeros(K)
    tt = _TreeText(w, est)
    owner = est.tree_of_node()
    deps = _data_fields_of(w)
    attrs: dict[str, Any] = {"functionName": t.task}
    if w.model.metadata.name:
        attrs["modelName"] = w.model.metadata.name
    x.open("MiningModel", attrs)
    w.mining_schema()
    x.open("Segmentation", {"multipleModelMethod": "modelChain", "missingPredictionTreatment": "returnMissing"})
    outs = [[w.fresh(f"tree({ti},{k})") for ti in range(est.n_trees)] for k in range(K)]
    seg = 0
    for ti in range(est.n_trees):
        nodes = _tree_nodes(est, owner, ti)
        used = _used_inputs(w, est, nodes, deps)
        for k in range(K):
            seg += 1
            x.open("Segment", {"id": str(seg)})
            x.leaf("True")
            _tree_model(w, tt, ti, nodes, "regression", _column_value(est, k), output=outs[k][ti], base=0.0, used=used)
            x.close("Segment")
    fn = "max"
    local = []
    agg_fields = []
    for k in range(K):
        name = w.fresh(f"{fn}({k})")
        refs = "".join(f'<FieldRef field="{esc(f)}"/>' for f in outs[k])
        xml = f'<Apply function="{fn}">{refs}</Apply>'
        if base[k]:
            xml = f'<Apply function="+">{xml}<Constant dataType="double">{num(base[k])}</Constant></Apply>'
        local.append((name, xml))
        agg_fields.append(name)
    x.open("Segment", {"id": str(seg + 1)})
    x.leaf("True")
    _combiner(w, agg_fields, est.post_transform, local, [f for col in outs for f in col])
    x.close("Segment")
    x.close("Segmentation")
    x.close("MiningModel")


_ = (Affine, Derive, Impute, Lookup, OneHot)
