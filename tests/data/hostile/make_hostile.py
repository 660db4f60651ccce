# ruff: noqa: E501 - XML and JSON literals read best on one line
"""Generate the hostile-input corpus: files every portamodel reader must refuse, fast and safely.

Run from the repository root (needs ``onnx``; the output is deterministic and committed)::

    python tests/data/hostile/make_hostile.py

It writes ``json/``, ``pmml/`` and ``onnx/`` next to this script, ``manifest.json`` (one entry
per file: what it attacks, the error class expected, a regular expression the message must
match, reader options, and what the test must set up around it) and ``README.md`` (the same
table, for people). ``tests/test_hostile.py`` loads every file in a guarded subprocess.

Test-time set-up named in the manifest:

- ``sentinel``: the test writes ``sentinel.txt`` next to the copied file (and in the working
  directory of the loader) and checks, with inotify, that nothing opened it;
- ``network``: the file names ``127.0.0.1:48213``; the test rewrites the port to one it listens
  on and checks that no connection arrived;
- ``symlinks``: links the test creates next to the copy (``{name: target}``; a target
  ``"{outside}"`` is a sentinel file outside the model's folder);
- ``companions``: other corpus files copied next to it (external-data files);
- ``options``: reader options; ``"{dir}"`` is replaced by the copy's folder;
- ``allow_load``: the file is odd rather than malformed; the reader may accept it, and then the
  model must score sample inputs without error.
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
import zlib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PORT = 48213  # rewritten at test time to a port the test listens on

MANIFEST: list[dict[str, Any]] = []


def add(name: str, data: bytes | str, attack: str, expect: str, match: str, **extra: Any) -> None:
    """Write one corpus file and record what it attacks and how the reader must refuse it."""
    path = HERE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if name.endswith(".gz") and not extra.pop("raw", False):
        raw = gzip.compress(raw, compresslevel=9, mtime=0)
    path.write_bytes(raw)
    entry: dict[str, Any] = {"file": name, "attack": attack, "expect": expect, "match": match}
    entry.update(extra)
    MANIFEST.append(entry)


def companion(name: str, data: bytes) -> None:
    """A data file some corpus entry refers to (not itself a model)."""
    path = HERE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# ===================================================================================== PMML ====

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
NS = 'xmlns="http://www.dmg.org/PMML-4_4" version="4.4"'
DD = """<DataDictionary>
  <DataField name="x1" optype="continuous" dataType="double"/>
  <DataField name="x2" optype="continuous" dataType="double"/>
  <DataField name="y" optype="continuous" dataType="double"/>
</DataDictionary>"""
SCHEMA = """<MiningSchema>
    <MiningField name="y" usageType="target"/>
    <MiningField name="x1"/>
    <MiningField name="x2"/>
  </MiningSchema>"""
REGRESSION = f"""<RegressionModel functionName="regression">
  {SCHEMA}
  <RegressionTable intercept="1.0">
    <NumericPredictor name="x1" coefficient="2.0"/>
    <NumericPredictor name="x2" coefficient="-0.5"/>
  </RegressionTable>
</RegressionModel>"""
CLASS_DD = """<DataDictionary>
  <DataField name="x1" optype="continuous" dataType="double"/>
  <DataField name="x2" optype="continuous" dataType="double"/>
  <DataField name="y" optype="categorical" dataType="string">
    <Value value="a"/><Value value="b"/>
  </DataField>
</DataDictionary>"""


def pmml(body: str = REGRESSION, *, header: str = "<Header/>", dd: str = DD, prolog: str = "") -> str:
    return f"{XML_DECL}{prolog}<PMML {NS}>\n{header}\n{dd}\n{body}\n</PMML>\n"


def tree_model(nodes: str, *, attrs: str = "", dd_classes: bool = True) -> str:
    """A classification TreeModel around ``nodes`` (the root Node element and its children)."""
    return f"""<TreeModel functionName="classification" {attrs}>
  {SCHEMA}
  {nodes}
</TreeModel>"""


def leaf(score: str, pred: str = "<True/>", nid: str = "") -> str:
    ident = f' id="{nid}"' if nid else ""
    return (
        f'<Node score="{score}"{ident}>{pred}'
        f'<ScoreDistribution value="a" recordCount="{1 if score == "a" else 0}"/>'
        f'<ScoreDistribution value="b" recordCount="{1 if score == "b" else 0}"/></Node>'
    )


def pmml_cases() -> None:
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    laughs = f'<!DOCTYPE PMML [<!ENTITY l0 "lol">{lol}]>\n'
    doctype_refused = r"DOCTYPE"

    # -- entities and DTDs -------------------------------------------------------------------
    add(
        "pmml/xxe_file.pmml",
        pmml(
            header='<Header description="&xxe;"><Annotation>&xxe;</Annotation></Header>',
            prolog='<!DOCTYPE PMML [<!ENTITY xxe SYSTEM "sentinel.txt">]>\n',
        ),
        "XML external entity (XXE) naming a local file next to the model and in the working folder",
        "FormatError",
        doctype_refused,
        sentinel=True,
    )
    add(
        "pmml/xxe_etc_passwd.pmml",
        pmml(
            dd=DD.replace('name="x1"', 'name="&xxe;"'),
            prolog='<!DOCTYPE PMML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
        ),
        "XXE naming /etc/passwd inside a field name, where it would be visible in the model and messages",
        "FormatError",
        doctype_refused,
        must_not_contain="root:",
    )
    add(
        "pmml/xxe_network.pmml",
        pmml(
            header='<Header description="&xxe;"/>',
            prolog=f'<!DOCTYPE PMML [<!ENTITY xxe SYSTEM "http://127.0.0.1:{PORT}/xxe">]>\n',
        ),
        "XXE fetching a URL (network access)",
        "FormatError",
        doctype_refused,
        network=True,
    )
    add(
        "pmml/xxe_parameter_entity.pmml",
        pmml(prolog=f'<!DOCTYPE PMML [<!ENTITY % remote SYSTEM "http://127.0.0.1:{PORT}/evil.dtd"> %remote;]>\n'),
        "external parameter entity (fetches and runs a remote DTD: the out-of-band XXE)",
        "FormatError",
        doctype_refused,
        network=True,
    )
    add(
        "pmml/dtd_external_subset.pmml",
        pmml(prolog=f'<!DOCTYPE PMML SYSTEM "http://127.0.0.1:{PORT}/pmml.dtd">\n'),
        "DOCTYPE with an external subset on the network",
        "FormatError",
        doctype_refused,
        network=True,
    )
    add(
        "pmml/dtd_local_subset.pmml",
        pmml(prolog='<!DOCTYPE PMML SYSTEM "sentinel.txt">\n'),
        "DOCTYPE with an external subset in a local file",
        "FormatError",
        doctype_refused,
        sentinel=True,
    )
    add(
        "pmml/doctype_harmless.pmml",
        pmml(prolog="<!DOCTYPE PMML>\n"),
        "a DOCTYPE without any declaration (refused on principle: no DTDs at all)",
        "FormatError",
        doctype_refused,
    )
    add(
        "pmml/billion_laughs.pmml",
        pmml(header='<Header description="&l9;"/>', prolog=laughs),
        "billion laughs: nested internal entities expanding to 3 GB",
        "FormatError",
        doctype_refused,
    )
    add(
        "pmml/billion_laughs_text.pmml",
        pmml(header="<Header><Annotation>&l9;</Annotation></Header>", prolog=laughs),
        "billion laughs in element text",
        "FormatError",
        doctype_refused,
    )
    big = "A" * 50_000
    add(
        "pmml/quadratic_blowup.pmml.gz",
        pmml(header=f'<Header description="{"&a;" * 50_000}"/>', prolog=f'<!DOCTYPE PMML [<!ENTITY a "{big}">]>\n'),
        "quadratic blow-up: one 50 kB entity referenced 50,000 times (2.5 GB; gzip)",
        "FormatError",
        doctype_refused,
    )
    comment = "<!--" + "padding " * 300_000 + "-->\n"  # 2.4 MB: beyond the first chunk the reader sniffs
    add(
        "pmml/doctype_after_big_comment.pmml.gz",
        pmml(header='<Header description="&l9;"/>', prolog=comment + laughs),
        "billion laughs behind a 2.4 MB comment, so the DOCTYPE is not in the first chunk read (gzip)",
        "FormatError",
        r"DOCTYPE|entit|amplification",
    )
    add(
        "pmml/xxe_after_big_comment.pmml.gz",
        pmml(
            header='<Header description="&xxe;"/>',
            prolog=comment + f'<!DOCTYPE PMML [<!ENTITY xxe SYSTEM "sentinel.txt"><!ENTITY net SYSTEM "http://127.0.0.1:{PORT}/x">]>\n',
        ).replace("<DataDictionary>", "<DataDictionary>&net;", 1),
        "XXE (file and network) behind a 2.4 MB comment (gzip)",
        "FormatError",
        r"DOCTYPE|entit",
        sentinel=True,
        network=True,
    )
    add(
        "pmml/xxe_utf16.pmml",
        pmml(
            header='<Header description="&xxe;"/>',
            prolog='<!DOCTYPE PMML [<!ENTITY xxe SYSTEM "sentinel.txt">]>\n',
        )
        .replace('encoding="UTF-8"', 'encoding="UTF-16"')
        .encode("utf-16"),
        "XXE in a UTF-16 document (a byte-level DOCTYPE check must decode first)",
        "FormatError",
        doctype_refused,
        sentinel=True,
    )
    add(
        "pmml/undeclared_entity.pmml",
        pmml(header='<Header description="&nope;"/>'),
        "reference to an entity that is never declared",
        "FormatError",
        r"entit",
    )
    add(
        "pmml/xinclude.pmml",
        pmml(
            header='<Header><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="sentinel.txt" parse="text"/></Header>',
            dd=f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="http://127.0.0.1:{PORT}/dd.xml"/>',
        ),
        "XInclude of a local file and of a URL in place of the DataDictionary (must not be processed)",
        "FormatError",
        r"DataDictionary",
        sentinel=True,
        network=True,
    )

    # -- nesting and sizes -------------------------------------------------------------------
    depth = 100_000
    add(
        "pmml/deep_nesting_extension.pmml.gz",
        pmml(header="<Header>" + "<Extension>" * depth + "</Extension>" * depth + "</Header>"),
        "elements nested 100,000 deep inside a (normally skipped) Extension",
        "LimitExceededError",
        r"depth|deep",
    )
    nodes = '<Node><True/><Node score="a"><SimplePredicate field="x1" operator="lessThan" value="0"/>' * 5000
    nodes += '<ScoreDistribution value="a" recordCount="1"/></Node></Node>' * 5000
    add(
        "pmml/deep_tree_nodes.pmml.gz",
        pmml(tree_model(nodes), dd=CLASS_DD),
        "a TreeModel whose Nodes nest 5,000 deep",
        "LimitExceededError",
        r"depth|deep",
    )
    add(
        "pmml/deep_tree_nodes_huge_tree.pmml.gz",
        pmml(tree_model(nodes), dd=CLASS_DD),
        "Nodes nested 5,000 deep read with huge_tree=True (lifts libxml2's limit; the reader's own depth cap must hold)",
        "LimitExceededError",
        r"depth|deep",
        options={"huge_tree": True},
    )
    expr = '<Apply function="+">' * 3000 + '<FieldRef field="x1"/>' + "<Constant>1</Constant></Apply>" * 3000
    add(
        "pmml/deep_apply_huge_tree.pmml.gz",
        pmml(
            REGRESSION.replace(
                "<RegressionTable",
                f'<LocalTransformations><DerivedField name="d" optype="continuous" dataType="double">{expr}</DerivedField></LocalTransformations><RegressionTable',
            )
        ),
        "an expression (Apply) nested 3,000 deep, read with huge_tree=True (recursion in the expression converter)",
        "LimitExceededError",
        r"depth|deep|nest",
        options={"huge_tree": True},
    )
    add(
        "pmml/huge_attribute.pmml.gz",
        pmml(header=f'<Header description="{"x" * 20_000_000}"/>'),
        "a 20 MB attribute value (libxml2 caps text nodes at 10 MB)",
        "PortamodelError",
        r"(?i)long|huge|large|limit",
    )
    add(
        "pmml/gzip_bomb.pmml.gz",
        pmml(header="<Header>" + " " * 50_000_000 + "</Header>"),
        "gzip bomb: 50 kB expanding to 50 MB, read with max_bytes=1000000",
        "LimitExceededError",
        r"max_bytes",
        options={"max_bytes": 1_000_000},
    )
    add(
        "pmml/array_absurd_n.pmml",
        pmml(
            f"""<RegressionModel functionName="regression">{SCHEMA}
  <LocalTransformations><DerivedField name="d" optype="continuous" dataType="double">
    <Apply function="isIn"><FieldRef field="x1"/><Array n="999999999999" type="real">1 2 3</Array></Apply>
  </DerivedField></LocalTransformations>
  <RegressionTable intercept="1.0"><NumericPredictor name="x1" coefficient="2.0"/></RegressionTable>
