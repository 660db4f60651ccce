"""scikit-learn trees and tree ensembles -> :class:`TreeEnsemble`.

How scikit-learn scores, and how that maps onto the IR:

- ``DecisionTree*``, ``RandomForest*``, ``ExtraTrees*``, ``GradientBoosting*`` cast X to float32 and
  go left when ``x <= threshold`` (float64 threshold): ``input_dtype="float32"``, op ``<=``. NaN
  follows ``tree_.missing_go_to_left``; gradient boosting refuses NaN input, so there a missing
  value makes the prediction missing (``MISSING_NULL``). A "missing goes right, the rest left"
  split has threshold +inf, stored as the largest finite double (the IR wants finite thresholds):
  scikit-learn refuses inputs that are infinite in float32, so every accepted input takes the same
  path. Leaves hold class fractions (``tree_.value``; scikit-learn >= 1.4) or
  counts, which are normalised as scikit-learn does.
- Forests average the per-tree vectors (``aggregation="average"``).
- ``GradientBoosting*``: ``raw = init + Σ learning_rate * leaf`` (``tree_weights`` = learning
  rate, ``base_score`` = the init estimator's raw prediction); multiclass trees write their value
  into their class's output only. ``exponential`` loss scores ``expit(2 raw)``: both are doubled.
- ``HistGradientBoosting*``: X stays float64 and is compared with ``num_threshold``; leaf values
  already include the learning rate; ``base_score`` = ``_baseline_prediction``. Categorical features
  are first encoded to category codes (a :class:`Lookup`, unknown/missing -> missing) and split on
  bitsets (op ``in``). A +inf threshold ("everything but NaN goes left") becomes the largest finite
  double too; HistGradientBoosting does accept +inf inputs, and such an input goes right at those
  splits where scikit-learn sends it left (the only known difference).

Called by :func:`portamodel.sklearn.from_sklearn`; scikit-learn must be installed.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import UnsupportedFeatureError
from ..ir import MISSING_FALSE, MISSING_NULL, MISSING_TRUE, OP_CODE, Lookup, Target, TreeEnsemble
from .sklearn_columns import NUMERIC, Columns, unsupported
from .sklearn_linear import classes_of
from .sklearn_transformers import is_missing_value

__all__ = ["convert_forest", "convert_gradient_boosting", "convert_hist_gradient_boosting", "convert_tree"]

LE, IN = OP_CODE["<="], OP_CODE["in"]
DBL_MAX = float(np.finfo(np.float64).max)


class _Forest:
    """Accumulates trees into the flat arrays of one :class:`TreeEnsemble`."""

    def __init__(self, n_outputs: int) -> None:
        self.n_outputs = n_outputs
        self.parts: dict[str, list[NDArray[Any]]] = {
            k: [] for k in ("feature", "threshold", "op", "true_child", "false_child", "missing", "values")
        }
        self.roots: list[int] = []
        self.sets: list[list[float]] = []
        self.n = 0

    def add_set(self, members: list[float]) -> int:
        self.sets.append(members)
        return len(self.sets) - 1

    def add(
        self,
        *,
        feature: NDArray[Any],
        threshold: NDArray[Any],
        op: NDArray[Any],
        left: NDArray[Any],
        right: NDArray[Any],
        missing: NDArray[Any],
        values: NDArray[Any],
    ) -> None:
        """Add one tree (root = its node 0); ``feature == -1`` marks leaves, children are local."""
        internal = feature >= 0
        p = self.parts
        p["feature"].append(np.where(internal, feature, -1))
        p["threshold"].append(np.where(internal, threshold, 0.0))
        p["op"].append(np.where(internal, op, 0))
        p["true_child"].append(np.where(internal, np.asarray(left, dtype=np.int64) + self.n, -1))
        p["false_child"].append(np.where(internal, np.asarray(right, dtype=np.int64) + self.n, -1))
        p["missing"].append(np.where(internal, missing, 0))
        p["values"].append(np.asarray(values, dtype=np.float64).reshape(len(feature), self.n_outputs))
        self.roots.append(self.n)
        self.n += len(feature)

    def build(self, features: list[str], **kw: Any) -> TreeEnsemble:
        if not self.roots:
            raise UnsupportedFeatureError("the ensemble has no trees", location="TreeEnsemble")
        arrays: dict[str, Any] = {k: np.concatenate(v) for k, v in self.parts.items()}
        if self.sets:
            kw["set_offsets"] = np.cumsum([0] + [len(s) for s in self.sets])
            kw["set_values"] = np.array([v for s in self.sets for v in s], dtype=np.float64)
        return TreeEnsemble(features=tuple(features), roots=np.array(self.roots), **arrays, **kw)


def _check_width(est: Any, names: list[str], where: str) -> None:
    n = getattr(est, "n_features_in_", len(names))
    if n != len(names):
        raise unsupported(est, f"fitted on {n} columns but receives {len(names)}", where)


def _sklearn_tree(forest: _Forest, tree: Any, values: NDArray[Any], *, nan_follows_tree: bool) -> None:
    left = np.asarray(tree.children_left)
    right = np.asarray(tree.children_right)
    leaf = left == -1
    if nan_follows_tree and hasattr(tree, "missing_go_to_left"):
        missing = np.where(np.asarray(tree.missing_go_to_left).astype(bool), MISSING_TRUE, MISSING_FALSE)
    else:
        missing = np.full(len(left), MISSING_NULL)
    threshold = np.asarray(tree.threshold, dtype=np.float64).copy()
    # "NaN right, everything else left" splits have threshold +inf; scikit-learn refuses inputs that
    # are infinite as float32, so the largest double takes exactly the same paths.
    threshold[~leaf & (threshold == np.inf)] = DBL_MAX
    forest.add(
        feature=np.where(leaf, -1, np.asarray(tree.feature)),
        threshold=threshold,
        op=np.full(len(left), LE),
        left=left,
        right=right,
        missing=missing,
        values=values,
    )


def _class_values(est: Any, tree: Any, n_classes: int) -> NDArray[np.float64]:
    """Per-node class probabilities exactly as ``predict_proba`` of the fitted tree returns them."""
    value = np.asarray(tree.value, dtype=np.float64)[:, 0, :n_classes]
    sums = value.sum(axis=1)
    if np.all(np.abs(sums - 1.0) <= 1e-6):  # fractions (scikit-learn >= 1.4): returned as stored
        return value
    normalizer = sums[:, np.newaxis]  # counts (older scikit-learn): divided by their sum
    normalizer[normalizer == 0.0] = 1.0
    return value / normalizer


def _n_outputs_one(est: Any, where: str) -> None:
    if getattr(est, "n_outputs_", 1) != 1:
        raise unsupported(est, f"multi-output models ({est.n_outputs_} outputs) are not supported", where)


def convert_tree(est: Any, names: list[str], cols: Columns, where: str, target: str) -> tuple[TreeEnsemble, Target]:
    """DecisionTreeClassifier / DecisionTreeRegressor."""
    from sklearn.base import is_classifier

    _check_width(est, names, where)
    _n_outputs_one(est, where)
    features = cols.distinct(names, where=where)
    if is_classifier(est):
        classes = classes_of(est, where)
        forest = _Forest(len(classes))
        _sklearn_tree(forest, est.tree_, _class_values(est, est.tree_, len(classes)), nan_follows_tree=True)
        tgt = Target(name=target, task="classification", classes=classes)
    else:
        forest = _Forest(1)
        _sklearn_tree(forest, est.tree_, np.asarray(est.tree_.value)[:, 0, :1], nan_follows_tree=True)
        tgt = Target(name=target, task="regression")
    return forest.build(features, aggregation="sum", input_dtype="float32"), tgt


def convert_forest(est: Any, names: list[str], cols: Columns, where: str, target: str) -> tuple[TreeEnsemble, Target]:
    """RandomForest* / ExtraTrees*: the average of the trees' outputs."""
    from sklearn.base import is_classifier

    _check_width(est, names, where)
    _n_outputs_one(est, where)
    features = cols.distinct(names, where=where)
    if is_classifier(est):
        classes = classes_of(est, where)
        forest = _Forest(len(classes))
        for t in est.estimators_:
            _sklearn_tree(forest, t.tree_, _class_values(t, t.tree_, len(classes)), nan_follows_tree=True)
        tgt = Target(name=target, task="classification", classes=classes)
    else:
        forest = _Forest(1)
        for t in est.estimators_:
            _sklearn_tree(forest, t.tree_, np.asarray(t.tree_.value)[:, 0, :1], nan_follows_tree=True)
        tgt = Target(name=target, task="regression")
    return forest.build(features, aggregation="average", input_dtype="float32"), tgt


