"""Write a :class:`~portamodel.ir.Model` as PMML 4.4.

Layout: ``Header`` (portamodel as Application; the model's metadata in ``Extension`` elements),
``DataDictionary`` (inputs, then the target), ``TransformationDictionary`` (one DerivedField per
step output), then one model element:

- LinearModel -> ``RegressionModel`` (every link PMML's RegressionModel can express the way JPMML
  evaluates it); element-wise links over several outputs -> a one-layer ``NeuralNetwork``.
- MLP -> ``NeuralNetwork`` (leaky ReLU expanded exactly into ReLU units, softmax as the layer's
  normalizationMethod, a binary single output as ``[1 - p, p]``; ``compute_dtype="float32"`` as
  JPMML's ``x-mathContext="float"`` with ``jpmml_extensions``, else a reported loss).
- TreeEnsemble -> ``TreeModel`` / ``MiningModel`` (see ``_write_trees``).

Everything validates against the PMML 4.4 XSD. What PMML cannot say exactly is reported through
:func:`portamodel.diagnostics.report_loss` (``on_loss``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...diagnostics import OnLoss, check_on_loss, report_loss
from ...errors import PortamodelError
from ...ir import MLP, Affine, Constant, Derive, FieldRef, Impute, LinearModel, Lookup, Model, OneHot, TreeEnsemble
from ...ir.transforms import Expression
from ._xmlout import XmlOut, num

__all__ = ["Writer", "write_pmml"]

PMML_NS = "http://www.dmg.org/PMML-4_4"
DATA_NS = "http://jpmml.org/jpmml-model/InlineTable"

_BINOMIAL = {"logistic": "logit", "probit": "probit", "cloglog": "cloglog", "loglog": "loglog", "cauchit": "cauchit"}
_REGRESSION = {"identity": "none", "exp": "exp", **_BINOMIAL}
_NN_ACT = {
    "identity": "identity", "relu": "rectifier", "tanh": "tanh", "logistic": "logistic", "exp": "exponential",
    "reciprocal": "reciprocal", "square": "square", "gauss": "Gauss", "sine": "sine", "cosine": "cosine",
    "elliott": "Elliott", "arctan": "arctan",
}  # fmt: skip
_ONE = '<Constant dataType="double">1</Constant>'
_ZERO = '<Constant dataType="double">0</Constant>'
_MISSING = '<Constant missing="true"/>'
_PASS_MISSING = {"+", "-", "*", "/", "modulo", "min", "max", "sum", "avg", "product"}
_BOOLEAN_FUNCTIONS = {
    "isMissing", "isNotMissing", "equal", "notEqual", "lessThan", "lessOrEqual", "greaterThan", "greaterOrEqual",
    "and", "or", "not", "isIn", "isNotIn",
}  # fmt: skip


def write_pmml(model: Model, *, on_loss: OnLoss = "warn", indent: bool = True, jpmml_extensions: bool = False, **options: Any) -> bytes:
    """Serialize ``model`` as PMML 4.4 bytes (UTF-8).

    ``indent`` pretty-prints with tabs; ``jpmml_extensions=True`` writes JPMML's
    ``x-mathContext="float"`` for float32 tree accumulation and float32 networks (not in the 4.4
    XSD; without it that detail is reported as a loss).
    """
    if options:
        raise PortamodelError(f"unknown option(s) for the PMML writer: {', '.join(sorted(options))}")
    check_on_loss(on_loss)
    if not isinstance(model, Model):
        raise PortamodelError(f"expected a portamodel.Model, got {type(model).__name__}")
    w = Writer(model, on_loss=on_loss, indent=indent, jpmml_extensions=jpmml_extensions)
    return w.document().encode("utf-8")


class Writer:
    """State of one PMML document being written."""

    def __init__(self, model: Model, *, on_loss: OnLoss, indent: bool, jpmml_extensions: bool) -> None:
        self.model = model
        self.on_loss = on_loss
        self.indent = indent
        self.extensions = jpmml_extensions
        self.x = XmlOut(indent)
        self.names: set[str] = {f.name for f in model.inputs}
        for step in model.steps:
            self.names.update(_outputs(step))
        self.target = self._fresh(model.target.name) if model.target.name in self.names else model.target.name
        self.names.add(self.target)
        self.kinds: dict[str, str] = {f.name: ("string" if f.dtype == "string" else "number") for f in model.inputs}
        self.floats: set[str] = {f.name for f in model.inputs if f.dtype == "float"}
        self.pending_local: list[tuple[str, str]] = []
        self.hoisted: list[tuple[str, str, str]] = []
        self.pending_reads: list[str] = []
        for step in model.steps:
            for o, k in zip(_outputs(step), _output_kinds(step, self.kinds)):
                self.kinds[o] = k

    def loss(self, message: str, where: str) -> None:
        report_loss(message, on_loss=self.on_loss, location=where)

    def _fresh(self, base: str) -> str:
        name, i = base, 1
        while name in self.names:
            i += 1
            name = f"{base}#{i}"
        self.names.add(name)
        return name

    fresh = _fresh

    # -- document -------------------------------------------------------------------------------
    def document(self) -> str:
        x = self.x
        m = self.model
        x.raw('<?xml version="1.0" encoding="UTF-8"?>\n')
        x.open("PMML", {"xmlns": PMML_NS, "version": "4.4"})
        self._header()
        self._data_dictionary()
        extra_defs = self._float_views()
        if m.steps or extra_defs:
            x.open("TransformationDictionary")
            for step in m.steps:
                self._step(step)
            for name, src in extra_defs:
                x.open("DerivedField", {"name": name, "optype": "continuous", "dataType": "float"})
                x.leaf("FieldRef", {"field": src})
                x.close("DerivedField")
            x.close("TransformationDictionary")
        est = m.estimator
        if isinstance(est, LinearModel):
            self._linear(est)
        elif isinstance(est, MLP):
            self._mlp(est)
        else:
            from ._write_trees import write_ensemble

            write_ensemble(self, est)
        x.close("PMML")
        return x.text()

    def _header(self) -> None:
        from ... import __version__

        md = self.model.metadata
        x = self.x
        attrs: dict[str, Any] = {}
        if md.description:
            attrs["description"] = md.description
        if md.extra.get("copyright"):
            attrs["copyright"] = md.extra["copyright"]
        if md.version:
            attrs["modelVersion"] = md.version
        x.open("Header", attrs)
        items = [("name", md.name), ("producer", md.producer), ("producer_version", md.producer_version), ("created", md.created)]
        items += [(f"extra.{k}", v) for k, v in md.extra.items() if k != "copyright"]
        for key, value in items:
            if value:
                x.leaf("Extension", {"extender": "portamodel", "name": key, "value": value})
        x.leaf("Application", {"name": "portamodel", "version": __version__})
        x.close("Header")

    def _data_dictionary(self) -> None:
        m = self.model
        x = self.x
        x.open("DataDictionary", {"numberOfFields": str(len(m.inputs) + 1)})
        for f in m.inputs:
            dtype = f.dtype
            optype = f.optype
            if optype == "continuous" and dtype == "boolean":
                optype = "categorical"
            attrs = {"name": f.name, "optype": optype, "dataType": dtype}
            if f.values and f.optype != "continuous":
                x.open("DataField", attrs)
                for v in f.values:
                    x.leaf("Value", {"value": _value_text(v)})
                x.close("DataField")
            else:
                x.leaf("DataField", attrs)
        t = m.target
        if t.task == "regression":
            x.leaf("DataField", {"name": self.target, "optype": "continuous", "dataType": "double"})
        else:
            x.open("DataField", {"name": self.target, "optype": "categorical", "dataType": _class_type(t.classes)})
            for c in t.classes:
                x.leaf("Value", {"value": _value_text(c)})
            x.close("DataField")
        x.close("DataDictionary")

    def _float_views(self) -> list[tuple[str, str]]:
        """Float32 views of columns a float32 tree ensemble compares (``input_dtype="float32"``)."""
        est = self.model.estimator
        self.view: dict[str, str] = {}
        out: list[tuple[str, str]] = []
        if isinstance(est, TreeEnsemble) and est.input_dtype == "float32":
            used = set(np.unique(est.feature[est.feature >= 0]).tolist())
            for k, col in enumerate(est.features):
                if k in used and col not in self.floats:
                    name = self._fresh(f"float({col})")
                    self.view[col] = name
                    self.floats.add(name)
                    out.append((name, col))
        return out

    def mining_schema(self, *, target: bool = True, active: list[str] | None = None) -> None:
        x = self.x
        x.open("MiningSchema")
        if target:
            x.leaf("MiningField", {"name": self.target, "usageType": "target"})
        for f in self.model.inputs:
            attrs: dict[str, Any] = {"name": f.name}
            if f.values and f.optype != "continuous":
                attrs["invalidValueTreatment"] = {"error": None, "as_missing": "asMissing", "as_is": "asIs"}[f.invalid]
            x.leaf("MiningField", attrs)
        for name in active or []:
            x.leaf("MiningField", {"name": name})
        x.close("MiningSchema")

    def probability_output(self) -> None:
        x = self.x
        x.open("Output")
        for c in self.model.target.classes:
            text = _value_text(c)
            x.leaf(
                "OutputField",
                {"name": f"probability({text})", "optype": "continuous", "dataType": "double", "feature": "probability", "value": text},
            )
        x.close("Output")

    # -- steps ----------------------------------------------------------------------------------
    def _step(self, step: Any) -> None:
        x = self.x
        where = f"step {type(step).__name__}"
        if isinstance(step, Affine):
            for j, (i, o) in enumerate(zip(step.inputs, step.outputs)):
                x.open("DerivedField", {"name": o, "optype": "continuous", "dataType": "double"})
                inner = (
                    f'<Apply function="-"><FieldRef field="{_q(i)}"/><Constant dataType="double">{num(step.offset[j])}</Constant></Apply>'
                )
                scale = f'<Constant dataType="double">{num(step.scale[j])}</Constant>'
                body = f'<Apply function="{"/" if step.divide else "*"}">{inner}{scale}</Apply>'
                shift = step.shift[j] if step.shift is not None else 0.0
                if shift != 0.0:
                    body = f'<Apply function="+">{body}<Constant dataType="double">{num(shift)}</Constant></Apply>'
                self._raw_line(body)
                x.close("DerivedField")
        elif isinstance(step, Impute):
            for i, o, v in zip(step.inputs, step.outputs, step.values):
                kind = self.kinds[o]
                x.open(
                    "DerivedField",
                    {
                        "name": o,
                        "optype": "categorical" if kind == "string" else "continuous",
                        "dataType": "string" if kind == "string" else "double",
                    },
                )
                x.leaf("FieldRef", {"field": i, "mapMissingTo": _value_text(v)})
                x.close("DerivedField")
        elif isinstance(step, OneHot):
            if step.unknown == "error":
                self.loss("OneHot unknown='error': PMML's NormDiscrete gives 0 for an unknown category instead of an error", where)
            for cat, o in zip(step.categories, step.outputs):
                x.open("DerivedField", {"name": o, "optype": "continuous", "dataType": "double"})
                attrs = {"field": step.input, "value": _value_text(cat)}
                if step.missing == "zeros":
                    attrs["mapMissingTo"] = "0"
                x.leaf("NormDiscrete", attrs)
                x.close("DerivedField")
        elif isinstance(step, Lookup):
            self._lookup(step, where)
        elif isinstance(step, Derive):
            optype, dtype = ("categorical", "string") if step.dtype == "string" else ("continuous", "double")
            self.hoisted = []
            xml = self.expression(step.expression, "string" if step.dtype == "string" else "number")
            for name, kind, sub in self.hoisted:  # named sub-expressions come first
                ot, dt = {"number": ("continuous", "double"), "string": ("categorical", "string"), "boolean": ("categorical", "boolean")}[
                    kind
                ]
                x.open("DerivedField", {"name": name, "optype": ot, "dataType": dt})
                self._raw_line(sub)
                x.close("DerivedField")
            x.open("DerivedField", {"name": step.output, "optype": optype, "dataType": dtype})
            self._raw_line(xml)
            x.close("DerivedField")
        else:  # pragma: no cover - the IR has no other steps
            raise PortamodelError(f"unknown step {type(step).__name__}")

    def _raw_line(self, xml: str) -> None:
        pad = "\t" * self.x.depth if self.indent else ""
        self.x.raw(f"{pad}{xml}\n" if self.indent else xml)

    def _lookup(self, step: Lookup, where: str) -> None:
        x = self.x
        if step.unknown == "error":
            self.loss("Lookup unknown='error': PMML's MapValues gives the default value instead of an error", where)
        out_string = self.kinds[step.output] == "string"
        attrs: dict[str, Any] = {
            "name": step.output,
            "optype": "categorical" if out_string else "continuous",
            "dataType": "string" if out_string else "double",
        }
        x.open("DerivedField", attrs)
        mv: dict[str, Any] = {"outputColumn": "output", "dataType": "string" if out_string else "double"}
        if step.missing is not None:
            mv["mapMissingTo"] = _value_text(step.missing)
        if step.default is not None:
            mv["defaultValue"] = _value_text(step.default)
        x.open("MapValues", mv)
        x.leaf("FieldColumnPair", {"field": step.input, "column": "input"})
        x.open("InlineTable")
        for k, v in zip(step.keys, step.values):
            self._raw_line(f"<row><input>{_q(_value_text(k))}</input><output>{_q(_value_text(v))}</output></row>")
        x.close("InlineTable")
        x.close("MapValues")
        x.close("DerivedField")

    # JPMML refuses a missing argument in most functions (where the IR gives a missing result):
    # arguments that may be missing are first given names (DerivedFields) and each call is guarded
    # by ``if(isMissing(arg), missing, f(...))``. Arithmetic passes missing values on and the
    # aggregates skip them in both, so those are written as they are.
    def expression(self, e: Expression, want: str) -> str:
        """XML of ``e`` as a ``want`` value ("number", "boolean", "string" or "any")."""
        kind = self._kind(e)
        if want == "number" and kind == "boolean":
            ref = self._ref(e, "boolean")
            return self._guard([ref], f'<Apply function="if">{ref}{_ONE}{_ZERO}</Apply>')
        if want == "boolean" and kind == "number":
            ref = self._ref(e, "number")
            return self._guard([ref], f'<Apply function="notEqual">{ref}{_ZERO}</Apply>')
        return self._expr(e)

    def _kind(self, e: Expression) -> str:
        if isinstance(e, Constant):
            return "string" if isinstance(e.value, str) else "number"
        if isinstance(e, FieldRef):
            return self.kinds.get(e.name, "number")
        if e.function in _BOOLEAN_FUNCTIONS:
            return "boolean"
        if e.function == "if":
            kinds = {self._kind(a) for a in e.args[1:] if not (isinstance(a, Constant) and a.value is None)}
            return "string" if "string" in kinds else "boolean" if kinds == {"boolean"} else "number"
        return "number"

    def _expr(self, e: Expression) -> str:
        if isinstance(e, Constant):
            v = e.value
            if v is None:
                return _MISSING
            if isinstance(v, bool):
                v = 1.0 if v else 0.0
            if isinstance(v, str):
                return f'<Constant dataType="string">{_q(v)}</Constant>'
            return f'<Constant dataType="double">{num(v)}</Constant>'
        if isinstance(e, FieldRef):
            return f'<FieldRef field="{_q(e.name)}"/>'
        fn = e.function
        if fn in ("isMissing", "isNotMissing"):
            return f'<Apply function="{fn}">{self._expr(e.args[0])}</Apply>'
        if fn in _PASS_MISSING:
            return f'<Apply function="{fn}">{"".join(self.expression(a, "number") for a in e.args)}</Apply>'
        if fn == "if":
            cond = self._ref(e.args[0], "boolean")
            kind = self._kind(e)
            branches = "".join(self.expression(a, kind) for a in e.args[1:])
            return self._guard([cond], f'<Apply function="if">{cond}{branches}</Apply>')
        if fn in ("and", "or", "not"):
            refs = [self._ref(a, "boolean") for a in e.args]
        elif fn == "threshold":
            refs = [self._ref(a, "number") for a in e.args]
            return self._guard(refs, f'<Apply function="greaterThan">{"".join(refs)}</Apply>')
        elif fn in _BOOLEAN_FUNCTIONS:
            refs = [self._ref(a, self._kind(a)) for a in e.args]
        else:
            refs = [self._ref(a, "number") for a in e.args]
        if _MISSING in refs:
            return _MISSING
        return self._guard(refs, f'<Apply function="{fn}">{"".join(refs)}</Apply>')

    def _ref(self, e: Expression, kind: str) -> str:
        """A FieldRef (or Constant) standing for ``e`` as a ``kind`` value."""
        if isinstance(e, Constant):
            return self._expr(e) if kind != "boolean" or e.value is None else self.expression(e, "boolean")
        if isinstance(e, FieldRef) and (kind != "boolean" or self.kinds.get(e.name) == "boolean"):
            return self._expr(e)
        if isinstance(e, FieldRef) and kind == "boolean":
            pass  # a number used as a condition: name the comparison below
        xml = self.expression(e, kind)
        name = self._fresh("expr")
        self.hoisted.append((name, kind, xml))
        if kind == "boolean":
            self.kinds[name] = "boolean"
        return f'<FieldRef field="{_q(name)}"/>'

    @staticmethod
    def _guard(refs: list[str], core: str) -> str:
        tests = [f'<Apply function="isMissing">{r}</Apply>' for r in refs if r.startswith("<FieldRef")]
        if not tests:
            return core
        cond = tests[0] if len(tests) == 1 else f'<Apply function="or">{"".join(tests)}</Apply>'
        return f'<Apply function="if">{cond}{_MISSING}{core}</Apply>'

    # -- linear models ------------------------------------------------------------------------------
    def _linear(self, est: LinearModel) -> None:
        t = self.model.target
        norm = est.normalization
        where = "LinearModel"
        if t.task == "regression":
            self._regression_model(est.coefficients, est.intercepts, est.features, _REGRESSION[norm], "regression")
            return
        k = est.n_outputs
        if k == 1 and norm in _BINOMIAL:
            self._regression_model(est.coefficients, est.intercepts, est.features, _BINOMIAL[norm], "classification")
            return
        if k > 1 and norm in ("softmax", "simplemax", "softmax_zero"):
            if norm == "softmax_zero":
                self.loss("softmax_zero (ONNX) is written as softmax: scores within 1e-7 of zero get a different probability", where)
                norm = "softmax"
            self._regression_model(est.coefficients, est.intercepts, est.features, norm, "classification")
            return
        if norm in ("logistic", "identity", "exp"):
            # element-wise links: a one-layer network computes each output on its own
            layer_w = est.coefficients.T
            self._mlp_document(list(est.features), [(layer_w, est.intercepts, norm, 0.01)])
            return
        # probit / cloglog / loglog / cauchit on several outputs: no PMML model applies them element-wise
        self.loss(f"{norm} on {k} separate outputs has no PMML form; written with a logistic link", where)
        self._mlp_document(list(est.features), [(est.coefficients.T, est.intercepts, "logistic", 0.01)])

    def _regression_model(self, coef: Any, icpt: Any, features: Any, norm: str, fn: str) -> None:
        x = self.x
        attrs: dict[str, Any] = {"functionName": fn}
        if self.model.metadata.name:
            attrs["modelName"] = self.model.metadata.name
        if norm != "none":
            attrs["normalizationMethod"] = norm
        x.open("RegressionModel", attrs)
        self.mining_schema()
        if fn == "classification":
            self.probability_output()
        classes = self.model.target.classes
        rows: list[tuple[Any, Any, Any]]
        if fn == "regression":
            rows = [(None, coef[0], icpt[0])]
        elif coef.shape[0] == 1:  # binomial: the first table is P(classes[1]); the second is the rest
            rows = [(classes[1], coef[0], icpt[0]), (classes[0], None, 0.0)]
        else:
            rows = [(classes[j], coef[j], icpt[j]) for j in range(coef.shape[0])]
        for cat, c, b in rows:
            ta: dict[str, Any] = {"intercept": num(b)}
            if cat is not None:
                ta["targetCategory"] = _value_text(cat)
            if c is None:
                x.leaf("RegressionTable", ta)
                continue
            x.open("RegressionTable", ta)
            for name, v in zip(features, c):
                x.leaf("NumericPredictor", {"name": name, "coefficient": num(v)})
            x.close("RegressionTable")
        x.close("RegressionModel")

    # -- networks ---------------------------------------------------------------------------------
    def _mlp(self, est: MLP) -> None:
        layers = [(L.weights, L.biases, L.activation, L.alpha) for L in est.layers]
        float32 = est.compute_dtype == "float32"
        if float32 and not self.extensions:
            self.loss("float32 arithmetic is written as double (PMML 4.4 cannot say it; jpmml_extensions=True writes x-mathContext)", "MLP")
        self._mlp_document(list(est.features), layers, float32=float32 and self.extensions)

    def _mlp_document(self, features: list[str], layers: Any, *, float32: bool = False) -> None:
        """NeuralNetwork over ``features`` with dense ``layers`` (weights (n_in, n_out), biases, activation);
        ``float32``: JPMML's ``x-mathContext="float"`` (float32 arithmetic)."""
        t = self.model.target
        layers = _expand_leaky(list(layers))
        # the classification output: a binary single probability p becomes [1 - p, p]
        if t.task == "classification" and layers[-1][0].shape[1] == 1:
            layers.append((np.array([[-1.0, 1.0]]), np.array([1.0, 0.0]), "identity", 0.01))
        x = self.x
        attrs: dict[str, Any] = {"functionName": t.task, "activationFunction": "identity"}
        if self.model.metadata.name:
            attrs["modelName"] = self.model.metadata.name
        if float32:
            attrs["x-mathContext"] = "float"
        x.open("NeuralNetwork", attrs)
        self.mining_schema()
        if t.task == "classification":
            self.probability_output()
        x.open("NeuralInputs", {"numberOfInputs": str(len(features))})
        ids = []
        for i, f in enumerate(features):
            nid = f"in{i}"
            ids.append(nid)
            x.open("NeuralInput", {"id": nid})
            x.open("DerivedField", {"optype": "continuous", "dataType": "double"})
            x.leaf("FieldRef", {"field": f})
            x.close("DerivedField")
            x.close("NeuralInput")
        x.close("NeuralInputs")
        for li, (W, b, act, _alpha) in enumerate(layers):
            la: dict[str, Any] = {"numberOfNeurons": str(W.shape[1])}
            if act in ("softmax", "simplemax"):
                la["activationFunction"] = "identity"
                la["normalizationMethod"] = act
            else:
                la["activationFunction"] = _NN_ACT[act]
            x.open("NeuralLayer", la)
            new_ids = []
            for j in range(W.shape[1]):
                nid = f"{li + 1}/{j + 1}"
                new_ids.append(nid)
                x.open("Neuron", {"id": nid, "bias": num(b[j])})
                pad = "\t" * x.depth if self.indent else ""
                nl = "\n" if self.indent else ""
                x.raw("".join(f'{pad}<Con from="{ids[i]}" weight="{num(W[i, j])}"/>{nl}' for i in range(W.shape[0])))
                x.close("Neuron")
            x.close("NeuralLayer")
            ids = new_ids
        x.open("NeuralOutputs", {"numberOfOutputs": str(len(ids))})
        for j, nid in enumerate(ids):
            x.open("NeuralOutput", {"outputNeuron": nid})
            if t.task == "regression":
                x.open("DerivedField", {"optype": "continuous", "dataType": "double"})
                x.leaf("FieldRef", {"field": self.target})
            else:
                x.open("DerivedField", {"optype": "categorical", "dataType": _class_type(t.classes)})
                x.leaf("NormDiscrete", {"field": self.target, "value": _value_text(t.classes[j])})
            x.close("DerivedField")
            x.close("NeuralOutput")
        x.close("NeuralOutputs")
        x.close("NeuralNetwork")


