"""The ``portamodel`` command line: every subcommand, its exit codes and its one-line errors."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import portamodel
from portamodel import errors
from portamodel.cli import main
from portamodel.cli._errors import EXIT_CODES, exit_code_for
from portamodel.ir import Field, LinearModel, Model, OneHot, Target

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_MODEL = ROOT / "examples" / "iris_forest.json"
EXAMPLE_DATA = ROOT / "examples" / "iris.csv"
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_csv(path: Path | str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("portamodel: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def colour_model(tmp_path: Path) -> tuple[Model, Path]:
    """A small classifier with a numeric, a categorical string and a boolean input, saved as JSON."""
    model = Model(
        inputs=(
            Field(name="x"),
            Field(name="colour", dtype="string", optype="categorical", values=("red", "green", "blue")),
            Field(name="flag", dtype="boolean"),
        ),
        steps=(OneHot(input="colour", categories=("red", "green", "blue"), outputs=("is_red", "is_green", "is_blue")),),
        target=Target(name="label", task="classification", classes=("no", "yes")),
        estimator=LinearModel(
            features=("x", "is_red", "is_green", "is_blue", "flag"),
            coefficients=[[0.75, 1.5, -2.0, 0.25, 0.5]],
            intercepts=[-0.1],
            normalization="logistic",
        ),
    )
    path = tmp_path / "colour.json"
    portamodel.save(model, path)
    return model, path


# -- help, version, usage ------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"portamodel {portamodel.__version__}"


def test_help_lists_commands_examples_and_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("info", "convert", "validate", "score"):
        assert command in out
    assert "examples:" in out and "exit codes:" in out
    for _, exit_code, text in EXIT_CODES:
        assert f"{exit_code:>3}  {text}" in out


@pytest.mark.parametrize("command", ["info", "convert", "validate", "score"])
def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert f"usage: portamodel {command}" in out
    assert "examples:" in out and f"portamodel {command} " in out.split("examples:")[1]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "a command is required" in err
    code, _, err = run(capsys, "score", str(EXAMPLE_MODEL))
    assert code == 2 and "required" in err
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err
    code, _, err = run(capsys, "score", "m.json", "d.csv", "-o", "x.csv", "--chunk-size", "0")
    assert code == 2 and "--chunk-size" in err


# -- the exit-code table ---------------------------------------------------------------------------


def test_exit_codes_are_distinct_and_not_argparse_or_success() -> None:
    codes = [code for _, code, _ in EXIT_CODES]
    assert len(set(codes)) == len(codes)
    assert not {0, 1, 2} & set(codes)
    # every public error class has a code of its own
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert cls in {c for c, _, _ in EXIT_CODES}, name


@pytest.mark.parametrize(("cls", "code"), [(cls, code) for cls, code, _ in EXIT_CODES if issubclass(cls, errors.PortamodelError)])
def test_each_error_class_gives_its_code_and_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cls: type[errors.PortamodelError], code: int
) -> None:
    def fail(*args: object, **kwargs: object) -> Model:
        raise cls("something is wrong\nacross two lines", location="where.json: $.trees[3]")

    monkeypatch.setattr(portamodel, "load", fail)
    got, out, err = run(capsys, "validate", EXAMPLE_MODEL)
    assert got == code == exit_code_for(cls("x"))
    line = one_error_line(err)
    assert line == "portamodel: error: where.json: $.trees[3]: something is wrong across two lines"
    assert out == ""


def test_internal_error_says_bug_and_debug_shows_traceback(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> Model:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(portamodel, "load", boom)
    code, _, err = run(capsys, "info", EXAMPLE_MODEL)
    assert code == 1
    assert "internal error: ZeroDivisionError: oops" in one_error_line(err) and "--debug" in err
    for argv in (["--debug", "info", str(EXAMPLE_MODEL)], ["info", "--debug", str(EXAMPLE_MODEL)]):
        code, _, err = run(capsys, *argv)
        assert code == 1
        assert "Traceback (most recent call last)" in err and "ZeroDivisionError: oops" in err


def test_missing_file_exit_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for argv in (
        ["info", tmp_path / "nope.json"],
        ["validate", tmp_path / "nope.json"],
        ["convert", tmp_path / "nope.json", tmp_path / "out.json"],
        ["score", tmp_path / "nope.json", EXAMPLE_DATA, "-o", tmp_path / "out.csv"],
        ["score", EXAMPLE_MODEL, tmp_path / "nope.csv", "-o", tmp_path / "out.csv"],
        ["score", EXAMPLE_MODEL, EXAMPLE_DATA, "-o", tmp_path / "no-such-folder" / "out.csv"],
    ):
        code, _, err = run(capsys, *argv)
        assert code == 3, (argv, err)
        assert "nope" in one_error_line(err) or "no-such-folder" in err
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "out.json").exists()


def test_unknown_format_exit_4(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    junk = tmp_path / "model.bin"
    junk.write_bytes(b"\x00\x01 not a model")
    code, _, err = run(capsys, "info", junk)
    assert code == 4
    assert "cannot tell the format" in one_error_line(err)
    code, _, err = run(capsys, "convert", EXAMPLE_MODEL, tmp_path / "out.txt")
    assert code == 4 and "out.txt" in one_error_line(err)


def test_malformed_json_exit_5(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "portamodel", "version": ')
    code, _, err = run(capsys, "validate", bad)
    assert code == 5, err
    assert "bad.json" in one_error_line(err)


# -- info ------------------------------------------------------------------------------------------


def test_info_describes_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    model = portamodel.load(EXAMPLE_MODEL)
    code, out, err = run(capsys, "info", EXAMPLE_MODEL)
    assert code == 0 and err == ""
    assert "format:    json" in out
    assert "family:    tree (TreeEnsemble)" in out
    assert "into 3 classes: setosa, versicolor, virginica" in out
    est = model.estimator
    assert f"{est.n_trees} trees, {est.n_nodes} nodes" in out and f"max depth {est.max_depth}" in out
    for name in FEATURES:
        assert f"  {name}" in out


def test_info_json(capsys: pytest.CaptureFixture[str]) -> None:
    model = portamodel.load(EXAMPLE_MODEL)
    code, out, _ = run(capsys, "info", "--json", EXAMPLE_MODEL)
    assert code == 0
    desc = json.loads(out)
    assert desc["format"] == "json" and desc["family"] == "tree" and desc["task"] == "classification"
    assert desc["classes"] == ["setosa", "versicolor", "virginica"]
    assert [f["name"] for f in desc["inputs"]] == list(model.input_names)
    assert desc["size"]["trees"] == model.estimator.n_trees and desc["size"]["nodes"] == model.estimator.n_nodes
    assert desc["file_size"] == EXAMPLE_MODEL.stat().st_size


def test_info_shows_steps_and_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, colour_model: tuple[Model, Path]
) -> None:
    _, path = colour_model
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    code, out, _ = run(capsys, "info", "-")
    assert code == 0
    assert "file:      <stdin>" in out
    assert "OneHot  colour -> is_red, is_green, is_blue" in out
    assert "values: red, green, blue" in out
    assert "5 coefficients" in out


def test_info_shows_a_networks_compute_dtype(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from portamodel.ir import MLP, DenseLayer

    layers = (DenseLayer(weights=[[1.0, 2.0]], biases=[0.0, 0.5], activation="tanh"), DenseLayer(weights=[[1.0], [-1.0]], biases=[0.0]))
    for dtype in ("float32", "float64"):
        est = MLP(features=("x",), layers=layers, compute_dtype=dtype)  # type: ignore[arg-type]
        path = tmp_path / f"{dtype}.json"
        portamodel.save(Model(inputs=(Field(name="x"),), target=Target(name="y", task="regression"), estimator=est), path)
        code, out, _ = run(capsys, "info", path)
        assert code == 0 and "2 layers, 7 weights and biases: 1 -> 2 (tanh) -> 1 (identity)" in out
        assert ("computes in float32" in out) == (dtype == "float32")
        code, out, _ = run(capsys, "info", "--json", path)
        assert code == 0 and json.loads(out)["size"]["compute_dtype"] == dtype


# -- validate --------------------------------------------------------------------------------------


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", EXAMPLE_MODEL)
    assert code == 0 and err == ""
    assert out.startswith(f"{EXAMPLE_MODEL}: ok (tree classification with 3 classes")
    code, out, err = run(capsys, "validate", "--quiet", EXAMPLE_MODEL)
    assert (code, out, err) == (0, "", "")


def test_validate_rejects_a_cyclic_tree(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import copy

    from portamodel.formats import json as json_format

    model = portamodel.load(EXAMPLE_MODEL)
    est = model.estimator
    root = int(est.roots[0])
    cyclic = est.false_child.copy()
    cyclic[root] = root  # the first split's false branch loops back to the root
    # Forge the file: bypass the IR's checks on a copy, then write it with the real JSON writer.
    forged_est = copy.copy(est)
    object.__setattr__(forged_est, "false_child", cyclic)
    forged = copy.copy(model)
    object.__setattr__(forged, "estimator", forged_est)
    broken = tmp_path / "cyclic.json"
    broken.write_bytes(json_format.write(forged))
    code, out, err = run(capsys, "validate", broken)
    # The JSON reader reports IR invariant violations found in a file as FormatError (5), located
    # by JSON path; a reader that lets IRValidationError through gives 7. Both say what and where.
    assert code in (5, 7), err
    assert out == ""
    line = one_error_line(err)
    assert "TreeEnsemble" in line and ("parent" in line or "cycle" in line)


# -- convert ---------------------------------------------------------------------------------------


def test_convert_json_to_json_gz_round_trips(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "copy.json.gz"
    code, stdout, err = run(capsys, "convert", EXAMPLE_MODEL, out)
    assert (code, stdout, err) == (0, "", "")
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert portamodel.load(out) == portamodel.load(EXAMPLE_MODEL)
    again = tmp_path / "again.model"
    code, _, err = run(capsys, "convert", out, again, "--from", "json", "--to", "json")
    assert code == 0, err
    assert portamodel.load(again, format="json") == portamodel.load(EXAMPLE_MODEL)


def test_convert_loss_raise_writes_nothing_and_warn_writes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from portamodel.diagnostics import report_loss
    from portamodel.formats import json as json_format

    real_write = json_format.write

    def lossy_write(model: Model, **options: object) -> bytes:
        report_loss("thresholds rounded to float32", on_loss=options["on_loss"], location="tree 3")  # type: ignore[arg-type]
        return real_write(model, **options)

    monkeypatch.setattr(json_format, "write", lossy_write)
    out = tmp_path / "out.json"
    code, _, err = run(capsys, "convert", EXAMPLE_MODEL, out)
    assert code == 9
    line = one_error_line(err)
    assert "tree 3: thresholds rounded to float32" in line and "--on-loss warn" in line
    assert not out.exists()
    code, _, err = run(capsys, "convert", EXAMPLE_MODEL, out, "--on-loss", "warn")
    assert code == 0 and out.exists()
    assert err == "portamodel: warning: tree 3: thresholds rounded to float32\n"
    out.unlink()
    code, _, err = run(capsys, "convert", EXAMPLE_MODEL, out, "--on-loss", "ignore")
    assert (code, err) == (0, "") and out.exists()


# -- score -----------------------------------------------------------------------------------------


def test_score_example_matches_model_predict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "pred.csv"
    code, stdout, err = run(capsys, "score", EXAMPLE_MODEL, EXAMPLE_DATA, "-o", out, "--id-column", "id", "--chunk-size", "7")
    assert (code, stdout, err) == (0, "", "")  # not a terminal: no progress
    rows = read_csv(out)
    data = read_csv(EXAMPLE_DATA)
    model = portamodel.load(EXAMPLE_MODEL)
    X = np.array([[float(r[f]) for f in FEATURES] for r in data])
    assert [r["id"] for r in rows] == [r["id"] for r in data]
    assert list(rows[0]) == ["id", model.target.name, *(f"probability({c})" for c in model.classes)]
    assert [r[model.target.name] for r in rows] == model.predict(X).tolist()
    proba = np.array([[float(r[f"probability({c})"]) for c in model.classes] for r in rows])
    assert np.array_equal(proba, model.predict_proba(X))  # shortest round-trip text: exact
    # a real model: it gets most of its own training data right
    assert np.mean([r[model.target.name] == d["species"] for r, d in zip(rows, data)]) > 0.9


def test_score_to_stdout_same_as_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "pred.csv"
    assert run(capsys, "score", EXAMPLE_MODEL, EXAMPLE_DATA, "-o", out)[0] == 0
    code, stdout, err = run(capsys, "score", EXAMPLE_MODEL, EXAMPLE_DATA, "-o", "-", "--chunk-size", "1000")
    assert (code, err) == (0, "")
    assert stdout == out.read_text()


def test_score_parses_by_field_type_and_handles_missing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, colour_model: tuple[Model, Path]
) -> None:
    model, path = colour_model
    data = tmp_path / "data.csv"
    data.write_text("key,flag,colour,x,unused\nr1,true,red,1.5,zzz\nr2,0,blue,-2,\nr3,,green,NA,1\nr4,yes,,0.25,\nr5,FALSE,red,,\n")
    out = tmp_path / "out.csv"
    code, _, err = run(capsys, "score", path, data, "-o", out, "--id-column", "key", "--chunk-size", "2")
    assert code == 0, err
    rows = read_csv(out)
    records = [
        {"x": 1.5, "colour": "red", "flag": True},
        {"x": -2.0, "colour": "blue", "flag": False},
        {"x": None, "colour": "green", "flag": None},
        {"x": 0.25, "colour": None, "flag": True},
        {"x": None, "colour": "red", "flag": False},
    ]
    labels = model.predict(records).tolist()
    proba = model.predict_proba(records)
    assert [r["key"] for r in rows] == ["r1", "r2", "r3", "r4", "r5"]
    assert [r["label"] or None for r in rows] == labels
    for r, p in zip(rows, proba):
        for c, v in zip(model.classes, p):
            cell = r[f"probability({c})"]
            assert (cell == "" and math.isnan(v)) or float(cell) == v
    assert labels[2] is None and rows[2]["label"] == ""  # a missing numeric input: no prediction, empty cells


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("x,colour\n1,red\n", "lacks column 'flag'"),
        ("x,colour,flag\n1,red,true\nabc,red,true\n", "line 3, column 'x': expected a number, got 'abc'"),
        ("x,colour,flag\n1,red,maybe\n", "line 2, column 'flag': expected a boolean"),
        # a quoted line break and a blank line: lines no longer count rows, so the data row is named
        ('x,colour,flag\n1,"re\nd",true\n\nabc,red,true\n', "data row 2, column 'x': expected a number, got 'abc'"),
        ('x,colour,flag\n1,"red,true\n', "malformed CSV"),
        ("x,colour,flag\n1,red,true,4\n", "line 2: row has 4 cells but the header has 3"),
        ("x,x,colour,flag\n", "column 'x' appears twice"),
        ("", "the file is empty"),
    ],
)
def test_score_bad_data_exit_10(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, colour_model: tuple[Model, Path], content: str, message: str
) -> None:
    _, path = colour_model
    data = tmp_path / "data.csv"
    data.write_text(content)
    out = tmp_path / "out.csv"
    code, _, err = run(capsys, "score", path, data, "-o", out)
    assert code == 10, err
    line = one_error_line(err)
    assert "data.csv" in line and message in line
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))  # no partial output, no temp file left


def test_score_invalid_category_is_located(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model = Model(
        inputs=(Field(name="colour", dtype="string", optype="categorical", values=("red", "blue"), invalid="error"),),
        steps=(OneHot(input="colour", categories=("red", "blue"), outputs=("r", "b")),),
        target=Target(name="y", task="regression"),
        estimator=LinearModel(features=("r", "b"), coefficients=[[1.0, 2.0]], intercepts=[0.0]),
    )
    path = tmp_path / "m.json"
    portamodel.save(model, path)
    data = tmp_path / "d.csv"
    data.write_text("colour\nred\nblue\n" + "red\n" * 10 + "purple\n")
    code, _, err = run(capsys, "score", path, data, "-o", tmp_path / "o.csv", "--chunk-size", "5")
    assert code == 10
    line = one_error_line(err)
    assert "data rows 11-13" in line and "purple" in line


def test_score_keeps_an_existing_output_on_failure(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, colour_model: tuple[Model, Path]
) -> None:
    _, path = colour_model
    data = tmp_path / "data.csv"
    data.write_text("x,colour,flag\n" + "1,red,true\n" * 50 + "oops,red,true\n")
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    code, _, _ = run(capsys, "score", path, data, "-o", out, "--chunk-size", "10")
    assert code == 10
    assert out.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["colour.json", "data.csv", "out.csv"]


def test_score_refuses_to_overwrite_its_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "iris.csv"
    data.write_bytes(EXAMPLE_DATA.read_bytes())
    code, _, err = run(capsys, "score", EXAMPLE_MODEL, data, "-o", data)
    assert code == 2 and "also an input" in one_error_line(err)
    code, _, err = run(capsys, "score", "-", "-", "-o", "-")
    assert code == 2 and "stdin" in one_error_line(err)
    assert data.read_bytes() == EXAMPLE_DATA.read_bytes()


def test_score_regression_tab_separated_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = Model(
        inputs=(Field(name="a"), Field(name="b", dtype="integer")),
        target=Target(name="y", task="regression"),
        estimator=LinearModel(features=("a", "b"), coefficients=[[0.1, 3.0]], intercepts=[0.2]),
    )
    path = tmp_path / "lin.json"
    portamodel.save(model, path)
    # a BOM, columns in another order than the model's, an empty cell and an NA marker
    stdin = b"\xef\xbb\xbfb\ta\n1\t0.3\n\t1e300\n2\tnull\n-4\t1e300\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code, out, err = run(capsys, "score", path, "-", "-o", "-", "--delimiter", "tab")
    assert code == 0, err
    expected = model.predict({"a": [0.3, 1e300, math.nan, 1e300], "b": [1.0, math.nan, 2.0, -4.0]}).tolist()
    assert math.isnan(expected[1]) and math.isnan(expected[2]) and expected[3] == 0.1 * 1e300 - 12 + 0.2
    rows = list(csv.reader(io.StringIO(out), delimiter="\t"))
    # shortest text that reads back exactly; a missing prediction is an empty cell
    assert rows == [["y"], [repr(expected[0])], [""], [""], [repr(expected[3])]]


def test_score_shows_progress_only_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = tmp_path / "o.csv"
    code, _, err = run(capsys, "score", EXAMPLE_MODEL, EXAMPLE_DATA, "-o", out)
    assert code == 0 and err == ""
    fake = Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    assert main(["score", str(EXAMPLE_MODEL), str(EXAMPLE_DATA), "-o", str(out), "--chunk-size", "50"]) == 0
    shown = fake.getvalue()
    assert shown.startswith("\rscored ") and shown.endswith("scored 150 rows (100%)\n")
    fake = Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    assert main(["score", str(EXAMPLE_MODEL), str(EXAMPLE_DATA), "-o", str(out), "--no-progress"]) == 0
    assert fake.getvalue() == ""


def test_score_header_only_writes_header_only(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "empty.csv"
    data.write_text(",".join(["id", *FEATURES]) + "\n")
    out = tmp_path / "o.csv"
    code, _, err = run(capsys, "score", EXAMPLE_MODEL, data, "-o", out)
    assert code == 0, err
    assert out.read_text() == "species,probability(setosa),probability(versicolor),probability(virginica)\n"


# -- as a separate process -------------------------------------------------------------------------


def test_python_dash_m_portamodel_scores_the_example(tmp_path: Path) -> None:
    out = tmp_path / "pred.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "portamodel", "score", str(EXAMPLE_MODEL), str(EXAMPLE_DATA), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout == ""
    model = portamodel.load(EXAMPLE_MODEL)
    X = np.array([[float(r[f]) for f in FEATURES] for r in read_csv(EXAMPLE_DATA)])
    assert [r["species"] for r in read_csv(out)] == model.predict(X).tolist()


def test_subprocess_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "portamodel", "validate", str(tmp_path / "absent.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr == f"portamodel: error: {tmp_path / 'absent.json'}: no such file\n"


# -- real PMML files from sklearn2pmml, scored from their CSV files ---------------------------------

PMML_FIXTURES = ROOT / "tests" / "data" / "pmml"
PMML_MANIFEST = json.loads((PMML_FIXTURES / "manifest.json").read_text()) if (PMML_FIXTURES / "manifest.json").exists() else []


@pytest.mark.parametrize("entry", PMML_MANIFEST, ids=lambda e: e["name"])
def test_score_real_pmml_matches_scikit_learn(capsys: pytest.CaptureFixture[str], tmp_path: Path, entry: dict[str, object]) -> None:
    """The CSV path end to end: sklearn2pmml's file, its input CSV (with missing cells and strings)
    scored by the CLI, against scikit-learn's own outputs on the same rows."""
    pytest.importorskip("lxml")
    name = str(entry["name"])
    out = tmp_path / "out.csv"
    code, _, err = run(capsys, "score", PMML_FIXTURES / f"{name}.pmml", PMML_FIXTURES / f"{name}.input.csv", "-o", out)
    assert code == 0, err
    got, expected = read_csv(out), read_csv(PMML_FIXTURES / f"{name}.expected.csv")
    assert len(got) == len(expected) == entry["rows"]
    target = next(iter(got[0]))
    for g, e in zip(got, expected):
        if entry["task"] == "classification":
            assert g[target] == e["predicted"]
            columns = [k for k in e if k != "predicted"]
            assert list(g)[1:] == columns
        else:
            columns = []
            assert float(g[target]) == pytest.approx(float(e["predicted"]), rel=1e-12, abs=1e-12)
        for k in columns:
            assert float(g[k]) == pytest.approx(float(e[k]), rel=1e-12, abs=1e-12)


