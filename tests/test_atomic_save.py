"""Writers never leave a partial or corrupted file (``portamodel.save``, CLI ``convert``/``score``).

Failures are injected at every step of an atomic write -- in the middle of writing the bytes
(after part of them reached the disk), at fsync, at the rename, by an interrupt, and inside the
format writer itself -- and each time the previous file must be byte-for-byte intact and no
temporary file may be left behind.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import portamodel
from portamodel import _io
from portamodel.cli import main
from portamodel.errors import ConversionLossError, PortamodelError
from portamodel.ir import Field, LinearModel, Model, Target


def linear(slope: float) -> Model:
    return Model(
        inputs=(Field(name="x"),),
        target=Target(name="y", task="regression"),
        estimator=LinearModel(features=("x",), coefficients=[[slope]], intercepts=[0.5]),
    )


OLD, NEW = linear(1.0), linear(-3.0)


class DiskFull(OSError):
    def __init__(self) -> None:
        super().__init__(errno.ENOSPC, "No space left on device (injected)")


class _HalfWriter:
    """Wraps a file: the first write puts half of its bytes on disk, then fails."""

    def __init__(self, fh: Any, exc: BaseException) -> None:
        self._fh, self._exc = fh, exc

    def write(self, data: Any) -> int:
        half = len(data) // 2
        self._fh.write(data[:half])
        self._fh.flush()
        os.fsync(self._fh.fileno())
        raise self._exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> _HalfWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


def fail_mid_write(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> list[str]:
    """Make the next files opened with ``os.fdopen`` fail halfway through their first write.

    Returns a list that collects the paths of the files that were half-written (to prove the
    injection really put partial data on disk before failing)."""
    real_fdopen = os.fdopen
    written: list[str] = []

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        fh = real_fdopen(fd, *args, **kwargs)
        written.append(os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else "?")
        return _HalfWriter(fh, exc)

    monkeypatch.setattr(os, "fdopen", fdopen)
    return written


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, bytes]:
    """A model file that a failed save must leave alone."""
    path = tmp_path / "model.json"
    portamodel.save(OLD, path)
    return path, path.read_bytes()


# -- portamodel.save ---------------------------------------------------------------------------


def test_save_writes_the_model_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    portamodel.save(NEW, path)
    assert portamodel.load(path) == NEW
    assert listing(tmp_path) == ["model.json"]


@pytest.mark.parametrize("exc", [DiskFull(), KeyboardInterrupt()], ids=["disk-full", "interrupt"])
def test_failure_mid_write_leaves_the_old_file_intact(
    saved: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    path, before = saved
    written = fail_mid_write(monkeypatch, exc)
    with pytest.raises(type(exc)):
        portamodel.save(NEW, path)
    monkeypatch.undo()
    assert written and written[0] != str(path), "the half-written file must be a temporary file, not the model"
    assert path.read_bytes() == before
    assert portamodel.load(path) == OLD
    assert listing(path.parent) == ["model.json"]


def test_failure_mid_write_of_a_new_file_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_mid_write(monkeypatch, DiskFull())
    with pytest.raises(OSError, match="injected"):
        portamodel.save(NEW, tmp_path / "fresh.onnx")
    assert listing(tmp_path) == []


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_failure_at_fsync_or_rename_leaves_the_old_file_intact(
    saved: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    path, before = saved

    def boom(*args: Any, **kwargs: Any) -> None:
        raise DiskFull()

    monkeypatch.setattr(os, step, boom)
    with pytest.raises(OSError, match="injected"):
        portamodel.save(NEW, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert listing(path.parent) == ["model.json"]


def test_a_refusing_format_writer_touches_nothing(saved: tuple[Path, bytes]) -> None:
    """The ONNX writer refuses (on_loss="raise": ai.onnx.ml 3 trees round scores to float32)
    before any file is created, so the old file stays."""
    from portamodel.ir import TreeEnsemble

    stump = Model(
        inputs=(Field(name="x"),),
        target=Target(name="y", task="regression"),
        estimator=TreeEnsemble(
            features=("x",), roots=[0], feature=[0, -1, -1], threshold=[0.5, 0, 0], op=[0, 0, 0],
            true_child=[1, -1, -1], false_child=[2, -1, -1], missing=[0, 0, 0], values=[[0.0], [0.1], [0.2]],
        ),
    )  # fmt: skip
    path, before = saved
    onnx_path = path.with_suffix(".onnx")
    onnx_path.write_bytes(b"previous onnx")
    with pytest.raises(ConversionLossError):
        portamodel.save(stump, onnx_path, on_loss="raise")
    assert onnx_path.read_bytes() == b"previous onnx"
    assert path.read_bytes() == before
    assert listing(path.parent) == ["model.json", "model.onnx"]


def test_writer_exception_is_injected_before_any_file(saved: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    import portamodel.formats.json as json_format

    def broken(model: Model, **options: Any) -> bytes:
        raise PortamodelError("writer failed (injected)")

    monkeypatch.setattr(json_format, "write", broken)
    path, before = saved
    with pytest.raises(PortamodelError, match="injected"):
        portamodel.save(NEW, path)
    assert path.read_bytes() == before
    assert listing(path.parent) == ["model.json"]


def test_gzip_output_is_atomic_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.json.gz"
    portamodel.save(OLD, path)
    before = path.read_bytes()
    fail_mid_write(monkeypatch, DiskFull())
    with pytest.raises(OSError):
        portamodel.save(NEW, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and portamodel.load(path) == OLD
    assert listing(tmp_path) == ["model.json.gz"]


def test_missing_folder_is_a_portamodel_error(tmp_path: Path) -> None:
    with pytest.raises(PortamodelError, match="folder does not exist"):
        portamodel.save(NEW, tmp_path / "no" / "such" / "model.json")
    assert listing(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_new_file_mode_follows_the_umask_and_an_old_file_keeps_its_mode(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.json"
        portamodel.save(NEW, fresh)
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # like open(): 0o666 minus the umask
        kept = tmp_path / "kept.json"
        kept.write_bytes(b"{}")
        kept.chmod(0o640)
        portamodel.save(NEW, kept)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    finally:
        os.umask(old_umask)


def test_readers_never_see_a_partial_file(tmp_path: Path) -> None:
    """Two threads keep saving different models to one path while a third keeps loading it:
    every load sees one complete model or the other."""
    path = tmp_path / "model.json"
    portamodel.save(OLD, path)
    big_old, big_new = _wide(1.0), _wide(2.0)  # big enough that a write takes more than one syscall
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(model: Model) -> None:
        try:
            while not stop.is_set():
                portamodel.save(model, path)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(m,)) for m in (big_old, big_new)]
    for t in threads:
        t.start()
    seen = set()
    try:
        for _ in range(40):
            est = portamodel.load(path).estimator
            seen.add(float(est.layers[0].weights[0, 0]) if hasattr(est, "layers") else float(est.coefficients[0, 0]))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert seen <= {1.0, 2.0, OLD.estimator.coefficients[0, 0]}
    assert listing(tmp_path) == ["model.json"]


def _wide(value: float) -> Model:
    """An MLP with 50,000 hidden units (a JSON file of about 1 MB)."""
    from portamodel.ir import MLP, DenseLayer

    n = 50_000
    hidden = DenseLayer(weights=[[value] * n], biases=[0.0] * n, activation="relu")
    out = DenseLayer(weights=[[1.0]] * n, biases=[0.0])
    return Model(
        inputs=(Field(name="x"),),
        target=Target(name="y", task="regression"),
        estimator=MLP(features=("x",), layers=(hidden, out)),
    )


def test_the_injection_really_leaves_partial_data_before_cleanup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The half-written temporary file really existed with partial content before cleanup."""
    contents: list[bytes] = []
    real_unlink = os.unlink

    def unlink(p: Any, *args: Any, **kwargs: Any) -> None:
        contents.append(Path(p).read_bytes())
        real_unlink(p, *args, **kwargs)

    fail_mid_write(monkeypatch, DiskFull())
    monkeypatch.setattr(os, "unlink", unlink)
    with pytest.raises(OSError):
        _io.write_atomic(tmp_path / "x.bin", b"0123456789")
    monkeypatch.undo()
    assert contents == [b"01234"]
    assert listing(tmp_path) == []


