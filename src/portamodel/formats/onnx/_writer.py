"""IR model -> ONNX ModelProto.

The graph takes the model inputs (numeric fields in one ``X`` tensor of shape [N, F], double; a
``X_float32`` float tensor for ``dtype="float"`` fields when both kinds exist; one [N, 1] string
tensor per text field), computes in double (a ``compute_dtype="float32"`` MLP in float, between a
cast of its features to float and a cast of its outputs to double), and outputs ``variable`` [N, 1] (regression) or
``label`` [N] and ``probabilities`` [N, K] (classification).

The IR model itself is embedded (portamodel's JSON format) in ``metadata_props``; the reader uses
it only when writing it again gives exactly the graph in the file.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ... import __version__
from ...diagnostics import OnLoss, check_on_loss, report_loss
from ...errors import PortamodelError
from ...ir import MLP, LinearModel, Model, TreeEnsemble
from ._builder import GraphBuilder
from ._meta import META_INPUTS, META_TARGET, metadata_to_props
from ._write_math import activation, normalization
from ._write_steps import ColumnWriter
from ._write_trees import write_trees

__all__ = ["META_IR", "META_WRITER", "build_model_proto", "write_model"]

META_IR = "portamodel.ir"
META_WRITER = "portamodel.writer"
OPSET = 17


def write_model(model: Model, *, on_loss: OnLoss = "warn", tree_opset: int = 3, embed_ir: bool = True, **options: Any) -> bytes:
    """Serialize ``model`` as ONNX bytes.

    ``tree_opset``: 3 writes TreeEnsembleRegressor (ai.onnx.ml 3, double thresholds, float32
    scores), 5 writes TreeEnsemble (ai.onnx.ml 5, double throughout), 1 writes float attributes
    only (ai.onnx.ml 1: float32 comparisons with thresholds rounded to keep float32 decisions). ``on_loss`` says what to do
    when the graph cannot reproduce something exactly (see :mod:`portamodel.diagnostics`).
    ``embed_ir`` stores the IR in the file so that reading it back gives the same model.
    """
    if options:
        raise PortamodelError(f"unknown option(s) for the onnx writer: {', '.join(sorted(options))}")
    check_on_loss(on_loss)
    if tree_opset not in (1, 3, 5):
        raise PortamodelError(f"tree_opset must be 1, 3 or 5, got {tree_opset!r}")
    if not isinstance(model, Model):
        raise PortamodelError(f"expected a portamodel.Model, got {type(model).__name__}")
    proto = build_model_proto(model, on_loss=on_loss, tree_opset=tree_opset)
    if embed_ir:
        from ..json import write as write_json

        props = {META_IR: write_json(model).decode("utf-8")}
        for k, v in props.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = k, v
    return bytes(proto.SerializeToString())


def build_model_proto(model: Model, *, on_loss: OnLoss, tree_opset: int) -> Any:
    """The ModelProto for ``model`` (without the embedded IR)."""
    b = GraphBuilder(reserved={"label", "probabilities", "variable"})
    onnx = b.onnx
    w = ColumnWriter(b, on_loss)
    w.add_inputs(model.inputs)
    for i, step in enumerate(model.steps):
        w.step(step, i)
    est = model.estimator
    x = w.matrix(est.features, "Model.estimator", "features")
    if isinstance(est, LinearModel):
        scores = b.op("MatMul", [x, b.const(np.ascontiguousarray(est.coefficients.T), "coefficients")])
        scores = b.op("Add", [scores, b.const(est.intercepts, "intercepts")], "scores")
        out = normalization(b, est.normalization, scores)
    elif isinstance(est, MLP):
        out = _mlp(b, est, x)
    elif isinstance(est, TreeEnsemble):
        scores = write_trees(b, est, x, tree_opset=tree_opset, on_loss=on_loss)
        out = normalization(b, est.post_transform, scores)
    else:  # pragma: no cover - the IR refuses other estimators
        raise PortamodelError(f"unknown estimator {type(est).__name__}")
    outputs = _head(b, model, out, on_loss)
    graph = onnx.helper.make_graph(b.nodes, model.metadata.name or "portamodel", w.inputs, outputs, b.initializers)
    opset = 19 if w.needs_opset19 else OPSET
    opsets = [onnx.helper.make_opsetid("", opset)]
    if b.ml_ops:
        ml = {1: 2 if "LabelEncoder" in b.ml_ops else 1, 3: 3, 5: 5}[tree_opset]
        opsets.append(onnx.helper.make_opsetid("ai.onnx.ml", ml))
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="portamodel", producer_version=__version__)
    proto.ir_version = max(8, onnx.helper.find_min_ir_version_for(opsets))
    if model.metadata.description:
        proto.doc_string = model.metadata.description
    if model.metadata.version.isdigit():
        proto.model_version = int(model.metadata.version)
    props = metadata_to_props(model.metadata)
    props[META_INPUTS] = json.dumps(
        [
            {
                "tensor": tensor,
                "fields": [{"name": f.name, "dtype": f.dtype, "optype": f.optype, "values": list(f.values)} for f in fields],
            }
            for tensor, fields in w.input_fields
        ],
        ensure_ascii=False,
    )
    props[META_TARGET] = json.dumps({"name": model.target.name}, ensure_ascii=False)
    props[META_WRITER] = json.dumps({"tree_opset": tree_opset})
    for k, v in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    return proto


def _mlp(b: GraphBuilder, est: MLP, x: str) -> str:
    """MatMul + Add + activation per layer, in double; a ``compute_dtype="float32"`` network casts
    its features to float, holds float32 weights and biases (the IR's rounded to nearest, which the
    evaluator uses too), computes in float ops and casts its outputs back to double."""
    tp = b.onnx.TensorProto
    f32 = est.compute_dtype == "float32"
    dtype = np.float32 if f32 else np.float64
    h = b.op("Cast", [x], "features_float32", to=tp.FLOAT) if f32 else x
    with np.errstate(over="ignore"):  # weights beyond float32's range are +-inf in float32, in the evaluator too
        for j, layer in enumerate(est.layers):
            h = b.op("MatMul", [h, b.const(layer.weights.astype(dtype), f"weights{j}")])
            h = b.op("Add", [h, b.const(layer.biases.astype(dtype), f"biases{j}")], f"layer{j}")
            h = activation(b, layer.activation, h, layer.alpha, dtype=dtype)
    return b.op("Cast", [h], "outputs", to=tp.DOUBLE) if f32 else h  # type: ignore[no-any-return]


def _head(b: GraphBuilder, model: Model, out: str, on_loss: OnLoss) -> list[Any]:
    onnx = b.onnx
    mk = onnx.helper.make_tensor_value_info
    if model.task == "regression":
        b.op("Identity", [out], name="variable")
        return [mk("variable", onnx.TensorProto.DOUBLE, [None, 1])]
    classes = model.classes
    K = len(classes)
    if model.estimator.n_outputs == 1:
        neg = b.op("Sub", [b.const(np.array(1.0)), out], "negative_class")
        proba = b.op("Concat", [neg, out], name="probabilities", axis=1)
    else:
        proba = b.op("Identity", [out], name="probabilities")
    idx = b.op("ArgMax", [proba], "argmax", axis=1, keepdims=0)
    table, etype = _label_table(classes, on_loss)
    label = b.op("Gather", [b.const(table, "classes"), idx], name="label", axis=0)
    return [mk(label, etype, [None]), mk(proba, onnx.TensorProto.DOUBLE, [None, K])]


def _label_table(classes: tuple[Any, ...], on_loss: OnLoss) -> tuple[np.ndarray, int]:
    from ._deps import onnx_module

    tp = onnx_module().TensorProto
    if all(isinstance(c, bool) for c in classes):
        return np.array(classes, dtype=np.bool_), tp.BOOL
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        if all(-(2**63) <= c < 2**63 for c in classes):
            return np.array(classes, dtype=np.int64), tp.INT64
    elif all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes):
        return np.array(classes, dtype=np.float64), tp.DOUBLE
    if not all(isinstance(c, str) for c in classes):
        report_loss("class labels of mixed types are written as text", on_loss=on_loss, location="Model.target.classes")
        texts = [str(c) for c in classes]
        if len(set(texts)) != len(texts):
            raise PortamodelError("class labels become equal as text", location="Model.target.classes")
    table = np.empty(len(classes), dtype=object)
    table[:] = [str(c) for c in classes]
    return table, tp.STRING
