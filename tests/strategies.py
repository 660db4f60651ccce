"""Hypothesis strategies generating random, valid portamodel IR models of every family.

``models()`` draws any model; ``linear_models()``, ``tree_models()`` and ``mlp_models()`` fix the
family. Every strategy takes the same keyword knobs so a format writer can ask for exactly the
subset its format supports, for example::

    models(families=("tree",), steps=False, ops=("<=", "<"), missing_actions=("false_child", "true_child"))
    models(steps=("affine", "impute", "onehot"), normalizations=("identity", "logistic", "softmax"))

Sizes stay small (at most ``max_features`` inputs, trees of depth <= ``max_depth``) so property
tests are fast. Use :func:`helpers.sample_inputs` to get valid inputs for a drawn model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st

from portamodel.ir import (
    AGGREGATIONS,
    MISSING_ACTIONS,
    MLP,
    OP_CODE,
    OPS,
    Affine,
    Apply,
    Constant,
    DenseLayer,
    Derive,
    Field,
    FieldRef,
    Impute,
    LinearModel,
    Lookup,
    Model,
    OneHot,
    Target,
    TreeEnsemble,
)

__all__ = [
    "ALL_STEPS",
    "ELEMENTWISE_LINKS",
    "FAMILIES",
    "HIDDEN_ACTIVATIONS",
    "linear_models",
    "mlp_models",
    "models",
    "tree_models",
]

FAMILIES: tuple[str, ...] = ("linear", "tree", "mlp")
ALL_STEPS: tuple[str, ...] = ("affine", "impute", "onehot", "lookup", "derive")
#: Links that map one score to a probability in [0, 1].
ELEMENTWISE_LINKS: tuple[str, ...] = ("logistic", "probit", "cloglog", "loglog", "cauchit")
HIDDEN_ACTIVATIONS: tuple[str, ...] = (
    "identity", "relu", "tanh", "logistic", "leaky_relu", "exp", "square", "gauss",
    "sine", "cosine", "elliott", "arctan",
)  # fmt: skip
#: Derive functions used by the generated expressions (all numeric, no domain errors).
DERIVE_FUNCTIONS: tuple[str, ...] = ("+", "-", "*", "min", "max", "avg", "abs", "floor", "ceil", "threshold", "if")

_LETTERS = ("a", "b", "c", "d", "e")


def _num(lo: float = -3.0, hi: float = 3.0) -> st.SearchStrategy[float]:
    """Short decimals (two places) that shrink nicely and print readably."""
    return st.integers(int(lo * 100), int(hi * 100)).map(lambda v: v / 100)


def _pos(lo: float = 0.1, hi: float = 3.0) -> st.SearchStrategy[float]:
    return st.integers(int(lo * 100), int(hi * 100)).map(lambda v: v / 100)


def _steps_allowed(steps: bool | Sequence[str]) -> tuple[str, ...]:
    if steps is True:
        return ALL_STEPS
    if steps is False:
        return ()
    unknown = set(steps) - set(ALL_STEPS)
    if unknown:
        raise ValueError(f"unknown step kinds {sorted(unknown)}; known: {ALL_STEPS}")
    return tuple(steps)


# -- inputs and steps -----------------------------------------------------------------------------


@st.composite
def _inputs_and_steps(
    draw: st.DrawFn, *, max_features: int, steps: tuple[str, ...], float_inputs: bool
) -> tuple[tuple[Field, ...], tuple[Any, ...], list[str]]:
    """Input fields, steps and the list of numeric columns an estimator may use."""
    n_num = draw(st.integers(1, max_features))
    dtypes = ("double", "float", "integer") if float_inputs else ("double",)
    fields = [Field(name=f"x{i}", dtype=draw(st.sampled_from(dtypes))) for i in range(n_num)]
    encoders = [s for s in ("onehot", "lookup") if s in steps]
    n_str = draw(st.integers(0, 2)) if encoders else 0
    for i in range(n_str):
        values = draw(st.lists(st.sampled_from(_LETTERS), min_size=2, max_size=4, unique=True))
        invalid = draw(st.sampled_from(("as_is", "as_missing", "error")))
        fields.append(Field(name=f"c{i}", dtype="string", optype="categorical", values=tuple(values), invalid=invalid))
    numeric = [f.name for f in fields if f.is_numeric]
    out: list[Any] = []
    if "impute" in steps and draw(st.booleans()):
        ins = draw(st.lists(st.sampled_from(numeric[:n_num]), min_size=1, max_size=n_num, unique=True))
        vals = [draw(_num()) for _ in ins]
        out.append(Impute(inputs=tuple(ins), outputs=tuple(f"{n}_imp" for n in ins), values=tuple(vals)))
        numeric += [f"{n}_imp" for n in ins]
    if "affine" in steps and draw(st.booleans()):
        ins = draw(st.lists(st.sampled_from(list(numeric)), min_size=1, max_size=min(3, len(numeric)), unique=True))
        k = len(ins)
        with_shift = draw(st.booleans())
        out.append(
            Affine(
                inputs=tuple(ins),
                outputs=tuple(f"{n}_aff" for n in ins),
                offset=[draw(_num()) for _ in range(k)],
                scale=[draw(_pos()) * draw(st.sampled_from((1, -1))) for _ in range(k)],
                shift=[draw(_num()) for _ in range(k)] if with_shift else None,
                divide=draw(st.booleans()),
            )
        )
        numeric += [f"{n}_aff" for n in ins]
    for f in fields[n_num:]:
        kind = draw(st.sampled_from(encoders))
        if kind == "onehot":
            cats = draw(st.lists(st.sampled_from(f.values), min_size=1, max_size=len(f.values), unique=True))
            outs = tuple(f"{f.name}_{c}" for c in cats)
            missing = draw(st.sampled_from(("zeros", "propagate")))
            out.append(OneHot(input=f.name, categories=tuple(cats), outputs=outs, missing=missing))
            numeric += list(outs)
        else:
            codes = draw(st.permutations(list(range(len(f.values)))))
            default = draw(st.sampled_from((None, -1.0)))
            missing_code = draw(st.sampled_from((None, -2.0)))
            keys = draw(st.lists(st.sampled_from(f.values), min_size=1, max_size=len(f.values), unique=True))
            out.append(
                Lookup(
                    input=f.name,
                    output=f"{f.name}_code",
                    keys=tuple(keys),
                    values=tuple(float(codes[i]) for i in range(len(keys))),
                    default=default,
                    missing=missing_code,
                )
            )
            numeric.append(f"{f.name}_code")
    if "derive" in steps and draw(st.booleans()):
        expr = draw(_expressions(tuple(numeric), depth=2))
        out.append(Derive(output="d0", expression=expr))
        numeric.append("d0")
    return tuple(fields), tuple(out), numeric


def _expressions(columns: tuple[str, ...], depth: int) -> st.SearchStrategy[Any]:
    leaf = st.one_of(st.sampled_from(columns).map(lambda n: FieldRef(name=n)), _num().map(lambda v: Constant(value=v)))
    if depth == 0:
        return leaf
    sub = _expressions(columns, depth - 1)

    @st.composite
    def node(draw: st.DrawFn) -> Any:
        fn = draw(st.sampled_from(DERIVE_FUNCTIONS))
        if fn in ("abs", "floor", "ceil"):
            return Apply(function=fn, args=(draw(sub),))
        if fn == "if":
            cmp = draw(st.sampled_from(("greaterThan", "lessOrEqual", "equal")))
            cond = Apply(function=cmp, args=(draw(sub), draw(sub)))
            if draw(st.booleans()):
                cond = Apply(function=draw(st.sampled_from(("and", "or"))), args=(cond, Apply(function="isNotMissing", args=(draw(sub),))))
            return Apply(function="if", args=(cond, draw(sub), draw(sub)))
        if fn in ("min", "max", "avg"):
            return Apply(function=fn, args=tuple(draw(st.lists(sub, min_size=1, max_size=3))))
        return Apply(function=fn, args=(draw(sub), draw(sub)))

    return st.one_of(leaf, node())


# -- targets ---------------------------------------------------------------------------------------


@st.composite
def _target(draw: st.DrawFn, tasks: Sequence[str], max_classes: int) -> Target:
    task = draw(st.sampled_from(tuple(tasks)))
    if task == "regression":
        return Target(name="y", task="regression")
    k = draw(st.integers(2, max_classes))
    kind = draw(st.sampled_from(("str", "int")))
    classes: tuple[Any, ...] = tuple(f"k{i}" for i in range(k)) if kind == "str" else tuple(range(k))
    return Target(name="y", task="classification", classes=classes)


def _n_outputs(draw: st.DrawFn, target: Target, single_output_binary: bool) -> int:
    if target.task == "regression":
        return 1
    k = len(target.classes)
    if k == 2 and single_output_binary and draw(st.booleans()):
        return 1
    return k


# -- estimators ------------------------------------------------------------------------------------


def _pick(options: Sequence[str], allowed: Sequence[str] | None) -> tuple[str, ...]:
    picked = tuple(o for o in options if allowed is None or o in allowed)
    return picked or (options[0],)


@st.composite
def _linear(draw: st.DrawFn, features: list[str], target: Target, n_out: int, normalizations: Sequence[str] | None) -> LinearModel:
    if target.task == "regression":
        norm = draw(st.sampled_from(_pick(("identity", "exp"), normalizations)))
    elif n_out == 1:
        norm = draw(st.sampled_from(_pick(ELEMENTWISE_LINKS, normalizations)))
    else:
        norm = draw(st.sampled_from(_pick(("softmax", "logistic", "softmax_zero", "simplemax"), normalizations)))
    coef = [[draw(_num()) for _ in features] for _ in range(n_out)]
    if norm == "simplemax":  # keep the sums positive so the "probabilities" are meaningful
        coef = [[abs(c) for c in row] for row in coef]
    icpt = [draw(_num()) for _ in range(n_out)]
    if norm == "simplemax":
        icpt = [abs(v) + 0.5 for v in icpt]
    return LinearModel(features=tuple(features), coefficients=coef, intercepts=icpt, normalization=norm)  # type: ignore[arg-type]


@st.composite
def _mlp(draw: st.DrawFn, features: list[str], target: Target, n_out: int, activations: Sequence[str] | None, float32: bool) -> MLP:
    width = len(features)
    layers = []
    for _ in range(draw(st.integers(0, 2))):
        n_hidden = draw(st.integers(1, 4))
        act = draw(st.sampled_from(_pick(HIDDEN_ACTIVATIONS, activations)))
        w = [[draw(_num(-1.5, 1.5)) for _ in range(n_hidden)] for _ in range(width)]
        b = [draw(_num(-1, 1)) for _ in range(n_hidden)]
        alpha = draw(_pos(0.01, 0.3)) if act == "leaky_relu" else 0.01
        layers.append(DenseLayer(weights=w, biases=b, activation=act, alpha=alpha))  # type: ignore[arg-type]
        width = n_hidden
    if target.task == "regression":
        out_act = "identity"
    elif n_out == 1:
        out_act = "logistic"
    else:
        out_act = draw(st.sampled_from(_pick(("softmax", "simplemax"), activations))) if activations is None else "softmax"
        if out_act == "simplemax":
            out_act = "softmax"  # simplemax of signed values is not a distribution; keep it for hidden layers only
    w = [[draw(_num(-1.5, 1.5)) for _ in range(n_out)] for _ in range(width)]
    b = [draw(_num(-1, 1)) for _ in range(n_out)]
    layers.append(DenseLayer(weights=w, biases=b, activation=out_act))  # type: ignore[arg-type]
    # float32 networks keep these two-decimal weights, which float32 cannot hold: they are rounded when scored
    compute_dtype = draw(st.sampled_from(("float64", "float32"))) if float32 else "float64"
    return MLP(features=tuple(features), layers=tuple(layers), compute_dtype=compute_dtype)  # type: ignore[arg-type]


@st.composite
def _tree(
    draw: st.DrawFn,
    features: list[str],
    target: Target,
    n_out: int,
    *,
    aggregations: Sequence[str],
    missing_actions: Sequence[str],
    ops: Sequence[str],
    max_depth: int,
    max_trees: int,
    float32: bool,
    tree_weights: bool,
    base_score: bool,
    post_transforms: Sequence[str] | None,
) -> TreeEnsemble:
    cls = target.task == "classification"
    aggs = [a for a in aggregations if a != "majority_vote" or (cls and n_out == len(target.classes))]
    agg = draw(st.sampled_from(aggs))
    probs = cls and agg != "sum"  # leaf values are probability rows

    def leaf_value() -> list[float]:
        if probs:
            if n_out == 1:
                return [draw(st.integers(0, 100)) / 100]
            raw = [draw(st.integers(0, 10)) for _ in range(n_out)]
            total = sum(raw) or 1
            return [r / total for r in raw] if sum(raw) else [1.0 / n_out] * n_out
        return [draw(_num()) for _ in range(n_out)]

    feature: list[int] = []
    threshold: list[float] = []
    op: list[int] = []
    tc: list[int] = []
    fc: list[int] = []
    missing: list[int] = []
    values: list[list[float]] = []
    set_offsets = [0]
    set_values: list[float] = []
    miss_codes = [MISSING_ACTIONS.index(m) for m in missing_actions]

    def build(depth: int) -> int:
        me = len(feature)
        feature.append(-1)
        threshold.append(0.0)
        op.append(0)
        tc.append(-1)
        fc.append(-1)
        missing.append(0)
        values.append(leaf_value())
        if depth >= max_depth or not draw(st.booleans()):
            return me
        f = draw(st.integers(0, len(features) - 1))
        o = draw(st.sampled_from(tuple(ops)))
        feature[me] = f
        op[me] = OP_CODE[o]
        missing[me] = draw(st.sampled_from(miss_codes))
        if o in ("in", "not_in"):
            members = draw(st.lists(st.integers(-1, 4), min_size=1, max_size=3, unique=True))
            threshold[me] = float(len(set_offsets) - 1)
            set_values.extend(float(m) for m in members)
            set_offsets.append(len(set_values))
        elif o in ("==", "!="):
            threshold[me] = float(draw(st.integers(-1, 3)))
        else:
            threshold[me] = draw(_num())
        tc[me] = build(depth + 1)
        fc[me] = build(depth + 1)
        return me

    n_trees = draw(st.integers(1, max_trees))
    roots = [build(0) for _ in range(n_trees)]
    if cls and agg == "sum":
        links = ELEMENTWISE_LINKS if n_out == 1 else ("softmax", "logistic", "softmax_zero")
        post = draw(st.sampled_from(_pick(links, post_transforms)))
    elif target.task == "regression" and agg in ("sum", "average"):
        post = draw(st.sampled_from(_pick(("identity", "exp"), post_transforms)))
    else:
        post = "identity"
    weights = [draw(_pos(0.1, 2.0)) for _ in range(n_trees)] if tree_weights and draw(st.booleans()) else None
    base = [draw(_num()) for _ in range(n_out)] if base_score and not probs and draw(st.booleans()) else None
    has_sets = len(set_offsets) > 1
    return TreeEnsemble(
        features=tuple(features),
        roots=roots,
        feature=feature,
        threshold=threshold,
        op=op,
        true_child=tc,
        false_child=fc,
        missing=missing,
        values=np.array(values, dtype=np.float64),
        set_offsets=set_offsets if has_sets else None,
        set_values=set_values if has_sets else None,
        aggregation=agg,  # type: ignore[arg-type]
        tree_weights=weights,
        base_score=base,
        post_transform=post,  # type: ignore[arg-type]
        input_dtype=draw(st.sampled_from(("float64", "float32"))) if float32 else "float64",
        accumulate_dtype=draw(st.sampled_from(("float64", "float32"))) if float32 else "float64",
    )


# -- public strategies -----------------------------------------------------------------------------


@st.composite
def models(
    draw: st.DrawFn,
    *,
    families: Sequence[str] = FAMILIES,
    tasks: Sequence[str] = ("regression", "classification"),
    steps: bool | Sequence[str] = True,
    max_features: int = 4,
    max_classes: int = 4,
    float_inputs: bool = True,
    single_output_binary: bool = True,
    normalizations: Sequence[str] | None = None,
    activations: Sequence[str] | None = None,
    aggregations: Sequence[str] = AGGREGATIONS,
    missing_actions: Sequence[str] = MISSING_ACTIONS,
    ops: Sequence[str] = OPS,
    max_depth: int = 4,
    max_trees: int = 4,
    float32: bool = True,
    tree_weights: bool = True,
    base_score: bool = True,
    post_transforms: Sequence[str] | None = None,
) -> Model:
    """A random valid :class:`Model`.

    Knobs: ``families`` ("linear", "tree", "mlp"); ``tasks``; ``steps`` (True, False or a subset of
    :data:`ALL_STEPS`; string inputs appear only when "onehot" or "lookup" is allowed);
    ``float_inputs`` (fields of dtype "float"/"integer"); ``single_output_binary`` (a 2-class model
    with one output); ``normalizations`` (linear links allowed), ``activations`` (hidden MLP
    activations allowed); tree knobs ``aggregations``, ``missing_actions``, ``ops``, ``max_depth``,
    ``max_trees``, ``float32`` (float32 tree input / accumulation and ``compute_dtype="float32"``
    networks), ``tree_weights``, ``base_score``, ``post_transforms``.
    """
    fields, step_list, numeric = draw(_inputs_and_steps(max_features=max_features, steps=_steps_allowed(steps), float_inputs=float_inputs))
    features = draw(st.lists(st.sampled_from(numeric), min_size=1, max_size=min(6, len(numeric)), unique=True))
    family = draw(st.sampled_from(tuple(families)))
    if family == "tree" and set(aggregations) == {"majority_vote"}:  # only a multi-output classifier can vote
        if "classification" not in tasks:
            raise ValueError("majority_vote needs tasks to include 'classification'")
        tasks, single_output_binary = ("classification",), False
    target = draw(_target(tasks, max_classes))
    n_out = _n_outputs(draw, target, single_output_binary)
    if family == "linear":
        est: Any = draw(_linear(features, target, n_out, normalizations))
    elif family == "mlp":
        est = draw(_mlp(features, target, n_out, activations, float32))
    elif family == "tree":
        est = draw(
            _tree(
                features,
                target,
                n_out,
                aggregations=aggregations,
                missing_actions=missing_actions,
                ops=ops,
                max_depth=max_depth,
                max_trees=max_trees,
                float32=float32,
                tree_weights=tree_weights,
                base_score=base_score,
                post_transforms=post_transforms,
            )
        )
    else:
        raise ValueError(f"unknown family {family!r}; known: {FAMILIES}")
    return Model(inputs=fields, target=target, estimator=est, steps=step_list)


def linear_models(**knobs: Any) -> st.SearchStrategy[Model]:
    """Random linear models (see :func:`models` for the knobs)."""
    return models(families=("linear",), **knobs)


def tree_models(**knobs: Any) -> st.SearchStrategy[Model]:
    """Random single trees and ensembles of every aggregation (see :func:`models`)."""
    return models(families=("tree",), **knobs)


def mlp_models(**knobs: Any) -> st.SearchStrategy[Model]:
    """Random multi-layer perceptrons (see :func:`models`)."""
    return models(families=("mlp",), **knobs)
