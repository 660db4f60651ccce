"""Read PMML 4.0-4.4 into a :class:`~portamodel.ir.Model`.

The document streams through :func:`._xml.parse`; tree nodes are converted on the fly by
``_tree.TreeCollector`` (asking :class:`_DocInfo` about field types and target classes), then the
model element is converted part by part (``_models``) with PMML names resolved by ``_scope``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..._threads import run_all, usable_cpus
from ...errors import FormatError, LimitExceededError, PortamodelError, UnsupportedFeatureError
from ...ir import Apply, Constant, Derive, Field, FieldRef, Metadata, Model, Target
from ._expr import emit_derived, is_nan_token, typed_value
from ._fast import Tags, convert_tags, fast_tree, tree_structure
from ._models import MODEL_TAGS, Context, convert_model, finalize, model_children
from ._raw import Split, scan_region, split_document
from ._scope import Builder, Scope
from ._tree import RawTree, TreeCollector
from ._xml import Elem, Limits, local_name, lxml_xpath, parse, read_chunks

__all__ = ["read_pmml"]

_DTYPES = {"double": "double", "float": "float", "integer": "integer", "string": "string", "boolean": "boolean"}
_OPTYPES = ("continuous", "categorical", "ordinal")
_INVALID = {"returnInvalid": "error", "asIs": "as_is", "asMissing": "as_missing"}
#: Use the vectorised tree converter where it applies (tests switch it off to compare both paths).
USE_FAST_PATH = True
#: Cut tree regions out of the raw bytes (``_raw.py``) where that is provably safe.
USE_RAW_PATH = True
#: Threads converting the regions of the raw-byte path (None: one per usable CPU, at most 4). Each
#: region is scanned and converted on whichever thread takes it next (the calling thread too).
THREADS: int | None = None
#: Fewest regions for which threads are started.
PARALLEL_MIN_REGIONS = 4


class _Fallback(Exception):
    """The raw-byte path declines this document: read it the ordinary way."""


def _kids(el: Any, name: str) -> list[Any]:
    return [c for c in el if isinstance(c.tag, str) and local_name(c.tag) == name]


class _DocInfo:
    """Answers the tree converters' questions while the document is still streaming.

    Works on the lxml elements parsed so far: everything a tree refers to (DataDictionary,
    TransformationDictionary, enclosing models' LocalTransformations and MiningSchemas, earlier
    modelChain segments' outputs) precedes the tree in document order.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.root: Any = None
        self._dd: dict[str, Any] | None = None
        self._td: dict[str, Any] | None = None
        self.codes: dict[str, dict[str, float]] = {}
        self._classes: dict[str, list[str]] = {}
        self._etree: Any = None
        self.raw: _RawDoc | None = None
        self.fast_trees = 0  # trees converted by ``fast_tree`` (from lxml elements)
        self._types: dict[str, str] | None = None  # dataType of every document-level field
        self._scope_tm: Any = None
        self._scope_plain = False
        self._global_types: dict[str, str] = {}
        self._targets_above: dict[Any, tuple[int, str | None]] = {}

    def on_tree(self, tm: Any) -> list[RawTree]:
        """Convert one finished TreeModel (lxml element)."""
        if self.root is None:
            self.root = tm.getroottree().getroot()
            from lxml import etree

            self._etree = etree
        nodes = _kids(tm, "Node")
        if len(nodes) != 1:
            raise FormatError(f"a TreeModel needs exactly one root Node, found {len(nodes)}", location=lxml_xpath(tm))
        collector = TreeCollector(tm, self)  # validates the strategies
        if self.raw is not None and nodes[0].get(self.raw.marker) is not None:
            k = int(nodes[0].get(self.raw.marker))
            if self.raw.used[k]:
                raise _Fallback
            self.raw.used[k] = True
            payload: list[Any] = [None]  # filled in by :meth:`_RawDoc.convert` once the skeleton is parsed
            self.raw.jobs.append(_Job(k, tm, collector, self._snapshot(tm, collector), payload))
            return payload
        if self.raw is not None:
            self.raw.convert(self)  # the regions before this tree first: document order
        return [self._elem_tree(tm, nodes[0], collector)]

    def _elem_tree(self, tm: Any, node: Any, collector: TreeCollector) -> RawTree:
        """Convert the tree of lxml element ``node``: the vectorised converter, else the general one."""
        tree = None
        if USE_FAST_PATH:
            try:
                tree = fast_tree(tm, node, self, self._etree, collector)
            except PortamodelError:
                raise
            except (IndexError, ValueError, TypeError, KeyError):  # unusual input: the general path decides
                tree = None
        if tree is None:
            return collector.walk(node)
        self.fast_trees += 1
        return tree

    def _snapshot(self, tm: Any, collector: TreeCollector) -> _Snapshot | None:
        """What converting ``tm``'s region asks of the document, answered now (on this thread), so
        that another thread can convert it; None when ``tm`` sees more than document-level fields."""
        if not self._plain_scope(tm):
            return None
        if self._types is None:
            self._types = {name: str(f.get("dataType", "double")) for name, f in self.data_fields().items()}
            self._types.update((name, str(d.get("dataType", "double"))) for name, d in self.global_defs().items())
        classes = None
        if collector.classification:
            try:
                classes = self.classes(tm, collector.where)
            except PortamodelError:
                classes = None  # the calling thread converts this tree and reports it
        return _Snapshot(self.limits, self._types, classes, collector)

    def region_element(self, tm: Any, k: int) -> Any:
        """Region ``k`` parsed by lxml, at the same depth as in the document (raises :class:`_Fallback`
        when lxml rejects it: then the whole document is read again the ordinary way)."""
        raw = self.raw
        assert raw is not None
        a, b = raw.regions[k]
        depth = sum(1 for _ in tm.iterancestors()) + 1
        wrapped = b"<w>" * depth + bytes(raw.data[a:b]) + b"</w>" * depth
        parser = self._etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=self.limits.huge_tree, remove_comments=True, remove_pis=True
        )
        try:
            el = self._etree.fromstring(wrapped, parser)
        except self._etree.XMLSyntaxError:
            raise _Fallback from None
        for _ in range(depth):
            if len(el) != 1:
                raise _Fallback
            el = el[0]
        if not isinstance(el.tag, str) or local_name(el.tag) != "Node":
            raise _Fallback
        return el

    # document-level dictionaries (complete once a model starts: they come first)
    def data_fields(self) -> dict[str, Any]:
        if self._dd is None:
            self._dd = {}
            for dd in _kids(self.root, "DataDictionary"):
                for f in _kids(dd, "DataField"):
                    self._dd[f.get("name", "")] = f
        return self._dd

    def global_defs(self) -> dict[str, Any]:
        if self._td is None:
            self._td = {}
            for td in _kids(self.root, "TransformationDictionary"):
                for d in _kids(td, "DerivedField"):
                    self._td[d.get("name", "")] = d
        return self._td

    def _plain_scope(self, tm: Any) -> bool:
        """Does ``tm`` see only document-level fields (no LocalTransformations, no modelChain)?"""
        if self._scope_tm is not tm:
            self._scope_tm = tm
            self._scope_plain = True
            e = tm
            while e is not None and self._scope_plain:
                tag = local_name(e.tag)
                if tag in MODEL_TAGS and _kids(e, "LocalTransformations"):
                    self._scope_plain = False
                if tag == "Segment":
                    seg = e.getparent()
                    if seg is not None and seg.get("multipleModelMethod") == "modelChain":
                        self._scope_plain = False
                e = e.getparent()
        return self._scope_plain

    def field_type(self, tm: Any, name: str, where: Any) -> str:
        """PMML dataType of field ``name`` as seen from TreeModel ``tm``."""
        if self._plain_scope(tm):
            known = self._global_types.get(name)
            if known is None:
                known = self._global_types[name] = self._field_type(tm, name, where)
            return known
        return self._field_type(tm, name, where)

    def _field_type(self, tm: Any, name: str, where: Any) -> str:
        e = tm
        while e is not None:
            tag = local_name(e.tag)
            if tag in MODEL_TAGS:
                for lt in _kids(e, "LocalTransformations"):
                    for d in _kids(lt, "DerivedField"):
                        if d.get("name") == name:
                            return str(d.get("dataType", "double"))
            if tag == "Segment":
                seg = e.getparent()
                if seg is not None and seg.get("multipleModelMethod") == "modelChain":
                    for sib in e.itersiblings(preceding=True):
                        for m in sib:
                            if isinstance(m.tag, str) and local_name(m.tag) in MODEL_TAGS:
                                for out in _kids(m, "Output"):
                                    for of in _kids(out, "OutputField"):
                                        if of.get("name") == name:
                                            return str(of.get("dataType", "double"))
            e = e.getparent()
        d = self.global_defs().get(name)
        if d is not None:
            return str(d.get("dataType", "double"))
        f = self.data_fields().get(name)
        if f is not None:
            return str(f.get("dataType", "double"))
        raise FormatError(f"a tree splits on {name!r}, which is not defined", location=str(where))

    @staticmethod
    def _own_target(e: Any) -> str | None:
        """The last target / predicted MiningField of model element ``e`` (None: none, or not a model)."""
        name = None
        if local_name(e.tag) in MODEL_TAGS:
            for ms in _kids(e, "MiningSchema"):
                for mf in _kids(ms, "MiningField"):
                    if mf.get("usageType") in ("target", "predicted"):
                        name = mf.get("name")
        return name

    def category_code(self, tm: Any, name: str, value: str) -> float:
        table = self.codes.get(name)
        if table is None:
            table = self.codes[name] = {}
            f = self.data_fields().get(name)
            for v in _kids(f, "Value") if f is not None else []:
                if v.get("property", "valid") == "valid" and v.get("value") is not None:
                    table.setdefault(v.get("value"), float(len(table)))
        code = table.get(value)
        if code is None:
            code = table[value] = float(len(table))
        return code

    def classes(self, tm: Any, where: Any) -> list[str]:
        name = self._own_target(tm)
        if name is None:
            # the nearest model element above: its answer holds for every tree below it while it
            # has the same children (elements above it cannot change before it closes); the key
            # keeps the element alive
            e = tm.getparent()
            while e is not None and local_name(e.tag) not in MODEL_TAGS:
                e = e.getparent()
            if e is not None:
                known = self._targets_above.get(e)
                if known is not None and known[0] == len(e):
                    name = known[1]
                else:
                    up = e
                    while up is not None and name is None:
                        name = self._own_target(up)
                        up = up.getparent()
                    self._targets_above[e] = (len(e), name)
        if name is None:
            raise FormatError("a classification tree without a target field", location=str(where))
        if name not in self._classes:
            f = self.data_fields().get(name)
            if f is None:
                raise FormatError(f"target {name!r} is not in the DataDictionary", location=str(where))
            labels = [v.get("value", "") for v in _kids(f, "Value") if v.get("property", "valid") == "valid"]
            if len(labels) < 2:
                raise UnsupportedFeatureError(
                    f"classification target {name!r} must list its categories (Value elements)", location=str(where)
                )
            self._classes[name] = labels
        return self._classes[name]