# -- the command line ----------------------------------------------------------------------------


def test_cli_convert_failure_mid_write_keeps_the_old_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.json"
    portamodel.save(NEW, src)
    out = tmp_path / "out.json"
    portamodel.save(OLD, out)
    before = out.read_bytes()
    fail_mid_write(monkeypatch, DiskFull())
    code = main(["convert", str(src), str(out)])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 3, err  # OSError: a file cannot be written
    assert "No space left" in err and "Traceback" not in err
    assert out.read_bytes() == before
    assert listing(tmp_path) == ["in.json", "out.json"]


def test_cli_score_failure_mid_write_keeps_the_old_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "m.json"
    portamodel.save(NEW, model)
    data = tmp_path / "data.csv"
    data.write_text("x\n" + "1.5\n" * 5000)
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    fail_mid_write(monkeypatch, DiskFull())
    code = main(["score", str(model), str(data), "-o", str(out), "--chunk-size", "100"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 3, err
    assert out.read_text() == "previous results\n"
    assert listing(tmp_path) == ["data.csv", "m.json", "out.csv"]


def test_cli_score_interrupted_midway_keeps_the_old_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An interrupt after several chunks were written to the temporary output."""
    import portamodel.cli.score as score

    model = tmp_path / "m.json"
    portamodel.save(NEW, model)
    data = tmp_path / "data.csv"
    data.write_text("x\n" + "1.5\n" * 1000)
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    real = score.score_chunk
    calls = {"n": 0}

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(score, "score_chunk", interrupted)
    code = main(["score", str(model), str(data), "-o", str(out), "--chunk-size", "100"])
    assert code == 130
    assert calls["n"] == 5
    assert out.read_text() == "previous results\n"
    assert listing(tmp_path) == ["data.csv", "m.json", "out.csv"]
