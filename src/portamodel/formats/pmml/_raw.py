"""Raw-byte fast path: big tree ensembles load without building XML elements for their nodes.

A forest's PMML is almost entirely ``Node`` subtrees. Building lxml elements for millions of
nodes costs more than everything else, so, when it is provably safe, the reader cuts each
TreeModel's root ``<Node>...</Node>`` out of the raw bytes (a *region*), parses the small rest
(the *skeleton*, with one placeholder element per region) through the ordinary lxml path, and
converts each region straight from its bytes with numpy (:func:`scan_region`, then the same
vectorised converter as ``_fast.py``).

When: the document is UTF-8 (no other encoding declared, no UTF-16 BOM) and holds no ``<!``
(comment, CDATA, DOCTYPE) or ``<?`` (processing instruction) after the XML declaration, so every
``<`` byte starts a tag and a region found by byte search is element content.

What a region must prove, with whole-array operations (anything else: the region is handed to
lxml, and if lxml rejects it, the whole document is re-read the ordinary way so errors are the
same): tags strictly alternate ``<`` ... ``>``, only whitespace between tags, inside a tag only
``Name (S Name="value")* S? /? >`` or ``</Name S?>`` (names start with a letter or ``_`` and use
``[A-Za-z0-9_.-]``), values without ``<``, ``>``, ``&``, tab, newline, CR or control bytes, no
``xmlns`` attribute, no attribute twice in a tag, valid UTF-8 without U+FFFE / U+FFFF, only the
elements ``Node`` (the only one with content), ``SimplePredicate``, ``True`` and
``ScoreDistribution``, end tags all ``</Node>``, nesting balanced and at most 200 deep.

>>> doc = (b'<PMML xmlns="http://www.dmg.org/PMML-4_4"><TreeModel functionName="regression">'
...        b'<Node score="1"><True/></Node></TreeModel></PMML>')
>>> cut = split_document(doc)
>>> [doc[a:b] for a, b in cut.regions]
[b'<Node score="1"><True/></Node>']
>>> b"<Node " + cut.marker.encode() + b'="0"/>' in cut.skeleton
True
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._fast import Span, Tags

__all__ = ["Split", "scan_region", "split_document"]

MAX_REGION_DEPTH = 200  # libxml2 refuses 256 levels (without huge_tree): stay clear of it

# byte classes
_FORBID, _OTHER, _CTRL_WS, _SPACE, _NAME, _EQ, _SLASH, _LT, _GT, _QUOTE = range(10)
_LUT = np.full(256, _FORBID, dtype=np.uint8)
_LUT[0x20:] = _OTHER
_LUT[[9, 10, 13]] = _CTRL_WS
_LUT[0x20] = _SPACE
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-":
    _LUT[_c] = _NAME
_LUT[ord("=")] = _EQ
_LUT[ord("/")] = _SLASH
_LUT[ord("<")] = _LT
_LUT[ord(">")] = _GT
_LUT[ord('"')] = _QUOTE
_LUT[ord("&")] = _FORBID
_NAME_START = np.zeros(256, dtype=bool)
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_":
    _NAME_START[_c] = True

# markup token alphabet (after dropping text and value content)
_T_LT, _T_GT, _T_QO, _T_QC, _T_N, _T_W, _T_EQ, _T_SL, _T_END = range(9)
_NEXT_2D = np.zeros((9, 9), dtype=bool)
for _a, _bs in {
    _T_LT: (_T_N, _T_SL),
    _T_GT: (_T_LT, _T_END),
    _T_QO: (_T_QC,),
    _T_QC: (_T_W, _T_SL, _T_GT),
    _T_N: (_T_W, _T_EQ, _T_GT, _T_SL),
    _T_W: (_T_W, _T_N, _T_SL, _T_GT),
    _T_EQ: (_T_QO,),
    _T_SL: (_T_N, _T_GT),
}.items():
    _NEXT_2D[_a, list(_bs)] = True
_NEXT_OK = _NEXT_2D.ravel()
_MARKER_2D = np.zeros((9, 9), dtype=bool)
for _a, _b in ((_T_LT, _T_GT), (_T_LT, _T_QO), (_T_GT, _T_LT), (_T_QO, _T_QC), (_T_QC, _T_QO), (_T_QC, _T_GT)):
    _MARKER_2D[_a, _b] = True
_MARKER_NEXT_OK = _MARKER_2D.ravel()
# which byte classes may appear in text (T), markup (M) and values (V)
_IN_TEXT = np.zeros(10, dtype=bool)
_IN_TEXT[[_CTRL_WS, _SPACE]] = True
_IN_MARKUP = np.zeros(10, dtype=bool)
_IN_MARKUP[[_CTRL_WS, _SPACE, _NAME, _EQ, _SLASH]] = True
_IN_VALUE = np.zeros(10, dtype=bool)
_IN_VALUE[[_OTHER, _SPACE, _NAME, _EQ, _SLASH]] = True
_TOKEN_OF_CLASS = np.array([-1, -1, _T_W, _T_W, _T_N, _T_EQ, _T_SL, _T_LT, _T_GT, -1], dtype=np.int8)

_ELEMENTS = ((b"Node", 0), (b"SimplePredicate", 1), (b"True", 2), (b"ScoreDistribution", 3))
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


@dataclass(frozen=True)
class Split:
    """A document cut into a ``skeleton`` (each region replaced by ``<Node {marker}="k"/>``) and
    the byte ``regions`` (start, end) of the original."""

    skeleton: bytes
    regions: list[tuple[int, int]]
    marker: str


def _prolog_end(data: bytes | bytearray) -> int | None:
    """End of the XML declaration (0 if none), or None when the encoding is not UTF-8."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        return None
    start = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    if not data.startswith(b"<?xml", start):
        return start
    end = data.find(b"?>", start)
    if end < 0:
        return None
    m = _ENCODING.search(data, start, end)
    if m is not None and m.group(1).lower() not in (b"utf-8", b"utf8"):
        return None
    return end + 2