</RegressionModel>"""
        ),
        "an Array declaring 10^12 entries and holding 3",
        "PortamodelError",
        r"(?i)array|\bn\b|999999999999",
    )
    add(
        "pmml/neural_absurd_counts.pmml",
        pmml(
            """<NeuralNetwork functionName="regression" activationFunction="identity" numberOfLayers="2000000000">"""
            + SCHEMA
            + """<NeuralInputs numberOfInputs="2000000000">
  <NeuralInput id="i1"><DerivedField optype="continuous" dataType="double"><FieldRef field="x1"/></DerivedField></NeuralInput>
</NeuralInputs>
<NeuralLayer numberOfNeurons="2000000000"><Neuron id="n1" bias="0"><Con from="i1" weight="1"/></Neuron></NeuralLayer>
<NeuralOutputs numberOfOutputs="2000000000"><NeuralOutput outputNeuron="n1"><DerivedField optype="continuous" dataType="double"><FieldRef field="y"/></DerivedField></NeuralOutput></NeuralOutputs>
</NeuralNetwork>"""
        ),
        "a network declaring two billion layers, inputs, neurons and outputs (holding one of each)",
        "PortamodelError",
        r"(?i)number|count|declare|neur",
    )
    add(
        "pmml/segments_absurd_count.pmml",
        pmml(
            '<MiningModel functionName="regression">'
            + SCHEMA
            + '<Segmentation multipleModelMethod="sum" numberOfSegments="4000000000">'
            + '<Segment id="1"><True/>'
            + REGRESSION
            + "</Segment></Segmentation></MiningModel>"
        ).replace("<DataDictionary>", '<DataDictionary numberOfFields="999999999">'),
        "absurd declared counts on DataDictionary and Segmentation (numberOfFields, numberOfSegments)",
        "PortamodelError",
        r"(?i)number|count",
    )

    # -- trees: references, cycles and bad indices ---------------------------------------------
    cyc = f"""<Node id="root"><True/>
    <Node id="n1"><SimplePredicate field="x1" operator="lessThan" value="0"/>{leaf("a", nid="l1")}{leaf("b", nid="l2")}</Node>
    {leaf("b", nid="l3")}
  </Node>"""
    add(
        "pmml/tree_default_child_cycle.pmml",
        pmml(
            tree_model(
                cyc.replace('<Node id="root">', '<Node id="root" defaultChild="root">'), attrs='missingValueStrategy="defaultChild"'
            ),
            dd=CLASS_DD,
        ),
        "defaultChild naming the node itself (a cycle on missing values)",
        "FormatError",
        r"defaultChild",
    )
    add(
        "pmml/tree_default_child_ancestor.pmml",
        pmml(
            tree_model(
                cyc.replace('<Node id="root">', '<Node id="root" defaultChild="n1">').replace(
                    '<Node id="n1">', '<Node id="n1" defaultChild="root">'
                ),
                attrs='missingValueStrategy="defaultChild"',
            ),
            dd=CLASS_DD,
        ),
        "defaultChild pointing back up to an ancestor (a cycle two levels long)",
        "FormatError",
        r"defaultChild",
    )
    add(
        "pmml/tree_default_child_missing.pmml",
        pmml(
            tree_model(
                cyc.replace('<Node id="root">', '<Node id="root" defaultChild="nowhere">'), attrs='missingValueStrategy="defaultChild"'
            ),
            dd=CLASS_DD,
        ),
        "defaultChild naming a node id that does not exist (child out of range)",
        "FormatError",
        r"defaultChild",
    )
    add(
        "pmml/tree_default_child_duplicate_id.pmml",
        pmml(
            tree_model(
                cyc.replace('<Node id="root">', '<Node id="root" defaultChild="l3">').replace('id="n1"', 'id="l3"'),
                attrs='missingValueStrategy="defaultChild"',
            ),
            dd=CLASS_DD,
        ),
        "two child Nodes with the same id, one named by defaultChild (two candidates: the node-with-two-parents analogue)",
        "PortamodelError",
        r"defaultChild|duplicate|id",
    )
    add(
        "pmml/tree_unknown_field.pmml",
        pmml(tree_model(cyc.replace('field="x1"', 'field="no_such_field"')), dd=CLASS_DD),
        "a split on a field that does not exist (feature out of range)",
        "PortamodelError",
        r"no_such_field",
    )
    add(
        "pmml/tree_unknown_class.pmml",
        pmml(tree_model(leaf("a").replace('value="b"', 'value="zzz"')), dd=CLASS_DD),
        "a ScoreDistribution for a class the target does not have (class index out of range)",
        "PortamodelError",
        r"zzz",
    )
    add(
        "pmml/tree_negative_record_count.pmml",
        pmml(tree_model(leaf("a").replace('recordCount="1"', 'recordCount="-5"')), dd=CLASS_DD),
        "a negative recordCount in a ScoreDistribution",
        "PortamodelError",
        r"(?i)recordCount|negative|probabilit",
    )
    add(
        "pmml/tree_no_root.pmml",
        pmml(tree_model(""), dd=CLASS_DD),
        "a TreeModel without any Node (empty model)",
        "FormatError",
        r"Node",
    )
    add(
        "pmml/tree_two_roots.pmml",
        pmml(tree_model(leaf("a") + leaf("b")), dd=CLASS_DD),
        "a TreeModel with two root Nodes",
        "FormatError",
        r"root Node",
    )
    add(
        "pmml/tree_threshold_nan.pmml",
        pmml(tree_model(cyc.replace('value="0"', 'value="NaN"')), dd=CLASS_DD),
        "a split threshold that is NaN",
        "PortamodelError",
        r"(?i)nan|number|threshold|value",
    )
    add(
        "pmml/tree_empty_score.pmml",
        pmml(
            """<TreeModel functionName="regression">
  """
            + SCHEMA
            + """
  <Node score="1.0"><True/>
    <Node score=""><SimpleSetPredicate field="x1" booleanOperator="isIn"><Array n="2" type="real">1.0 2.0</Array></SimpleSetPredicate></Node>
    <Node score="2.0"><True/></Node>
  </Node>
</TreeModel>"""
        ),
        "an empty score on a regression leaf (found by fuzzing; may be read as missing)",
        "FormatError",
        r"score",
        allow_load=True,
    )
    add(
        "pmml/tree_bad_operator.pmml",
        pmml(tree_model(cyc.replace('operator="lessThan"', 'operator="approximately"')), dd=CLASS_DD),
        "an unknown comparison operator",
        "PortamodelError",
        r"approximately",
    )

    # -- empty models, zero classes, mismatched shapes ------------------------------------------
    add("pmml/empty_document.pmml", b"", "an empty file", "FormatError", r"(?i)empty|no element|document")
    add(
        "pmml/no_model.pmml",
        pmml(""),
        "a PMML document without any model element",
        "PortamodelError",
        r"(?i)model",
    )
    add(
        "pmml/no_data_dictionary.pmml",
        f"{XML_DECL}<PMML {NS}><Header/>{REGRESSION}</PMML>",
        "no DataDictionary",
        "PortamodelError",
        r"DataDictionary",
    )
    add(
        "pmml/zero_classes.pmml",
        pmml(
            f"""<RegressionModel functionName="classification" normalizationMethod="softmax">{SCHEMA}</RegressionModel>""",
            dd=CLASS_DD.replace('<Value value="a"/><Value value="b"/>', ""),
        ),
        "a classifier whose target has no categories and which has no RegressionTable",
        "PortamodelError",
        r"(?i)class|RegressionTable|categor",
    )
    add(
        "pmml/regression_no_table.pmml",
        pmml(f'<RegressionModel functionName="regression">{SCHEMA}</RegressionModel>'),
        "a regression model with no RegressionTable",
        "PortamodelError",
        r"RegressionTable",
    )
    add(
        "pmml/neural_unknown_connection.pmml",
        pmml(
            """<NeuralNetwork functionName="regression" activationFunction="identity">"""
            + SCHEMA
            + """<NeuralInputs>
  <NeuralInput id="i1"><DerivedField optype="continuous" dataType="double"><FieldRef field="x1"/></DerivedField></NeuralInput>
