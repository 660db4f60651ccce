"""portamodel's own ``metadata_props``: field names and types, target name, model metadata.

The writer stores them so that IR -> ONNX -> IR keeps names; the reader treats them as untrusted
hints: they only rename and describe, never change what the graph computes.
"""

from __future__ import annotations

import json
from typing import Any

from ...ir import DATA_TYPES, OPTYPES, Metadata

__all__ = ["META_INPUTS", "META_MODEL", "META_TARGET", "decode_json", "metadata_from_props", "metadata_to_props"]

META_INPUTS = "portamodel.inputs"
META_TARGET = "portamodel.target"
META_MODEL = "portamodel.metadata"
_MAX_META = 10_000_000


def decode_json(text: str) -> Any:
    """Parsed JSON, or None when the text is not (small, valid) JSON."""
    if len(text) > _MAX_META:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def field_specs(value: Any) -> dict[str, list[dict[str, Any]]] | None:
    """``{tensor name: [field spec, ...]}`` from META_INPUTS, or None when malformed."""
    if not isinstance(value, list):
        return None
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("tensor"), str) or not isinstance(entry.get("fields"), list):
            return None
        specs = []
        for f in entry["fields"]:
            if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not f["name"]:
                return None
            if f.get("dtype", "double") not in DATA_TYPES or f.get("optype", "continuous") not in OPTYPES:
                return None
            values = f.get("values", [])
            if not isinstance(values, list) or not all(isinstance(v, (str, int, float, bool)) for v in values):
                return None
            specs.append({"name": f["name"], "dtype": f.get("dtype", "double"), "optype": f.get("optype", "continuous"), "values": values})
        out[entry["tensor"]] = specs
    return out


def metadata_to_props(meta: Metadata) -> dict[str, str]:
    data = {
        "name": meta.name,
        "description": meta.description,
        "producer": meta.producer,
        "producer_version": meta.producer_version,
        "version": meta.version,
        "created": meta.created,
        "extra": dict(meta.extra),
    }
    return {META_MODEL: json.dumps(data, ensure_ascii=False, sort_keys=True)}


def metadata_from_props(props: dict[str, str], model_proto: Any) -> Metadata:
    """Metadata from portamodel's entry if valid, else from the ModelProto's own fields."""
    extra = {k: v for k, v in props.items() if not k.startswith("portamodel.")}
    data = decode_json(props.get(META_MODEL, "")) if META_MODEL in props else None
    if isinstance(data, dict):
        fields = {k: data.get(k, "") for k in ("name", "description", "producer", "producer_version", "version", "created")}
        ext = data.get("extra", {})
        if (
            all(isinstance(v, str) for v in fields.values())
            and isinstance(ext, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in ext.items())
        ):
            return Metadata(**fields, extra={**extra, **ext})
    graph = model_proto.graph
    return Metadata(
        name=str(graph.name),
        description=str(model_proto.doc_string or graph.doc_string),
        producer=str(model_proto.producer_name),
        producer_version=str(model_proto.producer_version),
        version=str(model_proto.model_version) if model_proto.model_version else "",
        extra=extra,
    )