def _is_name_end(data: bytes | bytearray, i: int) -> bool:
    return i < len(data) and data[i] in b" \t\r\n/>"


def split_document(data: bytes | bytearray) -> Split | None:
    """Cut the tree regions out of ``data``, or None when the fast path does not apply."""
    body = _prolog_end(data)
    if body is None or data.find(b"<!", body) >= 0 or data.find(b"<?", body) >= 0:
        return None
    marker = "portamodel_region_" + secrets.token_hex(8)
    if data.find(marker.encode()) >= 0:  # pragma: no cover - 64 random bits
        return None
    regions: list[tuple[int, int]] = []
    pos = body
    n = len(data)
    while True:
        tm = data.find(b"<TreeModel", pos)
        if tm < 0:
            break
        pos = tm + 10
        if not _is_name_end(data, pos):
            continue
        close = data.find(b"</TreeModel", pos)
        nxt = data.find(b"<TreeModel", pos)
        if close < 0 or (0 <= nxt < close):
            continue  # nested or unterminated: left to lxml
        node = data.find(b"<Node", pos, close)
        while node >= 0 and not _is_name_end(data, node + 5):
            node = data.find(b"<Node", node + 5, close)
        last = data.rfind(b"</Node", pos, close)
        if node < 0 or last < node:
            continue
        end = data.find(b">", last, close)
        if end < 0:
            continue
        regions.append((node, end + 1))
        pos = end + 1
    if not regions:
        return None
    parts: list[bytes | bytearray] = []
    prev = 0
    for k, (a, b) in enumerate(regions):
        parts.append(data[prev:a])
        parts.append(b'<Node %s="%d"/>' % (marker.encode(), k))
        prev = b
    parts.append(data[prev:n])
    return Split(skeleton=b"".join(parts), regions=regions, marker=marker)


