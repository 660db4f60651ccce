"""Size and load time of portamodel JSON for a big random forest, against pickle (and PMML).

Builds a fully grown ``RandomForestClassifier`` (default 500 trees on 20,000 x 20 synthetic rows),
converts it with ``portamodel.from_sklearn``, writes it as portamodel JSON and reports the file
size, bytes per tree node and load time (median of ``--repeat`` runs) next to scikit-learn's own
pickle. With ``--pmml`` it also writes the forest as PMML with sklearn2pmml (needs Java; slow) and
times parsing that file with lxml and, when available, loading it with portamodel.

    python benchmarks/json_size.py                    # 500 trees
    python benchmarks/json_size.py --trees 100 --pmml

Nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import gzip
import os
import pickle
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build_forest(trees: int, rows: int, features: int, seed: int) -> tuple[Any, np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(n_samples=rows, n_features=features, n_informative=features // 2, random_state=seed)
    rf = RandomForestClassifier(n_estimators=trees, n_jobs=-1, random_state=seed).fit(X, y)
    return rf, X, y


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=500)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pmml", action="store_true", help="also write PMML with sklearn2pmml (Java) and time loading it")
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep the written files in")
    args = parser.parse_args(argv)

    import portamodel
    from portamodel.formats import json as pjson

    start = time.perf_counter()
    rf, X, _ = build_forest(args.trees, args.rows, args.features, args.seed)
    fit_s = time.perf_counter() - start
    model = portamodel.from_sklearn(rf)
    est = model.estimator
    n_nodes = est.n_nodes  # type: ignore[union-attr]

    folder = args.keep or Path(tempfile.mkdtemp(prefix="pm-json-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / "forest.json"
    write_s = median_time(lambda: json_path.write_bytes(pjson.write(model)), max(1, args.repeat // 2))
    data = json_path.read_bytes()
    gz_path = folder / "forest.json.gz"
    gz_path.write_bytes(gzip.compress(data, mtime=0))
    loaded = portamodel.load(json_path)
    assert loaded == model, "round trip changed the model"
    Xs = X[:2000]
    assert np.array_equal(loaded.predict_proba(Xs), model.predict_proba(Xs)), "round trip changed predictions"
    json_load_s = median_time(lambda: portamodel.load(json_path), args.repeat)
    gz_load_s = median_time(lambda: portamodel.load(gz_path), args.repeat)

    pkl_path = folder / "forest.pkl"
    pkl_path.write_bytes(pickle.dumps(rf, protocol=pickle.HIGHEST_PROTOCOL))

    def load_pickle() -> Any:
        with pkl_path.open("rb") as fh:
            return pickle.load(fh)

    pkl_load_s = median_time(load_pickle, args.repeat)

    mib = 1 << 20

    def row(name: str, nbytes: int, seconds: float) -> tuple[str, str, str]:
        return (name, f"{nbytes / mib:8.2f} MiB  {nbytes / n_nodes:6.2f} B/node", f"load {seconds * 1e3:8.1f} ms")

    rows: list[tuple[str, str, str]] = [
        ("forest", f"{args.trees} trees, {n_nodes:,} nodes, {args.rows:,} x {args.features} (fit {fit_s:.1f} s)", ""),
        row("portamodel JSON", len(data), json_load_s),
        row("portamodel JSON.gz", gz_path.stat().st_size, gz_load_s),
        row("sklearn pickle", pkl_path.stat().st_size, pkl_load_s),
        ("JSON write", "", f"     {write_s * 1e3:8.1f} ms"),
    ]
    if args.pmml:
        rows.extend(_pmml_rows(rf, X, folder, n_nodes, json_load_s, args.repeat))

    machine = f"{platform.machine()} {platform.processor()} ({os.cpu_count()} cpus), python {platform.python_version()}"
    print(f"# portamodel JSON size benchmark on {machine}")
    width = max(len(r[0]) for r in rows)
    for name, size, load in rows:
        print(f"{name:<{width}}  {size}  {load}")
    print(f"ratio JSON/pickle: size {len(data) / pkl_path.stat().st_size:.2f}x, load time {json_load_s / pkl_load_s:.2f}x")
    if args.keep is None:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
    return 0


def _pmml_rows(rf: Any, X: np.ndarray, folder: Path, n_nodes: int, json_load_s: float, repeat: int) -> list[tuple[str, str, str]]:
    from sklearn2pmml import sklearn2pmml
    from sklearn2pmml.pipeline import PMMLPipeline

    pmml_path = folder / "forest.pmml"
    start = time.perf_counter()
    pipeline = PMMLPipeline([("classifier", rf)])
    pipeline.active_fields = np.array([f"x{i}" for i in range(X.shape[1])])
    pipeline.target_fields = np.array(["y"])
    sklearn2pmml(pipeline, str(pmml_path))
    make_s = time.perf_counter() - start
    size = pmml_path.stat().st_size
    out = [("PMML (sklearn2pmml)", f"{size / (1 << 20):8.2f} MiB  {size / n_nodes:6.2f} B/node", f"(written in {make_s:.0f} s)")]
    from lxml import etree

    parse_s = median_time(lambda: etree.parse(str(pmml_path)), max(1, repeat // 2))
    out.append(("lxml parse of PMML", "", f"load {parse_s * 1e3:8.1f} ms  ({parse_s / json_load_s:.0f}x the JSON load)"))
    try:
        import portamodel

        load_s = median_time(lambda: portamodel.load(pmml_path), max(1, repeat // 2))
        out.append(("portamodel PMML load", "", f"load {load_s * 1e3:8.1f} ms  ({load_s / json_load_s:.0f}x the JSON load)"))
    except Exception as exc:  # the PMML reader may not exist yet
        out.append(("portamodel PMML load", "", f"unavailable: {type(exc).__name__}: {str(exc)[:80]}"))
    return out


if __name__ == "__main__":
    raise SystemExit(main())
