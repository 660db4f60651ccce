#!/usr/bin/env python3
"""atheris harness for the PMML reader (runs until stopped; see tests/fuzz/README.md).

python tests/fuzz/fuzz_pmml.py -max_total_time=600
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_common import main

if __name__ == "__main__":
    main("pmml")
