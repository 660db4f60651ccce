"""Packaging: the import stays light, and a fresh environment with only portamodel + numpy scores the example.

The fresh-environment test builds the real wheel, creates an empty virtual environment (not
``--system-site-packages``), installs the wheel with pip (``--no-deps``) and makes numpy (the one
hard dependency) visible through a ``.pth`` file pointing at a folder holding nothing but numpy:
offline and a few seconds. ``test_pip_install_from_index`` does the full ``pip install .`` with
dependencies from the package index; it needs the network and is marked ``slow`` (``-m slow``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_MODEL = ROOT / "examples" / "iris_forest.json"
EXAMPLE_DATA = ROOT / "examples" / "iris.csv"
HEAVY = ("lxml", "onnx", "onnxruntime", "sklearn", "scipy", "pandas", "jpype", "jpmml_evaluator", "google.protobuf")

# Runs inside the environment under test: import, load the example, score it, report sys.modules.
PROBE = """
import json, sys
import portamodel
from portamodel.cli import main
light = sorted(m for m in {heavy!r} if m in sys.modules)
model = portamodel.load({model!r})
X = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
labels = model.predict(X).tolist()
proba = model.predict_proba(X).tolist()
code = main(["score", {model!r}, {data!r}, "-o", "scores.csv"])
print(json.dumps({{
    "file": portamodel.__file__, "version": portamodel.__version__, "heavy_after_import": light,
    "heavy_after_scoring": sorted(m for m in {heavy!r} if m in sys.modules),
    "labels": labels, "proba": proba, "code": code,
}}))
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(argv: list[str | Path], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{argv} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _expected() -> tuple[list[str], list[list[float]]]:
    """Labels and probabilities from the development install."""
    import portamodel

    model = portamodel.load(EXAMPLE_MODEL)
    X = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    return model.predict(X).tolist(), model.predict_proba(X).tolist()


def _check_probe(proc: subprocess.CompletedProcess[str], env_dir: Path, scores: Path, dev_scores: str) -> None:
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(report["file"]).resolve().is_relative_to(env_dir.resolve()), report["file"]  # not the source tree
    assert report["heavy_after_import"] == [] and report["heavy_after_scoring"] == []
    labels, proba = _expected()
    assert report["labels"] == labels == ["setosa", "virginica"]
    assert report["proba"] == proba
    assert report["code"] == 0
    assert scores.read_text() == dev_scores


def _dev_scores(tmp_path: Path) -> str:
    from portamodel.cli import main

    out = tmp_path / "dev_scores.csv"
    assert main(["score", str(EXAMPLE_MODEL), str(EXAMPLE_DATA), "-o", str(out)]) == 0
    return out.read_text()


def _source_copy(tmp_path: Path) -> Path:
    """What an sdist holds: pyproject, README and src/ (building never touches the working tree)."""
    src = tmp_path / "source"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    return src


def _venv_python(env_dir: Path) -> Path:
    return env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )
    return Path(out.stdout.strip())


def test_import_portamodel_is_light() -> None:
    code = (
        "import sys, portamodel, portamodel.cli, portamodel.formats, portamodel.evaluate\n"
        "m = portamodel.load(sys.argv[1]); m.predict([[5.1, 3.5, 1.4, 0.2]])\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(EXAMPLE_MODEL)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_fresh_venv_with_only_the_wheel_and_numpy(tmp_path: Path) -> None:
    import numpy

    dev_scores = _dev_scores(tmp_path)
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels, _source_copy(tmp_path)],
        tmp_path,
    )
    (wheel,) = wheels.glob("portamodel-*.whl")

    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False, system_site_packages=False, symlinks=os.name != "nt").create(env_dir)
    python = _venv_python(env_dir)
    site = _site_packages(python)
    assert site.resolve().is_relative_to(env_dir.resolve())

    # numpy, and nothing else from this interpreter, made visible through a .pth file
    numpy_dir = Path(numpy.__file__).parent
    only_numpy = tmp_path / "only-numpy"
    only_numpy.mkdir()
    for item in numpy_dir.parent.iterdir():
        if item.name == "numpy" or item.name.startswith(("numpy-", "numpy.libs")):
            (only_numpy / item.name).symlink_to(item, target_is_directory=item.is_dir())
    (site / "only_numpy.pth").write_text(f"{only_numpy}\n")

    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel], tmp_path)
    _run([sys.executable, "-m", "pip", "--python", python, "check"], tmp_path)  # numpy satisfies the declared dependencies

    # the environment really is bare: scikit-learn is not there
    proc = subprocess.run([str(python), "-c", "import sklearn"], capture_output=True, text=True, env=_env(), cwd=tmp_path)
    assert proc.returncode != 0 and "No module named 'sklearn'" in proc.stderr

    work = tmp_path / "work"
    work.mkdir()
    probe = PROBE.format(heavy=HEAVY, model=str(EXAMPLE_MODEL), data=str(EXAMPLE_DATA))
    _check_probe(_run([python, "-c", probe], work), env_dir, work / "scores.csv", dev_scores)

    # the quickstart runs with nothing but numpy
    proc = _run([python, ROOT / "examples" / "quickstart.py"], work)
    assert "labels: ['setosa', 'virginica']" in proc.stdout
    assert "ONNX skipped: reading or writing ONNX needs the onnx package: pip install portamodel[onnx]" in proc.stdout
    assert "PMML skipped:" in proc.stdout and "portamodel[pmml]" in proc.stdout

    # the console script pip generated works too
    script = env_dir / ("Scripts/portamodel.exe" if os.name == "nt" else "bin/portamodel")
    _run([script, "score", EXAMPLE_MODEL, EXAMPLE_DATA, "-o", work / "cli.csv"], work)
    assert (work / "cli.csv").read_text() == dev_scores
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, env=_env())
    assert proc.returncode == 0 and proc.stdout.startswith("portamodel ")


