"""Recognise the op chains portamodel's writer emits for output transforms and activations.

The writer spells transforms onnxruntime lacks in double (probit, cloglog, cauchit, softmax_zero,
leaky_relu, gauss, ...) as chains of basic ops (:mod:`._write_math`); a float32 network's
activations are the same chains on floats, with float constants. The reader regenerates each
candidate chain on the tensor at hand and compares it node by node with the graph (op types,
attributes, wiring, constant values); a chain that matches exactly is that transform.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._builder import GraphBuilder
from ._graph import GraphView, tensor_to_array
from ._write_math import activation, normalization

__all__ = ["match_transform"]

NORMALIZATION_CHAINS = ("probit", "cloglog", "loglog", "cauchit", "softmax_zero", "simplemax")
ACTIVATION_CHAINS = ("leaky_relu", "gauss", "elliott", "arctan", "square", "reciprocal")


def _candidates(kind: str, g: GraphView, start: int, float32: bool) -> list[tuple[str, float]]:
    # a float32 network's chains are its activations' (simplemax is one); linear models and trees
    # (every normalization) are written in double
    out = [("simplemax", 0.01)] if float32 else [(n, 0.01) for n in NORMALIZATION_CHAINS]
    if kind == "net":
        out += [(n, 0.01) for n in ACTIVATION_CHAINS if n != "leaky_relu"]
        first = g.nodes[start] if start < len(g.nodes) else None
        if first is not None and first.op == "Mul" and len(first.inputs) == 2 and first.inputs[1] in g.initializers:
            alpha = tensor_to_array(g.initializers[first.inputs[1]], "alpha")
            if alpha.size == 1 and alpha.dtype == (np.float32 if float32 else np.float64):
                out.append(("leaky_relu", float(alpha.ravel()[0])))
    return out


@functools.lru_cache(maxsize=64)
def _template(name: str, alpha: float, float32: bool = False) -> tuple[tuple[Any, ...], dict[str, Any], str]:
    """(nodes, constants by name, output name) of the writer's chain for ``name`` on input ``__in__``
    (``float32``: a float32 network's activation, with float constants)."""
    b = GraphBuilder(reserved={"__in__"})
    if name in NORMALIZATION_CHAINS and not float32:
        out = normalization(b, name, "__in__")
    else:
        out = activation(b, name, "__in__", alpha, dtype=np.float32 if float32 else np.float64)
    consts = {t.name: tensor_to_array(t, "template") for t in b.initializers}
    return tuple(b.nodes), consts, out


def match_transform(g: GraphView, start: int, tensor: str, kind: str, *, float32: bool = False) -> tuple[str, float, int, str] | None:
    """(name, alpha, number of nodes, output tensor) of a writer chain applied to ``tensor`` at node
    ``start``; ``float32``: the chains of a float32 network's activations."""
    first = g.nodes[start].op if start < len(g.nodes) else ""
    for name, alpha in _candidates(kind, g, start, float32):
        nodes, consts, out = _template(name, alpha, float32)
        if not nodes or nodes[0].op_type != first:
            continue
        got = _compare(g, start, nodes, consts, out, tensor)
        if got is not None:
            return name, alpha, len(nodes), got
    return None


def _compare(g: GraphView, start: int, nodes: tuple[Any, ...], consts: dict[str, Any], out: str, tensor: str) -> str | None:
    if start + len(nodes) > len(g.nodes):
        return None
    names = {"__in__": tensor}
    for k, tnode in enumerate(nodes):
        gnode = g.nodes[start + k].proto
        if tnode.op_type != gnode.op_type or (tnode.domain or "") != (gnode.domain or "") or len(tnode.input) != len(gnode.input):
            return None
        if _attrs(tnode) != _attrs(gnode):
            return None
        for ti, gi in zip(tnode.input, gnode.input):
            if ti in consts:
                if gi not in g.initializers or not _same_value(consts[ti], g.initializers[gi]):
                    return None
            elif names.get(ti) != gi:
                return None
        if len(tnode.output) != len(gnode.output):
            return None
        for to, go in zip(tnode.output, gnode.output):
            names[to] = go
    return names.get(out)


def _attrs(node: Any) -> list[tuple[str, bytes]]:
    return sorted((a.name, a.SerializeToString(deterministic=True)) for a in node.attribute)


def _same_value(x: Any, b: Any) -> bool:
    try:
        y = tensor_to_array(b, "graph")
    except Exception:
        return False
    return bool(x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y, equal_nan=True))