</NeuralInputs>
<NeuralLayer><Neuron id="n1" bias="0"><Con from="i1" weight="1"/><Con from="i99" weight="1"/></Neuron></NeuralLayer>
<NeuralOutputs><NeuralOutput outputNeuron="n1"><DerivedField optype="continuous" dataType="double"><FieldRef field="y"/></DerivedField></NeuralOutput></NeuralOutputs>
</NeuralNetwork>"""
        ),
        "a neuron connected from a neuron id that does not exist (weight matrix out of range)",
        "PortamodelError",
        r"i99",
    )
    add(
        "pmml/neural_output_unknown_neuron.pmml",
        pmml(
            """<NeuralNetwork functionName="regression" activationFunction="identity">"""
            + SCHEMA
            + """<NeuralInputs>
  <NeuralInput id="i1"><DerivedField optype="continuous" dataType="double"><FieldRef field="x1"/></DerivedField></NeuralInput>
</NeuralInputs>
<NeuralLayer><Neuron id="n1" bias="0"><Con from="i1" weight="1"/></Neuron></NeuralLayer>
<NeuralOutputs><NeuralOutput outputNeuron="n42"><DerivedField optype="continuous" dataType="double"><FieldRef field="y"/></DerivedField></NeuralOutput></NeuralOutputs>
</NeuralNetwork>"""
        ),
        "a NeuralOutput reading a neuron that does not exist",
        "PortamodelError",
        r"n42",
    )
    add(
        "pmml/neural_self_loop.pmml",
        pmml(
            """<NeuralNetwork functionName="regression" activationFunction="identity">"""
            + SCHEMA
            + """<NeuralInputs>
  <NeuralInput id="i1"><DerivedField optype="continuous" dataType="double"><FieldRef field="x1"/></DerivedField></NeuralInput>
