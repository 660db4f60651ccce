"""Mutation fuzzing of every reader: a mutated file loads into a sound model or raises PortamodelError.

Valid files of every format and model family -- JSON written by our writer from the Hypothesis
strategy models and from the real fixtures, the real sklearn2pmml PMML fixtures and our PMML
writer's output, the real skl2onnx / onnxmltools / torch ONNX fixtures and our ONNX writer's
output -- are mutated, by bytes (truncate, flip, overwrite, delete, duplicate, insert) and by
structure (JSON keys and values; XML elements, attributes and text; ONNX nodes, attributes,
tensors, graph inputs and the embedded IR): numbers become extremes or off-by-one, values are
swapped, elements dropped or duplicated. Each result must either raise a ``PortamodelError``
subclass, or load into a model that scores sample inputs (``helpers.sample_inputs``) with the
right output shapes. Anything else -- another exception type, a warning, a hang (10 s guard), a
memory blow-up (address-space limit while loading and scoring) -- fails the test.

Examples per format: 200 by default (about 15 s for the three), 3000 with
``HYPOTHESIS_PROFILE=thorough``, or any number with ``PORTAMODEL_FUZZ_EXAMPLES=N``::

    PORTAMODEL_FUZZ_EXAMPLES=10000 PORTAMODEL_FUZZ_COLLECT=failures.jsonl python -m pytest tests/test_fuzz.py -q

(``PORTAMODEL_FUZZ_COLLECT`` records every failure with its input and carries on;
``PORTAMODEL_FUZZ_SHRINK=1`` turns Hypothesis' shrinking back on.)

Known failures not yet fixed are listed in :data:`KNOWN_BUGS`: such an input is discarded
(``assume``) rather than failing, and each has an ``xfail(strict=True)`` regression test so the
entry is removed once it is fixed.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import gzip
import json
import math
import os
import re
import resource
import signal
import sys
import traceback
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, event, given, note, settings
from hypothesis import strategies as st

import portamodel
from helpers import sample_inputs
from portamodel.errors import PortamodelError
from portamodel.ir import Field, Model, Target, TreeEnsemble
from strategies import models

DATA = Path(__file__).resolve().parent / "data"


def _examples() -> int:
    env = os.environ.get("PORTAMODEL_FUZZ_EXAMPLES")
    if env:
        return int(env)
    return 3000 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 200


EXAMPLES = _examples()
#: Long sessions: PORTAMODEL_FUZZ_COLLECT=failures.jsonl records every failure (one JSON line
#: each, with the input) and carries on instead of stopping at the first.
COLLECT = os.environ.get("PORTAMODEL_FUZZ_COLLECT")
FUZZ = settings(
    max_examples=EXAMPLES,
    # no shrinking by default: every failure already shows the seed, the mutations and the bytes,
    # and shrinking re-generates models for minutes; PORTAMODEL_FUZZ_SHRINK=1 turns it on
    phases=tuple(Phase) if os.environ.get("PORTAMODEL_FUZZ_SHRINK") else (Phase.explicit, Phase.reuse, Phase.generate),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
HANG_GUARD_S = 10
MEMORY_HEADROOM = 3 << 30
_BASELINE_VM: int | None = None  # address space when fuzzing started


# -- known failures in readers owned by others (see the module docstring) -------------------------


@dataclass(frozen=True)
class KnownBug:
    """An exception a reader raises today that it should turn into a PortamodelError."""

    fmt: str  # "json", "pmml", "onnx" or "*"
    exc: str  # exception class name
    message: str  # regular expression the message matches
    where: str  # a source file in the traceback
    summary: str


KNOWN_BUGS: tuple[KnownBug, ...] = ()


def known_bug(fmt: str, exc: BaseException) -> KnownBug | None:
    tb = "".join(traceback.format_tb(exc.__traceback__))
    for bug in KNOWN_BUGS:
        if bug.fmt in (fmt, "*") and type(exc).__name__ == bug.exc and re.search(bug.message, str(exc)) and bug.where in tb:
            return bug
    return None


# -- guards --------------------------------------------------------------------------------------


class Hang(BaseException):
    """Raised by the SIGALRM guard (a BaseException, so ``except Exception`` cannot swallow it)."""


@contextlib.contextmanager
def guarded(seconds: float = HANG_GUARD_S) -> Iterator[None]:
    """Hang guard (SIGALRM, main thread, POSIX) and an address-space limit, both restored after."""
    with memory_limit():
        alarm = hasattr(signal, "SIGALRM") and _main_thread()
        if alarm:

            def on_alarm(signum: int, frame: Any) -> None:
                raise Hang(f"no answer within {seconds} s")

            previous = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def memory_limit(headroom: int = MEMORY_HEADROOM) -> Iterator[None]:
    """Cap the address space at its current size plus ``headroom`` (unless a cap is already set):
    a blow-up becomes a MemoryError instead of taking the machine down."""
    global _BASELINE_VM
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if _BASELINE_VM is None:
        _BASELINE_VM = _vm_size()
    vm = _BASELINE_VM  # fixed: a cap relative to the current size would ratchet up after each blow-up
    limited = vm is not None and soft == resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or vm + headroom <= hard)
    if limited:
        resource.setrlimit(resource.RLIMIT_AS, (vm + headroom, hard))  # type: ignore[operator]
    try:
        yield
    finally:
        if limited:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _vm_size() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# -- the oracle ----------------------------------------------------------------------------------


def check(fmt: str, data: bytes) -> str:
    """Load ``data`` as ``fmt`` and score the model; return the outcome or fail the test.

    Outcomes: ``refused: <error class>``, ``loaded: <family>``, ``known bug: <summary>`` (see
    :data:`KNOWN_BUGS`) and, in collecting mode, ``collected``.
    """
    try:
        with guarded(), warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                model = portamodel.load(data, format=fmt)
            except PortamodelError as exc:
                assert str(exc).strip(), "an error without a message"
                return f"refused: {type(exc).__name__}"
            assert isinstance(model, Model), type(model)
            score(model)
    except (AssertionError, Hang):
        raise
    except BaseException as exc:
        bug = known_bug(fmt, exc)
        if bug is not None:
            return f"known bug: {bug.summary}"
        if COLLECT and not isinstance(exc, KeyboardInterrupt):
            _collect(fmt, data, exc)
            return "collected"
        raise
    return f"loaded: {model.family}"


def _collect(fmt: str, data: bytes, exc: BaseException) -> None:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/portamodel/" in f.filename] or frames
    last = ours[-1] if ours else None
    record = {
        "format": fmt,
        "signature": f"{type(exc).__name__} at {last.filename.split('/src/')[-1]}:{last.lineno}" if last else type(exc).__name__,
        "message": str(exc)[:500],
        "traceback": "".join(traceback.format_exception(exc)[-8:]),
        "input": base64.b64encode(data).decode(),
    }
    assert COLLECT is not None
    with open(COLLECT, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def inputs_for(model: Model, n: int = 25) -> dict[str, Any]:
    """``helpers.sample_inputs``: finite, representable probes however extreme the model's numbers."""
    return sample_inputs(model, n, seed=1)


