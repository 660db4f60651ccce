"""portamodel's numpy evaluator against onnxruntime (one thread) on the same tree ensembles.

Two scikit-learn models, trained once: a 100-tree random forest and a 500-tree depth-4 gradient
boosting classifier. Each is converted with skl2onnx (float32 inputs, what users deploy) and read
into portamodel's IR with ``portamodel.formats.onnx.read``; portamodel also writes its own ONNX graph
of the same model. Timings are medians over repeats, measured in the same run, printed as ratios.

Run: ``python benchmarks/onnx_vs_ort.py [--rows 10000] [--repeats 7]``. Needs scikit-learn, skl2onnx,
onnx and onnxruntime. Prints a table; exits 1 if any pair of implementations disagrees.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np


def _median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up (plan compilation, session allocation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _session(data: bytes) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 4
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows to score (default 10000)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per measurement (median is reported)")
    args = parser.parse_args(argv)

    from skl2onnx import to_onnx
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    from portamodel.formats import onnx as onnx_format

    X, y = make_classification(n_samples=2 * args.rows, n_features=20, n_informative=10, random_state=0)
    X = X.astype(np.float32)
    X_train, y_train, X_test = X[: args.rows], y[: args.rows], X[args.rows :]
    estimators = {
        "random forest (100 trees)": RandomForestClassifier(n_estimators=100, min_samples_leaf=5, random_state=0, n_jobs=1),
        "gradient boosting (500 trees, depth 4)": GradientBoostingClassifier(n_estimators=500, max_depth=4, random_state=0),
    }
    rows = []
    ok = True
    for label, est in estimators.items():
        est.fit(X_train, y_train)
        onnx_bytes = to_onnx(est, X_train[:1], options={"zipmap": False}, target_opset={"": 17, "ai.onnx.ml": 3}).SerializeToString()
        model = onnx_format.read(onnx_bytes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours3 = onnx_format.write(model, on_loss="ignore")
            ours5 = onnx_format.write(model, on_loss="ignore", tree_opset=5)
        skl_sess, ours3_sess, ours5_sess = _session(onnx_bytes), _session(ours3), _session(ours5)
        feeds_skl = {skl_sess.get_inputs()[0].name: X_test}
        feeds_ours = {"X_float32" if any(i.name == "X_float32" for i in ours3_sess.get_inputs()) else "X": X_test}
        if ours3_sess.get_inputs()[0].type == "tensor(double)":
            feeds_ours = {ours3_sess.get_inputs()[0].name: X_test.astype(np.float64)}
        p_ours = model.predict_proba(X_test)
        p_skl = skl_sess.run(None, feeds_skl)[1]
        p_w3 = ours3_sess.run(None, feeds_ours)[1]
        p_w5 = ours5_sess.run(None, feeds_ours)[1]
        p_lib = est.predict_proba(X_test)
        diffs = {
            "ort(skl2onnx)": float(np.max(np.abs(p_ours - p_skl))),
            "ort(portamodel ml3)": float(np.max(np.abs(p_ours - p_w3))),
            "ort(portamodel ml5)": float(np.max(np.abs(p_ours - p_w5))),
            "scikit-learn": float(np.max(np.abs(p_ours - p_lib))),
        }
        ok = ok and all(d < 1e-4 for d in diffs.values())
        t_ours = _median_seconds(lambda m=model: m.predict_proba(X_test), args.repeats)
        t_skl = _median_seconds(lambda s=skl_sess, f=feeds_skl: s.run(None, f), args.repeats)
        t_w3 = _median_seconds(lambda s=ours3_sess, f=feeds_ours: s.run(None, f), args.repeats)
        t_w5 = _median_seconds(lambda s=ours5_sess, f=feeds_ours: s.run(None, f), args.repeats)
        t_lib = _median_seconds(lambda e=est: e.predict_proba(X_test), args.repeats)
        rows.append((label, model.estimator.n_nodes, t_ours, t_skl, t_w3, t_w5, t_lib, diffs))

    print(f"{args.rows} rows x 20 features, binary classification, median of {args.repeats} runs, onnxruntime with 1 thread\n")
    head = f"{'model':40s} {'nodes':>7s} {'portamodel':>11s} {'ort skl2onnx':>13s} {'ratio':>6s}"
    head += f" {'ort pm-ml3':>11s} {'ort pm-ml5':>11s} {'sklearn':>9s}"
    print(head)
    print("-" * len(head))
    for label, nodes, t_ours, t_skl, t_w3, t_w5, t_lib, _ in rows:
        print(
            f"{label:40s} {nodes:7d} {t_ours * 1e3:9.1f}ms {t_skl * 1e3:11.1f}ms {t_ours / t_skl:6.2f} "
            f"{t_w3 * 1e3:9.1f}ms {t_w5 * 1e3:9.1f}ms {t_lib * 1e3:7.1f}ms"
        )
    print("\nratio = portamodel time / onnxruntime time on the skl2onnx graph (lower is better for portamodel)")
    print("pm-ml3 / pm-ml5: onnxruntime on portamodel's own graph (TreeEnsembleRegressor ml opset 3 / TreeEnsemble ml opset 5)")
    print("\nmax |probability difference| against portamodel:")
    for label, *_, diffs in rows:
        print(f"  {label}: " + ", ".join(f"{k} {v:.2g}" for k, v in diffs.items()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