def _target_name(elem: Elem) -> str | None:
    e: Elem | None = elem
    while e is not None:
        if e.tag in MODEL_TAGS:
            ms = e.find("MiningSchema")
            for mf in ms.findall("MiningField") if ms is not None else []:
                if mf.get("usageType") in ("target", "predicted"):
                    return mf.get("name")
        e = e.parent
    return None


def _data_fields(root: Elem) -> dict[str, Elem]:
    dd = root.find("DataDictionary")
    return {f.get("name", ""): f for f in dd.findall("DataField")} if dd is not None else {}


def _global_defs(root: Elem) -> dict[str, Elem]:
    td = root.find("TransformationDictionary")
    return {d.get("name", ""): d for d in td.findall("DerivedField")} if td is not None else {}


class _NeedCaller(Exception):
    """A region's conversion asks something only the calling thread can answer (category codes,
    fields outside the document-level dictionaries, a target that is not well defined)."""


class _Snapshot:
    """The answers a region's conversion needs from the document (``info`` for
    :func:`convert_tags`), taken on the calling thread; also the TreeModel's settings (the
    ``collector``) without its lxml element. Anything else raises :class:`_NeedCaller`."""

    where = "TreeModel"  # replaced by the element's XPath on the calling thread

    def __init__(self, limits: Limits, types: dict[str, str], classes: list[str] | None, collector: TreeCollector) -> None:
        self.limits = limits
        self._types = types
        self._classes = classes
        self.classification = collector.classification
        self.mvs = collector.mvs
        self.return_last = collector.return_last

    def field_type(self, tm: Any, name: str, where: Any) -> str:
        kind = self._types.get(name)
        if kind is None:
            raise _NeedCaller  # undefined: the calling thread reports it
        return kind

    def classes(self, tm: Any, where: Any) -> list[str]:
        if self._classes is None:
            raise _NeedCaller
        return self._classes

    def category_code(self, tm: Any, name: str, value: str) -> float:
        raise _NeedCaller  # codes are numbered in document order, on the calling thread


