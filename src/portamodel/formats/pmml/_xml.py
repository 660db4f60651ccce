"""Safe, streaming XML input for the PMML reader.

The document streams in chunks through lxml's ``iterparse`` (libxml2 builds elements in C).
Each ``TreeModel`` -- nearly all of a large forest -- is converted into flat arrays as soon as
its end tag is seen and its nodes are dropped (see ``_fast.py`` / ``_tree.py``), so memory stays
bounded by the largest single tree, not by the file. What remains (dictionaries, schemas,
segment shells) is copied into small :class:`Elem` objects for the model conversion.

Safety: no DTD is loaded, no entity is resolved, no network access; a DOCTYPE is refused before
the root element starts; input size (after gzip), nesting depth and element count are capped and
reported as :class:`~portamodel.errors.LimitExceededError`. ``huge_tree=True`` lifts libxml2's own
limits (depth 256, text nodes of 10 MB) for trusted, very deep files.

>>> root = parse(b'<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/></PMML>')
>>> root.tag, root.get("version"), [c.tag for c in root.children]
('PMML', '4.4', ['Header'])
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from ...errors import FormatError, LimitExceededError, MissingDependencyError, PortamodelError

__all__ = ["Elem", "Limits", "parse", "read_chunks"]

PMML_NS_PREFIX = "http://www.dmg.org/PMML-"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Safety limits of one read (all counts after gzip decompression)."""

    max_bytes: int = 4 << 30
    max_depth: int = 2000
    max_elements: int = 200_000_000
    max_tree_nodes: int = 100_000_000
    huge_tree: bool = False


class Elem:
    """A parsed XML element: local ``tag`` (namespace dropped for PMML elements), ``attrib``,
    ``children``, ``text``; ``payload`` carries converted data (a TreeModel's trees)."""

    __slots__ = ("attrib", "children", "index", "ns", "parent", "payload", "tag", "text")

    def __init__(self, tag: str, ns: str, attrib: dict[str, str], parent: Elem | None) -> None:
        self.tag = tag
        self.ns = ns
        self.attrib = attrib
        self.children: list[Elem] = []
        self.text = ""
        self.parent = parent
        self.payload: Any = None
        self.index = 1  # position among same-tag siblings (1-based), for XPath
        if parent is not None:
            for sib in reversed(parent.children):
                if sib.tag == tag:
                    self.index = sib.index + 1
                    break
            parent.children.append(self)

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrib.get(name, default)

    def num(self, name: str, default: float | None = None) -> float:
        """Attribute ``name`` as a number (``default`` if absent; required if no default)."""
        text = self.attrib.get(name)
        if text is None:
            if default is None:
                raise FormatError(f"<{self.tag}> needs a {name!r} attribute", location=self.xpath)
            return default
        try:
            return float(text)
        except ValueError:
            raise FormatError(f"{name}={text!r} is not a number", location=self.xpath) from None

    def find(self, tag: str) -> Elem | None:
        for c in self.children:
            if c.tag == tag:
                return c
        return None

    def findall(self, tag: str) -> list[Elem]:
        return [c for c in self.children if c.tag == tag]

    @property
    def xpath(self) -> str:
        """Location like ``/PMML/MiningModel/Segmentation/Segment[3]/TreeModel``."""
        parts: list[str] = []
        e: Elem | None = self
        while e is not None:
            p = e.parent
            many = p is not None and (e.index > 1 or sum(1 for c in p.children if c.tag == e.tag) > 1)
            parts.append(f"{e.tag}[{e.index}]" if many else e.tag)
            e = p
        return "/" + "/".join(reversed(parts))

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Elem {self.xpath}>"


# -- byte sources -------------------------------------------------------------------------------


def read_chunks(source: bytes | Path, max_bytes: int) -> Iterator[bytes]:
    """Yield the (decompressed) bytes of ``source`` in chunks; gzip is detected by its magic."""
    where = str(source) if isinstance(source, Path) else "input"
    if isinstance(source, (bytes, bytearray, memoryview)):
        fh: Any = io.BytesIO(bytes(source))
    else:
        try:
            fh = open(source, "rb")  # noqa: SIM115 - closed in finally
        except OSError as exc:
            raise PortamodelError(f"cannot open: {exc.strerror}", location=where) from None
    try:
        first = fh.read(_CHUNK)
        if first[:2] == b"\x1f\x8b":
            yield from _gunzip(first, fh, max_bytes, where)
            return
        total = 0
        chunk = first
        while chunk:
            total += len(chunk)
            if total > max_bytes:
                raise LimitExceededError(f"document is larger than max_bytes={max_bytes}", location=where)
            yield chunk
            chunk = fh.read(_CHUNK)
    finally:
        fh.close()


