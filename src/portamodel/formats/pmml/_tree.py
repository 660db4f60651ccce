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
from ._xml import Elem, local_name, lxml_xpath, parse_array

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


class LazyPath:
    """The XPath of an lxml element, computed only when an error message needs it."""

    __slots__ = ("el", "text")

    def __init__(self, el: Any) -> None:
        self.el = el
        self.text: str | None = None

    def __str__(self) -> str:
        if self.text is None:
            self.text = lxml_xpath(self.el)
        return self.text


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


class TreeCollector:
    """Receives the ``Node`` subtree of one TreeModel and converts it (see the module docstring).

    ``info`` supplies what the conversion needs from the rest of the document:
    ``info.field_type(tree_elem, name) -> dataType`` ("string", "float", "double", ...),
    ``info.category_code(name, value) -> float`` for string fields, ``info.classes(tree_elem)``
    (the class labels as strings, in output order; None for regression) and ``info.limits``.
    """

    def __init__(self, tree_elem: Any, info: Any) -> None:
        self.tm = tree_elem  # the lxml TreeModel element
        self.info = info
        self.where = LazyPath(tree_elem)
        fn = tree_elem.get("functionName")
        if fn not in ("classification", "regression"):
            raise UnsupportedFeatureError(
                f"TreeModel functionName={fn!r} is not supported (classification, regression)", location=str(self.where)
            )
        self.classification = fn == "classification"
        mvs = tree_elem.get("missingValueStrategy", "none")
        if mvs not in _MISSING_STRATEGIES:
            raise UnsupportedFeatureError(
                f"missingValueStrategy={mvs!r} is not supported (supported: {', '.join(_MISSING_STRATEGIES)})", location=str(self.where)
            )
        self.mvs = mvs
        ntcs = tree_elem.get("noTrueChildStrategy", "returnNullPrediction")
        if ntcs not in ("returnNullPrediction", "returnLastPrediction"):
            raise UnsupportedFeatureError(f"noTrueChildStrategy={ntcs!r} is not supported", location=str(self.where))
        self.return_last = ntcs == "returnLastPrediction"
        self.max_nodes = info.limits.max_tree_nodes
        self.stack: list[_Rec] = []  # open PMML nodes
        self.root: _Rec | None = None
        # output: one tuple (field, op, threshold, true child, false child, missing, value id) per node
        self.nodes: list[tuple[str | None, int, Any, int, int, int, int]] = []
        self.used: set[int] = set()
        # value ids: 0 is "no value"
        self.v_score: list[str | None] = [None]
        self.v_sd: list[tuple[int, int]] = [(0, 0)]  # ScoreDistribution range per value id
        self.sd_label: list[str | None] = []
        self.sd_count: list[str | None] = []
        self.sd_prob: list[str | None] = []

    # -- streaming callbacks (from the parser target) ----------------------------------------
    def open_node(self, attrib: Any) -> None:
        if attrib:  # lxml passes a slow immutable mapping when there are no attributes
            get = attrib.get
            score, nid, default = get("score"), get("id"), get("defaultChild")
        else:
            score = nid = default = None
        stack = self.stack
        if stack:
            children = stack[-1].children
            rec = _Rec(score, nid, default, len(children) + 1)
            children.append(rec)
        else:
            if self.root is not None:
                raise FormatError("a TreeModel has more than one root Node", location=str(self.where))
            rec = self.root = _Rec(score, nid, default, 1)
        stack.append(rec)

    def close_node(self) -> None:
        self._close_node(self.stack[-1])
        self.stack.pop()

    def misplaced_predicate(self, rec: _Rec) -> None:
        if rec.kind:
            raise FormatError("a Node has more than one predicate", location=self._node_path())
        raise FormatError("the predicate must be the first element of a Node", location=self._node_path())

    def walk(self, node_el: Any) -> RawTree:
        """Convert the lxml ``Node`` element ``node_el`` (the root of the tree) and its subtree."""
        max_depth = self.info.limits.max_depth
        todo: list[tuple[Any, bool]] = [(node_el, False)]
        while todo:
            el, done = todo.pop()
            if done:
                self.close_node()
                continue
            if len(self.stack) >= max_depth:
                raise LimitExceededError(f"tree nodes nest deeper than max_depth={max_depth}", location=self._node_path())
            self.open_node(el.attrib)
            rec = self.stack[-1]
            todo.append((el, True))
            kids = []
            for child in el:
                tag = child.tag
                if not isinstance(tag, str):
                    continue
                local = local_name(tag)
                if local == "Node":
                    kids.append(child)
                    continue
                if kids:
                    raise FormatError(f"<{local}> after a child Node", location=self._node_path())
                if local == "SimplePredicate":
                    if rec.kind or rec.sds is not None:
                        self.misplaced_predicate(rec)
                    a = child.attrib
                    rec.kind, rec.field, rec.op, rec.value = "S", a.get("field", ""), a.get("operator", ""), a.get("value")
                elif local == "True":
                    if rec.kind or rec.sds is not None:
                        self.misplaced_predicate(rec)
                    rec.kind = "T"
                elif local == "ScoreDistribution":
                    a = child.attrib
                    if rec.sds is None:
                        rec.sds = len(self.sd_label)
                    self.sd_label.append(a.get("value"))
                    self.sd_count.append(a.get("recordCount"))
                    self.sd_prob.append(a.get("probability"))
                    rec.sd_end = len(self.sd_label)
                elif local in ("CompoundPredicate", "SimpleSetPredicate", "False"):
                    if rec.kind or rec.sds is not None:
                        self.misplaced_predicate(rec)
                    rec.kind = "F" if local == "False" else "E"
                    rec.elem = _to_elem(child)
                elif local in ("Extension", "Partition") or local.startswith("{"):
                    continue
                elif local in ("EmbeddedModel", "Regression", "DecisionTree"):
                    raise UnsupportedFeatureError(f"<{local}> inside a tree node is not supported", location=self._node_path())
                else:
                    raise FormatError(f"unexpected element <{local}> inside <Node>", location=self._node_path())
            todo.extend((k, False) for k in reversed(kids))
        return self._build()

    # -- helpers ----------------------------------------------------------------------------
    def _node_path(self, upto: _Rec | None = None) -> str:
        parts = []
        for r in self.stack:
            parts.append("Node" if r.pos == 1 and r is self.stack[0] else f"Node[{r.pos}]")
            if r is upto:
                break
        return str(self.where) + "/" + "/".join(parts)

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
        nodes = self.nodes
        idx = len(nodes)
        if idx >= self.max_nodes:
            raise LimitExceededError(f"the tree expands to more than max_tree_nodes={self.max_nodes} nodes", location=str(self.where))
        nodes.append((field, op, thr, tc, fc, miss, vid))
        return idx

    def _leaf(self, vid: int) -> int:
        nodes = self.nodes
        nodes.append((None, 0, None, -1, -1, 0, vid))
        return len(nodes) - 1

    def _use(self, idx: int) -> int:
        """A subtree used as a child: the first use takes it, later uses take a copy."""
        used = self.used
        if idx not in used:
            used.add(idx)
            return idx
        return self._copy(idx)

    def _copy(self, idx: int) -> int:
        nodes = self.nodes
        order: list[int] = []
        todo = [idx]
        while todo:
            i = todo.pop()
            order.append(i)
            if nodes[i][0] is not None:
                todo.append(nodes[i][3])
                todo.append(nodes[i][4])
        new: dict[int, int] = {}
        for i in reversed(order):  # children before parents
            f, op, thr, tc, fc, miss, vid = nodes[i]
            new[i] = self._leaf(vid) if f is None else self._new(f, op, thr, new[tc], new[fc], miss, vid)
        self.used.update(new.values())
        return new[idx]

    # -- converting one PMML node (its children are complete) ---------------------------------
    def _close_node(self, rec: _Rec) -> None:
        if not rec.kind:
            raise FormatError("a Node has no predicate", location=self._node_path(rec))
        ch = rec.children
        if not ch:  # a leaf (the most common case: keep it short)
            if rec.vid < 0:
                self._vid(rec)
            nodes = self.nodes
            rec.body = len(nodes)
            nodes.append((None, 0, None, -1, -1, 0, rec.vid))
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
                pred = c.elem if c.elem is not None else self._simple_elem(c)
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
            raise LimitExceededError(f"predicates nest deeper than {_MAX_PREDICATE_DEPTH}", location=str(self.where))
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
                raise FormatError(f"unknown SimplePredicate operator {op!r}", location=str(self.where))
            if value is None:
                raise FormatError(f"SimplePredicate on {field!r} has no value", location=str(self.where))
            return self._split(field, _OPS[op], value, T, F, U, vid)
        if tag == "SimpleSetPredicate":
            field, bop = pred.get("field", ""), pred.get("booleanOperator")
            if bop not in ("isIn", "isNotIn"):
                raise FormatError(f"SimpleSetPredicate booleanOperator={bop!r}; expected isIn or isNotIn", location=str(self.where))
            arr = pred.find("Array")
            if arr is None:
                raise FormatError("SimpleSetPredicate without an Array", location=str(self.where))
            members = parse_array(arr, self.where)
            return self._split(field, _IN if bop == "isIn" else _NOT_IN, ("set", members), T, F, U, vid)
        if tag == "CompoundPredicate":
            bop = pred.get("booleanOperator", "")
            preds = [c for c in pred.children if c.tag in ("SimplePredicate", "SimpleSetPredicate", "CompoundPredicate", "True", "False")]
            if bop not in ("and", "or", "xor", "surrogate"):
                raise FormatError(f"CompoundPredicate booleanOperator={bop!r}", location=str(self.where))
            if len(preds) < 2:
                raise FormatError("a CompoundPredicate needs at least two predicates", location=str(self.where))
            # "x op t OR isMissing(x)" / "x op t AND isNotMissing(x)" is one split with a missing
            # direction (no subtree copies)
            if len(preds) == 2 and bop in ("or", "and") and all(p.tag == "SimplePredicate" for p in preds):
                test = "isMissing" if bop == "or" else "isNotMissing"
                a, b = preds if preds[1].get("operator") == test else preds[::-1]
                if (
                    b.get("operator") == test
                    and a.get("operator") in _OPS
                    and a.get("field") == b.get("field")
                    and a.get("value") is not None
                ):
                    return self._split(a.get("field", ""), _OPS[a.get("operator", "")], a.get("value"), T, F, T if bop == "or" else F, vid)
            return self._compound(bop, preds, T, F, U, vid, depth + 1)
        raise UnsupportedFeatureError(f"predicate <{tag}> is not supported", location=str(self.where))

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
        f_field, f_op, f_thr, f_tc, f_fc, f_miss, f_vid = zip(*self.nodes)
        names: dict[str | None, int] = {None: -1}
        fidx = np.array([names.setdefault(f, len(names) - 1) for f in f_field], dtype=np.int32)
        del names[None]
        thr = np.empty(len(f_thr), dtype=object)
        thr[:] = f_thr
        sd_vid, sd_entry = _sd_entries(self.v_sd)
        return build_raw_tree(
            self.info,
            self.tm,
            self.where,
            self.classification,
            field_idx=fidx,
            field_names=[str(k) for k in names],
            op=np.array(f_op, dtype=np.uint8),
            thr=thr,
            tc=np.array(f_tc, dtype=np.int64),
            fc=np.array(f_fc, dtype=np.int64),
            miss=np.array(f_miss, dtype=np.uint8),
            vid=np.array(f_vid, dtype=np.int64),
            root=self.root_idx,
            v_score=self.v_score,
            sd_vid=sd_vid,
            sd_label=[self.sd_label[e] for e in sd_entry],
            sd_value=[self.sd_prob[e] if self.sd_prob[e] is not None else self.sd_count[e] for e in sd_entry],
        )