class _Job:
    """One region to convert: its TreeModel, the TreeModel's payload to fill, and the result."""

    __slots__ = ("collector", "k", "payload", "snapshot", "tags", "tm", "tree")

    def __init__(self, k: int, tm: Any, collector: TreeCollector, snapshot: _Snapshot | None, payload: list[Any]) -> None:
        self.k, self.tm, self.collector, self.snapshot, self.payload = k, tm, collector, snapshot, payload
        self.tags: Tags | None = None
        self.tree: RawTree | BaseException | None = None


class _RawDoc:
    """The raw bytes of a document read by the raw-byte path, its cut regions, and the regions'
    conversions (:meth:`convert`)."""

    def __init__(self, data: bytes | bytearray, cut: Split) -> None:
        self.data = data
        self.buf = np.frombuffer(data, dtype=np.uint8)
        self.regions = cut.regions
        self.marker = cut.marker
        self.used = [False] * len(cut.regions)
        self.fast = 0  # regions converted straight from bytes
        self.jobs: list[_Job] = []  # regions met so far; the first ``done`` are converted
        self.done = 0

    def _run(self, job: _Job) -> None:
        """Scan and, where the snapshot allows, convert one region (on any thread)."""
        a, b = self.regions[job.k]
        job.tags = _scan(self.buf[a:b])
        if job.tags is None or job.snapshot is None:
            return
        try:
            job.tree = convert_tags(job.tags, None, job.snapshot, job.snapshot)  # type: ignore[arg-type]
            job.tags = None  # converted or declined: its scratch arrays (a padded copy of the region) can go
        except _NeedCaller:
            job.tree = None  # the calling thread converts it from these tags
        except PortamodelError as exc:
            job.tree = exc
        except (IndexError, ValueError, TypeError, KeyError):  # unusual input: lxml and the general path decide
            job.tags = None

    def convert(self, info: _DocInfo) -> None:
        """Convert the regions met since the last call into their TreeModels' payloads, in parallel
        where possible.

        Regions are scanned and converted on :data:`THREADS` threads (:func:`run_all`); regions the
        snapshot cannot convert, and regions the scanner declines, are finished here afterwards, in
        document order, so errors and category codes come out as a sequential read gives them.
        """
        jobs = self.jobs[self.done :]
        self.done = len(self.jobs)
        run_all(self._run, jobs, _thread_count(len(jobs)))
        for job in jobs:
            tree = job.tree
            if isinstance(tree, BaseException):
                raise tree
            if tree is None and job.tags is not None:
                try:
                    tree = convert_tags(job.tags, job.tm, info, job.collector)
                except PortamodelError:
                    raise
                except (IndexError, ValueError, TypeError, KeyError):  # unusual input: lxml and the general path decide
                    tree = None
            if tree is not None:
                tree.where = job.collector.where  # type: ignore[assignment]
                self.fast += 1
            else:
                tree = info._elem_tree(job.tm, info.region_element(job.tm, job.k), job.collector)
            job.payload[0] = tree
            job.tags = job.tree = None