def test_sample_inputs_copes_with_extreme_models() -> None:
    """Split points 1.8e308 and -1e308 (their distance overflows) and the largest float32, as
    mutations make them: the probes stay finite and representable, include the split points, and
    the model scores them."""
    fmax, f32max = float(np.finfo(np.float64).max), float(np.finfo(np.float32).max)
    tree = TreeEnsemble(
        features=("a", "b"),
        roots=np.array([0]),
        feature=np.array([0, 0, 1, -1, -1, -1, -1], dtype=np.int32),
        threshold=np.array([fmax, -1e308, f32max, 0, 0, 0, 0]),
        op=np.zeros(7, dtype=np.uint8),
        true_child=np.array([1, 3, 5, -1, -1, -1, -1], dtype=np.int32),
        false_child=np.array([2, 4, 6, -1, -1, -1, -1], dtype=np.int32),
        missing=np.zeros(7, dtype=np.uint8),
        values=np.arange(7.0).reshape(7, 1),
    )
    model = Model(
        inputs=(Field(name="a", dtype="double"), Field(name="b", dtype="float")),
        target=Target(name="y", task="regression"),
        estimator=tree,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X = sample_inputs(model, 400, seed=3)
        a, b = X["a"][~np.isnan(X["a"])], X["b"][~np.isnan(X["b"])]
        assert np.isfinite(a).all() and np.isfinite(b).all()
        assert np.abs(b).max() <= f32max and (b == b.astype(np.float32)).all()
        assert (a == fmax).any() and (a == -1e308).any() and (b == f32max).any()
        assert model.predict(X).shape == (400,)


def score(model: Model) -> None:
    """The model scores sample inputs with outputs of the right shapes."""
    X = inputs_for(model)
    y = model.predict(X)
    assert y.shape == (25,), y.shape
    if model.task == "classification":
        p = model.predict_proba(X)
        assert p.shape == (25, len(model.classes)), p.shape
    empty = {k: v[:0] for k, v in X.items()}
    assert model.predict(empty).shape == (0,)


# -- byte mutations --------------------------------------------------------------------------------

INTERESTING_BYTES = (b"\x00", b"\xff", b"\x7f", b"\x80", b"\x01", b"\xfe", b"\x08", b"\x0a")


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    n = len(data)
    kind = draw(st.sampled_from(("truncate", "flip", "overwrite", "delete", "duplicate", "insert")))
    note(f"byte mutation: {kind}")
    if n == 0:
        return bytes(draw(st.binary(max_size=8)))
    i = draw(st.integers(0, n - 1))
    if kind == "truncate":
        return data[:i]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            j = draw(st.integers(0, n - 1))
            out[j] ^= 1 << draw(st.integers(0, 7))
        return bytes(out)
    length = draw(st.integers(1, min(64, n - i)))
    if kind == "overwrite":
        junk = draw(st.binary(min_size=length, max_size=length))
        return data[:i] + junk + data[i + length :]
    if kind == "delete":
        return data[:i] + data[i + length :]
    if kind == "duplicate":
        j = draw(st.integers(0, n))
        return data[:j] + data[i : i + length] + data[j:]
    blob = draw(st.one_of(st.sampled_from(INTERESTING_BYTES), st.binary(min_size=1, max_size=16)))
    return data[:i] + blob + data[i:]


# -- value mutations shared by the structural mutators ---------------------------------------------

EXTREME_INTS = (0, -1, 1, 2, -2, 2**7, 2**8, 2**15, 2**31 - 1, 2**31, -(2**31) - 1, 2**32, 2**53 + 1, 2**63 - 1, -(2**63), 2**64)
EXTREME_FLOATS = (0.0, -0.0, 1e-300, 5e-324, -1.0, 1e38, 3.5e38, -1e308, 1.7976931348623157e308, math.nan, math.inf, -math.inf)
NUMBER_TEXT = (
    "",
    " ",
    "NaN",
    "nan",
    "INF",
    "-INF",
    "Infinity",
    "1e999",
    "-1e999",
    "0x10",
    "1,5",
    "abc",
    "-0",
    "1e-400",
    "99999999999999999999",
)


@st.composite
def new_number(draw: st.DrawFn, old: float | int | None) -> float | int:
    """Off by one, negated, or an extreme value."""
    choice = draw(st.integers(0, 3))
    if old is not None and choice == 0 and isinstance(old, int):
        return old + draw(st.sampled_from((-1, 1)))
    if old is not None and choice == 1 and math.isfinite(old):
        return -old if old else -1
    if choice == 2:
        return draw(st.sampled_from(EXTREME_INTS))
    return draw(st.sampled_from(EXTREME_FLOATS))


@st.composite
def new_int(draw: st.DrawFn, old: int, lo: int = -(2**63), hi: int = 2**63 - 1) -> int:
    """Off by one, negated, or an extreme integer, within [lo, hi]."""
    choice = draw(st.integers(0, 2))
    if choice == 0:
        value = old + draw(st.sampled_from((-1, 1)))
    elif choice == 1:
        value = -old if old else -1
    else:
        value = draw(st.sampled_from(EXTREME_INTS))
    return min(max(value, lo), hi)


# -- JSON ----------------------------------------------------------------------------------------


class Dup:
    """A JSON object written with one key twice."""

    def __init__(self, obj: dict[str, Any], key: str, value: Any) -> None:
        self.obj, self.key, self.value = obj, key, value


class Literal:
    """Raw JSON text (NaN, Infinity, huge numbers)."""

    def __init__(self, text: str) -> None:
        self.text = text


def dump(v: Any) -> str:
    if isinstance(v, Literal):
        return v.text
    if isinstance(v, Dup):
        inner = dump(v.obj)
        extra = json.dumps(v.key) + ":" + dump(v.value)
        return "{" + extra + ("," + inner[1:] if inner != "{}" else "}")
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dump(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    if isinstance(v, float) and not math.isfinite(v):
        return json.dumps(str(v))  # spelled as a string: the format's NaN rule, or a wrong type
    return json.dumps(v)


def json_paths(doc: Any) -> list[tuple[Any, Any]]:
    """(container, key) for every value in ``doc``."""
    out: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            out.append((node, k))
            if isinstance(v, (dict, list)):
                stack.append(v)
    return out


JSON_REPLACEMENTS: tuple[Any, ...] = (
    None, True, False, "", "x", "NaN", [], {}, [[]], {"float": "NaN"}, {"float": "Infinity"}, "a" * 300,
    Literal("NaN"), Literal("-Infinity"), Literal("1e999"), Literal("1" * 400), Literal("-0"), Literal("1.0e-400"),
)  # fmt: skip


@st.composite
def json_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    doc = json.loads(data)
    for _ in range(draw(st.integers(1, 3))):
        doc = draw(_one_json_mutation(doc))
    return dump(doc).encode()


@st.composite
def _one_json_mutation(draw: st.DrawFn, doc: Any) -> Any:
    paths = json_paths(doc)
    if not paths:
        return doc
    node, key = draw(st.sampled_from(paths))
    value = node[key]
    packed = isinstance(value, dict) and "base64" in value and "dtype" in value
    kinds = ["delete", "duplicate_key", "replace", "number", "number", "number", "swap", "list"]
    if packed:
        kinds += ["packed", "packed", "packed"]
    kind = draw(st.sampled_from(kinds))
    note(f"json mutation: {kind} at key {key!r}")
    if kind == "delete":
        del node[key]
    elif kind == "duplicate_key" and isinstance(node, dict):
        other = copy.deepcopy(draw(st.sampled_from([*node.values(), *JSON_REPLACEMENTS])))
        parent = _parent_slot(doc, node)
        if parent is None:
            return Dup(node, key, other)
        parent[0][parent[1]] = Dup(node, key, other)
    elif kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        node[key] = draw(new_number(value))
    elif kind == "number" and isinstance(value, list) and value and all(isinstance(x, (int, float)) for x in value):
        j = draw(st.integers(0, len(value) - 1))
        value[j] = draw(new_number(value[j]))
    elif kind == "swap":
        other_node, other_key = draw(st.sampled_from(paths))
        other = other_node[other_key]
        if not (_within(node, other) or _within(other_node, value)):  # a swap with an ancestor would make a cycle
            node[key], other_node[other_key] = other, value
    elif kind == "list" and isinstance(value, list):
        op = draw(st.sampled_from(("truncate", "append", "reverse", "duplicate", "empty")))
        if op == "truncate" and value:
            del value[draw(st.integers(0, len(value) - 1)) :]
        elif op == "append":
            value.append(copy.deepcopy(value[-1]) if value else 0)
        elif op == "reverse":
            value.reverse()
        elif op == "duplicate" and value:
            j = draw(st.integers(0, len(value) - 1))
            value.insert(j, copy.deepcopy(value[j]))
        else:
            value.clear()
    elif kind == "packed" and packed:
        node[key] = draw(_packed_mutation(value))
    else:
        node[key] = copy.deepcopy(draw(st.sampled_from(JSON_REPLACEMENTS)))  # never share the constants: they get mutated
    return doc


def _within(node: Any, tree: Any) -> bool:
    """Is container ``node`` ``tree`` itself or inside it?"""
    return node is tree or any(c[k] is node for c, k in json_paths(tree))


def _parent_slot(doc: Any, target: Any) -> tuple[Any, Any] | None:
    for node, key in json_paths(doc):
        if node[key] is target:
            return node, key
    return None


@st.composite
def _packed_mutation(draw: st.DrawFn, packed: dict[str, Any]) -> dict[str, Any]:
    """Change a packed array's bytes (re-encoded, so they pass base64), shape or dtype."""
    out = dict(packed)
    kind = draw(st.sampled_from(("bytes", "shape", "dtype")))
    note(f"packed mutation: {kind}")
    if kind == "shape":
        shape = list(out.get("shape", []))
        if shape:
            j = draw(st.integers(0, len(shape) - 1))
            shape[j] = draw(st.sampled_from((0, 1, shape[j] + 1, max(shape[j] - 1, 0), 2**20, 2**31)))
        out["shape"] = shape
        return out
    if kind == "dtype":
        out["dtype"] = draw(st.sampled_from(("<f4", "<f8", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", ">f8", "O", "<c16")))
        return out
    try:
        raw = base64.b64decode(out["base64"])
        if out.get("compression") == "zlib":
            raw = zlib.decompress(raw)
    except Exception:
        return out
    raw = draw(byte_mutation(raw)) if raw else raw
    if out.get("compression") == "zlib":
        raw = zlib.compress(raw)
    out["base64"] = base64.b64encode(raw).decode()
    return out


# -- XML (PMML) ----------------------------------------------------------------------------------

XML_VALUES = (
    *NUMBER_TEXT, "-1", "0", "1", "2", "3", "1.5", "999999999", "-999999999", "true", "false", "x1", "y",
    "regression", "classification", "lessThan", "isMissing", "defaultChild", "softmax", "logit", "weightedAverage",
)  # fmt: skip


@st.composite
def xml_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    from lxml import etree

    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    for _ in range(draw(st.integers(1, 3))):
        draw(_one_xml_mutation(root))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@st.composite
def _one_xml_mutation(draw: st.DrawFn, root: Any) -> None:
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    el = draw(st.sampled_from(elements))
    kinds = ["delete", "duplicate", "move", "swap_siblings", "rename", "attribute", "attribute", "attribute", "text"]
    kind = draw(st.sampled_from(kinds))
    tag = el.tag.rpartition("}")[2]
    note(f"xml mutation: {kind} on <{tag}>")
    parent = el.getparent()
    if kind == "delete" and parent is not None:
        parent.remove(el)
    elif kind == "duplicate" and parent is not None:
        el.addnext(copy.deepcopy(el))
    elif kind == "move" and parent is not None:
        dest = draw(st.sampled_from(elements))
        if el not in list(dest.iterancestors()) and dest is not el:
            dest.append(el)
    elif kind == "swap_siblings" and parent is not None and len(parent) > 1:
        other = draw(st.sampled_from(list(parent)))
        if other is not el:
            i, j = parent.index(el), parent.index(other)
            parent[i], parent[j] = copy.deepcopy(other), copy.deepcopy(el)
    elif kind == "rename":
        other = draw(st.sampled_from(elements))
        el.tag = other.tag
    elif kind == "text":
        text = el.text or ""
        tokens = text.split()
        if tokens and draw(st.booleans()):
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[j] = draw(_xml_value(tokens[j]))
            el.text = " ".join(tokens)
        else:
            el.text = draw(_xml_value(text))
    else:
        all_values = [v for e in elements for v in e.attrib.values()]
        if el.attrib and draw(st.integers(0, 4)):
            name = draw(st.sampled_from(sorted(el.attrib)))
            op = draw(st.sampled_from(("value", "value", "swap", "delete")))
            if op == "delete":
                del el.attrib[name]
            elif op == "swap" and all_values:
                el.set(name, draw(st.sampled_from(all_values)))
            else:
                el.set(name, draw(_xml_value(el.get(name))))
        else:
            names = sorted({n for e in elements for n in e.attrib} | {"id", "n", "defaultChild", "missingValueStrategy"})
            el.set(draw(st.sampled_from(names)), draw(_xml_value(None)))


@st.composite
def _xml_value(draw: st.DrawFn, old: str | None) -> str:
    try:
        number = float(old) if old is not None else None
    except ValueError:
        number = None
    if number is not None and math.isfinite(number) and draw(st.booleans()):
        as_int = int(number) if number.is_integer() and abs(number) < 2**62 else None
        return repr(draw(new_number(as_int if as_int is not None else number)))
    return draw(st.sampled_from(XML_VALUES))


# -- ONNX ----------------------------------------------------------------------------------------


@st.composite
def onnx_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    import onnx

    proto = onnx.load_model_from_string(data)
    for _ in range(draw(st.integers(1, 3))):
        draw(_one_onnx_mutation(proto))
    return bytes(proto.SerializeToString())


def f32(x: float) -> float:
    """``x`` rounded to float32 (overflowing to infinity, as protobuf would store it)."""
    with np.errstate(over="ignore"):
        return float(np.float32(x))


def _graphs(proto: Any) -> list[Any]:
    out, stack = [], [proto.graph]
    while stack:
        g = stack.pop()
        out.append(g)
        for node in g.node:
            for a in node.attribute:
                if a.HasField("g"):
                    stack.append(a.g)
                stack.extend(a.graphs)
    return out


@st.composite
def _one_onnx_mutation(draw: st.DrawFn, proto: Any) -> None:
    import onnx

    graph = draw(st.sampled_from(_graphs(proto)))
    kinds = ["attribute"] * 6 + ["swap_attributes"] * 2 + ["node", "tensor", "tensor", "io", "rewire", "opset", "metadata"]
    kind = draw(st.sampled_from(kinds))
    note(f"onnx mutation: {kind}")
    nodes = list(graph.node)
    A = onnx.AttributeProto
    if kind in ("attribute", "swap_attributes") and nodes:
        node = draw(st.sampled_from(nodes))
        if not node.attribute:
            return
        attr = draw(st.sampled_from(list(node.attribute)))
        note(f"  on {node.op_type}.{attr.name}")
        if kind == "swap_attributes":
            same = [a for a in node.attribute if a.type == attr.type and a.name != attr.name]
            if same:
                other = draw(st.sampled_from(same))
                tmp = copy.deepcopy(attr)
                for src, dst in ((other, attr), (tmp, other)):
                    name = dst.name
                    dst.CopyFrom(src)
                    dst.name = name
            return
        op = draw(st.sampled_from(("value", "value", "value", "truncate", "extend", "delete")))
        if op == "delete":
            node.attribute.remove(attr)
        elif attr.type in (A.INTS, A.FLOATS, A.STRINGS):
            values = {A.INTS: attr.ints, A.FLOATS: attr.floats, A.STRINGS: attr.strings}[attr.type]
            if op == "truncate" and len(values):
                del values[draw(st.integers(0, len(values) - 1)) :]
            elif op == "extend":
                values.extend(list(values)[-draw(st.integers(1, 3)) :] if len(values) else [])
            elif len(values):
                j = draw(st.integers(0, len(values) - 1))
                if attr.type == A.INTS:
                    values[j] = draw(new_int(int(values[j])))
                elif attr.type == A.FLOATS:
                    values[j] = f32(draw(new_number(float(values[j]))))
                else:
                    values[j] = draw(st.sampled_from((b"", b"LEAF", b"BRANCH_LEQ", b"BRANCH_EQ", b"BRANCH_GT", b"x", values[0])))
        elif attr.type == A.INT:
            attr.i = draw(new_int(int(attr.i)))
        elif attr.type == A.FLOAT:
            attr.f = f32(draw(new_number(float(attr.f))))
        elif attr.type == A.STRING:
            attr.s = draw(st.sampled_from((b"", b"SUM", b"AVERAGE", b"MAX", b"SOFTMAX", b"LOGISTIC", b"PROBIT", b"NONE", b"x")))
        elif attr.type == A.TENSOR:
            _mutate_tensor(draw, attr.t)
    elif kind == "node" and nodes:
        node = draw(st.sampled_from(nodes))
        op = draw(st.sampled_from(("delete", "duplicate", "op_type", "domain")))
        if op == "delete":
            graph.node.remove(node)
        elif op == "duplicate":
            graph.node.add().CopyFrom(node)
        elif op == "op_type":
            node.op_type = draw(st.sampled_from([n.op_type for n in nodes] + ["Identity", "Cast", "TreeEnsemble", "Gemm"]))
        else:
            node.domain = draw(st.sampled_from(("", "ai.onnx.ml", "com.microsoft", "x")))
    elif kind == "tensor":
        tensors = list(graph.initializer) + [a.t for n in nodes for a in n.attribute if a.HasField("t")]
        if tensors:
            _mutate_tensor(draw, draw(st.sampled_from(tensors)))
    elif kind == "io":
        values = list(graph.input) + list(graph.output)
        if values:
            vi = draw(st.sampled_from(values))
            t = vi.type.tensor_type
            op = draw(st.sampled_from(("elem_type", "dim", "drop_dim", "add_dim")))
            if op == "elem_type":
                t.elem_type = draw(st.sampled_from((0, 1, 6, 7, 8, 9, 10, 11, 16, 99)))
            elif op == "dim" and len(t.shape.dim):
                d = t.shape.dim[draw(st.integers(0, len(t.shape.dim) - 1))]
                d.dim_value = draw(st.sampled_from((0, 1, 2, 3, 7, 1000, 2**31)))
            elif op == "drop_dim" and len(t.shape.dim):
                del t.shape.dim[-1]
            else:
                t.shape.dim.add().dim_value = draw(st.sampled_from((1, 2, 5)))
    elif kind == "rewire" and nodes:
        node = draw(st.sampled_from(nodes))
        names = sorted({x for n in nodes for x in (*n.input, *n.output)} | {i.name for i in graph.initializer} | {"", "nowhere"})
        if node.input and draw(st.booleans()):
            node.input[draw(st.integers(0, len(node.input) - 1))] = draw(st.sampled_from(names))
        elif node.output:
            node.output[draw(st.integers(0, len(node.output) - 1))] = draw(st.sampled_from(names))
    elif kind == "opset" and len(proto.opset_import):
        op = proto.opset_import[draw(st.integers(0, len(proto.opset_import) - 1))]
        op.version = draw(st.sampled_from((1, 2, 3, 4, 5, 9, 13, 17, 21, 99)))
    elif kind == "metadata":
        props = list(proto.metadata_props)
        if props:
            p = draw(st.sampled_from(props))
            if p.value.lstrip().startswith(("{", "[")):
                with contextlib.suppress(ValueError):
                    p.value = draw(json_mutation(p.value.encode())).decode()
                    return
            p.value = draw(st.sampled_from(("", "{}", "[]", "x", "null", p.value[: len(p.value) // 2])))


def _mutate_tensor(draw: st.DrawFn, t: Any) -> None:
    op = draw(st.sampled_from(("raw", "dims", "dtype", "float_data")))
    note(f"  tensor {t.name!r}: {op}")
    if op == "raw" and t.raw_data:
        t.raw_data = draw(byte_mutation(bytes(t.raw_data)))
    elif op == "dims":
        if len(t.dims) and draw(st.booleans()):
            t.dims[draw(st.integers(0, len(t.dims) - 1))] = draw(st.sampled_from((0, 1, 2, 3, -1, 2**20, 2**40)))
        elif len(t.dims):
            del t.dims[-1]
        else:
            t.dims.append(draw(st.sampled_from((0, 1, 2, 3))))
    elif op == "dtype":
        t.data_type = draw(st.sampled_from((1, 2, 3, 6, 7, 8, 9, 10, 11, 16, 0, 99)))
    elif op == "float_data" and len(t.float_data):
        j = draw(st.integers(0, len(t.float_data) - 1))
        t.float_data[j] = f32(draw(new_number(float(t.float_data[j]))))


# -- seeds ---------------------------------------------------------------------------------------


@functools.cache
def pmml_fixtures() -> tuple[bytes, ...]:
    files = sorted((DATA / "pmml").glob("*.pmml")) + sorted((DATA / "pmml" / "handwritten").glob("*.pmml"))
    return tuple(p.read_bytes() for p in files)


@functools.cache
def onnx_fixtures() -> tuple[bytes, ...]:
    return tuple(p.read_bytes() for p in sorted((DATA / "onnx").glob("*.onnx")))


@functools.cache
def fixture_models() -> tuple[Model, ...]:
    """The real fixtures as IR models (seeds for JSON and for the other writers)."""
    out = []
    for data, fmt in [*((d, "pmml") for d in pmml_fixtures()), *((d, "onnx") for d in onnx_fixtures())]:
        with contextlib.suppress(PortamodelError):
            out.append(portamodel.load(data, format=fmt))
    return tuple(out)


def write(model: Model, fmt: str, **options: Any) -> bytes | None:
    """Our writer's output, or None where the format cannot hold the model."""
    from portamodel.formats import get_format

    if fmt != "json":
        options = {"on_loss": "ignore", **options}
    try:
        return get_format(fmt).write(model, **options)  # type: ignore[no-any-return]
    except PortamodelError:
        return None


@st.composite
def seed(draw: st.DrawFn, fmt: str) -> bytes:
    """A valid file: a real fixture, or our writer's output for a random or a real model."""
    source = draw(st.sampled_from(("fixture", "generated", "generated")))
    if source == "fixture":
        if fmt == "pmml":
            return draw(st.sampled_from(pmml_fixtures()))
        if fmt == "onnx":
            return draw(st.sampled_from(onnx_fixtures()))
        model = draw(st.sampled_from(fixture_models()))
    else:
        model = draw(models())
    options: dict[str, Any] = {}
    if fmt == "json" and draw(st.booleans()):
        options = {"pack_threshold": 0, "compress": draw(st.booleans())}  # packed arrays everywhere
    if fmt == "onnx":
        options = {"tree_opset": draw(st.sampled_from((3, 5))), "embed_ir": draw(st.booleans())}
    data = write(model, fmt, **options)
    assume(data is not None)
    assert data is not None
    note(f"seed: {source} {model.family} {model.task} model, written as {fmt} {options}")
    return data


# -- the tests -----------------------------------------------------------------------------------

MUTATORS: dict[str, Callable[[bytes], st.SearchStrategy[bytes]]] = {"json": json_mutation, "pmml": xml_mutation, "onnx": onnx_mutation}


def fuzz_one(fmt: str, data: st.DataObject) -> None:
    with memory_limit():  # writing the seed and mutating it too: a blow-up anywhere is a MemoryError here
        original = data.draw(seed(fmt), label="seed")
        structural = data.draw(st.integers(0, 3), label="structural?") > 0
        mutated = data.draw(MUTATORS[fmt](original) if structural else byte_mutation(original), label="mutated")
        if fmt != "onnx" and data.draw(st.integers(0, 9), label="gzip?") == 0:
            mutated = gzip.compress(mutated, mtime=0)
        outcome = check(fmt, mutated)
    event(f"{fmt}: {outcome}")
    assume(not outcome.startswith(("known bug", "collected")))


@FUZZ
@given(data=st.data())
def test_fuzz_json(data: st.DataObject) -> None:
    fuzz_one("json", data)


@FUZZ
@given(data=st.data())
def test_fuzz_pmml(data: st.DataObject) -> None:
    fuzz_one("pmml", data)


@FUZZ
@given(data=st.data())
def test_fuzz_onnx(data: st.DataObject) -> None:
    fuzz_one("onnx", data)


@pytest.mark.parametrize("fmt", ["json", "pmml", "onnx"])
def test_seeds_load_and_score(fmt: str) -> None:
    """The unmutated seeds are sound (else the fuzz tests would test nothing)."""
    seeds = {"pmml": pmml_fixtures(), "onnx": onnx_fixtures()}.get(fmt) or tuple(
        d for d in (write(m, "json") for m in fixture_models()) if d is not None
    )
    assert len(seeds) >= 10
    outcomes = [check(fmt, s) for s in seeds]
    assert all(o.startswith(("loaded", "known bug")) for o in outcomes), outcomes
    assert sum(o.startswith("loaded") for o in outcomes) >= len(seeds) // 2, outcomes


def test_oracle_fails_on_a_non_portamodel_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The oracle itself can fail: a reader raising KeyError is reported, not swallowed."""
    import portamodel.formats.json as json_format

    def broken(source: Any, **options: Any) -> Model:
        raise KeyError("boom")

    monkeypatch.setattr(json_format, "read", broken)
    with pytest.raises(KeyError):
        check("json", b"{}")


# -- regression tests for bugs the fuzzer found outside the readers (reader ones are in the hostile corpus)


def test_tree_with_nan_leaf_values_scores_without_warning() -> None:
    from portamodel.ir import Field, Target, TreeEnsemble

    stump = TreeEnsemble(
        features=("x",), roots=[0], feature=[0, -1, -1], threshold=[0.5, 0.0, 0.0], op=[0, 0, 0],
        true_child=[1, -1, -1], false_child=[2, -1, -1], missing=[0, 0, 0],
        values=[[np.nan], [np.nan], [2.0]],  # a "no prediction" leaf, as PMML nullPrediction gives
    )  # fmt: skip
    model = Model(inputs=(Field(name="x"),), target=Target(name="y", task="regression"), estimator=stump)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = model.predict({"x": [0.0, 1.0]})
    assert np.isnan(out[0]) and out[1] == 2.0


def test_lookup_with_a_huge_integer_value_is_refused_or_scores() -> None:
    from portamodel.errors import IRValidationError
    from portamodel.ir import Field, LinearModel, Lookup, Target

    try:
        model = Model(
            inputs=(Field(name="c", dtype="string", optype="categorical"),),
            steps=(Lookup(input="c", output="code", keys=("a",), values=(10**400,)),),
            target=Target(name="y", task="regression"),
            estimator=LinearModel(features=("code",), coefficients=[[1.0]], intercepts=[0.0]),
        )
    except IRValidationError:
        return  # refusing the model is a fix too
    model.predict({"c": ["a", "b"]})


def test_derive_type_error_is_found_when_the_model_is_built() -> None:
    from portamodel.errors import IRValidationError
    from portamodel.ir import Apply, Derive, Field, FieldRef, LinearModel, Target

    with pytest.raises(IRValidationError):
        Model(
            inputs=(Field(name="c", dtype="string", optype="categorical"),),
            steps=(Derive(output="d", expression=Apply(function="max", args=(FieldRef(name="c"),))),),
            target=Target(name="y", task="regression"),
            estimator=LinearModel(features=("d",), coefficients=[[1.0]], intercepts=[0.0]),
        )


@pytest.mark.parametrize("case", ["string column declared double", "numeric function of a nested string if"])
def test_derive_kind_errors_are_found_when_the_model_is_built(case: str) -> None:
    from portamodel.errors import IRValidationError
    from portamodel.ir import Apply, Constant, Derive, Field, FieldRef, LinearModel, Target

    if case.startswith("string column"):
        expression: Any = FieldRef(name="c")
    else:
        choose = Apply(function="if", args=(FieldRef(name="x"), Constant(value="a"), Constant(value="b")))
        expression = Apply(function="max", args=(choose,))
    with pytest.raises(IRValidationError):
        Model(
            inputs=(Field(name="c", dtype="string", optype="categorical"), Field(name="x")),
            steps=(Derive(output="d", expression=expression, dtype="double"),),
            target=Target(name="y", task="regression"),
            estimator=LinearModel(features=("x",), coefficients=[[1.0]], intercepts=[0.0]),
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q", *sys.argv[1:]]))