</NeuralInputs>
<NeuralLayer><Neuron id="n1" bias="0"><Con from="n1" weight="1"/></Neuron></NeuralLayer>
<NeuralOutputs><NeuralOutput outputNeuron="n1"><DerivedField optype="continuous" dataType="double"><FieldRef field="y"/></DerivedField></NeuralOutput></NeuralOutputs>
</NeuralNetwork>"""
        ),
        "a neuron connected from itself (a cycle in the network)",
        "PortamodelError",
        r"n1",
    )
    add(
        "pmml/regression_unknown_predictor.pmml",
        pmml(REGRESSION.replace('name="x2"', 'name="ghost"')),
        "a NumericPredictor on a field that does not exist",
        "PortamodelError",
        r"ghost",
    )
    add(
        "pmml/coefficient_not_a_number.pmml",
        pmml(REGRESSION.replace('coefficient="2.0"', 'coefficient="two"')),
        "a coefficient that is not a number",
        "PortamodelError",
        r"two",
    )
    add(
        "pmml/coefficient_overflow.pmml",
        pmml(REGRESSION.replace('coefficient="2.0"', 'coefficient="1e999"')),
        "a coefficient that overflows to infinity (xs:double maps it to INF: may load, must then score)",
        "PortamodelError",
        r"(?i)1e999|finite|inf|range",
        allow_load=True,
    )

    # -- not PMML at all ---------------------------------------------------------------------------
    full = pmml()
    add("pmml/truncated.pmml", full[: len(full) // 2], "a document cut in half", "FormatError", r"(?i)well-formed|truncat|end")
    add("pmml/wrong_root.pmml", f"{XML_DECL}<html><body>hi</body></html>", "well-formed XML that is not PMML", "FormatError", r"PMML")
    add(
        "pmml/wrong_namespace.pmml",
        full.replace("http://www.dmg.org/PMML-4_4", "http://example.com/not-pmml"),
        "a PMML element in a foreign namespace",
        "PortamodelError",
        r"(?i)namespace|PMML",
    )
    add(
        "pmml/binary_garbage.pmml",
        bytes(range(256)) * 8,
        "random binary data with a .pmml name",
        "FormatError",
        r"(?i)xml|well-formed|PMML",
    )
    add(
        "pmml/invalid_utf8.pmml",
        full.encode("utf-8").replace(b'name="x1"', b'name="x\xff\xfe1"'),
        "bytes that are not UTF-8 although the document says so",
        "FormatError",
        r"(?i)utf|encod|byte",
    )
    add(
        "pmml/truncated.pmml.gz",
        gzip.compress(full.encode(), mtime=0)[:-20],
        "a gzip stream cut short (written as-is, not re-compressed)",
        "FormatError",
        r"(?i)gzip|truncat",
        raw=True,
    )


# ===================================================================================== JSON ====


def json_base(kind: str = "tree") -> dict[str, Any]:
    inputs = [{"name": "a"}, {"name": "b"}]
    if kind == "linear":
        est: dict[str, Any] = {"type": "LinearModel", "features": ["a", "b"], "coefficients": [[1.0, 2.0]], "intercepts": [0.5]}
        target: dict[str, Any] = {"name": "y", "task": "regression"}
    elif kind == "mlp":
        est = {
            "type": "MLP",
            "features": ["a", "b"],
            "layers": [
                {"weights": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "biases": [0.0, 0.0, 0.0], "activation": "relu"},
                {"weights": [[1.0], [1.0], [1.0]], "biases": [0.5]},
            ],
        }
        target = {"name": "y", "task": "regression"}
    else:
        est = {
            "type": "TreeEnsemble",
            "features": ["a", "b"],
            "roots": [0],
            "feature": [0, -1, 1, -1, -1],
            "threshold": [0.5, 0.0, 1.5, 0.0, 0.0],
            "op": [0, 0, 0, 0, 0],
            "true_child": [1, -1, 3, -1, -1],
            "false_child": [2, -1, 4, -1, -1],
            "missing": [0, 0, 0, 0, 0],
            "values": [[0.0], [0.1], [0.0], [0.6], [0.9]],
        }
        target = {"name": "y", "task": "classification", "classes": ["no", "yes"]}
    return {"format": "portamodel", "version": 1, "inputs": inputs, "target": target, "estimator": est}


def dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), allow_nan=True)


def tree_json(**changes: Any) -> str:
    doc = json_base("tree")
    doc["estimator"].update(changes)
    return dumps(doc)


def packed(arr_bytes: bytes, dtype: str, shape: list[int], compression: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"dtype": dtype, "shape": shape, "base64": base64.b64encode(arr_bytes).decode()}
    if compression:
        out["compression"] = compression
    return out


def json_cases() -> None:
    # -- syntax-level attacks -------------------------------------------------------------------
    add("json/deep_nesting_lists.json", "[" * 20_000 + "]" * 20_000, "lists nested 20,000 deep", "LimitExceededError", r"(?i)deep|nest")
    add(
        "json/deep_nesting_extension.json.gz",
        dumps(json_base())[:-1] + ',"x-deep":' + '{"a":' * 100_000 + "1" + "}" * 100_000 + "}",
        "objects nested 100,000 deep under an extension key (which readers otherwise ignore; gzip)",
        "LimitExceededError",
        r"(?i)deep|nest",
    )
    expr_text = '{"apply":"+","args":[' * 300 + '{"field":"a"}' + ',{"constant":1}]}' * 300
    doc = json_base("linear")
    doc["steps"] = [{"type": "Derive", "output": "d", "expression": "EXPR"}]
    add(
        "json/deep_expression.json",
        dumps(doc).replace('"EXPR"', expr_text),
        "a Derive expression nested 300 deep (beyond the reader's max_depth=200, within the JSON parser's recursion limit)",
        "LimitExceededError",
        r"max_depth",
    )
    add(
        "json/nan_literal.json",
        dumps(json_base("linear")).replace("[[1.0,2.0]]", "[[NaN,2.0]]"),
        "a bare NaN literal (not JSON)",
        "FormatError",
        r"NaN",
    )
    add(
        "json/infinity_literal.json",
        dumps(json_base("linear")).replace("[0.5]", "[-Infinity]"),
        "a bare -Infinity literal (not JSON)",
        "FormatError",
        r"Infinity",
    )
    add(
        "json/float_overflow.json",
        dumps(json_base("linear")).replace("[0.5]", "[1e999]"),
        "a float literal that overflows to infinity",
        "FormatError",
        r"1e999",
    )
    add(
        "json/huge_integer.json",
        tree_json().replace('"roots":[0]', '"roots":[' + "9" * 20_000 + "]"),
        "an integer literal with 20,000 digits (int parsing is quadratic in the digits)",
        "FormatError",
        r"(?i)digit|integer|int",
    )
    add(
        "json/duplicate_key_top.json",
        dumps(json_base("linear"))[:-1] + ',"estimator":' + json.dumps(json_base("tree")["estimator"]) + "}",
        'the key "estimator" twice (which one wins differs between parsers)',
        "FormatError",
        r"estimator",
    )
    add(
        "json/duplicate_key_nested.json",
        tree_json().replace('"roots":[0]', '"roots":[0],"roots":[2]'),
        "a duplicate key inside the estimator",
        "FormatError",
        r"roots",
    )
    add("json/truncated.json", dumps(json_base())[:150], "a document cut short", "FormatError", r"(?i)json|line")
    add("json/top_level_list.json", "[]", "a JSON list instead of an object", "FormatError", r"(?i)object")
    add("json/empty.json", b"", "an empty file", "FormatError", r"(?i)json|empty")
    add(
        "json/invalid_utf8.json",
        dumps(json_base()).encode().replace(b'"a"', b'"\xc3\x28"', 1),
        "bytes that are not UTF-8",
        "FormatError",
        r"UTF-8",
    )
    add(
        "json/utf16.json",
        dumps(json_base()).encode("utf-16"),
        "a UTF-16 document (the format is UTF-8 only)",
        "FormatError",
        r"(?i)utf-8|json",
        format="json",
    )
    add(
        "json/wrong_format_name.json",
        dumps({**json_base(), "format": "onnx"}),
        "a JSON object that is not a portamodel model",
        "FormatError",
        r"portamodel",
    )
    add("json/future_version.json", dumps({**json_base(), "version": 99}), "a format version from the future", "FormatError", r"version")

    # -- wrong types ----------------------------------------------------------------------------
    add("json/wrong_type_version.json", dumps({**json_base(), "version": "1"}), "the version as a string", "FormatError", r"version")
    add("json/wrong_type_features.json", tree_json(features=7), "features as a number", "FormatError", r"features")
    add("json/wrong_type_threshold.json", tree_json(threshold="0.5,0,1.5,0,0"), "an array given as a string", "FormatError", r"threshold")
    add("json/wrong_type_roots_float.json", tree_json(roots=[0.5]), "a fractional node index", "FormatError", r"roots")
    add(
        "json/wrong_type_op_bool.json",
        tree_json(op=[True, False, False, False, False]),
        "booleans where integers belong",
        "FormatError",
        r"op",
    )
    doc = json_base()
    doc["target"]["classes"] = {"no": 0, "yes": 1}
    add("json/wrong_type_classes.json", dumps(doc), "classes as an object", "FormatError", r"classes")
    doc = json_base()
    doc["inputs"] = [{"name": ["a"]}, {"name": "b"}]
    add("json/wrong_type_field_name.json", dumps(doc), "a field name that is a list", "FormatError", r"name")
    add("json/unknown_estimator.json", tree_json(type="SupportVectorMachine"), "an unknown estimator type", "FormatError", r"type")

    # -- trees ------------------------------------------------------------------------------------
    add(
        "json/tree_cycle.json",
        tree_json(true_child=[1, -1, 0, -1, -1], false_child=[2, -1, 4, -1, -1]),
        "a cycle: node 2 sends its true branch back to the root (node 3 is orphaned)",
        "FormatError",
        r"(?i)parent|cycle|reach",
    )
    add(
        "json/tree_cycle_self.json",
        tree_json(true_child=[1, -1, 2, -1, -1]),
        "a node that is its own child",
        "FormatError",
        r"(?i)parent|cycle|reach",
    )
    add(
        "json/tree_cycle_unrooted.json",
        tree_json(
            feature=[-1, 0, 0],
            threshold=[0.0, 0.5, 0.5],
            op=[0, 0, 0],
            true_child=[-1, 2, 1],
            false_child=[-1, 2, 1],
            missing=[0, 0, 0],
            values=[[0.1], [0.2], [0.3]],
        ),
        "two nodes forming a loop that no root reaches (a walk from the roots never sees it)",
        "FormatError",
        r"(?i)parent|cycle|reach",
    )
    add(
        "json/tree_two_parents.json",
        tree_json(true_child=[1, -1, 1, -1, -1]),
        "node 1 is the child of both node 0 and node 2",
        "FormatError",
        r"(?i)parent",
    )
    add(
        "json/tree_two_roots_one_tree.json",
        tree_json(roots=[0, 2]),
        "node 2 is a root and also a child of node 0",
        "FormatError",
        r"(?i)parent|root",
    )
    add(
        "json/tree_child_out_of_range.json",
        tree_json(true_child=[1, -1, 99, -1, -1]),
        "a child index beyond the node arrays",
        "FormatError",
        r"true_child",
    )
    add(
        "json/tree_child_negative.json",
        tree_json(false_child=[-7, -1, 4, -1, -1]),
        "a negative child index on an internal node",
        "FormatError",
        r"false_child",
    )
    add("json/tree_root_out_of_range.json", tree_json(roots=[5]), "a root index beyond the node arrays", "FormatError", r"roots")
    add("json/tree_root_negative.json", tree_json(roots=[-1]), "a negative root index", "FormatError", r"roots")
    add(
        "json/tree_feature_out_of_range.json", tree_json(feature=[0, -1, 2, -1, -1]), "a split on feature 2 of 2", "FormatError", r"feature"
    )
    add("json/tree_feature_negative.json", tree_json(feature=[-5, -1, 1, -1, -1]), "a feature index below -1", "FormatError", r"feature")
    add("json/tree_index_int64_overflow.json", tree_json(roots=[2**63]), "an index beyond int64", "FormatError", r"roots")
    add("json/tree_op_out_of_range.json", tree_json(op=[200, 0, 0, 0, 0]), "an unknown operator code", "FormatError", r"op")
    add(
        "json/tree_missing_out_of_range.json",
        tree_json(missing=[9, 0, 0, 0, 0]),
        "an unknown missing-value action",
        "FormatError",
        r"missing",
    )
    add(
        "json/tree_set_index_out_of_range.json",
        tree_json(op=[6, 0, 0, 0, 0], threshold=[3.0, 0, 1.5, 0, 0], set_offsets=[0, 1], set_values=[1.0]),
        "a set split naming set 3 of 1",
        "FormatError",
        r"threshold",
    )
    add(
        "json/tree_set_offsets_decreasing.json",
        tree_json(op=[6, 0, 0, 0, 0], set_offsets=[0, 5, 2], set_values=[1.0, 2.0]),
        "set offsets that go backwards",
        "FormatError",
        r"set_offsets",
    )
    add(
        "json/tree_lengths_mismatch.json",
        tree_json(threshold=[0.5, 0.0, 1.5]),
        "node arrays of different lengths",
        "FormatError",
        r"threshold",
    )
    add(
        "json/tree_values_rows_mismatch.json",
        tree_json(values=[[0.0], [0.1]]),
        "fewer value rows than nodes",
        "FormatError",
        r"values",
    )
    depth = 12_000
    nodes = 2 * depth + 1
    # a chain: internal node i (numbered from the end, so children come before their parents)
    # tests x <= i; its true child is the next internal node, its false child a leaf
    ids = [nodes - 1 - i for i in range(nodes)]
    feature = [-1] * nodes
    true_child = [-1] * nodes
    false_child = [-1] * nodes
    for i in range(depth):
        feature[ids[i]] = 0
        true_child[ids[i]] = ids[i + 1]
        false_child[ids[i]] = ids[depth + 1 + i]
    chain = {
        "roots": [ids[0]],
        "feature": feature,
        "threshold": [float(depth - i) if depth - i >= 0 else 0.0 for i in range(nodes)],
        "op": [0] * nodes,
        "true_child": true_child,
        "false_child": false_child,
        "missing": [0] * nodes,
        "values": [[float(i % 7)] for i in range(nodes)],
    }
    doc = json_base()
    doc["estimator"].update(chain)
    doc["target"] = {"name": "y", "task": "regression"}
    add(
        "json/deep_chain_tree.json.gz",
        dumps(doc),
        "a valid tree 12,000 levels deep, children numbered before parents (validation must not walk level by level; scoring takes a step per level)",
        "LimitExceededError",
        r"max_tree_depth",
    )
    add(
        "json/deep_chain_tree_allowed.json.gz",
        dumps(doc),
        "the same tree read with max_tree_depth=100000: loads, and must score within the hang guard",
        "PortamodelError",
        r"max_tree_depth",
        options={"max_tree_depth": 100_000},
        allow_load=True,
    )
    add(
        "json/tree_threshold_nan.json",
        tree_json(
            threshold={"dtype": "<f8", "shape": [5], "base64": base64.b64encode(b"\x00\x00\x00\x00\x00\x00\xf8\x7f" + bytes(32)).decode()}
        ),
        "a NaN split threshold (packed, so the NaN is real)",
        "FormatError",
        r"threshold",
    )
    add(
        "json/tree_no_nodes.json",
        tree_json(roots=[], feature=[], threshold=[], op=[], true_child=[], false_child=[], missing=[], values=[]),
        "a tree ensemble without nodes",
        "FormatError",
        r"(?i)node|tree|values|shape",
    )
    add("json/tree_no_trees.json", tree_json(roots=[]), "a tree ensemble with nodes but no trees", "FormatError", r"roots")

    # -- packed arrays -------------------------------------------------------------------------------
    add(
        "json/packed_absurd_shape.json",
        tree_json(threshold={"dtype": "<f8", "shape": [2**40], "base64": ""}),
        "a packed array declaring 2^40 elements",
        "LimitExceededError",
        r"max_bytes|shape",
    )
    add(
        "json/packed_shape_overflow.json",
        tree_json(values={"dtype": "<f8", "shape": [2**31, 2**31], "base64": ""}),
        "a packed 2-D shape whose product overflows 64-bit sizes",
        "LimitExceededError",
        r"max_bytes",
    )
    add(
        "json/packed_zlib_bomb.json",
        tree_json(threshold=packed(zlib.compress(bytes(20_000_000), 9), "<f8", [5], "zlib")),
        "a zlib stream inside a packed array that inflates to 20 MB for a 40-byte array",
        "FormatError",
        r"threshold",
    )
    add(
        "json/packed_wrong_length.json",
        tree_json(threshold=packed(bytes(16), "<f8", [5])),
        "packed bytes shorter than the declared shape",
        "FormatError",
        r"threshold",
    )
    add(
        "json/packed_bad_base64.json",
        tree_json(threshold={"dtype": "<f8", "shape": [5], "base64": "!" * 56}),
        "packed data that is not base64",
        "FormatError",
        r"base64",
    )
    add(
        "json/packed_bad_dtype.json",
        tree_json(threshold=packed(bytes(40), "O", [5])),
        "a packed array of Python objects (pickle territory)",
        "FormatError",
        r"dtype",
    )
    add(
        "json/packed_negative_shape.json",
        tree_json(threshold={"dtype": "<f8", "shape": [-5], "base64": ""}),
        "a negative dimension",
        "FormatError",
        r"shape",
    )
    add(
        "json/gzip_bomb.json.gz",
        dumps(json_base())[:-1] + ',"x-pad":"' + " " * 50_000_000 + '"}',
        "gzip bomb: 50 kB expanding to 50 MB, read with max_bytes=1000000",
        "LimitExceededError",
        r"max_bytes",
        options={"max_bytes": 1_000_000},
    )
    add(
        "json/truncated.json.gz",
        gzip.compress(dumps(json_base()).encode(), mtime=0)[:-12],
        "a gzip stream cut short",
        "FormatError",
        r"(?i)gzip|truncat",
        raw=True,
    )

    # -- empty models, zero classes, mismatched shapes ---------------------------------------------
    doc = json_base("linear")
    doc["inputs"] = []
    doc["estimator"]["features"] = []
    doc["estimator"]["coefficients"] = [[]]
    add("json/no_inputs.json", dumps(doc), "a model without input fields", "FormatError", r"inputs")
    doc = json_base()
    doc["target"]["classes"] = []
    add("json/zero_classes.json", dumps(doc), "a classifier with zero classes", "FormatError", r"classes")
    doc = json_base()
    doc["target"]["classes"] = ["only"]
    add("json/one_class.json", dumps(doc), "a classifier with a single class", "FormatError", r"classes")
    doc = json_base()
    doc["target"]["classes"] = ["no", "no"]
    add("json/duplicate_classes.json", dumps(doc), "the same class label twice", "FormatError", r"classes")
    doc = json_base()
    doc["target"]["classes"] = ["a", "b", "c", "d"]
    add("json/classes_outputs_mismatch.json", dumps(doc), "4 classes but 1 output", "FormatError", r"(?i)output|class")
    doc = json_base("linear")
    doc["estimator"]["coefficients"] = [[1.0, 2.0, 3.0]]
    add("json/linear_shape_mismatch.json", dumps(doc), "3 coefficients for 2 features", "FormatError", r"coefficients")
    doc = json_base("linear")
    doc["estimator"]["intercepts"] = [0.5, 1.0, 2.0]
    add("json/linear_intercepts_mismatch.json", dumps(doc), "3 intercepts for 1 output", "FormatError", r"intercepts")
    doc = json_base("linear")
    doc["estimator"]["coefficients"] = [[1.0, 2.0], [3.0]]
    add("json/ragged_matrix.json", dumps(doc), "a ragged coefficient matrix", "FormatError", r"coefficients")
    doc = json_base("mlp")
    doc["estimator"]["layers"][1]["weights"] = [[1.0], [1.0]]
    add("json/mlp_shape_mismatch.json", dumps(doc), "a layer taking 2 inputs after a layer giving 3", "FormatError", r"layers")
    doc = json_base("mlp")
    doc["estimator"]["layers"] = []
    add("json/mlp_no_layers.json", dumps(doc), "a network without layers", "FormatError", r"layers")
    doc = json_base("mlp")
    doc["estimator"]["layers"][0]["biases"] = [0.0]
    add("json/mlp_biases_mismatch.json", dumps(doc), "1 bias for 3 neurons", "FormatError", r"biases")
    doc = json_base("linear")
    doc["estimator"]["features"] = ["a", "ghost"]
    add("json/unknown_feature.json", dumps(doc), "an estimator reading a column nobody defines", "FormatError", r"ghost")
    doc = json_base("linear")
    doc["inputs"] = [{"name": "a"}, {"name": "a"}]
    doc["estimator"]["features"] = ["a"]
    doc["estimator"]["coefficients"] = [[1.0]]
    add("json/duplicate_input.json", dumps(doc), "two inputs with the same name", "FormatError", r"(?i)duplicate")
    doc = json_base("linear")
    doc["steps"] = [
        {"type": "Derive", "output": "c", "expression": {"field": "d"}},
        {"type": "Derive", "output": "d", "expression": {"field": "c"}},
    ]
    add("json/step_cycle.json", dumps(doc), "two steps each reading the other's output (a dependency cycle)", "FormatError", r"steps")


# ===================================================================================== ONNX ====


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def nested_if_graph(depth: int) -> bytes:
    """GraphProto bytes: an If node whose then_branch holds an If node ... ``depth`` deep.

    Written by hand because protobuf refuses to build messages nested this deep.
    """
    graph = _field(2, b"leaf")  # GraphProto.name
    for _ in range(depth):
        attr = _field(1, b"then_branch") + _field(6, graph) + _varint(20 << 3) + _varint(5)  # name, g, type=GRAPH
        node = _field(1, b"c") + _field(2, b"o") + _field(4, b"If") + _field(5, attr)
        graph = _field(1, node) + _field(2, b"nest")
    return graph


def onnx_cases() -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto
    from onnx import helper as h
    from onnx import numpy_helper as nh

    X = h.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])

    def model(nodes: list[Any], outputs: list[Any], inits: list[Any] = (), ml: int = 3, inputs: list[Any] | None = None) -> Any:  # type: ignore[assignment]
        g = h.make_graph(nodes, "hostile", inputs or [X], outputs, initializer=list(inits))
        m = h.make_model(g, opset_imports=[h.make_opsetid("", 17), h.make_opsetid("ai.onnx.ml", ml)], producer_name="make_hostile")
        m.ir_version = 8
        return m

    def ser(m: Any) -> bytes:
        return bytes(m.SerializeToString())

    reg_out = [h.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])]

    def ml_node(op: str, outputs: list[str], attrs: dict[str, Any]) -> Any:
        """An ai.onnx.ml node; empty lists get the attribute type their name implies."""
        node = h.make_node(op, ["X"], outputs, domain="ai.onnx.ml", **{k: v for k, v in attrs.items() if v != []})
        for k, v in attrs.items():
            if v == []:
                kind = (
                    onnx.AttributeProto.STRINGS
                    if k.endswith(("modes", "strings"))
                    else onnx.AttributeProto.FLOATS
                    if k.endswith(("values", "weights", "coefficients", "intercepts"))
                    else onnx.AttributeProto.INTS
                )
                node.attribute.append(h.make_attribute(k, v, attr_type=kind))
        return node

    def tree_reg(**over: Any) -> Any:
        attrs: dict[str, Any] = dict(
            nodes_treeids=[0, 0, 0, 0, 0],
            nodes_nodeids=[0, 1, 2, 3, 4],
            nodes_featureids=[0, 0, 1, 0, 0],
            nodes_modes=["BRANCH_LEQ", "LEAF", "BRANCH_LEQ", "LEAF", "LEAF"],
            nodes_values=[0.5, 0.0, 1.5, 0.0, 0.0],
            nodes_truenodeids=[1, 0, 3, 0, 0],
            nodes_falsenodeids=[2, 0, 4, 0, 0],
            nodes_missing_value_tracks_true=[0, 0, 0, 0, 0],
            target_treeids=[0, 0, 0],
            target_nodeids=[1, 3, 4],
            target_ids=[0, 0, 0],
            target_weights=[0.1, 0.6, 0.9],
            n_targets=1,
            aggregate_function="SUM",
            post_transform="NONE",
        )
        attrs.update(over)
        attrs = {k: v for k, v in attrs.items() if v is not None}
        return model([ml_node("TreeEnsembleRegressor", ["variable"], attrs)], reg_out)

    def tree_clf(**over: Any) -> Any:
        attrs: dict[str, Any] = dict(
            nodes_treeids=[0, 0, 0, 0, 0],
            nodes_nodeids=[0, 1, 2, 3, 4],
            nodes_featureids=[0, 0, 1, 0, 0],
            nodes_modes=["BRANCH_LEQ", "LEAF", "BRANCH_LEQ", "LEAF", "LEAF"],
            nodes_values=[0.5, 0.0, 1.5, 0.0, 0.0],
            nodes_truenodeids=[1, 0, 3, 0, 0],
            nodes_falsenodeids=[2, 0, 4, 0, 0],
            class_treeids=[0] * 9,
            class_nodeids=[1, 1, 1, 3, 3, 3, 4, 4, 4],
            class_ids=[0, 1, 2] * 3,
            class_weights=[0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8],
            classlabels_int64s=[0, 1, 2],
            post_transform="NONE",
        )
        attrs.update(over)
        attrs = {k: v for k, v in attrs.items() if v is not None}
        outs = [
            h.make_tensor_value_info("label", TensorProto.INT64, [None]),
            h.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3]),
        ]
        return model([ml_node("TreeEnsembleClassifier", ["label", "probabilities"], attrs)], outs)

    def linreg(**over: Any) -> Any:
        attrs: dict[str, Any] = dict(coefficients=[1.0, 2.0], intercepts=[0.5], targets=1)
        attrs.update(over)
        return model([ml_node("LinearRegressor", ["variable"], attrs)], reg_out)

    def mlp(w1: Any = None, b1: Any = None, w2: Any = None) -> Any:
        w1 = np.ones((2, 3), np.float32) if w1 is None else w1
        b1 = np.zeros(3, np.float32) if b1 is None else b1
        w2 = np.ones((3, 1), np.float32) if w2 is None else w2
        inits = [nh.from_array(w1, "W1"), nh.from_array(b1, "B1"), nh.from_array(w2, "W2")]
        nodes = [
            h.make_node("MatMul", ["X", "W1"], ["h0"]),
            h.make_node("Add", ["h0", "B1"], ["h1"]),
            h.make_node("Relu", ["h1"], ["h2"]),
            h.make_node("MatMul", ["h2", "W2"], ["variable"]),
        ]
        return model(nodes, reg_out, inits)

    def external(location: str, *, offset: int | None = None, length: int | None = None) -> Any:
        """The MLP with W1's 24 bytes stored outside the model at ``location``."""
        m = mlp()
        w1 = m.graph.initializer[0]
        w1.ClearField("raw_data")
        w1.ClearField("float_data")
        w1.data_location = TensorProto.EXTERNAL
        entries = [("location", location)]
        if offset is not None:
            entries.append(("offset", str(offset)))
        if length is not None:
            entries.append(("length", str(length)))
        for k, v in entries:
            e = w1.external_data.add()
            e.key, e.value = k, v
        return m

    ext_dir = {"external_data_dir": "{dir}"}
    companion("onnx/weights.bin", np.ones((2, 3), np.float32).tobytes())

    # -- external data ----------------------------------------------------------------------------
    add(
        "onnx/external_data_no_dir.onnx",
        ser(external("weights.bin")),
        "external data without external_data_dir (refused by default, even though the file exists)",
        "FormatError",
        r"external_data_dir",
        companions=["onnx/weights.bin"],
    )
    add(
        "onnx/external_data_dotdot.onnx",
        ser(external("../sentinel.txt")),
        "external data at '../sentinel.txt': outside the model folder",
        "FormatError",
        r"\.\.",
        options=ext_dir,
        sentinel=True,
    )
    add(
        "onnx/external_data_dotdot_deep.onnx",
        ser(external("sub/../../sentinel.txt")),
        "external data escaping through a sub-folder and '..'",
        "FormatError",
        r"\.\.",
        options=ext_dir,
        sentinel=True,
    )
    add(
        "onnx/external_data_absolute.onnx",
        ser(external("/etc/passwd")),
        "external data at an absolute path",
        "FormatError",
        r"absolute",
        options=ext_dir,
        must_not_contain="root:",
    )
    add(
        "onnx/external_data_windows_absolute.onnx",
        ser(external("C:\\Windows\\win.ini")),
        "external data at a Windows drive path",
        "FormatError",
        r"absolute",
        options=ext_dir,
    )
    add(
        "onnx/external_data_unc.onnx",
        ser(external("\\\\server\\share\\weights.bin")),
        "external data at a UNC network path",
        "FormatError",
        r"absolute",
        options=ext_dir,
    )
    add(
        "onnx/external_data_nul.onnx",
        ser(external("weights.bin\x00.txt")),
        "external data location with a NUL byte (truncates C paths)",
        "FormatError",
        r"(?i)absolute|location|NUL",
        options=ext_dir,
        companions=["onnx/weights.bin"],
    )
    add(
        "onnx/external_data_symlink.onnx",
        ser(external("linked.bin")),
        "external data through a symbolic link (made at test time) pointing outside the folder",
        "FormatError",
        r"symbolic link",
        options=ext_dir,
        symlinks={"linked.bin": "{outside}"},
        sentinel=True,
    )
    add(
        "onnx/external_data_symlink_dir.onnx",
        ser(external("linkdir/weights.bin")),
        "external data inside a symlinked folder (made at test time) that leads outside",
        "FormatError",
        r"symbolic link",
        options=ext_dir,
        symlinks={"linkdir": "{outside_dir}"},
        sentinel=True,
    )
    add(
        "onnx/external_data_device.onnx",
        ser(external("/dev/zero")),
        "external data at a device that never ends",
        "FormatError",
        r"absolute",
        options=ext_dir,
    )
    add(
        "onnx/external_data_offset_beyond.onnx",
        ser(external("weights.bin", offset=10**12, length=24)),
        "external data at an offset far beyond the end of the file",
        "FormatError",
        r"(?i)range|fit",
        options=ext_dir,
        companions=["onnx/weights.bin"],
    )
    add(
        "onnx/external_data_huge_length.onnx",
        ser(external("weights.bin", length=10**15)),
        "external data with a length of a petabyte",
        "FormatError",
        r"(?i)range|fit",
        options=ext_dir,
        companions=["onnx/weights.bin"],
    )
    add(
        "onnx/external_data_negative_offset.onnx",
        ser(external("weights.bin", offset=-8, length=24)),
        "external data with a negative offset",
        "FormatError",
        r"(?i)range|fit|negative",
        options=ext_dir,
        companions=["onnx/weights.bin"],
    )

    # -- protobuf level ---------------------------------------------------------------------------
    good = ser(tree_reg())
    add("onnx/truncated_half.onnx", good[: len(good) // 2], "a valid model cut in half", "FormatError", r"(?i)protobuf|truncat|graph")
    add("onnx/truncated_tail.onnx", good[:-3], "a valid model missing its last 3 bytes", "FormatError", r"(?i)protobuf|truncat|graph")
    add("onnx/truncated_head.onnx", good[:2], "only the first two bytes", "FormatError", r"(?i)protobuf|truncat|graph")
    add("onnx/empty.onnx", b"", "an empty file", "FormatError", r"(?i)empty")
    # graph (field 7) declaring a length of 2^62 bytes with 3 bytes present
    add(
        "onnx/absurd_length_prefix.onnx",
        b"\x08\x08\x3a\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x0a\x01x",
        "a submessage declaring a 4 EB length",
        "FormatError",
        r"(?i)protobuf|graph",
    )
    # a second occurrence of ModelProto.graph (field 7) is merged into the first by protobuf
    deep_bytes = ser(model([], reg_out)) + _field(7, nested_if_graph(500))
    add(
        "onnx/deep_subgraphs.onnx",
        deep_bytes,
        "If subgraphs nested 500 deep (protobuf recursion)",
        "FormatError",
        r"(?i)protobuf|recursion|deep|nest|If|graph|checker",
    )
    add(
        "onnx/not_onnx.onnx",
        b"\x08\x08" + bytes(range(256)) * 4,
        "binary garbage that sniffs like ONNX",
        "FormatError",
        r"(?i)protobuf|graph",
    )
    m = tree_reg()
    m.ir_version = 10**9
    add("onnx/ir_version_absurd.onnx", ser(m), "an IR version from the far future", "FormatError", r"(?i)ir_version|version|checker")
    m = tree_reg()
    t = m.graph.initializer.add()
    t.name, t.data_type = "huge", TensorProto.FLOAT
    t.dims.extend([10**6, 10**6, 10**6])
    add(
        "onnx/tensor_absurd_dims.onnx",
        ser(m),
        "an initializer declaring 10^18 floats and holding none",
        "FormatError",
        r"(?i)huge|dims|size|data|tensor|checker",
    )

    m = linreg()
    m.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 2**31
    add(
        "onnx/input_absurd_width.onnx",
        ser(m),
        "a graph input declaring 2^31 columns (one field each would need hundreds of GB; found by fuzzing)",
        "PortamodelError",
        r"(?i)column|width|input|dim",
    )

    # -- tree ensembles: attribute lists, ids, structure ------------------------------------------
    add(
        "onnx/tree_lengths_mismatch.onnx",
        ser(tree_reg(nodes_featureids=[0, 0, 1])),
        "nodes_featureids shorter than nodes_nodeids",
        "FormatError",
        r"nodes_featureids",
    )
    add(
        "onnx/tree_target_lengths_mismatch.onnx",
        ser(tree_reg(target_weights=[0.1, 0.6])),
        "target_weights shorter than target_nodeids",
        "FormatError",
        r"target_weights",
    )
    add(
        "onnx/tree_child_out_of_range.onnx",
        ser(tree_reg(nodes_truenodeids=[1, 0, 999, 0, 0])),
        "a true branch to node id 999 (no such node)",
        "FormatError",
        r"999",
    )
    add(
        "onnx/tree_child_negative.onnx",
        ser(tree_reg(nodes_falsenodeids=[-3, 0, 4, 0, 0])),
        "a negative node id as a false branch",
        "FormatError",
        r"-3|nodes_falsenodeids",
    )
    add(
        "onnx/tree_cycle.onnx",
        ser(tree_reg(nodes_truenodeids=[1, 0, 0, 0, 0])),
        "node 2's true branch goes back to the root (a cycle)",
        "FormatError",
        r"(?i)cycle|parent|reach|twice|loop",
    )
    add(
        "onnx/tree_self_loop.onnx",
        ser(tree_reg(nodes_truenodeids=[1, 0, 2, 0, 0])),
        "node 2 is its own true child",
        "FormatError",
        r"(?i)cycle|parent|reach|twice|loop",
    )
    add(
        "onnx/tree_two_parents.onnx",
        ser(tree_reg(nodes_truenodeids=[1, 0, 1, 0, 0])),
        "node 1 is the child of nodes 0 and 2 (onnxruntime follows ids, so a shared subtree is legal ONNX: may load, copied)",
        "FormatError",
        r"(?i)cycle|parent|reach|twice",
        allow_load=True,
    )
    n = 60
    add(
        "onnx/tree_dag_exponential.onnx",
        ser(
            tree_reg(
                nodes_treeids=[0] * (n + 1),
                nodes_nodeids=list(range(n + 1)),
                nodes_featureids=[0] * (n + 1),
                nodes_modes=["BRANCH_LEQ"] * n + ["LEAF"],
                nodes_values=[float(i) for i in range(n)] + [0.0],
                nodes_truenodeids=[i + 1 for i in range(n)] + [0],
                nodes_falsenodeids=[i + 1 for i in range(n)] + [0],
                nodes_missing_value_tracks_true=[0] * (n + 1),
                target_treeids=[0],
                target_nodeids=[n],
                target_ids=[0],
                target_weights=[1.0],
            )
        ),
        "61 nodes where each branch sends both sides to the next node: as a tree, 2^60 nodes",
        "LimitExceededError",
        r"(?i)nodes|shar",
    )
    n = 3_000
    add(
        "onnx/tree_deep_chain.onnx",
        ser(
            tree_reg(
                nodes_treeids=[0] * (2 * n + 1),
                nodes_nodeids=list(range(2 * n + 1))[::-1],
                nodes_featureids=[0] * (2 * n + 1),
                nodes_modes=["BRANCH_LEQ"] * n + ["LEAF"] * (n + 1),
                nodes_values=[float(n - i) for i in range(n)] + [0.0] * (n + 1),
                nodes_truenodeids=[2 * n - (i + 1) for i in range(n)] + [0] * (n + 1),
                nodes_falsenodeids=[2 * n - (n + 1 + i) for i in range(n)] + [0] * (n + 1),
                nodes_missing_value_tracks_true=[0] * (2 * n + 1),
                target_treeids=[0] * (n + 1),
                target_nodeids=[2 * n - i for i in range(n, 2 * n + 1)],
                target_ids=[0] * (n + 1),
                target_weights=[float(i % 7) for i in range(n + 1)],
            )
        ),
        "a valid tree 3,000 levels deep (node ids counting down): must be refused by a limit or load and score within the hang guard",
        "LimitExceededError",
        r"(?i)deep|depth",
        allow_load=True,
    )
    add(
        "onnx/tree_duplicate_node_id.onnx",
        ser(tree_reg(nodes_nodeids=[0, 1, 1, 3, 4])),
        "two nodes with the same (tree, node) id",
        "FormatError",
        r"(?i)duplicate|twice|same",
    )
    add(
        "onnx/tree_feature_out_of_range.onnx",
        ser(tree_reg(nodes_featureids=[0, 0, 7, 0, 0])),
        "a split on feature 7 of a 2-column input",
        "FormatError",
        r"(?i)feature",
    )
    add(
        "onnx/tree_feature_negative.onnx",
        ser(tree_reg(nodes_featureids=[-1, 0, 1, 0, 0])),
        "a split on feature -1",
        "FormatError",
        r"(?i)feature",
    )
    add(
        "onnx/tree_target_unknown_node.onnx",
        ser(tree_reg(target_nodeids=[1, 3, 42])),
        "a leaf weight for node id 42 (no such node)",
        "FormatError",
        r"42|target_nodeids",
    )
    add(
        "onnx/tree_target_on_branch.onnx",
        ser(tree_reg(target_nodeids=[1, 3, 0])),
        "a leaf weight attached to a branch node",
        "PortamodelError",
        r"(?i)leaf|branch|target",
    )
    add(
        "onnx/tree_target_id_out_of_range.onnx",
        ser(tree_reg(target_ids=[0, 0, 5])),
        "a leaf weight for output 5 of 1 (n_targets=1)",
        "FormatError",
        r"target_ids|n_targets|5",
    )
    add(
        "onnx/tree_n_targets_absurd.onnx",
        ser(tree_reg(n_targets=2**40)),
        "n_targets of 2^40 (allocating the outputs would need petabytes)",
        "PortamodelError",
        r"n_targets",
    )
    add(
        "onnx/tree_unknown_mode.onnx",
        ser(tree_reg(nodes_modes=["BRANCH_MAYBE", "LEAF", "BRANCH_LEQ", "LEAF", "LEAF"])),
        "an unknown split mode",
        "PortamodelError",
        r"BRANCH_MAYBE",
    )
    add(
        "onnx/tree_threshold_nan.onnx",
        ser(tree_reg(nodes_values=[float("nan"), 0.0, 1.5, 0.0, 0.0])),
        "a NaN split threshold (onnxruntime sends every row to the false branch: may load, must then score)",
        "PortamodelError",
        r"(?i)nan|threshold|finite",
        allow_load=True,
    )
    add(
        "onnx/tree_empty.onnx",
        ser(
            tree_reg(
                nodes_treeids=[],
                nodes_nodeids=[],
                nodes_featureids=[],
                nodes_modes=[],
                nodes_values=[],
                nodes_truenodeids=[],
                nodes_falsenodeids=[],
                nodes_missing_value_tracks_true=[],
                target_treeids=[],
                target_nodeids=[],
                target_ids=[],
                target_weights=[],
            )
        ),
        "a tree ensemble with no nodes at all",
        "PortamodelError",
        r"(?i)node|empty|tree",
    )
    add(
        "onnx/tree_clf_zero_classes.onnx",
        ser(
            tree_clf(classlabels_int64s=None, classlabels_strings=None, class_treeids=[], class_nodeids=[], class_ids=[], class_weights=[])
        ),
        "a tree classifier without class labels",
        "PortamodelError",
        r"(?i)class",
    )
    add(
        "onnx/tree_clf_class_id_out_of_range.onnx",
        ser(tree_clf(class_ids=[0, 1, 7] * 3)),
        "a class weight for class 7 of 3",
        "PortamodelError",
        r"(?i)class",
    )
    add(
        "onnx/tree_clf_labels_both.onnx",
        ser(tree_clf(classlabels_strings=["a", "b", "c"])),
        "both integer and string class labels",
        "PortamodelError",
        r"(?i)classlabels",
    )
    v5 = h.make_node(
        "TreeEnsemble",
        ["X"],
        ["variable"],
        domain="ai.onnx.ml",
        tree_roots=[0],
        nodes_featureids=[0, 1],
        nodes_modes=nh.from_array(np.array([0, 0], np.uint8)),
        nodes_splits=nh.from_array(np.array([0.5, 1.5], np.float32)),
        nodes_truenodeids=[1, 5],
        nodes_trueleafs=[0, 1],
        nodes_falsenodeids=[1, 1],
        nodes_falseleafs=[0, 1],
        leaf_targetids=[0, 0],
        leaf_weights=nh.from_array(np.array([0.1, 0.9], np.float32)),
        n_targets=1,
        aggregate_function=1,
        post_transform=0,
    )
    add(
        "onnx/tree_v5_leaf_out_of_range.onnx",
        ser(model([v5], reg_out, ml=5)),
        "ai.onnx.ml 5 TreeEnsemble: a true leaf index 5 of 2, and both branches of the root to the same node",
        "FormatError",
        r"(?i)leaf|nodes_truenodeids|parent|range",
    )

    # -- linear and dense models -------------------------------------------------------------------
    add(
        "onnx/linear_shape_mismatch.onnx",
        ser(linreg(coefficients=[1.0, 2.0, 3.0])),
        "3 coefficients for a 2-column input and 1 target",
        "PortamodelError",
        r"(?i)coefficients",
    )
    add("onnx/linear_targets_absurd.onnx", ser(linreg(targets=2**40)), "targets=2^40", "PortamodelError", r"(?i)targets|coefficients")
    add(
        "onnx/linear_no_coefficients.onnx",
        ser(linreg(coefficients=[], intercepts=[])),
        "a linear model without coefficients (empty model)",
        "PortamodelError",
        r"(?i)coefficients",
    )
    add(
        "onnx/mlp_weight_shape_mismatch.onnx",
        ser(mlp(w2=np.ones((4, 1), np.float32))),
        "a (4, 1) weight matrix after a layer giving 3 values",
        "PortamodelError",
        r"(?i)shape|W2|MatMul|width|dimension",
    )
    add(
        "onnx/mlp_first_layer_mismatch.onnx",
        ser(mlp(w1=np.ones((5, 3), np.float32))),
        "a (5, 3) first weight matrix for a 2-column input",
        "PortamodelError",
        r"(?i)shape|W1|MatMul|width|dimension",
    )
    xd = h.make_tensor_value_info("X", TensorProto.DOUBLE, [None, 2])
    gather = model(
        [
            h.make_node("Gather", ["table", "k"], ["g"], axis=0),
            h.make_node("MatMul", ["X", "W"], ["s"]),
            h.make_node("Add", ["s", "g"], ["variable"]),
        ],
        [h.make_tensor_value_info("variable", TensorProto.DOUBLE, [None, 1])],
        [
            nh.from_array(np.arange(5, dtype=np.float64), "table"),
            nh.from_array(np.array(1.0, dtype=np.float64), "k"),
            nh.from_array(np.ones((2, 1), np.float64), "W"),
        ],
        inputs=[xd],
    )
    add(
        "onnx/gather_float_indices.onnx",
        ser(gather),
        "a constant Gather whose indices are doubles (found by fuzzing)",
        "PortamodelError",
        r"(?i)gather|indices|integer",
    )

    def constant_of_shape(shape: list[int]) -> Any:
        return model(
            [
                h.make_node("ConstantOfShape", ["shape"], ["c"], value=nh.from_array(np.array([0.5]), "v")),
                h.make_node("MatMul", ["X", "W"], ["s"]),
                h.make_node("Add", ["s", "c"], ["variable"]),
            ],
            [h.make_tensor_value_info("variable", TensorProto.DOUBLE, [None, 1])],
            [nh.from_array(np.array(shape, dtype=np.int64), "shape"), nh.from_array(np.ones((2, 1), np.float64), "W")],
            inputs=[xd],
        )

    add(
        "onnx/constant_of_shape_huge.onnx",
        ser(constant_of_shape([10**6, 10**6])),
        "ConstantOfShape asking for a 10^6 x 10^6 constant (8 TB; found by fuzzing)",
        "LimitExceededError",
        r"(?i)ConstantOfShape|shape|large|limit",
    )
    add(
        "onnx/constant_of_shape_negative.onnx",
        ser(constant_of_shape([-1])),
        "ConstantOfShape with a negative dimension (found by fuzzing)",
        "FormatError",
        r"(?i)ConstantOfShape|shape|negative",
    )
    split = model(
        [h.make_node("Split", ["X", "sizes"], ["a", "b"], axis=1), h.make_node("MatMul", ["X", "W"], ["variable"])],
        [h.make_tensor_value_info("variable", TensorProto.DOUBLE, [None, 1])],
        [nh.from_array(np.array(["k0", "k1"], dtype=object), "sizes"), nh.from_array(np.ones((2, 1), np.float64), "W")],
        inputs=[xd],
    )
    add(
        "onnx/split_string_sizes.onnx",
        ser(split),
        "Split whose sizes are strings (found by fuzzing)",
        "FormatError",
        r"(?i)split|sizes|integer",
    )
    onnx_folding_cases(model, ser, xd)
    m = mlp()
    m.graph.initializer[0].raw_data = bytes(10)
    add(
        "onnx/tensor_raw_data_short.onnx",
        ser(m),
        "an initializer whose raw_data holds 10 bytes for 24 declared",
        "PortamodelError",
        r"(?i)W1|bytes|size|data|checker",
    )
    m = mlp()
    m.graph.node[0].input[1] = "nowhere"
    add("onnx/dangling_input.onnx", ser(m), "a node reading a tensor nobody produces", "FormatError", r"nowhere")
    m = mlp()
    m.graph.node[3].output[0] = "h0"
    add(
        "onnx/graph_cycle.onnx",
        ser(m),
        "the last node writes the first node's output (a cycle / two producers)",
        "FormatError",
        r"(?i)h0|cycle|topolog|checker",
    )
    add(
        "onnx/no_nodes.onnx",
        ser(model([], [h.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])])),
        "a graph without nodes whose output is its input (empty model)",
        "PortamodelError",
        r"(?i)node|model|output|estimator",
    )
    add(
        "onnx/no_outputs.onnx",
        ser(model([h.make_node("Relu", ["X"], ["r"])], [])),
        "a graph without outputs",
        "PortamodelError",
        r"(?i)output",
    )

    def with_props(props: dict[str, str], raw: dict[bytes, bytes]) -> bytes:
        """The tree model with metadata; each ``raw`` placeholder is then replaced by bytes of the
        same length (protobuf does not check UTF-8 in ONNX's proto2 strings)."""
        m = tree_reg()
        for k, v in props.items():
            p = m.metadata_props.add()
            p.key, p.value = k, v
        data = ser(m)
        for old, new in raw.items():
            assert len(old) == len(new) and data.count(old) == 1
            data = data.replace(old, new)
        return data

    writer = {"portamodel.writer": '{"tree_opset": 3}'}
    add(
        "onnx/metadata_ir_invalid_utf8.onnx",
        with_props({**writer, "portamodel.ir": "PLACEHOLDER-IR"}, {b"PLACEHOLDER-IR": b"\xff\xfe{}\xc3\x28xxxxxxxx"}),
        "the embedded IR (metadata value) is not UTF-8 (may be ignored: the graph is read)",
        "PortamodelError",
        r"(?i)utf|metadata|portamodel\.ir",
        allow_load=True,
    )
    add(
        "onnx/metadata_key_invalid_utf8.onnx",
        with_props({**writer, "portamodel.ir": "{}", "PLACEHOLDER-KEY": "x"}, {b"PLACEHOLDER-KEY": b"portamodel.\xff\xfe\xfdX"}),
        "a metadata key that is not UTF-8 (may be ignored)",
        "PortamodelError",
        r"(?i)utf|metadata",
        allow_load=True,
    )
    m = tree_reg()
    data = ser(m)
    assert data.count(b"\n\x01X") == 2  # the node input and the graph input, both named "X"
    add(
        "onnx/input_name_invalid_utf8.onnx",
        data.replace(b"\n\x01X", b"\n\x01\xff"),
        "an input tensor name that is not UTF-8",
        "PortamodelError",
        r"(?i)utf|name",
        allow_load=True,
    )
    m = tree_reg()
    p = m.metadata_props.add()
    p.key, p.value = "portamodel.ir", '{"format":"portamodel","version":1,' + '"x":' * 20_000 + "1" + "}" * 20_001
    add(
        "onnx/embedded_ir_deep.onnx",
        ser(m),
        "the embedded portamodel IR (metadata) is JSON nested 20,000 deep (may be ignored: the graph is read)",
        "PortamodelError",
        r"(?i)deep|nest|portamodel\.ir",
        allow_load=True,
    )
    m = tree_reg()
    p = m.metadata_props.add()
    p.key, p.value = (
        "portamodel.ir",
        json.dumps(json_base("tree")).replace('"true_child": [1, -1, 3, -1, -1]', '"true_child": [1, -1, 0, -1, -1]'),
    )
    add(
        "onnx/embedded_ir_cycle.onnx",
        ser(m),
        "the embedded IR describes a cyclic tree (may be ignored: the graph is read)",
        "PortamodelError",
        r"(?i)cycle|parent|reach|portamodel\.ir|graph",
        allow_load=True,
    )