def _thread_count(jobs: int) -> int:
    if jobs < PARALLEL_MIN_REGIONS:
        return 1
    return min(4, usable_cpus()) if THREADS is None else max(1, THREADS)


def _scan(buf: Any) -> Tags | None:
    """:func:`scan_region` and :func:`tree_structure` (None if either declines the region)."""
    try:
        tags = scan_region(buf)
        if tags is not None:
            tags.structure = tree_structure(tags)
            if tags.structure is None:
                return None  # convert_tags would decline it too
        return tags
    except (IndexError, ValueError, TypeError, KeyError):  # unusual input: lxml and the general path decide
        return None


#: Regions converted by the raw-byte path in the last read, and trees converted by the vectorised
#: converter from lxml elements (tests check which path was taken).
last_raw_regions = 0
last_fast_trees = 0


def _load_bytes(source: bytes | Path, max_bytes: int) -> bytes | bytearray | None:
    """The whole (decompressed) document, or None to leave errors to the ordinary path."""
    try:
        if isinstance(source, Path):
            with open(source, "rb") as fh:
                magic = fh.read(2)
                size = os.fstat(fh.fileno()).st_size
            if magic != b"\x1f\x8b":
                return source.read_bytes() if size <= max_bytes else None
        elif bytes(source[:2]) != b"\x1f\x8b":
            return source if isinstance(source, (bytes, bytearray)) else bytes(source)
        data = bytearray()
        for chunk in read_chunks(source, max_bytes):
            data += chunk
        return data
    except (OSError, PortamodelError):
        return None


