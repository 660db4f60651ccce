"""PMML model elements -> IR estimator parts, and how parts combine.

Every model element becomes a *part*: :class:`LinearPart` (RegressionModel), :class:`TreePart`
(TreeModel, and MiningModels of trees) or :class:`MLPPart` (NeuralNetwork). Segmentations
combine parts: trees merge into one ensemble (``sum``/``weightedSum`` flatten, ``average`` /
``weightedAverage`` / ``median`` / ``max`` / ``majorityVote`` / ``weightedMajorityVote`` over
single trees), linear regressions add up into one linear model, and a ``modelChain`` whose last
segment is a RegressionModel over the earlier segments' outputs (JPMML's encoding of gradient
boosting) folds into the ensemble's weights, base score and post transform. ``Targets``
rescaling folds into tree weights, linear coefficients or the last network layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import FormatError, UnsupportedFeatureError
from ...ir import MLP, Apply, Constant, DenseLayer, Derive, FieldRef, LinearModel, Lookup, OneHot, TreeEnsemble
from ._expr import EXPRESSION_TAGS, emit_expression, typed_value
from ._scope import Builder, Scope
from ._tree import RawTree
from ._xml import Elem

__all__ = ["MODEL_TAGS", "Context", "LinearPart", "MLPPart", "TreePart", "convert_model", "finalize"]

MODEL_TAGS = frozenset(
    {
        "AnomalyDetectionModel", "AssociationModel", "BayesianNetworkModel", "BaselineModel", "ClusteringModel",
        "GaussianProcessModel", "GeneralRegressionModel", "MiningModel", "NaiveBayesModel", "NearestNeighborModel",
        "NeuralNetwork", "RegressionModel", "RuleSetModel", "SequenceModel", "Scorecard", "SupportVectorMachineModel",
        "TextModel", "TimeSeriesModel", "TreeModel",
    }
)  # fmt: skip
_SUPPORTED = ("MiningModel", "NeuralNetwork", "RegressionModel", "TreeModel")

_REG_LINKS = {"none": "identity", "softmax": "logistic", "logit": "logistic", "exp": "exp", "probit": "probit",
              "cloglog": "cloglog", "loglog": "loglog", "cauchit": "cauchit"}  # fmt: skip
_BIN_LINKS = {"logit": "logistic", "probit": "probit", "cloglog": "cloglog", "loglog": "loglog", "cauchit": "cauchit"}
_MIRROR = {"logistic": "logistic", "probit": "probit", "cauchit": "cauchit", "cloglog": "loglog", "loglog": "cloglog"}
_ACTIVATIONS = {
    "identity": "identity", "logistic": "logistic", "tanh": "tanh", "rectifier": "relu", "exponential": "exp",
    "reciprocal": "reciprocal", "square": "square", "Gauss": "gauss", "sine": "sine", "cosine": "cosine",
    "Elliott": "elliott", "arctan": "arctan",
}  # fmt: skip


@dataclass
class Context:
    """What model conversion needs from the document: the builder, the target and its classes."""

    builder: Builder
    task: str  # "regression" | "classification"
    target: str
    classes: list[Any]  # typed class labels (output order)
    class_text: list[str]  # the same labels as written in the PMML
    category_codes: dict[str, dict[str, float]]  # string field -> value -> code (tree splits)
    lookups: dict[tuple[str, str], str] = field(default_factory=dict)

    def class_index(self, text: str, where: str) -> int:
        try:
            return self.class_text.index(text)
        except ValueError:
            pass
        for i, c in enumerate(self.class_text):
            try:
                if float(c) == float(text):
                    return i
            except ValueError:
                continue
        raise FormatError(f"category {text!r} is not one of the target's classes {self.class_text}", location=where)


# -- parts ------------------------------------------------------------------------------------------


@dataclass
class LinearPart:
    features: list[str]
    coef: NDArray[np.float64]  # (n_out, n_features)
    intercept: NDArray[np.float64]
    norm: str = "identity"

    @property
    def n_out(self) -> int:
        return int(self.coef.shape[0])


@dataclass
class TreeEntry:
    tree: RawTree
    columns: list[str]  # IR column per local field
    weight: float = 1.0
    proj: NDArray[np.float64] | None = None  # (tree outputs, part outputs) applied to leaf values
    votes: bool = False  # leaf values are one-hot votes of each node's score


@dataclass
class TreePart:
    entries: list[TreeEntry]
    n_out: int
    agg: str = "sum"
    base: NDArray[np.float64] | None = None
    post: str = "identity"
    acc32: bool = False

    def base_vec(self) -> NDArray[np.float64]:
        return np.zeros(self.n_out) if self.base is None else self.base


@dataclass
class MLPPart:
    features: list[str]
    layers: list[DenseLayer]
    f32: bool = False  # JPMML's x-mathContext="float": the network computes in float32

    @property
    def n_out(self) -> int:
        return int(self.layers[-1].weights.shape[1])


Part = LinearPart | TreePart | MLPPart


# -- entry point --------------------------------------------------------------------------------------


def model_children(el: Elem) -> list[Elem]:
    return [c for c in el.children if c.tag in MODEL_TAGS]


def model_scope(el: Elem, parent: Scope) -> Scope:
    """Scope of model ``el``: LocalTransformations plus MiningSchema treatments."""
    defs = {}
    lt = el.find("LocalTransformations")
    if lt is not None:
        for d in lt.findall("DerivedField"):
            name = d.get("name")
            if name is None:
                raise FormatError("DerivedField without a name", location=d.xpath)
            defs[name] = d
    scope = parent.child(defs=defs, where=el.xpath)
    ms = el.find("MiningSchema")
    if ms is not None:
        treated = False
        for mf in ms.findall("MiningField"):
            if _mining_treatment(mf, scope):
                treated = True
        if treated and scope.global_defs:
            # global derived fields must see this model's treated inputs: resolve them here
            for k, v in scope.global_defs.items():
                scope.defs.setdefault(k, v)
    return scope


def _mining_treatment(mf: Elem, scope: Scope) -> bool:
    name = mf.get("name")
    if name is None:
        raise FormatError("MiningField without a name", location=mf.xpath)
    usage = mf.get("usageType", "active")
    if usage not in ("active",):
        return False
    repl = mf.get("missingValueReplacement")
    outliers = mf.get("outliers", "asIs")
    ivt = mf.get("invalidValueTreatment", "returnInvalid")
    if ivt == "asValue" or mf.get("invalidValueReplacement") is not None:
        raise UnsupportedFeatureError("invalidValueTreatment='asValue' is not supported", location=mf.xpath)
    if repl is None and outliers == "asIs":
        return False
    parent = scope.parent
    assert parent is not None
    b = scope.b

    def make() -> str:
        col = parent.col(name, mf.xpath)
        kind = b.kinds.get(col, "number")
        if outliers != "asIs":
            low = mf.num("lowValue", math.nan) if mf.get("lowValue") is not None else None
            high = mf.num("highValue", math.nan) if mf.get("highValue") is not None else None
            x = FieldRef(name=col)
            expr: Any = x
            if outliers == "asExtremeValues":
                if high is not None:
                    expr = Apply(
                        function="if",
                        args=(Apply(function="greaterThan", args=(x, Constant(value=high))), Constant(value=high), expr),
                    )
                if low is not None:
                    expr = Apply(
                        function="if",
                        args=(Apply(function="lessThan", args=(x, Constant(value=low))), Constant(value=low), expr),
                    )
            elif outliers == "asMissingValues":
                tests = []
                if low is not None:
                    tests.append(Apply(function="lessThan", args=(x, Constant(value=low))))
                if high is not None:
                    tests.append(Apply(function="greaterThan", args=(x, Constant(value=high))))
                if tests:
                    cond = tests[0] if len(tests) == 1 else Apply(function="or", args=tuple(tests))
                    expr = Apply(function="if", args=(cond, Constant(value=None), expr))
            else:
                raise FormatError(f"unknown outliers treatment {outliers!r}", location=mf.xpath)
            out = b.fresh(f"{name}(outliers)")
            b.add(Derive(output=out, expression=expr), "number")
            col = out
        if repl is not None:
            from ...ir import Impute

            value = typed_value(repl, "string" if kind == "string" else "double", mf.xpath)
            out = b.fresh(f"{name}(imputed)")
            b.add(Impute(inputs=(col,), outputs=(out,), values=(value,)), kind)
            if col in b.floats:
                b.floats.add(out)
            col = out
        return col

    scope.overrides[name] = make
    return True


def convert_model(el: Elem, parent: Scope, ctx: Context) -> Part:
    """Convert model element ``el`` (any supported kind) into a part."""
    if el.tag not in _SUPPORTED:
        raise UnsupportedFeatureError(f"<{el.tag}> is not supported (supported: {', '.join(_SUPPORTED)})", location=el.xpath)
    fn = el.get("functionName")
    if fn not in ("regression", "classification"):
        raise UnsupportedFeatureError(f"functionName={fn!r} is not supported (regression, classification)", location=el.xpath)
    math_ctx = el.get("x-mathContext", "double")
    scope = model_scope(el, parent)
    part: Part
    if el.tag == "RegressionModel":
        part = _regression(el, scope, ctx, fn)
    elif el.tag == "TreeModel":
        part = _tree(el, scope, ctx, fn)
    elif el.tag == "NeuralNetwork":
        part = _neural(el, scope, ctx, fn)
    else:
        part = _mining(el, scope, ctx, fn)
    if math_ctx == "float" and isinstance(part, TreePart):
        part.acc32 = True
    if math_ctx == "float" and isinstance(part, MLPPart):
        part.f32 = True  # JPMML: inputs, weights, neurons and activations in float
    return _apply_targets(el, part, ctx, fn)


# -- Targets -----------------------------------------------------------------------------------------


def _apply_targets(el: Elem, part: Part, ctx: Context, fn: str) -> Part:
    targets = el.find("Targets")
    if targets is None or fn != "regression":
        return part
    for t in targets.findall("Target"):
        name = t.get("field")
        if name is not None and name != ctx.target:
            continue
        for attr in ("castInteger", "min", "max"):
            if t.get(attr) is not None:
                raise UnsupportedFeatureError(f"Target {attr}= is not supported", location=t.xpath)
        factor = t.num("rescaleFactor", 1.0)
        const = t.num("rescaleConstant", 0.0)
        if factor != 1.0 or const != 0.0:
            part = rescale(part, factor, const, t.xpath)
    return part


def rescale(part: Part, factor: float, const: float, where: str) -> Part:
    """``output * factor + const`` folded into the part."""
    if isinstance(part, LinearPart):
        if part.norm != "identity":
            raise UnsupportedFeatureError("Targets rescaling after a non-identity normalization", location=where)
        return LinearPart(part.features, part.coef * factor, part.intercept * factor + const, part.norm)
    if isinstance(part, MLPPart):
        last = part.layers[-1]
        if last.activation == "identity":
            layers = [*part.layers[:-1], DenseLayer(weights=last.weights * factor, biases=last.biases * factor + const)]
        else:
            layers = [*part.layers, DenseLayer(weights=np.array([[factor]]), biases=np.array([const]))]
        return MLPPart(part.features, layers, part.f32)
    if part.post != "identity":
        raise UnsupportedFeatureError("Targets rescaling after a post transform", location=where)
    if factor == 1.0:  # the IR adds base_score after any aggregation
        part.base = part.base_vec() + const
        return part
    if part.agg in ("sum", "average"):
        if part.agg == "average":
            total = sum(e.weight for e in part.entries)
            for e in part.entries:
                e.weight = e.weight / total
            part.agg = "sum"
        for e in part.entries:
            e.weight *= factor
        part.base = part.base_vec() * factor + const
        return part
    if part.agg in ("max", "median") and factor > 0:
        for e in part.entries:
            scale = np.eye(part.n_out) * factor
            e.proj = scale if e.proj is None else e.proj @ scale
        part.base = part.base_vec() * factor + const
        return part
    raise UnsupportedFeatureError(f"Targets rescaleFactor={factor!r} on a {part.agg!r} ensemble", location=where)


# -- RegressionModel ----------------------------------------------------------------------------------


def _table_terms(table: Elem, scope: Scope, onehots: dict[str, dict[Any, str]]) -> tuple[dict[Any, float], float]:
    """Coefficients by IR column and the intercept of one RegressionTable."""
    b = scope.b
    coefs: dict[Any, float] = {}  # column name, or ("cat", column, category) for a one-hot column
    intercept = table.num("intercept", 0.0)
    for p in table.children:
        if p.tag == "NumericPredictor":
            col = scope.col(_need(p, "name"), p.xpath)
            exp = p.num("exponent", 1.0)
            if exp != 1.0:
                key = ("pow", col, exp)
                if key not in b.cache:
                    out = b.fresh(f"{col}^{exp:g}")
                    b.add(
                        Derive(output=out, expression=Apply(function="pow", args=(FieldRef(name=col), Constant(value=exp)))),
                        "number",
                    )
                    b.cache[key] = out
                col = b.cache[key]
            coefs[col] = coefs.get(col, 0.0) + p.num("coefficient")
        elif p.tag == "CategoricalPredictor":
            col = scope.col(_need(p, "name"), p.xpath)
            kind = b.kinds.get(col, "number")
            raw = _need(p, "value")
            value: Any = raw if kind == "string" else _as_float(raw, p.xpath)
            cats = onehots.setdefault(col, {})
            if value not in cats:
                cats[value] = ""  # column assigned later
            key = ("cat", col, value)
            coefs[key] = coefs.get(key, 0.0) + p.num("coefficient")
        elif p.tag == "PredictorTerm":
            refs = [scope.col(_need(f, "field"), f.xpath) for f in p.findall("FieldRef")]
            if not refs:
                raise FormatError("PredictorTerm without FieldRefs", location=p.xpath)
            key2 = ("term", *refs)
            if key2 not in b.cache:
                expr: Any = FieldRef(name=refs[0])
                for r in refs[1:]:
                    expr = Apply(function="*", args=(expr, FieldRef(name=r)))
                out = b.fresh("*".join(refs))
                b.add(Derive(output=out, expression=expr), "number")
                b.cache[key2] = out
            col = b.cache[key2]
            coefs[col] = coefs.get(col, 0.0) + p.num("coefficient")
    return coefs, intercept


def _need(el: Elem, attr: str) -> str:
    v = el.get(attr)
    if v is None:
        raise FormatError(f"<{el.tag}> needs a {attr!r} attribute", location=el.xpath)
    return v


def _as_float(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise FormatError(f"{text!r} is not a number", location=where) from None


def link_plan(
    norm: str, cats: list[str | None], ctx: Context, fn: str, where: str
) -> tuple[list[tuple[list[tuple[int, float]], float]], str]:
    """How outputs are built from regression tables: rows of (table index, factor) plus a constant,
    and the IR output transform (JPMML's rules for each normalizationMethod)."""
    k = len(cats)
    if fn == "regression":
        if k != 1:
            raise FormatError(f"a regression RegressionModel needs exactly one RegressionTable, got {k}", location=where)
        if norm not in _REG_LINKS:
            raise UnsupportedFeatureError(f"normalizationMethod={norm!r} for regression", location=where)
        return [([(0, 1.0)], 0.0)], _REG_LINKS[norm]
    if k != len(ctx.classes):
        raise FormatError(f"{k} RegressionTables for {len(ctx.classes)} target categories", location=where)
    idx = []
    for cat in cats:
        if cat is None:
            raise FormatError("a classification RegressionTable needs targetCategory", location=where)
        idx.append(ctx.class_index(cat, where))
    if sorted(idx) != list(range(k)):
        raise FormatError("RegressionTables must name each target category once", location=where)
    by_class = {cls: t for t, cls in enumerate(idx)}
    if k == 2 and norm in _BIN_LINKS:
        link = _BIN_LINKS[norm]
        # JPMML: the first table gives P(its category); the other is 1 - that
        if idx[0] == 1:
            return [([(0, 1.0)], 0.0)], link
        return [([(0, -1.0)], 0.0)], _MIRROR[link]
    if norm in ("softmax", "simplemax"):
        return [([(by_class[j], 1.0)], 0.0) for j in range(k)], norm
    if norm == "none" and k > 2:
        last = k - 1
        rows = []
        for j in range(k):
            ti = by_class[j]
            rows.append(([(ti, 1.0)], 0.0) if ti != last else ([(i, -1.0) for i in range(last)], 1.0))
        return rows, "identity"
    raise UnsupportedFeatureError(f"normalizationMethod={norm!r} for a {k}-class RegressionModel", location=where)


def _regression(el: Elem, scope: Scope, ctx: Context, fn: str) -> LinearPart:
    tables = el.findall("RegressionTable")
    if not tables:
        raise FormatError("RegressionModel without a RegressionTable", location=el.xpath)
    norm = el.get("normalizationMethod", "none")
    cats = [t.get("targetCategory") for t in tables]
    if fn == "classification" and norm == "softmax" and len(tables) == 2 and _is_default(tables[1]):
        norm = "logit"  # JPMML: softmax over one real table and a zero table is the logistic
    rows, post = link_plan(norm, cats, ctx, fn, el.xpath)
    onehots: dict[str, dict[Any, str]] = {}
    terms = [_table_terms(t, scope, onehots) for t in tables]
    # categorical predictors: one OneHot step per field over the categories used
    b = scope.b
    for col, cats_map in onehots.items():
        values = list(cats_map)
        outs = tuple(b.fresh(f"{col}={v}") for v in values)
        b.add(OneHot(input=col, categories=tuple(values), outputs=outs, missing="zeros"), "number")
        for v, o in zip(values, outs):
            cats_map[v] = o
    columns: dict[str, int] = {}
    resolved = []
    for coefs, icpt in terms:
        r: dict[str, float] = {}
        for key, c in coefs.items():
            if isinstance(key, tuple):
                key = onehots[key[1]][key[2]]
            r[key] = r.get(key, 0.0) + c
            columns.setdefault(key, len(columns))
        resolved.append((r, icpt))
    features = list(columns)
    coef = np.zeros((len(rows), len(features)))
    intercept = np.zeros(len(rows))
    for j, (combo, const) in enumerate(rows):
        intercept[j] = const
        for t, factor in combo:
            r, icpt = resolved[t]
            for key, c in r.items():
                coef[j, columns[key]] += factor * c
            intercept[j] += factor * icpt
    if not features:  # an intercept-only model still needs one feature: use any input with weight 0
        raise UnsupportedFeatureError("a RegressionModel without predictors", location=el.xpath)
    return LinearPart(features, coef, intercept, post)


def _is_default(table: Elem) -> bool:
    return not table.children and table.num("intercept", 0.0) == 0.0


# -- TreeModel -----------------------------------------------------------------------------------------


def _tree(el: Elem, scope: Scope, ctx: Context, fn: str) -> TreePart:
    trees = el.payload
    if not trees:
        raise FormatError("TreeModel without a Node", location=el.xpath)
    if fn == "classification" and ctx.task != "classification":
        raise FormatError("a classification TreeModel inside a regression model", location=el.xpath)
    raw: RawTree = trees[0]
    where = el.xpath
    cols = [tree_column(scope, ctx, name, where) for name in raw.fields]
    n_out = raw.values.shape[1]
    agg = "average" if fn == "classification" else "sum"
    return TreePart([TreeEntry(raw, cols)], n_out, agg=agg)


def tree_column(scope: Scope, ctx: Context, name: str, where: str) -> str:
    """Numeric IR column a tree splits on for PMML field ``name`` (string fields via category codes)."""
    col = scope.col(name, where)
    b = scope.b
    if b.kinds.get(col) != "string":
        return col
    key = (col, name)
    if key not in ctx.lookups:
        codes = ctx.category_codes.get(name, {})
        out = b.fresh(f"{name}(code)")
        b.add(
            Lookup(input=col, output=out, keys=tuple(codes), values=tuple(codes.values()), default=-1.0, missing=None),
            "number",
        )
        ctx.lookups[key] = out
    return ctx.lookups[key]


# -- NeuralNetwork ---------------------------------------------------------------------------------------


def _neural(el: Elem, scope: Scope, ctx: Context, fn: str) -> MLPPart:
    ni = el.find("NeuralInputs")
    if ni is None or not ni.findall("NeuralInput"):
        raise FormatError("NeuralNetwork without NeuralInputs", location=el.xpath)
    features: list[str] = []
    prev_ids: dict[str, int] = {}
    for inp in ni.findall("NeuralInput"):
        nid = _need(inp, "id")
        df = inp.find("DerivedField")
        if df is None:
            raise FormatError("NeuralInput without a DerivedField", location=inp.xpath)
        expr = next((c for c in df.children if c.tag in EXPRESSION_TAGS), None)
        if expr is None:
            raise FormatError("NeuralInput DerivedField without an expression", location=df.xpath)
        col = emit_expression(expr, scope, f"input({nid})", df.get("dataType"))
        if scope.b.kinds.get(col) == "string":
            raise FormatError("a NeuralInput must be numeric", location=inp.xpath)
        if nid in prev_ids:
            raise FormatError(f"duplicate neuron id {nid!r}", location=inp.xpath)
        prev_ids[nid] = len(features)
        features.append(col)
    net_act = el.get("activationFunction")
    net_norm = el.get("normalizationMethod", "none")
    layers: list[DenseLayer] = []
    seen: set[str] = set(prev_ids)
    for layer in el.findall("NeuralLayer"):
        act_name = layer.get("activationFunction") or net_act
        if act_name is None:
            raise FormatError("no activationFunction for a NeuralLayer", location=layer.xpath)
        if act_name not in _ACTIVATIONS:
            raise UnsupportedFeatureError(f"activationFunction={act_name!r} is not supported", location=layer.xpath)
        neurons = layer.findall("Neuron")
        if not neurons:
            raise FormatError("a NeuralLayer without neurons", location=layer.xpath)
        W = np.zeros((len(prev_ids), len(neurons)))
        bias = np.zeros(len(neurons))
        ids: dict[str, int] = {}
        for j, nr in enumerate(neurons):
            nid = _need(nr, "id")
            if nid in seen or nid in ids:
                raise FormatError(f"duplicate neuron id {nid!r}", location=nr.xpath)
            ids[nid] = j
            bias[j] = nr.num("bias", 0.0)
            for con in nr.findall("Con"):
                src = _need(con, "from")
                i = prev_ids.get(src)
                if i is None:
                    where = "a neuron of an earlier layer" if src in seen else "no neuron or input"
                    raise UnsupportedFeatureError(
                        f"connection from {src!r} ({where}): only connections from the previous layer are supported", location=con.xpath
                    )
                W[i, j] += con.num("weight")
        seen.update(ids)
        norm = layer.get("normalizationMethod", net_norm)
        if norm not in ("none", "softmax", "simplemax"):
            raise UnsupportedFeatureError(f"normalizationMethod={norm!r}", location=layer.xpath)
        act = _ACTIVATIONS[act_name]
        if norm == "none":
            layers.append(DenseLayer(weights=W, biases=bias, activation=act))  # type: ignore[arg-type]
        elif act == "identity":
            layers.append(DenseLayer(weights=W, biases=bias, activation=norm))  # type: ignore[arg-type]
        else:
            layers.append(DenseLayer(weights=W, biases=bias, activation=act))  # type: ignore[arg-type]
            layers.append(DenseLayer(weights=np.eye(len(neurons)), biases=np.zeros(len(neurons)), activation=norm))  # type: ignore[arg-type]
        prev_ids = ids
    if not layers:
        raise FormatError("NeuralNetwork without NeuralLayers", location=el.xpath)
    outs = el.find("NeuralOutputs")
    if outs is None:
        raise FormatError("NeuralNetwork without NeuralOutputs", location=el.xpath)
    part = MLPPart(features, layers)
    part = _merge_duplicate_inputs(part)
    if fn == "regression":
        return _nn_regression_output(part, outs, prev_ids, scope, ctx)
    return _nn_classification_output(part, outs, prev_ids, ctx)


def _merge_duplicate_inputs(part: MLPPart) -> MLPPart:
    """Two NeuralInputs reading the same column become one (their weight rows add up)."""
    if len(set(part.features)) == len(part.features):
        return part
    cols = list(dict.fromkeys(part.features))
    first = part.layers[0]
    W = np.zeros((len(cols), first.weights.shape[1]))
    for i, f in enumerate(part.features):
        W[cols.index(f)] += first.weights[i]
    layer = DenseLayer(weights=W, biases=first.biases, activation=first.activation, alpha=first.alpha)
    return MLPPart(cols, [layer, *part.layers[1:]])


def _nn_output_expr(no: Elem, scope: Scope) -> Elem:
    df = no.find("DerivedField")
    if df is None:
        raise FormatError("NeuralOutput without a DerivedField", location=no.xpath)
    expr = next((c for c in df.children if c.tag in EXPRESSION_TAGS), None)
    if expr is None:
        raise FormatError("NeuralOutput DerivedField without an expression", location=df.xpath)
    if expr.tag == "FieldRef":  # JPMML follows a reference to a derived field's expression
        d = scope.defs.get(expr.get("field", "")) if scope.defs else None
        s: Scope | None = scope
        while d is None and s is not None:
            d = s.defs.get(expr.get("field", ""))
            s = s.parent
        if d is not None:
            inner = next((c for c in d.children if c.tag in EXPRESSION_TAGS), None)
            if inner is not None:
                return inner
    return expr


def _nn_regression_output(part: MLPPart, outs: Elem, last_ids: dict[str, int], scope: Scope, ctx: Context) -> MLPPart:
    chosen = None
    for no in outs.findall("NeuralOutput"):
        expr = _nn_output_expr(no, scope)
        if expr.get("field") == ctx.target:
            chosen = (no, expr)
            break
    if chosen is None:
        raise FormatError(f"no NeuralOutput for the target {ctx.target!r}", location=outs.xpath)
    no, expr = chosen
    nid = _need(no, "outputNeuron")
    j = last_ids.get(nid)
    if j is None:
        raise _unknown_neuron(nid, no)
    part = _select_outputs(part, [j])
    if expr.tag == "FieldRef":
        return part
    if expr.tag != "NormContinuous":
        raise UnsupportedFeatureError(f"NeuralOutput <{expr.tag}> for a regression target", location=expr.xpath)
    points = [(p.num("orig"), p.num("norm")) for p in expr.findall("LinearNorm")]
    if len(points) < 2:
        raise FormatError("NormContinuous needs at least two LinearNorm points", location=expr.xpath)
    # the network outputs the normalised value z; the prediction is the inverse map z -> orig
    pts = sorted((n, o) for o, n in points)
    if any(pts[i][0] >= pts[i + 1][0] for i in range(len(pts) - 1)):
        raise UnsupportedFeatureError("NormContinuous output with a non-monotonic LinearNorm", location=expr.xpath)
    (z1, x1), (z2, x2) = pts[0], pts[1]
    slope = (x2 - x1) / (z2 - z1)
    if len(pts) == 2:
        return rescale(part, slope, x1 - slope * z1, expr.xpath)  # type: ignore[return-value]
    # piecewise linear: x1 + s1*(z - z1) + sum_i (s_i - s_{i-1}) * relu(z - z_i), via a relu layer
    slopes = [(pts[i + 1][1] - pts[i][1]) / (pts[i + 1][0] - pts[i][0]) for i in range(len(pts) - 1)]
    knots = [p[0] for p in pts[1:-1]]
    n_hidden = 2 + len(knots)
    w1 = np.array([[1.0, -1.0, *([1.0] * len(knots))]])
    b1 = np.array([-z1, z1, *[-k for k in knots]])
    w2 = np.array([[slopes[0]], [-slopes[0]], *[[slopes[i + 1] - slopes[i]] for i in range(len(knots))]])
    layers = [*part.layers, DenseLayer(weights=w1, biases=b1, activation="relu"), DenseLayer(weights=w2, biases=np.array([x1]))]
    assert w1.shape[1] == n_hidden
    return MLPPart(part.features, layers)


def _nn_classification_output(part: MLPPart, outs: Elem, last_ids: dict[str, int], ctx: Context) -> MLPPart:
    cols: dict[int, int] = {}
    for no in outs.findall("NeuralOutput"):
        df = no.find("DerivedField")
        expr = next((c for c in df.children if c.tag in EXPRESSION_TAGS), None) if df is not None else None
        if expr is None or expr.tag != "NormDiscrete":
            raise UnsupportedFeatureError("classification NeuralOutputs must be NormDiscrete", location=no.xpath)
        if expr.get("field") != ctx.target:
            continue
        k = ctx.class_index(_need(expr, "value"), expr.xpath)
        nid = _need(no, "outputNeuron")
        j = last_ids.get(nid)
        if j is None:
            raise _unknown_neuron(nid, no)
        cols[k] = j
    if sorted(cols) != list(range(len(ctx.classes))):
        raise FormatError("NeuralOutputs must map one neuron to each target category", location=outs.xpath)
    part = _select_outputs(part, [cols[k] for k in range(len(ctx.classes))])
    return _simplify_binary(part)


def _unknown_neuron(nid: str, no: Elem) -> Exception:
    net = no.parent.parent if no.parent is not None else None
    known = {n.get("id") for layer in (net.findall("NeuralLayer") if net is not None else []) for n in layer.findall("Neuron")}
    if nid in known:
        return UnsupportedFeatureError(f"output neuron {nid!r} is not in the last NeuralLayer", location=no.xpath)
    return FormatError(f"outputNeuron={nid!r} names no neuron", location=no.xpath)


def _select_outputs(part: MLPPart, order: list[int]) -> MLPPart:
    last = part.layers[-1]
    if order == list(range(last.weights.shape[1])):
        return part
    if last.activation in ("softmax", "simplemax") and sorted(order) != list(range(last.weights.shape[1])):
        raise UnsupportedFeatureError("a normalised output layer whose neurons are not all outputs", location="NeuralNetwork")
    new = DenseLayer(weights=last.weights[:, order], biases=last.biases[order], activation=last.activation, alpha=last.alpha)
    return MLPPart(part.features, [*part.layers[:-1], new])


def _simplify_binary(part: MLPPart) -> MLPPart:
    """sklearn2pmml's binary MLP ends with [.., logistic 1x1 (w=1, b=0), identity (1-p, p)]:
    collapse to one logistic output (P(classes[1])), merging an identity layer before it."""
    layers = list(part.layers)
    if len(layers) < 2:
        return part
    last, prev = layers[-1], layers[-2]
    if (
        last.activation == "identity"
        and last.weights.shape == (1, 2)
        and np.array_equal(last.weights, [[-1.0, 1.0]])
        and np.array_equal(last.biases, [1.0, 0.0])
        and prev.weights.shape[1] == 1
        and prev.activation not in ("softmax", "simplemax")
    ):
        layers = layers[:-1]
        if (
            len(layers) >= 2
            and np.array_equal(layers[-1].weights, [[1.0]])
            and layers[-1].biases[0] == 0.0
            and layers[-2].activation == "identity"
            and layers[-2].weights.shape[1] == 1
        ):
            before = layers[-2]
            layers = [*layers[:-2], DenseLayer(weights=before.weights, biases=before.biases, activation=layers[-1].activation)]
        return MLPPart(part.features, layers)
    return part


# -- MiningModel ------------------------------------------------------------------------------------------

_METHODS = (
    "sum",
    "weightedSum",
    "average",
    "weightedAverage",
    "median",
    "max",
    "majorityVote",
    "weightedMajorityVote",
    "modelChain",
    "selectFirst",
)


def _mining(el: Elem, scope: Scope, ctx: Context, fn: str) -> Part:
    seg = el.find("Segmentation")
    if seg is None:
        raise FormatError("MiningModel without a Segmentation", location=el.xpath)
    method = seg.get("multipleModelMethod")
    if method not in _METHODS:
        raise UnsupportedFeatureError(
            f"multipleModelMethod={method!r} is not supported (supported: {', '.join(_METHODS)})", location=seg.xpath
        )
    mpt = seg.get("missingPredictionTreatment", "continue")
    if mpt == "skipSegment":
        raise UnsupportedFeatureError("missingPredictionTreatment='skipSegment' is not supported", location=seg.xpath)
    segments = seg.findall("Segment")
    if not segments:
        raise FormatError("a Segmentation without segments", location=seg.xpath)
    models: list[tuple[Elem, Elem, float]] = []
    for s in segments:
        pred = next(
            (c for c in s.children if c.tag in ("True", "False", "SimplePredicate", "CompoundPredicate", "SimpleSetPredicate")), None
        )
        sub = model_children(s)
        if len(sub) != 1:
            raise FormatError("a Segment must hold exactly one model", location=s.xpath)
        if pred is None or pred.tag != "True":
            if method == "selectFirst" and pred is not None and pred.tag == "False":
                continue
            raise UnsupportedFeatureError(
                f"Segment predicates other than <True/> are not supported (found <{pred.tag if pred else 'none'}>)", location=s.xpath
            )
        models.append((s, sub[0], s.num("weight", 1.0)))
    if method == "selectFirst":
        if not models:
            raise FormatError("no segment can be selected", location=seg.xpath)
        return convert_model(models[0][1], scope, ctx)
    if method == "modelChain":
        return _chain(models, scope, ctx, fn, seg)
    parts = [convert_model(m, scope, ctx) for _, m, _ in models]
    weights = [w if method.startswith("weighted") else 1.0 for _, _, w in models]
    if all(isinstance(p, TreePart) for p in parts):
        return _combine_trees(parts, weights, method, fn, seg)  # type: ignore[arg-type]
    if (
        all(isinstance(p, LinearPart) for p in parts)
        and method in ("sum", "weightedSum", "average", "weightedAverage")
        and fn == "regression"
    ):
        return _combine_linear(parts, weights, method)  # type: ignore[arg-type]
    kinds = sorted({type(p).__name__ for p in parts})
    raise UnsupportedFeatureError(f"multipleModelMethod={method!r} over {', '.join(kinds)} segments is not supported", location=seg.xpath)


def _combine_linear(parts: list[LinearPart], weights: list[float], method: str) -> LinearPart:
    if any(p.norm != "identity" or p.n_out != 1 for p in parts):
        raise UnsupportedFeatureError("only identity regressions can be added up", location="Segmentation")
    cols: dict[str, int] = {}
    for p in parts:
        for f in p.features:
            cols.setdefault(f, len(cols))
    coef = np.zeros((1, len(cols)))
    icpt = np.zeros(1)
    total = sum(weights) if method in ("average", "weightedAverage") else 1.0
    for p, w in zip(parts, weights):
        for k, f in enumerate(p.features):
            coef[0, cols[f]] += w * p.coef[0, k] / total
        icpt += w * p.intercept / total
    return LinearPart(list(cols), coef, icpt)


def _combine_trees(parts: list[TreePart], weights: list[float], method: str, fn: str, where_el: Elem) -> TreePart:
    where = where_el.xpath
    n_out = parts[0].n_out
    if any(p.n_out != n_out for p in parts):
        raise FormatError("segments have different numbers of outputs", location=where)
    acc32 = any(p.acc32 for p in parts)
    if method in ("sum", "weightedSum"):
        if fn == "classification":
            raise UnsupportedFeatureError(f"multipleModelMethod={method!r} for classification", location=where)
        entries, base = [], np.zeros(n_out)
        for p, w in zip(parts, weights):
            if p.post != "identity" or (p.agg != "sum" and len(p.entries) > 1):
                raise UnsupportedFeatureError(f"a {method!r} over segments that are not plain sums", location=where)
            for e in p.entries:
                e.weight *= w
                entries.append(e)
            base += w * p.base_vec()
        return TreePart(entries, n_out, "sum", base, "identity", acc32)
    single = all(len(p.entries) == 1 and p.post == "identity" and not p.base_vec().any() and p.entries[0].weight == 1.0 for p in parts)
    if not single:
        raise UnsupportedFeatureError(f"multipleModelMethod={method!r} over segments that are ensembles themselves", location=where)
    entries = [p.entries[0] for p in parts]
    for e, w in zip(entries, weights):
        e.weight = w
    if method in ("average", "weightedAverage"):
        return TreePart(entries, n_out, "average", None, "identity", acc32)
    if method in ("median", "max"):
        if fn == "classification":
            raise UnsupportedFeatureError(f"multipleModelMethod={method!r} for classification", location=where)
        return TreePart(entries, n_out, method, None, "identity", acc32)
    # majority votes
    if fn != "classification":
        raise FormatError(f"{method!r} needs a classification model", location=where)
    if where_el.get("missingPredictionTreatment", "continue") == "continue" and any(_may_be_null(e.tree) for e in entries):
        # JPMML counts a missing segment result as a vote for "missing"; the IR has no such vote
        raise UnsupportedFeatureError(
            f"{method!r} with missingPredictionTreatment='continue' over trees that can give no prediction", location=where
        )
    for e in entries:
        e.votes = True
    return TreePart(entries, n_out, "majority_vote", None, "identity", acc32)


def _may_be_null(tree: RawTree) -> bool:
    """Can this tree give no prediction (a null missing action, or a leaf without a score)?"""
    split = tree.feature >= 0
    if (tree.miss[split] == 3).any():  # MISSING_NULL
        return True
    votes = tree.score_votes
    return bool(votes is not None and (votes[~split] < 0).any())


def _chain(models: list[tuple[Elem, Elem, float]], scope: Scope, ctx: Context, fn: str, seg: Elem) -> Part:
    """modelChain: earlier segments define intermediate output fields; the last one is the result."""
    if len(models) == 1:
        return convert_model(models[0][1], scope, ctx)
    produced: dict[str, tuple[TreePart, int]] = {}
    for s, m, _ in models[:-1]:
        out = m.find("Output")
        fields = out.findall("OutputField") if out is not None else []
        if not fields:
            raise UnsupportedFeatureError("a modelChain segment without output fields", location=s.xpath)
        sub_ctx = Context(ctx.builder, "regression", ctx.target, [], [], ctx.category_codes, ctx.lookups)
        if m.get("functionName") != "regression":
            raise UnsupportedFeatureError("modelChain segments before the last must be regressions", location=m.xpath)
        part = convert_model(m, scope, sub_ctx)
        if not isinstance(part, TreePart) or part.n_out != 1:
            raise UnsupportedFeatureError("modelChain: only tree ensembles feeding a final RegressionModel are supported", location=m.xpath)
        for of in fields:
            feature = of.get("feature", "predictedValue")
            if feature != "predictedValue" or any(c.tag in EXPRESSION_TAGS for c in of.children):
                raise UnsupportedFeatureError(f"modelChain output feature={feature!r} is not supported", location=of.xpath)
            produced[_need(of, "name")] = (part, 0)
    last = models[-1][1]
    _virtual_aggregates(last, produced)
    lfn = last.get("functionName")
    if lfn != fn:
        raise FormatError("the last modelChain segment's functionName differs from the MiningModel's", location=last.xpath)
    parts: list[TreePart] = []
    pindex: dict[int, int] = {}

    def part_of(name: str, where: str) -> int:
        if name not in produced:
            raise UnsupportedFeatureError(f"modelChain: the last segment uses {name!r}, not an earlier segment's output", location=where)
        part = produced[name][0]
        k = pindex.setdefault(id(part), len(parts))
        if k == len(parts):
            parts.append(part)
        return k

    if last.tag == "RegressionModel":
        A, b, post = _chain_regression(last, ctx, fn, part_of)
    elif last.tag == "NeuralNetwork":
        A, b, post = _chain_network(last, scope, ctx, fn, produced, part_of)
    else:
        raise UnsupportedFeatureError("modelChain: the last segment must be a RegressionModel or NeuralNetwork", location=last.xpath)
    acc32 = any(p.acc32 for p in parts) or last.get("x-mathContext") == "float"
    return _merge_parts(parts, A, b, post, acc32, seg.xpath)


def _virtual_aggregates(last: Elem, produced: dict[str, Any]) -> None:
    """``Apply max|median|sum|avg(outputs...) [+ constant]`` in the last segment's LocalTransformations
    (portamodel writes max / median ensembles so) becomes one more produced ensemble."""
    lt = last.find("LocalTransformations")
    for d in lt.findall("DerivedField") if lt is not None else []:
        expr = next((c for c in d.children if c.tag in EXPRESSION_TAGS), None)
        const = 0.0
        if (
            expr is not None
            and expr.tag == "Apply"
            and expr.get("function") == "+"
            and len(expr.children) == 2
            and expr.children[1].tag == "Constant"
        ):
            const = float(typed_value(expr.children[1].text.strip(), "double", expr.xpath))
            expr = expr.children[0]
        if expr is None or expr.tag != "Apply" or expr.get("function") not in ("max", "median", "sum", "avg"):
            continue
        refs = [c.get("field", "") for c in expr.children if c.tag == "FieldRef"]
        if len(refs) != len(expr.children) or not refs or any(r not in produced for r in refs):
            continue
        parts = [produced[r][0] for r in refs]
        if not all(len(p.entries) == 1 and p.agg == "sum" and p.post == "identity" and not p.base_vec().any() for p in parts):
            continue
        agg = {"max": "max", "median": "median", "sum": "sum", "avg": "average"}[str(expr.get("function"))]
        entries = [p.entries[0] for p in parts]
        produced[d.get("name", "")] = (TreePart(entries, 1, agg, np.array([const])), 0)


def _chain_regression(last: Elem, ctx: Context, fn: str, part_of: Any) -> tuple[NDArray[np.float64], NDArray[np.float64], str]:
    """(A, b, post): outputs = post(A @ parts + b) for a final RegressionModel."""
    tables = last.findall("RegressionTable")
    norm = last.get("normalizationMethod", "none")
    if fn == "classification" and norm == "softmax" and len(tables) == 2 and _is_default(tables[1]):
        norm = "logit"
    rows, post = link_plan(norm, [t.get("targetCategory") for t in tables], ctx, fn, last.xpath)
    tcoef: list[dict[int, float]] = []
    ticpt: list[float] = []
    for t in tables:
        d: dict[int, float] = {}
        for p in t.children:
            if p.tag != "NumericPredictor" or p.num("exponent", 1.0) != 1.0:
                raise UnsupportedFeatureError(f"modelChain: <{p.tag}> in the final RegressionModel", location=p.xpath)
            k = part_of(_need(p, "name"), p.xpath)
            d[k] = d.get(k, 0.0) + p.num("coefficient")
        tcoef.append(d)
        ticpt.append(t.num("intercept", 0.0))
    n_parts = 1 + max((k for d in tcoef for k in d), default=-1)
    J = len(rows)
    A = np.zeros((J, n_parts))
    b = np.zeros(J)
    for j, (combo, const) in enumerate(rows):
        b[j] = const
        for ti, factor in combo:
            for k, c in tcoef[ti].items():
                A[j, k] += factor * c
            b[j] += factor * ticpt[ti]
    return A, b, post


def _chain_network(
    last: Elem, scope: Scope, ctx: Context, fn: str, produced: dict[str, Any], part_of: Any
) -> tuple[NDArray[np.float64], NDArray[np.float64], str]:
    """(A, b, post) for a final one-layer NeuralNetwork over the chain's outputs."""
    lscope = scope.child(where=last.xpath)
    marks = {name: f"\x00chain:{name}" for name in produced}
    lscope.extra.update(marks)
    net = _neural(last, lscope, ctx, fn)
    if len(net.layers) != 1 or net.layers[0].activation not in ("identity", "logistic", "exp"):
        raise UnsupportedFeatureError(
            "modelChain: a final NeuralNetwork must be one identity / logistic / exponential layer", location=last.xpath
        )
    back = {v: k for k, v in marks.items()}
    cols = []
    for f in net.features:
        if f not in back:
            raise UnsupportedFeatureError(
                f"modelChain: the final NeuralNetwork reads {f!r}, not an earlier segment's output", location=last.xpath
            )
        cols.append(part_of(back[f], last.xpath))
    layer = net.layers[0]
    n_parts = 1 + max(cols)
    A = np.zeros((layer.weights.shape[1], n_parts))
    for i, k in enumerate(cols):
        A[:, k] += layer.weights[i]
    return A, np.array(layer.biases), str(layer.activation)


def _merge_parts(parts: list[TreePart], A: NDArray[np.float64], b: NDArray[np.float64], post: str, acc32: bool, where: str) -> TreePart:
    """One ensemble computing ``post(A @ [part outputs] + b)``."""
    J = A.shape[0]
    base = b + A @ np.array([p.base_vec()[0] for p in parts])
    if all(p.agg == "sum" and p.post == "identity" for p in parts):
        entries: list[TreeEntry] = []
        for k, part in enumerate(parts):
            col = A[:, k].reshape(1, J)
            for e in part.entries:
                e.proj = col if e.proj is None else e.proj @ col
                entries.append(e)
        return TreePart(entries, J, "sum", base, post, acc32)
    agg = parts[0].agg
    same = all(p.agg == agg and p.post == "identity" and len(p.entries) == len(parts[0].entries) for p in parts)
    if same and agg in ("average", "max", "median"):
        if agg != "average" and not ((A >= 0).all() and ((A > 0).sum(axis=1) == 1).all()):
            raise UnsupportedFeatureError(f"modelChain: a mix of {agg!r} ensembles", location=where)
        merged = []
        for t, first in enumerate(parts[0].entries):
            group = [p.entries[t] for p in parts]
            if not all(_same_structure(first, e) for e in group[1:]):
                raise UnsupportedFeatureError("modelChain: parallel ensembles over different trees", location=where)
            cols = [e.tree.values if e.proj is None else e.tree.values @ e.proj for e in group]
            values = np.hstack(cols) @ A.T
            tree = _with_values(first.tree, values)
            merged.append(TreeEntry(tree, first.columns, first.weight))
        return TreePart(merged, J, agg, base, post, acc32)
    raise UnsupportedFeatureError("modelChain: segments must be sums of trees (or parallel averages)", location=where)


def _same_structure(a: TreeEntry, b: TreeEntry) -> bool:
    ta, tb = a.tree, b.tree
    return (
        a.columns == b.columns
        and a.weight == b.weight
        and all(np.array_equal(getattr(ta, f), getattr(tb, f)) for f in ("feature", "threshold", "op", "tc", "fc", "miss"))
        and ta.fields == tb.fields
        and ta.sets == tb.sets
    )


def _with_values(tree: RawTree, values: NDArray[np.float64]) -> RawTree:
    t = RawTree()
    for f in RawTree.__slots__:
        if hasattr(tree, f):
            setattr(t, f, getattr(tree, f))
    t.values = values
    t.score_votes = None
    return t


# -- parts -> IR estimators -------------------------------------------------------------------------------


def finalize(part: Part, ctx: Context) -> LinearModel | TreeEnsemble | MLP:
    if isinstance(part, LinearPart):
        return LinearModel(features=tuple(part.features), coefficients=part.coef, intercepts=part.intercept, normalization=part.norm)  # type: ignore[arg-type]
    if isinstance(part, MLPPart):
        return MLP(features=tuple(part.features), layers=tuple(part.layers), compute_dtype="float32" if part.f32 else "float64")
    return _ensemble(part, ctx)


def _ensemble(part: TreePart, ctx: Context) -> TreeEnsemble:
    features: dict[str, int] = {}
    total = sum(e.tree.n_nodes for e in part.entries)
    K = part.n_out
    feature = np.empty(total, dtype=np.int32)
    threshold = np.empty(total)
    op = np.empty(total, dtype=np.uint8)
    tc = np.empty(total, dtype=np.int32)
    fc = np.empty(total, dtype=np.int32)
    miss = np.empty(total, dtype=np.uint8)
    values = np.empty((total, K))
    roots = np.empty(len(part.entries), dtype=np.int64)
    set_offsets = [0]
    set_values: list[float] = []
    pos = 0
    for t, e in enumerate(part.entries):
        tr = e.tree
        n = tr.n_nodes
        sl = slice(pos, pos + n)
        fmap = np.array([features.setdefault(c, len(features)) for c in e.columns] + [-1], dtype=np.int32)
        feature[sl] = fmap[tr.feature]  # -1 indexes the trailing -1
        op[sl] = tr.op
        thr = tr.threshold.copy()
        if tr.sets:
            is_set = (tr.feature >= 0) & (tr.op >= 6)
            thr[is_set] += len(set_offsets) - 1
            for s in tr.sets:
                set_values.extend(s)
                set_offsets.append(len(set_values))
        threshold[sl] = thr
        split = tr.feature >= 0
        tc[sl] = np.where(split, tr.tc + pos, -1)
        fc[sl] = np.where(split, tr.fc + pos, -1)
        miss[sl] = tr.miss
        if e.votes:
            assert tr.score_votes is not None
            v = np.zeros((n, tr.values.shape[1]))
            has = tr.score_votes >= 0
            v[np.flatnonzero(has), tr.score_votes[has]] = 1.0
            v[~has] = math.nan
        else:
            v = tr.values
        if e.proj is not None:
            with np.errstate(invalid="ignore"):
                v = v @ e.proj
        if v.shape[1] != K:
            raise FormatError(f"a tree gives {v.shape[1]} outputs where {K} are expected", location=str(tr.where))
        values[sl] = v
        roots[t] = pos
        pos += n
    weights = np.array([e.weight for e in part.entries])
    cols = list(features)
    floats = ctx.builder.floats
    input32 = bool(cols) and all(c in floats for c in cols)
    has_sets = len(set_offsets) > 1
    return TreeEnsemble(
        features=tuple(cols) if cols else (_any_numeric(ctx),),
        roots=roots,
        feature=feature,
        threshold=threshold,
        op=op,
        true_child=tc,
        false_child=fc,
        missing=miss,
        values=values,
        set_offsets=np.array(set_offsets, dtype=np.int64) if has_sets else None,
        set_values=np.array(set_values, dtype=np.float64) if has_sets else None,
        aggregation=part.agg,  # type: ignore[arg-type]
        tree_weights=None if np.all(weights == 1.0) else weights,
        base_score=part.base,
        post_transform=part.post,  # type: ignore[arg-type]
        input_dtype="float32" if input32 else "float64",
        accumulate_dtype="float32" if part.acc32 else "float64",
    )


def _any_numeric(ctx: Context) -> str:
    for name, kind in ctx.builder.kinds.items():
        if kind == "number":
            return name
    raise UnsupportedFeatureError("a tree model without splits and without any numeric input")