def scan_region(buf: NDArray[np.uint8]) -> Tags | None:
    """Prove that ``buf`` is one well-formed element of the accepted subset and scan its tags.

    Returns None for anything else (see the module docstring for what is checked).
    """
    n = buf.shape[0]
    if n < 2:
        return None
    code = _LUT[buf]
    # runs of equal byte classes; a marker byte (< > ") is always its own token
    brk = np.flatnonzero(code[1:] != code[:-1])
    starts = np.empty(brk.shape[0] + 1, dtype=np.int64)
    starts[0] = 0
    np.add(brk, 1, out=starts[1:])
    cls = code[starts]
    lens = np.diff(starts, append=n)
    marker = cls >= _LT
    multi = marker & (lens > 1)
    if multi.any():
        pair = multi & (cls == _QUOTE) & (lens == 2)  # "" (an empty value)
        if not np.array_equal(pair, multi):
            return None
        rep = 1 + pair.astype(np.int64)
        starts = np.repeat(starts, rep)
        cls = np.repeat(cls, rep)
        second = np.flatnonzero(np.repeat(pair, rep))[1::2]
        starts[second] += 1
        lens = np.diff(starts, append=n)
        marker = cls >= _LT
    if cls[0] != _LT or cls[-1] != _GT or (cls == _FORBID).any():
        return None
    # markers: quotes alternate open / close; the marker sequence is < ("")* > < ...
    mpos = np.flatnonzero(marker)
    mcls = cls[mpos]
    mtok = np.where(mcls == _LT, _T_LT, np.where(mcls == _GT, _T_GT, _T_QO)).astype(np.int8)
    isq = mcls == _QUOTE
    qrank = np.cumsum(isq)
    mtok[isq & (qrank % 2 == 0)] = _T_QC
    if not _MARKER_NEXT_OK[mtok[:-1].astype(np.int64) * 9 + mtok[1:]].all() or mtok[-1] != _T_GT:
        return None
    # context of each run: the last marker at or before it (the marker itself is excluded below)
    owner_marker = np.cumsum(marker) - 1
    ctx = mtok[owner_marker]  # LT / QC -> markup, GT -> text, QO -> value
    content = ~marker
    in_value = content & (ctx == _T_QO)
    in_text = content & (ctx == _T_GT)
    in_markup = content & ((ctx == _T_LT) | (ctx == _T_QC))
    if not (_IN_VALUE[cls[in_value]].all() and _IN_TEXT[cls[in_text]].all() and _IN_MARKUP[cls[in_markup]].all()):
        return None
    # the markup stream: markers and markup runs
    keep = np.flatnonzero(marker | in_markup)
    tok = _TOKEN_OF_CLASS[cls[keep]]
    tok[marker[keep]] = mtok
    tpos = starts[keep]
    tlen = lens[keep]
    nt = tok.shape[0]
    nxt = np.empty(nt, dtype=np.int8)
    nxt[:-1] = tok[1:]
    nxt[-1] = _T_END
    prv = np.empty(nt, dtype=np.int8)
    prv[1:] = tok[:-1]
    prv[0] = _T_END
    if not _NEXT_OK[tok.astype(np.int64) * 9 + nxt].all():
        return None
    if (tlen[(tok == _T_EQ) | (tok == _T_SL)] != 1).any():
        return None  # a run of "==" or "//" is one token: it must be one byte
    sl = tok == _T_SL
    if not np.array_equal(nxt[sl] == _T_N, prv[sl] == _T_LT):
        return None  # "/" only right after "<" (then a name) or right before ">"
    names = np.flatnonzero(tok == _T_N)
    attr_name = prv[names] == _T_W
    if not np.array_equal(nxt[names] == _T_EQ, attr_name):
        return None  # an attribute name is followed by "=", an element name is not
    if not _NAME_START[buf[tpos[names]]].all():
        return None
    # tags
    lt = np.flatnonzero(tok == _T_LT)
    gt = np.flatnonzero(tok == _T_GT)
    ntag = lt.shape[0]
    is_end = tok[lt + 1] == _T_SL
    closing_slash = tok[gt - 1] == _T_SL
    if (is_end & closing_slash & (gt - 1 != lt + 1)).any():
        return None  # </a/>
    self_closing = closing_slash & ~is_end
    name_tok = lt + 1 + is_end
    name_pos, name_len = tpos[name_tok], tlen[name_tok]
    tag_kind = np.full(ntag, -2, dtype=np.int8)
    st = np.flatnonzero(~is_end)
    en = np.flatnonzero(is_end)
    for name, kind in _ELEMENTS:
        hit = _match(buf, name_pos[st], name_len[st], name)
        tag_kind[st[hit]] = kind
    if (tag_kind[st] < 0).any() or not _match(buf, name_pos[en], name_len[en], b"Node").all():
        return None
    if not np.array_equal(self_closing[st], tag_kind[st] != 0):
        return None  # only Node has content: with all end tags </Node>, balanced depth proves nesting
    tag_kind[en] = -1
    # attributes: name token, "=", open quote, close quote
    a_tok = names[attr_name]
    owner = np.searchsorted(lt, a_tok) - 1
    if is_end[owner].any():
        return None
    a_pos, a_len = tpos[a_tok], tlen[a_tok]
    v0 = tpos[a_tok + 2] + 1
    v1 = tpos[a_tok + 3]
    # no attribute twice in a tag (names compared by a fingerprint: a collision only costs the fast path)
    if a_len.size:
        if int(a_len.max()) > 64:
            return None
        last = a_pos + a_len - 1
        fp = a_len | (buf[a_pos].astype(np.int64) << 8) | (buf[last].astype(np.int64) << 16)
        fp |= buf[np.minimum(a_pos + 1, last)].astype(np.int64) << 24
        fp |= buf[np.maximum(last - 1, a_pos)].astype(np.int64) << 32
        fp |= buf[a_pos + a_len // 2].astype(np.int64) << 40
        for k in range(1, a_tok.shape[0]):
            same = owner[k:] == owner[:-k]
            if not same.any():
                break
            if k > 16 or (same & (fp[k:] == fp[:-k])).any():
                return None
        if _match(buf, a_pos, a_len, b"xmlns").any():
            return None
    owner_kind = tag_kind[owner]
    # depth (a Node opens, an end tag closes)
    step = np.zeros(ntag, dtype=np.int64)
    step[st[tag_kind[st] == 0]] = 1
    step[en] = -1
    depth = np.cumsum(step)
    if depth[-1] != 0 or (depth[:-1] <= 0).any() or int(depth.max()) > MAX_REGION_DEPTH:
        return None
    if buf.max() >= 0x80:  # non-ASCII (only possible inside values): valid UTF-8, XML characters
        try:
            text = buf.tobytes().decode("utf-8")
        except UnicodeDecodeError:
            return None
        if "\ufffe" in text or "\uffff" in text:
            return None

    def attr(name: bytes, kind: int) -> Span:
        sel = np.flatnonzero((owner_kind == kind) & _match(buf, a_pos, a_len, name))
        return owner[sel], v0[sel], v1[sel]

    return Tags(buf, tag_kind, st, en, self_closing, attr)


def _match(buf: NDArray[np.uint8], pos: NDArray[np.int64], length: NDArray[np.int64], name: bytes) -> NDArray[np.bool_]:
    """Is ``buf[pos:pos+length] == name`` (for each position)?"""
    L = len(name)
    out = (length == L) & (buf[pos] == name[0])
    cand = np.flatnonzero(out)
    if cand.size and L > 1:
        window = buf[pos[cand][:, None] + np.arange(1, L)]
        out[cand] = (window == np.frombuffer(name[1:], dtype=np.uint8)).all(axis=1)
    return out
