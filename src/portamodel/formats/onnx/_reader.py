"""ONNX graph -> IR model, by symbolic execution of the graph.

Each node is handled by a function that turns the descriptions of its inputs (see
:mod:`._symbols`) into descriptions of its outputs, emitting IR steps for preprocessing on the way.
When the graph outputs are reached, they must describe one estimator (and its labels and
probabilities); that becomes the model. A node no handler understands is recorded; if the outputs
depend on it the reader raises :class:`~portamodel.errors.UnsupportedFeatureError` listing every
such node, its op type and why it could not be placed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import FormatError, LimitExceededError, UnsupportedFeatureError
from ...ir import (
    MLP,
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
    Step,
    Target,
    TreeEnsemble,
    step_inputs,
    step_outputs,
)
from ...ir.linear import NORMALIZATIONS
from ...ir.mlp import ACTIVATIONS
from ...ir.tree import OPS
from ._graph import ELEM_TYPES, GraphView, NodeView, tensor_to_array, value_info_type
from ._meta import META_INPUTS, META_TARGET, decode_json, field_specs, metadata_from_props
from ._read_trees import MAX_TABLE, read_tree_classifier, read_tree_ensemble_v5, read_tree_regressor
from ._symbols import (
    ORDER_PRESERVING,
    ArgIdx,
    Cols,
    Const,
    Labels,
    Layer,
    Net,
    OneMinus,
    PendingAffine,
    Proba2,
    RowShape,
    Scores,
    Sym,
    TreeScores,
    TreeStack,
    Unplaced,
    ZipProba,
    lineage,
    new_version,
)

__all__ = ["read_model"]

#: Columns one graph input may declare, or one tensor of columns may hold (a Field or a step
#: each); far beyond any real model.
MAX_INPUT_COLUMNS = 1_000_000
#: Values the reader may compute from constants (ConstantOfShape, Expand, broadcasting, Concat,
#: Gather, ...), summed over the whole graph; far beyond any real model, small enough to hold.
MAX_FOLDED_ELEMENTS = 10_000_000
#: Lookup entries one node may create (a table for each column it maps).
MAX_LOOKUP_ENTRIES = 10_000_000
#: Dimensions a computed constant may have.
MAX_RANK = 32

_NUMERIC = ("float", "double", "int64", "int32", "int16", "int8", "uint8", "uint16", "uint32", "uint64", "bool", "float16")
_FIELD_DTYPE = {"float": "float", "double": "double", "string": "string", "bool": "boolean"}
_ONNX_POST = {"NONE": "identity", "LOGISTIC": "logistic", "SOFTMAX": "softmax", "SOFTMAX_ZERO": "softmax_zero"}

Handler = Callable[["_Reader", NodeView, list[Any]], list[Any]]
HANDLERS: dict[tuple[str, str], Handler] = {}


def handles(*ops: str, domain: str = "") -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for op in ops:
            HANDLERS[(domain, op)] = fn
        return fn

    return deco


# -- the reader ---------------------------------------------------------------------------------


class _Reader:
    def __init__(self, model_proto: Any, where: str) -> None:
        self.proto = model_proto
        self.where = where
        self.g = GraphView(model_proto.graph)
        self.opsets: dict[str, int] = {}
        for op in model_proto.opset_import:
            dom = "" if op.domain in ("", "ai.onnx") else op.domain
            self.opsets[dom] = max(self.opsets.get(dom, 0), int(op.version))
        self.props = {p.key: p.value for p in model_proto.metadata_props}
        self.env: dict[str, Sym] = {}
        self.fields: list[Field] = []
        self.steps: list[Step] = []
        self.names: set[str] = set()
        self.failed: dict[str, tuple[NodeView, str]] = {}  # output tensor -> (node, reason)
        self.bad_nodes: list[tuple[NodeView, str]] = []
        self.folded = 0  # values computed from constants so far (see MAX_FOLDED_ELEMENTS)

    # naming -----------------------------------------------------------------------------------
    def new_name(self, base: str) -> str:
        name, i = base, 1
        while name in self.names:
            name = f"{base}_{i}"
            i += 1
        self.names.add(name)
        return name

    def emit(self, step: Step) -> None:
        self.steps.append(step)

    # symbol helpers ---------------------------------------------------------------------------
    def const(self, sym: Any, what: str = "a constant") -> NDArray[Any]:
        if isinstance(sym, Const):
            return sym.value
        raise Unplaced(f"expected {what}, got {_describe(sym)}")

    def cols(self, sym: Any) -> Cols:
        if isinstance(sym, PendingAffine):
            return self.materialize(sym)
        if isinstance(sym, Cols):
            return sym
        raise Unplaced(f"expected input columns, got {_describe(sym)}")

    def numeric_cols(self, sym: Any) -> Cols:
        c = self.cols(sym)
        if c.etype not in _NUMERIC:
            raise Unplaced(f"expected numeric columns, got {c.etype}")
        return c

    def reserve(self, shape: tuple[int, ...] | list[int]) -> None:
        """Refuse (LimitExceededError) to compute a constant of ``shape`` if that would take the
        values computed from constants past :data:`MAX_FOLDED_ELEMENTS`; call before allocating."""
        size = math.prod(shape)
        if self.folded + size > MAX_FOLDED_ELEMENTS:
            raise LimitExceededError(
                f"a constant of shape {_show(shape)} ({size:,} values) would take the values computed from constants while "
                f"reading past the limit of {MAX_FOLDED_ELEMENTS:,} ({self.folded:,} before this node)"
            )

    def _count_folded(self, node: NodeView, args: list[Any], outs: list[Any]) -> None:
        """Add the constants a node computed to the budget (data a Constant node holds is in the file)."""
        if node.op == "Constant":
            return
        before = self.folded
        inputs = [a.value for a in args if isinstance(a, Const)]
        for sym in outs:
            if isinstance(sym, Const) and not any(np.may_share_memory(sym.value, v) for v in inputs):
                self.folded += int(np.asarray(sym.value).size)
        if self.folded > MAX_FOLDED_ELEMENTS:
            raise LimitExceededError(
                f"this node computes {self.folded - before:,} values from constants, which takes the values computed while "
                f"reading to {self.folded:,}; the limit is {MAX_FOLDED_ELEMENTS:,}",
                location=f"{self.where}: {node.where}",
            )

    def materialize(self, p: PendingAffine) -> Cols:
        src = p.source
        outs = tuple(self.new_name(f"{n}_scaled") for n in src.names)
        self.emit(Affine(inputs=src.names, outputs=outs, offset=p.offset, scale=p.scale, shift=p.shift, divide=p.divide))
        return Cols(outs, src.dims, p.etype)

    # the walk ---------------------------------------------------------------------------------
    def run(self) -> Model:
        self._inputs()
        skip = 0
        for i, node in enumerate(self.g.nodes):
            if skip:
                skip -= 1
                continue
            skip = self._transform_chain(i, node)
            if not skip:
                self._node(node)
            else:
                skip -= 1
        return self._assemble()

    def _transform_chain(self, i: int, node: NodeView) -> int:
        """Match a writer-made transform chain starting at node ``i``; returns the nodes it covers."""
        from ._templates import match_transform

        for name in node.inputs:
            sym = self.env.get(name)
            if not isinstance(sym, (Net, TreeScores)) or not sym.is_open:
                continue
            if isinstance(sym, TreeScores) and sym.width < 1:
                continue
            is_net = isinstance(sym, Net)
            found = match_transform(self.g, i, name, "net" if is_net else "tree", float32=is_net and sym.etype == "float")
            if found is None:
                continue
            transform, alpha, count, out = found
            if transform in ("softmax_zero", "simplemax") and sym.width < 2:
                continue
            if isinstance(sym, Net):
                self.env[out] = sym.with_act(transform, alpha)
            else:
                self.env[out] = replace(sym, post=transform)
            return count
        return 0

    def _inputs(self) -> None:
        specs = None
        if META_INPUTS in self.props:
            specs = field_specs(decode_json(self.props[META_INPUTS]))
        for name in self.g.initializers:
            self.names.add(name)
        if not self.g.inputs:
            raise FormatError("the graph has no inputs", location=self.where)
        for vi in self.g.inputs:
            etype, shape = value_info_type(vi)
            here = f"{self.where}: input {vi.name!r}"
            if etype is None:
                raise UnsupportedFeatureError("only tensor inputs are supported (maps and sequences are not)", location=here)
            if etype not in _FIELD_DTYPE and etype not in ("int64", "int32"):
                raise UnsupportedFeatureError(f"inputs of type {etype} are not supported", location=here)
            if shape is None or len(shape) not in (1, 2):
                raise UnsupportedFeatureError(f"expected a [N] or [N, F] tensor, got shape {shape}", location=here)
            width = 1 if len(shape) == 1 else shape[1]
            if width is None:
                width = _infer_width(self.g, vi.name)
                if width is None:
                    raise UnsupportedFeatureError("the number of columns is not declared and cannot be inferred", location=here)
            if width <= 0:
                raise FormatError(f"input has {width} columns", location=here)
            if width > MAX_INPUT_COLUMNS:
                raise LimitExceededError(f"input declares {width} columns; the limit is {MAX_INPUT_COLUMNS:,}", location=here)
            spec = specs.get(vi.name) if specs else None
            if spec is not None and len(spec) != width:
                spec = None
            dtype = _FIELD_DTYPE.get(etype, "integer")
            names: list[str] = []
            for j in range(width):
                s = spec[j] if spec else None
                base = s["name"] if s else (vi.name if width == 1 else f"{vi.name}[{j}]")
                if base in self.names:
                    base = f"{vi.name}[{j}]"
                name = self.new_name(base)
                fdtype = dtype
                optype = "categorical" if dtype == "string" else "continuous"
                values: tuple[Any, ...] = ()
                if s and _compatible_dtype(s["dtype"], etype):
                    fdtype, optype = s["dtype"], s["optype"]
                    values = tuple(s["values"]) if optype != "continuous" else ()
                try:
                    field = Field(name=name, dtype=fdtype, optype=optype, values=values)  # type: ignore[arg-type]
                except Exception:
                    field = Field(name=name, dtype=dtype, optype="categorical" if dtype == "string" else "continuous")  # type: ignore[arg-type]
                self.fields.append(field)
                names.append(name)
            dims = () if len(shape) == 1 else (width,)
            self.env[vi.name] = Cols(tuple(names), dims, etype)

    def _node(self, node: NodeView) -> None:
        args: list[Any] = []
        for name in node.inputs:
            if not name:
                args.append(None)
                continue
            if name in self.failed:
                self._fail(node, f"its input {name!r} comes from a node that could not be placed")
                return
            sym = self.env.get(name)
            if sym is None and name in self.g.initializers:
                sym = Const(tensor_to_array(self.g.initializers[name], f"{self.where}: initializer {name!r}"))
                self.env[name] = sym
            if sym is None:
                raise FormatError(f"input {name!r} is used before it is produced", location=f"{self.where}: {node.where}")
            args.append(sym)
        handler = HANDLERS.get((node.domain, node.op))
        if handler is None:
            self._fail(node, "unknown operator" if node.domain in ("", "ai.onnx.ml") else f"operator of unknown domain {node.domain!r}")
            return
        try:
            with np.errstate(all="ignore"):
                outs = handler(self, node, args)
        except Unplaced as exc:
            self._fail(node, str(exc))
            return
        except (FormatError, UnsupportedFeatureError) as exc:
            loc = f"{self.where}: {exc.location}" if exc.location else f"{self.where}: {node.where}"
            raise type(exc)(exc.message, location=loc) from None
        self._count_folded(node, args, outs)
        for name, sym in zip(node.outputs, outs):
            if name and sym is not None:
                self.env[name] = sym
        for name in node.outputs[len(outs) :]:
            if name:
                self.failed[name] = (node, "this output is not supported")

    def _fail(self, node: NodeView, reason: str) -> None:
        self.bad_nodes.append((node, reason))
        for name in node.outputs:
            if name:
                self.failed[name] = (node, reason)

    # assembly ---------------------------------------------------------------------------------
    def _unplaced_error(self, missing: list[str]) -> UnsupportedFeatureError:
        producers = self.g.producer_map()
        culprits: dict[int, tuple[NodeView, str]] = {}
        stack = list(missing)
        seen: set[str] = set()
        while stack:
            t = stack.pop()
            if t in seen:
                continue
            seen.add(t)
            if t in self.failed:
                node, reason = self.failed[t]
                if not reason.startswith("its input"):
                    culprits[node.index] = (node, reason)
                stack.extend(i for i in node.inputs if i)
            elif t in producers:
                stack.extend(i for i in producers[t].inputs if i)
        ops = sorted({(n.domain + ":" if n.domain else "") + n.op for n, _ in culprits.values()})
        detail = "; ".join(f"{n.where}: {r}" for n, r in sorted(culprits.values(), key=lambda x: x[0].index))
        return UnsupportedFeatureError(
            f"cannot map this graph onto a portamodel model; op types not placed: {', '.join(ops) or 'none'} ({detail})",
            location=self.where,
        )

    def _assemble(self) -> Model:
        outputs = [(vi.name, self.env.get(vi.name)) for vi in self.g.outputs]
        missing = [n for n, s in outputs if s is None]
        if missing:
            raise self._unplaced_error(missing)
        labels: list[tuple[str, Labels]] = []
        probs: list[tuple[str, Any]] = []
        for name, sym in outputs:
            if isinstance(sym, ArgIdx):
                sym = Labels(source=sym.source, classes=None, etype="int64")
            if isinstance(sym, Labels):
                labels.append((name, sym))
            elif isinstance(sym, (Net, TreeScores, Proba2, ZipProba)):
                probs.append((name, sym))
            else:
                raise UnsupportedFeatureError(
                    f"graph output {name!r} is {_describe(sym)}, not a prediction; portamodel reads models whose outputs are "
                    "predictions, labels or probabilities",
                    location=self.where,
                )
        if not outputs:
            raise FormatError("the graph has no outputs", location=self.where)
        classes: tuple[Any, ...] | None = None
        prob_sym: Any = None
        if probs:
            prob_sym = _pick_probabilities(probs, self.where)
        if isinstance(prob_sym, ZipProba):
            classes = prob_sym.classes
            prob_sym = prob_sym.proba
        label: Labels | None = None
        if labels:
            label = labels[0][1]
            for other in labels[1:]:
                if lineage(other[1].source)[0] != lineage(label.source)[0] or other[1].classes != label.classes:
                    raise UnsupportedFeatureError("the graph has two label outputs that disagree", location=self.where)
            if label.note:
                raise UnsupportedFeatureError(label.note, location=self.where)
            if label.classes is not None:
                if classes is not None and tuple(classes) != tuple(label.classes):
                    raise FormatError(f"ZipMap classes {classes} differ from the label classes {label.classes}", location=self.where)
                classes = label.classes
        if prob_sym is not None and label is not None:
            _check_consistent(label.source, prob_sym, self.where)
        est_sym = prob_sym if prob_sym is not None else label.source  # type: ignore[union-attr]
        binary = isinstance(est_sym, Proba2)
        core: Scores = est_sym.p if isinstance(est_sym, Proba2) else est_sym
        width = core.width
        classification = label is not None or binary or isinstance(prob_sym, ZipProba) or classes is not None
        if not classification and width > 1:
            if core.transform in ("softmax", "softmax_zero", "simplemax"):
                classification = True
            else:
                raise UnsupportedFeatureError(
                    f"the model has {width} outputs with transform {core.transform!r}: multi-output regression is not supported",
                    location=self.where,
                )
        if classification:
            n_classes = 2 if binary else width
            if classes is None:
                classes = tuple(range(n_classes))
            if len(classes) != n_classes:
                raise FormatError(f"{len(classes)} class labels for {n_classes} outputs", location=self.where)
            if binary and width != 1:
                raise FormatError("a binary probability pair built from more than one score", location=self.where)
        estimator = self._estimator(core)
        target_name = (label and labels[0][0]) or (outputs[0][0] if not classification else "label")
        meta_target = decode_json(self.props.get(META_TARGET, "")) if META_TARGET in self.props else None
        if isinstance(meta_target, dict) and isinstance(meta_target.get("name"), str) and meta_target["name"]:
            target_name = meta_target["name"]
        target = (
            Target(name=target_name, task="classification", classes=tuple(classes))  # type: ignore[arg-type]
            if classification
            else Target(name=target_name, task="regression")
        )
        steps = _prune_steps(self.steps, estimator.features)
        metadata = metadata_from_props(self.props, self.proto)
        return Model(inputs=tuple(self.fields), target=target, estimator=estimator, steps=steps, metadata=metadata)

    def _estimator(self, core: Scores) -> LinearModel | MLP | TreeEnsemble:
        kinds = {f.name: f.is_numeric for f in self.fields}
        for s in self.steps:
            for o in step_outputs(s):
                kinds[o] = True
        if isinstance(core, TreeScores):
            parts = dict(core.parts)
            feats, remap = _dedupe(parts["features"])
            if remap is not None:
                f = parts["feature"].copy()
                f[f >= 0] = remap[f[f >= 0]]
                parts["feature"] = f
            parts["features"] = feats
            est: Any = TreeEnsemble(**parts, post_transform=core.post)  # type: ignore[arg-type]
        else:
            feats, remap = _dedupe(core.features)
            layers = list(core.layers)
            if remap is not None:
                w = np.zeros((len(feats), layers[0].weights.shape[1]))
                np.add.at(w, remap, layers[0].weights)
                layers[0] = replace(layers[0], weights=w)
            if len(layers) == 1 and (layers[0].act or "identity") in NORMALIZATIONS:
                layer = layers[0]
                est = LinearModel(
                    features=feats,
                    coefficients=layer.weights.T,
                    intercepts=layer.biases,
                    normalization=layer.act or "identity",  # type: ignore[arg-type]
                )
            else:
                dense = []
                for layer in layers:
                    act = layer.act or "identity"
                    if act not in ACTIVATIONS:
                        raise UnsupportedFeatureError(f"a network layer with output transform {act!r}", location=self.where)
                    dense.append(DenseLayer(weights=layer.weights, biases=layer.biases, activation=act, alpha=layer.alpha))  # type: ignore[arg-type]
                # float32 only when every layer computed in float (skl2onnx's float graphs, torch); a
                # graph mixing float and double layers (or unknown ones) stays float64
                f32 = all(layer.dtype == "float" for layer in layers)
                est = MLP(features=feats, layers=tuple(dense), compute_dtype="float32" if f32 else "float64")
        for name in est.features:
            if not kinds.get(name, False):
                raise UnsupportedFeatureError(f"the estimator reads the string column {name!r} as a number", location=self.where)
        return est  # type: ignore[no-any-return]


def read_model(model_proto: Any, *, where: str, embedded_ir: bool = True) -> Model:
    """Turn a checked ``onnx.ModelProto`` into a :class:`~portamodel.ir.Model`.

    A model written by portamodel carries its IR; it is used (``embedded_ir``) only when writing
    that IR again gives exactly this graph, so the result always describes what the graph computes.
    """
    for entry in model_proto.metadata_props:
        if not (isinstance(entry.key, str) and isinstance(entry.value, str)):
            raise FormatError("a metadata_props key or value is not valid UTF-8 text", location=where)
    if embedded_ir:
        model = _embedded_model(model_proto)
        if model is not None:
            return model
    return _Reader(model_proto, where).run()


def _embedded_model(proto: Any) -> Model | None:
    from ._writer import META_IR, META_WRITER, build_model_proto

    props = {p.key: p.value for p in proto.metadata_props}
    if META_IR not in props:
        return None
    opts = decode_json(props.get(META_WRITER, ""))
    if not isinstance(opts, dict) or opts.get("tree_opset") not in (1, 3, 5):
        return None
    from ...errors import PortamodelError
    from ..json import read as read_json

    try:
        model = read_json(props[META_IR].encode("utf-8"))
        again = build_model_proto(model, on_loss="ignore", tree_opset=opts["tree_opset"])
    except (PortamodelError, RecursionError, ValueError):
        return None
    return model if _semantics(again) == _semantics(proto) else None


def _semantics(proto: Any) -> tuple[Any, ...]:
    """Everything about a ModelProto that decides what it computes."""
    opsets = sorted((o.domain, int(o.version)) for o in proto.opset_import)
    return (proto.graph.SerializeToString(deterministic=True), opsets, int(proto.ir_version), len(proto.functions))


# -- assembly helpers -----------------------------------------------------------------------------


def _describe(sym: Any) -> str:
    return {
        Const: "a constant",
        Cols: "input columns",
        PendingAffine: "input columns",
        Net: "model scores",
        TreeScores: "tree-ensemble scores",
        TreeStack: "per-tree scores",
        OneMinus: "1 - a probability",
        Proba2: "binary probabilities",
        ZipProba: "a ZipMap of probabilities",
        ArgIdx: "an argmax index",
        Labels: "class labels",
        type(None): "nothing",
    }.get(type(sym), type(sym).__name__)


def _pick_probabilities(probs: list[tuple[str, Any]], where: str) -> Any:
    def rank(s: Any) -> int:
        if isinstance(s, ZipProba):
            return 3
        if isinstance(s, Proba2):
            return 2
        return 1 if s.transform != "identity" else 0

    def ver(s: Any) -> int:
        return lineage(s.proba if isinstance(s, ZipProba) else s)[0]

    first = probs[0][1]
    for _, s in probs[1:]:
        if ver(s) != ver(first):
            raise UnsupportedFeatureError("the graph outputs scores of two different models", location=where)
    return max((s for _, s in probs), key=rank)


def _check_consistent(label_src: Any, prob: Any, where: str) -> None:
    vl, tl, bl = lineage(label_src)
    vp, tp, bp = lineage(prob)
    if vl != vp:
        raise UnsupportedFeatureError("the label output and the probability output come from different scores", location=where)
    if (tl, bl) == (tp, bp):
        return
    if not bl and not bp and tl in ORDER_PRESERVING and tp in ORDER_PRESERVING:
        return
    raise UnsupportedFeatureError(
        f"the labels follow {'binary ' if bl else ''}{tl} scores but the probabilities are {'binary ' if bp else ''}{tp}; "
        "they can disagree, and portamodel derives labels from probabilities",
        location=where,
    )


def _dedupe(features: tuple[str, ...]) -> tuple[tuple[str, ...], NDArray[np.intp] | None]:
    uniq = tuple(dict.fromkeys(features))
    if len(uniq) == len(features):
        return features, None
    pos = {n: i for i, n in enumerate(uniq)}
    return uniq, np.array([pos[n] for n in features], dtype=np.intp)


def _prune_steps(steps: list[Step], features: tuple[str, ...]) -> tuple[Step, ...]:
    needed = set(features)
    keep: list[Step] = []
    for step in reversed(steps):
        if needed & set(step_outputs(step)):
            keep.append(step)
            needed |= set(step_inputs(step))
    return tuple(reversed(keep))


def _compatible_dtype(dtype: str, etype: str) -> bool:
    if etype == "float":
        return dtype == "float"
    if etype == "double":
        return dtype in ("double", "integer", "boolean")
    if etype in ("int64", "int32"):
        return dtype in ("integer", "boolean")
    if etype == "string":
        return dtype == "string"
    if etype == "bool":
        return dtype == "boolean"
    return False


_PASS_THROUGH = {"Cast", "Identity", "Imputer", "Scaler", "Normalizer", "Binarizer", "Sub", "Add", "Mul", "Div"}


def _infer_width(g: GraphView, name: str) -> int | None:
    """Columns of an input declared as [N, ?]: from the first consumer that tells."""
    seen: set[str] = set()
    stack = [name]
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        for node in g.consumers.get(t, []):
            w = _width_hint(g, node, t)
            if w is not None:
                return w
            if node.op in _PASS_THROUGH and node.inputs and node.inputs[0] == t:
                stack.extend(node.outputs[:1])
    return None


def _width_hint(g: GraphView, node: NodeView, t: str) -> int | None:
    try:
        op = node.op
        if op == "LinearRegressor":
            c = node.floats("coefficients")
            return None if c is None else len(c) // max(node.int("targets", 1), 1)
        if op == "LinearClassifier":
            c, i = node.floats("coefficients"), node.floats("intercepts")
            return None if c is None or i is None or len(i) == 0 else len(c) // len(i)
        if op in ("TreeEnsembleRegressor", "TreeEnsembleClassifier", "TreeEnsemble"):
            f = node.ints("nodes_featureids")
            return None if f is None or f.size == 0 else int(f.max()) + 1
        if op in ("MatMul", "Gemm") and len(node.inputs) > 1 and node.inputs[0] == t and node.inputs[1] in g.initializers:
            dims = list(g.initializers[node.inputs[1]].dims)
            if len(dims) == 2:
                return int(dims[1] if op == "Gemm" and node.int("transB", 0) else dims[0])
        if op == "Scaler":
            for a in ("offset", "scale"):
                v = node.floats(a)
                if v is not None and len(v) > 1:
                    return len(v)
        if op == "Imputer":
            for a in ("imputed_value_floats",):
                v = node.floats(a)
                if v is not None and len(v) > 1:
                    return len(v)
    except FormatError:
        return None
    return None


# -- constants and plumbing ------------------------------------------------------------------------


def _show(values: Any, most: int = 8) -> str:
    """A list for a message, cut short after ``most`` entries."""
    items = [repr(_py(v))[:24] for v in list(values)[: most + 1]]
    return "[" + ", ".join(items[:most]) + (", ...]" if len(items) > most else "]")


def _int_array(values: Any, what: str) -> NDArray[np.int64]:
    """A constant that must hold integers (a shape, sizes, axes, indices), as int64; FormatError otherwise.

    >>> _int_array(np.array([2.5]), "the sizes")
    Traceback (most recent call last):
    portamodel.errors.FormatError: the sizes must be integers, got double values [2.5]
    """
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise FormatError(f"{what} must be integers, got {_etype_of(arr) or arr.dtype} values {_show(arr.ravel()[:9].tolist())}")
    return arr.astype(np.int64)


def _ints(values: Any, what: str) -> list[int]:
    return [int(v) for v in _int_array(values, what).ravel().tolist()]


def _shape_arg(values: Any) -> list[int]:
    """The dimensions a ConstantOfShape or Expand is given: integers, not negative, not too many."""
    dims = _ints(values, "the shape")
    if len(dims) > MAX_RANK:
        raise LimitExceededError(f"the shape has {len(dims)} dimensions; the limit is {MAX_RANK}")
    if any(d < 0 for d in dims):
        raise FormatError(f"the shape {_show(dims)} has a negative dimension")
    return dims


def _axis(axis: int, rank: int) -> int:
    """``axis`` (ONNX allows -rank..rank-1) as 0..rank-1, or FormatError."""
    if not -rank <= axis < rank:
        raise FormatError(f"axis {axis} is out of range for a tensor of rank {rank}")
    return axis % rank


def _check_width(n: int) -> None:
    """Refuse a group of more than :data:`MAX_INPUT_COLUMNS` columns before building it."""
    if n > MAX_INPUT_COLUMNS:
        raise LimitExceededError(f"the result would have {n:,} columns; the limit is {MAX_INPUT_COLUMNS:,}")


def _fold(r: _Reader, node: NodeView, fn: Callable[..., Any], values: list[Any]) -> list[Any]:
    """``fn`` over constants that broadcast against each other; the result's size is checked first."""
    shapes = [np.shape(v) for v in values]
    try:
        out = np.broadcast_shapes(*shapes)
    except ValueError:
        raise FormatError(f"constants of shapes {', '.join(_show(sh) for sh in shapes)} do not broadcast against each other") from None
    r.reserve(out)
    try:
        return [Const(np.asarray(fn(*values)))]
    except (TypeError, ValueError):
        raise Unplaced(f"{node.op} of constants of types {', '.join(str(np.asarray(v).dtype) for v in values)}") from None


