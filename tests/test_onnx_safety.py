"""Untrusted ONNX input: external data, truncated or garbage bytes, missing dependency."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnx")

import onnx
from onnx import TensorProto as TP
from onnx import helper as oh
from onnx import numpy_helper as nh

from portamodel.errors import FormatError, MissingDependencyError, PortamodelError, UnsupportedFeatureError
from portamodel.formats import onnx as onnx_format
from portamodel.ir import Field, LinearModel, Model, Target

DATA = pathlib.Path(__file__).parent / "data" / "onnx"


def _external_model(folder: pathlib.Path, location: str = "weights.bin", data: bytes | None = None) -> bytes:
    """A MatMul + Add regression whose weight matrix lives in ``folder/location``."""
    w = np.array([[2.0], [-1.0]])
    tensor = nh.from_array(w, "w")
    raw = tensor.raw_data if data is None else data
    tensor.ClearField("raw_data")
    tensor.data_location = TP.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", str(len(raw)))):
        entry = tensor.external_data.add()
        entry.key, entry.value = k, v
    target = folder / location
    if not target.parent.exists():
        target.parent.mkdir(parents=True)
    if not target.exists():
        target.write_bytes(raw)
    nodes = [oh.make_node("MatMul", ["X", "w"], ["m"]), oh.make_node("Add", ["m", "b"], ["variable"])]
    graph = oh.make_graph(
        nodes,
        "g",
        [oh.make_tensor_value_info("X", TP.DOUBLE, [None, 2])],
        [oh.make_tensor_value_info("variable", TP.DOUBLE, [None, 1])],
        [tensor, nh.from_array(np.array([0.5]), "b")],
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def test_external_data_is_refused_without_a_folder(tmp_path: pathlib.Path) -> None:
    data = _external_model(tmp_path)
    with pytest.raises(FormatError, match="external_data_dir"):
        onnx_format.read(data)
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    with pytest.raises(FormatError, match="external_data_dir"):
        onnx_format.read(path)


def test_external_data_inside_the_folder_is_read(tmp_path: pathlib.Path) -> None:
    data = _external_model(tmp_path, "sub/weights.bin")
    model = onnx_format.read(data, external_data_dir=tmp_path)
    assert model.predict([[1.0, 1.0]]).tolist() == [1.5]


@pytest.mark.parametrize(
    "location", ["../outside.bin", "sub/../../outside.bin", "/etc/passwd", "C:\\\\Windows\\\\win.ini", "..\\\\outside.bin"]
)
def test_external_data_outside_the_folder_is_refused(tmp_path: pathlib.Path, location: str) -> None:
    inner = tmp_path / "model"
    inner.mkdir()
    (tmp_path / "outside.bin").write_bytes(nh.from_array(np.array([[2.0], [-1.0]])).raw_data)
    tensor_bytes = nh.from_array(np.array([[2.0], [-1.0]])).raw_data
    data = _external_model_at(inner, location, tensor_bytes)
    with pytest.raises(FormatError, match=r"refused|absolute|does not exist"):
        onnx_format.read(data, external_data_dir=inner)


def _external_model_at(folder: pathlib.Path, location: str, raw: bytes) -> bytes:
    w = nh.from_array(np.array([[2.0], [-1.0]]), "w")
    w.ClearField("raw_data")
    w.data_location = TP.EXTERNAL
    for k, v in (("location", location), ("length", str(len(raw)))):
        entry = w.external_data.add()
        entry.key, entry.value = k, v
    graph = oh.make_graph(
        [oh.make_node("MatMul", ["X", "w"], ["variable"])],
        "g",
        [oh.make_tensor_value_info("X", TP.DOUBLE, [None, 2])],
        [oh.make_tensor_value_info("variable", TP.DOUBLE, [None, 1])],
        [w],
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links on this platform")
def test_external_data_through_a_symlink_is_refused(tmp_path: pathlib.Path) -> None:
    inner = tmp_path / "model"
    inner.mkdir()
    raw = nh.from_array(np.array([[2.0], [-1.0]])).raw_data
    (tmp_path / "secret.bin").write_bytes(raw)
    try:
        (inner / "weights.bin").symlink_to(tmp_path / "secret.bin")
        (inner / "linkdir").symlink_to(tmp_path, target_is_directory=True)
    except OSError:
        pytest.skip("cannot create symbolic links here")
    for location in ("weights.bin", "linkdir/secret.bin"):
        with pytest.raises(FormatError, match="symbolic link"):
            onnx_format.read(_external_model_at(inner, location, raw), external_data_dir=inner)


def test_external_data_range_and_size_are_checked(tmp_path: pathlib.Path) -> None:
    raw = nh.from_array(np.array([[2.0], [-1.0]])).raw_data
    (tmp_path / "short.bin").write_bytes(raw[:8])
    with pytest.raises(FormatError, match="does not fit"):
        onnx_format.read(_external_model_at(tmp_path, "short.bin", raw), external_data_dir=tmp_path)
    (tmp_path / "long.bin").write_bytes(raw + raw)
    with pytest.raises(FormatError, match="needs 16"):
        onnx_format.read(_external_model_at(tmp_path, "long.bin", raw + raw), external_data_dir=tmp_path)
    (tmp_path / "adir.bin").mkdir()
    with pytest.raises(FormatError, match="regular file"):
        onnx_format.read(_external_model_at(tmp_path, "adir.bin", raw), external_data_dir=tmp_path)
    with pytest.raises(FormatError, match=r"cannot be opened|not a folder"):
        onnx_format.read(_external_model_at(tmp_path, "x.bin", raw), external_data_dir=tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["skl_random_forest_classifier", "lgbm_classifier_categorical", "torch_mlp_classifier"])
def test_truncated_files_raise_format_errors(name: str) -> None:
    data = (DATA / f"{name}.onnx").read_bytes()
    whole = onnx_format.read(data)
    cuts = sorted({*range(0, 64), *np.linspace(64, len(data) - 1, 120).astype(int).tolist(), len(data) - 1})
    for n in cuts:
        try:
            model = onnx_format.read(data[:n])
        except FormatError:
            continue
        except UnsupportedFeatureError:  # a prefix that parses but lost the nodes producing the outputs
            continue
        # a cut that happens to fall between complete fields: the model must still be the same
        assert model == whole, f"a {n}-byte prefix read into a different model"


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 10, b"not an onnx file at all", b"<PMML></PMML>", b'{"format": "portamodel"}', bytes(range(256)) * 4],
)
def test_garbage_is_a_format_error(data: bytes) -> None:
    with pytest.raises(FormatError):
        onnx_format.read(data)


def test_checker_failures_are_format_errors() -> None:
    graph = oh.make_graph(
        [oh.make_node("Relu", ["missing_input"], ["variable"])],
        "g",
        [oh.make_tensor_value_info("X", TP.FLOAT, [None, 1])],
        [oh.make_tensor_value_info("variable", TP.FLOAT, [None, 1])],
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
    with pytest.raises(FormatError, match="checker"):
        onnx_format.read(model.SerializeToString())


def test_subgraphs_are_not_placed() -> None:
    branch = oh.make_graph([oh.make_node("Identity", ["X"], ["o"])], "b", [], [oh.make_tensor_value_info("o", TP.FLOAT, [None, 1])])
    node = oh.make_node("If", ["cond"], ["variable"], then_branch=branch, else_branch=branch)
    graph = oh.make_graph(
        [node],
        "g",
        [oh.make_tensor_value_info("X", TP.FLOAT, [None, 1]), oh.make_tensor_value_info("cond", TP.BOOL, [])],
        [oh.make_tensor_value_info("variable", TP.FLOAT, [None, 1])],
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
    with pytest.raises(UnsupportedFeatureError):
        onnx_format.read(model.SerializeToString())


def test_missing_file_is_a_format_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        onnx_format.read(tmp_path / "nope.onnx")


def test_missing_onnx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependencyError, match=r"portamodel\[onnx\]"):
        onnx_format.read(b"\x08\x07")
    model = Model(
        inputs=(Field(name="x"),),
        target=Target(name="y", task="regression"),
        estimator=LinearModel(features=("x",), coefficients=[[1.0]], intercepts=[0.0]),
    )
    with pytest.raises(MissingDependencyError, match=r"portamodel\[onnx\]"):
        onnx_format.write(model)


def test_old_onnx_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx, "__version__", "1.20.1")
    with pytest.raises(MissingDependencyError, match="too old"):
        onnx_format.read(b"\x08\x07")


def test_importing_the_format_does_not_import_onnx() -> None:
    code = "import sys, portamodel, portamodel.formats.onnx as f; assert f.sniff(b'\\x08\\x07:') ; print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sniff() -> None:
    assert onnx_format.sniff((DATA / "skl_ridge.onnx").read_bytes()[:512])
    assert not onnx_format.sniff(b"<?xml")
    assert not onnx_format.sniff(b"")
    with pytest.raises(PortamodelError):
        onnx_format.read(b"\x08\x07", external_data_dir=None, bogus=1)
