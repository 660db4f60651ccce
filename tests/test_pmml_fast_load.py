"""The raw-byte PMML fast path (``formats/pmml/_raw.py``) against the ordinary lxml path.

Every test reads the same bytes twice, once with the raw path and once with it switched off
(``_reader.USE_RAW_PATH = False``), and demands the same outcome: ``==`` models, or a
PortamodelError from both. ``_reader.last_raw_regions`` says how many tree regions the last read
converted straight from bytes, so tests can fail if the fast path silently stops being taken.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portamodel.errors import PortamodelError
from portamodel.formats import pmml
from portamodel.formats.pmml import _fast, _raw, _reader
from strategies import tree_models

DATA = Path(__file__).parent / "data" / "pmml"
FIXTURES = sorted(DATA.glob("*.pmml")) + sorted((DATA / "handwritten").glob("*.pmml"))
TREE_FIXTURES = [p for p in FIXTURES if b"<TreeModel" in p.read_bytes() and "handwritten" not in p.parts]


def _outcome(source: Any, raw: bool) -> tuple[str, Any]:
    old = _reader.USE_RAW_PATH
    _reader.USE_RAW_PATH = raw
    try:
        return "ok", pmml.read(source)
    except PortamodelError as exc:
        return "error", exc
    finally:
        _reader.USE_RAW_PATH = old


def _agree(source: Any) -> tuple[str, Any]:
    """Read ``source`` both ways; they must agree. Returns the raw path's outcome and the number
    of regions it converted from bytes (``_reader.last_fast_trees`` is then the ordinary path's
    count of trees converted by the vectorised converter)."""
    fast = _outcome(source, True)
    regions = _reader.last_raw_regions
    slow = _outcome(source, False)
    assert fast[0] == slow[0], (fast, slow)
    if fast[0] == "ok":
        assert fast[1] == slow[1]
    else:
        assert type(fast[1]) is type(slow[1]), (fast, slow)
        assert str(fast[1]) == str(slow[1])
    return fast[0], regions


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_same_model_both_paths(path: Path) -> None:
    assert _agree(path)[0] == "ok"
    assert _agree(path.read_bytes())[0] == "ok"


@pytest.mark.parametrize("path", TREE_FIXTURES, ids=lambda p: p.name)
def test_fast_path_taken_for_sklearn2pmml_trees(path: Path, tmp_path: Path) -> None:
    data = path.read_bytes()
    n_trees = len(re.findall(rb"<TreeModel[\s>]", data))
    assert n_trees > 0
    assert _agree(path) == ("ok", n_trees)
    gz = tmp_path / (path.name + ".gz")
    gz.write_bytes(gzip.compress(data))
    assert _agree(gz) == ("ok", n_trees)


@pytest.mark.parametrize("wrap", [bytearray, memoryview], ids=["bytearray", "memoryview"])
def test_bytes_like_sources(wrap: Any) -> None:
    data = (DATA / "random_forest_regressor.pmml").read_bytes()
    assert _agree(wrap(data)) == ("ok", 8)
    assert pmml.read(wrap(data)) == pmml.read(data)


def test_switch_really_switches() -> None:
    path = DATA / "random_forest_classifier.pmml"
    _outcome(path, False)
    assert _reader.last_raw_regions == 0
    _outcome(path, True)
    assert _reader.last_raw_regions > 0


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_give_the_same_model(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regions converted on several threads (or all on the caller's) give the same model, also
    when some regions are declined (a comment inside a tree) and when the read falls back."""
    data = (DATA / "random_forest_classifier.pmml").read_bytes()
    n_trees = len(re.findall(rb"<TreeModel[\s>]", data))
    expected = _outcome(data, False)[1]
    monkeypatch.setattr(_reader, "THREADS", threads)
    assert _outcome(data, True)[1] == expected
    assert _reader.last_raw_regions == n_trees
    commented = re.sub(rb"(<Node>\s*<True/>)", rb"\1<!-- c -->", data, count=3)
    assert _outcome(commented, True)[1] == _outcome(commented, False)[1]
    _outcome(commented, True)
    assert _reader.last_raw_regions == n_trees - 3
    broken = data.replace(b"</Node>", b"</Nod>", 1)
    assert _outcome(broken, True)[0] == "error"


