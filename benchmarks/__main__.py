"""Run the performance figures of issue 5 side by side with their peers and print a ratio table.

    python -m benchmarks                 # everything (the big PMML is generated once, minutes)
    python -m benchmarks --quick         # small sizes, a smoke test
    python -m benchmarks --only rf       # one section: rf, gb, linear, mlp, pmml, json

Unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for that command alone if this machine sets them
(``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks``); the header shows which
BLAS kernel runs. Peers that are not installed are skipped with a note.
"""

from __future__ import annotations

from ._runner import main

if __name__ == "__main__":
    raise SystemExit(main())