def _read_raw(source: bytes | Path, lim: Limits) -> Model | None:
    """The raw-byte path (``_raw.py``), or None when it does not apply."""
    data = _load_bytes(source, lim.max_bytes)
    if data is None:
        return None
    cut = split_document(data)
    if cut is None:
        return None
    info = _DocInfo(lim)
    info.raw = _RawDoc(data, cut)
    return _read_cut(cut, info)


def _read_cut(cut: Split, info: _DocInfo) -> Model | None:
    """Parse the skeleton (regions converted as their placeholders stream by), or None."""
    global last_raw_regions
    lim = info.limits
    assert info.raw is not None
    try:
        root = parse(cut.skeleton, limits=lim, on_tree=info.on_tree)
        if not all(info.raw.used):
            return None  # a region did not end up as a TreeModel's root Node
        info.raw.convert(info)
        model = _convert(root, info)
    except (_Fallback, PortamodelError, RecursionError):
        return None  # the ordinary path reads it (and reports errors with their original lines)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):  # pragma: no cover - a reader bug
        return None
    last_raw_regions = info.raw.fast
    return model


def read_pmml(source: bytes | Path, *, huge_tree: bool = False, limits: Limits | None = None) -> Model:
    """Read a PMML document (see :func:`portamodel.formats.pmml.read`)."""
    global last_raw_regions, last_fast_trees
    lim = limits or Limits(huge_tree=huge_tree)
    last_raw_regions = last_fast_trees = 0
    if USE_FAST_PATH and USE_RAW_PATH:
        model = _read_raw(source, lim)
        if model is not None:
            return model
    info = _DocInfo(lim)
    root = parse(source, limits=lim, on_tree=info.on_tree)
    last_fast_trees = info.fast_trees
    where = str(source) if isinstance(source, Path) else "input"
    try:
        return _convert(root, info)
    except RecursionError:
        raise LimitExceededError("expressions nest too deeply", location=where) from None
    except PortamodelError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:  # pragma: no cover - a reader bug
        raise FormatError(f"cannot read this PMML ({type(exc).__name__}: {exc})", location=where) from exc