def _to_elem(el: Any) -> Elem:
    """Copy a (small) lxml predicate subtree into :class:`Elem` objects."""
    top = Elem(local_name(el.tag), "", dict(el.attrib), None)
    top.text = el.text or ""
    todo = [(el, top, 0)]
    while todo:
        src, dst, depth = todo.pop()
        if depth > _MAX_PREDICATE_DEPTH:
            raise LimitExceededError(f"predicates nest deeper than {_MAX_PREDICATE_DEPTH}", location=lxml_xpath(src))
        for c in src:
            if isinstance(c.tag, str) and local_name(c.tag) not in ("Extension",):
                e = Elem(local_name(c.tag), "", dict(c.attrib), dst)
                e.text = c.text or ""
                todo.append((c, e, depth + 1))
    return top


def _sd_entries(v_sd: list[tuple[int, int]]) -> tuple[NDArray[np.int64], list[int]]:
    """(owner value id, ScoreDistribution index) of every distribution entry."""
    owners: list[int] = []
    entries: list[int] = []
    for v, (a, b) in enumerate(v_sd):
        if b > a:
            owners.extend([v] * (b - a))
            entries.extend(range(a, b))
    return np.array(owners, dtype=np.int64), entries


def build_raw_tree(
    info: Any,
    tm: Any,
    where: Any,
    classification: bool,
    *,
    field_idx: NDArray[np.int32],
    field_names: list[str],
    op: NDArray[np.uint8],
    thr: Any,
    tc: NDArray[np.int64],
    fc: NDArray[np.int64],
    miss: NDArray[np.uint8],
    vid: NDArray[np.int64],
    root: int,
    v_score: Any,
    sd_vid: NDArray[np.int64],
    sd_label: Any,
    sd_value: Any,
    order: NDArray[np.int64] | None = None,
) -> RawTree:
    """Binary node arrays (raw thresholds, value ids) -> :class:`RawTree`.

    Drops nodes not reachable from ``root`` and renumbers so the root is node 0; converts
    thresholds by field type (numbers, float32 for ``dataType="float"`` fields, category codes for
    strings); builds each node's value row from the node scores / score distributions.
    ``order``, when the caller knows it, is :func:`_preorder`'s result.
    """
    t = RawTree()
    t.where = where  # type: ignore[assignment]
    if order is None:
        order = _preorder(root, field_idx >= 0, tc, fc)
    n = op.shape[0]
    new = np.full(n, -1, dtype=np.int64)
    new[order] = np.arange(order.shape[0])
    m = order.shape[0]
    split = field_idx[order] >= 0
    t.tc = np.where(split, new[tc[order]], -1).astype(np.int32)
    t.fc = np.where(split, new[fc[order]], -1).astype(np.int32)
    t.op = op[order]
    t.miss = miss[order]
    # fields numbered by first use in node order
    used = field_idx[order][split]
    first_use = np.unique(used, return_index=True)[1]
    by_use = used[np.sort(first_use)]
    remap = np.full(len(field_names) + 1, -1, dtype=np.int64)
    remap[by_use] = np.arange(by_use.shape[0])
    feature = remap[field_idx[order]]
    field_names = [field_names[k] for k in by_use.tolist()]
    kinds = [info.field_type(tm, nm, where) for nm in field_names]
    threshold = np.zeros(m, dtype=np.float64)
    sel = np.flatnonzero(split)
    raw = thr[order[sel]]
    numeric_field = np.array([k in ("double", "float", "integer") for k in kinds] + [False], dtype=bool)
    plain = numeric_field[feature[sel]] & (t.op[sel] < _IN)
    if raw.dtype != object and plain.all():
        threshold[sel] = _numbers(raw, where)
    else:
        pi = np.flatnonzero(plain)
        if pi.size:
            threshold[sel[pi]] = _numbers(raw[pi], where)
        for i in np.flatnonzero(~plain).tolist():
            j = int(sel[i])
            name, kind, text = field_names[feature[j]], kinds[feature[j]], raw[i]
            if isinstance(text, bytes):
                text = text.decode()
            if isinstance(text, int) and text == _EMPTY_SET:
                threshold[j] = _add_set(t, [])
            elif isinstance(text, tuple):
                threshold[j] = _add_set(t, [_number(info, tm, where, name, kind, v) for v in text[1]])
            else:
                threshold[j] = _number(info, tm, where, name, kind, str(text))
    float_ids = [k for k, kind in enumerate(kinds) if kind == "float"]
    if float_ids:
        is_float = np.zeros(len(kinds) + 1, dtype=bool)  # feature -1 (a leaf) reads the last entry
        is_float[float_ids] = True
        on_float = is_float[feature] & split
        rounded = on_float & (t.op < _IN)
        threshold[rounded] = threshold[rounded].astype(np.float32).astype(np.float64)
        for j in np.flatnonzero(on_float & (t.op >= _IN)).tolist():
            k = int(threshold[j])
            t.sets[k] = [float(np.float32(v)) for v in t.sets[k]]
    t.feature = feature.astype(np.int32)
    t.threshold = threshold
    t.fields = list(field_names)
    t.n_nodes = m
    _values(t, info, tm, where, classification, vid[order], v_score, sd_vid, sd_label, sd_value)
    # "if x is missing, go to a leaf with no value" is exactly the IR's null action: say so, so
    # that every aggregation (also votes) treats it as no prediction
    if t.sets:
        empty = np.array([len(m) == 0 for m in t.sets])
        test = split & (t.op == _NOT_IN)
        test[test] = empty[threshold[test].astype(np.int64)]
        for j in np.flatnonzero(test).tolist():
            target = t.fc[j] if t.miss[j] == MISSING_FALSE else t.tc[j] if t.miss[j] == MISSING_TRUE else -1
            if target >= 0 and t.feature[target] < 0 and np.isnan(t.values[target]).all():
                t.miss[j] = MISSING_NULL
    # a split's own value only matters when a missing value stops there
    unused = split & (t.miss != MISSING_STOP)
    if unused.any():
        t.values = t.values.copy()
        t.values[unused] = 0.0
        if t.score_votes is not None:
            t.score_votes = t.score_votes.copy()
            t.score_votes[unused] = 0
    return t


