"""Timing helpers: interleaved medians, peak memory of a fresh process."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def per_call(fn: Callable[[], Any], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def calls_for(fn: Callable[[], Any], budget: float = 0.02) -> int:
    """How many calls fit in ``budget`` seconds (at least 1), after one warm-up call."""
    start = time.perf_counter()
    fn()
    one = max(time.perf_counter() - start, 1e-7)
    return max(1, min(10_000, int(budget / one)))


def side_by_side(ours: Callable[[], Any], peer: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median seconds per call of ``ours`` and ``peer``, their samples interleaved.

    Interleaving puts both under the same background load; the median drops outliers.
    """
    n_ours, n_peer = calls_for(ours), calls_for(peer)
    a, b = [], []
    for _ in range(repeat):
        a.append(per_call(ours, n_ours))
        b.append(per_call(peer, n_peer))
    return statistics.median(a), statistics.median(b)


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    return statistics.median(per_call(fn, 1) for _ in range(repeat))


_PEAK_SCRIPT = r"""
import json, sys, time
def rss(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0
what, path = sys.argv[1], sys.argv[2]
if what == "lxml":
    from lxml import etree
    parse = lambda: etree.parse(path, etree.XMLParser(huge_tree=True))
else:
    import portamodel
    import portamodel.formats.pmml as pmml  # import outside the measured part
    import lxml.etree  # noqa: F401
    parse = lambda: portamodel.load(path)
base = rss("VmRSS:")
start = time.perf_counter()
obj = parse()
seconds = time.perf_counter() - start
print(json.dumps({"peak": rss("VmHWM:") - base, "seconds": seconds}))
"""


def peak_memory(what: str, path: Path) -> dict[str, float]:
    """Peak resident memory above the process's baseline (bytes) while ``what`` loads ``path``.

    Runs in a fresh interpreter so earlier allocations do not hide the peak (``VmHWM``).
    """
    out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, what, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def fresh_process_loads(path: Path, repeat: int) -> tuple[float, float, dict[str, float], dict[str, float]]:
    """Median load seconds of portamodel and of a bare lxml parse of ``path``, each load in its own
    fresh interpreter (cold, as a service starting up loads a model), alternating so both see the
    same background load; also the peak memory of the first run of each.
    """
    ours: list[dict[str, float]] = []
    lxml: list[dict[str, float]] = []
    for _ in range(repeat):
        lxml.append(peak_memory("lxml", path))
        ours.append(peak_memory("portamodel", path))
    return (
        statistics.median(r["seconds"] for r in ours),
        statistics.median(r["seconds"] for r in lxml),
        ours[0],
        lxml[0],
    )


_SCORE_SCRIPT = r"""
import json, statistics, sys, time
import numpy as np
kind, model_path, data_path, method, threads, budget = sys.argv[1:7]
X = np.load(data_path)
if kind == "portamodel":
    import portamodel
    fn = getattr(portamodel.load(model_path), method)
    call = lambda: fn(X)
else:
    import onnxruntime as ort
    so = ort.SessionOptions()
    if threads != "0":
        so.intra_op_num_threads, so.inter_op_num_threads = int(threads), 1
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    call = lambda: sess.run(None, {name: X})
call()
call()
times = []
start = time.perf_counter()
while len(times) < 5 or time.perf_counter() - start < float(budget):
    t = time.perf_counter()
    call()
    times.append(time.perf_counter() - t)
print(json.dumps({"median": statistics.median(times)}))
"""


def _score_in_fresh_process(args: list[str], budget: float) -> float:
    out = subprocess.run([sys.executable, "-c", _SCORE_SCRIPT, *args, str(budget)], capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["median"])


def fresh_process_scoring(ours: list[str], peer: list[str], repeat: int, budget: float = 0.3) -> tuple[float, float]:
    """Median seconds per call of two scorers, each sample in its own fresh interpreter, alternating.

    ``ours`` and ``peer`` are ``[kind, model path, data .npy path, method, threads]`` for the
    script above (kind ``portamodel`` or ``onnxruntime``; threads 0 is onnxruntime's default).
    Multi-threaded libraries measured in one process disturb each other: onnxruntime's pool and
    OpenBLAS's workers keep spinning after a call and take the cores the other side needs next.
    """
    a, b = [], []
    for _ in range(repeat):
        a.append(_score_in_fresh_process(ours, budget))
        b.append(_score_in_fresh_process(peer, budget))
    return statistics.median(a), statistics.median(b)