def _gunzip(first: bytes, fh: Any, max_bytes: int, where: str) -> Iterator[bytes]:
    total = 0
    data = first
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while data:
            try:
                out = d.decompress(data, _CHUNK)
                while out:
                    total += len(out)
                    if total > max_bytes:
                        raise LimitExceededError(f"decompressed document is larger than max_bytes={max_bytes}", location=where)
                    yield out
                    out = d.decompress(d.unconsumed_tail, _CHUNK) if d.unconsumed_tail else b""
            except zlib.error as exc:
                raise FormatError(f"corrupt gzip data: {exc}", location=where) from None
            if d.eof:
                break
            data = fh.read(_CHUNK)
        if not d.eof:
            raise FormatError("truncated gzip data", location=where)
        data = d.unused_data or fh.read(_CHUNK)  # concatenated gzip members


# -- parsing -------------------------------------------------------------------------------------

#: Elements whose subtrees are skipped entirely (vendor extensions, documentation).
_SKIP = frozenset({"Extension", "Annotation", "ModelVerification", "ModelExplanation", "ModelStats", "Partition"})


class _ChunkReader:
    """File-like view of :func:`read_chunks` for lxml (``read(n)`` may return fewer bytes)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.chunk = b""
        self.pos = 0
        self.started = False

    def read(self, n: int = -1) -> bytes:
        if self.pos >= len(self.chunk):
            self.chunk = next(self.chunks, b"")
            self.pos = 0
            if not self.started:
                self.started = True
                check_prolog(self.chunk)
            if not self.chunk:
                return b""
        if n < 0:
            n = len(self.chunk)
        out = self.chunk[self.pos : self.pos + n]
        self.pos += len(out)
        return out


def check_prolog(head: bytes) -> None:
    """Refuse a DOCTYPE (it must come before the root element) without parsing it."""
    utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff")
    text = head.decode("utf-16", errors="ignore") if utf16 else head.decode("latin-1")
    i = 0
    n = len(text)
    while i < n:
        j = text.find("<", i)
        if j < 0:
            return
        if text.startswith("<?", j):
            k = text.find("?>", j)
        elif text.startswith("<!--", j):
            k = text.find("-->", j)
        elif text[j : j + 9].upper() == "<!DOCTYPE":
            raise FormatError("a DOCTYPE is not allowed in PMML (refused for safety: no DTDs, no entities)")
        else:
            return  # the root element starts
        if k < 0:
            return
        i = k + 2


def local_name(tag: Any) -> str:
    """Local name of an lxml tag for PMML (or un-namespaced) elements; ``{ns}name`` otherwise."""
    if not isinstance(tag, str):
        return ""
    if tag[:1] != "{":
        return tag
    ns, _, local = tag[1:].partition("}")
    return local if ns.startswith(PMML_NS_PREFIX) else tag


def lxml_xpath(el: Any) -> str:
    """``/PMML/MiningModel/Segmentation/Segment[3]/TreeModel`` for an lxml element."""
    parts: list[str] = []
    while el is not None:
        name = local_name(el.tag)
        parent = el.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == el.tag]
            parts.append(f"{name}[{same.index(el) + 1}]" if len(same) > 1 else name)
        else:
            parts.append(name)
        el = parent
    return "/" + "/".join(reversed(parts))


def _lxml() -> Any:
    try:
        from lxml import etree
    except ImportError:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("reading PMML needs lxml: pip install portamodel[pmml]") from None
    return etree


def parse(
    source: bytes | Path,
    *,
    limits: Limits = Limits(),
    on_tree: Callable[[Any], Any] | None = None,
) -> Elem:
    """Parse a PMML document (bytes or a path, optionally gzipped) into :class:`Elem` objects.

    lxml builds each ``TreeModel`` in C; when one is complete, ``on_tree(lxml_element)`` converts
    it and its node subtree is dropped, so memory is bounded by the largest single tree. The
    result of ``on_tree`` becomes the ``payload`` of the TreeModel's :class:`Elem`.
    """
    etree = _lxml()
    where = str(source) if isinstance(source, Path) else "input"
    stream = _ChunkReader(read_chunks(source, limits.max_bytes))
    payloads: dict[Any, Any] = {}
    try:
        it = etree.iterparse(
            stream,
            events=("end",),
            tag=("{*}TreeModel",),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=limits.huge_tree,
            remove_comments=True,
            remove_pis=True,
        )
        for _, tm in it:
            if on_tree is not None and local_name(tm.tag) == "TreeModel":
                payloads[tm] = on_tree(tm)
            for child in tm:
                if local_name(child.tag) == "Node":
                    child.clear()  # frees the subtree (removing it would re-walk it in C)
        root = it.root
    except PortamodelError as exc:
        if exc.location is None:
            raise type(exc)(exc.message, location=where) from None
        raise
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, where) from None
    except (MemoryError, RecursionError) as exc:  # pragma: no cover - pathological input
        raise LimitExceededError(f"document too large or too deep: {type(exc).__name__}", location=where) from None
    except (IndexError, KeyError, TypeError, ValueError, AttributeError) as exc:  # pragma: no cover - a converter bug
        raise FormatError(f"cannot read this tree ({type(exc).__name__}: {exc})", location=where) from exc
    if root is None:
        raise FormatError("empty document: no <PMML> element", location=where)
    if root.getroottree().docinfo.doctype:
        raise FormatError("a DOCTYPE is not allowed in PMML (refused for safety: no DTDs, no entities)", location=where)
    tag = root.tag if isinstance(root.tag, str) else ""
    if local_name(tag) != "PMML":
        ns = tag[1:].partition("}")[0] if tag.startswith("{") else ""
        what = f"in namespace {ns!r}, not a PMML namespace" if ns and tag.endswith("}PMML") else f"<{local_name(tag)}>, expected <PMML>"
        raise FormatError(f"the root element is {what}", location=where)
    return _to_elems(root, payloads, limits, where)


def _to_elems(root: Any, payloads: dict[Any, Any], limits: Limits, where: str) -> Elem:
    """Copy the (tree-less) lxml document into :class:`Elem` objects, iteratively."""
    top = Elem("PMML", "", dict(root.attrib), None)
    count = 1
    stack: list[tuple[Any, Elem, int]] = [(root, top, 1)]
    while stack:
        src, dst, depth = stack.pop()
        if depth > limits.max_depth:
            raise LimitExceededError(f"elements nest deeper than max_depth={limits.max_depth}", location=f"{where}: {dst.xpath}")
        if src.text and len(src) == 0:
            dst.text = src.text
        pending = []
        for child in src:
            tag = child.tag
            if not isinstance(tag, str):
                continue  # comments, processing instructions, entity references
            name = local_name(tag)
            if (name in _SKIP and not (name == "Extension" and dst.tag == "Header")) or (name == "Node" and dst.tag == "TreeModel"):
                continue
            count += 1
            if count > limits.max_elements:
                raise LimitExceededError(f"more than max_elements={limits.max_elements} elements", location=where)
            ns = tag[1:].partition("}")[0] if tag[:1] == "{" else ""
            el = Elem(name, ns, dict(child.attrib), dst)
            if child in payloads:
                el.payload = payloads[child]
            pending.append((child, el, depth + 1))
        _check_counts(dst)
        stack.extend(reversed(pending))
    return top


def parse_array(el: Elem, where: Any) -> list[str]:
    """Tokens of a PMML ``Array`` (whitespace separated; double quotes allow spaces, ``\\"`` escapes)."""
    text = el.text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == '"':
            j = i + 1
            buf = []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise FormatError("unterminated quoted string in Array", location=str(where))
            out.append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            out.append(text[i:j])
            i = j
    declared = el.get("n")
    if declared is not None and declared.strip().isdigit() and int(declared) != len(out):
        raise FormatError(f"Array declares n={declared} but holds {len(out)} values", location=str(where))
    return out


#: Declared counts PMML elements carry: element -> (attribute, counted child element).
_COUNTS = {
    "DataDictionary": ("numberOfFields", "DataField"),
    "NeuralNetwork": ("numberOfLayers", "NeuralLayer"),
    "NeuralInputs": ("numberOfInputs", "NeuralInput"),
    "NeuralLayer": ("numberOfNeurons", "Neuron"),
    "NeuralOutputs": ("numberOfOutputs", "NeuralOutput"),
    "Segmentation": ("numberOfSegments", "Segment"),
}


def _check_counts(el: Elem) -> None:
    """A declared count that disagrees with the content is a malformed file (not a size to trust)."""
    if el.tag == "Array":
        parse_array(el, el.xpath)  # checks n
        return
    spec = _COUNTS.get(el.tag)
    if spec is None or el.get(spec[0]) is None:
        return
    text = el.get(spec[0], "")
    actual = sum(1 for c in el.children if c.tag == spec[1])
    if not text.strip().isdigit() or int(text) != actual:
        raise FormatError(f"{spec[0]}={text!r} but there are {actual} <{spec[1]}> elements", location=el.xpath)


def _syntax_error(exc: Any, where: str) -> PortamodelError:
    msg = str(exc)
    line = getattr(exc, "lineno", None) or (exc.position[0] if getattr(exc, "position", None) else None)
    log = [e for e in getattr(exc, "error_log", None) or [] if getattr(e, "message", "")]
    if log:  # iterparse's own message is often generic ("no element found"); libxml2's log is precise
        msg, line = log[-1].message, log[-1].line
    loc = f"{where}, line {line}" if line else where
    low = msg.lower()
    if "excessive depth" in low or "huge" in low or "xml_parse_huge" in low:
        return LimitExceededError(f"{msg} (pass huge_tree=True for trusted files)", location=loc)
    if "entity" in low and ("not defined" in low or "undefined" in low or "reference" in low):
        return FormatError(f"entity references are not allowed: {msg}", location=loc)
    return FormatError(f"not well-formed XML: {msg}", location=loc)