@handles("Constant")
def _constant(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    for name in ("value", "sparse_value"):
        if node.has(name):
            if name == "sparse_value":
                raise Unplaced("sparse constants are not supported")
            return [Const(node.tensor(name))]  # type: ignore[arg-type]
    if node.has("value_float"):
        return [Const(np.array(node.float("value_float"), dtype=np.float32))]
    if node.has("value_floats"):
        return [Const(node.floats("value_floats").astype(np.float32))]  # type: ignore[union-attr]
    if node.has("value_int"):
        return [Const(np.array(node.int("value_int"), dtype=np.int64))]
    if node.has("value_ints"):
        return [Const(node.ints("value_ints"))]  # type: ignore[arg-type]
    if node.has("value_string"):
        return [Const(np.array(node.string("value_string"), dtype=object))]
    if node.has("value_strings"):
        v = np.empty(len(node.strings("value_strings") or []), dtype=object)
        v[:] = node.strings("value_strings")
        return [Const(v)]
    raise FormatError("Constant without a value", location=node.where)


@handles("Identity")
def _identity(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    return [args[0]]


@handles("Dropout")
def _dropout(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    if len(args) > 2 and args[2] is not None and bool(np.any(r.const(args[2], "training_mode"))):
        raise Unplaced("Dropout in training mode")
    return [args[0]]


def _np_dtype(etype: str) -> Any:
    return {
        "float": np.float32, "double": np.float64, "int64": np.int64, "int32": np.int32, "int16": np.int16,
        "int8": np.int8, "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
        "bool": np.bool_, "string": object, "float16": np.float16,
    }[etype]  # fmt: skip


@handles("Cast", "CastLike")
def _cast(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    if node.op == "Cast":
        to = ELEM_TYPES.get(node.int("to"))
    else:
        like = args[1]
        to = like.etype if isinstance(like, (Cols, Net, TreeScores)) else (_etype_of(like.value) if isinstance(like, Const) else None)
    if to is None:
        raise Unplaced("cast to an unsupported type")
    x = args[0]
    if isinstance(x, Const):
        if to == "string":
            v = np.empty(x.value.shape, dtype=object)
            v[...] = [str(_py(a)) for a in x.value.ravel().tolist()] if x.value.size else []
            return [Const(v.reshape(x.value.shape))]
        try:
            return [Const(np.asarray(x.value).astype(_np_dtype(to)))]
        except (TypeError, ValueError):
            raise Unplaced("constant cannot be cast") from None
    if isinstance(x, PendingAffine):
        x = r.materialize(x)
    if isinstance(x, Cols):
        src = x.etype
        if src == to:
            return [x]
        if src == "string" or to == "string":
            raise Unplaced(f"cast of columns from {src} to {to}")
        if to in ("float", "double", "float16") or src in ("bool", "int64", "int32", "int16", "int8", "uint8", "uint16", "uint32"):
            if to == "bool":
                from ._read_expr import to_bool

                return [to_bool(r, x)]
            rounded = to in ("float", "float16") or (x.etype in ("float", "float16") or x.f32)
            return [Cols(x.names, x.dims, to, f32=rounded and to != "float16", binary=x.binary or src == "bool")]
        raise Unplaced(f"cast from {src} to {to} truncates")
    if isinstance(x, (Net, TreeScores, Proba2, ZipProba)):
        if to not in ("float", "double"):
            raise Unplaced(f"cast of scores to {to}")
        if isinstance(x, (Net, TreeScores)):  # a TreeStack sums in this type; a network's next op computes in it
            return [replace(x, etype=to)]
        return [x]
    if isinstance(x, ArgIdx):
        x = Labels(source=x.source, classes=None, etype="int64")
    if isinstance(x, Labels):
        return [_cast_labels(x, to)]
    raise Unplaced(f"cast of {_describe(x)}")


def _py(v: Any) -> Any:
    return v.decode() if isinstance(v, bytes) else v


def _etype_of(arr: NDArray[Any]) -> str | None:
    if arr.dtype == object:
        return "string"
    for v in ELEM_TYPES.values():
        if v != "string" and np.dtype(_np_dtype(v)) == arr.dtype:
            return v
    return None


def _cast_labels(lab: Labels, to: str) -> Labels:
    classes: tuple[Any, ...] | None = lab.classes
    if classes is None:
        classes = tuple(range(_source_width(lab.source)))
    new: tuple[Any, ...]
    try:
        if to == "string":
            new = tuple(c if isinstance(c, str) else str(c) for c in classes)
        elif to in ("float", "double"):
            new = tuple(float(np.asarray(c).astype(_np_dtype(to))) for c in classes)
        elif to == "bool":
            raise Unplaced("labels cast to booleans")
        else:
            arr = np.asarray([c for c in classes])
            if arr.dtype == object or arr.dtype.kind in "US":
                raise Unplaced("string labels cast to numbers")
            new = tuple(int(v) for v in arr.astype(_np_dtype(to)).tolist())
    except (TypeError, ValueError, OverflowError):
        raise Unplaced("labels cannot be cast") from None
    if len(set(new)) != len(new):
        raise Unplaced("the cast makes two class labels equal")
    return replace(lab, classes=new, etype=to)


def _source_width(src: Any) -> int:
    return 2 if isinstance(src, Proba2) else int(src.width)


def _same_rows(sym: Any) -> Any:
    """Scores, labels and probabilities pass through reshapes that keep the row size."""
    if isinstance(sym, (Net, TreeScores, Proba2, ZipProba, Labels, ArgIdx)):
        return sym
    raise Unplaced(f"reshape of {_describe(sym)}")


def _row_size(sym: Any) -> int:
    if isinstance(sym, (Labels, ArgIdx)):
        return 1
    if isinstance(sym, Proba2):
        return 2
    if isinstance(sym, ZipProba):
        return -1
    return int(sym.width)


@handles("Reshape")
def _reshape(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = args[0]
    if len(args) > 1 and args[1] is not None:
        shape = _ints(r.const(args[1], "a shape"), "the shape")
    else:
        s = node.ints("shape")
        if s is None:
            raise Unplaced("Reshape without a shape")
        shape = [int(v) for v in s.tolist()]
    if isinstance(x, Const):
        if not shape or shape.count(-1) > 1:
            raise Unplaced("constant reshape")
        try:
            return [Const(x.value.reshape([d if d != 0 else x.value.shape[i] for i, d in enumerate(shape)]))]
        except ValueError:
            raise Unplaced("constant reshape") from None
    if isinstance(x, PendingAffine):
        x = r.materialize(x)
    if isinstance(x, Cols):
        return [Cols(x.names, _new_dims(x.dims, shape, node.int("allowzero", 0)), x.etype)]
    if isinstance(x, TreeScores) and len(shape) == 3 and shape[0] == -1 and shape[1] > 1 and shape[1] * shape[2] == x.width:
        return [TreeStack(x, shape[1], shape[2])]
    size = _row_size(_same_rows(x))
    if size > 0:
        _new_dims((size,), shape, 0)
    return [x]


def _new_dims(dims: tuple[int, ...], shape: list[int], allowzero: int) -> tuple[int, ...]:
    """Per-row dims after reshaping [N, *dims] to ``shape`` (the batch dimension must stay first)."""
    per_row = int(np.prod(dims)) if dims else 1
    if len(shape) == 0:
        raise Unplaced("reshape to a scalar")
    if len(shape) == 1:
        if shape[0] == -1 and per_row == 1:
            return ()
        raise Unplaced(f"reshape of [N, {per_row}] to {shape}")
    if allowzero:
        raise Unplaced("reshape with allowzero")
    first, rest = shape[0], list(shape[1:])
    full = (None, *dims)
    for i, d in enumerate(rest, start=1):
        if d == 0:
            if i >= len(full):
                raise Unplaced(f"reshape to {shape}")
            rest[i - 1] = full[i]  # type: ignore[assignment,call-overload]
    if first not in (-1, 0):
        raise Unplaced(f"reshape to {shape} fixes the number of rows")
    if first == -1 and -1 in rest:
        raise Unplaced(f"reshape to {shape}")
    if -1 in rest:
        known = int(np.prod([d for d in rest if d != -1])) if len(rest) > 1 else 1
        if known <= 0 or per_row % known:
            raise Unplaced(f"reshape of [N, {per_row}] to {shape}")
        rest[rest.index(-1)] = per_row // known
    if int(np.prod(rest)) != per_row or any(d <= 0 for d in rest):
        raise Unplaced(f"reshape of [N, {per_row}] to {shape}")
    return tuple(rest)


@handles("Flatten")
def _flatten(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    if node.int("axis", 1) != 1:
        raise Unplaced("Flatten on an axis other than 1")
    x = args[0]
    if isinstance(x, PendingAffine):
        x = r.materialize(x)
    if isinstance(x, Cols):
        return [Cols(x.names, (len(x.names),), x.etype)]
    return [_same_rows(x)]


def _axes(r: _Reader, node: NodeView, args: list[Any]) -> list[int] | None:
    if len(args) > 1 and args[1] is not None:
        return _ints(r.const(args[1], "axes"), "the axes")
    a = node.ints("axes")
    return None if a is None else [int(v) for v in a.tolist()]


@handles("Squeeze", "Unsqueeze")
def _squeeze(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = args[0]
    axes = _axes(r, node, args)
    if isinstance(x, Const):
        try:
            if node.op == "Squeeze":
                return [Const(np.squeeze(x.value, axis=tuple(axes) if axes else None))]
            v = x.value
            for a in sorted(axes or []):
                v = np.expand_dims(v, a)
            return [Const(v)]
        except (ValueError, np.exceptions.AxisError):
            raise Unplaced("constant squeeze") from None
    if isinstance(x, PendingAffine):
        x = r.materialize(x)
    if isinstance(x, Cols):
        full = [None, *x.dims]
        if node.op == "Squeeze":
            rank = len(full)
            drop = [a % rank for a in axes] if axes else [i for i, d in enumerate(full) if d == 1]
            if 0 in drop or any(full[a] != 1 for a in drop):
                raise Unplaced("squeeze of the row axis or of a dimension that is not 1")
            return [Cols(x.names, tuple(d for i, d in enumerate(full) if i not in drop and i > 0), x.etype)]  # type: ignore[misc]
        if not axes:
            raise Unplaced("Unsqueeze without axes")
        rank = len(full) + len(axes)
        for a in sorted(a % rank for a in axes):
            if a == 0:
                raise Unplaced("unsqueeze before the row axis")
            full.insert(a, 1)
        return [Cols(x.names, tuple(full[1:]), x.etype)]  # type: ignore[arg-type]
    return [_same_rows(x)]


def _cols_array(c: Cols) -> NDArray[Any]:
    arr = np.empty(len(c.names), dtype=object)
    arr[:] = list(c.names)
    return arr.reshape(c.dims) if c.dims else arr.reshape(())


def _from_array(arr: NDArray[Any], etype: str) -> Cols:
    names = tuple(arr.ravel().tolist())
    return Cols(names, tuple(arr.shape), etype)


@handles("Concat")
def _concat(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    axis = node.int("axis")
    if (
        len(args) == 2
        and isinstance(args[0], OneMinus)
        and isinstance(args[1], (Net, TreeScores))
        and args[0].p is args[1]
        and args[1].width == 1
        and axis in (1, -1)
    ):
        return [Proba2(args[1])]
    if len(args) == 2 and isinstance(args[0], RowShape) and isinstance(args[1], Const) and axis == 0:
        return [RowShape((*args[0].dims, *_ints(args[1].value, "the shape")))]
    if all(isinstance(a, Const) for a in args):
        r.reserve((sum(np.asarray(a.value).size for a in args),))
        try:
            return [Const(np.concatenate([a.value for a in args], axis=axis))]
        except (ValueError, np.exceptions.AxisError):
            raise Unplaced("constant concat") from None
    if len(args) >= 2 and all(isinstance(a, TreeScores) for a in args) and axis in (1, -1):
        return [_concat_trees(args)]
    pieces = [r.cols(a) for a in args]
    _check_width(sum(len(p.names) for p in pieces))
    rank = 1 + len(pieces[0].dims)
    if any(1 + len(p.dims) != rank for p in pieces):
        raise Unplaced("concat of tensors of different ranks")
    a = axis % rank if -rank <= axis < rank else None
    if not a:
        raise Unplaced(f"concat along axis {axis}")
    etypes = {p.etype for p in pieces}
    if len(etypes) > 1:
        raise Unplaced(f"concat of {', '.join(sorted(etypes))} columns")
    try:
        arr = np.concatenate([_cols_array(p) for p in pieces], axis=a - 1)
    except ValueError:
        raise Unplaced("concat of tensors whose other dimensions differ") from None
    return [_from_array(arr, pieces[0].etype)]


@handles("Slice")
def _slice(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    if isinstance(args[0], RowShape) and len(args) >= 3:
        starts, ends = _ints(r.const(args[1]), "the starts"), _ints(r.const(args[2]), "the ends")
        if starts == [0] and ends == [1] and (len(args) < 4 or args[3] is None or np.asarray(r.const(args[3])).ravel().tolist() == [0]):
            return [RowShape(())]
        raise Unplaced("slice of a shape other than its row count")
    x = r.cols(args[0])
    if len(args) > 1:
        starts, ends = _ints(r.const(args[1]), "the starts"), _ints(r.const(args[2]), "the ends")
        axes = _ints(r.const(args[3]), "the axes") if len(args) > 3 and args[3] is not None else list(range(len(starts)))
        steps = _ints(r.const(args[4]), "the steps") if len(args) > 4 and args[4] is not None else [1] * len(starts)
    else:
        starts, ends = [int(v) for v in node.ints("starts") or []], [int(v) for v in node.ints("ends") or []]
        axes = [int(v) for v in node.ints("axes")] if node.ints("axes") is not None else list(range(len(starts)))  # type: ignore[union-attr]
        steps = [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise FormatError(f"{len(starts)} starts, {len(ends)} ends, {len(axes)} axes and {len(steps)} steps: they must match")
    if 0 in steps:
        raise FormatError("a step of 0")
    arr = _cols_array(x)
    rank = 1 + arr.ndim
    index: list[Any] = [slice(None)] * arr.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = _axis(a, rank)
        if a == 0:
            if s == 0 and e >= 2**62 and st == 1:
                continue
            raise Unplaced("slice of rows")
        index[a - 1] = slice(s, e, st)
    out = arr[tuple(index)]
    if out.size == 0:
        raise Unplaced("empty slice")
    return [_from_array(np.asarray(out), x.etype)]


_SET_OPS = (OPS.index("in"), OPS.index("not_in"))


def _concat_trees(scores: list[TreeScores]) -> TreeScores:
    """Side-by-side sums of tree ensembles: one ensemble whose trees each write their own block."""
    first = scores[0].parts
    same = ("features", "input_dtype", "accumulate_dtype")
    for t in scores:
        p = t.parts
        if not t.is_open or p.get("aggregation") != "sum" or np.any(p["base_score"] != 0) or p.get("tree_weights") is not None:
            raise Unplaced("concat of tree-ensemble scores other than plain sums")
        if any(p.get(k) != first.get(k) for k in same):
            raise Unplaced("concat of tree ensembles reading different inputs")
    if len({t.etype for t in scores}) > 1:
        raise Unplaced("concat of float and double tree scores")
    width = sum(t.width for t in scores)
    n_nodes = sum(len(t.parts["feature"]) for t in scores)
    if width * n_nodes > MAX_TABLE:
        raise Unplaced(f"concat of {len(scores)} tree ensembles: {width} outputs for {n_nodes} nodes")
    cat: dict[str, list[Any]] = {k: [] for k in ("roots", "feature", "threshold", "op", "true_child", "false_child", "missing")}
    values = np.zeros((n_nodes, width))
    set_offsets: list[Any] = [np.zeros(1, dtype=np.int64)]
    set_values: list[Any] = []
    row = col = n_sets = n_members = 0
    for t in scores:
        p = t.parts
        n = len(p["feature"])
        cat["roots"].append(np.asarray(p["roots"]) + row)
        for k in ("true_child", "false_child"):
            c = np.asarray(p[k])
            cat[k].append(np.where(c >= 0, c + row, c))
        thr = np.asarray(p["threshold"], dtype=np.float64).copy()
        thr[np.isin(np.asarray(p["op"]), _SET_OPS)] += n_sets
        cat["threshold"].append(thr)
        for k in ("feature", "op", "missing"):
            cat[k].append(np.asarray(p[k]))
        values[row : row + n, col : col + t.width] = p["values"]
        if p.get("set_offsets") is not None:
            set_offsets.append(np.asarray(p["set_offsets"])[1:] + n_members)
            set_values.append(np.asarray(p["set_values"]))
            n_sets += len(p["set_offsets"]) - 1
            n_members += len(p["set_values"])
        row += n
        col += t.width
    parts = dict(first)
    parts.update({k: np.concatenate(v) for k, v in cat.items()}, values=values, base_score=np.zeros(width))
    parts.pop("set_offsets", None)
    parts.pop("set_values", None)
    if set_values:
        parts.update(set_offsets=np.concatenate(set_offsets), set_values=np.concatenate(set_values))
    return TreeScores(parts, "identity", width, scores[0].etype, new_version())


@handles("CumSum")
def _cumsum(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    """float32 running sums over the trees of a :class:`TreeStack` (how portamodel writes float32 sums)."""
    x = args[0]
    axis = _ints(r.const(args[1], "the axis"), "the axis") if len(args) > 1 and args[1] is not None else []
    if not isinstance(x, TreeStack) or x.running or axis not in ([1], [-2]) or node.int("exclusive", 0) or node.int("reverse", 0):
        raise Unplaced(f"CumSum of {_describe(x)}")
    return [replace(x, running=True)]


def _stack_total(stack: TreeStack, index: int) -> TreeScores:
    """The last running sum of a stack: one ensemble whose trees add up in float32, in order."""
    t = stack.scores
    parts = dict(t.parts)
    T, K = stack.n_trees, stack.width
    if index not in (T - 1, -1):
        raise Unplaced("a partial sum of the trees")
    if t.etype != "float":
        raise Unplaced("running sums of per-tree scores in double")
    if parts.get("aggregation") != "sum" or np.any(parts["base_score"] != 0) or len(parts["roots"]) != T:
        raise Unplaced("per-tree scores that are not one tree each")
    est = TreeEnsemble(**parts)
    owner = est.tree_of_node()
    wide = np.asarray(parts["values"], dtype=np.float64).reshape(-1, T, K)
    mine = wide[np.arange(wide.shape[0]), owner]  # (n_nodes, K): each node's own tree's targets
    others = wide.copy()
    others[np.arange(wide.shape[0]), owner] = 0.0
    nan_rows = np.isnan(wide).all(axis=(1, 2))
    if np.any(others[~nan_rows] != 0):
        raise Unplaced("per-tree scores that share targets")
    parts.update(values=mine, base_score=np.zeros(K), accumulate_dtype="float32")
    return TreeScores(parts, t.post, K, "float", new_version())


@handles("Gather")
def _gather(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    axis = node.int("axis", 0)
    data, idx = args[0], args[1]
    if isinstance(data, TreeStack) and data.running and axis in (1, -2):
        ind = _int_array(r.const(idx, "indices"), "the indices")
        if ind.ndim != 0:
            raise Unplaced("a gather of several partial sums")
        return [_stack_total(data, int(ind))]
    if isinstance(data, Const) and isinstance(idx, Const):
        values, ind = np.asarray(data.value), _int_array(idx.value, "the indices")
        if -values.ndim <= axis < values.ndim:
            a = axis % values.ndim
            r.reserve((*values.shape[:a], *ind.shape, *values.shape[a + 1 :]))
        try:
            return [Const(np.take(data.value, idx.value, axis=axis))]
        except (IndexError, ValueError, np.exceptions.AxisError):
            raise Unplaced("constant gather") from None
    if isinstance(data, Const) and isinstance(idx, ArgIdx) and axis == 0:
        return [_labels_from_table(data.value, idx)]
    if isinstance(data, Const) and isinstance(idx, (Cols, PendingAffine)) and axis == 0 and np.asarray(data.value).ndim == 1:
        from ._read_expr import gather_table

        return [gather_table(r, np.asarray(data.value), r.cols(idx))]
    x = r.cols(data)
    ind = _int_array(r.const(idx, "indices"), "the indices")
    a = _axis(axis, 1 + len(x.dims))
    if a == 0:
        raise Unplaced("gather of rows")
    arr = _cols_array(x)
    _check_width(arr.size // max(arr.shape[a - 1], 1) * ind.size)
    try:
        out = np.take(arr, ind, axis=a - 1)
    except IndexError:
        raise FormatError("gather index out of range", location=node.where) from None
    return [_from_array(np.asarray(out), x.etype)]


def _labels_from_table(table: NDArray[Any], idx: ArgIdx) -> Labels:
    flat = table.ravel()
    k = _source_width(idx.source)
    if flat.shape[0] < k:
        raise FormatError(f"{flat.shape[0]} class labels for {k} scores", location="labels")
    values = tuple(_py(v) for v in flat[:k].tolist())
    etype = _etype_of(flat) or "string"
    if flat.dtype.kind == "f":
        values = tuple(float(v) for v in values)
    elif flat.dtype.kind in "iu":
        values = tuple(int(v) for v in values)
    elif flat.dtype.kind == "b":
        values = tuple(bool(v) for v in values)
    if len(set(values)) != len(values):
        raise Unplaced("class labels are not distinct")
    return Labels(source=idx.source, classes=values, etype=etype)


@handles("Split")
def _split(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = r.cols(args[0])
    axis = node.int("axis", 0)
    a = _axis(axis, 1 + len(x.dims))
    if a == 0:
        raise Unplaced("split of rows")
    arr = _cols_array(x)
    n, k = arr.shape[a - 1], len(node.outputs)
    if len(args) > 1 and args[1] is not None:
        sizes = _ints(r.const(args[1], "split sizes"), "the split sizes")
    elif node.ints("split") is not None:
        sizes = [int(v) for v in node.ints("split").tolist()]  # type: ignore[union-attr]
    else:
        if n % k:
            raise Unplaced("uneven split")
        sizes = [n // k] * k
    if len(sizes) != k:
        raise FormatError(f"{len(sizes)} split sizes for {k} outputs")
    if any(size < 0 for size in sizes):
        raise FormatError(f"the split sizes {_show(sizes)} include a negative size")
    if sum(sizes) != n:
        raise FormatError(f"the split sizes {_show(sizes)} add up to {sum(sizes)}, not to the {n} values along axis {axis}")
    cuts = np.cumsum(sizes)[:-1]
    return [_from_array(p, x.etype) for p in np.split(arr, cuts, axis=a - 1)]


# -- dense networks and linear algebra ------------------------------------------------------------


def _as_net_input(r: _Reader, sym: Any, n_in: int) -> tuple[tuple[str, ...], tuple[Layer, ...], str, int]:
    """(features, earlier layers, etype of ``sym``, version) for a new dense layer reading ``sym``."""
    if isinstance(sym, Net):
        layers = sym.layers
        if layers[-1].act is None:
            layers = (*layers[:-1], replace(layers[-1], act="identity"))
        if sym.width != n_in:
            raise FormatError(f"a layer with {n_in} inputs reads {sym.width} values", location="MatMul")
        return sym.features, layers, sym.etype, sym.version
    c = r.numeric_cols(sym)
    if c.dims != (n_in,):
        raise Unplaced(f"a layer with {n_in} inputs reads a tensor of shape [N, {', '.join(map(str, c.dims))}]")
    return c.names, (), c.etype, 0


@handles("MatMul")
def _matmul(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    w = np.asarray(r.const(args[1], "a weight matrix"))
    if w.ndim != 2 or w.dtype.kind not in "fiu":
        raise Unplaced("MatMul with a weight that is not a 2-D numeric matrix")
    feats, layers, etype, _ = _as_net_input(r, args[0], w.shape[0])
    layer = Layer(weights=w.astype(np.float64), biases=np.zeros(w.shape[1]), dtype=_layer_dtype(etype, w))
    return [Net(feats, (*layers, layer), _etype_of(w) or etype, new_version())]


def _layer_dtype(etype: str, w: NDArray[Any]) -> str:
    """The type a product of an ``etype`` tensor by the weight constant ``w`` computes in."""
    return etype if _etype_of(w) == etype else "mixed"


@handles("Gemm")
def _gemm(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    if node.int("transA", 0):
        raise Unplaced("Gemm with transA=1")
    b_raw = np.asarray(r.const(args[1], "a weight matrix"))
    b = b_raw.astype(np.float64)
    if b.ndim != 2:
        raise Unplaced("Gemm with a weight that is not 2-D")
    if node.int("transB", 0):
        b = b.T
    alpha, beta = node.float("alpha", 1.0), node.float("beta", 1.0)
    w = b * alpha if alpha != 1.0 else b
    bias = np.zeros(w.shape[1])
    if len(args) > 2 and args[2] is not None:
        c = np.asarray(r.const(args[2], "a bias")).astype(np.float64)
        bias = _row_vector(c, w.shape[1]) * beta
    feats, layers, etype, _ = _as_net_input(r, args[0], w.shape[0])
    layer = Layer(weights=w, biases=bias, dtype=_layer_dtype(etype, b_raw))
    return [Net(feats, (*layers, layer), _etype_of(b_raw) or etype, new_version())]


def _row_vector(c: NDArray[Any], k: int) -> NDArray[np.float64]:
    """A constant that broadcasts against [N, k] along the columns only, as a length-k vector."""
    c = np.asarray(c, dtype=np.float64)
    if c.ndim == 2 and c.shape[0] == 1:
        c = c[0]
    if c.ndim == 0 or (c.ndim == 1 and c.shape[0] == 1):
        return np.full(k, float(c.ravel()[0]))
    if c.ndim == 1 and c.shape[0] == k:
        return c.copy()
    raise Unplaced(f"a constant of shape {c.shape} does not broadcast over {k} columns")


def _affine_start(c: Cols) -> PendingAffine:
    k = len(c.names)
    return PendingAffine(c, np.zeros(k), np.ones(k), np.zeros(k), False, 0, c.etype)


@handles("Add", "Sub", "Mul", "Div")
def _arith(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    a, b = args[0], args[1]
    op = node.op
    if isinstance(a, Const) and isinstance(b, Const):
        fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
        return _fold(r, node, fn, [a.value, b.value])
    # 1 - p  (skl2onnx's binary head)
    if (
        op == "Sub"
        and isinstance(a, Const)
        and isinstance(b, (Net, TreeScores))
        and b.width == 1
        and np.asarray(a.value).size == 1
        and float(np.asarray(a.value).ravel()[0]) == 1.0
    ):
        return [OneMinus(b)]
    # multiplying probabilities by one (onnxmltools' LightGBM glue)
    if op in ("Mul", "Div") and isinstance(b, Const) and isinstance(a, (Net, TreeScores, Proba2)) and np.all(np.asarray(b.value) == 1):
        return [a]
    if op == "Mul" and isinstance(a, Const) and isinstance(b, (Net, TreeScores, Proba2)) and np.all(np.asarray(a.value) == 1):
        return [b]
    if isinstance(a, Const) and op in ("Add", "Mul"):
        a, b = b, a
    if isinstance(b, Const):
        if isinstance(a, Net) and a.is_open:
            return [_net_const(a, op, b.value)]
        if isinstance(a, TreeScores) and a.is_open:
            return [_tree_const(a, op, b.value)]
        if isinstance(a, (Cols, PendingAffine)):
            return [_affine_const(r, a, op, b.value)]
    if isinstance(a, Const) and op == "Sub" and isinstance(b, (Cols, PendingAffine)):
        p = _affine_const(r, b, "Sub", a.value)  # (x - c) * -1 = c - x
        return [_affine_const(r, p, "Mul", np.array(-1.0))]
    if isinstance(a, Const) and op == "Div" and isinstance(b, (Cols, PendingAffine)):
        return [_expr_binary(r, node, args)]
    if isinstance(a, (Cols, PendingAffine)) and isinstance(b, (Cols, PendingAffine)):
        return [_expr_binary(r, node, args)]
    raise Unplaced(f"{op} of {_describe(a)} and {_describe(b)}")


def _net_const(net: Net, op: str, c: NDArray[Any]) -> Net:
    last = net.layers[-1]
    if last.dtype != net.etype:  # e.g. a float product cast to double before its bias is added
        last = replace(last, dtype="mixed")
    v = _row_vector(c, net.width)
    with np.errstate(all="ignore"):
        if op == "Add":
            last = replace(last, biases=last.biases + v)
        elif op == "Sub":
            last = replace(last, biases=last.biases - v)
        elif op == "Mul":
            last = replace(last, weights=last.weights * v, biases=last.biases * v)
        else:
            last = replace(last, weights=last.weights / v, biases=last.biases / v)
    return Net(net.features, (*net.layers[:-1], last), net.etype, new_version())


def _tree_const(t: TreeScores, op: str, c: NDArray[Any]) -> TreeScores:
    parts = dict(t.parts)
    v = _row_vector(c, t.width)
    base = parts["base_score"]
    with np.errstate(all="ignore"):
        if op == "Add":
            parts["base_score"] = base + v
        elif op == "Sub":
            parts["base_score"] = base - v
        else:
            if parts.get("aggregation") not in ("sum", "average", "max"):
                raise Unplaced("scaling tree scores")
            n_trees = len(parts["roots"])
            f32_sum = parts.get("accumulate_dtype") == "float32" and parts.get("aggregation") == "sum"
            if op == "Div" and f32_sum and parts.get("tree_weights") is None and not np.any(base) and np.all(v == n_trees):
                parts["aggregation"] = "average"  # total / T in float32, as the IR averages
                return TreeScores(parts, t.post, t.width, t.etype, new_version())
            if f32_sum:  # scaling each tree is not scaling the float32 sum
                raise Unplaced("scaling float32 tree sums")
            if op == "Mul":
                if np.any(v < 0) and parts.get("aggregation") == "max":
                    raise Unplaced("negative scaling of a max ensemble")
                parts["values"] = parts["values"] * v
                parts["base_score"] = base * v
            else:
                if np.any(v < 0) and parts.get("aggregation") == "max":
                    raise Unplaced("negative scaling of a max ensemble")
                parts["values"] = parts["values"] / v
                parts["base_score"] = base / v
    return TreeScores(parts, t.post, t.width, t.etype, new_version())


def _affine_const(r: _Reader, x: Cols | PendingAffine, op: str, c: NDArray[Any]) -> PendingAffine:
    if np.asarray(c).dtype.kind not in "fiub":
        raise Unplaced("arithmetic with a non-numeric constant")
    p = x if isinstance(x, PendingAffine) else _affine_start(r.numeric_cols(x))
    src = p.source
    if len(src.dims) > 1:
        raise Unplaced("arithmetic on a 3-D tensor")
    k = len(src.names)
    cv = np.asarray(c, dtype=np.float64)
    if cv.ndim == 2 and cv.shape[0] == 1:
        cv = cv[0]
    if not (cv.ndim == 0 or (cv.ndim == 1 and cv.shape[0] in (1, k))):
        raise Unplaced(f"a constant of shape {np.asarray(c).shape} does not broadcast over the columns")
    v = np.broadcast_to(cv.ravel() if cv.ndim else cv, (k,)).astype(np.float64)
    etype = (
        p.etype
        if np.asarray(c).dtype.kind in "iub"
        else ("double" if p.etype == "double" or np.asarray(c).dtype == np.float64 else p.etype)
    )
    if op in ("Add", "Sub"):
        delta = -v if op == "Add" else v
        if p.stage == 0:
            return replace(p, offset=delta, stage=1, etype=etype)
        if p.stage in (1, 2):
            return replace(p, shift=-delta, stage=3, etype=etype)
    elif p.stage <= 1:
        return replace(p, scale=v, divide=op == "Div", stage=2, etype=etype)
    return _affine_const(r, r.materialize(p), op, c)


def _expr_binary(r: _Reader, node: NodeView, args: list[Any]) -> Cols:
    from ._read_expr import binary_expression

    return binary_expression(r, node, args)


_ACT = {"Relu": "relu", "Sigmoid": "logistic", "Tanh": "tanh", "Softmax": "softmax", "Exp": "exp", "Sin": "sine", "Cos": "cosine",
        "Reciprocal": "reciprocal", "LeakyRelu": "leaky_relu"}  # fmt: skip
_TREE_ACT = {"Sigmoid": "logistic", "Softmax": "softmax", "Exp": "exp"}


@handles(*_ACT)
def _activation(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = args[0]
    op = node.op
    if op == "Softmax":
        axis = node.int("axis", 1 if r.opsets.get("", 13) < 13 else -1)
        if axis not in (1, -1):
            raise Unplaced(f"Softmax over axis {axis}")
    if isinstance(x, Net):
        if not x.is_open:
            raise Unplaced(f"{op} after the {x.transform} activation")
        if op == "Softmax" and x.width < 2:
            raise Unplaced("Softmax over one output")
        alpha = node.float("alpha", 0.01) if op == "LeakyRelu" else 0.01
        return [x.with_act(_ACT[op], alpha)]
    if isinstance(x, TreeScores) and op in _TREE_ACT:
        if not x.is_open:
            raise Unplaced(f"{op} after the {x.transform} transform")
        return [replace(x, post=_TREE_ACT[op])]
    if isinstance(x, (Cols, PendingAffine)):
        from ._read_expr import unary_expression

        return [unary_expression(r, node, args)]
    raise Unplaced(f"{op} of {_describe(x)}")


@handles("ArgMax")
def _argmax(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = args[0]
    if node.int("axis", 0) not in (1, -1):
        raise Unplaced("ArgMax over an axis other than the last")
    if node.int("select_last_index", 0):
        raise Unplaced("ArgMax with select_last_index=1 (portamodel's labels pick the first maximum)")
    if isinstance(x, (Net, TreeScores)):
        if x.width < 2:
            raise Unplaced("ArgMax over a single score")
        return [ArgIdx(x)]
    if isinstance(x, Proba2):
        return [ArgIdx(x)]
    if isinstance(x, (Cols, PendingAffine)):
        from ._read_expr import argmax_columns

        return [argmax_columns(r, node, r.cols(x))]
    raise Unplaced(f"ArgMax of {_describe(x)}")


@handles("Pow")
def _pow(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    from ._read_expr import binary_expression

    if isinstance(args[0], Const) and isinstance(args[1], Const):
        return _fold(r, node, np.power, [args[0].value, args[1].value])
    return [binary_expression(r, node, args)]


@handles("Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual")
def _compare(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    from ._read_expr import comparison

    if isinstance(args[0], Const) and isinstance(args[1], Const):
        fn = {"Equal": np.equal, "Less": np.less, "LessOrEqual": np.less_equal, "Greater": np.greater, "GreaterOrEqual": np.greater_equal}
        return _fold(r, node, fn[node.op], [args[0].value, args[1].value])
    return [comparison(r, node, args)]


@handles("IsNaN")
def _isnan(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    from ._read_expr import is_nan

    if isinstance(args[0], Const):
        return [Const(np.isnan(np.asarray(args[0].value, dtype=np.float64)))]
    return [is_nan(r, node, args)]


@handles("Not", "And", "Or", "Xor")
def _logic(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    from ._read_expr import logic

    if all(isinstance(a, Const) for a in args):
        fn = {"Not": np.logical_not, "And": np.logical_and, "Or": np.logical_or, "Xor": np.logical_xor}[node.op]
        return _fold(r, node, fn, [a.value for a in args])
    return [logic(r, node, args)]


@handles("Where")
def _where(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    from ._read_expr import where

    if all(isinstance(a, Const) for a in args):
        return _fold(r, node, np.where, [a.value for a in args])
    return [where(r, node, args)]


@handles("Abs", "Neg", "Floor", "Ceil", "Round", "Log", "Sqrt")
def _unary(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    from ._read_expr import unary_expression

    if isinstance(args[0], Const):
        fn = {"Abs": np.abs, "Neg": np.negative, "Floor": np.floor, "Ceil": np.ceil, "Round": np.rint, "Log": np.log, "Sqrt": np.sqrt}
        with np.errstate(all="ignore"):
            return [Const(fn[node.op](args[0].value))]
    return [unary_expression(r, node, args)]


@handles("Max", "Min")
def _extremum(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    from ._read_expr import extremum

    if all(isinstance(a, Const) for a in args):
        fn = np.maximum if node.op == "Max" else np.minimum
        return _fold(r, node, lambda *vs: functools.reduce(fn, vs), [a.value for a in args])
    return [extremum(r, node, args)]


@handles("ReduceMax", "ReduceMin", "ReduceSum")
def _reduce(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    from ._read_expr import reduce_columns

    x = args[0]
    if not isinstance(x, (Cols, PendingAffine)):
        raise Unplaced(f"{node.op} of {_describe(x)}")
    return [reduce_columns(r, node, r.cols(x), _axes(r, node, args))]


@handles("Shape")
def _shape(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = args[0]
    if node.has("start") or node.has("end"):
        raise Unplaced("Shape with start/end")
    if isinstance(x, Const):
        return [Const(np.array(np.asarray(x.value).shape, dtype=np.int64))]
    if isinstance(x, (Cols, PendingAffine)):
        return [RowShape(r.cols(x).dims)]
    raise Unplaced(f"Shape of {_describe(x)}")


def _constant_column(r: _Reader, value: Any, dims: tuple[int, ...]) -> Cols:
    if dims not in ((), (1,)):
        raise Unplaced(f"a constant tensor of shape [N, {dims}]")
    v = np.asarray(value).ravel()
    if v.size != 1:
        raise Unplaced("a constant column from several values")
    item = v[0]
    if v.dtype == object or v.dtype.kind in "US":
        text = item.decode() if isinstance(item, bytes) else str(item)
        expr, etype = Constant(value=None if text == "" else text), "string"
    else:
        num = float(item)
        expr, etype = Constant(value=None if math.isnan(num) else num), "double"
    out = r.new_name("constant")
    r.emit(Derive(output=out, expression=expr, dtype="string" if etype == "string" else "double"))
    return Cols((out,), dims, etype)


@handles("ConstantOfShape")
def _constant_of_shape(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    shape = args[0]
    value = np.asarray(node.tensor("value") if node.has("value") else np.zeros(1, dtype=np.float32))
    if value.size != 1:
        raise FormatError(f"the value attribute holds {value.size} values; ConstantOfShape takes exactly one")
    if isinstance(shape, Const):
        dims = _shape_arg(shape.value)
        r.reserve(dims)
        return [Const(np.full(dims, value.ravel()[0]))]
    if isinstance(shape, RowShape):
        return [_constant_column(r, value, shape.dims)]
    raise Unplaced(f"ConstantOfShape of {_describe(shape)}")


@handles("Expand")
def _expand(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x, shape = args
    if isinstance(x, Const) and isinstance(shape, RowShape):
        return [_constant_column(r, x.value, shape.dims)]
    if isinstance(x, Const) and isinstance(shape, Const):
        dims = _shape_arg(shape.value)
        try:  # ONNX broadcasts both ways: a 1 in the shape keeps the constant's dimension
            out = np.broadcast_shapes(np.shape(x.value), tuple(dims))
        except ValueError:
            raise FormatError(f"a constant of shape {_show(np.shape(x.value))} cannot be expanded to the shape {_show(dims)}") from None
        r.reserve(out)
        return [Const(np.broadcast_to(x.value, out).copy())]
    raise Unplaced(f"Expand of {_describe(x)}")


# -- ai.onnx.ml -----------------------------------------------------------------------------------

ML = "ai.onnx.ml"


def _post_transform(node: NodeView) -> str:
    name = node.string("post_transform", "NONE")
    if name == "PROBIT":
        raise UnsupportedFeatureError(
            "post_transform PROBIT (onnxruntime's inverse-normal approximation) has no IR equivalent", location=node.where
        )
    if name not in _ONNX_POST:
        raise FormatError(f"unknown post_transform {name!r}", location=node.where)
    return _ONNX_POST[name]


def _linear_weights(node: NodeView, n_out: int, x: Cols) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    coef = node.floats("coefficients")
    if coef is None or coef.size == 0:
        raise FormatError("coefficients are required", location=node.where)
    F = len(x.names)
    if x.dims not in ((F,), ()):
        raise Unplaced("a linear model over a 3-D tensor")
    if coef.shape[0] != n_out * F:
        raise FormatError(f"{coef.shape[0]} coefficients for {n_out} output(s) and {F} features", location=node.where)
    icpt = node.floats("intercepts")
    if icpt is None or icpt.size == 0:
        icpt = np.zeros(n_out)
    if icpt.shape[0] != n_out:
        raise FormatError(f"{icpt.shape[0]} intercepts for {n_out} output(s)", location=node.where)
    return coef.reshape(n_out, F).T.copy(), icpt


def _strings_or_ints(node: NodeView, strings: str, ints: str) -> tuple[list[str] | None, NDArray[np.int64] | None]:
    """A pair of attributes giving labels or categories as strings or as integers: exactly one must
    be given (an empty list counts as not given); the other comes back as None."""
    s, i = node.strings(strings), node.ints(ints)
    if s is not None and len(s) == 0:
        s = None
    if i is not None and len(i) == 0:
        i = None
    if (s is None) == (i is None):
        raise FormatError(f"exactly one of {strings} / {ints} is required", location=node.where)
    return s, i


@handles("LinearRegressor", domain=ML)
def _linear_regressor(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = r.numeric_cols(args[0])
    targets = node.int("targets", 1)
    if targets < 1:
        raise FormatError("targets must be positive", location=node.where)
    w, b = _linear_weights(node, targets, x)
    post = _post_transform(node)
    if targets == 1:
        post = "identity"  # onnxruntime applies only PROBIT to a single target
    return [Net(x.names, (Layer(w, b, post),), "float", new_version())]


@handles("LinearClassifier", domain=ML)
def _linear_classifier(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = r.numeric_cols(args[0])
    labels_s, labels_i = _strings_or_ints(node, "classlabels_strings", "classlabels_ints")
    classes: tuple[Any, ...] = tuple(labels_s) if labels_s is not None else tuple(int(v) for v in labels_i)  # type: ignore[union-attr]
    etype = "string" if labels_s is not None else "int64"
    if len(set(classes)) != len(classes):
        raise FormatError("class labels are not distinct", location=node.where)
    icpt = node.floats("intercepts")
    if icpt is None or icpt.size == 0:
        raise FormatError("intercepts are required (they give the number of score rows)", location=node.where)
    K = icpt.shape[0]
    w, b = _linear_weights(node, K, x)
    post = _post_transform(node)
    version = new_version()
    if K == 1:
        if len(classes) != 2:
            raise FormatError(f"one coefficient row needs 2 class labels, got {len(classes)}", location=node.where)
        raw = Net(x.names, (Layer(w, b, "identity"),), "float", version)
        sign = Net(x.names, (Layer(w, b, "logistic"),), "float", version)
        proba = Proba2(raw)  # onnxruntime: [1 - s, s] with the raw score s, whatever post_transform says
        # labels: s > 0, i.e. sigmoid(s) > 0.5; exact when the probabilities are not also an output
        return [Labels(source=Proba2(sign), classes=classes, etype=etype), proba]
    if len(classes) != K:
        raise FormatError(f"{K} coefficient rows for {len(classes)} class labels", location=node.where)
    if K == 2 and post == "logistic" and np.array_equal(w[:, 0], -w[:, 1]) and b[0] == -b[1]:
        p = Net(x.names, (Layer(w[:, 1:].copy(), b[1:].copy(), "logistic"),), "float", version)
        proba2 = Proba2(p)
        return [Labels(source=proba2, classes=classes, etype=etype), proba2]
    raw = Net(x.names, (Layer(w, b, "identity"),), "float", version)
    scores = raw.with_act(post)
    note = None if post in ORDER_PRESERVING else "onnxruntime picks labels by the raw scores, which SOFTMAX_ZERO does not keep in order"
    return [Labels(source=raw, classes=classes, etype=etype, note=note), scores]


def _tree_input(r: _Reader, sym: Any) -> Cols:
    x = r.numeric_cols(sym)
    if len(x.dims) > 1:
        raise Unplaced("a tree ensemble over a 3-D tensor")
    return x


@handles("TreeEnsembleRegressor", domain=ML)
def _tree_regressor(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = _tree_input(r, args[0])
    return [read_tree_regressor(node, x.names, x.etype, rounded=x.f32)]


@handles("TreeEnsembleClassifier", domain=ML)
def _tree_classifier(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = _tree_input(r, args[0])
    labels, proba = read_tree_classifier(node, x.names, x.etype, rounded=x.f32)
    return [labels, proba]


@handles("TreeEnsemble", domain=ML)
def _tree_ensemble(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = _tree_input(r, args[0])
    scores = read_tree_ensemble_v5(node, x.names, x.etype, rounded=x.f32)
    truncated = scores.parts.pop("truncated_features")
    if truncated:
        extra = []
        for f in truncated:
            name = x.names[f]
            out = r.new_name(f"{name}_int32")
            ref = FieldRef(name=name)
            trunc = Apply(
                function="if",
                args=(
                    Apply(function="lessThan", args=(ref, Constant(value=0.0))),
                    Apply(function="ceil", args=(ref,)),
                    Apply(function="floor", args=(ref,)),
                ),
            )
            r.emit(Derive(output=out, expression=trunc))
            extra.append(out)
        scores.parts["features"] = (*x.names, *extra)
    return [scores]


@handles("Scaler", domain=ML)
def _scaler(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = r.numeric_cols(args[0])
    k = len(x.names)
    if len(x.dims) > 1:
        raise Unplaced("Scaler over a 3-D tensor")
    vals = {}
    for name, default in (("offset", 0.0), ("scale", 1.0)):
        v = node.floats(name)
        if v is None or v.size == 0:
            v = np.array([default])
        if v.shape[0] == 1:
            v = np.full(k, v[0])
        if v.shape[0] != k:
            raise FormatError(f"{name} has {v.shape[0]} values for {k} columns", location=node.where)
        vals[name] = v
    outs = tuple(r.new_name(f"{n}_scaled") for n in x.names)
    r.emit(Affine(inputs=x.names, outputs=outs, offset=vals["offset"], scale=vals["scale"]))
    return [Cols(outs, x.dims, "float")]


@handles("Imputer", domain=ML)
def _imputer(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = r.numeric_cols(args[0])
    fl, il = node.floats("imputed_value_floats"), node.ints("imputed_value_int64s")
    if (fl is None or fl.size == 0) == (il is None or il.size == 0):
        raise FormatError("exactly one of imputed_value_floats / imputed_value_int64s is required", location=node.where)
    if fl is not None and fl.size:
        values = fl
        replaced = node.float("replaced_value_float", 0.0)
    else:
        values = il.astype(np.float64)  # type: ignore[union-attr]
        replaced = float(node.int("replaced_value_int64", 0))
    k = len(x.names)
    if values.shape[0] == 1:
        values = np.full(k, values[0])
    if values.shape[0] != k:
        raise FormatError(f"{values.shape[0]} imputed values for {k} columns", location=node.where)
    outs = tuple(r.new_name(f"{n}_imputed") for n in x.names)
    if math.isnan(replaced):
        keep = [i for i in range(k) if not math.isnan(values[i])]
        if len(keep) == k:
            r.emit(Impute(inputs=x.names, outputs=outs, values=tuple(float(v) for v in values)))
            return [Cols(outs, x.dims, x.etype)]
    for i, (name, out) in enumerate(zip(x.names, outs)):
        cond = (
            Apply(function="isMissing", args=(FieldRef(name=name),))
            if math.isnan(replaced)
            else Apply(function="equal", args=(FieldRef(name=name), Constant(value=replaced)))
        )
        value = None if math.isnan(values[i]) else float(values[i])
        # a missing input stays missing when a number is replaced: if(equal(NaN, v)) is missing
        expr = Apply(function="if", args=(cond, Constant(value=value), FieldRef(name=name)))
        r.emit(Derive(output=out, expression=expr))
    return [Cols(outs, x.dims, x.etype)]


@handles("Normalizer", domain=ML)
def _normalizer(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = args[0]
    norm = node.string("norm", "MAX")
    if norm not in ("MAX", "L1", "L2"):
        raise FormatError(f"unknown norm {norm!r}", location=node.where)
    if isinstance(x, (Net, TreeScores)):
        if norm == "L1" and x.transform in ("softmax", "simplemax", "softmax_zero"):
            return [x]  # already sums to one
        if norm == "L1" and isinstance(x, TreeScores) and x.is_open and _nonnegative_tree(x) and x.width > 1:
            return [replace(x, post="simplemax")]
        raise Unplaced(f"{norm} normalisation of {x.transform} scores")
    if isinstance(x, (Cols, PendingAffine)):
        from ._read_expr import normalizer_columns

        return [normalizer_columns(r, node, r.numeric_cols(x), norm)]
    raise Unplaced(f"Normalizer of {_describe(x)}")


def _nonnegative_tree(t: TreeScores) -> bool:
    p = t.parts
    return (
        bool(np.all(p["values"] >= 0))
        and bool(np.all(p["base_score"] >= 0))
        and p.get("aggregation") in ("sum", "average")
        and p.get("tree_weights") is None
    )


@handles("Binarizer", domain=ML)
def _binarizer(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = r.numeric_cols(args[0])
    if not node.has("threshold"):
        raise UnsupportedFeatureError(
            "Binarizer without a threshold (onnxruntime's default differs from the specification's)", location=node.where
        )
    t = node.float("threshold")
    outs = []
    for name in x.names:
        out = r.new_name(f"{name}_binary")
        r.emit(Derive(output=out, expression=Apply(function="threshold", args=(FieldRef(name=name), Constant(value=t)))))
        outs.append(out)
    return [Cols(tuple(outs), x.dims, x.etype)]


@handles("OneHotEncoder", domain=ML)
def _one_hot(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = r.cols(args[0])
    cats_s, cats_i = _strings_or_ints(node, "cats_strings", "cats_int64s")
    if len(x.dims) > 1:
        raise Unplaced("OneHotEncoder over a 3-D tensor")
    zeros = node.int("zeros", 1)
    unknown = "ignore" if zeros else "error"
    out_names: list[str] = []
    if cats_s is not None:
        if x.etype != "string":
            raise Unplaced("string categories for numeric input")
        cats: list[Any] = list(cats_s)
    else:
        if x.etype == "string":
            raise Unplaced("integer categories for string input")
        cats = [int(c) for c in cats_i]  # type: ignore[union-attr]
    _check_width(len(x.names) * len(cats))
    # onnxruntime keeps the last position of a repeated category
    pos = {c: i for i, c in enumerate(cats)}
    for name in x.names:
        src = name
        if x.etype in ("float", "double", "float16"):  # onnxruntime truncates to int64 first
            src = r.new_name(f"{name}_int")
            trunc = Apply(function="if", args=(
                Apply(function="lessThan", args=(FieldRef(name=name), Constant(value=0.0))),
                Apply(function="ceil", args=(FieldRef(name=name),)),
                Apply(function="floor", args=(FieldRef(name=name),)),
            ))  # fmt: skip
            r.emit(Derive(output=src, expression=trunc))
        order = list(dict.fromkeys(cats))
        outs = tuple(r.new_name(f"{name}={c}") for c in order)
        r.emit(OneHot(input=src, categories=tuple(order), outputs=outs, unknown=unknown))  # type: ignore[arg-type]
        col_for = dict(zip(order, outs))
        # output column j is category cats[j]; a repeated category only lights its last position
        for j, c in enumerate(cats):
            if pos[c] == j:
                out_names.append(col_for[c])
            else:
                zero = r.new_name(f"{name}_unused")
                r.emit(Derive(output=zero, expression=Apply(function="*", args=(FieldRef(name=col_for[c]), Constant(value=0.0)))))
                out_names.append(zero)
    dims = (*x.dims, len(cats)) if x.dims else (len(cats),)
    return [Cols(tuple(out_names), dims, "float")]


def _encoder_list(node: NodeView, prefix: str) -> tuple[list[Any], str, bool]:
    """A LabelEncoder's keys or values: whichever of ``{prefix}_strings / _int64s / _floats / _tensor``
    is given, as (a list, its element type, whether it came from the tensor)."""
    for suffix in ("strings", "int64s", "floats", "tensor"):
        name = f"{prefix}_{suffix}"
        if node.has(name):
            break
    else:
        raise FormatError(f"a LabelEncoder needs {prefix}", location=node.where)
    if suffix == "tensor":
        t = node.tensor(name)
        return [_py(v) for v in t.ravel().tolist()], _etype_of(t) or "string", True  # type: ignore[union-attr,arg-type]
    if suffix == "strings":
        return list(node.strings(name) or []), "string", False
    if suffix == "int64s":
        return [int(v) for v in node.ints(name)], "int64", False  # type: ignore[union-attr]
    return [float(v) for v in node.floats(name)], "float", False  # type: ignore[union-attr]


def lookups(
    r: _Reader, names: tuple[str, ...], suffix: str, keys: tuple[Any, ...], values: tuple[Any, ...], default: Any, missing: Any
) -> tuple[str, ...]:
    """One Lookup step per column, all sharing one table; the new columns' names."""
    if len(keys) * len(names) > MAX_LOOKUP_ENTRIES:
        raise LimitExceededError(
            f"a table of {len(keys):,} entries for each of {len(names):,} columns; the limit is {MAX_LOOKUP_ENTRIES:,} entries in all"
        )
    outs = []
    for name in names:
        out = r.new_name(f"{name}_{suffix}")
        r.emit(Lookup(input=name, output=out, keys=keys, values=values, default=default, missing=missing))
        outs.append(out)
    return tuple(outs)


def _lookup_tables(node: NodeView) -> tuple[list[Any], list[Any], Any, str, str]:
    """(keys, values, default, key etype, value etype) of a LabelEncoder (any version)."""
    where = node.where
    if node.has("classes_strings"):  # opset 1: strings <-> their index
        classes = node.strings("classes_strings") or []
        return classes, list(range(len(classes))), None, "string", "int64"
    keys, ketype, _ = _encoder_list(node, "keys")
    values, vetype, from_tensor = _encoder_list(node, "values")
    default: Any
    if from_tensor:
        dt = node.tensor("default_tensor")
        if dt is not None and dt.size != 1:
            raise FormatError("default_tensor must hold one value", location=where)
        default = _py(dt.ravel()[0]) if dt is not None else {"string": "_Unused", "float": -0.0, "double": -0.0}.get(vetype, -1)
    else:
        default = {
            "string": node.string("default_string", "_Unused"),
            "int64": node.int("default_int64", -1),
            "float": node.float("default_float", -0.0),
        }[vetype]
    if len(keys) != len(values):
        raise FormatError(f"{len(keys)} keys but {len(values)} values", location=where)
    if vetype in ("float", "double"):
        values = [float(v) for v in values]
        default = float(default)  # type: ignore[arg-type]
    elif vetype != "string":
        values = [int(v) for v in values]
        default = int(default)  # type: ignore[arg-type,call-overload]
    return keys, values, default, ketype, vetype


@handles("LabelEncoder", domain=ML)
def _label_encoder(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = r.cols(args[0])
    keys: list[Any]
    values: list[Any]
    default: Any
    if node.has("classes_strings"):
        classes = node.strings("classes_strings") or []
        if x.etype == "string":
            keys, values, default = list(classes), list(range(len(classes))), node.int("default_int64", -1)
            vetype = "int64"
        else:
            keys, values, default = list(range(len(classes))), list(classes), node.string("default_string", "_Unused")
            vetype = "string"
    else:
        keys, values, default, ketype, vetype = _lookup_tables(node)
        if (ketype == "string") != (x.etype == "string"):
            raise Unplaced(f"{ketype} keys for {x.etype} input")
    if x.etype == "float":
        keys = [float(np.float32(k)) if isinstance(k, float) else k for k in keys]
    missing = default
    table: dict[Any, Any] = {}
    for k, v in zip(keys, values):
        if isinstance(k, float) and math.isnan(k):
            missing = v  # onnxruntime maps NaN to the value of a NaN key
            continue
        table.setdefault(k, v)  # first occurrence wins
    if x.etype == "string" and "" in table:
        missing = table[""]  # a missing string reaches onnxruntime as ""
    return [Cols(lookups(r, x.names, "encoded", tuple(table), tuple(table.values()), default, missing), x.dims, vetype)]


@handles("CategoryMapper", domain=ML)
def _category_mapper(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = r.cols(args[0])
    cs: list[Any] = node.strings("cats_strings") or []
    ci = node.ints("cats_int64s")
    ci_list: list[Any] = [] if ci is None else [int(v) for v in ci]
    if len(cs) != len(ci_list):
        raise FormatError("cats_strings and cats_int64s differ in length", location=node.where)
    keys: list[Any]
    values: list[Any]
    default: Any
    if x.etype == "string":
        keys, values, default, vetype = cs, ci_list, node.int("default_int64", -1), "int64"
    else:
        keys, values, default, vetype = ci_list, cs, node.string("default_string", "_Unused"), "string"
    table: dict[Any, Any] = dict(zip(keys, values))
    missing = table.get("", default) if x.etype == "string" else default
    return [Cols(lookups(r, x.names, "mapped", tuple(table), tuple(table.values()), default, missing), x.dims, vetype)]


@handles("ZipMap", domain=ML)
def _zipmap(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    x = args[0]
    cs, ci = node.strings("classlabels_strings"), node.ints("classlabels_int64s")
    classes = tuple(cs) if cs else tuple(int(v) for v in (ci if ci is not None else []))
    if not classes:
        raise FormatError("ZipMap needs class labels", location=node.where)
    if isinstance(x, (Net, TreeScores, Proba2)):
        if _source_width(x) != len(classes):
            raise FormatError(f"ZipMap of {_source_width(x)} probabilities with {len(classes)} labels", location=node.where)
        return [ZipProba(x, classes)]
    raise Unplaced(f"ZipMap of {_describe(x)}")


@handles("ArrayFeatureExtractor", domain=ML)
def _array_feature_extractor(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    data, idx = args[0], args[1]
    if isinstance(data, Const) and isinstance(idx, ArgIdx):
        return [_labels_from_table(data.value, idx)]
    x = r.cols(data)
    ind = _int_array(r.const(idx, "indices"), "the indices").ravel()
    arr = _cols_array(x)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    _check_width(arr.size // max(arr.shape[-1], 1) * ind.size)
    if np.any((ind < 0) | (ind >= arr.shape[-1])):
        raise FormatError("ArrayFeatureExtractor index out of range", location=node.where)
    return [_from_array(np.take(arr, ind, axis=-1), x.etype)]


@handles("FeatureVectorizer", domain=ML)
def _feature_vectorizer(r: _Reader, node: NodeView, args: list[Any]) -> list[Any]:
    dims = node.ints("inputdimensions")
    pieces = [r.numeric_cols(a) for a in args]
    if dims is None or len(dims) != len(pieces):
        raise FormatError("inputdimensions must give one size per input", location=node.where)
    names: list[str] = []
    for p, d in zip(pieces, dims.tolist()):
        if len(p.names) != d:
            raise Unplaced(f"FeatureVectorizer input with {len(p.names)} columns declared as {d}")
        names.extend(p.names)
    return [Cols(tuple(names), (len(names),), "float")]
