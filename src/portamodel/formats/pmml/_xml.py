"""Safe, streaming XML input for the PMML reader.

The document is fed in chunks to an lxml parser with a *target* (SAX-like callbacks), so no lxml
tree is built: ordinary elements become small :class:`Elem` objects, and the ``Node`` subtrees of
``TreeModel`` elements -- nearly all of a large forest -- are handed to a tree collector that
turns them into flat arrays as they stream past (see ``_tree.py``). Memory therefore stays
bounded by the largest single tree, not by the file.

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
from typing import Any

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

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrib.get(name, default)

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


# -- the parser target --------------------------------------------------------------------------

#: Elements whose subtrees are skipped entirely (vendor extensions, documentation).
_SKIP = frozenset({"Extension", "Annotation", "ModelVerification", "ModelExplanation", "ModelStats", "Partition"})


class _Target:
    """lxml parser target: builds :class:`Elem` objects and routes tree nodes to a collector."""

    def __init__(self, limits: Limits, where: str, tree_collector: Callable[[Elem], Any] | None) -> None:
        self.limits = limits
        self.where = where
        self.make_collector = tree_collector
        self.root: Elem | None = None
        self.cur: Elem | None = None
        self.depth = 0
        self.count = 0
        self.skip = 0  # > 0 while inside a skipped subtree
        self.names: dict[str, tuple[str, str]] = {}
        self.collector: Any = None  # active tree collector (inside TreeModel/Node)
        self.collector_depth = 0
        self.error: BaseException | None = None

    # lxml calls these -----------------------------------------------------------------------
    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise FormatError("a DOCTYPE is not allowed in PMML (refused for safety: no DTDs, no entities)", location=self.where)

    def start(self, tag: str, attrib: Any) -> None:
        self.depth += 1
        self.count += 1
        if self.depth > self.limits.max_depth:
            raise LimitExceededError(f"elements nest deeper than max_depth={self.limits.max_depth}", location=self._loc())
        if self.count > self.limits.max_elements:
            raise LimitExceededError(f"more than max_elements={self.limits.max_elements} elements", location=self.where)
        if self.skip:
            self.skip += 1
            return
        try:
            local, ns = self.names[tag]
        except KeyError:
            local, ns = self._name(tag)
        col = self.collector
        if col is not None:
            self.collector_depth += 1
            col.start(local, ns, attrib)
            return
        if local in _SKIP:
            self.skip = 1
            return
        if self.root is None:
            if local != "PMML":
                raise FormatError(f"the root element is <{local}>, expected <PMML>", location=self.where)
            if ns and not ns.startswith(PMML_NS_PREFIX):
                raise FormatError(f"the root element is in namespace {ns!r}, not a PMML namespace", location=self.where)
        parent = self.cur
        if local == "Node" and parent is not None and parent.tag == "TreeModel" and self.make_collector is not None:
            self.collector = self.make_collector(parent)
            self.collector_depth = 1
            self.collector.start(local, ns, attrib)
            return
        el = Elem(local, ns, dict(attrib), parent)
        if parent is None:
            self.root = el
        self.cur = el

    def end(self, tag: str) -> None:
        self.depth -= 1
        if self.skip:
            self.skip -= 1
            return
        col = self.collector
        if col is not None:
            col.end()
            self.collector_depth -= 1
            if self.collector_depth == 0:
                col.finish()
                self.collector = None
            return
        el = self.cur
        if el is not None:
            self.cur = el.parent

    def data(self, text: str) -> None:
        if self.skip:
            return
        col = self.collector
        if col is not None:
            col.data(text)
            return
        el = self.cur
        if el is not None:
            el.text += text

    def close(self) -> Elem | None:
        return self.root

    # helpers ----------------------------------------------------------------------------------
    def _name(self, tag: str) -> tuple[str, str]:
        if tag[:1] == "{":
            ns, _, local = tag[1:].partition("}")
        else:
            ns, local = "", tag
        # a foreign element keeps its namespace, so it never matches a PMML name
        result = (f"{{{ns}}}{local}", ns) if ns and not ns.startswith(PMML_NS_PREFIX) else (local, ns)
        self.names[tag] = result
        return result

    def _loc(self) -> str:
        return f"{self.where}: {self.cur.xpath}" if self.cur is not None else self.where


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
    tree_collector: Callable[[Elem], Any] | None = None,
) -> Elem:
    """Parse a PMML document (bytes or a path, optionally gzipped) into :class:`Elem` objects.

    ``tree_collector(tree_model_elem)`` returns an object that receives the ``Node`` subtree of
    that TreeModel (``start(local, ns, attrib)``, ``end()``, ``data(text)``, ``finish()``).
    """
    etree = _lxml()
    where = str(source) if isinstance(source, Path) else "input"
    target = _Target(limits, where, tree_collector)
    parser = etree.XMLParser(
        target=target,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=limits.huge_tree,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        for chunk in read_chunks(source, limits.max_bytes):
            parser.feed(chunk)
        root = parser.close()
    except PortamodelError:
        raise
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, where, target) from None
    except (MemoryError, RecursionError) as exc:  # pragma: no cover - pathological input
        raise LimitExceededError(f"document too large or too deep: {type(exc).__name__}", location=where) from None
    if root is None:
        raise FormatError("empty document: no <PMML> element", location=where)
    return root  # type: ignore[no-any-return]


def _syntax_error(exc: Any, where: str, target: _Target) -> PortamodelError:
    msg = str(exc)
    line = getattr(exc, "lineno", None) or (exc.position[0] if getattr(exc, "position", None) else None)
    loc = f"{where}, line {line}" if line else where
    low = msg.lower()
    if "excessive depth" in low or "huge" in low or "xml_parse_huge" in low:
        return LimitExceededError(f"{msg} (pass huge_tree=True for trusted files)", location=loc)
    if "entity" in low and ("not defined" in low or "undefined" in low or "reference" in low):
        return FormatError(f"entity references are not allowed: {msg}", location=loc)
    return FormatError(f"not well-formed XML: {msg}", location=loc)
