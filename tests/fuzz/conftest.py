"""The atheris harnesses here run on demand (``python tests/fuzz/fuzz_json.py``), never under
pytest: they need atheris and run until stopped. See README.md."""

collect_ignore_glob = ["fuzz_*.py"]