# -- helpers -------------------------------------------------------------------------------------


def _expand_leaky(layers: list[tuple[Any, Any, str, float]]) -> list[tuple[Any, Any, str, float]]:
    """leaky_relu(z) = relu(z) - alpha * relu(-z): twice the units, the next layer recombines them."""
    out = list(layers)
    i = 0
    while i < len(out):
        W, b, act, alpha = out[i]
        if act != "leaky_relu":
            i += 1
            continue
        n = W.shape[1]
        out[i] = (np.hstack([W, -W]), np.concatenate([b, -b]), "relu", 0.01)
        if i + 1 < len(out):
            W2, b2, act2, a2 = out[i + 1]
            out[i + 1] = (np.vstack([W2, -alpha * W2]), b2, act2, a2)
        else:
            out.append((np.vstack([np.eye(n), -alpha * np.eye(n)]), np.zeros(n), "identity", 0.01))
        i += 1
    return out


def _bool_to_number(xml: str) -> str:
    return f'<Apply function="if">{xml}<Constant dataType="double">1</Constant><Constant dataType="double">0</Constant></Apply>'


def _q(text: str) -> str:
    from ._xmlout import esc

    return esc(text)


def _value_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return num(v)
    return str(v)


def _class_type(classes: tuple[Any, ...]) -> str:
    if all(isinstance(c, bool) for c in classes):
        return "boolean"
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return "integer"
    if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes):
        return "double"
    return "string"


def _outputs(step: Any) -> tuple[str, ...]:
    from ...ir import step_outputs

    return step_outputs(step)


def _output_kinds(step: Any, kinds: dict[str, str]) -> list[str]:
    if isinstance(step, Impute):
        return ["string" if isinstance(v, str) else kinds.get(i, "number") for i, v in zip(step.inputs, step.values)]
    if isinstance(step, Lookup):
        outs = [v for v in (*step.values, step.default, step.missing) if v is not None]
        return ["string" if any(isinstance(v, str) for v in outs) else "number"]
    if isinstance(step, Derive):
        return ["string" if step.dtype == "string" else "number"]
    return ["number"] * len(_outputs(step))