def _preorder(root: int, is_split: NDArray[np.bool_], tc: NDArray[np.int64], fc: NDArray[np.int64]) -> NDArray[np.int64]:
    """Nodes reachable from ``root`` in depth-first pre-order (true branch first)."""
    levels = []
    links = []  # per level: (split nodes, their true children, their false children)
    frontier = np.array([root], dtype=np.int64)
    while frontier.size:
        levels.append(frontier)
        inner = frontier[is_split[frontier]]
        t, f = tc[inner], fc[inner]
        links.append((inner, t, f))
        frontier = np.concatenate([t, f])
    n = is_split.shape[0]
    size = np.ones(n, dtype=np.int64)
    for inner, t, f in reversed(links):  # subtree sizes, children first
        size[inner] = 1 + size[t] + size[f]
    pos = np.zeros(n, dtype=np.int64)
    for inner, t, f in links:  # positions, parents first
        p = pos[inner] + 1
        pos[t] = p
        pos[f] = p + size[t]
    reach = np.concatenate(levels)
    out = np.empty(reach.shape[0], dtype=np.int64)
    out[pos[reach]] = reach
    return out


def _numbers(raw: Any, where: str) -> NDArray[np.float64]:
    try:
        return np.asarray(raw).astype(np.float64)
    except (TypeError, ValueError):
        out = np.empty(len(raw))
        for i, v in enumerate(raw):
            text = v.decode() if isinstance(v, bytes) else v
            try:
                out[i] = float(text)
            except (TypeError, ValueError):
                raise FormatError(f"split value {text!r} is not a number", location=str(where)) from None
        return out