def _convert(root: Elem, info: _DocInfo) -> Model:
    version = root.get("version", "")
    if version and not version.startswith("4.") and not version.startswith("3."):
        raise UnsupportedFeatureError(f"PMML version {version!r} is not supported (4.x)", location="/PMML")
    models = [m for m in model_children(root) if m.get("isScorable", "true") != "false"]
    if not models:
        found = [c.tag for c in root.children if c.tag not in ("Header", "DataDictionary", "TransformationDictionary", "MiningBuildTask")]
        raise UnsupportedFeatureError(f"no supported model element (found: {', '.join(found) or 'none'})", location="/PMML")
    top = models[0]
    data_fields = _data_fields(root)
    target_name = _target_name(top)
    if target_name is None:
        raise UnsupportedFeatureError("the model has no target field (usageType='target')", location=top.xpath + "/MiningSchema")
    fn = top.get("functionName")
    if fn not in ("regression", "classification"):
        raise UnsupportedFeatureError(f"functionName={fn!r} is not supported (regression, classification)", location=top.xpath)
    b = Builder()
    ms = top.find("MiningSchema")
    mining = {mf.get("name", ""): mf for mf in (ms.findall("MiningField") if ms is not None else [])}
    inputs: dict[str, Field] = {}
    root_scope = Scope(b, None, where="/PMML/DataDictionary")
    root_scope.emit_derived = emit_derived
    root_scope.global_defs = _global_defs(root)
    # global derived fields live in their own scope between the data and the models
    global_scope = root_scope.child(defs=dict(root_scope.global_defs), where="/PMML/TransformationDictionary")

    def add_input(name: str) -> str:
        f = data_fields.get(name)
        if f is None:
            raise FormatError(f"field {name!r} is not in the DataDictionary", location="/PMML/DataDictionary")
        field, tokens = _field(f, mining.get(name))
        inputs[name] = field
        b.names.add(name)
        b.kinds[name] = "string" if field.dtype == "string" else "number"
        if field.dtype == "float":
            b.floats.add(name)
        col = name
        if tokens:
            col = _missing_tokens(b, name, field, tokens)
        return col

    for name in data_fields:
        if name == target_name:
            continue
        mf = mining.get(name)
        if mf is not None and mf.get("usageType", "active") == "active":
            root_scope.extra[name] = add_input(name)
        else:
            root_scope.overrides[name] = lambda n=name: add_input(n)  # type: ignore[misc]
    if target_name not in data_fields:
        raise FormatError(f"target {target_name!r} is not in the DataDictionary", location="/PMML/DataDictionary")
    tf = data_fields[target_name]
    if fn == "classification":
        if tf.get("optype") == "ordinal":
            raise UnsupportedFeatureError("ordinal targets are not supported", location=tf.xpath)
        labels = [v.get("value", "") for v in tf.findall("Value") if v.get("property", "valid") == "valid"]
        if len(labels) < 2:
            raise UnsupportedFeatureError(
                f"classification target {target_name!r} must list its categories (Value elements)", location=tf.xpath
            )
        dtype = tf.get("dataType", "string")
        classes = [typed_value(v, dtype if dtype in ("integer", "double", "float", "boolean") else "string", tf.xpath) for v in labels]
    else:
        labels, classes = [], []
    ctx = Context(b, fn, target_name, classes, labels, info.codes)
    part = convert_model(top, global_scope, ctx)
    estimator = finalize(part, ctx)
    target = Target(name=target_name, task=fn, classes=tuple(classes))  # type: ignore[arg-type]
    ordered = [inputs[n] for n in data_fields if n in inputs]
    if not ordered:
        raise UnsupportedFeatureError("the model uses no input fields", location=top.xpath)
    return Model(inputs=tuple(ordered), target=target, estimator=estimator, steps=tuple(b.steps), metadata=_metadata(root, top))