def onnx_folding_cases(model: Any, ser: Any, xd: Any) -> None:
    """Siblings of the fuzzing finds: constants the reader computes (folds) from sizes, shapes and
    indices the file gives -- ConstantOfShape, Expand, broadcasting, Concat, Gather, Split, Slice,
    Reshape -- must be checked before anything is allocated, and must stay within a budget summed
    over the whole graph; column groups built from them must stay within the width limit."""
    import numpy as np
    from onnx import TensorProto
    from onnx import helper as h
    from onnx import numpy_helper as nh

    def graph(nodes: list[Any], inits: list[Any] = (), out: str = "c", width: int = 2) -> bytes:  # type: ignore[assignment]
        """X @ W + ``out``, where ``nodes`` compute ``out``."""
        x = xd if width == 2 else h.make_tensor_value_info("X", TensorProto.DOUBLE, [None, width])
        return ser(
            model(
                [*nodes, h.make_node("MatMul", ["X", "W"], ["s"]), h.make_node("Add", ["s", out], ["variable"])],
                [h.make_tensor_value_info("variable", TensorProto.DOUBLE, [None, 1])],
                [*inits, nh.from_array(np.ones((width, 1), np.float64), "W")],
                inputs=[x],
            )
        )

    def shape(name: str, dims: list[int]) -> Any:
        return nh.from_array(np.array(dims, dtype=np.int64), name)

    def zeros(out: str, dims: str, value: Any = None) -> Any:
        """ConstantOfShape filling ``dims`` with ``value`` (default: float32 zero)."""
        kw = {} if value is None else {"value": nh.from_array(np.array([value]), "v")}
        return h.make_node("ConstantOfShape", [dims], [out], **kw)

    empty_value = h.make_node("ConstantOfShape", ["shape"], ["c"], value=nh.from_array(np.zeros(0, np.float64), "v"))
    add(
        "onnx/constant_of_shape_empty_value.onnx",
        graph([empty_value], [shape("shape", [1])]),
        "ConstantOfShape whose value attribute holds no element (the specification asks for one)",
        "FormatError",
        r"(?i)ConstantOfShape.*value.*(one|1)",
    )
    add(
        "onnx/expand_huge.onnx",
        graph([h.make_node("Expand", ["one", "shape"], ["c"])], [nh.from_array(np.array([0.5]), "one"), shape("shape", [10**6, 10**6])]),
        "Expand of a constant to 10^6 x 10^6 (8 TB)",
        "LimitExceededError",
        r"(?i)Expand.*limit",
    )
    add(
        "onnx/expand_negative_shape.onnx",
        graph([h.make_node("Expand", ["one", "shape"], ["c"])], [nh.from_array(np.array([0.5]), "one"), shape("shape", [-2])]),
        "Expand of a constant to a negative dimension",
        "FormatError",
        r"(?i)Expand.*negative",
    )
    add(
        "onnx/expand_incompatible_shape.onnx",
        graph([h.make_node("Expand", ["two", "shape"], ["c"])], [nh.from_array(np.array([0.5, 1.5]), "two"), shape("shape", [3])]),
        "Expand of a 2-element constant to 3 elements (shapes that do not broadcast)",
        "FormatError",
        r"(?i)Expand.*\[2\].*\[3\]",
    )
    add(
        "onnx/broadcast_huge.onnx",
        graph(
            [zeros("a", "sa", 0.5), zeros("b", "sb", 0.5), h.make_node("Add", ["a", "b"], ["c"])],
            [shape("sa", [100_000, 1]), shape("sb", [1, 100_000])],
        ),
        "Add of a 100,000 x 1 and a 1 x 100,000 constant: broadcasting makes 10^10 values (80 GB)",
        "LimitExceededError",
        r"(?i)Add.*limit",
    )
    add(
        "onnx/compare_constants_mismatch.onnx",
        graph(
            [h.make_node("Equal", ["three", "four"], ["eq"]), h.make_node("Cast", ["eq"], ["c"], to=TensorProto.DOUBLE)],
            [nh.from_array(np.zeros(3), "three"), nh.from_array(np.zeros(4), "four")],
        ),
        "Equal of constants of shapes [3] and [4], which do not broadcast",
        "FormatError",
        r"(?i)Equal.*broadcast",
    )
    add(
        "onnx/concat_constants_huge.onnx",
        graph([zeros("z", "shape"), h.make_node("Concat", ["z"] * 400, ["c"], axis=0)], [shape("shape", [1_000_000])]),
        "Concat of the same million-element constant 400 times (1.6 GB)",
        "LimitExceededError",
        r"(?i)Concat.*limit",
    )
    chain = [zeros("c0", "shape", 0.5)] + [h.make_node("Neg", [f"c{i}"], [f"c{i + 1}"]) for i in range(60)]
    add(
        "onnx/folded_constants_chain.onnx",
        graph([*chain, h.make_node("ReduceSum", ["c60"], ["c"], keepdims=0)], [shape("shape", [8_000_000])]),
        "60 Neg nodes, each computing another 8-million-element constant (3.8 GB in all, 64 MB each)",
        "LimitExceededError",
        r"(?i)Neg.*limit",
    )
    wide = [zeros("idx", "shape", np.int64(0)), h.make_node("Gather", ["X", "idx"], ["g"], axis=1), h.make_node("Abs", ["g"], ["c"])]
    add(
        "onnx/gather_columns_huge.onnx",
        graph(wide, [shape("shape", [5_000_000])]),
        "Gather of 5 million copies of column 0 (an expression each: gigabytes of steps)",
        "LimitExceededError",
        r"(?i)Gather.*limit",
    )
    x1 = h.make_tensor_value_info("X", TensorProto.DOUBLE, [None, 1])
    add(
        "onnx/compare_columns_huge_constant.onnx",
        ser(
            model(
                [
                    zeros("k", "shape", 0.5),
                    h.make_node("Less", ["X", "k"], ["lt"]),
                    h.make_node("Cast", ["lt"], ["f"], to=TensorProto.DOUBLE),
                    h.make_node("MatMul", ["f", "W"], ["variable"]),
                ],
                [h.make_tensor_value_info("variable", TensorProto.DOUBLE, [None, 1])],
                [shape("shape", [3_000_000]), nh.from_array(np.ones((1, 1)), "W")],
                inputs=[x1],
            )
        ),
        "Less of one column and a 3-million-element constant (an expression each)",
        "LimitExceededError",
        r"(?i)Less.*limit",
    )
    add(
        "onnx/reshape_string_shape.onnx",
        graph(
            [h.make_node("Reshape", ["X", "shape"], ["c"])],
            [nh.from_array(np.array(["a", "b"], dtype=object), "shape")],
        ),
        "Reshape whose shape is strings",
        "FormatError",
        r"(?i)Reshape.*shape.*integer",
    )
    add(
        "onnx/slice_zero_step.onnx",
        graph(
            [h.make_node("Slice", ["X", "st", "en", "ax", "sp"], ["c"])],
            [shape("st", [0]), shape("en", [1]), shape("ax", [1]), shape("sp", [0])],
        ),
        "Slice with a step of 0",
        "FormatError",
        r"(?i)Slice.*step",
    )
    add(
        "onnx/gather_columns_string_indices.onnx",
        graph([h.make_node("Gather", ["X", "idx"], ["c"], axis=1)], [nh.from_array(np.array(["k0"], dtype=object), "idx")]),
        "Gather of columns by string indices",
        "FormatError",
        r"(?i)Gather.*indices.*integer",
    )
    afe = h.make_node("ArrayFeatureExtractor", ["X", "idx"], ["c"], domain="ai.onnx.ml")
    add(
        "onnx/array_feature_extractor_string_indices.onnx",
        graph([afe], [nh.from_array(np.array(["k1"], dtype=object), "idx")]),
        "ArrayFeatureExtractor with string indices",
        "FormatError",
        r"(?i)ArrayFeatureExtractor.*indices.*integer",
    )
    add(
        "onnx/split_negative_sizes.onnx",
        graph([h.make_node("Split", ["X", "sizes"], ["c", "b"], axis=1)], [shape("sizes", [3, -1])]),
        "Split into sizes 3 and -1 (they add up to the 2 columns)",
        "FormatError",
        r"(?i)Split.*negative",
    )