def _add_set(t: RawTree, members: list[float]) -> float:
    t.sets.append(members)
    return float(len(t.sets) - 1)


def _number(info: Any, tm: Any, where: str, field: str, kind: str, text: str) -> float:
    if kind == "string":
        return float(info.category_code(tm, field, text))
    if kind == "boolean":
        low = text.strip().lower()
        if low in ("true", "1"):
            return 1.0
        if low in ("false", "0"):
            return 0.0
    try:
        return float(text)
    except (TypeError, ValueError):
        raise FormatError(f"{text!r} is not a number (field {field!r})", location=str(where)) from None


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bytes):
        return v.decode()
    return str(v)


def _values(
    t: RawTree, info: Any, tm: Any, where: str, classification: bool, vid: NDArray[np.int64],
    v_score: Any, sd_vid: NDArray[np.int64], sd_label: Any, sd_value: Any,
) -> None:  # fmt: skip
    nv = len(v_score)
    if not classification:
        if isinstance(v_score, list):
            arr: Any = np.array(["nan" if s is None else s for s in v_score], dtype=object)
        else:
            arr = np.where(v_score == b"", b"nan", v_score)
        try:
            vals = arr.astype(np.float64)
        except (TypeError, ValueError):
            bad = next((s for s in arr.tolist() if not _is_number(_text(s) or "")), "?")
            raise FormatError(f"node score {_text(bad)!r} is not a number in a regression tree", location=str(where)) from None
        vals[0] = math.nan
        t.values = vals[vid].reshape(-1, 1)
        t.score_votes = None
        return
    classes: list[str] = info.classes(tm, where)
    index = {c: k for k, c in enumerate(classes)}
    K = len(classes)

    def codes(labels: Any, missing_ok: bool) -> NDArray[np.int64]:
        """Class index of each label (-1 for a missing label when ``missing_ok``)."""
        arr = np.array([b"" if v is None else v for v in labels]) if isinstance(labels, list) else np.asarray(labels)
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        uniq, inv = _unique_inverse(arr)
        table = np.empty(uniq.shape[0], dtype=np.int64)
        for i, u in enumerate(uniq.tolist()):
            text = _text(u) or ""
            if text == "" and missing_ok:
                table[i] = -1
                continue
            k = index.get(text)
            if k is None:
                k = _numeric_match(index, text)
            if k is None:
                what = (
                    "ScoreDistribution without a value" if text == "" else f"class {text!r} is not one of the target's categories {classes}"
                )
                raise FormatError(what, location=str(where))
            table[i] = k
        return table[inv.ravel()]

    votes = codes(["" if s is None else s for s in v_score], True) if isinstance(v_score, list) else codes(v_score, True)
    votes[0] = -1
    table = np.full((nv, K), math.nan)
    onehot = votes >= 0
    has_sd = np.zeros(nv, dtype=bool)
    has_sd[sd_vid] = True
    onehot &= ~has_sd
    table[onehot] = 0.0
    table[np.flatnonzero(onehot), votes[onehot]] = 1.0
    if sd_vid.size:
        cls = codes(sd_label, False)
        if isinstance(sd_value, list) and any(v is None for v in sd_value):
            raise FormatError("a ScoreDistribution has neither recordCount nor probability", location=str(where))
        try:
            x = _floats(np.asarray(sd_value))
        except (TypeError, ValueError):
            raise FormatError("a ScoreDistribution recordCount/probability is not a number", location=str(where)) from None
        if not (np.isfinite(x) & (x >= 0)).all():
            bad = x[~(np.isfinite(x) & (x >= 0))][0]
            raise FormatError(
                f"a ScoreDistribution recordCount/probability is {bad!r}: counts must be finite and >= 0", location=str(where)
            )
        # the same sums as np.add.at (bincount adds in input order too), much faster
        sub = np.bincount(sd_vid * K + cls, weights=x, minlength=nv * K).reshape(nv, K)
        total = sub.sum(axis=1)
        rows = np.flatnonzero(has_sd)
        with np.errstate(invalid="ignore", divide="ignore"):
            table[rows] = sub[rows] / total[rows, None]
    t.values = table[vid]
    t.score_votes = votes[vid]


