"""portamodel benchmarks: ``python -m benchmarks`` measures issue 5's figures against their peers.

See :mod:`benchmarks.__main__` for the options and ``docs/performance.md`` for a run's results.
"""
