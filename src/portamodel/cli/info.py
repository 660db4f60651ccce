"""``portamodel info FILE``: what a model is (format, family, inputs, outputs, size, steps, metadata).

>>> from portamodel.ir import Field, LinearModel, Model, Target
>>> model = Model(
...     inputs=(Field(name="x"),),
...     target=Target(name="y", task="regression"),
...     estimator=LinearModel(features=("x",), coefficients=[[2.0]], intercepts=[1.0]),
... )
>>> describe(model)["size"]
{'features': 1, 'outputs': 1, 'coefficients': 1, 'normalization': 'identity'}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..ir import MLP, Affine, Constant, Derive, Expression, FieldRef, Impute, LinearModel, Lookup, Model, OneHot, Step, TreeEnsemble
from ._common import FORMAT_CHOICES, add_read_option, options, read_model_bytes

__all__ = ["describe", "register", "run"]

MAX_STEPS_SHOWN = 20

HELP = "describe a model: format, family, inputs, outputs, size, preprocessing, metadata"
EPILOG = """\
examples:
  portamodel info examples/iris_forest.json
  portamodel info --json model.pmml > model-info.json
  cat model.onnx | portamodel info -"""


def register(sub: Any, **kwargs: Any) -> None:
    p = sub.add_parser(
        "info",
        help=HELP,
        description="Describe a model: its format, model family and task, the input fields with their\n"
        "types, the outputs or class labels, its size (trees, nodes and depth, or layers and weights),\n"
        "its preprocessing steps and its metadata.",
        epilog=EPILOG,
        **kwargs,
    )
    p.add_argument("file", metavar="FILE", help="model file (.json, .pmml, .xml, .onnx, optionally .gz); '-' reads stdin")
    p.add_argument("--format", choices=FORMAT_CHOICES, help="read FILE as this format instead of guessing from its name and content")
    p.add_argument("--json", action="store_true", help="print the description as JSON (for scripts)")
    add_read_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import portamodel

    from ..formats import format_for

    source, label = read_model_bytes(args.file)
    if isinstance(source, Path):
        with source.open("rb") as fh:
            head = fh.read(512)
        size = source.stat().st_size
        fmt = format_for(format=args.format, path=source, head=head)
    else:
        size = len(source)
        fmt = format_for(format=args.format, head=source[:512])
    model = portamodel.load(source, format=fmt, **options(args.read_options))
    desc = {"file": label, "format": fmt, "file_size": size, **describe(model)}
    if args.json:
        json.dump(desc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(desc))
    return 0


def describe(model: Model) -> dict[str, Any]:
    """A JSON-ready description of ``model`` (everything but the numbers themselves)."""
    est = model.estimator
    return {
        "family": model.family,
        "estimator": type(est).__name__,
        "task": model.task,
        "target": model.target.name,
        "classes": list(model.classes),
        "outputs": est.n_outputs,
        "inputs": [
            {"name": f.name, "dtype": f.dtype, "optype": f.optype, "values": list(f.values), "invalid": f.invalid} for f in model.inputs
        ],
        "features": list(est.features),
        "size": _size(est),
        "steps": [_step(s) for s in model.steps],
        "metadata": {
            k: v
            for k, v in (
                ("name", model.metadata.name),
                ("description", model.metadata.description),
                ("producer", model.metadata.producer),
                ("producer_version", model.metadata.producer_version),
                ("version", model.metadata.version),
                ("created", model.metadata.created),
            )
            if v
        }
        | ({"extra": dict(model.metadata.extra)} if model.metadata.extra else {}),
    }


def _size(est: LinearModel | TreeEnsemble | MLP) -> dict[str, Any]:
    if isinstance(est, TreeEnsemble):
        leaves = int((est.feature < 0).sum())
        return {
            "features": len(est.features),
            "outputs": est.n_outputs,
            "trees": est.n_trees,
            "nodes": est.n_nodes,
            "leaves": leaves,
            "max_depth": est.max_depth,
            "aggregation": est.aggregation,
            "post_transform": est.post_transform,
            "input_dtype": est.input_dtype,
            "accumulate_dtype": est.accumulate_dtype,
        }
    if isinstance(est, MLP):
        layers = [
            {"inputs": int(layer.weights.shape[0]), "outputs": int(layer.weights.shape[1]), "activation": layer.activation}
            for layer in est.layers
        ]
        weights = sum(int(layer.weights.size + layer.biases.size) for layer in est.layers)
        size = {"features": len(est.features), "outputs": est.n_outputs, "layers": layers, "weights": weights}
        return size | {"compute_dtype": est.compute_dtype}
    return {
        "features": len(est.features),
        "outputs": est.n_outputs,
        "coefficients": int(est.coefficients.size),
        "normalization": est.normalization,
    }


def _step(step: Step) -> dict[str, Any]:
    kind = type(step).__name__
    if isinstance(step, Affine):
        return {"kind": kind, "inputs": list(step.inputs), "outputs": list(step.outputs), "divide": step.divide}
    if isinstance(step, Impute):
        return {"kind": kind, "inputs": list(step.inputs), "outputs": list(step.outputs), "values": list(step.values)}
    if isinstance(step, OneHot):
        return {"kind": kind, "inputs": [step.input], "outputs": list(step.outputs), "categories": list(step.categories)}
    if isinstance(step, Lookup):
        return {"kind": kind, "inputs": [step.input], "outputs": [step.output], "keys": len(step.keys)}
    assert isinstance(step, Derive)
    return {"kind": kind, "inputs": list(step.inputs), "outputs": [step.output], "expression": expression_text(step.expression)}


def expression_text(expr: Expression, limit: int = 200) -> str:
    """A compact rendering of an expression tree, e.g. ``if(greaterThan(x, 1.5), 1.0, 0.0)``.

    >>> from portamodel.ir import Apply
    >>> expression_text(Apply(function="+", args=(FieldRef(name="a"), Constant(value=1.0))))
    '+(a, 1.0)'
    """
    parts: list[str] = []
    stack: list[Expression | str] = [expr]
    while stack and sum(map(len, parts)) <= limit:
        e = stack.pop()
        if isinstance(e, str):
            parts.append(e)
        elif isinstance(e, FieldRef):
            parts.append(e.name)
        elif isinstance(e, Constant):
            parts.append("missing" if e.value is None else repr(e.value))
        else:
            parts.append(f"{e.function}(")
            items: list[Expression | str] = [")"]
            for i, arg in enumerate(reversed(e.args)):
                items.append(arg)
                if i < len(e.args) - 1:
                    items.append(", ")
            stack.extend(items)
    text = "".join(parts)
    return text if not stack else text[:limit] + "..."


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _short_list(items: list[Any], limit: int = 8) -> str:
    shown = ", ".join(str(v) for v in items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def render(desc: dict[str, Any]) -> str:
    """The human-readable form of :func:`describe` (plus file, format and size)."""
    lines = [
        f"file:      {desc['file']} ({_human_size(desc['file_size'])})",
        f"format:    {desc['format']}",
        f"family:    {desc['family']} ({desc['estimator']})",
    ]
    if desc["task"] == "classification":
        lines.append(f"task:      classification of {desc['target']!r} into {len(desc['classes'])} classes: {_short_list(desc['classes'])}")
    else:
        lines.append(f"task:      regression of {desc['target']!r}")
    size = desc["size"]
    if "trees" in size:
        lines.append(
            f"size:      {size['trees']} trees, {size['nodes']} nodes ({size['leaves']} leaves), max depth {size['max_depth']}, "
            f"{_plural(size['outputs'], 'output')}, aggregation {size['aggregation']}, post-transform {size['post_transform']}"
            + "".join(
                f", {what} in {size[key]}"
                for key, what in (("input_dtype", "compares"), ("accumulate_dtype", "adds up"))
                if size[key] != "float64"
            )
        )
    elif "layers" in size:
        shape = " -> ".join([str(size["features"])] + [f"{layer['outputs']} ({layer['activation']})" for layer in size["layers"]])
        computes = f", computes in {size['compute_dtype']}" if size["compute_dtype"] != "float64" else ""
        lines.append(f"size:      {len(size['layers'])} layers, {size['weights']} weights and biases: {shape}{computes}")
    else:
        shape = f"{_plural(size['outputs'], 'output')} x {_plural(size['features'], 'feature')}"
        lines.append(f"size:      {size['coefficients']} coefficients ({shape}), normalization {size['normalization']}")
    lines.append(f"inputs ({len(desc['inputs'])}):")
    width = max(len(f["name"]) for f in desc["inputs"])
    for f in desc["inputs"]:
        extra = f"  values: {_short_list(f['values'])}" if f["values"] else ""
        lines.append(f"  {f['name']:<{width}}  {f['dtype']:<7}  {f['optype']}{extra}")
    if desc["steps"]:
        lines.append(f"preprocessing ({len(desc['steps'])} steps):")
        shown = desc["steps"] if len(desc["steps"]) <= MAX_STEPS_SHOWN else desc["steps"][: MAX_STEPS_SHOWN - 1]
        for s in shown:
            detail = f" = {s['expression']}" if "expression" in s else ""
            lines.append(f"  {s['kind']:<7} {_short_list(s['inputs'], 4)} -> {_short_list(s['outputs'], 4)}{detail}")
        if len(shown) < len(desc["steps"]):
            lines.append(f"  ... {len(desc['steps']) - len(shown)} more (--json lists them all)")
    else:
        lines.append("preprocessing: none")
    meta = desc["metadata"]
    if meta:
        lines.append("metadata:")
        for k, v in meta.items():
            if k == "extra":
                for ek, ev in v.items():
                    lines.append(f"  {ek}: {ev}")
            else:
                lines.append(f"  {k}: {v}")
    return "\n".join(lines) + "\n"
