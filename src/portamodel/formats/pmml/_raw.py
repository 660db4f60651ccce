"""Raw-byte fast path: big tree ensembles load without building XML elements for their nodes.

A forest's PMML is almost entirely ``Node`` subtrees. Building lxml elements for millions of
nodes costs more than everything else, so, when it is provably safe, the reader cuts each
TreeModel's root ``<Node>...</Node>`` out of the raw bytes (a *region*), parses the small rest
(the *skeleton*, with one placeholder element per region) through the ordinary lxml path, and
converts each region straight from its bytes with numpy (:func:`scan_region`, then the same
vectorised converter as ``_fast.py``).

When: the document is UTF-8 (no other encoding declared, no UTF-16 BOM) and the skeleton holds no
``<!`` (comment, CDATA, DOCTYPE) or ``<?`` (processing instruction) after the XML declaration, so
every region found by byte search is element content.

What a region must prove, with whole-array operations (anything else: the reader parses that region
with lxml, and if lxml rejects it, reads the whole document the ordinary way so errors are the
same): its bytes, split into runs of byte classes, form tokens whose every adjacent pair follows the
grammar ``<Name (S Name="value")* S? /?>`` / ``</Name S?>`` with only whitespace between tags
(names start with a letter or ``_`` and use ``[A-Za-z0-9_.-]``; ``=`` and ``/`` single; values
without ``<``, ``>``, ``&``, tab, newline, CR or control bytes), no ``xmlns`` attribute, no
attribute twice in a tag, valid UTF-8 without U+FFFE / U+FFFF, only the elements ``Node`` (the
only one with content), ``SimplePredicate``, ``True`` and ``ScoreDistribution``, end tags all
``</Node>``, nesting balanced (one element) and at most 200 deep.

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
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._fast import Span, Tags

__all__ = ["Split", "scan_region", "split_document"]

MAX_REGION_DEPTH = 200  # libxml2 refuses 256 levels (without huge_tree): stay clear of it

# byte classes
_FORBID, _OTHER, _HIGH, _CTRL_WS, _SPACE, _NAME, _EQ, _SLASH, _LT, _GT, _QUOTE = range(11)
_LUT = np.full(256, _FORBID, dtype=np.uint8)
_LUT[0x20:0x80] = _OTHER
_LUT[0x80:] = _HIGH
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
_LUT_BYTES = _LUT.tobytes()
_NAME_START = np.zeros(256, dtype=bool)
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_":
    _NAME_START[_c] = True

# tokens: one per run of equal byte classes, named by the class and its context (the last of the
# markers < > " before it: after < or a closing " it is markup, after > text, after an opening " a value)
_T_LT, _T_GT, _T_QO, _T_QC, _T_N, _T_W, _T_EQ, _T_SL, _T_V, _T_TXT, _T_BAD, _T_END = range(12)
_NT = 12
_TOKEN = np.full((4, 11), _T_BAD, dtype=np.int8)  # [context marker, byte class]
for _ctx in (_T_LT, _T_QC):
    _TOKEN[_ctx, [_CTRL_WS, _SPACE, _NAME, _EQ, _SLASH]] = [_T_W, _T_W, _T_N, _T_EQ, _T_SL]
_TOKEN[_T_QO, [_OTHER, _HIGH, _SPACE, _NAME, _EQ, _SLASH]] = _T_V
_TOKEN[_T_GT, [_CTRL_WS, _SPACE]] = _T_TXT
_TOKEN[_T_LT, _LT] = _T_LT  # a marker's context is itself
_TOKEN[_T_GT, _GT] = _T_GT
_TOKEN[_T_QO, _QUOTE] = _T_QO
_TOKEN[_T_QC, _QUOTE] = _T_QC
_TOKEN_FLAT = np.full(64, _T_BAD, dtype=np.uint8)  # index: context * 16 + byte class
for _ctx in range(4):
    _TOKEN_FLAT[_ctx * 16 : _ctx * 16 + 11] = _TOKEN[_ctx]
_TOKEN_BYTES = np.resize(_TOKEN_FLAT, 256).tobytes()  # for bytes.translate (indices < 64)
_NEXT_2D = np.zeros((_NT, _NT), dtype=bool)  # the grammar, as allowed (token, next token) pairs
for _a, _bs in {
    _T_LT: (_T_N, _T_SL),
    _T_SL: (_T_N, _T_GT),
    _T_N: (_T_W, _T_EQ, _T_GT, _T_SL),
    _T_W: (_T_W, _T_N, _T_SL, _T_GT),
    _T_EQ: (_T_QO,),
    _T_QO: (_T_V, _T_QC),
    _T_V: (_T_V, _T_QC),
    _T_QC: (_T_W, _T_SL, _T_GT),
    _T_GT: (_T_TXT, _T_LT, _T_END),
    _T_TXT: (_T_TXT, _T_LT),
}.items():
    _NEXT_2D[_a, list(_bs)] = True
_NEXT_OK = np.zeros(256, dtype=bool)  # index: token * 16 + next token
for _a in range(_NT):
    _NEXT_OK[_a * 16 : _a * 16 + _NT] = _NEXT_2D[_a]
_NEXT_OK_BYTES = _NEXT_OK.astype(np.uint8).tobytes()  # for bytes.translate: 0 where a pair is not allowed
_MARKER_TOKEN = np.zeros(11, dtype=np.int8)
_MARKER_TOKEN[[_LT, _GT, _QUOTE]] = [_T_LT, _T_GT, _T_QO]

#: attribute names the converter reads (and xmlns, refused)
_ATTRS = (b"field", b"operator", b"value", b"score", b"recordCount", b"probability", b"id", b"defaultChild", b"xmlns")
_XMLNS = _ATTRS.index(b"xmlns")
_MAX_NAME = 24  # names are compared exactly as three little-endian 64-bit words


def _words(name: bytes) -> tuple[int, int, int]:
    padded = name.ljust(_MAX_NAME, b"\0")
    return tuple(int.from_bytes(padded[i : i + 8], "little") for i in (0, 8, 16))  # type: ignore[return-value]


_MASKS = np.array([(1 << (8 * k)) - 1 if k < 8 else (1 << 64) - 1 for k in range(9)], dtype=np.uint64)

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
    if body is None:
        return None
    marker = "portamodel_region_" + secrets.token_hex(8)
    if data.find(marker.encode()) >= 0:  # pragma: no cover - 64 random bits
        return None
    regions: list[tuple[int, int]] = []
    pos = body
    n = len(data)
    nxt = data.find(b"<TreeModel", pos)
    while nxt >= 0:
        pos = nxt + 10
        nxt = data.find(b"<TreeModel", pos)
        if not _is_name_end(data, pos):
            continue
        # the last </TreeModel before the next <TreeModel (one pass over the bytes in all)
        close = data.rfind(b"</TreeModel", pos, nxt if nxt >= 0 else n)
        if close < 0:
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
    if not regions:
        return None
    parts: list[bytes | bytearray] = []
    prev = 0
    for k, (a, b) in enumerate(regions):
        parts.append(data[prev:a])
        parts.append(b'<Node %s="%d"/>' % (marker.encode(), k))
        prev = b
    parts.append(data[prev:n])
    skeleton = b"".join(parts)
    # no comment, CDATA, DOCTYPE or processing instruction outside the regions (a region's own
    # grammar has none either), so every region found above is element content
    if skeleton.find(b"<!", body) >= 0 or skeleton.find(b"<?", body) >= 0:
        return None
    return Split(skeleton=skeleton, regions=regions, marker=marker)


def scan_region(buf: NDArray[np.uint8]) -> Tags | None:
    """Prove that ``buf`` is one well-formed element of the accepted subset and scan its tags.

    Returns None for anything else (see the module docstring for what is checked).
    """
    n = buf.shape[0]
    if n < 2:
        return None
    code = np.frombuffer(buf.tobytes().translate(_LUT_BYTES), dtype=np.uint8)
    # runs of equal byte classes (starts[k]: first byte of run k; starts[-1] == n)
    change = np.empty(n + 1, dtype=bool)
    change[0] = True
    np.not_equal(code[1:], code[:-1], out=change[1:n])
    change[n] = True
    starts = np.flatnonzero(change)
    cls = code.take(starts[:-1])
    mrun = np.flatnonzero(cls >= _LT)  # marker runs: < > " each must be one byte ("" is two)
    if np.count_nonzero(code >= _LT) != mrun.shape[0]:  # as many marker bytes as runs: all single
        mlen = starts[mrun + 1] - starts[mrun]
        pair = (mlen == 2) & (cls[mrun] == _QUOTE)
        if not (pair | (mlen == 1)).all():
            return None
        rep = np.ones(cls.shape[0], dtype=np.int64)
        rep[mrun[pair]] = 2
        idx = np.repeat(np.arange(cls.shape[0]), rep)
        second = np.flatnonzero(idx[1:] == idx[:-1]) + 1
        starts = np.append(starts[idx], n)
        starts[second] += 1
        cls = cls[idx]
        mrun = np.flatnonzero(cls >= _LT)
    nrun = cls.shape[0]
    # context: quotes alternate opening / closing; each run belongs to the last marker before it
    mtok = _MARKER_TOKEN.take(cls.take(mrun))
    q = np.flatnonzero(mtok == _T_QO)
    mtok[q[1::2]] = _T_QC
    seg = np.diff(mrun, append=nrun)
    if mrun.shape[0] == 0 or mrun[0] != 0:
        return None
    ctx16 = np.repeat((mtok << 4).view(np.uint8), seg)
    tok = np.frombuffer(np.bitwise_or(ctx16, cls, out=ctx16).tobytes().translate(_TOKEN_BYTES), dtype=np.uint8)
    # the grammar, checked on every adjacent pair of tokens
    pairs = np.left_shift(tok[:-1], 4)
    pairs |= tok[1:]
    if tok[0] != _T_LT or tok[-1] != _T_GT or pairs.tobytes().translate(_NEXT_OK_BYTES).find(0) >= 0:
        return None
    eq_sl = np.flatnonzero((tok == _T_EQ) | (tok == _T_SL))
    if ((starts.take(eq_sl + 1) - starts.take(eq_sl)) != 1).any():
        return None  # "==" or "//" is one run
    sl = eq_sl[tok.take(eq_sl) == _T_SL]
    if not np.array_equal(tok.take(sl + 1) == _T_N, tok.take(sl - 1) == _T_LT):
        return None  # "/" only right after "<" (then a name) or right before ">"
    names = np.flatnonzero(tok == _T_N)
    attr_name = tok.take(names - 1) == _T_W
    if not np.array_equal(tok.take(names + 1) == _T_EQ, attr_name):
        return None  # an attribute name is followed by "=", an element name is not
    if not _NAME_START.take(buf.take(starts.take(names))).all():
        return None
    # tags
    lt = mrun[mtok == _T_LT]
    gt = mrun[mtok == _T_GT]
    is_end = tok.take(lt + 1) == _T_SL
    closing_slash = tok.take(gt - 1) == _T_SL
    if (is_end & closing_slash & (gt - 1 != lt + 1)).any():
        return None  # </a/>
    self_closing = closing_slash & ~is_end
    name_tok = lt + 1 + is_end
    # names as exact (length, three 64-bit words); longer names are not in the accepted subset
    padded = np.zeros(n + 2 * _MAX_NAME, dtype=np.uint8)
    padded[:n] = buf
    u64 = np.ndarray(shape=(n + _MAX_NAME,), dtype="<u8", buffer=padded, strides=(1,))
    t_pos = starts.take(name_tok)
    t_len = starts.take(name_tok + 1) - t_pos
    if int(t_len.max()) > _MAX_NAME:
        return None
    tag_kind = _classify(u64, buf.take(t_pos), t_pos, t_len, _ELEMENT_TABLE).astype(np.int8)
    if (tag_kind < 0).any() or (tag_kind[is_end] != 0).any():
        return None
    if not np.array_equal(self_closing, ~is_end & (tag_kind != 0)):
        return None  # only Node has content: with all end tags </Node>, balanced depth proves nesting
    tag_kind[is_end] = -1
    st = np.flatnonzero(~is_end)
    en = np.flatnonzero(is_end)
    # depth (a Node opens, an end tag closes)
    step = (tag_kind == 0).astype(np.int64) - is_end
    depth = np.cumsum(step)
    if depth[-1] != 0 or (depth[:-1] <= 0).any() or int(depth.max()) > MAX_REGION_DEPTH:
        return None
    # attributes: name token, "=", opening quote ... closing quote (in order)
    a_tok = names[attr_name]
    # each attribute name is followed by "=" and its opening quote (the grammar: a quote opens
    # only after "=", "=" follows only an attribute name), so the k-th name owns the k-th value;
    # its tag is the number of "<" markers before that quote, minus one
    is_qo = mtok == _T_QO
    qo_m = np.flatnonzero(is_qo)
    owner = np.cumsum(mtok == _T_LT)[qo_m] - 1
    if qo_m.shape[0] != a_tok.shape[0] or is_end.take(owner).any():
        return None
    qo = mrun.take(qo_m)
    qc = mrun[mtok == _T_QC]
    v0 = starts.take(qo) + 1
    v1 = starts.take(qc)
    a_pos = starts.take(a_tok)
    a_len = starts.take(a_tok + 1) - a_pos
    if a_len.size and int(a_len.max()) > _MAX_NAME:
        return None
    a_code = _classify(u64, buf.take(a_pos), a_pos, a_len, _ATTR_TABLE)
    if (a_code == _XMLNS).any():
        return None
    # no attribute twice in a tag (attributes of a tag are consecutive); known names are equal
    # exactly when their codes are, other names are compared as words
    key: tuple[NDArray[Any], ...] = (a_code,)
    if (a_code < 0).any():
        a_name = _name_words(u64, a_pos, a_len)
        if a_name is None:  # pragma: no cover - lengths checked above
            return None
        key = a_name
    for k in range(1, a_tok.shape[0]):
        same = owner[k:] == owner[:-k]
        if not same.any():
            break
        if k > 32:
            return None  # more attributes than any tree element has
        for col in key:
            same &= col[k:] == col[:-k]
        if same.any():
            return None
    if buf.max() >= 0x80:  # non-ASCII (only in values): valid UTF-8, XML characters
        try:
            text = buf.tobytes().decode("utf-8")
        except UnicodeDecodeError:
            return None
        if "\ufffe" in text or "\uffff" in text:
            return None
    owner_kind = tag_kind.take(owner)

    def attr(name: bytes, kind: int) -> Span:
        sel = np.flatnonzero((a_code == _ATTRS.index(name)) & (owner_kind == kind))
        return owner[sel], v0[sel], v1[sel]

    tags = Tags(buf, tag_kind, st, en, self_closing, attr)
    tags.words = u64
    return tags


def _name_words(
    u64: NDArray[np.uint64], pos: NDArray[np.int64], length: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.uint64], NDArray[np.uint64], NDArray[np.uint64]] | None:
    """Each name ``buf[pos:pos+length]`` as (length, 3 words, zero-padded), None if one is too long."""
    if length.size and int(length.max()) > _MAX_NAME:
        return None
    words = []
    zero = np.zeros(pos.shape[0], dtype=np.uint64)
    for i in range(3):
        if i and not (length > 8 * i).any():
            words.append(zero)
            continue
        keep = np.minimum(np.maximum(length - 8 * i, 0), 8)
        words.append(np.bitwise_and(u64[pos + 8 * i], np.take(_MASKS, keep)))
    return length, words[0], words[1], words[2]


class _NameTable:
    """Known names looked up by (length, first byte), which tells each of them apart."""

    def __init__(self, names: tuple[tuple[bytes, int], ...]) -> None:
        self.slot = np.full((_MAX_NAME + 1) * 256, -1, dtype=np.int64)
        self.code = np.full(len(names) + 1, -1, dtype=np.int64)
        self.length = np.zeros(len(names) + 1, dtype=np.int64)
        self.words = np.zeros((3, len(names) + 1), dtype=np.uint64)
        self.masks = np.zeros((3, len(names) + 1), dtype=np.uint64)
        for i, (name, code) in enumerate(names):
            key = len(name) * 256 + name[0]
            assert self.slot[key] < 0, name  # (length, first byte) must be unique
            self.slot[key] = i
            self.code[i] = code
            self.length[i] = len(name)
            self.words[:, i] = _words(name)
            self.masks[:, i] = [_MASKS[min(max(len(name) - 8 * w, 0), 8)] for w in range(3)]
        # slot -1 (no name of that length and first byte): word 0 matches nothing
        self.words[0, -1] = np.iinfo(np.uint64).max
        self.masks[0, -1] = np.iinfo(np.uint64).max


def _classify(
    u64: NDArray[np.uint64], first: NDArray[np.uint8], pos: NDArray[np.int64], length: NDArray[np.int64], table: _NameTable
) -> NDArray[np.int64]:
    """The code in ``table`` of each name ``buf[pos:pos+length]`` (at most ``_MAX_NAME`` bytes;
    ``first`` is its first byte), else -1. The candidate of the same length and first byte is
    compared exactly: all its bytes, as up to three masked 64-bit words."""
    if length.size == 0:
        return np.zeros(0, dtype=np.int64)
    slot = table.slot.take(length * 256 + first)
    same = np.bitwise_and(u64[pos], table.masks[0][slot]) == table.words[0][slot]
    for w in (1, 2):
        long_ = np.flatnonzero(table.length[slot] > 8 * w)  # a candidate with a word w
        if long_.size:
            s = slot[long_]
            same[long_] &= np.bitwise_and(u64[pos[long_] + 8 * w], table.masks[w][s]) == table.words[w][s]
    return np.where(same, table.code[slot], -1)


_ELEMENT_TABLE = _NameTable(_ELEMENTS)
_ATTR_TABLE = _NameTable(tuple((name, k) for k, name in enumerate(_ATTRS)))
