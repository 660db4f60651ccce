"""Test configuration shared by every test module.

- ``tests/`` is put on ``sys.path`` so modules can ``from helpers import ...`` and
  ``from strategies import ...``.
- libcst is pre-imported with its DeprecationWarning silenced (see below).
- Hypothesis profiles: ``default`` (used locally and in CI: few examples, no deadline, so the suite
  stays fast and never flaky on timing; derandomized when ``CI`` is set) and ``thorough`` (``HYPOTHESIS_PROFILE=thorough``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

# When a property test fails, Hypothesis imports libcst to print a patch; libcst's import warns
# (DeprecationWarning from mypy_extensions), and under filterwarnings=error that would turn the
# test failure into a pytest INTERNALERROR. Import it once here with that warning silenced.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):
        import libcst  # noqa: F401

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass
else:
    settings.register_profile(
        "default",
        max_examples=30,
        # CI runs the same examples every time (a red CI must be reproducible); locally each run
        # explores new ones.
        derandomize=bool(os.environ.get("CI")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )
    settings.register_profile(
        "thorough",
        max_examples=500,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
