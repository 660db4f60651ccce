"""PMML ``TreeModel`` node trees -> flat binary-split arrays, built while the XML streams past.

A PMML node evaluates its children in order and descends into the first whose predicate is true
(no backtracking); if none is, ``noTrueChildStrategy`` returns the node's own score or nothing. A
predicate on a missing value is UNKNOWN and ``missingValueStrategy`` decides: ``none`` treats it as
false (try the next child), ``nullPrediction`` makes the result missing, ``lastPrediction`` returns
the current node's score, ``defaultChild`` continues with the named child.

The IR holds binary splits, so a node with children ``c1..ck`` becomes a chain: split on
``pred(c1)`` -> body of c1, else split on ``pred(c2)`` -> ..., else the fall-through leaf.
sklearn2pmml's compact encoding (one child per split, the other child's score moved up to the
parent with ``returnLastPrediction``) maps onto exactly one split per PMML node. A pair of
complementary children (``x <= t`` / ``x > t``, as in HistGradientBoosting) becomes one split.
Compound and set predicates expand into several splits with three-valued logic; a missing value
that must jump to a ``defaultChild`` uses a "missing test" split (``x not_in {}``: true for every
present value, missing goes to the false child).

Nodes arrive in document order; each PMML node is converted when its end tag is seen (all of its
children are done by then), so a tree never exists as XML objects in memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import FormatError, LimitExceededError, UnsupportedFeatureError
from ...ir.tree import MISSING_FALSE, MISSING_NULL, MISSING_STOP, MISSING_TRUE, OP_CODE
from ._xml import Elem

__all__ = ["RawTree", "TreeCollector", "parse_array"]

_OPS = {
    "lessOrEqual": OP_CODE["<="],
    "lessThan": OP_CODE["<"],
    "greaterOrEqual": OP_CODE[">="],
    "greaterThan": OP_CODE[">"],
    "equal": OP_CODE["=="],
    "notEqual": OP_CODE["!="],
}
_IN, _NOT_IN = OP_CODE["in"], OP_CODE["not_in"]
_COMPLEMENT = {
    ("lessOrEqual", "greaterThan"),
    ("greaterThan", "lessOrEqual"),
    ("lessThan", "greaterOrEqual"),
    ("greaterOrEqual", "lessThan"),
    ("equal", "notEqual"),
    ("notEqual", "equal"),
}
_EMPTY_SET = -1  # placeholder set id of the empty set used by missing tests
_MAX_PREDICATE_DEPTH = 64
_MISSING_STRATEGIES = ("none", "nullPrediction", "lastPrediction", "defaultChild")


class RawTree:
    """One converted tree: binary node arrays over local ``fields`` (names as in the PMML).

    ``threshold`` is numeric (string categories already mapped to codes); set splits index the
    local ``sets``. ``vid`` maps each node to a value id: ``values[vid]`` (regression: one score;
    classification: one probability row over ``classes`` and ``vote`` the class index of the
    node's score, -1 if none). Value id 0 is "no value" (NaN).
    """

    __slots__ = (
        "fc",
        "feature",
        "fields",
        "miss",
        "n_nodes",
        "op",
        "score_votes",
        "sets",
        "tc",
        "threshold",
        "values",
        "where",
    )  # fmt: skip

    def __init__(self) -> None:
        self.fields: list[str] = []
        self.sets: list[list[float]] = []
        self.where = ""

    feature: NDArray[np.int32]
    threshold: NDArray[np.float64]
    op: NDArray[np.uint8]
    tc: NDArray[np.int32]
    fc: NDArray[np.int32]
    miss: NDArray[np.uint8]
    values: NDArray[np.float64]  # (n_nodes, n_out)
    score_votes: NDArray[np.int64] | None  # per node: class index of the node's score (classification)
    n_nodes: int


class _Rec:
    """One PMML node while it is open."""

    __slots__ = ("body", "children", "default", "elem", "field", "kind", "nid", "op", "pos", "score", "sd_end", "sds", "value", "vid")

    def __init__(self, score: str | None, nid: str | None, default: str | None, pos: int) -> None:
        self.score = score
        self.nid = nid
        self.default = default
        self.pos = pos  # 1-based position among sibling Nodes
        self.kind = ""  # "T" True, "F" False, "S" SimplePredicate, "E" complex predicate (elem)
        self.field = ""
        self.op = ""
        self.value: str | None = None
        self.elem: Elem | None = None
        self.sds: int | None = None  # first ScoreDistribution (index into the collector's flat lists)
        self.sd_end = 0
        self.children: list[_Rec] = []
        self.body = -1
        self.vid = -1


# Continuations used while expanding compound predicates.
class _Node:
    __slots__ = ("idx",)

    def __init__(self, idx: int) -> None:
        self.idx = idx


class _Lazy:
    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], int]) -> None:
        self.fn = fn


class _Stop:
    __slots__ = ("vid",)

    def __init__(self, vid: int) -> None:
        self.vid = vid


_NULL = object()


def parse_array(el: Elem, where: str) -> list[str]:
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
                raise FormatError("unterminated quoted string in Array", location=where)
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
        raise FormatError(f"Array declares n={declared} but holds {len(out)} values", location=where)
    return out


class TreeCollector:
    """Receives the ``Node`` subtree of one TreeModel and converts it (see the module docstring).

    ``info`` supplies what the conversion needs from the rest of the document:
    ``info.field_type(tree_elem, name) -> dataType`` ("string", "float", "double", ...),
    ``info.category_code(name, value) -> float`` for string fields, ``info.classes(tree_elem)``
    (the class labels as strings, in output order; None for regression) and ``info.limits``.
    """

    def __init__(self, tree_elem: Elem, info: Any) -> None:
        self.tm = tree_elem
        self.info = info
        self.where = tree_elem.xpath
        fn = tree_elem.get("functionName")
        if fn not in ("classification", "regression"):
            raise UnsupportedFeatureError(
                f"TreeModel functionName={fn!r} is not supported (classification, regression)", location=self.where
            )
        self.classification = fn == "classification"
        mvs = tree_elem.get("missingValueStrategy", "none")
        if mvs not in _MISSING_STRATEGIES:
            raise UnsupportedFeatureError(
                f"missingValueStrategy={mvs!r} is not supported (supported: {', '.join(_MISSING_STRATEGIES)})", location=self.where
            )
        self.mvs = mvs
        ntcs = tree_elem.get("noTrueChildStrategy", "returnNullPrediction")
        if ntcs not in ("returnNullPrediction", "returnLastPrediction"):
            raise UnsupportedFeatureError(f"noTrueChildStrategy={ntcs!r} is not supported", location=self.where)
        self.return_last = ntcs == "returnLastPrediction"
        self.max_nodes = info.limits.max_tree_nodes
        # open-element state
        self.stack: list[_Rec] = []
        self.kinds: list[int] = []  # per open element: 0 Node, 1 leaf-ish, 2 predicate Elem, 3 skipped
        self.pelem: list[Elem] = []  # open Elems of a complex predicate
        self.skip = 0
        self.root: _Rec | None = None
        # output arrays (IR nodes)
        self.f_field: list[str | None] = []
        self.f_op: list[int] = []
        self.f_thr: list[Any] = []
        self.f_tc: list[int] = []
        self.f_fc: list[int] = []
        self.f_miss: list[int] = []
        self.f_vid: list[int] = []
        self.used: set[int] = set()
        # value ids: 0 is "no value"
        self.v_score: list[str | None] = [None]
        self.v_sd: list[tuple[int, int]] = [(0, 0)]  # ScoreDistribution range per value id
        self.sd_label: list[str | None] = []
        self.sd_count: list[str | None] = []
        self.sd_prob: list[str | None] = []

    # -- streaming callbacks -----------------------------------------------------------------
    def start(self, local: str, ns: str, attrib: Any) -> None:
        if self.skip:
            self.skip += 1
            self.kinds.append(3)
            return
        if self.pelem:
            el = Elem(local, ns, dict(attrib), self.pelem[-1])
            self.pelem.append(el)
            self.kinds.append(2)
            return
        if local == "Node":
            stack = self.stack
            if stack:
                parent = stack[-1]
                rec = _Rec(attrib.get("score"), attrib.get("id"), attrib.get("defaultChild"), len(parent.children) + 1)
                parent.children.append(rec)
            else:
                rec = _Rec(attrib.get("score"), attrib.get("id"), attrib.get("defaultChild"), 1)
                if self.root is not None:
                    raise FormatError("a TreeModel has more than one root Node", location=self.where)
                self.root = rec
            stack.append(rec)
            self.kinds.append(0)
            return
        self.kinds.append(1)
        rec = self.stack[-1]
        if local == "SimplePredicate":
            self._set_pred(rec, "S")
            rec.field = attrib.get("field", "")
            rec.op = attrib.get("operator", "")
            rec.value = attrib.get("value")
        elif local == "ScoreDistribution":
            if rec.sds is None:
                rec.sds = len(self.sd_label)
            self.sd_label.append(attrib.get("value"))
            self.sd_count.append(attrib.get("recordCount"))
            self.sd_prob.append(attrib.get("probability"))
            rec.sd_end = len(self.sd_label)
        elif local == "True":
            self._set_pred(rec, "T")
        elif local == "False":
            self._set_pred(rec, "F")
        elif local in ("CompoundPredicate", "SimpleSetPredicate"):
            self._set_pred(rec, "E")
            el = Elem(local, ns, dict(attrib), None)
            rec.elem = el
            self.pelem.append(el)
            self.kinds[-1] = 2
        elif local in ("Extension", "Partition") or local.startswith("{"):
            self.skip = 1
            self.kinds[-1] = 3
        elif local in ("EmbeddedModel", "Regression", "DecisionTree"):
            raise UnsupportedFeatureError(f"<{local}> inside a tree node is not supported", location=self._node_path())
        else:
            raise FormatError(f"unexpected element <{local}> inside <Node>", location=self._node_path())

    def data(self, text: str) -> None:
        if self.pelem:
            self.pelem[-1].text += text

    def end(self) -> None:
        kind = self.kinds.pop()
        if kind == 0:
            rec = self.stack[-1]
            self._close_node(rec)
            self.stack.pop()
        elif kind == 2:
            self.pelem.pop()
        elif kind == 3:
            self.skip -= 1

    def finish(self) -> None:
        """Called after the root Node closes: store the converted tree on the TreeModel element."""
        assert self.root is not None
        trees = self.tm.payload if isinstance(self.tm.payload, list) else []
        trees.append(self._build())
        self.tm.payload = trees

    # -- helpers ----------------------------------------------------------------------------
    def _set_pred(self, rec: _Rec, kind: str) -> None:
        if rec.kind:
            raise FormatError("a Node has more than one predicate", location=self._node_path())
        if rec.children or rec.sds is not None:
            raise FormatError("the predicate must be the first element of a Node", location=self._node_path())
        rec.kind = kind

    def _node_path(self, upto: _Rec | None = None) -> str:
        parts = []
        for r in self.stack:
            parts.append("Node" if r.pos == 1 and r is self.stack[0] else f"Node[{r.pos}]")
            if r is upto:
                break
        return self.where + "/" + "/".join(parts)

    def _vid(self, rec: _Rec) -> int:
        if rec.vid < 0:
            if rec.score is None and rec.sds is None:
                rec.vid = 0
            else:
                rec.vid = len(self.v_score)
                self.v_score.append(rec.score)
                self.v_sd.append((rec.sds, rec.sd_end) if rec.sds is not None else (0, 0))
        return rec.vid

    def _new(self, field: str | None, op: int, thr: Any, tc: int, fc: int, miss: int, vid: int) -> int:
        idx = len(self.f_op)
        if idx >= self.max_nodes:
            raise LimitExceededError(f"the tree expands to more than max_tree_nodes={self.max_nodes} nodes", location=self.where)
        self.f_field.append(field)
        self.f_op.append(op)
        self.f_thr.append(thr)
        self.f_tc.append(tc)
        self.f_fc.append(fc)
        self.f_miss.append(miss)
        self.f_vid.append(vid)
        return idx

    def _leaf(self, vid: int) -> int:
        return self._new(None, 0, None, -1, -1, 0, vid)

    def _use(self, idx: int) -> int:
        """A subtree used as a child: the first use takes it, later uses take a copy."""
        if idx not in self.used:
            self.used.add(idx)
            return idx
        return self._copy(idx)

    def _copy(self, idx: int) -> int:
        order: list[int] = []
        todo = [idx]
        while todo:
            i = todo.pop()
            order.append(i)
            if self.f_field[i] is not None:
                todo.append(self.f_tc[i])
                todo.append(self.f_fc[i])
        new = {}
        for i in reversed(order):  # children before parents
            if self.f_field[i] is None:
                new[i] = self._leaf(self.f_vid[i])
            else:
                new[i] = self._new(
                    self.f_field[i], self.f_op[i], self.f_thr[i], new[self.f_tc[i]], new[self.f_fc[i]], self.f_miss[i], self.f_vid[i]
                )
        self.used.update(new.values())
        return new[idx]

    # -- converting one PMML node (its children are complete) ---------------------------------
    def _close_node(self, rec: _Rec) -> None:
        if not rec.kind:
            raise FormatError("a Node has no predicate", location=self._node_path(rec))
        ch = rec.children
        if not ch:
            rec.body = self._leaf(self._vid(rec))
            if rec is self.root:
                self._finish_root(rec)
            return
        vid = self._vid(rec)
        n = len(ch)
        # children after the first True child are never reached (unless named as defaultChild)
        m = n
        for i, c in enumerate(ch):
            if c.kind == "T":
                m = i
                break
        c0 = ch[0]
        if (
            m == 2
            and c0.kind == "S"
            and ch[1].kind == "S"
            and c0.field == ch[1].field
            and c0.value == ch[1].value
            and (c0.op, ch[1].op) in _COMPLEMENT
        ):
            miss = self._pair_missing(rec, ch)
            if miss is not None:
                rec.body = self._new(c0.field, _OPS[c0.op], c0.value, self._use(c0.body), self._use(ch[1].body), miss, vid)
                rec.children = []
                self._maybe_root(rec)
                return
        nxt = self._use(ch[m].body) if m < n else self._leaf(vid if self.return_last else 0)
        default = self._default_index(rec) if self.mvs == "defaultChild" else -1
        for i in range(m - 1, -1, -1):
            c = ch[i]
            if c.kind == "F":
                continue
            if c.kind == "S" and c.op in _OPS:
                miss, gadget = self._chain_missing(rec, ch, i, m, default)
                idx = self._new(c.field, _OPS[c.op], c.value, self._use(c.body), nxt, miss, vid)
                if gadget >= 0:
                    idx = self._new(c.field, _NOT_IN, _EMPTY_SET, idx, self._use(ch[gadget].body), MISSING_FALSE, vid)
                nxt = idx
            else:
                T, F = _Node(c.body), _Node(nxt)
                U = self._unknown(rec, ch, i, vid, default, T, F)
                pred = c.elem if c.kind == "E" else self._simple_elem(c)
                nxt = self._emit(pred, T, F, U, vid, 0)
        rec.body = nxt
        rec.children = []  # free the subtree records
        self._maybe_root(rec)

    def _maybe_root(self, rec: _Rec) -> None:
        if rec is self.root:
            self._finish_root(rec)

    def _finish_root(self, rec: _Rec) -> None:
        if rec.kind == "T":
            self.root_idx = self._use(rec.body)
            return
        # JPMML: a root predicate that is false or unknown gives no prediction
        pred = rec.elem if rec.kind == "E" else (self._simple_elem(rec) if rec.kind == "S" else None)
        if pred is None:  # <False/>
            self.root_idx = self._leaf(0)
            return
        self.root_idx = self._emit(pred, _Node(rec.body), _NULL, _NULL, 0, 0)

    def _simple_elem(self, rec: _Rec) -> Elem:
        attrib = {"field": rec.field, "operator": rec.op}
        if rec.value is not None:
            attrib["value"] = rec.value
        return Elem("SimplePredicate", "", attrib, None)

    def _default_index(self, rec: _Rec) -> int:
        d = rec.default
        if d is None:
            raise FormatError(
                "missingValueStrategy=defaultChild needs a defaultChild on every non-leaf Node", location=self._node_path(rec)
            )
        for i, c in enumerate(rec.children):
            if c.nid == d:
                return i
        raise FormatError(f"defaultChild={d!r} names no child Node", location=self._node_path(rec))

    def _pair_missing(self, rec: _Rec, ch: list[_Rec]) -> int | None:
        """Missing action of a complementary pair collapsed into one split (None: cannot collapse)."""
        mvs = self.mvs
        if mvs == "nullPrediction":
            return MISSING_NULL
        if mvs == "lastPrediction":
            return MISSING_STOP
        if mvs == "none":  # both children unknown -> no true child
            return MISSING_STOP if self.return_last else MISSING_NULL
        d = self._default_index(rec)
        return MISSING_TRUE if d == 0 else MISSING_FALSE if d == 1 else None

    def _chain_missing(self, rec: _Rec, ch: list[_Rec], i: int, m: int, default: int) -> tuple[int, int]:
        """(missing action, default-child index needing a missing test or -1) of chain split i."""
        mvs = self.mvs
        if mvs == "none":
            return MISSING_FALSE, -1
        if mvs == "nullPrediction":
            return MISSING_NULL, -1
        if mvs == "lastPrediction":
            return MISSING_STOP, -1
        if default == i:
            return MISSING_TRUE, -1
        if default > i:
            field = ch[i].field
            ok = True
            for k in range(i + 1, min(default, m) + 1):
                c = ch[k]
                if k == default and k == m:  # reached through the false branches (a True child)
                    break
                if c.kind == "F":
                    continue
                if c.kind != "S" or c.field != field or c.op not in _OPS:
                    ok = False
                    break
            if ok and default <= m:
                return MISSING_FALSE, -1
        return MISSING_FALSE, default

    def _unknown(self, rec: _Rec, ch: list[_Rec], i: int, vid: int, default: int, T: Any, F: Any) -> Any:
        mvs = self.mvs
        if mvs == "none":
            return F
        if mvs == "nullPrediction":
            return _NULL
        if mvs == "lastPrediction":
            return _Stop(vid)
        if default == i:
            return T
        return _Node(ch[default].body)

    # -- predicate expansion with three-valued logic ------------------------------------------
    def _mat(self, c: Any) -> int:
        if isinstance(c, _Node):
            return self._use(c.idx)
        if isinstance(c, _Lazy):
            return c.fn()
        if isinstance(c, _Stop):
            return self._leaf(c.vid)
        return self._leaf(0)  # _NULL

    def _split(self, field: str, op: int, thr: Any, T: Any, F: Any, U: Any, vid: int) -> int:
        gadget = False
        if U is T:
            miss = MISSING_TRUE
        elif U is F:
            miss = MISSING_FALSE
        elif U is _NULL:
            miss = MISSING_NULL
        elif isinstance(U, _Stop):
            miss, vid = MISSING_STOP, U.vid
        else:
            miss, gadget = MISSING_FALSE, True
        idx = self._new(field, op, thr, self._mat(T), self._mat(F), miss, vid)
        if gadget:
            idx = self._new(field, _NOT_IN, _EMPTY_SET, idx, self._mat(U), MISSING_FALSE, vid)
        return idx

    def _cont(self, preds: list[Elem], bop: str, T: Any, F: Any, U: Any, vid: int, depth: int) -> Any:
        if T is F and F is U:
            return T
        if len(preds) == 1:
            p = preds[0]
            return _Lazy(lambda: self._emit(p, T, F, U, vid, depth))
        return _Lazy(lambda: self._compound(bop, preds, T, F, U, vid, depth))

    def _emit(self, pred: Elem, T: Any, F: Any, U: Any, vid: int, depth: int) -> int:
        if depth > _MAX_PREDICATE_DEPTH:
            raise LimitExceededError(f"predicates nest deeper than {_MAX_PREDICATE_DEPTH}", location=self.where)
        if T is F and F is U:
            return self._mat(T)
        tag = pred.tag
        if tag == "True":
            return self._mat(T)
        if tag == "False":
            return self._mat(F)
        if tag == "SimplePredicate":
            field, op, value = pred.get("field", ""), pred.get("operator", ""), pred.get("value")
            if op == "isMissing":
                return self._new(field, _NOT_IN, _EMPTY_SET, self._mat(F), self._mat(T), MISSING_FALSE, vid)
            if op == "isNotMissing":
                return self._new(field, _NOT_IN, _EMPTY_SET, self._mat(T), self._mat(F), MISSING_FALSE, vid)
            if op not in _OPS:
                raise FormatError(f"unknown SimplePredicate operator {op!r}", location=self.where)
            if value is None:
                raise FormatError(f"SimplePredicate on {field!r} has no value", location=self.where)
            return self._split(field, _OPS[op], value, T, F, U, vid)
        if tag == "SimpleSetPredicate":
            field, bop = pred.get("field", ""), pred.get("booleanOperator")
            if bop not in ("isIn", "isNotIn"):
                raise FormatError(f"SimpleSetPredicate booleanOperator={bop!r}; expected isIn or isNotIn", location=self.where)
            arr = pred.find("Array")
            if arr is None:
                raise FormatError("SimpleSetPredicate without an Array", location=self.where)
            members = parse_array(arr, self.where)
            return self._split(field, _IN if bop == "isIn" else _NOT_IN, ("set", members), T, F, U, vid)
        if tag == "CompoundPredicate":
            bop = pred.get("booleanOperator", "")
            preds = [c for c in pred.children if c.tag in ("SimplePredicate", "SimpleSetPredicate", "CompoundPredicate", "True", "False")]
            if bop not in ("and", "or", "xor", "surrogate"):
                raise FormatError(f"CompoundPredicate booleanOperator={bop!r}", location=self.where)
            if len(preds) < 2:
                raise FormatError("a CompoundPredicate needs at least two predicates", location=self.where)
            return self._compound(bop, preds, T, F, U, vid, depth + 1)
        raise UnsupportedFeatureError(f"predicate <{tag}> is not supported", location=self.where)

    def _compound(self, bop: str, preds: list[Elem], T: Any, F: Any, U: Any, vid: int, depth: int) -> int:
        if len(preds) == 1:
            return self._emit(preds[0], T, F, U, vid, depth)
        first, rest = preds[0], preds[1:]
        if bop == "and":  # unknown AND x: true -> unknown, false -> false
            return self._emit(first, self._cont(rest, bop, T, F, U, vid, depth), F, self._cont(rest, bop, U, F, U, vid, depth), vid, depth)
        if bop == "or":  # unknown OR x: true -> true, false -> unknown
            return self._emit(first, T, self._cont(rest, bop, T, F, U, vid, depth), self._cont(rest, bop, T, U, U, vid, depth), vid, depth)
        if bop == "xor":  # any unknown -> unknown
            return self._emit(first, self._cont(rest, bop, F, T, U, vid, depth), self._cont(rest, bop, T, F, U, vid, depth), U, vid, depth)
        # surrogate: the first predicate that is not unknown decides
        return self._emit(first, T, F, self._cont(rest, bop, T, F, U, vid, depth), vid, depth)

    # -- final arrays --------------------------------------------------------------------------
    def _build(self) -> RawTree:
        t = RawTree()
        t.where = self.where
        n = len(self.f_op)
        tc = np.array(self.f_tc, dtype=np.int64)
        fc = np.array(self.f_fc, dtype=np.int64)
        is_split = np.fromiter((f is not None for f in self.f_field), dtype=bool, count=n)
        # keep the nodes reachable from the root (unreached bodies, e.g. after a True child)
        keep = np.zeros(n, dtype=bool)
        frontier = np.array([self.root_idx], dtype=np.int64)
        while frontier.size:
            keep[frontier] = True
            inner = frontier[is_split[frontier]]
            frontier = np.concatenate([tc[inner], fc[inner]])
        order = np.flatnonzero(keep)
        # renumber so the root is node 0 (roots must come first for the ensemble offsets to work)
        order = np.concatenate([[self.root_idx], order[order != self.root_idx]])
        new = np.full(n, -1, dtype=np.int64)
        new[order] = np.arange(order.shape[0])
        m = order.shape[0]
        split = is_split[order]
        t.tc = np.where(split, new[tc[order]], -1).astype(np.int32)
        t.fc = np.where(split, new[fc[order]], -1).astype(np.int32)
        t.op = np.array(self.f_op, dtype=np.uint8)[order]
        t.miss = np.array(self.f_miss, dtype=np.uint8)[order]
        vid = np.array(self.f_vid, dtype=np.int64)[order]
        # fields and thresholds
        fields: dict[str, int] = {}
        feature = np.full(m, -1, dtype=np.int32)
        threshold = np.zeros(m, dtype=np.float64)
        f_field, f_thr = self.f_field, self.f_thr
        kinds: dict[str, str] = {}
        info, tm = self.info, self.tm
        plain_idx: list[int] = []
        plain_val: list[str] = []
        for j, i in enumerate(order.tolist()):
            name = f_field[i]
            if name is None:
                continue
            k = fields.get(name)
            if k is None:
                k = fields[name] = len(fields)
                kinds[name] = info.field_type(tm, name, self.where)
            feature[j] = k
            thr = f_thr[i]
            kind = kinds[name]
            if thr == _EMPTY_SET:
                threshold[j] = self._set(t, [])
            elif isinstance(thr, tuple):
                threshold[j] = self._set(t, [self._number(name, kind, v) for v in thr[1]])
            elif kind in ("double", "float", "integer"):
                plain_idx.append(j)
                plain_val.append(thr)
            else:
                threshold[j] = self._number(name, kind, thr)
        if plain_idx:
            try:
                nums = np.array(plain_val, dtype=np.float64)
            except ValueError:
                nums = np.array([self._number(f_field[order[j]] or "", "double", v) for j, v in zip(plain_idx, plain_val)])
            threshold[plain_idx] = nums
        # float fields compare in float32 (as JPMML does): round their thresholds / set members
        names = list(fields)
        float_ids = [k for k, nm in enumerate(names) if kinds[nm] == "float"]
        if float_ids:
            plain = np.isin(feature, float_ids) & (t.op < _IN)
            threshold[plain] = threshold[plain].astype(np.float32).astype(np.float64)
            for j in np.flatnonzero(np.isin(feature, float_ids) & (t.op >= _IN)).tolist():
                s = int(threshold[j])
                t.sets[s] = [float(np.float32(v)) for v in t.sets[s]]
        t.feature = feature
        t.threshold = threshold
        t.fields = names
        t.n_nodes = m
        self._values(t, vid)
        return t

    def _set(self, t: RawTree, members: list[float]) -> float:
        t.sets.append(members)
        return float(len(t.sets) - 1)

    def _number(self, field: str, kind: str, text: str) -> float:
        if kind == "string":
            return self.info.category_code(self.tm, field, text)
        if kind == "boolean":
            low = text.strip().lower()
            if low in ("true", "1"):
                return 1.0
            if low in ("false", "0"):
                return 0.0
        try:
            return float(text)
        except (TypeError, ValueError):
            raise FormatError(f"{text!r} is not a number (field {field!r})", location=self.where) from None

    def _values(self, t: RawTree, vid: NDArray[np.int64]) -> None:
        nv = len(self.v_score)
        if not self.classification:
            vals = np.full(nv, math.nan)
            try:
                scores = np.array([s if s is not None else "nan" for s in self.v_score[1:]], dtype=np.float64)
            except ValueError:
                bad = next(s for s in self.v_score[1:] if s is not None and not _is_number(s))
                raise FormatError(f"node score {bad!r} is not a number in a regression tree", location=self.where) from None
            vals[1:] = scores
            t.values = vals[vid].reshape(-1, 1)
            t.score_votes = None
            return
        classes: list[str] = self.info.classes(self.tm, self.where)
        index = {c: k for k, c in enumerate(classes)}
        K = len(classes)
        cache: dict[str | None, int] = {}

        def code(label: str | None) -> int:
            k = cache.get(label)
            if k is None:
                if label is None:
                    raise FormatError("ScoreDistribution without a value", location=self.where)
                k = cache[label] = self._class_index(index, label)
            return k

        votes = np.fromiter((-1 if s is None else code(s) for s in self.v_score), dtype=np.int64, count=nv)
        table = np.full((nv, K), math.nan)
        ranges = np.array(self.v_sd, dtype=np.int64).reshape(-1, 2)
        lengths = ranges[:, 1] - ranges[:, 0]
        has_sd = lengths > 0
        onehot = (~has_sd) & (votes >= 0)
        table[onehot] = 0.0
        table[np.flatnonzero(onehot), votes[onehot]] = 1.0
        if has_sd.any():
            # every ScoreDistribution belongs to exactly one value id (ranges are disjoint)
            starts = np.repeat(ranges[has_sd, 0], lengths[has_sd])
            entry = starts + (np.arange(starts.shape[0]) - np.repeat(np.cumsum(lengths[has_sd]) - lengths[has_sd], lengths[has_sd]))
            owner = np.repeat(np.flatnonzero(has_sd), lengths[has_sd])
            labels, counts, probs = self.sd_label, self.sd_count, self.sd_prob
            cls = np.fromiter((code(labels[e]) for e in entry.tolist()), dtype=np.int64, count=entry.shape[0])
            text = [probs[e] if probs[e] is not None else counts[e] for e in entry.tolist()]
            if any(x is None for x in text):
                raise FormatError("a ScoreDistribution has neither recordCount nor probability", location=self.where)
            try:
                x = np.array(text, dtype=np.float64)
            except ValueError:
                raise FormatError("a ScoreDistribution recordCount/probability is not a number", location=self.where) from None
            sub = np.zeros((nv, K))
            np.add.at(sub, (owner, cls), x)
            total = sub.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                rows = np.flatnonzero(has_sd)
                table[rows] = sub[rows] / total[rows, None]
        t.values = table[vid]
        t.score_votes = votes[vid]

    def _class_index(self, index: dict[str, int], label: str) -> int:
        k = index.get(label)
        if k is None:
            k = _numeric_match(index, label)
        if k is None:
            raise FormatError(f"class {label!r} is not one of the target's categories {list(index)}", location=self.where)
        return k


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _numeric_match(index: dict[str, int], label: str) -> int | None:
    try:
        x = float(label)
    except ValueError:
        return None
    for c, k in index.items():
        try:
            if float(c) == x:
                return k
        except ValueError:
            continue
    return None
