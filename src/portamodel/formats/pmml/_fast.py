"""Vectorised conversion of the common tree encodings (the hot path for large forests).

lxml serialises a finished ``Node`` subtree to bytes in a canonical form (double-quoted
attributes, escaped ``<``/``>``/``&``/``"``, no comments), and numpy reads that text directly:
tag positions, element names, attribute values and nesting depth come from whole-array
operations, so a tree of any size costs a few dozen numpy calls instead of Python work per node.

This path accepts trees made only of ``Node``, ``SimplePredicate`` (comparison operators),
``True`` and ``ScoreDistribution``, with ``missingValueStrategy`` none / nullPrediction /
lastPrediction, or defaultChild on binary complementary splits (HistGradientBoosting). Anything
else returns ``None`` and the general converter in ``_tree.py`` takes over, so the fast path only
has to be right on what it accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import LimitExceededError
from ...ir.tree import MISSING_FALSE, MISSING_NULL, MISSING_STOP, MISSING_TRUE
from ._tree import _OPS, RawTree, TreeCollector, build_raw_tree

__all__ = ["fast_tree"]

_LT, _GT, _SLASH, _QUOTE, _EQ, _SPACE, _COLON = (ord(c) for c in '<>/"= :')
_OP_NAMES = list(_OPS)
Span = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]
AttrFn = Callable[[bytes, int], Span]
_COMPLEMENT_CODE = {
    (_OPS["lessOrEqual"], _OPS["greaterThan"]),
    (_OPS["greaterThan"], _OPS["lessOrEqual"]),
    (_OPS["lessThan"], _OPS["greaterOrEqual"]),
    (_OPS["greaterOrEqual"], _OPS["lessThan"]),
    (_OPS["equal"], _OPS["notEqual"]),
    (_OPS["notEqual"], _OPS["equal"]),
}


def _name_at(buf: NDArray[np.uint8], pos: NDArray[np.int64], name: bytes) -> NDArray[np.bool_]:
    """Does element name ``name`` (followed by space, '/' or '>') start at each position?"""
    L = len(name)
    last = buf.shape[0] - 1
    out = np.zeros(pos.shape[0], dtype=bool)
    if pos.size == 0:
        return out
    cand = np.flatnonzero((buf[np.minimum(pos, last)] == name[0]) & (buf[np.minimum(pos + 1, last)] == name[1]))
    if cand.size == 0:
        return out
    p = pos[cand]
    ok = (buf[np.minimum(p[:, None] + np.arange(L), last)] == np.frombuffer(name, dtype=np.uint8)).all(axis=1)
    term = buf[np.minimum(p + L, last)]
    out[cand] = ok & ((term == _SPACE) | (term == _SLASH) | (term == _GT))
    return out


def _window_strings(buf: NDArray[np.uint8], start: NDArray[np.int64], stop: NDArray[np.int64]) -> NDArray[Any] | None:
    """Byte strings ``buf[start:stop]`` as a numpy ``S`` array (None if an escape needs decoding)."""
    if start.size == 0:
        return np.zeros(0, dtype="S1")
    length = stop - start
    width = int(length.max()) if length.size else 1
    width = max(width, 1)
    if width > 256:
        return None
    idx = start[:, None] + np.arange(width)
    window = buf[np.minimum(idx, buf.shape[0] - 1)]
    window = np.where(np.arange(width) < length[:, None], window, 0).astype(np.uint8)
    if (window == ord("&")).any():
        return None
    return np.ascontiguousarray(window).view(f"S{width}").ravel()


_WORD_MASKS = np.array([(1 << (8 * k)) - 1 if k < 8 else (1 << 64) - 1 for k in range(9)], dtype=np.uint64)


def _word_strings(words: NDArray[np.uint64], start: NDArray[np.int64], stop: NDArray[np.int64]) -> NDArray[Any] | None:
    """Like :func:`_strings` for values of at most 24 bytes, from 64-bit words (None if longer)."""
    length = stop - start
    if length.size == 0:
        return np.zeros(0, dtype="S1")
    if int(length.max()) > 24:
        return None
    width = max(int(length.max()), 1)
    ncol = (width + 7) // 8
    out = np.empty((start.shape[0], ncol), dtype=np.uint64)
    for i in range(0, width, 8):
        keep = np.minimum(np.maximum(length - i, 0), 8)
        np.bitwise_and(words[start + i], np.take(_WORD_MASKS, keep), out=out[:, i // 8])
    strings = out.view(f"S{8 * ncol}").ravel()
    return strings.astype(f"S{width}") if width < 8 * ncol else strings


def fast_tree(tm: Any, node_el: Any, info: Any, etree: Any, collector: TreeCollector) -> RawTree | None:
    """Convert the tree rooted at lxml element ``node_el`` or return None (see the module docstring).

    ``collector`` is the TreeModel's general converter: its settings (location, function,
    missing-value and no-true-child strategies) apply here too."""
    data = etree.tostring(node_el, encoding="UTF-8", xml_declaration=False, with_tail=False)
    tags = _canonical_tags(data)
    if tags is None:
        return None
    return convert_tags(tags, tm, info, collector)


class Tags:
    """A scanned ``Node`` subtree: ``tag_kind`` per tag (-1 end tag, 0 Node, 1 SimplePredicate,
    2 True, 3 ScoreDistribution), start / end tag indices ``st`` / ``en``, ``self_closing`` per
    tag, and ``attr(name, kind) -> (tag index, value start, value end)`` (byte offsets in ``buf``,
    sorted by tag; values are raw bytes without entities)."""

    __slots__ = ("attr", "buf", "en", "self_closing", "st", "structure", "tag_kind", "words")

    def __init__(
        self,
        buf: NDArray[np.uint8],
        tag_kind: NDArray[np.int8],
        st: NDArray[np.int64],
        en: NDArray[np.int64],
        self_closing: NDArray[np.bool_],
        attr: AttrFn,
    ) -> None:
        self.buf = buf
        self.tag_kind = tag_kind
        self.st = st
        self.en = en
        self.self_closing = self_closing
        self.attr = attr
        self.words: NDArray[np.uint64] | None = None  # buf as unaligned 64-bit words (zero-padded by 24 bytes)
        self.structure: _Structure | None = None  # tree_structure(self), when computed ahead


def _canonical_tags(data: bytes) -> Tags | None:
    """Scan lxml's canonical serialisation of a Node subtree."""
    buf = np.frombuffer(data, dtype=np.uint8)
    lt = np.flatnonzero(buf == _LT)
    gt = np.flatnonzero(buf == _GT)
    ntag = lt.shape[0]
    if ntag == 0 or gt.shape[0] != ntag or not (lt < gt).all() or not (gt[:-1] < lt[1:]).all():
        return None
    # element names: all in the root's namespace prefix
    first_name_end = int(np.flatnonzero((buf[1:] == _SPACE) | (buf[1:] == _GT) | (buf[1:] == _SLASH))[0]) + 1
    root_name = data[1:first_name_end]
    prefix = root_name[: root_name.rfind(b":") + 1]
    P = len(prefix)
    is_end = buf[lt + 1] == _SLASH
    self_closing = buf[gt - 1] == _SLASH
    st = np.flatnonzero(~is_end)
    en = np.flatnonzero(is_end)
    name_pos = lt[st] + 1 + P
    is_node = _name_at(buf, name_pos, b"Node")
    is_sp = _name_at(buf, name_pos, b"SimplePredicate")
    is_true = _name_at(buf, name_pos, b"True")
    is_sd = _name_at(buf, name_pos, b"ScoreDistribution")
    if not (is_node | is_sp | is_true | is_sd).all():
        return None
    if P and not (buf[np.minimum(lt[st][:, None] + 1 + np.arange(P), buf.shape[0] - 1)] == np.frombuffer(prefix, np.uint8)).all():
        return None
    # every end tag closes a Node; the leaf elements are self-closing
    if not _name_at(buf, lt[en] + 2 + P, b"Node").all() or (
        P and not (buf[lt[en][:, None] + 2 + np.arange(P)] == np.frombuffer(prefix, np.uint8)).all()
    ):
        return None
    tag_kind = np.full(ntag, -1, dtype=np.int8)  # -1 end, 0 Node, 1 SP, 2 True, 3 SD
    tag_kind[st[is_node]] = 0
    tag_kind[st[is_sp]] = 1
    tag_kind[st[is_true]] = 2
    tag_kind[st[is_sd]] = 3
    # attributes: name="value" pairs inside tags (text between tags holds no quotes)
    q = np.flatnonzero(buf == _QUOTE)
    if q.shape[0] % 2:
        return None
    qo, qc = q[0::2], q[1::2]
    owner = np.searchsorted(lt, qo) - 1
    if not ((owner >= 0) & (qc < gt[np.maximum(owner, 0)]) & (buf[qo - 1] == _EQ)).all():
        return None
    spaces = np.flatnonzero(buf == _SPACE)
    name_start = spaces[np.searchsorted(spaces, qo) - 1] + 1  # attribute names follow a space
    name_len = qo - 1 - name_start
    name_first = buf[name_start]
    name_last = buf[qo - 2]
    owner_kind = tag_kind[owner]

    def attr(name: bytes, kind: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """(tag index, value start, value end) of attribute ``name`` on tags of ``kind``."""
        L = len(name)
        sel = np.flatnonzero((name_len == L) & (name_first == name[0]) & (name_last == name[-1]) & (owner_kind == kind))
        if sel.size and L > 2:
            full = (buf[name_start[sel][:, None] + np.arange(L)] == np.frombuffer(name, dtype=np.uint8)).all(axis=1)
            sel = sel[full]
        return owner[sel], qo[sel] + 1, qc[sel]

    return Tags(buf, tag_kind, st, en, self_closing, attr)


def _stable_argsort(a: NDArray[np.int64], bound: int) -> NDArray[np.intp]:
    """``np.argsort(a, kind="stable")`` for values in ``0..bound``: as int16 when they fit, which
    numpy sorts by radix (about 4x faster on a tree's few thousand values)."""
    return np.argsort(a.astype(np.int16) if bound < 1 << 15 else a, kind="stable")


class _Structure:
    """What :func:`tree_structure` found (see the locals of :func:`convert_tags`)."""

    def __init__(self, **parts: Any) -> None:
        self.__dict__.update(parts)


def tree_structure(tags: Tags) -> _Structure | None:
    """The part of :func:`convert_tags` that depends on the scanned bytes alone (nesting, parents,
    attribute strings), or None when the tree is outside this path's subset. The raw path runs
    it on its scan thread."""
    buf, tag_kind, st, en, attr = tags.buf, tags.tag_kind, tags.st, tags.en, tags.attr
    words = tags.words

    def _strings(buf: NDArray[np.uint8], start: NDArray[np.int64], stop: NDArray[np.int64]) -> NDArray[Any] | None:
        if words is not None:
            out = _word_strings(words, start, stop)
            if out is not None:
                return out
        return _window_strings(buf, start, stop)

    ntag = tag_kind.shape[0]
    is_node = tag_kind[st] == 0
    if tags.self_closing[st[is_node]].any() or not tags.self_closing[st[~is_node]].all():
        return None
    sd_tags = st[tag_kind[st] == 3]
    node_tags = st[is_node]
    n = node_tags.shape[0]
    # each Node's first child is its predicate; distributions follow the predicate
    if node_tags[-1] + 1 >= ntag:
        return None
    pred_kind = tag_kind[node_tags + 1]
    if not ((pred_kind == 1) | (pred_kind == 2)).all():
        return None
    if sd_tags.size and not (tag_kind[sd_tags - 1] >= 1).all():  # after a predicate or a distribution
        return None
    # nesting: depth of each Node and its parent (the last Node one level up)
    step = np.zeros(ntag, dtype=np.int64)
    step[node_tags] = 1
    step[en] = -1
    depth_after = np.cumsum(step)
    if depth_after[-1] != 0 or (depth_after[:-1] <= 0).any():
        return None
    depth = depth_after.take(node_tags)
    deepest = int(depth.max())
    node_index = np.full(ntag, -1, dtype=np.int64)
    node_index[node_tags] = np.arange(n)
    # each Node's end tag: start and end tags nest like parentheses, so, ordered stably by the
    # level they open or close, every start tag is directly followed by its own end tag
    events = np.flatnonzero(step)
    level = depth_after.take(events) + (step.take(events) < 0)
    paired = events.take(_stable_argsort(level, deepest))
    end_tag = np.empty(n, dtype=np.int64)
    end_tag[node_index.take(paired[0::2])] = paired[1::2]
    # the parent of a Node is the last Node before it one level up: sorted by (depth, position),
    # it is the last key below (depth - 1, position), found for all nodes by one search
    key = depth * n + np.arange(n)
    by_depth = _stable_argsort(depth, deepest)
    above = np.searchsorted(key.take(by_depth), key - n) - 1
    parent = by_depth.take(np.maximum(above, 0))
    parent[above < 0] = -1
    parent[depth.take(np.maximum(parent, 0)) != depth - 1] = -1
    parent[0] = -1
    if (parent[1:] < 0).any():
        return None
    # SimplePredicate: field, operator, value (on the tag right after its Node)
    sp_node = np.flatnonzero(pred_kind == 1)
    sp_tag = node_tags[sp_node] + 1
    f_tag, f0, f1 = attr(b"field", 1)
    o_tag, o0, o1 = attr(b"operator", 1)
    v_tag, v0, v1 = attr(b"value", 1)
    if not (np.array_equal(f_tag, sp_tag) and np.array_equal(o_tag, sp_tag) and np.array_equal(v_tag, sp_tag)):
        return None  # a missing or repeated attribute, or an unusual operator without value
    ops = _strings(buf, o0, o1)
    fields = _strings(buf, f0, f1)
    values = _strings(buf, v0, v1)
    if ops is None or fields is None or values is None:
        return None
    sp_op = np.full(ops.shape[0], 255, dtype=np.uint8)
    for op_name, op_code in _OPS.items():
        sp_op[ops == op_name.encode()] = op_code
    if (sp_op == 255).any():
        return None  # isMissing / isNotMissing: general path
    field_names_b, field_inv = np.unique(fields, return_inverse=True)
    field_names = [f.decode() for f in field_names_b.tolist()]
    # Node: score, id, defaultChild
    s_tag, s0, s1 = attr(b"score", 0)
    scores = _strings(buf, s0, s1)
    if scores is None:
        return None
    node_score = np.zeros(n, dtype=scores.dtype)
    has_score = np.zeros(n, dtype=bool)
    node_score[node_index[s_tag]] = scores
    has_score[node_index[s_tag]] = True
    # ScoreDistribution: value, recordCount / probability
    sd_owner = np.searchsorted(node_tags, sd_tags) - 1
    sd_label = sd_value = None
    if sd_tags.size:
        l_tag, l0, l1 = attr(b"value", 3)
        c_tag, c0, c1 = attr(b"recordCount", 3)
        p_tag, p0, p1 = attr(b"probability", 3)
        if not np.array_equal(l_tag, sd_tags):
            return None
        if p_tag.size:
            if not np.array_equal(p_tag, sd_tags):
                return None
            sd_value = _strings(buf, p0, p1)
        else:
            if not np.array_equal(c_tag, sd_tags):
                return None
            sd_value = _strings(buf, c0, c1)
        sd_label = _strings(buf, l0, l1)
        if sd_value is None or sd_label is None:
            return None
    return _Structure(
        buf=buf,
        attr=attr,
        _strings=_strings,
        n=n,
        sd_tags=sd_tags,
        pred_kind=pred_kind,
        depth=depth,
        parent=parent,
        node_tags=node_tags,
        end_tag=end_tag,
        node_index=node_index,
        sp_node=sp_node,
        sp_op=sp_op,
        values=values,
        field_inv=field_inv,
        field_names=field_names,
        node_score=node_score,
        has_score=has_score,
        sd_owner=sd_owner,
        sd_label=sd_label,
        sd_value=sd_value,
    )


def convert_tags(tags: Tags, tm: Any, info: Any, collector: TreeCollector) -> RawTree | None:
    """The tree of a scanned Node subtree, or None when it is outside this path's subset."""
    where, classification, mvs, return_last = collector.where, collector.classification, collector.mvs, collector.return_last
    structure = tags.structure if tags.structure is not None else tree_structure(tags)
    if structure is None:
        return None
    p = structure.__dict__
    buf, attr, _strings, n = p["buf"], p["attr"], p["_strings"], p["n"]
    sd_tags, pred_kind, depth, parent = p["sd_tags"], p["pred_kind"], p["depth"], p["parent"]
    node_index, sp_node, sp_op, values, field_inv = p["node_index"], p["sp_node"], p["sp_op"], p["values"], p["field_inv"]
    field_names, node_score, has_score, sd_owner = p["field_names"], p["node_score"], p["has_score"], p["sd_owner"]
    sd_label, sd_value = p["sd_label"], p["sd_value"]
    if int(depth.max()) > info.limits.max_depth:
        return None  # the general path reports the limit with a location
    # children: siblings in document order
    kind = np.where(pred_kind == 2, 2, 1)  # 1 simple, 2 True
    if kind[0] != 2:
        return None  # root predicate other than True: general path
    nch = np.bincount(parent[1:], minlength=n)
    is_leaf = nch == 0
    nxt = np.full(n, -1, dtype=np.int64)  # next sibling
    if n > 1:
        kids = np.arange(1, n)
        order = kids[_stable_argsort(parent[1:], n)]
        same = parent[order[:-1]] == parent[order[1:]]
        nxt[order[:-1][same]] = order[1:][same]
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, parent[1:], np.arange(1, n))  # the first child has the smallest index
    first[first == n] = -1
    # a True child ends its parent's chain: later siblings are never reached
    true_child = kind == 2
    true_child[0] = False
    has_true = np.zeros(n, dtype=bool)
    has_true[parent[np.flatnonzero(true_child)]] = True
    # value ids: 0 = none, k = node k-1's score / distribution
    node_has_value = has_score.copy()
    if sd_tags.size:
        node_has_value[sd_owner] = True
    vid = np.where(node_has_value, np.arange(1, n + 1), 0)
    # defaultChild on complementary pairs (HistGradientBoosting): each split node is one IR split
    merge = np.zeros(n, dtype=bool)
    miss_default = None
    spl = np.zeros(n, dtype=bool)
    spl[sp_node] = True
    sp_field = np.full(n, -1, dtype=np.int64)
    sp_field[sp_node] = field_inv
    sp_opc = np.zeros(n, dtype=np.uint8)
    sp_opc[sp_node] = sp_op
    sp_val = np.zeros(n, dtype=values.dtype)
    sp_val[sp_node] = values
    internal = np.flatnonzero(~is_leaf)
    if mvs == "defaultChild":
        if not (nch[internal] == 2).all():
            return None
        c1 = first[internal]
        c2 = nxt[c1]
        # (x op t, its complement) as HistGradientBoosting writes, or (x op t, True) as portamodel does
        pair_ok = spl[c1] & spl[c2] & (sp_field[c1] == sp_field[c2]) & (sp_val[c1] == sp_val[c2])
        pair_ok &= np.array([(a, b) in _COMPLEMENT_CODE for a, b in zip(sp_opc[c1].tolist(), sp_opc[c2].tolist())], dtype=bool)
        pair_ok |= spl[c1] & (kind[c2] == 2)
        if not pair_ok.all():
            return None
        d_tag, d0, d1 = attr(b"defaultChild", 0)
        i_tag, i0, i1 = attr(b"id", 0)
        dflt = _strings(buf, d0, d1)
        ids = _strings(buf, i0, i1)
        if dflt is None or ids is None or d_tag.shape[0] != internal.shape[0]:
            return None
        node_default = np.zeros(n, dtype=dflt.dtype)
        node_default[node_index[d_tag]] = dflt
        node_id = np.zeros(n, dtype=ids.dtype if ids.size else "S1")
        node_id[node_index[i_tag]] = ids
        has_id = np.zeros(n, dtype=bool)
        has_id[node_index[i_tag]] = True
        to_c1 = has_id[c1] & (node_id[c1] == node_default[internal])
        to_c2 = has_id[c2] & (node_id[c2] == node_default[internal])
        if not (to_c1 | to_c2).all():
            return None
        merge[internal] = True
        miss_default = np.where(to_c1, MISSING_TRUE, MISSING_FALSE).astype(np.uint8)
    # IR node layout: [split of each simple non-root node][leaf of each leaf][fall-through of each internal node]
    split_id = np.full(n, -1, dtype=np.int64)
    simple = np.flatnonzero(spl)
    split_id[simple] = np.arange(simple.shape[0])
    leaves = np.flatnonzero(is_leaf)
    leaf_id = np.full(n, -1, dtype=np.int64)
    leaf_id[leaves] = simple.shape[0] + np.arange(leaves.shape[0])
    ft_nodes = internal[~has_true[internal] & ~merge[internal]]
    ft_id = np.full(n, -1, dtype=np.int64)
    ft_id[ft_nodes] = simple.shape[0] + leaves.shape[0] + np.arange(ft_nodes.shape[0])
    total = simple.shape[0] + leaves.shape[0] + ft_nodes.shape[0]
    if total > info.limits.max_tree_nodes:
        raise LimitExceededError(f"the tree expands to more than max_tree_nodes={info.limits.max_tree_nodes} nodes", location=str(where))
    # body(c): the leaf, or the first split of c's chain (following True first children)
    body = np.where(is_leaf, leaf_id, -1)
    inner = ~is_leaf
    fc_ = first[inner]
    body[inner] = np.where(spl[fc_], split_id[fc_], -1)
    for _ in range(int(depth.max()) + 1):
        pending = np.flatnonzero(body < 0)
        if pending.size == 0:
            break
        body[pending] = body[first[pending]]
    if (body < 0).any():
        return None
    # fields of the IR arrays
    field_idx = np.full(total, -1, dtype=np.int32)
    op = np.zeros(total, dtype=np.uint8)
    thr = np.zeros(total, dtype=values.dtype)
    tc = np.full(total, -1, dtype=np.int64)
    fc = np.full(total, -1, dtype=np.int64)
    miss = np.zeros(total, dtype=np.uint8)
    ir_vid = np.zeros(total, dtype=np.int64)
    sid = split_id[simple]
    field_idx[sid] = sp_field[simple]
    op[sid] = sp_opc[simple]
    thr[sid] = sp_val[simple]
    tc[sid] = body[simple]
    par = parent[simple]
    ir_vid[sid] = vid[par]
    sib = nxt[simple]
    nxt_body = np.where(sib >= 0, np.where(spl[np.maximum(sib, 0)], split_id[np.maximum(sib, 0)], body[np.maximum(sib, 0)]), -1)
    fc[sid] = np.where(sib >= 0, nxt_body, ft_id[par])
    if mvs == "nullPrediction":
        miss[sid] = MISSING_NULL
    elif mvs == "lastPrediction":
        miss[sid] = MISSING_STOP
    elif mvs == "none":
        miss[sid] = MISSING_FALSE
    if miss_default is not None:
        c1 = first[internal]
        c2 = nxt[c1]
        s1 = split_id[c1]
        fc[s1] = body[c2]
        miss[s1] = miss_default
    # splits never reached (after a True sibling, or the second of a merged pair) may point anywhere
    dead = fc[sid] < 0
    if dead.any():
        if not (has_true[par[dead]] | merge[par[dead]]).all():
            return None
        fc[sid[dead]] = tc[sid[dead]]
    ir_vid[leaf_id[leaves]] = vid[leaves]
    ir_vid[ft_id[ft_nodes]] = vid[ft_nodes] if return_last else 0
    root = int(body[0])
    dfs_order: NDArray[np.int64] | None = None
    if not merge.any() and not (nxt[true_child] >= 0).any():
        # Every IR node is reached (no Node follows a True sibling, no split is merged away),
        # and the depth-first order (true branch first) is the document's: a split at its
        # Node's start tag, a leaf right after it, a fall-through at its Node's end tag.
        node_tags, end_tag = p["node_tags"], p["end_tag"]
        key = np.empty(total, dtype=np.int64)
        key[sid] = 2 * node_tags.take(simple)
        key[leaf_id[leaves]] = 2 * node_tags.take(leaves) + 1
        key[ft_id[ft_nodes]] = 2 * end_tag.take(ft_nodes)
        dfs_order = np.argsort(key)
    # value data in value-id space: vid k+1 is node k
    v_score = np.concatenate([np.zeros(1, dtype=node_score.dtype), np.where(has_score, node_score, b"")])
    sd_vid = (sd_owner + 1).astype(np.int64) if sd_tags.size else np.zeros(0, dtype=np.int64)
    return build_raw_tree(
        info,
        tm,
        where,
        classification,
        field_idx=field_idx,
        field_names=field_names,
        op=op,
        thr=thr,
        tc=tc,
        fc=fc,
        miss=miss,
        vid=ir_vid,
        root=root,
        v_score=v_score,
        sd_vid=sd_vid,
        sd_label=sd_label if sd_label is not None else [],
        sd_value=sd_value if sd_value is not None else [],
        order=dfs_order,
    )