def _gb_init(est: Any, n_features: int, where: str) -> NDArray[np.float64]:
    """The constant raw prediction of the init estimator (prior / mean / quantile / 'zero')."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    init = est.init_
    k = est.n_trees_per_iteration_
    if isinstance(init, str) and init == "zero":
        return np.zeros(k)
    if type(init) not in (DummyClassifier, DummyRegressor):
        raise unsupported(
            est,
            f"the init estimator {type(init).__name__} is not supported (only the default or 'zero')",
            where,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "X does not have valid feature names" for the probe row
        raw = est._raw_predict_init(np.zeros((1, n_features), dtype=np.float32))
    return np.asarray(raw, dtype=np.float64).reshape(-1)


def convert_gradient_boosting(est: Any, names: list[str], cols: Columns, where: str, target: str) -> tuple[TreeEnsemble, Target]:
    """GradientBoostingClassifier / GradientBoostingRegressor."""
    from sklearn.base import is_classifier

    _check_width(est, names, where)
    features = cols.distinct(names, where=where)
    stages = est.estimators_
    n_stages, k = stages.shape
    base = _gb_init(est, len(names), where)
    scale = 1.0
    if is_classifier(est):
        classes = classes_of(est, where)
        tgt = Target(name=target, task="classification", classes=classes)
        if est.loss == "exponential":
            post, scale = "logistic", 2.0  # predict_proba = expit(2 * raw)
        elif est.loss == "log_loss":
            post = "logistic" if k == 1 else "softmax"
        else:  # pragma: no cover - no other classification losses exist
            raise unsupported(est, f"loss={est.loss!r} is not supported", where)
    else:
        tgt = Target(name=target, task="regression")
        post = "identity"
    forest = _Forest(k)
    for i in range(n_stages):
        for j in range(k):
            tree = stages[i, j].tree_
            values = np.zeros((tree.node_count, k))
            values[:, j] = np.asarray(tree.value)[:, 0, 0]
            _sklearn_tree(forest, tree, values, nan_follows_tree=False)
    weights = np.full(n_stages * k, float(est.learning_rate) * scale)
    return (
        forest.build(
            features,
            aggregation="sum",
            tree_weights=weights,
            base_score=base * scale,
            post_transform=post,
            input_dtype="float32",
        ),
        tgt,
    )


def _hgb_columns(est: Any, names: list[str], cols: Columns, where: str) -> list[str]:
    """The columns the HGB predictors index: raw columns, categorical ones first replaced by codes."""
    pre = getattr(est, "_preprocessor", None)
    if pre is None:
        return list(names)
    to_indices = pre._transformer_to_input_indices
    enc = pre.named_transformers_["encoder"]
    cat_idx = [int(i) for i in to_indices.get("encoder", [])]
    num_idx = [int(i) for i in to_indices.get("numerical", [])]
    codes: list[str] = []
    for j, i in enumerate(cat_idx):
        name = names[i]
        cats = [c.item() if hasattr(c, "item") and not isinstance(c, str) else c for c in enc.categories_[j]]
        known = {pos: c for pos, c in enumerate(cats) if not is_missing_value(c)}
        if all(isinstance(c, str) for c in known.values()):
            cols.need_string(name, where=where)
        elif all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in known.values()):
            cols.need_numeric(name, where=where)
        else:
            raise unsupported(est, f"categories of column {name!r} mix strings and numbers", where)
        cols.mark_categorical(name)
        out = cols.fresh(f"{name}_code")
        cols.add(
            Lookup(
                input=name,
                output=out,
                keys=tuple(known.values()),
                values=tuple(float(p) for p in known),
                default=None,  # unknown categories are treated as missing
                missing=None,
            ),
            [NUMERIC],
        )
        codes.append(out)
    blocks = {"encoder": codes, "numerical": [names[i] for i in num_idx]}
    order = sorted(blocks, key=lambda b: pre.output_indices_[b].start if b in pre.output_indices_ else 0)
    return [n for b in order for n in blocks[b]]


def _bitset_members(bitset: NDArray[Any]) -> list[float]:
    words = np.asarray(bitset, dtype=np.uint32)
    return [float(v) for v in range(32 * len(words)) if (int(words[v // 32]) >> (v % 32)) & 1]


def convert_hist_gradient_boosting(est: Any, names: list[str], cols: Columns, where: str, target: str) -> tuple[TreeEnsemble, Target]:
    """HistGradientBoostingClassifier / HistGradientBoostingRegressor."""
    from sklearn.base import is_classifier

    _check_width(est, names, where)
    k = int(est.n_trees_per_iteration_)
    if is_classifier(est):
        classes = classes_of(est, where)
        tgt = Target(name=target, task="classification", classes=classes)
        post = "logistic" if k == 1 else "softmax"
    else:
        tgt = Target(name=target, task="regression")
        links = {"squared_error": "identity", "absolute_error": "identity", "quantile": "identity", "poisson": "exp", "gamma": "exp"}
        if est.loss not in links:
            raise unsupported(est, f"loss={est.loss!r} is not supported", where)
        post = links[est.loss]
    features = cols.distinct(_hgb_columns(est, names, cols, where), where=where)
    forest = _Forest(k)
    for iteration in est._predictors:
        for j, predictor in enumerate(iteration):
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            categorical = nodes["is_categorical"].astype(bool) & ~leaf
            threshold = np.asarray(nodes["num_threshold"], dtype=np.float64).copy()
            threshold[~leaf & ~categorical & (threshold == np.inf)] = DBL_MAX
            op = np.where(categorical, IN, LE)
            for node in np.flatnonzero(categorical):
                members = _bitset_members(predictor.raw_left_cat_bitsets[nodes["bitset_idx"][node]])
                threshold[node] = forest.add_set(members)
            bad = ~leaf & ~categorical & ~np.isfinite(threshold)
            if bad.any():
                raise unsupported(est, f"split threshold {threshold[bad][0]!r} cannot be represented", where)
            values = np.zeros((len(nodes), k))
            values[:, j] = nodes["value"]
            forest.add(
                feature=np.where(leaf, -1, nodes["feature_idx"]),
                threshold=threshold,
                op=op,
                left=nodes["left"],
                right=nodes["right"],
                missing=np.where(nodes["missing_go_to_left"].astype(bool), MISSING_TRUE, MISSING_FALSE),
                values=values,
            )
    base = np.asarray(est._baseline_prediction, dtype=np.float64).reshape(-1)
    return forest.build(features, aggregation="sum", base_score=base, post_transform=post), tgt
