"""The benchmark sections and the ratio table (see ``python -m benchmarks --help``)."""

from __future__ import annotations

import argparse
import contextlib
import gc
import gzip
import os
import platform
import shutil
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._timing import fresh_process_loads, fresh_process_scoring, median_time, peak_memory, side_by_side

WORK = Path(__file__).resolve().parent / "_work"
SECTIONS = ("rf", "gb", "linear", "mlp", "pmml", "json")


@dataclass
class Row:
    """One figure: ``ratio`` is how many times better ours is (peer / ours); ``need`` the target."""

    figure: str
    ours: str
    peer: str
    ratio: float | None
    need: float | None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.ratio is None or self.need is None:
            return "skip" if self.ratio is None else "info"
        return "PASS" if self.ratio >= self.need else "MISS"


@dataclass
class Config:
    quick: bool
    repeat: int
    rf_trees: int
    rf_depth: int
    gb_trees: int
    rows: tuple[int, ...]
    big_trees: int
    big_rows: int


def _fmt_s(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _skip(figure: str, why: str) -> Row:
    return Row(figure, "", "", None, None, f"skipped: {why}")


# -- peers ------------------------------------------------------------------------------------------


def _onnx_bytes(est: Any, n_features: int, dtype: Any = np.float32) -> bytes | str:
    """skl2onnx's export of ``est`` (``dtype`` input: its default float32 graph, or float64), or why
    there is none."""
    try:
        import onnxruntime  # noqa: F401  (the peer)
        from skl2onnx import to_onnx
    except ImportError as exc:
        return f"{exc.name} not installed"
    options = {id(est): {"zipmap": False}} if hasattr(est, "classes_") else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onx = to_onnx(est, np.zeros((1, n_features), dtype=dtype), options=options, target_opset={"": 17, "ai.onnx.ml": 3})
    return onx.SerializeToString()  # type: ignore[no-any-return]


def _ort_session(data: bytes, threads: int) -> Callable[[np.ndarray], Any]:
    """An onnxruntime runner with ``threads`` intra-op threads (0: onnxruntime's default).

    Sessions are made when needed and dropped right after their figures: an idle default-threads
    session's pool keeps spinning and would slow everything else measured in this process.
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda X: sess.run(None, {name: X})


def _fresh_rows(
    label: str,
    model: Any,
    onnx_data: bytes,
    batches: list[tuple[int, np.ndarray]],
    cfg: Config,
    *,
    method: str,
    peer_dtype: Any,
    what: str,
    need: float | None,
) -> list[Row]:
    """Batches with default threads on both sides, each sample in a fresh process (see
    :func:`fresh_process_scoring`): ``model`` (saved as portamodel JSON) against onnxruntime on ``onnx_data``."""
    from portamodel.formats import json as pjson

    WORK.mkdir(parents=True, exist_ok=True)
    tag = "".join(c if c.isalnum() else "_" for c in f"{label}_{what}")
    model_path, onnx_path = WORK / f"{tag}.json", WORK / f"{tag}.onnx"
    model_path.write_bytes(pjson.write(model))
    onnx_path.write_bytes(onnx_data)
    rows = []
    for n, Xn in batches:
        ours_data, peer_data = WORK / f"{tag}_{n}.npy", WORK / f"{tag}_{n}_peer.npy"
        np.save(ours_data, Xn)
        np.save(peer_data, Xn.astype(peer_dtype))
        a, b = fresh_process_scoring(
            ["portamodel", str(model_path), str(ours_data), method, "0"],
            ["onnxruntime", str(onnx_path), str(peer_data), "", "0"],
            cfg.repeat,
        )
        rows.append(Row(f"{label}: {n:,} rows, default threads vs onnxruntime default{what}", _fmt_s(a), _fmt_s(b), b / a, need))
    return rows


def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """BLAS on one thread (both sides) for single-row and single-thread figures.

    Idle OpenBLAS workers of the library called last keep spinning for a while; on a 2-core machine
    that steals the other side's core when samples alternate. threadpoolctl, if installed, stops it.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _scoring_rows(label: str, model: Any, est: Any, X: np.ndarray, cfg: Config, *, proba: bool, targets: dict[str, float]) -> list[Row]:
    """1-row vs scikit-learn / onnxruntime, batches vs onnxruntime with 1 and default threads."""
    rows: list[Row] = []
    ours_fn = model.predict_proba if proba else model.predict
    sk_fn = est.predict_proba if proba else est.predict
    onnx32 = _onnx_bytes(est, X.shape[1])
    one = X[:1].copy()
    one32 = one.astype(np.float32)
    if "sk1" in targets:
        with _one_blas_thread():
            a, b = side_by_side(lambda: ours_fn(one, threads=1), lambda: sk_fn(one), cfg.repeat)
        rows.append(Row(f"{label}: 1 row vs scikit-learn", _fmt_s(a), _fmt_s(b), b / a, targets["sk1"]))
    if isinstance(onnx32, str):
        rows.append(_skip(f"{label}: vs onnxruntime", onnx32))
        return rows
    batches = [(n, np.ascontiguousarray(np.resize(X, (n, X.shape[1])))) for n in cfg.rows]
    if "ort1_1" in targets or "ort1" in targets:
        ort1 = _ort_session(onnx32, 1)
        if "ort1_1" in targets:
            with _one_blas_thread():
                a, b = side_by_side(lambda: ours_fn(one, threads=1), lambda: ort1(one32), cfg.repeat)
            rows.append(Row(f"{label}: 1 row vs onnxruntime (1 thread)", _fmt_s(a), _fmt_s(b), b / a, targets["ort1_1"]))
        for n, Xn in batches if "ort1" in targets else []:
            Xn32 = Xn.astype(np.float32)
            with _one_blas_thread():
                a, b = side_by_side(lambda Xn=Xn: ours_fn(Xn, threads=1), lambda Xn32=Xn32: ort1(Xn32), cfg.repeat)
            rows.append(Row(f"{label}: {n:,} rows, 1 thread vs onnxruntime 1 thread", _fmt_s(a), _fmt_s(b), b / a, targets["ort1"]))
        del ort1
    method = "predict_proba" if proba else "predict"
    if "ortd" in targets:
        rows += _fresh_rows(label, model, onnx32, batches, cfg, method=method, peer_dtype=np.float32, what="", need=targets["ortd"])
    if "ortd64" in targets:  # the same arithmetic on both sides: skl2onnx's float64 graph
        onnx64 = _onnx_bytes(est, X.shape[1], np.float64)
        if isinstance(onnx64, str):
            rows.append(_skip(f"{label}: vs onnxruntime float64", onnx64))
        else:
            rows += _fresh_rows(
                label, model, onnx64, batches, cfg, method=method, peer_dtype=np.float64, what=", float64 graph", need=targets["ortd64"]
            )
    gc.collect()
    return rows


def _check_same(model: Any, est: Any, X: np.ndarray, proba: bool) -> None:
    ours = model.predict_proba(X) if proba else model.predict(X)
    theirs = est.predict_proba(X) if proba else est.predict(X)
    if not np.allclose(ours, theirs, rtol=1e-12, atol=1e-12):
        raise AssertionError("portamodel and scikit-learn disagree; the benchmark would be meaningless")


# -- sections ---------------------------------------------------------------------------------------


def bench_rf(cfg: Config) -> list[Row]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    import portamodel

    X, y = make_classification(n_samples=20_000, n_features=20, n_informative=10, random_state=0)
    rf = RandomForestClassifier(n_estimators=cfg.rf_trees, max_depth=cfg.rf_depth, random_state=0, n_jobs=-1).fit(X, y)
    rf.set_params(n_jobs=None)  # scikit-learn's default for predicting
    model = portamodel.from_sklearn(rf)
    _check_same(model, rf, X[:2000], proba=True)
    label = f"RF {cfg.rf_trees} trees depth {cfg.rf_depth}"
    return _scoring_rows(label, model, rf, X, cfg, proba=True, targets={"sk1": 50.0, "ort1_1": 1.0, "ort1": 1.0, "ortd": 1.0})


def bench_gb(cfg: Config) -> list[Row]:
    from sklearn.datasets import make_regression
    from sklearn.ensemble import GradientBoostingRegressor

    import portamodel

    X, y = make_regression(n_samples=5_000, n_features=20, noise=1.0, random_state=0)
    gb = GradientBoostingRegressor(n_estimators=cfg.gb_trees, max_depth=4, random_state=0).fit(X, y)
    model = portamodel.from_sklearn(gb)
    _check_same(model, gb, X[:2000], proba=False)
    cfg10 = Config(**{**cfg.__dict__, "rows": cfg.rows[:1]})
    label = f"GB {cfg.gb_trees} trees depth 4"
    return _scoring_rows(label, model, gb, X, cfg10, proba=False, targets={"ort1": 1.0})


def bench_linear(cfg: Config) -> list[Row]:
    from sklearn.datasets import make_classification, make_regression
    from sklearn.linear_model import LinearRegression, LogisticRegression

    import portamodel

    X, y = make_regression(n_samples=2_000, n_features=20, noise=1.0, random_state=0)
    lin = LinearRegression().fit(X, y)
    model = portamodel.from_sklearn(lin)
    _check_same(model, lin, X, proba=False)
    cfg10 = Config(**{**cfg.__dict__, "rows": cfg.rows[:1]})
    rows = _scoring_rows("LinearRegression", model, lin, X, cfg10, proba=False, targets={"sk1": 30.0, "ortd": 0})
    Xc, yc = make_classification(n_samples=2_000, n_features=20, random_state=0)
    log = LogisticRegression(max_iter=1000).fit(Xc, yc)
    model = portamodel.from_sklearn(log)
    _check_same(model, log, Xc, proba=True)
    rows += _scoring_rows(
        "LogisticRegression", model, log, Xc, Config(**{**cfg.__dict__, "rows": cfg.rows[:1]}), proba=True, targets={"sk1": 30.0, "ortd": 0}
    )
    for r in rows:  # batches of linear models have no target: information only
        if r.need == 0:
            r.need = None
    return rows


def bench_mlp(cfg: Config) -> list[Row]:
    from sklearn.datasets import make_regression
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    import portamodel

    X, y = make_regression(n_samples=2_000, n_features=20, noise=1.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPRegressor(hidden_layer_sizes=(64, 32), max_iter=50, random_state=0).fit(X, y)
    model = portamodel.from_sklearn(mlp)
    _check_same(model, mlp, X, proba=False)
    cfg10 = Config(**{**cfg.__dict__, "rows": cfg.rows[:1]})
    label = "MLP 20-64-32-1"
    # float64 (scikit-learn's arithmetic) against onnxruntime running skl2onnx's float64 graph: the
    # same arithmetic on both sides; against its default float32 graph for information only
    rows = _scoring_rows(label, model, mlp, X, cfg10, proba=False, targets={"sk1": 10.0, "ortd": 0, "ortd64": 1.0})
    for r in rows:
        if r.need == 0:
            r.need = None
            r.note = "float64 here, float32 there: information"
    return rows + _float32_graph_rows(label, mlp, X, cfg10)


def _float32_graph_rows(label: str, est: Any, X: np.ndarray, cfg: Config) -> list[Row]:
    """skl2onnx's default float32 graph scored by portamodel (read from the ONNX: an MLP that
    computes in float32, as the graph says) and by onnxruntime, in fresh processes."""
    data = _onnx_bytes(est, X.shape[1])
    if isinstance(data, str):
        return [_skip(f"{label} float32 graph", data)]
    from portamodel.formats import onnx as ponnx

    model = ponnx.read(data)
    dtype = getattr(model.estimator, "compute_dtype", "float64")
    batches = [(n, np.ascontiguousarray(np.resize(X, (n, X.shape[1])), dtype=np.float32)) for n in cfg.rows]
    peer = _ort_session(data, 0)
    for _, Xn in batches:
        theirs = peer(Xn)[0].reshape(-1)
        if not np.allclose(model.predict(Xn), theirs, rtol=1e-4, atol=1e-4 * float(np.abs(theirs).max())):
            raise AssertionError("portamodel and onnxruntime disagree on the float32 graph")
    del peer
    what = f", both on skl2onnx's float32 graph (ours computes in {dtype})"
    return _fresh_rows(label, model, data, batches, cfg, method="predict", peer_dtype=np.float32, what=what, need=1.0)


def _big_forest(cfg: Config) -> tuple[Path, Any]:
    """The big random forest as PMML (sklearn2pmml), generated once into benchmarks/_work/."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    tag = f"rf{cfg.big_trees}_{cfg.big_rows}"
    path = WORK / f"{tag}.pmml"
    X, y = make_classification(n_samples=cfg.big_rows, n_features=20, n_informative=10, random_state=0)
    rf = RandomForestClassifier(n_estimators=cfg.big_trees, random_state=0, n_jobs=-1).fit(X, y)
    if not path.exists():
        from sklearn2pmml import sklearn2pmml
        from sklearn2pmml.pipeline import PMMLPipeline

        WORK.mkdir(parents=True, exist_ok=True)
        pipeline = PMMLPipeline([("classifier", rf)])
        pipeline.active_fields = np.array([f"x{i}" for i in range(X.shape[1])])
        pipeline.target_fields = np.array(["y"])
        tmp = path.with_suffix(".tmp")
        sklearn2pmml(pipeline, str(tmp))
        tmp.replace(path)
    gz = path.with_suffix(".pmml.gz")
    if not gz.exists():
        with path.open("rb") as src, gzip.open(gz.with_suffix(".tmp"), "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        gz.with_suffix(".tmp").replace(gz)
    return path, rf


def bench_pmml(cfg: Config, state: dict[str, Any]) -> list[Row]:
    import portamodel

    try:
        path, rf = _big_forest(cfg)
    except Exception as exc:  # sklearn2pmml needs Java
        return [_skip("PMML big forest", f"could not generate it: {type(exc).__name__}: {str(exc)[:80]}")]
    try:
        import lxml  # noqa: F401  (the peer, and portamodel's PMML reader, run in fresh interpreters)
    except ImportError:
        return [_skip("PMML big forest", "lxml not installed")]

    size = path.stat().st_size
    reps = max(1, cfg.repeat // 2)
    # every load in a fresh interpreter, ours and lxml's alternating: a cold load, as a service
    # starting up does it, and neither side inherits the other's heap (lxml's tree is 2.3 GiB)
    ours_s, lxml_s, mem_ours, mem_lxml = fresh_process_loads(path, reps)
    model = portamodel.load(path)
    state["pmml_model"], state["pmml_path"], state["rf"] = model, path, rf
    n_nodes = model.estimator.n_nodes  # type: ignore[union-attr]
    head = f"PMML {cfg.big_trees}-tree forest ({size / 2**20:.0f} MiB, {n_nodes:,} nodes)"
    rows = [Row(f"{head}: load vs lxml parse", _fmt_s(ours_s), _fmt_s(lxml_s), lxml_s / ours_s, 1.0)]
    gz = path.with_suffix(".pmml.gz")
    ours_gz, lxml_gz, _, _ = fresh_process_loads(gz, reps)
    rows.append(Row(f"{head}: .pmml.gz load vs lxml parse", _fmt_s(ours_gz), _fmt_s(lxml_gz), lxml_gz / ours_gz, 1.0))
    rows.append(
        Row(
            f"{head}: peak memory vs lxml parse's",
            f"{mem_ours['peak'] / 2**20:.0f} MiB",
            f"{mem_lxml['peak'] / 2**20:.0f} MiB",
            mem_lxml["peak"] / max(mem_ours["peak"], 1),
            2.0,
        )
    )
    rows += _jvm_rows(head, path, ours_s, cfg)
    return rows


_TINY_PMML = """<?xml version="1.0" encoding="UTF-8"?>
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
  <Header/>
  <DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>
  <RegressionModel functionName="regression">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <RegressionTable intercept="1"><NumericPredictor name="x" coefficient="2"/></RegressionTable>
  </RegressionModel>
</PMML>
"""


def _jvm_rows(head: str, path: Path, ours_s: float, cfg: Config) -> list[Row]:
    """Load time of the JVM engines (their JVM started before the clock runs)."""
    rows = []
    reps = 1 if cfg.quick else 2
    tiny = WORK / "tiny.pmml"
    tiny.write_text(_TINY_PMML)
    try:
        from jpmml_evaluator import make_evaluator

        make_evaluator(str(tiny), backend="jpype")
        jp = median_time(lambda: make_evaluator(str(path), backend="jpype"), reps)
        rows.append(Row(f"{head}: load vs jpmml_evaluator", _fmt_s(ours_s), _fmt_s(jp), jp / ours_s, 5.0))
    except Exception as exc:
        rows.append(_skip(f"{head}: vs jpmml_evaluator", f"{type(exc).__name__}: {str(exc)[:60]}"))
    try:
        from pypmml import Model as PyPMML

        PyPMML.load(str(tiny))
        pp = median_time(lambda: PyPMML.load(str(path)), reps)
        rows.append(Row(f"{head}: load vs pypmml", _fmt_s(ours_s), _fmt_s(pp), pp / ours_s, 5.0))
    except Exception as exc:
        rows.append(_skip(f"{head}: vs pypmml", f"{type(exc).__name__}: {str(exc)[:60]}"))
    return rows


def bench_json(cfg: Config, state: dict[str, Any]) -> list[Row]:
    import portamodel
    from portamodel.formats import json as pjson

    if "pmml_model" not in state:
        try:
            path, _ = _big_forest(cfg)
            state["pmml_model"], state["pmml_path"] = portamodel.load(path), path
        except Exception as exc:
            return [_skip("JSON big forest", f"no PMML forest: {type(exc).__name__}: {str(exc)[:60]}")]
    model = state["pmml_model"]
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"rf{cfg.big_trees}_{cfg.big_rows}.json"
    path.write_bytes(pjson.write(model))
    n_nodes = model.estimator.n_nodes  # type: ignore[union-attr]
    per_node = path.stat().st_size / n_nodes
    # both loads cold in fresh interpreters, alternating, as the PMML figures are measured (in
    # this process the JVM engines' threads, started for the PMML figures, would share the cores)
    json_runs, pmml_runs = [], []
    for _ in range(max(1, cfg.repeat // 2)):
        pmml_runs.append(peak_memory("portamodel", state["pmml_path"])["seconds"])
        json_runs.append(peak_memory("portamodel", path)["seconds"])
    json_s, pmml_s = statistics.median(json_runs), statistics.median(pmml_runs)
    head = f"JSON {cfg.big_trees}-tree forest ({path.stat().st_size / 2**20:.1f} MiB)"
    return [
        Row(f"{head}: bytes per tree node", f"{per_node:.1f} B", "25 B (target)", 25.0 / per_node, 1.0),
        Row(f"{head}: load vs our PMML load", _fmt_s(json_s), _fmt_s(pmml_s), pmml_s / json_s, 20.0),
    ]


# -- driver -----------------------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [f"machine: {cpu}, {os.cpu_count()} cpus, {platform.system()} {platform.release()}"]
    versions = []
    for name in ("numpy", "sklearn", "onnxruntime", "skl2onnx", "lxml", "jpmml_evaluator", "pypmml"):
        try:
            mod = __import__(name)
            versions.append(f"{name} {getattr(mod, '__version__', '?')}")
        except ImportError:
            versions.append(f"{name} (missing)")
    lines.append(f"python {platform.python_version()}; " + ", ".join(versions))
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} x{i.get('num_threads')}" for i in threadpool_info()]
        lines.append("BLAS: " + "; ".join(blas))
    except ImportError:
        pass
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    if env:
        lines.append(f"note: {env} is set and may slow numpy's BLAS")
    return lines


def table(rows: list[Row]) -> str:
    head = ("figure", "ours", "peer", "ratio", "target", "")
    body = []
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        need = "" if r.need is None else f">= {r.need:g}x"
        body.append((r.figure, r.ours, r.peer, ratio, need, r.verdict + (f"  {r.note}" if r.note else "")))
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |" for row in [head, *body]]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="portamodel performance figures vs their peers")
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (a smoke test)")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this section (repeatable)")
    parser.add_argument("--repeat", type=int, default=None, help="samples per figure (median; default 7, quick 3)")
    args = parser.parse_args(argv)
    if args.quick:
        cfg = Config(True, args.repeat or 3, 10, 6, 50, (1_000,), 10, 2_000)
    else:
        cfg = Config(False, args.repeat or 7, 100, 8, 500, (10_000, 100_000), 500, 20_000)
    print("\n".join(machine()), flush=True)
    state: dict[str, Any] = {}
    rows: list[Row] = []
    runners: dict[str, Callable[[], list[Row]]] = {
        "rf": lambda: bench_rf(cfg),
        "gb": lambda: bench_gb(cfg),
        "linear": lambda: bench_linear(cfg),
        "mlp": lambda: bench_mlp(cfg),
        "pmml": lambda: bench_pmml(cfg, state),
        "json": lambda: bench_json(cfg, state),
    }
    for name in args.only or SECTIONS:
        start = time.perf_counter()
        try:
            got = runners[name]()
        except ImportError as exc:
            got = [_skip(name, f"{exc.name} not installed")]
        rows.extend(got)
        print(f"[{name}: {time.perf_counter() - start:.0f} s]", flush=True)
    print(table(rows))
    print("ratio = peer / ours (time or memory; for bytes per node, 25 / ours): above 1 means ours is better.")
    return 0
