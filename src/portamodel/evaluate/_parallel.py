"""Row chunks and an optional thread pool for the tree kernels.

numpy releases the GIL inside its array loops (``take``, comparisons, arithmetic on large
arrays), so scoring independent row chunks on a few threads scales on a multi-core machine.
``threads=None`` picks :func:`default_threads`: one thread for small batches (the pool's
hand-off costs more than it saves), ``min(4, cpu count)`` for large ones.

>>> out = run_chunks(lambda X: X * 2.0, np.arange(10.0).reshape(5, 2), rows_per_chunk=2, threads=2)
>>> out[:, 0].tolist()
[0.0, 4.0, 8.0, 12.0, 16.0]
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

from .._threads import usable_cpus
from ..errors import InputError

__all__ = ["check_threads", "default_threads", "run_chunks"]

F64 = NDArray[np.float64]

#: (row, tree) pairs below which one thread is used by default.
PARALLEL_MIN_PAIRS = 1 << 17

_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def check_threads(threads: object) -> int | None:
    """Validate the ``threads=`` option: None (automatic) or a positive int."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or int(threads) < 1:
        raise InputError(f"threads must be None or a positive integer, got {threads!r}")
    return int(threads)


def default_threads(n_rows: int, work_per_row: int) -> int:
    """One thread for small batches, ``min(4, cpu count)`` when ``n_rows * work_per_row`` is large."""
    if n_rows * max(1, work_per_row) < PARALLEL_MIN_PAIRS:
        return 1
    return max(1, min(4, usable_cpus()))


_pools_pid = os.getpid()


def _pool(threads: int) -> ThreadPoolExecutor:
    global _pools_pid
    with _pools_lock:
        if os.getpid() != _pools_pid:  # a forked child inherits the pools but not their threads
            _pools.clear()
            _pools_pid = os.getpid()
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="portamodel")
        return pool


def run_chunks(fn: Callable[[F64], F64], X: F64, *, rows_per_chunk: int, threads: int) -> F64:
    """``fn`` applied to row chunks of ``X`` (on ``threads`` threads), results stacked in order.

    The threads take the next chunk from a shared counter when they are done with one, so a thread
    slowed down by other work on the machine gets fewer chunks; this thread works too.
    """
    n = X.shape[0]
    rows_per_chunk = max(1, rows_per_chunk)
    if n <= rows_per_chunk:
        return fn(X)
    starts = range(0, n, rows_per_chunk)
    threads = min(threads, len(starts))
    if threads <= 1:
        return np.concatenate([fn(X[s : s + rows_per_chunk]) for s in starts])
    results: list[F64 | None] = [None] * len(starts)
    counter = itertools.count()  # next() on a count is atomic under the GIL

    def work() -> None:
        for i in iter(counter.__next__, None):
            if i >= len(starts):
                return
            s = starts[i]
            results[i] = fn(X[s : s + rows_per_chunk])

    pool = _pool(threads - 1)
    futures = [pool.submit(work) for _ in range(threads - 1)]
    try:
        work()
    finally:
        for future in futures:
            future.result()
    return np.concatenate(results)  # type: ignore[arg-type]