def _string_forest(orders: list[tuple[str, ...]], undefined: int | None = None) -> bytes:
    """A forest of stumps on a string field without a value list, tree ``i`` testing the values
    of ``orders[i]`` in that order (category codes are numbered in document order), and one
    numeric split each; tree ``undefined`` splits on a field that is not defined."""
    segments = []
    for i, values in enumerate(orders):
        field = "nowhere" if i == undefined else "x"
        nodes = "".join(
            f'<Node score="{k}"><SimplePredicate field="color" operator="equal" value="{v}"/></Node>' for k, v in enumerate(values)
        )
        segments.append(
            f'<Segment id="{i + 1}"><True/><TreeModel functionName="regression"><MiningSchema><MiningField name="color"/>'
            f'<MiningField name="x"/></MiningSchema><Node score="9"><True/>{nodes}'
            f'<Node score="7"><SimplePredicate field="{field}" operator="lessThan" value="0.5"/></Node></Node></TreeModel></Segment>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/>'
        '<DataDictionary><DataField name="color" optype="categorical" dataType="string"/>'
        '<DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/>'
        '</DataDictionary><MiningModel functionName="regression"><MiningSchema><MiningField name="color"/><MiningField name="x"/>'
        '<MiningField name="y" usageType="target"/></MiningSchema><Segmentation multipleModelMethod="sum">'
        + "".join(segments)
        + "</Segmentation></MiningModel></PMML>"
    ).encode()


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_keep_document_order(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trees whose conversion needs the calling thread (category codes, numbered in document
    order; an undefined field) read exactly as a sequential read gives them."""
    monkeypatch.setattr(_reader, "THREADS", threads)
    orders = [("c", "a"), ("b",), ("a", "d", "c"), ("e",), ("d", "f"), ("g", "a")]
    data = _string_forest(orders)
    assert _agree(data) == ("ok", len(orders))
    # the codes matter: the same trees in another order are another model
    assert pmml.read(_string_forest(orders[::-1])) != pmml.read(data)
    assert _agree(_string_forest(orders, undefined=4))[0] == "error"


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(tree_models(max_trees=3, max_depth=4))
def test_written_models_same_both_paths(model: Any) -> None:
    data = pmml.write(model, on_loss="ignore")
    kind, regions = _agree(data)
    assert kind == "ok"
    # every tree the vectorised converter takes from lxml elements, the raw scanner takes from bytes
    assert regions == _reader.last_fast_trees


# -- mutations of tree regions ------------------------------------------------------------------

SEED = (DATA / "gradient_boosting_multiclass.pmml").read_bytes()
SEED_SMALL = (DATA / "decision_tree_classifier.pmml").read_bytes()

INSERTS = [b">", b"<", b'"', b"/", b"'", b"&", b"&amp;", b"&#60;", b"<!-- c -->", b"<![CDATA[x]]>", b"<?pi x?>", b"\x00", b"\x01",
           b"\x1f", b"\xff", b"\xc3", b"\xef\xbf\xbe", b"text", b"=", b" ", b"\t", b"\n", b"</Node>", b"<Node>", b"<True/>",
           b'<Extension name="a"/>', b'<CompoundPredicate booleanOperator="and"/>', b"x:", b'xmlns="urn:x" ', b'xmlns:p="urn:p" ',
           b"]]>", b"\xc3\xa9", b"\r\n"]  # fmt: skip


def _regions(data: bytes) -> list[tuple[int, int]]:
    cut = _raw.split_document(data)
    assert cut is not None
    return cut.regions


@st.composite
def mutations(draw: st.DrawFn, data: bytes) -> bytes:
    regions = _regions(data)
    a, b = draw(st.sampled_from(regions))
    kind = draw(st.sampled_from(["insert", "delete", "duplicate", "swap_end", "dup_attr", "replace_byte", "attr_value"]))
    if kind in ("insert", "delete", "duplicate", "replace_byte"):
        targets = draw(st.sampled_from(["any", "<", ">", '"', "/", "=", " "]))
        if targets == "any":
            i = draw(st.integers(a, b - 1))
        else:
            where = [m.start() for m in re.finditer(re.escape(targets.encode()), data[a:b])]
            i = a + draw(st.sampled_from(where)) if where else a
        if kind == "insert":
            return data[:i] + draw(st.sampled_from(INSERTS)) + data[i:]
        if kind == "delete":
            return data[:i] + data[i + 1 :]
        if kind == "duplicate":
            return data[:i] + data[i : i + 1] + data[i:]
        return data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]
    if kind == "swap_end":
        ends = [m.start() for m in re.finditer(rb"</Node", data[a:b])]
        i = a + draw(st.sampled_from(ends))
        name = draw(st.sampled_from([b"</True", b"</Nodes", b"</Nod", b"</node", b"</SimplePredicate", b"</x:Node"]))
        return data[:i] + name + data[i + 6 :]
    if kind == "dup_attr":
        attrs = [m for m in re.finditer(rb' ([A-Za-z]+)="[^"]*"', data[a:b])]
        m = draw(st.sampled_from(attrs))
        return data[: a + m.end()] + b" " + m.group(0)[1:] + data[a + m.end() :]
    attrs = [m for m in re.finditer(rb'="([^"]*)"', data[a:b])]
    m = draw(st.sampled_from(attrs))
    value = draw(st.sampled_from([b"", b"1e400", b"nan", b"abc", b"a b", b"&lt;", b"\t1", b"x\n", b"\xe9", b"1 ", b"'1'", b"-0", b"0x1"]))
    return data[: a + m.start(1)] + value + data[a + m.end(1) :]


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_mutated_regions_agree(data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from([SEED, SEED_SMALL]))
    mutated = data.draw(mutations(seed))
    _agree(mutated)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_twice_mutated_regions_agree(data: st.DataObject) -> None:
    once = data.draw(mutations(SEED_SMALL))
    try:
        twice = data.draw(mutations(once))
    except AssertionError:  # the first mutation made the document ineligible for cutting
        twice = once
    _agree(twice)


# -- hand-written cases ------------------------------------------------------------------------

HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">'
    b'<DataDictionary><DataField name="x" optype="continuous" dataType="double"/>'
    b'<DataField name="y" optype="continuous" dataType="double"/></DataDictionary>'
    b'<TreeModel functionName="regression"><MiningSchema><MiningField name="x"/>'
    b'<MiningField name="y" usageType="target"/></MiningSchema>\n'
)
TREE = (
    b'<Node>\n\t<True/>\n\t<Node score="1.5">\n\t\t<SimplePredicate field="x" operator="lessOrEqual" value="0.5"/>\n\t</Node>\n'
    b'\t<Node score="2.5"><True/></Node>\n</Node>'
)
TAIL = b"\n</TreeModel></PMML>"


def test_handwritten_tree_takes_fast_path() -> None:
    kind, regions = _agree(HEAD + TREE + TAIL)
    assert (kind, regions) == ("ok", 1)
    model = pmml.read(HEAD + TREE + TAIL)
    assert model.predict([[0.0], [1.0]]).ravel().tolist() == [1.5, 2.5]


MALFORMED = {
    "unclosed": TREE[:-7],
    "extra_end": TREE + b"</Node>",
    "wrong_end_name": TREE.replace(b"</Node>\n</Node>", b"</Node>\n</Nodes>"),
    "unquoted": TREE.replace(b'score="1.5"', b"score=1.5"),
    "attr_without_value": TREE.replace(b'score="1.5"', b"score"),
    "no_space_between_attrs": TREE.replace(b'operator="lessOrEqual" value', b'operator="lessOrEqual"value'),
    "duplicate_attr": TREE.replace(b'score="1.5"', b'score="1.5" score="2"'),
    "lt_in_value": TREE.replace(b'value="0.5"', b'value="<0.5"'),
    "control_byte": TREE.replace(b"<True/>", b"<True/>\x01", 1),
    "bad_utf8": TREE.replace(b'score="1.5"', b'score="\xff"'),
    "undefined_entity": TREE.replace(b'value="0.5"', b'value="&x;"'),
    "slash_in_end_tag": TREE.replace(b"</Node>\n</Node>", b"</Node/>\n</Node>"),
    "name_starts_with_digit": TREE.replace(b"<True/>", b"<1True/>", 1),
    "space_after_lt": TREE.replace(b"<True/>", b"< True/>", 1),
    "unterminated_value": TREE.replace(b'value="0.5"/>', b'value="0.5/>'),
    "attr_on_end_tag": TREE.replace(b"</Node>\n</Node>", b'</Node a="1">\n</Node>'),
    "leaf_not_closed": TREE.replace(b"<True/>", b"<True>", 1),
    "double_equals": TREE.replace(b'score="1.5"', b'score=="1.5"'),
    "double_slash": TREE.replace(b"<True/>", b"<True//>", 1),
    "slash_slash_end": TREE.replace(b"</Node>\n</Node>", b"<//Node>\n</Node>"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_region_raises_with_location(name: str) -> None:
    doc = HEAD + MALFORMED[name] + TAIL
    kind, _ = _agree(doc)
    assert kind == "error"
    with pytest.raises(PortamodelError) as info:
        pmml.read(doc)
    assert info.value.location, name


def test_scanner_refuses_malformed_regions() -> None:
    """The scanner itself never accepts a malformed region (not only lxml after it)."""
    for name, tree in MALFORMED.items():
        assert _raw.scan_region(np.frombuffer(tree, dtype=np.uint8)) is None, name
    assert _raw.scan_region(np.frombuffer(TREE, dtype=np.uint8)) is not None


UNUSUAL = {
    "comment_elsewhere": (HEAD.replace(b"<DataDictionary>", b"<!-- hi --><DataDictionary>") + TREE + TAIL, 0),
    "pi_elsewhere": (HEAD.replace(b"<DataDictionary>", b"<?pi x?><DataDictionary>") + TREE + TAIL, 0),
    "latin1": (HEAD.replace(b"UTF-8", b"ISO-8859-1") + TREE + TAIL, 0),
    "entity_in_region": (HEAD + TREE.replace(b'score="1.5"', b'score="&#49;.5"') + TAIL, 0),
    "apostrophes": (HEAD + TREE.replace(b'score="1.5"', b"score='1.5'") + TAIL, 0),
    "tabs_in_markup": (HEAD + TREE.replace(b'<Node score="1.5">', b'<Node\tscore="1.5"\n>') + TAIL, 1),
    "empty_value": (HEAD + TREE.replace(b'<Node score="2.5">', b'<Node id="" score="2.5">') + TAIL, 1),
    "compound_predicate": (
        HEAD
        + TREE.replace(
            b'<SimplePredicate field="x" operator="lessOrEqual" value="0.5"/>',
            b'<CompoundPredicate booleanOperator="or"><SimplePredicate field="x" operator="lessOrEqual" value="0.5"/>'
            b'<SimplePredicate field="x" operator="isMissing"/></CompoundPredicate>',
        )
        + TAIL,
        0,
    ),
    "extension_in_node": (HEAD + TREE.replace(b"<True/>", b'<True/><Extension name="a" value="b"/>', 1) + TAIL, 0),
    "prefixed_pmml": (
        HEAD.replace(b'<PMML xmlns="http://www.dmg.org/PMML-4_4"', b'<PMML xmlns="http://www.dmg.org/PMML-4_4" xmlns:p="urn:p"')
        + TREE.replace(b"<True/>", b'<True p:a="1"/>', 1)
        + TAIL,
        0,
    ),
    "foreign_default_namespace": (HEAD + TREE.replace(b"<Node>", b'<Node xmlns="urn:other">', 1) + TAIL, 0),
    "two_root_nodes": (HEAD + TREE + TREE + TAIL, 0),
    "text_in_node": (HEAD + TREE.replace(b"<True/>", b"<True/>hello", 1) + TAIL, 0),
    "node_in_extension_first": (HEAD + b'<Extension><Node score="9"><True/></Node></Extension>' + TREE + TAIL, 0),
    "non_ascii_category": (HEAD + TREE.replace(b'<Node score="2.5">', b'<Node id="\xc3\xa9t\xc3\xa9" score="2.5">') + TAIL, 1),
}


@pytest.mark.parametrize("name", sorted(UNUSUAL))
def test_unusual_documents_agree(name: str) -> None:
    doc, fast_regions = UNUSUAL[name]
    kind, regions = _agree(doc)
    assert regions == fast_regions, kind


def test_deep_region_leaves_limits_to_lxml() -> None:
    depth = 300
    tree = b"<Node><True/>" + b'<Node score="1"><True/>' * depth + b"</Node>" * depth + b"</Node>"
    doc = HEAD + tree + TAIL
    kind, regions = _agree(doc)
    assert (kind, regions) == ("error", 0)  # libxml2's depth limit, as on the ordinary path
    with pytest.raises(PortamodelError, match="huge_tree"):
        pmml.read(doc)


def test_placeholder_marker_in_document_is_harmless() -> None:
    """A document that itself contains a region-like marker attribute is never confused with one."""
    doc = HEAD + TREE.replace(b"<Node>", b'<Node portamodel_region_0000000000000000="0">', 1) + TAIL
    _agree(doc)


def test_region_scan_is_region_local() -> None:
    """Scanning works on any slice of a larger buffer (offsets are region-relative)."""
    data = HEAD + TREE + TAIL
    (a, b), = _regions(data)  # fmt: skip
    assert data[a:b] == TREE
    tags = _raw.scan_region(np.frombuffer(data, dtype=np.uint8)[a:b])
    assert tags is not None
    _, v0, v1 = tags.attr(b"score", 0)
    assert [TREE[i:j] for i, j in zip(v0.tolist(), v1.tolist())] == [b"1.5", b"2.5"]


@st.composite
def _random_tree_documents(draw: st.DrawFn) -> bytes:
    """A regression TreeModel with multi-way Nodes, True predicates anywhere among siblings
    (what follows one is never reached), scores on some inner Nodes and a random strategy."""
    count = [0]

    def node(depth: int, predicate: bytes) -> bytes:
        count[0] += 1
        n_kids = 0 if depth >= 4 or count[0] > 40 else draw(st.sampled_from([0, 1, 2, 2, 2, 3]))
        score = draw(st.sampled_from([b"1", b"2.5", b"-3", b"0.125"]))
        attrs = b' score="%s"' % score if n_kids == 0 or draw(st.booleans()) else b""
        kids = []
        for _ in range(n_kids):
            if draw(st.integers(0, 4)) == 0:
                pred = b"<True/>"
            else:
                field = draw(st.sampled_from([b"x", b"z"]))
                op = draw(st.sampled_from([b"lessOrEqual", b"lessThan", b"greaterThan", b"greaterOrEqual"]))
                pred = b'<SimplePredicate field="%s" operator="%s" value="%s"/>' % (field, op, draw(st.sampled_from([b"0", b"0.5", b"-1"])))
            kids.append(node(depth + 1, pred))
        return b"<Node%s>%s%s</Node>" % (attrs, predicate, b"".join(kids))

    strategy = draw(st.sampled_from([b"none", b"lastPrediction", b"nullPrediction"]))
    no_true = draw(st.sampled_from([b"returnNullPrediction", b"returnLastPrediction"]))
    head = (
        b'<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><DataDictionary>'
        b'<DataField name="x" optype="continuous" dataType="double"/><DataField name="z" optype="continuous" dataType="double"/>'
        b'<DataField name="y" optype="continuous" dataType="double"/></DataDictionary>'
        b'<TreeModel functionName="regression" missingValueStrategy="%s" noTrueChildStrategy="%s"><MiningSchema>'
        b'<MiningField name="x"/><MiningField name="z"/><MiningField name="y" usageType="target"/></MiningSchema>'
    ) % (strategy, no_true)
    return head + node(0, b"<True/>") + b"</TreeModel></PMML>"


_GRID = np.array([[x, z] for x in (-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, np.nan) for z in (-1.0, 0.0, 0.5, 0.7, np.nan)])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_random_tree_documents())
def test_random_trees_same_on_every_path(doc: bytes) -> None:
    """The vectorised converter takes the document's order as the trees' depth-first order when
    every node is reached: the same model as walking the tree for it, and the same predictions
    as the general converter (which may simplify complementary splits differently)."""
    kind, regions = _agree(doc)
    assert (kind, regions) == ("ok", 1)
    fast = pmml.read(doc)
    build = _fast.build_raw_tree
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_fast, "build_raw_tree", lambda *a, order=None, **k: build(*a, **k))
        walked = pmml.read(doc)
        m.setattr(_reader, "USE_FAST_PATH", False)
        general = pmml.read(doc)
    assert fast == walked
    np.testing.assert_array_equal(fast.predict(_GRID), general.predict(_GRID))


@settings(max_examples=200, deadline=None)
@given(
    width=st.integers(1, 10),
    rows=st.lists(st.binary(min_size=0, max_size=10), min_size=1, max_size=40),
)
def test_short_byte_string_helpers_match_numpy(width: int, rows: list[bytes]) -> None:
    """The converters' shortcuts for labels and counts (tables for 1-2 byte strings, integer keys up
    to 8 bytes, integer arithmetic for digit strings) against numpy's own unique and cast."""
    from portamodel.formats.pmml._tree import _floats, _unique_inverse

    arr = np.array([r[:width] for r in rows], dtype=f"S{width}")
    uniq, inv = _unique_inverse(arr)
    want_uniq, want_inv = np.unique(arr, return_inverse=True)
    assert uniq.dtype == want_uniq.dtype
    assert np.array_equal(uniq, want_uniq) and np.array_equal(inv, want_inv.ravel())
    digits = np.array([bytes(b"0123456789"[c % 10] for c in r[:width]) or b"0" for r in rows], dtype=f"S{width}")
    np.testing.assert_array_equal(_floats(digits), digits.astype(np.float64))