def test_interrupt_exit_130(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> Model:
        raise KeyboardInterrupt

    monkeypatch.setattr(portamodel, "load", interrupted)
    code, _, err = run(capsys, "info", EXAMPLE_MODEL)
    assert code == 130 and one_error_line(err) == "portamodel: error: interrupted"


def test_broken_pipe_is_quiet_with_exit_141(tmp_path: Path) -> None:
    """``portamodel score ... -o - | head -1``: the reader goes away; no traceback, exit code 141."""
    data = tmp_path / "many.csv"
    lines = EXAMPLE_DATA.read_text().splitlines()
    data.write_text("\n".join([lines[0]] + lines[1:] * 200) + "\n")  # 30,000 rows: more than a pipe holds
    proc = subprocess.Popen(
        [sys.executable, "-m", "portamodel", "score", str(EXAMPLE_MODEL), str(data), "-o", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"species,")
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert err == b""


def test_convert_passes_writer_and_reader_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    compact, pretty = tmp_path / "compact.json", tmp_path / "pretty.json"
    assert run(capsys, "convert", EXAMPLE_MODEL, compact)[0] == 0
    code, _, err = run(capsys, "convert", EXAMPLE_MODEL, pretty, "-O", "indent=2", "-O", "pack_threshold=null")
    assert code == 0, err
    assert pretty.read_text().count("\n") > 100 > compact.read_text().count("\n")
    assert portamodel.load(pretty) == portamodel.load(compact)
    code, _, err = run(capsys, "convert", EXAMPLE_MODEL, tmp_path / "x.json", "-O", "bogus=1")
    assert code == 12 and "bogus" in one_error_line(err)
    code, _, err = run(capsys, "info", EXAMPLE_MODEL, "--read-option", "bogus=1")
    assert code == 12 and "bogus" in one_error_line(err)
    code, _, err = run(capsys, "convert", EXAMPLE_MODEL, tmp_path / "x.json", "-O", "on_loss=ignore")
    assert code == 2 and "--on-loss" in one_error_line(err)
    code, _, err = run(capsys, "convert", EXAMPLE_MODEL, tmp_path / "x.json", "-O", "no-equals-sign")
    assert code == 2 and "KEY=VALUE" in err


def test_convert_to_onnx_real_loss_then_exact(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The ONNX writer's default tree encoding rounds scores to float32: a real loss, refused by default."""
    pytest.importorskip("onnx")
    onnx_path = tmp_path / "iris.onnx"
    code, _, err = run(capsys, "convert", EXAMPLE_MODEL, onnx_path)
    assert code == 9
    assert "float32" in one_error_line(err) and "--on-loss warn" in err
    assert not onnx_path.exists()
    code, _, err = run(capsys, "convert", EXAMPLE_MODEL, onnx_path, "-O", "tree_opset=5")
    assert (code, err) == (0, "")
    code, out, _ = run(capsys, "info", "--json", onnx_path)
    assert code == 0 and json.loads(out)["format"] == "onnx"
    from_json, from_onnx = tmp_path / "json.csv", tmp_path / "onnx.csv"
    assert run(capsys, "score", EXAMPLE_MODEL, EXAMPLE_DATA, "-o", from_json)[0] == 0
    assert run(capsys, "score", onnx_path, EXAMPLE_DATA, "-o", from_onnx)[0] == 0
    assert from_onnx.read_text() == from_json.read_text()


def test_convert_to_pmml_and_score_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("lxml")
    pmml_path = tmp_path / "iris.pmml"
    code, _, err = run(capsys, "convert", EXAMPLE_MODEL, pmml_path)
    assert (code, err) == (0, "")
    assert run(capsys, "validate", "--quiet", pmml_path)[0] == 0
    from_json, from_pmml = tmp_path / "json.csv", tmp_path / "pmml.csv"
    assert run(capsys, "score", EXAMPLE_MODEL, EXAMPLE_DATA, "-o", from_json)[0] == 0
    assert run(capsys, "score", pmml_path, EXAMPLE_DATA, "-o", from_pmml)[0] == 0
    assert from_pmml.read_text() == from_json.read_text()
