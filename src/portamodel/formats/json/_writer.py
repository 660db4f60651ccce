"""IR -> portamodel JSON (lossless; see docs/format.md).

>>> from portamodel.ir import Field, LinearModel, Model, Target
>>> model = Model(
...     inputs=(Field(name="x"),),
...     target=Target(name="y", task="regression"),
...     estimator=LinearModel(features=("x",), coefficients=[[2.0]], intercepts=[float("nan")]),
... )
>>> write(model)[:60]
b'{"format":"portamodel","version":1,"inputs":[{"name":"x","dt'
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...diagnostics import check_on_loss
from ...errors import PortamodelError
from ...ir import (
    MLP,
    Affine,
    Apply,
    Constant,
    Derive,
    Field,
    FieldRef,
    Impute,
    LinearModel,
    Lookup,
    Metadata,
    Model,
    OneHot,
    Target,
    TreeEnsemble,
)
from ._common import CANONICAL_NAN, DEFAULT_MAX_DEPTH, DEFAULT_PACK_THRESHOLD, FORMAT_NAME, VERSION

__all__ = ["write"]

# Packed arrays smaller than this are never compressed (zlib's header would not pay off).
_MIN_COMPRESS_BYTES = 64
_MAX_EXPRESSION_NODES = 1_000_000


def write(
    model: Model,
    *,
    pack_threshold: int | None = DEFAULT_PACK_THRESHOLD,
    indent: int | None = None,
    compress: bool | int = True,
    **options: Any,
) -> bytes:
    """Serialise ``model`` to portamodel JSON (UTF-8 bytes, ASCII only).

    Arrays with more than ``pack_threshold`` elements are stored packed (base64 of little-endian
    bytes in the narrowest dtype that holds them exactly; zlib-compressed when ``compress`` and
    that is smaller); ``pack_threshold=None`` packs only arrays a plain list cannot spell exactly.
    ``compress`` is ``True`` (zlib level 6), ``False`` or a zlib level 1-9 (1 writes fastest).
    ``indent`` pretty-prints. The format is lossless, so ``on_loss`` is accepted and never used.
    """
    unknown = set(options) - {"on_loss"}
    if unknown:
        raise PortamodelError(f"unknown option(s) for the json writer: {', '.join(sorted(unknown))}")
    if "on_loss" in options:
        check_on_loss(options["on_loss"])
    if not isinstance(model, Model):
        raise PortamodelError(f"expected a portamodel.Model, got {type(model).__name__}")
    if pack_threshold is not None and (isinstance(pack_threshold, bool) or not isinstance(pack_threshold, int) or pack_threshold < 0):
        raise PortamodelError(f"pack_threshold must be a non-negative integer or None, got {pack_threshold!r}")
    if compress is True:
        level = 6
    elif compress is False:
        level = 0
    elif isinstance(compress, int) and 1 <= compress <= 9:
        level = compress
    else:
        raise PortamodelError(f"compress must be True, False or a zlib level 1-9, got {compress!r}")
    w = _Writer(pack_threshold, level)
    doc = w.model(model)
    separators = (",", ":") if indent is None else (",", ": ")
    try:
        text = json.dumps(doc, indent=indent, separators=separators, ensure_ascii=True, allow_nan=False)
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. an integer category of 5000 digits
        raise PortamodelError(f"cannot write this model as JSON: {exc}") from None
    return text.encode("ascii")


class _Writer:
    def __init__(self, pack_threshold: int | None, level: int) -> None:
        self.pack_threshold = pack_threshold
        self.level = level

    # -- whole model --------------------------------------------------------------------------
    def model(self, m: Model) -> dict[str, Any]:
        doc: dict[str, Any] = {"format": FORMAT_NAME, "version": VERSION}
        meta = self.metadata(m.metadata)
        if meta:
            doc["metadata"] = meta
        doc["inputs"] = [self.field(f) for f in m.inputs]
        doc["target"] = self.target(m.target)
        if m.steps:
            doc["steps"] = [self.step(s) for s in m.steps]
        doc["estimator"] = self.estimator(m.estimator)
        return doc

    @staticmethod
    def metadata(meta: Metadata) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("name", "description", "producer", "producer_version", "version", "created"):
            value = getattr(meta, key)
            if value:
                out[key] = value
        if meta.extra:
            out["extra"] = dict(meta.extra)
        return out

    @staticmethod
    def field(f: Field) -> dict[str, Any]:
        out: dict[str, Any] = {"name": f.name, "dtype": f.dtype, "optype": f.optype}
        if f.values:
            out["values"] = [_value(v) for v in f.values]
        out["invalid"] = f.invalid
        return out

    @staticmethod
    def target(t: Target) -> dict[str, Any]:
        out: dict[str, Any] = {"name": t.name, "task": t.task}
        if t.classes:
            out["classes"] = [_value(c) for c in t.classes]
        return out

    # -- steps --------------------------------------------------------------------------------
    def step(self, s: object) -> dict[str, Any]:
        if isinstance(s, Affine):
            return {
                "type": "Affine",
                "inputs": list(s.inputs),
                "outputs": list(s.outputs),
                "offset": self.array(s.offset),
                "scale": self.array(s.scale),
                "shift": self.array(s.shift),  # type: ignore[arg-type]
                "divide": s.divide,
            }
        if isinstance(s, Impute):
            return {"type": "Impute", "inputs": list(s.inputs), "outputs": list(s.outputs), "values": [_value(v) for v in s.values]}
        if isinstance(s, OneHot):
            return {
                "type": "OneHot",
                "input": s.input,
                "categories": [_value(v) for v in s.categories],
                "outputs": list(s.outputs),
                "unknown": s.unknown,
                "missing": s.missing,
            }
        if isinstance(s, Lookup):
            return {
                "type": "Lookup",
                "input": s.input,
                "output": s.output,
                "keys": [_value(v) for v in s.keys],
                "values": [_value(v) for v in s.values],
                "default": _value(s.default),
                "missing": _value(s.missing),
                "unknown": s.unknown,
            }
        if isinstance(s, Derive):
            depth = _depth(s.expression)
            if depth > DEFAULT_MAX_DEPTH:
                raise PortamodelError(
                    f"expression nested {depth} deep; the json format allows at most {DEFAULT_MAX_DEPTH}",
                    location=f"Derive({s.output!r})",
                )
            return {"type": "Derive", "output": s.output, "dtype": s.dtype, "expression": _expression(s.expression)}
        raise PortamodelError(f"cannot write a step of type {type(s).__name__}")

    # -- estimators ---------------------------------------------------------------------------
    def estimator(self, e: object) -> dict[str, Any]:
        if isinstance(e, LinearModel):
            return {
                "type": "LinearModel",
                "features": list(e.features),
                "normalization": e.normalization,
                "coefficients": self.array(e.coefficients),
                "intercepts": self.array(e.intercepts),
            }
        if isinstance(e, MLP):
            layers = [
                {
                    "activation": layer.activation,
                    "alpha": layer.alpha,
                    "weights": self.array(layer.weights),
                    "biases": self.array(layer.biases),
                }
                for layer in e.layers
            ]
            out_mlp: dict[str, Any] = {"type": "MLP", "features": list(e.features)}
            if e.compute_dtype != "float64":  # written only when set, so float64 files stay as they were
                out_mlp["compute_dtype"] = e.compute_dtype
            out_mlp["layers"] = layers
            return out_mlp
        if isinstance(e, TreeEnsemble):
            out: dict[str, Any] = {
                "type": "TreeEnsemble",
                "features": list(e.features),
                "aggregation": e.aggregation,
                "post_transform": e.post_transform,
                "input_dtype": e.input_dtype,
                "accumulate_dtype": e.accumulate_dtype,
                "base_score": self.array(e.base_score),  # type: ignore[arg-type]
            }
            if e.tree_weights is not None:
                out["tree_weights"] = self.array(e.tree_weights)
            for name in ("roots", "feature", "threshold", "op", "true_child", "false_child", "missing", "values"):
                out[name] = self.array(getattr(e, name))
            if e.set_offsets is not None:
                out["set_offsets"] = self.array(e.set_offsets)
                out["set_values"] = self.array(e.set_values)  # type: ignore[arg-type]
            return out
        raise PortamodelError(f"cannot write an estimator of type {type(e).__name__}")

    # -- arrays -------------------------------------------------------------------------------
    def array(self, arr: NDArray[Any]) -> Any:
        """A plain (nested) list when small and exactly spellable, else a packed object."""
        must_pack = arr.ndim != 1 and 0 in arr.shape[:-1]  # a list cannot spell an empty outer axis
        if arr.dtype.kind == "f" and not must_pack:
            nan = np.isnan(arr)
            must_pack = bool(nan.any()) and bool(np.any(arr[nan].view(np.uint64) != CANONICAL_NAN))
        if must_pack or (self.pack_threshold is not None and arr.size > self.pack_threshold):
            return self.packed(arr)
        return _plain_list(arr)

    def packed(self, arr: NDArray[Any]) -> dict[str, Any]:
        stored = _narrowest(arr)
        raw = stored.astype(stored.dtype.newbyteorder("<"), copy=False).tobytes()
        out: dict[str, Any] = {"dtype": stored.dtype.newbyteorder("<").str, "shape": list(arr.shape)}
        if self.level and len(raw) >= _MIN_COMPRESS_BYTES:
            packed = zlib.compress(raw, self.level)
            if len(packed) < len(raw):
                out["compression"] = "zlib"
                raw = packed
        out["base64"] = base64.b64encode(raw).decode("ascii")
        return out


def _narrowest(arr: NDArray[Any]) -> NDArray[Any]:
    """The same values in the smallest dtype that holds them exactly (bit for bit for floats)."""
    if arr.dtype.kind == "f":
        if arr.dtype == np.float64 and arr.size:
            with np.errstate(over="ignore", invalid="ignore"):
                small = arr.astype(np.float32)
                if np.array_equal(small.astype(np.float64).view(np.uint64), arr.view(np.uint64)):
                    return small
        return arr
    if arr.dtype.kind in "iu":
        if not arr.size:
            return arr.astype(np.int8)
        lo, hi = int(arr.min()), int(arr.max())
        for dt in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64):
            info = np.iinfo(dt)
            if info.min <= lo and hi <= info.max:
                return arr.astype(dt)
        return arr
    raise PortamodelError(f"cannot store an array of dtype {arr.dtype}")


def _plain_list(arr: NDArray[Any]) -> Any:
    if arr.dtype.kind != "f":
        return arr.tolist()
    items = arr.tolist()
    if np.isfinite(arr).all():
        return items
    if arr.ndim == 1:
        return [_float(x) for x in items]
    return [[_float(x) for x in row] for row in items]


def _float(x: float) -> float | str:
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return "NaN"
    return "Infinity" if x > 0 else "-Infinity"


def _value(v: object) -> Any:
    """A category / constant: JSON string, boolean, integer or float; non-finite floats tagged."""
    if isinstance(v, float) and not math.isfinite(v):
        return {"float": _float(v)}
    return v


def _expression(e: object) -> dict[str, Any]:
    if isinstance(e, Constant):
        return {"constant": _value(e.value)}
    if isinstance(e, FieldRef):
        return {"field": e.name}
    if isinstance(e, Apply):
        return {"apply": e.function, "args": [_expression(a) for a in e.args]}
    raise PortamodelError(f"cannot write an expression of type {type(e).__name__}")


def _depth(e: object) -> int:
    """Nesting depth of an expression (a lone constant or field reference has depth 1)."""
    depth, level, total = 0, [e], 0
    while level:
        depth += 1
        total += len(level)
        if total > _MAX_EXPRESSION_NODES:  # shared sub-expressions would blow up as a JSON tree
            raise PortamodelError(f"expression has more than {_MAX_EXPRESSION_NODES} nodes")
        level = [a for x in level if isinstance(x, Apply) for a in x.args]
    return depth
