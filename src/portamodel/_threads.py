"""Run independent pieces of work on a few threads (the readers' decoding and conversion).

numpy, zlib and most of the readers' array work release the GIL, so on a multi-core machine the
pieces of one file (the tree regions of a PMML forest, the packed arrays of a JSON model) can be
done side by side. Every thread, the caller's included, takes the next piece from a shared counter,
so a thread slowed down by other work on the machine simply does fewer pieces.

>>> run_all(lambda x: x * x, [1, 2, 3, 4], threads=2)
[1, 4, 9, 16]
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["run_all", "usable_cpus"]

T = TypeVar("T")
R = TypeVar("R")


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def run_all(fn: Callable[[T], R], items: Sequence[T], threads: int) -> list[R]:
    """``[fn(x) for x in items]``, computed on up to ``threads`` threads (this one among them).

    Results come back in the order of ``items``. If calls raise, every item is still tried and the
    exception of the first failing item (in that order) is raised, so errors do not depend on
    the number of threads or on timing.
    """
    n = max(1, min(threads, len(items)))
    results: list[R | None] = [None] * len(items)
    errors: dict[int, BaseException] = {}
    counter = itertools.count()

    def work() -> None:
        for i in iter(counter.__next__, None):
            if i >= len(items):
                return
            try:
                results[i] = fn(items[i])
            except Exception as exc:  # re-raised below, in item order
                errors[i] = exc

    if n == 1:
        work()
    else:
        with ThreadPoolExecutor(max_workers=n - 1, thread_name_prefix="portamodel") as pool:
            helpers = [pool.submit(work) for _ in range(n - 1)]
            work()
            for h in helpers:
                h.result()
    if errors:
        raise errors[min(errors)]
    return results  # type: ignore[return-value]