@pytest.mark.slow
def test_pip_install_from_index(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The README's install command, for real: ``pip install .`` in a new venv, dependencies from the index."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("needs the network and a minute; run with -m slow")
    dev_scores = _dev_scores(tmp_path)
    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = _venv_python(env_dir)
    _run([python, "-m", "pip", "install", _source_copy(tmp_path)], tmp_path, timeout=900)
    work = tmp_path / "work"
    work.mkdir()
    probe = PROBE.format(heavy=HEAVY, model=str(EXAMPLE_MODEL), data=str(EXAMPLE_DATA))
    _check_probe(_run([python, "-c", probe], work), env_dir, work / "scores.csv", dev_scores)
    installed = _run([python, "-m", "pip", "list", "--format=json"], tmp_path).stdout
    names = {p["name"].lower() for p in json.loads(installed)}
    assert names <= {"portamodel", "numpy", "pip", "setuptools", "wheel"}, names


# -- the bundled examples ----------------------------------------------------------------------------


def test_examples_are_what_make_examples_makes(tmp_path: Path) -> None:
    """Regenerating the examples gives the committed files (up to the creation time)."""
    pytest.importorskip("sklearn")
    pytest.importorskip("pandas")
    import portamodel

    _run([sys.executable, ROOT / "examples" / "make_examples.py", "--out", tmp_path], tmp_path)
    assert (tmp_path / "iris.csv").read_bytes() == EXAMPLE_DATA.read_bytes()
    fresh, committed = portamodel.load(tmp_path / "iris_forest.json"), portamodel.load(EXAMPLE_MODEL)
    assert fresh.replace(metadata=committed.metadata) == committed


def test_quickstart_runs(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("lxml")
    proc = _run([sys.executable, ROOT / "examples" / "quickstart.py"], tmp_path)
    assert "labels: ['setosa', 'virginica']" in proc.stdout
    assert "InputError: input column 'sepal_width' is missing" in proc.stdout
    assert "onnxruntime: ['setosa', 'virginica'] same probabilities: True" in proc.stdout
    assert "same probabilities after reading it back: True" in proc.stdout


# -- README and CI agree -------------------------------------------------------------------------------

README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"


def _sh_blocks(text: str) -> list[str]:
    blocks: list[str] = []
    current: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.strip() == "```sh":
            inside, current = True, []
        elif inside and line.strip() == "```":
            inside = False
            blocks.append("\n".join(current))
        elif inside:
            current.append(line)
    return blocks


def test_readme_has_the_two_commands_and_ci_runs_the_test_one() -> None:
    blocks = _sh_blocks(README.read_text())
    assert blocks[0] == "pip install . && portamodel score examples/iris_forest.json examples/iris.csv -o predictions.csv"
    assert EXAMPLE_MODEL.is_file() and EXAMPLE_DATA.is_file()
    test_command = blocks[1]
    assert test_command == 'pip install -e ".[test]" && python -m pytest'
    ci = CI.read_text()
    assert f"TEST_COMMAND='{test_command}'\n" in ci
    assert 'bash -c "$TEST_COMMAND"' in ci
    assert ci.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in ci
    assert os.access(CI, os.X_OK)
    subprocess.run(["bash", "-n", str(CI)], check=True)


def test_readme_exit_code_table_matches_the_cli() -> None:
    from portamodel.cli._errors import EXIT_CODES

    rows = {}
    for line in README.read_text().splitlines():
        cells = [c.strip() for c in line.replace("\\|", "").strip("|").split("|")]
        if len(cells) == 2 and cells[0].isdigit():
            rows[int(cells[0])] = cells[1]
    for cls, code, _ in EXIT_CODES:
        if cls is OSError:
            assert "cannot be read or written" in rows[code]
        elif cls.__name__ != "PortamodelError":
            assert f"`{cls.__name__}`" in rows[code], (code, cls)
    assert {0, 1, 2, 130, 141} <= set(rows)


def test_readme_links_exist() -> None:
    import re

    for target in re.findall(r"\]\(([^)#]+)\)", README.read_text()):
        if "://" not in target:
            assert (ROOT / target).exists(), target