def main() -> int:
    pmml_cases()
    json_cases()
    onnx_cases()
    (HERE / "manifest.json").write_text(json.dumps(MANIFEST, indent=1) + "\n", encoding="utf-8")
    write_readme()
    print(f"wrote {len(MANIFEST)} hostile files")
    return 0


def write_readme() -> None:
    def setup(e: dict[str, Any]) -> str:
        parts = [k for k in ("sentinel", "network") if e.get(k)]
        parts += [f"symlink `{k}` -> `{v}`" for k, v in e.get("symlinks", {}).items()]
        parts += [f"`{c.split('/')[-1]}`" for c in e.get("companions", [])]
        if e.get("options"):
            parts.append(f"options `{json.dumps(e['options'])}`")
        return ", ".join(parts)

    rows = "\n".join(
        f"| `{e['file']}` | {e['attack']} | {e['expect']}" + (" *(may load)*" if e.get("allow_load") else "") + f" | {setup(e)} |"
        for e in MANIFEST
    )
    counts = {fmt: sum(1 for e in MANIFEST if e["file"].startswith(fmt + "/")) for fmt in ("json", "pmml", "onnx")}
    text = f"""# Hostile-input corpus

Files that every portamodel reader must refuse **fast** (no hang, no memory blow-up) with a
`PortamodelError` subclass whose message says what is wrong and where, **without touching any
other file or the network**. `tests/test_hostile.py` loads each one through `portamodel.load`
in a guarded subprocess (10 s hang guard, address-space limit) and checks the error class, the
message, and that nothing opened the sentinel file or connected to the test's listening port.

{len(MANIFEST)} files: {counts["json"]} JSON, {counts["pmml"]} PMML, {counts["onnx"]} ONNX.
Generated by `make_hostile.py` (deterministic; rerun it from the repository root after editing
and commit the output). `manifest.json` holds the same table in machine-readable form plus the
regular expression each message must match.

Set-up done by the test (not committed): `sentinel.txt` next to the copied file and in the
loader's working folder (entries marked `sentinel`), a listening socket whose port replaces
`{PORT}` in the file (`network`), and the symbolic links of the `symlinks` entries (a link to a
sentinel outside the model folder, `{{outside}}`, or to a folder outside it, `{{outside_dir}}`).
`onnx/weights.bin` is a harmless 24-byte external-data file some entries name.

Trees in PMML are nested elements, so a cycle, a node with two parents or a child index out of
range cannot be written directly; the PMML entries use their analogues (`defaultChild` naming the
node itself, an ancestor, nothing, or one of two same-id children; splits on unknown fields;
scores for unknown classes).

Entries marked *(may load)* are odd rather than malformed: the reader may accept them, and then
the model must score sample inputs without error.

| file | attack | expected error | set-up |
| --- | --- | --- | --- |
{rows}
"""
    (HERE / "README.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
