"""Load time and peak memory of a large PMML forest: portamodel vs lxml vs JPMML-based evaluators.

Builds (once, cached in ``--workdir``) a fully grown RandomForestClassifier -- 500 trees on
20,000 x 20 synthetic rows by default, about 200 MB of PMML -- and writes it with portamodel's
PMML writer (or with sklearn2pmml: ``--source sklearn2pmml``, needs Java and scikit-learn 1.9.0).
Then each loader runs in a fresh Python process, which reports its wall time, CPU time and peak
resident memory (``ru_maxrss``) above the same process's footprint after its imports:

- ``portamodel``      ``portamodel.formats.pmml.read(path)`` (streaming; the .pmml and the .pmml.gz)
- ``lxml parse``      ``lxml.etree.parse(path)`` -- a bare parse, building the whole tree, no model
- ``jpmml_evaluator`` ``make_evaluator(path, backend="jpype")`` (the JVM's heap is in the RSS)
- ``pypmml``          ``pypmml.Model.load(path)`` if installed (its JVM is a separate process)

and the file sizes: PMML, gzipped PMML, portamodel JSON (and gzipped). Run from the repository
root::

    python benchmarks/pmml_load.py                    # ~2-4 minutes the first time (fit + write)
    python benchmarks/pmml_load.py --trees 50 --json  # smaller, machine-readable

Numbers depend on the machine; compare the ratios in one run. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

MEASURE = r"""
import json, resource, sys, time
kind, path = sys.argv[1], sys.argv[2]
def rss_mb():
    # VmHWM is this process image's own peak (ru_maxrss survives exec on Linux: it would show the parent's)
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
if kind == "portamodel":
    from portamodel.formats import pmml
    import portamodel.evaluate, portamodel.ir  # imports are not part of the load
    import lxml.etree
    load = lambda: pmml.read(path)
elif kind == "portamodel-json":
    from portamodel.formats import json as pjson
    import portamodel.ir
    load = lambda: pjson.read(path)
elif kind == "lxml":
    from lxml import etree
    load = lambda: etree.parse(path)
elif kind == "jpmml":
    from jpmml_evaluator import make_evaluator
    from jpmml_evaluator.jpype import JPypeBackend
    backend = JPypeBackend()  # start the JVM before timing
    load = lambda: make_evaluator(path, backend=backend)
elif kind == "pypmml":
    from pypmml import Model
    load = lambda: Model.load(path)
else:
    raise SystemExit(f"unknown loader {kind}")