def _unique_inverse(arr: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.int64]]:
    """``np.unique(arr, return_inverse=True)``; byte strings of up to 8 bytes sort as big-endian
    integers (the same order: zero-padded bytes compared lexicographically), much faster."""
    if arr.dtype.kind == "S" and 0 < arr.dtype.itemsize <= 2 and arr.ndim == 1:
        # one or two bytes (class labels "0", "1", ...): a table over every possible key, no sort
        w = arr.dtype.itemsize
        keys = np.ascontiguousarray(arr).view(np.uint8 if w == 1 else ">u2").astype(np.intp)
        present = np.bincount(keys, minlength=1 << (8 * w)) > 0
        rank = np.cumsum(present) - 1
        values = np.flatnonzero(present)
        uniq = values.astype(np.uint8 if w == 1 else ">u2").view(arr.dtype)
        return uniq, rank.take(keys)
    if arr.dtype.kind == "S" and 0 < arr.dtype.itemsize <= 8 and arr.ndim == 1:
        w = arr.dtype.itemsize
        packed = np.zeros((arr.shape[0], 8), dtype=np.uint8)
        packed[:, :w] = np.ascontiguousarray(arr).view(np.uint8).reshape(-1, w)
        keys, inv = np.unique(packed.view(">u8").ravel(), return_inverse=True)
        uniq = np.ascontiguousarray(keys.astype(">u8").view(np.uint8).reshape(-1, 8)[:, :w]).view(arr.dtype).ravel()
        return uniq, inv.ravel()
    uniq, inv = np.unique(arr, return_inverse=True)
    return uniq, inv.ravel()


def _floats(arr: NDArray[Any]) -> NDArray[np.float64]:
    """``arr.astype(np.float64)``; byte strings that are all plain decimal integers of at most 15
    digits (counts) are read with integer arithmetic instead (exact, so the same doubles)."""
    if arr.dtype.kind == "S" and 0 < arr.dtype.itemsize <= 15 and arr.ndim == 1 and arr.shape[0]:
        w = arr.dtype.itemsize
        b = np.ascontiguousarray(arr).view(np.uint8).reshape(-1, w)
        digit = (b >= 48) & (b <= 57)
        # digits, then only zero padding; at least one digit
        if digit[:, 0].all() and (digit | (b == 0)).all() and not (~digit[:, :-1] & digit[:, 1:]).any():
            value = np.zeros(b.shape[0], dtype=np.int64)
            for j in range(w):
                col = digit[:, j]
                value = np.where(col, value * 10 + (b[:, j].astype(np.int64) - 48), value)
            return value.astype(np.float64)
    return arr.astype(np.float64)


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