def _field(f: Elem, mf: Elem | None) -> tuple[Field, list[str]]:
    name = f.get("name", "")
    dt = f.get("dataType")
    if dt not in _DTYPES:
        raise UnsupportedFeatureError(f"dataType={dt!r} is not supported (double, float, integer, string, boolean)", location=f.xpath)
    optype = f.get("optype") or ("continuous" if dt in ("double", "float", "integer") else "categorical")
    if optype not in _OPTYPES:
        raise FormatError(f"unknown optype {optype!r}", location=f.xpath)
    if optype == "continuous" and dt in ("string",):
        optype = "categorical"
    values: list[Any] = []
    tokens: list[str] = []
    for v in f.findall("Value"):
        prop = v.get("property", "valid")
        text = v.get("value")
        if text is None:
            raise FormatError("Value without a value attribute", location=v.xpath)
        if prop == "missing":
            tokens.append(text)
        elif prop == "valid" and optype != "continuous":
            values.append(typed_value(text, dt, v.xpath))
    invalid = "error"
    if mf is not None:
        ivt = mf.get("invalidValueTreatment", "returnInvalid")
        if ivt not in _INVALID:
            raise UnsupportedFeatureError(f"invalidValueTreatment={ivt!r} is not supported", location=mf.xpath)
        invalid = _INVALID[ivt]
    field = Field(name=name, dtype=_DTYPES[dt], optype=optype, values=tuple(dict.fromkeys(values)), invalid=invalid)  # type: ignore[arg-type]
    return field, tokens


def _missing_tokens(b: Builder, name: str, field: Field, tokens: list[str]) -> str:
    """Values declared ``property="missing"`` become missing (NaN tokens already are)."""
    numeric = field.dtype != "string"
    real = [t for t in tokens if not (numeric and is_nan_token(t))]
    if not real:
        return name
    x = FieldRef(name=name)
    conds = []
    for t in real:
        v = typed_value(t, field.dtype, f"DataField {name!r}")
        conds.append(Apply(function="equal", args=(x, Constant(value=float(v) if isinstance(v, bool) else v))))
    cond = conds[0] if len(conds) == 1 else Apply(function="or", args=tuple(conds))
    out = b.fresh(f"{name}(valid)")
    b.add(
        Derive(
            output=out, expression=Apply(function="if", args=(cond, Constant(value=None), x)), dtype="string" if not numeric else "double"
        ),
        "string" if not numeric else "number",
    )
    if name in b.floats:
        b.floats.add(out)
    return out


def _metadata(root: Elem, top: Elem) -> Metadata:
    header = root.find("Header")
    extra: dict[str, str] = {}
    if root.get("version"):
        extra["pmml_version"] = root.get("version", "")
    fields = {"name": top.get("modelName", ""), "description": "", "producer": "", "producer_version": "", "version": "", "created": ""}
    if header is not None:
        fields["description"] = header.get("description", "")
        fields["version"] = header.get("modelVersion", "")
        if header.get("copyright"):
            extra["copyright"] = header.get("copyright", "")
        app = header.find("Application")
        if app is not None:
            fields["producer"], fields["producer_version"] = app.get("name", ""), app.get("version", "")
        ts = header.find("Timestamp")
        if ts is not None:
            fields["created"] = ts.text.strip()
        mine = {e.get("name", ""): e.get("value", "") for e in header.findall("Extension") if e.get("extender") == "portamodel"}
        if mine:  # written by portamodel: the original metadata
            extra.pop("pmml_version", None)
            for key, value in mine.items():
                if key.startswith("extra."):
                    extra[key[6:]] = value
                elif key in fields:
                    fields[key] = value
            fields["producer"] = mine.get("producer", "")
            fields["producer_version"] = mine.get("producer_version", "")
            return Metadata(**fields, extra=extra)
    if top.get("algorithmName"):
        extra["algorithm"] = top.get("algorithmName", "")
    return Metadata(**fields, extra=extra)