base = rss_mb()
t0, c0 = time.perf_counter(), time.process_time()
obj = load()
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": rss_mb(), "base_mb": base}))
"""


def build(workdir: Path, trees: int, rows: int, features: int, source: str) -> dict[str, Path]:
    """Fit the forest and write it (cached by its parameters)."""
    tag = f"rf{trees}_{rows}x{features}_{source}"
    paths = {
        "pmml": workdir / f"{tag}.pmml",
        "pmml.gz": workdir / f"{tag}.pmml.gz",
        "json": workdir / f"{tag}.json",
        "json.gz": workdir / f"{tag}.json.gz",
    }
    if all(p.exists() for p in paths.values()):
        return paths
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    import portamodel
    from portamodel.formats import pmml

    X, y = make_classification(n_samples=rows, n_features=features, n_informative=max(2, features // 2), random_state=0)
    print(f"fitting RandomForestClassifier({trees} trees) on {rows} x {features} ...", file=sys.stderr)
    t = time.perf_counter()
    cols = [f"x{i}" for i in range(features)]
    if source == "sklearn2pmml":
        from sklearn2pmml import sklearn2pmml
        from sklearn2pmml.pipeline import PMMLPipeline

        pipe = PMMLPipeline([("rf", RandomForestClassifier(n_estimators=trees, n_jobs=-1, random_state=0))])
        pipe.fit(pd.DataFrame(X, columns=cols), pd.Series(y, name="y"))
        print(f"  fit {time.perf_counter() - t:.1f} s; sklearn2pmml ...", file=sys.stderr)
        sklearn2pmml(pipe, str(paths["pmml"]))
        model = pmml.read(paths["pmml"])
    else:
        rf = RandomForestClassifier(n_estimators=trees, n_jobs=-1, random_state=0).fit(pd.DataFrame(X, columns=cols), y)
        print(f"  fit {time.perf_counter() - t:.1f} s; writing PMML ...", file=sys.stderr)
        model = portamodel.from_sklearn(rf)
        paths["pmml"].write_bytes(pmml.write(model))
    with paths["pmml"].open("rb") as src, gzip.open(paths["pmml.gz"], "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    try:
        from portamodel.formats import json as pjson

        data = pjson.write(model)
        paths["json"].write_bytes(data)
        paths["json.gz"].write_bytes(gzip.compress(data, 6))
    except ImportError:  # pragma: no cover - the JSON format is part of the package
        pass
    _ = np
    return paths


def measure(kind: str, path: Path, timeout: float) -> dict[str, float] | str:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    try:
        out = subprocess.run(
            [sys.executable, "-c", MEASURE, kind, str(path)], capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        err = (out.stderr or out.stdout).strip().splitlines()
        return "failed: " + (err[-1] if err else f"exit {out.returncode}")
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trees", type=int, default=500)
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--source", choices=("portamodel", "sklearn2pmml"), default="portamodel")
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "portamodel-bench")
    ap.add_argument("--repeat", type=int, default=1, help="runs per loader (the best is reported)")
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--skip-jvm", action="store_true", help="skip jpmml_evaluator and pypmml")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    paths = build(args.workdir, args.trees, args.rows, args.features, args.source)
    runs: list[tuple[str, str, Path]] = [
        ("portamodel (.pmml)", "portamodel", paths["pmml"]),
        ("portamodel (.pmml.gz)", "portamodel", paths["pmml.gz"]),
        ("lxml etree.parse", "lxml", paths["pmml"]),
    ]
    if paths["json"].exists():
        runs.append(("portamodel JSON (reference)", "portamodel-json", paths["json"]))
    if not args.skip_jvm and shutil.which("java"):
        runs.append(("jpmml_evaluator load", "jpmml", paths["pmml"]))
        try:
            import pypmml  # noqa: F401

            runs.append(("pypmml load", "pypmml", paths["pmml"]))
        except ImportError:
            pass
    results: dict[str, object] = {
        "model": {"trees": args.trees, "rows": args.rows, "features": args.features, "source": args.source},
        "sizes_mb": {k: round(p.stat().st_size / 1e6, 2) for k, p in paths.items() if p.exists()},
        "loads": {},
    }
    for label, kind, path in runs:
        best: dict[str, float] | str | None = None
        for _ in range(args.repeat):
            r = measure(kind, path, args.timeout)
            better = isinstance(r, dict) and (not isinstance(best, dict) or r["wall"] < best["wall"])
            if better or best is None:
                best = r
        results["loads"][label] = best  # type: ignore[index]
        if not args.json:
            print(f"  measured {label}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"\nRandomForestClassifier: {args.trees} trees on {args.rows} x {args.features} ({args.source} writer)")
    print("sizes: " + ", ".join(f"{k} {v} MB" for k, v in results["sizes_mb"].items()))  # type: ignore[union-attr]
    loads = results["loads"]
    ref = loads.get("lxml etree.parse")  # type: ignore[union-attr]
    print(f"\n{'loader':30s} {'wall s':>8s} {'cpu s':>8s} {'peak MB':>9s} {'+MB':>8s} {'wall vs lxml':>13s}")
    for label, r in loads.items():  # type: ignore[union-attr]
        if not isinstance(r, dict):
            print(f"{label:30s} {r}")
            continue
        ratio = f"{r['wall'] / ref['wall']:.2f}x" if isinstance(ref, dict) else ""
        print(f"{label:30s} {r['wall']:8.2f} {r['cpu']:8.2f} {r['peak_mb']:9.0f} {r['peak_mb'] - r['base_mb']:8.0f} {ratio:>13s}")
    print("\n+MB = peak resident memory above the process after its imports (the JVM heap counts for JPMML).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
